//! The resource owner password credentials grant (RFC 6749 §4.3).

use super::client::ClientConfig;
use super::token_request::{ParamValue, TokenGrant, TokenRequest};
use crate::error::Error;
use crate::options::ConfigField;
use crate::provider::{entra, Provider};
use crate::secret::Secret;
use rsa::rand_core::CryptoRngCore;

/// What a password-grant client is configured with.
#[derive(Clone, Debug)]
pub struct PasswordGrantSettings {
    /// The client: endpoint, id, secret or key (none for a public client),
    /// scope, extra parameters.
    pub client: ClientConfig,
    /// The resource owner's user name.
    pub username: String,
    /// The resource owner's password.
    pub password: Secret,
}

impl PasswordGrantSettings {
    /// Settings for a public client and every default.
    pub fn new(token_endpoint: &str, client_id: &str, username: &str, password: Secret) -> Self {
        PasswordGrantSettings {
            client: ClientConfig::new(token_endpoint, client_id),
            username: username.to_owned(),
            password,
        }
    }
}

/// A checked password-grant configuration; each [`PasswordGrant::start`]
/// gives a fresh flow.
#[derive(Clone, Debug)]
pub struct PasswordGrant {
    request: TokenRequest,
    token_client: super::TokenClient,
}

impl PasswordGrant {
    /// Checks the settings; every error here is raised before any request.
    pub fn new(settings: PasswordGrantSettings) -> Result<Self, Error> {
        let client = settings.client.check(false)?;
        if settings.username.is_empty() {
            return Err(Error::config(ConfigField::Username, "must not be empty"));
        }
        if settings.password.expose().is_empty() {
            return Err(Error::config(ConfigField::Password, "must not be empty"));
        }
        if client.provider == Provider::Entra {
            if !client.client.is_confidential() {
                // Entra's password grant needs the client id and secret.
                return Err(Error::config(
                    ConfigField::ClientSecret,
                    "Microsoft Entra ID's password grant needs the client secret",
                ));
            }
            entra::check_password_scope(client.scope.values())?;
        }
        Ok(PasswordGrant {
            token_client: client.token_client(),
            request: client.request(
                "password",
                vec![
                    ("username", ParamValue::Plain(settings.username)),
                    ("password", ParamValue::Secret(settings.password)),
                ],
            ),
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
