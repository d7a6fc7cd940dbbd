//! Personal-data redaction: NHS numbers, UK phone numbers, emails, postcodes, dates of birth.
//!
//! Works on the post as written (not the normalised stream), so byte ranges are real and
//! the published text keeps its wording. Rules, and what is deliberately left alone:
//!
//! - **NHS numbers**: ten digits, plain or grouped 3-3-4 with spaces or dashes, that pass
//!   the modulus-11 check digit. Ten digits that fail the check are not NHS numbers.
//! - **Phone numbers**: UK numbers starting `01`, `02` or `07` (geographic and mobile, the
//!   ones that belong to people), in national form with any grouping, parentheses round the
//!   area code, dots or dashes, or in `+44`/`0044` form with or without `(0)`. Non-geographic
//!   and freephone numbers (`03`, `08`, `09`: NHS bodies, charities, helplines) are left
//!   alone, as are short codes such as 999, 111, 116 123 and 85258, which are too short to
//!   match. Numbers in other countries' formats are not recognised.
//! - **Emails**: ordinary addresses, and `name [at] domain [dot] com` forms; `name at
//!   gmail dot com` only for well-known mail providers.
//! - **Postcodes**: full UK postcodes, any case, with or without the space. An outward code
//!   alone ("LS1", "SW1A") names an area shared by thousands and is left alone, as is an
//!   ordinal after it ("b12 3rd" is vitamin B12, third time).
//! - **Dates of birth**: a date after a birth cue ("DOB", "date of birth", "born on",
//!   "birthday is"); only the date is replaced. Dates without a cue (appointments) and a
//!   month or year alone ("born in 1985") are left alone.

use std::ops::Range;

use regex::Regex;

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
        }
    }
}

/// One piece of personal data removed from a post.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Redaction {
    /// What was removed.
    pub kind: PersonalData,
    /// Byte range in the text that was scanned: the post as given, or its NFKC form when
    /// the post had fullwidth or other non-ASCII digits (see [`crate::Verdict::text`]).
    pub range: Range<usize>,
}

/// Compiled personal-data patterns.
#[derive(Debug, Clone)]
pub(crate) struct Scanner {
    nhs: Regex,
    phone_national: Regex,
    phone_international: Regex,
    email: Regex,
    email_obfuscated: Regex,
    postcode: Regex,
    date_of_birth: Regex,
}

const MONTH: &str = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?";

/// Compiles with ASCII word boundaries, which keep the fast DFA engines usable on
/// non-ASCII posts (a Unicode `\b` makes them give up at the first non-ASCII byte).
fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    Regex::new(&pattern.replace(r"\b", r"(?-u:\b)"))
}

impl Scanner {
    pub(crate) fn new() -> Result<Self, regex::Error> {
        // Between two digits of a phone number: nothing, a space, dot or dash, or the
        // closing parenthesis of an area code.
        let sep = r"(?:\) ?|[ .\-])?";
        let day = r"[0-9]{1,2}(?:st|nd|rd|th)?";
        let date = format!(
            r"(?:[0-9]{{1,2}}[/.\-][0-9]{{1,2}}[/.\-](?:[0-9]{{4}}|[0-9]{{2}})\b|[0-9]{{4}}[/.\-][0-9]{{1,2}}[/.\-][0-9]{{1,2}}\b|{day}(?:\s+of)?\s+{MONTH}\b,?(?:\s+'?[0-9]{{4}}\b|\s+'?[0-9]{{2}}\b)?|{MONTH}\s+{day}\b,?(?:\s+[0-9]{{4}}\b)?)"
        );
        Ok(Scanner {
            nhs: compile(r"[0-9]{3}[ \-]?[0-9]{3}[ \-]?[0-9]{4}")?,
            phone_national: compile(&format!(r"\(?0[0-9](?:{sep}[0-9]){{8,9}}"))?,
            phone_international: compile(&format!(
                r"(?:\+ ?|\b00 ?)44 ?(?:\(0\) ?|0 ?)?\(?[1-9](?:{sep}[0-9]){{8,9}}"
            ))?,
            email: compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")?,
            email_obfuscated: compile(
                r"(?i)\b[a-z0-9._%+\-]+ ?(?:(?:\[at\]|\(at\)|\{at\}) ?[a-z0-9\-]+|at (?:gmail|googlemail|hotmail|yahoo|outlook|icloud|live|btinternet|aol|protonmail)|at nhs(?: ?\.| dot ) ?net)(?: ?(?:\.|\[dot\]|\(dot\)|\{dot\}| dot ) ?[a-z]{2,6}\b)+",
            )?,
            postcode: compile(r"(?i)\b[a-z]{1,2}[0-9][a-z0-9]? ?[0-9][abd-hjlnp-uw-z]{2}\b")?,
            date_of_birth: compile(&format!(
                r"(?i)\b(?:d\.? ?o\.? ?b\b\.?|date of birth|birth ?date|born(?:\s+on)?|birthday(?:\s+is)?)(?:\s*(?:is|was|:|-|=|on|the|,)\b?)*\s*({date})"
            ))?,
        })
    }

    /// Finds personal data in `text`, appending non-overlapping redactions in order.
    pub(crate) fn scan(&self, text: &str, out: &mut Vec<Redaction>) {
        out.clear();
        let bytes = text.as_bytes();
        let has_digit = bytes.iter().any(u8::is_ascii_digit);
        let mut push = |kind, range: Range<usize>| out.push(Redaction { kind, range });

        if has_digit {
            for m in self.nhs.find_iter(text) {
                if bounded(bytes, m.start(), m.end()) && nhs_number_valid(m.as_str()) {
                    push(PersonalData::NhsNumber, m.range());
                }
            }
            for m in self.phone_international.find_iter(text) {
                let digits: Vec<u8> = m.as_str().bytes().filter(u8::is_ascii_digit).collect();
                // Digits after the country code, without a trunk 0.
                let after_code = if digits.starts_with(b"0044") { 4 } else { 2 };
                let national = match digits.get(after_code..) {
                    Some([b'0', rest @ ..]) => rest,
                    Some(rest) => rest,
                    None => continue,
                };
                if after_ok(bytes, m.end()) && personal_prefix(national.first()) {
                    push(PersonalData::Phone, m.range());
                }
            }
            for m in self.phone_national.find_iter(text) {
                let second = m.as_str().bytes().filter(u8::is_ascii_digit).nth(1);
                if bounded(bytes, m.start(), m.end()) && personal_prefix(second.as_ref()) && !m.as_str().ends_with(')')
                {
                    push(PersonalData::Phone, m.range());
                }
            }
            for m in self.postcode.find_iter(text) {
                let s = m.as_str().as_bytes();
                let inward = &s[s.len() - 3..];
                if !is_ordinal(inward) {
                    push(PersonalData::Postcode, m.range());
                }
            }
            for c in self.date_of_birth.captures_iter(text) {
                if let Some(m) = c.get(1) {
                    push(PersonalData::DateOfBirth, m.range());
                }
            }
        }
        if text.contains('@') {
            for m in self.email.find_iter(text) {
                push(PersonalData::Email, m.range());
            }
        }
        if text.contains(" at") || text.contains("[at]") || text.contains("(at)") || text.contains("{at}") {
            for m in self.email_obfuscated.find_iter(text) {
                push(PersonalData::Email, m.range());
            }
        }

        // Earliest first, longest first at the same start; drop anything overlapping.
        out.sort_by(|a, b| a.range.start.cmp(&b.range.start).then(b.range.end.cmp(&a.range.end)));
        let mut end = 0;
        out.retain(|r| {
            let keep = r.range.start >= end;
            if keep {
                end = r.range.end;
            }
            keep
        });
    }
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

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn after_ok(bytes: &[u8], end: usize) -> bool {
    bytes.get(end).is_none_or(|&b| !is_word_byte(b))
}

/// Not glued to letters, digits or a `+` on either side.
fn bounded(bytes: &[u8], start: usize, end: usize) -> bool {
    let before_ok = start == 0 || {
        let b = bytes[start - 1];
        !is_word_byte(b) && b != b'+'
    };
    before_ok && after_ok(bytes, end)
}

/// UK numbers that belong to people: geographic (01, 02) and mobile (07).
fn personal_prefix(first: Option<&u8>) -> bool {
    matches!(first, Some(b'1' | b'2' | b'7'))
}

fn is_ordinal(inward: &[u8]) -> bool {
    let lower = [inward[0], inward[1].to_ascii_lowercase(), inward[2].to_ascii_lowercase()];
    matches!(&lower, [b'1', b's', b't'] | [b'2', b'n', b'd'] | [b'3', b'r', b'd'] | [b'0' | b'4'..=b'9', b't', b'h'])
}

/// Whether ten digits (with any spaces or dashes) form a valid NHS number.
pub(crate) fn nhs_number_valid(s: &str) -> bool {
    let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    if digits.len() != 10 || digits.iter().all(|&d| d == digits[0]) {
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
