// A protected resource (RFC 6750 bearer tokens) for grantkit's tests: it
// accepts an access token when the local IdP's introspection endpoint says it
// is active, so every grant's tokens work (client credentials, password, JWT
// bearer, device code, refreshed ones) and a revoked token does not.
//
//   import { startResourceServer } from './resource_server.mjs';
//   const rs = await startResourceServer({ idp });   // idp from startIdp()
//   await fetch(`${rs.url}/things`, { headers: { authorization: `Bearer ${token}` } });
//   rs.calls  // [{ method, path, headers, body, status }] in order
//
// Any path is an API call: 200 JSON { ok: true, sub, client_id, scope, method,
// path, callerId (x-api-caller-id), subscriptionKey (ocp-apim-subscription-key) }
// for an active token (sub: the introspection's, else the JWT's own sub, as
// client credentials tokens have no account); otherwise 401 with WWW-Authenticate: Bearer
// error="invalid_token" and { error: 'invalid_token' }. failNext401(n) answers
// the next n API calls 401 before looking at the token (a token the server
// stopped accepting: clients refresh and retry).
// Except GET /redirect-away?to=URL: 302 to URL, to check that a client does not
// carry the Authorization header to another origin.
// DPoP (RFC 9449 §7): `Authorization: DPoP <token>` with a `DPoP` proof is
// accepted when the token is active and bound (introspection's cnf.jkt) to
// the proof's key, and the proof verifies on its own key (jose), names this
// request (htm, htu without query), hashes the token (ath), is recent (iat
// within 60 s) and new (jti). With { dpopNonce: true } the proof must also
// carry the server's nonce: a call without it is answered 401
// `WWW-Authenticate: DPoP error="use_dpop_nonce"` with a `DPoP-Nonce`. A
// bound token sent as Bearer is refused (§7.2). call.dpop holds the proof's
// claims and its key's thumbprint.
// With { cors: true } (browser pages of tests/matrix/) every answer allows the
// request's Origin, and a CORS preflight (OPTIONS with
// Access-Control-Request-Method) is answered 204 without being recorded.

import * as crypto from 'node:crypto';
import * as http from 'node:http';
import * as jose from 'jose';

import { CLIENTS } from './server.mjs';

const BODY_LIMIT = 1024 * 1024;

function basic(id, secret) {
  // RFC 6749 §2.3.1: form-urlencode both before base64.
  const enc = (s) => new URLSearchParams({ x: s }).toString().slice(2);
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`, 'utf8').toString('base64')}`;
}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > BODY_LIMIT) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

/**
 * Start the resource server on http://127.0.0.1:<port> (0 = any free port).
 * @param {{idp: {introspectionEndpoint: string}, port?: number, cors?: boolean}} options
 * @returns {Promise<{url: string, origin: string, port: number,
 *   calls: Array<{method: string, path: string, headers: Record<string,string|string[]>, body: string, status?: number}>,
 *   failNext401(n: number): void, close(): Promise<void>}>}
 * url is `${origin}/api` (any path under the origin is an API call).
 */
export async function startResourceServer({
  idp, port = 0, cors = false, dpopNonce = false,
} = {}) {
  if (!idp?.introspectionEndpoint) throw new TypeError('startResourceServer needs { idp } (from startIdp())');
  const calls = [];
  let forced401 = 0;
  let origin; // set once listening
  const nonce = `rs-nonce-${crypto.randomBytes(9).toString('base64url')}`;
  const seenJti = new Set();

  /** The DPoP proof of a call with `token`, checked; its claims and key thumbprint, or a reason. */
  async function checkProof(req, token) {
    const proofs = req.headersDistinct?.dpop ?? [];
    if (proofs.length !== 1) return { problem: 'one DPoP header is required' };
    let verified;
    try {
      verified = await jose.jwtVerify(proofs[0], jose.EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] });
    } catch (err) {
      return { problem: `the proof does not verify: ${err.code}` };
    }
    const { payload, protectedHeader } = verified;
    const htu = `${origin}${new URL(req.url, origin).pathname}`;
    const ath = crypto.createHash('sha256').update(token).digest('base64url');
    if (payload.htm !== req.method) return { problem: 'htm mismatch' };
    if (payload.htu !== htu) return { problem: `htu mismatch: ${payload.htu} vs ${htu}` };
    if (payload.ath !== ath) return { problem: 'ath mismatch' };
    if (typeof payload.iat !== 'number' || Math.abs(Date.now() / 1000 - payload.iat) > 60) return { problem: 'iat not recent' };
    if (typeof payload.jti !== 'string' || seenJti.has(payload.jti)) return { problem: 'jti replayed' };
    seenJti.add(payload.jti);
    const jkt = await jose.calculateJwkThumbprint(protectedHeader.jwk, 'sha256');
    if (dpopNonce && payload.nonce !== nonce) return { demandNonce: true, claims: payload, jkt };
    return { claims: payload, jkt };
  }

  async function introspect(token) {
    const res = await fetch(idp.introspectionEndpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
        authorization: basic(CLIENTS.introspector.client_id, CLIENTS.introspector.client_secret),
      },
      body: new URLSearchParams({ token }).toString(),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    let json;
    try { json = JSON.parse(text); } catch { json = undefined; }
    // A JWT-looking token whose signature is not the IdP's reaches
    // oidc-provider as is, and it refuses JWTs outright: not a valid token.
    if (res.status === 400 && json?.error === 'unsupported_token_type') return { active: false };
    if (res.status !== 200 || !json) throw new Error(`introspection answered ${res.status}: ${text}`);
    return json;
  }

  // Client credentials tokens have no account, so introspection gives no sub;
  // the (active, hence IdP-signed) JWT says sub = client_id.
  function jwtSub(token) {
    try {
      return jose.decodeJwt(token).sub;
    } catch {
      return undefined;
    }
  }

  function send(res, call, status, json, headers = {}) {
    call.status = status;
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
    res.end(JSON.stringify(json));
  }

  function unauthorized(res, call) {
    send(res, call, 401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
  }

  async function handle(req, res) {
    if (cors && req.headers.origin) {
      res.setHeader('access-control-allow-origin', req.headers.origin);
      res.setHeader('vary', 'origin');
      // A page's script may read these (RFC 9449 §9: the nonce comes in
      // DPoP-Nonce; the demand in WWW-Authenticate).
      res.setHeader('access-control-expose-headers', 'WWW-Authenticate, DPoP-Nonce');
      if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
        res.writeHead(204, {
          'access-control-allow-methods': req.headers['access-control-request-method'],
          'access-control-allow-headers': req.headers['access-control-request-headers'] ?? '',
          'access-control-max-age': '600',
        });
        res.end();
        return;
      }
    }
    const call = {
      method: req.method, path: req.url, headers: { ...req.headers }, body: '',
    };
    calls.push(call); // on arrival: calls are in the order they came in
    try {
      call.body = await readBody(req);
    } catch {
      send(res, call, 413, { error: 'invalid_request' });
      return;
    }
    const url = new URL(req.url, 'http://127.0.0.1');

    if (req.method === 'GET' && url.pathname === '/redirect-away') {
      const to = url.searchParams.get('to');
      if (!to) {
        send(res, call, 400, { error: 'invalid_request', error_description: 'missing to' });
        return;
      }
      call.status = 302;
      res.writeHead(302, { location: to, 'cache-control': 'no-store' });
      res.end();
      return;
    }

    if (forced401 > 0) {
      forced401 -= 1;
      unauthorized(res, call);
      return;
    }
    const match = /^(Bearer|DPoP) +([A-Za-z0-9\-._~+/]+=*)$/i.exec(req.headers.authorization ?? '');
    if (!match) {
      unauthorized(res, call);
      return;
    }
    const dpop = match[1].toLowerCase() === 'dpop';
    const token = match[2];
    if (dpop) {
      const proof = await checkProof(req, token);
      call.dpop = proof;
      if (proof.demandNonce) {
        send(res, call, 401, { error: 'use_dpop_nonce' }, {
          'www-authenticate': 'DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"',
          'dpop-nonce': nonce,
        });
        return;
      }
      if (proof.problem) {
        send(res, call, 401, { error: 'invalid_dpop_proof', error_description: proof.problem }, {
          'www-authenticate': 'DPoP error="invalid_dpop_proof"',
        });
        return;
      }
    }
    let info;
    try {
      info = await introspect(token);
    } catch (err) {
      send(res, call, 500, { error: 'server_error', error_description: String(err.message) });
      return;
    }
    if (info.active !== true) {
      unauthorized(res, call);
      return;
    }
    // RFC 9449 §7: a bound token goes with a proof of its key, and only so.
    const bound = info.cnf?.jkt;
    if ((bound !== undefined) !== dpop || (dpop && bound !== call.dpop.jkt)) {
      unauthorized(res, call);
      return;
    }
    send(res, call, 200, {
      ok: true,
      sub: info.sub ?? jwtSub(token) ?? null,
      client_id: info.client_id ?? null,
      scope: info.scope ?? null,
      method: req.method,
      path: req.url,
      callerId: req.headers['x-api-caller-id'] ?? null,
      subscriptionKey: req.headers['ocp-apim-subscription-key'] ?? null,
    });
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err?.message ?? err));
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  const actualPort = server.address().port;
  origin = `http://127.0.0.1:${actualPort}`;

  let closed;
  return {
    url: `${origin}/api`,
    origin,
    port: actualPort,
    calls,
    /** The nonce a DPoP proof must carry with { dpopNonce: true }. */
    dpopNonce: nonce,
    /** The next n API calls (not /redirect-away) answer 401 whatever their token. */
    failNext401(n) {
      if (!Number.isSafeInteger(n) || n < 0) throw new TypeError('n must be a non-negative integer');
      forced401 += n;
    },
    close() {
      closed ||= new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
