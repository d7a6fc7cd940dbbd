//! Starting the configured platform adapters for `parley run`.
//!
//! Which setting wins is decided once, in [`parley::config::Config::adapters`] (the
//! environment over the file); this module only turns each adapter's resolved settings
//! into the adapter's own configuration and starts it.

#[cfg(feature = "matrix")]
use parley::config::{MatrixSettings, PowerLevel};

/// The Matrix adapter's configuration from resolved `[matrix]` settings.
#[cfg(feature = "matrix")]
pub fn matrix_config(s: &MatrixSettings) -> parley_matrix::Config {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    parley_matrix::Config {
        homeserver: text(&s.homeserver),
        user: text(&s.user),
        password: s.password.clone(),
        access_token: s.access_token.clone(),
        room: text(&s.room),
        moderators_room: text(&s.moderators_room),
        commissioners_room: text(&s.commissioners_room),
        moderators: s.moderators.clone(),
        commissioners: s.commissioners.clone(),
        power_level_threshold: s
            .power_level_threshold
            .map_or(Some(parley_matrix::DEFAULT_POWER_LEVEL_THRESHOLD), PowerLevel::threshold),
        store_passphrase: s.store_passphrase.clone(),
        device_name: s.device_name.clone().unwrap_or_else(|| "parley".to_owned()),
    }
}

/// What `parley run` says about the Discord settings while there is no Discord adapter.
pub const DISCORD_NOT_BUILT: &str = "Discord is configured ([discord] or PARLEY_DISCORD_*), but parley's Discord \
                                     adapter is not built yet, so nothing will connect to Discord";

/// Runs every configured adapter until Ctrl-C; an error when none is configured.
pub async fn run(options: &parley::app::Options) -> anyhow::Result<()> {
    let config = options.load_config()?;
    let adapters = config.adapters(&parley::config::process_env)?;
    if adapters.discord.is_some() {
        if adapters.matrix.is_none() {
            anyhow::bail!(
                "{DISCORD_NOT_BUILT}.\nUntil it is, connect to Matrix (see the README) or try parley locally with \
                 `parley console`."
            );
        }
        eprintln!("parley: {DISCORD_NOT_BUILT}; starting the Matrix adapter only.");
    }
    #[cfg(feature = "matrix")]
    if let Some(settings) = &adapters.matrix {
        let mut matrix = matrix_config(settings);
        matrix.validate().map_err(|e| anyhow::anyhow!("{}: Matrix configuration: {e}", config.source))?;
        let app = parley::app::start(options, vec![chat::Platform::Matrix]).await?;
        if matrix.store_passphrase.is_none() {
            matrix.store_passphrase = Some(app.engine.identity().adapter_store_passphrase("matrix"));
        }
        tracing::info!("starting the Matrix adapter");
        let core: std::sync::Arc<dyn chat::Core> = app.engine.clone();
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("stopping: finishing the delivery in hand");
        };
        parley_matrix::run(matrix, app.data_dir.clone(), core, shutdown).await?;
        app.engine.store().close().await;
        return Ok(());
    }
    #[cfg(not(feature = "matrix"))]
    if adapters.matrix.is_some() {
        anyhow::bail!(
            "Matrix is configured in {} (or PARLEY_MATRIX_*), but this binary was built without the `matrix` \
             feature; build it with the default features (cargo build --release).",
            config.source
        );
    }
    anyhow::bail!(
        "no platform adapter is configured in {}.\n\
         To try parley locally, run `parley console`.\n\
         To connect to Matrix, set PARLEY_MATRIX_HOMESERVER, PARLEY_MATRIX_USER, PARLEY_MATRIX_PASSWORD \
         (or PARLEY_MATRIX_ACCESS_TOKEN), PARLEY_MATRIX_ROOM, PARLEY_MATRIX_MODERATORS_ROOM and \
         PARLEY_MATRIX_COMMISSIONERS_ROOM, or fill in the [matrix] section of the configuration (the bundled \
         example config/example.toml shows every key); see the README.{}",
        config.source,
        if cfg!(feature = "matrix") { "" } else { "\n(This binary was built without the `matrix` feature.)" }
    )
}
