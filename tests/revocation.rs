//! Revocation (RFC 7009) and introspection (RFC 7662): the exact requests
//! under each client authentication, the response rules and every refusal,
//! and what a TokenSource forgets when it revokes.

mod common;

use common::{drive, headers, json, param, TestRng, NOW};
use grantkit::client_auth::{ClientAuthMethod, ClientCredential};
use grantkit::flow::{
    AcpLogin, AcpLoginSettings, ClientCredentials, ClientCredentialsSettings, DeviceAuthorization,
    DeviceAuthorizationSettings, JwtBearer, JwtBearerSettings, PasswordGrant,
    PasswordGrantSettings, TokenTypeHint, TokensToRevoke,
};
use grantkit::keys::PrivateKey;
use grantkit::lease::{StoreRead, StoreStep};
use grantkit::options::ConfigField;
use grantkit::provider::Provider;
use grantkit::redact::Redactor;
use grantkit::source::{ExpiryPolicy, Grant, TokenSource};
use grantkit::token::parse_token_response;
use grantkit::trace::{Exchange, Outcome};
use grantkit::{Error, HttpResponse, Method, Secret, TokenSet};
use std::rc::Rc;
use std::sync::Arc;
use wasm_bindgen_test::wasm_bindgen_test;

const BASE: &str = "https://sso.example.com/realms/ops/protocol/openid-connect";
const TOKEN_ENDPOINT: &str = "https://sso.example.com/realms/ops/protocol/openid-connect/token";
const REVOKE: &str = "https://sso.example.com/realms/ops/protocol/openid-connect/revoke";
const INTROSPECT: &str =
    "https://sso.example.com/realms/ops/protocol/openid-connect/token/introspect";
const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");
const ACCEPT: (&str, &str) = ("Accept", "application/json");
/// base64("app:app-secret")
const BASIC: (&str, &str) = ("Authorization", "Basic YXBwOmFwcC1zZWNyZXQ=");
const LONG_SECRET: &str = "a-client-secret-of-32-bytes-or-more";

fn settings(method: ClientAuthMethod, secret: &str) -> ClientCredentialsSettings {
    let mut settings = ClientCredentialsSettings::new(TOKEN_ENDPOINT, "app", Secret::new(secret));
    settings.client.provider = Some(Provider::Keycloak);
    settings.client.credential = ClientCredential::Secret {
        secret: Secret::new(secret),
        method,
    };
    settings
}

fn client(method: ClientAuthMethod) -> ClientCredentials {
    let secret = match method {
        ClientAuthMethod::Jwt => LONG_SECRET,
        _ => "app-secret",
    };
    ClientCredentials::new(settings(method, secret)).unwrap()
}

fn both(refresh: &str, access: &str) -> TokensToRevoke {
    TokensToRevoke {
        refresh_token: Some(Secret::new(refresh)),
        access_token: Some(Secret::new(access)),
    }
}

fn acp() -> AcpLogin {
    AcpLogin::new(AcpLoginSettings {
        platform_url: "https://acp.example.com".into(),
        username: "alice".into(),
        password: Secret::new("pw"),
        idp: grantkit::flow::acp::AcpIdp::Local,
        allow_insecure_http: false,
    })
    .unwrap()
}

fn ok() -> HttpResponse {
    HttpResponse::new(200, "")
}

#[wasm_bindgen_test(unsupported = test)]
fn revoke_sends_the_refresh_token_then_the_access_token_each_with_its_hint() {
    let client = client(ClientAuthMethod::Basic);
    let revocation = client
        .token_client()
        .unwrap()
        .revoke(&both("rt 1/+", "at-1"), &mut TestRng::default())
        .unwrap();

    let (sent, result) = drive(revocation, vec![ok(), ok()]);

    result.unwrap();
    assert_eq!(sent.len(), 2);
    for request in &sent {
        assert_eq!(request.method, Method::Post);
        // Keycloak's documented endpoint, beside its token endpoint.
        assert_eq!(request.url, REVOKE);
        assert_eq!(headers(request), [FORM, ACCEPT, BASIC]);
    }
    // RFC 7009 §2.1: token, token_type_hint, form-encoded.
    assert_eq!(
        sent[0].body_text(),
        "token=rt+1%2F%2B&token_type_hint=refresh_token"
    );
    assert_eq!(
        sent[1].body_text(),
        "token=at-1&token_type_hint=access_token"
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn revoke_authenticates_as_the_token_requests_do() {
    // client_secret_post: the credentials after the token.
    let revocation = client(ClientAuthMethod::Post)
        .token_client()
        .unwrap()
        .revoke(
            &TokensToRevoke {
                access_token: Some(Secret::new("at-1")),
                ..Default::default()
            },
            &mut TestRng::default(),
        )
        .unwrap();
    let (sent, result) = drive(revocation, vec![ok()]);
    result.unwrap();
    assert_eq!(headers(&sent[0]), [FORM, ACCEPT]);
    assert_eq!(
        sent[0].body_text(),
        "token=at-1&token_type_hint=access_token&client_id=app&client_secret=app-secret"
    );

    // client_secret_jwt: aud is the token endpoint, not the revocation
    // endpoint (RFC 7523 §3, OpenID Connect Core §9).
    let revocation = client(ClientAuthMethod::Jwt)
        .token_client()
        .unwrap()
        .revoke(
            &TokensToRevoke {
                refresh_token: Some(Secret::new("rt-1")),
                ..Default::default()
            },
            &mut TestRng::default(),
        )
        .unwrap();
    let (sent, result) = drive(revocation, vec![ok()]);
    result.unwrap();
    let assertion = param(&sent[0], "client_assertion");
    assert_eq!(
        sent[0].body_text(),
        format!(
            "token=rt-1&token_type_hint=refresh_token&client_id=app\
             &client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer\
             &client_assertion={assertion}"
        )
    );
    let decoded = grantkit::jwt::decode_unverified(assertion).unwrap();
    assert_eq!(decoded.header["alg"], "HS256");
    assert_eq!(decoded.claims["aud"], TOKEN_ENDPOINT);
    assert_eq!(decoded.claims["iss"], "app");
    assert_eq!(decoded.claims["sub"], "app");

    // private_key_jwt: the driver signs; aud is the token endpoint.
    let mut settings = settings(ClientAuthMethod::Basic, "unused");
    settings.client.credential = ClientCredential::PrivateKeyJwt {
        key: Arc::new(PrivateKey::parse(include_str!("fixtures/rsa2048.pkcs8.pem")).unwrap()),
        algorithm: None,
        certificate_pem: None,
    };
    let revocation = ClientCredentials::new(settings)
        .unwrap()
        .token_client()
        .unwrap()
        .revoke(&both("rt-1", "at-1"), &mut TestRng::default())
        .unwrap();
    let (sent, result) = drive(revocation, vec![ok(), ok()]);
    result.unwrap();
    let jtis: Vec<_> = sent
        .iter()
        .map(|request| {
            let claims = grantkit::jwt::decode_unverified(param(request, "client_assertion"))
                .unwrap()
                .claims;
            assert_eq!(claims["aud"], TOKEN_ENDPOINT);
            claims["jti"].clone()
        })
        .collect();
    assert_ne!(jtis[0], jtis[1], "each request has its own assertion");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_public_client_sends_its_client_id() {
    let mut settings = PasswordGrantSettings::new(TOKEN_ENDPOINT, "cli", "alice", "pw".into());
    settings.client.revocation_endpoint = Some("https://idp.example/oauth/revoke".into());
    let grant = PasswordGrant::new(settings).unwrap();
    let revocation = grant
        .token_client()
        .unwrap()
        .revoke(&both("rt-1", "at-1"), &mut TestRng::default())
        .unwrap();
    let (sent, result) = drive(revocation, vec![ok(), ok()]);
    result.unwrap();
    assert_eq!(sent[0].url, "https://idp.example/oauth/revoke");
    assert_eq!(headers(&sent[0]), [FORM, ACCEPT]);
    assert_eq!(
        sent[0].body_text(),
        "token=rt-1&token_type_hint=refresh_token&client_id=cli"
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn any_2xx_is_revoked_whatever_the_body() {
    // RFC 7009 §2.2: "The content of the response body is ignored by the
    // client".
    for response in [
        ok(),
        json(200, r#"{"error":"ignored"}"#),
        HttpResponse::new(200, "<html>revoked</html>"),
        HttpResponse::new(204, ""),
    ] {
        let revocation = client(ClientAuthMethod::Basic)
            .token_client()
            .unwrap()
            .revoke(&both("rt-1", "at-1"), &mut TestRng::default())
            .unwrap();
        let (sent, result) = drive(revocation, vec![response.clone(), response]);
        assert_eq!(sent.len(), 2);
        result.unwrap();
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn a_refused_revocation_stops_and_says_why() {
    let cases: Vec<(HttpResponse, &str)> = vec![
        // RFC 7009 §2.2.1.
        (
            json(
                400,
                r#"{"error":"unsupported_token_type","error_description":"refresh tokens only"}"#,
            ),
            "OAUTH_ERROR",
        ),
        (json(401, r#"{"error":"invalid_client"}"#), "OAUTH_ERROR"),
        // "the client must assume the token still exists".
        (
            HttpResponse::new(503, "down for maintenance").with_header("Retry-After", "30"),
            "RESPONSE_NOT_JSON",
        ),
        (json(500, r#"{"message":"boom"}"#), "HTTP_ERROR"),
        (
            HttpResponse::new(302, "").with_header("Location", "https://elsewhere.example/"),
            "UNEXPECTED_REDIRECT",
        ),
    ];
    for (response, code) in cases {
        let revocation = client(ClientAuthMethod::Basic)
            .token_client()
            .unwrap()
            .revoke(&both("rt-SECRET-1", "at-1"), &mut TestRng::default())
            .unwrap();
        // The access token is not sent after the refresh token was refused.
        let (sent, result) = drive(revocation, vec![response]);
        assert_eq!(sent.len(), 1);
        let error = result.unwrap_err();
        assert_eq!(error.code(), code, "{error}");
        if code == "OAUTH_ERROR" {
            assert!(error.members().error.is_some());
        }
    }
    // A server that echoes the token does not get it into the error.
    let revocation = client(ClientAuthMethod::Basic)
        .token_client()
        .unwrap()
        .revoke(&both("rt-SECRET-1", "at-1"), &mut TestRng::default())
        .unwrap();
    let (_, result) = drive(
        revocation,
        vec![json(
            400,
            r#"{"error":"invalid_request","error_description":"bad token rt-SECRET-1"}"#,
        )],
    );
    let error = result.unwrap_err();
    assert!(!format!("{error}{:?}", error.members()).contains("rt-SECRET-1"));
}

#[wasm_bindgen_test(unsupported = test)]
fn without_a_revocation_endpoint_revoke_is_a_config_error() {
    let field = |result: Result<_, Error>| match result {
        Err(Error::InvalidConfig { field, reason }) => (field, reason),
        other => panic!("{other:?}"),
    };
    // A generic server: the endpoint must be given.
    let generic = ClientCredentials::new(ClientCredentialsSettings::new(
        "https://idp.example/token",
        "app",
        "s".into(),
    ))
    .unwrap();
    let client = generic.token_client().unwrap();
    let (f, reason) = field(client.revoke(&both("r", "a"), &mut TestRng::default()));
    assert_eq!(
        (f, reason.contains("is required")),
        (ConfigField::RevocationEndpoint, true)
    );
    let error = client
        .introspect(&"a".into(), None, &mut TestRng::default())
        .unwrap_err();
    assert!(matches!(
        error,
        Error::InvalidConfig {
            field: ConfigField::IntrospectionEndpoint,
            ..
        }
    ));
    // Entra has no RFC 7009 endpoint, and says so.
    let mut entra = ClientCredentialsSettings::new(
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token",
        "app",
        "s".into(),
    );
    entra.client.scope = vec!["api://x/.default".into()];
    let entra = ClientCredentials::new(entra).unwrap();
    let (f, reason) = field(
        entra
            .token_client()
            .unwrap()
            .revoke(&both("r", "a"), &mut TestRng::default()),
    );
    assert_eq!(f, ConfigField::RevocationEndpoint);
    assert!(
        reason.contains("Microsoft Entra ID has no RFC 7009"),
        "{reason}"
    );
    // A given endpoint is checked with the others, before any request.
    let mut bad = settings(ClientAuthMethod::Basic, "s");
    bad.client.revocation_endpoint = Some("http://idp.example/revoke".into());
    let error = ClientCredentials::new(bad).unwrap_err();
    assert!(
        matches!(
            error,
            Error::InvalidConfig {
                field: ConfigField::RevocationEndpoint,
                ..
            }
        ),
        "{error:?}"
    );
    let mut bad = settings(ClientAuthMethod::Basic, "s");
    bad.client.introspection_endpoint = Some("introspect".into());
    let error = ClientCredentials::new(bad).unwrap_err();
    assert!(
        matches!(
            error,
            Error::InvalidConfig {
                field: ConfigField::IntrospectionEndpoint,
                ..
            }
        ),
        "{error:?}"
    );
    // Nothing to revoke, or an empty token.
    let keycloak = crate::client(ClientAuthMethod::Basic);
    let client = keycloak.token_client().unwrap();
    let (f, _) = field(client.revoke(&TokensToRevoke::default(), &mut TestRng::default()));
    assert_eq!(f, ConfigField::Token);
    let (f, _) = field(client.revoke(&both("", "a"), &mut TestRng::default()));
    assert_eq!(f, ConfigField::Token);
    let error = client
        .introspect(&"".into(), None, &mut TestRng::default())
        .unwrap_err();
    assert!(matches!(
        error,
        Error::InvalidConfig {
            field: ConfigField::Token,
            ..
        }
    ));
}

#[wasm_bindgen_test(unsupported = test)]
fn every_grant_revokes_with_its_own_client() {
    let key = Arc::new(PrivateKey::parse(include_str!("fixtures/rsa2048.pkcs8.pem")).unwrap());
    let mut jwt = JwtBearerSettings::new(
        "https://tenant.example.com:443/am/oauth2/access_token",
        key,
        "svc",
    );
    jwt.client.provider = Some(Provider::PingAic);
    let jwt = JwtBearer::new(jwt).unwrap();
    let mut device =
        DeviceAuthorizationSettings::new(&format!("{BASE}/auth/device"), TOKEN_ENDPOINT, "tv");
    device.client.introspection_endpoint = Some(INTROSPECT.into());
    let device = DeviceAuthorization::new(device).unwrap();
    let acp = acp();
    let token = Secret::new("at-1");
    // PingOne AIC's documented endpoints; the service account's client_id.
    let (sent, _) = drive(
        jwt.token_client()
            .unwrap()
            .introspect(
                &token,
                Some(TokenTypeHint::AccessToken),
                &mut TestRng::default(),
            )
            .unwrap(),
        vec![json(200, r#"{"active":false}"#)],
    );
    assert_eq!(
        sent[0].url,
        "https://tenant.example.com:443/am/oauth2/introspect"
    );
    assert_eq!(
        sent[0].body_text(),
        "token=at-1&token_type_hint=access_token&client_id=service-account"
    );
    let (sent, _) = drive(
        device
            .token_client()
            .unwrap()
            .introspect(&token, None, &mut TestRng::default())
            .unwrap(),
        vec![json(200, r#"{"active":false}"#)],
    );
    // A public device client: its client_id.
    assert_eq!(sent[0].url, INTROSPECT);
    assert_eq!(sent[0].body_text(), "token=at-1&client_id=tv");
    assert!(acp.token_client().is_none());
}

#[wasm_bindgen_test(unsupported = test)]
fn introspect_sends_the_token_and_reads_active() {
    let client = client(ClientAuthMethod::Basic);
    let token_client = client.token_client().unwrap();
    let body = r#"{"active":true,"scope":"api:read","client_id":"app","exp":1700000300,"iss":"https://sso.example.com","x-vendor":[1]}"#;
    let (sent, result) = drive(
        token_client
            .introspect(
                &"at 1".into(),
                Some(TokenTypeHint::AccessToken),
                &mut TestRng::default(),
            )
            .unwrap(),
        vec![json(200, body)],
    );
    assert_eq!(sent[0].method, Method::Post);
    assert_eq!(sent[0].url, INTROSPECT);
    assert_eq!(headers(&sent[0]), [FORM, ACCEPT, BASIC]);
    // RFC 7662 §2.1.
    assert_eq!(
        sent[0].body_text(),
        "token=at+1&token_type_hint=access_token"
    );
    let answer = result.unwrap();
    assert!(answer.active);
    assert_eq!(
        serde_json::Value::Object(answer.raw.clone()),
        serde_json::from_str::<serde_json::Value>(body).unwrap()
    );
    assert!(!format!("{answer:?}").contains("api:read"));

    // Without a hint, none is sent; an inactive token is an answer, not an
    // error.
    let (sent, result) = drive(
        token_client
            .introspect(&"rt-1".into(), None, &mut TestRng::default())
            .unwrap(),
        vec![json(200, r#"{"active":false}"#)],
    );
    assert_eq!(sent[0].body_text(), "token=rt-1");
    assert!(!result.unwrap().active);
}

#[wasm_bindgen_test(unsupported = test)]
fn an_introspection_response_without_a_boolean_active_is_refused() {
    let cases: Vec<(HttpResponse, &str)> = vec![
        (
            json(200, r#"{"scope":"api"}"#),
            "INVALID_INTROSPECTION_RESPONSE",
        ),
        (
            json(200, r#"{"active":"true"}"#),
            "INVALID_INTROSPECTION_RESPONSE",
        ),
        (
            json(200, r#"{"active":1}"#),
            "INVALID_INTROSPECTION_RESPONSE",
        ),
        (
            json(200, r#"{"active":null}"#),
            "INVALID_INTROSPECTION_RESPONSE",
        ),
        (
            json(200, r#"[{"active":true}]"#),
            "INVALID_INTROSPECTION_RESPONSE",
        ),
        (HttpResponse::new(200, "active=true"), "RESPONSE_NOT_JSON"),
        (json(401, r#"{"error":"invalid_client"}"#), "OAUTH_ERROR"),
        (json(200, r#"{"error":"invalid_request"}"#), "OAUTH_ERROR"),
        (json(403, r#"{"active":true}"#), "HTTP_ERROR"),
        (
            HttpResponse::new(307, "").with_header("Location", "https://x.example/i"),
            "UNEXPECTED_REDIRECT",
        ),
    ];
    for (response, code) in cases {
        let (_, result) = drive(
            client(ClientAuthMethod::Basic)
                .token_client()
                .unwrap()
                .introspect(&"at-SECRET-1".into(), None, &mut TestRng::default())
                .unwrap(),
            vec![response],
        );
        let error = result.unwrap_err();
        assert_eq!(error.code(), code, "{error}");
        if code == "INVALID_INTROSPECTION_RESPONSE" {
            assert_eq!(error.status(), Some(200));
        }
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn a_trace_shows_the_token_as_a_prefix_and_names_the_exchange() {
    use grantkit::flow::Flow;
    let access = "at-".to_owned() + &"x".repeat(60);
    let mut revocation = client(ClientAuthMethod::Basic)
        .token_client()
        .unwrap()
        .revoke(
            &TokensToRevoke {
                access_token: Some(Secret::new(access.as_str())),
                ..Default::default()
            },
            &mut TestRng::default(),
        )
        .unwrap();
    let Ok(grantkit::flow::Action::Send(request)) = revocation.poll(NOW) else {
        panic!()
    };
    let exchange = Exchange::new(
        revocation.exchange_label(&request),
        &request,
        Outcome::Response(&ok()),
        3,
        &revocation.redactor(),
    );
    assert_eq!(exchange.label, "revocation request (access_token)");
    assert_eq!(
        exchange.request_body.as_deref(),
        Some("token=at-xxxxxxx…&token_type_hint=access_token")
    );
    assert!(
        exchange
            .curl
            .contains(r#"--data-urlencode 'token='"$TOKEN""#),
        "{}",
        exchange.curl
    );
    assert!(!serde_json::to_string(&exchange).unwrap().contains(&access));
}

fn tokens(access: &str, refresh: Option<&str>) -> TokenSet {
    let refresh = refresh.map_or(String::new(), |r| format!(r#","refresh_token":"{r}""#));
    let body =
        format!(r#"{{"access_token":"{access}","token_type":"Bearer","expires_in":300{refresh}}}"#);
    parse_token_response(&json(200, &body), NOW, &Redactor::default(), false).unwrap()
}

fn source() -> TokenSource {
    TokenSource::new(
        Box::new(Rc::new(client(ClientAuthMethod::Basic))),
        ExpiryPolicy::default(),
    )
}

#[wasm_bindgen_test(unsupported = test)]
fn a_token_source_revokes_its_cached_tokens_and_forgets_them() {
    let mut source = source();
    source.adopt(tokens("at-cached", Some("rt-cached")));
    let revocation = source
        .revoke(None, &mut TestRng::default())
        .unwrap()
        .unwrap();
    // Forgotten before anything is sent: no caller is handed them again.
    assert!(source.current().is_none());
    assert!(source.fresh(NOW).is_none());
    assert_eq!(source.fresh_until_ms(), 0);
    let (sent, result) = drive(revocation, vec![ok(), ok()]);
    result.unwrap();
    assert_eq!(
        sent.iter().map(|r| r.body_text()).collect::<Vec<_>>(),
        [
            "token=rt-cached&token_type_hint=refresh_token",
            "token=at-cached&token_type_hint=access_token"
        ]
    );
    // The next acquire runs the grant itself, not the refresh.
    assert!(!source.acquire(Box::new(TestRng::default())).refreshes());
    // A shared store's copy of the revoked tokens is a miss; newer ones are not.
    let StoreStep::Read(read) = source.through_store(None, 1_700_000_000_000) else {
        panic!()
    };
    assert!(matches!(
        read.stored(
            StoreRead::Found(tokens("at-cached", None)),
            1_700_000_000_000
        ),
        StoreStep::Request(_)
    ));
    let StoreStep::Read(read) = source.through_store(None, 1_700_000_000_000) else {
        panic!()
    };
    assert!(matches!(
        read.stored(
            StoreRead::Found(tokens("at-newer", None)),
            1_700_000_000_000
        ),
        StoreStep::Use(..)
    ));
    // With nothing cached, there is nothing to revoke.
    assert!(source
        .revoke(None, &mut TestRng::default())
        .unwrap()
        .is_none());
}

#[wasm_bindgen_test(unsupported = test)]
fn a_token_source_keeps_its_cache_when_other_tokens_are_revoked() {
    let mut source = source();
    source.adopt(tokens("at-cached", None));
    let other = TokensToRevoke {
        access_token: Some(Secret::new("at-other")),
        ..Default::default()
    };
    let revocation = source
        .revoke(Some(other), &mut TestRng::default())
        .unwrap()
        .unwrap();
    assert!(source.fresh(NOW).is_some());
    let (sent, _) = drive(revocation, vec![ok()]);
    assert_eq!(
        sent[0].body_text(),
        "token=at-other&token_type_hint=access_token"
    );
    // Its own access token, given explicitly: forgotten.
    let own = TokensToRevoke {
        access_token: Some(Secret::new("at-cached")),
        ..Default::default()
    };
    source
        .revoke(Some(own), &mut TestRng::default())
        .unwrap()
        .unwrap();
    assert!(source.current().is_none());
}

#[wasm_bindgen_test(unsupported = test)]
fn a_config_error_forgets_nothing() {
    // A generic server without a revocation endpoint, and the ACP login.
    let generic = ClientCredentials::new(ClientCredentialsSettings::new(
        "https://idp.example/token",
        "app",
        "s".into(),
    ))
    .unwrap();
    let acp = acp();
    for grant in [
        Box::new(Rc::new(generic)) as Box<dyn Grant>,
        Box::new(Rc::new(acp)),
    ] {
        let mut source = TokenSource::new(grant, ExpiryPolicy::default());
        source.adopt(tokens("at-cached", Some("rt")));
        let error = source.revoke(None, &mut TestRng::default()).unwrap_err();
        assert!(
            matches!(
                error,
                Error::InvalidConfig {
                    field: ConfigField::RevocationEndpoint,
                    ..
                }
            ),
            "{error:?}"
        );
        assert!(source.fresh(NOW).is_some());
    }
}
