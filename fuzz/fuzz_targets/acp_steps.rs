//! The ACP session login (`grantkit::flow::AcpLogin`): five scripted
//! replies, one per step, with their statuses, headers and `Set-Cookie`
//! values. In a reply body, `$PUBKEY` is replaced by the PEM of a real
//! 2048-bit RSA public key (JSON-escaped) and `$PUBKEY_B64` by its base64,
//! so that step 3 usually yields a key and steps 4 and 5 are reached. A
//! reply starting with `!` is a network error (`Flow::transport_failed`).
//! Errors must never quote the password.
#![no_main]

use grantkit::flow::{AcpLogin, AcpLoginSettings};
use grantkit::Secret;
use grantkit_fuzz::{acp_replies, check_error, drive, FuzzRng, Outcome, NOW};
use libfuzzer_sys::fuzz_target;

const PLATFORM: &str = "https://acp.example.com";
// No space: excerpt folds control characters into spaces after scrubbing,
// which the excerpt_folding target covers; here it would end every run.
const PASSWORD: &str = "s3cr3t-Pa55/w0rd+é";

fuzz_target!(|data: &[u8]| {
    let login = AcpLogin::new(AcpLoginSettings {
        platform_url: PLATFORM.into(),
        username: "admin".into(),
        password: Secret::new(PASSWORD),
        idp: "local".into(),
        allow_insecure_http: false,
    })
    .expect("fixed settings are valid");
    let mut flow = login.start(Box::new(FuzzRng::new(3)));
    let check_request = |request: &grantkit::HttpRequest| {
        assert!(request.url.starts_with(PLATFORM), "{}", request.url);
    };
    match drive(&mut flow, acp_replies(data), NOW, check_request) {
        Outcome::Done(tokens) => {
            let _ = format!("{tokens:?}");
        }
        Outcome::Failed(error) => {
            check_error(&error, &[PASSWORD], &[]);
        }
        Outcome::OutOfResponses | Outcome::StepLimit => {}
    }
});
