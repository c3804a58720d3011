//! The driver's part of discovery: it fetches metadata documents and keeps
//! the core's cache ([`crate::discovery::MetadataCache`]), whose policy it
//! follows.
//!
//! The cache lives at module level: one per instance of the WebAssembly
//! module, which is one per process in Node, Deno and Bun, one per isolate
//! in workerd, one per page or worker in a browser. So every flow of that
//! instance shares it, whichever class or TokenSource runs it. A key is the
//! issuer (with allowInsecureHttp) AND the fetch in use: a caller's fetch
//! (a proxy, a relay, a test double) may reach another network than the
//! global one, and its answer must not serve flows that use the global
//! fetch, or the other way round. Caller fetches are compared by identity
//! (===), and the core bounds the number of keys.

use super::driver::{now, until_abort, Transport};
use crate::discovery::{
    DiscoveryRequest, Lookup, MetadataCache, ServerMetadata, DEFAULT_CACHE_CAPACITY,
};
use crate::error::Error;
use crate::flow::{Action, Flow};
use js_sys::{Function, Promise};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use wasm_bindgen::JsValue;
use web_sys::AbortSignal;

/// One issuer, through one fetch.
struct CacheKey {
    request: DiscoveryRequest,
    fetch: Option<Function>,
}

impl PartialEq for CacheKey {
    fn eq(&self, other: &Self) -> bool {
        let same_fetch = match (&self.fetch, &other.fetch) {
            (None, None) => true,
            (Some(a), Some(b)) => JsValue::from(a) == JsValue::from(b),
            _ => false,
        };
        self.request == other.request && same_fetch
    }
}

/// A discovery in flight: those who join it wait for `done`, then read
/// `outcome`.
struct Flight {
    done: Promise,
    resolve: Function,
    outcome: RefCell<Option<Result<Arc<ServerMetadata>, Error>>>,
}

impl Flight {
    fn new() -> Rc<Flight> {
        let mut resolve = None;
        let done = Promise::new(&mut |resolve_fn, _reject| resolve = Some(resolve_fn));
        Rc::new(Flight {
            done,
            resolve: resolve.unwrap_or_else(|| Function::new_no_args("")),
            outcome: RefCell::new(None),
        })
    }

    fn land(&self, outcome: Result<Arc<ServerMetadata>, Error>) {
        *self.outcome.borrow_mut() = Some(outcome);
        let _ = self.resolve.call0(&JsValue::UNDEFINED);
    }
}

thread_local! {
    static CACHE: RefCell<MetadataCache<CacheKey, Rc<Flight>>> =
        RefCell::new(MetadataCache::new(DEFAULT_CACHE_CAPACITY));
}

/// Ends a flight whose leader stopped without an outcome (its future was
/// dropped): the entry goes and those who joined look up again.
struct Leader {
    key: Option<CacheKey>,
    flight: Rc<Flight>,
}

impl Leader {
    fn finish(mut self, outcome: &Result<Arc<ServerMetadata>, Error>) {
        if let Some(key) = self.key.take() {
            CACHE.with(|cache| cache.borrow_mut().finish(&key, outcome.as_ref()));
        }
        self.flight.land(outcome.clone());
    }
}

impl Drop for Leader {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let _ = CACHE.try_with(|cache| cache.borrow_mut().finish(&key, Err(&Error::Aborted)));
            self.flight.land(Err(Error::Aborted));
        }
    }
}

impl Transport {
    /// The metadata for `request`: cached, or fetched once however many
    /// flows ask at the same time.
    pub(crate) async fn discover(
        &self,
        request: &DiscoveryRequest,
        signal: Option<&AbortSignal>,
    ) -> Result<Arc<ServerMetadata>, Error> {
        loop {
            let key = || CacheKey {
                request: request.clone(),
                fetch: self.fetch.clone(),
            };
            let ours = Flight::new();
            let lookup = CACHE.with(|cache| cache.borrow_mut().lookup(key(), || ours.clone()));
            match lookup {
                Lookup::Cached(metadata) => return Ok(metadata),
                Lookup::Join(flight) => {
                    // Our own signal ends our wait, not the flight.
                    let _ = until_abort(flight.done.clone(), signal).await?;
                    let outcome = flight.outcome.borrow().clone();
                    match outcome {
                        Some(Ok(metadata)) => return Ok(metadata),
                        Some(Err(error))
                            if !MetadataCache::<CacheKey, Rc<Flight>>::joiners_retry(&error) =>
                        {
                            return Err(error)
                        }
                        _ => continue,
                    }
                }
                Lookup::Fetch => {
                    let leader = Leader {
                        key: Some(key()),
                        flight: ours,
                    };
                    let outcome = self.fetch_metadata(request, signal).await.map(Arc::new);
                    leader.finish(&outcome);
                    return outcome;
                }
            }
        }
    }

    /// Runs the core's discovery flow: each exchange traced under its own
    /// label ("discovery (openid-configuration)", ...). Not through `run`:
    /// `run` calls `discover`, so that would need a boxed future, and
    /// `run::<Discovery>` costs 1.5 KB more of the module (measured) for
    /// arms a discovery never reaches.
    async fn fetch_metadata(
        &self,
        request: &DiscoveryRequest,
        signal: Option<&AbortSignal>,
    ) -> Result<ServerMetadata, Error> {
        let mut flow = request.start();
        loop {
            match flow.poll(now())? {
                Action::Send(http) => {
                    let response = match self.send_traced(&flow, &http, signal).await {
                        Ok(response) => response,
                        Err(error) => return Err(flow.transport_failed(error)),
                    };
                    flow.handle_response(response, now())?;
                }
                Action::Done(metadata) => return Ok(metadata),
                _ => {
                    return Err(Error::FlowMisuse {
                        reason: "discovery asked for something other than a request",
                    })
                }
            }
        }
    }
}
