//! Shared helpers for the integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;

use serde::Deserialize;
use themes::{PostRecord, Sentiment, SummaryBuilder, SurveyResult, Taxonomy};

#[derive(Debug, Deserialize)]
pub struct Labelled {
    pub text: String,
    pub themes: Vec<String>,
    pub sentiment: String,
}

pub fn data_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

pub fn load(name: &str) -> Vec<Labelled> {
    let text = std::fs::read_to_string(data_path(name)).unwrap();
    text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// A realistic summary built from the labelled comments (tuning part), spread over
/// weeks and participants, with a survey and emerging themes.
pub fn sample_summary() -> themes::Summary {
    let analyzer = themes::Analyzer::default();
    let comments = load("tuning.jsonl");
    let mut b =
        SummaryBuilder::new("GP and hospital access in Calderdale — spring listening exercise", &Taxonomy::default());
    let mut emerging = themes::EmergingThemes::new(&analyzer);
    for (i, c) in comments.iter().enumerate() {
        let a = analyzer.analyse(&c.text);
        emerging.add(i, &c.text);
        b.add(&PostRecord {
            participant: (i as u64 * 7919) % 180,
            week: 202410 + (i as i64 % 9) - if i % 5 == 0 { 1 } else { 0 },
            text: &c.text,
            themes: &a.themes,
            sentiment: a.sentiment,
            quotable: i % 7 != 3,
        });
    }
    b.add(&PostRecord {
        participant: 999,
        week: 202412,
        text: "The receptionist said <script>alert('hi')</script> & \"laughed\" at me, rude as anything.",
        themes: &["staff_attitude"],
        sentiment: Sentiment::from_score(-0.6),
        quotable: true,
    });
    b.add_survey(SurveyResult {
        question: "Were you able to get an appointment when you needed one?".into(),
        answers: vec![("Yes".into(), 41), ("No".into(), 96), ("Didn't try".into(), 3), ("Not sure".into(), 12)],
    });
    b.set_emerging(emerging.finish(3, 8));
    b.finish()
}
