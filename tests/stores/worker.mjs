// The Miniflare workers of tests/stores/miniflare.test.mjs, each its own
// isolate. POST / with {store: "kv" | "do", client: {clientId, clientSecret,
// clientAuth?}}: a cold TokenSource over that store gets a token and answers
// it with its store key and the store errors. POST /store with {op, args}:
// one call of durableObjectStore's methods, to test TokenStoreObject itself.
import { ClientCredentials, TokenSource } from 'grantkit';
import { durableObjectStore, kvStore, TokenStoreObject } from 'grantkit/stores';

export { TokenStoreObject };

export default {
  async fetch(request, env) {
    const body = await request.json();
    if (new URL(request.url).pathname === '/store') {
      const store = durableObjectStore(env.TOKEN_LOCK);
      return Response.json({ result: (await store[body.op](...body.args)) ?? null });
    }
    const store = body.store === 'kv' ? kvStore(env.TOKENS) : durableObjectStore(env.TOKEN_LOCK);
    const errors = [];
    const source = new TokenSource(
      new ClientCredentials({ tokenEndpoint: env.TOKEN_ENDPOINT, timeoutMs: 3000, ...body.client }),
      { store, onStoreError: (e) => errors.push(`${e.code}: ${e.message}`) },
    );
    try {
      const tokens = await source.getToken();
      return Response.json({ token: tokens.access_token, storeKey: source.storeKey, errors });
    } catch (error) {
      return Response.json({ error: error.code, oauthError: error.error, storeKey: source.storeKey, errors });
    }
  },
};
