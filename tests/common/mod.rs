//! Shared helpers for parley's integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chat::{Core, Inbound, Platform};
use parley::clock::ManualClock;
use parley::config::Config;
use parley::engine::Engine;
use parley::identity::Identity;
use parley::store::Store;

pub const SECRET: &[u8] = b"test-secret-test-secret-test-secret";

/// A PostgreSQL server for tests: `PARLEY_TEST_POSTGRES` or the local trust-auth server.
pub fn postgres_admin_url() -> String {
    std::env::var("PARLEY_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Creates a fresh, uniquely named PostgreSQL database and returns its URL.
pub async fn fresh_postgres() -> String {
    use sqlx::Connection;
    static N: AtomicU64 = AtomicU64::new(0);
    let admin = postgres_admin_url();
    let name = format!(
        "parley_test_{}_{}_{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis(),
        N.fetch_add(1, Ordering::SeqCst)
    );
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL must be running for this test ({admin}): {e}"));
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.unwrap();
    drop_stale_databases(&mut conn).await;
    let base = admin.rsplit_once('/').unwrap().0;
    format!("{base}/{name}")
}

/// A bot driven in-process with a manual clock, printing like the console adapter.
pub struct TestBot {
    pub engine: Arc<Engine>,
    pub clock: ManualClock,
    pub dir: tempfile::TempDir,
    pub url: String,
    pub config: Config,
    pub platforms: Vec<Platform>,
    events: AtomicU64,
}

impl TestBot {
    /// A bot on a fresh SQLite file with the bundled example configuration.
    pub async fn sqlite() -> TestBot {
        Self::with_config(Config::load(None).unwrap(), vec![Platform::Console]).await
    }

    pub async fn with_config(config: Config, platforms: Vec<Platform>) -> TestBot {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("parley.db").display());
        Self::on(config, platforms, dir, url).await
    }

    pub async fn on(config: Config, platforms: Vec<Platform>, dir: tempfile::TempDir, url: String) -> TestBot {
        let clock = ManualClock::new(1_790_000_000_000);
        let store = Store::connect(&url).await.unwrap();
        let engine = Engine::start(store, Identity::new(SECRET), Arc::new(clock.clone()), &config, platforms.clone())
            .await
            .unwrap();
        TestBot { engine: Arc::new(engine), clock, dir, url, config, platforms, events: AtomicU64::new(0) }
    }

    /// Stops this bot and starts a new process-equivalent on the same database.
    pub async fn restart(self) -> TestBot {
        let TestBot { engine, clock, dir, url, config, platforms, events } = self;
        engine.store().close().await;
        drop(engine);
        let store = Store::connect(&url).await.unwrap();
        let engine = Engine::start(store, Identity::new(SECRET), Arc::new(clock.clone()), &config, platforms.clone())
            .await
            .unwrap();
        TestBot { engine: Arc::new(engine), clock, dir, url, config, platforms, events }
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("parley.db")
    }

    fn next_event(&self) -> String {
        format!("evt-{}", self.events.fetch_add(1, Ordering::SeqCst))
    }

    /// An inbound DM from console user `name`, as the console adapter builds it.
    pub fn inbound(&self, name: &str, text: &str) -> Inbound {
        parley::console::inbound(&self.config.console, name, text, self.next_event())
    }

    /// Sends one line and returns everything the console prints afterwards.
    pub async fn say(&self, name: &str, text: &str) -> Vec<String> {
        self.engine.handle(self.inbound(name, text)).await;
        self.drain().await
    }

    /// Delivers everything due on the console, returning the printed lines.
    pub async fn drain(&self) -> Vec<String> {
        let mut out = Vec::new();
        parley::console::drain(self.engine.as_ref(), &mut out).await.unwrap();
        String::from_utf8(out).unwrap().lines().map(str::to_string).collect()
    }

    /// Number of stored posts in all discussions.
    pub async fn post_count(&self) -> usize {
        let mut tx = self.engine.store().begin().await.unwrap();
        let mut n = 0;
        for d in tx.discussions(false).await.unwrap() {
            n += tx.posts(d.id).await.unwrap().len();
        }
        n
    }
}

/// Lines for a destination, e.g. `thread gp-access` or `dm alice`.
pub fn lines_for<'a>(lines: &'a [String], dest: &str) -> Vec<&'a str> {
    let prefix = format!("[{dest}] ");
    lines.iter().filter_map(|l| l.strip_prefix(prefix.as_str())).collect()
}

/// The pseudonym in a thread line `#N Name: text` or `#N Name, replying to #M: text`.
pub fn pseudonym_of(line: &str) -> String {
    let rest = line.split_once(' ').unwrap().1;
    let end = rest.find([',', ':']).unwrap();
    rest[..end].to_string()
}

/// Drops test databases left by runs more than an hour old (a database still in use
/// refuses to be dropped, which is fine).
async fn drop_stale_databases(conn: &mut sqlx::PgConnection) {
    use sqlx::Row;
    let cutoff = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() - 3_600_000;
    let rows = sqlx::query("SELECT datname FROM pg_database WHERE datname LIKE 'parley_test_%'")
        .fetch_all(&mut *conn)
        .await
        .unwrap_or_default();
    for row in rows {
        let name: String = row.get(0);
        let millis = name.split('_').nth(3).and_then(|m| m.parse::<u128>().ok()).unwrap_or(u128::MAX);
        if millis < cutoff {
            let _ =
                sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}"))).execute(&mut *conn).await;
        }
    }
}
