//! Normalisation against evasion, and the text-safety helpers the core needs.
//!
//! Public helpers (see each function for details):
//!
//! - [`is_blank`]: whether a post shows nothing at all (only whitespace, format characters,
//!   fillers or lone combining marks), so the core can refuse it.
//! - [`one_line`]: a copy that is safe to publish on a single line (no line breaks of any
//!   kind, no bidi overrides), so a post cannot forge a new `#N Name:` line.
//! - [`is_invisible`]: the characters that render as nothing and are removed before matching.
//! - [`without_invisible`]: a text without them, keeping the joiners and selectors that
//!   shape emoji and scripts, for showing participants' text.
//!
//! The rest is used only for matching. The output is a *match stream*: lower-case words
//! separated by single spaces, with a space at each end (`" you are a twat "`), so that list
//! entries padded the same way match whole words only ("Scunthorpe" never contains the
//! word it contains).
//!
//! Steps, in order: compatibility decomposition (NFKD, which includes every NFKC folding:
//! fullwidth, mathematical and circled letters) with combining marks and invisible
//! characters (every format character, general category Cf: zero-width spaces and joiners,
//! bidi controls, tag characters; and other default-ignorable characters) dropped, Hangul
//! and Braille fillers read as spaces, lower-casing, confusable letters (Cyrillic, Greek,
//! small capitals) mapped to Latin, tokenising, joining runs of three or more
//! single-character tokens (`f u c k`, `f.u.c.k`, `f-u-c-k`), joining two or three short
//! tokens that together make a listed word (`fu ck`, `tw at`, unless every part is an
//! ordinary word or a contraction, so "he'll" and "it's hit" stay apart), leetspeak inside
//! tokens that contain a letter (`sh1t`, `$hit`, `@ss`), masked letters resolved against
//! the vocabulary (`c*nt`), and letter runs of three or more collapsed (`fuuuuck`).
//!
//! Because a run can stand for a single or a double letter (`fuuuck`, `kiiill`) and `1`
//! for `i` or `l`, a second *alternate* stream is made when either ambiguity occurs.
//! When the text has right-to-left characters or bidi controls, it is also read in its
//! *visual* order (how it is displayed: a right-to-left override shows `kcuf` as `fuck`),
//! and that reading is normalised the same way into further streams.
//! The streams are never shown to anyone; redaction works on the raw text.

use std::borrow::Cow;

use unicode_bidi::{bidi_class, BidiClass, BidiInfo};
use unicode_general_category::{get_general_category, GeneralCategory};
use unicode_normalization::char::{decompose_compatible, is_combining_mark};

/// The match streams of one text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Normalised {
    /// Runs collapsed to one letter, `1` read as `i`.
    pub(crate) primary: String,
    /// Runs collapsed to two letters, `1` read as `l`; only when that differs.
    pub(crate) alternate: Option<String>,
    /// The streams of the text in visual (display) order, when that differs from the
    /// logical order (right-to-left overrides and embeddings, right-to-left scripts).
    pub(crate) visual: Vec<String>,
}

/// Whether `c` renders as nothing and can be used to split or hide words invisibly:
/// every format character (general category Cf: soft hyphen, zero-width space, joiners,
/// bidi marks, embeddings, overrides and isolates, the Arabic letter mark, tag characters,
/// word joiner, BOM, interlinear annotation), and the other default-ignorable characters
/// (combining grapheme joiner, Mongolian variation selectors, Khmer inherent vowels,
/// variation selectors, unassigned default-ignorables).
pub fn is_invisible(c: char) -> bool {
    if c.is_ascii() {
        return false;
    }
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFF0}'..='\u{FFF8}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    ) || get_general_category(c) == GeneralCategory::Format
}

/// The tag characters (after U+1F3F4, the black flag) of the three RGI emoji tag
/// sequences: the flags of England, Scotland and Wales. Any other run of tag characters
/// can spell hidden text and is dropped.
const FLAG_TAGS: [&str; 3] = ["gbeng", "gbsct", "gbwls"];

/// The black flag that an emoji tag sequence follows.
const BLACK_FLAG: char = '\u{1F3F4}';
/// The tag that ends an emoji tag sequence.
const CANCEL_TAG: char = '\u{E007F}';
/// Zero-width joiner and non-joiner.
const JOINERS: [char; 2] = ['\u{200D}', '\u{200C}'];
/// Text and emoji presentation selectors (VS15, VS16).
const PRESENTATION: [char; 2] = ['\u{FE0E}', '\u{FE0F}'];
/// The combining enclosing keycap, which follows `0`–`9`, `#` or `*` and a VS16.
const KEYCAP: char = '\u{20E3}';

/// `text` without its invisible characters ([`is_invisible`]), except the few that shape
/// what is shown: the zero-width joiners, presentation selectors (VS15, VS16) and tag
/// characters inside a recommended (RGI) emoji or emoji sequence, as typed (👩‍⚕️, 🏳️‍🌈,
/// ❤️, 1️⃣, the flags of England, Scotland and Wales; the `emojis` crate's list); a
/// zero-width non-joiner between two letters of a cursive script (Arabic script, as in
/// Persian and Urdu; Syriac, Thaana, N'Ko, Mongolian); and a zero-width joiner or
/// non-joiner between two letters or marks of a script that forms conjuncts (the Indic
/// scripts, Myanmar, Khmer). Anywhere else they would change nothing that shows, and
/// could carry hidden bits; so a joiner in a mention, a command, a slug, or between Latin,
/// Greek or Cyrillic letters is dropped, as are runs of more than one joiner or selector,
/// other variation selectors, bidi controls, zero-width spaces and every other tag
/// character, which could hide or reorder text.
pub fn without_invisible(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_invisible) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(is_invisible) {
        out.push_str(&rest[..start]);
        let run_len = rest[start..].find(|c: char| !is_invisible(c)).unwrap_or(rest.len() - start);
        let run = &rest[start..start + run_len];
        rest = &rest[start + run_len..];
        let prev = out.chars().next_back();
        let next = rest.chars().next();
        shaping_marks(run, prev, next, &mut out);
    }
    out.push_str(rest);
    if out.contains(|c: char| c == ZWJ || PRESENTATION.contains(&c) || is_tag(c)) {
        out = emoji_sequences(&out);
    }
    Cow::Owned(out)
}

const ZWJ: char = '\u{200D}';

fn is_tag(c: char) -> bool {
    ('\u{E0020}'..='\u{E007F}').contains(&c)
}

/// The most emoji one RGI sequence joins (a family, a kiss).
const MOST_JOINED: usize = 4;

/// Whether one emoji's presentation selector, if it has one, changes how it shows: VS16
/// after a character shown as text by default (❤, ☺, the keycaps' digits), VS15 after one
/// shown as an emoji by default.
fn selector_shows(element: &[char]) -> bool {
    use unicode_properties::emoji::EmojiStatus as S;
    use unicode_properties::UnicodeEmoji as _;
    let Some((&base, marks)) = element.split_first() else { return true };
    let emoji_by_default = matches!(
        base.emoji_status(),
        S::EmojiPresentation
            | S::EmojiPresentationAndModifierBase
            | S::EmojiPresentationAndEmojiComponent
            | S::EmojiPresentationAndModifierAndEmojiComponent
    );
    marks.iter().all(|&c| match c {
        '\u{FE0F}' => !emoji_by_default,
        '\u{FE0E}' => emoji_by_default,
        _ => true,
    })
}

/// `text` with the joiners, selectors and tags kept only inside RGI emoji and sequences:
/// each run of emoji joined by zero-width joiners is read from the left, the longest RGI
/// sequence of at most [`MOST_JOINED`] emoji at a time; an emoji that begins none keeps
/// its visible characters (a skin tone too) without its selectors and tags, and the joiner
/// after it goes.
fn emoji_sequences(text: &str) -> String {
    use unicode_properties::UnicodeEmoji as _;
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    let tail =
        |c: char| PRESENTATION.contains(&c) || is_tag(c) || c == KEYCAP || ('\u{1F3FB}'..='\u{1F3FF}').contains(&c);
    let starts = |i: usize| {
        let c = chars[i];
        (!c.is_ascii() && c.is_emoji_char())
            || ((c.is_ascii_digit() || c == '#' || c == '*') && chars.get(i + 1).is_some_and(|&d| tail(d)))
    };
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < n {
        if !starts(i) {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // The emoji of the run, each with its selectors, skin tone, tags or keycap.
        let mut elements: Vec<(usize, usize)> = Vec::new();
        let mut j = i;
        loop {
            let start = j;
            j += 1;
            while j < n && tail(chars[j]) {
                j += 1;
            }
            elements.push((start, j));
            if j + 1 < n && chars[j] == ZWJ && starts(j + 1) {
                j += 1;
                continue;
            }
            break;
        }
        let mut k = 0;
        while k < elements.len() {
            let longest = (k + 1..=elements.len().min(k + MOST_JOINED)).rev().find_map(|m| {
                let sequence: String = chars[elements[k].0..elements[m - 1].1].iter().collect();
                // One emoji with a selector that changes nothing (VS16 after an emoji shown
                // as one anyway) is listed too, as a variation sequence: not kept.
                let single = m == k + 1 && !selector_shows(&chars[elements[k].0..elements[k].1]);
                (emojis::get(&sequence).is_some() && !single).then_some((m, sequence))
            });
            match longest {
                Some((m, sequence)) => {
                    out.push_str(&sequence);
                    k = m;
                }
                None => {
                    let (start, end) = elements[k];
                    out.extend(chars[start..end].iter().filter(|&&c| !PRESENTATION.contains(&c) && !is_tag(c)));
                    k += 1;
                }
            }
        }
        i = j;
    }
    out
}

/// Appends to `out` what [`without_invisible`] keeps of `run`, a run of invisible
/// characters between `prev` and `next`.
fn shaping_marks(run: &str, prev: Option<char>, next: Option<char>, out: &mut String) {
    let (before, after) = (prev.and_then(joins), next.and_then(joins));
    let keycap = prev.is_some_and(|c| c.is_ascii_digit() || c == '#' || c == '*') && next == Some(KEYCAP);
    let mut run = run;
    if prev == Some(BLACK_FLAG) {
        for flag in FLAG_TAGS {
            let tags: String =
                flag.chars().filter_map(|c| char::from_u32(0xE0000 + c as u32)).chain([CANCEL_TAG]).collect();
            if let Some(after) = run.strip_prefix(tags.as_str()) {
                out.push_str(&tags);
                run = after;
                break;
            }
        }
    }
    let mut presentation = false;
    let mut joiner = false;
    for c in run.chars() {
        if PRESENTATION.contains(&c) && !presentation && !joiner {
            presentation = true;
            if before == Some(Joins::Emoji) || keycap {
                out.push(c);
            }
        } else if JOINERS.contains(&c) && !joiner {
            joiner = true;
            let kept = match (before, after) {
                (Some(Joins::Emoji), Some(Joins::Emoji)) => c == ZWJ,
                (Some(Joins::Cursive), Some(Joins::Cursive)) => c == '\u{200C}',
                (Some(Joins::Conjunct), Some(Joins::Conjunct)) => true,
                _ => false,
            };
            if kept {
                out.push(c);
            }
        }
    }
}

/// What a character joins with, for [`without_invisible`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Joins {
    /// An emoji (not an ASCII digit, `#` or `*`, which are emoji only as keycaps); what is
    /// kept between emoji is checked against the RGI sequences afterwards.
    Emoji,
    /// A letter or mark of a cursive script, whose letters join unless a non-joiner
    /// parts them (the joiner changes nothing between letters that join anyway).
    Cursive,
    /// A letter or mark of a script whose joiner and non-joiner choose a conjunct's form.
    Conjunct,
}

fn joins(c: char) -> Option<Joins> {
    use unicode_properties::UnicodeEmoji as _;
    if c.is_ascii() {
        return None;
    }
    if c.is_emoji_char() {
        return Some(Joins::Emoji);
    }
    use GeneralCategory as G;
    let letter_or_mark = matches!(
        get_general_category(c),
        G::UppercaseLetter
            | G::LowercaseLetter
            | G::TitlecaseLetter
            | G::ModifierLetter
            | G::OtherLetter
            | G::NonspacingMark
            | G::SpacingMark
            | G::EnclosingMark
    );
    if !letter_or_mark {
        return None;
    }
    match c as u32 {
        0x0600..=0x08FF // Arabic, Syriac, Arabic Supplement, Thaana, N'Ko, Samaritan, Mandaic, Arabic Extended
        | 0x1800..=0x18AF // Mongolian
        | 0xFB50..=0xFDFF // Arabic Presentation Forms-A
        | 0xFE70..=0xFEFC // Arabic Presentation Forms-B
        => Some(Joins::Cursive),
        0x0900..=0x0DFF // Devanagari, Bengali, Gurmukhi, Gujarati, Oriya, Tamil, Telugu, Kannada, Malayalam, Sinhala
        | 0x1000..=0x109F // Myanmar
        | 0x1780..=0x17FF // Khmer
        | 0xA8E0..=0xA8FF // Devanagari Extended
        => Some(Joins::Conjunct),
        _ => None,
    }
}

/// Whether `c` is a filler: a letter or symbol that renders as blank space (the Hangul
/// fillers U+115F, U+1160, U+3164, U+FFA0 and the blank Braille pattern U+2800). Read as a
/// space when matching.
pub fn is_filler(c: char) -> bool {
    matches!(c, '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' | '\u{2800}')
}

/// Whether a post shows nothing at all: it is empty or made only of whitespace, invisible
/// characters ([`is_invisible`]: zero-width spaces, bidi controls, tag characters, …),
/// fillers ([`is_filler`]), control characters and combining marks with nothing to combine
/// with. The core should refuse such a post (there is nothing to publish) rather than
/// publish an empty-looking line.
///
/// ```
/// assert!(moderation::is_blank("\u{200B}\u{200B} \u{2066}\u{3164}\n"));
/// assert!(!moderation::is_blank("\u{200B}ok"));
/// ```
pub fn is_blank(text: &str) -> bool {
    text.chars().all(|c| c.is_whitespace() || c.is_control() || is_invisible(c) || is_filler(c) || is_combining_mark(c))
}

/// Whether `c` ends a line anywhere a post may be shown: LF, VT, FF, CR, NEL, LINE SEPARATOR
/// and PARAGRAPH SEPARATOR.
fn is_line_break(c: char) -> bool {
    matches!(c, '\n' | '\u{000B}' | '\u{000C}' | '\r' | '\u{0085}' | '\u{2028}' | '\u{2029}')
}

/// Whether `c` is a bidi embedding, override or isolate (or their terminators), which can
/// reorder how the rest of a line is displayed.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Makes `text` safe to publish on one line after a prefix such as `#12 Brave Otter: `.
///
/// - Every line break (LF, CR, CRLF, VT, FF, NEL U+0085, LINE SEPARATOR U+2028, PARAGRAPH
///   SEPARATOR U+2029) and every other control character becomes a space, and runs of
///   them become one space, so a post cannot start a line of its own that looks like
///   another participant's post.
/// - Bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) are removed, so
///   a post cannot reorder how its line (or its prefix) is displayed. Bidi *marks* (LRM,
///   RLM, ALM), which right-to-left writers need, are kept.
/// - Leading and trailing whitespace is trimmed.
///
/// Borrows when nothing needs changing. Apply it to [`crate::Verdict::text`] just before
/// publishing (after moderation, so redaction ranges are unaffected).
///
/// ```
/// let forged = "fine\u{2028}#7 Moderator: this discussion is closed";
/// assert_eq!(moderation::one_line(forged), "fine #7 Moderator: this discussion is closed");
/// assert_eq!(moderation::one_line("a\r\n\r\nb"), "a b");
/// ```
pub fn one_line(text: &str) -> Cow<'_, str> {
    let needs = |c: char| c.is_control() || is_line_break(c) || is_bidi_control(c);
    let trimmed = text.trim();
    if !trimmed.chars().any(needs) {
        return Cow::Borrowed(trimmed);
    }
    let mut out = String::with_capacity(trimmed.len());
    let mut gap = false;
    for c in trimmed.chars() {
        if is_bidi_control(c) {
            continue;
        }
        if (c.is_control() && c != '\t') || is_line_break(c) {
            gap = true;
            continue;
        }
        if gap {
            if !out.ends_with(char::is_whitespace) && !c.is_whitespace() {
                out.push(' ');
            }
            gap = false;
        }
        out.push(c);
    }
    // Removing controls can leave whitespace at either end.
    let trimmed = out.trim();
    if trimmed.len() != out.len() {
        out = trimmed.to_string();
    }
    Cow::Owned(out)
}

/// Whether `text` needs a visual-order reading: it has right-to-left characters or bidi
/// controls.
fn has_bidi(text: &str) -> bool {
    !text.is_ascii()
        && text.chars().any(|c| {
            !c.is_ascii()
                && matches!(
                    bidi_class(c),
                    BidiClass::R
                        | BidiClass::AL
                        | BidiClass::RLE
                        | BidiClass::RLO
                        | BidiClass::RLI
                        | BidiClass::LRE
                        | BidiClass::LRO
                        | BidiClass::LRI
                        | BidiClass::FSI
                )
        })
}

/// `text` in visual (display) order, paragraph by paragraph; `None` when it is the same.
fn visual_order(text: &str) -> Option<String> {
    if !has_bidi(text) {
        return None;
    }
    let info = BidiInfo::new(text, None);
    let mut out = String::with_capacity(text.len());
    for para in &info.paragraphs {
        out.push_str(&info.reorder_line(para, para.range.clone()));
        out.push('\n');
    }
    (out.trim_end_matches('\n') != text).then_some(out)
}

/// Maps a lower-case look-alike to its Latin letter.
fn confusable(c: char) -> char {
    match c {
        // Cyrillic
        'а' => 'a',
        'в' => 'b',
        'е' | 'ё' | 'є' => 'e',
        'к' => 'k',
        'м' => 'm',
        'н' | 'һ' => 'h',
        'о' => 'o',
        'р' => 'p',
        'с' => 'c',
        'т' => 't',
        'у' | 'ў' => 'y',
        'х' => 'x',
        'і' | 'ї' => 'i',
        'ј' => 'j',
        'ѕ' => 's',
        'ԁ' => 'd',
        'ӏ' => 'l',
        'ԛ' => 'q',
        'ԝ' => 'w',
        'п' => 'n',
        // Greek
        'α' => 'a',
        'β' => 'b',
        'γ' => 'y',
        'ε' => 'e',
        'η' => 'n',
        'ι' => 'i',
        'κ' => 'k',
        'μ' => 'u',
        'ν' => 'v',
        'ο' => 'o',
        'ρ' => 'p',
        'τ' => 't',
        'υ' => 'u',
        'χ' => 'x',
        'ω' => 'w',
        // Latin look-alikes and small capitals
        'ı' => 'i',
        'ł' => 'l',
        'ø' => 'o',
        'đ' => 'd',
        'ɡ' => 'g',
        'ᴀ' => 'a',
        'ʙ' => 'b',
        'ᴄ' => 'c',
        'ᴅ' => 'd',
        'ᴇ' => 'e',
        'ғ' => 'f',
        'ɢ' => 'g',
        'ʜ' => 'h',
        'ɪ' => 'i',
        'ᴊ' => 'j',
        'ᴋ' => 'k',
        'ʟ' => 'l',
        'ᴍ' => 'm',
        'ɴ' => 'n',
        'ᴏ' => 'o',
        'ᴘ' => 'p',
        'ʀ' => 'r',
        'ᴛ' => 't',
        'ᴜ' => 'u',
        'ᴠ' => 'v',
        'ᴡ' => 'w',
        'ʏ' => 'y',
        'ᴢ' => 'z',
        other => other,
    }
}

fn push_folded(c: char, out: &mut String) {
    if is_combining_mark(c) || is_invisible(c) {
        return;
    }
    if is_filler(c) {
        out.push(' ');
        return;
    }
    for lower in c.to_lowercase() {
        out.push(confusable(lower));
    }
}

/// Lower-cases and folds `text` into `out`: compatibility forms, marks, look-alikes.
pub(crate) fn fold(text: &str, out: &mut String) {
    out.clear();
    if text.is_ascii() {
        out.extend(text.chars().map(|c| c.to_ascii_lowercase()));
        return;
    }
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            decompose_compatible(c, |d| push_folded(d, out));
        }
    }
}

/// Copies of `text` for crisis detection, besides the raw text: invisible characters
/// removed, fillers read as spaces, compatibility forms and look-alike letters folded,
/// lower-cased, leetspeak read inside words that have a letter (`k1ll`, `su1c1dal`; a `1`
/// both as `i` and as `l`, so up to two copies), and a split `my self` / `your self`
/// rejoined. Punctuation, apostrophes and sentence breaks are kept (the crisis patterns,
/// negations and guards need them). Empty when no copy would differ from the raw text.
pub(crate) fn crisis_copies(text: &str) -> Vec<String> {
    if text.is_ascii() && !ascii_leet_word(text) && !contains_ignore_ascii_case(text, " self") {
        return Vec::new();
    }
    // Fillers are marked, then read both as nothing ("ki\u{3164}ll") and as spaces.
    const FILLER: char = '\u{1}';
    let mut marked = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            marked.push(if c == FILLER { ' ' } else { c.to_ascii_lowercase() });
        } else if is_filler(c) {
            marked.push(FILLER);
        } else if matches!(c, '\u{2019}' | '\u{2018}' | '\u{02BC}') {
            marked.push(c);
        } else {
            decompose_compatible(c, |d| push_folded(d, &mut marked));
        }
    }
    let foldings: Vec<String> = if marked.contains(FILLER) {
        vec![marked.replace(FILLER, ""), marked.replace(FILLER, " ")]
    } else {
        vec![marked]
    };
    let mut copies = Vec::with_capacity(2);
    let mut has_one = false;
    for (folded, one) in foldings.iter().flat_map(|f| [(f, 'i'), (f, 'l')]) {
        if one == 'l' && !has_one {
            continue;
        }
        let mut out = String::with_capacity(folded.len());
        let mut rest = folded.as_str();
        while let Some(c) = rest.chars().next() {
            if is_token_char(c) {
                let end = rest.find(|c: char| !is_token_char(c)).unwrap_or(rest.len());
                let token = &rest[..end];
                if token.chars().any(char::is_alphabetic) {
                    has_one |= token.contains('1');
                    out.extend(token.chars().map(|c| leet(c, one)));
                } else {
                    out.push_str(token);
                }
                rest = &rest[end..];
            } else {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
        for (split, joined) in [
            (" my self", " myself"),
            (" your self", " yourself"),
            (" him self", " himself"),
            (" her self", " herself"),
            (" them selves", " themselves"),
            (" them self", " themself"),
        ] {
            if out.contains(split) {
                out = out.replace(split, joined);
            }
        }
        let same = text.is_ascii() && out.eq_ignore_ascii_case(text);
        if !same && !copies.contains(&out) {
            copies.push(out);
        }
    }
    copies
}

/// Whether an ASCII text has a word with both a letter and a leetspeak character (`k1ll`).
fn ascii_leet_word(text: &str) -> bool {
    let (mut letter, mut leetish) = (false, false);
    for b in text.bytes() {
        if b.is_ascii_alphabetic() {
            letter = true;
        } else if b.is_ascii_digit() || matches!(b, b'@' | b'$') {
            leetish = true;
        } else {
            if letter && leetish {
                return true;
            }
            letter = false;
            leetish = false;
        }
    }
    letter && leetish
}

fn contains_ignore_ascii_case(haystack: &str, needle: &str) -> bool {
    haystack.as_bytes().windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// `sh!t`: a `!` between two letters stands for `i`.
fn bang_as_i(folded: &str) -> String {
    let chars: Vec<char> = folded.chars().collect();
    let mut out = String::with_capacity(folded.len());
    for (i, &c) in chars.iter().enumerate() {
        let between =
            c == '!' && i > 0 && chars[i - 1].is_alphabetic() && chars.get(i + 1).is_some_and(|n| n.is_alphabetic());
        out.push(if between { 'i' } else { c });
    }
    out
}

fn is_token_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '*' | '$' | '@')
}

fn leet(c: char, one: char) -> char {
    match c {
        '0' => 'o',
        '1' => one,
        '3' => 'e',
        '4' | '@' => 'a',
        '5' | '$' => 's',
        '7' => 't',
        other => other,
    }
}

/// Resolves masked tokens (`c*nt`, `f**k`, `*fuck*`) against single-word vocabulary.
pub(crate) trait MaskVocabulary {
    /// A vocabulary word that `masked` (containing `*`) could stand for.
    fn unmask(&self, masked: &str) -> Option<&str>;

    /// Whether `word` (already normalised) is a single-word vocabulary entry that is worth
    /// rebuilding from split parts (`fu ck`).
    fn is_word(&self, _word: &str) -> bool {
        false
    }

    /// A cheap test before [`MaskVocabulary::is_word`]: whether any word has this length in
    /// bytes and this first letter.
    fn may_be_word(&self, _len: usize, _first: char) -> bool {
        true
    }
}

/// Ordinary short words and contraction tails. Two or three tokens are joined into a
/// listed word only when at least one of them is *not* one of these, so "he'll", "it's
/// hit", "as she", "bit chilly" stay as they are.
const ORDINARY: &[&str] = &[
    "a", "i", "s", "t", "d", "m", "o", "ll", "re", "ve", "nt", "am", "an", "as", "at", "be", "by", "do", "go", "he",
    "if", "in", "is", "it", "me", "my", "no", "of", "oh", "ok", "on", "or", "so", "to", "up", "us", "we", "ye", "all",
    "and", "are", "arm", "art", "ask", "bit", "but", "can", "cap", "cat", "did", "dog", "for", "get", "got", "had",
    "has", "her", "hey", "him", "his", "hit", "how", "its", "let", "may", "not", "now", "off", "one", "our", "out",
    "own", "pit", "rap", "sat", "saw", "say", "see", "she", "sit", "the", "too", "two", "was", "way", "who", "why",
    "yes", "yet", "you", "also", "back", "been", "call", "came", "come", "cock", "each", "even", "from", "gave",
    "good", "hand", "have", "here", "hole", "into", "just", "know", "like", "made", "make", "many", "more", "most",
    "much", "must", "need", "only", "over", "said", "same", "some", "such", "take", "than", "that", "them", "then",
    "they", "this", "time", "told", "very", "want", "well", "went", "were", "what", "when", "will", "with", "your",
];

/// Whether `sep`, the text between two tokens, lets them be read as one word: short, and
/// no apostrophe (a contraction) or sentence punctuation.
fn joinable_gap(sep: &str) -> bool {
    sep.chars().count() <= 3 && !sep.chars().any(|c| matches!(c, '\'' | ',' | '!' | '?' | ';' | ':' | '"' | '\n'))
}

/// If `parts` (two or three adjacent tokens) together make a listed word and at least one
/// part is not an ordinary word, that word.
fn joined_word(parts: &[&str], vocab: &dyn MaskVocabulary, buf: &mut String) -> bool {
    let total: usize = parts.iter().map(|p| p.len()).sum();
    if !(4..=16).contains(&total) {
        return false;
    }
    let first = parts.first().and_then(|p| p.chars().next()).map_or(' ', |c| leet(c, 'i'));
    if !vocab.may_be_word(total, first) {
        return false;
    }
    buf.clear();
    for p in parts {
        buf.extend(p.chars().map(|c| leet(c, 'i')));
    }
    // The vocabulary look-up is a hash probe; listed words are rare, so check it first.
    vocab.is_word(buf) && !parts.iter().all(|p| ORDINARY.contains(p))
}

/// Normalises `text` into match streams. `vocab` resolves masked and split words.
pub(crate) fn normalise(text: &str, vocab: &dyn MaskVocabulary) -> Normalised {
    let mut streams = normalise_logical(text, vocab);
    if let Some(visual) = visual_order(text) {
        let v = normalise_logical(&visual, vocab);
        if v.primary != streams.primary {
            streams.visual.push(v.primary);
        }
        streams.visual.extend(v.alternate);
    }
    streams
}

fn normalise_logical(text: &str, vocab: &dyn MaskVocabulary) -> Normalised {
    let mut folded = String::with_capacity(text.len() + 8);
    fold(text, &mut folded);
    if folded.contains('!') {
        folded = bang_as_i(&folded);
    }

    // Tokens as ranges of `folded`.
    let mut spans: Vec<(usize, usize)> = Vec::with_capacity(folded.len() / 4 + 1);
    let mut start = None;
    for (i, c) in folded.char_indices() {
        match (is_token_char(c), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                spans.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        spans.push((s, folded.len()));
    }
    let tokens: Vec<&str> = spans.iter().map(|&(a, b)| &folded[a..b]).collect();
    let gap = |i: usize| joinable_gap(&folded[spans[i].1..spans[i + 1].0]);

    // Join runs of three or more single-character tokens, and split words: spacing tricks.
    let mut words: Vec<Cow<'_, str>> = Vec::with_capacity(tokens.len());
    let mut buf = String::new();
    let mut i = 0;
    'tokens: while i < tokens.len() {
        let single = |t: &str| t.chars().count() == 1;
        if single(tokens[i]) {
            let mut j = i;
            while j < tokens.len() && single(tokens[j]) {
                j += 1;
            }
            if j - i >= 3 {
                words.push(Cow::Owned(tokens[i..j].concat()));
                i = j;
                continue;
            }
        }
        for n in [3, 2] {
            if i + n <= tokens.len() && (i..i + n - 1).all(gap) && joined_word(&tokens[i..i + n], vocab, &mut buf) {
                words.push(Cow::Owned(tokens[i..i + n].concat()));
                i += n;
                continue 'tokens;
            }
        }
        words.push(Cow::Borrowed(tokens[i]));
        i += 1;
    }

    let mut ambiguous = false;
    let primary = render(&words, vocab, false, &mut ambiguous);
    let alternate = if ambiguous {
        let mut unused = false;
        let alt = render(&words, vocab, true, &mut unused);
        (alt != primary).then_some(alt)
    } else {
        None
    };
    Normalised { primary, alternate, visual: Vec::new() }
}

/// Renders words into a padded stream. `alternate` reads `1` as `l` and keeps runs as
/// two letters; `ambiguous` is set when that reading could differ.
fn render(words: &[Cow<'_, str>], vocab: &dyn MaskVocabulary, alternate: bool, ambiguous: &mut bool) -> String {
    let mut out = String::with_capacity(words.iter().map(|w| w.len() + 1).sum::<usize>() + 2);
    out.push(' ');
    let mut word = String::new();
    for raw in words {
        let has_letter = raw.chars().any(char::is_alphabetic);
        word.clear();
        if has_letter {
            let one = if alternate { 'l' } else { 'i' };
            for c in raw.chars() {
                if c == '1' {
                    *ambiguous = true;
                }
                word.push(leet(c, one));
            }
        } else {
            word.push_str(raw);
        }
        if word.contains('*') {
            let trimmed_lead = word.trim_start_matches('*');
            let trimmed = trimmed_lead.trim_end_matches('*');
            let resolved = if !trimmed.is_empty() && !trimmed.contains('*') {
                Some(trimmed.to_string())
            } else if trimmed_lead.chars().any(char::is_alphabetic) {
                vocab.unmask(trimmed_lead).or_else(|| vocab.unmask(trimmed)).map(str::to_string)
            } else {
                None
            };
            if let Some(r) = resolved {
                word = r;
            }
        }
        // Collapse letter runs of three or more.
        let keep = if alternate { 2 } else { 1 };
        let mut prev = '\0';
        let mut run = 0usize;
        let mut chars = word.chars().peekable();
        let mut collapsed = String::with_capacity(word.len());
        while let Some(c) = chars.next() {
            if c == prev {
                run += 1;
            } else {
                prev = c;
                run = 1;
            }
            collapsed.push(c);
            // At the end of a run, trim it if it was long.
            if chars.peek() != Some(&c) && run >= 3 && c.is_alphabetic() {
                *ambiguous = true;
                let remove = run - keep;
                for _ in 0..remove {
                    collapsed.pop();
                }
            }
        }
        if collapsed.is_empty() {
            continue;
        }
        out.push_str(&collapsed);
        out.push(' ');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joiners_and_selectors_that_shape_text_are_kept() {
        for shaped in [
            "\u{1F469}\u{200D}\u{2695}\u{FE0F} nurse",     // woman health worker
            "\u{1F3F3}\u{FE0F}\u{200D}\u{1F308}",          // rainbow flag
            "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}", // family
            "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}\u{200D}\u{1F466}", // family of four
            "\u{1F469}\u{1F3FD}\u{200D}\u{2695}\u{FE0F}",  // with a skin tone
            "\u{2764}\u{FE0F}\u{1F600}\u{2764}\u{FE0F}",   // hearts around a face
            "\u{2764}\u{FE0F} thanks",                     // red heart
            "1\u{FE0F}\u{20E3} first",                     // keycap one
            "\u{645}\u{6CC}\u{200C}\u{62E}\u{648}\u{627}\u{647}\u{645}", // Persian, ZWNJ
            "\u{915}\u{94D}\u{200D}\u{937}",               // Devanagari, ZWJ
            "\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F} Scotland",
            "\u{1F3F4}\u{E0067}\u{E0062}\u{E0077}\u{E006C}\u{E0073}\u{E007F} Wales",
            "\u{1F3F4}\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F} England",
        ] {
            assert_eq!(without_invisible(shaped), shaped);
        }
    }

    #[test]
    fn invisible_characters_that_hide_or_split_are_dropped() {
        for (raw, shown) in [
            ("@\u{200D}everyone", "@everyone"),
            ("every\u{200C}one", "everyone"),
            ("!forget\u{200B}", "!forget"),
            ("kill your\u{202E}self", "kill yourself"),
            ("\u{200D}\u{1F600}", "\u{1F600}"),
            ("\u{1F600}\u{200D}", "\u{1F600}"),
            // Between emoji that form no RGI sequence, and after an emoji shown as one anyway.
            ("\u{1F600}\u{200D}\u{200D}\u{200D}\u{1F600}", "\u{1F600}\u{1F600}"),
            ("\u{1F600}\u{200D}\u{1F389}", "\u{1F600}\u{1F389}"),
            ("\u{1F600}\u{FE0F}\u{FE0F}\u{FE0F}", "\u{1F600}"),
            ("\u{2764}\u{FE0F}\u{FE0F}", "\u{2764}\u{FE0F}"),
            // A sequence, then an emoji joined to it that makes none.
            ("\u{1F469}\u{200D}\u{2695}\u{FE0F}\u{200D}\u{1F389}", "\u{1F469}\u{200D}\u{2695}\u{FE0F}\u{1F389}"),
            // Arabic letters join anyway: a joiner between them changes nothing.
            ("\u{633}\u{200D}\u{644}\u{200D}\u{627}\u{645}", "\u{633}\u{644}\u{627}\u{645}"),
            // Arabic-Indic digits join nothing.
            ("\u{661}\u{200C}\u{662}", "\u{661}\u{662}"),
            ("\u{1F600}\u{FE01}\u{E0100}\u{E0101}", "\u{1F600}"),
            ("a\u{FE0F}b", "ab"),
            // Between letters that join nothing, and after characters that are no emoji.
            (
                "\u{41E}\u{447}\u{200D}\u{435}\u{440}\u{435}\u{434}\u{44C}",
                "\u{41E}\u{447}\u{435}\u{440}\u{435}\u{434}\u{44C}",
            ),
            ("\u{3B1}\u{200C}\u{3B2}", "\u{3B1}\u{3B2}"),
            ("caf\u{E9}\u{FE0F}", "caf\u{E9}"),
            ("\u{1F600}\u{200C}\u{1F600}", "\u{1F600}\u{1F600}"),
            ("\u{1F600}\u{200D}\u{645}", "\u{1F600}\u{645}"),
            ("a\u{FE0F}\u{20E3}", "a\u{20E3}"),
            ("\u{1F600} \u{200D} \u{1F600}", "\u{1F600}  \u{1F600}"),
            // Tag characters spelling hidden text, with and without a flag before them.
            ("hi\u{E0068}\u{E0069}\u{E007F}", "hi"),
            ("\u{1F3F4}\u{E0068}\u{E0069}\u{E007F}", "\u{1F3F4}"),
            (
                "\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}\u{E0068}\u{E0069}",
                "\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}",
            ),
        ] {
            assert_eq!(without_invisible(raw), shown, "{raw:?}");
        }
        assert!(matches!(without_invisible("plain text"), Cow::Borrowed(_)));
        // A long run costs one pass.
        let long = format!("\u{1F600}{}\u{1F600}", "\u{200D}".repeat(100_000));
        assert_eq!(without_invisible(&long), "\u{1F600}\u{1F600}");
        // So do a hundred thousand emoji joined in one run.
        let joined = vec!["\u{1F469}"; 100_000].join("\u{200D}");
        assert_eq!(without_invisible(&joined), "\u{1F469}".repeat(100_000));
    }

    struct Vocab(&'static [&'static str]);
    impl MaskVocabulary for Vocab {
        fn unmask(&self, masked: &str) -> Option<&str> {
            self.0
                .iter()
                .copied()
                .find(|w| w.len() == masked.len() && w.chars().zip(masked.chars()).all(|(a, b)| b == '*' || a == b))
        }
    }
    const V: Vocab = Vocab(&["fuck", "cunt", "shit"]);

    fn p(text: &str) -> String {
        normalise(text, &V).primary
    }

    #[test]
    fn pads_and_lowercases() {
        assert_eq!(p("Hello, World!"), " hello world ");
        assert_eq!(p(""), " ");
    }

    #[test]
    fn folds_fullwidth_and_confusables() {
        assert_eq!(p("ｆｕｃｋ"), " fuck ");
        assert_eq!(p("fսck"), " fսck "); // Armenian, not in the table: left alone
        assert_eq!(p("ѕһіт"), " shit "); // Cyrillic
        assert_eq!(p("fück"), " fuck ");
        assert_eq!(p("f\u{200B}uck"), " fuck ");
        assert_eq!(p("𝐟𝐮𝐜𝐤"), " fuck ");
    }

    #[test]
    fn leetspeak_only_inside_words() {
        assert_eq!(p("sh1t"), " shit ");
        assert_eq!(p("$h1t"), " shit ");
        assert_eq!(p("@ss"), " ass ");
        assert_eq!(p("sh!te! wow!"), " shite wow ");
        assert_eq!(p("call 111 at 5"), " call 111 at 5 ");
        let n = normalise("1diot", &V);
        assert_eq!(n.primary, " idiot ");
        assert_eq!(n.alternate.as_deref(), Some(" ldiot "));
        assert_eq!(p("k1ll"), " kill ");
    }

    #[test]
    fn spacing_tricks() {
        assert_eq!(p("f u c k off"), " fuck off ");
        assert_eq!(p("f.u.c.k"), " fuck ");
        assert_eq!(p("f-u-c-k"), " fuck ");
        assert_eq!(p("A and E"), " a and e ");
    }

    #[test]
    fn repeated_letters() {
        let n = normalise("fuuuuuck", &V);
        assert_eq!(n.primary, " fuck ");
        let n = normalise("kiiiill", &V);
        assert_eq!(n.alternate.as_deref(), Some(" kiill "));
        assert_eq!(p("bloody"), " bloody ");
        assert_eq!(normalise("bloody", &V).alternate, None);
    }

    #[test]
    fn masks() {
        assert_eq!(p("c*nt"), " cunt ");
        assert_eq!(p("f**k off"), " fuck off ");
        assert_eq!(p("*really* cross"), " really cross ");
        assert_eq!(p("s**"), " s ");
    }

    /// Found by the `normalise` fuzz target: removing a bidi control exposed a space, so
    /// `one_line` was not idempotent.
    #[test]
    fn one_line_is_idempotent_after_removing_controls() {
        let once = one_line("\u{202E} kcuf off\u{2066}\n");
        assert_eq!(once, "kcuf off");
        assert_eq!(one_line(&once), once);
    }
}
