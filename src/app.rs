//! Putting the pieces together from command-line options, the configuration file and the
//! environment: data folder, database, secret, engine.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::clock::SystemClock;
use crate::config::Config;
use crate::engine::Engine;
use crate::error::Result;
use crate::identity::{load_secret, Identity, SecretSource};
use crate::store::Store;

/// Options shared by every subcommand.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--config`; the bundled example when `None`.
    pub config: Option<PathBuf>,
    /// `--database` / `DATABASE_URL`.
    pub database: Option<String>,
    /// `--data-dir` / `PARLEY_DATA_DIR`.
    pub data_dir: Option<PathBuf>,
}

/// A started core.
#[derive(Debug)]
pub struct App {
    /// The configuration in use.
    pub config: Config,
    /// The data folder.
    pub data_dir: PathBuf,
    /// The engine.
    pub engine: Arc<Engine>,
}

/// Where data lives, with every source applied in one place. Order: the command line
/// (clap also reads `DATABASE_URL` and `PARLEY_DATA_DIR` into it), then the environment,
/// then the file, then defaults. The adapters' settings are resolved the same way by
/// [`Config::adapters`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Storage {
    /// The data folder.
    pub data_dir: PathBuf,
    /// The database URL.
    pub database_url: String,
    /// `PARLEY_SECRET`.
    pub secret: Option<String>,
    /// `PARLEY_SECRET_FILE`, or `[storage] secret_file`.
    pub secret_file: Option<PathBuf>,
}

impl Options {
    /// Loads the configuration.
    pub fn load_config(&self) -> Result<Config> {
        Config::load(self.config.as_deref())
    }

    /// The storage settings in effect, with `env` for the environment (e.g.
    /// [`crate::config::process_env`]).
    pub fn storage(&self, config: &Config, env: &dyn Fn(&str) -> Option<String>) -> Storage {
        let data_dir = self.data_dir(config);
        let database_url = self.database_url(config, &data_dir);
        let secret = env("PARLEY_SECRET").filter(|s| !s.is_empty());
        let secret_file = env("PARLEY_SECRET_FILE")
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
            .or_else(|| config.storage.secret_file.clone());
        Storage { data_dir, database_url, secret, secret_file }
    }

    /// The data folder in effect.
    pub fn data_dir(&self, config: &Config) -> PathBuf {
        self.data_dir.clone().or_else(|| config.storage.data_dir.clone()).unwrap_or_else(|| PathBuf::from("data"))
    }

    /// The database URL in effect.
    pub fn database_url(&self, config: &Config, data_dir: &Path) -> String {
        self.database
            .clone()
            .or_else(|| config.storage.database_url.clone())
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("parley.db").display()))
    }
}

/// Starts the core for the given platforms.
pub async fn start(options: &Options, platforms: Vec<chat::Platform>) -> Result<App> {
    let config = options.load_config()?;
    let storage = options.storage(&config, &crate::config::process_env);
    let data_dir = storage.data_dir.clone();
    if let Some(warning) = files::create_private_dir(&data_dir)? {
        eprintln!("parley: {warning}");
    }
    let (secret, source) = load_secret(storage.secret.clone(), storage.secret_file.as_deref(), &data_dir)?;
    match &source {
        SecretSource::Created(path) => eprintln!(
            "parley: created a new random secret in {} (keep it safe and private: it protects participants' anonymity)",
            path.display()
        ),
        SecretSource::File(path) => {
            if let Some(mode) = files::open_to_others(path) {
                eprintln!(
                    "parley: warning: the secret file {} can be read by other users (mode {mode:o}); anyone who \
                     has it can link pseudonyms and read stored contact addresses. Make it private: chmod 600 {}",
                    path.display(),
                    path.display()
                );
            }
        }
        SecretSource::Environment => {}
    }
    let url = storage.database_url;
    if let Some(path) = files::sqlite_file(&url) {
        files::create_private_file(&path)?;
    }
    let store = Store::connect(&url).await?;
    tracing::info!(backend = ?store.backend(), "database ready");
    let engine = Engine::start(store, Identity::new(&secret), Arc::new(SystemClock), &config, platforms).await?;
    Ok(App { config, data_dir, engine: Arc::new(engine) })
}

/// Files parley creates are private to its user: the data folder 0700, the SQLite
/// database 0600 (SQLite gives its -wal, -shm and -journal files the database's mode).
pub mod files {
    use std::path::{Path, PathBuf};

    use crate::error::{Error, Result};

    /// Creates the data folder with mode 0700 (and missing parents as usual). Returns a
    /// warning when an existing folder can be read by others.
    pub fn create_private_dir(dir: &Path) -> Result<Option<String>> {
        let io = |source| Error::Io { context: format!("creating the data folder {}", dir.display()), source };
        if dir.is_dir() {
            return Ok(open_to_others(dir).map(|mode| {
                format!(
                    "warning: the data folder {} can be read by other users (mode {mode:o}); `chmod 700 {}` \
                     makes it private",
                    dir.display(),
                    dir.display()
                )
            }));
        }
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        match builder.create(dir) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(io(e)),
            _ => Ok(None),
        }
    }

    /// Creates `path` empty with mode 0600 when it does not exist, and makes an existing
    /// one 0600, so that the database is never readable by others.
    pub fn create_private_file(path: &Path) -> Result<()> {
        let io = |source| Error::Io { context: format!("creating the database file {}", path.display()), source };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        options.open(path).map_err(io)?;
        #[cfg(unix)]
        if open_to_others(path).is_some() {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
        }
        Ok(())
    }

    /// The permission bits of `path` when group or others have any access.
    pub fn open_to_others(path: &Path) -> Option<u32> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
            (mode & 0o077 != 0).then_some(mode)
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            None
        }
    }

    /// The file of a SQLite URL (`sqlite://FILE`, `sqlite:FILE`, with or without
    /// `?options`); `None` for memory databases and other backends.
    pub fn sqlite_file(url: &str) -> Option<PathBuf> {
        if !url.starts_with("sqlite:") || crate::store::is_memory(url) {
            return None;
        }
        // The file SQLite will open: sqlx decodes percent-escapes (`my%20db.db`).
        use std::str::FromStr;
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).ok()?;
        Some(options.get_filename().to_path_buf())
    }

    #[cfg(test)]
    mod tests {
        #![allow(clippy::unwrap_used)]
        use super::*;

        #[test]
        fn sqlite_urls() {
            assert_eq!(sqlite_file("sqlite://data/parley.db"), Some(PathBuf::from("data/parley.db")));
            assert_eq!(sqlite_file("sqlite:///tmp/p.db?mode=rwc"), Some(PathBuf::from("/tmp/p.db")));
            assert_eq!(sqlite_file("sqlite:///tmp/my%20db.db"), Some(PathBuf::from("/tmp/my db.db")));
            assert_eq!(sqlite_file("sqlite:rel.db"), Some(PathBuf::from("rel.db")));
            assert_eq!(sqlite_file("sqlite::memory:"), None);
            assert_eq!(sqlite_file("postgres://u@h/db"), None);
        }

        #[cfg(unix)]
        #[test]
        fn created_private() {
            use std::os::unix::fs::PermissionsExt;
            let dir = tempfile::tempdir().unwrap();
            let data = dir.path().join("a").join("data");
            assert_eq!(create_private_dir(&data).unwrap(), None);
            assert_eq!(std::fs::metadata(&data).unwrap().permissions().mode() & 0o777, 0o700);
            let db = data.join("parley.db");
            create_private_file(&db).unwrap();
            assert_eq!(std::fs::metadata(&db).unwrap().permissions().mode() & 0o777, 0o600);
            std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
            create_private_file(&db).unwrap();
            assert_eq!(std::fs::metadata(&db).unwrap().permissions().mode() & 0o777, 0o600, "tightened");
            std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
            assert!(create_private_dir(&data).unwrap().unwrap().contains("chmod 700"));
        }
    }
}
