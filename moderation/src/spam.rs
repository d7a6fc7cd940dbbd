//! Spam: repeated posts, links, shouting, floods and promotional phrases.
//!
//! Runs on the redacted text, so an email address is never mistaken for a link.
//!
//! - **Repeated**: the same text (ignoring case and spacing) as one of the author's recent
//!   posts, when at least [`MIN_REPEAT_LEN`] characters long ("thanks" twice is fine). Held.
//! - **Links**: `http(s)://`, `www.` and bare domains with a common top-level domain. A link
//!   to an allowed domain or its subdomains (by default `nhs.uk`, `gov.uk`) passes; any
//!   other follows [`crate::LinkPolicy`] (held by default).
//! - **Shouting**: at least 20 letters, 70% or more of them capitals. Published with a
//!   reason by default (angry patients are not spammers); [`crate::Policy::hold_shouting`] holds it.
//! - **Floods**: the same character 12 or more times in a row (`!!!!!!!!!!!!`), 10 or more
//!   emoji making up half the post, or the same word six or more times in a row. Held.
//! - **Promotion**: phrases from `lists/spam.txt` ("click here", "crypto"). Held.

use regex::Regex;

use crate::normalise::is_invisible;

/// Posts shorter than this are never treated as repeats.
pub const MIN_REPEAT_LEN: usize = 12;

/// Compiled link pattern.
#[derive(Debug, Clone)]
pub(crate) struct LinkFinder {
    link: Regex,
}

impl LinkFinder {
    pub(crate) fn new() -> Result<Self, regex::Error> {
        Ok(LinkFinder {
            // ASCII word boundaries keep the DFA engines usable on non-ASCII posts.
            link: Regex::new(
                r"(?i)(?-u:\b)(?:https?://|www\.)[^\s<>()\[\]]+|(?-u:\b)(?:[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?\.)+(?:com|co\.uk|org\.uk|org|net|uk|io|ly|info|biz|xyz|ru|me|app|online|site|shop|club|top|link|click|gg|tk|to|co|us|eu|de)(?-u:\b)(?:/[^\s<>()]*)?",
            )?,
        })
    }

    /// Hosts of every link in `text`.
    pub(crate) fn hosts(&self, text: &str) -> Vec<String> {
        self.link
            .find_iter(text)
            .filter_map(|m| {
                // An email's domain is not a link (emails are redacted before this anyway).
                if m.start() > 0 && text.as_bytes()[m.start() - 1] == b'@' {
                    return None;
                }
                let s = m.as_str();
                let lower = s.to_ascii_lowercase();
                let rest = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://")).unwrap_or(&lower);
                // The host ends where a character that cannot be in one starts: a quote or
                // bracket around the link (`"www.nhs.uk"`), a possessive (`nhs.uk’s`), a path.
                let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '-' || c == '.')).unwrap_or(rest.len());
                let host = rest[..end].trim_end_matches('.');
                if host.is_empty() {
                    return None;
                }
                Some(host.strip_prefix("www.").unwrap_or(host).to_string())
            })
            .collect()
    }
}

/// Whether `host` is `domain` or one of its subdomains.
pub(crate) fn host_allowed(host: &str, allowed: &[String]) -> bool {
    allowed.iter().any(|d| {
        let d = d.trim_start_matches('.');
        host == d || (host.len() > d.len() && host.ends_with(d) && host.as_bytes()[host.len() - d.len() - 1] == b'.')
    })
}

/// Share of capitals among cased letters, when there are at least 20 letters.
pub(crate) fn shouting(text: &str) -> Option<f32> {
    let (mut upper, mut lower) = (0usize, 0usize);
    for c in text.chars() {
        if c.is_uppercase() {
            upper += 1;
        } else if c.is_lowercase() {
            lower += 1;
        }
    }
    let total = upper + lower;
    let share = upper as f32 / total.max(1) as f32;
    (total >= 20 && share >= 0.7).then_some(share)
}

fn is_emoji(c: char) -> bool {
    matches!(c as u32, 0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2B00..=0x2BFF)
}

/// A flood: one character repeated, emoji filling the post, or one word repeated.
pub(crate) fn flood(text: &str) -> bool {
    let (mut prev, mut run) = ('\0', 0usize);
    let (mut emoji, mut visible) = (0usize, 0usize);
    for c in text.chars() {
        if c.is_whitespace() {
            prev = '\0';
            continue;
        }
        visible += 1;
        if is_emoji(c) {
            emoji += 1;
        }
        if c == prev {
            run += 1;
            if run >= 12 {
                return true;
            }
        } else {
            prev = c;
            run = 1;
        }
    }
    if emoji >= 10 && emoji * 2 >= visible {
        return true;
    }
    let (mut last, mut repeats) = ("", 0usize);
    for word in text.split_whitespace() {
        let word = word.trim_matches(|c: char| !c.is_alphanumeric());
        if word.is_empty() {
            continue;
        }
        if word.eq_ignore_ascii_case(last) {
            repeats += 1;
            if repeats >= 6 {
                return true;
            }
        } else {
            last = word;
            repeats = 1;
        }
    }
    false
}

/// Case- and space-insensitive equality, for repeats; invisible characters (zero-width
/// spaces, bidi marks, [`is_invisible`]) are not read, so they cannot make a repeat look new.
pub(crate) fn same_text(a: &str, b: &str) -> bool {
    fn shown(s: &str) -> impl Iterator<Item = char> + '_ {
        s.split_whitespace().flat_map(str::chars).filter(|&c| !is_invisible(c)).flat_map(char::to_lowercase)
    }
    let (mut x, mut y) = (shown(a), shown(b));
    loop {
        match (x.next(), y.next()) {
            (None, None) => return true,
            (Some(p), Some(q)) if p == q => {}
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(text: &str) -> Vec<String> {
        LinkFinder::new().unwrap().hosts(text)
    }

    #[test]
    fn finds_links() {
        assert_eq!(hosts("see https://www.nhs.uk/conditions/ for more"), vec!["nhs.uk"]);
        assert_eq!(hosts("go to www.example.com now"), vec!["example.com"]);
        assert_eq!(hosts("bit.ly/abc and win"), vec!["bit.ly"]);
        assert_eq!(hosts("I waited 3.5 hours, e.g. at A&E"), Vec::<String>::new());
        assert_eq!(hosts("email [email removed]"), Vec::<String>::new());
        // Quotes, brackets and possessives around a link are not part of its host.
        assert_eq!(hosts("see \"https://www.nhs.uk\" today"), vec!["nhs.uk"]);
        assert_eq!(hosts("see \"www.nhs.uk\", then"), vec!["nhs.uk"]);
        assert_eq!(hosts("the 111.nhs.uk’s page"), vec!["111.nhs.uk"]);
        assert_eq!(hosts("(https://gov.uk/help)."), vec!["gov.uk"]);
        assert_eq!(hosts("visit 'www.example.com'"), vec!["example.com"]);
        assert_eq!(hosts("https://example.com:8080/x"), vec!["example.com"]);
    }

    #[test]
    fn allow_list_includes_subdomains() {
        let allowed = vec!["nhs.uk".to_string(), "gov.uk".to_string()];
        assert!(host_allowed("nhs.uk", &allowed));
        assert!(host_allowed("111.nhs.uk", &allowed));
        assert!(host_allowed("www.gov.uk", &allowed));
        assert!(!host_allowed("fakenhs.uk", &allowed));
        assert!(!host_allowed("nhs.uk.evil.com", &allowed));
    }

    #[test]
    fn shouting_needs_length_and_capitals() {
        assert!(shouting("WHY HAS NOBODY CALLED ME BACK ABOUT MY SCAN").is_some());
        assert!(shouting("NHS A&E GP").is_none());
        assert!(shouting("My GP at the NHS practice was lovely today").is_none());
    }

    #[test]
    fn floods() {
        assert!(flood("help!!!!!!!!!!!!!!!!"));
        assert!(flood("😡😡😡😡😡😡😡😡😡😡😡"));
        assert!(flood("spam spam spam spam spam spam"));
        assert!(!flood("I waited sooo long!!! 😡"));
        assert!(!flood("I had had enough"));
    }

    #[test]
    fn repeats_ignore_case_and_spacing() {
        assert!(same_text("The wait is too long", "the  wait is too LONG"));
        assert!(!same_text("The wait is too long", "The wait is too short"));
        assert!(same_text("The wait is too long", "The\u{200B} wait is\u{2060} too long\u{200B}"));
        assert!(same_text("\u{FEFF}The wait is too long", "the wait is\u{00AD} too long"));
    }
}
