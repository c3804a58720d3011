//! The authorization code grant with PKCE: a user signs in at the
//! authorization server in a browser, which comes back to the client's
//! redirect URI with a code that the client exchanges for tokens.
//!
//! Standards, each at the line that implements it: RFC 6749 §4.1 (the
//! grant), RFC 7636 (PKCE, `S256` only: §4.2 "If the client is capable of
//! using S256, it MUST use S256"), RFC 9207 (`iss` in the authorization
//! response), RFC 8252 (loopback redirects for native apps: any port),
//! OpenID Connect Core §3.1.3.7 (ID token checks, in [`crate::id_token`]).
//!
//! Two halves, with the browser in between:
//! 1. [`AuthorizationCode::begin`] builds the authorization URL with a fresh
//!    `state`, PKCE verifier and (with the `openid` scope) `nonce`, and a
//!    [`PendingLogin`] that the client keeps for the round trip. It is
//!    secret: whoever holds it and the code can get the tokens.
//! 2. [`AuthorizationCode::complete`] reads the redirect (state, iss, error,
//!    code) and returns the [`CodeExchange`] flow: the token request, then,
//!    with `openid`, the issuer's JWKS and the ID token's signature.
//!
//! Configured with only an issuer, a login reads the endpoints from its
//! metadata first: as a [`super::Discoverable`], whose
//! [`super::Discoverable::metadata_first`] asks for it
//! ([`Action::Discover`]) and builds the login, before either half. The
//! metadata also says whether the server puts `iss` in every redirect
//! (RFC 9207 §3), which `complete` then requires.

use super::client::ClientConfig;
use super::revocation::TokenClient;
use super::token_request::{ParamValue, Scope, TokenGrant, TokenRequest};
use super::{Action, Flow, VerifyRequest};
use crate::endpoint::{check_endpoint, url_problem, UrlParts};
use crate::error::{AuthorizationProblem, Error, IdTokenProblem, ServerError};
use crate::http::{form_urldecode, FormBody, HttpRequest, HttpResponse, Method};
use crate::id_token::{self, CheckedClaims, Expectations};
use crate::options::ConfigField;
use crate::redact::Redactor;
use crate::secret::Secret;
use crate::source::{CredentialBinding, Grant, GrantKind};
use crate::time::UnixTime;
use crate::token::TokenSet;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rsa::rand_core::CryptoRngCore;
use rsa::sha2::{Digest, Sha256};
use serde_json::{Map, Value};
use std::fmt;
use std::sync::Arc;

/// The PKCE code verifier made from 32 random octets: their base64url, 43
/// characters of the unreserved set (RFC 7636 §4.1: "It is RECOMMENDED that
/// the output of a suitable random number generator be used to create a
/// 32-octet sequence. The octet sequence is then base64url-encoded to
/// produce a 43-octet URL safe string").
pub fn code_verifier(octets: &[u8; 32]) -> String {
    URL_SAFE_NO_PAD.encode(octets)
}

/// The `S256` code challenge of a verifier (RFC 7636 §4.2):
/// `BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))`.
pub fn code_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// 16 random octets, base64url: a `state` or `nonce` (128 bits, beyond
/// guessing).
fn random_token(rng: &mut dyn CryptoRngCore) -> String {
    let mut octets = [0u8; 16];
    rng.fill_bytes(&mut octets);
    URL_SAFE_NO_PAD.encode(octets)
}

/// Parameters grantkit sets in the authorization request; an
/// `authorizationParams` entry may not replace them. `response_mode` is
/// among them: grantkit reads the response from the query, the default for
/// `code` (OAuth 2.0 Multiple Response Type Encoding Practices §2.1).
const RESERVED_AUTHORIZATION_PARAMS: [&str; 10] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "response_mode",
    "request",
];

/// What an authorization code login is configured with.
#[derive(Clone, Debug)]
pub struct AuthorizationCodeSettings {
    /// The client: token endpoint, id, secret or key (none for a public
    /// client), scope (of the authorization request), extra parameters (of
    /// the token request). `client.issuer` is the issuer the `iss` of the
    /// redirect and of the ID token must equal.
    pub client: ClientConfig,
    /// The authorization endpoint (RFC 6749 §3.1); empty: the one the
    /// issuer's metadata names.
    pub authorization_endpoint: String,
    /// The issuer's JWK Set, for the ID token's signature; with the
    /// `openid` scope, configured or named by the issuer's metadata.
    pub jwks_uri: Option<String>,
    /// Where the browser comes back to: registered with the server.
    pub redirect_uri: String,
    /// More parameters of the authorization request (`prompt`,
    /// `login_hint`, `acr_values`, ...), in order.
    pub authorization_params: Vec<(String, String)>,
    /// Whether the server announced `authorization_response_iss_parameter_supported`
    /// (RFC 9207 §3): then a redirect without `iss` is refused. Set by the
    /// option, or by the issuer's metadata when it is read.
    pub iss_parameter_supported: bool,
}

impl AuthorizationCodeSettings {
    /// A public client of these endpoints with every default.
    pub fn new(
        authorization_endpoint: &str,
        token_endpoint: &str,
        client_id: &str,
        redirect_uri: &str,
    ) -> Self {
        AuthorizationCodeSettings {
            client: ClientConfig::new(token_endpoint, client_id),
            authorization_endpoint: authorization_endpoint.to_owned(),
            jwks_uri: None,
            redirect_uri: redirect_uri.to_owned(),
            authorization_params: Vec::new(),
            iss_parameter_supported: false,
        }
    }
}

/// A checked authorization code configuration: it begins logins and
/// completes them.
#[derive(Clone, Debug)]
pub struct AuthorizationCode {
    authorization_endpoint: String,
    jwks_uri: Option<String>,
    issuer: Option<String>,
    iss_parameter_supported: bool,
    redirect_uri: String,
    scope: Scope,
    openid: bool,
    authorization_params: Vec<(String, String)>,
    /// The token request without its grant parameters: endpoint, client
    /// authentication, extra parameters. Refreshes use it too.
    base: TokenRequest,
    token_client: TokenClient,
}

/// Checks a redirect URI: absolute, no fragment (RFC 6749 §3.1.2: "The
/// endpoint URI MUST NOT include a fragment component"). `http` only to a
/// loopback host (RFC 8252 §7.3) unless insecure http is allowed; other
/// schemes are a native app's private-use URI scheme (RFC 8252 §7.1).
fn check_redirect_uri(uri: &str, allow_insecure_http: bool) -> Result<String, Error> {
    let fail = |reason: &str| Err(Error::config(ConfigField::RedirectUri, reason));
    let Some((scheme, _)) = uri.split_once(':') else {
        return fail("must be an absolute URI");
    };
    let valid_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    if !valid_scheme {
        return fail("must be an absolute URI");
    }
    if uri.contains('#') {
        return fail("must not have a fragment (RFC 6749 §3.1.2)");
    }
    let lower = scheme.to_ascii_lowercase();
    if lower == "http" || lower == "https" {
        if let Some(problem) = url_problem(uri, allow_insecure_http) {
            return fail(problem);
        }
    } else if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return fail("must not contain white space or control characters");
    }
    Ok(uri.to_owned())
}

impl AuthorizationCode {
    /// Checks the settings; every error here comes before any request.
    pub fn new(settings: AuthorizationCodeSettings) -> Result<Self, Error> {
        let insecure = settings.client.allow_insecure_http;
        let issuer = settings
            .client
            .issuer
            .as_deref()
            .map(|issuer| check_endpoint(ConfigField::Issuer, issuer, insecure))
            .transpose()?;
        let from_metadata = |field, option: &str| {
            Error::config(
                field,
                format!("give {option}, or issuer to read it from the server's metadata"),
            )
        };
        if issuer.is_none() {
            if settings.authorization_endpoint.is_empty() {
                return Err(from_metadata(
                    ConfigField::AuthorizationEndpoint,
                    "authorizationEndpoint",
                ));
            }
            if settings.client.token_endpoint.is_empty() {
                return Err(from_metadata(ConfigField::TokenEndpoint, "tokenEndpoint"));
            }
        }
        let authorization_endpoint = check_endpoint(
            ConfigField::AuthorizationEndpoint,
            &settings.authorization_endpoint,
            insecure,
        )?;
        let jwks_uri = settings
            .jwks_uri
            .as_deref()
            .map(|uri| check_endpoint(ConfigField::JwksUri, uri, insecure))
            .transpose()?;
        let redirect_uri = check_redirect_uri(&settings.redirect_uri, insecure)?;
        for (name, _) in &settings.authorization_params {
            if name.is_empty() {
                return Err(Error::config(
                    ConfigField::AuthorizationParams,
                    "a parameter name is empty",
                ));
            }
            if RESERVED_AUTHORIZATION_PARAMS.contains(&name.as_str()) {
                return Err(Error::config(
                    ConfigField::AuthorizationParams,
                    format!("{name:?} is set by grantkit and cannot be overridden"),
                ));
            }
        }
        let client = settings.client.check(false)?;
        let openid = client.scope.values().iter().any(|s| s == "openid");
        if openid && issuer.is_none() {
            return Err(Error::config(
                ConfigField::Issuer,
                "is required with the openid scope: the ID token's iss must equal it (OpenID Connect Core §3.1.3.7)",
            ));
        }
        if openid && jwks_uri.is_none() {
            return Err(Error::config(
                ConfigField::JwksUri,
                "is required with the openid scope (or read from the issuer's metadata): the ID token's signature is verified with the issuer's keys",
            ));
        }
        let token_client = client.token_client();
        let base = TokenRequest {
            endpoint: client.endpoint,
            assertion_audience: None,
            grant_type: Some("authorization_code"),
            grant_params: Vec::new(),
            // RFC 6749 §4.1.3: the token request has no scope; the scope
            // was asked for in the authorization request. A refresh
            // without scope keeps the scope granted (§6).
            scope: Scope::default(),
            extra: client.extra,
            client: client.client,
            dpop: client.dpop,
        };
        Ok(AuthorizationCode {
            authorization_endpoint,
            jwks_uri,
            issuer,
            iss_parameter_supported: settings.iss_parameter_supported,
            redirect_uri,
            scope: client.scope,
            openid,
            authorization_params: settings.authorization_params,
            base,
            token_client,
        })
    }

    /// The redirect URI, as configured.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Whether the `openid` scope is asked for (then an ID token is
    /// required and checked).
    pub fn is_openid(&self) -> bool {
        self.openid
    }

    /// The client as revocation and introspection requests present it.
    pub fn token_client(&self) -> &TokenClient {
        &self.token_client
    }

    /// Whether the code is exchanged for DPoP-bound tokens (RFC 9449).
    pub fn dpop(&self) -> bool {
        self.base.dpop
    }

    /// Begins a login: the authorization URL to send the browser to, and
    /// what the client must keep until the browser comes back. `rng` gives
    /// the PKCE verifier, `state` and `nonce`.
    pub fn begin(&self, rng: &mut dyn CryptoRngCore) -> (String, PendingLogin) {
        let mut octets = [0u8; 32];
        rng.fill_bytes(&mut octets);
        let verifier = Secret::new(code_verifier(&octets));
        octets.fill(0);
        let state = random_token(rng);
        // OIDC Core §3.1.2.1: nonce is OPTIONAL in the code flow, but it is
        // what ties the ID token to this login.
        let nonce = self.openid.then(|| random_token(rng));

        let mut query = FormBody::new();
        query.append("response_type", "code");
        query.append("client_id", self.base.client.client_id());
        query.append("redirect_uri", &self.redirect_uri);
        if !self.scope.values().is_empty() {
            query.append("scope", &self.scope.values().join(" "));
        }
        query.append("state", &state);
        query.append("code_challenge", &code_challenge(verifier.expose()));
        query.append("code_challenge_method", "S256");
        if let Some(nonce) = &nonce {
            query.append("nonce", nonce);
        }
        for (name, value) in &self.authorization_params {
            query.append(name, value);
        }
        let query = String::from_utf8(query.into_bytes()).unwrap_or_default();
        // RFC 6749 §3.1: the endpoint "MAY include an
        // "application/x-www-form-urlencoded" formatted ... query component,
        // which MUST be retained when adding additional query parameters".
        let separator = match self.authorization_endpoint.contains('?') {
            true if self.authorization_endpoint.ends_with(['?', '&']) => "",
            true => "&",
            false => "?",
        };
        let url = format!("{}{separator}{query}", self.authorization_endpoint);
        let pending = PendingLogin {
            state,
            code_verifier: verifier,
            nonce,
            redirect_uri: self.redirect_uri.clone(),
            client_id: self.base.client.client_id().to_owned(),
        };
        (url, pending)
    }

    /// Completes a login from the URL the browser came back to: checks the
    /// response (state, then `iss`, then an `error`, then the code) and
    /// returns the flow that exchanges the code. `rng` gives the `jti` of a
    /// client assertion.
    pub fn complete(
        &self,
        callback_url: &str,
        pending: &PendingLogin,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<CodeExchange, Error> {
        if pending.client_id != self.base.client.client_id() {
            return Err(authorization(
                AuthorizationProblem::PendingInvalid,
                "the pending login was begun by another client id",
            ));
        }
        let params = callback_params(callback_url)?;
        let param = |name: &str| {
            params
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        // RFC 6749 §10.12: the state ties the redirect to the request this
        // client made (CSRF); an error response carries it too (§4.1.2.1).
        if param("state") != Some(pending.state.as_str()) {
            return Err(authorization(
                AuthorizationProblem::StateMismatch,
                match param("state") {
                    None => "the redirect has no state",
                    Some(_) => "the redirect's state is not the one sent",
                },
            ));
        }
        // RFC 9207 §2.4: "Clients MUST compare [iss] to the issuer
        // identifier of the authorization server where the authorization
        // request was sent to", error responses included; a client that
        // knows the server sends it "MUST reject authorization responses
        // without the iss parameter".
        match (param("iss"), &self.issuer) {
            (Some(iss), Some(issuer)) if iss != issuer => {
                return Err(authorization(
                    AuthorizationProblem::IssuerMismatch,
                    format!(
                        "the redirect's iss is {:?}, expected {issuer:?}",
                        iss.chars().take(200).collect::<String>()
                    ),
                ))
            }
            (None, _) if self.iss_parameter_supported => {
                return Err(authorization(
                    AuthorizationProblem::IssuerMismatch,
                    "the redirect has no iss, which the server announced it sends (RFC 9207 §2.4)",
                ))
            }
            _ => {}
        }
        if let Some(error) = param("error") {
            let mut body = Map::new();
            for (name, value) in &params {
                if name != "state" && name != "code" {
                    body.insert(name.clone(), Value::String(value.clone()));
                }
            }
            let server = ServerError::from_body(0, error.to_owned(), body);
            return Err(Error::Authorization {
                problem: AuthorizationProblem::Denied,
                server: Some(Box::new(server)),
                detail: String::new(),
            });
        }
        let code = match param("code") {
            Some(code) if !code.is_empty() => Secret::new(code),
            _ => {
                return Err(authorization(
                    AuthorizationProblem::InvalidResponse,
                    "the redirect has neither code nor error (RFC 6749 §4.1.2)",
                ))
            }
        };
        let mut request = self.base.clone();
        // RFC 6749 §4.1.3: code, and redirect_uri "if the redirect_uri
        // parameter was included in the authorization request ... their
        // values MUST be identical"; RFC 7636 §4.5: code_verifier.
        request.grant_params = vec![
            ("code", ParamValue::Secret(code)),
            (
                "redirect_uri",
                ParamValue::Plain(pending.redirect_uri.clone()),
            ),
            (
                "code_verifier",
                ParamValue::Secret(pending.code_verifier.clone()),
            ),
        ];
        let id_token = match (self.openid, &self.issuer, &self.jwks_uri) {
            (true, Some(issuer), Some(jwks_uri)) => Some(IdTokenCheck {
                issuer: issuer.clone(),
                client_id: self.base.client.client_id().to_owned(),
                nonce: pending.nonce.clone(),
                jwks_uri: jwks_uri.clone(),
            }),
            _ => None,
        };
        Ok(CodeExchange {
            state: State::Token(Box::new(TokenGrant::new(request, None, rng))),
            id_token,
        })
    }
}

fn authorization(problem: AuthorizationProblem, detail: impl Into<String>) -> Error {
    Error::Authorization {
        problem,
        server: None,
        detail: detail.into(),
    }
}

/// The parameters of the redirect's query (RFC 6749 §4.1.2: "adding the
/// following parameters to the query component of the redirection URI");
/// a repeated one is refused (§3.1: "Request and response parameters MUST
/// NOT be included more than once").
fn callback_params(callback_url: &str) -> Result<Vec<(String, String)>, Error> {
    let invalid = |detail: &str| authorization(AuthorizationProblem::InvalidResponse, detail);
    if !callback_url.contains(':') {
        return Err(invalid("the callback is not a URL"));
    }
    let query = match UrlParts::split(callback_url) {
        Some(parts) => parts.rest,
        // A private-use scheme without "//" (com.example.app:/callback?..).
        None => callback_url
            .find(['?', '#'])
            .map_or("", |i| callback_url.get(i..).unwrap_or_default()),
    };
    let query = query
        .strip_prefix('?')
        .map(|q| q.split('#').next().unwrap_or_default())
        .unwrap_or_default();
    let params = form_urldecode(query);
    if params.is_empty() {
        return Err(invalid(
            "the callback URL has no query: open it as the server redirected to it",
        ));
    }
    for (i, (name, _)) in params.iter().enumerate() {
        if params.iter().skip(i + 1).any(|(other, _)| other == name) {
            return Err(invalid(&format!(
                "the parameter {:?} is repeated (RFC 6749 §3.1)",
                name.chars().take(40).collect::<String>()
            )));
        }
    }
    Ok(params)
}

/// The `state` of a redirect, if it has exactly one: what names its
/// pending login where several are kept (the browser's sessionStorage).
pub fn callback_state(callback_url: &str) -> Option<String> {
    let params = callback_params(callback_url).ok()?;
    params
        .into_iter()
        .find(|(name, _)| name == "state")
        .map(|(_, state)| state)
}

/// The sessionStorage key of a pending login, by its state.
pub fn storage_key(state: &str) -> String {
    format!("grantkit:login:{state}")
}

/// What a login must keep between [`AuthorizationCode::begin`] and
/// [`AuthorizationCode::complete`]. Secret: with the code, its verifier
/// gets the tokens. `Debug` prints none of it; [`PendingLogin::encode`]
/// gives an opaque string to keep (sessionStorage, a server session).
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PendingLogin {
    /// The `state` sent.
    pub state: String,
    /// The PKCE verifier.
    #[serde(with = "secret_string")]
    pub code_verifier: Secret,
    /// The `nonce` sent, with the `openid` scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// The redirect URI sent: the token request repeats it.
    pub redirect_uri: String,
    /// The client that began the login.
    pub client_id: String,
}

mod secret_string {
    use crate::secret::Secret;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(secret: &Secret, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(secret.expose())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        Secret::deserialize(d)
    }
}

impl fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PendingLogin([redacted])")
    }
}

/// The version tag of an encoded pending login.
const PENDING_VERSION: &str = "gk1.";

impl PendingLogin {
    /// The `state`, which names the login in a store of several (the
    /// browser's sessionStorage).
    pub fn state(&self) -> &str {
        &self.state
    }

    /// An opaque string holding the pending login (versioned base64url
    /// JSON): keep it secret.
    pub fn encode(&self) -> Secret {
        let json = serde_json::to_vec(self).unwrap_or_default();
        Secret::new(format!("{PENDING_VERSION}{}", URL_SAFE_NO_PAD.encode(json)))
    }

    /// Reads what [`PendingLogin::encode`] gave.
    pub fn decode(text: &str) -> Result<Self, Error> {
        let invalid = || {
            authorization(
                AuthorizationProblem::PendingInvalid,
                "it is not a pending login this version of grantkit made",
            )
        };
        let encoded = text
            .trim()
            .strip_prefix(PENDING_VERSION)
            .ok_or_else(invalid)?;
        let json = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| invalid())?;
        let pending = serde_json::from_slice::<DecodedLogin>(&json)
            .ok()
            .and_then(|decoded| decoded.0)
            .ok_or_else(invalid)?;
        if pending.state.is_empty() || pending.code_verifier.expose().len() < 43 {
            return Err(invalid());
        }
        Ok(pending)
    }
}

/// A [`PendingLogin`] read from its JSON as the derived `Deserialize` reads
/// it (unknown members ignored, a repeated one refused, `nonce` optional),
/// `None` when it is not one. Each member is read as a JSON value and then
/// checked, instead of asking serde_json for a string: a type mismatch there
/// formats serde's "invalid type" message, which pulls the formatting of
/// floating-point numbers (~20 KB) into the wasm module for nothing (the
/// message is never shown).
struct DecodedLogin(Option<PendingLogin>);

impl<'de> serde::Deserialize<'de> for DecodedLogin {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DecodedLoginVisitor)
    }
}

struct DecodedLoginVisitor;

impl<'de> serde::de::Visitor<'de> for DecodedLoginVisitor {
    type Value = DecodedLogin;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a pending login")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<DecodedLogin, A::Error> {
        use serde_json::Value;
        const NAMES: [&str; 5] = [
            "state",
            "code_verifier",
            "nonce",
            "redirect_uri",
            "client_id",
        ];
        let mut members: [Option<Value>; 5] = Default::default();
        let mut repeated = false;
        while let Some(key) = map.next_key::<String>()? {
            let index = NAMES.iter().position(|name| *name == key);
            match index.and_then(|i| members.get_mut(i)) {
                Some(member) => repeated |= member.replace(map.next_value()?).is_some(),
                None => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(DecodedLogin(if repeated { None } else { login(members) }))
    }

    // The derive also takes the members in order, as an array of five.
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<DecodedLogin, A::Error> {
        let mut members: [Option<serde_json::Value>; 5] = Default::default();
        for member in &mut members {
            *member = seq.next_element()?;
            if member.is_none() {
                return Ok(DecodedLogin(None));
            }
        }
        let extra = seq.next_element::<serde::de::IgnoredAny>()?.is_some();
        Ok(DecodedLogin(if extra { None } else { login(members) }))
    }

    // Any other JSON is not a pending login (serde's own refusal would
    // format the value's kind, floats included).
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<DecodedLogin, E> {
        Ok(DecodedLogin(None))
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<DecodedLogin, E> {
        Ok(DecodedLogin(None))
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<DecodedLogin, E> {
        Ok(DecodedLogin(None))
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<DecodedLogin, E> {
        Ok(DecodedLogin(None))
    }

    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<DecodedLogin, E> {
        Ok(DecodedLogin(None))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<DecodedLogin, E> {
        Ok(DecodedLogin(None))
    }
}

/// The pending login of these members, if each is of its type.
fn login(members: [Option<serde_json::Value>; 5]) -> Option<PendingLogin> {
    use serde_json::Value;
    let string = |value: Option<Value>| match value {
        Some(Value::String(s)) => Some(s),
        _ => None,
    };
    let [state, code_verifier, nonce, redirect_uri, client_id] = members;
    // The verifier first: a Secret zeroes it when the others are refused.
    let code_verifier = Secret::new(string(code_verifier)?);
    Some(PendingLogin {
        state: string(state)?,
        code_verifier,
        nonce: match nonce {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => return None,
        },
        redirect_uri: string(redirect_uri)?,
        client_id: string(client_id)?,
    })
}

/// What the ID token of a login must satisfy.
#[derive(Clone, Debug)]
struct IdTokenCheck {
    issuer: String,
    client_id: String,
    nonce: Option<String>,
    jwks_uri: String,
}

/// The label of the JWKS request in a trace.
pub const JWKS_LABEL: &str = "issuer keys (jwks_uri)";

/// Exchanges the code for tokens, then, with `openid`, checks the ID token:
/// its claims, then its signature with the issuer's key.
#[derive(Debug)]
pub struct CodeExchange {
    state: State,
    id_token: Option<IdTokenCheck>,
}

enum State {
    Token(Box<TokenGrant>),
    NeedKeys(Box<TokenSet>, Box<CheckedClaims>),
    ExpectKeys(Box<TokenSet>, Box<CheckedClaims>),
    NeedVerification(Box<TokenSet>, Box<VerifyRequest>),
    ExpectVerification(Box<TokenSet>),
    Verified(Box<TokenSet>),
    Finished,
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Token(_) => "Token",
            State::NeedKeys(..) => "NeedKeys",
            State::ExpectKeys(..) => "ExpectKeys",
            State::NeedVerification(..) => "NeedVerification",
            State::ExpectVerification(_) => "ExpectVerification",
            State::Verified(_) => "Verified",
            State::Finished => "Finished",
        })
    }
}

impl CodeExchange {
    /// What follows the token response: the tokens, or the ID token's
    /// checks.
    fn after_tokens(&self, tokens: TokenSet, now: UnixTime) -> Result<State, Error> {
        let Some(check) = &self.id_token else {
            return Ok(State::Verified(Box::new(tokens)));
        };
        // OIDC Core §3.1.3.3: the token response "MUST" carry an ID token
        // when openid was asked for.
        let Some(token) = &tokens.id_token else {
            return Err(Error::IdToken {
                problem: IdTokenProblem::Missing,
                detail: "the openid scope was asked for (OpenID Connect Core §3.1.3.3)".into(),
            });
        };
        let expect = Expectations {
            issuer: &check.issuer,
            client_id: &check.client_id,
            nonce: check.nonce.as_deref(),
        };
        let claims = id_token::check_claims(token.expose(), &expect, now)?;
        Ok(State::NeedKeys(Box::new(tokens), Box::new(claims)))
    }
}

impl Flow for CodeExchange {
    type Output = TokenSet;

    fn poll(&mut self, now: UnixTime) -> Result<Action<TokenSet>, Error> {
        loop {
            match std::mem::replace(&mut self.state, State::Finished) {
                State::Token(mut grant) => match grant.poll(now)?.pending() {
                    Ok(action) => {
                        self.state = State::Token(grant);
                        return Ok(action);
                    }
                    Err(tokens) => self.state = self.after_tokens(tokens, now)?,
                },
                State::NeedKeys(tokens, claims) => {
                    let url = self
                        .id_token
                        .as_ref()
                        .map(|c| c.jwks_uri.clone())
                        .unwrap_or_default();
                    self.state = State::ExpectKeys(tokens, claims);
                    return Ok(Action::Send(HttpRequest {
                        method: Method::Get,
                        url,
                        headers: vec![(
                            "Accept".to_owned(),
                            "application/jwk-set+json, application/json".to_owned(),
                        )],
                        body: None,
                    }));
                }
                State::NeedVerification(tokens, request) => {
                    self.state = State::ExpectVerification(tokens);
                    return Ok(Action::Verify(*request));
                }
                State::Verified(tokens) => return Ok(Action::Done(*tokens)),
                State::ExpectKeys(..) => {
                    return Err(Error::FlowMisuse {
                        reason: "polled while the JWKS response is awaited",
                    })
                }
                State::ExpectVerification(_) => {
                    return Err(Error::FlowMisuse {
                        reason: "polled while a verification is awaited",
                    })
                }
                State::Finished => {
                    return Err(Error::FlowMisuse {
                        reason: "polled after the flow finished",
                    })
                }
            }
        }
    }

    fn handle_response(&mut self, response: HttpResponse, now: UnixTime) -> Result<(), Error> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::Token(mut grant) => {
                grant.handle_response(response, now)?;
                self.state = State::Token(grant);
                Ok(())
            }
            State::ExpectKeys(tokens, claims) => {
                let keys = id_token::parse_jwks(&response)?;
                let request = id_token::verify_request(&claims, &keys)?;
                self.state = State::NeedVerification(tokens, Box::new(request));
                Ok(())
            }
            _ => Err(Error::FlowMisuse {
                reason: "a response arrived when none was awaited",
            }),
        }
    }

    fn handle_signature(&mut self, signature: Vec<u8>) -> Result<(), Error> {
        match &mut self.state {
            State::Token(grant) => grant.handle_signature(signature),
            _ => Err(Error::FlowMisuse {
                reason: "a signature arrived when none was awaited",
            }),
        }
    }

    fn handle_proof(&mut self, proof: String) -> Result<(), Error> {
        match &mut self.state {
            State::Token(grant) => grant.handle_proof(proof),
            _ => Err(Error::FlowMisuse {
                reason: "a DPoP proof arrived when none was awaited",
            }),
        }
    }

    fn handle_verification(&mut self, valid: bool) -> Result<(), Error> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::ExpectVerification(tokens) if valid => {
                self.state = State::Verified(tokens);
                Ok(())
            }
            State::ExpectVerification(_) => Err(Error::IdToken {
                problem: IdTokenProblem::BadSignature,
                detail: "it was not signed by the issuer's key".into(),
            }),
            _ => Err(Error::FlowMisuse {
                reason: "a verification arrived when none was awaited",
            }),
        }
    }

    fn exchange_label(&self, request: &HttpRequest) -> String {
        match request.method {
            Method::Get => JWKS_LABEL.to_owned(),
            _ => crate::trace::default_label(request),
        }
    }

    fn redactor(&self) -> Redactor {
        match &self.state {
            State::Token(grant) => grant.redactor(),
            _ => Redactor::default(),
        }
    }
}

/// A login that completed: what keeps its tokens fresh in a TokenSource,
/// by refresh (RFC 6749 §6). It cannot sign the user in again by itself:
/// without a usable refresh token, getting tokens fails with
/// `LOGIN_REQUIRED`.
#[derive(Clone, Debug)]
pub struct CompletedLogin {
    grant: Arc<AuthorizationCode>,
    /// Who signed in, for the store key: the ID token's `iss` and `sub`
    /// (verified), else a random id (tokens of a login without an ID token
    /// are never shared).
    user: String,
}

impl CompletedLogin {
    /// The login that produced `tokens` (after [`CodeExchange`] finished).
    pub fn new(
        grant: Arc<AuthorizationCode>,
        tokens: &TokenSet,
        rng: &mut dyn CryptoRngCore,
    ) -> Self {
        let subject = tokens
            .id_token
            .as_ref()
            .filter(|_| grant.openid)
            .and_then(|t| crate::jwt::decode_unverified(t.expose()).ok())
            .and_then(|jwt| {
                let text = |name: &str| jwt.claims.get(name)?.as_str().map(str::to_owned);
                Some(format!("{} {}", text("iss")?, text("sub")?))
            });
        let user = subject.unwrap_or_else(|| format!("login {}", random_token(rng)));
        CompletedLogin { grant, user }
    }
}

/// The flow a completed login runs when it has no refresh token left.
#[derive(Debug)]
struct LoginRequired;

impl Flow for LoginRequired {
    type Output = TokenSet;

    fn poll(&mut self, _now: UnixTime) -> Result<Action<TokenSet>, Error> {
        Err(authorization(
            AuthorizationProblem::LoginRequired,
            "the login's refresh token is missing, expired or revoked; begin a new login",
        ))
    }

    fn handle_response(&mut self, _response: HttpResponse, _now: UnixTime) -> Result<(), Error> {
        Err(Error::FlowMisuse {
            reason: "a response arrived when none was awaited",
        })
    }
}

impl Grant for CompletedLogin {
    fn kind(&self) -> GrantKind {
        GrantKind::AuthorizationCode
    }

    fn start(&self, _rng: Box<dyn CryptoRngCore>) -> Box<dyn Flow<Output = TokenSet>> {
        Box::new(LoginRequired)
    }

    fn refresh(&self, refresh_token: &Secret, rng: &mut dyn CryptoRngCore) -> Option<TokenGrant> {
        Some(TokenGrant::new(
            self.grant.base.refresh(refresh_token),
            None,
            rng,
        ))
    }

    fn identity(&self) -> Vec<String> {
        let mut identity = self.grant.base.identity();
        identity.push(self.grant.scope.values().join(" "));
        identity.push(self.user.clone());
        identity
    }

    fn bind_credentials(&self, binding: &mut CredentialBinding) {
        self.grant.base.bind_credentials(binding);
    }

    fn token_client(&self) -> Option<&TokenClient> {
        Some(&self.grant.token_client)
    }

    fn dpop(&self) -> bool {
        self.grant.base.dpop
    }
}
