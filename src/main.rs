//! The `parley` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use parley::app::{self, Options};

mod adapters;
mod bench;

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
    /// Write a theme summary of a discussion for commissioners.
    Report {
        /// The discussion's slug.
        #[arg(long)]
        discussion: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "md")]
        format: SummaryFormat,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Hide counts under N (default: `[themes] small_number_threshold`, 5). For a local
        /// trial with a few posts, 1 shows every count; keep 5 or more for anything published.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=10_000))]
        small_numbers: Option<u64>,
    },
    /// Analyse comments gathered elsewhere: a text file with one comment a line, or a CSV
    /// with a `text` column (and optionally a `date` column, YYYY-MM-DD).
    Analyse {
        /// The input file; standard input when left out.
        #[arg(long, short)]
        input: Option<PathBuf>,
        /// jsonl: one JSON object per comment, in input order (`line`, `text`, `themes`,
        /// `sentiment`); the others: a summary.
        #[arg(long, value_enum, default_value = "jsonl")]
        format: AnalyseFormat,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Treat the input as CSV even if its header is unusual.
        #[arg(long)]
        csv: bool,
        /// Title of the summary.
        #[arg(long, default_value = "Comments")]
        title: String,
        /// Hide summary counts under N (default: `[themes] small_number_threshold`, 5). For a
        /// local trial, 1 shows every count; keep 5 or more for anything published.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=10_000))]
        small_numbers: Option<u64>,
        /// jsonl: leave each comment's text out (every line still has its `line` number).
        #[arg(long)]
        no_text: bool,
        /// Show, for each tag, the words or phrases that weighed most (jsonl: an `explain`
        /// field per comment; summaries: the words behind each theme).
        #[arg(long)]
        explain: bool,
    },
    /// Train and evaluate theme and sentiment models on coded comments.
    Themes {
        #[command(subcommand)]
        what: ThemesCommand,
    },
    /// Measure parley's speed on this machine. Without a subcommand: a synthetic
    /// population (joins, posts, replies, personal data, abuse, crisis, reports, moderator
    /// actions) through the whole engine on a fresh database, beside the raw-insert baseline
    /// on the same database; one JSON object on standard output, progress on standard error.
    /// `--database postgres://USER@HOST/DB` makes a fresh database on that server (dropped
    /// afterwards); without it, a fresh SQLite file in a temporary folder.
    #[command(args_conflicts_with_subcommands = true)]
    Bench {
        #[command(subcommand)]
        what: Option<BenchCommand>,
        #[command(flatten)]
        load: LoadArgs,
    },
}

#[derive(Debug, clap::Args)]
struct LoadArgs {
    /// Participants in the synthetic population (each joins once, then posts).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    participants: u64,
    /// Posts (plain posts, replies, posts with personal data, abusive and crisis posts).
    #[arg(long, default_value_t = 50_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    posts: u64,
    /// Offer this many inbound messages per second and report latency under that load
    /// (default: as fast as parley takes them).
    #[arg(long, value_parser = parse_rate)]
    rate: Option<f64>,
    /// Run this many parley processes on one PostgreSQL database (needs --database
    /// postgres://…); one is killed midway and the rest must lose nothing.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=16))]
    processes: u64,
    /// Keep the configured rate limits (by default they are lifted to measure throughput).
    #[arg(long)]
    rate_limits: bool,
    /// Seed of the synthetic population.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// SQLite's synchronous level: full (what parley uses) or normal (to see what it would
    /// buy; parley never runs with it).
    #[arg(long, default_value = "full", value_parser = ["full", "normal"])]
    sqlite_synchronous: String,
    /// Post these texts in turn instead of synthetic ones: a file of one text a line, or a
    /// CSV with a `text` column (e.g. real comments, to measure on them).
    #[arg(long, value_name = "FILE")]
    texts: Option<std::path::PathBuf>,
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 && r <= 10_000_000.0 => Ok(r),
        _ => Err(format!("{s:?} is not a rate: give messages per second, e.g. 1000")),
    }
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// One process of `parley bench --processes` (started by it; messages on standard input).
    #[command(hide = true)]
    Worker {
        /// The worker's number.
        #[arg(long, default_value_t = 0)]
        index: usize,
        /// Keep the configured rate limits.
        #[arg(long)]
        rate_limits: bool,
    },
    /// Time a theme summary over many stored posts (a fresh SQLite file unless --database).
    Summary {
        /// How many posts to store.
        #[arg(long, default_value_t = 1_000_000)]
        posts: u64,
    },
}

#[derive(Debug, Subcommand)]
enum ThemesCommand {
    /// Train a model from coded comments and write the model file (point `[themes] model`
    /// at it). The same CSV always gives the same file, byte for byte.
    ///
    /// The CSV is either in the NHS FFT format (`FFT answer`, `Comment sentiment` and the
    /// framework's category columns, mapped by `--map`, default the shipped NHS map) or has a
    /// `text` column, an optional `sentiment` column (positive, neutral, negative) and one
    /// 0/1 column per theme id.
    Train {
        /// The coded comments (CSV).
        #[arg(long, short)]
        input: PathBuf,
        /// Where to write the model.
        #[arg(long, short)]
        out: PathBuf,
        /// A mapping file like theme-map.json: theme id → the CSV columns that make it.
        #[arg(long)]
        map: Option<PathBuf>,
        /// Recorded in the model file: where the comments came from.
        #[arg(long, default_value = "")]
        source: String,
    },
    /// k-fold cross-validation: per-theme precision, recall and F1, and sentiment accuracy,
    /// each fold scored by a model trained on the other folds only.
    Evaluate {
        /// The coded comments (CSV), as for `train`.
        #[arg(long, short)]
        input: PathBuf,
        /// A mapping file like theme-map.json.
        #[arg(long)]
        map: Option<PathBuf>,
        /// Number of folds.
        #[arg(long, default_value_t = 5)]
        folds: usize,
        /// Also train on each group (the `Trust` or `group` column) alone and score the
        /// others: how well the model carries over to another organisation's wording.
        #[arg(long)]
        by_group: bool,
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum SummaryFormat {
    Md,
    Csv,
    Json,
    Html,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum AnalyseFormat {
    Jsonl,
    Md,
    Csv,
    Json,
    Html,
}

impl SummaryFormat {
    fn format(self) -> parley::report::Format {
        use parley::report::Format;
        match self {
            SummaryFormat::Md => Format::Markdown,
            SummaryFormat::Csv => Format::Csv,
            SummaryFormat::Json => Format::Json,
            SummaryFormat::Html => Format::Html,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default_level = match cli.command {
        Command::Run => "info",
        _ => "warn",
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PARLEY_LOG")
                // sqlx warns about slow statements, which a large summary legitimately is.
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!(
                    // matrix-sdk logs request URLs (with room ids) on errors: keep it quiet.
                    "{default_level},sqlx::query=error,matrix_sdk=warn,matrix_sdk::http_client=off,matrix_sdk_crypto=warn,matrix_sdk_base=warn"
                ))),
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
            // The adapters' settings as `parley run` will see them, environment included.
            let adapters = config.adapters(&parley::config::process_env)?;
            let platforms = adapters::platform_names(&adapters);
            println!(
                "{}: OK ({}, {}; platforms for `parley run`: {})",
                config.source,
                plural(config.discussions.len(), "discussion"),
                plural(config.surveys.len(), "survey"),
                if platforms.is_empty() { "none configured".to_string() } else { platforms.join(", ") }
            );
            Ok(())
        }
        Command::Console => {
            let app = app::start(&options, vec![chat::Platform::Console]).await?;
            // On standard error, so that piped output stays the bot's messages only.
            eprintln!("{}", parley::console::introduction(&app.config.console, atty_stdin()));
            let stdin = tokio::io::BufReader::new(tokio::io::stdin());
            let mut stdout = std::io::stdout();
            parley::console::run(app.engine.as_ref(), &app.config.console, stdin, &mut stdout)
                .await
                .context("console input/output failed")?;
            app.engine.store().close().await;
            Ok(())
        }
        Command::Report { discussion, format, output, small_numbers } => {
            let app = app::start(&options, Vec::new()).await?;
            // Reading only: on its own connection, beside a running parley's writes.
            let mut tx = app.engine.store().begin_read().await?;
            let Some(d) = tx.discussion_by_slug(&discussion.to_lowercase()).await? else {
                anyhow::bail!("there is no discussion called {discussion:?}; `parley console` and !topics list them");
            };
            let threshold = small_numbers.unwrap_or(app.config.themes.small_number_threshold);
            let summary = parley::report::discussion_summary(&mut tx, app.engine.analyzer(), &d, threshold).await?;
            // Survey results, what the organisation said back and participation, beside the themes.
            let engagement = app.engine.engagement(&mut tx, &d, threshold).await?;
            drop(tx);
            let format = format.format();
            let report = engagement.render_with(format, &format.render(&summary));
            write_output(output.as_deref(), &parley::report::without_invisible(&report))
        }
        Command::Analyse { input, format, output, csv, title, small_numbers, no_text, explain } => {
            let config = options.load_config()?;
            let options = bench::AnalyseOptions {
                input: input.as_deref(),
                format: format_for_analyse(format),
                output: output.as_deref(),
                force_csv: csv,
                title: &title,
                small_numbers,
                no_text,
                explain,
            };
            bench::analyse(&config, &options)
        }
        Command::Themes { what: ThemesCommand::Train { input, out, map, source } } => {
            bench::themes_train(&input, &out, map.as_deref(), &source)
        }
        Command::Themes { what: ThemesCommand::Evaluate { input, map, folds, by_group, json } } => {
            bench::themes_evaluate(&input, map.as_deref(), folds, by_group, json)
        }
        Command::Bench { what: Some(BenchCommand::Summary { posts }), .. } => {
            let config = options.load_config()?;
            bench::summary(&config, options.database.as_deref(), posts).await
        }
        Command::Bench { what: Some(BenchCommand::Worker { rate_limits, .. }), .. } => {
            let config = options.load_config()?;
            let url = options.database.as_deref().context("a bench worker needs --database")?;
            bench::fleet::worker(&config, url, rate_limits).await
        }
        Command::Bench { what: None, load } => {
            let config = options.load_config()?;
            let load = bench::load::LoadOptions {
                participants: load.participants as usize,
                posts: load.posts,
                database: options.database.clone(),
                rate: load.rate,
                processes: load.processes as usize,
                rate_limits: load.rate_limits,
                seed: load.seed,
                config: options.config.clone(),
                sqlite_synchronous: load.sqlite_synchronous,
                texts: load.texts,
            };
            if load.processes > 1 {
                bench::fleet::run(&config, &load).await
            } else {
                bench::load::run(&config, &load).await
            }
        }
        Command::Run => adapters::run(&options).await,
    }
}

fn plural(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

fn format_for_analyse(f: AnalyseFormat) -> Option<parley::report::Format> {
    use parley::report::Format;
    match f {
        AnalyseFormat::Jsonl => None,
        AnalyseFormat::Md => Some(Format::Markdown),
        AnalyseFormat::Csv => Some(Format::Csv),
        AnalyseFormat::Json => Some(Format::Json),
        AnalyseFormat::Html => Some(Format::Html),
    }
}

/// Writes `text` to a file, or to standard output.
fn write_output(path: Option<&std::path::Path>, text: &str) -> anyhow::Result<()> {
    match path {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("parley: wrote {}", path.display());
        }
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            if !text.ends_with('\n') {
                out.write_all(b"\n")?;
            }
        }
    }
    Ok(())
}

fn atty_stdin() -> bool {
    use std::io::IsTerminal;
    std::io::stdin().is_terminal()
}
