//! The `parley` binary as a newcomer uses it: a script piped into `parley console`,
//! `check-config`, and `run` without adapters.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::process::{Command, Stdio};

fn parley(data_dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_parley"));
    cmd.arg("--data-dir").arg(data_dir);
    for var in ["DATABASE_URL", "PARLEY_SECRET", "PARLEY_SECRET_FILE", "PARLEY_CONFIG", "PARLEY_DATA_DIR"] {
        cmd.env_remove(var);
    }
    cmd
}

fn console(data_dir: &std::path::Path, script: &str) -> (String, String) {
    let mut child = parley(data_dir)
        .arg("console")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn a_piped_script_runs_a_whole_discussion() {
    let dir = tempfile::tempdir().unwrap();
    let script = "\
alice: !topics
alice: !join gp-access
bob: !join gp-access
alice: I waited three weeks for an appointment
bob: !reply #1 Same here, and the phone queue is hopeless
bob: !join urgent-care
bob: NHS 111 was quick to call back
not a valid line
";
    let (out, err) = console(dir.path(), script);
    assert!(err.contains("created a new random secret"), "{err}");
    assert!(err.contains("NAME: TEXT"), "an invalid line gets a hint: {err}");
    let threads: Vec<&str> = out.lines().filter(|l| l.starts_with("[thread ")).collect();
    let gp: Vec<&str> = threads.iter().copied().filter(|l| l.starts_with("[thread gp-access] #")).collect();
    assert_eq!(gp.len(), 2, "{out}");
    assert!(
        gp[0].starts_with("[thread gp-access] #1 ") && gp[0].ends_with(": I waited three weeks for an appointment")
    );
    assert!(gp[1].contains("replying to #1: Same here"));
    assert!(out.contains("[dm alice] Open discussions:"));
    assert!(out.contains("[thread urgent-care] #1 "));
    for line in out.lines().filter(|l| l.starts_with("[thread") || l.starts_with("[moderators]")) {
        assert!(!line.contains("alice") && !line.contains("bob"), "{line}");
    }

    // A second run on the same data folder continues numbering and reuses the secret.
    let (out2, err2) = console(dir.path(), "bob: !join gp-access\nbob: a third post\n");
    assert!(!err2.contains("created"), "{err2}");
    assert!(out2.contains("[thread gp-access] #3 "), "{out2}");
    let bob_before = gp[1].split(' ').skip(3).take(2).collect::<Vec<_>>().join(" ").trim_end_matches(',').to_string();
    assert!(out2.contains(&format!("#3 {bob_before}:")), "same pseudonym across runs: {out2}");

    let bytes = std::fs::read(dir.path().join("parley.db")).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains("alice") && !text.contains("bob"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("secret")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn in_memory_database_works() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = parley(dir.path())
        .args(["--database", "sqlite::memory:", "console"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"alice: !join gp-access\nalice: hello\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("[thread gp-access] #1 "));
    assert!(!dir.path().join("parley.db").exists());
}

#[test]
fn malformed_config_is_refused_with_the_key_named() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[bot]\nmax_post_chars = 0\n").unwrap();
    let out = parley(dir.path()).args(["check-config", "--config"]).arg(&bad).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bot.max_post_chars") && err.contains("bad.toml"), "{err}");

    std::fs::write(&bad, "[[discussions]]\nslug = \"gp\"\ntitle = \"GP\"\n").unwrap();
    let out = parley(dir.path()).args(["console", "--config"]).arg(&bad).stdin(Stdio::null()).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("prompt"), "{err}");
    assert!(!dir.path().join("parley.db").exists(), "nothing is stored");

    let out = parley(dir.path()).arg("check-config").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("bundled example"));
}

#[test]
fn run_without_adapters_says_how_to_configure_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = parley(dir.path()).arg("run").env_remove("PARLEY_MATRIX_HOMESERVER").output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("parley console") && err.contains("PARLEY_MATRIX_HOMESERVER"), "{err}");
}
