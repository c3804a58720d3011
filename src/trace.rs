//! The exchange trace: each HTTP exchange of a flow as a record for people
//! (the diagnostic page, `grantkit --trace`), with every secret masked at
//! the source, and the same request as a `curl` command whose secrets are
//! shell variables.
//!
//! Masking goes by what each part is, not by searching for known values:
//! `client_secret` and `password` become `••••`; a Basic header keeps only
//! its scheme; assertions become their decoded header and claims; tokens,
//! codes and the ACP login's encrypted password keep a short prefix;
//! cookies keep their names. Then, as a backstop, any text still holding
//! one of the flow's secrets (a server echoing the request) is withheld
//! whole ([`Redactor::scrub`]).

use crate::error::Error;
use crate::http::{form_urldecode, form_urldecode_part, HttpRequest, HttpResponse, Method};
use crate::redact::Redactor;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Serialize;
use serde_json::Value;
use tsify::Tsify;
use zeroize::Zeroizing;

/// What a masked secret shows.
pub const MASK: &str = "••••";

/// How many characters of a token a trace shows.
const TOKEN_PREFIX_CHARS: usize = 10;

/// The most of a body a trace shows.
const MAX_BODY_CHARS: usize = 65_536;

/// One HTTP exchange, secrets masked: what `onExchange` is called with.
#[derive(Clone, Debug, PartialEq, Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct Exchange {
    /// What the request is: "token request (client_credentials)", "device authorization request", "token poll", "ACP step 3 (public key)", "API call".
    pub label: String,
    /// The method.
    pub method: String,
    /// The URL.
    pub url: String,
    /// The request headers, secrets masked ("Authorization: Basic ••••").
    pub request_headers: Vec<(String, String)>,
    /// The request body, secrets masked (client_secret=••••, password=••••, assertions as their decoded header and claims, tokens and codes as a prefix); absent when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_body: Option<String>,
    /// The HTTP status; absent when no response came.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The response headers, cookie values masked.
    pub response_headers: Vec<(String, String)>,
    /// The response body, tokens as a prefix; absent when none came or it was not read (an API call's body is the caller's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_body: Option<String>,
    /// Milliseconds from sending the request to its response (or failure).
    pub duration_ms: u64,
    /// When no response came: what happened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The same request as a curl command; its secrets are shell variables ("$CLIENT_SECRET").
    pub curl: String,
}

/// How an exchange ended.
#[derive(Clone, Copy, Debug)]
pub enum Outcome<'a> {
    /// A response, body read.
    Response(&'a HttpResponse),
    /// A response whose body belongs to the caller (an API call).
    ResponseUnread(&'a HttpResponse),
    /// No response.
    Failed(&'a Error),
}

/// What a request parameter or JSON member is, for masking.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Shown as is.
    Plain,
    /// Shown as [`MASK`].
    Secret,
    /// Shown as a prefix.
    Token,
    /// A JWT assertion: shown as its decoded header and claims.
    Assertion,
}

/// The kind of a form parameter or JSON member, and the shell variable that
/// stands for it in a curl command.
fn kind_of(name: &str) -> (Kind, &'static str) {
    match name {
        "client_secret" => (Kind::Secret, "CLIENT_SECRET"),
        "password" => (Kind::Secret, "PASSWORD"),
        "code_verifier" => (Kind::Secret, "CODE_VERIFIER"),
        "client_assertion" => (Kind::Assertion, "CLIENT_ASSERTION"),
        "assertion" => (Kind::Assertion, "ASSERTION"),
        "refresh_token" => (Kind::Token, "REFRESH_TOKEN"),
        "access_token" => (Kind::Token, "ACCESS_TOKEN"),
        "id_token" => (Kind::Token, "ID_TOKEN"),
        "device_code" => (Kind::Token, "DEVICE_CODE"),
        "code" => (Kind::Token, "CODE"),
        "subject_token" => (Kind::Token, "SUBJECT_TOKEN"),
        "actor_token" => (Kind::Token, "ACTOR_TOKEN"),
        // The token of a revocation or introspection request (RFC 7009,
        // RFC 7662).
        "token" => (Kind::Token, "TOKEN"),
        _ => (Kind::Plain, ""),
    }
}

/// What a header is, for masking it and for writing it in a curl command.
#[derive(Clone, Copy, PartialEq, Eq)]
enum HeaderKind {
    /// `Authorization`: its scheme is kept.
    Authorization,
    /// `Proxy-Authorization`: masked as `Authorization` is; a credential
    /// of its own in a curl command.
    ProxyAuthorization,
    /// `Cookie`: the cookies' names are kept.
    Cookie,
    /// `DPoP`: a proof (RFC 9449), shown as its decoded header and claims
    /// (what it was made for), its signature masked, as assertions are.
    Proof,
    /// Another header that carries a credential (its name says so):
    /// masked whatever its value.
    Credential,
    /// Shown as is.
    Plain,
}

fn header_kind(name: &str) -> HeaderKind {
    let name = name.to_ascii_lowercase();
    match name.as_str() {
        "authorization" => HeaderKind::Authorization,
        "proxy-authorization" => HeaderKind::ProxyAuthorization,
        "cookie" => HeaderKind::Cookie,
        "dpop" => HeaderKind::Proof,
        _ if ["key", "secret", "token", "password", "session"]
            .iter()
            .any(|word| name.contains(word)) =>
        {
            HeaderKind::Credential
        }
        _ => HeaderKind::Plain,
    }
}

impl Exchange {
    /// The record of `request` and how it ended, `duration_ms` after it was
    /// sent. `redactor` holds the flow's secrets, for the backstop.
    pub fn new(
        label: impl Into<String>,
        request: &HttpRequest,
        outcome: Outcome<'_>,
        duration_ms: u64,
        redactor: &Redactor,
    ) -> Exchange {
        let scrub = |text: String| redactor.scrub(&text);
        let request_headers = request
            .headers
            .iter()
            .map(|(name, value)| (name.clone(), scrub(mask_header(name, value))))
            .collect();
        let request_body = request
            .body
            .as_deref()
            .filter(|body| !body.is_empty())
            .map(|body| scrub(mask_body(request, body)));
        let (response, body_read, error) = match outcome {
            Outcome::Response(response) => (Some(response), true, None),
            Outcome::ResponseUnread(response) => (Some(response), false, None),
            Outcome::Failed(error) => (None, false, Some(error.to_string())),
        };
        let response_headers = response
            .map(|r| {
                let headers = r
                    .headers
                    .iter()
                    .map(|(name, value)| (name.clone(), scrub(mask_header(name, value))));
                let cookies = r
                    .set_cookies
                    .iter()
                    .map(|cookie| ("Set-Cookie".to_owned(), scrub(mask_set_cookie(cookie))));
                headers.chain(cookies).collect()
            })
            .unwrap_or_default();
        let response_body = response
            .filter(|r| body_read && !r.body.is_empty())
            .map(|r| scrub(mask_response_body(&r.body)));
        Exchange {
            label: label.into(),
            method: request.method.as_str().to_owned(),
            url: scrub(request.url.clone()),
            request_headers,
            request_body,
            status: response.map(|r| r.status),
            response_headers,
            response_body,
            duration_ms,
            error: error.map(scrub),
            curl: scrub(curl(request)),
        }
    }
}

/// How a trace names a request its flow did not name: by its grant type.
pub fn default_label(request: &HttpRequest) -> String {
    let grant_type = form_urldecode(request.body_text())
        .into_iter()
        .find(|(name, _)| name == "grant_type")
        .map(|(_, value)| value);
    match grant_type.as_deref() {
        Some("urn:ietf:params:oauth:grant-type:device_code") => "token poll".to_owned(),
        // The IETF's grant type URNs (jwt-bearer, token-exchange) by their
        // last part.
        Some(grant_type) => format!(
            "token request ({})",
            grant_type
                .strip_prefix("urn:ietf:params:oauth:grant-type:")
                .unwrap_or(grant_type)
        ),
        None => "request".to_owned(),
    }
}

fn mask_header(name: &str, value: &str) -> String {
    match header_kind(name) {
        HeaderKind::Cookie => value
            .split(';')
            .map(|pair| match pair.trim().split_once('=') {
                Some((cookie, _)) => format!("{cookie}={MASK}"),
                None => MASK.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("; "),
        HeaderKind::Authorization | HeaderKind::ProxyAuthorization => match value.split_once(' ') {
            Some((scheme, token))
                if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("dpop") =>
            {
                format!("{scheme} {}", token_prefix(token))
            }
            Some((scheme, _)) => format!("{scheme} {MASK}"),
            None => MASK.to_owned(),
        },
        HeaderKind::Proof => describe_assertion(value),
        HeaderKind::Credential => MASK.to_owned(),
        HeaderKind::Plain => value.to_owned(),
    }
}

fn mask_set_cookie(cookie: &str) -> String {
    let (pair, attributes) = cookie.split_once(';').unwrap_or((cookie, ""));
    let name = pair.split_once('=').map_or(pair, |(name, _)| name).trim();
    if attributes.is_empty() {
        format!("{name}={MASK}")
    } else {
        format!("{name}={MASK};{attributes}")
    }
}

/// A token as a prefix: enough to tell tokens apart, never enough to use.
fn token_prefix(token: &str) -> String {
    let chars = token.chars().count();
    if chars < 4 * TOKEN_PREFIX_CHARS {
        return MASK.to_owned();
    }
    let prefix: String = token.chars().take(TOKEN_PREFIX_CHARS).collect();
    format!("{prefix}…")
}

/// An assertion as its decoded header and claims (which are not secret:
/// issuer, audience, expiry); the signature is masked.
fn describe_assertion(jwt: &str) -> String {
    match crate::jwt::decode_unverified(jwt) {
        Ok(decoded) => format!(
            "JWT {} {} signature {MASK}",
            Value::Object(decoded.header),
            Value::Object(decoded.claims)
        ),
        Err(_) => token_prefix(jwt),
    }
}

fn mask_value(kind: Kind, value: &str) -> String {
    match kind {
        Kind::Plain => value.to_owned(),
        Kind::Secret => MASK.to_owned(),
        Kind::Token => token_prefix(value),
        Kind::Assertion => describe_assertion(value),
    }
}

fn is_json(request: &HttpRequest) -> bool {
    request
        .header("content-type")
        .is_some_and(|t| t.to_ascii_lowercase().contains("json"))
}

fn mask_body(request: &HttpRequest, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    if is_json(request) {
        return match serde_json::from_str::<Value>(&text) {
            Ok(mut value) => {
                mask_json(&mut value, true);
                value.to_string()
            }
            Err(_) => bounded(&text),
        };
    }
    form_urldecode(&text)
        .into_iter()
        .map(|(name, value)| {
            let (kind, _) = kind_of(&name);
            match kind {
                Kind::Plain => format!(
                    "{}={}",
                    crate::http::form_urlencode(&name),
                    crate::http::form_urlencode(&value)
                ),
                _ => format!(
                    "{}={}",
                    crate::http::form_urlencode(&name),
                    mask_value(kind, &value)
                ),
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Masks a JSON value's members by name, at any depth. In a request body a
/// `password` member is the ACP login's encrypted password: a prefix.
fn mask_json(value: &mut Value, request: bool) {
    match value {
        Value::Object(map) => {
            for (name, member) in map.iter_mut() {
                match (kind_of(name).0, member) {
                    (Kind::Secret, Value::String(s)) if request && name == "password" => {
                        *s = token_prefix(s)
                    }
                    (Kind::Plain, member) => mask_json(member, request),
                    (kind, Value::String(s)) => *s = mask_value(kind, s),
                    (_, member) => *member = Value::String(MASK.to_owned()),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| mask_json(v, request)),
        _ => {}
    }
}

fn mask_response_body(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    match serde_json::from_str::<Value>(&text) {
        Ok(mut value) => {
            mask_json(&mut value, false);
            value.to_string()
        }
        Err(_) => bounded(&text),
    }
}

fn bounded(text: &str) -> String {
    if text.chars().count() <= MAX_BODY_CHARS {
        return text.to_owned();
    }
    let head: String = text.chars().take(MAX_BODY_CHARS).collect();
    format!("{head}… (cut at {MAX_BODY_CHARS} characters)")
}

/// A shell word: single-quoted, `'` written as `'\''`.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// `prefix` then a shell variable, as one word: `'client_secret='"$CLIENT_SECRET"`.
fn with_variable(prefix: &str, variable: &str) -> String {
    format!("{}\"${variable}\"", quote(prefix))
}

/// The request as a curl command; secrets are shell variables.
fn curl(request: &HttpRequest) -> String {
    let mut words = vec!["curl".to_owned(), "-sS".to_owned()];
    match request.method {
        // -X HEAD would wait for a body that never comes.
        Method::Head => words.push("-I".to_owned()),
        Method::Get if request.body.is_none() => {}
        method => words.push(format!("-X {}", method.as_str())),
    }
    words.push(quote(&request.url));
    for (name, value) in &request.headers {
        match header_kind(name) {
            HeaderKind::Authorization => match value.split_once(' ') {
                Some((scheme, credentials)) if scheme.eq_ignore_ascii_case("basic") => {
                    // RFC 6749 §2.3.1: the id and secret are form-encoded
                    // before base64, and curl --user sends them as given:
                    // the id goes in encoded, and where encoding changes
                    // the secret the variable says it wants it encoded.
                    let pair = Zeroizing::new(
                        STANDARD
                            .decode(credentials.trim())
                            .ok()
                            .and_then(|raw| String::from_utf8(raw).ok())
                            .unwrap_or_default(),
                    );
                    let (id, secret) = pair.split_once(':').unwrap_or_default();
                    let variable = if form_urldecode_part(secret) == secret {
                        "CLIENT_SECRET"
                    } else {
                        "CLIENT_SECRET_FORM_ENCODED"
                    };
                    words.push(format!(
                        "--user {}",
                        with_variable(&format!("{id}:"), variable)
                    ));
                }
                Some((scheme, _)) => words.push(format!(
                    "-H {}",
                    with_variable(&format!("{name}: {scheme} "), "ACCESS_TOKEN")
                )),
                None => words.push(format!(
                    "-H {}",
                    with_variable(&format!("{name}: "), "AUTHORIZATION")
                )),
            },
            HeaderKind::Cookie => words.push(format!("-H {}", with_variable("Cookie: ", "COOKIE"))),
            HeaderKind::ProxyAuthorization | HeaderKind::Proof | HeaderKind::Credential => {
                let variable: String = name
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() {
                            c.to_ascii_uppercase()
                        } else {
                            '_'
                        }
                    })
                    .collect();
                words.push(format!(
                    "-H {}",
                    with_variable(&format!("{name}: "), &variable)
                ));
            }
            HeaderKind::Plain => words.push(format!("-H {}", quote(&format!("{name}: {value}")))),
        }
    }
    let body = request.body_text();
    if request.body.is_some() && is_json(request) {
        words.push(format!("--data-raw {}", json_words(body)));
    } else if request.body.is_some() {
        for (name, value) in form_urldecode(body) {
            let (kind, variable) = kind_of(&name);
            let word = match kind {
                Kind::Plain => quote(&format!("{name}={value}")),
                _ => with_variable(&format!("{name}="), variable),
            };
            words.push(format!("--data-urlencode {word}"));
        }
    }
    words.join(" \\\n  ")
}

/// A JSON body for `--data-raw`, with a secret member's value a shell
/// variable (the ACP login's encrypted password).
fn json_words(body: &str) -> String {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(body) else {
        return quote(body);
    };
    let mut out = String::from("'{");
    for (i, (name, value)) in map.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let name_json = Value::String(name.clone()).to_string();
        let (kind, variable) = kind_of(name);
        if kind != Kind::Plain && value.is_string() {
            // In a JSON body (the ACP login), the password is encrypted.
            let variable = if name == "password" {
                "ENCRYPTED_PASSWORD"
            } else {
                variable
            };
            out.push_str(&format!(
                "{}:\"'\"${variable}\"'\"",
                name_json.replace('\'', r"'\''")
            ));
        } else {
            out.push_str(&format!("{name_json}:{value}").replace('\'', r"'\''"));
        }
    }
    out.push_str("}'");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    #[test]
    fn the_acp_credentials_step_shortens_the_encrypted_password_and_masks_cookies() {
        let encrypted = "Q2lwaGVydGV4dC1vZi10aGUtcGFzc3dvcmQtcnNhLXBrY3MxLXYxLjUtMjU2LWJ5dGVz";
        let request = HttpRequest {
            method: Method::Post,
            url: "https://acp.example/dex/api/v1/authorize/local?req=abc".into(),
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                (
                    "Cookie".into(),
                    "dex_session=SESSION-VALUE-1; other=x".into(),
                ),
            ],
            body: Some(format!(r#"{{"account":"it's me","password":"{encrypted}"}}"#).into_bytes()),
        };
        let mut response = HttpResponse::new(302, "");
        response.set_cookies = vec!["dex_session=SESSION-VALUE-2; Path=/; HttpOnly".into()];
        let redactor = Redactor::new([&Secret::new("SESSION-VALUE-1")]);
        let exchange = Exchange::new(
            "ACP step 4 (credentials)",
            &request,
            Outcome::Response(&response),
            12,
            &redactor,
        );
        assert_eq!(
            exchange.request_headers,
            [
                ("Content-Type".to_owned(), "application/json".to_owned()),
                (
                    "Cookie".to_owned(),
                    "dex_session=••••; other=••••".to_owned()
                ),
            ]
        );
        assert_eq!(
            exchange.request_body.as_deref(),
            Some(r#"{"account":"it's me","password":"Q2lwaGVydG…"}"#)
        );
        assert_eq!(
            exchange.response_headers,
            [(
                "Set-Cookie".to_owned(),
                "dex_session=••••; Path=/; HttpOnly".to_owned()
            )]
        );
        assert_eq!(exchange.response_body, None);
        assert_eq!(
            exchange.curl,
            "curl \\\n  -sS \\\n  -X POST \\\n  'https://acp.example/dex/api/v1/authorize/local?req=abc' \\\n  -H 'Content-Type: application/json' \\\n  -H 'Cookie: '\"$COOKIE\" \\\n  --data-raw '{\"account\":\"it'\\''s me\",\"password\":\"'\"$ENCRYPTED_PASSWORD\"'\"}'"
        );
        let text = serde_json::to_string(&exchange).unwrap_or_default();
        for secret in [encrypted, "SESSION-VALUE-1", "SESSION-VALUE-2"] {
            assert!(!text.contains(secret), "{secret}");
        }
    }

    #[test]
    fn api_calls_mask_credential_headers_and_keep_the_others() {
        let request = HttpRequest {
            method: Method::Get,
            url: "https://api.example/items".into(),
            headers: vec![
                ("authorization".into(), format!("Bearer {}", "t".repeat(60))),
                ("Ocp-Apim-Subscription-Key".into(), "sub-key-1".into()),
                ("x-api-caller-id".into(), "ops@example.com".into()),
            ],
            body: None,
        };
        let response = HttpResponse::new(200, "{}");
        let exchange = Exchange::new(
            "API call",
            &request,
            Outcome::ResponseUnread(&response),
            4,
            &Redactor::default(),
        );
        assert_eq!(
            exchange.request_headers,
            [
                ("authorization".to_owned(), "Bearer tttttttttt…".to_owned()),
                ("Ocp-Apim-Subscription-Key".to_owned(), MASK.to_owned()),
                ("x-api-caller-id".to_owned(), "ops@example.com".to_owned()),
            ]
        );
        assert_eq!((exchange.status, exchange.response_body), (Some(200), None));
        assert_eq!(
            exchange.curl,
            "curl \\\n  -sS \\\n  'https://api.example/items' \\\n  -H 'authorization: Bearer '\"$ACCESS_TOKEN\" \\\n  -H 'Ocp-Apim-Subscription-Key: '\"$OCP_APIM_SUBSCRIPTION_KEY\" \\\n  -H 'x-api-caller-id: ops@example.com'"
        );
    }

    #[test]
    fn short_tokens_are_masked_whole_and_broken_escapes_survive_decoding() {
        assert_eq!(token_prefix("short-token"), MASK);
        assert_eq!(form_urldecode_part("a+b%2Bc%zz%4"), "a b+c%zz%4");
    }
}
