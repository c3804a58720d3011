//! Grants configured with an issuer instead of endpoints: the settings wait
//! for the authorization server's metadata ([`crate::discovery`]).
//!
//! A [`Discoverable`] grant is checked when it is made, with the issuer
//! standing in for every endpoint the metadata is to give: each other
//! configuration error is raised before any request, as for a grant with
//! endpoints. Its first flow asks the driver for the metadata
//! ([`Action::Discover`]); with it the real grant is built once and kept,
//! so later flows (and refreshes) start at once.

use super::token_exchange::TokenExchangeSettings;
use super::{Action, AuthorizationCodeSettings, DeviceAuthorizationSettings, Flow};
use super::{ClientCredentialsSettings, JwtBearerSettings, PasswordGrantSettings};
use crate::discovery::{DiscoveryRequest, ServerMetadata};
use crate::error::Error;
use crate::http::{HttpRequest, HttpResponse};
use crate::redact::Redactor;
use crate::secret::Secret;
use crate::source::{CredentialBinding, Grant, GrantKind};
use crate::time::UnixTime;
use crate::token::TokenSet;
use rsa::rand_core::CryptoRngCore;
use std::fmt;
use std::sync::{Arc, OnceLock};

/// Settings whose endpoints may come from the issuer's metadata.
pub trait DiscoverableSettings: Clone + 'static {
    /// What to discover; `None` when the configured endpoints suffice.
    /// Neither endpoints nor an issuer is a configuration error.
    fn discovery(&self) -> Result<Option<DiscoveryRequest>, Error>;

    /// Fills the endpoints that are not configured from `metadata`.
    fn fill_from(&mut self, metadata: &ServerMetadata) -> Result<(), Error>;
}

macro_rules! client_settings {
    ($($settings:ty),*) => {$(
        impl DiscoverableSettings for $settings {
            fn discovery(&self) -> Result<Option<DiscoveryRequest>, Error> {
                self.client.discovery()
            }

            fn fill_from(&mut self, metadata: &ServerMetadata) -> Result<(), Error> {
                self.client.fill_from(metadata)
            }
        }
    )*};
}

client_settings!(
    ClientCredentialsSettings,
    PasswordGrantSettings,
    JwtBearerSettings,
    TokenExchangeSettings
);

impl DeviceAuthorizationSettings {
    /// Whether the device authorization endpoint is known without
    /// metadata: configured, or documented beside the token endpoint.
    fn device_endpoint_known(&self) -> bool {
        self.device_authorization_endpoint.is_some()
            || self
                .client
                .provider()
                .device_authorization_endpoint(&self.client.token_endpoint)
                .is_some()
    }
}

impl DiscoverableSettings for DeviceAuthorizationSettings {
    fn discovery(&self) -> Result<Option<DiscoveryRequest>, Error> {
        match self.client.discovery()? {
            Some(request) => Ok(Some(request)),
            None if self.device_endpoint_known() => Ok(None),
            // Without an issuer, DeviceAuthorization::new names the option.
            None => self.client.discovery_request(),
        }
    }

    fn fill_from(&mut self, metadata: &ServerMetadata) -> Result<(), Error> {
        self.client.fill_from(metadata)?;
        if self.device_authorization_endpoint.is_none() {
            match &metadata.device_authorization_endpoint {
                Some(endpoint) => self.device_authorization_endpoint = Some(endpoint.clone()),
                None if self.device_endpoint_known() => {}
                None => {
                    super::client::required(None, "device_authorization_endpoint", metadata)?;
                }
            }
        }
        Ok(())
    }
}

impl AuthorizationCodeSettings {
    /// Whether the `openid` scope is asked for: then the ID token is
    /// verified with the keys of `jwks_uri`.
    fn openid(&self) -> bool {
        self.client
            .scope
            .iter()
            .flat_map(|value| value.split_ascii_whitespace())
            .any(|value| value == "openid")
    }
}

/// A login configured with an issuer reads from its metadata what is not
/// configured: the authorization endpoint, the token endpoint, `jwks_uri`
/// (with `openid`), and RFC 9207's announcement. With every endpoint it
/// needs configured, nothing is discovered (the announcement is then the
/// `authorizationResponseIssParameterSupported` option alone).
impl DiscoverableSettings for AuthorizationCodeSettings {
    fn discovery(&self) -> Result<Option<DiscoveryRequest>, Error> {
        let request = self.client.discovery_request()?;
        let missing = self.client.token_endpoint.is_empty()
            || self.authorization_endpoint.is_empty()
            || (self.openid() && self.jwks_uri.is_none());
        // Without an issuer, AuthorizationCode::new names the option.
        Ok(request.filter(|_| missing))
    }

    fn fill_from(&mut self, metadata: &ServerMetadata) -> Result<(), Error> {
        self.client.fill_from(metadata)?;
        if self.authorization_endpoint.is_empty() {
            self.authorization_endpoint = super::client::required(
                metadata.authorization_endpoint.as_deref(),
                "authorization_endpoint",
                metadata,
            )?;
        }
        if self.jwks_uri.is_none() && self.openid() {
            let jwks_uri = metadata.jwks_uri.as_deref();
            self.jwks_uri = Some(super::client::required(jwks_uri, "jwks_uri", metadata)?);
        }
        // RFC 9207 §2.4: "Clients that have received [the announcement]
        // MUST reject authorization responses without the iss parameter":
        // the option can add the rule, never lift the server's.
        self.iss_parameter_supported |= metadata.authorization_response_iss_parameter_supported;
        Ok(())
    }
}

type Build<G> = Arc<dyn Fn(&ServerMetadata) -> Result<G, Error>>;

/// What a grant configured with an issuer keeps until its metadata came.
struct Pending<G> {
    request: DiscoveryRequest,
    build: Build<G>,
    built: Arc<OnceLock<Arc<G>>>,
}

impl<G> Clone for Pending<G> {
    fn clone(&self) -> Self {
        Pending {
            request: self.request.clone(),
            build: self.build.clone(),
            built: self.built.clone(),
        }
    }
}

/// A grant whose endpoints are configured, or come from the issuer's
/// metadata on its first run.
pub struct Discoverable<G> {
    /// The grant as configured: built with the issuer standing in for the
    /// endpoints still to be discovered (its identity and credentials are
    /// the real grant's; it never sends a request then).
    template: Arc<G>,
    pending: Option<Pending<G>>,
}

impl<G: 'static> fmt::Debug for Discoverable<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Discoverable")
            .field("issuer", &self.pending.as_ref().map(|p| &p.request.issuer))
            .field("discovered", &self.ready().is_some())
            .finish_non_exhaustive()
    }
}

impl<G: 'static> Discoverable<G> {
    /// Checks `settings` and makes the grant with `build`: at once when its
    /// endpoints are configured; otherwise after discovery, `build` being
    /// tried now with the issuer in place of each missing endpoint so that
    /// every other configuration error comes before any request.
    pub fn new<S: DiscoverableSettings>(
        settings: S,
        build: fn(S) -> Result<G, Error>,
    ) -> Result<Self, Error> {
        let Some(request) = settings.discovery()? else {
            return Ok(Discoverable::ready_now(build(settings)?));
        };
        let mut stand_in = settings.clone();
        stand_in.fill_from(&ServerMetadata::stand_in(&request.issuer))?;
        let template = Arc::new(build(stand_in)?);
        let build: Build<G> = Arc::new(move |metadata: &ServerMetadata| {
            let mut settings = settings.clone();
            settings.fill_from(metadata)?;
            build(settings)
        });
        Ok(Discoverable {
            template,
            pending: Some(Pending {
                request,
                build,
                built: Arc::new(OnceLock::new()),
            }),
        })
    }

    /// A grant whose endpoints are all configured.
    pub fn ready_now(grant: G) -> Self {
        Discoverable {
            template: Arc::new(grant),
            pending: None,
        }
    }

    /// The grant, when its endpoints are known (configured, or discovered).
    pub fn ready(&self) -> Option<&G> {
        match &self.pending {
            None => Some(&self.template),
            Some(pending) => pending.built.get().map(|g| &**g),
        }
    }

    /// The grant, shared, when its endpoints are known: what outlives this
    /// configuration (a completed login refreshing with it).
    pub fn shared(&self) -> Option<Arc<G>> {
        match &self.pending {
            None => Some(self.template.clone()),
            Some(pending) => pending.built.get().cloned(),
        }
    }

    /// The flow that gets the metadata the grant still waits for, and
    /// builds the grant with it; `None` when the grant is ready. What runs
    /// before a step that needs the grant but is not one of its flows: a
    /// revocation, an introspection, a login's authorization URL or its
    /// completion. Afterwards [`Discoverable::ready`] is `Some`.
    pub fn metadata_first(
        &self,
        rng: Box<dyn CryptoRngCore>,
    ) -> Option<Box<dyn Flow<Output = ()>>> {
        match self.ready() {
            Some(_) => None,
            None => Some(Box::new(self.run(rng, |_, _| Discovered))),
        }
    }

    /// The issuer whose metadata this grant waits for or was built from.
    pub fn issuer(&self) -> Option<&str> {
        self.pending.as_ref().map(|p| p.request.issuer.as_str())
    }

    /// A flow of the grant made by `then`: at once when the grant is
    /// ready, else after [`Action::Discover`].
    pub fn run<F: Flow>(
        &self,
        rng: Box<dyn CryptoRngCore>,
        then: fn(&G, Box<dyn CryptoRngCore>) -> F,
    ) -> WithMetadata<G, F> {
        let state = match (self.ready(), &self.pending) {
            (Some(grant), _) => State::Running(then(grant, rng)),
            (None, Some(pending)) => State::NeedMetadata(Box::new(Waiting {
                pending: pending.clone(),
                rng,
                then,
            })),
            // `ready` is `Some` whenever nothing is pending.
            (None, None) => State::Finished,
        };
        WithMetadata { state }
    }
}

impl ServerMetadata {
    /// Metadata that names `issuer` for every endpoint: what a grant is
    /// checked with before its real metadata is known.
    fn stand_in(issuer: &str) -> Self {
        let endpoint = Some(issuer.to_owned());
        ServerMetadata {
            issuer: issuer.to_owned(),
            token_endpoint: endpoint.clone(),
            device_authorization_endpoint: endpoint.clone(),
            revocation_endpoint: endpoint.clone(),
            introspection_endpoint: endpoint.clone(),
            authorization_endpoint: endpoint.clone(),
            jwks_uri: endpoint,
            authorization_response_iss_parameter_supported: false,
        }
    }
}

struct Waiting<G, F> {
    pending: Pending<G>,
    rng: Box<dyn CryptoRngCore>,
    then: fn(&G, Box<dyn CryptoRngCore>) -> F,
}

enum State<G, F> {
    NeedMetadata(Box<Waiting<G, F>>),
    ExpectMetadata(Box<Waiting<G, F>>),
    Running(F),
    Finished,
}

/// A flow that first gets the metadata its grant needs, then runs as the
/// grant's flow.
pub struct WithMetadata<G, F> {
    state: State<G, F>,
}

impl<G, F> fmt::Debug for WithMetadata<G, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::NeedMetadata(_) => "NeedMetadata",
            State::ExpectMetadata(_) => "ExpectMetadata",
            State::Running(_) => "Running",
            State::Finished => "Finished",
        };
        f.debug_struct("WithMetadata")
            .field("state", &state)
            .finish()
    }
}

impl<G, F: Flow> WithMetadata<G, F> {
    fn running(&mut self) -> Result<&mut F, Error> {
        match &mut self.state {
            State::Running(flow) => Ok(flow),
            _ => Err(Error::FlowMisuse {
                reason: "the flow is waiting for metadata",
            }),
        }
    }
}

impl<G, F: Flow> Flow for WithMetadata<G, F> {
    type Output = F::Output;

    fn poll(&mut self, now: UnixTime) -> Result<Action<F::Output>, Error> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::NeedMetadata(waiting) => {
                let request = waiting.pending.request.clone();
                self.state = State::ExpectMetadata(waiting);
                Ok(Action::Discover(request))
            }
            State::Running(mut flow) => {
                let action = flow.poll(now);
                if action.is_ok() {
                    self.state = State::Running(flow);
                }
                action
            }
            State::ExpectMetadata(_) => Err(Error::FlowMisuse {
                reason: "polled while the metadata is awaited",
            }),
            State::Finished => Err(Error::FlowMisuse {
                reason: "polled after the flow finished",
            }),
        }
    }

    fn handle_metadata(&mut self, metadata: Arc<ServerMetadata>) -> Result<(), Error> {
        let State::ExpectMetadata(waiting) = std::mem::replace(&mut self.state, State::Finished)
        else {
            return Err(Error::FlowMisuse {
                reason: "metadata arrived when none was awaited",
            });
        };
        let Waiting { pending, rng, then } = *waiting;
        let grant = match pending.built.get() {
            Some(grant) => grant.clone(),
            None => {
                let grant = Arc::new((pending.build)(&metadata)?);
                // Two first runs may race; the first grant built is kept.
                pending.built.get_or_init(|| grant).clone()
            }
        };
        self.state = State::Running(then(&grant, rng));
        Ok(())
    }

    fn handle_response(&mut self, response: HttpResponse, now: UnixTime) -> Result<(), Error> {
        self.running()?.handle_response(response, now)
    }

    fn handle_signature(&mut self, signature: Vec<u8>) -> Result<(), Error> {
        self.running()?.handle_signature(signature)
    }

    fn handle_verification(&mut self, valid: bool) -> Result<(), Error> {
        self.running()?.handle_verification(valid)
    }

    fn handle_proof(&mut self, proof: String) -> Result<(), Error> {
        self.running()?.handle_proof(proof)
    }

    fn transport_failed(&mut self, error: Error) -> Error {
        match self.running() {
            Ok(flow) => flow.transport_failed(error),
            Err(_) => error,
        }
    }

    fn exchange_label(&self, request: &HttpRequest) -> String {
        match &self.state {
            State::Running(flow) => flow.exchange_label(request),
            _ => crate::trace::default_label(request),
        }
    }

    fn redactor(&self) -> Redactor {
        match &self.state {
            State::Running(flow) => flow.redactor(),
            _ => Redactor::default(),
        }
    }
}

impl<G: Grant + 'static> Grant for Discoverable<G> {
    fn kind(&self) -> GrantKind {
        self.template.kind()
    }

    fn start(&self, rng: Box<dyn CryptoRngCore>) -> Box<dyn Flow<Output = TokenSet>> {
        match self.ready() {
            Some(grant) => grant.start(rng),
            None => Box::new(self.run(rng, |grant, rng| grant.start(rng))),
        }
    }

    /// Refreshing needs the token endpoint: there is none before the
    /// metadata came (tokens from a shared store, obtained by another
    /// process), and the grant then runs again from the start.
    fn refresh(
        &self,
        refresh_token: &Secret,
        rng: &mut dyn CryptoRngCore,
    ) -> Option<super::TokenGrant> {
        self.ready()?.refresh(refresh_token, rng)
    }

    /// The configured grant's: with the issuer where an endpoint is still
    /// to be discovered, so that it is the same before and after.
    fn identity(&self) -> Vec<String> {
        self.template.identity()
    }

    fn bind_credentials(&self, binding: &mut CredentialBinding) {
        self.template.bind_credentials(binding);
    }

    /// The discovered grant's: the endpoints may come from the metadata.
    /// Before it came there is none ([`Grant::discover_first`] first).
    fn token_client(&self) -> Option<&super::TokenClient> {
        self.ready()?.token_client()
    }

    fn dpop(&self) -> bool {
        self.template.dpop()
    }

    fn discover_first(&self, rng: Box<dyn CryptoRngCore>) -> Option<Box<dyn Flow<Output = ()>>> {
        self.metadata_first(rng)
    }
}

/// What runs once the metadata came, when only the metadata was wanted
/// ([`Discoverable::metadata_first`]): nothing.
#[derive(Debug)]
struct Discovered;

impl Flow for Discovered {
    type Output = ();

    fn poll(&mut self, _now: UnixTime) -> Result<Action<()>, Error> {
        Ok(Action::Done(()))
    }

    fn handle_response(&mut self, _response: HttpResponse, _now: UnixTime) -> Result<(), Error> {
        Err(Error::FlowMisuse {
            reason: "a response arrived when none was awaited",
        })
    }
}
