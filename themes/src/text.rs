//! Tokenising, negation expansion and stemming shared by theme matching, sentiment
//! and keyphrase extraction.

use rust_stemmers::{Algorithm, Stemmer};

/// One word of a post, lowercased, with its stem and position in the text's structure.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub word: String,
    pub stem: String,
    /// Sentence number; phrases never match across sentences.
    pub sentence: u32,
    /// Clause number (commas, brackets and contrast words start a clause); negation
    /// does not reach across clauses.
    pub clause: u32,
    /// Segment number (sentences split at contrast words such as "but"); the unit of
    /// sentiment attribution to themes.
    pub segment: u32,
}

/// How a segment relates to its neighbours, which changes its weight in the overall
/// sentiment ("X was fine but Y was awful" is mostly about Y).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SegmentKind {
    Plain,
    /// Starts with "but", "however", "yet": what follows the contrast dominates.
    Contrast,
    /// Starts with "although", "though", "whilst", "while", "despite": a concession.
    Concession,
}

#[derive(Debug, Clone)]
pub(crate) struct Segment {
    pub kind: SegmentKind,
    pub sentence: u32,
    /// The sentence ends in a question mark.
    pub question: bool,
    /// Number of exclamation marks ending the sentence.
    pub exclamations: u8,
}

#[derive(Debug, Default)]
pub(crate) struct Tokens {
    pub tokens: Vec<Token>,
    pub segments: Vec<Segment>,
}

/// Words written without apostrophes that are really "x not".
fn bare_negation(word: &str) -> Option<&'static str> {
    Some(match word {
        "dont" => "do",
        "didnt" => "did",
        "doesnt" => "does",
        "cant" => "can",
        "cannot" => "can",
        "couldnt" => "could",
        "wouldnt" => "would",
        "shouldnt" => "should",
        "wasnt" => "was",
        "werent" => "were",
        "isnt" => "is",
        "arent" => "are",
        "havent" => "have",
        "hasnt" => "has",
        "hadnt" => "had",
        "wont" => "will",
        "aint" => "is",
        "mustnt" => "must",
        "neednt" => "need",
        _ => return None,
    })
}

fn contraction_base(stem: &str) -> &str {
    match stem {
        "ca" => "can",
        "wo" => "will",
        "sha" => "shall",
        "ai" => "is",
        other => other,
    }
}

fn segment_kind(word: &str) -> Option<SegmentKind> {
    match word {
        "but" | "however" | "yet" | "though_" => Some(SegmentKind::Contrast),
        "although" | "though" | "whilst" | "while" | "despite" | "whereas" => Some(SegmentKind::Concession),
        _ => None,
    }
}

pub(crate) struct Tokenizer {
    stemmer: Stemmer,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokenizer(english)")
    }
}

impl Default for Tokenizer {
    fn default() -> Self {
        Tokenizer { stemmer: Stemmer::create(Algorithm::English) }
    }
}

struct State {
    out: Tokens,
    sentence: u32,
    clause: u32,
    segment: u32,
    pending_sentence_break: bool,
    pending_clause_break: bool,
}

/// Slots of each thread's stem cache (a power of two).
const STEM_SLOTS: usize = 4096;
/// Longer words are stemmed every time (they are rare, and the cache stays small).
const STEM_CACHED_LEN: usize = 24;

/// A cached word and its stem.
type StemSlot = Option<(Box<str>, Box<str>)>;

thread_local! {
    /// Words recently stemmed on this thread and their stems, one per slot chosen by the
    /// word's hash (a word whose slot is taken replaces the one there). Stemming is a pure
    /// function of the word, and the same words recur in every post ("the", "appointment"),
    /// so this changes no stem. Its memory is bounded whatever the posts say: under 100
    /// bytes a slot, 400 KB a thread that analyses.
    static STEMS: std::cell::RefCell<Vec<StemSlot>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Tokenizer {
    pub fn stem(&self, word: &str) -> String {
        if word.len() > STEM_CACHED_LEN {
            return self.stemmer.stem(word).into_owned();
        }
        let slot = {
            use std::hash::BuildHasher;
            rustc_hash::FxBuildHasher.hash_one(word) as usize & (STEM_SLOTS - 1)
        };
        STEMS.with(|cache| {
            let Ok(mut cache) = cache.try_borrow_mut() else {
                return self.stemmer.stem(word).into_owned();
            };
            if cache.is_empty() {
                cache.resize(STEM_SLOTS, None);
            }
            if let Some((w, stem)) = &cache[slot] {
                if **w == *word {
                    return stem.to_string();
                }
            }
            let stem = self.stemmer.stem(word).into_owned();
            cache[slot] = Some((word.into(), stem.as_str().into()));
            stem
        })
    }

    /// Tokenises a phrase from a taxonomy or lexicon into stems; `*` stays a wildcard.
    pub fn phrase_stems(&self, phrase: &str) -> Vec<String> {
        if phrase.trim() == "£" {
            return vec!["£".to_owned()];
        }
        self.tokenize(phrase).tokens.into_iter().map(|t| t.stem).collect()
    }

    pub fn tokenize(&self, text: &str) -> Tokens {
        let mut st = State {
            out: Tokens::default(),
            sentence: 0,
            clause: 0,
            segment: 0,
            pending_sentence_break: false,
            pending_clause_break: false,
        };
        st.out.segments.push(Segment { kind: SegmentKind::Plain, sentence: 0, question: false, exclamations: 0 });
        let mut word = String::with_capacity(16);
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            let c = match c {
                '\u{2019}' | '\u{2018}' | '`' => '\'',
                other => other,
            };
            if c.is_ascii_alphanumeric() || c == '*' {
                word.push(c.to_ascii_lowercase());
                continue;
            }
            if c.is_alphanumeric() {
                word.extend(c.to_lowercase());
                continue;
            }
            if c == '\'' && !word.is_empty() {
                word.push('\'');
                continue;
            }
            if c == '&' && !word.is_empty() && chars.peek().is_some_and(|n| n.is_alphanumeric()) {
                word.push('&');
                continue;
            }
            self.flush(&mut st, &mut word);
            match c {
                '.' | '!' | '?' | '\n' | ';' | ':' => {
                    if c == '?' || c == '!' {
                        if let Some(seg) = st.out.segments.last_mut() {
                            if c == '?' {
                                seg.question = true;
                            } else {
                                seg.exclamations = seg.exclamations.saturating_add(1);
                            }
                        }
                    }
                    st.pending_sentence_break = true;
                }
                ',' | '(' | ')' | '\u{2013}' | '\u{2014}' | '"' => st.pending_clause_break = true,
                '£' => {
                    self.push(&mut st, "£".to_owned());
                }
                _ => {}
            }
        }
        self.flush(&mut st, &mut word);
        // Questions and exclamations are recorded on the segment where the sentence
        // ended; propagate them to all segments of that sentence.
        let segs = &mut st.out.segments;
        for i in (0..segs.len()).rev() {
            if i + 1 < segs.len() && segs[i + 1].sentence == segs[i].sentence {
                segs[i].question |= segs[i + 1].question;
                segs[i].exclamations = segs[i].exclamations.max(segs[i + 1].exclamations);
            }
        }
        st.out
    }

    fn flush(&self, st: &mut State, word: &mut String) {
        if word.is_empty() {
            return;
        }
        let w = word.trim_matches('\'');
        if w.is_empty() || !w.chars().any(|c| c.is_alphanumeric() || c == '*') {
            word.clear();
            return;
        }
        if let Some(base) = w.strip_suffix("n't") {
            let base = contraction_base(base).to_owned();
            self.push(st, base);
            self.push(st, "not".to_owned());
        } else if let Some(base) = bare_negation(w) {
            self.push(st, base.to_owned());
            self.push(st, "not".to_owned());
        } else {
            let w = ["'s", "'m", "'re", "'ve", "'ll", "'d"].iter().find_map(|suf| w.strip_suffix(suf)).unwrap_or(w);
            let w = w.replace('\'', "");
            self.push(st, w);
        }
        word.clear();
    }

    fn push(&self, st: &mut State, word: String) {
        let kind = segment_kind(&word);
        let had_tokens = !st.out.tokens.is_empty();
        if st.pending_sentence_break && had_tokens {
            st.sentence += 1;
            st.clause += 1;
            st.segment += 1;
            st.out.segments.push(Segment {
                kind: kind.unwrap_or(SegmentKind::Plain),
                sentence: st.sentence,
                question: false,
                exclamations: 0,
            });
        } else if let Some(kind) = kind.filter(|_| had_tokens) {
            st.clause += 1;
            st.segment += 1;
            st.out.segments.push(Segment { kind, sentence: st.sentence, question: false, exclamations: 0 });
        } else if st.pending_clause_break && had_tokens {
            st.clause += 1;
        } else if let (Some(kind), false) = (kind, had_tokens) {
            if let Some(seg) = st.out.segments.last_mut() {
                seg.kind = kind;
            }
        }
        st.pending_sentence_break = false;
        st.pending_clause_break = false;
        let stem = if word == "£" {
            word.clone()
        } else if is_number(&word) {
            // Numbers match the placeholder word `num` in phrases ("num weeks").
            "num".to_owned()
        } else {
            self.stem(&word)
        };
        st.out.tokens.push(Token { word, stem, sentence: st.sentence, clause: st.clause, segment: st.segment });
    }
}

/// Plain digits and small number words ("8am" stays a word of its own).
pub(crate) fn is_number(word: &str) -> bool {
    if word.starts_with(|c: char| c.is_ascii_digit()) {
        return word.chars().all(|c| c.is_ascii_digit());
    }
    matches!(
        word,
        "one"
            | "two"
            | "three"
            | "four"
            | "five"
            | "six"
            | "seven"
            | "eight"
            | "nine"
            | "ten"
            | "eleven"
            | "twelve"
            | "fifteen"
            | "eighteen"
            | "twenty"
            | "thirty"
            | "forty"
            | "fifty"
            | "sixty"
            | "few"
            | "several"
            | "couple"
    )
}

/// Words that carry no topic on their own; used by keyphrase extraction.
pub(crate) const STOPWORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "even",
    "ever",
    "every",
    "few",
    "for",
    "from",
    "further",
    "get",
    "gets",
    "getting",
    "go",
    "goes",
    "going",
    "gone",
    "got",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "let",
    "like",
    "made",
    "make",
    "many",
    "me",
    "more",
    "most",
    "much",
    "must",
    "my",
    "myself",
    "never",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "oh",
    "ok",
    "okay",
    "on",
    "once",
    "one",
    "only",
    "or",
    "other",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "really",
    "same",
    "say",
    "said",
    "see",
    "seen",
    "she",
    "should",
    "so",
    "some",
    "still",
    "such",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "thing",
    "things",
    "this",
    "those",
    "though",
    "through",
    "to",
    "too",
    "told",
    "took",
    "under",
    "until",
    "up",
    "us",
    "very",
    "want",
    "was",
    "way",
    "we",
    "well",
    "went",
    "were",
    "what",
    "when",
    "where",
    "whether",
    "which",
    "while",
    "whilst",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "would",
    "yes",
    "yet",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
    "lot",
    "lots",
    "bit",
    "quite",
    "always",
    "since",
    "back",
    "come",
    "came",
    "day",
    "days",
    "time",
    "times",
    "week",
    "weeks",
    "today",
    "yesterday",
    "people",
    "someone",
    "anyone",
    "everyone",
    "nothing",
    "something",
    "anything",
    "everything",
    "nhs",
    "really",
    "actually",
    "literally",
    "basically",
    "absolutely",
    "another",
    "around",
    "away",
    "last",
    "next",
    "first",
    "two",
    "three",
    "put",
    "take",
    "give",
    "gave",
    "know",
    "knew",
    "think",
    "thought",
    "feel",
    "felt",
    "need",
    "needed",
    "tried",
    "try",
    "asked",
    "ask",
    "says",
    "use",
    "used",
    "may",
    "might",
    "shall",
    "etc",
    "eg",
    "ie",
    "im",
    "ive",
    "dont",
    "didnt",
    "cant",
    "couldnt",
    "wasnt",
    "isnt",
    "hes",
    "shes",
    "theyre",
    "youre",
    "thats",
    "mum",
    "dad",
    "son",
    "daughter",
    "husband",
    "wife",
    "partner",
    "year",
    "years",
    "month",
    "months",
    "hour",
    "hours",
    "minutes",
    "new",
    "old",
    "good",
    "bad",
    "great",
    "better",
    "best",
    "worse",
    "worst",
    "able",
    "keep",
    "kept",
    "left",
    "done",
    "makes",
    "making",
    "hospital",
    "ward",
    "clinic",
    "gp",
    "gps",
    "surgery",
    "practice",
    "doctor",
    "doctors",
    "nurse",
    "nurses",
    "staff",
    "service",
    "services",
    "appointment",
    "appointments",
    "patient",
    "patients",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        Tokenizer::default().tokenize(text).tokens.into_iter().map(|t| t.word).collect()
    }

    #[test]
    fn cached_stems_are_the_stemmers_own() {
        let t = Tokenizer::default();
        let plain = Stemmer::create(Algorithm::English);
        // Many more words than the cache has slots, each asked for twice (the second time
        // from the cache, unless another word took its slot), and words too long to cache.
        let words: Vec<String> = (0..3 * STEM_SLOTS)
            .map(|i| format!("{}{}ing", ["wait", "nurs", "appoint", "referr"][i % 4], "e".repeat(i % 7)))
            .chain(
                [
                    "waited",
                    "waiting",
                    "nurses",
                    "appointments",
                    "é",
                    "straße",
                    "pneumonoultramicroscopicsilicovolcanoconiosis",
                ]
                .map(String::from),
            )
            .collect();
        for _ in 0..2 {
            for w in &words {
                assert_eq!(t.stem(w), plain.stem(w), "{w}");
            }
        }
    }

    #[test]
    fn expands_negated_contractions() {
        assert_eq!(words("Couldn't fault them"), ["could", "not", "fault", "them"]);
        assert_eq!(words("I cant get through"), ["i", "can", "not", "get", "through"]);
        assert_eq!(words("They won\u{2019}t listen"), ["they", "will", "not", "listen"]);
        assert_eq!(words("I'm fed up, it's rubbish"), ["i", "fed", "up", "it", "rubbish"]);
    }

    #[test]
    fn splits_hyphens_and_keeps_a_and_e() {
        assert_eq!(words("face-to-face in A&E"), ["face", "to", "face", "in", "a&e"]);
        assert_eq!(words("£9.90 each"), ["£", "9", "90", "each"]);
    }

    #[test]
    fn stems_inflections() {
        let t = Tokenizer::default().tokenize("appointments waited organised");
        let stems: Vec<_> = t.tokens.iter().map(|t| t.stem.as_str()).collect();
        assert_eq!(stems, ["appoint", "wait", "organis"]);
    }

    #[test]
    fn contrast_words_start_segments() {
        let t = Tokenizer::default().tokenize("Staff were lovely but the wait was awful. Parking ok?");
        let segs: Vec<_> = t.tokens.iter().map(|t| t.segment).collect();
        assert_eq!(segs, [0, 0, 0, 1, 1, 1, 1, 1, 2, 2]);
        assert_eq!(t.segments[1].kind, SegmentKind::Contrast);
        assert!(t.segments[2].question);
        assert!(!t.segments[0].question);
    }
}
