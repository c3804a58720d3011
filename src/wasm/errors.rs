//! Core errors as JavaScript `Error` objects with stable codes.

use crate::error::{Error, ErrorCode};
use js_sys::{Object, Reflect};
use serde::Serialize;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

/// The class of every error grantkit throws or rejects with, so that
/// `error instanceof GrantkitError` works. Its instances are real `Error`
/// objects (with a stack) whose prototype is `GrantkitError.prototype`,
/// which inherits from `Error.prototype`; the class has a constant per
/// code (`GrantkitError.INVALID_CONFIG === "INVALID_CONFIG"`), from the
/// core's one list. The TypeScript is in the custom section below.
#[wasm_bindgen(js_name = GrantkitError, skip_typescript)]
pub struct JsGrantkitError {
    _private: u8,
}

#[wasm_bindgen(typescript_custom_section)]
const ERROR_CODES_TS: &str = crate::error::ERROR_CODES_TYPESCRIPT;

thread_local! {
    /// `GrantkitError.prototype`, made to inherit from `Error.prototype`
    /// once, on the first error.
    static PROTOTYPE: Object = grantkit_error_prototype();
}

/// Wires `GrantkitError` up when the module is instantiated, so that its
/// constants are there before any error is made.
#[wasm_bindgen(start, skip_typescript)]
fn wire_grantkit_error() {
    PROTOTYPE.with(|_| ());
}

fn grantkit_error_prototype() -> Object {
    // An instance of the exported class leads to its prototype and
    // constructor; the instance itself is not kept.
    let instance = JsValue::from(JsGrantkitError { _private: 0 });
    let prototype = Object::get_prototype_of(&instance);
    let error_prototype = Object::get_prototype_of(&js_sys::Error::new(""));
    Object::set_prototype_of(&prototype, &error_prototype);
    // Errors are not wasm objects: wasm-bindgen's `free` and
    // `Symbol.dispose` must not be reachable from them.
    let _ = Reflect::delete_property(&prototype, &"free".into());
    let dispose = super::get(&super::get(&js_sys::global(), "Symbol"), "dispose");
    if dispose.is_symbol() {
        let _ = Reflect::delete_property(&prototype, &dispose);
    }
    set(&prototype, "name", &"GrantkitError".into());
    let class = Reflect::get(&prototype, &"constructor".into()).unwrap_or(JsValue::UNDEFINED);
    for code in ErrorCode::ALL {
        set(&class, code.as_str(), &code.as_str().into());
    }
    prototype
}

/// A real `Error` (so `instanceof Error` holds and a stack is captured) named
/// `GrantkitError`, with `.code` and, for server errors, `.status`, `.error`,
/// `.error_description`, `.error_uri` and `.body`.
pub(crate) fn to_js_error(error: &Error) -> JsValue {
    let js = js_sys::Error::new(&error.to_string());
    js.set_name("GrantkitError");
    PROTOTYPE.with(|prototype| Object::set_prototype_of(&js, prototype));
    let members = to_js_json(&error.members());
    let _ = Object::assign(&js, members.unchecked_ref());
    js.into()
}

/// A JSON value from a server as the JavaScript value `JSON.parse` makes of
/// it: a `__proto__` member is an own property (it does not replace the
/// prototype), an integer past 2^53 is the nearest number (the rest of the
/// object is kept), and of duplicate members the last one counts.
pub(crate) fn to_js_json<T: Serialize + ?Sized>(value: &T) -> JsValue {
    let Ok(mut text) = serde_json::to_string(value) else {
        return Object::new().into();
    };
    let parsed = js_sys::JSON::parse(&text).unwrap_or_else(|_| Object::new().into());
    // The text may hold tokens.
    zeroize::Zeroize::zeroize(&mut text);
    parsed
}

fn set(target: &JsValue, name: &str, value: &JsValue) {
    let _ = Reflect::set(target, &JsValue::from_str(name), value);
}
