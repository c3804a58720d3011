//! TokenSource with a simulated clock: the expiry margin, refresh with
//! rotation, the fall back to the original grant, invalidation and the
//! shared-store encoding.

mod common;

use common::{drive, headers, json, TestRng, NOW};
use grantkit::client_auth::{ClientAuthMethod, ClientCredential};
use grantkit::flow::{
    AcpLogin, AcpLoginSettings, ClientCredentials, ClientCredentialsSettings, JwtBearer,
    JwtBearerSettings, PasswordGrant, PasswordGrantSettings,
};
use grantkit::keys::PrivateKey;
use grantkit::redact::Redactor;
use grantkit::source::{
    decode_stored, encode_stored, store_ttl, Acquired, ExpiryPolicy, TokenSource,
};
use grantkit::token::parse_token_response;
use grantkit::{Secret, TokenSet, UnixTime};
use std::rc::Rc;
use std::sync::Arc;
use wasm_bindgen_test::wasm_bindgen_test;

const ENDPOINT: &str = "https://sso.example.com/realms/ops/protocol/openid-connect/token";
const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");
const ACCEPT: (&str, &str) = ("Accept", "application/json");
/// base64("app:app-secret")
const BASIC: (&str, &str) = ("Authorization", "Basic YXBwOmFwcC1zZWNyZXQ=");

fn tokens(json_text: &str, at: UnixTime) -> TokenSet {
    let dpop = json_text.contains(r#""token_type":"DPoP""#);
    parse_token_response(&json(200, json_text), at, &Redactor::default(), dpop).unwrap()
}

fn lifetime(secs: u64) -> TokenSet {
    tokens(
        &format!(r#"{{"access_token":"at","token_type":"Bearer","expires_in":{secs}}}"#),
        NOW,
    )
}

fn password_source(policy: ExpiryPolicy) -> TokenSource {
    let mut settings = PasswordGrantSettings::new(ENDPOINT, "app", "alice", Secret::new("pw-1"));
    settings.client.credential = ClientCredential::Secret {
        secret: Secret::new("app-secret"),
        method: ClientAuthMethod::Basic,
    };
    settings.client.scope = vec!["openid".into(), "offline_access".into()];
    TokenSource::new(
        Box::new(Rc::new(PasswordGrant::new(settings).unwrap())),
        policy,
    )
}

/// Runs one acquire of `source` against scripted responses and hands the
/// outcome back to it, as a driver does.
fn acquire(
    source: &mut TokenSource,
    responses: Vec<grantkit::HttpResponse>,
) -> (Vec<grantkit::HttpRequest>, Result<bool, grantkit::Error>) {
    let mut flow = source.acquire(Box::new(TestRng::default()));
    let (sent, result) = drive(&mut flow, responses);
    match result {
        Ok(acquired) => {
            let refreshed = acquired.refreshed;
            source.accept(acquired);
            (sent, Ok(refreshed))
        }
        Err(error) => {
            source.failed(&flow);
            (sent, Err(error))
        }
    }
}

/// A first acquire that must succeed.
fn seed(source: &mut TokenSource, responses: Vec<grantkit::HttpResponse>) {
    let (sent, result) = acquire(source, responses);
    assert_eq!(sent.len(), 1);
    result.unwrap();
}

#[wasm_bindgen_test(unsupported = test)]
fn the_default_margin_is_30_s_or_a_tenth_of_the_lifetime() {
    let policy = ExpiryPolicy::default();
    assert_eq!(policy.margin(Some(300)), 30);
    assert_eq!(
        policy.margin(Some(899)),
        90,
        "PingOne: 10 % of 899, rounded up"
    );
    assert_eq!(policy.margin(Some(3600)), 360);
    assert_eq!(
        policy.margin(Some(40)),
        20,
        "never more than half the lifetime"
    );
    assert_eq!(policy.margin(None), 30);
    let fixed = ExpiryPolicy {
        margin_secs: Some(5),
        clock_skew_secs: 0,
    };
    assert_eq!(fixed.margin(Some(3600)), 5);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_token_is_fresh_until_the_margin_and_skew_before_expiry() {
    let policy = ExpiryPolicy::default();
    let t = lifetime(300);
    assert!(policy.is_fresh(&t, NOW.plus_secs(269)));
    assert!(!policy.is_fresh(&t, NOW.plus_secs(270)));
    let t = lifetime(899);
    assert!(policy.is_fresh(&t, NOW.plus_secs(808)));
    assert!(!policy.is_fresh(&t, NOW.plus_secs(809)));

    let skewed = ExpiryPolicy {
        margin_secs: None,
        clock_skew_secs: 60,
    };
    let t = lifetime(300);
    assert!(skewed.is_fresh(&t, NOW.plus_secs(209)));
    assert!(!skewed.is_fresh(&t, NOW.plus_secs(210)));
}

#[wasm_bindgen_test(unsupported = test)]
fn without_expires_in_the_access_tokens_own_exp_counts() {
    // header {"alg":"none"}, claims {"iat":1700000000,"exp":1700000600}
    let jwt = "eyJhbGciOiJub25lIn0.eyJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDAwMDYwMH0.";
    let t = tokens(
        &format!(r#"{{"access_token":"{jwt}","token_type":"Bearer"}}"#),
        NOW,
    );
    let policy = ExpiryPolicy::default();
    // Lifetime 600 s from exp - iat: margin 60 s.
    assert_eq!(policy.replace_at(&t), Some(NOW.plus_secs(540)));
    // An opaque token without expires_in is kept until invalidated.
    let opaque = tokens(r#"{"access_token":"opaque","token_type":"Bearer"}"#, NOW);
    assert_eq!(policy.replace_at(&opaque), None);
    assert!(policy.is_fresh(&opaque, NOW.plus_secs(10_000_000)));
}

#[wasm_bindgen_test(unsupported = test)]
fn the_cache_serves_until_the_margin_then_the_refresh_token_is_used_and_rotated() {
    let mut source = password_source(ExpiryPolicy::default());
    assert!(source.fresh(NOW).is_none());

    let (sent, refreshed) = acquire(
        &mut source,
        vec![json(
            200,
            r#"{"access_token":"at-1","token_type":"Bearer","expires_in":300,"refresh_token":"rt-1"}"#,
        )],
    );
    assert!(!refreshed.unwrap());
    assert_eq!(
        sent[0].body_text(),
        "grant_type=password&username=alice&password=pw-1&scope=openid+offline_access"
    );
    assert_eq!(
        source
            .fresh(NOW.plus_secs(269))
            .unwrap()
            .access_token
            .expose(),
        "at-1"
    );
    assert!(source.fresh(NOW.plus_secs(270)).is_none());

    // RFC 6749 §6: grant_type, refresh_token, the original scope, and the
    // same client authentication.
    let (sent, refreshed) = acquire(
        &mut source,
        vec![json(
            200,
            r#"{"access_token":"at-2","token_type":"Bearer","expires_in":300,"refresh_token":"rt-2"}"#,
        )],
    );
    assert!(refreshed.unwrap());
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].url, ENDPOINT);
    assert_eq!(headers(&sent[0]), [FORM, ACCEPT, BASIC]);
    assert_eq!(
        sent[0].body_text(),
        "grant_type=refresh_token&refresh_token=rt-1&scope=openid+offline_access"
    );

    // The new refresh token replaced the old one.
    let (sent, _) = acquire(
        &mut source,
        vec![json(
            200,
            r#"{"access_token":"at-3","token_type":"Bearer","expires_in":300}"#,
        )],
    );
    assert_eq!(
        sent[0].body_text(),
        "grant_type=refresh_token&refresh_token=rt-2&scope=openid+offline_access"
    );
    // No refresh token in that answer: the old one stays usable.
    let (sent, _) = acquire(
        &mut source,
        vec![json(
            200,
            r#"{"access_token":"at-4","token_type":"Bearer","expires_in":300}"#,
        )],
    );
    assert!(sent[0].body_text().contains("refresh_token=rt-2"));
    assert_eq!(source.fresh(NOW).unwrap().access_token.expose(), "at-4");
}

#[wasm_bindgen_test(unsupported = test)]
fn invalid_grant_on_refresh_falls_back_to_the_original_grant() {
    let mut source = password_source(ExpiryPolicy::default());
    seed(
        &mut source,
        vec![json(
            200,
            r#"{"access_token":"at-1","token_type":"Bearer","expires_in":300,"refresh_token":"rt-1"}"#,
        )],
    );
    let (sent, refreshed) = acquire(
        &mut source,
        vec![
            json(
                400,
                r#"{"error":"invalid_grant","error_description":"grant request is invalid"}"#,
            ),
            json(
                200,
                r#"{"access_token":"at-2","token_type":"Bearer","expires_in":300,"refresh_token":"rt-9"}"#,
            ),
        ],
    );
    assert!(!refreshed.unwrap());
    assert_eq!(sent.len(), 2);
    assert!(sent[0]
        .body_text()
        .starts_with("grant_type=refresh_token&refresh_token=rt-1"));
    assert!(sent[1]
        .body_text()
        .starts_with("grant_type=password&username=alice"));
    assert_eq!(source.fresh(NOW).unwrap().access_token.expose(), "at-2");
    let (sent, _) = acquire(
        &mut source,
        vec![json(
            200,
            r#"{"access_token":"at-3","token_type":"Bearer"}"#,
        )],
    );
    assert!(sent[0].body_text().contains("refresh_token=rt-9"));
}

#[wasm_bindgen_test(unsupported = test)]
fn a_failed_refresh_keeps_the_refresh_token_unless_the_server_refused_it() {
    let mut source = password_source(ExpiryPolicy::default());
    seed(
        &mut source,
        vec![json(
            200,
            r#"{"access_token":"at-1","token_type":"Bearer","expires_in":300,"refresh_token":"rt-1"}"#,
        )],
    );
    // A passing failure: the error goes to the caller, nothing else changes.
    let (sent, result) = acquire(
        &mut source,
        vec![json(503, r#"{"error":"temporarily_unavailable"}"#)],
    );
    assert_eq!(sent.len(), 1);
    assert_eq!(result.unwrap_err().code(), "OAUTH_ERROR");
    assert_eq!(
        source.fresh(NOW).unwrap().access_token.expose(),
        "at-1",
        "the cache is not poisoned"
    );

    // Refused, and the fall back fails too: the refresh token is dropped,
    // so the next run starts with the original grant.
    let (sent, result) = acquire(
        &mut source,
        vec![
            json(400, r#"{"error":"invalid_grant"}"#),
            json(401, r#"{"error":"invalid_client"}"#),
        ],
    );
    assert_eq!(sent.len(), 2);
    assert_eq!(result.unwrap_err().code(), "OAUTH_ERROR");
    let (sent, _) = acquire(
        &mut source,
        vec![json(
            200,
            r#"{"access_token":"at-2","token_type":"Bearer","expires_in":300}"#,
        )],
    );
    assert!(sent[0].body_text().starts_with("grant_type=password"));
}

#[wasm_bindgen_test(unsupported = test)]
fn invalidate_forces_new_tokens_and_invalidate_token_only_hits_the_current_one() {
    let mut source = password_source(ExpiryPolicy::default());
    seed(
        &mut source,
        vec![json(
            200,
            r#"{"access_token":"at-1","token_type":"Bearer","expires_in":3600,"refresh_token":"rt-1"}"#,
        )],
    );
    assert!(!source.invalidate_token("at-0"), "an older token");
    assert!(source.fresh(NOW).is_some());
    assert!(source.invalidate_token("at-1"));
    assert!(source.fresh(NOW).is_none());
    // The refresh token survives an invalidation.
    let (sent, _) = acquire(
        &mut source,
        vec![json(
            200,
            r#"{"access_token":"at-2","token_type":"Bearer","expires_in":3600}"#,
        )],
    );
    assert!(sent[0].body_text().contains("refresh_token=rt-1"));
    assert_eq!(source.fresh(NOW).unwrap().access_token.expose(), "at-2");
    source.invalidate();
    assert!(source.fresh(NOW).is_none());
}

/// `fresh_until_ms` agrees with `fresh` at every millisecond around the
/// boundary, and after each change of the cache.
#[wasm_bindgen_test(unsupported = test)]
fn fresh_until_ms_is_where_fresh_stops() {
    let agrees = |source: &TokenSource| {
        let until = source.fresh_until_ms();
        let probes = [0, 1, 999, 1000, 1001];
        let around = NOW.as_secs() * 1000;
        for ms in (around..around + 400_000).step_by(997).chain(probes) {
            let at = UnixTime::from_secs(ms / 1000);
            assert_eq!(
                source.fresh(at).is_some(),
                ms < until,
                "at {ms} ms, until {until}"
            );
        }
        until
    };
    let mut source = password_source(ExpiryPolicy::default());
    assert_eq!(agrees(&source), 0, "empty");
    seed(
        &mut source,
        vec![json(
            200,
            r#"{"access_token":"at-1","token_type":"Bearer","expires_in":300,"refresh_token":"rt-1"}"#,
        )],
    );
    // 300 s, less the default margin of 30 s (a tenth of the lifetime).
    assert_eq!(agrees(&source), (NOW.as_secs() + 270) * 1000);
    source.invalidate();
    assert_eq!(agrees(&source), 0, "invalidated");
    source.adopt(tokens(
        r#"{"access_token":"at-2","token_type":"Bearer"}"#,
        NOW,
    ));
    assert_eq!(
        agrees(&source),
        u64::MAX,
        "no expiry: kept until invalidated"
    );
    assert!(source.invalidate_token("at-2"));
    assert_eq!(agrees(&source), 0, "its token rejected");
}

#[wasm_bindgen_test(unsupported = test)]
fn client_credentials_without_a_refresh_token_just_run_again() {
    let client = ClientCredentials::new(ClientCredentialsSettings::new(
        ENDPOINT,
        "app",
        Secret::new("app-secret"),
    ))
    .unwrap();
    let mut source = TokenSource::new(Box::new(Rc::new(client)), ExpiryPolicy::default());
    for expected in ["at-1", "at-2"] {
        let (sent, refreshed) = acquire(
            &mut source,
            vec![json(
                200,
                &format!(
                    r#"{{"access_token":"{expected}","token_type":"Bearer","expires_in":300}}"#
                ),
            )],
        );
        assert!(!refreshed.unwrap());
        assert_eq!(sent[0].body_text(), "grant_type=client_credentials");
        assert_eq!(headers(&sent[0]), [FORM, ACCEPT, BASIC]);
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn acp_logs_in_again_instead_of_refreshing() {
    let login = AcpLogin::new(AcpLoginSettings {
        platform_url: "https://acp.example.com".into(),
        username: "admin".into(),
        password: Secret::new("pw"),
        idp: grantkit::flow::acp::AcpIdp::Local,
        allow_insecure_http: false,
    })
    .unwrap();
    let mut source = TokenSource::new(Box::new(Rc::new(login)), ExpiryPolicy::default());
    source.accept(Acquired {
        tokens: tokens(
            r#"{"access_token":"at","token_type":"Bearer","expires_in":1,"refresh_token":"rt"}"#,
            NOW,
        ),
        refreshed: false,
    });
    let flow = source.acquire(Box::new(TestRng::default()));
    assert!(!flow.refreshes());
}

#[wasm_bindgen_test(unsupported = test)]
fn stored_tokens_round_trip_and_anything_else_is_a_miss() {
    let t = tokens(
        r#"{"access_token":"at-1","token_type":"bearer","expires_in":300,"refresh_token":"rt-1","id_token":"id-1","scope":"openid","ext_expires_in":3600}"#,
        NOW,
    );
    let key = "grantkit:v2:k1";
    let text = encode_stored(&t, key, None);
    assert_eq!(decode_stored(&text, key, None), Some(t.clone()));
    assert_eq!(store_ttl(&t, NOW.plus_secs(100)), Some(200));
    // A value copied under another key is not this configuration's.
    assert_eq!(decode_stored(&text, "grantkit:v2:k2", None), None);
    let big = format!(
        r#"{{"v":2,"key":"{key}","access_token":"a","token_type":"Bearer","raw":{{"pad":"{}"}}}}"#,
        "x".repeat(1 << 20)
    );
    for broken in [
        "",
        "null",
        "[]",
        "{}",
        r#"{"v":1,"key":"grantkit:v2:k1","access_token":"a","token_type":"Bearer","raw":{}}"#,
        r#"{"v":2,"access_token":"a","token_type":"Bearer","raw":{}}"#,
        r#"{"v":2,"key":"grantkit:v2:k1","access_token":"","token_type":"Bearer","raw":{}}"#,
        r#"{"v":2,"key":"grantkit:v2:k1","access_token":"a\r\nX: 1","token_type":"Bearer","raw":{}}"#,
        r#"{"v":2,"key":"grantkit:v2:k1","access_token":"a","refresh_token":"r\u001b","token_type":"Bearer","raw":{}}"#,
        r#"{"v":2,"key":"grantkit:v2:k1","access_token":"a","token_type":"MAC","raw":{}}"#,
        r#"{"v":2,"key":"grantkit:v2:k1","access_token":"a","token_type":"Bearer","expires_at":"soon","raw":{}}"#,
        r#"{"v":2,"key":"grantkit:v2:k1","access_token":"a","token_type":"Bearer"}"#,
        big.as_str(),
    ] {
        assert_eq!(decode_stored(broken, key, None), None, "{broken:.100}");
    }
    let fine =
        r#"{"v":2,"key":"grantkit:v2:k1","access_token":"a","token_type":"Bearer","raw":{}}"#;
    assert!(decode_stored(fine, key, None).is_some());
}

#[wasm_bindgen_test(unsupported = test)]
fn stored_dpop_tokens_carry_their_keys_thumbprint_and_go_to_that_key_only() {
    let t = tokens(
        r#"{"access_token":"at-1","token_type":"DPoP","expires_in":300,"refresh_token":"rt-1"}"#,
        NOW,
    );
    assert_eq!(t.token_type, "DPoP");
    let key = "grantkit:v2:k1";
    let jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
    let text = encode_stored(&t, key, Some(jkt));
    assert!(text.contains(&format!(r#""jkt":"{jkt}""#)), "{text}");
    assert_eq!(decode_stored(&text, key, Some(jkt)), Some(t.clone()));
    // Another key pair, or a Bearer source: a miss.
    assert_eq!(decode_stored(&text, key, Some("another-thumbprint")), None);
    assert_eq!(decode_stored(&text, key, None), None);
    // A Bearer token under a DPoP source's key, or a DPoP token without
    // a thumbprint: a miss.
    let bearer = encode_stored(
        &tokens(r#"{"access_token":"a","token_type":"Bearer"}"#, NOW),
        key,
        None,
    );
    assert_eq!(decode_stored(&bearer, key, Some(jkt)), None);
    let unbound =
        format!(r#"{{"v":2,"key":"{key}","access_token":"a","token_type":"DPoP","raw":{{}}}}"#);
    assert_eq!(decode_stored(&unbound, key, Some(jkt)), None);
    assert_eq!(decode_stored(&unbound, key, None), None);
}

#[wasm_bindgen_test(unsupported = test)]
fn the_store_key_names_the_configuration_and_binds_its_credentials() {
    let key = |user: &str, password: &str, scope: &str| {
        let mut settings = PasswordGrantSettings::new(ENDPOINT, "app", user, Secret::new(password));
        settings.client.scope = vec![scope.into()];
        TokenSource::new(
            Box::new(Rc::new(PasswordGrant::new(settings).unwrap())),
            ExpiryPolicy::default(),
        )
        .store_key()
    };
    let alice = key("alice", "pw-1", "openid");
    // Computed independently (Python hashlib): SHA-256 over
    // "grantkit store key v2\0", each of kind, endpoint, grant type, client
    // id, scope and "username=alice" with a 64-bit big-endian length prefix,
    // then SHA-256("grantkit credential binding v1\0" || len "password" ||
    // len "pw-1").
    assert_eq!(
        alice,
        "grantkit:v2:DGa6xwlXmdk1upxZoMGbZ7TdFKZs4B7qZGZT24cBOGM"
    );
    for secret_or_name in ["pw-1", "alice", "app", "sso.example.com"] {
        assert!(!alice.contains(secret_or_name));
    }
    // A wrong password must never read the tokens a right one stored.
    assert_ne!(alice, key("alice", "pw-2", "openid"));
    assert_ne!(alice, key("bob", "pw-1", "openid"));
    assert_ne!(alice, key("alice", "pw-1", "profile"));
    // Length prefixes: moving a byte from one part to the next changes the key.
    assert_ne!(
        key("alice", "pw-1", "openid"),
        key("alic", "epw-1", "openid")
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn every_credential_is_bound_into_the_store_key() {
    let cc = |secret: &str| {
        let settings = ClientCredentialsSettings::new(ENDPOINT, "app", Secret::new(secret));
        TokenSource::new(
            Box::new(Rc::new(ClientCredentials::new(settings).unwrap())),
            ExpiryPolicy::default(),
        )
        .store_key()
    };
    assert_ne!(cc("secret-1"), cc("secret-2"));
    assert_eq!(cc("secret-1"), cc("secret-1"));
    let acp = |password: &str| {
        let login = AcpLogin::new(AcpLoginSettings {
            platform_url: "https://acp.example.com".into(),
            username: "admin".into(),
            password: Secret::new(password),
            idp: grantkit::flow::acp::AcpIdp::Local,
            allow_insecure_http: false,
        })
        .unwrap();
        TokenSource::new(Box::new(Rc::new(login)), ExpiryPolicy::default()).store_key()
    };
    assert_ne!(acp("right"), acp("wrong"));
    let jwt = |pem: &str| {
        let key = Arc::new(PrivateKey::parse(pem).unwrap());
        let settings = JwtBearerSettings::new(ENDPOINT, key, "service-account-1");
        TokenSource::new(
            Box::new(Rc::new(JwtBearer::new(settings).unwrap())),
            ExpiryPolicy::default(),
        )
        .store_key()
    };
    let (key_a, key_b) = (
        include_str!("fixtures/rsa2048.pkcs8.pem"),
        include_str!("fixtures/other2048.pkcs8.pem"),
    );
    assert_ne!(jwt(key_a), jwt(key_b));
    assert_eq!(jwt(key_a), jwt(key_a));
}

#[wasm_bindgen_test(unsupported = test)]
fn debug_output_of_a_source_shows_no_token() {
    let mut source = password_source(ExpiryPolicy::default());
    seed(
        &mut source,
        vec![json(
            200,
            r#"{"access_token":"at-SECRET","token_type":"Bearer","expires_in":300,"refresh_token":"rt-SECRET"}"#,
        )],
    );
    let text = format!("{source:?}");
    assert!(!text.contains("SECRET"), "{text}");
    assert!(text.contains("Password"), "{text}");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_device_source_refreshes_with_the_device_codes_scope_and_falls_back_to_a_new_code() {
    use grantkit::flow::{DeviceAuthorization, DeviceAuthorizationSettings};
    let mut settings = DeviceAuthorizationSettings::new(
        "https://idp.example.com/device/auth",
        "https://idp.example.com/token",
        "tv",
    );
    settings.client.scope = vec!["openid".into(), "offline_access".into()];
    let device = DeviceAuthorization::new(settings).unwrap();
    let mut source = TokenSource::new(Box::new(Rc::new(device)), ExpiryPolicy::default());
    source.accept(Acquired {
        tokens: tokens(
            r#"{"access_token":"at-1","token_type":"Bearer","expires_in":300,"refresh_token":"rt-1"}"#,
            NOW,
        ),
        refreshed: false,
    });
    source.invalidate();

    let mut flow = source.acquire(Box::new(TestRng::default()));
    let first = match grantkit::flow::Flow::poll(&mut flow, NOW).unwrap() {
        grantkit::flow::Action::Send(request) => request,
        other => panic!("{other:?}"),
    };
    // RFC 6749 §6 with the scope the device code was asked for; a public
    // client sends its client_id.
    assert_eq!(first.url, "https://idp.example.com/token");
    assert_eq!(
        first.body_text(),
        "grant_type=refresh_token&refresh_token=rt-1&scope=openid+offline_access&client_id=tv"
    );
    grantkit::flow::Flow::handle_response(
        &mut flow,
        json(400, r#"{"error":"invalid_grant"}"#),
        NOW,
    )
    .unwrap();
    let second = match grantkit::flow::Flow::poll(&mut flow, NOW).unwrap() {
        grantkit::flow::Action::Send(request) => request,
        other => panic!("{other:?}"),
    };
    assert_eq!(second.url, "https://idp.example.com/device/auth");
    assert_eq!(
        second.body_text(),
        "scope=openid+offline_access&client_id=tv"
    );
    assert!(flow.refresh_rejected());
}
