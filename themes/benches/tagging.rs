//! Tagging throughput and summary build time.
//! `CARGO_TARGET_DIR=/tmp/target-themes cargo bench -p themes`
#![allow(clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use themes::{Analyzer, PostRecord, Sentiment, SummaryBuilder, Taxonomy};

fn comments() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tuning.jsonl");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["text"].as_str().unwrap().to_owned())
        .collect()
}

fn tagging(c: &mut Criterion) {
    let analyzer = Analyzer::default();
    let lexicon = Analyzer::lexicon_only(Taxonomy::default());
    let texts = comments();
    let mut g = c.benchmark_group("tagging");
    g.throughput(Throughput::Elements(texts.len() as u64));
    // The default: the trained model plus the lexicon's inputs.
    g.bench_function("analyse (comments)", |b| {
        b.iter(|| {
            for t in &texts {
                std::hint::black_box(analyzer.analyse(t));
            }
        })
    });
    // Another model file beside the embedded one (e.g. the previous model), measured in the
    // same run: THEMES_BENCH_MODEL=path/to/file.model cargo bench -p themes
    if let Ok(path) = std::env::var("THEMES_BENCH_MODEL") {
        let model = themes::Model::from_bytes(&std::fs::read(&path).unwrap()).unwrap();
        let other = Analyzer::with_model(Taxonomy::default(), std::sync::Arc::new(model));
        g.bench_function("analyse, THEMES_BENCH_MODEL (comments)", |b| {
            b.iter(|| {
                for t in &texts {
                    std::hint::black_box(other.analyse(t));
                }
            })
        });
    }
    g.bench_function("analyse, lexicon only (comments)", |b| {
        b.iter(|| {
            for t in &texts {
                std::hint::black_box(lexicon.analyse(t));
            }
        })
    });
    g.finish();
}

fn summary(c: &mut Criterion) {
    let tax = Taxonomy::default();
    let analyzer = Analyzer::new(tax.clone());
    let texts = comments();
    let analysed: Vec<_> = texts.iter().map(|t| analyzer.analyse(t)).collect();
    const N: usize = 1_000_000;
    let mut g = c.benchmark_group("summary");
    g.sample_size(10);
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("build from 1,000,000 records", |b| {
        b.iter(|| {
            let mut sb = SummaryBuilder::new("bench", &tax);
            for i in 0..N {
                let k = i % texts.len();
                sb.add(&PostRecord {
                    participant: (i as u64).wrapping_mul(2_654_435_761) % 50_000,
                    week: 202401 + (i % 40) as i64,
                    text: &texts[k],
                    themes: &analysed[k].themes,
                    sentiment: analysed[k].sentiment,
                    quotable: i % 3 != 0,
                });
            }
            std::hint::black_box(sb.finish())
        })
    });
    g.finish();
    let _ = Sentiment::neutral();
}

criterion_group!(benches, tagging, summary);
criterion_main!(benches);
