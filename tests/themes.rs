//! Themes for commissioners: `!summary` in the commissioners' room, `parley report` and
//! `parley analyse`.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{lines_for, TestBot};

const POSTS: &[&str] = &[
    "Waited three weeks for a GP appointment, the phone queue at 8am is hopeless",
    "Could not get an appointment for my son, had to go to A&E instead",
    "The receptionist was rude and dismissive when I asked for a callback",
    "Waited ages on hold then got cut off, no appointments left by 8.15",
    "Appointments are impossible to get, I gave up after a week of trying",
    "The nurse was lovely and explained everything, couldn't fault her",
    "Parking at the surgery costs a fortune and the bus only runs hourly",
];

#[tokio::test]
async fn commissioners_get_a_summary_in_chat_with_small_numbers_hidden() {
    let bot = TestBot::sqlite().await;
    bot.drain().await;
    for (i, text) in POSTS.iter().enumerate() {
        let name = format!("person{i}");
        bot.say(&name, "!join gp-access").await;
        let out = bot.say(&name, text).await;
        assert_eq!(lines_for(&out, "thread gp-access").len(), 1, "{out:?}");
    }
    let out = bot.say("comm1", "!summary gp-access").await;
    let text = out.join("\n");
    assert!(text.starts_with("[commissioners] "), "{text}");
    assert!(text.contains("7 posts"), "{text}");
    assert!(text.to_lowercase().contains("access"), "{text}");
    assert!(text.contains("<5"), "small counts are hidden: {text}");
    assert!(!text.contains("person"), "no identities: {text}");

    let out = bot.say("alice", "!summary gp-access").await;
    assert!(lines_for(&out, "dm alice")[0].contains("Only commissioners"));
    let out = bot.say("comm1", "!summary nowhere").await;
    assert!(lines_for(&out, "commissioners")[0].contains("There is no discussion"));
}

fn parley(args: &[&str], data_dir: &std::path::Path, stdin: Option<&str>) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_parley"));
    cmd.arg("--data-dir").arg(data_dir).args(args);
    for var in ["DATABASE_URL", "PARLEY_SECRET", "PARLEY_SECRET_FILE", "PARLEY_CONFIG", "PARLEY_DATA_DIR"] {
        cmd.env_remove(var);
    }
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut pipe = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        pipe.write_all(text.as_bytes()).unwrap();
    }
    drop(pipe);
    let out = child.wait_with_output().unwrap();
    (out.status.success(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn report_writes_every_format_from_a_console_session() {
    let dir = tempfile::tempdir().unwrap();
    let mut script = String::new();
    for (i, text) in POSTS.iter().enumerate() {
        script.push_str(&format!("p{i}: !join gp-access\np{i}: {text}\n"));
    }
    let (ok, _, err) = parley(&["console"], dir.path(), Some(&script));
    assert!(ok, "{err}");

    let (ok, md, err) = parley(&["report", "--discussion", "gp-access", "--format", "md"], dir.path(), None);
    assert!(ok, "{err}");
    assert!(md.starts_with('#') && md.contains("Getting a GP appointment"), "{md}");
    let (ok, csv, _) = parley(&["report", "--discussion", "gp-access", "--format", "csv"], dir.path(), None);
    assert!(ok && csv.lines().count() > 2, "{csv}");
    let (ok, json, _) = parley(&["report", "--discussion", "gp-access", "--format", "json"], dir.path(), None);
    assert!(ok);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(value.is_object());

    let html_path = dir.path().join("report.html");
    let (ok, _, err) = parley(
        &["report", "--discussion", "gp-access", "--format", "html", "--output", html_path.to_str().unwrap()],
        dir.path(),
        None,
    );
    assert!(ok, "{err}");
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.matches("<svg").count() >= 3, "three charts");
    for external in ["<script", "<link", "src=\"http", "href=\"http", "url(http", "@import"] {
        assert!(!html.contains(external), "self-contained, but found {external}");
    }

    let (ok, _, err) = parley(&["report", "--discussion", "nowhere"], dir.path(), None);
    assert!(!ok && err.contains("no discussion called"), "{err}");
}

#[test]
fn analyse_tags_comments_in_input_order() {
    let dir = tempfile::tempdir().unwrap();
    let input = "Waited ages for an appointment\nThe pharmacist was brilliant\n\nNo parking spaces and the bus only runs hourly\n";
    let (ok, out, err) = parley(&["analyse"], dir.path(), Some(input));
    assert!(ok, "{err}");
    let rows: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 4, "one object per input line, blank lines included");
    assert!(rows[0]["themes"].as_array().unwrap().iter().any(|t| t == "waiting"));
    assert_eq!(rows[0]["sentiment"]["label"], "negative");
    assert_eq!(rows[1]["sentiment"]["label"], "positive");
    assert!(rows[2]["themes"].as_array().unwrap().is_empty());
    assert_eq!(rows[2]["sentiment"]["label"], "neutral", "an empty line has nothing to go on");
    assert!(rows[3]["themes"].as_array().unwrap().iter().any(|t| t == "transport" || t == "cost"));
    assert!(rows[0]["sentiment"]["score"].is_number());

    let csv_path = dir.path().join("feedback.csv");
    std::fs::write(
        &csv_path,
        "id,text,date\n1,\"Waited ages, then rude staff\",2026-01-05\n2,Lovely nurse,2026-01-12\n",
    )
    .unwrap();
    let (ok, out, err) = parley(&["analyse", "--input", csv_path.to_str().unwrap()], dir.path(), None);
    assert!(ok, "{err}");
    assert_eq!(out.lines().count(), 2);
    let (ok, md, _) = parley(&["analyse", "--input", csv_path.to_str().unwrap(), "--format", "md"], dir.path(), None);
    assert!(ok && md.contains("<5"), "{md}");

    std::fs::write(&csv_path, "id,comment\n1,hello\n").unwrap();
    let (ok, _, err) = parley(&["analyse", "--input", csv_path.to_str().unwrap()], dir.path(), None);
    assert!(!ok && err.contains("no `text` column"), "{err}");
    let (ok, _, err) = parley(&["analyse", "--input", "/nonexistent/file.txt"], dir.path(), None);
    assert!(!ok && err.contains("cannot open"), "{err}");
}

#[test]
fn analyse_explain_names_the_words_behind_each_tag() {
    let dir = tempfile::tempdir().unwrap();
    let input = "The ambulance took over three hours to arrive\n";
    let (ok, out, err) = parley(&["analyse", "--explain"], dir.path(), Some(input));
    assert!(ok, "{err}");
    let row: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let themes = row["themes"].as_array().unwrap();
    assert!(themes.iter().any(|t| t == "waiting"), "{row}");
    let explain = row["explain"].as_array().unwrap();
    // One entry per theme, then one for the sentiment label.
    assert_eq!(explain.len(), themes.len() + 1, "{row}");
    let waiting = explain.iter().find(|e| e["tag"] == "waiting").unwrap();
    let words: Vec<&str> = waiting["words"].as_array().unwrap().iter().map(|w| w.as_str().unwrap()).collect();
    assert!(!words.is_empty() && words.iter().all(|w| input.to_lowercase().contains(w)), "{words:?}");
    assert_eq!(explain.last().unwrap()["tag"], row["sentiment"]["label"]);
}

const CODED: &str = "text,sentiment,parking,food\n\
    No spaces in the car park,negative,1,0\n\
    The car park was full again,negative,1,0\n\
    Parking costs too much,negative,1,0\n\
    Plenty of parking,positive,1,0\n\
    Easy parking near the door,positive,1,0\n\
    The food was cold,negative,0,1\n\
    Lovely hot meals,positive,0,1\n\
    Sandwiches were stale,negative,0,1\n\
    Good food and tea,positive,0,1\n\
    No hot food after six,negative,0,1\n\
    Everything was fine,positive,0,0\n\
    It was okay,neutral,0,0\n";

#[test]
fn a_trust_trains_evaluates_and_uses_its_own_model() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("coded.csv");
    std::fs::write(&csv, CODED).unwrap();
    let model = dir.path().join("ours.model");
    let args = ["themes", "train", "--input", csv.to_str().unwrap(), "--out", model.to_str().unwrap()];
    let (ok, _, err) = parley(&args, dir.path(), None);
    assert!(ok, "{err}");
    let first = std::fs::read(&model).unwrap();
    let (ok, _, err) = parley(&args, dir.path(), None);
    assert!(ok, "{err}");
    assert_eq!(std::fs::read(&model).unwrap(), first, "retraining gives the same bytes");

    let (ok, out, err) =
        parley(&["themes", "evaluate", "--input", csv.to_str().unwrap(), "--folds", "3"], dir.path(), None);
    assert!(ok, "{err}");
    assert!(out.contains("3-fold cross-validation on 12 comments"), "{out}");
    assert!(out.contains("parking") && out.contains("food") && out.contains("sentiment"), "{out}");

    let config = dir.path().join("parley.toml");
    let example = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/example.toml")).unwrap();
    let config_text = example.replace("[themes]\n", &format!("[themes]\nmodel = {:?}\n", model.to_str().unwrap()));
    std::fs::write(&config, config_text).unwrap();
    let (ok, out, err) = parley(
        &["--config", config.to_str().unwrap(), "analyse"],
        dir.path(),
        Some("The car park was full\nThe meals were cold\n"),
    );
    assert!(ok, "{err}");
    let rows: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(rows[0]["themes"].as_array().unwrap().iter().any(|t| t == "parking"), "{out}");
    assert!(rows[1]["themes"].as_array().unwrap().iter().any(|t| t == "food"), "{out}");

    // A bad CSV names the line and the column.
    std::fs::write(&csv, "text,parking\nfine,0\nno spaces,yes\n").unwrap();
    let (ok, _, err) = parley(&args, dir.path(), None);
    assert!(!ok && err.contains("line 3") && err.contains("`parking`"), "{err}");
    // And a file that is not a model is refused at start.
    std::fs::write(&model, "not a model").unwrap();
    let (ok, _, err) = parley(&["--config", config.to_str().unwrap(), "analyse"], dir.path(), Some("hello\n"));
    assert!(!ok && err.contains("themes.model"), "{err}");
}
