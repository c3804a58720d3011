//! The seeds still reach what they were written for: a change in the
//! crate (a new required field, a stricter check) would otherwise leave the
//! fuzzer starting from inputs that fail at the first step. Runs with
//! plain `cargo test` in fuzz/.

use grantkit::flow::{AcpLogin, AcpLoginSettings, DeviceAuthorization, DeviceAuthorizationSettings};
use grantkit::Secret;
use grantkit_fuzz::{
    acp_replies, drive, parse_reply, parse_response, split, FuzzRng, Outcome, NOW,
    RESPONSE_SEPARATOR,
};

fn seed(target: &str, name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/corpus/{target}/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn acp_login_seeds_reach_the_tokens() {
    for name in ["login", "login_pubkey_encode"] {
        let login = AcpLogin::new(AcpLoginSettings {
            platform_url: "https://acp.example.com".into(),
            username: "admin".into(),
            password: Secret::new("pw"),
            idp: "local".into(),
            allow_insecure_http: false,
        })
        .unwrap();
        let mut flow = login.start(Box::new(FuzzRng::new(3)));
        let outcome = drive(&mut flow, acp_replies(&seed("acp_steps", name)), NOW, |_| {});
        assert!(matches!(outcome, Outcome::Done(_)), "{name}: {outcome:?}");
    }
}

#[test]
fn device_seeds_reach_the_tokens() {
    for name in ["approved", "approved_odd", "google_url"] {
        let settings = DeviceAuthorizationSettings::new(
            "https://idp.example.com/device",
            "https://idp.example.com/token",
            "device-client",
        );
        let mut flow = DeviceAuthorization::new(settings)
            .unwrap()
            .start(Box::new(FuzzRng::new(7)));
        let data = seed("device_authorization", name);
        let responses = split(&data, RESPONSE_SEPARATOR).into_iter().map(parse_reply);
        let outcome = drive(&mut flow, responses, NOW, |_| {});
        assert!(matches!(outcome, Outcome::Done(_)), "{name}: {outcome:?}");
    }
}

#[test]
fn token_seeds_parse() {
    let redactor = grantkit::redact::Redactor::default();
    for name in ["ok_bearer", "ok_full", "ok_float_expiry"] {
        let response = parse_response(&seed("token_response", name));
        let result = grantkit::token::parse_token_response(&response, NOW, &redactor);
        assert!(result.is_ok(), "{name}: {result:?}");
    }
}
