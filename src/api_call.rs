//! Calling an API with a token (`authorizedFetch`): where the token may go,
//! which headers go with it, and when a call is made again. The driver
//! builds and sends the request; every decision is here.

use crate::endpoint::{parse_origin, UrlParts};
use crate::error::Error;
use crate::options::ConfigField;
use crate::secret::Secret;
use crate::source::GrantKind;

/// The header that names the person or service a call is attributed to;
/// documented for tokens from client credentials.
pub const API_CALLER_ID_HEADER: &str = "x-api-caller-id";

/// How API calls are made with a source's tokens.
#[derive(Clone, Debug, Default)]
pub struct ApiPolicy {
    /// Origins in the form of a URL's `origin` (see [`parse_origin`]).
    allowed_origins: Vec<String>,
    /// More headers, in order; their values may be keys, so never printed.
    headers: Vec<(String, Secret)>,
    caller_id: Option<String>,
}

/// What an API call is configured with.
#[derive(Clone, Debug, Default)]
pub struct ApiSettings {
    /// Where the token may be sent: origins, `https://api.example.com`.
    pub allowed_origins: Vec<String>,
    /// More headers on every call (`Ocp-Apim-Subscription-Key`).
    pub headers: Vec<(String, String)>,
    /// Sent as `x-api-caller-id`.
    pub caller_id: Option<String>,
    /// Allow plain-http origins other than loopback.
    pub allow_insecure_http: bool,
}

impl ApiPolicy {
    /// Checks the settings for tokens of `kind`; errors name the option.
    pub fn new(settings: ApiSettings, kind: GrantKind) -> Result<Self, Error> {
        let allowed_origins = settings
            .allowed_origins
            .iter()
            .map(|origin| {
                parse_origin(
                    ConfigField::AllowedOrigins,
                    origin,
                    settings.allow_insecure_http,
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut headers = Vec::new();
        for (name, value) in settings.headers {
            check_header_name(&name)?;
            headers.push((name, Secret::new(value)));
        }
        if settings.caller_id.is_some() && kind != GrantKind::ClientCredentials {
            return Err(Error::config(
                ConfigField::ApiCallerId,
                "goes with tokens from ClientCredentials: other tokens name their user themselves",
            ));
        }
        Ok(ApiPolicy {
            allowed_origins,
            headers,
            caller_id: settings.caller_id,
        })
    }

    /// Whether the token may go to `url` (a URL as the runtime serialized
    /// the request's): its origin must be one of the allowed ones, compared
    /// exactly (scheme, host, port). Else `ORIGIN_NOT_ALLOWED`, naming the
    /// origin only.
    pub fn check_url(&self, url: &str) -> Result<(), Error> {
        let origin = origin_of(url).unwrap_or_else(|| "(not a URL)".into());
        if self.allowed_origins.contains(&origin) {
            Ok(())
        } else {
            Err(Error::OriginNotAllowed { origin })
        }
    }

    /// The headers of a call with `access_token`: `Authorization: Bearer`
    /// (RFC 6750 §2.1), the configured ones, then `x-api-caller-id`.
    pub fn headers(&self, access_token: &Secret) -> Vec<(String, Secret)> {
        let mut headers = vec![(
            "Authorization".to_owned(),
            Secret::new(format!("Bearer {}", access_token.expose())),
        )];
        headers.extend(self.headers.iter().cloned());
        if let Some(caller_id) = &self.caller_id {
            headers.push((
                API_CALLER_ID_HEADER.to_owned(),
                Secret::new(caller_id.as_str()),
            ));
        }
        headers
    }

    /// Whether a call answered with `status` is made once more with a new
    /// token. RFC 6750 §3.1: an invalid or expired token is answered with
    /// 401; a new one may succeed. Only after the first attempt: a second
    /// 401 is the caller's to see.
    pub fn retry(&self, status: u16, attempt: u32) -> bool {
        status == 401 && attempt == 1
    }
}

/// The origin of an absolute `http` or `https` URL (WHATWG URL §4.8), in
/// the form `parse_origin` gives: scheme and host lower-cased, user
/// information left out, the scheme's default port dropped. `None` for
/// another scheme or a URL without a host.
pub fn origin_of(url: &str) -> Option<String> {
    let parts = UrlParts::split(url)?;
    if parts.host.is_empty() {
        return None;
    }
    let scheme = parts.scheme.to_ascii_lowercase();
    let host_and_port = parts.authority.rsplit('@').next().unwrap_or_default();
    let authority = host_and_port.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => ":443",
        "http" => ":80",
        _ => return None,
    };
    let authority = authority.strip_suffix(default_port).unwrap_or(&authority);
    Some(format!("{scheme}://{authority}"))
}

/// A header name must be an RFC 9110 token, and not one grantkit sets.
fn check_header_name(name: &str) -> Result<(), Error> {
    let token = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !token {
        return Err(Error::config(
            ConfigField::Headers,
            "a header name is not an RFC 9110 token",
        ));
    }
    if name.eq_ignore_ascii_case("authorization") || name.eq_ignore_ascii_case(API_CALLER_ID_HEADER)
    {
        return Err(Error::config(
            ConfigField::Headers,
            format!("{name} is set by grantkit (use apiCallerId for x-api-caller-id)"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(origins: &[&str]) -> ApiPolicy {
        ApiPolicy::new(
            ApiSettings {
                allowed_origins: origins.iter().map(|o| (*o).to_owned()).collect(),
                headers: vec![("Ocp-Apim-Subscription-Key".into(), "k-1".into())],
                caller_id: Some("reporting@example.com".into()),
                allow_insecure_http: false,
            },
            GrantKind::ClientCredentials,
        )
        .unwrap()
    }

    #[test]
    fn only_allowed_origins_get_the_token() {
        let api = policy(&["https://API.example.com:443/", "http://127.0.0.1:8080"]);
        for ok in [
            "https://api.example.com/v1/reports?x=1",
            "https://api.example.com:443/",
            "http://127.0.0.1:8080/x",
        ] {
            assert!(api.check_url(ok).is_ok(), "{ok}");
        }
        for (bad, origin) in [
            (
                "https://api.example.com.evil.example/",
                "https://api.example.com.evil.example",
            ),
            ("http://api.example.com/", "http://api.example.com"),
            (
                "https://api.example.com:8443/",
                "https://api.example.com:8443",
            ),
            (
                "https://api.example.com@evil.example/",
                "https://evil.example",
            ),
            (
                "https://api.example.com:443@evil.example/",
                "https://evil.example",
            ),
            ("http://127.0.0.1:8081/", "http://127.0.0.1:8081"),
            ("javascript:alert(1)", "(not a URL)"),
        ] {
            let err = api.check_url(bad).unwrap_err();
            assert_eq!(
                err,
                Error::OriginNotAllowed {
                    origin: origin.into()
                },
                "{bad}"
            );
        }
    }

    #[test]
    fn headers_come_in_order_and_grantkit_owns_two() {
        let api = policy(&["https://api.example.com"]);
        let headers: Vec<(String, String)> = api
            .headers(&Secret::new("at-1"))
            .into_iter()
            .map(|(n, v)| (n, v.expose().to_owned()))
            .collect();
        assert_eq!(
            headers,
            [
                ("Authorization".to_owned(), "Bearer at-1".to_owned()),
                ("Ocp-Apim-Subscription-Key".to_owned(), "k-1".to_owned()),
                (
                    "x-api-caller-id".to_owned(),
                    "reporting@example.com".to_owned()
                ),
            ]
        );
        for name in ["authorization", "X-Api-Caller-Id", "bad name", ""] {
            let settings = ApiSettings {
                headers: vec![(name.into(), "v".into())],
                ..ApiSettings::default()
            };
            let err = ApiPolicy::new(settings, GrantKind::ClientCredentials).unwrap_err();
            assert_eq!(err.code(), "INVALID_CONFIG", "{name}");
        }
    }

    #[test]
    fn api_caller_id_goes_with_client_credentials_only() {
        let settings = ApiSettings {
            caller_id: Some("a@example.com".into()),
            ..ApiSettings::default()
        };
        assert!(ApiPolicy::new(settings.clone(), GrantKind::ClientCredentials).is_ok());
        for kind in [
            GrantKind::Password,
            GrantKind::Device,
            GrantKind::JwtBearer,
            GrantKind::Acp,
        ] {
            let err = ApiPolicy::new(settings.clone(), kind).unwrap_err();
            assert!(
                matches!(err, Error::InvalidConfig { ref field, .. } if field == "apiCallerId")
            );
        }
    }

    #[test]
    fn one_retry_after_a_401() {
        let api = ApiPolicy::default();
        assert!(api.retry(401, 1));
        assert!(!api.retry(401, 2));
        for status in [200, 302, 403, 500] {
            assert!(!api.retry(status, 1));
        }
    }
}
