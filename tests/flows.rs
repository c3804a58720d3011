//! Each flow driven by scripted responses: the exact request sent, and the
//! result. Runs natively and, with wasm-bindgen-test, in Node and Chromium.

mod common;

use common::{drive, headers, json, TestRng, NOW};
use grantkit::client_auth::{ClientAuthMethod, ClientCredential};
use grantkit::flow::{
    Action, ClientCredentials, ClientCredentialsSettings, Flow, PasswordGrant,
    PasswordGrantSettings,
};
use grantkit::options::ConfigField;
use grantkit::provider::Provider;
use grantkit::redact::WITHHELD;
use grantkit::{Error, Method, Secret, UnixTime};
use wasm_bindgen_test::wasm_bindgen_test;

const ENDPOINT: &str = "https://sso.example.com/realms/ops/protocol/openid-connect/token";
const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");
const ACCEPT: (&str, &str) = ("Accept", "application/json");
const TOKEN_JSON: &str =
    r#"{"access_token":"at-1","token_type":"Bearer","expires_in":300,"scope":"api:read"}"#;

fn secret(value: &str) -> ClientCredential {
    ClientCredential::Secret {
        secret: Secret::new(value),
        method: ClientAuthMethod::Basic,
    }
}

fn client_credentials(secret: &str) -> ClientCredentialsSettings {
    ClientCredentialsSettings::new(ENDPOINT, "reporting", Secret::new(secret))
}

#[wasm_bindgen_test(unsupported = test)]
fn client_credentials_with_basic_auth_sends_the_exact_request() {
    let mut settings = client_credentials(":+%&é");
    settings.client.scope = vec!["api:read".into()];
    let client = ClientCredentials::new(settings).unwrap();

    let (sent, result) = drive(
        client.start(&mut TestRng::default()),
        vec![json(200, TOKEN_JSON)],
    );

    assert_eq!(sent.len(), 1);
    let request = &sent[0];
    assert_eq!(request.method, Method::Post);
    assert_eq!(request.url, ENDPOINT);
    // RFC 6749 §2.3.1: id and secret form-urlencoded, then base64:
    // base64("reporting:%3A%2B%25%26%C3%A9"), computed with Python's
    // urllib.parse.quote_plus and base64.
    assert_eq!(
        headers(request),
        [
            FORM,
            ACCEPT,
            (
                "Authorization",
                "Basic cmVwb3J0aW5nOiUzQSUyQiUyNSUyNiVDMyVBOQ=="
            )
        ]
    );
    assert_eq!(
        request.body_text(),
        "grant_type=client_credentials&scope=api%3Aread"
    );

    let tokens = result.unwrap();
    assert_eq!(tokens.access_token.expose(), "at-1");
    assert_eq!(tokens.token_type, "Bearer");
    assert_eq!(tokens.expires_in, Some(300));
    assert_eq!(tokens.expires_at, Some(UnixTime::from_secs(1_700_000_300)));
    assert_eq!(tokens.scope.as_deref(), Some("api:read"));
    assert_eq!(tokens.refresh_token, None);
}

#[wasm_bindgen_test(unsupported = test)]
fn client_credentials_with_post_auth_puts_credentials_last_in_the_body() {
    let mut settings = client_credentials(":+%&é");
    settings.client.credential = ClientCredential::Secret {
        secret: Secret::new(":+%&é"),
        method: ClientAuthMethod::Post,
    };
    settings.client.scope = vec!["api:read api:write".into()];
    settings.client.extra_params = vec![
        ("audience".into(), "https://api.example".into()),
        ("resource".into(), "r1".into()),
        ("resource".into(), "r2".into()),
    ];
    let client = ClientCredentials::new(settings).unwrap();

    let (sent, result) = drive(
        client.start(&mut TestRng::default()),
        vec![json(200, TOKEN_JSON)],
    );

    assert_eq!(headers(&sent[0]), [FORM, ACCEPT]);
    assert_eq!(
        sent[0].body_text(),
        "grant_type=client_credentials&scope=api%3Aread+api%3Awrite\
         &audience=https%3A%2F%2Fapi.example&resource=r1&resource=r2\
         &client_id=reporting&client_secret=%3A%2B%25%26%C3%A9"
    );
    assert!(result.is_ok());
}

#[wasm_bindgen_test(unsupported = test)]
fn password_grant_sends_the_exact_request_and_keeps_every_token() {
    let mut settings =
        PasswordGrantSettings::new(ENDPOINT, "pw client", "alice", Secret::new("p&ss wörd"));
    settings.client.credential = secret("pw-secret");
    settings.client.scope = vec!["openid".into(), "offline_access".into()];
    let client = PasswordGrant::new(settings).unwrap();
    let body = r#"{"access_token":"at","token_type":"bearer","expires_in":"3599","refresh_token":"rt","id_token":"it","scope":"openid offline_access","not-before-policy":0}"#;

    let (sent, result) = drive(client.start(&mut TestRng::default()), vec![json(200, body)]);

    assert_eq!(
        headers(&sent[0]),
        [
            FORM,
            ACCEPT,
            ("Authorization", "Basic cHcrY2xpZW50OnB3LXNlY3JldA==")
        ]
    );
    assert_eq!(
        sent[0].body_text(),
        "grant_type=password&username=alice&password=p%26ss+w%C3%B6rd&scope=openid+offline_access"
    );
    let tokens = result.unwrap();
    assert_eq!(tokens.token_type, "Bearer");
    assert_eq!(tokens.expires_in, Some(3599));
    assert_eq!(
        tokens.refresh_token.as_ref().map(Secret::expose),
        Some("rt")
    );
    assert_eq!(tokens.id_token.as_ref().map(Secret::expose), Some("it"));
    assert_eq!(tokens.raw["not-before-policy"], 0);
}

#[wasm_bindgen_test(unsupported = test)]
fn password_grant_for_a_public_client_sends_only_the_client_id() {
    let settings = PasswordGrantSettings::new(ENDPOINT, "cli", "alice", Secret::new("pw"));
    let client = PasswordGrant::new(settings).unwrap();

    let (sent, _) = drive(
        client.start(&mut TestRng::default()),
        vec![json(200, TOKEN_JSON)],
    );

    assert_eq!(headers(&sent[0]), [FORM, ACCEPT]);
    assert_eq!(
        sent[0].body_text(),
        "grant_type=password&username=alice&password=pw&client_id=cli"
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn an_oauth_error_is_structured_and_free_of_the_password() {
    let settings = PasswordGrantSettings::new(ENDPOINT, "cli", "alice", Secret::new("hunter2-pw"));
    let client = PasswordGrant::new(settings).unwrap();
    let body =
        r#"{"error":"invalid_grant","error_description":"bad password hunter2-pw for alice"}"#;

    let (_, result) = drive(client.start(&mut TestRng::default()), vec![json(400, body)]);

    let Err(Error::OAuth(error)) = result else {
        panic!("{result:?}")
    };
    assert_eq!(error.status, 400);
    assert_eq!(error.error, "invalid_grant");
    assert_eq!(error.error_description.as_deref(), Some(WITHHELD));
    assert_eq!(error.body["error_description"], WITHHELD);
    let shown = format!("{} {:?}", Error::OAuth(error.clone()), error);
    assert!(!shown.contains("hunter2-pw"), "{shown}");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_server_that_echoes_the_secret_in_html_does_not_leak_it() {
    let client = ClientCredentials::new(client_credentials("s3cret value")).unwrap();
    let page = "<html><body>502 Bad Gateway; you sent client_secret=s3cret+value</body></html>";

    let (_, result) = drive(
        client.start(&mut TestRng::default()),
        vec![common::json(502, page)],
    );

    let error = result.unwrap_err();
    assert_eq!(error.code(), "RESPONSE_NOT_JSON");
    assert_eq!(
        error,
        Error::ResponseNotJson {
            status: 502,
            content_type: Some("application/json".into()),
            excerpt: Some(WITHHELD.into())
        }
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn a_flow_is_finished_after_an_error_and_refuses_misuse() {
    let client = ClientCredentials::new(client_credentials("s")).unwrap();
    let mut flow = client.start(&mut TestRng::default());
    assert!(matches!(flow.poll(NOW), Ok(Action::Send(_))));
    // Polled again before the response: a driver bug, reported as such.
    assert_eq!(flow.poll(NOW).unwrap_err().code(), "FLOW_MISUSE");
    // The flow is now finished, whatever comes.
    assert_eq!(
        flow.handle_response(json(200, TOKEN_JSON), NOW)
            .unwrap_err()
            .code(),
        "FLOW_MISUSE"
    );

    let mut flow = client.start(&mut TestRng::default());
    flow.poll(NOW).unwrap();
    assert_eq!(
        flow.handle_response(json(500, "{}"), NOW)
            .unwrap_err()
            .code(),
        "HTTP_ERROR"
    );
    assert_eq!(flow.poll(NOW).unwrap_err().code(), "FLOW_MISUSE");
}

#[wasm_bindgen_test(unsupported = test)]
fn entra_scope_rules_are_checked_before_any_request() {
    let entra = "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token";
    let mut settings = ClientCredentialsSettings::new(entra, "app", Secret::new("s"));
    settings.client.scope = vec!["api://reports/read".into()];
    let err = ClientCredentials::new(settings.clone()).unwrap_err();
    assert_eq!(err.code(), "INVALID_CONFIG");
    assert!(err.to_string().contains("/.default"), "{err}");
    // No scope at all is refused too: Entra requires one.
    settings.client.scope.clear();
    assert!(ClientCredentials::new(settings.clone()).is_err());
    settings.client.scope = vec!["api://reports/.default".into()];
    assert!(ClientCredentials::new(settings.clone()).is_ok());
    // The rule follows the named provider, whatever the host.
    let mut proxied =
        ClientCredentialsSettings::new("https://proxy.example/token", "app", Secret::new("s"));
    proxied.client.provider = Some(Provider::Entra);
    assert!(ClientCredentials::new(proxied).is_err());

    let mut password = PasswordGrantSettings::new(entra, "app", "alice", Secret::new("pw"));
    password.client.credential = secret("s");
    password.client.scope = vec!["api://reports/.default".into()];
    let err = PasswordGrant::new(password.clone()).unwrap_err();
    assert!(err.to_string().contains("/access_as_user"), "{err}");
    password.client.scope = vec!["openid".into(), "api://reports/access_as_user".into()];
    assert!(PasswordGrant::new(password.clone()).is_ok());
    // Entra's password grant needs the client secret.
    password.client.credential = ClientCredential::None;
    assert_eq!(
        PasswordGrant::new(password).unwrap_err().code(),
        "INVALID_CONFIG"
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn bad_configuration_is_refused_with_the_field_named() {
    let field = |err: Error| match err {
        Error::InvalidConfig { field, .. } => field,
        other => panic!("{other:?}"),
    };
    let mut settings = client_credentials("s");
    settings.client.client_id = String::new();
    assert_eq!(
        field(ClientCredentials::new(settings).unwrap_err()),
        "clientId"
    );

    let settings = client_credentials("");
    assert_eq!(
        field(ClientCredentials::new(settings).unwrap_err()),
        "clientSecret"
    );

    let mut settings = client_credentials("s");
    settings.client.extra_params = vec![("grant_type".into(), "password".into())];
    assert_eq!(
        field(ClientCredentials::new(settings).unwrap_err()),
        "extraParams"
    );

    let mut settings = client_credentials("s");
    settings.client.scope = vec!["bad\"scope".into()];
    assert_eq!(
        field(ClientCredentials::new(settings).unwrap_err()),
        "scope"
    );

    let mut settings = client_credentials("s");
    settings.client.token_endpoint = "http://sso.example.com/token".into();
    assert_eq!(
        field(ClientCredentials::new(settings.clone()).unwrap_err()),
        "tokenEndpoint"
    );
    settings.client.allow_insecure_http = true;
    assert!(ClientCredentials::new(settings).is_ok());

    let settings = PasswordGrantSettings::new(ENDPOINT, "cli", "", Secret::new("pw"));
    assert_eq!(field(PasswordGrant::new(settings).unwrap_err()), "username");
}

#[wasm_bindgen_test(unsupported = test)]
fn debug_output_of_settings_and_flows_never_shows_secrets() {
    let mut settings =
        PasswordGrantSettings::new(ENDPOINT, "cli", "alice", Secret::new("hunter2-pw"));
    settings.client.credential = secret("client-s3cret");
    let client = PasswordGrant::new(settings.clone()).unwrap();
    let mut flow = client.start(&mut TestRng::default());
    let printed = format!("{settings:?} {client:?} {flow:?}");
    let Ok(Action::Send(request)) = flow.poll(NOW) else {
        panic!()
    };
    let printed = format!("{printed} {request:?}");
    for secret in ["hunter2-pw", "client-s3cret", "Y2xp"] {
        assert!(!printed.contains(secret), "{secret} in {printed}");
    }

    flow.handle_response(
        json(
            200,
            r#"{"access_token":"at-secret","token_type":"Bearer","refresh_token":"rt-secret"}"#,
        ),
        NOW,
    )
    .unwrap();
    let printed = format!("{flow:?}");
    assert!(
        !printed.contains("at-secret") && !printed.contains("rt-secret"),
        "{printed}"
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn a_short_secret_never_corrupts_a_registered_error_code() {
    // The secret "client" occurs in "invalid_client": the code stays exact,
    // the free text around it is still withheld.
    let client = ClientCredentials::new(client_credentials("client")).unwrap();
    let body = r#"{"error":"invalid_client","error_description":"bad client"}"#;

    let (_, result) = drive(client.start(&mut TestRng::default()), vec![json(401, body)]);

    let Err(Error::OAuth(error)) = result else {
        panic!("{result:?}")
    };
    assert_eq!(error.error, "invalid_client");
    assert_eq!(error.body["error"], "invalid_client");
    assert_eq!(error.error_description.as_deref(), Some(WITHHELD));

    // An unregistered code holding the secret is scrubbed like any text.
    let client = ClientCredentials::new(client_credentials("s3cret-value")).unwrap();
    let (_, result) = drive(
        client.start(&mut TestRng::default()),
        vec![json(400, r#"{"error":"s3cret-value"}"#)],
    );
    let Err(Error::OAuth(error)) = result else {
        panic!("{result:?}")
    };
    assert_eq!(error.error, WITHHELD);
}

#[wasm_bindgen_test(unsupported = test)]
fn allowed_origins_are_read_into_the_form_of_a_urls_origin() {
    use grantkit::endpoint::parse_origin;
    assert_eq!(
        parse_origin(
            ConfigField::AllowedOrigins,
            "https://API.Example.com",
            false
        )
        .unwrap(),
        "https://api.example.com"
    );
    assert_eq!(
        parse_origin(
            ConfigField::AllowedOrigins,
            "https://api.example.com:443/",
            false
        )
        .unwrap(),
        "https://api.example.com"
    );
    assert_eq!(
        parse_origin(
            ConfigField::AllowedOrigins,
            "https://api.example.com:8443",
            false
        )
        .unwrap(),
        "https://api.example.com:8443"
    );
    assert_eq!(
        parse_origin(ConfigField::AllowedOrigins, "http://127.0.0.1:80", false).unwrap(),
        "http://127.0.0.1"
    );
    for bad in [
        "https://api.example.com/v1",
        "https://api.example.com?x=1",
        "http://api.example.com",
        "api.example.com",
        "https://bücher.example",
    ] {
        let error = parse_origin(ConfigField::AllowedOrigins, bad, false).unwrap_err();
        assert_eq!(error.code(), "INVALID_CONFIG", "{bad}");
    }
    assert_eq!(
        parse_origin(ConfigField::AllowedOrigins, "http://api.internal", true).unwrap(),
        "http://api.internal"
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn a_server_that_echoes_the_secret_in_any_encoding_does_not_leak_it() {
    let client = ClientCredentials::new(client_credentials("s3cret é/value")).unwrap();
    let (sent, _) = drive(
        client.start(&mut TestRng::default()),
        vec![json(200, TOKEN_JSON)],
    );
    let basic = sent[0].header("Authorization").unwrap();
    let credentials = basic.strip_prefix("Basic ").unwrap().to_owned();
    for echo in [
        format!("you sent Authorization: {basic}"),
        format!("credentials {credentials}."),
        "secret=s3cret%20%c3%a9%2fvalue".to_owned(),
        "secret=s3cret+%c3%a9%2fvalue".to_owned(),
        "secret=s3cret%20%C3%A9%2Fvalue".to_owned(),
        r#"{"secret":"s3cret \u00e9\/value"}"#.replace(r"\/", "/"),
    ] {
        for response in [
            json(502, &format!("<p>{echo}</p>")),
            json(
                400,
                &serde_json::json!({"error": "invalid_client", "error_description": echo})
                    .to_string(),
            ),
        ] {
            let (_, result) = drive(client.start(&mut TestRng::default()), vec![response]);
            let error = result.unwrap_err();
            let shown = format!("{error} {error:?}");
            for leak in [
                credentials.as_str(),
                "s3cret",
                "%c3%a9%2fvalue",
                "\\u00e9/value",
            ] {
                assert!(!shown.contains(leak), "{leak} in {shown}");
            }
        }
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn a_server_that_echoes_a_signed_assertion_does_not_leak_it() {
    use grantkit::keys::PrivateKey;
    let key =
        std::sync::Arc::new(PrivateKey::parse(include_str!("fixtures/rsa2048.pkcs8.pem")).unwrap());
    let mut settings = client_credentials("unused");
    settings.client.credential = ClientCredential::PrivateKeyJwt {
        key,
        algorithm: None,
        certificate_pem: None,
    };
    let client = ClientCredentials::new(settings).unwrap();
    // Deterministic: the same RNG and clock give the same RS256 assertion.
    let (sent, _) = drive(
        client.start(&mut TestRng::default()),
        vec![json(200, TOKEN_JSON)],
    );
    let assertion = common::param(&sent[0], "client_assertion");
    let signature = assertion.rsplit('.').next().unwrap().to_owned();
    for echo in [
        format!("replay me: {assertion}"),
        format!("bad signature {signature}"),
    ] {
        let body = serde_json::json!({"error": "invalid_client", "error_description": echo});
        let (_, result) = drive(
            client.start(&mut TestRng::default()),
            vec![json(401, &body.to_string())],
        );
        let error = result.unwrap_err();
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains(&signature), "{shown}");
    }
}
