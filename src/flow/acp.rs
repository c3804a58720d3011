//! Alauda ACP's session login: the OAuth 2.0 authorization code flow of
//! its Dex-based platform, driven through the platform's JSON API in one
//! cookie session (five calls; see DESIGN.md).
//!
//! 1. `GET /console-platform/api/v1/token/login?...` → `{auth_url, state}`
//! 2. `GET /dex/api/v1/authorize?<auth_url's query, unchanged>` → `{req}`,
//!    sets `cpaas_oidc_auth_flow`
//! 3. `GET /dex/pubkey` → `{ts, pubkey, pubkey_encode}` (`ts` single use)
//! 4. `POST /dex/api/v1/authorize/{idp}?req=..` `{account, password}` where
//!    password = base64(RSA-PKCS#1-v1.5(pubkey, `{"ts":..,"password":..}`))
//!    → `{redirect_url}` carrying `code` and `state`
//! 5. `GET /console-platform/api/v1/token/callback?code=..&state=..` with
//!    the cookie → the tokens

use super::{Action, Flow};
use crate::cookie::CookieJar;
use crate::crypto::encrypt_pkcs1v15;
use crate::endpoint::{check_endpoint, UrlParts};
use crate::error::{AcpProblem, Error};
use crate::http::{form_urldecode, form_urlencode, HttpRequest, HttpResponse, Method};
use crate::keys::PublicKey;
use crate::options::ConfigField;
use crate::redact::Redactor;
use crate::secret::Secret;
use crate::time::UnixTime;
use crate::token::{parse_json, parse_token_response, TokenSet};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rsa::rand_core::CryptoRngCore;
use serde_json::{Map, Value};

/// The scope the console asks for.
const SCOPE: &str = "openid profile offline_access email groups ext";

/// The login's connector (Dex's `idp`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Deserialize, tsify::Tsify)]
#[serde(rename_all = "lowercase")]
pub enum AcpIdp {
    /// Local users (the default).
    #[default]
    Local,
    /// LDAP.
    Ldap,
    /// An upstream OpenID Connect provider.
    Oidc,
}

impl AcpIdp {
    /// The connector id in the login's URLs (`"ldap"`).
    pub fn name(self) -> &'static str {
        crate::options::variant_name::<AcpIdp>(self as usize)
    }
}

/// What an ACP login is configured with.
#[derive(Clone, Debug)]
pub struct AcpLoginSettings {
    /// The platform URL (`https://acp.example.com`).
    pub platform_url: String,
    /// The account.
    pub username: String,
    /// The password; sent only encrypted.
    pub password: Secret,
    /// The identity provider connector: `local` (default), `ldap`, `oidc`.
    pub idp: AcpIdp,
    /// Allow plain `http` to hosts other than loopback.
    pub allow_insecure_http: bool,
}

/// A checked ACP login configuration.
#[derive(Clone, Debug)]
pub struct AcpLogin {
    platform: String,
    username: String,
    password: Secret,
    idp: AcpIdp,
}

impl AcpLogin {
    /// Checks the settings; every error here is raised before any request.
    pub fn new(settings: AcpLoginSettings) -> Result<Self, Error> {
        let platform = check_endpoint(
            ConfigField::PlatformUrl,
            settings.platform_url.trim_end_matches('/'),
            settings.allow_insecure_http,
        )?;
        if UrlParts::split(&platform)
            .is_some_and(|url| !url.path.is_empty() || !url.rest.is_empty())
        {
            return Err(Error::config(
                ConfigField::PlatformUrl,
                "must be the platform's origin, without a path",
            ));
        }
        if settings.username.is_empty() {
            return Err(Error::config(ConfigField::Username, "must not be empty"));
        }
        if settings.password.expose().is_empty() {
            return Err(Error::config(ConfigField::Password, "must not be empty"));
        }
        Ok(AcpLogin {
            platform,
            username: settings.username,
            password: settings.password,
            idp: settings.idp,
        })
    }

    /// The platform origin, as checked.
    pub fn platform_url(&self) -> &str {
        &self.platform
    }

    /// A flow that logs in once. `rng` pads the encrypted password.
    pub fn start(&self, rng: Box<dyn CryptoRngCore>) -> AcpFlow {
        AcpFlow {
            login: self.clone(),
            state: State::Start,
            jar: CookieJar::new(),
            last_url: String::new(),
            now: UnixTime::from_secs(0),
            redactor: Redactor::new([&self.password]),
            rng,
        }
    }
}

/// The login in progress.
pub struct AcpFlow {
    login: AcpLogin,
    state: State,
    jar: CookieJar,
    last_url: String,
    now: UnixTime,
    redactor: Redactor,
    rng: Box<dyn CryptoRngCore>,
}

impl std::fmt::Debug for AcpFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcpFlow")
            .field("login", &self.login)
            .field("state", &self.state)
            .field("jar", &self.jar)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
enum State {
    Start,
    /// A request is ready to go; then the flow expects `next`.
    Send(HttpRequest, Box<State>),
    ExpectLoginInfo,
    ExpectRequestId {
        state: String,
    },
    ExpectPublicKey {
        state: String,
        req: String,
    },
    ExpectRedirect {
        state: String,
    },
    ExpectToken,
    Issued(TokenSet),
    Finished,
}

const STEP_NAMES: [&str; 5] = [
    "login metadata",
    "authorize",
    "public key",
    "credentials",
    "token callback",
];

impl AcpFlow {
    fn get(&self, path_and_query: &str) -> HttpRequest {
        HttpRequest {
            method: Method::Get,
            url: format!("{}{path_and_query}", self.login.platform),
            headers: vec![("Accept".into(), "application/json".into())],
            body: None,
        }
    }

    /// The step a state expects the response of.
    fn step_of(state: &State) -> u8 {
        match state {
            State::ExpectLoginInfo => 1,
            State::ExpectRequestId { .. } => 2,
            State::ExpectPublicKey { .. } => 3,
            State::ExpectRedirect { .. } => 4,
            _ => 5,
        }
    }

    fn in_step(step: u8, error: Error) -> Error {
        Error::InStep {
            step,
            name: STEP_NAMES
                .get(usize::from(step).wrapping_sub(1))
                .copied()
                .unwrap_or("login"),
            error: Box::new(error),
        }
    }

    /// Reads a step's JSON reply; a non-2xx is an error with the server's message.
    fn reply(&self, response: &HttpResponse, step: u8) -> Result<Map<String, Value>, Error> {
        let value = parse_json(response, &self.redactor)?;
        let message = || server_message(&value, &self.redactor);
        if !response.is_success() {
            let about_credentials = || {
                let text = message().to_ascii_lowercase();
                text.contains("password") || text.contains("username")
            };
            let problem = match (step, response.status) {
                (4, 401 | 403) => AcpProblem::InvalidCredentials,
                (4, _) if about_credentials() => AcpProblem::InvalidCredentials,
                (5, 400) if message().contains("invalid authentication session") => {
                    AcpProblem::SessionLost
                }
                _ => AcpProblem::UnexpectedResponse,
            };
            return Err(Error::Acp {
                problem,
                status: Some(response.status),
                detail: format!("HTTP {}: {}", response.status, message()),
            });
        }
        match value {
            Value::Object(map) => Ok(map),
            _ => Err(missing("the reply is not a JSON object")),
        }
    }

    fn next(&mut self, response: HttpResponse, expected: State) -> Result<State, Error> {
        let step = Self::step_of(&expected);
        let reply = if step < 5 {
            Some(self.reply(&response, step)?)
        } else {
            None
        };
        Ok(match (expected, reply) {
            (State::ExpectLoginInfo, Some(reply)) => {
                let auth_url = text(&reply, "auth_url")?;
                let state = text(&reply, "state")?;
                // The query string of auth_url is forwarded unchanged.
                let query = auth_url
                    .split_once('?')
                    .map(|(_, q)| q.split('#').next().unwrap_or(""))
                    .filter(|q| !q.is_empty())
                    .ok_or_else(|| missing("auth_url has no query string"))?;
                let request = self.get(&format!("/dex/api/v1/authorize?{query}"));
                State::Send(request, Box::new(State::ExpectRequestId { state }))
            }
            (State::ExpectRequestId { state }, Some(reply)) => {
                let req = text(&reply, "req")?;
                State::Send(
                    self.get("/dex/pubkey"),
                    Box::new(State::ExpectPublicKey { state, req }),
                )
            }
            (State::ExpectPublicKey { state, req }, Some(reply)) => {
                let ts = reply
                    .get("ts")
                    .filter(|ts| !ts.is_null())
                    .cloned()
                    .ok_or_else(|| missing("ts"))?;
                let key = public_key(&reply)?;
                let request = self.credentials(&key, ts, &req)?;
                State::Send(request, Box::new(State::ExpectRedirect { state }))
            }
            (State::ExpectRedirect { state }, Some(reply)) => {
                let redirect_url = text(&reply, "redirect_url")?;
                let (code, returned_state) = code_and_state(&redirect_url)?;
                if returned_state != state {
                    return Err(Error::Acp {
                        problem: AcpProblem::StateMismatch,
                        status: None,
                        detail: "the redirect_url carries another state than step 1 issued".into(),
                    });
                }
                let request = self.get(&format!(
                    "/console-platform/api/v1/token/callback?code={}&state={}",
                    form_urlencode(&code),
                    form_urlencode(&state)
                ));
                State::Send(request, Box::new(State::ExpectToken))
            }
            (State::ExpectToken, None) => {
                if !response.is_success() {
                    self.reply(&response, 5)?;
                }
                State::Issued(acp_tokens(&response, self.now, &self.redactor)?)
            }
            _ => {
                return Err(Error::FlowMisuse {
                    reason: "a response arrived when none was awaited",
                })
            }
        })
    }

    /// Step 4: the password, encrypted with the platform's key together
    /// with the single-use `ts`.
    fn credentials(&mut self, key: &PublicKey, ts: Value, req: &str) -> Result<HttpRequest, Error> {
        let password = encrypt_password(key, &ts, &self.login.password, &mut *self.rng)?;
        let body = serde_json::json!({
            "account": self.login.username,
            "password": password,
        });
        Ok(HttpRequest {
            method: Method::Post,
            url: format!(
                "{}/dex/api/v1/authorize/{}?req={}",
                self.login.platform,
                self.login.idp.name(),
                form_urlencode(req)
            ),
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("Accept".into(), "application/json".into()),
            ],
            body: Some(body.to_string().into_bytes()),
        })
    }
}

impl Flow for AcpFlow {
    type Output = TokenSet;

    fn poll(&mut self, now: UnixTime) -> Result<Action<TokenSet>, Error> {
        if let State::Start = self.state {
            let request = self.get(&format!(
                "/console-platform/api/v1/token/login?client_id=alauda-auth&redirect_uri={}\
                 &response_type=code&scope={}",
                form_urlencode(&format!("{}/dex/callback", self.login.platform)),
                form_urlencode(SCOPE)
            ));
            self.state = State::Send(request, Box::new(State::ExpectLoginInfo));
        }
        match std::mem::replace(&mut self.state, State::Finished) {
            State::Send(mut request, next) => {
                if let Some(cookie) = self.jar.header_for(&request.url, now) {
                    request.headers.push(("Cookie".into(), cookie));
                }
                self.last_url = request.url.clone();
                self.state = *next;
                Ok(Action::Send(request))
            }
            State::Issued(tokens) => Ok(Action::Done(tokens)),
            State::Finished => Err(Error::FlowMisuse {
                reason: "polled after the flow finished",
            }),
            _ => Err(Error::FlowMisuse {
                reason: "polled while a response is awaited",
            }),
        }
    }

    fn handle_response(&mut self, response: HttpResponse, now: UnixTime) -> Result<(), Error> {
        for set_cookie in &response.set_cookies {
            self.jar.store(set_cookie, &self.last_url, now);
        }
        self.now = now;
        let expected = std::mem::replace(&mut self.state, State::Finished);
        if matches!(
            expected,
            State::Start | State::Send(..) | State::Issued(_) | State::Finished
        ) {
            return Err(Error::FlowMisuse {
                reason: "a response arrived when none was awaited",
            });
        }
        let step = Self::step_of(&expected);
        self.state = self
            .next(response, expected)
            .map_err(|e| Self::in_step(step, e))?;
        Ok(())
    }

    fn transport_failed(&mut self, error: Error) -> Error {
        match std::mem::replace(&mut self.state, State::Finished) {
            expected @ (State::ExpectLoginInfo
            | State::ExpectRequestId { .. }
            | State::ExpectPublicKey { .. }
            | State::ExpectRedirect { .. }
            | State::ExpectToken) => Self::in_step(Self::step_of(&expected), error),
            _ => error,
        }
    }

    fn exchange_label(&self, _request: &HttpRequest) -> String {
        let step = Self::step_of(&self.state);
        let name = STEP_NAMES
            .get(usize::from(step).wrapping_sub(1))
            .copied()
            .unwrap_or("login");
        format!("ACP step {step} ({name})")
    }

    fn redactor(&self) -> Redactor {
        self.redactor.clone()
    }
}

/// The `password` of step 4: standard base64 of the RSA-PKCS#1-v1.5
/// encryption, with the platform's key, of the JSON
/// `{"ts": <ts as received>, "password": <plaintext>}` (members in that order).
pub fn encrypt_password(
    key: &PublicKey,
    ts: &Value,
    password: &Secret,
    rng: &mut dyn CryptoRngCore,
) -> Result<String, Error> {
    /// Members in this order, `ts` exactly as the platform sent it.
    #[derive(serde::Serialize)]
    struct Plaintext<'a> {
        ts: &'a Value,
        password: &'a str,
    }
    let plaintext = zeroize::Zeroizing::new(
        serde_json::to_string(&Plaintext {
            ts,
            password: password.expose(),
        })
        .unwrap_or_default(),
    );
    let ciphertext = encrypt_pkcs1v15(key, plaintext.as_bytes(), rng).ok_or(Error::Acp {
        problem: AcpProblem::PasswordTooLong,
        status: None,
        detail: format!("{} bytes to encrypt", plaintext.len()),
    })?;
    Ok(STANDARD.encode(ciphertext))
}

fn missing(what: &str) -> Error {
    Error::Acp {
        problem: AcpProblem::MissingField,
        status: None,
        detail: what.to_owned(),
    }
}

fn text(reply: &Map<String, Value>, name: &str) -> Result<String, Error> {
    match reply.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(missing(name)),
    }
}

/// `pubkey` (PEM), or else `pubkey_encode` (base64 of the PEM).
fn public_key(reply: &Map<String, Value>) -> Result<PublicKey, Error> {
    let bad = |detail: &str| Error::Acp {
        problem: AcpProblem::BadPublicKey,
        status: None,
        detail: detail.to_owned(),
    };
    if let Some(pem) = reply.get("pubkey").and_then(Value::as_str) {
        if let Ok(key) = PublicKey::from_pem(pem) {
            return Ok(key);
        }
    }
    match reply.get("pubkey_encode").and_then(Value::as_str) {
        Some(encoded) => {
            let pem = STANDARD
                .decode(encoded.trim())
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| {
                    bad("pubkey is unusable and pubkey_encode is not base64 of a PEM")
                })?;
            PublicKey::from_pem(&pem).map_err(|e| bad(&format!("pubkey_encode: {e}")))
        }
        None if reply.contains_key("pubkey") => Err(bad(
            "pubkey is not an RSA public key PEM of 2048 bits or more",
        )),
        None => Err(missing("pubkey")),
    }
}

/// `code` and `state` from the redirect URL's query, or its fragment.
fn code_and_state(redirect_url: &str) -> Result<(String, String), Error> {
    let after = |sep: char| redirect_url.split_once(sep).map(|(_, rest)| rest);
    for part in [
        after('?').map(|q| q.split('#').next().unwrap_or("")),
        after('#'),
    ]
    .into_iter()
    .flatten()
    {
        let params = form_urldecode(part);
        let find = |name: &str| {
            params
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        if let (Some(code), Some(state)) = (find("code"), find("state")) {
            return Ok((code, state));
        }
    }
    Err(missing("code and state in redirect_url"))
}

/// The server's message in an error reply (`message`, or an OAuth error).
fn server_message(value: &Value, redactor: &Redactor) -> String {
    let text = value
        .get("message")
        .or_else(|| value.get("error_description"))
        .or_else(|| value.get("error"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| value.to_string());
    redactor.excerpt(text.as_bytes())
}

/// Step 5's tokens. ACP sends absolute times (`expire_at`, `issued_at`)
/// instead of `expires_in`.
fn acp_tokens(
    response: &HttpResponse,
    now: UnixTime,
    redactor: &Redactor,
) -> Result<TokenSet, Error> {
    // A missing field is reported as for every other step.
    if let Ok(Value::Object(reply)) = serde_json::from_slice::<Value>(&response.body) {
        for field in ["access_token", "token_type"] {
            if !reply.get(field).is_some_and(Value::is_string) {
                return Err(missing(field));
            }
        }
    }
    let mut tokens = parse_token_response(response, now, redactor, false)?;
    let absolute = |name: &str| tokens.raw.get(name).and_then(Value::as_u64);
    if let Some(expire_at) = absolute("expire_at") {
        tokens.expires_at = Some(UnixTime::from_secs(expire_at));
        if let Some(issued_at) = absolute("issued_at") {
            tokens.expires_in = Some(expire_at.saturating_sub(issued_at));
        }
    }
    Ok(tokens)
}

impl crate::source::Grant for AcpLogin {
    fn kind(&self) -> crate::source::GrantKind {
        crate::source::GrantKind::Acp
    }

    fn start(&self, rng: Box<dyn CryptoRngCore>) -> Box<dyn Flow<Output = TokenSet>> {
        Box::new(AcpLogin::start(self, rng))
    }

    /// ACP's refresh token belongs to the platform's Dex; how the console
    /// refreshes is not documented, so the login runs again instead.
    fn refresh(
        &self,
        _refresh_token: &Secret,
        _rng: &mut dyn CryptoRngCore,
    ) -> Option<super::TokenGrant> {
        None
    }

    fn identity(&self) -> Vec<String> {
        vec![
            self.platform.clone(),
            self.username.clone(),
            self.idp.name().to_owned(),
        ]
    }

    fn bind_credentials(&self, binding: &mut crate::source::CredentialBinding) {
        binding.add("password", self.password.expose().as_bytes());
    }
}
