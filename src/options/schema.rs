//! The options of every class and function of the JavaScript API.
//!
//! These types are the one description of the JS surface: the driver reads
//! options into them ([`super::read`]), tsify writes the package's
//! TypeScript declarations from them, and their doc comments are the
//! declarations' documentation. Groups of options that several classes take
//! (the transport, the client, its credential) are written once, in
//! [`options!`], and spliced into each struct.

use super::{HostFunction, HostObject, HostSignal, OptionError, Value};
use crate::client_auth::{ClientCredential, CredentialOptions};
use crate::error::Error;
use crate::flow::acp::AcpIdp;
use crate::flow::{
    AcpLoginSettings, AuthorizationCodeSettings, ClientConfig, ClientCredentialsSettings,
    DeviceAuthorizationSettings, JwtBearerSettings, PasswordGrantSettings, TokenExchangeSettings,
};
use crate::keys::{Algorithm, PrivateKey};
use crate::provider::Provider;
use crate::secret::Secret;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;
use std::sync::Arc;
use tsify::Tsify;

/// Defines an options struct: its own fields, then the fields of each group
/// named after `+` (`transport`, `client`, `credential`), in that order.
macro_rules! options {
    (
        $(#[$attr:meta])*
        pub struct $name:ident { $($own:tt)* } + [$($group:ident),*]
    ) => {
        options!(@build [$(#[$attr])* pub struct $name] [$($own)*] [$($group)*]);
    };
    (@build $head:tt [$($fields:tt)*] [transport $($rest:ident)*]) => {
        options!(@impl $head transport);
        options!(@build $head [$($fields)*
            /// A fetch to use instead of the global one (a proxy, a test double). Called as fetch(url, init).
            #[tsify(optional, type = "(input: string, init: RequestInit) => Promise<Response>")]
            pub fetch: Option<HostFunction>,
            /// Time limit for each request, in milliseconds (default 30000).
            #[serde(default, deserialize_with = "millis")]
            #[tsify(optional)]
            pub timeout_ms: Option<u64>,
            /// Allow plain http to hosts other than loopback. Off by default: credentials would travel in clear text.
            #[tsify(optional)]
            pub allow_insecure_http: Option<bool>,
            /// Who signs assertions: "auto" (default: WebCrypto where crypto.subtle exists, else Rust), "webcrypto" or "rust".
            #[tsify(optional)]
            pub signer: Option<SignerChoice>,
            /// Called after each HTTP exchange (also when no response came) with its record, secrets masked, and the equivalent curl command. What it throws is ignored.
            #[tsify(optional, type = "(exchange: Exchange) => void")]
            pub on_exchange: Option<HostFunction>,
        ] [$($rest)*]);
    };
    (@build $head:tt [$($fields:tt)*] [client $($rest:ident)*]) => {
        options!(@impl $head client);
        options!(@build $head [$($fields)*
            /// The token endpoint, exactly as it is to be called. Without it, the issuer's metadata names it (issuer, or serverIssuer for JwtBearer); neither is an INVALID_CONFIG error.
            #[tsify(optional)]
            pub token_endpoint: Option<String>,
            /// Scope values: a space-separated string or an array. Entra needs one ending in "/.default" for client credentials and in "/access_as_user" for the password grant.
            #[tsify(optional)]
            pub scope: Option<StringOrList>,
            /// More form parameters (audience, resource, ...), sent in insertion order; an array repeats the name.
            #[tsify(optional)]
            pub extra_params: Option<FormParams>,
            /// Which provider's documented rules and endpoints apply; inferred from the endpoint when absent.
            #[tsify(optional)]
            pub provider: Option<Provider>,
            /// RFC 7009 revocation endpoint, for revoke(). Default: Keycloak's and PingOne Advanced Identity Cloud's documented one beside tokenEndpoint; Entra has none.
            #[tsify(optional)]
            pub revocation_endpoint: Option<String>,
            /// RFC 7662 introspection endpoint, for introspect(). Default: Keycloak's and PingOne Advanced Identity Cloud's documented one beside tokenEndpoint.
            #[tsify(optional)]
            pub introspection_endpoint: Option<String>,
            /// DPoP (RFC 9449): bind the tokens to a key pair made for this object (ECDSA P-256, non-extractable, WebCrypto). Each token request carries a proof (a nonce the server demands is sent once more), only token_type "DPoP" is accepted, a TokenSource keys its store entry by the key's thumbprint, and authorizedFetch sends "Authorization: DPoP" with a proof. Without WebCrypto: DPOP_UNAVAILABLE.
            #[tsify(optional)]
            pub dpop: Option<bool>,
        ] [$($rest)*]);
    };
    (@build $head:tt [$($fields:tt)*] [issuer $($rest:ident)*]) => {
        options!(@impl $head issuer);
        options!(@build $head [$($fields)*
            /// The authorization server's issuer URL, exactly as its metadata names it (e.g. "https://sso.example.com/realms/ops"): the endpoints not given are read from its metadata (OpenID Connect Discovery, then RFC 8414), once per process.
            #[tsify(optional)]
            pub issuer: Option<String>,
        ] [$($rest)*]);
    };
    (@build $head:tt [$($fields:tt)*] [server_issuer $($rest:ident)*]) => {
        options!(@impl $head server_issuer);
        options!(@build $head [$($fields)*
            /// The authorization server's issuer, whose metadata gives the token endpoint when tokenEndpoint is not given (here "issuer" is the assertion's iss).
            #[tsify(optional)]
            pub server_issuer: Option<String>,
        ] [$($rest)*]);
    };
    (@build $head:tt [$($fields:tt)*] [credential $($rest:ident)*]) => {
        options!(@impl $head credential);
        options!(@build $head [$($fields)*
            /// The client secret. Absent for a public client, which sends only its client_id, and with clientAuth "private_key_jwt".
            #[tsify(optional, type = "string")]
            pub client_secret: Option<Secret>,
            /// "basic" (HTTP Basic, RFC 6749 §2.3.1; the default with a secret), "post" (client_secret in the body), "private_key_jwt" (a JWT signed with privateKey, RFC 7523 §2.2) or "client_secret_jwt" (a JWT signed HS256 with clientSecret, at least 32 bytes; OpenID Connect Core §9).
            #[tsify(optional)]
            pub client_auth: Option<ClientAuthOption>,
            /// With clientAuth "private_key_jwt": the client's private key.
            #[tsify(optional)]
            pub private_key: Option<PrivateKeyInput>,
            /// With clientAuth "private_key_jwt": the PEM certificate of the key, which adds x5t and x5t#S256 to the header (Entra certificate credentials).
            #[tsify(optional)]
            pub certificate: Option<String>,
            /// With clientAuth "private_key_jwt": the signing algorithm. Default: the JWK's alg when RS256 or PS256, else RS256. Entra documents PS256.
            #[tsify(optional)]
            pub algorithm: Option<Algorithm>,
        ] [$($rest)*]);
    };
    (@impl [$(#[$attr:meta])* pub struct $name:ident] transport) => {
        impl FlowOptions for $name {
            fn transport(&self) -> TransportOptions {
                TransportOptions {
                    fetch: self.fetch,
                    timeout_ms: self.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS),
                    signer: self.signer.unwrap_or_default(),
                    on_exchange: self.on_exchange,
                }
            }
        }
    };
    (@impl [$(#[$attr:meta])* pub struct $name:ident] client) => {
        impl $name {
            /// The client configuration, with the given id and credential.
            fn client_config(&mut self, client_id: String, credential: ClientCredential) -> ClientConfig {
                let (issuer, issuer_field) = self.discovery_issuer();
                ClientConfig {
                    token_endpoint: self.token_endpoint.take().unwrap_or_default(),
                    issuer,
                    issuer_field,
                    client_id,
                    credential,
                    scope: self.scope.take().map(StringOrList::into_vec).unwrap_or_default(),
                    extra_params: self.extra_params.take().map(|p| p.0).unwrap_or_default(),
                    provider: self.provider,
                    allow_insecure_http: self.allow_insecure_http.unwrap_or(false),
                    revocation_endpoint: self.revocation_endpoint.take(),
                    introspection_endpoint: self.introspection_endpoint.take(),
                    dpop: self.dpop.unwrap_or(false),
                }
            }
        }
    };
    (@impl [$(#[$attr:meta])* pub struct $name:ident] issuer) => {
        impl $name {
            /// The issuer to discover, and the option that names it.
            fn discovery_issuer(&mut self) -> (Option<String>, super::ConfigField) {
                (self.issuer.take(), super::ConfigField::Issuer)
            }
        }
    };
    (@impl [$(#[$attr:meta])* pub struct $name:ident] server_issuer) => {
        impl $name {
            /// The issuer to discover, and the option that names it.
            fn discovery_issuer(&mut self) -> (Option<String>, super::ConfigField) {
                (self.server_issuer.take(), super::ConfigField::ServerIssuer)
            }
        }
    };
    (@impl [$(#[$attr:meta])* pub struct $name:ident] credential) => {
        impl $name {
            /// The client's credential, by the core's rules
            /// ([`ClientCredential::from_options`]).
            fn credential(&mut self, secret_required: bool) -> Result<ClientCredential, Error> {
                let options = CredentialOptions {
                    client_auth: self.client_auth,
                    client_secret: self.client_secret.take(),
                    private_key: self.private_key.take().map(|key| key.0),
                    certificate: self.certificate.take(),
                    algorithm: self.algorithm,
                };
                ClientCredential::from_options(options, secret_required)
            }
        }
    };
    (@build
        [$(#[$attr:meta])* pub struct $name:ident]
        [$($(#[$($field_attr:tt)*])* pub $field:ident: $ty:ty,)*]
        []
    ) => {
        $(#[$attr])*
        #[derive(Deserialize, Tsify)]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        pub struct $name { $($(#[$($field_attr)*])* pub $field: $ty,)* }

        impl super::ReadOptions for $name {
            fn read_value(value: &Value) -> Result<Self, OptionError> {
                // The derive's names (camelCase), in declaration order.
                let names = super::declared_names::<Self>();
                #[derive(Default)]
                struct Given { $($field: Option<$ty>,)* }
                let mut given = Given::default();
                let expecting = concat!("struct ", stringify!($name));
                super::read_members(value, expecting, names, &mut |index, member| {
                    let mut i = 0;
                    $(
                        if index == i {
                            given.$field = Some(read_field!(member; $([$($field_attr)*])*)?);
                        }
                        i += 1;
                    )*
                    let _ = i;
                    Ok(())
                })?;
                // Missing fields are refused in declaration order, as the
                // derive does.
                let mut name = names.iter().copied();
                Ok($name {$($field: {
                    let name = name.next().unwrap_or_default();
                    match given.$field {
                        Some(value) => value,
                        None => super::missing(name)?,
                    }
                },)*})
            }
        }
    };
}

/// How [`options!`]'s reader reads a field: with the function its
/// `deserialize_with` names, else by its type.
macro_rules! read_field {
    ($member:ident; [serde(default, deserialize_with = "millis")] $($rest:tt)*) => {
        millis($member)
    };
    ($member:ident; [serde(default, deserialize_with = "positive_integer")] $($rest:tt)*) => {
        positive_integer($member)
    };
    ($member:ident; [serde(default, deserialize_with = "whole_seconds")] $($rest:tt)*) => {
        whole_seconds($member)
    };
    ($member:ident; [serde($($other:tt)*)] $($rest:tt)*) => {
        compile_error!("options!: a serde attribute its reader does not know")
    };
    ($member:ident; [$($other:tt)*] $($rest:tt)*) => {
        read_field!($member; $($rest)*)
    };
    ($member:ident;) => {
        Deserialize::deserialize($member)
    };
}

options! {
    /// Options of `new ClientCredentials(options)`.
    pub struct ClientCredentialsOptions {
        /// The client id.
        pub client_id: String,
    } + [client, issuer, credential, transport]
}

options! {
    /// Options of `new PasswordGrant(options)`.
    pub struct PasswordGrantOptions {
        /// The client id.
        pub client_id: String,
        /// The resource owner's user name.
        pub username: String,
        /// The resource owner's password.
        #[tsify(type = "string")]
        pub password: Secret,
    } + [client, issuer, credential, transport]
}

options! {
    /// Options of `new TokenExchange(options)`: RFC 8693 token exchange, or
    /// Microsoft Entra ID's on-behalf-of request with provider "entra".
    pub struct TokenExchangeOptions {
        /// The client id.
        pub client_id: String,
        /// The token to exchange (the access token an API received, say).
        #[tsify(type = "string")]
        pub subject_token: Secret,
        /// Its type: a URI (RFC 8693 §3) or one of "access_token" (the default), "refresh_token", "id_token", "saml1", "saml2", "jwt".
        #[tsify(optional)]
        pub subject_token_type: Option<String>,
        /// The token of the party acting for the subject (delegation, RFC 8693 §1.1).
        #[tsify(optional, type = "string")]
        pub actor_token: Option<Secret>,
        /// The actor token's type, as subjectTokenType; required with actorToken.
        #[tsify(optional)]
        pub actor_token_type: Option<String>,
        /// Logical names of where the new token is to be used; an array sends several.
        #[tsify(optional)]
        pub audience: Option<StringOrList>,
        /// URIs of where the new token is to be used (RFC 8707); an array sends several.
        #[tsify(optional)]
        pub resource: Option<StringOrList>,
        /// The type of token wanted, as subjectTokenType. grantkit hands out access tokens only.
        #[tsify(optional)]
        pub requested_token_type: Option<String>,
    } + [client, issuer, credential, transport]
}

options! {
    /// Options of `new AuthorizationCode(options)`: the authorization code grant with PKCE (RFC 6749 §4.1, RFC 7636 S256), the user signing in in a browser. With only issuer, the endpoints come from its metadata. With "openid" in scope, the ID token is verified (OpenID Connect Core §3.1.3.7): issuer is then required.
    pub struct AuthorizationCodeOptions {
        /// The client id.
        pub client_id: String,
        /// The authorization endpoint, where the browser is sent (RFC 6749 §3.1). Without it, the issuer's metadata names it.
        #[tsify(optional)]
        pub authorization_endpoint: Option<String>,
        /// Where the server sends the browser back, exactly as registered: a page of yours (https, or http on loopback), or for a native app http://127.0.0.1:PORT/... (RFC 8252 §7.3) or a private-use scheme.
        pub redirect_uri: String,
        /// The issuer, exactly as the server names itself: the iss of the redirect (RFC 9207) and of the ID token must equal it. Required with the "openid" scope. The endpoints not given (authorizationEndpoint, tokenEndpoint, jwksUri) are read from its metadata (OpenID Connect Discovery, then RFC 8414), once per process, and with them whether it announces authorization_response_iss_parameter_supported.
        #[tsify(optional)]
        pub issuer: Option<String>,
        /// The issuer's JWK Set, whose keys verify the ID token (RS256 or ES256). With the "openid" scope: given, or read from the issuer's metadata.
        #[tsify(optional)]
        pub jwks_uri: Option<String>,
        /// More parameters of the authorization URL (prompt, login_hint, acr_values, ...), in insertion order; grantkit's own (state, nonce, code_challenge, redirect_uri, ...) cannot be replaced. extraParams go to the token request.
        #[tsify(optional)]
        pub authorization_params: Option<FormParams>,
        /// Whether the server's metadata says authorization_response_iss_parameter_supported (RFC 9207 §3): then a redirect without iss is refused. A redirect with iss is always checked against issuer. When the metadata is read (an endpoint not given), its announcement counts too; this option cannot lift it.
        #[tsify(optional)]
        pub authorization_response_iss_parameter_supported: Option<bool>,
    } + [client, credential, transport]
}

impl AuthorizationCodeOptions {
    /// The issuer the redirect and ID token must name, whose metadata gives
    /// the endpoints not given.
    fn discovery_issuer(&mut self) -> (Option<String>, super::ConfigField) {
        (self.issuer.take(), super::ConfigField::Issuer)
    }

    /// The login's settings; errors name the option.
    pub fn into_settings(mut self) -> Result<AuthorizationCodeSettings, Error> {
        let credential = self.credential(false)?;
        let client_id = std::mem::take(&mut self.client_id);
        Ok(AuthorizationCodeSettings {
            client: self.client_config(client_id, credential),
            authorization_endpoint: self.authorization_endpoint.take().unwrap_or_default(),
            jwks_uri: self.jwks_uri.take(),
            redirect_uri: std::mem::take(&mut self.redirect_uri),
            authorization_params: self
                .authorization_params
                .take()
                .map(|p| p.0)
                .unwrap_or_default(),
            iss_parameter_supported: self
                .authorization_response_iss_parameter_supported
                .unwrap_or(false),
        })
    }
}

options! {
    /// Options of `new JwtBearer(options)`.
    pub struct JwtBearerOptions {
        /// The service account's private key, which signs the assertion.
        pub key: PrivateKeyInput,
        /// iss: the service account id (the server's issuer, for discovery, is serverIssuer).
        pub issuer: String,
        /// sub; default: the issuer.
        #[tsify(optional)]
        pub subject: Option<String>,
        /// aud; default: tokenEndpoint exactly as given (":443" kept).
        #[tsify(optional)]
        pub audience: Option<String>,
        /// Sent as client_id; default "service-account" with provider "pingAic", else none.
        #[tsify(optional)]
        pub client_id: Option<String>,
        /// exp - iat in seconds; default 180.
        #[serde(default, deserialize_with = "positive_integer")]
        #[tsify(optional)]
        pub lifetime_seconds: Option<u64>,
        /// The signing algorithm. Default: the JWK's alg when RS256 or PS256, else RS256.
        #[tsify(optional)]
        pub algorithm: Option<Algorithm>,
        /// Extra claims; iss, sub, aud, iat, exp, nbf and jti cannot be overridden.
        #[tsify(optional)]
        pub claims: Option<Claims>,
        /// Add nbf = iat.
        #[tsify(optional)]
        pub not_before: Option<bool>,
    } + [client, server_issuer, transport]
}

options! {
    /// Options of `new DeviceAuthorization(options)`.
    pub struct DeviceAuthorizationOptions {
        /// The client id.
        pub client_id: String,
        /// RFC 8628 §3.1 device authorization endpoint. Default: Keycloak's and Entra's documented one beside tokenEndpoint (spread keycloak() or entra() in); required for other servers.
        #[tsify(optional)]
        pub device_authorization_endpoint: Option<String>,
        /// Shows the user where to go and what to type. Called once per getToken, before polling starts; a returned promise is awaited.
        #[tsify(type = "(prompt: DevicePrompt) => void | Promise<void>")]
        pub on_prompt: HostFunction,
    } + [client, issuer, credential, transport]
}

options! {
    /// Options of `new AcpLogin(options)`.
    pub struct AcpLoginOptions {
        /// The platform origin, e.g. "https://acp.example.com".
        pub platform_url: String,
        /// The user name.
        pub username: String,
        /// The password; sent only RSA-encrypted with the platform's key.
        #[tsify(type = "string")]
        pub password: Secret,
        /// The connector: "local" (default), "ldap" or "oidc".
        #[tsify(optional)]
        pub idp: Option<AcpIdp>,
        /// "acp", as the acp() preset gives it (so that it can be spread in); any other provider is refused.
        #[tsify(optional, type = "\"acp\"")]
        pub provider: Option<Provider>,
        /// The platform's Dex issuer, as the acp() preset gives it: must be "{platformUrl}/dex" (the login talks to the platform's own Dex).
        #[tsify(optional)]
        pub issuer: Option<String>,
    } + [transport]
}

options! {
    /// Options of `getToken(options)`.
    #[derive(Default)]
    pub struct GetTokenOptions {
        /// Aborts the request; the promise then rejects with code "ABORTED".
        #[tsify(optional, type = "AbortSignal")]
        pub signal: Option<HostSignal>,
    } + []
}

/// The tokens `revoke(tokens)` revokes: a TokenSet, or an object with only the token to revoke. Other members are ignored.
#[derive(Deserialize, Tsify, Default)]
pub struct RevokeTokens {
    /// Revoked with token_type_hint "access_token", after the refresh token.
    #[tsify(optional, type = "string")]
    pub access_token: Option<Secret>,
    /// Revoked first, with token_type_hint "refresh_token".
    #[tsify(optional, type = "string")]
    pub refresh_token: Option<Secret>,
}

options! {
    /// Options of `introspect(token, options)`.
    #[derive(Default)]
    pub struct IntrospectOptions {
        /// Sent as token_type_hint (RFC 7662 §2.1); absent by default: the server then looks the token up as any type.
        #[tsify(optional)]
        pub token_type_hint: Option<crate::flow::TokenTypeHint>,
        /// Aborts the request; the promise then rejects with code "ABORTED".
        #[tsify(optional, type = "AbortSignal")]
        pub signal: Option<HostSignal>,
    } + []
}

options! {
    /// Options of `new TokenSource(flow, options)`.
    #[derive(Default)]
    pub struct TokenSourceOptions {
        /// Seconds before expiry at which a token is replaced. Default: the larger of 30 s and 10 % of the lifetime, at most half the lifetime.
        #[serde(default, deserialize_with = "whole_seconds")]
        #[tsify(optional)]
        pub margin_seconds: Option<u64>,
        /// How far the server's clock may be ahead: tokens count as expiring this much earlier (default 0).
        #[serde(default, deserialize_with = "whole_seconds")]
        #[tsify(optional)]
        pub clock_skew_seconds: Option<u64>,
        /// A shared store, consulted before a token request and written after one. Its failures never fail getToken.
        #[tsify(optional, type = "TokenStore")]
        pub store: Option<HostObject>,
        /// Called with a GrantkitError (code STORE_FAILED) when the store throws, rejects, times out or holds something unreadable.
        #[tsify(optional, type = "(error: GrantkitError) => void")]
        pub on_store_error: Option<HostFunction>,
        /// authorizedFetch: the origins the token may be sent to, e.g. ["https://api.example.com"]. Required for authorizedFetch; nothing is allowed by default.
        #[tsify(optional)]
        pub allowed_origins: Option<StringOrList>,
        /// authorizedFetch: more headers on every call, e.g. { "Ocp-Apim-Subscription-Key": key }.
        #[tsify(optional)]
        pub headers: Option<FormParams>,
        /// authorizedFetch: sent as x-api-caller-id (the e-mail calls are attributed to); only with ClientCredentials.
        #[tsify(optional)]
        pub api_caller_id: Option<String>,
        /// authorizedFetch: a fetch to use instead of the global one. Called as fetch(request).
        #[tsify(optional, type = "(request: Request) => Promise<Response>")]
        pub fetch: Option<HostFunction>,
        /// Allow plain-http origins other than loopback in allowedOrigins.
        #[tsify(optional)]
        pub allow_insecure_http: Option<bool>,
        /// authorizedFetch: called after each API call with its record (the Bearer token as a prefix, credential headers masked; the response body is not read: it is yours). The token requests are reported to the flow's own onExchange.
        #[tsify(optional, type = "(exchange: Exchange) => void")]
        pub on_exchange: Option<HostFunction>,
    } + []
}

/// A store shared by several isolates or processes (a Workers KV namespace, Redis, a Durable Object: see grantkit/stores). Values are JSON strings holding the tokens, refresh token included: keep the store private. With lease and release, one instance requests while the others wait for its tokens.
#[derive(Tsify)]
pub struct TokenStore {
    /// The value stored under key, or null/undefined.
    #[tsify(
        type = "(key: string) => Promise<string | null | undefined> | string | null | undefined"
    )]
    pub get: HostFunction,
    /// Stores value for ttlSeconds (the seconds until the access token expires; undefined when unknown). Workers KV needs expirationTtl >= 60: pass Math.max(60, ttlSeconds).
    #[tsify(
        type = "(key: string, value: string, ttlSeconds: number | undefined) => Promise<void> | void"
    )]
    pub set: HostFunction,
    /// Takes the lease key for ttlMs if nobody holds it (Redis SET key owner NX PX ttlMs) and answers true, else false. Must be atomic across every instance that shares the store. With release.
    #[tsify(
        optional,
        type = "(key: string, ttlMs: number, owner: string) => Promise<boolean> | boolean"
    )]
    pub lease: Option<HostFunction>,
    /// Frees the lease key if owner still holds it (compare and delete). With lease.
    #[tsify(
        optional,
        type = "(key: string, owner: string) => Promise<void> | void"
    )]
    pub release: Option<HostFunction>,
}

options! {
    /// Options of `discover(options)`.
    pub struct DiscoverOptions {
        /// The issuer, e.g. "https://sso.example.com/realms/ops": its metadata is read from /.well-known/openid-configuration, else RFC 8414's /.well-known/oauth-authorization-server.
        pub issuer: String,
    } + [transport]
}

/// Options of `encryptAcpPassword(options)`.
#[derive(Deserialize, Tsify)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EncryptAcpPasswordOptions {
    /// The platform's RSA public key (PEM), as the login's step 3 returns it.
    pub public_key: String,
    /// The timestamp the platform sent, as it sent it.
    pub ts: StringOrNumber,
    /// The password.
    #[tsify(type = "string")]
    pub password: Secret,
}

/// Options of `keycloak(options)`.
#[derive(Deserialize, Tsify)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeycloakOptions {
    /// The server's base URL, e.g. "https://sso.example.com".
    pub base_url: String,
    /// The realm.
    pub realm: String,
}

/// Options of `entra(options)` and `pingAic(options)`.
#[derive(Deserialize, Tsify)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantOptions {
    /// The tenant: Entra's tenant id or domain; PingOne Advanced Identity Cloud's tenant host name.
    pub tenant: String,
}

/// Options of `pingAic(options)`.
#[derive(Deserialize, Tsify)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PingAicOptions {
    /// The tenant's host name, e.g. "openam-acme.forgeblocks.com".
    pub tenant: String,
    /// A realm ("alpha", "bravo"): adds its issuer, https://{tenant}/am/oauth2/realms/root/realms/{realm}. The token endpoint stays the service accounts' https://{tenant}:443/am/oauth2/access_token.
    #[tsify(optional)]
    pub realm: Option<String>,
}

/// Options of `generic(options)`.
#[derive(Deserialize, Tsify)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenericOptions {
    /// The token endpoint.
    pub token_endpoint: String,
    /// Allow plain http to hosts other than loopback.
    #[tsify(optional)]
    pub allow_insecure_http: Option<bool>,
}

/// Options of `acp(options)`.
#[derive(Deserialize, Tsify)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AcpOptions {
    /// The platform origin, e.g. "https://acp.example.com".
    pub platform_url: String,
}

/// Who signs assertions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize, Tsify)]
#[serde(rename_all = "lowercase")]
pub enum SignerChoice {
    /// WebCrypto where `crypto.subtle` exists, else Rust.
    #[default]
    Auto,
    /// WebCrypto, or an error where there is none.
    WebCrypto,
    /// The pure-Rust signer.
    Rust,
}

/// How a client authenticates (`clientAuth`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Tsify)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthOption {
    /// `client_secret_basic`.
    Basic,
    /// `client_secret_post`.
    Post,
    /// `private_key_jwt`.
    PrivateKeyJwt,
    /// `client_secret_jwt`.
    ClientSecretJwt,
}

/// One string, or an array of strings.
#[derive(Clone, Debug, PartialEq, Eq, Tsify)]
#[serde(untagged)]
pub enum StringOrList {
    /// One string.
    One(String),
    /// Several.
    Many(Vec<String>),
}

impl StringOrList {
    /// The strings, in order.
    pub fn into_vec(self) -> Vec<String> {
        match self {
            StringOrList::One(one) => vec![one],
            StringOrList::Many(many) => many,
        }
    }
}

impl<'de> Deserialize<'de> for StringOrList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StringOrList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<StringOrList, E> {
                Ok(StringOrList::One(s.to_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StringOrList, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<String>()? {
                    items.push(item);
                }
                Ok(StringOrList::Many(items))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// Form parameters or headers: each name with a string, or an array of
/// strings for a name that repeats; insertion order is kept.
#[derive(Clone, Debug, Default, PartialEq, Eq, Tsify)]
#[tsify(type = "Record<string, StringOrList>")]
pub struct FormParams(pub Vec<(String, String)>);

impl<'de> Deserialize<'de> for FormParams {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FormParams;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FormParams, A::Error> {
                let mut pairs = Vec::new();
                while let Some((name, values)) = map.next_entry::<String, StringOrList>()? {
                    pairs.extend(values.into_vec().into_iter().map(|v| (name.clone(), v)));
                }
                Ok(FormParams(pairs))
            }
        }
        deserializer.deserialize_map(V)
    }
}

/// A private RSA key: a JWK object, JWK JSON, or PEM (PKCS#8 "BEGIN PRIVATE KEY" or PKCS#1 "BEGIN RSA PRIVATE KEY"); at least 2048 bits.
#[derive(Clone, Tsify)]
#[tsify(type = "string | Record<string, unknown>")]
pub struct PrivateKeyInput(pub crate::secret::Secret);

impl<'de> Deserialize<'de> for PrivateKeyInput {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PrivateKeyInput;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("PEM or JWK text, or a JWK object")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<PrivateKeyInput, E> {
                Ok(PrivateKeyInput(s.into()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<PrivateKeyInput, A::Error> {
                let jwk = serde_json::Map::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(PrivateKeyInput(
                    serde_json::Value::Object(jwk).to_string().into(),
                ))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// Extra claims of a JWT: any JSON values.
#[derive(Clone, Debug, Default, PartialEq, Tsify)]
#[tsify(type = "Record<string, unknown>")]
pub struct Claims(pub serde_json::Map<String, serde_json::Value>);

impl<'de> Deserialize<'de> for Claims {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Claims;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Claims, A::Error> {
                serde_json::Map::deserialize(de::value::MapAccessDeserializer::new(map)).map(Claims)
            }
        }
        deserializer.deserialize_map(V)
    }
}

/// A string or a number, kept as JSON.
#[derive(Clone, Debug, PartialEq, Tsify)]
#[serde(untagged)]
pub enum StringOrNumber {
    /// A string.
    String(String),
    /// A finite number.
    Number(f64),
}

impl StringOrNumber {
    /// The value as JSON: whole numbers without a fraction.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            StringOrNumber::String(s) => serde_json::Value::String(s.clone()),
            StringOrNumber::Number(n) if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 => {
                serde_json::Value::from(*n as i64)
            }
            StringOrNumber::Number(n) => serde_json::Number::from_f64(*n)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
        }
    }
}

impl<'de> Deserialize<'de> for StringOrNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StringOrNumber;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a finite number")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<StringOrNumber, E> {
                Ok(StringOrNumber::String(s.to_owned()))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<StringOrNumber, E> {
                Ok(StringOrNumber::Number(n as f64))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<StringOrNumber, E> {
                Ok(StringOrNumber::Number(n as f64))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<StringOrNumber, E> {
                match n.is_finite() {
                    true => Ok(StringOrNumber::Number(n)),
                    false => Err(E::invalid_value(de::Unexpected::Float(n), &self)),
                }
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// A whole number in `min..=max`, or absent.
fn whole_number<'de, D: Deserializer<'de>>(
    deserializer: D,
    min: u64,
    max: u64,
    expecting: &'static str,
) -> Result<Option<u64>, D::Error> {
    struct V {
        min: u64,
        max: u64,
        expecting: &'static str,
    }
    impl<'de> Visitor<'de> for V {
        type Value = Option<u64>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.expecting)
        }
        fn visit_none<E: de::Error>(self) -> Result<Option<u64>, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<u64>, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<Option<u64>, E> {
            match (self.min..=self.max).contains(&n) {
                true => Ok(Some(n)),
                false => Err(E::invalid_value(de::Unexpected::Unsigned(n), &self)),
            }
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<Option<u64>, E> {
            Err(E::invalid_value(de::Unexpected::Signed(n), &self))
        }
        fn visit_f64<E: de::Error>(self, n: f64) -> Result<Option<u64>, E> {
            Err(E::invalid_value(de::Unexpected::Float(n), &self))
        }
    }
    deserializer.deserialize_option(V {
        min,
        max,
        expecting,
    })
}

const MAX_SAFE_INTEGER: u64 = 9_007_199_254_740_991;

fn millis<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    // setTimeout's limit: 2^31 - 1 ms.
    whole_number(
        d,
        1,
        2_147_483_647,
        "a whole number of milliseconds, at least 1",
    )
}

fn positive_integer<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    whole_number(d, 1, MAX_SAFE_INTEGER, "a whole number, at least 1")
}

fn whole_seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    whole_number(d, 0, MAX_SAFE_INTEGER, "a whole number, 0 or more")
}

/// The default time limit of each request.
pub const DEFAULT_TIMEOUT_MS: u64 = 30_000;

/// The options of a flow class.
pub trait FlowOptions {
    /// The transport options, defaults filled in.
    fn transport(&self) -> TransportOptions;
}

/// The options every flow takes about transport, for the driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransportOptions {
    /// A fetch to use instead of the global one.
    pub fetch: Option<HostFunction>,
    /// Time limit of each request, in milliseconds.
    pub timeout_ms: u64,
    /// Who signs assertions.
    pub signer: SignerChoice,
    /// Called with each exchange's record.
    pub on_exchange: Option<HostFunction>,
}

impl ClientCredentialsOptions {
    /// The flow's settings; errors name the option.
    pub fn into_settings(mut self) -> Result<ClientCredentialsSettings, Error> {
        let credential = self.credential(true)?;
        let client_id = std::mem::take(&mut self.client_id);
        Ok(ClientCredentialsSettings {
            client: self.client_config(client_id, credential),
        })
    }
}

impl PasswordGrantOptions {
    /// The flow's settings; errors name the option.
    pub fn into_settings(mut self) -> Result<PasswordGrantSettings, Error> {
        let credential = self.credential(false)?;
        let client_id = std::mem::take(&mut self.client_id);
        Ok(PasswordGrantSettings {
            client: self.client_config(client_id, credential),
            username: std::mem::take(&mut self.username),
            password: std::mem::replace(&mut self.password, Secret::new("")),
        })
    }
}

impl TokenExchangeOptions {
    /// The exchange's settings; errors name the option.
    pub fn into_settings(mut self) -> Result<TokenExchangeSettings, Error> {
        let credential = self.credential(false)?;
        let client_id = std::mem::take(&mut self.client_id);
        Ok(TokenExchangeSettings {
            client: self.client_config(client_id, credential),
            subject_token: std::mem::replace(&mut self.subject_token, Secret::new("")),
            subject_token_type: self.subject_token_type.take(),
            actor_token: self.actor_token.take(),
            actor_token_type: self.actor_token_type.take(),
            audience: self
                .audience
                .take()
                .map(StringOrList::into_vec)
                .unwrap_or_default(),
            resource: self
                .resource
                .take()
                .map(StringOrList::into_vec)
                .unwrap_or_default(),
            requested_token_type: self.requested_token_type.take(),
        })
    }
}

impl JwtBearerOptions {
    /// The flow's settings, the key imported; errors name the option.
    pub fn into_settings(mut self) -> Result<JwtBearerSettings, Error> {
        let key = Arc::new(PrivateKey::parse(self.key.0.expose())?);
        let client_id = self.client_id.take().unwrap_or_default();
        Ok(JwtBearerSettings {
            client: self.client_config(client_id, ClientCredential::None),
            key,
            issuer: std::mem::take(&mut self.issuer),
            subject: self.subject.take(),
            audience: self.audience.take(),
            lifetime_secs: self.lifetime_seconds,
            algorithm: self.algorithm,
            claims: self.claims.take().map(|c| c.0).unwrap_or_default(),
            not_before: self.not_before.unwrap_or(false),
        })
    }
}

impl DeviceAuthorizationOptions {
    /// The flow's settings; errors name the option.
    pub fn into_settings(mut self) -> Result<DeviceAuthorizationSettings, Error> {
        let credential = self.credential(false)?;
        let client_id = std::mem::take(&mut self.client_id);
        Ok(DeviceAuthorizationSettings {
            client: self.client_config(client_id, credential),
            device_authorization_endpoint: self.device_authorization_endpoint.take(),
        })
    }
}

impl AcpLoginOptions {
    /// The login's settings.
    pub fn into_settings(mut self) -> Result<AcpLoginSettings, Error> {
        if self.provider.is_some_and(|p| p != Provider::Acp) {
            return Err(Error::config(
                super::ConfigField::Provider,
                "AcpLogin is Alauda ACP's login: provider must be \"acp\" or absent",
            ));
        }
        if let Some(issuer) = &self.issuer {
            if crate::provider::acp_issuer(&self.platform_url)
                .ok()
                .as_ref()
                != Some(issuer)
            {
                return Err(Error::config(
                    super::ConfigField::Issuer,
                    "AcpLogin talks to the platform's own Dex: issuer must be {platformUrl}/dex, as acp() gives it, or absent",
                ));
            }
        }
        Ok(AcpLoginSettings {
            platform_url: std::mem::take(&mut self.platform_url),
            username: std::mem::take(&mut self.username),
            password: std::mem::replace(&mut self.password, Secret::new("")),
            idp: self.idp.unwrap_or_default(),
            allow_insecure_http: self.allow_insecure_http.unwrap_or(false),
        })
    }
}

impl TokenSourceOptions {
    /// When cached tokens are replaced.
    pub fn expiry_policy(&self) -> crate::source::ExpiryPolicy {
        crate::source::ExpiryPolicy {
            margin_secs: self.margin_seconds,
            clock_skew_secs: self.clock_skew_seconds.unwrap_or(0),
        }
    }

    /// What authorizedFetch may do, for [`crate::api_call::ApiPolicy::new`],
    /// with the flow's tokens DPoP-bound or not ([`crate::source::Grant::dpop`]).
    pub fn api_settings(&mut self, dpop: bool) -> crate::api_call::ApiSettings {
        crate::api_call::ApiSettings {
            allowed_origins: self
                .allowed_origins
                .take()
                .map(StringOrList::into_vec)
                .unwrap_or_default(),
            headers: self.headers.take().map(|h| h.0).unwrap_or_default(),
            caller_id: self.api_caller_id.take(),
            allow_insecure_http: self.allow_insecure_http.unwrap_or(false),
            dpop,
        }
    }
}
