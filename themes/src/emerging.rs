//! Emerging themes: keyphrases that recur across posts but match no taxonomy theme.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::analyzer::Analyzer;
use crate::text::STOPWORDS;

/// A recurring keyphrase the taxonomy missed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmergingTheme {
    /// The most common surface form, e.g. "blood test".
    pub phrase: String,
    /// Number of posts containing it (raw; suppressed when rendered in a summary).
    pub posts: u64,
    /// Indices of up to three example posts, as passed to [`EmergingThemes::add`].
    pub examples: Vec<usize>,
}

#[derive(Debug, Default)]
struct Gram {
    posts: u64,
    examples: Vec<usize>,
    surfaces: HashMap<String, u32>,
}

/// Collects stopword-filtered 1–3-word phrases that do not overlap any taxonomy match,
/// scored by the number of posts they occur in. Memory grows with distinct phrases, so
/// feed it one discussion (or a sample) at a time.
#[derive(Debug)]
pub struct EmergingThemes<'a> {
    analyzer: &'a Analyzer,
    grams: HashMap<String, Gram>,
    stop: HashSet<&'static str>,
    posts: u64,
}

const MAX_EXAMPLES: usize = 3;

impl<'a> EmergingThemes<'a> {
    pub fn new(analyzer: &'a Analyzer) -> EmergingThemes<'a> {
        EmergingThemes { analyzer, grams: HashMap::new(), stop: STOPWORDS.iter().copied().collect(), posts: 0 }
    }

    /// Adds one post; `index` is whatever the caller uses to find the post again.
    pub fn add(&mut self, index: usize, text: &str) {
        self.posts += 1;
        let toks = self.analyzer.tokenizer.tokenize(text);
        let tokens = &toks.tokens;
        let mut covered = vec![false; tokens.len()];
        for hit in self.analyzer.theme_hits(tokens) {
            for c in covered.iter_mut().skip(hit.start).take(hit.stems.len()) {
                *c = true;
            }
        }
        let usable = |i: usize| {
            let t = &tokens[i];
            !covered[i]
                && t.word.chars().count() > 2
                && t.word.chars().any(char::is_alphabetic)
                && !self.stop.contains(t.word.as_str())
                && !self.analyzer.is_sentiment_word(t)
        };
        let mut seen: HashSet<String> = HashSet::new();
        for i in 0..tokens.len() {
            if !usable(i) {
                continue;
            }
            let mut key = String::new();
            let mut surface = String::new();
            for n in 0..3 {
                let j = i + n;
                if j >= tokens.len() || !usable(j) || tokens[j].clause != tokens[i].clause {
                    break;
                }
                if n > 0 {
                    key.push(' ');
                    surface.push(' ');
                }
                key.push_str(&tokens[j].stem);
                surface.push_str(&tokens[j].word);
                if seen.insert(key.clone()) {
                    let g = self.grams.entry(key.clone()).or_default();
                    g.posts += 1;
                    if g.examples.len() < MAX_EXAMPLES {
                        g.examples.push(index);
                    }
                    *g.surfaces.entry(surface.clone()).or_insert(0) += 1;
                }
            }
        }
    }

    /// Phrases found in at least `min_posts` posts, best first, at most `limit`. A phrase
    /// is dropped when a longer phrase containing it occurs in nearly as many posts
    /// ("blood test" rather than "blood" and "test").
    pub fn finish(self, min_posts: u64, limit: usize) -> Vec<EmergingTheme> {
        let min_posts = min_posts.max(2);
        let mut grams: Vec<(String, Gram)> = self.grams.into_iter().filter(|(_, g)| g.posts >= min_posts).collect();
        let score = |key: &str, g: &Gram| {
            let n = key.split(' ').count() as f64;
            g.posts as f64 * (1.0 + 0.25 * (n - 1.0))
        };
        let all: HashMap<String, u64> = grams.iter().map(|(k, g)| (k.clone(), g.posts)).collect();
        grams.retain(|(k, g)| {
            !all.iter().any(|(other, &posts)| {
                other.len() > k.len() && contains_words(other, k) && posts as f64 >= 0.6 * g.posts as f64
            })
        });
        grams.sort_by(|(ka, a), (kb, b)| score(kb, b).total_cmp(&score(ka, a)).then(ka.cmp(kb)));
        grams
            .into_iter()
            .take(limit)
            .map(|(key, g)| {
                let phrase =
                    g.surfaces.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))).map_or(key, |(s, _)| s.clone());
                EmergingTheme { phrase, posts: g.posts, examples: g.examples }
            })
            .collect()
    }
}

fn contains_words(longer: &str, shorter: &str) -> bool {
    let l: Vec<&str> = longer.split(' ').collect();
    let s: Vec<&str> = shorter.split(' ').collect();
    l.windows(s.len()).any(|w| w == s.as_slice())
}

/// Convenience: emerging themes over a slice of texts (indices are slice positions).
pub fn emerging_themes<S: AsRef<str>>(
    analyzer: &Analyzer,
    texts: &[S],
    min_posts: u64,
    limit: usize,
) -> Vec<EmergingTheme> {
    let mut e = EmergingThemes::new(analyzer);
    for (i, t) in texts.iter().enumerate() {
        e.add(i, t.as_ref());
    }
    e.finish(min_posts, limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_recurring_phrases_the_taxonomy_misses() {
        let an = Analyzer::default();
        let texts = [
            "The blood test clinic has moved and nobody knows where",
            "Blood tests now need booking two weeks ahead",
            "I went for my blood test and the phlebotomy room was shut",
            "Waited ages for an appointment",
            "The appointment system is rubbish",
            "Another blood test mix up, had to do it twice",
        ];
        let found = emerging_themes(&an, &texts, 3, 5);
        let top = &found[0];
        assert_eq!(top.phrase, "blood test");
        assert_eq!(top.posts, 4);
        assert_eq!(top.examples, [0, 1, 2]);
        // Taxonomy words (appointment, waited) never emerge.
        assert!(found.iter().all(|e| !e.phrase.contains("appointment") && !e.phrase.contains("wait")));
        // Sub-phrases of a kept phrase are folded in.
        assert!(found.iter().all(|e| e.phrase != "blood" && e.phrase != "test"));
    }

    #[test]
    fn needs_at_least_two_posts() {
        let an = Analyzer::default();
        let found = emerging_themes(&an, &["hearing aid batteries", "hearing aid batteries"], 1, 5);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].phrase, "hearing aid batteries");
        assert!(emerging_themes(&an, &["hearing aid batteries"], 1, 5).is_empty());
    }
}
