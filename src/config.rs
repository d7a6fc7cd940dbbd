//! The TOML configuration: one file, with a bundled commented example as the default.
//!
//! Environment variables win over the file for secrets and connection settings
//! (`PARLEY_SECRET`, `PARLEY_SECRET_FILE`, `DATABASE_URL`, `PARLEY_MATRIX_*`,
//! `PARLEY_DISCORD_*`).
//!
//! Every error names the file, the line and column, and the key (`bot.max_post_chars`).
//! Each adapter has a section (`[matrix]`, `[discord]`) deserialized into its own settings
//! type, and one function that puts its environment variables over it
//! ([`MatrixSettings::resolve`]); `check-config` and `run` both go through
//! [`Config::adapters`]. Another adapter is one more such type and one more field.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};

use crate::error::{Error, Result};

/// The example configuration shipped inside the binary.
pub const EXAMPLE: &str = include_str!("../config/example.toml");

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Bot behaviour.
    #[serde(default)]
    pub bot: BotConfig,
    /// Where data lives.
    #[serde(default)]
    pub storage: StorageConfig,
    /// Outbox delivery.
    #[serde(default)]
    pub delivery: DeliveryConfig,
    /// The local console adapter.
    #[serde(default)]
    pub console: ConsoleConfig,
    /// Moderation policy.
    #[serde(default)]
    pub moderation: ModerationConfig,
    /// Rate limits.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Theme analysis for commissioners.
    #[serde(default)]
    pub themes: ThemesConfig,
    /// Discussions seeded at first start.
    #[serde(default)]
    pub discussions: Vec<DiscussionConfig>,
    /// Surveys commissioners can push.
    #[serde(default)]
    pub surveys: Vec<SurveyConfig>,
    /// `[matrix]`: the Matrix adapter (`PARLEY_MATRIX_*` variables win; see `parley run`).
    #[serde(default)]
    pub matrix: Option<MatrixSettings>,
    /// `[discord]`: the Discord adapter (`PARLEY_DISCORD_*` win).
    #[serde(default)]
    pub discord: Option<DiscordSettings>,
    /// Where this configuration came from, for messages.
    #[serde(skip)]
    pub source: String,
    /// The configuration's text, to point at the line of a key in messages.
    #[serde(skip)]
    text: SourceText,
}

/// The configuration's text; left out of `Debug`, since it may hold passwords.
#[derive(Clone, Default)]
struct SourceText(String);

impl fmt::Debug for SourceText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} bytes>", self.0.len())
    }
}

/// `[bot]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BotConfig {
    /// What starts a command.
    pub command_prefix: String,
    /// Longest post in characters.
    pub max_post_chars: usize,
    /// Shown the first time a participant joins a discussion.
    pub privacy_notice: String,
}

impl Default for BotConfig {
    fn default() -> Self {
        BotConfig {
            command_prefix: "!".into(),
            max_post_chars: 2000,
            privacy_notice: "parley is anonymous: others see only a made-up name that differs in \
                             every discussion. Please don't include personal details. Send !forget \
                             at any time to erase your contact details."
                .into(),
        }
    }
}

/// `[storage]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// The data folder (SQLite database, generated secret, adapter state).
    pub data_dir: Option<PathBuf>,
    /// A database URL; defaults to `sqlite://<data_dir>/parley.db`.
    pub database_url: Option<String>,
    /// A file holding the secret.
    pub secret_file: Option<PathBuf>,
}

/// `[delivery]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// First retry delay.
    pub initial_backoff_secs: u64,
    /// Longest retry delay.
    pub max_backoff_secs: u64,
    /// Messages sent to one channel (room, thread, DM) in a burst.
    pub channel_burst: u32,
    /// Then one message per channel every this many milliseconds.
    pub channel_every_ms: u64,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig { initial_backoff_secs: 2, max_backoff_secs: 300, channel_burst: 5, channel_every_ms: 1000 }
    }
}

/// `[console]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleConfig {
    /// Console names acting in the moderators' room.
    pub moderators: Vec<String>,
    /// Console names acting in the commissioners' room.
    pub commissioners: Vec<String>,
}

/// `[moderation]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModerationConfig {
    /// Distinct reporters after which a post is hidden pending review.
    pub report_threshold: u32,
    /// Link domains allowed without review (subdomains included).
    pub allowed_link_domains: Vec<String>,
    /// Hold crisis posts for a moderator instead of publishing them (the author is
    /// signposted to help and the moderators alerted either way).
    pub hold_crisis: bool,
    /// Hold a post that names a member of staff ("Dr Patel", "the receptionist Karen") for
    /// a moderator; the name is removed either way.
    pub hold_named_staff: bool,
}

impl Default for ModerationConfig {
    fn default() -> Self {
        ModerationConfig {
            report_threshold: 3,
            allowed_link_domains: vec!["nhs.uk".into(), "gov.uk".into()],
            hold_crisis: true,
            hold_named_staff: true,
        }
    }
}

/// `[themes]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ThemesConfig {
    /// A TOML taxonomy that extends the default one (or replaces it with `replace = true`).
    pub taxonomy_file: Option<PathBuf>,
    /// Counts below this are shown as "<N" in summaries.
    pub small_number_threshold: u64,
    /// The theme and sentiment model: `builtin` (the shipped model, the default), `none`
    /// (the taxonomy's phrases and the sentiment lexicon only), or a model file made by
    /// `parley themes train`.
    pub model: Option<String>,
}

impl Default for ThemesConfig {
    fn default() -> Self {
        ThemesConfig { taxonomy_file: None, small_number_threshold: 5, model: None }
    }
}

impl ThemesConfig {
    /// The taxonomy for this configuration: the default one, extended (or replaced) by
    /// `taxonomy_file`. Errors say what is wrong and where, without quoting the file.
    pub fn taxonomy(&self) -> std::result::Result<themes::Taxonomy, String> {
        let Some(path) = &self.taxonomy_file else { return Ok(themes::Taxonomy::default()) };
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("= {:?}: cannot read the file: {e}", path.display().to_string()))?;
        let in_file = |what: String| format!("= {:?}: {what}", path.display().to_string());
        // Syntax first, with a position and without echoing the file's text.
        if let Err(e) = toml::from_str::<toml::Table>(&text) {
            let at = e.span().map(|s| format!("{}: ", position(&text, s.start))).unwrap_or_default();
            return Err(in_file(format!("{at}{}", e.message().trim().replace('\n', "; "))));
        }
        themes::Taxonomy::with_user_toml(&text).map_err(|e| match e {
            themes::Error::TaxonomyToml(message) => {
                // toml's text: "TOML parse error at line L, column C", the line quoted, then
                // the message. Keep the first and the last.
                let lines: Vec<&str> = message.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
                let first = lines.first().copied().unwrap_or_default().trim_start_matches("TOML parse error at ");
                in_file(format!("{first}: {}", lines.last().copied().unwrap_or_default()))
            }
            other => in_file(other.to_string()),
        })
    }

    /// The analyzer for this configuration.
    pub fn analyzer(&self) -> Result<themes::Analyzer> {
        let taxonomy = self.taxonomy().map_err(|message| Error::Config {
            source_name: "the configuration".into(),
            message: format!("`themes.taxonomy_file` {message}"),
        })?;
        match self.model.as_deref().map(str::trim) {
            None | Some("builtin") => Ok(themes::Analyzer::new(taxonomy)),
            Some("none") => Ok(themes::Analyzer::lexicon_only(taxonomy)),
            Some(path) => {
                let fail = |message: String| Error::Config { source_name: path.to_owned(), message };
                let bytes =
                    std::fs::read(path).map_err(|e| fail(format!("`themes.model`: cannot read the file: {e}")))?;
                let model = themes::Model::from_bytes(&bytes).map_err(|e| fail(format!("`themes.model`: {e}")))?;
                Ok(themes::Analyzer::with_model(taxonomy, std::sync::Arc::new(model)))
            }
        }
    }
}

/// `[limits]`: bursts and refill periods per participant and action.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Posts allowed in a burst.
    pub post_burst: u32,
    /// One more post allowed every this many seconds.
    pub post_every_secs: u64,
    /// Replies allowed in a burst.
    pub reply_burst: u32,
    /// One more reply every this many seconds.
    pub reply_every_secs: u64,
    /// Reports allowed in a burst.
    pub report_burst: u32,
    /// One more report every this many seconds.
    pub report_every_secs: u64,
    /// Other commands allowed in a burst.
    pub command_burst: u32,
    /// One more command every this many seconds.
    pub command_every_secs: u64,
    /// Refused attempts within `flood_window_secs` that count as a flood (0: never).
    pub flood_refusals: u32,
    /// The window for counting refusals.
    pub flood_window_secs: u64,
    /// How long a flood mutes the participant.
    pub flood_mute_mins: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            post_burst: 5,
            post_every_secs: 60,
            reply_burst: 5,
            reply_every_secs: 30,
            report_burst: 5,
            report_every_secs: 60,
            command_burst: 20,
            command_every_secs: 3,
            flood_refusals: 40,
            flood_window_secs: 300,
            flood_mute_mins: 30,
        }
    }
}

/// Longest refill period or slow mode, in seconds (a week): governor's arithmetic must not
/// overflow, and a longer wait is a ban, which moderators have.
pub const MAX_PERIOD_SECS: u64 = 7 * 86_400;
/// Longest flood mute, in minutes (a year, like `!mute`).
pub const MAX_FLOOD_MUTE_MINS: u64 = 365 * 24 * 60;
/// Largest burst or count threshold.
pub const MAX_BURST: u32 = 10_000;

/// `[[discussions]]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscussionConfig {
    /// Short name used in commands, e.g. `gp-access`.
    pub slug: String,
    /// Title shown in `!topics` and at the top of the thread.
    pub title: String,
    /// The question put to participants.
    pub prompt: String,
    /// Hold every post for a moderator before it is published.
    #[serde(default)]
    pub premoderated: bool,
    /// Slow mode: at most one post per participant every this many seconds (0: off).
    #[serde(default)]
    pub slow_mode_secs: u64,
}

pub use crate::surveys::{QuestionKind, SurveyConfig, SurveyQuestion};

impl Config {
    /// Loads the file at `path`, or the bundled example when `path` is `None`.
    pub fn load(path: Option<&Path>) -> Result<Config> {
        match path {
            None => Config::parse(EXAMPLE, "the bundled example configuration"),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
                    source_name: path.display().to_string(),
                    message: format!("cannot read the file: {e}"),
                })?;
                Config::parse(&text, &path.display().to_string())
            }
        }
    }

    /// Parses and validates configuration text; `source_name` names it in errors.
    pub fn parse(text: &str, source_name: &str) -> Result<Config> {
        let deserializer = toml::Deserializer::new(text);
        let mut config: Config = serde_path_to_error::deserialize(deserializer).map_err(|e| Error::Config {
            source_name: source_name.to_string(),
            message: describe_toml_error(text, &e),
        })?;
        config.source = source_name.to_string();
        config.text = SourceText(text.to_string());
        config.validate()?;
        Ok(config)
    }

    /// An error about `key` (`limits.post_burst`, `discussions[1].slug`), pointing at its
    /// line in the file when it is there.
    pub fn key_error(&self, key: &str, problem: impl fmt::Display) -> Error {
        let at = locate_key(&self.text.0, key).map(|pos| format!("{pos}: ")).unwrap_or_default();
        Error::Config { source_name: self.source.clone(), message: format!("{at}`{key}` {problem}") }
    }

    fn validate(&self) -> Result<()> {
        let fail = |key: &str, problem: String| self.key_error(key, problem);
        let prefix = &self.bot.command_prefix;
        // Presentation selectors come with an emoji pasted from a picker ("‼️"): allowed,
        // and read as optional (`commands::parse`). No other invisible character is.
        let selector = |c: char| matches!(c, '\u{FE0E}' | '\u{FE0F}');
        let shown = prefix.chars().filter(|&c| !selector(c)).count();
        if shown == 0
            || shown > 3
            || prefix.chars().any(|c| {
                c.is_whitespace()
                    || c.is_control()
                    || c.is_alphanumeric()
                    || (moderation::normalise::is_invisible(c) && !selector(c))
            })
        {
            return Err(fail(
                "bot.command_prefix",
                format!(
                    "= {prefix:?}: must be one to three punctuation characters with no spaces, such as \"!\" \
                     (a space or a letter would stop commands from being recognised)"
                ),
            ));
        }
        if self.bot.max_post_chars == 0 || self.bot.max_post_chars > 40_000 {
            return Err(fail("bot.max_post_chars", "must be between 1 and 40000".into()));
        }
        let d = &self.delivery;
        if d.initial_backoff_secs == 0 || d.max_backoff_secs < d.initial_backoff_secs {
            return Err(fail(
                "delivery.initial_backoff_secs",
                "must be at least 1 and not above `delivery.max_backoff_secs`".into(),
            ));
        }
        if d.max_backoff_secs > 86_400 {
            return Err(fail("delivery.max_backoff_secs", "must be at most 86400 (a day)".into()));
        }
        if d.channel_burst == 0 || d.channel_burst > MAX_BURST {
            return Err(fail("delivery.channel_burst", format!("must be between 1 and {MAX_BURST}")));
        }
        if d.channel_every_ms == 0 || d.channel_every_ms > 3_600_000 {
            return Err(fail("delivery.channel_every_ms", "must be between 1 and 3600000 (an hour)".into()));
        }
        let mut seen = HashSet::new();
        for (i, d) in self.discussions.iter().enumerate() {
            if let Err(why) = check_slug(&d.slug) {
                return Err(fail(&format!("discussions[{i}].slug"), format!("= {:?}: {why}", d.slug)));
            }
            if !seen.insert(d.slug.as_str()) {
                return Err(fail(
                    &format!("discussions[{i}].slug"),
                    format!("= {:?}: this slug is used twice", d.slug),
                ));
            }
            if d.title.trim().is_empty() {
                return Err(fail(&format!("discussions[{i}].title"), "must not be empty".into()));
            }
            if d.prompt.trim().is_empty() {
                return Err(fail(&format!("discussions[{i}].prompt"), "must not be empty".into()));
            }
            if d.slow_mode_secs > MAX_PERIOD_SECS {
                return Err(fail(
                    &format!("discussions[{i}].slow_mode_secs"),
                    format!("must be at most {MAX_PERIOD_SECS} (a week); 0 turns slow mode off"),
                ));
            }
        }
        if self.themes.small_number_threshold == 0 || self.themes.small_number_threshold > u64::from(MAX_BURST) {
            return Err(fail("themes.small_number_threshold", format!("must be between 1 and {MAX_BURST}")));
        }
        if self.themes.taxonomy_file.is_some() {
            self.themes.taxonomy().map_err(|e| fail("themes.taxonomy_file", e))?;
        }
        if self.moderation.report_threshold == 0 || self.moderation.report_threshold > MAX_BURST {
            return Err(fail("moderation.report_threshold", format!("must be between 1 and {MAX_BURST}")));
        }
        let l = &self.limits;
        for (key, burst) in [
            ("post_burst", l.post_burst),
            ("reply_burst", l.reply_burst),
            ("report_burst", l.report_burst),
            ("command_burst", l.command_burst),
        ] {
            if burst == 0 || burst > MAX_BURST {
                return Err(fail(&format!("limits.{key}"), format!("must be between 1 and {MAX_BURST}")));
            }
        }
        for (key, secs) in [
            ("post_every_secs", l.post_every_secs),
            ("reply_every_secs", l.reply_every_secs),
            ("report_every_secs", l.report_every_secs),
            ("command_every_secs", l.command_every_secs),
        ] {
            if secs == 0 || secs > MAX_PERIOD_SECS {
                return Err(fail(
                    &format!("limits.{key}"),
                    format!("must be between 1 and {MAX_PERIOD_SECS} (a week)"),
                ));
            }
        }
        if l.flood_refusals > MAX_BURST {
            return Err(fail(
                "limits.flood_refusals",
                format!("must be at most {MAX_BURST} (0 turns flood mutes off)"),
            ));
        }
        if l.flood_window_secs == 0 || l.flood_window_secs > MAX_PERIOD_SECS {
            return Err(fail("limits.flood_window_secs", format!("must be between 1 and {MAX_PERIOD_SECS} (a week)")));
        }
        if l.flood_mute_mins == 0 || l.flood_mute_mins > MAX_FLOOD_MUTE_MINS {
            return Err(fail(
                "limits.flood_mute_mins",
                format!("must be between 1 and {MAX_FLOOD_MUTE_MINS} (a year)"),
            ));
        }
        if let Err((key, problem)) = crate::surveys::validate(&self.surveys) {
            return Err(fail(&key, problem));
        }
        for (key, names) in
            [("console.moderators", &self.console.moderators), ("console.commissioners", &self.console.commissioners)]
        {
            if names.iter().any(|name| name.trim().is_empty() || name.contains(':')) {
                return Err(fail(key, "holds plain names without ':', such as \"mod1\"".into()));
            }
        }
        // The adapter sections as they are in the file; the environment is added by
        // `adapters()`, which `check-config` and `run` call.
        self.adapters(&|_| None)?;
        Ok(())
    }

    /// Every adapter's settings, with the environment (`env`, e.g. [`process_env`]) over
    /// the file, checked the way the adapter will use them. An adapter is `None` when
    /// neither the file nor the environment configures it.
    pub fn adapters(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<Adapters> {
        let matrix = MatrixSettings::resolve(self.matrix.as_ref(), env).map_err(|p| self.adapter_error(p))?;
        let discord = DiscordSettings::resolve(self.discord.as_ref(), env).map_err(|p| self.adapter_error(p))?;
        Ok(Adapters { matrix, discord })
    }

    fn adapter_error(&self, problem: SettingProblem) -> Error {
        let at = locate_key(&self.text.0, &problem.key).map(|pos| format!("{pos}: ")).unwrap_or_default();
        let var = problem.env.map(|v| format!(" (or {v})")).unwrap_or_default();
        Error::Config {
            source_name: self.source.clone(),
            message: format!("{at}`{}`{var} {}", problem.key, problem.problem),
        }
    }
}

/// The adapters configured, with their settings resolved (file and environment).
#[derive(Debug, Clone, Default)]
pub struct Adapters {
    /// `[matrix]` / `PARLEY_MATRIX_*`, when a homeserver is named.
    pub matrix: Option<MatrixSettings>,
    /// `[discord]` / `PARLEY_DISCORD_*`, when the section or a variable is there.
    pub discord: Option<DiscordSettings>,
}

impl Adapters {
    /// Whether no adapter is configured.
    pub fn is_empty(&self) -> bool {
        self.matrix.is_none() && self.discord.is_none()
    }
}

/// Reads an environment variable of this process (the `env` of [`Config::adapters`]).
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// A problem with one adapter setting.
#[derive(Debug)]
struct SettingProblem {
    key: String,
    env: Option<&'static str>,
    problem: String,
}

fn problem(section: &str, field: &str, env: &'static str, what: impl Into<String>) -> SettingProblem {
    SettingProblem { key: format!("{section}.{field}"), env: Some(env), problem: what.into() }
}

/// A non-empty, trimmed environment value.
fn env_value(env: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    env(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// A list from the environment: separated by commas or spaces.
fn env_list(value: &str) -> Vec<String> {
    value.split(|c: char| c == ',' || c.is_whitespace()).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// A list in the file: an array of strings, or one string separated by commas or spaces.
fn string_list<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum List {
        One(String),
        Many(Vec<String>),
    }
    Ok(match List::deserialize(d)? {
        List::One(s) => env_list(&s),
        List::Many(items) => items.into_iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect(),
    })
}

/// `power_level_threshold`: a number, or `"none"` for the user lists only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerLevel {
    /// Members of a staff room with at least this power level there act as staff.
    AtLeast(i64),
    /// Power levels do not count; only the user lists do.
    Off,
}

impl PowerLevel {
    fn parse(s: &str) -> Option<PowerLevel> {
        if s.trim().eq_ignore_ascii_case("none") {
            Some(PowerLevel::Off)
        } else {
            s.trim().parse().ok().map(PowerLevel::AtLeast)
        }
    }

    /// The threshold, `None` when off.
    pub fn threshold(self) -> Option<i64> {
        match self {
            PowerLevel::AtLeast(n) => Some(n),
            PowerLevel::Off => None,
        }
    }
}

impl<'de> Deserialize<'de> for PowerLevel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(i64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Number(n) => Ok(PowerLevel::AtLeast(n)),
            Raw::Text(s) => PowerLevel::parse(&s)
                .ok_or_else(|| serde::de::Error::custom(format!("expected a number or \"none\", got {s:?}"))),
        }
    }
}

/// `[matrix]`: the Matrix adapter. Each key can also come from the environment variable
/// `PARLEY_MATRIX_` + the key in capitals (`PARLEY_MATRIX_POWER_LEVEL` for
/// `power_level_threshold`), which wins over the file.
#[derive(Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MatrixSettings {
    /// `https://matrix.example.org`, or the server name. Configures the adapter.
    pub homeserver: Option<String>,
    /// The bot's user id, `@parley:example.org`.
    pub user: Option<String>,
    /// The bot's password (first login only; the session is kept in the data folder).
    pub password: Option<String>,
    /// An access token instead of the password.
    pub access_token: Option<String>,
    /// The public discussion room, by id (`!abc:example.org`) or alias (`#talk:example.org`).
    pub room: Option<String>,
    /// The private moderators' room.
    pub moderators_room: Option<String>,
    /// The private commissioners' room.
    pub commissioners_room: Option<String>,
    /// User ids that are moderators (a list, or one string separated by commas).
    #[serde(default, deserialize_with = "string_list")]
    pub moderators: Vec<String>,
    /// User ids that are commissioners.
    #[serde(default, deserialize_with = "string_list")]
    pub commissioners: Vec<String>,
    /// The power level in a staff room that makes a member staff there (default 50).
    #[serde(alias = "power_level")]
    pub power_level_threshold: Option<PowerLevel>,
    /// Encrypts the local Matrix stores; derived from the parley secret when left out.
    pub store_passphrase: Option<String>,
    /// The name of the bot's device.
    pub device_name: Option<String>,
}

impl fmt::Debug for MatrixSettings {
    // Secrets and user ids stay out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MatrixSettings")
            .field("homeserver", &self.homeserver)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .field("access_token", &self.access_token.as_ref().map(|_| "<hidden>"))
            .field("moderators", &self.moderators.len())
            .field("commissioners", &self.commissioners.len())
            .field("power_level_threshold", &self.power_level_threshold)
            .finish_non_exhaustive()
    }
}

impl MatrixSettings {
    /// `PARLEY_MATRIX_*` over the `[matrix]` section: `None` when neither names a
    /// homeserver; otherwise checked the way the adapter needs them (required keys,
    /// room ids or aliases).
    fn resolve(
        file: Option<&MatrixSettings>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> std::result::Result<Option<MatrixSettings>, SettingProblem> {
        let mut s = file.cloned().unwrap_or_default();
        let text = |field: &mut Option<String>, var: &str| {
            if let Some(v) = env_value(env, var) {
                *field = Some(v);
            }
        };
        text(&mut s.homeserver, "PARLEY_MATRIX_HOMESERVER");
        text(&mut s.user, "PARLEY_MATRIX_USER");
        text(&mut s.password, "PARLEY_MATRIX_PASSWORD");
        text(&mut s.access_token, "PARLEY_MATRIX_ACCESS_TOKEN");
        text(&mut s.room, "PARLEY_MATRIX_ROOM");
        text(&mut s.moderators_room, "PARLEY_MATRIX_MODERATORS_ROOM");
        text(&mut s.commissioners_room, "PARLEY_MATRIX_COMMISSIONERS_ROOM");
        text(&mut s.store_passphrase, "PARLEY_MATRIX_STORE_PASSPHRASE");
        text(&mut s.device_name, "PARLEY_MATRIX_DEVICE_NAME");
        if let Some(v) = env_value(env, "PARLEY_MATRIX_MODERATORS") {
            s.moderators = env_list(&v);
        }
        if let Some(v) = env_value(env, "PARLEY_MATRIX_COMMISSIONERS") {
            s.commissioners = env_list(&v);
        }
        if let Some(v) = env_value(env, "PARLEY_MATRIX_POWER_LEVEL") {
            s.power_level_threshold = Some(PowerLevel::parse(&v).ok_or_else(|| {
                problem(
                    "matrix",
                    "power_level_threshold",
                    "PARLEY_MATRIX_POWER_LEVEL",
                    format!("is not a number or `none`: {v}"),
                )
            })?);
        }
        let trimmed = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        for field in [
            &mut s.homeserver,
            &mut s.user,
            &mut s.password,
            &mut s.access_token,
            &mut s.room,
            &mut s.moderators_room,
            &mut s.commissioners_room,
        ] {
            *field = trimmed(field);
        }
        if s.homeserver.is_none() {
            if s != MatrixSettings::default() && file.is_some() {
                return Err(problem(
                    "matrix",
                    "homeserver",
                    "PARLEY_MATRIX_HOMESERVER",
                    "is not set, but other Matrix settings are",
                ));
            }
            return Ok(None);
        }
        for (field, var, value) in [
            ("user", "PARLEY_MATRIX_USER", &s.user),
            ("room", "PARLEY_MATRIX_ROOM", &s.room),
            ("moderators_room", "PARLEY_MATRIX_MODERATORS_ROOM", &s.moderators_room),
            ("commissioners_room", "PARLEY_MATRIX_COMMISSIONERS_ROOM", &s.commissioners_room),
        ] {
            match value {
                None => return Err(problem("matrix", field, var, "is not set")),
                Some(room) if field != "user" && !(room.starts_with('!') || room.starts_with('#')) => {
                    return Err(problem(
                        "matrix",
                        field,
                        var,
                        format!("must be a room id (!…) or an alias (#…), got {room}"),
                    ))
                }
                Some(_) => {}
            }
        }
        if s.password.is_none() && s.access_token.is_none() {
            return Err(problem(
                "matrix",
                "password",
                "PARLEY_MATRIX_PASSWORD",
                "is not set: set a password or an access_token (PARLEY_MATRIX_ACCESS_TOKEN) for the bot account",
            ));
        }
        Ok(Some(s))
    }
}

/// How the Discord adapter lays out discussions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DiscussionThreads {
    /// One thread per discussion in a text channel.
    #[default]
    Thread,
    /// One post per discussion in a forum channel.
    Forum,
}

/// `[discord]`: the Discord adapter (`bots/discord`).
/// Each key can also come from `PARLEY_DISCORD_` + the key in capitals, which wins.
#[derive(Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DiscordSettings {
    /// The bot token.
    pub token: Option<String>,
    /// The application id (for slash commands).
    pub application_id: Option<String>,
    /// The server (guild) id.
    pub guild: Option<String>,
    /// The public discussion channel id.
    pub channel: Option<String>,
    /// The private moderators' channel id.
    pub moderators_channel: Option<String>,
    /// The private commissioners' channel id.
    pub commissioners_channel: Option<String>,
    /// Discord's API address (tests point it at a fake Discord).
    pub api_url: Option<String>,
    /// Role ids whose members are moderators.
    #[serde(default, deserialize_with = "string_list")]
    pub moderator_roles: Vec<String>,
    /// Role ids whose members are commissioners.
    #[serde(default, deserialize_with = "string_list")]
    pub commissioner_roles: Vec<String>,
    /// `"thread"` (a thread per discussion) or `"forum"` (a forum post per discussion).
    #[serde(default)]
    pub discussion_threads: DiscussionThreads,
    /// What a person who types straight into a discussion thread is told in a DM
    /// (`{prefix}` is the command prefix); `""` turns it off; a built-in text by default.
    #[serde(default)]
    pub public_hint: Option<String>,
}

impl fmt::Debug for DiscordSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DiscordSettings")
            .field("token", &self.token.as_ref().map(|_| "<hidden>"))
            .field("guild", &self.guild)
            .field("api_url", &self.api_url)
            .field("discussion_threads", &self.discussion_threads)
            .finish_non_exhaustive()
    }
}

impl DiscordSettings {
    /// `PARLEY_DISCORD_*` over the `[discord]` section: `None` when neither is there.
    fn resolve(
        file: Option<&DiscordSettings>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> std::result::Result<Option<DiscordSettings>, SettingProblem> {
        const VARS: [&str; 9] = [
            "PARLEY_DISCORD_TOKEN",
            "PARLEY_DISCORD_APPLICATION_ID",
            "PARLEY_DISCORD_GUILD",
            "PARLEY_DISCORD_CHANNEL",
            "PARLEY_DISCORD_MODERATORS_CHANNEL",
            "PARLEY_DISCORD_COMMISSIONERS_CHANNEL",
            "PARLEY_DISCORD_API_URL",
            "PARLEY_DISCORD_MODERATOR_ROLES",
            "PARLEY_DISCORD_COMMISSIONER_ROLES",
        ];
        if file.is_none() && VARS.iter().all(|v| env_value(env, v).is_none()) {
            return Ok(None);
        }
        let mut s = file.cloned().unwrap_or_default();
        for (field, var) in [
            (&mut s.token, VARS[0]),
            (&mut s.application_id, VARS[1]),
            (&mut s.guild, VARS[2]),
            (&mut s.channel, VARS[3]),
            (&mut s.moderators_channel, VARS[4]),
            (&mut s.commissioners_channel, VARS[5]),
            (&mut s.api_url, VARS[6]),
        ] {
            if let Some(v) = env_value(env, var) {
                *field = Some(v);
            }
        }
        if let Some(v) = env_value(env, VARS[7]) {
            s.moderator_roles = env_list(&v);
        }
        if let Some(v) = env_value(env, VARS[8]) {
            s.commissioner_roles = env_list(&v);
        }
        if s.token.as_deref().is_none_or(|t| t.trim().is_empty()) {
            return Err(problem("discord", "token", VARS[0], "is not set"));
        }
        for (field, var, value) in [
            ("application_id", VARS[1], &s.application_id),
            ("guild", VARS[2], &s.guild),
            ("channel", VARS[3], &s.channel),
            ("moderators_channel", VARS[4], &s.moderators_channel),
            ("commissioners_channel", VARS[5], &s.commissioners_channel),
        ] {
            match value.as_deref() {
                // Without a guild, slash commands are registered globally.
                None if field == "application_id" || field == "guild" => {}
                None => return Err(problem("discord", field, var, "is not set")),
                Some(id) if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) => {
                    return Err(problem(
                        "discord",
                        field,
                        var,
                        format!("must be a Discord id (digits only), got {id:?}"),
                    ))
                }
                Some(_) => {}
            }
        }
        if let Some(url) = &s.api_url {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(problem("discord", "api_url", VARS[6], format!("must start with https://, got {url:?}")));
            }
        }
        Ok(Some(s))
    }
}

/// Checks a discussion slug: lower-case letters, digits and dashes, 2 to 40 characters.
pub fn check_slug(slug: &str) -> std::result::Result<(), &'static str> {
    let ok_chars = slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if slug.len() < 2 || slug.len() > 40 {
        Err("a slug must be 2 to 40 characters long")
    } else if !ok_chars || slug.starts_with('-') || slug.ends_with('-') {
        Err("a slug uses only lower-case letters, digits and dashes, like gp-access")
    } else {
        Ok(())
    }
}

/// A line and column (both from 1) in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// The line, from 1.
    pub line: usize,
    /// The column in characters, from 1.
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// The line and column of a byte offset in `text`.
pub fn position(text: &str, offset: usize) -> Position {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Position { line: before.matches('\n').count() + 1, column: before[line_start..].chars().count() + 1 }
}

/// Where a key (`limits.post_burst`, `discussions[1].slug`) is written in TOML `text`:
/// the key itself, or the nearest enclosing table when the key is left out.
pub fn locate_key(text: &str, key: &str) -> Option<Position> {
    use toml_edit::{ArrayOfTables, Item, Table, Value};
    enum Node<'a> {
        Table(&'a Table),
        Tables(&'a ArrayOfTables),
        Value(&'a Value),
    }
    let doc = toml_edit::ImDocument::parse(text).ok()?;
    let mut node = Node::Table(doc.as_table());
    let mut best = None;
    'parts: for part in key.split('.') {
        let (name, indices) = part.split_once('[').map_or((part, ""), |(n, rest)| (n, rest));
        node = match node {
            Node::Table(t) => {
                best = t.key(name).and_then(|k| k.span()).or(best);
                match t.get(name) {
                    Some(Item::Table(t)) => Node::Table(t),
                    Some(Item::ArrayOfTables(a)) => Node::Tables(a),
                    Some(Item::Value(v)) => Node::Value(v),
                    _ => break,
                }
            }
            Node::Value(Value::InlineTable(t)) => {
                best = t.key(name).and_then(|k| k.span()).or(best);
                match t.get(name) {
                    Some(v) => Node::Value(v),
                    None => break,
                }
            }
            _ => break,
        };
        for index in indices.split(['[', ']']).filter(|s| !s.is_empty()) {
            let Ok(i) = index.parse::<usize>() else { break 'parts };
            node = match node {
                Node::Tables(a) => match a.get(i) {
                    Some(t) => {
                        best = t.span().or(best);
                        Node::Table(t)
                    }
                    None => break 'parts,
                },
                Node::Value(Value::Array(a)) => match a.get(i) {
                    Some(v) => {
                        best = v.span().or(best);
                        Node::Value(v)
                    }
                    None => break 'parts,
                },
                _ => break 'parts,
            };
        }
    }
    best.map(|s| position(text, s.start))
}

fn describe_toml_error(text: &str, e: &serde_path_to_error::Error<toml::de::Error>) -> String {
    let inner = e.inner();
    // toml's message names the problem ("unknown field `titel`, expected ..."); the path
    // names the key; the span gives the line.
    let message = inner
        .message()
        .trim()
        .replace('\n', "; ")
        .replace("expected usize", "expected a whole number")
        .replace("expected u64", "expected a whole number")
        .replace("expected u32", "expected a whole number")
        .replace("expected i64", "expected a whole number");
    let path = e.path().to_string();
    let at = inner
        .span()
        .map(|span| position(text, span.start))
        .or_else(|| locate_key(text, &path))
        .map(|pos| format!("{pos}: "))
        .unwrap_or_default();
    if path == "." || path.is_empty() {
        format!("{at}{message}")
    } else {
        format!("{at}`{path}`: {message}")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn bundled_example_is_valid_and_has_the_contract_discussions() {
        let c = Config::load(None).unwrap();
        let slugs: Vec<_> = c.discussions.iter().map(|d| d.slug.as_str()).collect();
        assert!(slugs.contains(&"gp-access") && slugs.contains(&"urgent-care"));
        assert_eq!(c.console.moderators, vec!["mod1"]);
        assert_eq!(c.console.commissioners, vec!["comm1"]);
        assert!(!c.surveys.is_empty());
    }

    #[test]
    fn errors_name_the_key() {
        let e = Config::parse("[bot]\nmax_post_chars = 0\n", "t").unwrap_err().to_string();
        assert!(e.contains("bot.max_post_chars"), "{e}");
        let e = Config::parse("[[discussions]]\nslug = \"GP Access\"\ntitle = \"x\"\nprompt = \"y\"\n", "t")
            .unwrap_err()
            .to_string();
        assert!(e.contains("discussions[0].slug"), "{e}");
        let e = Config::parse("[[discussions]]\nslug = \"gp\"\ntitel = \"x\"\nprompt = \"y\"\n", "t")
            .unwrap_err()
            .to_string();
        assert!(e.contains("titel"), "{e}");
        let e = Config::parse("[bot\n", "t").unwrap_err().to_string();
        assert!(e.contains("t:"), "{e}");
    }

    fn err(text: &str) -> String {
        Config::parse(text, "t.toml").unwrap_err().to_string()
    }

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn errors_give_line_column_and_key_path() {
        // Issue 13.8: a wrong type named the type but not the key, and positions were bytes.
        let e = err("[bot]\nmax_post_chars = \"2000\"\n");
        assert!(e.contains("t.toml: line 2, column 18: `bot.max_post_chars`"), "{e}");
        assert!(e.contains("expected a whole number") && !e.contains("byte"), "{e}");
        let e = err("[bot]\ncommand_prefix = \"!\"\n\n[limits]\npost_burst = 0\n");
        assert!(e.contains("line 5, column 1: `limits.post_burst`"), "{e}");
        let e = err(&format!("{EXAMPLE}\n[[discussions]]\nslug = \"gp-access\"\ntitle = \"x\"\nprompt = \"y\"\n"));
        let line = EXAMPLE.lines().count() + 3;
        assert!(e.contains(&format!("line {line}, column 1: `discussions[2].slug`")), "{e}");
        let e = err("[[surveys]]\nid = \"s1\"\ntitle = \"S\"\n[[surveys.questions]]\ntext = \" \"\n");
        assert!(e.contains("line 5, column 1: `surveys[0].questions[0].text`"), "{e}");
        let e = err("[bot\n");
        assert!(e.contains("t.toml: line 1, column 5"), "{e}");
    }

    #[test]
    fn every_section_is_checked_like_run_does() {
        // Unknown keys in [matrix] used to pass check-config and fail `parley run`.
        let e = err("[matrix]\nhomeserver = \"https://m.example\"\nusr = \"@bot:m.example\"\n");
        assert!(e.contains("line 3, column 1: `matrix.usr`: unknown field `usr`"), "{e}");
        let e = err("[matrix]\nhomeserver = \"https://m.example\"\nuser = \"@bot:m.example\"\npassword = \"p\"\n");
        assert!(e.contains("`matrix.room` (or PARLEY_MATRIX_ROOM) is not set"), "{e}");
        let e = err("[matrix]\nuser = \"@bot:m.example\"\n");
        assert!(e.contains("`matrix.homeserver`"), "{e}");
        let e = err("[matrix]\npower_level_threshold = \"high\"\n");
        assert!(e.contains("`matrix.power_level_threshold`") && e.contains("\"none\""), "{e}");
        // channel_burst = 0 was accepted while post_burst = 0 was refused.
        let e = err("[delivery]\nchannel_burst = 0\n");
        assert!(e.contains("line 2, column 1: `delivery.channel_burst` must be between 1"), "{e}");
        let e = err("[delivery]\nchannel_every_ms = 0\n");
        assert!(e.contains("`delivery.channel_every_ms`"), "{e}");
    }

    #[test]
    fn values_are_range_checked() {
        // Issue 9.8: these passed check-config, then panicked in governor or wrapped.
        for (text, key) in [
            ("[limits]\npost_every_secs = 9223372036854775807\n", "limits.post_every_secs"),
            ("[limits]\ncommand_every_secs = 604801\n", "limits.command_every_secs"),
            ("[limits]\nflood_mute_mins = 9223372036854775807\n", "limits.flood_mute_mins"),
            ("[limits]\nflood_window_secs = 0\n", "limits.flood_window_secs"),
            ("[limits]\nreply_burst = 4294967295\n", "limits.reply_burst"),
            ("[delivery]\nmax_backoff_secs = 9223372036854775807\n", "delivery.max_backoff_secs"),
            (
                "[[discussions]]\nslug = \"gp\"\ntitle = \"t\"\nprompt = \"p\"\nslow_mode_secs = 9223372036854775807\n",
                "discussions[0].slow_mode_secs",
            ),
            ("[bot]\ncommand_prefix = \" !\"\n", "bot.command_prefix"),
            ("[bot]\ncommand_prefix = \"go\"\n", "bot.command_prefix"),
            ("[bot]\ncommand_prefix = \"\"\n", "bot.command_prefix"),
            ("[bot]\ncommand_prefix = \"!\\u200B\"\n", "bot.command_prefix"),
            ("[bot]\ncommand_prefix = \"\\uFE0F\"\n", "bot.command_prefix"),
        ] {
            let e = err(text);
            assert!(e.contains(&format!("`{key}`")) && e.contains("line "), "{text}: {e}");
        }
        let ok = Config::parse("[limits]\npost_every_secs = 604800\nflood_mute_mins = 525600\n", "t").unwrap();
        assert_eq!(ok.limits.flood_mute_mins, MAX_FLOOD_MUTE_MINS);
        assert!(Config::parse("[bot]\ncommand_prefix = \"/\"\n", "t").is_ok());
        assert!(Config::parse("[bot]\ncommand_prefix = \"\\u203C\\uFE0F\"\n", "t").is_ok(), "‼️ as pasted");
    }

    #[test]
    fn taxonomy_file_is_checked_without_quoting_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.toml");
        let e = err(&format!("[themes]\ntaxonomy_file = {:?}\n", missing.display().to_string()));
        assert!(e.contains("line 2, column 1: `themes.taxonomy_file`") && e.contains("cannot read"), "{e}");
        let bad = dir.path().join("tax.toml");
        std::fs::write(&bad, "PRIVATE first line\n").unwrap();
        let e = err(&format!("[themes]\ntaxonomy_file = {:?}\n", bad.display().to_string()));
        assert!(e.contains("`themes.taxonomy_file`") && e.contains("line 1, column"), "{e}");
        assert!(!e.contains("PRIVATE"), "the file's text is not echoed: {e}");
        std::fs::write(&bad, "[[theme]]\nid = \"x\"\nsecret_key = 1\n").unwrap();
        let e = err(&format!("[themes]\ntaxonomy_file = {:?}\n", bad.display().to_string()));
        assert!(e.contains("line 3, column 1") && e.contains("secret_key") && !e.contains("= 1"), "{e}");
        std::fs::write(&bad, "[[theme]]\nid = \"maternity\"\nlabel = \"Maternity\"\nphrases = [\"midwife\"]\n")
            .unwrap();
        let c = Config::parse(&format!("[themes]\ntaxonomy_file = {:?}\n", bad.display().to_string()), "t").unwrap();
        assert!(c.themes.taxonomy().unwrap().get("maternity").is_some());
    }

    #[test]
    fn matrix_settings_environment_wins_over_the_file() {
        let c = Config::parse(
            "[matrix]\nhomeserver = \"https://file.example\"\nuser = \"@bot:file.example\"\naccess_token = \"t\"\n\
             room = \"#talk:file.example\"\nmoderators_room = \"!m:file.example\"\ncommissioners_room = \"!c:file.example\"\n\
             moderators = \"@a:x, @b:x\"\npower_level_threshold = 75\n",
            "t",
        )
        .unwrap();
        let m = c.adapters(&|_| None).unwrap().matrix.unwrap();
        assert_eq!(m.homeserver.as_deref(), Some("https://file.example"));
        assert_eq!(m.moderators, ["@a:x", "@b:x"]);
        assert_eq!(m.power_level_threshold, Some(PowerLevel::AtLeast(75)));
        let m = c
            .adapters(&env(&[
                ("PARLEY_MATRIX_HOMESERVER", "https://env.example"),
                ("PARLEY_MATRIX_POWER_LEVEL", "none"),
                ("PARLEY_MATRIX_COMMISSIONERS", "@c:x @d:x"),
                ("PARLEY_MATRIX_USER", "  "),
            ]))
            .unwrap()
            .matrix
            .unwrap();
        assert_eq!(m.homeserver.as_deref(), Some("https://env.example"));
        assert_eq!(m.user.as_deref(), Some("@bot:file.example"), "an empty variable does not count");
        assert_eq!(m.power_level_threshold, Some(PowerLevel::Off));
        assert_eq!(m.commissioners, ["@c:x", "@d:x"]);
        assert!(!format!("{m:?}").contains("@c:x"), "ids stay out of Debug");
        // Environment only.
        let c = Config::load(None).unwrap();
        assert!(c.adapters(&|_| None).unwrap().is_empty());
        let e = c.adapters(&env(&[("PARLEY_MATRIX_HOMESERVER", "https://h")])).unwrap_err().to_string();
        assert!(e.contains("`matrix.user` (or PARLEY_MATRIX_USER) is not set"), "{e}");
        let e = c.adapters(&env(&[("PARLEY_MATRIX_POWER_LEVEL", "x")])).unwrap_err().to_string();
        assert!(e.contains("PARLEY_MATRIX_POWER_LEVEL"), "{e}");
    }

    #[test]
    fn discord_section_parses_into_typed_settings() {
        let text = "[discord]\ntoken = \"sekrit\"\napplication_id = \"10\"\nguild = \"11\"\nchannel = \"12\"\n\
                    moderators_channel = \"13\"\ncommissioners_channel = \"14\"\nmoderator_roles = [\"20\", \"21\"]\n\
                    discussion_threads = \"forum\"\n";
        let c = Config::parse(text, "t").unwrap();
        let d = c.adapters(&|_| None).unwrap().discord.unwrap();
        assert_eq!(d.discussion_threads, DiscussionThreads::Forum);
        assert_eq!(d.moderator_roles, ["20", "21"]);
        assert!(!format!("{d:?}").contains("sekrit"));
        let d = c
            .adapters(&env(&[("PARLEY_DISCORD_GUILD", "99"), ("PARLEY_DISCORD_COMMISSIONER_ROLES", "30,31")]))
            .unwrap()
            .discord
            .unwrap();
        assert_eq!((d.guild.as_deref(), d.commissioner_roles.len()), (Some("99"), 2));
        let e = err("[discord]\ntoken = \"tok\"\nguild = \"my server\"\n");
        assert!(e.contains("line 3, column 1: `discord.guild` (or PARLEY_DISCORD_GUILD)"), "{e}");
        let e = err("[discord]\ntokn = \"tok\"\n");
        assert!(e.contains("`discord.tokn`: unknown field"), "{e}");
        // The environment alone configures it, too.
        let c = Config::load(None).unwrap();
        let e = c.adapters(&env(&[("PARLEY_DISCORD_TOKEN", "tok")])).unwrap_err().to_string();
        assert!(e.contains("`discord.channel` (or PARLEY_DISCORD_CHANNEL) is not set"), "{e}");
    }

    #[test]
    fn the_examples_platform_sections_are_complete_and_valid_when_uncommented() {
        // Issue 13.9: every key of [matrix] and [discord] is in the example, explained.
        let start = EXAMPLE.find("# [matrix]").unwrap();
        let key = is_setting;
        let mut text = EXAMPLE[..start].to_string();
        for line in EXAMPLE[start..].lines() {
            match line.strip_prefix("# ") {
                Some(rest) if rest == "[matrix]" || rest == "[discord]" || key(rest) => text.push_str(rest),
                _ => text.push_str(line),
            }
            text.push('\n');
        }
        let c = Config::parse(&text, "uncommented example").unwrap();
        let adapters = c.adapters(&|_| None).unwrap();
        assert!(adapters.matrix.is_some() && adapters.discord.is_some());
        for field in [
            "homeserver",
            "user",
            "password",
            "access_token",
            "room",
            "moderators_room",
            "commissioners_room",
            "moderators",
            "commissioners",
            "power_level_threshold",
            "store_passphrase",
            "device_name",
            "token",
            "application_id",
            "guild",
            "channel",
            "moderators_channel",
            "commissioners_channel",
            "api_url",
            "moderator_roles",
            "commissioner_roles",
            "discussion_threads",
            "public_hint",
        ] {
            assert!(EXAMPLE.contains(&format!("\n# {field} = ")), "{field} is not in the example");
        }
        for var in [
            "PARLEY_MATRIX_HOMESERVER",
            "PARLEY_MATRIX_POWER_LEVEL",
            "PARLEY_DISCORD_TOKEN",
            "PARLEY_DISCORD_APPLICATION_ID",
            "PARLEY_DISCORD_GUILD",
            "PARLEY_DISCORD_CHANNEL",
            "PARLEY_DISCORD_MODERATORS_CHANNEL",
            "PARLEY_DISCORD_COMMISSIONERS_CHANNEL",
            "PARLEY_DISCORD_API_URL",
            "PARLEY_DISCORD_MODERATOR_ROLES",
            "PARLEY_DISCORD_COMMISSIONER_ROLES",
        ] {
            assert!(EXAMPLE.contains(var), "{var} is not explained in the example");
        }
    }

    /// `key = value` (a commented-out setting, not an explanation).
    fn is_setting(line: &str) -> bool {
        line.split_once(" = ")
            .is_some_and(|(k, _)| !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
    }

    #[test]
    fn debug_output_leaves_passwords_out() {
        let c = Config::parse(
            "[matrix]\nhomeserver = \"https://h\"\nuser = \"@b:h\"\npassword = \"hunter22\"\nroom = \"!r:h\"\n\
             moderators_room = \"!m:h\"\ncommissioners_room = \"!c:h\"\n",
            "t",
        )
        .unwrap();
        assert!(c.matrix.is_some());
        let text = format!("{c:?}");
        assert!(!text.contains("hunter22"), "{text}");
        let c = Config::parse("[storage]\n# password hunter22\n", "t").unwrap();
        assert!(!format!("{c:?}").contains("hunter22"));
    }

    #[test]
    fn positions_count_lines_and_characters() {
        assert_eq!(position("a\nbé = 1", 5), Position { line: 2, column: 3 });
        assert_eq!(locate_key("[a]\nb = [1, 2]\n", "a.b[1]"), Some(Position { line: 2, column: 9 }));
    }
}
