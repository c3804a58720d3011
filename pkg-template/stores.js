// grantkit/stores: TokenSource stores over the engines a fleet already runs.
// Plain JavaScript with no import: it loads no WebAssembly and runs wherever
// its engine's client does. The rules (when to read, lease, wait, request,
// write, release) are the core's; these only speak each engine's commands.

/**
 * A Workers KV namespace (`env.TOKENS`). KV is eventually consistent and has
 * no compare-and-set, so it offers no lease: a shared cache, not one request.
 * KV refuses a TTL under 60 s; a shorter-lived token is kept 60 s and read as
 * stale by grantkit.
 */
export function kvStore(namespace) {
  if (!namespace || typeof namespace.get !== "function" || typeof namespace.put !== "function") {
    throw new TypeError("kvStore: pass a Workers KV namespace binding (env.NAME)");
  }
  return {
    get: (key) => namespace.get(key),
    set: (key, value, ttlSeconds) =>
      namespace.put(key, value, ttlSeconds === undefined ? {} : { expirationTtl: Math.max(60, ttlSeconds) }),
  };
}

// Compare-and-delete: frees the lease only for the owner that took it.
const RELEASE_SCRIPT = 'if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) else return 0 end';

/**
 * A Redis client: node-redis 4 or 5 (`createClient()`, connected) or ioredis
 * (`new Redis()`), told apart by shape. The lease is `SET key owner NX PX ms`.
 */
export function redisStore(client) {
  let send;
  if (client && typeof client.call === "function") {
    // ioredis: call(command, ...args).
    send = (args) => client.call(...args);
  } else if (client && typeof client.sendCommand === "function") {
    // node-redis: sendCommand([command, ...args]), strings only.
    send = (args) => client.sendCommand(args.map(String));
  } else {
    throw new TypeError("redisStore: pass a node-redis (createClient) or ioredis (new Redis) client");
  }
  return {
    get: async (key) => {
      const value = await send(["GET", key]);
      return value == null ? null : String(value);
    },
    set: async (key, value, ttlSeconds) => {
      await send(ttlSeconds === undefined ? ["SET", key, value] : ["SET", key, value, "EX", Math.max(1, ttlSeconds)]);
    },
    lease: async (key, ttlMs, owner) => (await send(["SET", key, owner, "NX", "PX", Math.max(1, ttlMs)])) === "OK",
    release: async (key, owner) => {
      await send(["EVAL", RELEASE_SCRIPT, 1, key, owner]);
    },
  };
}

/**
 * A Durable Object namespace bound to the TokenStoreObject class
 * (`env.TOKEN_LOCK`). Each key is one object, so every read, write and lease
 * of a key is serialised by it, strongly consistent across the fleet.
 */
export function durableObjectStore(namespace) {
  if (!namespace || typeof namespace.idFromName !== "function" || typeof namespace.get !== "function") {
    throw new TypeError("durableObjectStore: pass a Durable Object namespace binding bound to TokenStoreObject");
  }
  const call = async (key, operation, args) => {
    const stub = namespace.get(namespace.idFromName(key));
    const response = await stub.fetch(`https://grantkit.invalid/${operation}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(args),
    });
    if (!response.ok) throw new Error(`the Durable Object answered ${response.status} to ${operation}`);
    return response.json();
  };
  return {
    get: (key) => call(key, "get", {}),
    set: async (key, value, ttlSeconds) => {
      await call(key, "set", { value, ttlMs: ttlSeconds === undefined ? null : ttlSeconds * 1000 });
    },
    lease: (key, ttlMs, owner) => call(key, "add", { value: owner, ttlMs }),
    release: async (key, owner) => {
      await call(key, "remove", { value: owner });
    },
  };
}

const json = (value, status = 200) =>
  new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json" } });

/**
 * The Durable Object class behind durableObjectStore: export it from your
 * Worker and bind a namespace to it. One object holds one key's value and
 * its expiry; an alarm deletes it when it expires.
 */
export class TokenStoreObject {
  constructor(state) {
    this.storage = state.storage;
  }

  async fetch(request) {
    const operation = new URL(request.url).pathname.slice(1);
    let args;
    try {
      args = await request.json();
    } catch {
      return json({ error: "the body is not JSON" }, 400);
    }
    const now = Date.now();
    const entry = await this.storage.get("entry");
    const current = entry && (entry.expiresAt === null || entry.expiresAt > now) ? entry : undefined;
    const put = async (value, ttlMs) => {
      const expiresAt = typeof ttlMs === "number" ? now + ttlMs : null;
      await this.storage.put("entry", { value, expiresAt });
      if (expiresAt !== null) await this.storage.setAlarm(expiresAt);
    };
    switch (operation) {
      case "get":
        return json(current ? current.value : null);
      case "set":
        await put(String(args.value), args.ttlMs);
        return json(true);
      case "add": // SET NX PX: only when nobody holds it
        if (current) return json(false);
        await put(String(args.value), Number(args.ttlMs));
        return json(true);
      case "remove": // compare and delete
        if (current && current.value === args.value) await this.storage.delete("entry");
        return json(true);
      default:
        return json({ error: `no operation ${operation}` }, 404);
    }
  }

  async alarm() {
    const entry = await this.storage.get("entry");
    if (!entry || entry.expiresAt === null) return;
    if (entry.expiresAt <= Date.now()) await this.storage.delete("entry");
    else await this.storage.setAlarm(entry.expiresAt);
  }
}
