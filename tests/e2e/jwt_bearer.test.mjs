// JwtBearer (RFC 7523 §2.1, PingOne AIC service accounts) of the installed
// package against the local IdP: every key form, the exact request and
// assertion (verified with jose, independently of grantkit), both signers,
// PS256, replay, expiry, lifetime, wrong key, the audience default, the
// pingAic preset, and the key errors thrown by the constructors.
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { JWT_BEARER_GRANT, RESOURCE, startIdp } from '../idp/server.mjs';
import {
  assertGrantkitError, assertJti, assertNoKeyMaterial, bodyText, decodeJws, errorText, fixture, fixtureJson, form, formPairs, introspect, lastRequest, loadGrantkit, rejection, thrown, tokenFetchStub, verifyJws,
} from './helpers.mjs';

let gk;
let idp;

before(async () => {
  gk = await loadGrantkit();
  idp = await startIdp();
});
after(async () => { await idp?.close(); });

const ISS = 'svc-fixture';

// The five accepted forms of the rsa2048 fixture key. `kid`: the kid the JWS
// header must carry (only a JWK has one).
const KEY_FORMS = [
  { name: 'PKCS#8 PEM', key: () => fixture('rsa2048.pkcs8.pem'), kid: undefined },
  { name: 'PKCS#1 PEM', key: () => fixture('rsa2048.pkcs1.pem'), kid: undefined },
  { name: 'JWK object', key: () => fixtureJson('rsa2048.jwk.json'), kid: 'fixture-2048' },
  { name: 'JWK JSON string', key: () => fixture('rsa2048.jwk.json'), kid: 'fixture-2048' },
  { name: 'JWK without CRT parameters', key: () => fixtureJson('rsa2048.nocrt.jwk.json'), kid: 'fixture-2048' },
];

/** A JwtBearer for svc-fixture at the local IdP; an option set to undefined is left out. */
function bearer(extra = {}) {
  const options = {
    tokenEndpoint: idp.tokenEndpoint,
    key: fixtureJson('rsa2048.jwk.json'),
    issuer: ISS,
    clientId: 'service-account',
    scope: 'api:read',
    ...extra,
  };
  for (const [k, v] of Object.entries(options)) if (v === undefined) delete options[k];
  return new gk.JwtBearer(options);
}

/** The assertion of a recorded JWT bearer request; asserts the exact body. */
function assertionOf(req, { scope = 'api:read', extra = [], clientId = 'service-account' } = {}) {
  const pairs = formPairs(req.body);
  assert.deepEqual(pairs.map(([k]) => k), [
    'grant_type', 'assertion', ...(scope === null ? [] : ['scope']), ...extra.map(([k]) => k), ...(clientId === null ? [] : ['client_id']),
  ], req.body);
  const assertion = pairs[1][1];
  const expected = form([
    ['grant_type', JWT_BEARER_GRANT],
    ['assertion', assertion],
    ...(scope === null ? [] : [['scope', scope]]),
    ...extra,
    ...(clientId === null ? [] : [['client_id', clientId]]),
  ]);
  assert.equal(req.body, expected);
  assert.ok(req.body.startsWith('grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion='), req.body);
  return assertion;
}

/** Header and claims exactly as specified, in order; returns the decoded JWS. */
function assertAssertionShape(jws, {
  alg = 'RS256', kid, iss = ISS, sub = iss, aud = idp.tokenEndpoint, lifetime = 180, nbf = false, extraClaims = {}, t0, t1,
}) {
  const d = decodeJws(jws);
  const header = { alg, typ: 'JWT', ...(kid === undefined ? {} : { kid }) };
  assert.deepEqual(d.header, header);
  assert.deepEqual(Object.keys(d.header), Object.keys(header), 'header member order');
  const order = ['iss', 'sub', 'aud', 'iat', 'exp', ...(nbf ? ['nbf'] : []), 'jti'];
  const keys = Object.keys(d.claims);
  assert.deepEqual(keys.slice(0, order.length), order, `claim order of ${d.claimsJson}`);
  // The extra claims follow jti; their order among themselves is not specified
  // (the package currently sorts them by name, not in insertion order).
  assert.deepEqual(keys.slice(order.length).sort(), Object.keys(extraClaims).sort(), `extra claims of ${d.claimsJson}`);
  assert.equal(d.claims.iss, iss);
  assert.equal(d.claims.sub, sub);
  assert.equal(d.claims.aud, aud);
  assert.ok(Number.isInteger(d.claims.iat), 'iat is whole seconds');
  if (t0 !== undefined) {
    assert.ok(d.claims.iat >= Math.floor(t0 / 1000) && d.claims.iat <= Math.ceil(t1 / 1000), `iat ${d.claims.iat} is now`);
  }
  assert.equal(d.claims.exp - d.claims.iat, lifetime);
  if (nbf) assert.equal(d.claims.nbf, d.claims.iat);
  assertJti(d.claims.jti);
  for (const [k, v] of Object.entries(extraClaims)) assert.deepEqual(d.claims[k], v);
  assert.equal(d.signature.length, 256, 'a 2048-bit RSA signature');
  return d;
}

/** RS256 is deterministic: the signature must be the one Node's crypto computes. */
function assertRs256Signature(d) {
  const expected = crypto.sign('sha256', Buffer.from(d.signingInput), crypto.createPrivateKey(fixture('rsa2048.pkcs8.pem')));
  assert.equal(d.signature.toString('base64url'), expected.toString('base64url'), 'RS256 signature bytes');
}

describe('JwtBearer against the local IdP', () => {
  for (const form_ of KEY_FORMS) {
    test(`key as ${form_.name}: token, introspection, exact request, assertion verifies`, async () => {
      const jb = bearer({ key: form_.key() });
      const n = idp.requests.length;
      const t0 = Date.now();
      const ts = await jb.getToken();
      const t1 = Date.now();
      assert.equal(idp.requests.length, n + 1, 'exactly one request');

      assert.equal(ts.token_type, 'Bearer');
      assert.equal(ts.scope, 'api:read');
      assert.equal(ts.expires_in, 3600);
      assert.equal(typeof ts.access_token, 'string');
      assert.equal(ts.refresh_token, undefined);
      const info = await introspect(idp, ts.access_token);
      assert.equal(info.active, true);
      assert.equal(info.sub, ISS);
      assert.equal(info.client_id, 'service-account');
      assert.equal(info.aud, RESOURCE);
      assert.equal(info.scope, 'api:read');

      const req = lastRequest(idp);
      assert.equal(req.method, 'POST');
      assert.equal(req.path, '/token');
      assert.equal(req.headers['content-type'], 'application/x-www-form-urlencoded');
      assert.equal(req.headers.authorization, undefined);
      const jws = assertionOf(req);
      const d = assertAssertionShape(jws, { kid: form_.kid, t0, t1 });
      assertRs256Signature(d);
      const { payload, protectedHeader } = await verifyJws(jws, {
        alg: 'RS256', audience: idp.tokenEndpoint, issuer: ISS, subject: ISS,
      });
      assert.equal(protectedHeader.typ, 'JWT');
      assert.equal(protectedHeader.kid, form_.kid);
      assert.equal(payload.aud, idp.tokenEndpoint);
      assert.equal(payload.exp - payload.iat, 180);
    });
  }

  test('two getToken() calls: two requests, different jti, both accepted', async () => {
    const jb = bearer();
    const n = idp.requests.length;
    const a = await jb.getToken();
    const jwsA = assertionOf(lastRequest(idp));
    const b = await jb.getToken();
    const jwsB = assertionOf(lastRequest(idp));
    assert.equal(idp.requests.length, n + 2);
    assert.notEqual(a.access_token, b.access_token);
    assert.notEqual(jwsA, jwsB);
    assert.notEqual(decodeJws(jwsA).claims.jti, decodeJws(jwsB).claims.jti);
  });

  test('createAssertion(): a fresh signed assertion each call, no request', async () => {
    const jb = bearer();
    const n = idp.requests.length;
    const t0 = Date.now();
    const a = await jb.createAssertion();
    const b = await jb.createAssertion();
    const t1 = Date.now();
    assert.equal(idp.requests.length, n, 'createAssertion sends nothing');
    const da = assertAssertionShape(a, { kid: 'fixture-2048', t0, t1 });
    const db = assertAssertionShape(b, { kid: 'fixture-2048', t0, t1 });
    assert.notEqual(da.claims.jti, db.claims.jti);
    await verifyJws(a, { audience: idp.tokenEndpoint, issuer: ISS, subject: ISS });
    await verifyJws(b, { audience: idp.tokenEndpoint, issuer: ISS, subject: ISS });
  });

  test('scope as an array, extraParams after scope, client_id last; subject, lifetime, nbf, extra claims', async () => {
    const jb = bearer({
      scope: ['api:read', 'api:write'],
      extraParams: { foo: 'a b', bar: ['1', '2'] },
      lifetimeSeconds: 300,
      notBefore: true,
      claims: { tenant: 't-1', roles: ['x', 'y'] },
    });
    const t0 = Date.now();
    const ts = await jb.getToken();
    const t1 = Date.now();
    assert.equal(ts.scope, 'api:read api:write');
    const jws = assertionOf(lastRequest(idp), { scope: 'api:read api:write', extra: [['foo', 'a b'], ['bar', '1'], ['bar', '2']] });
    assertAssertionShape(jws, {
      kid: 'fixture-2048', lifetime: 300, nbf: true, extraClaims: { tenant: 't-1', roles: ['x', 'y'] }, t0, t1,
    });
    await verifyJws(jws, { audience: idp.tokenEndpoint, issuer: ISS, subject: ISS });
  });

  test('no clientId and a generic endpoint: no client_id is sent (the IdP then refuses: it needs one)', async () => {
    const jb = bearer({ clientId: undefined });
    const err = await rejection(jb.getToken());
    assertionOf(lastRequest(idp), { clientId: null });
    assertGrantkitError(err, 'OAUTH_ERROR', { status: 400, error: 'invalid_request' });
  });

  test('subject and audience options are sent as given (the IdP refuses both)', async () => {
    let err = await rejection(bearer({ subject: 'someone-else' }).getToken());
    let d = decodeJws(assertionOf(lastRequest(idp)));
    assert.equal(d.claims.iss, ISS);
    assert.equal(d.claims.sub, 'someone-else');
    assertGrantkitError(err, 'OAUTH_ERROR', { status: 400, error: 'invalid_grant', error_description: 'assertion sub must equal iss (the service account id)' });

    err = await rejection(bearer({ audience: idp.issuer }).getToken());
    d = decodeJws(assertionOf(lastRequest(idp)));
    assert.equal(d.claims.aud, idp.issuer);
    assertGrantkitError(err, 'OAUTH_ERROR', { status: 400, error: 'invalid_grant', error_description: 'assertion aud must be the token endpoint URL exactly' });
  });

  test('claims may not override iss, sub, aud, iat, exp, jti, nbf -> INVALID_CONFIG', () => {
    for (const name of ['iss', 'sub', 'aud', 'iat', 'exp', 'jti', 'nbf']) {
      const err = thrown(() => bearer({ claims: { [name]: name === 'iat' || name === 'exp' || name === 'nbf' ? 1 : 'x' } }));
      assertGrantkitError(err, 'INVALID_CONFIG');
    }
  });
});

describe('signers and algorithms', () => {
  // Counts SubtleCrypto.prototype.sign calls while fn runs.
  async function countSubtleSign(fn) {
    const proto = Object.getPrototypeOf(globalThis.crypto.subtle);
    const original = proto.sign;
    let calls = 0;
    proto.sign = function sign(...args) { calls += 1; return original.apply(this, args); };
    try {
      await fn();
    } finally {
      proto.sign = original;
    }
    return calls;
  }

  for (const signer of ['rust', 'webcrypto', 'auto']) {
    test(`signer "${signer}", RS256: createAssertion() verifies, signature bytes as Node computes them; the IdP accepts`, async () => {
      const jb = bearer({ signer });
      let jws;
      const calls = await countSubtleSign(async () => { jws = await jb.createAssertion(); });
      if (signer === 'rust') assert.equal(calls, 0, 'the Rust signer does not use crypto.subtle.sign');
      if (signer === 'webcrypto') assert.ok(calls >= 1, 'the WebCrypto signer uses crypto.subtle.sign');
      const d = assertAssertionShape(jws, { kid: 'fixture-2048' });
      assertRs256Signature(d);
      await verifyJws(jws, { alg: 'RS256', audience: idp.tokenEndpoint, issuer: ISS, subject: ISS });
      const ts = await jb.getToken();
      assert.equal((await introspect(idp, ts.access_token)).sub, ISS);
    });

    test(`signer "${signer}", PS256 (algorithm option): verifies as PS256 only; the IdP accepts`, async () => {
      const jb = bearer({ signer, algorithm: 'PS256', key: fixture('rsa2048.pkcs8.pem') });
      const jws = await jb.createAssertion();
      const d = assertAssertionShape(jws, { alg: 'PS256' });
      await verifyJws(jws, { alg: 'PS256', audience: idp.tokenEndpoint, issuer: ISS, subject: ISS });
      await assert.rejects(verifyJws(jws, { alg: 'RS256' }));
      // Node's own check of the signature with the RFC 7518 §3.5 parameters.
      assert.ok(crypto.verify('sha256', Buffer.from(d.signingInput), {
        key: crypto.createPublicKey(fixture('rsa2048.public.pem')),
        padding: crypto.constants.RSA_PKCS1_PSS_PADDING,
        saltLength: 32,
      }, d.signature), 'PS256 = RSASSA-PSS, SHA-256, MGF1-SHA-256, salt length 32');
      const ts = await jb.getToken();
      const sent = decodeJws(assertionOf(lastRequest(idp)));
      assert.equal(sent.header.alg, 'PS256');
      assert.equal((await introspect(idp, ts.access_token)).sub, ISS);
    });
  }

  test('both signers produce assertions that verify with the same key (RS256 and PS256)', async () => {
    for (const algorithm of ['RS256', 'PS256']) {
      const rust = await bearer({ signer: 'rust', algorithm }).createAssertion();
      const web = await bearer({ signer: 'webcrypto', algorithm }).createAssertion();
      for (const jws of [rust, web]) {
        await verifyJws(jws, { alg: algorithm, audience: idp.tokenEndpoint, issuer: ISS, subject: ISS });
      }
      assert.deepEqual(decodeJws(rust).header, decodeJws(web).header);
    }
  });

  test('default algorithm: the JWK "alg" when RS256/PS256, else RS256; the option wins', async () => {
    const ps = { ...fixtureJson('rsa2048.jwk.json'), alg: 'PS256' };
    assert.equal(decodeJws(await bearer({ key: ps }).createAssertion()).header.alg, 'PS256');
    assert.equal(decodeJws(await bearer({ key: fixtureJson('rsa2048.jwk.json') }).createAssertion()).header.alg, 'RS256');
    assert.equal(decodeJws(await bearer({ key: fixtureJson('rsa2048.nocrt.jwk.json') }).createAssertion()).header.alg, 'RS256');
    assert.equal(decodeJws(await bearer({ key: fixture('rsa2048.pkcs8.pem') }).createAssertion()).header.alg, 'RS256');
    assert.equal(decodeJws(await bearer({ key: ps, algorithm: 'RS256' }).createAssertion()).header.alg, 'RS256');
    assert.equal(decodeJws(await bearer({ algorithm: 'PS256' }).createAssertion()).header.alg, 'PS256');
    const err = thrown(() => bearer({ algorithm: 'HS256' }));
    assertGrantkitError(err, 'INVALID_CONFIG');
  });
});

describe('the IdP refuses', () => {
  test('a replayed assertion (the same body sent twice through the fetch option) -> OAUTH_ERROR invalid_grant', async () => {
    let firstBody;
    const replaying = (url, init) => {
      if (firstBody === undefined) firstBody = bodyText(init.body);
      return globalThis.fetch(url, { ...init, body: firstBody });
    };
    const jb = bearer({ fetch: replaying });
    const ts = await jb.getToken();
    assert.equal((await introspect(idp, ts.access_token)).active, true);
    const err = await rejection(jb.getToken());
    assertGrantkitError(err, 'OAUTH_ERROR', {
      status: 400, error: 'invalid_grant', error_description: 'jti already used',
    });
    assert.match(err.message, /invalid_grant/);
    assert.equal(lastRequest(idp).body, firstBody, 'the second request was the replay');
  });

  test('an expired assertion (IdP clock one hour ahead) -> invalid_grant', async () => {
    const later = await startIdp({ clockSkewSeconds: 3600 });
    try {
      const jb = bearer({ tokenEndpoint: later.tokenEndpoint });
      const err = await rejection(jb.getToken());
      assertGrantkitError(err, 'OAUTH_ERROR', {
        status: 400, error: 'invalid_grant', error_description: 'assertion has expired (exp is not after now)',
      });
      const d = decodeJws(assertionOf(later.requests.at(-1)));
      assert.equal(d.claims.aud, later.tokenEndpoint);
    } finally {
      await later.close();
    }
  });

  test('lifetimeSeconds 3600 (over the 15 minutes allowed) -> invalid_grant', async () => {
    const err = await rejection(bearer({ lifetimeSeconds: 3600 }).getToken());
    assertGrantkitError(err, 'OAUTH_ERROR', {
      status: 400, error: 'invalid_grant', error_description: 'assertion exp is more than 15 minutes in the future',
    });
    const d = decodeJws(assertionOf(lastRequest(idp)));
    assert.equal(d.claims.exp - d.claims.iat, 3600);
  });

  test('a key that is not the service account\'s (other2048) -> invalid_grant', async () => {
    const err = await rejection(bearer({ key: fixture('other2048.pkcs8.pem') }).getToken());
    assertGrantkitError(err, 'OAUTH_ERROR', {
      status: 400, error: 'invalid_grant', error_description: 'assertion signature does not verify with the key of service account svc-fixture',
    });
    assertNoKeyMaterial(errorText(err), fixture('other2048.pkcs8.pem'), 'the error');
  });
});

describe('the audience', () => {
  test('default aud is the tokenEndpoint byte for byte, explicit port included', async () => {
    const te = idp.tokenEndpoint;
    assert.match(te, /^http:\/\/127\.0\.0\.1:\d+\/token$/);
    const d = decodeJws(await bearer().createAssertion());
    assert.equal(d.claims.aud, te);
    assert.ok(d.claimsJson.includes(`"aud":${JSON.stringify(te)}`), d.claimsJson);
  });

  test('an explicit default port (:443 / :80) is kept, not normalised away; the request goes to that URL', async () => {
    for (const tokenEndpoint of ['https://as.example.test:443/oauth2/token', 'http://127.0.0.1:80/token']) {
      const calls = [];
      const jb = new gk.JwtBearer({
        tokenEndpoint, key: fixture('rsa2048.pkcs8.pem'), issuer: ISS, fetch: tokenFetchStub(calls),
      });
      const d = decodeJws(await jb.createAssertion());
      assert.equal(d.claims.aud, tokenEndpoint);
      assert.ok(d.claimsJson.includes(`"aud":${JSON.stringify(tokenEndpoint)}`), d.claimsJson);
      await jb.getToken();
      assert.equal(calls.length, 1);
      assert.equal(new URL(calls[0].url).href, new URL(tokenEndpoint).href);
      const sent = decodeJws(formPairs(calls[0].body)[1][1]);
      assert.equal(sent.claims.aud, tokenEndpoint);
    }
  });

  test('pingAic preset: aud https://TENANT:443/am/oauth2/access_token, client_id service-account by default', async () => {
    const calls = [];
    const preset = gk.pingAic({ tenant: 'tenant.example.com' });
    assert.deepEqual(preset, { provider: 'pingAic', tokenEndpoint: 'https://tenant.example.com:443/am/oauth2/access_token' });
    const jb = new gk.JwtBearer({
      ...preset, key: fixtureJson('rsa2048.jwk.json'), issuer: 'svc-123', scope: 'fr:idm:*', fetch: tokenFetchStub(calls),
    });
    const jws = await jb.createAssertion();
    const d = assertAssertionShape(jws, {
      kid: 'fixture-2048', iss: 'svc-123', aud: 'https://tenant.example.com:443/am/oauth2/access_token',
    });
    assert.ok(d.claimsJson.includes('"aud":"https://tenant.example.com:443/am/oauth2/access_token"'), d.claimsJson);
    await verifyJws(jws, { audience: 'https://tenant.example.com:443/am/oauth2/access_token', issuer: 'svc-123', subject: 'svc-123' });

    const ts = await jb.getToken();
    assert.equal(ts.access_token, 'stub-token');
    assert.equal(calls.length, 1, 'one request, through the stub');
    assert.equal(new URL(calls[0].url).href, 'https://tenant.example.com/am/oauth2/access_token');
    assert.equal(calls[0].init.method, 'POST');
    const pairs = formPairs(calls[0].body);
    assert.deepEqual(pairs.map(([k]) => k), ['grant_type', 'assertion', 'scope', 'client_id']);
    assert.equal(calls[0].body, form([
      ['grant_type', JWT_BEARER_GRANT], ['assertion', pairs[1][1]], ['scope', 'fr:idm:*'], ['client_id', 'service-account'],
    ]));
    assert.equal(decodeJws(pairs[1][1]).claims.aud, 'https://tenant.example.com:443/am/oauth2/access_token');
  });

  test('pingAic preset with an explicit clientId sends that one', async () => {
    const calls = [];
    const jb = new gk.JwtBearer({
      ...gk.pingAic({ tenant: 'tenant.example.com' }), key: fixture('rsa2048.pkcs8.pem'), issuer: 'svc-123', clientId: 'my-client', fetch: tokenFetchStub(calls),
    });
    await jb.getToken();
    assert.ok(calls[0].body.endsWith('&client_id=my-client'), calls[0].body);
    assert.deepEqual(formPairs(calls[0].body).map(([k]) => k), ['grant_type', 'assertion', 'client_id']);
  });
});
