// Shared by the store tests: the installed package, a redis-server of our
// own on a free loopback port, and child processes that report on stdout.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { closedPort, loadGrantkit as loadPackage, pkgDir } from '../e2e/helpers.mjs';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, '../..');
export { pkgDir as packageDir };

/** grantkit and grantkit/stores from the installed package, through its "exports". */
export async function loadGrantkit() {
  const gk = await loadPackage();
  const require = createRequire(path.join(pkgDir(), 'package.json'));
  const stores = await import(pathToFileURL(require.resolve('grantkit/stores')).href);
  return { gk, stores };
}

/** Starts Debian's redis-server on 127.0.0.1 (no persistence); stop() ends it. */
export async function startRedis() {
  const port = await closedPort();
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

/** The Redis clients the fleets take in turn. */
export const REDIS_CLIENTS = ['node-redis', 'node-redis-4', 'ioredis'];

/**
 * Spawns `n` processes of redis_child.mjs (clients taken in turn from
 * REDIS_CLIENTS) and resolves when each is ready to getToken on "go".
 */
export async function redisFleet(n, { redisUrl, tokenEndpoint, clientId, clientSecret, env = {} }) {
  const script = path.join(here, 'redis_child.mjs');
  const children = Array.from({ length: n }, (_, i) =>
    spawnChild(script, [REDIS_CLIENTS[i % REDIS_CLIENTS.length], redisUrl, tokenEndpoint, clientId], {
      CHILD_SECRET: clientSecret, ...env,
    }));
  await Promise.all(children.map((c) => c.waitFor('ready')));
  return children;
}
