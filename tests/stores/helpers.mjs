// Shared by the store tests: the installed package, a redis-server of our
// own on a free loopback port, and child processes that report on stdout.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, '../..');

/** The installed package's directory (tests/stores/run.sh sets GRANTKIT_PKG_DIR). */
export function packageDir() {
  const dir = process.env.GRANTKIT_PKG_DIR;
  assert.ok(dir, 'GRANTKIT_PKG_DIR is not set: run tests/stores/run.sh');
  return dir;
}

/** grantkit and grantkit/stores from the installed package. */
export async function loadGrantkit() {
  const dir = packageDir();
  const gk = await import(pathToFileURL(path.join(dir, 'index.node.js')).href);
  const stores = await import(pathToFileURL(path.join(dir, 'stores.js')).href);
  return { gk, stores };
}

export async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts Debian's redis-server on 127.0.0.1 (no persistence); stop() ends it. */
export async function startRedis() {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxclients', '1000'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  const deadline = Date.now() + 10_000;
  while (!/Ready to accept connections/.test(log)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A connected client of `kind` ("node-redis", "node-redis-4" or "ioredis"). */
export async function redisClient(kind, url) {
  const modules = path.join(here, 'node_modules');
  if (kind === 'ioredis') {
    const { default: Redis } = await import(pathToFileURL(path.join(modules, 'ioredis/built/index.js')).href);
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await client.connect();
    return { client, close: () => client.quit() };
  }
  const pkg = kind === 'node-redis-4' ? 'redis4' : 'redis';
  const { createRequire } = await import('node:module');
  const { createClient } = createRequire(path.join(modules, 'x.js'))(pkg);
  const client = createClient({ url });
  await client.connect();
  return { client, close: () => client.quit() };
}

/**
 * Spawns `node script args...`; each line it prints is JSON, collected in
 * `messages`; waitFor(type) resolves with the first message of that type.
 */
export function spawnChild(script, args, env = {}) {
  const child = spawn(process.execPath, [script, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const messages = [];
  const waiters = [];
  let stderr = '';
  let buffer = '';
  child.stdout.on('data', (chunk) => {
    buffer += chunk;
    let newline;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      const message = JSON.parse(line);
      messages.push(message);
      for (const w of waiters.filter((w) => w.type === message.type)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(message);
      }
    }
  });
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    messages,
    exited,
    get stderr() { return stderr; },
    waitFor(type) {
      const seen = messages.find((m) => m.type === type);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ type, resolve });
        exited.then(({ code, signal }) => reject(new Error(`child exited (${code ?? signal}) before "${type}": ${stderr}`)));
      });
    },
    send(line) { child.stdin.write(`${line}\n`); },
  };
}
