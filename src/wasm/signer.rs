//! Signing for the driver: WebCrypto where the runtime has it, the pure-Rust
//! signer otherwise (or when asked for).
//!
//! WebCrypto gets the key once, as a non-extractable `CryptoKey`, and signs
//! at native speed with the platform's constant-time code. RS256 is
//! deterministic, so both signers give the same bytes; tests check that.

use crate::error::Error;
use crate::flow::SignRequest;
use crate::keys::{Algorithm, PrivateKey};
use crate::options::schema::SignerChoice;
use crate::options::ConfigField;
use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use std::cell::RefCell;
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
    let message = Reflect::get(&error, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| "WebCrypto failed".into());
    Error::Signing {
        message: message.chars().take(200).collect(),
    }
}
