// AcpLogin (Alauda ACP session login, five calls in one cookie session) of the
// installed package against the reference ACP server in tests/acp/server.mjs.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { DEFAULT_USERS, FLOW_COOKIE, PATHS, SCOPE, startAcp } from '../acp/server.mjs';
import {
  assertGrantkitError, assertNoSecrets, loadGrantkit, rejection,
} from './helpers.mjs';

const USER = 'admin';
const PASSWORD = DEFAULT_USERS.admin;
const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

let gk;
let acp;

before(async () => {
  gk = await loadGrantkit();
  acp = await startAcp();
});
after(async () => { await acp?.close(); });

/** The URL string of a fetch input (string, URL or Request). */
function inputUrl(input) {
  if (typeof input === 'string') return input;
  if (input instanceof URL) return input.href;
  return input.url;
}

/** A fetch that records every call and lets `edit` change the request or the response. */
function wrappedFetch(calls, { editRequest, editResponse } = {}) {
  return async (input, init = {}) => {
    const url = inputUrl(input);
    calls.push({ url, init });
    let [i, o] = [input, init];
    if (editRequest) [i, o] = editRequest(url, i, o);
    const res = await globalThis.fetch(i, o);
    return editResponse ? editResponse(url, res) : res;
  };
}

/** Remove the Cookie header from a fetch call, whichever form the headers take. */
function withoutCookie(input, init) {
  let i = input;
  let o = { ...init };
  if (typeof i !== 'string' && !(i instanceof URL)) {
    const h = new Headers(i.headers);
    h.delete('cookie');
    i = new Request(i, { headers: h });
  }
  if (o.headers !== undefined) {
    const h = new Headers(o.headers);
    h.delete('cookie');
    o = { ...o, headers: h };
  }
  return [i, o];
}

const isPath = (url, p) => new URL(url).pathname === p;

function decodeJwtClaims(jwt) {
  const parts = jwt.split('.');
  assert.equal(parts.length, 3, `not a JWT: ${jwt}`);
  return JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
}

/** No recorded request carries the plaintext password (path, headers or body, raw or URL-encoded). */
function assertPasswordNotSent(reqs, password) {
  for (const r of reqs) {
    const text = `${r.path}\n${JSON.stringify(r.headers)}\n${r.body}`;
    for (const form of new Set([password, encodeURIComponent(password), JSON.stringify(password).slice(1, -1)])) {
      assert.ok(!text.includes(form), `the password shows in ${r.method} ${r.path}`);
    }
    assert.ok(!text.includes(Buffer.from(password).toString('base64')), `base64 of the password shows in ${r.method} ${r.path}`);
  }
}

const STEP_PATHS = ['GET /console-platform/api/v1/token/login', 'GET /dex/api/v1/authorize', 'GET /dex/pubkey',
  'POST /dex/api/v1/authorize/local', 'GET /console-platform/api/v1/token/callback'];

describe('AcpLogin against the reference ACP server', () => {
  test('success: the five exact requests, the encrypted {ts, password}, the cookie, the TokenSet', async () => {
    assert.equal(typeof gk.AcpLogin, 'function', 'the package exports AcpLogin');
    const n0 = acp.requests.length;
    const d0 = acp.state.decryptCount;
    const login = new gk.AcpLogin({ platformUrl: acp.platformUrl, username: USER, password: PASSWORD });
    const ts = await login.getToken();
    const reqs = acp.requests.slice(n0);

    assert.deepEqual(reqs.map((r) => `${r.method} ${r.pathname}`), STEP_PATHS);
    for (const r of reqs) assert.equal(r.response.status, 200, `${r.method} ${r.path}: ${r.response.body}`);
    const [r1, r2, r3, r4, r5] = reqs;

    // 1. the login URL: exactly these parameters, in this order
    assert.deepEqual([...new URLSearchParams(r1.query)], [
      ['client_id', 'alauda-auth'],
      ['redirect_uri', `${acp.platformUrl}/dex/callback`],
      ['response_type', 'code'],
      ['scope', SCOPE],
    ], r1.path);
    assert.equal(r1.headers.cookie, undefined, 'a fresh session has no cookie');
    assert.equal(r1.body, '');

    // 2. the query string of auth_url, unchanged
    const authUrl = new URL(r1.response.json.auth_url);
    assert.equal(r2.query, authUrl.search.slice(1), 'step 2 query is auth_url\'s query, byte for byte');
    assert.equal(r2.path, `/dex/api/v1/authorize${authUrl.search}`);
    const setCookie = r2.response.headers['set-cookie'];
    const cookieValue = new RegExp(`^${FLOW_COOKIE}=([^;]+);`).exec(setCookie)[1];

    // 3.
    assert.equal(r3.path, '/dex/pubkey');
    const issuedTs = r3.response.json.ts;

    // 4. req from step 2; JSON body with exactly account and password
    assert.equal(r4.path, `/dex/api/v1/authorize/local?req=${r2.response.json.req}`);
    assert.match(r4.headers['content-type'], /^application\/json(;|$)/);
    const body4 = JSON.parse(r4.body);
    assert.deepEqual(Object.keys(body4).sort(), ['account', 'password']);
    assert.equal(body4.account, USER);
    assert.match(body4.password, STD_BASE64, 'standard base64 with padding');
    assert.equal(Buffer.from(body4.password, 'base64').length, 256, 'one RSA-2048 block');
    const plaintext = await acp.decrypt(body4.password); // Python `cryptography`, not the code under test
    const inner = JSON.parse(plaintext);
    assert.deepEqual(Object.keys(inner).sort(), ['password', 'ts']);
    assert.deepEqual(inner, { ts: issuedTs, password: PASSWORD });
    assert.equal(acp.state.decryptCount, d0 + 1);
    assert.equal(acp.state.decryptions.at(-1).plaintext, plaintext);

    // 5. code and state from redirect_url; the cookie of step 2
    const redirect = new URL(r4.response.json.redirect_url);
    const code = redirect.searchParams.get('code');
    const state = redirect.searchParams.get('state');
    assert.equal(state, r1.response.json.state);
    assert.equal(r5.path, `/console-platform/api/v1/token/callback?code=${code}&state=${state}`);
    assert.equal(r5.headers.cookie, `${FLOW_COOKIE}=${cookieValue}`);

    // the TokenSet
    const reply = r5.response.json;
    assert.equal(ts.access_token, reply.access_token);
    assert.equal(decodeJwtClaims(ts.access_token).sub, USER);
    assert.equal(ts.token_type, 'Bearer');
    assert.equal(ts.id_token, reply.id_token);
    assert.equal(ts.refresh_token, reply.refresh_token);
    assert.equal(ts.expires_at, reply.expire_at);
    assert.deepEqual(ts.raw, reply);

    assertPasswordNotSent(reqs, PASSWORD);
  });

  test('idp "ldap": step 4 goes to /dex/api/v1/authorize/ldap', async () => {
    const n0 = acp.requests.length;
    const ts = await new gk.AcpLogin({ platformUrl: acp.platformUrl, username: USER, password: PASSWORD, idp: 'ldap' }).getToken();
    const reqs = acp.requests.slice(n0);
    assert.deepEqual(reqs.map((r) => `${r.method} ${r.pathname}`), [...STEP_PATHS.slice(0, 3), 'POST /dex/api/v1/authorize/ldap', STEP_PATHS[4]]);
    assert.equal(decodeJwtClaims(ts.access_token).sub, USER);
  });

  test('a password with non-ASCII and JSON-special characters is encrypted as exact JSON', async () => {
    const password = 'ä p@ss "q" \\ / \u2028 ✓';
    const srv = await startAcp({ users: { 'li.lei': password } });
    try {
      const ts = await new gk.AcpLogin({ platformUrl: srv.platformUrl, username: 'li.lei', password }).getToken();
      assert.equal(decodeJwtClaims(ts.access_token).sub, 'li.lei');
      const r4 = srv.requests.find((r) => r.method === 'POST');
      assert.deepEqual(JSON.parse(await srv.decrypt(JSON.parse(r4.body).password)), { ts: srv.requests[2].response.json.ts, password });
      assertPasswordNotSent(srv.requests, password);
    } finally {
      await srv.close();
    }
  });

  test('wrong password -> ACP_INVALID_CREDENTIALS at step 4 (status 401); no step 5; no password in the error', async () => {
    const wrong = 'Wr0ng-pass!';
    const n0 = acp.requests.length;
    const err = await rejection(new gk.AcpLogin({ platformUrl: acp.platformUrl, username: USER, password: wrong }).getToken());
    assertGrantkitError(err, 'ACP_INVALID_CREDENTIALS', { step: 4, status: 401 });
    const reqs = acp.requests.slice(n0);
    assert.deepEqual(reqs.map((r) => `${r.method} ${r.pathname}`), STEP_PATHS.slice(0, 4));
    assert.deepEqual(reqs[3].response.json, { message: 'invalid username or password' });
    assertNoSecrets(err, [wrong]);
    assertPasswordNotSent(reqs, wrong);
  });

  test('cookie dropped before step 5 -> ACP_SESSION_LOST at step 5 (status 400)', async () => {
    const calls = [];
    const fetch = wrappedFetch(calls, {
      editRequest: (url, input, init) => (isPath(url, PATHS.callback) ? withoutCookie(input, init) : [input, init]),
    });
    const n0 = acp.requests.length;
    const err = await rejection(new gk.AcpLogin({
      platformUrl: acp.platformUrl, username: USER, password: PASSWORD, fetch,
    }).getToken());
    assertGrantkitError(err, 'ACP_SESSION_LOST', { step: 5, status: 400 });
    const reqs = acp.requests.slice(n0);
    assert.deepEqual(reqs.map((r) => `${r.method} ${r.pathname}`), STEP_PATHS);
    assert.equal(calls.length, 5, 'every request went through the fetch option');
    assert.equal(reqs[4].headers.cookie, undefined, 'the wrapper removed the cookie');
    assert.deepEqual(reqs[4].response.json, { message: 'invalid authentication session' });
    assertNoSecrets(err, [PASSWORD]);
  });

  test('reused ts (step 3 replayed from an earlier login) -> the server refuses: ACP_UNEXPECTED_RESPONSE at step 4, "invalid ts"', async () => {
    let firstPubkey;
    let replay = false;
    const calls = [];
    const fetch = wrappedFetch(calls, {
      editResponse: async (url, res) => {
        if (!isPath(url, PATHS.pubkey)) return res;
        const text = await res.text();
        if (!replay) {
          firstPubkey = text;
          return new Response(text, { status: res.status, headers: res.headers });
        }
        return new Response(firstPubkey, { status: 200, headers: { 'content-type': 'application/json; charset=utf-8' } });
      },
    });
    const opts = { platformUrl: acp.platformUrl, username: USER, password: PASSWORD, fetch };
    const first = await new gk.AcpLogin(opts).getToken();
    assert.equal(decodeJwtClaims(first.access_token).sub, USER);
    const firstTs = JSON.parse(firstPubkey).ts;

    replay = true;
    const n0 = acp.requests.length;
    const err = await rejection(new gk.AcpLogin(opts).getToken());
    assertGrantkitError(err, 'ACP_UNEXPECTED_RESPONSE', { step: 4, status: 400 });
    assert.match(err.message, /invalid ts/);
    const reqs = acp.requests.slice(n0);
    assert.deepEqual(reqs.map((r) => `${r.method} ${r.pathname}`), STEP_PATHS.slice(0, 4));
    assert.equal(acp.state.decryptions.at(-1).ts, firstTs, 'the client used the replayed ts');
    assert.deepEqual(reqs[3].response.json, { message: 'invalid ts' });
    assertNoSecrets(err, [PASSWORD]);
  });

  test('state in redirect_url differs from step 1 -> ACP_STATE_MISMATCH at step 4; step 5 never requested', async () => {
    const srv = await startAcp({ tamperState: true });
    try {
      const err = await rejection(new gk.AcpLogin({ platformUrl: srv.platformUrl, username: USER, password: PASSWORD }).getToken());
      assertGrantkitError(err, 'ACP_STATE_MISMATCH', { step: 4 });
      assert.deepEqual(srv.requests.map((r) => `${r.method} ${r.pathname}`), STEP_PATHS.slice(0, 4));
      assert.ok(!srv.requests.some((r) => r.pathname === PATHS.callback));
      assertNoSecrets(err, [PASSWORD]);
    } finally {
      await srv.close();
    }
  });
});

/** Which of the five calls a URL is (1-5), or 0. */
function stepOf(url) {
  const p = new URL(url).pathname;
  if (p === PATHS.login) return 1;
  if (p === PATHS.authorize) return 2;
  if (p === PATHS.pubkey) return 3;
  if (p.startsWith(`${PATHS.authorize}/`)) return 4;
  if (p === PATHS.callback) return 5;
  return 0;
}

/** A fetch whose reply to step `n` is replaced by `make(realReplyJson)` -> { status, body (string), contentType }. */
function rewriteStep(n, make) {
  return wrappedFetch([], {
    editResponse: async (url, res) => {
      if (stepOf(url) !== n) return res;
      const text = await res.text();
      let json;
      try { json = JSON.parse(text); } catch { json = undefined; }
      const { status = 200, body, contentType = 'application/json; charset=utf-8', headers = {} } = make(json, res);
      const h = new Headers({ 'content-type': contentType, ...headers });
      // keep the flow cookie of step 2
      for (const c of res.headers.getSetCookie()) h.append('set-cookie', c);
      return new Response(body, { status, headers: h });
    },
  });
}

const without = (obj, key) => Object.fromEntries(Object.entries(obj).filter(([k]) => k !== key));

describe('AcpLogin: malformed or unexpected replies (scripted through the fetch option)', () => {
  const login = (fetch) => new gk.AcpLogin({ platformUrl: acp.platformUrl, username: USER, password: PASSWORD, fetch }).getToken();

  for (const [n, field] of [[1, 'auth_url'], [1, 'state'], [2, 'req'], [3, 'ts'], [4, 'redirect_url'], [5, 'access_token']]) {
    test(`step ${n} reply without ${field} -> ACP_MISSING_FIELD, step ${n}, message names ${field}`, async () => {
      const err = await rejection(login(rewriteStep(n, (json) => ({ body: JSON.stringify(without(json, field)) }))));
      assertGrantkitError(err, 'ACP_MISSING_FIELD', { step: n });
      assert.ok(err.message.includes(field), err.message);
      assertNoSecrets(err, [PASSWORD]);
    });
  }

  test('step 3 answers HTML -> RESPONSE_NOT_JSON, step 3, status 200', async () => {
    const err = await rejection(login(rewriteStep(3, () => ({ body: '<html>maintenance</html>', contentType: 'text/html' }))));
    assertGrantkitError(err, 'RESPONSE_NOT_JSON', { step: 3, status: 200 });
  });

  test('step 1 answers 500 {"message"} -> ACP_UNEXPECTED_RESPONSE, step 1, status 500, message included', async () => {
    const err = await rejection(login(rewriteStep(1, () => ({ status: 500, body: JSON.stringify({ message: 'database is down' }) }))));
    assertGrantkitError(err, 'ACP_UNEXPECTED_RESPONSE', { step: 1, status: 500 });
    assert.match(err.message, /database is down/);
  });

  test('step 4 answers 400 with a message about the username or password -> ACP_INVALID_CREDENTIALS, step 4, status 400', async () => {
    const err = await rejection(new gk.AcpLogin({
      platformUrl: acp.platformUrl,
      username: USER,
      password: 'Wr0ng-pass!',
      fetch: rewriteStep(4, (json, res) => ({ status: res.status === 401 ? 400 : res.status, body: JSON.stringify(json) })),
    }).getToken());
    assertGrantkitError(err, 'ACP_INVALID_CREDENTIALS', { step: 4, status: 400 });
    assertNoSecrets(err, ['Wr0ng-pass!']);
  });
});
