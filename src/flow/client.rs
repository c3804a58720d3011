//! The client configuration every token-endpoint grant embeds: where tokens
//! come from, who the client is and how it proves it, what it asks for.

use super::token_request::{ExtraParams, ParamValue, Scope, TokenRequest};
use crate::client_auth::{ClientAuth, ClientCredential};
use crate::endpoint::check_endpoint;
use crate::error::Error;
use crate::options::ConfigField;
use crate::provider::Provider;

/// A client's configuration, as every grant takes it.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// The token endpoint, exactly as it is to be called.
    pub token_endpoint: String,
    /// The client id (may be empty only where the grant says so: a JWT
    /// bearer assertion authenticates on its own).
    pub client_id: String,
    /// The client secret or key; [`ClientCredential::None`] for a public
    /// client.
    pub credential: ClientCredential,
    /// Scope values; each may hold several, space-separated.
    pub scope: Vec<String>,
    /// Extra form parameters (`audience`, `resource`, ...), in order.
    pub extra_params: Vec<(String, String)>,
    /// The provider, for its documented rules and endpoints; inferred from
    /// the token endpoint when `None`.
    pub provider: Option<Provider>,
    /// Allow plain `http` to hosts other than loopback.
    pub allow_insecure_http: bool,
}

impl ClientConfig {
    /// A public client of `token_endpoint`, with every default.
    pub fn new(token_endpoint: &str, client_id: &str) -> Self {
        ClientConfig {
            token_endpoint: token_endpoint.to_owned(),
            client_id: client_id.to_owned(),
            credential: ClientCredential::None,
            scope: Vec::new(),
            extra_params: Vec::new(),
            provider: None,
            allow_insecure_http: false,
        }
    }

    /// The provider whose rules apply: the configured one, else the one
    /// the token endpoint evidently belongs to.
    pub fn provider(&self) -> Provider {
        self.provider
            .unwrap_or_else(|| Provider::infer(&self.token_endpoint))
    }

    /// Checks the configuration; every error names its option and comes
    /// before any request. With `client_id_optional`, an empty client id
    /// and no credential send no client identification at all.
    pub(crate) fn check(self, client_id_optional: bool) -> Result<CheckedClient, Error> {
        let provider = self.provider();
        let endpoint = check_endpoint(
            ConfigField::TokenEndpoint,
            &self.token_endpoint,
            self.allow_insecure_http,
        )?;
        let anonymous = client_id_optional
            && self.client_id.is_empty()
            && matches!(self.credential, ClientCredential::None);
        let client = if anonymous {
            ClientAuth::anonymous()
        } else {
            ClientAuth::new(self.client_id, self.credential)?
        };
        Ok(CheckedClient {
            endpoint,
            provider,
            client,
            scope: Scope::parse(&self.scope)?,
            extra: ExtraParams::new(self.extra_params)?,
        })
    }
}

/// A checked [`ClientConfig`].
#[derive(Clone, Debug)]
pub(crate) struct CheckedClient {
    pub endpoint: String,
    pub provider: Provider,
    pub client: ClientAuth,
    pub scope: Scope,
    pub extra: ExtraParams,
}

impl CheckedClient {
    /// The token request of a grant: `grant_type` and its parameters, then
    /// the configured scope, extra parameters and client authentication.
    pub fn request(
        self,
        grant_type: &'static str,
        grant_params: Vec<(&'static str, ParamValue)>,
    ) -> TokenRequest {
        TokenRequest {
            endpoint: self.endpoint,
            assertion_audience: None,
            grant_type: Some(grant_type),
            grant_params,
            scope: self.scope,
            extra: self.extra,
            client: self.client,
        }
    }
}
