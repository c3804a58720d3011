// grantkit/stores' redisStore against a real redis-server (Debian's, started
// here on a loopback port) with node-redis 5, node-redis 4 and ioredis, and a
// fleet of Node processes against the local identity provider, which counts
// the token requests.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { CLIENTS, startIdp } from '../idp/server.mjs';
import { REDIS_CLIENTS as KINDS, loadGrantkit, redisClient, redisFleet, startRedis } from './helpers.mjs';

const { client_id: CC_ID, client_secret: CC_SECRET } = CLIENTS.ccBasic;

let gk;
let stores;
let redis;
let idp;
const clients = {};

before(async () => {
  ({ gk, stores } = await loadGrantkit());
  redis = await startRedis();
  idp = await startIdp();
  for (const kind of KINDS) clients[kind] = await redisClient(kind, redis.url);
});
after(async () => {
  for (const { close } of Object.values(clients)) await close();
  await idp?.close();
  await redis?.stop();
});

const raw = (...args) => clients.ioredis.client.call(...args);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('redisStore with each client', () => {
  for (const kind of KINDS) {
    test(`${kind}: get/set with a TTL, lease = SET NX PX, release = compare and delete`, async () => {
      await raw('FLUSHALL');
      const store = stores.redisStore(clients[kind].client);
      assert.equal(await store.get('k'), null);
      await store.set('k', 'value-1', 120);
      assert.equal(await store.get('k'), 'value-1');
      assert.equal(await raw('TTL', 'k'), 120);
      await store.set('k', 'value-2', undefined);
      assert.equal(await raw('TTL', 'k'), -1, 'no expiry when the token has none');
      await store.set('k', 'value-3', 0);
      assert.equal(await raw('TTL', 'k'), 1, 'a TTL of 0 is kept 1 s (Redis refuses EX 0)');

      assert.equal(await store.lease('k:lease', 5000, 'owner-a'), true);
      assert.equal(await store.lease('k:lease', 5000, 'owner-b'), false);
      assert.ok((await raw('PTTL', 'k:lease')) > 4000);
      await store.release('k:lease', 'owner-b');
      assert.equal(await raw('GET', 'k:lease'), 'owner-a', "another owner's release frees nothing");
      await store.release('k:lease', 'owner-a');
      assert.equal(await raw('EXISTS', 'k:lease'), 0);
      assert.equal(await store.lease('k:lease', 150, 'owner-c'), true);
      await sleep(250);
      assert.equal(await store.lease('k:lease', 5000, 'owner-d'), true, 'an expired lease is free');
    });
  }

  test('the clients share one store: what one writes the others read', async () => {
    await raw('FLUSHALL');
    const [a, b, c] = KINDS.map((kind) => stores.redisStore(clients[kind].client));
    await a.set('shared', 'from node-redis 5', 60);
    assert.equal(await b.get('shared'), 'from node-redis 5');
    assert.equal(await c.get('shared'), 'from node-redis 5');
    assert.equal(await c.lease('shared:lease', 5000, 'x'), true);
    assert.equal(await a.lease('shared:lease', 5000, 'y'), false);
    assert.equal(await b.lease('shared:lease', 5000, 'z'), false);
  });

  test('anything else is refused with a TypeError', () => {
    for (const bad of [undefined, null, {}, { get() {}, set() {} }, 'redis://127.0.0.1']) {
      assert.throws(() => stores.redisStore(bad), { name: 'TypeError', message: /node-redis .* or ioredis/ });
    }
  });
});

/** The store key of the fleet's configuration. */
const storeKey = () => new gk.TokenSource(new gk.ClientCredentials({
  tokenEndpoint: idp.tokenEndpoint, clientId: CC_ID, clientSecret: CC_SECRET,
})).storeKey;

/** `n` processes, each ready to getToken. */
const fleet = (n, env = {}) => redisFleet(n, {
  redisUrl: redis.url, tokenEndpoint: idp.tokenEndpoint, clientId: CC_ID, clientSecret: CC_SECRET, env,
});

describe('a fleet of processes', () => {
  test('50 cold Node processes sharing Redis make exactly one token request', async () => {
    await raw('FLUSHALL');
    const children = await fleet(50);
    idp.resetRequests();
    const started = Date.now();
    for (const c of children) c.send('go');
    const done = await Promise.all(children.map((c) => c.waitFor('done')));
    const ms = Date.now() - started;
    await Promise.all(children.map((c) => c.exited));

    assert.deepEqual(done.filter((d) => d.error), [], 'every process got a token');
    assert.equal(idp.tokenRequests().length, 1, 'token requests at the identity provider');
    assert.equal(new Set(done.map((d) => d.token)).size, 1, 'one token for all 50');
    assert.equal(children.filter((c) => c.messages.some((m) => m.type === 'requesting')).length, 1);
    assert.deepEqual(done.flatMap((d) => d.storeErrors), []);
    assert.equal(await raw('EXISTS', `${storeKey()}:lease`), 0, 'the lease was freed');
    console.log(`# 50 processes (node-redis 5, node-redis 4, ioredis in turn): ${idp.tokenRequests().length} token request, all done in ${ms} ms`);
  });

  test('the lease holder killed mid-request: one more request after its lease runs out, no storm', async () => {
    await raw('FLUSHALL');
    // timeoutMs 1500: a lease of 2 x 1500 + 1000 = 4000 ms.
    const LEASE_MS = 4000;
    const children = await fleet(20, { CHILD_TIMEOUT_MS: '1500' });
    idp.resetRequests();
    idp.stallTokenRequests(1);
    for (const c of children) c.send('go');
    // The first process to request holds the lease; its request stalls and
    // it is killed before it can time out and free the lease.
    const holder = await Promise.race(children.map((c) => c.waitFor('requesting').then(() => c)));
    // Killed once its request is at the identity provider (which stalls it).
    while (idp.tokenRequests().length < 1) await sleep(2);
    holder.child.kill('SIGKILL');
    const killedAt = Date.now();
    const leaseEnds = killedAt + await raw('PTTL', `${storeKey()}:lease`);
    const survivors = children.filter((c) => c !== holder);
    const done = await Promise.all(survivors.map((c) => c.waitFor('done')));
    await Promise.all(children.map((c) => c.exited));

    const requests = idp.tokenRequests();
    assert.equal(requests.length, 2, 'the stalled one and one after the lease ran out');
    assert.deepEqual(done.filter((d) => d.error), [], 'every survivor got a token');
    assert.equal(new Set(done.map((d) => d.token)).size, 1);
    assert.equal(survivors.filter((c) => c.messages.some((m) => m.type === 'requesting')).length, 1);
    assert.ok(leaseEnds - killedAt > LEASE_MS - 1000, 'the dead holder had most of its lease left');
    const takeOver = requests[1].at - leaseEnds;
    const last = Math.max(...done.map((d) => d.at)) - leaseEnds;
    // Nobody requested while the dead holder's lease lasted; a waiter asks
    // every 500 ms at most, so the take-over comes within 500 ms of its end
    // (plus scheduling on a busy machine), and the others read the tokens
    // within one more pause.
    assert.ok(takeOver >= -20, `the take-over came ${takeOver} ms after the lease ran out`);
    assert.ok(takeOver <= 1500, `the take-over came ${takeOver} ms after the lease ran out`);
    assert.ok(last <= 2500, `the last survivor finished ${last} ms after the lease ran out`);
    console.log(`# holder killed ${killedAt - requests[0].at} ms into its request, ${leaseEnds - killedAt} ms of its lease left: `
      + `${requests.length} token requests; the take-over ${takeOver} ms after the lease ran out, the last of 19 survivors done ${last} ms after it`);
  });
});

describe('tokens and leases never cross configurations or credentials', () => {
  const cc = (extra = {}) => new gk.ClientCredentials({
    tokenEndpoint: idp.tokenEndpoint, clientId: CC_ID, clientSecret: CC_SECRET, timeoutMs: 1500, ...extra,
  });
  const other = (extra = {}) => cc({ clientId: CLIENTS.ccPost.client_id, clientSecret: CLIENTS.ccPost.client_secret, clientAuth: 'post', ...extra });

  test('two client ids and two secrets on one Redis: separate keys, separate tokens', async () => {
    await raw('FLUSHALL');
    idp.resetRequests();
    const store = stores.redisStore(clients['node-redis'].client);
    const right = new gk.TokenSource(cc(), { store });
    const wrong = new gk.TokenSource(cc({ clientSecret: 'not-the-secret' }), { store });
    const another = new gk.TokenSource(other(), { store });
    assert.equal(new Set([right.storeKey, wrong.storeKey, another.storeKey]).size, 3);

    const mine = await right.getToken();
    assert.equal(idp.tokenRequests().length, 1);
    await assert.rejects(wrong.getToken(), (e) => e.code === 'OAUTH_ERROR' && e.error === 'invalid_client',
      'a wrong secret makes its own request and is refused; it never reads the right one\'s token');
    assert.equal(idp.tokenRequests().length, 2);
    const theirs = await another.getToken();
    assert.equal(idp.tokenRequests().length, 3);
    assert.notEqual(theirs.access_token, mine.access_token);
    // A new instance of the right configuration reads the stored token.
    const again = await new gk.TokenSource(cc(), { store }).getToken();
    assert.equal(again.access_token, mine.access_token);
    assert.equal(idp.tokenRequests().length, 3);

    const keys = (await raw('KEYS', '*')).sort();
    assert.deepEqual(keys, [right.storeKey, another.storeKey].sort(), 'two token entries, no lease left');
    for (const key of keys) {
      const value = await raw('GET', key);
      for (const secret of [CC_SECRET, CLIENTS.ccPost.client_secret, 'not-the-secret', CC_ID]) {
        assert.ok(!key.includes(secret) && !value.includes(secret), 'no secret or client id in a stored key or value');
      }
    }
  });

  test("one configuration's held lease never holds up another's request", async () => {
    await raw('FLUSHALL');
    idp.resetRequests();
    const store = stores.redisStore(clients.ioredis.client);
    idp.stallTokenRequests(1);
    const stalled = new gk.TokenSource(cc(), { store }).getToken();
    while (idp.tokenRequests().length < 1) await sleep(5);
    const leaseKeys = await raw('KEYS', '*:lease');
    assert.equal(leaseKeys.length, 1, 'the stalled request holds its lease');
    const started = Date.now();
    const theirs = await new gk.TokenSource(other(), { store }).getToken();
    assert.ok(theirs.access_token);
    assert.ok(Date.now() - started < 1000, 'the other configuration did not wait for the lease');
    assert.equal(idp.tokenRequests().length, 2);
    await assert.rejects(stalled, { code: 'TIMEOUT' });
    assert.deepEqual(await raw('KEYS', '*:lease'), [], 'a failed request frees its lease');
  });
});
