//! RSA private keys for signing assertions: JWK (RFC 7517/7518 §6.3) and
//! PEM (PKCS#8 `BEGIN PRIVATE KEY`, PKCS#1 `BEGIN RSA PRIVATE KEY`).
//!
//! Key material is held by `rsa::RsaPrivateKey`, which zeroizes it on drop,
//! and is never printed: errors say what is wrong, never what the key is.

use crate::error::{Error, KeyProblem};
use crate::options::ConfigField;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPublicKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rsa::sha2::{Digest, Sha256};
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPrivateKey};
use serde_json::{Map, Value};
use sha1::Sha1;
use std::fmt;
use zeroize::Zeroizing;

/// The smallest modulus accepted, in bits (RFC 7518 §3.3: "A key of size
/// 2048 bits or larger MUST be used with these algorithms").
pub const MIN_RSA_BITS: usize = 2048;

/// JWS algorithms grantkit signs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, tsify::Tsify)]
#[serde(rename_all = "UPPERCASE")]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3); deterministic.
    Rs256,
    /// RSASSA-PSS with SHA-256 and a 32-byte salt (RFC 7518 §3.5).
    Ps256,
}

impl Algorithm {
    /// The `alg` header value.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Rs256 => "RS256",
            Algorithm::Ps256 => "PS256",
        }
    }

    /// Reads an `alg` value.
    pub fn from_name(name: &str) -> Result<Self, Error> {
        match name {
            "RS256" => Ok(Algorithm::Rs256),
            "PS256" => Ok(Algorithm::Ps256),
            _ => Err(Error::config(
                ConfigField::Algorithm,
                "must be \"RS256\" or \"PS256\"",
            )),
        }
    }
}

/// An RSA private key with the metadata a JWS header needs.
#[derive(Clone)]
pub struct PrivateKey {
    key: RsaPrivateKey,
    /// The key as PKCS#8 DER, encoded once at import (zeroed on drop).
    der: Zeroizing<Vec<u8>>,
    kid: Option<String>,
    alg: Option<Algorithm>,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("bits", &self.bits())
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl PrivateKey {
    /// Reads a key from text: a JWK as JSON (starts with `{`), or PEM.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let text = text.trim();
        if text.starts_with('{') {
            let value: Value = serde_json::from_str(text)
                .map_err(|_| malformed("the key looks like a JWK but is not valid JSON"))?;
            Self::from_jwk(&value)
        } else if text.starts_with("-----BEGIN ") {
            Self::from_pem(text)
        } else {
            Err(malformed(
                "expected a JWK (JSON) or a PEM block (-----BEGIN ...)",
            ))
        }
    }

    /// Reads a private RSA JWK (RFC 7518 §6.3.2). `p` and `q` are used when
    /// present and recovered from `n`, `e`, `d` otherwise; the other CRT
    /// members are recomputed.
    pub fn from_jwk(jwk: &Value) -> Result<Self, Error> {
        let Some(jwk) = jwk.as_object() else {
            return Err(malformed("a JWK is a JSON object"));
        };
        match jwk.get("kty").and_then(Value::as_str) {
            Some("RSA") => {}
            Some(kty) => {
                return Err(Error::InvalidKey(KeyProblem::NotRsa {
                    found: format!("a JWK with kty {:?}", truncate(kty)),
                }))
            }
            None => return Err(malformed("the JWK has no kty")),
        }
        if jwk.get("d").is_none() {
            return Err(Error::InvalidKey(KeyProblem::PublicOnly));
        }
        if jwk.contains_key("oth") {
            return Err(malformed("multi-prime RSA keys (oth) are not supported"));
        }
        let n = jwk_uint(jwk, "n")?;
        let e = jwk_uint(jwk, "e")?;
        let d = jwk_uint(jwk, "d")?;
        check_bits(n.bits())?;
        // RSA needs 1 < e and 1 < d < n. Outside that, recovering the primes
        // from n, e and d panics inside the rsa crate (d = 0: `d * e - 1`
        // underflows), so such numbers are refused here (found by fuzzing).
        let one = BigUint::from(1u8);
        if e <= one || d <= one || d >= n {
            return Err(malformed("the JWK's e or d is out of range for its n"));
        }
        let primes = match (jwk.get("p"), jwk.get("q")) {
            (Some(_), Some(_)) => vec![jwk_uint(jwk, "p")?, jwk_uint(jwk, "q")?],
            (None, None) => Vec::new(),
            _ => return Err(malformed("the JWK has one of p and q but not the other")),
        };
        let key = RsaPrivateKey::from_components(n, e, d, primes)
            .map_err(|_| malformed("the JWK's numbers do not form an RSA key"))?;
        let kid = jwk.get("kid").and_then(Value::as_str).map(str::to_owned);
        let alg = jwk
            .get("alg")
            .and_then(Value::as_str)
            .and_then(|alg| Algorithm::from_name(alg).ok());
        Self::checked(key, kid, alg)
    }

    /// Reads a PEM private key: PKCS#8 or PKCS#1.
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        let label = pem_label(pem).ok_or_else(|| malformed("no PEM header line"))?;
        let key = match label {
            "PRIVATE KEY" if !pkcs8_is_rsa(pem) => {
                return Err(Error::InvalidKey(KeyProblem::NotRsa {
                    found: "a PKCS#8 key of another algorithm".into(),
                }))
            }
            "PRIVATE KEY" => RsaPrivateKey::from_pkcs8_pem(pem)
                .map_err(|_| malformed("the PKCS#8 PEM does not decode"))?,
            "RSA PRIVATE KEY" if pem.contains("ENCRYPTED") => {
                return Err(Error::InvalidKey(KeyProblem::Encrypted))
            }
            "RSA PRIVATE KEY" => RsaPrivateKey::from_pkcs1_pem(pem)
                .map_err(|_| malformed("the PKCS#1 PEM does not decode"))?,
            "ENCRYPTED PRIVATE KEY" => return Err(Error::InvalidKey(KeyProblem::Encrypted)),
            "PUBLIC KEY" | "RSA PUBLIC KEY" | "CERTIFICATE" => {
                return Err(Error::InvalidKey(KeyProblem::PublicOnly))
            }
            "EC PRIVATE KEY" | "DSA PRIVATE KEY" => {
                return Err(Error::InvalidKey(KeyProblem::NotRsa {
                    found: format!("a {label}"),
                }))
            }
            other => {
                return Err(malformed(&format!(
                    "unsupported PEM label {:?}; expected PRIVATE KEY or RSA PRIVATE KEY",
                    truncate(other)
                )))
            }
        };
        Self::checked(key, None, None)
    }

    fn checked(
        key: RsaPrivateKey,
        kid: Option<String>,
        alg: Option<Algorithm>,
    ) -> Result<Self, Error> {
        check_bits(key.size() * 8)?;
        key.validate()
            .map_err(|_| malformed("the key's numbers are not consistent"))?;
        let der = key
            .to_pkcs8_der()
            .map_err(|_| malformed("the key does not encode as PKCS#8"))?;
        Ok(PrivateKey {
            der: Zeroizing::new(der.as_bytes().to_vec()),
            key,
            kid,
            alg,
        })
    }

    /// The modulus size in bits.
    pub fn bits(&self) -> usize {
        self.key.n().bits()
    }

    /// The JWK `kid`, if the key had one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The JWK `alg`, if the key had a supported one.
    pub fn alg(&self) -> Option<Algorithm> {
        self.alg
    }

    /// The key itself, for signing.
    pub(crate) fn rsa(&self) -> &RsaPrivateKey {
        &self.key
    }

    /// The key as PKCS#8 DER, to hand to WebCrypto's `importKey("pkcs8")`.
    /// The buffer is zeroed when dropped.
    pub fn to_pkcs8_der(&self) -> &[u8] {
        &self.der
    }

    /// Whether the DER certificate holds this key's public key. The
    /// certificate's SubjectPublicKeyInfo wraps the PKCS#1 RSAPublicKey, so
    /// its exact bytes appear in the certificate.
    fn matches_certificate(&self, der: &[u8]) -> bool {
        let Ok(public) = self.key.to_public_key().to_pkcs1_der() else {
            return false;
        };
        let public = public.as_bytes();
        der.windows(public.len()).any(|w| w == public)
    }
}

/// The thumbprints of an X.509 certificate that go into a JWS header
/// (RFC 7515 §4.1.7, §4.1.8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateThumbprints {
    /// `x5t`: base64url of the SHA-1 of the DER certificate.
    pub x5t: String,
    /// `x5t#S256`: base64url of the SHA-256 of the DER certificate.
    pub x5t_s256: String,
}

impl CertificateThumbprints {
    /// Reads a PEM certificate and checks that it belongs to `key`.
    pub fn from_pem(pem: &str, key: &PrivateKey) -> Result<Self, Error> {
        let bad = |reason: &str| Error::config(ConfigField::Certificate, reason);
        if pem_label(pem.trim()) != Some("CERTIFICATE") {
            return Err(bad(
                "expected a PEM certificate (-----BEGIN CERTIFICATE-----)",
            ));
        }
        let der = pem_body(pem.trim()).ok_or_else(|| bad("the certificate PEM does not decode"))?;
        if !key.matches_certificate(&der) {
            return Err(bad("the certificate does not belong to the private key"));
        }
        Ok(CertificateThumbprints {
            x5t: URL_SAFE_NO_PAD.encode(Sha1::digest(&der)),
            x5t_s256: URL_SAFE_NO_PAD.encode(Sha256::digest(&der)),
        })
    }
}

fn check_bits(bits: usize) -> Result<(), Error> {
    if bits < MIN_RSA_BITS {
        return Err(Error::InvalidKey(KeyProblem::TooSmall { bits }));
    }
    Ok(())
}

fn jwk_uint(jwk: &Map<String, Value>, name: &str) -> Result<BigUint, Error> {
    let text = jwk
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| malformed(&format!("the JWK member {name} is missing or not a string")))?;
    let bytes = Zeroizing::new(
        URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| malformed(&format!("the JWK member {name} is not base64url")))?,
    );
    Ok(BigUint::from_bytes_be(&bytes))
}

/// The label of the first PEM boundary line (`PRIVATE KEY`, ...).
fn pem_label(pem: &str) -> Option<&str> {
    let rest = pem.trim_start().strip_prefix("-----BEGIN ")?;
    rest.split_once("-----").map(|(label, _)| label)
}

/// The DER bytes of a one-block PEM without headers.
fn pem_body(pem: &str) -> Option<Vec<u8>> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .filter(|line| !line.starts_with("-----"))
        .collect();
    STANDARD.decode(body).ok()
}

/// Whether a PKCS#8 PEM names rsaEncryption (1.2.840.113549.1.1.1) as its
/// algorithm: the OID's DER encoding is in the AlgorithmIdentifier near the
/// start. An undecodable body counts as RSA, so it is reported as malformed.
fn pkcs8_is_rsa(pem: &str) -> bool {
    const RSA_ENCRYPTION_OID: [u8; 11] = [
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
    ];
    let Some(der) = pem_body(pem).map(Zeroizing::new) else {
        return true;
    };
    der.iter()
        .take(32)
        .copied()
        .collect::<Vec<u8>>()
        .windows(RSA_ENCRYPTION_OID.len())
        .any(|w| w == RSA_ENCRYPTION_OID)
}

fn malformed(reason: &str) -> Error {
    Error::InvalidKey(KeyProblem::Malformed {
        reason: reason.to_owned(),
    })
}

fn truncate(text: &str) -> String {
    text.chars().take(40).collect()
}

/// An RSA public key for encryption: PEM SPKI (`BEGIN PUBLIC KEY`) or
/// PKCS#1 (`BEGIN RSA PUBLIC KEY`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey(rsa::RsaPublicKey);

impl PublicKey {
    /// Reads a PEM public key.
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        use rsa::pkcs1::DecodeRsaPublicKey;
        use rsa::pkcs8::DecodePublicKey;
        let pem = pem.trim();
        let key = match pem_label(pem) {
            Some("PUBLIC KEY") => rsa::RsaPublicKey::from_public_key_pem(pem)
                .map_err(|_| malformed("the SPKI public key does not decode (or is not RSA)"))?,
            Some("RSA PUBLIC KEY") => rsa::RsaPublicKey::from_pkcs1_pem(pem)
                .map_err(|_| malformed("the PKCS#1 public key does not decode"))?,
            _ => {
                return Err(malformed(
                    "expected BEGIN PUBLIC KEY or BEGIN RSA PUBLIC KEY",
                ))
            }
        };
        check_bits(key.n().bits())?;
        Ok(PublicKey(key))
    }

    pub(crate) fn rsa(&self) -> &rsa::RsaPublicKey {
        &self.0
    }
}
