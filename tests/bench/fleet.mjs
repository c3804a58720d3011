// Token requests per 1,000 cold instances, with and without coordination
// through a shared store, against the local oidc-provider (which counts
// them). Instances are cold TokenSource objects in one process sharing the
// store, all calling getToken() at once; then a smaller run of separate
// Node processes on Redis. Needs Debian's redis-server and tests/stores'
// clients (`make bench` runs tests/stores/setup.sh). Prints a markdown table.
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
process.env.GRANTKIT_PKG_DIR ??= path.join(root, "pkg");
const { ClientCredentials, TokenSource } = await import(`${root}pkg/index.node.js`);
const { kvStore, redisStore } = await import(`${root}pkg/stores.js`);
const { startIdp, CLIENTS } = await import(`${root}tests/idp/server.mjs`);
const { redisClient, redisFleet, startRedis } = await import(`${root}tests/stores/helpers.mjs`);

const INSTANCES = Number(process.env.BENCH_INSTANCES ?? 1000);
const PROCESSES = Number(process.env.BENCH_PROCESSES ?? 40);
const { client_id: clientId, client_secret: clientSecret } = CLIENTS.ccBasic;

const idp = await startIdp();
const redis = await startRedis();
const { client, close } = await redisClient("ioredis", redis.url);
const flow = () => new ClientCredentials({ tokenEndpoint: idp.tokenEndpoint, clientId, clientSecret });
await flow().getToken(); // warm the provider up

/** A Workers KV namespace as Miniflare keeps it: a map, with no lease. */
function kvLike() {
  const map = new Map();
  return { get: async (k) => map.get(k) ?? null, put: async (k, v) => { map.set(k, v); } };
}
/** Only get and set of a store: the same engine without coordination. */
const withoutLease = ({ get, set }) => ({ get, set });

/** INSTANCES cold TokenSources over `store`, started `spacingMs` apart. */
async function inProcess(store, spacingMs = 0) {
  await client.call("FLUSHALL");
  idp.resetRequests();
  const started = performance.now();
  const tokens = await Promise.all(Array.from({ length: INSTANCES }, async (_, i) => {
    if (spacingMs) await new Promise((r) => setTimeout(r, i * spacingMs));
    return new TokenSource(flow(), store ? { store } : {}).getToken();
  }));
  const ms = performance.now() - started;
  return { instances: INSTANCES, requests: idp.tokenRequests().length, ms, distinct: new Set(tokens.map((t) => t.access_token)).size };
}

async function processes(lease) {
  await client.call("FLUSHALL");
  const children = await redisFleet(PROCESSES, {
    redisUrl: redis.url, tokenEndpoint: idp.tokenEndpoint, clientId, clientSecret, env: { CHILD_NO_LEASE: lease ? "" : "1" },
  });
  idp.resetRequests();
  const started = performance.now();
  for (const c of children) c.send("go");
  const done = await Promise.all(children.map((c) => c.waitFor("done")));
  const ms = performance.now() - started;
  await Promise.all(children.map((c) => c.exited));
  return { instances: PROCESSES, requests: idp.tokenRequests().length, ms, distinct: new Set(done.map((d) => d.token)).size };
}

const rows = [
  ["TokenSource objects in one process", "none (each its own cache)", "no", await inProcess(undefined)],
  ["TokenSource objects in one process", "kvStore over a KV-like map", "no (KV has no lease)", await inProcess(kvStore(kvLike()))],
  ["TokenSource objects in one process", "redisStore, get/set only", "no", await inProcess(withoutLease(redisStore(client)))],
  ["TokenSource objects in one process", "redisStore", "lease (SET NX PX)", await inProcess(redisStore(client))],
  ["TokenSource objects in one process, started 2 ms apart", "kvStore over a KV-like map", "no (KV has no lease)", await inProcess(kvStore(kvLike()), 2)],
  ["TokenSource objects in one process, started 2 ms apart", "redisStore", "lease (SET NX PX)", await inProcess(redisStore(client), 2)],
  ["Node processes", "redisStore, get/set only", "no", await processes(false)],
  ["Node processes", "redisStore", "lease (SET NX PX)", await processes(true)],
];

console.log(`\nToken requests by cold instances (Node ${process.version}, local oidc-provider, redis-server on loopback; instances call getToken() at once unless said):\n`);
console.log("| cold instances | store | coordination | token requests | distinct tokens | all tokens in |");
console.log("| --- | --- | --- | ---: | ---: | ---: |");
for (const [kind, store, coordination, r] of rows) {
  console.log(`| ${r.instances.toLocaleString("en")} ${kind} | ${store} | ${coordination} | ${r.requests.toLocaleString("en")} | ${r.distinct.toLocaleString("en")} | ${r.ms.toFixed(0)} ms |`);
}
await close();
await redis.stop();
await idp.close();
