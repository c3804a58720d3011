//! The JWT bearer grant (RFC 7523 §2.1): a signed assertion is exchanged
//! for a token. PingOne Advanced Identity Cloud service accounts use it.

use super::client::ClientConfig;
use super::token_request::{TokenGrant, TokenRequest};
use super::{Action, Flow, SignRequest};
use crate::error::Error;
use crate::http::HttpResponse;
use crate::jwt::{compact, new_jti, signing_input, AssertionClaims, JwsHeader, REGISTERED_CLAIMS};
use crate::keys::{Algorithm, PrivateKey};
use crate::options::ConfigField;
use crate::provider::Provider;
use crate::time::UnixTime;
use rsa::rand_core::CryptoRngCore;
use serde_json::{Map, Value};
use std::sync::Arc;

/// The `grant_type` of RFC 7523 §2.1.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The default assertion lifetime, in seconds.
pub const DEFAULT_LIFETIME_SECS: u64 = 180;

/// The longest assertion lifetime accepted, in seconds (one day).
pub const MAX_LIFETIME_SECS: u64 = 86_400;

/// The client id PingOne Advanced Identity Cloud documents for service
/// accounts.
pub const PING_SERVICE_ACCOUNT_CLIENT_ID: &str = "service-account";

/// What a JWT-bearer client is configured with.
#[derive(Clone, Debug)]
pub struct JwtBearerSettings {
    /// The client: endpoint, scope, extra parameters. Its `client_id` is
    /// sent when not empty (default `service-account` for PingOne AIC); the
    /// assertion authenticates, so the credential is usually none (RFC 7523
    /// §3.1: client authentication is optional).
    pub client: ClientConfig,
    /// The signing key.
    pub key: Arc<PrivateKey>,
    /// `iss`.
    pub issuer: String,
    /// `sub`; default: the issuer.
    pub subject: Option<String>,
    /// `aud`; default: the token endpoint exactly as configured.
    pub audience: Option<String>,
    /// `exp - iat`; default 180 s.
    pub lifetime_secs: Option<u64>,
    /// The algorithm; default: the key's JWK `alg`, else RS256.
    pub algorithm: Option<Algorithm>,
    /// Extra claims; they may not replace registered ones.
    pub claims: Map<String, Value>,
    /// Add `nbf` equal to `iat`.
    pub not_before: bool,
}

impl JwtBearerSettings {
    /// Settings with the required values and every default.
    pub fn new(token_endpoint: &str, key: Arc<PrivateKey>, issuer: &str) -> Self {
        JwtBearerSettings {
            client: ClientConfig::new(token_endpoint, ""),
            key,
            issuer: issuer.to_owned(),
            subject: None,
            audience: None,
            lifetime_secs: None,
            algorithm: None,
            claims: Map::new(),
            not_before: false,
        }
    }
}

/// A checked JWT-bearer configuration; each [`JwtBearer::start`] gives a
/// fresh flow with a fresh assertion.
#[derive(Clone, Debug)]
pub struct JwtBearer {
    request: TokenRequest,
    token_client: super::TokenClient,
    key: Arc<PrivateKey>,
    header: JwsHeader,
    claims: AssertionClaims,
}

impl JwtBearer {
    /// Checks the settings; every error here is raised before any request.
    pub fn new(settings: JwtBearerSettings) -> Result<Self, Error> {
        let mut config = settings.client;
        if config.client_id.is_empty() && config.provider() == Provider::PingAic {
            config.client_id = PING_SERVICE_ACCOUNT_CLIENT_ID.to_owned();
        }
        let client = config.check(true)?;
        let token_endpoint = client.endpoint.clone();
        if settings.issuer.is_empty() {
            return Err(Error::config(ConfigField::Issuer, "must not be empty"));
        }
        let lifetime_secs = settings.lifetime_secs.unwrap_or(DEFAULT_LIFETIME_SECS);
        if !(1..=MAX_LIFETIME_SECS).contains(&lifetime_secs) {
            return Err(Error::config(
                ConfigField::LifetimeSeconds,
                format!("must be from 1 to {MAX_LIFETIME_SECS} seconds"),
            ));
        }
        if let Some(name) = settings
            .claims
            .keys()
            .find(|k| REGISTERED_CLAIMS.contains(&k.as_str()))
        {
            return Err(Error::config(
                ConfigField::Claims,
                format!("{name:?} is set by grantkit and cannot be overridden"),
            ));
        }
        let claims = AssertionClaims {
            subject: settings.subject.unwrap_or_else(|| settings.issuer.clone()),
            issuer: settings.issuer,
            // RFC 7523 §3: "The JWT MUST contain an "aud" (audience) claim
            // containing a value that identifies the authorization server as
            // an intended audience." The token URL as configured, port kept.
            audience: settings.audience.unwrap_or_else(|| token_endpoint.clone()),
            lifetime_secs,
            not_before: settings.not_before,
            extra: settings.claims,
        };
        let header = JwsHeader {
            alg: settings
                .algorithm
                .or(settings.key.alg())
                .unwrap_or(Algorithm::Rs256),
            kid: settings.key.kid().map(str::to_owned),
            thumbprints: None,
        };
        Ok(JwtBearer {
            token_client: client.token_client(),
            request: client.request(JWT_BEARER_GRANT, Vec::new()),
            key: settings.key,
            header,
            claims,
        })
    }

    /// A flow that only signs a fresh assertion, exactly as [`start`]'s
    /// request would carry it, and ends with it (for diagnostics: nothing
    /// is sent).
    ///
    /// [`start`]: JwtBearer::start
    pub fn sign_assertion(&self, rng: &mut dyn CryptoRngCore) -> AssertionFlow {
        AssertionFlow::Start {
            key: self.key.clone(),
            header: self.header.clone(),
            claims: self.claims.clone(),
            jti: new_jti(rng),
        }
    }

    /// A flow that signs a fresh assertion (its `jti` from `rng`) and
    /// exchanges it for a token.
    pub fn start(&self, rng: &mut dyn CryptoRngCore) -> TokenGrant {
        let assertion = (self.key.clone(), self.header.clone(), self.claims.clone());
        TokenGrant::new(self.request.clone(), Some(assertion), rng)
    }
}

/// Signs one assertion: [`Action::Sign`], then [`Action::Done`] with the
/// compact JWS.
#[derive(Debug)]
pub enum AssertionFlow {
    /// Nothing asked yet.
    Start {
        /// The signing key.
        key: Arc<PrivateKey>,
        /// The JOSE header.
        header: JwsHeader,
        /// The claims, dated when signed.
        claims: AssertionClaims,
        /// The `jti`.
        jti: String,
    },
    /// The signature of this signing input is awaited.
    ExpectSignature(String),
    /// Signed.
    Signed(String),
    /// Done, or failed.
    Finished,
}

impl Flow for AssertionFlow {
    type Output = String;

    fn poll(&mut self, now: UnixTime) -> Result<Action<String>, Error> {
        match std::mem::replace(self, AssertionFlow::Finished) {
            AssertionFlow::Start {
                key,
                header,
                claims,
                jti,
            } => {
                let input = signing_input(&header.to_json(), &claims.to_json(now, &jti));
                *self = AssertionFlow::ExpectSignature(input.clone());
                Ok(Action::Sign(SignRequest {
                    key,
                    alg: header.alg,
                    message: input.into_bytes(),
                }))
            }
            AssertionFlow::Signed(jws) => Ok(Action::Done(jws)),
            AssertionFlow::ExpectSignature(_) => Err(Error::FlowMisuse {
                reason: "polled while a signature is awaited",
            }),
            AssertionFlow::Finished => Err(Error::FlowMisuse {
                reason: "polled after the flow finished",
            }),
        }
    }

    fn handle_response(&mut self, _response: HttpResponse, _now: UnixTime) -> Result<(), Error> {
        *self = AssertionFlow::Finished;
        Err(Error::FlowMisuse {
            reason: "signing an assertion sends nothing",
        })
    }

    fn handle_signature(&mut self, signature: Vec<u8>) -> Result<(), Error> {
        match std::mem::replace(self, AssertionFlow::Finished) {
            AssertionFlow::ExpectSignature(input) => {
                *self = AssertionFlow::Signed(compact(&input, &signature));
                Ok(())
            }
            _ => Err(Error::FlowMisuse {
                reason: "a signature arrived when none was awaited",
            }),
        }
    }
}

super::token_request::single_request_grant!(
    JwtBearer,
    JwtBearer,
    |grant| {
        let mut parts = grant.request.identity();
        parts.extend([
            grant.claims.issuer.clone(),
            grant.claims.subject.clone(),
            grant.claims.audience.clone(),
        ]);
        parts
    },
    |grant, binding| {
        binding.add("assertion_key", grant.key.to_pkcs8_der());
    }
);
