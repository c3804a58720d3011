//! PEM keys on any text: `PrivateKey::parse` / `from_pem` (PKCS#8, PKCS#1),
//! `PublicKey::from_pem` (SPKI, PKCS#1), and `CertificateThumbprints::
//! from_pem` against a fixed key. A private key that imports must export
//! and, now and then (signing is slow), sign.
#![no_main]

use grantkit::keys::{Algorithm, CertificateThumbprints, PrivateKey, PublicKey};
use grantkit_fuzz::FuzzRng;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const FIXTURE_KEY: &str = include_str!("../../tests/fixtures/rsa2048.pkcs8.pem");

fn fixture_key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| PrivateKey::parse(FIXTURE_KEY).expect("the fixture key imports"))
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for result in [PrivateKey::parse(&text), PrivateKey::from_pem(&text)] {
        match result {
            Ok(key) => {
                let _ = format!("{key:?} {}", key.bits());
                let _ = key.to_pkcs8_der();
                if data.len() % 32 == 0 {
                    let signature = grantkit::crypto::sign(
                        &key,
                        Algorithm::Rs256,
                        b"fuzz",
                        &mut FuzzRng::new(data.len() as u64),
                    );
                    assert_eq!(signature.len() * 8, key.bits().div_ceil(8) * 8);
                }
            }
            Err(error) => {
                let _ = format!("{error} {error:?} {}", error.code());
            }
        }
    }
    match PublicKey::from_pem(&text) {
        Ok(key) => {
            let _ = format!("{key:?}");
        }
        Err(error) => {
            let _ = format!("{error} {error:?} {}", error.code());
        }
    }
    match CertificateThumbprints::from_pem(&text, fixture_key()) {
        Ok(thumbprints) => {
            let _ = format!("{thumbprints:?}");
        }
        Err(error) => {
            let _ = format!("{error} {error:?} {}", error.code());
        }
    }
});
