// Types of the package; the declarations and their docs are generated from
// the Rust sources by wasm-bindgen (grantkit.d.ts).
export { ClientCredentials, PasswordGrant, JwtBearer, DeviceAuthorization, AcpLogin, TokenSource, GrantkitError, decodeJwt, encryptAcpPassword, keycloak, entra, pingAic, acp, generic } from "./grantkit.js";
export type {
  TokenSet,
  TransportOptions,
  ProviderName,
  ClientCredentialsOptions,
  ClientCredentialsSecretOptions,
  PasswordGrantOptions,
  PasswordGrantSecretOptions,
  PrivateKeyInput,
  PrivateKeyJwtOptions,
  JwtBearerOptions,
  AcpLoginOptions,
  DeviceAuthorizationOptions,
  DeviceAuthorizationSecretOptions,
  DevicePrompt,
  TokenFlow,
  TokenStore,
  TokenSourceOptions,
  GetTokenOptions,
  GrantkitErrorCode,
  DecodedJwt,
  TokenEndpointPreset,
} from "./grantkit.js";
