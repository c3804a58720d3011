// Running the benchmark's workers in workerd, as tests/matrix does: each
// worker source in workerd/ is bundled by esbuild with the package's workerd
// entry as `grantkit` (a deploy bundles the same way), grantkit's wasm kept
// a module of its own, and served by a `workerd serve` of its own on
// 127.0.0.1 whose outbound network reaches loopback only.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import workerdPackage from 'workerd';

import { HERE, PKG, ROOT } from './lib.mjs';

/** The workerd binary itself (not a launcher), so that its pid is the one whose CPU time counts. */
export const WORKERD = workerdPackage.default;
export const WORKERD_VERSION = workerdPackage.version;

const SCRATCH = path.join(ROOT, 'target', 'bench', 'workerd');
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));

/** Bundles workerd/SOURCE into target/bench/workerd/NAME/ and writes its config; returns the config's path. */
export async function prepareWorker(name, source) {
  const dir = path.join(SCRATCH, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const bundle = await esbuild.build({
    entryPoints: [path.join(HERE, 'workerd', source)],
    outfile: path.join(dir, 'worker.mjs'),
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    alias: { grantkit: path.join(PKG, 'index.workerd.js') },
    external: ['*.wasm'],
    metafile: true,
    logLevel: 'warning',
  });
  const modules = ['(name = "worker.mjs", esModule = embed "worker.mjs")'];
  if (Object.values(bundle.metafile.outputs)[0].imports.some((i) => i.path.endsWith('grantkit_bg.wasm'))) {
    fs.copyFileSync(path.join(PKG, 'grantkit_bg.wasm'), path.join(dir, 'grantkit_bg.wasm'));
    modules.push('(name = "grantkit_bg.wasm", wasm = embed "grantkit_bg.wasm")');
  }
  const config = path.join(dir, 'config.capnp');
  fs.writeFileSync(config, `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .benchWorker),
    (name = "loopback", network = (allow = ["local"])),
  ],
  # The port is given on the command line (--socket-addr).
  sockets = [ (name = "http", address = "127.0.0.1:0", http = (), service = "main") ],
);

const benchWorker :Workerd.Worker = (
  modules = [ ${modules.join(', ')} ],
  compatibilityDate = "2025-09-01",
  globalOutbound = "loopback",
);
`);
  return config;
}

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Resolves when something accepts a TCP connection on port; no HTTP request is sent. */
async function accepting(port, child, deadline) {
  for (;;) {
    const ok = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => { socket.destroy(); resolve(true); });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error('workerd did not start');
    await new Promise((r) => { setTimeout(r, 2); });
  }
}

/**
 * Starts `workerd serve CONFIG` and resolves when it accepts connections:
 * {url, pid, startup (ms from spawn), cpuSeconds(), stop(), log()}.
 */
export async function startWorkerd(config) {
  const port = await freePort();
  const spawned = performance.now();
  const child = spawn(WORKERD, ['serve', config, '--socket-addr', `http=127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  const errors = [];
  child.stderr.on('data', (d) => errors.push(d));
  const exited = new Promise((resolve) => { child.on('close', resolve); });
  const log = () => Buffer.concat(errors).toString().slice(-1000);
  const stop = async () => { child.kill('SIGTERM'); await exited; };
  try {
    await accepting(port, child, Date.now() + 20_000);
  } catch (e) {
    await stop();
    throw new Error(`${e.message}: ${log()}`);
  }
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    startup: performance.now() - spawned,
    /** utime + stime of the workerd process, from /proc (in clock ticks, 10 ms each on Linux). */
    cpuSeconds: () => {
      const fields = fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
    },
    stop,
    log,
  };
}
