//! Authorization code with PKCE: the authorization URL, the redirect's
//! checks (state, RFC 9207 iss, errors), the exact token request, the ID
//! token's checks and its signature (verified in tests with the `rsa` and
//! `p256` crates), refresh through a completed login.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::{drive, headers, json, TestRng, NOW};
use grantkit::client_auth::{ClientAuthMethod, ClientCredential};
use grantkit::flow::authorization_code::{code_challenge, code_verifier, JWKS_LABEL};
use grantkit::flow::{
    Action, AuthorizationCode, AuthorizationCodeSettings, CompletedLogin, Discoverable, Flow,
    PendingLogin,
};
use grantkit::options::ConfigField;
use grantkit::source::Grant;
use grantkit::{Error, ErrorCode, Method, Secret, TokenSet};
use serde_json::{json, Value};
use std::sync::Arc;
use wasm_bindgen_test::wasm_bindgen_test;

const AUTHORIZE: &str = "https://sso.example.com/realms/ops/protocol/openid-connect/auth";
const TOKEN: &str = "https://sso.example.com/realms/ops/protocol/openid-connect/token";
const JWKS: &str = "https://sso.example.com/realms/ops/protocol/openid-connect/certs";
const ISSUER: &str = "https://sso.example.com/realms/ops";
const REDIRECT: &str = "http://127.0.0.1:53682/callback";
const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");
const ACCEPT: (&str, &str) = ("Accept", "application/json");
const PKCS8: &str = include_str!("fixtures/rsa2048.pkcs8.pem");
const PUBLIC_JWK: &str = include_str!("fixtures/rsa2048.public.jwk.json");
const OTHER_PKCS8: &str = include_str!("fixtures/other2048.pkcs8.pem");
const OTHER_JWK: &str = include_str!("fixtures/other2048.public.jwk.json");
const EC_JWK: &str = include_str!("fixtures/ec-p256.jwk.json");

// What TestRng gives: the verifier from octets 0..32, the state from
// 32..48, the nonce from 48..64 (computed independently with Python's
// hashlib and base64).
const VERIFIER: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
const CHALLENGE: &str = "6oZqdX5MOLq_qBJ8vppAnT4fk6AP8UiP9zX8-Rev_9A";
const STATE: &str = "ICEiIyQlJicoKSorLC0uLw";
const NONCE: &str = "MDEyMzQ1Njc4OTo7PD0-Pw";

fn settings(scope: &str) -> AuthorizationCodeSettings {
    let mut settings = AuthorizationCodeSettings::new(AUTHORIZE, TOKEN, "console", REDIRECT);
    settings.client.scope = vec![scope.into()];
    settings.client.issuer = Some(ISSUER.into());
    settings.jwks_uri = Some(JWKS.into());
    settings
}

fn begin(login: &AuthorizationCode) -> (String, PendingLogin) {
    login.begin(&mut TestRng::default())
}

fn callback(query: &str) -> String {
    format!("{REDIRECT}?{query}")
}

fn tokens_with(id_token: Option<&str>) -> String {
    let mut body = json!({
        "access_token": "at-1", "token_type": "Bearer", "expires_in": 300,
        "refresh_token": "rt-1", "scope": "openid profile",
    });
    if let Some(id_token) = id_token {
        body["id_token"] = id_token.into();
    }
    body.to_string()
}

/// An ID token signed RS256 with `pem`, header `header`, claims `claims`.
fn rs256(pem: &str, header: Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let key = grantkit::keys::PrivateKey::parse(pem).unwrap();
    let signature = grantkit::crypto::sign(
        &key,
        grantkit::keys::Algorithm::Rs256,
        input.as_bytes(),
        &mut rsa::rand_core::OsRng,
    );
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

fn claims() -> Value {
    json!({
        "iss": ISSUER, "sub": "alice", "aud": "console", "exp": NOW.as_secs() + 300,
        "iat": NOW.as_secs(), "nonce": NONCE,
    })
}

fn id_token(claims: &Value) -> String {
    rs256(
        PKCS8,
        json!({"alg": "RS256", "kid": "fixture-2048"}),
        claims,
    )
}

fn jwks() -> String {
    let other: Value = serde_json::from_str(OTHER_JWK).unwrap();
    let mine: Value = serde_json::from_str(PUBLIC_JWK).unwrap();
    json!({ "keys": [other, mine] }).to_string()
}

fn code(error: Error) -> ErrorCode {
    error.error_code()
}

/// Runs a whole openid login whose token response carries `id_token` and
/// whose JWKS is `keys`.
fn openid_login(
    id_token: &str,
    keys: &str,
) -> (Vec<grantkit::HttpRequest>, Result<TokenSet, Error>) {
    let login = AuthorizationCode::new(settings("openid profile")).unwrap();
    let (_, pending) = begin(&login);
    let exchange = login
        .complete(
            &callback(&format!("code=c0de&state={STATE}")),
            &pending,
            &mut TestRng::default(),
        )
        .unwrap();
    drive(
        exchange,
        vec![json(200, &tokens_with(Some(id_token))), json(200, keys)],
    )
}

#[wasm_bindgen_test(unsupported = test)]
fn pkce_matches_rfc_7636_appendix_b() {
    // RFC 7636 Appendix B: the 32 octets, their base64url as the verifier,
    // and BASE64URL(SHA256(verifier)) as the challenge.
    let octets = [
        116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37,
        77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
    ];
    let verifier = code_verifier(&octets);
    assert_eq!(verifier, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
    assert_eq!(
        code_challenge(&verifier),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn the_authorization_url_is_exact_with_state_pkce_and_nonce() {
    let mut settings = settings("openid profile");
    settings.authorization_params = vec![
        ("prompt".into(), "login".into()),
        ("login_hint".into(), "alice@example.com".into()),
    ];
    let login = AuthorizationCode::new(settings).unwrap();
    let (url, pending) = begin(&login);
    assert_eq!(
        url,
        format!(
            "{AUTHORIZE}?response_type=code&client_id=console\
             &redirect_uri=http%3A%2F%2F127.0.0.1%3A53682%2Fcallback&scope=openid+profile\
             &state={STATE}&code_challenge={CHALLENGE}&code_challenge_method=S256\
             &nonce={NONCE}&prompt=login&login_hint=alice%40example.com"
        )
    );
    assert_eq!(pending.state(), STATE);
    assert_eq!(pending.code_verifier.expose(), VERIFIER);
    assert_eq!(pending.nonce.as_deref(), Some(NONCE));
    assert_eq!(pending.redirect_uri, REDIRECT);
}

#[wasm_bindgen_test(unsupported = test)]
fn without_openid_there_is_no_nonce_and_an_endpoint_query_is_kept() {
    let mut settings = settings("orders:read");
    settings.authorization_endpoint = format!("{AUTHORIZE}?tenant=eu");
    settings.client.issuer = None;
    settings.jwks_uri = None;
    let login = AuthorizationCode::new(settings).unwrap();
    let (url, pending) = begin(&login);
    assert_eq!(
        url,
        format!(
            "{AUTHORIZE}?tenant=eu&response_type=code&client_id=console\
             &redirect_uri=http%3A%2F%2F127.0.0.1%3A53682%2Fcallback&scope=orders%3Aread\
             &state={STATE}&code_challenge={CHALLENGE}&code_challenge_method=S256"
        )
    );
    assert_eq!(pending.nonce, None);
}

#[wasm_bindgen_test(unsupported = test)]
fn every_login_has_fresh_secrets() {
    let login = AuthorizationCode::new(settings("openid")).unwrap();
    let (first_url, first) = login.begin(&mut rsa::rand_core::OsRng);
    let (second_url, second) = login.begin(&mut rsa::rand_core::OsRng);
    assert_ne!(first_url, second_url);
    assert_ne!(first.state, second.state);
    assert_ne!(first.code_verifier, second.code_verifier);
    assert_ne!(first.nonce, second.nonce);
    assert_eq!(first.code_verifier.expose().len(), 43);
    assert!(first
        .code_verifier
        .expose()
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
}

#[wasm_bindgen_test(unsupported = test)]
fn a_public_client_exchanges_the_code_with_the_verifier_and_client_id() {
    let mut settings = settings("orders:read");
    settings.client.extra_params = vec![("resource".into(), "https://api.example.com".into())];
    let login = AuthorizationCode::new(settings).unwrap();
    let (_, pending) = begin(&login);
    let exchange = login
        .complete(
            &callback(&format!(
                "code=SplxlOBeZQQYbYS6WxSbIA&state={STATE}&iss={ISSUER}"
            )),
            &pending,
            &mut TestRng::default(),
        )
        .unwrap();
    let (sent, result) = drive(exchange, vec![json(200, &tokens_with(None))]);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method, Method::Post);
    assert_eq!(sent[0].url, TOKEN);
    assert_eq!(headers(&sent[0]), [FORM, ACCEPT]);
    assert_eq!(
        sent[0].body_text(),
        format!(
            "grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA\
             &redirect_uri=http%3A%2F%2F127.0.0.1%3A53682%2Fcallback&code_verifier={VERIFIER}\
             &resource=https%3A%2F%2Fapi.example.com&client_id=console"
        )
    );
    let tokens = result.unwrap();
    assert_eq!(tokens.access_token.expose(), "at-1");
    assert_eq!(tokens.refresh_token.as_ref().unwrap().expose(), "rt-1");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_confidential_client_authenticates_as_every_grant() {
    let mut settings = settings("orders:read");
    settings.client.credential = ClientCredential::Secret {
        secret: Secret::new("console-secret"),
        method: ClientAuthMethod::Basic,
    };
    let login = AuthorizationCode::new(settings).unwrap();
    let (_, pending) = begin(&login);
    let exchange = login
        .complete(
            &callback(&format!("state={STATE}&code=abc")),
            &pending,
            &mut TestRng::default(),
        )
        .unwrap();
    let (sent, result) = drive(exchange, vec![json(200, &tokens_with(None))]);
    // base64("console:console-secret")
    assert_eq!(
        headers(&sent[0]),
        [
            FORM,
            ACCEPT,
            ("Authorization", "Basic Y29uc29sZTpjb25zb2xlLXNlY3JldA==")
        ]
    );
    assert_eq!(
        sent[0].body_text(),
        format!(
            "grant_type=authorization_code&code=abc\
             &redirect_uri=http%3A%2F%2F127.0.0.1%3A53682%2Fcallback&code_verifier={VERIFIER}"
        )
    );
    result.unwrap();
}

#[wasm_bindgen_test(unsupported = test)]
fn openid_verifies_the_id_token_with_the_issuers_key() {
    let token = id_token(&claims());
    let (sent, result) = openid_login(&token, &jwks());
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].method, Method::Get);
    assert_eq!(sent[1].url, JWKS);
    assert_eq!(
        headers(&sent[1]),
        [("Accept", "application/jwk-set+json, application/json")]
    );
    assert_eq!(sent[1].body, None);
    let tokens = result.unwrap();
    assert_eq!(tokens.id_token.as_ref().unwrap().expose(), token);
}

#[wasm_bindgen_test(unsupported = test)]
fn an_es256_id_token_is_verified_too() {
    use p256::ecdsa::signature::Signer;
    let jwk: Value = serde_json::from_str(EC_JWK).unwrap();
    let d = URL_SAFE_NO_PAD.decode(jwk["d"].as_str().unwrap()).unwrap();
    let key = p256::ecdsa::SigningKey::from_slice(&d).unwrap();
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(json!({"alg": "ES256", "kid": jwk["kid"]}).to_string()),
        URL_SAFE_NO_PAD.encode(claims().to_string())
    );
    let signature: p256::ecdsa::Signature = key.sign(input.as_bytes());
    let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()));
    let mut public = jwk.clone();
    public.as_object_mut().unwrap().remove("d");
    let keys = json!({"keys": [serde_json::from_str::<Value>(PUBLIC_JWK).unwrap(), public]});
    let (_, result) = openid_login(&token, &keys.to_string());
    result.unwrap();

    // The same token with its signature's last byte changed.
    let mut bad = signature.to_bytes().to_vec();
    *bad.last_mut().unwrap() ^= 1;
    let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(bad));
    let (_, result) = openid_login(&token, &keys.to_string());
    assert_eq!(code(result.unwrap_err()), ErrorCode::IdTokenBadSignature);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_tampered_or_foreign_id_token_fails_its_signature() {
    // Signed by another key that claims the issuer's kid.
    let forged = rs256(
        OTHER_PKCS8,
        json!({"alg": "RS256", "kid": "fixture-2048"}),
        &claims(),
    );
    let (_, result) = openid_login(&forged, &jwks());
    let error = result.unwrap_err();
    assert_eq!(error.code(), "ID_TOKEN_BAD_SIGNATURE");
    assert!(!error.to_string().contains(&forged));

    // A genuine token whose payload was changed (sub: mallory).
    let genuine = id_token(&claims());
    let parts: Vec<&str> = genuine.split('.').collect();
    let mut changed = claims();
    changed["sub"] = "mallory".into();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(changed.to_string()),
        parts[2]
    );
    let (_, result) = openid_login(&tampered, &jwks());
    assert_eq!(code(result.unwrap_err()), ErrorCode::IdTokenBadSignature);
}

#[wasm_bindgen_test(unsupported = test)]
fn every_id_token_claim_check_has_its_code() {
    type Change = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Change, ErrorCode)> = vec![
        (
            "iss",
            Box::new(|c| c["iss"] = "https://evil.example.com".into()),
            ErrorCode::IdTokenIssuerMismatch,
        ),
        (
            "no iss",
            Box::new(|c| {
                c.as_object_mut().unwrap().remove("iss");
            }),
            ErrorCode::IdTokenIssuerMismatch,
        ),
        (
            "aud",
            Box::new(|c| c["aud"] = "someone-else".into()),
            ErrorCode::IdTokenAudienceMismatch,
        ),
        (
            "aud list without us",
            Box::new(|c| c["aud"] = json!(["a", "b"])),
            ErrorCode::IdTokenAudienceMismatch,
        ),
        (
            "several aud, no azp",
            Box::new(|c| c["aud"] = json!(["console", "api"])),
            ErrorCode::IdTokenAzpMismatch,
        ),
        (
            "azp",
            Box::new(|c| c["azp"] = "other-client".into()),
            ErrorCode::IdTokenAzpMismatch,
        ),
        (
            "expired",
            Box::new(|c| c["exp"] = (NOW.as_secs() - 61).into()),
            ErrorCode::IdTokenExpired,
        ),
        (
            "iat ahead",
            Box::new(|c| c["iat"] = (NOW.as_secs() + 61).into()),
            ErrorCode::IdTokenIssuedInFuture,
        ),
        (
            "nonce",
            Box::new(|c| c["nonce"] = "replayed".into()),
            ErrorCode::IdTokenNonceMismatch,
        ),
        (
            "no nonce",
            Box::new(|c| {
                c.as_object_mut().unwrap().remove("nonce");
            }),
            ErrorCode::IdTokenNonceMismatch,
        ),
        (
            "no exp",
            Box::new(|c| {
                c.as_object_mut().unwrap().remove("exp");
            }),
            ErrorCode::IdTokenInvalid,
        ),
        (
            "aud a number",
            Box::new(|c| c["aud"] = 7.into()),
            ErrorCode::IdTokenInvalid,
        ),
    ];
    for (name, change, expected) in cases {
        let mut claims = claims();
        change(&mut claims);
        // Claims are checked before the keys are fetched: one request only.
        let (sent, result) = openid_login(&id_token(&claims), "unused");
        assert_eq!(sent.len(), 1, "{name}");
        assert_eq!(code(result.unwrap_err()), expected, "{name}");
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn the_skew_allows_a_minute_and_several_audiences_pass_with_our_azp() {
    let mut claims = claims();
    claims["exp"] = (NOW.as_secs() - 59).into();
    claims["iat"] = (NOW.as_secs() + 59).into();
    claims["aud"] = json!(["console", "api"]);
    claims["azp"] = "console".into();
    let (_, result) = openid_login(&id_token(&claims), &jwks());
    result.unwrap();
}

#[wasm_bindgen_test(unsupported = test)]
fn algorithms_keys_and_shapes_are_refused_with_their_codes() {
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
        URL_SAFE_NO_PAD.encode(claims().to_string())
    );
    let hs256 = format!(
        "{}.{}.c2ln",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256"}"#),
        URL_SAFE_NO_PAD.encode(claims().to_string())
    );
    for (token, expected) in [
        (unsigned, ErrorCode::IdTokenUnsupportedAlg),
        (hs256, ErrorCode::IdTokenUnsupportedAlg),
        ("a.b.c.d.e".to_owned(), ErrorCode::IdTokenInvalid),
        ("not-a-jwt".to_owned(), ErrorCode::IdTokenInvalid),
    ] {
        let (_, result) = openid_login(&token, "unused");
        assert_eq!(code(result.unwrap_err()), expected, "{token}");
    }

    let token = id_token(&claims());
    let only_other = json!({"keys": [serde_json::from_str::<Value>(OTHER_JWK).unwrap()]});
    let encryption_key = {
        let mut key: Value = serde_json::from_str(PUBLIC_JWK).unwrap();
        key["use"] = "enc".into();
        json!({ "keys": [key] })
    };
    for (keys, expected) in [
        (only_other.to_string(), ErrorCode::IdTokenNoKey),
        (encryption_key.to_string(), ErrorCode::IdTokenNoKey),
        (r#"{"keys":{}}"#.to_owned(), ErrorCode::JwksInvalid),
        ("[]".to_owned(), ErrorCode::JwksInvalid),
    ] {
        let (sent, result) = openid_login(&token, &keys);
        assert_eq!(sent.len(), 2);
        assert_eq!(code(result.unwrap_err()), expected, "{keys}");
    }
    // An empty body is no JWK Set either.
    let (_, result) = openid_login(&token, "");
    assert_eq!(code(result.unwrap_err()), ErrorCode::JwksInvalid);

    // Without kid, the one key that fits is used; with several, none is.
    let no_kid = rs256(PKCS8, json!({"alg": "RS256"}), &claims());
    let mine = json!({"keys": [serde_json::from_str::<Value>(PUBLIC_JWK).unwrap()]});
    let (_, result) = openid_login(&no_kid, &mine.to_string());
    result.unwrap();
    let (_, result) = openid_login(&no_kid, &jwks());
    assert_eq!(code(result.unwrap_err()), ErrorCode::IdTokenNoKey);
}

#[wasm_bindgen_test(unsupported = test)]
fn openid_without_an_id_token_is_refused() {
    let login = AuthorizationCode::new(settings("openid")).unwrap();
    let (_, pending) = begin(&login);
    let exchange = login
        .complete(
            &callback(&format!("code=c&state={STATE}")),
            &pending,
            &mut TestRng::default(),
        )
        .unwrap();
    let (_, result) = drive(exchange, vec![json(200, &tokens_with(None))]);
    assert_eq!(code(result.unwrap_err()), ErrorCode::IdTokenMissing);
}

#[wasm_bindgen_test(unsupported = test)]
fn the_redirect_is_checked_state_first_then_iss_then_error_then_code() {
    let mut settings = settings("openid");
    settings.iss_parameter_supported = true;
    let login = AuthorizationCode::new(settings).unwrap();
    let (_, pending) = begin(&login);
    let complete = |query: &str| {
        login
            .complete(&callback(query), &pending, &mut TestRng::default())
            .unwrap_err()
    };
    let iss = format!("iss={}", grantkit::http::form_urlencode(ISSUER));
    let cases = [
        (
            format!("code=c&{iss}"),
            ErrorCode::AuthorizationStateMismatch,
        ),
        (
            format!("code=c&state=other&{iss}"),
            ErrorCode::AuthorizationStateMismatch,
        ),
        // A forged error without our state is a state mismatch too.
        (
            format!("error=access_denied&{iss}"),
            ErrorCode::AuthorizationStateMismatch,
        ),
        (
            format!("code=c&state={STATE}&iss=https%3A%2F%2Fevil.example.com"),
            ErrorCode::AuthorizationIssuerMismatch,
        ),
        (
            format!("code=c&state={STATE}"),
            ErrorCode::AuthorizationIssuerMismatch,
        ),
        (
            format!("error=access_denied&state={STATE}"),
            ErrorCode::AuthorizationIssuerMismatch,
        ),
        (
            format!("state={STATE}&{iss}"),
            ErrorCode::AuthorizationInvalidResponse,
        ),
        (
            format!("code=&state={STATE}&{iss}"),
            ErrorCode::AuthorizationInvalidResponse,
        ),
        (
            format!("code=a&code=b&state={STATE}&{iss}"),
            ErrorCode::AuthorizationInvalidResponse,
        ),
    ];
    for (query, expected) in cases {
        assert_eq!(code(complete(&query)), expected, "{query}");
    }
    assert_eq!(
        code(
            login
                .complete(REDIRECT, &pending, &mut TestRng::default())
                .unwrap_err()
        ),
        ErrorCode::AuthorizationInvalidResponse
    );

    // The server's error, as an OAuth error with its members.
    let error = complete(&format!(
        "error=access_denied&error_description=The+user+said+no&state={STATE}&{iss}"
    ));
    assert_eq!(error.code(), "OAUTH_ERROR");
    let members = error.members();
    assert_eq!(members.error, Some("access_denied"));
    assert_eq!(members.error_description, Some("The user said no"));
    assert_eq!(members.status, None);
    assert!(error
        .to_string()
        .contains("access_denied: The user said no"));
}

/// decode reads the JSON itself (see DecodedLogin); it must accept and
/// refuse exactly what the derived Deserialize does.
#[wasm_bindgen_test(unsupported = test)]
fn the_pending_login_decodes_as_its_derived_deserialize_reads() {
    let verifier = "v".repeat(43);
    let v = verifier.as_str();
    let cases = [
        format!(r#"{{"state":"s","code_verifier":"{v}","redirect_uri":"r","client_id":"c"}}"#),
        format!(
            r#"{{"state":"s","code_verifier":"{v}","nonce":"n","redirect_uri":"r","client_id":"c"}}"#
        ),
        format!(
            r#"{{"state":"s","code_verifier":"{v}","nonce":null,"redirect_uri":"r","client_id":"c"}}"#
        ),
        format!(
            r#"{{"state":"s","code_verifier":"{v}","nonce":1,"redirect_uri":"r","client_id":"c"}}"#
        ),
        format!(
            r#"{{"client_id":"c","x":[1e400,{{}}],"redirect_uri":"r","code_verifier":"{v}","state":"s"}}"#
        ),
        format!(r#"{{"st\u0061te":"s","code_verifier":"{v}","redirect_uri":"r","client_id":"c"}}"#),
        format!(
            r#"{{"state":"s","state":"s","code_verifier":"{v}","redirect_uri":"r","client_id":"c"}}"#
        ),
        format!(r#"{{"state":"s","code_verifier":"{v}","redirect_uri":"r"}}"#),
        format!(r#"{{"state":1,"code_verifier":"{v}","redirect_uri":"r","client_id":"c"}}"#),
        format!(r#"{{"state":"s","code_verifier":"{v}","redirect_uri":"r","client_id":"c"}} x"#),
        format!(r#"["s","{v}",null,"r","c"]"#),
        format!(r#"["s","{v}","n","r","c"]"#),
        format!(r#"["s","{v}","r","c"]"#),
        format!(r#"["s","{v}",null,"r","c",1]"#),
        format!(r#"["s","{v}",2,"r","c"]"#),
        "[]".to_owned(),
        "null".to_owned(),
        "1.5".to_owned(),
        "-1".to_owned(),
        "true".to_owned(),
        r#""s""#.to_owned(),
        "{".to_owned(),
    ];
    let mut accepted = 0;
    for json in &cases {
        let derived = serde_json::from_str::<PendingLogin>(json).ok();
        let encoded = format!("gk1.{}", URL_SAFE_NO_PAD.encode(json));
        let decoded = PendingLogin::decode(&encoded).ok();
        assert_eq!(decoded, derived, "{json}");
        accepted += usize::from(decoded.is_some());
    }
    assert_eq!(accepted, 7);
}

#[wasm_bindgen_test(unsupported = test)]
fn the_pending_login_round_trips_as_an_opaque_secret_string() {
    let login = AuthorizationCode::new(settings("openid")).unwrap();
    let (_, pending) = begin(&login);
    let encoded = pending.encode();
    assert!(encoded.expose().starts_with("gk1."));
    assert!(!encoded.expose().contains(VERIFIER));
    assert_eq!(PendingLogin::decode(encoded.expose()).unwrap(), pending);
    assert_eq!(format!("{pending:?}"), "PendingLogin([redacted])");
    assert_eq!(format!("{encoded:?}"), "[redacted]");
    for garbage in [
        "",
        "gk1.",
        "gk1.!!",
        "gk2.e30",
        "gk1.e30",
        &encoded.expose()[..20],
    ] {
        assert_eq!(
            code(PendingLogin::decode(garbage).unwrap_err()),
            ErrorCode::AuthorizationPendingInvalid,
            "{garbage}"
        );
    }
    // Another client's pending login is refused.
    let mut other = settings("openid");
    other.client.client_id = "other".into();
    let other = AuthorizationCode::new(other).unwrap();
    let error = other
        .complete(
            &callback(&format!("code=c&state={STATE}")),
            &pending,
            &mut TestRng::default(),
        )
        .unwrap_err();
    assert_eq!(code(error), ErrorCode::AuthorizationPendingInvalid);
}

#[wasm_bindgen_test(unsupported = test)]
fn secrets_stay_out_of_debug_errors_and_traces() {
    let login = AuthorizationCode::new(settings("openid")).unwrap();
    let (_, pending) = begin(&login);
    let mut exchange = login
        .complete(
            &callback(&format!("code=the-code&state={STATE}")),
            &pending,
            &mut TestRng::default(),
        )
        .unwrap();
    let debug = format!("{exchange:?} {login:?}");
    assert!(
        !debug.contains(VERIFIER) && !debug.contains("the-code"),
        "{debug}"
    );
    let Ok(Action::Send(request)) = exchange.poll(NOW) else {
        panic!()
    };
    let echoed = format!(
        r#"{{"error":"invalid_grant","error_description":"bad code the-code for {VERIFIER}"}}"#
    );
    let error = exchange
        .handle_response(json(400, &echoed), NOW)
        .unwrap_err();
    assert!(!error.to_string().contains("the-code"));
    assert!(!error.to_string().contains(VERIFIER));
    let trace = grantkit::trace::Exchange::new(
        exchange.exchange_label(&request),
        &request,
        grantkit::trace::Outcome::Failed(&error),
        1,
        &exchange.redactor(),
    );
    let trace = serde_json::to_string(&trace).unwrap();
    assert!(
        !trace.contains(VERIFIER) && !trace.contains("the-code"),
        "{trace}"
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn the_jwks_request_has_its_trace_label() {
    let login = AuthorizationCode::new(settings("openid")).unwrap();
    let (_, pending) = begin(&login);
    let mut exchange = login
        .complete(
            &callback(&format!("code=c&state={STATE}")),
            &pending,
            &mut TestRng::default(),
        )
        .unwrap();
    let Ok(Action::Send(token_request)) = exchange.poll(NOW) else {
        panic!()
    };
    assert_eq!(
        exchange.exchange_label(&token_request),
        "token request (authorization_code)"
    );
    exchange
        .handle_response(json(200, &tokens_with(Some(&id_token(&claims())))), NOW)
        .unwrap();
    let Ok(Action::Send(keys)) = exchange.poll(NOW) else {
        panic!()
    };
    assert_eq!(exchange.exchange_label(&keys), JWKS_LABEL);
    // Out of order: polled while the JWKS is awaited.
    assert_eq!(exchange.poll(NOW).unwrap_err().code(), "FLOW_MISUSE");
}

#[wasm_bindgen_test(unsupported = test)]
fn configuration_errors_name_their_option() {
    let field = |settings: AuthorizationCodeSettings| match AuthorizationCode::new(settings) {
        Err(Error::InvalidConfig { field, .. }) => field,
        other => panic!("expected INVALID_CONFIG, got {other:?}"),
    };
    let mut s = settings("openid");
    s.client.issuer = None;
    assert_eq!(field(s), ConfigField::Issuer);
    let mut s = settings("openid");
    s.jwks_uri = None;
    assert_eq!(field(s), ConfigField::JwksUri);
    let mut s = settings("openid");
    s.authorization_endpoint = "http://sso.example.com/auth".into();
    assert_eq!(field(s), ConfigField::AuthorizationEndpoint);
    for bad in [
        "http://example.com/callback",
        "/callback",
        "http://127.0.0.1/cb#x",
        "",
    ] {
        let mut s = settings("openid");
        s.redirect_uri = bad.into();
        assert_eq!(field(s), ConfigField::RedirectUri, "{bad}");
    }
    for reserved in [
        "state",
        "code_challenge",
        "nonce",
        "redirect_uri",
        "response_mode",
    ] {
        let mut s = settings("openid");
        s.authorization_params = vec![(reserved.into(), "x".into())];
        assert_eq!(field(s), ConfigField::AuthorizationParams, "{reserved}");
    }
    let mut s = settings("openid");
    s.client.client_id = String::new();
    assert_eq!(field(s), ConfigField::ClientId);
    // RFC 8252 §7.1: a private-use scheme, and https, are redirect URIs.
    for good in [
        "com.example.app:/oauth2redirect",
        "https://app.example.com/cb?x=1",
    ] {
        let mut s = settings("openid");
        s.redirect_uri = good.into();
        AuthorizationCode::new(s).unwrap();
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn a_completed_login_refreshes_and_otherwise_requires_a_new_login() {
    let login = Arc::new(AuthorizationCode::new(settings("openid profile")).unwrap());
    let (_, result) = openid_login(&id_token(&claims()), &jwks());
    let tokens = result.unwrap();
    let completed = CompletedLogin::new(login.clone(), &tokens, &mut TestRng::default());

    let refresh = completed
        .refresh(&Secret::new("rt-1"), &mut TestRng::default())
        .unwrap();
    let (sent, result) = drive(refresh, vec![json(200, &tokens_with(None))]);
    assert_eq!(sent[0].url, TOKEN);
    assert_eq!(headers(&sent[0]), [FORM, ACCEPT]);
    // No scope: the refresh keeps the scope granted (RFC 6749 §6).
    assert_eq!(
        sent[0].body_text(),
        "grant_type=refresh_token&refresh_token=rt-1&client_id=console"
    );
    result.unwrap();

    let (_, result) = drive(completed.start(Box::new(TestRng::default())), vec![]);
    assert_eq!(code(result.unwrap_err()), ErrorCode::LoginRequired);

    // The store key names who signed in: another user, another key.
    let mut bob = claims();
    bob["sub"] = "bob".into();
    let mut bobs = tokens.clone();
    bobs.id_token = Some(Secret::new(id_token(&bob)));
    let other = CompletedLogin::new(login, &bobs, &mut TestRng::default());
    assert!(completed.identity().contains(&format!("{ISSUER} alice")));
    assert_ne!(completed.identity(), other.identity());
    assert_eq!(completed.kind().name(), "login");
}

// A login configured with only an issuer: the endpoints, jwks_uri and the
// RFC 9207 announcement come from the metadata, asked for before either
// half (what the JS driver runs before begin() and complete()).

const DISCOVERY: &str = "https://sso.example.com/realms/ops/.well-known/openid-configuration";

/// The issuer's metadata document, with `extra` members.
fn document(extra: &str) -> String {
    format!(
        r#"{{"issuer":"{ISSUER}","authorization_endpoint":"{AUTHORIZE}","token_endpoint":"{TOKEN}","jwks_uri":"{JWKS}"{extra}}}"#
    )
}

/// A public client of the issuer, with no endpoint configured.
fn issuer_only(scope: &str) -> AuthorizationCodeSettings {
    let mut settings = AuthorizationCodeSettings::new("", "", "console", REDIRECT);
    settings.client.scope = vec![scope.into()];
    settings.client.issuer = Some(ISSUER.into());
    settings
}

fn discoverable(settings: AuthorizationCodeSettings) -> Discoverable<AuthorizationCode> {
    Discoverable::new(settings, AuthorizationCode::new).unwrap()
}

/// Runs the login's metadata flow on `responses`: the requests sent, and
/// the login it built.
fn discover_login(
    login: &Discoverable<AuthorizationCode>,
    responses: Vec<grantkit::HttpResponse>,
) -> (
    Vec<grantkit::HttpRequest>,
    Result<Arc<AuthorizationCode>, Error>,
) {
    let flow = login
        .metadata_first(Box::new(TestRng::default()))
        .expect("the login waits for its metadata");
    let (sent, result) = drive(flow, responses);
    (sent, result.map(|()| login.shared().expect("built")))
}

/// Asserts the metadata request: GET, JSON, no body, no credentials.
fn assert_discovery_request(request: &grantkit::HttpRequest) {
    assert_eq!(request.method, Method::Get);
    assert_eq!(request.url, DISCOVERY);
    assert_eq!(headers(request), [ACCEPT]);
    assert_eq!(request.body, None);
}

/// Asserts the exact code exchange of the test rng's login, code `c0de`.
fn assert_code_exchange(request: &grantkit::HttpRequest) {
    assert_eq!(request.method, Method::Post);
    assert_eq!(request.url, TOKEN);
    assert_eq!(headers(request), [FORM, ACCEPT]);
    assert_eq!(
        request.body_text(),
        format!(
            "grant_type=authorization_code&code=c0de\
             &redirect_uri=http%3A%2F%2F127.0.0.1%3A53682%2Fcallback&code_verifier={VERIFIER}\
             &client_id=console"
        )
    );
}

fn assert_jwks_request(request: &grantkit::HttpRequest) {
    assert_eq!(request.method, Method::Get);
    assert_eq!(request.url, JWKS);
    assert_eq!(
        headers(request),
        [("Accept", "application/jwk-set+json, application/json")]
    );
    assert_eq!(request.body, None);
}

/// The openid exchange of `login` for `query`: the requests, the tokens.
fn exchange(
    login: &AuthorizationCode,
    query: &str,
    pending: &PendingLogin,
) -> (Vec<grantkit::HttpRequest>, Result<TokenSet, Error>) {
    let exchange = match login.complete(&callback(query), pending, &mut TestRng::default()) {
        Ok(exchange) => exchange,
        Err(error) => return (Vec::new(), Err(error)),
    };
    let mut responses = vec![json(200, &tokens_with(Some(&id_token(&claims()))))];
    if login.is_openid() {
        responses.push(json(200, &jwks()));
    } else {
        responses = vec![json(200, &tokens_with(None))];
    }
    drive(exchange, responses)
}

#[wasm_bindgen_test(unsupported = test)]
fn a_login_with_only_an_issuer_reads_the_metadata_once_then_begins_and_completes() {
    let login = discoverable(issuer_only("openid profile"));
    assert!(
        login.ready().is_none(),
        "nothing is known before the metadata"
    );
    let (sent, result) = discover_login(&login, vec![json(200, &document(""))]);
    assert_eq!(sent.len(), 1);
    assert_discovery_request(&sent[0]);
    let discovered = result.unwrap();
    // Exactly the URL of the same login configured with the endpoints.
    let configured = AuthorizationCode::new(settings("openid profile")).unwrap();
    let (url, pending) = begin(&discovered);
    assert_eq!((url, pending.clone()), begin(&configured));

    // Kept: nothing more to discover; completing sends the token and JWKS
    // requests only.
    assert!(login.metadata_first(Box::new(TestRng::default())).is_none());
    let (sent, result) = exchange(
        login.ready().unwrap(),
        &format!("code=c0de&state={STATE}&iss={ISSUER}"),
        &pending,
    );
    assert_eq!(sent.len(), 2);
    assert_code_exchange(&sent[0]);
    assert_jwks_request(&sent[1]);
    let tokens = result.unwrap();

    // The login refreshes at the discovered token endpoint.
    let completed = CompletedLogin::new(login.shared().unwrap(), &tokens, &mut TestRng::default());
    let refresh = completed
        .refresh(&Secret::new("rt-1"), &mut TestRng::default())
        .unwrap();
    let (sent, _) = drive(refresh, vec![json(200, &tokens_with(None))]);
    assert_eq!(sent[0].url, TOKEN);
}

#[wasm_bindgen_test(unsupported = test)]
fn the_metadatas_iss_announcement_makes_iss_required_in_the_redirect() {
    const ANNOUNCED: &str = r#","authorization_response_iss_parameter_supported":true"#;
    let (_, pending) = begin(&AuthorizationCode::new(settings("orders:read")).unwrap());
    let complete = |settings: AuthorizationCodeSettings, doc: &str, query: &str| {
        let login = discoverable(settings);
        let (sent, discovered) = discover_login(&login, vec![json(200, doc)]);
        assert_discovery_request(&sent[0]);
        exchange(&discovered.unwrap(), query, &pending)
    };
    let without_iss = format!("code=c0de&state={STATE}");
    let with_iss = format!("code=c0de&state={STATE}&iss={ISSUER}");

    // RFC 9207 §2.4: announced, a redirect without iss is refused, unsent.
    let (sent, result) = complete(
        issuer_only("orders:read"),
        &document(ANNOUNCED),
        &without_iss,
    );
    assert!(sent.is_empty());
    let error = result.unwrap_err();
    assert_eq!(code(error.clone()), ErrorCode::AuthorizationIssuerMismatch);
    assert!(error.to_string().contains("announced"), "{error}");
    let (sent, result) = complete(issuer_only("orders:read"), &document(ANNOUNCED), &with_iss);
    assert_code_exchange(&sent[0]);
    result.unwrap();

    // Not announced: without iss is accepted (a server without RFC 9207).
    let (sent, result) = complete(issuer_only("orders:read"), &document(""), &without_iss);
    assert_code_exchange(&sent[0]);
    result.unwrap();
    // The option adds the rule where the metadata does not announce it...
    let mut option = issuer_only("orders:read");
    option.iss_parameter_supported = true;
    let (sent, result) = complete(option, &document(""), &without_iss);
    assert!(sent.is_empty());
    assert_eq!(
        code(result.unwrap_err()),
        ErrorCode::AuthorizationIssuerMismatch
    );
    // ...another iss is refused either way, and so is a forged state.
    let other = format!("code=c0de&state={STATE}&iss=https://evil.example");
    let (sent, result) = complete(issuer_only("orders:read"), &document(""), &other);
    assert!(sent.is_empty());
    assert_eq!(
        code(result.unwrap_err()),
        ErrorCode::AuthorizationIssuerMismatch
    );
    let forged = format!("code=c0de&state=forged&iss={ISSUER}");
    let (sent, result) = complete(issuer_only("orders:read"), &document(ANNOUNCED), &forged);
    assert!(sent.is_empty());
    assert_eq!(
        code(result.unwrap_err()),
        ErrorCode::AuthorizationStateMismatch
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn metadata_a_login_cannot_use_is_refused_with_its_code() {
    let discover_with = |scope: &str, doc: String| {
        let login = discoverable(issuer_only(scope));
        let (sent, result) = discover_login(&login, vec![json(200, &doc)]);
        assert_eq!(sent.len(), 1, "only the metadata request");
        if result.is_err() {
            // A failure keeps nothing: the next try asks again.
            assert!(login.ready().is_none());
            assert!(login.metadata_first(Box::new(TestRng::default())).is_some());
        }
        result
    };
    let without = |member: &str| {
        let mut doc: Value = serde_json::from_str(&document("")).unwrap();
        doc.as_object_mut().unwrap().remove(member);
        doc.to_string()
    };
    let with = |member: &str, value: &str| {
        let mut doc: Value = serde_json::from_str(&document("")).unwrap();
        doc[member] = value.into();
        doc.to_string()
    };
    for (scope, doc, expected, named) in [
        (
            "openid",
            without("authorization_endpoint"),
            ErrorCode::DiscoveryMissingEndpoint,
            "authorization_endpoint",
        ),
        (
            "openid",
            without("token_endpoint"),
            ErrorCode::DiscoveryMissingEndpoint,
            "token_endpoint",
        ),
        (
            "openid",
            without("jwks_uri"),
            ErrorCode::DiscoveryMissingEndpoint,
            "jwks_uri",
        ),
        // Keys from plain http off loopback could be anyone's: ID tokens
        // would verify against them.
        (
            "openid",
            with("jwks_uri", "http://sso.example.com/certs"),
            ErrorCode::DiscoveryInsecureEndpoint,
            "jwks_uri",
        ),
        (
            "profile",
            with("jwks_uri", "http://sso.example.com/certs"),
            ErrorCode::DiscoveryInsecureEndpoint,
            "jwks_uri",
        ),
        (
            "openid",
            with("authorization_endpoint", "http://sso.example.com/auth"),
            ErrorCode::DiscoveryInsecureEndpoint,
            "authorization_endpoint",
        ),
        (
            "openid",
            with("issuer", "https://evil.example"),
            ErrorCode::DiscoveryIssuerMismatch,
            "evil.example",
        ),
    ] {
        let error = discover_with(scope, doc).unwrap_err();
        assert_eq!(code(error.clone()), expected, "{named}: {error}");
        assert!(error.to_string().contains(named), "{error}");
    }
    // Without openid no ID token is verified: no jwks_uri is needed.
    let login = discover_with("profile", without("jwks_uri")).unwrap();
    assert!(begin(&login).0.starts_with(&format!("{AUTHORIZE}?")));
}

#[wasm_bindgen_test(unsupported = test)]
fn configured_endpoints_win_and_only_what_is_missing_is_discovered() {
    // Every endpoint configured: nothing is discovered (the issuer is the
    // iss to check), and the login is ready at once.
    let login = discoverable(settings("openid profile"));
    assert!(login.ready().is_some());
    assert!(login.metadata_first(Box::new(TestRng::default())).is_none());

    // Only jwks_uri missing with openid: the metadata gives it; the
    // configured endpoints stay, whatever the metadata says.
    let mut settings = settings("openid profile");
    settings.jwks_uri = None;
    let login = discoverable(settings);
    assert!(login.ready().is_none());
    let moved = document("")
        .replace(AUTHORIZE, "https://other.example/auth")
        .replace(TOKEN, "https://other.example/token");
    let (sent, result) = discover_login(&login, vec![json(200, &moved)]);
    assert_discovery_request(&sent[0]);
    let discovered = result.unwrap();
    let (url, pending) = begin(&discovered);
    assert!(url.starts_with(&format!("{AUTHORIZE}?")), "{url}");
    let (sent, result) = exchange(&discovered, &format!("code=c0de&state={STATE}"), &pending);
    assert_eq!(sent.len(), 2);
    assert_code_exchange(&sent[0]);
    assert_jwks_request(&sent[1]);
    result.unwrap();
}

#[wasm_bindgen_test(unsupported = test)]
fn configuration_errors_of_a_discovered_login_come_before_any_request() {
    let field = |settings: AuthorizationCodeSettings| match Discoverable::new(
        settings,
        AuthorizationCode::new,
    ) {
        Err(Error::InvalidConfig { field, .. }) => field,
        other => panic!("expected INVALID_CONFIG, got {other:?}"),
    };
    // Neither an endpoint nor the issuer: the option to give is named.
    let mut s = issuer_only("profile");
    s.client.issuer = None;
    let error = Discoverable::new(s, AuthorizationCode::new).unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid configuration: authorizationEndpoint: give authorizationEndpoint, or issuer to read it from the server's metadata"
    );
    let mut s = issuer_only("profile");
    s.client.issuer = None;
    s.authorization_endpoint = AUTHORIZE.into();
    assert_eq!(field(s), ConfigField::TokenEndpoint);
    // openid needs the issuer, even with every endpoint.
    let mut s = settings("openid");
    s.client.issuer = None;
    assert_eq!(field(s), ConfigField::Issuer);
    // With only the issuer, every other option is still checked at once.
    let mut s = issuer_only("openid");
    s.redirect_uri = "http://example.com/callback".into();
    assert_eq!(field(s), ConfigField::RedirectUri);
    let mut s = issuer_only("openid");
    s.authorization_params = vec![("state".into(), "x".into())];
    assert_eq!(field(s), ConfigField::AuthorizationParams);
    let mut s = issuer_only("openid");
    s.client.issuer = Some("https://sso.example.com/realms/ops?x=1".into());
    assert_eq!(field(s), ConfigField::Issuer);
}
