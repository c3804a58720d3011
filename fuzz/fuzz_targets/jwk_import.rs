//! `PrivateKey::parse` on JWK-like text (RFC 7517, RFC 7518 §6.3), and
//! `PrivateKey::from_jwk` on whatever JSON that text is. A key that
//! imports must export and, now and then (signing is slow), sign.
#![no_main]

use grantkit::keys::{Algorithm, PrivateKey};
use grantkit_fuzz::FuzzRng;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    check(PrivateKey::parse(&text), data.len());
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) {
        check(PrivateKey::from_jwk(&value), data.len());
    }
});

fn check(result: Result<PrivateKey, grantkit::Error>, len: usize) {
    match result {
        Ok(key) => {
            let _ = format!("{key:?} {} {:?} {:?}", key.bits(), key.kid(), key.alg());
            let _ = key.to_pkcs8_der();
            if len % 32 == 0 {
                let alg = key.alg().unwrap_or(Algorithm::Rs256);
                let signature =
                    grantkit::crypto::sign(&key, alg, b"fuzz", &mut FuzzRng::new(len as u64));
                assert_eq!(signature.len() * 8, key.bits().div_ceil(8) * 8);
            }
        }
        Err(error) => {
            let _ = format!("{error} {error:?} {}", error.code());
        }
    }
}
