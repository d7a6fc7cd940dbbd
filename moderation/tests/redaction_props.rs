//! Property tests: whatever separators a person types around or inside an NHS number or a
//! UK phone number, the published text never keeps its digits; helpline numbers are never
//! touched. Numbers are fictional: NHS numbers are generated with a valid modulus-11 check
//! digit, phone numbers come from Ofcom's drama ranges.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;

use moderation::{nhs_number_valid, Moderator};
use proptest::prelude::*;

fn moderator() -> &'static Moderator {
    static M: OnceLock<Moderator> = OnceLock::new();
    M.get_or_init(Moderator::standard)
}

/// Separators a person can type (or paste) between digits or around a number.
const SEPARATORS: &[&str] = &[
    " ",
    "\u{A0}",
    "\u{202F}",
    "\u{2009}",
    "\u{2007}",
    "\u{200B}",
    "\u{200C}",
    "\u{200D}",
    "\u{2060}",
    "\u{FEFF}",
    ".",
    "-",
    "/",
    "  ",
    "\t",
    " - ",
    " . ",
    "\u{2013}",
    "\u{A0}\u{A0}",
];

fn separator() -> impl Strategy<Value = &'static str> {
    prop::sample::select(SEPARATORS)
}

/// Between two digits: usually nothing, often a separator.
fn gap() -> impl Strategy<Value = &'static str> {
    prop_oneof![5 => Just(""), 4 => separator()]
}

/// Ten digits with a valid NHS check digit.
fn nhs_number() -> impl Strategy<Value = String> {
    prop::array::uniform9(0u32..10).prop_filter_map("check digit 10 or all digits equal", |d| {
        let sum: u32 = d.iter().enumerate().map(|(i, x)| x * (10 - i as u32)).sum();
        let check = match 11 - sum % 11 {
            11 => 0,
            10 => return None,
            c => c,
        };
        let s: String = d.iter().chain(std::iter::once(&check)).map(|&x| char::from(b'0' + x as u8)).collect();
        nhs_number_valid(&s).then_some(s)
    })
}

/// A UK phone number from the drama ranges, as its national significant number (no 0).
fn phone_number() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u32..1000).prop_map(|n| format!("7700900{n:03}")),
        (0u32..1000).prop_map(|n| format!("1632960{n:03}")),
        (0u32..1000).prop_map(|n| format!("2079460{n:03}")),
        (0u32..1000).prop_map(|n| format!("1134960{n:03}")),
    ]
}

/// How the phone number's prefix is written.
fn phone_prefix() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&["0", "0", "0", "+44", "+44 ", "+44 (0)", "(+44) ", "0044 ", "44", "0 "][..])
}

fn spread(digits: &str, gaps: &[&str]) -> String {
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 {
            out.push_str(gaps[i - 1]);
        }
        out.push(d);
    }
    out
}

fn digits_of(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn no_nhs_number_survives(
        nhs in nhs_number(),
        gaps in prop::collection::vec(gap(), 9),
        before in separator(),
        after in separator(),
        words in prop::sample::select(&["my nhs number is", "NHS no:", "nhs", "ref", ""][..]),
    ) {
        let text = format!("{words}{before}{}{after}thanks", spread(&nhs, &gaps));
        let v = moderator().assess(&text, &[]);
        prop_assert!(!digits_of(&v.text).contains(&nhs), "{:?} → {:?}", text, v.text);
        prop_assert!(v.is_redacted());
    }

    #[test]
    fn no_phone_number_survives(
        number in phone_number(),
        prefix in phone_prefix(),
        gaps in prop::collection::vec(gap(), 9),
        before in separator(),
        after in separator(),
        words in prop::sample::select(&["ring me on", "mob", "call", "tel:", ""][..]),
    ) {
        let text = format!("{words}{before}{prefix}{}{after}after six", spread(&number, &gaps));
        let v = moderator().assess(&text, &[]);
        prop_assert!(!digits_of(&v.text).contains(&number), "{:?} → {:?}", text, v.text);
        prop_assert!(v.has_reason("personal_data.phone") || v.has_reason("personal_data.nhs_number"));
    }

    #[test]
    fn helplines_are_never_redacted(
        which in 0usize..4,
        gaps in prop::collection::vec(gap(), 5),
        before in separator(),
        after in separator(),
    ) {
        let digits = ["999", "111", "116123", "85258"][which];
        let text = format!("call{before}{}{after}now", spread(digits, &gaps[..digits.len() - 1]));
        let v = moderator().assess(&text, &[]);
        prop_assert_eq!(&v.text, &text);
    }
}
