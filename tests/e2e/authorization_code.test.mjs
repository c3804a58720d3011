// AuthorizationCode (RFC 6749 §4.1 with PKCE, RFC 9207, OIDC Core §3.1.3.7)
// of the installed package against the local IdP: the user signs in through
// oidc-provider's own login and consent pages (tests/idp/browser_login.mjs
// plays the browser), begin()/complete() with the pending string, public and
// confidential clients, the exact token request, the ID token verified with
// WebCrypto, a TokenSource refreshing the login, the refusals (state, iss, a
// tampered ID token, a denied consent), and `grantkit login` on loopback.
// Configured with only `issuer`, the endpoints, jwks_uri and the provider's
// RFC 9207 announcement come from its metadata (one request per process and
// fetch); lying documents from a scripted server are refused.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import * as jose from 'jose';

import { CLIENTS, startIdp } from '../idp/server.mjs';
import { signIn } from '../idp/browser_login.mjs';
import {
  assertGrantkitError, basicHeader, cliPath, decodeJws, form, introspect, json, loadGrantkit, rejection, startScriptedServer, thrown,
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

const REDIRECT = 'http://127.0.0.1:51001/callback';

function login(extra = {}) {
  return new gk.AuthorizationCode({
    authorizationEndpoint: idp.authorizationEndpoint,
    tokenEndpoint: idp.tokenEndpoint,
    issuer: idp.issuer,
    jwksUri: idp.jwksUri,
    clientId: CLIENTS.loginPublic.client_id,
    redirectUri: REDIRECT,
    scope: 'openid profile offline_access',
    // oidc-provider drops offline_access (no refresh token) without prompt=consent.
    authorizationParams: { prompt: 'consent' },
    authorizationResponseIssParameterSupported: true,
    ...extra,
  });
}

const base64url = (bytes) => Buffer.from(bytes).toString('base64url');

describe('AuthorizationCode against the local IdP', () => {
  test('a public client signs alice in: PKCE S256, the exact token request, a verified ID token', async () => {
    const ac = login();
    const { url, pending } = await ac.begin();
    assert.equal(typeof pending, 'string');
    const authorize = new URL(url);
    assert.equal(authorize.origin + authorize.pathname, idp.authorizationEndpoint);
    const q = authorize.searchParams;
    assert.equal(q.get('response_type'), 'code');
    assert.equal(q.get('client_id'), 'login-public');
    assert.equal(q.get('redirect_uri'), REDIRECT);
    assert.equal(q.get('scope'), 'openid profile offline_access');
    assert.equal(q.get('code_challenge_method'), 'S256');
    assert.equal(q.get('prompt'), 'consent');
    assert.match(q.get('state'), /^[A-Za-z0-9_-]{22}$/);
    assert.match(q.get('nonce'), /^[A-Za-z0-9_-]{22}$/);

    const { callbackUrl } = await signIn({ url, username: 'alice' });
    const callback = new URL(callbackUrl);
    assert.equal(callback.origin + callback.pathname, REDIRECT);
    assert.equal(callback.searchParams.get('state'), q.get('state'));
    assert.equal(callback.searchParams.get('iss'), idp.issuer); // RFC 9207, oidc-provider's default

    idp.resetRequests();
    const tokens = await ac.complete(callbackUrl, pending);
    const [req] = idp.tokenRequests();
    assert.equal(idp.tokenRequests().length, 1);
    assert.equal(req.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(req.headers.authorization, undefined);
    const body = new URLSearchParams(req.body);
    const verifier = body.get('code_verifier');
    assert.match(verifier, /^[A-Za-z0-9_-]{43}$/);
    // The challenge in the URL is BASE64URL(SHA256(verifier)), computed here by node:crypto.
    assert.equal(q.get('code_challenge'), base64url(createHash('sha256').update(verifier).digest()));
    assert.equal(req.body, form([
      ['grant_type', 'authorization_code'], ['code', callback.searchParams.get('code')], ['redirect_uri', REDIRECT],
      ['code_verifier', verifier], ['client_id', 'login-public'],
    ]));

    assert.equal(tokens.token_type, 'Bearer');
    assert.ok(tokens.access_token);
    assert.ok(tokens.refresh_token, 'offline_access with consent gives a refresh token');
    const idToken = decodeJws(tokens.id_token);
    assert.equal(idToken.claims.sub, 'alice');
    assert.equal(idToken.claims.nonce, q.get('nonce'));
    assert.equal(idToken.claims.aud, 'login-public');
    assert.equal(idToken.header.kid, idp.publicJwk.kid);

    // The pending login is good for one completion: the code is used.
    const again = await rejection(ac.complete(callbackUrl, pending));
    assertGrantkitError(again, 'OAUTH_ERROR', { error: 'invalid_grant' });
  });

  test('a confidential client authenticates with Basic; without openid there is no nonce and no ID token check', async () => {
    const ac = login({
      clientId: CLIENTS.loginConfidential.client_id, clientSecret: CLIENTS.loginConfidential.client_secret, scope: 'profile',
    });
    const { url, pending } = await ac.begin();
    assert.equal(new URL(url).searchParams.get('nonce'), null);
    const { callbackUrl } = await signIn({ url, username: 'alice' });
    idp.resetRequests();
    const tokens = await ac.complete(callbackUrl, pending);
    const [req] = idp.tokenRequests();
    assert.equal(req.headers.authorization, basicHeader('login-confidential', CLIENTS.loginConfidential.client_secret));
    assert.equal(new URLSearchParams(req.body).get('client_id'), null);
    assert.ok(tokens.access_token);
  });

  test('a TokenSource keeps a completed login fresh by refresh', async () => {
    const ac = login();
    assertGrantkitError(thrown(() => new gk.TokenSource(ac)), 'INVALID_CONFIG', { field: 'flow' });
    const { url, pending } = await ac.begin();
    const { callbackUrl } = await signIn({ url, username: 'alice' });
    const tokens = await ac.complete(callbackUrl, pending);
    const source = new gk.TokenSource(ac);
    idp.resetRequests();
    assert.equal((await source.getToken()).access_token, tokens.access_token);
    assert.equal(idp.tokenRequests().length, 0);
    source.invalidate();
    const refreshed = await source.getToken();
    assert.notEqual(refreshed.access_token, tokens.access_token);
    const [req] = idp.tokenRequests();
    assert.equal(req.body, form([['grant_type', 'refresh_token'], ['refresh_token', tokens.refresh_token], ['client_id', 'login-public']]));
  });

  test('with dpop: the code is exchanged with a proof, the tokens are bound to the key, and a TokenSource refreshes with it', async () => {
    const ac = login({ dpop: true });
    const { url, pending } = await ac.begin();
    const { callbackUrl } = await signIn({ url, username: 'alice' });
    idp.resetRequests();
    const tokens = await ac.complete(callbackUrl, pending);
    assert.equal(tokens.token_type, 'DPoP');
    const jkt = async (req) => {
      const { protectedHeader, payload } = await jose.jwtVerify(req.headers.dpop, jose.EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] });
      assert.equal(payload.htu, idp.tokenEndpoint);
      return jose.calculateJwkThumbprint(protectedHeader.jwk, 'sha256');
    };
    const [exchange] = idp.tokenRequests();
    assert.equal(new URLSearchParams(exchange.body).get('grant_type'), 'authorization_code');
    const bound = await jkt(exchange);
    assert.deepEqual((await introspect(idp, tokens.access_token)).cnf, { jkt: bound });

    const source = new gk.TokenSource(ac);
    source.invalidate();
    idp.resetRequests();
    const refreshed = await source.getToken();
    assert.equal(refreshed.token_type, 'DPoP');
    const [refresh] = idp.tokenRequests();
    assert.equal(refresh.body, form([['grant_type', 'refresh_token'], ['refresh_token', tokens.refresh_token], ['client_id', 'login-public']]));
    assert.equal(await jkt(refresh), bound, 'the same key');
  });

  test('refusals: a changed state, another iss, a missing iss, a denied consent', async () => {
    const ac = login();
    const { url, pending } = await ac.begin();
    const { callbackUrl } = await signIn({ url, username: 'alice' });
    const changed = (name, value) => {
      const u = new URL(callbackUrl);
      if (value === undefined) u.searchParams.delete(name);
      else u.searchParams.set(name, value);
      return u.href;
    };
    idp.resetRequests();
    assertGrantkitError(await rejection(ac.complete(changed('state', 'forged'), pending)), 'AUTHORIZATION_STATE_MISMATCH');
    assertGrantkitError(await rejection(ac.complete(changed('iss', 'http://127.0.0.1:1'), pending)), 'AUTHORIZATION_ISSUER_MISMATCH');
    assertGrantkitError(await rejection(ac.complete(changed('iss', undefined), pending)), 'AUTHORIZATION_ISSUER_MISMATCH');
    assert.equal(idp.tokenRequests().length, 0, 'nothing is sent for a refused redirect');

    const denied = await ac.begin();
    const { callbackUrl: deniedUrl } = await signIn({ url: denied.url, username: 'alice', deny: true });
    const err = await rejection(ac.complete(deniedUrl, denied.pending));
    assertGrantkitError(err, 'OAUTH_ERROR', { error: 'access_denied' });
    assert.equal(err.status, undefined);
  });

  test('a tampered ID token fails its signature check (WebCrypto and the IdP\'s JWKS)', async () => {
    // A fetch that changes the ID token's payload (sub) on its way back.
    const tamper = async (input, init) => {
      const res = await fetch(input, init);
      if (!String(input).endsWith('/token')) return res;
      const body = await res.json();
      const [h, , s] = body.id_token.split('.');
      const claims = decodeJws(body.id_token).claims;
      body.id_token = `${h}.${base64url(JSON.stringify({ ...claims, sub: 'mallory' }))}.${s}`;
      return new Response(JSON.stringify(body), { status: res.status, headers: { 'content-type': 'application/json' } });
    };
    const ac = login({ fetch: tamper });
    const { url, pending } = await ac.begin();
    const { callbackUrl } = await signIn({ url, username: 'alice' });
    const err = await rejection(ac.complete(callbackUrl, pending));
    assertGrantkitError(err, 'ID_TOKEN_BAD_SIGNATURE');
  });

  test('authorizationUrl() needs sessionStorage, which Node lacks', async () => {
    assertGrantkitError(await rejection(login().authorizationUrl()), 'INVALID_CONFIG', { field: 'pending' });
    assertGrantkitError(await rejection(login().complete(`${REDIRECT}?code=x&state=y`, 'not-a-pending-login')), 'AUTHORIZATION_PENDING_INVALID');
  });
});

describe('AuthorizationCode with only issuer', () => {
  /** A fetch of its own: a discovery-cache key of its own. */
  const ownFetch = () => (input, init) => fetch(input, init);

  test('begin() reads the metadata once; complete() uses its token endpoint and jwks_uri', async () => {
    const labels = [];
    const ac = new gk.AuthorizationCode({
      issuer: idp.issuer,
      clientId: CLIENTS.loginPublic.client_id,
      redirectUri: REDIRECT,
      scope: 'openid profile',
      fetch: ownFetch(),
      onExchange: (e) => labels.push(e.label),
    });
    idp.resetRequests();
    const { url, pending } = await ac.begin();
    const [doc, ...more] = idp.discoveryRequests();
    assert.equal(more.length, 0, 'one metadata request');
    assert.equal(doc.path, '/.well-known/openid-configuration');
    assert.equal(doc.headers.accept, 'application/json');
    const authorize = new URL(url);
    assert.equal(authorize.origin + authorize.pathname, idp.authorizationEndpoint);
    assert.equal(authorize.searchParams.get('client_id'), 'login-public');
    assert.match(authorize.searchParams.get('nonce'), /^[A-Za-z0-9_-]{22}$/);

    const { callbackUrl } = await signIn({ url, username: 'alice' });
    const tokens = await ac.complete(callbackUrl, pending);
    assert.equal(idp.discoveryRequests().length, 1, 'complete() asks no more');
    const [req] = idp.tokenRequests();
    assert.equal(idp.tokenRequests().length, 1);
    assert.equal(req.path, '/token');
    const verifier = new URLSearchParams(req.body).get('code_verifier');
    assert.equal(req.body, form([
      ['grant_type', 'authorization_code'], ['code', new URL(callbackUrl).searchParams.get('code')], ['redirect_uri', REDIRECT],
      ['code_verifier', verifier], ['client_id', 'login-public'],
    ]));
    assert.deepEqual(labels, ['discovery (openid-configuration)', 'token request (authorization_code)', 'issuer keys (jwks_uri)']);
    const keys = idp.jwksRequests();
    assert.equal(keys.length, 1, 'the keys of the metadata\'s jwks_uri, once');
    assert.equal(keys[0].headers.accept, 'application/jwk-set+json, application/json');
    const idToken = decodeJws(tokens.id_token);
    assert.equal(idToken.claims.sub, 'alice');
    assert.equal(idToken.claims.iss, idp.issuer);
    assert.equal(idToken.claims.nonce, authorize.searchParams.get('nonce'));
  });

  test('oidc-provider announces iss (RFC 9207): a redirect without it is refused, though the option is not set', async () => {
    const options = {
      issuer: idp.issuer, clientId: CLIENTS.loginPublic.client_id, redirectUri: REDIRECT, scope: 'profile',
    };
    const ac = new gk.AuthorizationCode({ ...options, fetch: ownFetch() });
    const { url, pending } = await ac.begin();
    const { callbackUrl } = await signIn({ url, username: 'alice' });
    const withoutIss = new URL(callbackUrl);
    withoutIss.searchParams.delete('iss');
    idp.resetRequests();
    // Another instance (a callback handled elsewhere): it reads the metadata before refusing.
    const other = new gk.AuthorizationCode({ ...options, fetch: ownFetch() });
    const err = await rejection(other.complete(withoutIss.href, pending));
    assertGrantkitError(err, 'AUTHORIZATION_ISSUER_MISMATCH');
    assert.match(err.message, /announced/);
    assert.equal(idp.discoveryRequests().length, 1);
    assert.equal(idp.tokenRequests().length, 0, 'nothing is sent for a refused redirect');
    // The redirect as the provider sent it completes.
    const tokens = await ac.complete(callbackUrl, pending);
    assert.ok(tokens.access_token);
  });

  test('introspect() and revoke() on the login itself, with the endpoints its metadata names', async () => {
    const ac = new gk.AuthorizationCode({
      issuer: idp.issuer, clientId: CLIENTS.loginPublic.client_id, redirectUri: REDIRECT, scope: 'profile', fetch: ownFetch(),
    });
    const { url, pending } = await ac.begin();
    const { callbackUrl } = await signIn({ url, username: 'alice' });
    const tokens = await ac.complete(callbackUrl, pending);
    assert.equal((await ac.introspect(tokens.access_token)).active, true);
    assert.equal(await ac.revoke(tokens), undefined);
    const after = await ac.introspect(tokens.access_token, { tokenTypeHint: 'access_token' });
    assert.equal(after.active, false, 'revoked');
    assertGrantkitError(await rejection(ac.revoke(undefined)), 'INVALID_CONFIG', { field: 'token' });
    assertGrantkitError(await rejection(ac.introspect(42)), 'INVALID_CONFIG', { field: 'token' });
    // Without an issuer or a revocation endpoint: the option is named.
    const bare = login();
    assertGrantkitError(await rejection(bare.revoke(tokens)), 'INVALID_CONFIG', { field: 'revocationEndpoint' });
  });

  test('neither endpoints nor issuer: INVALID_CONFIG naming the option, from the constructor', () => {
    const err = thrown(() => new gk.AuthorizationCode({ clientId: 'app', redirectUri: REDIRECT }));
    assertGrantkitError(err, 'INVALID_CONFIG', { field: 'authorizationEndpoint' });
    assert.match(err.message, /give authorizationEndpoint, or issuer/);
    assertGrantkitError(
      thrown(() => new gk.AuthorizationCode({ issuer: idp.issuer, clientId: 'app', redirectUri: 'http://example.com/cb' })),
      'INVALID_CONFIG',
      { field: 'redirectUri' },
    );
  });

  test('metadata a login cannot use is refused with its code, nothing else sent', async () => {
    const issuer = (path) => `${srv.origin}${path}`;
    const serve = (doc) => srv.script((_req, res) => json(res, 200, doc));
    const begin = (iss, scope = 'openid') => new gk.AuthorizationCode({
      issuer: iss, clientId: 'app', redirectUri: REDIRECT, scope, fetch: ownFetch(),
    }).begin();
    const full = (iss) => ({
      issuer: iss, authorization_endpoint: `${srv.origin}/auth`, token_endpoint: `${srv.origin}/token`, jwks_uri: `${srv.origin}/jwks`,
    });
    const cases = [
      ['/a', (d) => ({ ...d, jwks_uri: 'http://idp.example/jwks' }), 'DISCOVERY_INSECURE_ENDPOINT', /jwks_uri/],
      ['/b', (d) => ({ ...d, authorization_endpoint: 'http://idp.example/auth' }), 'DISCOVERY_INSECURE_ENDPOINT', /authorization_endpoint/],
      ['/c', ({ authorization_endpoint: _a, ...d }) => d, 'DISCOVERY_MISSING_ENDPOINT', /authorization_endpoint/],
      ['/d', ({ jwks_uri: _j, ...d }) => d, 'DISCOVERY_MISSING_ENDPOINT', /jwks_uri/],
      ['/e', (d) => ({ ...d, authorization_response_iss_parameter_supported: 'yes' }), 'DISCOVERY_INVALID_DOCUMENT', /RFC 9207/],
    ];
    for (const [path, change, code, named] of cases) {
      serve(change(full(issuer(path))));
      const err = await rejection(begin(issuer(path)));
      assertGrantkitError(err, code);
      assert.match(err.message, named);
      assert.deepEqual(srv.hits.map((h) => [h.method, h.url]), [['GET', `${path}/.well-known/openid-configuration`]]);
    }
    // Without openid, no ID token is verified: no jwks_uri needed.
    const { jwks_uri: _j, ...withoutKeys } = full(issuer('/f'));
    serve(withoutKeys);
    const { url } = await begin(issuer('/f'), 'profile');
    assert.equal(new URL(url).origin + new URL(url).pathname, `${srv.origin}/auth`);
  });
});

/** Runs `grantkit login ...`, resolving the printed URL and the end. */
function startLogin(args) {
  const child = spawn(process.execPath, [cliPath(), 'login', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  let onUrl;
  const url = new Promise((resolve, reject) => {
    onUrl = resolve;
    child.on('exit', () => reject(new Error(`grantkit login exited before printing a URL: ${stderr}`)));
  });
  child.stderr.on('data', (d) => {
    stderr += d;
    const m = /^ {2}(http\S+)$/m.exec(stderr);
    if (m) onUrl(m[1]);
  });
  const done = new Promise((resolve) => {
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
  const timer = setTimeout(() => child.kill(), 20_000);
  done.finally(() => clearTimeout(timer));
  return { url, done, child };
}

const CLI_ARGS = () => [
  '--authorization-endpoint', idp.authorizationEndpoint, '--token-endpoint', idp.tokenEndpoint,
  '--issuer', idp.issuer, '--jwks-uri', idp.jwksUri, '--client-id', 'login-public',
  '--scope', 'openid', '--iss-supported',
];

describe('grantkit login', () => {
  test('listens on loopback, the browser signs in and comes back, the token is printed', async () => {
    const run = startLogin([...CLI_ARGS(), '--json']);
    const url = new URL(await run.url);
    const redirect = new URL(url.searchParams.get('redirect_uri'));
    assert.equal(redirect.hostname, '127.0.0.1');
    assert.equal(redirect.pathname, '/callback');
    assert.ok(Number(redirect.port) > 0);
    const browser = await signIn({ url: url.href, username: 'alice', follow: true });
    assert.equal(browser.status, 200);
    assert.match(browser.body, /Signed in/);
    assert.match(browser.body, /close this window/);
    const { code, stdout, stderr } = await run.done;
    assert.equal(code, 0, stderr);
    const tokens = JSON.parse(stdout);
    assert.equal(decodeJws(tokens.id_token).claims.sub, 'alice');
    assert.match(stderr, /To sign in, open this URL/);
    assert.ok(!stderr.includes(tokens.access_token));
  });

  test('a forged redirect is refused: the browser sees a failure page, the exit status is 1', async () => {
    const run = startLogin(CLI_ARGS());
    const url = new URL(await run.url);
    const { callbackUrl } = await signIn({ url: url.href, username: 'alice' });
    const forged = new URL(callbackUrl);
    forged.searchParams.set('state', 'forged');
    const answer = await fetch(forged);
    assert.equal(answer.status, 400);
    assert.match(await answer.text(), /Sign-in failed/);
    const { code, stdout, stderr } = await run.done;
    assert.equal(code, 1);
    assert.equal(stdout, '');
    assert.match(stderr, /AUTHORIZATION_STATE_MISMATCH/);
  });

  test('with only --issuer: the endpoints and keys come from the metadata', async () => {
    const run = startLogin(['--issuer', idp.issuer, '--client-id', 'login-public', '--scope', 'openid', '--json']);
    const url = new URL(await run.url);
    assert.equal(url.origin + url.pathname, idp.authorizationEndpoint);
    const browser = await signIn({ url: url.href, username: 'alice', follow: true });
    assert.equal(browser.status, 200);
    const { code, stdout, stderr } = await run.done;
    assert.equal(code, 0, stderr);
    assert.equal(decodeJws(JSON.parse(stdout).id_token).claims.sub, 'alice');
  });

  test('a denied consent exits 2 naming access_denied; the time limit exits 1', async () => {
    const run = startLogin(CLI_ARGS());
    const url = await run.url;
    await signIn({ url, username: 'alice', deny: true, follow: true });
    const denied = await run.done;
    assert.equal(denied.code, 2, denied.stderr);
    assert.match(denied.stderr, /access_denied/);

    const slow = startLogin([...CLI_ARGS(), '--login-timeout', '1']);
    await slow.url;
    const timedOut = await slow.done;
    assert.equal(timedOut.code, 1);
    assert.match(timedOut.stderr, /no sign-in came back within 1 s/);
  });
});
