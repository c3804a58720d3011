// A hostile device authorization server (RFC 8628, 127.0.0.1) against the
// installed package: absurd intervals and lifetimes (clamped; no timer
// overflow; abort ends the wait at once), verification URIs and user codes
// that could mislead a user (refused before onPrompt), oversized and
// redirected answers, and escapes in poll errors.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  assertNoSecrets, cliPath, json, loadGrantkit, runCli, show, startScriptedServer,
} from './helpers.mjs';
import {
  assertChildSurvived, assertHostileError, assertNoTrapText, assertOneCleanLine, assertWithin, runInChild, timedRejection,
} from './hostile_helpers.mjs';

const DEVICE_CODE = 'DC-hostile-device-code-0123456789';
const CLIENT = 'device-hostile';

let gk;
let srv;
let other;

before(async () => {
  gk = await loadGrantkit();
  srv = await startScriptedServer();
  other = await startScriptedServer();
});
after(async () => {
  await srv?.close();
  await other?.close();
});

function deviceBody(extra = {}) {
  return {
    device_code: DEVICE_CODE, user_code: 'BCDF-GHJK', verification_uri: 'https://sso.example.com/device', expires_in: 600, interval: 1, ...extra,
  };
}

/** Device authorization answers `body`; the token endpoint answers `poll` (default: pending). */
function scriptDevice(body, poll = (_req, res) => json(res, 400, { error: 'authorization_pending' })) {
  srv.script((req, res, reqBody) => {
    if (req.url === '/device') return json(res, 200, body);
    return poll(req, res, reqBody);
  });
}

function device(extra = {}) {
  return new gk.DeviceAuthorization({
    deviceAuthorizationEndpoint: srv.url('/device'), tokenEndpoint: srv.url('/token'), clientId: CLIENT, timeoutMs: 5000, ...extra,
  });
}

/** The device flow must refuse the device authorization response before any prompt or poll. */
async function assertRefusedBeforePrompt(body) {
  scriptDevice(body);
  const prompts = [];
  const { err } = await timedRejection(device({ onPrompt: (p) => { prompts.push(p); } }).getToken({ signal: AbortSignal.timeout(1500) }));
  assertHostileError(err, 'DEVICE_INVALID_RESPONSE');
  assert.deepEqual(prompts, [], 'onPrompt was called');
  assert.deepEqual(srv.hits.map((h) => h.url), ['/device'], 'a poll was sent');
  assertNoSecrets(err, [DEVICE_CODE]);
  return err;
}

describe('absurd interval and expires_in', () => {
  test('interval 1e9 and expires_in 1e9: onPrompt sees expires_in 86400, no TimeoutOverflowWarning, no poll, abort ends it at once', async () => {
    scriptDevice(deviceBody({ interval: 1_000_000_000, expires_in: 1_000_000_000 }));
    const r = await runInChild(`
      const ac = new AbortController();
      const prompts = [];
      const flow = new gk.DeviceAuthorization({ deviceAuthorizationEndpoint: env.url + '/device', tokenEndpoint: env.url + '/token',
        clientId: env.client, timeoutMs: 5000, onPrompt: (p) => { prompts.push({ ...p }); } });
      const p = flow.getToken({ signal: ac.signal });
      await new Promise((r) => setTimeout(r, 700));
      const t0 = Date.now();
      ac.abort();
      let err;
      try { await p; } catch (e) { err = e; }
      note({ prompts, abortMs: Date.now() - t0 });
      throw err ?? new Error('resolved without tokens');
    `, { env: { url: srv.origin, client: CLIENT }, timeoutMs: 15_000 });
    const result = assertChildSurvived(r);
    assert.equal(result.error.code, 'ABORTED', JSON.stringify(result.error));
    const [{ prompts, abortMs }] = result.notes;
    assert.equal(prompts.length, 1);
    assert.equal(prompts[0].expires_in, 86400);
    assertWithin(abortMs, 500, 'the rejection after abort');
    assert.doesNotMatch(r.stderr, /TimeoutOverflowWarning/, r.stderr);
    assert.equal(r.stderr, '');
    assert.deepEqual(srv.hits.map((h) => h.url), ['/device'], 'a poll was sent');
  });

  test('interval 1e9 alone: no poll within a second, no TimeoutOverflowWarning, and abort ends it at once', async () => {
    scriptDevice(deviceBody({ interval: 1_000_000_000 }));
    const r = await runInChild(`
      const ac = new AbortController();
      let prompted = 0;
      const flow = new gk.DeviceAuthorization({ deviceAuthorizationEndpoint: env.url + '/device', tokenEndpoint: env.url + '/token',
        clientId: env.client, timeoutMs: 5000, onPrompt: () => { prompted += 1; } });
      const p = flow.getToken({ signal: ac.signal });
      await new Promise((r) => setTimeout(r, 1200));
      const t0 = Date.now();
      ac.abort();
      try { await p; } catch (e) { note({ prompted, abortMs: Date.now() - t0 }); throw e; }
    `, { env: { url: srv.origin, client: CLIENT }, timeoutMs: 15_000 });
    const result = assertChildSurvived(r);
    assert.equal(result.error.code, 'ABORTED', JSON.stringify(result.error));
    assert.equal(result.notes[0].prompted, 1);
    assertWithin(result.notes[0].abortMs, 500, 'the rejection after abort');
    assert.doesNotMatch(r.stderr, /TimeoutOverflowWarning/, r.stderr);
    assert.deepEqual(srv.hits.map((h) => h.url), ['/device'], 'a poll was sent within a second');
  });

  test('CLI: expires_in 1e9 is shown as 86400 s; SIGINT ends the wait at once', async () => {
    scriptDevice(deviceBody({ interval: 1_000_000_000, expires_in: 1_000_000_000, verification_uri: `${srv.origin}/verify` }));
    const { spawn } = await import('node:child_process');
    const r = await new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [cliPath(), 'device', '--token-endpoint', srv.url('/token'), '--device-authorization-endpoint', srv.url('/device'), '--client-id', CLIENT], {
        env: { PATH: process.env.PATH, HOME: process.env.HOME }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      let sent = 0;
      child.stdout.on('data', (d) => { stdout += d; });
      child.stderr.on('data', (d) => {
        stderr += d;
        if (!sent && /Waiting for approval/.test(stderr)) { sent = Date.now(); setTimeout(() => child.kill('SIGINT'), 200); }
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.on('error', reject);
      child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr, afterPrompt: Date.now() - sent }); });
    });
    assert.equal(r.signal, null, show(r));
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /The code expires in 86400 s\./, show(r));
    assert.match(r.stderr, /\ngrantkit: ABORTED: /, show(r));
    assert.doesNotMatch(r.stderr, /TimeoutOverflowWarning/, show(r));
    assertWithin(r.afterPrompt, 2500, 'the exit after the prompt (SIGINT 200 ms later)');
  });
});

describe('misleading verification URIs and user codes are refused before onPrompt', () => {
  test('verification_uri "javascript:alert(1)" -> DEVICE_INVALID_RESPONSE', async () => {
    await assertRefusedBeforePrompt(deviceBody({ verification_uri: 'javascript:alert(document.cookie)' }));
  });

  test('verification_uri "data:text/html,..." -> DEVICE_INVALID_RESPONSE', async () => {
    await assertRefusedBeforePrompt(deviceBody({ verification_uri: 'data:text/html,<script>alert(1)</script>' }));
  });

  test('verification_uri plain http on a non-loopback host -> DEVICE_INVALID_RESPONSE', async () => {
    await assertRefusedBeforePrompt(deviceBody({ verification_uri: 'http://sso.example.com/device' }));
  });

  test('verification_uri relative ("/device") -> DEVICE_INVALID_RESPONSE', async () => {
    await assertRefusedBeforePrompt(deviceBody({ verification_uri: '/device' }));
  });

  test('verification_uri with a U+202E bidi override -> DEVICE_INVALID_RESPONSE, message escaped', async () => {
    await assertRefusedBeforePrompt(deviceBody({ verification_uri: 'https://sso.example.com/\u202eexe.device' }));
  });

  test('verification_uri_complete "javascript:" (verification_uri fine) -> DEVICE_INVALID_RESPONSE', async () => {
    await assertRefusedBeforePrompt(deviceBody({ verification_uri_complete: 'javascript:alert(1)//https://sso.example.com/device?user_code=BCDF-GHJK' }));
  });

  test('verification_uri_complete with a zero-width space in the host -> DEVICE_INVALID_RESPONSE', async () => {
    await assertRefusedBeforePrompt(deviceBody({ verification_uri_complete: 'https://sso.exam\u200bple.com/device?user_code=BCDF-GHJK' }));
  });

  test('user_code with a zero-width joiner -> DEVICE_INVALID_RESPONSE', async () => {
    await assertRefusedBeforePrompt(deviceBody({ user_code: 'BCDF\u200d-GHJK' }));
  });

  test('user_code with U+2066 / U+202E bidi controls -> DEVICE_INVALID_RESPONSE', async () => {
    await assertRefusedBeforePrompt(deviceBody({ user_code: '\u2066BCDF\u202e-GHJK\u2069' }));
  });

  test('http verification_uri on loopback is accepted (no allowInsecureHttp needed): onPrompt gets it verbatim', async () => {
    const body = deviceBody({ verification_uri: `${srv.origin}/verify`, verification_uri_complete: `${srv.origin}/verify?user_code=BCDF-GHJK` });
    scriptDevice(body);
    const prompts = [];
    const ac = new AbortController();
    const p = device({ onPrompt: (x) => { prompts.push({ ...x }); setTimeout(() => ac.abort(), 50); } }).getToken({ signal: ac.signal });
    const { err } = await timedRejection(p);
    assertHostileError(err, 'ABORTED');
    assert.deepEqual(prompts, [{
      user_code: 'BCDF-GHJK', verification_uri: body.verification_uri, verification_uri_complete: body.verification_uri_complete, expires_in: 600,
    }]);
  });

  test('CLI: user_code with ESC and U+202E -> exit 1, one clean DEVICE_INVALID_RESPONSE line, no prompt printed', async () => {
    scriptDevice(deviceBody({ user_code: '\u001b[2J\u001b[HBCDF\u202e-GHJK' }));
    const r = await runCli(['device', '--token-endpoint', srv.url('/token'), '--device-authorization-endpoint', srv.url('/device'), '--client-id', CLIENT, '--timeout', '3000']);
    assert.equal(r.code, 1, show(r));
    assert.ok(r.stderr.startsWith('grantkit: DEVICE_INVALID_RESPONSE: '), show(r));
    assertOneCleanLine(r.stderr);
    assert.doesNotMatch(r.stderr, /To sign in/);
    assert.ok(!r.stderr.includes(DEVICE_CODE));
  });

  test('CLI: verification_uri "javascript:" -> exit 1, one clean DEVICE_INVALID_RESPONSE line', async () => {
    scriptDevice(deviceBody({ verification_uri: 'javascript:alert(1)\u001b]8;;x\u0007' }));
    const r = await runCli(['device', '--token-endpoint', srv.url('/token'), '--device-authorization-endpoint', srv.url('/device'), '--client-id', CLIENT, '--timeout', '3000']);
    assert.equal(r.code, 1, show(r));
    assert.ok(r.stderr.startsWith('grantkit: DEVICE_INVALID_RESPONSE: '), show(r));
    assertOneCleanLine(r.stderr);
  });
});

describe('oversized, redirected and hostile answers', () => {
  test('an endless device authorization body -> RESPONSE_TOO_LARGE, no prompt', async () => {
    srv.script((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`{"device_code":"${DEVICE_CODE}","user_code":"`);
      let closed = false;
      let sent = 0;
      res.on('close', () => { closed = true; });
      res.on('error', () => {});
      const chunk = 'U'.repeat(16 * 1024);
      const go = () => {
        while (!closed && sent < 64 * 1024 * 1024) {
          sent += chunk.length;
          if (!res.write(chunk)) { res.once('drain', go); return; }
        }
        if (!closed) res.end();
      };
      go();
    });
    let prompted = 0;
    const { err, ms } = await timedRejection(device({ timeoutMs: 20_000, onPrompt: () => { prompted += 1; } }).getToken());
    assertHostileError(err, 'RESPONSE_TOO_LARGE');
    assertWithin(ms, 10_000, 'the rejection');
    assert.equal(prompted, 0);
  });

  test('a 302 from the device authorization endpoint -> UNEXPECTED_REDIRECT; the other server gets nothing', async () => {
    srv.script((_req, res) => { res.writeHead(302, { location: other.url('/device') }); res.end(); });
    other.script((_req, res) => json(res, 200, deviceBody()));
    let prompted = 0;
    const { err } = await timedRejection(device({ onPrompt: () => { prompted += 1; } }).getToken());
    assertHostileError(err, 'UNEXPECTED_REDIRECT', { status: 302 });
    assert.equal(other.hits.length, 0);
    assert.equal(prompted, 0);
  });

  test('a poll that answers access_denied with escapes and the device code echoed -> DEVICE_ACCESS_DENIED, message clean, no device code', async () => {
    scriptDevice(deviceBody(), (_req, res) => json(res, 400, {
      error: 'access_denied', error_description: `denied \u001b[2J\r\n\u202e for ${DEVICE_CODE}`,
    }));
    const { err } = await timedRejection(device({ onPrompt: () => {} }).getToken({ signal: AbortSignal.timeout(8000) }));
    assertHostileError(err, 'DEVICE_ACCESS_DENIED', { error: 'access_denied' });
    assert.ok(!err.message.includes(DEVICE_CODE), 'the device code is in the message');
  });

  test('a poll answered by a 308 to another server -> UNEXPECTED_REDIRECT, the other server gets nothing', async () => {
    scriptDevice(deviceBody(), (_req, res) => { res.writeHead(308, { location: other.url('/token') }); res.end(); });
    other.script((_req, res) => json(res, 200, { access_token: 'x', token_type: 'Bearer' }));
    const { err } = await timedRejection(device({ onPrompt: () => {} }).getToken({ signal: AbortSignal.timeout(8000) }));
    assertHostileError(err, 'UNEXPECTED_REDIRECT', { status: 308 });
    assert.equal(other.hits.length, 0);
    assertNoSecrets(err, [DEVICE_CODE]);
  });

  test('a poll whose access_token holds CR/LF -> INVALID_TOKEN_RESPONSE', async () => {
    scriptDevice(deviceBody(), (_req, res) => json(res, 200, { access_token: 'AT-dev\r\nX-Injected: 1', token_type: 'Bearer' }));
    const { err } = await timedRejection(device({ onPrompt: () => {} }).getToken({ signal: AbortSignal.timeout(8000) }));
    assertHostileError(err, 'INVALID_TOKEN_RESPONSE', { status: 200 });
    assert.ok(!err.message.includes('AT-dev'));
  });

  test('a device authorization body of 10,000 nested arrays -> RESPONSE_NOT_JSON in a surviving child, no prompt', async () => {
    srv.script((_req, res) => json(res, 200, `${'['.repeat(10_000)}${']'.repeat(10_000)}`));
    const r = await runInChild(`
      let prompted = 0;
      try {
        await new gk.DeviceAuthorization({ deviceAuthorizationEndpoint: env.url + '/device', tokenEndpoint: env.url + '/token',
          clientId: env.client, timeoutMs: 5000, onPrompt: () => { prompted += 1; } }).getToken();
      } finally { note(prompted); }
    `, { env: { url: srv.origin, client: CLIENT } });
    const result = assertChildSurvived(r);
    assert.equal(result.ok, false);
    assert.equal(result.error.code, 'RESPONSE_NOT_JSON', JSON.stringify(result.error));
    assert.equal(result.error.status, 200);
    assert.deepEqual(result.notes, [0]);
    assertNoTrapText(result.error.text, 'the error');
  });
});
