// Entry point for Cloudflare Workers (workerd): the runtime compiles the
// imported .wasm into a WebAssembly.Module at deploy time.
import wasm from "./grantkit_bg.wasm";
import { initSync } from "./grantkit.js";

initSync({ module: wasm });

// getToken() on a warm cache without a call into the module.
import "./token_source.js";

export { ClientCredentials, PasswordGrant, JwtBearer, DeviceAuthorization, AcpLogin, TokenExchange, AuthorizationCode, TokenSource, GrantkitError, discover, decodeJwt, encryptAcpPassword, keycloak, entra, pingAic, acp, generic } from "./grantkit.js";
