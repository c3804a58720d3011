//! The stable error codes: one list in the core (`ErrorCode`), from which the
//! TypeScript declarations are derived and against which the README's table
//! is checked.

use grantkit::error::ERROR_CODES_TYPESCRIPT;
use grantkit::ErrorCode;
use std::collections::HashSet;

#[test]
fn codes_are_unique_and_upper_snake_case() {
    let mut seen = HashSet::new();
    for code in ErrorCode::ALL {
        let text = code.as_str();
        assert!(seen.insert(text), "{text} twice");
        assert!(
            text.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'),
            "{text}"
        );
    }
    assert_eq!(seen.len(), 59);
}

#[test]
fn the_typescript_declares_every_code_once_as_a_union_member_and_a_constant() {
    for code in ErrorCode::ALL {
        let text = code.as_str();
        assert_eq!(
            ERROR_CODES_TYPESCRIPT
                .matches(&format!(" | \"{text}\""))
                .count(),
            1,
            "{text}"
        );
        assert_eq!(
            ERROR_CODES_TYPESCRIPT
                .matches(&format!("readonly {text}: \"{text}\";"))
                .count(),
            1,
            "{text}"
        );
    }
}

#[test]
fn the_readme_documents_every_code() {
    let readme = include_str!("../README.md");
    let table = &readme[readme.find("## Errors").expect("an Errors section")..];
    for code in ErrorCode::ALL {
        let text = code.as_str();
        let family = text.split('_').next().unwrap_or_default();
        assert!(
            table.contains(&format!("`{text}`")) || table.contains(&format!("`{family}_*`")),
            "README's Errors section does not name {text}"
        );
    }
}

/// The members a JavaScript GrantkitError gets, from the core: the code, the
/// step of an ACP call and the server's error inside it, the field of a
/// configuration error.
#[test]
fn error_members_are_the_core_s() {
    use grantkit::error::ErrorMembers;
    use grantkit::options::ConfigField;
    let body: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(r#"{"error":"invalid_grant","error_description":"bad","x":1}"#)
            .unwrap();
    let server = grantkit::ServerError {
        status: 400,
        error: "invalid_grant".into(),
        error_description: Some("bad".into()),
        error_uri: None,
        error_codes: vec![],
        trace_id: None,
        correlation_id: None,
        body: body.clone(),
    };
    let error = grantkit::Error::InStep {
        step: 5,
        name: "token",
        error: Box::new(grantkit::Error::OAuth(Box::new(server))),
    };
    assert_eq!(
        error.members(),
        ErrorMembers {
            code: "OAUTH_ERROR",
            status: Some(400),
            error: Some("invalid_grant"),
            error_description: Some("bad"),
            error_uri: None,
            body: Some(&body),
            field: None,
            step: Some(5),
        }
    );
    assert_eq!(
        serde_json::to_string(&error.members()).unwrap(),
        r#"{"code":"OAUTH_ERROR","status":400,"error":"invalid_grant","error_description":"bad","body":{"error":"invalid_grant","error_description":"bad","x":1},"step":5}"#
    );
    let config = grantkit::Error::InvalidConfig {
        field: ConfigField::TokenEndpoint,
        reason: "is required".into(),
    };
    assert_eq!(
        serde_json::to_string(&config.members()).unwrap(),
        r#"{"code":"INVALID_CONFIG","field":"tokenEndpoint"}"#
    );
}
