//! The single flight across instances (src/lease.rs), step by step and as
//! a fleet: many instances in memory over one simulated store with Redis'
//! `SET NX PX` semantics, on a simulated clock, with a holder that dies, a
//! store that lies and a store that fails.

mod common;

use common::{json, TestRng, NOW};
use grantkit::flow::{ClientCredentials, ClientCredentialsSettings};
use grantkit::lease::{
    self, AfterRequest, ExpectLease, ExpectStored, HeldLease, LeaseAnswer, LeaseOwner, LeasePolicy,
    StoreMethods, StoreRead, StoreStep,
};
use grantkit::redact::Redactor;
use grantkit::source::{ExpiryPolicy, TokenSource};
use grantkit::token::parse_token_response;
use grantkit::{Secret, TokenSet, UnixTime};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen_test::wasm_bindgen_test;

const ENDPOINT: &str = "https://sso.example.com/realms/ops/protocol/openid-connect/token";
const T0: u64 = NOW.as_secs() * 1000;

fn tokens(access_token: &str, expires_in: u64, at: UnixTime) -> TokenSet {
    let body = format!(
        r#"{{"access_token":"{access_token}","token_type":"Bearer","expires_in":{expires_in}}}"#
    );
    parse_token_response(&json(200, &body), at, &Redactor::default(), false).unwrap()
}

fn policy() -> LeasePolicy {
    LeasePolicy::for_request_limit(1_500)
}

fn owner(n: u8) -> LeaseOwner {
    let mut rng = TestRng::default();
    for _ in 0..n {
        LeaseOwner::random(&mut rng);
    }
    LeaseOwner::random(&mut rng)
}

/// A cold instance over a store with a lease, at its first read.
fn first_read() -> ExpectStored {
    match lease::begin(
        Some((policy(), owner(0))),
        ExpiryPolicy::default(),
        None,
        T0,
    ) {
        StoreStep::Read(read) => read,
        other => panic!("the first step reads the store: {other:?}"),
    }
}

/// The same instance after a miss, asking for the lease.
fn taking_lease() -> ExpectLease {
    match first_read().stored(StoreRead::Missing, T0) {
        StoreStep::TakeLease(take) => take,
        other => panic!("a miss takes the lease: {other:?}"),
    }
}

/// The same instance holding the lease, at its second read.
fn holder_reading_again() -> ExpectStored {
    match taking_lease().leased(LeaseAnswer::Taken, T0) {
        StoreStep::Read(again) => again,
        other => panic!("the holder reads once more: {other:?}"),
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn the_lease_lasts_a_request_and_a_write_and_waiters_wait_two_leases() {
    let policy = LeasePolicy::for_request_limit(30_000);
    assert_eq!(policy.lease_ms, 61_000);
    assert_eq!(policy.max_wait_ms, 122_000);
    assert_eq!((policy.first_pause_ms, policy.max_pause_ms), (25, 500));
    assert_eq!(
        LeasePolicy::for_request_limit(u64::MAX).lease_ms,
        u64::MAX,
        "saturates"
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn lease_keys_are_the_store_key_with_a_suffix_and_bind_the_credentials() {
    let key = |client_id: &str, secret: &str| {
        let settings = ClientCredentialsSettings::new(ENDPOINT, client_id, Secret::new(secret));
        let source = TokenSource::new(
            Box::new(Rc::new(ClientCredentials::new(settings).unwrap())),
            ExpiryPolicy::default(),
        );
        lease::lease_key(&source.store_key())
    };
    let app = key("app", "secret-1");
    assert!(app.starts_with("grantkit:v2:") && app.ends_with(":lease"));
    assert_eq!(app.len(), "grantkit:v2:".len() + 43 + ":lease".len());
    assert_ne!(app, key("app", "secret-2"));
    assert_ne!(app, key("other", "secret-1"));
    assert!(!app.contains("secret-1") && !app.contains("app:"));
}

#[wasm_bindgen_test(unsupported = test)]
fn lease_and_release_go_together() {
    let methods = |lease, release| StoreMethods { lease, release }.coordinates();
    assert!(methods(true, true).unwrap());
    assert!(!methods(false, false).unwrap());
    for (lease, release, message) in [
        (
            true,
            false,
            "store: has lease() but no release(): give both, or neither",
        ),
        (
            false,
            true,
            "store: has release() but no lease(): give both, or neither",
        ),
    ] {
        let error = methods(lease, release).unwrap_err();
        assert_eq!(error.code(), "INVALID_CONFIG");
        assert!(error.to_string().contains(message), "{error}");
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn owners_are_128_random_bits() {
    let mut rng = TestRng::default();
    assert_eq!(
        LeaseOwner::random(&mut rng).as_str(),
        "AAECAwQFBgcICQoLDA0ODw"
    );
    assert_eq!(
        LeaseOwner::random(&mut rng).as_str(),
        "EBESExQVFhcYGRobHB0eHw"
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn without_a_lease_a_miss_is_a_request_and_the_write_goes_on_in_the_background() {
    let StoreStep::Read(read) = lease::begin(None, ExpiryPolicy::default(), None, T0) else {
        panic!("the first step reads the store")
    };
    let StoreStep::Request(request) = read.stored(StoreRead::Missing, T0) else {
        panic!("a miss without a lease requests")
    };
    assert!(!request.holds_lease());
    assert_eq!(
        request.after(true),
        AfterRequest {
            write: true,
            release: None,
            before_answering: false
        }
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn fresh_stored_tokens_are_used_without_a_lease() {
    let stored = tokens("at-stored", 300, NOW);
    match first_read().stored(StoreRead::Found(stored), T0) {
        StoreStep::Use(tokens, None) => assert_eq!(tokens.access_token.expose(), "at-stored"),
        other => panic!("{other:?}"),
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn the_holder_reads_again_requests_then_writes_before_it_releases() {
    let take = taking_lease();
    assert_eq!(take.key("grantkit:v2:K"), "grantkit:v2:K:lease");
    assert_eq!(take.ttl_ms(), 4_000);
    assert_eq!(take.owner(), "AAECAwQFBgcICQoLDA0ODw");
    let StoreStep::Read(again) = take.leased(LeaseAnswer::Taken, T0 + 2) else {
        panic!("the holder reads once more")
    };
    let StoreStep::Request(request) = again.stored(StoreRead::Missing, T0 + 3) else {
        panic!("then requests")
    };
    assert!(request.holds_lease());
    let after = request.after(true);
    assert!(after.write && after.before_answering);
    assert_eq!(
        after.release.as_ref().map(HeldLease::owner),
        Some("AAECAwQFBgcICQoLDA0ODw")
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn a_holder_that_finds_the_tokens_on_its_second_read_releases_and_uses_them() {
    match holder_reading_again().stored(StoreRead::Found(tokens("at-other", 300, NOW)), T0) {
        StoreStep::Use(tokens, Some(held)) => {
            assert_eq!(tokens.access_token.expose(), "at-other");
            assert_eq!(held.owner(), "AAECAwQFBgcICQoLDA0ODw");
        }
        other => panic!("{other:?}"),
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn a_failed_request_frees_the_lease_at_once_and_writes_nothing() {
    let StoreStep::Request(request) = holder_reading_again().stored(StoreRead::Missing, T0) else {
        panic!("the holder requests")
    };
    let after = request.after(false);
    assert!(!after.write && after.before_answering && after.release.is_some());
}

/// Follows refusals from `start`, answering every read with a miss, and
/// returns the pauses until the step that is not a pause.
fn pauses_until_request(start: StoreStep, clock: &mut u64) -> (Vec<u64>, StoreStep) {
    let mut pauses = Vec::new();
    let mut step = start;
    loop {
        step = match step {
            StoreStep::Read(read) => read.stored(StoreRead::Missing, *clock),
            StoreStep::TakeLease(take) => take.leased(LeaseAnswer::Refused, *clock),
            StoreStep::Pause(pause, pausing) => {
                pauses.push(pause.as_millis() as u64);
                *clock += pause.as_millis() as u64;
                pausing.resume()
            }
            other => return (pauses, other),
        };
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn waiters_reread_with_doubling_pauses_up_to_half_a_second_and_request_at_the_deadline() {
    let mut clock = T0;
    let (pauses, last) = pauses_until_request(StoreStep::Read(first_read()), &mut clock);
    // 25 + 50 + ... + 400 = 775 ms, then 500 ms pauses up to 8,000 ms (two
    // leases of 4,000 ms), the last one cut to end exactly there.
    let mut expected = vec![25, 50, 100, 200, 400];
    expected.extend(std::iter::repeat_n(500, 14));
    expected.push(225);
    assert_eq!(pauses, expected);
    assert_eq!(clock, T0 + 8_000);
    match last {
        StoreStep::Request(request) => assert!(!request.holds_lease()),
        other => panic!("{other:?}"),
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn a_store_that_fails_ends_the_coordination_with_a_request() {
    // A failed read.
    assert!(matches!(
        first_read().stored(StoreRead::Failed, T0),
        StoreStep::Request(r) if !r.holds_lease()
    ));
    // A failed lease (threw, rejected, timed out, not a boolean).
    assert!(matches!(
        taking_lease().leased(LeaseAnswer::Failed, T0),
        StoreStep::Request(r) if !r.holds_lease()
    ));
    // A failed second read by the holder: it still requests as the holder,
    // and frees the lease afterwards.
    assert!(matches!(
        holder_reading_again().stored(StoreRead::Failed, T0),
        StoreStep::Request(r) if r.holds_lease()
    ));
}

#[wasm_bindgen_test(unsupported = test)]
fn stale_or_rejected_stored_tokens_are_a_miss() {
    // Within the margin of expiry (30 s of 300).
    let old = tokens("at-old", 300, UnixTime::from_secs(NOW.as_secs() - 280));
    assert!(matches!(
        first_read().stored(StoreRead::Found(old), T0),
        StoreStep::TakeLease(_)
    ));
    // The access token this source saw rejected (a 401): the store's copy
    // is no better.
    let settings = ClientCredentialsSettings::new(ENDPOINT, "app", Secret::new("s"));
    let mut source = TokenSource::new(
        Box::new(Rc::new(ClientCredentials::new(settings).unwrap())),
        ExpiryPolicy::default(),
    );
    source.adopt(tokens("at-rejected", 300, NOW));
    assert!(source.invalidate_token("at-rejected"));
    let StoreStep::Read(read) = source.through_store(None, T0) else {
        panic!()
    };
    assert!(matches!(
        read.stored(StoreRead::Found(tokens("at-rejected", 300, NOW)), T0),
        StoreStep::Request(_)
    ));
    let StoreStep::Read(read) = source.through_store(None, T0) else {
        panic!()
    };
    assert!(matches!(
        read.stored(StoreRead::Found(tokens("at-newer", 300, NOW)), T0),
        StoreStep::Use(..)
    ));
}

#[wasm_bindgen_test(unsupported = test)]
fn what_a_store_reports_is_scrubbed_of_credentials_and_tokens() {
    let settings =
        ClientCredentialsSettings::new(ENDPOINT, "app", Secret::new("the client/secret"));
    let mut source = TokenSource::new(
        Box::new(Rc::new(ClientCredentials::new(settings).unwrap())),
        ExpiryPolicy::default(),
    );
    source.adopt(tokens("at-cached", 300, NOW));
    let written = tokens("at-written", 300, NOW);
    let redactor = source.redactor(Some(&written), Box::new(TestRng::default()));
    for quoted in [
        "set failed: the client/secret",
        "set failed: the+client%2Fsecret",
        "value at-cached",
        "value at-written",
    ] {
        assert_eq!(
            redactor.scrub(quoted),
            grantkit::redact::WITHHELD,
            "{quoted}"
        );
    }
    assert_eq!(redactor.scrub("connection refused"), "connection refused");
}

// ---------------------------------------------------------------------------
// A fleet in memory.

/// How the simulated store answers `lease()`.
#[derive(Clone, Copy, PartialEq)]
enum LeaseBehaviour {
    /// `SET key owner NX PX ttl`, and compare-and-delete on release.
    Honest,
    /// Always false.
    Refuses,
    /// Always true.
    Grants,
    /// Always throws.
    Fails,
    /// The store has no lease (Workers KV).
    None,
}

struct SimStore {
    behaviour: LeaseBehaviour,
    tokens: Option<TokenSet>,
    /// owner, until (ms).
    lease: Option<(String, u64)>,
}

impl SimStore {
    fn read(&self) -> StoreRead {
        match &self.tokens {
            Some(tokens) => StoreRead::Found(tokens.clone()),
            None => StoreRead::Missing,
        }
    }

    fn lease(&mut self, owner: &str, ttl_ms: u64, now: u64) -> LeaseAnswer {
        match self.behaviour {
            LeaseBehaviour::Refuses => LeaseAnswer::Refused,
            LeaseBehaviour::Grants => LeaseAnswer::Taken,
            LeaseBehaviour::Fails | LeaseBehaviour::None => LeaseAnswer::Failed,
            LeaseBehaviour::Honest => {
                if self.lease.as_ref().is_some_and(|(_, until)| now < *until) {
                    return LeaseAnswer::Refused;
                }
                self.lease = Some((owner.to_owned(), now + ttl_ms));
                LeaseAnswer::Taken
            }
        }
    }

    fn release(&mut self, owner: &str) {
        if self.lease.as_ref().is_some_and(|(held, _)| held == owner) {
            self.lease = None;
        }
    }
}

struct Fleet {
    /// Each instance's start time (ms after T0).
    starts: Vec<u64>,
    behaviour: LeaseBehaviour,
    /// How long a token request takes.
    request_ms: u64,
    /// The first request never ends: its instance died.
    first_holder_dies: bool,
}

#[derive(Debug, Default)]
struct FleetOutcome {
    requests: usize,
    /// (instance, when it had tokens, which access token), for every
    /// instance that finished.
    finished: Vec<(usize, u64, String)>,
    /// The most store operations one instance made.
    most_store_calls: usize,
}

impl FleetOutcome {
    /// Instance `i` has `tokens` at `now`, and frees its lease if it holds one.
    fn finish(
        &mut self,
        store: &mut SimStore,
        held: Option<HeldLease>,
        i: usize,
        now: u64,
        tokens: &TokenSet,
    ) {
        if let Some(held) = held {
            store.release(held.owner());
        }
        self.finished
            .push((i, now - T0, tokens.access_token.expose().into()));
    }
}

/// Runs every instance to the end on one clock. Each store call takes 1 ms
/// and sees the store as it is when it is made.
fn run(fleet: Fleet) -> FleetOutcome {
    const STORE_MS: u64 = 1;
    enum Pending {
        Step(StoreStep),
        Answer(grantkit::lease::Request),
    }
    let mut store = SimStore {
        behaviour: fleet.behaviour,
        tokens: None,
        lease: None,
    };
    let lease_for = |i: usize| {
        (fleet.behaviour != LeaseBehaviour::None).then(|| (policy(), owner((i % 200) as u8)))
    };
    let mut pending: Vec<Option<Pending>> = Vec::new();
    let mut calls = vec![0usize; fleet.starts.len()];
    let mut queue = BinaryHeap::new();
    for (i, start) in fleet.starts.iter().enumerate() {
        let at = T0 + start;
        pending.push(Some(Pending::Step(lease::begin(
            lease_for(i),
            ExpiryPolicy::default(),
            None,
            at,
        ))));
        queue.push(Reverse((at, i)));
    }
    let mut outcome = FleetOutcome::default();
    while let Some(Reverse((now, i))) = queue.pop() {
        let Some(next) = pending[i].take() else {
            continue;
        };
        let (step, delay) = match next {
            Pending::Answer(request) => {
                // The request ends now: tokens, the write, the release.
                let issued = tokens(
                    &format!("at-{}", outcome.requests),
                    300,
                    UnixTime::from_secs(now / 1000),
                );
                let after = request.after(true);
                if after.write {
                    store.tokens = Some(issued.clone());
                }
                outcome.finish(&mut store, after.release, i, now, &issued);
                continue;
            }
            Pending::Step(StoreStep::Read(read)) => {
                calls[i] += 1;
                (read.stored(store.read(), now), STORE_MS)
            }
            Pending::Step(StoreStep::TakeLease(take)) => {
                calls[i] += 1;
                let answer = store.lease(take.owner(), take.ttl_ms(), now);
                (take.leased(answer, now), STORE_MS)
            }
            Pending::Step(StoreStep::Pause(pause, pausing)) => {
                (pausing.resume(), pause.as_millis() as u64)
            }
            Pending::Step(StoreStep::Use(tokens, held)) => {
                outcome.finish(&mut store, held, i, now, &tokens);
                continue;
            }
            Pending::Step(StoreStep::Request(request)) => {
                outcome.requests += 1;
                if fleet.first_holder_dies && outcome.requests == 1 {
                    continue; // never answers, never releases
                }
                pending[i] = Some(Pending::Answer(request));
                queue.push(Reverse((now + fleet.request_ms, i)));
                continue;
            }
        };
        pending[i] = Some(Pending::Step(step));
        queue.push(Reverse((now + delay, i)));
    }
    outcome.most_store_calls = calls.into_iter().max().unwrap_or(0);
    outcome
}

/// `n` instances that start together; requests take 80 ms.
fn cold_fleet(n: usize, behaviour: LeaseBehaviour, first_holder_dies: bool) -> FleetOutcome {
    run(Fleet {
        starts: vec![0; n],
        behaviour,
        request_ms: 80,
        first_holder_dies,
    })
}

impl FleetOutcome {
    /// When the last instance had its tokens (ms after T0).
    fn last(&self) -> u64 {
        self.finished
            .iter()
            .map(|(_, at, _)| *at)
            .max()
            .unwrap_or(0)
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn a_thousand_cold_instances_with_a_lease_make_one_request() {
    let outcome = cold_fleet(1000, LeaseBehaviour::Honest, false);
    assert_eq!(outcome.requests, 1);
    assert_eq!(outcome.finished.len(), 1000);
    assert!(outcome.finished.iter().all(|(_, _, token)| token == "at-1"));
    // The holder: read, lease, read (3 ms), then 80 ms: the tokens are
    // there at 83 ms. The waiters read at 0, 27, 79 and 181 ms (1 ms per
    // call, pauses 25, 50, 100 after a refused lease), so the last ones
    // have them at 182 ms.
    assert_eq!(outcome.last(), 182);
    // Four reads and three refused leases at most.
    assert_eq!(outcome.most_store_calls, 7);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_dead_holder_costs_one_more_request_after_its_lease_runs_out() {
    let outcome = cold_fleet(1000, LeaseBehaviour::Honest, true);
    assert_eq!(outcome.requests, 2, "one that died, one after its lease");
    assert_eq!(outcome.finished.len(), 999);
    assert!(outcome.finished.iter().all(|(_, _, token)| token == "at-2"));
    // The lease was taken at 1 ms and runs out at 4,001 ms; waiters ask
    // every 500 ms by then, so one takes it within 500 ms, requests for 80
    // ms, and the others read the tokens within one more pause.
    let last = outcome.last();
    assert!(last <= 4_001 + 500 + 2 + 80 + 500 + 2, "{last}");
    assert!(
        last < policy().max_wait_ms,
        "nobody fell back to a request of its own"
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn without_a_lease_the_store_is_a_shared_cache_not_one_request() {
    // Workers KV: every instance that reads before the first write requests.
    let starts: Vec<u64> = (0..1000).map(|i| i * 10).collect();
    let outcome = run(Fleet {
        starts,
        behaviour: LeaseBehaviour::None,
        request_ms: 80,
        first_holder_dies: false,
    });
    // Instance 0 writes at 1 + 80 = 81 ms; instances starting at 0..80 ms
    // read before that.
    assert_eq!(outcome.requests, 9);
    assert_eq!(outcome.finished.len(), 1000);
    let cold_burst = cold_fleet(1000, LeaseBehaviour::None, false);
    assert_eq!(cold_burst.requests, 1000);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_lying_or_failing_lease_never_hangs_a_waiter() {
    // Always false: each instance waits out max_wait, then requests.
    let refuses = cold_fleet(50, LeaseBehaviour::Refuses, false);
    // Every instance reads for the last time just after the deadline (8,000
    // ms, plus 1 ms for the refused lease call), requests 1 ms later for 80
    // ms: all started together, so all request.
    assert_eq!(refuses.requests, 50);
    assert_eq!(refuses.finished.len(), 50);
    assert_eq!(refuses.last(), 8_000 + 2 + 80);
    // Always true, or a lease that throws: no coordination, one request each.
    for behaviour in [LeaseBehaviour::Grants, LeaseBehaviour::Fails] {
        let outcome = cold_fleet(50, behaviour, false);
        assert_eq!(outcome.requests, 50);
        assert_eq!(outcome.finished.len(), 50);
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn pauses_never_run_past_the_deadline() {
    // Refused 10 ms before the deadline: the pause is 10 ms, not 25.
    match taking_lease().leased(LeaseAnswer::Refused, T0 + 8_000 - 10) {
        StoreStep::Pause(pause, _) => assert_eq!(pause, Duration::from_millis(10)),
        other => panic!("{other:?}"),
    }
}
