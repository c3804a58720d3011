//! Token revocation (RFC 7009): the client tells the server it no longer
//! needs a refresh or access token.
//!
//! Revocation and introspection (RFC 7662, [`super::introspection`]) are
//! sent by the client that got the tokens, authenticated as its token
//! requests are: [`TokenClient`] is that client, kept by every grant.

use super::introspection::{parse_introspection, Introspection};
use super::token_request::{ExtraParams, ParamValue, Scope, TokenGrant, TokenRequest};
use super::{Action, Flow};
use crate::client_auth::ClientAuth;
use crate::error::Error;
use crate::http::{HttpRequest, HttpResponse};
use crate::options::ConfigField;
use crate::provider::Provider;
use crate::redact::Redactor;
use crate::secret::Secret;
use crate::time::UnixTime;
use crate::token::parse_json;
use rsa::rand_core::CryptoRngCore;
use std::fmt;

/// What kind of token is sent: `token_type_hint` (RFC 7009 §2.1, RFC 7662
/// §2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, tsify::Tsify)]
#[serde(rename_all = "snake_case")]
pub enum TokenTypeHint {
    /// `access_token`.
    AccessToken,
    /// `refresh_token`.
    RefreshToken,
}

impl TokenTypeHint {
    /// The registered value.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenTypeHint::AccessToken => "access_token",
            TokenTypeHint::RefreshToken => "refresh_token",
        }
    }
}

/// The tokens to revoke.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokensToRevoke {
    /// Revoked first, with `token_type_hint=refresh_token`.
    pub refresh_token: Option<Secret>,
    /// Revoked second, with `token_type_hint=access_token`.
    pub access_token: Option<Secret>,
}

impl TokensToRevoke {
    /// Whether either token is `token`.
    pub fn contains(&self, token: &Secret) -> bool {
        self.refresh_token.as_ref() == Some(token) || self.access_token.as_ref() == Some(token)
    }
}

/// A grant's client as revocation and introspection requests present it:
/// the same client authentication as its token requests (RFC 7009 §2.1:
/// "The client also includes its authentication credentials as described
/// in Section 2.3. of [RFC6749]"), and the endpoints.
#[derive(Clone, Debug)]
pub struct TokenClient {
    /// The token endpoint: the `aud` of a client assertion, which every
    /// server accepts (RFC 7523 §3, OpenID Connect Core §9), as for the
    /// device authorization request.
    pub(crate) token_endpoint: String,
    pub(crate) provider: Provider,
    pub(crate) client: ClientAuth,
    /// Checked, or the provider's documented one.
    pub(crate) revocation_endpoint: Option<String>,
    /// Checked, or the provider's documented one.
    pub(crate) introspection_endpoint: Option<String>,
}

impl TokenClient {
    /// The revocation endpoint, or an error saying why there is none.
    pub fn revocation_endpoint(&self) -> Result<&str, Error> {
        self.revocation_endpoint.as_deref().ok_or_else(|| {
            let reason = match self.provider {
                Provider::Entra => {
                    "Microsoft Entra ID has no RFC 7009 revocation endpoint (sessions are revoked through Microsoft Graph's revokeSignInSessions); tokens end when they expire"
                }
                Provider::Acp => "Alauda ACP documents no revocation endpoint",
                _ => "is required for revoke(): only Keycloak's and PingOne Advanced Identity Cloud's are known from their token endpoints",
            };
            Error::config(ConfigField::RevocationEndpoint, reason)
        })
    }

    /// The introspection endpoint, or an error saying why there is none.
    pub fn introspection_endpoint(&self) -> Result<&str, Error> {
        self.introspection_endpoint.as_deref().ok_or_else(|| {
            let reason = match self.provider {
                Provider::Entra => "Microsoft Entra ID has no RFC 7662 introspection endpoint",
                Provider::Acp => "Alauda ACP documents no introspection endpoint",
                _ => "is required for introspect(): only Keycloak's and PingOne Advanced Identity Cloud's are known from their token endpoints",
            };
            Error::config(ConfigField::IntrospectionEndpoint, reason)
        })
    }

    /// RFC 7009 §2.1 / RFC 7662 §2.1: a form POST of `token`, then
    /// `token_type_hint` when known, then the client's credentials.
    fn request(&self, endpoint: &str, token: &Secret, hint: Option<TokenTypeHint>) -> TokenRequest {
        let mut grant_params = vec![("token", ParamValue::Secret(token.clone()))];
        if let Some(hint) = hint {
            grant_params.push(("token_type_hint", ParamValue::Plain(hint.as_str().into())));
        }
        TokenRequest {
            endpoint: endpoint.to_owned(),
            assertion_audience: Some(self.token_endpoint.clone()),
            grant_type: None,
            grant_params,
            scope: Scope::default(),
            extra: ExtraParams::default(),
            client: self.client.clone(),
            // RFC 7009 and RFC 7662 requests carry no DPoP proof: they
            // authenticate the client, not the token's holder.
            dpop: false,
        }
    }

    /// A flow that revokes the refresh token, then the access token, each
    /// with its hint. `rng` gives the `jti` of each client assertion.
    ///
    /// Both are sent: RFC 7009 §2.1 lets a server revoke the access tokens
    /// of a revoked refresh token ("If the token passed to the request is a
    /// refresh token and the authorization server supports the revocation
    /// of access tokens, then the authorization server SHOULD also
    /// invalidate all access tokens based on the same authorization
    /// grant"), but it is not a MUST, and a server that does not may still
    /// accept the access token's own revocation. The refresh token goes
    /// first: it is the longer-lived credential, and with it revoked no new
    /// access token can be minted between the two requests.
    pub fn revoke(
        &self,
        tokens: &TokensToRevoke,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<Revocation, Error> {
        let endpoint = self.revocation_endpoint()?;
        let mut revoke = |token: &Secret, hint: TokenTypeHint| {
            if token.expose().is_empty() {
                return Err(Error::config(
                    ConfigField::Token,
                    format!("the {} is empty", hint.as_str()),
                ));
            }
            let request = self.request(endpoint, token, Some(hint));
            Ok(TokenGrant::with_parser(
                request,
                None,
                rng,
                parse_revocation,
            ))
        };
        let refresh = tokens
            .refresh_token
            .as_ref()
            .map(|token| revoke(token, TokenTypeHint::RefreshToken))
            .transpose()?;
        let access = tokens
            .access_token
            .as_ref()
            .map(|token| revoke(token, TokenTypeHint::AccessToken))
            .transpose()?;
        let state = match (refresh, access) {
            (Some(refresh), access) => State::ExpectRefreshRevoked(refresh, access),
            (None, Some(access)) => State::ExpectAccessRevoked(access),
            (None, None) => {
                return Err(Error::config(
                    ConfigField::Token,
                    "nothing to revoke: give an access_token or a refresh_token",
                ))
            }
        };
        Ok(Revocation { state })
    }

    /// A flow that asks the introspection endpoint about `token`.
    pub fn introspect(
        &self,
        token: &Secret,
        hint: Option<TokenTypeHint>,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<Introspection, Error> {
        let endpoint = self.introspection_endpoint()?;
        if token.expose().is_empty() {
            return Err(Error::config(ConfigField::Token, "must not be empty"));
        }
        let request = self.request(endpoint, token, hint);
        Ok(Introspection::new(TokenGrant::with_parser(
            request,
            None,
            rng,
            parse_introspection,
        )))
    }
}

/// Reads a revocation response. RFC 7009 §2.2: "The authorization server
/// responds with HTTP status code 200 if the token has been revoked
/// successfully or if the client submitted an invalid token. ... The
/// content of the response body is ignored by the client as all necessary
/// information is conveyed in the response code." Any 2xx is taken so. An
/// error (§2.2.1: `unsupported_token_type`, or any of RFC 6749 §5.2) is an
/// OAuth error; a 503 means the token still exists.
fn parse_revocation(
    response: &HttpResponse,
    _now: UnixTime,
    redactor: &Redactor,
    _dpop: bool,
) -> Result<(), Error> {
    if response.is_success() {
        return Ok(());
    }
    parse_json(response, redactor)?;
    Err(Error::HttpError {
        status: response.status,
        excerpt: redactor.excerpt(&response.body),
    })
}

/// Revokes a refresh token, then an access token; ends with `()` once the
/// server has accepted each revocation. After an error nothing more is sent.
pub struct Revocation {
    state: State,
}

enum State {
    /// The refresh token's revocation is out; the access token's follows.
    ExpectRefreshRevoked(TokenGrant<()>, Option<TokenGrant<()>>),
    /// The access token's revocation is out.
    ExpectAccessRevoked(TokenGrant<()>),
    Finished,
}

impl fmt::Debug for Revocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::ExpectRefreshRevoked(..) => "ExpectRefreshRevoked",
            State::ExpectAccessRevoked(_) => "ExpectAccessRevoked",
            State::Finished => "Finished",
        };
        f.debug_struct("Revocation").field("state", &state).finish()
    }
}

impl Revocation {
    /// The request now out, and which token it is about.
    fn current(&mut self) -> Option<&mut TokenGrant<()>> {
        match &mut self.state {
            State::ExpectRefreshRevoked(request, _) | State::ExpectAccessRevoked(request) => {
                Some(request)
            }
            State::Finished => None,
        }
    }
}

impl Flow for Revocation {
    type Output = ();

    fn poll(&mut self, now: UnixTime) -> Result<Action<()>, Error> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::ExpectRefreshRevoked(mut request, access) => {
                match request.poll(now)?.pending() {
                    Ok(action) => {
                        self.state = State::ExpectRefreshRevoked(request, access);
                        Ok(action)
                    }
                    Err(()) => match access {
                        Some(access) => {
                            self.state = State::ExpectAccessRevoked(access);
                            self.poll(now)
                        }
                        None => Ok(Action::Done(())),
                    },
                }
            }
            State::ExpectAccessRevoked(mut request) => match request.poll(now)?.pending() {
                Ok(action) => {
                    self.state = State::ExpectAccessRevoked(request);
                    Ok(action)
                }
                Err(()) => Ok(Action::Done(())),
            },
            State::Finished => Err(Error::FlowMisuse {
                reason: "polled after the flow finished",
            }),
        }
    }

    fn handle_response(&mut self, response: HttpResponse, now: UnixTime) -> Result<(), Error> {
        let result = match self.current() {
            Some(request) => request.handle_response(response, now),
            None => Err(Error::FlowMisuse {
                reason: "a response arrived when none was awaited",
            }),
        };
        result.inspect_err(|_| self.state = State::Finished)
    }

    fn handle_signature(&mut self, signature: Vec<u8>) -> Result<(), Error> {
        let result = match self.current() {
            Some(request) => request.handle_signature(signature),
            None => Err(Error::FlowMisuse {
                reason: "a signature arrived when none was awaited",
            }),
        };
        result.inspect_err(|_| self.state = State::Finished)
    }

    fn transport_failed(&mut self, error: Error) -> Error {
        self.state = State::Finished;
        error
    }

    fn exchange_label(&self, _request: &HttpRequest) -> String {
        match self.state {
            State::ExpectRefreshRevoked(..) => "revocation request (refresh_token)".to_owned(),
            _ => "revocation request (access_token)".to_owned(),
        }
    }

    fn redactor(&self) -> Redactor {
        match &self.state {
            State::ExpectRefreshRevoked(request, _) | State::ExpectAccessRevoked(request) => {
                request.redactor()
            }
            State::Finished => Redactor::default(),
        }
    }
}
