//! How a client authenticates to the token endpoint (RFC 6749 §2.3).

use crate::error::Error;
use crate::http::{form_urlencode, FormBody};
use crate::secret::Secret;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// Where the client secret goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ClientAuthMethod {
    /// `client_secret_basic`: HTTP Basic authentication (RFC 6749 §2.3.1).
    /// Servers MUST support it, so it is the default.
    #[default]
    Basic,
    /// `client_secret_post`: `client_id` and `client_secret` in the form body.
    Post,
}

impl ClientAuthMethod {
    /// Reads the option value `"basic"` or `"post"`.
    pub fn from_name(name: &str) -> Result<Self, Error> {
        match name {
            "basic" => Ok(ClientAuthMethod::Basic),
            "post" => Ok(ClientAuthMethod::Post),
            _ => Err(Error::config("clientAuth", "must be \"basic\" or \"post\"")),
        }
    }
}

/// A client's identity at the token endpoint.
#[derive(Clone, Debug)]
pub struct ClientAuth {
    client_id: String,
    secret: Option<(Secret, ClientAuthMethod)>,
}

impl ClientAuth {
    /// A confidential client with a secret.
    pub fn with_secret(
        client_id: String,
        secret: Secret,
        method: ClientAuthMethod,
    ) -> Result<Self, Error> {
        check_client_id(&client_id)?;
        if secret.expose().is_empty() {
            return Err(Error::config("clientSecret", "must not be empty"));
        }
        Ok(ClientAuth {
            client_id,
            secret: Some((secret, method)),
        })
    }

    /// A public client: only its id is sent (RFC 6749 §3.2.1).
    pub fn public(client_id: String) -> Result<Self, Error> {
        check_client_id(&client_id)?;
        Ok(ClientAuth {
            client_id,
            secret: None,
        })
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The secret, for redacting it from error text.
    pub(crate) fn secret(&self) -> Option<&Secret> {
        self.secret.as_ref().map(|(secret, _)| secret)
    }

    /// Adds the client's credentials to a token request: an `Authorization`
    /// header, or form parameters appended after the grant's own.
    pub(crate) fn apply(&self, headers: &mut Vec<(String, String)>, form: &mut FormBody) {
        match &self.secret {
            Some((secret, ClientAuthMethod::Basic)) => {
                headers.push((
                    "Authorization".into(),
                    basic_authorization(&self.client_id, secret),
                ));
            }
            Some((secret, ClientAuthMethod::Post)) => {
                form.append("client_id", &self.client_id);
                form.append("client_secret", secret.expose());
            }
            None => form.append("client_id", &self.client_id),
        }
    }
}

/// RFC 6749 §2.3.1: "The client identifier is encoded using the
/// application/x-www-form-urlencoded encoding algorithm per Appendix B, and
/// the encoded value is used as the username; the client password is encoded
/// using the same algorithm and used as the password."
fn basic_authorization(client_id: &str, secret: &Secret) -> String {
    let credentials = format!(
        "{}:{}",
        form_urlencode(client_id),
        form_urlencode(secret.expose())
    );
    format!("Basic {}", STANDARD.encode(credentials))
}

fn check_client_id(client_id: &str) -> Result<(), Error> {
    if client_id.is_empty() {
        return Err(Error::config("clientId", "must not be empty"));
    }
    Ok(())
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
}
