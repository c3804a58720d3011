// A reference Alauda ACP server (the Dex-based "session login" of
// /work/shared/DESIGN.md), implemented for real on 127.0.0.1, for tests of the
// client side (AcpLogin and `grantkit acp`).
//
//   import { startAcp } from '../acp/server.mjs';
//   const acp = await startAcp({ users: { admin: 'Adm1n-pass!' } });
//   ... acp.platformUrl, acp.requests, acp.state ...
//   await acp.close();
//
//   node tests/acp/server.mjs [--port N] [--ready-file PATH]   (standalone)
//
// The five calls, in ONE cookie session:
//  1. GET  /console-platform/api/v1/token/login?client_id=alauda-auth&redirect_uri={platform}/dex/callback
//          &response_type=code&scope=openid profile offline_access email groups ext
//          -> {auth_url, state, logout_url}
//  2. GET  /dex/api/v1/authorize?{query of auth_url, unchanged}
//          -> {req} and Set-Cookie: cpaas_oidc_auth_flow=...; Path=/; HttpOnly; SameSite=Lax
//  3. GET  /dex/pubkey -> {ts (single use), pubkey (PEM SPKI), pubkey_encode (base64 of the PEM)}
//  4. POST /dex/api/v1/authorize/{local|ldap}?req={req}  {"account", "password": base64(RSA-PKCS#1-v1.5(JSON {ts, password}))}
//          -> {session_state, redirect_url: {platform}/dex/callback?code=..&state=..}
//  5. GET  /console-platform/api/v1/token/callback?code=..&state=.. with the cookie of step 2
//          -> {token_type, access_token, id_token, refresh_token, expire_at, issued_at}
//
// Errors are JSON {"message": "..."}; the exact messages and statuses:
//   step 1  400 "invalid login parameters: ..."             (any query parameter missing, repeated, extra or wrong)
//   step 2  400 "invalid authorization request"             (query is not exactly that of an issued auth_url)
//   step 4  400 "unsupported connector: X"                  (idp other than local / ldap)
//           400 "invalid request id"                        (req missing, repeated or unknown; extra parameters)
//           415 "content type must be application/json"
//           400 "invalid request body"                      (not a JSON object with string account and password)
//           400 "invalid password encoding"                 (not standard base64, does not decrypt, or not JSON {ts, password})
//           400 "invalid ts"                                (ts not issued, already used or older than tsTtlMs; a ts is
//                                                            marked used as soon as it is presented, whatever follows)
//           401 "invalid username or password"
//   step 5  400 "invalid callback parameters"               (code and state must each appear exactly once, nothing else)
//           400 "invalid authentication session"            (no cpaas_oidc_auth_flow cookie, or an unknown one)
//           400 "invalid code"                              (unknown, used, expired, or issued for another session)
//           400 "invalid state"                             (state is not the one of this session)
//   other   404 "not found", 405 "method not allowed"
//
// Decryption is done by an independent implementation in a long-running child
// process: Python `cryptography` (rsa_decrypt.py; default) or Node started with
// --security-revert=CVE-2023-46809 (rsa_decrypt_node.mjs; `decryptor: 'node'`).
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { fileURLToPath } from 'node:url';

import { isMain, runStandalone } from '../tools/standalone.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));

export const CLIENT_ID = 'alauda-auth';
export const SCOPE = 'openid profile offline_access email groups ext';
export const FLOW_COOKIE = 'cpaas_oidc_auth_flow';
export const DEFAULT_USERS = Object.freeze({ admin: 'Adm1n-pass!' });
export const PATHS = Object.freeze({
  login: '/console-platform/api/v1/token/login',
  authorize: '/dex/api/v1/authorize',
  pubkey: '/dex/pubkey',
  authorizeIdp: (idp) => `/dex/api/v1/authorize/${idp}`,
  callback: '/console-platform/api/v1/token/callback',
  dexCallback: '/dex/callback',
  keys: '/dex/keys',
});

const MAX_BODY = 1 << 20;
const CODE_TTL_MS = 10 * 60 * 1000;

const rand = (bytes = 16) => crypto.randomBytes(bytes).toString('base64url');
const hasOwn = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
const isStdBase64 = (s) => typeof s === 'string' && s.length > 0 && s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s);

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// ---------------------------------------------------------------------------
// The decryption helper process (JSON lines over stdin / stdout).

async function startDecryptor(kind, privateKeyPem) {
  let cmd;
  let args;
  if (kind === 'python') {
    cmd = process.env.ACP_PYTHON || 'python3';
    args = ['-u', path.join(HERE, 'rsa_decrypt.py')];
  } else if (kind === 'node') {
    cmd = process.execPath;
    args = ['--security-revert=CVE-2023-46809', path.join(HERE, 'rsa_decrypt_node.mjs')];
  } else {
    throw new Error(`unknown decryptor ${kind} (python | node)`);
  }
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: process.env });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
  child.stdin.on('error', () => {});
  const pending = new Map();
  let nextId = 1;
  let exited = false;
  let onReady;
  let onFail;
  const ready = new Promise((resolve, reject) => { onReady = resolve; onFail = reject; });
  const exitPromise = new Promise((resolve) => {
    const done = (why) => {
      if (exited) return;
      exited = true;
      const err = new Error(`ACP decryption helper (${kind}) ${why}${stderr ? `: ${stderr.trim()}` : ''}`);
      onFail(err);
      for (const p of pending.values()) p.reject(err);
      pending.clear();
      resolve();
    };
    child.on('error', (e) => done(`failed to start: ${e.message}`));
    child.on('exit', (code, signal) => done(`exited (${signal ?? code})`));
  });
  const rl = readline.createInterface({ input: child.stdout, crlfDelay: Infinity });
  rl.on('line', (line) => {
    let msg;
    try { msg = JSON.parse(line); } catch { return; }
    if (msg.ready) { onReady(); return; }
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.ok) p.resolve(Buffer.from(msg.plaintext, 'base64'));
    else p.reject(Object.assign(new Error(msg.error), { decryptFailed: true }));
  });
  child.stdin.write(`${JSON.stringify({ private_key_pem: privateKeyPem })}\n`);
  const timer = setTimeout(() => onFail(new Error(`ACP decryption helper (${kind}) did not start within 20 s${stderr ? `: ${stderr.trim()}` : ''}`)), 20_000);
  try {
    await ready;
  } catch (e) {
    if (!exited) child.kill('SIGKILL');
    throw e;
  } finally {
    clearTimeout(timer);
  }
  return {
    kind,
    pid: child.pid,
    /** Decrypt standard base64 ciphertext; resolves to the plaintext bytes (Buffer). */
    decrypt(ciphertextB64) {
      if (exited) return Promise.reject(new Error(`ACP decryption helper (${kind}) is not running`));
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        child.stdin.write(`${JSON.stringify({ id, ciphertext: ciphertextB64 })}\n`);
      });
    },
    async close() {
      if (exited) return;
      child.stdin.end();
      const t = setTimeout(() => { if (!exited) child.kill('SIGKILL'); }, 2000);
      await exitPromise;
      clearTimeout(t);
    },
  };
}

// ---------------------------------------------------------------------------
// JWTs (RS256, node:crypto).

function signJwt(privateKey, kid, claims) {
  const header = { alg: 'RS256', typ: 'JWT', kid };
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const sig = crypto.sign('sha256', Buffer.from(input), privateKey).toString('base64url');
  return `${input}.${sig}`;
}

// ---------------------------------------------------------------------------

function parseCookies(header) {
  const out = new Map();
  if (!header) return out;
  for (const part of String(header).split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    const name = part.slice(0, i).trim();
    if (!out.has(name)) out.set(name, part.slice(i + 1).trim());
  }
  return out;
}

/** [name, value] pairs of a raw query; each name must appear exactly once, and only the expected names. */
function exactParams(search, names) {
  const pairs = [...new URLSearchParams(search)];
  const seen = new Map();
  for (const [k, v] of pairs) {
    if (!names.includes(k) || seen.has(k)) return null;
    seen.set(k, v);
  }
  if (seen.size !== names.length) return null;
  return Object.fromEntries(seen);
}

function sendJson(res, status, obj, headers = {}) {
  const body = JSON.stringify(obj);
  const all = {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': String(Buffer.byteLength(body)),
    ...headers,
  };
  if (res.acpRecord) res.acpRecord.response = { status, headers: all, body, json: JSON.parse(body) };
  res.writeHead(status, all);
  res.end(body);
}

/**
 * Start the reference ACP server.
 *
 * options:
 *   port          0 = any free port
 *   users         { account: password }
 *   tamperState   step 4's redirect_url carries a state other than the one of step 1
 *   decryptor     'python' (default) or 'node'
 *   tsTtlMs       how long a ts from /dex/pubkey stays valid (default 5 minutes)
 *   tokenLifetime seconds between issued_at and expire_at (default 3600)
 *
 * Resolves to { platformUrl, port, requests, state, publicKeyPem, jwks, decrypt(b64), close() }:
 *   requests  every request: { method, path (with query), pathname, query (raw, without '?'), headers (lower-case names), body,
 *             response: { status, headers, body (text), json (parsed) } once answered }
 *   state     the server's bookkeeping (read it, do not change it): logins, flows, tss, codes,
 *             decryptCount (decryptions done for step 4), decryptions (log: { ts, account, ciphertext,
 *             plaintext (the decrypted text, or null), error }), tokens (issued step-5 replies)
 *   decrypt   decrypt a standard base64 ciphertext with the helper: resolves to the plaintext
 *             (UTF-8 string); not counted in decryptCount
 */
export async function startAcp({
  port = 0, users = DEFAULT_USERS, tamperState = false, decryptor = 'python', tsTtlMs = 5 * 60 * 1000, tokenLifetime = 3600,
} = {}) {
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicKeyPem = rsa.publicKey.export({ type: 'spki', format: 'pem' });
  const privateKeyPem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' });
  const signing = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = rand(8);
  const signingJwk = { ...signing.publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
  const jwks = { keys: [signingJwk] };

  const dec = await startDecryptor(decryptor, privateKeyPem);

  const requests = [];
  const state = {
    tamperState,
    logins: new Map(), // state -> { state, authQuery }
    flows: new Map(), // cookie value -> { cookie, req, state, authQuery, codes: Set }
    flowsByReq: new Map(), // req -> flow
    tss: new Map(), // ts -> { issuedAt, used }
    codes: new Map(), // code -> { flow, account, used, expiresAt }
    decryptCount: 0,
    decryptions: [],
    tokens: [],
  };

  let platformUrl;
  const userList = new Map(Object.entries(users));

  async function handle(req, res, body) {
    const url = new URL(req.url, 'http://placeholder');
    const { pathname } = url;
    const search = url.search.startsWith('?') ? url.search.slice(1) : '';
    const method = req.method;
    const only = (m) => { if (method !== m) throw new HttpError(405, 'method not allowed'); };

    // 1. login: the authorization URL.
    if (pathname === PATHS.login) {
      only('GET');
      const p = exactParams(search, ['client_id', 'redirect_uri', 'response_type', 'scope']);
      if (!p) throw new HttpError(400, 'invalid login parameters: expected exactly client_id, redirect_uri, response_type and scope');
      const expected = {
        client_id: CLIENT_ID, redirect_uri: `${platformUrl}${PATHS.dexCallback}`, response_type: 'code', scope: SCOPE,
      };
      for (const [k, v] of Object.entries(expected)) {
        if (p[k] !== v) throw new HttpError(400, `invalid login parameters: ${k} must be ${JSON.stringify(v)}`);
      }
      const st = rand(16);
      // encodeURIComponent: spaces as %20, so a client that re-encodes the query (URLSearchParams: '+') is caught.
      const authQuery = `client_id=${encodeURIComponent(CLIENT_ID)}&redirect_uri=${encodeURIComponent(expected.redirect_uri)}`
        + `&response_type=code&scope=${encodeURIComponent(SCOPE)}&state=${st}`;
      state.logins.set(st, { state: st, authQuery });
      return sendJson(res, 200, {
        auth_url: `${platformUrl}/dex/auth?${authQuery}`, state: st, logout_url: `${platformUrl}/dex/logout`,
      });
    }

    // 2. authorize: the request id and the flow cookie.
    if (pathname === PATHS.authorize) {
      only('GET');
      const st = new URLSearchParams(search).get('state');
      const login = st !== null ? state.logins.get(st) : undefined;
      if (!login || login.authQuery !== search) throw new HttpError(400, 'invalid authorization request');
      const flow = { cookie: rand(24), req: rand(16), state: login.state, authQuery: search, codes: new Set() };
      state.flows.set(flow.cookie, flow);
      state.flowsByReq.set(flow.req, flow);
      return sendJson(res, 200, { req: flow.req }, {
        'set-cookie': `${FLOW_COOKIE}=${flow.cookie}; Path=/; HttpOnly; SameSite=Lax`,
      });
    }

    // 3. public key and a single-use ts.
    if (pathname === PATHS.pubkey) {
      only('GET');
      const ts = `${Date.now()}${crypto.randomInt(0, 1e9).toString().padStart(9, '0')}`;
      state.tss.set(ts, { issuedAt: Date.now(), used: false });
      return sendJson(res, 200, { ts, pubkey: publicKeyPem, pubkey_encode: Buffer.from(publicKeyPem, 'utf8').toString('base64') });
    }

    // 4. password login at a connector.
    const m4 = /^\/dex\/api\/v1\/authorize\/([^/]+)$/.exec(pathname);
    if (m4) {
      only('POST');
      const idp = decodeURIComponent(m4[1]);
      if (idp !== 'local' && idp !== 'ldap') throw new HttpError(400, `unsupported connector: ${idp}`);
      const q = exactParams(search, ['req']);
      const flow = q ? state.flowsByReq.get(q.req) : undefined;
      if (!flow) throw new HttpError(400, 'invalid request id');
      if (!/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) {
        throw new HttpError(415, 'content type must be application/json');
      }
      let payload;
      try { payload = JSON.parse(body); } catch { payload = undefined; }
      if (!payload || typeof payload !== 'object' || Array.isArray(payload)
        || typeof payload.account !== 'string' || typeof payload.password !== 'string') {
        throw new HttpError(400, 'invalid request body');
      }
      const { account } = payload;
      if (!isStdBase64(payload.password)) throw new HttpError(400, 'invalid password encoding');
      state.decryptCount += 1;
      const entry = { ts: undefined, account, ciphertext: payload.password, plaintext: null, error: undefined };
      state.decryptions.push(entry);
      let inner;
      try {
        const bytes = await dec.decrypt(payload.password);
        entry.plaintext = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
        inner = JSON.parse(entry.plaintext);
      } catch (e) {
        entry.error = e.message;
        throw new HttpError(400, 'invalid password encoding');
      }
      if (!inner || typeof inner !== 'object' || Array.isArray(inner)
        || typeof inner.ts !== 'string' || typeof inner.password !== 'string') {
        entry.error = 'decrypted text is not a JSON object with string ts and password';
        throw new HttpError(400, 'invalid password encoding');
      }
      entry.ts = inner.ts;
      const t = state.tss.get(inner.ts);
      const fresh = t && !t.used && Date.now() - t.issuedAt <= tsTtlMs;
      if (t) t.used = true; // single use, whatever happens next
      if (!fresh) { entry.error = 'invalid ts'; throw new HttpError(400, 'invalid ts'); }
      if (!userList.has(account) || userList.get(account) !== inner.password) {
        entry.error = 'invalid username or password';
        throw new HttpError(401, 'invalid username or password');
      }
      const code = rand(24);
      state.codes.set(code, { flow, account, used: false, expiresAt: Date.now() + CODE_TTL_MS });
      flow.codes.add(code);
      let st = flow.state;
      if (tamperState) st = rand(16);
      return sendJson(res, 200, {
        session_state: rand(16),
        redirect_url: `${platformUrl}${PATHS.dexCallback}?code=${code}&state=${st}`,
      });
    }

    // 5. callback: the tokens, only in the cookie session of step 2.
    if (pathname === PATHS.callback) {
      only('GET');
      const p = exactParams(search, ['code', 'state']);
      if (!p) throw new HttpError(400, 'invalid callback parameters');
      const cookie = parseCookies(req.headers.cookie).get(FLOW_COOKIE);
      const flow = cookie !== undefined ? state.flows.get(cookie) : undefined;
      if (!flow) throw new HttpError(400, 'invalid authentication session');
      const c = state.codes.get(p.code);
      if (!c || c.used || c.flow !== flow || Date.now() > c.expiresAt) throw new HttpError(400, 'invalid code');
      c.used = true;
      if (p.state !== flow.state) throw new HttpError(400, 'invalid state');
      const now = Math.floor(Date.now() / 1000);
      const exp = now + tokenLifetime;
      const base = {
        iss: `${platformUrl}/dex`, sub: c.account, aud: CLIENT_ID, exp, iat: now,
        email: `${c.account}@acp.example.test`, email_verified: true, name: c.account,
      };
      const reply = {
        token_type: 'Bearer',
        access_token: signJwt(signing.privateKey, kid, { ...base, jti: rand(16) }),
        id_token: signJwt(signing.privateKey, kid, { ...base, at_hash: rand(16) }),
        refresh_token: rand(32),
        expire_at: exp,
        issued_at: now,
      };
      state.tokens.push(reply);
      return sendJson(res, 200, reply);
    }

    if (pathname === PATHS.keys) {
      only('GET');
      return sendJson(res, 200, jwks);
    }
    throw new HttpError(404, 'not found');
  }

  const server = http.createServer(async (req, res) => {
    const chunks = [];
    let size = 0;
    let tooBig = false;
    for await (const c of req) {
      size += c.length;
      if (size > MAX_BODY) tooBig = true;
      else chunks.push(c);
    }
    const body = Buffer.concat(chunks).toString('utf8');
    const q = req.url.indexOf('?');
    const record = {
      method: req.method,
      path: req.url,
      pathname: q < 0 ? req.url : req.url.slice(0, q),
      query: q < 0 ? '' : req.url.slice(q + 1),
      headers: { ...req.headers },
      body,
      response: undefined,
    };
    requests.push(record);
    res.acpRecord = record;
    try {
      if (tooBig) throw new HttpError(413, 'request body too large');
      await handle(req, res, body);
    } catch (e) {
      if (e instanceof HttpError) sendJson(res, e.status, { message: e.message });
      else if (!res.headersSent) sendJson(res, 500, { message: `internal error: ${e.message}` });
      else res.destroy(e);
    }
  });
  try {
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => { server.off('error', reject); resolve(); });
    });
  } catch (e) {
    await dec.close();
    throw e;
  }
  const actualPort = server.address().port;
  platformUrl = `http://127.0.0.1:${actualPort}`;

  let closing;
  return {
    platformUrl,
    port: actualPort,
    requests,
    state,
    publicKeyPem,
    jwks,
    decryptorPid: dec.pid,
    async decrypt(ciphertextB64) {
      const bytes = await dec.decrypt(ciphertextB64);
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    },
    close() {
      closing ??= (async () => {
        await new Promise((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await dec.close();
      })();
      return closing;
    },
    toJSON() { return { platformUrl, port: actualPort, decryptorPid: dec.pid }; },
  };
}

// ---------------------------------------------------------------------------
// Standalone.

if (isMain(import.meta.url)) {
  await runStandalone({ name: 'acp', script: 'tests/acp/server.mjs', start: startAcp });
}
