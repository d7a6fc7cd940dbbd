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

impl Options {
    /// Loads the configuration.
    pub fn load_config(&self) -> Result<Config> {
        Config::load(self.config.as_deref())
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
    let data_dir = options.data_dir(&config);
    std::fs::create_dir_all(&data_dir).map_err(|source| crate::Error::Io {
        context: format!("creating the data folder {}", data_dir.display()),
        source,
    })?;
    let secret_file =
        std::env::var_os("PARLEY_SECRET_FILE").map(PathBuf::from).or_else(|| config.storage.secret_file.clone());
    let (secret, source) = load_secret(std::env::var("PARLEY_SECRET").ok(), secret_file.as_deref(), &data_dir)?;
    if let SecretSource::Created(path) = &source {
        eprintln!(
            "parley: created a new random secret in {} (keep it safe and private: it protects participants' anonymity)",
            path.display()
        );
    }
    let url = options.database_url(&config, &data_dir);
    let store = Store::connect(&url).await?;
    tracing::info!(backend = ?store.backend(), "database ready");
    let engine = Engine::start(store, Identity::new(&secret), Arc::new(SystemClock), &config, platforms).await?;
    Ok(App { config, data_dir, engine: Arc::new(engine) })
}
