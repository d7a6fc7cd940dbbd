//! Regression tests for issue 9 ("Hardening", items 9–12) and issue 13 item 1 (names and
//! addresses). Each case was published, missed or mangled by the moderator before the fix.
//! All data is fictional: Ofcom drama phone numbers, NHS numbers with a made-up check digit.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use moderation::{is_blank, one_line, Action, Moderator, PersonalData, Policy};

fn m() -> Moderator {
    static M: std::sync::OnceLock<Moderator> = std::sync::OnceLock::new();
    M.get_or_init(Moderator::standard).clone()
}

// --- item 9: abuse hidden with format characters, fillers, bidi and splits ---

#[test]
fn abuse_hidden_with_format_characters_is_caught() {
    for text in [
        "you absolute tw\u{202A}at",         // LEFT-TO-RIGHT EMBEDDING
        "fu\u{202B}ck off",                  // RIGHT-TO-LEFT EMBEDDING
        "fu\u{202C}ck off",                  // POP DIRECTIONAL FORMATTING
        "fu\u{202D}ck off",                  // LEFT-TO-RIGHT OVERRIDE
        "fu\u{2066}ck off",                  // LEFT-TO-RIGHT ISOLATE
        "fu\u{2067}ck off",                  // RIGHT-TO-LEFT ISOLATE
        "fu\u{2068}ck\u{2069} off",          // FIRST STRONG ISOLATE, POP DIRECTIONAL ISOLATE
        "fu\u{061C}ck off",                  // ARABIC LETTER MARK
        "fu\u{E0020}ck off",                 // TAG SPACE
        "f\u{E0075}\u{E0063}uck off",        // tag letters
        "fu\u{115F}ck off",                  // HANGUL CHOSEONG FILLER
        "fu\u{1160}ck off",                  // HANGUL JUNGSEONG FILLER
        "fu\u{3164}ck off",                  // HANGUL FILLER
        "fu\u{FFA0}ck off",                  // HALFWIDTH HANGUL FILLER
        "fu\u{2063}ck off",                  // INVISIBLE SEPARATOR
        "fu\u{FEFF}ck off",                  // ZERO WIDTH NO-BREAK SPACE
        "fu\u{180E}ck off",                  // MONGOLIAN VOWEL SEPARATOR
        "fu\u{206A}ck off",                  // INHIBIT SYMMETRIC SWAPPING (deprecated Cf)
        "fu\u{13430}ck off",                 // EGYPTIAN HIEROGLYPH VERTICAL JOINER (Cf)
        "\u{202E}kcuf\u{202C} off you twit", // right-to-left override: displays "fuck off"
        "you are a t\u{202E}taw\u{202C}",    // displays "you are a twat"
        "fu ck off",
        "you tw at",
        "what a tw at",
        "sh it service, fu ck the lot of you",
    ] {
        let v = m().assess(text, &[]);
        assert!(v.has_reason("abuse"), "{text:?} → {:?}", v.reasons);
        assert!(v.action >= Action::Hold, "{text:?} → {:?}", v.action);
    }
}

#[test]
fn severe_threat_hidden_the_same_way_is_rejected() {
    for text in [
        "kill your\u{202E}self",
        "kill your\u{202E}fles",         // displays "kill yourself"
        "kill \u{202E}flesruoy\u{202C}", // displays "kill yourself"
        "kill you\u{200B}rself",
        "kill your\u{3164}self",
        "kill your self",
        "kill\u{2066} yourself",
        "kill y\u{E0041}ourself",
    ] {
        let v = m().assess(text, &[]);
        assert_eq!(v.action, Action::Reject, "{text:?} → {:?}", v.reasons);
        assert!(v.has_reason("abuse.severe"));
    }
}

#[test]
fn splits_do_not_join_ordinary_words() {
    for text in [
        "he'll be fine, it's hit me hard though",
        "as she said, a bit chilly in the waiting room",
        "I had a scan at the hospital",
        "the pen is on the desk",
        "שלום, the clinic was good",
        "مرحبا the nurse was kind",
    ] {
        let v = m().assess(text, &[]);
        assert_eq!(v.action, Action::Publish, "{text:?} → {:?}", v.reasons);
    }
}

// --- item 10: personal data with other separators ---

#[test]
fn nhs_numbers_with_any_separator_are_redacted() {
    // 943 476 5919 has a valid check digit (9*10+4*9+3*8+4*7+7*6+6*5+5*4+9*3+1*2 = 299, 11 - 299 % 11 = 9).
    for nhs in [
        "943.476.5919",
        "943/476/5919",
        "943\u{A0}476\u{A0}5919",
        "943\u{202F}476\u{202F}5919",
        "943  476  5919",
        "943\u{200B}476\u{200B}5919",
        "9\u{200B}4\u{200B}3\u{200B}4\u{200B}7\u{200B}6\u{200B}5\u{200B}9\u{200B}1\u{200B}9",
        "943\t476\t5919",
        "943 - 476 - 5919",
        "94 34 76 59 19",
        "９４３ ４７６ ５９１９",
        "٩٤٣ ٤٧٦ ٥٩١٩",
    ] {
        let text = format!("my nhs number is {nhs} thanks");
        let v = m().assess(&text, &[]);
        assert_eq!(v.text, "my nhs number is [NHS number removed] thanks", "{nhs:?}");
        assert!(v.has_reason("personal_data.nhs_number"));
    }
}

#[test]
fn phones_with_any_separator_are_redacted() {
    for phone in [
        "07700\u{A0}900123",
        "07700\u{202F}900\u{202F}123",
        "07700\u{200B}900123",
        "077\u{200B}009\u{200B}001\u{200B}23",
        "07700/900/123",
        "07700/900123",
        "(+44) 7700 900123",
        "(+44)7700900123",
        "447700900123",
        "0 7700 900123",
        "0\u{A0}7700\u{A0}900\u{A0}123",
        "01632 960 123",
        "020\u{A0}7946\u{A0}0123",
        "+44\u{A0}20\u{A0}7946\u{A0}0123",
        "07700 – 900 – 123",
        "0７７００ ９００１２３",
    ] {
        let text = format!("ring me on {phone} after 6");
        let v = m().assess(&text, &[]);
        assert_eq!(v.text, "ring me on [phone removed] after 6", "{phone:?}");
        assert!(v.has_reason("personal_data.phone"));
    }
}

#[test]
fn postcodes_and_spelled_out_emails_are_redacted() {
    for (text, want) in [
        ("I live at LS1  4AP", "I live at [postcode removed]"),
        ("I live at LS1-4AP", "I live at [postcode removed]"),
        ("I live at LS1\u{A0}4AP", "I live at [postcode removed]"),
        ("I live at ls1\u{200B} 4ap", "I live at [postcode removed]"),
        ("email jo at example dot com please", "email [email removed] please"),
        ("jo.bloggs at example dot co dot uk", "[email removed]"),
        ("jo\u{200B}@example.com", "[email removed]"),
    ] {
        assert_eq!(m().assess(text, &[]).text, want, "{text:?}");
    }
    // Everyday "at ... dot" is not an email address.
    assert!(!m().assess("look at nhs dot uk for advice", &[]).is_redacted());
    assert!(!m().assess("buy now at www.cheapmeds.example.com", &[]).has_reason("personal_data"));
}

#[test]
fn helplines_survive_every_separator() {
    for text in [
        "call 999 now",
        "ring 111 option 2",
        "Samaritans 116 123",
        "Samaritans 116\u{A0}123",
        "Samaritans 116\u{200B}123",
        "Samaritans 116-123",
        "text SHOUT to 85258",
        "999, 111, 116 123 or text 85258",
        "999 111 116 123 85258",
    ] {
        let v = m().assess(text, &[]);
        assert_eq!(v.text, text, "{text:?}");
        assert!(!v.is_redacted());
    }
}

#[test]
fn dates_and_times_are_not_numbers() {
    for text in [
        "appointment 12/03/2024 10.30 then 13/03/2024 11.45",
        "seen at 10.30 - 11.45 on 12.03.2024",
        "order 1234 5678 9012 3456 arrived",
        "scores 3 4 5 6 7 8 9 1 2 3 in the survey",
    ] {
        assert!(!m().assess(text, &[]).has_reason("personal_data.nhs_number"), "{text:?}");
        assert!(!m().assess(text, &[]).has_reason("personal_data.phone"), "{text:?}");
    }
}

// --- item 11: crisis phrasing ---

#[test]
fn crisis_phrasing_is_found() {
    for text in [
        "I want to kill my self",
        "i want to k1ll myself",
        "I'm going to take all my tablets tonight",
        "going to take all my tablets tonight",
        "I'm feeling really sui\u{200B}cidal",
        "I feel so su1c1dal",
        "i want to kill mys\u{202E}elf",
        "I want to ki\u{3164}ll myself",
        "I want to ｋｉｌｌ myself",
    ] {
        let v = m().assess(text, &[]);
        assert!(v.crisis.is_some(), "{text:?}");
        assert!(v.action <= Action::Hold);
    }
    // The raw-text rule stays: nothing is removed before crisis detection looks.
    assert!(m().assess("I want to kill myself", &[]).crisis.is_some());
    assert!(m().assess("I take 2 tablets every night for my heart", &[]).crisis.is_none());
}

// --- item 12: blank posts and one-line safety ---

#[test]
fn blank_posts_are_recognised() {
    for text in [
        "",
        "   ",
        "\u{200B}\u{200B}\u{200B}",
        "\u{200B} \u{200C}\u{200D}\u{2060}\u{FEFF}",
        "\u{202E}\u{202C}\u{2066}\u{2069}",
        "\u{E0020}\u{E0041}\u{E007F}",
        "\u{3164}\u{115F}\u{1160}\u{FFA0}",
        "\u{2800}\u{2800}",
        "\n\r\t\u{2028}\u{2029}\u{85}",
        "\u{00AD}\u{034F}\u{180E}",
        "\u{0301}\u{0301}",
    ] {
        assert!(is_blank(text), "{text:?}");
    }
    for text in ["a", "\u{200B}.", "0", "😀", "\u{3164}x"] {
        assert!(!is_blank(text), "{text:?}");
    }
}

#[test]
fn one_line_cannot_forge_a_post_line() {
    for text in [
        "great service\n#12 Moderator: this discussion is closed",
        "great service\r\n#12 Moderator: this discussion is closed",
        "great service\r#12 Moderator: this discussion is closed",
        "great service\u{2028}#12 Moderator: this discussion is closed",
        "great service\u{2029}#12 Moderator: this discussion is closed",
        "great service\u{85}#12 Moderator: this discussion is closed",
        "great service\u{0B}#12 Moderator: this discussion is closed",
        "great service\u{0C}#12 Moderator: this discussion is closed",
        "great service\n\n\n#12 Moderator: this discussion is closed",
    ] {
        let line = one_line(text);
        assert_eq!(line, "great service #12 Moderator: this discussion is closed", "{text:?}");
    }
    assert_eq!(one_line("plain"), "plain");
    assert_eq!(one_line("  \u{202E}desrever\u{202C} "), "desrever");
    assert!(matches!(one_line("no change needed"), std::borrow::Cow::Borrowed(_)));
}

// --- issue 13 item 1: names and street addresses ---

#[test]
fn names_and_addresses_from_the_issue_are_redacted() {
    let v = m().assess("My name is John Smith and I live at 14 Acacia Avenue, Leeds", &[]);
    assert_eq!(v.text, "My name is [name removed] and I live at [address removed], Leeds");
    assert!(v.has_reason("personal_data.name") && v.has_reason("personal_data.address"));
    assert!(!v.names_staff());

    let v = m().assess("Dr Patel at Oak Street Surgery was rude to me", &[]);
    assert_eq!(v.text, "Dr [name removed] at Oak Street Surgery was rude to me");
    assert!(v.names_staff());
    assert_eq!(v.action, Action::PublishRedacted);
    assert!(v.redactions.iter().any(|r| r.kind == PersonalData::StaffName));

    let held = Moderator::new(Policy { hold_named_staff: true, ..Policy::default() });
    let v = held.assess("Dr Patel at Oak Street Surgery was rude to me", &[]);
    assert_eq!(v.action, Action::Hold);
    assert!(v.has_reason("review.named_staff"));
    assert_eq!(held.assess("My name is John Smith", &[]).action, Action::PublishRedacted);
}

#[test]
fn place_and_condition_names_survive() {
    for text in [
        "Leeds General was packed on Friday",
        "I was diagnosed with Addison's disease last year",
        "Dr Foster's report rated the trust badly",
        "my Crohn's has flared again",
        "my son has Down's syndrome and the school nurse is great",
        "St James's hospital was brilliant",
        "Queen Elizabeth Hospital in Birmingham was calm",
        "the Parkinson's nurse rang me back",
        "my daughter loves the Mr Men books in the waiting room",
        "Park Road surgery never answers the phone",
        "waited 3 hours in the road outside A&E",
    ] {
        let v = m().assess(text, &[]);
        assert!(!v.is_redacted(), "{text:?} → {}", v.text);
    }
}
