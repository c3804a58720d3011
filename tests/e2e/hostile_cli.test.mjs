// The installed CLI against hostile input: a value where an environment
// variable NAME belongs (never printed back), and server-made text on the
// terminal (decoded claims, --json token sets) with control, bidi and
// zero-width characters (never raw).
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import {
  closedPort, json, runCli, show, startScriptedServer,
} from './helpers.mjs';
import {
  assertCleanText, assertNoTrapOnTerminal, assertOneCleanLine, fakeJwt,
} from './hostile_helpers.mjs';

let srv;
let deadEndpoint;

before(async () => {
  srv = await startScriptedServer();
  deadEndpoint = `http://127.0.0.1:${await closedPort()}/token`;
});
after(async () => { await srv?.close(); });

/** A usage error: exit 1 before any request, one clean line naming `flag`, and `value` nowhere. */
function assertFlagRefused(r, flag, value) {
  assert.equal(r.code, 1, show(r));
  assert.equal(r.stdout, '', show(r));
  assertOneCleanLine(r.stderr);
  assert.ok(r.stderr.includes(flag), `stderr does not name ${flag}: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /NETWORK_ERROR/, 'the CLI went on to send a request');
  for (const piece of new Set([value, value.trim(), value.split(/\s+/)[0], JSON.stringify(value)])) {
    if (piece.length >= 4) assert.ok(!r.stderr.includes(piece), `stderr prints the given value (${JSON.stringify(piece)}): ${r.stderr}`);
  }
}

const cc = (flagArgs, env = {}) => runCli(['client-credentials', '--token-endpoint', deadEndpoint, '--client-id', 'c', ...flagArgs], { env, timeoutMs: 10_000 });

describe('--*-env takes a NAME; a value there is refused and never printed', () => {
  test('--client-secret-env "hunter2 with spaces!"', async () => {
    assertFlagRefused(await cc(['--client-secret-env', 'hunter2 with spaces!']), '--client-secret-env', 'hunter2 with spaces!');
  });

  // Base64 of random bytes is sometimes a well-formed variable name
  // (letters and digits only): then it is refused as unset, and still never
  // printed. Both shapes are pinned.
  test('--client-secret-env <a 64-character random secret>', async () => {
    const value = crypto.randomBytes(48).toString('base64');
    assertFlagRefused(await cc(['--client-secret-env', value]), '--client-secret-env', value);
  });

  test('--client-secret-env <a random secret that is a well-formed name>', async () => {
    const value = `K${crypto.randomBytes(32).toString('hex')}`;
    assertFlagRefused(await cc(['--client-secret-env', value]), '--client-secret-env', value);
  });

  test('--client-secret-env=<value> (the = form) with a value holding "="', async () => {
    const value = 'S3cr3t=Value+With/Base64==';
    assertFlagRefused(await cc([`--client-secret-env=${value}`]), '--client-secret-env', value);
  });

  test('--client-secret-env with a value starting with a digit', async () => {
    assertFlagRefused(await cc(['--client-secret-env', '9f8e7d6c5b4a3f2e1d0c']), '--client-secret-env', '9f8e7d6c5b4a3f2e1d0c');
  });

  test('--client-secret-env with a value holding ESC and a newline: one clean line, value not printed', async () => {
    const value = 'top\u001b[2Jsecret\nline2';
    const r = await cc(['--client-secret-env', value]);
    assertFlagRefused(r, '--client-secret-env', value);
    assert.ok(!r.stderr.includes('[2Jsecret') && !r.stderr.includes('line2'), `the value is printed (escaped): ${r.stderr}`);
  });

  test('password --password-env "correct horse battery staple"', async () => {
    const value = 'correct horse battery staple';
    const r = await runCli(['password', '--token-endpoint', deadEndpoint, '--client-id', 'c', '--username', 'u', '--password-env', value], { timeoutMs: 10_000 });
    assertFlagRefused(r, '--password-env', value);
  });

  test('acp --password-env "Adm1n-pass!"', async () => {
    const value = 'Adm1n-pass!';
    const r = await runCli(['acp', '--platform-url', 'http://127.0.0.1:1', '--username', 'admin', '--password-env', value], { timeoutMs: 10_000 });
    assertFlagRefused(r, '--password-env', value);
  });

  test('decode --token-env <a JWT>', async () => {
    const value = fakeJwt({ sub: 'someone', secret: 'claims' });
    const r = await runCli(['decode', '--token-env', value], { timeoutMs: 10_000 });
    assertFlagRefused(r, '--token-env', value);
    assert.ok(!r.stderr.includes(value.split('.')[1].slice(0, 16)));
  });

  test('a valid but unset NAME: exit 1, the flag named (the name may be printed)', async () => {
    const r = await cc(['--client-secret-env', 'HOSTILE_UNSET_VARIABLE_NAME']);
    assert.equal(r.code, 1, show(r));
    assertOneCleanLine(r.stderr);
    assert.ok(r.stderr.includes('--client-secret-env'), r.stderr);
    assert.doesNotMatch(r.stderr, /NETWORK_ERROR/);
  });

  test('a valid NAME that is set still works (control)', async () => {
    srv.script((_req, res) => json(res, 200, { access_token: 'AT-cli-ok', token_type: 'Bearer' }));
    const r = await runCli(['client-credentials', '--token-endpoint', srv.url(), '--client-id', 'c', '--client-secret-env', '_My_Secret9'], { env: { _My_Secret9: 's' } });
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, 'AT-cli-ok\n');
  });
});

describe('server-made text on the terminal is never raw', () => {
  const NASTY = 'x\u001b[2J\u001b]0;t\u0007\u007f\u0085\u009b31m\u202eevil\u2066\u200b\ufeff\u061c\u2060y';

  test('decode: claims with ESC, DEL, C1, bidi and zero-width characters -> stdout without them raw', async () => {
    const token = fakeJwt({ sub: 'alice', name: NASTY, [`k${NASTY}`]: 1 }, { alg: 'RS256', kid: NASTY });
    const r = await runCli(['decode'], { stdin: `${token}\n` });
    assert.equal(r.code, 0, show(r));
    assertCleanText(r.stdout, 'stdout', { lines: true });
    assert.equal(r.stderr, '');
  });

  test('decode: a token whose claims nest 10,000 deep -> exit 1, one clean INVALID_JWT line', async () => {
    const claims = Buffer.from(`{"a":${'['.repeat(10_000)}${']'.repeat(10_000)}}`).toString('base64url');
    const r = await runCli(['decode'], { stdin: `eyJhbGciOiJSUzI1NiJ9.${claims}.c2ln\n` });
    assert.equal(r.code, 1, show(r));
    assert.ok(r.stderr.startsWith('grantkit: INVALID_JWT: '), show(r));
    assertOneCleanLine(r.stderr);
    assertNoTrapOnTerminal(r.stderr, 'stderr');
  });

  test('decode: a "token" with ESC and CR -> exit 1, one clean INVALID_JWT line that does not echo it', async () => {
    const r = await runCli(['decode'], { stdin: 'secret-part\u001b[2J\r.x.y\n' });
    assert.equal(r.code, 1, show(r));
    assert.ok(r.stderr.startsWith('grantkit: INVALID_JWT: '), show(r));
    assertOneCleanLine(r.stderr);
    assert.ok(!r.stderr.includes('secret-part'), r.stderr);
  });

  test('--json: a vendor member with ESC, C1, bidi and zero-width characters -> stdout without them raw', async () => {
    srv.script((_req, res) => json(res, 200, { access_token: 'AT-cli-json', token_type: 'Bearer', tenant_name: NASTY, [`x${NASTY}`]: NASTY }));
    const r = await runCli(['client-credentials', '--token-endpoint', srv.url(), '--client-id', 'c', '--client-secret-env', 'S', '--json'], { env: { S: 's' } });
    assert.equal(r.code, 0, show(r));
    assertCleanText(r.stdout, 'stdout', { lines: true });
    assert.equal(JSON.parse(r.stdout).raw.tenant_name, NASTY, 'the JSON still carries the value (escaped)');
  });
});
