//! The ACP session login, all five calls scripted: every request exactly,
//! the encrypted password decrypted, every failure's code and step. Runs
//! natively and in wasm; the openssl decryption runs natively.

mod common;

use common::{drive, json, NOW};
use grantkit::flow::acp::AcpIdp;
use grantkit::flow::{AcpLogin, AcpLoginSettings};
use grantkit::{Error, HttpRequest, HttpResponse, Method, Secret, TokenSet, UnixTime};
use wasm_bindgen_test::wasm_bindgen_test;

const PLATFORM: &str = "https://acp.example.com";
const PUBLIC_PEM: &str = include_str!("fixtures/rsa2048.public.pem");
const PRIVATE_PEM: &str = include_str!("fixtures/rsa2048.pkcs8.pem");
const STATE: &str = "st4te";
const AUTH_QUERY: &str = "client_id=alauda-auth&redirect_uri=https%3A%2F%2Facp.example.com%2Fdex%2Fcallback&response_type=code&scope=openid+profile&state=st4te";

fn login(password: &str) -> AcpLogin {
    AcpLogin::new(AcpLoginSettings {
        platform_url: format!("{PLATFORM}/"),
        username: "admin".into(),
        password: Secret::new(password),
        idp: AcpIdp::Local,
        allow_insecure_http: false,
    })
    .unwrap()
}

fn step1() -> HttpResponse {
    json(
        200,
        &format!(
            r#"{{"auth_url":"{PLATFORM}/dex/auth?{AUTH_QUERY}","state":"{STATE}","logout_url":"{PLATFORM}/dex/logout"}}"#
        ),
    )
}

fn step2() -> HttpResponse {
    let mut response = json(200, r#"{"req":"r3q id"}"#);
    response.set_cookies =
        vec!["cpaas_oidc_auth_flow=c00kie; Path=/; HttpOnly; SameSite=Lax".into()];
    response
}

fn step3(ts: serde_json::Value) -> HttpResponse {
    json(
        200,
        &serde_json::json!({"ts": ts, "pubkey": PUBLIC_PEM, "pubkey_encode": "unused"}).to_string(),
    )
}

fn step4(state: &str) -> HttpResponse {
    json(
        200,
        &format!(
            r#"{{"session_state":"ss","redirect_url":"{PLATFORM}/dex/callback?code=c%2Bde&state={state}"}}"#
        ),
    )
}

fn step5() -> HttpResponse {
    json(
        200,
        r#"{"token_type":"Bearer","access_token":"at","id_token":"it","refresh_token":"rt","expire_at":1700003600,"issued_at":1700000000}"#,
    )
}

fn run(
    password: &str,
    responses: Vec<HttpResponse>,
) -> (Vec<HttpRequest>, Result<TokenSet, Error>) {
    drive(
        login(password).start(Box::new(rsa::rand_core::OsRng)),
        responses,
    )
}

/// The step-4 ciphertext, decrypted with the fixture's private key.
fn step4_ciphertext(request: &HttpRequest) -> Vec<u8> {
    let body: serde_json::Value = serde_json::from_slice(request.body.as_ref().unwrap()).unwrap();
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["account", "password"]);
    assert_eq!(body["account"], "admin");
    use base64::Engine;
    // Standard base64, not URL-safe.
    base64::engine::general_purpose::STANDARD
        .decode(body["password"].as_str().unwrap())
        .unwrap()
}

fn decrypt_with_rsa_crate(ciphertext: &[u8]) -> String {
    use rsa::pkcs8::DecodePrivateKey;
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(PRIVATE_PEM).unwrap();
    String::from_utf8(key.decrypt(rsa::Pkcs1v15Encrypt, ciphertext).unwrap()).unwrap()
}

#[wasm_bindgen_test(unsupported = test)]
fn the_five_calls_are_exact_and_the_password_decrypts() {
    let (sent, result) = run(
        "p@ss \"wörd\"",
        vec![
            step1(),
            step2(),
            step3(serde_json::json!("1700000000123")),
            step4(STATE),
            step5(),
        ],
    );

    let lines: Vec<String> = sent
        .iter()
        .map(|r| format!("{} {}", r.method.as_str(), r.url))
        .collect();
    assert_eq!(
        lines,
        [
            "GET https://acp.example.com/console-platform/api/v1/token/login?client_id=alauda-auth\
             &redirect_uri=https%3A%2F%2Facp.example.com%2Fdex%2Fcallback&response_type=code\
             &scope=openid+profile+offline_access+email+groups+ext"
                .to_owned(),
            format!("GET https://acp.example.com/dex/api/v1/authorize?{AUTH_QUERY}"),
            "GET https://acp.example.com/dex/pubkey".to_owned(),
            "POST https://acp.example.com/dex/api/v1/authorize/local?req=r3q+id".to_owned(),
            "GET https://acp.example.com/console-platform/api/v1/token/callback?code=c%2Bde&state=st4te".to_owned(),
        ]
    );
    // The cookie from step 2 goes with every later call, not before.
    let cookies: Vec<Option<&str>> = sent.iter().map(|r| r.header("Cookie")).collect();
    assert_eq!(
        cookies,
        [
            None,
            None,
            Some("cpaas_oidc_auth_flow=c00kie"),
            Some("cpaas_oidc_auth_flow=c00kie"),
            Some("cpaas_oidc_auth_flow=c00kie")
        ]
    );
    assert_eq!(sent[3].method, Method::Post);
    assert_eq!(sent[3].header("Content-Type"), Some("application/json"));
    // The ts goes in exactly as received (a string here).
    assert_eq!(
        decrypt_with_rsa_crate(&step4_ciphertext(&sent[3])),
        r#"{"ts":"1700000000123","password":"p@ss \"wörd\""}"#
    );
    assert!(!sent[3].body_text().contains("wörd"));

    let tokens = result.unwrap();
    assert_eq!(tokens.access_token.expose(), "at");
    assert_eq!(tokens.id_token, Some(Secret::new("it")));
    assert_eq!(tokens.refresh_token, Some(Secret::new("rt")));
    assert_eq!(tokens.expires_at, Some(UnixTime::from_secs(1_700_003_600)));
    assert_eq!(tokens.expires_in, Some(3600));
}

#[wasm_bindgen_test(unsupported = test)]
fn a_numeric_ts_stays_a_number_and_pubkey_encode_is_the_fallback() {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(PUBLIC_PEM);
    let reply3 = json(200, &serde_json::json!({"ts": 1_700_000_000_123_u64, "pubkey": "garbage", "pubkey_encode": encoded}).to_string());
    let (sent, result) = run("pw", vec![step1(), step2(), reply3, step4(STATE), step5()]);
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(
        decrypt_with_rsa_crate(&step4_ciphertext(&sent[3])),
        r#"{"ts":1700000000123,"password":"pw"}"#
    );
}

fn error_at(result: Result<TokenSet, Error>) -> (u8, &'static str, String) {
    match result {
        Err(e @ Error::InStep { step, .. }) => (step, e.code(), e.to_string()),
        other => panic!("{other:?}"),
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn wrong_credentials_fail_at_step_4() {
    let refused = json(401, r#"{"message":"invalid username or password"}"#);
    let (sent, result) = run(
        "wrong-pw",
        vec![step1(), step2(), step3("1".into()), refused],
    );
    assert_eq!(sent.len(), 4);
    assert_eq!(
        error_at(result),
        (
            4,
            "ACP_INVALID_CREDENTIALS",
            "step 4 (credentials): the platform refused the user name or password: HTTP 401: invalid username or password".into()
        )
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn a_lost_cookie_fails_at_step_5() {
    let refused = json(400, r#"{"message":"invalid authentication session"}"#);
    let (_, result) = run(
        "pw",
        vec![step1(), step2(), step3("1".into()), step4(STATE), refused],
    );
    let (step, code, _) = error_at(result);
    assert_eq!((step, code), (5, "ACP_SESSION_LOST"));
}

#[wasm_bindgen_test(unsupported = test)]
fn a_state_mismatch_stops_before_step_5() {
    let (sent, result) = run(
        "pw",
        vec![step1(), step2(), step3("1".into()), step4("forged")],
    );
    assert_eq!(sent.len(), 4);
    assert_eq!(error_at(result).1, "ACP_STATE_MISMATCH");
}

#[wasm_bindgen_test(unsupported = test)]
fn missing_fields_and_non_json_replies_name_the_step() {
    let (_, result) = run("pw", vec![json(200, r#"{"state":"s"}"#)]);
    assert_eq!(
        error_at(result),
        (
            1,
            "ACP_MISSING_FIELD",
            "step 1 (login metadata): the reply lacks a documented field: auth_url".into()
        )
    );
    let (_, result) = run("pw", vec![step1(), json(200, "{}")]);
    assert_eq!(error_at(result).0, 2);
    let (_, result) = run("pw", vec![step1(), step2(), json(200, r#"{"pubkey":"x"}"#)]);
    assert_eq!(
        error_at(result),
        (
            3,
            "ACP_MISSING_FIELD",
            "step 3 (public key): the reply lacks a documented field: ts".into()
        )
    );
    let (_, result) = run(
        "pw",
        vec![
            step1(),
            step2(),
            HttpResponse::new(502, "<html>Bad Gateway</html>"),
        ],
    );
    let (step, code, message) = error_at(result);
    assert_eq!((step, code), (3, "RESPONSE_NOT_JSON"));
    assert!(message.contains("Bad Gateway"), "{message}");
    let (_, result) = run(
        "pw",
        vec![
            step1(),
            step2(),
            step3("1".into()),
            json(400, r#"{"message":"invalid ts"}"#),
        ],
    );
    assert_eq!(
        error_at(result),
        (
            4,
            "ACP_UNEXPECTED_RESPONSE",
            "step 4 (credentials): unexpected response: HTTP 400: invalid ts".into()
        )
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn bad_settings_are_refused() {
    // (An idp other than local, ldap or oidc cannot be expressed: AcpIdp.)
    for url in ["https://acp.example.com/console", "http://acp.example.com"] {
        let err = AcpLogin::new(AcpLoginSettings {
            platform_url: url.into(),
            username: "admin".into(),
            password: Secret::new("pw"),
            idp: AcpIdp::Local,
            allow_insecure_http: false,
        })
        .unwrap_err();
        assert_eq!(err.code(), "INVALID_CONFIG", "{url}");
    }
}

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn openssl_decrypts_the_password_to_exactly_ts_and_password() {
    let (sent, _) = run(
        "s3cret pw",
        vec![step1(), step2(), step3("42".into()), step4(STATE), step5()],
    );
    let dir = std::env::temp_dir().join(format!("grantkit-acp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ct"), step4_ciphertext(&sent[3])).unwrap();
    let output = std::process::Command::new("openssl")
        .args([
            "pkeyutl",
            "-decrypt",
            "-pkeyopt",
            "rsa_padding_mode:pkcs1",
            "-inkey",
        ])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/rsa2048.pkcs8.pem"
        ))
        .arg("-in")
        .arg(dir.join("ct"))
        .output()
        .expect("openssl runs");
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        r#"{"ts":"42","password":"s3cret pw"}"#
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn a_400_about_the_password_is_invalid_credentials_and_step_5_fields_are_named() {
    let refused = json(400, r#"{"message":"Invalid Password"}"#);
    let (_, result) = run("pw", vec![step1(), step2(), step3("1".into()), refused]);
    assert_eq!(error_at(result).1, "ACP_INVALID_CREDENTIALS");
    let no_token = json(200, r#"{"token_type":"Bearer","expire_at":1}"#);
    let (_, result) = run(
        "pw",
        vec![step1(), step2(), step3("1".into()), step4(STATE), no_token],
    );
    assert_eq!(
        error_at(result),
        (
            5,
            "ACP_MISSING_FIELD",
            "step 5 (token callback): the reply lacks a documented field: access_token".into()
        )
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn a_failed_exchange_names_its_step_and_finishes_the_login() {
    use grantkit::flow::{Action, Flow};
    // The driver's errors (network, time limit, body too large) happen
    // outside handle_response; the flow still says at which call.
    for (answered, step) in [(0, 1), (1, 2), (2, 3)] {
        let mut flow = login("pw").start(Box::new(common::TestRng::default()));
        let replies = [step1(), step2(), step3(serde_json::json!(1))];
        for reply in replies.into_iter().take(answered) {
            assert!(matches!(flow.poll(NOW), Ok(Action::Send(_))));
            flow.handle_response(reply, NOW).unwrap();
        }
        assert!(matches!(flow.poll(NOW), Ok(Action::Send(_))));
        let error = flow.transport_failed(Error::Timeout { after_ms: 500 });
        assert_eq!(error.code(), "TIMEOUT");
        assert!(
            matches!(error, Error::InStep { step: s, .. } if s == step),
            "{error:?}"
        );
        assert_eq!(flow.poll(NOW).unwrap_err().code(), "FLOW_MISUSE");
    }
}
