//! A real Synapse homeserver for tests, driven through `scripts/synapse.sh`.
//!
//! Needs only `std`, `tokio` (process, time) and `tempfile`, so any test crate of the
//! workspace can include it:
//!
//! ```ignore
//! #[path = "../bots/matrix/tests/support/synapse.rs"]
//! mod synapse;
//!
//! let hs = synapse::Synapse::start().await;        // installs once, own dir and port
//! let bot = hs.register("parley", "secret").await;  // "@parley:localhost"
//! hs.stop().await;                                  // outage...
//! hs.resume().await;                                // ...and back, same URL and data
//! // dropped: the server is stopped and its directory removed
//! ```
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Stdio;

/// One Synapse server with its own directory, SQLite database and loopback port.
pub struct Synapse {
    dir: tempfile::TempDir,
    base_url: String,
}

/// `scripts/synapse.sh` of this workspace.
pub fn script() -> PathBuf {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    loop {
        let candidate = dir.join("scripts/synapse.sh");
        if candidate.exists() {
            return candidate;
        }
        assert!(dir.pop(), "scripts/synapse.sh not found above {}", env!("CARGO_MANIFEST_DIR"));
    }
}

async fn script_run(args: &[&str]) -> String {
    let output = tokio::process::Command::new("bash")
        .arg(script())
        .args(args)
        .env("PARLEY_SYNAPSE_WATCH_PID", std::process::id().to_string())
        .stdin(Stdio::null())
        .output()
        .await
        .expect("run scripts/synapse.sh");
    assert!(
        output.status.success(),
        "scripts/synapse.sh {args:?} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Installs Synapse into `.synapse/venv` unless it is there (a couple of minutes the first
/// time, with a lock so that parallel tests install once).
pub async fn install() {
    script_run(&["install"]).await;
}

impl Synapse {
    /// Installs Synapse if needed (idempotent, into `.synapse/venv`), configures a fresh
    /// server in a temporary directory on a free loopback port, starts it and waits for
    /// `/health`.
    pub async fn start() -> Synapse {
        let dir = tempfile::Builder::new().prefix("parley-synapse-").tempdir().expect("temp dir");
        let base_url = script_run(&["start", &dir.path().to_string_lossy()]).await;
        Synapse { dir, base_url }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The server's directory (config, database, `homeserver.log`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Stops the server (waits for the process to exit). The data stays.
    pub async fn stop(&self) {
        script_run(&["stop", &self.dir.path().to_string_lossy()]).await;
    }

    /// Starts the stopped server again, on the same port with the same data.
    pub async fn resume(&self) {
        let url = script_run(&["start", &self.dir.path().to_string_lossy()]).await;
        assert_eq!(url, self.base_url, "synapse came back on another URL");
    }

    /// Registers a user through the shared-secret admin API; returns `@name:localhost`.
    pub async fn register(&self, name: &str, password: &str) -> String {
        script_run(&["register", &self.dir.path().to_string_lossy(), name, password]).await
    }

    /// Registers a server admin.
    pub async fn register_admin(&self, name: &str, password: &str) -> String {
        script_run(&["register", &self.dir.path().to_string_lossy(), name, password, "admin"]).await
    }
}

impl Drop for Synapse {
    fn drop(&mut self) {
        // Synchronous on purpose: Drop also runs while a failed test unwinds.
        let _ = std::process::Command::new("bash")
            .arg(script())
            .arg("stop")
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status();
        if std::env::var_os("PARLEY_KEEP_SYNAPSE").is_some() {
            let path = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("tempdir")).keep();
            eprintln!("synapse directory kept at {}", path.display());
        }
    }
}
