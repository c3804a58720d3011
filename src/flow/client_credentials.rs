//! The client credentials grant (RFC 6749 §4.4).

use super::client::ClientConfig;
use super::token_request::{TokenGrant, TokenRequest};
use crate::client_auth::{ClientAuthMethod, ClientCredential};
use crate::error::Error;
use crate::options::ConfigField;
use crate::provider::{entra, Provider};
use crate::secret::Secret;
use rsa::rand_core::CryptoRngCore;

/// What a client-credentials client is configured with.
#[derive(Clone, Debug)]
pub struct ClientCredentialsSettings {
    /// The client: endpoint, id, secret or key, scope, extra parameters.
    pub client: ClientConfig,
}

impl ClientCredentialsSettings {
    /// Settings for a client with a secret (HTTP Basic) and every default.
    pub fn new(token_endpoint: &str, client_id: &str, client_secret: Secret) -> Self {
        let mut client = ClientConfig::new(token_endpoint, client_id);
        client.credential = ClientCredential::Secret {
            secret: client_secret,
            method: ClientAuthMethod::Basic,
        };
        ClientCredentialsSettings { client }
    }
}

/// A checked client-credentials configuration; each [`ClientCredentials::start`]
/// gives a fresh flow.
#[derive(Clone, Debug)]
pub struct ClientCredentials {
    request: TokenRequest,
    token_client: super::TokenClient,
}

impl ClientCredentials {
    /// Checks the settings; every error here is raised before any request.
    pub fn new(settings: ClientCredentialsSettings) -> Result<Self, Error> {
        let client = settings.client.check(false)?;
        if !client.client.is_confidential() {
            return Err(Error::config(
                ConfigField::ClientSecret,
                "client credentials need a client secret or a private key",
            ));
        }
        if client.provider == Provider::Entra {
            entra::check_client_credentials_scope(client.scope.values())?;
        }
        Ok(ClientCredentials {
            token_client: client.token_client(),
            request: client.request("client_credentials", Vec::new()),
        })
    }

    /// A flow that requests one token. `rng` gives the `jti` of a client
    /// assertion (`private_key_jwt`); it is not used with a secret.
    pub fn start(&self, rng: &mut dyn CryptoRngCore) -> TokenGrant {
        TokenGrant::new(self.request.clone(), None, rng)
    }
}

super::token_request::single_request_grant!(ClientCredentials, ClientCredentials, |grant| {
    grant.request.identity()
});
