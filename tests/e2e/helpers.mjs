// Shared helpers of the end-to-end tests (not a test file itself).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { inspect } from 'node:util';
import { pathToFileURL } from 'node:url';

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
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath(), ...args], {
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
        code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    child.stdin.on('error', () => {}); // the CLI may exit without reading stdin
    if (stdin !== undefined) child.stdin.end(stdin);
    else child.stdin.end();
  });
}

/** Describe a CLI run for assertion messages. */
export function show(r) {
  return `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}
