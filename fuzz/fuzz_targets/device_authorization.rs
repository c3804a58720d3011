//! The device flow (RFC 8628) driven with scripted responses: the first is
//! the device authorization response (§3.2), the next ones answer the
//! token polls (§3.5: authorization_pending, slow_down, tokens, ...).
//! Waits advance the clock; a reply starting with `!` is a network error.
//! Errors must never quote the client secret.
#![no_main]

use grantkit::client_auth::{ClientAuthMethod, ClientCredential};
use grantkit::flow::{DeviceAuthorization, DeviceAuthorizationSettings};
use grantkit::Secret;
use grantkit_fuzz::{
    check_error, drive, parse_reply, split, FuzzRng, Outcome, NOW, RESPONSE_SEPARATOR,
};
use libfuzzer_sys::fuzz_target;

// No space: excerpt folds control characters into spaces after scrubbing,
// which the excerpt_folding target covers; here it would end every run.
const SECRET: &str = "s3cr3t-Pa55/w0rd+é";

fuzz_target!(|data: &[u8]| {
    let mut settings = DeviceAuthorizationSettings::new(
        "https://idp.example.com/device",
        "https://idp.example.com/token",
        "device-client",
    );
    // A confidential client on half the inputs, so the redactor has a secret.
    let confidential = data.len() % 2 == 1;
    let secrets: &[&str] = if confidential { &[SECRET] } else { &[] };
    if confidential {
        settings.client.credential = ClientCredential::Secret {
            secret: Secret::new(SECRET),
            method: ClientAuthMethod::Post,
        };
    }
    settings.client.scope = vec!["openid".into(), "offline_access".into()];
    let config = DeviceAuthorization::new(settings).expect("fixed settings are valid");
    let mut flow = config.start(Box::new(FuzzRng::new(7)));

    let responses = split(data, RESPONSE_SEPARATOR).into_iter().map(parse_reply);
    let check_request = |request: &grantkit::HttpRequest| {
        assert!(request.url.starts_with("https://idp.example.com/"), "{}", request.url);
    };
    match drive(&mut flow, responses, NOW, check_request) {
        Outcome::Done(tokens) => {
            let _ = format!("{tokens:?}");
        }
        Outcome::Failed(error) => {
            check_error(&error, secrets, &[]);
        }
        Outcome::OutOfResponses | Outcome::StepLimit => {}
    }
});
