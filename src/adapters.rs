//! Starting the configured platform adapters for `parley run`.

#[cfg(feature = "matrix")]
use parley::config::Config;

/// The Matrix settings, from `PARLEY_MATRIX_*` variables over the `[matrix]` section of
/// the configuration. `None` when neither names a homeserver.
#[cfg(feature = "matrix")]
pub fn matrix_config(config: &Config) -> anyhow::Result<Option<parley_matrix::Config>> {
    const KEYS: [(&str, &str); 12] = [
        ("PARLEY_MATRIX_HOMESERVER", "homeserver"),
        ("PARLEY_MATRIX_USER", "user"),
        ("PARLEY_MATRIX_PASSWORD", "password"),
        ("PARLEY_MATRIX_ACCESS_TOKEN", "access_token"),
        ("PARLEY_MATRIX_ROOM", "room"),
        ("PARLEY_MATRIX_MODERATORS_ROOM", "moderators_room"),
        ("PARLEY_MATRIX_COMMISSIONERS_ROOM", "commissioners_room"),
        ("PARLEY_MATRIX_MODERATORS", "moderators"),
        ("PARLEY_MATRIX_COMMISSIONERS", "commissioners"),
        ("PARLEY_MATRIX_POWER_LEVEL", "power_level_threshold"),
        ("PARLEY_MATRIX_STORE_PASSPHRASE", "store_passphrase"),
        ("PARLEY_MATRIX_DEVICE_NAME", "device_name"),
    ];
    let table = config.matrix.clone().unwrap_or_default();
    for key in table.keys() {
        if !KEYS.iter().any(|(_, k)| k == key) {
            anyhow::bail!("{}: unknown key `matrix.{key}`", config.source);
        }
    }
    let from_file = |key: &str| -> Option<String> {
        match table.get(key)? {
            toml::Value::String(s) => Some(s.clone()),
            toml::Value::Integer(i) => Some(i.to_string()),
            toml::Value::Array(items) => Some(items.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join(",")),
            other => Some(other.to_string()),
        }
    };
    let lookup = |name: &str| {
        let key = KEYS.iter().find(|(env, _)| *env == name).map(|(_, k)| *k)?;
        std::env::var(name).ok().filter(|v| !v.trim().is_empty()).or_else(|| from_file(key))
    };
    if lookup("PARLEY_MATRIX_HOMESERVER").is_none() {
        return Ok(None);
    }
    parley_matrix::Config::from_lookup(lookup)
        .map(Some)
        .map_err(|e| anyhow::anyhow!("Matrix configuration ({} and PARLEY_MATRIX_*): {e}", config.source))
}

/// Runs every configured adapter until Ctrl-C; an error when none is configured.
pub async fn run(options: &parley::app::Options) -> anyhow::Result<()> {
    let config = options.load_config()?;
    #[cfg(feature = "matrix")]
    if let Some(mut matrix) = matrix_config(&config)? {
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
    anyhow::bail!(
        "no platform adapter is configured in {}.\n\
         To try parley locally, run `parley console`.\n\
         To connect to Matrix, set PARLEY_MATRIX_HOMESERVER, PARLEY_MATRIX_USER, PARLEY_MATRIX_PASSWORD \
         (or PARLEY_MATRIX_ACCESS_TOKEN), PARLEY_MATRIX_ROOM, PARLEY_MATRIX_MODERATORS_ROOM and \
         PARLEY_MATRIX_COMMISSIONERS_ROOM, or add a [matrix] section to the configuration; see the README.{}",
        config.source,
        if cfg!(feature = "matrix") { "" } else { "\n(This binary was built without the `matrix` feature.)" }
    )
}
