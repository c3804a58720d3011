// GrantkitError as an exported class, on the installed package: instanceof,
// the constants from the core's one list of codes, real Error objects.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';

import { loadGrantkit, rejection, startScriptedServer, thrown } from './helpers.mjs';

let gk;
before(async () => { gk = await loadGrantkit(); });

test('errors are instances of the exported GrantkitError, itself an Error', async () => {
  const err = thrown(() => new gk.ClientCredentials({ tokenEndpoint: 'ftp://x/token', clientId: 'a', clientSecret: 's' }));
  assert.ok(err instanceof gk.GrantkitError);
  assert.ok(err instanceof Error);
  assert.equal(err.constructor, gk.GrantkitError);
  assert.equal(err.name, 'GrantkitError');
  assert.equal(err.code, gk.GrantkitError.INVALID_CONFIG);
  assert.equal(err.field, 'tokenEndpoint');
  assert.match(err.stack, /GrantkitError/);
  assert.equal(Object.prototype.toString.call(err), '[object Error]');
  // wasm-bindgen's free and Symbol.dispose are not reachable from an error.
  assert.equal(err.free, undefined);
  assert.equal(err[Symbol.dispose], undefined);
  // Other errors are not GrantkitErrors.
  assert.ok(!(new Error('x') instanceof gk.GrantkitError));
  assert.ok(!({ name: 'GrantkitError', code: 'INVALID_CONFIG' } instanceof gk.GrantkitError));
});

test('a rejected getToken is a GrantkitError too, with the server fields', async () => {
  const srv = await startScriptedServer();
  try {
    srv.script((_req, res) => { res.writeHead(401, { 'content-type': 'application/json' }); res.end('{"error":"invalid_client"}'); });
    const client = new gk.ClientCredentials({ tokenEndpoint: srv.url(), clientId: 'a', clientSecret: 's' });
    const err = await rejection(client.getToken());
    assert.ok(err instanceof gk.GrantkitError);
    assert.equal(err.code, gk.GrantkitError.OAUTH_ERROR);
    assert.equal(err.error, 'invalid_client');
    assert.equal(err.status, 401);
  } finally {
    await srv.close();
  }
});

test('GrantkitError has a constant per code, equal to its name, before any error is made', async () => {
  // A fresh process: the constants must not wait for a first error.
  const { execFileSync } = await import('node:child_process');
  const { pkgDir } = await import('./helpers.mjs');
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', `
    const gk = await import(${JSON.stringify(pkgDir() + '/index.node.js')});
    const codes = Object.keys(gk.GrantkitError).filter((k) => /^[A-Z_]+$/.test(k));
    console.log(JSON.stringify(codes.map((k) => [k, gk.GrantkitError[k]])));
  `]).toString();
  const pairs = JSON.parse(out);
  assert.equal(pairs.length, 59);
  for (const [name, value] of pairs) assert.equal(name, value);
  for (const code of ['INVALID_CONFIG', 'OAUTH_ERROR', 'ORIGIN_NOT_ALLOWED', 'ACP_SESSION_LOST', 'DEVICE_CODE_EXPIRED', 'STORE_FAILED', 'DISCOVERY_ISSUER_MISMATCH', 'AUTHORIZATION_STATE_MISMATCH', 'ID_TOKEN_BAD_SIGNATURE']) {
    assert.ok(pairs.some(([name]) => name === code), code);
  }
});

test('a wasm file that cannot be loaded fails the Node import with WASM_LOAD_FAILED, catchable', async () => {
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const { pkgDir } = await import('./helpers.mjs');
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'grantkit-broken-'));
  try {
    fs.cpSync(pkgDir(), copy, { recursive: true });
    fs.writeFileSync(path.join(copy, 'grantkit_bg.wasm'), 'not wasm');
    const err = await rejection(import(path.join(copy, 'index.node.js')));
    assert.equal(err.name, 'GrantkitError');
    assert.equal(err.code, 'WASM_LOAD_FAILED');
    assert.ok(err.cause instanceof Error, 'the original error is the cause');
  } finally {
    fs.rmSync(copy, { recursive: true, force: true });
  }
});
