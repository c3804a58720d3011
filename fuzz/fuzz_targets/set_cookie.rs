//! `Set-Cookie` parsing (RFC 6265 §5.2, §5.3) and the jar's `Cookie`
//! header (§5.4). One command per line:
//!
//! - `@<url>`: later cookies come from this request URL;
//! - `+<secs>`: the clock moves on;
//! - `?<url>`: the `Cookie` header for a request to this URL;
//! - anything else: a `Set-Cookie` value, stored for the current URL.
#![no_main]

use grantkit::cookie::CookieJar;
use grantkit_fuzz::NOW;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut jar = CookieJar::new();
    let mut url = "https://acp.example.com/dex/api/v1/authorize".to_owned();
    let mut now = NOW;
    for line in text.split('\n') {
        if let Some(next) = line.strip_prefix('@') {
            url = next.to_owned();
        } else if let Some(secs) = line.strip_prefix('+') {
            now = now.plus_secs(secs.trim().parse().unwrap_or(0));
        } else if let Some(target) = line.strip_prefix('?') {
            let _ = jar.header_for(target, now);
        } else {
            jar.store(line, &url, now);
        }
    }
    for target in [
        url.as_str(),
        "https://acp.example.com/",
        "https://acp.example.com/console-platform/api/v1/token/callback",
        "http://acp.example.com/dex/pubkey",
        "https://sub.acp.example.com/dex/",
    ] {
        let header = jar.header_for(target, now);
        // Expired cookies are never sent.
        if header.is_some() {
            assert!(jar.cookies().iter().any(|c| c.expires.is_none_or(|at| at > now)));
        }
    }
    let _ = format!("{jar:?}");
});
