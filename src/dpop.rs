//! DPoP (RFC 9449): proofs of possession of a key, sent in the `DPoP`
//! header of token requests and API calls, so that a token bound to the key
//! is worth nothing to whoever steals it.
//!
//! The key pair belongs to the driver (a non-extractable WebCrypto ES256
//! key): the core knows its public half, builds each proof's signing input
//! here, and has the driver sign it, as it does for assertions. Everything
//! the RFC decides is here: the header and claims, `htu` without query and
//! fragment, `ath`, the key's thumbprint (RFC 7638) that binds a cached
//! token to the key, and when a server asks for a nonce.

use crate::error::Error;
use crate::http::{HttpResponse, Method};
use crate::secret::Secret;
use crate::time::UnixTime;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rsa::sha2::{Digest, Sha256};
use serde::Serialize;
use serde_json::{Map, Value};

/// The `typ` of a DPoP proof (RFC 9449 §4.2).
pub const PROOF_TYPE: &str = "dpop+jwt";
/// The one algorithm grantkit signs proofs with: ECDSA P-256 and SHA-256,
/// which every WebCrypto implements (RFC 9449 leaves the choice to the
/// client among asymmetric algorithms).
pub const ALGORITHM: &str = "ES256";

/// The public half of a DPoP key: an EC P-256 JWK (RFC 7518 §6.2.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DpopPublicKey {
    x: String,
    y: String,
    thumbprint: String,
}

impl DpopPublicKey {
    /// Reads the public JWK a runtime exported (`crypto.subtle.exportKey
    /// ("jwk", publicKey)`): `kty` "EC", `crv` "P-256", `x` and `y` of 32
    /// bytes each in base64url. A JWK holding a private part (`d`) is
    /// refused: it would travel in every proof's header.
    pub fn from_jwk(jwk: &Map<String, Value>) -> Result<Self, Error> {
        let unusable = |reason: &str| Error::DpopUnavailable {
            reason: format!("the key's public JWK {reason}"),
        };
        if jwk.contains_key("d") {
            return Err(unusable("holds a private key"));
        }
        let text = |name: &str| jwk.get(name).and_then(Value::as_str);
        if text("kty") != Some("EC") || text("crv") != Some("P-256") {
            return Err(unusable("is not an EC P-256 key"));
        }
        let coordinate = |name: &str| {
            let value = text(name).ok_or_else(|| unusable("lacks x or y"))?;
            match URL_SAFE_NO_PAD.decode(value) {
                Ok(bytes) if bytes.len() == 32 => Ok(value.to_owned()),
                _ => Err(unusable("has an x or y that is not 32 bytes of base64url")),
            }
        };
        let (x, y) = (coordinate("x")?, coordinate("y")?);
        // RFC 7638 §3.2: the required members only, in lexicographic order,
        // no white space.
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let thumbprint = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
        Ok(DpopPublicKey { x, y, thumbprint })
    }

    /// The JWK SHA-256 thumbprint (RFC 7638), as `cnf.jkt` carries it (RFC
    /// 9449 §6): what a DPoP-bound token is bound to.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// The proof's JOSE header: `typ`, `alg`, `jwk` (RFC 9449 §4.2), in
    /// that order.
    fn header_json(&self) -> String {
        #[derive(Serialize)]
        struct Jwk<'a> {
            kty: &'a str,
            crv: &'a str,
            x: &'a str,
            y: &'a str,
        }
        #[derive(Serialize)]
        struct Header<'a> {
            typ: &'a str,
            alg: &'a str,
            jwk: Jwk<'a>,
        }
        let header = Header {
            typ: PROOF_TYPE,
            alg: ALGORITHM,
            jwk: Jwk {
                kty: "EC",
                crv: "P-256",
                x: &self.x,
                y: &self.y,
            },
        };
        serde_json::to_string(&header).unwrap_or_default()
    }
}

/// What one proof is for: the request it goes with.
#[derive(Debug)]
pub struct ProofFor<'a> {
    /// `htm`: the request's method.
    pub method: Method,
    /// The request's URL; `htu` is this without query and fragment.
    pub url: &'a str,
    /// The access token the request carries, for `ath` (API calls only).
    pub access_token: Option<&'a Secret>,
    /// The server's latest `DPoP-Nonce`, when it gave one.
    pub nonce: Option<&'a str>,
}

/// The signing input of a proof (RFC 9449 §4.2): the header with the public
/// key, and the claims `jti`, `htm`, `htu`, `iat`, then `ath` and `nonce`
/// where they apply. The driver signs it with the private key (ES256: the
/// 64-byte r || s that WebCrypto gives is the JWS form, RFC 7518 §3.4).
pub fn proof_signing_input(
    key: &DpopPublicKey,
    proof: &ProofFor<'_>,
    now: UnixTime,
    jti: &str,
) -> String {
    #[derive(Serialize)]
    struct Claims<'a> {
        jti: &'a str,
        htm: &'a str,
        htu: String,
        iat: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        ath: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        nonce: Option<&'a str>,
    }
    let claims = Claims {
        jti,
        htm: proof.method.as_str(),
        htu: target_uri(proof.url),
        iat: now.as_secs(),
        ath: proof.access_token.map(access_token_hash),
        nonce: proof.nonce,
    };
    crate::jwt::signing_input(
        &key.header_json(),
        &serde_json::to_string(&claims).unwrap_or_default(),
    )
}

/// `htu`: "the HTTP target URI ... without query and fragment parts" (RFC
/// 9449 §4.2).
pub fn target_uri(url: &str) -> String {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    url.get(..end).unwrap_or(url).to_owned()
}

/// `ath`: the base64url SHA-256 of the access token's ASCII (RFC 9449
/// §4.2).
pub fn access_token_hash(access_token: &Secret) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.expose().as_bytes()))
}

/// The nonce a server demands, if this response demands one: at the token
/// endpoint a 400 with the OAuth error `use_dpop_nonce` (RFC 9449 §8), at a
/// resource server a 401 whose `WWW-Authenticate` names the DPoP scheme
/// with `error="use_dpop_nonce"` (§9); both with a `DPoP-Nonce` header,
/// whose value must be `1*NQCHAR` (§8.1). `None` for anything else,
/// including a demand without a usable nonce.
pub fn demanded_nonce(response: &HttpResponse) -> Option<String> {
    let demanded = match response.status {
        400 => serde_json::from_slice::<Value>(&response.body)
            .ok()
            .and_then(|body| body.get("error")?.as_str().map(|e| e == "use_dpop_nonce"))
            .unwrap_or(false),
        401 => response
            .headers
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case("www-authenticate"))
            .any(|(_, value)| dpop_challenge_demands_nonce(value)),
        _ => false,
    };
    let nonce = response.header("dpop-nonce")?.trim();
    (demanded && usable_nonce(nonce)).then(|| nonce.to_owned())
}

/// The longest nonce grantkit puts in a proof. RFC 9449 sets no limit;
/// a server's nonces are short (a few dozen characters), and a hostile one
/// must not make every later proof, which carries the nonce, as large as
/// it likes.
pub const MAX_NONCE_CHARS: usize = 1024;

/// Whether a server's nonce is one to send: `1*NQCHAR` (§8.1), and not
/// longer than [`MAX_NONCE_CHARS`].
fn usable_nonce(nonce: &str) -> bool {
    nonce.len() <= MAX_NONCE_CHARS && crate::token::is_nqchars(nonce)
}

/// Whether a `WWW-Authenticate` value holds a DPoP challenge with
/// `error="use_dpop_nonce"` (RFC 9449 §9: `WWW-Authenticate: DPoP
/// error="use_dpop_nonce", error_description="..."`). Other challenges may
/// come in the same value, separated by commas.
fn dpop_challenge_demands_nonce(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    let Some(start) = lower.match_indices("dpop").map(|(at, _)| at).find(|&at| {
        at == 0
            || lower
                .get(..at)
                .is_some_and(|before| before.trim_end().ends_with(','))
    }) else {
        return false;
    };
    let challenge = lower.get(start + 4..).unwrap_or_default();
    // The challenge's parameters run until the next scheme; a parameter
    // value is a token or a quoted string.
    challenge
        .split(',')
        .map(str::trim)
        .take_while(|part| part.is_empty() || part.contains('='))
        .any(|part| {
            part.split_once('=').is_some_and(|(name, value)| {
                name.trim() == "error" && value.trim().trim_matches('"') == "use_dpop_nonce"
            })
        })
}

/// A proof a flow needs for the request it is about to send
/// ([`crate::flow::Action::Prove`]): the driver, which holds the key, has
/// its [`DpopSession`] make it.
#[derive(Clone, Debug)]
pub struct ProofRequest {
    /// `htm`: the request's method.
    pub method: Method,
    /// The request's URL.
    pub url: String,
    /// The access token the request carries, for `ath` (API calls only).
    pub access_token: Option<Secret>,
    /// The nonce the server demanded in its answer to the previous attempt
    /// of this request; `None`: the server's latest, if the session has one.
    pub nonce: Option<String>,
}

/// How many servers' nonces a session keeps: a source talks to its
/// authorization server and a few APIs.
const MAX_NONCES: usize = 16;

/// The driver's DPoP state for one key: the key's public half, and the
/// latest nonce each server gave. RFC 9449 §8.2 and §9: a server may send a
/// new `DPoP-Nonce` in any response, and the client uses it in its next
/// proof for that server, which saves the round trip of a demand. Servers
/// are told apart by origin.
#[derive(Debug)]
pub struct DpopSession {
    key: DpopPublicKey,
    /// (origin, nonce), the most recent last.
    nonces: Vec<(String, String)>,
}

impl DpopSession {
    /// A session for `key`, with no nonces yet.
    pub fn new(key: DpopPublicKey) -> Self {
        DpopSession {
            key,
            nonces: Vec::new(),
        }
    }

    /// The key's public half.
    pub fn key(&self) -> &DpopPublicKey {
        &self.key
    }

    /// The signing input of the proof for `request` at `now`, with a fresh
    /// `jti` and the demanded nonce, else the server's latest.
    pub fn signing_input(
        &self,
        request: &ProofRequest,
        now: UnixTime,
        rng: &mut dyn rsa::rand_core::CryptoRngCore,
    ) -> String {
        let nonce = request.nonce.as_deref().or_else(|| {
            let origin = crate::api_call::origin_of(&request.url)?;
            self.nonces
                .iter()
                .find(|(o, _)| *o == origin)
                .map(|(_, nonce)| nonce.as_str())
        });
        let proof = ProofFor {
            method: request.method,
            url: &request.url,
            access_token: request.access_token.as_ref(),
            nonce,
        };
        proof_signing_input(&self.key, &proof, now, &crate::jwt::new_jti(rng))
    }

    /// Takes note of the answer `url` gave: its `DPoP-Nonce`, when it is a
    /// usable one (`1*NQCHAR`, §8.1, at most [`MAX_NONCE_CHARS`]), is the one
    /// to use there next.
    pub fn observe(&mut self, url: &str, response: &HttpResponse) {
        let Some(nonce) = response.header("dpop-nonce").map(str::trim) else {
            return;
        };
        let Some(origin) = crate::api_call::origin_of(url) else {
            return;
        };
        if !usable_nonce(nonce) {
            return;
        }
        self.nonces.retain(|(o, _)| *o != origin);
        if self.nonces.len() == MAX_NONCES {
            self.nonces.remove(0);
        }
        self.nonces.push((origin, nonce.to_owned()));
    }
}
