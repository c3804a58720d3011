//! Token exchange: RFC 8693's exact request and answer, and Microsoft Entra
//! ID's on-behalf-of request; every configuration error before a request.

mod common;

use common::{drive, headers, json, TestRng};
use grantkit::client_auth::{ClientAuthMethod, ClientCredential};
use grantkit::flow::{TokenExchange, TokenExchangeSettings};
use grantkit::options::ConfigField;
use grantkit::provider::Provider;
use grantkit::redact::WITHHELD;
use grantkit::{Error, Method, Secret};
use wasm_bindgen_test::wasm_bindgen_test;

const ENDPOINT: &str = "https://sso.example.com/realms/ops/protocol/openid-connect/token";
const ENTRA: &str = "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token";
const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");
const ACCEPT: (&str, &str) = ("Accept", "application/json");
/// base64("gateway:gw-secret")
const BASIC: (&str, &str) = ("Authorization", "Basic Z2F0ZXdheTpndy1zZWNyZXQ=");
const SUBJECT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln";
const EXCHANGED: &str = r#"{"access_token":"downstream-at","issued_token_type":"urn:ietf:params:oauth:token-type:access_token","token_type":"Bearer","expires_in":300}"#;

fn settings() -> TokenExchangeSettings {
    let mut settings = TokenExchangeSettings::new(ENDPOINT, "gateway", Secret::new(SUBJECT));
    settings.client.credential = ClientCredential::Secret {
        secret: Secret::new("gw-secret"),
        method: ClientAuthMethod::Basic,
    };
    settings
}

fn config_error(settings: TokenExchangeSettings) -> (ConfigField, String) {
    match TokenExchange::new(settings) {
        Err(Error::InvalidConfig { field, reason }) => (field, reason),
        other => panic!("expected INVALID_CONFIG, got {other:?}"),
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn rfc8693_sends_the_exact_request_and_reads_the_answer() {
    let exchange = TokenExchange::new(settings()).unwrap();

    let (sent, result) = drive(
        exchange.start(&mut TestRng::default()),
        vec![json(200, EXCHANGED)],
    );

    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method, Method::Post);
    assert_eq!(sent[0].url, ENDPOINT);
    assert_eq!(headers(&sent[0]), [FORM, ACCEPT, BASIC]);
    assert_eq!(
        sent[0].body_text(),
        format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange\
             &subject_token={SUBJECT}\
             &subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token"
        )
    );
    let tokens = result.unwrap();
    assert_eq!(tokens.access_token.expose(), "downstream-at");
    assert_eq!(tokens.token_type, "Bearer");
    assert_eq!(tokens.expires_in, Some(300));
    assert_eq!(
        tokens.raw["issued_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn every_rfc8693_parameter_in_order_short_type_names_expanded_audience_and_resource_repeated() {
    let mut settings = settings();
    settings.client.scope = vec!["orders:read".into()];
    settings.client.extra_params = vec![("tenant".into(), "eu".into())];
    settings.subject_token_type = Some("jwt".into());
    settings.actor_token = Some(Secret::new("actor-token-value"));
    settings.actor_token_type = Some("urn:example:token-type:workload".into());
    settings.requested_token_type = Some("access_token".into());
    settings.audience = vec!["orders".into(), "billing".into()];
    settings.resource = vec!["https://orders.example.com/".into()];
    let exchange = TokenExchange::new(settings).unwrap();

    let (sent, result) = drive(
        exchange.start(&mut TestRng::default()),
        vec![json(200, EXCHANGED)],
    );

    let expected = [
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange",
        &format!("subject_token={SUBJECT}"),
        "subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt",
        "actor_token=actor-token-value",
        "actor_token_type=urn%3Aexample%3Atoken-type%3Aworkload",
        "requested_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token",
        "audience=orders",
        "audience=billing",
        "resource=https%3A%2F%2Forders.example.com%2F",
        "scope=orders%3Aread",
        "tenant=eu",
    ]
    .join("&");
    assert_eq!(sent[0].body_text(), expected);
    assert_eq!(headers(&sent[0]), [FORM, ACCEPT, BASIC]);
    assert!(result.is_ok());
}

#[wasm_bindgen_test(unsupported = test)]
fn an_answer_without_issued_token_type_or_with_token_type_n_a_is_refused() {
    let exchange = TokenExchange::new(settings()).unwrap();
    let no_type = r#"{"access_token":"downstream-at","token_type":"Bearer"}"#;
    let (_, result) = drive(
        exchange.start(&mut TestRng::default()),
        vec![json(200, no_type)],
    );
    match result {
        Err(error @ Error::InvalidTokenResponse { status: 200, .. }) => {
            assert_eq!(error.code(), "INVALID_TOKEN_RESPONSE");
            assert!(error.to_string().contains("issued_token_type"), "{error}");
        }
        other => panic!("{other:?}"),
    }

    // RFC 8693 §2.2.1: "N_A" when the issued token is not an access token;
    // grantkit hands out access tokens only.
    let not_an_access_token = r#"{"access_token":"an-id-token","issued_token_type":"urn:ietf:params:oauth:token-type:id_token","token_type":"N_A"}"#;
    let (_, result) = drive(
        exchange.start(&mut TestRng::default()),
        vec![json(200, not_an_access_token)],
    );
    let error = result.unwrap_err();
    assert_eq!(error.code(), "UNSUPPORTED_TOKEN_TYPE");
}

#[wasm_bindgen_test(unsupported = test)]
fn an_oauth_error_is_structured_and_free_of_the_subject_and_actor_tokens() {
    let mut settings = settings();
    settings.actor_token = Some(Secret::new("actor-token-value"));
    settings.actor_token_type = Some("access_token".into());
    let exchange = TokenExchange::new(settings).unwrap();
    let body = format!(
        r#"{{"error":"invalid_request","error_description":"subject {SUBJECT} or actor actor-token-value refused"}}"#
    );

    let (_, result) = drive(
        exchange.start(&mut TestRng::default()),
        vec![json(400, &body)],
    );

    let Err(Error::OAuth(error)) = result else {
        panic!("expected an OAuth error")
    };
    assert_eq!(error.error, "invalid_request");
    assert_eq!(error.error_description.as_deref(), Some(WITHHELD));
    let debug = format!("{:?}", exchange);
    assert!(
        !debug.contains(SUBJECT) && !debug.contains("actor-token-value"),
        "{debug}"
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn entra_on_behalf_of_sends_microsofts_documented_request() {
    let mut settings = TokenExchangeSettings::new(ENTRA, "api-a", Secret::new(SUBJECT));
    settings.client.credential = ClientCredential::Secret {
        secret: Secret::new("a-secret"),
        method: ClientAuthMethod::Post,
    };
    settings.client.scope = vec!["https://graph.microsoft.com/user.read".into()];
    let exchange = TokenExchange::new(settings).unwrap();
    let answer = r#"{"token_type":"Bearer","scope":"https://graph.microsoft.com/user.read","expires_in":3269,"ext_expires_in":0,"access_token":"graph-at","refresh_token":"graph-rt"}"#;

    let (sent, result) = drive(
        exchange.start(&mut TestRng::default()),
        vec![json(200, answer)],
    );

    assert_eq!(sent[0].url, ENTRA);
    assert_eq!(headers(&sent[0]), [FORM, ACCEPT]);
    assert_eq!(
        sent[0].body_text(),
        format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer\
             &assertion={SUBJECT}\
             &requested_token_use=on_behalf_of\
             &scope=https%3A%2F%2Fgraph.microsoft.com%2Fuser.read\
             &client_id=api-a&client_secret=a-secret"
        )
    );
    // Entra's answer is a plain token response (no issued_token_type).
    let tokens = result.unwrap();
    assert_eq!(tokens.access_token.expose(), "graph-at");
    assert_eq!(
        tokens.refresh_token.as_ref().map(Secret::expose),
        Some("graph-rt")
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn configuration_errors_name_their_option_before_any_request() {
    let mut s = settings();
    s.subject_token = Secret::new("");
    assert_eq!(config_error(s).0, ConfigField::SubjectToken);

    for (field, bad) in [
        ("subject", "not a uri"),
        ("subject", "nope"),
        ("requested", "access token"),
        ("requested", ":no-scheme"),
    ] {
        let mut s = settings();
        match field {
            "subject" => s.subject_token_type = Some(bad.into()),
            _ => s.requested_token_type = Some(bad.into()),
        }
        let (got, reason) = config_error(s);
        let want = match field {
            "subject" => ConfigField::SubjectTokenType,
            _ => ConfigField::RequestedTokenType,
        };
        assert_eq!(got, want, "{bad}");
        assert!(reason.contains("RFC 8693 §3"), "{reason}");
    }

    let mut s = settings();
    s.actor_token = Some(Secret::new("actor"));
    assert_eq!(
        config_error(s),
        (
            ConfigField::ActorTokenType,
            "is required with actorToken (RFC 8693 §2.1)".into()
        )
    );
    let mut s = settings();
    s.actor_token_type = Some("jwt".into());
    assert_eq!(config_error(s).0, ConfigField::ActorTokenType);
    let mut s = settings();
    s.actor_token = Some(Secret::new(""));
    s.actor_token_type = Some("jwt".into());
    assert_eq!(config_error(s).0, ConfigField::ActorToken);
    let mut s = settings();
    s.audience = vec![String::new()];
    assert_eq!(config_error(s).0, ConfigField::Audience);

    // Entra: a confidential client, a scope, and none of RFC 8693's extras.
    let entra = || {
        let mut s = TokenExchangeSettings::new(ENTRA, "api-a", Secret::new(SUBJECT));
        s.client.credential = ClientCredential::Secret {
            secret: Secret::new("a-secret"),
            method: ClientAuthMethod::Post,
        };
        s.client.scope = vec!["https://graph.microsoft.com/user.read".into()];
        s
    };
    let mut s = entra();
    s.client.credential = ClientCredential::None;
    assert_eq!(config_error(s).0, ConfigField::ClientSecret);
    let mut s = entra();
    s.client.scope.clear();
    assert_eq!(config_error(s).0, ConfigField::Scope);
    let mut s = entra();
    s.audience = vec!["x".into()];
    assert_eq!(config_error(s).0, ConfigField::Audience);
    let mut s = entra();
    s.subject_token_type = Some("id_token".into());
    assert_eq!(config_error(s).0, ConfigField::SubjectTokenType);
    // The provider may be named instead of inferred from the endpoint.
    let mut s = settings();
    s.client.provider = Some(Provider::Entra);
    s.client.scope = vec!["api://b/.default".into()];
    s.actor_token = Some(Secret::new("actor"));
    s.actor_token_type = Some("jwt".into());
    assert_eq!(config_error(s).0, ConfigField::ActorToken);
}

#[wasm_bindgen_test(unsupported = test)]
fn the_trace_names_the_exchange_and_masks_the_subject_and_actor_tokens() {
    use grantkit::flow::Flow;
    use grantkit::trace::{default_label, Exchange, Outcome};
    let mut settings = settings();
    settings.actor_token = Some(Secret::new("actor-token-value-0123456789-0123456789"));
    settings.actor_token_type = Some("access_token".into());
    let mut flow = TokenExchange::new(settings)
        .unwrap()
        .start(&mut TestRng::default());
    let grantkit::flow::Action::Send(request) = flow.poll(common::NOW).unwrap() else {
        panic!("expected a request")
    };
    let exchange = Exchange::new(
        flow.exchange_label(&request),
        &request,
        Outcome::Response(&json(200, EXCHANGED)),
        4,
        &flow.redactor(),
    );
    assert_eq!(exchange.label, "token request (token-exchange)");
    assert_eq!(exchange.label, default_label(&request));
    let text = serde_json::to_string(&exchange).unwrap();
    for secret in [
        SUBJECT,
        "actor-token-value-0123456789-0123456789",
        "gw-secret",
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert!(
        exchange
            .curl
            .contains(r#"'subject_token='"$SUBJECT_TOKEN""#),
        "{}",
        exchange.curl
    );
    assert!(
        exchange.curl.contains(r#"'actor_token='"$ACTOR_TOKEN""#),
        "{}",
        exchange.curl
    );
}
