//! Pure theme and sentiment analysis for parley's commissioners.
//!
//! Commissioners act on what people said in a discussion; this crate turns posts into
//! something they can read at a glance. It is pure (no I/O, no storage): the core
//! analyses each post once with an [`Analyzer`], stores the [`Analysis`] next to the
//! post, and later streams stored records into a [`SummaryBuilder`] to render a
//! [`Summary`] for chat, Markdown, CSV, JSON or a single self-contained HTML file.
//!
//! - **Themes and sentiment** come from a trained [`Model`] (linear classifiers over word
//!   and character n-grams, trained on Friends and Family Test comments coded by NHS
//!   staff: see `model/README.md`), with the lexicon's findings as extra inputs. A trust can
//!   train its own ([`model::train`]).
//! - **Themes** belong to a [`Taxonomy`] (the embedded patient-experience default, or a
//!   user TOML file that extends or replaces it); themes the model does not know are
//!   matched on stemmed words and phrases.
//! - **The lexicon** (`lexicon/sentiment.txt`) is aware of negation ("couldn't fault them"),
//!   intensifiers, British usage ("shambles", "brilliant") and health-service idioms
//!   ("fobbed off", "sent from pillar to post"); [`Analyzer::lexicon_only`] uses it alone.
//!   See [`Analyzer::analyse_detailed`] for sentiment per theme mention and
//!   [`Analyzer::explain`] for the words that weighed most for each tag.
//! - **Emerging themes** ([`EmergingThemes`]) are recurring keyphrases the taxonomy missed.
//! - **Small numbers**: every count in a [`Summary`] is a [`Count`] that renders values
//!   under the threshold (default 5) as "<5", so no output can single out a small group.
//!
//! ```
//! use themes::{Analyzer, PostRecord, SummaryBuilder, SurveyResult};
//!
//! let analyzer = Analyzer::default();
//! let a = analyzer.analyse("Waited three hours for the ambulance, the crew were lovely though");
//! assert!(a.themes.contains(&"waiting".to_string()));
//! let lexicon = Analyzer::lexicon_only(themes::Taxonomy::default());
//! let a = lexicon.analyse("Waited ages for an appointment, the receptionist was lovely though");
//! assert_eq!(a.themes, ["access", "waiting", "staff_attitude"]);
//! println!("{}", serde_json::to_string(&a).unwrap()); // {"themes":[…],"sentiment":{…}}
//!
//! let mut summary = SummaryBuilder::new("GP access in Leeds", analyzer.taxonomy());
//! for participant in 0..6u64 {
//!     summary.add(&PostRecord {
//!         participant,
//!         week: 202405,
//!         text: "Waited ages for an appointment",
//!         themes: &a.themes,
//!         sentiment: a.sentiment,
//!         quotable: true,
//!     });
//! }
//! summary.add_survey(SurveyResult {
//!     question: "Could you book when you needed to?".into(),
//!     answers: vec![("Yes".into(), 3), ("No".into(), 40)],
//! });
//! let summary = summary.finish();
//! assert!(summary.to_chat().contains("6 posts"));
//! assert!(summary.to_markdown().contains("<5")); // the three "Yes" answers
//! assert!(summary.to_html().starts_with("<!DOCTYPE html>"));
//! ```
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod analyzer;
mod emerging;
mod lexicon;
pub mod model;
mod render;
mod summary;
mod taxonomy;
mod text;

pub use analyzer::{
    Analysis, Analyzer, DetailedAnalysis, Explanation, Sentiment, SentimentLabel, ThemeMention, NEUTRAL_BAND,
};
pub use emerging::{emerging_themes, EmergingTheme, EmergingThemes};
pub use model::{Evidence, Model};
pub use render::escape_html;
pub use summary::{
    monday_of_week, monday_week, monday_week_of_date, week_label, Count, EmergingSummary, PostRecord, Quote,
    SentimentSplit, Summary, SummaryBuilder, SummaryOptions, SurveyAnswer, SurveyResult, SurveySummary, ThemeSummary,
    WeekCount,
};
pub use taxonomy::{Taxonomy, Theme, DEFAULT_TAXONOMY_TOML};

/// Errors from this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The taxonomy file is not valid TOML or has an unknown key.
    #[error("taxonomy file: {0}")]
    TaxonomyToml(String),
    /// A taxonomy value is missing or wrong; `key` names it, e.g. `theme[2] (cost).label`.
    #[error("taxonomy: `{key}` {problem}")]
    InvalidTaxonomy { key: String, problem: String },
    /// A sentiment label other than positive, neutral or negative.
    #[error("unknown sentiment label `{0}` (expected positive, neutral or negative)")]
    InvalidSentiment(String),
    /// A model file that cannot be read, or a bad mapping file.
    #[error("{0}")]
    Model(String),
    /// A problem in a training CSV: `line` is the file's line, `column` its header.
    #[error("line {line}{}: {problem}", column_label(.column))]
    TrainingData { line: u64, column: String, problem: String },
}

/// `, column `NAME`` for a training-data error that concerns one column, else nothing.
fn column_label(column: &str) -> String {
    if column.is_empty() {
        String::new()
    } else {
        format!(", column `{column}`")
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
