//! Attacker-supplied text on its way to a log line, a CLI table or a stored failure record:
//! clipped to a bounded length and with every control character escaped, so that a posted value
//! can neither fill the disk (a 370 KB algorithm URI posted 300 times) nor forge a line
//! (a NameID with "\r\n... login accepted" in it).
//!
//! Use [`clip`] (or the [`Clipped`] display wrapper in `tracing` fields) for every value that
//! came from outside: SAML fields, emails typed into a form, SCIM input, client-chosen headers.

use std::fmt;

/// Characters kept of one attacker-supplied value in a log field or table cell.
pub const LOG_FIELD_CHARS: usize = 200;

/// `value` clipped to [`LOG_FIELD_CHARS`] characters with control characters escaped
/// (`\n`, `\r`, `\t`, `\u{1b}` …); an ellipsis marks a cut.
pub fn clip(value: &str) -> String {
    clip_to(value, LOG_FIELD_CHARS)
}

/// As [`clip`], with another bound.
pub fn clip_to(value: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(value.len().min(max_chars + 8));
    for (kept, c) in value.chars().enumerate() {
        if kept == max_chars {
            out.push('…');
            return out;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() || is_invisible_separator(c) => out.push_str(&c.escape_unicode().to_string()),
            c => out.push(c),
        }
    }
    out
}

/// Unicode line and paragraph separators and bidi overrides: not "control" to Rust, but they
/// break or reorder lines in terminals and log viewers.
fn is_invisible_separator(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// Display wrapper for `tracing` fields: `tracing::warn!(email = %Clipped(&email), …)`.
pub struct Clipped<'a>(pub &'a str);

impl fmt::Display for Clipped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&clip(self.0))
    }
}

impl fmt::Debug for Clipped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", clip(self.0))
    }
}

/// Characters kept of any one log field (including the message), whatever its source.
pub const LOG_LINE_FIELD_CHARS: usize = 2_000;

/// The field formatter of the service's log: like the default (`name=value`, the message bare),
/// but every value passes through [`clip_to`], so no field can break a line or grow without bound
/// even where a call site forgot to clip.
pub fn escaping_fields() -> impl for<'w> tracing_subscriber::fmt::FormatFields<'w> + Send + Sync + 'static {
    use tracing_subscriber::field::MakeExt;
    tracing_subscriber::fmt::format::debug_fn(|w, field, value| {
        // `%x` fields arrive as Display-in-Debug, `?x` as Debug: format either, then escape.
        let text = clip_to(&format!("{value:?}"), LOG_LINE_FIELD_CHARS);
        if field.name() == "message" {
            write!(w, "{text}")
        } else {
            write!(w, "{}={text}", field.name())
        }
    })
    .delimited(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_not_kept() {
        let cases = [
            ("alice@example.com", "alice@example.com"),
            ("a\r\nlogin accepted user=ceo", "a\\r\\nlogin accepted user=ceo"),
            ("tab\there", "tab\\there"),
            ("esc\u{1b}[31mred", "esc\\u{1b}[31mred"),
            ("nul\0", "nul\\u{0}"),
            ("line\u{2028}sep", "line\\u{2028}sep"),
            ("rtl\u{202e}txt", "rtl\\u{202e}txt"),
            ("back\\slash", "back\\\\slash"),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(clip(input), want, "{input:?}");
        }
    }

    #[test]
    fn long_values_are_clipped_to_the_bound() {
        let long = "x".repeat(370_000);
        let out = clip(&long);
        assert_eq!(out.chars().count(), LOG_FIELD_CHARS + 1);
        assert!(out.ends_with('…'));
        assert_eq!(clip(&"é".repeat(LOG_FIELD_CHARS)), "é".repeat(LOG_FIELD_CHARS), "exactly at the bound: no cut");
        assert_eq!(clip_to("abcdef", 3), "abc…");
    }

    #[test]
    fn the_display_wrapper_escapes_too() {
        assert_eq!(format!("{}", Clipped("a\nb")), "a\\nb");
        assert_eq!(format!("{:?}", Clipped("a\nb")), "\"a\\nb\"");
    }

    proptest::proptest! {
        #[test]
        fn clipped_output_never_holds_a_line_break_or_control(s in ".*") {
            let out = clip(&s);
            let breaks = out.chars().any(|c| c.is_control() || is_invisible_separator(c));
            proptest::prop_assert!(!breaks, "escaped output still holds a control character: {:?}", out);
            proptest::prop_assert!(out.chars().count() <= LOG_FIELD_CHARS * 10 + 1);
        }
    }
}
