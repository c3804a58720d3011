// The wasm's size, raw and gzip, and what each part costs: a copy built as
// the shipped one is (wasm-bindgen, then wasm-opt -Oz with build.sh's flags)
// but keeping the function names (-g), read by twiggy, each function and
// data segment put in one part by its name. Against it: an esbuild app that
// gets a token with oauth4webapi and signs with jose (minified, gzip).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as esbuild from 'esbuild';

import { HERE, PKG, ROOT, against, log, num, run, table } from './lib.mjs';

const SCRATCH = path.join(ROOT, 'target', 'bench', 'size');
const RELEASE_WASM = path.join(ROOT, 'target', 'wasm32-unknown-unknown', 'release', 'grantkit.wasm');
const WASM_OPT = path.join(ROOT, 'tests', 'node_modules', '.bin', 'wasm-opt');
const TWIGGY = process.env.TWIGGY ?? path.join(process.env.CARGO_HOME ?? path.join(process.env.HOME, '.cargo'), 'bin', 'twiggy');
const GZIP_TARGET = 150_000; // "≤ 150 KB gzip", read as 150,000 bytes

const gzipSize = (buf) => zlib.gzipSync(buf, { level: 9 }).length;

/**
 * The parts, first match wins. Code monomorphised for a crate's types goes to
 * that crate when it is named before the generic one (drop_in_place<grantkit::..>
 * is grantkit's; serde's derive for a grantkit type is serde's).
 */
const PARTS = [
  ['strings and constant data (data segments)', /^data segment /],
  ['wasm structure (types, imports, exports, tables, unnamed code)', /^(type|elem|table|global|import|code)\[\d+\]|^export "|^import |section headers$|^wasm magic bytes/],
  ['exported entry points (wasm-bindgen shims with the constructors\' code inlined)', /externref shim|multivalue shim|^[a-z]+_[a-zA-Z_]+$/],
  ['wasm-bindgen, js-sys, web-sys, futures', /wasm_bindgen|js_sys|web_sys|__wbg|__wbindgen|__externref|serde_wasm_bindgen|tsify/],
  ['serde, serde_json (with itoa, zmij)', /serde_json|\bserde(_core)?(\[[0-9a-f]+\])?::|serde_derive|\bitoa::|\bzmij::|\bryu::/],
  ['RSA + ASN.1 + SHA-2 (rsa, num-bigint-dig, pkcs1/8, der, spki, sha2, ...)', /\brsa::|num_bigint|num_integer|num_traits|num_iter|pkcs1|pkcs8|\bder::|spki|const_oid|crypto_bigint|sha2|\bdigest::|base64ct|subtle::|signature::|pem_rfc7468|crypto_common|block_buffer|zeroize/],
  ['grantkit\'s own code', /grantkit(\[[0-9a-f]+\])?::/],
  ['std, core, alloc, fmt, allocator, compiler builtins', /(^|[<&(\s])(core|alloc|std)(\[[0-9a-f]+\])?::|^<(char|str|\[u8\]|u8|[iuf](8|16|32|64|128|size))>::|dlmalloc|compiler_builtins|^__rust|^mem(cpy|set|move|cmp)$|^__(float|fix|mul|div|ashl|lshr|udiv|umod)|^f(max|min)|rust_begin_unwind|^__rdl/],
];
const NOT_SHIPPED = /^"(function|data|local|type|global|table|elem|module) names?" subsection|^custom section/;

function crateOf(name) {
  const m = name.match(/([a-z_][a-z0-9_]*)(\[[0-9a-f]+\])?::/);
  return m ? m[1] : name.replace(/\[\d+\].*$/, '[]');
}

export async function wasmSize() {
  const shipped = fs.readFileSync(path.join(PKG, 'grantkit_bg.wasm'));
  const raw = shipped.length;
  const gzip = gzipSize(shipped);

  // The named copy.
  log('wasm size: a copy with names (wasm-bindgen, wasm-opt -Oz -g), twiggy');
  fs.rmSync(SCRATCH, { recursive: true, force: true });
  fs.mkdirSync(SCRATCH, { recursive: true });
  await run('wasm-bindgen', ['--target', 'web', '--out-dir', SCRATCH, '--out-name', 'grantkit', '--keep-debug', RELEASE_WASM]);
  const named = path.join(SCRATCH, 'named.wasm');
  await run(WASM_OPT, ['-Oz', '--one-caller-inline-max-function-size=30', '-g', '--strip-dwarf', '--strip-producers',
    '--enable-bulk-memory', '--enable-nontrapping-float-to-int', '--enable-sign-ext',
    '--enable-mutable-globals', '--enable-reference-types', '--enable-multivalue',
    path.join(SCRATCH, 'grantkit_bg.wasm'), '-o', named]);
  let items = JSON.parse(await run(TWIGGY, ['top', '-n', '1000000', '--format', 'json', named], { timeoutMs: 60_000 }));
  items = items.items ?? items;

  const parts = new Map(PARTS.map(([label]) => [label, 0]));
  const others = new Map();
  let notShipped = 0;
  for (const { name, shallow_size: size } of items) {
    if (NOT_SHIPPED.test(name)) { notShipped += size; continue; }
    const part = PARTS.find(([, re]) => re.test(name));
    if (part) parts.set(part[0], parts.get(part[0]) + size);
    else others.set(crateOf(name), (others.get(crateOf(name)) ?? 0) + size);
  }
  const otherTotal = [...others.values()].reduce((a, b) => a + b, 0);
  const topOthers = [...others].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([c, s]) => `${c} ${num(s / 1000, 1)}`).join(', ');
  const attributed = [...parts.values()].reduce((a, b) => a + b, 0) + otherTotal;

  // The peers' size: an app that gets a token with oauth4webapi and signs with jose.
  const peerApp = await esbuild.build({
    stdin: {
      contents: `import * as oauth from 'oauth4webapi'; import { SignJWT, importJWK } from 'jose';
export async function token(as, client, secret, scope) {
  const r = await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic(secret), new URLSearchParams({ scope }));
  return oauth.processClientCredentialsResponse(as, client, r);
}
export async function assertion(jwk, iss, aud) {
  return new SignJWT({}).setProtectedHeader({ alg: 'RS256' }).setIssuer(iss).setSubject(iss).setAudience(aud).setIssuedAt().setExpirationTime('180s').sign(await importJWK(jwk, 'RS256'));
}`,
      resolveDir: HERE,
      loader: 'js',
    },
    bundle: true, minify: true, format: 'esm', platform: 'browser', write: false, logLevel: 'warning',
  });
  const peer = peerApp.outputFiles[0].contents;

  const rows = [...parts].map(([label, size]) => [label, num(size), `${((100 * size) / attributed).toFixed(1)} %`]);
  rows.push([`other crates (${topOthers}; KB)`, num(otherTotal), `${((100 * otherTotal) / attributed).toFixed(1)} %`]);
  rows.push(['**all parts** (the named copy without its name section)', `**${num(attributed)}**`, '100 %']);
  const detail = `### wasm size

\`pkg/grantkit_bg.wasm\` as shipped: **${num(raw)} bytes raw, ${num(gzip)} bytes gzip -9**. The JS glue (\`grantkit.js\`) adds ${num(fs.statSync(path.join(PKG, 'grantkit.js')).size)} bytes raw, ${num(gzipSize(fs.readFileSync(path.join(PKG, 'grantkit.js'))))} gzip.
For comparison, an esbuild app (minified) that gets a token with \`oauth4webapi\` and signs an assertion with \`jose\`: ${num(peer.length)} bytes raw, ${num(gzipSize(peer))} gzip.

What each part costs, in bytes of the shipped module: twiggy's shallow sizes over a copy built the same way but keeping function names (${num(notShipped)} bytes of name section left out; the parts add up to ${num(attributed)} against ${num(raw)} shipped). Each function counts once, under its own name: code that the optimiser inlined into another function counts there (the exported constructors hold much of the option reading and flow set-up).

${table(['part', 'bytes (raw)', 'share'], rows)}`;
  return {
    detail,
    figures: [{
      figure: 'wasm size, gzip -9 (raw)',
      measured: `${num(gzip)} B gzip (${num(raw)} B raw); oauth4webapi + jose app: ${num(gzipSize(peer))} B gzip`,
      target: '≤ 150 KB gzip (150,000 B)',
      ...against(gzip, GZIP_TARGET, { atLeast: false }),
    }],
  };
}
