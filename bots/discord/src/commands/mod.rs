//! The participant slash commands, in the shape of serenity's examples: each module
//! registers and runs itself, and [`to_text`] is the one dispatcher that maps a command to
//! the core's text command. No rule lives here: the core decides what the text means.

use serenity::builder::CreateCommand;
use serenity::model::application::{ResolvedOption, ResolvedValue};

/// A command option's value, as the commands need it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// A string option.
    Text(&'a str),
    /// An integer option.
    Number(i64),
}

/// A command option: its name and value.
pub type Opt<'a> = (&'a str, Value<'a>);

/// The options of a received command, as [`to_text`] takes them.
pub fn options<'a>(resolved: &[ResolvedOption<'a>]) -> Vec<Opt<'a>> {
    resolved
        .iter()
        .filter_map(|o| match o.value {
            ResolvedValue::String(s) => Some((o.name, Value::Text(s))),
            ResolvedValue::Integer(n) => Some((o.name, Value::Number(n))),
            _ => None,
        })
        .collect()
}

mod forget;
mod help;
mod join;
mod post;
mod reply;
mod report;
mod survey;
mod topics;
mod whoami;

/// Every command, as registered with Discord on start.
pub fn all() -> Vec<CreateCommand> {
    vec![
        help::register(),
        topics::register(),
        join::register(),
        post::register(),
        reply::register(),
        report::register(),
        survey::register(),
        whoami::register(),
        forget::register(),
    ]
}

/// The text command (`!join gp-access`) that slash command `name` with `options` stands for;
/// `None` for a command parley does not know or that lacks a required option.
pub fn to_text(name: &str, options: &[Opt<'_>], prefix: &str) -> Option<String> {
    let text = match name {
        "help" => help::run(options),
        "topics" => topics::run(options),
        "join" => join::run(options),
        "post" => post::run(options),
        "reply" => reply::run(options),
        "report" => report::run(options),
        "survey" => survey::run(options),
        "whoami" => whoami::run(options),
        "forget" => forget::run(options),
        _ => None,
    }?;
    Some(format!("{prefix}{text}"))
}

/// A string option, trimmed and on one line.
fn text(options: &[Opt<'_>], name: &str) -> Option<String> {
    options.iter().find(|o| o.0 == name).and_then(|o| match o.1 {
        Value::Text(s) => {
            let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
            (!s.is_empty()).then_some(s)
        }
        _ => None,
    })
}

/// An integer option.
fn number(options: &[Opt<'_>], name: &str) -> Option<i64> {
    options.iter().find(|o| o.0 == name).and_then(|o| match o.1 {
        Value::Number(n) => Some(n),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opt<'a>(name: &'a str, value: Value<'a>) -> Opt<'a> {
        (name, value)
    }

    #[test]
    fn commands_become_text_with_the_prefix() {
        assert_eq!(to_text("topics", &[], "!").as_deref(), Some("!topics"));
        assert_eq!(
            to_text("join", &[opt("discussion", Value::Text(" gp-access "))], "?").as_deref(),
            Some("?join gp-access")
        );
        let reply = [opt("post", Value::Number(3)), opt("text", Value::Text("me  too"))];
        assert_eq!(to_text("reply", &reply, "!").as_deref(), Some("!reply #3 me too"));
        let post = [opt("text", Value::Text("hello")), opt("discussion", Value::Text("x"))];
        assert_eq!(to_text("post", &post, "!").as_deref(), Some("!post x hello"));
        assert_eq!(to_text("join", &[], "!"), None);
        assert_eq!(to_text("ban", &[], "!"), None);
        assert_eq!(to_text("survey", &[], "!").as_deref(), Some("!survey"));
        assert_eq!(to_text("survey", &[opt("action", Value::Text("stop"))], "!").as_deref(), Some("!survey stop"));
    }

    #[test]
    fn every_command_is_registered_and_dispatched() {
        let names: Vec<String> = all()
            .iter()
            .map(|c| {
                serde_json::to_value(c).ok().and_then(|v| v["name"].as_str().map(str::to_owned)).unwrap_or_default()
            })
            .collect();
        assert_eq!(names.len(), 9);
        for name in names {
            let known = !matches!(name.as_str(), "join" | "post" | "reply" | "report");
            assert_eq!(to_text(&name, &[], "!").is_some(), known, "{name}");
        }
    }
}
