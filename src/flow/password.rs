//! The resource owner password credentials grant (RFC 6749 §4.3).

use super::token_request::{ExtraParams, ParamValue, Scope, TokenGrant, TokenRequest};
use crate::client_auth::{ClientAuth, ClientCredential};
use crate::endpoint::check_endpoint;
use crate::error::Error;
use crate::provider::{entra, Provider};
use crate::secret::Secret;
use rsa::rand_core::CryptoRngCore;

/// What a password-grant client is configured with.
#[derive(Clone, Debug)]
pub struct PasswordGrantSettings {
    /// The token endpoint, exactly as it is to be called.
    pub token_endpoint: String,
    /// The client id.
    pub client_id: String,
    /// The client secret or key; [`ClientCredential::None`] for a public
    /// client.
    pub credential: ClientCredential,
    /// The resource owner's user name.
    pub username: String,
    /// The resource owner's password.
    pub password: Secret,
    /// Scope values.
    pub scope: Vec<String>,
    /// Extra form parameters.
    pub extra_params: Vec<(String, String)>,
    /// The provider, for its documented rules; inferred from the endpoint
    /// when `None`.
    pub provider: Option<Provider>,
    /// Allow plain `http` to hosts other than loopback.
    pub allow_insecure_http: bool,
}

impl PasswordGrantSettings {
    /// Settings for a public client and every default.
    pub fn new(token_endpoint: &str, client_id: &str, username: &str, password: Secret) -> Self {
        PasswordGrantSettings {
            token_endpoint: token_endpoint.to_owned(),
            client_id: client_id.to_owned(),
            credential: ClientCredential::None,
            username: username.to_owned(),
            password,
            scope: Vec::new(),
            extra_params: Vec::new(),
            provider: None,
            allow_insecure_http: false,
        }
    }
}

/// A checked password-grant configuration; each [`PasswordGrant::start`]
/// gives a fresh flow.
#[derive(Clone, Debug)]
pub struct PasswordGrant {
    request: TokenRequest,
}

impl PasswordGrant {
    /// Checks the settings; every error here is raised before any request.
    pub fn new(settings: PasswordGrantSettings) -> Result<Self, Error> {
        let token_endpoint = check_endpoint(
            "tokenEndpoint",
            &settings.token_endpoint,
            settings.allow_insecure_http,
        )?;
        let client = ClientAuth::new(settings.client_id, settings.credential)?;
        if settings.username.is_empty() {
            return Err(Error::config("username", "must not be empty"));
        }
        if settings.password.expose().is_empty() {
            return Err(Error::config("password", "must not be empty"));
        }
        let scope = Scope::parse(&settings.scope)?;
        let provider = settings
            .provider
            .unwrap_or_else(|| Provider::infer(&token_endpoint));
        if provider == Provider::Entra {
            if !client.is_confidential() {
                // Entra's password grant needs the client id and secret.
                return Err(Error::config(
                    "clientSecret",
                    "Microsoft Entra ID's password grant needs the client secret",
                ));
            }
            entra::check_password_scope(scope.values())?;
        }
        Ok(PasswordGrant {
            request: TokenRequest {
                endpoint: token_endpoint,
                assertion_audience: None,
                grant_type: Some("password"),
                grant_params: vec![
                    ("username", ParamValue::Plain(settings.username)),
                    ("password", ParamValue::Secret(settings.password)),
                ],
                scope,
                extra: ExtraParams::new(settings.extra_params)?,
                client,
            },
        })
    }

    /// A flow that requests one token. `rng` gives the `jti` of a client
    /// assertion (`private_key_jwt`); it is not used otherwise.
    pub fn start(&self, rng: &mut dyn CryptoRngCore) -> TokenGrant {
        TokenGrant::new(self.request.clone(), None, rng)
    }
}

super::token_request::single_request_grant!(PasswordGrant, Password, |grant| {
    grant.request.identity()
});
