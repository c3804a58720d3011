//! Token exchange: a token the client holds (a user's access token, say)
//! traded for one for another audience.
//!
//! Two requests, by provider:
//! - RFC 8693 (OAuth 2.0 Token Exchange; Keycloak's standard token
//!   exchange): `grant_type=urn:ietf:params:oauth:grant-type:token-exchange`,
//!   `subject_token` and `subject_token_type` (§2.1, REQUIRED), then
//!   `actor_token` / `actor_token_type` (the type REQUIRED with the token),
//!   `requested_token_type`, `audience` and `resource` (each may repeat).
//!   The answer carries `issued_token_type` (§2.2.1, REQUIRED).
//! - Microsoft Entra ID's on-behalf-of request, which has no RFC 8693
//!   endpoint: `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`,
//!   `assertion` (the token the API received), `scope`, and
//!   `requested_token_use=on_behalf_of`, from a confidential client.

use super::client::ClientConfig;
use super::token_request::{ParamValue, TokenGrant, TokenRequest};
use crate::error::Error;
use crate::http::HttpResponse;
use crate::options::ConfigField;
use crate::provider::Provider;
use crate::redact::Redactor;
use crate::secret::Secret;
use crate::time::UnixTime;
use crate::token::{parse_token_response, TokenSet};
use rsa::rand_core::CryptoRngCore;
use serde_json::Value;

/// RFC 8693 §2.1's `grant_type`.
pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The `grant_type` of Entra's on-behalf-of request (RFC 7523's).
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// RFC 8693 §3: an OAuth 2.0 access token.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// The token type identifiers of RFC 8693 §3, by the short name grantkit
/// also accepts for them.
const TOKEN_TYPES: [(&str, &str); 6] = [
    ("access_token", ACCESS_TOKEN_TYPE),
    (
        "refresh_token",
        "urn:ietf:params:oauth:token-type:refresh_token",
    ),
    ("id_token", "urn:ietf:params:oauth:token-type:id_token"),
    ("saml1", "urn:ietf:params:oauth:token-type:saml1"),
    ("saml2", "urn:ietf:params:oauth:token-type:saml2"),
    ("jwt", "urn:ietf:params:oauth:token-type:jwt"),
];

/// A token type option as sent: a short name of RFC 8693 §3 becomes its
/// URN; anything else must be an absolute URI (§3: "other token types ...
/// MAY be defined").
fn token_type(field: ConfigField, value: &str) -> Result<String, Error> {
    if let Some((_, urn)) = TOKEN_TYPES.iter().find(|(name, _)| *name == value) {
        return Ok((*urn).to_owned());
    }
    let scheme = value.split_once(':').map(|(scheme, _)| scheme);
    let uri = scheme.is_some_and(|s| {
        s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    }) && !value.chars().any(|c| c.is_whitespace() || c.is_control());
    if uri {
        Ok(value.to_owned())
    } else {
        Err(Error::config(
            field,
            "must be a token type URI (RFC 8693 §3) or one of access_token, refresh_token, id_token, saml1, saml2, jwt",
        ))
    }
}

/// What a token exchange is configured with.
#[derive(Clone, Debug)]
pub struct TokenExchangeSettings {
    /// The client: endpoint, id, secret or key, scope, extra parameters.
    pub client: ClientConfig,
    /// The token to exchange.
    pub subject_token: Secret,
    /// Its type; default: an access token.
    pub subject_token_type: Option<String>,
    /// The party acting for the subject, if any (RFC 8693 §1.1 delegation).
    pub actor_token: Option<Secret>,
    /// The actor token's type; required with it.
    pub actor_token_type: Option<String>,
    /// Where the new token is to be used, as logical names.
    pub audience: Vec<String>,
    /// Where the new token is to be used, as URIs.
    pub resource: Vec<String>,
    /// The type of token wanted.
    pub requested_token_type: Option<String>,
}

impl TokenExchangeSettings {
    /// Settings for a public client exchanging `subject_token`, every
    /// default.
    pub fn new(token_endpoint: &str, client_id: &str, subject_token: Secret) -> Self {
        TokenExchangeSettings {
            client: ClientConfig::new(token_endpoint, client_id),
            subject_token,
            subject_token_type: None,
            actor_token: None,
            actor_token_type: None,
            audience: Vec::new(),
            resource: Vec::new(),
            requested_token_type: None,
        }
    }
}

/// A checked token exchange; each [`TokenExchange::start`] gives a fresh
/// flow.
#[derive(Clone, Debug)]
pub struct TokenExchange {
    request: TokenRequest,
    on_behalf_of: bool,
    /// Revokes and introspects the tokens.
    token_client: super::TokenClient,
}

impl TokenExchange {
    /// Checks the settings; every error here is raised before any request.
    pub fn new(mut settings: TokenExchangeSettings) -> Result<Self, Error> {
        let client =
            std::mem::replace(&mut settings.client, ClientConfig::new("", "")).check(false)?;
        if settings.subject_token.expose().is_empty() {
            return Err(Error::config(
                ConfigField::SubjectToken,
                "must not be empty",
            ));
        }
        if client.provider == Provider::Entra {
            return Self::on_behalf_of(client, settings);
        }
        let subject_type = match &settings.subject_token_type {
            Some(value) => token_type(ConfigField::SubjectTokenType, value)?,
            None => ACCESS_TOKEN_TYPE.to_owned(),
        };
        let mut params = vec![
            ("subject_token", ParamValue::Secret(settings.subject_token)),
            ("subject_token_type", ParamValue::Plain(subject_type)),
        ];
        match (settings.actor_token, &settings.actor_token_type) {
            (Some(actor), Some(kind)) if !actor.expose().is_empty() => {
                params.push(("actor_token", ParamValue::Secret(actor)));
                let kind = token_type(ConfigField::ActorTokenType, kind)?;
                params.push(("actor_token_type", ParamValue::Plain(kind)));
            }
            (Some(actor), _) if actor.expose().is_empty() => {
                return Err(Error::config(ConfigField::ActorToken, "must not be empty"));
            }
            // RFC 8693 §2.1: actor_token_type "is REQUIRED when the
            // actor_token parameter is present ... and MUST NOT be
            // included otherwise".
            (Some(_), None) => {
                return Err(Error::config(
                    ConfigField::ActorTokenType,
                    "is required with actorToken (RFC 8693 §2.1)",
                ))
            }
            (None, Some(_)) => {
                return Err(Error::config(
                    ConfigField::ActorTokenType,
                    "is sent only with actorToken (RFC 8693 §2.1)",
                ))
            }
            _ => {}
        }
        if let Some(requested) = &settings.requested_token_type {
            let requested = token_type(ConfigField::RequestedTokenType, requested)?;
            params.push(("requested_token_type", ParamValue::Plain(requested)));
        }
        for (name, values, field) in [
            ("audience", settings.audience, ConfigField::Audience),
            ("resource", settings.resource, ConfigField::Resource),
        ] {
            for value in values {
                if value.is_empty() {
                    return Err(Error::config(field, "a value is empty"));
                }
                params.push((name, ParamValue::Plain(value)));
            }
        }
        Ok(TokenExchange {
            token_client: client.token_client(),
            request: client.request(TOKEN_EXCHANGE_GRANT, params),
            on_behalf_of: false,
        })
    }

    /// Entra's on-behalf-of request: only the subject token and the scope
    /// have a place in it.
    fn on_behalf_of(
        client: super::client::CheckedClient,
        settings: TokenExchangeSettings,
    ) -> Result<Self, Error> {
        let unsupported = |field| {
            Err(Error::config(
                field,
                "Microsoft Entra ID's on-behalf-of request has no such parameter (it takes the token and a scope)",
            ))
        };
        if settings.actor_token.is_some() {
            return unsupported(ConfigField::ActorToken);
        }
        if settings.actor_token_type.is_some() {
            return unsupported(ConfigField::ActorTokenType);
        }
        if settings.requested_token_type.is_some() {
            return unsupported(ConfigField::RequestedTokenType);
        }
        if !settings.audience.is_empty() {
            return unsupported(ConfigField::Audience);
        }
        if !settings.resource.is_empty() {
            return unsupported(ConfigField::Resource);
        }
        if let Some(kind) = &settings.subject_token_type {
            if token_type(ConfigField::SubjectTokenType, kind)? != ACCESS_TOKEN_TYPE {
                return Err(Error::config(
                    ConfigField::SubjectTokenType,
                    "Microsoft Entra ID's on-behalf-of request exchanges an access token",
                ));
            }
        }
        if !client.client.is_confidential() {
            return Err(Error::config(
                ConfigField::ClientSecret,
                "Microsoft Entra ID's on-behalf-of request needs a confidential client (a secret or a key)",
            ));
        }
        if client.scope.values().is_empty() {
            return Err(Error::config(
                ConfigField::Scope,
                "Microsoft Entra ID's on-behalf-of request needs the scope of the downstream API",
            ));
        }
        Ok(TokenExchange {
            token_client: client.token_client(),
            request: client.request(
                JWT_BEARER_GRANT,
                vec![
                    ("assertion", ParamValue::Secret(settings.subject_token)),
                    (
                        "requested_token_use",
                        ParamValue::Plain("on_behalf_of".to_owned()),
                    ),
                ],
            ),
            on_behalf_of: true,
        })
    }

    /// A flow that sends one exchange request. `rng` gives the `jti` of a
    /// client assertion (`private_key_jwt`); it is not used otherwise.
    pub fn start(&self, rng: &mut dyn CryptoRngCore) -> TokenGrant {
        if self.on_behalf_of {
            TokenGrant::new(self.request.clone(), None, rng)
        } else {
            TokenGrant::with_parser(self.request.clone(), None, rng, parse_exchange_response)
        }
    }
}

/// An RFC 8693 §2.2.1 answer: a token response that also names the type of
/// the token issued. grantkit hands out access tokens only: the token type
/// must be Bearer (a server answers "N_A" for a token that is not an
/// access token, which is refused as UNSUPPORTED_TOKEN_TYPE).
fn parse_exchange_response(
    response: &HttpResponse,
    now: UnixTime,
    redactor: &Redactor,
    dpop: bool,
) -> Result<TokenSet, Error> {
    let tokens = parse_token_response(response, now, redactor, dpop)?;
    match tokens.raw.get("issued_token_type") {
        Some(Value::String(kind)) if !kind.is_empty() => Ok(tokens),
        _ => Err(Error::InvalidTokenResponse {
            status: response.status,
            reason: "issued_token_type is missing or not a string (RFC 8693 §2.2.1)".into(),
        }),
    }
}

super::token_request::single_request_grant!(TokenExchange, TokenExchange, |grant| {
    grant.request.identity()
});
