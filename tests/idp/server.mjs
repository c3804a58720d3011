// A real local OAuth 2.0 / OpenID Connect identity provider for grantkit's tests,
// built on panva's oidc-provider (9.x). Listens on 127.0.0.1 only.
//
//   import { startIdp, CLIENTS, USERS } from './server.mjs';
//   const idp = await startIdp();           // { issuer, tokenEndpoint, ..., requests, close() }
//                                           // requests: token and device POSTs, discovery and JWKS GETs
//
//   node tests/idp/server.mjs [--port N] [--ready-file PATH]   (standalone;
//     env GRANTKIT_IDP_DEVICE_INTERVAL / GRANTKIT_IDP_DEVICE_TTL: the device
//     flow's deviceIntervalSeconds / deviceCodeTtlSeconds)
//
// What oidc-provider does not do out of the box, added here:
//
// 1. The resource-owner password grant (RFC 6749 §4.3), registered with
//    provider.registerGrantType(). oidc-provider's token endpoint pipeline runs
//    before the handler: body parsing, client authentication (basic / post /
//    none), "is this grant allowed for this client" and the scope syntax check.
//
// 2. Introspection (and revocation) of JWT access tokens. oidc-provider 9 issues
//    JWT-format access tokens (resource server accessTokenFormat 'jwt') WITHOUT
//    storing them (models/base_model.js save(): a JWT format yields no payload,
//    so adapter.upsert is never called), and its introspection and revocation
//    endpoints reject any JWT-looking token up front
//    (shared/reject_structured_tokens.js -> unsupported_token_type).
//    So (a) formats.customizers.jwt, which oidc-provider calls with the final
//    claims just before signing, stores the same record an opaque token would
//    have stored (kind, jti, iat, exp, clientId, accountId, grantId, scope, aud,
//    ...) under the token's jti in the provider's own adapter; and (b) a
//    middleware in front of the introspection and revocation routes replaces a
//    `token` parameter that is a JWT access token signed by THIS provider (the
//    signature and iss are verified) with its jti. Everything else, including
//    client authentication of the caller and oidc-provider's own checks on the
//    stored record (expiry, grant, revocation), is oidc-provider's normal code.
//    The modified form body is handed to oidc-provider through its documented
//    "already parsed request body" path (shared/selective_body.js).
//
// 3. The JWT bearer grant (RFC 7523 §2.1, grant_type
//    urn:ietf:params:oauth:grant-type:jwt-bearer), modelled on PingOne Advanced
//    Identity Cloud service accounts: the public client `service-account`
//    (token_endpoint_auth_method none) posts client_id, grant_type, assertion
//    and scope; the assertion is a JWT signed by a service account's key
//    (SERVICE_ACCOUNTS). See jwtBearerGrant() below for the exact checks.
//    `startIdp({ clockSkewSeconds })` shifts "now" for those checks only.
//
// private_key_jwt client authentication (clients pkjwt-client, pkjwt-ps256,
// pkjwt-password) is oidc-provider's own code (lib/shared/client_auth.js and
// lib/shared/jwt_client_auth.js). The audience it accepts in a client
// assertion (oidc-provider 9.13, lib/helpers/oidc_context.js
// clientJwtAuthExpectedAudience()) is any ONE of, compared as exact strings:
//   - the issuer identifier, here http://127.0.0.1:PORT (no trailing slash);
//   - urlFor('token') and urlFor(<current route>), both the token endpoint
//     here, built as new URL('/token', ctx.href): from the request's Host
//     header, so http://127.0.0.1:PORT/token (WHATWG URL serialisation: a
//     default port such as :80 or :443 would be dropped, so an aud written
//     with an explicit default port would NOT match).
// An array aud passes if one element is in that set. It also requires iss =
// sub = client_id (sub picks the client; client_id in the body, if sent, must
// match), exp and jti (a jti is accepted once per client: ReplayDetection),
// alg = token_endpoint_auth_signing_alg when the client registered one (else
// any of RS256, PS256, ES256, Ed25519, EdDSA), and verifies with the client's
// jwks with a clock tolerance of 15 s. It does not check iat or the lifetime.
//
// 4. The device authorization grant (RFC 8628) is oidc-provider's own
//    (features.deviceFlow) with its own pages: the user-code form at /device,
//    the confirm page, then the devInteractions login and consent pages, then
//    its success page (tests/idp/device_approve.mjs drives them like a browser).
//    Added around it:
//    - devInteractions accepts ANY login and ignores the password field of its
//      login form; the pre-route middleware checks login/password against
//      USERS first and answers 401 "Sign-in failed" when they are wrong.
//    - oidc-provider 9.13 sends no `interval` in the device authorization
//      response (lib/actions/authorization/device.js: device_code, user_code,
//      verification_uri(_complete), expires_in only) and never answers
//      slow_down: errors.SlowDown exists but nothing throws it, the device_code
//      grant (lib/actions/grants/device_code.js) only answers
//      authorization_pending / expired_token / access_denied and tokens. So
//      there is no polling-rate check to keep consistent: the middleware adds
//      `interval: deviceIntervalSeconds` to the response, and a test that
//      wants slow_down injects it with idp.failTokenRequests().
//    - The memory adapter drops a record at its exp, after which the token
//      endpoint would say invalid_grant ("device code not found") instead of
//      expired_token; device codes are kept DEVICE_CODE_GRACE_SECONDS longer
//      (oidc-provider checks exp itself when it reads them).
//
// Refresh tokens always rotate (rotateRefreshToken returns true): a used one
// is refused with invalid_grant, and oidc-provider then revokes the whole
// grant (reuse detection), the new refresh token included.
//
// CORS: every origin is allowed (oidc-provider's clientBasedCORS), so browser
// pages may call it. `startIdp({ cors: false })` plays a provider that sends no
// CORS headers at all (a Keycloak client with only service accounts enabled):
// every Access-Control-* header is dropped, on preflights too, so a browser
// blocks the page's token requests while the relay of `grantkit www` (no
// Origin) is served normally.
//
// The same pre-route middleware records every request that reaches the token
// endpoint or the device authorization endpoint (method, path, lowercased
// headers, raw body, `at` = Date.now()) in `requests`, and answers the token
// requests queued by idp.failTokenRequests() itself.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as jose from 'jose';

import { isMain, runStandalone } from '../tools/standalone.mjs';

// oidc-provider prints a few development-mode warnings through console.warn
// (unsupported Node.js release line at import time, the in-memory adapter,
// devInteractions, the upstream-parsed body used by the middleware below).
// They are expected here; drop exactly those unless GRANTKIT_IDP_VERBOSE=1.
const EXPECTED_WARNINGS = [
  'Unsupported runtime',
  'development-only in-memory adapter',
  'development-only feature devInteractions',
  'already parsed request body detected',
];
// Likewise the console.info notices of the device flow's default pages
// ("you SHOULD change it"): they are the pages the tests mean to use.
const EXPECTED_NOTICES = [
  'default features.deviceFlow.userCodeInputSource',
  'default features.deviceFlow.userCodeConfirmSource',
  'default features.deviceFlow.successSource',
];
if (!process.env.GRANTKIT_IDP_VERBOSE && !globalThis.__grantkitIdpWarnFilter) {
  const original = console.warn;
  globalThis.__grantkitIdpWarnFilter = true;
  console.warn = function filteredWarn(...args) {
    const first = typeof args[0] === 'string' ? args[0] : '';
    if (first.startsWith('oidc-provider WARNING: ') && EXPECTED_WARNINGS.some((w) => first.includes(w))) {
      return;
    }
    original.apply(this, args);
  };
}
function expectedNotice(args) {
  const first = typeof args[0] === 'string' ? args[0] : '';
  return !process.env.GRANTKIT_IDP_VERBOSE
    && first.includes('oidc-provider NOTICE: ') && EXPECTED_NOTICES.some((n) => first.includes(n));
}
if (!globalThis.__grantkitIdpInfoFilter) {
  globalThis.__grantkitIdpInfoFilter = true;
  const original = console.info;
  console.info = function filteredInfo(...args) {
    if (!expectedNotice(args)) original.apply(this, args);
  };
}

// Imported after the filter is installed (static imports would run first).
const { default: Provider, errors } = await import('oidc-provider');
const { createMemoryAdapter } = await import('oidc-provider/lib/adapters/memory_adapter.js');

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
const fixtureJson = (name) => Object.freeze(JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8')));

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
/** The audience a token exchange may ask for (RFC 8693 §2.1 `audience`). */
export const EXCHANGE_AUDIENCE = 'urn:grantkit:orders';

/** Limits of the JWT bearer grant's assertion checks (see jwtBearerGrant). */
export const ASSERTION_RULES = Object.freeze({
  algorithms: Object.freeze(['RS256', 'PS256']),
  maxLifetimeSeconds: 15 * 60, // exp at most this far after now
  iatSkewSeconds: 30, // iat may be at most this far in the future
});

/**
 * Service accounts of the JWT bearer grant (PingOne AIC style): the account id
 * is the assertion's iss and sub; publicJwk verifies its signature.
 */
export const SERVICE_ACCOUNTS = Object.freeze({
  'svc-fixture': Object.freeze({ id: 'svc-fixture', publicJwk: fixtureJson('rsa2048.public.jwk.json') }),
  'svc-other': Object.freeze({ id: 'svc-other', publicJwk: fixtureJson('other2048.public.jwk.json') }),
});

export const RESOURCE = 'urn:grantkit:api';
export const API_SCOPES = Object.freeze(['api:read', 'api:write']);
export const OIDC_SCOPES = Object.freeze(['openid', 'profile', 'email', 'offline_access']);

// The one resource server (RFC 8707 resource indicator); its access tokens are
// RS256 JWTs (typ at+jwt) with aud = RESOURCE.
const RESOURCE_SERVER_INFO = Object.freeze({
  scope: API_SCOPES.join(' '),
  audience: RESOURCE,
  accessTokenFormat: 'jwt',
  accessTokenTTL: 3600,
  jwt: Object.freeze({ sign: Object.freeze({ alg: 'RS256' }) }),
});

/**
 * A native client of the authorization code grant (PKCE) redirecting to
 * `redirectUri` on any loopback port: public, or confidential (Basic) with
 * `secret`.
 */
function nativeLoginClient(clientId, redirectUri, secret) {
  return Object.freeze({
    client_id: clientId,
    ...(secret === undefined ? {} : { client_secret: secret }),
    application_type: 'native',
    token_endpoint_auth_method: secret === undefined ? 'none' : 'client_secret_basic',
    grant_types: Object.freeze(['authorization_code', 'refresh_token']),
    response_types: Object.freeze(['code']),
    redirect_uris: Object.freeze([redirectUri]),
  });
}

/** Statically registered clients (plain objects: oidc-provider client metadata). */
export const CLIENTS = Object.freeze({
  ccBasic: Object.freeze({
    client_id: 'cc-basic',
    // Contains ':+%& ~*' on purpose: RFC 6749 §2.3.1 requires the client to
    // form-urlencode id and secret before base64 in the Basic header (space ->
    // '+', '+' -> '%2B', '~' -> '%7E', '*' kept). No 'é': RFC 6749 Appendix A.2
    // limits client secrets to VSCHAR (%x20-7E) and oidc-provider enforces that
    // both when registering the client and when decoding the Basic header.
    client_secret: 's3cret:+%& ~*/basic',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: Object.freeze(['client_credentials']),
  }),
  ccPost: Object.freeze({
    client_id: 'cc-post',
    client_secret: 'post-secret-123',
    token_endpoint_auth_method: 'client_secret_post',
    grant_types: Object.freeze(['client_credentials']),
  }),
  pwClient: Object.freeze({
    client_id: 'pw-client',
    client_secret: 'pw-secret',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: Object.freeze(['password', 'refresh_token']),
  }),
  pwPublic: Object.freeze({
    client_id: 'pw-public',
    token_endpoint_auth_method: 'none',
    grant_types: Object.freeze(['password']),
  }),
  // The JWT bearer grant's public client (PingOne AIC's fixed client_id).
  serviceAccount: Object.freeze({
    client_id: 'service-account',
    token_endpoint_auth_method: 'none',
    grant_types: Object.freeze([JWT_BEARER_GRANT]),
  }),
  // private_key_jwt (RFC 7523 §2.2 / OIDC Core §9), verified by oidc-provider
  // against the registered public key of tests/fixtures/rsa2048 (kid fixture-2048).
  pkjwtClient: Object.freeze({
    client_id: 'pkjwt-client',
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: Object.freeze({ keys: Object.freeze([fixtureJson('rsa2048.public.jwk.json')]) }),
    grant_types: Object.freeze(['client_credentials']),
  }),
  // The same key, but only PS256 client assertions are accepted.
  pkjwtPs256: Object.freeze({
    client_id: 'pkjwt-ps256',
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'PS256',
    jwks: Object.freeze({ keys: Object.freeze([fixtureJson('rsa2048.public.jwk.json')]) }),
    grant_types: Object.freeze(['client_credentials']),
  }),
  pkjwtPassword: Object.freeze({
    client_id: 'pkjwt-password',
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: Object.freeze({ keys: Object.freeze([fixtureJson('rsa2048.public.jwk.json')]) }),
    grant_types: Object.freeze(['password']),
  }),
  // The device authorization grant (RFC 8628): a public client (client_id in
  // the body) and a confidential one (Basic), both allowed refresh tokens.
  devicePublic: Object.freeze({
    client_id: 'device-public',
    token_endpoint_auth_method: 'none',
    grant_types: Object.freeze([DEVICE_CODE_GRANT, 'refresh_token']),
  }),
  deviceConfidential: Object.freeze({
    client_id: 'device-confidential',
    client_secret: 'device-secret-456',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: Object.freeze([DEVICE_CODE_GRANT, 'refresh_token']),
  }),
  // client_secret_jwt (RFC 7523 §2.2 / OIDC Core §9): an HS256 assertion
  // keyed with the secret, verified by oidc-provider's own code. The secret is
  // 32 bytes or more (RFC 7518 §3.2).
  csjwtClient: Object.freeze({
    client_id: 'csjwt-client',
    client_secret: 'csjwt-secret-0123456789-abcdefghij',
    token_endpoint_auth_method: 'client_secret_jwt',
    grant_types: Object.freeze(['client_credentials', DEVICE_CODE_GRANT, 'refresh_token']),
  }),
  // Token exchange (RFC 8693): a confidential client that trades a user's
  // access token for one with the audience EXCHANGE_AUDIENCE.
  exchanger: Object.freeze({
    client_id: 'exchanger',
    client_secret: 'exchanger-secret',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: Object.freeze([TOKEN_EXCHANGE_GRANT]),
  }),
  introspector: Object.freeze({
    client_id: 'introspector',
    client_secret: 'introspector-secret',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: Object.freeze(['client_credentials']),
  }),
  // The authorization code grant (RFC 6749 §4.1, PKCE): native clients, so
  // that a loopback redirect URI matches on any port (RFC 8252 §7.3; what
  // oidc-provider does for application_type native). A public one (client_id
  // in the body) and a confidential one (Basic).
  loginPublic: nativeLoginClient('login-public', 'http://127.0.0.1/callback'),
  loginConfidential: nativeLoginClient('login-confidential', 'http://127.0.0.1/callback', 'login-secret-789'),
  // The diagnostic page (www/) signing in with itself as the redirect target:
  // `grantkit www --port 0` serves it at http://127.0.0.1:PORT/ on a free
  // port, so these are native clients too (any loopback port), with the
  // page's path "/". Public, and confidential (Basic).
  wwwLogin: nativeLoginClient('www-login', 'http://127.0.0.1/'),
  wwwLoginConfidential: nativeLoginClient('www-login-confidential', 'http://127.0.0.1/', 'www-login-secret-314'),
});

/** Resource owners for the password grant. */
export const USERS = Object.freeze({
  alice: Object.freeze({
    username: 'alice',
    password: 'wonderland-42',
    claims: Object.freeze({
      sub: 'alice', name: 'Alice Liddell', preferred_username: 'alice', email: 'alice@example.test', email_verified: true,
    }),
  }),
  bob: Object.freeze({
    username: 'bob',
    password: 'builder-7',
    claims: Object.freeze({
      sub: 'bob', name: 'Bob Builder', preferred_username: 'bob', email: 'bob@example.test', email_verified: true,
    }),
  }),
});

const ROUTES = Object.freeze({
  token: '/token',
  introspection: '/token/introspection',
  revocation: '/token/revocation',
  device_authorization: '/device/auth',
  code_verification: '/device',
  jwks: '/jwks',
  userinfo: '/me',
  authorization: '/auth',
  end_session: '/session/end',
});

// The discovery documents' paths: OpenID Connect Discovery's (which
// oidc-provider serves) and RFC 8414's (which it does not: a 404).
const WELL_KNOWN = /^\/\.well-known\/(openid-configuration|oauth-authorization-server)(\/|$)/;

const BODY_LIMIT = 56 * 1024; // the same limit oidc-provider applies

// How long an expired device code stays readable, so that polling it answers
// expired_token rather than invalid_grant (see the header comment).
const DEVICE_CODE_GRACE_SECONDS = 300;

// devInteractions' login form posts here (POST /interaction/:uid).
const INTERACTION_SUBMIT = /^\/interaction\/[^/]+$/;

function account(accountId) {
  if (typeof accountId === 'string' && Object.hasOwn(SERVICE_ACCOUNTS, accountId)) {
    return { accountId, async claims() { return { sub: accountId }; } };
  }
  const user = Object.values(USERS).find((u) => u.claims.sub === accountId);
  if (!user) return undefined;
  return {
    accountId,
    async claims() { return { ...user.claims }; },
  };
}

function sha256(s) {
  return crypto.createHash('sha256').update(String(s), 'utf8').digest();
}

function checkUser(username, password) {
  const user = Object.hasOwn(USERS, username) ? USERS[username] : undefined;
  // Compare digests in constant time (also when the user does not exist).
  const ok = crypto.timingSafeEqual(sha256(user ? user.password : '\0no-such-user'), sha256(password));
  return user && ok ? user : undefined;
}

function htmlEscape(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// The memory adapter forgets a record at its expiry; keep device codes a
// while longer so an expired one is still found and reported expired_token.
function deviceCodeGraceAdapter(factory) {
  return (model) => {
    const adapter = factory(model);
    if (model !== 'DeviceCode') return adapter;
    const upsert = adapter.upsert.bind(adapter);
    adapter.upsert = (id, payload, expiresIn) => upsert(
      id,
      payload,
      typeof expiresIn === 'number' ? expiresIn + DEVICE_CODE_GRACE_SECONDS : expiresIn,
    );
    return adapter;
  };
}

/** `res`, made to drop every Access-Control-* header set on it (a provider without CORS). */
function withoutCorsHeaders(res) {
  const setHeader = res.setHeader.bind(res);
  res.setHeader = (name, value) => (/^access-control-/i.test(name) ? res : setHeader(name, value));
  return res;
}

function looksLikeJwt(value) {
  if (typeof value !== 'string') return false;
  try {
    return !!jose.decodeProtectedHeader(value) && value.split('.').length === 3;
  } catch {
    return false;
  }
}

async function readRawBody(req) {
  const chunks = [];
  let received = 0;
  for await (const chunk of req.iterator({ destroyOnReturn: false })) {
    received += chunk.length;
    if (received > BODY_LIMIT) throw new Error('request entity too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, received);
}

/**
 * Start the identity provider on http://127.0.0.1:<port> (0 = any free port).
 * @returns {Promise<{issuer: string, tokenEndpoint: string, introspectionEndpoint: string,
 *   revocationEndpoint: string, deviceAuthorizationEndpoint: string, codeVerificationUri: string,
 *   jwksUri: string, port: number, deviceCodeTtlSeconds: number, deviceIntervalSeconds: number,
 *   requests: Array<{method: string, path: string, headers: Record<string,string|string[]>, body: string, at: number}>,
 *   tokenRequests(): Array, discoveryRequests(): Array, jwksRequests(): Array, deviceAuthorizationRequests(): Array, resetRequests(): void,
 *   failTokenRequests(n: number, opts?: {status?: number, body?: object|string, headers?: object}): void,
 *   publicJwk: object, provider: object, close(): Promise<void>}>}
 * clockSkewSeconds shifts "now" for the JWT bearer grant's assertion checks only
 * (+3600: the IdP believes it is an hour later, so a fresh 180 s assertion has expired).
 * deviceCodeTtlSeconds is the device code's lifetime (and the expires_in sent);
 * deviceIntervalSeconds the `interval` sent in the device authorization response.
 * cors: false drops every Access-Control-* header (see the header comment).
 * DPoP (RFC 9449, oidc-provider's features.dPoP, on by default): a token
 * request with a DPoP proof gets tokens bound to its key (token_type DPoP,
 * cnf.jkt in the JWT and in introspection); dpopNonce: true demands a
 * server nonce in every proof (400 use_dpop_nonce with DPoP-Nonce first);
 * dpop: false turns the feature off (the proof is ignored, Bearer tokens).
 */
export async function startIdp({
  port = 0, clockSkewSeconds = 0, deviceCodeTtlSeconds = 600, deviceIntervalSeconds = 5, cors = true,
  dpop = true, dpopNonce = false,
} = {}) {
  if (!Number.isFinite(clockSkewSeconds)) throw new TypeError('clockSkewSeconds must be a finite number');
  if (!Number.isSafeInteger(deviceCodeTtlSeconds) || deviceCodeTtlSeconds < 1) {
    throw new TypeError('deviceCodeTtlSeconds must be a positive integer');
  }
  if (!Number.isSafeInteger(deviceIntervalSeconds) || deviceIntervalSeconds < 0) {
    throw new TypeError('deviceIntervalSeconds must be a non-negative integer');
  }
  let handler = (_req, res) => { res.statusCode = 503; res.end(); };
  const server = http.createServer((req, res) => handler(req, res));
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  const actualPort = server.address().port;
  const issuer = `http://127.0.0.1:${actualPort}`;

  // A fresh RS256 signing key per start: tokens are JWTs signed with it.
  const { privateKey, publicKey } = await jose.generateKeyPair('RS256', { extractable: true });
  const kid = `grantkit-test-${crypto.randomBytes(6).toString('hex')}`;
  const privateJwk = { ...(await jose.exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
  const publicJwk = { ...(await jose.exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };

  let provider; // assigned below; used by the customizer
  const configuration = {
    // The `act` claim (RFC 8693 §4.1) of a token issued by tokenExchangeGrant
    // for a delegation: oidc-provider writes a token's extra claims from
    // this function only.
    extraTokenClaims: (ctx) => (ctx?.state?.grantkitAct ? { act: ctx.state.grantkitAct } : undefined),
    adapter: deviceCodeGraceAdapter(createMemoryAdapter(0)), // in-memory, private to this instance
    clients: Object.values(CLIENTS).map((c) => ({
      ...structuredClone(c),
      redirect_uris: c.redirect_uris ? [...c.redirect_uris] : [],
      response_types: c.response_types ? [...c.response_types] : [],
    })),
    jwks: { keys: [privateJwk] },
    findAccount: async (_ctx, id) => account(id),
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username'],
      email: ['email', 'email_verified'],
    },
    scopes: [...OIDC_SCOPES],
    routes: { ...ROUTES },
    clientBasedCORS: () => true, // a local test IdP: browser-based tests may call it
    pkce: { required: () => false },
    // Always: a refresh token is good for one use (oidc-provider's default
    // rotates only for public clients or late in the token's life).
    rotateRefreshToken: () => true,
    ttl: {
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 3600,
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 3600,
      IdToken: 3600,
      RefreshToken: 14 * 24 * 3600,
      Grant: 14 * 24 * 3600,
      DeviceCode: deviceCodeTtlSeconds,
      Interaction: 3600,
      Session: 14 * 24 * 3600,
      AuthorizationCode: 60,
    },
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // oidc-provider's default policy, minus its "you SHOULD change this" notice.
        allowedPolicy: async (ctx, client, token) => !(client.clientAuthMethod === 'none' && token.clientId !== ctx.oidc.client.clientId),
      },
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => {
          if (token.clientId === client.clientId) return true;
          if (client.clientAuthMethod === 'none') return false;
          throw new errors.InvalidRequest('client is not authorized to revoke the presented token');
        },
      },
      deviceFlow: { enabled: true },
      dPoP: {
        enabled: dpop,
        nonceSecret: crypto.randomBytes(32),
        requireNonce: () => dpopNonce,
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx, _client, oneOf) => {
          if (oneOf) return oneOf.includes(RESOURCE) ? RESOURCE : oneOf;
          return RESOURCE;
        },
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, resourceIndicator) => {
          if (resourceIndicator === RESOURCE) return { ...RESOURCE_SERVER_INFO };
          throw new errors.InvalidTarget();
        },
      },
    },
    formats: {
      customizers: {
        // Called with the final claims of a JWT access token just before it is
        // signed: store what an opaque token would have stored, under its jti.
        async jwt(_ctx, token, jwt) {
          const Model = provider[token.kind];
          const record = {};
          for (const key of Model.IN_PAYLOAD) {
            if (token[key] !== undefined) record[key] = token[key];
          }
          record.jti = jwt.payload.jti;
          record.iat = jwt.payload.iat;
          record.exp = jwt.payload.exp;
          record.kind = token.kind;
          delete record.format;
          await Model.adapter.upsert(record.jti, record, Math.max(record.exp - Math.floor(Date.now() / 1000), 1));
        },
      },
    },
  };

  provider = new Provider(issuer, configuration);

  provider.registerGrantType('password', passwordGrant.bind(undefined, provider), ['username', 'password', 'scope', 'resource'], ['resource']);

  const tokenEndpoint = `${issuer}${ROUTES.token}`;
  // jti values of accepted assertions, per service account: Map<iss, Map<jti, exp>>.
  const seenJti = new Map();
  const jwtBearer = {
    tokenEndpoint,
    nowSeconds: () => Math.floor(Date.now() / 1000) + clockSkewSeconds,
    seenJti,
  };
  provider.registerGrantType(JWT_BEARER_GRANT, jwtBearerGrant.bind(undefined, provider, jwtBearer), ['assertion', 'scope']);
  provider.registerGrantType(
    TOKEN_EXCHANGE_GRANT,
    tokenExchangeGrant.bind(undefined, provider, { issuer, publicKey }),
    ['subject_token', 'subject_token_type', 'actor_token', 'actor_token_type', 'requested_token_type', 'audience', 'resource', 'scope'],
    ['audience', 'resource'],
  );

  const requests = [];
  // Failures queued by failTokenRequests(): { remaining, status, body, headers }.
  const injected = [];
  // Token requests held by stallTokenRequests(): how many more to hold, and
  // the resolvers of those held (close() lets them go).
  const stalls = { remaining: 0, held: [] };
  const RECORDED = new Set([ROUTES.token, ROUTES.device_authorization]);
  const READ_FIRST = new Set([...RECORDED, ROUTES.introspection, ROUTES.revocation]);

  provider.use(async function preRoute(ctx, next) {
    // Discovery documents and the JWK Set asked for (GET, no body):
    // recorded so that tests can count them (idp.discoveryRequests(),
    // idp.jwksRequests()).
    if (ctx.method === 'GET' && (WELL_KNOWN.test(ctx.path) || ctx.path === ROUTES.jwks)) {
      requests.push({ method: ctx.method, path: ctx.path, headers: { ...ctx.req.headers }, body: '', at: Date.now() });
      return next();
    }
    const route = ctx.method === 'POST' ? ctx.path : undefined;
    const loginSubmit = route !== undefined && INTERACTION_SUBMIT.test(route);
    if (!READ_FIRST.has(route) && !loginSubmit) {
      return next();
    }
    let raw;
    try {
      raw = (await readRawBody(ctx.req)).toString('utf8');
    } catch {
      ctx.status = 413;
      ctx.body = { error: 'invalid_request', error_description: 'request body too large' };
      return undefined;
    }
    if (RECORDED.has(route)) {
      requests.push({
        method: ctx.method,
        path: ctx.path,
        headers: { ...ctx.req.headers },
        body: raw,
        at: Date.now(),
      });
    }
    if (route === ROUTES.token && stalls.remaining > 0) {
      stalls.remaining -= 1;
      await new Promise((resolve) => stalls.held.push(resolve));
      ctx.status = 503;
      ctx.body = { error: 'temporarily_unavailable', error_description: 'stalled request released' };
      return undefined;
    }
    if (route === ROUTES.token && injected.length) {
      answerInjected(ctx);
      return undefined;
    }
    if ((route === ROUTES.introspection || route === ROUTES.revocation) && ctx.is('application/x-www-form-urlencoded')) {
      raw = await rewriteJwtTokenParam(raw);
    }
    if (loginSubmit && ctx.is('application/x-www-form-urlencoded')) {
      const params = new URLSearchParams(raw);
      if (params.get('prompt') === 'login') {
        // devInteractions would log in whoever is typed, password or not.
        const user = checkUser(params.get('login') ?? '', params.get('password') ?? '');
        if (!user) {
          loginFailed(ctx);
          return undefined;
        }
        params.set('login', user.claims.sub); // devInteractions' accountId
        params.delete('password');
        raw = params.toString();
      }
    }
    // Hand the (possibly rewritten) body to oidc-provider's own parser.
    ctx.request.body = raw;
    await next();
    if (route === ROUTES.device_authorization && ctx.status === 200 && ctx.body?.device_code) {
      ctx.body = { ...ctx.body, interval: deviceIntervalSeconds };
    }
    return undefined;
  });

  function answerInjected(ctx) {
    const failure = injected[0];
    failure.remaining -= 1;
    if (failure.remaining === 0) injected.shift();
    ctx.status = failure.status;
    ctx.type = 'application/json';
    ctx.set('cache-control', 'no-store');
    // What oidc-provider's CORS middleware would have said (clientBasedCORS
    // allows every origin here), so browser tests can read the answer too.
    const origin = ctx.get('origin');
    if (origin) {
      ctx.set('access-control-allow-origin', origin);
      ctx.vary('origin');
    }
    for (const [name, value] of Object.entries(failure.headers)) ctx.set(name, String(value));
    ctx.body = typeof failure.body === 'string' ? failure.body : JSON.stringify(failure.body);
  }

  function loginFailed(ctx) {
    ctx.status = 401;
    ctx.type = 'html';
    ctx.set('cache-control', 'no-store');
    const retry = htmlEscape(ctx.path);
    ctx.body = `<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>Sign-in failed</title></head>
<body>
  <h1>Sign-in failed</h1>
  <p class="red">Invalid username or password.</p>
  <p><a href="${retry}">Try again</a></p>
</body>
</html>`;
  }

  async function rewriteJwtTokenParam(raw) {
    const params = new URLSearchParams(raw);
    const token = params.get('token');
    if (params.getAll('token').length !== 1 || !looksLikeJwt(token)) return raw;
    try {
      // Signature only: an expired token must still reach oidc-provider, which
      // then reports it inactive from the stored record.
      const { payload, protectedHeader } = await jose.compactVerify(token, publicKey, { algorithms: ['RS256'] });
      const claims = JSON.parse(new TextDecoder().decode(payload));
      if (protectedHeader.typ !== 'at+jwt' || claims.iss !== issuer || typeof claims.jti !== 'string') return raw;
      params.set('token', claims.jti);
      return params.toString();
    } catch {
      return raw; // not ours: oidc-provider answers as it always does
    }
  }

  const callback = provider.callback();
  handler = cors ? callback : (req, res) => callback(req, withoutCorsHeaders(res));

  let closed;
  const idp = {
    issuer,
    tokenEndpoint,
    clockSkewSeconds,
    introspectionEndpoint: `${issuer}${ROUTES.introspection}`,
    revocationEndpoint: `${issuer}${ROUTES.revocation}`,
    deviceAuthorizationEndpoint: `${issuer}${ROUTES.device_authorization}`,
    codeVerificationUri: `${issuer}${ROUTES.code_verification}`,
    jwksUri: `${issuer}${ROUTES.jwks}`,
    authorizationEndpoint: `${issuer}${ROUTES.authorization}`,
    port: actualPort,
    deviceCodeTtlSeconds,
    deviceIntervalSeconds,
    requests,
    publicJwk,
    provider,
    /** The recorded POSTs to the token endpoint (injected failures included). */
    tokenRequests() {
      return requests.filter((r) => r.method === 'POST' && r.path === ROUTES.token);
    },
    /** The recorded GETs of the discovery documents (/.well-known/...). */
    discoveryRequests() {
      return requests.filter((r) => r.method === 'GET' && WELL_KNOWN.test(r.path));
    },
    /** The recorded GETs of the JWK Set (jwks_uri): ID token keys fetched by clients. */
    jwksRequests() {
      return requests.filter((r) => r.method === 'GET' && r.path === ROUTES.jwks);
    },
    /** The recorded POSTs to the device authorization endpoint. */
    deviceAuthorizationRequests() {
      return requests.filter((r) => r.method === 'POST' && r.path === ROUTES.device_authorization);
    },
    resetRequests() {
      requests.length = 0; // the same array: callers may hold idp.requests
    },
    /**
     * Answer the next n POSTs to the token endpoint with `status` and `body`
     * (JSON unless a string; Content-Type application/json, Cache-Control
     * no-store, plus `headers`) without reaching oidc-provider. They are still
     * recorded. Calls queue up: failTokenRequests(1, A); failTokenRequests(2, B)
     * answers A, B, B.
     */
    failTokenRequests(n, {
      status = 503,
      body = { error: 'temporarily_unavailable', error_description: 'injected failure' },
      headers = {},
    } = {}) {
      if (!Number.isSafeInteger(n) || n < 0) throw new TypeError('n must be a non-negative integer');
      if (!Number.isInteger(status) || status < 200 || status > 599) throw new TypeError('status must be an HTTP status 200..599');
      if (n > 0) injected.push({ remaining: n, status, body: structuredClone(body), headers: { ...headers } });
    },
    /**
     * Hold the next n POSTs to the token endpoint without an answer (they
     * are recorded), as a server that stalls; close() ends them with a 503.
     */
    stallTokenRequests(n) {
      if (!Number.isSafeInteger(n) || n < 0) throw new TypeError('n must be a non-negative integer');
      stalls.remaining += n;
    },
    close() {
      for (const release of stalls.held.splice(0)) release();
      closed ||= new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
    toJSON() {
      const {
        issuer: i, tokenEndpoint, introspectionEndpoint, revocationEndpoint,
        deviceAuthorizationEndpoint, codeVerificationUri, jwksUri, port: p, deviceIntervalSeconds: interval,
      } = this;
      return {
        issuer: i,
        tokenEndpoint,
        introspectionEndpoint,
        revocationEndpoint,
        deviceAuthorizationEndpoint,
        codeVerificationUri,
        jwksUri,
        port: p,
        deviceIntervalSeconds: interval,
      };
    },
  };
  return idp;
}

// RFC 6749 §4.3. Runs after oidc-provider's token endpoint pipeline has
// authenticated the client and checked that it may use grant_type=password.
async function passwordGrant(provider, ctx) {
  const { client, params } = ctx.oidc;

  for (const name of ['username', 'password']) {
    if (typeof params[name] !== 'string' || params[name] === '') {
      throw new errors.InvalidRequest(`missing required parameter '${name}'`);
    }
  }

  const user = checkUser(params.username, params.password);
  if (!user) {
    throw new errors.InvalidGrant('invalid resource owner credentials');
  }

  const requested = [...new Set((params.scope ?? '').split(' ').filter(Boolean))];
  const known = new Set([...OIDC_SCOPES, ...API_SCOPES]);
  const unknown = requested.filter((s) => !known.has(s));
  if (unknown.length) {
    throw new errors.InvalidScope('requested scope is not allowed', unknown.join(' '));
  }
  if (client.scope) {
    const allowed = new Set(client.scope.split(' '));
    const denied = requested.filter((s) => !allowed.has(s));
    if (denied.length) throw new errors.InvalidScope('requested scope is not allowed', denied.join(' '));
  }

  let resource = params.resource ?? RESOURCE;
  if (Array.isArray(resource)) {
    if (resource.length !== 1) throw new errors.InvalidTarget('only a single resource indicator value is supported for this grant type');
    [resource] = resource;
  }
  if (resource !== RESOURCE) throw new errors.InvalidTarget();
  const resourceServer = new provider.ResourceServer(resource, { ...RESOURCE_SERVER_INFO });

  const oidcScopes = requested.filter((s) => OIDC_SCOPES.includes(s));
  const apiScopes = requested.filter((s) => resourceServer.scopes.has(s));
  const scope = [...oidcScopes, ...apiScopes].join(' ');

  const acc = account(user.claims.sub);
  ctx.oidc.entity('Account', acc);

  const grant = new provider.Grant({ accountId: acc.accountId, clientId: client.clientId });
  if (oidcScopes.length) grant.addOIDCScope(oidcScopes.join(' '));
  grant.addResourceScope(resource, apiScopes.join(' '));
  const grantId = await grant.save();
  ctx.oidc.entity('Grant', grant);

  const authTime = Math.floor(Date.now() / 1000);

  const { at, accessToken } = await issueAccessToken(provider, ctx, {
    accountId: acc.accountId, client, grantId, gty: 'password', resourceServer, scope: apiScopes,
  });

  let refreshToken;
  if (oidcScopes.includes('offline_access') && client.grantTypeAllowed('refresh_token')) {
    const rt = new provider.RefreshToken({
      accountId: acc.accountId,
      authTime,
      client,
      grantId,
      gty: 'password',
      resource,
      rotations: 0,
      scope,
    });
    ctx.oidc.entity('RefreshToken', rt);
    refreshToken = await rt.save();
  }

  let idToken;
  if (oidcScopes.includes('openid')) {
    const token = new provider.IdToken({ ...(await acc.claims()), auth_time: authTime }, { ctx });
    token.scope = oidcScopes.join(' ');
    idToken = await token.issue({ use: 'idtoken' });
  }

  // As oidc-provider does for its own grants, `scope` is the access token's
  // scope (the resource server's scopes that were granted).
  ctx.body = withoutUndefined({
    access_token: accessToken,
    expires_in: at.expiration,
    id_token: idToken,
    refresh_token: refreshToken,
    scope: at.scope,
    token_type: at.tokenType,
  });
}

/**
 * A JWT access token of the grants registered here, made and stored as
 * oidc-provider makes its own: for `resourceServer`, with the `scope`
 * values (none: no scope member).
 */
async function issueAccessToken(provider, ctx, { accountId, client, grantId, gty, resourceServer, scope }) {
  const at = new provider.AccessToken({ accountId, client, grantId, gty });
  at.resourceServer = resourceServer;
  at.scope = scope.join(' ') || undefined;
  ctx.oidc.entity('AccessToken', at);
  return { at, accessToken: await at.save() };
}

/** An answer's members without the undefined ones. */
function withoutUndefined(members) {
  return Object.fromEntries(Object.entries(members).filter(([, v]) => v !== undefined));
}

// oidc-provider's InvalidGrant always answers "grant request is invalid" (the
// detail given to its constructor is only logged); these answers say which
// check failed, as real servers do.
function invalidGrant(description) {
  const err = new errors.InvalidGrant(description);
  err.error_description = description;
  return err;
}

// RFC 7523 §2.1 / §3, as PingOne Advanced Identity Cloud applies it to service
// accounts. Runs after oidc-provider has identified the client (auth method
// none: client_id in the body) and checked it may use this grant. Every failed
// check is 400 invalid_grant with a description saying which; a missing
// assertion is invalid_request. Checks, in order:
//   - the assertion is a compact JWS whose iss names a SERVICE_ACCOUNTS entry;
//   - its signature verifies with that account's public key, alg RS256 or PS256;
//   - sub === iss;
//   - aud is a single string equal to the token endpoint URL exactly
//     (http://127.0.0.1:PORT/token: no normalisation of any kind);
//   - exp is present, after now, and at most 15 minutes after now;
//   - iat, when present, is not more than 30 s in the future; nbf, when present, is not after now;
//   - jti is a non-empty string not seen before for this account (replay).
// "now" is the real clock plus startIdp's clockSkewSeconds. The access token
// is the same kind of JWT as the other grants (resource RESOURCE), sub = the
// account id. Nothing about the assertion is stored except its jti and exp.
async function jwtBearerGrant(provider, state, ctx) {
  const { client, params } = ctx.oidc;
  const { assertion } = params;
  if (typeof assertion !== 'string' || assertion === '') {
    throw new errors.InvalidRequest("missing required parameter 'assertion'");
  }

  let unverified;
  try {
    if (assertion.split('.').length !== 3) throw new Error('not a compact JWS');
    jose.decodeProtectedHeader(assertion);
    unverified = jose.decodeJwt(assertion);
  } catch {
    throw invalidGrant('assertion is not a valid JWT');
  }
  const { iss } = unverified;
  if (typeof iss !== 'string' || iss === '') {
    throw invalidGrant('assertion has no iss (the service account id)');
  }
  if (!Object.hasOwn(SERVICE_ACCOUNTS, iss)) {
    throw invalidGrant('iss is not a known service account');
  }
  const serviceAccount = SERVICE_ACCOUNTS[iss];

  const now = state.nowSeconds();
  let payload;
  try {
    const key = await jose.importJWK({ ...serviceAccount.publicJwk }, 'RS256');
    const keyFor = async (header) => (header.alg === 'RS256' ? key : jose.importJWK({ ...serviceAccount.publicJwk }, header.alg));
    ({ payload } = await jose.jwtVerify(assertion, keyFor, {
      algorithms: [...ASSERTION_RULES.algorithms],
      currentDate: new Date(now * 1000),
      clockTolerance: 0,
    }));
  } catch (err) {
    if (err?.code === 'ERR_JOSE_ALG_NOT_ALLOWED') {
      throw invalidGrant(`assertion alg must be one of ${ASSERTION_RULES.algorithms.join(', ')}`);
    }
    if (err?.code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') {
      throw invalidGrant(`assertion signature does not verify with the key of service account ${iss}`);
    }
    if (err?.code === 'ERR_JWT_EXPIRED') {
      throw invalidGrant('assertion has expired (exp is not after now)');
    }
    if (err?.code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') {
      throw invalidGrant(`assertion claim ${err.claim} is invalid (${err.reason})`);
    }
    throw invalidGrant('assertion is not a valid JWT');
  }

  if (payload.sub !== iss) {
    throw invalidGrant('assertion sub must equal iss (the service account id)');
  }
  if (typeof payload.aud !== 'string') {
    throw invalidGrant('assertion aud must be a single string: the token endpoint URL');
  }
  if (payload.aud !== state.tokenEndpoint) {
    throw invalidGrant('assertion aud must be the token endpoint URL exactly');
  }
  if (payload.exp === undefined) {
    throw invalidGrant('assertion has no exp');
  }
  if (payload.exp > now + ASSERTION_RULES.maxLifetimeSeconds) {
    throw invalidGrant('assertion exp is more than 15 minutes in the future');
  }
  if (payload.iat !== undefined && payload.iat > now + ASSERTION_RULES.iatSkewSeconds) {
    throw invalidGrant('assertion iat is in the future');
  }
  if (typeof payload.jti !== 'string' || payload.jti === '') {
    throw invalidGrant('assertion has no jti');
  }
  let seen = state.seenJti.get(iss);
  if (!seen) {
    seen = new Map();
    state.seenJti.set(iss, seen);
  }
  if (seen.has(payload.jti)) {
    throw invalidGrant('jti already used');
  }
  seen.set(payload.jti, payload.exp);

  const requested = [...new Set((params.scope ?? '').split(' ').filter(Boolean))];
  const unknown = requested.filter((s) => !API_SCOPES.includes(s));
  if (unknown.length) {
    throw new errors.InvalidScope('requested scope is not allowed', unknown.join(' '));
  }

  const resourceServer = new provider.ResourceServer(RESOURCE, { ...RESOURCE_SERVER_INFO });
  const acc = account(serviceAccount.id);
  ctx.oidc.entity('Account', acc);

  const grant = new provider.Grant({ accountId: acc.accountId, clientId: client.clientId });
  grant.addResourceScope(RESOURCE, requested.join(' '));
  const grantId = await grant.save();
  ctx.oidc.entity('Grant', grant);

  const { at, accessToken } = await issueAccessToken(provider, ctx, {
    accountId: acc.accountId, client, grantId, gty: JWT_BEARER_GRANT, resourceServer, scope: requested,
  });

  ctx.body = withoutUndefined({
    access_token: accessToken,
    expires_in: at.expiration,
    scope: at.scope,
    token_type: at.tokenType,
  });
}

// RFC 8693 token exchange, as an authorization server that trusts only its
// own access tokens applies it. Runs after oidc-provider has authenticated the
// client and checked it may use the grant. Checks, each failure a 400 with
// the RFC 8693 §2.2.2 / RFC 6749 §5.2 error named:
//   - subject_token present, subject_token_type the access-token URN
//     (invalid_request otherwise);
//   - the subject token is a live access token of THIS provider: an at+jwt
//     whose RS256 signature verifies with the provider's key, iss = issuer,
//     and whose stored record (by jti) oidc-provider still finds, so a
//     revoked or expired token fails (invalid_grant);
//   - actor_token, when present, passes the same checks and needs
//     actor_token_type; its subject goes into the new token's `act` claim;
//   - requested_token_type, when present, is the access-token URN;
//   - audience, when present, is exactly EXCHANGE_AUDIENCE (invalid_target);
//   - scope, when present, is within the subject token's scope (invalid_scope).
// The new token is a JWT access token for the subject's account with aud
// EXCHANGE_AUDIENCE; the answer carries issued_token_type (§2.2.1).
async function tokenExchangeGrant(provider, { issuer, publicKey }, ctx) {
  const { client, params } = ctx.oidc;
  const liveToken = async (token, what) => {
    let claims;
    try {
      const { payload, protectedHeader } = await jose.compactVerify(token, publicKey, { algorithms: ['RS256'] });
      claims = JSON.parse(new TextDecoder().decode(payload));
      if (protectedHeader.typ !== 'at+jwt' || claims.iss !== issuer || typeof claims.jti !== 'string') throw new Error('not ours');
    } catch {
      throw invalidGrant(`the ${what} is not an access token of this server`);
    }
    // A user's token (AccessToken) or a client's own (ClientCredentials).
    const stored = (await provider.AccessToken.find(claims.jti)) ?? (await provider.ClientCredentials.find(claims.jti));
    if (!stored) throw invalidGrant(`the ${what} is expired or revoked`);
    return { claims, stored };
  };
  if (typeof params.subject_token !== 'string' || params.subject_token === '') {
    throw new errors.InvalidRequest("missing required parameter 'subject_token'");
  }
  if (params.subject_token_type !== ACCESS_TOKEN_TYPE) {
    throw new errors.InvalidRequest('subject_token_type must be urn:ietf:params:oauth:token-type:access_token');
  }
  const subject = await liveToken(params.subject_token, 'subject_token');
  let act;
  if (params.actor_token !== undefined) {
    if (params.actor_token_type !== ACCESS_TOKEN_TYPE) {
      throw new errors.InvalidRequest('actor_token_type must be urn:ietf:params:oauth:token-type:access_token');
    }
    act = { sub: (await liveToken(params.actor_token, 'actor_token')).claims.sub };
  } else if (params.actor_token_type !== undefined) {
    throw new errors.InvalidRequest('actor_token_type without actor_token');
  }
  if (params.requested_token_type !== undefined && params.requested_token_type !== ACCESS_TOKEN_TYPE) {
    throw new errors.InvalidRequest('only access tokens are issued');
  }
  const audience = [params.audience ?? []].flat();
  if (audience.some((a) => a !== EXCHANGE_AUDIENCE) || audience.length > 1) {
    throw new errors.InvalidTarget('the audience is not one this server issues tokens for');
  }
  const held = new Set((subject.stored.scope ?? '').split(' ').filter(Boolean));
  const requested = params.scope === undefined ? [...held] : params.scope.split(' ').filter(Boolean);
  const beyond = requested.filter((s) => !held.has(s));
  if (beyond.length) throw new errors.InvalidScope('requested scope is not allowed', beyond.join(' '));

  const resourceServer = new provider.ResourceServer(EXCHANGE_AUDIENCE, { ...RESOURCE_SERVER_INFO, audience: EXCHANGE_AUDIENCE });
  const accountId = subject.stored.accountId ?? subject.claims.sub;
  ctx.oidc.entity('Account', account(accountId));
  const grant = new provider.Grant({ accountId, clientId: client.clientId });
  grant.addResourceScope(EXCHANGE_AUDIENCE, requested.join(' '));
  const grantId = await grant.save();
  ctx.oidc.entity('Grant', grant);
  if (act) ctx.state.grantkitAct = act;
  const { at, accessToken } = await issueAccessToken(provider, ctx, {
    accountId, client, grantId, gty: TOKEN_EXCHANGE_GRANT, resourceServer, scope: requested,
  });
  ctx.body = withoutUndefined({
    access_token: accessToken,
    issued_token_type: ACCESS_TOKEN_TYPE,
    token_type: at.tokenType,
    expires_in: at.expiration,
    scope: at.scope,
  });
}

if (isMain(import.meta.url)) {
  // Keep stdout for the one JSON line: oidc-provider notices go to stderr.
  console.info = (...a) => { if (!expectedNotice(a)) console.error(...a); };
  console.log = (...a) => console.error(...a);
  // The device flow's timing comes from the environment here (the runner's
  // arguments are shared with the other servers): demos poll every second.
  const device = {};
  for (const [env, option] of [['GRANTKIT_IDP_DEVICE_INTERVAL', 'deviceIntervalSeconds'], ['GRANTKIT_IDP_DEVICE_TTL', 'deviceCodeTtlSeconds']]) {
    if (process.env[env] !== undefined && process.env[env] !== '') device[option] = Number(process.env[env]);
  }
  await runStandalone({ name: 'idp', script: 'tests/idp/server.mjs', start: (opts) => startIdp({ ...opts, ...device }) });
}
