//! The one error type of grantkit, with a stable code per variant.

use crate::options::ConfigField;
use crate::text;
use serde_json::{Map, Value};
use std::fmt;

/// Declares the stable error codes once: the [`ErrorCode`] enum, its
/// strings, and the TypeScript the JavaScript package declares for them.
macro_rules! error_codes {
    ($($(#[doc = $doc:literal])* $variant:ident = $code:literal,)*) => {
        /// The stable code of an error: `.code` in JavaScript, what programs
        /// and tests match on. Messages are for people and may change.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $($(#[doc = $doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, in the order of the list.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The code as a string (`"INVALID_CONFIG"`).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }
        }

        /// TypeScript for the codes, derived from the same list: the
        /// `GrantkitErrorCode` union and the `GrantkitError` class with a
        /// static constant per code.
        pub const ERROR_CODES_TYPESCRIPT: &str = concat!(
            "/** The stable codes of GrantkitError. */\nexport type GrantkitErrorCode =",
            $(" | \"", $code, "\"",)*
            ";\n\n",
            "/** Every error grantkit throws or rejects with: a real Error (with a stack) whose class is GrantkitError, so `instanceof GrantkitError` works. Its members besides the message are ErrorMembers. */\n",
            "export interface GrantkitError extends ErrorMembers {}\n",
            "export class GrantkitError extends Error {\n",
            "  private constructor();\n",
            "  name: \"GrantkitError\";\n",
            $("  /**", $($doc,)* " */\n  static readonly ", $code, ": \"", $code, "\";\n",)*
            "}\n"
        );
    };
}

error_codes! {
    /// A missing, unknown or malformed option.
    InvalidConfig = "INVALID_CONFIG",
    /// The server sent an OAuth error response (RFC 6749 §5.2).
    OAuthError = "OAUTH_ERROR",
    /// The response body is not JSON grantkit reads.
    ResponseNotJson = "RESPONSE_NOT_JSON",
    /// A 2xx token response that breaks RFC 6749 §5.1.
    InvalidTokenResponse = "INVALID_TOKEN_RESPONSE",
    /// A token type other than Bearer.
    UnsupportedTokenType = "UNSUPPORTED_TOKEN_TYPE",
    /// A non-2xx JSON body that is not an OAuth error.
    HttpError = "HTTP_ERROR",
    /// A redirect: token requests are never redirected.
    UnexpectedRedirect = "UNEXPECTED_REDIRECT",
    /// A body over the size limit.
    ResponseTooLarge = "RESPONSE_TOO_LARGE",
    /// No response: refused, unreachable, CORS.
    NetworkError = "NETWORK_ERROR",
    /// No response within the time limit.
    Timeout = "TIMEOUT",
    /// The caller's abort signal fired.
    Aborted = "ABORTED",
    /// Something given as a JWT is not one.
    InvalidJwt = "INVALID_JWT",
    /// A flow was driven out of order (a driver bug).
    FlowMisuse = "FLOW_MISUSE",
    /// DPoP was asked for where it cannot be done: the runtime has no WebCrypto ECDSA P-256, or its key is unusable.
    DpopUnavailable = "DPOP_UNAVAILABLE",
    /// The WebAssembly module could not be fetched, compiled or instantiated (a CSP without 'wasm-unsafe-eval', a missing file, no read permission); thrown by the package's import, never by a flow.
    WasmLoadFailed = "WASM_LOAD_FAILED",
    /// A public key or certificate where a private key is needed.
    KeyPublicOnly = "KEY_PUBLIC_ONLY",
    /// An RSA key under 2048 bits.
    KeyTooSmall = "KEY_TOO_SMALL",
    /// A key that is not RSA.
    KeyNotRsa = "KEY_NOT_RSA",
    /// An encrypted PEM.
    KeyEncrypted = "KEY_ENCRYPTED",
    /// Not a well-formed JWK or PEM key.
    KeyMalformed = "KEY_MALFORMED",
    /// The runtime's WebCrypto refused to sign.
    SigningFailed = "SIGNING_FAILED",
    /// ACP step 5: the session cookie did not come back.
    AcpSessionLost = "ACP_SESSION_LOST",
    /// ACP step 4 refused the user name or password.
    AcpInvalidCredentials = "ACP_INVALID_CREDENTIALS",
    /// ACP: the redirect's state is not step 1's.
    AcpStateMismatch = "ACP_STATE_MISMATCH",
    /// ACP: a reply lacks a documented field.
    AcpMissingField = "ACP_MISSING_FIELD",
    /// ACP: a step answered with an unexpected status.
    AcpUnexpectedResponse = "ACP_UNEXPECTED_RESPONSE",
    /// ACP step 3: the platform's public key is unusable.
    AcpBadPublicKey = "ACP_BAD_PUBLIC_KEY",
    /// ACP: the password is too long for the platform's key.
    AcpPasswordTooLong = "ACP_PASSWORD_TOO_LONG",
    /// ACP in a browser page that is not same-origin with the platform.
    AcpCrossOrigin = "ACP_CROSS_ORIGIN",
    /// The user declined the device authorization.
    DeviceAccessDenied = "DEVICE_ACCESS_DENIED",
    /// The server said the device code expired.
    DeviceExpiredToken = "DEVICE_EXPIRED_TOKEN",
    /// The device code's expires_in passed while polling.
    DeviceCodeExpired = "DEVICE_CODE_EXPIRED",
    /// A broken device authorization response.
    DeviceInvalidResponse = "DEVICE_INVALID_RESPONSE",
    /// The device flow's onPrompt threw or rejected.
    PromptFailed = "PROMPT_FAILED",
    /// authorizedFetch was given a URL outside allowedOrigins.
    OriginNotAllowed = "ORIGIN_NOT_ALLOWED",
    /// The shared token store failed (only passed to onStoreError).
    StoreFailed = "STORE_FAILED",
    /// A 2xx introspection response without a boolean active (RFC 7662 §2.2).
    InvalidIntrospectionResponse = "INVALID_INTROSPECTION_RESPONSE",
    /// Discovery: the metadata document names another issuer than the one asked for (OIDC Discovery §4.3, RFC 8414 §3.3).
    DiscoveryIssuerMismatch = "DISCOVERY_ISSUER_MISMATCH",
    /// Discovery: the metadata document names a plain-http endpoint off loopback.
    DiscoveryInsecureEndpoint = "DISCOVERY_INSECURE_ENDPOINT",
    /// Discovery: the metadata response is not a JSON object with a string issuer, or a member is malformed.
    DiscoveryInvalidDocument = "DISCOVERY_INVALID_DOCUMENT",
    /// Discovery: the metadata names no endpoint the flow needs (token_endpoint, device_authorization_endpoint).
    DiscoveryMissingEndpoint = "DISCOVERY_MISSING_ENDPOINT",
    /// Discovery: both well-known URLs answered 404.
    DiscoveryNotFound = "DISCOVERY_NOT_FOUND",
    /// Authorization code: the callback's state is not the pending login's (a forged or crossed redirect).
    AuthorizationStateMismatch = "AUTHORIZATION_STATE_MISMATCH",
    /// Authorization code: the callback's iss is not the configured issuer, or is missing where the server announced it (RFC 9207).
    AuthorizationIssuerMismatch = "AUTHORIZATION_ISSUER_MISMATCH",
    /// Authorization code: the callback URL has no code, repeats a parameter, or is not a URL.
    AuthorizationInvalidResponse = "AUTHORIZATION_INVALID_RESPONSE",
    /// Authorization code: the pending login is missing, unreadable, or from another client.
    AuthorizationPendingInvalid = "AUTHORIZATION_PENDING_INVALID",
    /// A TokenSource over an authorization-code login has no usable refresh token: the user must sign in again.
    LoginRequired = "LOGIN_REQUIRED",
    /// openid was asked for but the token response has no id_token (OIDC Core §3.1.3.3).
    IdTokenMissing = "ID_TOKEN_MISSING",
    /// The ID token is not a signed JWT grantkit reads (encrypted, malformed, a claim of the wrong type).
    IdTokenInvalid = "ID_TOKEN_INVALID",
    /// The ID token is signed with an algorithm other than RS256 or ES256 (none and HS256 included).
    IdTokenUnsupportedAlg = "ID_TOKEN_UNSUPPORTED_ALG",
    /// The ID token's iss is not the configured issuer.
    IdTokenIssuerMismatch = "ID_TOKEN_ISSUER_MISMATCH",
    /// The ID token's aud does not contain the client id.
    IdTokenAudienceMismatch = "ID_TOKEN_AUDIENCE_MISMATCH",
    /// The ID token's azp is not the client id, or is missing with several audiences.
    IdTokenAzpMismatch = "ID_TOKEN_AZP_MISMATCH",
    /// The ID token's exp has passed.
    IdTokenExpired = "ID_TOKEN_EXPIRED",
    /// The ID token's iat is further in the future than the allowed clock skew.
    IdTokenIssuedInFuture = "ID_TOKEN_ISSUED_IN_FUTURE",
    /// The ID token's nonce is not the pending login's.
    IdTokenNonceMismatch = "ID_TOKEN_NONCE_MISMATCH",
    /// The issuer's JWKS has no usable key for the ID token's kid and alg.
    IdTokenNoKey = "ID_TOKEN_NO_KEY",
    /// The ID token's signature does not verify with the issuer's key.
    IdTokenBadSignature = "ID_TOKEN_BAD_SIGNATURE",
    /// The jwks_uri answered with something that is not a JWK Set (RFC 7517 §5).
    JwksInvalid = "JWKS_INVALID",
}

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
        /// The option at fault; [`ConfigField::name`] spells it as options do
        /// (`tokenEndpoint`).
        field: ConfigField,
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
        /// The type the request asked for: `Bearer`, or `DPoP` with the
        /// dpop option (RFC 9449 §5).
        expected: &'static str,
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
    /// A 2xx introspection response that breaks RFC 7662 §2.2: not an
    /// object, or no boolean `active`.
    InvalidIntrospectionResponse {
        /// HTTP status of the response.
        status: u16,
        /// What is wrong; names members, never their values.
        reason: String,
    },
    /// DPoP (RFC 9449) cannot be done here: no WebCrypto ECDSA P-256 key
    /// pair, or an unusable public key.
    DpopUnavailable {
        /// Why; never key material.
        reason: String,
    },
    /// The authorization server's metadata (OpenID Connect Discovery 1.0,
    /// RFC 8414) could not be used.
    Discovery {
        /// What is wrong.
        problem: DiscoveryProblem,
        /// HTTP status of the response behind it, if one was.
        status: Option<u16>,
        /// Details for people: the URL asked, the member at fault; bounded.
        detail: String,
    },
    /// The authorization response (the redirect to the callback URL) or the
    /// pending login could not be used (RFC 6749 §4.1.2, RFC 9207).
    Authorization {
        /// What is wrong.
        problem: AuthorizationProblem,
        /// The server's error response in the redirect (`access_denied`,
        /// ...), when it sent one.
        server: Option<Box<ServerError>>,
        /// Details for people: bounded, secret-free.
        detail: String,
    },
    /// The ID token failed a check of OpenID Connect Core §3.1.3.7.
    IdToken {
        /// Which check.
        problem: IdTokenProblem,
        /// Details for people: claim names and expected values, never the
        /// token.
        detail: String,
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
        self.error_code().as_str()
    }

    /// The stable code of this error, as an [`ErrorCode`].
    pub fn error_code(&self) -> ErrorCode {
        match self {
            Error::InvalidConfig { .. } => ErrorCode::InvalidConfig,
            Error::OAuth(_) => ErrorCode::OAuthError,
            Error::ResponseNotJson { .. } => ErrorCode::ResponseNotJson,
            Error::InvalidTokenResponse { .. } => ErrorCode::InvalidTokenResponse,
            Error::UnsupportedTokenType { .. } => ErrorCode::UnsupportedTokenType,
            Error::HttpError { .. } => ErrorCode::HttpError,
            Error::UnexpectedRedirect { .. } => ErrorCode::UnexpectedRedirect,
            Error::ResponseTooLarge { .. } => ErrorCode::ResponseTooLarge,
            Error::Network { .. } => ErrorCode::NetworkError,
            Error::Timeout { .. } => ErrorCode::Timeout,
            Error::Aborted => ErrorCode::Aborted,
            Error::InvalidKey(problem) => problem.error_code(),
            Error::Signing { .. } => ErrorCode::SigningFailed,
            Error::InStep { error, .. } => error.error_code(),
            Error::Acp { problem, .. } => problem.error_code(),
            Error::Device { problem, .. } => problem.error_code(),
            Error::PromptFailed { .. } => ErrorCode::PromptFailed,
            Error::OriginNotAllowed { .. } => ErrorCode::OriginNotAllowed,
            Error::StoreFailed { .. } => ErrorCode::StoreFailed,
            Error::InvalidJwt { .. } => ErrorCode::InvalidJwt,
            Error::Discovery { problem, .. } => problem.error_code(),
            Error::FlowMisuse { .. } => ErrorCode::FlowMisuse,
            Error::InvalidIntrospectionResponse { .. } => ErrorCode::InvalidIntrospectionResponse,
            Error::DpopUnavailable { .. } => ErrorCode::DpopUnavailable,
            Error::Authorization { problem, .. } => problem.error_code(),
            Error::IdToken { problem, .. } => problem.error_code(),
        }
    }

    /// The HTTP status of the response behind this error, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::OAuth(e) => Some(e.status),
            Error::ResponseNotJson { status, .. }
            | Error::InvalidTokenResponse { status, .. }
            | Error::InvalidIntrospectionResponse { status, .. }
            | Error::HttpError { status, .. }
            | Error::UnexpectedRedirect { status, .. } => Some(*status),
            Error::InStep { error, .. } => error.status(),
            Error::Acp { status, .. } => *status,
            Error::Device { status, .. } => *status,
            Error::Discovery { status, .. } => *status,
            _ => None,
        }
    }

    pub(crate) fn config(field: ConfigField, reason: impl Into<String>) -> Self {
        Error::InvalidConfig {
            field,
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
            Error::UnsupportedTokenType {
                token_type,
                expected,
            } => {
                write!(
                    f,
                    "the server issued a token of type {token_type:?} where {expected} was asked for"
                )?;
                match *expected {
                    "DPoP" if token_type.eq_ignore_ascii_case("bearer") => f.write_str(
                        ": it did not bind the token to the DPoP key (RFC 9449 §5); enable DPoP for the client at the server, or turn dpop off to accept Bearer tokens",
                    ),
                    _ if token_type.eq_ignore_ascii_case("dpop") => {
                        f.write_str(": a DPoP-bound token is accepted only with the dpop option")
                    }
                    _ => Ok(()),
                }
            }
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
            Error::Discovery { problem, detail, .. } => {
                write!(f, "discovery: {}: {detail}", problem.describe())
            }
            Error::FlowMisuse { reason } => write!(f, "flow driven out of order: {reason}"),
            Error::InvalidIntrospectionResponse { status, reason } => {
                write!(f, "invalid introspection response (HTTP {status}): {reason}")
            }
            Error::DpopUnavailable { reason } => write!(f, "DPoP is unavailable: {reason}"),
            Error::Authorization {
                problem,
                server,
                detail,
            } => {
                write!(f, "{}", problem.describe())?;
                if let Some(server) = server {
                    write!(f, " ({})", ServerErrorInRedirect(server))?;
                }
                if !detail.is_empty() {
                    write!(f, ": {detail}")?;
                }
                Ok(())
            }
            Error::IdToken { problem, detail } => {
                write!(f, "ID token refused: {}: {detail}", problem.describe())
            }
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
        self.error_code().as_str()
    }

    /// The stable code of this problem, as an [`ErrorCode`].
    pub fn error_code(&self) -> ErrorCode {
        match self {
            KeyProblem::PublicOnly => ErrorCode::KeyPublicOnly,
            KeyProblem::TooSmall { .. } => ErrorCode::KeyTooSmall,
            KeyProblem::NotRsa { .. } => ErrorCode::KeyNotRsa,
            KeyProblem::Encrypted => ErrorCode::KeyEncrypted,
            KeyProblem::Malformed { .. } => ErrorCode::KeyMalformed,
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
        self.error_code().as_str()
    }

    /// The stable code of this problem, as an [`ErrorCode`].
    pub fn error_code(self) -> ErrorCode {
        match self {
            AcpProblem::SessionLost => ErrorCode::AcpSessionLost,
            AcpProblem::InvalidCredentials => ErrorCode::AcpInvalidCredentials,
            AcpProblem::StateMismatch => ErrorCode::AcpStateMismatch,
            AcpProblem::MissingField => ErrorCode::AcpMissingField,
            AcpProblem::UnexpectedResponse => ErrorCode::AcpUnexpectedResponse,
            AcpProblem::BadPublicKey => ErrorCode::AcpBadPublicKey,
            AcpProblem::PasswordTooLong => ErrorCode::AcpPasswordTooLong,
            AcpProblem::CrossOrigin => ErrorCode::AcpCrossOrigin,
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
        self.error_code().as_str()
    }

    /// The stable code of this problem, as an [`ErrorCode`].
    pub fn error_code(self) -> ErrorCode {
        match self {
            DeviceProblem::AccessDenied => ErrorCode::DeviceAccessDenied,
            DeviceProblem::ExpiredToken => ErrorCode::DeviceExpiredToken,
            DeviceProblem::CodeExpired => ErrorCode::DeviceCodeExpired,
            DeviceProblem::InvalidResponse => ErrorCode::DeviceInvalidResponse,
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

/// Why the authorization server's metadata could not be used. Each has its
/// own error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DiscoveryProblem {
    /// The document's `issuer` is not the issuer asked for.
    IssuerMismatch,
    /// The document names a plain-`http` endpoint off loopback.
    InsecureEndpoint,
    /// Not a JSON object with a string `issuer`, or a member is malformed.
    InvalidDocument,
    /// The document names no endpoint the flow needs.
    MissingEndpoint,
    /// Neither well-known URL has a document (both answered 404).
    NotFound,
}

impl DiscoveryProblem {
    /// The stable code of this problem.
    pub fn code(self) -> &'static str {
        self.error_code().as_str()
    }

    /// The stable code of this problem, as an [`ErrorCode`].
    pub fn error_code(self) -> ErrorCode {
        match self {
            DiscoveryProblem::IssuerMismatch => ErrorCode::DiscoveryIssuerMismatch,
            DiscoveryProblem::InsecureEndpoint => ErrorCode::DiscoveryInsecureEndpoint,
            DiscoveryProblem::InvalidDocument => ErrorCode::DiscoveryInvalidDocument,
            DiscoveryProblem::MissingEndpoint => ErrorCode::DiscoveryMissingEndpoint,
            DiscoveryProblem::NotFound => ErrorCode::DiscoveryNotFound,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            DiscoveryProblem::IssuerMismatch => "the metadata names another issuer",
            DiscoveryProblem::InsecureEndpoint => "the metadata names a plain-http endpoint",
            DiscoveryProblem::InvalidDocument => "invalid metadata document",
            DiscoveryProblem::MissingEndpoint => "the metadata lacks an endpoint the flow needs",
            DiscoveryProblem::NotFound => "no metadata document at either well-known URL",
        }
    }
}

/// Why the authorization response or the pending login could not be used.
/// Each has its own error code, except [`AuthorizationProblem::Denied`],
/// which is an OAuth error (`OAUTH_ERROR`) like a token endpoint's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthorizationProblem {
    /// The redirect's `state` is not the pending login's.
    StateMismatch,
    /// The redirect's `iss` is not the issuer, or is missing where the
    /// server announced it (RFC 9207 §2.4).
    IssuerMismatch,
    /// No `code`, a parameter repeated, or not a URL.
    InvalidResponse,
    /// The pending login is missing, unreadable, or from another client.
    PendingInvalid,
    /// The server sent an error in the redirect (RFC 6749 §4.1.2.1).
    Denied,
    /// There is no refresh token left: only a new sign-in gives tokens.
    LoginRequired,
}

impl AuthorizationProblem {
    /// The stable code of this problem, as an [`ErrorCode`].
    pub fn error_code(self) -> ErrorCode {
        match self {
            AuthorizationProblem::StateMismatch => ErrorCode::AuthorizationStateMismatch,
            AuthorizationProblem::IssuerMismatch => ErrorCode::AuthorizationIssuerMismatch,
            AuthorizationProblem::InvalidResponse => ErrorCode::AuthorizationInvalidResponse,
            AuthorizationProblem::PendingInvalid => ErrorCode::AuthorizationPendingInvalid,
            AuthorizationProblem::Denied => ErrorCode::OAuthError,
            AuthorizationProblem::LoginRequired => ErrorCode::LoginRequired,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            AuthorizationProblem::StateMismatch => {
                "the state in the redirect is not the pending login's"
            }
            AuthorizationProblem::IssuerMismatch => {
                "the iss in the redirect is not the expected issuer (RFC 9207)"
            }
            AuthorizationProblem::InvalidResponse => "invalid authorization response",
            AuthorizationProblem::PendingInvalid => "the pending login cannot be used",
            AuthorizationProblem::Denied => "the authorization server refused the authorization",
            AuthorizationProblem::LoginRequired => "a new sign-in is required",
        }
    }
}

/// Which check of OpenID Connect Core §3.1.3.7 an ID token failed. Each
/// has its own error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdTokenProblem {
    /// No `id_token` in the token response although `openid` was asked for.
    Missing,
    /// Not a signed JWT grantkit reads, or a claim of the wrong type.
    Invalid,
    /// `alg` is neither RS256 nor ES256.
    UnsupportedAlg,
    /// `iss` is not the issuer.
    IssuerMismatch,
    /// `aud` does not contain the client id.
    AudienceMismatch,
    /// `azp` is not the client id, or missing with several audiences.
    AzpMismatch,
    /// `exp` has passed.
    Expired,
    /// `iat` is in the future beyond the allowed skew.
    IssuedInFuture,
    /// `nonce` is not the pending login's.
    NonceMismatch,
    /// The JWKS has no usable key for the token's `kid` and `alg`.
    NoKey,
    /// The signature does not verify.
    BadSignature,
    /// The JWKS document is not a JWK Set.
    InvalidJwks,
}

impl IdTokenProblem {
    /// The stable code of this problem, as an [`ErrorCode`].
    pub fn error_code(self) -> ErrorCode {
        match self {
            IdTokenProblem::Missing => ErrorCode::IdTokenMissing,
            IdTokenProblem::Invalid => ErrorCode::IdTokenInvalid,
            IdTokenProblem::UnsupportedAlg => ErrorCode::IdTokenUnsupportedAlg,
            IdTokenProblem::IssuerMismatch => ErrorCode::IdTokenIssuerMismatch,
            IdTokenProblem::AudienceMismatch => ErrorCode::IdTokenAudienceMismatch,
            IdTokenProblem::AzpMismatch => ErrorCode::IdTokenAzpMismatch,
            IdTokenProblem::Expired => ErrorCode::IdTokenExpired,
            IdTokenProblem::IssuedInFuture => ErrorCode::IdTokenIssuedInFuture,
            IdTokenProblem::NonceMismatch => ErrorCode::IdTokenNonceMismatch,
            IdTokenProblem::NoKey => ErrorCode::IdTokenNoKey,
            IdTokenProblem::BadSignature => ErrorCode::IdTokenBadSignature,
            IdTokenProblem::InvalidJwks => ErrorCode::JwksInvalid,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            IdTokenProblem::Missing => "the token response has no id_token",
            IdTokenProblem::Invalid => "not a signed JWT",
            IdTokenProblem::UnsupportedAlg => "unsupported signing algorithm",
            IdTokenProblem::IssuerMismatch => "iss is not the issuer",
            IdTokenProblem::AudienceMismatch => "aud does not contain the client id",
            IdTokenProblem::AzpMismatch => "azp is not the client id",
            IdTokenProblem::Expired => "it has expired",
            IdTokenProblem::IssuedInFuture => "iat is in the future",
            IdTokenProblem::NonceMismatch => "nonce is not the login's",
            IdTokenProblem::NoKey => "no usable key in the issuer's JWKS",
            IdTokenProblem::BadSignature => "the signature does not verify",
            IdTokenProblem::InvalidJwks => "the issuer's JWKS is not a JWK Set",
        }
    }
}

/// A server error from a redirect: `error` and `error_description`, without
/// an HTTP status (there was no response of the server's own).
struct ServerErrorInRedirect<'a>(&'a ServerError);

impl fmt::Display for ServerErrorInRedirect<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", text::escape(&self.0.error, 100))?;
        if let Some(description) = &self.0.error_description {
            write!(f, ": {}", text::escape(description, text::MAX_FIELD_CHARS))?;
        }
        Ok(())
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

/// The members of a JavaScript `GrantkitError` besides its message: the
/// driver sets them from [`Error::members`], and the TypeScript declaration
/// of the class takes them from this type.
#[derive(Debug, PartialEq, serde::Serialize, tsify::Tsify)]
pub struct ErrorMembers<'a> {
    /// The stable code; compare with the constants, e.g. GrantkitError.OAUTH_ERROR.
    #[tsify(type = "GrantkitErrorCode")]
    pub code: &'static str,
    /// HTTP status, when a response caused the error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// OAUTH_ERROR and the device flow's ends: the server's error code (invalid_client, access_denied, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'a str>,
    /// The server's error_description, verbatim (escape it before printing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<&'a str>,
    /// The server's error_uri, verbatim.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_uri: Option<&'a str>,
    /// The whole error body, vendor members included (Entra's error_codes, trace_id, correlation_id).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(type = "Record<string, unknown>")]
    pub body: Option<&'a Map<String, Value>>,
    /// INVALID_CONFIG: the option at fault ("options" for the options object as a whole).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// AcpLogin: which of the five calls failed (1-5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<u8>,
}

impl Error {
    /// The structured members of the error, as JavaScript sees them.
    pub fn members(&self) -> ErrorMembers<'_> {
        let (step, inner) = match self {
            Error::InStep { step, error, .. } => (Some(*step), error.as_ref()),
            other => (None, other),
        };
        let server = match inner {
            Error::OAuth(server)
            | Error::Device {
                server: Some(server),
                ..
            }
            | Error::Authorization {
                server: Some(server),
                ..
            } => Some(server.as_ref()),
            _ => None,
        };
        ErrorMembers {
            code: self.code(),
            status: self.status(),
            error: server.map(|s| s.error.as_str()),
            error_description: server.and_then(|s| s.error_description.as_deref()),
            error_uri: server.and_then(|s| s.error_uri.as_deref()),
            body: server.map(|s| &s.body),
            field: match inner {
                Error::InvalidConfig { field, .. } => Some(field.name()),
                _ => None,
            },
            step,
        }
    }
}
