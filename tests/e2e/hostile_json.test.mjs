// Hostile JSON from a token endpoint (127.0.0.1) against the installed
// package: nesting 10,000 deep, number edge cases, __proto__, duplicate keys,
// a UTF-8 BOM, invalid UTF-8 and hostile member names. Cases that could trap
// the wasm module run in a child process, which must exit cleanly.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  assertNoSecrets, json, loadGrantkit, runCli, show, startScriptedServer,
} from './helpers.mjs';
import {
  assertChildError, assertChildSurvived, assertCleanText, assertHostileError, assertNoSecretText, assertNoTrapOnTerminal, assertOneCleanLine,
  runInChild, timedRejection,
} from './hostile_helpers.mjs';

const ID = 'json-client';
const SECRET = 'js0n-s3cret:+%&é';
const TOKEN = 'AT-JSON-abcdef1234567890';

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

/** Answer every request with these exact bytes (a string or a Buffer). */
function answer(status, body, contentType = 'application/json') {
  srv.script((_req, res) => {
    const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
    res.writeHead(status, { 'content-type': contentType, 'content-length': String(bytes.length) });
    res.end(bytes);
  });
}

/** getToken of a ClientCredentials for the scripted server, in a child process. */
function childGetToken() {
  return runInChild(`
    const ts = await new gk.ClientCredentials({ tokenEndpoint: env.url, clientId: env.id, clientSecret: env.secret, timeoutMs: 5000 }).getToken();
    return { access_token: ts.access_token, expires_in: ts.expires_in, expires_at: ts.expires_at, raw: ts.raw,
      rawProto: Object.getPrototypeOf(ts.raw) === Object.prototype, rawOwnProto: Object.prototype.hasOwnProperty.call(ts.raw, '__proto__'),
      rawProtoValue: Object.getOwnPropertyDescriptor(ts.raw, '__proto__')?.value, now: Math.floor(Date.now() / 1000) };
  `, { env: { url: srv.url(), id: ID, secret: SECRET } });
}

const nested = (depth, open = '[', close = ']', inner = '') => `${open.repeat(depth)}${inner}${close.repeat(depth)}`;

describe('deep nesting', () => {
  test('10,000 nested arrays in a vendor member of a 200 -> RESPONSE_NOT_JSON, status 200, no trap', async () => {
    answer(200, `{"access_token":"${TOKEN}","token_type":"Bearer","ext":${nested(10_000)}}`);
    const e = assertChildError(await childGetToken(), 'RESPONSE_NOT_JSON', { status: 200 });
    assertNoSecretText(e.text, [SECRET], 'the error');
    assert.ok(!e.message.includes(TOKEN), 'the token is in the message');
  });

  test('a body that is 10,000 nested arrays -> RESPONSE_NOT_JSON, status 200, no trap', async () => {
    answer(200, nested(10_000));
    assertChildError(await childGetToken(), 'RESPONSE_NOT_JSON', { status: 200 });
  });

  test('an OAuth error body (400) with 10,000 nested objects -> RESPONSE_NOT_JSON, status 400, no trap', async () => {
    answer(400, `{"error":"invalid_request","x":${nested(10_000, '{"a":', '}', '1')}}`);
    const e = assertChildError(await childGetToken(), 'RESPONSE_NOT_JSON', { status: 400 });
    assert.ok(e.message.length < 2048, `message of ${e.message.length} characters`);
  });

  test('CLI: 100,000 nested arrays (200 KB) -> exit 1, one clean RESPONSE_NOT_JSON line', async () => {
    answer(200, nested(100_000));
    const r = await runCli(['client-credentials', '--token-endpoint', srv.url(), '--client-id', ID, '--client-secret-env', 'S'], { env: { S: SECRET } });
    assert.equal(r.code, 1, show(r));
    assert.ok(r.stderr.startsWith('grantkit: RESPONSE_NOT_JSON: '), show(r));
    assertOneCleanLine(r.stderr);
    assertNoTrapOnTerminal(r.stderr, 'stderr');
    assertNoSecretText(r.stderr + r.stdout, [SECRET], 'the CLI output');
  });
});

describe('numbers', () => {
  test('expires_in 600.0 -> accepted as 600; expires_at = now + 600', async () => {
    answer(200, `{"access_token":"${TOKEN}","token_type":"Bearer","expires_in":600.0}`);
    const r = assertChildSurvived(await childGetToken());
    assert.equal(r.ok, true, JSON.stringify(r.error));
    assert.equal(r.value.expires_in, 600);
    assert.ok(Math.abs(r.value.expires_at - (r.value.now + 600)) <= 2, `expires_at ${r.value.expires_at}, now ${r.value.now}`);
    assert.equal(r.value.raw.expires_in, 600);
  });

  test('expires_in 6.0e2 -> accepted as 600', async () => {
    answer(200, `{"access_token":"${TOKEN}","token_type":"Bearer","expires_in":6.0e2}`);
    const r = assertChildSurvived(await childGetToken());
    assert.equal(r.ok, true, JSON.stringify(r.error));
    assert.equal(r.value.expires_in, 600);
  });

  test('expires_in 1.5 -> INVALID_TOKEN_RESPONSE, the token not in the message', async () => {
    answer(200, `{"access_token":"${TOKEN}","token_type":"Bearer","expires_in":1.5}`);
    const { err } = await timedRejection(cc().getToken());
    assertHostileError(err, 'INVALID_TOKEN_RESPONSE', { status: 200 });
    assertNoSecrets(err, [SECRET], { messageOnly: [TOKEN] });
  });

  // Decided: a number beyond the range of a double makes the body one that
  // grantkit's JSON reader refuses (serde_json: "number out of range"), so
  // it is RESPONSE_NOT_JSON, and a 2xx body is never quoted (README, Errors).
  test('expires_in 1e400 (beyond f64) -> RESPONSE_NOT_JSON, nothing of the body quoted, no trap', async () => {
    answer(200, `{"access_token":"${TOKEN}","token_type":"Bearer","expires_in":1e400}`);
    const e = assertChildError(await childGetToken(), 'RESPONSE_NOT_JSON', { status: 200 });
    assert.ok(!e.message.includes(TOKEN), 'the token is in the message');
  });

  test('expires_in -0 -> accepted as 0', async () => {
    answer(200, `{"access_token":"${TOKEN}","token_type":"Bearer","expires_in":-0}`);
    const r = assertChildSurvived(await childGetToken());
    assert.equal(r.ok, true, JSON.stringify(r.error));
    assert.ok(Object.is(r.value.expires_in, 0), `expires_in ${r.value.expires_in}`);
  });

  test('expires_in -1 -> INVALID_TOKEN_RESPONSE', async () => {
    answer(200, `{"access_token":"${TOKEN}","token_type":"Bearer","expires_in":-1}`);
    const { err } = await timedRejection(cc().getToken());
    assertHostileError(err, 'INVALID_TOKEN_RESPONSE', { status: 200 });
  });

  test('expires_in 2^64 -> INVALID_TOKEN_RESPONSE, no trap', async () => {
    answer(200, `{"access_token":"${TOKEN}","token_type":"Bearer","expires_in":18446744073709551616}`);
    assertChildError(await childGetToken(), 'INVALID_TOKEN_RESPONSE', { status: 200 });
  });

  test('expires_in 2^64-1 through a TokenSource: no trap, expiry not wrapped into the past, then served from the cache', async () => {
    srv.script((_req, res) => json(res, 200, `{"access_token":"${TOKEN}","token_type":"Bearer","expires_in":18446744073709551615}`));
    const r = await runInChild(`
      const src = new gk.TokenSource(new gk.ClientCredentials({ tokenEndpoint: env.url, clientId: env.id, clientSecret: env.secret, timeoutMs: 5000 }));
      const a = await src.getToken();
      const b = await src.getToken();
      return { token: a.access_token, same: a === b, expires_at: a.expires_at, now: Math.floor(Date.now() / 1000) };
    `, { env: { url: srv.url(), id: ID, secret: SECRET } });
    const result = assertChildSurvived(r);
    if (result.ok) {
      assert.equal(result.value.token, TOKEN);
      assert.ok(result.value.expires_at === undefined || result.value.expires_at > result.value.now, `expires_at ${result.value.expires_at} is in the past`);
      assert.equal(result.value.same, true, 'the second getToken made a new request: the expiry wrapped');
      assert.equal(srv.hits.length, 1);
    } else {
      assert.equal(result.error.code, 'INVALID_TOKEN_RESPONSE', JSON.stringify(result.error));
    }
  });

  test('an integer above 2^53 in a vendor member: raw keeps every member, the big one a JS number (as JSON.parse)', async () => {
    const body = `{"access_token":"${TOKEN}","token_type":"Bearer","expires_in":300,"big":123456789012345678901234567890,"ext_id":9007199254740993,"tenant":"t-1"}`;
    answer(200, body);
    const r = assertChildSurvived(await childGetToken());
    assert.equal(r.ok, true, JSON.stringify(r.error));
    assert.equal(r.value.access_token, TOKEN);
    assert.deepEqual(r.value.raw, JSON.parse(body));
  });
});

describe('keys', () => {
  test('a "__proto__" member becomes an own property of raw; raw\'s prototype stays Object.prototype', async () => {
    answer(200, `{"access_token":"${TOKEN}","token_type":"Bearer","__proto__":{"polluted":"yes","access_token":"x"},"n":1}`);
    const r = assertChildSurvived(await childGetToken());
    assert.equal(r.ok, true, JSON.stringify(r.error));
    assert.equal(r.value.rawProto, true, 'raw\'s prototype was changed');
    assert.equal(r.value.rawOwnProto, true, '__proto__ is not an own property of raw');
    assert.deepEqual(r.value.rawProtoValue, { polluted: 'yes', access_token: 'x' });
    assert.equal(r.value.raw.n, 1);
    assert.equal(r.value.access_token, TOKEN);
  });

  test('duplicate keys: the last wins, in the token set and in raw (as JSON.parse)', async () => {
    const body = `{"access_token":"first-token-value","token_type":"Bearer","scope":"a","access_token":"${TOKEN}","scope":"b c","x":1,"x":2}`;
    answer(200, body);
    const r = assertChildSurvived(await childGetToken());
    assert.equal(r.ok, true, JSON.stringify(r.error));
    assert.equal(r.value.access_token, TOKEN);
    assert.deepEqual(r.value.raw, JSON.parse(body));
  });

  test('member names with ESC, CR/LF and bidi in a 200 without access_token -> INVALID_TOKEN_RESPONSE, message escaped', async () => {
    answer(200, JSON.stringify({ '\u001b[2J\u001b]0;pwned\u0007': 1, 'a\r\nb': 2, '\u202eevil\u2066': 3, '\u200bzw\ufeff': 4, token_type: 'Bearer' }));
    const { err } = await timedRejection(cc().getToken());
    assertHostileError(err, 'INVALID_TOKEN_RESPONSE', { status: 200 });
  });

  test('a 200 of 60,000 members without access_token -> INVALID_TOKEN_RESPONSE with a bounded message', async () => {
    const members = {};
    for (let i = 0; i < 60_000; i += 1) members[`m${i}`] = i;
    answer(200, JSON.stringify({ token_type: 'Bearer', ...members }));
    const { err } = await timedRejection(cc().getToken());
    assertHostileError(err, 'INVALID_TOKEN_RESPONSE', { status: 200 });
    assert.ok(err.message.length < 2048, `message of ${err.message.length} characters`);
  });
});

describe('encoding', () => {
  test('a UTF-8 BOM before a valid JSON token response is ignored: the token is returned', async () => {
    answer(200, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`{"access_token":"${TOKEN}","token_type":"Bearer","expires_in":300}`)]));
    const r = assertChildSurvived(await childGetToken());
    assert.equal(r.ok, true, JSON.stringify(r.error));
    assert.equal(r.value.access_token, TOKEN);
    assert.equal(r.value.expires_in, 300);
  });

  test('CLI: a UTF-8 BOM before the token response -> exit 0, the bare token', async () => {
    answer(200, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`{"access_token":"${TOKEN}","token_type":"Bearer"}`)]));
    const r = await runCli(['client-credentials', '--token-endpoint', srv.url(), '--client-id', ID, '--client-secret-env', 'S'], { env: { S: SECRET } });
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, `${TOKEN}\n`);
    assert.equal(r.stderr, '');
  });

  test('invalid UTF-8 bytes inside a 200 JSON string -> RESPONSE_NOT_JSON, status 200, no trap', async () => {
    answer(200, Buffer.concat([Buffer.from(`{"access_token":"${TOKEN}`), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80]), Buffer.from('","token_type":"Bearer"}')]));
    const e = assertChildError(await childGetToken(), 'RESPONSE_NOT_JSON', { status: 200 });
    assert.ok(!e.message.includes(TOKEN), 'the 2xx body is quoted');
  });

  test('invalid UTF-8 and C1 bytes in a 400 HTML page -> RESPONSE_NOT_JSON, status 400, the excerpt escaped', async () => {
    answer(400, Buffer.concat([Buffer.from('<h1>bad\x1b[31m'), Buffer.from([0xff, 0x9b, 0xc2, 0x9b, 0xe2, 0x80, 0xae]), Buffer.from('request</h1>')]), 'text/html');
    const e = assertChildError(await childGetToken(), 'RESPONSE_NOT_JSON', { status: 400 });
    assertCleanText(e.message, 'err.message');
  });

  test('NUL bytes between JSON tokens -> RESPONSE_NOT_JSON, status 200', async () => {
    answer(200, Buffer.from(`{"access_token":"${TOKEN}",\u0000"token_type":"Bearer"}`));
    const { err } = await timedRejection(cc().getToken());
    assertHostileError(err, 'RESPONSE_NOT_JSON', { status: 200 });
    assertNoSecrets(err, [SECRET], { messageOnly: [TOKEN] });
  });
});
