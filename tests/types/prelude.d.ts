// What the README's examples take from their surroundings. Each block is
// type-checked as a module of its own after these declarations.

/** A Durable Object id, as a namespace makes them. */
interface DurableObjectIdLike {
  toString(): string;
}
/** A Cloudflare Workers env: a KV namespace, a Durable Object namespace bound to TokenStoreObject, and secrets. */
interface Env {
  TOKENS: {
    get(key: string): Promise<string | null>;
    put(key: string, value: string, options?: { expirationTtl?: number }): Promise<void>;
  };
  TOKEN_LOCK: {
    idFromName(name: string): DurableObjectIdLike;
    get(id: DurableObjectIdLike): { fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> };
  };
  APIM_KEY: string;
  KC_SECRET: string;
}
declare const env: Env;
/** A request body. */
declare const body: string;
/** Any flow object, as the examples that wrap one take it. */
declare const flow: import("grantkit").ClientCredentials;
/** A connected Redis client (node-redis's createClient(), ioredis's new Redis()), as the Node examples take it. */
declare const redis: import("grantkit/stores").NodeRedisLike;
/** The access token an API received with a request (the token-exchange examples). */
declare const incomingAccessToken: string;
/** A server-side session, private to one user (the authorization code examples keep the pending login there). */
declare const session: { pending?: string };
/** The URL the browser came back to, as a server received it (the authorization code examples). */
declare const callbackUrl: string;
