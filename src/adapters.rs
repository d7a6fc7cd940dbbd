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

/// The Discord adapter's configuration from resolved `[discord]` settings and the core's
/// command prefix (slash commands are translated into it).
#[cfg(feature = "discord")]
pub fn discord_config(s: &parley::config::DiscordSettings, command_prefix: &str) -> parley_discord::Config {
    parley_discord::Config {
        token: s.token.clone(),
        application_id: s.application_id.clone(),
        guild: s.guild.clone(),
        channel: s.channel.clone(),
        moderators_channel: s.moderators_channel.clone(),
        commissioners_channel: s.commissioners_channel.clone(),
        api_url: s.api_url.clone(),
        moderator_roles: s.moderator_roles.clone(),
        commissioner_roles: s.commissioner_roles.clone(),
        discussion_threads: match s.discussion_threads {
            parley::config::DiscussionThreads::Thread => parley_discord::DiscussionThreads::Thread,
            parley::config::DiscussionThreads::Forum => parley_discord::DiscussionThreads::Forum,
        },
        public_hint: s.public_hint.clone(),
        command_prefix: command_prefix.to_owned(),
    }
}

/// The names of the platforms `parley run` starts, for messages.
pub fn platform_names(adapters: &parley::config::Adapters) -> Vec<&'static str> {
    let mut names = Vec::new();
    if adapters.matrix.is_some() {
        names.push(if cfg!(feature = "matrix") { "Matrix" } else { "Matrix (not built into this binary)" });
    }
    if adapters.discord.is_some() {
        names.push(if cfg!(feature = "discord") { "Discord" } else { "Discord (not built into this binary)" });
    }
    names
}

type AdapterRun = std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<()>> + Send>>;

/// Runs every configured adapter until Ctrl-C; an error when none is configured. Matrix and
/// Discord together share one engine and one database: a post is mirrored on both.
pub async fn run(options: &parley::app::Options) -> anyhow::Result<()> {
    let config = options.load_config()?;
    let adapters = config.adapters(&parley::config::process_env)?;
    if adapters.is_empty() {
        anyhow::bail!(
            "no platform adapter is configured in {}.\n\
             To try parley locally, run `parley console`.\n\
             To connect to Matrix, set PARLEY_MATRIX_HOMESERVER, PARLEY_MATRIX_USER, PARLEY_MATRIX_PASSWORD \
             (or PARLEY_MATRIX_ACCESS_TOKEN), PARLEY_MATRIX_ROOM, PARLEY_MATRIX_MODERATORS_ROOM and \
             PARLEY_MATRIX_COMMISSIONERS_ROOM.\n\
             To connect to Discord, set PARLEY_DISCORD_TOKEN, PARLEY_DISCORD_GUILD, PARLEY_DISCORD_CHANNEL, \
             PARLEY_DISCORD_MODERATORS_CHANNEL and PARLEY_DISCORD_COMMISSIONERS_CHANNEL.\n\
             Or fill in the [matrix] or [discord] section of the configuration (the bundled example \
             config/example.toml shows every key); see the README.",
            config.source,
        );
    }
    #[cfg(not(feature = "matrix"))]
    if adapters.matrix.is_some() {
        anyhow::bail!(
            "Matrix is configured in {} (or PARLEY_MATRIX_*), but this binary was built without the `matrix` \
             feature; build it with the default features (cargo build --release).",
            config.source
        );
    }
    #[cfg(not(feature = "discord"))]
    if adapters.discord.is_some() {
        anyhow::bail!(
            "Discord is configured in {} (or PARLEY_DISCORD_*), but this binary was built without the `discord` \
             feature; build it with the default features (cargo build --release).",
            config.source
        );
    }

    let mut platforms = Vec::new();
    if adapters.matrix.is_some() {
        platforms.push(chat::Platform::Matrix);
    }
    if adapters.discord.is_some() {
        platforms.push(chat::Platform::Discord);
    }
    let app = parley::app::start(options, platforms).await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    #[cfg_attr(not(any(feature = "matrix", feature = "discord")), allow(unused_variables))]
    let shutdown = move || {
        let mut stop = stop_rx.clone();
        async move {
            let _ = stop.wait_for(|s| *s).await;
        }
    };
    #[cfg_attr(not(any(feature = "matrix", feature = "discord")), allow(unused_mut))]
    let mut running: Vec<(&'static str, AdapterRun)> = Vec::new();

    #[cfg(feature = "matrix")]
    if let Some(settings) = &adapters.matrix {
        let mut matrix = matrix_config(settings);
        matrix.validate().map_err(|e| anyhow::anyhow!("{}: Matrix configuration: {e}", config.source))?;
        if matrix.store_passphrase.is_none() {
            matrix.store_passphrase = Some(app.engine.identity().adapter_store_passphrase("matrix"));
        }
        let core: std::sync::Arc<dyn chat::Core> = app.engine.clone();
        let (data_dir, stop) = (app.data_dir.clone(), shutdown());
        running.push((
            "Matrix",
            Box::pin(async move { parley_matrix::run(matrix, data_dir, core, stop).await.map_err(Into::into) }),
        ));
    }
    #[cfg(feature = "discord")]
    if let Some(settings) = &adapters.discord {
        let discord = discord_config(settings, &config.bot.command_prefix);
        discord.validate().map_err(|e| anyhow::anyhow!("{}: Discord configuration: {e}", config.source))?;
        let core: std::sync::Arc<dyn chat::Core> = app.engine.clone();
        let stop = shutdown();
        running.push((
            "Discord",
            Box::pin(async move { parley_discord::run(discord, core, stop).await.map_err(Into::into) }),
        ));
    }

    let names: Vec<&str> = running.iter().map(|(name, _)| *name).collect();
    eprintln!(
        "parley: started the {} adapter{}; Ctrl-C stops.",
        names.join(" and "),
        if names.len() > 1 { "s" } else { "" }
    );
    tracing::info!(adapters = ?names, "adapters started");
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("stopping: finishing the delivery in hand");
        let _ = stop_tx.send(true);
    };
    let all = async {
        // One adapter failing stops the others.
        let mut tasks: Vec<_> =
            running.into_iter().map(|(name, run)| tokio::spawn(async move { (name, run.await) })).collect();
        let mut first_error = None;
        while !tasks.is_empty() {
            let (done, _, rest) = futures_util::future::select_all(tasks).await;
            tasks = rest;
            match done {
                Ok((name, Err(e))) if first_error.is_none() => {
                    first_error = Some(e.context(format!("the {name} adapter stopped")));
                    let _ = stop_tx.send(true);
                }
                Err(e) if first_error.is_none() => {
                    first_error = Some(anyhow::anyhow!("an adapter task failed: {e}"));
                    let _ = stop_tx.send(true);
                }
                _ => {}
            }
        }
        first_error
    };
    tokio::pin!(all);
    let result = tokio::select! {
        error = &mut all => error,
        () = ctrl_c => all.await,
    };
    app.engine.store().close().await;
    match result {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
