//! Word and phrase lists with severities, matched whole-word on the normalised stream.
//!
//! The same machinery serves the abuse list (`lists/abuse.txt`) and the promotional-spam
//! list (`lists/spam.txt`). Lines are `phrase<TAB>severity<TAB>category`; `#` starts a
//! comment. Each phrase is normalised exactly like a post and padded with spaces, and one
//! Aho-Corasick automaton finds every padded phrase in one pass, so "cockpit", "Scunthorpe",
//! "analysis" and "assessment" cannot match a shorter listed word.

use std::collections::HashSet;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::normalise::{normalise, MaskVocabulary, Normalised};
use crate::Severity;

/// One list entry.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// Normalised phrase, without padding.
    pub(crate) phrase: String,
    pub(crate) severity: Severity,
    pub(crate) category: String,
}

/// A compiled phrase list.
#[derive(Debug, Clone)]
pub(crate) struct PhraseList {
    entries: Vec<Entry>,
    automaton: AhoCorasick,
}

/// A list line that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadLine {
    pub(crate) line: usize,
    pub(crate) text: String,
}

struct NoVocabulary;
impl MaskVocabulary for NoVocabulary {
    fn unmask(&self, _masked: &str) -> Option<&str> {
        None
    }
}

impl PhraseList {
    /// Parses and compiles a list. Bad lines are returned rather than silently dropped.
    pub(crate) fn parse(source: &str) -> Result<Self, BadLine> {
        let mut entries = Vec::new();
        for (n, line) in source.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let bad = || BadLine { line: n + 1, text: line.to_string() };
            let mut fields = line.split('\t');
            let (Some(phrase), Some(severity), category) = (fields.next(), fields.next(), fields.next()) else {
                return Err(bad());
            };
            let severity = match severity.trim() {
                "mild" => Severity::Mild,
                "moderate" => Severity::Moderate,
                "severe" => Severity::Severe,
                _ => return Err(bad()),
            };
            let normalised = normalise(phrase, &NoVocabulary).primary;
            let phrase = normalised.trim().to_string();
            if phrase.is_empty() {
                return Err(bad());
            }
            entries.push(Entry { phrase, severity, category: category.unwrap_or("other").trim().to_string() });
        }
        let patterns: Vec<String> = entries.iter().map(|e| format!(" {} ", e.phrase)).collect();
        let automaton = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            .map_err(|e| BadLine { line: 0, text: e.to_string() })?;
        Ok(PhraseList { entries, automaton })
    }

    pub(crate) fn entry(&self, index: usize) -> &Entry {
        &self.entries[index]
    }

    /// Indices of every entry found in either stream, without duplicates.
    pub(crate) fn find(&self, streams: &Normalised, hits: &mut Vec<usize>) {
        hits.clear();
        let mut scan = |stream: &str| {
            for m in self.automaton.find_overlapping_iter(stream) {
                let i = m.pattern().as_usize();
                if !hits.contains(&i) {
                    hits.push(i);
                }
            }
        };
        scan(&streams.primary);
        if let Some(alt) = &streams.alternate {
            scan(alt);
        }
        for visual in &streams.visual {
            scan(visual);
        }
    }

    /// The worst entry found, if any.
    pub(crate) fn worst(&self, streams: &Normalised) -> Option<&Entry> {
        let mut hits = Vec::new();
        self.find(streams, &mut hits);
        hits.iter().map(|&i| &self.entries[i]).max_by_key(|e| e.severity)
    }
}

/// Vocabulary for masked words: every single-word entry of the given lists.
#[derive(Debug, Clone, Default)]
pub(crate) struct Vocabulary {
    words: Vec<String>,
    /// Every word of four letters or more in any entry (single words and the words of
    /// phrases), for rebuilding split words (`fu ck`, `kill your self`).
    joinable: HashSet<String>,
    /// For each byte length up to 31, a bit per first letter `a`–`z` of the joinable words.
    first_letters: [u32; 32],
}

impl Vocabulary {
    pub(crate) fn from_lists(lists: &[&PhraseList]) -> Self {
        let mut entries: Vec<&Entry> =
            lists.iter().flat_map(|l| l.entries.iter()).filter(|e| !e.phrase.contains(' ')).collect();
        // Prefer the worse reading when a mask is ambiguous.
        entries.sort_by_key(|e| std::cmp::Reverse(e.severity));
        let mut words: Vec<String> = Vec::new();
        for e in entries {
            if !words.contains(&e.phrase) {
                words.push(e.phrase.clone());
            }
        }
        let mut joinable: HashSet<String> = HashSet::new();
        for e in lists.iter().flat_map(|l| l.entries.iter()) {
            for w in e.phrase.split(' ') {
                if w.len() >= 4 {
                    joinable.insert(w.to_string());
                }
            }
        }
        let mut first_letters = [0u32; 32];
        for w in &joinable {
            if let (Some(slot), Some(bit)) = (first_letters.get_mut(w.len()), letter_bit(w.chars().next())) {
                *slot |= bit;
            }
        }
        Vocabulary { words, joinable, first_letters }
    }
}

fn letter_bit(c: Option<char>) -> Option<u32> {
    c.filter(char::is_ascii_lowercase).map(|c| 1 << (c as u32 - 'a' as u32))
}

impl MaskVocabulary for Vocabulary {
    fn is_word(&self, word: &str) -> bool {
        self.joinable.contains(word)
    }

    fn may_be_word(&self, len: usize, first: char) -> bool {
        match (self.first_letters.get(len), letter_bit(Some(first))) {
            (Some(slot), Some(bit)) => slot & bit != 0,
            _ => false,
        }
    }

    fn unmask(&self, masked: &str) -> Option<&str> {
        let stars = masked.chars().filter(|&c| c == '*').count();
        let len = masked.chars().count();
        // At least one visible letter; short words may hide only one.
        if stars == 0 || stars == len || len < 3 || (len == 3 && stars > 1) {
            return None;
        }
        self.words
            .iter()
            .map(String::as_str)
            .find(|w| w.chars().count() == len && w.chars().zip(masked.chars()).all(|(a, b)| b == '*' || a == b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ABUSE: &str = include_str!("../lists/abuse.txt");
    const SPAM: &str = include_str!("../lists/spam.txt");

    fn list() -> (PhraseList, Vocabulary) {
        let l = PhraseList::parse(ABUSE).unwrap();
        let v = Vocabulary::from_lists(&[&l]);
        (l, v)
    }

    fn worst(text: &str) -> Option<Severity> {
        let (l, v) = list();
        l.worst(&normalise(text, &v)).map(|e| e.severity)
    }

    #[test]
    fn embedded_lists_parse() {
        assert!(PhraseList::parse(ABUSE).is_ok());
        assert!(PhraseList::parse(SPAM).is_ok());
        assert_eq!(PhraseList::parse("word\tawful\tx").unwrap_err().line, 1);
    }

    #[test]
    fn severities() {
        assert_eq!(worst("the bloody wait"), Some(Severity::Mild));
        assert_eq!(worst("you are a twat"), Some(Severity::Moderate));
        assert_eq!(worst("go kill yourself"), Some(Severity::Severe));
        assert_eq!(worst("I'll kill you"), Some(Severity::Severe));
        assert_eq!(worst("kys"), Some(Severity::Severe));
    }

    #[test]
    fn evasions() {
        assert_eq!(worst("f u c k this"), Some(Severity::Moderate));
        assert_eq!(worst("ｆｕｃｋ"), Some(Severity::Moderate));
        assert_eq!(worst("fuuuuuck"), Some(Severity::Moderate));
        assert_eq!(worst("c*nt"), Some(Severity::Moderate));
        assert_eq!(worst("sh1t"), Some(Severity::Mild));
        assert_eq!(worst("k1ll yourself"), Some(Severity::Severe));
        assert_eq!(worst("кys"), Some(Severity::Severe));
    }

    #[test]
    fn whole_words_only() {
        for benign in [
            "Scunthorpe general",
            "blood analysis came back",
            "the cockpit",
            "Essex",
            "my assessment",
            "shitake mushrooms",
            "smear test",
            "anal fissure",
            "a finger prick test",
            "breast clinic",
            "sexual health clinic",
            "the killer was the wait",
            "I was shot down by the receptionist",
            "I want to kill myself",
            "classic",
            "Dickens",
            "passport",
            "cocktail",
        ] {
            assert_eq!(worst(benign), None, "{benign}");
        }
    }

    #[test]
    fn ambiguous_masks_take_the_worse_reading() {
        let (_, v) = list();
        assert_eq!(v.unmask("f**k"), Some("fuck"));
        assert_eq!(v.unmask("****"), None);
        assert_eq!(v.unmask("**"), None);
    }
}
