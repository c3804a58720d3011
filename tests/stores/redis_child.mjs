// One process of the fleet: a TokenSource over redisStore with the client
// named on the command line. It connects, says "ready", waits for "go" on
// standard input, then gets a token and reports it. It says "requesting"
// just before it sends a token request (its transport's fetch), so the
// test knows which process holds the lease.
//
//   node redis_child.mjs CLIENT REDIS_URL TOKEN_ENDPOINT CLIENT_ID   (secret in env CHILD_SECRET;
//     CHILD_TIMEOUT_MS: the flow's timeoutMs)
import * as readline from 'node:readline';
import { loadGrantkit, redisClient } from './helpers.mjs';

const [kind, url, tokenEndpoint, clientId] = process.argv.slice(2);
const say = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);
const { gk, stores } = await loadGrantkit();
const { client, close } = await redisClient(kind, url);
const storeErrors = [];
const flow = new gk.ClientCredentials({
  tokenEndpoint,
  clientId,
  clientSecret: process.env.CHILD_SECRET,
  timeoutMs: Number(process.env.CHILD_TIMEOUT_MS ?? 30000),
  fetch: (input, init) => {
    say({ type: 'requesting', pid: process.pid, t: Date.now() });
    return fetch(input, init);
  },
});
// CHILD_NO_LEASE: the same store without lease and release (the benchmark's
// "without coordination").
const { lease, release, ...plain } = stores.redisStore(client);
const store = process.env.CHILD_NO_LEASE ? plain : { ...plain, lease, release };
const source = new gk.TokenSource(flow, { store, onStoreError: (e) => storeErrors.push(e.code) });
say({ type: 'ready', pid: process.pid });
const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line !== 'go') continue;
  const started = Date.now();
  try {
    const tokens = await source.getToken();
    say({ type: 'done', pid: process.pid, token: tokens.access_token, ms: Date.now() - started, at: Date.now(), storeErrors });
  } catch (error) {
    say({ type: 'done', pid: process.pid, error: error.code, message: error.message, at: Date.now(), storeErrors });
  }
  break;
}
lines.close();
await close();
