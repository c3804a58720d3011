//! A property of `Redactor::excerpt`: an error excerpt never prints a
//! secret, even when the body held it with other white space or control
//! characters where the secret has a space. `excerpt` folds every such run
//! into one space, so it must not fold text into the secret after
//! scrubbing.
//!
//! Input: the secret (first line, with at least one space), then the body.
//! The secret is added to the body with each space turned into a tab, a
//! NUL, and a line break plus a space.
#![no_main]

use grantkit::redact::Redactor;
use grantkit::text::is_unsafe_char;
use grantkit::Secret;
use libfuzzer_sys::fuzz_target;

const MARKER: &str = grantkit::redact::WITHHELD;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (secret, filler) = text.split_once('\n').unwrap_or((&text, ""));
    // As excerpt prints it: runs of white space and unsafe characters are
    // one space.
    let printed = fold(secret);
    if !printed.contains(' ') || printed.chars().all(|c| c == ' ' || MARKER.contains(c)) {
        return;
    }
    let mut body = filler.to_owned();
    for variant in ["\t", "\0", "\n "] {
        body.push_str(&secret.replace(' ', variant));
        body.push_str(filler);
    }
    let redactor = Redactor::new([&Secret::new(secret)]);
    let output = redactor.excerpt(body.as_bytes());
    assert!(
        !output.split(MARKER).any(|piece| piece.contains(&printed)),
        "excerpt prints the secret {secret:?} as {printed:?}: {output:?}"
    );
});

fn fold(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let c = if c.is_whitespace() || is_unsafe_char(c) { ' ' } else { c };
        if !(c == ' ' && out.ends_with(' ')) {
            out.push(c);
        }
    }
    out.trim().to_owned()
}
