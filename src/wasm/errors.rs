//! Core errors as JavaScript `Error` objects with stable codes.

use crate::error::{Error, ErrorCode};
use js_sys::{Object, Reflect};
use serde::Serialize;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

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
#[wasm_bindgen(start)]
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
    set(&js, "code", &JsValue::from_str(error.code()));
    if let Some(status) = error.status() {
        set(&js, "status", &JsValue::from(status));
    }
    let error = match error {
        Error::InStep { step, error, .. } => {
            set(&js, "step", &JsValue::from(*step));
            error.as_ref()
        }
        other => other,
    };
    match error {
        Error::OAuth(server)
        | Error::Device {
            server: Some(server),
            ..
        } => {
            set(&js, "error", &JsValue::from_str(&server.error));
            if let Some(description) = &server.error_description {
                set(&js, "error_description", &JsValue::from_str(description));
            }
            if let Some(uri) = &server.error_uri {
                set(&js, "error_uri", &JsValue::from_str(uri));
            }
            set(&js, "body", &to_js_json(&server.body));
        }
        Error::InvalidConfig { field, .. } => set(&js, "field", &JsValue::from_str(field)),
        _ => {}
    }
    js.into()
}

/// A JSON value from a server as the JavaScript value `JSON.parse` makes of
/// it: a `__proto__` member is an own property (it does not replace the
/// prototype), an integer past 2^53 is the nearest number (the rest of the
/// object is kept), and of duplicate members the last one counts.
pub(crate) fn to_js_json<T: Serialize + ?Sized>(value: &T) -> JsValue {
    serde_json::to_string(value)
        .ok()
        .and_then(|text| js_sys::JSON::parse(&text).ok())
        .unwrap_or_else(|| Object::new().into())
}

/// A plain object with these members, in order.
pub(crate) fn js_object(members: &[(&str, JsValue)]) -> JsValue {
    let object = Object::new();
    for (name, value) in members {
        set(&object, name, value);
    }
    object.into()
}

fn set(target: &JsValue, name: &str, value: &JsValue) {
    let _ = Reflect::set(target, &JsValue::from_str(name), value);
}
