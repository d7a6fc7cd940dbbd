//! Normalisation on arbitrary UTF-8: the match streams are padded with spaces and free of
//! invisible characters, a blank post has an empty stream, and `one_line` leaves no line
//! break and is idempotent.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use moderation::normalise::is_invisible;
use moderation::{is_blank, one_line, Moderator};

fn moderator() -> &'static Moderator {
    static M: OnceLock<Moderator> = OnceLock::new();
    M.get_or_init(Moderator::standard)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let streams = moderator().match_streams(text);
    assert!(!streams.is_empty());
    for s in &streams {
        assert!(s.starts_with(' ') && s.ends_with(' '), "{s:?}");
        assert!(!s.chars().any(is_invisible), "{s:?}");
        assert!(!s.contains("  "), "{s:?}");
    }
    if is_blank(text) {
        assert_eq!(streams[0], " ", "{text:?}");
    }
    let line = one_line(text);
    assert!(!line.contains(['\n', '\r', '\u{2028}', '\u{2029}', '\u{85}', '\u{0B}', '\u{0C}']));
    assert_eq!(one_line(&line), line);
});
