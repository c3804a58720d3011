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
    assert_eq!(seen.len(), 35);
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
