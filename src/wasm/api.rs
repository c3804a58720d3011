//! The JavaScript API: classes, presets and `decodeJwt`. Doc comments here
//! become the package's TypeScript documentation.

use super::driver::Transport;
use super::errors::{to_js_error, to_js_json};
use super::options::{get_token_signal, read_js_optional, HostValues, JsOptions};
use super::signer::Signer;
use crate::error::Error;
use crate::flow::authorization_code;
use crate::flow::{
    AcpLogin, AuthorizationCode, ClientCredentials, CompletedLogin, DeviceAuthorization,
    Discoverable, JwtBearer, PasswordGrant, PendingLogin, Revocation, TokenExchange,
    TokensToRevoke,
};
use crate::options::outputs::{
    AcpPreset, DiscoveredEndpoints, IntrospectionOutput, TokenEndpointPreset, TokenSetOutput,
};
use crate::options::schema::{
    AcpLoginOptions, AcpOptions, AuthorizationCodeOptions, ClientCredentialsOptions,
    DeviceAuthorizationOptions, DiscoverOptions, EncryptAcpPasswordOptions, FlowOptions,
    GenericOptions, IntrospectOptions, JwtBearerOptions, KeycloakOptions, PasswordGrantOptions,
    PingAicOptions, RevokeTokens, TenantOptions, TokenExchangeOptions, TransportOptions,
};
use crate::options::ConfigField;
use crate::provider::{self, Provider};
use crate::secret::Secret;
use crate::token::TokenSet;
use js_sys::Promise;
use rand_core::OsRng;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// The driver's transport for a flow's transport options.
fn transport(options: TransportOptions, host: &HostValues) -> Transport {
    Transport {
        fetch: options.fetch.map(|fetch| host.function(fetch)),
        timeout_ms: options.timeout_ms,
        signer: Signer::new(options.signer),
        include_credentials: false,
        on_prompt: None,
        on_exchange: options.on_exchange.map(|f| host.function(f)),
        dpop: None,
    }
}

/// Reads a flow class's options (`what`: the class name) and makes its
/// grant with `grant`, which may also set up the transport from the
/// options' host values.
fn flow_from_js<O, G>(
    value: &JsValue,
    what: &str,
    grant: impl FnOnce(O, &HostValues, &mut Transport) -> Result<G, Error>,
) -> Result<(Rc<G>, Transport), Error>
where
    O: crate::options::ReadOptions + FlowOptions,
    G: crate::source::Grant,
{
    let js = JsOptions::new(value)?;
    let options: O = js.read_options(what)?;
    let mut transport = transport(options.transport(), &js.host);
    let grant = grant(options, &js.host, &mut transport)?;
    transport.dpop = crate::source::Grant::dpop(&grant).then(Default::default);
    Ok((Rc::new(grant), transport))
}

/// What a TokenSource takes from a flow object: the grant and its
/// transport. Internal; made by each class's `__grantkitHandle()`.
#[wasm_bindgen(skip_typescript)]
pub struct GrantHandle {
    pub(crate) grant: Rc<dyn crate::source::Grant>,
    pub(crate) transport: Rc<Transport>,
    /// Tokens the source starts with (a completed login's).
    pub(crate) initial: Option<TokenSet>,
}

/// The flow classes: each is a grant and its transport, made by a builder
/// from the options (which the core reads and checks), with `getToken()`,
/// which runs a fresh flow of the grant, and `__grantkitHandle()`, which
/// `new TokenSource(flow)` calls to take the grant and transport. Docs are
/// written as `#[doc = ".."]`: a `///` comment passed through
/// `macro_rules!` reaches wasm-bindgen as a raw string, which it would print
/// with its `r"`.
macro_rules! flow_classes {
    ($(
        $(#[doc = $class_doc:tt])*
        $class:ident => $js:ident($options:literal) {
            grant: $grant:ty,
            build: $build:expr,
            new: [$(#[doc = $new_doc:tt])*],
            get_token: [$(#[doc = $doc:tt])*],
        }
    )*) => {$(
        $(#[doc = $class_doc])*
        #[wasm_bindgen(js_name = $js)]
        pub struct $class {
            grant: Rc<$grant>,
            transport: Rc<Transport>,
        }

        #[wasm_bindgen(js_class = $js)]
        impl $class {
            $(#[doc = $new_doc])*
            #[wasm_bindgen(constructor)]
            pub fn new(
                #[wasm_bindgen(unchecked_param_type = $options)] options: JsValue,
            ) -> Result<$class, JsValue> {
                let build: fn(&JsValue) -> Result<(Rc<$grant>, Transport), Error> = $build;
                let (grant, transport) = build(&options).map_err(|e| to_js_error(&e))?;
                Ok($class {
                    grant,
                    transport: Rc::new(transport),
                })
            }

            $(#[doc = $doc])*
            #[wasm_bindgen(js_name = getToken, unchecked_return_type = "Promise<TokenSet>")]
            pub fn get_token(
                &self,
                #[wasm_bindgen(unchecked_optional_param_type = "GetTokenOptions")]
                options: JsValue,
            ) -> Promise {
                let flow = crate::source::Grant::start(&*self.grant, Box::new(OsRng));
                token_promise(self.transport.clone(), flow, options)
            }

            /// Revokes tokens (RFC 7009): the refresh token first, then the
            /// access token, each with its token_type_hint, authenticated as
            /// getToken's requests are. Resolves when the server has accepted
            /// each (HTTP 200); rejects with a GrantkitError (INVALID_CONFIG
            /// without a revocation endpoint, OAUTH_ERROR with
            /// unsupported_token_type, ...).
            #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
            pub fn revoke(
                &self,
                #[wasm_bindgen(unchecked_param_type = "RevokeTokens")] tokens: JsValue,
            ) -> Promise {
                let (grant, transport) = (self.grant.clone(), self.transport.clone());
                let ready = transport.clone();
                revoke_with(transport, &tokens, Box::pin(async move {
                    discovered(&*grant, &ready).await?;
                    Ok(token_client(&*grant)?.clone())
                }))
            }

            /// Asks the introspection endpoint about a token (RFC 7662) and
            /// resolves to its answer: `active`, and whatever else the server
            /// said (scope, client_id, exp, ...). A response without a boolean
            /// active rejects with INVALID_INTROSPECTION_RESPONSE.
            #[wasm_bindgen(unchecked_return_type = "Promise<IntrospectionResponse>")]
            pub fn introspect(
                &self,
                #[wasm_bindgen(unchecked_param_type = "string")] token: JsValue,
                #[wasm_bindgen(unchecked_optional_param_type = "IntrospectOptions")]
                options: JsValue,
            ) -> Promise {
                introspect_promise(self.grant.clone(), self.transport.clone(), &token, &options)
            }

            /// Internal: the grant and transport, for `new TokenSource(this)`.
            #[wasm_bindgen(js_name = __grantkitHandle, skip_typescript)]
            pub fn grantkit_handle(&self) -> GrantHandle {
                GrantHandle {
                    grant: self.grant.clone(),
                    transport: self.transport.clone(),
                    initial: None,
                }
            }
        }
    )*};
}

flow_classes! {
    #[doc = " Gets tokens with the client credentials grant (RFC 6749 §4.4)."]
    JsClientCredentials => ClientCredentials("ClientCredentialsOptions") {
        grant: Discoverable<ClientCredentials>,
        build: |v| flow_from_js(v, "ClientCredentials", |o: ClientCredentialsOptions, _, _| {
            Discoverable::new(o.into_settings()?, ClientCredentials::new)
        }),
        new: [
            #[doc = " Checks the options; a bad option throws a GrantkitError with code"]
            #[doc = " INVALID_CONFIG (KEY_* for a private key) before any request is sent."]
        ],
        get_token: [#[doc = " Requests a token. Rejects with a GrantkitError."]],
    }
    #[doc = " Gets tokens with the resource owner password credentials grant"]
    #[doc = " (RFC 6749 §4.3)."]
    JsPasswordGrant => PasswordGrant("PasswordGrantOptions") {
        grant: Discoverable<PasswordGrant>,
        build: |v| flow_from_js(v, "PasswordGrant", |o: PasswordGrantOptions, _, _| {
            Discoverable::new(o.into_settings()?, PasswordGrant::new)
        }),
        new: [
            #[doc = " Checks the options; a bad option throws a GrantkitError with code"]
            #[doc = " INVALID_CONFIG (KEY_* for a private key) before any request is sent."]
        ],
        get_token: [#[doc = " Requests a token. Rejects with a GrantkitError."]],
    }
    #[doc = " Trades a token for another (RFC 8693 token exchange; Keycloak's standard"]
    #[doc = " token exchange): the access token an API received, say, for one to call"]
    #[doc = " another API with. With provider \"entra\", Microsoft Entra ID's"]
    #[doc = " on-behalf-of request instead (Entra has no RFC 8693 endpoint)."]
    JsTokenExchange => TokenExchange("TokenExchangeOptions") {
        grant: Discoverable<TokenExchange>,
        build: |v| flow_from_js(v, "TokenExchange", |o: TokenExchangeOptions, _, _| {
            Discoverable::new(o.into_settings()?, TokenExchange::new)
        }),
        new: [
            #[doc = " Checks the options; a bad option throws a GrantkitError with code"]
            #[doc = " INVALID_CONFIG (KEY_* for a private key) before any request is sent."]
        ],
        get_token: [#[doc = " Sends the exchange request. Rejects with a GrantkitError."]],
    }
    #[doc = " Gets tokens with the JWT bearer grant (RFC 7523 §2.1): a signed"]
    #[doc = " assertion is exchanged for a token (PingOne Advanced Identity Cloud"]
    #[doc = " service accounts)."]
    JsJwtBearer => JwtBearer("JwtBearerOptions") {
        grant: Discoverable<JwtBearer>,
        build: |v| flow_from_js(v, "JwtBearer", |o: JwtBearerOptions, _, _| {
            Discoverable::new(o.into_settings()?, JwtBearer::new)
        }),
        new: [
            #[doc = " Checks the options and imports the key; a bad option throws a"]
            #[doc = " GrantkitError (INVALID_CONFIG, or KEY_* for the key) before any"]
            #[doc = " request is sent."]
        ],
        get_token: [
            #[doc = " Signs an assertion and exchanges it for a token. Rejects with a"]
            #[doc = " GrantkitError."]
        ],
    }
    #[doc = " Gets tokens with the device authorization grant (RFC 8628): asks for a"]
    #[doc = " user code, hands it to `onPrompt`, then polls the token endpoint until"]
    #[doc = " the user approves it on another device (or denies it, or it expires)."]
    JsDeviceAuthorization => DeviceAuthorization("DeviceAuthorizationOptions") {
        grant: Discoverable<DeviceAuthorization>,
        build: device_from_js,
        new: [
            #[doc = " Checks the options; a bad option throws a GrantkitError with code"]
            #[doc = " INVALID_CONFIG before any request is sent."]
        ],
        get_token: [
            #[doc = " Asks for a user code, calls onPrompt with it, and polls until the"]
            #[doc = " user decides. Rejects with a GrantkitError: DEVICE_ACCESS_DENIED,"]
            #[doc = " DEVICE_EXPIRED_TOKEN, DEVICE_CODE_EXPIRED, ABORTED (the signal stops"]
            #[doc = " polling at once), PROMPT_FAILED, or any other code."]
        ],
    }
    #[doc = " Logs in to Alauda ACP (Dex-based) with the console's five-call session"]
    #[doc = " login and returns its tokens. In Node, Deno, Bun and workerd the session"]
    #[doc = " cookie is kept by grantkit; in a browser the page must be same-origin"]
    #[doc = " with the platform (the browser keeps the cookie), unless a `fetch`"]
    #[doc = " option carries the session (a relay): then grantkit keeps the cookie,"]
    #[doc = " sending Cookie in the init headers and reading Set-Cookie through"]
    #[doc = " `headers.getSetCookie()` on what the fetch returns."]
    JsAcpLogin => AcpLogin("AcpLoginOptions") {
        grant: AcpLogin,
        build: acp_from_js,
        new: [
            #[doc = " Checks the options; a bad option throws a GrantkitError with code"]
            #[doc = " INVALID_CONFIG, and a browser page that is not same-origin with the"]
            #[doc = " platform throws ACP_CROSS_ORIGIN (unless a fetch is given), before"]
            #[doc = " any request is sent."]
        ],
        get_token: [
            #[doc = " Logs in and resolves to the tokens; rejects with a GrantkitError"]
            #[doc = " whose `.step` says which of the five calls failed."]
        ],
    }
}

/// Signs a user in with the authorization code grant and PKCE (RFC 6749
/// §4.1, RFC 7636 S256): the browser goes to the authorization server and
/// comes back to redirectUri with a code, which is exchanged for tokens.
/// With the "openid" scope the ID token is verified (OpenID Connect Core
/// §3.1.3.7), its signature with WebCrypto and the issuer's JWKS.
///
/// In a page: `location.assign(await ac.authorizationUrl())`, then on the
/// redirect page `await ac.complete()`. On a server (or anywhere without
/// sessionStorage): `const { url, pending } = await ac.begin()`, keep
/// `pending` (secret) until the browser comes back, then
/// `await ac.complete(callbackUrl, pending)`. `new TokenSource(ac)` after
/// completion keeps the tokens fresh by refresh. With only `issuer`, the
/// first of these reads the endpoints from its metadata.
#[wasm_bindgen(js_name = AuthorizationCode)]
pub struct JsAuthorizationCode {
    grant: Rc<Discoverable<AuthorizationCode>>,
    transport: Rc<Transport>,
    completed: Rc<std::cell::RefCell<Option<(CompletedLogin, TokenSet)>>>,
}

#[wasm_bindgen(js_class = AuthorizationCode)]
impl JsAuthorizationCode {
    /// Checks the options; a bad option throws a GrantkitError with code
    /// INVALID_CONFIG before anything is sent.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "AuthorizationCodeOptions")] options: JsValue,
    ) -> Result<JsAuthorizationCode, JsValue> {
        let build = || -> Result<_, Error> {
            let js = JsOptions::new(&options)?;
            let options: AuthorizationCodeOptions = js.read_options("AuthorizationCode")?;
            let mut transport = transport(options.transport(), &js.host);
            let settings = options.into_settings()?;
            // Configured, never discovered: known before the metadata.
            transport.dpop = settings.client.dpop.then(Default::default);
            let grant = Discoverable::new(settings, AuthorizationCode::new)?;
            Ok((grant, transport))
        };
        let (grant, transport) = build().map_err(|e| to_js_error(&e))?;
        Ok(JsAuthorizationCode {
            grant: Rc::new(grant),
            transport: Rc::new(transport),
            completed: Rc::default(),
        })
    }

    /// Begins a login in a page: resolves to the authorization URL to send
    /// the browser to, and keeps the pending login (state, PKCE verifier,
    /// nonce) in sessionStorage under its state, until complete() takes it.
    /// With only `issuer`, its metadata is read first.
    #[wasm_bindgen(js_name = authorizationUrl, unchecked_return_type = "Promise<string>")]
    pub fn authorization_url(&self) -> Promise {
        // Checked before anything is sent: a runtime without sessionStorage
        // gets its answer without a discovery request.
        let storage = match session_storage() {
            Ok(storage) => storage,
            Err(error) => return Promise::reject(&to_js_error(&error)),
        };
        let begun = self.begun();
        super::promise(async move {
            let (url, pending) = begun.await?;
            let key = authorization_code::storage_key(pending.state());
            super::call_method(
                &storage,
                "setItem",
                &[key.into(), pending.encode().expose().into()],
            )
            .map_err(|e| {
                to_js_error(&Error::config(
                    ConfigField::Pending,
                    format!(
                        "sessionStorage refused the pending login: {}",
                        super::thrown_message(&e)
                            .chars()
                            .take(200)
                            .collect::<String>()
                    ),
                ))
            })?;
            Ok(JsValue::from(url))
        })
    }

    /// Begins a login and resolves to `{ url, pending }`: send the browser
    /// to `url`; keep `pending` (an opaque string) until it comes back, and
    /// pass it to complete(). `pending` is secret: with the code it gets
    /// the tokens. Keep it server-side (a session), never in a URL. With
    /// only `issuer`, its metadata is read first.
    #[wasm_bindgen(unchecked_return_type = "Promise<AuthorizationBegin>")]
    pub fn begin(&self) -> Promise {
        let begun = self.begun();
        super::promise(async move {
            let (url, pending) = begun.await?;
            let pending = pending.encode();
            let output = AuthorizationBegin {
                url: &url,
                pending: pending.expose(),
            };
            Ok(to_js_json(&output))
        })
    }

    /// Completes a login from the URL the browser came back to (default:
    /// `location.href`) and resolves to the tokens. Without `pending`, the
    /// pending login is taken from sessionStorage by the redirect's state
    /// (and removed: it is used once). With only `issuer`, its metadata is
    /// read first (unless begin() or authorizationUrl() read it in this
    /// process). Rejects with a GrantkitError:
    /// AUTHORIZATION_STATE_MISMATCH, AUTHORIZATION_ISSUER_MISMATCH,
    /// OAUTH_ERROR (the user declined: `.error` is "access_denied"),
    /// ID_TOKEN_* and the codes of every token request.
    #[wasm_bindgen(unchecked_return_type = "Promise<TokenSet>")]
    pub fn complete(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "string")] callback_url: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "string")] pending: JsValue,
    ) -> Promise {
        let (grant, transport, completed) = (
            self.grant.clone(),
            self.transport.clone(),
            self.completed.clone(),
        );
        let exchange = (|| -> Result<_, Error> {
            let callback_url = match callback_url.as_string() {
                Some(url) => url,
                None if callback_url.is_undefined() => {
                    super::get(&super::get(&js_sys::global(), "location"), "href")
                        .as_string()
                        .ok_or_else(|| {
                            Error::config(
                                ConfigField::CallbackUrl,
                                "give the URL the browser came back to (there is no location here)",
                            )
                        })?
                }
                None => return Err(Error::config(ConfigField::CallbackUrl, "must be a string")),
            };
            let pending = match pending.as_string() {
                Some(pending) => PendingLogin::decode(&pending)?,
                None if pending.is_undefined() => take_pending(&callback_url)?,
                None => return Err(Error::config(ConfigField::Pending, "must be a string")),
            };
            Ok((callback_url, pending))
        })();
        super::promise(async move {
            let run = async {
                let (callback_url, pending) = exchange?;
                let login = login_ready(&grant, &transport).await?;
                let exchange = login.complete(&callback_url, &pending, &mut OsRng)?;
                let tokens = transport.run(exchange, None).await?;
                Ok::<_, Error>((login, tokens))
            };
            let (login, tokens) = run.await.map_err(|e| to_js_error(&e))?;
            let login = CompletedLogin::new(login, &tokens, &mut OsRng);
            let js = token_set_to_js(&tokens);
            *completed.borrow_mut() = Some((login, tokens));
            Ok(js)
        })
    }

    /// Revokes tokens (RFC 7009) as the other flows' revoke() does: the
    /// refresh token first, then the access token, authenticated as the
    /// code's exchange is. With only `issuer`, its metadata is read first.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn revoke(
        &self,
        #[wasm_bindgen(unchecked_param_type = "RevokeTokens")] tokens: JsValue,
    ) -> Promise {
        let (grant, transport) = (self.grant.clone(), self.transport.clone());
        let ready = transport.clone();
        revoke_with(
            transport,
            &tokens,
            Box::pin(async move { Ok(login_ready(&grant, &ready).await?.token_client().clone()) }),
        )
    }

    /// Asks the introspection endpoint about a token (RFC 7662), as the
    /// other flows' introspect() does.
    #[wasm_bindgen(unchecked_return_type = "Promise<IntrospectionResponse>")]
    pub fn introspect(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] token: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "IntrospectOptions")] options: JsValue,
    ) -> Promise {
        let (grant, transport) = (self.grant.clone(), self.transport.clone());
        let ready = transport.clone();
        introspect_with(
            transport,
            &token,
            &options,
            Box::pin(async move { Ok(login_ready(&grant, &ready).await?.token_client().clone()) }),
        )
    }

    /// Internal: the completed login and its tokens, for
    /// `new TokenSource(this)`.
    #[wasm_bindgen(js_name = __grantkitHandle, skip_typescript)]
    pub fn grantkit_handle(&self) -> Result<GrantHandle, JsValue> {
        match &*self.completed.borrow() {
            Some((login, tokens)) => Ok(GrantHandle {
                grant: Rc::new(login.clone()),
                transport: self.transport.clone(),
                initial: Some(tokens.clone()),
            }),
            None => Err(to_js_error(&Error::config(
                ConfigField::Flow,
                "an AuthorizationCode can back a TokenSource once complete() has resolved",
            ))),
        }
    }
}

impl JsAuthorizationCode {
    /// A login begun once its endpoints are known: the authorization URL
    /// and the pending login (authorizationUrl() and begin() keep it each
    /// their way).
    fn begun(&self) -> impl std::future::Future<Output = Result<(String, PendingLogin), JsValue>> {
        let (grant, transport) = (self.grant.clone(), self.transport.clone());
        async move {
            let login = login_ready(&grant, &transport)
                .await
                .map_err(|e| to_js_error(&e))?;
            Ok(login.begin(&mut OsRng))
        }
    }
}

/// The login with its endpoints: at once when they are configured (or were
/// discovered already), else after its issuer's metadata (which also says
/// whether the redirect must carry `iss`, RFC 9207 §3).
async fn login_ready(
    grant: &Discoverable<AuthorizationCode>,
    transport: &Transport,
) -> Result<std::sync::Arc<AuthorizationCode>, Error> {
    if let Some(flow) = grant.metadata_first(Box::new(OsRng)) {
        transport.run(flow, None).await?;
    }
    grant.shared().ok_or(Error::FlowMisuse {
        reason: "the login's metadata came without building it",
    })
}

/// What `begin()` resolves to.
#[derive(serde::Serialize, tsify::Tsify)]
pub struct AuthorizationBegin<'a> {
    /// The authorization URL to send the browser to.
    pub url: &'a str,
    /// The pending login, an opaque string to pass to complete(): secret, keep it server-side.
    pub pending: &'a str,
}

/// `sessionStorage`, where there is one.
fn session_storage() -> Result<JsValue, Error> {
    let storage = super::get(&js_sys::global(), "sessionStorage");
    if storage.is_object() {
        Ok(storage)
    } else {
        Err(Error::config(
            ConfigField::Pending,
            "authorizationUrl() keeps the pending login in sessionStorage, which this runtime lacks; use begin() and pass its pending to complete()",
        ))
    }
}

/// The pending login of the redirect's state, taken out of sessionStorage
/// (removed, whatever comes next: it is used once).
fn take_pending(callback_url: &str) -> Result<PendingLogin, Error> {
    let storage = session_storage()?;
    let missing = || {
        Error::Authorization {
        problem: crate::error::AuthorizationProblem::PendingInvalid,
        server: None,
        detail: "sessionStorage holds no pending login for the redirect's state (begun in another tab or browser, used already, or a forged redirect)".into(),
    }
    };
    let state = authorization_code::callback_state(callback_url).ok_or_else(missing)?;
    let key = JsValue::from(authorization_code::storage_key(&state));
    let stored = super::call_method(&storage, "getItem", std::slice::from_ref(&key))
        .ok()
        .and_then(|v| v.as_string());
    let _ = super::call_method(&storage, "removeItem", &[key]);
    PendingLogin::decode(&stored.ok_or_else(missing)?)
}

/// The grant's revoking and introspecting client.
pub(crate) fn token_client(
    grant: &dyn crate::source::Grant,
) -> Result<&crate::flow::TokenClient, Error> {
    grant.token_client().ok_or_else(|| {
        Error::config(
            ConfigField::RevocationEndpoint,
            "the ACP session login has no revocation or introspection endpoint",
        )
    })
}

fn revoke_tokens_error(given: &str) -> Error {
    Error::config(
        ConfigField::Token,
        format!("revoke takes a TokenSet or {{ access_token?, refresh_token? }}, not {given}"),
    )
}

/// The argument of a flow's `revoke(tokens)`, which is required.
fn given_tokens(js: &JsValue) -> Result<TokensToRevoke, Error> {
    revoke_tokens(js).and_then(|t| t.ok_or_else(|| revoke_tokens_error("undefined")))
}

/// The argument of `revoke(tokens)`; `None` when absent.
pub(crate) fn revoke_tokens(js: &JsValue) -> Result<Option<TokensToRevoke>, Error> {
    if js.is_undefined() || js.is_null() {
        return Ok(None);
    }
    if !js.is_object() {
        return Err(revoke_tokens_error("a value of another type"));
    }
    let tokens: RevokeTokens = JsOptions::new(js)?.read("revoke")?;
    Ok(Some(TokensToRevoke {
        refresh_token: tokens.refresh_token,
        access_token: tokens.access_token,
    }))
}

/// Gets the metadata a grant configured with an issuer still waits for:
/// its revocation and introspection endpoints may come from it.
pub(crate) async fn discovered(
    grant: &dyn crate::source::Grant,
    transport: &Transport,
) -> Result<(), Error> {
    match grant.discover_first(Box::new(OsRng)) {
        Some(flow) => transport.run(flow, None).await,
        None => Ok(()),
    }
}

/// How revoke() and introspect() find the client: after any discovery it
/// needs. Boxed, so that one copy of each serves every flow class.
type ClientLookup =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<crate::flow::TokenClient, Error>>>>;

/// A flow's revoke(tokens) with the client `client` resolves to (after any
/// discovery it needs): a Promise of undefined, or of the GrantkitError.
fn revoke_with(transport: Rc<Transport>, tokens: &JsValue, client: ClientLookup) -> Promise {
    let tokens = match given_tokens(tokens) {
        Ok(tokens) => tokens,
        Err(error) => return Promise::reject(&to_js_error(&error)),
    };
    super::promise(async move {
        let flow = client
            .await
            .and_then(|client| client.revoke(&tokens, &mut OsRng));
        revoke(&transport, flow).await
    })
}

/// Runs a revocation: undefined, or the GrantkitError.
pub(crate) async fn revoke(
    transport: &Transport,
    flow: Result<Revocation, Error>,
) -> Result<JsValue, JsValue> {
    let flow = flow.map_err(|e| to_js_error(&e))?;
    transport
        .run(flow, None)
        .await
        .map_err(|e| to_js_error(&e))?;
    Ok(JsValue::UNDEFINED)
}

/// Runs an introspection: a Promise of the server's answer.
pub(crate) fn introspect_promise(
    grant: Rc<dyn crate::source::Grant>,
    transport: Rc<Transport>,
    token: &JsValue,
    options: &JsValue,
) -> Promise {
    introspect_with(
        transport.clone(),
        token,
        options,
        Box::pin(async move {
            discovered(&*grant, &transport).await?;
            Ok(token_client(&*grant)?.clone())
        }),
    )
}

/// Runs an introspection with the client `client` resolves to (after any
/// discovery it needs): a Promise of the server's answer.
fn introspect_with(
    transport: Rc<Transport>,
    token: &JsValue,
    options: &JsValue,
    client: ClientLookup,
) -> Promise {
    let read = || -> Result<_, Error> {
        let token = token.as_string().ok_or_else(|| {
            Error::config(ConfigField::Token, "introspect takes the token as a string")
        })?;
        let (options, host): (IntrospectOptions, _) = read_js_optional(options, "introspect")?;
        let signal = options.signal.map(|signal| host.signal(signal));
        Ok((Secret::new(token), options.token_type_hint, signal))
    };
    let (token, hint, signal) = match read() {
        Ok(read) => read,
        Err(error) => return Promise::reject(&to_js_error(&error)),
    };
    super::promise(async move {
        let run = async {
            let flow = client.await?.introspect(&token, hint, &mut OsRng)?;
            transport.run(flow, signal.as_ref()).await
        };
        let answer = run.await.map_err(|e| to_js_error(&e))?;
        Ok(to_js_json(&IntrospectionOutput(&answer.raw)))
    })
}

/// Runs one flow and turns the outcome into a Promise of a TokenSet.
fn token_promise<F>(transport: Rc<Transport>, flow: F, options: JsValue) -> Promise
where
    F: crate::flow::Flow<Output = TokenSet> + 'static,
{
    super::promise(async move {
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

#[wasm_bindgen(js_class = JwtBearer)]
impl JsJwtBearer {
    /// A fresh signed assertion, exactly as getToken would send it, without
    /// sending anything (for diagnostics).
    #[wasm_bindgen(js_name = createAssertion, unchecked_return_type = "Promise<string>")]
    pub fn create_assertion(&self) -> Promise {
        let (transport, flow) = (
            self.transport.clone(),
            // With serverIssuer only, the token endpoint (the default aud)
            // comes from the metadata first.
            self.grant.run(Box::new(OsRng), |grant, mut rng| {
                grant.sign_assertion(&mut *rng)
            }),
        );
        super::promise(async move {
            let assertion = transport
                .run(flow, None)
                .await
                .map_err(|e| to_js_error(&e))?;
            Ok(assertion.into())
        })
    }
}

/// The device flow: its options, and `onPrompt` for the transport.
fn device_from_js(
    value: &JsValue,
) -> Result<(Rc<Discoverable<DeviceAuthorization>>, Transport), Error> {
    flow_from_js(
        value,
        "DeviceAuthorization",
        |o: DeviceAuthorizationOptions, host, transport| {
            transport.on_prompt = Some(host.function(o.on_prompt));
            Discoverable::new(o.into_settings()?, DeviceAuthorization::new)
        },
    )
}

/// The ACP login: its options, and in a browser, the page's origin.
fn acp_from_js(value: &JsValue) -> Result<(Rc<AcpLogin>, Transport), Error> {
    flow_from_js(value, "AcpLogin", |o: AcpLoginOptions, _, transport| {
        let login = AcpLogin::new(o.into_settings()?)?;
        if let Some(origin) = super::driver::browser_origin() {
            // Browsers hide Set-Cookie from scripts and forbid setting
            // Cookie: only the browser's own cookie store can carry the
            // session, and only to the page's origin. A caller's `fetch`
            // (a relay) carries it instead, as in Node: grantkit's jar sends
            // Cookie in the headers it hands over and reads Set-Cookie
            // through `headers.getSetCookie()` on what comes back.
            if origin == login.platform_url() {
                transport.include_credentials = true;
            } else if transport.fetch.is_none() {
                return Err(Error::Acp {
                    problem: crate::error::AcpProblem::CrossOrigin,
                    status: None,
                    detail: format!(
                        "this page is {origin}, the platform is {}; serve the page from the platform, pass a fetch that carries the session cookie (a relay), or run the login in Node, Deno, Bun or a worker runtime",
                        login.platform_url()
                    ),
                });
            }
        }
        Ok(login)
    })
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

/// Reads an issuer's metadata (OpenID Connect Discovery 1.0, then RFC 8414
/// on a 404), checks it as every flow configured with `issuer` does, and
/// resolves to the endpoints it names. The answer is the one the flows of
/// this module share (one request per issuer and fetch). Rejects with a
/// GrantkitError: INVALID_CONFIG, DISCOVERY_*, or a transport error.
#[wasm_bindgen(js_name = discover, unchecked_return_type = "Promise<DiscoveredEndpoints>")]
pub fn discover(
    #[wasm_bindgen(unchecked_param_type = "DiscoverOptions")] options: JsValue,
) -> Promise {
    let read = || -> Result<_, Error> {
        let js = JsOptions::new(&options)?;
        let options: DiscoverOptions = js.read_options("discover")?;
        let transport = transport(options.transport(), &js.host);
        let request = crate::discovery::DiscoveryRequest::new(
            ConfigField::Issuer,
            &options.issuer,
            options.allow_insecure_http.unwrap_or(false),
        )?;
        Ok((transport, request))
    };
    let (transport, request) = match read() {
        Ok(read) => read,
        Err(error) => return Promise::reject(&to_js_error(&error)),
    };
    super::promise(async move {
        let metadata = transport
            .discover(&request, None)
            .await
            .map_err(|e| to_js_error(&e))?;
        Ok(to_js_json(&DiscoveredEndpoints::from(&*metadata)))
    })
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

fn preset(
    provider: Provider,
    token_endpoint: Result<String, Error>,
    issuer: Result<Option<String>, Error>,
) -> Result<JsValue, JsValue> {
    let token_endpoint = token_endpoint.map_err(|e| to_js_error(&e))?;
    let issuer = issuer.map_err(|e| to_js_error(&e))?;
    Ok(to_js_json(&TokenEndpointPreset {
        provider,
        token_endpoint,
        issuer,
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

/// Keycloak: `{baseUrl}/realms/{realm}/protocol/openid-connect/token`, and
/// its issuer `{baseUrl}/realms/{realm}`.
/// Spread the result into a flow's options.
#[wasm_bindgen(unchecked_return_type = "TokenEndpointPreset")]
pub fn keycloak(
    #[wasm_bindgen(unchecked_param_type = "KeycloakOptions")] options: JsValue,
) -> Result<JsValue, JsValue> {
    let options: KeycloakOptions = preset_options(&options, "keycloak")?;
    preset(
        Provider::Keycloak,
        provider::keycloak_token_endpoint(&options.base_url, &options.realm),
        provider::keycloak_issuer(&options.base_url, &options.realm).map(Some),
    )
}

/// Microsoft Entra ID: `https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token`,
/// its issuer `https://login.microsoftonline.com/{tenant}/v2.0`, and
/// Entra's scope rules. Spread the result into a flow's options.
#[wasm_bindgen(unchecked_return_type = "TokenEndpointPreset")]
pub fn entra(
    #[wasm_bindgen(unchecked_param_type = "TenantOptions")] options: JsValue,
) -> Result<JsValue, JsValue> {
    let options: TenantOptions = preset_options(&options, "entra")?;
    preset(
        Provider::Entra,
        provider::entra_token_endpoint(&options.tenant),
        provider::entra_issuer(&options.tenant).map(Some),
    )
}

/// PingOne Advanced Identity Cloud: `https://{tenant}:443/am/oauth2/access_token`
/// (the `:443` is kept on purpose), and with a realm its issuer
/// `https://{tenant}/am/oauth2/realms/root/realms/{realm}`. Spread the
/// result into a flow's options.
#[wasm_bindgen(js_name = pingAic, unchecked_return_type = "TokenEndpointPreset")]
pub fn ping_aic(
    #[wasm_bindgen(unchecked_param_type = "PingAicOptions")] options: JsValue,
) -> Result<JsValue, JsValue> {
    let options: PingAicOptions = preset_options(&options, "pingAic")?;
    preset(
        Provider::PingAic,
        provider::ping_aic_token_endpoint(&options.tenant),
        options
            .realm
            .map(|realm| provider::ping_aic_issuer(&options.tenant, &realm))
            .transpose(),
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
        Ok(None),
    )
}

/// Alauda ACP: the platform URL, checked and without a trailing slash, for
/// the session login, and its Dex issuer (`{ provider: "acp", platformUrl,
/// issuer: "{platformUrl}/dex" }`).
#[wasm_bindgen(unchecked_return_type = "AcpPreset")]
pub fn acp(
    #[wasm_bindgen(unchecked_param_type = "AcpOptions")] options: JsValue,
) -> Result<JsValue, JsValue> {
    let options: AcpOptions = preset_options(&options, "acp")?;
    let url = provider::acp_platform_url(&options.platform_url).map_err(|e| to_js_error(&e))?;
    let issuer = provider::acp_issuer(&url).map_err(|e| to_js_error(&e))?;
    Ok(to_js_json(&AcpPreset {
        provider: Provider::Acp,
        platform_url: url,
        issuer,
    }))
}
