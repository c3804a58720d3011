//! Keeping secrets out of error text.
//!
//! A broken or hostile server may echo what it received (a debug page that
//! prints the form body, say). Before any part of a response goes into an
//! error, every secret the flow knows is cut out of it, as sent and as
//! form-encoded.

use crate::secret::Secret;
use crate::text::is_unsafe_char;
use serde_json::Value;

/// What stands in for server text that held a secret the flow sent.
pub const WITHHELD: &str = "[withheld: it held a secret]";

/// How many characters of a response body an error shows at most.
pub const EXCERPT_CHARS: usize = 200;

/// Removes known secrets from text taken from responses.
///
/// Every flow makes one, and most never use it (it serves error text and
/// traces): the encodings of each secret are worked out on first use.
#[derive(Debug, Default, Clone)]
pub struct Redactor {
    /// Cut out in every encoding ([`Redactor::add`]).
    secrets: Vec<Secret>,
    /// Cut out as written ([`Redactor::add_exact`]).
    exact: Vec<Secret>,
    /// Every form of every secret, longest first, once worked out.
    forms: std::cell::OnceCell<Vec<Secret>>,
}

impl Redactor {
    /// A redactor for these secrets (the client secret, the password, ...),
    /// each in every encoding a server might echo it in (see [`Redactor::add`]).
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a Secret>) -> Self {
        let mut redactor = Redactor::default();
        for secret in secrets {
            redactor.add(secret);
        }
        redactor
    }

    /// Cuts out `secret` as sent and in each encoding a server that echoes a
    /// request may show it in: form-encoded (RFC 6749 Appendix B) and
    /// percent-encoded (`%20` for a space, as `encodeURIComponent` does),
    /// each with upper- and lower-case hex, and JSON-escaped.
    pub fn add(&mut self, secret: &Secret) {
        if !secret.expose().is_empty() && !self.secrets.contains(secret) {
            self.secrets.push(secret.clone());
            self.forms = Default::default();
        }
    }

    /// Cuts out `secret` exactly as written, in no other encoding: a
    /// credential already encoded for the wire (a Basic header's base64, a
    /// signed JWT, which is base64url and dots).
    pub fn add_exact(&mut self, secret: &Secret) {
        if !secret.expose().is_empty() && !self.exact.contains(secret) {
            self.exact.push(secret.clone());
            self.forms = Default::default();
        }
    }

    /// Every form of every secret, longest first, so that a secret that
    /// contains another is cut whole.
    fn forms(&self) -> &[Secret] {
        self.forms.get_or_init(|| {
            let mut forms: Vec<Secret> = Vec::new();
            let mut keep = |form: String| {
                let form = Secret::new(form);
                if !form.expose().is_empty() && !forms.contains(&form) {
                    forms.push(form);
                }
            };
            for secret in &self.secrets {
                let value = secret.expose();
                keep(value.to_owned());
                for style in [
                    PercentStyle::Form,
                    PercentStyle::Uri,
                    PercentStyle::Unreserved,
                ] {
                    for upper in [true, false] {
                        keep(percent_encode(value, style, upper));
                    }
                }
                let json = serde_json::Value::from(value).to_string();
                keep(json.get(1..json.len() - 1).unwrap_or_default().to_owned());
                keep(json_ascii_escape(value));
            }
            for secret in &self.exact {
                keep(secret.expose().to_owned());
            }
            forms.sort_by_key(|s| std::cmp::Reverse(s.expose().len()));
            forms
        })
    }

    /// `text`, or [`WITHHELD`] in its place when it holds any known secret.
    /// The whole text goes, not only the secret: around a marker the
    /// context gives a short secret away ("locked since [redacted]-05-01",
    /// "text/[redacted]").
    pub fn scrub(&self, text: &str) -> String {
        if self.holds_secret(text) {
            WITHHELD.to_owned()
        } else {
            text.to_owned()
        }
    }

    /// Scrubs every string inside a JSON value, keys included.
    pub fn scrub_json(&self, value: &mut Value) {
        match value {
            Value::String(s) => *s = self.scrub(s),
            Value::Array(items) => items.iter_mut().for_each(|v| self.scrub_json(v)),
            Value::Object(map) => self.scrub_object(map),
            _ => {}
        }
    }

    /// Scrubs every string inside a JSON object, keys included.
    pub fn scrub_object(&self, map: &mut serde_json::Map<String, Value>) {
        let entries = std::mem::take(map);
        for (key, mut v) in entries {
            self.scrub_json(&mut v);
            map.insert(self.scrub(&key), v);
        }
    }

    /// A short, printable, secret-free excerpt of a response body.
    ///
    /// White space and unsafe characters are folded into single spaces, and
    /// the secrets are looked for before and after folding: a body holding
    /// `a<TAB>b` must not print the secret `a b` (found by fuzzing). The
    /// whole body is folded before it is cut, so a secret across the cut
    /// is still seen.
    pub fn excerpt(&self, body: &[u8]) -> String {
        let text = String::from_utf8_lossy(body);
        if self.holds_secret(&text) {
            return WITHHELD.to_owned();
        }
        let folded = fold(&text);
        // A secret with runs of white space in it shows folded too.
        let folded_secret = |s: &Secret| {
            let secret = fold(s.expose());
            !secret.trim().is_empty() && folded.contains(secret.trim())
        };
        if self.holds_secret(&folded) || self.forms().iter().any(folded_secret) {
            return WITHHELD.to_owned();
        }
        let folded = folded.trim_end();
        match folded.char_indices().nth(EXCERPT_CHARS) {
            Some((cut, _)) => format!("{}…", folded.get(..cut).unwrap_or_default()),
            None => folded.to_owned(),
        }
    }

    fn holds_secret(&self, text: &str) -> bool {
        self.forms().iter().any(|s| text.contains(s.expose()))
    }
}

/// White space and unsafe characters as single spaces; leading white space
/// dropped.
fn fold(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    let mut last_was_space = true;
    for c in text.chars() {
        let c = if is_unsafe_char(c) || c.is_whitespace() {
            ' '
        } else {
            c
        };
        if c == ' ' && last_was_space {
            continue;
        }
        last_was_space = c == ' ';
        folded.push(c);
    }
    folded
}

#[derive(Clone, Copy)]
enum PercentStyle {
    /// `application/x-www-form-urlencoded`: `*-._` and alphanumerics
    /// stay, space is `+`.
    Form,
    /// `encodeURIComponent`: `-_.!~*'()` and alphanumerics stay, space is
    /// `%20`.
    Uri,
    /// RFC 3986 unreserved characters only (`-._~` and alphanumerics), as
    /// Python's `quote(safe="")` does; space is `%20`.
    Unreserved,
}

fn percent_encode(value: &str, style: PercentStyle, upper: bool) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for &byte in value.as_bytes() {
        let kept = byte.is_ascii_alphanumeric()
            || match style {
                PercentStyle::Form => b"*-._".contains(&byte),
                PercentStyle::Uri => b"-_.!~*'()".contains(&byte),
                PercentStyle::Unreserved => b"-._~".contains(&byte),
            };
        if kept {
            out.push(char::from(byte));
        } else if byte == b' ' && matches!(style, PercentStyle::Form) {
            out.push('+');
        } else if upper {
            out.push_str(&format!("%{byte:02X}"));
        } else {
            out.push_str(&format!("%{byte:02x}"));
        }
    }
    out
}

/// JSON string content with every non-ASCII character as `\uXXXX`
/// (UTF-16, lower-case hex), as some serializers write it.
fn json_ascii_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn withholds_text_with_a_secret_in_any_encoding() {
        let secret = Secret::new("p@ss word");
        let redactor = Redactor::new([&secret]);
        for echo in [
            "got password=p%40ss+word",
            "got p@ss word",
            "got p%40ss%20word",
            "got p%40ss%20word".to_lowercase().as_str(),
            r#"{"p":"p@ss word"}"#,
        ] {
            assert_eq!(redactor.scrub(echo), WITHHELD, "{echo}");
        }
        assert_eq!(redactor.scrub("got nothing"), "got nothing");
    }

    #[test]
    fn excerpt_is_bounded_and_printable() {
        let redactor = Redactor::default();
        let body = format!("<html>\r\n\t<h1>502</h1>{}</html>", "x".repeat(500));
        let excerpt = redactor.excerpt(body.as_bytes());
        assert!(excerpt.starts_with("<html> <h1>502</h1>xxx"), "{excerpt}");
        assert_eq!(excerpt.chars().count(), EXCERPT_CHARS + 1);
        assert!(excerpt.ends_with('…'));
    }

    #[test]
    fn scrub_json_reaches_nested_strings() {
        let secret = Secret::new("s3cret");
        let redactor = Redactor::new([&secret]);
        let mut value = serde_json::json!({"error": "x", "echo": {"client_secret": ["s3cret"]}});
        redactor.scrub_json(&mut value);
        assert_eq!(
            value,
            serde_json::json!({"error": "x", "echo": {"client_secret": [WITHHELD]}})
        );
    }

    #[test]
    fn excerpt_looks_for_secrets_after_folding_white_space() {
        // Fuzzing found the secret "a b" printed for a body with "a<TAB>b".
        let secret = Secret::new("a b");
        let redactor = Redactor::new([&secret]);
        for body in ["x a\tb y", "x a\u{0}b y", "x a\n b y", "a \r\n\t b"] {
            assert_eq!(redactor.excerpt(body.as_bytes()), WITHHELD, "{body:?}");
        }
        // Fuzzing again: a secret with a run of spaces was printed folded.
        let spaced = Secret::new("two  spaces\there");
        let redactor = Redactor::new([&spaced]);
        assert_eq!(
            redactor.excerpt(b"x two  spaces\there y"),
            WITHHELD,
            "as it is"
        );
        assert_eq!(redactor.excerpt(b"x two spaces here y"), WITHHELD, "folded");
        assert_eq!(
            Redactor::new([&Secret::new("a!b*c'(d)")]).scrub("got a%21b%2Ac%27%28d%29"),
            WITHHELD,
            "every reserved character escaped"
        );
        // A secret that runs across the cut is still seen.
        let long = Secret::new("S".repeat(50));
        let redactor = Redactor::new([&long]);
        let body = format!("{}{}", "x".repeat(180), long.expose());
        assert_eq!(redactor.excerpt(body.as_bytes()), WITHHELD);
    }
}
