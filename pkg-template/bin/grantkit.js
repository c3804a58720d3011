#!/usr/bin/env node
// grantkit command line: gets a token and prints it.
// Secrets come from an environment variable, a file or standard input, never
// from argv (which other users of the machine can read in the process list).
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { ClientCredentials, PasswordGrant, JwtBearer, DeviceAuthorization, AcpLogin, TokenExchange, AuthorizationCode, decodeJwt, keycloak, entra, pingAic } from "../index.node.js";
// The core's escaping of server text (index.node.js has instantiated the module).
import { __terminalSafe as terminalSafe } from "../grantkit.js";

const USAGE = `Usage:
  grantkit client-credentials ENDPOINT --client-id ID CLIENT-SECRET [options]
  grantkit password ENDPOINT --client-id ID [CLIENT-SECRET] --username USER PASSWORD [options]
  grantkit jwt-bearer ENDPOINT --key PATH --issuer ISS [--subject SUB] [--audience AUD] [--client-id ID]
                      [--lifetime SECONDS] [--algorithm RS256|PS256] [options]
  grantkit device ENDPOINT --client-id ID [CLIENT-SECRET] [--device-authorization-endpoint URL] [options]
  grantkit token-exchange ENDPOINT --client-id ID [CLIENT-SECRET] SUBJECT-TOKEN [--subject-token-type TYPE]
                      [ACTOR-TOKEN --actor-token-type TYPE] [--audience NAME]... [--resource URI]...
                      [--requested-token-type TYPE] [options]
  grantkit login (--issuer URL | --authorization-endpoint URL --token-endpoint URL) --client-id ID
                 [CLIENT-SECRET] [--jwks-uri URL] [--auth-param NAME=VALUE]... [--port N] [--open]
                 [--iss-supported] [--login-timeout SECONDS] [options]
  grantkit acp --platform-url URL --username USER PASSWORD [--idp local|ldap|oidc] [--json] [--trace]
  grantkit revoke ENDPOINT --client-id ID CLIENT-SECRET [--revocation-endpoint URL] TOKEN
                  [--token-type-hint refresh_token|access_token] [options]
  grantkit introspect ENDPOINT --client-id ID CLIENT-SECRET [--introspection-endpoint URL] TOKEN
                      [--token-type-hint refresh_token|access_token] [options]
  grantkit decode [--token-env NAME | --token-file PATH]   (default: the token on standard input)
  grantkit www [--port N]               serves the diagnostic page on 127.0.0.1 (default port 8737)
  grantkit --version                    prints the package version

ENDPOINT is one of:
  --token-endpoint URL
  --issuer URL                          the endpoints from the server's metadata (OpenID Connect
                                        Discovery, then RFC 8414); jwt-bearer: --server-issuer URL,
                                        since its --issuer is the assertion's iss
  --keycloak-url BASE --realm REALM     {BASE}/realms/{REALM}/protocol/openid-connect/token
  --entra-tenant TENANT                 https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token
  --ping-tenant TENANT                  https://{TENANT}:443/am/oauth2/access_token

CLIENT-SECRET is one of --client-secret-env NAME, --client-secret-file PATH, --client-secret-stdin,
  or --client-auth private_key_jwt --private-key PATH [--certificate PATH] [--algorithm RS256|PS256]
PASSWORD is one of --password-env NAME, --password-file PATH, --password-stdin
TOKEN is one of --token-env NAME, --token-file PATH, --token-stdin (default: standard input)
SUBJECT-TOKEN is one of --subject-token-env NAME, --subject-token-file PATH, --subject-token-stdin
ACTOR-TOKEN is one of --actor-token-env NAME, --actor-token-file PATH, --actor-token-stdin

Options:
  --scope SCOPE            a scope value; repeat for more
  --client-auth basic|post|private_key_jwt|client_secret_jwt
                           how the client authenticates (default: basic)
  --param NAME=VALUE       an extra form parameter (audience, resource, ...); repeatable
  --timeout MS             time limit per request (default 30000)
  --allow-insecure-http    allow plain http to hosts other than loopback
  --dpop                   ask for a DPoP-bound token (RFC 9449; a key pair made for this run,
                           so the token is of use only to inspect: its cnf.jkt, its proofs)
  --json                   print the whole token set as JSON instead of the access token
  --trace                  write each HTTP exchange to standard error, secrets masked,
                           with the same request as a curl command (secrets as $VARIABLES)

jwt-bearer signs an RFC 7523 assertion with the key (JWK or PEM file): iss ISS, sub SUB
(default ISS), aud AUD (default: the token endpoint exactly), exp = iat + SECONDS (default 180).
With --ping-tenant, --client-id defaults to service-account.

token-exchange trades the subject token for another (RFC 8693); a TYPE is a
token type URI or one of access_token (the default), refresh_token, id_token,
saml1, saml2, jwt. With --entra-tenant it sends Microsoft Entra ID's
on-behalf-of request instead (the token and --scope only).

login signs a user in with the authorization code grant and PKCE (RFC 6749 §4.1,
RFC 7636): it listens on 127.0.0.1 (a free port, or --port), prints the URL to
open on standard error (--open also starts a browser), and waits for the
browser to come back to http://127.0.0.1:PORT/callback (RFC 8252 §7.3; register
that redirect URI, any port, with the server). With --issuer, the endpoints not
given (and --jwks-uri) come from the server's metadata, with its RFC 9207
announcement. With --scope openid it checks the ID token (needs --issuer).
--iss-supported: the server announced authorization_response_iss_parameter_supported
(RFC 9207). It gives up after --login-timeout seconds (default 300); Ctrl-C stops it.

device (RFC 8628) prints where to go and the code to enter on standard error, then
waits until the user approves it elsewhere (Ctrl-C stops it). The device
authorization endpoint defaults to Keycloak's {BASE}/realms/{REALM}/protocol/
openid-connect/auth/device and Entra's .../{TENANT}/oauth2/v2.0/devicecode;
give --device-authorization-endpoint (or --issuer) for any other server.

revoke (RFC 7009) revokes the token (hint: refresh_token unless told) and prints
nothing. introspect (RFC 7662) prints the server's answer as JSON ("active" and
what else it said). Both authenticate as the token requests do; the endpoints
default to Keycloak's and PingOne AIC's documented ones beside the token endpoint
(Entra has neither).

Prints the access token and a newline. Exit status: 0 on success, 2 when the
server answered with an OAuth error, 1 on any other error.
`;

const EXIT_OAUTH = 2;
const EXIT_OTHER = 1;

class UsageError extends Error {}

const secretSource = (name) => ({
  [`${name}-env`]: { type: "string" },
  [`${name}-file`]: { type: "string" },
  [`${name}-stdin`]: { type: "boolean" },
});

const COMMON = {
  "token-endpoint": { type: "string" },
  issuer: { type: "string" },
  "keycloak-url": { type: "string" },
  realm: { type: "string" },
  "entra-tenant": { type: "string" },
  "ping-tenant": { type: "string" },
  "client-id": { type: "string" },
  ...secretSource("client-secret"),
  scope: { type: "string", multiple: true },
  "client-auth": { type: "string" },
  param: { type: "string", multiple: true },
  timeout: { type: "string" },
  "allow-insecure-http": { type: "boolean" },
  json: { type: "boolean" },
  trace: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

const CLIENT_KEY = {
  "private-key": { type: "string" },
  certificate: { type: "string" },
  algorithm: { type: "string" },
};

/** For the commands that get tokens. */
const DPOP = { dpop: { type: "boolean" } };

const COMMANDS = {
  "client-credentials": { options: { ...COMMON, ...CLIENT_KEY, ...DPOP }, run: clientCredentials },
  password: {
    options: { ...COMMON, ...CLIENT_KEY, ...DPOP, username: { type: "string" }, ...secretSource("password") },
    run: password,
  },
  "jwt-bearer": {
    options: {
      ...COMMON,
      ...DPOP,
      key: { type: "string" },
      "server-issuer": { type: "string" },
      subject: { type: "string" },
      audience: { type: "string" },
      lifetime: { type: "string" },
      algorithm: { type: "string" },
    },
    run: jwtBearer,
  },
  device: {
    options: { ...COMMON, ...CLIENT_KEY, ...DPOP, "device-authorization-endpoint": { type: "string" } },
    run: device,
  },
  "token-exchange": {
    options: {
      ...COMMON,
      ...CLIENT_KEY,
      ...DPOP,
      ...secretSource("subject-token"),
      "subject-token-type": { type: "string" },
      ...secretSource("actor-token"),
      "actor-token-type": { type: "string" },
      audience: { type: "string", multiple: true },
      resource: { type: "string", multiple: true },
      "requested-token-type": { type: "string" },
    },
    run: tokenExchange,
  },
  login: {
    options: {
      ...COMMON,
      ...CLIENT_KEY,
      ...DPOP,
      "authorization-endpoint": { type: "string" },
      "jwks-uri": { type: "string" },
      "auth-param": { type: "string", multiple: true },
      port: { type: "string" },
      open: { type: "boolean" },
      "iss-supported": { type: "boolean" },
      "login-timeout": { type: "string" },
    },
    run: login,
  },
  acp: {
    options: {
      "platform-url": { type: "string" },
      username: { type: "string" },
      ...secretSource("password"),
      idp: { type: "string" },
      timeout: { type: "string" },
      "allow-insecure-http": { type: "boolean" },
      json: { type: "boolean" },
      trace: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    run: acp,
  },
  revoke: {
    options: { ...COMMON, ...CLIENT_KEY, "revocation-endpoint": { type: "string" }, ...secretSource("token"), "token-type-hint": { type: "string" } },
    run: revoke,
  },
  introspect: {
    options: { ...COMMON, ...CLIENT_KEY, "introspection-endpoint": { type: "string" }, ...secretSource("token"), "token-type-hint": { type: "string" } },
    run: introspect,
  },
  decode: { options: { ...secretSource("token"), help: { type: "boolean", short: "h" } }, run: decode },
  www: { options: { port: { type: "string" }, help: { type: "boolean", short: "h" } }, run: async (v) => (await import("./www.js")).main(v) },
};

// The flag that gives each option, for the core's INVALID_CONFIG errors
// (which name the option).
const FLAG_OF_OPTION = {
  tokenEndpoint: "--token-endpoint",
  deviceAuthorizationEndpoint: "--device-authorization-endpoint",
  revocationEndpoint: "--revocation-endpoint",
  introspectionEndpoint: "--introspection-endpoint",
  token: "--token-env / -file / -stdin",
  tokenTypeHint: "--token-type-hint",
  baseUrl: "--keycloak-url",
  realm: "--realm",
  tenant: "--entra-tenant / --ping-tenant",
  clientId: "--client-id",
  clientSecret: "--client-secret-env / -file / -stdin",
  clientAuth: "--client-auth",
  privateKey: "--private-key",
  certificate: "--certificate",
  algorithm: "--algorithm",
  scope: "--scope",
  extraParams: "--param",
  timeoutMs: "--timeout",
  username: "--username",
  password: "--password-env / -file / -stdin",
  key: "--key",
  issuer: "--issuer",
  serverIssuer: "--server-issuer",
  subject: "--subject",
  audience: "--audience",
  lifetimeSeconds: "--lifetime",
  platformUrl: "--platform-url",
  idp: "--idp",
  subjectToken: "--subject-token-env / -file / -stdin",
  subjectTokenType: "--subject-token-type",
  actorToken: "--actor-token-env / -file / -stdin",
  actorTokenType: "--actor-token-type",
  resource: "--resource",
  requestedTokenType: "--requested-token-type",
  authorizationEndpoint: "--authorization-endpoint",
  jwksUri: "--jwks-uri",
  authorizationParams: "--auth-param",
  redirectUri: "--port",
};

// Options that would put a secret on the command line, refused by name so
// the message can say what to use instead.
const SECRET_ON_ARGV = ["--client-secret", "--password", "--token", "--subject-token", "--actor-token"];

async function main(argv) {
  const [command, ...rest] = argv;
  if (command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  if (command === "--version") {
    const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
    process.stdout.write(`${version}\n`);
    return 0;
  }
  if (command === undefined) {
    process.stderr.write(USAGE);
    return EXIT_OTHER;
  }
  const spec = COMMANDS[command];
  if (!spec) throw new UsageError(`unknown command ${JSON.stringify(command)}; see grantkit --help`);
  for (const arg of rest) {
    const name = arg.split("=")[0];
    if (SECRET_ON_ARGV.includes(name)) {
      throw new UsageError(`${name} would put a secret on the command line; use ${name}-env NAME, ${name}-file PATH or ${name}-stdin`);
    }
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: spec.options, allowPositionals: false, strict: true });
  } catch (e) {
    throw new UsageError(e.message);
  }
  if (parsed.values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  return spec.run(parsed.values);
}

async function clientCredentials(v) {
  const client = new ClientCredentials({
    ...endpoint(v),
    clientId: required(v, "client-id"),
    ...(await clientCredential(v)),
    ...flowOptions(v),
  });
  print(await client.getToken(), v.json);
  return 0;
}

async function password(v) {
  const client = new PasswordGrant({
    ...endpoint(v),
    clientId: required(v, "client-id"),
    ...(await clientCredential(v)),
    username: required(v, "username"),
    password: await secret(v, "password", { required: true }),
    ...flowOptions(v),
  });
  print(await client.getToken(), v.json);
  return 0;
}

async function jwtBearer(v) {
  const options = {
    // JwtBearer takes no client secret or clientAuth: the core refuses them.
    ...(await clientCredential(v)),
    ...endpoint(v, "server-issuer"),
    key: readKeyFile(required(v, "key"), "--key"),
    issuer: required(v, "issuer"),
    ...flowOptions(v),
  };
  for (const [flag, name] of [["subject", "subject"], ["audience", "audience"], ["client-id", "clientId"], ["algorithm", "algorithm"]]) {
    if (v[flag] !== undefined) options[name] = v[flag];
  }
  if (v.lifetime !== undefined) {
    if (!/^[1-9][0-9]*$/.test(v.lifetime)) throw new UsageError("--lifetime takes a whole number of seconds");
    options.lifetimeSeconds = Number(v.lifetime);
  }
  print(await new JwtBearer(options).getToken(), v.json);
  return 0;
}

async function device(v) {
  const device = v["device-authorization-endpoint"];
  const client = new DeviceAuthorization({
    // Without the flag, the core derives Keycloak's and Entra's documented
    // device endpoint from the preset's token endpoint.
    ...(device === undefined ? {} : { deviceAuthorizationEndpoint: device }),
    ...endpoint(v),
    clientId: required(v, "client-id"),
    ...(await clientCredential(v)),
    ...flowOptions(v),
    onPrompt: (prompt) => {
      const lines = [`To sign in, open ${prompt.verification_uri} and enter the code ${prompt.user_code}`];
      if (prompt.verification_uri_complete) lines.push(`(or open ${prompt.verification_uri_complete})`);
      lines.push(`The code expires in ${prompt.expires_in} s. Waiting for approval...`);
      process.stderr.write(lines.join("\n") + "\n");
    },
  });
  const stop = new AbortController();
  const onSigint = () => stop.abort();
  process.once("SIGINT", onSigint);
  try {
    print(await client.getToken({ signal: stop.signal }), v.json);
  } finally {
    process.off("SIGINT", onSigint);
  }
  return 0;
}

/** The client that revokes or introspects: a confidential client, configured
 * as for client-credentials (the endpoints come from the flags or the core's
 * provider defaults). */
async function tokenClient(v, endpointFlag, endpointOption) {
  const options = { ...endpoint(v), clientId: required(v, "client-id"), ...(await clientCredential(v)), ...flowOptions(v) };
  if (v[endpointFlag] !== undefined) options[endpointOption] = v[endpointFlag];
  return new ClientCredentials(options);
}

/** The token: --token-env / --token-file / --token-stdin, else standard input. */
async function tokenArgument(v) {
  const token = (await secret(v, "token", { required: false })) ?? (await readStdin("token")).trim();
  if (token === "") throw new UsageError("the token is empty");
  return token;
}

function tokenTypeHint(v, fallback) {
  const hint = v["token-type-hint"] ?? fallback;
  if (hint !== undefined && hint !== "refresh_token" && hint !== "access_token") {
    throw new UsageError("--token-type-hint takes refresh_token or access_token");
  }
  return hint;
}

async function revoke(v) {
  const hint = tokenTypeHint(v, "refresh_token");
  const client = await tokenClient(v, "revocation-endpoint", "revocationEndpoint");
  await client.revoke({ [hint]: await tokenArgument(v) });
  return 0;
}

async function introspect(v) {
  const hint = tokenTypeHint(v, undefined);
  const client = await tokenClient(v, "introspection-endpoint", "introspectionEndpoint");
  const answer = await client.introspect(await tokenArgument(v), hint === undefined ? undefined : { tokenTypeHint: hint });
  process.stdout.write(terminalSafe(JSON.stringify(answer), true) + "\n");
  return 0;
}

async function tokenExchange(v) {
  const options = {
    ...endpoint(v),
    clientId: required(v, "client-id"),
    ...(await clientCredential(v)),
    subjectToken: await secret(v, "subject-token", { required: true }),
    ...flowOptions(v),
  };
  const actorToken = await secret(v, "actor-token", { required: false });
  if (actorToken !== undefined) options.actorToken = actorToken;
  for (const [flag, name] of [
    ["subject-token-type", "subjectTokenType"], ["actor-token-type", "actorTokenType"], ["audience", "audience"],
    ["resource", "resource"], ["requested-token-type", "requestedTokenType"],
  ]) {
    if (v[flag] !== undefined) options[name] = v[flag];
  }
  print(await new TokenExchange(options).getToken(), v.json);
  return 0;
}

/** The small page the browser shows once it came back to the loopback listener. */
function callbackPage(title, text) {
  const escape = (t) => t.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${escape(title)}</title></head>`
    + `<body><h1>${escape(title)}</h1><p>${escape(text)}</p></body></html>`;
}

async function login(v) {
  const { createServer } = await import("node:http");
  let port = 0;
  if (v.port !== undefined) {
    if (!/^[0-9]+$/.test(v.port) || Number(v.port) > 65535) throw new UsageError("--port takes a port number (0 for a free one)");
    port = Number(v.port);
  }
  let limitSeconds = 300;
  if (v["login-timeout"] !== undefined) {
    if (!/^[1-9][0-9]*$/.test(v["login-timeout"])) throw new UsageError("--login-timeout takes a whole number of seconds");
    limitSeconds = Number(v["login-timeout"]);
  }
  const authParams = {};
  for (const pair of v["auth-param"] ?? []) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError("--auth-param takes NAME=VALUE");
    authParams[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  // The options are checked before anything listens (INVALID_CONFIG names
  // the flag); the redirect URI's port is filled in once it is known.
  // With --issuer, the core reads what is not given from the metadata;
  // without it, its INVALID_CONFIG names the endpoint flag that is missing.
  const options = {
    clientId: required(v, "client-id"),
    ...(await clientCredential(v)),
    ...flowOptions(v),
  };
  if (v["authorization-endpoint"] !== undefined) options.authorizationEndpoint = v["authorization-endpoint"];
  if (v["token-endpoint"] !== undefined) options.tokenEndpoint = v["token-endpoint"];
  if (v.issuer !== undefined) options.issuer = v.issuer;
  if (v["jwks-uri"] !== undefined) options.jwksUri = v["jwks-uri"];
  if (v["iss-supported"]) options.authorizationResponseIssParameterSupported = true;
  if (Object.keys(authParams).length) options.authorizationParams = authParams;
  new AuthorizationCode({ ...options, redirectUri: "http://127.0.0.1/callback" });

  // RFC 8252 §8.3: listen on the loopback address only, not on every interface.
  let deliver;
  const callback = new Promise((resolve) => { deliver = resolve; });
  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://127.0.0.1");
    if (req.method !== "GET" || url.pathname !== "/callback") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    deliver({ url: `http://127.0.0.1:${server.address().port}${req.url}`, res });
  });
  await new Promise((resolve, reject) => {
    server.once("error", (e) => reject(new UsageError(`cannot listen on 127.0.0.1:${port}: ${e.code ?? e.message}`)));
    server.listen(port, "127.0.0.1", resolve);
  });
  const redirectUri = `http://127.0.0.1:${server.address().port}/callback`;
  const stop = new AbortController();
  const onSigint = () => stop.abort(new UsageError("stopped (Ctrl-C)"));
  process.once("SIGINT", onSigint);
  const timer = setTimeout(() => stop.abort(new UsageError(`no sign-in came back within ${limitSeconds} s`)), limitSeconds * 1000);
  try {
    const ac = new AuthorizationCode({ ...options, redirectUri });
    const { url, pending } = await ac.begin();
    process.stderr.write(`To sign in, open this URL in a browser:\n\n  ${terminalSafe(url, false)}\n\nWaiting for the browser to come back to ${redirectUri} (Ctrl-C stops)...\n`);
    if (v.open) openBrowser(url);
    const aborted = new Promise((_, reject) => stop.signal.addEventListener("abort", () => reject(stop.signal.reason), { once: true }));
    const { url: callbackUrl, res } = await Promise.race([callback, aborted]);
    let tokens;
    try {
      tokens = await ac.complete(callbackUrl, pending);
    } catch (error) {
      const why = error?.name === "GrantkitError" ? error.code : "an error";
      res.writeHead(400, { "content-type": "text/html; charset=utf-8" })
        .end(callbackPage("Sign-in failed", `grantkit could not complete the sign-in (${why}); see the terminal. You can close this window.`));
      throw error;
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" })
      .end(callbackPage("Signed in", "grantkit has the tokens. You can close this window."));
    print(tokens, v.json);
    return 0;
  } finally {
    clearTimeout(timer);
    process.off("SIGINT", onSigint);
    server.close();
    server.closeAllConnections();
  }
}

/** --open: the platform's way of opening a URL; failures are only reported. */
async function openBrowser(url) {
  const { spawn } = await import("node:child_process");
  const [command, args] = process.platform === "darwin" ? ["open", [url]]
    : process.platform === "win32" ? ["cmd", ["/c", "start", "", url]]
    : ["xdg-open", [url]];
  try {
    const child = spawn(command, args, { stdio: "ignore", detached: true });
    child.on("error", () => process.stderr.write("grantkit: could not start a browser; open the URL yourself\n"));
    child.unref();
  } catch {
    process.stderr.write("grantkit: could not start a browser; open the URL yourself\n");
  }
}

/** The client secret, or the private key for --client-auth private_key_jwt. */
/** The client credential flags as options; which combinations make sense is
 * the core's rule (an INVALID_CONFIG naming the option, shown with its flag). */
async function clientCredential(v) {
  const options = {};
  if (v["client-auth"] !== undefined) options.clientAuth = v["client-auth"];
  if (v["private-key"] !== undefined) options.privateKey = readKeyFile(v["private-key"], "--private-key");
  if (v.certificate !== undefined) options.certificate = readKeyFile(v.certificate, "--certificate");
  if (v.algorithm !== undefined) options.algorithm = v.algorithm;
  const clientSecret = await secret(v, "client-secret", { required: false });
  if (clientSecret !== undefined) options.clientSecret = clientSecret;
  return options;
}

function readKeyFile(path, flag) {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read ${flag}: ${e.code ?? e.message}`);
  }
}

async function acp(v) {
  const options = {
    platformUrl: required(v, "platform-url"),
    username: required(v, "username"),
    password: await secret(v, "password", { required: true }),
  };
  if (v.idp !== undefined) options.idp = v.idp;
  // acp takes neither --scope nor --param: only the transport options apply.
  print(await new AcpLogin({ ...options, ...flowOptions(v) }).getToken(), v.json);
  return 0;
}

async function decode(v) {
  const token = (await secret(v, "token", { required: false })) ?? (await readStdin("token")).trim();
  process.stdout.write(terminalSafe(JSON.stringify(decodeJwt(token), null, 2), true) + "\n");
  return 0;
}

/** The endpoint flags as options. `issuerFlag` names the discovery issuer's
 * flag: --issuer, or --server-issuer for jwt-bearer (whose --issuer is iss). */
function endpoint(v, issuerFlag = "issuer") {
  const given = ["token-endpoint", "keycloak-url", "entra-tenant", "ping-tenant"].filter((k) => v[k] !== undefined);
  const issuer = v[issuerFlag];
  if (given.length > 1 || (given.length === 0 && issuer === undefined)) {
    throw new UsageError(`give exactly one of --token-endpoint, --keycloak-url (with --realm), --entra-tenant, --ping-tenant, or --${issuerFlag}`);
  }
  // With --token-endpoint or a preset too, --issuer is checked but the
  // token endpoint is not discovered (the core's rule).
  const discovery = issuer === undefined ? {} : { [issuerFlag === "issuer" ? "issuer" : "serverIssuer"]: issuer };
  if (v["keycloak-url"] !== undefined) return withoutIssuer(keycloak({ baseUrl: v["keycloak-url"], realm: required(v, "realm") }), discovery);
  if (v.realm !== undefined) throw new UsageError("--realm goes with --keycloak-url");
  if (v["entra-tenant"] !== undefined) return withoutIssuer(entra({ tenant: v["entra-tenant"] }), discovery);
  if (v["ping-tenant"] !== undefined) return withoutIssuer(pingAic({ tenant: v["ping-tenant"] }), discovery);
  if (v["token-endpoint"] !== undefined) return { tokenEndpoint: v["token-endpoint"], ...discovery };
  return discovery;
}

/** A preset without its issuer (the presets give the token endpoint, and
 * jwt-bearer's `issuer` option is the assertion's iss), plus `discovery`. */
function withoutIssuer(preset, discovery) {
  const { issuer: _issuer, ...rest } = preset;
  return { ...rest, ...discovery };
}

function flowOptions(v) {
  const options = {};
  if (v.scope) options.scope = v.scope;
  if (v.param) {
    const params = {};
    for (const pair of v.param) {
      const eq = pair.indexOf("=");
      // The value is not echoed: it may be a secret.
      if (eq <= 0) throw new UsageError("--param takes NAME=VALUE");
      const [name, value] = [pair.slice(0, eq), pair.slice(eq + 1)];
      params[name] = name in params ? [].concat(params[name], value) : value;
    }
    options.extraParams = params;
  }
  if (v.timeout !== undefined) {
    if (!/^[1-9][0-9]*$/.test(v.timeout)) throw new UsageError("--timeout takes a whole number of milliseconds");
    options.timeoutMs = Number(v.timeout);
  }
  if (v["allow-insecure-http"]) options.allowInsecureHttp = true;
  if (v.dpop) options.dpop = true;
  if (v.trace) options.onExchange = printExchange;
  return options;
}

/** --trace: one exchange on standard error, as the core masked it, then its
 * curl command. Every line is escaped for the terminal (a server's text). */
function printExchange(exchange) {
  const lines = [`> ${exchange.method} ${exchange.url}   [${exchange.label}]`];
  for (const [name, value] of exchange.requestHeaders) lines.push(`> ${name}: ${value}`);
  if (exchange.requestBody !== undefined) lines.push(">", `> ${exchange.requestBody}`);
  if (exchange.status === undefined) {
    lines.push(`< no response after ${exchange.durationMs} ms: ${exchange.error}`);
  } else {
    lines.push(`< HTTP ${exchange.status} after ${exchange.durationMs} ms`);
    for (const [name, value] of exchange.responseHeaders) lines.push(`< ${name}: ${value}`);
    if (exchange.responseBody !== undefined) lines.push("<", `< ${exchange.responseBody}`);
  }
  lines.push("# the same request with curl (set the variables first):", ...exchange.curl.split("\n"), "");
  process.stderr.write(lines.map((line) => terminalSafe(line, false)).join("\n") + "\n");
}

function required(v, name) {
  if (v[name] === undefined || v[name] === "") throw new UsageError(`--${name} is required`);
  return v[name];
}

/** An environment variable's name (POSIX: letters, digits, _; not a digit first). */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

let stdinTaken = false;

/** A secret from --NAME-env, --NAME-file or --NAME-stdin (exactly one). */
async function secret(v, name, { required: isRequired }) {
  const sources = ["env", "file", "stdin"].filter((s) => v[`${name}-${s}`] !== undefined && v[`${name}-${s}`] !== false);
  if (sources.length > 1) throw new UsageError(`give only one of --${name}-env, --${name}-file, --${name}-stdin`);
  if (sources.length === 0) {
    if (isRequired) throw new UsageError(`--${name}-env NAME, --${name}-file PATH or --${name}-stdin is required`);
    return undefined;
  }
  switch (sources[0]) {
    case "env": {
      const variable = v[`${name}-env`];
      // A value given where the NAME belongs may be the secret itself: it is
      // never printed (nor is the name, below).
      if (!ENV_NAME.test(variable)) {
        throw new UsageError(`--${name}-env takes the NAME of an environment variable (letters, digits and _), not its value`);
      }
      const value = process.env[variable];
      // Not even a well-formed name is printed: a random secret can look
      // like one.
      if (value === undefined) throw new UsageError(`the environment variable named by --${name}-env is not set`);
      return value;
    }
    case "file": {
      let content;
      try {
        content = readFileSync(v[`${name}-file`], "utf8");
      } catch (e) {
        throw new UsageError(`cannot read --${name}-file: ${e.code ?? e.message}`);
      }
      return stripOneNewline(content);
    }
    default:
      return stripOneNewline(await readStdin(name));
  }
}

async function readStdin(what) {
  if (stdinTaken) throw new UsageError("only one secret can come from standard input");
  stdinTaken = true;
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString("utf8");
  if (text === "") throw new UsageError(`standard input is empty; expected the ${what}`);
  return text;
}

/** Removes one trailing "\n" or "\r\n" (what `echo` and editors add), nothing else. */
function stripOneNewline(text) {
  if (text.endsWith("\r\n")) return text.slice(0, -2);
  if (text.endsWith("\n")) return text.slice(0, -1);
  return text;
}

function print(tokens, asJson) {
  // The access token is VSCHAR (checked by the core); raw may hold any text a
  // server sent, so the JSON has its unsafe characters escaped.
  process.stdout.write(asJson ? terminalSafe(JSON.stringify(tokens), true) + "\n" : tokens.access_token + "\n");
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    if (error instanceof UsageError) {
      process.stderr.write(`grantkit: ${terminalSafe(error.message, false)}\n`);
      process.exitCode = EXIT_OTHER;
    } else if (error?.name === "GrantkitError" && typeof error.error === "string") {
      // The server answered with an OAuth error: OAUTH_ERROR, or a device
      // flow's access_denied / expired_token.
      process.stderr.write(`grantkit: ${terminalSafe(error.error.slice(0, 100), false)}: ${error.message}\n`);
      process.exitCode = EXIT_OAUTH;
    } else if (error?.name === "GrantkitError") {
      // The core names the option at fault; the CLI says which flag that is.
      const flag = error.code === "INVALID_CONFIG" ? FLAG_OF_OPTION[error.field] : undefined;
      process.stderr.write(`grantkit: ${flag ? `${flag}: ` : ""}${error.code}: ${error.message}\n`);
      process.exitCode = EXIT_OTHER;
    } else {
      process.stderr.write(`grantkit: ${terminalSafe(String(error?.message ?? error).slice(0, 2000), false)}\n`);
      process.exitCode = EXIT_OTHER;
    }
  },
);
