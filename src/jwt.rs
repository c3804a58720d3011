//! Reading JWTs for diagnostics (RFC 7519). Nothing here verifies a
//! signature: a decoded token says what it claims, not that it is true.

use crate::error::Error;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;
use serde_json::{Map, Value};

/// The header and claims of a JWT, unverified.
#[derive(Clone, Debug, PartialEq, Serialize, tsify::Tsify)]
pub struct DecodedJwt {
    /// The JOSE header.
    #[tsify(type = "Record<string, unknown>")]
    pub header: Map<String, Value>,
    /// The claims set.
    #[tsify(type = "Record<string, unknown>")]
    pub claims: Map<String, Value>,
}

/// Splits a compact JWS (`header.payload.signature`) and decodes its header
/// and claims without verifying anything.
pub fn decode_unverified(token: &str) -> Result<DecodedJwt, Error> {
    let token = token.trim();
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, _signature] = parts.as_slice() else {
        let reason = if parts.len() == 5 {
            "it has five parts: an encrypted JWT (JWE) cannot be read without its key".to_owned()
        } else {
            format!(
                "a JWT has three dot-separated parts; this has {}",
                parts.len()
            )
        };
        return Err(Error::InvalidJwt { reason });
    };
    Ok(DecodedJwt {
        header: decode_part(header, "header")?,
        claims: decode_part(payload, "payload")?,
    })
}

fn decode_part(part: &str, name: &str) -> Result<Map<String, Value>, Error> {
    let invalid = |what: &str| Error::InvalidJwt {
        reason: format!("the {name} {what}"),
    };
    // RFC 7515 §2: base64url without padding; padding is tolerated here.
    let bytes = URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| invalid("is not base64url"))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(invalid("is not a JSON object")),
    }
}

/// The JOSE header of an assertion grantkit signs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JwsHeader {
    /// `alg`.
    pub alg: crate::keys::Algorithm,
    /// `kid`, from the key.
    pub kid: Option<String>,
    /// `x5t` and `x5t#S256`, from a certificate (Microsoft Entra ID's
    /// certificate credentials).
    pub thumbprints: Option<crate::keys::CertificateThumbprints>,
}

impl JwsHeader {
    /// `{"alg":..,"typ":"JWT","kid":..,"x5t":..,"x5t#S256":..}`, members in
    /// that order, absent ones left out.
    pub fn to_json(&self) -> String {
        /// A struct's members serialize in declaration order.
        #[derive(Serialize)]
        struct Header<'a> {
            alg: &'a str,
            typ: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            kid: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            x5t: Option<&'a str>,
            #[serde(rename = "x5t#S256", skip_serializing_if = "Option::is_none")]
            x5t_s256: Option<&'a str>,
        }
        let header = Header {
            alg: self.alg.name(),
            typ: "JWT",
            kid: self.kid.as_deref(),
            x5t: self.thumbprints.as_ref().map(|t| t.x5t.as_str()),
            x5t_s256: self.thumbprints.as_ref().map(|t| t.x5t_s256.as_str()),
        };
        serde_json::to_string(&header).unwrap_or_default()
    }
}

/// The claims of a JWT assertion (RFC 7523 §3) before it is dated.
#[derive(Clone, Debug, PartialEq)]
pub struct AssertionClaims {
    /// `iss`: who made the assertion (the service account or client id).
    pub issuer: String,
    /// `sub`: who it is about.
    pub subject: String,
    /// `aud`: the token endpoint, exactly as configured.
    pub audience: String,
    /// `exp - iat`, in seconds.
    pub lifetime_secs: u64,
    /// Whether to add `nbf` equal to `iat`.
    pub not_before: bool,
    /// More claims, after the registered ones.
    pub extra: Map<String, Value>,
}

/// Claims an extra claim may not replace.
pub const REGISTERED_CLAIMS: [&str; 7] = ["iss", "sub", "aud", "iat", "exp", "nbf", "jti"];

impl AssertionClaims {
    /// The claims as JSON, dated `now`, with this `jti`: `iss, sub, aud,
    /// iat, exp, nbf?, jti`, then the extra claims.
    pub fn to_json(&self, now: crate::time::UnixTime, jti: &str) -> String {
        /// A struct's members serialize in declaration order; the extra
        /// claims follow, in the map's order.
        #[derive(Serialize)]
        struct Claims<'a> {
            iss: &'a str,
            sub: &'a str,
            aud: &'a str,
            iat: u64,
            exp: u64,
            #[serde(skip_serializing_if = "Option::is_none")]
            nbf: Option<u64>,
            jti: &'a str,
            #[serde(flatten)]
            extra: &'a Map<String, Value>,
        }
        let iat = now.as_secs();
        let claims = Claims {
            iss: &self.issuer,
            sub: &self.subject,
            aud: &self.audience,
            iat,
            exp: iat.saturating_add(self.lifetime_secs),
            nbf: self.not_before.then_some(iat),
            jti,
            extra: &self.extra,
        };
        serde_json::to_string(&claims).unwrap_or_default()
    }
}

/// `BASE64URL(header) || '.' || BASE64URL(claims)` (RFC 7515 §5.1).
pub fn signing_input(header_json: &str, claims_json: &str) -> String {
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header_json),
        URL_SAFE_NO_PAD.encode(claims_json)
    )
}

/// The compact serialization: the signing input, `.`, the signature.
pub fn compact(signing_input: &str, signature: &[u8]) -> String {
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// A `jti`: 128 random bits, base64url (22 characters).
pub fn new_jti(rng: &mut dyn rsa::rand_core::CryptoRngCore) -> String {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}
