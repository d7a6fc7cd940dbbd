//! `parley analyse` input (plain lines or CSV) on arbitrary bytes: it never panics, and it
//! either reads comments or refuses with a plain message.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for force_csv in [false, true] {
        match parley::report::read_comments(data, force_csv) {
            Ok(comments) => assert!(comments.len() <= data.len() + 1),
            Err(e) => assert!(!e.trim().is_empty()),
        }
    }
});
