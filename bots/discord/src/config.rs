//! The adapter's configuration: the `[discord]` section of parley's TOML file, with the
//! `PARLEY_DISCORD_*` environment variables over it.

use std::fmt;

use serde::{Deserialize, Deserializer};

use crate::{Error, Result};

/// Discord's own API address.
pub const DISCORD_API: &str = "https://discord.com";

/// The hint a person gets, privately, after typing directly into a discussion thread.
/// `{prefix}` is replaced by the command prefix.
pub const DEFAULT_PUBLIC_HINT: &str = "Messages typed straight into a discussion thread are not anonymous, so parley \
     leaves them alone. To post anonymously, use /join and /post (only you see the answers), or send me \
     {prefix}help in a direct message.";

/// How discussions are laid out in the discussions channel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DiscussionThreads {
    /// A public thread per discussion in a text channel.
    #[default]
    Thread,
    /// A post per discussion in a forum channel.
    Forum,
}

/// Who the bot is, where it speaks and who may do what. Ids are Discord snowflakes, given
/// as strings of digits.
#[derive(Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The bot token (Developer Portal → the application → Bot → Reset Token).
    #[serde(default)]
    pub token: Option<String>,
    /// The application id, for the slash commands; read from the gateway's READY when left
    /// out.
    #[serde(default)]
    pub application_id: Option<String>,
    /// The server (guild): slash commands are registered there (they appear at once).
    /// Without it they are registered globally.
    #[serde(default)]
    pub guild: Option<String>,
    /// The public discussions channel: a text channel (one public thread per discussion) or
    /// a forum channel (one post per discussion), see `discussion_threads`.
    #[serde(default)]
    pub channel: Option<String>,
    /// The private moderators' channel.
    #[serde(default)]
    pub moderators_channel: Option<String>,
    /// The private commissioners' channel.
    #[serde(default)]
    pub commissioners_channel: Option<String>,
    /// A Discord-compatible server to send REST and gateway traffic to instead of Discord
    /// (`http://127.0.0.1:8080`); its `/api/v10/gateway/bot` names the gateway.
    #[serde(default)]
    pub api_url: Option<String>,
    /// Members with one of these roles are moderators in the moderators' channel. When
    /// empty, whoever can write in that (private) channel is a moderator.
    #[serde(default, deserialize_with = "string_list")]
    pub moderator_roles: Vec<String>,
    /// Members with one of these roles are commissioners in the commissioners' channel.
    /// When empty, whoever can write in that channel is a commissioner.
    #[serde(default, deserialize_with = "string_list")]
    pub commissioner_roles: Vec<String>,
    /// `"thread"` or `"forum"`.
    #[serde(default)]
    pub discussion_threads: DiscussionThreads,
    /// What a person who types directly into a discussion thread is told privately;
    /// `{prefix}` becomes the command prefix; empty turns the hint off.
    #[serde(default)]
    pub public_hint: Option<String>,
    /// The core's command prefix (`[bot] command_prefix`), which slash commands are
    /// translated into. Set by the binary, not read from `[discord]`.
    #[serde(skip, default = "default_prefix")]
    pub command_prefix: String,
}

fn default_prefix() -> String {
    "!".to_owned()
}

impl Default for Config {
    fn default() -> Self {
        Config {
            token: None,
            application_id: None,
            guild: None,
            channel: None,
            moderators_channel: None,
            commissioners_channel: None,
            api_url: None,
            moderator_roles: Vec::new(),
            commissioner_roles: Vec::new(),
            discussion_threads: DiscussionThreads::default(),
            public_hint: None,
            command_prefix: default_prefix(),
        }
    }
}

impl fmt::Debug for Config {
    // The token stays out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("token", &self.token.as_ref().map(|_| "<hidden>"))
            .field("application_id", &self.application_id)
            .field("guild", &self.guild)
            .field("channel", &self.channel)
            .field("moderators_channel", &self.moderators_channel)
            .field("commissioners_channel", &self.commissioners_channel)
            .field("api_url", &self.api_url)
            .field("moderator_roles", &self.moderator_roles.len())
            .field("commissioner_roles", &self.commissioner_roles.len())
            .field("discussion_threads", &self.discussion_threads)
            .finish_non_exhaustive()
    }
}

/// The environment variables, in the order of [`Config`]'s fields.
pub const ENV_VARS: [&str; 9] = [
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

/// A list: separated by commas or spaces.
fn split_list(value: &str) -> Vec<String> {
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
        List::One(s) => split_list(&s),
        List::Many(items) => items.into_iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect(),
    })
}

impl Config {
    /// The environment over the `[discord]` section: each `PARLEY_DISCORD_*` variable that
    /// is set (and not blank) replaces the key of the same name. `None` when neither the
    /// section nor any variable is there, so that Discord is simply not configured.
    /// The result is validated.
    pub fn from_env_over(toml: Option<Config>, env: impl Fn(&str) -> Option<String>) -> Result<Option<Config>> {
        let get = |name: &str| env(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        if toml.is_none() && ENV_VARS.iter().all(|v| get(v).is_none()) {
            return Ok(None);
        }
        let mut c = toml.unwrap_or_default();
        for (field, var) in [
            (&mut c.token, ENV_VARS[0]),
            (&mut c.application_id, ENV_VARS[1]),
            (&mut c.guild, ENV_VARS[2]),
            (&mut c.channel, ENV_VARS[3]),
            (&mut c.moderators_channel, ENV_VARS[4]),
            (&mut c.commissioners_channel, ENV_VARS[5]),
            (&mut c.api_url, ENV_VARS[6]),
        ] {
            if let Some(v) = get(var) {
                *field = Some(v);
            }
        }
        if let Some(v) = get(ENV_VARS[7]) {
            c.moderator_roles = split_list(&v);
        }
        if let Some(v) = get(ENV_VARS[8]) {
            c.commissioner_roles = split_list(&v);
        }
        c.validate()?;
        Ok(Some(c))
    }

    /// Checks what can be checked without Discord.
    pub fn validate(&self) -> Result<()> {
        if self.token.as_deref().is_none_or(|t| t.trim().is_empty()) {
            return Err(Error::Config("`token` (PARLEY_DISCORD_TOKEN) is not set".into()));
        }
        for (key, var, value, required) in [
            ("application_id", ENV_VARS[1], &self.application_id, false),
            ("guild", ENV_VARS[2], &self.guild, false),
            ("channel", ENV_VARS[3], &self.channel, true),
            ("moderators_channel", ENV_VARS[4], &self.moderators_channel, true),
            ("commissioners_channel", ENV_VARS[5], &self.commissioners_channel, true),
        ] {
            match value.as_deref() {
                None if required => return Err(Error::Config(format!("`{key}` ({var}) is not set"))),
                None => {}
                Some(id) => {
                    parse_id(id).ok_or_else(|| {
                        Error::Config(format!("`{key}` ({var}) must be a Discord id (digits only), got {id:?}"))
                    })?;
                }
            }
        }
        for (key, list) in
            [("moderator_roles", &self.moderator_roles), ("commissioner_roles", &self.commissioner_roles)]
        {
            if let Some(bad) = list.iter().find(|r| parse_id(r).is_none()) {
                return Err(Error::Config(format!("`{key}`: {bad:?} is not a role id (digits only)")));
            }
        }
        if let Some(url) = &self.api_url {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(Error::Config(format!(
                    "`api_url` (PARLEY_DISCORD_API_URL) must start with https://, got {url:?}"
                )));
            }
        }
        Ok(())
    }

    /// The REST base address (without `/api/v10`).
    pub fn api_base(&self) -> String {
        self.api_url.as_deref().unwrap_or(DISCORD_API).trim_end_matches('/').trim_end_matches("/api").to_owned()
    }

    /// The hint for people who type in a discussion thread, or `None` when turned off.
    pub fn public_hint_text(&self) -> Option<String> {
        let hint = self.public_hint.as_deref().unwrap_or(DEFAULT_PUBLIC_HINT).trim();
        (!hint.is_empty()).then(|| hint.replace("{prefix}", &self.command_prefix))
    }
}

/// A snowflake from its decimal string.
pub(crate) fn parse_id(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok().filter(|id| *id != 0)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn nothing_configured_is_none() {
        assert!(Config::from_env_over(None, env(&[])).unwrap().is_none());
    }

    #[test]
    fn environment_wins_over_the_file() {
        let file: Config = toml_like(
            r#"{"token":"file-token","channel":"10","moderators_channel":"11","commissioners_channel":"12",
                "moderator_roles":"1, 2","discussion_threads":"forum"}"#,
        );
        let c = Config::from_env_over(
            Some(file),
            env(&[
                ("PARLEY_DISCORD_TOKEN", "env-token"),
                ("PARLEY_DISCORD_CHANNEL", " 20 "),
                ("PARLEY_DISCORD_COMMISSIONER_ROLES", "7 8,9"),
                ("PARLEY_DISCORD_GUILD", "  "),
            ]),
        )
        .unwrap()
        .unwrap();
        assert_eq!(c.token.as_deref(), Some("env-token"));
        assert_eq!(c.channel.as_deref(), Some("20"));
        assert_eq!(c.moderators_channel.as_deref(), Some("11"));
        assert_eq!(c.moderator_roles, ["1", "2"]);
        assert_eq!(c.commissioner_roles, ["7", "8", "9"]);
        assert_eq!(c.guild, None);
        assert_eq!(c.discussion_threads, DiscussionThreads::Forum);
        assert!(!format!("{c:?}").contains("env-token"));
    }

    #[test]
    fn environment_alone_is_enough() {
        let c = Config::from_env_over(
            None,
            env(&[
                ("PARLEY_DISCORD_TOKEN", "t"),
                ("PARLEY_DISCORD_CHANNEL", "1"),
                ("PARLEY_DISCORD_MODERATORS_CHANNEL", "2"),
                ("PARLEY_DISCORD_COMMISSIONERS_CHANNEL", "3"),
                ("PARLEY_DISCORD_API_URL", "http://127.0.0.1:9/"),
            ]),
        )
        .unwrap()
        .unwrap();
        assert_eq!(c.api_base(), "http://127.0.0.1:9");
        assert_eq!(c.discussion_threads, DiscussionThreads::Thread);
        assert!(c.public_hint_text().unwrap().contains("!help"));
    }

    #[test]
    fn problems_name_the_key() {
        let err = Config::from_env_over(None, env(&[("PARLEY_DISCORD_GUILD", "1")])).unwrap_err();
        assert!(err.to_string().contains("PARLEY_DISCORD_TOKEN"), "{err}");
        let err = Config::from_env_over(
            None,
            env(&[
                ("PARLEY_DISCORD_TOKEN", "t"),
                ("PARLEY_DISCORD_CHANNEL", "#talk"),
                ("PARLEY_DISCORD_MODERATORS_CHANNEL", "2"),
                ("PARLEY_DISCORD_COMMISSIONERS_CHANNEL", "3"),
            ]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("`channel`"), "{err}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(serde_json::from_str::<Config>(r#"{"tokn":"x"}"#).is_err());
    }

    fn toml_like(json: &str) -> Config {
        serde_json::from_str(json).unwrap()
    }
}
