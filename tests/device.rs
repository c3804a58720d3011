//! The device authorization grant (RFC 8628) driven with a simulated clock:
//! the exact requests, when each goes out, and every polling branch.

mod common;

use common::{drive_timed, headers, json, sent, waits, Event, Outcome, TestRng, NOW};
use grantkit::client_auth::{ClientAuthMethod, ClientCredential};
use grantkit::flow::{
    Action, DeviceAuthorization, DeviceAuthorizationSettings, DevicePrompt, Flow,
};
use grantkit::keys::PrivateKey;
use grantkit::{Error, Method, Secret};
use std::sync::Arc;
use wasm_bindgen_test::wasm_bindgen_test;

const DEVICE_ENDPOINT: &str = "https://idp.example.com/device/auth";
const TOKEN_ENDPOINT: &str = "https://idp.example.com/token";
const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");
const ACCEPT: (&str, &str) = ("Accept", "application/json");
const POLL_BODY: &str = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=dc-SECRET-1&client_id=tv-app";
const TOKENS: &str = r#"{"access_token":"at-1","token_type":"Bearer","expires_in":300,"refresh_token":"rt-1","id_token":"id-1","scope":"openid offline_access"}"#;

fn settings() -> DeviceAuthorizationSettings {
    let mut settings = DeviceAuthorizationSettings::new(DEVICE_ENDPOINT, TOKEN_ENDPOINT, "tv-app");
    settings.client.scope = vec!["openid".into(), "offline_access".into()];
    settings
}

fn device_response(extra: &str) -> grantkit::HttpResponse {
    json(
        200,
        &format!(
            r#"{{"device_code":"dc-SECRET-1","user_code":"WDJB-MJHT","verification_uri":"https://idp.example.com/device","verification_uri_complete":"https://idp.example.com/device?user_code=WDJB-MJHT","expires_in":600{extra}}}"#
        ),
    )
}

fn error(code: &str) -> grantkit::HttpResponse {
    json(400, &format!(r#"{{"error":"{code}"}}"#))
}

fn start(settings: DeviceAuthorizationSettings) -> grantkit::flow::DeviceFlow {
    DeviceAuthorization::new(settings)
        .unwrap()
        .start(Box::new(TestRng::default()))
}

#[wasm_bindgen_test(unsupported = test)]
fn asks_for_a_code_prompts_then_polls_through_pending_and_slow_down() {
    let mut flow = start(settings());
    let (events, outcome) = drive_timed(
        &mut flow,
        vec![
            device_response(""),
            error("authorization_pending"),
            error("slow_down"),
            error("slow_down"),
            error("authorization_pending"),
            json(200, TOKENS),
        ],
        None,
    );

    let requests = sent(&events);
    let device = requests[0].1;
    assert_eq!(device.method, Method::Post);
    assert_eq!(device.url, DEVICE_ENDPOINT);
    assert_eq!(headers(device), [FORM, ACCEPT]);
    // RFC 8628 §3.1: client_id and scope, no grant_type.
    assert_eq!(
        device.body_text(),
        "scope=openid+offline_access&client_id=tv-app"
    );
    // No interval in the response: 5 s (RFC 8628 §3.2); each slow_down adds
    // 5 s for this and every later poll (§3.5).
    assert_eq!(
        requests.iter().map(|(at, _)| *at).collect::<Vec<_>>(),
        [0, 5, 10, 20, 35, 50]
    );
    assert_eq!(waits(&events), [5, 5, 10, 15, 15]);
    for (_, poll) in &requests[1..] {
        assert_eq!(poll.url, TOKEN_ENDPOINT);
        assert_eq!(headers(poll), [FORM, ACCEPT]);
        assert_eq!(poll.body_text(), POLL_BODY);
    }
    // The prompt comes once, right after the device authorization response.
    assert!(matches!(events[1], Event::Prompted(_)));
    let prompts: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Prompted(p) => Some(p.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        prompts,
        [DevicePrompt {
            user_code: "WDJB-MJHT".into(),
            verification_uri: "https://idp.example.com/device".into(),
            verification_uri_complete: Some(
                "https://idp.example.com/device?user_code=WDJB-MJHT".into()
            ),
            expires_in: 600,
        }]
    );
    let Outcome::Done(tokens) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(tokens.access_token.expose(), "at-1");
    assert_eq!(tokens.refresh_token.as_ref().unwrap().expose(), "rt-1");
    assert_eq!(tokens.id_token.as_ref().unwrap().expose(), "id-1");
    assert_eq!(
        tokens.expires_at,
        Some(common::NOW.plus_secs(50).plus_secs(300))
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn the_servers_interval_is_used_and_a_zero_interval_becomes_one_second() {
    let (events, _) = drive_timed(
        &mut start(settings()),
        vec![
            device_response(r#","interval":2"#),
            error("authorization_pending"),
            json(200, TOKENS),
        ],
        None,
    );
    assert_eq!(waits(&events), [2, 2]);

    let (events, _) = drive_timed(
        &mut start(settings()),
        vec![device_response(r#","interval":0"#), json(200, TOKENS)],
        None,
    );
    assert_eq!(waits(&events), [1]);
}

#[wasm_bindgen_test(unsupported = test)]
fn access_denied_stops_with_its_own_code() {
    let (events, outcome) = drive_timed(
        &mut start(settings()),
        vec![
            device_response(""),
            error("authorization_pending"),
            json(
                400,
                r#"{"error":"access_denied","error_description":"End-User aborted interaction"}"#,
            ),
        ],
        None,
    );
    let Outcome::Failed(error) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(error.code(), "DEVICE_ACCESS_DENIED");
    assert_eq!(error.status(), Some(400));
    let Error::Device {
        server: Some(server),
        ..
    } = &error
    else {
        panic!("{error:?}")
    };
    assert_eq!(server.error, "access_denied");
    assert_eq!(
        server.error_description.as_deref(),
        Some("End-User aborted interaction")
    );
    assert_eq!(sent(&events).len(), 3);
}

#[wasm_bindgen_test(unsupported = test)]
fn expired_token_from_the_server_stops_with_its_own_code() {
    let (events, outcome) = drive_timed(
        &mut start(settings()),
        vec![device_response(""), error("expired_token")],
        None,
    );
    let Outcome::Failed(error) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(error.code(), "DEVICE_EXPIRED_TOKEN");
    assert_eq!(error.status(), Some(400));
    assert_eq!(sent(&events).len(), 2);
}

#[wasm_bindgen_test(unsupported = test)]
fn the_codes_own_expiry_stops_polling_without_another_request() {
    let mut settings = settings();
    settings.client.scope.clear();
    let (events, outcome) = drive_timed(
        &mut start(settings),
        vec![
            json(
                200,
                r#"{"device_code":"dc-SECRET-1","user_code":"U","verification_uri":"https://idp.example.com/device","expires_in":12,"interval":5}"#,
            ),
            error("authorization_pending"),
            error("authorization_pending"),
        ],
        None,
    );
    let Outcome::Failed(error) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(error.code(), "DEVICE_CODE_EXPIRED");
    assert_eq!(error.status(), None);
    // Polls at 5 and 10; the last wait ends at the code's end (12), not at
    // 15, and then nothing more is sent.
    assert_eq!(
        sent(&events).iter().map(|(at, _)| *at).collect::<Vec<_>>(),
        [0, 5, 10]
    );
    assert_eq!(waits(&events), [5, 5, 2]);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_driver_that_stops_during_a_wait_leaves_nothing_in_flight() {
    let mut flow = start(settings());
    let (events, outcome) = drive_timed(
        &mut flow,
        vec![device_response(""), error("authorization_pending")],
        Some(2),
    );
    assert!(matches!(outcome, Outcome::Aborted));
    // The abort came during the second wait: two requests, nothing after.
    assert_eq!(sent(&events).len(), 2);
    assert_eq!(waits(&events), [5, 5]);
    // A response arriving now (a late one) is refused, not taken as tokens.
    let late = flow.handle_response(json(200, TOKENS), common::NOW);
    assert_eq!(late.unwrap_err().code(), "FLOW_MISUSE");
}

#[wasm_bindgen_test(unsupported = test)]
fn other_oauth_errors_while_polling_are_reported_as_they_are() {
    let (_, outcome) = drive_timed(
        &mut start(settings()),
        vec![
            device_response(""),
            json(401, r#"{"error":"invalid_client"}"#),
        ],
        None,
    );
    let Outcome::Failed(error) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(error.code(), "OAUTH_ERROR");
    assert_eq!(error.status(), Some(401));
}

#[wasm_bindgen_test(unsupported = test)]
fn a_confidential_client_authenticates_both_requests() {
    let mut settings = settings();
    settings.client.credential = ClientCredential::Secret {
        secret: Secret::new("tv-secret"),
        method: ClientAuthMethod::Basic,
    };
    let (events, outcome) = drive_timed(
        &mut start(settings),
        vec![device_response(""), json(200, TOKENS)],
        None,
    );
    assert!(matches!(outcome, Outcome::Done(_)));
    // base64("tv-app:tv-secret")
    let basic = ("Authorization", "Basic dHYtYXBwOnR2LXNlY3JldA==");
    let requests = sent(&events);
    for (_, request) in &requests {
        assert_eq!(headers(request), [FORM, ACCEPT, basic]);
    }
    // The device authorization request carries client_id in the body too
    // (django-oauth-toolkit refuses it without; RFC 8628 §3.1 allows it);
    // the token poll does not repeat it beside Basic.
    assert_eq!(
        requests[0].1.body_text(),
        "client_id=tv-app&scope=openid+offline_access"
    );
    assert_eq!(
        requests[1].1.body_text(),
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=dc-SECRET-1"
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn client_id_is_in_the_device_authorization_body_once_under_every_method() {
    for (method, expected) in [
        (
            ClientAuthMethod::Post,
            "scope=openid+offline_access&client_id=tv-app&client_secret=tv-secret-that-is-32-bytes-long%21%21",
        ),
        (ClientAuthMethod::Jwt, "scope=openid+offline_access&client_id=tv-app&client_assertion_type="),
    ] {
        let mut settings = settings();
        settings.client.credential = ClientCredential::Secret {
            secret: Secret::new("tv-secret-that-is-32-bytes-long!!"),
            method,
        };
        let mut flow = start(settings);
        let Ok(Action::Send(request)) = flow.poll(NOW) else {
            panic!("no request")
        };
        assert!(
            request.body_text().starts_with(expected),
            "{method:?}: {}",
            request.body_text()
        );
        assert_eq!(request.body_text().matches("client_id=").count(), 1);
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn private_key_jwt_signs_a_fresh_assertion_for_every_request() {
    let key = PrivateKey::parse(include_str!("fixtures/rsa2048.pkcs8.pem")).unwrap();
    let mut settings = settings();
    settings.client.credential = ClientCredential::PrivateKeyJwt {
        key: Arc::new(key),
        algorithm: None,
        certificate_pem: None,
    };
    let mut flow = DeviceAuthorization::new(settings)
        .unwrap()
        .start(Box::new(rsa::rand_core::OsRng));
    let (events, outcome) = drive_timed(
        &mut flow,
        vec![
            device_response(""),
            error("authorization_pending"),
            json(200, TOKENS),
        ],
        None,
    );
    assert!(matches!(outcome, Outcome::Done(_)));
    let mut jtis = Vec::new();
    for (_, request) in sent(&events) {
        let form = grantkit::http::form_urldecode(request.body_text());
        let assertion = &form
            .iter()
            .find(|(n, _)| n == "client_assertion")
            .expect("a client assertion")
            .1;
        let claims = grantkit::jwt::decode_unverified(assertion).unwrap().claims;
        // RFC 7523 §3: the token endpoint is the audience, for the device
        // authorization request too.
        assert_eq!(claims["aud"], TOKEN_ENDPOINT);
        assert_eq!(claims["iss"], "tv-app");
        jtis.push(claims["jti"].as_str().unwrap().to_owned());
    }
    jtis.sort();
    jtis.dedup();
    assert_eq!(jtis.len(), 3, "one jti per request");
}

#[wasm_bindgen_test(unsupported = test)]
fn broken_device_authorization_responses_get_their_own_code() {
    let cases = [
        (
            r#"{"user_code":"U","verification_uri":"https://x/d","expires_in":600}"#,
            "device_code",
        ),
        (
            r#"{"device_code":"dc","verification_uri":"https://x/d","expires_in":600}"#,
            "user_code",
        ),
        (
            r#"{"device_code":"dc","user_code":"U","expires_in":600}"#,
            "verification_uri",
        ),
        (
            r#"{"device_code":"dc","user_code":"U","verification_uri":"https://x/d"}"#,
            "expires_in",
        ),
        (
            r#"{"device_code":"dc","user_code":"U\u001b[2J","verification_uri":"https://x/d","expires_in":600}"#,
            "user_code",
        ),
        (
            r#"{"device_code":"dc","user_code":"U","verification_uri":"https://x/d","expires_in":-1}"#,
            "expires_in",
        ),
        (r#"[1]"#, "not an object"),
    ];
    for (body, what) in cases {
        let (events, outcome) = drive_timed(&mut start(settings()), vec![json(200, body)], None);
        let Outcome::Failed(error) = outcome else {
            panic!("{body}: {outcome:?}")
        };
        assert_eq!(error.code(), "DEVICE_INVALID_RESPONSE", "{body}");
        assert!(error.to_string().contains(what), "{body}: {error}");
        assert_eq!(sent(&events).len(), 1);
    }
    // Google's older member name is accepted.
    let (_, outcome) = drive_timed(
        &mut start(settings()),
        vec![
            json(
                200,
                r#"{"device_code":"dc","user_code":"U","verification_url":"https://x/d","expires_in":"600"}"#,
            ),
            json(200, TOKENS),
        ],
        None,
    );
    assert!(matches!(outcome, Outcome::Done(_)));
}

#[wasm_bindgen_test(unsupported = test)]
fn an_error_at_the_device_endpoint_is_an_oauth_error() {
    let (_, outcome) = drive_timed(
        &mut start(settings()),
        vec![json(
            400,
            r#"{"error":"invalid_scope","error_description":"offline_access is not allowed"}"#,
        )],
        None,
    );
    let Outcome::Failed(error) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(error.code(), "OAUTH_ERROR");
    assert_eq!(error.status(), Some(400));
}

#[wasm_bindgen_test(unsupported = test)]
fn the_device_code_never_appears_in_debug_output_or_errors() {
    let mut flow = start(settings());
    let (_, outcome) = drive_timed(
        &mut flow,
        vec![
            device_response(""),
            json(
                400,
                r#"{"error":"slow_down","error_description":"dc-SECRET-1"}"#,
            ),
            json(500, "upstream said dc-SECRET-1"),
        ],
        None,
    );
    let Outcome::Failed(error) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(error.code(), "RESPONSE_NOT_JSON");
    // The whole text is withheld, not only the code: around a marker the
    // context could give a short secret away.
    assert!(
        error.to_string().contains(grantkit::redact::WITHHELD),
        "{error}"
    );
    for text in [
        format!("{error}"),
        format!("{error:?}"),
        format!("{flow:?}"),
    ] {
        assert!(!text.contains("dc-SECRET-1"), "{text}");
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn endpoints_are_checked_before_any_request() {
    let mut bad = settings();
    bad.device_authorization_endpoint = Some("http://idp.example.com/device/auth".into());
    let error = DeviceAuthorization::new(bad).unwrap_err();
    assert_eq!(error.code(), "INVALID_CONFIG");
    assert!(
        matches!(error, Error::InvalidConfig { ref field, .. } if field == "deviceAuthorizationEndpoint")
    );

    let mut bad = settings();
    bad.client.token_endpoint = "ftp://idp.example.com/token".into();
    let error = DeviceAuthorization::new(bad).unwrap_err();
    assert!(matches!(error, Error::InvalidConfig { ref field, .. } if field == "tokenEndpoint"));
}

#[wasm_bindgen_test(unsupported = test)]
fn a_broken_device_authorization_response_keeps_its_status() {
    let (_, outcome) = drive_timed(&mut start(settings()), vec![json(200, "{}")], None);
    let Outcome::Failed(error) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(error.code(), "DEVICE_INVALID_RESPONSE");
    assert_eq!(error.status(), Some(200));
}

#[wasm_bindgen_test(unsupported = test)]
fn huge_interval_and_expires_in_are_cut_to_their_maxima() {
    // A broken server's {"interval": 1e9, "expires_in": 1e9} once made the
    // driver's timer overflow into a 1 ms busy loop. The interval is cut to
    // an hour, the code's lifetime to a day; slow_down never passes the cap.
    let mut flow = start(settings());
    let code = json(
        200,
        r#"{"device_code":"dc-SECRET-1","user_code":"WDJB-MJHT","verification_uri":"https://idp.example.com/device","expires_in":1000000000,"interval":1000000000}"#,
    );
    let (events, outcome) = drive_timed(
        &mut flow,
        vec![code, error("slow_down"), error("authorization_pending")],
        Some(3),
    );
    assert!(matches!(outcome, Outcome::Aborted), "{outcome:?}");
    let Some(Event::Prompted(prompt)) = events.get(1) else {
        panic!("{events:?}")
    };
    assert_eq!(prompt.expires_in, 86_400);
    assert_eq!(waits(&events), [3600, 3600, 3600]);
    assert_eq!(
        sent(&events).iter().map(|(at, _)| *at).collect::<Vec<_>>(),
        [0, 3600, 7200]
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn a_whole_number_written_as_a_decimal_is_accepted() {
    let mut flow = start(settings());
    let code = json(
        200,
        r#"{"device_code":"dc-SECRET-1","user_code":"WDJB-MJHT","verification_uri":"https://idp.example.com/device","expires_in":600.0,"interval":"7"}"#,
    );
    let (events, _) = drive_timed(&mut flow, vec![code], Some(1));
    assert!(
        matches!(events.get(1), Some(Event::Prompted(p)) if p.expires_in == 600),
        "{events:?}"
    );
    assert_eq!(waits(&events), [7]);
}

#[wasm_bindgen_test(unsupported = test)]
fn verification_uris_must_be_https_and_codes_visible() {
    let cases = [
        r#""verification_uri":"javascript:alert(1)""#,
        r#""verification_uri":"data:text/html,<script>x</script>""#,
        r#""verification_uri":"http://idp.example.com/device""#,
        r#""verification_uri":"/device""#,
        r#""verification_uri":"https://idp.example.com/device","verification_uri_complete":"javascript:alert(1)""#,
        r#""verification_uri":"https://idp.example.com/\u202edevice""#,
        r#""verification_uri":"https://idp.example.com/device\u200b""#,
        r#""verification_uri":"https://user@idp.example.com/device""#,
    ];
    for uri in cases {
        let body = format!(
            r#"{{"device_code":"dc-SECRET-1","user_code":"WDJB-MJHT",{uri},"expires_in":600}}"#
        );
        let mut flow = start(settings());
        let (events, outcome) = drive_timed(&mut flow, vec![json(200, &body)], None);
        assert!(
            !events.iter().any(|e| matches!(e, Event::Prompted(_))),
            "{uri}: prompted"
        );
        let Outcome::Failed(err) = outcome else {
            panic!("{uri}: {outcome:?}")
        };
        assert_eq!(err.code(), "DEVICE_INVALID_RESPONSE", "{uri}: {err}");
    }
    for user_code in [
        r#"WDJB\u202eMJHT"#,
        r#"WDJB\u200bMJHT"#,
        r#"WDJB\u001b[2JMJHT"#,
        r#"WD\u2066JB"#,
    ] {
        let body = format!(
            r#"{{"device_code":"dc-SECRET-1","user_code":"{user_code}","verification_uri":"https://idp.example.com/device","expires_in":600}}"#
        );
        let mut flow = start(settings());
        let (events, outcome) = drive_timed(&mut flow, vec![json(200, &body)], None);
        assert!(events.iter().all(|e| !matches!(e, Event::Prompted(_))));
        assert!(
            matches!(&outcome, Outcome::Failed(e) if e.code() == "DEVICE_INVALID_RESPONSE"),
            "{user_code}: {outcome:?}"
        );
    }
    // Plain http on loopback is a local server, as for endpoints.
    let mut local = settings();
    local.device_authorization_endpoint = Some("http://127.0.0.1:8080/device/auth".into());
    let mut flow = start(local);
    let body = r#"{"device_code":"dc-SECRET-1","user_code":"WDJB-MJHT","verification_uri":"http://127.0.0.1:8080/device","expires_in":600}"#;
    let (events, _) = drive_timed(&mut flow, vec![json(200, body)], Some(1));
    assert!(
        matches!(events.get(1), Some(Event::Prompted(_))),
        "{events:?}"
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn keycloak_and_entra_device_endpoints_come_from_their_token_endpoints() {
    use grantkit::provider::{entra_token_endpoint, keycloak_token_endpoint, Provider};
    let derived = |token_endpoint: &str, provider: Option<Provider>| {
        let mut settings = DeviceAuthorizationSettings::new("unused", token_endpoint, "tv-app");
        settings.device_authorization_endpoint = None;
        settings.client.provider = provider;
        let mut flow =
            DeviceAuthorization::new(settings).map(|d| d.start(Box::new(TestRng::default())))?;
        match flow.poll(common::NOW)? {
            grantkit::flow::Action::Send(request) => Ok(request.url),
            _ => panic!("no request"),
        }
    };
    let keycloak = keycloak_token_endpoint("https://sso.example.com", "ops").unwrap();
    assert_eq!(
        derived(&keycloak, Some(Provider::Keycloak)).unwrap(),
        "https://sso.example.com/realms/ops/protocol/openid-connect/auth/device"
    );
    // Entra is recognised by its host, as for its scope rules.
    let entra = entra_token_endpoint("contoso.onmicrosoft.com").unwrap();
    assert_eq!(
        derived(&entra, None).unwrap(),
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/devicecode"
    );
    // Anything else must name its endpoint.
    for (endpoint, provider) in [
        (keycloak.as_str(), None),
        ("https://idp.example.com/token", None),
        (
            "https://tenant.example.com:443/am/oauth2/access_token",
            Some(Provider::PingAic),
        ),
        (
            "https://sso.example.com/other/token",
            Some(Provider::Keycloak),
        ),
    ] {
        let err: Error = derived(endpoint, provider).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidConfig { field, .. } if field == "deviceAuthorizationEndpoint"),
            "{endpoint}: {err:?}"
        );
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn the_whole_interval_is_waited_however_long_the_prompt_took() {
    // Clock readings are whole seconds. A prompt that returns just after a
    // second begins once made the first poll go out up to a second early
    // (with interval 1: at once). The wait is the whole interval, asked for
    // after the prompt and after every pending answer.
    use grantkit::flow::Action;
    for interval in [1u64, 5] {
        let mut flow = start(settings());
        assert!(matches!(flow.poll(common::NOW), Ok(Action::Send(_))));
        flow.handle_response(
            device_response(&format!(r#","interval":{interval}"#)),
            common::NOW,
        )
        .unwrap();
        assert!(matches!(flow.poll(common::NOW), Ok(Action::Prompt(_))));
        let after_prompt = common::NOW.plus_secs(1);
        match flow.poll(after_prompt) {
            Ok(Action::Wait(wait)) => assert_eq!(wait.as_secs(), interval),
            other => panic!("interval {interval}: {other:?}"),
        }
        let polled = after_prompt.plus_secs(interval);
        assert!(matches!(flow.poll(polled), Ok(Action::Send(_))));
        flow.handle_response(error("authorization_pending"), polled.plus_secs(1))
            .unwrap();
        match flow.poll(polled.plus_secs(1)) {
            Ok(Action::Wait(wait)) => assert_eq!(wait.as_secs(), interval),
            other => panic!("interval {interval}: {other:?}"),
        }
    }
}
