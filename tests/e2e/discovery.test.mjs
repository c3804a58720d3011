// Discovery (OpenID Connect Discovery 1.0, RFC 8414) of the installed
// package: flows configured with only `issuer` against the local
// oidc-provider (whose issuer is http://127.0.0.1:PORT), one discovery
// request however many flows ask at once, lying documents from a local
// server refused with their codes, the trace label, the presets' issuers
// and the CLI's --issuer.
//
// The cache is per process (this file runs in one): a test that counts
// discovery requests uses a fetch of its own, which is a cache key of its
// own.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { CLIENTS, startIdp } from '../idp/server.mjs';
import {
  assertGrantkitError, fixtureJson, fixturePath, introspect, json, loadGrantkit, rejection, runCli, show, startScriptedServer,
} from './helpers.mjs';

let gk;
let idp;
let srv;

before(async () => {
  gk = await loadGrantkit();
  idp = await startIdp();
  srv = await startScriptedServer();
});
after(async () => {
  await idp?.close();
  await srv?.close();
});

const basic = CLIENTS.ccBasic;

/** A fetch of its own: its own cache key. */
const ownFetch = () => (input, init) => fetch(input, init);

describe('a flow configured with only issuer', () => {
  test('ClientCredentials: GET {issuer}/.well-known/openid-configuration, then the token from its token_endpoint', async () => {
    const asked = idp.discoveryRequests().length;
    const tokens = idp.tokenRequests().length;
    const cc = new gk.ClientCredentials({
      issuer: idp.issuer, clientId: basic.client_id, clientSecret: basic.client_secret, scope: 'api:read',
    });
    const ts = await cc.getToken();
    const discovery = idp.discoveryRequests().slice(asked);
    assert.equal(discovery.length, 1);
    assert.equal(discovery[0].method, 'GET');
    assert.equal(discovery[0].path, '/.well-known/openid-configuration');
    assert.equal(discovery[0].headers.accept, 'application/json');
    assert.equal(discovery[0].headers.authorization, undefined, 'no credentials go to the metadata');
    const token = idp.tokenRequests().slice(tokens);
    assert.equal(token.length, 1);
    assert.equal(token[0].path, '/token');
    assert.equal(token[0].body, 'grant_type=client_credentials&scope=api%3Aread');
    assert.equal((await introspect(idp, ts.access_token)).active, true);

    // Cached for the process: the same instance and a new one ask no more.
    await cc.getToken();
    await new gk.ClientCredentials({ issuer: idp.issuer, clientId: basic.client_id, clientSecret: basic.client_secret }).getToken();
    assert.equal(idp.discoveryRequests().length, asked + 1);
    assert.equal(idp.tokenRequests().length, tokens + 3);
  });

  test('10 concurrent flows on one issuer make exactly one discovery request', async () => {
    const fetch = ownFetch();
    const asked = idp.discoveryRequests().length;
    const tokens = idp.tokenRequests().length;
    const flows = Array.from({ length: 10 }, () => new gk.ClientCredentials({
      issuer: idp.issuer, clientId: basic.client_id, clientSecret: basic.client_secret, fetch,
    }));
    const sets = await Promise.all(flows.map((f) => f.getToken()));
    assert.equal(sets.length, 10);
    assert.equal(new Set(sets.map((s) => s.access_token)).size, 10);
    assert.equal(idp.discoveryRequests().length - asked, 1, 'one discovery request');
    assert.equal(idp.tokenRequests().length - tokens, 10);
  });

  test('TokenSource over a flow configured with issuer', async () => {
    const source = new gk.TokenSource(new gk.ClientCredentials({
      issuer: idp.issuer, clientId: basic.client_id, clientSecret: basic.client_secret, fetch: ownFetch(),
    }));
    const ts = await source.getToken();
    assert.equal((await introspect(idp, ts.access_token)).active, true);
  });

  test('JwtBearer: serverIssuer gives the token endpoint, which is the assertion audience', async () => {
    const bearer = new gk.JwtBearer({
      serverIssuer: idp.issuer, key: fixtureJson('rsa2048.jwk.json'), issuer: 'svc-fixture', clientId: 'service-account', scope: 'api:read', fetch: ownFetch(),
    });
    const claims = gk.decodeJwt(await bearer.createAssertion()).claims;
    assert.equal(claims.aud, idp.tokenEndpoint);
    assert.equal(claims.iss, 'svc-fixture');
    const ts = await bearer.getToken();
    assert.equal((await introspect(idp, ts.access_token)).active, true);
  });

  test('onExchange: the discovery request has its own label', async () => {
    const labels = [];
    const cc = new gk.ClientCredentials({
      issuer: idp.issuer,
      clientId: basic.client_id,
      clientSecret: basic.client_secret,
      fetch: ownFetch(),
      onExchange: (e) => labels.push([e.label, e.method, e.url, e.status]),
    });
    await cc.getToken();
    assert.deepEqual(labels, [
      ['discovery (openid-configuration)', 'GET', `${idp.issuer}/.well-known/openid-configuration`, 200],
      ['token request (client_credentials)', 'POST', idp.tokenEndpoint, 200],
    ]);
  });

  test('neither tokenEndpoint nor issuer: INVALID_CONFIG naming tokenEndpoint, thrown by the constructor', () => {
    assert.throws(
      () => new gk.ClientCredentials({ clientId: 'x', clientSecret: 'y' }),
      (e) => e.code === 'INVALID_CONFIG' && e.field === 'tokenEndpoint' && /issuer/.test(e.message),
    );
    assert.throws(
      () => new gk.JwtBearer({ key: fixtureJson('rsa2048.jwk.json'), issuer: 'svc' }),
      (e) => e.code === 'INVALID_CONFIG' && e.field === 'tokenEndpoint' && /serverIssuer/.test(e.message),
    );
    assert.throws(
      () => new gk.ClientCredentials({ issuer: 'https://idp.example/x?y=1', clientId: 'x', clientSecret: 'y' }),
      (e) => e.code === 'INVALID_CONFIG' && e.field === 'issuer',
    );
  });
});

describe('a document that lies is refused', () => {
  /** The scripted server's issuer (a path of its own per test: RFC 8414's URL differs). */
  const issuer = (path) => `${srv.origin}${path}`;
  const cc = (iss) => new gk.ClientCredentials({ issuer: iss, clientId: 'c', clientSecret: 's', fetch: ownFetch() });
  const serve = (doc, status = 200) => srv.script((req, res) => {
    if (req.url.startsWith('/.well-known/') || req.url.includes('/.well-known/openid-configuration')) return json(res, status, doc);
    return json(res, 200, { access_token: 'scripted', token_type: 'Bearer', expires_in: 60 });
  });

  test('another issuer: DISCOVERY_ISSUER_MISMATCH, no token request', async () => {
    serve({ issuer: 'https://evil.example', token_endpoint: `${srv.origin}/token` });
    const err = await rejection(cc(issuer('/a')).getToken());
    assertGrantkitError(err, 'DISCOVERY_ISSUER_MISMATCH', { status: 200 });
    assert.deepEqual(srv.hits.map((h) => [h.method, h.url]), [['GET', '/a/.well-known/openid-configuration']]);
  });

  test('a plain-http token endpoint off loopback: DISCOVERY_INSECURE_ENDPOINT', async () => {
    serve({ issuer: issuer('/b'), token_endpoint: 'http://idp.example/token' });
    assertGrantkitError(await rejection(cc(issuer('/b')).getToken()), 'DISCOVERY_INSECURE_ENDPOINT', { status: 200 });
    assert.equal(srv.hits.length, 1);
  });

  test('not a JSON object, or no issuer: DISCOVERY_INVALID_DOCUMENT', async () => {
    for (const doc of [['not', 'an', 'object'], { token_endpoint: `${srv.origin}/token` }, { issuer: 7 }]) {
      serve(doc);
      assertGrantkitError(await rejection(cc(issuer('/c')).getToken()), 'DISCOVERY_INVALID_DOCUMENT', { status: 200 });
    }
  });

  test('no token_endpoint: DISCOVERY_MISSING_ENDPOINT', async () => {
    serve({ issuer: issuer('/d') });
    const err = await rejection(cc(issuer('/d')).getToken());
    assertGrantkitError(err, 'DISCOVERY_MISSING_ENDPOINT');
  });

  test('a redirect is not followed: UNEXPECTED_REDIRECT after one request', async () => {
    srv.script((_req, res) => { res.writeHead(302, { location: 'https://elsewhere.example/doc' }); res.end(); });
    assertGrantkitError(await rejection(cc(issuer('/e')).getToken()), 'UNEXPECTED_REDIRECT', { status: 302 });
    assert.equal(srv.hits.length, 1);
  });

  test('404 at the OpenID URL: RFC 8414 between host and path; 404 at both: DISCOVERY_NOT_FOUND', async () => {
    const iss = issuer('/tenant1');
    srv.script((req, res) => {
      if (req.url === '/.well-known/oauth-authorization-server/tenant1') return json(res, 200, { issuer: iss, token_endpoint: `${srv.origin}/token` });
      if (req.url === '/token') return json(res, 200, { access_token: 'rfc8414', token_type: 'Bearer', expires_in: 60 });
      return json(res, 404, { message: 'not here' });
    });
    const ts = await cc(iss).getToken();
    assert.equal(ts.access_token, 'rfc8414');
    assert.deepEqual(srv.hits.map((h) => [h.method, h.url]), [
      ['GET', '/tenant1/.well-known/openid-configuration'],
      ['GET', '/.well-known/oauth-authorization-server/tenant1'],
      ['POST', '/token'],
    ]);

    srv.script((_req, res) => json(res, 404, { message: 'not here' }));
    assertGrantkitError(await rejection(cc(issuer('/none/')).getToken()), 'DISCOVERY_NOT_FOUND', { status: 404 });
    assert.deepEqual(srv.hits.map((h) => h.url), [
      '/none/.well-known/openid-configuration',
      '/.well-known/oauth-authorization-server/none',
    ]);
  });

  test('a failed lookup is not cached: the next getToken asks again', async () => {
    const iss = issuer('/f');
    const client = cc(iss);
    srv.script((_req, res) => json(res, 503, { message: 'starting' }));
    assertGrantkitError(await rejection(client.getToken()), 'HTTP_ERROR', { status: 503 });
    serve({ issuer: iss, token_endpoint: `${srv.origin}/token` });
    assert.equal((await client.getToken()).access_token, 'scripted');
    assert.deepEqual(srv.hits.map((h) => [h.method, h.url]), [['GET', '/f/.well-known/openid-configuration'], ['POST', '/token']]);
  });
});

describe('presets and the CLI', () => {
  test('the presets carry their issuers; spreading them keeps working', () => {
    assert.deepEqual(gk.keycloak({ baseUrl: 'https://sso.example.com', realm: 'ops' }), {
      provider: 'keycloak',
      tokenEndpoint: 'https://sso.example.com/realms/ops/protocol/openid-connect/token',
      issuer: 'https://sso.example.com/realms/ops',
    });
    assert.equal(gk.entra({ tenant: 'common' }).issuer, 'https://login.microsoftonline.com/common/v2.0');
    assert.deepEqual(gk.pingAic({ tenant: 'openam-acme.forgeblocks.com' }), {
      provider: 'pingAic', tokenEndpoint: 'https://openam-acme.forgeblocks.com:443/am/oauth2/access_token',
    });
    assert.deepEqual(gk.pingAic({ tenant: 'openam-acme.forgeblocks.com', realm: 'alpha' }), {
      provider: 'pingAic',
      tokenEndpoint: 'https://openam-acme.forgeblocks.com:443/am/oauth2/access_token',
      issuer: 'https://openam-acme.forgeblocks.com/am/oauth2/realms/root/realms/alpha',
    });
    assert.deepEqual(gk.acp({ platformUrl: 'https://acp.example.com/' }), {
      provider: 'acp', platformUrl: 'https://acp.example.com', issuer: 'https://acp.example.com/dex',
    });
    // Spread in: the token endpoint is given, so nothing is discovered.
    new gk.ClientCredentials({ ...gk.keycloak({ baseUrl: 'https://sso.example.com', realm: 'ops' }), clientId: 'c', clientSecret: 's' });
    new gk.AcpLogin({ ...gk.acp({ platformUrl: 'https://acp.example.com' }), username: 'u', password: 'p' });
    assert.throws(
      () => new gk.AcpLogin({ platformUrl: 'https://acp.example.com', issuer: 'https://other.example/dex', username: 'u', password: 'p' }),
      (e) => e.code === 'INVALID_CONFIG' && e.field === 'issuer',
    );
    // JwtBearer: `issuer` is the assertion's iss; put it after the preset.
    const bearer = new gk.JwtBearer({ ...gk.pingAic({ tenant: 'openam-acme.forgeblocks.com', realm: 'alpha' }), key: fixtureJson('rsa2048.jwk.json'), issuer: 'svc' });
    assert.ok(bearer);
  });

  test('grantkit client-credentials --issuer: a token, and --trace shows the discovery', async () => {
    const r = await runCli(
      ['client-credentials', '--issuer', idp.issuer, '--client-id', basic.client_id, '--client-secret-env', 'S', '--trace'],
      { env: { S: basic.client_secret } },
    );
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^[A-Za-z0-9._-]+\n$/, show(r));
    assert.equal((await introspect(idp, r.stdout.trim())).active, true);
    assert.match(r.stderr, /> GET http:\/\/127\.0\.0\.1:\d+\/\.well-known\/openid-configuration {3}\[discovery \(openid-configuration\)\]/, show(r));
  });

  test('grantkit: --issuer of a lying server exits 1 with its code; no endpoint at all is a usage error', async () => {
    srv.script((_req, res) => json(res, 200, { issuer: 'https://evil.example', token_endpoint: 'https://evil.example/token' }));
    const r = await runCli(['client-credentials', '--issuer', `${srv.origin}/g`, '--client-id', 'c', '--client-secret-env', 'S'], { env: { S: 'x' } });
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /^grantkit: DISCOVERY_ISSUER_MISMATCH: /, show(r));
    const u = await runCli(['client-credentials', '--client-id', 'c', '--client-secret-env', 'S'], { env: { S: 'x' } });
    assert.equal(u.code, 1, show(u));
    assert.match(u.stderr, /--issuer/, show(u));
    const bad = await runCli(['client-credentials', '--issuer', 'ftp://x', '--client-id', 'c', '--client-secret-env', 'S'], { env: { S: 'x' } });
    assert.equal(bad.code, 1, show(bad));
    assert.match(bad.stderr, /^grantkit: --issuer: INVALID_CONFIG: /, show(bad));
  });

  test('grantkit jwt-bearer --server-issuer', async () => {
    const r = await runCli([
      'jwt-bearer', '--server-issuer', idp.issuer, '--key', fixturePath('rsa2048.jwk.json'),
      '--issuer', 'svc-fixture', '--client-id', 'service-account', '--scope', 'api:read',
    ]);
    assert.equal(r.code, 0, show(r));
    assert.equal((await introspect(idp, r.stdout.trim())).active, true);
  });
});

describe('discover(): the endpoints of an issuer', () => {
  test('the IdP\'s endpoints under their option names, shared with the flows (one request); a lying document and bad options refused', async () => {
    const own = ownFetch();
    const asked = idp.discoveryRequests().length;
    const endpoints = await gk.discover({ issuer: idp.issuer, fetch: own });
    assert.deepEqual(endpoints, {
      issuer: idp.issuer,
      tokenEndpoint: idp.tokenEndpoint,
      deviceAuthorizationEndpoint: idp.deviceAuthorizationEndpoint,
      revocationEndpoint: idp.revocationEndpoint,
      introspectionEndpoint: idp.introspectionEndpoint,
      authorizationEndpoint: idp.authorizationEndpoint,
      jwksUri: idp.jwksUri,
    });
    // A flow with the same issuer and fetch reuses the answer.
    const cc = new gk.ClientCredentials({ issuer: idp.issuer, clientId: basic.client_id, clientSecret: basic.client_secret, scope: 'api:read', fetch: own });
    await cc.getToken();
    assert.equal(idp.discoveryRequests().length - asked, 1, 'one discovery request for discover() and the flow');
    // Each under the option that takes it.
    const { tokenEndpoint, revocationEndpoint, introspectionEndpoint } = endpoints;
    const tokens = await new gk.ClientCredentials({
      tokenEndpoint, revocationEndpoint, introspectionEndpoint, clientId: basic.client_id, clientSecret: basic.client_secret, scope: 'api:read',
    }).getToken();
    assert.equal(tokens.token_type, 'Bearer');

    srv.script((req, res) => json(res, 200, { issuer: 'https://evil.example', token_endpoint: `${srv.origin}/token` }));
    assertGrantkitError(await rejection(gk.discover({ issuer: `${srv.origin}/d`, fetch: ownFetch() })), 'DISCOVERY_ISSUER_MISMATCH', { status: 200 });
    assertGrantkitError(await rejection(gk.discover({ issuer: 'not a url' })), 'INVALID_CONFIG', { field: 'issuer' });
    assertGrantkitError(await rejection(gk.discover({ issuer: idp.issuer, tokenEndpoint: 'x' })), 'INVALID_CONFIG', { field: 'options' });
  });
});
