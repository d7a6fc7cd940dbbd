//! Held-out evaluation of theme tagging and sentiment. Run with
//! `cargo test -p themes --test evaluation -- --nocapture` to see the figures.
//! Tuning used only `tests/data/tuning.jsonl`; this test reads the held-out part.
#![allow(clippy::unwrap_used)]

mod common;

use themes::{Analyzer, Taxonomy};

struct Report {
    macro_f1: f64,
    sentiment_accuracy: f64,
}

fn evaluate(file: &str, verbose: bool) -> Report {
    evaluate_with(&Analyzer::lexicon_only(Taxonomy::default()), file, verbose)
}

fn evaluate_with(analyzer: &Analyzer, file: &str, verbose: bool) -> Report {
    let data = common::load(file);
    let ids: Vec<String> = Taxonomy::default().themes().iter().map(|t| t.id.clone()).collect();
    let mut tp = vec![0u32; ids.len()];
    let mut fp = vec![0u32; ids.len()];
    let mut fn_ = vec![0u32; ids.len()];
    let mut correct = 0;
    let mut confusion = [[0u32; 3]; 3];
    let idx = |s: &str| match s {
        "positive" => 0,
        "neutral" => 1,
        _ => 2,
    };
    for c in &data {
        let a = analyzer.analyse(&c.text);
        for (i, id) in ids.iter().enumerate() {
            let predicted = a.themes.contains(id);
            let expected = c.themes.contains(id);
            match (predicted, expected) {
                (true, true) => tp[i] += 1,
                (true, false) => fp[i] += 1,
                (false, true) => fn_[i] += 1,
                _ => {}
            }
        }
        if verbose && std::env::var("THEMES_EVAL_ERRORS").is_ok() {
            let mut p = a.themes.clone();
            let mut e = c.themes.clone();
            p.sort();
            e.sort();
            if p != e || a.sentiment.label.as_str() != c.sentiment {
                println!(
                    "{:?} {:?} vs {:?} {} ({}) :: {}",
                    e, c.sentiment, p, a.sentiment.label, a.sentiment.score, c.text
                );
            }
        }
        confusion[idx(&c.sentiment)][idx(a.sentiment.label.as_str())] += 1;
        if a.sentiment.label.as_str() == c.sentiment {
            correct += 1;
        }
    }
    let mut f1s = Vec::new();
    if verbose {
        println!("\n{file}: {} comments", data.len());
        println!("{:<16} {:>5} {:>5} {:>5} {:>9} {:>7} {:>5}", "theme", "tp", "fp", "fn", "precision", "recall", "f1");
    }
    for (i, id) in ids.iter().enumerate() {
        let p = if tp[i] + fp[i] == 0 { 0.0 } else { f64::from(tp[i]) / f64::from(tp[i] + fp[i]) };
        let r = if tp[i] + fn_[i] == 0 { 0.0 } else { f64::from(tp[i]) / f64::from(tp[i] + fn_[i]) };
        let f1 = if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) };
        f1s.push(f1);
        if verbose {
            println!("{:<16} {:>5} {:>5} {:>5} {:>9.3} {:>7.3} {:>5.3}", id, tp[i], fp[i], fn_[i], p, r, f1);
        }
    }
    let macro_f1 = f1s.iter().sum::<f64>() / f1s.len() as f64;
    let sentiment_accuracy = f64::from(correct) / data.len() as f64;
    if verbose {
        println!("macro-F1 {macro_f1:.3}");
        println!("sentiment accuracy {sentiment_accuracy:.3} ({correct}/{})", data.len());
        println!("sentiment confusion (rows expected pos/neu/neg, columns predicted): {confusion:?}");
    }
    Report { macro_f1, sentiment_accuracy }
}

/// The phrase and lexicon rules were tuned on `tuning.jsonl` of this fictional set, so it
/// measures them (the trained model is measured on real NHS comments: see
/// `themes/model/README.md` and `tests/real_data.rs`).
#[test]
fn heldout_meets_goals() {
    let r = evaluate("heldout.jsonl", true);
    assert!(r.macro_f1 >= 0.75, "theme macro-F1 {:.3} below 0.75", r.macro_f1);
    assert!(r.sentiment_accuracy >= 0.80, "sentiment accuracy {:.3} below 0.80", r.sentiment_accuracy);
}

/// The trained model (the default) never saw this fictional set, whose wording and coding
/// differ from the NHS staff's: themes such as `cost`, `safety` and `mental_health` are
/// rare in the real training data. Its sentiment holds up; theme agreement is lower than the
/// lexicon's, which was tuned on this set's other half.
#[test]
fn trained_model_on_the_fictional_set() {
    let r = evaluate_with(&Analyzer::default(), "heldout.jsonl", true);
    assert!(r.macro_f1 >= 0.45, "theme macro-F1 {:.3} below 0.45", r.macro_f1);
    assert!(r.sentiment_accuracy >= 0.80, "sentiment accuracy {:.3} below 0.80", r.sentiment_accuracy);
}

/// The tuning figures, for comparison (not asserted beyond sanity).
#[test]
fn tuning_figures() {
    let r = evaluate("tuning.jsonl", true);
    assert!(r.macro_f1 > 0.0);
}

#[test]
fn data_set_is_large_and_split() {
    let tuning = common::load("tuning.jsonl");
    let heldout = common::load("heldout.jsonl");
    assert!(tuning.len() + heldout.len() >= 400);
    let share = heldout.len() as f64 / (tuning.len() + heldout.len()) as f64;
    assert!((0.35..=0.45).contains(&share));
    for c in tuning.iter().chain(&heldout) {
        assert!(!heldout.iter().any(|h| std::ptr::eq(h, c)) || !tuning.iter().any(|t| t.text == c.text));
    }
}

/// Debug aid: `THEMES_EXPLAIN=access cargo test -p themes --test evaluation explain -- --nocapture`
/// prints tuning-set false positives for a theme with the phrases that fired.
#[test]
fn explain() {
    let Ok(theme) = std::env::var("THEMES_EXPLAIN") else { return };
    let analyzer = Analyzer::lexicon_only(Taxonomy::default());
    for c in common::load("tuning.jsonl") {
        let d = analyzer.analyse_detailed(&c.text);
        if let Some(m) = d.themes.iter().find(|m| m.theme == theme) {
            if !c.themes.contains(&theme) {
                println!("FP {:?} :: {}", m.matched, c.text);
            }
        } else if c.themes.contains(&theme) {
            println!("FN :: {}", c.text);
        }
    }
}
