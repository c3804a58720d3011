//! Endpoint URLs and origins on any text, with and without
//! `allow_insecure_http`. `check_endpoint` returns the URL unchanged or an
//! error; `parse_origin` accepts only what `check_endpoint` accepts; and
//! an origin that `parse_origin` accepts is the one `api_call::origin_of`
//! finds in the same text, so `ApiPolicy::check_url` lets the token go to
//! an allowed origin written the same way.
#![no_main]

use grantkit::api_call::{origin_of, ApiPolicy, ApiSettings};
use grantkit::endpoint::{check_endpoint, parse_origin, UrlParts};
use grantkit::source::GrantKind;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let url = String::from_utf8_lossy(data);
    let _ = format!("{:?}", UrlParts::split(&url));
    let found = origin_of(&url);
    for allow_insecure_http in [false, true] {
        let checked = check_endpoint("tokenEndpoint", &url, allow_insecure_http);
        match &checked {
            Ok(same) => assert_eq!(same, &url, "check_endpoint changed the URL"),
            Err(error) => {
                let _ = format!("{error} {error:?} {}", error.code());
            }
        }
        match parse_origin("allowedOrigins", &url, allow_insecure_http) {
            Ok(origin) => {
                assert!(checked.is_ok(), "an origin that is not a valid endpoint");
                assert!(
                    origin.starts_with("https://") || origin.starts_with("http://"),
                    "{origin}"
                );
                assert_eq!(found.as_deref(), Some(origin.as_str()), "origin_of disagrees");
                let policy = ApiPolicy::new(
                    ApiSettings {
                        allowed_origins: vec![url.to_string()],
                        allow_insecure_http,
                        ..ApiSettings::default()
                    },
                    GrantKind::ClientCredentials,
                )
                .expect("an origin parse_origin accepts configures a policy");
                assert!(policy.check_url(&url).is_ok(), "an allowed origin is refused");
            }
            Err(error) => {
                let _ = format!("{error} {error:?} {}", error.code());
            }
        }
    }
});
