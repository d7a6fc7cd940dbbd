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
    for (var, _) in std::env::vars() {
        if var.starts_with("PARLEY_MATRIX_") || var.starts_with("PARLEY_DISCORD_") {
            cmd.env_remove(var);
        }
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

/// Issue 11's first "must show", through the binary: a participant who posts in gp-access
/// is invited to the bundled survey and answers every question type (a required question
/// they try to skip, an invalid answer re-asked, an optional question skipped), and the
/// commissioner's `!summary` shows the results (with the small-number threshold at 1 for
/// this one-person trial, as `small_number_threshold` allows).
#[test]
fn a_console_participant_answers_the_bundled_survey_and_the_summary_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("parley.toml");
    let example = include_str!("../config/example.toml");
    assert!(example.contains("small_number_threshold = 5"));
    std::fs::write(&config, example.replace("small_number_threshold = 5", "small_number_threshold = 1")).unwrap();
    let script = "\
alice: !join gp-access
alice: The 8am phone queue is hopeless
alice: !survey
alice: skip
alice: 9
alice: 2
alice: skip
alice: 7
alice: 4
alice: More evening appointments please
comm1: !summary gp-access
";
    let mut child = parley(dir.path())
        .arg("console")
        .arg("--config")
        .arg(&config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = String::from_utf8(out.stdout).unwrap();
    let in_order = [
        "Could you help us with a short survey? \"Your GP practice in two minutes\"",
        "Question 1 of 4:",
        "This question needs an answer, so it can't be skipped.",
        "Sorry, that isn't one of the answers. Please send a number from 1 to 5.",
        "Question 2 of 4 (optional — send skip to leave it out):",
        "Question 3 of 4:",
        "Sorry, please send a whole number from 1 to 5.",
        "Question 4 of 4 (optional — send skip to leave it out):",
        "that's the end of \"Your GP practice in two minutes\"",
        "Survey \"Your GP practice in two minutes\" (gp-experience): invited 1, started 1, completed 1",
        "  Fairly good: 1 (100%)",
        "Q2 How have you tried to get an appointment in the last year? — 0 responses",
        "  4: 1 (100%)",
        "  mean 4, median 4",
        "Q4 What one thing would most improve it? — 1 responses",
    ];
    let mut from = 0;
    for expected in in_order {
        let at = out[from..].find(expected).unwrap_or_else(|| panic!("{expected:?} after byte {from} in:\n{out}"));
        from += at + expected.len();
    }
    assert_eq!(out.matches("[thread gp-access] #").count(), 1, "answers are not posts: {out}");
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

fn check_config(dir: &std::path::Path, toml: &str) -> (bool, String, String) {
    let file = dir.join("parley.toml");
    std::fs::write(&file, toml).unwrap();
    let out = parley(dir).args(["check-config", "--config"]).arg(&file).output().unwrap();
    (out.status.success(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn check_config_gives_line_column_and_key_for_every_section() {
    // Issue 13.8.
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = check_config(dir.path(), "[bot]\nmax_post_chars = \"2000\"\n");
    assert!(!ok);
    assert!(err.contains("parley.toml: line 2, column 18: `bot.max_post_chars`"), "{err}");
    assert!(!err.contains("byte"), "{err}");
    let (ok, _, err) = check_config(dir.path(), "[matrix]\nhomeserver = \"https://m.example\"\nroom_id = \"!r:m\"\n");
    assert!(!ok && err.contains("line 3, column 1: `matrix.room_id`: unknown field"), "{err}");
    let (ok, _, err) = check_config(dir.path(), "[delivery]\nchannel_burst = 0\n");
    assert!(!ok && err.contains("`delivery.channel_burst`"), "{err}");
    // The environment is checked as `run` will use it.
    let file = dir.path().join("parley.toml");
    std::fs::write(&file, "[bot]\n").unwrap();
    let out = parley(dir.path())
        .args(["check-config", "--config"])
        .arg(&file)
        .env("PARLEY_MATRIX_HOMESERVER", "https://m.example")
        .env("PARLEY_MATRIX_USER", "@bot:m.example")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("`matrix.room` (or PARLEY_MATRIX_ROOM) is not set"), "{err}");
    let (ok, out, _) = check_config(dir.path(), "[bot]\n");
    assert!(ok && out.contains("0 discussions") && out.contains("none configured"), "{out}");
}

#[test]
fn out_of_range_values_are_refused_before_anything_starts() {
    // Issue 9.8: these passed check-config and then panicked (governor) or wrapped round.
    let dir = tempfile::tempdir().unwrap();
    for (toml, key) in [
        ("[limits]\npost_every_secs = 9223372036854775807\n", "limits.post_every_secs"),
        ("[limits]\nflood_mute_mins = 9223372036854775807\n", "limits.flood_mute_mins"),
        (
            "[[discussions]]\nslug = \"gp\"\ntitle = \"t\"\nprompt = \"p\"\nslow_mode_secs = 9223372036854775000\n",
            "discussions[0].slow_mode_secs",
        ),
        ("[bot]\ncommand_prefix = \" !\"\n", "bot.command_prefix"),
        ("[themes]\ntaxonomy_file = \"no-such-taxonomy.toml\"\n", "themes.taxonomy_file"),
    ] {
        let (ok, _, err) = check_config(dir.path(), toml);
        assert!(!ok && err.contains(&format!("`{key}`")), "{toml}: {err}");
        let file = dir.path().join("parley.toml");
        let out = parley(dir.path()).args(["console", "--config"]).arg(&file).stdin(Stdio::null()).output().unwrap();
        assert!(!out.status.success(), "{toml}");
        assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"), "{toml}");
    }
}

#[test]
fn check_config_names_discord_and_checks_its_settings() {
    // Issue 13.9: a [discord] section must not be ignored silently.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("parley.toml");
    std::fs::write(
        &file,
        "[discord]\ntoken = \"t\"\nguild = \"1\"\nchannel = \"2\"\nmoderators_channel = \"3\"\n\
         commissioners_channel = \"4\"\n",
    )
    .unwrap();
    let out = parley(dir.path()).args(["check-config", "--config"]).arg(&file).output().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("platforms for `parley run`: Discord"), "{stdout}");
    // From the environment alone, too; a missing channel is named.
    let out = parley(dir.path()).arg("run").env("PARLEY_DISCORD_TOKEN", "t").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("PARLEY_DISCORD_CHANNEL"), "{err}");
}

#[cfg(unix)]
#[test]
fn files_are_private_and_an_open_secret_file_is_warned_about() {
    // Issue 9.15.
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (_, err) = console(&data, "alice: !join gp-access\nalice: hello\n");
    assert!(!err.contains("warning"), "{err}");
    assert_eq!(mode(&data), 0o700);
    for name in ["parley.db", "parley.db-wal", "parley.db-shm", "parley.db-journal", "secret"] {
        let path = data.join(name);
        if path.exists() {
            assert_eq!(mode(&path), 0o600, "{name}");
        }
    }
    // A secret file that others can read works, with a clear warning.
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "a-long-enough-secret-for-parley").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = parley(&dir.path().join("data2"))
        .arg("console")
        .env("PARLEY_SECRET_FILE", &secret)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("secret file") && err.contains("chmod 600"), "{err}");
}
