//! Training and cross-validation. The learner is liblinear's dual coordinate descent for
//! the L2-regularised, squared-hinge linear SVM (Hsieh et al., 2008), on sparse rows,
//! with a fixed-seed visiting order, so that the same CSV always gives the same file.
//! Theme classifiers are NB-SVMs (Wang and Manning, 2012): the SVM sees each input scaled
//! by its naive Bayes log-count ratio for that theme, and the ratios are folded back into
//! the weights, so a model file is read and applied exactly as a plain linear one.

use std::collections::BTreeMap;

use serde::Serialize;

use super::data::Corpus;
use super::features;
use super::{extra_inputs, LexiconInput, Model, ModelInfo, SparseVec, Vocabulary};
use crate::analyzer::{Analyzer, SentimentLabel};

/// Settings of a training run (the defaults made the shipped model).
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    /// Regularisation of the theme classifiers (higher fits the training data harder).
    pub c_themes: f64,
    /// Regularisation of the sentiment classifiers.
    pub c_sentiment: f64,
    /// Drop features seen in fewer comments than this (NB-SVM makes use of the rare ones
    /// for themes; see `sentiment_min_df`).
    pub min_df: u32,
    /// Folds of the inner cross-validation that picks each theme's threshold.
    pub threshold_folds: usize,
    /// Repetitions of that inner cross-validation (each with its own folds): the threshold
    /// maximises F1 over all their out-of-fold decision values together.
    pub threshold_repeats: usize,
    /// Seed of the visiting order and the folds.
    pub seed: u64,
    /// Give the lexicon's sentiment score and theme matches to the model as inputs.
    pub lexicon: bool,
    /// Tag a theme the lexicon found down to this far below the model's threshold.
    pub lexicon_margin: f32,
    /// Weight each theme's examples so that both classes weigh the same (cross-validation
    /// on the NHS data prefers no weighting, since the thresholds are tuned anyway).
    pub balance_classes: bool,
    /// NB-SVM (Wang and Manning, 2012): each theme's classifier sees its inputs scaled by
    /// their naive Bayes log-count ratio, with this smoothing; 0 turns it off. The ratios
    /// are folded into the weights, so the model file and tagging are unchanged.
    pub nb_alpha: f64,
    /// The sentiment classifiers leave out features seen in fewer comments than this.
    pub sentiment_min_df: u32,
    /// Where the data came from, recorded in the model file.
    pub source: String,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            c_themes: 0.3,
            c_sentiment: 0.3,
            min_df: 1,
            threshold_folds: 5,
            threshold_repeats: 3,
            seed: 12,
            lexicon: true,
            lexicon_margin: 0.0,
            balance_classes: false,
            nb_alpha: 1.0,
            sentiment_min_df: 2,
            source: String::new(),
        }
    }
}

/// splitmix64: a tiny fixed generator, so the model does not depend on a crate's RNG.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

/// Fold of each item: a seeded permutation dealt round-robin.
fn folds(n: usize, k: usize, seed: u64) -> Vec<usize> {
    let mut perm: Vec<usize> = (0..n).collect();
    Rng(seed).shuffle(&mut perm);
    let mut fold = vec![0; n];
    for (i, p) in perm.into_iter().enumerate() {
        fold[p] = i % k.max(1);
    }
    fold
}

/// Squared-hinge linear SVM by dual coordinate descent; labels ±1, cost per label.
/// Returns the weights (one per input) and the bias.
fn svm(rows: &[&SparseVec], y: &[bool], inputs: usize, c_pos: f64, c_neg: f64, seed: u64) -> (Vec<f64>, f64) {
    let n = rows.len();
    let mut w = vec![0.0_f64; inputs];
    let mut b = 0.0_f64;
    if n == 0 {
        return (w, b);
    }
    let diag: Vec<f64> = y.iter().map(|&p| 0.5 / if p { c_pos } else { c_neg }).collect();
    let qd: Vec<f64> = rows
        .iter()
        .zip(&diag)
        .map(|(r, d)| r.iter().map(|(_, x)| f64::from(*x) * f64::from(*x)).sum::<f64>() + 1.0 + d)
        .collect();
    let mut alpha = vec![0.0_f64; n];
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = Rng(seed);
    for _ in 0..1000 {
        rng.shuffle(&mut order);
        let (mut max_pg, mut min_pg) = (f64::NEG_INFINITY, f64::INFINITY);
        for &i in &order {
            let yi = if y[i] { 1.0 } else { -1.0 };
            let dot: f64 = rows[i].iter().map(|(j, x)| w[*j as usize] * f64::from(*x)).sum::<f64>() + b;
            let g = yi * dot - 1.0 + alpha[i] * diag[i];
            let pg = if alpha[i] == 0.0 { g.min(0.0) } else { g };
            max_pg = max_pg.max(pg);
            min_pg = min_pg.min(pg);
            if pg.abs() > 1e-12 {
                let old = alpha[i];
                alpha[i] = (old - g / qd[i]).max(0.0);
                let d = (alpha[i] - old) * yi;
                for (j, x) in rows[i].iter() {
                    w[*j as usize] += d * f64::from(*x);
                }
                b += d;
            }
        }
        if max_pg - min_pg <= 0.05 {
            break;
        }
    }
    (w, b)
}

/// Naive Bayes log-count ratios of the inputs for one label: ln((p_j / |p|) / (q_j / |q|))
/// where p_j (q_j) is `alpha` plus the number of positive (negative) rows in which input j is
/// non-zero.
fn nb_ratios(rows: &[&SparseVec], y: &[bool], inputs: usize, alpha: f64) -> Vec<f64> {
    let mut p = vec![alpha; inputs];
    let mut q = vec![alpha; inputs];
    for (row, &yi) in rows.iter().zip(y) {
        let side = if yi { &mut p } else { &mut q };
        for (j, x) in row.iter() {
            if *x != 0.0 {
                side[*j as usize] += 1.0;
            }
        }
    }
    let (ps, qs): (f64, f64) = (p.iter().sum(), q.iter().sum());
    p.iter().zip(&q).map(|(pj, qj)| ((pj / ps) / (qj / qs)).ln()).collect()
}

/// A linear SVM, on NB-scaled inputs when `nb_alpha` > 0 (the ratios are folded into the
/// returned weights, so they apply to unscaled inputs).
fn fit(
    rows: &[&SparseVec],
    y: &[bool],
    inputs: usize,
    (cp, cn): (f64, f64),
    nb_alpha: f64,
    seed: u64,
) -> (Vec<f64>, f64) {
    if nb_alpha <= 0.0 {
        return svm(rows, y, inputs, cp, cn, seed);
    }
    let r = nb_ratios(rows, y, inputs, nb_alpha);
    let scaled: Vec<SparseVec> = rows
        .iter()
        .map(|row| row.iter().map(|(j, x)| (*j, (f64::from(*x) * r[*j as usize]) as f32)).collect())
        .collect();
    let refs: Vec<&SparseVec> = scaled.iter().collect();
    let (mut w, b) = svm(&refs, y, inputs, cp, cn, seed);
    for (wj, rj) in w.iter_mut().zip(&r) {
        *wj *= rj;
    }
    (w, b)
}

/// A theme's classifier.
fn fit_theme(rows: &[&SparseVec], y: &[bool], inputs: usize, opts: &TrainOptions, seed: u64) -> (Vec<f64>, f64) {
    fit(rows, y, inputs, costs(opts.c_themes, y, opts.balance_classes), opts.nb_alpha, seed)
}

fn decision(w: &[f64], b: f64, row: &SparseVec) -> f64 {
    row.iter().map(|(j, x)| w[*j as usize] * f64::from(*x)).sum::<f64>() + b
}

/// Costs of positive and negative examples: class-balanced (each class weighs as much as
/// the other in total) or equal.
fn costs(c: f64, y: &[bool], balance: bool) -> (f64, f64) {
    if !balance {
        return (c, c);
    }
    let pos = y.iter().filter(|p| **p).count().max(1) as f64;
    let neg = (y.len() as f64 - pos).max(1.0);
    let n = y.len() as f64;
    (c * n / (2.0 * pos), c * n / (2.0 * neg))
}

/// The threshold on decision values that maximises F1 (between two distinct scores).
fn best_threshold(scores: &[(f64, bool)]) -> f64 {
    let positives = scores.iter().filter(|(_, p)| *p).count();
    if positives == 0 {
        return 1e6;
    }
    let mut s: Vec<(f64, bool)> = scores.to_vec();
    s.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let (mut best_f1, mut best_t) = (-1.0_f64, 0.0_f64);
    let mut tp = 0usize;
    for k in 0..s.len() {
        tp += usize::from(s[k].1);
        if k + 1 < s.len() && s[k + 1].0 == s[k].0 {
            continue;
        }
        let f1 = 2.0 * tp as f64 / (k as f64 + 1.0 + positives as f64);
        if f1 > best_f1 {
            best_f1 = f1;
            best_t = match s.get(k + 1) {
                Some(next) => (s[k].0 + next.0) / 2.0,
                None => s[k].0 - 1e-3,
            };
        }
    }
    best_t
}

/// What the lexicon-only analyser (default taxonomy) finds in each text.
fn lexicon_inputs(texts: &[&str]) -> (Vec<String>, Vec<LexiconInput>) {
    let lexicon = Analyzer::lexicon_only(crate::Taxonomy::default());
    let ids = lexicon.taxonomy().themes().iter().map(|t| t.id.clone()).collect();
    let inputs = texts
        .iter()
        .map(|t| {
            let a = lexicon.analyse(t);
            LexiconInput { score: a.sentiment.score as f32, themes: a.themes }
        })
        .collect();
    (ids, inputs)
}

type Lexicon = Option<(Vec<String>, Vec<LexiconInput>)>;

/// Term counts of each text.
fn all_counts(texts: &[&str]) -> Vec<Vec<(u32, u32)>> {
    let mut occ = Vec::new();
    texts
        .iter()
        .map(|t| {
            features::occurrences(&features::words(t), &mut occ);
            features::counts(&occ)
        })
        .collect()
}

/// Trains a model on every example of `corpus`.
pub fn train(corpus: &Corpus, opts: &TrainOptions) -> Model {
    let all: Vec<usize> = (0..corpus.examples.len()).collect();
    let texts: Vec<&str> = corpus.examples.iter().map(|e| e.text.as_str()).collect();
    let lex = if opts.lexicon { Some(lexicon_inputs(&texts)) } else { None };
    train_on(corpus, opts, &all, &all_counts(&texts), &lex)
}

fn train_on(corpus: &Corpus, opts: &TrainOptions, idx: &[usize], counts: &[Vec<(u32, u32)>], lex: &Lexicon) -> Model {
    // Vocabulary: keys in at least min_df of these comments.
    let mut df: BTreeMap<u32, u32> = BTreeMap::new();
    for &i in idx {
        for (k, _) in &counts[i] {
            *df.entry(*k).or_default() += 1;
        }
    }
    let n = idx.len() as f64;
    let kept: Vec<(u32, u32)> = df.into_iter().filter(|(_, d)| *d >= opts.min_df).collect();
    // Rows of the features rare enough to be left out of the sentiment classifiers.
    let rare: Vec<bool> = kept.iter().map(|(_, d)| *d < opts.sentiment_min_df).collect();
    let (keys, idf): (Vec<u32>, Vec<f32>) =
        kept.into_iter().map(|(k, d)| (k, (((1.0 + n) / (1.0 + f64::from(d))).ln() + 1.0) as f32)).unzip();
    let vocab = Vocabulary::new(keys, idf);
    let lexicon_themes: Vec<String> = lex.as_ref().map(|(ids, _)| ids.clone()).unwrap_or_default();
    let rows: Vec<SparseVec> = idx
        .iter()
        .map(|&i| {
            let extra = match lex {
                Some((ids, inputs)) => extra_inputs(true, ids, &inputs[i]),
                None => Vec::new(),
            };
            vocab.vector(&counts[i], &extra)
        })
        .collect();
    let inputs = vocab.len() + lex.as_ref().map(|(ids, _)| 2 + ids.len()).unwrap_or(0);
    let refs: Vec<&SparseVec> = rows.iter().collect();
    let themes = corpus.themes.len();
    let labelled: Vec<usize> = (0..idx.len()).filter(|&r| corpus.examples[idx[r]].sentiment.is_some()).collect();
    let sentiment = labelled.len() >= 10;
    let heads = themes + if sentiment { 3 } else { 0 };
    let mut weights = vec![0.0_f64; inputs * heads];
    let mut bias = vec![0.0_f64; heads];
    let mut thresholds = Vec::with_capacity(themes);
    let inner: Vec<Vec<usize>> = (0..opts.threshold_repeats.max(1) as u64)
        .map(|rep| folds(idx.len(), opts.threshold_folds, (opts.seed ^ 0x5eed).wrapping_add(rep)))
        .collect();
    for t in 0..themes {
        let y: Vec<bool> = idx.iter().map(|&i| corpus.examples[i].themes[t]).collect();
        // Out-of-fold decision values choose the threshold.
        let mut oof: Vec<(f64, bool)> = Vec::with_capacity(idx.len());
        for (inner, f) in inner.iter().flat_map(|i| (0..opts.threshold_folds).map(move |f| (i, f))) {
            let tr: Vec<usize> = (0..idx.len()).filter(|&r| inner[r] != f).collect();
            let te: Vec<usize> = (0..idx.len()).filter(|&r| inner[r] == f).collect();
            let ty: Vec<bool> = tr.iter().map(|&r| y[r]).collect();
            let tr_rows: Vec<&SparseVec> = tr.iter().map(|&r| refs[r]).collect();
            let (w, b) = fit_theme(&tr_rows, &ty, inputs, opts, opts.seed.wrapping_add(t as u64));
            oof.extend(te.iter().map(|&r| (decision(&w, b, refs[r]), y[r])));
        }
        thresholds.push(best_threshold(&oof) as f32);
        let (w, b) = fit_theme(&refs, &y, inputs, opts, opts.seed.wrapping_add(t as u64));
        for (j, wj) in w.into_iter().enumerate() {
            weights[j * heads + t] = wj;
        }
        bias[t] = b;
    }
    if sentiment {
        let common: Vec<SparseVec> = labelled
            .iter()
            .map(|&r| {
                refs[r].iter().filter(|(j, _)| !rare.get(*j as usize).copied().unwrap_or(false)).copied().collect()
            })
            .collect();
        let s_rows: Vec<&SparseVec> = common.iter().collect();
        for (c, label) in
            [SentimentLabel::Positive, SentimentLabel::Neutral, SentimentLabel::Negative].iter().enumerate()
        {
            let y: Vec<bool> = labelled.iter().map(|&r| corpus.examples[idx[r]].sentiment == Some(*label)).collect();
            // NB scaling did not help sentiment in cross-validation.
            let cs = (opts.c_sentiment, opts.c_sentiment);
            let (w, b) = fit(&s_rows, &y, inputs, cs, 0.0, opts.seed.wrapping_add(100 + c as u64));
            for (j, wj) in w.into_iter().enumerate() {
                weights[j * heads + themes + c] = wj;
            }
            bias[themes + c] = b;
        }
    }
    let info = ModelInfo {
        themes: corpus.themes.clone(),
        thresholds,
        sentiment,
        lexicon: lex.is_some(),
        lexicon_themes,
        lexicon_margin: if lex.is_some() { opts.lexicon_margin } else { 0.0 },
        min_df: opts.min_df,
        sentiment_min_df: opts.sentiment_min_df,
        nb_alpha: opts.nb_alpha,
        threshold_repeats: opts.threshold_repeats as u32,
        c_themes: opts.c_themes,
        c_sentiment: opts.c_sentiment,
        trained_on: idx.len() as u32,
        source: if opts.source.is_empty() && corpus.nhs_fft {
            super::NHS_FFT_SOURCE.to_owned()
        } else {
            opts.source.clone()
        },
    };
    Model::from_parts(info, vocab, &weights, &bias)
}

/// Precision, recall and F1 of one theme.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThemeScore {
    pub theme: String,
    pub support: u32,
    pub tp: u32,
    pub fp: u32,
    pub fn_: u32,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// Cross-validated figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CvReport {
    /// What was measured, e.g. "5-fold cross-validation" or "trained on NEAS, scored on NHFT".
    pub setting: String,
    pub comments: usize,
    pub themes: Vec<ThemeScore>,
    /// Mean F1 over themes with at least `min_support` examples.
    pub macro_f1: f64,
    pub min_support: u32,
    /// Sentiment accuracy over scored comments with a sentiment label.
    pub sentiment_accuracy: Option<f64>,
    pub sentiment_n: u32,
}

impl std::fmt::Display for CvReport {
    /// A table: per theme support, precision, recall and F1, then the summary figures.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{} on {} comments", self.setting, self.comments)?;
        writeln!(f, "{:<20} {:>7} {:>9} {:>7} {:>6}", "theme", "support", "precision", "recall", "f1")?;
        for t in &self.themes {
            let mark = if t.support >= self.min_support { "" } else { "  (not in macro-F1)" };
            writeln!(f, "{:<20} {:>7} {:>9.3} {:>7.3} {:>6.3}{mark}", t.theme, t.support, t.precision, t.recall, t.f1)?;
        }
        writeln!(f, "theme macro-F1 (themes with >= {} examples): {:.3}", self.min_support, self.macro_f1)?;
        match self.sentiment_accuracy {
            Some(a) => writeln!(f, "sentiment accuracy: {a:.3} on {} comments", self.sentiment_n),
            None => writeln!(f, "sentiment: no labelled comments"),
        }
    }
}

#[derive(Default)]
struct Tally {
    tp: Vec<u32>,
    fp: Vec<u32>,
    fn_: Vec<u32>,
    ok: u32,
    n: u32,
    comments: usize,
}

fn score_split(
    corpus: &Corpus,
    opts: &TrainOptions,
    train_idx: &[usize],
    test_idx: &[usize],
    counts: &[Vec<(u32, u32)>],
    lex: &Lexicon,
    tally: &mut Tally,
) {
    let none = LexiconInput::default();
    let model = train_on(corpus, opts, train_idx, counts, lex);
    for &i in test_idx {
        let e = &corpus.examples[i];
        let s = model.scores(&e.text, lex.as_ref().map(|(_, l)| &l[i]).unwrap_or(&none));
        let found = |t: usize| lex.as_ref().is_some_and(|(_, l)| l[i].themes.contains(&corpus.themes[t]));
        for (t, d) in s.themes.iter().enumerate() {
            match (model.tagged(*d, found(t)), e.themes[t]) {
                (true, true) => tally.tp[t] += 1,
                (true, false) => tally.fp[t] += 1,
                (false, true) => tally.fn_[t] += 1,
                _ => {}
            }
        }
        if let (Some(gold), Some(d)) = (e.sentiment, s.sentiment) {
            tally.n += 1;
            tally.ok += u32::from(Model::sentiment_of(d).0 == gold);
        }
        tally.comments += 1;
    }
}

fn report(corpus: &Corpus, tally: Tally, setting: String, min_support: u32) -> CvReport {
    let ratio = |a: u32, b: u32| if b == 0 { 0.0 } else { f64::from(a) / f64::from(b) };
    let themes: Vec<ThemeScore> = corpus
        .themes
        .iter()
        .enumerate()
        .map(|(t, id)| {
            let (tp, fp, fn_) = (tally.tp[t], tally.fp[t], tally.fn_[t]);
            let precision = ratio(tp, tp + fp);
            let recall = ratio(tp, tp + fn_);
            let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
            ThemeScore { theme: id.clone(), support: tp + fn_, tp, fp, fn_, precision, recall, f1 }
        })
        .collect();
    let counted: Vec<f64> = themes.iter().filter(|s| s.support >= min_support).map(|s| s.f1).collect();
    let macro_f1 = if counted.is_empty() { 0.0 } else { counted.iter().sum::<f64>() / counted.len() as f64 };
    CvReport {
        setting,
        comments: tally.comments,
        themes,
        macro_f1,
        min_support,
        sentiment_accuracy: (tally.n > 0).then(|| ratio(tally.ok, tally.n)),
        sentiment_n: tally.n,
    }
}

fn prepare(corpus: &Corpus, opts: &TrainOptions) -> (Vec<Vec<(u32, u32)>>, Lexicon, Tally) {
    let texts: Vec<&str> = corpus.examples.iter().map(|e| e.text.as_str()).collect();
    let lex = if opts.lexicon { Some(lexicon_inputs(&texts)) } else { None };
    let t = corpus.themes.len();
    let tally = Tally { tp: vec![0; t], fp: vec![0; t], fn_: vec![0; t], ..Tally::default() };
    (all_counts(&texts), lex, tally)
}

/// k-fold cross-validation: each fold is scored by a model (thresholds included) trained
/// on the other folds only. Macro-F1 counts themes with at least 50 examples.
pub fn cross_validate(corpus: &Corpus, opts: &TrainOptions, k: usize) -> CvReport {
    let (counts, lex, mut tally) = prepare(corpus, opts);
    let fold = folds(corpus.examples.len(), k, opts.seed);
    for f in 0..k {
        let tr: Vec<usize> = (0..fold.len()).filter(|&i| fold[i] != f).collect();
        let te: Vec<usize> = (0..fold.len()).filter(|&i| fold[i] == f).collect();
        score_split(corpus, opts, &tr, &te, &counts, &lex, &mut tally);
    }
    report(corpus, tally, format!("{k}-fold cross-validation"), 50)
}

/// Trains on the comments of one group (e.g. one trust) and scores the others: how well the
/// model carries over to wording it has not seen.
pub fn cross_group(corpus: &Corpus, opts: &TrainOptions, train_group: &str) -> CvReport {
    let (counts, lex, mut tally) = prepare(corpus, opts);
    let in_group = |i: &usize| corpus.examples[*i].group.as_deref() == Some(train_group);
    let tr: Vec<usize> = (0..corpus.examples.len()).filter(in_group).collect();
    let te: Vec<usize> = (0..corpus.examples.len()).filter(|i| !in_group(i)).collect();
    score_split(corpus, opts, &tr, &te, &counts, &lex, &mut tally);
    report(corpus, tally, format!("trained on {train_group} only, scored on the other groups"), 50)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_are_balanced_and_seeded() {
        let f = folds(103, 5, 7);
        for k in 0..5 {
            let n = f.iter().filter(|x| **x == k).count();
            assert!((20..=21).contains(&n));
        }
        assert_eq!(f, folds(103, 5, 7));
        assert_ne!(f, folds(103, 5, 8));
    }

    #[test]
    fn threshold_maximises_f1() {
        let s = [(2.0, true), (1.0, true), (0.5, false), (0.2, true), (-1.0, false), (-2.0, false)];
        let t = best_threshold(&s);
        // Top 4 (3 of 3 positives, 1 false positive): F1 = 6/7, better than top 2 (0.8).
        assert!(t > -1.0 && t < 0.2, "{t}");
        assert_eq!(best_threshold(&[(1.0, false)]), 1e6);
    }

    #[test]
    fn svm_separates_a_separable_problem() {
        let rows: Vec<SparseVec> = vec![vec![(0, 1.0)], vec![(0, 0.9)], vec![(1, 1.0)], vec![(1, 0.8)]];
        let refs: Vec<&SparseVec> = rows.iter().collect();
        let y = [true, true, false, false];
        let (w, b) = svm(&refs, &y, 2, 10.0, 10.0, 1);
        for (r, yi) in rows.iter().zip(y) {
            assert_eq!(decision(&w, b, r) > 0.0, yi);
        }
    }
}
