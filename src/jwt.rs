//! Reading JWTs for diagnostics (RFC 7519). Nothing here verifies a
//! signature: a decoded token says what it claims, not that it is true.

use crate::error::Error;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};

/// The header and claims of a JWT, unverified.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodedJwt {
    /// The JOSE header.
    pub header: Map<String, Value>,
    /// The claims set.
    pub claims: Map<String, Value>,
}

/// Splits a compact JWS (`header.payload.signature`) and decodes its header
/// and claims without verifying anything.
pub fn decode_unverified(token: &str) -> Result<DecodedJwt, Error> {
    let token = token.trim();
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        let reason = if parts.len() == 5 {
            "it has five parts: an encrypted JWT (JWE) cannot be read without its key".to_owned()
        } else {
            format!(
                "a JWT has three dot-separated parts; this has {}",
                parts.len()
            )
        };
        return Err(Error::InvalidJwt { reason });
    }
    Ok(DecodedJwt {
        header: decode_part(parts[0], "header")?,
        claims: decode_part(parts[1], "payload")?,
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
