// The installed CLI's JWT commands against the local IdP: `grantkit jwt-bearer`
// and `grantkit client-credentials --client-auth private_key_jwt`. Exact
// stdout, exit codes (0 / 2 OAuth error / 1 anything else), the request sent.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { CLIENT_ASSERTION_TYPE, JWT_BEARER_GRANT, USERS, startIdp } from '../idp/server.mjs';
import {
  assertNoKeyMaterial, decodeJws, fixture, fixtureJson, fixturePath, form, formPairs, introspect, json, loadGrantkit, runCli,
  show, startScriptedServer, verifyJws,
} from './helpers.mjs';

let idp;
let srv;

const TOKEN_LINE = /^[A-Za-z0-9._-]+\n$/;

before(async () => {
  await loadGrantkit(); // the installed copy must be there
  idp = await startIdp();
  srv = await startScriptedServer();
});
after(async () => {
  await idp?.close();
  await srv?.close();
});

const jwtBearer = (...extra) => [
  'jwt-bearer', '--token-endpoint', idp.tokenEndpoint, '--issuer', 'svc-fixture', '--client-id', 'service-account', ...extra,
];

async function assertActiveToken(r, { sub, clientId }) {
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, TOKEN_LINE, show(r));
  assert.ok(!r.stdout.includes('\r'));
  const token = r.stdout.slice(0, -1);
  const info = await introspect(idp, token);
  assert.equal(info.active, true);
  if (sub !== undefined) assert.equal(info.sub, sub);
  if (clientId !== undefined) assert.equal(info.client_id, clientId);
  return token;
}

/** The assertion of the last jwt-bearer request; asserts the body's shape. */
function lastAssertion(names = ['grant_type', 'assertion', 'scope', 'client_id']) {
  const { body } = idp.requests.at(-1);
  const pairs = formPairs(body);
  assert.deepEqual(pairs.map(([k]) => k), names, body);
  assert.equal(pairs[0][1], JWT_BEARER_GRANT);
  return pairs[1][1];
}

function assertCliFailure(r, code, pattern) {
  assert.equal(r.code, code, show(r));
  assert.equal(r.stdout, '', show(r));
  assert.ok(r.stderr.startsWith('grantkit: '), show(r));
  if (pattern) assert.match(r.stderr, pattern, show(r));
}

describe('grantkit jwt-bearer', () => {
  test('--key PKCS#8 PEM file: exit 0, stdout is the token and "\\n", exact request', async () => {
    const r = await runCli(jwtBearer('--key', fixturePath('rsa2048.pkcs8.pem'), '--scope', 'api:read'));
    await assertActiveToken(r, { sub: 'svc-fixture', clientId: 'service-account' });
    const jws = lastAssertion();
    assert.equal(idp.requests.at(-1).body, form([
      ['grant_type', JWT_BEARER_GRANT], ['assertion', jws], ['scope', 'api:read'], ['client_id', 'service-account'],
    ]));
    const d = decodeJws(jws);
    assert.deepEqual(d.header, { alg: 'RS256', typ: 'JWT' });
    assert.deepEqual(Object.keys(d.claims), ['iss', 'sub', 'aud', 'iat', 'exp', 'jti']);
    assert.equal(d.claims.exp - d.claims.iat, 180);
    await verifyJws(jws, { audience: idp.tokenEndpoint, issuer: 'svc-fixture', subject: 'svc-fixture' });
    assert.equal(r.stderr, '', show(r));
  });

  test('--key JWK file (and PKCS#1 PEM), repeated --scope', async () => {
    let r = await runCli(jwtBearer('--key', fixturePath('rsa2048.jwk.json'), '--scope', 'api:read', '--scope', 'api:write'));
    await assertActiveToken(r, { sub: 'svc-fixture' });
    const d = decodeJws(lastAssertion());
    assert.deepEqual(d.header, { alg: 'RS256', typ: 'JWT', kid: 'fixture-2048' });
    assert.ok(idp.requests.at(-1).body.includes('&scope=api%3Aread+api%3Awrite&client_id=service-account'));

    r = await runCli(jwtBearer('--key', fixturePath('rsa2048.pkcs1.pem')));
    await assertActiveToken(r, { sub: 'svc-fixture' });
    lastAssertion(['grant_type', 'assertion', 'client_id']);
  });

  test('--json prints the TokenSet', async () => {
    const t0 = Math.floor(Date.now() / 1000);
    const r = await runCli(jwtBearer('--key', fixturePath('rsa2048.jwk.json'), '--scope', 'api:read', '--json'));
    const t1 = Math.floor(Date.now() / 1000);
    assert.equal(r.code, 0, show(r));
    assert.ok(r.stdout.endsWith('\n'));
    assert.ok(!r.stdout.includes('\r'));
    const ts = JSON.parse(r.stdout);
    assert.equal(ts.token_type, 'Bearer');
    assert.equal(ts.scope, 'api:read');
    assert.equal(ts.expires_in, 3600);
    assert.ok(ts.expires_at >= t0 + 3600 && ts.expires_at <= t1 + 3600);
    assert.equal(ts.raw.access_token, ts.access_token);
    assert.equal((await introspect(idp, ts.access_token)).sub, 'svc-fixture');
  });

  test('--lifetime, --algorithm PS256, --param, --subject, --audience go into the assertion and body', async () => {
    const r = await runCli(jwtBearer('--key', fixturePath('rsa2048.pkcs8.pem'), '--lifetime', '60', '--algorithm', 'PS256', '--scope', 'api:read'));
    await assertActiveToken(r, { sub: 'svc-fixture' });
    const jws = lastAssertion();
    const d = decodeJws(jws);
    assert.equal(d.header.alg, 'PS256');
    assert.equal(d.claims.exp - d.claims.iat, 60);
    await verifyJws(jws, { alg: 'PS256', audience: idp.tokenEndpoint });

    // scripted server: the body and claims as sent, whatever a server thinks of them
    srv.script((_req, res) => json(res, 200, { access_token: 'jb-token', token_type: 'Bearer' }));
    const r2 = await runCli([
      'jwt-bearer', '--token-endpoint', srv.url(), '--key', fixturePath('rsa2048.jwk.json'), '--issuer', 'iss-1', '--subject', 'sub-1',
      '--audience', 'https://aud.example.test:443/x', '--client-id', 'cid', '--scope', 's', '--param', 'a=1', '--param', 'b=x=y',
    ]);
    assert.equal(r2.code, 0, show(r2));
    assert.equal(r2.stdout, 'jb-token\n');
    const { body } = srv.hits[0];
    const pairs = formPairs(body);
    assert.deepEqual(pairs.map(([k]) => k), ['grant_type', 'assertion', 'scope', 'a', 'b', 'client_id']);
    assert.equal(body, form([['grant_type', JWT_BEARER_GRANT], ['assertion', pairs[1][1]], ['scope', 's'], ['a', '1'], ['b', 'x=y'], ['client_id', 'cid']]));
    const c = decodeJws(pairs[1][1]).claims;
    assert.equal(c.iss, 'iss-1');
    assert.equal(c.sub, 'sub-1');
    assert.equal(c.aud, 'https://aud.example.test:443/x');
    await verifyJws(pairs[1][1], { audience: 'https://aud.example.test:443/x', issuer: 'iss-1', subject: 'sub-1' });
  });

  test('bad key files -> exit 1, stderr names the code, no key material', async () => {
    for (const [file, code] of [
      ['rsa1024.pkcs8.pem', 'KEY_TOO_SMALL'],
      ['rsa2048.public.pem', 'KEY_PUBLIC_ONLY'],
      ['rsa2048.public.jwk.json', 'KEY_PUBLIC_ONLY'],
      ['ec-p256.jwk.json', 'KEY_NOT_RSA'],
      ['rsa2048.encrypted.pem', 'KEY_ENCRYPTED'],
    ]) {
      const n = idp.requests.length;
      const r = await runCli(jwtBearer('--key', fixturePath(file)));
      assertCliFailure(r, 1, new RegExp(code));
      assertNoKeyMaterial(r.stderr, fixture(file), `stderr for ${file}`);
      assert.equal(idp.requests.length, n, 'no request');
    }
  });

  test('a key file that does not exist, or no --key / --issuer -> exit 1', async () => {
    assertCliFailure(await runCli(jwtBearer('--key', fixturePath('no-such-key.pem'))), 1);
    assertCliFailure(await runCli(jwtBearer()), 1);
    assertCliFailure(await runCli(['jwt-bearer', '--token-endpoint', idp.tokenEndpoint, '--key', fixturePath('rsa2048.pkcs8.pem')]), 1);
  });

  test('the IdP rejects the assertion (wrong key) -> exit 2 naming invalid_grant', async () => {
    const r = await runCli(jwtBearer('--key', fixturePath('other2048.pkcs8.pem'), '--scope', 'api:read'));
    assertCliFailure(r, 2, /invalid_grant/);
    assertNoKeyMaterial(r.stderr, fixture('other2048.pkcs8.pem'), 'stderr');
  });

  test('--lifetime 3600 -> exit 2 invalid_grant (the IdP allows 15 minutes)', async () => {
    const r = await runCli(jwtBearer('--key', fixturePath('rsa2048.pkcs8.pem'), '--lifetime', '3600'));
    assertCliFailure(r, 2, /invalid_grant/);
  });
});

describe('grantkit client-credentials --client-auth private_key_jwt', () => {
  const pkjwt = (...extra) => [
    'client-credentials', '--token-endpoint', idp.tokenEndpoint, '--client-id', 'pkjwt-client', '--client-auth', 'private_key_jwt', ...extra,
  ];

  test('--private-key PEM: exit 0, token active, client assertion in the body', async () => {
    const r = await runCli(pkjwt('--private-key', fixturePath('rsa2048.pkcs8.pem'), '--scope', 'api:read'));
    await assertActiveToken(r, { clientId: 'pkjwt-client' });
    const { body, headers } = idp.requests.at(-1);
    assert.equal(headers.authorization, undefined);
    const pairs = formPairs(body);
    assert.deepEqual(pairs.map(([k]) => k), ['grant_type', 'scope', 'client_id', 'client_assertion_type', 'client_assertion']);
    assert.equal(body, form([
      ['grant_type', 'client_credentials'], ['scope', 'api:read'], ['client_id', 'pkjwt-client'],
      ['client_assertion_type', CLIENT_ASSERTION_TYPE], ['client_assertion', pairs[4][1]],
    ]));
    const { payload } = await verifyJws(pairs[4][1], { audience: idp.tokenEndpoint, issuer: 'pkjwt-client', subject: 'pkjwt-client' });
    assert.equal(payload.exp - payload.iat, 60);
  });

  test('--private-key JWK with --certificate and --algorithm PS256', async () => {
    const r = await runCli(pkjwt('--private-key', fixturePath('rsa2048.jwk.json'), '--certificate', fixturePath('rsa2048.cert.pem'), '--algorithm', 'PS256'));
    await assertActiveToken(r, { clientId: 'pkjwt-client' });
    const assertion = formPairs(idp.requests.at(-1).body).at(-1)[1];
    const d = decodeJws(assertion);
    assert.deepEqual(d.header, { alg: 'PS256', typ: 'JWT', kid: 'fixture-2048', ...fixtureJson('rsa2048.cert.thumbprints.json') });
    await verifyJws(assertion, { alg: 'PS256', audience: idp.tokenEndpoint, issuer: 'pkjwt-client' });
  });

  test('password --client-auth private_key_jwt --private-key: exit 0, token for alice', async () => {
    const r = await runCli([
      'password', '--token-endpoint', idp.tokenEndpoint, '--client-id', 'pkjwt-password', '--client-auth', 'private_key_jwt',
      '--private-key', fixturePath('rsa2048.pkcs1.pem'), '--username', 'alice', '--password-env', 'PW', '--scope', 'api:read',
    ], { env: { PW: USERS.alice.password } });
    await assertActiveToken(r, { sub: 'alice', clientId: 'pkjwt-password' });
    const { body } = idp.requests.at(-1);
    const pairs = formPairs(body);
    assert.deepEqual(pairs.map(([k]) => k), ['grant_type', 'username', 'password', 'scope', 'client_id', 'client_assertion_type', 'client_assertion']);
    await verifyJws(pairs[6][1], { audience: idp.tokenEndpoint, issuer: 'pkjwt-password', subject: 'pkjwt-password' });
  });

  test('the wrong private key -> exit 2 naming invalid_client', async () => {
    const r = await runCli(pkjwt('--private-key', fixturePath('other2048.pkcs8.pem')));
    assertCliFailure(r, 2, /invalid_client/);
  });

  test('a bad private key file -> exit 1 naming the code; a mismatched certificate -> exit 1', async () => {
    let r = await runCli(pkjwt('--private-key', fixturePath('ec-p256.pkcs8.pem')));
    assertCliFailure(r, 1, /KEY_NOT_RSA/);
    assertNoKeyMaterial(r.stderr, fixture('ec-p256.pkcs8.pem'), 'stderr');
    r = await runCli(pkjwt('--private-key', fixturePath('other2048.pkcs8.pem'), '--certificate', fixturePath('rsa2048.cert.pem')));
    assertCliFailure(r, 1, /certificate/);
    assertNoKeyMaterial(r.stderr, fixture('other2048.pkcs8.pem'), 'stderr');
  });
});
