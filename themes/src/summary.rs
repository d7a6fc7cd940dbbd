//! Streaming per-discussion summaries with small-number suppression.

use std::collections::{HashMap, HashSet};

use serde::{Serialize, Serializer};

use crate::analyzer::{Sentiment, SentimentLabel};
use crate::emerging::EmergingTheme;
use crate::taxonomy::Taxonomy;

/// One stored, analysed post, as the core feeds it to [`SummaryBuilder::add`].
///
/// `S` is the theme id type: `String` (the default) or `&str`.
#[derive(Debug, Clone)]
pub struct PostRecord<'a, S = String> {
    /// Opaque per-discussion participant hash; only used to count distinct people.
    pub participant: u64,
    /// Week number: an ISO week as `yyyyww` (e.g. 202405) or a Monday week (weeks since
    /// Monday 1969-12-29, see [`monday_week`]); see [`week_label`].
    pub week: i64,
    /// The published, redacted text (only kept if chosen as a quote candidate).
    pub text: &'a str,
    /// Theme ids from the stored analysis.
    pub themes: &'a [S],
    pub sentiment: Sentiment,
    /// Whether the post may be quoted (published, redacted, author did not opt out).
    pub quotable: bool,
}

/// A closed survey question's results, counted by the core.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SurveyResult {
    pub question: String,
    pub answers: Vec<(String, u64)>,
}

/// Tunables for summaries.
#[derive(Debug, Clone)]
pub struct SummaryOptions {
    /// Counts below this are shown as "<N" (default 5).
    pub threshold: u64,
    /// Representative quotes per theme (default 3).
    pub quotes_per_theme: usize,
    /// Quote candidates kept per theme while streaming (default 64).
    pub reservoir: usize,
    /// Quotable posts outside this length (in characters) are never quoted.
    pub quote_chars: (usize, usize),
    /// Preferred quote length (in characters); outside it a candidate is penalised.
    pub preferred_chars: (usize, usize),
    /// How to change the threshold where the summary is made (e.g. "`parley analyse
    /// --small-numbers N`"), said once with the note on small numbers.
    pub small_numbers_hint: Option<String>,
}

impl Default for SummaryOptions {
    fn default() -> Self {
        SummaryOptions {
            threshold: 5,
            quotes_per_theme: 3,
            reservoir: 64,
            quote_chars: (20, 500),
            preferred_chars: (60, 240),
            small_numbers_hint: None,
        }
    }
}

/// A count as published: the exact number when it is zero or at least the threshold,
/// otherwise "<N" (primary suppression) or "*" (withheld so that a small number cannot be worked
/// out by subtraction). The raw number never leaves the crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    raw: u64,
    threshold: u64,
    visibility: Visibility,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Visibility {
    Shown,
    Small,
    Withheld,
}

impl Count {
    pub(crate) fn new(raw: u64, threshold: u64) -> Count {
        // Zero is shown: "nobody" singles nobody out (issue 13.5).
        let visibility = if raw < threshold && raw != 0 { Visibility::Small } else { Visibility::Shown };
        Count { raw, threshold, visibility }
    }

    /// The published number, if it is not suppressed.
    pub fn shown(&self) -> Option<u64> {
        (self.visibility == Visibility::Shown).then_some(self.raw)
    }

    pub fn is_shown(&self) -> bool {
        self.visibility == Visibility::Shown
    }

    /// Share of `total` as a whole percentage, only when both are shown.
    pub fn percent_of(&self, total: &Count) -> Option<u64> {
        match (self.shown(), total.shown()) {
            (Some(c), Some(t)) if t > 0 => Some((c * 100 + t / 2) / t),
            _ => None,
        }
    }
}

impl std::fmt::Display for Count {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.visibility {
            Visibility::Shown => write!(f, "{}", self.raw),
            Visibility::Small => write!(f, "<{}", self.threshold),
            Visibility::Withheld => f.write_str("*"),
        }
    }
}

impl Serialize for Count {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.shown() {
            Some(n) => s.serialize_u64(n),
            None => s.serialize_str(&self.to_string()),
        }
    }
}

/// Suppresses small cells of a breakdown whose total is published. If the suppressed
/// cells add up to a small non-zero number, the smallest shown cell is withheld too, so
/// that subtraction from the total cannot reveal them.
pub(crate) fn protect(raws: &[u64], threshold: u64) -> Vec<Count> {
    let mut cells: Vec<Count> = raws.iter().map(|&r| Count::new(r, threshold)).collect();
    loop {
        let hidden: u64 = cells.iter().filter(|c| !c.is_shown()).map(|c| c.raw).sum();
        if hidden == 0 || hidden >= threshold {
            break;
        }
        // Withholding a zero would hide nothing: withhold the smallest non-zero cell.
        let next = cells.iter_mut().filter(|c| c.is_shown() && c.raw > 0).min_by_key(|c| c.raw);
        match next {
            Some(c) => c.visibility = Visibility::Withheld,
            None => break,
        }
    }
    cells
}

/// Positive/neutral/negative counts with percentages of the total where publishable.
#[derive(Debug, Clone, Serialize)]
pub struct SentimentSplit {
    pub positive: Count,
    pub neutral: Count,
    pub negative: Count,
    pub positive_percent: Option<u64>,
    pub neutral_percent: Option<u64>,
    pub negative_percent: Option<u64>,
    /// Mean score in [-1, 1], two decimals.
    pub mean_score: f64,
}

impl SentimentSplit {
    fn new(counts: [u64; 3], total: &Count, score_sum: f64, threshold: u64) -> SentimentSplit {
        let cells = protect(&counts, threshold);
        let n = counts.iter().sum::<u64>().max(1) as f64;
        SentimentSplit {
            positive: cells[0],
            neutral: cells[1],
            negative: cells[2],
            positive_percent: cells[0].percent_of(total),
            neutral_percent: cells[1].percent_of(total),
            negative_percent: cells[2].percent_of(total),
            mean_score: (score_sum / n * 100.0).round() / 100.0,
        }
    }

    pub fn cells(&self) -> [(SentimentLabel, &Count); 3] {
        [
            (SentimentLabel::Positive, &self.positive),
            (SentimentLabel::Neutral, &self.neutral),
            (SentimentLabel::Negative, &self.negative),
        ]
    }
}

/// Posts in one week.
#[derive(Debug, Clone, Serialize)]
pub struct WeekCount {
    pub week: i64,
    pub label: String,
    pub posts: Count,
}

/// A representative quote (published, redacted text of a quotable post).
#[derive(Debug, Clone, Serialize)]
pub struct Quote {
    pub text: String,
    pub sentiment: Sentiment,
}

/// Everything published about one theme in a discussion.
#[derive(Debug, Clone, Serialize)]
pub struct ThemeSummary {
    pub id: String,
    pub label: String,
    pub description: String,
    pub posts: Count,
    pub participants: Count,
    /// `None` when the theme has fewer posts than the threshold.
    pub sentiment: Option<SentimentSplit>,
    pub weeks: Vec<WeekCount>,
    /// Empty when the theme has fewer posts than the threshold.
    pub quotes: Vec<Quote>,
}

/// One survey question's published results.
#[derive(Debug, Clone, Serialize)]
pub struct SurveySummary {
    pub question: String,
    pub responses: Count,
    pub answers: Vec<SurveyAnswer>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SurveyAnswer {
    pub answer: String,
    pub count: Count,
    pub percent: Option<u64>,
}

/// An emerging keyphrase as published.
#[derive(Debug, Clone, Serialize)]
pub struct EmergingSummary {
    pub phrase: String,
    pub posts: Count,
    /// Indices of example posts (as given to the keyphrase extractor); empty when the
    /// phrase's count is suppressed.
    pub examples: Vec<usize>,
}

/// A discussion summary ready to render. Every count in it is a [`Count`], so no
/// rendering can show a small number.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub title: String,
    pub threshold: u64,
    /// How to change the threshold, for the note on small numbers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub small_numbers_hint: Option<String>,
    pub posts: Count,
    pub participants: Count,
    /// `None` when the discussion has fewer posts than the threshold.
    pub sentiment: Option<SentimentSplit>,
    pub weeks: Vec<WeekCount>,
    /// Themes by volume (largest first; suppressed themes after, in taxonomy order).
    pub themes: Vec<ThemeSummary>,
    /// Posts that matched no theme.
    pub untagged: Count,
    pub surveys: Vec<SurveySummary>,
    pub emerging: Vec<EmergingSummary>,
}

#[derive(Debug, Clone)]
struct Candidate {
    text: String,
    participant: u64,
    score: f64,
    sentiment: Sentiment,
}

#[derive(Debug)]
struct ThemeAcc {
    id: String,
    posts: u64,
    participants: HashSet<u64>,
    sentiment: [u64; 3],
    score_sum: f64,
    weeks: HashMap<i64, u64>,
    reservoir: Vec<Candidate>,
    quotable_seen: u64,
}

impl ThemeAcc {
    fn new(id: String) -> ThemeAcc {
        ThemeAcc {
            id,
            posts: 0,
            participants: HashSet::new(),
            sentiment: [0; 3],
            score_sum: 0.0,
            weeks: HashMap::new(),
            reservoir: Vec::new(),
            quotable_seen: 0,
        }
    }
}

/// Builds a [`Summary`] from analysed posts one at a time. Memory is O(themes × weeks)
/// plus distinct participants and a bounded reservoir of quote candidates per theme;
/// `add` does no text analysis.
#[derive(Debug)]
pub struct SummaryBuilder {
    title: String,
    options: SummaryOptions,
    taxonomy: Taxonomy,
    index: HashMap<String, usize>,
    themes: Vec<ThemeAcc>,
    posts: u64,
    participants: HashSet<u64>,
    sentiment: [u64; 3],
    score_sum: f64,
    weeks: HashMap<i64, u64>,
    untagged: u64,
    surveys: Vec<SurveyResult>,
    emerging: Vec<EmergingTheme>,
    rng: u64,
}

impl SummaryBuilder {
    /// A builder with default options; `taxonomy` supplies labels, descriptions and order.
    pub fn new(title: impl Into<String>, taxonomy: &Taxonomy) -> SummaryBuilder {
        SummaryBuilder::with_options(title, taxonomy, SummaryOptions::default())
    }

    pub fn with_options(title: impl Into<String>, taxonomy: &Taxonomy, options: SummaryOptions) -> SummaryBuilder {
        let themes: Vec<ThemeAcc> = taxonomy.themes().iter().map(|t| ThemeAcc::new(t.id.clone())).collect();
        let index = themes.iter().enumerate().map(|(i, t)| (t.id.clone(), i)).collect();
        SummaryBuilder {
            title: title.into(),
            options,
            taxonomy: taxonomy.clone(),
            index,
            themes,
            posts: 0,
            participants: HashSet::new(),
            sentiment: [0; 3],
            score_sum: 0.0,
            weeks: HashMap::new(),
            untagged: 0,
            surveys: Vec::new(),
            emerging: Vec::new(),
            rng: 0x9E37_79B9_7F4A_7C15,
        }
    }

    /// Adds one analysed post. Theme ids unknown to the taxonomy get their own entry.
    pub fn add<S: AsRef<str>>(&mut self, record: &PostRecord<'_, S>) {
        let label = record.sentiment.label.index();
        self.posts += 1;
        self.participants.insert(record.participant);
        self.sentiment[label] += 1;
        self.score_sum += record.sentiment.score;
        *self.weeks.entry(record.week).or_insert(0) += 1;
        if record.themes.is_empty() {
            self.untagged += 1;
        }
        let chars = if record.quotable { record.text.chars().count() } else { 0 };
        let quotable = record.quotable && (self.options.quote_chars.0..=self.options.quote_chars.1).contains(&chars);
        for (n, theme) in record.themes.iter().enumerate() {
            let theme = theme.as_ref();
            // A post listing a theme twice counts once.
            if record.themes[..n].iter().any(|t| t.as_ref() == theme) {
                continue;
            }
            let i = match self.index.get(theme) {
                Some(i) => *i,
                None => {
                    self.themes.push(ThemeAcc::new(theme.to_owned()));
                    self.index.insert(theme.to_owned(), self.themes.len() - 1);
                    self.themes.len() - 1
                }
            };
            let draw = if quotable { self.next_random() } else { 0 };
            let cap = self.options.reservoir;
            let acc = &mut self.themes[i];
            acc.posts += 1;
            acc.participants.insert(record.participant);
            acc.sentiment[label] += 1;
            acc.score_sum += record.sentiment.score;
            *acc.weeks.entry(record.week).or_insert(0) += 1;
            if quotable && cap > 0 {
                acc.quotable_seen += 1;
                // Reservoir sampling keeps a uniform sample of the quotable posts.
                let slot = if acc.reservoir.len() < cap {
                    Some(acc.reservoir.len())
                } else {
                    let j = (draw % acc.quotable_seen) as usize;
                    (j < cap).then_some(j)
                };
                if let Some(slot) = slot {
                    let c = Candidate {
                        text: record.text.to_owned(),
                        participant: record.participant,
                        score: record.sentiment.score,
                        sentiment: record.sentiment,
                    };
                    if slot == acc.reservoir.len() {
                        acc.reservoir.push(c);
                    } else {
                        acc.reservoir[slot] = c;
                    }
                }
            }
        }
    }

    /// Adds a survey question's results.
    pub fn add_survey(&mut self, survey: SurveyResult) {
        self.surveys.push(survey);
    }

    /// Sets the emerging themes (see [`crate::EmergingThemes`]).
    pub fn set_emerging(&mut self, emerging: Vec<EmergingTheme>) {
        self.emerging = emerging;
    }

    fn next_random(&mut self) -> u64 {
        // SplitMix64: deterministic, so the same posts give the same summary.
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn finish(self) -> Summary {
        let t = self.options.threshold;
        let all_weeks = week_range(self.weeks.keys().copied());
        let posts = Count::new(self.posts, t);
        let weeks = series(&all_weeks, &self.weeks, t);
        let sentiment = posts.is_shown().then(|| SentimentSplit::new(self.sentiment, &posts, self.score_sum, t));
        let mut themes: Vec<(usize, ThemeSummary)> = Vec::new();
        for (order, acc) in self.themes.into_iter().enumerate() {
            if acc.posts == 0 {
                continue;
            }
            let posts = Count::new(acc.posts, t);
            let (label, description) = match self.taxonomy.get(&acc.id) {
                Some(th) => (th.label.clone(), th.description.clone()),
                None => (acc.id.clone(), String::new()),
            };
            let sentiment = posts.is_shown().then(|| SentimentSplit::new(acc.sentiment, &posts, acc.score_sum, t));
            let quotes = if posts.is_shown() { pick_quotes(&acc, &self.options) } else { Vec::new() };
            themes.push((
                order,
                ThemeSummary {
                    id: acc.id,
                    label,
                    description,
                    participants: Count::new(acc.participants.len() as u64, t),
                    sentiment,
                    weeks: series(&all_weeks, &acc.weeks, t),
                    quotes,
                    posts,
                },
            ));
        }
        // Order by published volume only, so suppressed counts cannot be ranked.
        themes.sort_by(|(oa, a), (ob, b)| {
            b.posts.shown().unwrap_or(0).cmp(&a.posts.shown().unwrap_or(0)).then(oa.cmp(ob))
        });
        let surveys = self
            .surveys
            .into_iter()
            .map(|s| {
                let raws: Vec<u64> = s.answers.iter().map(|(_, c)| *c).collect();
                let responses = Count::new(raws.iter().sum(), t);
                let cells = protect(&raws, t);
                SurveySummary {
                    question: s.question,
                    answers: s
                        .answers
                        .into_iter()
                        .zip(cells)
                        .map(|((answer, _), count)| SurveyAnswer {
                            percent: count.percent_of(&responses),
                            answer,
                            count,
                        })
                        .collect(),
                    responses,
                }
            })
            .collect();
        let emerging = self
            .emerging
            .into_iter()
            .map(|e| {
                let posts = Count::new(e.posts, t);
                EmergingSummary {
                    phrase: e.phrase,
                    examples: if posts.is_shown() { e.examples } else { Vec::new() },
                    posts,
                }
            })
            .collect();
        Summary {
            title: self.title,
            threshold: t,
            small_numbers_hint: self.options.small_numbers_hint.clone(),
            posts,
            participants: Count::new(self.participants.len() as u64, t),
            sentiment,
            weeks,
            themes: themes.into_iter().map(|(_, th)| th).collect(),
            untagged: Count::new(self.untagged, t),
            surveys,
            emerging,
        }
    }
}

/// Typical rather than extreme: closest to the theme's mean sentiment, preferring a
/// moderate length, at most one quote per participant.
fn pick_quotes(acc: &ThemeAcc, options: &SummaryOptions) -> Vec<Quote> {
    let mean = acc.score_sum / acc.posts.max(1) as f64;
    let (lo, hi) = options.preferred_chars;
    let mut ranked: Vec<(f64, &Candidate)> = acc
        .reservoir
        .iter()
        .map(|c| {
            let len = c.text.chars().count();
            let penalty = if len < lo {
                (lo - len) as f64 / lo.max(1) as f64
            } else if len > hi {
                ((len - hi) as f64 / hi.max(1) as f64).min(1.0)
            } else {
                0.0
            };
            ((c.score - mean).abs() + 0.5 * penalty, c)
        })
        .collect();
    ranked.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.text.cmp(&b.1.text)));
    let mut quotes = Vec::new();
    let mut people = HashSet::new();
    for (_, c) in ranked {
        if quotes.len() >= options.quotes_per_theme {
            break;
        }
        if people.insert(c.participant) && !quotes.iter().any(|q: &Quote| q.text == c.text) {
            quotes.push(Quote { text: c.text.clone(), sentiment: c.sentiment });
        }
    }
    quotes
}

/// All weeks from the first to the last seen (gaps filled), or just the seen weeks if
/// the span is implausibly long.
fn week_range(seen: impl Iterator<Item = i64>) -> Vec<i64> {
    let mut weeks: Vec<i64> = seen.collect();
    weeks.sort_unstable();
    let (Some(&first), Some(&last)) = (weeks.first(), weeks.last()) else { return weeks };
    if is_iso_week(first) && is_iso_week(last) {
        let mut out = Vec::new();
        let mut w = first;
        while w <= last && out.len() <= 520 {
            out.push(w);
            w = next_iso_week(w);
        }
        if out.len() <= 520 {
            return out;
        }
    } else if !is_iso_week(first) && !is_iso_week(last) && last - first <= 520 {
        return (first..=last).collect();
    }
    weeks
}

fn series(weeks: &[i64], counts: &HashMap<i64, u64>, t: u64) -> Vec<WeekCount> {
    let raws: Vec<u64> = weeks.iter().map(|w| counts.get(w).copied().unwrap_or(0)).collect();
    weeks
        .iter()
        .zip(protect(&raws, t))
        .map(|(&week, posts)| WeekCount { week, label: week_label(week), posts })
        .collect()
}

fn is_iso_week(w: i64) -> bool {
    (190_001..=299_953).contains(&w) && (1..=53).contains(&(w % 100))
}

/// Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;

fn next_iso_week(w: i64) -> i64 {
    let (y, n) = (w / 100, w % 100);
    let weeks = i32::try_from(y).map_or(52, |y| i64::from(time::util::weeks_in_year(y)));
    if n >= weeks {
        (y + 1) * 100 + 1
    } else {
        w + 1
    }
}

/// The Monday week of a day (days since 1970-01-01): weeks start on Monday, as ISO 8601
/// weeks do, and week 0 starts on Monday 1969-12-29.
pub fn monday_week(days_since_epoch: i64) -> i64 {
    (days_since_epoch + 3).div_euclid(7)
}

/// The Monday week of a date.
pub fn monday_week_of_date(date: time::Date) -> i64 {
    monday_week(i64::from(date.to_julian_day()) - UNIX_EPOCH_JULIAN_DAY)
}

/// The Monday that starts a [`monday_week`].
pub fn monday_of_week(week: i64) -> Option<time::Date> {
    let day = week.checked_mul(7)?.checked_sub(3)?.checked_add(UNIX_EPOCH_JULIAN_DAY)?;
    time::Date::from_julian_day(i32::try_from(day).ok()?).ok()
}

/// A readable label for a week number: ISO `yyyyww` values become "2024-W05"; other
/// values are [`monday_week`]s and become their ISO week and the Monday it starts on,
/// e.g. "2026-W48 (Mon 2026-11-23)".
pub fn week_label(week: i64) -> String {
    if is_iso_week(week) {
        return format!("{}-W{:02}", week / 100, week % 100);
    }
    match monday_of_week(week) {
        Some(monday) => {
            let (year, iso_week, _) = monday.to_iso_week_date();
            format!("{year}-W{iso_week:02} (Mon {monday})")
        }
        None => format!("week {week}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_below_threshold_are_suppressed() {
        assert_eq!(Count::new(4, 5).to_string(), "<5");
        assert_eq!(Count::new(0, 5).to_string(), "0", "zero singles nobody out");
        assert_eq!(Count::new(0, 1).to_string(), "0");
        assert_eq!(Count::new(1, 5).to_string(), "<5");
        assert_eq!(Count::new(5, 5).to_string(), "5");
        assert_eq!(serde_json::to_string(&Count::new(3, 5)).unwrap(), "\"<5\"");
        assert_eq!(serde_json::to_string(&Count::new(30, 5)).unwrap(), "30");
    }

    #[test]
    fn secondary_suppression_stops_subtraction() {
        let cells = protect(&[3, 20, 40], 5);
        let shown: Vec<_> = cells.iter().map(|c| c.to_string()).collect();
        assert_eq!(shown, ["<5", "*", "40"]);
        // Zeros are not disclosive: shown, and they do not force more suppression.
        let shown: Vec<_> = protect(&[0, 20, 40], 5).iter().map(|c| c.to_string()).collect();
        assert_eq!(shown, ["0", "20", "40"]);
        let shown: Vec<_> = protect(&[2, 2, 40], 5).iter().map(|c| c.to_string()).collect();
        assert_eq!(shown, ["<5", "<5", "*"]);
        assert!(Count::new(3, 5).percent_of(&Count::new(60, 5)).is_none());
        assert_eq!(Count::new(15, 5).percent_of(&Count::new(60, 5)), Some(25));
    }

    #[test]
    fn week_labels() {
        assert_eq!(week_label(202405), "2024-W05");
        // Issue 13.7: weeks started on Thursdays (1970-01-01 was one). They start on Monday.
        assert_eq!(week_label(0), "1970-W01 (Mon 1969-12-29)");
        assert_eq!(week_label(monday_week(19_745)), "2024-W04 (Mon 2024-01-22)");
        // Thursday 2026-11-26 is in the week of Monday 2026-11-23, with its Sunday.
        let day = |y, m, d| {
            let date = time::Date::from_calendar_date(y, time::Month::try_from(m).unwrap(), d).unwrap();
            i64::from(date.to_julian_day()) - UNIX_EPOCH_JULIAN_DAY
        };
        let week = monday_week(day(2026, 11, 26));
        assert_eq!(week_label(week), "2026-W48 (Mon 2026-11-23)");
        assert_eq!(monday_week(day(2026, 11, 23)), week);
        assert_eq!(monday_week(day(2026, 11, 29)), week);
        assert_eq!(monday_week(day(2026, 11, 22)), week - 1);
        assert_eq!(monday_week(day(2026, 11, 30)), week + 1);
        assert_eq!(monday_week_of_date(time::Date::from_calendar_date(2026, time::Month::November, 26).unwrap()), week);
        assert_eq!(monday_of_week(week).unwrap().weekday(), time::Weekday::Monday);
        assert_eq!(week_label(i64::MAX), format!("week {}", i64::MAX));
        assert_eq!(next_iso_week(202052), 202053);
        assert_eq!(next_iso_week(202053), 202101);
        assert_eq!(next_iso_week(202352), 202401);
        assert_eq!(week_range([202351, 202402].into_iter()), [202351, 202352, 202401, 202402]);
        assert_eq!(week_range([10, 13].into_iter()), [10, 11, 12, 13]);
    }

    fn rec<'a>(p: u64, week: i64, text: &'a str, themes: &'a [&'a str], score: f64) -> PostRecord<'a, &'a str> {
        PostRecord { participant: p, week, text, themes, sentiment: Sentiment::from_score(score), quotable: true }
    }

    #[test]
    fn builder_counts_and_picks_typical_quotes() {
        let tax = Taxonomy::default();
        let mut b = SummaryBuilder::new("GP access", &tax);
        let texts = [
            "Waited three weeks for a routine appointment, which is too long.",
            "Had to wait two weeks to see anyone at the surgery, not great.",
            "Waited a fortnight for a call back from the practice nurse.",
            "ABSOLUTELY DISGUSTING WORST EVER!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
            "Ten day wait for a GP appointment, it used to be two days.",
            "Short",
        ];
        let scores = [-0.5, -0.45, -0.4, -1.0, -0.5, -0.5];
        for (i, (text, score)) in texts.iter().zip(scores).enumerate() {
            b.add(&rec(i as u64, 202401 + (i as i64 % 2), text, &["waiting"], score));
        }
        b.add(&rec(99, 202403, "Lovely receptionist", &["staff_attitude"], 0.8));
        b.add(&rec(98, 202403, "no themes here", &[], 0.0));
        let s = b.finish();
        assert_eq!(s.posts.shown(), Some(8));
        assert_eq!(s.themes[0].id, "waiting");
        assert_eq!(s.themes[0].posts.shown(), Some(6));
        let quotes: Vec<_> = s.themes[0].quotes.iter().map(|q| q.text.as_str()).collect();
        assert_eq!(quotes.len(), 3);
        assert!(!quotes.contains(&texts[3]), "extreme quote chosen: {quotes:?}");
        assert!(!quotes.contains(&"Short"));
        let staff = s.themes.iter().find(|t| t.id == "staff_attitude").unwrap();
        assert_eq!(staff.posts.to_string(), "<5");
        assert!(staff.sentiment.is_none() && staff.quotes.is_empty());
        assert_eq!(s.weeks.len(), 3);
        assert_eq!(s.untagged.to_string(), "<5");
    }

    #[test]
    fn reservoir_is_bounded_and_unquotable_posts_never_quoted() {
        let tax = Taxonomy::default();
        let mut b = SummaryBuilder::new("t", &tax);
        for i in 0..10_000u64 {
            let text = format!("A perfectly ordinary comment about parking number {i}");
            let mut r = rec(i, 2800 + (i as i64 % 10), "", &["transport"], 0.0);
            r.text = &text;
            r.quotable = i % 2 == 0;
            b.add(&r);
        }
        assert!(b.themes.iter().all(|t| t.reservoir.len() <= 64));
        let s = b.finish();
        for q in &s.themes[0].quotes {
            let n: u64 = q.text.rsplit(' ').next().unwrap().parse().unwrap();
            assert_eq!(n % 2, 0);
        }
        assert_eq!(s.themes[0].participants.shown(), Some(10_000));
    }
}
