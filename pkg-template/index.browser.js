// Entry point for browsers and bundlers (and any runtime without a better
// match): the WebAssembly module is inlined as base64 and instantiated
// synchronously on import. No top-level await and no asset URL, so every
// bundler and dev server takes it unconfigured, and the classes can be
// constructed as soon as the import returns. `grantkit/wasm-url` is the
// smaller alternative that fetches the .wasm file next to it.
import { initSync } from "./grantkit.js";
import wasmBase64 from "./grantkit_bg_inline.js";
import { wasmLoadFailed } from "./wasm_load_error.js";

function decodeBase64(text) {
  if (typeof Uint8Array.fromBase64 === "function") return Uint8Array.fromBase64(text);
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

try {
  initSync({ module: decodeBase64(wasmBase64) });
} catch (cause) {
  throw wasmLoadFailed(cause);
}

// getToken() on a warm cache without a call into the module.
import "./token_source.js";

export { ClientCredentials, PasswordGrant, JwtBearer, DeviceAuthorization, AcpLogin, TokenExchange, AuthorizationCode, TokenSource, GrantkitError, discover, decodeJwt, encryptAcpPassword, keycloak, entra, pingAic, acp, generic } from "./grantkit.js";
