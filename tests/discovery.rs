//! Discovery (OpenID Connect Discovery 1.0, RFC 8414): the exact requests,
//! the checks a document must pass (each refusal with its code), Entra's
//! multi-tenant issuers, the cache's single-flight policy, and grants
//! configured with an issuer instead of endpoints.

mod common;

use common::{drive, headers, json, TestRng, NOW};
use grantkit::discovery::{
    issuer_matches, DiscoveryRequest, Lookup, MetadataCache, ServerMetadata, LABEL_OPENID,
    LABEL_RFC8414,
};
use grantkit::flow::{
    Action, ClientCredentials, ClientCredentialsSettings, DeviceAuthorization,
    DeviceAuthorizationSettings, Discoverable, Flow, JwtBearer, JwtBearerSettings,
};
use grantkit::keys::PrivateKey;
use grantkit::options::ConfigField;
use grantkit::source::Grant;
use grantkit::{Error, HttpRequest, HttpResponse, Method, Secret};
use std::sync::Arc;

const ISSUER: &str = "https://sso.example.com/realms/ops";
const TOKEN: &str = "https://sso.example.com/realms/ops/protocol/openid-connect/token";
const TOKEN_JSON: &str = r#"{"access_token":"at-1","token_type":"Bearer","expires_in":300}"#;

fn request(issuer: &str) -> DiscoveryRequest {
    DiscoveryRequest::new(ConfigField::Issuer, issuer, false).unwrap()
}

fn document(issuer: &str, extra: &str) -> String {
    format!(r#"{{"issuer":"{issuer}","token_endpoint":"{TOKEN}"{extra}}}"#)
}

fn discover(
    issuer: &str,
    responses: Vec<HttpResponse>,
) -> (Vec<HttpRequest>, Result<ServerMetadata, Error>) {
    drive(request(issuer).start(), responses)
}

fn code(result: Result<ServerMetadata, Error>) -> &'static str {
    result.unwrap_err().code()
}

#[test]
fn the_openid_configuration_is_asked_for_first_exactly() {
    let (sent, result) = discover(ISSUER, vec![json(200, &document(ISSUER, ""))]);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method, Method::Get);
    assert_eq!(
        sent[0].url,
        "https://sso.example.com/realms/ops/.well-known/openid-configuration"
    );
    assert_eq!(headers(&sent[0]), [("Accept", "application/json")]);
    assert_eq!(sent[0].body, None);
    assert_eq!(result.unwrap().token_endpoint.as_deref(), Some(TOKEN));
}

#[test]
fn well_known_urls_of_issuers_with_and_without_paths_and_trailing_slashes() {
    // (issuer, OIDC Discovery §4 URL, RFC 8414 §3.1 URL)
    let cases = [
        (
            "https://a.example",
            "https://a.example/.well-known/openid-configuration",
            "https://a.example/.well-known/oauth-authorization-server",
        ),
        (
            "https://a.example/",
            "https://a.example/.well-known/openid-configuration",
            "https://a.example/.well-known/oauth-authorization-server",
        ),
        (
            "https://a.example/tenant1",
            "https://a.example/tenant1/.well-known/openid-configuration",
            "https://a.example/.well-known/oauth-authorization-server/tenant1",
        ),
        (
            "https://a.example/tenant1/",
            "https://a.example/tenant1/.well-known/openid-configuration",
            "https://a.example/.well-known/oauth-authorization-server/tenant1",
        ),
        (
            "https://a.example:8443/x/y",
            "https://a.example:8443/x/y/.well-known/openid-configuration",
            "https://a.example:8443/.well-known/oauth-authorization-server/x/y",
        ),
        (
            "http://127.0.0.1:3000",
            "http://127.0.0.1:3000/.well-known/openid-configuration",
            "http://127.0.0.1:3000/.well-known/oauth-authorization-server",
        ),
    ];
    for (issuer, openid, rfc8414) in cases {
        let (sent, result) = discover(
            issuer,
            vec![
                HttpResponse::new(404, "not found"),
                json(200, &document(issuer, "")),
            ],
        );
        let urls: Vec<&str> = sent.iter().map(|r| r.url.as_str()).collect();
        assert_eq!(urls, [openid, rfc8414], "{issuer}");
        assert!(sent.iter().all(|r| r.method == Method::Get
            && headers(r) == [("Accept", "application/json")]
            && r.body.is_none()));
        // The document must name the issuer exactly as asked, slash and all.
        assert_eq!(result.unwrap().issuer, issuer);
    }
}

#[test]
fn each_request_has_its_trace_label() {
    let mut flow = request(ISSUER).start();
    let Ok(Action::Send(first)) = flow.poll(NOW) else {
        panic!()
    };
    assert_eq!(flow.exchange_label(&first), LABEL_OPENID);
    flow.handle_response(HttpResponse::new(404, ""), NOW)
        .unwrap();
    let Ok(Action::Send(second)) = flow.poll(NOW) else {
        panic!()
    };
    assert_eq!(flow.exchange_label(&second), LABEL_RFC8414);
    assert_eq!(LABEL_OPENID, "discovery (openid-configuration)");
    assert_eq!(LABEL_RFC8414, "discovery (oauth-authorization-server)");
}

#[test]
fn only_a_404_leads_to_the_rfc_8414_url() {
    let (sent, result) = discover(ISSUER, vec![json(500, r#"{"message":"down"}"#)]);
    assert_eq!(sent.len(), 1);
    assert_eq!(code(result), "HTTP_ERROR");

    let (sent, result) = discover(
        ISSUER,
        vec![HttpResponse::new(404, ""), HttpResponse::new(404, "")],
    );
    assert_eq!(sent.len(), 2);
    let error = result.unwrap_err();
    assert_eq!(error.code(), "DISCOVERY_NOT_FOUND");
    assert_eq!(error.status(), Some(404));
}

#[test]
fn redirects_are_not_followed() {
    let redirect =
        HttpResponse::new(302, "").with_header("Location", "https://elsewhere.example/doc");
    let (sent, result) = discover(ISSUER, vec![redirect]);
    assert_eq!(sent.len(), 1);
    assert_eq!(code(result), "UNEXPECTED_REDIRECT");
    // A browser's opaque redirect.
    let (_, result) = discover(ISSUER, vec![HttpResponse::new(0, "")]);
    assert_eq!(code(result), "UNEXPECTED_REDIRECT");
}

#[test]
fn every_endpoint_is_filled_from_the_document() {
    let body = format!(
        r#"{{"issuer":"{ISSUER}","token_endpoint":"{TOKEN}",
        "device_authorization_endpoint":"{ISSUER}/protocol/openid-connect/auth/device",
        "revocation_endpoint":"{ISSUER}/protocol/openid-connect/revoke",
        "introspection_endpoint":"{ISSUER}/protocol/openid-connect/token/introspect",
        "authorization_endpoint":"{ISSUER}/protocol/openid-connect/auth",
        "jwks_uri":"{ISSUER}/protocol/openid-connect/certs","response_types_supported":["code"],
        "authorization_response_iss_parameter_supported":true}}"#
    );
    let (_, result) = discover(ISSUER, vec![json(200, &body)]);
    let e = |path: &str| Some(format!("{ISSUER}/protocol/openid-connect/{path}"));
    assert_eq!(
        result.unwrap(),
        ServerMetadata {
            issuer: ISSUER.into(),
            token_endpoint: Some(TOKEN.into()),
            device_authorization_endpoint: e("auth/device"),
            revocation_endpoint: e("revoke"),
            introspection_endpoint: e("token/introspect"),
            authorization_endpoint: e("auth"),
            jwks_uri: e("certs"),
            authorization_response_iss_parameter_supported: true,
        }
    );
}

#[test]
fn the_iss_announcement_is_a_boolean_false_when_absent() {
    // RFC 9207 §3: "If omitted, the default value is false."
    for (extra, announced) in [
        ("", false),
        (
            r#","authorization_response_iss_parameter_supported":null"#,
            false,
        ),
        (
            r#","authorization_response_iss_parameter_supported":false"#,
            false,
        ),
        (
            r#","authorization_response_iss_parameter_supported":true"#,
            true,
        ),
    ] {
        let (_, result) = discover(ISSUER, vec![json(200, &document(ISSUER, extra))]);
        let metadata = result.unwrap();
        assert_eq!(
            metadata.authorization_response_iss_parameter_supported, announced,
            "{extra}"
        );
        assert_eq!(metadata.jwks_uri, None);
    }
    for value in [r#""true""#, "1", "[]"] {
        let extra = format!(r#","authorization_response_iss_parameter_supported":{value}"#);
        let (_, result) = discover(ISSUER, vec![json(200, &document(ISSUER, &extra))]);
        let error = result.unwrap_err();
        assert_eq!(error.code(), "DISCOVERY_INVALID_DOCUMENT", "{value}");
        assert!(
            error.to_string().contains("is not a boolean (RFC 9207 §3)"),
            "{error}"
        );
    }
}

#[test]
fn endpoints_on_another_origin_are_accepted() {
    // Neither OIDC Discovery nor RFC 8414 ties endpoints to the issuer's host.
    let body =
        format!(r#"{{"issuer":"{ISSUER}","token_endpoint":"https://tokens.example.net/t"}}"#);
    let (_, result) = discover(ISSUER, vec![json(200, &body)]);
    assert_eq!(
        result.unwrap().token_endpoint.as_deref(),
        Some("https://tokens.example.net/t")
    );
}

#[test]
fn a_document_for_another_issuer_is_refused() {
    for other in [
        "https://evil.example/realms/ops",
        // Exactly: a trailing slash, case, a port are differences.
        "https://sso.example.com/realms/ops/",
        "https://SSO.example.com/realms/ops",
        "https://sso.example.com:443/realms/ops",
        "https://login.microsoftonline.com/{tenantid}/v2.0",
    ] {
        let (_, result) = discover(ISSUER, vec![json(200, &document(other, ""))]);
        let error = result.unwrap_err();
        assert_eq!(error.code(), "DISCOVERY_ISSUER_MISMATCH", "{other}");
        assert_eq!(error.status(), Some(200));
    }
    // Given with a slash, a document without one is refused too.
    let (_, result) = discover(
        "https://a.example/tenant1/",
        vec![json(200, &document("https://a.example/tenant1", ""))],
    );
    assert_eq!(code(result), "DISCOVERY_ISSUER_MISMATCH");
}

#[test]
fn entra_multi_tenant_documents_carry_a_tenantid_template() {
    let template = "https://login.microsoftonline.com/{tenantid}/v2.0";
    for alias in ["common", "organizations", "consumers"] {
        let issuer = format!("https://login.microsoftonline.com/{alias}/v2.0");
        assert!(issuer_matches(&issuer, template), "{alias}");
        let (sent, result) = discover(
            &issuer,
            vec![json(
                200,
                &format!(
                    r#"{{"issuer":"{template}","token_endpoint":"https://login.microsoftonline.com/{alias}/oauth2/v2.0/token"}}"#
                ),
            )],
        );
        assert_eq!(
            sent[0].url,
            format!(
                "https://login.microsoftonline.com/{alias}/v2.0/.well-known/openid-configuration"
            )
        );
        let metadata = result.unwrap();
        assert_eq!(metadata.issuer, issuer);
        assert_eq!(
            metadata.token_endpoint,
            Some(format!(
                "https://login.microsoftonline.com/{alias}/oauth2/v2.0/token"
            ))
        );
    }
    // The consumer tenant's own issuer stands for "consumers" (documented).
    let consumer = "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0";
    assert!(issuer_matches(
        "https://login.microsoftonline.com/consumers/v2.0",
        consumer
    ));
    assert!(!issuer_matches(
        "https://login.microsoftonline.com/common/v2.0",
        consumer
    ));
    // A single tenant, another cloud, the v1 form, another host: no latitude.
    for asked in [
        "https://login.microsoftonline.com/8eaef023-2b34-4da1-9baa-8bc8c9d6a490/v2.0",
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0",
        "https://login.microsoftonline.com/common",
        "https://login.microsoftonline.us/common/v2.0",
        "https://evil.example/common/v2.0",
    ] {
        assert!(!issuer_matches(asked, template), "{asked}");
    }
    assert!(!issuer_matches(
        "https://login.microsoftonline.com/common/v2.0",
        "https://login.microsoftonline.com/{tenantid}/v2.0/"
    ));
}

#[test]
fn plain_http_endpoints_are_refused_off_loopback() {
    let insecure = r#"{"issuer":"https://sso.example.com/realms/ops","token_endpoint":"http://sso.example.com/token"}"#;
    let (_, result) = discover(ISSUER, vec![json(200, insecure)]);
    let error = result.unwrap_err();
    assert_eq!(error.code(), "DISCOVERY_INSECURE_ENDPOINT");
    assert!(error.to_string().contains("token_endpoint"), "{error}");
    for member in [
        "device_authorization_endpoint",
        "revocation_endpoint",
        "introspection_endpoint",
        "authorization_endpoint",
        "jwks_uri",
    ] {
        let body = document(ISSUER, &format!(r#","{member}":"http://h.example/x""#));
        let (_, result) = discover(ISSUER, vec![json(200, &body)]);
        assert_eq!(code(result), "DISCOVERY_INSECURE_ENDPOINT", "{member}");
    }
    // Loopback is a local server: allowed, as for configured endpoints.
    for host in ["127.0.0.1:8080", "[::1]:9000", "localhost"] {
        let body = format!(r#"{{"issuer":"{ISSUER}","token_endpoint":"http://{host}/token"}}"#);
        let (_, result) = discover(ISSUER, vec![json(200, &body)]);
        assert!(result.is_ok(), "{host}");
    }
    // allowInsecureHttp allows it, as it does for configured endpoints.
    let request = DiscoveryRequest::new(ConfigField::Issuer, ISSUER, true).unwrap();
    let (_, result) = drive(request.start(), vec![json(200, insecure)]);
    assert_eq!(
        result.unwrap().token_endpoint.as_deref(),
        Some("http://sso.example.com/token")
    );
}

#[test]
fn a_document_that_is_not_a_usable_object_is_refused() {
    let not_json =
        HttpResponse::new(200, "<html>hello</html>").with_header("Content-Type", "text/html");
    let (_, result) = discover(ISSUER, vec![not_json]);
    assert_eq!(code(result), "DISCOVERY_INVALID_DOCUMENT");
    for body in [
        "[]".to_owned(),
        "\"text\"".to_owned(),
        "{}".to_owned(),
        r#"{"token_endpoint":"https://x.example/t"}"#.to_owned(),
        r#"{"issuer":42}"#.to_owned(),
        document(ISSUER, r#","revocation_endpoint":7"#),
        document(ISSUER, r#","jwks_uri":["https://x.example/k"]"#),
        document(ISSUER, r#","jwks_uri":"https://x.example/k#frag""#),
        format!(r#"{{"issuer":"{ISSUER}","token_endpoint":"https://x.example/t#frag"}}"#),
        format!(r#"{{"issuer":"{ISSUER}","token_endpoint":"ftp://x.example/t"}}"#),
        format!(r#"{{"issuer":"{ISSUER}","token_endpoint":"https://u:p@x.example/t"}}"#),
        format!(r#"{{"issuer":"{ISSUER}","token_endpoint":"/relative"}}"#),
    ] {
        let (_, result) = discover(ISSUER, vec![json(200, &body)]);
        assert_eq!(code(result), "DISCOVERY_INVALID_DOCUMENT", "{body}");
    }
    // An OAuth error body stays an OAuth error.
    let (_, result) = discover(ISSUER, vec![json(400, r#"{"error":"invalid_request"}"#)]);
    assert_eq!(code(result), "OAUTH_ERROR");
}

#[test]
fn an_issuer_is_checked_like_an_endpoint_without_query_or_fragment() {
    for bad in [
        "sso.example.com",
        "http://sso.example.com/realms/ops",
        "https://sso.example.com/realms/ops?x=1",
        "https://sso.example.com/realms/ops#f",
        "https://u:p@sso.example.com",
    ] {
        let error = DiscoveryRequest::new(ConfigField::Issuer, bad, false).unwrap_err();
        assert_eq!(error.code(), "INVALID_CONFIG", "{bad}");
        assert_eq!(error.members().field.as_deref(), Some("issuer"));
    }
    assert!(DiscoveryRequest::new(ConfigField::Issuer, "http://sso.example.com/r", true).is_ok());
}

// The cache's policy, as the driver follows it.

#[test]
fn the_cache_makes_concurrent_lookups_join_one_flight() {
    let mut cache: MetadataCache<&str, u32> = MetadataCache::new(8);
    assert!(matches!(cache.lookup("a", || 1), Lookup::Fetch));
    // Nine more flows ask while it is in flight: each joins, none fetches.
    for _ in 0..9 {
        assert!(matches!(cache.lookup("a", || 99), Lookup::Join(1)));
    }
    // Another issuer is another flight.
    assert!(matches!(cache.lookup("b", || 2), Lookup::Fetch));
    let metadata = Arc::new(metadata("a"));
    cache.finish(&"a", Ok(&metadata));
    match cache.lookup("a", || 3) {
        Lookup::Cached(found) => assert_eq!(found, metadata),
        other => panic!("{other:?}"),
    }
}

#[test]
fn failed_lookups_are_not_cached() {
    let mut cache: MetadataCache<&str, u32> = MetadataCache::new(8);
    assert!(matches!(cache.lookup("a", || 1), Lookup::Fetch));
    cache.finish(&"a", Err(&Error::Timeout { after_ms: 5 }));
    assert!(cache.is_empty());
    // The next lookup fetches again, with a new flight.
    assert!(matches!(cache.lookup("a", || 2), Lookup::Fetch));
    assert!(matches!(cache.lookup("a", || 3), Lookup::Join(2)));
    // Those who joined share a server's failure; a leader's abort is its own.
    assert!(!MetadataCache::<&str, u32>::joiners_retry(
        &Error::Timeout { after_ms: 5 }
    ));
    assert!(MetadataCache::<&str, u32>::joiners_retry(&Error::Aborted));
}

#[test]
fn the_cache_keeps_at_most_its_capacity_dropping_the_oldest_finished() {
    let mut cache: MetadataCache<u32, u32> = MetadataCache::new(2);
    for key in [1, 2] {
        assert!(matches!(cache.lookup(key, || key), Lookup::Fetch));
        cache.finish(&key, Ok(&Arc::new(metadata("x"))));
    }
    assert!(matches!(cache.lookup(3, || 3), Lookup::Fetch));
    assert_eq!(cache.len(), 2);
    assert!(matches!(cache.lookup(2, || 0), Lookup::Cached(_)));
    assert!(matches!(cache.lookup(1, || 1), Lookup::Fetch));
}

fn metadata(issuer: &str) -> ServerMetadata {
    ServerMetadata {
        issuer: issuer.into(),
        token_endpoint: Some(TOKEN.into()),
        device_authorization_endpoint: None,
        revocation_endpoint: None,
        introspection_endpoint: None,
        authorization_endpoint: None,
        jwks_uri: None,
        authorization_response_iss_parameter_supported: false,
    }
}

// Grants configured with an issuer.

/// Drives `flow`, answering `Action::Discover` with `metadata` (counting
/// the asks) and each request with the next response.
fn drive_with_metadata<F: Flow>(
    mut flow: F,
    metadata: &ServerMetadata,
    responses: Vec<HttpResponse>,
) -> (usize, Vec<HttpRequest>, Result<F::Output, Error>) {
    let mut asked = 0;
    let mut responses = responses.into_iter();
    let mut sent = Vec::new();
    loop {
        match flow.poll(NOW) {
            Ok(Action::Discover(request)) => {
                assert_eq!(request.issuer, metadata.issuer);
                asked += 1;
                if let Err(e) = flow.handle_metadata(Arc::new(metadata.clone())) {
                    return (asked, sent, Err(e));
                }
            }
            Ok(Action::Send(request)) => {
                sent.push(request);
                let response = responses.next().expect("more requests than responses");
                if let Err(e) = flow.handle_response(response, NOW) {
                    return (asked, sent, Err(e));
                }
            }
            Ok(Action::Sign(request)) => {
                if let Err(e) = common::sign(&mut flow, &request) {
                    return (asked, sent, Err(e));
                }
            }
            Ok(Action::Done(output)) => return (asked, sent, Ok(output)),
            Ok(_) => panic!("unexpected action"),
            Err(e) => return (asked, sent, Err(e)),
        }
    }
}

fn issuer_only_client() -> ClientCredentialsSettings {
    let mut settings = ClientCredentialsSettings::new("", "reporting", Secret::new("s3cret"));
    settings.client.issuer = Some(ISSUER.into());
    settings
}

#[test]
fn a_client_with_only_an_issuer_asks_for_metadata_then_uses_its_token_endpoint() {
    let grant = Discoverable::new(issuer_only_client(), ClientCredentials::new).unwrap();
    assert_eq!(grant.issuer(), Some(ISSUER));
    assert!(grant.ready().is_none());
    let (asked, sent, result) = drive_with_metadata(
        grant.start(Box::new(TestRng::default())),
        &metadata(ISSUER),
        vec![json(200, TOKEN_JSON)],
    );
    assert_eq!(asked, 1);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method, Method::Post);
    assert_eq!(sent[0].url, TOKEN);
    assert_eq!(sent[0].body_text(), "grant_type=client_credentials");
    assert_eq!(result.unwrap().access_token.expose(), "at-1");
    // Built once: the next run starts at once, and refreshing works.
    assert!(grant.ready().is_some());
    let (asked, sent, _) = drive_with_metadata(
        grant.start(Box::new(TestRng::default())),
        &metadata(ISSUER),
        vec![json(200, TOKEN_JSON)],
    );
    assert_eq!((asked, sent[0].url.as_str()), (0, TOKEN));
    let refresh = grant.refresh(&Secret::new("rt"), &mut TestRng::default());
    assert!(refresh.is_some());
}

#[test]
fn the_identity_of_a_discovered_grant_is_the_same_before_and_after() {
    let grant = Discoverable::new(issuer_only_client(), ClientCredentials::new).unwrap();
    let before = grant.identity();
    assert!(before.contains(&ISSUER.to_owned()), "{before:?}");
    let _ = drive_with_metadata(
        grant.start(Box::new(TestRng::default())),
        &metadata(ISSUER),
        vec![json(200, TOKEN_JSON)],
    );
    assert_eq!(grant.identity(), before);
}

#[test]
fn a_configured_token_endpoint_means_no_discovery() {
    let mut settings = ClientCredentialsSettings::new(TOKEN, "reporting", Secret::new("s"));
    settings.client.issuer = Some(ISSUER.into());
    let grant = Discoverable::new(settings, ClientCredentials::new).unwrap();
    assert!(grant.ready().is_some());
    let (asked, sent, _) = drive_with_metadata(
        grant.start(Box::new(TestRng::default())),
        &metadata(ISSUER),
        vec![json(200, TOKEN_JSON)],
    );
    assert_eq!((asked, sent[0].url.as_str()), (0, TOKEN));
    // The issuer is still checked.
    let mut settings = ClientCredentialsSettings::new(TOKEN, "reporting", Secret::new("s"));
    settings.client.issuer = Some("ftp://x".into());
    let error = Discoverable::new(settings, ClientCredentials::new).unwrap_err();
    assert_eq!(error.members().field.as_deref(), Some("issuer"));
}

#[test]
fn neither_token_endpoint_nor_issuer_is_invalid_config() {
    let settings = ClientCredentialsSettings::new("", "reporting", Secret::new("s"));
    let error = Discoverable::new(settings, ClientCredentials::new).unwrap_err();
    assert_eq!(error.code(), "INVALID_CONFIG");
    assert_eq!(error.members().field.as_deref(), Some("tokenEndpoint"));
    assert_eq!(
        error.to_string(),
        "invalid configuration: tokenEndpoint: give tokenEndpoint, or issuer to read it from the server's metadata"
    );
}

#[test]
fn other_configuration_errors_come_before_any_discovery() {
    // Entra's scope rule applies to the issuer's grant at once.
    let mut settings = issuer_only_client();
    settings.client.issuer = Some("https://login.microsoftonline.com/common/v2.0".into());
    settings.client.scope = vec!["api://x/read".into()];
    let error = Discoverable::new(settings, ClientCredentials::new).unwrap_err();
    assert_eq!(error.members().field.as_deref(), Some("scope"));
    // A client credentials client needs a secret.
    let mut settings = issuer_only_client();
    settings.client.credential = grantkit::client_auth::ClientCredential::None;
    let error = Discoverable::new(settings, ClientCredentials::new).unwrap_err();
    assert_eq!(error.members().field.as_deref(), Some("clientSecret"));
}

#[test]
fn metadata_without_a_token_endpoint_fails_with_its_code() {
    let grant = Discoverable::new(issuer_only_client(), ClientCredentials::new).unwrap();
    let mut without = metadata(ISSUER);
    without.token_endpoint = None;
    let (_, sent, result) =
        drive_with_metadata(grant.start(Box::new(TestRng::default())), &without, vec![]);
    assert!(sent.is_empty());
    assert_eq!(result.unwrap_err().code(), "DISCOVERY_MISSING_ENDPOINT");
    // Nothing was kept: a later run asks again.
    assert!(grant.ready().is_none());
}

#[test]
fn a_discovered_token_endpoint_is_the_jwt_bearer_audience() {
    let key = Arc::new(PrivateKey::parse(include_str!("fixtures/rsa2048.pkcs8.pem")).unwrap());
    let mut settings = JwtBearerSettings::new("", key, "svc");
    settings.client.issuer = Some(ISSUER.into());
    settings.client.issuer_field = ConfigField::ServerIssuer;
    let grant = Discoverable::new(settings, JwtBearer::new).unwrap();
    let (asked, sent, result) = drive_with_metadata(
        grant.run(Box::new(TestRng::default()), |g, mut rng| {
            g.sign_assertion(&mut *rng)
        }),
        &metadata(ISSUER),
        vec![],
    );
    assert_eq!((asked, sent.len()), (1, 0));
    let claims = grantkit::jwt::decode_unverified(&result.unwrap())
        .unwrap()
        .claims;
    assert_eq!(claims["aud"], TOKEN);
    assert_eq!(claims["iss"], "svc");
    // Neither: the error names the option JwtBearer takes.
    let key = Arc::new(PrivateKey::parse(include_str!("fixtures/rsa2048.pkcs8.pem")).unwrap());
    let mut settings = JwtBearerSettings::new("", key, "svc");
    settings.client.issuer_field = ConfigField::ServerIssuer;
    let error = Discoverable::new(settings, JwtBearer::new).unwrap_err();
    assert!(error.to_string().contains("serverIssuer"), "{error}");
}

#[test]
fn the_device_flow_takes_its_device_endpoint_from_the_metadata() {
    let mut settings = DeviceAuthorizationSettings::new("", "", "tv");
    settings.device_authorization_endpoint = None;
    settings.client.issuer = Some("https://idp.example".into());
    let grant = Discoverable::new(settings, DeviceAuthorization::new).unwrap();
    let mut found = metadata("https://idp.example");
    found.token_endpoint = Some("https://idp.example/token".into());
    found.device_authorization_endpoint = Some("https://idp.example/device".into());
    let device_response = r#"{"device_code":"dc","user_code":"UC","verification_uri":"https://idp.example/activate","expires_in":600,"interval":5}"#;
    let mut flow = grant.start(Box::new(TestRng::default()));
    assert!(matches!(flow.poll(NOW), Ok(Action::Discover(_))));
    flow.handle_metadata(Arc::new(found.clone())).unwrap();
    let Ok(Action::Send(request)) = flow.poll(NOW) else {
        panic!()
    };
    assert_eq!(request.url, "https://idp.example/device");
    assert_eq!(request.body_text(), "client_id=tv");
    flow.handle_response(json(200, device_response), NOW)
        .unwrap();
    assert!(matches!(flow.poll(NOW), Ok(Action::Prompt(_))));

    // Without a device endpoint in the metadata (and none documented for
    // the provider): its own code.
    let mut settings = DeviceAuthorizationSettings::new("", "", "tv");
    settings.device_authorization_endpoint = None;
    settings.client.issuer = Some("https://idp.example".into());
    let grant = Discoverable::new(settings, DeviceAuthorization::new).unwrap();
    found.device_authorization_endpoint = None;
    let (_, _, result) =
        drive_with_metadata(grant.start(Box::new(TestRng::default())), &found, vec![]);
    assert_eq!(result.unwrap_err().code(), "DISCOVERY_MISSING_ENDPOINT");
}

#[test]
fn a_keycloak_device_client_with_a_token_endpoint_needs_no_discovery() {
    let mut settings = DeviceAuthorizationSettings::new("", TOKEN, "tv");
    settings.device_authorization_endpoint = None;
    settings.client.provider = Some(grantkit::provider::Provider::Keycloak);
    settings.client.issuer = Some(ISSUER.into());
    let grant = Discoverable::new(settings, DeviceAuthorization::new).unwrap();
    assert!(grant.ready().is_some());
    // A generic server with a token endpoint but no device endpoint does.
    let mut settings = DeviceAuthorizationSettings::new("", "https://idp.example/token", "tv");
    settings.device_authorization_endpoint = None;
    settings.client.issuer = Some("https://idp.example".into());
    let grant = Discoverable::new(settings, DeviceAuthorization::new).unwrap();
    assert!(grant.ready().is_none());
    // Neither a device endpoint nor an issuer: the option is named.
    let mut settings = DeviceAuthorizationSettings::new("", "https://idp.example/token", "tv");
    settings.device_authorization_endpoint = None;
    let error = Discoverable::new(settings, DeviceAuthorization::new).unwrap_err();
    assert_eq!(
        error.members().field.as_deref(),
        Some("deviceAuthorizationEndpoint")
    );
}

#[test]
fn a_flow_waiting_for_metadata_refuses_other_input() {
    let grant = Discoverable::new(issuer_only_client(), ClientCredentials::new).unwrap();
    let mut flow = grant.start(Box::new(TestRng::default()));
    assert!(matches!(flow.poll(NOW), Ok(Action::Discover(_))));
    assert_eq!(flow.poll(NOW).unwrap_err().code(), "FLOW_MISUSE");
    let mut flow = grant.start(Box::new(TestRng::default()));
    let _ = flow.poll(NOW);
    assert_eq!(
        flow.handle_response(HttpResponse::new(200, ""), NOW)
            .unwrap_err()
            .code(),
        "FLOW_MISUSE"
    );
}
