//! The exchange trace: the exact masked record of each flow's exchanges and
//! its curl command, and no secret in any of them, in any encoding.

mod common;

use common::{json, TestRng, NOW};
use grantkit::client_auth::{ClientAuthMethod, ClientCredential};
use grantkit::flow::{
    Action, ClientCredentials, ClientCredentialsSettings, DeviceAuthorization,
    DeviceAuthorizationSettings, Flow, JwtBearer, JwtBearerSettings, PasswordGrant,
    PasswordGrantSettings,
};
use grantkit::keys::PrivateKey;
use grantkit::trace::{default_label, Exchange, Outcome};
use grantkit::{Error, HttpRequest, HttpResponse, Secret};
use std::sync::Arc;
use wasm_bindgen_test::wasm_bindgen_test;

const ENDPOINT: &str = "https://sso.example.com/realms/ops/protocol/openid-connect/token";
const SECRET: &str = "s3cr3t:+%&é";
const PASSWORD: &str = "pw 'quoted' & more";
const ACCESS: &str =
    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MX0.c2lnbmF0dXJlLW9mLXRoZS1hY2Nlc3MtdG9rZW4";
const REFRESH: &str = "refresh-0123456789-0123456789-0123456789-0123456789";

/// Runs `flow` like a driver with a trace: each exchange recorded with the
/// flow's own label and redactor, 7 ms each.
fn traced<F: Flow>(
    mut flow: F,
    responses: Vec<HttpResponse>,
) -> (Vec<Exchange>, Result<F::Output, Error>) {
    let mut responses = responses.into_iter();
    let mut exchanges = Vec::new();
    loop {
        match flow.poll(NOW) {
            Ok(Action::Send(request)) => {
                let response = responses.next().expect("scripted response");
                exchanges.push(Exchange::new(
                    flow.exchange_label(&request),
                    &request,
                    Outcome::Response(&response),
                    7,
                    &flow.redactor(),
                ));
                if let Err(e) = flow.handle_response(response, NOW) {
                    return (exchanges, Err(e));
                }
            }
            Ok(Action::Sign(request)) => {
                common::sign(&mut flow, &request).unwrap();
            }
            Ok(Action::Wait(_)) | Ok(Action::Prompt(_)) => {}
            Ok(Action::Done(output)) => return (exchanges, Ok(output)),
            Ok(_) => panic!("unexpected action"),
            Err(e) => return (exchanges, Err(e)),
        }
    }
}

fn token_response() -> HttpResponse {
    json(
        200,
        &format!(
            r#"{{"access_token":"{ACCESS}","token_type":"Bearer","expires_in":300,"refresh_token":"{REFRESH}","scope":"api:read"}}"#
        ),
    )
}

/// The record as JSON (what onExchange gets) holds none of these, in any of
/// the encodings a request carries them in.
fn assert_no_secret(exchange: &Exchange, secrets: &[&str]) {
    let text = serde_json::to_string(exchange).unwrap();
    for secret in secrets {
        let redactor = grantkit::redact::Redactor::new([&Secret::new(*secret)]);
        assert_eq!(
            redactor.scrub(&text),
            text,
            "a form of {secret:?} is in {text}"
        );
    }
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[wasm_bindgen_test(unsupported = test)]
fn client_credentials_with_basic_auth_is_traced_masked() {
    let mut settings =
        ClientCredentialsSettings::new(ENDPOINT, "reporting app", Secret::new(SECRET));
    settings.client.scope = vec!["api:read".into()];
    let client = ClientCredentials::new(settings).unwrap();
    let (exchanges, result) = traced(
        client.start(&mut TestRng::default()),
        vec![token_response()],
    );
    result.unwrap();
    let [exchange] = exchanges.as_slice() else {
        panic!("{exchanges:?}")
    };
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        grantkit::http::form_urlencode("reporting app"),
        grantkit::http::form_urlencode(SECRET)
    ));
    assert_eq!(
        exchange,
        &Exchange {
            label: "token request (client_credentials)".into(),
            method: "POST".into(),
            url: ENDPOINT.into(),
            request_headers: pairs(&[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Accept", "application/json"),
                ("Authorization", "Basic ••••"),
            ]),
            request_body: Some("grant_type=client_credentials&scope=api%3Aread".into()),
            status: Some(200),
            response_headers: pairs(&[("Content-Type", "application/json")]),
            response_body: Some(
                r#"{"access_token":"eyJhbGciOi…","expires_in":300,"refresh_token":"refresh-01…","scope":"api:read","token_type":"Bearer"}"#.into()
            ),
            duration_ms: 7,
            error: None,
            curl: format!(
                "curl \\\n  -sS \\\n  -X POST \\\n  '{ENDPOINT}' \\\n  -H 'Content-Type: application/x-www-form-urlencoded' \\\n  -H 'Accept: application/json' \\\n  --user 'reporting+app:'\"$CLIENT_SECRET_FORM_ENCODED\" \\\n  --data-urlencode 'grant_type=client_credentials' \\\n  --data-urlencode 'scope=api:read'"
            ),
        }
    );
    assert_no_secret(exchange, &[SECRET, &basic, ACCESS, REFRESH]);
}

#[wasm_bindgen_test(unsupported = test)]
fn password_grant_with_post_auth_masks_secret_and_password_and_quotes_for_the_shell() {
    let mut settings =
        PasswordGrantSettings::new(ENDPOINT, "cli", "o'brien", Secret::new(PASSWORD));
    settings.client.credential = ClientCredential::Secret {
        secret: Secret::new(SECRET),
        method: ClientAuthMethod::Post,
    };
    let client = PasswordGrant::new(settings).unwrap();
    let (exchanges, result) = traced(
        client.start(&mut TestRng::default()),
        vec![token_response()],
    );
    result.unwrap();
    let [exchange] = exchanges.as_slice() else {
        panic!()
    };
    assert_eq!(
        exchange.request_body.as_deref(),
        Some(
            "grant_type=password&username=o%27brien&password=••••&client_id=cli&client_secret=••••"
        )
    );
    assert_eq!(
        exchange.curl.split(" \\\n  ").collect::<Vec<_>>(),
        [
            "curl",
            "-sS",
            "-X POST",
            &format!("'{ENDPOINT}'"),
            "-H 'Content-Type: application/x-www-form-urlencoded'",
            "-H 'Accept: application/json'",
            "--data-urlencode 'grant_type=password'",
            r"--data-urlencode 'username=o'\''brien'",
            "--data-urlencode 'password='\"$PASSWORD\"",
            "--data-urlencode 'client_id=cli'",
            "--data-urlencode 'client_secret='\"$CLIENT_SECRET\"",
        ]
    );
    assert_no_secret(exchange, &[SECRET, PASSWORD, ACCESS, REFRESH]);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_jwt_bearer_assertion_shows_its_header_and_claims_never_itself() {
    let key = Arc::new(PrivateKey::parse(include_str!("fixtures/rsa2048.pkcs8.pem")).unwrap());
    let client = JwtBearer::new(JwtBearerSettings::new(ENDPOINT, key, "svc")).unwrap();
    let mut flow = client.start(&mut TestRng::default());
    // The assertion as sent, to look for it in the record.
    let sent = loop {
        match flow.poll(NOW).unwrap() {
            Action::Sign(request) => {
                common::sign(&mut flow, &request).unwrap();
            }
            Action::Send(request) => break request,
            _ => panic!(),
        }
    };
    let assertion = sent
        .body_text()
        .split('&')
        .find_map(|p| p.strip_prefix("assertion="))
        .unwrap()
        .to_owned();
    let exchange = Exchange::new(
        default_label(&sent),
        &sent,
        Outcome::Response(&token_response()),
        3,
        &flow.redactor(),
    );
    assert_eq!(exchange.label, "token request (jwt-bearer)");
    let body = exchange.request_body.clone().unwrap();
    assert!(
        body.starts_with(&format!(
            r#"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=JWT {{"alg":"RS256","typ":"JWT"}} {{"aud":"{ENDPOINT}","exp":1700000180,"iat":1700000000,"iss":"svc","jti":"AAECAwQFBgcICQoLDA0ODw","sub":"svc"}} signature ••••"#
        )),
        "{body}"
    );
    assert!(
        exchange
            .curl
            .contains("--data-urlencode 'assertion='\"$ASSERTION\""),
        "{}",
        exchange.curl
    );
    assert_no_secret(&exchange, &[&assertion]);
}

#[wasm_bindgen_test(unsupported = test)]
fn the_device_flow_names_its_requests_and_shortens_the_device_code() {
    let device_code = "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS";
    let settings =
        DeviceAuthorizationSettings::new("https://sso.example.com/device", ENDPOINT, "tv");
    let client = DeviceAuthorization::new(settings).unwrap();
    let (exchanges, result) = traced(
        client.start(Box::new(TestRng::default())),
        vec![
            json(
                200,
                &format!(
                    r#"{{"device_code":"{device_code}","user_code":"WDJB-MJHT","verification_uri":"https://sso.example.com/device","expires_in":600,"interval":5}}"#
                ),
            ),
            token_response(),
        ],
    );
    result.unwrap();
    let labels: Vec<&str> = exchanges.iter().map(|e| e.label.as_str()).collect();
    assert_eq!(labels, ["device authorization request", "token poll"]);
    assert_eq!(
        exchanges[0].response_body.as_deref(),
        Some(
            r#"{"device_code":"GmRhmhcxhw…","expires_in":600,"interval":5,"user_code":"WDJB-MJHT","verification_uri":"https://sso.example.com/device"}"#
        )
    );
    assert_eq!(
        exchanges[1].request_body.as_deref(),
        Some("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=GmRhmhcxhw…&client_id=tv")
    );
    assert!(exchanges[1]
        .curl
        .contains("--data-urlencode 'device_code='\"$DEVICE_CODE\""));
    for exchange in &exchanges {
        assert_no_secret(exchange, &[device_code, ACCESS, REFRESH]);
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn a_failed_exchange_and_a_server_echo_are_traced_without_the_secret() {
    let client = ClientCredentials::new(ClientCredentialsSettings::new(
        ENDPOINT,
        "app",
        Secret::new(SECRET),
    ))
    .unwrap();
    let mut flow = client.start(&mut TestRng::default());
    let Action::Send(request) = flow.poll(NOW).unwrap() else {
        panic!()
    };
    let redactor = flow.redactor();
    let failed = Exchange::new(
        "token request",
        &request,
        Outcome::Failed(&Error::Timeout { after_ms: 500 }),
        500,
        &redactor,
    );
    assert_eq!(
        (failed.status, failed.response_body.as_deref()),
        (None, None)
    );
    assert_eq!(failed.error.as_deref(), Some("no response within 500 ms"));
    // A broken server that echoes the form-encoded secret in an HTML page.
    let echo = HttpResponse::new(
        500,
        format!(
            "<p>bad secret {}</p>",
            grantkit::http::form_urlencode(SECRET)
        )
        .as_str(),
    );
    let exchange = Exchange::new(
        "token request",
        &request,
        Outcome::Response(&echo),
        9,
        &redactor,
    );
    assert_eq!(
        exchange.response_body.as_deref(),
        Some(grantkit::redact::WITHHELD)
    );
    assert_no_secret(&exchange, &[SECRET]);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_token_source_traces_its_flow_as_the_flow_itself_does() {
    use grantkit::source::{ExpiryPolicy, TokenSource};
    use std::rc::Rc;
    // The device flow names its requests itself.
    let device = Rc::new(
        DeviceAuthorization::new(DeviceAuthorizationSettings::new(
            "https://sso.example.com/device",
            ENDPOINT,
            "tv",
        ))
        .unwrap(),
    );
    let device_responses = || {
        vec![
            json(
                200,
                r#"{"device_code":"GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS","user_code":"WDJB-MJHT","verification_uri":"https://sso.example.com/device","expires_in":600,"interval":5}"#,
            ),
            token_response(),
        ]
    };
    let (direct, _) = traced(
        device.start(Box::new(TestRng::default())),
        device_responses(),
    );
    let source = TokenSource::new(Box::new(device), ExpiryPolicy::default());
    let (through_source, result) = traced(
        source.acquire(Box::new(TestRng::default())),
        device_responses(),
    );
    result.unwrap();
    assert_eq!(through_source, direct);
    let labels: Vec<&str> = through_source.iter().map(|e| e.label.as_str()).collect();
    assert_eq!(labels, ["device authorization request", "token poll"]);
    // The password grant's secrets are the backstop of its trace: a server
    // that echoes the password is withheld whole, through a source too.
    let password = Rc::new(
        PasswordGrant::new(PasswordGrantSettings::new(
            ENDPOINT,
            "cli",
            "alice",
            Secret::new(PASSWORD),
        ))
        .unwrap(),
    );
    let echo = || {
        vec![json(
            400,
            &format!(r#"{{"error":"invalid_request","error_description":"bad {PASSWORD}"}}"#),
        )]
    };
    let (direct, _) = traced(password.start(&mut TestRng::default()), echo());
    let source = TokenSource::new(Box::new(password), ExpiryPolicy::default());
    let (through_source, result) = traced(source.acquire(Box::new(TestRng::default())), echo());
    assert!(result.is_err());
    assert_eq!(through_source, direct);
    assert_eq!(
        through_source[0].response_body.as_deref(),
        Some(grantkit::redact::WITHHELD)
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn a_dpop_proof_shows_its_header_and_claims_and_the_dpop_scheme_a_token_prefix() {
    let mut settings = ClientCredentialsSettings::new(ENDPOINT, "reporting", Secret::new(SECRET));
    settings.client.dpop = true;
    let client = ClientCredentials::new(settings).unwrap();
    let mut prover = common::Prover::new(5);
    let (sent, _) = common::drive_with(
        client.start(&mut TestRng::default()),
        vec![json(
            200,
            r#"{"access_token":"at","token_type":"DPoP","expires_in":300}"#,
        )],
        Some(&mut prover),
    );
    let proof = sent[0]
        .headers
        .iter()
        .find(|(name, _)| name == "DPoP")
        .map(|(_, proof)| proof.clone())
        .unwrap();
    let claims = prover.verify(&proof);
    let exchange = Exchange::new(
        default_label(&sent[0]),
        &sent[0],
        Outcome::Response(&token_response()),
        3,
        &grantkit::redact::Redactor::default(),
    );
    let shown = exchange
        .request_headers
        .iter()
        .find(|(name, _)| name == "DPoP")
        .map(|(_, value)| value.clone())
        .unwrap();
    let header = proof.split('.').next().unwrap();
    let header: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap(),
    )
    .unwrap();
    assert_eq!(
        shown,
        format!(
            r#"JWT {{"alg":"ES256","jwk":{{"crv":"P-256","kty":"EC","x":{},"y":{}}},"typ":"dpop+jwt"}} {{"htm":"POST","htu":"{ENDPOINT}","iat":1700000000,"jti":{}}} signature ••••"#,
            header["jwk"]["x"], header["jwk"]["y"], claims["jti"]
        )
    );
    assert!(
        exchange.curl.contains(r#"-H 'DPoP: '"$DPOP""#),
        "{}",
        exchange.curl
    );
    assert_no_secret(&exchange, &[&proof]);

    // An API call's Authorization: DPoP keeps its scheme and a prefix.
    let api = HttpRequest {
        method: grantkit::Method::Get,
        url: "https://api.example.com/x".into(),
        headers: pairs(&[("Authorization", &format!("DPoP {ACCESS}"))]),
        body: None,
    };
    let exchange = Exchange::new(
        "API call",
        &api,
        Outcome::Response(&token_response()),
        1,
        &grantkit::redact::Redactor::default(),
    );
    assert_eq!(
        exchange.request_headers,
        pairs(&[("Authorization", "DPoP eyJhbGciOi…")])
    );
    assert!(
        exchange
            .curl
            .contains(r#"-H 'Authorization: DPoP '"$ACCESS_TOKEN""#),
        "{}",
        exchange.curl
    );
}
