//! HTTP requests and responses as plain data.
//!
//! The core builds [`HttpRequest`] values and reads [`HttpResponse`] values;
//! a driver (the fetch driver in `src/wasm/`, or a test) moves them over the
//! network. Nothing here performs I/O.

use std::fmt;

/// HTTP method of a request. The flows send `GET` and `POST`; the others
/// appear in traces of API calls (`authorizedFetch`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
    /// `HEAD`
    Head,
    /// `OPTIONS`
    Options,
}

impl Method {
    /// The method name as sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Head => "HEAD",
            Method::Options => "OPTIONS",
        }
    }

    /// The method of this name (as a `Request` normalizes it: upper case
    /// for these), if it is one of these.
    pub fn from_name(name: &str) -> Option<Method> {
        [
            Method::Get,
            Method::Post,
            Method::Put,
            Method::Patch,
            Method::Delete,
            Method::Head,
            Method::Options,
        ]
        .into_iter()
        .find(|method| method.as_str() == name)
    }
}

/// A request for the driver to send.
///
/// Drivers must not follow redirects for it: a redirected token request would
/// carry credentials to a place nobody configured.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// The method.
    pub method: Method,
    /// The absolute URL, exactly as it is to be sent.
    pub url: String,
    /// Header names and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body, if any.
    pub body: Option<Vec<u8>>,
}

impl HttpRequest {
    /// The value of the first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The body as UTF-8 text (empty when there is none or it is not UTF-8).
    pub fn body_text(&self) -> &str {
        self.body
            .as_deref()
            .and_then(|body| std::str::from_utf8(body).ok())
            .unwrap_or("")
    }
}

/// Headers whose values carry credentials and are never printed.
const SECRET_HEADERS: [&str; 3] = ["authorization", "cookie", "set-cookie"];

fn is_secret_header(name: &str) -> bool {
    SECRET_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name))
}

impl fmt::Debug for HttpRequest {
    /// Prints the method, URL and header names; credential headers and the
    /// body (which holds client secrets and passwords) are left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &RedactedHeaders(&self.headers))
            .field("body", &self.body.as_ref().map(|b| BodyLen(b.len())))
            .finish()
    }
}

/// A response the driver received.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct HttpResponse {
    /// HTTP status code; 0 when the runtime hides it (a browser's opaque
    /// redirect).
    pub status: u16,
    /// Header names and values, except `Set-Cookie`.
    pub headers: Vec<(String, String)>,
    /// Each `Set-Cookie` header value, in order (runtimes that expose them).
    pub set_cookies: Vec<String>,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A response with this status and body and no headers.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        HttpResponse {
            status,
            body: body.into(),
            ..HttpResponse::default()
        }
    }

    /// The same response with one more header.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The value of the first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Whether the status is 3xx, or 0 (a browser hides redirects that way).
    pub fn is_redirect(&self) -> bool {
        self.status == 0 || (300..400).contains(&self.status)
    }
}

impl fmt::Debug for HttpResponse {
    /// Prints the status and header names; the body may hold tokens.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("headers", &RedactedHeaders(&self.headers))
            .field("set_cookies", &self.set_cookies.len())
            .field("body", &BodyLen(self.body.len()))
            .finish()
    }
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

struct RedactedHeaders<'a>(&'a [(String, String)]);

impl fmt::Debug for RedactedHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(name, value)| {
                let shown = if is_secret_header(name) {
                    "[redacted]"
                } else {
                    value.as_str()
                };
                (name, shown)
            }))
            .finish()
    }
}

struct BodyLen(usize);

impl fmt::Debug for BodyLen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{} bytes]", self.0)
    }
}

/// Encodes one name or value with the `application/x-www-form-urlencoded`
/// byte serializer (WHATWG URL §5.2; RFC 6749 Appendix B): `*-._` and ASCII
/// alphanumerics stay, space becomes `+`, every other UTF-8 byte becomes `%XX`.
pub fn form_urlencode(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for &byte in input.as_bytes() {
        match byte {
            b'*' | b'-' | b'.' | b'_' | b'0'..=b'9' | b'A'..=b'Z' | b'a'..=b'z' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            _ => {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    out
}

/// An `application/x-www-form-urlencoded` body, built in order.
#[derive(Default)]
pub struct FormBody(String);

impl FormBody {
    /// An empty body.
    pub fn new() -> Self {
        FormBody::default()
    }

    /// Appends `name=value`.
    pub fn append(&mut self, name: &str, value: &str) {
        if !self.0.is_empty() {
            self.0.push('&');
        }
        self.0.push_str(&form_urlencode(name));
        self.0.push('=');
        self.0.push_str(&form_urlencode(value));
    }

    /// The encoded body.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0.into_bytes()
    }
}

/// Decodes `application/x-www-form-urlencoded` text (a query string) into
/// name/value pairs: `+` is a space, `%XX` a byte; invalid escapes stay as
/// they are (WHATWG URL §5.1).
pub fn form_urldecode(input: &str) -> Vec<(String, String)> {
    input
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) => (form_urldecode_part(name), form_urldecode_part(value)),
            None => (form_urldecode_part(pair), String::new()),
        })
        .collect()
}

/// Decodes one name or value of [`form_urldecode`].
pub fn form_urldecode_part(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        let escaped = bytes
            .get(i + 1..i + 3)
            .filter(|hex| hex.iter().all(u8::is_ascii_hexdigit))
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (byte, escaped) {
            (b'+', _) => out.push(b' '),
            (b'%', Some(decoded)) => {
                out.push(decoded);
                i += 2;
            }
            (byte, _) => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_urlencode_follows_the_whatwg_byte_serializer() {
        assert_eq!(form_urlencode("aZ09*-._"), "aZ09*-._");
        assert_eq!(form_urlencode("a b"), "a+b");
        assert_eq!(
            form_urlencode(":+%&é/~!="),
            "%3A%2B%25%26%C3%A9%2F%7E%21%3D"
        );
    }

    #[test]
    fn form_body_joins_pairs_in_order() {
        let mut form = FormBody::new();
        form.append("grant_type", "client_credentials");
        form.append("scope", "api:read api:write");
        assert_eq!(
            String::from_utf8(form.into_bytes()).unwrap(),
            "grant_type=client_credentials&scope=api%3Aread+api%3Awrite"
        );
    }

    #[test]
    fn form_urldecode_reverses_form_urlencode() {
        assert_eq!(
            form_urldecode("code=a%2Bb&state=x+y&bad=%zz&empty&=v"),
            [
                ("code".to_owned(), "a+b".to_owned()),
                ("state".to_owned(), "x y".to_owned()),
                ("bad".to_owned(), "%zz".to_owned()),
                ("empty".to_owned(), String::new()),
                (String::new(), "v".to_owned()),
            ]
        );
        assert_eq!(
            form_urldecode(&format!("p={}", form_urlencode(":+%&é"))),
            [("p".to_owned(), ":+%&é".to_owned())]
        );
    }

    #[test]
    fn debug_hides_credentials_and_bodies() {
        let request = HttpRequest {
            method: Method::Post,
            url: "https://idp.example/token".into(),
            headers: vec![
                ("Authorization".into(), "Basic c2VjcmV0".into()),
                ("Accept".into(), "application/json".into()),
            ],
            body: Some(b"password=hunter2".to_vec()),
        };
        let printed = format!("{request:?}");
        assert!(!printed.contains("c2VjcmV0"), "{printed}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(
            printed.contains("\"Accept\": \"application/json\""),
            "{printed}"
        );
        assert!(printed.contains("[16 bytes]"), "{printed}");

        let response = HttpResponse::new(200, r#"{"access_token":"tok"}"#);
        assert!(!format!("{response:?}").contains("tok\""));
    }
}
