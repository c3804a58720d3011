//! Token responses and OAuth error responses (RFC 6749 §5.1, §5.2): any
//! status, headers and body, read by `parse_token_response` directly and by
//! a client credentials flow. Errors must never quote the client secret
//! or the Basic credentials the flow sent.
#![no_main]

use grantkit::flow::{Action, ClientCredentials, ClientCredentialsSettings, Flow};
use grantkit::redact::Redactor;
use grantkit::token::parse_token_response;
use grantkit::Secret;
use grantkit_fuzz::{basic_credentials, check_error, parse_response, FuzzRng, NOW};
use libfuzzer_sys::fuzz_target;

// No space: excerpt folds control characters into spaces after scrubbing,
// which the excerpt_folding target covers; here it would end every run.
const SECRET: &str = "s3cr3t-Pa55/w0rd+é";

fuzz_target!(|data: &[u8]| {
    let response = parse_response(data);
    let secret = Secret::new(SECRET);
    match parse_token_response(&response, NOW, &Redactor::new([&secret])) {
        Ok(tokens) => {
            let _ = format!("{tokens:?}");
        }
        Err(error) => {
            check_error(&error, &[SECRET], &[]);
        }
    }

    // The same response through a flow: the request, then the response.
    let client = ClientCredentials::new(ClientCredentialsSettings::new(
        "https://idp.example.com/token",
        "client",
        secret,
    ))
    .expect("fixed settings are valid");
    let mut flow = client.start(&mut FuzzRng::new(1));
    let Ok(Action::Send(_)) = flow.poll(NOW) else {
        panic!("a client credentials flow starts with a request");
    };
    // The client authenticates with Basic (the default): its header too
    // must never come back in an error.
    let basic = basic_credentials("client", SECRET);
    match flow.handle_response(response, NOW).and_then(|()| flow.poll(NOW)) {
        Ok(_) => {}
        Err(error) => {
            check_error(&error, &[SECRET], &[&basic]);
        }
    }
});
