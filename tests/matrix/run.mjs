// The runtime matrix: one scenario (tests/matrix/scenario.mjs) run against
// the local identity provider by the PACKED package in Node 20, Node 22,
// Deno, Bun, workerd, a Chromium page and a Chromium module worker. Prints
// one table, runtime x step -> pass / FAIL, then `N passed, M failed`
// (cells); exits 1 if any cell failed. A runtime that cannot run at all
// fails all its cells.
//
//   make test-matrix      (builds target/npm/grantkit.tgz, runs tests/matrix/setup.sh, then this)
//   node tests/matrix/run.mjs [--only RUNTIME,...]
//
// 1. installs target/npm/grantkit.tgz into the scratch dir tests/matrix/.tmp/
//    (a fresh copy each run) and puts the runners next to it, so `grantkit`
//    resolves through the installed package.json "exports" in Node, Deno and
//    Bun; workerd gets the package's "workerd" entry, the browsers its
//    "browser" entry (an import map in the page, by URL in the worker);
// 2. starts the IdP (tests/idp/server.mjs, device polling every second), the
//    resource server (tests/idp/resource_server.mjs, with CORS for the page)
//    and a control server on 127.0.0.1 that hands the scenario its
//    parameters, serves the browser files, approves device codes and signs
//    the user in for an authorization code login through the IdP's pages
//    (playing the browser) and judges each step (tests/matrix/checks.mjs);
// 3. runs the runtimes one after another (each step's requests are then
//    exactly the ones the IdP and the resource server recorded during it).
// The runtimes are the npm packages pinned in tests/matrix/package.json and
// Debian's chromium (tests/matrix/setup.sh installs them).
import { spawn, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { CLIENTS, USERS, startIdp } from '../idp/server.mjs';
import { startResourceServer } from '../idp/resource_server.mjs';
import { approveDevice } from '../idp/device_approve.mjs';
import { signIn } from '../idp/browser_login.mjs';
import { verdict } from './checks.mjs';
import { STEPS } from './scenario.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const TARBALL = path.join(ROOT, 'target', 'npm', 'grantkit.tgz');
const SCRATCH = path.join(HERE, '.tmp');
const BIN = path.join(HERE, 'node_modules', '.bin');
const CHROMIUM = '/usr/bin/chromium';
const RUNTIME_TIMEOUT_MS = 120_000;

const RUNTIMES = ['node20', 'node22', 'deno', 'bun', 'workerd', 'chromium_page', 'chromium_worker'];

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

function log(message) {
  process.stderr.write(`matrix: ${message}\n`);
}

// ---------------------------------------------------------------------------
// The packed package, installed as a user would.

function installPackage() {
  if (!fs.existsSync(TARBALL)) throw new Error(`${TARBALL} is missing: run make build`);
  fs.rmSync(SCRATCH, { recursive: true, force: true });
  fs.mkdirSync(SCRATCH, { recursive: true });
  fs.writeFileSync(path.join(SCRATCH, 'package.json'), '{ "name": "grantkit-matrix-scratch", "version": "0.0.0", "private": true, "type": "module" }\n');
  execFileSync('npm', ['install', '--prefix', SCRATCH, '--no-save', '--no-audit', '--no-fund', '--no-package-lock', TARBALL], { stdio: ['ignore', 'ignore', 'inherit'] });
  const pkgDir = path.join(SCRATCH, 'node_modules', 'grantkit');
  const manifest = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
  for (const file of ['scenario.mjs', 'runner.mjs']) fs.copyFileSync(path.join(HERE, file), path.join(SCRATCH, file));
  const exportsOf = manifest.exports['.'];
  return {
    pkgDir,
    nodeEntry: path.join(pkgDir, exportsOf.node),
    browserEntry: exportsOf.browser, // relative, e.g. ./index.browser.js
    workerdEntry: exportsOf.workerd,
  };
}

// ---------------------------------------------------------------------------
// The control server: parameters, step marks and verdicts, device approval,
// and the browser files.

function parameters(idp, rs) {
  return {
    tokenEndpoint: idp.tokenEndpoint,
    issuer: idp.issuer,
    discoveryCallers: 10,
    deviceAuthorizationEndpoint: idp.deviceAuthorizationEndpoint,
    ccBasic: { clientId: CLIENTS.ccBasic.client_id, clientSecret: CLIENTS.ccBasic.client_secret },
    ccPost: { clientId: CLIENTS.ccPost.client_id, clientSecret: CLIENTS.ccPost.client_secret },
    pwClient: { clientId: CLIENTS.pwClient.client_id, clientSecret: CLIENTS.pwClient.client_secret },
    user: { username: 'alice', password: USERS.alice.password },
    passwordScope: 'openid offline_access api:read',
    serviceAccount: {
      id: 'svc-fixture',
      clientId: CLIENTS.serviceAccount.client_id,
      jwk: JSON.parse(fs.readFileSync(path.join(ROOT, 'tests', 'fixtures', 'rsa2048.jwk.json'), 'utf8')),
      publicJwk: JSON.parse(fs.readFileSync(path.join(ROOT, 'tests', 'fixtures', 'rsa2048.public.jwk.json'), 'utf8')),
    },
    deviceClientId: CLIENTS.devicePublic.client_id,
    // A native public client: a loopback redirect URI on any port (RFC 8252
    // §7.3). Nothing listens there: the harness stops at the redirect.
    login: { clientId: CLIENTS.loginPublic.client_id, redirectUri: 'http://127.0.0.1:51002/callback', scope: 'openid profile' },
    deviceScope: 'openid offline_access api:read',
    concurrentCallers: 50,
    resourceOrigin: rs.origin,
    resourceUrl: rs.url,
    // Another origin (another host name) for the same server: must be refused unsent.
    foreignUrl: `http://localhost:${rs.port}/api/foreign`,
    subscriptionKey: 'matrix-subscription-key',
    apiCallerId: 'matrix@example.test',
  };
}

const CONTENT_TYPES = {
  '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html', '.json': 'application/json', '.ts': 'text/plain',
};

async function readJson(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
}

function startControl({ idp, rs, install, results }) {
  const params = parameters(idp, rs);
  const marks = new Map(); // runtime -> { step, idp, rs, approval }

  function pageHtml() {
    const imports = { grantkit: `/pkg/${install.browserEntry.replace(/^\.\//, '')}` };
    return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>grantkit runtime matrix</title>
<meta name="grantkit-entry" content="${imports.grantkit}">
<script type="importmap">${JSON.stringify({ imports })}</script>
<script type="module" src="/browser/page.mjs"></script>
</head><body></body></html>`;
  }

  function serveFile(res, file) {
    if (!fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    res.end(fs.readFileSync(file));
  }

  async function post(route, body) {
    const { runtime } = body;
    if (!RUNTIMES.includes(runtime)) throw new Error(`unknown runtime ${runtime}`);
    if (route === '/params') return params;
    if (route === '/begin') {
      // The device step starts 400 ms into a second of the clock, and its
      // onPrompt returns just after the next whole second (below): a client
      // that counts time in whole seconds then polls at once, ~0.6 s early.
      if (body.step === 'device') await sleep((1400 - (Date.now() % 1000)) % 1000);
      marks.set(runtime, { step: body.step, idp: idp.requests.length, rs: rs.calls.length, approval: undefined });
      return {};
    }
    const mark = marks.get(runtime);
    if (route === '/authorize') {
      // The browser of an authorization code login: the harness follows
      // the URL through the IdP's login and consent pages as alice, up to
      // the redirect to the client, which it hands back. Only the IdP's
      // authorization endpoint is followed.
      const url = new URL(body.url);
      if (url.origin + url.pathname !== idp.authorizationEndpoint) throw new Error(`/authorize of ${url.origin}${url.pathname}, not the IdP's authorization endpoint`);
      if (mark?.authorize) throw new Error('a second /authorize in one step');
      mark.authorize = { url: body.url };
      const { callbackUrl } = await signIn({ url: body.url, username: params.user.username, password: params.user.password });
      mark.authorize.callbackUrl = callbackUrl;
      return { callbackUrl };
    }
    if (route === '/device-prompt') {
      // Approved in the background once the first poll has been answered
      // authorization_pending, so the step polls at least twice.
      const { prompt } = body;
      mark.promptAt = Date.now();
      const polls = () => idp.requests.slice(mark.idp).filter((r) => r.path === '/token').length;
      mark.approval = (async () => {
        const deadline = Date.now() + 10_000;
        while (polls() === 0) {
          if (Date.now() > deadline) throw new Error('no poll within 10 s of the prompt');
          await sleep(20);
        }
        await sleep(50); // its answer is on its way
        return approveDevice({
          verificationUri: prompt.verification_uri, userCode: prompt.user_code, username: params.user.username, password: params.user.password,
        });
      })().catch((e) => ({ outcome: 'failed', message: e.message }));
      // onPrompt returns just after the clock's next whole second, as a
      // prompt that takes a moment would: the first poll must still wait
      // until `interval` after the code (a client counting whole seconds
      // polls at once).
      await sleep(1000 - (Date.now() % 1000) + 30);
      return { accepted: true };
    }
    if (route === '/end') {
      if (mark?.step !== body.step) throw new Error(`/end of ${body.step} without its /begin`);
      const recorded = idp.requests.slice(mark.idp);
      const ctx = {
        idp,
        params: { ...params, runtime },
        observed: body.observed,
        error: body.error,
        tokenRequests: recorded.filter((r) => r.method === 'POST' && r.path === '/token'),
        deviceRequests: recorded.filter((r) => r.method === 'POST' && r.path === '/device/auth'),
        discoveryRequests: recorded.filter((r) => r.method === 'GET' && r.path.startsWith('/.well-known/')),
        jwksRequests: recorded.filter((r) => r.method === 'GET' && r.path === new URL(idp.jwksUri).pathname),
        authorize: mark.authorize,
        rsCalls: rs.calls.slice(mark.rs),
        rsNonce: rs.dpopNonce,
        approval: mark.approval,
        promptAt: mark.promptAt,
      };
      const v = await verdict(body.step, ctx);
      results[runtime][body.step] = v;
      log(`${runtime} ${body.step}: ${v.pass ? 'pass' : 'FAIL'} (${v.detail})`);
      return v;
    }
    throw new Error(`no route ${route}`);
  }

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    try {
      if (req.method === 'POST') {
        const answer = await post(url.pathname, await readJson(req));
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer));
      } else if (url.pathname === '/page.html') {
        res.writeHead(200, { 'content-type': 'text/html', 'cache-control': 'no-store' });
        res.end(pageHtml());
      } else if (url.pathname === '/scenario.mjs') {
        serveFile(res, path.join(HERE, 'scenario.mjs'));
      } else if (/^\/browser\/[a-z]+\.mjs$/.test(url.pathname)) {
        serveFile(res, path.join(HERE, url.pathname));
      } else if (url.pathname.startsWith('/pkg/') && !url.pathname.includes('..')) {
        serveFile(res, path.join(install.pkgDir, url.pathname.slice('/pkg/'.length)));
      } else {
        res.writeHead(404).end();
      }
    } catch (e) {
      log(`control ${req.method} ${url.pathname}: ${e.message}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(e.message);
    }
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({
      url: `http://127.0.0.1:${server.address().port}`,
      close: () => new Promise((r) => { server.close(() => r()); server.closeAllConnections(); }),
    }));
  });
}

// ---------------------------------------------------------------------------
// The runtimes.

/** Run a command to its end (killed after the time limit): {code, stdout, stderr}. */
function run(command, args, { cwd = SCRATCH, timeoutMs = RUNTIME_TIMEOUT_MS } = {}) {
  return new Promise((resolve) => {
    let child;
    try {
      child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    } catch (e) {
      resolve({ code: null, stdout: '', stderr: e.message });
      return;
    }
    const out = [];
    const err = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    const timer = setTimeout(() => { err.push(Buffer.from(`\n(killed after ${timeoutMs} ms)`)); child.kill('SIGKILL'); }, timeoutMs);
    child.on('error', (e) => err.push(Buffer.from(String(e.message))));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

/** The report line a CLI runner printed; throws with its output otherwise. */
function cliReport(result, install) {
  const line = result.stdout.trim().split('\n').at(-1) ?? '';
  let report;
  try { report = JSON.parse(line); } catch { report = undefined; }
  if (result.code !== 0 || !report) {
    throw new Error(`exit ${result.code}: ${(result.stderr || result.stdout).trim().split('\n').filter((l) => l.trim()).slice(0, 4).join(' | ')}`);
  }
  const entry = fileURLToPath(report.entry);
  if (fs.realpathSync(entry) !== fs.realpathSync(install.nodeEntry)) {
    throw new Error(`"grantkit" resolved to ${entry}, not the installed ${install.nodeEntry}`);
  }
  return report;
}

async function version(command, args) {
  const r = await run(command, args, { timeoutMs: 20_000 });
  return r.code === 0 ? r.stdout.trim().split('\n')[0] : `(${command} does not run: ${r.stderr.trim().split('\n')[0]})`;
}

function freePort() {
  return new Promise((resolve) => {
    const s = http.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * The package files a module reaches through relative imports, the module
 * itself first (workerd has no resolver: each one is listed by name).
 */
function reachableFiles(pkgDir, entry) {
  const seen = new Set();
  const visit = (name) => {
    if (seen.has(name)) return;
    seen.add(name);
    if (!name.endsWith('.js')) return;
    const text = fs.readFileSync(path.join(pkgDir, name), 'utf8');
    for (const m of text.matchAll(/(?:\bfrom|^\s*import)\s*["'](\.\/[^"']+)["']/gm)) {
      visit(path.posix.normalize(path.posix.join(path.posix.dirname(name), m[1])));
    }
  };
  visit(path.posix.normalize(entry));
  return [...seen];
}

/** A workerd config: the package's workerd entry as the module "grantkit", outbound to loopback only. */
function workerdConfig(install, port) {
  const dir = path.join(SCRATCH, 'workerd');
  fs.mkdirSync(dir, { recursive: true });
  const embed = (from, name) => {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.copyFileSync(from, path.join(dir, name));
    return name;
  };
  // Module names keep their directories (snippets/...): workerd resolves a
  // relative import against the importing module's name.
  const [entry, ...rest] = reachableFiles(install.pkgDir, install.workerdEntry);
  const modules = [
    `(name = "worker.mjs", esModule = embed "${embed(path.join(HERE, 'workerd_worker.mjs'), 'worker.mjs')}")`,
    `(name = "scenario.mjs", esModule = embed "${embed(path.join(HERE, 'scenario.mjs'), 'scenario.mjs')}")`,
    // The entry's own imports (./grantkit.js, ./grantkit_bg.wasm) resolve to siblings of "grantkit".
    `(name = "grantkit", esModule = embed "${embed(path.join(install.pkgDir, entry), entry)}")`,
    ...rest.map((f) => `(name = "${f}", ${f.endsWith('.wasm') ? 'wasm' : 'esModule'} = embed "${embed(path.join(install.pkgDir, f), f)}")`),
  ];
  const config = `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .matrixWorker),
    # Outbound fetches reach loopback only (the IdP, the resource server, the harness).
    (name = "loopback", network = (allow = ["local"])),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);

const matrixWorker :Workerd.Worker = (
  modules = [
    ${modules.join(',\n    ')},
  ],
  compatibilityDate = "2025-09-01",
  compatibilityFlags = ["nodejs_compat"],
  globalOutbound = "loopback",
);
`;
  const file = path.join(dir, 'config.capnp');
  fs.writeFileSync(file, config);
  return file;
}

async function runWorkerd(install, controlUrl) {
  const port = await freePort();
  const config = workerdConfig(install, port);
  const child = spawn(path.join(BIN, 'workerd'), ['serve', config], { cwd: SCRATCH, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = [];
  child.stdout.on('data', (d) => output.push(d));
  child.stderr.on('data', (d) => output.push(d));
  const exited = new Promise((resolve) => { child.on('close', resolve); child.on('error', (e) => { output.push(Buffer.from(e.message)); resolve(null); }); });
  const tail = () => Buffer.concat(output).toString('utf8').trim().split('\n').slice(-6).join(' | ');
  try {
    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        await fetch(`${base}/ready`, { signal: AbortSignal.timeout(1000) });
        break;
      } catch {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`workerd did not start: ${tail()}`);
        await new Promise((r) => { setTimeout(r, 100); });
      }
    }
    // Outbound is loopback only: an address outside it must be refused
    // (192.0.2.1, TEST-NET-1: never routed), else the runtime is not the one specified.
    const probe = await (await fetch(`${base}/probe?url=${encodeURIComponent('http://192.0.2.1/')}`)).json();
    // The script sees only "internal error"; workerd logs the reason.
    await new Promise((r) => { setTimeout(r, 100); });
    const denied = /connecting to 192\.0\.2\.1:80 is not allowed/.test(Buffer.concat(output).toString('utf8'));
    if (!probe.refused || !denied) throw new Error(`workerd's outbound network is not limited to loopback: ${JSON.stringify(probe)} ${tail()}`);
    log('workerd: a fetch to 192.0.2.1 is refused ("connecting to 192.0.2.1:80 is not allowed")');
    const res = await fetch(`${base}/run?${new URLSearchParams({ runtime: 'workerd', control: controlUrl })}`, { signal: AbortSignal.timeout(RUNTIME_TIMEOUT_MS) });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`workerd /run answered ${res.status}: ${text.slice(0, 300)} ${tail()}`);
    return JSON.parse(text);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

// One Chromium for both browser rows, launched on first use.
let browserPromise;
function chromiumBrowser() {
  browserPromise ??= import('playwright-core').then(({ chromium }) => chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless=new', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  }));
  return browserPromise;
}

async function runChromium(install, controlUrl, mode, runtime) {
  const problems = [];
  let context;
  try {
    const browser = await chromiumBrowser();
    context = await browser.newContext();
    const page = await context.newPage();
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    await page.goto(`${controlUrl}/page.html?${new URLSearchParams({ runtime, mode })}`);
    let timer;
    const report = await Promise.race([
      page.evaluate(() => window.matrixReport),
      new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`no report within ${RUNTIME_TIMEOUT_MS} ms`)), RUNTIME_TIMEOUT_MS); }),
    ]).finally(() => clearTimeout(timer));
    const scope = mode === 'worker' ? '[object DedicatedWorkerGlobalScope]' : '[object Window]';
    if (report.global !== scope) throw new Error(`the scenario ran in ${report.global}, not ${scope}`);
    const expected = `${controlUrl}/pkg/${install.browserEntry.replace(/^\.\//, '')}`;
    if (new URL(report.entry, controlUrl).href !== expected) {
      throw new Error(`"grantkit" was ${report.entry}, not ${expected}`);
    }
    return report;
  } catch (e) {
    throw new Error(`${e.message.split('\n')[0]}${problems.length ? ` (${problems.slice(-3).join(' | ')})` : ''}`);
  } finally {
    await context?.close();
  }
}

// ---------------------------------------------------------------------------

function printTable(results, labels) {
  const short = { token_source_single_flight: 'single_flight', authorized_fetch: 'authorized_fetch', authorization_code: 'auth_code' };
  const headers = ['runtime', ...STEPS.map((s) => short[s] ?? s)];
  const rows = Object.keys(results).map((rt) => [labels[rt], ...STEPS.map((s) => (results[rt][s]?.pass ? 'pass' : 'FAIL'))]);
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  const out = [line(headers), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)];
  process.stdout.write(`${out.join('\n')}\n`);
}

async function main() {
  const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1].split(',') : RUNTIMES;
  const started = Date.now();
  const install = installPackage();
  log(`installed ${TARBALL} into ${path.relative(ROOT, install.pkgDir)}`);
  const idp = await startIdp({ deviceIntervalSeconds: 1 });
  // DPoP calls must carry the API's nonce (Bearer calls are not affected).
  const rs = await startResourceServer({ idp, cors: true, dpopNonce: true });
  const results = Object.fromEntries(only.map((rt) => [rt, {}]));
  const control = await startControl({ idp, rs, install, results });

  const nodeMajor = Number(process.versions.node.split('.')[0]);
  const labels = {
    node20: `Node ${process.versions.node}`,
    node22: `Node ${(await version(path.join(BIN, 'node'), ['--version'])).replace(/^v/, '')}`,
    deno: `Deno ${(await version(path.join(BIN, 'deno'), ['--version'])).replace(/^deno /, '').split(' ')[0]}`,
    bun: `Bun ${await version(path.join(BIN, 'bun'), ['--version'])}`,
    workerd: `workerd ${(await version(path.join(BIN, 'workerd'), ['--version'])).replace(/^workerd /, '')}`,
    chromium_page: 'Chromium page',
    chromium_worker: 'Chromium worker',
  };
  const chromiumVersion = (await version(CHROMIUM, ['--version'])).match(/Chromium ([\d.]+)/)?.[1];
  if (chromiumVersion) {
    labels.chromium_page = `Chromium ${chromiumVersion} page`;
    labels.chromium_worker = `Chromium ${chromiumVersion} worker`;
  }

  const runners = {
    node20: async () => {
      if (nodeMajor !== 20) throw new Error(`the harness runs on Node ${process.versions.node}, not Node 20`);
      return cliReport(await run(process.execPath, ['runner.mjs', 'node20', control.url]), install);
    },
    node22: async () => cliReport(await run(path.join(BIN, 'node'), ['runner.mjs', 'node22', control.url]), install),
    deno: async () => cliReport(await run(path.join(BIN, 'deno'), [
      'run', '--no-prompt', '--allow-net=127.0.0.1', `--allow-read=${SCRATCH}`, 'runner.mjs', 'deno', control.url,
    ]), install),
    bun: async () => cliReport(await run(path.join(BIN, 'bun'), ['runner.mjs', 'bun', control.url]), install),
    workerd: () => runWorkerd(install, control.url),
    chromium_page: () => runChromium(install, control.url, 'page', 'chromium_page'),
    chromium_worker: () => runChromium(install, control.url, 'worker', 'chromium_worker'),
  };

  const failures = [];
  for (const runtime of only) {
    const t0 = Date.now();
    log(`${labels[runtime]}: running`);
    try {
      const report = await runners[runtime]();
      log(`${labels[runtime]}: the scenario ran in ${report.global}`);
    } catch (e) {
      failures.push(`${labels[runtime]}: ${e.message}`);
      log(`${labels[runtime]}: ${e.message}`);
    }
    for (const step of STEPS) {
      results[runtime][step] ??= { pass: false, detail: 'no result (the runtime stopped before this step ended)' };
    }
    log(`${labels[runtime]}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }

  if (browserPromise) await (await browserPromise.catch(() => undefined))?.close();
  await control.close();
  await rs.close();
  await idp.close();

  for (const runtime of only) {
    for (const step of STEPS) {
      const r = results[runtime][step];
      if (!r.pass) failures.push(`${labels[runtime]} / ${step}: ${r.detail}`);
    }
  }
  if (failures.length) process.stdout.write(`\nFailures:\n${failures.map((f) => `  ${f}`).join('\n')}\n\n`);
  printTable(results, labels);
  const cells = only.flatMap((rt) => STEPS.map((s) => results[rt][s].pass));
  const passed = cells.filter(Boolean).length;
  process.stdout.write(`${passed} passed, ${cells.length - passed} failed\n`);
  log(`took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.exitCode = passed === cells.length ? 0 : 1;
}

await main();
