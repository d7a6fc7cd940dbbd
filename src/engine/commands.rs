//! Parsing chat text into commands. Pure: no storage, no policy.

use crate::ids::PostNumber;

/// A parsed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `!help`
    Help,
    /// `!topics`
    Topics,
    /// `!join SLUG`
    Join(String),
    /// `!post [SLUG] TEXT`; the engine decides whether the first word is a slug.
    Post {
        /// The whole text after `!post`.
        text: String,
    },
    /// `!reply #N TEXT`
    Reply {
        /// The post answered.
        number: PostNumber,
        /// The reply.
        text: String,
    },
    /// `!whoami`
    WhoAmI,
    /// `!forget`
    Forget,
    /// `!open SLUG TITLE [| PROMPT]`
    Open {
        /// Slug.
        slug: String,
        /// Title.
        title: String,
        /// Prompt, when given after `|`.
        prompt: Option<String>,
    },
    /// `!close SLUG`
    Close(String),
    /// A known command used the wrong way; the text says how to use it.
    Usage(&'static str),
    /// `!something` that parley does not know.
    Unknown(String),
    /// Text that is not a command.
    Text(String),
}

/// How each command is used, for refusals and help.
pub mod usage {
    /// `!join`
    pub const JOIN: &str = "!join SLUG — for example: !join gp-access (send !topics to see the slugs)";
    /// `!post`
    pub const POST: &str = "!post TEXT, or !post SLUG TEXT";
    /// `!reply`
    pub const REPLY: &str = "!reply #N TEXT — for example: !reply #3 I had the same experience";
    /// `!open`
    pub const OPEN: &str = "!open SLUG TITLE — for example: !open pharmacy Using your local pharmacy \
                            (add \"| PROMPT\" to set the question)";
    /// `!close`
    pub const CLOSE: &str = "!close SLUG — for example: !close gp-access";
}

/// Parses one message. `prefix` is the command prefix, usually `!`.
pub fn parse(text: &str, prefix: &str) -> Command {
    let trimmed = text.trim();
    let Some(rest) = trimmed.strip_prefix(prefix) else {
        return Command::Text(trimmed.to_string());
    };
    let (word, args) = match rest.find(char::is_whitespace) {
        Some(i) => (&rest[..i], rest[i..].trim()),
        None => (rest, ""),
    };
    let word_lc = word.to_lowercase();
    match word_lc.as_str() {
        "help" => Command::Help,
        "topics" => Command::Topics,
        "whoami" => Command::WhoAmI,
        "forget" => Command::Forget,
        "join" => match single_word(args) {
            Some(slug) => Command::Join(slug.to_lowercase()),
            None => Command::Usage(usage::JOIN),
        },
        "post" => Command::Post { text: args.to_string() },
        "reply" => {
            let (first, text) = split_first(args);
            match PostNumber::parse(first) {
                Some(number) => Command::Reply { number, text: text.to_string() },
                None => Command::Usage(usage::REPLY),
            }
        }
        "open" => {
            let (slug, rest) = split_first(args);
            let (title, prompt) = match rest.split_once('|') {
                Some((t, p)) => (t.trim(), Some(p.trim().to_string()).filter(|p| !p.is_empty())),
                None => (rest.trim(), None),
            };
            if slug.is_empty() || title.is_empty() {
                Command::Usage(usage::OPEN)
            } else {
                Command::Open { slug: slug.to_lowercase(), title: title.to_string(), prompt }
            }
        }
        "close" => match single_word(args) {
            Some(slug) => Command::Close(slug.to_lowercase()),
            None => Command::Usage(usage::CLOSE),
        },
        _ => Command::Unknown(word.chars().take(40).collect()),
    }
}

fn split_first(s: &str) -> (&str, &str) {
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], s[i..].trim()),
        None => (s, ""),
    }
}

fn single_word(s: &str) -> Option<&str> {
    let (first, rest) = split_first(s);
    (!first.is_empty() && rest.is_empty()).then_some(first)
}

/// Splits `!post` text into an explicit slug and the text, when the first word is one of
/// `known_slugs`.
pub fn split_post_slug(text: &str, is_slug: impl Fn(&str) -> bool) -> (Option<&str>, &str) {
    let (first, rest) = split_first(text);
    if !rest.is_empty() && is_slug(&first.to_lowercase()) {
        (Some(first), rest)
    } else {
        (None, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands() {
        assert_eq!(parse("!help", "!"), Command::Help);
        assert_eq!(parse("  !TOPICS ", "!"), Command::Topics);
        assert_eq!(parse("!join GP-Access", "!"), Command::Join("gp-access".into()));
        assert_eq!(parse("!join", "!"), Command::Usage(usage::JOIN));
        assert_eq!(parse("!join a b", "!"), Command::Usage(usage::JOIN));
        assert_eq!(
            parse("!reply #3 me too", "!"),
            Command::Reply { number: PostNumber(3), text: "me too".into() }
        );
        assert_eq!(parse("!reply three me too", "!"), Command::Usage(usage::REPLY));
        assert_eq!(parse("!post hello there", "!"), Command::Post { text: "hello there".into() });
        assert_eq!(
            parse("!open pharmacy Using pharmacies | What works?", "!"),
            Command::Open { slug: "pharmacy".into(), title: "Using pharmacies".into(), prompt: Some("What works?".into()) }
        );
        assert_eq!(parse("!open pharmacy", "!"), Command::Usage(usage::OPEN));
        assert_eq!(parse("!close gp-access", "!"), Command::Close("gp-access".into()));
        assert_eq!(parse("!frobnicate now", "!"), Command::Unknown("frobnicate".into()));
        assert_eq!(parse("just text", "!"), Command::Text("just text".into()));
        assert_eq!(parse("?help", "?"), Command::Help);
    }

    #[test]
    fn splits_an_explicit_slug() {
        let known = |s: &str| s == "gp-access";
        assert_eq!(split_post_slug("gp-access it was fine", known), (Some("gp-access"), "it was fine"));
        assert_eq!(split_post_slug("it was fine", known), (None, "it was fine"));
        assert_eq!(split_post_slug("gp-access", known), (None, "gp-access"));
    }
}
