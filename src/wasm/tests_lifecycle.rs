//! The device flow's waits and prompt, and TokenSource (single flight,
//! failures, authorizedFetch), in Node and in Chromium with `fetch` doubles.

use super::api::{JsClientCredentials, JsDeviceAuthorization};
use super::get;
use super::source::JsTokenSource;
use js_sys::{Array, Function, Promise, Reflect, JSON};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen(inline_js = r#"
// A fetch that answers each call with the next [status, body] of the script
// (the last one repeats) and records the calls.
export function sequenceFetch(script) {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ url, body: init.body });
    const [status, body] = script[Math.min(calls.length - 1, script.length - 1)];
    await new Promise((resolve) => setTimeout(resolve, 5));
    return new Response(body, { status, headers: { "content-type": "application/json" } });
  };
  fetch.calls = calls;
  return fetch;
}
// An API fetch (called with a Request) answering with the next status.
export function apiFetch(statuses) {
  const calls = [];
  const fetch = async (request) => {
    calls.push({
      url: request.url,
      method: request.method,
      redirect: request.redirect,
      authorization: request.headers.get("authorization"),
      subscription: request.headers.get("ocp-apim-subscription-key"),
      caller: request.headers.get("x-api-caller-id"),
      body: await request.text(),
    });
    return new Response("{}", { status: statuses[Math.min(calls.length - 1, statuses.length - 1)] });
  };
  fetch.calls = calls;
  return fetch;
}
// onPrompt that records the prompt and then aborts the controller.
export function promptThenAbort(controller) {
  const prompt = (p) => { prompt.seen.push(p); setTimeout(() => controller.abort(), 0); };
  prompt.seen = [];
  return prompt;
}
export function newController() { return new AbortController(); }
export function throwingPrompt() { return () => { throw new Error("no display attached"); }; }
export function settle(promise) { return promise.then(() => "resolved", (e) => e); }
export function same(values) { return values.every((v) => v === values[0]); }
"#)]
extern "C" {
    #[wasm_bindgen(js_name = sequenceFetch)]
    fn sequence_fetch(script: JsValue) -> Function;
    #[wasm_bindgen(js_name = apiFetch)]
    fn api_fetch(statuses: JsValue) -> Function;
    #[wasm_bindgen(js_name = promptThenAbort)]
    fn prompt_then_abort(controller: &web_sys::AbortController) -> Function;
    #[wasm_bindgen(js_name = newController)]
    fn new_controller() -> web_sys::AbortController;
    #[wasm_bindgen(js_name = throwingPrompt)]
    fn throwing_prompt() -> Function;
    fn same(values: &Array) -> bool;
    fn settle(promise: &Promise) -> Promise;
}

const DEVICE: &str = r#"{"deviceAuthorizationEndpoint":"https://idp.example/device","tokenEndpoint":"https://idp.example/token","clientId":"tv"}"#;
const DEVICE_CODE: &str = r#"{"device_code":"dc-1","user_code":"ABCD-EFGH","verification_uri":"https://idp.example/activate","expires_in":600,"interval":30}"#;
const CC: &str =
    r#"{"tokenEndpoint":"https://idp.example/token","clientId":"app","clientSecret":"s3cret"}"#;

fn calls(fetch: &Function) -> Array {
    get(fetch, "calls").into()
}

fn script(steps: &[(u16, &str)]) -> JsValue {
    steps
        .iter()
        .map(|(status, body)| Array::of2(&JsValue::from(*status), &JsValue::from_str(body)))
        .collect::<Array>()
        .into()
}

fn with(json: &str, members: &[(&str, &JsValue)]) -> JsValue {
    let options = JSON::parse(json).unwrap();
    for (name, value) in members {
        Reflect::set(&options, &(*name).into(), value).unwrap();
    }
    options
}

async fn rejection(promise: Promise) -> JsValue {
    match JsFuture::from(promise).await {
        Ok(v) => panic!("expected a rejection, got {v:?}"),
        Err(e) => e,
    }
}

fn code(error: &JsValue) -> String {
    get(error, "code").as_string().unwrap_or_default()
}

fn cc_source(token_fetch: &Function, options: &str) -> JsTokenSource {
    let client = JsClientCredentials::new(with(CC, &[("fetch", token_fetch)])).unwrap();
    JsTokenSource::new(client.into(), JSON::parse(options).unwrap()).unwrap()
}

#[wasm_bindgen_test]
async fn an_abort_during_the_devices_wait_stops_polling_at_once() {
    // interval 30 s: were the wait not cut short, a poll would follow.
    let fetch = sequence_fetch(script(&[(200, DEVICE_CODE)]));
    let controller = new_controller();
    let prompt = prompt_then_abort(&controller);
    let device =
        JsDeviceAuthorization::new(with(DEVICE, &[("fetch", &fetch), ("onPrompt", &prompt)]))
            .unwrap();
    let options = with("{}", &[("signal", &controller.signal())]);

    let error = rejection(device.get_token(options)).await;

    assert_eq!(code(&error), "ABORTED");
    assert_eq!(calls(&fetch).length(), 1, "no poll after the abort");
    let seen: Array = get(&prompt, "seen").into();
    assert_eq!(seen.length(), 1);
    let prompt = seen.get(0);
    assert_eq!(get(&prompt, "user_code"), "ABCD-EFGH");
    assert_eq!(
        get(&prompt, "verification_uri"),
        "https://idp.example/activate"
    );
    assert!(get(&prompt, "verification_uri_complete").is_undefined());
    assert_eq!(get(&prompt, "expires_in"), 600);
}

#[wasm_bindgen_test]
async fn a_prompt_that_throws_ends_the_flow_before_any_poll() {
    let fetch = sequence_fetch(script(&[(200, DEVICE_CODE)]));
    let device = JsDeviceAuthorization::new(with(
        DEVICE,
        &[("fetch", &fetch), ("onPrompt", &throwing_prompt())],
    ))
    .unwrap();
    let error = rejection(device.get_token(JsValue::UNDEFINED)).await;
    assert_eq!(code(&error), "PROMPT_FAILED");
    assert!(get(&error, "message")
        .as_string()
        .unwrap()
        .contains("no display attached"));
    assert_eq!(calls(&fetch).length(), 1);
}

#[wasm_bindgen_test]
async fn concurrent_callers_share_one_request_and_then_the_cache() {
    let fetch = sequence_fetch(script(&[(
        200,
        r#"{"access_token":"at-1","token_type":"Bearer","expires_in":300}"#,
    )]));
    let source = cc_source(&fetch, "{}");
    let promises: Array = (0..200)
        .map(|_| source.get_token(JsValue::UNDEFINED))
        .collect();
    let results: Array = JsFuture::from(Promise::all(&promises))
        .await
        .unwrap()
        .into();
    assert_eq!(calls(&fetch).length(), 1);
    assert!(same(&results), "every caller gets the same token set");
    let first = results.get(0);
    assert_eq!(get(&first, "access_token"), "at-1");
    assert!(js_sys::Object::is_frozen(
        first.unchecked_ref::<js_sys::Object>()
    ));
    let again = JsFuture::from(source.get_token(JsValue::UNDEFINED))
        .await
        .unwrap();
    assert!(js_sys::Object::is(&again, &first));
    assert_eq!(calls(&fetch).length(), 1);
}

#[wasm_bindgen_test]
async fn a_failure_reaches_every_caller_and_the_next_call_tries_again() {
    let fetch = sequence_fetch(script(&[
        (503, r#"{"error":"temporarily_unavailable"}"#),
        (
            200,
            r#"{"access_token":"at-2","token_type":"Bearer","expires_in":300}"#,
        ),
    ]));
    let source = cc_source(&fetch, "{}");
    let promises: Array = (0..50)
        .map(|_| settle(&source.get_token(JsValue::UNDEFINED)))
        .collect();
    let outcomes: Array = JsFuture::from(Promise::all(&promises))
        .await
        .unwrap()
        .into();
    assert_eq!(calls(&fetch).length(), 1);
    for outcome in outcomes.iter() {
        assert_eq!(code(&outcome), "OAUTH_ERROR");
        assert_eq!(get(&outcome, "status"), 503);
    }
    let tokens = JsFuture::from(source.get_token(JsValue::UNDEFINED))
        .await
        .unwrap();
    assert_eq!(get(&tokens, "access_token"), "at-2");
    assert_eq!(calls(&fetch).length(), 2);
}

#[wasm_bindgen_test]
async fn authorized_fetch_sends_nothing_to_an_origin_not_allowed() {
    let fetch = sequence_fetch(script(&[(
        200,
        r#"{"access_token":"at-1","token_type":"Bearer","expires_in":300}"#,
    )]));
    let api = api_fetch(Array::of1(&200.into()).into());
    let client = JsClientCredentials::new(with(CC, &[("fetch", &fetch)])).unwrap();
    let options = with(
        r#"{"allowedOrigins":["https://api.example"]}"#,
        &[("fetch", &api)],
    );
    let source = JsTokenSource::new(client.into(), options).unwrap();

    for url in [
        "https://evil.example/x",
        "https://api.example.evil.example/x",
        "http://api.example/x",
    ] {
        let error = rejection(source.authorized_fetch(url.into(), JsValue::UNDEFINED)).await;
        assert_eq!(code(&error), "ORIGIN_NOT_ALLOWED", "{url}");
    }
    assert_eq!(calls(&fetch).length(), 0, "not even a token request");
    assert_eq!(calls(&api).length(), 0);
}

#[wasm_bindgen_test]
async fn authorized_fetch_adds_the_headers_and_retries_once_after_a_401() {
    let fetch = sequence_fetch(script(&[
        (
            200,
            r#"{"access_token":"at-1","token_type":"Bearer","expires_in":300}"#,
        ),
        (
            200,
            r#"{"access_token":"at-2","token_type":"Bearer","expires_in":300}"#,
        ),
    ]));
    let api = api_fetch(Array::of2(&401.into(), &200.into()).into());
    let client = JsClientCredentials::new(with(CC, &[("fetch", &fetch)])).unwrap();
    let options = with(
        r#"{"allowedOrigins":["https://api.example"],"headers":{"Ocp-Apim-Subscription-Key":"sub-1"},"apiCallerId":"ops@example.com"}"#,
        &[("fetch", &api)],
    );
    let source = JsTokenSource::new(client.into(), options).unwrap();
    let init = JSON::parse(r#"{"method":"POST","body":"{\"n\":1}"}"#).unwrap();

    let response =
        JsFuture::from(source.authorized_fetch("https://api.example/v1/items".into(), init))
            .await
            .unwrap();

    assert_eq!(get(&response, "status"), 200);
    let api_calls = calls(&api);
    assert_eq!(api_calls.length(), 2);
    for (call, token) in api_calls.iter().zip(["Bearer at-1", "Bearer at-2"]) {
        assert_eq!(get(&call, "url"), "https://api.example/v1/items");
        assert_eq!(get(&call, "method"), "POST");
        assert_eq!(get(&call, "redirect"), "manual");
        assert_eq!(get(&call, "body"), "{\"n\":1}", "the body goes out again");
        assert_eq!(get(&call, "authorization"), token);
        assert_eq!(get(&call, "subscription"), "sub-1");
        assert_eq!(get(&call, "caller"), "ops@example.com");
    }
    assert_eq!(calls(&fetch).length(), 2);
}
