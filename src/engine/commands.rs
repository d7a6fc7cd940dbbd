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
    /// `!summary SLUG`
    Summary(String),
    /// `!report #N REASON`
    Report {
        /// The post reported.
        number: PostNumber,
        /// Why.
        reason: String,
    },
    /// `!queue`
    Queue,
    /// `!approve #N`
    Approve(PostRef),
    /// `!reject #N REASON`
    Reject(PostRef, String),
    /// `!remove #N REASON`
    Remove(PostRef, String),
    /// `!mute #N DURATION`
    Mute(PostRef, String),
    /// `!ban #N`
    Ban(PostRef),
    /// `!unban PSEUDONYM@SLUG`
    Unban {
        /// The pseudonym.
        name: String,
        /// Its discussion.
        slug: String,
    },
    /// `!log`
    Log,
    /// A known command used the wrong way; the text says how to use it.
    Usage(&'static str),
    /// `!something` that parley does not know.
    Unknown(String),
    /// Text that is not a command.
    Text(String),
}

/// A post reference used by moderators: `#N` or `SLUG#N`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostRef {
    /// The discussion, when given.
    pub slug: Option<String>,
    /// The number.
    pub number: PostNumber,
}

impl PostRef {
    /// Parses `#3` or `gp-access#3`.
    pub fn parse(s: &str) -> Option<PostRef> {
        match s.split_once('#') {
            Some(("", n)) => PostNumber::parse(n).map(|number| PostRef { slug: None, number }),
            Some((slug, n)) => PostNumber::parse(n).map(|number| PostRef { slug: Some(slug.to_lowercase()), number }),
            None => None,
        }
    }
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
    /// `!summary`
    pub const SUMMARY: &str = "!summary SLUG — for example: !summary gp-access";
    /// `!report`
    pub const REPORT: &str = "!report #N REASON — for example: !report #4 it names a member of staff";
    /// `!approve`
    pub const APPROVE: &str = "!approve #N (or SLUG#N when several discussions have a #N)";
    /// `!reject`
    pub const REJECT: &str = "!reject #N REASON";
    /// `!remove`
    pub const REMOVE: &str = "!remove #N REASON";
    /// `!mute`
    pub const MUTE: &str = "!mute #N DURATION — for example: !mute #4 30m (s, m, h, d)";
    /// `!ban`
    pub const BAN: &str = "!ban #N";
    /// `!unban`
    pub const UNBAN: &str = "!unban PSEUDONYM@SLUG — for example: !unban Amber Otter@gp-access";
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
        "report" => {
            let (first, reason) = split_first(args);
            match PostNumber::parse(first) {
                Some(number) if !reason.is_empty() => Command::Report { number, reason: reason.to_string() },
                _ => Command::Usage(usage::REPORT),
            }
        }
        "queue" => Command::Queue,
        "log" => Command::Log,
        "approve" => match single_word(args).and_then(PostRef::parse) {
            Some(r) => Command::Approve(r),
            None => Command::Usage(usage::APPROVE),
        },
        "ban" => match single_word(args).and_then(PostRef::parse) {
            Some(r) => Command::Ban(r),
            None => Command::Usage(usage::BAN),
        },
        "reject" | "remove" | "mute" => {
            let (first, rest) = split_first(args);
            let how = match word_lc.as_str() {
                "reject" => usage::REJECT,
                "remove" => usage::REMOVE,
                _ => usage::MUTE,
            };
            match (PostRef::parse(first), rest.is_empty()) {
                (Some(r), false) => match word_lc.as_str() {
                    "reject" => Command::Reject(r, rest.to_string()),
                    "remove" => Command::Remove(r, rest.to_string()),
                    _ => Command::Mute(r, rest.to_string()),
                },
                _ => Command::Usage(how),
            }
        }
        "unban" => match args.rsplit_once('@') {
            Some((name, slug)) if !name.trim().is_empty() && !slug.trim().is_empty() => {
                Command::Unban { name: name.trim().to_string(), slug: slug.trim().to_lowercase() }
            }
            _ => Command::Usage(usage::UNBAN),
        },
        "summary" => match single_word(args) {
            Some(slug) => Command::Summary(slug.to_lowercase()),
            None => Command::Usage(usage::SUMMARY),
        },
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
        assert_eq!(parse("!reply #3 me too", "!"), Command::Reply { number: PostNumber(3), text: "me too".into() });
        assert_eq!(parse("!reply three me too", "!"), Command::Usage(usage::REPLY));
        assert_eq!(parse("!post hello there", "!"), Command::Post { text: "hello there".into() });
        assert_eq!(
            parse("!open pharmacy Using pharmacies | What works?", "!"),
            Command::Open {
                slug: "pharmacy".into(),
                title: "Using pharmacies".into(),
                prompt: Some("What works?".into())
            }
        );
        assert_eq!(parse("!open pharmacy", "!"), Command::Usage(usage::OPEN));
        assert_eq!(parse("!close gp-access", "!"), Command::Close("gp-access".into()));
        assert_eq!(parse("!frobnicate now", "!"), Command::Unknown("frobnicate".into()));
        assert_eq!(parse("!report #2 rude", "!"), Command::Report { number: PostNumber(2), reason: "rude".into() });
        assert_eq!(parse("!report #2", "!"), Command::Usage(usage::REPORT));
        assert_eq!(
            parse("!approve gp-access#3", "!"),
            Command::Approve(PostRef { slug: Some("gp-access".into()), number: PostNumber(3) })
        );
        assert_eq!(
            parse("!mute #3 30m", "!"),
            Command::Mute(PostRef { slug: None, number: PostNumber(3) }, "30m".into())
        );
        assert_eq!(parse("!remove #3", "!"), Command::Usage(usage::REMOVE));
        assert_eq!(
            parse("!unban Amber Otter@gp-access", "!"),
            Command::Unban { name: "Amber Otter".into(), slug: "gp-access".into() }
        );
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
