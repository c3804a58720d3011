// Measures the cost of each way of loading the wasm in Chromium: the time
// from the start of `import()` to the classes being usable, and the bytes a
// browser downloads (gzip -9 and brotli of what the entry fetches).
//   node tests/bundlers/measure.mjs [PKG_DIR]   (default: pkg/ of the repo)
import { chromium } from "playwright-core";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join, resolve } from "node:path";
import { gzipSync, brotliCompressSync } from "node:zlib";
import { serveStatic } from "./serve.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const pkg = resolve(process.argv[2] ?? join(here, "../../pkg"));
const RUNS = 25;

const size = (files) => {
  const bytes = files.map((f) => readFileSync(join(pkg, f)));
  const sum = (f) => bytes.reduce((n, b) => n + f(b), 0);
  return { raw: sum((b) => b.length), gzip: sum((b) => gzipSync(b, { level: 9 }).length), brotli: sum((b) => brotliCompressSync(b).length) };
};
const glue = ["grantkit.js", "wasm_load_error.js"];
const variants = [
  { name: "inline (default browser entry)", entry: "index.browser.js", files: [...glue, "index.browser.js", "grantkit_bg_inline.js"] },
  { name: "wasm-url (top-level await)", entry: "index.url.js", files: [...glue, "index.url.js", "grantkit_bg.wasm"] },
];

const server = await serveStatic(pkg);
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
try {
  for (const v of variants) {
    const times = [];
    for (let i = 0; i < RUNS; i++) {
      const page = await (await browser.newContext()).newPage();
      await page.goto(`${server.url}/package.json`);
      times.push(await page.evaluate(async (entry) => {
        const t0 = performance.now();
        const gk = await import(`/${entry}`);
        new gk.ClientCredentials({ tokenEndpoint: "https://idp.example/token", clientId: "a", clientSecret: "b" });
        return performance.now() - t0;
      }, v.entry));
      await page.context().close();
    }
    times.sort((a, b) => a - b);
    const s = size(v.files);
    console.log(`${v.name}: import + first constructor median ${times[RUNS >> 1].toFixed(1)} ms (min ${times[0].toFixed(1)}, max ${times[RUNS - 1].toFixed(1)}); downloads ${s.raw} B raw, ${s.gzip} B gzip -9, ${s.brotli} B brotli`);
  }
} finally {
  await browser.close();
  await server.close();
}
