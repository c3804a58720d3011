//! The JavaScript API: classes, presets and `decodeJwt`. Doc comments here
//! become the package's TypeScript documentation.

use super::driver::{Transport, DEFAULT_TIMEOUT_MS};
use super::errors::{js_object, to_js_error, to_js_json};
use super::options::{get_token_signal, Options};
use super::signer::{Signer, SignerChoice};
use crate::client_auth::{ClientCredential, CredentialOptions};
use crate::error::Error;
use crate::flow::{
    AcpLogin, AcpLoginSettings, ClientConfig, ClientCredentials, ClientCredentialsSettings,
    DeviceAuthorization, DeviceAuthorizationSettings, JwtBearer, JwtBearerSettings, PasswordGrant,
    PasswordGrantSettings,
};
use crate::keys::{Algorithm, PrivateKey};
use crate::provider::{self, Provider};
use crate::secret::Secret;
use crate::token::TokenSet;
use js_sys::Promise;
use rand_core::OsRng;
use std::rc::Rc;
use std::sync::Arc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = r#"
/** The tokens a server issued; field names are RFC 6749's. */
export interface TokenSet {
  access_token: string;
  /** Always "Bearer": the server's value is compared case-insensitively and normalised. */
  token_type: "Bearer";
  /** Lifetime in seconds, when the server sent it (a number or numeric string). */
  expires_in?: number;
  /** Expiry as Unix time in seconds: the time of the response plus expires_in. */
  expires_at?: number;
  refresh_token?: string;
  id_token?: string;
  scope?: string;
  /** The whole response object, vendor members included (it holds the tokens too). */
  raw: Record<string, unknown>;
}

/** Options every flow accepts about transport. */
export interface TransportOptions {
  /** A fetch to use instead of the global one (a proxy, a test double). Called as fetch(url, init). */
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
  /** Time limit for each request, in milliseconds (default 30000). */
  timeoutMs?: number;
  /** Allow plain http to hosts other than loopback. Off by default: credentials would travel in clear text. */
  allowInsecureHttp?: boolean;
  /** Who signs assertions: "auto" (default: WebCrypto where crypto.subtle exists, else Rust), "webcrypto" or "rust". */
  signer?: "auto" | "webcrypto" | "rust";
}

export type ProviderName = "generic" | "keycloak" | "entra" | "pingAic" | "acp";

export type ClientCredentialsOptions = ClientCredentialsSecretOptions | (Omit<ClientCredentialsSecretOptions, "clientSecret" | "clientAuth"> & PrivateKeyJwtOptions);

export interface ClientCredentialsSecretOptions extends TransportOptions {
  tokenEndpoint: string;
  clientId: string;
  clientSecret: string;
  /** Scope values: a space-separated string or an array. Entra needs one ending in "/.default". */
  scope?: string | string[];
  /** "basic" (HTTP Basic, RFC 6749 §2.3.1; the default) or "post" (client_secret in the body). */
  clientAuth?: "basic" | "post";
  /** More form parameters (audience, resource, ...), sent in insertion order; an array repeats the name. */
  extraParams?: Record<string, string | string[]>;
  /** Which provider's documented rules to check; inferred from the endpoint when absent. */
  provider?: ProviderName;
}

export type PasswordGrantOptions = PasswordGrantSecretOptions | (Omit<PasswordGrantSecretOptions, "clientSecret" | "clientAuth"> & PrivateKeyJwtOptions);

export interface PasswordGrantSecretOptions extends TransportOptions {
  tokenEndpoint: string;
  clientId: string;
  /** Absent for a public client, which sends only its client_id. */
  clientSecret?: string;
  username: string;
  password: string;
  /** Entra needs a value ending in "/access_as_user". */
  scope?: string | string[];
  clientAuth?: "basic" | "post";
  extraParams?: Record<string, string | string[]>;
  provider?: ProviderName;
}

/** A private RSA key: a JWK object, JWK JSON, or PEM (PKCS#8 "BEGIN PRIVATE KEY" or PKCS#1 "BEGIN RSA PRIVATE KEY"); at least 2048 bits. */
export type PrivateKeyInput = string | Record<string, unknown>;

/** Client authentication with a signed JWT (RFC 7523 §2.2), instead of a secret. */
export interface PrivateKeyJwtOptions {
  clientAuth: "private_key_jwt";
  privateKey: PrivateKeyInput;
  /** PEM certificate of the key: adds x5t and x5t#S256 to the header (Entra certificate credentials). */
  certificate?: string;
  /** Default: the JWK's alg when RS256 or PS256, else RS256. Entra documents PS256. */
  algorithm?: "RS256" | "PS256";
}

export interface JwtBearerOptions extends TransportOptions {
  tokenEndpoint: string;
  key: PrivateKeyInput;
  /** iss: the service account id. */
  issuer: string;
  /** sub; default: the issuer. */
  subject?: string;
  /** aud; default: tokenEndpoint exactly as given (":443" kept). */
  audience?: string;
  /** Sent as client_id; default "service-account" with provider "pingAic". */
  clientId?: string;
  scope?: string | string[];
  /** exp - iat; default 180. */
  lifetimeSeconds?: number;
  algorithm?: "RS256" | "PS256";
  /** Extra claims; iss, sub, aud, iat, exp, nbf and jti cannot be overridden. */
  claims?: Record<string, unknown>;
  /** Add nbf = iat. */
  notBefore?: boolean;
  extraParams?: Record<string, string | string[]>;
  provider?: ProviderName;
}

export interface AcpLoginOptions extends TransportOptions {
  /** The platform origin, e.g. "https://acp.example.com". */
  platformUrl: string;
  username: string;
  /** Sent only RSA-encrypted with the platform's key. */
  password: string;
  /** The connector: "local" (default), "ldap" or "oidc". */
  idp?: "local" | "ldap" | "oidc";
}

export type DeviceAuthorizationOptions = DeviceAuthorizationSecretOptions | (Omit<DeviceAuthorizationSecretOptions, "clientSecret" | "clientAuth"> & PrivateKeyJwtOptions);

export interface DeviceAuthorizationSecretOptions extends TransportOptions {
  /** RFC 8628 §3.1 device authorization endpoint. Default: Keycloak's and Entra's documented one beside tokenEndpoint (spread keycloak() or entra() in); required for other servers. */
  deviceAuthorizationEndpoint?: string;
  /** Whose documented endpoints apply; inferred from the endpoint when absent. */
  provider?: ProviderName;
  tokenEndpoint: string;
  clientId: string;
  /** Absent for a public client (the usual case on devices). */
  clientSecret?: string;
  clientAuth?: "basic" | "post";
  /** "openid offline_access" adds an ID token and a refresh token. */
  scope?: string | string[];
  /** More form parameters for the device authorization request. */
  extraParams?: Record<string, string | string[]>;
  /** Shows the user where to go and what to type. Called once per getToken, before polling starts; a returned promise is awaited. */
  onPrompt: (prompt: DevicePrompt) => void | Promise<void>;
}

/** What the user must be shown (RFC 8628 §3.2). */
export interface DevicePrompt {
  user_code: string;
  verification_uri: string;
  /** The URI with the code in it, when the server sent one (good for a QR code). */
  verification_uri_complete?: string;
  /** Seconds until the code expires. */
  expires_in: number;
}

export interface GetTokenOptions {
  /** Aborts the request; the promise then rejects with code "ABORTED". */
  signal?: AbortSignal;
}

export interface DecodedJwt { header: Record<string, unknown>; claims: Record<string, unknown>; }
export interface TokenEndpointPreset { provider: ProviderName; tokenEndpoint: string; }
"#;

const TRANSPORT_OPTIONS: [&str; 4] = ["fetch", "timeoutMs", "allowInsecureHttp", "signer"];

fn transport(options: &Options) -> Result<Transport, Error> {
    let signer = options
        .string("signer")?
        .as_deref()
        .map_or(Ok(SignerChoice::Auto), SignerChoice::from_name)?;
    Ok(Transport {
        fetch: options.function("fetch")?,
        timeout_ms: options.millis("timeoutMs")?.unwrap_or(DEFAULT_TIMEOUT_MS),
        signer: Signer::new(signer),
        include_credentials: false,
        on_prompt: None,
    })
}

/// Options a client with a secret or a private key takes.
const CLIENT_AUTH_OPTIONS: [&str; 5] = [
    "clientSecret",
    "clientAuth",
    "privateKey",
    "certificate",
    "algorithm",
];

/// A private key option: a JWK object, JWK JSON, or PEM.
fn key_option(options: &Options, name: &str) -> Result<Option<Arc<PrivateKey>>, Error> {
    options
        .text_or_object(name)?
        .map(|text| PrivateKey::parse(&text).map(Arc::new))
        .transpose()
}

fn algorithm_option(options: &Options) -> Result<Option<Algorithm>, Error> {
    options
        .string("algorithm")?
        .as_deref()
        .map(Algorithm::from_name)
        .transpose()
}

/// The client's credential, by the core's rules (`ClientCredential::from_options`).
fn credential_option(options: &Options, secret_required: bool) -> Result<ClientCredential, Error> {
    let parts = CredentialOptions {
        client_auth: options.string("clientAuth")?,
        client_secret: options.string("clientSecret")?.map(Secret::new),
        private_key: options.text_or_object("privateKey")?.map(Secret::new),
        certificate: options.string("certificate")?,
        algorithm: options.string("algorithm")?,
    };
    ClientCredential::from_options(parts, secret_required)
}

/// The options of a client configuration (`ClientConfig`).
const CLIENT_OPTIONS: [&str; 5] = [
    "tokenEndpoint",
    "clientId",
    "scope",
    "extraParams",
    "provider",
];

/// Which client options a class takes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ClientOptions {
    /// None: the ACP login has no OAuth client of its own.
    None,
    /// A client whose assertion authenticates (JwtBearer): `clientId` is
    /// optional and there is no secret or key.
    Assertion,
    /// A client with a secret or key; `required`: client credentials need one.
    Credential { required: bool },
}

/// The option names a class accepts: its own, the transport's, and its
/// client options.
fn known(own: &[&'static str], client: ClientOptions) -> Vec<&'static str> {
    let client_options: &[&str] = match client {
        ClientOptions::None => &[],
        _ => &CLIENT_OPTIONS,
    };
    let credential_options: &[&str] = match client {
        ClientOptions::Credential { .. } => &CLIENT_AUTH_OPTIONS,
        _ => &[],
    };
    own.iter()
        .chain(client_options)
        .chain(credential_options)
        .chain(TRANSPORT_OPTIONS.iter())
        .copied()
        .collect()
}

/// The client configuration every token-endpoint grant embeds.
fn client_config(options: &Options, client: ClientOptions) -> Result<ClientConfig, Error> {
    let (client_id, credential) = match client {
        ClientOptions::Credential { required } => (
            options.required_string("clientId")?,
            credential_option(options, required)?,
        ),
        _ => (
            options.string("clientId")?.unwrap_or_default(),
            ClientCredential::None,
        ),
    };
    Ok(ClientConfig {
        token_endpoint: options.required_string("tokenEndpoint")?,
        client_id,
        credential,
        scope: options.strings("scope")?,
        extra_params: options.params("extraParams")?,
        provider: provider_option(options)?,
        allow_insecure_http: options.bool("allowInsecureHttp")?,
    })
}

fn provider_option(options: &Options) -> Result<Option<Provider>, Error> {
    options
        .string("provider")?
        .as_deref()
        .map(Provider::from_name)
        .transpose()
}

/// What a TokenSource takes from a flow object: the grant and its
/// transport. Internal; made by each class's `__grantkitHandle()`.
#[wasm_bindgen(skip_typescript)]
pub struct GrantHandle {
    pub(crate) grant: Rc<dyn crate::source::Grant>,
    pub(crate) transport: Rc<Transport>,
}

/// The methods every flow class has in common: `getToken()` runs a fresh
/// flow of the class's grant, and `__grantkitHandle()`, which
/// `new TokenSource(flow)` calls to take the grant and transport. Each entry
/// carries the class's own documentation of `getToken`, written as
/// `#[doc = ".."]`: a `///` comment passed through `macro_rules!` reaches
/// wasm-bindgen as a raw string, which it would print with its `r"`.
macro_rules! flow_class_methods {
    ($($class:ident => $js:ident . $field:ident { $(#[doc = $doc:tt])* })*) => {$(
        #[wasm_bindgen(js_class = $js)]
        impl $class {
            $(#[doc = $doc])*
            #[wasm_bindgen(js_name = getToken, unchecked_return_type = "Promise<TokenSet>")]
            pub fn get_token(
                &self,
                #[wasm_bindgen(unchecked_optional_param_type = "GetTokenOptions")]
                options: JsValue,
            ) -> Promise {
                let flow = crate::source::Grant::start(&*self.$field, Box::new(OsRng));
                token_promise(self.transport.clone(), flow, options)
            }

            /// Internal: the grant and transport, for `new TokenSource(this)`.
            #[wasm_bindgen(js_name = __grantkitHandle, skip_typescript)]
            pub fn grantkit_handle(&self) -> GrantHandle {
                GrantHandle {
                    grant: self.$field.clone(),
                    transport: self.transport.clone(),
                }
            }
        }
    )*};
}

flow_class_methods! {
    JsClientCredentials => ClientCredentials.client {
        #[doc = " Requests a token. Rejects with a GrantkitError."]
    }
    JsPasswordGrant => PasswordGrant.client {
        #[doc = " Requests a token. Rejects with a GrantkitError."]
    }
    JsJwtBearer => JwtBearer.client {
        #[doc = " Signs an assertion and exchanges it for a token. Rejects with a"]
        #[doc = " GrantkitError."]
    }
    JsDeviceAuthorization => DeviceAuthorization.client {
        #[doc = " Asks for a user code, calls onPrompt with it, and polls until the"]
        #[doc = " user decides. Rejects with a GrantkitError: DEVICE_ACCESS_DENIED,"]
        #[doc = " DEVICE_EXPIRED_TOKEN, DEVICE_CODE_EXPIRED, ABORTED (the signal stops"]
        #[doc = " polling at once), PROMPT_FAILED, or any other code."]
    }
    JsAcpLogin => AcpLogin.login {
        #[doc = " Logs in and resolves to the tokens; rejects with a GrantkitError"]
        #[doc = " whose `.step` says which of the five calls failed."]
    }
}

/// Runs one flow and turns the outcome into a Promise of a TokenSet.
fn token_promise<F>(transport: Rc<Transport>, flow: F, options: JsValue) -> Promise
where
    F: crate::flow::Flow<Output = TokenSet> + 'static,
{
    future_to_promise(async move {
        let signal = get_token_signal(&options).map_err(|e| to_js_error(&e))?;
        let tokens = transport
            .run(flow, signal.as_ref())
            .await
            .map_err(|e| to_js_error(&e))?;
        Ok(token_set_to_js(&tokens))
    })
}

pub(crate) fn token_set_to_js(tokens: &TokenSet) -> JsValue {
    let mut members: Vec<(&str, JsValue)> = vec![
        ("access_token", tokens.access_token.expose().into()),
        ("token_type", tokens.token_type.as_str().into()),
    ];
    if let Some(secs) = tokens.expires_in {
        members.push(("expires_in", JsValue::from_f64(secs as f64)));
    }
    if let Some(at) = tokens.expires_at {
        members.push(("expires_at", JsValue::from_f64(at.as_secs() as f64)));
    }
    if let Some(token) = &tokens.refresh_token {
        members.push(("refresh_token", token.expose().into()));
    }
    if let Some(token) = &tokens.id_token {
        members.push(("id_token", token.expose().into()));
    }
    if let Some(scope) = &tokens.scope {
        members.push(("scope", scope.as_str().into()));
    }
    members.push(("raw", to_js_json(&tokens.raw)));
    js_object(&members)
}

/// Gets tokens with the client credentials grant (RFC 6749 §4.4).
#[wasm_bindgen(js_name = ClientCredentials)]
pub struct JsClientCredentials {
    client: Rc<ClientCredentials>,
    transport: Rc<Transport>,
}

#[wasm_bindgen(js_class = ClientCredentials)]
impl JsClientCredentials {
    /// Checks the options; a bad option throws a GrantkitError with code
    /// INVALID_CONFIG before any request is sent.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "ClientCredentialsOptions")] options: JsValue,
    ) -> Result<JsClientCredentials, JsValue> {
        Self::from_options(&options).map_err(|e| to_js_error(&e))
    }

    fn from_options(value: &JsValue) -> Result<Self, Error> {
        let client = ClientOptions::Credential { required: true };
        let options = Options::new(value, "ClientCredentials", &known(&[], client))?;
        let settings = ClientCredentialsSettings {
            client: client_config(&options, client)?,
        };
        Ok(JsClientCredentials {
            client: Rc::new(ClientCredentials::new(settings)?),
            transport: Rc::new(transport(&options)?),
        })
    }
}

/// Gets tokens with the resource owner password credentials grant
/// (RFC 6749 §4.3).
#[wasm_bindgen(js_name = PasswordGrant)]
pub struct JsPasswordGrant {
    client: Rc<PasswordGrant>,
    transport: Rc<Transport>,
}

#[wasm_bindgen(js_class = PasswordGrant)]
impl JsPasswordGrant {
    /// Checks the options; a bad option throws a GrantkitError with code
    /// INVALID_CONFIG before any request is sent.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "PasswordGrantOptions")] options: JsValue,
    ) -> Result<JsPasswordGrant, JsValue> {
        Self::from_options(&options).map_err(|e| to_js_error(&e))
    }

    fn from_options(value: &JsValue) -> Result<Self, Error> {
        let client = ClientOptions::Credential { required: false };
        let options = Options::new(
            value,
            "PasswordGrant",
            &known(&["username", "password"], client),
        )?;
        let settings = PasswordGrantSettings {
            client: client_config(&options, client)?,
            username: options.required_string("username")?,
            password: Secret::new(options.required_string("password")?),
        };
        Ok(JsPasswordGrant {
            client: Rc::new(PasswordGrant::new(settings)?),
            transport: Rc::new(transport(&options)?),
        })
    }
}

/// Gets tokens with the JWT bearer grant (RFC 7523 §2.1): a signed
/// assertion is exchanged for a token (PingOne Advanced Identity Cloud
/// service accounts).
#[wasm_bindgen(js_name = JwtBearer)]
pub struct JsJwtBearer {
    client: Rc<JwtBearer>,
    transport: Rc<Transport>,
}

#[wasm_bindgen(js_class = JwtBearer)]
impl JsJwtBearer {
    /// Checks the options and imports the key; a bad option throws a
    /// GrantkitError (INVALID_CONFIG, or KEY_* for the key) before any
    /// request is sent.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "JwtBearerOptions")] options: JsValue,
    ) -> Result<JsJwtBearer, JsValue> {
        Self::from_options(&options).map_err(|e| to_js_error(&e))
    }

    fn from_options(value: &JsValue) -> Result<Self, Error> {
        let own = [
            "key",
            "issuer",
            "subject",
            "audience",
            "lifetimeSeconds",
            "algorithm",
            "claims",
            "notBefore",
        ];
        let options = Options::new(value, "JwtBearer", &known(&own, ClientOptions::Assertion))?;
        let key =
            key_option(&options, "key")?.ok_or_else(|| Error::config("key", "is required"))?;
        let claims = match options.text_or_object("claims")? {
            None => serde_json::Map::new(),
            Some(json) => match serde_json::from_str(&json) {
                Ok(serde_json::Value::Object(map)) => map,
                _ => return Err(Error::config("claims", "must be an object")),
            },
        };
        let settings = JwtBearerSettings {
            client: client_config(&options, ClientOptions::Assertion)?,
            key,
            issuer: options.required_string("issuer")?,
            subject: options.string("subject")?,
            audience: options.string("audience")?,
            lifetime_secs: options.positive_integer("lifetimeSeconds")?,
            algorithm: algorithm_option(&options)?,
            claims,
            not_before: options.bool("notBefore")?,
        };
        Ok(JsJwtBearer {
            client: Rc::new(JwtBearer::new(settings)?),
            transport: Rc::new(transport(&options)?),
        })
    }

    /// A fresh signed assertion, exactly as getToken would send it, without
    /// sending anything (for diagnostics).
    #[wasm_bindgen(js_name = createAssertion, unchecked_return_type = "Promise<string>")]
    pub fn create_assertion(&self) -> Promise {
        let (transport, flow) = (
            self.transport.clone(),
            self.client.sign_assertion(&mut OsRng),
        );
        future_to_promise(async move {
            let assertion = transport
                .run(flow, None)
                .await
                .map_err(|e| to_js_error(&e))?;
            Ok(assertion.into())
        })
    }
}

/// Gets tokens with the device authorization grant (RFC 8628): asks for a
/// user code, hands it to `onPrompt`, then polls the token endpoint until
/// the user approves it on another device (or denies it, or it expires).
#[wasm_bindgen(js_name = DeviceAuthorization)]
pub struct JsDeviceAuthorization {
    client: Rc<DeviceAuthorization>,
    transport: Rc<Transport>,
}

#[wasm_bindgen(js_class = DeviceAuthorization)]
impl JsDeviceAuthorization {
    /// Checks the options; a bad option throws a GrantkitError with code
    /// INVALID_CONFIG before any request is sent.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "DeviceAuthorizationOptions")] options: JsValue,
    ) -> Result<JsDeviceAuthorization, JsValue> {
        Self::from_options(&options).map_err(|e| to_js_error(&e))
    }

    fn from_options(value: &JsValue) -> Result<Self, Error> {
        let client = ClientOptions::Credential { required: false };
        let options = Options::new(
            value,
            "DeviceAuthorization",
            &known(&["deviceAuthorizationEndpoint", "onPrompt"], client),
        )?;
        let settings = DeviceAuthorizationSettings {
            client: client_config(&options, client)?,
            device_authorization_endpoint: options.string("deviceAuthorizationEndpoint")?,
        };
        let on_prompt = options.function("onPrompt")?.ok_or_else(|| {
            Error::config(
                "onPrompt",
                "is required: the user must be shown the code and where to enter it",
            )
        })?;
        let client = DeviceAuthorization::new(settings)?;
        let mut transport = transport(&options)?;
        transport.on_prompt = Some(on_prompt);
        Ok(JsDeviceAuthorization {
            client: Rc::new(client),
            transport: Rc::new(transport),
        })
    }
}

/// Logs in to Alauda ACP (Dex-based) with the console's five-call session
/// login and returns its tokens. In Node, Deno, Bun and workerd the session
/// cookie is kept by grantkit; in a browser the page must be same-origin
/// with the platform (the browser keeps the cookie).
#[wasm_bindgen(js_name = AcpLogin)]
pub struct JsAcpLogin {
    login: Rc<AcpLogin>,
    transport: Rc<Transport>,
}

#[wasm_bindgen(js_class = AcpLogin)]
impl JsAcpLogin {
    /// Checks the options; a bad option throws a GrantkitError with code
    /// INVALID_CONFIG, and a browser page that is not same-origin with the
    /// platform throws ACP_CROSS_ORIGIN, before any request is sent.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "AcpLoginOptions")] options: JsValue,
    ) -> Result<JsAcpLogin, JsValue> {
        Self::from_options(&options).map_err(|e| to_js_error(&e))
    }

    fn from_options(value: &JsValue) -> Result<Self, Error> {
        let own = ["platformUrl", "username", "password", "idp"];
        let options = Options::new(value, "AcpLogin", &known(&own, ClientOptions::None))?;
        let login = AcpLogin::new(AcpLoginSettings {
            platform_url: options.required_string("platformUrl")?,
            username: options.required_string("username")?,
            password: Secret::new(options.required_string("password")?),
            idp: options.string("idp")?.unwrap_or_else(|| "local".into()),
            allow_insecure_http: options.bool("allowInsecureHttp")?,
        })?;
        let mut transport = transport(&options)?;
        if let Some(origin) = super::driver::browser_origin() {
            // Browsers hide Set-Cookie from scripts and forbid setting
            // Cookie: only the browser's own cookie store can carry the
            // session, and only to the page's origin.
            if origin != login.platform_url() {
                return Err(Error::Acp {
                    problem: crate::error::AcpProblem::CrossOrigin,
                    status: None,
                    detail: format!(
                        "this page is {origin}, the platform is {}; serve the page from the platform, or run the login in Node, Deno, Bun or a worker runtime",
                        login.platform_url()
                    ),
                });
            }
            transport.include_credentials = true;
        }
        Ok(JsAcpLogin {
            login: Rc::new(login),
            transport: Rc::new(transport),
        })
    }
}

/// The encrypted password exactly as the ACP login's step 4 sends it:
/// standard base64 of RSA-PKCS#1-v1.5(publicKey, `{"ts":..,"password":..}`).
/// For diagnostics; `AcpLogin` does this itself. `ts` goes in as given
/// (string or number).
#[wasm_bindgen(js_name = encryptAcpPassword)]
pub fn encrypt_acp_password(
    #[wasm_bindgen(
        unchecked_param_type = "{ publicKey: string; ts: string | number; password: string }"
    )]
    options: JsValue,
) -> Result<String, JsValue> {
    let run = || -> Result<String, Error> {
        let options = Options::new(
            &options,
            "encryptAcpPassword",
            &["publicKey", "ts", "password"],
        )?;
        let key = crate::keys::PublicKey::from_pem(&options.required_string("publicKey")?)?;
        let ts = options
            .string_or_number("ts")?
            .ok_or_else(|| Error::config("ts", "is required"))?;
        let password = Secret::new(options.required_string("password")?);
        crate::flow::acp::encrypt_password(&key, &ts, &password, &mut OsRng)
    };
    run().map_err(|e| to_js_error(&e))
}

/// Internal, for the CLI: text from a server made safe for a terminal
/// (`json`: JSON text whose unsafe characters become `\uXXXX` escapes).
#[wasm_bindgen(js_name = __terminalSafe, skip_typescript)]
pub fn terminal_safe(text: JsValue, json: bool) -> String {
    let text = text.as_string().unwrap_or_default();
    if json {
        crate::text::escape_json(&text)
    } else {
        crate::text::escape(&text, usize::MAX)
    }
}

/// Decodes a JWT's header and claims for diagnostics. Nothing is verified:
/// the result says what the token claims, not that it is true.
#[wasm_bindgen(js_name = decodeJwt, unchecked_return_type = "DecodedJwt")]
pub fn decode_jwt(
    #[wasm_bindgen(unchecked_param_type = "string")] token: JsValue,
) -> Result<JsValue, JsValue> {
    let Some(token) = token.as_string() else {
        return Err(to_js_error(&Error::InvalidJwt {
            reason: "decodeJwt takes the token as a string".into(),
        }));
    };
    let decoded = crate::jwt::decode_unverified(&token).map_err(|e| to_js_error(&e))?;
    Ok(js_object(&[
        ("header", to_js_json(&decoded.header)),
        ("claims", to_js_json(&decoded.claims)),
    ]))
}

fn preset(provider: Provider, token_endpoint: Result<String, Error>) -> Result<JsValue, JsValue> {
    let token_endpoint = token_endpoint.map_err(|e| to_js_error(&e))?;
    Ok(js_object(&[
        ("provider", provider.name().into()),
        ("tokenEndpoint", token_endpoint.into()),
    ]))
}

fn preset_options<const N: usize>(
    value: &JsValue,
    what: &str,
    fields: [&str; N],
) -> Result<[String; N], JsValue> {
    let read = || {
        let options = Options::new(value, what, &fields)?;
        let mut values = [const { String::new() }; N];
        for (value, field) in values.iter_mut().zip(fields) {
            *value = options.required_string(field)?;
        }
        Ok(values)
    };
    read().map_err(|e: Error| to_js_error(&e))
}

/// Keycloak: `{baseUrl}/realms/{realm}/protocol/openid-connect/token`.
/// Spread the result into a flow's options.
#[wasm_bindgen(unchecked_return_type = "TokenEndpointPreset")]
pub fn keycloak(
    #[wasm_bindgen(unchecked_param_type = "{ baseUrl: string; realm: string }")] options: JsValue,
) -> Result<JsValue, JsValue> {
    let [base_url, realm] = preset_options(&options, "keycloak", ["baseUrl", "realm"])?;
    preset(
        Provider::Keycloak,
        provider::keycloak_token_endpoint(&base_url, &realm),
    )
}

/// Microsoft Entra ID: `https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token`,
/// and Entra's scope rules. Spread the result into a flow's options.
#[wasm_bindgen(unchecked_return_type = "TokenEndpointPreset")]
pub fn entra(
    #[wasm_bindgen(unchecked_param_type = "{ tenant: string }")] options: JsValue,
) -> Result<JsValue, JsValue> {
    let [tenant] = preset_options(&options, "entra", ["tenant"])?;
    preset(Provider::Entra, provider::entra_token_endpoint(&tenant))
}

/// PingOne Advanced Identity Cloud: `https://{tenant}:443/am/oauth2/access_token`
/// (the `:443` is kept on purpose). Spread the result into a flow's options.
#[wasm_bindgen(js_name = pingAic, unchecked_return_type = "TokenEndpointPreset")]
pub fn ping_aic(
    #[wasm_bindgen(unchecked_param_type = "{ tenant: string }")] options: JsValue,
) -> Result<JsValue, JsValue> {
    let [tenant] = preset_options(&options, "pingAic", ["tenant"])?;
    preset(
        Provider::PingAic,
        provider::ping_aic_token_endpoint(&tenant),
    )
}

/// A standard OAuth 2.0 server: the token endpoint, checked, with no vendor
/// rules. Spread the result into a flow's options.
#[wasm_bindgen(unchecked_return_type = "TokenEndpointPreset")]
pub fn generic(
    #[wasm_bindgen(
        unchecked_param_type = "{ tokenEndpoint: string; allowInsecureHttp?: boolean }"
    )]
    options: JsValue,
) -> Result<JsValue, JsValue> {
    let parsed = Options::new(&options, "generic", &["tokenEndpoint", "allowInsecureHttp"])
        .and_then(|o| {
            Ok((
                o.required_string("tokenEndpoint")?,
                o.bool("allowInsecureHttp")?,
            ))
        })
        .map_err(|e| to_js_error(&e))?;
    preset(
        Provider::Generic,
        crate::endpoint::check_endpoint("tokenEndpoint", &parsed.0, parsed.1),
    )
}

/// Alauda ACP: the platform URL, checked and without a trailing slash, for
/// the session login (`{ provider: "acp", platformUrl }`).
#[wasm_bindgen(unchecked_return_type = "{ provider: \"acp\"; platformUrl: string }")]
pub fn acp(
    #[wasm_bindgen(unchecked_param_type = "{ platformUrl: string }")] options: JsValue,
) -> Result<JsValue, JsValue> {
    let [platform_url] = preset_options(&options, "acp", ["platformUrl"])?;
    let url = provider::acp_platform_url(&platform_url).map_err(|e| to_js_error(&e))?;
    Ok(js_object(&[
        ("provider", Provider::Acp.name().into()),
        ("platformUrl", url.into()),
    ]))
}
