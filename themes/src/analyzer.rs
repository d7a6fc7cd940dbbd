//! Per-post analysis: theme matching and lexicon sentiment.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use serde::{Deserialize, Serialize};

use std::sync::Arc;

use crate::lexicon::Lexicon;
use crate::model::{Evidence, LexiconInput, Model};
use crate::taxonomy::{Taxonomy, Theme};
use crate::text::{SegmentKind, Token, Tokenizer, Tokens};

/// Three-way sentiment label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum SentimentLabel {
    Positive,
    Neutral,
    Negative,
}

impl SentimentLabel {
    pub fn as_str(self) -> &'static str {
        match self {
            SentimentLabel::Positive => "positive",
            SentimentLabel::Neutral => "neutral",
            SentimentLabel::Negative => "negative",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for SentimentLabel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for SentimentLabel {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s {
            "positive" => Ok(SentimentLabel::Positive),
            "neutral" => Ok(SentimentLabel::Neutral),
            "negative" => Ok(SentimentLabel::Negative),
            other => Err(crate::Error::InvalidSentiment(other.to_owned())),
        }
    }
}

/// A sentiment label with a score in [-1, 1] (rounded to two decimals).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sentiment {
    pub label: SentimentLabel,
    pub score: f64,
}

/// Scores within this distance of zero are neutral.
pub const NEUTRAL_BAND: f64 = 0.15;

impl Sentiment {
    /// Builds a sentiment from a score, clamping it to [-1, 1] and labelling it.
    pub fn from_score(score: f64) -> Sentiment {
        let score = if score.is_finite() { score.clamp(-1.0, 1.0) } else { 0.0 };
        let score = (score * 100.0).round() / 100.0;
        let label = if score >= NEUTRAL_BAND {
            SentimentLabel::Positive
        } else if score <= -NEUTRAL_BAND {
            SentimentLabel::Negative
        } else {
            SentimentLabel::Neutral
        };
        Sentiment { label, score }
    }

    pub fn neutral() -> Sentiment {
        Sentiment { label: SentimentLabel::Neutral, score: 0.0 }
    }
}

/// What `parley analyse --format jsonl` prints per comment:
/// `{"themes": ["waiting"], "sentiment": {"label": "negative", "score": -0.6}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    pub themes: Vec<String>,
    pub sentiment: Sentiment,
}

/// A theme found in a post, with the sentiment of the sentence parts that mention it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThemeMention {
    pub theme: String,
    pub sentiment: Sentiment,
    /// The (stemmed) phrases that matched, for explaining a tag.
    pub matched: Vec<String>,
}

/// [`Analysis`] plus sentiment per theme mention.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetailedAnalysis {
    pub themes: Vec<ThemeMention>,
    pub sentiment: Sentiment,
}

impl From<DetailedAnalysis> for Analysis {
    fn from(d: DetailedAnalysis) -> Analysis {
        Analysis { themes: d.themes.into_iter().map(|m| m.theme).collect(), sentiment: d.sentiment }
    }
}

/// Phrases indexed by their first stem; `*` in a phrase matches any one word.
#[derive(Debug, Default)]
pub(crate) struct PhraseIndex<T> {
    by_first: HashMap<String, Vec<usize>>,
    phrases: Vec<(Vec<String>, T)>,
}

impl<T> PhraseIndex<T> {
    pub fn insert(&mut self, stems: Vec<String>, value: T) {
        let Some(first) = stems.first().cloned() else { return };
        if first == "*" {
            return;
        }
        self.by_first.entry(first).or_default().push(self.phrases.len());
        self.phrases.push((stems, value));
    }

    /// All phrases matching at token `i` (within one sentence): (length, value, stems).
    pub fn matches_at<'a>(
        &'a self,
        tokens: &'a [Token],
        i: usize,
    ) -> impl Iterator<Item = (usize, &'a T, &'a [String])> + 'a {
        let cands = self.by_first.get(tokens[i].stem.as_str()).map(|v| v.as_slice()).unwrap_or(&[]);
        let sentence = tokens[i].sentence;
        cands.iter().filter_map(move |&p| {
            let (stems, value) = &self.phrases[p];
            let end = i + stems.len();
            if end > tokens.len() || tokens[end - 1].sentence != sentence {
                return None;
            }
            let ok = stems.iter().zip(&tokens[i..end]).skip(1).all(|(s, t)| s == "*" || *s == t.stem);
            ok.then_some((stems.len(), value, stems.as_slice()))
        })
    }

    /// The longest phrase matching at token `i`.
    pub fn longest_at<'a>(&'a self, tokens: &'a [Token], i: usize) -> Option<(usize, &'a T)> {
        self.matches_at(tokens, i).max_by_key(|(len, _, _)| *len).map(|(len, v, _)| (len, v))
    }
}

/// Tags posts with themes and sentiment. Build once (it precomputes stems and indexes)
/// and share; `analyse` takes `&self` and is safe to call from many threads.
///
/// By default the trained [`Model`] decides the themes it knows and the sentiment, with the
/// lexicon's findings as extra inputs; taxonomy themes the model does not know (`digital`
/// in the default taxonomy) come from the lexicon's phrases. [`Analyzer::lexicon_only`]
/// is the phrase and lexicon analyser alone.
#[derive(Debug)]
pub struct Analyzer {
    taxonomy: Taxonomy,
    model: Option<Arc<Model>>,
    /// Per taxonomy theme: its index among the model's themes, if the model has it.
    model_theme: Vec<Option<usize>>,
    pub(crate) tokenizer: Tokenizer,
    themes: PhraseIndex<u16>,
    excludes: PhraseIndex<u16>,
    near_terms: PhraseIndex<u16>,
    near_cues: PhraseIndex<u16>,
    idioms: PhraseIndex<f32>,
    words: HashMap<String, f32>,
    word_stems: HashMap<String, f32>,
    intensifiers: HashMap<String, f32>,
    negators: HashSet<String>,
}

impl Default for Analyzer {
    /// An analyser for the default taxonomy with the shipped model.
    fn default() -> Self {
        Analyzer::new(Taxonomy::default())
    }
}

/// A tag and the words that weighed most for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    #[serde(flatten)]
    pub analysis: Analysis,
    /// Per theme tag, then for the sentiment label: the words or phrases that weighed most
    /// (model tags), or the taxonomy phrases that matched (lexicon tags).
    pub explain: Vec<Evidence>,
}

const NEGATION_SCOPE: usize = 3;
const DANGLING_NEGATION: f32 = -0.6;

/// "took 6 hours", "three weeks for" — a duration in this domain is usually a complaint,
/// unless it is "within"/"under" a short time.
fn time_expression(tokens: &[Token], i: usize) -> Option<f32> {
    let unit = matches!(tokens[i].stem.as_str(), "hour" | "week" | "month" | "year" | "minut" | "fortnight");
    if !unit || i == 0 || tokens[i - 1].stem != "num" {
        return None;
    }
    let before = i.checked_sub(2).map(|j| tokens[j].word.as_str());
    match before {
        Some("within" | "under" | "only" | "just") => Some(0.8),
        _ if tokens.get(i + 1).is_some_and(|t| t.word == "old" || t.word == "ago") => None,
        Some("aged" | "every" | "for" | "in") if tokens[i].stem == "year" => None,
        _ => Some(-1.0),
    }
}
const NEGATION_FACTOR: f32 = -0.74;
/// Normalisation constant: score = x / sqrt(x² + ALPHA), as in VADER.
const ALPHA: f32 = 15.0;

fn normalise(x: f32) -> f64 {
    f64::from(x / (x * x + ALPHA).sqrt())
}

impl Analyzer {
    /// An analyser for `taxonomy` with the model shipped with parley.
    pub fn new(taxonomy: Taxonomy) -> Analyzer {
        Analyzer::with_model(taxonomy, Model::embedded())
    }

    /// An analyser with a trained model (e.g. a trust's own, see [`crate::model::train`]).
    /// Model themes missing from the taxonomy are added to it, labelled from their ids.
    pub fn with_model(mut taxonomy: Taxonomy, model: Arc<Model>) -> Analyzer {
        let missing: Vec<Theme> = model
            .themes()
            .iter()
            .filter(|id| taxonomy.get(id).is_none())
            .map(|id| Theme {
                id: id.clone(),
                label: label_from_id(id),
                description: format!("Tagged by the trained model ({id})."),
                phrases: Vec::new(),
                exclude: Vec::new(),
                near: Default::default(),
            })
            .collect();
        if !missing.is_empty() {
            taxonomy.extend_themes(missing);
        }
        let mut a = Analyzer::lexicon_only(taxonomy);
        a.model_theme = a.taxonomy.themes().iter().map(|t| model.themes().iter().position(|m| *m == t.id)).collect();
        a.model = Some(model);
        a
    }

    /// The model this analyser uses, if any.
    pub fn model(&self) -> Option<&Model> {
        self.model.as_deref()
    }

    /// The phrase-matching and lexicon analyser, without a trained model.
    pub fn lexicon_only(taxonomy: Taxonomy) -> Analyzer {
        let tokenizer = Tokenizer::default();
        let mut themes = PhraseIndex::default();
        let mut excludes = PhraseIndex::default();
        let mut near_terms = PhraseIndex::default();
        let mut near_cues = PhraseIndex::default();
        for (i, theme) in taxonomy.themes().iter().enumerate() {
            let idx = u16::try_from(i).unwrap_or(u16::MAX);
            for p in &theme.phrases {
                themes.insert(tokenizer.phrase_stems(p), idx);
            }
            for p in &theme.exclude {
                excludes.insert(tokenizer.phrase_stems(p), idx);
            }
            for p in &theme.near.terms {
                near_terms.insert(tokenizer.phrase_stems(p), idx);
            }
            for p in &theme.near.cues {
                near_cues.insert(tokenizer.phrase_stems(p), idx);
            }
        }
        let lexicon = Lexicon::embedded();
        let mut idioms = PhraseIndex::default();
        for (p, v) in &lexicon.idioms {
            idioms.insert(tokenizer.phrase_stems(p), *v);
        }
        let mut words = HashMap::default();
        let mut word_stems = HashMap::default();
        for (w, v) in &lexicon.words {
            match w.strip_suffix('*') {
                Some(base) => {
                    word_stems.insert(tokenizer.stem(base), *v);
                }
                None => {
                    words.insert(w.clone(), *v);
                }
            }
        }
        let model_theme = vec![None; taxonomy.themes().len()];
        Analyzer {
            taxonomy,
            model: None,
            model_theme,
            tokenizer,
            themes,
            excludes,
            near_terms,
            near_cues,
            idioms,
            words,
            word_stems,
            intensifiers: lexicon.intensifiers.iter().map(|(w, v)| (w.clone(), *v)).collect(),
            negators: lexicon.negators.iter().cloned().collect(),
        }
    }

    pub fn taxonomy(&self) -> &Taxonomy {
        &self.taxonomy
    }

    /// Themes (taxonomy order) and overall sentiment of one post.
    pub fn analyse(&self, text: &str) -> Analysis {
        let toks = self.tokenizer.tokenize(text);
        let hits = self.theme_hits(&toks.tokens);
        let seg = self.segment_valences(&toks);
        let (tagged, sentiment) = self.decide(text, &hits, overall(&toks, &seg));
        Analysis {
            themes: tagged.into_iter().filter_map(|t| self.taxonomy.themes().get(t).map(|t| t.id.clone())).collect(),
            sentiment,
        }
    }

    /// The tagged taxonomy themes (indexes, ascending) and the sentiment, from the model
    /// where it has an answer and from the lexicon otherwise.
    fn decide(&self, text: &str, hits: &[Hit<'_>], lexicon: Sentiment) -> (Vec<usize>, Sentiment) {
        let mut lexicon_tagged: Vec<usize> = hits.iter().map(|h| usize::from(h.theme)).collect();
        lexicon_tagged.sort_unstable();
        lexicon_tagged.dedup();
        let Some(model) = &self.model else { return (lexicon_tagged, lexicon) };
        if !text.chars().any(char::is_alphanumeric) {
            // Nothing to go on: the model would only echo its priors.
            return (Vec::new(), Sentiment::neutral());
        }
        let input = LexiconInput {
            score: lexicon.score as f32,
            themes: if model.uses_lexicon() {
                lexicon_tagged.iter().filter_map(|t| self.taxonomy.themes().get(*t).map(|t| t.id.clone())).collect()
            } else {
                Vec::new()
            },
        };
        let scores = model.scores(text, &input);
        let tagged = (0..self.taxonomy.themes().len())
            .filter(|&t| {
                let found = lexicon_tagged.binary_search(&t).is_ok();
                match self.model_theme[t] {
                    Some(m) => model.tagged(scores.themes[m], found),
                    None => found,
                }
            })
            .collect();
        let sentiment = match scores.sentiment {
            Some(d) => {
                let (label, score) = Model::sentiment_of(d);
                let s = Sentiment::from_score(score);
                debug_assert_eq!(s.label, label);
                s
            }
            None => lexicon,
        };
        (tagged, sentiment)
    }

    /// [`Analyzer::analyse`] with, for each tag, the words or phrases that weighed most.
    pub fn explain(&self, text: &str, top: usize) -> Explanation {
        let d = self.analyse_detailed(text);
        let mut explain = Vec::new();
        let model_tags: Vec<&str> = d
            .themes
            .iter()
            .filter(|m| self.model.as_ref().is_some_and(|model| model.themes().contains(&m.theme)))
            .map(|m| m.theme.as_str())
            .collect();
        let model_evidence = match &self.model {
            Some(model) => {
                let mut tags = model_tags.clone();
                if model.has_sentiment() {
                    tags.push(d.sentiment.label.as_str());
                }
                model.explain(text, &tags, top)
            }
            None => Vec::new(),
        };
        for m in &d.themes {
            match model_evidence.iter().find(|e| e.tag == m.theme) {
                Some(e) => explain.push(e.clone()),
                None => explain
                    .push(Evidence { tag: m.theme.clone(), words: m.matched.iter().take(top).cloned().collect() }),
            }
        }
        match model_evidence.iter().find(|e| e.tag == d.sentiment.label.as_str()) {
            Some(e) => explain.push(e.clone()),
            None => {
                let toks = self.tokenizer.tokenize(text);
                let mut words: Vec<String> = Vec::new();
                for t in toks.tokens.iter().filter(|t| self.is_sentiment_word(t)) {
                    if !words.contains(&t.word) && words.len() < top {
                        words.push(t.word.clone());
                    }
                }
                explain.push(Evidence { tag: d.sentiment.label.as_str().to_owned(), words });
            }
        }
        Explanation { analysis: d.into(), explain }
    }

    /// Like [`Analyzer::analyse`], with the sentiment of each theme taken from the parts of
    /// sentences (split at "but", "although" …) that mention it.
    pub fn analyse_detailed(&self, text: &str) -> DetailedAnalysis {
        let toks = self.tokenizer.tokenize(text);
        let hits = self.theme_hits(&toks.tokens);
        let seg = self.segment_valences(&toks);
        let (tagged, sentiment) = self.decide(text, &hits, overall(&toks, &seg));
        let mut by_theme: Vec<(u16, Vec<u32>, Vec<String>)> = Vec::new();
        for h in &hits {
            let segment = toks.tokens[h.start].segment;
            let entry = match by_theme.iter_mut().find(|(t, _, _)| *t == h.theme) {
                Some(e) => e,
                None => {
                    by_theme.push((h.theme, Vec::new(), Vec::new()));
                    let last = by_theme.len() - 1;
                    &mut by_theme[last]
                }
            };
            if !entry.1.contains(&segment) {
                entry.1.push(segment);
            }
            let phrase = h.stems.join(" ");
            if !entry.2.contains(&phrase) {
                entry.2.push(phrase);
            }
        }
        by_theme.sort_by_key(|(t, _, _)| *t);
        let themes = tagged
            .into_iter()
            .filter_map(|t| {
                let id = self.taxonomy.themes().get(t)?.id.clone();
                // The sentiment of the sentence parts that mention it, when the lexicon found
                // a mention; otherwise the post's.
                match by_theme.iter().find(|(b, _, _)| usize::from(*b) == t) {
                    Some((_, segs, matched)) => {
                        let sum: f32 = segs.iter().filter_map(|s| seg.get(*s as usize)).sum();
                        let s = if self.model.is_some() && sum == 0.0 {
                            sentiment
                        } else {
                            Sentiment::from_score(normalise(sum))
                        };
                        Some(ThemeMention { theme: id, sentiment: s, matched: matched.clone() })
                    }
                    None => Some(ThemeMention { theme: id, sentiment, matched: Vec::new() }),
                }
            })
            .collect();
        DetailedAnalysis { themes, sentiment }
    }

    /// Sentiment only.
    pub fn sentiment(&self, text: &str) -> Sentiment {
        if self.model.as_ref().is_some_and(|m| m.has_sentiment()) {
            return self.analyse(text).sentiment;
        }
        let toks = self.tokenizer.tokenize(text);
        let seg = self.segment_valences(&toks);
        overall(&toks, &seg)
    }

    pub(crate) fn theme_hits<'a>(&'a self, tokens: &'a [Token]) -> Vec<Hit<'a>> {
        let mut hits = Vec::new();
        // Excluded spans, per theme.
        let mut excluded: Vec<(u16, usize, usize)> = Vec::new();
        for i in 0..tokens.len() {
            for (len, theme, _) in self.excludes.matches_at(tokens, i) {
                excluded.push((*theme, i, i + len));
            }
        }
        for i in 0..tokens.len() {
            for (len, theme, stems) in self.themes.matches_at(tokens, i) {
                let masked = excluded.iter().any(|(t, s, e)| t == theme && *s < i + len && i < *e);
                if !masked {
                    hits.push(Hit { theme: *theme, start: i, stems });
                }
            }
        }
        // Co-occurrence rules: a term and a cue in the same segment.
        let mut cues: Vec<(u16, u32)> = Vec::new();
        for i in 0..tokens.len() {
            for (_, theme, _) in self.near_cues.matches_at(tokens, i) {
                cues.push((*theme, tokens[i].segment));
            }
        }
        if !cues.is_empty() {
            for i in 0..tokens.len() {
                for (_, theme, stems) in self.near_terms.matches_at(tokens, i) {
                    if cues.contains(&(*theme, tokens[i].segment)) {
                        hits.push(Hit { theme: *theme, start: i, stems });
                    }
                }
            }
        }
        hits
    }

    /// Sum of valences per segment (unweighted).
    fn segment_valences(&self, toks: &Tokens) -> Vec<f32> {
        let tokens = &toks.tokens;
        let mut seg = vec![0.0_f32; toks.segments.len()];
        // Position of the last negator, and whether it was counted as dangling.
        let mut last_negator: Option<(usize, bool)> = None;
        let mut boost: Option<(usize, f32)> = None;
        let mut i = 0;
        while i < tokens.len() {
            let t = &tokens[i];
            let (len, valence) = match self.idioms.longest_at(tokens, i) {
                Some((len, v)) => (len, Some(*v)),
                None => (1, self.word_valence(t)),
            };
            if let Some(mut v) = valence.filter(|v| *v != 0.0) {
                if let Some((at, factor)) = boost {
                    if i - at <= 2 && tokens[at].clause == t.clause {
                        v *= factor;
                    }
                }
                let starts_negated = len > 1 && self.negators.contains(t.word.as_str());
                if let Some((n, dangling)) = last_negator {
                    if !starts_negated && i - n <= NEGATION_SCOPE && tokens[n].clause == t.clause {
                        v *= NEGATION_FACTOR;
                        if dangling {
                            if let Some(s) = seg.get_mut(tokens[n].segment as usize) {
                                *s -= DANGLING_NEGATION;
                            }
                        }
                        last_negator = None;
                    }
                }
                if let Some(s) = seg.get_mut(t.segment as usize) {
                    *s += v;
                }
                boost = None;
                if len == 1 && self.negators.contains(t.word.as_str()) {
                    last_negator = Some((i, false));
                }
            } else if valence.is_some() {
                // A neutral idiom ("kind of") blocks the words inside it.
            } else if self.negators.contains(t.word.as_str()) {
                if let Some(s) = seg.get_mut(t.segment as usize) {
                    // A negation with nothing to negate still reads as a complaint
                    // ("never came", "nothing was offered"); undone if it attaches.
                    *s += DANGLING_NEGATION;
                }
                last_negator = Some((i, true));
            } else if let Some(v) = time_expression(tokens, i) {
                if let Some(s) = seg.get_mut(t.segment as usize) {
                    *s += v;
                }
            } else if let Some(f) = self.intensifiers.get(t.word.as_str()) {
                boost = Some((i, *f));
            }
            i += len;
        }
        // Hypotheticals and suggestions ("it would be good if …") carry little sentiment.
        for (s, segment) in seg.iter_mut().zip(&toks.segments) {
            if segment.question {
                *s *= 0.6;
            }
            if segment.exclamations > 0 {
                *s *= 1.0 + 0.15 * f32::from(segment.exclamations.min(3));
            }
        }
        let mut hypothetical = vec![false; seg.len()];
        for t in tokens {
            if matches!(t.word.as_str(), "if" | "would" | "wish" | "hopefully" | "please" | "suggest") {
                if let Some(h) = hypothetical.get_mut(t.segment as usize) {
                    *h = true;
                }
            }
        }
        for (s, h) in seg.iter_mut().zip(hypothetical) {
            if h && *s > 0.0 {
                *s *= 0.35;
            }
        }
        seg
    }

    /// Words that carry sentiment or intensity rather than topic.
    pub(crate) fn is_sentiment_word(&self, t: &Token) -> bool {
        self.word_valence(t).is_some_and(|v| v != 0.0)
            || self.intensifiers.contains_key(t.word.as_str())
            || self.negators.contains(t.word.as_str())
    }

    fn word_valence(&self, t: &Token) -> Option<f32> {
        self.words.get(t.word.as_str()).or_else(|| self.word_stems.get(t.stem.as_str())).copied()
    }
}

/// "out_of_hours" → "Out of hours".
fn label_from_id(id: &str) -> String {
    let words = id.replace('_', " ");
    let mut c = words.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A theme phrase found at a token position.
pub(crate) struct Hit<'a> {
    pub theme: u16,
    pub start: usize,
    pub stems: &'a [String],
}

fn overall(toks: &Tokens, seg: &[f32]) -> Sentiment {
    let mut total = 0.0_f32;
    for (i, (v, s)) in seg.iter().zip(&toks.segments).enumerate() {
        let next_contrasts =
            toks.segments.get(i + 1).is_some_and(|n| n.kind == SegmentKind::Contrast && n.sentence == s.sentence);
        let w = match s.kind {
            SegmentKind::Contrast => 1.5,
            SegmentKind::Concession => 0.5,
            SegmentKind::Plain if next_contrasts => 0.5,
            SegmentKind::Plain => 1.0,
        };
        total += v * w;
    }
    Sentiment::from_score(normalise(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    // These pin the lexicon and phrase rules; the trained model has its own tests.
    fn lexicon() -> Analyzer {
        Analyzer::lexicon_only(Taxonomy::default())
    }

    fn label(text: &str) -> SentimentLabel {
        lexicon().sentiment(text).label
    }

    fn themes(text: &str) -> Vec<String> {
        lexicon().analyse(text).themes
    }

    #[test]
    fn analysis_serialises_in_the_jsonl_shape() {
        let a = Analysis { themes: vec!["waiting".into()], sentiment: Sentiment::from_score(-0.6) };
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            r#"{"themes":["waiting"],"sentiment":{"label":"negative","score":-0.6}}"#
        );
        let back: Analysis = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert_eq!(back, a);
    }

    #[test]
    fn sentiment_scores_are_bounded() {
        let an = lexicon();
        for text in ["", "awful awful awful terrible disgrace shambles!!!", "brilliant lovely fantastic amazing"] {
            let s = an.sentiment(text);
            assert!((-1.0..=1.0).contains(&s.score), "{text}: {s:?}");
        }
        assert_eq!(an.sentiment("").label, SentimentLabel::Neutral);
    }

    #[test]
    fn negation() {
        assert_eq!(label("The receptionist was not helpful"), SentimentLabel::Negative);
        assert_eq!(label("Couldn't fault them"), SentimentLabel::Positive);
        assert_eq!(label("couldnt fault the nurses"), SentimentLabel::Positive);
        assert_eq!(label("I can't fault the care"), SentimentLabel::Positive);
        assert_eq!(label("It wasn't bad at all"), SentimentLabel::Positive);
        assert_eq!(label("They never listened to me"), SentimentLabel::Negative);
        assert_eq!(label("No problems at all with the pharmacy"), SentimentLabel::Positive);
        assert_eq!(label("Not good enough"), SentimentLabel::Negative);
    }

    #[test]
    fn intensifiers_strengthen() {
        let an = lexicon();
        let plain = an.sentiment("the nurse was helpful").score;
        let strong = an.sentiment("the nurse was really helpful").score;
        let stronger = an.sentiment("the nurse was absolutely helpful").score;
        assert!(strong > plain && stronger > strong, "{plain} {strong} {stronger}");
        let neg = an.sentiment("so rude").score;
        assert!(neg < an.sentiment("rude").score);
    }

    #[test]
    fn british_spelling_and_slang() {
        assert_eq!(label("The ward was well organised"), SentimentLabel::Positive);
        assert_eq!(label("Brilliant service, cheers"), SentimentLabel::Positive);
        assert_eq!(label("lovely staff"), SentimentLabel::Positive);
        assert_eq!(label("An absolute shambles"), SentimentLabel::Negative);
        assert_eq!(label("The new system is rubbish"), SentimentLabel::Negative);
        assert_eq!(label("I would favour a walk-in clinic"), SentimentLabel::Neutral);
        assert_eq!(label("The colour of the walls is green"), SentimentLabel::Neutral);
        assert_eq!(label("Whilst the doctor was lovely, I waited ages and was fobbed off"), SentimentLabel::Negative);
    }

    #[test]
    fn health_service_idioms() {
        for text in [
            "I waited ages in A&E",
            "Sent from pillar to post between the GP and the hospital",
            "Got fobbed off by the receptionist again",
            "I couldn't get through on the phone at 8am",
        ] {
            assert_eq!(label(text), SentimentLabel::Negative, "{text}");
        }
        for text in [
            "The nurses bent over backwards for my dad",
            "The paramedic went above and beyond",
            "Nothing was too much trouble",
        ] {
            assert_eq!(label(text), SentimentLabel::Positive, "{text}");
        }
    }

    #[test]
    fn contrast_weights_the_second_half() {
        assert_eq!(label("The staff were nice but the wait was horrendous"), SentimentLabel::Negative);
        let d = lexicon().analyse_detailed("The staff were lovely but the wait was horrendous.");
        let get = |id: &str| d.themes.iter().find(|m| m.theme == id).unwrap().sentiment.label;
        assert_eq!(get("staff_attitude"), SentimentLabel::Positive);
        assert_eq!(get("waiting"), SentimentLabel::Negative);
    }

    #[test]
    fn themes_match_stems_phrases_and_several_or_none() {
        assert_eq!(themes("Three weeks for an appointment"), ["access", "waiting"]);
        assert_eq!(themes("The NHS App keeps crashing when I order my repeat prescription"), ["medication", "digital"]);
        assert_eq!(themes("Prescription charges are too expensive"), ["cost"]);
        assert!(themes("Hello there").is_empty());
        assert_eq!(themes("I feel free to say it"), Vec::<String>::new());
        assert_eq!(themes("My referral got lost between the hospital and the GP"), ["coordination"]);
    }

    #[test]
    fn excluded_phrases_do_not_trigger() {
        assert!(!themes("She fell asleep in the chair").contains(&"safety".to_owned()));
        assert!(themes("She had a fall on the ward").contains(&"safety".to_owned()));
    }

    #[test]
    fn default_analyser_uses_the_trained_model() {
        let an = Analyzer::default();
        assert!(an.model().is_some());
        let a = an.analyse("Waited over three hours for the ambulance to arrive, far too long");
        assert!(a.themes.contains(&"waiting".to_owned()), "{a:?}");
        assert_eq!(a.sentiment.label, SentimentLabel::Negative);
        let a = an.analyse("The staff were kind, caring and polite. Thank you");
        assert!(a.themes.contains(&"staff_attitude".to_owned()), "{a:?}");
        assert_eq!(a.sentiment.label, SentimentLabel::Positive);
        // A theme the model does not know still comes from the taxonomy's phrases.
        let a = an.analyse("The NHS App keeps crashing when I log in");
        assert!(a.themes.contains(&"digital".to_owned()), "{a:?}");
        // Stored sentiment is a score; its label must survive the round trip.
        for text in ["ok I suppose", "terrible", "brilliant", "", "the car park"] {
            let s = an.analyse(text).sentiment;
            assert_eq!(Sentiment::from_score(s.score).label, s.label, "{text}");
        }
    }

    #[test]
    fn explanations_name_words_from_the_text() {
        let an = Analyzer::default();
        let text = "Waited over three hours for the ambulance, the crew were lovely though";
        let e = an.explain(text, 3);
        assert_eq!(e.analysis, an.analyse(text));
        assert_eq!(e.explain.len(), e.analysis.themes.len() + 1);
        let lower = text.to_lowercase();
        for ev in &e.explain {
            assert!(!ev.words.is_empty() && ev.words.len() <= 3, "{ev:?}");
            for w in &ev.words {
                assert!(w.split(' ').all(|part| lower.contains(part)), "{w} not in the text");
            }
        }
        let waiting = e.explain.iter().find(|ev| ev.tag == "waiting").unwrap();
        assert!(waiting.words.iter().any(|w| w.contains("wait") || w.contains("hours")), "{waiting:?}");
    }

    #[test]
    fn a_model_theme_missing_from_the_taxonomy_is_added() {
        assert_eq!(label_from_id("out_of_hours"), "Out of hours");
    }
}
