// The runtime matrix's one scenario, written once and run unchanged in every
// runtime (Node, Deno, Bun, workerd, a Chromium page, a Chromium module
// worker). It uses only fetch, WebCrypto (to count crypto.subtle sign and verify calls)
// and the exports of the installed grantkit package, handed in as `gk`.
//
// It talks to the harness (tests/matrix/run.mjs) over HTTP at `controlUrl`:
//   POST /params {runtime}                      -> the IdP URLs, clients, users, key
//   POST /begin  {runtime, step}                 the harness marks its request logs
//   POST /end    {runtime, step, observed, error} -> {pass, detail}: the harness
//        checks what the step saw against what the IdP and the resource
//        server recorded since /begin (tests/matrix/checks.mjs)
//   POST /device-prompt {runtime, prompt}        the harness approves the user code
//        through the IdP's pages (tests/idp/device_approve.mjs), in the background
//   POST /authorize {runtime, url}               -> {callbackUrl}: the harness plays the
//        browser at the authorization URL, through the IdP's login and consent pages
//        (tests/idp/browser_login.mjs), and answers the URL the IdP redirected to
// Steps report facts; every verdict is the harness's.

export const STEPS = Object.freeze([
  'client_credentials',
  'password',
  'jwt_bearer_rust',
  'jwt_bearer_webcrypto',
  'device',
  'token_source_single_flight',
  'authorized_fetch',
  'server_error',
  'discovery',
  'authorization_code',
  'dpop',
]);

// A step that takes longer fails (the device flow polls every second).
const STEP_TIMEOUT_MS = 30_000;

/** What an error exposes, as plain JSON. */
export function describeError(e) {
  if (e === null || typeof e !== 'object') return { isError: false, message: String(e) };
  const out = { isError: e instanceof Error, name: e.name, message: String(e.message) };
  for (const key of ['code', 'status', 'error', 'error_description', 'field', 'step']) {
    if (e[key] !== undefined) out[key] = e[key];
  }
  return out;
}

/** A token set as plain JSON (raw kept). */
function plain(tokens) {
  return JSON.parse(JSON.stringify(tokens));
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Count calls of crypto.subtle[method] ("sign", "verify") while fn runs (on
 * the prototype: the instance may be frozen).
 */
async function countingSubtle(method, fn) {
  const proto = Object.getPrototypeOf(globalThis.crypto.subtle);
  const original = proto[method];
  let calls = 0;
  proto[method] = function counted(...args) {
    calls += 1;
    return original.apply(this, args);
  };
  try {
    const result = await fn();
    return { result, calls };
  } finally {
    proto[method] = original;
  }
}

const steps = {
  async client_credentials(gk, p) {
    const flow = new gk.ClientCredentials({
      tokenEndpoint: p.tokenEndpoint, clientId: p.ccBasic.clientId, clientSecret: p.ccBasic.clientSecret, scope: 'api:read',
    });
    return { tokens: plain(await flow.getToken()) };
  },

  async password(gk, p) {
    const flow = new gk.PasswordGrant({
      tokenEndpoint: p.tokenEndpoint,
      clientId: p.pwClient.clientId,
      clientSecret: p.pwClient.clientSecret,
      username: p.user.username,
      password: p.user.password,
      scope: p.passwordScope,
    });
    return { tokens: plain(await flow.getToken()) };
  },

  jwt_bearer_rust: (gk, p) => jwtBearer(gk, p, 'rust'),
  jwt_bearer_webcrypto: (gk, p) => jwtBearer(gk, p, 'webcrypto'),

  async device(gk, p, control) {
    const prompts = [];
    const flow = new gk.DeviceAuthorization({
      deviceAuthorizationEndpoint: p.deviceAuthorizationEndpoint,
      tokenEndpoint: p.tokenEndpoint,
      clientId: p.deviceClientId,
      scope: p.deviceScope,
      onPrompt: async (prompt) => {
        prompts.push(plain(prompt));
        await control('/device-prompt', { prompt: plain(prompt) });
      },
    });
    return { prompts, tokens: plain(await flow.getToken()) };
  },

  async discovery(gk, p) {
    // A fetch of its own is a discovery-cache key of its own: this step
    // counts its requests whatever ran before in this runtime.
    const fetchOwn = (input, init) => fetch(input, init);
    const labels = [];
    const flows = Array.from({ length: p.discoveryCallers }, (_, i) => new gk.ClientCredentials({
      issuer: p.issuer,
      clientId: p.ccBasic.clientId,
      clientSecret: p.ccBasic.clientSecret,
      scope: 'api:read',
      fetch: fetchOwn,
      ...(i === 0 ? { onExchange: (e) => labels.push(e.label) } : {}),
    }));
    const all = await Promise.all(flows.map((flow) => flow.getToken()));
    return { callers: all.length, distinctTokens: new Set(all.map((t) => t.access_token)).size, labels, tokens: plain(all[0]) };
  },

  async authorization_code(gk, p, control) {
    // The login is configured with the issuer alone: its metadata gives the
    // endpoints and keys. A fetch of its own is a discovery-cache key of its
    // own: the step's metadata request is its own, whatever ran before.
    const fetchOwn = (input, init) => fetch(input, init);
    const labels = [];
    const { result, calls } = await countingSubtle('verify', async () => {
      const login = new gk.AuthorizationCode({
        issuer: p.issuer,
        clientId: p.login.clientId,
        redirectUri: p.login.redirectUri,
        scope: p.login.scope,
        fetch: fetchOwn,
        onExchange: (e) => labels.push(e.label),
      });
      const { url, pending } = await login.begin();
      // The browser's part: the harness signs the user in and hands back
      // where the IdP redirected (pending stays here: it is secret).
      const { callbackUrl } = await control('/authorize', { url });
      const tokens = await login.complete(callbackUrl, pending);
      return { url, callbackUrl, tokens: plain(tokens) };
    });
    return { ...result, labels, subtleVerifyCalls: calls };
  },

  async token_source_single_flight(gk, p) {
    const source = new gk.TokenSource(new gk.ClientCredentials({
      tokenEndpoint: p.tokenEndpoint, clientId: p.ccPost.clientId, clientSecret: p.ccPost.clientSecret, clientAuth: 'post', scope: 'api:read',
    }));
    const all = await Promise.all(Array.from({ length: p.concurrentCallers }, () => source.getToken()));
    const again = await source.getToken();
    return {
      callers: all.length,
      distinctTokenSets: new Set(all).size,
      laterCallCached: again === all[0],
      frozen: Object.isFrozen(all[0]),
      accessToken: all[0].access_token,
    };
  },

  async authorized_fetch(gk, p) {
    const source = new gk.TokenSource(new gk.ClientCredentials({
      tokenEndpoint: p.tokenEndpoint, clientId: p.ccBasic.clientId, clientSecret: p.ccBasic.clientSecret, scope: 'api:read',
    }), {
      allowedOrigins: [p.resourceOrigin],
      headers: { 'Ocp-Apim-Subscription-Key': p.subscriptionKey },
      apiCallerId: p.apiCallerId,
    });
    const response = await source.authorizedFetch(`${p.resourceUrl}/matrix?runtime=${encodeURIComponent(p.runtime)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ runtime: p.runtime }),
    });
    const body = await response.json();
    const { access_token: accessToken } = await source.getToken();
    let refused = null;
    try {
      const r = await source.authorizedFetch(p.foreignUrl);
      refused = { notRefused: true, status: r.status };
    } catch (e) {
      refused = describeError(e);
    }
    return {
      status: response.status, body, accessToken, refused,
    };
  },

  // DPoP (RFC 9449): the runtime's WebCrypto key pair, a proof on the
  // token request, and on the API call, whose nonce demand is answered once.
  async dpop(gk, p) {
    const source = new gk.TokenSource(new gk.ClientCredentials({
      tokenEndpoint: p.tokenEndpoint, clientId: p.ccBasic.clientId, clientSecret: p.ccBasic.clientSecret, scope: 'api:read', dpop: true,
    }), { allowedOrigins: [p.resourceOrigin] });
    const response = await source.authorizedFetch(`${p.resourceUrl}/dpop?runtime=${encodeURIComponent(p.runtime)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ runtime: p.runtime }),
    });
    return { status: response.status, body: await response.json(), tokens: plain(await source.getToken()) };
  },

  async server_error(gk, p) {
    const flow = new gk.ClientCredentials({
      tokenEndpoint: p.tokenEndpoint, clientId: p.ccBasic.clientId, clientSecret: 'not-the-secret', scope: 'api:read',
    });
    try {
      const tokens = await flow.getToken();
      return { resolved: plain(tokens) };
    } catch (e) {
      return { rejected: { ...describeError(e), isGrantkitError: e instanceof gk.GrantkitError } };
    }
  },
};

async function jwtBearer(gk, p, signer) {
  const { result, calls } = await countingSubtle('sign', async () => {
    const flow = new gk.JwtBearer({
      tokenEndpoint: p.tokenEndpoint,
      clientId: p.serviceAccount.clientId,
      key: p.serviceAccount.jwk,
      issuer: p.serviceAccount.id,
      scope: 'api:read',
      signer,
    });
    return flow.getToken();
  });
  return { signer, subtleSignCalls: calls, tokens: plain(result) };
}

/**
 * Runs every step in order against the harness at controlUrl, reporting each
 * one; resolves to {runtime, results: [{step, pass, detail}]} (the harness's
 * verdicts) and never rejects for a failing step.
 */
export async function runScenario(gk, { controlUrl, runtime }) {
  const control = async (path, body) => {
    const res = await fetch(`${controlUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ runtime, ...body }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`harness ${path} answered ${res.status}: ${text}`);
    return JSON.parse(text);
  };
  const params = { ...(await control('/params', {})), runtime };
  const results = [];
  for (const step of STEPS) {
    await control('/begin', { step });
    let observed;
    let error;
    try {
      observed = await withTimeout(steps[step](gk, params, control), STEP_TIMEOUT_MS, step);
    } catch (e) {
      error = describeError(e);
    }
    const verdict = await control('/end', { step, observed, error });
    results.push({ step, ...verdict });
  }
  // Which global the scenario ran in ("[object DedicatedWorkerGlobalScope]" in a worker).
  return { runtime, global: Object.prototype.toString.call(globalThis), results };
}
