// grantkit/stores in Cloudflare Workers, simulated by Miniflare (workerd):
// 20 workers, each its own isolate, share one Durable Object namespace bound
// to TokenStoreObject (hosted by the first) and one KV namespace, and get
// tokens from the local identity provider, which counts the requests.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';

import { CLIENTS, startIdp } from '../idp/server.mjs';
import { here, packageDir } from './helpers.mjs';

const { Miniflare } = await import(pathToFileURL(path.join(here, 'node_modules/miniflare/dist/src/index.js')).href);

const ISOLATES = 20;
const right = { clientId: CLIENTS.ccBasic.client_id, clientSecret: CLIENTS.ccBasic.client_secret };
const wrong = { ...right, clientSecret: 'not-the-secret' };
const other = { clientId: CLIENTS.ccPost.client_id, clientSecret: CLIENTS.ccPost.client_secret, clientAuth: 'post' };

let idp;
let gate;
let mf;

/**
 * A proxy in front of the token endpoint that holds requests until `n`
 * have arrived (or 10 s passed), then forwards them all: every isolate has
 * read the store before any token exists.
 */
async function startGate(target) {
  let held = [];
  let want = Infinity;
  const forward = async ({ req, body, res }) => {
    const answer = await fetch(target, { method: 'POST', headers: { 'content-type': req.headers['content-type'], authorization: req.headers.authorization ?? '' }, body });
    res.writeHead(answer.status, { 'content-type': 'application/json' });
    res.end(await answer.text());
  };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      held.push({ req, body, res });
      if (held.length >= want) { const all = held; held = []; all.forEach(forward); }
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}/token`,
    hold(n) {
      want = n;
      setTimeout(() => { const all = held; held = []; want = Infinity; all.forEach(forward); }, 10_000).unref();
    },
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
  };
}

before(async () => {
  idp = await startIdp();
  gate = await startGate(idp.tokenEndpoint);
  const pkg = packageDir();
  const root = path.join(here, '.tmp', 'worker');
  const modules = [
    { type: 'ESModule', path: path.join(root, 'worker.mjs'), contents: fs.readFileSync(path.join(here, 'worker.mjs'), 'utf8') },
    { type: 'ESModule', path: path.join(root, 'grantkit'), contents: fs.readFileSync(path.join(pkg, 'index.workerd.js'), 'utf8') },
    { type: 'ESModule', path: path.join(root, 'grantkit.js'), contents: fs.readFileSync(path.join(pkg, 'grantkit.js'), 'utf8') },
    { type: 'CompiledWasm', path: path.join(root, 'grantkit_bg.wasm'), contents: fs.readFileSync(path.join(pkg, 'grantkit_bg.wasm')) },
    { type: 'ESModule', path: path.join(root, 'grantkit/stores'), contents: fs.readFileSync(path.join(pkg, 'stores.js'), 'utf8') },
    { type: 'ESModule', path: path.join(root, 'token_source.js'), contents: fs.readFileSync(path.join(pkg, 'token_source.js'), 'utf8') },
    // The JavaScript that grantkit.js imports from the crate (wasm-bindgen's snippets/).
    ...fs.readdirSync(path.join(pkg, 'snippets'), { recursive: true }).filter((f) => f.endsWith('.js')).map((f) => (
      { type: 'ESModule', path: path.join(root, 'snippets', f), contents: fs.readFileSync(path.join(pkg, 'snippets', f), 'utf8') })),
  ];
  const workers = Array.from({ length: ISOLATES }, (_, i) => ({
    name: `isolate-${i}`,
    modules,
    modulesRoot: root,
    compatibilityDate: '2025-01-01',
    bindings: { TOKEN_ENDPOINT: idp.tokenEndpoint },
    kvNamespaces: { TOKENS: 'tokens' },
    durableObjects: { TOKEN_LOCK: i === 0 ? 'TokenStoreObject' : { className: 'TokenStoreObject', scriptName: 'isolate-0' } },
  }));
  mf = new Miniflare({ workers });
  await mf.ready;
});
after(async () => {
  await mf?.dispose();
  await gate?.close();
  await idp?.close();
});

/** POSTs `body` to isolate `i`; its JSON answer. */
async function call(i, body, pathname = '/') {
  const worker = await mf.getWorker(`isolate-${i}`);
  const response = await worker.fetch(`http://isolate${pathname}`, { method: 'POST', body: JSON.stringify(body) });
  return response.json();
}

const everyIsolate = (body) => Promise.all(Array.from({ length: ISOLATES }, (_, i) => call(i, body)));

describe('TokenStoreObject, through durableObjectStore', () => {
  const store = (op, ...args) => call(0, { op, args }, '/store').then((a) => a.result);

  test('get/set with expiry; lease = add when absent or expired; release = compare and delete', async () => {
    assert.equal(await store('get', 'k'), null);
    await store('set', 'k', 'value-1', 60);
    assert.equal(await call(5, { op: 'get', args: ['k'] }, '/store').then((a) => a.result), 'value-1', 'another isolate reads it');
    await store('set', 'short', 'gone soon', 0);
    assert.equal(await store('get', 'short'), null, 'an expired value is not read');

    assert.equal(await store('lease', 'k:lease', 5000, 'owner-a'), true);
    assert.equal(await store('lease', 'k:lease', 5000, 'owner-b'), false);
    await store('release', 'k:lease', 'owner-b');
    assert.equal(await store('lease', 'k:lease', 5000, 'owner-c'), false, "another owner's release frees nothing");
    await store('release', 'k:lease', 'owner-a');
    assert.equal(await store('lease', 'k:lease', 150, 'owner-c'), true);
    await new Promise((r) => setTimeout(r, 250));
    assert.equal(await store('lease', 'k:lease', 5000, 'owner-d'), true, 'an expired lease is free');
  });
});

describe('20 isolates', () => {
  test('with a Durable Object: 20 cold isolates at once make exactly one token request', async () => {
    idp.resetRequests();
    const answers = await everyIsolate({ store: 'do', client: right });
    assert.deepEqual(answers.filter((a) => a.error || a.errors.length), []);
    assert.equal(idp.tokenRequests().length, 1, 'token requests at the identity provider');
    assert.equal(new Set(answers.map((a) => a.token)).size, 1);
    console.log(`# Durable Object: ${ISOLATES} cold isolates, ${idp.tokenRequests().length} token request`);
  });

  test('with KV (no lease): 20 cold isolates at once make 20 requests; 20 started later make none', async () => {
    const viaGate = { ...right, tokenEndpoint: gate.url };
    idp.resetRequests();
    gate.hold(ISOLATES);
    const cold = await everyIsolate({ store: 'kv', client: viaGate });
    assert.deepEqual(cold.filter((a) => a.error || a.errors.length), []);
    assert.equal(idp.tokenRequests().length, ISOLATES, 'no single flight on KV');
    const later = await everyIsolate({ store: 'kv', client: viaGate });
    assert.equal(idp.tokenRequests().length, ISOLATES, 'the shared cache served all of them');
    const stored = new Set(later.map((a) => a.token));
    assert.equal(stored.size, 1);
    assert.ok(cold.some((a) => stored.has(a.token)));
    console.log(`# KV: ${ISOLATES} cold isolates at once, ${ISOLATES} token requests; ${ISOLATES} more after, 0 more`);
  });

  test('tokens never cross client ids or secrets in the Durable Object store', async () => {
    idp.resetRequests();
    const mine = await call(1, { store: 'do', client: right });
    assert.equal(idp.tokenRequests().length, 0, 'read from the store filled by the first test');
    const refused = await call(2, { store: 'do', client: wrong });
    assert.equal(refused.error, 'OAUTH_ERROR');
    assert.equal(refused.oauthError, 'invalid_client', 'a wrong secret makes its own request and never reads the right one\'s token');
    const theirs = await call(3, { store: 'do', client: other });
    assert.ok(theirs.token);
    assert.notEqual(theirs.token, mine.token);
    assert.equal(idp.tokenRequests().length, 2);
    assert.equal(new Set([mine.storeKey, refused.storeKey, theirs.storeKey]).size, 3);
  });
});
