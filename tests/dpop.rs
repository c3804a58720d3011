//! DPoP proofs (RFC 9449): the RFC's own values for `ath` and the key
//! thumbprint, the exact header and claims, a proof signed with a P-256 key
//! (as the driver's WebCrypto key signs) and verified by an independent
//! ES256 implementation (the `p256` crate), and the nonce demands.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use grantkit::dpop::{
    access_token_hash, demanded_nonce, proof_signing_input, target_uri, DpopPublicKey, ProofFor,
};
use grantkit::{HttpResponse, Method, Secret, UnixTime};
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use serde_json::{json, Map, Value};
use wasm_bindgen_test::wasm_bindgen_test;

/// The public key of RFC 9449's examples (§4.1).
fn rfc_key() -> Map<String, Value> {
    json!({"kty":"EC","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA","crv":"P-256"})
        .as_object()
        .cloned()
        .unwrap()
}

fn response(status: u16, headers: &[(&str, &str)], body: &str) -> HttpResponse {
    HttpResponse {
        status,
        headers: headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect(),
        set_cookies: Vec::new(),
        body: body.as_bytes().to_vec(),
    }
}

fn decode(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[wasm_bindgen_test(unsupported = test)]
fn ath_and_the_thumbprint_are_the_rfcs_own_values() {
    // RFC 9449 §7.1: the access token and its ath.
    assert_eq!(
        access_token_hash(&Secret::new("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU")),
        "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
    );
    // RFC 9449 §6.1: cnf.jkt of the examples' key.
    let key = DpopPublicKey::from_jwk(&rfc_key()).unwrap();
    assert_eq!(
        key.thumbprint(),
        "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn a_proof_has_the_exact_header_and_claims_and_htu_drops_query_and_fragment() {
    let key = DpopPublicKey::from_jwk(&rfc_key()).unwrap();
    let token = Secret::new("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU");
    let input = proof_signing_input(
        &key,
        &ProofFor {
            method: Method::Get,
            url: "https://resource.example.org/protectedresource?x=1#frag",
            access_token: Some(&token),
            nonce: Some("eyJ7S_zG.eyJH0-Z.HX4w-7v"),
        },
        UnixTime::from_secs(1_562_262_618),
        "e1j3V_bKic8-LAEB",
    );
    let (header, claims) = input.split_once('.').unwrap();
    assert_eq!(
        String::from_utf8(URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap(),
        r#"{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"EC","crv":"P-256","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"}}"#
    );
    assert_eq!(
        String::from_utf8(URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap(),
        r#"{"jti":"e1j3V_bKic8-LAEB","htm":"GET","htu":"https://resource.example.org/protectedresource","iat":1562262618,"ath":"fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo","nonce":"eyJ7S_zG.eyJH0-Z.HX4w-7v"}"#
    );
    // A token request's proof: no ath, no nonce until one is demanded.
    let input = proof_signing_input(
        &key,
        &ProofFor {
            method: Method::Post,
            url: "https://server.example.com/token",
            access_token: None,
            nonce: None,
        },
        UnixTime::from_secs(1_562_262_616),
        "-BwC3ESc6acc2lTc",
    );
    assert_eq!(
        decode(input.split_once('.').unwrap().1),
        json!({"jti":"-BwC3ESc6acc2lTc","htm":"POST","htu":"https://server.example.com/token","iat":1562262616})
    );
    assert_eq!(target_uri("https://a.example/p?q#f"), "https://a.example/p");
    assert_eq!(target_uri("https://a.example/p#f?q"), "https://a.example/p");
    assert_eq!(target_uri("https://a.example/"), "https://a.example/");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_proof_signed_with_the_key_verifies_with_an_independent_es256_implementation() {
    let signing = SigningKey::from_slice(&[7u8; 32]).unwrap();
    let point = signing.verifying_key().to_encoded_point(false);
    let jwk = json!({
        "kty": "EC", "crv": "P-256",
        "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
        "y": URL_SAFE_NO_PAD.encode(point.y().unwrap()),
    });
    let key = DpopPublicKey::from_jwk(jwk.as_object().unwrap()).unwrap();
    let input = proof_signing_input(
        &key,
        &ProofFor {
            method: Method::Post,
            url: "https://as.example/token",
            access_token: None,
            nonce: None,
        },
        UnixTime::from_secs(1_700_000_000),
        "jti-1",
    );
    // The driver's part: an ES256 signature, r || s (64 bytes).
    let signature: Signature = signing.sign(input.as_bytes());
    let proof = grantkit::jwt::compact(&input, &signature.to_bytes());

    // The verifier's part, from the proof alone: the key from its header.
    let mut parts = proof.split('.');
    let (header, claims, sig) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let header = decode(header);
    assert_eq!(header["typ"], "dpop+jwt");
    assert_eq!(header["alg"], "ES256");
    let x = URL_SAFE_NO_PAD
        .decode(header["jwk"]["x"].as_str().unwrap())
        .unwrap();
    let y = URL_SAFE_NO_PAD
        .decode(header["jwk"]["y"].as_str().unwrap())
        .unwrap();
    let mut sec1 = vec![4u8];
    sec1.extend_from_slice(&x);
    sec1.extend_from_slice(&y);
    let verifying = VerifyingKey::from_sec1_bytes(&sec1).unwrap();
    let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(sig).unwrap()).unwrap();
    verifying
        .verify(
            format!("{}.{claims}", proof.split('.').next().unwrap()).as_bytes(),
            &signature,
        )
        .expect("the proof verifies");
    assert_eq!(decode(claims)["htu"], "https://as.example/token");
}

#[wasm_bindgen_test(unsupported = test)]
fn an_unusable_public_key_is_refused_without_quoting_it() {
    let private = {
        let mut jwk = rfc_key();
        jwk.insert(
            "d".into(),
            json!("c2VjcmV0LXByaXZhdGUta2V5LW1hdGVyaWFsLTMyYg"),
        );
        jwk
    };
    let rsa = json!({"kty":"RSA","n":"AQAB","e":"AQAB"});
    let short = json!({"kty":"EC","crv":"P-256","x":"AAAA","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"});
    let p384 = json!({"kty":"EC","crv":"P-384","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"});
    for jwk in [
        private,
        rsa.as_object().unwrap().clone(),
        short.as_object().unwrap().clone(),
        p384.as_object().unwrap().clone(),
    ] {
        let error = DpopPublicKey::from_jwk(&jwk).unwrap_err();
        assert_eq!(error.code(), "DPOP_UNAVAILABLE");
        let text = format!("{error} {error:?}");
        assert!(
            !text.contains("c2VjcmV0") && !text.contains("l8tFrhx"),
            "{text}"
        );
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn nonce_demands_at_the_token_endpoint_and_at_a_resource_server() {
    let nonce = "eyJ7S_zG.eyJH0-Z.HX4w-7v";
    // RFC 9449 §8: 400, use_dpop_nonce, DPoP-Nonce.
    let token_endpoint = response(
        400,
        &[("DPoP-Nonce", nonce), ("Content-Type", "application/json")],
        r#"{"error":"use_dpop_nonce","error_description":"Authorization server requires nonce in DPoP proof"}"#,
    );
    assert_eq!(demanded_nonce(&token_endpoint).as_deref(), Some(nonce));
    // RFC 9449 §9: 401, WWW-Authenticate: DPoP error="use_dpop_nonce".
    let resource = response(
        401,
        &[
            (
                "WWW-Authenticate",
                r#"DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof""#,
            ),
            ("DPoP-Nonce", nonce),
        ],
        "",
    );
    assert_eq!(demanded_nonce(&resource).as_deref(), Some(nonce));
    // Among other challenges, in one header or in two.
    let mixed = response(
        401,
        &[
            (
                "www-authenticate",
                r#"Bearer realm="api", DPoP algs="ES256", error="use_dpop_nonce""#,
            ),
            ("dpop-nonce", nonce),
        ],
        "",
    );
    assert_eq!(demanded_nonce(&mixed).as_deref(), Some(nonce));
    // The longest nonce used: 1,024 characters.
    let longest = "n".repeat(grantkit::dpop::MAX_NONCE_CHARS);
    let at_limit = response(
        400,
        &[("DPoP-Nonce", &longest)],
        r#"{"error":"use_dpop_nonce"}"#,
    );
    assert_eq!(demanded_nonce(&at_limit), Some(longest));

    // Not demands: another error, no nonce header, a nonce outside NQCHAR,
    // a Bearer challenge's error, a 200 with a nonce (a new nonce for next
    // time is not a demand).
    let not = [
        response(
            400,
            &[("DPoP-Nonce", nonce)],
            r#"{"error":"invalid_grant"}"#,
        ),
        response(400, &[], r#"{"error":"use_dpop_nonce"}"#),
        response(
            400,
            &[("DPoP-Nonce", "a\"b")],
            r#"{"error":"use_dpop_nonce"}"#,
        ),
        response(
            400,
            &[("DPoP-Nonce", "a b")],
            r#"{"error":"use_dpop_nonce"}"#,
        ),
        // Longer than a proof should carry: a hostile server's.
        response(
            400,
            &[("DPoP-Nonce", &"n".repeat(1025))],
            r#"{"error":"use_dpop_nonce"}"#,
        ),
        response(
            401,
            &[
                ("WWW-Authenticate", r#"Bearer error="use_dpop_nonce""#),
                ("DPoP-Nonce", nonce),
            ],
            "",
        ),
        response(
            401,
            &[
                ("WWW-Authenticate", r#"DPoP error="invalid_token""#),
                ("DPoP-Nonce", nonce),
            ],
            "",
        ),
        response(
            200,
            &[("DPoP-Nonce", nonce)],
            r#"{"error":"use_dpop_nonce"}"#,
        ),
    ];
    for r in &not {
        assert_eq!(demanded_nonce(r), None, "{:?}", r.headers);
    }
}

// ---- DPoP in the flows: the exact requests, proofs verified with p256 ----

mod common;

use common::{drive_with, headers, json, param, Prover, TestRng, NOW};
use grantkit::client_auth::ClientCredential;
use grantkit::dpop::{DpopSession, ProofRequest};
use grantkit::flow::{
    ClientCredentials, ClientCredentialsSettings, DeviceAuthorization, DeviceAuthorizationSettings,
};
use grantkit::source::{Acquired, ExpiryPolicy, TokenSource};
use grantkit::Error;

const TOKEN_ENDPOINT: &str = "https://as.example.com/token";
const DPOP_TOKEN: &str = r#"{"access_token":"at-dpop-1","token_type":"DPoP","expires_in":300,"refresh_token":"rt-dpop-1"}"#;
const NONCE: &str = "eyJ7S_zG.eyJH0-Z.HX4w-7v";

fn dpop_client(credential: Option<ClientCredential>) -> ClientCredentials {
    let mut settings =
        ClientCredentialsSettings::new(TOKEN_ENDPOINT, "orders", Secret::new("orders-secret"));
    if let Some(credential) = credential {
        settings.client.credential = credential;
    }
    settings.client.dpop = true;
    ClientCredentials::new(settings).unwrap()
}

fn nonce_demand() -> HttpResponse {
    json(
        400,
        r#"{"error":"use_dpop_nonce","error_description":"Authorization server requires nonce in DPoP proof"}"#,
    )
    .with_header("DPoP-Nonce", NONCE)
}

/// The request's proof, verified, and its claims.
fn proof_claims(prover: &Prover, request: &grantkit::HttpRequest) -> Value {
    let proofs: Vec<&str> = headers(request)
        .into_iter()
        .filter(|(name, _)| *name == "DPoP")
        .map(|(_, value)| value)
        .collect();
    assert_eq!(proofs.len(), 1, "one DPoP header");
    prover.verify(proofs[0])
}

#[wasm_bindgen_test(unsupported = test)]
fn a_dpop_token_request_carries_one_proof_of_the_exact_request() {
    let mut prover = Prover::new(7);
    let (sent, result) = drive_with(
        dpop_client(None).start(&mut TestRng::default()),
        vec![json(200, DPOP_TOKEN)],
        Some(&mut prover),
    );
    assert_eq!(sent.len(), 1);
    assert_eq!(
        headers(&sent[0])[..3],
        [
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Accept", "application/json"),
            ("Authorization", "Basic b3JkZXJzOm9yZGVycy1zZWNyZXQ="),
        ]
    );
    assert_eq!(sent[0].body_text(), "grant_type=client_credentials");
    let claims = proof_claims(&prover, &sent[0]);
    assert_eq!(
        claims.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["htm", "htu", "iat", "jti"],
        "no ath and no nonce at the token endpoint before a demand"
    );
    assert_eq!(claims["htm"], "POST");
    assert_eq!(claims["htu"], TOKEN_ENDPOINT);
    assert_eq!(claims["iat"], NOW.as_secs());
    assert_eq!(claims["jti"].as_str().unwrap().len(), 22);
    let tokens = result.unwrap();
    assert_eq!(tokens.token_type, "DPoP");
    assert_eq!(tokens.access_token.expose(), "at-dpop-1");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_demanded_nonce_is_sent_once_more_with_a_new_proof_and_a_new_assertion() {
    use grantkit::keys::PrivateKey;
    let key =
        std::sync::Arc::new(PrivateKey::parse(include_str!("fixtures/rsa2048.pkcs8.pem")).unwrap());
    let client = dpop_client(Some(ClientCredential::PrivateKeyJwt {
        key,
        algorithm: None,
        certificate_pem: None,
    }));
    let mut prover = Prover::new(7);
    let (sent, result) = drive_with(
        client.start(&mut TestRng::default()),
        vec![nonce_demand(), json(200, DPOP_TOKEN)],
        Some(&mut prover),
    );
    assert_eq!(sent.len(), 2);
    let (first, second) = (
        proof_claims(&prover, &sent[0]),
        proof_claims(&prover, &sent[1]),
    );
    assert_eq!(first.get("nonce"), None);
    assert_eq!(second["nonce"], NONCE);
    assert_ne!(first["jti"], second["jti"]);
    // RFC 7523 §3: the assertion is signed again, with a jti of its own.
    let jti = |request| {
        let assertion = param(request, "client_assertion");
        let claims = assertion.split('.').nth(1).unwrap();
        decode(claims)["jti"].as_str().unwrap().to_owned()
    };
    assert_ne!(jti(&sent[0]), jti(&sent[1]));
    assert_eq!(result.unwrap().token_type, "DPoP");

    // A second demand is the server's error: no third request.
    let (sent, result) = drive_with(
        dpop_client(None).start(&mut TestRng::default()),
        vec![nonce_demand(), nonce_demand()],
        Some(&mut Prover::new(7)),
    );
    assert_eq!(sent.len(), 2);
    let error = result.unwrap_err();
    assert_eq!(error.code(), "OAUTH_ERROR");
    assert!(error.to_string().contains("use_dpop_nonce"), "{error}");

    // Without dpop, a use_dpop_nonce answer is an error like any other.
    let mut plain = ClientCredentialsSettings::new(TOKEN_ENDPOINT, "orders", Secret::new("s"));
    plain.client.dpop = false;
    let (sent, result) = common::drive(
        ClientCredentials::new(plain)
            .unwrap()
            .start(&mut TestRng::default()),
        vec![nonce_demand()],
    );
    assert_eq!((sent.len(), result.unwrap_err().code()), (1, "OAUTH_ERROR"));
}

#[wasm_bindgen_test(unsupported = test)]
fn a_bearer_answer_to_a_dpop_request_is_refused() {
    let (_, result) = drive_with(
        dpop_client(None).start(&mut TestRng::default()),
        vec![json(
            200,
            r#"{"access_token":"at-1","token_type":"Bearer","expires_in":300}"#,
        )],
        Some(&mut Prover::new(7)),
    );
    assert_eq!(
        result.unwrap_err(),
        Error::UnsupportedTokenType {
            token_type: "Bearer".into(),
            expected: "DPoP"
        }
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn the_session_uses_the_latest_nonce_of_each_server() {
    let mut prover = Prover::new(7);
    // A nonce sent with a success (RFC 9449 §8.2) is used from then on.
    let (sent, _) = drive_with(
        dpop_client(None).start(&mut TestRng::default()),
        vec![json(200, DPOP_TOKEN).with_header("DPoP-Nonce", "n-1")],
        Some(&mut prover),
    );
    assert_eq!(proof_claims(&prover, &sent[0]).get("nonce"), None);
    let (sent, _) = drive_with(
        dpop_client(None).start(&mut TestRng::default()),
        vec![json(200, DPOP_TOKEN).with_header("DPoP-Nonce", "bad nonce\"")],
        Some(&mut prover),
    );
    assert_eq!(proof_claims(&prover, &sent[0])["nonce"], "n-1");
    // A nonce too long for a proof is not kept either.
    prover.session.observe(
        TOKEN_ENDPOINT,
        &json(200, "{}").with_header("DPoP-Nonce", &"n".repeat(1025)),
    );
    // The invalid ones were ignored; another origin has none.
    let proof = |session: &DpopSession, url: &str| {
        let request = ProofRequest {
            method: Method::Get,
            url: url.into(),
            access_token: None,
            nonce: None,
        };
        let input = session.signing_input(&request, NOW, &mut TestRng::default());
        decode(input.split('.').nth(1).unwrap())
    };
    assert_eq!(
        proof(&prover.session, "https://as.example.com:443/x")["nonce"],
        "n-1"
    );
    assert_eq!(
        proof(&prover.session, "https://api.example.com/x").get("nonce"),
        None
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn a_dpop_source_refreshes_with_a_proof() {
    let client = dpop_client(None);
    let mut source = TokenSource::new(Box::new(std::rc::Rc::new(client)), ExpiryPolicy::default());
    let mut prover = Prover::new(9);
    let (_, acquired) = drive_with(
        source.acquire(Box::new(TestRng::default())),
        vec![json(200, DPOP_TOKEN)],
        Some(&mut prover),
    );
    source.accept(acquired.unwrap());
    source.invalidate();
    let (sent, acquired) = drive_with(
        source.acquire(Box::new(TestRng::default())),
        vec![json(
            200,
            r#"{"access_token":"at-dpop-2","token_type":"DPoP","expires_in":300}"#,
        )],
        Some(&mut prover),
    );
    assert_eq!(
        sent[0].body_text(),
        "grant_type=refresh_token&refresh_token=rt-dpop-1"
    );
    assert_eq!(proof_claims(&prover, &sent[0])["htu"], TOKEN_ENDPOINT);
    let Acquired { tokens, refreshed } = acquired.unwrap();
    assert!(refreshed);
    assert_eq!(tokens.token_type, "DPoP");
}

#[wasm_bindgen_test(unsupported = test)]
fn the_device_flow_proves_its_polls_but_not_the_device_authorization_request() {
    let mut settings =
        DeviceAuthorizationSettings::new("https://as.example.com/device", TOKEN_ENDPOINT, "tv-app");
    settings.client.dpop = true;
    let flow = DeviceAuthorization::new(settings).unwrap();
    let mut prover = Prover::new(7);
    let (sent, result) = drive_with(
        flow.start(Box::new(TestRng::default())),
        vec![
            json(
                200,
                r#"{"device_code":"dc-1","user_code":"WDJB-MJHT","verification_uri":"https://as.example.com/device","expires_in":600,"interval":1}"#,
            ),
            json(200, DPOP_TOKEN),
        ],
        Some(&mut prover),
    );
    assert!(headers(&sent[0]).iter().all(|(name, _)| *name != "DPoP"));
    assert_eq!(proof_claims(&prover, &sent[1])["htu"], TOKEN_ENDPOINT);
    assert_eq!(result.unwrap().token_type, "DPoP");
}
