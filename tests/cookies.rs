//! The cookie jar (RFC 6265), attribute by attribute. Runs natively and in wasm.

use grantkit::cookie::{CookieJar, SameSite};
use grantkit::UnixTime;
use wasm_bindgen_test::wasm_bindgen_test;

const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);
const LOGIN: &str = "https://acp.example.com/dex/api/v1/authorize?client_id=x";

fn jar_from(set_cookies: &[&str]) -> CookieJar {
    let mut jar = CookieJar::new();
    for value in set_cookies {
        jar.store(value, LOGIN, NOW);
    }
    jar
}

#[wasm_bindgen_test(unsupported = test)]
fn several_cookies_are_sent_together_in_creation_order() {
    let jar = jar_from(&[
        "cpaas_oidc_auth_flow=abc123; Path=/; HttpOnly; SameSite=Lax",
        "b=2; Path=/",
    ]);
    assert_eq!(
        jar.header_for(
            "https://acp.example.com/console-platform/api/v1/token/callback?code=c",
            NOW
        )
        .as_deref(),
        Some("cpaas_oidc_auth_flow=abc123; b=2")
    );
    let first = &jar.cookies()[0];
    assert!(first.http_only && first.host_only && !first.secure);
    assert_eq!(first.same_site, Some(SameSite::Lax));
}

#[wasm_bindgen_test(unsupported = test)]
fn path_scopes_a_cookie_and_longer_paths_come_first() {
    let jar = jar_from(&["root=1; Path=/", "dex=2; Path=/dex", "default=3"]);
    // No Path: the default path is the request's directory, /dex/api/v1.
    assert_eq!(jar.cookies()[2].path, "/dex/api/v1");
    assert_eq!(
        jar.header_for("https://acp.example.com/dex/api/v1/authorize/local", NOW)
            .as_deref(),
        Some("default=3; dex=2; root=1")
    );
    assert_eq!(
        jar.header_for("https://acp.example.com/dexter", NOW)
            .as_deref(),
        Some("root=1")
    );
    assert_eq!(
        jar.header_for("https://acp.example.com/console-platform", NOW)
            .as_deref(),
        Some("root=1")
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn domain_widens_to_subdomains_and_host_only_does_not() {
    let jar = jar_from(&["wide=1; Domain=.example.com; Path=/", "narrow=2; Path=/"]);
    assert!(!jar.cookies()[0].host_only);
    assert_eq!(
        jar.header_for("https://api.example.com/", NOW).as_deref(),
        Some("wide=1")
    );
    assert_eq!(
        jar.header_for("https://acp.example.com/", NOW).as_deref(),
        Some("wide=1; narrow=2")
    );
    assert_eq!(jar.header_for("https://example.org/", NOW), None);
    // A Domain the request host does not match is refused whole (§5.3 step 6).
    let jar = jar_from(&["evil=1; Domain=other.com"]);
    assert!(jar.cookies().is_empty());
}

#[wasm_bindgen_test(unsupported = test)]
fn expires_and_max_age_with_max_age_winning() {
    let jar = jar_from(&[
        "past=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT; Path=/",
        "future=2; Expires=Thu, 01 Jan 2037 00:00:00 GMT; Path=/",
        "short=3; Max-Age=60; Path=/",
        "both=4; Max-Age=0; Expires=Thu, 01 Jan 2037 00:00:00 GMT; Path=/",
    ]);
    let names: Vec<&str> = jar.cookies().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["future", "short"]);
    assert_eq!(
        jar.cookies()[0].expires,
        Some(UnixTime::from_secs(2_114_380_800))
    );
    assert_eq!(
        jar.cookies()[1].expires,
        Some(UnixTime::from_secs(1_700_000_060))
    );
    let later = UnixTime::from_secs(1_700_000_061);
    assert_eq!(
        jar.header_for("https://acp.example.com/", later).as_deref(),
        Some("future=2")
    );
    // The two-digit year and other variants of §5.1.1.
    let jar = jar_from(&["v=1; expires=Sunday, 06-Nov-94 08:49:37 GMT"]);
    assert!(jar.cookies().is_empty(), "1994 is in the past");
}

#[wasm_bindgen_test(unsupported = test)]
fn secure_cookies_go_only_over_https() {
    let mut jar = CookieJar::new();
    jar.store("s=1; Secure; Path=/", "https://acp.example.com/x", NOW);
    assert_eq!(
        jar.header_for("https://acp.example.com/", NOW).as_deref(),
        Some("s=1")
    );
    assert_eq!(jar.header_for("http://acp.example.com/", NOW), None);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_new_value_replaces_the_old_and_max_age_zero_deletes() {
    let mut jar = jar_from(&["a=1; Path=/"]);
    jar.store("a=2; Path=/", LOGIN, NOW);
    assert_eq!(
        jar.header_for("https://acp.example.com/", NOW).as_deref(),
        Some("a=2")
    );
    jar.store("a=; Max-Age=0; Path=/", LOGIN, NOW);
    assert_eq!(jar.header_for("https://acp.example.com/", NOW), None);
}

#[wasm_bindgen_test(unsupported = test)]
fn malformed_set_cookie_values_are_ignored() {
    let jar = jar_from(&[
        "novalue",
        "=nameless",
        "; Path=/",
        "ok=1; Max-Age=abc; Path=/",
    ]);
    let names: Vec<&str> = jar.cookies().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["ok"]);
    assert_eq!(
        jar.cookies()[0].expires,
        None,
        "an invalid Max-Age is ignored"
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn debug_never_shows_cookie_values() {
    let jar = jar_from(&["cpaas_oidc_auth_flow=s3ss10n-value; Path=/"]);
    assert!(!format!("{jar:?}").contains("s3ss10n-value"));
}

#[wasm_bindgen_test(unsupported = test)]
fn a_date_with_multi_byte_characters_is_ignored_not_a_panic() {
    // Once sliced a string by bytes inside "é": a panic that killed the host.
    for set_cookie in [
        "cpaas_oidc_auth_flow=x; Path=/; Expires=ééa",
        "a=b; Expires=é",
        "a=b; Expires=Wed, 21 Oé 2026 07:28:00 GMT",
        "a=b; Expires=21 éct 2026 07:28:00",
        "a=b; Expires=1é:2:3 21 Oct 2026",
        "a=b; Expires=\u{202e}; Max-Age=é; Domain=é; Path=é",
    ] {
        let jar = jar_from(&[set_cookie]);
        assert!(jar.cookies().len() <= 1, "{set_cookie}");
    }
    let jar = jar_from(&["cpaas_oidc_auth_flow=x; Path=/; Expires=ééa"]);
    assert_eq!(jar.cookies().first().map(|c| c.expires), Some(None));
}
