//! The driver and the JavaScript API, in Node and in Chromium, with `fetch`
//! doubles written in JavaScript: the request as `fetch` receives it, and
//! the objects JavaScript gets back.

use super::api::{decode_jwt, JsClientCredentials, JsPasswordGrant};
use super::get;
use js_sys::{Array, Function, Object, Reflect, JSON};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen(inline_js = r#"
// A fetch that records each call and answers with a scripted Response.
export function recordingFetch(status, body, headers) {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ url, method: init.method, headers: [...init.headers], body: init.body, redirect: init.redirect });
    return new Response(body, { status, headers });
  };
  fetch.calls = calls;
  return fetch;
}
// A fetch that never answers, but rejects as a real one does when aborted.
export function hangingFetch() {
  const fetch = (url, init) => new Promise((_, reject) => {
    fetch.calls += 1;
    init.signal.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
  });
  fetch.calls = 0;
  return fetch;
}
// A fetch whose body is an endless stream of 64 KiB chunks.
export function endlessFetch() {
  return async () => new Response(new ReadableStream({
    pull(controller) { controller.enqueue(new Uint8Array(65536)); },
  }), { status: 200 });
}
export function rejectingFetch() {
  return async () => { throw new TypeError("fetch failed", { cause: { code: "ECONNREFUSED" } }); };
}
export function abortAfter(ms) {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), ms);
  return controller.signal;
}
// An object whose every reflective operation throws.
export function throwingProxy() {
  const trap = () => { throw new Error("trap"); };
  return new Proxy({}, { ownKeys: trap, get: trap, has: trap, getOwnPropertyDescriptor: trap, getPrototypeOf: trap });
}
export function revokedProxy() {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}
export function abortedSignal() {
  const controller = new AbortController();
  controller.abort();
  return controller.signal;
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = recordingFetch)]
    fn recording_fetch(status: u16, body: &str, headers: JsValue) -> Function;
    #[wasm_bindgen(js_name = throwingProxy)]
    fn throwing_proxy() -> JsValue;
    #[wasm_bindgen(js_name = revokedProxy)]
    fn revoked_proxy() -> JsValue;
    #[wasm_bindgen(js_name = hangingFetch)]
    fn hanging_fetch() -> Function;
    #[wasm_bindgen(js_name = endlessFetch)]
    fn endless_fetch() -> Function;
    #[wasm_bindgen(js_name = rejectingFetch)]
    fn rejecting_fetch() -> Function;
    #[wasm_bindgen(js_name = abortAfter)]
    fn abort_after(ms: u32) -> JsValue;
    #[wasm_bindgen(js_name = abortedSignal)]
    fn aborted_signal() -> JsValue;
}

const TOKEN_JSON: &str =
    r#"{"access_token":"at-1","token_type":"bearer","expires_in":"300","scope":"api:read"}"#;

fn text(target: &JsValue, name: &str) -> String {
    get(target, name)
        .as_string()
        .unwrap_or_else(|| panic!("{name} is not a string"))
}

/// Options from JSON, plus the given `fetch`.
fn options(json: &str, fetch: &Function) -> JsValue {
    let options = JSON::parse(json).unwrap();
    Reflect::set(&options, &"fetch".into(), fetch).unwrap();
    options
}

fn client_credentials(json: &str, fetch: &Function) -> JsClientCredentials {
    JsClientCredentials::new(options(json, fetch)).unwrap_or_else(|e| panic!("{:?}", e))
}

const CC: &str = r#"{"tokenEndpoint":"https://idp.example/token","clientId":"app","clientSecret":"s3cret","scope":["api:read"]}"#;

async fn rejection(promise: js_sys::Promise) -> JsValue {
    match JsFuture::from(promise).await {
        Ok(v) => panic!("expected a rejection, got {v:?}"),
        Err(e) => e,
    }
}

fn assert_grantkit_error(error: &JsValue, code: &str) {
    assert!(
        error.is_instance_of::<js_sys::Error>(),
        "not an Error: {error:?}"
    );
    assert_eq!(text(error, "name"), "GrantkitError");
    assert_eq!(text(error, "code"), code, "{}", text(error, "message"));
}

#[wasm_bindgen_test]
async fn fetch_receives_the_exact_request_with_manual_redirects() {
    let fetch = recording_fetch(200, TOKEN_JSON, JsValue::UNDEFINED);
    let client = client_credentials(CC, &fetch);

    let tokens = JsFuture::from(client.get_token(JsValue::UNDEFINED))
        .await
        .unwrap();

    let calls: Array = get(&fetch, "calls").into();
    assert_eq!(calls.length(), 1);
    let call = calls.get(0);
    assert_eq!(text(&call, "url"), "https://idp.example/token");
    assert_eq!(text(&call, "method"), "POST");
    assert_eq!(text(&call, "redirect"), "manual");
    assert_eq!(
        text(&call, "body"),
        "grant_type=client_credentials&scope=api%3Aread"
    );
    // Headers objects list names in lower case, sorted.
    assert_eq!(
        JSON::stringify(&get(&call, "headers"))
            .unwrap()
            .as_string()
            .unwrap(),
        r#"[["accept","application/json"],["authorization","Basic YXBwOnMzY3JldA=="],["content-type","application/x-www-form-urlencoded"]]"#
    );

    assert_eq!(text(&tokens, "access_token"), "at-1");
    assert_eq!(text(&tokens, "token_type"), "Bearer");
    assert_eq!(get(&tokens, "expires_in").as_f64(), Some(300.0));
    let now = (js_sys::Date::now() / 1000.0).floor();
    let expires_at = get(&tokens, "expires_at").as_f64().unwrap();
    assert!(
        (now + 299.0..=now + 300.0).contains(&expires_at),
        "{expires_at} vs {now}"
    );
    assert_eq!(text(&tokens, "scope"), "api:read");
    assert!(get(&tokens, "refresh_token").is_undefined());
    assert_eq!(text(&get(&tokens, "raw"), "expires_in"), "300");
}

#[wasm_bindgen_test]
async fn an_oauth_error_rejects_with_a_structured_error() {
    let body = r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215],"trace_id":"t1"}"#;
    let fetch = recording_fetch(401, body, JsValue::UNDEFINED);
    let client = client_credentials(CC, &fetch);

    let error = rejection(client.get_token(JsValue::UNDEFINED)).await;

    assert_grantkit_error(&error, "OAUTH_ERROR");
    assert_eq!(get(&error, "status").as_f64(), Some(401.0));
    assert_eq!(text(&error, "error"), "invalid_client");
    assert_eq!(
        text(&error, "error_description"),
        "AADSTS7000215: Invalid client secret provided."
    );
    let body = get(&error, "body");
    assert_eq!(
        JSON::stringify(&get(&body, "error_codes")).unwrap(),
        "[7000215]"
    );
    assert_eq!(text(&body, "trace_id"), "t1");
    assert!(!text(&error, "stack").contains("s3cret"));
}

#[wasm_bindgen_test]
async fn password_grant_sends_the_password_and_not_in_errors() {
    let fetch = recording_fetch(400, r#"{"error":"invalid_grant"}"#, JsValue::UNDEFINED);
    let json = r#"{"tokenEndpoint":"https://idp.example/token","clientId":"cli","username":"alice","password":"pa55 wörd"}"#;
    let client = JsPasswordGrant::new(options(json, &fetch)).unwrap_or_else(|e| panic!("{e:?}"));

    let error = rejection(client.get_token(JsValue::UNDEFINED)).await;

    let calls: Array = get(&fetch, "calls").into();
    assert_eq!(
        text(&calls.get(0), "body"),
        "grant_type=password&username=alice&password=pa55+w%C3%B6rd&client_id=cli"
    );
    assert_grantkit_error(&error, "OAUTH_ERROR");
    assert_eq!(text(&error, "error"), "invalid_grant");
    assert!(!text(&error, "message").contains("pa55"));
}

#[wasm_bindgen_test]
async fn a_redirect_is_never_followed() {
    let headers = JSON::parse(r#"{"location":"https://elsewhere.example/?code=x"}"#).unwrap();
    let fetch = recording_fetch(302, "", headers);
    let client = client_credentials(CC, &fetch);

    let error = rejection(client.get_token(JsValue::UNDEFINED)).await;

    assert_grantkit_error(&error, "UNEXPECTED_REDIRECT");
    assert_eq!(get(&error, "status").as_f64(), Some(302.0));
    assert_eq!(Array::from(&get(&fetch, "calls")).length(), 1);
}

#[wasm_bindgen_test]
async fn the_time_limit_aborts_a_request_that_never_answers() {
    let fetch = hanging_fetch();
    let json = r#"{"tokenEndpoint":"https://idp.example/token","clientId":"app","clientSecret":"s","timeoutMs":50}"#;
    let client = client_credentials(json, &fetch);

    let error = rejection(client.get_token(JsValue::UNDEFINED)).await;

    assert_grantkit_error(&error, "TIMEOUT");
    assert_eq!(text(&error, "message"), "no response within 50 ms");
}

#[wasm_bindgen_test]
async fn the_callers_signal_aborts_a_request() {
    let fetch = hanging_fetch();
    let client = client_credentials(CC, &fetch);
    let get_options = Object::new();
    Reflect::set(&get_options, &"signal".into(), &abort_after(20)).unwrap();

    let error = rejection(client.get_token(get_options.into())).await;
    assert_grantkit_error(&error, "ABORTED");
    assert_eq!(get(&fetch, "calls").as_f64(), Some(1.0));

    // An already aborted signal: nothing is sent at all.
    let get_options = Object::new();
    Reflect::set(&get_options, &"signal".into(), &aborted_signal()).unwrap();
    let error = rejection(client.get_token(get_options.into())).await;
    assert_grantkit_error(&error, "ABORTED");
    assert_eq!(get(&fetch, "calls").as_f64(), Some(1.0));
}

#[wasm_bindgen_test]
async fn an_endless_body_is_cut_at_the_limit() {
    let client = client_credentials(CC, &endless_fetch());
    let error = rejection(client.get_token(JsValue::UNDEFINED)).await;
    assert_grantkit_error(&error, "RESPONSE_TOO_LARGE");
    assert_eq!(
        text(&error, "message"),
        "the response body is larger than 1048576 bytes"
    );
}

#[wasm_bindgen_test]
async fn a_rejected_fetch_is_a_network_error_with_its_cause() {
    let client = client_credentials(CC, &rejecting_fetch());
    let error = rejection(client.get_token(JsValue::UNDEFINED)).await;
    assert_grantkit_error(&error, "NETWORK_ERROR");
    assert_eq!(
        text(&error, "message"),
        "network error: fetch failed (ECONNREFUSED)"
    );
}

#[wasm_bindgen_test]
fn bad_options_throw_from_the_constructor_without_echoing_values() {
    let fetch = recording_fetch(200, TOKEN_JSON, JsValue::UNDEFINED);
    let cases = [
        (
            r#"{"clientId":"app","clientSecret":"s"}"#,
            "tokenEndpoint",
            "invalid configuration: tokenEndpoint: give tokenEndpoint, or issuer to read it from the server's metadata",
        ),
        (
            r#"{"tokenEndpoint":"https://idp.example/t","clientId":"app","clientSecret":123456789}"#,
            "clientSecret",
            "invalid configuration: clientSecret: must be a string, not a number",
        ),
        (
            r#"{"tokenEndpoint":"https://idp.example/t","clientId":"app","clientSecret":"s","clientAuth":"jwt"}"#,
            "clientAuth",
            "invalid configuration: clientAuth: must be \"basic\", \"post\", \"private_key_jwt\" or \"client_secret_jwt\"",
        ),
        (
            r#"{"tokenEndpoint":"https://idp.example/t","clientId":"app","clientSecret":"s","timeoutMs":-5}"#,
            "timeoutMs",
            "invalid configuration: timeoutMs: must be a whole number of milliseconds, at least 1",
        ),
        (
            r#"{"tokenEndpoint":"https://idp.example/t","clientId":"app","clientSecret":"s","timeoutMs":"SEKRIT"}"#,
            "timeoutMs",
            "invalid configuration: timeoutMs: must be a whole number of milliseconds, at least 1, not a string",
        ),
        (
            r#"{"tokenEndpoint":"https://idp.example/t","clientId":"app","clientSecret":"s","extraParams":{"a":1}}"#,
            "extraParams",
            "invalid configuration: extraParams: \"a\": must be a string or an array of strings, not a number",
        ),
    ];
    for (json, field, message) in cases {
        let error = match JsClientCredentials::new(options(json, &fetch)) {
            Ok(_) => panic!("accepted {json}"),
            Err(e) => e,
        };
        assert_grantkit_error(&error, "INVALID_CONFIG");
        assert_eq!(text(&error, "field"), field);
        assert_eq!(text(&error, "message"), message);
    }
    assert_eq!(Array::from(&get(&fetch, "calls")).length(), 0);
}

#[wasm_bindgen_test]
fn decode_jwt_returns_plain_objects() {
    let decoded = decode_jwt("eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.".into()).unwrap();
    assert_eq!(text(&get(&decoded, "header"), "alg"), "none");
    assert_eq!(text(&get(&decoded, "claims"), "sub"), "alice");
    let error = decode_jwt("nope".into()).unwrap_err();
    assert_grantkit_error(&error, "INVALID_JWT");
}

#[wasm_bindgen_test]
fn decode_jwt_of_something_that_is_not_a_string_is_invalid_jwt() {
    // Once a trap ("memory access out of bounds") instead of an error.
    for value in [
        JsValue::from_f64(42.0),
        Object::new().into(),
        JsValue::UNDEFINED,
        JsValue::NULL,
    ] {
        let error = decode_jwt(value).unwrap_err();
        assert_grantkit_error(&error, "INVALID_JWT");
    }
}

#[wasm_bindgen_test]
fn server_json_becomes_what_json_parse_makes_of_it() {
    // A __proto__ member is an own property, not the prototype; a number
    // past 2^53 no longer empties the object; the last duplicate wins.
    let body: serde_json::Value = serde_json::from_str(
        r#"{"__proto__":{"polluted":true},"big":12345678901234567890,"a":1,"a":2,"s":"x"}"#,
    )
    .unwrap();
    let js = super::errors::to_js_json(&body);
    let proto = Object::get_prototype_of(&js);
    assert!(Object::is(
        &proto,
        &Object::get_prototype_of(&Object::new())
    ));
    assert!(get(&js, "polluted").is_undefined());
    let own =
        Object::get_own_property_descriptor(js.unchecked_ref::<Object>(), &"__proto__".into());
    assert!(get(&get(&own, "value"), "polluted").as_bool() == Some(true));
    assert_eq!(get(&js, "big").as_f64(), Some(12345678901234567890.0));
    assert_eq!(get(&js, "a").as_f64(), Some(2.0));
    assert_eq!(text(&js, "s"), "x");
}

mod signing {
    use super::super::signer::Signer;
    use crate::flow::SignRequest;
    use crate::keys::{Algorithm, PrivateKey};
    use crate::options::schema::SignerChoice;
    use rsa::signature::Verifier;
    use std::sync::Arc;
    use wasm_bindgen_test::wasm_bindgen_test;

    const JWK: &str = include_str!("../../tests/fixtures/rsa2048.jwk.json");
    const VECTOR: &str = include_str!("../../tests/fixtures/rs256-vector.json");

    fn vector() -> (String, String) {
        let v: serde_json::Value = serde_json::from_str(VECTOR).unwrap();
        let (input, signature) = v["jws"].as_str().unwrap().rsplit_once('.').unwrap();
        (input.to_owned(), signature.to_owned())
    }

    fn request(alg: Algorithm, message: &str) -> SignRequest {
        SignRequest {
            key: Arc::new(PrivateKey::parse(JWK).unwrap()),
            alg,
            message: message.as_bytes().to_vec(),
        }
    }

    fn b64(bytes: &[u8]) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    #[wasm_bindgen_test]
    async fn both_signers_give_the_pinned_rs256_signature() {
        let (input, expected) = vector();
        let request = request(Algorithm::Rs256, &input);
        let rust = Signer::new(SignerChoice::Rust)
            .sign(&request)
            .await
            .unwrap();
        let webcrypto = Signer::new(SignerChoice::WebCrypto);
        let first = webcrypto.sign(&request).await.unwrap();
        // The second call reuses the imported CryptoKey.
        let second = webcrypto.sign(&request).await.unwrap();
        assert_eq!(b64(&rust), expected);
        assert_eq!(b64(&first), expected);
        assert_eq!(first, second);
    }

    #[wasm_bindgen_test]
    async fn ps256_from_either_signer_verifies() {
        let request = request(Algorithm::Ps256, "header.claims");
        let public = request.key_public();
        for choice in [SignerChoice::Rust, SignerChoice::WebCrypto] {
            let signature = Signer::new(choice).sign(&request).await.unwrap();
            let signature = rsa::pss::Signature::try_from(signature.as_slice()).unwrap();
            let verifier = rsa::pss::VerifyingKey::<rsa::sha2::Sha256>::new(public.clone());
            assert!(
                verifier.verify(b"header.claims", &signature).is_ok(),
                "{choice:?}"
            );
            assert!(
                verifier.verify(b"tampered", &signature).is_err(),
                "{choice:?}"
            );
        }
    }

    trait PublicOf {
        fn key_public(&self) -> rsa::RsaPublicKey;
    }

    impl PublicOf for SignRequest {
        fn key_public(&self) -> rsa::RsaPublicKey {
            self.key.rsa().to_public_key()
        }
    }
}

mod acp_in_browsers {
    use super::super::api::JsAcpLogin;
    use super::super::driver::browser_origin;
    use super::*;

    /// A fetch that records `credentials` and answers step 1 with a reply
    /// that stops the login (missing field): enough to see the transport.
    #[wasm_bindgen(inline_js = r#"
    export function credentialsFetch() {
      const fetch = async (url, init) => {
        fetch.credentials.push(init.credentials ?? "same-origin");
        return new Response("{}", { status: 200 });
      };
      fetch.credentials = [];
      return fetch;
    }
    "#)]
    extern "C" {
        #[wasm_bindgen(js_name = credentialsFetch)]
        fn credentials_fetch() -> Function;
    }

    fn options(platform_url: &str, fetch: &Function) -> JsValue {
        let json =
            format!(r#"{{"platformUrl":"{platform_url}","username":"admin","password":"pw"}}"#);
        super::options(&json, fetch)
    }

    #[wasm_bindgen_test]
    async fn a_browser_page_must_be_same_origin_or_bring_a_fetch() {
        let fetch = credentials_fetch();
        // A caller's fetch (a relay) carries the session anywhere: grantkit
        // keeps the cookie, so the browser's credentials are not asked for.
        let relayed = JsAcpLogin::new(options("https://acp.example.com", &fetch))
            .unwrap_or_else(|e| panic!("{e:?}"));
        let error = rejection(relayed.get_token(JsValue::UNDEFINED)).await;
        assert_grantkit_error(&error, "ACP_MISSING_FIELD");
        assert_eq!(get(&error, "step").as_f64(), Some(1.0));
        let no_fetch = JSON::parse(
            r#"{"platformUrl":"https://acp.example.com","username":"admin","password":"pw"}"#,
        )
        .unwrap();
        let elsewhere = JsAcpLogin::new(no_fetch);
        match browser_origin() {
            // A browser (Chromium run): without a fetch, refused before any request.
            Some(origin) => {
                let error = match elsewhere {
                    Ok(_) => {
                        panic!("a cross-origin login without a fetch was accepted in a browser")
                    }
                    Err(e) => e,
                };
                assert_grantkit_error(&error, "ACP_CROSS_ORIGIN");
                assert!(text(&error, "message").contains(&origin));
                // Same origin: the browser's cookie store carries the session.
                let login =
                    JsAcpLogin::new(options(&origin, &fetch)).unwrap_or_else(|e| panic!("{e:?}"));
                let error = rejection(login.get_token(JsValue::UNDEFINED)).await;
                assert_grantkit_error(&error, "ACP_MISSING_FIELD");
                assert_eq!(
                    JSON::stringify(&get(&fetch, "credentials")).unwrap(),
                    r#"["same-origin","include"]"#
                );
            }
            // Node (no location): grantkit keeps the cookie; credentials untouched.
            None => {
                assert!(elsewhere.is_ok());
                assert_eq!(
                    JSON::stringify(&get(&fetch, "credentials")).unwrap(),
                    r#"["same-origin"]"#
                );
            }
        }
    }
}

#[wasm_bindgen_test]
async fn hostile_option_objects_are_config_errors_not_exceptions() {
    let fetch = recording_fetch(
        200,
        r#"{"access_token":"t","token_type":"Bearer"}"#,
        JsValue::UNDEFINED,
    );
    let client = client_credentials(
        r#"{"tokenEndpoint":"https://idp.example/token","clientId":"a","clientSecret":"s"}"#,
        &fetch,
    );
    for hostile in [throwing_proxy(), revoked_proxy()] {
        // getToken(options): a rejected promise, never a throw that
        // leaves it unsettled.
        let error = JsFuture::from(client.get_token(hostile.clone()))
            .await
            .unwrap_err();
        assert_grantkit_error(&error, "INVALID_CONFIG");
        // Constructors: a thrown GrantkitError.
        let error = JsClientCredentials::new(hostile.clone()).err().unwrap();
        assert_grantkit_error(&error, "INVALID_CONFIG");
        let error = JsPasswordGrant::new(hostile).err().unwrap();
        assert_grantkit_error(&error, "INVALID_CONFIG");
    }
    assert_eq!(Array::from(&get(&fetch, "calls")).length(), 0);
}

/// The public key (SEC1, uncompressed) of each DPoP proof `fetch` was
/// called with, each proof verified on it with an independent ES256
/// implementation (p256), as a server verifies it.
fn dpop_keys(fetch: &Function, htu: &str) -> Vec<Vec<u8>> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use p256::ecdsa::signature::Verifier;
    let calls: Array = get(fetch, "calls").into();
    let mut keys = Vec::new();
    for call in calls.iter() {
        let headers: Array = get(&call, "headers").into();
        let proof = headers
            .iter()
            .map(|pair| Array::from(&pair))
            .find(|pair| pair.get(0).as_string().as_deref() == Some("dpop"))
            .and_then(|pair| pair.get(1).as_string())
            .expect("a DPoP header");
        let (input, signature) = proof.rsplit_once('.').unwrap();
        let part = |i: usize| -> serde_json::Value {
            let part = input.split('.').nth(i).unwrap();
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
        };
        let (header, claims) = (part(0), part(1));
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(claims["htu"], htu);
        let coordinate = |name: &str| {
            URL_SAFE_NO_PAD
                .decode(header["jwk"][name].as_str().unwrap())
                .unwrap()
        };
        let mut sec1 = vec![4u8];
        sec1.extend(coordinate("x"));
        sec1.extend(coordinate("y"));
        let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).unwrap();
        let signature =
            p256::ecdsa::Signature::from_slice(&URL_SAFE_NO_PAD.decode(signature).unwrap())
                .unwrap();
        key.verify(input.as_bytes(), &signature)
            .expect("WebCrypto's ES256 signature verifies");
        keys.push(sec1);
    }
    keys
}

/// The driver's DPoP key, in Node and in Chromium: a WebCrypto P-256 pair
/// whose proofs verify on the public key they carry, the same key on every
/// request of one flow object, another for another object.
#[wasm_bindgen_test]
async fn dpop_proofs_are_signed_with_one_webcrypto_key_per_flow_object() {
    let dpop = CC.replace('}', r#","dpop":true}"#);
    let answer = r#"{"access_token":"at-1","token_type":"DPoP","expires_in":300}"#;
    let fetch = recording_fetch(200, answer, JsValue::UNDEFINED);
    let client = client_credentials(&dpop, &fetch);
    for _ in 0..2 {
        let tokens = JsFuture::from(client.get_token(JsValue::UNDEFINED))
            .await
            .unwrap();
        assert_eq!(text(&tokens, "token_type"), "DPoP");
    }
    let keys = dpop_keys(&fetch, "https://idp.example/token");
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0], keys[1], "one key per flow object");

    let other_fetch = recording_fetch(200, answer, JsValue::UNDEFINED);
    let other = client_credentials(&dpop, &other_fetch);
    JsFuture::from(other.get_token(JsValue::UNDEFINED))
        .await
        .unwrap();
    let other_keys = dpop_keys(&other_fetch, "https://idp.example/token");
    assert_eq!(other_keys.len(), 1);
    assert_ne!(other_keys[0], keys[0], "another flow object, another key");
}
