//! What a newcomer sees from the binary's inputs and reports: bounded console and
//! `analyse` input (issue 9.7), a terminal that escape sequences cannot reach (9.12), CSV
//! that spreadsheets cannot run (9.16), small numbers in small demos (13.5–13.7) and the
//! console's introduction (13.10).
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::process::{Command, Stdio};

fn parley(args: &[&str], data_dir: &std::path::Path, stdin: &[u8]) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_parley"));
    cmd.arg("--data-dir").arg(data_dir).args(args);
    for var in ["DATABASE_URL", "PARLEY_SECRET", "PARLEY_SECRET_FILE", "PARLEY_CONFIG", "PARLEY_DATA_DIR"] {
        cmd.env_remove(var);
    }
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut pipe = child.stdin.take().unwrap();
    // The child may stop reading early (an over-long analyse input): ignore a broken pipe.
    let _ = pipe.write_all(stdin);
    drop(pipe);
    let out = child.wait_with_output().unwrap();
    (out.status.success(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn the_console_refuses_an_over_long_line_and_carries_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut script = b"alice: !join gp-access\n".to_vec();
    script.extend(b"alice: ");
    script.extend(std::iter::repeat_n(b'x', 2 * 1024 * 1024));
    script.extend(b"\nalice: caf\xe9 hours are too short\n");
    script.extend(b"bob: !join gp-access\nbob: \x1b[2J\x1b]0;owned\x07 hello\n");
    let (ok, out, err) = parley(&["console"], dir.path(), &script);
    assert!(ok, "{err}");
    assert!(err.contains("Line 2 was ignored: it is longer than"), "{err}");
    assert!(!out.contains("xxxxxxxxxx"), "the long line reached the bot");
    // Invalid UTF-8 does not stop the console.
    assert!(out.contains("[thread gp-access] #1 ") && out.contains("caf\u{fffd} hours are too short"), "{out}");
    // Escape sequences are shown inert, never sent to the terminal.
    assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out:?}");
    assert!(out.contains("[thread gp-access] #2 "), "{out}");
    let db = std::fs::metadata(dir.path().join("parley.db")).unwrap().len();
    assert!(db < 1024 * 1024, "the long line was stored: {db} bytes");
}

#[test]
fn the_console_introduces_itself_in_plain_language_even_when_piped() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = parley(&["console"], dir.path(), b"");
    assert!(ok);
    assert!(err.contains("mod1 speaks in the moderators' room"), "{err}");
    assert!(err.contains("comm1 speaks in the commissioners' room"), "{err}");
    assert!(err.contains("Ctrl-C") && !err.contains("[\"mod1\"]"), "{err}");
}

#[test]
fn analyse_jsonl_has_line_numbers_and_text() {
    let dir = tempfile::tempdir().unwrap();
    let input = "Waited three weeks for an appointment\n\nThe nurse was lovely\n";
    let (ok, out, err) = parley(&["analyse"], dir.path(), input.as_bytes());
    assert!(ok, "{err}");
    let rows: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[2]["line"], 3);
    assert_eq!(rows[2]["text"], "The nurse was lovely");
    // The fields a scoring script reads are as they were.
    assert!(rows[0]["themes"].as_array().unwrap().iter().any(|t| t == "waiting"), "{out}");
    assert!(rows[0]["sentiment"]["label"].is_string() && rows[0]["sentiment"]["score"].is_number(), "{out}");
    let (ok, out, _) = parley(&["analyse", "--no-text"], dir.path(), input.as_bytes());
    assert!(
        ok && !out.contains("nurse") && out.lines().nth(2).unwrap().starts_with("{\"line\":3,\"themes\":"),
        "{out}"
    );
    // CSV rows carry the line where they start.
    let csv = "id,text\n1,\"Parking costs\na fortune\"\n2,The receptionist was rude\n";
    let (ok, out, _) = parley(&["analyse", "--csv"], dir.path(), csv.as_bytes());
    assert!(ok);
    let rows: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!((rows[0]["line"].as_u64(), rows[1]["line"].as_u64()), (Some(2), Some(4)));
}

#[test]
fn analyse_refuses_broken_input_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut long = b"fine\n".to_vec();
    long.extend(std::iter::repeat_n(b'y', 5 * 1024 * 1024));
    let (ok, _, err) = parley(&["analyse"], dir.path(), &long);
    assert!(!ok && err.contains("line 2 is longer than"), "{err}");
    let csv = "id,text\n1,fine\n2,\"never closed\n3,swallowed\n";
    let (ok, _, err) = parley(&["analyse", "--csv"], dir.path(), csv.as_bytes());
    assert!(!ok && err.contains("CSV line 3") && err.contains("never closed"), "{err}");
}

#[test]
fn small_demos_show_figures_and_say_how_to_see_more() {
    let dir = tempfile::tempdir().unwrap();
    let input =
        "Waited three weeks for an appointment\nThe nurse was kind and friendly\nNo parking spaces and the bus only runs hourly\n";
    let (ok, md, _) = parley(&["analyse", "--format", "md"], dir.path(), input.as_bytes());
    assert!(ok);
    // Said once, at the top, with how to change it.
    assert_eq!(md.matches("Counts under 5 are hidden").count(), 1, "{md}");
    let note = md.find("Counts under 5 are hidden").unwrap();
    assert!(note < md.find("## Themes").unwrap(), "{md}");
    assert!(md.contains("--small-numbers 1"), "{md}");
    // Zero is 0: every comment matched a theme.
    assert!(md.contains("matched no theme") && md.contains("; 0 matched no theme"), "{md}");
    let (ok, md, _) = parley(&["analyse", "--format", "md", "--small-numbers", "1"], dir.path(), input.as_bytes());
    assert!(ok);
    assert!(md.contains("**3** posts from **3** participants"), "{md}");
    assert!(!md.contains("<1") && md.contains("Every count is shown"), "{md}");
    let (ok, _, err) = parley(&["analyse", "--small-numbers", "0"], dir.path(), b"x\n");
    assert!(!ok && err.contains("small-numbers"), "{err}");
}

#[test]
fn trend_weeks_start_on_monday_and_say_so() {
    let dir = tempfile::tempdir().unwrap();
    // Thursday 26 and Sunday 29 November 2026 are one week; Monday 30 starts the next.
    let csv = "date,text\n2026-11-26,Waited ages\n2026-11-29,Waited weeks\n2026-11-30,Waited again\n";
    let (ok, md, err) =
        parley(&["analyse", "--csv", "--format", "md", "--small-numbers", "1"], dir.path(), csv.as_bytes());
    assert!(ok, "{err}");
    assert!(md.contains("| 2026-W48 (Mon 2026-11-23) | 2 |"), "{md}");
    assert!(md.contains("| 2026-W49 (Mon 2026-11-30) | 1 |"), "{md}");
}

#[test]
fn csv_reports_cannot_run_formulas() {
    let dir = tempfile::tempdir().unwrap();
    let input = "=HYPERLINK(\"http://evil.example\",\"waited\") waited weeks for an appointment\n\
                 @SUM(1) waited weeks for a callback\n";
    let (ok, csv, _) = parley(
        &["analyse", "--format", "csv", "--title", "=1+1", "--small-numbers", "1"],
        dir.path(),
        input.as_bytes(),
    );
    assert!(ok);
    for record in csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(csv.as_bytes()).records() {
        for cell in record.unwrap().iter() {
            let risky = cell.starts_with(['=', '+', '@', '\t', '\r'])
                || (cell.starts_with('-') && cell.parse::<f64>().is_err());
            assert!(!risky, "a formula cell: {cell:?}");
        }
    }
    assert!(csv.contains("'=1+1"), "{csv}");
}
