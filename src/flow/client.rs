//! The client configuration every token-endpoint grant embeds: where tokens
//! come from, who the client is and how it proves it, what it asks for.

use super::revocation::TokenClient;
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
    /// The revocation endpoint (RFC 7009); `None`: the provider's documented
    /// one beside the token endpoint, where there is one
    /// ([`Provider::revocation_endpoint`]).
    pub revocation_endpoint: Option<String>,
    /// The introspection endpoint (RFC 7662); `None`: the provider's
    /// documented one ([`Provider::introspection_endpoint`]).
    pub introspection_endpoint: Option<String>,
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
            revocation_endpoint: None,
            introspection_endpoint: None,
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
        // Given: checked like the token endpoint; absent: the provider's
        // documented one, built from the checked token endpoint.
        let beside = |field, given: Option<String>, derived: Option<String>| match given {
            Some(url) => check_endpoint(field, &url, self.allow_insecure_http).map(Some),
            None => Ok(derived),
        };
        let revocation_endpoint = beside(
            ConfigField::RevocationEndpoint,
            self.revocation_endpoint,
            provider.revocation_endpoint(&endpoint),
        )?;
        let introspection_endpoint = beside(
            ConfigField::IntrospectionEndpoint,
            self.introspection_endpoint,
            provider.introspection_endpoint(&endpoint),
        )?;
        Ok(CheckedClient {
            endpoint,
            provider,
            client,
            scope: Scope::parse(&self.scope)?,
            extra: ExtraParams::new(self.extra_params)?,
            revocation_endpoint,
            introspection_endpoint,
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
    pub revocation_endpoint: Option<String>,
    pub introspection_endpoint: Option<String>,
}

impl CheckedClient {
    /// The client as revocation and introspection requests present it.
    pub fn token_client(&self) -> TokenClient {
        TokenClient {
            token_endpoint: self.endpoint.clone(),
            provider: self.provider,
            client: self.client.clone(),
            revocation_endpoint: self.revocation_endpoint.clone(),
            introspection_endpoint: self.introspection_endpoint.clone(),
        }
    }

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
