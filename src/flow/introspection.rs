//! Token introspection (RFC 7662): the server says whether a token is
//! active and what it knows of it. The request is made by
//! [`super::TokenClient::introspect`].

use super::token_request::TokenGrant;
use super::{Action, Flow};
use crate::error::Error;
use crate::http::{HttpRequest, HttpResponse};
use crate::redact::Redactor;
use crate::time::UnixTime;
use crate::token::parse_json;
use serde_json::{Map, Value};
use std::fmt;

/// An introspection response (RFC 7662 §2.2).
#[derive(Clone, PartialEq)]
pub struct IntrospectionResponse {
    /// `active`: whether the token is active now.
    pub active: bool,
    /// The whole response object: `scope`, `client_id`, `username`, `exp`
    /// and the rest, as the server sent them.
    pub raw: Map<String, Value>,
}

impl fmt::Debug for IntrospectionResponse {
    /// The member names only: a response may carry personal data.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntrospectionResponse")
            .field("active", &self.active)
            .field("raw", &self.raw.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Reads an introspection response. RFC 7662 §2.2: "active REQUIRED.
/// Boolean indicator of whether or not the presented token is currently
/// active"; every other member is OPTIONAL and kept as sent.
pub(crate) fn parse_introspection(
    response: &HttpResponse,
    _now: UnixTime,
    redactor: &Redactor,
    _dpop: bool,
) -> Result<IntrospectionResponse, Error> {
    let status = response.status;
    let invalid = |reason: &str| Error::InvalidIntrospectionResponse {
        status,
        reason: reason.to_owned(),
    };
    let raw = match parse_json(response, redactor)? {
        Value::Object(body) if response.is_success() => body,
        _ if !response.is_success() => {
            return Err(Error::HttpError {
                status,
                excerpt: redactor.excerpt(&response.body),
            })
        }
        _ => return Err(invalid("the response is JSON but not an object")),
    };
    let active = match raw.get("active") {
        Some(Value::Bool(active)) => *active,
        Some(_) => return Err(invalid("active is not a boolean (RFC 7662 §2.2)")),
        None => return Err(invalid("the response has no active member (RFC 7662 §2.2)")),
    };
    Ok(IntrospectionResponse { active, raw })
}

/// Asks the introspection endpoint about one token; ends with its answer.
#[derive(Debug)]
pub struct Introspection {
    request: TokenGrant<IntrospectionResponse>,
}

impl Introspection {
    pub(crate) fn new(request: TokenGrant<IntrospectionResponse>) -> Self {
        Introspection { request }
    }
}

impl Flow for Introspection {
    type Output = IntrospectionResponse;

    fn poll(&mut self, now: UnixTime) -> Result<Action<IntrospectionResponse>, Error> {
        self.request.poll(now)
    }

    fn handle_response(&mut self, response: HttpResponse, now: UnixTime) -> Result<(), Error> {
        self.request.handle_response(response, now)
    }

    fn handle_signature(&mut self, signature: Vec<u8>) -> Result<(), Error> {
        self.request.handle_signature(signature)
    }

    fn exchange_label(&self, _request: &HttpRequest) -> String {
        "introspection request".to_owned()
    }

    fn redactor(&self) -> Redactor {
        self.request.redactor()
    }
}
