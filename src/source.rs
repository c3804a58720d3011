//! Keeping a token fresh: the cache, the expiry margin, the refresh grant
//! (RFC 6749 §6) and the fall back to the original flow.
//!
//! [`TokenSource`] decides; it never waits or sends. The driver asks it for
//! a fresh token ([`TokenSource::fresh`]); when there is none it runs the
//! flow of [`TokenSource::acquire`] (a refresh when a refresh token is at
//! hand, the original grant otherwise) and hands the outcome back with
//! [`TokenSource::accept`] or [`TokenSource::failed`]. Sharing one request
//! among concurrent callers is the driver's part.

use crate::error::Error;
use crate::flow::{Action, Flow, Revocation, TokenGrant, TokensToRevoke};
use crate::http::{HttpRequest, HttpResponse};
use crate::jwt::decode_unverified;
use crate::lease::{self, LeaseOwner, LeasePolicy, StoreStep};
use crate::redact::Redactor;
use crate::secret::Secret;
use crate::time::UnixTime;
use crate::token::{is_vschar, TokenSet};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rsa::rand_core::CryptoRngCore;
use rsa::sha2::{Digest, Sha256};
use serde_json::{Map, Value};
use std::fmt;

/// Which grant a source runs; some API headers depend on it
/// (`x-api-caller-id` goes with tokens from client credentials).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GrantKind {
    /// Client credentials (RFC 6749 §4.4).
    ClientCredentials,
    /// Resource owner password credentials (RFC 6749 §4.3).
    Password,
    /// JWT bearer assertion (RFC 7523 §2.1).
    JwtBearer,
    /// Device authorization (RFC 8628).
    Device,
    /// The ACP session login.
    Acp,
    /// Token exchange (RFC 8693, or Entra's on-behalf-of request).
    TokenExchange,
    /// A completed authorization code login (RFC 6749 §4.1), refreshed.
    AuthorizationCode,
}

impl GrantKind {
    /// The flow's name, as the CLI spells it.
    pub fn name(self) -> &'static str {
        match self {
            GrantKind::ClientCredentials => "client-credentials",
            GrantKind::Password => "password",
            GrantKind::JwtBearer => "jwt-bearer",
            GrantKind::Device => "device",
            GrantKind::Acp => "acp",
            GrantKind::TokenExchange => "token-exchange",
            GrantKind::AuthorizationCode => "login",
        }
    }
}

/// A configured grant a [`TokenSource`] can start, and refresh where the
/// provider documents how.
pub trait Grant {
    /// Which grant this is.
    fn kind(&self) -> GrantKind;

    /// A fresh run of the grant.
    fn start(&self, rng: Box<dyn CryptoRngCore>) -> Box<dyn Flow<Output = TokenSet>>;

    /// The refresh request for `refresh_token` (RFC 6749 §6), or `None`
    /// where grantkit does not know the provider's refresh endpoint (ACP).
    fn refresh(&self, refresh_token: &Secret, rng: &mut dyn CryptoRngCore) -> Option<TokenGrant>;

    /// What tells this configuration apart from others, without any secret:
    /// endpoints, client id, scope, user name. It names the tokens in a
    /// shared store.
    fn identity(&self) -> Vec<String>;

    /// Adds every credential (client secret, password, private key) to
    /// `binding`, so that configurations that differ only in a credential
    /// never share a store entry.
    fn bind_credentials(&self, binding: &mut CredentialBinding);

    /// The client that revokes and introspects this grant's tokens, as it
    /// authenticates at the token endpoint; `None` where there is no such
    /// client (the ACP session login).
    fn token_client(&self) -> Option<&crate::flow::TokenClient> {
        None
    }

    /// A flow that gets the server metadata the grant still waits for
    /// (a grant configured with an issuer, before its first run), so that
    /// [`Grant::token_client`] is known after it; `None` when nothing is
    /// to be discovered.
    fn discover_first(&self, _rng: Box<dyn CryptoRngCore>) -> Option<Box<dyn Flow<Output = ()>>> {
        None
    }

    /// Whether its token requests ask for DPoP-bound tokens (RFC 9449):
    /// the driver then keeps a key pair for it, and its tokens are used
    /// with proofs.
    fn dpop(&self) -> bool {
        false
    }
}

/// A one-way, domain-separated hash of a configuration's credentials, for
/// its store key: a wrong password must not read the tokens a right one
/// stored, and nothing secret can be read back from the key.
pub struct CredentialBinding(Sha256);

impl Default for CredentialBinding {
    fn default() -> Self {
        CredentialBinding(Sha256::new_with_prefix(b"grantkit credential binding v1\0"))
    }
}

impl CredentialBinding {
    /// Adds one credential under its name (`client_secret`, `password`,
    /// `client_key`, ...). Each part is length-prefixed, so no two lists of
    /// parts hash alike.
    pub fn add(&mut self, name: &str, value: &[u8]) {
        for part in [name.as_bytes(), value] {
            self.0.update((part.len() as u64).to_be_bytes());
            self.0.update(part);
        }
    }

    fn finish(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

impl fmt::Debug for CredentialBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CredentialBinding([redacted])")
    }
}

impl<G: Grant + ?Sized> Grant for std::rc::Rc<G> {
    fn kind(&self) -> GrantKind {
        (**self).kind()
    }
    fn start(&self, rng: Box<dyn CryptoRngCore>) -> Box<dyn Flow<Output = TokenSet>> {
        (**self).start(rng)
    }
    fn refresh(&self, refresh_token: &Secret, rng: &mut dyn CryptoRngCore) -> Option<TokenGrant> {
        (**self).refresh(refresh_token, rng)
    }
    fn identity(&self) -> Vec<String> {
        (**self).identity()
    }
    fn bind_credentials(&self, binding: &mut CredentialBinding) {
        (**self).bind_credentials(binding)
    }
    fn token_client(&self) -> Option<&crate::flow::TokenClient> {
        (**self).token_client()
    }
    fn discover_first(&self, rng: Box<dyn CryptoRngCore>) -> Option<Box<dyn Flow<Output = ()>>> {
        (**self).discover_first(rng)
    }
    fn dpop(&self) -> bool {
        (**self).dpop()
    }
}

/// The default least margin before expiry, in seconds.
pub const DEFAULT_MIN_MARGIN_SECS: u64 = 30;

/// When a cached token is replaced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExpiryPolicy {
    /// Seconds before expiry at which a token is replaced. `None`: the
    /// larger of 30 s and 10 % of the token's lifetime, but never more than
    /// half the lifetime (so a 40 s token is still reused for 20 s).
    pub margin_secs: Option<u64>,
    /// How far the server's clock may be ahead of ours: a token is treated
    /// as expiring this much earlier.
    pub clock_skew_secs: u64,
}

impl ExpiryPolicy {
    /// The margin for a token that lives `lifetime` seconds.
    pub fn margin(&self, lifetime: Option<u64>) -> u64 {
        if let Some(margin) = self.margin_secs {
            return margin;
        }
        match lifetime {
            Some(lifetime) => DEFAULT_MIN_MARGIN_SECS
                .max(lifetime.div_ceil(10))
                .min(lifetime / 2),
            None => DEFAULT_MIN_MARGIN_SECS,
        }
    }

    /// From when on `tokens` are replaced; `None` when their expiry is
    /// unknown (they are then kept until invalidated).
    pub fn replace_at(&self, tokens: &TokenSet) -> Option<UnixTime> {
        let (expires_at, lifetime) = expiry(tokens)?;
        let early = self.margin(lifetime).saturating_add(self.clock_skew_secs);
        Some(UnixTime::from_secs(
            expires_at.as_secs().saturating_sub(early),
        ))
    }

    /// Whether `tokens` may still be handed out at `now`.
    pub fn is_fresh(&self, tokens: &TokenSet, now: UnixTime) -> bool {
        self.replace_at(tokens).is_none_or(|at| now < at)
    }
}

/// When tokens expire, and their lifetime: from `expires_in` (the usual
/// case, or ACP's `expire_at`), else from the access token's own `exp` and
/// `iat` when it is a JWT (the server's clock: see `clock_skew_secs`).
fn expiry(tokens: &TokenSet) -> Option<(UnixTime, Option<u64>)> {
    if let Some(expires_at) = tokens.expires_at {
        return Some((expires_at, tokens.expires_in));
    }
    let claims = decode_unverified(tokens.access_token.expose()).ok()?.claims;
    let exp = claims.get("exp")?.as_u64()?;
    let lifetime = claims
        .get("iat")
        .and_then(Value::as_u64)
        .map(|iat| exp.saturating_sub(iat));
    Some((UnixTime::from_secs(exp), lifetime))
}

/// The tokens of one configuration and the decisions about them.
pub struct TokenSource {
    grant: Box<dyn Grant>,
    policy: ExpiryPolicy,
    current: Option<TokenSet>,
    /// When `current` is to be replaced, worked out once when it is cached:
    /// `fresh` is on every caller's path.
    replace_at: Option<UnixTime>,
    /// `invalidate()` was called: the access token is not handed out again,
    /// but its refresh token may still be used.
    stale: bool,
    /// The access token of tokens revoked and forgotten: a shared store may
    /// still hold them, and they are not taken from it.
    revoked: Option<Secret>,
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("grant", &self.grant.kind())
            .field("policy", &self.policy)
            .field("current", &self.current)
            .field("replace_at", &self.replace_at)
            .field("stale", &self.stale)
            .field("revoked", &self.revoked)
            .finish()
    }
}

impl TokenSource {
    /// A source with an empty cache.
    pub fn new(grant: Box<dyn Grant>, policy: ExpiryPolicy) -> Self {
        TokenSource {
            grant,
            policy,
            current: None,
            replace_at: None,
            stale: false,
            revoked: None,
        }
    }

    /// The grant.
    pub fn grant(&self) -> &dyn Grant {
        &*self.grant
    }

    /// The expiry policy.
    pub fn policy(&self) -> &ExpiryPolicy {
        &self.policy
    }

    /// The cached tokens, fresh or not.
    pub fn current(&self) -> Option<&TokenSet> {
        self.current.as_ref()
    }

    /// The cached tokens, if they may still be handed out at `now`.
    pub fn fresh(&self, now: UnixTime) -> Option<&TokenSet> {
        self.current
            .as_ref()
            .filter(|_| !self.stale && self.replace_at.is_none_or(|at| now < at))
    }

    /// The instant, in Unix milliseconds, before which [`TokenSource::fresh`]
    /// hands out the cached tokens at any clock reading `ms` (in whole
    /// seconds, `ms / 1000`): 0 when it hands out none, `u64::MAX` when they
    /// are kept until invalidated. A driver may answer from its own copy of
    /// the tokens while its clock reads less, without asking again.
    pub fn fresh_until_ms(&self) -> u64 {
        match (&self.current, self.stale, self.replace_at) {
            (None, _, _) | (_, true, _) => 0,
            (Some(_), false, None) => u64::MAX,
            (Some(_), false, Some(at)) => at.as_secs().saturating_mul(1000),
        }
    }

    /// The flow that gets the next tokens: the refresh grant when a refresh
    /// token is at hand and the grant knows how, else the grant itself.
    pub fn acquire(&self, mut rng: Box<dyn CryptoRngCore>) -> Acquire {
        let refresh_token = self.current.as_ref().and_then(|t| t.refresh_token.as_ref());
        let refresh = refresh_token.and_then(|rt| self.grant.refresh(rt, &mut *rng));
        let fallback = self.grant.start(rng);
        let state = match refresh {
            Some(refresh) => AcquireState::Refreshing(Box::new(refresh), fallback),
            None => AcquireState::Starting(fallback),
        };
        Acquire {
            state,
            refresh_rejected: false,
        }
    }

    /// Caches what an [`Acquire`] produced and returns it. RFC 6749 §6:
    /// "The authorization server MAY issue a new refresh token, in which
    /// case the client MUST discard the old refresh token and replace it
    /// with the new refresh token"; when it issues none, the old one stays.
    pub fn accept(&mut self, acquired: Acquired) -> &TokenSet {
        let mut tokens = acquired.tokens;
        if acquired.refreshed && tokens.refresh_token.is_none() {
            tokens.refresh_token = self.current.take().and_then(|old| old.refresh_token);
        }
        self.adopt(tokens)
    }

    /// Caches tokens found in a shared store.
    pub fn adopt(&mut self, tokens: TokenSet) -> &TokenSet {
        self.stale = false;
        self.revoked = None;
        self.replace_at = self.policy.replace_at(&tokens);
        self.current.insert(tokens)
    }

    /// Takes note of a failed [`Acquire`]: the cache is left as it was (a
    /// network error must not cost the refresh token), except that a
    /// refresh token the server refused is dropped.
    pub fn failed(&mut self, acquire: &Acquire) {
        if acquire.refresh_rejected {
            if let Some(tokens) = &mut self.current {
                tokens.refresh_token = None;
            }
        }
    }

    /// The next call gets new tokens (by refresh when it can).
    pub fn invalidate(&mut self) {
        self.stale = true;
    }

    /// Invalidates only if `access_token` is still the cached one: when
    /// many calls see a 401 for the same token, one new token serves all.
    pub fn invalidate_token(&mut self, access_token: &str) -> bool {
        let current = self
            .current
            .as_ref()
            .is_some_and(|t| t.access_token.expose() == access_token);
        if current {
            self.stale = true;
        }
        current
    }

    /// A flow that revokes `tokens` (RFC 7009; the refresh token, then the
    /// access token), or the cached tokens when `None`: then `Ok(None)` when
    /// there are none. The cache is forgotten first when it holds what is
    /// revoked, so that no caller is handed a token being revoked, whatever
    /// the outcome; the store's copy of those tokens is not taken either.
    /// The next token request runs the grant itself.
    pub fn revoke(
        &mut self,
        tokens: Option<TokensToRevoke>,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<Option<Revocation>, Error> {
        let client = self.grant.token_client().ok_or_else(|| {
            Error::config(
                crate::options::ConfigField::RevocationEndpoint,
                "the ACP session login has no revocation endpoint",
            )
        })?;
        // A configuration error comes before anything is forgotten.
        client.revocation_endpoint()?;
        let cached = self.current.as_ref().map(|current| TokensToRevoke {
            refresh_token: current.refresh_token.clone(),
            access_token: Some(current.access_token.clone()),
        });
        let forget = match (&tokens, &cached) {
            (None, _) => true,
            (Some(given), Some(cached)) => {
                cached
                    .access_token
                    .as_ref()
                    .is_some_and(|t| given.contains(t))
                    || cached
                        .refresh_token
                        .as_ref()
                        .is_some_and(|t| given.contains(t))
            }
            (Some(_), None) => false,
        };
        if forget {
            if let Some(current) = self.current.take() {
                self.revoked = Some(current.access_token);
            }
            self.replace_at = None;
            self.stale = false;
        }
        match tokens.or(cached) {
            Some(tokens) => client.revoke(&tokens, rng).map(Some),
            None => Ok(None),
        }
    }

    /// Starts getting tokens through a shared store at `now_ms` (the
    /// driver's clock, in milliseconds), coordinated with the other
    /// instances when the store can lease ([`crate::lease`]). Stored tokens
    /// are used when fresh and not the access token this source was told is
    /// rejected ([`TokenSource::invalidate_token`]): the store's copy of it
    /// is no better.
    pub fn through_store(
        &self,
        lease: Option<(LeasePolicy, LeaseOwner)>,
        now_ms: u64,
    ) -> StoreStep {
        let rejected = self
            .current
            .as_ref()
            .filter(|_| self.stale)
            .map(|tokens| &tokens.access_token)
            .or(self.revoked.as_ref())
            .map(|token| token.expose().to_owned());
        lease::begin(lease, self.policy, rejected, now_ms)
    }

    /// Every secret this source knows, to cut out of what a shared store
    /// reports when it fails (a store may quote what it was given): the
    /// credentials its grant sends, the cached tokens and `written`, the
    /// tokens being stored.
    pub fn redactor(&self, written: Option<&TokenSet>, rng: Box<dyn CryptoRngCore>) -> Redactor {
        let mut redactor = self.grant.start(rng).redactor();
        for tokens in self.current.iter().chain(written) {
            for token in std::iter::once(&tokens.access_token)
                .chain(tokens.refresh_token.as_ref())
                .chain(tokens.id_token.as_ref())
            {
                redactor.add(token);
            }
        }
        redactor
    }

    /// The name of these tokens in a shared store: a hash of the grant's
    /// identity and of a [`CredentialBinding`] of its credentials, so that
    /// configurations with different credentials never share an entry and
    /// the key reveals neither secrets nor user names.
    pub fn store_key(&self) -> String {
        let mut binding = CredentialBinding::default();
        self.grant.bind_credentials(&mut binding);
        let mut hash = Sha256::new_with_prefix(b"grantkit store key v2\0");
        let identity = self.grant.identity();
        for part in
            std::iter::once(self.grant.kind().name()).chain(identity.iter().map(String::as_str))
        {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part.as_bytes());
        }
        hash.update(binding.finish());
        format!("grantkit:v2:{}", URL_SAFE_NO_PAD.encode(hash.finalize()))
    }
}

/// Tokens a source obtained.
#[derive(Debug)]
pub struct Acquired {
    /// The tokens.
    pub tokens: TokenSet,
    /// They came from the refresh grant.
    pub refreshed: bool,
}

/// Gets the next tokens: refreshes, and on `invalid_grant` runs the original
/// grant instead (RFC 6749 §5.2: "the provided authorization grant ... or
/// refresh token is invalid, expired, revoked").
pub struct Acquire {
    state: AcquireState,
    refresh_rejected: bool,
}

enum AcquireState {
    Refreshing(Box<TokenGrant>, Box<dyn Flow<Output = TokenSet>>),
    Starting(Box<dyn Flow<Output = TokenSet>>),
    Finished,
}

impl fmt::Debug for Acquire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            AcquireState::Refreshing(..) => "Refreshing",
            AcquireState::Starting(_) => "Starting",
            AcquireState::Finished => "Finished",
        };
        f.debug_struct("Acquire")
            .field("state", &state)
            .field("refresh_rejected", &self.refresh_rejected)
            .finish()
    }
}

impl Acquire {
    /// Whether the server refused the refresh token.
    pub fn refresh_rejected(&self) -> bool {
        self.refresh_rejected
    }

    /// Whether this run starts with the refresh grant.
    pub fn refreshes(&self) -> bool {
        matches!(self.state, AcquireState::Refreshing(..))
    }

    /// The flow now running: the refresh, or the grant itself.
    fn active(&mut self) -> Option<&mut dyn Flow<Output = TokenSet>> {
        match &mut self.state {
            AcquireState::Refreshing(refresh, _) => Some(&mut **refresh),
            AcquireState::Starting(flow) => Some(&mut **flow),
            AcquireState::Finished => None,
        }
    }

    /// The flow now running, to read from.
    fn running(&self) -> Option<&dyn Flow<Output = TokenSet>> {
        match &self.state {
            AcquireState::Refreshing(refresh, _) => Some(&**refresh),
            AcquireState::Starting(flow) => Some(&**flow),
            AcquireState::Finished => None,
        }
    }
}

impl Flow for Acquire {
    type Output = Acquired;

    fn poll(&mut self, now: UnixTime) -> Result<Action<Acquired>, Error> {
        let refreshed = self.refreshes();
        let result = match self.active() {
            Some(flow) => flow.poll(now),
            None => Err(Error::FlowMisuse {
                reason: "polled after the flow finished",
            }),
        };
        match result {
            Ok(action) => {
                if matches!(action, Action::Done(_)) {
                    self.state = AcquireState::Finished;
                }
                Ok(action.map(|tokens| Acquired { tokens, refreshed }))
            }
            Err(error) => {
                self.state = AcquireState::Finished;
                Err(error)
            }
        }
    }

    fn handle_response(&mut self, response: HttpResponse, now: UnixTime) -> Result<(), Error> {
        let result = match self.active() {
            Some(flow) => flow.handle_response(response, now),
            None => Err(Error::FlowMisuse {
                reason: "a response arrived when none was awaited",
            }),
        };
        match result {
            Err(Error::OAuth(server)) if server.error == "invalid_grant" => {
                match std::mem::replace(&mut self.state, AcquireState::Finished) {
                    // The refresh token was refused: the grant itself runs.
                    AcquireState::Refreshing(_, fallback) => {
                        self.refresh_rejected = true;
                        self.state = AcquireState::Starting(fallback);
                        Ok(())
                    }
                    _ => Err(Error::OAuth(server)),
                }
            }
            Err(error) => {
                self.state = AcquireState::Finished;
                Err(error)
            }
            Ok(()) => Ok(()),
        }
    }

    fn handle_metadata(
        &mut self,
        metadata: std::sync::Arc<crate::discovery::ServerMetadata>,
    ) -> Result<(), Error> {
        let result = match self.active() {
            Some(flow) => flow.handle_metadata(metadata),
            None => Err(Error::FlowMisuse {
                reason: "metadata arrived when none was awaited",
            }),
        };
        if result.is_err() {
            self.state = AcquireState::Finished;
        }
        result
    }

    fn transport_failed(&mut self, error: Error) -> Error {
        let error = match self.active() {
            Some(flow) => flow.transport_failed(error),
            None => error,
        };
        self.state = AcquireState::Finished;
        error
    }

    // A trace names and masks the exchange as the running flow does.
    fn exchange_label(&self, request: &HttpRequest) -> String {
        match self.running() {
            Some(flow) => flow.exchange_label(request),
            None => crate::trace::default_label(request),
        }
    }

    fn redactor(&self) -> Redactor {
        self.running()
            .map(|flow| flow.redactor())
            .unwrap_or_default()
    }

    fn handle_signature(&mut self, signature: Vec<u8>) -> Result<(), Error> {
        let result = match self.active() {
            Some(flow) => flow.handle_signature(signature),
            None => Err(Error::FlowMisuse {
                reason: "a signature arrived when none was awaited",
            }),
        };
        result.inspect_err(|_| self.state = AcquireState::Finished)
    }

    fn handle_proof(&mut self, proof: String) -> Result<(), Error> {
        let result = match self.active() {
            Some(flow) => flow.handle_proof(proof),
            None => Err(Error::FlowMisuse {
                reason: "a DPoP proof arrived when none was awaited",
            }),
        };
        result.inspect_err(|_| self.state = AcquireState::Finished)
    }
}

/// The longest stored value read, in bytes: as long as a response body.
pub const MAX_STORED_BYTES: usize = 1 << 20;

/// Tokens as kept in a shared store under `key`: JSON with the RFC 6749
/// names, the absolute expiry, and the key itself, so a value copied under
/// another key (by a bug, or by someone who can write to the store) is not
/// taken for this configuration's tokens. DPoP-bound tokens carry the
/// thumbprint of their key (`jkt`, as RFC 9449 §6 names it in `cnf`): they
/// are worth nothing with another key, and an instance with another key
/// does not take them.
pub fn encode_stored(tokens: &TokenSet, key: &str, jkt: Option<&str>) -> String {
    let mut object = Map::new();
    object.insert("v".into(), 2.into());
    object.insert("key".into(), key.into());
    if let Some(jkt) = jkt {
        object.insert("jkt".into(), jkt.into());
    }
    object.insert(
        "access_token".into(),
        tokens.access_token.expose().to_owned().into(),
    );
    object.insert("token_type".into(), tokens.token_type.clone().into());
    if let Some(secs) = tokens.expires_in {
        object.insert("expires_in".into(), secs.into());
    }
    if let Some(at) = tokens.expires_at {
        object.insert("expires_at".into(), at.as_secs().into());
    }
    if let Some(token) = &tokens.refresh_token {
        object.insert("refresh_token".into(), token.expose().to_owned().into());
    }
    if let Some(token) = &tokens.id_token {
        object.insert("id_token".into(), token.expose().to_owned().into());
    }
    if let Some(scope) = &tokens.scope {
        object.insert("scope".into(), scope.clone().into());
    }
    object.insert("raw".into(), Value::Object(tokens.raw.clone()));
    Value::Object(object).to_string()
}

/// Reads what [`encode_stored`] wrote under `key` for the DPoP key whose
/// thumbprint is `jkt` (`None`: Bearer tokens); anything else (another
/// version, key or DPoP key, another token type, a value over
/// [`MAX_STORED_BYTES`], tokens that are not VSCHAR, a broken or foreign
/// value) is `None`, a cache miss. A store is shared: its values are
/// checked as a server's answers are.
pub fn decode_stored(text: &str, key: &str, jkt: Option<&str>) -> Option<TokenSet> {
    if text.len() > MAX_STORED_BYTES {
        return None;
    }
    let Value::Object(object) = serde_json::from_str(text).ok()? else {
        return None;
    };
    if object.get("v")?.as_u64()? != 2 || object.get("key")?.as_str()? != key {
        return None;
    }
    let string = |name: &str| match object.get(name) {
        None => Some(None),
        Some(Value::String(s)) => Some(Some(s.clone())),
        Some(_) => None,
    };
    let number = |name: &str| match object.get(name) {
        None => Some(None),
        Some(value) => value.as_u64().map(Some),
    };
    let access_token = string("access_token")?.filter(|t| is_vschar(t))?;
    for name in ["refresh_token", "id_token"] {
        if string(name)?.is_some_and(|t| !is_vschar(&t)) {
            return None;
        }
    }
    let token_type = if jkt.is_some() { "DPoP" } else { "Bearer" };
    if string("token_type")?.as_deref() != Some(token_type) || string("jkt")?.as_deref() != jkt {
        return None;
    }
    let raw = match object.get("raw") {
        Some(Value::Object(raw)) => raw.clone(),
        _ => return None,
    };
    Some(TokenSet {
        access_token: Secret::new(access_token),
        token_type: token_type.into(),
        expires_in: number("expires_in")?,
        expires_at: number("expires_at")?.map(UnixTime::from_secs),
        refresh_token: string("refresh_token")?.map(Secret::new),
        id_token: string("id_token")?.map(Secret::new),
        scope: string("scope")?,
        raw,
    })
}

/// Seconds a store should keep `tokens`: until they expire. `None` when
/// their expiry is unknown.
pub fn store_ttl(tokens: &TokenSet, now: UnixTime) -> Option<u64> {
    let (expires_at, _) = expiry(tokens)?;
    Some(expires_at.as_secs().saturating_sub(now.as_secs()))
}
