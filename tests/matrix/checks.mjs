// The harness's verdict on each scenario step: what the step reported
// (`observed`, or the `error` it threw) against what the local IdP and the
// resource server recorded while it ran. Exact values throughout: the body
// of every token request, one token request for all concurrent callers, the
// Bearer token and the extra headers as the resource server saw them. JWT
// bearer assertions, and the ID token of the authorization code step, are
// verified here with jose, independently of grantkit; that step's code and
// access token are looked up in the IdP's own store.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as jose from 'jose';

import { DEVICE_CODE_GRANT, JWT_BEARER_GRANT, RESOURCE } from '../idp/server.mjs';
import { basicHeader, form } from '../e2e/helpers.mjs';

const FORM = 'application/x-www-form-urlencoded';
const JTI = /^[A-Za-z0-9_-]{22}$/;

/** The one token request of a step, with the common headers checked. */
function oneTokenRequest(ctx) {
  assert.equal(ctx.tokenRequests.length, 1, `token requests during the step: ${ctx.tokenRequests.length}`);
  const [req] = ctx.tokenRequests;
  assert.equal(req.headers['content-type'], FORM, 'token request content-type');
  return req;
}

/** Verify an access token with the IdP's key; its claims. */
async function accessTokenClaims(ctx, token) {
  const key = await jose.importJWK(ctx.idp.publicJwk, 'RS256');
  const { payload } = await jose.jwtVerify(token, key, { issuer: ctx.idp.issuer, audience: RESOURCE, algorithms: ['RS256'] });
  return payload;
}

function assertBearerSet(tokens) {
  assert.ok(tokens, 'a token set');
  assert.equal(tokens.token_type, 'Bearer');
  assert.equal(typeof tokens.access_token, 'string');
  assert.equal(tokens.expires_in, 3600);
}

async function jwtBearer(ctx, signer) {
  const { observed, params, idp } = ctx;
  assert.equal(observed.signer, signer);
  if (signer === 'rust') assert.equal(observed.subtleSignCalls, 0, 'the Rust signer does not call crypto.subtle.sign');
  else assert.equal(observed.subtleSignCalls, 1, 'the WebCrypto signer calls crypto.subtle.sign once');
  const req = oneTokenRequest(ctx);
  assert.equal(req.headers.authorization, undefined, 'a public client sends no Authorization');
  const body = Object.fromEntries(new URLSearchParams(req.body));
  assert.deepEqual(Object.keys(body).sort(), ['assertion', 'client_id', 'grant_type', 'scope']);
  assert.equal(body.grant_type, JWT_BEARER_GRANT);
  assert.equal(body.client_id, params.serviceAccount.clientId);
  assert.equal(body.scope, 'api:read');
  // The assertion as the IdP received it, verified with jose against the public key.
  const key = await jose.importJWK(params.serviceAccount.publicJwk, 'RS256');
  const { payload, protectedHeader } = await jose.jwtVerify(body.assertion, key, {
    algorithms: ['RS256'], typ: 'JWT', issuer: params.serviceAccount.id, subject: params.serviceAccount.id,
  });
  assert.equal(protectedHeader.alg, 'RS256');
  assert.equal(payload.aud, idp.tokenEndpoint, 'aud is exactly the token endpoint');
  assert.match(payload.jti, JTI);
  assert.equal(payload.exp - payload.iat, 180, 'default lifetime 180 s');
  assertBearerSet(observed.tokens);
  const claims = await accessTokenClaims(ctx, observed.tokens.access_token);
  assert.equal(claims.sub, params.serviceAccount.id);
  return `assertion RS256 verified by jose, jti ${payload.jti}`;
}

export const CHECKS = {
  async client_credentials(ctx) {
    const { observed, params } = ctx;
    const req = oneTokenRequest(ctx);
    assert.equal(req.headers.authorization, basicHeader(params.ccBasic.clientId, params.ccBasic.clientSecret));
    assert.equal(req.body, 'grant_type=client_credentials&scope=api%3Aread');
    assertBearerSet(observed.tokens);
    assert.equal(observed.tokens.scope, 'api:read');
    const claims = await accessTokenClaims(ctx, observed.tokens.access_token);
    assert.equal(claims.client_id, params.ccBasic.clientId);
    return 'one request, exact body, token verified';
  },

  async password(ctx) {
    const { observed, params } = ctx;
    const req = oneTokenRequest(ctx);
    assert.equal(req.headers.authorization, basicHeader(params.pwClient.clientId, params.pwClient.clientSecret));
    assert.equal(req.body, form([
      ['grant_type', 'password'], ['username', params.user.username], ['password', params.user.password], ['scope', params.passwordScope],
    ]));
    assertBearerSet(observed.tokens);
    assert.equal(typeof observed.tokens.refresh_token, 'string', 'offline_access: a refresh token');
    assert.equal(typeof observed.tokens.id_token, 'string', 'openid: an ID token');
    const claims = await accessTokenClaims(ctx, observed.tokens.access_token);
    assert.equal(claims.sub, params.user.username);
    return 'one request, exact body, token for alice';
  },

  jwt_bearer_rust: (ctx) => jwtBearer(ctx, 'rust'),
  jwt_bearer_webcrypto: (ctx) => jwtBearer(ctx, 'webcrypto'),

  async device(ctx) {
    const { observed, params, idp } = ctx;
    assert.equal(ctx.deviceRequests.length, 1, 'one device authorization request');
    assert.equal(ctx.deviceRequests[0].body, form([['scope', params.deviceScope], ['client_id', params.deviceClientId]]));
    assert.equal(observed.prompts.length, 1, 'onPrompt called once');
    const [prompt] = observed.prompts;
    assert.equal(prompt.verification_uri, `${idp.issuer}/device`);
    assert.match(prompt.user_code, /^[A-Z]{4}-[A-Z]{4}$/);
    assert.ok(ctx.approval, 'the harness was asked to approve the user code');
    const approval = await ctx.approval;
    assert.equal(approval.outcome, 'approved', `approval: ${approval.message ?? ''}`);
    // The harness approved after the first poll: pending first, then the tokens.
    assert.ok(ctx.tokenRequests.length >= 2, `polls: ${ctx.tokenRequests.length}, at least 2 (pending, then tokens)`);
    const t0 = ctx.deviceRequests[0].at;
    const timeline = `device code at 0 ms, prompt at the harness at ${ctx.promptAt - t0} ms, polls at ${ctx.tokenRequests.map((r) => r.at - t0).join(', ')} ms`;
    const firstWait = ctx.tokenRequests[0].at - t0;
    assert.ok(firstWait >= 950, `the first poll must come the 1 s interval after the code, also when onPrompt ends past a whole second (${timeline})`);
    for (const poll of ctx.tokenRequests) {
      const body = new URLSearchParams(poll.body);
      assert.equal(body.get('grant_type'), DEVICE_CODE_GRANT);
      assert.equal(body.get('client_id'), params.deviceClientId);
    }
    const gaps = ctx.tokenRequests.slice(1).map((r, i) => r.at - ctx.tokenRequests[i].at);
    for (const gap of gaps) assert.ok(gap >= 900, `polls at least the 1 s interval apart (${timeline})`);
    assertBearerSet(observed.tokens);
    assert.equal(typeof observed.tokens.refresh_token, 'string');
    const claims = await accessTokenClaims(ctx, observed.tokens.access_token);
    assert.equal(claims.sub, params.user.username);
    return `approved through the IdP's pages after the first poll (${timeline})`;
  },

  async discovery(ctx) {
    const { observed, params } = ctx;
    assert.equal(ctx.discoveryRequests.length, 1, `discovery requests: ${ctx.discoveryRequests.length}, one for all flows`);
    const [doc] = ctx.discoveryRequests;
    assert.equal(doc.path, '/.well-known/openid-configuration');
    assert.equal(doc.headers.accept, 'application/json');
    assert.equal(doc.headers.authorization, undefined, 'no credentials to the metadata');
    assert.equal(ctx.tokenRequests.length, params.discoveryCallers, 'one token request per flow');
    for (const req of ctx.tokenRequests) {
      assert.equal(req.headers.authorization, basicHeader(params.ccBasic.clientId, params.ccBasic.clientSecret));
      assert.equal(req.body, form([['grant_type', 'client_credentials'], ['scope', 'api:read']]));
    }
    assert.equal(observed.callers, params.discoveryCallers);
    assert.equal(observed.distinctTokens, params.discoveryCallers);
    assert.deepEqual(observed.labels, ['discovery (openid-configuration)', 'token request (client_credentials)']);
    assertBearerSet(observed.tokens);
    await accessTokenClaims(ctx, observed.tokens.access_token);
    return `${params.discoveryCallers} flows with only issuer: 1 discovery request, ${params.discoveryCallers} token requests`;
  },

  async authorization_code(ctx) {
    const { observed, params, idp } = ctx;
    const { login } = params;
    // The browser's part happened at the harness, with the URL the step reported.
    assert.ok(ctx.authorize?.callbackUrl, 'the harness signed the user in (/authorize)');
    assert.equal(observed.url, ctx.authorize.url, 'the URL the step began is the one the harness followed');
    assert.equal(observed.callbackUrl, ctx.authorize.callbackUrl, 'the step completed the IdP\'s redirect');
    const authorize = new URL(observed.url);
    const q = Object.fromEntries(authorize.searchParams);
    assert.equal(authorize.origin + authorize.pathname, idp.authorizationEndpoint, 'the authorization endpoint of the metadata');
    assert.deepEqual(Object.keys(q).sort(), ['client_id', 'code_challenge', 'code_challenge_method', 'nonce', 'redirect_uri', 'response_type', 'scope', 'state']);
    assert.equal(q.response_type, 'code');
    assert.equal(q.client_id, login.clientId);
    assert.equal(q.redirect_uri, login.redirectUri);
    assert.equal(q.scope, login.scope);
    assert.equal(q.code_challenge_method, 'S256');
    for (const name of ['state', 'nonce']) assert.match(q[name], /^[A-Za-z0-9_-]{22}$/, name);
    const callback = new URL(observed.callbackUrl);
    assert.equal(callback.origin + callback.pathname, login.redirectUri);
    assert.equal(callback.searchParams.get('state'), q.state);
    assert.equal(callback.searchParams.get('iss'), idp.issuer, 'RFC 9207 iss in the redirect');
    const code = callback.searchParams.get('code');

    // One metadata request for begin() and complete(); the keys once.
    assert.equal(ctx.discoveryRequests.length, 1, `discovery requests: ${ctx.discoveryRequests.length}`);
    assert.equal(ctx.discoveryRequests[0].path, '/.well-known/openid-configuration');
    assert.equal(ctx.jwksRequests.length, 1, `JWKS requests: ${ctx.jwksRequests.length}`);
    assert.equal(ctx.jwksRequests[0].headers.accept, 'application/jwk-set+json, application/json');
    assert.deepEqual(observed.labels, ['discovery (openid-configuration)', 'token request (authorization_code)', 'issuer keys (jwks_uri)']);

    // The exact token request; its verifier is the challenge's (S256, by node:crypto).
    const req = oneTokenRequest(ctx);
    assert.equal(req.headers.authorization, undefined, 'a public client sends no Authorization');
    const verifier = new URLSearchParams(req.body).get('code_verifier');
    assert.match(verifier ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.equal(createHash('sha256').update(verifier).digest('base64url'), q.code_challenge, 'BASE64URL(SHA256(verifier)) is the challenge');
    assert.equal(req.body, form([
      ['grant_type', 'authorization_code'], ['code', code], ['redirect_uri', login.redirectUri], ['code_verifier', verifier], ['client_id', login.clientId],
    ]));

    // The IdP's own record: the code it issued to this client for alice, used (once: a
    // second use would have revoked the grant and failed), and the access token it issued from it.
    const issued = await idp.provider.AuthorizationCode.find(code, { ignoreExpiration: true });
    assert.ok(issued, 'the IdP knows the code');
    assert.equal(issued.clientId, login.clientId);
    assert.equal(issued.accountId, params.user.username);
    assert.equal(issued.codeChallenge, q.code_challenge);
    assert.equal(issued.nonce, q.nonce);
    assert.ok(issued.consumed, 'the code was used');
    assertBearerSet(observed.tokens);
    const claims = await accessTokenClaims(ctx, observed.tokens.access_token);
    assert.equal(claims.sub, params.user.username);
    assert.equal(claims.client_id, login.clientId);
    const stored = await idp.provider.AccessToken.find(claims.jti);
    assert.ok(stored, 'the IdP stored the access token it issued');
    assert.equal(stored.grantId, issued.grantId, 'issued from this code\'s grant');

    // The ID token, verified here with jose; the runtime verified it with its WebCrypto.
    const key = await jose.importJWK(idp.publicJwk, 'RS256');
    const { payload } = await jose.jwtVerify(observed.tokens.id_token, key, {
      issuer: idp.issuer, audience: login.clientId, algorithms: ['RS256'],
    });
    assert.equal(payload.sub, params.user.username);
    assert.equal(payload.nonce, q.nonce);
    assert.equal(observed.subtleVerifyCalls, 1, 'the runtime\'s crypto.subtle.verify checked the ID token once');
    return 'issuer only: 1 discovery, the IdP\'s pages, exact S256 code exchange, code used, ID token RS256 verified by WebCrypto';
  },

  async token_source_single_flight(ctx) {
    const { observed, params } = ctx;
    const req = oneTokenRequest(ctx);
    assert.equal(req.headers.authorization, undefined, 'client_secret_post: no Authorization');
    assert.equal(req.body, form([
      ['grant_type', 'client_credentials'], ['scope', 'api:read'], ['client_id', params.ccPost.clientId], ['client_secret', params.ccPost.clientSecret],
    ]));
    assert.equal(observed.callers, params.concurrentCallers);
    assert.equal(observed.distinctTokenSets, 1, 'every caller gets the same token set');
    assert.equal(observed.laterCallCached, true, 'a later call is served from the cache');
    assert.equal(observed.frozen, true, 'the token set is frozen');
    await accessTokenClaims(ctx, observed.accessToken);
    return `${params.concurrentCallers} concurrent getToken(): 1 token request`;
  },

  async authorized_fetch(ctx) {
    const { observed, params } = ctx;
    oneTokenRequest(ctx);
    const calls = ctx.rsCalls;
    assert.equal(calls.length, 1, `resource server calls: ${calls.length} (the foreign origin must not be called)`);
    const [call] = calls;
    assert.equal(call.method, 'POST');
    assert.equal(call.path, `/api/matrix?runtime=${encodeURIComponent(params.runtime)}`);
    assert.equal(call.headers.authorization, `Bearer ${observed.accessToken}`);
    assert.equal(call.headers['ocp-apim-subscription-key'], params.subscriptionKey);
    assert.equal(call.headers['x-api-caller-id'], params.apiCallerId);
    assert.equal(call.headers['content-type'], 'application/json');
    assert.equal(call.body, JSON.stringify({ runtime: params.runtime }));
    assert.equal(call.status, 200);
    assert.equal(observed.status, 200);
    assert.equal(observed.body.ok, true);
    assert.equal(observed.body.sub, params.ccBasic.clientId);
    assert.equal(observed.body.subscriptionKey, params.subscriptionKey);
    assert.equal(observed.body.callerId, params.apiCallerId);
    assert.equal(observed.refused?.code, 'ORIGIN_NOT_ALLOWED', `a foreign origin: ${JSON.stringify(observed.refused)}`);
    return 'Bearer + subscription key + caller id seen; foreign origin refused unsent';
  },

  async dpop(ctx) {
    const { observed, params } = ctx;
    const req = oneTokenRequest(ctx);
    assert.equal(req.headers.authorization, basicHeader(params.ccBasic.clientId, params.ccBasic.clientSecret));
    assert.equal(req.body, form([['grant_type', 'client_credentials'], ['scope', 'api:read']]));
    // The token request's proof, verified with jose on the key it carries.
    const { payload, protectedHeader } = await jose.jwtVerify(req.headers.dpop, jose.EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] });
    assert.deepEqual(Object.keys(payload), ['jti', 'htm', 'htu', 'iat']);
    assert.equal(payload.htm, 'POST');
    assert.equal(payload.htu, ctx.idp.tokenEndpoint);
    assert.match(payload.jti, JTI);
    const jkt = await jose.calculateJwkThumbprint(protectedHeader.jwk, 'sha256');
    assert.equal(observed.tokens.token_type, 'DPoP');
    const claims = await accessTokenClaims(ctx, observed.tokens.access_token);
    assert.deepEqual(claims.cnf, { jkt }, 'the token is bound to the proof\'s key');
    // The API: a nonce demanded, the call made once more with it, both with
    // proofs the resource server verified (htm, htu, ath, iat, jti).
    const calls = ctx.rsCalls;
    assert.deepEqual(calls.map((c) => c.status), [401, 200]);
    for (const call of calls) {
      assert.equal(call.method, 'POST');
      assert.equal(call.path, `/api/dpop?runtime=${encodeURIComponent(params.runtime)}`);
      assert.equal(call.headers.authorization, `DPoP ${observed.tokens.access_token}`);
      assert.equal(call.body, JSON.stringify({ runtime: params.runtime }));
      assert.equal(call.dpop.problem, undefined, call.dpop.problem);
      assert.equal(call.dpop.jkt, jkt, 'the same key at the API');
    }
    assert.equal(calls[0].dpop.claims.nonce, undefined);
    assert.equal(calls[1].dpop.claims.nonce, ctx.rsNonce);
    assert.equal(observed.status, 200);
    assert.equal(observed.body.ok, true);
    return 'proof at the token endpoint, token bound (cnf.jkt), API nonce answered once';
  },

  async server_error(ctx) {
    const { observed, params } = ctx;
    const req = oneTokenRequest(ctx);
    assert.equal(req.headers.authorization, basicHeader(params.ccBasic.clientId, 'not-the-secret'));
    assert.equal(observed.resolved, undefined, 'a wrong secret must not give a token');
    const e = observed.rejected;
    assert.equal(e.isError, true, 'a real Error');
    assert.equal(e.name, 'GrantkitError');
    assert.equal(e.isGrantkitError, true, 'an instance of the exported GrantkitError');
    assert.equal(e.code, 'OAUTH_ERROR');
    assert.equal(e.status, 401);
    assert.equal(e.error, 'invalid_client');
    return 'OAUTH_ERROR 401 invalid_client';
  },
};

/** The verdict on one step: {pass, detail}. */
export async function verdict(step, ctx) {
  if (ctx.error) {
    const e = ctx.error;
    return { pass: false, detail: `threw ${e.name ?? 'a non-Error'}${e.code ? ` ${e.code}` : ''}: ${e.message}` };
  }
  try {
    return { pass: true, detail: await CHECKS[step](ctx) };
  } catch (e) {
    if (!(e instanceof assert.AssertionError)) return { pass: false, detail: `${e.name}: ${e.message}` };
    const json = (v) => JSON.stringify(v)?.slice(0, 200);
    if (e.generatedMessage) return { pass: false, detail: `expected ${json(e.expected)}, got ${json(e.actual)} (${e.operator})` };
    const shown = typeof e.actual === 'boolean' ? '' : ` (got ${json(e.actual)})`;
    return { pass: false, detail: `${e.message.split('\n')[0]}${shown}` };
  }
}
