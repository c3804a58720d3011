//! The request every token-endpoint grant sends, and the state machine that
//! sends it once and reads the answer.

use super::{Action, Flow, SignRequest};
use crate::client_auth::{AssertionKey, ClientAuth};
use crate::dpop::{demanded_nonce, ProofRequest};
use crate::error::Error;
use crate::http::{FormBody, HttpRequest, HttpResponse, Method};
use crate::jwt::{compact, new_jti, signing_input, AssertionClaims, JwsHeader};
use crate::keys::PrivateKey;
use crate::options::ConfigField;
use crate::redact::Redactor;
use crate::secret::Secret;
use crate::source::CredentialBinding;
use crate::time::UnixTime;
use crate::token::{parse_token_response, TokenSet};
use rsa::rand_core::CryptoRngCore;
use std::fmt;
use std::sync::Arc;

/// A list of scope values (RFC 6749 §3.3), sent space-separated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope(Vec<String>);

impl Scope {
    /// Reads scope values; each may itself hold several, space-separated.
    pub fn parse<S: AsRef<str>>(values: &[S]) -> Result<Self, Error> {
        let mut scope = Vec::new();
        for token in values
            .iter()
            .flat_map(|v| v.as_ref().split_ascii_whitespace())
        {
            // RFC 6749 §3.3: scope-token = 1*NQCHAR
            if !crate::token::is_nqchars(token) {
                return Err(Error::config(
                    ConfigField::Scope,
                    "scope values are printable ASCII without quotes or backslashes (RFC 6749 §3.3)",
                ));
            }
            scope.push(token.to_owned());
        }
        Ok(Scope(scope))
    }

    /// The scope values.
    pub fn values(&self) -> &[String] {
        &self.0
    }
}

/// Extra form parameters (`audience`, `resource`, ...), sent after the
/// grant's own in the order given; a name may repeat (RFC 8707 `resource`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExtraParams(Vec<(String, String)>);

/// Parameters grantkit sets itself; an extra parameter may not replace them.
const RESERVED: [&str; 14] = [
    "grant_type",
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
    "scope",
    "username",
    "password",
    "refresh_token",
    "assertion",
    "code",
    "code_verifier",
    "device_code",
    "redirect_uri",
];

impl ExtraParams {
    /// Checks the names: none empty, none that grantkit sets itself.
    pub fn new(pairs: Vec<(String, String)>) -> Result<Self, Error> {
        for (name, _) in &pairs {
            if name.is_empty() {
                return Err(Error::config(
                    ConfigField::ExtraParams,
                    "a parameter name is empty",
                ));
            }
            if RESERVED.contains(&name.as_str()) {
                let hint = if name == "scope" {
                    "; use the scope option"
                } else {
                    ""
                };
                return Err(Error::config(
                    ConfigField::ExtraParams,
                    format!("{name:?} is set by grantkit and cannot be overridden{hint}"),
                ));
            }
        }
        Ok(ExtraParams(pairs))
    }
}

/// An assertion waiting to be dated and signed.
#[derive(Clone, Debug)]
pub(crate) struct PendingAssertion {
    pub key: AssertionKey,
    pub claims: AssertionClaims,
    pub jti: String,
}

/// The JOSE header of a `client_secret_jwt` assertion.
const HS256_HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// Where a signed assertion goes in the form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AssertionUse {
    /// The grant itself: `assertion` (RFC 7523 §2.1).
    Grant,
    /// Client authentication: `client_assertion` (RFC 7523 §2.2).
    ClientAuth,
}

/// The value of a grant parameter: plain, or a secret that is never
/// printed and is cut out of error text.
#[derive(Clone, Debug)]
pub(crate) enum ParamValue {
    Plain(String),
    Secret(Secret),
}

impl ParamValue {
    fn as_str(&self) -> &str {
        match self {
            ParamValue::Plain(value) => value,
            ParamValue::Secret(secret) => secret.expose(),
        }
    }
}

/// A token request before it is sent: `grant_type`, the grant's
/// parameters, `scope`, the extra parameters, then the client's credentials
/// (RFC 6749 §2.3). A JWT-bearer grant's `assertion` follows `grant_type`.
/// The device authorization request (RFC 8628 §3.1) has the same shape
/// without a `grant_type`.
#[derive(Clone, Debug)]
pub(crate) struct TokenRequest {
    pub endpoint: String,
    /// The `aud` of a client assertion when it is not `endpoint`: the device
    /// authorization request names the token endpoint, which every server
    /// accepts (RFC 7523 §3).
    pub assertion_audience: Option<String>,
    pub grant_type: Option<&'static str>,
    pub grant_params: Vec<(&'static str, ParamValue)>,
    pub scope: Scope,
    pub extra: ExtraParams,
    pub client: ClientAuth,
    /// Send a DPoP proof and ask for tokens bound to its key (RFC 9449).
    pub dpop: bool,
}

impl TokenRequest {
    /// Every secret the request carries, for the error redactor.
    pub(crate) fn redactor(&self) -> Redactor {
        let mut redactor = Redactor::new(self.secrets());
        self.client.redact_into(&mut redactor);
        redactor
    }

    /// The grant's secret parameters (a password, a refresh or device code).
    fn secrets(&self) -> impl Iterator<Item = &Secret> {
        self.grant_params.iter().filter_map(|(_, v)| match v {
            ParamValue::Secret(secret) => Some(secret),
            ParamValue::Plain(_) => None,
        })
    }

    /// Binds the request's credentials into a store key, one way: the
    /// client's secret or key and the grant's secrets (a password).
    pub(crate) fn bind_credentials(&self, binding: &mut CredentialBinding) {
        self.client.bind_credentials(binding);
        for (name, value) in &self.grant_params {
            if let ParamValue::Secret(secret) = value {
                binding.add(name, secret.expose().as_bytes());
            }
        }
    }

    /// The refresh request for tokens this request obtained (RFC 6749 §6):
    /// the same endpoint, client authentication, scope and extra parameters
    /// (RFC 8707 `resource` may be repeated), with the refresh token as the
    /// grant. "The requested scope MUST NOT include any scope not originally
    /// granted": the original request's scope is sent again, which Entra
    /// requires and others accept.
    pub(crate) fn refresh(&self, refresh_token: &Secret) -> TokenRequest {
        TokenRequest {
            endpoint: self.endpoint.clone(),
            assertion_audience: None,
            grant_type: Some("refresh_token"),
            grant_params: vec![("refresh_token", ParamValue::Secret(refresh_token.clone()))],
            scope: self.scope.clone(),
            extra: self.extra.clone(),
            client: self.client.clone(),
            // RFC 9449 §5: a refresh token issued with DPoP to a public
            // client is bound to the key, and every refresh proves it.
            dpop: self.dpop,
        }
    }

    /// What tells this request's configuration apart, without secrets: the
    /// endpoint, grant type, client id, scope, extra parameters and the
    /// grant's plain parameters (a user name).
    pub(crate) fn identity(&self) -> Vec<String> {
        let mut parts = vec![
            self.endpoint.clone(),
            self.grant_type.unwrap_or_default().to_owned(),
            self.client.client_id().to_owned(),
            self.scope.values().join(" "),
        ];
        for (name, value) in &self.grant_params {
            if let ParamValue::Plain(value) = value {
                parts.push(format!("{name}={value}"));
            }
        }
        for (name, value) in &self.extra.0 {
            parts.push(format!("{name}={value}"));
        }
        parts
    }

    /// The assertion this request needs signed, if any.
    fn pending_assertion(
        &self,
        grant_assertion: Option<(Arc<PrivateKey>, JwsHeader, AssertionClaims)>,
        rng: &mut dyn CryptoRngCore,
    ) -> Option<(AssertionUse, PendingAssertion)> {
        let (use_, (key, claims)) = match grant_assertion {
            Some((key, header, claims)) => (
                AssertionUse::Grant,
                (AssertionKey::Private(key, header), claims),
            ),
            None => (
                AssertionUse::ClientAuth,
                self.client
                    .assertion(self.assertion_audience.as_ref().unwrap_or(&self.endpoint))?,
            ),
        };
        let jti = new_jti(rng);
        Some((use_, PendingAssertion { key, claims, jti }))
    }

    fn to_http(&self, assertion: Option<(AssertionUse, &str)>) -> HttpRequest {
        let mut form = FormBody::new();
        if let Some(grant_type) = self.grant_type {
            form.append("grant_type", grant_type);
        }
        let (grant_assertion, client_assertion) = match assertion {
            Some((AssertionUse::Grant, jws)) => (Some(jws), None),
            Some((AssertionUse::ClientAuth, jws)) => (None, Some(jws)),
            None => (None, None),
        };
        if let Some(jws) = grant_assertion {
            form.append("assertion", jws);
        }
        for (name, value) in &self.grant_params {
            form.append(name, value.as_str());
        }
        if !self.scope.0.is_empty() {
            form.append("scope", &self.scope.0.join(" "));
        }
        for (name, value) in &self.extra.0 {
            form.append(name, value);
        }
        let mut headers = vec![
            (
                "Content-Type".to_owned(),
                "application/x-www-form-urlencoded".to_owned(),
            ),
            ("Accept".to_owned(), "application/json".to_owned()),
        ];
        self.client.apply(&mut headers, &mut form, client_assertion);
        HttpRequest {
            method: Method::Post,
            url: self.endpoint.clone(),
            headers,
            body: Some(form.into_bytes()),
        }
    }
}

/// Reads the answer of a [`TokenGrant`]'s request; the flag says whether
/// the request asked for DPoP-bound tokens.
pub(crate) type ParseResponse<T> = fn(&HttpResponse, UnixTime, &Redactor, bool) -> Result<T, Error>;

/// One request to a token endpoint (or another endpoint that takes the same
/// client authentication) and its answer, with an assertion signed first
/// where the grant or the client authentication needs one: the flow of every
/// grant that needs a single round trip.
pub struct TokenGrant<T = TokenSet> {
    state: State<T>,
    redactor: Redactor,
    parse: ParseResponse<T>,
    /// Present when the request asks for DPoP-bound tokens.
    dpop: Option<Box<Dpop>>,
}

/// A DPoP token request's state.
struct Dpop {
    /// The request once more, with a fresh `jti` for its assertion, should
    /// the server demand a nonce (RFC 9449 §8: one retry); taken when used.
    retry: Option<Start>,
    /// The nonce the server demanded.
    nonce: Option<String>,
}

/// A request not yet signed nor sent, and its assertion.
type Start = (TokenRequest, Option<(AssertionUse, PendingAssertion)>);

impl<T> fmt::Debug for TokenGrant<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenGrant")
            .field("state", &self.state.name())
            .finish_non_exhaustive()
    }
}

enum State<T> {
    Start(
        Box<TokenRequest>,
        Option<Box<(AssertionUse, PendingAssertion)>>,
    ),
    ExpectSignature {
        request: Box<TokenRequest>,
        use_: AssertionUse,
        signing_input: String,
    },
    /// Signed, to be sent (with DPoP, proved first).
    Signed(HttpRequest),
    /// Waiting for the DPoP proof of this request.
    ExpectProof(HttpRequest),
    /// To be sent as it is.
    Ready(HttpRequest),
    ExpectToken,
    Issued(T),
    Finished,
}

impl<T> State<T> {
    fn name(&self) -> &'static str {
        match self {
            State::Start(..) => "Start",
            State::ExpectSignature { .. } => "ExpectSignature",
            State::Signed(_) => "Signed",
            State::ExpectProof(_) => "ExpectProof",
            State::Ready(_) => "Ready",
            State::ExpectToken => "ExpectToken",
            State::Issued(_) => "Issued",
            State::Finished => "Finished",
        }
    }
}

impl TokenGrant {
    /// A flow for `request`; `grant_assertion` is the JWT-bearer grant's
    /// assertion, if any. `rng` gives the assertion's `jti`.
    pub(crate) fn new(
        request: TokenRequest,
        grant_assertion: Option<(Arc<PrivateKey>, JwsHeader, AssertionClaims)>,
        rng: &mut dyn CryptoRngCore,
    ) -> Self {
        TokenGrant::with_parser(request, grant_assertion, rng, parse_token_response)
    }
}

impl<T> TokenGrant<T> {
    /// A flow for `request` whose answer `parse` reads.
    pub(crate) fn with_parser(
        request: TokenRequest,
        grant_assertion: Option<(Arc<PrivateKey>, JwsHeader, AssertionClaims)>,
        rng: &mut dyn CryptoRngCore,
        parse: ParseResponse<T>,
    ) -> Self {
        let pending = request.pending_assertion(grant_assertion, rng);
        // A retry signs its assertion again: a server may refuse an
        // assertion's jti the second time (RFC 7523 §3, item 7).
        let dpop = request.dpop.then(|| {
            let pending = pending.clone().map(|(use_, mut assertion)| {
                assertion.jti = new_jti(rng);
                (use_, assertion)
            });
            Box::new(Dpop {
                retry: Some((request.clone(), pending)),
                nonce: None,
            })
        });
        TokenGrant {
            redactor: request.redactor(),
            dpop,
            state: State::Start(Box::new(request), pending.map(Box::new)),
            parse,
        }
    }
}

impl<T> TokenGrant<T> {
    /// The request with its assertion signed with `signature`.
    /// The action that sends `http`: with DPoP, after its proof.
    fn send(&mut self, http: HttpRequest) -> Action<T> {
        let Some(dpop) = &self.dpop else {
            self.state = State::ExpectToken;
            return Action::Send(http);
        };
        let prove = ProofRequest {
            method: http.method,
            url: http.url.clone(),
            access_token: None,
            nonce: dpop.nonce.clone(),
        };
        self.state = State::ExpectProof(http);
        Action::Prove(prove)
    }

    fn signed(
        &mut self,
        request: &TokenRequest,
        use_: AssertionUse,
        signing_input: &str,
        signature: &[u8],
    ) -> HttpRequest {
        let jws = compact(signing_input, signature);
        // A signed assertion can be replayed until its exp: a server that
        // echoes the request must not get it into an error.
        self.redactor.add_exact(&Secret::new(jws.as_str()));
        if let Some((_, signature)) = jws.rsplit_once('.') {
            self.redactor.add_exact(&Secret::new(signature));
        }
        request.to_http(Some((use_, &jws)))
    }
}

impl<T> Flow for TokenGrant<T> {
    type Output = T;

    fn poll(&mut self, now: UnixTime) -> Result<Action<T>, Error> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::Start(request, None) => Ok(self.send(request.to_http(None))),
            // The assertion is dated when it is signed, just before sending.
            State::Start(request, Some(pending)) => {
                let (use_, pending) = *pending;
                let claims = pending.claims.to_json(now, &pending.jti);
                match pending.key {
                    AssertionKey::Private(key, header) => {
                        let signing_input = signing_input(&header.to_json(), &claims);
                        let sign = SignRequest {
                            key,
                            alg: header.alg,
                            message: signing_input.clone().into_bytes(),
                        };
                        self.state = State::ExpectSignature {
                            request,
                            use_,
                            signing_input,
                        };
                        Ok(Action::Sign(sign))
                    }
                    // client_secret_jwt: RFC 7518 §3.2, HMAC SHA-256 keyed
                    // with the client secret's octets (OpenID Connect Core
                    // §9).
                    AssertionKey::Secret(secret) => {
                        let signing_input = signing_input(HS256_HEADER, &claims);
                        let signature = crate::crypto::hmac_sha256(
                            secret.expose().as_bytes(),
                            signing_input.as_bytes(),
                        );
                        let http = self.signed(&request, use_, &signing_input, &signature);
                        Ok(self.send(http))
                    }
                }
            }
            State::Signed(request) => Ok(self.send(request)),
            State::Ready(request) => {
                self.state = State::ExpectToken;
                Ok(Action::Send(request))
            }
            State::Issued(tokens) => Ok(Action::Done(tokens)),
            State::ExpectSignature { .. } => Err(Error::FlowMisuse {
                reason: "polled while a signature is awaited",
            }),
            State::ExpectProof(_) => Err(Error::FlowMisuse {
                reason: "polled while a DPoP proof is awaited",
            }),
            State::ExpectToken => Err(Error::FlowMisuse {
                reason: "polled while the token response is awaited",
            }),
            State::Finished => Err(Error::FlowMisuse {
                reason: "polled after the flow finished",
            }),
        }
    }

    fn handle_signature(&mut self, signature: Vec<u8>) -> Result<(), Error> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::ExpectSignature {
                request,
                use_,
                signing_input,
            } => {
                let http = self.signed(&request, use_, &signing_input, &signature);
                self.state = State::Signed(http);
                Ok(())
            }
            _ => Err(Error::FlowMisuse {
                reason: "a signature arrived when none was awaited",
            }),
        }
    }

    fn handle_proof(&mut self, proof: String) -> Result<(), Error> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::ExpectProof(mut http) => {
                http.headers.push(("DPoP".to_owned(), proof));
                self.state = State::Ready(http);
                Ok(())
            }
            _ => Err(Error::FlowMisuse {
                reason: "a DPoP proof arrived when none was awaited",
            }),
        }
    }

    fn handle_response(&mut self, response: HttpResponse, now: UnixTime) -> Result<(), Error> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::ExpectToken => {
                // RFC 9449 §8: a server that wants a nonce answers 400
                // use_dpop_nonce with one; the request is made once more
                // with it (and a new proof, and a new assertion).
                if let Some(dpop) = &mut self.dpop {
                    if let Some(nonce) = demanded_nonce(&response) {
                        if let Some((request, pending)) = dpop.retry.take() {
                            dpop.nonce = Some(nonce);
                            self.state = State::Start(Box::new(request), pending.map(Box::new));
                            return Ok(());
                        }
                    }
                }
                let dpop = self.dpop.is_some();
                let tokens = (self.parse)(&response, now, &self.redactor, dpop)?;
                self.state = State::Issued(tokens);
                Ok(())
            }
            _ => Err(Error::FlowMisuse {
                reason: "a response arrived when none was awaited",
            }),
        }
    }

    fn redactor(&self) -> Redactor {
        self.redactor.clone()
    }
}

/// The [`Grant`](crate::source::Grant) of a configuration that sends one
/// token request (its `request` field), revokes and introspects with its
/// `token_client` field, and whose `start` takes `&mut` RNG:
/// refreshing is the same request with the refresh grant.
macro_rules! single_request_grant {
    ($type:ident, $kind:ident, |$grant:ident| $identity:block) => {
        super::token_request::single_request_grant!(
            $type,
            $kind,
            |$grant| $identity,
            |_grant, _binding| {}
        );
    };
    ($type:ident, $kind:ident, |$grant:ident| $identity:block, |$bound:ident, $binding:ident| $bind:block) => {
        impl crate::source::Grant for $type {
            fn kind(&self) -> crate::source::GrantKind {
                crate::source::GrantKind::$kind
            }

            fn start(
                &self,
                mut rng: Box<dyn rsa::rand_core::CryptoRngCore>,
            ) -> Box<dyn super::Flow<Output = crate::token::TokenSet>> {
                Box::new($type::start(self, &mut *rng))
            }

            fn refresh(
                &self,
                refresh_token: &crate::secret::Secret,
                rng: &mut dyn rsa::rand_core::CryptoRngCore,
            ) -> Option<super::TokenGrant> {
                Some(super::TokenGrant::new(
                    self.request.refresh(refresh_token),
                    None,
                    rng,
                ))
            }

            fn identity(&self) -> Vec<String> {
                let $grant = self;
                $identity
            }

            fn bind_credentials(&self, $binding: &mut crate::source::CredentialBinding) {
                self.request.bind_credentials($binding);
                let $bound = self;
                $bind
            }

            fn token_client(&self) -> Option<&super::TokenClient> {
                Some(&self.token_client)
            }

            fn dpop(&self) -> bool {
                self.request.dpop
            }
        }
    };
}
pub(crate) use single_request_grant;
