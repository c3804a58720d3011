//! A property of `Redactor`: a secret that a response echoes back, in any
//! encoding a request carries it in, never survives `scrub` or `excerpt`.
//!
//! Input lines: the secret, the client id, then filler text. The secret is
//! embedded in the filler once in each encoding:
//!
//! - raw;
//! - form-urlencoded, as `grantkit::http::form_urlencode` does (`+` for
//!   space, upper-case hex);
//! - percent-encoded with lower-case hex and `%20` for space, keeping what
//!   `encodeURIComponent` keeps (`-_.!~*'()` and alphanumerics);
//! - standard base64 of `client_id:secret`, each form-urlencoded, as the
//!   `Authorization: Basic` header carries it (RFC 6749 §2.3.1);
//! - JSON-escaped, as a JSON body carries it.
//!
//! The output is cut at each marker (`redact::WITHHELD`; before main's
//! c514c96 a `[redacted]` put in place of the secret alone, which could
//! be mangled or cut by the excerpt's length limit) and no piece may hold
//! an encoding. Two things keep the property honest: filler white space
//! and unsafe characters (`grantkit::text::is_unsafe_char`) become `.`
//! (`excerpt` folds them into spaces, which could join filler into an
//! encoding; the `excerpt_folding` target covers that), and a secret made
//! only of the marker's own characters is skipped.
#![no_main]

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use grantkit::http::form_urlencode;
use grantkit::redact::{Redactor, WITHHELD};
use grantkit::text::is_unsafe_char;
use grantkit::Secret;
use libfuzzer_sys::fuzz_target;

/// What the redactor puts in place of text that held a secret.
const MARKER: &str = WITHHELD;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let secret = lines.next().unwrap_or_default();
    if secret.is_empty() || secret.chars().all(|c| MARKER.contains(c)) {
        return;
    }
    let client_id = match lines.next() {
        Some(id) if !id.is_empty() => id,
        _ => "client",
    };
    let filler: Vec<String> = lines
        .map(|line| {
            line.chars()
                .map(|c| if c.is_whitespace() || is_unsafe_char(c) { '.' } else { c })
                .collect()
        })
        .collect();

    let encodings = [
        ("raw", secret.to_owned()),
        ("form-urlencoded", form_urlencode(secret)),
        ("percent-encoded (lower-case hex, %20)", percent_encode_lower(secret)),
        ("Basic base64 of id:secret", basic_credentials(client_id, secret)),
        ("JSON-escaped", json_escape(secret)),
    ];

    // filler[0] enc[0] filler[1] enc[1] ... with the filler lines cycled.
    let mut body = String::new();
    for (i, (_, encoded)) in encodings.iter().enumerate() {
        if !filler.is_empty() {
            body.push_str(&filler[i % filler.len()]);
        }
        body.push_str(encoded);
    }
    if let Some(last) = filler.last() {
        body.push_str(last);
    }

    let secret = Secret::new(secret);
    let redactor = redactor(&secret, client_id);
    for (what, output) in [
        ("scrub", redactor.scrub(&body)),
        ("excerpt", redactor.excerpt(body.as_bytes())),
    ] {
        let pieces: Vec<&str> = without_cut_marker(&output).split(MARKER).collect();
        let leaked: Vec<String> = encodings
            .iter()
            .filter(|(_, encoded)| pieces.iter().any(|piece| piece.contains(encoded.as_str())))
            .map(|(name, encoded)| format!("{name} {encoded:?}"))
            .collect();
        assert!(
            leaked.is_empty(),
            "{what} leaves the secret {secret:?} (client id {client_id:?}) in: {}; output {output:?}",
            leaked.join(", "),
            secret = secret.expose(),
        );
    }
});

/// `excerpt` output without a marker that its length limit cut
/// (`…[redact…`): the rest of such a marker is not text from the body.
fn without_cut_marker(output: &str) -> &str {
    let Some(cut) = output.strip_suffix('…') else {
        return output;
    };
    (1..MARKER.len())
        .rev()
        .find_map(|n| cut.strip_suffix(&MARKER[..n]))
        .unwrap_or(cut)
}

/// The redactor a flow with this client secret and client id builds: the
/// secret in all its encodings, and the Basic credentials exactly as sent
/// (`ClientAuth::redact_into`, which is crate-private, does the same).
fn redactor(secret: &Secret, client_id: &str) -> Redactor {
    let mut redactor = Redactor::new([secret]);
    redactor.add_exact(&Secret::new(basic_credentials(client_id, secret.expose())));
    redactor
}

/// What `Authorization: Basic` carries: base64 of `id:secret`, each
/// form-urlencoded (RFC 6749 §2.3.1).
fn basic_credentials(client_id: &str, secret: &str) -> String {
    STANDARD.encode(format!("{}:{}", form_urlencode(client_id), form_urlencode(secret)))
}

/// `encodeURIComponent` with lower-case hex: `-_.!~*'()` and ASCII
/// alphanumerics stay, space is `%20`.
fn percent_encode_lower(text: &str) -> String {
    let mut out = String::new();
    for &byte in text.as_bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02x}"));
        }
    }
    out
}

/// The text as it appears inside a JSON string (without the quotes).
fn json_escape(text: &str) -> String {
    let quoted = serde_json::Value::from(text).to_string();
    quoted[1..quoted.len() - 1].to_owned()
}
