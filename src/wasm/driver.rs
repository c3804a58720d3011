//! The async driver: runs a flow's actions over `fetch`.

use super::errors::to_js_json;
use super::signer::{DpopKeys, Signer};
use super::{get, thrown_message};
use crate::error::Error;
use crate::flow::{Action, DevicePrompt, Flow};
use crate::http::{HttpRequest, HttpResponse};
use crate::options::ConfigField;
use crate::time::UnixTime;
use crate::trace::{Exchange, Outcome};
use js_sys::{Array, Function, Promise, Uint8Array};
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, AbortSignal};

/// The most of a response body the driver reads: token responses are a few
/// kilobytes; a body past this is a broken or hostile server.
pub(crate) const MAX_BODY_BYTES: usize = 1 << 20;

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// The global `fetch` called with a `Request` (authorizedFetch), bound
    /// directly: `window.fetch` does not exist in Node, Deno, Bun or workerd.
    #[wasm_bindgen(js_name = fetch, catch)]
    pub(crate) fn global_fetch_request(input: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_name = setTimeout)]
    pub(crate) fn set_timeout(handler: &Function, ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    pub(crate) fn clear_timeout(id: &JsValue);
}

// The exchange's steps, each one call across the boundary (exchange.js).
#[wasm_bindgen::prelude::wasm_bindgen(module = "/src/wasm/exchange.js")]
extern "C" {
    #[wasm_bindgen(js_name = send)]
    #[allow(clippy::too_many_arguments)]
    fn js_send(
        fetch: &JsValue,
        url: &str,
        method: &str,
        headers: &str,
        body: &JsValue,
        include_credentials: bool,
        signal: &AbortSignal,
    ) -> Promise;
    #[wasm_bindgen(js_name = head)]
    fn js_head(response: &JsValue, max_headers: u32) -> Array;
    #[wasm_bindgen(js_name = readBody)]
    fn js_read_body(response: &JsValue, max_body: u32) -> Promise;
    #[wasm_bindgen(js_name = cancelBody)]
    fn js_cancel_body(response: &JsValue);
    #[wasm_bindgen(js_name = headerText)]
    fn js_header_text(headers: &JsValue, max: u32) -> String;
}

/// How exchange.js reports each step: `[code, ...]`.
const OK: u32 = 0;
const FAILED: u32 = 1;
const HEADER_REFUSED: u32 = 2;
const TOO_LARGE: u32 = 4;

/// The code of a step's outcome and its first member.
fn outcome(result: &JsValue) -> (u32, JsValue) {
    let result: &Array = result.unchecked_ref();
    (result.get(0).as_f64().unwrap_or(-1.0) as u32, result.get(1))
}

/// How requests go out (the user's `fetch`, if given, and a time limit) and
/// how assertions are signed.
pub(crate) struct Transport {
    pub fetch: Option<Function>,
    pub timeout_ms: u64,
    pub signer: Signer,
    /// Send the browser's cookies (`credentials: "include"`): the ACP login
    /// in a browser, where scripts can neither read `Set-Cookie` nor send
    /// `Cookie`.
    pub include_credentials: bool,
    /// The device flow's `onPrompt` callback.
    pub on_prompt: Option<Function>,
    /// Called with the record of each exchange (`onExchange`).
    pub on_exchange: Option<Function>,
    /// The DPoP key pair, for a flow configured with `dpop`.
    pub dpop: Option<DpopKeys>,
}

impl Transport {
    /// Runs a flow to its end.
    pub async fn run<F: Flow>(
        &self,
        mut flow: F,
        signal: Option<&AbortSignal>,
    ) -> Result<F::Output, Error> {
        loop {
            match flow.poll(now())? {
                Action::Send(request) => {
                    let response = match self.send_traced(&flow, &request, signal).await {
                        Ok(response) => response,
                        Err(error) => return Err(flow.transport_failed(error)),
                    };
                    if let Some(key) = self.dpop.as_ref().and_then(DpopKeys::made) {
                        key.session.borrow_mut().observe(&request.url, &response);
                    }
                    flow.handle_response(response, now())?;
                }
                Action::Discover(request) => {
                    let metadata = self.discover(&request, signal).await?;
                    flow.handle_metadata(metadata)?;
                }
                Action::Sign(request) => {
                    let signature = self.signer.sign(&request).await?;
                    flow.handle_signature(signature)?;
                }
                Action::Verify(request) => {
                    let valid = super::signer::verify(&request).await?;
                    flow.handle_verification(valid)?;
                }
                Action::Prove(request) => {
                    let proof = match &self.dpop {
                        Some(keys) => keys.prove(&request).await?,
                        None => {
                            return Err(Error::FlowMisuse {
                                reason: "the flow asked for a DPoP proof but has no DPoP key",
                            })
                        }
                    };
                    flow.handle_proof(proof)?;
                }
                Action::Wait(duration) => sleep(duration.as_millis() as f64, signal).await?,
                Action::Prompt(prompt) => self.prompt(&prompt, signal).await?,
                Action::Done(output) => return Ok(output),
            }
        }
    }

    /// Sends `request` of `flow` and reports the exchange to `onExchange`,
    /// named and masked as the flow says.
    pub(crate) async fn send_traced<F: Flow>(
        &self,
        flow: &F,
        request: &HttpRequest,
        signal: Option<&AbortSignal>,
    ) -> Result<HttpResponse, Error> {
        let started = js_sys::Date::now();
        let result = self.send(request, signal).await;
        if let Some(on_exchange) = &self.on_exchange {
            let outcome = match &result {
                Ok(response) => Outcome::Response(response),
                Err(error) => Outcome::Failed(error),
            };
            let exchange = Exchange::new(
                flow.exchange_label(request),
                request,
                outcome,
                elapsed_ms(started),
                &flow.redactor(),
            );
            report_exchange(on_exchange, &exchange);
        }
        result
    }

    /// Hands the prompt to `onPrompt` and waits for what it returns, if that
    /// is a promise (an abort ends the wait).
    async fn prompt(
        &self,
        prompt: &DevicePrompt,
        signal: Option<&AbortSignal>,
    ) -> Result<(), Error> {
        let Some(on_prompt) = &self.on_prompt else {
            return Err(Error::FlowMisuse {
                reason: "the flow asked for a prompt but no onPrompt is set",
            });
        };
        let failed = |error: JsValue| Error::PromptFailed {
            message: thrown_message(&error).chars().take(300).collect(),
        };
        let returned = on_prompt
            .call1(&JsValue::UNDEFINED, &to_js_json(prompt))
            .map_err(failed)?;
        if get(&returned, "then").is_function() {
            until_abort(Promise::resolve(&returned), signal)
                .await?
                .map_err(failed)?;
        }
        Ok(())
    }

    /// Sends one request: redirects are never followed, the body is read up
    /// to [`MAX_BODY_BYTES`], and the time limit covers the whole exchange.
    pub async fn send(
        &self,
        request: &HttpRequest,
        signal: Option<&AbortSignal>,
    ) -> Result<HttpResponse, Error> {
        within_limit(self.timeout_ms, signal, |limit| async move {
            self.exchange(request, &limit).await
        })
        .await
    }

    async fn exchange(
        &self,
        request: &HttpRequest,
        signal: &AbortSignal,
    ) -> Result<HttpResponse, Error> {
        let refused = |name: &str| {
            Error::config(
                ConfigField::Headers,
                format!("the runtime refused the header {name:?}"),
            )
        };
        // Name, value, name, ... joined by NUL, which no header holds: one
        // with a NUL is refused here, as the runtime would refuse it.
        let mut headers = String::new();
        for (name, value) in &request.headers {
            if name.contains('\0') || value.contains('\0') {
                return Err(refused(name));
            }
            if !headers.is_empty() {
                headers.push('\0');
            }
            headers.push_str(name);
            headers.push('\0');
            headers.push_str(value);
        }
        let body = match request.body.as_deref().map(std::str::from_utf8) {
            None => JsValue::UNDEFINED,
            Some(Ok(text)) => JsValue::from_str(text),
            Some(Err(_)) => Uint8Array::from(request.body.as_deref().unwrap_or_default()).into(),
        };
        let fetch = self
            .fetch
            .as_ref()
            .map_or(JsValue::UNDEFINED, JsValue::from);
        let sent = js_send(
            &fetch,
            &request.url,
            request.method.as_str(),
            &headers,
            &body,
            self.include_credentials,
            signal,
        );
        let sent = JsFuture::from(sent).await.map_err(network)?;
        let response = match outcome(&sent) {
            (OK, response) => response,
            (HEADER_REFUSED, index) => {
                let name = index
                    .as_f64()
                    .and_then(|i| request.headers.get(i as usize))
                    .map_or("", |(name, _)| name.as_str());
                return Err(refused(name));
            }
            (_, error) => return Err(network(error)),
        };
        read_response(response).await
    }
}

/// The longest delay `setTimeout` takes (2^31 - 1 ms); a longer one fires
/// after 1 ms in every runtime, which would make a wait a busy loop.
const MAX_TIMER_MS: f64 = 2_147_483_647.0;

/// Runs `exchange` with a signal that aborts it after `timeout_ms` or when
/// the caller's `signal` fires, and names such an end `TIMEOUT` or
/// `ABORTED` whatever error the aborted exchange reported.
pub(crate) async fn within_limit<T, F, Fut>(
    timeout_ms: u64,
    signal: Option<&AbortSignal>,
    exchange: F,
) -> Result<T, Error>
where
    F: FnOnce(AbortSignal) -> Fut,
    Fut: std::future::Future<Output = Result<T, Error>>,
{
    if signal.is_some_and(AbortSignal::aborted) {
        return Err(Error::Aborted);
    }
    let guard = AbortGuard::new(timeout_ms, signal)?;
    match exchange(guard.controller.signal()).await {
        Ok(value) => Ok(value),
        Err(_) if guard.timed_out.get() => Err(Error::Timeout {
            after_ms: timeout_ms,
        }),
        Err(_) if signal.is_some_and(AbortSignal::aborted) => Err(Error::Aborted),
        Err(error) => Err(error),
    }
}

/// Waits `ms` milliseconds, or less if `signal` fires (then `Aborted`). A
/// wait longer than a timer can take is made of several timers.
pub(crate) async fn sleep(ms: f64, signal: Option<&AbortSignal>) -> Result<(), Error> {
    let mut left = ms.max(0.0);
    loop {
        let step = left.min(MAX_TIMER_MS);
        let mut timer = JsValue::UNDEFINED;
        let elapsed = Promise::new(&mut |resolve, _reject| {
            timer = set_timeout(&resolve, step);
        });
        let outcome = until_abort(elapsed, signal).await;
        // An aborted wait must not keep the timer (and a Node process) alive.
        clear_timeout(&timer);
        let _elapsed = outcome?;
        left -= step;
        if left <= 0.0 {
            return Ok(());
        }
    }
}

/// Waits for `promise`, or until `signal` fires (then `Err(Aborted)`); the
/// inner result is the promise's outcome.
pub(crate) async fn until_abort(
    promise: Promise,
    signal: Option<&AbortSignal>,
) -> Result<Result<JsValue, JsValue>, Error> {
    let Some(signal) = signal else {
        return Ok(JsFuture::from(promise).await);
    };
    if signal.aborted() {
        return Err(Error::Aborted);
    }
    let mut on_abort = None;
    let aborted = Promise::new(&mut |resolve, _reject| {
        let _ = signal.add_event_listener_with_callback("abort", &resolve);
        on_abort = Some(resolve);
    });
    let race = Promise::race(&js_sys::Array::of2(&promise, &aborted));
    let outcome = JsFuture::from(race).await;
    if let Some(on_abort) = on_abort {
        let _ = signal.remove_event_listener_with_callback("abort", &on_abort);
    }
    if signal.aborted() {
        return Err(Error::Aborted);
    }
    Ok(outcome)
}

/// A listener registered on the caller's signal, removed on drop.
type AbortListener<'a> = (&'a AbortSignal, Closure<dyn FnMut()>);

/// Aborts the request on timeout or when the caller's signal fires; undoes
/// both when dropped.
struct AbortGuard<'a> {
    controller: AbortController,
    timed_out: Rc<Cell<bool>>,
    timer: JsValue,
    _on_timeout: Closure<dyn FnMut()>,
    caller: Option<AbortListener<'a>>,
}

impl<'a> AbortGuard<'a> {
    fn new(timeout_ms: u64, signal: Option<&'a AbortSignal>) -> Result<Self, Error> {
        let controller = AbortController::new().map_err(network)?;
        let timed_out = Rc::new(Cell::new(false));
        let on_timeout = {
            let (controller, timed_out) = (controller.clone(), timed_out.clone());
            Closure::<dyn FnMut()>::new(move || {
                timed_out.set(true);
                controller.abort();
            })
        };
        let timer = set_timeout(on_timeout.as_ref().unchecked_ref(), timeout_ms as f64);
        let caller = match signal {
            Some(signal) => {
                let controller = controller.clone();
                let on_abort = Closure::<dyn FnMut()>::new(move || controller.abort());
                signal
                    .add_event_listener_with_callback("abort", on_abort.as_ref().unchecked_ref())
                    .map_err(network)?;
                Some((signal, on_abort))
            }
            None => None,
        };
        Ok(AbortGuard {
            controller,
            timed_out,
            timer,
            _on_timeout: on_timeout,
            caller,
        })
    }
}

impl Drop for AbortGuard<'_> {
    fn drop(&mut self) {
        clear_timeout(&self.timer);
        if let Some((signal, on_abort)) = &self.caller {
            let _ = signal
                .remove_event_listener_with_callback("abort", on_abort.as_ref().unchecked_ref());
        }
    }
}

/// The most response headers read; a real response has a few dozen.
const MAX_HEADERS: u32 = 1000;

async fn read_response(response: JsValue) -> Result<HttpResponse, Error> {
    let mut http = response_head(&response)?;
    if http.is_redirect() {
        // Nothing in a redirect's body is read; the flow reports it.
        js_cancel_body(&response);
        return Ok(http);
    }
    let declared = http
        .header("content-length")
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_BODY_BYTES as u64) {
        js_cancel_body(&response);
        return Err(Error::ResponseTooLarge {
            limit: MAX_BODY_BYTES,
        });
    }
    http.body = read_body(&response).await?;
    Ok(http)
}

/// A response's status and headers; the body is left unread.
pub(crate) fn response_head(response: &JsValue) -> Result<HttpResponse, Error> {
    let head = js_head(response, MAX_HEADERS);
    let Some(status) = head.get(0).as_f64() else {
        return Err(Error::Network {
            message: "fetch resolved to something that is not a Response".into(),
        });
    };
    // A browser hides a redirect behind an opaque response with status 0.
    let status = if head.get(1).as_string().as_deref() == Some("opaqueredirect") {
        0
    } else {
        status.clamp(0.0, 999.0) as u16
    };
    let set_cookies = head.get(3).as_string().unwrap_or_default();
    Ok(HttpResponse {
        status,
        headers: pairs(&head.get(2).as_string().unwrap_or_default()),
        // `Set-Cookie` values, where the runtime exposes them
        // (`getSetCookie`: Workers, Node, Deno, Bun; browsers hide them).
        set_cookies: split_nul(&set_cookies).map(str::to_owned).collect(),
        body: Vec::new(),
    })
}

/// The pairs of a `Headers` object (at most [`MAX_HEADERS`]), except
/// `Set-Cookie`.
pub(crate) fn header_pairs(js_headers: &JsValue) -> Vec<(String, String)> {
    pairs(&js_header_text(js_headers, MAX_HEADERS))
}

/// Name, value, name, ... joined by NUL (as exchange.js gives them) as
/// pairs, without `Set-Cookie` (read on its own).
fn pairs(text: &str) -> Vec<(String, String)> {
    let mut parts = split_nul(text);
    let mut pairs = Vec::new();
    while let (Some(name), Some(value)) = (parts.next(), parts.next()) {
        if !name.eq_ignore_ascii_case("set-cookie") {
            pairs.push((name.to_owned(), value.to_owned()));
        }
    }
    pairs
}

/// The parts of a NUL-joined list; none for "".
fn split_nul(text: &str) -> impl Iterator<Item = &str> {
    text.split('\0').filter(move |_| !text.is_empty())
}

/// Reads the body through its stream, stopping at [`MAX_BODY_BYTES`].
async fn read_body(response: &JsValue) -> Result<Vec<u8>, Error> {
    let read = JsFuture::from(js_read_body(response, MAX_BODY_BYTES as u32))
        .await
        .map_err(network)?;
    match outcome(&read) {
        (OK, bytes) => Ok(bytes
            .dyn_into::<Uint8Array>()
            .map_or_else(|_| Vec::new(), |b| b.to_vec())),
        (FAILED, error) => Err(network(error)),
        (TOO_LARGE, _) => Err(Error::ResponseTooLarge {
            limit: MAX_BODY_BYTES,
        }),
        // BODY_UNREADABLE: no stream reader, or a chunk that is not bytes.
        _ => Err(Error::Network {
            message: "the response body cannot be read".into(),
        }),
    }
}

/// A rejected fetch: the message of the runtime's error and of its cause
/// (Node puts `ECONNREFUSED` there), bounded.
pub(crate) fn network(error: JsValue) -> Error {
    let mut message = get(&error, "message")
        .as_string()
        .unwrap_or_else(|| "fetch failed".into());
    let cause = get(&error, "cause");
    if let Some(code) = get(&cause, "code").as_string() {
        message = format!("{message} ({code})");
    } else if let Some(cause) = get(&cause, "message").as_string() {
        message = format!("{message} ({cause})");
    }
    Error::Network {
        message: message.chars().take(300).collect(),
    }
}

/// The origin of the page or worker, in a browser (`location.origin`);
/// `None` in Node, Deno, Bun and workerd, which expose `Set-Cookie`.
pub(crate) fn browser_origin() -> Option<String> {
    let location = get(&js_sys::global(), "location");
    get(&location, "origin")
        .as_string()
        .filter(|origin| origin != "null")
}

/// Now, from the JavaScript clock, in whole seconds.
pub(crate) fn now() -> UnixTime {
    UnixTime::from_secs((js_sys::Date::now() / 1000.0) as u64)
}

/// Whole milliseconds since `started` (a `Date.now()` reading).
pub(crate) fn elapsed_ms(started: f64) -> u64 {
    (js_sys::Date::now() - started).max(0.0) as u64
}

/// Calls `onExchange` with an exchange's record; what it throws is ignored:
/// a trace never changes the flow.
pub(crate) fn report_exchange(on_exchange: &Function, exchange: &Exchange) {
    let _ = on_exchange.call1(&JsValue::UNDEFINED, &to_js_json(exchange));
}
