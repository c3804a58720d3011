// What the README's examples take from their surroundings. Each block is
// type-checked as a module of its own after these declarations.

/** A Cloudflare Workers env: a KV namespace and a secret. */
declare const env: {
  TOKENS: {
    get(key: string): Promise<string | null>;
    put(key: string, value: string, options?: { expirationTtl?: number }): Promise<void>;
  };
  APIM_KEY: string;
  KC_SECRET: string;
};
/** A request body. */
declare const body: string;
/** Any flow object, as the examples that wrap one take it. */
declare const flow: import("grantkit").ClientCredentials;
