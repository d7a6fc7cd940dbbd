//! Surveys: definitions from `[[surveys]]`, their validation, reading a participant's
//! answer to one question, and results with small-number suppression.
//!
//! Everything here is pure; the engine (`engine/survey.rs`) runs the conversation and the
//! store keeps invitations and answers against the participant key.
//!
//! ```
//! use parley::surveys::{parse_answer, Parsed, QuestionKind, SurveyQuestion};
//! let q = SurveyQuestion::choice("How was it?", &["Good", "Poor"]);
//! assert_eq!(q.kind(), QuestionKind::Single);
//! assert_eq!(parse_answer(&q, "2"), Parsed::Answer("2".into()));
//! assert_eq!(parse_answer(&q, "good"), Parsed::Answer("1".into()));
//! assert!(matches!(parse_answer(&q, "7"), Parsed::Invalid(_)));
//! ```

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// Longest free-text answer when a question sets no `max_chars`.
pub const DEFAULT_TEXT_CHARS: usize = 1000;

/// `[[surveys]]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyConfig {
    /// Short name used in `!push`.
    pub id: String,
    /// Title shown to participants.
    pub title: String,
    /// A sentence or two shown before the first question.
    #[serde(default)]
    pub intro: String,
    /// Slugs of the discussions the survey belongs to.
    #[serde(default)]
    pub discussions: Vec<String>,
    /// Invite a participant after their first post in a linked discussion (default on).
    #[serde(default = "yes")]
    pub invite_after_first_post: bool,
    /// Invite a participant when they `!join` a linked discussion (default off).
    #[serde(default)]
    pub invite_on_join: bool,
    /// The questions, in order.
    pub questions: Vec<SurveyQuestion>,
}

fn yes() -> bool {
    true
}

/// The type of a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum QuestionKind {
    /// One of the choices.
    Single,
    /// Any number of the choices.
    Multiple,
    /// 1 to 5, with labels for the ends.
    Scale,
    /// Free text, up to `max_chars`.
    Text,
}

/// `[[surveys.questions]]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyQuestion {
    /// The question.
    pub text: String,
    /// `single`, `multiple`, `scale` or `text`; when left out, `single` with choices and
    /// `text` without.
    #[serde(default, rename = "type")]
    pub kind: Option<QuestionKind>,
    /// Choices of a `single` or `multiple` question.
    #[serde(default)]
    pub choices: Vec<String>,
    /// Whether it must be answered (otherwise `skip` moves on).
    #[serde(default)]
    pub required: bool,
    /// Label of 1 on a scale.
    #[serde(default)]
    pub low_label: Option<String>,
    /// Label of 5 on a scale.
    #[serde(default)]
    pub high_label: Option<String>,
    /// Longest free-text answer.
    #[serde(default)]
    pub max_chars: Option<usize>,
}

impl SurveyQuestion {
    /// A single-choice question (for examples and tests).
    pub fn choice(text: &str, choices: &[&str]) -> SurveyQuestion {
        SurveyQuestion {
            text: text.into(),
            kind: Some(QuestionKind::Single),
            choices: choices.iter().map(|c| c.to_string()).collect(),
            required: false,
            low_label: None,
            high_label: None,
            max_chars: None,
        }
    }

    /// The question's type.
    pub fn kind(&self) -> QuestionKind {
        match self.kind {
            Some(k) => k,
            None if self.choices.is_empty() => QuestionKind::Text,
            None => QuestionKind::Single,
        }
    }

    /// The longest free-text answer.
    pub fn max_chars(&self) -> usize {
        self.max_chars.unwrap_or(DEFAULT_TEXT_CHARS)
    }

    /// The answer options as labels, in order (`1`..`5` on a scale).
    pub fn options(&self) -> Vec<String> {
        match self.kind() {
            QuestionKind::Single | QuestionKind::Multiple => self.choices.clone(),
            QuestionKind::Scale => (1..=5)
                .map(|n| match (n, &self.low_label, &self.high_label) {
                    (1, Some(l), _) => format!("1 ({l})"),
                    (5, _, Some(h)) => format!("5 ({h})"),
                    _ => n.to_string(),
                })
                .collect(),
            QuestionKind::Text => Vec::new(),
        }
    }
}

/// Checks every survey; the error names the key, e.g. `surveys[0].questions[2].choices`.
pub fn validate(surveys: &[SurveyConfig]) -> Result<(), (String, String)> {
    let mut seen = HashSet::new();
    let nul = |s: &str| s.contains('\0');
    for (i, s) in surveys.iter().enumerate() {
        let key = |k: &str| format!("surveys[{i}].{k}");
        if let Err(why) = crate::config::check_slug(&s.id) {
            return Err((key("id"), format!("= {:?}: {why}", s.id)));
        }
        if !seen.insert(s.id.as_str()) {
            return Err((key("id"), format!("= {:?}: this id is used twice", s.id)));
        }
        if s.title.trim().is_empty() || nul(&s.title) {
            return Err((key("title"), "must not be empty".into()));
        }
        if nul(&s.intro) {
            return Err((key("intro"), "must not contain NUL characters".into()));
        }
        for (j, slug) in s.discussions.iter().enumerate() {
            if let Err(why) = crate::config::check_slug(slug) {
                return Err((key(&format!("discussions[{j}]")), format!("= {slug:?}: {why}")));
            }
        }
        if s.questions.is_empty() {
            return Err((key("questions"), "must have at least one question".into()));
        }
        for (j, q) in s.questions.iter().enumerate() {
            let qkey = |k: &str| key(&format!("questions[{j}].{k}"));
            if q.text.trim().is_empty() || nul(&q.text) {
                return Err((qkey("text"), "must not be empty".into()));
            }
            let kind = q.kind();
            match kind {
                QuestionKind::Single | QuestionKind::Multiple => {
                    if q.choices.len() < 2 {
                        return Err((qkey("choices"), "a choice question needs at least two choices".into()));
                    }
                    if q.choices.len() > 20 {
                        return Err((qkey("choices"), "at most 20 choices".into()));
                    }
                    let mut distinct = HashSet::new();
                    for c in &q.choices {
                        if c.trim().is_empty() || nul(c) {
                            return Err((qkey("choices"), "a choice must not be empty".into()));
                        }
                        if !distinct.insert(c.trim().to_lowercase()) {
                            return Err((qkey("choices"), format!("the choice {c:?} is given twice")));
                        }
                    }
                }
                QuestionKind::Scale | QuestionKind::Text if !q.choices.is_empty() => {
                    return Err((qkey("choices"), format!("a {kind:?} question has no choices").to_lowercase()));
                }
                _ => {}
            }
            if kind != QuestionKind::Scale && (q.low_label.is_some() || q.high_label.is_some()) {
                return Err((qkey("low_label"), "end labels belong to `type = \"scale\"` questions".into()));
            }
            if let Some(max) = q.max_chars {
                if kind != QuestionKind::Text {
                    return Err((qkey("max_chars"), "belongs to `type = \"text\"` questions".into()));
                }
                if !(1..=4000).contains(&max) {
                    return Err((qkey("max_chars"), format!("= {max}: must be between 1 and 4000")));
                }
            }
        }
    }
    Ok(())
}

/// What a participant's message means as the answer to a question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// The answer as stored: choice numbers (`"1,3"`), a scale point (`"4"`), or the text
    /// (still to be redacted by the engine).
    Answer(String),
    /// `skip` on an optional question.
    Skip,
    /// Not an answer; why, for the re-prompt.
    Invalid(Invalid),
}

/// Why an answer was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    /// Not one of the choices (there are this many).
    NotAChoice(usize),
    /// Not a whole number from 1 to 5.
    NotOnScale,
    /// Empty.
    Empty,
    /// Longer than allowed (length, limit).
    TooLong(usize, usize),
    /// `skip` on a required question.
    Required,
}

/// Reads `text` as the answer to `q`: by number or by the choice's words.
pub fn parse_answer(q: &SurveyQuestion, text: &str) -> Parsed {
    let text = text.trim();
    if text.eq_ignore_ascii_case("skip") {
        return if q.required { Parsed::Invalid(Invalid::Required) } else { Parsed::Skip };
    }
    // Zero-width spaces, fillers and the like show nothing: an empty answer, as for a post.
    if moderation::is_blank(text) {
        return Parsed::Invalid(Invalid::Empty);
    }
    match q.kind() {
        QuestionKind::Single => match choice_index(&q.choices, text) {
            Some(i) => Parsed::Answer((i + 1).to_string()),
            None => Parsed::Invalid(Invalid::NotAChoice(q.choices.len())),
        },
        QuestionKind::Multiple => {
            // "1, 3", "1 3", or the choices' words separated by commas.
            let whole = choice_index(&q.choices, text).map(|i| vec![i]);
            let by_comma: Option<Vec<usize>> = text
                .split([',', ';'])
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| choice_index(&q.choices, p))
                .collect();
            let by_space: Option<Vec<usize>> = text
                .split_whitespace()
                .map(|p| p.parse::<usize>().ok().and_then(|n| in_range(n, &q.choices)))
                .collect();
            match whole.or(by_comma).or(by_space) {
                Some(mut picked) if !picked.is_empty() => {
                    picked.sort_unstable();
                    picked.dedup();
                    Parsed::Answer(picked.iter().map(|i| (i + 1).to_string()).collect::<Vec<_>>().join(","))
                }
                _ => Parsed::Invalid(Invalid::NotAChoice(q.choices.len())),
            }
        }
        QuestionKind::Scale => {
            let lc = text.to_lowercase();
            let by_label = |label: &Option<String>| label.as_ref().is_some_and(|l| l.trim().to_lowercase() == lc);
            match text.parse::<u8>() {
                Ok(n @ 1..=5) => Parsed::Answer(n.to_string()),
                _ if by_label(&q.low_label) => Parsed::Answer("1".into()),
                _ if by_label(&q.high_label) => Parsed::Answer("5".into()),
                _ => Parsed::Invalid(Invalid::NotOnScale),
            }
        }
        QuestionKind::Text => {
            let len = text.chars().count();
            if len > q.max_chars() {
                Parsed::Invalid(Invalid::TooLong(len, q.max_chars()))
            } else {
                Parsed::Answer(text.to_string())
            }
        }
    }
}

fn in_range(n: usize, choices: &[String]) -> Option<usize> {
    (1..=choices.len()).contains(&n).then(|| n - 1)
}

fn choice_index(choices: &[String], text: &str) -> Option<usize> {
    let t = text.trim().trim_end_matches(['.', ')']);
    if let Ok(n) = t.parse::<usize>() {
        return in_range(n, choices);
    }
    let lc = t.to_lowercase();
    choices.iter().position(|c| c.trim().to_lowercase() == lc)
}

// ----- results -----

/// A count as published: the number, `<N` when under the threshold, or `*` when withheld
/// so that a small count cannot be worked out by subtraction from the total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    raw: u64,
    threshold: u64,
    shown: Shown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    Yes,
    Small,
    Withheld,
}

impl Cell {
    /// `raw`, suppressed when under `threshold` (zero is not disclosive and is shown, as
    /// in the theme summary).
    pub fn new(raw: u64, threshold: u64) -> Cell {
        Cell { raw, threshold, shown: if raw > 0 && raw < threshold { Shown::Small } else { Shown::Yes } }
    }

    /// The number, when it may be published.
    pub fn shown(&self) -> Option<u64> {
        (self.shown == Shown::Yes).then_some(self.raw)
    }

    /// A whole percentage of `total`, when both are published.
    pub fn percent_of(&self, total: &Cell) -> Option<u64> {
        match (self.shown(), total.shown()) {
            (Some(c), Some(t)) if t > 0 => Some((c * 100 + t / 2) / t),
            _ => None,
        }
    }

    /// "12 (40%)", "<5", "*".
    pub fn with_percent(&self, total: &Cell) -> String {
        match self.percent_of(total) {
            Some(p) => format!("{self} ({p}%)"),
            None => self.to_string(),
        }
    }
}

impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.shown {
            Shown::Yes => write!(f, "{}", self.raw),
            Shown::Small => write!(f, "<{}", self.threshold),
            Shown::Withheld => f.write_str("*"),
        }
    }
}

impl Serialize for Cell {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.shown() {
            Some(n) => s.serialize_u64(n),
            None => s.serialize_str(&self.to_string()),
        }
    }
}

/// The cells of a breakdown, as the theme summary suppresses them: small cells as `<N`,
/// and when the small cells add up to a small non-zero number, the smallest shown cell
/// withheld too (repeatedly), so that subtraction from the total reveals nothing.
pub fn protect(raws: &[u64], threshold: u64) -> Vec<Cell> {
    let mut cells: Vec<Cell> = raws.iter().map(|&r| Cell::new(r, threshold)).collect();
    loop {
        let hidden: u64 = cells.iter().filter(|c| c.shown().is_none()).map(|c| c.raw).sum();
        if hidden == 0 || hidden >= threshold {
            break;
        }
        // Withholding a zero would hide nothing.
        match cells.iter_mut().filter(|c| c.shown().is_some() && c.raw > 0).min_by_key(|c| c.raw) {
            Some(c) => c.shown = Shown::Withheld,
            None => break,
        }
    }
    cells
}

/// One stored answer, as the results read it.
#[derive(Debug, Clone)]
pub struct StoredAnswer {
    /// Question index.
    pub question: usize,
    /// As stored (see [`Parsed::Answer`]); redacted text for free text.
    pub answer: String,
    /// Theme ids of a free-text answer, comma-separated.
    pub themes: String,
    /// Whether a free-text answer may be quoted.
    pub quotable: bool,
}

/// How far invited participants got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Funnel {
    /// Invited.
    pub invited: u64,
    /// Started.
    pub started: u64,
    /// Answered every question.
    pub completed: u64,
}

/// One survey's published results in one discussion.
#[derive(Debug, Clone, Serialize)]
pub struct SurveyResults {
    /// Survey id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Invited → started → completed.
    pub invited: Cell,
    /// Started.
    pub started: Cell,
    /// Completed.
    pub completed: Cell,
    /// Per question.
    pub questions: Vec<QuestionResults>,
}

/// One question's published results.
#[derive(Debug, Clone, Serialize)]
pub struct QuestionResults {
    /// The question.
    pub question: String,
    /// Its type.
    pub kind: QuestionKind,
    /// People who answered it.
    pub responses: Cell,
    /// Choice or scale point, count, percentage of responses.
    pub answers: Vec<AnswerCount>,
    /// Mean of a scale, when enough people answered.
    pub mean: Option<f64>,
    /// Median of a scale, when enough people answered.
    pub median: Option<f64>,
    /// Themes of free-text answers.
    pub themes: Vec<AnswerCount>,
    /// Redacted free-text answers, when enough people answered.
    pub quotes: Vec<String>,
}

/// A labelled count.
#[derive(Debug, Clone, Serialize)]
pub struct AnswerCount {
    /// Choice, scale point or theme.
    pub label: String,
    /// How many.
    pub count: Cell,
    /// Share of the responses, when publishable.
    pub percent: Option<u64>,
}

/// Quotes shown per free-text question.
const QUOTES: usize = 5;

/// Counts one survey's answers. `theme_label` turns a theme id into its label.
pub fn results(
    survey: &SurveyConfig,
    funnel: Funnel,
    answers: &[StoredAnswer],
    threshold: u64,
    theme_label: impl Fn(&str) -> String,
) -> SurveyResults {
    let t = threshold;
    let questions = survey
        .questions
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let mine: Vec<&StoredAnswer> = answers.iter().filter(|a| a.question == i).collect();
            let responses = Cell::new(mine.len() as u64, t);
            let kind = q.kind();
            let mut out = QuestionResults {
                question: q.text.clone(),
                kind,
                responses,
                answers: Vec::new(),
                mean: None,
                median: None,
                themes: Vec::new(),
                quotes: Vec::new(),
            };
            match kind {
                QuestionKind::Single | QuestionKind::Multiple | QuestionKind::Scale => {
                    let labels = q.options();
                    let mut raws = vec![0u64; labels.len()];
                    let mut points = Vec::new();
                    for a in &mine {
                        for n in a.answer.split(',').filter_map(|n| n.trim().parse::<usize>().ok()) {
                            if let Some(slot) = n.checked_sub(1).and_then(|i| raws.get_mut(i)) {
                                *slot += 1;
                                points.push(n as f64);
                            }
                        }
                    }
                    out.answers = labels
                        .into_iter()
                        .zip(protect(&raws, t))
                        .map(|(label, count)| AnswerCount { percent: count.percent_of(&responses), label, count })
                        .collect();
                    if kind == QuestionKind::Scale && responses.shown().is_some() && !points.is_empty() {
                        points.sort_by(f64::total_cmp);
                        let mean = points.iter().sum::<f64>() / points.len() as f64;
                        let mid = points.len() / 2;
                        let median =
                            if points.len() % 2 == 0 { (points[mid - 1] + points[mid]) / 2.0 } else { points[mid] };
                        out.mean = Some((mean * 100.0).round() / 100.0);
                        out.median = Some(median);
                    }
                }
                QuestionKind::Text => {
                    let mut by_theme: BTreeMap<String, u64> = BTreeMap::new();
                    for a in &mine {
                        for th in a.themes.split(',').filter(|t| !t.is_empty()) {
                            *by_theme.entry(th.to_string()).or_default() += 1;
                        }
                    }
                    let (ids, raws): (Vec<String>, Vec<u64>) = by_theme.into_iter().unzip();
                    out.themes = ids
                        .iter()
                        .zip(protect(&raws, t))
                        .map(|(id, count)| AnswerCount {
                            label: theme_label(id),
                            percent: count.percent_of(&responses),
                            count,
                        })
                        .collect();
                    if responses.shown().is_some() {
                        // The latest distinct answers.
                        for a in mine.iter().rev().filter(|a| a.quotable) {
                            if out.quotes.len() == QUOTES {
                                break;
                            }
                            if !out.quotes.iter().any(|q| q.eq_ignore_ascii_case(&a.answer)) {
                                out.quotes.push(a.answer.clone());
                            }
                        }
                    }
                }
            }
            out
        })
        .collect();
    SurveyResults {
        id: survey.id.clone(),
        title: survey.title.clone(),
        invited: Cell::new(funnel.invited, t),
        started: Cell::new(funnel.started, t),
        completed: Cell::new(funnel.completed, t),
        questions,
    }
}

fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}").trim_end_matches('0').to_string()
    }
}

impl SurveyResults {
    /// Compact text for a chat room.
    pub fn to_chat(&self) -> String {
        let mut out = format!(
            "Survey \"{}\" ({}): invited {}, started {}, completed {}",
            self.title, self.id, self.invited, self.started, self.completed
        );
        for (i, q) in self.questions.iter().enumerate() {
            let _ = write!(out, "\nQ{} {} — {} responses", i + 1, q.question, q.responses);
            for a in &q.answers {
                let _ = write!(out, "\n  {}: {}", a.label, a.count.with_percent(&q.responses));
            }
            if let (Some(mean), Some(median)) = (q.mean, q.median) {
                let _ = write!(out, "\n  mean {}, median {}", fmt_num(mean), fmt_num(median));
            }
            if !q.themes.is_empty() {
                let themes: Vec<String> = q.themes.iter().map(|t| format!("{} {}", t.label, t.count)).collect();
                let _ = write!(out, "\n  themes: {}", themes.join(", "));
            }
            for quote in &q.quotes {
                let _ = write!(out, "\n  \"{}\"", crate::engine::render::inert(quote));
            }
        }
        out
    }

    /// Markdown.
    pub fn to_markdown(&self) -> String {
        let mut md = format!(
            "### Survey: {} ({})\n\nInvited {}, started {}, completed {}.\n\n",
            self.title, self.id, self.invited, self.started, self.completed
        );
        for (i, q) in self.questions.iter().enumerate() {
            let _ = writeln!(md, "**Q{} {}** ({} responses)\n", i + 1, q.question, q.responses);
            for a in &q.answers {
                let _ = writeln!(md, "- {}: {}", a.label, a.count.with_percent(&q.responses));
            }
            if let (Some(mean), Some(median)) = (q.mean, q.median) {
                let _ = writeln!(md, "- mean {}, median {}", fmt_num(mean), fmt_num(median));
            }
            for t in &q.themes {
                let _ = writeln!(md, "- theme {}: {}", t.label, t.count);
            }
            for quote in &q.quotes {
                let _ = writeln!(md, "\n> {}", quote.replace('\n', " "));
            }
            md.push('\n');
        }
        md
    }

    /// CSV rows `section,survey,question,key,value` (no header).
    pub fn csv_rows(&self) -> Vec<[String; 5]> {
        let mut rows = Vec::new();
        let id = self.id.clone();
        for (k, c) in [("invited", self.invited), ("started", self.started), ("completed", self.completed)] {
            rows.push(["survey".into(), id.clone(), String::new(), k.into(), c.to_string()]);
        }
        for q in &self.questions {
            rows.push([
                "survey_question".into(),
                id.clone(),
                q.question.clone(),
                "responses".into(),
                q.responses.to_string(),
            ]);
            for a in &q.answers {
                rows.push([
                    "survey_answer".into(),
                    id.clone(),
                    q.question.clone(),
                    a.label.clone(),
                    a.count.to_string(),
                ]);
            }
            if let (Some(mean), Some(median)) = (q.mean, q.median) {
                rows.push(["survey_scale".into(), id.clone(), q.question.clone(), "mean".into(), fmt_num(mean)]);
                rows.push(["survey_scale".into(), id.clone(), q.question.clone(), "median".into(), fmt_num(median)]);
            }
            for t in &q.themes {
                rows.push([
                    "survey_theme".into(),
                    id.clone(),
                    q.question.clone(),
                    t.label.clone(),
                    t.count.to_string(),
                ]);
            }
            for quote in &q.quotes {
                rows.push(["survey_quote".into(), id.clone(), q.question.clone(), String::new(), quote.clone()]);
            }
        }
        rows
    }

    /// An HTML section with a bar chart per question.
    pub fn to_html(&self) -> String {
        let e = escape_html;
        let mut h = format!(
            "<section class=\"survey\"><h2>Survey: {} <small class=\"note\">({})</small></h2>\n<p>Invited {}, started {}, \
             completed {}.</p>\n",
            e(&self.title),
            e(&self.id),
            self.invited,
            self.started,
            self.completed
        );
        for (i, q) in self.questions.iter().enumerate() {
            let _ = writeln!(
                h,
                "<h3>Q{} {} <small class=\"note\">({} responses)</small></h3>",
                i + 1,
                e(&q.question),
                q.responses
            );
            let bars = if q.answers.is_empty() { &q.themes } else { &q.answers };
            if !bars.is_empty() {
                h.push_str(&bar_chart(bars, &q.responses));
            }
            if let (Some(mean), Some(median)) = (q.mean, q.median) {
                let _ = writeln!(h, "<p>Mean {}, median {}.</p>", fmt_num(mean), fmt_num(median));
            }
            for quote in &q.quotes {
                let _ = writeln!(h, "<blockquote>{}</blockquote>", e(quote));
            }
        }
        h.push_str("</section>\n");
        h
    }
}

/// Horizontal bars, one per count; a suppressed count gets no bar, only its label.
fn bar_chart(bars: &[AnswerCount], total: &Cell) -> String {
    let row_h = 22;
    let height = row_h * bars.len() + 4;
    let max = bars.iter().filter_map(|b| b.count.shown()).max().unwrap_or(1).max(1) as f64;
    let mut svg = format!(
        "<svg class=\"chart\" role=\"img\" width=\"640\" height=\"{height}\" viewBox=\"0 0 640 {height}\" \
         xmlns=\"http://www.w3.org/2000/svg\">\n"
    );
    for (i, b) in bars.iter().enumerate() {
        let y = i * row_h + 2;
        let w = b.count.shown().map_or(0.0, |n| 300.0 * n as f64 / max);
        let _ = writeln!(
            svg,
            "<text x=\"0\" y=\"{}\" font-size=\"13\">{}</text><rect x=\"220\" y=\"{y}\" width=\"{w:.1}\" height=\"16\" \
             fill=\"#005eb8\"/><text x=\"{:.1}\" y=\"{}\" font-size=\"13\">{}</text>",
            y + 13,
            escape_html(&b.label.chars().take(30).collect::<String>()),
            226.0 + w,
            y + 13,
            escape_html(&b.count.with_percent(total))
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(kind: QuestionKind, choices: &[&str]) -> SurveyQuestion {
        SurveyQuestion { kind: Some(kind), ..SurveyQuestion::choice("Q?", choices) }
    }

    #[test]
    fn an_answer_of_invisible_characters_is_empty() {
        let text = q(QuestionKind::Text, &[]);
        for blank in ["\u{200B}", "\u{200B}\u{202E}\u{2066}\u{FEFF}", "\u{2060}\u{00AD}", "\u{E0041}\u{E0042}"] {
            assert_eq!(parse_answer(&text, blank), Parsed::Invalid(Invalid::Empty), "{blank:?}");
        }
        assert!(matches!(parse_answer(&text, "More phone lines"), Parsed::Answer(_)));
    }

    #[test]
    fn reads_answers_by_number_and_words() {
        let single = q(QuestionKind::Single, &["Yes", "No"]);
        assert_eq!(parse_answer(&single, " 1 "), Parsed::Answer("1".into()));
        assert_eq!(parse_answer(&single, "NO"), Parsed::Answer("2".into()));
        assert_eq!(parse_answer(&single, "3"), Parsed::Invalid(Invalid::NotAChoice(2)));
        assert_eq!(parse_answer(&single, "skip"), Parsed::Skip);
        let multi = q(QuestionKind::Multiple, &["Phone", "Online", "In person"]);
        assert_eq!(parse_answer(&multi, "3, 1"), Parsed::Answer("1,3".into()));
        assert_eq!(parse_answer(&multi, "1 2"), Parsed::Answer("1,2".into()));
        assert_eq!(parse_answer(&multi, "online, in person"), Parsed::Answer("2,3".into()));
        assert_eq!(parse_answer(&multi, "1, 9"), Parsed::Invalid(Invalid::NotAChoice(3)));
        let mut scale = q(QuestionKind::Scale, &[]);
        scale.low_label = Some("Very hard".into());
        assert_eq!(parse_answer(&scale, "4"), Parsed::Answer("4".into()));
        assert_eq!(parse_answer(&scale, "very hard"), Parsed::Answer("1".into()));
        assert_eq!(parse_answer(&scale, "6"), Parsed::Invalid(Invalid::NotOnScale));
        let mut text = q(QuestionKind::Text, &[]);
        text.max_chars = Some(5);
        text.required = true;
        assert_eq!(parse_answer(&text, "short"), Parsed::Answer("short".into()));
        assert_eq!(parse_answer(&text, "longer"), Parsed::Invalid(Invalid::TooLong(6, 5)));
        assert_eq!(parse_answer(&text, "skip"), Parsed::Invalid(Invalid::Required));
    }

    #[test]
    fn secondary_suppression_as_in_theme_summaries() {
        let shown: Vec<String> = protect(&[3, 12, 40], 5).iter().map(|c| c.to_string()).collect();
        assert_eq!(shown, ["<5", "*", "40"]);
        let shown: Vec<String> = protect(&[0, 20, 40], 5).iter().map(|c| c.to_string()).collect();
        assert_eq!(shown, ["0", "20", "40"]);
        let shown: Vec<String> = protect(&[0, 4, 40], 5).iter().map(|c| c.to_string()).collect();
        assert_eq!(shown, ["0", "<5", "*"]);
        let shown: Vec<String> = protect(&[6, 5, 9], 5).iter().map(|c| c.to_string()).collect();
        assert_eq!(shown, ["6", "5", "9"]);
    }
}
