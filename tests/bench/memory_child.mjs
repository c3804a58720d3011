// Memory growth, in a Node process of its own started with --expose-gc
// (memory.mjs starts it), against the token endpoint given as argv[2]
// (JSON), in this order: 100,000 calls of a hand-written JS cache (a
// control), 100,000 cached TokenSource.getToken() calls, 10,000 bare fetch
// acquisitions (a control), 10,000 ClientCredentials.getToken() acquisitions.
// The JS heap, the RSS and the wasm linear memory are read after a full GC
// at 10 % (after the warm-up), 55 % and 100 % of each; growth after the
// warm-up is what a leak would show. Prints one JSON line.
import * as path from 'node:path';

import { clientCredentialsContenders } from './clients.mjs';
import { PKG } from './lib.mjs';

const server = JSON.parse(process.argv[2]);
const grantkit = await import(path.join(PKG, 'index.node.js'));
const { ClientCredentials, TokenSource } = grantkit;
// The package's instance: initSync hands back the exports of the module already loaded.
const { initSync } = await import(path.join(PKG, 'grantkit.js'));
const wasmMemory = initSync().memory;

function snapshot() {
  globalThis.gc();
  globalThis.gc();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, rss: m.rss, external: m.external, wasm: wasmMemory.buffer.byteLength };
}

/** Snapshots after 10 %, 55 % and 100 % of the calls. */
async function growth(calls, op) {
  const marks = [calls / 10, (calls * 11) / 20, calls];
  const snapshots = [];
  let i = 0;
  for (const mark of marks) {
    for (; i < mark; i++) await op();
    snapshots.push(snapshot());
  }
  return { calls, snapshots };
}

const flow = () => new ClientCredentials(server);
// The control: a hand-written JS cache, the same number of calls (what Node itself does to the RSS).
const plain = flow();
let token = await plain.getToken();
const handWritten = await growth(100_000, async () => {
  if (Date.now() / 1000 < token.expires_at - 30) return token;
  token = await plain.getToken();
  return token;
});
const source = new TokenSource(flow());
await source.getToken();
const cached = await growth(100_000, () => source.getToken());
const bare = clientCredentialsContenders(grantkit, server).find((c) => c.name === 'bare fetch');
const bareFetch = await growth(10_000, bare.acquire);
const acquiring = flow();
const acquisitions = await growth(10_000, () => acquiring.getToken());
process.stdout.write(`${JSON.stringify({ handWritten, cached, bareFetch, acquisitions })}\n`);
