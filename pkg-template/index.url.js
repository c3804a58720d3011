// Entry point `grantkit/wasm-url`: the .wasm file next to this module is
// fetched and compiled while streaming (top-level await), so it stays a
// separate, cacheable asset and a browser downloads about a quarter fewer
// bytes than with the inlined default. It needs a bundler that copies
// assets named by `new URL("...", import.meta.url)` and keeps top-level
// await: Vite 7 and 8 builds, webpack 5 (see README "Use with your bundler").
import init from "./grantkit.js";
import { wasmLoadFailed } from "./wasm_load_error.js";

try {
  await init({ module_or_path: new URL("./grantkit_bg.wasm", import.meta.url) });
} catch (cause) {
  throw wasmLoadFailed(cause);
}

// getToken() on a warm cache without a call into the module.
import "./token_source.js";

export { ClientCredentials, PasswordGrant, JwtBearer, DeviceAuthorization, AcpLogin, TokenExchange, AuthorizationCode, TokenSource, GrantkitError, discover, decodeJwt, encryptAcpPassword, keycloak, entra, pingAic, acp, generic } from "./grantkit.js";
