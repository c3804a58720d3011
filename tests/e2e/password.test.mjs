// PasswordGrant (RFC 6749 §4.3) of the installed package against the local IdP.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { CLIENTS, USERS, startIdp } from '../idp/server.mjs';
import {
  assertGrantkitError, assertNoSecrets, basicHeader, introspect, loadGrantkit, rejection,
} from './helpers.mjs';

let gk;
let idp;

before(async () => {
  gk = await loadGrantkit();
  idp = await startIdp();
});
after(async () => { await idp?.close(); });

const SCOPE = 'openid offline_access api:read';

describe('PasswordGrant against the local IdP', () => {
  test('confidential client (basic): exact request; access, refresh and id token; introspection active', async () => {
    const { client_id: clientId, client_secret: clientSecret } = CLIENTS.pwClient;
    const { username, password } = USERS.alice;
    const pg = new gk.PasswordGrant({
      tokenEndpoint: idp.tokenEndpoint, clientId, clientSecret, username, password, scope: SCOPE,
    });
    const t0 = Date.now();
    const ts = await pg.getToken();
    const t1 = Date.now();

    const req = idp.requests.at(-1);
    assert.equal(req.method, 'POST');
    assert.equal(req.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(req.headers.accept, 'application/json');
    assert.equal(req.headers.authorization, basicHeader(clientId, clientSecret));
    assert.equal(req.headers.authorization, 'Basic cHctY2xpZW50OnB3LXNlY3JldA==');
    assert.equal(req.body, 'grant_type=password&username=alice&password=wonderland-42&scope=openid+offline_access+api%3Aread');

    assert.equal(ts.token_type, 'Bearer');
    assert.equal(ts.expires_in, 3600);
    assert.ok(ts.expires_at >= Math.floor(t0 / 1000) + 3600 && ts.expires_at <= Math.floor(t1 / 1000) + 3600);
    // The IdP (like oidc-provider for its own grants) reports the access
    // token's scope: the resource server scopes granted.
    assert.equal(ts.scope, 'api:read');
    assert.equal(typeof ts.refresh_token, 'string');
    assert.ok(ts.refresh_token.length > 0);
    assert.equal(typeof ts.id_token, 'string');
    assert.equal(ts.raw.refresh_token, ts.refresh_token);
    assert.equal(ts.raw.id_token, ts.id_token);

    const id = gk.decodeJwt(ts.id_token);
    assert.equal(id.header.alg, 'RS256');
    assert.equal(id.claims.sub, 'alice');
    assert.equal(id.claims.aud, clientId);
    assert.equal(id.claims.iss, idp.issuer);
    assert.equal(gk.decodeJwt(ts.access_token).claims.sub, 'alice');

    const info = await introspect(idp, ts.access_token);
    assert.equal(info.active, true);
    assert.equal(info.sub, 'alice');
    assert.equal(info.client_id, clientId);
    const rt = await introspect(idp, ts.refresh_token);
    assert.equal(rt.active, true);
    assert.equal(rt.sub, 'alice');
  });

  test('public client (no secret): client_id last in the body, no Authorization header', async () => {
    const { username, password } = USERS.bob;
    const pg = new gk.PasswordGrant({
      tokenEndpoint: idp.tokenEndpoint, clientId: 'pw-public', username, password, scope: SCOPE.split(' '),
    });
    const ts = await pg.getToken();
    const req = idp.requests.at(-1);
    assert.equal(req.headers.authorization, undefined);
    assert.equal(req.body, 'grant_type=password&username=bob&password=builder-7&scope=openid+offline_access+api%3Aread&client_id=pw-public');

    assert.equal(ts.token_type, 'Bearer');
    assert.equal(typeof ts.id_token, 'string');
    assert.equal(gk.decodeJwt(ts.id_token).claims.sub, 'bob');
    assert.equal(gk.decodeJwt(ts.id_token).claims.aud, 'pw-public');
    // pw-public is registered with grant_types ["password"] only: the IdP
    // issues no refresh token to a client that may not refresh.
    assert.equal(ts.refresh_token, undefined);
    const info = await introspect(idp, ts.access_token);
    assert.equal(info.active, true);
    assert.equal(info.sub, 'bob');
    assert.equal(info.client_id, 'pw-public');
  });

  test('clientAuth "post" for the password grant: credentials after scope', async () => {
    const { client_id: clientId, client_secret: clientSecret } = CLIENTS.pwClient;
    const ts = await new gk.PasswordGrant({
      tokenEndpoint: idp.tokenEndpoint, clientId, clientSecret, clientAuth: 'post', username: 'alice', password: USERS.alice.password, scope: 'api:read',
    }).getToken();
    const req = idp.requests.at(-1);
    assert.equal(req.headers.authorization, undefined);
    assert.equal(req.body, 'grant_type=password&username=alice&password=wonderland-42&scope=api%3Aread&client_id=pw-client&client_secret=pw-secret');
    assert.equal(ts.id_token, undefined);
    assert.equal(ts.refresh_token, undefined);
    assert.equal((await introspect(idp, ts.access_token)).active, true);
  });

  test('wrong password -> OAUTH_ERROR invalid_grant 400; password and secret nowhere in the error', async () => {
    const password = 'Wonderland-43 %&+';
    const pg = new gk.PasswordGrant({
      tokenEndpoint: idp.tokenEndpoint, clientId: 'pw-client', clientSecret: 'pw-secret', username: 'alice', password, scope: SCOPE,
    });
    const err = await rejection(pg.getToken());
    assertGrantkitError(err, 'OAUTH_ERROR', { status: 400, error: 'invalid_grant' });
    assert.equal(err.body.error, 'invalid_grant');
    assert.match(err.message, /invalid_grant/);
    assertNoSecrets(err, [password, 'pw-secret']);
  });

  test('wrong password for the public client -> invalid_grant', async () => {
    const err = await rejection(new gk.PasswordGrant({
      tokenEndpoint: idp.tokenEndpoint, clientId: 'pw-public', username: 'bob', password: 'builder-8',
    }).getToken());
    assertGrantkitError(err, 'OAUTH_ERROR', { status: 400, error: 'invalid_grant' });
    assertNoSecrets(err, ['builder-8']);
  });
});
