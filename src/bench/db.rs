//! A fresh database for each bench run: a new SQLite file in a temporary folder (with the
//! settings parley uses for its own file), or a new database on the PostgreSQL server the
//! given URL names, dropped afterwards.

use anyhow::Context;
use sqlx::Connection;

/// A database made for one run.
pub struct BenchDatabase {
    url: String,
    kind: &'static str,
    /// The SQLite file's folder (removed on drop).
    _folder: Option<tempfile::TempDir>,
    /// PostgreSQL: the server's URL (the given database) and the new database's name.
    postgres: Option<(String, String)>,
}

impl BenchDatabase {
    /// A fresh database: SQLite in a temporary folder when `url` is `None` or a `sqlite:`
    /// URL, else a new database on the PostgreSQL server of `url`.
    pub async fn create(url: Option<&str>) -> anyhow::Result<BenchDatabase> {
        match url {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                // Several a run (the engine's and the baseline's), so numbered too.
                static MADE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
                let name = format!(
                    "parley_bench_{}_{}_{}",
                    std::process::id(),
                    MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_millis())
                        .unwrap_or(0)
                );
                let mut conn = sqlx::PgConnection::connect(url)
                    .await
                    .with_context(|| format!("cannot connect to {}", parley::store::redact_url(url)))?;
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .context("cannot create the bench database (the user needs CREATEDB)")?;
                let _ = conn.close().await;
                let base = url.split('?').next().unwrap_or(url);
                let base = base.rsplit_once('/').map(|(b, _)| b).unwrap_or(base);
                Ok(BenchDatabase {
                    url: format!("{base}/{name}"),
                    kind: "postgres",
                    _folder: None,
                    postgres: Some((url.to_string(), name)),
                })
            }
            Some(url) if !url.starts_with("sqlite:") => {
                anyhow::bail!("--database takes a postgres:// URL (the bench makes its own SQLite file otherwise)")
            }
            _ => {
                let folder = tempfile::Builder::new().prefix("parley-bench-").tempdir()?;
                let url = format!("sqlite://{}", folder.path().join("bench.db").display());
                Ok(BenchDatabase { url, kind: "sqlite file", _folder: Some(folder), postgres: None })
            }
        }
    }

    /// The URL to connect to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// "sqlite file" or "postgres".
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// The URL with any password hidden.
    pub fn shown(&self) -> String {
        parley::store::redact_url(&self.url)
    }

    /// Drops a PostgreSQL bench database (the SQLite folder goes with `self`).
    pub async fn drop_database(self) {
        if let Some((server, name)) = &self.postgres {
            match sqlx::PgConnection::connect(server).await {
                Ok(mut conn) => {
                    let dropped =
                        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                            .execute(&mut conn)
                            .await;
                    if let Err(e) = dropped {
                        eprintln!("parley bench: could not drop {name}: {e}");
                    }
                    let _ = conn.close().await;
                }
                Err(e) => eprintln!("parley bench: could not drop {name}: {e}"),
            }
        }
    }
}
