// Entry point for browsers and bundlers: the module is fetched next to this
// file (top-level await), so importing the package is enough.
import init from "./grantkit.js";

await init({ module_or_path: new URL("./grantkit_bg.wasm", import.meta.url) });

export { ClientCredentials, PasswordGrant, JwtBearer, DeviceAuthorization, AcpLogin, TokenSource, GrantkitError, decodeJwt, encryptAcpPassword, keycloak, entra, pingAic, acp, generic } from "./grantkit.js";
