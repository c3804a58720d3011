//! The client configuration every token-endpoint grant embeds: where tokens
//! come from, who the client is and how it proves it, what it asks for.

use super::revocation::TokenClient;
use super::token_request::{ExtraParams, ParamValue, Scope, TokenRequest};
use crate::client_auth::{ClientAuth, ClientCredential};
use crate::discovery::{DiscoveryRequest, ServerMetadata};
use crate::endpoint::check_endpoint;
use crate::error::{DiscoveryProblem, Error};
use crate::options::ConfigField;
use crate::provider::Provider;

/// A client's configuration, as every grant takes it.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// The token endpoint, exactly as it is to be called; empty: the one
    /// the issuer's metadata names.
    pub token_endpoint: String,
    /// The authorization server's issuer, whose metadata (OpenID Connect
    /// Discovery, RFC 8414) gives the endpoints not configured.
    pub issuer: Option<String>,
    /// The option that gives `issuer`, for errors: `issuer`, or
    /// `serverIssuer` where `issuer` means something else (JwtBearer).
    pub issuer_field: ConfigField,
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
    /// Ask for tokens bound to the driver's DPoP key (RFC 9449): every
    /// token request carries a proof, and only `token_type` DPoP is
    /// accepted.
    pub dpop: bool,
}

impl ClientConfig {
    /// A public client of `token_endpoint`, with every default.
    pub fn new(token_endpoint: &str, client_id: &str) -> Self {
        ClientConfig {
            token_endpoint: token_endpoint.to_owned(),
            issuer: None,
            issuer_field: ConfigField::Issuer,
            client_id: client_id.to_owned(),
            credential: ClientCredential::None,
            scope: Vec::new(),
            extra_params: Vec::new(),
            provider: None,
            allow_insecure_http: false,
            revocation_endpoint: None,
            introspection_endpoint: None,
            dpop: false,
        }
    }

    /// The provider whose rules apply: the configured one, else the one
    /// the token endpoint evidently belongs to.
    pub fn provider(&self) -> Provider {
        self.provider
            .unwrap_or_else(|| Provider::infer(&self.token_endpoint))
    }

    /// What to discover, if anything: `None` when the token endpoint is
    /// configured (a configured issuer is still checked), the issuer's
    /// request when only the issuer is. Neither is a configuration error.
    pub fn discovery(&self) -> Result<Option<DiscoveryRequest>, Error> {
        let request = self.discovery_request()?;
        match (self.token_endpoint.is_empty(), request) {
            (false, _) => Ok(None),
            (true, Some(request)) => Ok(Some(request)),
            (true, None) => Err(Error::config(
                ConfigField::TokenEndpoint,
                format!(
                    "give tokenEndpoint, or {} to read it from the server's metadata",
                    self.issuer_field
                ),
            )),
        }
    }

    /// The request for the configured issuer's metadata, checked; `None`
    /// without an issuer.
    pub fn discovery_request(&self) -> Result<Option<DiscoveryRequest>, Error> {
        self.issuer
            .as_deref()
            .map(|issuer| {
                DiscoveryRequest::new(self.issuer_field, issuer, self.allow_insecure_http)
            })
            .transpose()
    }

    /// Fills the token endpoint, when not configured, from `metadata`; and
    /// the revocation and introspection endpoints, when not configured and
    /// the metadata names them (RFC 8414 §2: both OPTIONAL).
    pub fn fill_from(&mut self, metadata: &ServerMetadata) -> Result<(), Error> {
        if self.token_endpoint.is_empty() {
            self.token_endpoint = required(
                metadata.token_endpoint.as_deref(),
                "token_endpoint",
                metadata,
            )?;
        }
        if self.revocation_endpoint.is_none() {
            self.revocation_endpoint = metadata.revocation_endpoint.clone();
        }
        if self.introspection_endpoint.is_none() {
            self.introspection_endpoint = metadata.introspection_endpoint.clone();
        }
        Ok(())
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
            dpop: self.dpop,
        })
    }
}

/// An endpoint the flow needs from `metadata`, or the error that says it
/// is not there.
pub(crate) fn required(
    endpoint: Option<&str>,
    member: &str,
    metadata: &ServerMetadata,
) -> Result<String, Error> {
    endpoint.map(str::to_owned).ok_or_else(|| Error::Discovery {
        problem: DiscoveryProblem::MissingEndpoint,
        status: None,
        detail: format!(
            "the metadata of {:?} has no {member}; configure the endpoint instead",
            metadata.issuer
        ),
    })
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
    pub dpop: bool,
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
            dpop: self.dpop,
        }
    }
}
