//! The `parley` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use parley::app::{self, Options};

/// parley: anonymous public participation in NHS discussions, on Matrix and Discord.
#[derive(Debug, Parser)]
#[command(name = "parley", version, about)]
struct Cli {
    /// Configuration file (TOML). Without it, the bundled example configuration is used.
    #[arg(long, global = true, env = "PARLEY_CONFIG")]
    config: Option<PathBuf>,
    /// Database URL: sqlite://FILE, sqlite::memory: or postgres://USER@HOST/DB.
    /// Default: the SQLite file parley.db in the data folder.
    #[arg(long, global = true, env = "DATABASE_URL")]
    database: Option<String>,
    /// Data folder for the SQLite database, the generated secret and adapter state.
    #[arg(long, global = true, env = "PARLEY_DATA_DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole bot in this terminal: each line "NAME: TEXT" is a direct message from NAME.
    Console,
    /// Run every configured platform adapter.
    Run,
    /// Check the configuration file and say what is wrong, if anything.
    CheckConfig,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default_level = match cli.command {
        Command::Console | Command::CheckConfig => "warn",
        Command::Run => "info",
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PARLEY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("parley: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("parley: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let options = Options { config: cli.config, database: cli.database, data_dir: cli.data_dir };
    match cli.command {
        Command::CheckConfig => {
            let config = options.load_config()?;
            println!(
                "{}: OK ({} discussion(s), {} survey(s))",
                config.source,
                config.discussions.len(),
                config.surveys.len()
            );
            Ok(())
        }
        Command::Console => {
            let app = app::start(&options, vec![chat::Platform::Console]).await?;
            if atty_stdin() {
                eprintln!(
                    "parley console — type lines as NAME: TEXT (for example  alice: !topics). \
                     Console moderators: {:?}; commissioners: {:?}. Ctrl-D to quit.",
                    app.config.console.moderators, app.config.console.commissioners
                );
            }
            let stdin = tokio::io::BufReader::new(tokio::io::stdin());
            let mut stdout = std::io::stdout();
            parley::console::run(app.engine.as_ref(), &app.config.console, stdin, &mut stdout)
                .await
                .context("console input/output failed")?;
            app.engine.store().close().await;
            Ok(())
        }
        Command::Run => {
            let config = options.load_config()?;
            let adapters: Vec<&str> = Vec::new();
            if adapters.is_empty() {
                anyhow::bail!(
                    "no platform adapter is configured in {}.\n\
                     To try parley locally, run `parley console`.\n\
                     To connect to Matrix, set PARLEY_MATRIX_HOMESERVER, PARLEY_MATRIX_USER, PARLEY_MATRIX_PASSWORD \
                     (or PARLEY_MATRIX_ACCESS_TOKEN) and PARLEY_MATRIX_ROOM, or add a [matrix] section to the \
                     configuration; see the README.",
                    config.source
                );
            }
            Ok(())
        }
    }
}

fn atty_stdin() -> bool {
    use std::io::IsTerminal;
    std::io::stdin().is_terminal()
}
