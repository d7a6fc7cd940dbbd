//! Property tests for what parley publishes: participant text made inert can ping nobody
//! and hides nothing, and a post's thread line is always exactly one line.
#![allow(clippy::unwrap_used)]

use parley::engine::render::inert;
use parley::engine::thread_line;
use parley::ids::PostNumber;
use proptest::prelude::*;

/// Text built from the pieces attacks are made of, mixed with ordinary characters.
fn hostile_text() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "@",
        "everyone",
        "here",
        "room",
        "<",
        ">",
        "#",
        "&",
        ":",
        "123",
        "alice",
        " ",
        "\n",
        "\r",
        "\t",
        "\u{200B}",
        "\u{200D}",
        "\u{200C}",
        "\u{FE0F}",
        "\u{FE0E}",
        "\u{FE01}",
        "\u{20E3}",
        "\u{1F3F4}",
        "\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}",
        "\u{E0067}\u{E0062}",
        "\u{E007F}",
        "\u{1F469}",
        "\u{645}",
        "\u{2060}",
        "\u{FEFF}",
        "\u{202E}",
        "\u{2066}",
        "\u{2069}",
        "\u{061C}",
        "\u{E0041}",
        "\u{2028}",
        "\u{2029}",
        "\u{85}",
        "\u{B}",
        "\u{C}",
        "\u{1B}[31m",
        "\u{0}",
        "\u{7}",
        "\u{3164}",
        "é",
        "😀",
        "#2 Fake Name: ",
        "@alice:example.org",
        "<@&456>",
        "<#9>",
        "_",
    ]);
    prop::collection::vec(prop_oneof![pieces.prop_map(str::to_string), any::<char>().prop_map(String::from)], 0..40)
        .prop_map(|parts| parts.concat())
}

fn is_format(c: char) -> bool {
    moderation::normalise::is_invisible(c)
}

/// The flags of England, Scotland and Wales: the only tag characters that may stay.
const FLAGS: [&str; 3] = [
    "\u{1F3F4}\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}",
    "\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}",
    "\u{1F3F4}\u{E0067}\u{E0062}\u{E0077}\u{E006C}\u{E0073}\u{E007F}",
];

/// A visible character that emoji and scripts join: not ASCII, not a space, not a filler,
/// not itself invisible.
fn joinable(c: Option<char>) -> bool {
    c.is_some_and(|c| !c.is_ascii() && !c.is_whitespace() && !is_format(c) && !moderation::normalise::is_filler(c))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn inert_text_pings_nobody_and_hides_nothing(text in hostile_text()) {
        let out = inert(&text);
        let mut unflagged = out.clone();
        for flag in FLAGS {
            unflagged = unflagged.replace(flag, "\u{1F3F4}");
        }
        let chars: Vec<char> = unflagged.chars().collect();
        for (i, &c) in chars.iter().enumerate() {
            // The only invisible characters left shape what is shown: a joiner between two
            // characters that join, one presentation selector after a non-ASCII character or
            // before a keycap, the tags of a flag.
            let prev = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1).copied();
            let shaping = match c {
                // After an emoji's presentation selector, as in the rainbow flag.
                '\u{200C}' | '\u{200D}' => {
                    let before = chars[..i].iter().rev().find(|&&p| !matches!(p, '\u{FE0E}' | '\u{FE0F}')).copied();
                    joinable(before) && joinable(next)
                }
                '\u{FE0E}' | '\u{FE0F}' => joinable(prev) || next == Some('\u{20E3}'),
                _ => false,
            };
            prop_assert!(!is_format(c) || shaping, "format character U+{:04X} in {:?}", c as u32, out);
            prop_assert!(!c.is_control() || c == '\n' || c == '\t', "control U+{:04X} in {:?}", c as u32, out);
            if c == '@' {
                prop_assert!(!next.is_some_and(|n| n.is_alphanumeric() || n == '_'), "a mention in {:?}", out);
            }
            if c == '<' {
                prop_assert!(!matches!(next, Some('@' | '#' | ':')), "Discord mention syntax in {:?}", out);
            }
        }
        for keyword in ["@everyone", "@here", "@room"] {
            prop_assert!(!out.contains(keyword));
        }
    }

    #[test]
    fn a_thread_line_is_always_one_line(text in hostile_text(), n in 1i64..1_000_000, parent in proptest::option::of(1i64..1_000)) {
        let line = thread_line(PostNumber(n), "Amber Otter", parent.map(PostNumber), &text);
        for c in line.chars() {
            prop_assert!(
                !matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}' | '\u{85}' | '\u{B}' | '\u{C}'),
                "line break U+{:04X} in {:?}", c as u32, line
            );
        }
        let prefix = format!("#{n} Amber Otter");
        prop_assert!(line.starts_with(&prefix), "{:?}", line);
    }
}

/// `cover` with "@everyone" hidden in it, two bits in each gap between two characters
/// that `gap` accepts: a VS16 for the high bit, a ZWJ for the low one.
fn hide_everyone(cover: &str, gap: impl Fn(char, char) -> bool) -> String {
    let mut bits = b"@everyone".iter().flat_map(|b| (0..8).rev().map(move |i| (b >> i) & 1 == 1)).collect::<Vec<_>>();
    bits.reverse();
    let letters: Vec<char> = cover.chars().collect();
    let mut stego = String::new();
    for (i, &c) in letters.iter().enumerate() {
        stego.push(c);
        if letters.get(i + 1).is_some_and(|&n| gap(c, n)) && bits.len() >= 2 {
            let (hi, lo) = (bits.pop().unwrap(), bits.pop().unwrap());
            if hi {
                stego.push('\u{FE0F}');
            }
            if lo {
                stego.push('\u{200D}');
            }
        }
    }
    assert!(bits.is_empty(), "the cover text is long enough for the payload");
    stego
}

/// How many VS16 and ZWJ marks `text` holds.
fn marks(text: &str) -> usize {
    text.chars().filter(|&c| matches!(c, '\u{FE0F}' | '\u{200D}')).count()
}

/// Joiners and presentation selectors stay only where they shape what shows (emoji,
/// joining scripts): between Cyrillic letters, which take no emoji presentation and join
/// nothing, they would carry bits nobody sees, and a post that reads as an ordinary
/// Russian sentence could smuggle "@everyone" (or any bytes) through `inert`.
#[test]
fn marks_that_shape_nothing_carry_no_hidden_payload() {
    let cover = "Очередь в регистратуру по утрам слишком длинная и никто не берёт трубку вовремя";
    let joins = |c: char| !c.is_ascii() && !c.is_whitespace();
    let published = inert(&hide_everyone(cover, |c, n| joins(c) && joins(n)));
    assert_eq!(published, inert(cover), "{} invisible marks that shape nothing were published", marks(&published));
}

/// The same hidden payload in a row of emoji that form no sequence (and are shown as emoji
/// without a selector), or in an Arabic word whose letters join anyway: a VS16 after 😀 and
/// a zero-width joiner between 😀 and 🎉 change nothing that shows, so they go.
#[test]
fn marks_between_emoji_that_form_no_sequence_carry_no_hidden_payload() {
    let cover: String = "\u{1F600}\u{1F389}\u{1F44D}\u{1F31F}\u{1F340}\u{1F388}\u{1F525}\u{1F4A1}".repeat(5);
    let published = inert(&hide_everyone(&cover, |_, _| true));
    assert_eq!(published, inert(&cover), "{} invisible marks that shape nothing were published", marks(&published));
    // Persian/Arabic: ZWJ between two dual-joining letters (س and ل join anyway).
    let arabic = inert("\u{633}\u{200D}\u{644}\u{200D}\u{627}\u{645}");
    assert_eq!(arabic, inert("\u{633}\u{644}\u{627}\u{645}"), "ZWJ between letters that join anyway was kept");
}
