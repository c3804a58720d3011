//! Signing, with the pure-Rust `rsa` crate: the reference signer, which
//! works in every runtime. (The wasm driver may sign with WebCrypto
//! instead; for RS256 both give the same bytes.)
//!
//! Signing is blinded: `sign_with_rng` randomizes the private-key
//! operation. Note RUSTSEC-2023-0071 (Marvin): `rsa` 0.9 is not constant
//! time, and blinding is its mitigation, not a proof. Where the runtime has
//! WebCrypto, the driver prefers it.

use crate::keys::{Algorithm, PrivateKey};
use rsa::rand_core::CryptoRngCore;
use rsa::sha2::Sha256;
use rsa::signature::{RandomizedSigner, SignatureEncoding};

/// Signs `message` with `key`.
pub fn sign(
    key: &PrivateKey,
    alg: Algorithm,
    message: &[u8],
    rng: &mut dyn CryptoRngCore,
) -> Vec<u8> {
    let mut rng = RngRef(rng);
    match alg {
        Algorithm::Rs256 => rsa::pkcs1v15::SigningKey::<Sha256>::new(key.rsa().clone())
            .sign_with_rng(&mut rng, message)
            .to_vec(),
        // RFC 7518 §3.5: "the size of the salt value is the same size as
        // the hash function output" — rsa's default for PSS.
        Algorithm::Ps256 => rsa::pss::BlindedSigningKey::<Sha256>::new(key.rsa().clone())
            .sign_with_rng(&mut rng, message)
            .to_vec(),
    }
}

/// Verifies an RS256 signature (RFC 7518 §3.3) with the RSA public key of
/// a JWK's `n` and `e`: the driver's fallback where the runtime has no
/// WebCrypto. `None` when the JWK is not a usable RSA key.
pub fn verify_rs256(
    jwk: &serde_json::Map<String, serde_json::Value>,
    message: &[u8],
    signature: &[u8],
) -> Option<bool> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use rsa::signature::Verifier;
    let member = |name: &str| URL_SAFE_NO_PAD.decode(jwk.get(name)?.as_str()?).ok();
    let key = rsa::RsaPublicKey::new(
        rsa::BigUint::from_bytes_be(&member("n")?),
        rsa::BigUint::from_bytes_be(&member("e")?),
    )
    .ok()?;
    let key = rsa::pkcs1v15::VerifyingKey::<Sha256>::new(key);
    let Ok(signature) = rsa::pkcs1v15::Signature::try_from(signature) else {
        return Some(false);
    };
    Some(key.verify(message, &signature).is_ok())
}

/// Lets a `&mut dyn CryptoRngCore` be used where a sized RNG is wanted.
struct RngRef<'a>(&'a mut dyn CryptoRngCore);

impl rsa::rand_core::RngCore for RngRef<'_> {
    fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }
    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill_bytes(dest)
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rsa::rand_core::Error> {
        self.0.try_fill_bytes(dest)
    }
}

impl rsa::rand_core::CryptoRng for RngRef<'_> {}

/// RSAES-PKCS1-v1_5 encryption (RFC 8017 §7.2.1) of `message` to `key`.
/// Randomized: the padding takes fresh random bytes from `rng`. `None` when
/// the message is longer than the key allows (its size in bytes minus 11).
pub fn encrypt_pkcs1v15(
    key: &crate::keys::PublicKey,
    message: &[u8],
    rng: &mut dyn CryptoRngCore,
) -> Option<Vec<u8>> {
    key.rsa()
        .encrypt(&mut RngRef(rng), rsa::Pkcs1v15Encrypt, message)
        .ok()
}

/// HMAC-SHA-256 (RFC 2104) of `message` keyed with `key`: the HS256
/// signature of a `client_secret_jwt` assertion (RFC 7518 §3.2).
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    use rsa::sha2::digest::Mac;
    // HMAC takes a key of any length (RFC 2104 §2: longer keys are hashed
    // first), so `new_from_slice` cannot fail.
    let mut mac = match hmac::Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return [0; 32],
    };
    mac.update(message);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::hmac_sha256;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// RFC 4231 §4.3 (test case 2: a key shorter than the block) and §4.7
    /// (test case 6: a 131-byte key, hashed first).
    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex(&hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }
}
