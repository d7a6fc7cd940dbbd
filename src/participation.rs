//! Two-way engagement for commissioners, beside the theme summary: survey results, what
//! the organisation said back (with the themes it answers), and participation metrics —
//! participants and posts by platform, by week and by hour of day, survey invitations →
//! starts → completions, updates sent, opt-outs — every count with small-number
//! suppression.

use std::fmt::Write as _;

use serde::Serialize;

use crate::report::Format;
use crate::store::{OrgMessage, Participation};
use crate::surveys::{protect, Cell, SurveyResults};

/// Everything about engagement in one discussion, ready to render.
#[derive(Debug, Clone, Serialize)]
pub struct Engagement {
    /// One per survey linked to the discussion.
    pub surveys: Vec<SurveyResults>,
    /// Updates and responses from the organisation.
    pub organisation: Vec<OrgLine>,
    /// Participation metrics.
    pub participation: Metrics,
}

/// An update or response, with the themes it answers.
#[derive(Debug, Clone, Serialize)]
pub struct OrgLine {
    /// "update" or "answer to #N".
    pub what: String,
    /// Theme labels.
    pub themes: Vec<String>,
    /// The text.
    pub text: String,
    /// When (UTC).
    pub at: String,
}

/// Participation metrics as published.
#[derive(Debug, Clone, Serialize)]
pub struct Metrics {
    /// Participants who posted.
    pub participants: Cell,
    /// Posts.
    pub posts: Cell,
    /// (platform, participants, posts).
    pub by_platform: Vec<(String, Cell, Cell)>,
    /// (week starting, posts).
    pub by_week: Vec<(String, Cell)>,
    /// Posts per hour of the day, 0–23 UTC.
    pub by_hour: Vec<Cell>,
    /// Survey invitations, summed over the surveys.
    pub invited: Cell,
    /// Started.
    pub started: Cell,
    /// Completed.
    pub completed: Cell,
    /// Updates made (not a count of people, so never suppressed).
    pub updates: u64,
    /// Participants the updates reached.
    pub updates_sent: Cell,
    /// Participants who said `!stop`.
    pub opted_out: Cell,
}

impl Metrics {
    /// Suppresses the raw numbers.
    pub fn new(p: &Participation, funnel: (u64, u64, u64), threshold: u64) -> Metrics {
        let t = threshold;
        let people: Vec<u64> = p.by_platform.iter().map(|(_, n, _)| *n).collect();
        let posts: Vec<u64> = p.by_platform.iter().map(|(_, _, n)| *n).collect();
        let by_platform = p
            .by_platform
            .iter()
            .zip(protect(&people, t).into_iter().zip(protect(&posts, t)))
            .map(|((platform, _, _), (a, b))| (platform.clone(), a, b))
            .collect();
        let mut weeks: Vec<(i64, u64)> = Vec::new();
        for &(day, n) in &p.by_day {
            let monday = day - (day + 3).rem_euclid(7);
            match weeks.last_mut() {
                Some((w, c)) if *w == monday => *c += n,
                _ => weeks.push((monday, n)),
            }
        }
        let week_counts: Vec<u64> = weeks.iter().map(|(_, n)| *n).collect();
        let by_week =
            weeks.iter().zip(protect(&week_counts, t)).map(|((monday, _), c)| (date_of_day(*monday), c)).collect();
        Metrics {
            participants: Cell::new(p.participants, t),
            posts: Cell::new(p.posts, t),
            by_platform,
            by_week,
            by_hour: protect(&p.by_hour, t),
            invited: Cell::new(funnel.0, t),
            started: Cell::new(funnel.1, t),
            completed: Cell::new(funnel.2, t),
            updates: p.updates,
            updates_sent: Cell::new(p.updates_sent, t),
            opted_out: Cell::new(p.opted_out, t),
        }
    }
}

/// `YYYY-MM-DD` of a day number.
fn date_of_day(day: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(day * 86_400) {
        Ok(at) => format!("{:04}-{:02}-{:02}", at.year(), u8::from(at.month()), at.day()),
        Err(_) => day.to_string(),
    }
}

impl OrgLine {
    /// From a stored message.
    pub fn new(m: &OrgMessage, theme_label: impl Fn(&str) -> String) -> OrgLine {
        OrgLine {
            what: match m.post_number {
                Some(n) => format!("answer to #{n}"),
                None => "update".into(),
            },
            themes: m.themes.split(',').filter(|t| !t.is_empty()).map(theme_label).collect(),
            text: m.body.clone(),
            at: crate::report::format_utc_minute(m.created_at),
        }
    }
}

impl Engagement {
    /// The theme summary rendered in `format` with engagement added: in its own section
    /// (Markdown, HTML, chat), as more rows of the same columns (CSV), or as more keys of
    /// the same object (JSON).
    pub fn render_with(&self, format: Format, summary: &str) -> String {
        match format {
            Format::Chat => format!("{summary}{}", self.to_chat()),
            Format::Markdown => format!("{summary}\n{}", self.to_markdown()),
            Format::Html => match summary.rfind("</main>") {
                Some(at) => format!("{}{}{}", &summary[..at], self.to_html(), &summary[at..]),
                None => format!("{summary}{}", self.to_html()),
            },
            Format::Csv => {
                let mut w = csv::Writer::from_writer(Vec::new());
                for row in self.csv_rows() {
                    let _ = w.write_record(row.iter().map(|c| inert_cell(c)));
                }
                let rows = String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default();
                format!("{summary}{}{rows}", if summary.ends_with('\n') { "" } else { "\n" })
            }
            Format::Json => {
                let mut value: serde_json::Value = serde_json::from_str(summary).unwrap_or(serde_json::Value::Null);
                if let (Some(obj), Ok(serde_json::Value::Object(more))) =
                    (value.as_object_mut(), serde_json::to_value(self))
                {
                    obj.extend(more);
                }
                serde_json::to_string_pretty(&value).unwrap_or_default()
            }
        }
    }

    /// For a chat room (`!summary`).
    pub fn to_chat(&self) -> String {
        let mut out = String::new();
        for s in &self.surveys {
            out.push_str("\n\n");
            out.push_str(&s.to_chat());
        }
        if !self.organisation.is_empty() {
            out.push_str("\n\nWhat the organisation said back:");
            for m in &self.organisation {
                let about =
                    if m.themes.is_empty() { String::new() } else { format!(" [themes: {}]", m.themes.join(", ")) };
                let _ = write!(out, "\n  {}{about}: {}", m.what, crate::engine::render::inert(&m.text));
            }
        }
        let m = &self.participation;
        let _ = write!(
            out,
            "\n\nParticipation: {} participants, {} posts; survey invitations {} → started {} → completed {}; {} \
             update(s) reaching {} participants; {} opted out of prompts.",
            m.participants, m.posts, m.invited, m.started, m.completed, m.updates, m.updates_sent, m.opted_out
        );
        if !m.by_platform.is_empty() {
            let platforms: Vec<String> = m
                .by_platform
                .iter()
                .map(|(p, people, posts)| format!("{p} {people} participants / {posts} posts"))
                .collect();
            let _ = write!(out, "\n  by platform: {}", platforms.join("; "));
        }
        if !m.by_week.is_empty() {
            let weeks: Vec<String> = m.by_week.iter().map(|(w, c)| format!("{w} {c}")).collect();
            let _ = write!(out, "\n  posts by week: {}", weeks.join(", "));
        }
        let hours: Vec<String> = m
            .by_hour
            .iter()
            .enumerate()
            .filter(|(_, c)| c.shown() != Some(0))
            .map(|(h, c)| format!("{h:02}h {c}"))
            .collect();
        if !hours.is_empty() {
            let _ = write!(out, "\n  posts by hour (UTC): {}", hours.join(", "));
        }
        out
    }

    /// Markdown.
    pub fn to_markdown(&self) -> String {
        let mut md = String::from("## Two-way engagement\n\n");
        for s in &self.surveys {
            md.push_str(&s.to_markdown());
        }
        if !self.organisation.is_empty() {
            md.push_str("### What the organisation said back\n\n");
            for m in &self.organisation {
                let _ = writeln!(md, "- {} ({}), themes: {} — {}", m.what, m.at, m.themes.join(", "), m.text);
            }
            md.push('\n');
        }
        let m = &self.participation;
        md.push_str("### Participation\n\n| Measure | Count |\n|---|---:|\n");
        for (k, v) in self.metric_rows() {
            let _ = writeln!(md, "| {k} | {v} |");
        }
        md.push('\n');
        if !m.by_week.is_empty() {
            md.push_str("| Week starting | Posts |\n|---|---:|\n");
            for (w, c) in &m.by_week {
                let _ = writeln!(md, "| {w} | {c} |");
            }
            md.push('\n');
        }
        md.push_str("| Hour (UTC) | Posts |\n|---|---:|\n");
        for (h, c) in m.by_hour.iter().enumerate() {
            let _ = writeln!(md, "| {h:02} | {c} |");
        }
        md
    }

    fn metric_rows(&self) -> Vec<(String, String)> {
        let m = &self.participation;
        let mut rows =
            vec![("participants".to_string(), m.participants.to_string()), ("posts".into(), m.posts.to_string())];
        for (p, people, posts) in &m.by_platform {
            rows.push((format!("participants on {p}"), people.to_string()));
            rows.push((format!("posts on {p}"), posts.to_string()));
        }
        rows.extend([
            ("survey invitations".into(), m.invited.to_string()),
            ("survey starts".into(), m.started.to_string()),
            ("survey completions".into(), m.completed.to_string()),
            ("updates".into(), m.updates.to_string()),
            ("participants reached by updates".into(), m.updates_sent.to_string()),
            ("opted out".into(), m.opted_out.to_string()),
        ]);
        rows
    }

    /// CSV rows in the theme summary's columns: `section,theme_id,theme_label,key,value`.
    pub fn csv_rows(&self) -> Vec<[String; 5]> {
        let mut rows: Vec<[String; 5]> = Vec::new();
        for s in &self.surveys {
            rows.extend(s.csv_rows());
        }
        for m in &self.organisation {
            rows.push(["organisation".into(), m.themes.join(";"), m.what.clone(), m.at.clone(), m.text.clone()]);
        }
        for (k, v) in self.metric_rows() {
            rows.push(["participation".into(), String::new(), String::new(), k, v]);
        }
        for (w, c) in &self.participation.by_week {
            rows.push(["participation_week".into(), String::new(), String::new(), w.clone(), c.to_string()]);
        }
        for (h, c) in self.participation.by_hour.iter().enumerate() {
            rows.push(["participation_hour".into(), String::new(), String::new(), format!("{h:02}"), c.to_string()]);
        }
        rows
    }

    /// HTML sections with SVG charts (no scripts, nothing external).
    pub fn to_html(&self) -> String {
        let mut h = String::new();
        for s in &self.surveys {
            h.push_str(&s.to_html());
        }
        if !self.organisation.is_empty() {
            h.push_str("<section class=\"organisation\"><h2>What the organisation said back</h2>\n<table><thead><tr><th>What</th><th>Themes it answers</th><th>Text</th></tr></thead><tbody>\n");
            for m in &self.organisation {
                let _ = writeln!(
                    h,
                    "<tr><td>{} <small class=\"note\">{}</small></td><td>{}</td><td>{}</td></tr>",
                    esc(&m.what),
                    esc(&m.at),
                    esc(&m.themes.join(", ")),
                    esc(&m.text)
                );
            }
            h.push_str("</tbody></table></section>\n");
        }
        let m = &self.participation;
        h.push_str("<section class=\"participation\"><h2>Participation</h2>\n<table><tbody>\n");
        for (k, v) in self.metric_rows() {
            let _ = writeln!(h, "<tr><td>{}</td><td class=\"n\">{}</td></tr>", esc(&k), esc(&v));
        }
        h.push_str("</tbody></table>\n<h3>Survey funnel</h3>\n");
        h.push_str(&bars(&[
            ("invited".into(), m.invited),
            ("started".into(), m.started),
            ("completed".into(), m.completed),
        ]));
        if !m.by_week.is_empty() {
            h.push_str("<h3>Posts by week</h3>\n");
            h.push_str(&bars(&m.by_week.iter().map(|(w, c)| (format!("week of {w}"), *c)).collect::<Vec<_>>()));
        }
        h.push_str("<h3>Posts by hour of day (UTC)</h3>\n");
        h.push_str(&columns(&m.by_hour));
        h.push_str("</section>\n");
        h
    }
}

/// A CSV cell that a spreadsheet will not run as a formula.
fn inert_cell(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Horizontal bars; a suppressed count has no bar, only its label.
fn bars(items: &[(String, Cell)]) -> String {
    let height = 22 * items.len() + 4;
    let max = items.iter().filter_map(|(_, c)| c.shown()).max().unwrap_or(1).max(1) as f64;
    let mut svg = format!(
        "<svg class=\"chart\" role=\"img\" width=\"640\" height=\"{height}\" viewBox=\"0 0 640 {height}\" \
         xmlns=\"http://www.w3.org/2000/svg\">\n"
    );
    for (i, (label, c)) in items.iter().enumerate() {
        let y = i * 22 + 2;
        let w = c.shown().map_or(0.0, |n| 340.0 * n as f64 / max);
        let _ = writeln!(
            svg,
            "<text x=\"0\" y=\"{}\" font-size=\"13\">{}</text><rect x=\"180\" y=\"{y}\" width=\"{w:.1}\" height=\"16\" \
             fill=\"#007f3b\"/><text x=\"{:.1}\" y=\"{}\" font-size=\"13\">{}</text>",
            y + 13,
            esc(label),
            186.0 + w,
            y + 13,
            esc(&c.to_string())
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// 24 columns, one per hour.
fn columns(hours: &[Cell]) -> String {
    let max = hours.iter().filter_map(|c| c.shown()).max().unwrap_or(1).max(1) as f64;
    let mut svg = String::from(
        "<svg class=\"chart\" role=\"img\" width=\"640\" height=\"170\" viewBox=\"0 0 640 170\" \
         xmlns=\"http://www.w3.org/2000/svg\">\n",
    );
    for (h, c) in hours.iter().enumerate() {
        let x = 10 + h * 26;
        let bar = c.shown().map_or(0.0, |n| 120.0 * n as f64 / max);
        let _ = writeln!(
            svg,
            "<rect x=\"{x}\" y=\"{:.1}\" width=\"20\" height=\"{bar:.1}\" fill=\"#005eb8\"/><text x=\"{x}\" y=\"160\" \
             font-size=\"10\">{h:02}</text><text x=\"{x}\" y=\"{:.1}\" font-size=\"10\">{}</text>",
            140.0 - bar,
            136.0 - bar,
            esc(&c.to_string())
        );
    }
    svg.push_str("</svg>\n");
    svg
}
