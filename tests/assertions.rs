//! JWT-bearer grant and private_key_jwt client authentication: exact
//! requests, the pinned RS256 vector, key import and its errors. Runs
//! natively and in wasm; the openssl cross-checks run natively.

mod common;

use common::{drive, json, param, TestRng};
use grantkit::client_auth::{ClientAuthMethod, ClientCredential};
use grantkit::flow::{
    Action, ClientCredentials, ClientCredentialsSettings, Flow, JwtBearer, JwtBearerSettings,
};
use grantkit::keys::{Algorithm, PrivateKey};
use grantkit::provider::Provider;
use grantkit::{Error, HttpRequest, KeyProblem};
use std::sync::Arc;
use wasm_bindgen_test::wasm_bindgen_test;

const PKCS8: &str = include_str!("fixtures/rsa2048.pkcs8.pem");
const PKCS1: &str = include_str!("fixtures/rsa2048.pkcs1.pem");
const JWK: &str = include_str!("fixtures/rsa2048.jwk.json");
const JWK_NO_CRT: &str = include_str!("fixtures/rsa2048.nocrt.jwk.json");
const CERT: &str = include_str!("fixtures/rsa2048.cert.pem");
const OTHER: &str = include_str!("fixtures/other2048.pkcs8.pem");
const VECTOR: &str = include_str!("fixtures/rs256-vector.json");
const THUMBPRINTS: &str = include_str!("fixtures/rsa2048.cert.thumbprints.json");
const PING: &str = "https://tenant.example.com:443/am/oauth2/access_token";
const TOKEN_JSON: &str = r#"{"access_token":"at","token_type":"Bearer","expires_in":899}"#;

fn vector(field: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(VECTOR).unwrap();
    v[field].as_str().unwrap().to_owned()
}

fn key(text: &str) -> Arc<PrivateKey> {
    Arc::new(PrivateKey::parse(text).unwrap())
}

#[wasm_bindgen_test(unsupported = test)]
fn the_pingone_request_carries_the_pinned_rs256_vector() {
    // Header, claims and key of tests/fixtures/rs256-vector.json (made with
    // Python's cryptography); TestRng gives jti AAECAwQFBgcICQoLDA0ODw.
    let mut settings = JwtBearerSettings::new(PING, key(JWK), "svc-123");
    settings.client.provider = Some(Provider::PingAic);
    settings.client.scope = vec!["fr:idm:*".into()];
    let client = JwtBearer::new(settings).unwrap();

    let (sent, result) = drive(
        client.start(&mut TestRng::default()),
        vec![json(200, TOKEN_JSON)],
    );

    assert_eq!(sent[0].url, PING);
    assert_eq!(
        sent[0].body_text(),
        format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={}\
             &scope=fr%3Aidm%3A*&client_id=service-account",
            vector("jws")
        )
    );
    assert_eq!(sent[0].header("Authorization"), None);
    assert_eq!(result.unwrap().expires_in, Some(899));
}

#[wasm_bindgen_test(unsupported = test)]
fn every_form_of_the_key_signs_the_vector_identically() {
    // RS256 is deterministic: the vector's signing input, signed with the
    // same key in four forms, gives the vector's signature every time.
    let jws = vector("jws");
    let (signing_input, signature) = jws.rsplit_once('.').unwrap();
    for text in [PKCS8, PKCS1, JWK, JWK_NO_CRT] {
        let key = PrivateKey::parse(text).unwrap();
        let signed = grantkit::crypto::sign(
            &key,
            Algorithm::Rs256,
            signing_input.as_bytes(),
            &mut rsa::rand_core::OsRng,
        );
        assert_eq!(
            grantkit::jwt::compact(signing_input, &signed),
            jws,
            "{}",
            &text[..30]
        );
        assert!(jws.ends_with(signature));
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn claims_defaults_and_options_are_as_documented() {
    let mut settings = JwtBearerSettings::new("https://idp.example/token", key(PKCS8), "svc");
    settings.subject = Some("user-1".into());
    settings.lifetime_secs = Some(899);
    settings.not_before = true;
    settings.claims = serde_json::from_str(r#"{"tenant":"t1"}"#).unwrap();
    let (sent, _) = drive(
        JwtBearer::new(settings)
            .unwrap()
            .start(&mut TestRng::default()),
        vec![json(200, TOKEN_JSON)],
    );
    let decoded = grantkit::jwt::decode_unverified(param(&sent[0], "assertion")).unwrap();
    assert_eq!(
        serde_json::Value::Object(decoded.header),
        serde_json::json!({"alg": "RS256", "typ": "JWT"})
    );
    assert_eq!(
        serde_json::Value::Object(decoded.claims),
        serde_json::json!({"iss": "svc", "sub": "user-1", "aud": "https://idp.example/token",
            "iat": 1_700_000_000, "exp": 1_700_000_899, "nbf": 1_700_000_000,
            "jti": "AAECAwQFBgcICQoLDA0ODw", "tenant": "t1"})
    );
    // No client id is sent unless configured (or implied by PingOne).
    assert_eq!(
        sent[0]
            .body_text()
            .split('&')
            .map(|p| p.split('=').next().unwrap())
            .collect::<Vec<_>>(),
        ["grant_type", "assertion"]
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn each_start_gives_a_fresh_jti() {
    let client = JwtBearer::new(JwtBearerSettings::new(PING, key(PKCS8), "svc")).unwrap();
    let mut rng = TestRng::default();
    let first = drive(client.start(&mut rng), vec![json(200, TOKEN_JSON)]).0;
    let second = drive(client.start(&mut rng), vec![json(200, TOKEN_JSON)]).0;
    let jti = |r: &HttpRequest| {
        grantkit::jwt::decode_unverified(param(r, "assertion"))
            .unwrap()
            .claims["jti"]
            .clone()
    };
    assert_eq!(jti(&first[0]), "AAECAwQFBgcICQoLDA0ODw");
    assert_eq!(jti(&second[0]), "EBESExQVFhcYGRobHB0eHw");
}

#[wasm_bindgen_test(unsupported = test)]
fn registered_claims_and_bad_lifetimes_are_refused() {
    let mut settings = JwtBearerSettings::new(PING, key(PKCS8), "svc");
    settings.claims = serde_json::from_str(r#"{"aud":"elsewhere"}"#).unwrap();
    assert_eq!(
        JwtBearer::new(settings).unwrap_err(),
        Error::InvalidConfig {
            field: grantkit::options::ConfigField::Claims,
            reason: "\"aud\" is set by grantkit and cannot be overridden".into()
        }
    );
    for lifetime in [0, 86_401] {
        let mut settings = JwtBearerSettings::new(PING, key(PKCS8), "svc");
        settings.lifetime_secs = Some(lifetime);
        assert_eq!(
            JwtBearer::new(settings).unwrap_err().code(),
            "INVALID_CONFIG"
        );
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn private_key_jwt_sends_a_client_assertion_with_certificate_thumbprints() {
    let mut settings =
        ClientCredentialsSettings::new("https://idp.example/token", "app-1", "unused".into());
    settings.client.credential = ClientCredential::PrivateKeyJwt {
        key: key(JWK),
        algorithm: Some(Algorithm::Ps256),
        certificate_pem: Some(CERT.into()),
    };
    settings.client.scope = vec!["api://x/.default".into()];
    let client = ClientCredentials::new(settings).unwrap();

    let (sent, result) = drive(
        client.start(&mut TestRng::default()),
        vec![json(200, TOKEN_JSON)],
    );

    let request = &sent[0];
    assert_eq!(request.header("Authorization"), None);
    let assertion = param(request, "client_assertion");
    assert_eq!(
        request.body_text(),
        format!(
            "grant_type=client_credentials&scope=api%3A%2F%2Fx%2F.default&client_id=app-1\
             &client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer\
             &client_assertion={assertion}"
        )
    );
    let decoded = grantkit::jwt::decode_unverified(assertion).unwrap();
    let thumbprints: serde_json::Value = serde_json::from_str(THUMBPRINTS).unwrap();
    assert_eq!(
        serde_json::Value::Object(decoded.header),
        serde_json::json!({"alg": "PS256", "typ": "JWT", "kid": "fixture-2048",
            "x5t": thumbprints["x5t"], "x5t#S256": thumbprints["x5t#S256"]})
    );
    assert_eq!(
        serde_json::Value::Object(decoded.claims),
        serde_json::json!({"iss": "app-1", "sub": "app-1", "aud": "https://idp.example/token",
            "iat": 1_700_000_000, "exp": 1_700_000_060, "jti": "AAECAwQFBgcICQoLDA0ODw"})
    );
    assert!(result.is_ok());
}

/// A client_secret_jwt assertion, computed independently with Python's
/// hmac and hashlib (HS256 over the same header and claims, key
/// "a-client-secret-of-32-bytes-or-more").
const HS256_VECTOR: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJhcHAtMSIsInN1YiI6ImFwcC0xIiwiYXVkIjoiaHR0cHM6Ly9pZHAuZXhhbXBsZS90b2tlbiIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAwMDYwLCJqdGkiOiJBQUVDQXdRRkJnY0lDUW9MREEwT0R3In0.HpxtYCQswy3LVp-t9DodzagC0oXWAZmTKvHi2zsvEVw";

#[wasm_bindgen_test(unsupported = test)]
fn client_secret_jwt_sends_the_pinned_hs256_assertion_and_never_the_secret() {
    let secret = "a-client-secret-of-32-bytes-or-more";
    let mut settings =
        ClientCredentialsSettings::new("https://idp.example/token", "app-1", secret.into());
    settings.client.credential = ClientCredential::Secret {
        secret: secret.into(),
        method: ClientAuthMethod::Jwt,
    };
    let client = ClientCredentials::new(settings).unwrap();

    // HMAC is computed in the core: no Action::Sign, the request comes at once.
    let mut flow = client.start(&mut TestRng::default());
    let Ok(Action::Send(request)) = flow.poll(common::NOW) else {
        panic!("no request")
    };
    assert_eq!(request.header("Authorization"), None);
    // RFC 7523 §2.2, OpenID Connect Core §9: iss = sub = client_id, aud =
    // the token endpoint, jti, exp, iat; HS256 keyed with the secret.
    assert_eq!(
        request.body_text(),
        format!(
            "grant_type=client_credentials&client_id=app-1\
             &client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer\
             &client_assertion={HS256_VECTOR}"
        )
    );
    assert!(!request.body_text().contains(secret));
    // Not in Debug, nor in an error that echoes the assertion.
    assert!(!format!("{client:?}{flow:?}").contains(secret));
    let echo = json(
        400,
        &format!(r#"{{"error":"invalid_client","error_description":"bad {HS256_VECTOR}"}}"#),
    );
    let error = flow.handle_response(echo, common::NOW).unwrap_err();
    assert!(!error.to_string().contains(HS256_VECTOR), "{error}");
    assert!(!format!("{:?}", error.members()).contains("HpxtYCQswy3LVp"));
}

#[wasm_bindgen_test(unsupported = test)]
fn client_secret_jwt_refuses_a_secret_shorter_than_256_bits() {
    let mut settings =
        ClientCredentialsSettings::new("https://idp.example/token", "app-1", "unused".into());
    settings.client.credential = ClientCredential::Secret {
        secret: "31-bytes-is-one-byte-too-short!".into(),
        method: ClientAuthMethod::Jwt,
    };
    let error = ClientCredentials::new(settings).unwrap_err();
    assert_eq!(error.code(), "INVALID_CONFIG");
    assert!(error.to_string().contains("RFC 7518 §3.2"), "{error}");
    assert!(!error.to_string().contains("31-bytes"), "{error}");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_certificate_of_another_key_is_refused() {
    let mut settings =
        ClientCredentialsSettings::new("https://idp.example/token", "app-1", "unused".into());
    settings.client.credential = ClientCredential::PrivateKeyJwt {
        key: key(OTHER),
        algorithm: None,
        certificate_pem: Some(CERT.into()),
    };
    assert_eq!(
        ClientCredentials::new(settings).unwrap_err(),
        Error::InvalidConfig {
            field: grantkit::options::ConfigField::Certificate,
            reason: "the certificate does not belong to the private key".into()
        }
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn every_bad_key_has_its_code_and_no_key_material_in_the_message() {
    let cases: [(&str, &str); 12] = [
        (
            include_str!("fixtures/rsa2048.public.pem"),
            "KEY_PUBLIC_ONLY",
        ),
        (
            include_str!("fixtures/rsa2048.public.jwk.json"),
            "KEY_PUBLIC_ONLY",
        ),
        (CERT, "KEY_PUBLIC_ONLY"),
        (include_str!("fixtures/rsa1024.pkcs8.pem"), "KEY_TOO_SMALL"),
        (include_str!("fixtures/rsa1024.jwk.json"), "KEY_TOO_SMALL"),
        (include_str!("fixtures/ec-p256.pkcs8.pem"), "KEY_NOT_RSA"),
        (include_str!("fixtures/ec-p256.jwk.json"), "KEY_NOT_RSA"),
        (
            include_str!("fixtures/rsa2048.encrypted.pem"),
            "KEY_ENCRYPTED",
        ),
        (
            "-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----",
            "KEY_MALFORMED",
        ),
        (
            r#"{"kty":"RSA","n":"***","e":"AQAB","d":"AQAB"}"#,
            "KEY_MALFORMED",
        ),
        (r#"{"kty":"RSA", "#, "KEY_MALFORMED"),
        ("just some text", "KEY_MALFORMED"),
    ];
    for (text, code) in cases {
        let err = PrivateKey::parse(text).unwrap_err();
        assert_eq!(err.code(), code, "{}", &text[..text.len().min(40)]);
        let message = err.to_string();
        for line in text
            .lines()
            .filter(|l| l.len() > 20 && !l.starts_with("-----"))
        {
            assert!(!message.contains(&line[..20]), "{message}");
        }
    }
    // A truncated but well-framed PKCS#1 key.
    let truncated: String = PKCS1
        .lines()
        .take(5)
        .chain(PKCS1.lines().last())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(matches!(
        PrivateKey::parse(&truncated),
        Err(Error::InvalidKey(KeyProblem::Malformed { .. }))
    ));
}

#[wasm_bindgen_test(unsupported = test)]
fn debug_of_a_key_shows_only_its_size_and_kid() {
    let printed = format!("{:?}", key(JWK));
    assert_eq!(
        printed,
        "PrivateKey { bits: 2048, kid: Some(\"fixture-2048\"), alg: Some(Rs256), .. }"
    );
}

/// Independent checks with the openssl command line (native only).
#[cfg(not(target_arch = "wasm32"))]
mod openssl {
    use super::*;
    use crate::common::NOW;
    use grantkit::flow::{Action, Flow};
    use std::process::Command;

    fn verify(alg: Algorithm, message: &[u8], signature: &[u8]) -> bool {
        let dir =
            std::env::temp_dir().join(format!("grantkit-openssl-{}-{:?}", std::process::id(), alg));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("input"), message).unwrap();
        std::fs::write(dir.join("sig"), signature).unwrap();
        let mut command = Command::new("openssl");
        command.args(["dgst", "-sha256", "-verify"]);
        command.arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/rsa2048.public.pem"
        ));
        if alg == Algorithm::Ps256 {
            command.args([
                "-sigopt",
                "rsa_padding_mode:pss",
                "-sigopt",
                "rsa_pss_saltlen:32",
            ]);
        }
        command
            .arg("-signature")
            .arg(dir.join("sig"))
            .arg(dir.join("input"));
        let output = command.output().expect("openssl runs");
        std::fs::remove_dir_all(&dir).ok();
        output.status.success()
    }

    #[test]
    fn openssl_verifies_rs256_and_ps256_signatures() {
        for alg in [Algorithm::Rs256, Algorithm::Ps256] {
            let mut settings = JwtBearerSettings::new(PING, key(PKCS8), "svc");
            settings.algorithm = Some(alg);
            let mut flow = JwtBearer::new(settings)
                .unwrap()
                .start(&mut rsa::rand_core::OsRng);
            let Ok(Action::Sign(request)) = flow.poll(NOW) else {
                panic!()
            };
            let signature = grantkit::crypto::sign(
                &request.key,
                alg,
                &request.message,
                &mut rsa::rand_core::OsRng,
            );
            assert!(verify(alg, &request.message, &signature), "{alg:?}");
            // And a tampered message does not verify.
            assert!(!verify(alg, b"tampered", &signature), "{alg:?}");
        }
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn sign_assertion_gives_the_pinned_vector_without_a_request() {
    // createAssertion's flow: the same assertion the grant would send (same
    // key, clock and jti), and nothing sent.
    let mut settings = JwtBearerSettings::new(PING, key(JWK), "svc-123");
    settings.client.provider = Some(Provider::PingAic);
    let client = JwtBearer::new(settings).unwrap();
    let (sent, result) = drive(client.sign_assertion(&mut TestRng::default()), vec![]);
    assert!(sent.is_empty());
    assert_eq!(result.unwrap(), vector("jws"));
}

#[wasm_bindgen_test(unsupported = test)]
fn a_jwk_whose_d_or_e_is_out_of_range_is_malformed_not_a_panic() {
    // Found by fuzzing: d = 0 without p and q panicked inside the rsa crate
    // while it recovered the primes (`d * e - 1`).
    let jwk: serde_json::Value = serde_json::from_str(JWK).unwrap();
    let n = jwk["n"].as_str().unwrap();
    for (e, d) in [
        ("AQAB", ""),
        ("AQAB", "AA"),
        ("AQAB", "AQ"),
        ("", "AQAB"),
        ("AQ", "AQAB"),
        ("AQAB", n),
    ] {
        let text = serde_json::json!({"kty": "RSA", "n": n, "e": e, "d": d}).to_string();
        let err = PrivateKey::parse(&text).unwrap_err();
        assert_eq!(err.code(), "KEY_MALFORMED", "e={e} d={d:.10}");
    }
}
