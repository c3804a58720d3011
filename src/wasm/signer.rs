//! Signing for the driver: WebCrypto where the runtime has it, the pure-Rust
//! signer otherwise (or when asked for).
//!
//! WebCrypto gets the key once, as a non-extractable `CryptoKey`, and signs
//! at native speed with the platform's constant-time code. RS256 is
//! deterministic, so both signers give the same bytes; tests check that.

use crate::dpop::{DpopPublicKey, DpopSession, ProofRequest};
use crate::error::{Error, IdTokenProblem};
use crate::flow::{SignRequest, VerifyRequest};
use crate::id_token::VerifyAlgorithm;
use crate::keys::{Algorithm, PrivateKey};
use crate::options::schema::SignerChoice;
use crate::options::ConfigField;
use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Signs for one JS object; caches the imported `CryptoKey`.
pub(crate) struct Signer {
    choice: SignerChoice,
    imported: RefCell<Option<(Arc<PrivateKey>, Algorithm, JsValue)>>,
}

impl Signer {
    pub fn new(choice: SignerChoice) -> Self {
        Signer {
            choice,
            imported: RefCell::new(None),
        }
    }

    pub async fn sign(&self, request: &SignRequest) -> Result<Vec<u8>, Error> {
        let subtle = subtle();
        match (self.choice, subtle) {
            (SignerChoice::Rust, _) | (SignerChoice::Auto, None) => Ok(crate::crypto::sign(
                &request.key,
                request.alg,
                &request.message,
                &mut rand_core::OsRng,
            )),
            (SignerChoice::WebCrypto, None) => Err(Error::config(
                ConfigField::Signer,
                "this runtime has no WebCrypto (crypto.subtle); use signer \"rust\" or \"auto\"",
            )),
            (_, Some(subtle)) => self.sign_with_webcrypto(&subtle, request).await,
        }
    }

    async fn sign_with_webcrypto(
        &self,
        subtle: &JsValue,
        request: &SignRequest,
    ) -> Result<Vec<u8>, Error> {
        let key = self.crypto_key(subtle, &request.key, request.alg).await?;
        let data = Uint8Array::from(request.message.as_slice());
        let signature = call(
            subtle,
            "sign",
            &[params(request.alg, true), key, data.into()],
        )?;
        let signature = JsFuture::from(signature).await.map_err(webcrypto_error)?;
        Ok(Uint8Array::new(&signature).to_vec())
    }

    /// The `CryptoKey` for this key and algorithm, imported on first use.
    async fn crypto_key(
        &self,
        subtle: &JsValue,
        key: &Arc<PrivateKey>,
        alg: Algorithm,
    ) -> Result<JsValue, Error> {
        if let Some((cached, cached_alg, crypto_key)) = &*self.imported.borrow() {
            if Arc::ptr_eq(cached, key) && *cached_alg == alg {
                return Ok(crypto_key.clone());
            }
        }
        let data = Uint8Array::from(key.to_pkcs8_der());
        let usages = Array::of1(&"sign".into());
        // extractable = false: the key cannot be read back out of WebCrypto.
        let imported = call(
            subtle,
            "importKey",
            &[
                "pkcs8".into(),
                data.clone().into(),
                params(alg, false),
                false.into(),
                usages.into(),
            ],
        )?;
        let imported = JsFuture::from(imported).await.map_err(webcrypto_error);
        data.fill(0, 0, data.length()); // the JS copy of the DER
        let crypto_key = imported?;
        *self.imported.borrow_mut() = Some((key.clone(), alg, crypto_key.clone()));
        Ok(crypto_key)
    }
}

/// Verifies an ID token's signature: with WebCrypto where the runtime has
/// it, else (RS256 only) with the rsa crate. A key the runtime refuses is
/// ID_TOKEN_NO_KEY; a signature that does not verify is `Ok(false)`.
pub(crate) async fn verify(request: &VerifyRequest) -> Result<bool, Error> {
    let unusable = |why: String| Error::IdToken {
        problem: IdTokenProblem::NoKey,
        detail: why,
    };
    let Some(subtle) = subtle() else {
        return match request.alg {
            VerifyAlgorithm::Rs256 => {
                crate::crypto::verify_rs256(&request.jwk, &request.message, &request.signature)
                    .ok_or_else(|| unusable("the issuer's RSA key does not import".into()))
            }
            VerifyAlgorithm::Es256 => Err(Error::IdToken {
                problem: IdTokenProblem::UnsupportedAlg,
                detail: "ES256 needs WebCrypto (crypto.subtle), which this runtime lacks".into(),
            }),
        };
    };
    let (import, verify) = verify_params(request.alg);
    let jwk = crate::wasm::errors::to_js_json(&request.jwk);
    let imported = call(
        &subtle,
        "importKey",
        &[
            "jwk".into(),
            jwk,
            import,
            false.into(),
            Array::of1(&"verify".into()).into(),
        ],
    )
    .map_err(|e| unusable(format!("WebCrypto: {e}")))?;
    let key = JsFuture::from(imported).await.map_err(|e| {
        unusable(format!(
            "the runtime refused the key: {}",
            js_error_message(&e)
        ))
    })?;
    let signature = Uint8Array::from(request.signature.as_slice());
    let data = Uint8Array::from(request.message.as_slice());
    let verified = call(
        &subtle,
        "verify",
        &[verify, key, signature.into(), data.into()],
    )
    .map_err(|e| unusable(format!("WebCrypto: {e}")))?;
    let verified = JsFuture::from(verified).await.map_err(|e| {
        unusable(format!(
            "the runtime could not verify: {}",
            js_error_message(&e)
        ))
    })?;
    Ok(verified.as_bool() == Some(true))
}

/// The WebCrypto parameters of a verification algorithm: for importKey,
/// then for verify.
fn verify_params(alg: VerifyAlgorithm) -> (JsValue, JsValue) {
    let object = |pairs: &[(&str, &str)]| {
        let object = Object::new();
        for (k, v) in pairs {
            let _ = Reflect::set(&object, &(*k).into(), &(*v).into());
        }
        JsValue::from(object)
    };
    match alg {
        VerifyAlgorithm::Rs256 => (
            object(&[("name", "RSASSA-PKCS1-v1_5"), ("hash", "SHA-256")]),
            object(&[("name", "RSASSA-PKCS1-v1_5")]),
        ),
        // RFC 7518 §3.4: the JWS signature is R || S, the form WebCrypto's
        // ECDSA verify takes.
        VerifyAlgorithm::Es256 => (
            object(&[("name", "ECDSA"), ("namedCurve", "P-256")]),
            object(&[("name", "ECDSA"), ("hash", "SHA-256")]),
        ),
    }
}

/// `crypto.subtle`, if the runtime has it.
fn subtle() -> Option<JsValue> {
    let crypto = Reflect::get(&js_sys::global(), &"crypto".into()).ok()?;
    let subtle = Reflect::get(&crypto, &"subtle".into()).ok()?;
    (!subtle.is_undefined() && !subtle.is_null()).then_some(subtle)
}

/// The WebCrypto algorithm parameters: for importKey, and for sign (PSS
/// needs its salt length there: RFC 7518 §3.5, the hash size).
fn params(alg: Algorithm, for_sign: bool) -> JsValue {
    let object = Object::new();
    let set = |k: &str, v: JsValue| {
        let _ = Reflect::set(&object, &k.into(), &v);
    };
    match alg {
        Algorithm::Rs256 => set("name", "RSASSA-PKCS1-v1_5".into()),
        Algorithm::Ps256 => {
            set("name", "RSA-PSS".into());
            if for_sign {
                set("saltLength", 32.into());
            }
        }
    }
    if !for_sign {
        set("hash", "SHA-256".into());
    }
    object.into()
}

fn call(target: &JsValue, method: &str, args: &[JsValue]) -> Result<Promise, Error> {
    let function: Function = Reflect::get(target, &method.into())
        .map_err(webcrypto_error)?
        .dyn_into()
        .map_err(webcrypto_error)?;
    let args: Array = args.iter().collect();
    let result = function.apply(target, &args).map_err(webcrypto_error)?;
    Ok(Promise::resolve(&result))
}

fn webcrypto_error(error: JsValue) -> Error {
    Error::Signing {
        message: js_error_message(&error),
    }
}

/// The message of what WebCrypto threw, bounded.
fn js_error_message(error: &JsValue) -> String {
    let message = Reflect::get(error, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| "WebCrypto failed".into());
    message.chars().take(200).collect()
}

/// The DPoP key pair of one flow object (and the TokenSource over it): an
/// ECDSA P-256 pair made with WebCrypto on first use, its private key
/// non-extractable (RFC 9449 §2 asks that it not leave the client), and the
/// core's session (public key, servers' nonces).
#[derive(Default)]
pub(crate) struct DpopKeys {
    made: RefCell<Option<Rc<DpopKey>>>,
}

pub(crate) struct DpopKey {
    private: JsValue,
    pub session: RefCell<DpopSession>,
}

impl DpopKeys {
    /// The key pair, made on first use. Two first uses may race across an
    /// await: the first pair made is kept, so every token is bound to it.
    pub async fn key(&self) -> Result<Rc<DpopKey>, Error> {
        if let Some(key) = &*self.made.borrow() {
            return Ok(key.clone());
        }
        let made = Rc::new(make_dpop_key().await?);
        Ok(self.made.borrow_mut().get_or_insert(made).clone())
    }

    /// The key pair, if it was made.
    pub fn made(&self) -> Option<Rc<DpopKey>> {
        self.made.borrow().clone()
    }

    /// A compact proof for `request` ([`DpopSession::signing_input`], signed
    /// ES256: WebCrypto's ECDSA signature is R || S, the JWS form, RFC 7518
    /// §3.4).
    pub async fn prove(&self, request: &ProofRequest) -> Result<String, Error> {
        let key = self.key().await?;
        let input = key.session.borrow().signing_input(
            request,
            super::driver::now(),
            &mut rand_core::OsRng,
        );
        let subtle = subtle().ok_or_else(no_webcrypto)?;
        let data = Uint8Array::from(input.as_bytes());
        let signature = call(
            &subtle,
            "sign",
            &[
                ecdsa(&[("hash", "SHA-256")]),
                key.private.clone(),
                data.into(),
            ],
        )?;
        let signature = JsFuture::from(signature).await.map_err(webcrypto_error)?;
        Ok(crate::jwt::compact(
            &input,
            &Uint8Array::new(&signature).to_vec(),
        ))
    }
}

fn no_webcrypto() -> Error {
    Error::DpopUnavailable {
        reason: "this runtime has no WebCrypto (crypto.subtle) to keep a non-extractable key in"
            .into(),
    }
}

/// `{name: "ECDSA", ...pairs}`.
fn ecdsa(pairs: &[(&str, &str)]) -> JsValue {
    let object = Object::new();
    let _ = Reflect::set(&object, &"name".into(), &"ECDSA".into());
    for (k, v) in pairs {
        let _ = Reflect::set(&object, &(*k).into(), &(*v).into());
    }
    object.into()
}

async fn make_dpop_key() -> Result<DpopKey, Error> {
    let subtle = subtle().ok_or_else(no_webcrypto)?;
    let unavailable = |what: &str, error: JsValue| Error::DpopUnavailable {
        reason: format!("WebCrypto could not {what}: {}", js_error_message(&error)),
    };
    // extractable = false: the private key cannot be read out of WebCrypto
    // (the public key of a pair is always exportable).
    let pair = Reflect::get(&subtle, &"generateKey".into())
        .and_then(|f| {
            let f: Function = f.dyn_into()?;
            let args: Array = [
                ecdsa(&[("namedCurve", "P-256")]),
                false.into(),
                Array::of1(&"sign".into()).into(),
            ]
            .iter()
            .collect();
            f.apply(&subtle, &args)
        })
        .map_err(|e| unavailable("make an ECDSA P-256 key pair", e))?;
    let pair = JsFuture::from(Promise::resolve(&pair))
        .await
        .map_err(|e| unavailable("make an ECDSA P-256 key pair", e))?;
    let private = Reflect::get(&pair, &"privateKey".into()).unwrap_or_default();
    let public = Reflect::get(&pair, &"publicKey".into()).unwrap_or_default();
    let exported = call(&subtle, "exportKey", &["jwk".into(), public])?;
    let jwk = JsFuture::from(exported)
        .await
        .map_err(|e| unavailable("export the public key", e))?;
    // Read as a JSON value, not as a map: serde_json's refusal of a
    // non-object would format floats, ~20 KB of the module.
    let jwk = match js_sys::JSON::stringify(&jwk)
        .ok()
        .and_then(|text| text.as_string())
        .and_then(|text| serde_json::from_str(&text).ok())
    {
        Some(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let key = DpopPublicKey::from_jwk(&jwk)?;
    Ok(DpopKey {
        private,
        session: RefCell::new(DpopSession::new(key)),
    })
}
