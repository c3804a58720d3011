// A real local OAuth 2.0 / OpenID Connect identity provider for grantkit's tests,
// built on panva's oidc-provider (9.x). Listens on 127.0.0.1 only.
//
//   import { startIdp, CLIENTS, USERS } from './server.mjs';
//   const idp = await startIdp();           // { issuer, tokenEndpoint, ..., requests, close() }
//
//   node tests/idp/server.mjs [--port N] [--ready-file PATH]   (standalone)
//
// Two things oidc-provider does not do out of the box, added here:
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
// The same pre-route middleware records every request that reaches the token
// endpoint (method, path, lowercased headers, raw body) in `requests`.

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

// Imported after the filter is installed (static imports would run first).
const { default: Provider, errors } = await import('oidc-provider');
const { createMemoryAdapter } = await import('oidc-provider/lib/adapters/memory_adapter.js');

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
const fixtureJson = (name) => Object.freeze(JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8')));

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

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
  introspector: Object.freeze({
    client_id: 'introspector',
    client_secret: 'introspector-secret',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: Object.freeze(['client_credentials']),
  }),
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

const BODY_LIMIT = 56 * 1024; // the same limit oidc-provider applies

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
 *   revocationEndpoint: string, deviceAuthorizationEndpoint: string, jwksUri: string, port: number,
 *   requests: Array<{method: string, path: string, headers: Record<string,string|string[]>, body: string}>,
 *   publicJwk: object, provider: object, close(): Promise<void>}>}
 * clockSkewSeconds shifts "now" for the JWT bearer grant's assertion checks only
 * (+3600: the IdP believes it is an hour later, so a fresh 180 s assertion has expired).
 */
export async function startIdp({ port = 0, clockSkewSeconds = 0 } = {}) {
  if (!Number.isFinite(clockSkewSeconds)) throw new TypeError('clockSkewSeconds must be a finite number');
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
    adapter: createMemoryAdapter(0), // in-memory, private to this instance
    clients: Object.values(CLIENTS).map((c) => ({
      ...structuredClone(c),
      redirect_uris: [],
      response_types: [],
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
    ttl: {
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 3600,
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 3600,
      IdToken: 3600,
      RefreshToken: 14 * 24 * 3600,
      Grant: 14 * 24 * 3600,
      DeviceCode: 600,
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

  const requests = [];

  provider.use(async function preRoute(ctx, next) {
    const route = ctx.method === 'POST' ? ctx.path : undefined;
    if (route !== ROUTES.token && route !== ROUTES.introspection && route !== ROUTES.revocation) {
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
    if (route === ROUTES.token) {
      requests.push({
        method: ctx.method,
        path: ctx.path,
        headers: { ...ctx.req.headers },
        body: raw,
      });
    } else if (ctx.is('application/x-www-form-urlencoded')) {
      raw = await rewriteJwtTokenParam(raw);
    }
    // Hand the (possibly rewritten) body to oidc-provider's own parser.
    ctx.request.body = raw;
    return next();
  });

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

  handler = provider.callback();

  let closed;
  const idp = {
    issuer,
    tokenEndpoint,
    clockSkewSeconds,
    introspectionEndpoint: `${issuer}${ROUTES.introspection}`,
    revocationEndpoint: `${issuer}${ROUTES.revocation}`,
    deviceAuthorizationEndpoint: `${issuer}${ROUTES.device_authorization}`,
    jwksUri: `${issuer}${ROUTES.jwks}`,
    port: actualPort,
    requests,
    publicJwk,
    provider,
    close() {
      closed ||= new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
    toJSON() {
      const {
        issuer: i, tokenEndpoint, introspectionEndpoint, revocationEndpoint,
        deviceAuthorizationEndpoint, jwksUri, port: p,
      } = this;
      return {
        issuer: i, tokenEndpoint, introspectionEndpoint, revocationEndpoint, deviceAuthorizationEndpoint, jwksUri, port: p,
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

  const at = new provider.AccessToken({
    accountId: acc.accountId,
    client,
    grantId,
    gty: 'password',
  });
  at.resourceServer = resourceServer;
  at.scope = apiScopes.join(' ') || undefined;
  ctx.oidc.entity('AccessToken', at);
  const accessToken = await at.save();

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
  ctx.body = Object.fromEntries(Object.entries({
    access_token: accessToken,
    expires_in: at.expiration,
    id_token: idToken,
    refresh_token: refreshToken,
    scope: at.scope,
    token_type: at.tokenType,
  }).filter(([, v]) => v !== undefined));
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

  const at = new provider.AccessToken({
    accountId: acc.accountId,
    client,
    grantId,
    gty: JWT_BEARER_GRANT,
  });
  at.resourceServer = resourceServer;
  at.scope = requested.join(' ') || undefined;
  ctx.oidc.entity('AccessToken', at);
  const accessToken = await at.save();

  ctx.body = Object.fromEntries(Object.entries({
    access_token: accessToken,
    expires_in: at.expiration,
    scope: at.scope,
    token_type: at.tokenType,
  }).filter(([, v]) => v !== undefined));
}

if (isMain(import.meta.url)) {
  // Keep stdout for the one JSON line: oidc-provider notices go to stderr.
  console.info = (...a) => console.error(...a);
  console.log = (...a) => console.error(...a);
  await runStandalone({ name: 'idp', script: 'tests/idp/server.mjs', start: startIdp });
}
