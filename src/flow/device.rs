//! The device authorization grant (RFC 8628): ask for a user code, show it,
//! then poll the token endpoint until the user has approved it elsewhere.

use super::client::ClientConfig;
use super::token_request::{ExtraParams, ParamValue, Scope, TokenGrant, TokenRequest};
use super::{Action, DevicePrompt, Flow};
use crate::endpoint::{check_endpoint, url_problem};
use crate::error::{DeviceProblem, Error};
use crate::http::{HttpRequest, HttpResponse};
use crate::options::ConfigField;
use crate::redact::Redactor;
use crate::secret::Secret;
use crate::text::is_safe;
use crate::time::UnixTime;
use crate::token::{parse_json, whole_seconds, TokenSet};
use rsa::rand_core::CryptoRngCore;
use serde_json::Value;
use std::fmt;
use std::time::Duration;

/// RFC 8628 §3.4: the grant type of the polling requests.
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// RFC 8628 §3.2: "If no value is provided, clients MUST use 5 as the
/// default" polling interval, in seconds.
const DEFAULT_INTERVAL_SECS: u64 = 5;

/// RFC 8628 §3.5: on `slow_down` "the interval MUST be increased by 5
/// seconds for this and all subsequent requests".
const SLOW_DOWN_STEP_SECS: u64 = 5;

/// The longest polling interval grantkit follows, in seconds; a larger
/// `interval` (or one grown by `slow_down`) is cut to it. RFC 8628 names no
/// maximum; a server asking for more is broken, and a timer cannot wait
/// much longer (2^31 - 1 ms in JavaScript).
pub const MAX_INTERVAL_SECS: u64 = 3600;

/// The longest a device code is polled for, in seconds: one day. A larger
/// `expires_in` is cut to it.
pub const MAX_CODE_LIFETIME_SECS: u64 = 86_400;

/// What a device-flow client is configured with.
#[derive(Clone, Debug)]
pub struct DeviceAuthorizationSettings {
    /// The client: the token endpoint that is polled, id, secret or key
    /// (none for a public client, the usual case on devices), scope (asked
    /// for with the device code; `openid offline_access` for an ID and a
    /// refresh token), extra parameters of the device authorization request.
    pub client: ClientConfig,
    /// The device authorization endpoint (RFC 8628 §3.1); `None`: the
    /// provider's documented one beside the token endpoint (Keycloak,
    /// Entra), see [`crate::provider::Provider::device_authorization_endpoint`].
    pub device_authorization_endpoint: Option<String>,
}

impl DeviceAuthorizationSettings {
    /// Settings for a public client and every default.
    pub fn new(device_authorization_endpoint: &str, token_endpoint: &str, client_id: &str) -> Self {
        DeviceAuthorizationSettings {
            client: ClientConfig::new(token_endpoint, client_id),
            device_authorization_endpoint: Some(device_authorization_endpoint.to_owned()),
        }
    }
}

/// A checked device-flow configuration; each [`DeviceAuthorization::start`]
/// gives a fresh flow.
#[derive(Clone, Debug)]
pub struct DeviceAuthorization {
    /// The device authorization request: `client_id`, `scope` and the
    /// client's credentials, no `grant_type`.
    authorize: TokenRequest,
    /// The polling request without its `device_code`.
    poll: TokenRequest,
    /// Revokes and introspects the tokens.
    token_client: super::TokenClient,
    /// Verification URIs may be plain `http` on any host.
    allow_insecure_http: bool,
}

impl DeviceAuthorization {
    /// Checks the settings; every error here is raised before any request.
    pub fn new(settings: DeviceAuthorizationSettings) -> Result<Self, Error> {
        let config = settings.client;
        let allow_insecure_http = config.allow_insecure_http;
        let device_endpoint = settings
            .device_authorization_endpoint
            .or_else(|| {
                config
                    .provider()
                    .device_authorization_endpoint(&config.token_endpoint)
            })
            .ok_or_else(|| {
                Error::config(
                    ConfigField::DeviceAuthorizationEndpoint,
                    "is required: only Keycloak's and Entra's are known from their token endpoints",
                )
            })?;
        let device_endpoint = check_endpoint(
            ConfigField::DeviceAuthorizationEndpoint,
            &device_endpoint,
            allow_insecure_http,
        )?;
        let client = config.check(false)?;
        // RFC 8628 §3.1 requires client_id only "if the client is not
        // authenticating with the authorization server", but does not
        // forbid it; some servers (django-oauth-toolkit) refuse the request
        // without it even when the client authenticates with HTTP Basic. So
        // it is always in the body: here when the client authentication
        // puts it nowhere else.
        let grant_params = match client.client.sends_client_id_in_body() {
            true => Vec::new(),
            false => vec![(
                "client_id",
                ParamValue::Plain(client.client.client_id().to_owned()),
            )],
        };
        let authorize = TokenRequest {
            endpoint: device_endpoint,
            assertion_audience: Some(client.endpoint.clone()),
            grant_type: None,
            grant_params,
            scope: client.scope.clone(),
            extra: client.extra.clone(),
            client: client.client.clone(),
            // RFC 9449 binds tokens: the device authorization request
            // gets a user code, not a token, and carries no proof.
            dpop: false,
        };
        let token_client = client.token_client();
        // The scope was asked for with the device code: RFC 8628 §3.4 names
        // no scope parameter for the polls.
        let poll = TokenRequest {
            scope: Scope::default(),
            extra: ExtraParams::default(),
            ..client.request(DEVICE_CODE_GRANT, Vec::new())
        };
        Ok(DeviceAuthorization {
            token_client,
            authorize,
            poll,
            allow_insecure_http,
        })
    }

    /// A flow that asks for a user code, prompts, and polls until the user
    /// decides or the code expires. `rng` gives the `jti` of each client
    /// assertion (`private_key_jwt`: one per request).
    pub fn start(&self, mut rng: Box<dyn CryptoRngCore>) -> DeviceFlow {
        let request = TokenGrant::with_parser(
            self.authorize.clone(),
            None,
            &mut *rng,
            parse_device_authorization,
        );
        DeviceFlow {
            config: self.clone(),
            rng,
            state: State::ExpectDeviceCode(request),
        }
    }

    /// The token endpoint that is polled.
    pub fn token_endpoint(&self) -> &str {
        &self.poll.endpoint
    }
}

/// The device authorization response (RFC 8628 §3.2).
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceCode {
    /// The device verification code: a credential, never shown.
    pub device_code: Secret,
    /// What the user is shown.
    pub prompt: DevicePrompt,
    /// Seconds between polls.
    pub interval: u64,
}

impl fmt::Debug for DeviceCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceCode")
            .field("device_code", &self.device_code)
            .field("prompt", &self.prompt)
            .field("interval", &self.interval)
            .finish()
    }
}

/// Reads a device authorization response.
fn parse_device_authorization(
    response: &HttpResponse,
    _now: UnixTime,
    redactor: &Redactor,
    _dpop: bool,
) -> Result<DeviceCode, Error> {
    let invalid = |detail: String| Error::Device {
        problem: DeviceProblem::InvalidResponse,
        server: None,
        status: Some(response.status),
        detail: format!("HTTP {}: {detail}", response.status),
    };
    let body = match parse_json(response, redactor)? {
        Value::Object(body) if response.is_success() => body,
        _ if !response.is_success() => {
            return Err(Error::HttpError {
                status: response.status,
                excerpt: redactor.excerpt(&response.body),
            })
        }
        _ => return Err(invalid("the response is JSON but not an object".into())),
    };
    // Shown to a person and put in links: bounded, no control characters.
    let text = |name: &str| -> Result<Option<String>, Error> {
        match body.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.is_empty() && s.len() <= 2048 && is_safe(s) => {
                Ok(Some(s.clone()))
            }
            Some(_) => Err(invalid(format!(
                "{name} is not a non-empty string of visible characters (no control, bidi or invisible ones)"
            ))),
        }
    };
    let required = |name: &str, value: Option<String>| {
        value.ok_or_else(|| invalid(format!("{name} is missing (RFC 8628 §3.2)")))
    };
    let device_code = match body.get("device_code") {
        Some(Value::String(code)) if !code.is_empty() => Secret::new(code.as_str()),
        _ => {
            return Err(invalid(
                "device_code is missing or not a non-empty string (RFC 8628 §3.2)".into(),
            ))
        }
    };
    let user_code = required("user_code", text("user_code")?)?;
    // Google sends `verification_url`, the name of an earlier draft.
    let verification_uri = match text("verification_uri")? {
        Some(uri) => uri,
        None => required("verification_uri", text("verification_url")?)?,
    };
    let verification_uri_complete = text("verification_uri_complete")?;
    let whole = |name: &str| {
        whole_seconds(body.get(name))
            .map_err(|()| invalid(format!("{name} is not a non-negative whole number")))
    };
    let expires_in = whole("expires_in")?
        .ok_or_else(|| invalid("expires_in is missing (RFC 8628 §3.2)".into()))?
        .min(MAX_CODE_LIFETIME_SECS);
    // A zero interval would poll in a tight loop: at least one second.
    let interval = whole("interval")?
        .unwrap_or(DEFAULT_INTERVAL_SECS)
        .clamp(1, MAX_INTERVAL_SECS);
    Ok(DeviceCode {
        device_code,
        prompt: DevicePrompt {
            user_code,
            verification_uri,
            verification_uri_complete,
            expires_in,
        },
        interval,
    })
}

/// The verification URIs are shown to a person and opened: each must be an
/// absolute `https` URL (`http` only where endpoints may be), never
/// `javascript:` or `data:`.
fn check_prompt(prompt: &DevicePrompt, allow_insecure_http: bool) -> Result<(), Error> {
    let uris = std::iter::once(("verification_uri", &prompt.verification_uri)).chain(
        prompt
            .verification_uri_complete
            .as_ref()
            .map(|uri| ("verification_uri_complete", uri)),
    );
    for (name, uri) in uris {
        if let Some(problem) = url_problem(uri, allow_insecure_http) {
            return Err(Error::Device {
                problem: DeviceProblem::InvalidResponse,
                server: None,
                status: None,
                detail: format!("{name}: {problem}"),
            });
        }
    }
    Ok(())
}

/// One run of the device flow.
pub struct DeviceFlow {
    config: DeviceAuthorization,
    rng: Box<dyn CryptoRngCore>,
    state: State,
}

impl fmt::Debug for DeviceFlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceFlow")
            .field("state", &self.state.name())
            .finish_non_exhaustive()
    }
}

/// Where a device code stands while it is polled.
struct Polling {
    device_code: Secret,
    interval: u64,
    /// The device code's end: the response's time plus `expires_in`.
    deadline: UnixTime,
    /// Whether the wait before the next poll is done. RFC 8628 §3.5: the
    /// client waits `interval` seconds between requests. The wait is asked
    /// for as a whole [`Action::Wait`] and not worked out from whole-second
    /// clock readings, which would let a poll go out up to a second early
    /// (a prompt that returns just after a second begins).
    waited: bool,
}

enum State {
    /// Asking for a device code.
    ExpectDeviceCode(TokenGrant<DeviceCode>),
    /// Between polls (the first one after the prompt).
    Waiting(Polling),
    /// A poll is out.
    ExpectToken(TokenGrant, Polling),
    Finished,
}

impl State {
    fn name(&self) -> &'static str {
        match self {
            State::ExpectDeviceCode(_) => "ExpectDeviceCode",
            State::Waiting(_) => "Waiting",
            State::ExpectToken(..) => "ExpectToken",
            State::Finished => "Finished",
        }
    }
}

impl DeviceFlow {
    fn poll_request(&mut self, polling: &Polling) -> TokenGrant {
        let mut request = self.config.poll.clone();
        request.grant_params = vec![(
            "device_code",
            ParamValue::Secret(polling.device_code.clone()),
        )];
        TokenGrant::new(request, None, &mut *self.rng)
    }
}

impl Flow for DeviceFlow {
    type Output = TokenSet;

    fn poll(&mut self, now: UnixTime) -> Result<Action<TokenSet>, Error> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::ExpectDeviceCode(mut request) => match request.poll(now)?.pending() {
                Err(code) => {
                    check_prompt(&code.prompt, self.config.allow_insecure_http)?;
                    let polling = Polling {
                        deadline: now.plus_secs(code.prompt.expires_in),
                        waited: false,
                        device_code: code.device_code,
                        interval: code.interval,
                    };
                    self.state = State::Waiting(polling);
                    Ok(Action::Prompt(code.prompt))
                }
                Ok(action) => {
                    self.state = State::ExpectDeviceCode(request);
                    Ok(action)
                }
            },
            State::Waiting(polling) => {
                if now >= polling.deadline {
                    return Err(Error::Device {
                        problem: DeviceProblem::CodeExpired,
                        server: None,
                        status: None,
                        detail: format!(
                            "the code was valid until Unix time {}",
                            polling.deadline.as_secs()
                        ),
                    });
                }
                if !polling.waited {
                    // Never sleep past the code's end: then stop at once.
                    let left = polling.deadline.as_secs().saturating_sub(now.as_secs());
                    let wait = polling.interval.min(left);
                    self.state = State::Waiting(Polling {
                        waited: true,
                        ..polling
                    });
                    return Ok(Action::Wait(Duration::from_secs(wait)));
                }
                let mut request = self.poll_request(&polling);
                let action = request.poll(now)?;
                self.state = State::ExpectToken(request, polling);
                Ok(action)
            }
            State::ExpectToken(mut request, polling) => {
                let action = request.poll(now)?;
                if !matches!(action, Action::Done(_)) {
                    self.state = State::ExpectToken(request, polling);
                }
                Ok(action)
            }
            State::Finished => Err(Error::FlowMisuse {
                reason: "polled after the flow finished",
            }),
        }
    }

    fn handle_signature(&mut self, signature: Vec<u8>) -> Result<(), Error> {
        match &mut self.state {
            State::ExpectDeviceCode(request) => request.handle_signature(signature),
            State::ExpectToken(request, _) => request.handle_signature(signature),
            _ => Err(Error::FlowMisuse {
                reason: "a signature arrived when none was awaited",
            }),
        }
        .inspect_err(|_| self.state = State::Finished)
    }

    fn handle_proof(&mut self, proof: String) -> Result<(), Error> {
        match &mut self.state {
            State::ExpectToken(request, _) => request.handle_proof(proof),
            _ => Err(Error::FlowMisuse {
                reason: "a DPoP proof arrived when none was awaited",
            }),
        }
        .inspect_err(|_| self.state = State::Finished)
    }

    fn handle_response(&mut self, response: HttpResponse, now: UnixTime) -> Result<(), Error> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::ExpectDeviceCode(mut request) => {
                request.handle_response(response, now)?;
                self.state = State::ExpectDeviceCode(request);
                Ok(())
            }
            State::ExpectToken(mut request, mut polling) => {
                let error = match request.handle_response(response, now) {
                    Ok(()) => {
                        self.state = State::ExpectToken(request, polling);
                        return Ok(());
                    }
                    Err(Error::OAuth(server)) => server,
                    Err(other) => return Err(other),
                };
                // RFC 8628 §3.5: the polling errors.
                match error.error.as_str() {
                    "authorization_pending" => {}
                    "slow_down" => {
                        polling.interval =
                            (polling.interval + SLOW_DOWN_STEP_SECS).min(MAX_INTERVAL_SECS)
                    }
                    "access_denied" => {
                        return Err(Error::Device {
                            problem: DeviceProblem::AccessDenied,
                            status: Some(error.status),
                            server: Some(error),
                            detail: String::new(),
                        })
                    }
                    "expired_token" => {
                        return Err(Error::Device {
                            problem: DeviceProblem::ExpiredToken,
                            status: Some(error.status),
                            server: Some(error),
                            detail: String::new(),
                        })
                    }
                    _ => return Err(Error::OAuth(error)),
                }
                polling.waited = false;
                self.state = State::Waiting(polling);
                Ok(())
            }
            _ => Err(Error::FlowMisuse {
                reason: "a response arrived when none was awaited",
            }),
        }
    }

    fn exchange_label(&self, _request: &HttpRequest) -> String {
        match self.state {
            State::ExpectDeviceCode(_) => "device authorization request".to_owned(),
            _ => "token poll".to_owned(),
        }
    }

    fn redactor(&self) -> Redactor {
        match &self.state {
            State::ExpectDeviceCode(request) => request.redactor(),
            State::ExpectToken(request, _) => request.redactor(),
            _ => Redactor::default(),
        }
    }
}

impl crate::source::Grant for DeviceAuthorization {
    fn kind(&self) -> crate::source::GrantKind {
        crate::source::GrantKind::Device
    }

    fn start(
        &self,
        rng: Box<dyn CryptoRngCore>,
    ) -> Box<dyn super::Flow<Output = crate::token::TokenSet>> {
        Box::new(self.start(rng))
    }

    fn refresh(&self, refresh_token: &Secret, rng: &mut dyn CryptoRngCore) -> Option<TokenGrant> {
        // The refresh asks for the scope of the device code again.
        let mut request = self.poll.refresh(refresh_token);
        request.scope = self.authorize.scope.clone();
        Some(TokenGrant::new(request, None, rng))
    }

    fn identity(&self) -> Vec<String> {
        let mut parts = self.authorize.identity();
        parts.push(self.poll.endpoint.clone());
        parts
    }

    fn bind_credentials(&self, binding: &mut crate::source::CredentialBinding) {
        self.authorize.bind_credentials(binding);
    }

    fn token_client(&self) -> Option<&super::TokenClient> {
        Some(&self.token_client)
    }

    fn dpop(&self) -> bool {
        self.poll.dpop
    }
}
