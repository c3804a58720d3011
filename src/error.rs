//! The one error type of grantkit, with a stable code per variant.

use crate::text;
use serde_json::{Map, Value};
use std::fmt;

/// Everything that can go wrong while getting a token.
///
/// Each variant has a stable [`Error::code`] (the `.code` of the JavaScript
/// error); messages are for people and may change. No variant carries a
/// secret: excerpts of server responses are bounded and have every secret the
/// flow knows removed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is unusable: a missing or malformed option, an
    /// endpoint that is not `https`, a scope the provider is documented to
    /// refuse. Raised before any request is sent.
    InvalidConfig {
        /// The option at fault, as the user spells it (`tokenEndpoint`).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The server answered with an OAuth error response (RFC 6749 §5.2),
    /// whatever the HTTP status, including a 2xx.
    OAuth(Box<ServerError>),
    /// The response body is not JSON (an HTML error page, a form-encoded
    /// or truncated token response).
    ResponseNotJson {
        /// HTTP status of the response.
        status: u16,
        /// The response's `Content-Type`, if any.
        content_type: Option<String>,
        /// The start of the body, bounded and with secrets removed; `None`
        /// for a 2xx, whose body may hold tokens and is never quoted.
        excerpt: Option<String>,
    },
    /// A 2xx token response that breaks RFC 6749 §5.1: no `access_token`, or
    /// a member of the wrong type.
    InvalidTokenResponse {
        /// HTTP status of the response.
        status: u16,
        /// What is wrong; names members, never their values.
        reason: String,
    },
    /// The token is not a bearer token, so it cannot be used as one.
    UnsupportedTokenType {
        /// The `token_type` the server sent.
        token_type: String,
    },
    /// A non-2xx response whose JSON is not an OAuth error.
    HttpError {
        /// HTTP status of the response.
        status: u16,
        /// The start of the body, bounded and with secrets removed.
        excerpt: String,
    },
    /// The server answered with a redirect. Token requests are never
    /// redirected: following one could send credentials elsewhere.
    UnexpectedRedirect {
        /// HTTP status (0 where the runtime hides it: a browser's opaque
        /// redirect).
        status: u16,
        /// Origin and path of the `Location`, when the runtime shows it.
        location: Option<String>,
    },
    /// The response body is larger than grantkit reads.
    ResponseTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The request did not reach the server or no response came back
    /// (connection refused, DNS, TLS, CORS in a browser).
    Network {
        /// What the runtime reported.
        message: String,
    },
    /// No response within the configured time.
    Timeout {
        /// The time limit, in milliseconds.
        after_ms: u64,
    },
    /// The caller's abort signal fired.
    Aborted,
    /// A private key cannot be used to sign.
    InvalidKey(KeyProblem),
    /// The runtime's crypto refused to sign (WebCrypto).
    Signing {
        /// What the runtime reported.
        message: String,
    },
    /// An error at one step of a multi-step flow (the ACP login's five
    /// calls); the code is the inner error's.
    InStep {
        /// The step, from 1.
        step: u8,
        /// What the step does.
        name: &'static str,
        /// What went wrong there.
        error: Box<Error>,
    },
    /// The ACP login could not go on.
    Acp {
        /// What went wrong.
        problem: AcpProblem,
        /// HTTP status of the response behind it, if one was.
        status: Option<u16>,
        /// Details: the field, or the server's message (bounded, secret-free).
        detail: String,
    },
    /// The device authorization grant (RFC 8628) ended without tokens.
    Device {
        /// Why.
        problem: DeviceProblem,
        /// The server's error response behind it (`access_denied`,
        /// `expired_token`), if one was.
        server: Option<Box<ServerError>>,
        /// HTTP status of the response behind it, if one was.
        status: Option<u16>,
        /// Details for people: bounded, secret-free.
        detail: String,
    },
    /// The `onPrompt` callback of the device flow threw or rejected.
    PromptFailed {
        /// The callback's error message, bounded.
        message: String,
    },
    /// `authorizedFetch` was asked to send a token to an origin outside the
    /// configured allow-list.
    OriginNotAllowed {
        /// The origin of the refused URL (never its path or query).
        origin: String,
    },
    /// The token store's `get` or `set` failed. Reported to `onStoreError`;
    /// a store failure never fails `getToken`.
    StoreFailed {
        /// What the store reported, bounded.
        message: String,
    },
    /// A string given as a JWT is not one.
    InvalidJwt {
        /// What is wrong with it; never the token itself.
        reason: String,
    },
    /// A flow was driven out of order (polled while it waits for a response,
    /// or after it finished). A bug in the driver, not in the server.
    FlowMisuse {
        /// What the driver did wrong.
        reason: &'static str,
    },
}

impl Error {
    /// The stable code of this error, for programs to match on.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidConfig { .. } => "INVALID_CONFIG",
            Error::OAuth(_) => "OAUTH_ERROR",
            Error::ResponseNotJson { .. } => "RESPONSE_NOT_JSON",
            Error::InvalidTokenResponse { .. } => "INVALID_TOKEN_RESPONSE",
            Error::UnsupportedTokenType { .. } => "UNSUPPORTED_TOKEN_TYPE",
            Error::HttpError { .. } => "HTTP_ERROR",
            Error::UnexpectedRedirect { .. } => "UNEXPECTED_REDIRECT",
            Error::ResponseTooLarge { .. } => "RESPONSE_TOO_LARGE",
            Error::Network { .. } => "NETWORK_ERROR",
            Error::Timeout { .. } => "TIMEOUT",
            Error::Aborted => "ABORTED",
            Error::InvalidKey(problem) => problem.code(),
            Error::Signing { .. } => "SIGNING_FAILED",
            Error::InStep { error, .. } => error.code(),
            Error::Acp { problem, .. } => problem.code(),
            Error::Device { problem, .. } => problem.code(),
            Error::PromptFailed { .. } => "PROMPT_FAILED",
            Error::OriginNotAllowed { .. } => "ORIGIN_NOT_ALLOWED",
            Error::StoreFailed { .. } => "STORE_FAILED",
            Error::InvalidJwt { .. } => "INVALID_JWT",
            Error::FlowMisuse { .. } => "FLOW_MISUSE",
        }
    }

    /// The HTTP status of the response behind this error, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::OAuth(e) => Some(e.status),
            Error::ResponseNotJson { status, .. }
            | Error::InvalidTokenResponse { status, .. }
            | Error::HttpError { status, .. }
            | Error::UnexpectedRedirect { status, .. } => Some(*status),
            Error::InStep { error, .. } => error.status(),
            Error::Acp { status, .. } => *status,
            Error::Device { status, .. } => *status,
            _ => None,
        }
    }

    pub(crate) fn config(field: &str, reason: impl Into<String>) -> Self {
        Error::InvalidConfig {
            field: field.to_owned(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Error {
    /// The message for people. Every piece of text from outside in it is
    /// bounded where it is written; then the whole is escaped
    /// ([`crate::text::escape`]), so no control, bidi or invisible
    /// character a server sent reaches a terminal or a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = Unescaped(self).to_string();
        f.write_str(&text::escape(&message, text::MAX_MESSAGE_CHARS))
    }
}

/// An error's message before it is escaped.
struct Unescaped<'a>(&'a Error);

impl fmt::Display for Unescaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Error::InvalidConfig { field, reason } => {
                write!(f, "invalid configuration: {field}: {reason}")
            }
            Error::OAuth(e) => fmt::Display::fmt(e, f),
            Error::ResponseNotJson {
                status,
                content_type,
                excerpt,
            } => {
                write!(f, "the server's response (HTTP {status}")?;
                if let Some(content_type) = content_type {
                    write!(f, ", Content-Type {content_type}")?;
                }
                f.write_str(") is not JSON")?;
                match excerpt {
                    Some(excerpt) => write!(f, "; it starts with {excerpt:?}"),
                    None => f.write_str("; a successful response may hold tokens, so none of it is shown"),
                }
            }
            Error::InvalidTokenResponse { status, reason } => {
                write!(f, "invalid token response (HTTP {status}): {reason}")
            }
            Error::UnsupportedTokenType { token_type } => write!(
                f,
                "the server issued a token of type {token_type:?}; only Bearer tokens are supported"
            ),
            Error::HttpError { status, excerpt } => write!(
                f,
                "the server answered HTTP {status} without an OAuth error; the body starts with {excerpt:?}"
            ),
            Error::UnexpectedRedirect { status, location } => {
                write!(f, "the server answered with a redirect (HTTP {status})")?;
                if let Some(location) = location {
                    write!(f, " to {location}")?;
                }
                f.write_str("; token requests are never redirected")
            }
            Error::ResponseTooLarge { limit } => {
                write!(f, "the response body is larger than {limit} bytes")
            }
            Error::Network { message } => write!(f, "network error: {message}"),
            Error::Timeout { after_ms } => write!(f, "no response within {after_ms} ms"),
            Error::Aborted => f.write_str("the request was aborted"),
            Error::InvalidKey(problem) => write!(f, "unusable private key: {problem}"),
            Error::Signing { message } => write!(f, "signing failed: {message}"),
            Error::InStep { step, name, error } => write!(f, "step {step} ({name}): {error}"),
            Error::Acp { problem, detail, .. } => write!(f, "{}: {detail}", problem.describe()),
            Error::Device {
                problem,
                server,
                detail,
                ..
            } => {
                write!(f, "{}", problem.describe())?;
                if let Some(server) = server {
                    write!(f, " ({server})")?;
                }
                if !detail.is_empty() {
                    write!(f, ": {detail}")?;
                }
                Ok(())
            }
            Error::PromptFailed { message } => {
                write!(f, "the onPrompt callback failed: {message}")
            }
            Error::OriginNotAllowed { origin } => write!(
                f,
                "{origin} is not in allowedOrigins; the token is only sent to the origins configured there"
            ),
            Error::StoreFailed { message } => write!(f, "the token store failed: {message}"),
            Error::InvalidJwt { reason } => write!(f, "not a JWT: {reason}"),
            Error::FlowMisuse { reason } => write!(f, "flow driven out of order: {reason}"),
        }
    }
}

impl std::error::Error for Error {}

/// Why a private key cannot be used. Each has its own error code.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyProblem {
    /// Only a public key (or a certificate) was given.
    PublicOnly,
    /// The modulus is shorter than 2048 bits (RFC 7518 §3.3).
    TooSmall {
        /// The modulus size.
        bits: usize,
    },
    /// The key is not an RSA key (EC, OKP, symmetric, ...).
    NotRsa {
        /// What was found instead.
        found: String,
    },
    /// The PEM is encrypted; decrypt it first (`openssl pkey -in key.pem`).
    Encrypted,
    /// The text is not a well-formed JWK or PEM key.
    Malformed {
        /// What is wrong; never any of the key's content.
        reason: String,
    },
}

impl KeyProblem {
    /// The stable code of this problem.
    pub fn code(&self) -> &'static str {
        match self {
            KeyProblem::PublicOnly => "KEY_PUBLIC_ONLY",
            KeyProblem::TooSmall { .. } => "KEY_TOO_SMALL",
            KeyProblem::NotRsa { .. } => "KEY_NOT_RSA",
            KeyProblem::Encrypted => "KEY_ENCRYPTED",
            KeyProblem::Malformed { .. } => "KEY_MALFORMED",
        }
    }
}

impl fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyProblem::PublicOnly => {
                f.write_str("it is a public key or certificate; signing needs the private key")
            }
            KeyProblem::TooSmall { bits } => write!(
                f,
                "the RSA key has {bits} bits; at least 2048 are required (RFC 7518 §3.3)"
            ),
            KeyProblem::NotRsa { found } => write!(f, "expected an RSA key, found {found}"),
            KeyProblem::Encrypted => f.write_str(
                "the PEM is encrypted; decrypt it first, e.g. openssl pkey -in key.pem -out plain.pem",
            ),
            KeyProblem::Malformed { reason } => f.write_str(reason),
        }
    }
}

/// Why the ACP login stopped. Each has its own error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AcpProblem {
    /// Step 5 answered `invalid authentication session`: the session cookie
    /// of step 2 did not come back.
    SessionLost,
    /// Step 4 refused the user name or password.
    InvalidCredentials,
    /// The `state` in step 4's `redirect_url` is not step 1's.
    StateMismatch,
    /// A JSON reply lacks a documented field.
    MissingField,
    /// A step answered with an unexpected status.
    UnexpectedResponse,
    /// Step 3's public key is unusable.
    BadPublicKey,
    /// The password cannot be encrypted: it is too long for the key.
    PasswordTooLong,
    /// In a browser, the page is not same-origin with the platform, so the
    /// session cookie cannot be carried.
    CrossOrigin,
}

impl AcpProblem {
    /// The stable code of this problem.
    pub fn code(self) -> &'static str {
        match self {
            AcpProblem::SessionLost => "ACP_SESSION_LOST",
            AcpProblem::InvalidCredentials => "ACP_INVALID_CREDENTIALS",
            AcpProblem::StateMismatch => "ACP_STATE_MISMATCH",
            AcpProblem::MissingField => "ACP_MISSING_FIELD",
            AcpProblem::UnexpectedResponse => "ACP_UNEXPECTED_RESPONSE",
            AcpProblem::BadPublicKey => "ACP_BAD_PUBLIC_KEY",
            AcpProblem::PasswordTooLong => "ACP_PASSWORD_TOO_LONG",
            AcpProblem::CrossOrigin => "ACP_CROSS_ORIGIN",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            AcpProblem::SessionLost => {
                "the login session was lost (the session cookie did not come back)"
            }
            AcpProblem::InvalidCredentials => "the platform refused the user name or password",
            AcpProblem::StateMismatch => "the state in the redirect does not match the login's",
            AcpProblem::MissingField => "the reply lacks a documented field",
            AcpProblem::UnexpectedResponse => "unexpected response",
            AcpProblem::BadPublicKey => "the platform's public key is unusable",
            AcpProblem::PasswordTooLong => {
                "the password is too long to encrypt with the platform's key"
            }
            AcpProblem::CrossOrigin => {
                "the ACP login needs the page to be same-origin with the platform"
            }
        }
    }
}

/// Why the device authorization grant stopped. Each has its own error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeviceProblem {
    /// The user declined: the server answered `access_denied`
    /// (RFC 8628 §3.5).
    AccessDenied,
    /// The server answered `expired_token`: the device code expired before
    /// the user approved it (RFC 8628 §3.5).
    ExpiredToken,
    /// The device code's `expires_in` passed while polling; grantkit stopped
    /// without asking the server again.
    CodeExpired,
    /// The device authorization response breaks RFC 8628 §3.2.
    InvalidResponse,
}

impl DeviceProblem {
    /// The stable code of this problem.
    pub fn code(self) -> &'static str {
        match self {
            DeviceProblem::AccessDenied => "DEVICE_ACCESS_DENIED",
            DeviceProblem::ExpiredToken => "DEVICE_EXPIRED_TOKEN",
            DeviceProblem::CodeExpired => "DEVICE_CODE_EXPIRED",
            DeviceProblem::InvalidResponse => "DEVICE_INVALID_RESPONSE",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            DeviceProblem::AccessDenied => "the user denied the device authorization",
            DeviceProblem::ExpiredToken => "the device code expired before it was approved",
            DeviceProblem::CodeExpired => {
                "the device code expired before it was approved; polling stopped"
            }
            DeviceProblem::InvalidResponse => "invalid device authorization response",
        }
    }
}

/// An OAuth error response (RFC 6749 §5.2), kept structured.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerError {
    /// HTTP status of the response (400 or 401 per RFC 6749, but any is kept).
    pub status: u16,
    /// The `error` code (`invalid_client`, `invalid_grant`, ...).
    pub error: String,
    /// `error_description`, if sent.
    pub error_description: Option<String>,
    /// `error_uri`, if sent.
    pub error_uri: Option<String>,
    /// Microsoft Entra ID's `error_codes` (the AADSTS numbers), if sent.
    pub error_codes: Vec<u64>,
    /// Microsoft Entra ID's `trace_id`, if sent.
    pub trace_id: Option<String>,
    /// Microsoft Entra ID's `correlation_id`, if sent.
    pub correlation_id: Option<String>,
    /// The whole error body, for any other vendor member.
    pub body: Map<String, Value>,
}

impl ServerError {
    /// Reads an error response body that has a string `error` member.
    pub(crate) fn from_body(status: u16, error: String, body: Map<String, Value>) -> Self {
        let text = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_owned);
        let error_codes = body
            .get("error_codes")
            .and_then(Value::as_array)
            .map(|codes| codes.iter().filter_map(Value::as_u64).collect())
            .unwrap_or_default();
        ServerError {
            status,
            error,
            error_description: text("error_description"),
            error_uri: text("error_uri"),
            error_codes,
            trace_id: text("trace_id"),
            correlation_id: text("correlation_id"),
            body,
        }
    }
}

impl fmt::Display for ServerError {
    /// `error` and `error_description`, bounded and escaped; the fields
    /// themselves keep the server's text verbatim.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the server answered {} (HTTP {})",
            text::escape(&self.error, 100),
            self.status
        )?;
        if let Some(description) = &self.error_description {
            write!(f, ": {}", text::escape(description, text::MAX_FIELD_CHARS))?;
        }
        Ok(())
    }
}
