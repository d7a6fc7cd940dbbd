//! The sentiment lexicon, read from `themes/lexicon/sentiment.txt`: single words, multi-word
//! idioms (British and health-service usage), intensifiers and negators.

use std::sync::OnceLock;

/// The lexicon file shipped with parley.
pub(crate) const SENTIMENT_LEXICON: &str = include_str!("../lexicon/sentiment.txt");

/// A parsed lexicon. Entries keep the file's order.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Lexicon {
    pub words: Vec<(String, f32)>,
    pub idioms: Vec<(String, f32)>,
    pub intensifiers: Vec<(String, f32)>,
    pub negators: Vec<String>,
}

impl Lexicon {
    /// The shipped lexicon.
    pub fn embedded() -> &'static Lexicon {
        static LEXICON: OnceLock<Lexicon> = OnceLock::new();
        #[allow(clippy::expect_used)] // embedded file, covered by tests
        LEXICON.get_or_init(|| Lexicon::parse(SENTIMENT_LEXICON).expect("the embedded lexicon is valid"))
    }

    /// Parses the lexicon format: `[section]` lines, `key = value` entries (negators: one
    /// word a line), `#` comments. A key repeated within a section is an error naming both
    /// lines, so no entry can silently override another.
    pub fn parse(text: &str) -> Result<Lexicon, String> {
        let mut lex = Lexicon::default();
        let mut section = "";
        let mut seen: std::collections::HashMap<(String, String), usize> = std::collections::HashMap::new();
        for (i, raw) in text.lines().enumerate() {
            let n = i + 1;
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = match name {
                    "words" | "idioms" | "intensifiers" | "negators" => name,
                    other => return Err(format!("line {n}: unknown section [{other}]")),
                };
                continue;
            }
            let (key, value) = if section == "negators" {
                (line.to_owned(), None)
            } else {
                let (k, v) = line.split_once('=').ok_or_else(|| format!("line {n}: expected `key = value`"))?;
                let v: f32 = v.trim().parse().map_err(|_| format!("line {n}: `{}` is not a number", v.trim()))?;
                if !v.is_finite() {
                    return Err(format!("line {n}: `{v}` is not a finite number"));
                }
                (k.trim().to_lowercase(), Some(v))
            };
            if key.is_empty() {
                return Err(format!("line {n}: empty key"));
            }
            if section.is_empty() {
                return Err(format!("line {n}: entry before any [section]"));
            }
            if let Some(first) = seen.insert((section.to_owned(), key.clone()), n) {
                return Err(format!("line {n}: `{key}` is already in [{section}] at line {first}"));
            }
            match (section, value) {
                ("words", Some(v)) => lex.words.push((key, v)),
                ("idioms", Some(v)) => lex.idioms.push((key, v)),
                ("intensifiers", Some(v)) => lex.intensifiers.push((key, v)),
                _ => lex.negators.push(key),
            }
        }
        Ok(lex)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_lexicon_parses_without_duplicates() {
        let lex = Lexicon::parse(SENTIMENT_LEXICON).unwrap();
        assert!(lex.words.len() > 300 && lex.idioms.len() > 100, "{} {}", lex.words.len(), lex.idioms.len());
        assert!(lex.negators.iter().any(|n| n == "not"));
        assert_eq!(lex.words.iter().filter(|(w, _)| w == "missed").count(), 1);
        assert!(lex.intensifiers.iter().any(|(w, v)| w == "very" && *v > 1.0));
    }

    #[test]
    fn duplicate_keys_are_rejected() {
        let e = Lexicon::parse("[words]\nmissed = -1.2\ngood = 1\nmissed = -1.5\n").unwrap_err();
        assert!(e.contains("line 4") && e.contains("missed") && e.contains("line 2"), "{e}");
        let e = Lexicon::parse("[negators]\nnot\nnever\nnot\n").unwrap_err();
        assert!(e.contains("`not`"), "{e}");
        // The same key in different sections is fine.
        assert!(Lexicon::parse("[words]\nso = 1\n[intensifiers]\nso = 1.3\n").is_ok());
    }

    #[test]
    fn malformed_lines_name_the_line() {
        assert!(Lexicon::parse("[words]\ngood 1.9\n").unwrap_err().contains("line 2"));
        assert!(Lexicon::parse("[words]\ngood = high\n").unwrap_err().contains("`high`"));
        assert!(Lexicon::parse("good = 1\n").unwrap_err().contains("before any"));
        assert!(Lexicon::parse("[feelings]\n").unwrap_err().contains("unknown section"));
    }
}
