//! Rendering summaries for chat, Markdown, CSV, JSON and a self-contained HTML report.
//! Every number shown goes through [`Count`]'s suppression; charts size bars only from
//! published counts.

use std::fmt::Write as _;

use crate::analyzer::SentimentLabel;
use crate::summary::{Count, SentimentSplit, Summary, ThemeSummary, WeekCount};

const POSITIVE: &str = "#2e7d32";
const NEUTRAL: &str = "#9e9e9e";
const NEGATIVE: &str = "#c62828";
const WITHHELD: &str = "#e0e0e0";
const BLUE: &str = "#005eb8";

/// Escapes text for HTML and SVG (element content and attribute values).
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn escape_md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn truncate(s: &str, max: usize) -> String {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() <= max {
        return s;
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    if let Some(cut) = t.rfind(' ').filter(|&i| i > max / 2) {
        t.truncate(cut);
    }
    t.push('…');
    t
}

fn dominant(split: &SentimentSplit) -> Option<(SentimentLabel, u64)> {
    let cells = split.cells();
    let percents = [split.positive_percent, split.neutral_percent, split.negative_percent];
    // A shown zero is never the dominant sentiment ("0% neutral" when the others are hidden).
    cells
        .iter()
        .zip(percents)
        .filter_map(|((label, _), p)| p.filter(|p| *p > 0).map(|p| (*label, p)))
        .max_by_key(|(_, p)| *p)
}

fn split_text(split: &Option<SentimentSplit>) -> String {
    match split {
        None => "sentiment not shown (too few posts)".to_owned(),
        Some(s) => format!(
            "{} positive, {} neutral, {} negative",
            with_percent(&s.positive, s.positive_percent),
            with_percent(&s.neutral, s.neutral_percent),
            with_percent(&s.negative, s.negative_percent)
        ),
    }
}

fn with_percent(c: &Count, p: Option<u64>) -> String {
    match p {
        Some(p) => format!("{c} ({p}%)"),
        None => c.to_string(),
    }
}

fn suppression_note(threshold: u64, hint: Option<&str>) -> String {
    if threshold <= 1 {
        return "Every count is shown, small numbers included: do not publish this report as it is.".to_owned();
    }
    let mut note = format!(
        "Counts under {threshold} are hidden, shown as \"<{threshold}\", so that small groups cannot be singled out; \"*\" marks a count withheld so that a small number cannot be worked out from the others."
    );
    if let Some(hint) = hint {
        note.push(' ');
        note.push_str(hint);
    }
    note
}

impl Summary {
    /// A few lines for a chat message.
    pub fn to_chat(&self) -> String {
        let mut out = format!("{}: {} posts from {} people", self.title, self.posts, self.participants);
        if let Some((label, p)) = self.sentiment.as_ref().and_then(dominant) {
            let _ = write!(out, ", {p}% {label}");
        }
        out.push('\n');
        let top: Vec<String> = self
            .themes
            .iter()
            .take(5)
            .map(|t| match t.sentiment.as_ref().and_then(dominant) {
                Some((label, p)) => format!("{} {} ({p}% {label})", t.label, t.posts),
                None => format!("{} {}", t.label, t.posts),
            })
            .collect();
        if !top.is_empty() {
            let _ = writeln!(out, "Top themes: {}", top.join("; "));
        }
        let emerging: Vec<String> =
            self.emerging.iter().take(3).map(|e| format!("\"{}\" ({})", e.phrase, e.posts)).collect();
        if !emerging.is_empty() {
            let _ = writeln!(out, "Emerging: {}", emerging.join(", "));
        }
        if let Some((t, q)) = self.themes.iter().find_map(|t| t.quotes.first().map(|q| (t, q))) {
            let _ = writeln!(out, "{}: \"{}\"", t.label, truncate(&q.text, 140));
        }
        out.trim_end().to_owned()
    }

    /// A Markdown report.
    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(md, "# {}\n", escape_md(&self.title));
        let _ = writeln!(md, "_{}_\n", suppression_note(self.threshold, self.small_numbers_hint.as_deref()));
        let _ = writeln!(
            md,
            "**{}** posts from **{}** participants; {} matched no theme.\n",
            self.posts, self.participants, self.untagged
        );
        let _ = writeln!(md, "Overall sentiment: {}.\n", split_text(&self.sentiment));
        let _ = writeln!(md, "## Themes\n");
        let _ = writeln!(md, "| Theme | Posts | People | Positive | Neutral | Negative |");
        let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|");
        for t in &self.themes {
            let cells = match &t.sentiment {
                Some(s) => format!(
                    "{} | {} | {}",
                    with_percent(&s.positive, s.positive_percent),
                    with_percent(&s.neutral, s.neutral_percent),
                    with_percent(&s.negative, s.negative_percent)
                ),
                None => "– | – | –".to_owned(),
            };
            let _ = writeln!(md, "| {} | {} | {} | {} |", escape_md(&t.label), t.posts, t.participants, cells);
        }
        md.push('\n');
        if !self.weeks.is_empty() {
            let _ = writeln!(md, "## Posts by week\n");
            let _ = writeln!(md, "| Week | Posts |");
            let _ = writeln!(md, "|---|---:|");
            for w in &self.weeks {
                let _ = writeln!(md, "| {} | {} |", w.label, w.posts);
            }
            md.push('\n');
        }
        for t in self.themes.iter().filter(|t| !t.quotes.is_empty()) {
            let _ = writeln!(md, "### {}\n", escape_md(&t.label));
            let trend: Vec<String> = t.weeks.iter().map(|w| format!("{} {}", w.label, w.posts)).collect();
            let _ = writeln!(md, "Trend: {}\n", trend.join(", "));
            for q in &t.quotes {
                let _ = writeln!(md, "> {} ({})\n", escape_md(&q.text), q.sentiment.label);
            }
        }
        if !self.surveys.is_empty() {
            let _ = writeln!(md, "## Survey results\n");
            for s in &self.surveys {
                let _ = writeln!(md, "**{}** ({} responses)\n", escape_md(&s.question), s.responses);
                for a in &s.answers {
                    let _ = writeln!(md, "- {}: {}", escape_md(&a.answer), with_percent(&a.count, a.percent));
                }
                md.push('\n');
            }
        }
        if !self.emerging.is_empty() {
            let _ = writeln!(md, "## Emerging themes (not in the taxonomy)\n");
            for e in &self.emerging {
                let _ = writeln!(md, "- {} ({} posts)", escape_md(&e.phrase), e.posts);
            }
            md.push('\n');
        }
        md
    }

    /// Long-format CSV: `section,theme_id,theme_label,key,value`.
    pub fn to_csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut row = |section: &str, id: &str, label: &str, key: &str, value: String| {
            let _ = w.write_record([section, id, label, key, value.as_str()]);
        };
        row("section", "theme_id", "theme_label", "key", "value".to_owned());
        row("discussion", "", &self.title, "posts", self.posts.to_string());
        row("discussion", "", &self.title, "participants", self.participants.to_string());
        row("discussion", "", &self.title, "untagged", self.untagged.to_string());
        if let Some(s) = &self.sentiment {
            for (label, c) in s.cells() {
                row("discussion", "", &self.title, label.as_str(), c.to_string());
            }
        }
        for w in &self.weeks {
            row("week", "", "", &w.label, w.posts.to_string());
        }
        for t in &self.themes {
            row("theme", &t.id, &t.label, "posts", t.posts.to_string());
            row("theme", &t.id, &t.label, "participants", t.participants.to_string());
            if let Some(s) = &t.sentiment {
                for (label, c) in s.cells() {
                    row("theme", &t.id, &t.label, label.as_str(), c.to_string());
                }
                row("theme", &t.id, &t.label, "mean_score", format!("{:.2}", s.mean_score));
            }
            for w in &t.weeks {
                row("theme_week", &t.id, &t.label, &w.label, w.posts.to_string());
            }
            for q in &t.quotes {
                row("quote", &t.id, &t.label, q.sentiment.label.as_str(), q.text.clone());
            }
        }
        for s in &self.surveys {
            row("survey", "", &s.question, "responses", s.responses.to_string());
            for a in &s.answers {
                row("survey_answer", "", &s.question, &a.answer, a.count.to_string());
            }
        }
        for e in &self.emerging {
            row("emerging", "", &e.phrase, "posts", e.posts.to_string());
        }
        let bytes = w.into_inner().unwrap_or_default();
        String::from_utf8(bytes).unwrap_or_default()
    }

    /// Pretty JSON; suppressed counts are strings such as `"<5"`.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// One self-contained HTML page (inline CSS, inline SVG charts, no scripts or
    /// external resources).
    pub fn to_html(&self) -> String {
        let title = escape_html(&self.title);
        let mut h = String::new();
        let _ = write!(
            h,
            r#"<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>{title}</title>
<style>
body {{ font-family: Arial, Helvetica, sans-serif; color: #212b32; margin: 0; background: #f0f4f5; }}
header {{ background: {BLUE}; color: #fff; padding: 16px 32px; }}
header h1 {{ margin: 0 0 4px; font-size: 28px; }}
main {{ max-width: 1100px; margin: 0 auto; padding: 16px 32px 48px; }}
section {{ background: #fff; border-radius: 4px; padding: 16px 24px; margin: 16px 0; }}
h2 {{ font-size: 22px; margin: 0 0 12px; }}
h3 {{ font-size: 18px; margin: 20px 0 8px; }}
table {{ border-collapse: collapse; width: 100%; font-size: 15px; }}
th, td {{ text-align: left; padding: 6px 8px; border-bottom: 1px solid #d8dde0; }}
td.n, th.n {{ text-align: right; font-variant-numeric: tabular-nums; }}
blockquote {{ margin: 8px 0; padding: 8px 14px; border-left: 4px solid {BLUE}; background: #f7f9fa; }}
blockquote small {{ color: #4c6272; }}
.stats {{ display: flex; gap: 16px; flex-wrap: wrap; }}
.stat {{ background: #fff; border-radius: 4px; padding: 12px 20px; min-width: 140px; }}
.stat b {{ display: block; font-size: 30px; color: {BLUE}; }}
.note {{ color: #4c6272; font-size: 14px; }}
.legend span {{ display: inline-block; margin-right: 16px; font-size: 14px; }}
.legend i {{ display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: middle; }}
svg text {{ font-family: Arial, Helvetica, sans-serif; }}
</style>
</head>
<body>
<header><h1>{title}</h1><div>Themes for commissioners</div></header>
<main>
<p class="note">{note}</p>
"#,
            note = escape_html(&suppression_note(self.threshold, self.small_numbers_hint.as_deref()))
        );
        let overall = self
            .sentiment
            .as_ref()
            .and_then(dominant)
            .map_or_else(|| "–".to_owned(), |(label, p)| format!("{p}% {label}"));
        let _ = writeln!(
            h,
            r#"<div class="stats"><div class="stat"><b>{}</b>posts</div><div class="stat"><b>{}</b>participants</div><div class="stat"><b>{}</b>themes found</div><div class="stat"><b>{}</b>overall</div></div>"#,
            self.posts,
            self.participants,
            self.themes.len(),
            escape_html(&overall)
        );
        let _ = write!(h, "<section><h2>Themes by volume</h2>\n{}</section>\n", volume_chart(&self.themes));
        let _ = write!(
            h,
            "<section><h2>Sentiment by theme</h2>\n<div class=\"legend\"><span><i style=\"background:{POSITIVE}\"></i>positive</span><span><i style=\"background:{NEUTRAL}\"></i>neutral</span><span><i style=\"background:{NEGATIVE}\"></i>negative</span><span><i style=\"background:{WITHHELD}\"></i>withheld (small numbers)</span></div>\n{}</section>\n",
            sentiment_chart(&self.themes)
        );
        if !self.weeks.is_empty() {
            let _ = write!(h, "<section><h2>Posts by week</h2>\n{}</section>\n", week_chart(&self.weeks));
        }
        let _ = write!(
            h,
            "<section><h2>Theme details</h2>\n<table><thead><tr><th>Theme</th><th class=\"n\">Posts</th><th class=\"n\">People</th><th class=\"n\">Positive</th><th class=\"n\">Neutral</th><th class=\"n\">Negative</th><th class=\"n\">Mean score</th></tr></thead><tbody>\n"
        );
        for t in &self.themes {
            let (p, n, g, m) = match &t.sentiment {
                Some(s) => (
                    with_percent(&s.positive, s.positive_percent),
                    with_percent(&s.neutral, s.neutral_percent),
                    with_percent(&s.negative, s.negative_percent),
                    format!("{:+.2}", s.mean_score),
                ),
                None => ("–".into(), "–".into(), "–".into(), "–".into()),
            };
            let _ = writeln!(
                h,
                "<tr><td title=\"{}\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                escape_html(&t.description),
                escape_html(&t.label),
                escape_html(&t.posts.to_string()),
                escape_html(&t.participants.to_string()),
                escape_html(&p),
                escape_html(&n),
                escape_html(&g),
                escape_html(&m)
            );
        }
        h.push_str("</tbody></table>\n");
        for t in self.themes.iter().filter(|t| !t.quotes.is_empty()) {
            let _ = writeln!(h, "<h3>{}</h3>", escape_html(&t.label));
            for q in &t.quotes {
                let _ = writeln!(
                    h,
                    "<blockquote>{}<br><small>{}</small></blockquote>",
                    escape_html(&q.text),
                    q.sentiment.label
                );
            }
        }
        h.push_str("</section>\n");
        if !self.surveys.is_empty() {
            h.push_str("<section><h2>Survey results</h2>\n");
            for s in &self.surveys {
                let _ = writeln!(
                    h,
                    "<h3>{} <small class=\"note\">({} responses)</small></h3><table><tbody>",
                    escape_html(&s.question),
                    escape_html(&s.responses.to_string())
                );
                for a in &s.answers {
                    let _ = writeln!(
                        h,
                        "<tr><td>{}</td><td class=\"n\">{}</td></tr>",
                        escape_html(&a.answer),
                        escape_html(&with_percent(&a.count, a.percent))
                    );
                }
                h.push_str("</tbody></table>\n");
            }
            h.push_str("</section>\n");
        }
        if !self.emerging.is_empty() {
            h.push_str("<section><h2>Emerging themes</h2><p class=\"note\">Phrases that recur but match no theme in the taxonomy.</p><table><thead><tr><th>Phrase</th><th class=\"n\">Posts</th></tr></thead><tbody>\n");
            for e in &self.emerging {
                let _ = writeln!(
                    h,
                    "<tr><td>{}</td><td class=\"n\">{}</td></tr>",
                    escape_html(&e.phrase),
                    escape_html(&e.posts.to_string())
                );
            }
            h.push_str("</tbody></table></section>\n");
        }
        let _ = write!(
            h,
            "<p class=\"note\">{} posts matched no theme.</p>\n</main>\n</body>\n</html>\n",
            escape_html(&self.untagged.to_string())
        );
        h
    }
}

const CHART_W: f64 = 1000.0;
const LABEL_W: f64 = 250.0;
const ROW_H: f64 = 30.0;

fn svg_open(height: f64, title: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"100%\" viewBox=\"0 0 {CHART_W} {height}\" style=\"max-width:{CHART_W}px\"><title>{}</title>\n",
        escape_html(title)
    )
}

fn volume_chart(themes: &[ThemeSummary]) -> String {
    let height = ROW_H * themes.len().max(1) as f64 + 10.0;
    let mut s = svg_open(height, "Themes by number of posts");
    let max = themes.iter().filter_map(|t| t.posts.shown()).max().unwrap_or(1).max(1) as f64;
    let bar_w = CHART_W - LABEL_W - 80.0;
    for (i, t) in themes.iter().enumerate() {
        let y = i as f64 * ROW_H + 5.0;
        let _ = writeln!(
            s,
            "<text x=\"{:.0}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"14\">{}</text>",
            LABEL_W - 10.0,
            y + 17.0,
            escape_html(&t.label)
        );
        let (w, fill) = match t.posts.shown() {
            Some(n) => (bar_w * n as f64 / max, BLUE),
            None => (6.0, WITHHELD),
        };
        let _ = writeln!(
            s,
            "<rect x=\"{LABEL_W}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.0}\" fill=\"{fill}\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"14\">{}</text>",
            y + 3.0,
            ROW_H - 8.0,
            LABEL_W + w + 6.0,
            y + 17.0,
            escape_html(&t.posts.to_string())
        );
    }
    s.push_str("</svg>\n");
    s
}

fn sentiment_chart(themes: &[ThemeSummary]) -> String {
    let height = ROW_H * themes.len().max(1) as f64 + 10.0;
    let mut s = svg_open(height, "Sentiment by theme");
    let bar_w = CHART_W - LABEL_W - 20.0;
    for (i, t) in themes.iter().enumerate() {
        let y = i as f64 * ROW_H + 5.0;
        let _ = writeln!(
            s,
            "<text x=\"{:.0}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"14\">{}</text>",
            LABEL_W - 10.0,
            y + 17.0,
            escape_html(&t.label)
        );
        let (Some(split), Some(total)) = (&t.sentiment, t.posts.shown()) else {
            let _ = writeln!(
                s,
                "<rect x=\"{LABEL_W}\" y=\"{:.1}\" width=\"{bar_w:.1}\" height=\"{:.0}\" fill=\"{WITHHELD}\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"13\" fill=\"#4c6272\">too few posts to show</text>",
                y + 3.0,
                ROW_H - 8.0,
                LABEL_W + 8.0,
                y + 17.0
            );
            continue;
        };
        let mut x = LABEL_W;
        let colours = [POSITIVE, NEUTRAL, NEGATIVE];
        let mut shown_sum = 0;
        for ((_, c), colour) in split.cells().into_iter().zip(colours) {
            let Some(n) = c.shown() else { continue };
            shown_sum += n;
            let w = bar_w * n as f64 / total.max(1) as f64;
            let _ = writeln!(
                s,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.0}\" fill=\"{colour}\"><title>{}</title></rect>",
                y + 3.0,
                ROW_H - 8.0,
                escape_html(&c.to_string())
            );
            if w > 36.0 {
                let _ = writeln!(
                    s,
                    "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" fill=\"#fff\">{}</text>",
                    x + 4.0,
                    y + 17.0,
                    escape_html(&c.to_string())
                );
            }
            x += w;
        }
        // The withheld remainder equals total minus the published cells, which anyone can
        // compute from the table, and is zero or at least the threshold by construction.
        if shown_sum < total {
            let w = bar_w * (total - shown_sum) as f64 / total.max(1) as f64;
            let _ = writeln!(
                s,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.0}\" fill=\"{WITHHELD}\"/>",
                y + 3.0,
                ROW_H - 8.0
            );
        }
    }
    s.push_str("</svg>\n");
    s
}

fn week_chart(weeks: &[WeekCount]) -> String {
    let height = 260.0;
    let (left, bottom, top) = (50.0, 50.0, 20.0);
    let plot_h = height - bottom - top;
    let mut s = svg_open(height, "Posts by week");
    let max = weeks.iter().filter_map(|w| w.posts.shown()).max().unwrap_or(1).max(1) as f64;
    let slot = (CHART_W - left - 10.0) / weeks.len().max(1) as f64;
    let bar = (slot * 0.7).max(1.0);
    let _ = writeln!(
        s,
        "<line x1=\"{left}\" y1=\"{:.0}\" x2=\"{:.0}\" y2=\"{:.0}\" stroke=\"#4c6272\"/><text x=\"{:.0}\" y=\"{:.0}\" font-size=\"12\" text-anchor=\"end\">{}</text><text x=\"{:.0}\" y=\"{:.0}\" font-size=\"12\" text-anchor=\"end\">0</text>",
        top + plot_h,
        CHART_W - 10.0,
        top + plot_h,
        left - 6.0,
        top + 10.0,
        max as u64,
        left - 6.0,
        top + plot_h
    );
    let label_every = (weeks.len() / 12).max(1);
    for (i, w) in weeks.iter().enumerate() {
        let x = left + i as f64 * slot + (slot - bar) / 2.0;
        match w.posts.shown() {
            Some(n) => {
                let bh = plot_h * n as f64 / max;
                let _ = writeln!(
                    s,
                    "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{bh:.1}\" fill=\"{BLUE}\"><title>{}: {}</title></rect>",
                    top + plot_h - bh,
                    escape_html(&w.label),
                    n
                );
            }
            None => {
                let _ = writeln!(
                    s,
                    "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"4\" fill=\"{WITHHELD}\"><title>{}: {}</title></rect>",
                    top + plot_h - 4.0,
                    escape_html(&w.label),
                    escape_html(&w.posts.to_string())
                );
            }
        }
        if i % label_every == 0 {
            let _ = writeln!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\">{}</text>",
                x + bar / 2.0,
                top + plot_h + 16.0,
                escape_html(&w.label)
            );
        }
    }
    s.push_str("</svg>\n<p class=\"note\">Weeks with small numbers are drawn as a thin grey bar.</p>\n");
    s
}

#[cfg(test)]
mod tests {
    use crate::{PostRecord, Sentiment, SummaryBuilder, SurveyResult, Taxonomy};

    /// 40 waiting posts from 12 people, 3 staff posts, 1 quote with markup.
    fn sample() -> crate::Summary {
        let tax = Taxonomy::default();
        let mut b = SummaryBuilder::new("Test <discussion>", &tax);
        for i in 0..40u64 {
            let score = if i < 3 { 0.6 } else { -0.5 };
            b.add(&PostRecord {
                participant: i % 12,
                week: 202410 + (i as i64 % 2),
                text: "Waited nearly three weeks for a routine appointment at the surgery.",
                themes: &["waiting"],
                sentiment: Sentiment::from_score(score),
                quotable: true,
            });
        }
        for i in 0..3u64 {
            b.add(&PostRecord {
                participant: 100 + i,
                week: 202412,
                text: "The receptionist said <script>alert('x')</script> & laughed",
                themes: &["staff_attitude"],
                sentiment: Sentiment::from_score(-0.7),
                quotable: true,
            });
        }
        b.add_survey(SurveyResult {
            question: "Did you get an appointment?".into(),
            answers: vec![("Yes".into(), 2), ("No".into(), 38), ("Not sure".into(), 9)],
        });
        b.set_emerging(vec![crate::EmergingTheme { phrase: "blood test".into(), posts: 2, examples: vec![1, 2] }]);
        b.finish()
    }

    #[test]
    fn a_shown_zero_is_never_the_dominant_sentiment() {
        let s = sample();
        // Waiting: positive <5, neutral 0, negative withheld; the discussion likewise.
        assert!(!s.to_html().contains("0% neutral"));
        assert!(!s.to_chat().contains("0% neutral"), "{}", s.to_chat());
    }

    #[test]
    fn small_numbers_never_leak() {
        let s = sample();
        let outputs = [s.to_chat(), s.to_markdown(), s.to_csv(), s.to_json(), s.to_html()];
        for out in &outputs {
            assert!(out.contains("<5") || out.contains("&lt;5"), "{out}");
        }
        // Staff theme has 3 posts; waiting has 3 positive posts; survey "Yes" has 2.
        let md = s.to_markdown();
        assert!(md.contains("| Staff attitude | <5 | <5 | – | – | – |"), "{md}");
        // 3 positive and 0 neutral: their sum could be worked out from the total, so the
        // negative count is withheld as well.
        // The zero is shown (issue 13.5): it singles nobody out.
        assert!(md.contains("| Waiting times | 40 | 12 | <5 | 0 (0%) | * |"), "{md}");
        assert!(md.contains("| 2024-W10 | * |\n| 2024-W11 | 20 |\n| 2024-W12 | <5 |"), "{md}");
        assert!(md.contains("- Yes: <5") && md.contains("- Not sure: *"), "{md}");
        let json = s.to_json();
        assert!(json.contains("\"posts\": \"<5\""), "{json}");
        assert!(!json.contains("\"examples\": [\n        1"), "{json}");
        let csv = s.to_csv();
        assert!(csv.contains("theme,staff_attitude,Staff attitude,posts,<5"), "{csv}");
        assert!(csv.contains("survey_answer,,Did you get an appointment?,Yes,<5"), "{csv}");
        for out in &outputs {
            for leak in ["\"posts\": 3", ",3\n", "| 3 |", " 3 (", "positive_percent\": 8", "(5%)", "(7%)"] {
                assert!(!out.contains(leak), "leaked {leak:?} in {out}");
            }
        }
        // Quotes of suppressed themes are not shown.
        assert!(!s.to_html().contains("laughed"));
    }

    #[test]
    fn html_escapes_user_text() {
        let tax = Taxonomy::default();
        let mut b = SummaryBuilder::new("A & B <b>", &tax);
        for i in 0..6u64 {
            b.add(&PostRecord {
                participant: i,
                week: 202401,
                text: "The receptionist said <script>alert(\"x\")</script> & 'laughed'",
                themes: &["staff_attitude"],
                sentiment: Sentiment::from_score(-0.7),
                quotable: true,
            });
        }
        let html = b.finish().to_html();
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;laughed&#39;"));
        assert!(html.contains("<title>A &amp; B &lt;b&gt;</title>"));
        assert!(
            !html.contains("http://")
                || html.matches("http://").count() == html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count()
        );
        assert!(!html.contains("<link") && !html.contains("<img") && !html.contains("src="));
        assert_eq!(html.matches("<svg").count(), 3);
    }

    #[test]
    fn chat_is_compact() {
        let chat = sample().to_chat();
        assert!(chat.lines().count() <= 5, "{chat}");
        assert!(chat.starts_with("Test <discussion>: 43 posts from 15 people"), "{chat}");
    }
}
