// Tests of the reference ACP server (tests/acp/server.mjs), driven with plain
// fetch; the client-side encryption is node:crypto publicEncrypt with
// RSA_PKCS1_PADDING (allowed for encryption on Node 20).
//
//   node --test tests/acp/
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { CLIENT_ID, DEFAULT_USERS, FLOW_COOKIE, PATHS, SCOPE, startAcp } from './server.mjs';

const SERVER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'server.mjs');
const USER = 'admin';
const PASSWORD = DEFAULT_USERS.admin;

let acp;
before(async () => { acp = await startAcp(); });
after(async () => { await acp?.close(); });

// ---------------------------------------------------------------------------
// A minimal client of the five calls, step by step.

async function call(url, init = {}) {
  const res = await fetch(url, { redirect: 'manual', ...init });
  const text = await res.text();
  let body;
  try { body = JSON.parse(text); } catch { body = undefined; }
  return { status: res.status, headers: res.headers, text, body };
}

function loginUrl(platformUrl, overrides = {}) {
  const params = {
    client_id: CLIENT_ID, redirect_uri: `${platformUrl}/dex/callback`, response_type: 'code', scope: SCOPE, ...overrides,
  };
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.append(k, v);
  return `${platformUrl}${PATHS.login}?${q}`;
}

function encryptPassword(pubkeyPem, ts, password) {
  return crypto.publicEncrypt(
    { key: pubkeyPem, padding: crypto.constants.RSA_PKCS1_PADDING },
    Buffer.from(JSON.stringify({ ts, password }), 'utf8'),
  ).toString('base64');
}

const step = {
  async login(srv) {
    const r = await call(loginUrl(srv.platformUrl));
    assert.equal(r.status, 200, r.text);
    return r.body;
  },
  async authorize(srv, authUrl) {
    const r = await call(`${srv.platformUrl}${PATHS.authorize}${new URL(authUrl).search}`);
    assert.equal(r.status, 200, r.text);
    const setCookie = r.headers.getSetCookie();
    assert.equal(setCookie.length, 1);
    const m = new RegExp(`^${FLOW_COOKIE}=([A-Za-z0-9_-]+); Path=/; HttpOnly; SameSite=Lax$`).exec(setCookie[0]);
    assert.ok(m, setCookie[0]);
    return { req: r.body.req, cookie: `${FLOW_COOKIE}=${m[1]}` };
  },
  async pubkey(srv) {
    const r = await call(`${srv.platformUrl}${PATHS.pubkey}`);
    assert.equal(r.status, 200, r.text);
    return r.body;
  },
  signIn(srv, { idp = 'local', req, cookie, body }) {
    return call(`${srv.platformUrl}${PATHS.authorizeIdp(idp)}?req=${encodeURIComponent(req)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  },
  callback(srv, { code, state, cookie }) {
    return call(`${srv.platformUrl}${PATHS.callback}?code=${encodeURIComponent(code)}&state=${encodeURIComponent(state)}`, {
      headers: cookie ? { cookie } : {},
    });
  },
};

/** Steps 1-3: a session ready for step 4. */
async function session(srv = acp) {
  const login = await step.login(srv);
  const { req, cookie } = await step.authorize(srv, login.auth_url);
  const pk = await step.pubkey(srv);
  return { login, req, cookie, pk };
}

/** Steps 1-4 with the given credentials; returns the step-4 reply and the session. */
async function signIn({ srv = acp, user = USER, password = PASSWORD, idp = 'local' } = {}) {
  const s = await session(srv);
  const r = await step.signIn(srv, {
    idp, req: s.req, cookie: s.cookie, body: { account: user, password: encryptPassword(s.pk.pubkey, s.pk.ts, password) },
  });
  return { ...s, r };
}

function codeAndState(redirectUrl) {
  const u = new URL(redirectUrl);
  return { code: u.searchParams.get('code'), state: u.searchParams.get('state'), origin: u.origin, pathname: u.pathname };
}

function decodeJwt(jwt) {
  const [h, c] = jwt.split('.');
  return { header: JSON.parse(Buffer.from(h, 'base64url')), claims: JSON.parse(Buffer.from(c, 'base64url')) };
}

function verifyJwt(srv, jwt) {
  const [h, c, s] = jwt.split('.');
  const { header } = decodeJwt(jwt);
  assert.equal(header.alg, 'RS256');
  const jwk = srv.jwks.keys.find((k) => k.kid === header.kid);
  assert.ok(jwk, 'kid is in the JWKS');
  const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
  return crypto.verify('sha256', Buffer.from(`${h}.${c}`), key, Buffer.from(s, 'base64url'));
}

// ---------------------------------------------------------------------------

describe('reference ACP server: the five calls', () => {
  test('success: exact replies at every step, a verified RS256 token for the account', async () => {
    const n0 = acp.requests.length;
    const d0 = acp.state.decryptCount;

    // 1
    const login = await step.login(acp);
    assert.deepEqual(Object.keys(login).sort(), ['auth_url', 'logout_url', 'state']);
    assert.match(login.state, /^[A-Za-z0-9_-]{16,}$/);
    assert.equal(login.logout_url, `${acp.platformUrl}/dex/logout`);
    const au = new URL(login.auth_url);
    assert.equal(`${au.origin}${au.pathname}`, `${acp.platformUrl}/dex/auth`);
    assert.deepEqual([...au.searchParams], [
      ['client_id', 'alauda-auth'], ['redirect_uri', `${acp.platformUrl}/dex/callback`], ['response_type', 'code'],
      ['scope', 'openid profile offline_access email groups ext'], ['state', login.state],
    ]);
    assert.ok(au.search.includes('scope=openid%20profile'), 'spaces encoded as %20 in auth_url');

    // 2
    const { req, cookie } = await step.authorize(acp, login.auth_url);
    assert.match(req, /^[A-Za-z0-9_-]{16,}$/);

    // 3
    const pk = await step.pubkey(acp);
    assert.deepEqual(Object.keys(pk).sort(), ['pubkey', 'pubkey_encode', 'ts']);
    assert.equal(typeof pk.ts, 'string');
    assert.match(pk.pubkey, /^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+-----END PUBLIC KEY-----\n$/);
    assert.equal(Buffer.from(pk.pubkey_encode, 'base64').toString('utf8'), pk.pubkey);
    const key = crypto.createPublicKey(pk.pubkey);
    assert.equal(key.asymmetricKeyType, 'rsa');
    assert.equal(key.asymmetricKeyDetails.modulusLength, 2048);
    const pk2 = await step.pubkey(acp);
    assert.notEqual(pk2.ts, pk.ts, 'every call issues a new ts');
    assert.equal(pk2.pubkey, pk.pubkey, 'one key per server');

    // 4
    const encrypted = encryptPassword(pk.pubkey, pk.ts, PASSWORD);
    const r4 = await step.signIn(acp, { req, cookie, body: { account: USER, password: encrypted } });
    assert.equal(r4.status, 200, r4.text);
    assert.deepEqual(Object.keys(r4.body).sort(), ['redirect_url', 'session_state']);
    const cs = codeAndState(r4.body.redirect_url);
    assert.equal(`${cs.origin}${cs.pathname}`, `${acp.platformUrl}/dex/callback`);
    assert.equal(cs.state, login.state);
    assert.match(cs.code, /^[A-Za-z0-9_-]{16,}$/);
    assert.equal(acp.state.decryptCount, d0 + 1);
    const logged = acp.state.decryptions.at(-1);
    assert.equal(logged.ciphertext, encrypted);
    assert.equal(logged.plaintext, JSON.stringify({ ts: pk.ts, password: PASSWORD }));
    assert.equal(logged.ts, pk.ts);
    assert.equal(logged.error, undefined);

    // 5
    const t0 = Math.floor(Date.now() / 1000);
    const r5 = await step.callback(acp, { ...cs, cookie });
    const t1 = Math.floor(Date.now() / 1000);
    assert.equal(r5.status, 200, r5.text);
    assert.deepEqual(Object.keys(r5.body).sort(), ['access_token', 'expire_at', 'id_token', 'issued_at', 'refresh_token', 'token_type']);
    assert.equal(r5.body.token_type, 'Bearer');
    assert.ok(!('expires_in' in r5.body));
    assert.ok(r5.body.issued_at >= t0 && r5.body.issued_at <= t1);
    assert.equal(r5.body.expire_at, r5.body.issued_at + 3600);
    assert.equal(typeof r5.body.refresh_token, 'string');
    for (const jwt of [r5.body.access_token, r5.body.id_token]) {
      assert.ok(verifyJwt(acp, jwt), 'signature verifies against the JWKS');
      const { claims } = decodeJwt(jwt);
      assert.equal(claims.sub, USER);
      assert.equal(claims.iss, `${acp.platformUrl}/dex`);
      assert.equal(claims.aud, 'alauda-auth');
      assert.equal(claims.exp, r5.body.expire_at);
      assert.equal(claims.iat, r5.body.issued_at);
    }
    assert.deepEqual(acp.state.tokens.at(-1), r5.body);

    // the code is single use
    const again = await step.callback(acp, { ...cs, cookie });
    assert.equal(again.status, 400);
    assert.deepEqual(again.body, { message: 'invalid code' });

    // requests are recorded: method, path with query, lower-case headers, body text
    const recorded = acp.requests.slice(n0);
    assert.deepEqual(recorded.map((q) => q.method), ['GET', 'GET', 'GET', 'GET', 'POST', 'GET', 'GET']);
    assert.equal(recorded[1].path, `${PATHS.authorize}${new URL(login.auth_url).search}`);
    assert.equal(recorded[1].query, new URL(login.auth_url).search.slice(1));
    assert.equal(recorded[4].path, `/dex/api/v1/authorize/local?req=${req}`);
    assert.equal(recorded[4].pathname, '/dex/api/v1/authorize/local');
    assert.equal(recorded[4].headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(recorded[4].body), { account: USER, password: encrypted });
    assert.equal(recorded[5].headers.cookie, cookie);
    // ... and so are the replies
    assert.deepEqual(recorded[0].response.json, login);
    assert.equal(recorded[1].response.headers['set-cookie'], `${cookie}; Path=/; HttpOnly; SameSite=Lax`);
    assert.deepEqual(recorded[2].response.json, pk);
    assert.equal(recorded[4].response.status, 200);
    assert.deepEqual(recorded[5].response.json, r5.body);
    assert.equal(recorded[5].response.body, r5.text);
    assert.deepEqual(recorded[6].response.json, { message: 'invalid code' });
    for (const q of recorded) {
      for (const k of Object.keys(q.headers)) assert.equal(k, k.toLowerCase());
      assert.equal(typeof q.body, 'string');
    }
  });

  test('the decrypt() hook decrypts independently (not counted in decryptCount)', async () => {
    const pk = await step.pubkey(acp);
    const d0 = acp.state.decryptCount;
    const ct = encryptPassword(pk.pubkey, pk.ts, 'pä$$ wörd "quoted"');
    assert.equal(await acp.decrypt(ct), JSON.stringify({ ts: pk.ts, password: 'pä$$ wörd "quoted"' }));
    assert.equal(acp.state.decryptCount, d0);
    await assert.rejects(acp.decrypt('AAAA'), /length|decoding|size/i);
  });

  test('idp ldap is treated like local; other connectors are refused', async () => {
    const ok = await signIn({ idp: 'ldap' });
    assert.equal(ok.r.status, 200, ok.r.text);
    const bad = await signIn({ idp: 'oidc' });
    assert.equal(bad.r.status, 400);
    assert.deepEqual(bad.r.body, { message: 'unsupported connector: oidc' });
  });
});

describe('reference ACP server: refusals', () => {
  test('wrong password -> 401 invalid username or password; the ts is used up anyway', async () => {
    const s = await session();
    const body = { account: USER, password: encryptPassword(s.pk.pubkey, s.pk.ts, 'wrong-password') };
    const r = await step.signIn(acp, { req: s.req, cookie: s.cookie, body });
    assert.equal(r.status, 401);
    assert.deepEqual(r.body, { message: 'invalid username or password' });
    assert.equal(acp.state.tss.get(s.pk.ts).used, true);
    // the same ts with the right password now fails on the ts
    const r2 = await step.signIn(acp, { req: s.req, cookie: s.cookie, body: { account: USER, password: encryptPassword(s.pk.pubkey, s.pk.ts, PASSWORD) } });
    assert.equal(r2.status, 400);
    assert.deepEqual(r2.body, { message: 'invalid ts' });
  });

  test('unknown account -> 401 (same message as a wrong password)', async () => {
    const { r } = await signIn({ user: 'nobody' });
    assert.equal(r.status, 401);
    assert.deepEqual(r.body, { message: 'invalid username or password' });
  });

  test('reused ts (after a successful login) -> 400 invalid ts', async () => {
    const first = await signIn();
    assert.equal(first.r.status, 200, first.r.text);
    const s = await session();
    const r = await step.signIn(acp, {
      req: s.req, cookie: s.cookie, body: { account: USER, password: encryptPassword(first.pk.pubkey, first.pk.ts, PASSWORD) },
    });
    assert.equal(r.status, 400);
    assert.deepEqual(r.body, { message: 'invalid ts' });
  });

  test('a ts never issued, a number instead of the string, or expired -> 400 invalid ts', async () => {
    const s = await session();
    for (const ts of ['1234567890', Number(s.pk.ts.slice(0, 13))]) {
      const pw = crypto.publicEncrypt({ key: s.pk.pubkey, padding: crypto.constants.RSA_PKCS1_PADDING }, Buffer.from(JSON.stringify({ ts, password: PASSWORD })));
      const r = await step.signIn(acp, { req: s.req, body: { account: USER, password: pw.toString('base64') } });
      if (typeof ts === 'number') {
        assert.equal(r.status, 400);
        assert.deepEqual(r.body, { message: 'invalid password encoding' }, 'ts must be a string');
      } else {
        assert.deepEqual([r.status, r.body], [400, { message: 'invalid ts' }]);
      }
    }
    const short = await startAcp({ tsTtlMs: 50 });
    try {
      const s2 = await session(short);
      await new Promise((resolve) => setTimeout(resolve, 120));
      const r = await step.signIn(short, { req: s2.req, body: { account: USER, password: encryptPassword(s2.pk.pubkey, s2.pk.ts, PASSWORD) } });
      assert.deepEqual([r.status, r.body], [400, { message: 'invalid ts' }]);
    } finally {
      await short.close();
    }
  });

  test('missing cookie at step 5 -> 400 invalid authentication session; the code still works with the cookie', async () => {
    const { r, cookie, login } = await signIn();
    assert.equal(r.status, 200, r.text);
    const cs = codeAndState(r.body.redirect_url);
    const r5 = await step.callback(acp, cs);
    assert.equal(r5.status, 400);
    assert.deepEqual(r5.body, { message: 'invalid authentication session' });
    const wrongValue = await step.callback(acp, { ...cs, cookie: `${FLOW_COOKIE}=not-a-session` });
    assert.deepEqual([wrongValue.status, wrongValue.body], [400, { message: 'invalid authentication session' }]);
    const otherName = await step.callback(acp, { ...cs, cookie: `other=${cookie.split('=')[1]}` });
    assert.deepEqual([otherName.status, otherName.body], [400, { message: 'invalid authentication session' }]);
    const ok = await step.callback(acp, { ...cs, cookie: `theme=dark; ${cookie}` });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(cs.state, login.state);
  });

  test('the cookie of another session at step 5 -> 400 invalid code', async () => {
    const a = await signIn();
    const b = await session();
    const r5 = await step.callback(acp, { ...codeAndState(a.r.body.redirect_url), cookie: b.cookie });
    assert.deepEqual([r5.status, r5.body], [400, { message: 'invalid code' }]);
  });

  test('wrong state at step 5 -> 400 invalid state; extra or missing parameters -> 400', async () => {
    const a = await signIn();
    const cs = codeAndState(a.r.body.redirect_url);
    const r5 = await step.callback(acp, { code: cs.code, state: 'other-state', cookie: a.cookie });
    assert.deepEqual([r5.status, r5.body], [400, { message: 'invalid state' }]);
    const missing = await call(`${acp.platformUrl}${PATHS.callback}?code=${cs.code}`, { headers: { cookie: a.cookie } });
    assert.deepEqual([missing.status, missing.body], [400, { message: 'invalid callback parameters' }]);
  });

  test('wrong query at step 2 -> 400 invalid authorization request', async () => {
    const login = await step.login(acp);
    const au = new URL(login.auth_url);
    const n0 = acp.state.flows.size;
    const variants = [
      new URLSearchParams(au.search).toString(), // re-encoded: spaces as '+'
      au.search.slice(1).replace(/&state=[^&]*/, ''), // state dropped
      au.search.slice(1).replace('client_id=alauda-auth', 'client_id=other'), // a parameter changed
      `${au.search.slice(1)}&x=1`, // a parameter added
      au.search.slice(1).replace(login.state, `${login.state}x`), // state not issued
      '', // nothing
    ];
    for (const q of variants) {
      const r = await call(`${acp.platformUrl}${PATHS.authorize}${q ? `?${q}` : ''}`);
      assert.deepEqual([r.status, r.body], [400, { message: 'invalid authorization request' }], q);
      assert.equal(r.headers.getSetCookie().length, 0);
    }
    assert.equal(acp.state.flows.size, n0, 'no session created');
    const ok = await call(`${acp.platformUrl}${PATHS.authorize}${au.search}`);
    assert.equal(ok.status, 200);
  });

  test('wrong query at step 1 -> 400', async () => {
    const cases = [
      loginUrl(acp.platformUrl, { client_id: 'other' }),
      loginUrl(acp.platformUrl, { scope: 'openid' }),
      loginUrl(acp.platformUrl, { scope: undefined }),
      loginUrl(acp.platformUrl, { redirect_uri: 'http://evil.example/dex/callback' }),
      loginUrl(acp.platformUrl, { response_type: 'token' }),
      `${loginUrl(acp.platformUrl)}&extra=1`,
      `${loginUrl(acp.platformUrl)}&client_id=alauda-auth`,
    ];
    for (const u of cases) {
      const r = await call(u);
      assert.equal(r.status, 400, u);
      assert.match(r.body.message, /^invalid login parameters/, u);
    }
    // %20 or '+' for spaces: both decode to the same values
    const pct = `${acp.platformUrl}${PATHS.login}?client_id=alauda-auth&redirect_uri=${encodeURIComponent(`${acp.platformUrl}/dex/callback`)}&response_type=code&scope=${encodeURIComponent(SCOPE)}`;
    assert.equal((await call(pct)).status, 200);
  });

  test('bad step-4 requests: unknown req, no JSON content type, bad body, bad base64, undecryptable', async () => {
    const s = await session();
    const good = { account: USER, password: encryptPassword(s.pk.pubkey, s.pk.ts, PASSWORD) };
    const unknownReq = await step.signIn(acp, { req: 'nope', body: good });
    assert.deepEqual([unknownReq.status, unknownReq.body], [400, { message: 'invalid request id' }]);
    const noType = await call(`${acp.platformUrl}${PATHS.authorizeIdp('local')}?req=${s.req}`, { method: 'POST', body: JSON.stringify(good) });
    assert.deepEqual([noType.status, noType.body], [415, { message: 'content type must be application/json' }]);
    for (const body of ['not json', '[]', JSON.stringify({ account: USER }), JSON.stringify({ account: 1, password: 'AAAA' })]) {
      const r = await step.signIn(acp, { req: s.req, body });
      assert.deepEqual([r.status, r.body], [400, { message: 'invalid request body' }], body);
    }
    const d0 = acp.state.decryptCount;
    const urlSafe = good.password.replace(/\+/g, '-').replace(/\//g, '_');
    const unpadded = good.password.replace(/=+$/, '');
    for (const password of [`${good.password}\n`, urlSafe === good.password ? '!!!!' : urlSafe, unpadded === good.password ? 'AAA' : unpadded, '']) {
      const r = await step.signIn(acp, { req: s.req, body: { account: USER, password } });
      assert.deepEqual([r.status, r.body], [400, { message: 'invalid password encoding' }], password);
    }
    assert.equal(acp.state.decryptCount, d0, 'malformed base64 is refused before decryption');
    // well-formed base64 that does not decrypt to the expected JSON
    for (const password of [Buffer.alloc(256, 7).toString('base64'), Buffer.alloc(16, 1).toString('base64'),
      crypto.publicEncrypt({ key: s.pk.pubkey, padding: crypto.constants.RSA_PKCS1_PADDING }, Buffer.from(PASSWORD)).toString('base64')]) {
      const r = await step.signIn(acp, { req: s.req, body: { account: USER, password } });
      assert.deepEqual([r.status, r.body], [400, { message: 'invalid password encoding' }]);
    }
    assert.equal(acp.state.decryptCount, d0 + 3);
    // the ts was never presented: it still works
    const ok = await step.signIn(acp, { req: s.req, body: good });
    assert.equal(ok.status, 200, ok.text);
  });

  test('OAEP-encrypted password (wrong padding) -> 400 invalid password encoding', async () => {
    const s = await session();
    const oaep = crypto.publicEncrypt({ key: s.pk.pubkey, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING },
      Buffer.from(JSON.stringify({ ts: s.pk.ts, password: PASSWORD }))).toString('base64');
    const r = await step.signIn(acp, { req: s.req, body: { account: USER, password: oaep } });
    assert.deepEqual([r.status, r.body], [400, { message: 'invalid password encoding' }]);
  });

  test('unknown paths -> 404, wrong methods -> 405 (JSON message)', async () => {
    assert.deepEqual(await call(`${acp.platformUrl}/nope`).then((r) => [r.status, r.body]), [404, { message: 'not found' }]);
    assert.deepEqual(await call(`${acp.platformUrl}${PATHS.pubkey}`, { method: 'POST' }).then((r) => [r.status, r.body]), [405, { message: 'method not allowed' }]);
  });
});

describe('reference ACP server: options', () => {
  test('tamperState: redirect_url carries a state other than step 1\'s', async () => {
    const t = await startAcp({ tamperState: true });
    try {
      const { r, login, cookie } = await signIn({ srv: t });
      assert.equal(r.status, 200, r.text);
      const cs = codeAndState(r.body.redirect_url);
      assert.notEqual(cs.state, login.state);
      assert.match(cs.state, /^[A-Za-z0-9_-]{16,}$/);
      // the server itself refuses that state at step 5
      const r5 = await step.callback(t, { ...cs, cookie });
      assert.deepEqual([r5.status, r5.body], [400, { message: 'invalid state' }]);
    } finally {
      await t.close();
    }
  });

  test('users option; decryptor node (--security-revert=CVE-2023-46809) gives the same results', async () => {
    const n = await startAcp({ users: { 'li.lei': 'ä p@ss "x"' }, decryptor: 'node' });
    try {
      const ok = await signIn({ srv: n, user: 'li.lei', password: 'ä p@ss "x"' });
      assert.equal(ok.r.status, 200, ok.r.text);
      const r5 = await step.callback(n, { ...codeAndState(ok.r.body.redirect_url), cookie: ok.cookie });
      assert.equal(r5.status, 200, r5.text);
      assert.equal(decodeJwt(r5.body.access_token).claims.sub, 'li.lei');
      const bad = await signIn({ srv: n, user: 'admin', password: DEFAULT_USERS.admin });
      assert.deepEqual([bad.r.status, bad.r.body], [401, { message: 'invalid username or password' }]);
      const garbage = await step.signIn(n, { req: ok.req, body: { account: 'li.lei', password: Buffer.alloc(256, 7).toString('base64') } });
      assert.deepEqual([garbage.status, garbage.body], [400, { message: 'invalid password encoding' }]);
    } finally {
      await n.close();
    }
  });

  test('close() stops the decryption helper and is idempotent', async () => {
    const s = await startAcp();
    const pid = s.decryptorPid;
    assert.doesNotThrow(() => process.kill(pid, 0));
    await Promise.all([s.close(), s.close()]);
    assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' });
    await assert.rejects(fetch(`${s.platformUrl}${PATHS.pubkey}`));
  });
});

describe('reference ACP server: standalone', () => {
  test('prints one JSON line, writes --ready-file, serves, exits 0 on SIGTERM and SIGINT with the helper stopped', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'acp-'));
    try {
      for (const signal of ['SIGTERM', 'SIGINT']) {
        const readyFile = path.join(tmp, `ready-${signal}.json`);
        const child = spawn(process.execPath, [SERVER, '--ready-file', readyFile], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        child.stdout.on('data', (d) => { out += d; });
        child.stderr.on('data', (d) => { err += d; });
        const exited = new Promise((resolve) => child.on('exit', (code, sig) => resolve({ code, sig })));
        const deadline = Date.now() + 20_000;
        while (!out.includes('\n')) {
          assert.ok(Date.now() < deadline, `no ready line; stderr: ${err}`);
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
        const lines = out.split('\n').filter(Boolean);
        assert.equal(lines.length, 1);
        const info = JSON.parse(lines[0]);
        assert.match(info.platformUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
        assert.equal(info.platformUrl, `http://127.0.0.1:${info.port}`);
        assert.equal(fs.readFileSync(readyFile, 'utf8'), `${lines[0]}\n`);
        const r = await call(`${info.platformUrl}${PATHS.pubkey}`);
        assert.equal(r.status, 200);
        child.kill(signal);
        assert.deepEqual(await exited, { code: 0, sig: null }, err);
        assert.throws(() => process.kill(info.decryptorPid, 0), { code: 'ESRCH' }, 'helper stopped');
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  test('bad arguments -> exit 2 with usage', async () => {
    const child = spawn(process.execPath, [SERVER, '--bogus'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => { err += d; });
    const code = await new Promise((resolve) => child.on('exit', resolve));
    assert.equal(code, 2);
    assert.match(err, /usage: node tests\/acp\/server\.mjs/);
  });
});
