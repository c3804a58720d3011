//! The JavaScript side: the only code that touches js-sys, web-sys and
//! `fetch`. It reads options, drives the core's flows over the runtime's
//! global `fetch` and turns errors into JavaScript `Error` objects.

mod api;
mod driver;
mod errors;
mod options;
mod signer;
mod source;

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
