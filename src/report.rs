//! Theme summaries for commissioners: stored post analyses streamed into the `themes`
//! crate's summary builder, and `parley analyse` for comments gathered elsewhere.

use std::borrow::Cow;
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

/// Longest input line `parley analyse` reads, in bytes: longer is surely not one comment
/// (and analysing it would be slow), and endless input without newlines must end.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// How to see smaller numbers in a local trial, for the note at the top of a report.
pub const REPORT_SMALL_NUMBERS_HINT: &str =
    "For a local trial with a handful of posts, parley report --small-numbers 1 \
     (or small_number_threshold in the [themes] section of the configuration) shows every count; keep the default \
     for anything you publish.";

/// The same for `parley analyse`.
pub const ANALYSE_SMALL_NUMBERS_HINT: &str = "For a local trial, parley analyse --small-numbers 1 shows every \
     count; keep the default for anything you publish.";

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
            Format::Csv => csv_without_formulas(&summary.to_csv()),
            Format::Json => summary.to_json(),
            Format::Html => summary.to_html(),
            Format::Chat => summary.to_chat(),
        }
    }
}

/// Makes a CSV safe to open in a spreadsheet: a cell that starts with `=`, `+`, `-`, `@`,
/// a tab or a carriage return is a formula there (CSV injection), so it gets a leading
/// single quote. Numbers ("-0.25") are left alone.
pub fn csv_without_formulas(csv_text: &str) -> String {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(csv_text.as_bytes());
    let mut writer = csv::WriterBuilder::new().flexible(true).from_writer(Vec::new());
    for record in reader.records() {
        let Ok(record) = record else { continue };
        let _ = writer.write_record(record.iter().map(|cell| inert_cell(cell).into_owned()));
    }
    writer.into_inner().map(|bytes| String::from_utf8_lossy(&bytes).into_owned()).unwrap_or_default()
}

/// A report as written to a file: without the invisible characters participants may have
/// typed (zero-width spaces, bidi overrides, tag characters) and control characters other
/// than line breaks and tabs, which could hide or reorder quoted text in every format; the
/// joiners and selectors that shape emoji and scripts stay where they do only that
/// (`moderation::normalise::without_invisible`). Chat answers drop them the same way
/// (`engine::render::inert`).
pub fn without_invisible(report: &str) -> Cow<'_, str> {
    let controls = |c: char| c.is_control() && !matches!(c, '\n' | '\r' | '\t');
    if report.contains(controls) {
        let kept: String = report.chars().filter(|&c| !controls(c)).collect();
        Cow::Owned(moderation::normalise::without_invisible(&kept).into_owned())
    } else {
        moderation::normalise::without_invisible(report)
    }
}

/// One cell, made inert for spreadsheets (see [`csv_without_formulas`]).
pub fn inert_cell(cell: &str) -> Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && cell.trim().parse::<f64>().is_err() {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// The week of a time in Unix milliseconds: a Monday week (see [`themes::monday_week`]).
pub fn week_of_ms(ms: i64) -> i64 {
    themes::monday_week(ms.div_euclid(86_400_000))
}

/// Builds the summary of one discussion from its published posts.
pub async fn discussion_summary(
    tx: &mut Tx,
    analyzer: &Analyzer,
    discussion: &Discussion,
    threshold: u64,
) -> Result<Summary> {
    let options = SummaryOptions {
        threshold,
        small_numbers_hint: Some(REPORT_SMALL_NUMBERS_HINT.to_string()),
        ..SummaryOptions::default()
    };
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

/// Reads one line of at most `max` bytes (without its line ending) into `buf`, decoding
/// invalid UTF-8 lossily. `Ok(None)` at the end of the input; `Err` names the problem.
fn read_bounded_line(input: &mut impl BufRead, buf: &mut Vec<u8>, max: usize) -> std::io::Result<Option<bool>> {
    buf.clear();
    let mut read_any = false;
    loop {
        let available = input.fill_buf()?;
        if available.is_empty() {
            break;
        }
        read_any = true;
        let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..i], true),
            None => (available, false),
        };
        if buf.len() + chunk.len() > max {
            // Stop reading: the line is refused, and endless input must not be read to its end.
            return Ok(Some(false));
        }
        buf.extend_from_slice(chunk);
        let used = chunk.len() + usize::from(done);
        input.consume(used);
        if done {
            break;
        }
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(read_any.then_some(true))
}

fn too_long(line: u64) -> String {
    format!(
        "line {line} is longer than {} KB: one comment a line is expected (is this the right file, or a CSV \
         that needs --csv?)",
        MAX_LINE_BYTES / 1024
    )
}

/// Reads comments for `parley analyse`: one per line, or a CSV with a `text` column
/// (recognised by its header). An optional `date` column (YYYY-MM-DD) sets the week.
/// Lines are at most [`MAX_LINE_BYTES`]; errors name the line.
pub fn read_comments(mut input: impl BufRead, force_csv: bool) -> std::result::Result<Vec<Comment>, String> {
    let read_error = |line: u64, e: std::io::Error| format!("cannot read line {line} of the input: {e}");
    let mut buf = Vec::new();
    let mut lines: Vec<String> = Vec::new();
    loop {
        let n = lines.len() as u64 + 1;
        match read_bounded_line(&mut input, &mut buf, MAX_LINE_BYTES).map_err(|e| read_error(n, e))? {
            None => break,
            Some(false) => return Err(too_long(n)),
            Some(true) => lines.push(String::from_utf8_lossy(&buf).into_owned()),
        }
    }
    let Some(first) = lines.first() else { return Ok(Vec::new()) };
    let header: Vec<String> = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(first.as_bytes())
        .records()
        .next()
        .and_then(|r| r.ok())
        .map(|r| r.iter().map(|f| f.trim().to_lowercase()).collect())
        .unwrap_or_default();
    let text_col = header.iter().position(|h| h == "text");
    if !(force_csv || (text_col.is_some() && header.len() > 1) || (text_col.is_some() && first.trim() == "text")) {
        return Ok(lines
            .into_iter()
            .enumerate()
            .map(|(i, text)| Comment { line: i as u64 + 1, text: text.trim().to_string(), week: None })
            .collect());
    }
    let text_col = text_col.ok_or("the CSV has no `text` column")?;
    let date_col = header.iter().position(|h| h == "date");
    let body = lines[1..].join("\n");
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(body.as_bytes());
    let mut out = Vec::new();
    let mut records = reader.records().peekable();
    while let Some(record) = records.next() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line() + 1);
            format!("CSV line {line}: {e}")
        })?;
        let (start, line) = record.position().map_or((0, 0), |p| (p.byte() as usize, p.line() + 1));
        let end = match records.peek() {
            Some(Ok(next)) => next.position().map_or(body.len(), |p| p.byte() as usize),
            _ => body.len(),
        };
        // A row that runs over several lines with an odd number of quotes has a quote that
        // was never closed: it swallowed the rows after it.
        let raw = body.get(start..end).unwrap_or_default();
        let spans = raw.trim_end().matches('\n').count();
        if spans > 0 && raw.matches('"').count() % 2 == 1 {
            return Err(format!(
                "CSV line {line}: a quote (\") is opened and never closed, so the {spans} line(s) after it would be \
                 read as part of this row; close the quote or double it (\"\") inside a quoted field"
            ));
        }
        let text = record.get(text_col).unwrap_or("").trim().to_string();
        let week = date_col.and_then(|c| record.get(c)).and_then(parse_date_week);
        out.push(Comment { line, text, week });
    }
    Ok(out)
}

/// One comment to analyse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// The line of the input it is on (for a CSV, the line where its row starts).
    pub line: u64,
    /// Its text.
    pub text: String,
    /// Its Monday week (see [`week_of_ms`]), when the input had dates.
    pub week: Option<i64>,
}

/// The Monday week of a `YYYY-MM-DD` date (anything after the tenth character, such as
/// a time, is ignored).
fn parse_date_week(s: &str) -> Option<i64> {
    let mut parts = s.trim().get(..10)?.split('-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: u8 = parts.next()?.parse().ok()?;
    let day: u8 = parts.next()?.parse().ok()?;
    let date = time::Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()?;
    Some(themes::monday_week_of_date(date))
}

/// "2026-11-27 10:15 UTC" from Unix milliseconds (for audit logs and the like).
pub fn format_utc_minute(ms: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)) {
        Ok(t) => format!("{} {:02}:{:02} UTC", t.date(), t.hour(), t.minute()),
        Err(_) => format!("{ms} ms after 1970"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reports_drop_invisible_and_control_characters() {
        assert_eq!(without_invisible("a \u{202E}SIHT\u{202C} b\u{200B}\u{7}\r\n\tc"), "a SIHT b\r\n\tc");
        assert!(matches!(without_invisible("plain\nText"), Cow::Borrowed(_)));
    }

    #[test]
    fn reads_lines_and_csv() {
        let lines = read_comments("waited ages\n\nlovely nurse\n".as_bytes(), false).unwrap();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[2].text, "lovely nurse");
        assert_eq!(lines[2].line, 3);
        let csv =
            read_comments("id,text,date\n1,\"waited, ages\",2024-02-01\n2,lovely nurse,\n".as_bytes(), false).unwrap();
        assert_eq!(csv.len(), 2);
        assert_eq!(csv[0].text, "waited, ages");
        assert_eq!(csv[0].week, Some(week_of_ms(1_706_745_600_000)));
        assert_eq!(csv[1].week, None);
        assert_eq!((csv[0].line, csv[1].line), (2, 3));
        assert!(read_comments("id,comment\n1,x\n".as_bytes(), true).is_err());
        // A quoted field over two lines is one row, on the line where it starts.
        let csv = read_comments("id,text\n1,\"two\nlines\"\n2,next\n".as_bytes(), false).unwrap();
        assert_eq!(csv.iter().map(|c| c.line).collect::<Vec<_>>(), [2, 4]);
        assert_eq!(csv[0].text, "two\nlines");
    }

    #[test]
    fn an_unterminated_quote_is_an_error_naming_the_line() {
        // Issue 9.7: it silently merged every following row into one.
        let e = read_comments("id,text\n1,fine\n2,\"never closed\n3,swallowed\n4,too\n".as_bytes(), false).unwrap_err();
        assert!(e.contains("CSV line 3") && e.contains("never closed"), "{e}");
        // A stray inch mark on one line is not an unterminated quote.
        let ok = read_comments("id,text\n1,a 32\" screen\n2,next\n".as_bytes(), true).unwrap();
        assert_eq!(ok.len(), 2);
    }

    #[test]
    fn lines_are_bounded() {
        // Issue 9.7: one long line slowed analysis super-linearly; endless input ran out
        // of memory. The reader stops at the limit and names the line.
        let mut input = b"short\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', MAX_LINE_BYTES + 1));
        input.extend(b"\nmore\n");
        let e = read_comments(input.as_slice(), false).unwrap_err();
        assert!(e.contains("line 2 is longer than 64 KB"), "{e}");
        let endless = std::io::BufReader::new(std::io::repeat(0));
        let e = read_comments(endless, false).unwrap_err();
        assert!(e.contains("line 1"), "{e}");
        // Invalid UTF-8 is decoded, not fatal.
        let lines = read_comments(&b"caf\xe9 was shut\r\nok\n"[..], false).unwrap();
        assert_eq!(lines[0].text, "caf\u{fffd} was shut");
        assert_eq!(lines[1].text, "ok");
    }

    #[test]
    fn weeks_start_on_monday() {
        // Issue 13.7: weeks started on Thursdays. Thursday 2026-11-26 is in the week that
        // starts on Monday 2026-11-23.
        let monday = parse_date_week("2026-11-23").unwrap();
        assert_eq!(parse_date_week("2026-11-26"), Some(monday));
        assert_eq!(parse_date_week("2026-11-29"), Some(monday));
        assert_eq!(parse_date_week("2026-11-22"), Some(monday - 1));
        assert_eq!(themes::week_label(monday), "2026-W48 (Mon 2026-11-23)");
        assert_eq!(week_of_ms(1_795_694_400_000), parse_date_week("2026-11-26").unwrap());
        assert_eq!(parse_date_week("2026-02-30"), None);
        assert_eq!(parse_date_week("2026-13-01"), None);
    }

    #[test]
    fn utc_minutes() {
        assert_eq!(format_utc_minute(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_utc_minute(1_700_000_000_000), "2023-11-14 22:13 UTC");
        assert_eq!(format_utc_minute(-1), "1969-12-31 23:59 UTC");
    }

    #[test]
    fn csv_cells_cannot_be_formulas() {
        // Issue 9.16: spreadsheet formula injection through quotes.
        let csv = "section,key,value\nquote,negative,=HYPERLINK(\"http://x\")\nquote,x,+1+1\nquote,x,-2+3\n\
                   quote,x,@SUM(A1)\nquote,x,\"\tTab\"\nquote,x,\"\rCR\"\ntheme,mean_score,-0.25\ntheme,posts,<5\n";
        let safe = csv_without_formulas(csv);
        let cells: Vec<Vec<String>> = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(safe.as_bytes())
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect();
        let values: Vec<&str> = cells.iter().map(|r| r[2].as_str()).collect();
        assert_eq!(
            values,
            ["value", "'=HYPERLINK(\"http://x\")", "'+1+1", "'-2+3", "'@SUM(A1)", "'\tTab", "'\rCR", "-0.25", "<5"]
        );
        // A CSV with nothing risky comes out as it went in.
        let plain = "section,key,value\ntheme,posts,12\nquote,negative,\"waited, ages\"\n";
        assert_eq!(csv_without_formulas(plain), plain);
    }
}
