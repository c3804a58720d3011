//! `TokenSource`: one cached token per configuration, one request at a time
//! however many callers wait, an optional shared store, and
//! `authorizedFetch`.

use super::api::{token_set_to_js, GrantHandle};
use super::driver::{now, sleep, until_abort, within_limit, Transport};
use super::errors::to_js_error;
use super::options::{abort_signal, get_token_signal, read_js_optional};
use super::{call_method, get, own_keys, thrown_message};
use crate::api_call::{ApiPolicy, Retried, Retry};
use crate::error::Error;
use crate::lease::{
    ExpectLease, HeldLease, LeaseAnswer, LeaseOwner, LeasePolicy, Request, StoreMethods, StoreRead,
    StoreStep,
};
use crate::options::schema::TokenSourceOptions;
use crate::options::ConfigField;
use crate::redact::Redactor;
use crate::secret::Secret;
use crate::source::{decode_stored, encode_stored, store_ttl, TokenSource};
use crate::token::TokenSet;
use crate::trace::{Exchange, Outcome};
use crate::{HttpRequest, Method};
use js_sys::{Array, Function, Object, Promise, Reflect};
use rand_core::OsRng;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::convert::TryFromJsValue;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{AbortController, AbortSignal};

/// Keeps a flow's token fresh: `getToken()` returns the cached token until
/// it is within the margin of expiry, then refreshes it (refresh grant when
/// there is a refresh token, the flow itself otherwise). Concurrent callers
/// share one request; a failed request is reported to each of them and the
/// next call tries again.
#[wasm_bindgen(js_name = TokenSource)]
pub struct JsTokenSource {
    state: Rc<SourceState>,
}

struct SourceState {
    source: RefCell<TokenSource>,
    /// The flow's grant, also inside `source`: revoke() and introspect()
    /// discover its metadata first, across an await.
    grant: Rc<dyn crate::source::Grant>,
    transport: Rc<Transport>,
    /// The cached tokens as handed to JavaScript (frozen), made once, and
    /// a promise resolved to them: every cached getToken returns that one
    /// promise (a settled promise can be awaited any number of times).
    cached_js: RefCell<Option<(JsValue, Promise)>>,
    /// `{until, promise}`, read by `getToken()` in JavaScript
    /// (pkg-template/token_source.js): while `Date.now()` is below `until`,
    /// a call without options returns `promise` without entering the
    /// module. Written after every change of the cache; `until` is the
    /// core's `fresh_until_ms`, so the answer is the one `tokens` gives.
    fresh: Object,
    /// The JavaScript object was freed: `fresh` stays empty.
    freed: Cell<bool>,
    in_flight: RefCell<Option<InFlight>>,
    /// Numbers the shared requests, so that a finished or abandoned one
    /// never clears a newer one.
    requests: Cell<u64>,
    store: Option<Store>,
    store_key: String,
    on_store_error: Option<Function>,
    api: Api,
}

/// The request every caller waits for.
struct InFlight {
    id: u64,
    promise: Promise,
    /// Callers still waiting; when every one of them has aborted, so does
    /// the request (a device flow stops polling).
    waiters: Rc<Cell<usize>>,
    controller: AbortController,
}

struct Store {
    object: JsValue,
    get: Function,
    set: Function,
    /// `lease` and `release`, when the store can coordinate instances.
    lease: Option<(Function, Function)>,
}

/// Where coordinating through the store led.
enum Coordinated {
    /// Tokens another instance stored.
    Found(TokenSet),
    /// This instance requests.
    Request(Request),
}

/// authorizedFetch: the core's decisions, and the fetch that sends.
struct Api {
    policy: ApiPolicy,
    fetch: Option<Function>,
    /// Called with the record of each API call.
    on_exchange: Option<Function>,
}

#[wasm_bindgen(js_class = TokenSource)]
impl JsTokenSource {
    /// Wraps a flow object. Throws a GrantkitError with code INVALID_CONFIG
    /// for a bad option.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(
            unchecked_param_type = "ClientCredentials | PasswordGrant | JwtBearer | DeviceAuthorization | AcpLogin | TokenExchange | AuthorizationCode"
        )]
        flow: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "TokenSourceOptions")] options: JsValue,
    ) -> Result<JsTokenSource, JsValue> {
        SourceState::new(&flow, &options)
            .map(|state| JsTokenSource {
                state: Rc::new(state),
            })
            .map_err(|e| to_js_error(&e))
    }

    /// The cached token, or a new one. Rejects with a GrantkitError.
    #[wasm_bindgen(js_name = getToken, unchecked_return_type = "Promise<TokenSet>")]
    pub fn get_token(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "GetTokenOptions")] options: JsValue,
    ) -> Promise {
        let signal = match get_token_signal(&options) {
            Ok(signal) => signal,
            Err(error) => return Promise::reject(&to_js_error(&error)),
        };
        SourceState::tokens(&self.state, signal)
    }

    /// Forgets the cached access token: the next getToken gets a new one
    /// (with the refresh token, when there is one).
    pub fn invalidate(&self) {
        let mut source = self.state.source.borrow_mut();
        source.invalidate();
        self.state.publish(&source);
    }

    /// Revokes tokens (RFC 7009): by default the cached ones, the refresh
    /// token first, then the access token. The cache is forgotten at once
    /// when it holds what is revoked (so no caller is handed a token being
    /// revoked, whatever the outcome), and the store's copy of them is not
    /// taken again: the next getToken runs the flow itself. Resolves when
    /// the server has accepted each revocation (at once when nothing is
    /// cached); rejects with a GrantkitError.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn revoke(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "RevokeTokens")] tokens: JsValue,
    ) -> Promise {
        let tokens = match super::api::revoke_tokens(&tokens) {
            Ok(tokens) => tokens,
            Err(error) => return Promise::reject(&to_js_error(&error)),
        };
        let state = self.state.clone();
        super::promise(async move {
            let transport = state.transport.clone();
            super::api::discovered(&*state.grant, &transport)
                .await
                .map_err(|e| to_js_error(&e))?;
            let flow = {
                let mut source = state.source.borrow_mut();
                let flow = source.revoke(tokens, &mut OsRng);
                state.publish(&source);
                flow
            };
            match flow.transpose() {
                Some(flow) => super::api::revoke(&transport, flow).await,
                None => Ok(JsValue::UNDEFINED),
            }
        })
    }

    /// Asks the introspection endpoint about a token (RFC 7662), as the
    /// flow's introspect() does.
    #[wasm_bindgen(unchecked_return_type = "Promise<IntrospectionResponse>")]
    pub fn introspect(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] token: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "IntrospectOptions")] options: JsValue,
    ) -> Promise {
        super::api::introspect_promise(
            self.state.grant.clone(),
            self.state.transport.clone(),
            &token,
            &options,
        )
    }

    /// The `{until, promise}` object of the JavaScript `getToken()`.
    #[wasm_bindgen(getter, js_name = __grantkitFresh, skip_typescript)]
    pub fn fresh(&self) -> Object {
        self.state.fresh.clone()
    }

    /// The key under which the tokens are kept in the store: a hash of the
    /// flow's configuration, without secrets or user names.
    #[wasm_bindgen(getter, js_name = storeKey)]
    pub fn store_key(&self) -> String {
        self.state.store_key.clone()
    }

    /// fetch with `Authorization: Bearer <token>` and the configured
    /// headers, only to an origin in allowedOrigins (else it rejects with
    /// ORIGIN_NOT_ALLOWED and sends nothing). Redirects are not followed,
    /// so the token cannot travel on to another origin: a 3xx comes back as
    /// the response. On a 401 the token is invalidated and the call is made
    /// once more with a new one.
    #[wasm_bindgen(js_name = authorizedFetch, unchecked_return_type = "Promise<Response>")]
    pub fn authorized_fetch(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string | URL | Request")] input: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestInit")] init: JsValue,
    ) -> Promise {
        let state = self.state.clone();
        super::promise(async move { state.authorized_fetch(input, init).await })
    }
}

impl SourceState {
    fn new(flow: &JsValue, options: &JsValue) -> Result<SourceState, Error> {
        let not_a_flow = || {
            Error::config(
                ConfigField::Flow,
                "must be a grantkit flow: ClientCredentials, PasswordGrant, JwtBearer, DeviceAuthorization, AcpLogin, TokenExchange, or an AuthorizationCode whose login completed",
            )
        };
        let make_handle = get(flow, "__grantkitHandle");
        if !make_handle.is_function() {
            return Err(not_a_flow());
        }
        let handle = make_handle
            .unchecked_ref::<Function>()
            .call0(flow)
            .map_err(|_| not_a_flow())?;
        let handle = GrantHandle::try_from_js_value(handle).map_err(|_| not_a_flow())?;

        let (mut options, host): (TokenSourceOptions, _) =
            read_js_optional(options, "TokenSource")?;
        let policy = options.expiry_policy();
        let store = match options.store {
            None => None,
            Some(object) => {
                let object = host.object(object);
                let method = |name: &str| {
                    let f = get(&object, name);
                    f.dyn_into::<Function>().map_err(|_| {
                        Error::config(ConfigField::Store, format!("must have a {name}() method"))
                    })
                };
                let optional = |name: &str| match get(&object, name) {
                    f if f.is_undefined() || f.is_null() => Ok(None),
                    f => f.dyn_into::<Function>().map(Some).map_err(|_| {
                        Error::config(ConfigField::Store, format!("{name} must be a function"))
                    }),
                };
                let (lease, release) = (optional("lease")?, optional("release")?);
                let methods = StoreMethods {
                    lease: lease.is_some(),
                    release: release.is_some(),
                };
                methods.coordinates()?;
                Some(Store {
                    get: method("get")?,
                    set: method("set")?,
                    lease: lease.zip(release),
                    object,
                })
            }
        };
        let api = ApiPolicy::new(
            options.api_settings(handle.grant.dpop()),
            handle.grant.kind(),
        )?;
        let grant = handle.grant.clone();
        let initial = handle.initial;
        let source = TokenSource::new(Box::new(handle.grant), policy);
        let state = SourceState {
            store_key: source.store_key(),
            source: RefCell::new(source),
            grant,
            transport: handle.transport,
            cached_js: RefCell::new(None),
            fresh: Object::new(),
            freed: Cell::new(false),
            in_flight: RefCell::new(None),
            requests: Cell::new(0),
            store,
            on_store_error: options.on_store_error.map(|f| host.function(f)),
            api: Api {
                policy: api,
                fetch: options.fetch.map(|f| host.function(f)),
                on_exchange: options.on_exchange.map(|f| host.function(f)),
            },
        };
        // A completed login hands over its tokens: the source starts with
        // them and refreshes them (it cannot sign the user in by itself).
        if let Some(tokens) = initial {
            state.remember(&tokens);
            let mut source = state.source.borrow_mut();
            source.adopt(tokens);
            state.publish(&source);
        }
        Ok(state)
    }

    /// The fresh cached tokens, or the shared request's promise.
    fn tokens(this: &Rc<Self>, signal: Option<AbortSignal>) -> Promise {
        if signal.as_ref().is_some_and(AbortSignal::aborted) {
            return Promise::reject(&to_js_error(&Error::Aborted));
        }
        if this.source.borrow().fresh(now()).is_some() {
            if let Some((_, resolved)) = &*this.cached_js.borrow() {
                return resolved.clone();
            }
        }
        let (id, promise, waiters, controller) = {
            let mut in_flight = this.in_flight.borrow_mut();
            let in_flight = match in_flight.take() {
                Some(running) => in_flight.insert(running),
                None => match Self::start(this) {
                    Ok(started) => in_flight.insert(started),
                    Err(error) => return Promise::reject(&to_js_error(&error)),
                },
            };
            (
                in_flight.id,
                in_flight.promise.clone(),
                in_flight.waiters.clone(),
                in_flight.controller.clone(),
            )
        };
        waiters.set(waiters.get() + 1);
        let Some(signal) = signal else {
            return promise;
        };
        let state = this.clone();
        super::promise(async move {
            match until_abort(promise, Some(&signal)).await {
                Ok(outcome) => outcome,
                Err(error) => {
                    waiters.set(waiters.get().saturating_sub(1));
                    if waiters.get() == 0 {
                        // Nobody waits any more: stop the request, and let
                        // the next caller start a new one at once rather
                        // than join the one being torn down.
                        state.forget_request(id);
                        controller.abort();
                    }
                    Err(to_js_error(&error))
                }
            }
        })
    }

    fn start(this: &Rc<Self>) -> Result<InFlight, Error> {
        let controller = AbortController::new().map_err(super::driver::network)?;
        let id = this.requests.get() + 1;
        this.requests.set(id);
        let state = this.clone();
        let signal = controller.signal();
        let promise = super::promise(async move {
            let result = state.acquire(&signal).await;
            state.forget_request(id);
            result.map_err(|e| to_js_error(&e))
        });
        // Every caller may have stopped waiting (each with its own signal)
        // before the request settles: its rejection is then nobody's, and
        // must not surface as an unhandled rejection. allSettled observes it.
        let _ = Promise::all_settled(&Array::of1(&promise));
        Ok(InFlight {
            id,
            promise,
            waiters: Rc::new(Cell::new(0)),
            controller,
        })
    }

    /// Unregisters shared request `id`, if it is still the current one.
    fn forget_request(&self, id: u64) {
        let mut in_flight = self.in_flight.borrow_mut();
        if in_flight.as_ref().is_some_and(|f| f.id == id) {
            in_flight.take();
        }
    }

    /// The store's tokens if they are fresh, else a token request (and
    /// the store work after it that the core asks for).
    async fn acquire(self: &Rc<Self>, signal: &AbortSignal) -> Result<JsValue, Error> {
        // A DPoP source's stored tokens are its key's: the key pair is made
        // before the store is read.
        if let Some(keys) = &self.transport.dpop {
            keys.key().await?;
        }
        let request = match &self.store {
            None => None,
            Some(store) => match self.coordinate(store, signal).await? {
                Coordinated::Found(tokens) => {
                    let mut source = self.source.borrow_mut();
                    let js = self.remember(source.adopt(tokens));
                    self.publish(&source);
                    return Ok(js);
                }
                Coordinated::Request(request) => Some(request),
            },
        };
        let mut flow = self.source.borrow().acquire(Box::new(OsRng));
        let outcome = self.transport.run(&mut flow, Some(signal)).await;
        let after = request.map(|request| request.after(outcome.is_ok()));
        let (result, write) = match outcome {
            Ok(acquired) => {
                let mut source = self.source.borrow_mut();
                let tokens = source.accept(acquired);
                let write = (
                    encode_stored(tokens, &self.store_key, self.jkt().as_deref()),
                    store_ttl(tokens, now()),
                    tokens.clone(),
                );
                let js = self.remember(tokens);
                self.publish(&source);
                (Ok(js), Some(write))
            }
            Err(error) => {
                let mut source = self.source.borrow_mut();
                source.failed(&flow);
                self.publish(&source);
                (Err(error), None)
            }
        };
        let Some(after) = after else { return result };
        let state = self.clone();
        let store_work = async move {
            if let (true, Some((value, ttl, tokens))) = (after.write, write) {
                state.store_set(value, ttl, &tokens).await;
            }
            if let Some(lease) = after.release {
                state.release(lease).await;
            }
        };
        if after.before_answering {
            store_work.await;
        } else {
            spawn_local(store_work);
        }
        result
    }

    /// Performs the core's coordination steps ([`crate::lease`]) until it
    /// names tokens to use or a request to send.
    async fn coordinate(&self, store: &Store, signal: &AbortSignal) -> Result<Coordinated, Error> {
        let lease = store.lease.as_ref().map(|_| {
            (
                LeasePolicy::for_request_limit(self.transport.timeout_ms),
                LeaseOwner::random(&mut OsRng),
            )
        });
        let mut step = self.source.borrow().through_store(lease, now_ms());
        loop {
            step = match step {
                StoreStep::Read(expect) => {
                    let read = self.store_get(store).await;
                    expect.stored(read, now_ms())
                }
                StoreStep::TakeLease(expect) => {
                    let answer = self.take_lease(store, &expect).await;
                    expect.leased(answer, now_ms())
                }
                StoreStep::Pause(pause, pausing) => {
                    sleep(pause.as_millis() as f64, Some(signal)).await?;
                    pausing.resume()
                }
                StoreStep::Use(tokens, held) => {
                    if let Some(lease) = held {
                        self.release(lease).await;
                    }
                    return Ok(Coordinated::Found(tokens));
                }
                StoreStep::Request(request) => return Ok(Coordinated::Request(request)),
            };
        }
    }

    /// The thumbprint of the DPoP key, once made: what stored tokens are
    /// bound to.
    fn jkt(&self) -> Option<String> {
        let key = self.transport.dpop.as_ref()?.made()?;
        let thumbprint = key.session.borrow().key().thumbprint().to_owned();
        Some(thumbprint)
    }

    /// Writes the cache's state where `getToken()` in JavaScript reads it.
    fn publish(&self, source: &TokenSource) {
        let promise = self.cached_js.borrow();
        let (until, promise) = match &*promise {
            Some((_, promise)) if !self.freed.get() => {
                (source.fresh_until_ms() as f64, JsValue::from(promise))
            }
            _ => (0.0, JsValue::UNDEFINED),
        };
        set_fresh(&self.fresh, until, &promise);
    }

    /// Makes the JavaScript token set for the cache: frozen, since every
    /// caller gets the same object.
    fn remember(&self, tokens: &TokenSet) -> JsValue {
        let js = token_set_to_js(tokens);
        deep_freeze(&js);
        *self.cached_js.borrow_mut() = Some((js.clone(), Promise::resolve(&js)));
        js
    }

    async fn store_get(&self, store: &Store) -> StoreRead {
        let key = JsValue::from_str(&self.store_key);
        match self.call_store(store, &store.get, &[key]).await {
            Ok(value) if value.is_null() || value.is_undefined() => StoreRead::Missing,
            Ok(value) => match value
                .as_string()
                .map(|text| decode_stored(&text, &self.store_key, self.jkt().as_deref()))
            {
                Some(Some(tokens)) => StoreRead::Found(tokens),
                _ => {
                    self.report(Error::StoreFailed {
                        message: "get() returned something that is not tokens grantkit stored; it is ignored".into(),
                    });
                    StoreRead::Missing
                }
            },
            Err(error) => {
                self.report(self.store_error("get", &error, None));
                StoreRead::Failed
            }
        }
    }

    /// Calls `lease(key, ttlMs, owner)`; anything but `true` or `false`
    /// is a failure.
    async fn take_lease(&self, store: &Store, expect: &ExpectLease) -> LeaseAnswer {
        let Some((lease, _)) = &store.lease else {
            return LeaseAnswer::Failed;
        };
        let args = [
            JsValue::from_str(&expect.key(&self.store_key)),
            JsValue::from_f64(expect.ttl_ms() as f64),
            JsValue::from_str(expect.owner()),
        ];
        let answer = self.call_store(store, lease, &args).await;
        match answer.map(|value| value.as_bool()) {
            Ok(Some(true)) => LeaseAnswer::Taken,
            Ok(Some(false)) => LeaseAnswer::Refused,
            Ok(None) => {
                self.report(Error::StoreFailed {
                    message: "lease() answered something that is not true or false; the token is requested without the lease".into(),
                });
                LeaseAnswer::Failed
            }
            Err(error) => {
                self.report(self.store_error("lease", &error, None));
                LeaseAnswer::Failed
            }
        }
    }

    /// Calls `release(key, owner)`; a failure is reported, and the lease
    /// then runs out by itself.
    async fn release(&self, lease: HeldLease) {
        let Some((store, (_, release))) = self
            .store
            .as_ref()
            .and_then(|store| Some(store).zip(store.lease.as_ref()))
        else {
            return;
        };
        let key = JsValue::from_str(&crate::lease::lease_key(&self.store_key));
        let owner = JsValue::from_str(lease.owner());
        if let Err(error) = self.call_store(store, release, &[key, owner]).await {
            self.report(self.store_error("release", &error, None));
        }
    }

    /// STORE_FAILED for what a store method threw. A store that quotes
    /// what it holds or was given would hand secrets to onStoreError: the
    /// credentials, the cached tokens and `written` are cut out.
    fn store_error(&self, method: &str, error: &JsValue, written: Option<&TokenSet>) -> Error {
        let redactor = self.source.borrow().redactor(written, Box::new(OsRng));
        store_error(method, error, &redactor)
    }

    async fn store_set(&self, value: String, ttl: Option<u64>, tokens: &TokenSet) {
        let Some(store) = &self.store else { return };
        let ttl = ttl.map_or(JsValue::UNDEFINED, |t| JsValue::from_f64(t as f64));
        let args = [
            JsValue::from_str(&self.store_key),
            JsValue::from_str(&value),
            ttl,
        ];
        if let Err(error) = self.call_store(store, &store.set, &args).await {
            self.report(self.store_error("set", &error, Some(tokens)));
        }
    }

    /// Calls a store method: what it returned, awaited when it is a
    /// promise, within the transport's time limit; `Err` with what it threw
    /// or rejected with.
    async fn call_store(
        &self,
        store: &Store,
        method: &Function,
        args: &[JsValue],
    ) -> Result<JsValue, JsValue> {
        let args: Array = args.iter().collect();
        let value = Reflect::apply(method, &store.object, &args)?;
        if !get(&value, "then").is_function() {
            return Ok(value);
        }
        let limit = self.transport.timeout_ms;
        within(Promise::resolve(&value), limit as f64)
            .await
            .unwrap_or_else(|| Err(JsValue::from_str(&format!("no answer within {limit} ms"))))
    }

    fn report(&self, error: Error) {
        if let Some(on_store_error) = &self.on_store_error {
            let _ = on_store_error.call1(&JsValue::UNDEFINED, &to_js_error(&error));
        }
    }

    /// Rejects with the token request's own GrantkitError when getting a
    /// token fails.
    async fn authorized_fetch(
        self: &Rc<Self>,
        input: JsValue,
        init: JsValue,
    ) -> Result<JsValue, JsValue> {
        let js = |error: Error| to_js_error(&error);
        let init = copy_init(&init).map_err(js)?;
        let signal = abort_signal(&get(&init, "signal"));
        // Redirects are answered, never followed: a redirect to another
        // origin would carry the Authorization header there.
        let _ = Reflect::set(&init, &"redirect".into(), &"manual".into());
        // The Request is built first and its own URL is checked: whatever
        // `input` claims (a lying `url` getter, a `toString` that differs,
        // a polluted prototype), this object and its copies are what is sent.
        let request = match new_request(&input, &init) {
            Ok(request) => request,
            // A URL with credentials makes no Request; when it names another
            // origin (`https://api.example.com@evil.example`) that is the
            // error to report. Nothing is sent either way.
            Err(error) => return Err(js(self.refused_origin(&input).unwrap_or(error))),
        };
        let url = get(&request, "url").as_string().unwrap_or_default();
        self.api.policy.check_url(&url).map_err(js)?;

        let mut token = self.access_token(signal.clone()).await?;
        let mut retried = Retried::default();
        let mut request = request;
        loop {
            // A copy for the next attempt, made before this one is sent.
            let spare = clone_request(&request).map_err(js)?;
            let proof = self.proof(&request, &url, &token).await.map_err(js)?;
            let response = self
                .send(&request, &token, proof.as_deref(), signal.as_ref())
                .await
                .map_err(js)?;
            let head = super::driver::response_head(&response).map_err(js)?;
            if let Some(key) = self.transport.dpop.as_ref().and_then(|k| k.made()) {
                key.session.borrow_mut().observe(&url, &head);
            }
            match self.api.policy.retry(&head, &mut retried) {
                Retry::No => return Ok(response),
                // The session holds the nonce now: the next proof has it.
                Retry::WithNonce => {}
                Retry::WithNewToken => {
                    {
                        let mut source = self.source.borrow_mut();
                        source.invalidate_token(&token);
                        self.publish(&source);
                    }
                    token = self.access_token(signal.clone()).await?;
                }
            }
            let body = get(&response, "body");
            if body.is_object() {
                let _ = call_method(&body, "cancel", &[]);
            }
            request = spare;
        }
    }

    /// The DPoP proof of an API call with a DPoP-bound `token`; `None` for
    /// a Bearer token.
    async fn proof(
        &self,
        request: &JsValue,
        url: &str,
        token: &str,
    ) -> Result<Option<String>, Error> {
        let Some(keys) = &self.transport.dpop else {
            return Ok(None);
        };
        let name = get(request, "method").as_string().unwrap_or_default();
        let method = Method::from_name(&name).ok_or_else(|| Error::DpopUnavailable {
            reason: format!(
                "grantkit makes DPoP proofs for GET, POST, PUT, PATCH, DELETE, HEAD and OPTIONS, not {:?}",
                name.chars().take(20).collect::<String>()
            ),
        })?;
        match self.api.policy.proof(method, url, &Secret::new(token)) {
            Some(proof) => keys.prove(&proof).await.map(Some),
            None => Ok(None),
        }
    }

    /// `ORIGIN_NOT_ALLOWED` for an input that names, as a URL string or a
    /// `URL`, an origin outside the allow-list.
    fn refused_origin(&self, input: &JsValue) -> Option<Error> {
        let text = input
            .as_string()
            .or_else(|| get(input, "href").as_string())?;
        self.api.policy.check_url(&text).err()
    }

    /// The access token, or the GrantkitError of the token request.
    async fn access_token(self: &Rc<Self>, signal: Option<AbortSignal>) -> Result<String, JsValue> {
        let tokens = JsFuture::from(Self::tokens(self, signal)).await?;
        Ok(get(&tokens, "access_token").as_string().unwrap_or_default())
    }

    fn prepare(&self, request: &JsValue, token: &str, proof: Option<&str>) -> Result<(), Error> {
        let headers: web_sys::Headers = get(request, "headers").unchecked_into();
        let proof = proof.map(|proof| ("DPoP".to_owned(), Secret::new(proof)));
        for (name, value) in self
            .api
            .policy
            .headers(&Secret::new(token))
            .into_iter()
            .chain(proof)
        {
            headers.set(&name, value.expose()).map_err(|_| {
                Error::config(
                    ConfigField::Headers,
                    format!("the runtime refused the header {name:?}"),
                )
            })?;
        }
        Ok(())
    }

    /// Sends a copy of `checked` (same URL, headers and body) with the
    /// token, within the flow's time limit; the caller's signal still
    /// aborts it.
    async fn send(
        &self,
        checked: &JsValue,
        token: &str,
        proof: Option<&str>,
        signal: Option<&AbortSignal>,
    ) -> Result<JsValue, Error> {
        let started = js_sys::Date::now();
        let result = self.send_untraced(checked, token, proof, signal).await;
        if let Some(on_exchange) = &self.api.on_exchange {
            self.trace(on_exchange, checked, token, proof, &result, started);
        }
        result
    }

    /// Reports an API call to `onExchange`: the request as sent (its
    /// headers and the policy's, the token among them) and the response's
    /// status and headers; the body is the caller's and is not read.
    fn trace(
        &self,
        on_exchange: &Function,
        checked: &JsValue,
        token: &str,
        proof: Option<&str>,
        result: &Result<JsValue, Error>,
        started: f64,
    ) {
        let token = Secret::new(token);
        let mut headers = super::driver::header_pairs(&get(checked, "headers"));
        headers.extend(
            self.api
                .policy
                .headers(&token)
                .into_iter()
                .map(|(name, value)| (name, value.expose().to_owned())),
        );
        if let Some(proof) = proof {
            headers.push(("DPoP".to_owned(), proof.to_owned()));
        }
        let method = get(checked, "method")
            .as_string()
            .and_then(|name| Method::from_name(&name))
            .unwrap_or(Method::Get);
        let request = HttpRequest {
            method,
            url: get(checked, "url").as_string().unwrap_or_default(),
            headers,
            body: None,
        };
        let head = result.as_ref().map(super::driver::response_head);
        let outcome = match &head {
            Ok(Ok(response)) => Outcome::ResponseUnread(response),
            Ok(Err(error)) => Outcome::Failed(error),
            Err(error) => Outcome::Failed(error),
        };
        let exchange = Exchange::new(
            "API call",
            &request,
            outcome,
            super::driver::elapsed_ms(started),
            &Redactor::new([&token]),
        );
        super::driver::report_exchange(on_exchange, &exchange);
    }

    async fn send_untraced(
        &self,
        checked: &JsValue,
        token: &str,
        proof: Option<&str>,
        signal: Option<&AbortSignal>,
    ) -> Result<JsValue, Error> {
        within_limit(self.transport.timeout_ms, signal, |limit| async move {
            let init = Object::new();
            let _ = Reflect::set(&init, &"signal".into(), &limit);
            let request = new_request(checked, &init)?;
            self.prepare(&request, token, proof)?;
            let promise = match &self.api.fetch {
                Some(fetch) => fetch.call1(&JsValue::UNDEFINED, &request),
                None => super::driver::global_fetch_request(&request).map(JsValue::from),
            }
            .map_err(super::driver::network)?;
            // A fetch that ignores the signal is not waited for either.
            until_abort(Promise::resolve(&promise), Some(&limit))
                .await?
                .map_err(super::driver::network)
        })
        .await
    }
}

impl Drop for JsTokenSource {
    /// A freed source hands out nothing more from JavaScript either.
    fn drop(&mut self) {
        self.state.freed.set(true);
        set_fresh(&self.state.fresh, 0.0, &JsValue::UNDEFINED);
    }
}

fn set_fresh(slot: &Object, until: f64, promise: &JsValue) {
    let _ = Reflect::set(slot, &"until".into(), &until.into());
    let _ = Reflect::set(slot, &"promise".into(), promise);
}

/// A copy of `authorizedFetch`'s `init`, read through catching getters.
fn copy_init(init: &JsValue) -> Result<Object, Error> {
    let copy = Object::new();
    if init.is_undefined() || init.is_null() {
        return Ok(copy);
    }
    let bad = || Error::config(ConfigField::Init, "must be a RequestInit object");
    if !init.is_object() {
        return Err(bad());
    }
    for key in own_keys(init).map_err(|()| bad())? {
        let _ = Reflect::set(&copy, &key.as_str().into(), &get(init, &key));
    }
    Ok(copy)
}

fn new_request(input: &JsValue, init: &Object) -> Result<JsValue, Error> {
    let constructor: Function = get(&js_sys::global(), "Request")
        .dyn_into()
        .map_err(|_| Error::config(ConfigField::Input, "this runtime has no Request"))?;
    // The runtime's message is not passed on: it may quote the URL, and a
    // query string may hold a secret.
    Reflect::construct(&constructor, &Array::of2(input, init)).map_err(|_| {
        Error::config(
            ConfigField::Input,
            "input and init do not make a Request (a relative URL outside a browser, a body on a GET, ...)",
        )
    })
}

fn clone_request(request: &JsValue) -> Result<JsValue, Error> {
    call_method(request, "clone", &[]).map_err(|_| {
        Error::config(
            ConfigField::Input,
            "the request body cannot be read twice (it was used)",
        )
    })
}

/// Now, from the JavaScript clock, in milliseconds.
fn now_ms() -> u64 {
    js_sys::Date::now().max(0.0) as u64
}

fn store_error(method: &str, error: &JsValue, redactor: &Redactor) -> Error {
    let message = thrown_message(error);
    Error::StoreFailed {
        // Secrets are cut out before the message is shortened: a secret cut
        // in two would no longer be recognised.
        message: format!(
            "{method}(): {}",
            redactor
                .scrub(&message.chars().take(10_000).collect::<String>())
                .chars()
                .take(200)
                .collect::<String>()
        ),
    }
}

/// `promise`'s outcome, or `None` when it takes longer than `ms`.
async fn within(promise: Promise, ms: f64) -> Option<Result<JsValue, JsValue>> {
    let late = JsValue::from(Object::new());
    let mut timer = JsValue::UNDEFINED;
    let deadline = Promise::new(&mut |resolve, _reject| {
        let answer_late: Function = resolve.bind1(&JsValue::NULL, &late).unchecked_into();
        timer = super::driver::set_timeout(&answer_late, ms);
    });
    let outcome = JsFuture::from(Promise::race(&Array::of2(&promise, &deadline))).await;
    super::driver::clear_timeout(&timer);
    match outcome {
        Ok(value) if Object::is(&value, &late) => None,
        other => Some(other),
    }
}

fn deep_freeze(value: &JsValue) {
    if value.is_object() {
        let object: &Object = value.unchecked_ref();
        for member in Object::values(object).iter() {
            deep_freeze(&member);
        }
        Object::freeze(object);
    }
}
