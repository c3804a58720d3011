// TokenSource with a hostile shared store (installed package; the token
// endpoint is scripted on 127.0.0.1): values that must be a cache miss
// (onStoreError gets STORE_FAILED, a real token request is made), a store
// that never answers or throws the tokens back, and store keys that bind
// every credential (grantkit:v2:, no secret in any encoding).
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import {
  assertNoTokenText, errorText, fixture, fixtureJson, json, loadGrantkit, startScriptedServer, waitFor,
} from './helpers.mjs';
import {
  assertChildSurvived, assertHostileError, assertWithin, runInChild,
} from './hostile_helpers.mjs';

const ID = 'store-client';
const SECRET = 'st0re-s3cret:+%&é';
const PASSWORD = 'right-Passw0rd!';

let gk;
let srv;
let issued = 0;

before(async () => {
  gk = await loadGrantkit();
  srv = await startScriptedServer();
});
after(async () => { await srv?.close(); });

/** A token endpoint that issues a fresh token (and refresh token) per request; password grants need PASSWORD. */
function scriptIssuer() {
  srv.script((_req, res, body) => {
    const form = new URLSearchParams(body);
    if (form.get('grant_type') === 'password' && form.get('password') !== PASSWORD) {
      return json(res, 400, { error: 'invalid_grant', error_description: 'Invalid user credentials' });
    }
    issued += 1;
    return json(res, 200, {
      access_token: `AT-server-${issued}-${crypto.randomBytes(8).toString('hex')}`, token_type: 'Bearer', expires_in: 3600,
      refresh_token: `RT-server-${issued}-${crypto.randomBytes(8).toString('hex')}`,
    });
  });
}

function cc(extra = {}) {
  return new gk.ClientCredentials({ tokenEndpoint: srv.url(), clientId: ID, clientSecret: SECRET, timeoutMs: 3000, ...extra });
}

function pw(password = PASSWORD, extra = {}) {
  return new gk.PasswordGrant({ tokenEndpoint: srv.url(), clientId: ID, clientSecret: SECRET, username: 'alice', password, timeoutMs: 3000, ...extra });
}

/** A store answering `get` with `value` (a function of the key); records errors and calls. */
function hostileStore(value) {
  const calls = [];
  return {
    calls,
    get(key) { calls.push(['get', key]); return typeof value === 'function' ? value(key) : value; },
    set(key, v, ttl) { calls.push(['set', key, v, ttl]); },
  };
}

/** A value grantkit itself stored for `flow` (a real token set). */
async function storedValueFor(flow) {
  const map = new Map();
  const store = { get: (k) => map.get(k), set: (k, v) => { map.set(k, v); } };
  const src = new gk.TokenSource(flow, { store });
  const ts = await src.getToken();
  await waitFor(() => map.size > 0, { what: 'store.set' });
  return { key: src.storeKey, value: [...map.values()][0], tokens: ts };
}

/** getToken with `store` must treat it as a miss: STORE_FAILED once, one real token request, the server's token. */
async function assertMiss(store, leaked = []) {
  const errors = [];
  const src = new gk.TokenSource(cc(), { store, onStoreError: (e) => errors.push(e) });
  srv.hits.length = 0;
  const ts = await src.getToken();
  assert.equal(srv.hits.length, 1, 'no real token request was made');
  assert.match(ts.access_token, /^AT-server-/, 'the token did not come from the server');
  await waitFor(() => errors.length > 0, { what: 'onStoreError', timeoutMs: 3000 });
  assertHostileError(errors[0], 'STORE_FAILED');
  assertNoTokenText(errorText(errors[0]), [ts.access_token, ts.refresh_token, ...leaked], 'the STORE_FAILED error');
  return { ts, errors, src };
}

describe('hostile store values: a miss, STORE_FAILED, a real request', () => {
  test('a double-encoded value (a JSON string holding the JSON)', async () => {
    scriptIssuer();
    const { value } = await storedValueFor(cc());
    await assertMiss(hostileStore(JSON.stringify(value)));
  });

  test('a stored value of another format version (v: 99)', async () => {
    scriptIssuer();
    const { value, tokens } = await storedValueFor(cc());
    const o = JSON.parse(value);
    o.v = 99;
    await assertMiss(hostileStore(JSON.stringify(o)), [tokens.access_token]);
  });

  test('a token stored for another key (another client id) is not used', async () => {
    scriptIssuer();
    const { key: otherKey, value, tokens } = await storedValueFor(cc({ clientId: 'another-client' }));
    const mine = new gk.TokenSource(cc()).storeKey;
    assert.notEqual(otherKey, mine);
    await assertMiss(hostileStore(value), [tokens.access_token]);
  });

  test('a 16 MiB string (in a surviving child)', async () => {
    scriptIssuer();
    const r = await runInChild(`
      const errors = [];
      const huge = '{"v":1,"access_token":"' + 'A'.repeat(16 * 1024 * 1024) + '","token_type":"Bearer","raw":{}}';
      const src = new gk.TokenSource(new gk.ClientCredentials({ tokenEndpoint: env.url, clientId: env.id, clientSecret: env.secret, timeoutMs: 3000 }),
        { store: { get: () => huge, set() {} }, onStoreError: (e) => errors.push(e) });
      const ts = await src.getToken();
      await new Promise((r) => setTimeout(r, 100));
      return { token: ts.access_token.slice(0, 40), tokenLength: ts.access_token.length, errors: errors.map((e) => ({ name: e.name, code: e.code, length: e.message.length })) };
    `, { env: { url: srv.url(), id: ID, secret: SECRET } });
    const result = assertChildSurvived(r);
    assert.equal(result.ok, true, JSON.stringify(result.error));
    assert.ok(result.value.token.startsWith('AT-server-'), `the 16 MiB stored token (${result.value.tokenLength} characters) was used`);
    assert.equal(result.value.errors.length, 1);
    assert.equal(result.value.errors[0].code, 'STORE_FAILED');
    assert.ok(result.value.errors[0].length < 2048);
  });

  test('a stored value whose access_token holds CR/LF', async () => {
    scriptIssuer();
    const { value } = await storedValueFor(cc());
    const o = JSON.parse(value);
    o.access_token = 'AT-stored\r\nX-Injected: yes';
    if (o.raw) o.raw.access_token = o.access_token;
    const { ts } = await assertMiss(hostileStore(JSON.stringify(o)), ['AT-stored']);
    assert.ok(!ts.access_token.includes('\n'));
  });

  test('a stored value whose refresh_token holds ESC', async () => {
    scriptIssuer();
    const { value } = await storedValueFor(cc());
    const o = JSON.parse(value);
    o.refresh_token = 'RT-stored\u001b[2J';
    if (o.raw) o.raw.refresh_token = o.refresh_token;
    await assertMiss(hostileStore(JSON.stringify(o)));
  });

  test('an object (not a string) shaped like a stored value', async () => {
    scriptIssuer();
    const { value } = await storedValueFor(cc());
    await assertMiss(hostileStore(JSON.parse(value)));
  });

  test('a thenable whose then() throws', async () => {
    scriptIssuer();
    await assertMiss(hostileStore({ then() { throw new Error('then exploded'); } }));
  });

  test('a get that never settles: after timeoutMs (400) a real request; getToken resolves in time', async () => {
    scriptIssuer();
    const errors = [];
    const src = new gk.TokenSource(cc({ timeoutMs: 400 }), { store: { get: () => new Promise(() => {}), set() {} }, onStoreError: (e) => errors.push(e) });
    srv.hits.length = 0;
    const t0 = Date.now();
    const ts = await src.getToken();
    assertWithin(Date.now() - t0, 400 + 2000, 'getToken');
    assert.match(ts.access_token, /^AT-server-/);
    assert.equal(srv.hits.length, 1);
    await waitFor(() => errors.length > 0, { what: 'onStoreError' });
    assertHostileError(errors[0], 'STORE_FAILED');
  });
});

describe('store errors never carry the tokens', () => {
  test('store.get throws an Error whose message holds the cached access and refresh tokens -> STORE_FAILED without them', async () => {
    scriptIssuer();
    let current;
    let gets = 0;
    const errors = [];
    const src = new gk.TokenSource(cc(), {
      store: {
        get() {
          gets += 1;
          if (!current) return null;
          throw new Error(`GET failed near ${current.access_token} / ${current.refresh_token} / ${JSON.stringify(current)}`);
        },
        set() {},
      },
      onStoreError: (e) => errors.push(e),
    });
    current = await src.getToken();
    src.invalidate();
    const next = await src.getToken();
    assert.equal(gets, 2, 'the store was not read on the second miss');
    await waitFor(() => errors.length > 0, { what: 'onStoreError' });
    assertHostileError(errors[0], 'STORE_FAILED');
    assertNoTokenText(errorText(errors[0]), [current.access_token, current.refresh_token, next.access_token], 'the STORE_FAILED error');
  });

  test('store.get rejects with a bare string holding the cached tokens -> STORE_FAILED without them', async () => {
    scriptIssuer();
    let current;
    const errors = [];
    const src = new gk.TokenSource(cc(), {
      store: {
        // eslint-disable-next-line prefer-promise-reject-errors
        get() { return current ? Promise.reject(`redis: WRONGTYPE ${current.refresh_token} ${current.access_token}`) : null; },
        set() {},
      },
      onStoreError: (e) => errors.push(e),
    });
    current = await src.getToken();
    src.invalidate();
    await src.getToken();
    await waitFor(() => errors.length > 0, { what: 'onStoreError' });
    assertHostileError(errors[0], 'STORE_FAILED');
    assertNoTokenText(errorText(errors[0]), [current.access_token, current.refresh_token], 'the STORE_FAILED error');
  });
});

describe('the store key binds every credential', () => {
  /** The key starts with grantkit:v2: and holds none of the secrets in any common encoding. */
  function assertKeyClean(key, secrets) {
    assert.match(key, /^grantkit:v2:/);
    for (const s of secrets) {
      const b = Buffer.from(s, 'utf8');
      for (const form of [s, encodeURIComponent(s), b.toString('base64'), b.toString('base64url'), b.toString('hex'),
        crypto.createHash('sha256').update(b).digest('base64url'), crypto.createHash('sha256').update(b).digest('hex')]) {
        assert.ok(!key.includes(form), `the store key ${key} contains a secret (as ${form})`);
      }
    }
  }

  test('PasswordGrant: same config, another password -> another storeKey, no secret in it', () => {
    const a = new gk.TokenSource(pw(PASSWORD)).storeKey;
    const b = new gk.TokenSource(pw('wrong-password')).storeKey;
    assert.notEqual(a, b);
    assertKeyClean(a, [PASSWORD, SECRET, 'alice']);
    assertKeyClean(b, ['wrong-password', SECRET, 'alice']);
  });

  test('a wrong password never gets the token cached by the right one: its own request, the server\'s error', async () => {
    scriptIssuer();
    const map = new Map();
    const store = { get: (k) => map.get(k), set: (k, v) => { map.set(k, v); } };
    const right = new gk.TokenSource(pw(PASSWORD), { store });
    const ts = await right.getToken();
    await waitFor(() => map.size > 0, { what: 'store.set' });
    srv.hits.length = 0;
    const wrong = new gk.TokenSource(pw('wrong-password'), { store });
    let got;
    try {
      got = await wrong.getToken();
    } catch (err) {
      assertHostileError(err, 'OAUTH_ERROR', { status: 400, error: 'invalid_grant' });
      assert.ok(!errorText(err).includes(ts.access_token));
    }
    assert.equal(got, undefined, `the wrong password got a token: ${got?.access_token === ts.access_token ? 'the right one\'s cached token' : 'some token'}`);
    assert.equal(srv.hits.length, 1, 'the wrong password made no token request of its own');
    assert.match(srv.hits[0].body, /password=wrong-password/);
  });

  test('ClientCredentials: another clientSecret -> another storeKey', () => {
    const a = new gk.TokenSource(cc()).storeKey;
    const b = new gk.TokenSource(cc({ clientSecret: 'other-secret' })).storeKey;
    assert.notEqual(a, b);
    assertKeyClean(a, [SECRET]);
    assertKeyClean(b, ['other-secret']);
  });

  test('JwtBearer: another private key -> another storeKey, no key material in it', () => {
    const make = (key) => new gk.TokenSource(new gk.JwtBearer({ tokenEndpoint: srv.url(), key, issuer: 'svc-1' })).storeKey;
    const a = make(fixture('rsa2048.pkcs8.pem'));
    const b = make(fixture('other2048.pkcs8.pem'));
    assert.notEqual(a, b);
    const jwk = fixtureJson('rsa2048.jwk.json');
    assertKeyClean(a, [jwk.d.slice(0, 24), jwk.p.slice(0, 24), jwk.n.slice(0, 24)]);
  });

  test('private_key_jwt: another private key -> another storeKey', () => {
    const make = (privateKey) => new gk.TokenSource(new gk.ClientCredentials({
      tokenEndpoint: srv.url(), clientId: ID, clientAuth: 'private_key_jwt', privateKey,
    })).storeKey;
    assert.notEqual(make(fixture('rsa2048.pkcs8.pem')), make(fixture('other2048.pkcs8.pem')));
  });

  test('AcpLogin: another password -> another storeKey', () => {
    const make = (password) => new gk.TokenSource(new gk.AcpLogin({ platformUrl: srv.origin, username: 'admin', password })).storeKey;
    const a = make(PASSWORD);
    const b = make('other-password');
    assert.notEqual(a, b);
    assertKeyClean(a, [PASSWORD, 'admin']);
  });
});
