//! Theme summaries for commissioners: stored post analyses streamed into the `themes`
//! crate's summary builder, and `parley analyse` for comments gathered elsewhere.

use std::io::BufRead;

use themes::{Analyzer, PostRecord, Summary, SummaryBuilder, SummaryOptions};

use crate::error::Result;
use crate::store::{Discussion, Tx};

/// Posts considered for emerging themes (the latest ones), so that summaries of huge
/// discussions stay fast.
const EMERGING_WINDOW: i64 = 5_000;

/// Posts whose text is read as candidate quotes (the latest ones): every post is counted,
/// but representative quotes come from recent posts.
const QUOTE_WINDOW: i64 = 20_000;

/// Output formats of `parley report` and `parley analyse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Markdown.
    Markdown,
    /// CSV, one row per theme.
    Csv,
    /// JSON.
    Json,
    /// One self-contained HTML file with SVG charts.
    Html,
    /// Compact text for a chat room.
    Chat,
}

impl Format {
    /// Renders a summary.
    pub fn render(self, summary: &Summary) -> String {
        match self {
            Format::Markdown => summary.to_markdown(),
            Format::Csv => summary.to_csv(),
            Format::Json => summary.to_json(),
            Format::Html => summary.to_html(),
            Format::Chat => summary.to_chat(),
        }
    }
}

/// Unix week of a time in ms (days since 1970-01-01 divided by 7).
pub fn unix_week(ms: i64) -> i64 {
    ms.div_euclid(86_400_000).div_euclid(7)
}

/// Builds the summary of one discussion from its published posts.
pub async fn discussion_summary(
    tx: &mut Tx,
    analyzer: &Analyzer,
    discussion: &Discussion,
    threshold: u64,
) -> Result<Summary> {
    let options = SummaryOptions { threshold, ..SummaryOptions::default() };
    let title = format!("{} ({})", discussion.title, discussion.slug);
    let mut builder = SummaryBuilder::with_options(title, analyzer.taxonomy(), options);
    let mut theme_ids: Vec<String> = Vec::new();
    tx.for_each_published(discussion.id, QUOTE_WINDOW, |post| {
        theme_ids.clear();
        theme_ids.extend(post.themes.split(',').filter(|t| !t.is_empty()).map(str::to_string));
        builder.add(&PostRecord {
            participant: post.participant,
            week: post.week,
            text: &post.body,
            themes: &theme_ids,
            sentiment: themes::Sentiment::from_score(post.sentiment as f64 / 100.0),
            quotable: !post.body.is_empty(),
        });
    })
    .await?;
    let recent = tx.latest_published_bodies(discussion.id, EMERGING_WINDOW).await?;
    builder.set_emerging(themes::emerging_themes(analyzer, &recent, 3, 10));
    Ok(builder.finish())
}

/// Reads comments for `parley analyse`: one per line, or a CSV with a `text` column
/// (recognised by its header). An optional `date` column (YYYY-MM-DD) sets the week.
pub fn read_comments(input: impl BufRead, force_csv: bool) -> std::result::Result<Vec<Comment>, String> {
    let mut lines = input.lines();
    let first = match lines.next() {
        None => return Ok(Vec::new()),
        Some(l) => l.map_err(|e| format!("cannot read the input: {e}"))?,
    };
    let header: Vec<String> = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(first.as_bytes())
        .records()
        .next()
        .and_then(|r| r.ok())
        .map(|r| r.iter().map(|f| f.trim().to_lowercase()).collect())
        .unwrap_or_default();
    let text_col = header.iter().position(|h| h == "text");
    if force_csv || (text_col.is_some() && header.len() > 1) || (text_col.is_some() && first.trim() == "text") {
        let text_col = text_col.ok_or("the CSV has no `text` column")?;
        let date_col = header.iter().position(|h| h == "date");
        let rest: Vec<String> =
            lines.collect::<std::result::Result<_, _>>().map_err(|e| format!("cannot read the input: {e}"))?;
        let body = rest.join("\n");
        let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(body.as_bytes());
        let mut out = Vec::new();
        for (i, record) in reader.records().enumerate() {
            let record = record.map_err(|e| format!("CSV row {}: {e}", i + 2))?;
            let text = record.get(text_col).unwrap_or("").trim().to_string();
            let week = date_col.and_then(|c| record.get(c)).and_then(parse_date_week);
            out.push(Comment { text, week });
        }
        Ok(out)
    } else {
        let mut out = vec![Comment { text: first.trim().to_string(), week: None }];
        for line in lines {
            let line = line.map_err(|e| format!("cannot read the input: {e}"))?;
            out.push(Comment { text: line.trim().to_string(), week: None });
        }
        Ok(out)
    }
}

/// One comment to analyse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// Its text.
    pub text: String,
    /// Its Unix week, when the input had dates.
    pub week: Option<i64>,
}

fn parse_date_week(s: &str) -> Option<i64> {
    let mut parts = s.trim().get(..10)?.split('-');
    let (y, m, d): (i64, i64, i64) =
        (parts.next()?.parse().ok()?, parts.next()?.parse().ok()?, parts.next()?.parse().ok()?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days from civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some((era * 146_097 + doe - 719_468).div_euclid(7))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reads_lines_and_csv() {
        let lines = read_comments("waited ages\n\nlovely nurse\n".as_bytes(), false).unwrap();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[2].text, "lovely nurse");
        let csv =
            read_comments("id,text,date\n1,\"waited, ages\",2024-02-01\n2,lovely nurse,\n".as_bytes(), false).unwrap();
        assert_eq!(csv.len(), 2);
        assert_eq!(csv[0].text, "waited, ages");
        assert_eq!(csv[0].week, Some(unix_week(1_706_745_600_000)));
        assert_eq!(csv[1].week, None);
        assert!(read_comments("id,comment\n1,x\n".as_bytes(), true).is_err());
    }

    #[test]
    fn weeks() {
        assert_eq!(unix_week(0), 0);
        assert_eq!(unix_week(7 * 86_400_000), 1);
        assert_eq!(parse_date_week("1970-01-08"), Some(1));
    }
}
