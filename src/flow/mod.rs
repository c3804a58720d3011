//! Flows: state machines that say what to send and read what comes back.
//!
//! A driver loops: it calls [`Flow::poll`] and does what the [`Action`] says
//! (send a request and pass the response to [`Flow::handle_response`], wait,
//! show a prompt) until it gets [`Action::Done`]. The flow never performs I/O
//! and never reads a clock: `now` comes from the driver.

use crate::discovery::{DiscoveryRequest, ServerMetadata};
use crate::error::Error;
use crate::http::{HttpRequest, HttpResponse};
use crate::keys::{Algorithm, PrivateKey};
use crate::redact::Redactor;
use crate::time::UnixTime;
use std::sync::Arc;
use std::time::Duration;

pub mod acp;
pub mod authorization_code;
pub mod client;
pub mod client_credentials;
pub mod device;
pub mod discovered;
pub mod introspection;
pub mod jwt_bearer;
pub mod password;
pub mod revocation;
pub mod token_exchange;
mod token_request;

pub use acp::{AcpFlow, AcpLogin, AcpLoginSettings};
pub use authorization_code::{
    AuthorizationCode, AuthorizationCodeSettings, CodeExchange, CompletedLogin, PendingLogin,
};
pub use client::ClientConfig;
pub use client_credentials::{ClientCredentials, ClientCredentialsSettings};
pub use device::{DeviceAuthorization, DeviceAuthorizationSettings, DeviceFlow};
pub use discovered::{Discoverable, WithMetadata};
pub use introspection::{Introspection, IntrospectionResponse};
pub use jwt_bearer::{AssertionFlow, JwtBearer, JwtBearerSettings};
pub use password::{PasswordGrant, PasswordGrantSettings};
pub use revocation::{Revocation, TokenClient, TokenTypeHint, TokensToRevoke};
pub use token_exchange::{TokenExchange, TokenExchangeSettings};
pub use token_request::{ExtraParams, Scope, TokenGrant};

/// What a flow needs from its driver next.
#[derive(Debug)]
#[non_exhaustive]
pub enum Action<T> {
    /// Send this request (never following redirects) and pass the response to
    /// [`Flow::handle_response`].
    Send(HttpRequest),
    /// Wait this long, then poll again.
    Wait(Duration),
    /// Show this to the user, then poll again.
    Prompt(DevicePrompt),
    /// Sign this message and pass the signature to
    /// [`Flow::handle_signature`]. Signing is the driver's so that it can use
    /// the runtime's own crypto (WebCrypto) where there is one.
    Sign(SignRequest),
    /// Get the authorization server's metadata for this request (from the
    /// driver's cache, or by running [`DiscoveryRequest::start`]) and pass
    /// it to [`Flow::handle_metadata`]. A flow configured with an issuer
    /// instead of endpoints asks for it first.
    Discover(DiscoveryRequest),
    /// Verify this signature and pass the outcome to
    /// [`Flow::handle_verification`]. Verifying is the driver's, as signing
    /// is: it uses the runtime's WebCrypto where there is one.
    Verify(VerifyRequest),
    /// Make a DPoP proof (RFC 9449) for this request with the driver's key
    /// ([`crate::dpop::DpopSession::signing_input`], signed ES256) and pass
    /// it, compact, to [`Flow::handle_proof`]. Asked for only by flows
    /// configured with `dpop`.
    Prove(crate::dpop::ProofRequest),
    /// The flow is finished with this result.
    Done(T),
}

impl<T> Action<T> {
    /// The same action, with `f` applied to the result of a `Done`.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Action<U> {
        match self {
            Action::Send(request) => Action::Send(request),
            Action::Wait(duration) => Action::Wait(duration),
            Action::Prompt(prompt) => Action::Prompt(prompt),
            Action::Sign(request) => Action::Sign(request),
            Action::Discover(request) => Action::Discover(request),
            Action::Verify(request) => Action::Verify(request),
            Action::Prove(request) => Action::Prove(request),
            Action::Done(output) => Action::Done(f(output)),
        }
    }

    /// The action as another flow's (of any output type), or `Err` with the
    /// output when it is `Done`: for a flow that runs another as one of its
    /// steps.
    pub fn pending<U>(self) -> Result<Action<U>, T> {
        match self {
            Action::Send(request) => Ok(Action::Send(request)),
            Action::Wait(duration) => Ok(Action::Wait(duration)),
            Action::Prompt(prompt) => Ok(Action::Prompt(prompt)),
            Action::Sign(request) => Ok(Action::Sign(request)),
            Action::Discover(request) => Ok(Action::Discover(request)),
            Action::Verify(request) => Ok(Action::Verify(request)),
            Action::Prove(request) => Ok(Action::Prove(request)),
            Action::Done(output) => Err(output),
        }
    }
}

/// What the user must be shown to approve a device (RFC 8628 §3.2, §3.3);
/// `onPrompt` is called with it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, tsify::Tsify)]
pub struct DevicePrompt {
    /// The code the user types.
    pub user_code: String,
    /// Where the user types it.
    pub verification_uri: String,
    /// A URI that carries the code already, if the server sent one (good
    /// for a QR code).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification_uri_complete: Option<String>,
    /// Seconds until the code expires.
    pub expires_in: u64,
}

/// A message for the driver to sign.
#[derive(Clone, Debug)]
pub struct SignRequest {
    /// The key to sign with.
    pub key: Arc<PrivateKey>,
    /// The algorithm.
    pub alg: Algorithm,
    /// The JWS signing input (RFC 7515 §5.1).
    pub message: Vec<u8>,
}

/// A signature for the driver to verify: a JWS (an ID token) with the
/// public key its issuer published.
#[derive(Clone, Debug)]
pub struct VerifyRequest {
    /// The public key, as a JWK with only the members that define it
    /// (`kty`, `n`, `e` for RSA; `kty`, `crv`, `x`, `y` for EC): what
    /// WebCrypto's `importKey("jwk", ...)` takes.
    pub jwk: serde_json::Map<String, serde_json::Value>,
    /// The algorithm.
    pub alg: crate::id_token::VerifyAlgorithm,
    /// The JWS signing input (RFC 7515 §5.2).
    pub message: Vec<u8>,
    /// The signature, as the JWS carries it (ES256: `R || S`, which is
    /// WebCrypto's form too).
    pub signature: Vec<u8>,
}

/// A state machine driven from outside.
///
/// After an error the flow is finished: polling it again gives
/// [`Error::FlowMisuse`], never a half-done request.
pub trait Flow {
    /// What the flow produces.
    type Output;

    /// The next thing to do.
    fn poll(&mut self, now: UnixTime) -> Result<Action<Self::Output>, Error>;

    /// Reads the response to the request of the last [`Action::Send`].
    fn handle_response(&mut self, response: HttpResponse, now: UnixTime) -> Result<(), Error>;

    /// Takes the signature asked for by the last [`Action::Sign`].
    fn handle_signature(&mut self, _signature: Vec<u8>) -> Result<(), Error> {
        Err(Error::FlowMisuse {
            reason: "this flow never asks for a signature",
        })
    }

    /// Takes the metadata asked for by the last [`Action::Discover`].
    fn handle_metadata(&mut self, _metadata: Arc<ServerMetadata>) -> Result<(), Error> {
        Err(Error::FlowMisuse {
            reason: "this flow never asks for metadata",
        })
    }

    /// Takes the outcome of the verification asked for by the last
    /// [`Action::Verify`]: whether the signature is valid.
    fn handle_verification(&mut self, _valid: bool) -> Result<(), Error> {
        Err(Error::FlowMisuse {
            reason: "this flow never asks for a verification",
        })
    }

    /// Takes the DPoP proof asked for by the last [`Action::Prove`].
    fn handle_proof(&mut self, _proof: String) -> Result<(), Error> {
        Err(Error::FlowMisuse {
            reason: "this flow never asks for a DPoP proof",
        })
    }

    /// Tells the flow that the request of the last [`Action::Send`] got no
    /// usable response (a network error, the time limit, a body too large)
    /// and returns the error to report, with what the flow knows of where
    /// it was: the ACP login names its step. The flow is finished.
    fn transport_failed(&mut self, error: Error) -> Error {
        error
    }

    /// How a trace names `request`, that of the last [`Action::Send`]
    /// ("device authorization request", "ACP step 3 (public key)"); by
    /// default, by its grant type ([`crate::trace::default_label`]).
    fn exchange_label(&self, request: &HttpRequest) -> String {
        crate::trace::default_label(request)
    }

    /// The secrets the flow sends, in every encoding: the backstop of a
    /// trace's masking ([`crate::trace::Exchange::new`]).
    fn redactor(&self) -> Redactor {
        Redactor::default()
    }
}

/// A boxed flow, or a borrowed one, is driven as the flow itself.
macro_rules! forward_flow {
    ($($pointer:ty),*) => {$(
        impl<F: Flow + ?Sized> Flow for $pointer {
            type Output = F::Output;

            fn poll(&mut self, now: UnixTime) -> Result<Action<Self::Output>, Error> {
                (**self).poll(now)
            }

            fn handle_response(&mut self, response: HttpResponse, now: UnixTime) -> Result<(), Error> {
                (**self).handle_response(response, now)
            }

            fn handle_signature(&mut self, signature: Vec<u8>) -> Result<(), Error> {
                (**self).handle_signature(signature)
            }

            fn handle_metadata(&mut self, metadata: Arc<ServerMetadata>) -> Result<(), Error> {
                (**self).handle_metadata(metadata)
            }

            fn handle_verification(&mut self, valid: bool) -> Result<(), Error> {
                (**self).handle_verification(valid)
            }

            fn handle_proof(&mut self, proof: String) -> Result<(), Error> {
                (**self).handle_proof(proof)
            }

            fn transport_failed(&mut self, error: Error) -> Error {
                (**self).transport_failed(error)
            }

            fn exchange_label(&self, request: &HttpRequest) -> String {
                (**self).exchange_label(request)
            }

            fn redactor(&self) -> Redactor {
                (**self).redactor()
            }
        }
    )*};
}

forward_flow!(Box<F>, &mut F);
