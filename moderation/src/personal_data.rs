//! Personal-data redaction: NHS numbers, UK phone numbers, emails, postcodes, dates of
//! birth, people's names and street addresses.
//!
//! Ranges are always in the post **as written**, so the published text keeps its wording.
//! Matching, though, runs on a *scan copy* in which every separator a person can type is
//! made plain: invisible characters (zero-width spaces and joiners, bidi controls, soft
//! hyphens, every format character) are removed, every kind of space (no-break, narrow
//! no-break, figure, thin, ideographic, tabs, fillers) becomes a space, dashes and minus
//! signs become `-`, fraction and division slashes `/`, fullwidth and other compatibility
//! forms their ASCII letters and digits, and digits of other scripts ASCII digits. Each
//! byte of the copy remembers the character of the post it came from, so a match maps back
//! to the exact original characters. Rules, and what is deliberately left alone:
//!
//! - **Digits** are read in *groups*: runs of digits joined by up to four separator
//!   characters (spaces, `.`, `-`, `/`, `(`, `)`, `+`), so `943.476.5919`, `943/476/5919`,
//!   `943  476 5919`, `0 7700 900123`, `(+44) 7700 900123` and `07700/900/123` are each one
//!   candidate. A candidate is the whole group, or consecutive digit chunks of it that are
//!   set off from the rest of the group by a space (so the digits of a date such as
//!   `12/03/2024 10.30` are never cut into a false number). A candidate must not be glued
//!   to letters in the original post.
//! - **NHS numbers**: ten digits that pass the modulus-11 check digit. Ten digits that fail
//!   the check are not NHS numbers.
//! - **Phone numbers**: UK numbers starting `01`, `02` or `07` (geographic and mobile, the
//!   ones that belong to people), in national form with any grouping and separators, or in
//!   international form: `+44`, `(+44)`, `0044` with or without `(0)`, or a bare twelve-digit
//!   `447…`. Non-geographic and freephone numbers (`03`, `08`, `09`: NHS bodies, charities,
//!   helplines) are left alone, as are short codes such as 999, 111, 116 123 and 85258,
//!   which are far too short to match. Numbers in other countries' formats are not
//!   recognised.
//! - **Emails**: ordinary addresses, `name [at] domain [dot] com` forms, and `name at
//!   domain dot com` unless the word before "at" is an everyday word ("look at nhs dot uk").
//! - **Postcodes**: full UK postcodes, any case, with no space, one to three spaces or a
//!   dash between the halves. An outward code alone ("LS1", "SW1A") names an area shared by
//!   thousands and is left alone, as is an ordinal after it ("b12 3rd" is vitamin B12,
//!   third time).
//! - **Names and street addresses**: see the `names` module; only where the text signals a
//!   name (a title, a self-introduction, a role or relative, a signature).
//! - **Dates of birth**: a date after a birth cue ("DOB", "date of birth", "born on",
//!   "birthday is"); only the date is replaced. Dates without a cue (appointments) and a
//!   month or year alone ("born in 1985") are left alone.

use std::borrow::Cow;
use std::ops::Range;

use regex::Regex;
use unicode_general_category::{get_general_category, GeneralCategory};
use unicode_normalization::char::{decompose_compatible, is_combining_mark};

use crate::names::NameScanner;
use crate::normalise::{is_filler, is_invisible};

/// A kind of personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PersonalData {
    /// An NHS number that passes the modulus-11 check.
    NhsNumber,
    /// A UK geographic or mobile telephone number.
    Phone,
    /// An email address.
    Email,
    /// A full UK postcode.
    Postcode,
    /// A date given as a date of birth.
    DateOfBirth,
    /// A person's name, where the text signals one ("my name is …", "Mrs …", "my
    /// husband …", a signature).
    Name,
    /// The name of a member of staff ("Dr …", "Nurse …", "the receptionist …"). Redacted
    /// like [`PersonalData::Name`]; see [`crate::Verdict::names_staff`] and
    /// [`crate::Policy::hold_named_staff`].
    StaffName,
    /// A street address (house number, street name and type; a flat number).
    Address,
}

impl PersonalData {
    /// The stable reason code, e.g. `personal_data.nhs_number`.
    pub fn code(self) -> &'static str {
        match self {
            PersonalData::NhsNumber => "personal_data.nhs_number",
            PersonalData::Phone => "personal_data.phone",
            PersonalData::Email => "personal_data.email",
            PersonalData::Postcode => "personal_data.postcode",
            PersonalData::DateOfBirth => "personal_data.date_of_birth",
            PersonalData::Name => "personal_data.name",
            PersonalData::StaffName => "personal_data.staff_name",
            PersonalData::Address => "personal_data.address",
        }
    }

    /// The text that replaces it, e.g. `[phone removed]`.
    pub fn replacement(self) -> &'static str {
        match self {
            PersonalData::NhsNumber => "[NHS number removed]",
            PersonalData::Phone => "[phone removed]",
            PersonalData::Email => "[email removed]",
            PersonalData::Postcode => "[postcode removed]",
            PersonalData::DateOfBirth => "[date of birth removed]",
            PersonalData::Name | PersonalData::StaffName => "[name removed]",
            PersonalData::Address => "[address removed]",
        }
    }

    /// A plain-language explanation for the author.
    pub fn explanation(self) -> &'static str {
        match self {
            PersonalData::NhsNumber => "An NHS number was removed to keep you anonymous.",
            PersonalData::Phone => "A phone number was removed to keep you anonymous.",
            PersonalData::Email => "An email address was removed to keep you anonymous.",
            PersonalData::Postcode => "A postcode was removed to keep you anonymous.",
            PersonalData::DateOfBirth => "A date of birth was removed to keep you anonymous.",
            PersonalData::Name => "A name was removed to keep people anonymous.",
            PersonalData::StaffName => {
                "A staff member's name was removed: please describe their role, not who they are."
            }
            PersonalData::Address => "An address was removed to keep you anonymous.",
        }
    }
}

/// One piece of personal data removed from a post.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Redaction {
    /// What was removed.
    pub kind: PersonalData,
    /// Byte range in the post as given (always on character boundaries).
    pub range: Range<usize>,
}

/// Compiled personal-data patterns.
#[derive(Debug, Clone)]
pub(crate) struct Scanner {
    email: Regex,
    email_obfuscated: Regex,
    postcode: Regex,
    date_of_birth: Regex,
    names: NameScanner,
}

const MONTH: &str = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?";

/// Everyday words that come before " at " without being the name part of an email
/// address ("look at nhs dot uk", "arrived at 9.30").
const NOT_MAILBOX: &[&str] = &[
    "look",
    "looks",
    "looked",
    "looking",
    "arrive",
    "arrives",
    "arrived",
    "arriving",
    "good",
    "bad",
    "great",
    "better",
    "best",
    "worse",
    "me",
    "us",
    "him",
    "her",
    "them",
    "it",
    "this",
    "that",
    "there",
    "here",
    "is",
    "was",
    "were",
    "be",
    "been",
    "are",
    "am",
    "get",
    "got",
    "stay",
    "stayed",
    "staying",
    "work",
    "works",
    "worked",
    "working",
    "live",
    "lives",
    "lived",
    "living",
    "meet",
    "met",
    "seen",
    "saw",
    "see",
    "shout",
    "shouted",
    "laugh",
    "laughed",
    "stare",
    "stared",
    "staring",
    "aim",
    "aimed",
    "point",
    "pointed",
    "nurse",
    "nurses",
    "doctor",
    "doctors",
    "staff",
    "people",
    "everyone",
    "someone",
    "anyone",
    "only",
    "even",
    "just",
    "not",
    "once",
    "and",
    "or",
    "but",
    "so",
    "then",
    "still",
    "all",
    "both",
    "you",
    "we",
    "they",
    "he",
    "she",
    "i",
    "info",
    "information",
    "help",
    "details",
    "more",
    "find",
    "found",
    "available",
    "online",
    "go",
    "went",
    "gone",
    "check",
    "checked",
    "read",
    "sit",
    "sat",
    "wait",
    "waited",
    "waiting",
    "left",
    "born",
    "died",
    "treated",
    "appointment",
    "clinic",
    "hospital",
    "ward",
    "surgery",
    "unit",
    "service",
    "services",
    "website",
    "site",
    "page",
    "visit",
    "visited",
    "booked",
    "book",
    "ring",
    "rang",
    "phone",
    "phoned",
    "call",
    "called",
    "message",
    "contact",
    "them",
    "service",
    "ended",
    "end",
    "start",
    "started",
    "home",
    "time",
    "times",
    "up",
    "out",
    "off",
    "back",
    "down",
    "yell",
    "yelled",
    "snap",
    "snapped",
    "angry",
    "upset",
    "now",
    "buy",
    "shop",
    "order",
    "sale",
    "today",
    "tonight",
    "free",
    "deals",
    "cheap",
    "cheaper",
    "prices",
    "price",
    "us",
    "join",
    "click",
    "apply",
    "register",
    "sign",
    "listed",
    "posted",
    "advertised",
    "here",
];

/// Compiles with ASCII word boundaries, which keep the fast DFA engines usable on
/// non-ASCII posts (a Unicode `\b` makes them give up at the first non-ASCII byte).
pub(crate) fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    Regex::new(&pattern.replace(r"\b", r"(?-u:\b)"))
}

/// The post with every typed separator made plain, and a map back to the post.
struct ScanCopy<'t> {
    text: Cow<'t, str>,
    /// For each byte of a rewritten `text`: the byte range of the post's character it came
    /// from. Empty when `text` is the post itself.
    origin: Vec<(u32, u32)>,
}

impl<'t> ScanCopy<'t> {
    fn new(post: &'t str) -> Self {
        if post.is_ascii() {
            return ScanCopy { text: Cow::Borrowed(post), origin: Vec::new() };
        }
        let mut text = String::with_capacity(post.len());
        let mut origin = Vec::with_capacity(post.len());
        for (i, c) in post.char_indices() {
            let span = (i as u32, (i + c.len_utf8()) as u32);
            let mut push = |d: char| {
                text.push(d);
                origin.extend(std::iter::repeat_n(span, d.len_utf8()));
            };
            if c.is_ascii() {
                push(c);
            } else if is_invisible(c) {
                // Removed: zero-width and format characters.
            } else if c.is_whitespace() || is_filler(c) {
                push(' ');
            } else if matches!(
                c,
                '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{2043}' | '\u{FE58}' | '\u{FE63}' | '\u{FF0D}'
            ) {
                push('-');
            } else if matches!(c, '\u{2044}' | '\u{2215}' | '\u{29F8}' | '\u{FF0F}') {
                push('/');
            } else {
                decompose_compatible(c, |d| {
                    if is_combining_mark(d) {
                        return;
                    }
                    match digit_value(d) {
                        Some(v) => push(char::from(b'0' + v)),
                        None => push(d),
                    }
                });
            }
        }
        ScanCopy { text: Cow::Owned(text), origin }
    }

    /// The post's byte range for a (non-empty) range of the copy.
    fn original(&self, range: Range<usize>) -> Range<usize> {
        if self.origin.is_empty() || range.is_empty() {
            return range;
        }
        self.origin[range.start].0 as usize..self.origin[range.end - 1].1 as usize
    }
}

/// The value of a decimal digit of any script (`٣`, `३`, `３`), if `c` is one.
fn digit_value(c: char) -> Option<u8> {
    if c.is_ascii() {
        return c.to_digit(10).and_then(|d| u8::try_from(d).ok());
    }
    if get_general_category(c) != GeneralCategory::DecimalNumber {
        return None;
    }
    // Decimal digits come in contiguous runs of whole sets of ten, each starting at zero.
    let mut zero = c as u32;
    while let Some(prev) = zero.checked_sub(1).and_then(char::from_u32) {
        if get_general_category(prev) != GeneralCategory::DecimalNumber || (c as u32) - (zero - 1) > 100 {
            break;
        }
        zero -= 1;
    }
    u8::try_from(((c as u32) - zero) % 10).ok()
}

/// Separators inside a group of digits.
fn digit_separator(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'.' | b'-' | b'/' | b'(' | b')' | b'+')
}

/// Whether a gap between digit chunks sets them apart (a space or bracket, not a tight
/// `.`, `-` or `/` as inside a date or a decimal).
fn loose_gap(gap: &[u8]) -> bool {
    gap.iter().any(|b| matches!(b, b' ' | b'\t' | b'(' | b')' | b'+'))
}

/// What `digits` (a candidate's digits, separators removed) are, if personal data.
/// `plus` is whether a `+` stands before them.
fn classify_digits(digits: &[u8], plus: bool) -> Option<PersonalData> {
    let n = digits.len();
    if n == 10 && nhs_digits_valid(digits) {
        return Some(PersonalData::NhsNumber);
    }
    if (n == 10 || n == 11) && digits[0] == b'0' && personal_prefix(digits.get(1)) && !plus {
        return Some(PersonalData::Phone);
    }
    let (rest, explicit) = if let Some(rest) = digits.strip_prefix(b"0044") {
        (rest, true)
    } else if let Some(rest) = digits.strip_prefix(b"44") {
        (rest, plus)
    } else {
        return None;
    };
    let rest = rest.strip_prefix(b"0").unwrap_or(rest);
    let long_enough = rest.len() == 10 || (explicit && rest.len() == 9);
    (long_enough && personal_prefix(rest.first())).then_some(PersonalData::Phone)
}

impl Scanner {
    pub(crate) fn new() -> Result<Self, regex::Error> {
        let day = r"[0-9]{1,2}(?:st|nd|rd|th)?";
        let date = format!(
            r"(?:[0-9]{{1,2}}[ \t]*[/.\-][ \t]*[0-9]{{1,2}}[ \t]*[/.\-][ \t]*(?:[0-9]{{4}}|[0-9]{{2}})\b|[0-9]{{4}}[/.\-][0-9]{{1,2}}[/.\-][0-9]{{1,2}}\b|{day}(?:\s+of)?\s+{MONTH}\b,?(?:\s+'?[0-9]{{4}}\b|\s+'?[0-9]{{2}}\b)?|{MONTH}\s+{day}\b,?(?:\s+[0-9]{{4}}\b)?)"
        );
        Ok(Scanner {
            email: compile(r"[A-Za-z0-9._%+\-]+ ?@ ?[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")?,
            email_obfuscated: compile(
                r"(?i)\b([a-z0-9._%+\-]+)(?:[ \t]*(\[at\]|\(at\)|\{at\}|<at>)[ \t]*|[ \t]+(at)[ \t]+)([a-z0-9\-]+)((?:[ \t]*(?:\.|\[dot\]|\(dot\)|\{dot\}|<dot>)[ \t]*|[ \t]+dot[ \t]+)[a-z0-9\-]+)+",
            )?,
            postcode: compile(r"(?i)\b[a-z]{1,2}[0-9][a-z0-9]?(?:[ \t]{0,3}|[ \t]?-[ \t]?)[0-9][abd-hjlnp-uw-z]{2}\b")?,
            date_of_birth: compile(&format!(
                r"(?i)\b(?:d\.? ?o\.? ?b\b\.?|date of birth|birth ?date|born(?:\s+on)?|birthday(?:\s+is)?)(?:\s*(?:is|was|:|-|=|on|the|,)\b?)*\s*({date})"
            ))?,
            names: NameScanner::new()?,
        })
    }

    /// Finds personal data in `post`, appending non-overlapping redactions in order, with
    /// ranges in `post`.
    pub(crate) fn scan(&self, post: &str, out: &mut Vec<Redaction>) {
        out.clear();
        let copy = ScanCopy::new(post);
        let text: &str = &copy.text;
        let mut found: Vec<(PersonalData, Range<usize>)> = Vec::new();

        let has_digit = text.bytes().any(|b| b.is_ascii_digit());
        if has_digit {
            for m in self.postcode.find_iter(text) {
                let s = m.as_str().as_bytes();
                let inward = &s[s.len() - 3..];
                if !is_ordinal(inward) {
                    found.push((PersonalData::Postcode, m.range()));
                }
            }
            for c in self.date_of_birth.captures_iter(text) {
                if let Some(m) = c.get(1) {
                    found.push((PersonalData::DateOfBirth, m.range()));
                }
            }
        }
        if text.contains('@') {
            for m in self.email.find_iter(text) {
                found.push((PersonalData::Email, m.range()));
            }
        }
        if contains_at_word(text) {
            for c in self.email_obfuscated.captures_iter(text) {
                let (Some(m), Some(local), Some(last)) = (c.get(0), c.get(1), c.get(5)) else { continue };
                let plain_at = c.get(3).is_some();
                let tld = last.as_str().trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
                let tld = tld.rsplit(|c: char| !c.is_ascii_alphanumeric()).next().unwrap_or(tld);
                let tld_ok = (2..=6).contains(&tld.len()) && tld.bytes().all(|b| b.is_ascii_alphabetic());
                let domain = c.get(4).map_or("", |d| d.as_str());
                let mailbox_ok = !plain_at
                    || (!NOT_MAILBOX.contains(&local.as_str().to_ascii_lowercase().as_str())
                        && !domain.eq_ignore_ascii_case("www"));
                if tld_ok && mailbox_ok {
                    found.push((PersonalData::Email, m.range()));
                }
            }
        }
        self.names.scan(text, &mut found);
        // Numbers last: one glued to another redaction ("jo@example.com9434765919") is
        // removed too, so that the published text never shows it on its own.
        if has_digit {
            self.digits(&copy, post, &mut found);
        }

        for (kind, range) in found {
            out.push(Redaction { kind, range: copy.original(range) });
        }
        // Earliest first, longest first at the same start; drop anything overlapping.
        out.sort_by(|a, b| a.range.start.cmp(&b.range.start).then(b.range.end.cmp(&a.range.end)));
        let mut end = 0;
        out.retain(|r| {
            let keep = r.range.start >= end && !r.range.is_empty();
            if keep {
                end = r.range.end;
            }
            keep
        });
    }

    /// Only the names and addresses, for timing.
    #[cfg(test)]
    pub(crate) fn names_only(&self, post: &str, out: &mut Vec<(PersonalData, Range<usize>)>) {
        self.names.scan(post, out);
    }

    /// NHS and phone numbers: groups of digit chunks (see the module documentation).
    fn digits(&self, copy: &ScanCopy<'_>, post: &str, found: &mut Vec<(PersonalData, Range<usize>)>) {
        let b = copy.text.as_bytes();
        // Text already taken by another redaction (an email, a name) splits groups, as its
        // replacement will in the published text.
        let taken: Vec<Range<usize>> = found.iter().map(|(_, r)| r.clone()).collect();
        let inside = |pos: usize| taken.iter().any(|r| r.contains(&pos));
        let mut chunks: Vec<(usize, usize)> = Vec::new();
        let mut digits = [0u8; 15];
        let mut i = 0;
        while i < b.len() {
            if !b[i].is_ascii_digit() || inside(i) {
                i += 1;
                continue;
            }
            chunks.clear();
            let mut j = i;
            loop {
                let s = j;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                chunks.push((s, j));
                let mut k = j;
                while k < b.len() && k - j < 4 && digit_separator(b[k]) {
                    k += 1;
                }
                if k > j && k < b.len() && b[k].is_ascii_digit() && !inside(k) {
                    j = k;
                } else {
                    break;
                }
            }
            i = j;
            let m = chunks.len();
            let gap = |x: usize| &b[chunks[x].1..chunks[x + 1].0];
            let mut a = 0;
            while a < m {
                let mut taken = None;
                let mut last = a;
                let mut total = 0;
                for (x, &(s, e)) in chunks.iter().enumerate().skip(a) {
                    total += e - s;
                    if total > digits.len() {
                        break;
                    }
                    last = x;
                }
                for z in (a..=last).rev() {
                    if (a > 0 && !loose_gap(gap(a - 1))) || (z + 1 < m && !loose_gap(gap(z))) {
                        continue;
                    }
                    let mut n = 0;
                    for &(s, e) in &chunks[a..=z] {
                        for &d in &b[s..e] {
                            if n < digits.len() {
                                digits[n] = d;
                            }
                            n += 1;
                        }
                    }
                    if n > digits.len() {
                        continue;
                    }
                    // Brackets and a plus just before the first digit belong to the number.
                    let mut start = chunks[a].0;
                    let floor = if a == 0 { start.saturating_sub(3) } else { chunks[a - 1].1 };
                    while start > floor && matches!(b[start - 1], b'(' | b'+' | b' ') {
                        start -= 1;
                    }
                    while b[start] == b' ' {
                        start += 1;
                    }
                    let plus = b[start..chunks[a].0].contains(&b'+');
                    let Some(kind) = classify_digits(&digits[..n], plus) else { continue };
                    let mut end = chunks[z].1;
                    let opened = b[start..end].iter().filter(|&&c| c == b'(').count();
                    let closed = b[start..end].iter().filter(|&&c| c == b')').count();
                    if opened > closed && b.get(end) == Some(&b')') {
                        end += 1;
                    }
                    // Inside a group the neighbours are separators; at its edges the
                    // number must not be glued to letters.
                    let range = copy.original(start..end);
                    let before_ok =
                        a > 0 || bounded_before(post, range.start) || found.iter().any(|(_, r)| r.end == start);
                    let after_ok =
                        z + 1 < m || bounded_after(post, range.end) || found.iter().any(|(_, r)| r.start == end);
                    if before_ok && after_ok {
                        found.push((kind, start..end));
                        taken = Some(z);
                        break;
                    }
                }
                a = taken.map_or(a + 1, |z| z + 1);
            }
        }
    }
}

/// Whether `text` may hold an email address written with "at" as a word or in brackets.
fn contains_at_word(text: &str) -> bool {
    let b = text.as_bytes();
    b.windows(4).any(|w| {
        (w[0] == b' ' || w[0] == b'\t' || w[0] == b'[' || w[0] == b'(' || w[0] == b'{' || w[0] == b'<')
            && w[1].eq_ignore_ascii_case(&b'a')
            && w[2].eq_ignore_ascii_case(&b't')
            && matches!(w[3], b' ' | b'\t' | b']' | b')' | b'}' | b'>')
    })
}

/// Replaces each redaction (sorted, non-overlapping) with its replacement text.
pub(crate) fn apply(text: &str, redactions: &[Redaction]) -> String {
    let mut out = String::with_capacity(text.len() + 16 * redactions.len());
    let mut at = 0;
    for r in redactions {
        out.push_str(&text[at..r.range.start]);
        out.push_str(r.kind.replacement());
        at = r.range.end;
    }
    out.push_str(&text[at..]);
    out
}

/// Not glued to a letter or digit before `start` in the post as written (an invisible
/// character in between counts as a gap: better to remove too much than too little).
fn bounded_before(post: &str, start: usize) -> bool {
    !post[..start].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_')
}

/// Not glued to a letter or digit after `end` in the post as written.
fn bounded_after(post: &str, end: usize) -> bool {
    !post[end..].chars().next().is_some_and(|c| c.is_alphanumeric() || c == '_')
}

/// UK numbers that belong to people: geographic (01, 02) and mobile (07).
fn personal_prefix(first: Option<&u8>) -> bool {
    matches!(first, Some(b'1' | b'2' | b'7'))
}

fn is_ordinal(inward: &[u8]) -> bool {
    let lower = [inward[0], inward[1].to_ascii_lowercase(), inward[2].to_ascii_lowercase()];
    matches!(&lower, [b'1', b's', b't'] | [b'2', b'n', b'd'] | [b'3', b'r', b'd'] | [b'0' | b'4'..=b'9', b't', b'h'])
}

/// Whether ten digits (with any separators) form a valid NHS number.
pub fn nhs_number_valid(s: &str) -> bool {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_digit).collect();
    nhs_digits_valid(&digits)
}

/// Whether ten ASCII digits form a valid NHS number: the modulus-11 check digit, and not
/// all the same digit.
fn nhs_digits_valid(digits: &[u8]) -> bool {
    if digits.len() != 10 || digits.iter().all(|&d| d == digits[0]) {
        return false;
    }
    let digits: Vec<u32> = digits.iter().map(|&d| u32::from(d.wrapping_sub(b'0'))).collect();
    if digits.iter().any(|&d| d > 9) {
        return false;
    }
    let sum: u32 = digits[..9].iter().enumerate().map(|(i, d)| d * (10 - i as u32)).sum();
    let check = match 11 - sum % 11 {
        11 => 0,
        10 => return false,
        c => c,
    };
    check == digits[9]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redact(text: &str) -> (String, Vec<PersonalData>) {
        let s = Scanner::new().unwrap();
        let mut r = Vec::new();
        s.scan(text, &mut r);
        (apply(text, &r), r.iter().map(|r| r.kind).collect())
    }

    #[test]
    fn nhs_check_digit() {
        assert!(nhs_number_valid("943 476 5919"));
        assert!(nhs_number_valid("9434765919"));
        assert!(nhs_number_valid("401-023-2137"));
        assert!(!nhs_number_valid("943 476 5918"));
        assert!(!nhs_number_valid("1111111111"));
        assert_eq!(redact("my nhs no is 943 476 5919").0, "my nhs no is [NHS number removed]");
        assert_eq!(redact("ref 943 476 5918").1, vec![]);
    }

    #[test]
    fn phones_in_every_grouping() {
        for phone in [
            "07700 900123",
            "07700900123",
            "07700 900 123",
            "0770 090 0123",
            "+44 7700 900123",
            "+447700900123",
            "+44 (0)7700 900123",
            "0044 7700 900123",
            "01632 960123",
            "(01632) 960123",
            "020 7946 0123",
            "0207 946 0123",
            "0113 496 0000",
            "0113-496-0000",
            "+44 20 7946 0123",
        ] {
            let (text, kinds) = redact(&format!("ring me on {phone} after 6"));
            assert_eq!(text, "ring me on [phone removed] after 6", "{phone}");
            assert_eq!(kinds, vec![PersonalData::Phone]);
        }
    }

    #[test]
    fn helplines_are_left_alone() {
        for text in [
            "call 111 option 2",
            "ring 999",
            "Samaritans on 116 123 or 116123",
            "text SHOUT to 85258",
            "the helpline is 0800 689 5652",
            "call 0300 123 3393",
        ] {
            assert_eq!(redact(text).1, vec![], "{text}");
        }
    }

    #[test]
    fn emails() {
        assert_eq!(redact("email jo.bloggs+nhs@example.co.uk please").0, "email [email removed] please");
        assert_eq!(redact("jo [at] example [dot] com").0, "[email removed]");
        assert_eq!(redact("jo.b at gmail dot com").0, "[email removed]");
        assert_eq!(redact("look at nhs dot uk").1, vec![]);
    }

    #[test]
    fn postcodes() {
        assert_eq!(redact("I live at LS1 4AP").0, "I live at [postcode removed]");
        assert_eq!(redact("SW1A 1AA").1, vec![PersonalData::Postcode]);
        assert_eq!(redact("m1 1ae").1, vec![PersonalData::Postcode]);
        assert_eq!(redact("bs81th").1, vec![PersonalData::Postcode]);
        assert_eq!(redact("near LS1 in Leeds").1, vec![]);
        assert_eq!(redact("my b12 3rd injection").1, vec![]);
        assert_eq!(redact("at 2 3pm").1, vec![]);
    }

    #[test]
    fn dates_of_birth() {
        assert_eq!(redact("DOB 12/03/1985").0, "DOB [date of birth removed]");
        assert_eq!(redact("born on 3rd March 1985").0, "born on [date of birth removed]");
        assert_eq!(redact("date of birth: 1985-03-12").0, "date of birth: [date of birth removed]");
        assert_eq!(redact("d.o.b. 3 Mar 85, seen today").0, "d.o.b. [date of birth removed], seen today");
        assert_eq!(redact("appointment on 12/03/2024").1, vec![]);
        assert_eq!(redact("born in 1985").1, vec![]);
    }
}

#[cfg(test)]
mod fuzz_regressions {
    use super::*;

    fn redact(text: &str) -> String {
        let s = Scanner::new().unwrap();
        let mut r = Vec::new();
        s.scan(text, &mut r);
        apply(text, &r)
    }

    /// Found by the `moderation` fuzz target: a number inside a group, right after a digit
    /// and a bracket, was left because the bracket was "glued" to the digit before it.
    #[test]
    fn numbers_later_in_a_group_are_found() {
        let once = redact(") 7'+44) 7700 900123(+44) 77+41167700 900103");
        assert_eq!(redact(&once), once);
        assert!(!once.contains("41167700"), "{once}");
    }

    /// Found by the `moderation` fuzz target: removing a name ("ms bth") left digits that
    /// had been glued to it standing alone, as a valid NHS number. Words glued to digits
    /// are not names, and numbers glued to another redaction are removed with it.
    #[test]
    fn removing_something_never_frees_a_number() {
        let once = redact("ms bth70022 (+ 70044 x");
        assert_eq!(redact(&once), once);
        assert_eq!(redact("jo@example.com9434765919"), "[email removed][NHS number removed]");
        // A digit group running into an email address stops where the address starts.
        let once = redact("(0)2!)0 9044 (/0)21++/0)21/01409/5bloggs@example.com");
        assert_eq!(redact(&once), once);
    }
}
