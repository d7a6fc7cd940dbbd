//! The adapter's configuration.

use std::fmt;

use serde::Deserialize;

use crate::{Error, Result};

/// Default power level from which a member of the moderators (commissioners) room counts as
/// a moderator (commissioner): Matrix's conventional "moderator" level.
pub const DEFAULT_POWER_LEVEL_THRESHOLD: i64 = 50;

/// How to reach the homeserver, who the bot is and which rooms are special.
///
/// Rooms may be given by id (`!abc:example.org`) or alias (`#nhs-talk:example.org`);
/// aliases are resolved when the adapter starts. Every other room the bot is in is a DM.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Homeserver URL (`https://matrix.example.org`) or server name (`example.org`, found
    /// through `.well-known`).
    pub homeserver: String,
    /// The bot's Matrix user id (`@parley:example.org`) or localpart.
    pub user: String,
    /// Password login. Used only on first start; the session is then restored from the data
    /// folder, so the bot keeps one device.
    #[serde(default)]
    pub password: Option<String>,
    /// Access-token login (instead of a password). The device id is looked up with
    /// `/whoami`.
    #[serde(default)]
    pub access_token: Option<String>,
    /// The public discussion room, where each discussion is one thread.
    pub room: String,
    /// The private moderators room.
    pub moderators_room: String,
    /// The private commissioners room.
    pub commissioners_room: String,
    /// User ids that are moderators wherever they write.
    #[serde(default)]
    pub moderators: Vec<String>,
    /// User ids that are commissioners wherever they write.
    #[serde(default)]
    pub commissioners: Vec<String>,
    /// Members of the moderators (commissioners) room with at least this power level there
    /// are moderators (commissioners) in that room. `None` turns power levels off, so that
    /// only the lists above count.
    #[serde(default = "default_threshold")]
    pub power_level_threshold: Option<i64>,
    /// Encrypts the local Matrix stores (state and crypto) with this passphrase.
    #[serde(default)]
    pub store_passphrase: Option<String>,
    /// Display name of the bot's device, shown to users who inspect its sessions.
    #[serde(default = "default_device_name")]
    pub device_name: String,
}

fn default_threshold() -> Option<i64> {
    Some(DEFAULT_POWER_LEVEL_THRESHOLD)
}

fn default_device_name() -> String {
    "parley".to_owned()
}

impl fmt::Debug for Config {
    // Secrets and user ids stay out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("homeserver", &self.homeserver)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .field("access_token", &self.access_token.as_ref().map(|_| "<hidden>"))
            .field("room", &self.room)
            .field("moderators_room", &self.moderators_room)
            .field("commissioners_room", &self.commissioners_room)
            .field("moderators", &self.moderators.len())
            .field("commissioners", &self.commissioners.len())
            .field("power_level_threshold", &self.power_level_threshold)
            .field("store_passphrase", &self.store_passphrase.as_ref().map(|_| "<hidden>"))
            .field("device_name", &self.device_name)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Reads the configuration from the environment:
    ///
    /// | variable | field |
    /// |---|---|
    /// | `PARLEY_MATRIX_HOMESERVER` | `homeserver` (required) |
    /// | `PARLEY_MATRIX_USER` | `user` (required) |
    /// | `PARLEY_MATRIX_PASSWORD` | `password` |
    /// | `PARLEY_MATRIX_ACCESS_TOKEN` | `access_token` (one of the two is required) |
    /// | `PARLEY_MATRIX_ROOM` | `room` (required) |
    /// | `PARLEY_MATRIX_MODERATORS_ROOM` | `moderators_room` (required) |
    /// | `PARLEY_MATRIX_COMMISSIONERS_ROOM` | `commissioners_room` (required) |
    /// | `PARLEY_MATRIX_MODERATORS` | `moderators`, separated by commas or spaces |
    /// | `PARLEY_MATRIX_COMMISSIONERS` | `commissioners`, separated by commas or spaces |
    /// | `PARLEY_MATRIX_POWER_LEVEL` | `power_level_threshold`: a number, or `none` |
    /// | `PARLEY_MATRIX_STORE_PASSPHRASE` | `store_passphrase` |
    /// | `PARLEY_MATRIX_DEVICE_NAME` | `device_name` |
    pub fn from_env() -> Result<Config> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`Config::from_env`], reading variables through `lookup` (for tests and for
    /// configuration layers that merge several sources).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let required = |name: &str| get(name).ok_or_else(|| Error::Config(format!("{name} is not set")));
        let list = |name: &str| {
            get(name)
                .map(|v| {
                    v.split(|c: char| c == ',' || c.is_whitespace())
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let power_level_threshold = match get("PARLEY_MATRIX_POWER_LEVEL") {
            None => default_threshold(),
            Some(v) if v.eq_ignore_ascii_case("none") => None,
            Some(v) => Some(
                v.parse()
                    .map_err(|_| Error::Config(format!("PARLEY_MATRIX_POWER_LEVEL is not a number or `none`: {v}")))?,
            ),
        };
        let config = Config {
            homeserver: required("PARLEY_MATRIX_HOMESERVER")?,
            user: required("PARLEY_MATRIX_USER")?,
            password: get("PARLEY_MATRIX_PASSWORD"),
            access_token: get("PARLEY_MATRIX_ACCESS_TOKEN"),
            room: required("PARLEY_MATRIX_ROOM")?,
            moderators_room: required("PARLEY_MATRIX_MODERATORS_ROOM")?,
            commissioners_room: required("PARLEY_MATRIX_COMMISSIONERS_ROOM")?,
            moderators: list("PARLEY_MATRIX_MODERATORS"),
            commissioners: list("PARLEY_MATRIX_COMMISSIONERS"),
            power_level_threshold,
            store_passphrase: get("PARLEY_MATRIX_STORE_PASSPHRASE"),
            device_name: get("PARLEY_MATRIX_DEVICE_NAME").unwrap_or_else(default_device_name),
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks what can be checked without the homeserver.
    pub fn validate(&self) -> Result<()> {
        if self.password.is_none() && self.access_token.is_none() {
            return Err(Error::Config("set a password or an access token for the Matrix bot account".into()));
        }
        for (what, room) in [
            ("room", &self.room),
            ("moderators_room", &self.moderators_room),
            ("commissioners_room", &self.commissioners_room),
        ] {
            if !(room.starts_with('!') || room.starts_with('#')) {
                return Err(Error::Config(format!("{what} must be a room id (!…) or an alias (#…), got {room}")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    const BASE: [(&str, &str); 6] = [
        ("PARLEY_MATRIX_HOMESERVER", "http://127.0.0.1:8008"),
        ("PARLEY_MATRIX_USER", "@parley:localhost"),
        ("PARLEY_MATRIX_PASSWORD", "secret"),
        ("PARLEY_MATRIX_ROOM", "#talk:localhost"),
        ("PARLEY_MATRIX_MODERATORS_ROOM", "!mods:localhost"),
        ("PARLEY_MATRIX_COMMISSIONERS_ROOM", "!comms:localhost"),
    ];

    #[test]
    fn reads_environment() {
        let mut vars = BASE.to_vec();
        vars.push(("PARLEY_MATRIX_MODERATORS", "@a:localhost, @b:localhost @c:localhost"));
        vars.push(("PARLEY_MATRIX_POWER_LEVEL", "75"));
        let config = Config::from_lookup(env(&vars)).unwrap();
        assert_eq!(config.moderators.len(), 3);
        assert_eq!(config.power_level_threshold, Some(75));
        assert!(config.commissioners.is_empty());
        assert_eq!(config.device_name, "parley");
        let debug = format!("{config:?}");
        assert!(!debug.contains("secret"));
    }

    #[test]
    fn power_level_can_be_turned_off() {
        let mut vars = BASE.to_vec();
        vars.push(("PARLEY_MATRIX_POWER_LEVEL", "none"));
        assert_eq!(Config::from_lookup(env(&vars)).unwrap().power_level_threshold, None);
    }

    #[test]
    fn missing_credentials_and_bad_rooms_are_refused() {
        let vars: Vec<_> = BASE.iter().copied().filter(|(k, _)| *k != "PARLEY_MATRIX_PASSWORD").collect();
        assert!(matches!(Config::from_lookup(env(&vars)), Err(Error::Config(_))));
        let mut vars = BASE.to_vec();
        vars[3] = ("PARLEY_MATRIX_ROOM", "talk");
        assert!(matches!(Config::from_lookup(env(&vars)), Err(Error::Config(_))));
    }

    #[test]
    fn deserializes_with_defaults() {
        let config: Config = serde_json::from_str(
            r#"{"homeserver":"http://h","user":"@b:h","access_token":"t",
                "room":"!r:h","moderators_room":"!m:h","commissioners_room":"!c:h"}"#,
        )
        .unwrap();
        assert_eq!(config.power_level_threshold, Some(50));
        config.validate().unwrap();
    }
}
