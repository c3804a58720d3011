// grantkit token diagnostics: the page's wiring. Everything OAuth is the
// package's (loaded from ./grantkit/, served by `grantkit www`): the flows,
// their rules and errors, the masked exchange trace, authorizedFetch.
import { byId, copyButton, duration, fill, h } from "./dom.js";
import {
  FLOWS, PROVIDERS, errorDisplay, fieldOptions, flowFields, hintOf, inputOf, remember, renderFields, renderForm, restore, setValue, state,
} from "./form.js";
import { registerEndpoints, relayAvailable, relayFetch } from "./relay.js";
import { addExchange, clearTrace, oauthErrorOf } from "./trace.js";

const API_FIELDS = ["apiUrl", "apiMethod", "subscriptionKey", "apiCallerId", "apiBody"];
// The API box's field for each TokenSource option an error can name.
const API_FIELD_OF_OPTION = { allowedOrigins: "apiUrl", headers: "subscriptionKey", apiCallerId: "apiCallerId" };
const BODYLESS = new Set(["GET", "DELETE"]);
const MAX_SHOWN_BODY = 100_000;
// sessionStorage, while the browser is at the authorization server: that this
// tab began a sign-in, and whether with a client secret (never the secret).
const SIGN_IN_KEY = "grantkit-www-sign-in";
// Introspection members that are Unix times (RFC 7662 §2.2).
const TIMES = new Set(["exp", "iat", "nbf"]);

let grantkit;
/** The last successful run: its flow, its TokenSource, the in-memory store its token sits in, the tokens. */
let current;
/** The URL the authorization server sent the browser back to, while the client secret is typed again. */
let returnedUrl;
/** The run in progress: its AbortController and what the device panel needs. */
let running;
let expiryTimer;
let deviceTimer;
// Whether the user has typed in the API box (its errors show from then on).
let apiTouched = false;
// Fields whose derived value the user has typed over (derivation leaves them alone).
const edited = new Set();

const relayBox = byId("relay");
const dpopBox = byId("dpop");
const tokenErrors = errorDisplay(byId("token-form"), byId("form-error"), (error) => {
  if (error?.code === "INVALID_CONFIG") return inputOf(error.field);
  return /^KEY_/.test(error?.code ?? "") ? inputOf("key") : undefined;
});
const apiErrors = errorDisplay(byId("api-form"), byId("api-form-error"), (error) => (error?.code === "INVALID_CONFIG" ? inputOf(API_FIELD_OF_OPTION[error.field]) : undefined));

async function main() {
  try {
    grantkit = await import("./grantkit/index.url.js");
  } catch (error) {
    byId("form-error").textContent = `grantkit could not be loaded: ${error.message}`;
    byId("run").disabled = true;
    return;
  }
  const saved = restore();
  relayBox.disabled = !relayAvailable;
  relayBox.checked = relayAvailable && saved.relay === true;
  dpopBox.checked = saved.dpop === true;
  byId("relay-hint").textContent = relayAvailable
    ? "When on, grantkit www (on 127.0.0.1) makes the token requests instead of the browser, for servers that send no CORS headers. It forwards only to the endpoints of this run, over https (plain http to loopback only), follows no redirects and logs no bodies."
    : "Open this page with npx grantkit www to use the relay.";
  byId("user-code-line").append(...copyButton("Copy code", () => byId("user-code").textContent));

  byId("provider").addEventListener("change", (event) => {
    state.provider = event.target.value;
    if (!PROVIDERS[state.provider].flows.includes(state.flow)) state.flow = PROVIDERS[state.provider].flows[0];
    redraw();
    derive(PROVIDERS[state.provider].preset[0]);
  });
  byId("flow").addEventListener("change", (event) => {
    state.flow = event.target.value;
    redraw();
    derive("tokenEndpoint");
  });
  relayBox.addEventListener("change", changed);
  dpopBox.addEventListener("change", changed);
  byId("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    getToken();
  });
  byId("cancel").addEventListener("click", () => running?.controller.abort());
  byId("discover").addEventListener("click", discoverEndpoints);
  byId("introspect").addEventListener("click", introspectToken);
  byId("revoke").addEventListener("click", revokeTokens);
  byId("api-form").addEventListener("submit", (event) => {
    event.preventDefault();
    callApi();
  });
  const callback = takeCallback();
  if (callback) {
    state.provider = "generic";
    state.flow = "authorizationCode";
  }
  // The page is its own redirect target unless the user says otherwise.
  state.values.redirectUri ||= location.origin + location.pathname;
  redraw();
  renderFields(byId("api-fields"), API_FIELDS, apiChanged);
  showBodyField();
  if (!callback) return;
  returnedUrl = callback.url;
  runLabel();
  if (callback.waitForSecret) {
    signInNote("The authorization server sent you back. Type the client secret again (it is never stored), then press Complete sign-in.");
    inputOf("clientSecret")?.focus();
  } else {
    getToken();
  }
}

function redraw() {
  tokenErrors.clear();
  renderForm(onField);
  // Discovery fills the endpoints of "Any OAuth server" (the presets derive theirs).
  byId("discovery").hidden = state.provider !== "generic";
  byId("dpop-field").hidden = !dpopOffered();
  runLabel();
  changed();
}

/** The run button says what it does: Get token, Sign in, or Complete sign-in. */
function runLabel() {
  const signIn = state.flow === "authorizationCode";
  byId("run").textContent = !signIn ? "Get token" : returnedUrl ? "Complete sign-in" : "Sign in";
}

function signInNote(text) {
  byId("sign-in-note").textContent = text;
}

function onField(name) {
  state.touched = true;
  if (name === "tokenEndpoint" || name === "deviceAuthorizationEndpoint") edited.add(name);
  derive(name);
  changed();
}

/** After any change: remember the non-secret settings, check the form. */
function changed() {
  remember(switches());
  validate();
}

/** The page's own settings, remembered with the form's fields. */
function switches() {
  return { relay: relayBox.checked, dpop: dpopBox.checked };
}

/** Whether the current flow takes the dpop option. */
function dpopOffered() {
  return FLOWS[state.flow].dpop === true;
}

// ---------------------------------------------------------------------------
// Building the flow: the core checks everything.

/** The preset of the provider, from its fields: `{ provider, tokenEndpoint }` (ACP: `{ platformUrl }`). */
function preset() {
  const { provider } = state;
  const fields = fieldOptions(PROVIDERS[provider].preset);
  switch (provider) {
    case "keycloak": return grantkit.keycloak(fields);
    case "entra": return grantkit.entra(fields);
    case "pingAic": return grantkit.pingAic(fields);
    case "acp": return grantkit.acp(fields);
    default: return grantkit.generic(fieldOptions(["tokenEndpoint"]));
  }
}

/** The flow's options from the form (plus `extra`); throws grantkit's error. */
function flowOptions(extra = {}) {
  const options = fieldOptions(flowFields());
  const { provider, platformUrl } = preset();
  // The ACP preset checks the platform URL; AcpLogin takes no provider.
  if (state.provider === "acp") options.platformUrl = platformUrl;
  else options.provider = provider;
  if (state.flow === "device") options.onPrompt = () => {};
  if (relayBox.checked) options.fetch = relayFetch;
  if (dpopBox.checked && dpopOffered()) options.dpop = true;
  return { ...options, ...extra };
}

function makeFlow(extra) {
  return new grantkit[FLOWS[state.flow].className](flowOptions(extra));
}

/** Checks the form by building the flow; shows the core's error once the user has typed. */
function validate() {
  try {
    makeFlow().free();
    tokenErrors.clear();
    return true;
  } catch (error) {
    if (state.touched) showFormError(error);
    return false;
  }
}

function showFormError(error) {
  const input = tokenErrors.show(error);
  if (error?.code === "ACP_CROSS_ORIGIN") {
    byId("form-error").append(h("span", { className: "advice" }, relayAvailable ? " Turn on the relay below." : " Open this page with npx grantkit www and turn on its relay."));
  }
  return input;
}

/**
 * Fills the endpoints grantkit derives: the token endpoint from the
 * provider's preset fields, the device authorization endpoint from what
 * the device flow would call (asked of grantkit itself, with a fetch that
 * sends nothing). A field the user typed over is left alone.
 */
async function derive(name) {
  if (PROVIDERS[state.provider].preset.includes(name) && state.provider !== "acp") {
    edited.delete("tokenEndpoint");
    try {
      setValue("tokenEndpoint", preset().tokenEndpoint);
    } catch {
      // the preset's fields are not complete yet: validate() says what is wrong
    }
  }
  if (state.flow !== "device" || edited.has("deviceAuthorizationEndpoint") || name === "deviceAuthorizationEndpoint") return;
  const hint = hintOf("deviceAuthorizationEndpoint");
  let called;
  try {
    // Only the endpoint matters here: any client id will do.
    const probe = new grantkit.DeviceAuthorization({
      provider: preset().provider,
      tokenEndpoint: state.values.tokenEndpoint ?? "",
      clientId: "probe",
      onPrompt: () => {},
      fetch: (url) => {
        called = String(url);
        return Promise.reject(new TypeError("not sent"));
      },
    });
    await probe.getToken().catch(() => {});
    probe.free();
  } catch {
    called = undefined;
  }
  if (edited.has("deviceAuthorizationEndpoint") || state.flow !== "device") return;
  setValue("deviceAuthorizationEndpoint", called ?? "");
  if (hint) hint.textContent = called ? "Derived by grantkit from the token endpoint; you may edit it." : "";
  changed();
}

/**
 * Reads the issuer's metadata with grantkit's discover() (its checks, its
 * errors) and fills the endpoints (and the JWKS URI) it names; lists them.
 */
async function discoverEndpoints() {
  const issuer = byId("discover-issuer").value.trim();
  const error = byId("discover-error");
  fill(error);
  fill(byId("discovered"));
  let endpoints;
  try {
    endpoints = await grantkit.discover({ issuer, onExchange });
  } catch (failure) {
    fill(error, `${failure?.code ?? "ERROR"}: ${failure?.message ?? failure}`);
    return;
  }
  const names = {
    tokenEndpoint: "Token endpoint",
    deviceAuthorizationEndpoint: "Device authorization endpoint",
    authorizationEndpoint: "Authorization endpoint",
    revocationEndpoint: "Revocation endpoint",
    introspectionEndpoint: "Introspection endpoint",
    jwksUri: "JWKS URI",
  };
  fill(byId("discovered"), Object.entries(names)
    .filter(([name]) => endpoints[name])
    .flatMap(([name, label]) => [h("dt", {}, label), h("dd", {}, endpoints[name])]));
  for (const name of Object.keys(names)) {
    if (!endpoints[name]) continue;
    setValue(name, endpoints[name]);
    edited.add(name);
  }
  // The issuer the sign-in's redirect and ID token must name.
  setValue("loginIssuer", endpoints.issuer);
  changed();
}

// ---------------------------------------------------------------------------
// Getting a token.

async function getToken() {
  if (running) return;
  state.touched = true;
  const signingIn = state.flow === "authorizationCode";
  if (signingIn && !returnedUrl) {
    signIn();
    return;
  }
  let flow;
  try {
    flow = makeFlow({ onExchange, ...(state.flow === "device" ? { onPrompt: showDevicePrompt } : {}) });
  } catch (error) {
    showFormError(error)?.focus();
    return;
  }
  tokenErrors.clear();
  resetResults();
  const viaRelay = relayBox.checked;
  running = { controller: new AbortController(), polls: 0, viaRelay, failedUrl: undefined };
  setRunning(true, signingIn ? "Completing the sign-in…" : "Getting a token…");
  const started = performance.now();
  try {
    if (viaRelay) await registerEndpoints(endpointsOfRun());
    const store = memoryStore();
    let source;
    let tokens;
    if (signingIn) {
      // The code is good once: whatever happens, it is not sent again.
      const url = returnedUrl;
      returnedUrl = undefined;
      signInNote("");
      runLabel();
      tokens = await flow.complete(url);
      source = new grantkit.TokenSource(flow, { store });
    } else {
      source = new grantkit.TokenSource(flow, { store });
      tokens = await source.getToken({ signal: running.controller.signal });
    }
    current = { flow, source, store, tokens };
    showToken(tokens);
    byId("run-status").textContent = `Token received in ${Math.round(performance.now() - started)} ms.`;
    deviceStatus("Approved: the token is below.");
  } catch (error) {
    byId("run-status").textContent = error?.code === "ABORTED" ? "Cancelled." : "Failed.";
    deviceStatus(error?.code === "ABORTED" ? "Cancelled: polling stopped." : "The device flow ended without a token.");
    showProblem(error, running, signingIn ? "The sign-in failed" : undefined);
  } finally {
    clearInterval(deviceTimer);
    setRunning(false);
    running = undefined;
  }
}

/** What the relay may forward to in this run: the endpoints of the form the flow uses. */
function endpointsOfRun() {
  if (state.provider === "acp") return { prefixes: [preset().platformUrl] };
  const { tokenEndpoint, deviceAuthorizationEndpoint, jwksUri, revocationEndpoint, introspectionEndpoint } = state.values;
  const used = [
    state.flow === "device" && deviceAuthorizationEndpoint,
    state.flow === "authorizationCode" && jwksUri,
    state.provider === "generic" && revocationEndpoint,
    state.provider === "generic" && introspectionEndpoint,
  ];
  return { endpoints: [tokenEndpoint, ...used.filter(Boolean)] };
}

// ---------------------------------------------------------------------------
// Signing in: the authorization code flow, with this page as the redirect target.

/**
 * Sends the browser to the authorization server. grantkit keeps the pending
 * login (state, PKCE verifier, nonce) in sessionStorage; the form's
 * non-secret fields are in localStorage already; a secret stays behind.
 */
async function signIn() {
  let login;
  try {
    login = makeFlow();
  } catch (error) {
    showFormError(error)?.focus();
    return;
  }
  tokenErrors.clear();
  resetResults();
  try {
    const url = await login.authorizationUrl();
    sessionStorage.setItem(SIGN_IN_KEY, JSON.stringify({ withSecret: Boolean(state.values.clientSecret) }));
    remember(switches());
    byId("run-status").textContent = "Going to the authorization server…";
    location.assign(url);
  } catch (error) {
    showProblem(error, {}, "The sign-in failed");
  } finally {
    login.free();
  }
}

/**
 * The authorization response in the address, if the page was loaded with
 * one: `{ url, waitForSecret }`. The address bar forgets it at once (a
 * reload must not send the code again). Without this tab's sign-in mark,
 * complete() still runs, and grantkit says there is no pending login.
 */
function takeCallback() {
  const query = new URLSearchParams(location.search);
  if (!["code", "state", "error"].some((name) => query.has(name))) return undefined;
  const url = location.href;
  history.replaceState(null, "", location.origin + location.pathname);
  let mark;
  try {
    mark = JSON.parse(sessionStorage.getItem(SIGN_IN_KEY) ?? "null");
  } catch {
    mark = null;
  }
  sessionStorage.removeItem(SIGN_IN_KEY);
  // An error answer needs no secret: complete() reports it without a request.
  return { url, waitForSecret: mark?.withSecret === true && !query.has("error") };
}

/** A TokenSource store that lives in this page's memory only (the API box reads the run's token from it). */
function memoryStore() {
  const entries = new Map();
  return { get: (key) => entries.get(key), set: (key, value) => { entries.set(key, value); } };
}

function onExchange(exchange) {
  addExchange(exchange);
  if (running && exchange.status === undefined) running.failedUrl = exchange.url;
  if (running && exchange.label === "token poll") {
    running.polls += 1;
    deviceStatus(`Polling: answer ${running.polls} was ${pollAnswer(exchange)}.`);
  }
}

function pollAnswer(exchange) {
  if (exchange.status === undefined) return `no response (${exchange.error ?? "unknown"})`;
  return oauthErrorOf(exchange) ?? `HTTP ${exchange.status}`;
}

function setRunning(on, status) {
  byId("run").disabled = on;
  byId("cancel").hidden = !on;
  if (status) byId("run-status").textContent = status;
}

function resetResults() {
  clearTrace();
  clearInterval(expiryTimer);
  clearInterval(deviceTimer);
  for (const id of ["device", "problem", "token"]) byId(id).hidden = true;
  current = undefined;
  tokenAction("");
  fill(byId("introspection"));
}

function showDevicePrompt(prompt) {
  const link = byId("device-link");
  const target = prompt.verification_uri_complete ?? prompt.verification_uri;
  // grantkit accepts only absolute https URLs (http on loopback) here; checked again before it becomes a link.
  link.href = /^https?:$/.test(new URL(target).protocol) ? target : "about:blank";
  link.textContent = prompt.verification_uri;
  byId("user-code").textContent = prompt.user_code;
  byId("device").hidden = false;
  const ends = Date.now() + prompt.expires_in * 1000;
  const tick = () => {
    const left = Math.max(0, Math.round((ends - Date.now()) / 1000));
    byId("device-expiry").textContent = left ? `The code expires in ${duration(left)}.` : "The code has expired.";
  };
  tick();
  deviceTimer = setInterval(tick, 1000);
  deviceStatus("Waiting for approval…");
}

function deviceStatus(text) {
  if (!byId("device").hidden) byId("device-status").textContent = text;
}

// ---------------------------------------------------------------------------
// The token.

/** A JWT's header and claims, or undefined when it is not one. */
function decodeJwt(token) {
  try {
    return grantkit.decodeJwt(token);
  } catch {
    return undefined;
  }
}

function showToken(tokens) {
  const decoded = decodeJwt(tokens.access_token);
  const idToken = tokens.id_token ? decodeJwt(tokens.id_token) : undefined;
  const length = tokens.access_token.length.toLocaleString("en");
  fill(byId("token-summary"), `${decoded ? "a JWT" : "an opaque token"} of ${length} characters (not shown) `, ...copyButton("Copy token", () => tokens.access_token));
  byId("token-type").textContent = tokens.token_type === "DPoP"
    ? "DPoP: bound to this page's key pair (usable only with a proof signed by that key)"
    : tokens.token_type;
  byId("token-scope").textContent = tokens.scope ?? "(the server did not say)";
  byId("token-refresh").textContent = tokens.refresh_token ? "issued (not shown)" : "none";
  byId("token-id").textContent = tokens.id_token ? "issued (not shown)" : "none";
  byId("token-actions").hidden = state.provider === "acp"; // the ACP login has neither endpoint
  const expiry = byId("token-expiry");
  if (tokens.expires_at === undefined) {
    expiry.textContent = "unknown: the server sent no lifetime";
  } else {
    const at = new Date(tokens.expires_at * 1000).toLocaleTimeString("en-GB");
    const tick = () => {
      const left = tokens.expires_at - Math.floor(Date.now() / 1000);
      expiry.textContent = left > 0 ? `in ${duration(left)} (at ${at})` : `expired ${duration(-left)} ago (at ${at})`;
    };
    tick();
    expiryTimer = setInterval(tick, 1000);
  }
  fill(
    byId("token-decoded"),
    decoded
      ? [h("h3", {}, "Header"), h("pre", { id: "jwt-header" }, JSON.stringify(decoded.header, null, 2)), h("h3", {}, "Claims"), h("pre", { id: "jwt-claims" }, JSON.stringify(decoded.claims, null, 2))]
      : [h("p", { id: "jwt-opaque" }, "Opaque token: not a JWT, so there is nothing to decode. Only the server that issued it can say what it means.")],
    // (complete() has verified a sign-in's ID token: signature, iss, aud, nonce, times.)
    idToken ? [h("h3", {}, "ID token claims"), h("pre", { id: "id-token-claims" }, JSON.stringify(idToken.claims, null, 2))] : [],
  );
  byId("token").hidden = false;
  validateApi();
}

// ---------------------------------------------------------------------------
// Revoke and introspect the run's tokens, through its TokenSource.

/** Asks the introspection endpoint about the access token (RFC 7662) and lists what it says. */
async function introspectToken() {
  if (!current) return;
  const { source, tokens } = current;
  fill(byId("introspection"));
  tokenAction("Asking the introspection endpoint…");
  try {
    const answer = await source.introspect(tokens.access_token);
    fill(byId("introspection"), Object.entries(answer).flatMap(([name, value]) => [h("dt", {}, name), h("dd", {}, masked(member(name, value)))]));
    tokenAction(`The server says the access token is ${answer.active ? "active" : "not active"}.`);
  } catch (error) {
    tokenAction("", error);
  }
}

/** One introspection member as text (a Unix time with its date). */
function member(name, value) {
  if (TIMES.has(name) && Number.isSafeInteger(value)) return `${value} (${new Date(value * 1000).toISOString()})`;
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** Revokes the run's tokens (RFC 7009): grantkit sends the refresh token first, then the access token. */
async function revokeTokens() {
  if (!current) return;
  const { source, tokens } = current;
  fill(byId("introspection"));
  tokenAction("Revoking…");
  try {
    await source.revoke(tokens);
    tokenAction(`Revoked: the server accepted ${tokens.refresh_token ? "the refresh token, then the access token" : "the access token"}.`);
  } catch (error) {
    tokenAction("", error);
  }
}

/** The outcome of Revoke or Introspect: a status, or grantkit's error with its code. */
function tokenAction(status, error) {
  byId("token-action-status").textContent = status;
  byId("token-action-error").textContent = error ? `${error.code ?? error.name}: ${error.message ?? error}` : "";
}

// ---------------------------------------------------------------------------
// Failures, in words.

function showProblem(error, run, title = "The token request failed") {
  byId("problem-title").textContent = error?.code === "ABORTED" ? "Cancelled" : title;
  const code = [error?.code ?? error?.name, error?.status ? `HTTP ${error.status}` : undefined, error?.error].filter(Boolean).join(" · ");
  byId("problem-code").textContent = code;
  byId("problem-message").textContent = error?.message ?? String(error);
  const explanation = [];
  if (error?.code === "OAUTH_ERROR" && error?.error === "access_denied" && error?.status === undefined) {
    explanation.push(h("p", {}, "The authorization server sent the browser back without a code: the sign-in or the consent was declined."));
  }
  if (error?.error_description) explanation.push(h("p", {}, "The server says: ", h("q", {}, error.error_description)));
  if (error?.code === "NETWORK_ERROR" && !run.viaRelay && crossOrigin(run.failedUrl ?? state.values.tokenEndpoint)) {
    explanation.push(...corsExplanation());
  }
  if (error?.error === "use_dpop_nonce" && !run.viaRelay) explanation.push(...nonceExplanation());
  fill(byId("problem-explanation"), explanation);
  byId("problem").hidden = false;
  byId("problem-title").focus();
}

function crossOrigin(url) {
  try {
    return new URL(url).origin !== location.origin;
  } catch {
    return false;
  }
}

function corsExplanation() {
  const parts = [
    h("p", { id: "cors-explanation" }, "The browser got no answer it may show this page. Most often the endpoint sent no CORS headers (Access-Control-Allow-Origin for this page's origin), so the browser blocked the request; it may also be unreachable. Identity providers commonly do this for clients that are not meant for browsers: Keycloak sends no CORS headers for a client with only service accounts enabled (and no Web origins), and Microsoft Entra ID refuses cross-origin token requests for app registrations that are not single-page applications (AADSTS9002326)."),
  ];
  if (relayAvailable) {
    parts.push(h("p", {}, "The local relay of grantkit www makes the request from this machine, where CORS does not apply. The curl command in the trace below does the same from a terminal."), relayRetryButton());
  } else {
    parts.push(h("p", {}, "Open this page with npx grantkit www: its local relay makes the request from this machine, where CORS does not apply. The curl command in the trace below does the same from a terminal."));
  }
  return parts;
}

/**
 * A nonce demand the page could not answer: grantkit retries with the
 * server's DPoP-Nonce header, which a browser shows a page only when the
 * server lists it in Access-Control-Expose-Headers (RFC 9449 §8).
 */
function nonceExplanation() {
  return [
    h("p", { id: "nonce-explanation" }, "The server demanded a DPoP nonce, but the browser did not let this page read it: for browser clients the server must list DPoP-Nonce in Access-Control-Expose-Headers (RFC 9449 §8). "
      + (relayAvailable ? "The local relay reads every header." : "The local relay of npx grantkit www reads every header.")),
    relayAvailable ? relayRetryButton() : undefined,
  ];
}

/** A button that turns the relay on and runs again. */
function relayRetryButton() {
  const retry = h("button", { type: "button", id: "retry-relay" }, "Retry through the relay");
  retry.addEventListener("click", () => {
    relayBox.checked = true;
    changed();
    getToken();
  });
  return retry;
}

// ---------------------------------------------------------------------------
// Calling an API with the token.

function apiChanged(name) {
  apiTouched = true;
  if (name === "apiMethod") showBodyField();
  remember(switches());
  validateApi();
}

function showBodyField() {
  document.querySelector('[data-field="apiBody"]').hidden = BODYLESS.has(state.values.apiMethod);
}

/** A TokenSource for the API box over the run's flow and store (so the run's token is used). */
function apiSource() {
  const url = state.values.apiUrl ?? "";
  let origin;
  try {
    origin = new URL(url).origin;
  } catch {
    origin = url; // grantkit names what is wrong with it
  }
  const { subscriptionKey, apiCallerId } = state.values;
  return new grantkit.TokenSource(current.flow, {
    store: current.store,
    allowedOrigins: [origin],
    headers: subscriptionKey ? { "Ocp-Apim-Subscription-Key": subscriptionKey } : {},
    ...(apiCallerId ? { apiCallerId } : {}),
    onExchange: addExchange,
  });
}

function validateApi() {
  if (!current) return;
  try {
    apiSource().free();
    apiErrors.clear();
  } catch (error) {
    if (apiTouched) apiErrors.show(error);
  }
}

async function callApi() {
  if (!current) {
    apiErrors.show(new Error("Get a token first."));
    return;
  }
  let source;
  try {
    source = apiSource();
  } catch (error) {
    apiErrors.show(error)?.focus();
    return;
  }
  apiErrors.clear();
  const method = state.values.apiMethod;
  const init = { method, ...(BODYLESS.has(method) || !state.values.apiBody ? {} : { body: state.values.apiBody }) };
  const status = byId("api-status");
  status.textContent = "Sending…";
  byId("api-response").hidden = true;
  try {
    const started = performance.now();
    const response = await source.authorizedFetch(state.values.apiUrl, init);
    const text = await response.text();
    byId("api-response-status").textContent = `HTTP ${response.status} ${response.statusText} in ${Math.round(performance.now() - started)} ms`;
    byId("api-response-headers").textContent = masked([...response.headers].map(([name, value]) => `${name}: ${value}`).join("\n"));
    byId("api-response-body").textContent = masked(pretty(text));
    byId("api-response").hidden = false;
    status.textContent = "Done.";
  } catch (error) {
    status.textContent = "Failed.";
    apiErrors.show(error);
    if (error?.code === "NETWORK_ERROR") {
      byId("api-form-error").append(" The API sent no CORS headers for this page's origin, or it cannot be reached. The relay carries token requests only.");
    }
  }
}

function pretty(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2).slice(0, MAX_SHOWN_BODY);
  } catch {
    return text.slice(0, MAX_SHOWN_BODY);
  }
}

/** Text with every secret of this page (typed or received) replaced by ••••, in case an API echoes one. */
function masked(text) {
  const secrets = [state.values.clientSecret, state.values.password, state.values.subscriptionKey, current?.tokens.access_token, current?.tokens.refresh_token, current?.tokens.id_token];
  return secrets.filter((secret) => typeof secret === "string" && secret.length >= 4).reduce((out, secret) => out.split(secret).join("••••"), text);
}

main();
