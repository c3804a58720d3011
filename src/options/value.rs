//! An options value as the host gave it, and the serde `Deserializer` that
//! reads the option types of [`super::schema`] from it.
//!
//! The driver copies a JavaScript options object into a [`Value`] through
//! catching built-ins; functions, `AbortSignal`s and other host objects stay
//! in the driver and appear here as [`Handle`]s. Errors name the option's
//! path and what it should be, never the value: a value in the wrong place
//! may be a secret (serde's own messages quote it).

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// Where the driver keeps a host value (a function, a signal, an object).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handle(pub u32);

/// One options value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `undefined`: an option set to it counts as absent.
    Undefined,
    /// `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A number.
    Number(f64),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// A plain object: its own enumerable string keys, in order, and the
    /// host object itself (a store is used as the object it is).
    Object(Handle, Vec<(String, Value)>),
    /// A function.
    Function(Handle),
    /// An `AbortSignal`.
    Signal(Handle),
    /// Something else (a symbol, a bigint, a class instance the driver does
    /// not read), named by its kind for messages.
    Other(&'static str),
}

/// Strings may be secrets: zeroed when the value is dropped.
impl Drop for Value {
    fn drop(&mut self) {
        if let Value::String(s) = self {
            zeroize::Zeroize::zeroize(s);
        }
    }
}

impl Value {
    /// What the value is, for messages ("a string"), never what it holds.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Undefined => "undefined",
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(..) => "an object",
            Value::Function(_) => "a function",
            Value::Signal(_) => "an AbortSignal",
            Value::Other(kind) => kind,
        }
    }

    fn is_absent(&self) -> bool {
        matches!(self, Value::Undefined | Value::Null)
    }
}

/// The newtype names under which [`super::HostFunction`],
/// [`super::HostSignal`] and [`super::HostObject`] ask for a handle.
pub(crate) const FUNCTION: &str = "$grantkit::Function";
pub(crate) const SIGNAL: &str = "$grantkit::Signal";
pub(crate) const OBJECT: &str = "$grantkit::Object";

/// What is wrong with an option: where it is and what it should be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptionError {
    /// The path from the options object: `["extraParams", "audience"]`.
    pub path: Vec<String>,
    /// What is wrong, without the value.
    pub reason: String,
    /// The last segment of the path is not an option at all.
    pub unknown: bool,
}

impl OptionError {
    fn at(mut self, segment: impl Into<String>) -> Self {
        self.path.insert(0, segment.into());
        self
    }
}

impl fmt::Display for OptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.join("."), self.reason)
    }
}

impl std::error::Error for OptionError {}

impl de::Error for OptionError {
    fn custom<T: fmt::Display>(reason: T) -> Self {
        OptionError {
            path: Vec::new(),
            reason: reason.to_string(),
            unknown: false,
        }
    }

    // serde's defaults for the four below quote the value; these name only
    // its kind.
    fn invalid_type(unexpected: de::Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        de::Error::custom(format_args!(
            "must be {expected}, not {}",
            unexpected_kind(&unexpected)
        ))
    }

    fn invalid_value(_: de::Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        de::Error::custom(format_args!("must be {expected}"))
    }

    fn invalid_length(_: usize, expected: &dyn de::Expected) -> Self {
        de::Error::custom(format_args!("must be {expected}"))
    }

    fn unknown_variant(_: &str, expected: &'static [&'static str]) -> Self {
        de::Error::custom(format_args!("must be {}", one_of(expected)))
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        // The name is the user's own key, not a value; bounded all the same.
        let name: String = field.chars().take(40).collect();
        OptionError {
            path: vec![name],
            reason: format!("unknown option; the options are {}", expected.join(", ")),
            unknown: true,
        }
    }

    fn missing_field(field: &'static str) -> Self {
        OptionError {
            path: vec![field.to_owned()],
            reason: "is required".to_owned(),
            unknown: false,
        }
    }
}

fn unexpected_kind(unexpected: &de::Unexpected<'_>) -> &'static str {
    use de::Unexpected as U;
    match unexpected {
        U::Bool(_) => "a boolean",
        U::Unsigned(_) | U::Signed(_) | U::Float(_) => "a number",
        U::Char(_) | U::Str(_) => "a string",
        U::Unit | U::Option => "null",
        U::Seq => "an array",
        U::Map | U::StructVariant => "an object",
        _ => "another kind of value",
    }
}

/// `"a", "b" or "c"`.
pub(crate) fn one_of(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => quoted.concat(),
    }
}

/// The largest integer a JavaScript number holds exactly.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

impl<'de> de::Deserializer<'de> for &'de Value {
    type Error = OptionError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, OptionError> {
        match self {
            Value::Undefined | Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) if n.fract() == 0.0 && (0.0..=MAX_SAFE_INTEGER).contains(n) => {
                visitor.visit_u64(*n as u64)
            }
            Value::Number(n) if n.fract() == 0.0 && (-MAX_SAFE_INTEGER..0.0).contains(n) => {
                visitor.visit_i64(*n as i64)
            }
            Value::Number(n) => visitor.visit_f64(*n),
            Value::String(s) => visitor.visit_str(s),
            Value::Array(_) => self.deserialize_seq(visitor),
            Value::Object(..) => self.deserialize_map(visitor),
            other => Err(wrong_kind(other, &visitor)),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, OptionError> {
        if self.is_absent() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, OptionError> {
        let handle = match (name, self) {
            (FUNCTION, Value::Function(h))
            | (SIGNAL, Value::Signal(h))
            | (OBJECT, Value::Object(h, _)) => *h,
            (FUNCTION | SIGNAL | OBJECT, other) => return Err(wrong_kind(other, &visitor)),
            _ => return visitor.visit_newtype_struct(self),
        };
        visitor.visit_u32(handle.0)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, OptionError> {
        match self {
            // Unit variants, given by name ("basic").
            Value::String(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            other => Err(wrong_kind(other, &visitor)),
        }
    }

    // Each of these calls only the visitor method its kind needs, so that a
    // struct's visitor is never asked for a sequence, nor a string's for a
    // map: less code per type in the module.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, OptionError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, OptionError> {
        match self {
            Value::Object(_, entries) => visitor.visit_map(Entries {
                entries: entries.iter(),
                current: None,
            }),
            other => Err(wrong_kind(other, &visitor)),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, OptionError> {
        match self {
            Value::Array(items) => visitor.visit_seq(Items {
                items: items.iter(),
                index: 0,
            }),
            other => Err(wrong_kind(other, &visitor)),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, OptionError> {
        match self {
            Value::String(s) => visitor.visit_str(s),
            other => Err(wrong_kind(other, &visitor)),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, OptionError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, OptionError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, OptionError> {
        match self {
            Value::Bool(b) => visitor.visit_bool(*b),
            other => Err(wrong_kind(other, &visitor)),
        }
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char
        bytes byte_buf unit unit_struct tuple tuple_struct ignored_any
    }
}

/// Reads the members of an options object into a struct with these fields
/// (their option names), as serde's derive does, in one copy for every
/// struct of [`super::schema`]'s `options!`: members in the object's order,
/// an undefined one skipped, an unknown or repeated name refused,
/// `set(index, member)` for each; an error in a member is put at its name.
/// Returns which fields were given (bit `index`). `expecting` is what the
/// derive would say the value must be ("struct ClientCredentialsOptions").
pub(crate) fn read_members<'de>(
    value: &'de Value,
    expecting: &str,
    fields: &'static [&'static str],
    set: &mut dyn FnMut(usize, &'de Value) -> Result<(), OptionError>,
) -> Result<u64, OptionError> {
    let Value::Object(_, entries) = value else {
        return Err(de::Error::custom(format_args!(
            "must be {expecting}, not {}",
            value.kind()
        )));
    };
    let mut given = 0u64;
    for (key, member) in entries.iter().filter(|(_, v)| *v != Value::Undefined) {
        let Some((index, field)) = fields.iter().enumerate().find(|(_, field)| *field == key)
        else {
            return Err(de::Error::unknown_field(key, fields));
        };
        if given & (1 << index) != 0 {
            return Err(de::Error::duplicate_field(field));
        }
        given |= 1 << index;
        set(index, member).map_err(|e| e.at(key.as_str()))?;
    }
    Ok(given)
}

/// A field that was not given: `None` for an option, else serde's "is
/// required" (what the derive's missing-field deserializer does).
pub(crate) fn missing<'de, T: de::Deserialize<'de>>(field: &'static str) -> Result<T, OptionError> {
    struct Missing(&'static str);
    impl<'de> de::Deserializer<'de> for Missing {
        type Error = OptionError;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, OptionError> {
            Err(de::Error::missing_field(self.0))
        }
        fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, OptionError> {
            visitor.visit_none()
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf unit unit_struct newtype_struct seq tuple
            tuple_struct map struct enum identifier ignored_any
        }
    }
    T::deserialize(Missing(field))
}

/// "must be {what the visitor expects}, not {the value's kind}".
fn wrong_kind<'de, V: Visitor<'de>>(value: &Value, visitor: &V) -> OptionError {
    de::Error::custom(format_args!(
        "must be {}, not {}",
        Expecting(visitor),
        value.kind()
    ))
}

/// A visitor's `expecting` text, as a `Display`.
struct Expecting<'a, V>(&'a V);

impl<'de, V: Visitor<'de>> fmt::Display for Expecting<'_, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }
}

struct Items<'a> {
    items: std::slice::Iter<'a, Value>,
    index: usize,
}

impl<'de> SeqAccess<'de> for Items<'de> {
    type Error = OptionError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, OptionError> {
        let Some(item) = self.items.next() else {
            return Ok(None);
        };
        let index = self.index;
        self.index += 1;
        seed.deserialize(item)
            .map(Some)
            .map_err(|e| e.at(index.to_string()))
    }
}

struct Entries<'a> {
    entries: std::slice::Iter<'a, (String, Value)>,
    current: Option<(&'a str, &'a Value)>,
}

impl<'de> MapAccess<'de> for Entries<'de> {
    type Error = OptionError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, OptionError> {
        // An option set to undefined counts as absent, as in most JS APIs.
        let Some((key, value)) = self
            .entries
            .by_ref()
            .find(|(_, value)| *value != Value::Undefined)
        else {
            return Ok(None);
        };
        self.current = Some((key, value));
        let key: &'de str = key;
        seed.deserialize(key.into_deserializer()).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, OptionError> {
        match self.current.take() {
            Some((key, value)) => seed.deserialize(value).map_err(|e| e.at(key)),
            None => Err(de::Error::custom("a value was read before its key")),
        }
    }
}
