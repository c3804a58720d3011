//! The client credentials grant (RFC 6749 §4.4).

use super::token_request::{ExtraParams, Scope, TokenGrant, TokenRequest};
use crate::client_auth::{ClientAuth, ClientAuthMethod, ClientCredential};
use crate::endpoint::check_endpoint;
use crate::error::Error;
use crate::provider::{entra, Provider};
use crate::secret::Secret;
use rsa::rand_core::CryptoRngCore;

/// What a client-credentials client is configured with.
#[derive(Clone, Debug)]
pub struct ClientCredentialsSettings {
    /// The token endpoint, exactly as it is to be called.
    pub token_endpoint: String,
    /// The client id.
    pub client_id: String,
    /// The client secret or key.
    pub credential: ClientCredential,
    /// Scope values.
    pub scope: Vec<String>,
    /// Extra form parameters (`audience`, `resource`, ...).
    pub extra_params: Vec<(String, String)>,
    /// The provider, for its documented rules; inferred from the endpoint
    /// when `None`.
    pub provider: Option<Provider>,
    /// Allow plain `http` to hosts other than loopback.
    pub allow_insecure_http: bool,
}

impl ClientCredentialsSettings {
    /// Settings for a client with a secret (HTTP Basic) and every default.
    pub fn new(token_endpoint: &str, client_id: &str, client_secret: Secret) -> Self {
        ClientCredentialsSettings {
            token_endpoint: token_endpoint.to_owned(),
            client_id: client_id.to_owned(),
            credential: ClientCredential::Secret {
                secret: client_secret,
                method: ClientAuthMethod::Basic,
            },
            scope: Vec::new(),
            extra_params: Vec::new(),
            provider: None,
            allow_insecure_http: false,
        }
    }
}

/// A checked client-credentials configuration; each [`ClientCredentials::start`]
/// gives a fresh flow.
#[derive(Clone, Debug)]
pub struct ClientCredentials {
    request: TokenRequest,
}

impl ClientCredentials {
    /// Checks the settings; every error here is raised before any request.
    pub fn new(settings: ClientCredentialsSettings) -> Result<Self, Error> {
        let token_endpoint = check_endpoint(
            "tokenEndpoint",
            &settings.token_endpoint,
            settings.allow_insecure_http,
        )?;
        let client = ClientAuth::new(settings.client_id, settings.credential)?;
        if !client.is_confidential() {
            return Err(Error::config(
                "clientSecret",
                "client credentials need a client secret or a private key",
            ));
        }
        let scope = Scope::parse(&settings.scope)?;
        let provider = settings
            .provider
            .unwrap_or_else(|| Provider::infer(&token_endpoint));
        if provider == Provider::Entra {
            entra::check_client_credentials_scope(scope.values())?;
        }
        Ok(ClientCredentials {
            request: TokenRequest {
                endpoint: token_endpoint,
                assertion_audience: None,
                grant_type: Some("client_credentials"),
                grant_params: Vec::new(),
                scope,
                extra: ExtraParams::new(settings.extra_params)?,
                client,
            },
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
