// The bundler matrix: builds app/ (which imports "grantkit" from the packed
// tarball) with each bundler, unconfigured, serves the output on 127.0.0.1,
// loads it in Chromium and prints one table, bundler/mode x scenario.
//   node tests/bundlers/run.mjs [ROW-FILTER]   (tests/bundlers/setup.sh installs first)
// Exit status 1 when any cell failed.
import { chromium } from "playwright-core";
import { spawn } from "node:child_process";
import { cp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { createServer } from "node:net";
import { serveProxy, serveStatic, serveTokenEndpoint } from "./serve.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const work = join(here, ".work");
const bin = (name) => join(here, "node_modules", ".bin", name);
const vite = (major) => join(here, "node_modules", `vite${major}`, "bin", "vite.js");

// The CSP the README documents, and the same without 'wasm-unsafe-eval'.
const CSP_OK = "script-src 'self' 'wasm-unsafe-eval'; connect-src 'self' http://127.0.0.1:* ws://127.0.0.1:*";
const CSP_BLOCKED = "script-src 'self'; connect-src 'self' http://127.0.0.1:* ws://127.0.0.1:*";
const cspFor = (url) => ({ "content-security-policy": url.searchParams.has("blocked") ? CSP_BLOCKED : CSP_OK });

const COLUMNS = ["decodeJwt", "getToken", "INVALID_CONFIG", "CSP blocks wasm: catchable"];

function run(command, args, { cwd = here, env = {} } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(output) : reject(new Error(`${command} ${args.join(" ")} exited ${code}:\n${output.slice(-3000)}`))));
  });
}

// Dev servers still running when the run ends (a row that timed out) are stopped on exit.
const devServers = new Set();
process.on("exit", () => devServers.forEach((child) => child.kill("SIGTERM")));

/** Starts a dev server and resolves to { url, stop } once it answers. */
async function devServer(command, args, port) {
  const child = spawn(command, args, { cwd: here, stdio: ["ignore", "pipe", "pipe"] });
  devServers.add(child);
  child.on("close", () => devServers.delete(child));
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  const stop = () => new Promise((r) => { if (child.exitCode !== null) return r(); child.on("close", r); child.kill("SIGTERM"); });
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`dev server exited ${child.exitCode}:\n${output.slice(-3000)}`);
    try {
      if ((await fetch(url)).ok) return { url, stop };
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`dev server did not answer on ${url}:\n${output.slice(-3000)}`);
}

/** The app's sources with "grantkit" replaced by `specifier`. */
async function appSource(specifier) {
  if (specifier === "grantkit") return join(here, "app");
  const dir = join(work, `app-${specifier.replace(/\W/g, "-")}`);
  await rm(dir, { recursive: true, force: true });
  await cp(join(here, "app"), dir, { recursive: true });
  const app = join(dir, "app.js");
  await writeFile(app, (await readFile(app, "utf8")).replace('from "grantkit"', `from "${specifier}"`));
  return dir;
}

async function bundle(name, build, { specifier = "grantkit" } = {}) {
  const src = await appSource(specifier);
  const out = join(work, "out", name.replace(/\W+/g, "-"));
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  await build(src, out);
  // Bundlers other than Vite only bundle main.js; the page is the app's own.
  await cp(join(src, "index.html"), join(out, "index.html"), { force: false, errorOnExist: false });
  const server = await serveStatic(out, cspFor);
  return { url: server.url, stop: server.close };
}

/** A port nobody listens on now (other jobs share this machine). */
function freePort() {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

async function viteDev(major) {
  const port = await freePort();
  await rm(join(here, "node_modules", ".vite"), { recursive: true, force: true });
  const dev = await devServer(process.execPath, [vite(major), "app", "--host", "127.0.0.1", "--port", String(port), "--strictPort"], port);
  const proxy = await serveProxy(dev.url, cspFor);
  return { url: proxy.url, stop: async () => { await proxy.close(); await dev.stop(); } };
}

const viteBuild = (major) => (src, out) => run(process.execPath, [vite(major), "build", src, "--outDir", out, "--emptyOutDir", "--logLevel", "warn"]);
const webpack = (src, out) => run(process.execPath, [join(here, "node_modules", "webpack-cli", "bin", "cli.js"), join(src, "main.js"), "--mode", "production", "--output-path", out]);
const esbuild = (src, out) => run(bin("esbuild"), [join(src, "main.js"), "--bundle", "--format=esm", `--outdir=${out}`, "--log-level=warning"]);
// The one line rollup needs: it resolves no package without the node-resolve plugin.
const rollup = (src, out) => run(bin("rollup"), [join(src, "main.js"), "-d", out, "-f", "es", "-p", "@rollup/plugin-node-resolve", "--silent"]);
const bunBuild = (src, out) => run(bin("bun"), ["build", join(src, "main.js"), "--outdir", out]);

const ROWS = [];
for (const major of [5, 6, 7, 8]) {
  ROWS.push({ name: `vite ${major} build`, start: () => bundle(`vite${major}`, viteBuild(major)) });
  ROWS.push({ name: `vite ${major} dev`, start: () => viteDev(major) });
}
ROWS.push({ name: "webpack 5", start: () => bundle("webpack", webpack) });
ROWS.push({ name: "esbuild", start: () => bundle("esbuild", esbuild) });
ROWS.push({ name: "rollup + node-resolve", start: () => bundle("rollup", rollup) });
ROWS.push({ name: "bun build", start: () => bundle("bun", bunBuild) });
// grantkit/wasm-url (a separate .wasm asset, top-level await) where the README says it works.
for (const major of [7, 8]) {
  ROWS.push({ name: `vite ${major} build, grantkit/wasm-url`, start: () => bundle(`vite${major}-wasm-url`, viteBuild(major), { specifier: "grantkit/wasm-url" }) });
}
ROWS.push({ name: "webpack 5, grantkit/wasm-url", start: () => bundle("webpack-wasm-url", webpack, { specifier: "grantkit/wasm-url" }) });
ROWS.push({ name: "node require()", node: "require" });
ROWS.push({ name: "node import", node: "import" });

/** Loads the app in a fresh Chromium context; resolves to the page's results. */
async function loadPage(browser, url) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(url);
    // A dev server may reload the page once after optimising dependencies.
    await page.waitForFunction(() => window.__results, null, { timeout: 15_000 }).catch(() => {});
    return (await page.evaluate(() => window.__results).catch(() => undefined)) ?? { load: `FAIL: no results ${errors.join("; ").slice(0, 300)}` };
  } finally {
    await context.close();
  }
}

/** The same checks in Node, through require() or import of the installed package. */
async function nodeRow(how, idp) {
  const script = `
    const gk = ${how === "require" ? 'require("grantkit")' : 'await import("grantkit")'};
    const r = {};
    const b64 = (v) => Buffer.from(JSON.stringify(v)).toString("base64url");
    try { r.decodeJwt = gk.decodeJwt(b64({ alg: "none" }) + "." + b64({ sub: "x" }) + ".").claims.sub === "x" ? "pass" : "FAIL"; } catch (e) { r.decodeJwt = "FAIL: " + e.message; }
    try { const t = await new gk.ClientCredentials({ tokenEndpoint: ${JSON.stringify(idp + "/token")}, clientId: "bundler-app", clientSecret: "s3cret" }).getToken(); r.getToken = t.access_token === "bundler-token" ? "pass" : "FAIL"; } catch (e) { r.getToken = "FAIL: " + e.message; }
    try { new gk.ClientCredentials({ clientId: "x" }); r.invalidConfig = "FAIL: no error"; } catch (e) { r.invalidConfig = e.code === "INVALID_CONFIG" ? "pass" : "FAIL: " + e.code; }
    console.log(JSON.stringify(r));`;
  // CommonJS for require() (an async IIFE around the awaits), a module for import.
  const [flag, source] = how === "require" ? ["--input-type=commonjs", `(async () => {${script}})()`] : ["--input-type=module", script];
  const output = await run(process.execPath, [flag, "-e", source]);
  return { load: "pass", ...JSON.parse(output.trim().split("\n").pop()) };
}

function cells(normal, blocked) {
  const get = (key) => normal[key] ?? (normal.load !== "pass" ? normal.load : "FAIL: not run");
  return {
    decodeJwt: get("decodeJwt"),
    getToken: get("getToken"),
    INVALID_CONFIG: get("invalidConfig"),
    "CSP blocks wasm: catchable": blocked === undefined ? "-" : blocked.load === "WASM_LOAD_FAILED" ? "pass" : blocked.load.startsWith("FAIL") ? blocked.load : `FAIL: ${blocked.load}`,
  };
}

const ROW_TIMEOUT_MS = 120_000;

/** Builds, serves and loads one row; the result cells. */
async function runRow(row) {
  if (row.node) return cells(await nodeRow(row.node, idp.url));
  const app = await row.start();
  try {
    const page = `${app.url}/?idp=${encodeURIComponent(idp.url)}`;
    return cells(await loadPage(browser, page), await loadPage(browser, `${page}&blocked`));
  } finally {
    await app.stop();
  }
}

function withTimeout(row, ms) {
  let timer;
  const late = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no result within ${ms / 1000} s`)), ms)));
  return Promise.race([runRow(row), late]).finally(() => clearTimeout(timer));
}

const filter = process.argv[2];
const rows = ROWS.filter((r) => !filter || r.name.includes(filter));
await mkdir(work, { recursive: true });
const idp = await serveTokenEndpoint();
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
const table = [];
const details = [];
try {
  for (const row of rows) {
    const started = Date.now();
    let result;
    try {
      result = await withTimeout(row, ROW_TIMEOUT_MS);
    } catch (e) {
      result = Object.fromEntries(COLUMNS.map((c) => [c, `FAIL: ${e.message}`]));
    }
    process.stderr.write(`${row.name}: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    table.push([row.name, ...COLUMNS.map((c) => (result[c].startsWith("FAIL") ? "FAIL" : result[c]))]);
    const failures = [...new Set(COLUMNS.map((c) => result[c]).filter((r) => r.startsWith("FAIL")))];
    for (const f of failures) details.push(`${row.name}: ${f.slice(0, 1500)}`);
  }
} finally {
  await browser.close();
  await idp.close();
}

const header = ["bundler / mode", ...COLUMNS];
const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
const line = (r) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
console.log(line(header));
console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
for (const r of table) console.log(line(r));
if (details.length) console.log(`\n${details.join("\n")}`);
const all = table.flatMap((r) => r.slice(1)).filter((c) => c !== "-");
const failed = all.filter((c) => c === "FAIL").length;
console.log(`\n${all.length - failed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
