// Types of grantkit/stores. The store interface itself (TokenStore) is the
// one generated from the Rust sources; these declare only what each adapter
// takes, by shape, so that no engine's own type package is needed.
import type { TokenStore } from "./grantkit.js";

export type { TokenStore };

/** What kvStore needs of a Workers KV namespace binding. */
export interface KvNamespaceLike {
  get(key: string): Promise<string | null>;
  put(key: string, value: string, options?: { expirationTtl?: number }): Promise<void>;
}

/**
 * A Workers KV namespace (`env.TOKENS`) as a TokenStore. KV is eventually
 * consistent and has no compare-and-set, so it offers no lease: a shared
 * cache (instances that start after the first token is written need no
 * request), not one request for a cold fleet.
 */
export declare function kvStore(namespace: KvNamespaceLike): TokenStore;

/** An ioredis client (`new Redis()`). */
export interface IoRedisLike {
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
}

/** A node-redis 4 or 5 client (`createClient()`, connected). */
export interface NodeRedisLike {
  sendCommand(args: string[]): Promise<unknown>;
}

/**
 * A Redis client as a TokenStore with a lease (`SET key owner NX PX ms`,
 * freed by compare-and-delete): one token request for every process that
 * shares the Redis server.
 */
export declare function redisStore(client: IoRedisLike | NodeRedisLike): TokenStore;

/** The stub of a Durable Object, as durableObjectStore calls it. */
export interface DurableObjectStubLike {
  fetch(url: string, init: { method: string; headers: Record<string, string>; body: string }): Promise<{
    ok: boolean;
    status: number;
    json(): Promise<unknown>;
  }>;
}

/** What durableObjectStore needs of a Durable Object namespace binding. */
export interface DurableObjectNamespaceLike<Id = unknown> {
  idFromName(name: string): Id;
  get(id: Id): DurableObjectStubLike;
}

/**
 * A Durable Object namespace bound to TokenStoreObject (`env.TOKEN_LOCK`) as
 * a TokenStore with a lease: each key is one object, which serialises its
 * reads, writes and leases, so a cold fleet makes one token request.
 */
export declare function durableObjectStore<Id>(namespace: DurableObjectNamespaceLike<Id>): TokenStore;

/** What TokenStoreObject uses of its Durable Object state. */
export interface DurableObjectStateLike {
  storage: {
    get(key: string): Promise<unknown>;
    put(key: string, value: unknown): Promise<void>;
    delete(key: string): Promise<boolean>;
    setAlarm(scheduledTime: number): Promise<void>;
  };
}

/**
 * The Durable Object class behind durableObjectStore: export it from your
 * Worker (`export { TokenStoreObject } from "grantkit/stores"`) and bind a
 * namespace to it. One object holds one key's value and its expiry.
 */
export declare class TokenStoreObject {
  constructor(state: DurableObjectStateLike, env?: unknown);
  fetch(request: Request): Promise<Response>;
  alarm(): Promise<void>;
}
