//! Reading a JavaScript options object into the core's options [`Value`],
//! which the core's schema types are read from (`crate::options`).
//!
//! Everything is read through catching built-ins: a Proxy whose traps throw
//! gives `INVALID_CONFIG`, never an uncaught exception. Functions, signals
//! and objects stay here, in [`HostValues`], and the core sees handles.

use super::{array_items, get, is_array, own_keys};
use crate::error::Error;
use crate::options::{
    read, read_options, read_options_optional, ConfigField, Handle, HostFunction, HostObject,
    HostSignal, ReadOptions, Value,
};
use js_sys::{Function, Object};
use serde::Deserialize;
use wasm_bindgen::{JsCast, JsValue};

/// How deep options may nest (claims and JWKs are the deepest).
const MAX_DEPTH: usize = 32;
/// How many values one options object may hold in all.
const MAX_VALUES: usize = 10_000;

/// The host values an options object held, by handle.
#[derive(Default)]
pub(crate) struct HostValues(Vec<JsValue>);

impl HostValues {
    fn keep(&mut self, value: &JsValue) -> Handle {
        self.0.push(value.clone());
        Handle(self.0.len() as u32 - 1)
    }

    fn value(&self, handle: Handle) -> JsValue {
        self.0
            .get(handle.0 as usize)
            .cloned()
            .unwrap_or(JsValue::UNDEFINED)
    }

    pub fn function(&self, function: HostFunction) -> Function {
        self.value(function.0).unchecked_into()
    }

    pub fn signal(&self, signal: HostSignal) -> web_sys::AbortSignal {
        self.value(signal.0).unchecked_into()
    }

    pub fn object(&self, object: HostObject) -> JsValue {
        self.value(object.0)
    }
}

/// Options read from JavaScript: the core's value and its host values.
pub(crate) struct JsOptions {
    pub value: Value,
    pub host: HostValues,
}

impl JsOptions {
    pub fn new(js: &JsValue) -> Result<Self, Error> {
        let mut host = HostValues::default();
        let mut budget = MAX_VALUES;
        let value = to_value(js, &mut host, 0, &mut budget).map_err(|problem| {
            Error::config(
                ConfigField::Options,
                format!("the options object {problem}"),
            )
        })?;
        Ok(JsOptions { value, host })
    }

    /// Reads the options of `what` (a class or function name).
    pub fn read<'a, T: Deserialize<'a>>(&'a self, what: &str) -> Result<T, Error> {
        read(&self.value, what)
    }

    /// Reads the options of `what`, a struct of the schema's `options!`.
    pub fn read_options<T: ReadOptions>(&self, what: &str) -> Result<T, Error> {
        read_options(&self.value, what)
    }
}

/// Reads `js` as options of type `T`, which may be absent.
pub(crate) fn read_js_optional<T>(js: &JsValue, what: &str) -> Result<(T, HostValues), Error>
where
    T: ReadOptions + Default,
{
    let options = JsOptions::new(js)?;
    let value = read_options_optional(&options.value, what)?;
    Ok((value, options.host))
}

fn to_value(
    js: &JsValue,
    host: &mut HostValues,
    depth: usize,
    budget: &mut usize,
) -> Result<Value, &'static str> {
    *budget = budget.checked_sub(1).ok_or("holds too many values")?;
    if depth > MAX_DEPTH {
        return Err("nests too deeply (or refers to itself)");
    }
    if js.is_undefined() {
        return Ok(Value::Undefined);
    }
    if js.is_null() {
        return Ok(Value::Null);
    }
    if let Some(b) = js.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Some(n) = js.as_f64() {
        return Ok(Value::Number(n));
    }
    if let Some(s) = js.as_string() {
        return Ok(Value::String(s));
    }
    if js.is_function() {
        return Ok(Value::Function(host.keep(js)));
    }
    if !js.is_object() {
        return Ok(Value::Other(if js.is_bigint() {
            "a bigint"
        } else {
            "a symbol"
        }));
    }
    if is_array(js).map_err(|()| "threw when read")? {
        let items = array_items(js).ok_or("threw when read")?;
        let items = items
            .iter()
            .map(|item| to_value(item, host, depth + 1, budget))
            .collect::<Result<_, _>>()?;
        return Ok(Value::Array(items));
    }
    if let Some(signal) = abort_signal(js) {
        return Ok(Value::Signal(host.keep(&signal)));
    }
    let object: &Object = js.unchecked_ref();
    let keys = own_keys(object).map_err(|()| "threw when read")?;
    let handle = host.keep(js);
    let mut entries = Vec::with_capacity(keys.len());
    for key in keys {
        let value = to_value(&get(object, &key), host, depth + 1, budget)?;
        entries.push((key, value));
    }
    Ok(Value::Object(handle, entries))
}

/// An `AbortSignal`, recognised by shape so that signals from any realm or
/// polyfill work.
pub(crate) fn abort_signal(value: &JsValue) -> Option<web_sys::AbortSignal> {
    (get(value, "aborted").as_bool().is_some() && get(value, "addEventListener").is_function())
        .then(|| value.clone().unchecked_into())
}

/// The `signal` of `getToken(options)`: the options are optional.
pub(crate) fn get_token_signal(options: &JsValue) -> Result<Option<web_sys::AbortSignal>, Error> {
    // The common call, getToken(), reads nothing (the cached path's cost).
    if options.is_undefined() {
        return Ok(None);
    }
    let (options, host): (crate::options::schema::GetTokenOptions, _) =
        read_js_optional(options, "getToken")?;
    Ok(options.signal.map(|signal| host.signal(signal)))
}
