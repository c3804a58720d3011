// TokenSource of the installed package against the local IdP: one request for
// many concurrent callers, a failure shared by all of them without poisoning
// the cache, the frozen cached token set, the expiry margin, the refresh grant
// with rotation and its fall back to the original grant, a store shared by
// two instances (and a broken store), per-caller abort, bad options.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { CLIENTS, USERS, startIdp } from '../idp/server.mjs';
import {
  assertGrantkitError, assertNoSecrets, assertNoTokenText, basicHeader, form, introspect, loadGrantkit, recordingFetch, rejection, thrown, waitFor,
} from './helpers.mjs';

const FORM = 'application/x-www-form-urlencoded';
const PW_SCOPE = 'openid offline_access api:read';

let gk;
let idp;

before(async () => {
  gk = await loadGrantkit();
  idp = await startIdp();
});
after(async () => { await idp?.close(); });

/** ClientCredentials of cc-basic (its secret has ':+%& ~*' in it), scope api:read. */
function ccBasic(extra = {}) {
  const { client_id: clientId, client_secret: clientSecret } = CLIENTS.ccBasic;
  return new gk.ClientCredentials({
    tokenEndpoint: idp.tokenEndpoint, clientId, clientSecret, scope: 'api:read', ...extra,
  });
}
const CC_BODY = 'grant_type=client_credentials&scope=api%3Aread';

function assertCcRequest(req) {
  assert.equal(req.method, 'POST');
  assert.equal(req.path, '/token');
  assert.equal(req.headers['content-type'], FORM);
  assert.equal(req.headers.accept, 'application/json');
  assert.equal(req.headers.authorization, basicHeader(CLIENTS.ccBasic.client_id, CLIENTS.ccBasic.client_secret));
  assert.equal(req.body, CC_BODY);
}

function passwordGrant(extra = {}) {
  const { client_id: clientId, client_secret: clientSecret } = CLIENTS.pwClient;
  return new gk.PasswordGrant({
    tokenEndpoint: idp.tokenEndpoint, clientId, clientSecret, username: 'alice', password: USERS.alice.password, scope: PW_SCOPE, ...extra,
  });
}
const PW_BODY = form([['grant_type', 'password'], ['username', 'alice'], ['password', USERS.alice.password], ['scope', PW_SCOPE]]);
const refreshBody = (rt) => form([['grant_type', 'refresh_token'], ['refresh_token', rt], ['scope', PW_SCOPE]]);

/** Every own property of a token set, nested objects included, is frozen. */
function assertDeepFrozen(value, path = 'token set') {
  assert.ok(Object.isFrozen(value), `${path} is frozen`);
  for (const [k, v] of Object.entries(value)) {
    if (v && typeof v === 'object') assertDeepFrozen(v, `${path}.${k}`);
  }
}

/** An in-memory store that logs its calls. */
function memoryStore(map = new Map()) {
  const calls = [];
  return {
    map,
    calls,
    get(key) { calls.push(['get', key]); return map.get(key); },
    set(key, value, ttl) { calls.push(['set', key, value, ttl]); map.set(key, value); },
  };
}

describe('TokenSource against the local IdP', () => {
  test('1000 concurrent getToken() calls: exactly one token request, one shared token set', async (t) => {
    const src = new gk.TokenSource(ccBasic());
    idp.resetRequests();
    const t0 = performance.now();
    const all = await Promise.all(Array.from({ length: 1000 }, () => src.getToken()));
    const ms = performance.now() - t0;
    t.diagnostic(`1000 concurrent getToken() calls took ${ms.toFixed(1)} ms (one token request)`);

    assert.equal(idp.tokenRequests().length, 1);
    assertCcRequest(idp.tokenRequests()[0]);
    assert.equal(all.length, 1000);
    assert.equal(new Set(all).size, 1, 'the very same object for every caller');
    const [ts] = all;
    assert.equal(typeof ts.access_token, 'string');
    assert.ok(all.every((x) => x.access_token === ts.access_token));
    assert.equal(ts.token_type, 'Bearer');
    assert.equal(ts.scope, 'api:read');
    assert.equal(ts.expires_in, 3600);
    const info = await introspect(idp, ts.access_token);
    assert.equal(info.active, true);
    assert.equal(info.client_id, CLIENTS.ccBasic.client_id);
    // Still cached afterwards.
    assert.equal(await src.getToken(), ts);
    assert.equal(idp.tokenRequests().length, 1);
  });

  test('a failed request is delivered to all 1000 waiting callers; the cache is not poisoned', async () => {
    const src = new gk.TokenSource(ccBasic());
    idp.resetRequests();
    idp.failTokenRequests(1); // 503 temporarily_unavailable
    const results = await Promise.allSettled(Array.from({ length: 1000 }, () => src.getToken()));
    assert.equal(idp.tokenRequests().length, 1, 'one request for all of them');
    assertCcRequest(idp.tokenRequests()[0]);
    assert.equal(results.length, 1000);
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assertGrantkitError(r.reason, 'OAUTH_ERROR', { status: 503, error: 'temporarily_unavailable', error_description: 'injected failure' });
    }
    assertNoSecrets(results[0].reason, [CLIENTS.ccBasic.client_secret]);

    const ts = await src.getToken();
    assert.equal(idp.tokenRequests().length, 2, 'the next call makes one new request');
    assertCcRequest(idp.tokenRequests()[1]);
    assert.equal(typeof ts.access_token, 'string');
    assert.equal((await introspect(idp, ts.access_token)).active, true);
    assert.equal(await src.getToken(), ts);
    assert.equal(idp.tokenRequests().length, 2);
  });

  test('cache: the same frozen object until invalidate(); then one new request and a new token', async () => {
    const src = new gk.TokenSource(ccBasic());
    idp.resetRequests();
    const a = await src.getToken();
    const b = await src.getToken();
    const c = await src.getToken({});
    assert.equal(b, a);
    assert.equal(c, a);
    assert.equal(idp.tokenRequests().length, 1);
    assertDeepFrozen(a);
    assert.throws(() => { a.access_token = 'changed'; }, TypeError);
    assert.throws(() => { a.raw.access_token = 'changed'; }, TypeError);
    assert.equal(a.raw.access_token, a.access_token);

    src.invalidate();
    const d = await src.getToken();
    assert.equal(idp.tokenRequests().length, 2);
    // No refresh token: the flow itself runs again.
    assertCcRequest(idp.tokenRequests()[1]);
    assert.notEqual(d, a);
    assert.notEqual(d.access_token, a.access_token);
    assertDeepFrozen(d);
    assert.equal(await src.getToken(), d);
    assert.equal(idp.tokenRequests().length, 2);
  });

  test('getToken() without options on a warm cache (answered in JavaScript): stops at the margin, after free(), and works on a frozen source', async () => {
    // 6 s: a margin of 3 s (half the lifetime), so the token is handed out
    // until the whole second 3 s after the response, and no later.
    const src = new gk.TokenSource(ccBasic());
    idp.resetRequests();
    idp.failTokenRequests(1, { status: 200, body: { access_token: 'six-second-token-1', token_type: 'Bearer', expires_in: 6 } });
    const short = await src.getToken();
    assert.equal(short.access_token, 'six-second-token-1');
    assert.equal(await src.getToken(), short);
    assert.equal(idp.tokenRequests().length, 1);
    await new Promise((resolve) => setTimeout(resolve, (short.expires_at - 3) * 1000 - Date.now() + 50));
    const next = await src.getToken();
    assert.equal(idp.tokenRequests().length, 2, 'past the margin: a new request');
    assert.notEqual(next, short);
    assert.equal(await src.getToken(), next);
    assert.equal(idp.tokenRequests().length, 2);

    // A frozen source: the cache still answers.
    const frozen = Object.freeze(new gk.TokenSource(ccBasic()));
    const a = await frozen.getToken();
    assert.equal(await frozen.getToken(), a);

    // Freed: nothing more, from the JavaScript side either.
    src.free();
    assert.throws(() => src.getToken());
    // getToken called on something else throws as the module's does.
    assert.throws(() => gk.TokenSource.prototype.getToken.call({}));
  });

  test('margin: marginSeconds >= the lifetime (3600 s) or a clock skew of 3600 s -> every call requests; default -> cached', async () => {
    for (const options of [{ marginSeconds: 3600 }, { marginSeconds: 7200 }, { clockSkewSeconds: 3600 }]) {
      const src = new gk.TokenSource(ccBasic(), options);
      idp.resetRequests();
      const tokens = [];
      for (let i = 0; i < 3; i += 1) tokens.push(await src.getToken());
      assert.equal(tokens[0].expires_in, 3600, 'the IdP\'s lifetime');
      assert.equal(idp.tokenRequests().length, 3, JSON.stringify(options));
      for (const r of idp.tokenRequests()) assertCcRequest(r);
      assert.equal(new Set(tokens.map((x) => x.access_token)).size, 3);
    }
    // Default margin (max(30 s, 10 %) = 360 s) and a margin well under the lifetime: cached.
    for (const options of [undefined, {}, { marginSeconds: 0 }, { marginSeconds: 1800 }]) {
      const src = new gk.TokenSource(ccBasic(), options);
      idp.resetRequests();
      const a = await src.getToken();
      assert.equal(await src.getToken(), a);
      assert.equal(await src.getToken(), a);
      assert.equal(idp.tokenRequests().length, 1, JSON.stringify(options));
    }
    // The default margin is at most half the lifetime: a 20 s token is cached
    // (a plain 30 s margin would treat it as expired at once).
    const src = new gk.TokenSource(ccBasic());
    idp.resetRequests();
    idp.failTokenRequests(1, { status: 200, body: { access_token: 'short-lived-token-1', token_type: 'Bearer', expires_in: 20 } });
    const short = await src.getToken();
    assert.equal(short.access_token, 'short-lived-token-1');
    assert.equal(short.expires_in, 20);
    assert.equal(await src.getToken(), short);
    assert.equal(idp.tokenRequests().length, 1);
  });

  test('password grant: refresh on invalidate (exact body, Basic), rotation, a missing new refresh token keeps the old one, invalid_grant falls back to the password grant', async () => {
    const { client_id: clientId, client_secret: clientSecret } = CLIENTS.pwClient;
    const basic = basicHeader(clientId, clientSecret);
    const log = [];
    const src = new gk.TokenSource(passwordGrant({ fetch: recordingFetch(log) }));
    idp.resetRequests();
    const first = await src.getToken();
    assert.equal(idp.tokenRequests().length, 1);
    assert.equal(idp.tokenRequests()[0].body, PW_BODY);
    assert.equal(idp.tokenRequests()[0].headers.authorization, basic);
    assert.equal(typeof first.refresh_token, 'string');
    assert.equal(typeof first.id_token, 'string');

    // Refresh: the original scope, the same client authentication.
    src.invalidate();
    const second = await src.getToken();
    const r1 = idp.tokenRequests()[1];
    assert.equal(idp.tokenRequests().length, 2);
    assert.equal(r1.method, 'POST');
    assert.equal(r1.headers['content-type'], FORM);
    assert.equal(r1.headers.authorization, basic);
    assert.equal(r1.body, refreshBody(first.refresh_token));
    assert.equal(r1.body, `grant_type=refresh_token&refresh_token=${first.refresh_token}&scope=openid+offline_access+api%3Aread`);
    assert.notEqual(second.access_token, first.access_token);
    assert.notEqual(second.refresh_token, first.refresh_token);
    assert.equal(second.refresh_token, log.at(-1).json.refresh_token);
    assert.equal(await src.getToken(), second);

    // Rotation: the next refresh uses the second refresh token.
    src.invalidate();
    const third = await src.getToken();
    assert.equal(idp.tokenRequests().length, 3);
    assert.equal(idp.tokenRequests()[2].body, refreshBody(second.refresh_token));
    assert.equal(idp.tokenRequests()[2].headers.authorization, basic);
    assert.notEqual(third.refresh_token, second.refresh_token);
    assert.equal((await introspect(idp, third.access_token)).active, true);

    // A refresh answer without a refresh token: the old one is kept (RFC 6749 §6).
    idp.failTokenRequests(1, { status: 200, body: { access_token: 'injected-access-1', token_type: 'Bearer', expires_in: 3600 } });
    src.invalidate();
    const injected = await src.getToken();
    assert.equal(injected.access_token, 'injected-access-1');
    assert.equal(idp.tokenRequests()[3].body, refreshBody(third.refresh_token));
    src.invalidate();
    const fourth = await src.getToken();
    assert.equal(idp.tokenRequests()[4].body, refreshBody(third.refresh_token), 'the old refresh token again');
    assert.equal(typeof fourth.refresh_token, 'string');
    assert.notEqual(fourth.refresh_token, third.refresh_token);

    // Someone else uses the refresh token grantkit holds: it is rotated away.
    const raw = await fetch(idp.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': FORM, authorization: basic },
      body: form([['grant_type', 'refresh_token'], ['refresh_token', fourth.refresh_token]]),
    });
    assert.equal(raw.status, 200);
    idp.resetRequests();
    log.length = 0;
    src.invalidate();
    const fifth = await src.getToken();
    const seq = idp.tokenRequests();
    assert.equal(seq.length, 2, 'refresh, then the password grant');
    assert.equal(seq[0].body, refreshBody(fourth.refresh_token));
    assert.equal(log[0].status, 400);
    assert.equal(log[0].json.error, 'invalid_grant');
    assert.equal(seq[1].body, PW_BODY);
    assert.equal(seq[1].headers.authorization, basic);
    assert.equal(log[1].status, 200);
    assert.equal(fifth.access_token, log[1].json.access_token);
    assert.equal(fifth.refresh_token, log[1].json.refresh_token);
    assert.equal((await introspect(idp, fifth.access_token)).active, true);
    // And the new refresh token is used next.
    src.invalidate();
    await src.getToken();
    assert.equal(idp.tokenRequests()[2].body, refreshBody(fifth.refresh_token));
  });

  test('store: two instances share one token through it; storeKey has no secret or user name', async () => {
    const store = memoryStore();
    const a = new gk.TokenSource(ccBasic(), { store });
    const b = new gk.TokenSource(ccBasic(), { store });
    assert.match(a.storeKey, /^grantkit:v2:[A-Za-z0-9_-]{43}$/);
    assert.equal(b.storeKey, a.storeKey);
    idp.resetRequests();

    const t0 = Math.floor(Date.now() / 1000);
    const ta = await a.getToken();
    const t1 = Math.ceil(Date.now() / 1000);
    assert.equal(idp.tokenRequests().length, 1);
    assertCcRequest(idp.tokenRequests()[0]);
    await waitFor(() => store.calls.some(([m]) => m === 'set'), { what: 'store.set' });
    assert.equal(store.calls.length, 2);
    assert.deepEqual(store.calls[0], ['get', a.storeKey]);
    const [method, key, value, ttl] = store.calls[1];
    assert.equal(method, 'set');
    assert.equal(key, a.storeKey);
    assert.equal(typeof value, 'string');
    assert.equal(JSON.parse(value).access_token, ta.access_token);
    assert.equal(typeof ttl, 'number');
    assert.ok(Number.isInteger(ttl), `ttl ${ttl}`);
    // The seconds until expiry.
    assert.ok(ttl <= ta.expires_at - t0 && ttl >= ta.expires_at - t1 && ttl <= ta.expires_in, `ttl ${ttl}, expires_at ${ta.expires_at}`);

    const tb = await b.getToken();
    assert.equal(idp.tokenRequests().length, 1, 'the second instance sends no token request');
    assert.deepEqual(store.calls[2], ['get', a.storeKey]);
    assert.equal(store.calls.length, 3, 'nothing is written back');
    assert.equal(tb.access_token, ta.access_token);
    assert.equal(tb.expires_at, ta.expires_at);
    assert.equal(tb.scope, 'api:read');
    assertDeepFrozen(tb);
    assert.equal(await b.getToken(), tb);
    assert.equal(store.calls.length, 3, 'then cached in memory');

    // Neither secrets nor user names are in the key; users get different keys.
    const pwA = new gk.TokenSource(passwordGrant(), { store });
    const pwB = new gk.TokenSource(passwordGrant({ username: 'bob', password: USERS.bob.password }), { store });
    for (const k of [a.storeKey, pwA.storeKey, pwB.storeKey]) {
      assert.match(k, /^grantkit:v2:[A-Za-z0-9_-]{43}$/);
      for (const s of [CLIENTS.ccBasic.client_secret, CLIENTS.pwClient.client_secret, 'alice', USERS.alice.password, 'bob', USERS.bob.password]) {
        assert.ok(!k.includes(s), `${k} contains ${s}`);
      }
    }
    assert.notEqual(pwA.storeKey, pwB.storeKey);
    assert.notEqual(pwA.storeKey, a.storeKey);

    // A stored token that has expired is not used.
    const stale = JSON.parse(value);
    stale.expires_at = Math.floor(Date.now() / 1000) - 10;
    const staleStore = memoryStore(new Map([[a.storeKey, JSON.stringify(stale)]]));
    const c = new gk.TokenSource(ccBasic(), { store: staleStore });
    const tc = await c.getToken();
    assert.equal(idp.tokenRequests().length, 2);
    assert.notEqual(tc.access_token, ta.access_token);

    // Credentials are bound into the key: a wrong password (or secret)
    // never reads the token the right one stored; it asks the server,
    // which refuses it.
    const right = new gk.TokenSource(passwordGrant(), { store });
    await right.getToken();
    const wrong = new gk.TokenSource(passwordGrant({ password: 'not-alices-password' }), { store });
    assert.notEqual(wrong.storeKey, right.storeKey);
    const err = await rejection(wrong.getToken());
    assertGrantkitError(err, 'OAUTH_ERROR', { error: 'invalid_grant' });
    const wrongSecret = new gk.TokenSource(ccBasic({ clientSecret: 'not-the-secret' }), { store });
    assert.notEqual(wrongSecret.storeKey, a.storeKey);
    assertGrantkitError(await rejection(wrongSecret.getToken()), 'OAUTH_ERROR', { error: 'invalid_client' });
  });

  test('a broken store never fails getToken: get throws / rejects / returns garbage, set throws / rejects -> onStoreError STORE_FAILED, no token text', async () => {
    const cases = [
      ['get throws', { get() { throw new Error('get exploded'); }, set() {} }],
      ['get rejects', { get() { return Promise.reject(new Error('get rejected')); }, set() {} }],
      ['get garbage', { get() { return 'not json {'; }, set() {} }],
      ['get foreign JSON', { get() { return JSON.stringify({ access_token: 'foreign-token-text-123' }); }, set() {} }],
      ['get a number', { get() { return 42; }, set() {} }],
      ['set throws', { get() { return null; }, set() { throw new Error('set exploded'); } }],
      ['set rejects', { get() { return undefined; }, set() { return Promise.reject(new Error('set rejected')); } }],
    ];
    for (const [name, store] of cases) {
      const errors = [];
      const src = new gk.TokenSource(ccBasic(), { store, onStoreError: (e) => errors.push(e) });
      idp.resetRequests();
      const ts = await src.getToken();
      assert.equal(idp.tokenRequests().length, 1, name);
      assert.equal(typeof ts.access_token, 'string', name);
      assert.equal((await introspect(idp, ts.access_token)).active, true, name);
      await waitFor(() => errors.length > 0, { what: `onStoreError (${name})` });
      assert.equal(errors.length, 1, name);
      const [err] = errors;
      assertGrantkitError(err, 'STORE_FAILED');
      assertNoTokenText(err.message, [ts.access_token, 'foreign-token-text-123'], `${name}: the message`);
      assertNoSecrets(err, [CLIENTS.ccBasic.client_secret], { messageOnly: [ts.access_token] });
      assert.equal(await src.getToken(), ts, name);
    }
    // No onStoreError: still fine.
    const quiet = new gk.TokenSource(ccBasic(), { store: { get() { throw new Error('x'); }, set() { throw new Error('y'); } } });
    assert.equal(typeof (await quiet.getToken()).access_token, 'string');
  });

  test('a store error that echoes the stored value carries no token text in its message', async () => {
    // As some store clients do: their error repeats the command's arguments.
    const errors = [];
    const src = new gk.TokenSource(passwordGrant(), {
      store: { get() { return null; }, set(key, value) { return Promise.reject(new Error(`SET ${key} ${value} failed: READONLY`)); } },
      onStoreError: (e) => errors.push(e),
    });
    const ts = await src.getToken();
    await waitFor(() => errors.length > 0, { what: 'onStoreError' });
    assertGrantkitError(errors[0], 'STORE_FAILED');
    assertNoTokenText(errors[0].message, [ts.access_token, ts.refresh_token, ts.id_token], 'the STORE_FAILED message');
  });

  test('per-caller abort: that caller rejects ABORTED, the others get the token; the shared request is aborted only when all have aborted', async () => {
    const src = new gk.TokenSource(ccBasic());
    idp.resetRequests();
    const aborted = new AbortController();
    const p1 = src.getToken({ signal: aborted.signal });
    const p2 = src.getToken();
    aborted.abort();
    const [r1, r2] = await Promise.allSettled([p1, p2]);
    assert.equal(r1.status, 'rejected');
    assertGrantkitError(r1.reason, 'ABORTED');
    assert.equal(r2.status, 'fulfilled');
    assert.equal(idp.tokenRequests().length, 1);
    assertCcRequest(idp.tokenRequests()[0]);
    assert.equal((await introspect(idp, r2.value.access_token)).active, true);
    assert.equal(await src.getToken(), r2.value);
    // An already aborted signal rejects at once, cached token or not.
    assertGrantkitError(await rejection(src.getToken({ signal: AbortSignal.abort() })), 'ABORTED');
    assert.equal(idp.tokenRequests().length, 1);

    // Watch the shared request's own signal through the flow's fetch option,
    // held at a gate until released.
    const inits = [];
    let settled = 0;
    let release;
    const gate = new Promise((resolve) => { release = resolve; });
    const gated = new gk.TokenSource(ccBasic({
      fetch: async (url, init) => {
        inits.push(init);
        await gate;
        return fetch(url, init).finally(() => { settled += 1; });
      },
    }));
    idp.resetRequests();
    const a = new AbortController();
    const b = new AbortController();
    const pa = rejection(gated.getToken({ signal: a.signal }));
    const pb = rejection(gated.getToken({ signal: b.signal }));
    await waitFor(() => inits.length === 1, { what: 'the shared request' });
    a.abort();
    assertGrantkitError(await pa, 'ABORTED');
    assert.equal(inits[0].signal.aborted, false, 'b still waits: the request goes on');
    b.abort();
    assertGrantkitError(await pb, 'ABORTED');
    assert.equal(inits[0].signal.aborted, true, 'nobody waits: the request is aborted');
    release();
    await waitFor(() => settled === 1, { what: 'the aborted fetch to settle' });
    assert.equal(idp.tokenRequests().length, 0, 'the aborted request never reached the IdP');
    // Then a new call makes a new request and gets a token.
    const ts = await gated.getToken();
    assert.equal(inits.length, 2);
    assert.equal(idp.tokenRequests().length, 1);
    assertCcRequest(idp.tokenRequests()[0]);
    assert.equal((await introspect(idp, ts.access_token)).active, true);
  });

  test('after every caller has aborted, the next getToken() without a signal gets a token (a new request), not ABORTED', async () => {
    for (const waitForTheRequest of [false, true]) {
      // The first request is held at a gate (it is still out when its only
      // caller aborts); later ones go straight through.
      let release;
      const gate = new Promise((resolve) => { release = resolve; });
      const inits = [];
      const src = new gk.TokenSource(ccBasic({
        fetch: async (url, init) => {
          inits.push(init);
          if (inits.length === 1) await gate;
          return fetch(url, init);
        },
      }));
      idp.resetRequests();
      const controller = new AbortController();
      const aborted = rejection(src.getToken({ signal: controller.signal }));
      if (waitForTheRequest) await waitFor(() => inits.length === 1, { what: 'the first request' });
      controller.abort();
      assertGrantkitError(await aborted, 'ABORTED');
      // This caller never aborted anything: it starts a new request at once.
      const next = await src.getToken().then((ts) => ts, (err) => err);
      release();
      assert.ok(!(next instanceof Error), `a caller without a signal got ${next?.code}: ${next?.message}`);
      assert.equal(typeof next.access_token, 'string');
      assertCcRequest(idp.tokenRequests().at(-1));
      assert.equal((await introspect(idp, next.access_token)).active, true);
    }
  });

  test('bad arguments: a non-flow -> INVALID_CONFIG field flow; apiCallerId off ClientCredentials, unknown or bad options -> INVALID_CONFIG', () => {
    idp.resetRequests();
    for (const notAFlow of [undefined, null, {}, 'ClientCredentials', { getToken: async () => ({}) }, new gk.TokenSource(ccBasic())]) {
      assertGrantkitError(thrown(() => new gk.TokenSource(notAFlow)), 'INVALID_CONFIG', { field: 'flow' });
    }
    assertGrantkitError(thrown(() => new gk.TokenSource(passwordGrant(), { apiCallerId: 'ops@example.com' })), 'INVALID_CONFIG', { field: 'apiCallerId' });
    assert.ok(new gk.TokenSource(ccBasic(), { apiCallerId: 'ops@example.com' }));
    // An unknown option: the error is about the options object, and names the key.
    const unknown = thrown(() => new gk.TokenSource(ccBasic(), { marginSecs: 10 }));
    assertGrantkitError(unknown, 'INVALID_CONFIG', { field: 'options' });
    assert.match(unknown.message, /TokenSource: marginSecs: unknown option; the options are marginSeconds, clockSkewSeconds, store,/);
    assertGrantkitError(thrown(() => new gk.TokenSource(ccBasic(), { marginSeconds: -1 })), 'INVALID_CONFIG', { field: 'marginSeconds' });
    assertGrantkitError(thrown(() => new gk.TokenSource(ccBasic(), { store: { get() {} } })), 'INVALID_CONFIG');
    assert.equal(idp.requests.length, 0);
  });
});
