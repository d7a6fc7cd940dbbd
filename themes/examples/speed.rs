//! Rough timing of the model's parts (not a benchmark; see benches/tagging.rs).
#![allow(clippy::unwrap_used)]
use std::time::Instant;
use themes::model::LexiconInput;
use themes::{Analyzer, Model, Taxonomy};

fn main() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tuning.jsonl");
    let texts: Vec<String> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["text"].as_str().unwrap().to_owned())
        .collect();
    let model = Model::embedded();
    let lex = Analyzer::lexicon_only(Taxonomy::default());
    let full = Analyzer::default();
    let input = LexiconInput::default();
    for round in 0..2 {
        let t = Instant::now();
        for _ in 0..40 {
            for x in &texts {
                std::hint::black_box(model.scores(x, &input));
            }
        }
        let m = t.elapsed().as_secs_f64() / (40.0 * texts.len() as f64) * 1e6;
        let t = Instant::now();
        for _ in 0..40 {
            for x in &texts {
                std::hint::black_box(lex.analyse(x));
            }
        }
        let l = t.elapsed().as_secs_f64() / (40.0 * texts.len() as f64) * 1e6;
        let t = Instant::now();
        for _ in 0..40 {
            for x in &texts {
                std::hint::black_box(full.analyse(x));
            }
        }
        let f = t.elapsed().as_secs_f64() / (40.0 * texts.len() as f64) * 1e6;
        println!("round {round}: model.scores {m:.1} µs, lexicon analyse {l:.1} µs, full analyse {f:.1} µs");
    }
}
