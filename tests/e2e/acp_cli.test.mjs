// `grantkit acp` (the installed CLI, run with node) against the reference ACP
// server in tests/acp/server.mjs: password from env / file / stdin only, exact
// stdout, exit codes.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { DEFAULT_USERS, PATHS, startAcp } from '../acp/server.mjs';
import { runCli, show } from './helpers.mjs';

const USER = 'admin';
const PASSWORD = DEFAULT_USERS.admin;
const TOKEN_LINE = /^[A-Za-z0-9._-]+\n$/;

let acp;
let tmp;

before(async () => {
  acp = await startAcp();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'grantkit-acp-cli-'));
});
after(async () => {
  await acp?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

function file(name, content) {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, content, { mode: 0o600 });
  return p;
}

const base = () => ['acp', '--platform-url', acp.platformUrl, '--username', USER];

function claims(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
}

/** Exit 0, stdout exactly the access token of the last step-5 reply and "\n". */
function assertTokenPrinted(r, n0, user = USER) {
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, TOKEN_LINE, show(r));
  const token = r.stdout.slice(0, -1);
  const callbacks = acp.requests.slice(n0).filter((q) => q.pathname === PATHS.callback);
  assert.equal(callbacks.length, 1, show(r));
  assert.equal(token, callbacks[0].response.json.access_token);
  assert.equal(claims(token).sub, user);
  assert.ok(!r.stdout.includes(PASSWORD) && !r.stderr.includes(PASSWORD), show(r));
  return token;
}

describe('grantkit acp', () => {
  test('--password-env: stdout is exactly the token and "\\n"', async () => {
    const n0 = acp.requests.length;
    const r = await runCli([...base(), '--password-env', 'ACP_PASSWORD'], { env: { ACP_PASSWORD: PASSWORD } });
    assertTokenPrinted(r, n0);
    assert.deepEqual(acp.requests.slice(n0).map((q) => `${q.method} ${q.pathname}`), [
      'GET /console-platform/api/v1/token/login', 'GET /dex/api/v1/authorize', 'GET /dex/pubkey',
      'POST /dex/api/v1/authorize/local', 'GET /console-platform/api/v1/token/callback',
    ]);
  });

  test('--password-file (one trailing "\\n" removed)', async () => {
    const n0 = acp.requests.length;
    const r = await runCli([...base(), '--password-file', file('pw', `${PASSWORD}\n`)]);
    assertTokenPrinted(r, n0);
  });

  test('--password-stdin', async () => {
    const n0 = acp.requests.length;
    const r = await runCli([...base(), '--password-stdin'], { stdin: `${PASSWORD}\n` });
    assertTokenPrinted(r, n0);
  });

  test('--idp ldap --json: the TokenSet, expires_at = expire_at', async () => {
    const n0 = acp.requests.length;
    const r = await runCli([...base(), '--password-env', 'P', '--idp', 'ldap', '--json'], { env: { P: PASSWORD } });
    assert.equal(r.code, 0, show(r));
    assert.ok(r.stdout.endsWith('\n') && !r.stdout.includes('\r'), show(r));
    const ts = JSON.parse(r.stdout);
    const reqs = acp.requests.slice(n0);
    assert.equal(reqs[3].pathname, '/dex/api/v1/authorize/ldap');
    const reply = reqs[4].response.json;
    assert.equal(ts.access_token, reply.access_token);
    assert.equal(ts.token_type, 'Bearer');
    assert.equal(ts.id_token, reply.id_token);
    assert.equal(ts.refresh_token, reply.refresh_token);
    assert.equal(ts.expires_at, reply.expire_at);
    assert.deepEqual(ts.raw, reply);
  });

  test('wrong password -> exit 1, stderr names ACP_INVALID_CREDENTIALS, nothing on stdout, no password', async () => {
    const wrong = 'Wr0ng-pass!';
    const n0 = acp.requests.length;
    const r = await runCli([...base(), '--password-env', 'P'], { env: { P: wrong } });
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /ACP_INVALID_CREDENTIALS/, show(r));
    assert.equal(r.stdout, '', show(r));
    assert.ok(!r.stderr.includes(wrong), show(r));
    assert.ok(!acp.requests.slice(n0).some((q) => q.pathname === PATHS.callback));
  });

  test('a password on argv is refused: --password x -> exit 1, nothing requested', async () => {
    const n0 = acp.requests.length;
    for (const args of [['--password', PASSWORD], [`--password=${PASSWORD}`]]) {
      const r = await runCli([...base(), ...args]);
      assert.equal(r.code, 1, show(r));
      assert.ok(r.stderr.startsWith('grantkit: '), show(r));
      assert.equal(r.stdout, '', show(r));
      assert.ok(!r.stderr.includes(PASSWORD), show(r));
    }
    assert.equal(acp.requests.length, n0);
  });
});
