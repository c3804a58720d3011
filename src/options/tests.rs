//! The options schema read from host values: exact settings, and errors that
//! name the option and never its value.

use super::schema::FlowOptions;
use super::schema::*;
use super::*;
use crate::client_auth::{ClientAuthMethod, ClientCredential};
use crate::error::Error;

fn s(text: &str) -> Value {
    Value::String(text.to_owned())
}

fn obj(entries: Vec<(&str, Value)>) -> Value {
    Value::Object(
        Handle(0),
        entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    )
}

fn cc(extra: Vec<(&str, Value)>) -> Value {
    let mut entries = vec![
        ("tokenEndpoint", s("https://idp.example/token")),
        ("clientId", s("app")),
        ("clientSecret", s("SEKRIT-1")),
    ];
    entries.extend(extra);
    obj(entries)
}

fn config_error<T: for<'a> serde::Deserialize<'a>>(value: &Value) -> (ConfigField, String) {
    match read::<T>(value, "ClientCredentials") {
        Err(Error::InvalidConfig { field, reason }) => (field, reason),
        Err(other) => panic!("not INVALID_CONFIG: {other:?}"),
        Ok(_) => panic!("accepted"),
    }
}

#[test]
fn client_credentials_options_become_exact_settings() {
    let value = cc(vec![
        ("scope", Value::Array(vec![s("a b"), s("c")])),
        (
            "extraParams",
            obj(vec![
                ("resource", s("r1")),
                ("audience", Value::Array(vec![s("x"), s("y")])),
            ]),
        ),
        ("clientAuth", s("post")),
        ("provider", s("keycloak")),
        ("timeoutMs", Value::Number(500.0)),
        ("fetch", Value::Function(Handle(7))),
        ("signer", s("webcrypto")),
        ("allowInsecureHttp", Value::Undefined),
    ]);
    let options: ClientCredentialsOptions = read(&value, "ClientCredentials").unwrap();
    let transport = options.transport();
    assert_eq!(
        transport,
        TransportOptions {
            fetch: Some(HostFunction(Handle(7))),
            timeout_ms: 500,
            signer: SignerChoice::WebCrypto,
            on_exchange: None,
        }
    );
    let client = options.into_settings().unwrap().client;
    assert_eq!(client.token_endpoint, "https://idp.example/token");
    assert_eq!(client.client_id, "app");
    assert_eq!(client.scope, ["a b", "c"]);
    let params: Vec<(&str, &str)> = client
        .extra_params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        params,
        [("resource", "r1"), ("audience", "x"), ("audience", "y")]
    );
    assert_eq!(client.provider, Some(crate::provider::Provider::Keycloak));
    assert!(!client.allow_insecure_http);
    match client.credential {
        ClientCredential::Secret { secret, method } => {
            assert_eq!(secret.expose(), "SEKRIT-1");
            assert_eq!(method, ClientAuthMethod::Post);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn defaults_and_absent_values() {
    let value = cc(vec![
        ("scope", Value::Null),
        ("timeoutMs", Value::Undefined),
    ]);
    let options: ClientCredentialsOptions = read(&value, "ClientCredentials").unwrap();
    assert_eq!(
        options.transport(),
        TransportOptions {
            fetch: None,
            timeout_ms: 30_000,
            signer: SignerChoice::Auto,
            on_exchange: None,
        }
    );
    assert!(options.into_settings().unwrap().client.scope.is_empty());
}

#[test]
fn errors_name_the_option_and_never_the_value() {
    let secret = "SEKRIT-2";
    let cases: Vec<(Value, ConfigField, &str)> = vec![
        (
            cc(vec![("timeoutMs", s(secret))]),
            ConfigField::TimeoutMs,
            "must be a whole number of milliseconds, at least 1, not a string",
        ),
        (
            cc(vec![("timeoutMs", Value::Number(1.5))]),
            ConfigField::TimeoutMs,
            "must be a whole number of milliseconds, at least 1",
        ),
        (
            cc(vec![("timeoutMs", Value::Number(2_147_483_648.0))]),
            ConfigField::TimeoutMs,
            "must be a whole number of milliseconds, at least 1",
        ),
        (
            cc(vec![("clientAuth", s(secret))]),
            ConfigField::ClientAuth,
            "must be \"basic\", \"post\", \"private_key_jwt\" or \"client_secret_jwt\"",
        ),
        (
            cc(vec![("clientAuth", Value::Number(1.0))]),
            ConfigField::ClientAuth,
            "must be enum ClientAuthOption, not a number",
        ),
        (
            cc(vec![(
                "scope",
                Value::Array(vec![s("a"), Value::Number(4.0)]),
            )]),
            ConfigField::Scope,
            "\"1\": must be a string, not a number",
        ),
        (
            cc(vec![(
                "extraParams",
                obj(vec![("audience", Value::Bool(true))]),
            )]),
            ConfigField::ExtraParams,
            "\"audience\": must be a string or an array of strings, not a boolean",
        ),
        (
            cc(vec![("extraParams", s(secret))]),
            ConfigField::ExtraParams,
            "must be an object of strings, not a string",
        ),
        (
            cc(vec![("fetch", s(secret))]),
            ConfigField::Fetch,
            "must be a function, not a string",
        ),
        (
            cc(vec![("provider", s(secret))]),
            ConfigField::Provider,
            "must be \"generic\", \"keycloak\", \"entra\", \"pingAic\" or \"acp\"",
        ),
        (
            cc(vec![("certificate", Value::Signal(Handle(1)))]),
            ConfigField::Certificate,
            "must be a string, not an AbortSignal",
        ),
        (
            obj(vec![("tokenEndpoint", s("https://idp.example/token"))]),
            ConfigField::ClientId,
            "is required",
        ),
    ];
    for (value, field, reason) in cases {
        let (got_field, got_reason) = config_error::<ClientCredentialsOptions>(&value);
        assert_eq!((got_field, got_reason.as_str()), (field, reason));
        assert!(!got_reason.contains(secret));
    }
}

#[test]
fn acp_login_options_and_the_idp_names() {
    let value = obj(vec![
        ("platformUrl", s("https://acp.example")),
        ("username", s("u")),
        ("password", s("SEKRIT-4")),
        ("idp", s("ldap")),
    ]);
    let settings = read::<AcpLoginOptions>(&value, "AcpLogin")
        .unwrap()
        .into_settings()
        .unwrap();
    assert_eq!(settings.idp, crate::flow::acp::AcpIdp::Ldap);
    assert_eq!(settings.idp.name(), "ldap");
    assert_eq!(settings.password.expose(), "SEKRIT-4");
    let saml = obj(vec![
        ("platformUrl", s("https://acp.example")),
        ("username", s("u")),
        ("password", s("p")),
        ("idp", s("saml")),
    ]);
    match read::<AcpLoginOptions>(&saml, "AcpLogin") {
        Err(Error::InvalidConfig { field, reason }) => {
            assert_eq!(field, ConfigField::Idp);
            assert_eq!(reason, "must be \"local\", \"ldap\" or \"oidc\"");
        }
        _ => panic!("accepted"),
    }
}

#[test]
fn the_acp_preset_spreads_into_acp_login_and_no_other_provider_does() {
    let with = |provider: &str| {
        obj(vec![
            ("provider", s(provider)),
            ("platformUrl", s("https://acp.example")),
            ("username", s("u")),
            ("password", s("p")),
        ])
    };
    let acp = read::<AcpLoginOptions>(&with("acp"), "AcpLogin").unwrap();
    assert_eq!(
        acp.into_settings().unwrap().platform_url,
        "https://acp.example"
    );
    let keycloak = read::<AcpLoginOptions>(&with("keycloak"), "AcpLogin").unwrap();
    match keycloak.into_settings() {
        Err(Error::InvalidConfig { field, .. }) => assert_eq!(field, ConfigField::Provider),
        _ => panic!("accepted"),
    }
}

#[test]
fn unknown_options_are_refused_by_name() {
    let (field, reason) =
        config_error::<ClientCredentialsOptions>(&cc(vec![("clientSecrett", s("SEKRIT-3"))]));
    assert_eq!(field, ConfigField::Options);
    assert!(
        reason.starts_with("ClientCredentials: clientSecrett: unknown option; the options are clientId, tokenEndpoint, scope,"),
        "{reason}"
    );
    assert!(!reason.contains("SEKRIT"));
    // A password-grant option on client credentials.
    let (field, reason) = config_error::<ClientCredentialsOptions>(&cc(vec![("username", s("u"))]));
    assert_eq!(field, ConfigField::Options);
    assert!(
        reason.starts_with("ClientCredentials: username: unknown option"),
        "{reason}"
    );
}

#[test]
fn not_an_options_object() {
    for value in [
        Value::Undefined,
        s("x"),
        Value::Array(vec![]),
        Value::Function(Handle(0)),
    ] {
        let kind = value.kind();
        match read::<ClientCredentialsOptions>(&value, "ClientCredentials") {
            Err(Error::InvalidConfig { field, reason }) => {
                assert_eq!(field, ConfigField::Options);
                assert_eq!(
                    reason,
                    format!("ClientCredentials takes an options object, not {kind}")
                );
            }
            _ => panic!("accepted {kind}"),
        }
    }
    let none: GetTokenOptions = read_optional(&Value::Undefined, "getToken").unwrap();
    assert!(none.signal.is_none());
    let signal: GetTokenOptions =
        read_optional(&obj(vec![("signal", Value::Signal(Handle(9)))]), "getToken").unwrap();
    assert_eq!(signal.signal, Some(HostSignal(Handle(9))));
}

#[test]
fn jwt_bearer_key_object_claims_and_numbers() {
    let jwk: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(include_str!("../../tests/fixtures/rsa2048.jwk.json")).unwrap();
    let jwk_value = obj(jwk
        .iter()
        .map(|(k, v)| (k.as_str(), s(v.as_str().unwrap())))
        .collect());
    let value = obj(vec![
        (
            "tokenEndpoint",
            s("https://t.example/am/oauth2/access_token"),
        ),
        ("key", jwk_value),
        ("issuer", s("svc")),
        ("lifetimeSeconds", Value::Number(60.0)),
        (
            "claims",
            obj(vec![
                ("n", Value::Number(1.5)),
                ("list", Value::Array(vec![Value::Bool(true), Value::Null])),
            ]),
        ),
        ("notBefore", Value::Bool(true)),
    ]);
    let options: JwtBearerOptions = read(&value, "JwtBearer").unwrap();
    let settings = options.into_settings().unwrap();
    assert_eq!(settings.lifetime_secs, Some(60));
    assert!(settings.not_before);
    assert_eq!(
        serde_json::Value::Object(settings.claims).to_string(),
        r#"{"list":[true,null],"n":1.5}"#
    );
    assert_eq!(settings.client.client_id, "");
    for bad in [
        Value::Number(0.0),
        Value::Number(-1.0),
        Value::Number(f64::NAN),
        s("60"),
    ] {
        let value = obj(vec![
            ("tokenEndpoint", s("https://t.example/token")),
            ("key", s("k")),
            ("issuer", s("svc")),
            ("lifetimeSeconds", bad),
        ]);
        match read::<JwtBearerOptions>(&value, "JwtBearer") {
            Err(Error::InvalidConfig { field, reason }) => {
                assert_eq!(field, ConfigField::LifetimeSeconds);
                assert!(
                    reason.starts_with("must be a whole number, at least 1"),
                    "{reason}"
                );
            }
            _ => panic!("accepted"),
        }
    }
}

fn names<T: for<'a> serde::Deserialize<'a>>() -> Vec<&'static str> {
    declared_names::<T>().to_vec()
}

#[test]
fn every_option_has_its_config_field() {
    let all = [
        names::<ClientCredentialsOptions>(),
        names::<PasswordGrantOptions>(),
        names::<JwtBearerOptions>(),
        names::<TokenExchangeOptions>(),
        names::<AuthorizationCodeOptions>(),
        names::<DeviceAuthorizationOptions>(),
        names::<AcpLoginOptions>(),
        names::<GetTokenOptions>(),
        names::<TokenSourceOptions>(),
        names::<EncryptAcpPasswordOptions>(),
        names::<DiscoverOptions>(),
        names::<KeycloakOptions>(),
        names::<TenantOptions>(),
        names::<PingAicOptions>(),
        names::<GenericOptions>(),
        names::<AcpOptions>(),
        names::<IntrospectOptions>(),
    ];
    assert_eq!(all[0].len(), 19, "{:?}", all[0]);
    for name in all.iter().flatten() {
        let field =
            ConfigField::from_name(name).unwrap_or_else(|| panic!("no ConfigField for {name}"));
        assert_eq!(field.name(), *name);
    }
}

/// The structs of `options!` are read by one shared reader
/// ([`read_members`]); it must give what their derived `Deserialize` gives:
/// the same error for every object (first bad member in the object's order,
/// unknown and repeated names, missing fields in declaration order, paths
/// into nested values), and success for the same ones.
#[test]
fn the_shared_options_reader_reads_as_the_derived_deserialize() {
    fn same<T: ReadOptions + for<'a> serde::Deserialize<'a>>(check: fn(&T, &T)) -> (usize, usize) {
        // read_members keeps the fields given as bits of a u64.
        assert!(declared_names::<T>().len() <= 64);
        let mut names: Vec<&str> = declared_names::<T>().to_vec();
        names.extend(["bogus", "ClientId"]);
        let values = [
            Value::Undefined,
            Value::Null,
            Value::Bool(true),
            Value::Number(5.0),
            Value::Number(0.0),
            Value::Number(-1.0),
            Value::Number(1.5),
            s("https://idp.example/token"),
            s("basic"),
            s("-----BEGIN PRIVATE KEY-----"),
            Value::Array(vec![s("a"), s("b")]),
            Value::Array(vec![s("a"), Value::Number(1.0)]),
            obj(vec![
                ("resource", s("r")),
                ("audience", Value::Array(vec![s("x")])),
            ]),
            obj(vec![("a", Value::Bool(false))]),
            Value::Function(Handle(3)),
            Value::Signal(Handle(4)),
            Value::Other("a symbol"),
        ];
        // A small deterministic generator: objects of 0 to 7 members.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let (mut accepted, mut refused) = (0, 0);
        for round in 0..4000 {
            let mut entries: Vec<(&str, Value)> = Vec::new();
            // Often a valid-looking base, so that later members matter.
            if round % 2 == 0 {
                for (name, value) in [
                    ("clientId", s("x")),
                    ("redirectUri", s("x")),
                    ("issuer", s("x")),
                    ("username", s("x")),
                    ("password", s("x")),
                    ("subjectToken", s("x")),
                    ("platformUrl", s("x")),
                    ("key", obj(vec![("kty", s("RSA"))])),
                    ("onPrompt", Value::Function(Handle(2))),
                ] {
                    if names.contains(&name) {
                        entries.push((name, value));
                    }
                }
            }
            for _ in 0..(round % 8) {
                let name = names[next(names.len())];
                entries.push((name, values[next(values.len())].clone()));
            }
            let value = obj(entries);
            let shared = read_options::<T>(&value, "X");
            let derived = read::<T>(&value, "X");
            match (&shared, &derived) {
                (Ok(a), Ok(b)) => {
                    check(a, b);
                    accepted += 1;
                }
                (Err(a), Err(b)) => {
                    assert_eq!(a, b, "{value:?}");
                    refused += 1;
                }
                _ => panic!("{value:?}: {:?} / {:?}", shared.is_ok(), derived.is_ok()),
            }
        }
        (accepted, refused)
    }
    fn flow<T: FlowOptions>(a: &T, b: &T) {
        assert_eq!(a.transport(), b.transport());
    }
    for (accepted, refused) in [
        same::<ClientCredentialsOptions>(flow),
        same::<PasswordGrantOptions>(flow),
        same::<TokenExchangeOptions>(flow),
        same::<AuthorizationCodeOptions>(flow),
        same::<JwtBearerOptions>(flow),
        same::<DeviceAuthorizationOptions>(flow),
        same::<AcpLoginOptions>(flow),
        same::<DiscoverOptions>(flow),
        same::<GetTokenOptions>(|a, b| assert_eq!(a.signal, b.signal)),
        same::<IntrospectOptions>(|a, b| {
            assert_eq!((a.token_type_hint, a.signal), (b.token_type_hint, b.signal));
        }),
        same::<TokenSourceOptions>(|a, b| {
            let numbers = |o: &TokenSourceOptions| (o.margin_seconds, o.clock_skew_seconds);
            assert_eq!(numbers(a), numbers(b));
            assert_eq!((a.store, a.fetch), (b.store, b.fetch));
        }),
    ] {
        assert!(accepted > 20 && refused > 1000, "{accepted} {refused}");
    }
}
