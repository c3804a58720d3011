// Shared helpers of the end-to-end tests (not a test file itself).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { inspect } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as jose from 'jose';

import { CLIENTS } from '../idp/server.mjs';

/** The installed package directory (tests/e2e/run.sh sets it). */
export function pkgDir() {
  const dir = process.env.GRANTKIT_PKG_DIR;
  if (!dir) {
    throw new Error('GRANTKIT_PKG_DIR is not set: run the e2e tests with `bash tests/e2e/run.sh` '
      + '(it installs target/npm/grantkit.tgz and points GRANTKIT_PKG_DIR at the installed copy)');
  }
  if (!fs.existsSync(path.join(dir, 'package.json'))) {
    throw new Error(`GRANTKIT_PKG_DIR=${dir} has no package.json`);
  }
  return path.resolve(dir);
}

/**
 * Import the installed package by its name, through its package.json
 * "exports" (Node's "node" condition), using a package self-reference
 * resolved from inside the installed directory.
 */
export async function loadGrantkit() {
  const dir = pkgDir();
  const require = createRequire(path.join(dir, 'package.json'));
  const entry = require.resolve('grantkit');
  assert.ok(entry.startsWith(dir + path.sep), `grantkit resolved outside the installed copy: ${entry}`);
  return import(pathToFileURL(entry).href);
}

export function cliPath() {
  return path.join(pkgDir(), 'bin', 'grantkit.js');
}

/**
 * application/x-www-form-urlencoded serialisation of one name or value, as the
 * WHATWG URL standard (and URLSearchParams) defines it: UTF-8, alphanumerics
 * and '*-._' kept, space -> '+', every other byte -> %XX (upper-case hex).
 * Written out here so that expected values do not come from the code under test.
 */
export function formEncode(value) {
  let out = '';
  for (const byte of Buffer.from(String(value), 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9*\-._]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Form body from [name, value] pairs, in order. */
export function form(pairs) {
  return pairs.map(([k, v]) => `${formEncode(k)}=${formEncode(v)}`).join('&');
}

/** The last token-endpoint request the local IdP recorded. */
export function lastRequest(idp) {
  assert.ok(idp.requests.length > 0, 'the IdP recorded no request');
  return idp.requests.at(-1);
}

/** RFC 6749 §2.3.1 Basic header: base64(form(id) ":" form(secret)). */
export function basicHeader(id, secret) {
  return `Basic ${Buffer.from(`${formEncode(id)}:${formEncode(secret)}`, 'utf8').toString('base64')}`;
}

/** Introspect a token at the local IdP as the `introspector` client. */
export async function introspect(idp, token) {
  const res = await fetch(idp.introspectionEndpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: basicHeader(CLIENTS.introspector.client_id, CLIENTS.introspector.client_secret),
    },
    body: form([['token', token]]),
  });
  assert.equal(res.status, 200);
  return res.json();
}

/** Everything an error exposes, as text: message, stack, JSON, inspect, own properties, causes. */
export function errorText(err) {
  const parts = [];
  const seen = new Set();
  const walk = (e, depth) => {
    if (e === null || e === undefined || depth > 4 || seen.has(e)) return;
    if (typeof e !== 'object' && typeof e !== 'function') { parts.push(String(e)); return; }
    seen.add(e);
    try { parts.push(String(e.message)); } catch { /* ignore */ }
    try { parts.push(String(e.stack)); } catch { /* ignore */ }
    try { parts.push(JSON.stringify(e)); } catch { /* ignore */ }
    try { parts.push(inspect(e, { depth: 6, showHidden: true, getters: true })); } catch { /* ignore */ }
    for (const key of Reflect.ownKeys(e)) {
      let v;
      try { v = e[key]; } catch { continue; }
      if (typeof v === 'string') parts.push(v);
      else if (v && typeof v === 'object') {
        try { parts.push(JSON.stringify(v)); } catch { /* ignore */ }
        walk(v, depth + 1);
      }
    }
    walk(e.cause, depth + 1);
  };
  walk(err, 0);
  return parts.join('\n');
}

/** Assert that none of the secrets (raw or form-encoded) shows anywhere in the error. */
export function assertNoSecrets(err, secrets, { messageOnly = [] } = {}) {
  const all = errorText(err);
  for (const s of secrets) {
    for (const form of new Set([s, formEncode(s), encodeURIComponent(s)])) {
      assert.ok(!all.includes(form), `secret ${JSON.stringify(s)} (as ${JSON.stringify(form)}) leaked into the error`);
    }
  }
  for (const s of messageOnly) {
    assert.ok(!String(err.message).includes(s), `token ${JSON.stringify(s)} leaked into the error message`);
  }
}

/** Assert a grantkit error: a real Error named GrantkitError with this code. */
export function assertGrantkitError(err, code, extra = {}) {
  assert.ok(err instanceof Error, `expected an Error instance, got ${inspect(err)}`);
  assert.equal(err.name, 'GrantkitError', `name of ${inspect(err)}`);
  assert.equal(err.code, code, `code of ${err.name}: ${err.message}`);
  for (const [k, v] of Object.entries(extra)) {
    assert.deepEqual(err[k], v, `err.${k}`);
  }
  return true;
}

/** Await a promise that must reject; return the rejection. */
export async function rejection(promise) {
  try {
    const value = await promise;
    assert.fail(`expected a rejection, got ${inspect(value, { depth: 3 })}`);
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    return err;
  }
  return undefined;
}

/** Call fn, which must throw synchronously; return what it threw. */
export function thrown(fn) {
  let result;
  try {
    result = fn();
  } catch (err) {
    return err;
  }
  if (result && typeof result.then === 'function') result.catch(() => {});
  return assert.fail(`expected a synchronous throw, got ${inspect(result, { depth: 2 })}`);
}

/**
 * A scripted token server on 127.0.0.1: records every request and answers with
 * the current handler (req, res, body). `hits` holds { method, url, headers, body }.
 */
export async function startScriptedServer() {
  const hits = [];
  let handler = (_req, res) => { res.statusCode = 500; res.end('no handler'); };
  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks).toString('utf8');
    hits.push({ method: req.method, url: req.url, headers: { ...req.headers }, body });
    try {
      await handler(req, res, body);
    } catch (e) {
      res.destroy(e);
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    port,
    url: (p = '/token') => `${origin}${p}`,
    hits,
    /** Set the handler and forget earlier hits. */
    script(fn) { handler = fn; hits.length = 0; },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** Answer with JSON. */
export function json(res, status, obj, headers = {}) {
  const body = typeof obj === 'string' ? obj : JSON.stringify(obj);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(body);
}

/** A port on 127.0.0.1 that nothing listens on (bound, then closed). */
export async function closedPort() {
  const s = http.createServer();
  await new Promise((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise((resolve) => s.close(resolve));
  return port;
}

/**
 * Run the installed CLI with node: resolves to { code, signal, stdout, stderr }.
 * env is added to a minimal environment (no secrets are inherited).
 */
export function runCli(args, { env = {}, stdin, timeoutMs = 20_000 } = {}) {
  return runNode([cliPath(), ...args], { env, stdin, timeoutMs });
}

/**
 * Run `node` with `args` in a minimal environment plus `env` (no secrets are
 * inherited), killed after `timeoutMs`: resolves to
 * { code, signal, stdout, stderr, ms }.
 */
export function runNode(args, { env = {}, stdin, timeoutMs = 20_000 } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, args, {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out = [];
    const err = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), ms: Date.now() - t0,
      });
    });
    child.stdin.on('error', () => {}); // the child may exit without reading stdin
    if (stdin !== undefined) child.stdin.end(stdin);
    else child.stdin.end();
  });
}

/** Describe a CLI run for assertion messages. */
export function show(r) {
  return `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

// ---------------------------------------------------------------------------
// JWT bearer assertions and private_key_jwt (RFC 7523).

export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

/** Absolute path of a key fixture in tests/fixtures. */
export function fixturePath(name) {
  return path.join(FIXTURES, name);
}

/** A fixture's text. */
export function fixture(name) {
  return fs.readFileSync(fixturePath(name), 'utf8');
}

/** A fixture's parsed JSON (a fresh object each call). */
export function fixtureJson(name) {
  return JSON.parse(fixture(name));
}

/** The [name, value] pairs of a form body, in order. */
export function formPairs(body) {
  return [...new URLSearchParams(body)];
}

/**
 * Decode a compact JWS without verifying it: header and claims as parsed JSON
 * (member order kept, so Object.keys() is the order on the wire).
 */
export function decodeJws(jws) {
  assert.equal(typeof jws, 'string', 'a JWS is a string');
  const parts = jws.split('.');
  assert.equal(parts.length, 3, `not a compact JWS: ${jws}`);
  for (const p of parts) assert.match(p, /^[A-Za-z0-9_-]+$/, 'every part is unpadded base64url');
  const [h, c, s] = parts;
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString('utf8')),
    claims: JSON.parse(Buffer.from(c, 'base64url').toString('utf8')),
    headerJson: Buffer.from(h, 'base64url').toString('utf8'),
    claimsJson: Buffer.from(c, 'base64url').toString('utf8'),
    signingInput: `${h}.${c}`,
    signature: Buffer.from(s, 'base64url'),
  };
}

/**
 * Verify a JWS with jose against a public JWK fixture (default: the rsa2048
 * key), for exactly one algorithm, the exact audience, issuer and subject,
 * and typ JWT. Resolves to jose's { payload, protectedHeader }.
 */
export async function verifyJws(jws, {
  alg = 'RS256', audience, issuer, subject, publicJwk = 'rsa2048.public.jwk.json',
} = {}) {
  const jwk = fixtureJson(publicJwk);
  delete jwk.kid; // verify by key, not by kid (a PEM-signed JWS has no kid)
  const key = await jose.importJWK(jwk, alg);
  const options = { algorithms: [alg], typ: 'JWT' };
  if (audience !== undefined) options.audience = audience;
  if (issuer !== undefined) options.issuer = issuer;
  if (subject !== undefined) options.subject = subject;
  const result = await jose.jwtVerify(jws, key, options);
  // jose compares aud by set membership: make the exact string the check.
  if (audience !== undefined) assert.equal(result.payload.aud, audience, 'aud is exactly the expected string');
  return result;
}

/** A jti as specified: 128 random bits, unpadded base64url (22 characters). */
export function assertJti(jti) {
  assert.equal(typeof jti, 'string');
  assert.match(jti, /^[A-Za-z0-9_-]{22}$/, `jti ${jti}`);
  assert.equal(Buffer.from(jti, 'base64url').length, 16);
  assert.equal(Buffer.from(jti, 'base64url').toString('base64url'), jti, 'canonical base64url');
}

/** The text of a fetch body as grantkit may pass it (string, URLSearchParams, bytes). */
export function bodyText(body) {
  if (body === undefined || body === null) return '';
  if (typeof body === 'string') return body;
  if (body instanceof URLSearchParams) return body.toString();
  if (body instanceof ArrayBuffer) return Buffer.from(body).toString('utf8');
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  return String(body);
}

/**
 * A fetch stub that records { url, init, body } and answers 200 with a token.
 * No network at all: for endpoints that must not be contacted (pingAic).
 */
export function tokenFetchStub(calls, response = { access_token: 'stub-token', token_type: 'Bearer', expires_in: 899 }) {
  return async (url, init = {}) => {
    calls.push({ url: String(url), init, body: bodyText(init.body) });
    return new Response(JSON.stringify(response), {
      status: 200,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    });
  };
}

/**
 * Assert that `text` contains no run of 16 or more base64 / base64url
 * characters that occurs in the key file's text (PEM body lines, JWK members).
 */
export function assertNoKeyMaterial(text, keyFileText, what = 'text') {
  const runs = String(text).match(/[A-Za-z0-9+/_=-]{16,}/g) ?? [];
  for (const run of runs) {
    // Any 16-character window of the run that is in the key file is a leak.
    for (let i = 0; i + 16 <= run.length; i += 1) {
      const window = run.slice(i, i + 16);
      assert.ok(!keyFileText.includes(window), `${what} contains key material: ${JSON.stringify(window)} (in ${JSON.stringify(run.slice(0, 80))})`);
    }
  }
}

// ---------------------------------------------------------------------------
// Device flow, TokenSource and authorizedFetch tests.

/**
 * A fetch for a flow's `fetch` option that passes every call on to the global
 * fetch and records { url, method, headers, body, status, text, json } in
 * `log` (json: the parsed answer, or undefined). The answer handed back is
 * the real Response, unread (a clone is read for the log).
 */
export function recordingFetch(log) {
  return async (input, init = {}) => {
    const entry = {
      url: String(input),
      method: init.method ?? 'GET',
      headers: Object.fromEntries(new Headers(init.headers ?? {})),
      body: bodyText(init.body),
    };
    log.push(entry);
    const res = await fetch(input, init);
    entry.status = res.status;
    entry.text = await res.clone().text();
    try { entry.json = JSON.parse(entry.text); } catch { entry.json = undefined; }
    return res;
  };
}

/** Resolve once predicate() is true (checked every 10 ms); reject after timeoutMs naming `what`. */
export async function waitFor(predicate, { timeoutMs = 5000, what = 'the condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => { setTimeout(resolve, 10); });
  }
}

/** Resolve after ms milliseconds. */
export function sleep(ms) {
  return new Promise((resolve) => { setTimeout(resolve, ms); });
}

/**
 * Assert that `text` holds no run of 16 characters taken from any of the
 * tokens (a whole token, or a piece of one cut at some length). The failure
 * names the longest piece found and where it sits in the token.
 */
export function assertNoTokenText(text, tokens, what = 'text') {
  const s = String(text);
  for (const token of tokens) {
    if (typeof token !== 'string' || token === '') continue;
    if (token.length < 16) {
      assert.ok(!s.includes(token), `${what} contains the token ${JSON.stringify(token)}`);
      continue;
    }
    let longest = { start: 0, length: 0 };
    for (let i = 0; i + 16 <= token.length; i += 1) {
      if (!s.includes(token.slice(i, i + 16))) continue;
      let end = i + 16;
      while (end < token.length && s.includes(token.slice(i, end + 1))) end += 1;
      if (end - i > longest.length) longest = { start: i, length: end - i };
    }
    assert.equal(
      longest.length,
      0,
      `${what} contains ${longest.length} characters of a ${token.length}-character token `
        + `(characters ${longest.start}..${longest.start + longest.length - 1}: `
        + `${JSON.stringify(token.slice(longest.start, longest.start + longest.length))})`,
    );
  }
}
