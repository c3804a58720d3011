// Checks of the local identity provider itself (tests/idp/server.mjs), with
// plain fetch: every grant the e2e tests rely on, and its error answers.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as jose from 'jose';

import {
  ASSERTION_RULES, CLIENT_ASSERTION_TYPE, CLIENTS, DEVICE_CODE_GRANT, JWT_BEARER_GRANT, RESOURCE, SERVICE_ACCOUNTS, USERS, startIdp,
} from './server.mjs';
import { approveDevice } from './device_approve.mjs';
import { basicHeader as basic, form, formEncode } from '../e2e/helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, '..', 'fixtures');
const fixture = (name) => fs.readFileSync(path.join(fixtures, name), 'utf8');

let idp;

async function post(url, body, headers = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers },
    body,
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}

async function introspect(token) {
  const r = await post(
    idp.introspectionEndpoint,
    form([['token', token]]),
    { authorization: basic(CLIENTS.introspector.client_id, CLIENTS.introspector.client_secret) },
  );
  assert.equal(r.status, 200, r.text);
  return r.json;
}

async function introspectAt(target, token) {
  const r = await post(
    target.introspectionEndpoint,
    form([['token', token]]),
    { authorization: basic(CLIENTS.introspector.client_id, CLIENTS.introspector.client_secret) },
  );
  assert.equal(r.status, 200, r.text);
  return r.json;
}

async function verifyAccessToken(token) {
  const jwks = jose.createLocalJWKSet({ keys: [idp.publicJwk] });
  return jose.jwtVerify(token, jwks, { issuer: idp.issuer, audience: RESOURCE, typ: 'at+jwt' });
}

before(async () => { idp = await startIdp(); });
after(async () => { await idp?.close(); });

describe('form encoding helper', () => {
  test('matches URLSearchParams for the awkward characters', () => {
    for (const s of [CLIENTS.ccBasic.client_secret, 's3cret:+%&é/basic', "a b~!'()*-._", '\u{1F600}']) {
      assert.equal(formEncode(s), new URLSearchParams({ x: s }).toString().slice(2));
    }
    assert.equal(formEncode(CLIENTS.ccBasic.client_secret), 's3cret%3A%2B%25%26+%7E*%2Fbasic');
  });
});

describe('client_credentials', () => {
  test('client_secret_basic with a form-urlencoded secret: JWT access token, introspection active', async () => {
    const { client_id: id, client_secret: secret } = CLIENTS.ccBasic;
    const before = Math.floor(Date.now() / 1000);
    const r = await post(idp.tokenEndpoint, 'grant_type=client_credentials&scope=api%3Aread', { authorization: basic(id, secret) });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(Object.keys(r.json).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
    assert.equal(r.json.token_type, 'Bearer');
    assert.equal(r.json.scope, 'api:read');
    assert.equal(r.json.expires_in, 3600);
    assert.match(r.headers.get('cache-control'), /no-store/);

    const { payload, protectedHeader } = await verifyAccessToken(r.json.access_token);
    assert.equal(protectedHeader.alg, 'RS256');
    assert.equal(protectedHeader.typ, 'at+jwt');
    assert.equal(protectedHeader.kid, idp.publicJwk.kid);
    assert.equal(payload.client_id, id);
    assert.equal(payload.sub, id);
    assert.equal(payload.scope, 'api:read');
    assert.equal(payload.exp - payload.iat, 3600);
    assert.ok(payload.iat >= before - 1 && payload.iat <= before + 5);

    const info = await introspect(r.json.access_token);
    assert.equal(info.active, true);
    assert.equal(info.client_id, id);
    assert.equal(info.scope, 'api:read');
    assert.equal(info.aud, RESOURCE);
    assert.equal(info.iss, idp.issuer);
    assert.equal(info.exp, payload.exp);
    assert.equal(info.iat, payload.iat);
    assert.equal(info.token_type, 'Bearer');
  });

  test('the raw, not form-urlencoded secret in the Basic header is rejected', async () => {
    const { client_id: id, client_secret: secret } = CLIENTS.ccBasic;
    const raw = `Basic ${Buffer.from(`${id}:${secret}`, 'utf8').toString('base64')}`;
    const r = await post(idp.tokenEndpoint, 'grant_type=client_credentials', { authorization: raw });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error, 'invalid_request');
  });

  test('client_secret_post', async () => {
    const { client_id: id, client_secret: secret } = CLIENTS.ccPost;
    const r = await post(idp.tokenEndpoint, form([['grant_type', 'client_credentials'], ['scope', 'api:read api:write'], ['client_id', id], ['client_secret', secret]]));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.scope, 'api:read api:write');
    const info = await introspect(r.json.access_token);
    assert.equal(info.active, true);
    assert.equal(info.client_id, id);
  });

  test('wrong secret -> 401 invalid_client (post and basic)', async () => {
    let r = await post(idp.tokenEndpoint, form([['grant_type', 'client_credentials'], ['client_id', 'cc-post'], ['client_secret', 'wrong']]));
    assert.equal(r.status, 401);
    assert.equal(r.json.error, 'invalid_client');
    r = await post(idp.tokenEndpoint, 'grant_type=client_credentials', { authorization: basic('cc-basic', 'wrong') });
    assert.equal(r.status, 401);
    assert.equal(r.json.error, 'invalid_client');
    assert.match(r.headers.get('www-authenticate'), /^Basic /);
  });

  test('oidc-provider treats client_secret_basic and client_secret_post as interchangeable', async () => {
    // So the IdP accepting a token request does not prove the client used the
    // registered method: the e2e tests assert the recorded request instead.
    const { client_id: id, client_secret: secret } = CLIENTS.ccBasic;
    const r = await post(idp.tokenEndpoint, form([['grant_type', 'client_credentials'], ['client_id', id], ['client_secret', secret]]));
    assert.equal(r.status, 200, r.text);
  });

  test('unknown resource -> invalid_target', async () => {
    const r = await post(idp.tokenEndpoint, form([['grant_type', 'client_credentials'], ['resource', 'urn:other']]), { authorization: basic('cc-basic', CLIENTS.ccBasic.client_secret) });
    assert.equal(r.status, 400);
    assert.equal(r.json.error, 'invalid_target');
  });
});

describe('password grant', () => {
  test('confidential client: access, refresh and id token; introspection; refresh works', async () => {
    const { client_id: id, client_secret: secret } = CLIENTS.pwClient;
    const r = await post(
      idp.tokenEndpoint,
      form([['grant_type', 'password'], ['username', 'alice'], ['password', USERS.alice.password], ['scope', 'openid offline_access api:read']]),
      { authorization: basic(id, secret) },
    );
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(Object.keys(r.json).sort(), ['access_token', 'expires_in', 'id_token', 'refresh_token', 'scope', 'token_type']);
    assert.equal(r.json.token_type, 'Bearer');
    assert.equal(r.json.expires_in, 3600);
    assert.equal(r.json.scope, 'api:read');

    const { payload } = await verifyAccessToken(r.json.access_token);
    assert.equal(payload.sub, 'alice');
    assert.equal(payload.client_id, id);

    const jwks = jose.createLocalJWKSet({ keys: [idp.publicJwk] });
    const idt = await jose.jwtVerify(r.json.id_token, jwks, { issuer: idp.issuer, audience: id });
    assert.equal(idt.payload.sub, 'alice');

    const info = await introspect(r.json.access_token);
    assert.equal(info.active, true);
    assert.equal(info.sub, 'alice');
    assert.equal(info.client_id, id);

    const rtInfo = await introspect(r.json.refresh_token);
    assert.equal(rtInfo.active, true);
    assert.equal(rtInfo.scope, 'openid offline_access api:read');

    const refreshed = await post(idp.tokenEndpoint, form([['grant_type', 'refresh_token'], ['refresh_token', r.json.refresh_token]]), { authorization: basic(id, secret) });
    assert.equal(refreshed.status, 200, refreshed.text);
    assert.equal(refreshed.json.scope, 'api:read');
    assert.equal((await verifyAccessToken(refreshed.json.access_token)).payload.sub, 'alice');
    assert.equal((await introspect(refreshed.json.access_token)).active, true);
  });

  test('public client (client_id in the body): access and id token, no refresh token (not allowed to refresh)', async () => {
    const r = await post(
      idp.tokenEndpoint,
      form([['grant_type', 'password'], ['username', 'bob'], ['password', USERS.bob.password], ['scope', 'openid offline_access api:read'], ['client_id', 'pw-public']]),
    );
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(Object.keys(r.json).sort(), ['access_token', 'expires_in', 'id_token', 'scope', 'token_type']);
    assert.equal(jose.decodeJwt(r.json.id_token).sub, 'bob');
    const info = await introspect(r.json.access_token);
    assert.equal(info.active, true);
    assert.equal(info.sub, 'bob');
    assert.equal(info.client_id, 'pw-public');
  });

  test('without openid / offline_access: no id token, no refresh token', async () => {
    const r = await post(idp.tokenEndpoint, form([['grant_type', 'password'], ['username', 'alice'], ['password', USERS.alice.password]]), { authorization: basic('pw-client', 'pw-secret') });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(Object.keys(r.json).sort(), ['access_token', 'expires_in', 'token_type']);
  });

  test('wrong password / unknown user -> 400 invalid_grant', async () => {
    for (const [u, p] of [['alice', 'wrong'], ['alice', USERS.bob.password], ['nobody', 'x']]) {
      const r = await post(idp.tokenEndpoint, form([['grant_type', 'password'], ['username', u], ['password', p]]), { authorization: basic('pw-client', 'pw-secret') });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.error, 'invalid_grant');
      assert.ok(!r.text.includes(p));
    }
  });

  test('missing username or password -> 400 invalid_request', async () => {
    for (const pairs of [[['username', 'alice']], [['password', 'x']], [['username', ''], ['password', 'x']]]) {
      const r = await post(idp.tokenEndpoint, form([['grant_type', 'password'], ...pairs]), { authorization: basic('pw-client', 'pw-secret') });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.error, 'invalid_request');
    }
  });

  test('client authentication runs first: wrong client secret -> 401 invalid_client', async () => {
    const r = await post(idp.tokenEndpoint, form([['grant_type', 'password'], ['username', 'alice'], ['password', USERS.alice.password]]), { authorization: basic('pw-client', 'nope') });
    assert.equal(r.status, 401);
    assert.equal(r.json.error, 'invalid_client');
  });

  test('a client not allowed the password grant is refused', async () => {
    const r = await post(idp.tokenEndpoint, form([['grant_type', 'password'], ['username', 'alice'], ['password', USERS.alice.password]]), { authorization: basic('cc-basic', CLIENTS.ccBasic.client_secret) });
    assert.equal(r.status, 400);
    assert.equal(r.json.error, 'invalid_request');
    assert.match(r.json.error_description, /not allowed/);
  });

  test('unknown scope -> invalid_scope', async () => {
    const r = await post(idp.tokenEndpoint, form([['grant_type', 'password'], ['username', 'alice'], ['password', USERS.alice.password], ['scope', 'api:read admin']]), { authorization: basic('pw-client', 'pw-secret') });
    assert.equal(r.status, 400);
    assert.equal(r.json.error, 'invalid_scope');
  });
});

describe('introspection, revocation, discovery, recording', () => {
  test('revoked JWT access token introspects inactive; garbage is inactive', async () => {
    const { client_id: id, client_secret: secret } = CLIENTS.ccPost;
    const r = await post(idp.tokenEndpoint, form([['grant_type', 'client_credentials'], ['client_id', id], ['client_secret', secret]]));
    assert.equal(r.status, 200);
    assert.equal((await introspect(r.json.access_token)).active, true);
    const rev = await post(idp.revocationEndpoint, form([['token', r.json.access_token], ['client_id', id], ['client_secret', secret]]));
    assert.equal(rev.status, 200, rev.text);
    assert.equal((await introspect(r.json.access_token)).active, false);
    assert.deepEqual(await introspect('not-a-token'), { active: false });
  });

  test('introspection requires client authentication', async () => {
    const r = await post(idp.introspectionEndpoint, form([['token', 'x']]));
    assert.equal(r.status, 400);
    assert.equal(r.json.error, 'invalid_request');
    const w = await post(idp.introspectionEndpoint, form([['token', 'x']]), { authorization: basic('introspector', 'wrong') });
    assert.equal(w.status, 401);
    assert.equal(w.json.error, 'invalid_client');
  });

  test('discovery announces the endpoints and grants', async () => {
    const asked = idp.discoveryRequests().length;
    const res = await fetch(`${idp.issuer}/.well-known/openid-configuration`);
    assert.equal(idp.discoveryRequests().length, asked + 1, 'the discovery GET is recorded');
    assert.equal(idp.discoveryRequests().at(-1).path, '/.well-known/openid-configuration');
    const d = await res.json();
    assert.equal(d.issuer, idp.issuer);
    assert.equal(d.token_endpoint, idp.tokenEndpoint);
    assert.equal(d.introspection_endpoint, idp.introspectionEndpoint);
    assert.equal(d.revocation_endpoint, idp.revocationEndpoint);
    assert.equal(d.device_authorization_endpoint, idp.deviceAuthorizationEndpoint);
    assert.equal(d.jwks_uri, idp.jwksUri);
    for (const g of ['client_credentials', 'password', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code', JWT_BEARER_GRANT]) {
      assert.ok(d.grant_types_supported.includes(g), g);
    }
    const jwks = await (await fetch(idp.jwksUri)).json();
    assert.deepEqual(jwks.keys.map((k) => k.kid), [idp.publicJwk.kid]);
  });

  test('every token endpoint request is recorded raw', async () => {
    const start = idp.requests.length;
    const body = 'grant_type=client_credentials&scope=api%3Aread&client_id=cc-post&client_secret=post-secret-123';
    const r = await post(idp.tokenEndpoint, body, { 'x-test': 'Yes' });
    assert.equal(r.status, 200);
    assert.equal(idp.requests.length, start + 1);
    const rec = idp.requests[start];
    assert.equal(rec.method, 'POST');
    assert.equal(rec.path, '/token');
    assert.equal(rec.body, body);
    assert.equal(rec.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(rec.headers['x-test'], 'Yes');
    assert.equal(rec.headers.accept, 'application/json');
  });
});

// ---------------------------------------------------------------------------
// JWT bearer grant (RFC 7523 §2.1) and private_key_jwt (RFC 7523 §2.2), with
// assertions signed here with jose: these prove the IdP's checks on their own.

const keys = {};
async function key(name, alg = 'RS256') {
  const id = `${name}/${alg}`;
  keys[id] ||= await jose.importPKCS8(fixture(name), alg);
  return keys[id];
}

const nowSec = () => Math.floor(Date.now() / 1000);
const newJti = () => jose.base64url.encode(crypto.getRandomValues(new Uint8Array(16)));

/** A compact JWS over exactly these claims (undefined members are left out). */
async function signJwt(claims, { keyFile = 'rsa2048.pkcs8.pem', alg = 'RS256', header = {} } = {}) {
  const payload = new TextEncoder().encode(JSON.stringify(claims));
  return new jose.CompactSign(payload)
    .setProtectedHeader({ alg, typ: 'JWT', kid: 'fixture-2048', ...header })
    .sign(await key(keyFile, alg));
}

/** Claims of a good svc-fixture assertion for `target` (an idp), with overrides. */
function bearerClaims(target, overrides = {}) {
  const iat = nowSec();
  return {
    iss: 'svc-fixture', sub: 'svc-fixture', aud: target.tokenEndpoint, iat, exp: iat + 180, jti: newJti(), ...overrides,
  };
}

function bearerBody(assertion, { scope = 'api:read', clientId = 'service-account' } = {}) {
  const pairs = [['client_id', clientId], ['grant_type', JWT_BEARER_GRANT]];
  if (assertion !== undefined) pairs.push(['assertion', assertion]);
  if (scope !== null) pairs.push(['scope', scope]); // null: no scope parameter
  return form(pairs);
}

async function bearer(claims, opts = {}, target = idp) {
  return post(target.tokenEndpoint, bearerBody(await signJwt(claims, opts), opts));
}

function assertInvalidGrant(r, description) {
  assert.equal(r.status, 400, r.text);
  assert.equal(r.json.error, 'invalid_grant', r.text);
  if (description instanceof RegExp) assert.match(r.json.error_description, description);
  else assert.equal(r.json.error_description, description);
}

describe('JWT bearer grant (service accounts)', () => {
  test('the registry: svc-fixture is the rsa2048 fixture public key', () => {
    assert.deepEqual(SERVICE_ACCOUNTS['svc-fixture'].publicJwk, JSON.parse(fixture('rsa2048.public.jwk.json')));
    assert.deepEqual(ASSERTION_RULES.algorithms, ['RS256', 'PS256']);
    assert.equal(ASSERTION_RULES.maxLifetimeSeconds, 900);
  });

  test('valid RS256 assertion: JWT access token with sub = the account, introspection active, request recorded', async () => {
    const n = idp.requests.length;
    const assertion = await signJwt(bearerClaims(idp));
    const body = bearerBody(assertion, { scope: 'api:read api:write' });
    const r = await post(idp.tokenEndpoint, body);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(Object.keys(r.json).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
    assert.equal(r.json.token_type, 'Bearer');
    assert.equal(r.json.scope, 'api:read api:write');
    assert.equal(r.json.expires_in, 3600);
    const { payload } = await verifyAccessToken(r.json.access_token);
    assert.equal(payload.sub, 'svc-fixture');
    assert.equal(payload.client_id, 'service-account');
    assert.equal(payload.scope, 'api:read api:write');

    const info = await introspect(r.json.access_token);
    assert.equal(info.active, true);
    assert.equal(info.sub, 'svc-fixture');
    assert.equal(info.client_id, 'service-account');
    assert.equal(info.scope, 'api:read api:write');
    assert.equal(info.aud, RESOURCE);

    assert.equal(idp.requests.length, n + 1);
    assert.equal(idp.requests[n].body, body);
    assert.equal(idp.requests[n].path, '/token');
  });

  test('PS256 is accepted; without scope there is no scope in the answer', async () => {
    const r = await bearer(bearerClaims(idp), { alg: 'PS256', scope: null });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.scope, undefined);
    assert.equal((await introspect(r.json.access_token)).sub, 'svc-fixture');
  });

  test('another account with its own key (svc-other)', async () => {
    const r = await bearer(bearerClaims(idp, { iss: 'svc-other', sub: 'svc-other' }), { keyFile: 'other2048.pkcs8.pem', header: { kid: 'other-2048' } });
    assert.equal(r.status, 200, r.text);
    assert.equal((await introspect(r.json.access_token)).sub, 'svc-other');
  });

  test('wrong key -> invalid_grant (signature), also a kid that names the right key does not help', async () => {
    let r = await bearer(bearerClaims(idp), { keyFile: 'other2048.pkcs8.pem' });
    assertInvalidGrant(r, 'assertion signature does not verify with the key of service account svc-fixture');
    // svc-fixture's key cannot sign for svc-other
    r = await bearer(bearerClaims(idp, { iss: 'svc-other', sub: 'svc-other' }));
    assertInvalidGrant(r, 'assertion signature does not verify with the key of service account svc-other');
  });

  test('a tampered payload does not verify', async () => {
    const good = await signJwt(bearerClaims(idp));
    const [h, , sig] = good.split('.');
    const forged = jose.base64url.encode(JSON.stringify(bearerClaims(idp, { scope: 'admin' })));
    const r = await post(idp.tokenEndpoint, bearerBody(`${h}.${forged}.${sig}`));
    assertInvalidGrant(r, /^assertion signature does not verify/);
  });

  test('alg outside RS256/PS256 (HS256, RS384) -> invalid_grant', async () => {
    const hs = await new jose.CompactSign(new TextEncoder().encode(JSON.stringify(bearerClaims(idp))))
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .sign(new TextEncoder().encode('a-shared-secret-of-enough-length-0123456789'));
    assertInvalidGrant(await post(idp.tokenEndpoint, bearerBody(hs)), 'assertion alg must be one of RS256, PS256');
    assertInvalidGrant(await bearer(bearerClaims(idp), { alg: 'RS384' }), 'assertion alg must be one of RS256, PS256');
  });

  test('aud must be the token endpoint URL exactly: every variation is refused', async () => {
    const te = idp.tokenEndpoint; // http://127.0.0.1:PORT/token
    const { port } = idp;
    assert.equal(te, `http://127.0.0.1:${port}/token`);
    const variations = [
      idp.issuer, // what oidc-provider accepts for client assertions, but not this grant
      `${idp.issuer}/`,
      'http://127.0.0.1/token', // port left out
      'http://127.0.0.1:80/token', // the default port written out
      `http://127.0.0.1:0${port}/token`, // the same URL to a WHATWG parser, not the same string
      `http://localhost:${port}/token`,
      `https://127.0.0.1:${port}/token`,
      `HTTP://127.0.0.1:${port}/token`,
      `${te}/`,
      `${te}?`,
      `${te} `,
      `http://127.0.0.1:${port}/Token`,
      '',
    ];
    assert.equal(new URL(`http://127.0.0.1:0${port}/token`).href, te);
    for (const aud of variations) {
      assertInvalidGrant(await bearer(bearerClaims(idp, { aud })), 'assertion aud must be the token endpoint URL exactly');
    }
    for (const aud of [[te], [te, idp.issuer], undefined, 42]) {
      assertInvalidGrant(await bearer(bearerClaims(idp, { aud })), 'assertion aud must be a single string: the token endpoint URL');
    }
    const ok = await bearer(bearerClaims(idp, { aud: te }));
    assert.equal(ok.status, 200, ok.text);
  });

  test('exp: missing, past, now -> refused; more than 15 minutes ahead -> refused; exactly 15 minutes -> accepted', async () => {
    const now = nowSec();
    assertInvalidGrant(await bearer(bearerClaims(idp, { exp: undefined })), 'assertion has no exp');
    assertInvalidGrant(await bearer(bearerClaims(idp, { iat: now - 200, exp: now - 20 })), 'assertion has expired (exp is not after now)');
    assertInvalidGrant(await bearer(bearerClaims(idp, { iat: now - 200, exp: now - 1 })), 'assertion has expired (exp is not after now)');
    assertInvalidGrant(await bearer(bearerClaims(idp, { exp: now + 3600 })), 'assertion exp is more than 15 minutes in the future');
    assertInvalidGrant(await bearer(bearerClaims(idp, { exp: now + 902 })), 'assertion exp is more than 15 minutes in the future');
    assertInvalidGrant(await bearer(bearerClaims(idp, { exp: String(now + 60) })), /^assertion claim exp is invalid/);
    // The IdP's "now" is read after this one, so exp - now <= 900 there.
    const r = await bearer(bearerClaims(idp, { iat: nowSec(), exp: nowSec() + 900 }));
    assert.equal(r.status, 200, r.text);
  });

  test('iat: up to 30 s in the future is tolerated, more is refused; absent is allowed', async () => {
    const now = nowSec();
    assertInvalidGrant(await bearer(bearerClaims(idp, { iat: now + 120 })), 'assertion iat is in the future');
    assertInvalidGrant(await bearer(bearerClaims(idp, { iat: now + 40 })), 'assertion iat is in the future');
    let r = await bearer(bearerClaims(idp, { iat: now + 20 }));
    assert.equal(r.status, 200, r.text);
    r = await bearer(bearerClaims(idp, { iat: undefined }));
    assert.equal(r.status, 200, r.text);
  });

  test('nbf in the future -> refused; nbf = iat accepted', async () => {
    const now = nowSec();
    assertInvalidGrant(await bearer(bearerClaims(idp, { nbf: now + 60 })), /^assertion claim nbf is invalid/);
    const r = await bearer(bearerClaims(idp, { nbf: now }));
    assert.equal(r.status, 200, r.text);
  });

  test('replayed jti -> invalid_grant "jti already used" (same assertion, and a new assertion reusing the jti)', async () => {
    const claims = bearerClaims(idp);
    const assertion = await signJwt(claims);
    const first = await post(idp.tokenEndpoint, bearerBody(assertion));
    assert.equal(first.status, 200, first.text);
    assertInvalidGrant(await post(idp.tokenEndpoint, bearerBody(assertion)), 'jti already used');
    assertInvalidGrant(await bearer({ ...claims, iat: claims.iat + 1, exp: claims.exp + 1 }), 'jti already used');
    // A refused assertion does not use up its jti.
    const jti = newJti();
    assertInvalidGrant(await bearer(bearerClaims(idp, { jti, aud: idp.issuer })), 'assertion aud must be the token endpoint URL exactly');
    const r = await bearer(bearerClaims(idp, { jti }));
    assert.equal(r.status, 200, r.text);
  });

  test('missing or empty jti -> invalid_grant', async () => {
    assertInvalidGrant(await bearer(bearerClaims(idp, { jti: undefined })), 'assertion has no jti');
    assertInvalidGrant(await bearer(bearerClaims(idp, { jti: '' })), 'assertion has no jti');
  });

  test('sub != iss, unknown iss, missing iss -> invalid_grant', async () => {
    assertInvalidGrant(await bearer(bearerClaims(idp, { sub: 'someone-else' })), 'assertion sub must equal iss (the service account id)');
    assertInvalidGrant(await bearer(bearerClaims(idp, { sub: undefined })), 'assertion sub must equal iss (the service account id)');
    assertInvalidGrant(await bearer(bearerClaims(idp, { iss: 'svc-unknown', sub: 'svc-unknown' })), 'iss is not a known service account');
    assertInvalidGrant(await bearer(bearerClaims(idp, { iss: 'toString', sub: 'toString' })), 'iss is not a known service account');
    assertInvalidGrant(await bearer(bearerClaims(idp, { iss: undefined })), 'assertion has no iss (the service account id)');
  });

  test('missing assertion -> invalid_request; garbage -> invalid_grant', async () => {
    let r = await post(idp.tokenEndpoint, bearerBody(undefined));
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error, 'invalid_request');
    assert.equal(r.json.error_description, "missing required parameter 'assertion'");
    r = await post(idp.tokenEndpoint, bearerBody(''));
    assert.equal(r.json.error, 'invalid_request');
    for (const junk of ['not-a-jwt', 'a.b.c', 'e30.e30.', `${jose.base64url.encode('{"alg":"none"}')}.${jose.base64url.encode('{}')}.`]) {
      assertInvalidGrant(await post(idp.tokenEndpoint, bearerBody(junk)), /^assertion (is not a valid JWT|has no iss)/);
    }
  });

  test('unknown scope -> invalid_scope', async () => {
    const r = await bearer(bearerClaims(idp), { scope: 'api:read admin' });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error, 'invalid_scope');
  });

  test('only the service-account client may use the grant; client_id is required', async () => {
    const assertion = await signJwt(bearerClaims(idp));
    let r = await post(idp.tokenEndpoint, form([['grant_type', JWT_BEARER_GRANT], ['assertion', assertion], ['client_id', 'cc-post'], ['client_secret', 'post-secret-123']]));
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error, 'invalid_request');
    assert.match(r.json.error_description, /not allowed/);
    r = await post(idp.tokenEndpoint, form([['grant_type', JWT_BEARER_GRANT], ['assertion', assertion]]));
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error, 'invalid_request');
    // neither attempt used up the jti
    r = await post(idp.tokenEndpoint, bearerBody(assertion));
    assert.equal(r.status, 200, r.text);
  });

  test('clockSkewSeconds shifts "now" for the checks: +3600 expires a fresh assertion, -3600 puts its iat in the future', async () => {
    const later = await startIdp({ clockSkewSeconds: 3600 });
    const earlier = await startIdp({ clockSkewSeconds: -3600 });
    try {
      assert.equal(later.clockSkewSeconds, 3600);
      assertInvalidGrant(await bearer(bearerClaims(later), {}, later), 'assertion has expired (exp is not after now)');
      // An assertion dated in the IdP's "now" is fine.
      const shifted = nowSec() + 3600;
      let r = await bearer(bearerClaims(later, { iat: shifted, exp: shifted + 180 }), {}, later);
      assert.equal(r.status, 200, r.text);
      assertInvalidGrant(await bearer(bearerClaims(earlier), {}, earlier), /^assertion exp is more than 15 minutes|^assertion iat is in the future/);
      r = await bearer(bearerClaims(earlier, { iat: nowSec() - 3600, exp: nowSec() - 3600 + 180 }), {}, earlier);
      assert.equal(r.status, 200, r.text);
      // Each IdP has its own jti registry and its own token endpoint (aud).
      assert.notEqual(later.tokenEndpoint, idp.tokenEndpoint);
      assertInvalidGrant(await bearer(bearerClaims(idp), {}, later), /^assertion/);
    } finally {
      await later.close();
      await earlier.close();
    }
  });
});

describe('private_key_jwt client authentication (oidc-provider\'s own)', () => {
  function clientClaims(clientId, overrides = {}) {
    const iat = nowSec();
    return {
      iss: clientId, sub: clientId, aud: idp.tokenEndpoint, iat, exp: iat + 60, jti: newJti(), ...overrides,
    };
  }

  async function ccWithAssertion(clientId, claims, opts = {}, extra = []) {
    const assertion = await signJwt(claims, opts);
    const body = form([
      ['grant_type', 'client_credentials'], ...extra, ['client_id', clientId],
      ['client_assertion_type', CLIENT_ASSERTION_TYPE], ['client_assertion', assertion],
    ]);
    return post(idp.tokenEndpoint, body);
  }

  function assertInvalidClient(r) {
    assert.equal(r.status, 401, r.text);
    assert.equal(r.json.error, 'invalid_client', r.text);
  }

  test('pkjwt-client: aud = token endpoint -> token, introspection active', async () => {
    const r = await ccWithAssertion('pkjwt-client', clientClaims('pkjwt-client'), {}, [['scope', 'api:read']]);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.scope, 'api:read');
    const info = await introspect(r.json.access_token);
    assert.equal(info.active, true);
    assert.equal(info.client_id, 'pkjwt-client');
  });

  test('the audience rule: the issuer or the token endpoint URL, exactly; nothing else', async () => {
    let r = await ccWithAssertion('pkjwt-client', clientClaims('pkjwt-client', { aud: idp.issuer }));
    assert.equal(r.status, 200, r.text);
    r = await ccWithAssertion('pkjwt-client', clientClaims('pkjwt-client', { aud: ['urn:other', idp.tokenEndpoint] }));
    assert.equal(r.status, 200, r.text);
    const { port } = idp;
    for (const aud of [
      `${idp.issuer}/`, 'http://127.0.0.1/token', `http://localhost:${port}/token`, `${idp.tokenEndpoint}/`,
      `http://127.0.0.1:0${port}/token`, idp.introspectionEndpoint, ['urn:other'],
    ]) {
      assertInvalidClient(await ccWithAssertion('pkjwt-client', clientClaims('pkjwt-client', { aud })));
    }
  });

  test('any asymmetric alg for pkjwt-client (PS256), x5t headers are ignored', async () => {
    let r = await ccWithAssertion('pkjwt-client', clientClaims('pkjwt-client'), { alg: 'PS256' });
    assert.equal(r.status, 200, r.text);
    r = await ccWithAssertion('pkjwt-client', clientClaims('pkjwt-client'), { header: JSON.parse(fixture('rsa2048.cert.thumbprints.json')) });
    assert.equal(r.status, 200, r.text);
  });

  test('pkjwt-ps256 accepts PS256 only', async () => {
    let r = await ccWithAssertion('pkjwt-ps256', clientClaims('pkjwt-ps256'), { alg: 'PS256' });
    assert.equal(r.status, 200, r.text);
    r = await ccWithAssertion('pkjwt-ps256', clientClaims('pkjwt-ps256'), { alg: 'RS256' });
    assertInvalidClient(r);
  });

  test('wrong key, iss != client, expired, missing jti, replayed -> invalid_client', async () => {
    assertInvalidClient(await ccWithAssertion('pkjwt-client', clientClaims('pkjwt-client'), { keyFile: 'other2048.pkcs8.pem' }));
    assertInvalidClient(await ccWithAssertion('pkjwt-client', clientClaims('pkjwt-client', { iss: 'cc-post' })));
    const now = nowSec();
    assertInvalidClient(await ccWithAssertion('pkjwt-client', clientClaims('pkjwt-client', { iat: now - 300, exp: now - 120 })));
    assertInvalidClient(await ccWithAssertion('pkjwt-client', clientClaims('pkjwt-client', { jti: undefined })));

    const claims = clientClaims('pkjwt-client');
    assert.equal((await ccWithAssertion('pkjwt-client', claims)).status, 200);
    assertInvalidClient(await ccWithAssertion('pkjwt-client', claims));
  });

  test('sub picks the client: sub != client_id -> invalid_request client_id mismatch', async () => {
    const r = await ccWithAssertion('pkjwt-client', clientClaims('pkjwt-client', { sub: 'pkjwt-ps256' }));
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error, 'invalid_request');
    assert.equal(r.json.error_description, 'client_id mismatch');
  });

  test('a client secret instead of an assertion -> invalid_client', async () => {
    const r = await post(idp.tokenEndpoint, form([['grant_type', 'client_credentials'], ['client_id', 'pkjwt-client'], ['client_secret', 'x']]));
    assertInvalidClient(r);
  });

  test('pkjwt-password: the password grant with private_key_jwt', async () => {
    const assertion = await signJwt(clientClaims('pkjwt-password'));
    const r = await post(idp.tokenEndpoint, form([
      ['grant_type', 'password'], ['username', 'alice'], ['password', USERS.alice.password], ['scope', 'api:read'],
      ['client_id', 'pkjwt-password'], ['client_assertion_type', CLIENT_ASSERTION_TYPE], ['client_assertion', assertion],
    ]));
    assert.equal(r.status, 200, r.text);
    const info = await introspect(r.json.access_token);
    assert.equal(info.active, true);
    assert.equal(info.sub, 'alice');
    assert.equal(info.client_id, 'pkjwt-password');
  });
});

describe('standalone', () => {
  test('node server.mjs --port 0 --ready-file F prints the JSON line, writes F, exits 0 on SIGTERM and SIGINT', async () => {
    for (const signal of ['SIGTERM', 'SIGINT']) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'grantkit-idp-'));
      const ready = path.join(dir, 'ready.json');
      const child = spawn(process.execPath, [path.join(here, 'server.mjs'), '--port', '0', '--ready-file', ready], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => { stdout += d; });
      child.stderr.on('data', (d) => { stderr += d; });
      const exited = new Promise((resolve) => child.on('exit', (code, sig) => resolve({ code, sig })));
      const deadline = Date.now() + 10_000;
      while (!stdout.includes('\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      try {
        assert.ok(stdout.endsWith('\n'), `no ready line; stderr: ${stderr}`);
        const lines = stdout.split('\n');
        assert.equal(lines.length, 2);
        const info = JSON.parse(lines[0]);
        assert.match(info.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
        assert.equal(info.tokenEndpoint, `${info.issuer}/token`);
        assert.equal(info.introspectionEndpoint, `${info.issuer}/token/introspection`);
        assert.equal(info.deviceAuthorizationEndpoint, `${info.issuer}/device/auth`);
        assert.equal(info.port, Number(new URL(info.issuer).port));
        assert.equal(fs.readFileSync(ready, 'utf8'), stdout);
        const r = await post(info.tokenEndpoint, form([['grant_type', 'client_credentials'], ['client_id', 'cc-post'], ['client_secret', 'post-secret-123']]));
        assert.equal(r.status, 200);
      } finally {
        child.kill(signal);
        const { code, sig } = await exited;
        assert.deepEqual({ code, sig }, { code: 0, sig: null }, `${signal}: ${stderr}`);
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});

// ---------------------------------------------------------------------------
// Device authorization grant (RFC 8628): oidc-provider's own, approved through
// its pages by device_approve.mjs, polled here at the token endpoint.

const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });

/** POST the device authorization request; auth: 'public' | 'basic'. */
async function deviceAuthorization(target, { client = CLIENTS.devicePublic, scope = 'openid profile offline_access api:read' } = {}) {
  const pairs = [['scope', scope]];
  const headers = {};
  if (client.client_secret) headers.authorization = basic(client.client_id, client.client_secret);
  else pairs.unshift(['client_id', client.client_id]);
  return post(target.deviceAuthorizationEndpoint, form(pairs), headers);
}

function deviceTokenRequest(target, deviceCode, client = CLIENTS.devicePublic) {
  const pairs = [['grant_type', DEVICE_CODE_GRANT], ['device_code', deviceCode]];
  const headers = {};
  if (client.client_secret) headers.authorization = basic(client.client_id, client.client_secret);
  else pairs.push(['client_id', client.client_id]);
  return post(target.tokenEndpoint, form(pairs), headers);
}

/** Poll every `interval` seconds (as RFC 8628 §3.4 says) while authorization_pending. */
async function pollDevice(target, deviceCode, { client, interval, deadlineMs = 20_000 } = {}) {
  const deadline = Date.now() + deadlineMs;
  let polls = 0;
  for (;;) {
    const r = await deviceTokenRequest(target, deviceCode, client);
    polls += 1;
    if (r.json?.error !== 'authorization_pending') return { r, polls };
    if (Date.now() > deadline) throw new Error(`still authorization_pending after ${polls} polls`);
    await sleep(interval * 1000);
  }
}

function refresh(target, refreshToken, client) {
  const pairs = [['grant_type', 'refresh_token'], ['refresh_token', refreshToken]];
  const headers = {};
  if (client.client_secret) headers.authorization = basic(client.client_id, client.client_secret);
  else pairs.push(['client_id', client.client_id]);
  return post(target.tokenEndpoint, form(pairs), headers);
}

describe('device authorization grant', () => {
  let dev; // an IdP polling every second
  before(async () => { dev = await startIdp({ deviceIntervalSeconds: 1 }); });
  after(async () => { await dev?.close(); });

  test('the device authorization response carries interval and expires_in; the request is recorded', async () => {
    const n = dev.deviceAuthorizationRequests().length;
    const r = await deviceAuthorization(dev);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(Object.keys(r.json).sort(), ['device_code', 'expires_in', 'interval', 'user_code', 'verification_uri', 'verification_uri_complete']);
    assert.equal(r.json.interval, 1);
    assert.equal(r.json.expires_in, 600);
    assert.equal(r.json.verification_uri, dev.codeVerificationUri);
    assert.equal(r.json.verification_uri_complete, `${dev.codeVerificationUri}?user_code=${r.json.user_code}`);
    assert.match(r.json.user_code, /^[B-DF-HJ-NP-TV-XZ]{4}-[B-DF-HJ-NP-TV-XZ]{4}$/);
    const recorded = dev.deviceAuthorizationRequests();
    assert.equal(recorded.length, n + 1);
    assert.equal(recorded.at(-1).path, '/device/auth');
    assert.equal(recorded.at(-1).body, 'client_id=device-public&scope=openid+profile+offline_access+api%3Aread');
    assert.ok(Math.abs(recorded.at(-1).at - Date.now()) < 5000);
    // Not a token request.
    assert.ok(!dev.tokenRequests().includes(recorded.at(-1)));
    // The defaults: interval 5, 600 s.
    const d = await deviceAuthorization(idp);
    assert.equal(d.json.interval, 5);
    assert.equal(d.json.expires_in, 600);
    assert.equal(idp.deviceIntervalSeconds, 5);
    assert.equal(idp.deviceCodeTtlSeconds, 600);
  });

  test('public client: authorization_pending, approval through the pages, then access, id and refresh token', async () => {
    const { json: d } = await deviceAuthorization(dev);
    const pending = await deviceTokenRequest(dev, d.device_code);
    assert.equal(pending.status, 400, pending.text);
    assert.equal(pending.json.error, 'authorization_pending');

    const polling = pollDevice(dev, d.device_code, { interval: d.interval });
    await sleep(1200); // at least one more pending poll
    const approved = await approveDevice({
      verificationUri: d.verification_uri, userCode: d.user_code, username: 'alice', password: USERS.alice.password,
    });
    assert.equal(approved.outcome, 'approved');
    assert.ok(approved.pages.some((p) => p.includes('/interaction/')), approved.pages.join('\n'));
    const { r, polls } = await polling;
    assert.ok(polls >= 2, `polls: ${polls}`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(Object.keys(r.json).sort(), ['access_token', 'expires_in', 'id_token', 'refresh_token', 'scope', 'token_type']);
    assert.equal(r.json.token_type, 'Bearer');
    assert.equal(r.json.scope, 'api:read');
    assert.match(r.headers.get('cache-control'), /no-store/);

    const jwks = jose.createLocalJWKSet({ keys: [dev.publicJwk] });
    const at = await jose.jwtVerify(r.json.access_token, jwks, { issuer: dev.issuer, audience: RESOURCE, typ: 'at+jwt' });
    assert.equal(at.payload.sub, 'alice');
    assert.equal(at.payload.client_id, 'device-public');
    const idt = await jose.jwtVerify(r.json.id_token, jwks, { issuer: dev.issuer, audience: 'device-public' });
    assert.equal(idt.payload.sub, 'alice');
    assert.equal(idt.payload.name, USERS.alice.claims.name);

    const info = await introspectAt(dev, r.json.access_token);
    assert.equal(info.active, true);
    assert.equal(info.sub, 'alice');
    assert.equal(info.client_id, 'device-public');
    const rtInfo = await introspectAt(dev, r.json.refresh_token);
    assert.equal(rtInfo.active, true);
    assert.equal(rtInfo.scope, 'openid profile offline_access api:read');

    // Every poll went to the token endpoint and was recorded.
    const mine = dev.tokenRequests().filter((q) => q.body.includes(formEncode(d.device_code)));
    assert.equal(mine.length, polls + 1);
  });

  test('confidential client (Basic) approved with verification_uri_complete only', async () => {
    const client = CLIENTS.deviceConfidential;
    const { status, json: d, text } = await deviceAuthorization(dev, { client, scope: 'openid offline_access api:read api:write' });
    assert.equal(status, 200, text);
    assert.equal(dev.deviceAuthorizationRequests().at(-1).headers.authorization, basic(client.client_id, client.client_secret));
    const polling = pollDevice(dev, d.device_code, { client, interval: d.interval });
    const approved = await approveDevice({ verificationUri: d.verification_uri_complete, username: 'bob', password: USERS.bob.password });
    assert.equal(approved.outcome, 'approved');
    const { r } = await polling;
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.scope, 'api:read api:write');
    assert.ok(r.json.id_token && r.json.refresh_token);
    assert.equal(jose.decodeJwt(r.json.access_token).sub, 'bob');
    assert.equal(jose.decodeJwt(r.json.access_token).client_id, client.client_id);
    assert.equal(dev.tokenRequests().at(-1).headers.authorization, basic(client.client_id, client.client_secret));

    // Client authentication is checked at both endpoints.
    const bad = await deviceAuthorization(dev, { client: { ...client, client_secret: 'wrong' } });
    assert.equal(bad.status, 401, bad.text);
    assert.equal(bad.json.error, 'invalid_client');
    // And no other client may poll this client's code.
    const other = await deviceTokenRequest(dev, d.device_code, CLIENTS.devicePublic);
    assert.equal(other.json.error, 'invalid_grant');
  });

  test('without offline_access: no refresh token; without openid: no id token', async () => {
    const { json: d } = await deviceAuthorization(dev, { scope: 'api:read' });
    await approveDevice({ verificationUri: d.verification_uri_complete, username: 'alice', password: USERS.alice.password });
    const r = await deviceTokenRequest(dev, d.device_code);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(Object.keys(r.json).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
  });

  test('a device code is exchanged once; a second exchange is invalid_grant', async () => {
    const { json: d } = await deviceAuthorization(dev);
    await approveDevice({ verificationUri: d.verification_uri_complete, username: 'alice', password: USERS.alice.password });
    assert.equal((await deviceTokenRequest(dev, d.device_code)).status, 200);
    const again = await deviceTokenRequest(dev, d.device_code);
    assert.equal(again.status, 400, again.text);
    assert.equal(again.json.error, 'invalid_grant');
  });

  test('denied on the confirm page -> access_denied', async () => {
    const { json: d } = await deviceAuthorization(dev);
    const polling = pollDevice(dev, d.device_code, { interval: d.interval });
    const denied = await approveDevice({
      verificationUri: d.verification_uri, userCode: d.user_code, username: 'alice', password: USERS.alice.password, deny: true,
    });
    assert.equal(denied.outcome, 'denied');
    const { r } = await polling;
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error, 'access_denied');
    // The code cannot be approved afterwards.
    await assert.rejects(
      approveDevice({ verificationUri: d.verification_uri_complete, username: 'alice', password: USERS.alice.password }),
      /did not accept user code/,
    );
  });

  test('the login page checks the password; unknown codes are refused; the code stays pending', async () => {
    const { json: d } = await deviceAuthorization(dev);
    await assert.rejects(
      approveDevice({ verificationUri: d.verification_uri_complete, username: 'alice', password: 'not-her-password' }),
      /refused the login of alice \(wrong username or password\)/,
    );
    assert.equal((await deviceTokenRequest(dev, d.device_code)).json.error, 'authorization_pending');
    // The confirm page marked the code in flight: a new browser session
    // cannot pick it up again (oidc-provider's AlreadyUsedError).
    await assert.rejects(
      approveDevice({ verificationUri: d.verification_uri_complete, username: 'alice', password: USERS.alice.password }),
      /did not accept user code/,
    );
    const { json: e } = await deviceAuthorization(dev);
    await assert.rejects(
      approveDevice({ verificationUri: e.verification_uri_complete, username: 'nobody', password: 'x' }),
      /refused the login of nobody/,
    );
    await assert.rejects(
      approveDevice({ verificationUri: dev.codeVerificationUri, userCode: 'BCDF-GHJK', username: 'alice', password: USERS.alice.password }),
      /did not accept user code BCDF-GHJK/,
    );
    await assert.rejects(
      approveDevice({ verificationUri: `${dev.codeVerificationUri}?user_code=BCDF-GHJK`, userCode: 'WXYZ-WXYZ', username: 'alice' }),
      /differs from the user_code/,
    );
    await assert.rejects(approveDevice({ verificationUri: dev.codeVerificationUri, username: 'alice' }), /userCode is required/);
    // Nothing listens there: a clear error, not a hang.
    await assert.rejects(
      approveDevice({ verificationUri: 'http://127.0.0.1:9/device', userCode: 'BCDF-GHJK', username: 'alice', password: 'x' }),
      /GET http:\/\/127\.0\.0\.1:9\/device failed/,
    );
  });

  test('short TTL: the device code expires -> expired_token (and the pages refuse it)', async () => {
    const short = await startIdp({ deviceIntervalSeconds: 1, deviceCodeTtlSeconds: 2 });
    try {
      assert.equal(short.deviceCodeTtlSeconds, 2);
      const { json: d } = await deviceAuthorization(short);
      assert.equal(d.expires_in, 2);
      const { r, polls } = await pollDevice(short, d.device_code, { interval: d.interval });
      assert.ok(polls >= 2, `polls: ${polls}`);
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.error, 'expired_token');
      await assert.rejects(
        approveDevice({ verificationUri: d.verification_uri_complete, username: 'alice', password: USERS.alice.password }),
        /did not accept user code/,
      );
      assert.equal((await deviceTokenRequest(short, d.device_code)).json.error, 'expired_token');
    } finally {
      await short.close();
    }
  });

  test('refresh of a device refresh token (public and confidential): works, rotates, the old one is invalid_grant', async () => {
    for (const client of [CLIENTS.devicePublic, CLIENTS.deviceConfidential]) {
      const { json: d } = await deviceAuthorization(dev, { client });
      await approveDevice({ verificationUri: d.verification_uri_complete, username: 'alice', password: USERS.alice.password });
      const first = await deviceTokenRequest(dev, d.device_code, client);
      assert.equal(first.status, 200, first.text);

      const second = await refresh(dev, first.json.refresh_token, client);
      assert.equal(second.status, 200, second.text);
      assert.deepEqual(Object.keys(second.json).sort(), ['access_token', 'expires_in', 'id_token', 'refresh_token', 'scope', 'token_type']);
      assert.notEqual(second.json.refresh_token, first.json.refresh_token);
      assert.notEqual(second.json.access_token, first.json.access_token);
      assert.equal(second.json.scope, 'api:read');
      assert.equal(jose.decodeJwt(second.json.access_token).sub, 'alice');
      assert.equal((await introspectAt(dev, second.json.access_token)).active, true);

      const third = await refresh(dev, second.json.refresh_token, client);
      assert.equal(third.status, 200, third.text);

      const reused = await refresh(dev, first.json.refresh_token, client);
      assert.equal(reused.status, 400, reused.text);
      assert.equal(reused.json.error, 'invalid_grant');
      // oidc-provider's reuse detection then revokes the whole grant.
      const after = await refresh(dev, third.json.refresh_token, client);
      assert.equal(after.json.error, 'invalid_grant');
      assert.equal((await introspectAt(dev, third.json.access_token)).active, false);
    }
  });
});

describe('refresh token rotation for the password grant', () => {
  test('pw-client (Basic): refresh rotates; a used refresh token is invalid_grant; client auth is required', async () => {
    const client = CLIENTS.pwClient;
    const r = await post(
      idp.tokenEndpoint,
      form([['grant_type', 'password'], ['username', 'bob'], ['password', USERS.bob.password], ['scope', 'openid offline_access api:write']]),
      { authorization: basic(client.client_id, client.client_secret) },
    );
    assert.equal(r.status, 200, r.text);
    const noAuth = await post(idp.tokenEndpoint, form([['grant_type', 'refresh_token'], ['refresh_token', r.json.refresh_token], ['client_id', client.client_id]]));
    assert.equal(noAuth.status, 401, noAuth.text);
    assert.equal(noAuth.json.error, 'invalid_client');
    const wrong = await post(idp.tokenEndpoint, form([['grant_type', 'refresh_token'], ['refresh_token', r.json.refresh_token]]), { authorization: basic(client.client_id, 'nope') });
    assert.equal(wrong.status, 401, wrong.text);

    const next = await refresh(idp, r.json.refresh_token, client);
    assert.equal(next.status, 200, next.text);
    assert.ok(next.json.refresh_token);
    assert.notEqual(next.json.refresh_token, r.json.refresh_token);
    assert.equal(next.json.scope, 'api:write');
    assert.equal(jose.decodeJwt(next.json.id_token).sub, 'bob');
    assert.equal((await introspect(next.json.access_token)).sub, 'bob');

    const reused = await refresh(idp, r.json.refresh_token, client);
    assert.equal(reused.status, 400, reused.text);
    assert.equal(reused.json.error, 'invalid_grant');
  });
});

describe('failure injection at the token endpoint', () => {
  test('failTokenRequests(n): default 503 temporarily_unavailable, recorded, then normal again', async () => {
    const target = await startIdp();
    try {
      target.failTokenRequests(2);
      const body = 'grant_type=client_credentials&client_id=cc-post&client_secret=post-secret-123';
      for (let i = 0; i < 2; i += 1) {
        const r = await post(target.tokenEndpoint, body);
        assert.equal(r.status, 503, r.text);
        assert.deepEqual(r.json, { error: 'temporarily_unavailable', error_description: 'injected failure' });
        assert.equal(r.headers.get('content-type'), 'application/json; charset=utf-8');
        assert.equal(r.headers.get('cache-control'), 'no-store');
      }
      const ok = await post(target.tokenEndpoint, body);
      assert.equal(ok.status, 200, ok.text);
      assert.equal(target.tokenRequests().length, 3);
      assert.ok(target.tokenRequests().every((q) => q.body === body && q.method === 'POST' && q.path === '/token'));
      assert.equal(target.requests.length, 3);

      target.resetRequests();
      assert.equal(target.requests.length, 0);
      assert.deepEqual(target.tokenRequests(), []);
      assert.deepEqual(target.deviceAuthorizationRequests(), []);
    } finally {
      await target.close();
    }
  });

  test('custom status, body and headers queue up; the device endpoint is not affected; an injected answer does not consume the code', async () => {
    const target = await startIdp({ deviceIntervalSeconds: 1 });
    try {
      const { json: d } = await deviceAuthorization(target);
      await approveDevice({ verificationUri: d.verification_uri_complete, username: 'alice', password: USERS.alice.password });
      target.failTokenRequests(1, { status: 400, body: { error: 'slow_down' } });
      target.failTokenRequests(1, { status: 502, body: '<html>bad gateway</html>', headers: { 'content-type': 'text/html', 'retry-after': '1' } });
      target.failTokenRequests(0);
      const slow = await deviceTokenRequest(target, d.device_code);
      assert.equal(slow.status, 400);
      assert.deepEqual(slow.json, { error: 'slow_down' });
      const gateway = await deviceTokenRequest(target, d.device_code);
      assert.equal(gateway.status, 502);
      assert.equal(gateway.text, '<html>bad gateway</html>');
      assert.equal(gateway.headers.get('content-type'), 'text/html');
      assert.equal(gateway.headers.get('retry-after'), '1');
      const tokens = await deviceTokenRequest(target, d.device_code);
      assert.equal(tokens.status, 200, tokens.text);
      assert.equal(target.tokenRequests().length, 3);
      assert.equal(target.deviceAuthorizationRequests().length, 1);
      assert.equal(target.requests.length, 4);
      assert.throws(() => target.failTokenRequests(-1), TypeError);
      assert.throws(() => target.failTokenRequests(1, { status: 99 }), TypeError);
    } finally {
      await target.close();
    }
  });

  test('injected answers carry CORS headers for a browser origin', async () => {
    const target = await startIdp();
    try {
      target.failTokenRequests(1);
      const r = await post(target.tokenEndpoint, 'grant_type=client_credentials', { origin: 'http://127.0.0.1:1234' });
      assert.equal(r.status, 503);
      assert.equal(r.headers.get('access-control-allow-origin'), 'http://127.0.0.1:1234');
    } finally {
      await target.close();
    }
  });
});

describe('CORS', () => {
  test('cors: false sends no Access-Control header, on a preflight or an answer; the default allows the origin', async () => {
    const origin = 'http://127.0.0.1:1234';
    const without = await startIdp({ cors: false });
    try {
      const preflight = await fetch(without.tokenEndpoint, {
        method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
      });
      assert.equal(preflight.status, 204);
      const answer = await post(without.tokenEndpoint, form([['grant_type', 'client_credentials']]), { origin, authorization: basic(CLIENTS.ccBasic.client_id, CLIENTS.ccBasic.client_secret) });
      assert.equal(answer.status, 200, answer.text);
      for (const r of [preflight, answer]) {
        assert.deepEqual([...r.headers.keys()].filter((name) => name.startsWith('access-control-')), []);
      }
    } finally {
      await without.close();
    }
    const answer = await post(idp.tokenEndpoint, form([['grant_type', 'client_credentials']]), { origin, authorization: basic(CLIENTS.ccBasic.client_id, CLIENTS.ccBasic.client_secret) });
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.headers.get('access-control-allow-origin'), origin);
  });
});

describe('device_approve.mjs as a script', () => {
  const script = path.join(here, 'device_approve.mjs');

  function run(args, env = {}) {
    const child = spawn(process.execPath, [script, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, APPROVE_PASSWORD: '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => { stdout += c; });
    child.stderr.on('data', (c) => { stderr += c; });
    return new Promise((resolve) => { child.on('exit', (code) => resolve({ code, stdout, stderr })); });
  }

  let dev;
  before(async () => { dev = await startIdp({ deviceIntervalSeconds: 1 }); });
  after(async () => { await dev?.close(); });

  test('--uri verification_uri_complete --user alice (password from the fixtures): prints approved, exit 0', async () => {
    const { json: d } = await deviceAuthorization(dev);
    const res = await run(['--uri', d.verification_uri_complete, '--user', 'alice']);
    assert.deepEqual(res, { code: 0, stdout: 'approved\n', stderr: '' });
    const r = await deviceTokenRequest(dev, d.device_code);
    assert.equal(r.status, 200, r.text);
    assert.equal(jose.decodeJwt(r.json.access_token).sub, 'alice');
  });

  test('--uri verification_uri --code C --user bob with APPROVE_PASSWORD', async () => {
    const { json: d } = await deviceAuthorization(dev);
    const res = await run(['--uri', d.verification_uri, '--code', d.user_code, '--user', 'bob'], { APPROVE_PASSWORD: USERS.bob.password });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, 'approved\n');
    assert.equal(jose.decodeJwt((await deviceTokenRequest(dev, d.device_code)).json.access_token).sub, 'bob');
  });

  test('a wrong APPROVE_PASSWORD: exit 1 with the reason; bad arguments: exit 2; --deny prints denied', async () => {
    const { json: d } = await deviceAuthorization(dev);
    let res = await run(['--uri', d.verification_uri_complete, '--user', 'alice'], { APPROVE_PASSWORD: 'wrong' });
    assert.equal(res.code, 1);
    assert.equal(res.stdout, '');
    assert.match(res.stderr, /^device_approve: .*wrong username or password/);

    res = await run(['--uri', d.verification_uri, '--user', 'alice']);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /userCode is required/);

    res = await run(['--user', 'alice']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /--uri is required/);

    const { json: e } = await deviceAuthorization(dev);
    res = await run(['--uri', e.verification_uri_complete, '--user', 'alice', '--deny']);
    assert.deepEqual(res, { code: 0, stdout: 'denied\n', stderr: '' });
    assert.equal((await deviceTokenRequest(dev, e.device_code)).json.error, 'access_denied');
  });
});
