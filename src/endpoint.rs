//! Endpoint URLs: checked, and otherwise kept exactly as configured.
//!
//! URLs are not parsed into a normal form: PingOne Advanced Identity Cloud
//! compares the assertion audience with the token URL as configured, `:443`
//! included, and a URL library would drop that port.

use crate::error::Error;
use crate::options::ConfigField;
use crate::text::is_unsafe_char;

/// The parts of an absolute URL that grantkit looks at, as written: the one
/// reader for every URL the core checks or takes apart (endpoints, origins,
/// verification URIs, the cookie jar's request URLs). Nothing is normalised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UrlParts<'a> {
    /// The scheme, as written (`https`).
    pub scheme: &'a str,
    /// Everything between `//` and the path: `user@host:port`.
    pub authority: &'a str,
    /// The host: without brackets for IPv6, without user information or port.
    pub host: &'a str,
    /// The path, empty when there is none.
    pub path: &'a str,
    /// The query and fragment, with their `?` / `#`.
    pub rest: &'a str,
}

impl<'a> UrlParts<'a> {
    /// Splits `scheme://authority/path?query#fragment`; `None` when there is
    /// no `://`.
    pub fn split(url: &'a str) -> Option<Self> {
        let (scheme, after_scheme) = url.split_once("://")?;
        let authority_end = after_scheme
            .find(['/', '?', '#'])
            .unwrap_or(after_scheme.len());
        let (authority, after_authority) = after_scheme.split_at_checked(authority_end)?;
        let path_end = after_authority
            .find(['?', '#'])
            .unwrap_or(after_authority.len());
        let (path, rest) = after_authority.split_at_checked(path_end)?;
        let host_and_port = authority.rsplit('@').next().unwrap_or_default();
        let host = match host_and_port.strip_prefix('[') {
            Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
            None => host_and_port.split(':').next().unwrap_or_default(),
        };
        Some(UrlParts {
            scheme,
            authority,
            host,
            path,
            rest,
        })
    }
}

/// Checks an endpoint URL and returns it unchanged.
///
/// It must be absolute `https`, or `http` on a loopback host (a local
/// server), or any `http` when `allow_insecure_http` is set; it may carry no
/// user name or password and no fragment. The error names `field` and what
/// is wrong, never the URL: its query may hold a secret.
pub fn check_endpoint(
    field: ConfigField,
    url: &str,
    allow_insecure_http: bool,
) -> Result<String, Error> {
    let problem = url_problem(url, allow_insecure_http).or_else(|| {
        // RFC 6749 §3.2: "The endpoint URI MUST NOT include a fragment component."
        url.contains('#')
            .then_some("the URL has a fragment, which RFC 6749 §3.2 forbids")
    });
    match problem {
        Some(reason) => Err(Error::config(field, reason)),
        None => Ok(url.to_owned()),
    }
}

/// What is wrong with a URL that grantkit sends to or shows a person (an
/// endpoint, a device flow's verification URI), if anything: it must be
/// absolute `https`, or `http` on a loopback host or when
/// `allow_insecure_http` is set, with a host and without credentials or
/// white space, control, bidi or invisible characters.
pub fn url_problem(url: &str, allow_insecure_http: bool) -> Option<&'static str> {
    if url.chars().any(|c| c.is_whitespace() || is_unsafe_char(c)) {
        return Some("the URL contains white space, control or invisible characters");
    }
    let Some(parts) = UrlParts::split(url) else {
        return Some("not an absolute URL");
    };
    if parts.authority.contains('@') {
        return Some("credentials do not belong in the URL");
    }
    if parts.host.is_empty() {
        return Some("the URL has no host");
    }
    match parts.scheme.to_ascii_lowercase().as_str() {
        "https" => None,
        "http" if allow_insecure_http || is_loopback(parts.host) => None,
        "http" => Some(
            "plain http is allowed only on loopback hosts; use https, or set allowInsecureHttp",
        ),
        _ => Some("the URL scheme must be https"),
    }
}

fn is_loopback(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host == "::1"
        || host.strip_prefix("127.").is_some_and(|rest| {
            rest.split('.').count() == 3 && rest.split('.').all(|p| p.parse::<u8>().is_ok())
        })
}

/// Percent-encodes a URL path segment: RFC 3986 unreserved characters stay.
pub(crate) fn encode_path_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for &byte in segment.as_bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Reads an origin for an allow-list (`https://api.example.com`) into the
/// form a URL's `origin` has: scheme and host lower-cased, the default port
/// dropped. A path other than `/`, a query or a fragment is refused: an
/// origin is not a URL prefix. Plain `http` only as [`check_endpoint`]
/// allows it, since a bearer token would travel in clear text.
pub fn parse_origin(
    field: ConfigField,
    text: &str,
    allow_insecure_http: bool,
) -> Result<String, Error> {
    let checked = check_endpoint(field, text, allow_insecure_http)?;
    let fail = |reason: &str| Err(Error::config(field, reason));
    if !checked.is_ascii() {
        return fail("write the host in its ASCII (punycode) form");
    }
    let Some(parts) = UrlParts::split(&checked) else {
        return fail("not an absolute URL");
    };
    let scheme = parts.scheme.to_ascii_lowercase();
    if !(parts.path.is_empty() || parts.path == "/") || !parts.rest.is_empty() {
        return fail("an origin is scheme, host and port, without a path or query");
    }
    let authority = parts.authority.to_ascii_lowercase();
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    let authority = authority.strip_suffix(default_port).unwrap_or(&authority);
    Ok(format!("{scheme}://{authority}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_parts_split_as_written() {
        let split = |url| UrlParts::split(url).unwrap();
        assert_eq!(
            split("https://u:p@Host.example:443/a/b?q=1#f"),
            UrlParts {
                scheme: "https",
                authority: "u:p@Host.example:443",
                host: "Host.example",
                path: "/a/b",
                rest: "?q=1#f",
            }
        );
        assert_eq!(split("http://[::1]:8080").host, "::1");
        assert_eq!(split("http://[::1]:8080").path, "");
        assert_eq!(split("https://h?x").path, "");
        assert_eq!(split("https://h?x").rest, "?x");
        assert_eq!(split("https://é.example/ü").host, "é.example");
        assert_eq!(UrlParts::split("mailto:x@y"), None);
    }

    #[test]
    fn keeps_urls_exactly_as_configured() {
        let url = "https://tenant.example.com:443/am/oauth2/access_token";
        assert_eq!(
            check_endpoint(ConfigField::TokenEndpoint, url, false).unwrap(),
            url
        );
    }

    #[test]
    fn allows_plain_http_only_on_loopback() {
        for ok in [
            "http://127.0.0.1:8080/token",
            "http://localhost/token",
            "http://[::1]:9000/token",
            "HTTP://127.1.2.3/token",
        ] {
            assert!(
                check_endpoint(ConfigField::TokenEndpoint, ok, false).is_ok(),
                "{ok}"
            );
        }
        let err = check_endpoint(
            ConfigField::TokenEndpoint,
            "http://idp.example.com/token",
            false,
        )
        .unwrap_err();
        assert_eq!(err.code(), "INVALID_CONFIG");
        assert!(err.to_string().contains("allowInsecureHttp"), "{err}");
        assert!(check_endpoint(
            ConfigField::TokenEndpoint,
            "http://idp.example.com/token",
            true
        )
        .is_ok());
        // Look-alikes of loopback are not loopback.
        assert!(check_endpoint(
            ConfigField::TokenEndpoint,
            "http://127.0.0.1.evil.example/token",
            false
        )
        .is_err());
        assert!(check_endpoint(
            ConfigField::TokenEndpoint,
            "http://localhost.evil.example/token",
            false
        )
        .is_err());
    }

    #[test]
    fn refuses_malformed_urls() {
        for bad in [
            "",
            "idp.example.com/token",
            "ftp://idp.example.com/token",
            "https:///token",
            "https://user:pw@idp.example.com/token",
            "https://idp.example.com/token#frag",
            "https://idp.example.com/to ken",
        ] {
            let err = check_endpoint(ConfigField::TokenEndpoint, bad, false).unwrap_err();
            assert_eq!(err.code(), "INVALID_CONFIG", "{bad}");
        }
    }

    #[test]
    fn option_errors_never_echo_the_url() {
        // A secret in the query string must not reach the message.
        for bad in [
            "ftp://idp.example/token?client_secret=SEKRIT",
            "http://idp.example/token?client_secret=SEKRIT",
            "https://idp.example/token?client_secret=SEKRIT#f",
            "https://idp.example/token?client_secret=SEKRIT\u{1b}",
            "idp.example/token?client_secret=SEKRIT",
        ] {
            let err = check_endpoint(ConfigField::TokenEndpoint, bad, false).unwrap_err();
            assert!(!format!("{err} {err:?}").contains("SEKRIT"), "{err}");
        }
        let err = parse_origin(
            ConfigField::AllowedOrigins,
            "https://api.example/SEKRIT",
            false,
        )
        .unwrap_err();
        assert!(!format!("{err} {err:?}").contains("SEKRIT"), "{err}");
    }

    #[test]
    fn url_problem_refuses_invisible_characters_and_other_schemes() {
        assert_eq!(url_problem("https://idp.example/device", false), None);
        assert_eq!(url_problem("https://idp.example/device#x", false), None);
        for bad in [
            "javascript:alert(1)",
            "data:text/html,x",
            "https://idp.example/\u{202e}evil",
            "https://idp.\u{200b}example/device",
            "http://idp.example/device",
            "https://user@idp.example/device",
        ] {
            assert!(url_problem(bad, false).is_some(), "{bad}");
        }
        assert_eq!(url_problem("http://idp.example/device", true), None);
    }

    #[test]
    fn error_text_never_echoes_a_url_with_credentials() {
        let err = check_endpoint(
            ConfigField::TokenEndpoint,
            "https://user:pa55word@h/x",
            false,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration: tokenEndpoint: credentials do not belong in the URL"
        );
    }
}
