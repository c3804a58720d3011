//! Provider presets: endpoints built from each vendor's documented patterns,
//! and the vendor rules that are checked before any request is sent.

use crate::endpoint::{check_endpoint, encode_path_segment};
use crate::error::Error;
use crate::options::ConfigField;

/// Which identity provider an endpoint belongs to. It decides which
/// documented rules are checked before a request is sent.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize, tsify::Tsify,
)]
#[serde(rename_all = "camelCase")]
pub enum Provider {
    /// Any standard OAuth 2.0 server: no vendor rules.
    #[default]
    Generic,
    /// Keycloak.
    Keycloak,
    /// Microsoft Entra ID (v2.0 endpoints).
    Entra,
    /// PingOne Advanced Identity Cloud.
    PingAic,
    /// Alauda ACP (Dex-based).
    Acp,
}

impl Provider {
    /// The documented device authorization endpoint (RFC 8628 §3.1) that
    /// goes with `token_endpoint`, where the provider has one:
    /// - Keycloak: `{base}/realms/{realm}/protocol/openid-connect/auth/device`
    ///   beside `.../protocol/openid-connect/token`;
    /// - Microsoft Entra ID: `.../{tenant}/oauth2/v2.0/devicecode` beside
    ///   `.../{tenant}/oauth2/v2.0/token`.
    ///
    /// `None` for other providers, or a token endpoint of another shape.
    pub fn device_authorization_endpoint(self, token_endpoint: &str) -> Option<String> {
        let (token_suffix, device_suffix) = match self {
            Provider::Keycloak => (
                "/protocol/openid-connect/token",
                "/protocol/openid-connect/auth/device",
            ),
            Provider::Entra => ("/oauth2/v2.0/token", "/oauth2/v2.0/devicecode"),
            Provider::Generic | Provider::PingAic | Provider::Acp => return None,
        };
        token_endpoint
            .strip_suffix(token_suffix)
            .map(|base| format!("{base}{device_suffix}"))
    }

    /// The documented revocation endpoint (RFC 7009) that goes with
    /// `token_endpoint`:
    /// - Keycloak: `.../protocol/openid-connect/revoke` beside
    ///   `.../protocol/openid-connect/token`;
    /// - PingOne Advanced Identity Cloud: `.../am/oauth2/token/revoke`
    ///   beside `.../am/oauth2/access_token` (a realm path in between is
    ///   kept).
    ///
    /// `None` for other providers (Microsoft Entra ID has no RFC 7009
    /// endpoint) or a token endpoint of another shape.
    pub fn revocation_endpoint(self, token_endpoint: &str) -> Option<String> {
        match self {
            Provider::Keycloak => beside(
                token_endpoint,
                "/protocol/openid-connect/token",
                "/protocol/openid-connect/revoke",
            ),
            Provider::PingAic => ping_beside(token_endpoint, "/token/revoke"),
            Provider::Generic | Provider::Entra | Provider::Acp => None,
        }
    }

    /// The documented introspection endpoint (RFC 7662) that goes with
    /// `token_endpoint`:
    /// - Keycloak: `.../protocol/openid-connect/token/introspect`;
    /// - PingOne Advanced Identity Cloud: `.../am/oauth2/introspect`.
    ///
    /// `None` for other providers or a token endpoint of another shape.
    pub fn introspection_endpoint(self, token_endpoint: &str) -> Option<String> {
        match self {
            Provider::Keycloak => beside(
                token_endpoint,
                "/protocol/openid-connect/token",
                "/protocol/openid-connect/token/introspect",
            ),
            Provider::PingAic => ping_beside(token_endpoint, "/introspect"),
            Provider::Generic | Provider::Entra | Provider::Acp => None,
        }
    }

    /// The provider a token endpoint evidently belongs to, when none was
    /// named: Entra's public cloud host is recognised.
    pub fn infer(token_endpoint: &str) -> Self {
        let lower = token_endpoint.to_ascii_lowercase();
        if lower.starts_with("https://login.microsoftonline.com/") {
            Provider::Entra
        } else {
            Provider::Generic
        }
    }
}

/// `token_endpoint` with `token_suffix` replaced by `suffix`, if it ends so.
fn beside(token_endpoint: &str, token_suffix: &str, suffix: &str) -> Option<String> {
    token_endpoint
        .strip_suffix(token_suffix)
        .map(|base| format!("{base}{suffix}"))
}

/// PingOne Advanced Identity Cloud (ForgeRock AM): the OAuth 2.0 endpoints
/// share the path of `.../am/oauth2[/realms/...]/access_token`.
fn ping_beside(token_endpoint: &str, suffix: &str) -> Option<String> {
    token_endpoint
        .strip_suffix("/access_token")
        .filter(|base| base.contains("/am/oauth2"))
        .map(|base| format!("{base}{suffix}"))
}

/// Keycloak's token endpoint: `{base}/realms/{realm}/protocol/openid-connect/token`.
pub fn keycloak_token_endpoint(base_url: &str, realm: &str) -> Result<String, Error> {
    if realm.is_empty() {
        return Err(Error::config(ConfigField::Realm, "must not be empty"));
    }
    let base = check_endpoint(ConfigField::BaseUrl, base_url.trim_end_matches('/'), true)?;
    Ok(format!(
        "{base}/realms/{}/protocol/openid-connect/token",
        encode_path_segment(realm)
    ))
}

/// Microsoft Entra ID's v2.0 token endpoint:
/// `https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token`.
pub fn entra_token_endpoint(tenant: &str) -> Result<String, Error> {
    check_name(
        ConfigField::Tenant,
        tenant,
        "a tenant id (GUID) or domain name",
    )?;
    Ok(format!(
        "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
    ))
}

/// PingOne Advanced Identity Cloud's token endpoint:
/// `https://{tenant}:443/am/oauth2/access_token`. The `:443` stays: the
/// platform compares a JWT assertion's `aud` with this exact string.
pub fn ping_aic_token_endpoint(tenant: &str) -> Result<String, Error> {
    check_name(
        ConfigField::Tenant,
        tenant,
        "a host name such as openam-example.forgeblocks.com",
    )?;
    Ok(format!("https://{tenant}:443/am/oauth2/access_token"))
}

/// Keycloak's issuer (the realm's URL): `{base}/realms/{realm}`, the
/// prefix of its token endpoint and of its discovery document.
pub fn keycloak_issuer(base_url: &str, realm: &str) -> Result<String, Error> {
    let token_endpoint = keycloak_token_endpoint(base_url, realm)?;
    Ok(token_endpoint
        .strip_suffix("/protocol/openid-connect/token")
        .unwrap_or(&token_endpoint)
        .to_owned())
}

/// Microsoft Entra ID's v2.0 issuer (its authority):
/// `https://login.microsoftonline.com/{tenant}/v2.0`. The documents of the
/// multi-tenant authorities (`common`, `organizations`, `consumers`) name
/// a `{tenantid}` template instead, which discovery accepts for them
/// ([`crate::discovery::issuer_matches`]). A tenant given as a domain name
/// is not what the document names (the tenant's GUID): discovery needs the
/// tenant id there.
pub fn entra_issuer(tenant: &str) -> Result<String, Error> {
    entra_token_endpoint(tenant)?;
    Ok(format!("https://login.microsoftonline.com/{tenant}/v2.0"))
}

/// PingOne Advanced Identity Cloud's issuer of a realm:
/// `https://{tenant}/am/oauth2/realms/root/realms/{realm}`. The service
/// accounts' JWT bearer token URL stays [`ping_aic_token_endpoint`]
/// (`:443` kept, the assertion's `aud`), which is the root realm's and not
/// named by a realm's document.
pub fn ping_aic_issuer(tenant: &str, realm: &str) -> Result<String, Error> {
    ping_aic_token_endpoint(tenant)?;
    if realm.is_empty() {
        return Err(Error::config(ConfigField::Realm, "must not be empty"));
    }
    Ok(format!(
        "https://{tenant}/am/oauth2/realms/root/realms/{}",
        encode_path_segment(realm)
    ))
}

/// The issuer of an Alauda ACP platform's Dex: `{platform}/dex`.
pub fn acp_issuer(platform_url: &str) -> Result<String, Error> {
    Ok(format!("{}/dex", acp_platform_url(platform_url)?))
}

/// The platform URL of an Alauda ACP installation, checked, without a
/// trailing slash; the session login builds its five URLs from it.
pub fn acp_platform_url(platform_url: &str) -> Result<String, Error> {
    check_endpoint(
        ConfigField::PlatformUrl,
        platform_url.trim_end_matches('/'),
        false,
    )
}

fn check_name(field: ConfigField, value: &str, what: &str) -> Result<(), Error> {
    let ok = !value.is_empty()
        && value.len() <= 253
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(Error::config(field, format!("must be {what}")))
    }
}

/// Entra's documented scope rules, checked before a request is sent.
pub(crate) mod entra {
    use crate::error::Error;
    use crate::options::ConfigField;

    /// Client credentials: "the value passed for the scope parameter in this
    /// request should be the resource identifier (application ID URI) of the
    /// resource you want, affixed with the .default suffix".
    pub fn check_client_credentials_scope(scope: &[String]) -> Result<(), Error> {
        if scope.is_empty() || !scope.iter().all(|s| s.ends_with("/.default")) {
            return Err(Error::config(
                ConfigField::Scope,
                "Microsoft Entra ID client credentials need a scope ending in /.default (for example api://<app-id>/.default)",
            ));
        }
        Ok(())
    }

    /// Resource-owner password grant: the API's delegated scope, which for
    /// the APIs grantkit serves is `.../access_as_user`.
    pub fn check_password_scope(scope: &[String]) -> Result<(), Error> {
        if !scope.iter().any(|s| s.ends_with("/access_as_user")) {
            return Err(Error::config(
                ConfigField::Scope,
                "Microsoft Entra ID password grant needs a scope ending in /access_as_user (for example api://<app-id>/access_as_user)",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_follow_the_documented_patterns() {
        assert_eq!(
            keycloak_token_endpoint("https://sso.example.com/", "ops team").unwrap(),
            "https://sso.example.com/realms/ops%20team/protocol/openid-connect/token"
        );
        assert_eq!(
            entra_token_endpoint("contoso.onmicrosoft.com").unwrap(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert_eq!(
            ping_aic_token_endpoint("openam-acme.forgeblocks.com").unwrap(),
            "https://openam-acme.forgeblocks.com:443/am/oauth2/access_token"
        );
        assert_eq!(
            acp_platform_url("https://acp.example.com/").unwrap(),
            "https://acp.example.com"
        );
    }

    #[test]
    fn presets_know_their_issuers() {
        assert_eq!(
            keycloak_issuer("https://sso.example.com/", "ops team").unwrap(),
            "https://sso.example.com/realms/ops%20team"
        );
        assert_eq!(
            entra_issuer("8eaef023-2b34-4da1-9baa-8bc8c9d6a490").unwrap(),
            "https://login.microsoftonline.com/8eaef023-2b34-4da1-9baa-8bc8c9d6a490/v2.0"
        );
        assert_eq!(
            ping_aic_issuer("openam-acme.forgeblocks.com", "alpha").unwrap(),
            "https://openam-acme.forgeblocks.com/am/oauth2/realms/root/realms/alpha"
        );
        assert_eq!(
            acp_issuer("https://acp.example.com/").unwrap(),
            "https://acp.example.com/dex"
        );
        for err in [
            entra_issuer("a/b").unwrap_err(),
            ping_aic_issuer("openam-acme.forgeblocks.com", "").unwrap_err(),
            ping_aic_issuer("https://x", "alpha").unwrap_err(),
            keycloak_issuer("https://sso.example.com", "").unwrap_err(),
        ] {
            assert_eq!(err.code(), "INVALID_CONFIG", "{err}");
        }
    }

    #[test]
    fn presets_refuse_what_would_build_a_wrong_url() {
        for err in [
            entra_token_endpoint("a/b").unwrap_err(),
            entra_token_endpoint("").unwrap_err(),
            ping_aic_token_endpoint("https://x.example.com").unwrap_err(),
            keycloak_token_endpoint("https://sso.example.com", "").unwrap_err(),
            keycloak_token_endpoint("sso.example.com", "r").unwrap_err(),
        ] {
            assert_eq!(err.code(), "INVALID_CONFIG", "{err}");
        }
    }

    #[test]
    fn revocation_and_introspection_endpoints_follow_the_documented_patterns() {
        let keycloak = "https://sso.example.com/realms/ops/protocol/openid-connect/token";
        assert_eq!(
            Provider::Keycloak.revocation_endpoint(keycloak).as_deref(),
            Some("https://sso.example.com/realms/ops/protocol/openid-connect/revoke")
        );
        assert_eq!(
            Provider::Keycloak
                .introspection_endpoint(keycloak)
                .as_deref(),
            Some("https://sso.example.com/realms/ops/protocol/openid-connect/token/introspect")
        );
        let ping = "https://openam-acme.forgeblocks.com:443/am/oauth2/access_token";
        assert_eq!(
            Provider::PingAic.revocation_endpoint(ping).as_deref(),
            Some("https://openam-acme.forgeblocks.com:443/am/oauth2/token/revoke")
        );
        assert_eq!(
            Provider::PingAic.introspection_endpoint(ping).as_deref(),
            Some("https://openam-acme.forgeblocks.com:443/am/oauth2/introspect")
        );
        let realm =
            "https://openam-acme.forgeblocks.com/am/oauth2/realms/root/realms/alpha/access_token";
        assert_eq!(
            Provider::PingAic.revocation_endpoint(realm).as_deref(),
            Some("https://openam-acme.forgeblocks.com/am/oauth2/realms/root/realms/alpha/token/revoke")
        );
        let entra = "https://login.microsoftonline.com/t/oauth2/v2.0/token";
        for provider in [Provider::Entra, Provider::Generic, Provider::Acp] {
            assert_eq!(provider.revocation_endpoint(entra), None);
            assert_eq!(provider.introspection_endpoint(entra), None);
        }
        // Another shape: nothing is guessed.
        assert_eq!(
            Provider::Keycloak.revocation_endpoint("https://sso.example.com/token"),
            None
        );
        assert_eq!(
            Provider::PingAic.revocation_endpoint("https://x.example.com/access_token"),
            None
        );
    }

    #[test]
    fn entra_is_inferred_from_its_public_host() {
        assert_eq!(
            Provider::infer("https://login.microsoftonline.com/t/oauth2/v2.0/token"),
            Provider::Entra
        );
        assert_eq!(
            Provider::infer("https://sso.example.com/token"),
            Provider::Generic
        );
    }
}
