//! Text from outside (servers, callers) made safe for messages and terminals.
//!
//! A hostile server can put escape sequences, CR/LF (fake log lines), C1
//! controls, bidirectional overrides or invisible characters in an
//! `error_description`, a body or a header. Structured fields keep such text
//! verbatim; everything that becomes an error message goes through
//! [`escape`], which writes each unsafe character as a visible `\u{..}`
//! escape and bounds the length.

/// Whether `c` must not reach a terminal or a log line as it is: a control
/// character (C0, DEL, C1), a line or paragraph separator, a bidirectional
/// control (Unicode Standard Annex #9), or an invisible formatting character
/// that can hide or reorder text.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'                      // soft hyphen
            | '\u{061C}'                    // Arabic letter mark (bidi)
            | '\u{115F}' | '\u{1160}'       // Hangul fillers (render blank)
            | '\u{180E}'                    // Mongolian vowel separator
            | '\u{200B}'..='\u{200F}'       // zero-width space/joiners, LRM, RLM
            | '\u{2028}'..='\u{202E}'       // line/paragraph separators, LRE..RLO
            | '\u{2060}'..='\u{206F}'       // word joiner, invisible operators, LRI..PDI
            | '\u{3164}'                    // Hangul filler
            | '\u{FEFF}'                    // zero-width no-break space (BOM)
            | '\u{FFA0}'                    // halfwidth Hangul filler
            | '\u{FFF9}'..='\u{FFFB}'       // interlinear annotation
            | '\u{E0000}'..='\u{E007F}' // tag characters
        )
}

/// Whether `text` has no [unsafe](is_unsafe_char) character.
pub fn is_safe(text: &str) -> bool {
    !text.chars().any(is_unsafe_char)
}

/// `text` with every unsafe character written as `\u{hex}` (a backslash is
/// kept as it is), cut to at most `max_chars` characters of output with `…`
/// after a cut.
pub fn escape(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars.saturating_mul(4)));
    let mut count = 0;
    for c in text.chars() {
        let piece = if is_unsafe_char(c) {
            format!("\\u{{{:x}}}", u32::from(c))
        } else {
            c.to_string()
        };
        let len = piece.chars().count();
        if count + len > max_chars {
            out.push('…');
            return out;
        }
        count += len;
        out.push_str(&piece);
    }
    out
}

/// JSON text with every unsafe character written as a JSON `\uXXXX`
/// escape (UTF-16 code units), so the result is the same JSON value and
/// safe to print. JSON serializers escape C0 controls but pass C1
/// controls, bidi controls and invisible characters through. Tab, CR and
/// LF are kept: in valid JSON text they can only be white space between
/// tokens (inside strings they are always escaped).
pub fn escape_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if is_unsafe_char(c) && !matches!(c, '\t' | '\n' | '\r') {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The most characters an error message has; every piece of server text in
/// it is bounded more tightly, this bounds the whole.
pub const MAX_MESSAGE_CHARS: usize = 2000;

/// How much of one piece of server text (an `error_description`, a
/// `Content-Type`) a message shows.
pub const MAX_FIELD_CHARS: usize = 300;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_bidi_and_invisible_characters() {
        let hostile =
            "ok\u{1b}[31mred\r\nFAKE LOG\u{85}\u{9b}\u{202e}txt.exe\u{200b}\u{feff}\u{2066}x\u{7f}";
        assert_eq!(
            escape(hostile, 1000),
            "ok\\u{1b}[31mred\\u{d}\\u{a}FAKE LOG\\u{85}\\u{9b}\\u{202e}txt.exe\\u{200b}\\u{feff}\\u{2066}x\\u{7f}"
        );
        assert!(is_safe(&escape(hostile, 1000)));
        assert!(!is_safe(hostile));
    }

    #[test]
    fn json_escapes_keep_the_value() {
        let json = serde_json::json!({"d": "a\u{85}b\u{202e}c\u{e0041}", "n": "é"}).to_string();
        let escaped = escape_json(&json);
        assert_eq!(escaped, r#"{"d":"a\u0085b\u202ec\udb40\udc41","n":"é"}"#);
        assert!(is_safe(&escaped));
        let pretty = serde_json::to_string_pretty(&serde_json::json!({"a": "\u{202e}"})).unwrap();
        assert_eq!(escape_json(&pretty), "{\n  \"a\": \"\\u202e\"\n}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&escaped).unwrap(),
            serde_json::from_str::<serde_json::Value>(&json).unwrap()
        );
    }

    #[test]
    fn keeps_ordinary_text_including_non_latin_scripts() {
        let text = "Der Benutzer ist gesperrt — ユーザーがロックされています \\ \"quoted\"";
        assert_eq!(escape(text, 1000), text);
        assert!(is_safe(text));
    }

    #[test]
    fn bounds_the_output_and_never_cuts_an_escape() {
        assert_eq!(escape("abcdef", 3), "abc…");
        assert_eq!(escape("abcdef", 6), "abcdef");
        // "ab" + "\u{1b}" (6 characters) would pass 5: the escape is left out whole.
        assert_eq!(escape("ab\u{1b}cd", 5), "ab…");
        let huge = "x".repeat(900_000);
        assert_eq!(
            escape(&huge, MAX_FIELD_CHARS).chars().count(),
            MAX_FIELD_CHARS + 1
        );
    }
}
