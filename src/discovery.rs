//! Authorization server metadata: OpenID Connect Discovery 1.0 and
//! RFC 8414, as a sans-IO flow, the checks a document must pass, and the
//! policy of the per-process cache the driver keeps.
//!
//! Order: `{issuer}/.well-known/openid-configuration` first (OIDC Discovery
//! §4: appended to the issuer), then, only when that answers 404, RFC 8414's
//! `/.well-known/oauth-authorization-server` inserted between host and path
//! (§3.1). The OpenID form comes first because every provider grantkit
//! documents (Keycloak, Entra, PingOne Advanced Identity Cloud, Dex)
//! publishes it, and some publish only it; a 404 is the one answer that
//! means "not here". Any other failure (5xx, a redirect, a body that is not
//! JSON) is reported as it is, without trying the second URL: it is not
//! evidence that the document lives elsewhere.
//!
//! What a document must satisfy (each refusal has its own code):
//! - a JSON object whose `issuer` is a string identical to the issuer asked
//!   for (OIDC Discovery §4.3, RFC 8414 §3.3: "MUST be identical"), except
//!   for Microsoft Entra's multi-tenant documents, see [`issuer_matches`];
//! - every endpoint member grantkit reads (token, device authorization,
//!   revocation, introspection, authorization, and `jwks_uri`, whose keys
//!   verify ID tokens), when present, a string URL with the same rules as a
//!   configured endpoint: `https`, or plain `http` only on a loopback host
//!   (127.0.0.0/8, ::1, localhost) unless `allowInsecureHttp` is set, no
//!   credentials, no fragment;
//! - `authorization_response_iss_parameter_supported` (RFC 9207 §3), when
//!   present, a boolean.
//!
//! Endpoints on another origin than the issuer are accepted: neither OIDC
//! Discovery nor RFC 8414 restricts where endpoints live (Entra serves
//! `userinfo_endpoint` from graph.microsoft.com), and the document's
//! authenticity rests on TLS to the issuer plus the issuer check
//! (RFC 8414 §6.2). The only member the specs constrain is `issuer`.

use crate::endpoint::{check_endpoint, url_problem, UrlParts};
use crate::error::{DiscoveryProblem, Error};
use crate::flow::{Action, Flow};
use crate::http::{HttpRequest, HttpResponse, Method};
use crate::options::ConfigField;
use crate::redact::Redactor;
use crate::time::UnixTime;
use crate::token::parse_json;
use serde_json::{Map, Value};
use std::sync::Arc;

/// OIDC Discovery §4: the path appended to the issuer.
pub const OPENID_CONFIGURATION: &str = "/.well-known/openid-configuration";

/// RFC 8414 §3: the well-known suffix, inserted between host and path.
pub const OAUTH_AUTHORIZATION_SERVER: &str = "/.well-known/oauth-authorization-server";

/// The trace label of the OpenID Connect discovery request.
pub const LABEL_OPENID: &str = "discovery (openid-configuration)";

/// The trace label of the RFC 8414 discovery request.
pub const LABEL_RFC8414: &str = "discovery (oauth-authorization-server)";

/// What an authorization server's metadata says, as far as grantkit uses
/// it. Every endpoint is checked ([`parse_metadata`]) and kept exactly as
/// the document wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerMetadata {
    /// The issuer asked for (equal to the document's, or, for Entra's
    /// multi-tenant documents, the alias asked for).
    pub issuer: String,
    /// `token_endpoint` (RFC 8414 §2).
    pub token_endpoint: Option<String>,
    /// `device_authorization_endpoint` (RFC 8628 §4).
    pub device_authorization_endpoint: Option<String>,
    /// `revocation_endpoint` (RFC 8414 §2, RFC 7009).
    pub revocation_endpoint: Option<String>,
    /// `introspection_endpoint` (RFC 8414 §2, RFC 7662).
    pub introspection_endpoint: Option<String>,
    /// `authorization_endpoint` (RFC 8414 §2).
    pub authorization_endpoint: Option<String>,
    /// `jwks_uri` (RFC 8414 §2, OpenID Connect Discovery §3): the issuer's
    /// JWK Set, whose keys verify its ID tokens.
    pub jwks_uri: Option<String>,
    /// `authorization_response_iss_parameter_supported` (RFC 9207 §3):
    /// the server puts `iss` in every authorization response, so a
    /// response without it is refused. Absent: `false` ("If omitted, the
    /// default value is false").
    pub authorization_response_iss_parameter_supported: bool,
}

/// The endpoint members grantkit reads, with where each goes.
const ENDPOINTS: [&str; 6] = [
    "token_endpoint",
    "device_authorization_endpoint",
    "revocation_endpoint",
    "introspection_endpoint",
    "authorization_endpoint",
    "jwks_uri",
];

/// RFC 9207 §3: the metadata member announcing `iss` in authorization
/// responses.
const ISS_PARAMETER_SUPPORTED: &str = "authorization_response_iss_parameter_supported";

/// What to discover: the issuer, checked, and whether plain http is
/// allowed off loopback (for the issuer and for the endpoints the document
/// names). Two flows with equal requests share one cached answer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DiscoveryRequest {
    /// The issuer, exactly as configured.
    pub issuer: String,
    /// `allowInsecureHttp`.
    pub allow_insecure_http: bool,
}

impl DiscoveryRequest {
    /// Checks `issuer` (named `field` in errors): an `https` URL (or `http`
    /// where endpoints may be), with no query or fragment (RFC 8414 §2,
    /// OIDC Discovery §2).
    pub fn new(field: ConfigField, issuer: &str, allow_insecure_http: bool) -> Result<Self, Error> {
        let issuer = check_endpoint(field, issuer, allow_insecure_http)?;
        if UrlParts::split(&issuer).is_some_and(|parts| !parts.rest.is_empty()) {
            return Err(Error::config(
                field,
                "an issuer has no query or fragment (RFC 8414 §2)",
            ));
        }
        Ok(DiscoveryRequest {
            issuer,
            allow_insecure_http,
        })
    }

    /// OIDC Discovery §4: `/.well-known/openid-configuration` appended to
    /// the issuer, a terminating `/` removed first.
    pub fn openid_configuration_url(&self) -> String {
        format!(
            "{}{OPENID_CONFIGURATION}",
            self.issuer.trim_end_matches('/')
        )
    }

    /// RFC 8414 §3.1: the well-known suffix inserted between the host and
    /// the path (a terminating `/` of the path removed first): issuer
    /// `https://a.example/tenant1` gives
    /// `https://a.example/.well-known/oauth-authorization-server/tenant1`.
    pub fn oauth_authorization_server_url(&self) -> String {
        let Some(parts) = UrlParts::split(&self.issuer) else {
            return format!("{}{OAUTH_AUTHORIZATION_SERVER}", self.issuer);
        };
        let path = parts.path.trim_end_matches('/');
        format!(
            "{}://{}{OAUTH_AUTHORIZATION_SERVER}{path}",
            parts.scheme, parts.authority
        )
    }

    /// The metadata request for `url`: `GET` with `Accept:
    /// application/json`, no body, no credentials.
    fn request(url: String) -> HttpRequest {
        HttpRequest {
            method: Method::Get,
            url,
            headers: vec![("Accept".to_owned(), "application/json".to_owned())],
            body: None,
        }
    }

    /// The flow that fetches and checks the metadata.
    pub fn start(&self) -> Discovery {
        Discovery {
            request: self.clone(),
            state: State::Start,
        }
    }
}

/// Microsoft Entra's multi-tenant aliases: their documents carry the
/// template `https://login.microsoftonline.com/{tenantid}/v2.0` as issuer.
const ENTRA_HOST: &str = "https://login.microsoftonline.com/";
const ENTRA_MULTI_TENANT: [&str; 3] = ["common", "organizations", "consumers"];
const ENTRA_ISSUER_TEMPLATE: &str = "https://login.microsoftonline.com/{tenantid}/v2.0";
/// Microsoft documents this GUID as the tenant of personal accounts, usable
/// in place of `consumers` ("You can also use the consumer tenant GUID,
/// 9188040d-6c67-4c5b-b112-36a304b66dad, in place of consumers").
const ENTRA_CONSUMER_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// Whether a document's `issuer` answers the one asked for: identical
/// (OIDC Discovery §4.3, RFC 8414 §3.3), with one documented exception.
///
/// Microsoft Entra ID serves the documents of its multi-tenant authorities
/// (`https://login.microsoftonline.com/{common|organizations|consumers}/v2.0`)
/// with the issuer `https://login.microsoftonline.com/{tenantid}/v2.0`, a
/// literal template: the tokens of each tenant carry that tenant's id
/// there (Microsoft identity platform docs, "OpenID Connect on the
/// Microsoft identity platform" and "Access tokens: validate the issuer";
/// Microsoft's answer in MicrosoftDocs/azure-docs#38427 calls it "an
/// inherent issue with the /common alias"). That template is accepted for
/// exactly those three aliases, and, for `consumers`, also the consumer
/// tenant's own issuer, which Microsoft documents as its equivalent. No
/// other issuer gets any latitude.
pub fn issuer_matches(asked: &str, document: &str) -> bool {
    if asked == document {
        return true;
    }
    let Some(alias) = asked
        .strip_prefix(ENTRA_HOST)
        .and_then(|rest| rest.strip_suffix("/v2.0"))
    else {
        return false;
    };
    ENTRA_MULTI_TENANT.contains(&alias)
        && (document == ENTRA_ISSUER_TEMPLATE
            || (alias == "consumers"
                && document == format!("{ENTRA_HOST}{ENTRA_CONSUMER_TENANT}/v2.0")))
}

/// Reads and checks a metadata document (a 2xx response) for `request`.
pub fn parse_metadata(
    request: &DiscoveryRequest,
    url: &str,
    response: &HttpResponse,
) -> Result<ServerMetadata, Error> {
    let status = response.status;
    let fail = |problem, detail: String| Error::Discovery {
        problem,
        status: Some(status),
        detail,
    };
    let invalid = |detail: String| fail(DiscoveryProblem::InvalidDocument, detail);
    let body = match parse_json(response, &Redactor::default()) {
        Ok(Value::Object(body)) => body,
        Ok(_) => return Err(invalid(format!("{url} is JSON but not an object"))),
        Err(Error::ResponseNotJson { .. }) => {
            return Err(invalid(format!("{url} did not answer with JSON")))
        }
        // A JSON object with a string `error`: an OAuth error, as is.
        Err(other) => return Err(other),
    };
    let issuer = match body.get("issuer") {
        Some(Value::String(issuer)) => issuer,
        Some(_) => return Err(invalid(format!("{url}: issuer is not a string"))),
        None => return Err(invalid(format!("{url}: the document has no issuer"))),
    };
    if !issuer_matches(&request.issuer, issuer) {
        return Err(fail(
            DiscoveryProblem::IssuerMismatch,
            format!(
                "asked for {:?}, the document at {url} says {:?}; the issuer must be given exactly as the server names itself (OIDC Discovery §4.3, RFC 8414 §3.3)",
                request.issuer,
                issuer.chars().take(200).collect::<String>()
            ),
        ));
    }
    let mut endpoints = ENDPOINTS.map(|_| None);
    for (slot, name) in endpoints.iter_mut().zip(ENDPOINTS) {
        *slot = endpoint(&body, name, request.allow_insecure_http)
            .map_err(|(problem, why)| fail(problem, format!("{url}: {name} {why}")))?;
    }
    let [token_endpoint, device_authorization_endpoint, revocation_endpoint, introspection_endpoint, authorization_endpoint, jwks_uri] =
        endpoints;
    let iss_parameter_supported = match body.get(ISS_PARAMETER_SUPPORTED) {
        None | Some(Value::Null) => false,
        Some(Value::Bool(supported)) => *supported,
        Some(_) => {
            return Err(invalid(format!(
                "{url}: {ISS_PARAMETER_SUPPORTED} is not a boolean (RFC 9207 §3)"
            )))
        }
    };
    Ok(ServerMetadata {
        issuer: request.issuer.clone(),
        token_endpoint,
        device_authorization_endpoint,
        revocation_endpoint,
        introspection_endpoint,
        authorization_endpoint,
        jwks_uri,
        authorization_response_iss_parameter_supported: iss_parameter_supported,
    })
}

/// One endpoint member: absent (or null), or a URL grantkit may call.
fn endpoint(
    body: &Map<String, Value>,
    name: &str,
    allow_insecure_http: bool,
) -> Result<Option<String>, (DiscoveryProblem, &'static str)> {
    let url = match body.get(name) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(url)) => url,
        Some(_) => return Err((DiscoveryProblem::InvalidDocument, "is not a string")),
    };
    // Plain http gets its own code: the document would send credentials in
    // clear text. The loopback rule is the one for configured endpoints.
    if url_problem(url, true).is_none() && url_problem(url, allow_insecure_http).is_some() {
        return Err((
            DiscoveryProblem::InsecureEndpoint,
            "is plain http off loopback; set allowInsecureHttp to accept it",
        ));
    }
    if let Some(problem) = url_problem(url, allow_insecure_http) {
        return Err((DiscoveryProblem::InvalidDocument, problem));
    }
    if url.contains('#') {
        // RFC 6749 §3.1, §3.2: endpoint URIs have no fragment.
        return Err((
            DiscoveryProblem::InvalidDocument,
            "has a fragment, which RFC 6749 §3.2 forbids",
        ));
    }
    Ok(Some(url.clone()))
}

/// Fetches and checks the metadata of one issuer: the OpenID Connect
/// document, then, after a 404, RFC 8414's.
#[derive(Debug)]
pub struct Discovery {
    request: DiscoveryRequest,
    state: State,
}

#[derive(Debug)]
enum State {
    Start,
    ExpectOpenId(String),
    TryRfc8414,
    ExpectRfc8414(String),
    Found(ServerMetadata),
    Finished,
}

impl Flow for Discovery {
    type Output = ServerMetadata;

    fn poll(&mut self, _now: UnixTime) -> Result<Action<ServerMetadata>, Error> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::Start => {
                let url = self.request.openid_configuration_url();
                self.state = State::ExpectOpenId(url.clone());
                Ok(Action::Send(DiscoveryRequest::request(url)))
            }
            State::TryRfc8414 => {
                let url = self.request.oauth_authorization_server_url();
                self.state = State::ExpectRfc8414(url.clone());
                Ok(Action::Send(DiscoveryRequest::request(url)))
            }
            State::Found(metadata) => Ok(Action::Done(metadata)),
            State::ExpectOpenId(_) | State::ExpectRfc8414(_) => Err(Error::FlowMisuse {
                reason: "polled while the metadata response is awaited",
            }),
            State::Finished => Err(Error::FlowMisuse {
                reason: "polled after the flow finished",
            }),
        }
    }

    fn handle_response(&mut self, response: HttpResponse, _now: UnixTime) -> Result<(), Error> {
        let (url, first) = match std::mem::replace(&mut self.state, State::Finished) {
            State::ExpectOpenId(url) => (url, true),
            State::ExpectRfc8414(url) => (url, false),
            _ => {
                return Err(Error::FlowMisuse {
                    reason: "a response arrived when none was awaited",
                })
            }
        };
        if response.status == 404 {
            if first {
                self.state = State::TryRfc8414;
                return Ok(());
            }
            return Err(Error::Discovery {
                problem: DiscoveryProblem::NotFound,
                status: Some(404),
                detail: format!(
                    "{} and {url} both answered 404; give tokenEndpoint instead",
                    self.request.openid_configuration_url()
                ),
            });
        }
        if !response.is_success() {
            // A redirect (never followed), an OAuth error or any other
            // status: reported with the codes every flow uses.
            return Err(match parse_json(&response, &Redactor::default()) {
                Err(error) => error,
                Ok(_) => Error::HttpError {
                    status: response.status,
                    excerpt: Redactor::default().excerpt(&response.body),
                },
            });
        }
        self.state = State::Found(parse_metadata(&self.request, &url, &response)?);
        Ok(())
    }

    fn exchange_label(&self, request: &HttpRequest) -> String {
        match request.url.contains(OAUTH_AUTHORIZATION_SERVER) {
            true => LABEL_RFC8414.to_owned(),
            false => LABEL_OPENID.to_owned(),
        }
    }
}

/// The per-process (per-isolate) cache of metadata, single-flight: the
/// policy, with the driver's wait handle `W` kept opaque.
///
/// - A lookup of a key with metadata answers it ([`Lookup::Cached`]).
/// - The first lookup of a key without metadata leads: it gets
///   [`Lookup::Fetch`] and the key is marked in flight with the waiter it
///   passes; every lookup until [`MetadataCache::finish`] gets
///   [`Lookup::Join`] with that waiter, and sends nothing.
/// - A success is kept for the life of the process; a failure is not: the
///   entry is removed and the next lookup fetches again. Those that joined
///   the failed flight share its error (one request, one outcome), unless
///   the leader was aborted by its own signal, which says nothing of the
///   server: then they look up again.
/// - At most `capacity` keys are kept; the oldest finished one goes first.
///   A key includes the fetch in use, and a program can make a new fetch
///   per request.
#[derive(Debug)]
pub struct MetadataCache<K, W> {
    entries: Vec<(K, Slot<W>)>,
    capacity: usize,
}

#[derive(Debug)]
enum Slot<W> {
    Cached(Arc<ServerMetadata>),
    InFlight(W),
}

/// What a lookup found.
#[derive(Debug)]
pub enum Lookup<W> {
    /// The metadata, already fetched.
    Cached(Arc<ServerMetadata>),
    /// Another flow is fetching it: wait for this, then look up again (or
    /// take the failure it reports).
    Join(W),
    /// Nobody is: fetch it, then call [`MetadataCache::finish`].
    Fetch,
}

/// The most keys a driver's cache keeps.
pub const DEFAULT_CACHE_CAPACITY: usize = 64;

impl<K: PartialEq, W: Clone> MetadataCache<K, W> {
    /// An empty cache of at most `capacity` keys.
    pub fn new(capacity: usize) -> Self {
        MetadataCache {
            entries: Vec::new(),
            capacity: capacity.max(1),
        }
    }

    /// Looks `key` up; on a miss, marks it in flight with `waiter`.
    pub fn lookup(&mut self, key: K, waiter: impl FnOnce() -> W) -> Lookup<W> {
        match self.entries.iter().find(|(k, _)| *k == key) {
            Some((_, Slot::Cached(metadata))) => return Lookup::Cached(metadata.clone()),
            Some((_, Slot::InFlight(waiter))) => return Lookup::Join(waiter.clone()),
            None => {}
        }
        if self.entries.len() >= self.capacity {
            if let Some(oldest) = self
                .entries
                .iter()
                .position(|(_, slot)| matches!(slot, Slot::Cached(_)))
            {
                self.entries.remove(oldest);
            }
        }
        self.entries.push((key, Slot::InFlight(waiter())));
        Lookup::Fetch
    }

    /// Records the outcome of the fetch that [`Lookup::Fetch`] asked for:
    /// metadata is kept, a failure leaves no trace.
    pub fn finish(&mut self, key: &K, outcome: Result<&Arc<ServerMetadata>, &Error>) {
        let Some(index) = self.entries.iter().position(|(k, _)| k == key) else {
            return;
        };
        match outcome {
            Ok(metadata) => {
                if let Some((_, slot)) = self.entries.get_mut(index) {
                    *slot = Slot::Cached(metadata.clone());
                }
            }
            Err(_) => {
                self.entries.remove(index);
            }
        }
    }

    /// Whether those that joined a flight that ended with `error` look up
    /// again instead of sharing it: only when the leader's own signal
    /// aborted it.
    pub fn joiners_retry(error: &Error) -> bool {
        matches!(error, Error::Aborted)
    }

    /// How many keys are kept (cached or in flight).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
