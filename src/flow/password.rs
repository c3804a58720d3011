//! The resource owner password credentials grant (RFC 6749 §4.3).

use super::token_request::{token_request, ExtraParams, Scope, TokenGrant};
use crate::client_auth::{ClientAuth, ClientAuthMethod};
use crate::endpoint::check_endpoint;
use crate::error::Error;
use crate::provider::{entra, Provider};
use crate::redact::Redactor;
use crate::secret::Secret;

/// What a password-grant client is configured with.
#[derive(Clone, Debug)]
pub struct PasswordGrantSettings {
    /// The token endpoint, exactly as it is to be called.
    pub token_endpoint: String,
    /// The client id.
    pub client_id: String,
    /// The client secret; `None` for a public client.
    pub client_secret: Option<Secret>,
    /// Where the secret goes (default: HTTP Basic).
    pub client_auth: ClientAuthMethod,
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
    /// Settings with the required values and every default.
    pub fn new(token_endpoint: &str, client_id: &str, username: &str, password: Secret) -> Self {
        PasswordGrantSettings {
            token_endpoint: token_endpoint.to_owned(),
            client_id: client_id.to_owned(),
            client_secret: None,
            client_auth: ClientAuthMethod::default(),
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
    token_endpoint: String,
    client: ClientAuth,
    username: String,
    password: Secret,
    scope: Scope,
    extra: ExtraParams,
}

impl PasswordGrant {
    /// Checks the settings; every error here is raised before any request.
    pub fn new(settings: PasswordGrantSettings) -> Result<Self, Error> {
        let token_endpoint = check_endpoint(
            "tokenEndpoint",
            &settings.token_endpoint,
            settings.allow_insecure_http,
        )?;
        let client = match settings.client_secret {
            Some(secret) => {
                ClientAuth::with_secret(settings.client_id, secret, settings.client_auth)?
            }
            None => ClientAuth::public(settings.client_id)?,
        };
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
            if client.secret().is_none() {
                // Entra's password grant needs the client id and secret.
                return Err(Error::config(
                    "clientSecret",
                    "Microsoft Entra ID's password grant needs the client secret",
                ));
            }
            entra::check_password_scope(scope.values())?;
        }
        Ok(PasswordGrant {
            token_endpoint,
            client,
            username: settings.username,
            password: settings.password,
            scope,
            extra: ExtraParams::new(settings.extra_params)?,
        })
    }

    /// A flow that requests one token.
    pub fn start(&self) -> TokenGrant {
        let request = token_request(
            &self.token_endpoint,
            &[
                ("grant_type", "password"),
                ("username", &self.username),
                ("password", self.password.expose()),
            ],
            &self.scope,
            &self.extra,
            &self.client,
        );
        let secrets = self.client.secret().into_iter().chain([&self.password]);
        TokenGrant::new(request, Redactor::new(secrets))
    }
}
