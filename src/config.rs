//! The TOML configuration: one file, with a bundled commented example as the default.
//!
//! Environment variables win over the file for secrets and connection settings
//! (`PARLEY_SECRET`, `PARLEY_SECRET_FILE`, `DATABASE_URL`, `PARLEY_MATRIX_*`).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

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
    /// The Matrix adapter, when configured (see `parley run`).
    #[serde(default)]
    pub matrix: Option<toml::Table>,
    /// Where this configuration came from, for messages.
    #[serde(skip)]
    pub source: String,
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
}

impl Default for ModerationConfig {
    fn default() -> Self {
        ModerationConfig {
            report_threshold: 3,
            allowed_link_domains: vec!["nhs.uk".into(), "gov.uk".into()],
            hold_crisis: true,
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
}

impl Default for ThemesConfig {
    fn default() -> Self {
        ThemesConfig { taxonomy_file: None, small_number_threshold: 5 }
    }
}

impl ThemesConfig {
    /// The analyzer for this configuration.
    pub fn analyzer(&self) -> Result<themes::Analyzer> {
        let taxonomy = match &self.taxonomy_file {
            None => themes::Taxonomy::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
                    source_name: path.display().to_string(),
                    message: format!("`themes.taxonomy_file`: cannot read the file: {e}"),
                })?;
                themes::Taxonomy::with_user_toml(&text)
                    .map_err(|e| Error::Config { source_name: path.display().to_string(), message: e.to_string() })?
            }
        };
        Ok(themes::Analyzer::new(taxonomy))
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
        let mut config: Config = toml::from_str(text)
            .map_err(|e| Error::Config { source_name: source_name.to_string(), message: describe_toml_error(&e) })?;
        config.source = source_name.to_string();
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<()> {
        let fail = |message: String| Error::Config { source_name: self.source.clone(), message };
        if self.bot.command_prefix.trim().is_empty() || self.bot.command_prefix.chars().count() > 3 {
            return Err(fail("`bot.command_prefix` must be one to three characters, such as \"!\"".into()));
        }
        if self.bot.max_post_chars == 0 || self.bot.max_post_chars > 40_000 {
            return Err(fail("`bot.max_post_chars` must be between 1 and 40000".into()));
        }
        if self.delivery.initial_backoff_secs == 0
            || self.delivery.max_backoff_secs < self.delivery.initial_backoff_secs
        {
            return Err(fail(
                "`delivery.initial_backoff_secs` must be at least 1 and not above `delivery.max_backoff_secs`".into(),
            ));
        }
        let mut seen = HashSet::new();
        for (i, d) in self.discussions.iter().enumerate() {
            if let Err(why) = check_slug(&d.slug) {
                return Err(fail(format!("`discussions[{i}].slug` = {:?}: {why}", d.slug)));
            }
            if !seen.insert(d.slug.as_str()) {
                return Err(fail(format!("`discussions[{i}].slug`: the slug {:?} is used twice", d.slug)));
            }
            if d.title.trim().is_empty() {
                return Err(fail(format!("`discussions[{i}].title` must not be empty")));
            }
            if d.prompt.trim().is_empty() {
                return Err(fail(format!("`discussions[{i}].prompt` must not be empty")));
            }
        }
        if self.themes.small_number_threshold == 0 {
            return Err(fail("`themes.small_number_threshold` must be at least 1".into()));
        }
        if self.moderation.report_threshold == 0 {
            return Err(fail("`moderation.report_threshold` must be at least 1".into()));
        }
        let l = &self.limits;
        for (key, burst) in [
            ("post_burst", l.post_burst),
            ("reply_burst", l.reply_burst),
            ("report_burst", l.report_burst),
            ("command_burst", l.command_burst),
        ] {
            if burst == 0 {
                return Err(fail(format!("`limits.{key}` must be at least 1")));
            }
        }
        for (key, secs) in [
            ("post_every_secs", l.post_every_secs),
            ("reply_every_secs", l.reply_every_secs),
            ("report_every_secs", l.report_every_secs),
            ("command_every_secs", l.command_every_secs),
        ] {
            if secs == 0 {
                return Err(fail(format!("`limits.{key}` must be at least 1")));
            }
        }
        if let Err((key, problem)) = crate::surveys::validate(&self.surveys) {
            return Err(fail(format!("`{key}` {problem}")));
        }
        for name in self.console.moderators.iter().chain(&self.console.commissioners) {
            if name.trim().is_empty() || name.contains(':') {
                return Err(fail(
                    "`console.moderators` and `console.commissioners` hold plain names without ':'".into(),
                ));
            }
        }
        Ok(())
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

fn describe_toml_error(e: &toml::de::Error) -> String {
    // toml's message names the key ("unknown field `titel`, expected ...") and the line.
    let msg = e.message().trim().to_string();
    match e.span() {
        Some(span) => format!("{msg} (at byte {} of the file)", span.start),
        None => msg,
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
}
