//! The options of the JavaScript API, owned by the core: one set of Rust
//! types ([`schema`]) that the driver reads every options object into
//! (serde, camelCase, unknown options refused), that the TypeScript
//! declarations are generated from (tsify), and that turn into the flows'
//! settings here, where every rule about them is checked.

pub mod outputs;
pub mod schema;
#[cfg(test)]
mod tests;
mod value;

pub(crate) use value::{missing, read_members};
pub use value::{Handle, OptionError, Value};

use crate::error::Error;
use serde::de::{self, Deserialize, Deserializer, Visitor};
use std::fmt;

/// The option an [`Error::InvalidConfig`] is about. Its name in options is
/// the variant's in camelCase ([`ConfigField::name`]), the same rule that
/// names the fields of the [`schema`] types; a test checks that every option
/// of every schema type has its variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
#[non_exhaustive]
pub enum ConfigField {
    /// The options object as a whole (not an object; an unknown option).
    Options,
    // Flows.
    TokenEndpoint,
    DeviceAuthorizationEndpoint,
    ClientId,
    ClientSecret,
    ClientAuth,
    PrivateKey,
    Certificate,
    Algorithm,
    Scope,
    ExtraParams,
    Provider,
    Username,
    Password,
    Key,
    Issuer,
    ServerIssuer,
    Subject,
    Audience,
    LifetimeSeconds,
    Claims,
    NotBefore,
    PlatformUrl,
    Idp,
    OnPrompt,
    RevocationEndpoint,
    IntrospectionEndpoint,
    /// `dpop`.
    Dpop,
    /// The token given to `introspect(token)` or `revoke(tokens)`.
    Token,
    TokenTypeHint,
    SubjectToken,
    SubjectTokenType,
    ActorToken,
    ActorTokenType,
    RequestedTokenType,
    Resource,
    AuthorizationEndpoint,
    JwksUri,
    RedirectUri,
    AuthorizationParams,
    AuthorizationResponseIssParameterSupported,
    /// The callback URL given to `complete(callbackUrl)`.
    CallbackUrl,
    /// The pending login given to `complete(callbackUrl, pending)`.
    Pending,
    // Transport.
    Fetch,
    TimeoutMs,
    AllowInsecureHttp,
    Signer,
    Signal,
    OnExchange,
    // TokenSource and authorizedFetch.
    MarginSeconds,
    ClockSkewSeconds,
    Store,
    OnStoreError,
    AllowedOrigins,
    Headers,
    ApiCallerId,
    /// The flow given to `new TokenSource(flow)`.
    Flow,
    Input,
    Init,
    // Presets and helpers.
    BaseUrl,
    Realm,
    Tenant,
    PublicKey,
    Ts,
}

impl ConfigField {
    /// The option's name, as JavaScript code spells it (`tokenEndpoint`).
    pub fn name(self) -> String {
        variant_name::<ConfigField>(self as usize).to_owned()
    }

    /// The field an option name belongs to.
    pub fn from_name(name: &str) -> Option<Self> {
        ConfigField::deserialize(&Value::String(name.to_owned())).ok()
    }
}

/// The name serde's derive gives variant `index` of the fieldless enum `T`
/// (its option value: `"tokenEndpoint"`, `"ldap"`), so that names are
/// written once, by `rename_all`.
pub(crate) fn variant_name<T: for<'de> Deserialize<'de>>(index: usize) -> &'static str {
    declared_names::<T>()
        .get(index)
        .copied()
        .unwrap_or_default()
}

/// The names serde's derive declares for `T`: a struct's fields (its
/// option names) or an enum's variants, renamed, in order.
pub(crate) fn declared_names<T: for<'de> Deserialize<'de>>() -> &'static [&'static str] {
    struct Names(std::cell::Cell<&'static [&'static str]>);
    impl Names {
        fn take<V>(&self, names: &'static [&'static str]) -> Result<V, OptionError> {
            self.0.set(names);
            Err(de::Error::custom("only the names"))
        }
    }
    impl<'de> Deserializer<'de> for &Names {
        type Error = OptionError;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, OptionError> {
            self.take(&[])
        }
        fn deserialize_enum<V: Visitor<'de>>(
            self,
            _: &'static str,
            variants: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, OptionError> {
            self.take(variants)
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, OptionError> {
            self.take(fields)
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map identifier ignored_any
        }
    }
    let names = Names(std::cell::Cell::new(&[]));
    let _ = T::deserialize(&names);
    names.0.get()
}

impl fmt::Display for ConfigField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// Reads options of type `T` from `value`; `what` names the function or
/// class for the message when `value` is not an options object.
pub fn read<'a, T: Deserialize<'a>>(value: &'a Value, what: &str) -> Result<T, Error> {
    read_as(value, what, T::deserialize)
}

/// An options struct of [`schema`]'s `options!`, read by
/// [`read_members`]: one reader for every struct instead of a serde
/// visitor each (~1.9 KB of wasm per struct, ~0.35 KB gzipped), with the
/// same results.
pub trait ReadOptions: Sized {
    /// Reads the options as the struct's derived `Deserialize` would.
    fn read_value(value: &Value) -> Result<Self, OptionError>;
}

/// [`read`] for the structs of `options!`.
pub fn read_options<T: ReadOptions>(value: &Value, what: &str) -> Result<T, Error> {
    read_as(value, what, T::read_value)
}

fn read_as<'a, T>(
    value: &'a Value,
    what: &str,
    read: impl FnOnce(&'a Value) -> Result<T, OptionError>,
) -> Result<T, Error> {
    if !matches!(value, Value::Object(..)) {
        return Err(Error::config(
            ConfigField::Options,
            format!("{what} takes an options object, not {}", value.kind()),
        ));
    }
    read(value).map_err(|e| config_error(e, what))
}

/// Reads optional options (`getToken()`, `getToken(undefined)`).
pub fn read_optional<'a, T: Deserialize<'a> + Default>(
    value: &'a Value,
    what: &str,
) -> Result<T, Error> {
    match value {
        Value::Undefined | Value::Null => Ok(T::default()),
        _ => read(value, what),
    }
}

/// [`read_optional`] for the structs of `options!`.
pub fn read_options_optional<T: ReadOptions + Default>(
    value: &Value,
    what: &str,
) -> Result<T, Error> {
    match value {
        Value::Undefined | Value::Null => Ok(T::default()),
        _ => read_options(value, what),
    }
}

fn config_error(error: OptionError, what: &str) -> Error {
    let mut path = error.path.iter();
    let first = path.next().map(String::as_str).unwrap_or_default();
    let rest: Vec<String> = path.map(|segment| format!("{segment:?}")).collect();
    match ConfigField::from_name(first) {
        Some(field) if !error.unknown => {
            let reason = match rest.is_empty() {
                true => error.reason,
                false => format!("{}: {}", rest.join("."), error.reason),
            };
            Error::config(field, reason)
        }
        _ => Error::config(
            ConfigField::Options,
            format!("{what}: {}: {}", error.path.join("."), error.reason),
        ),
    }
}

/// A JavaScript function option, kept by the driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostFunction(pub Handle);

/// An `AbortSignal` option, kept by the driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostSignal(pub Handle);

/// An object option used as the object it is (a store), kept by the driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostObject(pub Handle);

macro_rules! host_values {
    ($($ty:ident => $name:path, $expecting:literal;)*) => {$(
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct HandleVisitor;
                impl<'de> Visitor<'de> for HandleVisitor {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_u32<E: de::Error>(self, handle: u32) -> Result<$ty, E> {
                        Ok($ty(Handle(handle)))
                    }
                }
                deserializer.deserialize_newtype_struct($name, HandleVisitor)
            }
        }
    )*};
}

host_values! {
    HostFunction => value::FUNCTION, "a function";
    HostSignal => value::SIGNAL, "an AbortSignal";
    HostObject => value::OBJECT, "an object";
}

/// Compares by name: `field == "tokenEndpoint"`.
impl PartialEq<str> for ConfigField {
    fn eq(&self, name: &str) -> bool {
        self.name() == name
    }
}

impl PartialEq<&str> for ConfigField {
    fn eq(&self, name: &&str) -> bool {
        self.name() == *name
    }
}
