// Revocation (RFC 7009), introspection (RFC 7662) and client_secret_jwt
// client authentication (RFC 7523 §2.2, OIDC Core §9) of the installed
// package against the local IdP (oidc-provider's own revocation and
// introspection endpoints and client authentication).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as jose from 'jose';

import { CLIENT_ASSERTION_TYPE, CLIENTS, USERS, startIdp } from '../idp/server.mjs';
import {
  assertGrantkitError, basicHeader, form, formPairs, introspect, lastRequest, loadGrantkit, rejection, runCli, show,
} from './helpers.mjs';

let gk;
let idp;

before(async () => {
  gk = await loadGrantkit();
  idp = await startIdp();
});
after(async () => { await idp?.close(); });

/** A fetch that records what grantkit sends (url, method, headers, body) and passes it on. */
function recordingFetch() {
  const sent = [];
  const fetchFn = async (url, init) => {
    sent.push({ url: String(url), method: init.method, headers: new Headers(init.headers), body: String(init.body ?? '') });
    return fetch(url, init);
  };
  return { sent, fetch: fetchFn };
}

function passwordGrant(extra = {}) {
  const { client_id: clientId, client_secret: clientSecret } = CLIENTS.pwClient;
  return new gk.PasswordGrant({
    tokenEndpoint: idp.tokenEndpoint,
    revocationEndpoint: idp.revocationEndpoint,
    introspectionEndpoint: idp.introspectionEndpoint,
    clientId,
    clientSecret,
    username: 'alice',
    password: USERS.alice.password,
    scope: 'openid offline_access api:read',
    ...extra,
  });
}

describe('revoke and introspect against the local IdP', () => {
  test('TokenSource: introspect live tokens, revoke refresh then access, both inactive, cache forgotten', async () => {
    const { client_id: clientId, client_secret: clientSecret } = CLIENTS.pwClient;
    const recorder = recordingFetch();
    const source = new gk.TokenSource(passwordGrant({ fetch: recorder.fetch }));
    const tokens = await source.getToken();
    assert.equal(typeof tokens.refresh_token, 'string');

    const live = await source.introspect(tokens.access_token);
    assert.equal(live.active, true);
    assert.equal(live.client_id, clientId);
    assert.equal(live.scope, 'api:read');
    assert.equal(live.sub, 'alice');
    const liveRefresh = await source.introspect(tokens.refresh_token, { tokenTypeHint: 'refresh_token' });
    assert.equal(liveRefresh.active, true);
    const introspections = recorder.sent.filter((r) => r.url === idp.introspectionEndpoint);
    assert.deepEqual(introspections.map((r) => r.body), [
      form([['token', tokens.access_token]]),
      form([['token', tokens.refresh_token], ['token_type_hint', 'refresh_token']]),
    ]);
    for (const r of introspections) {
      assert.equal(r.method, 'POST');
      assert.equal(r.headers.get('authorization'), basicHeader(clientId, clientSecret));
      assert.equal(r.headers.get('content-type'), 'application/x-www-form-urlencoded');
    }

    recorder.sent.length = 0;
    assert.equal(await source.revoke(), undefined);
    // RFC 7009 §2.1: the refresh token first, then the access token, each
    // with its hint, authenticated as the token requests are.
    assert.deepEqual(recorder.sent.map((r) => [r.method, r.url, r.body]), [
      ['POST', idp.revocationEndpoint, form([['token', tokens.refresh_token], ['token_type_hint', 'refresh_token']])],
      ['POST', idp.revocationEndpoint, form([['token', tokens.access_token], ['token_type_hint', 'access_token']])],
    ]);
    for (const r of recorder.sent) assert.equal(r.headers.get('authorization'), basicHeader(clientId, clientSecret));

    assert.equal((await introspect(idp, tokens.access_token)).active, false);
    assert.equal((await introspect(idp, tokens.refresh_token)).active, false);
    assert.equal((await source.introspect(tokens.access_token)).active, false);

    // The cache is forgotten: the next getToken runs the grant itself (not
    // the revoked refresh token).
    const next = await source.getToken();
    assert.notEqual(next.access_token, tokens.access_token);
    assert.match(lastRequest(idp).body, /^grant_type=password&/);
    // Nothing cached and nothing given: nothing to revoke... after a revoke of
    // the new tokens, a second revoke() resolves at once.
    await source.revoke();
    recorder.sent.length = 0;
    await source.revoke();
    assert.equal(recorder.sent.length, 0);
  });

  test('flow class: revoke({ access_token }) alone; a token of another client is refused with OAUTH_ERROR', async () => {
    const { client_id: clientId, client_secret: clientSecret } = CLIENTS.ccBasic;
    const cc = new gk.ClientCredentials({
      tokenEndpoint: idp.tokenEndpoint, revocationEndpoint: idp.revocationEndpoint, clientId, clientSecret, scope: 'api:read',
    });
    const own = await cc.getToken();
    await cc.revoke({ access_token: own.access_token });
    assert.equal((await introspect(idp, own.access_token)).active, false);

    // Another client's token: this IdP's revocation policy answers
    // invalid_request (RFC 7009 §2.2.1: an RFC 6749 §5.2 error).
    const other = await passwordGrant().getToken();
    const error = await rejection(cc.revoke({ access_token: other.access_token }));
    assertGrantkitError(error, 'OAUTH_ERROR');
    assert.equal(error.error, 'invalid_request');
    assert.equal((await introspect(idp, other.access_token)).active, true);
  });

  test('refusals before any request: no endpoint, Entra, nothing to revoke, a bad token argument', async () => {
    const generic = new gk.ClientCredentials({ tokenEndpoint: idp.tokenEndpoint, clientId: 'cc-basic', clientSecret: 'x' });
    const noEndpoint = await rejection(generic.revoke({ access_token: 'a' }));
    assertGrantkitError(noEndpoint, 'INVALID_CONFIG');
    assert.equal(noEndpoint.field, 'revocationEndpoint');
    assert.equal((await rejection(generic.introspect('a'))).field, 'introspectionEndpoint');

    const entra = new gk.ClientCredentials({
      ...gk.entra({ tenant: 'contoso.onmicrosoft.com' }), clientId: 'app', clientSecret: 'x', scope: 'api://x/.default',
    });
    const entraError = await rejection(entra.revoke({ access_token: 'a' }));
    assertGrantkitError(entraError, 'INVALID_CONFIG');
    assert.equal(entraError.field, 'revocationEndpoint');
    assert.match(entraError.message, /Microsoft Entra ID has no RFC 7009 revocation endpoint/);
    const entraSource = new gk.TokenSource(entra);
    assert.equal((await rejection(entraSource.revoke())).field, 'revocationEndpoint');

    const pg = passwordGrant();
    for (const bad of [undefined, {}, 'a-token', { access_token: 42 }]) {
      const e = await rejection(pg.revoke(bad));
      assertGrantkitError(e, 'INVALID_CONFIG');
    }
    assert.equal((await rejection(pg.introspect(42))).field, 'token');
    assert.equal((await rejection(pg.introspect('t', { tokenTypeHint: 'id_token' }))).field, 'tokenTypeHint');

    // Keycloak's documented endpoints come with the preset.
    const keycloakRecorder = recordingFetch();
    const kc = new gk.ClientCredentials({
      ...gk.keycloak({ baseUrl: 'https://sso.invalid', realm: 'ops' }),
      clientId: 'app', clientSecret: 'x',
      fetch: async (url, init) => { keycloakRecorder.sent.push({ url, body: init.body }); return new Response('', { status: 200 }); },
    });
    await kc.revoke({ refresh_token: 'rt' });
    assert.deepEqual(keycloakRecorder.sent, [
      { url: 'https://sso.invalid/realms/ops/protocol/openid-connect/revoke', body: 'token=rt&token_type_hint=refresh_token' },
    ]);
  });

  test('with only issuer: the endpoints come from the server metadata, discovered first', async () => {
    const { client_id: clientId, client_secret: clientSecret } = CLIENTS.ccBasic;
    const recorder = recordingFetch();
    const cc = new gk.ClientCredentials({ issuer: idp.issuer, clientId, clientSecret, scope: 'api:read', fetch: recorder.fetch });
    // Before any token request: revoke() discovers the metadata first.
    const fresh = new gk.ClientCredentials({ issuer: idp.issuer, clientId, clientSecret, scope: 'api:read', fetch: recorder.fetch });
    await fresh.revoke({ access_token: 'not-a-token' });
    // (The metadata may come from the process's cache of it: then only the
    // revocation request goes out.)
    assert.equal(recorder.sent.at(-1).url, idp.revocationEndpoint);
    assert.equal(recorder.sent.at(-1).body, 'token=not-a-token&token_type_hint=access_token');
    for (const r of recorder.sent.slice(0, -1)) assert.equal(r.url, `${idp.issuer}/.well-known/openid-configuration`);
    const { access_token: token } = await cc.getToken();
    assert.equal((await cc.introspect(token)).active, true);
    await new gk.TokenSource(cc).revoke({ access_token: token });
    assert.equal((await introspect(idp, token)).active, false);
  });

  test('an introspection answer without a boolean active is refused', async () => {
    const pg = passwordGrant({ fetch: async () => Response.json({ active: 'yes' }) });
    const e = await rejection(pg.introspect('t'));
    assertGrantkitError(e, 'INVALID_INTROSPECTION_RESPONSE');
    assert.equal(e.status, 200);
  });
});

describe('client_secret_jwt against the local IdP', () => {
  const { client_id: clientId, client_secret: clientSecret } = CLIENTS.csjwtClient;

  test('client credentials: oidc-provider accepts the HS256 assertion; jose verifies it with the secret', async () => {
    const t0 = Math.floor(Date.now() / 1000);
    const cc = new gk.ClientCredentials({
      tokenEndpoint: idp.tokenEndpoint, clientId, clientSecret, clientAuth: 'client_secret_jwt', scope: 'api:read',
      introspectionEndpoint: idp.introspectionEndpoint,
    });
    const tokens = await cc.getToken();
    const req = lastRequest(idp);
    assert.equal(req.headers.authorization, undefined);
    const pairs = formPairs(req.body);
    assert.deepEqual(pairs.map(([k]) => k), ['grant_type', 'scope', 'client_id', 'client_assertion_type', 'client_assertion']);
    assert.equal(pairs[3][1], CLIENT_ASSERTION_TYPE);
    assert.ok(!req.body.includes(encodeURIComponent(clientSecret)) && !req.body.includes(clientSecret));
    const assertion = pairs[4][1];
    // An independent HS256 implementation, keyed with the secret's bytes.
    const { payload, protectedHeader } = await jose.jwtVerify(assertion, new TextEncoder().encode(clientSecret), {
      algorithms: ['HS256'], issuer: clientId, subject: clientId, audience: idp.tokenEndpoint,
    });
    assert.deepEqual(protectedHeader, { alg: 'HS256', typ: 'JWT' });
    assert.ok(payload.iat >= t0 && payload.exp === payload.iat + 60);
    assert.match(payload.jti, /^[A-Za-z0-9_-]{22}$/);

    // Introspection with the same client authentication (aud = the token endpoint).
    const info = await cc.introspect(tokens.access_token);
    assert.equal(info.active, true);
    assert.equal(info.client_id, clientId);
  });

  test('a wrong secret is refused by the IdP; a short one before any request', async () => {
    const wrong = new gk.ClientCredentials({
      tokenEndpoint: idp.tokenEndpoint, clientId, clientSecret: `${clientSecret}-wrong`, clientAuth: 'client_secret_jwt',
    });
    const e = await rejection(wrong.getToken());
    assertGrantkitError(e, 'OAUTH_ERROR');
    assert.equal(e.error, 'invalid_client');
    assert.ok(!e.message.includes(clientSecret));
    assert.throws(
      () => new gk.ClientCredentials({ tokenEndpoint: idp.tokenEndpoint, clientId, clientSecret: 'tiny-secret', clientAuth: 'client_secret_jwt' }),
      (err) => err.code === 'INVALID_CONFIG' && err.field === 'clientSecret' && !err.message.includes('tiny-secret'),
    );
  });

  test('the trace shows the assertion decoded, its signature masked, never the secret', async () => {
    const exchanges = [];
    const cc = new gk.ClientCredentials({
      tokenEndpoint: idp.tokenEndpoint, clientId, clientSecret, clientAuth: 'client_secret_jwt',
      onExchange: (x) => exchanges.push(x),
    });
    await cc.getToken();
    const body = exchanges[0].requestBody;
    assert.match(body, /client_assertion=JWT \{"alg":"HS256","typ":"JWT"\} \{.*"iss":"csjwt-client".*\} signature ••••$/);
    const text = JSON.stringify(exchanges);
    assert.ok(!text.includes(clientSecret));
    const assertion = formPairs(lastRequest(idp).body).at(-1)[1];
    assert.ok(!text.includes(assertion.split('.')[2]));
  });
});

describe('grantkit revoke / introspect', () => {
  const { client_id: clientId, client_secret: clientSecret } = CLIENTS.ccBasic;
  const client = () => ['--token-endpoint', idp.tokenEndpoint, '--client-id', clientId, '--client-secret-env', 'CC_SECRET'];
  const env = { CC_SECRET: clientSecret };

  test('introspect prints the JSON answer; revoke exits 0; then inactive', async () => {
    const { access_token: token } = await new gk.ClientCredentials({
      tokenEndpoint: idp.tokenEndpoint, clientId, clientSecret, scope: 'api:read',
    }).getToken();
    const live = await runCli(['introspect', ...client(), '--introspection-endpoint', idp.introspectionEndpoint, '--token-env', 'TOKEN'],
      { env: { ...env, TOKEN: token } });
    assert.equal(live.code, 0, show(live));
    const answer = JSON.parse(live.stdout);
    assert.equal(answer.active, true);
    assert.equal(answer.client_id, clientId);

    const revoked = await runCli(['revoke', ...client(), '--revocation-endpoint', idp.revocationEndpoint, '--token-type-hint', 'access_token'],
      { env, stdin: `${token}\n` });
    assert.equal(revoked.code, 0, show(revoked));
    assert.equal(revoked.stdout, '');
    assert.equal((await introspect(idp, token)).active, false);
  });

  test('exit codes: 2 for an OAuth error, 1 for a config or usage error; the token never from argv', async () => {
    const other = await passwordGrant().getToken();
    const refused = await runCli(['revoke', ...client(), '--revocation-endpoint', idp.revocationEndpoint, '--token-env', 'TOKEN'],
      { env: { ...env, TOKEN: other.access_token } });
    assert.equal(refused.code, 2, show(refused));
    assert.match(refused.stderr, /invalid_request/);
    assert.ok(!refused.stderr.includes(other.access_token));

    const noEndpoint = await runCli(['revoke', ...client(), '--token-env', 'TOKEN'], { env: { ...env, TOKEN: 't' } });
    assert.equal(noEndpoint.code, 1, show(noEndpoint));
    assert.match(noEndpoint.stderr, /--revocation-endpoint: INVALID_CONFIG/);

    const onArgv = await runCli(['introspect', ...client(), '--token', 'secret-token']);
    assert.equal(onArgv.code, 1);
    assert.match(onArgv.stderr, /--token would put a secret on the command line/);
    const badHint = await runCli(['introspect', ...client(), '--token-type-hint', 'id_token'], { env, stdin: 't' });
    assert.equal(badHint.code, 1);
    assert.match(badHint.stderr, /--token-type-hint takes refresh_token or access_token/);
  });
});
