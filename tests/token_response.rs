//! Token and error responses (RFC 6749 §5.1, §5.2) as real servers send
//! them, well-formed or not. Runs natively and in wasm.

mod common;

use common::{json, NOW};
use grantkit::jwt::decode_unverified;
use grantkit::redact::Redactor;
use grantkit::token::parse_token_response;
use grantkit::{Error, HttpResponse, Secret, TokenSet, UnixTime};
use wasm_bindgen_test::wasm_bindgen_test;

fn parse(response: HttpResponse) -> Result<TokenSet, Error> {
    parse_token_response(&response, NOW, &Redactor::default(), false)
}

fn invalid_reason(result: Result<TokenSet, Error>) -> String {
    match result {
        Err(Error::InvalidTokenResponse {
            status: 200,
            reason,
        }) => reason,
        other => panic!("{other:?}"),
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn a_full_response_keeps_every_member() {
    let body = r#"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,
        "access_token":"eyJ0","refresh_token":"rt","id_token":"it","scope":"a b"}"#;
    let tokens = parse(json(200, body)).unwrap();
    assert_eq!(tokens.access_token.expose(), "eyJ0");
    assert_eq!(tokens.expires_at, Some(UnixTime::from_secs(1_700_003_599)));
    assert_eq!(tokens.refresh_token, Some(Secret::new("rt")));
    assert_eq!(tokens.id_token, Some(Secret::new("it")));
    assert_eq!(tokens.scope.as_deref(), Some("a b"));
    // Vendor members stay in raw: Entra's ext_expires_in here.
    assert_eq!(tokens.raw["ext_expires_in"], 3599);
    assert_eq!(tokens.raw.len(), 7);
}

#[wasm_bindgen_test(unsupported = test)]
fn expires_in_may_be_a_numeric_string_as_entra_v1_sends() {
    let tokens = parse(json(
        200,
        r#"{"access_token":"a","token_type":"Bearer","expires_in":"3599"}"#,
    ))
    .unwrap();
    assert_eq!(tokens.expires_in, Some(3599));
    assert_eq!(tokens.expires_at, Some(UnixTime::from_secs(1_700_003_599)));
    // Absent or null: no expiry known.
    let tokens = parse(json(
        200,
        r#"{"access_token":"a","token_type":"Bearer","expires_in":null}"#,
    ))
    .unwrap();
    assert_eq!((tokens.expires_in, tokens.expires_at), (None, None));
}

#[wasm_bindgen_test(unsupported = test)]
fn a_broken_expires_in_is_refused() {
    for bad in [r#""soon""#, "-1", "1.5", "true", r#""""#] {
        let body = format!(r#"{{"access_token":"a","token_type":"Bearer","expires_in":{bad}}}"#);
        assert_eq!(
            invalid_reason(parse(json(200, &body))),
            "expires_in is not a non-negative whole number",
            "{bad}"
        );
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn acp_absolute_expiry_members_are_kept_in_raw() {
    let body = r#"{"token_type":"Bearer","access_token":"a","expire_at":1700003600,"issued_at":1700000000}"#;
    let tokens = parse(json(200, body)).unwrap();
    assert_eq!(tokens.raw["expire_at"], 1_700_003_600);
    assert_eq!(tokens.raw["issued_at"], 1_700_000_000);
}

#[wasm_bindgen_test(unsupported = test)]
fn token_type_is_compared_case_insensitively() {
    for sent in ["bearer", "BEARER", "Bearer"] {
        let body = format!(r#"{{"access_token":"a","token_type":"{sent}"}}"#);
        let tokens = parse(json(200, &body)).unwrap();
        assert_eq!(tokens.token_type, "Bearer");
        // raw is the response exactly as sent.
        assert_eq!(tokens.raw["token_type"], sent);
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn a_token_type_other_than_bearer_is_refused() {
    let err = parse(json(200, r#"{"access_token":"a","token_type":"mac"}"#)).unwrap_err();
    assert_eq!(
        err,
        Error::UnsupportedTokenType {
            token_type: "mac".into(),
            expected: "Bearer",
        }
    );
    assert_eq!(err.code(), "UNSUPPORTED_TOKEN_TYPE");
}

#[wasm_bindgen_test(unsupported = test)]
fn dpop_bound_tokens_are_accepted_only_when_asked_for_and_then_only_they() {
    let dpop = |body: &str, asked: bool| {
        parse_token_response(&json(200, body), NOW, &Redactor::default(), asked)
    };
    // RFC 9449 §5: token_type DPoP, case-insensitive, normalised.
    for sent in ["DPoP", "dpop"] {
        let body = format!(r#"{{"access_token":"a","token_type":"{sent}"}}"#);
        assert_eq!(dpop(&body, true).unwrap().token_type, "DPoP");
        let err = dpop(&body, false).unwrap_err();
        assert_eq!(
            err,
            Error::UnsupportedTokenType {
                token_type: sent.into(),
                expected: "Bearer"
            }
        );
        assert!(
            err.to_string()
                .ends_with("a DPoP-bound token is accepted only with the dpop option"),
            "{err}"
        );
    }
    // Asked for a bound token, given a bearer one: the server ignored the
    // proof, and the token is refused rather than used unbound.
    let err = dpop(r#"{"access_token":"a","token_type":"Bearer"}"#, true).unwrap_err();
    assert_eq!(
        err,
        Error::UnsupportedTokenType {
            token_type: "Bearer".into(),
            expected: "DPoP"
        }
    );
    assert_eq!(
        err.to_string(),
        "the server issued a token of type \"Bearer\" where DPoP was asked for: it did not bind the token to the DPoP key (RFC 9449 §5); enable DPoP for the client at the server, or turn dpop off to accept Bearer tokens"
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn json_without_access_token_names_members_but_no_values() {
    let reason = invalid_reason(parse(json(
        200,
        r#"{"token":"leaked-value","token_type":"Bearer"}"#,
    )));
    assert_eq!(
        reason,
        "the response has no access_token (members: token, token_type)"
    );

    assert_eq!(
        invalid_reason(parse(json(
            200,
            r#"{"access_token":"","token_type":"Bearer"}"#
        ))),
        "access_token is not a non-empty string"
    );
    assert_eq!(
        invalid_reason(parse(json(200, r#"{"access_token":"a"}"#))),
        "the response has no token_type (RFC 6749 §5.1)"
    );
    assert_eq!(
        invalid_reason(parse(json(
            200,
            r#"{"access_token":"a","token_type":"Bearer","refresh_token":7}"#
        ))),
        "refresh_token is not a string"
    );
    assert_eq!(
        invalid_reason(parse(json(
            200,
            r#"{"access_token":"a","token_type":"Bearer","scope":["a"]}"#
        ))),
        "scope is not a string"
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn an_html_error_page_is_not_json() {
    let page = "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head></html>";
    let err =
        parse(HttpResponse::new(502, page).with_header("Content-Type", "text/html")).unwrap_err();
    assert_eq!(
        err,
        Error::ResponseNotJson {
            status: 502,
            content_type: Some("text/html".into()),
            excerpt: Some(
                "<!DOCTYPE html> <html><head><title>502 Bad Gateway</title></head></html>".into()
            )
        }
    );
    assert_eq!(err.status(), Some(502));
    assert_eq!(
        parse(HttpResponse::new(200, "")).unwrap_err().code(),
        "RESPONSE_NOT_JSON"
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn a_successful_body_that_is_not_json_is_never_quoted() {
    // GitHub-style form-encoded, and truncated JSON: both hold the token.
    for body in [
        "access_token=gho_T0KEN&token_type=bearer",
        r#"{"access_token":"gho_T0KEN","tok"#,
    ] {
        let response = HttpResponse::new(200, body)
            .with_header("Content-Type", "application/x-www-form-urlencoded");
        let err = parse(response).unwrap_err();
        assert_eq!(
            err,
            Error::ResponseNotJson {
                status: 200,
                content_type: Some("application/x-www-form-urlencoded".into()),
                excerpt: None
            }
        );
        assert_eq!(
            err.to_string(),
            "the server's response (HTTP 200, Content-Type application/x-www-form-urlencoded) \
             is not JSON; a successful response may hold tokens, so none of it is shown"
        );
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn json_that_is_not_an_object_is_invalid_not_non_json() {
    for body in [r#"["at-1"]"#, r#""at-1""#, "null", "42"] {
        assert_eq!(
            invalid_reason(parse(json(200, body))),
            "the response is JSON but not an object",
            "{body}"
        );
    }
    assert_eq!(
        parse(json(503, r#""busy""#)).unwrap_err(),
        Error::HttpError {
            status: 503,
            excerpt: r#""busy""#.into()
        }
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn a_huge_error_page_gives_a_bounded_excerpt() {
    let page = "x".repeat(100_000);
    let Err(Error::ResponseNotJson {
        excerpt: Some(excerpt),
        ..
    }) = parse(HttpResponse::new(500, page))
    else {
        panic!()
    };
    assert_eq!(excerpt.chars().count(), 201);
}

#[wasm_bindgen_test(unsupported = test)]
fn an_error_body_with_a_2xx_status_is_still_an_oauth_error() {
    let err = parse(json(
        200,
        r#"{"error":"invalid_scope","error_description":"no such scope"}"#,
    ))
    .unwrap_err();
    let Error::OAuth(server) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(server.status, 200);
    assert_eq!(server.error, "invalid_scope");
    assert_eq!(
        err.to_string(),
        "the server answered invalid_scope (HTTP 200): no such scope"
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn entra_error_extras_are_kept_structured() {
    let body = r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.",
        "error_codes":[7000215],"timestamp":"2026-11-21 10:00:00Z","trace_id":"0b5c-trace",
        "correlation_id":"7d2e-corr","error_uri":"https://login.microsoftonline.com/error?code=7000215"}"#;
    let Err(Error::OAuth(server)) = parse(json(401, body)) else {
        panic!()
    };
    assert_eq!(server.status, 401);
    assert_eq!(server.error, "invalid_client");
    assert_eq!(
        server.error_description.as_deref(),
        Some("AADSTS7000215: Invalid client secret provided.")
    );
    assert_eq!(server.error_codes, [7_000_215]);
    assert_eq!(server.trace_id.as_deref(), Some("0b5c-trace"));
    assert_eq!(server.correlation_id.as_deref(), Some("7d2e-corr"));
    assert_eq!(
        server.error_uri.as_deref(),
        Some("https://login.microsoftonline.com/error?code=7000215")
    );
    assert_eq!(server.body["timestamp"], "2026-11-21 10:00:00Z");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_non_2xx_json_body_without_error_is_an_http_error() {
    let err = parse(json(400, r#"{"message":"invalid authentication session"}"#)).unwrap_err();
    assert_eq!(
        err,
        Error::HttpError {
            status: 400,
            excerpt: r#"{"message":"invalid authentication session"}"#.into()
        }
    );
    assert_eq!(err.code(), "HTTP_ERROR");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_redirect_is_refused_and_its_query_not_copied() {
    let response = HttpResponse::new(302, "")
        .with_header("Location", "https://elsewhere.example/login?code=abc#x");
    assert_eq!(
        parse(response).unwrap_err(),
        Error::UnexpectedRedirect {
            status: 302,
            location: Some("https://elsewhere.example/login".into())
        }
    );
    // A browser's opaque redirect has status 0 and no Location.
    assert_eq!(
        parse(HttpResponse::new(0, "")).unwrap_err(),
        Error::UnexpectedRedirect {
            status: 0,
            location: None
        }
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn decode_reads_header_and_claims_without_verifying() {
    // {"alg":"RS256","typ":"JWT","kid":"k1"} . {"sub":"alice","aud":"api","exp":1700000300}
    let token = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImsxIn0.\
                 eyJzdWIiOiJhbGljZSIsImF1ZCI6ImFwaSIsImV4cCI6MTcwMDAwMDMwMH0.c2ln";
    let jwt = decode_unverified(token).unwrap();
    assert_eq!(jwt.header["alg"], "RS256");
    assert_eq!(jwt.header["kid"], "k1");
    assert_eq!(jwt.claims["sub"], "alice");
    assert_eq!(jwt.claims["exp"], 1_700_000_300);
}

#[wasm_bindgen_test(unsupported = test)]
fn decode_refuses_what_is_not_a_jwt_without_echoing_it() {
    let cases = [
        (
            "not-a-jwt",
            "a JWT has three dot-separated parts; this has 1",
        ),
        (
            "a.b.c.d.e",
            "it has five parts: an encrypted JWT (JWE) cannot be read without its key",
        ),
        ("!!!.e30.x", "the header is not base64url"),
        ("e30.bm90IGpzb24.x", "the payload is not a JSON object"),
    ];
    for (token, reason) in cases {
        assert_eq!(
            decode_unverified(token).unwrap_err(),
            Error::InvalidJwt {
                reason: reason.into()
            },
            "{token}"
        );
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn tokens_with_characters_outside_vschar_are_refused() {
    // RFC 6749 Appendix A: access-token and refresh-token are 1*VSCHAR
    // (%x20-7E). A CR/LF, NUL or ESC would forge a header or a log line.
    for (member, value) in [
        ("access_token", r"at\u0000x"),
        ("access_token", r"at\r\nX-Injected: 1"),
        ("access_token", r"at\u001b[2J"),
        ("access_token", "até"),
        ("access_token", r"at\u202e"),
        ("refresh_token", r"rt\nx"),
        ("id_token", r"a.b.c\u0085"),
    ] {
        let mut body = serde_json::json!({"access_token": "at", "token_type": "Bearer"});
        let text = format!(r#""{value}""#);
        body[member] = serde_json::from_str(&text).unwrap();
        let reason = invalid_reason(parse(json(200, &body.to_string())));
        assert!(reason.starts_with(member), "{reason}");
        assert!(reason.contains("VSCHAR"), "{reason}");
    }
    // Every VSCHAR is fine, space included.
    let tokens = parse(json(
        200,
        r#"{"access_token":" !~azAZ09+/=","token_type":"Bearer"}"#,
    ))
    .unwrap();
    assert_eq!(tokens.access_token.expose(), " !~azAZ09+/=");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_leading_byte_order_mark_is_ignored() {
    // RFC 8259 §8.1: parsers MAY ignore a BOM; some Windows servers send one.
    let mut body = b"\xEF\xBB\xBF".to_vec();
    body.extend_from_slice(br#"{"access_token":"at","token_type":"Bearer","expires_in":60}"#);
    let tokens = parse(HttpResponse::new(200, body)).unwrap();
    assert_eq!(tokens.access_token.expose(), "at");
    // Only at the start, only once.
    let mut twice = b"\xEF\xBB\xBF\xEF\xBB\xBF".to_vec();
    twice.extend_from_slice(br#"{"access_token":"at","token_type":"Bearer"}"#);
    assert_eq!(
        parse(HttpResponse::new(200, twice)).unwrap_err().code(),
        "RESPONSE_NOT_JSON"
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn server_text_is_escaped_and_bounded_in_messages_but_kept_in_fields() {
    let hostile = "bad\u{1b}[31m\r\n2026-11-30 INFO login ok\u{85}\u{202e}gpj.exe\u{200b}";
    let description = format!("{hostile}{}", "x".repeat(900_000));
    let body = serde_json::json!({
        "error": "invalid_grant",
        "error_description": description,
    });
    let err = parse(json(400, &body.to_string())).unwrap_err();
    let message = err.to_string();
    assert!(grantkit::text::is_safe(&message), "{message:?}");
    assert!(
        message.contains(r"bad\u{1b}[31m\u{d}\u{a}2026-11-30"),
        "{message}"
    );
    assert!(message.contains(r"\u{202e}gpj.exe\u{200b}"), "{message}");
    assert!(message.chars().count() < 2000, "{} chars", message.len());
    let Error::OAuth(server) = err else {
        panic!("{err:?}")
    };
    assert_eq!(
        server.error_description.as_deref(),
        Some(description.as_str())
    );

    // An unregistered error code and a token_type are server text too.
    let err = parse(json(400, r#"{"error":"evil\u001b]0;title\u0007"}"#)).unwrap_err();
    assert!(grantkit::text::is_safe(&err.to_string()), "{err}");
    let err = parse(json(
        200,
        r#"{"access_token":"at","token_type":"MAC\u001b[2J\u2066"}"#,
    ))
    .unwrap_err();
    assert_eq!(err.code(), "UNSUPPORTED_TOKEN_TYPE");
    assert!(grantkit::text::is_safe(&err.to_string()), "{err}");
    // Content-Type and body excerpts of a non-JSON error page.
    let page = HttpResponse::new(502, "<h1>\u{1b}[2J\u{202e}oops</h1>\r\nInjected: 1")
        .with_header("content-type", "text/html\u{85}\u{2028}x");
    let err = parse(page).unwrap_err();
    assert_eq!(err.code(), "RESPONSE_NOT_JSON");
    assert!(grantkit::text::is_safe(&err.to_string()), "{err}");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_redirect_location_that_echoes_a_secret_is_withheld() {
    // Found by fuzzing: the Location went into the error as it was.
    let secret = Secret::new("s3cr3t-Pa55/w0rd+é");
    let redactor = Redactor::new([&secret]);
    let response = HttpResponse::new(302, "")
        .with_header("location", "https://idp.example.com/s3cr3t-Pa55/w0rd+é?x=1");
    let err = parse_token_response(&response, NOW, &redactor, false).unwrap_err();
    assert_eq!(
        err,
        Error::UnexpectedRedirect {
            status: 302,
            location: Some(grantkit::redact::WITHHELD.into()),
        }
    );
    // Without a secret in it, the origin and path are shown.
    let response = HttpResponse::new(302, "")
        .with_header("location", "https://elsewhere.example/login?code=abc");
    let err = parse_token_response(&response, NOW, &redactor, false).unwrap_err();
    assert!(
        err.to_string().contains("https://elsewhere.example/login;"),
        "{err}"
    );
}
