//! Crisis detection on the raw post: suicide, self-harm, immediate danger, disclosures of
//! abuse. Runs first, on text that has only been lower-cased, had curly apostrophes
//! straightened and whitespace collapsed, so that nothing downstream (normalisation,
//! redaction, the abuse list) can hide or punish a cry for help: "I want to kill myself"
//! is a crisis, not a threat.
//!
//! Patterns live in `lists/crisis.txt`. A [`regex::RegexSet`] finds in one pass which
//! patterns can match; only those are run again for positions, to drop matches that are
//! negated ("I'm not suicidal") or whose sentence has a guard word for the kind
//! ("nearly killed myself laughing", "cut myself shaving").

use regex::{Regex, RegexSet};

/// One compiled crisis pattern.
#[derive(Debug, Clone)]
struct Pattern {
    kind: &'static str,
    score: f32,
    regex: Regex,
}

/// A crisis signal found in a post.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Signal {
    pub(crate) kind: &'static str,
    pub(crate) score: f32,
}

/// Compiled crisis patterns.
#[derive(Debug, Clone)]
pub(crate) struct CrisisDetector {
    set: RegexSet,
    patterns: Vec<Pattern>,
}

const MACROS: &[(&str, &str)] = &[
    ("{IM}", r"(?:i'?m|i am)"),
    ("{IVE}", r"(?:i'?ve|i have)"),
    ("{CANT}", r"(?:can'?t|cannot|can not)"),
    ("{DONT}", r"(?:don'?t|do not)"),
    ("{SUI}", r"(?:suicid|sucid|suicd|suisid|suiced)"),
    (
        "{PILLS}",
        r"(?:tablets|pills|paracetamol|paracetamols|meds|medication|painkillers|sleeping pills|sleeping tablets|co-codamol|codeine|antidepressants|sertraline|citalopram|insulin|my prescription)",
    ),
    (
        "{REL}",
        r"(?:partner|husband|hubby|wife|boyfriend|bf|girlfriend|gf|fiance|fiancee|ex|ex partner|ex husband|ex wife|dad|father|stepdad|step dad|mum|mom|mother|stepmum|step mum|brother|sister|son|daughter|carer|uncle|aunt|grandad|landlord|flatmate|husbands|boyfriends)",
    ),
    (
        "{KIN}",
        r"(?:son|daughter|child|kid|teenager|teen|friend|best friend|mate|mum|mom|dad|partner|husband|wife|brother|sister|boyfriend|girlfriend|grandson|granddaughter|nephew|niece)",
    ),
    (
        "{HIT}",
        r"(?:hits|hit|beats|beat|punches|punched|kicks|kicked|slaps|slapped|strangles|strangled|chokes|choked|hurts|hurt|abuses|abused|rapes|raped|touches|touched|threatens|threatened)",
    ),
];

/// Words that, just before a match, negate it.
const NEGATIONS: &[&str] = &[
    "not", "never", "no", "don't", "dont", "didn't", "didnt", "won't", "wont", "isn't", "wasn't", "haven't", "havent",
    "hasn't", "nor",
];

/// Words that, in the same sentence, show a match is not a crisis of that kind.
fn guarded(kind: &str, sentence: &str) -> bool {
    let words: &[&str] = match kind {
        "suicide" => &["laugh", "joking", "kidding"],
        "self_harm" => &[
            "shaving",
            "cooking",
            "chopping",
            "kitchen",
            "garden",
            "fell",
            "falling",
            "slipped",
            "tripped",
            "accident",
            "gym",
            "football",
            "lifting",
            "running",
            "exercise",
            "workout",
            "shave",
            "myself on ",
            "tin can",
            "glued",
        ],
        _ => &[],
    };
    words.iter().any(|w| sentence.contains(w))
}

impl CrisisDetector {
    /// Compiles `lines` (`kind<TAB>score<TAB>regex`). Errors name the bad line.
    pub(crate) fn parse(source: &'static str) -> Result<Self, String> {
        let mut patterns = Vec::new();
        for (n, line) in source.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let mut fields = line.splitn(3, '\t');
            let (Some(kind), Some(score), Some(re)) = (fields.next(), fields.next(), fields.next()) else {
                return Err(format!("crisis list line {}: expected three tab-separated fields", n + 1));
            };
            let score: f32 = score.parse().map_err(|_| format!("crisis list line {}: bad score", n + 1))?;
            let mut re = re.to_string();
            for (name, body) in MACROS {
                re = re.replace(name, body);
            }
            // ASCII word boundaries keep the fast DFA engines usable on non-ASCII posts.
            let re = re.replace(r"\b", r"(?-u:\b)");
            let regex = Regex::new(&re).map_err(|e| format!("crisis list line {}: {e}", n + 1))?;
            patterns.push(Pattern { kind, score, regex });
        }
        let set = RegexSet::new(patterns.iter().map(|p| p.regex.as_str())).map_err(|e| e.to_string())?;
        Ok(CrisisDetector { set, patterns })
    }

    /// The strongest signal in `raw`, whatever its score.
    pub(crate) fn detect(&self, raw: &str) -> Option<Signal> {
        let text = prepare(raw);
        let matched = self.set.matches(&text);
        if !matched.matched_any() {
            return None;
        }
        let mut best: Option<Signal> = None;
        let mut strong = 0usize;
        for i in matched.iter() {
            let p = &self.patterns[i];
            let valid = p
                .regex
                .find_iter(&text)
                .any(|m| !negated(&text[..m.start()]) && !guarded(p.kind, sentence(&text, m.start(), m.end())));
            if !valid {
                continue;
            }
            if p.score >= 0.5 {
                strong += 1;
            }
            if best.as_ref().is_none_or(|b| p.score > b.score) {
                best = Some(Signal { kind: p.kind, score: p.score });
            }
        }
        // Several independent strong signals make the strongest one more certain.
        best.map(|mut b| {
            if strong > 1 {
                b.score = (b.score + 0.05 * (strong - 1) as f32).min(1.0);
            }
            b
        })
    }
}

/// Lower-cases, straightens apostrophes and collapses whitespace.
fn prepare(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut space = false;
    for c in raw.chars() {
        let c = match c {
            '\u{2019}' | '\u{2018}' | '\u{02BC}' | '`' | '\u{00B4}' => '\'',
            c if c.is_whitespace() => ' ',
            c => c,
        };
        if c == ' ' {
            if !space {
                out.push(' ');
            }
            space = true;
            continue;
        }
        space = false;
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// Whether one of the two words before a match negates it.
fn negated(before: &str) -> bool {
    before
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .rev()
        .filter(|w| !w.is_empty())
        .take(2)
        .any(|w| NEGATIONS.contains(&w))
}

/// The sentence around `start..end`.
fn sentence(text: &str, start: usize, end: usize) -> &str {
    let is_stop = |c: char| matches!(c, '.' | '!' | '?' | '\n' | ';');
    let from = text[..start].rfind(is_stop).map_or(0, |i| i + 1);
    let to = text[end..].find(is_stop).map_or(text.len(), |i| end + i);
    &text[from..to]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detector() -> CrisisDetector {
        CrisisDetector::parse(include_str!("../lists/crisis.txt")).unwrap()
    }

    fn kind(text: &str) -> Option<&'static str> {
        detector().detect(text).filter(|s| s.score >= 0.5).map(|s| s.kind)
    }

    #[test]
    fn list_compiles() {
        assert!(detector().patterns.len() > 40);
    }

    #[test]
    fn direct_and_indirect() {
        assert_eq!(kind("I want to kill myself"), Some("suicide"));
        assert_eq!(kind("I can’t go on"), Some("suicide"));
        assert_eq!(kind("there's no reason to live anymore"), Some("suicide"));
        assert_eq!(kind("everyone would be better off without me"), Some("suicide"));
        assert_eq!(kind("I've been cutting again"), Some("self_harm"));
        assert_eq!(kind("took a load of tablets an hour ago"), Some("self_harm"));
        assert_eq!(kind("my partner hits me when he drinks"), Some("abuse_disclosure"));
        assert_eq!(kind("he says he's going to kill me"), Some("danger"));
        assert_eq!(kind("I'm feeling really suicidal tonight"), Some("suicide"));
    }

    #[test]
    fn health_talk_is_not_crisis() {
        for text in [
            "the killer was the wait",
            "I was dying to see a doctor",
            "my back is killing me",
            "suicide prevention services should be funded better",
            "I'm not suicidal, just fed up with the wait",
            "I nearly killed myself laughing at the receptionist's face",
            "cut myself shaving this morning",
            "the NHS can't go on like this",
            "I thought I was going to die of boredom in A&E",
            "I take a lot of tablets for my heart",
        ] {
            assert_eq!(kind(text), None, "{text}");
        }
    }

    #[test]
    fn low_scores_are_mentions() {
        let s = detector().detect("Suicide prevention services should be funded better").unwrap();
        assert!(s.score < 0.5);
    }
}
