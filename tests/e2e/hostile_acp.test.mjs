// A hostile ACP platform (the five-call session login, scripted on 127.0.0.1)
// against the installed package: broken cookie attributes, cookies for other
// domains, weak, huge, malformed and degenerate public keys at step 3,
// redirects, oversized bodies and escapes in its messages.
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import {
  assertNoSecrets, json, loadGrantkit, runCli, show, startScriptedServer,
} from './helpers.mjs';
import {
  assertChildSurvived, assertHostileError, assertNoSecretText, assertOneCleanLine, assertWithin, fakeJwt, runInChild, timedRejection,
} from './hostile_helpers.mjs';

const FLOW = 'cpaas_oidc_auth_flow';
const USER = 'admin';
const PASSWORD = 'Acp-h0stile pass:+%&é';
const GOOD = 'good-session-cookie-value';
const EVIL = 'EVIL-foreign-cookie-value';

let gk;
let srv;
let other;
const keys = {};

before(async () => {
  gk = await loadGrantkit();
  srv = await startScriptedServer();
  other = await startScriptedServer();
  const spki = (k) => k.export({ type: 'spki', format: 'pem' });
  keys.good = spki(crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey);
  keys.weak = spki(crypto.generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey);
  const n = crypto.randomBytes(2048);
  n[0] |= 0x80;
  n[n.length - 1] |= 1;
  keys.huge = spki(crypto.createPublicKey({ key: { kty: 'RSA', n: n.toString('base64url'), e: 'AQAB' }, format: 'jwk' }));
  keys.exponentOne = spki(crypto.createPublicKey({ key: { kty: 'RSA', n: n.subarray(0, 256).toString('base64url'), e: 'AQ' }, format: 'jwk' }));
  keys.ec = spki(crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey);
});
after(async () => {
  await srv?.close();
  await other?.close();
});

const now = () => Math.floor(Date.now() / 1000);
const TOKENS = () => ({
  token_type: 'Bearer',
  access_token: fakeJwt({ sub: USER, exp: now() + 3600, jti: 'acp-at' }),
  id_token: fakeJwt({ sub: USER, exp: now() + 3600, aud: 'alauda-auth' }),
  refresh_token: 'RT-acp-hostile-0123456789',
  expire_at: now() + 3600,
  issued_at: now(),
});

/**
 * The five ACP calls. Step 5 needs the cookie `cpaas_oidc_auth_flow=GOOD`
 * (else 400 "invalid authentication session"). `override[step]` replaces a
 * step's handler.
 */
function scriptAcp({ setCookie = [`${FLOW}=${GOOD}; Path=/; HttpOnly; SameSite=Lax`], pubkey = keys.good, override = {} } = {}) {
  srv.script((req, res, body) => {
    const { pathname } = new URL(req.url, 'http://x');
    const step = {
      '/console-platform/api/v1/token/login': 1, '/dex/api/v1/authorize': 2, '/dex/pubkey': 3, '/dex/api/v1/authorize/local': 4, '/console-platform/api/v1/token/callback': 5,
    }[pathname];
    if (override[step]) return override[step](req, res, body);
    switch (step) {
      case 1: return json(res, 200, { auth_url: `${srv.origin}/dex/auth?client_id=alauda-auth&state=ST-1`, state: 'ST-1', logout_url: `${srv.origin}/dex/logout` });
      case 2: return json(res, 200, { req: 'REQ-1' }, setCookie.length ? { 'set-cookie': setCookie } : {});
      case 3: return json(res, 200, { ts: `${Date.now()}000000001`, pubkey });
      case 4: return json(res, 200, { session_state: 's', redirect_url: `${srv.origin}/dex/callback?code=CODE-1&state=ST-1` });
      case 5: {
        const cookies = (req.headers.cookie ?? '').split(';').map((c) => c.trim());
        if (!cookies.includes(`${FLOW}=${GOOD}`)) return json(res, 400, { message: 'invalid authentication session' });
        return json(res, 200, TOKENS());
      }
      default: return json(res, 404, { message: 'not found' });
    }
  });
}

function login(extra = {}) {
  return new gk.AcpLogin({ platformUrl: srv.origin, username: USER, password: PASSWORD, timeoutMs: 5000, ...extra });
}

const stepsHit = () => srv.hits.map((h) => new URL(h.url, 'http://x').pathname);

/** AcpLogin.getToken in a child process against the scripted platform. */
function childLogin() {
  return runInChild(`
    const ts = await new gk.AcpLogin({ platformUrl: env.url, username: env.user, password: env.password, timeoutMs: 5000 }).getToken();
    return { access_token: ts.access_token, refresh_token: ts.refresh_token };
  `, { env: { url: srv.origin, user: USER, password: PASSWORD } });
}

describe('cookies', () => {
  test('step 2 Set-Cookie with "Expires=ééa" (UTF-8 bytes): no panic, the bad Expires is ignored, the login goes on', async () => {
    // 'Ã©' in a header string goes out as the bytes C3 A9: UTF-8 for é.
    scriptAcp({ setCookie: [`${FLOW}=${GOOD}; Path=/; Expires=\u00c3\u00a9\u00c3\u00a9a`] });
    const result = assertChildSurvived(await childLogin());
    assert.equal(result.ok, true, JSON.stringify(result.error));
    assert.equal(result.value.refresh_token, 'RT-acp-hostile-0123456789');
    assert.equal(srv.hits.at(-1).headers.cookie, `${FLOW}=${GOOD}`);
  });

  test('step 2 Set-Cookie with "Expires=é" (a lone Latin-1 byte) and a multi-byte Max-Age: no panic, the login goes on', async () => {
    scriptAcp({ setCookie: [`${FLOW}=${GOOD}; Path=/; Expires=\u00e9\u00e9a; Max-Age=\u00c3\u00a9\u00e9`] });
    const result = assertChildSurvived(await childLogin());
    assert.equal(result.ok, true, JSON.stringify(result.error));
    assert.equal(srv.hits.at(-1).headers.cookie, `${FLOW}=${GOOD}`);
  });

  test('a same-name cookie with Domain=evil.example next to the platform\'s: ignored; the login works with the platform\'s cookie', async () => {
    scriptAcp({ setCookie: [`${FLOW}=${GOOD}; Path=/; HttpOnly`, `${FLOW}=${EVIL}; Domain=evil.example; Path=/`, `other=${EVIL}; Domain=.evil.example; Path=/`] });
    const ts = await login().getToken();
    assert.equal(ts.refresh_token, 'RT-acp-hostile-0123456789');
    const cookie5 = srv.hits.at(-1).headers.cookie ?? '';
    assert.equal(cookie5, `${FLOW}=${GOOD}`);
    for (const h of srv.hits) assert.ok(!(h.headers.cookie ?? '').includes(EVIL), `${h.url} carried the foreign cookie`);
  });

  test('only a cookie for Domain=evil.example -> ACP_SESSION_LOST at step 5; the foreign cookie is never sent', async () => {
    scriptAcp({ setCookie: [`${FLOW}=${EVIL}; Domain=evil.example; Path=/`] });
    const { err } = await timedRejection(login().getToken());
    assertHostileError(err, 'ACP_SESSION_LOST', { step: 5 });
    for (const h of srv.hits) assert.ok(!(h.headers.cookie ?? '').includes(EVIL), `${h.url} carried the foreign cookie`);
    assertNoSecrets(err, [PASSWORD]);
  });

  test('CLI: only a foreign-domain cookie -> exit 1, one clean ACP_SESSION_LOST line, no password', async () => {
    scriptAcp({ setCookie: [`${FLOW}=${EVIL}; Domain=evil.example; Path=/`] });
    const r = await runCli(['acp', '--platform-url', srv.origin, '--username', USER, '--password-env', 'ACP_PW', '--timeout', '5000'], { env: { ACP_PW: PASSWORD } });
    assert.equal(r.code, 1, show(r));
    assert.ok(r.stderr.startsWith('grantkit: ACP_SESSION_LOST: '), show(r));
    assertOneCleanLine(r.stderr);
    assertNoSecretText(r.stderr + r.stdout, [PASSWORD], 'the CLI output');
  });
});

describe('hostile public keys at step 3 (the password is never sent)', () => {
  const cases = [
    ['a 1024-bit RSA key', () => ({ pubkey: keys.weak })],
    ['a 16384-bit RSA key', () => ({ pubkey: keys.huge })],
    ['an RSA key with public exponent 1 (encryption would be the identity)', () => ({ pubkey: keys.exponentOne })],
    ['an EC P-256 key', () => ({ pubkey: keys.ec })],
    ['a PEM with a garbage body', () => ({ pubkey: '-----BEGIN PUBLIC KEY-----\nAAAA!!!!not base64 at all\u001b[2J\n-----END PUBLIC KEY-----\n' })],
    ['a truncated PEM', () => ({ pubkey: keys.good.slice(0, 200) })],
    ['pubkey_encode only, base64 of a 1024-bit PEM', () => ({ pubkey_encode: Buffer.from(keys.weak).toString('base64') })],
  ];
  for (const [what, fields] of cases) {
    test(`${what} -> ACP_BAD_PUBLIC_KEY, step 3; step 4 never called`, async () => {
      scriptAcp({ override: { 3: (_req, res) => json(res, 200, { ts: '1700000000000000001', ...fields() }) } });
      const r = await runInChild(`
        await new gk.AcpLogin({ platformUrl: env.url, username: env.user, password: env.password, timeoutMs: 5000 }).getToken();
      `, { env: { url: srv.origin, user: USER, password: PASSWORD } });
      const result = assertChildSurvived(r);
      assert.equal(result.ok, false);
      assert.equal(result.error.code, 'ACP_BAD_PUBLIC_KEY', JSON.stringify(result.error));
      assert.equal(result.error.step, 3);
      assertWithin(r.ms, 10_000, 'the child');
      assert.deepEqual(stepsHit(), ['/console-platform/api/v1/token/login', '/dex/api/v1/authorize', '/dex/pubkey']);
      assertNoSecretText(result.error.text, [PASSWORD], 'the error');
    });
  }
});

describe('other hostile platform answers', () => {
  test('step 1 answers 302 to another server -> UNEXPECTED_REDIRECT; the other server gets nothing', async () => {
    scriptAcp({ override: { 1: (_req, res) => { res.writeHead(302, { location: other.url('/login') }); res.end(); } } });
    other.script((_req, res) => json(res, 200, {}));
    const { err } = await timedRejection(login().getToken());
    assertHostileError(err, 'UNEXPECTED_REDIRECT', { status: 302, step: 1 });
    assert.equal(other.hits.length, 0);
  });

  test('step 2 streams an endless body -> RESPONSE_TOO_LARGE, step 2', async () => {
    scriptAcp({
      override: {
        2: (_req, res) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write('{"req":"');
          let closed = false;
          let sent = 0;
          res.on('close', () => { closed = true; });
          res.on('error', () => {});
          const chunk = 'R'.repeat(16 * 1024);
          const go = () => {
            while (!closed && sent < 64 * 1024 * 1024) { sent += chunk.length; if (!res.write(chunk)) { res.once('drain', go); return; } }
            if (!closed) res.end();
          };
          go();
        },
      },
    });
    const { err, ms } = await timedRejection(login({ timeoutMs: 20_000 }).getToken());
    assertHostileError(err, 'RESPONSE_TOO_LARGE', { step: 2 });
    assertWithin(ms, 10_000, 'the rejection');
  });

  test('step 2 resets the connection -> NETWORK_ERROR, step 2', async () => {
    scriptAcp({ override: { 2: (req) => { req.socket.destroy(); } } });
    const { err } = await timedRejection(login().getToken());
    assertHostileError(err, 'NETWORK_ERROR', { step: 2 });
    assertNoSecrets(err, [PASSWORD]);
  });

  test('step 3 never answers, timeoutMs 600 -> TIMEOUT within the limit, step 3', async () => {
    scriptAcp({ override: { 3: () => { /* never answer */ } } });
    const { err, ms } = await timedRejection(login({ timeoutMs: 600 }).getToken());
    assertHostileError(err, 'TIMEOUT', { step: 3 });
    assertWithin(ms, 600 + 2000, 'the rejection');
  });

  test('step 4 refuses with a message full of escapes that echoes the password -> ACP_INVALID_CREDENTIALS, step 4, message clean, no password', async () => {
    scriptAcp({ override: { 4: (_req, res) => json(res, 401, { message: `invalid username or password\u001b[2J\r\n\u202e${PASSWORD}\u200b` }) } });
    const { err } = await timedRejection(login().getToken());
    assertHostileError(err, 'ACP_INVALID_CREDENTIALS', { step: 4, status: 401 });
    assertNoSecrets(err, [PASSWORD]);
  });

  test('step 5 access_token with CR/LF -> INVALID_TOKEN_RESPONSE, step 5', async () => {
    scriptAcp({ override: { 5: (_req, res) => json(res, 200, { ...TOKENS(), access_token: 'AT-acp\r\nSet-Cookie: x=1' }) } });
    const { err } = await timedRejection(login().getToken());
    assertHostileError(err, 'INVALID_TOKEN_RESPONSE', { step: 5 });
    assert.ok(!err.message.includes('AT-acp'));
  });

  test('step 5 refresh_token with ESC -> INVALID_TOKEN_RESPONSE, step 5', async () => {
    scriptAcp({ override: { 5: (_req, res) => json(res, 200, { ...TOKENS(), refresh_token: 'RT\u001b[8mhidden' }) } });
    const { err } = await timedRejection(login().getToken());
    assertHostileError(err, 'INVALID_TOKEN_RESPONSE', { step: 5 });
  });
});
