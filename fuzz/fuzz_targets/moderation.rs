//! The whole moderation pipeline (crisis, redaction, abuse, spam) on arbitrary UTF-8, with
//! invariants:
//!
//! - redaction ranges are in the input, on character boundaries, sorted and disjoint, and
//!   the published text is the input with each range replaced;
//! - the published text, moderated again, has no NHS number or phone number left;
//! - the helpline numbers 999, 111, 116 123 and 85258 survive when written after the input;
//! - a crisis post is never rejected;
//! - `one_line` leaves no line break, and a blank post stays blank.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use moderation::{is_blank, one_line, Action, Moderator};

const HELPLINES: &str = "\n. Call 999 or 111. Samaritans: 116 123. Text SHOUT to 85258.";

fn moderator() -> &'static Moderator {
    static M: OnceLock<Moderator> = OnceLock::new();
    M.get_or_init(Moderator::standard)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let m = moderator();
    let v = m.assess(text, &[]);

    let mut at = 0;
    let mut rebuilt = String::new();
    for r in &v.redactions {
        assert!(r.range.start >= at && r.range.start < r.range.end && r.range.end <= text.len(), "{r:?}");
        assert!(text.is_char_boundary(r.range.start) && text.is_char_boundary(r.range.end), "{r:?}");
        rebuilt.push_str(&text[at..r.range.start]);
        rebuilt.push_str(r.kind.replacement());
        at = r.range.end;
    }
    rebuilt.push_str(&text[at..]);
    assert_eq!(rebuilt, v.text);

    let again = m.assess(&v.text, &[]);
    for code in ["personal_data.nhs_number", "personal_data.phone"] {
        assert!(!again.has_reason(code), "{code} left in {:?} (from {text:?})", v.text);
    }

    if v.crisis.is_some() {
        assert!(v.action <= Action::Hold);
    }

    let with_helplines = format!("{text}{HELPLINES}");
    let h = m.assess(&with_helplines, &[]);
    assert!(h.text.ends_with(HELPLINES), "helplines redacted: {:?}", h.text);

    let line = one_line(&v.text);
    assert!(!line.contains(['\n', '\r', '\u{2028}', '\u{2029}', '\u{85}', '\u{0B}', '\u{0C}']));
    if is_blank(text) {
        assert!(is_blank(&line));
    }
});
