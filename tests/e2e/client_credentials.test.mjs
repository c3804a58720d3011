// ClientCredentials (RFC 6749 §4.4) of the installed package against the local
// oidc-provider IdP: basic and post client authentication, the exact request,
// introspection of the issued token, wrong secret, decodeJwt on the token.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { CLIENTS, RESOURCE, startIdp } from '../idp/server.mjs';
import {
  assertGrantkitError, assertNoSecrets, basicHeader, form, formEncode, introspect, lastRequest, loadGrantkit, rejection, thrown,
} from './helpers.mjs';

let gk;
let idp;

before(async () => {
  gk = await loadGrantkit();
  idp = await startIdp();
});
after(async () => { await idp?.close(); });

function assertExpiry(ts, beforeMs, afterMs) {
  assert.equal(typeof ts.expires_in, 'number');
  assert.equal(typeof ts.expires_at, 'number');
  assert.ok(Number.isInteger(ts.expires_at), `expires_at ${ts.expires_at} is not whole seconds`);
  assert.ok(
    ts.expires_at >= Math.floor(beforeMs / 1000) + ts.expires_in
      && ts.expires_at <= Math.floor(afterMs / 1000) + ts.expires_in,
    `expires_at ${ts.expires_at} is not now + expires_in (${ts.expires_in})`,
  );
}

describe('ClientCredentials against the local IdP', () => {
  test('basic (default): exact request, JWT token, introspection active', async () => {
    const { client_id: clientId, client_secret: clientSecret } = CLIENTS.ccBasic;
    const cc = new gk.ClientCredentials({ tokenEndpoint: idp.tokenEndpoint, clientId, clientSecret, scope: 'api:read' });
    const n = idp.requests.length;
    const t0 = Date.now();
    const ts = await cc.getToken();
    const t1 = Date.now();

    assert.equal(idp.requests.length, n + 1, 'exactly one request');
    const req = lastRequest(idp);
    assert.equal(req.method, 'POST');
    assert.equal(req.path, '/token');
    assert.equal(req.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(req.headers.accept, 'application/json');
    // RFC 6749 §2.3.1: id and secret are form-urlencoded, then base64.
    const expectedAuth = `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`).toString('base64')}`;
    assert.equal(expectedAuth, 'Basic Y2MtYmFzaWM6czNjcmV0JTNBJTJCJTI1JTI2KyU3RSolMkZiYXNpYw==');
    assert.equal(req.headers.authorization, expectedAuth);
    assert.equal(req.body, 'grant_type=client_credentials&scope=api%3Aread');

    assert.equal(ts.token_type, 'Bearer');
    assert.equal(ts.scope, 'api:read');
    assert.equal(ts.expires_in, 3600);
    assertExpiry(ts, t0, t1);
    assert.equal(ts.refresh_token, undefined);
    assert.equal(ts.id_token, undefined);
    assert.equal(typeof ts.access_token, 'string');
    assert.equal(ts.raw.access_token, ts.access_token);
    assert.equal(ts.raw.token_type, 'Bearer');
    assert.equal(ts.raw.expires_in, 3600);
    assert.equal(ts.raw.scope, 'api:read');

    const info = await introspect(idp, ts.access_token);
    assert.equal(info.active, true);
    assert.equal(info.client_id, clientId);
    assert.equal(info.scope, 'api:read');
    assert.equal(info.aud, RESOURCE);
    assert.equal(info.exp - info.iat, ts.expires_in);
  });

  test('post: client_id and client_secret in the body, after scope; no Authorization header', async () => {
    const { client_id: clientId, client_secret: clientSecret } = CLIENTS.ccPost;
    const cc = new gk.ClientCredentials({
      tokenEndpoint: idp.tokenEndpoint, clientId, clientSecret, scope: ['api:read', 'api:write'], clientAuth: 'post',
    });
    const t0 = Date.now();
    const ts = await cc.getToken();
    const t1 = Date.now();
    const req = lastRequest(idp);
    assert.equal(req.method, 'POST');
    assert.equal(req.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(req.headers.accept, 'application/json');
    assert.equal(req.headers.authorization, undefined);
    assert.equal(req.body, 'grant_type=client_credentials&scope=api%3Aread+api%3Awrite&client_id=cc-post&client_secret=post-secret-123');
    assert.equal(req.body, form([['grant_type', 'client_credentials'], ['scope', 'api:read api:write'], ['client_id', clientId], ['client_secret', clientSecret]]));

    assert.equal(ts.token_type, 'Bearer');
    assert.equal(ts.scope, 'api:read api:write');
    assertExpiry(ts, t0, t1);
    const info = await introspect(idp, ts.access_token);
    assert.equal(info.active, true);
    assert.equal(info.client_id, clientId);
  });

  test('getToken() twice sends two requests and returns two different tokens', async () => {
    const { client_id: clientId, client_secret: clientSecret } = CLIENTS.ccPost;
    const cc = new gk.ClientCredentials({ tokenEndpoint: idp.tokenEndpoint, clientId, clientSecret, clientAuth: 'post' });
    const n = idp.requests.length;
    const a = await cc.getToken();
    const b = await cc.getToken({});
    assert.equal(idp.requests.length, n + 2);
    assert.notEqual(a.access_token, b.access_token);
    assert.equal(lastRequest(idp).body, 'grant_type=client_credentials&client_id=cc-post&client_secret=post-secret-123');
  });

  test('wrong secret (basic) -> OAUTH_ERROR invalid_client 401, secret nowhere in the error', async () => {
    const secret = 'wrong-Secret-%&+: ~1234'; // VSCHAR only: oidc-provider answers invalid_request to anything else
    const cc = new gk.ClientCredentials({ tokenEndpoint: idp.tokenEndpoint, clientId: 'cc-basic', clientSecret: secret, scope: 'api:read' });
    const err = await rejection(cc.getToken());
    assertGrantkitError(err, 'OAUTH_ERROR', { status: 401, error: 'invalid_client' });
    assert.equal(err.error_description, 'client authentication failed');
    assert.deepEqual(err.body, { error: 'invalid_client', error_description: 'client authentication failed' });
    assert.match(err.message, /invalid_client/);
    assert.equal(lastRequest(idp).headers.authorization, basicHeader('cc-basic', secret));
    assertNoSecrets(err, [secret]);
  });

  test('wrong secret (post) -> OAUTH_ERROR invalid_client 401, secret nowhere in the error', async () => {
    const secret = 'post-secret-124';
    const cc = new gk.ClientCredentials({ tokenEndpoint: idp.tokenEndpoint, clientId: 'cc-post', clientSecret: secret, clientAuth: 'post' });
    const err = await rejection(cc.getToken());
    assertGrantkitError(err, 'OAUTH_ERROR', { status: 401, error: 'invalid_client' });
    assertNoSecrets(err, [secret]);
  });

  test('decodeJwt on the access token: header and claims, no verification', async () => {
    const { client_id: clientId, client_secret: clientSecret } = CLIENTS.ccBasic;
    const ts = await new gk.ClientCredentials({ tokenEndpoint: idp.tokenEndpoint, clientId, clientSecret, scope: 'api:read' }).getToken();
    const { header, claims } = gk.decodeJwt(ts.access_token);
    assert.equal(header.alg, 'RS256');
    assert.equal(header.typ, 'at+jwt');
    assert.equal(header.kid, idp.publicJwk.kid);
    assert.equal(claims.client_id, clientId);
    assert.equal(claims.sub, clientId);
    assert.equal(claims.iss, idp.issuer);
    assert.equal(claims.aud, RESOURCE);
    assert.equal(claims.scope, 'api:read');
    assert.equal(claims.exp - claims.iat, 3600);
    // what decodeJwt returns is plain data
    assert.deepEqual(JSON.parse(JSON.stringify({ header, claims })), { header, claims });
    const [h, p] = ts.access_token.split('.');
    assert.deepEqual(header, JSON.parse(Buffer.from(h, 'base64url')));
    assert.deepEqual(claims, JSON.parse(Buffer.from(p, 'base64url')));
  });

  test('decodeJwt on garbage -> INVALID_JWT', () => {
    for (const bad of ['not-a-jwt', '', 'a.b.c', 'e30.e30', `${Buffer.from('{"alg":"none"}').toString('base64url')}.bm90LWpzb24.`]) {
      const err = thrown(() => gk.decodeJwt(bad));
      assertGrantkitError(err, 'INVALID_JWT');
    }
  });
});
