//! The request every token-endpoint grant sends, and the state machine that
//! sends it once and reads the answer.

use super::{Action, Flow};
use crate::client_auth::ClientAuth;
use crate::error::Error;
use crate::http::{FormBody, HttpRequest, HttpResponse, Method};
use crate::redact::Redactor;
use crate::time::UnixTime;
use crate::token::{parse_token_response, TokenSet};

/// A list of scope values (RFC 6749 §3.3), sent space-separated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope(Vec<String>);

impl Scope {
    /// Reads scope values; each may itself hold several, space-separated.
    pub fn parse<S: AsRef<str>>(values: &[S]) -> Result<Self, Error> {
        let mut scope = Vec::new();
        for token in values
            .iter()
            .flat_map(|v| v.as_ref().split_ascii_whitespace())
        {
            // RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
            let valid = token
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
            if !valid {
                return Err(Error::config(
                    "scope",
                    "scope values are printable ASCII without quotes or backslashes (RFC 6749 §3.3)",
                ));
            }
            scope.push(token.to_owned());
        }
        Ok(Scope(scope))
    }

    /// The scope values.
    pub fn values(&self) -> &[String] {
        &self.0
    }
}

/// Extra form parameters (`audience`, `resource`, ...), sent after the
/// grant's own in the order given; a name may repeat (RFC 8707 `resource`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExtraParams(Vec<(String, String)>);

/// Parameters grantkit sets itself; an extra parameter may not replace them.
const RESERVED: [&str; 14] = [
    "grant_type",
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
    "scope",
    "username",
    "password",
    "refresh_token",
    "assertion",
    "code",
    "code_verifier",
    "device_code",
    "redirect_uri",
];

impl ExtraParams {
    /// Checks the names: none empty, none that grantkit sets itself.
    pub fn new(pairs: Vec<(String, String)>) -> Result<Self, Error> {
        for (name, _) in &pairs {
            if name.is_empty() {
                return Err(Error::config("extraParams", "a parameter name is empty"));
            }
            if RESERVED.contains(&name.as_str()) {
                let hint = if name == "scope" {
                    "; use the scope option"
                } else {
                    ""
                };
                return Err(Error::config(
                    "extraParams",
                    format!("{name:?} is set by grantkit and cannot be overridden{hint}"),
                ));
            }
        }
        Ok(ExtraParams(pairs))
    }
}

/// Builds a token request: `grant_type`, the grant's parameters, `scope`,
/// the extra parameters, then the client's credentials (RFC 6749 §2.3).
pub(crate) fn token_request(
    endpoint: &str,
    grant_params: &[(&str, &str)],
    scope: &Scope,
    extra: &ExtraParams,
    client: &ClientAuth,
) -> HttpRequest {
    let mut form = FormBody::new();
    for (name, value) in grant_params {
        form.append(name, value);
    }
    if !scope.0.is_empty() {
        form.append("scope", &scope.0.join(" "));
    }
    for (name, value) in &extra.0 {
        form.append(name, value);
    }
    let mut headers = vec![
        (
            "Content-Type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        ),
        ("Accept".to_owned(), "application/json".to_owned()),
    ];
    client.apply(&mut headers, &mut form);
    HttpRequest {
        method: Method::Post,
        url: endpoint.to_owned(),
        headers,
        body: Some(form.into_bytes()),
    }
}

/// One request to a token endpoint and its answer: the flow of every grant
/// that needs a single round trip.
#[derive(Debug)]
pub struct TokenGrant {
    state: State,
    redactor: Redactor,
}

#[derive(Debug)]
enum State {
    Ready(HttpRequest),
    ExpectToken,
    Issued(TokenSet),
    Finished,
}

impl TokenGrant {
    pub(crate) fn new(request: HttpRequest, redactor: Redactor) -> Self {
        TokenGrant {
            state: State::Ready(request),
            redactor,
        }
    }
}

impl Flow for TokenGrant {
    type Output = TokenSet;

    fn poll(&mut self, _now: UnixTime) -> Result<Action<TokenSet>, Error> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::Ready(request) => {
                self.state = State::ExpectToken;
                Ok(Action::Send(request))
            }
            State::Issued(tokens) => Ok(Action::Done(tokens)),
            State::ExpectToken => Err(Error::FlowMisuse {
                reason: "polled while the token response is awaited",
            }),
            State::Finished => Err(Error::FlowMisuse {
                reason: "polled after the flow finished",
            }),
        }
    }

    fn handle_response(&mut self, response: HttpResponse, now: UnixTime) -> Result<(), Error> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::ExpectToken => {
                let tokens = parse_token_response(&response, now, &self.redactor)?;
                self.state = State::Issued(tokens);
                Ok(())
            }
            _ => Err(Error::FlowMisuse {
                reason: "a response arrived when none was awaited",
            }),
        }
    }
}
