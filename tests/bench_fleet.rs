//! `parley bench`, run as a user would. Three parley processes on one PostgreSQL with one
//! killed (SIGKILL) midway: nothing lost, nothing delivered twice, `#N` gapless in every
//! discussion. And the single-process bench on a SQLite file reports its figures beside
//! the baseline. Small counts here; BENCHMARKS.md has the full-size runs.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

fn bench(args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_parley"))
        .arg("bench")
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("PARLEY_CONFIG")
        .output()
        .expect("parley runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "parley bench failed: {stderr}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("one JSON object on stdout ({e}); stderr: {stderr}"))
}

#[test]
fn three_processes_on_postgres_lose_nothing_when_one_is_killed() {
    let admin = common::postgres_admin_url();
    let report = bench(&["--processes", "3", "--participants", "150", "--posts", "1500", "--database", &admin]);
    assert_eq!(report["processes"], 3);
    assert!(report["killed_after_messages"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(report["lost"], 0, "{report}");
    assert_eq!(report["duplicated"], 0, "{report}");
    assert_eq!(report["numbering_gaps"], 0, "{report}");
    assert_eq!(report["numbering_duplicates"], 0, "{report}");
    let posts = report["posts_stored"].as_u64().unwrap();
    // Abusive posts may be rejected without a post row; most posts are stored.
    assert!(posts > 1_100 && posts <= 1_500, "{report}");
    let (seen, rows) = (report["deliveries_seen"].as_u64().unwrap(), report["outbox_rows"].as_u64().unwrap());
    assert!(seen * 10 >= rows * 9, "{report}");
    // The fleet's rows, written again with nothing else to do.
    let ceiling = &report["write_ceiling"];
    assert_eq!(ceiling["posts"], report["posts_stored"], "{report}");
    assert_eq!(ceiling["outbox_rows"], report["outbox_rows"], "{report}");
    assert!(ceiling["posts_per_sec"].as_f64().unwrap() > 0.0, "{report}");
    assert!(report["ratio_to_write_ceiling"].as_f64().unwrap() > 0.0, "{report}");
}

#[test]
fn the_single_process_bench_reports_throughput_beside_its_baseline() {
    let report = bench(&["--participants", "100", "--posts", "600"]);
    assert_eq!(report["database"], "sqlite file");
    let parley = &report["parley"];
    assert_eq!(parley["post_messages"], 600, "{report}");
    assert!(parley["posts_stored"].as_u64().unwrap() > 500, "{report}");
    assert!(parley["posts_per_sec"].as_f64().unwrap() > 0.0);
    assert!(report["baseline"]["posts_per_sec"].as_f64().unwrap() > 0.0);
    assert!(report["ratio_to_baseline"].as_f64().unwrap() > 0.0);
    write_ceiling_is_reported(&report);
    // Every row is delivered but those cancelled before their turn (a post removed by a
    // moderator while its thread line waited).
    let (delivered, rows) = (parley["outbox_delivered"].as_u64().unwrap(), parley["outbox_rows"].as_u64().unwrap());
    assert!(delivered <= rows && delivered * 10 >= rows * 9, "{report}");
    assert_eq!(report["numbering_gaps"], 0);
    // No group had to be stored a second time: the figures are the normal path's.
    assert_eq!(parley["groups_stored_again"], 0, "{report}");
    assert!(report["rate_limiter_entries"].as_u64().unwrap() >= 100, "{report}");
    assert!(report["peak_rss_mb"].as_f64().unwrap() > 0.0);
}

/// The run's rows were copied (the copy checks it holds them all) and its figures given.
fn write_ceiling_is_reported(report: &serde_json::Value) {
    let ceiling = &report["write_ceiling"];
    assert_eq!(ceiling["posts"], report["parley"]["posts_stored"], "{report}");
    assert_eq!(ceiling["outbox_rows"], report["parley"]["outbox_rows"], "{report}");
    // Posts, outbox rows, inbound events and participants at least.
    let rows = ceiling["rows"].as_u64().unwrap();
    assert!(rows > ceiling["posts"].as_u64().unwrap() + ceiling["outbox_rows"].as_u64().unwrap(), "{report}");
    assert!(ceiling["posts_per_sec"].as_f64().unwrap() > 0.0, "{report}");
    assert!(report["ceiling_ratio_to_baseline"].as_f64().unwrap() > 0.0, "{report}");
    assert!(report["ratio_to_write_ceiling"].as_f64().unwrap() > 0.0, "{report}");
}

#[test]
fn the_single_process_bench_on_postgres_reports_its_write_ceiling() {
    let admin = common::postgres_admin_url();
    let report = bench(&["--participants", "50", "--posts", "300", "--database", &admin]);
    assert_eq!(report["database"], "postgres");
    assert_eq!(report["numbering_gaps"], 0, "{report}");
    assert_eq!(report["parley"]["groups_stored_again"], 0, "{report}");
    write_ceiling_is_reported(&report);
}

#[test]
fn bench_refuses_processes_without_postgres() {
    let out = Command::new(env!("CARGO_BIN_EXE_parley"))
        .args(["bench", "--processes", "2"])
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--processes needs --database postgres://"), "{stderr}");
}
