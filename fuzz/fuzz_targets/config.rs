//! Configuration parsing on arbitrary text: it never panics, and every refusal names a
//! position or a key in plain words rather than failing later.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match parley::config::Config::parse(text, "fuzz.toml") {
        Ok(config) => {
            // What `run` and `check-config` do next must not panic either.
            let _ = config.adapters(&|_| None);
            let _ = parley::engine::Settings::from_config(&config);
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
