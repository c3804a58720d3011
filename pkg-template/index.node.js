// Entry point for Node, Deno and Bun: the module is read from disk and
// instantiated synchronously, so importing the package is enough.
import { readFileSync } from "node:fs";
import { initSync } from "./grantkit.js";
import { wasmLoadFailed } from "./wasm_load_error.js";

try {
  initSync({ module: readFileSync(new URL("./grantkit_bg.wasm", import.meta.url)) });
} catch (cause) {
  // Deno without --allow-read, a missing or damaged file.
  throw wasmLoadFailed(cause);
}

// getToken() on a warm cache without a call into the module.
import "./token_source.js";

export { ClientCredentials, PasswordGrant, JwtBearer, DeviceAuthorization, AcpLogin, TokenExchange, AuthorizationCode, TokenSource, GrantkitError, discover, decodeJwt, encryptAcpPassword, keycloak, entra, pingAic, acp, generic } from "./grantkit.js";
