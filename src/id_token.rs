//! ID token validation (OpenID Connect Core 1.0 §3.1.3.7) for the
//! authorization code flow: the claims are checked here, the key is picked
//! from the issuer's JWK Set (RFC 7517 §5) here, and the signature is
//! verified by the driver ([`crate::flow::Action::Verify`]), with the
//! runtime's WebCrypto.
//!
//! What is checked, each refusal with its own code:
//! - a compact JWS of three parts (an encrypted ID token, five parts, is
//!   refused: grantkit registers no encryption key);
//! - `alg` RS256 (OIDC Core §3.1.3.7 step 7: the default, which every
//!   provider supports) or ES256; `none`, HS256 and the rest are refused;
//! - `iss` identical to the issuer (step 2);
//! - `aud` contains the client id (step 3);
//! - `azp`, when present or when there are several audiences, is the
//!   client id (steps 4, 5);
//! - `exp` is after now (step 9) and `iat` not further in the future than
//!   [`CLOCK_SKEW_SECS`] (step 10), both with that skew for clocks that
//!   disagree a little;
//! - `nonce` equals the one sent in the authorization request (step 11).
//!
//! `at_hash` is not checked: OIDC Core §3.1.3.8 makes it optional in the
//! code flow, where the access token comes straight from the token
//! endpoint over TLS.

use crate::error::{Error, IdTokenProblem};
use crate::flow::VerifyRequest;
use crate::http::HttpResponse;
use crate::redact::Redactor;
use crate::time::UnixTime;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};

/// How far apart the server's clock and ours may be, in seconds, for `exp`
/// and `iat`.
pub const CLOCK_SKEW_SECS: u64 = 60;

/// The smallest RSA modulus accepted for a verification key, in bits
/// (RFC 7518 §3.3).
pub const MIN_RSA_BITS: usize = 2048;

/// The algorithms an ID token may be signed with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifyAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3).
    Rs256,
    /// ECDSA P-256 with SHA-256 (RFC 7518 §3.4).
    Es256,
}

impl VerifyAlgorithm {
    /// The `alg` header value.
    pub fn name(self) -> &'static str {
        match self {
            VerifyAlgorithm::Rs256 => "RS256",
            VerifyAlgorithm::Es256 => "ES256",
        }
    }
}

/// What the ID token must say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expectations<'a> {
    /// The issuer, exactly.
    pub issuer: &'a str,
    /// The client id: in `aud`, and `azp` when there is one.
    pub client_id: &'a str,
    /// The nonce sent in the authorization request.
    pub nonce: Option<&'a str>,
}

/// An ID token whose claims passed, waiting for its signature to be
/// verified.
#[derive(Clone, Debug)]
pub struct CheckedClaims {
    /// The algorithm of its header.
    pub alg: VerifyAlgorithm,
    /// The `kid` of its header.
    pub kid: Option<String>,
    /// `BASE64URL(header) . BASE64URL(payload)`, as received.
    pub signing_input: String,
    /// The signature's octets.
    pub signature: Vec<u8>,
    /// The claims.
    pub claims: Map<String, Value>,
}

fn refuse(problem: IdTokenProblem, detail: impl Into<String>) -> Error {
    Error::IdToken {
        problem,
        detail: detail.into(),
    }
}

/// Reads `token` and checks everything but its signature.
pub fn check_claims(
    token: &str,
    expect: &Expectations<'_>,
    now: UnixTime,
) -> Result<CheckedClaims, Error> {
    let invalid = |detail: &str| refuse(IdTokenProblem::Invalid, detail);
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = parts.as_slice() else {
        return Err(invalid(if parts.len() == 5 {
            "it is encrypted (JWE); grantkit reads signed ID tokens only"
        } else {
            "a signed JWT has three dot-separated parts"
        }));
    };
    let decoded = crate::jwt::decode_unverified(token)
        .map_err(|_| invalid("its header or payload is not base64url JSON"))?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| invalid("its signature is not base64url"))?;
    let alg = match decoded.header.get("alg").and_then(Value::as_str) {
        Some("RS256") => VerifyAlgorithm::Rs256,
        Some("ES256") => VerifyAlgorithm::Es256,
        Some(other) => {
            return Err(refuse(
                IdTokenProblem::UnsupportedAlg,
                format!(
                    "alg {:?}; grantkit accepts RS256 and ES256",
                    other.chars().take(20).collect::<String>()
                ),
            ))
        }
        None => return Err(invalid("its header has no string alg")),
    };
    let kid = match decoded.header.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err(invalid("its kid is not a string")),
    };
    let claims = decoded.claims;
    let string = |name: &str| match claims.get(name) {
        None => Ok(None),
        Some(Value::String(value)) => Ok(Some(value.as_str())),
        Some(_) => Err(invalid(&format!("its {name} is not a string"))),
    };
    let time = |name: &str| match claims.get(name) {
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            .ok_or_else(|| invalid(&format!("its {name} is not a positive number"))),
        _ => Err(invalid(&format!("it has no numeric {name}"))),
    };

    // Step 2: "MUST exactly match".
    match string("iss")? {
        Some(iss) if iss == expect.issuer => {}
        Some(iss) => {
            return Err(refuse(
                IdTokenProblem::IssuerMismatch,
                format!(
                    "iss is {:?}, expected {:?}",
                    iss.chars().take(200).collect::<String>(),
                    expect.issuer
                ),
            ))
        }
        None => return Err(refuse(IdTokenProblem::IssuerMismatch, "it has no iss")),
    }
    // Step 3: aud is a string or an array of strings, one of them ours.
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(aud)) => vec![aud.as_str()],
        Some(Value::Array(values)) => values
            .iter()
            .map(|v| {
                v.as_str()
                    .ok_or_else(|| invalid("its aud holds a non-string"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(invalid("its aud is neither a string nor an array")),
        None => Vec::new(),
    };
    if !audiences.contains(&expect.client_id) {
        return Err(refuse(
            IdTokenProblem::AudienceMismatch,
            format!("aud does not contain the client id {:?}", expect.client_id),
        ));
    }
    // Steps 4 and 5: several audiences need azp; azp, when present, is us.
    match string("azp")? {
        Some(azp) if azp != expect.client_id => {
            return Err(refuse(
                IdTokenProblem::AzpMismatch,
                format!(
                    "azp is {:?}, not the client id {:?}",
                    azp.chars().take(200).collect::<String>(),
                    expect.client_id
                ),
            ))
        }
        None if audiences.len() > 1 => {
            return Err(refuse(
                IdTokenProblem::AzpMismatch,
                "aud names several audiences and there is no azp",
            ))
        }
        _ => {}
    }
    // Step 9: "The current time MUST be before the time represented by the
    // exp Claim (possibly allowing for some small leeway to account for
    // clock skew)".
    let exp = time("exp")?;
    if now.as_secs() >= exp.saturating_add(CLOCK_SKEW_SECS) {
        return Err(refuse(
            IdTokenProblem::Expired,
            format!("exp is {} s ago", now.as_secs().saturating_sub(exp)),
        ));
    }
    // Step 10: iat "can be used to reject tokens that were issued too far
    // away from the current time".
    let iat = time("iat")?;
    if iat > now.as_secs().saturating_add(CLOCK_SKEW_SECS) {
        return Err(refuse(
            IdTokenProblem::IssuedInFuture,
            format!(
                "iat is {} s ahead of this clock (at most {CLOCK_SKEW_SECS} s allowed)",
                iat - now.as_secs()
            ),
        ));
    }
    // Step 11: "If a nonce value was sent in the Authentication Request, a
    // nonce Claim MUST be present and its value checked".
    if let Some(nonce) = expect.nonce {
        if string("nonce")? != Some(nonce) {
            return Err(refuse(
                IdTokenProblem::NonceMismatch,
                "nonce is missing or not the one sent with the authorization request",
            ));
        }
    }
    Ok(CheckedClaims {
        alg,
        kid,
        signing_input: format!("{header}.{payload}"),
        signature,
        claims,
    })
}

/// Reads a JWK Set (RFC 7517 §5): a JSON object whose `keys` is an array.
/// A non-2xx answer is reported as every flow reports one.
pub fn parse_jwks(response: &HttpResponse) -> Result<Vec<Map<String, Value>>, Error> {
    let body = crate::token::parse_json(response, &Redactor::default());
    let not_a_set = || {
        refuse(
            IdTokenProblem::InvalidJwks,
            "expected a JSON object whose keys is an array (RFC 7517 §5)",
        )
    };
    if !response.is_success() {
        return Err(match body {
            Err(error) => error,
            Ok(_) => Error::HttpError {
                status: response.status,
                excerpt: Redactor::default().excerpt(&response.body),
            },
        });
    }
    let keys = match body {
        Ok(Value::Object(mut set)) => match set.remove("keys") {
            Some(Value::Array(keys)) => keys,
            _ => return Err(not_a_set()),
        },
        _ => return Err(not_a_set()),
    };
    // Members that are not objects are ignored, as RFC 7517 §5 has
    // implementations ignore keys they do not understand.
    Ok(keys
        .into_iter()
        .filter_map(|key| match key {
            Value::Object(key) => Some(key),
            _ => None,
        })
        .collect())
}

/// The verification the driver is to do for `token` with a key of `keys`:
/// the key whose `kid` is the token's (or the only one that fits, when the
/// token names none: OIDC Core §10.1 requires a `kid` when there are
/// several), of the token's type, meant for signatures.
pub fn verify_request(
    token: &CheckedClaims,
    keys: &[Map<String, Value>],
) -> Result<VerifyRequest, Error> {
    let text = |key: &Map<String, Value>, name: &str| {
        key.get(name).and_then(Value::as_str).map(str::to_owned)
    };
    let fits = |key: &&Map<String, Value>| {
        let kind = match token.alg {
            VerifyAlgorithm::Rs256 => text(key, "kty").as_deref() == Some("RSA"),
            VerifyAlgorithm::Es256 => {
                text(key, "kty").as_deref() == Some("EC")
                    && text(key, "crv").as_deref() == Some("P-256")
            }
        };
        kind && text(key, "use").is_none_or(|u| u == "sig")
            && text(key, "alg").is_none_or(|a| a == token.alg.name())
            && token
                .kid
                .as_ref()
                .is_none_or(|kid| text(key, "kid").as_ref() == Some(kid))
    };
    let candidates: Vec<&Map<String, Value>> = keys.iter().filter(fits).collect();
    let key =
        match (candidates.as_slice(), &token.kid) {
            ([], Some(kid)) => {
                return Err(refuse(
                    IdTokenProblem::NoKey,
                    format!(
                        "the JWKS has no {} signing key with kid {:?}",
                        token.alg.name(),
                        kid.chars().take(100).collect::<String>()
                    ),
                ))
            }
            ([], None) => {
                return Err(refuse(
                    IdTokenProblem::NoKey,
                    format!("the JWKS has no {} signing key", token.alg.name()),
                ))
            }
            ([key], _) | ([key, ..], Some(_)) => *key,
            (_, None) => return Err(refuse(
                IdTokenProblem::NoKey,
                "the token names no kid and the JWKS has several keys that fit (OIDC Core §10.1)",
            )),
        };
    let bytes = |name: &str| {
        text(key, name)
            .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
            .ok_or_else(|| {
                refuse(
                    IdTokenProblem::NoKey,
                    format!("the key's {name} is missing or not base64url"),
                )
            })
    };
    let mut jwk = Map::new();
    match token.alg {
        VerifyAlgorithm::Rs256 => {
            let n = bytes("n")?;
            bytes("e")?;
            let bits = n
                .iter()
                .position(|b| *b != 0)
                .and_then(|i| Some((n.len() - i) * 8 - n.get(i)?.leading_zeros() as usize))
                .unwrap_or(0);
            if bits < MIN_RSA_BITS {
                return Err(refuse(
                    IdTokenProblem::NoKey,
                    format!("the RSA key has {bits} bits; at least {MIN_RSA_BITS} are required (RFC 7518 §3.3)"),
                ));
            }
            for name in ["kty", "n", "e"] {
                jwk.insert(name.into(), key.get(name).cloned().unwrap_or_default());
            }
        }
        VerifyAlgorithm::Es256 => {
            for name in ["x", "y"] {
                if bytes(name)?.len() != 32 {
                    return Err(refuse(
                        IdTokenProblem::NoKey,
                        format!("the P-256 key's {name} is not 32 octets"),
                    ));
                }
            }
            for name in ["kty", "crv", "x", "y"] {
                jwk.insert(name.into(), key.get(name).cloned().unwrap_or_default());
            }
        }
    }
    Ok(VerifyRequest {
        jwk,
        alg: token.alg,
        message: token.signing_input.clone().into_bytes(),
        signature: token.signature.clone(),
    })
}
