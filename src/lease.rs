//! One token request for a fleet: the single flight across instances that
//! share a store.
//!
//! A [`crate::source::TokenSource`] in each isolate or process shares one
//! request among its own callers; a store that can lease (Redis `SET key
//! owner NX PX ms`, a Durable Object that serialises the calls) stretches
//! that to every instance. On a miss, an instance tries to take the lease
//! of the store key: the one that takes it reads the store once more (the
//! tokens may have arrived meanwhile), requests, writes the tokens and then
//! frees the lease; the others re-read the store, with growing pauses,
//! until the tokens are there. When the holder dies mid-request its lease
//! runs out and the next waiter to ask takes it: one more request, not a
//! storm. Waiting is bounded: past [`LeasePolicy::max_wait_ms`] a waiter
//! requests on its own, and a store that fails (throws, rejects, times out,
//! answers a lease with something that is not a boolean) ends the
//! coordination at once, so the store never fails `getToken`.
//!
//! Everything here is a decision over data; the driver performs the steps
//! ([`StoreStep`]) and hands back what the store answered. A store without
//! a lease (Workers KV: eventually consistent, no compare-and-set) gets the
//! read-then-request half only: a shared cache, not one request.

use crate::error::Error;
use crate::options::ConfigField;
use crate::source::ExpiryPolicy;
use crate::time::UnixTime;
use crate::token::TokenSet;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rsa::rand_core::RngCore;
use std::fmt;
use std::time::Duration;

/// The name of the lease on the tokens stored under `store_key`. It is the
/// store key with a suffix, so a lease binds the same configuration and
/// credentials as the tokens it guards and never holds up another's.
pub fn lease_key(store_key: &str) -> String {
    format!("{store_key}:lease")
}

/// Which methods a store has, as the driver found them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreMethods {
    /// `lease(key, ttlMs, owner)` is a function.
    pub lease: bool,
    /// `release(key, owner)` is a function.
    pub release: bool,
}

impl StoreMethods {
    /// Whether the store coordinates instances. `lease` and `release` go
    /// together: a lease that is never freed would hold every other
    /// instance until it runs out whenever a request fails.
    pub fn coordinates(self) -> Result<bool, Error> {
        match (self.lease, self.release) {
            (true, true) => Ok(true),
            (false, false) => Ok(false),
            (true, false) => Err(Error::config(
                ConfigField::Store,
                "has lease() but no release(): give both, or neither",
            )),
            (false, true) => Err(Error::config(
                ConfigField::Store,
                "has release() but no lease(): give both, or neither",
            )),
        }
    }
}

/// How long leases last and how waiters wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeasePolicy {
    /// How long a lease lasts when its holder never frees it.
    pub lease_ms: u64,
    /// The longest a waiter waits for another instance's tokens before it
    /// requests on its own.
    pub max_wait_ms: u64,
    /// The first pause between two reads of the store; each next one is
    /// twice as long, up to [`LeasePolicy::max_pause_ms`].
    pub first_pause_ms: u64,
    /// The longest pause between two reads of the store.
    pub max_pause_ms: u64,
}

impl LeasePolicy {
    /// The policy for a holder whose token request and store write may each
    /// take `request_limit_ms` (the transport's time limit): a living holder
    /// never loses its lease to a waiter (the request, the write, and a
    /// second for the rest), a dead one holds the others up no longer than
    /// that, and a waiter gives up after two leases' time, enough for one
    /// take-over to finish.
    pub fn for_request_limit(request_limit_ms: u64) -> Self {
        let lease_ms = request_limit_ms.saturating_mul(2).saturating_add(1_000);
        LeasePolicy {
            lease_ms,
            max_wait_ms: lease_ms.saturating_mul(2),
            first_pause_ms: 25,
            max_pause_ms: 500,
        }
    }

    /// The pause before the read after `pauses` earlier ones.
    fn pause_ms(&self, pauses: u32) -> u64 {
        self.first_pause_ms
            .saturating_mul(1u64 << pauses.min(20))
            .min(self.max_pause_ms)
    }
}

/// Who holds a lease: a random value, so that an instance frees only the
/// lease it took, never one another instance took after its own ran out.
#[derive(Clone, PartialEq, Eq)]
pub struct LeaseOwner(String);

impl LeaseOwner {
    /// 128 random bits, base64url.
    pub fn random(rng: &mut dyn RngCore) -> Self {
        let mut bytes = [0u8; 16];
        rng.fill_bytes(&mut bytes);
        LeaseOwner(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The value passed to `lease()` and `release()`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for LeaseOwner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LeaseOwner({})", self.0)
    }
}

/// What a read of the store gave.
#[derive(Debug)]
pub enum StoreRead {
    /// Tokens grantkit stored under this key (fresh or not).
    Found(TokenSet),
    /// Nothing, or a value that is not tokens grantkit stored for this key.
    Missing,
    /// The store threw, rejected or did not answer in time.
    Failed,
}

/// What `lease()` answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaseAnswer {
    /// `true`: this instance holds the lease.
    Taken,
    /// `false`: another instance holds it.
    Refused,
    /// It threw, rejected, timed out or answered something that is not a
    /// boolean.
    Failed,
}

/// The next thing the driver does for one acquisition.
#[derive(Debug)]
pub enum StoreStep {
    /// Read the store (`get(key)`) and answer with [`ExpectStored::stored`].
    Read(ExpectStored),
    /// Call `lease(lease_key, ttl_ms, owner)` and answer with
    /// [`ExpectLease::leased`].
    TakeLease(ExpectLease),
    /// Pause, then [`Pausing::resume`].
    Pause(Duration, Pausing),
    /// Use these tokens from the store; free the lease first when one is
    /// held (it was taken, then the tokens turned up).
    Use(TokenSet, Option<HeldLease>),
    /// Send the token request, then do what [`Request::after`] says.
    Request(Request),
}

/// What one acquisition knows while it coordinates.
#[derive(Debug)]
struct Round {
    /// `None`: the store cannot lease.
    lease: Option<(LeasePolicy, LeaseOwner)>,
    expiry: ExpiryPolicy,
    /// An access token this instance found rejected: the store's copy of it
    /// is no better.
    rejected: Option<String>,
    /// When waiting ends, in milliseconds of the driver's clock.
    deadline_ms: u64,
    pauses: u32,
}

impl Round {
    fn usable(&self, tokens: &TokenSet, now_ms: u64) -> bool {
        let now = UnixTime::from_secs(now_ms / 1000);
        self.expiry.is_fresh(tokens, now)
            && self
                .rejected
                .as_deref()
                .is_none_or(|rejected| tokens.access_token.expose() != rejected)
    }

    fn request(self, held: bool) -> StoreStep {
        let lease = match (held, self.lease) {
            (true, Some((_, owner))) => Some(HeldLease(owner)),
            _ => None,
        };
        StoreStep::Request(Request { lease })
    }
}

/// Starts the coordination of one acquisition at `now_ms` (the driver's
/// clock in milliseconds): the first step is always a read of the store.
pub fn begin(
    lease: Option<(LeasePolicy, LeaseOwner)>,
    expiry: ExpiryPolicy,
    rejected: Option<String>,
    now_ms: u64,
) -> StoreStep {
    let wait = lease.as_ref().map_or(0, |(policy, _)| policy.max_wait_ms);
    StoreStep::Read(ExpectStored {
        round: Round {
            lease,
            expiry,
            rejected,
            deadline_ms: now_ms.saturating_add(wait),
            pauses: 0,
        },
        held: false,
    })
}

/// Waiting for what the store holds.
#[derive(Debug)]
pub struct ExpectStored {
    round: Round,
    /// The lease was taken just before this read.
    held: bool,
}

impl ExpectStored {
    /// The next step after a read that gave `read`.
    pub fn stored(self, read: StoreRead, now_ms: u64) -> StoreStep {
        let round = self.round;
        match read {
            StoreRead::Found(tokens) if round.usable(&tokens, now_ms) => {
                let held = match (self.held, round.lease) {
                    (true, Some((_, owner))) => Some(HeldLease(owner)),
                    _ => None,
                };
                StoreStep::Use(tokens, held)
            }
            // A store that cannot be read cannot coordinate either.
            StoreRead::Failed => round.request(self.held),
            StoreRead::Found(_) | StoreRead::Missing => {
                if self.held || round.lease.is_none() || now_ms >= round.deadline_ms {
                    round.request(self.held)
                } else {
                    StoreStep::TakeLease(ExpectLease { round })
                }
            }
        }
    }
}

/// Waiting for `lease()`'s answer.
#[derive(Debug)]
pub struct ExpectLease {
    round: Round,
}

impl ExpectLease {
    /// The key to lease: [`lease_key`] of the store key.
    pub fn key(&self, store_key: &str) -> String {
        lease_key(store_key)
    }

    /// How long the lease lasts, in milliseconds.
    pub fn ttl_ms(&self) -> u64 {
        self.round
            .lease
            .as_ref()
            .map_or(0, |(policy, _)| policy.lease_ms)
    }

    /// Who asks for it.
    pub fn owner(&self) -> &str {
        self.round
            .lease
            .as_ref()
            .map_or("", |(_, owner)| owner.as_str())
    }

    /// The next step after `lease()` answered `answer`.
    pub fn leased(self, answer: LeaseAnswer, now_ms: u64) -> StoreStep {
        let mut round = self.round;
        match answer {
            // The tokens may have been stored between the first read and
            // the lease: read once more before requesting.
            LeaseAnswer::Taken => StoreStep::Read(ExpectStored { round, held: true }),
            LeaseAnswer::Failed => round.request(false),
            LeaseAnswer::Refused if now_ms >= round.deadline_ms => round.request(false),
            LeaseAnswer::Refused => {
                let policy = round.lease.as_ref().map(|(policy, _)| *policy);
                let pause = policy.map_or(0, |p| p.pause_ms(round.pauses));
                // Never past the deadline: the read after it is the last.
                let pause = pause.min(round.deadline_ms.saturating_sub(now_ms));
                round.pauses = round.pauses.saturating_add(1);
                StoreStep::Pause(Duration::from_millis(pause), Pausing { round })
            }
        }
    }
}

/// Between two reads of the store.
#[derive(Debug)]
pub struct Pausing {
    round: Round,
}

impl Pausing {
    /// The pause is over: read the store again.
    pub fn resume(self) -> StoreStep {
        StoreStep::Read(ExpectStored {
            round: self.round,
            held: false,
        })
    }
}

/// A lease this instance holds; `release(lease_key, owner)` frees it.
#[derive(Debug, PartialEq, Eq)]
pub struct HeldLease(LeaseOwner);

impl HeldLease {
    /// The owner value it was taken with.
    pub fn owner(&self) -> &str {
        self.0.as_str()
    }
}

/// The token request, and the store work that follows it.
#[derive(Debug)]
pub struct Request {
    lease: Option<HeldLease>,
}

/// The store work after a token request, in order.
#[derive(Debug, PartialEq, Eq)]
pub struct AfterRequest {
    /// Write the new tokens to the store (only after a success).
    pub write: bool,
    /// Free this lease, after the write.
    pub release: Option<HeldLease>,
    /// Finish the write and the release before handing the tokens out: the
    /// other instances wait for them, and a Worker's work after its
    /// response may be cut short. Without a lease nobody waits, and the
    /// write goes on in the background.
    pub before_answering: bool,
}

impl Request {
    /// Whether this instance requests as the lease holder.
    pub fn holds_lease(&self) -> bool {
        self.lease.is_some()
    }

    /// The store work once the request `succeeded` or not: the tokens are
    /// written before the lease is freed, so a waiter that takes the freed
    /// lease finds them on its second read. A failed request frees the
    /// lease at once, so the next waiter tries without waiting it out.
    pub fn after(self, succeeded: bool) -> AfterRequest {
        AfterRequest {
            before_answering: self.lease.is_some(),
            write: succeeded,
            release: self.lease,
        }
    }
}
