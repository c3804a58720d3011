// What the generated declarations accept and refuse: each @ts-expect-error
// line must be an error, or tsc fails ("unused directive"), so a declaration
// that grows too loose fails here as surely as one that is too strict.
import {
  ClientCredentials, PasswordGrant, JwtBearer, DeviceAuthorization, AcpLogin, TokenExchange, AuthorizationCode, TokenSource,
  GrantkitError, discover, keycloak, entra, generic, acp, pingAic, encryptAcpPassword,
} from "grantkit";
import type { DiscoveredEndpoints, ClientCredentialsOptions, TokenSet, GrantkitErrorCode, DevicePrompt, IntrospectionResponse, AuthorizationBegin } from "grantkit";

const base = { tokenEndpoint: "https://idp.example/token", clientId: "app", clientSecret: "s" };

// Accepted: every option with its documented type; optional parameters.
const cc = new ClientCredentials({
  ...base, scope: ["a", "b"], extraParams: { audience: "x", resource: ["r1", "r2"] }, clientAuth: "post",
  provider: "keycloak", timeoutMs: 5000, allowInsecureHttp: false, signer: "rust",
  fetch: (input: string, init: RequestInit) => fetch(input, init),
});
const tokens: Promise<TokenSet> = cc.getToken();
void cc.getToken({ signal: new AbortController().signal });
new ClientCredentials({ ...keycloak({ baseUrl: "https://sso.example", realm: "r" }), clientId: "a", clientSecret: "s" });
new ClientCredentials({ ...entra({ tenant: "t" }), clientId: "a", clientAuth: "private_key_jwt", privateKey: { kty: "RSA" }, algorithm: "PS256" });
new PasswordGrant({ ...generic({ tokenEndpoint: "https://idp.example/token" }), clientId: "a", username: "u", password: "p" });
new JwtBearer({ tokenEndpoint: "https://t.example/token", key: "PEM", issuer: "svc", lifetimeSeconds: 60, claims: { x: 1 } });
new DeviceAuthorization({ ...base, onPrompt: (p: DevicePrompt) => console.log(p.user_code) });
new AcpLogin({ platformUrl: "https://acp.example", username: "u", password: "p", idp: "ldap" });
new AcpLogin({ ...acp({ platformUrl: "https://acp.example" }), username: "u", password: "p" });
const exchanged: Promise<TokenSet> = new TokenExchange({
  ...base, subjectToken: "at", subjectTokenType: "jwt", actorToken: "act", actorTokenType: "access_token",
  audience: ["orders", "billing"], resource: "https://api.example/", requestedTokenType: "access_token",
}).getToken();
new TokenSource(new TokenExchange({ ...entra({ tenant: "t" }), clientId: "a", clientSecret: "s", subjectToken: "at", scope: "https://graph.microsoft.com/user.read" }));
void exchanged;
void discover({ issuer: "https://sso.example/realms/r", timeoutMs: 5000 }).then((e: DiscoveredEndpoints) => new ClientCredentials({ tokenEndpoint: e.tokenEndpoint, clientId: "a", clientSecret: "s" }));
const source = new TokenSource(cc);
void source.authorizedFetch("https://api.example/x");
new TokenSource(cc, { marginSeconds: 30, allowedOrigins: ["https://api.example"], headers: { "x-k": "v" } });
encryptAcpPassword({ publicKey: "PEM", ts: 1700000000, password: "p" });
// Discovery: issuer instead of tokenEndpoint (JwtBearer: serverIssuer, its
// issuer being the assertion's iss); the presets carry their issuers.
new ClientCredentials({ issuer: "https://idp.example/realms/r", clientId: "a", clientSecret: "s" });
new PasswordGrant({ issuer: "https://idp.example", clientId: "a", username: "u", password: "p" });
new DeviceAuthorization({ issuer: "https://idp.example", clientId: "a", onPrompt: () => {} });
new TokenExchange({ issuer: "https://idp.example", clientId: "a", clientSecret: "s", subjectToken: "t" });
new JwtBearer({ serverIssuer: "https://idp.example", key: "PEM", issuer: "svc" });
new JwtBearer({ ...pingAic({ tenant: "t.example", realm: "alpha" }), key: "PEM", issuer: "svc" });
const presetIssuer: string | undefined = keycloak({ baseUrl: "https://sso.example", realm: "r" }).issuer;
const dexIssuer: string = acp({ platformUrl: "https://acp.example" }).issuer;
void presetIssuer; void dexIssuer;
// Neither tokenEndpoint nor issuer passes the types: the declarations cannot
// say "one of the two" without losing the generated option types, so it is
// the constructor's INVALID_CONFIG (field "tokenEndpoint"), before any request.
new ClientCredentials({ clientId: "a", clientSecret: "s" });
const options: ClientCredentialsOptions = base;
void options; void tokens;
// Revocation and introspection: on every flow and on TokenSource.
new ClientCredentials({ ...base, clientAuth: "client_secret_jwt", revocationEndpoint: "https://idp.example/revoke", introspectionEndpoint: "https://idp.example/introspect" });
// DPoP (RFC 9449): on every token flow; a DPoP-bound token's token_type.
const bound = new TokenSource(new ClientCredentials({ ...base, dpop: true }), { allowedOrigins: ["https://api.example"] });
void bound.getToken().then((t: TokenSet) => { const type: "Bearer" | "DPoP" = t.token_type; return type; });
new DeviceAuthorization({ ...base, dpop: false, onPrompt: () => {} });
new AuthorizationCode({ clientId: "a", authorizationEndpoint: "https://idp.example/auth", tokenEndpoint: "https://idp.example/token", redirectUri: "https://app.example/cb", dpop: true });
// @ts-expect-error dpop is a boolean
new ClientCredentials({ ...base, dpop: "yes" });
// @ts-expect-error AcpLogin has no dpop: the platform makes its token request
new AcpLogin({ platformUrl: "https://acp.example", username: "u", password: "p", dpop: true });
// @ts-expect-error a token_type is Bearer or DPoP, nothing else
void cc.getToken().then((t) => { const other: "mac" = t.token_type; return other; });
const revoked: Promise<void> = cc.revoke(await cc.getToken());
void revoked;
void cc.revoke({ refresh_token: "rt" });
void source.revoke();
void source.revoke({ access_token: "at" });
const answer: IntrospectionResponse = await cc.introspect("at", { tokenTypeHint: "access_token" });
const active: boolean = answer.active;
const scope: string | undefined = answer.scope;
void active; void scope; void answer.vendor_member;
void source.introspect("at");
void new DeviceAuthorization({ ...base, onPrompt: () => {} }).revoke({ access_token: "at" });
void new AcpLogin({ platformUrl: "https://acp.example", username: "u", password: "p" }).introspect("at");
// Authorization code with PKCE: a page (sessionStorage), a server (pending).
const ac = new AuthorizationCode({
  authorizationEndpoint: "https://idp.example/auth", tokenEndpoint: "https://idp.example/token", clientId: "app",
  redirectUri: "https://app.example/callback", scope: "openid profile", issuer: "https://idp.example", jwksUri: "https://idp.example/jwks",
  authorizationParams: { prompt: "login", login_hint: "alice" }, authorizationResponseIssParameterSupported: true,
});
const authorizationUrl: Promise<string> = ac.authorizationUrl();
void authorizationUrl;
const started: AuthorizationBegin = await ac.begin();
const completed: Promise<TokenSet> = ac.complete(started.url, started.pending);
void completed;
void ac.complete();
new TokenSource(ac);
const acInfo: Promise<IntrospectionResponse> = ac.introspect("at", { tokenTypeHint: "access_token" });
void acInfo;
const acRevoked: Promise<void> = ac.revoke({ access_token: "at" });
void acRevoked;
new AuthorizationCode({ ...base, authorizationEndpoint: "https://idp.example/auth", redirectUri: "http://127.0.0.1:8400/callback", clientAuth: "post" });
// With only the issuer: its metadata gives the endpoints, jwks_uri and the RFC 9207 announcement.
const fromIssuer = new AuthorizationCode({ issuer: "https://idp.example", clientId: "app", redirectUri: "https://app.example/callback", scope: "openid" });
const fromIssuerBegun: Promise<AuthorizationBegin> = fromIssuer.begin();
void fromIssuerBegun;

// Refused.
// @ts-expect-error redirectUri is required
new AuthorizationCode({ authorizationEndpoint: "https://idp.example/auth", tokenEndpoint: "https://idp.example/token", clientId: "app" });
// @ts-expect-error clientId is required, with an issuer too
new AuthorizationCode({ issuer: "https://idp.example", redirectUri: "https://app.example/cb" });
// @ts-expect-error authorizationEndpoint is a string
new AuthorizationCode({ ...base, authorizationEndpoint: new URL("https://idp.example/auth"), redirectUri: "https://app.example/cb" });
// @ts-expect-error authorizationParams are strings
new AuthorizationCode({ ...base, authorizationEndpoint: "https://idp.example/auth", redirectUri: "https://app.example/cb", authorizationParams: { max_age: 60 } });
// @ts-expect-error complete takes the pending login as a string
void ac.complete("https://app.example/callback?code=c&state=s", { state: "s" });
// @ts-expect-error an AuthorizationCode has no getToken: the user signs in through the browser
void ac.getToken();
// @ts-expect-error an unknown option
new ClientCredentials({ ...base, clientSecrett: "s" });
// @ts-expect-error subjectToken is required
new TokenExchange({ ...base, audience: "orders" });
// @ts-expect-error timeoutMs is a number
new ClientCredentials({ ...base, timeoutMs: "5000" });
// @ts-expect-error clientAuth is one of four names
new ClientCredentials({ ...base, clientAuth: "mtls" });
// @ts-expect-error issuer is a string
new ClientCredentials({ issuer: new URL("https://idp.example"), clientId: "a", clientSecret: "s" });
// @ts-expect-error serverIssuer is JwtBearer's (where issuer means iss); the others take issuer
new ClientCredentials({ ...base, serverIssuer: "https://idp.example" });
// @ts-expect-error pingAic's realm is a string
pingAic({ tenant: "t.example", realm: 1 });
// @ts-expect-error AcpLogin's issuer is a string
new AcpLogin({ platformUrl: "https://acp.example", username: "u", password: "p", issuer: 1 });
// @ts-expect-error provider is one of five names
new ClientCredentials({ ...base, provider: "okta" });
// @ts-expect-error onPrompt is required
new DeviceAuthorization({ ...base });
// @ts-expect-error idp is local, ldap or oidc
new AcpLogin({ platformUrl: "https://acp.example", username: "u", password: "p", idp: "saml" });
// @ts-expect-error AcpLogin is ACP's login: no other provider
new AcpLogin({ ...keycloak({ baseUrl: "https://sso.example", realm: "r" }), platformUrl: "https://acp.example", username: "u", password: "p" });
// @ts-expect-error TokenSource takes a flow
new TokenSource({ getToken: async () => ({}) });
// @ts-expect-error a password-grant option on client credentials
new ClientCredentials({ ...base, username: "u" });
// @ts-expect-error a flow's revoke needs the tokens
void cc.revoke();
// @ts-expect-error the tokens are strings
void cc.revoke({ access_token: 1 });
// @ts-expect-error introspect takes the token as a string
void cc.introspect({ access_token: "at" });
// @ts-expect-error token_type_hint is access_token or refresh_token
void cc.introspect("at", { tokenTypeHint: "id_token" });
// @ts-expect-error scope is a string when present
const notScope: number | undefined = answer.scope;
// @ts-expect-error revocationEndpoint is a string
new ClientCredentials({ ...base, revocationEndpoint: true });

// Errors: a class with codes as constants.
try {
  await cc.getToken();
} catch (error) {
  if (error instanceof GrantkitError) {
    const code: GrantkitErrorCode = error.code;
    if (code === GrantkitError.INVALID_CONFIG) console.log(error.field);
  }
}
export {};

// grantkit/stores: the adapters take bindings and clients by shape, and give
// the generated TokenStore; a store of one's own may add lease and release.
import { kvStore, redisStore, durableObjectStore, TokenStoreObject } from "grantkit/stores";
import type { TokenStore } from "grantkit/stores";
const kv: TokenStore = kvStore(env.TOKENS);
const durable: TokenStore = durableObjectStore(env.TOKEN_LOCK);
redisStore({ call: async (command: string, ...args: (string | number)[]) => [command, ...args].length });
redisStore({ sendCommand: async (args: string[]) => args.length });
new TokenSource(cc, { store: kv });
new TokenSource(cc, { store: durable });
new TokenSource(cc, {
  store: {
    get: () => null, set: () => {},
    lease: async (key: string, ttlMs: number, owner: string) => key.length + ttlMs + owner.length > 0,
    release: async () => {},
  },
});
const storeObject = new TokenStoreObject({
  storage: { get: async () => undefined, put: async () => {}, delete: async () => true, setAlarm: async () => {} },
});
void storeObject.fetch(new Request("https://grantkit.invalid/get"));
// @ts-expect-error a Redis client is node-redis or ioredis
redisStore({ get: async () => null });
// @ts-expect-error a KV namespace needs put
kvStore({ get: async () => null });
// @ts-expect-error lease answers a boolean
new TokenSource(cc, { store: { get: () => null, set: () => {}, lease: async () => "yes", release: async () => {} } });
