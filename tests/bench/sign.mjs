// RS256 assertions per second in one Node process: grantkit's Rust signer,
// grantkit's WebCrypto signer, jose, and node:crypto's raw signature as the
// floor; then the cold time (load + key import + first assertion) in fresh
// processes. Run with `make bench` (it builds pkg/ first).
import { execFileSync } from "node:child_process";
import { createPrivateKey, sign as nodeSign } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const pem = readFileSync(`${root}tests/fixtures/rsa2048.pkcs8.pem`, "utf8");
const pkg = `${root}pkg/index.node.js`;
const jose = await import(`${root}tests/node_modules/jose/dist/webapi/index.js`);
const { JwtBearer } = await import(pkg);
const AUD = "https://tenant.example.com:443/am/oauth2/access_token";
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);

async function rate(name, fn) {
  for (let i = 0; i < 5; i++) await fn(); // warm-up
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < SECONDS * 1000) {
    await fn();
    n++;
  }
  const perSecond = n / ((performance.now() - start) / 1000);
  return { name, perSecond };
}

const options = { tokenEndpoint: AUD, key: pem, issuer: "svc-123" };
const rust = new JwtBearer({ ...options, signer: "rust" });
const webcrypto = new JwtBearer({ ...options, signer: "webcrypto" });
const joseKey = await jose.importPKCS8(pem, "RS256");
const nodeKey = createPrivateKey(pem);
let counter = 0;
const joseAssertion = () =>
  new jose.SignJWT({ jti: String(counter++) })
    .setProtectedHeader({ alg: "RS256", typ: "JWT" })
    .setIssuer("svc-123").setSubject("svc-123").setAudience(AUD)
    .setIssuedAt().setExpirationTime("180s")
    .sign(joseKey);

const results = [
  await rate("grantkit, Rust signer (rsa 0.9, wasm)", () => rust.createAssertion()),
  await rate("grantkit, WebCrypto signer", () => webcrypto.createAssertion()),
  await rate("jose (WebCrypto)", joseAssertion),
  await rate("node:crypto sign, raw (floor)", async () => nodeSign("sha256", Buffer.from("header.claims" + counter++), nodeKey)),
];
const base = results[2].perSecond;
console.log(`RS256 assertions per second, one Node ${process.version} process, ${SECONDS} s each:`);
for (const r of results) {
  console.log(`  ${r.name.padEnd(40)} ${r.perSecond.toFixed(0).padStart(7)}/s   ${(r.perSecond / base).toFixed(2)}x jose`);
}

// Cold: a fresh process loads the package, imports the key (constructor)
// and signs the first assertion; median of 5 runs per signer.
const cold = (signer) => {
  const script = `
    const t0 = performance.now();
    const { JwtBearer } = await import(${JSON.stringify(pkg)});
    const t1 = performance.now();
    const j = new JwtBearer({ tokenEndpoint: ${JSON.stringify(AUD)}, key: ${JSON.stringify(pem)}, issuer: "svc", signer: ${JSON.stringify(signer)} });
    const t2 = performance.now();
    await j.createAssertion();
    const t3 = performance.now();
    console.log(JSON.stringify([t1 - t0, t2 - t1, t3 - t2, t3 - t0]));`;
  const runs = Array.from({ length: 5 }, () =>
    JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" })));
  const median = (i) => runs.map((r) => r[i]).sort((a, b) => a - b)[2].toFixed(1);
  return `load ${median(0)} ms + key import ${median(1)} ms + first assertion ${median(2)} ms = ${median(3)} ms`;
};
console.log("Cold start, fresh process, median of 5:");
console.log(`  Rust signer:      ${cold("rust")}`);
console.log(`  WebCrypto signer: ${cold("webcrypto")}`);
