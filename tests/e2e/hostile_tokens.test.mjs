// Hostile token and error contents (127.0.0.1) against the installed package:
// tokens that are not RFC 6749 VSCHAR, server text full of terminal escapes,
// bidi and zero-width characters (escaped and bounded in err.message, kept
// verbatim in structured fields), and servers that echo the credentials back
// in other encodings (never in the error).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  assertNoSecrets, basicHeader, errorText, fixture, formEncode, json, loadGrantkit, runCli, show, startScriptedServer,
} from './helpers.mjs';
import {
  assertHostileError, assertNoSecretText, assertNoTrapOnTerminal, assertOneCleanLine, timedRejection,
} from './hostile_helpers.mjs';

const ID = 'tokens-client';
const SECRET = 'tok3n s3cret:+%&é/x';
const TOKEN = 'AT-TOKENS-abcdef1234567890';
// Every kind of character that must not reach a terminal raw.
const NASTY = 'A\u0000B\u0007C\u001b[2J\u001b]0;pwned\u0007D\r\nE\u007fF\u0085G\u009bH\u202eI\u2066J\u200bK\ufeffL\u061cM\u2060N';

let gk;
let srv;

before(async () => {
  gk = await loadGrantkit();
  srv = await startScriptedServer();
});
after(async () => { await srv?.close(); });

function cc(extra = {}) {
  return new gk.ClientCredentials({ tokenEndpoint: srv.url(), clientId: ID, clientSecret: SECRET, timeoutMs: 5000, ...extra });
}

function tokenResponse(extra) {
  srv.script((_req, res) => json(res, 200, { access_token: TOKEN, token_type: 'Bearer', expires_in: 300, ...extra }));
}

/** Lower-case-hex percent-encoding of every byte but unreserved characters; spaces as %20. */
function lowerPercent(s) {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

describe('tokens must be VSCHAR (%x20-7E)', () => {
  const cases = [
    ['NUL', 'AT-\u0000-nul-token-value'],
    ['CR/LF', 'AT-line1\r\nSet-Cookie: x=y'],
    ['ESC', 'AT-\u001b[31mred-token'],
    ['é', 'AT-caf\u00e9-token-value'],
    ['DEL', 'AT-del\u007f-token-value'],
    ['U+202E', 'AT-\u202e-bidi-token'],
  ];
  for (const [what, bad] of cases) {
    test(`access_token with ${what} -> INVALID_TOKEN_RESPONSE, the token not in the message`, async () => {
      srv.script((_req, res) => json(res, 200, { access_token: bad, token_type: 'Bearer' }));
      const { err } = await timedRejection(cc().getToken());
      assertHostileError(err, 'INVALID_TOKEN_RESPONSE', { status: 200 });
      assert.ok(!err.message.includes(bad.slice(3, 8)), `the token is in the message: ${err.message}`);
      assertNoSecrets(err, [SECRET]);
    });
  }

  test('refresh_token with CR/LF -> INVALID_TOKEN_RESPONSE', async () => {
    tokenResponse({ refresh_token: 'RT-one\r\nRT-two' });
    const { err } = await timedRejection(cc().getToken());
    assertHostileError(err, 'INVALID_TOKEN_RESPONSE', { status: 200 });
    assert.ok(!err.message.includes('RT-one'));
  });

  test('id_token with ESC -> INVALID_TOKEN_RESPONSE', async () => {
    tokenResponse({ id_token: 'eyJhbGciOiJub25lIn0.\u001b[8m.x' });
    const { err } = await timedRejection(cc().getToken());
    assertHostileError(err, 'INVALID_TOKEN_RESPONSE', { status: 200 });
  });

  test('an access_token of every VSCHAR (space to ~) is accepted verbatim', async () => {
    let all = '';
    for (let c = 0x20; c <= 0x7e; c += 1) all += String.fromCharCode(c);
    tokenResponse({ access_token: all });
    const ts = await cc().getToken();
    assert.equal(ts.access_token, all);
  });
});

describe('server text is escaped and bounded in err.message, verbatim in fields', () => {
  test('error_description with ESC, CR/LF, C1, DEL, bidi and zero-width -> OAUTH_ERROR; message escaped as \\u{..}; field verbatim', async () => {
    const body = { error: 'invalid_grant', error_description: NASTY };
    srv.script((_req, res) => json(res, 400, body));
    const { err } = await timedRejection(cc().getToken());
    assertHostileError(err, 'OAUTH_ERROR', { status: 400, error: 'invalid_grant', error_description: NASTY, body });
    assert.ok(err.message.includes('\\u{1b}'), `ESC is not written as \\u{1b}: ${err.message}`);
    assert.ok(err.message.includes('\\u{202e}'), `U+202E is not written as \\u{202e}: ${err.message}`);
  });

  test('an unregistered error code with escapes -> OAUTH_ERROR; message escaped; .error and .body verbatim', async () => {
    const code = 'weird_\u001b[5m\u202eerror\r\n';
    const body = { error: code, error_description: 'x' };
    srv.script((_req, res) => json(res, 400, body));
    const { err } = await timedRejection(cc().getToken());
    assertHostileError(err, 'OAUTH_ERROR', { status: 400, error: code, body });
  });

  test('an OAuth error in a 200 with escapes -> OAUTH_ERROR, status 200, message escaped', async () => {
    srv.script((_req, res) => json(res, 200, { error: 'invalid_scope', error_description: NASTY, access_token: TOKEN, token_type: 'Bearer' }));
    const { err } = await timedRejection(cc().getToken());
    assertHostileError(err, 'OAUTH_ERROR', { status: 200, error: 'invalid_scope', error_description: NASTY });
    assert.ok(!err.message.includes(TOKEN));
  });

  test('a 900 KB error_description -> message under 2 KB; .error_description kept whole', async () => {
    const long = `${'d'.repeat(450 * 1024)}\u001b${'e'.repeat(450 * 1024)}`;
    srv.script((_req, res) => json(res, 400, { error: 'invalid_request', error_description: long }));
    const { err } = await timedRejection(cc().getToken());
    assertHostileError(err, 'OAUTH_ERROR', { status: 400, error: 'invalid_request' });
    assert.ok(err.message.length < 2048, `message of ${err.message.length} characters`);
    assert.equal(err.error_description, long);
  });

  test('a 900 KB unregistered error code -> message under 2 KB', async () => {
    const long = `x${'\u202e'.repeat(300 * 1024)}`;
    srv.script((_req, res) => json(res, 400, { error: long }));
    const { err } = await timedRejection(cc().getToken());
    assertHostileError(err, 'OAUTH_ERROR', { status: 400, error: long });
    assert.ok(err.message.length < 2048, `message of ${err.message.length} characters`);
  });

  test('error_uri "javascript:" with escapes -> OAUTH_ERROR, message clean, .error_uri verbatim', async () => {
    const uri = 'javascript:alert(1)//\u001b]8;;http://evil\u0007\u202e';
    srv.script((_req, res) => json(res, 400, { error: 'invalid_client', error_uri: uri }));
    const { err } = await timedRejection(cc().getToken());
    assertHostileError(err, 'OAUTH_ERROR', { status: 400, error: 'invalid_client', error_uri: uri });
  });

  test('token_type with escapes -> UNSUPPORTED_TOKEN_TYPE, message escaped', async () => {
    tokenResponse({ token_type: `mac\u001b[2J\u202e\u200b${'\u0085'.repeat(20)}` });
    const { err } = await timedRejection(cc().getToken());
    assertHostileError(err, 'UNSUPPORTED_TOKEN_TYPE');
    assert.ok(!err.message.includes(TOKEN));
  });

  test('a 500 JSON body that is not an OAuth error, full of escapes -> HTTP_ERROR, status 500, message escaped and bounded', async () => {
    srv.script((_req, res) => json(res, 500, { message: NASTY.repeat(5000) }));
    const { err } = await timedRejection(cc().getToken());
    assertHostileError(err, 'HTTP_ERROR', { status: 500 });
    assert.ok(err.message.length < 2048, `message of ${err.message.length} characters`);
  });

  test('a 502 HTML page full of escapes -> RESPONSE_NOT_JSON, status 502, the excerpt escaped', async () => {
    srv.script((_req, res) => { res.writeHead(502, { 'content-type': 'text/html' }); res.end(`<h1>Bad${NASTY}Gateway</h1>`); });
    const { err } = await timedRejection(cc().getToken());
    assertHostileError(err, 'RESPONSE_NOT_JSON', { status: 502 });
  });

  test('CLI: an error_description full of escapes -> exit 2, one clean line naming the error', async () => {
    srv.script((_req, res) => json(res, 400, { error: 'invalid_client', error_description: NASTY }));
    const r = await runCli(['client-credentials', '--token-endpoint', srv.url(), '--client-id', ID, '--client-secret-env', 'S'], { env: { S: SECRET } });
    assert.equal(r.code, 2, show(r));
    assert.equal(r.stdout, '');
    assert.ok(r.stderr.startsWith('grantkit: invalid_client: '), show(r));
    assertOneCleanLine(r.stderr);
    assertNoTrapOnTerminal(r.stderr, 'stderr');
    assertNoSecretText(r.stderr, [SECRET], 'stderr');
  });

  test('CLI: an unregistered error code with ESC and CR/LF -> exit 2, one clean line', async () => {
    srv.script((_req, res) => json(res, 400, { error: 'evil\u001b[2J\r\nFAKE: line', error_description: 'd' }));
    const r = await runCli(['client-credentials', '--token-endpoint', srv.url(), '--client-id', ID, '--client-secret-env', 'S'], { env: { S: SECRET } });
    assert.equal(r.code, 2, show(r));
    assertOneCleanLine(r.stderr);
  });
});

describe('echoed credentials never reach the error', () => {
  // Cutting a short secret out of server text that merely happens to hold it
  // leaves a marker at its place, and the text around it gives it away.
  test('a short password inside unrelated server text is not disclosed by a redaction marker in its place', async () => {
    srv.script((_req, res) => json(res, 400, { error: 'invalid_grant', error_description: 'Account locked since 2024-05-01T10:00:00Z' }));
    const { err } = await timedRejection(new gk.PasswordGrant({
      tokenEndpoint: srv.url(), clientId: ID, username: 'u', password: '2024', timeoutMs: 5000,
    }).getToken());
    assertHostileError(err, 'OAUTH_ERROR', { status: 400, error: 'invalid_grant' });
    assert.ok(!err.message.includes('2024'), `the password is in the message: ${err.message}`);
    assert.doesNotMatch(err.message, /\[redacted\]-05-01T10:00:00Z/, 'the marker sits where the password was: a reader recovers "2024"');
  });

  test('a client secret that is a substring of the Content-Type is not disclosed by a marker in it', async () => {
    srv.script((_req, res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end('<p>hi</p>'); });
    const { err } = await timedRejection(new gk.ClientCredentials({
      tokenEndpoint: srv.url(), clientId: ID, clientSecret: 'html', timeoutMs: 5000,
    }).getToken());
    assertHostileError(err, 'RESPONSE_NOT_JSON', { status: 200 });
    assert.doesNotMatch(err.message, /text\/\[redacted\]/, `the marker gives the secret away: ${err.message}`);
  });

  test('a server echoing the Basic header value (base64 of form(id):form(secret)) -> not in the error', async () => {
    srv.script((req, res) => json(res, 401, {
      error: 'invalid_client', error_description: `bad credentials: ${req.headers.authorization}`, got: req.headers.authorization,
    }));
    const { err } = await timedRejection(cc().getToken());
    assertHostileError(err, 'OAUTH_ERROR', { status: 401, error: 'invalid_client' });
    const b64 = basicHeader(ID, SECRET).slice('Basic '.length);
    assert.ok(!errorText(err).includes(b64), 'the Basic credentials are in the error');
    assertNoSecrets(err, [SECRET]);
  });

  test('a server echoing the secret percent-encoded with lower-case hex -> not in the error', async () => {
    const echoed = lowerPercent(SECRET);
    assert.notEqual(echoed, encodeURIComponent(SECRET));
    srv.script((_req, res) => json(res, 400, { error: 'invalid_client', error_description: `client_secret=${echoed} is wrong`, echo: echoed }));
    const { err } = await timedRejection(cc({ clientAuth: 'post' }).getToken());
    assertHostileError(err, 'OAUTH_ERROR', { status: 400, error: 'invalid_client' });
    assert.ok(!errorText(err).includes(echoed), 'the lower-case-hex secret is in the error');
    assertNoSecrets(err, [SECRET]);
  });

  test('a server echoing the secret with %20 for spaces (upper-case hex) -> not in the error', async () => {
    const echoed = formEncode(SECRET).replaceAll('+', '%20');
    srv.script((_req, res) => { res.writeHead(400, { 'content-type': 'text/plain' }); res.end(`secret ${echoed} refused`); });
    const { err } = await timedRejection(cc({ clientAuth: 'post' }).getToken());
    assertHostileError(err, 'RESPONSE_NOT_JSON', { status: 400 });
    assert.ok(!errorText(err).includes(echoed), 'the %20-encoded secret is in the error');
    assertNoSecrets(err, [SECRET]);
  });

  test('a server echoing a password grant\'s password in lower-case hex -> not in the error', async () => {
    const password = 'p@ss word+%&é-zz';
    srv.script((_req, res) => json(res, 400, { error: 'invalid_grant', error_description: `password=${lowerPercent(password)}` }));
    const { err } = await timedRejection(new gk.PasswordGrant({
      tokenEndpoint: srv.url(), clientId: ID, clientSecret: SECRET, username: 'u', password, timeoutMs: 5000,
    }).getToken());
    assertHostileError(err, 'OAUTH_ERROR', { status: 400, error: 'invalid_grant' });
    assert.ok(!errorText(err).includes(lowerPercent(password)), 'the lower-case-hex password is in the error');
    assertNoSecrets(err, [SECRET, password]);
  });

  test('private_key_jwt: a server echoing the signed client assertion -> not in the error', async () => {
    let assertion;
    srv.script((_req, res, body) => {
      assertion = new URLSearchParams(body).get('client_assertion');
      json(res, 400, { error: 'invalid_client', error_description: `assertion ${assertion} rejected`, echo: body });
    });
    const { err } = await timedRejection(new gk.ClientCredentials({
      tokenEndpoint: srv.url(), clientId: ID, clientAuth: 'private_key_jwt', privateKey: fixture('rsa2048.pkcs8.pem'), timeoutMs: 5000,
    }).getToken());
    assertHostileError(err, 'OAUTH_ERROR', { status: 400, error: 'invalid_client' });
    assert.ok(assertion && assertion.split('.').length === 3, 'a client assertion was sent');
    const text = errorText(err);
    assert.ok(!text.includes(assertion), 'the client assertion is in the error');
    assert.ok(!text.includes(assertion.split('.')[2]), 'the assertion\'s signature is in the error');
  });

  test('jwt-bearer: a server echoing the assertion (raw and form-encoded) -> not in the error', async () => {
    let assertion;
    srv.script((_req, res, body) => {
      assertion = new URLSearchParams(body).get('assertion');
      res.writeHead(400, { 'content-type': 'text/html' });
      res.end(`<p>${assertion}</p><pre>${body}</pre>`);
    });
    const { err } = await timedRejection(new gk.JwtBearer({
      tokenEndpoint: srv.url(), key: fixture('rsa2048.pkcs8.pem'), issuer: 'svc-1', timeoutMs: 5000,
    }).getToken());
    assertHostileError(err, 'RESPONSE_NOT_JSON', { status: 400 });
    assert.ok(assertion && assertion.split('.').length === 3, 'an assertion was sent');
    const text = errorText(err);
    assert.ok(!text.includes(assertion.split('.')[2].slice(0, 40)), 'the assertion\'s signature is in the error');
    assert.ok(!text.includes(assertion.split('.')[1].slice(0, 40)), 'the assertion\'s claims are in the error');
  });
});
