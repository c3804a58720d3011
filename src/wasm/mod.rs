//! The JavaScript side: the only code that touches js-sys, web-sys and
//! `fetch`. It reads options, drives the core's flows over the runtime's
//! global `fetch` and turns errors into JavaScript `Error` objects.

mod api;
mod discovery;
mod driver;
mod errors;
mod options;
mod signer;
mod source;

// Built-ins called on values from callers, with `catch`: a Proxy's traps
// (or a revoked Proxy) can throw from any of them, and an exception that
// passes through Rust frames would leave the promise unsettled.
#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = Object, js_name = keys, catch)]
    fn object_keys(target: &wasm_bindgen::JsValue) -> Result<js_sys::Array, wasm_bindgen::JsValue>;
    #[wasm_bindgen(js_namespace = Array, js_name = isArray, catch)]
    fn array_is_array(value: &wasm_bindgen::JsValue) -> Result<bool, wasm_bindgen::JsValue>;
}

/// The own enumerable string keys of a caller's object (`Object.keys`), or
/// `Err` when reading them throws.
pub(crate) fn own_keys(target: &wasm_bindgen::JsValue) -> Result<Vec<String>, ()> {
    let keys = object_keys(target).map_err(|_| ())?;
    Ok((0..keys.length())
        .filter_map(|i| keys.get(i).as_string())
        .collect())
}

/// Whether a caller's value is an array (`Array.isArray`); `Err` when
/// that throws (a revoked Proxy).
pub(crate) fn is_array(value: &wasm_bindgen::JsValue) -> Result<bool, ()> {
    array_is_array(value).map_err(|_| ())
}

/// The items of a caller's array, read through [`get`]; `None` when it is
/// not an array or reading it throws.
pub(crate) fn array_items(value: &wasm_bindgen::JsValue) -> Option<Vec<wasm_bindgen::JsValue>> {
    if !is_array(value).ok()? {
        return None;
    }
    let length = get(value, "length").as_f64()?;
    if !(0.0..=1_000_000.0).contains(&length) {
        return None;
    }
    Some(
        (0..length as u32)
            .map(|i| get(value, &i.to_string()))
            .collect(),
    )
}

/// Calls `target[name](...args)`; `Err` with what it threw, or when there
/// is no such method.
pub(crate) fn call_method(
    target: &wasm_bindgen::JsValue,
    name: &str,
    args: &[wasm_bindgen::JsValue],
) -> Result<wasm_bindgen::JsValue, wasm_bindgen::JsValue> {
    use wasm_bindgen::JsCast;
    let method = get(target, name);
    let Some(method) = method.dyn_ref::<js_sys::Function>() else {
        return Err(wasm_bindgen::JsValue::from_str(&format!(
            "no {name}() method"
        )));
    };
    let args: js_sys::Array = args.iter().collect();
    js_sys::Reflect::apply(method, target, &args)
}

/// A Promise of a future's outcome. Every async method of the API goes
/// through this one instance of `future_to_promise`: instantiated for each
/// future type, its queueing and polling code was copied a dozen times in
/// the module (37 KB of it), while a boxed future costs one allocation.
pub(crate) fn promise(
    future: impl std::future::Future<Output = Result<wasm_bindgen::JsValue, wasm_bindgen::JsValue>>
        + 'static,
) -> js_sys::Promise {
    promise_of_boxed(Box::pin(future))
}

fn promise_of_boxed(
    future: std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<wasm_bindgen::JsValue, wasm_bindgen::JsValue>>>,
    >,
) -> js_sys::Promise {
    wasm_bindgen_futures::future_to_promise(future)
}

/// A property of a JavaScript value; `undefined` where there is none or
/// reading it throws (a hostile getter).
pub(crate) fn get(target: &wasm_bindgen::JsValue, name: &str) -> wasm_bindgen::JsValue {
    js_sys::Reflect::get(target, &wasm_bindgen::JsValue::from_str(name))
        .unwrap_or(wasm_bindgen::JsValue::UNDEFINED)
}

/// What a callback threw, for an error message: its `message`, or the
/// thrown string. Not shortened: callers bound it.
pub(crate) fn thrown_message(error: &wasm_bindgen::JsValue) -> String {
    get(error, "message")
        .as_string()
        .or_else(|| error.as_string())
        .unwrap_or_else(|| "it threw a value that is not an Error".into())
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_lifecycle;
