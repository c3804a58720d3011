//! The client credentials grant (RFC 6749 §4.4).

use super::token_request::{token_request, ExtraParams, Scope, TokenGrant};
use crate::client_auth::{ClientAuth, ClientAuthMethod};
use crate::endpoint::check_endpoint;
use crate::error::Error;
use crate::provider::{entra, Provider};
use crate::redact::Redactor;
use crate::secret::Secret;

/// What a client-credentials client is configured with.
#[derive(Clone, Debug)]
pub struct ClientCredentialsSettings {
    /// The token endpoint, exactly as it is to be called.
    pub token_endpoint: String,
    /// The client id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: Secret,
    /// Where the secret goes (default: HTTP Basic).
    pub client_auth: ClientAuthMethod,
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
    /// Settings with the required values and every default.
    pub fn new(token_endpoint: &str, client_id: &str, client_secret: Secret) -> Self {
        ClientCredentialsSettings {
            token_endpoint: token_endpoint.to_owned(),
            client_id: client_id.to_owned(),
            client_secret,
            client_auth: ClientAuthMethod::default(),
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
    token_endpoint: String,
    client: ClientAuth,
    scope: Scope,
    extra: ExtraParams,
}

impl ClientCredentials {
    /// Checks the settings; every error here is raised before any request.
    pub fn new(settings: ClientCredentialsSettings) -> Result<Self, Error> {
        let token_endpoint = check_endpoint(
            "tokenEndpoint",
            &settings.token_endpoint,
            settings.allow_insecure_http,
        )?;
        let client = ClientAuth::with_secret(
            settings.client_id,
            settings.client_secret,
            settings.client_auth,
        )?;
        let scope = Scope::parse(&settings.scope)?;
        let provider = settings
            .provider
            .unwrap_or_else(|| Provider::infer(&token_endpoint));
        if provider == Provider::Entra {
            entra::check_client_credentials_scope(scope.values())?;
        }
        Ok(ClientCredentials {
            token_endpoint,
            client,
            scope,
            extra: ExtraParams::new(settings.extra_params)?,
        })
    }

    /// A flow that requests one token.
    pub fn start(&self) -> TokenGrant {
        let request = token_request(
            &self.token_endpoint,
            &[("grant_type", "client_credentials")],
            &self.scope,
            &self.extra,
            &self.client,
        );
        TokenGrant::new(request, Redactor::new(self.client.secret()))
    }
}
