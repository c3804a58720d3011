//! Calling an API with a token (`authorizedFetch`): where the token may go,
//! which headers go with it, and when a call is made again. The driver
//! builds and sends the request; every decision is here.

use crate::dpop::{demanded_nonce, ProofRequest};
use crate::endpoint::{parse_origin, UrlParts};
use crate::error::Error;
use crate::http::{HttpResponse, Method};
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
    dpop: bool,
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
    /// The tokens are DPoP-bound (RFC 9449): each call carries a proof.
    pub dpop: bool,
}

/// What to do after an API call's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// Hand the answer to the caller.
    No,
    /// Make the call once more with the nonce the API demanded (RFC 9449
    /// §9), which the DPoP session now holds.
    WithNonce,
    /// Make the call once more with a new token (RFC 6750 §3.1).
    WithNewToken,
}

/// The retries one API call has had: at most one of each kind.
#[derive(Clone, Copy, Debug, Default)]
pub struct Retried {
    nonce: bool,
    token: bool,
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
            dpop: settings.dpop,
        })
    }

    /// Whether calls carry DPoP proofs.
    pub fn dpop(&self) -> bool {
        self.dpop
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
    /// (RFC 6750 §2.1), or `Authorization: DPoP` for a DPoP-bound token
    /// (RFC 9449 §7.1, whose proof [`ApiPolicy::proof`] asks for), the
    /// configured ones, then `x-api-caller-id`.
    pub fn headers(&self, access_token: &Secret) -> Vec<(String, Secret)> {
        let scheme = if self.dpop { "DPoP" } else { "Bearer" };
        let mut headers = vec![(
            "Authorization".to_owned(),
            Secret::new(format!("{scheme} {}", access_token.expose())),
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

    /// The proof a call with a DPoP-bound `access_token` carries in its
    /// `DPoP` header (RFC 9449 §7: `ath` is the token's hash); `None` for
    /// Bearer tokens.
    pub fn proof(&self, method: Method, url: &str, access_token: &Secret) -> Option<ProofRequest> {
        self.dpop.then(|| ProofRequest {
            method,
            url: url.to_owned(),
            access_token: Some(access_token.clone()),
            nonce: None,
        })
    }

    /// What follows a call answered with `response` (its status and
    /// headers). A 401 is made once more: with the nonce a DPoP API
    /// demands (RFC 9449 §9), else with a new token (RFC 6750 §3.1: an
    /// invalid or expired token is answered with 401; a new one may
    /// succeed). Each once per call: then the 401 is the caller's to see.
    pub fn retry(&self, response: &HttpResponse, retried: &mut Retried) -> Retry {
        if response.status != 401 {
            return Retry::No;
        }
        if self.dpop && !retried.nonce && demanded_nonce(response).is_some() {
            retried.nonce = true;
            return Retry::WithNonce;
        }
        if !retried.token {
            retried.token = true;
            return Retry::WithNewToken;
        }
        Retry::No
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
    if ["authorization", "dpop", API_CALLER_ID_HEADER]
        .iter()
        .any(|own| name.eq_ignore_ascii_case(own))
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
                dpop: false,
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
        for name in ["authorization", "X-Api-Caller-Id", "DPoP", "bad name", ""] {
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

    fn head(status: u16, headers: &[(&str, &str)]) -> HttpResponse {
        let mut response = HttpResponse::new(status, "");
        for (name, value) in headers {
            response = response.with_header(name, value);
        }
        response
    }

    #[test]
    fn one_retry_after_a_401() {
        let api = ApiPolicy::default();
        let mut retried = Retried::default();
        assert_eq!(
            api.retry(&head(401, &[]), &mut retried),
            Retry::WithNewToken
        );
        assert_eq!(api.retry(&head(401, &[]), &mut retried), Retry::No);
        for status in [200, 302, 403, 500] {
            assert_eq!(
                api.retry(&head(status, &[]), &mut Retried::default()),
                Retry::No
            );
        }
    }

    #[test]
    fn a_dpop_api_gets_one_retry_for_its_nonce_and_one_for_a_new_token() {
        let demand = [
            (
                "WWW-Authenticate",
                r#"DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof""#,
            ),
            ("DPoP-Nonce", "eyJ7S_zG.eyJH0-Z.HX4w-7v"),
        ];
        let dpop = ApiPolicy {
            dpop: true,
            ..ApiPolicy::default()
        };
        let mut retried = Retried::default();
        assert_eq!(
            dpop.retry(&head(401, &demand), &mut retried),
            Retry::WithNonce
        );
        // Demanded again: the nonce did not help; a new token may.
        assert_eq!(
            dpop.retry(&head(401, &demand), &mut retried),
            Retry::WithNewToken
        );
        assert_eq!(dpop.retry(&head(401, &demand), &mut retried), Retry::No);
        // A Bearer source does not answer DPoP's demands.
        let mut retried = Retried::default();
        assert_eq!(
            ApiPolicy::default().retry(&head(401, &demand), &mut retried),
            Retry::WithNewToken
        );
        // A 401 without a usable nonce is a token problem.
        let mut retried = Retried::default();
        assert_eq!(
            dpop.retry(&head(401, &demand[..1]), &mut retried),
            Retry::WithNewToken
        );
    }

    #[test]
    fn a_dpop_bound_token_goes_with_the_dpop_scheme_and_a_proof_with_ath() {
        let dpop = ApiPolicy {
            dpop: true,
            ..ApiPolicy::default()
        };
        let token = Secret::new("at-1");
        assert_eq!(dpop.headers(&token)[0].1.expose(), "DPoP at-1");
        let proof = dpop
            .proof(Method::Post, "https://api.example.com/x?y=1", &token)
            .unwrap();
        assert_eq!(
            (
                proof.method,
                proof.url.as_str(),
                proof.access_token,
                proof.nonce
            ),
            (
                Method::Post,
                "https://api.example.com/x?y=1",
                Some(token.clone()),
                None
            )
        );
        assert!(ApiPolicy::default()
            .proof(Method::Get, "https://api.example.com/", &token)
            .is_none());
        assert_eq!(
            ApiPolicy::default().headers(&token)[0].1.expose(),
            "Bearer at-1"
        );
    }
}
