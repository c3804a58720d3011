// The token form: which fields each provider and flow take, their values
// (secrets in memory only), and the core's errors shown next to the field
// they name. The rules themselves are grantkit's: the page builds the flow
// object on every change and shows what the constructor says.
import { byId, fill, h } from "./dom.js";

/** The providers, the fields of their preset, and the flows they offer. */
export const PROVIDERS = {
  keycloak: { name: "Keycloak", preset: ["baseUrl", "realm"], flows: ["clientCredentials", "password", "device"] },
  entra: { name: "Microsoft Entra ID", preset: ["tenant"], flows: ["clientCredentials", "password", "device"] },
  pingAic: { name: "PingOne Advanced Identity Cloud", preset: ["tenant"], flows: ["jwtBearer"] },
  acp: { name: "Alauda ACP", preset: ["platformUrl"], flows: ["acp"] },
  generic: { name: "Any OAuth server", preset: [], flows: ["clientCredentials", "password", "jwtBearer", "device", "authorizationCode"] },
};

/**
 * The flows: the class that runs each and its fields, in form order. `dpop`:
 * the class takes the dpop option (AcpLogin does not: the ACP console's
 * callback, not grantkit, makes its token request).
 */
export const FLOWS = {
  clientCredentials: { name: "Client credentials", className: "ClientCredentials", dpop: true, fields: ["tokenEndpoint", "clientId", "clientSecret", "clientAuth", "scope"] },
  password: { name: "Password (resource owner)", className: "PasswordGrant", dpop: true, fields: ["tokenEndpoint", "clientId", "clientSecret", "username", "password", "scope"] },
  jwtBearer: { name: "JWT bearer with a key file", className: "JwtBearer", dpop: true, fields: ["tokenEndpoint", "key", "issuer", "subject", "audience", "clientId", "scope"] },
  device: { name: "Device authorization", className: "DeviceAuthorization", dpop: true, fields: ["tokenEndpoint", "deviceAuthorizationEndpoint", "clientId", "clientSecret", "scope"] },
  acp: { name: "ACP login", className: "AcpLogin", fields: ["username", "password", "idp"] },
  authorizationCode: {
    name: "Authorization code (PKCE)",
    className: "AuthorizationCode",
    dpop: true,
    help: "Sign in sends the browser to the authorization server, which sends it back to this page with a code; the page exchanges it. "
      + "Meanwhile grantkit keeps the pending login (state, PKCE verifier, nonce) in this tab's sessionStorage, and removes it when used; "
      + "the page then removes the code from the address bar, so a reload does not send it again. The fields below and the DPoP and relay switches survive the trip; a client secret does not.",
    fields: ["authorizationEndpoint", "tokenEndpoint", "clientId", "clientSecret", "redirectUri", "scope", "loginIssuer", "jwksUri"],
  },
};

// The endpoints of Revoke and Introspect: the presets derive theirs (Entra
// and ACP have none), so only "Any OAuth server" asks for them.
const TOKEN_CLIENT_FIELDS = ["revocationEndpoint", "introspectionEndpoint"];

// Every field, named after the option it gives (or `option`). `secret`: kept
// in memory only (never remembered); `hint` may depend on the provider and flow.
const FIELDS = {
  baseUrl: { label: "Base URL", type: "url", hint: () => "The Keycloak server, e.g. https://sso.example.com" },
  realm: { label: "Realm" },
  tenant: {
    label: "Tenant",
    hint: ({ provider }) => (provider === "entra"
      ? "Tenant ID or domain, e.g. contoso.onmicrosoft.com"
      : "The tenant's host name, e.g. openam-acme.forgeblocks.com"),
  },
  platformUrl: { label: "Platform URL", type: "url", hint: () => "e.g. https://acp.example.com" },
  tokenEndpoint: {
    label: "Token endpoint",
    type: "url",
    hint: ({ provider }) => (PROVIDERS[provider].preset.length ? "Derived from the fields above; you may edit it." : undefined),
  },
  deviceAuthorizationEndpoint: { label: "Device authorization endpoint", type: "url", hint: () => "" },
  clientId: { label: "Client ID", hint: ({ flow }) => (flow === "jwtBearer" ? "Optional: sent as client_id." : undefined) },
  clientSecret: {
    label: "Client secret",
    type: "password",
    secret: true,
    hint: ({ flow }) => {
      if (flow === "clientCredentials") return undefined;
      if (flow === "authorizationCode") return "Optional: leave empty for a public client. It is never stored: after the sign-in, type it again.";
      return "Optional: leave empty for a public client.";
    },
  },
  clientAuth: {
    label: "Client authentication",
    choices: [
      ["basic", "HTTP Basic header (client_secret_basic)"],
      ["post", "In the form body (client_secret_post)"],
      ["client_secret_jwt", "A JWT signed with the secret (client_secret_jwt)"],
    ],
  },
  scope: { label: "Scope", hint: () => "Space-separated scope values." },
  username: { label: "Username", autocomplete: "username" },
  password: { label: "Password", type: "password", secret: true },
  key: { label: "Private key file", type: "file", secret: true, hint: () => "A JWK (key.jwk) or PEM file. It is read in this page and never uploaded." },
  issuer: { label: "Service account ID", hint: () => "The assertion's iss (and sub, unless Subject is given)." },
  subject: { label: "Subject", hint: () => "Optional: the assertion's sub." },
  audience: { label: "Audience", hint: () => "Optional: the assertion's aud (default: the token endpoint exactly)." },
  authorizationEndpoint: { label: "Authorization endpoint", type: "url", hint: () => "Where Sign in sends the browser." },
  redirectUri: { label: "Redirect URI", type: "url", hint: () => "Where the server sends the browser back: this page, by default. Register it with the client." },
  loginIssuer: {
    label: "Issuer of the ID token",
    option: "issuer",
    type: "url",
    hint: () => "Needed with the openid scope: the iss the redirect and the ID token must name, exactly. Discover endpoints fills it.",
  },
  jwksUri: { label: "JWKS URI", type: "url", hint: () => "With the openid scope: the issuer's keys, which verify the ID token (its metadata's jwks_uri). Left empty, grantkit reads it from the issuer's metadata." },
  revocationEndpoint: { label: "Revocation endpoint", type: "url", hint: () => "Optional: for Revoke (RFC 7009). Discover endpoints fills it." },
  introspectionEndpoint: { label: "Introspection endpoint", type: "url", hint: () => "Optional: for Introspect (RFC 7662). Discover endpoints fills it." },
  idp: { label: "Connector", choices: [["local", "local"], ["ldap", "ldap"], ["oidc", "oidc"]] },
  // The "call an API" box.
  apiUrl: { label: "API URL", type: "url", hint: () => "The token may be sent to this URL's origin only." },
  apiMethod: { label: "Method", choices: ["GET", "POST", "PUT", "PATCH", "DELETE"].map((m) => [m, m]) },
  subscriptionKey: { label: "Subscription key", type: "password", secret: true, hint: () => "Optional: sent as Ocp-Apim-Subscription-Key." },
  apiCallerId: { label: "Caller ID", type: "email", hint: () => "Optional: sent as x-api-caller-id (the e-mail the call is attributed to)." },
  apiBody: { label: "Request body", multiline: true, secret: true },
};

// Fields whose values may be remembered in localStorage (never a secret).
const REMEMBERED = Object.keys(FIELDS).filter((name) => !FIELDS[name].secret);
const STORAGE_KEY = "grantkit-www";

/** The form's state: the choices and every value typed (secrets too, in memory only). */
export const state = {
  provider: "keycloak",
  flow: "clientCredentials",
  values: { clientAuth: "basic", idp: "local", apiMethod: "GET" },
  keyFileName: "",
  touched: false,
};

export function restore() {
  let saved;
  try {
    saved = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? "{}");
  } catch {
    saved = {};
  }
  if (Object.hasOwn(PROVIDERS, saved.provider)) state.provider = saved.provider;
  if (PROVIDERS[state.provider].flows.includes(saved.flow)) state.flow = saved.flow;
  else state.flow = PROVIDERS[state.provider].flows[0];
  for (const name of REMEMBERED) {
    if (typeof saved.values?.[name] === "string") state.values[name] = saved.values[name];
  }
  return saved;
}

/** Remembers the choices and the non-secret values (and `extra` settings). */
export function remember(extra) {
  const values = Object.fromEntries(REMEMBERED.filter((name) => state.values[name]).map((name) => [name, state.values[name]]));
  localStorage.setItem(STORAGE_KEY, JSON.stringify({ provider: state.provider, flow: state.flow, values, ...extra }));
}

/** The fields of the current flow, in order (after the provider's preset fields). */
export function flowFields() {
  const tokenClient = state.provider === "generic" ? TOKEN_CLIENT_FIELDS : [];
  return [...FLOWS[state.flow].fields, ...tokenClient];
}

/** The fields of the current provider and flow, in order. */
function visibleFields() {
  return [...PROVIDERS[state.provider].preset, ...flowFields()];
}

/**
 * Draws the provider and flow pickers and the fields; `onInput(name)` is
 * called after each change of a field's value.
 */
export function renderForm(onInput) {
  const providerSelect = byId("provider");
  const flowSelect = byId("flow");
  fill(providerSelect, Object.entries(PROVIDERS).map(([id, p]) => h("option", { value: id, selected: id === state.provider }, p.name)));
  fill(flowSelect, PROVIDERS[state.provider].flows.map((id) => h("option", { value: id, selected: id === state.flow }, FLOWS[id].name)));
  byId("flow-hint").textContent = FLOWS[state.flow].help ?? "";
  renderFields(byId("fields"), visibleFields(), onInput);
}

/** Draws the fields `names` into `container`, each with its label, hint and error line. */
export function renderFields(container, names, onInput) {
  fill(container, names.map((name) => field(name, onInput)));
}

function field(name, onInput) {
  const spec = FIELDS[name];
  const id = `f-${name}`;
  const hint = spec.hint?.({ provider: state.provider, flow: state.flow });
  const loaded = spec.type === "file" && state.keyFileName ? `Loaded: ${state.keyFileName}. ` : "";
  const hasHint = hint !== undefined || spec.type === "file";
  const described = [hasHint ? `${id}-hint` : undefined, `${id}-error`].filter(Boolean).join(" ");
  let input;
  if (spec.choices) {
    input = h("select", { id, name, "aria-describedby": described }, spec.choices.map(([value, text]) => h("option", { value, selected: state.values[name] === value }, text)));
  } else if (spec.multiline) {
    input = h("textarea", { id, name, value: state.values[name] ?? "", spellcheck: false, "aria-describedby": described });
  } else if (spec.type === "file") {
    input = h("input", { id, name, type: "file", "aria-describedby": described });
  } else {
    input = h("input", {
      id,
      name,
      type: spec.type ?? "text",
      value: state.values[name] ?? "",
      autocomplete: spec.secret ? "off" : (spec.autocomplete ?? "off"),
      spellcheck: false,
      "aria-describedby": described,
    });
  }
  if (spec.type === "file") {
    input.addEventListener("change", () => readKeyFile(input, name, onInput));
  } else {
    input.addEventListener("input", () => {
      state.values[name] = input.value;
      onInput(name);
    });
  }
  return h(
    "div",
    { className: "field", "data-field": name },
    h("label", { for: id }, spec.label),
    input,
    hasHint ? h("p", { className: "hint", id: `${id}-hint` }, spec.type === "file" ? h("span", {}, loaded) : undefined, hint ?? "") : undefined,
    h("p", { className: "error", id: `${id}-error` }),
  );
}

/** Reads the chosen key file in the page (FileReader): it is never uploaded. */
function readKeyFile(input, name, onInput) {
  const [file] = input.files;
  if (!file) return;
  const reader = new FileReader();
  reader.onload = () => {
    state.values[name] = String(reader.result);
    state.keyFileName = file.name;
    const hint = byId(`f-${name}-hint`);
    if (hint) hint.firstChild.textContent = `Loaded: ${file.name}. `;
    onInput(name);
  };
  reader.readAsText(file);
}

/** Sets a field's value as if typed (a derived endpoint). */
export function setValue(name, value) {
  state.values[name] = value;
  const input = byId(`f-${name}`);
  if (input) input.value = value;
}

/** The hint element of a field, or undefined. */
export function hintOf(name) {
  return byId(`f-${name}-hint`) ?? undefined;
}

/** The option values of the fields `names`; empty ones are left out (grantkit says what is missing). */
export function fieldOptions(names) {
  const options = {};
  for (const name of names) {
    const value = state.values[name];
    if (value !== undefined && value !== "") options[FIELDS[name].option ?? name] = value;
  }
  return options;
}

/**
 * The error display of one form: an error of grantkit goes next to the
 * input `inputFor(error)` returns (its `-error` line), else into
 * `formError`. `show` returns that input, if any.
 */
export function errorDisplay(container, formError, inputFor) {
  const clear = () => {
    for (const element of container.querySelectorAll(".error")) element.textContent = "";
    for (const element of container.querySelectorAll("[aria-invalid]")) element.removeAttribute("aria-invalid");
    formError.textContent = "";
  };
  const show = (error) => {
    clear();
    const input = inputFor(error);
    if (input) {
      byId(`${input.id}-error`).textContent = error.message;
      input.setAttribute("aria-invalid", "true");
      return input;
    }
    formError.textContent = error?.message ?? String(error);
    return undefined;
  };
  return { clear, show };
}

/** The input of the shown field that gives option `name` (an error's `.field`), if any. */
export function inputOf(name) {
  if (name === undefined) return undefined;
  const field = visibleFields().find((f) => (FIELDS[f].option ?? f) === name) ?? name;
  return byId(`f-${field}`) ?? undefined;
}
