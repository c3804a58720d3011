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
