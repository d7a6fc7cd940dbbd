//! The trained theme and sentiment model: linear classifiers over hashed word 1–2 grams and
//! character 3–5 grams, one per theme (an NB-SVM, with a threshold chosen by cross-validation)
//! and one per sentiment class, plus the lexicon's sentiment score and theme matches as extra
//! inputs.
//!
//! The shipped model (`themes/model/nhs-fft.model`) was trained on real Friends and Family
//! Test comments coded by NHS staff (MIT licence, NHS England; The-Strategy-Unit/pxtextmining);
//! see `themes/model/README.md`. [`train`] rebuilds it bit for bit from the CSV.

mod data;
mod features;
mod train;

use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

pub use data::{Corpus, Example, ThemeMap, NHS_FFT_SOURCE, NHS_FFT_THEME_MAP};
pub use train::{cross_group, cross_validate, train, CvReport, ThemeScore, TrainOptions};

use crate::analyzer::SentimentLabel;
use crate::{Error, Result};
use features::{Occurrence, CHAR_BLOCK};

/// The model shipped with parley, trained on `train.csv` of the NHS FFT data.
pub const EMBEDDED_MODEL: &[u8] = include_bytes!("../../model/nhs-fft.model");

const MAGIC: &[u8; 8] = b"PARLEYTM";
const FORMAT: u32 = 1;
/// Scale of the two lexicon inputs relative to the (unit length) n-gram vector.
const LEXICON_SCALE: f32 = 0.5;

/// What the lexicon found in a text: its sentiment score and the ids of its theme matches.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LexiconInput {
    pub score: f32,
    pub themes: Vec<String>,
}

pub(crate) fn extra_inputs(lexicon: bool, lexicon_themes: &[String], input: &LexiconInput) -> Vec<f32> {
    if !lexicon {
        return Vec::new();
    }
    let mut v = vec![input.score.max(0.0), (-input.score).max(0.0)];
    v.extend(lexicon_themes.iter().map(|t| if input.themes.contains(t) { 1.0 } else { 0.0 }));
    v
}

/// What the model file says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Theme ids, one linear classifier each.
    pub themes: Vec<String>,
    /// Decision threshold per theme (chosen by cross-validation to maximise F1).
    pub thresholds: Vec<f32>,
    /// Whether the model has the three sentiment classifiers.
    pub sentiment: bool,
    /// Whether the lexicon's sentiment score and theme matches are inputs.
    pub lexicon: bool,
    /// The lexicon themes whose matches are inputs (by id).
    pub lexicon_themes: Vec<String>,
    /// A theme the lexicon's phrases also found is tagged down to this far below its
    /// threshold.
    pub lexicon_margin: f32,
    /// Features seen in fewer training comments than this were dropped.
    pub min_df: u32,
    /// The sentiment classifiers left out features seen in fewer comments than this.
    #[serde(default)]
    pub sentiment_min_df: u32,
    /// Smoothing of the NB-SVM log-count ratios of the theme classifiers (0: plain SVM).
    #[serde(default)]
    pub nb_alpha: f64,
    /// Repetitions of the inner cross-validation that chose the thresholds.
    #[serde(default)]
    pub threshold_repeats: u32,
    /// Regularisation of the theme and sentiment classifiers.
    pub c_themes: f64,
    pub c_sentiment: f64,
    /// Comments the model was trained on.
    pub trained_on: u32,
    /// Free text: where the training data came from.
    pub source: String,
}

/// Feature key → row, by open addressing (keys are hashes already). Key and row sit side
/// by side, so a lookup touches one cache line.
#[derive(Debug, Clone)]
struct KeyTable {
    slots: Vec<(u32, u32)>,
    shift: u32,
}

const EMPTY: u32 = u32::MAX;

impl KeyTable {
    fn new(keys: &[u32]) -> KeyTable {
        let cap = (keys.len() * 2).max(16).next_power_of_two();
        let shift = 32 - cap.trailing_zeros();
        let mut t = KeyTable { slots: vec![(EMPTY, 0); cap], shift };
        for (row, &k) in keys.iter().enumerate() {
            let mut s = t.slot(k);
            while t.slots[s].0 != EMPTY {
                s = (s + 1) & (cap - 1);
            }
            t.slots[s] = (k, row as u32);
        }
        t
    }

    fn slot(&self, k: u32) -> usize {
        (k.wrapping_mul(0x9E37_79B9) >> self.shift) as usize
    }

    fn get(&self, k: u32) -> Option<u32> {
        let mask = self.slots.len() - 1;
        let mut s = self.slot(k);
        loop {
            match self.slots[s] {
                (EMPTY, _) => return None,
                (x, row) if x == k => return Some(row),
                _ => s = (s + 1) & mask,
            }
        }
    }
}

/// Feature keys with their inverse document frequencies.
#[derive(Debug, Clone)]
pub(crate) struct Vocabulary {
    keys: Vec<u32>,
    idf: Vec<f32>,
    table: KeyTable,
}

/// A sparse feature vector: (row, value), rows ascending.
pub(crate) type SparseVec = Vec<(u32, f32)>;

impl Vocabulary {
    /// `keys` ascending (a model file's are checked; training's come from a sorted map):
    /// [`Vocabulary::vector_of_words`] relies on rows ascending as keys do.
    pub(crate) fn new(keys: Vec<u32>, idf: Vec<f32>) -> Vocabulary {
        debug_assert!(keys.windows(2).all(|w| w[0] < w[1]), "vocabulary keys in order");
        let table = KeyTable::new(&keys);
        Vocabulary { keys, idf, table }
    }

    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// The model input for a text's term counts: sublinear tf × idf, each block (words,
    /// characters) scaled to length 1/√2, then the extra (lexicon) inputs.
    pub(crate) fn vector(&self, counts: &[(u32, u32)], extra: &[f32]) -> SparseVec {
        let mut v: SparseVec = Vec::with_capacity(counts.len() + 2);
        for &(k, c) in counts {
            if let Some(row) = self.table.get(k) {
                v.push((row, c as f32));
            }
        }
        self.weigh(v, extra)
    }

    /// [`Vocabulary::vector`] of a text's words, counted without sorting its feature keys:
    /// each key found in the vocabulary is tallied by row, and rows ascend as keys do (the
    /// file's keys are in order), so the vector is the same, value for value.
    pub(crate) fn vector_of_words(&self, words: &[String], extra: &[f32]) -> SparseVec {
        let rows = self.keys.len();
        TALLY.with(|tally| {
            let Ok(mut tally) = tally.try_borrow_mut() else {
                let mut occ = Vec::new();
                features::occurrences(words, &mut occ);
                return self.vector(&features::counts(&occ), extra);
            };
            let tally = &mut *tally;
            if tally.counts.len() < rows {
                tally.counts.resize(rows, 0);
                tally.seen.resize(rows.div_ceil(64), 0);
            }
            let (mut lo, mut hi) = (usize::MAX, 0);
            features::each_key(words, |key, _, _| {
                if let Some(row) = self.table.get(key) {
                    let row = row as usize;
                    if tally.counts[row] == 0 {
                        tally.seen[row / 64] |= 1 << (row % 64);
                        lo = lo.min(row / 64);
                        hi = hi.max(row / 64 + 1);
                    }
                    tally.counts[row] = tally.counts[row].saturating_add(1);
                }
            });
            let mut v: SparseVec = Vec::new();
            for at in lo..hi {
                let mut bits = std::mem::take(&mut tally.seen[at]);
                while bits != 0 {
                    let row = at * 64 + bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    v.push((row as u32, std::mem::take(&mut tally.counts[row]) as f32));
                }
            }
            self.weigh(v, extra)
        })
    }

    /// Weighs found rows and their counts, in ascending row order, into the model input.
    fn weigh(&self, mut v: SparseVec, extra: &[f32]) -> SparseVec {
        let (mut word_sq, mut char_sq) = (0.0_f32, 0.0_f32);
        // Rows ascend as keys do, so word features (block bit clear) come first.
        let mut words_end = 0;
        for (i, (row, x)) in v.iter_mut().enumerate() {
            let c = *x;
            *x = (1.0 + c.ln()) * self.idf[*row as usize];
            if self.keys[*row as usize] & CHAR_BLOCK == 0 {
                word_sq += *x * *x;
                words_end = i + 1;
            } else {
                char_sq += *x * *x;
            }
        }
        let word_scale = if word_sq > 0.0 { std::f32::consts::FRAC_1_SQRT_2 / word_sq.sqrt() } else { 0.0 };
        let char_scale = if char_sq > 0.0 { std::f32::consts::FRAC_1_SQRT_2 / char_sq.sqrt() } else { 0.0 };
        for (i, (_, x)) in v.iter_mut().enumerate() {
            *x *= if i < words_end { word_scale } else { char_scale };
        }
        let n = self.keys.len() as u32;
        for (i, x) in extra.iter().enumerate() {
            if *x != 0.0 {
                v.push((n + i as u32, x * LEXICON_SCALE));
            }
        }
        v
    }
}

/// Per-row term counts of the text being weighed on this thread, and which rows are set
/// (a bit a row), so that [`Vocabulary::vector_of_words`] counts without sorting; both are
/// left all zero after each text.
#[derive(Default)]
struct Tally {
    counts: Vec<u32>,
    seen: Vec<u64>,
}

thread_local! {
    static TALLY: std::cell::RefCell<Tally> = std::cell::RefCell::new(Tally::default());
}

/// A trained model. Cheap to share; prediction takes `&self`.
#[derive(Debug, Clone)]
pub struct Model {
    info: ModelInfo,
    vocab: Vocabulary,
    /// Row-major: `heads()` weights per input (n-gram rows, then the lexicon inputs), the
    /// file's i16 values × the head's step.
    weights: Vec<f32>,
    bias: Vec<f32>,
    /// Per-head quantisation steps (weights are stored as i16 × step).
    steps: Vec<f32>,
}

/// The model's raw outputs for one text.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    /// Decision value minus threshold, per theme: tagged when ≥ 0.
    pub themes: Vec<f32>,
    /// Decision values for positive, neutral, negative (when the model has sentiment).
    pub sentiment: Option<[f32; 3]>,
}

/// The words or phrases that weighed most for one tag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub tag: String,
    pub words: Vec<String>,
}

impl Model {
    /// The model shipped with parley.
    pub fn embedded() -> Arc<Model> {
        static MODEL: OnceLock<Arc<Model>> = OnceLock::new();
        #[allow(clippy::expect_used)] // embedded file, covered by tests
        MODEL
            .get_or_init(|| Arc::new(Model::from_bytes(EMBEDDED_MODEL).expect("the embedded model file is valid")))
            .clone()
    }

    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    pub fn themes(&self) -> &[String] {
        &self.info.themes
    }

    pub fn has_sentiment(&self) -> bool {
        self.info.sentiment
    }

    pub fn uses_lexicon(&self) -> bool {
        self.info.lexicon
    }

    fn heads(&self) -> usize {
        self.info.themes.len() + if self.info.sentiment { 3 } else { 0 }
    }

    fn extra_inputs(info: &ModelInfo) -> usize {
        if info.lexicon {
            2 + info.lexicon_themes.len()
        } else {
            0
        }
    }

    /// Builds a model from float weights, quantising them as the file stores them, so that
    /// a trained model predicts exactly as it will after saving and loading.
    pub(crate) fn from_parts(info: ModelInfo, vocab: Vocabulary, weights: &[f64], bias: &[f64]) -> Model {
        let heads = info.themes.len() + if info.sentiment { 3 } else { 0 };
        let mut steps = vec![0.0_f32; heads];
        for (h, step) in steps.iter_mut().enumerate() {
            let max = weights.iter().skip(h).step_by(heads).fold(0.0_f64, |m, w| m.max(w.abs()));
            *step = if max > 0.0 { (max / f64::from(i16::MAX)) as f32 } else { 1.0 };
        }
        let q: Vec<i16> = weights
            .iter()
            .enumerate()
            .map(|(i, w)| (w / f64::from(steps[i % heads])).round().clamp(-32767.0, 32767.0) as i16)
            .collect();
        let weights = q.iter().enumerate().map(|(i, w)| f32::from(*w) * steps[i % heads]).collect();
        let bias = bias.iter().map(|b| *b as f32).collect();
        Model { info, vocab, weights, bias, steps }
    }

    /// The model file: magic, format, a JSON header, then little-endian arrays.
    pub fn to_bytes(&self) -> Vec<u8> {
        let heads = self.heads();
        let header = serde_json::to_vec(&self.info).unwrap_or_default();
        let mut out = Vec::with_capacity(64 + header.len() + self.vocab.len() * 8 + self.weights.len() * 2);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT.to_le_bytes());
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(&(self.vocab.len() as u32).to_le_bytes());
        for k in &self.vocab.keys {
            out.extend_from_slice(&k.to_le_bytes());
        }
        for x in &self.vocab.idf {
            out.extend_from_slice(&x.to_le_bytes());
        }
        for x in self.steps.iter().chain(&self.bias) {
            out.extend_from_slice(&x.to_le_bytes());
        }
        for (i, w) in self.weights.iter().enumerate() {
            let q = (w / self.steps[i % heads]).round() as i16;
            out.extend_from_slice(&q.to_le_bytes());
        }
        out
    }

    /// Reads a model file written by [`Model::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Model> {
        let bad = |what: &str| Error::Model(format!("not a parley theme model file ({what})"));
        let mut r = Reader { bytes, at: 0 };
        if r.take(8).ok_or_else(|| bad("too short"))? != MAGIC {
            return Err(bad("wrong magic bytes"));
        }
        let format = r.u32().ok_or_else(|| bad("too short"))?;
        if format != FORMAT {
            return Err(Error::Model(format!("model file format {format}, this parley reads format {FORMAT}")));
        }
        let len = r.u32().ok_or_else(|| bad("too short"))? as usize;
        let header = r.take(len).ok_or_else(|| bad("truncated header"))?;
        let info: ModelInfo =
            serde_json::from_slice(header).map_err(|e| Error::Model(format!("model file header: {e}")))?;
        if info.thresholds.len() != info.themes.len() {
            return Err(bad("one threshold per theme expected"));
        }
        let n = r.u32().ok_or_else(|| bad("truncated"))? as usize;
        let keys = (0..n).map(|_| r.u32()).collect::<Option<Vec<u32>>>().ok_or_else(|| bad("truncated keys"))?;
        let idf = (0..n).map(|_| r.f32()).collect::<Option<Vec<f32>>>().ok_or_else(|| bad("truncated idf"))?;
        let heads = info.themes.len() + if info.sentiment { 3 } else { 0 };
        let steps = (0..heads).map(|_| r.f32()).collect::<Option<Vec<f32>>>().ok_or_else(|| bad("truncated"))?;
        let bias = (0..heads).map(|_| r.f32()).collect::<Option<Vec<f32>>>().ok_or_else(|| bad("truncated"))?;
        let inputs = n + Model::extra_inputs(&info);
        let mut weights = Vec::with_capacity(inputs * heads);
        for i in 0..inputs * heads {
            let q = r.i16().ok_or_else(|| bad("truncated weights"))?;
            weights.push(f32::from(q) * steps[i % heads]);
        }
        if r.at != bytes.len() {
            return Err(bad("trailing bytes"));
        }
        if keys.windows(2).any(|w| w[0] >= w[1]) {
            return Err(bad("feature keys out of order"));
        }
        Ok(Model { info, vocab: Vocabulary::new(keys, idf), weights, bias, steps })
    }

    /// Whether a theme is tagged, given its score (decision minus threshold) and
    /// whether the lexicon's phrases found it.
    pub fn tagged(&self, score: f32, lexicon_found: bool) -> bool {
        score >= 0.0 || (lexicon_found && score >= -self.info.lexicon_margin)
    }

    /// Decision values for a text; `lexicon` is what the lexicon found in it (used when
    /// [`Model::uses_lexicon`]).
    pub fn scores(&self, text: &str, lexicon: &LexiconInput) -> Scores {
        let words = features::words(text);
        let extra = self.extra(lexicon);
        let v = self.vocab.vector_of_words(&words, &extra);
        let heads = self.heads();
        let mut out = self.bias.clone();
        for (row, x) in v {
            let w = &self.weights[row as usize * heads..(row as usize + 1) * heads];
            for (o, w) in out.iter_mut().zip(w) {
                *o += w * x;
            }
        }
        let t = self.info.themes.len();
        let themes = out[..t].iter().zip(&self.info.thresholds).map(|(d, th)| d - th).collect();
        let sentiment = self.info.sentiment.then(|| [out[t], out[t + 1], out[t + 2]]);
        Scores { themes, sentiment }
    }

    /// The extra inputs for what the lexicon found.
    pub(crate) fn extra(&self, lexicon: &LexiconInput) -> Vec<f32> {
        extra_inputs(self.info.lexicon, &self.info.lexicon_themes, lexicon)
    }

    /// The words and word pairs that weighed most for each head in `tags` (theme ids, or
    /// "positive"/"neutral"/"negative"): character n-grams count for the word they are in.
    pub fn explain(&self, text: &str, tags: &[&str], top: usize) -> Vec<Evidence> {
        let words = features::words(text);
        let mut occ: Vec<Occurrence> = Vec::new();
        features::occurrences(&words, &mut occ);
        let counts = features::counts(&occ);
        let mut v = self.vocab.vector(&counts, &[]);
        v.sort_unstable_by_key(|(r, _)| *r);
        let heads = self.heads();
        let t = self.info.themes.len();
        let mut out = Vec::new();
        for tag in tags {
            let head = match self.info.themes.iter().position(|id| id == tag) {
                Some(h) => h,
                None if self.info.sentiment => match *tag {
                    "positive" => t,
                    "neutral" => t + 1,
                    "negative" => t + 2,
                    _ => continue,
                },
                None => continue,
            };
            // Contribution of each occurrence: the feature's weight × value, shared equally
            // between its occurrences.
            let mut by_phrase: Vec<(String, f32)> = Vec::new();
            for o in &occ {
                let Some(row) = self.vocab.table.get(o.key) else { continue };
                let Ok(pos) = v.binary_search_by_key(&row, |(r, _)| *r) else { continue };
                let n = counts.binary_search_by_key(&o.key, |(k, _)| *k).map(|i| counts[i].1).unwrap_or(1);
                let c = self.weights[row as usize * heads + head] * v[pos].1 / n as f32;
                let w = o.word as usize;
                let phrase = if o.bigram {
                    format!("{} {}", words[w], words.get(w + 1).map(String::as_str).unwrap_or(""))
                } else {
                    words[w].clone()
                };
                match by_phrase.iter_mut().find(|(p, _)| *p == phrase) {
                    Some((_, s)) => *s += c,
                    None => by_phrase.push((phrase, c)),
                }
            }
            // Function words carry weight only through the n-grams they share; they explain
            // nothing to a reader.
            by_phrase.retain(|(p, c)| *c > 0.0 && !p.split(' ').all(|w| STOP_WORDS.contains(&w)));
            by_phrase.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let mut chosen: Vec<String> = Vec::new();
            for (p, _) in by_phrase {
                // A pair whose words are already shown adds nothing.
                if chosen.iter().any(|c| p.split(' ').all(|w| c.split(' ').any(|x| x == w))) {
                    continue;
                }
                chosen.push(p);
                if chosen.len() == top {
                    break;
                }
            }
            out.push(Evidence { tag: (*tag).to_owned(), words: chosen });
        }
        out
    }

    /// Sentiment from the three decision values: the label of the largest, and a score in
    /// [-1, 1] (probability of positive minus negative) kept inside that label's band.
    pub fn sentiment_of(d: [f32; 3]) -> (SentimentLabel, f64) {
        let label = if d[0] >= d[1] && d[0] >= d[2] {
            SentimentLabel::Positive
        } else if d[2] >= d[1] {
            SentimentLabel::Negative
        } else {
            SentimentLabel::Neutral
        };
        let max = d.iter().fold(f32::MIN, |m, x| m.max(*x));
        let e: Vec<f64> = d.iter().map(|x| f64::from(3.0 * (x - max)).exp()).collect();
        let sum: f64 = e.iter().sum();
        let raw = (e[0] - e[2]) / sum;
        let band = crate::analyzer::NEUTRAL_BAND;
        let score = match label {
            SentimentLabel::Positive => raw.max(band),
            SentimentLabel::Negative => raw.min(-band),
            SentimentLabel::Neutral => raw.clamp(-band + 0.01, band - 0.01),
        };
        (label, score)
    }
}

const STOP_WORDS: &[&str] = &[
    "a", "an", "the", "and", "or", "to", "of", "in", "on", "at", "for", "with", "was", "were", "is", "are", "be",
    "been", "i", "me", "my", "we", "us", "our", "you", "it", "its", "this", "that", "they", "them", "their", "he",
    "she", "his", "her", "as", "so", "by", "from", "had", "have", "has", "all", "very", "s", "t",
];

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4).and_then(|b| b.try_into().ok()).map(u32::from_le_bytes)
    }
    fn f32(&mut self) -> Option<f32> {
        self.take(4).and_then(|b| b.try_into().ok()).map(f32::from_le_bytes)
    }
    fn i16(&mut self) -> Option<i16> {
        self.take(2).and_then(|b| b.try_into().ok()).map(i16::from_le_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_table_finds_every_key_and_nothing_else() {
        let keys: Vec<u32> = (0..1000u32).map(|i| i * 7919 + 3).collect();
        let t = KeyTable::new(&keys);
        for (row, k) in keys.iter().enumerate() {
            assert_eq!(t.get(*k), Some(row as u32));
        }
        assert_eq!(t.get(5), None);
    }

    #[test]
    fn vectors_counted_by_row_are_the_sorted_counts_own() {
        let m = Model::embedded();
        let texts = [
            "",
            "ok",
            "The wait was too long, far too long: long long long!",
            "Couldn't fault the A&E staff. 10/10 would recommend",
            "Très bien, merci — straße ÉCOLE 漢字 🙂",
            "a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a",
        ];
        let long = "receptionist appointment ".repeat(500);
        for text in texts.iter().copied().chain([long.as_str()]) {
            let words = features::words(text);
            let mut occ = Vec::new();
            features::occurrences(&words, &mut occ);
            let extra = [0.5, 0.0, 1.0];
            let sorted = m.vocab.vector(&features::counts(&occ), &extra);
            // Twice: the tally is left empty after each text.
            for _ in 0..2 {
                let tallied = m.vocab.vector_of_words(&words, &extra);
                assert_eq!(tallied.len(), sorted.len(), "{text}");
                for (a, b) in tallied.iter().zip(&sorted) {
                    assert_eq!((a.0, a.1.to_bits()), (b.0, b.1.to_bits()), "{text}");
                }
            }
        }
    }

    #[test]
    fn sentiment_score_stays_in_the_label_band() {
        for d in [[1.0, -1.0, -1.0], [-1.0, 1.0, -1.0], [-1.0, -1.0, 1.0], [0.1, 0.0, 0.099], [-0.5, -0.4, -0.45]] {
            let (label, score) = Model::sentiment_of(d);
            assert_eq!(crate::Sentiment::from_score(score).label, label, "{d:?} → {score}");
        }
    }

    #[test]
    fn bad_model_files_are_rejected() {
        assert!(Model::from_bytes(b"").is_err());
        assert!(Model::from_bytes(b"PARLEYTMxxxx").is_err());
        let mut good = EMBEDDED_MODEL.to_vec();
        good.push(0);
        assert!(Model::from_bytes(&good).unwrap_err().to_string().contains("trailing"));
    }

    #[test]
    fn embedded_model_round_trips_bit_for_bit() {
        let m = Model::embedded();
        assert_eq!(m.to_bytes(), EMBEDDED_MODEL);
        assert!(m.themes().iter().any(|t| t == "waiting"));
        assert!(m.has_sentiment());
    }
}
