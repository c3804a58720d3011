//! Token responses (RFC 6749 §5.1) and error responses (§5.2).

use crate::error::{Error, ServerError};
use crate::http::HttpResponse;
use crate::redact::Redactor;
use crate::secret::Secret;
use crate::time::UnixTime;
use serde_json::{Map, Value};
use std::fmt;

/// The tokens a server issued, as RFC 6749 §5.1 names them.
#[derive(Clone, PartialEq)]
pub struct TokenSet {
    /// The access token.
    pub access_token: Secret,
    /// `Bearer`, or `DPoP` when DPoP-bound tokens were asked for (RFC 9449
    /// §5): the server's `token_type`, compared case-insensitively and
    /// normalised; any other type is refused.
    pub token_type: String,
    /// Lifetime in seconds, as sent (a number or a numeric string).
    pub expires_in: Option<u64>,
    /// When the access token expires: `now + expires_in`.
    pub expires_at: Option<UnixTime>,
    /// The refresh token, if one was issued.
    pub refresh_token: Option<Secret>,
    /// The OpenID Connect ID token, if one was issued.
    pub id_token: Option<Secret>,
    /// The granted scope, if the server said.
    pub scope: Option<String>,
    /// The whole response object, for vendor members (ACP's `expire_at`,
    /// Entra's `ext_expires_in`). It holds the tokens too: never print it.
    pub raw: Map<String, Value>,
}

impl fmt::Debug for TokenSet {
    /// Prints everything but the tokens; of `raw`, only the member names.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &self.access_token)
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("expires_at", &self.expires_at)
            .field("refresh_token", &self.refresh_token)
            .field("id_token", &self.id_token)
            .field("scope", &self.scope)
            .field("raw", &self.raw.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Reads the response of a token endpoint.
///
/// `now` turns `expires_in` into `expires_at`; `redactor` removes the flow's
/// secrets from whatever part of the body goes into an error; `dpop` says
/// whether the request asked for a DPoP-bound token, which is then the only
/// type accepted, as Bearer is otherwise.
pub fn parse_token_response(
    response: &HttpResponse,
    now: UnixTime,
    redactor: &Redactor,
    dpop: bool,
) -> Result<TokenSet, Error> {
    let status = response.status;
    let invalid = |reason: String| Error::InvalidTokenResponse { status, reason };
    let body = match parse_json(response, redactor)? {
        Value::Object(body) if response.is_success() => body,
        _ if !response.is_success() => {
            return Err(Error::HttpError {
                status,
                excerpt: redactor.excerpt(&response.body),
            })
        }
        _ => return Err(invalid("the response is JSON but not an object".into())),
    };

    let access_token = match body.get("access_token") {
        Some(Value::String(token)) if !token.is_empty() => Secret::new(token.as_str()),
        Some(_) => return Err(invalid("access_token is not a non-empty string".into())),
        None => {
            return Err(invalid(format!(
                "the response has no access_token (members: {})",
                member_names(&body, redactor)
            )))
        }
    };
    // RFC 6749 §5.1: token_type is REQUIRED, and §7.1: the client MUST NOT
    // use a token whose type it does not understand. "The value is case
    // insensitive."
    // RFC 9449 §5: a DPoP-bound token has the type DPoP; a client that
    // asked for one and got a Bearer token has no binding, which dpop was
    // set to have, and one that did not ask cannot use a bound one.
    let expected = if dpop { "DPoP" } else { "Bearer" };
    let token_type = match body.get("token_type") {
        Some(Value::String(t)) if t.eq_ignore_ascii_case(expected) => expected.to_owned(),
        Some(Value::String(t)) => {
            return Err(Error::UnsupportedTokenType {
                token_type: redactor.scrub(&t.chars().take(40).collect::<String>()),
                expected,
            })
        }
        Some(_) => return Err(invalid("token_type is not a string".into())),
        None => {
            return Err(invalid(
                "the response has no token_type (RFC 6749 §5.1)".into(),
            ))
        }
    };
    let expires_in = whole_seconds(body.get("expires_in"))
        .map_err(|()| invalid("expires_in is not a non-negative whole number".into()))?;
    let optional_secret = |name: &str| match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(Secret::new(s.as_str()))),
        Some(_) => Err(invalid(format!("{name} is not a string"))),
    };
    let refresh_token = optional_secret("refresh_token")?;
    let id_token = optional_secret("id_token")?;
    // RFC 6749 Appendix A.12 and A.17: access-token and refresh-token =
    // 1*VSCHAR, VSCHAR = %x20-7E. A token with a control character would
    // break the Authorization header, a log line or the CLI's one line.
    // An ID token is a JWS compact serialization: base64url and dots.
    for (name, token) in [
        ("access_token", Some(&access_token)),
        ("refresh_token", refresh_token.as_ref()),
        ("id_token", id_token.as_ref()),
    ] {
        if token.is_some_and(|t| !is_vschar(t.expose())) {
            return Err(invalid(format!(
                "{name} has characters outside %x20-7E (RFC 6749 Appendix A: VSCHAR)"
            )));
        }
    }
    let scope = match body.get("scope") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(invalid("scope is not a string".into())),
    };
    Ok(TokenSet {
        access_token,
        token_type,
        expires_in,
        expires_at: expires_in.map(|secs| now.plus_secs(secs)),
        refresh_token,
        id_token,
        scope,
        raw: body,
    })
}

/// Reads a JSON body, turning redirects, non-JSON bodies and OAuth error
/// bodies into errors. Any status is accepted otherwise.
pub(crate) fn parse_json(response: &HttpResponse, redactor: &Redactor) -> Result<Value, Error> {
    let status = response.status;
    if response.is_redirect() {
        return Err(Error::UnexpectedRedirect {
            status,
            // A Location may echo what was sent (found by fuzzing): the
            // secrets are looked for in it as in any server text.
            location: response
                .header("location")
                .map(|location| redactor.scrub(&origin_and_path(location))),
        });
    }
    // RFC 8259 §8.1: a parser "MAY ignore the presence of a byte order mark".
    let json = response
        .body
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(&response.body);
    let Ok(body) = serde_json::from_slice::<Value>(json) else {
        return Err(Error::ResponseNotJson {
            status,
            content_type: response
                .header("content-type")
                .map(|ct| redactor.scrub(&ct.chars().take(100).collect::<String>())),
            // A 2xx body is where tokens are: never quote it.
            excerpt: (!response.is_success()).then(|| redactor.excerpt(&response.body)),
        });
    };
    // RFC 6749 §5.2: an error response has a string `error`. Some servers
    // send one with a 2xx status; it is still an error.
    let (error, mut body) = match body {
        Value::Object(map) => match map.get("error") {
            Some(Value::String(error)) => (error.clone(), map),
            _ => return Ok(Value::Object(map)),
        },
        other => return Ok(other),
    };
    redactor.scrub_object(&mut body);
    // A registered error code is public text, never a secret: keep it exact
    // even when a (short) secret happens to occur in it.
    let error = if is_registered_error_code(&error) {
        error
    } else {
        redactor.scrub(&error)
    };
    body.insert("error".into(), Value::String(error.clone()));
    Err(Error::OAuth(Box::new(ServerError::from_body(
        status, error, body,
    ))))
}

/// Error codes of the IANA "OAuth Extensions Error Registry" and RFC 6749,
/// 6750, 8628 and OpenID Connect Core that a token endpoint may return.
fn is_registered_error_code(code: &str) -> bool {
    const CODES: [&str; 20] = [
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
        "access_denied",
        "server_error",
        "temporarily_unavailable",
        "invalid_token",
        "insufficient_scope",
        "authorization_pending",
        "slow_down",
        "expired_token",
        "invalid_target",
        "unsupported_token_type",
        "invalid_dpop_proof",
        "use_dpop_nonce",
        "interaction_required",
        "invalid_client_metadata",
    ];
    CODES.contains(&code)
}

/// A count of seconds (`expires_in`, `interval`): a whole number, written
/// as an integer or not (`600.0`), or a numeric string as Entra's v1
/// endpoint sends. Absent or `null` is `None`; anything else is `Err`.
pub(crate) fn whole_seconds(value: Option<&Value>) -> Result<Option<u64>, ()> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match (n.as_u64(), n.as_f64()) {
            (Some(secs), _) => Ok(Some(secs)),
            (None, Some(f)) if f >= 0.0 && f.fract() == 0.0 && f < 1e15 => Ok(Some(f as u64)),
            _ => Err(()),
        },
        Some(Value::String(s)) => s.trim().parse::<u64>().map(Some).map_err(|_| ()),
        Some(_) => Err(()),
    }
}

/// RFC 6749 Appendix A: `1*VSCHAR`, VSCHAR = %x20-7E.
pub(crate) fn is_vschar(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|b| (0x20..=0x7E).contains(&b))
}

/// `1*NQCHAR`, NQCHAR = %x21 / %x23-5B / %x5D-7E (RFC 6749 Appendix A): a
/// scope token (§3.3) and a DPoP nonce (RFC 9449 §8.1).
pub(crate) fn is_nqchars(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// The member names of a body, bounded, for error messages.
fn member_names(body: &Map<String, Value>, redactor: &Redactor) -> String {
    let mut names: Vec<String> = body
        .keys()
        .take(10)
        .map(|k| redactor.scrub(&k.chars().take(40).collect::<String>()))
        .collect();
    if body.len() > 10 {
        names.push("…".into());
    }
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// A `Location` without query or fragment: enough to see where a redirect
/// went without copying codes or tokens into an error.
fn origin_and_path(location: &str) -> String {
    let end = location.find(['?', '#']).unwrap_or(location.len());
    location
        .get(..end)
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect()
}
