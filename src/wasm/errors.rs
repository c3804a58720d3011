//! Core errors as JavaScript `Error` objects with stable codes.

use crate::error::Error;
use js_sys::{Object, Reflect};
use serde::Serialize;
use wasm_bindgen::JsValue;

/// A real `Error` (so `instanceof Error` holds and a stack is captured) named
/// `GrantkitError`, with `.code` and, for server errors, `.status`, `.error`,
/// `.error_description`, `.error_uri` and `.body`.
pub(crate) fn to_js_error(error: &Error) -> JsValue {
    let js = js_sys::Error::new(&error.to_string());
    js.set_name("GrantkitError");
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
