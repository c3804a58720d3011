//! How a client authenticates to the token endpoint (RFC 6749 §2.3).

use crate::error::Error;
use crate::http::{form_urlencode, FormBody};
use crate::jwt::{AssertionClaims, JwsHeader};
use crate::keys::{Algorithm, CertificateThumbprints, PrivateKey};
use crate::options::schema::ClientAuthOption;
use crate::options::ConfigField;
use crate::redact::Redactor;
use crate::secret::Secret;
use crate::source::CredentialBinding;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Map;
use std::sync::Arc;

/// Where a client secret goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ClientAuthMethod {
    /// `client_secret_basic`: HTTP Basic authentication (RFC 6749 §2.3.1).
    /// Servers MUST support it, so it is the default.
    #[default]
    Basic,
    /// `client_secret_post`: `client_id` and `client_secret` in the form body.
    Post,
    /// `client_secret_jwt` (RFC 7523 §2.2, OpenID Connect Core §9): a JWT
    /// signed HS256 with the secret as the key; the secret itself is never
    /// sent.
    Jwt,
}

/// What a client proves its identity with.
#[derive(Clone, Debug)]
pub enum ClientCredential {
    /// Nothing: a public client sends only its id (RFC 6749 §3.2.1).
    None,
    /// A client secret, sent as the method says.
    Secret {
        /// The secret.
        secret: Secret,
        /// Where it goes.
        method: ClientAuthMethod,
    },
    /// `private_key_jwt` (RFC 7523 §2.2, OpenID Connect Core §9): a JWT
    /// signed with the client's key.
    PrivateKeyJwt {
        /// The signing key.
        key: Arc<PrivateKey>,
        /// The algorithm; default: the key's JWK `alg`, else RS256.
        algorithm: Option<Algorithm>,
        /// The key's X.509 certificate (PEM), for `x5t` / `x5t#S256` in the
        /// header (Microsoft Entra ID's certificate credentials).
        certificate_pem: Option<String>,
    },
}

/// A client's credential as options give it, before the rules that combine
/// them: `clientAuth`, `clientSecret`, `privateKey`, `certificate`,
/// `algorithm` (the CLI's flags map onto the same).
#[derive(Clone, Debug, Default)]
pub struct CredentialOptions {
    /// How the client authenticates.
    pub client_auth: Option<ClientAuthOption>,
    /// The client secret.
    pub client_secret: Option<Secret>,
    /// The private key: a JWK (JSON) or PEM.
    pub private_key: Option<Secret>,
    /// The key's certificate (PEM).
    pub certificate: Option<String>,
    /// The signing algorithm.
    pub algorithm: Option<Algorithm>,
}

impl ClientCredential {
    /// Combines the options into a credential: a secret (`clientAuth`
    /// `"basic"`, the default, `"post"` or `"client_secret_jwt"`), a private key (`clientAuth`
    /// `"private_key_jwt"`), or none (a public client, when
    /// `secret_required` is false). A combination that cannot be meant
    /// (a secret with `private_key_jwt`, a key without it) is an error
    /// naming the option.
    pub fn from_options(options: CredentialOptions, secret_required: bool) -> Result<Self, Error> {
        let method = match options.client_auth {
            Some(ClientAuthOption::PrivateKeyJwt) => {
                if options.client_secret.is_some() {
                    return Err(Error::config(
                        ConfigField::ClientSecret,
                        "does not go with clientAuth \"private_key_jwt\"; give privateKey",
                    ));
                }
                let key = options.private_key.ok_or_else(|| {
                    Error::config(
                        ConfigField::PrivateKey,
                        "is required with clientAuth \"private_key_jwt\"",
                    )
                })?;
                return Ok(ClientCredential::PrivateKeyJwt {
                    key: Arc::new(PrivateKey::parse(key.expose())?),
                    algorithm: options.algorithm,
                    certificate_pem: options.certificate,
                });
            }
            Some(ClientAuthOption::Post) => ClientAuthMethod::Post,
            Some(ClientAuthOption::ClientSecretJwt) => ClientAuthMethod::Jwt,
            Some(ClientAuthOption::Basic) | None => ClientAuthMethod::Basic,
        };
        let key_options = [
            (ConfigField::PrivateKey, options.private_key.is_some()),
            (ConfigField::Certificate, options.certificate.is_some()),
            (ConfigField::Algorithm, options.algorithm.is_some()),
        ];
        if let Some((field, _)) = key_options.iter().find(|(_, given)| *given) {
            return Err(Error::config(
                *field,
                "goes with clientAuth \"private_key_jwt\"",
            ));
        }
        match options.client_secret {
            Some(secret) => Ok(ClientCredential::Secret { secret, method }),
            None if secret_required => Err(Error::config(
                ConfigField::ClientSecret,
                "is required (or clientAuth \"private_key_jwt\" with privateKey)",
            )),
            None if options.client_auth.is_some() => Err(Error::config(
                ConfigField::ClientAuth,
                "needs a clientSecret",
            )),
            None => Ok(ClientCredential::None),
        }
    }
}

/// How long a client assertion is valid: it is used once, at once.
pub const CLIENT_ASSERTION_LIFETIME_SECS: u64 = 60;

/// The shortest secret `client_secret_jwt` signs with, in bytes. RFC 7518
/// §3.2: "A key of the same size as the hash output (for instance, 256 bits
/// for "HS256") or larger MUST be used with this algorithm."
pub const MIN_HS256_SECRET_BYTES: usize = 32;

/// What signs a JWT assertion.
#[derive(Clone, Debug)]
pub(crate) enum AssertionKey {
    /// An RSA key, signed by the driver ([`crate::flow::Action::Sign`]),
    /// with the JWS header that goes with it.
    Private(Arc<PrivateKey>, JwsHeader),
    /// A client secret: HS256, computed in the core (`client_secret_jwt`).
    /// HMAC is fast and needs no randomness, so the driver is not asked.
    Secret(Secret),
}
/// A client's identity at the token endpoint, checked.
#[derive(Clone, Debug)]
pub struct ClientAuth {
    client_id: String,
    proof: Proof,
}

#[derive(Clone, Debug)]
enum Proof {
    /// Nothing at all is sent: the grant authenticates (a JWT bearer
    /// assertion without a client id).
    Anonymous,
    None,
    Secret(Secret, ClientAuthMethod),
    Assertion {
        key: Arc<PrivateKey>,
        header: JwsHeader,
    },
}

impl ClientAuth {
    /// Checks a client id and credential.
    pub fn new(client_id: String, credential: ClientCredential) -> Result<Self, Error> {
        if client_id.is_empty() {
            return Err(Error::config(ConfigField::ClientId, "must not be empty"));
        }
        let proof = match credential {
            ClientCredential::None => Proof::None,
            ClientCredential::Secret { secret, .. } if secret.expose().is_empty() => {
                return Err(Error::config(
                    ConfigField::ClientSecret,
                    "must not be empty",
                ))
            }
            ClientCredential::Secret {
                secret,
                method: ClientAuthMethod::Jwt,
            } if secret.expose().len() < MIN_HS256_SECRET_BYTES => {
                return Err(Error::config(
                    ConfigField::ClientSecret,
                    format!(
                        "is shorter than {MIN_HS256_SECRET_BYTES} bytes: clientAuth \"client_secret_jwt\" signs HS256 with it, which needs a key of at least 256 bits (RFC 7518 §3.2)"
                    ),
                ))
            }
            ClientCredential::Secret { secret, method } => Proof::Secret(secret, method),
            ClientCredential::PrivateKeyJwt {
                key,
                algorithm,
                certificate_pem,
            } => {
                let thumbprints = certificate_pem
                    .map(|pem| CertificateThumbprints::from_pem(&pem, &key))
                    .transpose()?;
                let header = JwsHeader {
                    alg: algorithm.or(key.alg()).unwrap_or(Algorithm::Rs256),
                    kid: key.kid().map(str::to_owned),
                    thumbprints,
                };
                Proof::Assertion { key, header }
            }
        };
        Ok(ClientAuth { client_id, proof })
    }

    /// No client identification at all.
    pub(crate) fn anonymous() -> Self {
        ClientAuth {
            client_id: String::new(),
            proof: Proof::Anonymous,
        }
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Whether the client has a secret or key (a confidential client).
    pub fn is_confidential(&self) -> bool {
        !matches!(self.proof, Proof::None | Proof::Anonymous)
    }

    /// Teaches `redactor` the client's secret, and the Basic credentials
    /// exactly as they are sent (a server may echo the header).
    pub(crate) fn redact_into(&self, redactor: &mut Redactor) {
        if let Proof::Secret(secret, method) = &self.proof {
            redactor.add(secret);
            if *method == ClientAuthMethod::Basic {
                redactor.add_exact(&Secret::new(basic_credentials(&self.client_id, secret)));
            }
        }
    }

    /// Binds the client's credential into a store key, one way.
    pub(crate) fn bind_credentials(&self, binding: &mut CredentialBinding) {
        match &self.proof {
            Proof::Secret(secret, _) => binding.add("client_secret", secret.expose().as_bytes()),
            Proof::Assertion { key, .. } => binding.add("client_key", key.to_pkcs8_der()),
            Proof::Anonymous | Proof::None => {}
        }
    }

    /// The client assertion to sign for a request to `token_endpoint`:
    /// `iss` = `sub` = client id, `aud` = the token endpoint (RFC 7523 §3;
    /// OpenID Connect Core §9 for `private_key_jwt` and `client_secret_jwt`
    /// alike).
    pub(crate) fn assertion(
        &self,
        token_endpoint: &str,
    ) -> Option<(AssertionKey, AssertionClaims)> {
        let key = match &self.proof {
            Proof::Assertion { key, header } => AssertionKey::Private(key.clone(), header.clone()),
            Proof::Secret(secret, ClientAuthMethod::Jwt) => AssertionKey::Secret(secret.clone()),
            _ => return None,
        };
        Some((
            key,
            AssertionClaims {
                issuer: self.client_id.clone(),
                subject: self.client_id.clone(),
                audience: token_endpoint.to_owned(),
                lifetime_secs: CLIENT_ASSERTION_LIFETIME_SECS,
                not_before: false,
                extra: Map::new(),
            },
        ))
    }

    /// Whether [`ClientAuth::apply`] puts `client_id` in the form body.
    pub(crate) fn sends_client_id_in_body(&self) -> bool {
        match &self.proof {
            Proof::Anonymous | Proof::Secret(_, ClientAuthMethod::Basic) => false,
            Proof::None | Proof::Secret(..) | Proof::Assertion { .. } => true,
        }
    }

    /// Adds the client's credentials to a token request: an `Authorization`
    /// header, or form parameters appended after the grant's own.
    /// `assertion` is the signed client assertion, for `private_key_jwt`
    /// and `client_secret_jwt`.
    pub(crate) fn apply(
        &self,
        headers: &mut Vec<(String, String)>,
        form: &mut FormBody,
        assertion: Option<&str>,
    ) {
        match &self.proof {
            Proof::Secret(secret, ClientAuthMethod::Basic) => {
                headers.push((
                    "Authorization".into(),
                    basic_authorization(&self.client_id, secret),
                ));
            }
            Proof::Secret(secret, ClientAuthMethod::Post) => {
                form.append("client_id", &self.client_id);
                form.append("client_secret", secret.expose());
            }
            Proof::Anonymous => {}
            Proof::None => form.append("client_id", &self.client_id),
            Proof::Assertion { .. } | Proof::Secret(_, ClientAuthMethod::Jwt) => {
                form.append("client_id", &self.client_id);
                // RFC 7523 §2.2
                form.append(
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                );
                form.append("client_assertion", assertion.unwrap_or_default());
            }
        }
    }
}

/// RFC 6749 §2.3.1: "The client identifier is encoded using the
/// application/x-www-form-urlencoded encoding algorithm per Appendix B, and
/// the encoded value is used as the username; the client password is encoded
/// using the same algorithm and used as the password."
fn basic_authorization(client_id: &str, secret: &Secret) -> String {
    format!("Basic {}", basic_credentials(client_id, secret))
}

/// The base64 part of the Basic header.
fn basic_credentials(client_id: &str, secret: &Secret) -> String {
    let credentials = zeroize::Zeroizing::new(format!(
        "{}:{}",
        form_urlencode(client_id),
        form_urlencode(secret.expose())
    ));
    STANDARD.encode(credentials.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_form_encodes_before_base64() {
        let secret = Secret::new(":+%&é");
        // form-encoded: "my%3Aclient:%3A%2B%25%26%C3%A9"
        assert_eq!(
            basic_authorization("my:client", &secret),
            format!(
                "Basic {}",
                STANDARD.encode("my%3Aclient:%3A%2B%25%26%C3%A9")
            )
        );
    }

    #[test]
    fn credential_options_combine_by_one_set_of_rules() {
        let key = || {
            Some(Secret::new(include_str!(
                "../tests/fixtures/rsa2048.pkcs8.pem"
            )))
        };
        let secret = || Some(Secret::new("s"));
        let field =
            |options: CredentialOptions, required: bool| match ClientCredential::from_options(
                options, required,
            ) {
                Err(Error::InvalidConfig { field, .. }) => field,
                other => panic!("{other:?}"),
            };
        // Accepted.
        let basic = CredentialOptions {
            client_secret: secret(),
            ..Default::default()
        };
        assert!(matches!(
            ClientCredential::from_options(basic, true),
            Ok(ClientCredential::Secret {
                method: ClientAuthMethod::Basic,
                ..
            })
        ));
        let post = CredentialOptions {
            client_auth: Some(ClientAuthOption::Post),
            client_secret: secret(),
            ..Default::default()
        };
        assert!(matches!(
            ClientCredential::from_options(post, true),
            Ok(ClientCredential::Secret {
                method: ClientAuthMethod::Post,
                ..
            })
        ));
        let jwt = CredentialOptions {
            client_auth: Some(ClientAuthOption::PrivateKeyJwt),
            private_key: key(),
            algorithm: Some(Algorithm::Ps256),
            ..Default::default()
        };
        assert!(matches!(
            ClientCredential::from_options(jwt, true),
            Ok(ClientCredential::PrivateKeyJwt {
                algorithm: Some(Algorithm::Ps256),
                ..
            })
        ));
        assert!(matches!(
            ClientCredential::from_options(CredentialOptions::default(), false),
            Ok(ClientCredential::None)
        ));
        // Refused, naming the option.
        let jwt_with_secret = CredentialOptions {
            client_auth: Some(ClientAuthOption::PrivateKeyJwt),
            client_secret: secret(),
            private_key: key(),
            ..Default::default()
        };
        assert_eq!(field(jwt_with_secret, true), "clientSecret");
        let jwt_without_key = CredentialOptions {
            client_auth: Some(ClientAuthOption::PrivateKeyJwt),
            ..Default::default()
        };
        assert_eq!(field(jwt_without_key, true), "privateKey");
        for (name, options) in [
            (
                "privateKey",
                CredentialOptions {
                    private_key: key(),
                    client_secret: secret(),
                    ..Default::default()
                },
            ),
            (
                "certificate",
                CredentialOptions {
                    certificate: Some("c".into()),
                    client_secret: secret(),
                    ..Default::default()
                },
            ),
            (
                "algorithm",
                CredentialOptions {
                    algorithm: Some(Algorithm::Rs256),
                    client_secret: secret(),
                    ..Default::default()
                },
            ),
        ] {
            assert_eq!(field(options, true), name);
        }
        assert_eq!(field(CredentialOptions::default(), true), "clientSecret");
        let auth_without_secret = CredentialOptions {
            client_auth: Some(ClientAuthOption::Basic),
            ..Default::default()
        };
        assert_eq!(field(auth_without_secret, false), "clientAuth");
    }
}
