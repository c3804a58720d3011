//! What the JavaScript API returns, as Rust types: the driver serializes
//! them, and the TypeScript declarations are generated from them.

use crate::provider::Provider;
use crate::token::TokenSet;
use serde::Serialize;
use serde_json::{Map, Value};
use tsify::Tsify;

/// The tokens a server issued; field names are RFC 6749's.
#[derive(Serialize, Tsify)]
#[tsify(rename = "TokenSet")]
pub struct TokenSetOutput<'a> {
    /// The access token.
    pub access_token: &'a str,
    /// "Bearer", or "DPoP" from a flow with the dpop option (RFC 9449 §5): the server's value, compared case-insensitively and normalised; any other is refused.
    #[tsify(type = "\"Bearer\" | \"DPoP\"")]
    pub token_type: &'a str,
    /// Lifetime in seconds, when the server sent it (a number or numeric string).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    /// Expiry as Unix time in seconds: the time of the response plus expires_in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// The refresh token, if one was issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<&'a str>,
    /// The OpenID Connect ID token, if one was issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<&'a str>,
    /// The granted scope, if the server said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<&'a str>,
    /// The whole response object, vendor members included (it holds the tokens too).
    #[tsify(type = "Record<string, unknown>")]
    pub raw: &'a Map<String, Value>,
}

impl<'a> From<&'a TokenSet> for TokenSetOutput<'a> {
    fn from(tokens: &'a TokenSet) -> Self {
        TokenSetOutput {
            access_token: tokens.access_token.expose(),
            token_type: &tokens.token_type,
            expires_in: tokens.expires_in,
            expires_at: tokens.expires_at.map(|at| at.as_secs()),
            refresh_token: tokens.refresh_token.as_ref().map(|t| t.expose()),
            id_token: tokens.id_token.as_ref().map(|t| t.expose()),
            scope: tokens.scope.as_deref(),
            raw: &tokens.raw,
        }
    }
}

/// What `introspect(token)` resolves to: the server's answer (RFC 7662 §2.2) as sent; `active` is checked to be a boolean, every other member is optional.
#[derive(Serialize, Tsify)]
#[tsify(
    rename = "IntrospectionResponse",
    type = "{ active: boolean; scope?: string; client_id?: string; username?: string; token_type?: string; exp?: number; iat?: number; nbf?: number; sub?: string; aud?: string | string[]; iss?: string; jti?: string; [member: string]: unknown }"
)]
pub struct IntrospectionOutput<'a>(pub &'a Map<String, Value>);

/// What `keycloak()`, `entra()`, `pingAic()` and `generic()` return: spread
/// it into a flow's options.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct TokenEndpointPreset {
    /// Whose documented rules apply.
    pub provider: Provider,
    /// The token endpoint.
    pub token_endpoint: String,
    /// The authorization server's issuer (its discovery URL's prefix): keycloak() and entra() always, pingAic() with a realm. A flow given tokenEndpoint does not use it; JwtBearer reads "issuer" as the assertion's iss, so put your own issuer after the spread preset there.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub issuer: Option<String>,
}

/// What `acp()` returns.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct AcpPreset {
    /// Always "acp".
    #[tsify(type = "\"acp\"")]
    pub provider: Provider,
    /// The platform URL, checked, without a trailing slash.
    pub platform_url: String,
    /// The issuer of the platform's Dex: "{platformUrl}/dex".
    pub issuer: String,
}

/// What `discover()` resolves to: the issuer and the endpoints its metadata
/// names, each under the name of the option that takes it.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct DiscoveredEndpoints<'a> {
    /// The issuer, as asked for.
    pub issuer: &'a str,
    /// `token_endpoint`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<&'a str>,
    /// `device_authorization_endpoint`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_authorization_endpoint: Option<&'a str>,
    /// `revocation_endpoint`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<&'a str>,
    /// `introspection_endpoint`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint: Option<&'a str>,
    /// `authorization_endpoint`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<&'a str>,
    /// `jwks_uri`: the issuer's keys, which verify ID tokens (AuthorizationCode's jwksUri).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<&'a str>,
}

impl<'a> From<&'a crate::discovery::ServerMetadata> for DiscoveredEndpoints<'a> {
    fn from(metadata: &'a crate::discovery::ServerMetadata) -> Self {
        DiscoveredEndpoints {
            issuer: &metadata.issuer,
            token_endpoint: metadata.token_endpoint.as_deref(),
            device_authorization_endpoint: metadata.device_authorization_endpoint.as_deref(),
            revocation_endpoint: metadata.revocation_endpoint.as_deref(),
            introspection_endpoint: metadata.introspection_endpoint.as_deref(),
            authorization_endpoint: metadata.authorization_endpoint.as_deref(),
            jwks_uri: metadata.jwks_uri.as_deref(),
        }
    }
}
