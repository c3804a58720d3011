// TokenSource in one Node process against the local oidc-provider: cached
// getToken() calls per second next to a hand-written JavaScript cache (the
// floor) and an uncached token request per call; then 1,000 concurrent
// getToken() calls on a cold source, and the same with the server failing
// the first request. Run with `make bench` (it builds pkg/ first).
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const { ClientCredentials, TokenSource } = await import(`${root}pkg/index.node.js`);
const { startIdp, CLIENTS } = await import(`${root}tests/idp/server.mjs`);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);

async function rate(name, fn) {
  for (let i = 0; i < 100; i++) await fn(); // warm-up
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < SECONDS * 1000) {
    await fn();
    n++;
  }
  return { name, perSecond: n / ((performance.now() - start) / 1000) };
}

const idp = await startIdp();
const { client_id: clientId, client_secret: clientSecret } = CLIENTS.ccBasic;
const flow = () => new ClientCredentials({ tokenEndpoint: idp.tokenEndpoint, clientId, clientSecret, scope: "api:read" });

// The floor: what a careful hand-written cache does per call.
const plain = flow();
let cached = await plain.getToken();
const handWritten = async () => {
  if (Date.now() / 1000 < cached.expires_at - 30) return cached;
  cached = await plain.getToken();
  return cached;
};
const source = new TokenSource(flow());
await source.getToken();
const uncached = flow();

const results = [
  await rate("hand-written JS cache (floor)", handWritten),
  await rate("grantkit TokenSource.getToken(), cached", () => source.getToken()),
  await rate("token request per call (no cache)", () => uncached.getToken()),
];
console.log(`getToken() calls per second, one Node ${process.version} process, ${SECONDS} s each:`);
for (const r of results) {
  console.log(`  ${r.name.padEnd(42)} ${r.perSecond.toFixed(0).padStart(9)}/s   ${(r.perSecond / results[0].perSecond).toFixed(3)}x floor`);
}

async function concurrent(label, prepare) {
  const cold = new TokenSource(flow());
  idp.resetRequests();
  prepare();
  const start = performance.now();
  const outcomes = await Promise.allSettled(Array.from({ length: 1000 }, () => cold.getToken()));
  const ms = performance.now() - start;
  const ok = outcomes.filter((o) => o.status === "fulfilled");
  const codes = new Set(outcomes.filter((o) => o.status === "rejected").map((o) => o.reason.code));
  console.log(`  ${label.padEnd(42)} ${String(idp.tokenRequests().length).padStart(3)} token request(s), `
    + `${ok.length} resolved (${new Set(ok.map((o) => o.value.access_token)).size} distinct token), `
    + `${1000 - ok.length} rejected ${codes.size ? [...codes].join(",") : ""}, ${ms.toFixed(1)} ms`);
  if (ok.length < 1000) {
    const next = await cold.getToken();
    console.log(`  ${"  then one more getToken()".padEnd(42)} ${String(idp.tokenRequests().length).padStart(3)} token request(s) in all, ${next.access_token ? "resolved" : "?"}`);
  }
}
console.log("1,000 concurrent getToken() on a cold TokenSource:");
await concurrent("server answers", () => {});
await concurrent("server fails the first request (503)", () => idp.failTokenRequests(1));
await idp.close();
