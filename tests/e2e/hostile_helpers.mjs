// Shared helpers of the hostile-server suite (tests/e2e/hostile_*.test.mjs);
// not a test file itself. Everything here talks to 127.0.0.1 only.
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { inspect } from 'node:util';

import { errorText, pkgDir, runNode } from './helpers.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** Characters server text must never bring raw into err.message or a terminal. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]/u;

/** The first unsafe character of `text`, as U+XXXX, or undefined. */
export function firstUnsafe(text) {
  const m = UNSAFE.exec(String(text));
  return m ? `U+${m[0].codePointAt(0).toString(16).toUpperCase().padStart(4, '0')} at ${m.index}` : undefined;
}

/**
 * Assert that `text` holds no raw C0 / DEL / C1 control, bidi control or
 * zero-width character. `lines`: a trailing "\n" on each line is allowed
 * (terminal output), but no CR and no other control.
 */
export function assertCleanText(text, what = 'text', { lines = false } = {}) {
  let s = String(text);
  if (lines) s = s.split('\n').join('');
  const bad = firstUnsafe(s);
  assert.equal(bad, undefined, `${what} holds a raw control, bidi or zero-width character (${bad}): ${JSON.stringify(String(text).slice(0, 300))}`);
}

/** err.message is one clean line. */
export function assertCleanMessage(err, what = 'err.message') {
  assert.equal(typeof err?.message, 'string', `${what} is a string`);
  assertCleanText(err.message, what);
}

/** Terminal output of the CLI on failure: exactly one clean line on stderr. */
export function assertOneCleanLine(text, what = 'stderr') {
  assert.ok(text.endsWith('\n'), `${what} ends with a newline: ${JSON.stringify(text.slice(-200))}`);
  assert.equal(text.split('\n').length, 2, `${what} is one line: ${JSON.stringify(text.slice(0, 400))}`);
  assertCleanText(text, what, { lines: true });
}

/**
 * Signs of a wasm trap or a Rust panic in some text (a message, a stack).
 * (A GrantkitError's stack has wasm frames: it is made inside the module.)
 */
const TRAP = /RuntimeError|unreachable|memory access out of bounds|panicked|Maximum call stack/i;
/** On a terminal (stderr) even a wasm stack frame means something was thrown uncaught. */
const TRAP_TERMINAL = /RuntimeError|unreachable|memory access out of bounds|panicked|Maximum call stack|wasm:\/\/|wasm-function/i;

export function assertNoTrapText(text, what = 'text') {
  const m = TRAP.exec(String(text));
  assert.equal(m, null, `${what} shows a trap or panic (${m?.[0]}): ${String(text).slice(0, 600)}`);
}

export function assertNoTrapOnTerminal(text, what = 'stderr') {
  const m = TRAP_TERMINAL.exec(String(text));
  assert.equal(m, null, `${what} shows a trap, panic or stack (${m?.[0]}): ${String(text).slice(0, 600)}`);
}

/** An error is a grantkit error with `code`, its message clean and free of trap text. */
export function assertHostileError(err, code, extra = {}) {
  assert.ok(err instanceof Error, `expected an Error, got ${inspect(err)}`);
  assert.equal(err.name, 'GrantkitError', `name of ${inspect(err)}`);
  assert.equal(err.code, code, `code (${err.name}: ${err.message})`);
  for (const [k, v] of Object.entries(extra)) assert.deepEqual(err[k], v, `err.${k}`);
  assertCleanMessage(err);
  assertNoTrapText(`${err.message}\n${err.stack}`, 'the error');
}

/**
 * Await a promise that must reject; resolve to { err, ms }. A promise still
 * pending after `limitMs` fails the test (a hang) instead of stalling the run.
 */
export async function timedRejection(promise, limitMs = 15_000) {
  const t0 = Date.now();
  let timer;
  const hang = new Promise((_resolve, reject) => {
    timer = setTimeout(() => reject(new assert.AssertionError({ message: `still pending after ${limitMs} ms (a hang)` })), limitMs);
  });
  try {
    const value = await Promise.race([promise, hang]);
    assert.fail(`expected a rejection, got ${inspect(value, { depth: 3 })}`);
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    return { err, ms: Date.now() - t0 };
  } finally {
    clearTimeout(timer);
  }
  return undefined;
}

/** A summary of an error that survives JSON (for child processes). */
export function describeError(e) {
  if (!(e instanceof Error)) return { notError: true, text: inspect(e) };
  const out = { name: e.name, code: e.code, message: e.message, isError: true, text: errorText(e) };
  for (const k of ['status', 'step', 'field', 'error', 'error_description']) {
    if (e[k] !== undefined) out[k] = e[k];
  }
  return out;
}

const HELPERS_URL = pathToFileURL(path.join(HERE, 'helpers.mjs')).href;
const SELF_URL = pathToFileURL(path.join(HERE, 'hostile_helpers.mjs')).href;

/**
 * Run `body` (the text of an async function body; it sees `gk`, `h` (helpers),
 * `hh` (these helpers), `env` (the given JSON-able values) and `note(x)` (kept
 * in `notes`)) in a fresh `node` process against the installed package.
 * Resolves to { code, signal, stdout, stderr, result, ms } where result is
 * { ok, value } or { ok: false, error: describeError(e) }, plus uncaught
 * (uncaught exceptions and unhandled rejections) and notes.
 */
export function runInChild(body, { env = {}, timeoutMs = 20_000, nodeArgs = [] } = {}) {
  const script = `
import * as h from ${JSON.stringify(HELPERS_URL)};
import * as hh from ${JSON.stringify(SELF_URL)};
const uncaught = [];
process.on('uncaughtException', (e) => { uncaught.push('uncaught: ' + String(e && e.stack || e)); });
process.on('unhandledRejection', (e) => { uncaught.push('unhandled: ' + String(e && e.stack || e)); });
const gk = await h.loadGrantkit();
const env = JSON.parse(process.env.HOSTILE_CASE_ENV);
const notes = [];
const note = (x) => { notes.push(x); };
let out;
try {
  const value = await (async () => { ${body} })();
  out = { ok: true, value };
} catch (e) {
  out = { ok: false, error: hh.describeError(e) };
}
await new Promise((r) => setTimeout(r, 50));
out.uncaught = uncaught;
out.notes = notes;
process.stdout.write('\\nHOSTILE-RESULT ' + JSON.stringify(out) + '\\n');
`;
  return runNode([...nodeArgs, '--input-type=module', '-e', script], {
    env: { GRANTKIT_PKG_DIR: pkgDir(), HOSTILE_CASE_ENV: JSON.stringify(env) },
    timeoutMs,
  }).then((r) => {
    const line = r.stdout.split('\n').find((l) => l.startsWith('HOSTILE-RESULT '));
    return { ...r, result: line ? JSON.parse(line.slice('HOSTILE-RESULT '.length)) : undefined };
  });
}

/**
 * The child exited 0 on its own (no kill, no trap), printed a result, and
 * had no uncaught exception; stderr shows no trap or panic. Returns the result.
 */
export function assertChildSurvived(r, what = 'the child process') {
  const show = `exit ${r.code} ${r.signal ?? ''}\n--- stdout\n${r.stdout.slice(0, 2000)}\n--- stderr\n${r.stderr.slice(0, 2000)}`;
  assert.equal(r.signal, null, `${what} was killed (hang past its limit?)\n${show}`);
  // Exit 13: the top-level await never settled; a wasm panic leaves the
  // returned promise pending forever with nothing left to run.
  assert.notEqual(r.code, 13, `${what}: the call's promise never settled (a panic inside the wasm module?)\n${show}`);
  assert.equal(r.code, 0, `${what} failed\n${show}`);
  assert.ok(r.result, `${what} printed no result\n${show}`);
  assert.deepEqual(r.result.uncaught, [], `${what} had uncaught exceptions\n${show}`);
  assertNoTrapOnTerminal(r.stderr, `${what}'s stderr`);
  return r.result;
}

/** A child result that must be a grantkit error with `code`; returns the described error. */
export function assertChildError(r, code, extra = {}, what = 'the child process') {
  const result = assertChildSurvived(r, what);
  assert.equal(result.ok, false, `${what}: expected ${code}, got a value ${JSON.stringify(result.value)?.slice(0, 400)}`);
  const e = result.error;
  assert.equal(e.isError, true, `${what}: not an Error: ${e.text}`);
  assert.equal(e.name, 'GrantkitError', `${what}: ${e.name}: ${e.message}`);
  assert.equal(e.code, code, `${what}: code (${e.name}: ${e.message})`);
  for (const [k, v] of Object.entries(extra)) assert.deepEqual(e[k], v, `err.${k}`);
  assertCleanText(e.message, `${what}: err.message`);
  assertNoTrapText(e.text, `${what}: the error`);
  return e;
}

/** Assert none of `secrets` (raw, form- or URI-encoded) occurs in `text`. */
export function assertNoSecretText(text, secrets, what = 'text') {
  for (const s of secrets) {
    for (const f of new Set([s, encodeURIComponent(s)])) {
      assert.ok(!String(text).includes(f), `${what} contains the secret ${JSON.stringify(s)} (as ${JSON.stringify(f)})`);
    }
  }
}

/**
 * A raw TCP server on 127.0.0.1 for framing lies: onRequest(socket, head) is
 * called once the request head (and what of the body came with it) arrived.
 */
export async function startRawServer() {
  let onRequest = (socket) => socket.destroy();
  const sockets = new Set();
  const hits = [];
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buf = '';
    let done = false;
    socket.on('data', (d) => {
      if (done) return;
      buf += d.toString('latin1');
      if (buf.includes('\r\n\r\n')) {
        done = true;
        hits.push(buf);
        try { onRequest(socket, buf); } catch { socket.destroy(); }
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    origin: `http://127.0.0.1:${port}`,
    url: (p = '/token') => `http://127.0.0.1:${port}${p}`,
    hits,
    script(fn) { onRequest = fn; hits.length = 0; },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A JWT-shaped string (header.claims.signature) with these claims; not signed. */
export function fakeJwt(claims, header = { alg: 'RS256', typ: 'JWT' }) {
  const b = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b(header)}.${b(claims)}.${Buffer.from('signature-bytes').toString('base64url')}`;
}

/** The bound, in ms, within which a time-limited call must have ended. */
export function assertWithin(ms, limitMs, what = 'the call') {
  assert.ok(ms <= limitMs, `${what} took ${ms} ms (limit ${limitMs} ms)`);
}
