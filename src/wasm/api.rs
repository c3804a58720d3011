//! The JavaScript API: classes, presets and `decodeJwt`. Doc comments here
//! become the package's TypeScript documentation.

use super::driver::Transport;
use super::errors::{to_js_error, to_js_json};
use super::options::{get_token_signal, HostValues, JsOptions};
use super::signer::Signer;
use crate::error::Error;
use crate::flow::{AcpLogin, ClientCredentials, DeviceAuthorization, JwtBearer, PasswordGrant};
use crate::options::outputs::{AcpPreset, TokenEndpointPreset, TokenSetOutput};
use crate::options::schema::{
    AcpLoginOptions, AcpOptions, ClientCredentialsOptions, DeviceAuthorizationOptions,
    EncryptAcpPasswordOptions, FlowOptions, GenericOptions, JwtBearerOptions, KeycloakOptions,
    PasswordGrantOptions, TenantOptions, TransportOptions,
};
use crate::options::ConfigField;
use crate::provider::{self, Provider};
use crate::token::TokenSet;
use js_sys::Promise;
use rand_core::OsRng;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

/// The driver's transport for a flow's transport options.
fn transport(options: TransportOptions, host: &HostValues) -> Transport {
    Transport {
        fetch: options.fetch.map(|fetch| host.function(fetch)),
        timeout_ms: options.timeout_ms,
        signer: Signer::new(options.signer),
        include_credentials: false,
        on_prompt: None,
    }
}

/// Reads a flow class's options (`what`: the class name) and makes its
/// grant with `grant`; the transport and the host values come back beside.
fn flow_from_js<O, G>(
    value: &JsValue,
    what: &str,
    grant: impl FnOnce(O) -> Result<G, Error>,
) -> Result<(Rc<G>, Transport, HostValues), Error>
where
    O: for<'a> serde::Deserialize<'a> + FlowOptions,
{
    let js = JsOptions::new(value)?;
    let options: O = js.read(what)?;
    let transport = transport(options.transport(), &js.host);
    let grant = grant(options)?;
    Ok((Rc::new(grant), transport, js.host))
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
    to_js_json(&TokenSetOutput::from(tokens))
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
        let (client, transport, _) =
            flow_from_js(value, "ClientCredentials", |o: ClientCredentialsOptions| {
                ClientCredentials::new(o.into_settings()?)
            })?;
        Ok(JsClientCredentials {
            client,
            transport: Rc::new(transport),
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
        let (client, transport, _) =
            flow_from_js(value, "PasswordGrant", |o: PasswordGrantOptions| {
                PasswordGrant::new(o.into_settings()?)
            })?;
        Ok(JsPasswordGrant {
            client,
            transport: Rc::new(transport),
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
        let (client, transport, _) = flow_from_js(value, "JwtBearer", |o: JwtBearerOptions| {
            JwtBearer::new(o.into_settings()?)
        })?;
        Ok(JsJwtBearer {
            client,
            transport: Rc::new(transport),
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
        let mut on_prompt = None;
        let (client, mut transport, host) = flow_from_js(
            value,
            "DeviceAuthorization",
            |o: DeviceAuthorizationOptions| {
                on_prompt = Some(o.on_prompt);
                DeviceAuthorization::new(o.into_settings()?)
            },
        )?;
        transport.on_prompt = on_prompt.map(|f| host.function(f));
        Ok(JsDeviceAuthorization {
            client,
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
        let (login, mut transport, _) = flow_from_js(value, "AcpLogin", |o: AcpLoginOptions| {
            AcpLogin::new(o.into_settings())
        })?;
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
            login,
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
    #[wasm_bindgen(unchecked_param_type = "EncryptAcpPasswordOptions")] options: JsValue,
) -> Result<String, JsValue> {
    let run = || -> Result<String, Error> {
        let js = JsOptions::new(&options)?;
        let options: EncryptAcpPasswordOptions = js.read("encryptAcpPassword")?;
        let key = crate::keys::PublicKey::from_pem(&options.public_key)?;
        crate::flow::acp::encrypt_password(
            &key,
            &options.ts.to_json(),
            &options.password,
            &mut OsRng,
        )
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
    Ok(to_js_json(&decoded))
}

fn preset(provider: Provider, token_endpoint: Result<String, Error>) -> Result<JsValue, JsValue> {
    let token_endpoint = token_endpoint.map_err(|e| to_js_error(&e))?;
    Ok(to_js_json(&TokenEndpointPreset {
        provider,
        token_endpoint,
    }))
}

/// Reads a preset's options.
fn preset_options<T: for<'a> serde::Deserialize<'a>>(
    value: &JsValue,
    what: &str,
) -> Result<T, JsValue> {
    JsOptions::new(value)
        .and_then(|js| js.read(what))
        .map_err(|e| to_js_error(&e))
}

/// Keycloak: `{baseUrl}/realms/{realm}/protocol/openid-connect/token`.
/// Spread the result into a flow's options.
#[wasm_bindgen(unchecked_return_type = "TokenEndpointPreset")]
pub fn keycloak(
    #[wasm_bindgen(unchecked_param_type = "KeycloakOptions")] options: JsValue,
) -> Result<JsValue, JsValue> {
    let options: KeycloakOptions = preset_options(&options, "keycloak")?;
    preset(
        Provider::Keycloak,
        provider::keycloak_token_endpoint(&options.base_url, &options.realm),
    )
}

/// Microsoft Entra ID: `https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token`,
/// and Entra's scope rules. Spread the result into a flow's options.
#[wasm_bindgen(unchecked_return_type = "TokenEndpointPreset")]
pub fn entra(
    #[wasm_bindgen(unchecked_param_type = "TenantOptions")] options: JsValue,
) -> Result<JsValue, JsValue> {
    let options: TenantOptions = preset_options(&options, "entra")?;
    preset(
        Provider::Entra,
        provider::entra_token_endpoint(&options.tenant),
    )
}

/// PingOne Advanced Identity Cloud: `https://{tenant}:443/am/oauth2/access_token`
/// (the `:443` is kept on purpose). Spread the result into a flow's options.
#[wasm_bindgen(js_name = pingAic, unchecked_return_type = "TokenEndpointPreset")]
pub fn ping_aic(
    #[wasm_bindgen(unchecked_param_type = "TenantOptions")] options: JsValue,
) -> Result<JsValue, JsValue> {
    let options: TenantOptions = preset_options(&options, "pingAic")?;
    preset(
        Provider::PingAic,
        provider::ping_aic_token_endpoint(&options.tenant),
    )
}

/// A standard OAuth 2.0 server: the token endpoint, checked, with no vendor
/// rules. Spread the result into a flow's options.
#[wasm_bindgen(unchecked_return_type = "TokenEndpointPreset")]
pub fn generic(
    #[wasm_bindgen(unchecked_param_type = "GenericOptions")] options: JsValue,
) -> Result<JsValue, JsValue> {
    let options: GenericOptions = preset_options(&options, "generic")?;
    preset(
        Provider::Generic,
        crate::endpoint::check_endpoint(
            ConfigField::TokenEndpoint,
            &options.token_endpoint,
            options.allow_insecure_http.unwrap_or(false),
        ),
    )
}

/// Alauda ACP: the platform URL, checked and without a trailing slash, for
/// the session login (`{ provider: "acp", platformUrl }`).
#[wasm_bindgen(unchecked_return_type = "AcpPreset")]
pub fn acp(
    #[wasm_bindgen(unchecked_param_type = "AcpOptions")] options: JsValue,
) -> Result<JsValue, JsValue> {
    let options: AcpOptions = preset_options(&options, "acp")?;
    let url = provider::acp_platform_url(&options.platform_url).map_err(|e| to_js_error(&e))?;
    Ok(to_js_json(&AcpPreset {
        provider: Provider::Acp,
        platform_url: url,
    }))
}
