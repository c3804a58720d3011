//! Reading a JavaScript options object, field by field.
//!
//! Errors name the option and what it should be, never its value: a value
//! in the wrong place may be a secret.

use super::{array_items, get, is_array, own_keys};
use crate::error::Error;
use js_sys::{Function, Object};
use wasm_bindgen::{JsCast, JsValue};

pub(crate) struct Options {
    object: Object,
}

impl Options {
    /// Reads `value` as a plain options object whose keys are all `known`.
    pub fn new(value: &JsValue, what: &str, known: &[&str]) -> Result<Options, Error> {
        if !is_plain_object(value) {
            return Err(Error::config(
                "options",
                format!("{what} takes an options object"),
            ));
        }
        let object: Object = value.clone().unchecked_into();
        let keys = own_keys(&object).map_err(|()| {
            Error::config(
                "options",
                format!("{what}: reading the options object threw"),
            )
        })?;
        for key in keys {
            // A value that is undefined counts as absent, as in most JS APIs.
            if !known.contains(&key.as_str()) && !get(&object, &key).is_undefined() {
                let key: String = key.chars().take(40).collect();
                return Err(Error::config(
                    &key,
                    format!(
                        "unknown option for {what}; known options: {}",
                        known.join(", ")
                    ),
                ));
            }
        }
        Ok(Options { object })
    }

    fn value(&self, name: &str) -> Option<JsValue> {
        let value = get(&self.object, name);
        (!value.is_undefined() && !value.is_null()).then_some(value)
    }

    pub fn string(&self, name: &str) -> Result<Option<String>, Error> {
        match self.value(name) {
            None => Ok(None),
            Some(v) => v
                .as_string()
                .map(Some)
                .ok_or_else(|| Error::config(name, "must be a string")),
        }
    }

    pub fn required_string(&self, name: &str) -> Result<String, Error> {
        self.string(name)?
            .ok_or_else(|| Error::config(name, "is required"))
    }

    /// A string, or an array of strings.
    pub fn strings(&self, name: &str) -> Result<Vec<String>, Error> {
        match self.value(name) {
            None => Ok(Vec::new()),
            Some(v) => string_or_array(&v)
                .ok_or_else(|| Error::config(name, "must be a string or an array of strings")),
        }
    }

    /// A string, or an object given as JSON text (a JWK, extra claims).
    pub fn text_or_object(&self, name: &str) -> Result<Option<String>, Error> {
        match self.value(name) {
            None => Ok(None),
            Some(v) if v.is_string() => Ok(v.as_string()),
            Some(v) if is_plain_object(&v) => js_sys::JSON::stringify(&v)
                .ok()
                .and_then(|s| s.as_string())
                .map(Some)
                .ok_or_else(|| Error::config(name, "cannot be read as JSON")),
            Some(_) => Err(Error::config(name, "must be a string or an object")),
        }
    }

    /// A string or a finite number, as JSON.
    pub fn string_or_number(&self, name: &str) -> Result<Option<serde_json::Value>, Error> {
        match self.value(name) {
            None => Ok(None),
            Some(v) => match (v.as_string(), v.as_f64()) {
                (Some(s), _) => Ok(Some(serde_json::Value::String(s))),
                (None, Some(n))
                    if n.fract() == 0.0 && (0.0..9_007_199_254_740_992.0).contains(&n) =>
                {
                    Ok(Some(serde_json::Value::from(n as u64)))
                }
                (None, Some(n)) => serde_json::Number::from_f64(n)
                    .map(|n| Some(serde_json::Value::Number(n)))
                    .ok_or_else(|| Error::config(name, "must be a string or a finite number")),
                _ => Err(Error::config(name, "must be a string or a number")),
            },
        }
    }

    /// A whole number, at least 1.
    pub fn positive_integer(&self, name: &str) -> Result<Option<u64>, Error> {
        match self.value(name) {
            None => Ok(None),
            Some(v) => match v.as_f64() {
                Some(n) if n >= 1.0 && n.fract() == 0.0 && n <= 9_007_199_254_740_991.0 => {
                    Ok(Some(n as u64))
                }
                _ => Err(Error::config(name, "must be a whole number, at least 1")),
            },
        }
    }

    /// A whole number, 0 or more.
    pub fn whole_number(&self, name: &str) -> Result<Option<u64>, Error> {
        match self.value(name) {
            None => Ok(None),
            Some(v) => match v.as_f64() {
                Some(n) if n >= 0.0 && n.fract() == 0.0 && n <= 9_007_199_254_740_991.0 => {
                    Ok(Some(n as u64))
                }
                _ => Err(Error::config(name, "must be a whole number, 0 or more")),
            },
        }
    }

    /// An object (not an array or a function).
    pub fn object(&self, name: &str) -> Result<Option<JsValue>, Error> {
        match self.value(name) {
            None => Ok(None),
            Some(v) if is_plain_object(&v) => Ok(Some(v)),
            Some(_) => Err(Error::config(name, "must be an object")),
        }
    }

    pub fn bool(&self, name: &str) -> Result<bool, Error> {
        match self.value(name) {
            None => Ok(false),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| Error::config(name, "must be a boolean")),
        }
    }

    /// A whole number of milliseconds, at least 1.
    pub fn millis(&self, name: &str) -> Result<Option<u64>, Error> {
        match self.value(name) {
            None => Ok(None),
            Some(v) => match v.as_f64() {
                Some(ms) if ms >= 1.0 && ms.fract() == 0.0 && ms <= 2_147_483_647.0 => {
                    Ok(Some(ms as u64))
                }
                _ => Err(Error::config(
                    name,
                    "must be a whole number of milliseconds, at least 1",
                )),
            },
        }
    }

    pub fn function(&self, name: &str) -> Result<Option<Function>, Error> {
        match self.value(name) {
            None => Ok(None),
            Some(v) if v.is_function() => Ok(Some(v.unchecked_into())),
            Some(_) => Err(Error::config(name, "must be a function")),
        }
    }

    /// An `AbortSignal`, recognised by shape so that signals from any realm
    /// or polyfill work.
    pub fn signal(&self, name: &str) -> Result<Option<web_sys::AbortSignal>, Error> {
        match self.value(name) {
            None => Ok(None),
            Some(v) => abort_signal(&v)
                .map(Some)
                .ok_or_else(|| Error::config(name, "must be an AbortSignal")),
        }
    }

    /// An object of form parameters, in insertion order; a value may be an
    /// array of strings for a parameter that repeats.
    pub fn params(&self, name: &str) -> Result<Vec<(String, String)>, Error> {
        let Some(v) = self.value(name) else {
            return Ok(Vec::new());
        };
        let keys = match is_plain_object(&v).then(|| own_keys(&v)) {
            Some(Ok(keys)) => keys,
            _ => return Err(Error::config(name, "must be an object of strings")),
        };
        let mut pairs = Vec::new();
        for key in keys {
            let values = string_or_array(&get(&v, &key)).ok_or_else(|| {
                Error::config(
                    name,
                    format!("the value of {key:?} must be a string or an array of strings"),
                )
            })?;
            pairs.extend(values.into_iter().map(|value| (key.clone(), value)));
        }
        Ok(pairs)
    }
}

fn string_or_array(value: &JsValue) -> Option<Vec<String>> {
    if let Some(s) = value.as_string() {
        return Some(vec![s]);
    }
    array_items(value)?.iter().map(JsValue::as_string).collect()
}

/// An object that is neither a function nor an array (nor a revoked Proxy).
fn is_plain_object(value: &JsValue) -> bool {
    value.is_object() && !value.is_function() && is_array(value) == Ok(false)
}

/// An `AbortSignal`, recognised by shape so that signals from any realm or
/// polyfill work.
pub(crate) fn abort_signal(value: &JsValue) -> Option<web_sys::AbortSignal> {
    (get(value, "aborted").as_bool().is_some() && get(value, "addEventListener").is_function())
        .then(|| value.clone().unchecked_into())
}

/// The `signal` of `getToken(options)`: the options are optional.
pub(crate) fn get_token_signal(options: &JsValue) -> Result<Option<web_sys::AbortSignal>, Error> {
    if options.is_undefined() || options.is_null() {
        return Ok(None);
    }
    Options::new(options, "getToken", &["signal"])?.signal("signal")
}
