//! Coded comments for training: a CSV in the NHS FFT format with a mapping file
//! (`theme-map.json`), or a plain CSV with a `text` column and one 0/1 column per theme id.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::analyzer::SentimentLabel;
use crate::{Error, Result};

/// The mapping from the NHS patient-experience framework (v6) to parley's theme ids, as
/// used by the held-out measurement (`themes/model/theme-map.json`).
pub const NHS_FFT_THEME_MAP: &str = include_str!("../../model/theme-map.json");

/// Which CSV columns make each theme, and how the sentiment column maps to labels.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThemeMap {
    /// Theme id → the columns that count as that theme (any of them set).
    pub themes: BTreeMap<String, Vec<String>>,
    /// Value of the sentiment column → positive / neutral / negative.
    #[serde(default)]
    pub sentiment_from_comment_sentiment: BTreeMap<String, String>,
    /// The text column (default: `FFT answer`, else `text`).
    #[serde(default)]
    pub text_column: Option<String>,
    /// The sentiment column (default: `Comment sentiment`, else `sentiment`).
    #[serde(default)]
    pub sentiment_column: Option<String>,
}

impl ThemeMap {
    /// Parses a mapping file.
    pub fn from_json(text: &str) -> Result<ThemeMap> {
        let map: ThemeMap = serde_json::from_str(text).map_err(|e| Error::Model(format!("theme map: {e}")))?;
        for (id, cols) in &map.themes {
            if !crate::taxonomy::valid_id(id) {
                return Err(Error::Model(format!(
                    "theme map: `{id}` is not a theme id (lower-case letters, digits and _)"
                )));
            }
            if cols.is_empty() {
                return Err(Error::Model(format!("theme map: theme `{id}` lists no columns")));
            }
        }
        for (k, v) in &map.sentiment_from_comment_sentiment {
            v.parse::<SentimentLabel>().map_err(|e| Error::Model(format!("theme map: sentiment `{k}`: {e}")))?;
        }
        Ok(map)
    }

    /// The NHS FFT mapping shipped with parley.
    pub fn nhs_fft() -> ThemeMap {
        #[allow(clippy::expect_used)] // embedded file, covered by tests
        ThemeMap::from_json(NHS_FFT_THEME_MAP).expect("the embedded theme map is valid")
    }
}

/// One coded comment.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub text: String,
    /// One flag per theme of the corpus.
    pub themes: Vec<bool>,
    pub sentiment: Option<SentimentLabel>,
    /// The organisation or other group it came from (`Trust`, `trust` or `group` column).
    pub group: Option<String>,
    /// Its line in the CSV file (for messages).
    pub line: u64,
}

/// Coded comments with their theme ids.
#[derive(Debug, Clone, PartialEq)]
pub struct Corpus {
    pub themes: Vec<String>,
    pub examples: Vec<Example>,
    /// Read in the NHS FFT format with the shipped mapping.
    pub nhs_fft: bool,
}

/// Recorded in models trained on the NHS FFT data with the shipped mapping.
pub const NHS_FFT_SOURCE: &str = "Friends and Family Test comments coded by NHS staff (v6 framework), \
     The-Strategy-Unit/pxtextmining datasets/v6framework_230831.csv; MIT licence, copyright NHS England";

/// A theme id and the columns that make it.
type ThemeColumns = (String, Vec<usize>);

fn row_error(line: u64, column: &str, problem: impl Into<String>) -> Error {
    Error::TrainingData { line, column: column.to_owned(), problem: problem.into() }
}

/// Columns of a plain CSV that are neither text, sentiment nor a theme.
const IGNORED: &[&str] = &["id", "date", "trust", "group", "organisation", "organization", "question"];

fn flag(value: &str, line: u64, column: &str) -> Result<bool> {
    match value.trim() {
        "" | "0" | "0.0" => Ok(false),
        "1" | "1.0" => Ok(true),
        other => Err(row_error(line, column, format!("`{other}` is not 0 or 1"))),
    }
}

impl Corpus {
    /// Reads a CSV. With a map, its columns say what each theme is; without one, a CSV with
    /// an `FFT answer` column uses the NHS FFT map, and any other CSV needs a `text` column,
    /// optionally `sentiment` (positive, neutral, negative) and one 0/1 column per theme id
    /// (`id`, `date`, `trust`, `group` and columns starting with `_` are ignored). Rows with
    /// no text are skipped. Errors name the line and column.
    pub fn from_csv(input: impl std::io::Read, map: Option<&ThemeMap>) -> Result<Corpus> {
        let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(input);
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| row_error(1, "", format!("cannot read the header: {e}")))?
            .iter()
            .map(|h| h.trim().to_owned())
            .collect();
        let find = |name: &str| header.iter().position(|h| h == name);
        let find_ci = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
        let nhs;
        let mut nhs_fft = false;
        let map = match map {
            Some(m) => Some(m),
            None if find("FFT answer").is_some() => {
                nhs = ThemeMap::nhs_fft();
                nhs_fft = true;
                Some(&nhs)
            }
            None => None,
        };
        let group_col = find("Trust").or_else(|| find_ci("trust")).or_else(|| find_ci("group"));
        // (theme id, columns) and the text and sentiment columns.
        let (themes, text_col, sentiment_col): (Vec<ThemeColumns>, usize, Option<usize>) = match map {
            Some(m) => {
                let text_name = m
                    .text_column
                    .clone()
                    .unwrap_or_else(|| if find("FFT answer").is_some() { "FFT answer" } else { "text" }.to_owned());
                let text = find(&text_name).ok_or_else(|| row_error(1, &text_name, "no such column"))?;
                let sentiment_name = m.sentiment_column.clone().unwrap_or_else(|| {
                    if find("Comment sentiment").is_some() { "Comment sentiment" } else { "sentiment" }.to_owned()
                });
                let sentiment = find(&sentiment_name);
                let mut themes = Vec::new();
                for (id, cols) in &m.themes {
                    let idx = cols
                        .iter()
                        .map(|c| find(c).ok_or_else(|| row_error(1, c, format!("no such column (theme `{id}`)"))))
                        .collect::<Result<Vec<usize>>>()?;
                    themes.push((id.clone(), idx));
                }
                (themes, text, sentiment)
            }
            None => {
                let text = find_ci("text").ok_or_else(|| row_error(1, "text", "no such column"))?;
                let sentiment = find_ci("sentiment");
                let mut themes = Vec::new();
                for (i, h) in header.iter().enumerate() {
                    let lower = h.to_lowercase();
                    if i == text || Some(i) == sentiment || h.starts_with('_') || IGNORED.contains(&lower.as_str()) {
                        continue;
                    }
                    if !crate::taxonomy::valid_id(h) {
                        return Err(row_error(
                            1,
                            h,
                            "not a theme id (lower-case letters, digits and _); \
                             rename it, start it with _ to ignore it, or use a mapping file",
                        ));
                    }
                    themes.push((h.clone(), vec![i]));
                }
                (themes, text, sentiment)
            }
        };
        if themes.is_empty() {
            return Err(row_error(1, "", "no theme columns"));
        }
        let mut examples = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                let problem = match e.kind() {
                    csv::ErrorKind::UnequalLengths { expected_len, len, .. } => format!(
                        "{len} field(s) where the header has {expected_len} (a comment that contains a comma \
                         must be in double quotes)"
                    ),
                    csv::ErrorKind::Utf8 { .. } => "not UTF-8 text (save the CSV as UTF-8)".to_owned(),
                    _ => e.to_string(),
                };
                row_error(line, "", problem)
            })?;
            let line = record.position().map(|p| p.line()).unwrap_or(0);
            let text = record.get(text_col).unwrap_or("").split_whitespace().collect::<Vec<_>>().join(" ");
            if text.is_empty() {
                continue;
            }
            let mut flags = Vec::with_capacity(themes.len());
            for (_, cols) in &themes {
                let mut any = false;
                for &c in cols {
                    any |= flag(record.get(c).unwrap_or(""), line, &header[c])?;
                }
                flags.push(any);
            }
            let sentiment = match sentiment_col {
                None => None,
                Some(c) => {
                    let raw = record.get(c).unwrap_or("").trim();
                    if raw.is_empty() {
                        None
                    } else {
                        let mapped = map
                            .and_then(|m| m.sentiment_from_comment_sentiment.get(raw.split('.').next().unwrap_or(raw)));
                        let label = mapped.map(String::as_str).unwrap_or(raw);
                        Some(label.to_lowercase().parse::<SentimentLabel>().map_err(|_| {
                            row_error(line, &header[c], format!("`{raw}` is not positive, neutral or negative"))
                        })?)
                    }
                }
            };
            let group = group_col.and_then(|c| record.get(c)).map(str::trim).filter(|g| !g.is_empty());
            examples.push(Example { text, themes: flags, sentiment, group: group.map(str::to_owned), line });
        }
        if examples.is_empty() {
            return Err(row_error(1, &header[text_col], "no row has text"));
        }
        Ok(Corpus { themes: themes.into_iter().map(|(id, _)| id).collect(), examples, nhs_fft })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_csv_with_theme_columns() {
        let csv =
            "id,text,sentiment,parking,food\n1,No spaces at all,negative,1,0\n2,,,0,0\n3,Lovely soup,positive,0,1\n";
        let c = Corpus::from_csv(csv.as_bytes(), None).unwrap();
        assert_eq!(c.themes, ["parking", "food"]);
        assert_eq!(c.examples.len(), 2);
        assert_eq!(c.examples[1].themes, [false, true]);
        assert_eq!(c.examples[1].sentiment, Some(SentimentLabel::Positive));
        assert_eq!(c.examples[1].line, 4);
    }

    #[test]
    fn bad_values_name_the_line_and_column() {
        let csv = "text,parking\nfine,0\nno spaces,yes\n";
        let e = Corpus::from_csv(csv.as_bytes(), None).unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("`parking`") && e.contains("`yes`"), "{e}");
        let e = Corpus::from_csv("text,sentiment,parking\nfine,great,0\n".as_bytes(), None).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("`sentiment`"), "{e}");
        let e = Corpus::from_csv("text,Parking Spaces\nfine,0\n".as_bytes(), None).unwrap_err().to_string();
        assert!(e.contains("`Parking Spaces`"), "{e}");
        let e = Corpus::from_csv("comment,parking\nfine,0\n".as_bytes(), None).unwrap_err().to_string();
        assert!(e.contains("`text`"), "{e}");
        let e = Corpus::from_csv("text,parking\nfine,0,1\n".as_bytes(), None).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("3 field(s) where the header has 2"), "{e}");
        assert!(!e.contains("column"), "no empty column name: {e}");
        let e = Corpus::from_csv(&b"text,parking\nfine \xff,0\n"[..], None).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("UTF-8"), "{e}");
    }

    #[test]
    fn nhs_format_uses_the_map() {
        let csv = "Trust,FFT answer,Comment sentiment,Parking,Timeliness of care\n\
                   NEAS,Waited hours,5,,1\nNHFT,Great,1.0,0,0\nNHFT,Meh,3,1,\n";
        let c = Corpus::from_csv(csv.as_bytes(), None);
        // The NHS map names columns this small file does not have.
        assert!(c.unwrap_err().to_string().contains("no such column"));
        let map = ThemeMap::from_json(
            r#"{"themes": {"waiting": ["Timeliness of care"], "transport": ["Parking"]},
                "sentiment_from_comment_sentiment": {"1": "positive", "3": "neutral", "5": "negative"}}"#,
        )
        .unwrap();
        let c = Corpus::from_csv(csv.as_bytes(), Some(&map)).unwrap();
        assert_eq!(c.themes, ["transport", "waiting"]);
        assert_eq!(c.examples[0].themes, [false, true]);
        assert_eq!(c.examples[0].sentiment, Some(SentimentLabel::Negative));
        assert_eq!(c.examples[1].sentiment, Some(SentimentLabel::Positive));
        assert_eq!(c.examples[2].group.as_deref(), Some("NHFT"));
        assert!(ThemeMap::nhs_fft().themes.contains_key("staff_attitude"));
    }
}
