//! The command parser on arbitrary UTF-8 and prefixes: it never panics, a message that does
//! not start with the prefix is plain text, and a known command's label is stable.

#![no_main]

use libfuzzer_sys::fuzz_target;
use parley::engine::commands::{parse, split_post_slug, Command, ParticipantCommand};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // The first character (if any) doubles as a prefix, to cover prefixes other than `!`.
    let prefix: String = text.chars().take(1).collect();
    for prefix in ["!", prefix.as_str()] {
        if prefix.is_empty() {
            continue;
        }
        let command = parse(text, prefix);
        let _ = command.label();
        let _ = command.rate_class();
        if !text.trim().starts_with(prefix) {
            assert_eq!(command, Command::Participant(ParticipantCommand::Text(text.trim().to_string())));
        }
        if let Command::Participant(ParticipantCommand::Post { text }) = &command {
            let (slug, body) = split_post_slug(text, |s| s.len() % 2 == 0);
            if let Some(slug) = slug {
                assert!(text.starts_with(slug) && text.ends_with(body));
            }
        }
    }
});
