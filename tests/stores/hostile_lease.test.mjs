// The lease protocol against stores that misbehave, in one process: many
// TokenSource objects (cold instances) over one in-memory store, against the
// local identity provider, which counts the token requests. Whatever the
// store does, getToken resolves with a token; what went wrong goes to
// onStoreError as STORE_FAILED without a secret.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { CLIENTS, startIdp } from '../idp/server.mjs';
import { loadGrantkit } from './helpers.mjs';

const { client_id: ID, client_secret: SECRET } = CLIENTS.ccBasic;
// timeoutMs 500: a lease of 2 x 500 + 1000 = 2000 ms, a longest wait of 4000 ms.
const TIMEOUT_MS = 500;
const MAX_WAIT_MS = 4000;

let gk;
let idp;
before(async () => {
  ({ gk } = await loadGrantkit());
  idp = await startIdp();
  // A first token request outside any time limit warms the provider up.
  await new gk.ClientCredentials({ tokenEndpoint: idp.tokenEndpoint, clientId: ID, clientSecret: SECRET }).getToken();
});
after(async () => { await idp?.close(); });

/** An in-memory store; `lease` and `release` as given (honest by default). */
function memoryStore(overrides = {}) {
  const values = new Map();
  const leases = new Map();
  return {
    values,
    get: async (key) => values.get(key) ?? null,
    set: async (key, value) => { values.set(key, value); },
    lease: async (key, ttlMs, owner) => {
      const held = leases.get(key);
      if (held && held.until > Date.now()) return false;
      leases.set(key, { owner, until: Date.now() + ttlMs });
      return true;
    },
    release: async (key, owner) => {
      if (leases.get(key)?.owner === owner) leases.delete(key);
    },
    ...overrides,
  };
}

/** `n` cold TokenSources over `store` get a token at once. */
async function coldFleet(n, store, extra = {}) {
  const errors = [];
  const flow = () => new gk.ClientCredentials({ tokenEndpoint: idp.tokenEndpoint, clientId: ID, clientSecret: SECRET, timeoutMs: TIMEOUT_MS, ...extra });
  idp.resetRequests();
  const started = Date.now();
  const tokens = await Promise.all(Array.from({ length: n }, () =>
    new gk.TokenSource(flow(), { store, onStoreError: (e) => errors.push(e) }).getToken()));
  return { tokens, errors, ms: Date.now() - started, requests: idp.tokenRequests().length };
}

function assertStoreErrors(errors, pattern) {
  assert.ok(errors.length > 0, 'onStoreError was called');
  for (const e of errors) {
    assert.equal(e.code, 'STORE_FAILED');
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes(SECRET), `a secret in ${e.message}`);
  }
}

describe('an honest store', () => {
  test('100 cold TokenSources in one process make one token request', async () => {
    const { tokens, errors, requests } = await coldFleet(100, memoryStore());
    assert.equal(requests, 1);
    assert.equal(new Set(tokens.map((t) => t.access_token)).size, 1);
    assert.deepEqual(errors, []);
  });

  test('the same store without lease and release: a cache, one request per cold instance', async () => {
    const { lease, release, ...plain } = memoryStore();
    void lease; void release;
    const { requests } = await coldFleet(10, plain);
    assert.equal(requests, 10);
  });
});

describe('a store that misbehaves never fails getToken', () => {
  test('lease() throws (quoting the client secret): each instance requests on its own, the message withheld', async () => {
    const store = memoryStore({ lease: () => { throw new Error(`redis is down (${SECRET})`); } });
    const { tokens, errors, requests } = await coldFleet(5, store);
    assert.equal(requests, 5);
    assert.equal(tokens.length, 5);
    assertStoreErrors(errors, /^the token store failed: lease\(\): \[withheld: it held a secret\]$/);
  });

  test('lease() rejects after the time limit (hangs): requests after timeoutMs', async () => {
    const store = memoryStore({ lease: () => new Promise(() => {}) });
    const { errors, requests, ms } = await coldFleet(3, store);
    assert.equal(requests, 3);
    assert.ok(ms >= TIMEOUT_MS && ms < TIMEOUT_MS + 1500, `${ms} ms`);
    assertStoreErrors(errors, /^the token store failed: lease\(\): no answer within 500 ms$/);
  });

  test('lease() answers something that is not a boolean', async () => {
    for (const garbage of ['yes', 1, null, { ok: true }]) {
      const store = memoryStore({ lease: async () => garbage });
      const { errors, requests } = await coldFleet(2, store);
      assert.equal(requests, 2);
      assertStoreErrors(errors, /lease\(\) answered something that is not true or false/);
    }
  });

  test('lease() lies "true" to everyone: no coordination, one request each', async () => {
    const { requests, errors } = await coldFleet(5, memoryStore({ lease: async () => true }));
    assert.equal(requests, 5);
    assert.deepEqual(errors, []);
  });

  test('lease() lies "false" to everyone: each waits the longest wait, then requests', async () => {
    const { requests, ms, tokens } = await coldFleet(3, memoryStore({ lease: async () => false }));
    assert.equal(requests, 3);
    assert.equal(tokens.length, 3);
    assert.ok(ms >= MAX_WAIT_MS && ms < MAX_WAIT_MS + 1500, `${ms} ms`);
  });

  test('release() throws: reported; the next instance still finds the tokens', async () => {
    const store = memoryStore({ release: () => { throw new Error('release failed'); } });
    const first = await coldFleet(1, store);
    assert.equal(first.requests, 1);
    assertStoreErrors(first.errors, /^the token store failed: release\(\): release failed$/);
    const second = await coldFleet(5, store);
    assert.equal(second.requests, 0, 'the tokens were written before the release');
  });

  test('get() throws while a lease is held elsewhere: no waiting, a request', async () => {
    const store = memoryStore({ get: () => { throw new Error('get failed'); }, lease: async () => false });
    const { requests, ms, errors } = await coldFleet(2, store);
    assert.equal(requests, 2);
    assert.ok(ms < 1000, `${ms} ms`);
    assertStoreErrors(errors, /^the token store failed: get\(\): get failed$/);
  });
});

describe('store options', () => {
  const flow = () => new gk.ClientCredentials({ tokenEndpoint: idp.tokenEndpoint, clientId: ID, clientSecret: SECRET });
  for (const [name, store, message] of [
    ['lease without release', { get() {}, set() {}, lease() {} }, /store: has lease\(\) but no release\(\)/],
    ['release without lease', { get() {}, set() {}, release() {} }, /store: has release\(\) but no lease\(\)/],
    ['a lease that is not a function', { get() {}, set() {}, lease: 5, release() {} }, /store: lease must be a function/],
  ]) {
    test(`${name}: INVALID_CONFIG naming store`, () => {
      assert.throws(() => new gk.TokenSource(flow(), { store }), (e) => e.code === 'INVALID_CONFIG' && e.field === 'store' && message.test(e.message));
    });
  }
});
