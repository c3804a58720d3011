//! Endpoint URLs: checked, and otherwise kept exactly as configured.
//!
//! URLs are not parsed into a normal form: PingOne Advanced Identity Cloud
//! compares the assertion audience with the token URL as configured, `:443`
//! included, and a URL library would drop that port.

use crate::error::Error;

/// Checks an endpoint URL and returns it unchanged.
///
/// It must be absolute `https`, or `http` on a loopback host (a local
/// server), or any `http` when `allow_insecure_http` is set; it may carry no
/// user name or password and no fragment.
pub fn check_endpoint(field: &str, url: &str, allow_insecure_http: bool) -> Result<String, Error> {
    let fail = |reason: &str| {
        Err(Error::config(
            field,
            format!("{reason} (got {:?})", shorten(url)),
        ))
    };
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return fail("the URL contains white space or control characters");
    }
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
        None => return fail("not an absolute URL"),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    if authority.contains('@') {
        // Not echoed: the URL holds a password.
        return Err(Error::config(field, "credentials do not belong in the URL"));
    }
    // RFC 6749 §3.2: "The endpoint URI MUST NOT include a fragment component."
    if rest.contains('#') {
        return fail("the URL has a fragment, which RFC 6749 §3.2 forbids");
    }
    let host = host_of(authority);
    if host.is_empty() {
        return fail("the URL has no host");
    }
    match scheme.as_str() {
        "https" => Ok(url.to_owned()),
        "http" if allow_insecure_http || is_loopback(host) => Ok(url.to_owned()),
        "http" => fail(
            "plain http is allowed only on loopback hosts; use https, or set allowInsecureHttp",
        ),
        _ => fail("the URL scheme must be https"),
    }
}

fn host_of(authority: &str) -> &str {
    if let Some(bracketed) = authority.strip_prefix('[') {
        return bracketed.split(']').next().unwrap_or("");
    }
    authority.split(':').next().unwrap_or("")
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

fn shorten(text: &str) -> String {
    let mut out: String = text.chars().take(120).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
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
pub fn parse_origin(field: &str, text: &str, allow_insecure_http: bool) -> Result<String, Error> {
    let checked = check_endpoint(field, text, allow_insecure_http)?;
    let fail = |reason: &str| {
        Err(Error::config(
            field,
            format!("{reason} (got {:?})", shorten(text)),
        ))
    };
    if !checked.is_ascii() {
        return fail("write the host in its ASCII (punycode) form");
    }
    let (scheme, rest) = checked.split_once("://").unwrap_or_default();
    let scheme = scheme.to_ascii_lowercase();
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    if !tail.is_empty() && tail != "/" {
        return fail("an origin is scheme, host and port, without a path or query");
    }
    let authority = authority.to_ascii_lowercase();
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    let authority = authority.strip_suffix(default_port).unwrap_or(&authority);
    Ok(format!("{scheme}://{authority}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_urls_exactly_as_configured() {
        let url = "https://tenant.example.com:443/am/oauth2/access_token";
        assert_eq!(check_endpoint("tokenEndpoint", url, false).unwrap(), url);
    }

    #[test]
    fn allows_plain_http_only_on_loopback() {
        for ok in [
            "http://127.0.0.1:8080/token",
            "http://localhost/token",
            "http://[::1]:9000/token",
            "HTTP://127.1.2.3/token",
        ] {
            assert!(check_endpoint("tokenEndpoint", ok, false).is_ok(), "{ok}");
        }
        let err =
            check_endpoint("tokenEndpoint", "http://idp.example.com/token", false).unwrap_err();
        assert_eq!(err.code(), "INVALID_CONFIG");
        assert!(err.to_string().contains("allowInsecureHttp"), "{err}");
        assert!(check_endpoint("tokenEndpoint", "http://idp.example.com/token", true).is_ok());
        // Look-alikes of loopback are not loopback.
        assert!(check_endpoint("t", "http://127.0.0.1.evil.example/token", false).is_err());
        assert!(check_endpoint("t", "http://localhost.evil.example/token", false).is_err());
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
            let err = check_endpoint("tokenEndpoint", bad, false).unwrap_err();
            assert_eq!(err.code(), "INVALID_CONFIG", "{bad}");
        }
    }

    #[test]
    fn error_text_never_echoes_a_url_with_credentials() {
        let err = check_endpoint("t", "https://user:pa55word@h/x", false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration: t: credentials do not belong in the URL"
        );
    }
}
