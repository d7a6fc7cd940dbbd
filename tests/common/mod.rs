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

/// A PostgreSQL database made for one test: dropped when this guard is dropped, also when
/// the test fails (the guard is dropped while the panic unwinds). Dereferences to its URL.
#[derive(Debug)]
pub struct TestDatabase {
    pub url: String,
    pub name: String,
}

impl std::ops::Deref for TestDatabase {
    type Target = str;
    fn deref(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop may run inside a tokio runtime (where blocking on another is refused): a
        // thread of its own with a small runtime. FORCE ends connections the test left open.
        let (admin, name) = (postgres_admin_url(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                use sqlx::Connection;
                let mut conn = sqlx::PgConnection::connect(&admin).await.ok()?;
                sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                    .execute(&mut conn)
                    .await
                    .ok()?;
                conn.close().await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("could not drop the test database {}; the next test run drops it", self.name);
        }
    }
}

/// Creates a fresh, uniquely named PostgreSQL database; the returned guard drops it. The
/// first call in a test process also drops databases left behind by earlier runs.
pub async fn fresh_postgres() -> TestDatabase {
    use sqlx::Connection;
    static N: AtomicU64 = AtomicU64::new(0);
    static SWEPT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
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
    if !SWEPT.swap(true, Ordering::SeqCst) {
        drop_stale_databases().await;
    }
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.unwrap();
    let _ = conn.close().await;
    let base = admin.rsplit_once('/').unwrap().0;
    TestDatabase { url: format!("{base}/{name}"), name }
}

/// Whether a test database still exists (for the cleanup tests).
pub async fn postgres_database_exists(name: &str) -> bool {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&postgres_admin_url()).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    n > 0
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

/// Drops test databases left behind by earlier runs: those whose test process (named in
/// the database name) is no longer running on this machine, and any more than an hour old.
/// A database still in use refuses to be dropped (no FORCE here), which is fine.
pub async fn drop_stale_databases() {
    use sqlx::Connection;
    let Ok(mut conn) = sqlx::PgConnection::connect(&postgres_admin_url()).await else { return };
    let conn = &mut conn;
    use sqlx::Row;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    let rows = sqlx::query("SELECT datname FROM pg_database WHERE datname LIKE 'parley\\_test\\_%'")
        .fetch_all(&mut *conn)
        .await
        .unwrap_or_default();
    let local = {
        let url = postgres_admin_url();
        url.contains("@127.0.0.1") || url.contains("@localhost") || url.contains("@[::1]")
    };
    for row in rows {
        let name: String = row.get(0);
        let mut parts = name.split('_').skip(2);
        let pid = parts.next().and_then(|p| p.parse::<u32>().ok());
        let millis = parts.next().and_then(|m| m.parse::<u128>().ok());
        let (Some(pid), Some(millis)) = (pid, millis) else { continue };
        let process_gone =
            local && pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists();
        if process_gone || millis + 3_600_000 < now {
            let _ =
                sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}"))).execute(&mut *conn).await;
        }
    }
}
