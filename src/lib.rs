//! grantkit gets OAuth 2.0 / OpenID Connect access tokens from identity
//! providers, for code that runs in browsers and at the edge.
//!
//! This crate is a sans-IO core: it builds requests as plain data
//! ([`http::HttpRequest`]), reads responses ([`http::HttpResponse`]) and
//! moves each flow's state machine ([`flow::Flow`]). It does not take care
//! of network I/O, does not read a clock (time is passed in as
//! [`UnixTime`]) and has no randomness of its own. On `wasm32` the `wasm`
//! module adds the only I/O: a driver over the runtime's global `fetch`,
//! exported to JavaScript with wasm-bindgen.
//!
//! ```
//! use grantkit::flow::{Action, ClientCredentials, ClientCredentialsSettings, Flow};
//! use grantkit::{HttpResponse, Secret, UnixTime};
//!
//! let client = ClientCredentials::new(ClientCredentialsSettings::new(
//!     "https://sso.example.com/realms/ops/protocol/openid-connect/token",
//!     "reporting",
//!     Secret::new("s3cret"),
//! ))?;
//! // Randomness is passed in (it gives the jti of signed assertions).
//! let mut flow = client.start(&mut rsa::rand_core::OsRng);
//! let now = UnixTime::from_secs(1_700_000_000);
//! let Action::Send(request) = flow.poll(now)? else { unreachable!() };
//! assert_eq!(request.body_text(), "grant_type=client_credentials");
//! // ... send `request` with any HTTP client, then:
//! let response = HttpResponse::new(200, r#"{"access_token":"t","token_type":"bearer","expires_in":300}"#);
//! flow.handle_response(response, now)?;
//! let Action::Done(tokens) = flow.poll(now)? else { unreachable!() };
//! assert_eq!(tokens.expires_at, Some(UnixTime::from_secs(1_700_000_300)));
//! # Ok::<(), grantkit::Error>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// No panic reachable from input: outside tests, no indexing or slicing that can
// fail, and no unwrap, expect, panic or unreachable.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::string_slice,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented
    )
)]

pub mod api_call;
pub mod client_auth;
pub mod cookie;
pub mod crypto;
pub mod discovery;
pub mod dpop;
pub mod endpoint;
pub mod error;
pub mod flow;
pub mod http;
pub mod id_token;
pub mod jwt;
pub mod keys;
pub mod lease;
pub mod options;
pub mod provider;
pub mod redact;
pub mod secret;
pub mod source;
pub mod text;
pub mod time;
pub mod token;
pub mod trace;

#[cfg(target_arch = "wasm32")]
mod wasm;

pub use error::{
    AcpProblem, AuthorizationProblem, DeviceProblem, DiscoveryProblem, Error, ErrorCode,
    IdTokenProblem, KeyProblem, ServerError,
};
pub use http::{HttpRequest, HttpResponse, Method};
pub use secret::Secret;
pub use time::UnixTime;
pub use token::TokenSet;
