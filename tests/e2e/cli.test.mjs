// The installed CLI (bin/grantkit.js, run with node) against the local IdP and
// a scripted server: secrets from env / file / stdin only, exact stdout, exit codes.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { CLIENTS, USERS, startIdp } from '../idp/server.mjs';
import {
  closedPort, form, introspect, json, loadGrantkit, runCli, show, startScriptedServer,
} from './helpers.mjs';

let idp;
let srv;
let tmp;
let gk;

const TOKEN_LINE = /^[A-Za-z0-9._-]+\n$/;

before(async () => {
  gk = await loadGrantkit();
  idp = await startIdp();
  srv = await startScriptedServer();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'grantkit-cli-'));
});
after(async () => {
  await idp?.close();
  await srv?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

function file(name, content) {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, content, { mode: 0o600 });
  return p;
}

const ccBasic = () => ['client-credentials', '--token-endpoint', idp.tokenEndpoint, '--client-id', CLIENTS.ccBasic.client_id];

async function assertActiveToken(r, clientId) {
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, TOKEN_LINE, show(r));
  assert.ok(!r.stdout.includes('\r'));
  const token = r.stdout.slice(0, -1);
  const info = await introspect(idp, token);
  assert.equal(info.active, true);
  assert.equal(info.client_id, clientId);
  return token;
}

function assertUsageError(r) {
  assert.equal(r.code, 1, show(r));
  assert.ok(r.stderr.startsWith('grantkit: '), show(r));
  assert.equal(r.stdout, '', show(r));
}

describe('grantkit client-credentials', () => {
  test('--client-secret-env: stdout is exactly the token and "\\n"; the token is active', async () => {
    const r = await runCli([...ccBasic(), '--client-secret-env', 'MY_SECRET', '--scope', 'api:read'], { env: { MY_SECRET: CLIENTS.ccBasic.client_secret } });
    await assertActiveToken(r, 'cc-basic');
    const req = idp.requests.at(-1);
    assert.equal(req.body, 'grant_type=client_credentials&scope=api%3Aread');
    assert.ok(!r.stderr.includes(CLIENTS.ccBasic.client_secret));
  });

  test('--client-secret-file with a trailing "\\n" (removed)', async () => {
    const f = file('secret-lf', `${CLIENTS.ccBasic.client_secret}\n`);
    await assertActiveToken(await runCli([...ccBasic(), '--client-secret-file', f]), 'cc-basic');
  });

  test('--client-secret-file with a trailing "\\r\\n" (removed)', async () => {
    const f = file('secret-crlf', `${CLIENTS.ccBasic.client_secret}\r\n`);
    await assertActiveToken(await runCli([...ccBasic(), '--client-secret-file', f]), 'cc-basic');
  });

  test('--client-secret-file without a trailing newline', async () => {
    const f = file('secret-none', CLIENTS.ccBasic.client_secret);
    await assertActiveToken(await runCli([...ccBasic(), '--client-secret-file', f]), 'cc-basic');
  });

  test('only ONE trailing newline is removed: "secret\\n\\n" is a wrong secret (exit 2)', async () => {
    const f = file('secret-2lf', `${CLIENTS.ccPost.client_secret}\n\n`);
    const r = await runCli(['client-credentials', '--token-endpoint', idp.tokenEndpoint, '--client-id', 'cc-post', '--client-auth', 'post', '--client-secret-file', f]);
    assert.equal(r.code, 2, show(r));
    assert.equal(idp.requests.at(-1).body, form([['grant_type', 'client_credentials'], ['client_id', 'cc-post'], ['client_secret', `${CLIENTS.ccPost.client_secret}\n`]]));
  });

  test('surrounding spaces are kept (no trimming)', async () => {
    const f = file('secret-space', ` ${CLIENTS.ccPost.client_secret}\n`);
    const r = await runCli(['client-credentials', '--token-endpoint', idp.tokenEndpoint, '--client-id', 'cc-post', '--client-auth', 'post', '--client-secret-file', f]);
    assert.equal(r.code, 2, show(r));
    assert.ok(idp.requests.at(-1).body.endsWith('&client_secret=+post-secret-123'), idp.requests.at(-1).body);
  });

  test('--client-secret-stdin', async () => {
    const r = await runCli([...ccBasic(), '--client-secret-stdin'], { stdin: `${CLIENTS.ccBasic.client_secret}\n` });
    await assertActiveToken(r, 'cc-basic');
  });

  test('--client-auth post with repeated --scope (space-joined)', async () => {
    const r = await runCli(
      ['client-credentials', '--token-endpoint', idp.tokenEndpoint, '--client-id', 'cc-post', '--client-secret-env', 'S', '--client-auth', 'post', '--scope', 'api:read', '--scope', 'api:write'],
      { env: { S: CLIENTS.ccPost.client_secret } },
    );
    await assertActiveToken(r, 'cc-post');
    assert.equal(idp.requests.at(-1).body, 'grant_type=client_credentials&scope=api%3Aread+api%3Awrite&client_id=cc-post&client_secret=post-secret-123');
  });

  test('--json prints the TokenSet', async () => {
    const t0 = Math.floor(Date.now() / 1000);
    const r = await runCli([...ccBasic(), '--client-secret-env', 'S', '--scope', 'api:read', '--json'], { env: { S: CLIENTS.ccBasic.client_secret } });
    const t1 = Math.floor(Date.now() / 1000);
    assert.equal(r.code, 0, show(r));
    assert.ok(r.stdout.endsWith('\n'));
    assert.ok(!r.stdout.includes('\r'));
    const ts = JSON.parse(r.stdout);
    assert.equal(typeof ts.access_token, 'string');
    assert.equal(ts.token_type, 'Bearer');
    assert.equal(ts.expires_in, 3600);
    assert.ok(ts.expires_at >= t0 + 3600 && ts.expires_at <= t1 + 3600);
    assert.equal(ts.scope, 'api:read');
    assert.equal(ts.raw.access_token, ts.access_token);
    assert.equal((await introspect(idp, ts.access_token)).active, true);
  });

  test('wrong secret -> exit 2, stderr names invalid_client, no secret in the output', async () => {
    const secret = 'Not-The-Secret-987';
    const r = await runCli([...ccBasic(), '--client-secret-env', 'S'], { env: { S: secret } });
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, /invalid_client/);
    assert.equal(r.stdout, '');
    assert.ok(!r.stderr.includes(secret) && !r.stdout.includes(secret));
  });

  test('an OAuth error answered by a scripted server -> exit 2 naming the error code', async () => {
    srv.script((_req, res) => json(res, 400, { error: 'unauthorized_client', error_description: 'nope' }));
    const r = await runCli(['client-credentials', '--token-endpoint', srv.url(), '--client-id', 'c', '--client-secret-env', 'S'], { env: { S: 'x' } });
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, /unauthorized_client/);
  });

  test('a secret on argv is rejected: --client-secret x -> exit 1', async () => {
    const r = await runCli([...ccBasic(), '--client-secret', 'x']);
    assertUsageError(r);
    const r2 = await runCli([...ccBasic(), `--client-secret=${CLIENTS.ccBasic.client_secret}`]);
    assertUsageError(r2);
    assert.ok(!r2.stderr.includes(CLIENTS.ccBasic.client_secret), show(r2));
  });

  test('missing --client-id -> exit 1', async () => {
    const r = await runCli(['client-credentials', '--token-endpoint', idp.tokenEndpoint, '--client-secret-env', 'S'], { env: { S: 'x' } });
    assertUsageError(r);
  });

  test('no secret source, or an unset secret env var -> exit 1', async () => {
    assertUsageError(await runCli(ccBasic()));
    assertUsageError(await runCli([...ccBasic(), '--client-secret-env', 'UNSET_VAR_FOR_GRANTKIT']));
    assertUsageError(await runCli([...ccBasic(), '--client-secret-file', path.join(tmp, 'does-not-exist')]));
  });

  test('unknown option / unknown command / no endpoint -> exit 1', async () => {
    assertUsageError(await runCli([...ccBasic(), '--client-secret-env', 'S', '--bogus'], { env: { S: 'x' } }));
    assertUsageError(await runCli(['frobnicate']));
    assertUsageError(await runCli(['client-credentials', '--client-id', 'c', '--client-secret-env', 'S'], { env: { S: 'x' } }));
  });

  test('non-loopback http endpoint -> exit 1 (bad config), unless --allow-insecure-http', async () => {
    assertUsageError(await runCli(['client-credentials', '--token-endpoint', 'http://example.com/token', '--client-id', 'c', '--client-secret-env', 'S'], { env: { S: 'x' } }));
  });

  test('a closed port -> exit 1', async () => {
    const port = await closedPort();
    const r = await runCli(['client-credentials', '--token-endpoint', `http://127.0.0.1:${port}/token`, '--client-id', 'c', '--client-secret-env', 'S'], { env: { S: 'x' } });
    assertUsageError(r);
  });

  test('--timeout against a server that never answers -> exit 1', async () => {
    srv.script(() => { /* never answer */ });
    const t0 = Date.now();
    const r = await runCli(['client-credentials', '--token-endpoint', srv.url(), '--client-id', 'c', '--client-secret-env', 'S', '--timeout', '300'], { env: { S: 'x' } });
    assertUsageError(r);
    assert.ok(Date.now() - t0 < 10_000);
  });

  test('--param KEY=VALUE (repeatable) goes into the body after scope', async () => {
    srv.script((_req, res) => json(res, 200, { access_token: 'tok.en-1', token_type: 'Bearer' }));
    const r = await runCli(
      ['client-credentials', '--token-endpoint', srv.url(), '--client-id', 'c', '--client-secret-env', 'S', '--scope', 's', '--param', 'audience=a', '--param', 'resource=r1', '--param', 'resource=r2', '--param', 'x=y=z'],
      { env: { S: 'x' } },
    );
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, 'tok.en-1\n');
    assert.equal(srv.hits[0].body, 'grant_type=client_credentials&scope=s&audience=a&resource=r1&resource=r2&x=y%3Dz');
  });

  test('--keycloak-url BASE --realm REALM', async () => {
    srv.script((_req, res) => json(res, 200, { access_token: 'kc-token', token_type: 'Bearer' }));
    const r = await runCli(['client-credentials', '--keycloak-url', srv.origin, '--realm', 'demo', '--client-id', 'c', '--client-secret-env', 'S'], { env: { S: 'x' } });
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, 'kc-token\n');
    assert.equal(srv.hits[0].url, '/realms/demo/protocol/openid-connect/token');
  });

  test('--entra-tenant with a scope not ending in /.default -> exit 1 before any request', async () => {
    const r = await runCli(['client-credentials', '--entra-tenant', 'contoso', '--client-id', 'c', '--client-secret-env', 'S', '--scope', 'api://x/read'], { env: { S: 'x' } });
    assertUsageError(r);
  });
});

describe('grantkit password', () => {
  test('--password-stdin with --client-secret-env -> exit 0, active token for alice', async () => {
    const r = await runCli(
      ['password', '--token-endpoint', idp.tokenEndpoint, '--client-id', 'pw-client', '--client-secret-env', 'CS', '--username', 'alice', '--password-stdin', '--scope', 'openid', '--scope', 'api:read'],
      { env: { CS: CLIENTS.pwClient.client_secret }, stdin: `${USERS.alice.password}\n` },
    );
    const token = await assertActiveToken(r, 'pw-client');
    assert.equal(gk.decodeJwt(token).claims.sub, 'alice');
    assert.equal(idp.requests.at(-1).body, 'grant_type=password&username=alice&password=wonderland-42&scope=openid+api%3Aread');
  });

  test('public client with --password-file, --json', async () => {
    const f = file('pw', `${USERS.bob.password}\r\n`);
    const r = await runCli(['password', '--token-endpoint', idp.tokenEndpoint, '--client-id', 'pw-public', '--username', 'bob', '--password-file', f, '--scope', 'openid offline_access api:read', '--json']);
    assert.equal(r.code, 0, show(r));
    const ts = JSON.parse(r.stdout);
    assert.equal(gk.decodeJwt(ts.id_token).claims.sub, 'bob');
    assert.equal(idp.requests.at(-1).body, 'grant_type=password&username=bob&password=builder-7&scope=openid+offline_access+api%3Aread&client_id=pw-public');
  });

  test('--password-env; wrong password -> exit 2 naming invalid_grant, password not printed', async () => {
    const pw = 'Wrong-Password-555';
    const r = await runCli(
      ['password', '--token-endpoint', idp.tokenEndpoint, '--client-id', 'pw-client', '--client-secret-env', 'CS', '--username', 'alice', '--password-env', 'PW'],
      { env: { CS: CLIENTS.pwClient.client_secret, PW: pw } },
    );
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, /invalid_grant/);
    assert.ok(!r.stderr.includes(pw) && !r.stdout.includes(pw));
    assert.ok(!r.stderr.includes(CLIENTS.pwClient.client_secret));
  });

  test('--password on argv is rejected -> exit 1', async () => {
    assertUsageError(await runCli(['password', '--token-endpoint', idp.tokenEndpoint, '--client-id', 'pw-public', '--username', 'bob', '--password', USERS.bob.password]));
  });

  test('missing --username -> exit 1', async () => {
    assertUsageError(await runCli(['password', '--token-endpoint', idp.tokenEndpoint, '--client-id', 'pw-public', '--password-env', 'PW'], { env: { PW: 'x' } }));
  });
});

describe('grantkit decode', () => {
  let token;
  before(async () => {
    const r = await runCli([...ccBasic(), '--client-secret-env', 'S', '--scope', 'api:read'], { env: { S: CLIENTS.ccBasic.client_secret } });
    assert.equal(r.code, 0, show(r));
    token = r.stdout.trim();
  });

  function assertDecoded(r) {
    assert.equal(r.code, 0, show(r));
    const parsed = JSON.parse(r.stdout);
    assert.equal(r.stdout, `${JSON.stringify(parsed, null, 2)}\n`, 'not pretty-printed with 2 spaces');
    assert.deepEqual(Object.keys(parsed), ['header', 'claims']);
    assert.equal(parsed.header.alg, 'RS256');
    assert.equal(parsed.claims.client_id, 'cc-basic');
    assert.equal(parsed.claims.sub, 'cc-basic');
    assert.equal(parsed.claims.iss, idp.issuer);
    assert.deepEqual(parsed, gk.decodeJwt(token));
  }

  test('token from stdin (with a trailing newline)', async () => {
    assertDecoded(await runCli(['decode'], { stdin: `${token}\n` }));
  });

  test('--token-env and --token-file', async () => {
    assertDecoded(await runCli(['decode', '--token-env', 'T'], { env: { T: token } }));
    assertDecoded(await runCli(['decode', '--token-file', file('tok', `${token}\n`)]));
  });

  test('--token on argv is rejected -> exit 1', async () => {
    assertUsageError(await runCli(['decode', '--token', token]));
  });

  test('garbage -> exit 1', async () => {
    assertUsageError(await runCli(['decode'], { stdin: 'not-a-jwt\n' }));
  });
});

describe('grantkit --help', () => {
  test('grantkit --help -> usage on stdout, exit 0', async () => {
    const r = await runCli(['--help']);
    assert.equal(r.code, 0, show(r));
    for (const word of ['client-credentials', 'password', 'decode']) assert.ok(r.stdout.includes(word), `usage lacks ${word}`);
  });

  test('grantkit with no arguments -> usage on stderr, exit 1', async () => {
    const r = await runCli([]);
    assert.equal(r.code, 1, show(r));
    assert.equal(r.stdout, '');
    assert.ok(r.stderr.startsWith('Usage:'), show(r));
  });

  test('grantkit <command> --help -> exit 0', async () => {
    for (const cmd of ['client-credentials', 'password', 'decode']) {
      const r = await runCli([cmd, '--help']);
      assert.equal(r.code, 0, show(r));
      assert.ok(r.stdout.length > 0, `${cmd} --help printed nothing`);
    }
    const cc = await runCli(['client-credentials', '--help']);
    for (const opt of ['--token-endpoint', '--client-id', '--client-secret-env', '--client-secret-file', '--client-secret-stdin', '--scope', '--json']) {
      assert.ok(cc.stdout.includes(opt), `client-credentials --help lacks ${opt}`);
    }
  });
});

describe('credential flags follow the core\'s rules, reported with their flag', () => {
  const key = new URL('../fixtures/rsa2048.pkcs8.pem', import.meta.url).pathname;
  for (const [name, args, env, expected] of [
    ['--private-key without --client-auth private_key_jwt', ['--private-key', key, '--client-secret-env', 'S'], { S: 'x' },
      /^grantkit: --private-key: INVALID_CONFIG: invalid configuration: privateKey: goes with clientAuth "private_key_jwt"\n$/],
    ['--client-auth private_key_jwt without --private-key', ['--client-auth', 'private_key_jwt'], {},
      /^grantkit: --private-key: INVALID_CONFIG: invalid configuration: privateKey: is required with clientAuth "private_key_jwt"\n$/],
    ['a secret with --client-auth private_key_jwt', ['--client-auth', 'private_key_jwt', '--private-key', key, '--client-secret-env', 'S'], { S: 'x' },
      /^grantkit: --client-secret-env \/ -file \/ -stdin: INVALID_CONFIG: invalid configuration: clientSecret: does not go with clientAuth "private_key_jwt"; give privateKey\n$/],
    ['no secret at all', [], {},
      /^grantkit: --client-secret-env \/ -file \/ -stdin: INVALID_CONFIG: invalid configuration: clientSecret: is required \(or clientAuth "private_key_jwt" with privateKey\)\n$/],
  ]) {
    test(`${name} -> exit 1, nothing sent`, async () => {
      idp.resetRequests();
      const r = await runCli([...ccBasic(), ...args], { env });
      assertUsageError(r);
      assert.match(r.stderr, expected);
      assert.equal(idp.tokenRequests().length, 0);
    });
  }
});
