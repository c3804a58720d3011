// private_key_jwt client authentication (RFC 7523 §2.2, OIDC Core §9) on
// ClientCredentials and PasswordGrant of the installed package, against the
// local IdP (oidc-provider verifies the client assertion itself); and the key
// errors every constructor that takes a private key throws.
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { CLIENT_ASSERTION_TYPE, RESOURCE, USERS, startIdp } from '../idp/server.mjs';
import {
  assertGrantkitError, assertJti, assertNoKeyMaterial, decodeJws, errorText, fixture, fixtureJson, form, formPairs, introspect, lastRequest, loadGrantkit, rejection, thrown, verifyJws,
} from './helpers.mjs';

let gk;
let idp;

before(async () => {
  gk = await loadGrantkit();
  idp = await startIdp();
});
after(async () => { await idp?.close(); });

const THUMBPRINTS = fixtureJson('rsa2048.cert.thumbprints.json');

/** other2048 as a private JWK (Node's export), for the certificate mismatch. */
const otherJwk = () => ({ ...createPrivateKey(fixture('other2048.pkcs8.pem')).export({ format: 'jwk' }), kid: 'other-2048' });

function cc(extra = {}) {
  const options = {
    tokenEndpoint: idp.tokenEndpoint,
    clientId: 'pkjwt-client',
    clientAuth: 'private_key_jwt',
    privateKey: fixture('rsa2048.pkcs8.pem'),
    scope: 'api:read',
    ...extra,
  };
  for (const [k, v] of Object.entries(options)) if (v === undefined) delete options[k];
  return new gk.ClientCredentials(options);
}

/**
 * Check a recorded body: `grant` pairs, then client_id, client_assertion_type
 * and client_assertion, nothing else; no Authorization header. Returns the
 * client assertion.
 */
function clientAssertionOf(req, grant, clientId) {
  assert.equal(req.headers.authorization, undefined, 'no Authorization header');
  assert.equal(req.headers['content-type'], 'application/x-www-form-urlencoded');
  const pairs = formPairs(req.body);
  assert.deepEqual(pairs.map(([k]) => k), [...grant.map(([k]) => k), 'client_id', 'client_assertion_type', 'client_assertion'], req.body);
  const assertion = pairs.at(-1)[1];
  assert.equal(req.body, form([...grant, ['client_id', clientId], ['client_assertion_type', CLIENT_ASSERTION_TYPE], ['client_assertion', assertion]]));
  assert.ok(req.body.includes(`&client_id=${clientId}&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=`), req.body);
  return assertion;
}

/** The client assertion's header and claims, exactly; verified with jose. */
async function assertClientAssertion(jws, clientId, { alg = 'RS256', kid, x5t = false, t0, t1 } = {}) {
  const d = decodeJws(jws);
  const header = {
    alg, typ: 'JWT', ...(kid === undefined ? {} : { kid }), ...(x5t ? { x5t: THUMBPRINTS.x5t, 'x5t#S256': THUMBPRINTS['x5t#S256'] } : {}),
  };
  assert.deepEqual(d.header, header);
  assert.deepEqual(Object.keys(d.claims).sort(), ['aud', 'exp', 'iat', 'iss', 'jti', 'sub']);
  assert.deepEqual(Object.keys(d.claims), ['iss', 'sub', 'aud', 'iat', 'exp', 'jti'], `claim order of ${d.claimsJson}`);
  assert.equal(d.claims.iss, clientId);
  assert.equal(d.claims.sub, clientId);
  assert.equal(d.claims.aud, idp.tokenEndpoint);
  assert.ok(Number.isInteger(d.claims.iat));
  if (t0 !== undefined) assert.ok(d.claims.iat >= Math.floor(t0 / 1000) && d.claims.iat <= Math.ceil(t1 / 1000), `iat ${d.claims.iat}`);
  assert.equal(d.claims.exp - d.claims.iat, 60);
  assertJti(d.claims.jti);
  const { payload } = await verifyJws(jws, { alg, audience: idp.tokenEndpoint, issuer: clientId, subject: clientId });
  assert.equal(payload.aud, idp.tokenEndpoint);
  return d;
}

describe('ClientCredentials with private_key_jwt', () => {
  for (const [name, privateKey, kid] of [
    ['PKCS#8 PEM', () => fixture('rsa2048.pkcs8.pem'), undefined],
    ['PKCS#1 PEM', () => fixture('rsa2048.pkcs1.pem'), undefined],
    ['JWK object', () => fixtureJson('rsa2048.jwk.json'), 'fixture-2048'],
    ['JWK JSON string', () => fixture('rsa2048.jwk.json'), 'fixture-2048'],
  ]) {
    test(`privateKey as ${name}: token, introspection active, exact request, client assertion verifies`, async () => {
      const n = idp.requests.length;
      const t0 = Date.now();
      const ts = await cc({ privateKey: privateKey() }).getToken();
      const t1 = Date.now();
      assert.equal(idp.requests.length, n + 1);
      assert.equal(ts.token_type, 'Bearer');
      assert.equal(ts.scope, 'api:read');
      const info = await introspect(idp, ts.access_token);
      assert.equal(info.active, true);
      assert.equal(info.client_id, 'pkjwt-client');
      assert.equal(info.aud, RESOURCE);
      const jws = clientAssertionOf(lastRequest(idp), [['grant_type', 'client_credentials'], ['scope', 'api:read']], 'pkjwt-client');
      await assertClientAssertion(jws, 'pkjwt-client', { kid, t0, t1 });
    });
  }

  test('extraParams come after scope, before the client authentication parameters', async () => {
    await cc({ scope: ['api:read', 'api:write'], extraParams: { resource: RESOURCE } }).getToken();
    const jws = clientAssertionOf(lastRequest(idp), [['grant_type', 'client_credentials'], ['scope', 'api:read api:write'], ['resource', RESOURCE]], 'pkjwt-client');
    await assertClientAssertion(jws, 'pkjwt-client');
  });

  test('a fresh jti for every request (oidc-provider accepts each client assertion once)', async () => {
    const c = cc();
    await c.getToken();
    const a = decodeJws(clientAssertionOf(lastRequest(idp), [['grant_type', 'client_credentials'], ['scope', 'api:read']], 'pkjwt-client'));
    await c.getToken();
    const b = decodeJws(clientAssertionOf(lastRequest(idp), [['grant_type', 'client_credentials'], ['scope', 'api:read']], 'pkjwt-client'));
    assert.notEqual(a.claims.jti, b.claims.jti);
  });

  test('certificate: the header carries x5t and x5t#S256 of the certificate; the IdP accepts', async () => {
    for (const privateKey of [fixture('rsa2048.pkcs8.pem'), fixtureJson('rsa2048.jwk.json')]) {
      const ts = await cc({ privateKey, certificate: fixture('rsa2048.cert.pem') }).getToken();
      assert.equal((await introspect(idp, ts.access_token)).active, true);
      const jws = clientAssertionOf(lastRequest(idp), [['grant_type', 'client_credentials'], ['scope', 'api:read']], 'pkjwt-client');
      const d = await assertClientAssertion(jws, 'pkjwt-client', { kid: typeof privateKey === 'string' ? undefined : 'fixture-2048', x5t: true });
      assert.equal(d.header.x5t, 'DVFwEYwUzWVbjQwmcz1V3zbVzpU');
      assert.equal(d.header['x5t#S256'], 'Z6DpL1D4__oEmq27zJ7VOyCAoSo0GkgsymNfpfooSTg');
    }
  });

  test('signer "rust" and "webcrypto" both authenticate', async () => {
    for (const signer of ['rust', 'webcrypto']) {
      for (const algorithm of ['RS256', 'PS256']) {
        const ts = await cc({ signer, algorithm }).getToken();
        assert.equal((await introspect(idp, ts.access_token)).client_id, 'pkjwt-client', `${signer} ${algorithm}`);
        const jws = clientAssertionOf(lastRequest(idp), [['grant_type', 'client_credentials'], ['scope', 'api:read']], 'pkjwt-client');
        await assertClientAssertion(jws, 'pkjwt-client', { alg: algorithm });
      }
    }
  });

  test('pkjwt-ps256 (registered for PS256 only): algorithm PS256 -> token; the RS256 default -> invalid_client', async () => {
    const ts = await cc({ clientId: 'pkjwt-ps256', algorithm: 'PS256' }).getToken();
    assert.equal((await introspect(idp, ts.access_token)).client_id, 'pkjwt-ps256');
    await assertClientAssertion(clientAssertionOf(lastRequest(idp), [['grant_type', 'client_credentials'], ['scope', 'api:read']], 'pkjwt-ps256'), 'pkjwt-ps256', { alg: 'PS256' });

    const err = await rejection(cc({ clientId: 'pkjwt-ps256' }).getToken());
    assertGrantkitError(err, 'OAUTH_ERROR', { status: 401, error: 'invalid_client' });
  });

  test('the other key (other2048) -> OAUTH_ERROR invalid_client, no key material in the error', async () => {
    const err = await rejection(cc({ privateKey: fixture('other2048.pkcs8.pem') }).getToken());
    assertGrantkitError(err, 'OAUTH_ERROR', { status: 401, error: 'invalid_client' });
    assert.match(err.message, /invalid_client/);
    assertNoKeyMaterial(errorText(err), fixture('other2048.pkcs8.pem'), 'the error');
    const jws = clientAssertionOf(lastRequest(idp), [['grant_type', 'client_credentials'], ['scope', 'api:read']], 'pkjwt-client');
    await assert.rejects(verifyJws(jws, {}), 'not signed with rsa2048');
    await verifyJws(jws, { publicJwk: 'other2048.public.jwk.json', audience: idp.tokenEndpoint });
  });

  test('private_key_jwt without privateKey -> INVALID_CONFIG', () => {
    const err = thrown(() => cc({ privateKey: undefined }));
    assertGrantkitError(err, 'INVALID_CONFIG');
  });
});

describe('PasswordGrant with private_key_jwt', () => {
  test('pkjwt-password: token for alice, exact request, client assertion verifies', async () => {
    const pg = new gk.PasswordGrant({
      tokenEndpoint: idp.tokenEndpoint,
      clientId: 'pkjwt-password',
      clientAuth: 'private_key_jwt',
      privateKey: fixtureJson('rsa2048.jwk.json'),
      username: 'alice',
      password: USERS.alice.password,
      scope: 'api:read',
    });
    const t0 = Date.now();
    const ts = await pg.getToken();
    const t1 = Date.now();
    const info = await introspect(idp, ts.access_token);
    assert.equal(info.active, true);
    assert.equal(info.sub, 'alice');
    assert.equal(info.client_id, 'pkjwt-password');
    const jws = clientAssertionOf(lastRequest(idp), [
      ['grant_type', 'password'], ['username', 'alice'], ['password', USERS.alice.password], ['scope', 'api:read'],
    ], 'pkjwt-password');
    await assertClientAssertion(jws, 'pkjwt-password', { kid: 'fixture-2048', t0, t1 });
  });

  test('with a certificate and PS256, through the Rust signer', async () => {
    const pg = new gk.PasswordGrant({
      tokenEndpoint: idp.tokenEndpoint,
      clientId: 'pkjwt-password',
      clientAuth: 'private_key_jwt',
      privateKey: fixture('rsa2048.pkcs1.pem'),
      certificate: fixture('rsa2048.cert.pem'),
      algorithm: 'PS256',
      signer: 'rust',
      username: 'bob',
      password: USERS.bob.password,
    });
    const ts = await pg.getToken();
    assert.equal((await introspect(idp, ts.access_token)).sub, 'bob');
    const jws = clientAssertionOf(lastRequest(idp), [['grant_type', 'password'], ['username', 'bob'], ['password', USERS.bob.password]], 'pkjwt-password');
    await assertClientAssertion(jws, 'pkjwt-password', { alg: 'PS256', x5t: true });
  });
});

describe('key errors: thrown by the constructor, with a stable code, without key material', () => {
  // [what, expected code, the key, the fixture file it comes from]
  const BAD_KEYS = [
    ['rsa2048.public.pem', 'KEY_PUBLIC_ONLY', () => fixture('rsa2048.public.pem'), 'rsa2048.public.pem'],
    ['rsa2048.public.jwk.json (object)', 'KEY_PUBLIC_ONLY', () => fixtureJson('rsa2048.public.jwk.json'), 'rsa2048.public.jwk.json'],
    ['rsa2048.public.jwk.json (JSON string)', 'KEY_PUBLIC_ONLY', () => fixture('rsa2048.public.jwk.json'), 'rsa2048.public.jwk.json'],
    ['rsa2048.cert.pem', 'KEY_PUBLIC_ONLY', () => fixture('rsa2048.cert.pem'), 'rsa2048.cert.pem'],
    ['rsa1024.pkcs8.pem', 'KEY_TOO_SMALL', () => fixture('rsa1024.pkcs8.pem'), 'rsa1024.pkcs8.pem'],
    ['rsa1024.jwk.json', 'KEY_TOO_SMALL', () => fixtureJson('rsa1024.jwk.json'), 'rsa1024.jwk.json'],
    ['ec-p256.pkcs8.pem', 'KEY_NOT_RSA', () => fixture('ec-p256.pkcs8.pem'), 'ec-p256.pkcs8.pem'],
    ['ec-p256.jwk.json', 'KEY_NOT_RSA', () => fixtureJson('ec-p256.jwk.json'), 'ec-p256.jwk.json'],
    ['rsa2048.encrypted.pem', 'KEY_ENCRYPTED', () => fixture('rsa2048.encrypted.pem'), 'rsa2048.encrypted.pem'],
    ['a PEM whose body is not base64', 'KEY_MALFORMED', () => '-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----', 'rsa2048.pkcs8.pem'],
    ['a JWK with n = "***"', 'KEY_MALFORMED', () => ({ ...fixtureJson('rsa2048.jwk.json'), n: '***' }), 'rsa2048.jwk.json'],
  ];

  const constructors = {
    JwtBearer: (key) => new gk.JwtBearer({ tokenEndpoint: idp.tokenEndpoint, key, issuer: 'svc-fixture' }),
    ClientCredentials: (privateKey) => new gk.ClientCredentials({
      tokenEndpoint: idp.tokenEndpoint, clientId: 'pkjwt-client', clientAuth: 'private_key_jwt', privateKey,
    }),
    PasswordGrant: (privateKey) => new gk.PasswordGrant({
      tokenEndpoint: idp.tokenEndpoint, clientId: 'pkjwt-password', clientAuth: 'private_key_jwt', privateKey, username: 'alice', password: 'x',
    }),
  };

  for (const [name, code, key, file] of BAD_KEYS) {
    test(`${name} -> ${code}`, () => {
      const n = idp.requests.length;
      for (const [ctor, make] of Object.entries(constructors)) {
        const err = thrown(() => make(key()));
        assertGrantkitError(err, code);
        assert.ok(err.message.length > 0);
        assertNoKeyMaterial(err.message, fixture(file), `${ctor}: the message`);
        assertNoKeyMaterial(errorText(err), fixture(file), `${ctor}: the error`);
        // the private key of the same modulus (public / certificate fixtures): nothing from it either
        assertNoKeyMaterial(errorText(err), fixture('rsa2048.pkcs8.pem'), `${ctor}: the error`);
      }
      assert.equal(idp.requests.length, n, 'no request');
    });
  }

  test('the certificate of another key -> INVALID_CONFIG, field "certificate"', () => {
    for (const privateKey of [fixture('other2048.pkcs8.pem'), otherJwk()]) {
      const err = thrown(() => cc({ privateKey, certificate: fixture('rsa2048.cert.pem') }));
      assertGrantkitError(err, 'INVALID_CONFIG', { field: 'certificate' });
      assertNoKeyMaterial(errorText(err), fixture('other2048.pkcs8.pem'), 'the error');
      assertNoKeyMaterial(errorText(err), JSON.stringify(otherJwk()), 'the error');
      const pgErr = thrown(() => new gk.PasswordGrant({
        tokenEndpoint: idp.tokenEndpoint, clientId: 'pkjwt-password', clientAuth: 'private_key_jwt', privateKey, certificate: fixture('rsa2048.cert.pem'), username: 'alice', password: 'x',
      }));
      assertGrantkitError(pgErr, 'INVALID_CONFIG', { field: 'certificate' });
    }
  });
});
