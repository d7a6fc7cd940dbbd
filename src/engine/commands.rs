//! Parsing chat text into commands. Pure: no storage, no policy.

use moderation::normalise::is_invisible;

use crate::ids::PostNumber;
use crate::limits::Act;

/// A parsed message, grouped by who may use it: the engine dispatches once on the group,
/// and each group's handler matches its own commands exhaustively.
///
/// Adding a command means adding a variant to its group, a parse rule in [`parse`] and a
/// handler arm; its log label comes from the variant's name and its rate-limit class from
/// [`Command::rate_class`] (one default per group).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Commands anyone may use, in any room.
    Anyone(Common),
    /// Commands for participants, in a direct message.
    Participant(ParticipantCommand),
    /// Commands for moderators, in the moderators' room.
    Moderator(ModeratorCommand),
    /// Commands for commissioners, in the commissioners' room.
    Commissioner(CommissionerCommand),
    /// A known command used the wrong way; the text says how to use it.
    Usage(&'static str),
    /// `!something` that parley does not know.
    Unknown(String),
}

/// Who a command is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Anyone, anywhere.
    Anyone,
    /// Participants, in a direct message.
    Participant,
    /// Moderators, in their room.
    Moderator,
    /// Commissioners, in their room.
    Commissioner,
}

/// Commands anyone may use.
#[derive(Debug, Clone, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum Common {
    /// `!help`
    Help,
    /// `!help all`
    HelpAll,
    /// `!topics`
    Topics,
}

/// Participant commands.
#[derive(Debug, Clone, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum ParticipantCommand {
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
    #[strum(serialize = "whoami")]
    WhoAmI,
    /// `!forget`
    Forget,
    /// `!report #N REASON`
    Report {
        /// The post reported.
        number: PostNumber,
        /// Why.
        reason: String,
    },
    /// `!survey` (start or resume) or `!survey stop` (abandon).
    Survey(SurveyAction),
    /// `!stop`: no more survey prompts or updates.
    Stop,
    /// `!start`: prompts and updates again.
    Start,
    /// Text that is not a command: a post in the current discussion, or the answer to the
    /// current survey question.
    Text(String),
}

/// What `!survey` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SurveyAction {
    /// `!survey`: start or resume.
    Resume,
    /// `!survey stop`: abandon the current survey.
    Stop,
    /// `!survey answer TEXT`: the answer to the question being asked, and never a post
    /// (what a button click sends; typing it works too).
    Answer(String),
}

/// Moderator commands.
#[derive(Debug, Clone, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum ModeratorCommand {
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
}

/// Commissioner commands.
#[derive(Debug, Clone, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum CommissionerCommand {
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
    /// `!push SURVEY SLUG`
    Push {
        /// The survey id.
        survey: String,
        /// The discussion whose participants are invited.
        slug: String,
    },
    /// `!update SLUG TEXT`: "you said, we did".
    Update {
        /// The discussion.
        slug: String,
        /// The update.
        text: String,
    },
    /// `!respond SLUG#N TEXT`: the organisation answers one post.
    Respond {
        /// The discussion.
        slug: String,
        /// The post.
        number: PostNumber,
        /// The answer.
        text: String,
    },
}

impl From<ParticipantCommand> for Command {
    fn from(c: ParticipantCommand) -> Command {
        Command::Participant(c)
    }
}

impl From<ModeratorCommand> for Command {
    fn from(c: ModeratorCommand) -> Command {
        Command::Moderator(c)
    }
}

impl From<CommissionerCommand> for Command {
    fn from(c: CommissionerCommand) -> Command {
        Command::Commissioner(c)
    }
}

impl Command {
    /// Who may use it.
    pub fn audience(&self) -> Audience {
        match self {
            Command::Anyone(_) | Command::Usage(_) | Command::Unknown(_) => Audience::Anyone,
            Command::Participant(_) => Audience::Participant,
            Command::Moderator(_) => Audience::Moderator,
            Command::Commissioner(_) => Audience::Commissioner,
        }
    }

    /// The rate-limit class a participant's message counts against, checked before it
    /// runs, whoever sends it and whatever becomes of it (a discussion's slow mode is
    /// checked when a post is made). `None` only for `!forget`, which is never refused.
    pub fn rate_class(&self) -> Option<Act> {
        match self {
            Command::Participant(ParticipantCommand::Post { .. } | ParticipantCommand::Text(_)) => Some(Act::Post),
            Command::Participant(ParticipantCommand::Reply { .. }) => Some(Act::Reply),
            Command::Participant(ParticipantCommand::Report { .. }) => Some(Act::Report),
            Command::Participant(ParticipantCommand::Forget) => None,
            _ => Some(Act::Command),
        }
    }

    /// A short label for logs (never any of the message's text).
    pub fn label(&self) -> &'static str {
        match self {
            Command::Anyone(c) => c.into(),
            Command::Participant(c) => c.into(),
            Command::Moderator(c) => c.into(),
            Command::Commissioner(c) => c.into(),
            Command::Usage(_) => "usage",
            Command::Unknown(_) => "unknown",
        }
    }

    /// Participant text that crisis detection must read first, whatever happens next.
    pub fn participant_text(&self) -> Option<&str> {
        match self {
            Command::Participant(
                ParticipantCommand::Text(t)
                | ParticipantCommand::Post { text: t }
                | ParticipantCommand::Reply { text: t, .. },
            ) => Some(t),
            Command::Participant(ParticipantCommand::Report { reason, .. }) => Some(reason),
            Command::Participant(ParticipantCommand::Survey(SurveyAction::Answer(text))) => Some(text),
            _ => None,
        }
    }
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
    /// `!survey`
    pub const SURVEY: &str =
        "!survey to start or carry on a survey, !survey stop to leave it, !survey answer TEXT to answer its question";
    /// `!push`
    pub const PUSH: &str = "!push SURVEY SLUG — for example: !push gp-experience gp-access";
    /// `!update`
    pub const UPDATE: &str = "!update SLUG TEXT — for example: !update gp-access You said the 8am queue was too long; \
                              from Monday you can book online from 7am";
    /// `!respond`
    pub const RESPOND: &str =
        "!respond SLUG#N TEXT — for example: !respond gp-access#3 Thank you, we have passed this on";
    /// `!unban`
    pub const UNBAN: &str = "!unban PSEUDONYM@SLUG — for example: !unban Amber Otter@gp-access";
}

/// Presentation selectors (VS15, VS16), which a phone keyboard types after an emoji such
/// as ‼ and an emoji picker pastes with it.
const PRESENTATION: [char; 2] = ['\u{FE0E}', '\u{FE0F}'];

/// `text` after the command prefix, when it starts with it: each of the prefix's characters
/// may be followed by a presentation selector, typed or not, as the prefix's own are.
fn after_prefix<'t>(text: &'t str, prefix: &str) -> Option<&'t str> {
    let mut rest = text;
    for p in prefix.chars().filter(|c| !PRESENTATION.contains(c)) {
        rest = rest.strip_prefix(p)?.trim_start_matches(PRESENTATION);
    }
    Some(rest)
}

/// Parses one message. `prefix` is the command prefix, usually `!`.
pub fn parse(text: &str, prefix: &str) -> Command {
    use CommissionerCommand as C;
    use ModeratorCommand as M;
    use ParticipantCommand as P;
    let trimmed = text.trim();
    // Invisible characters (a zero-width space some keyboards add, bidi marks around a
    // pasted word) show nothing, so a command reads as it looks: `\u{200B}!forget` and
    // `!forget\u{200B}` are `!forget`, `!join \u{2066}gp-access\u{2069}` joins gp-access.
    // Those that shape emoji and scripts (inside an emoji sequence, as in 👩‍⚕️; between
    // Persian letters) stay in a command's text as they do in published text
    // (`render::inert`); none can stay inside a command word or a slug, which are ASCII.
    let shown = trimmed.trim_start_matches(|c: char| c.is_whitespace() || is_invisible(c));
    if after_prefix(shown, prefix).is_none() {
        return Command::Participant(P::Text(trimmed.to_string()));
    }
    let shown = moderation::normalise::without_invisible(shown);
    let Some(rest) = after_prefix(&shown, prefix) else {
        return Command::Participant(P::Text(trimmed.to_string()));
    };
    let rest = rest.trim_end();
    let (word, args) = match rest.find(char::is_whitespace) {
        Some(i) => (&rest[..i], rest[i..].trim()),
        None => (rest, ""),
    };
    let word_lc = word.to_lowercase();
    let usage = Command::Usage;
    match word_lc.as_str() {
        "help" if args.eq_ignore_ascii_case("all") => Command::Anyone(Common::HelpAll),
        "help" => Command::Anyone(Common::Help),
        "topics" => Command::Anyone(Common::Topics),
        "whoami" => Command::Participant(P::WhoAmI),
        "forget" => Command::Participant(P::Forget),
        "stop" if args.is_empty() => Command::Participant(P::Stop),
        "start" if args.is_empty() => Command::Participant(P::Start),
        "survey" => match args.to_lowercase().as_str() {
            "" | "start" | "resume" => Command::Participant(P::Survey(SurveyAction::Resume)),
            "stop" => Command::Participant(P::Survey(SurveyAction::Stop)),
            _ => match args.split_once(char::is_whitespace) {
                Some((word, answer)) if word.eq_ignore_ascii_case("answer") && !answer.trim().is_empty() => {
                    Command::Participant(P::Survey(SurveyAction::Answer(answer.trim().to_string())))
                }
                _ => usage(usage::SURVEY),
            },
        },
        "push" => match args.split_whitespace().collect::<Vec<_>>().as_slice() {
            [survey, slug] => {
                Command::Commissioner(C::Push { survey: survey.to_lowercase(), slug: slug.to_lowercase() })
            }
            _ => usage(usage::PUSH),
        },
        "update" => {
            let (slug, text) = split_first(args);
            if slug.is_empty() || text.is_empty() {
                usage(usage::UPDATE)
            } else {
                Command::Commissioner(C::Update { slug: slug.to_lowercase(), text: text.to_string() })
            }
        }
        "respond" => match ref_and_rest(args) {
            Some((PostRef { slug: Some(slug), number }, text)) => {
                Command::Commissioner(C::Respond { slug, number, text })
            }
            _ => usage(usage::RESPOND),
        },
        "join" => match single_word(args) {
            Some(slug) => Command::Participant(P::Join(slug.to_lowercase())),
            None => usage(usage::JOIN),
        },
        "post" => Command::Participant(P::Post { text: args.to_string() }),
        "reply" => {
            let (first, text) = split_first(args);
            match PostNumber::parse(first) {
                Some(number) => Command::Participant(P::Reply { number, text: text.to_string() }),
                None => usage(usage::REPLY),
            }
        }
        "report" => {
            let (first, reason) = split_first(args);
            match PostNumber::parse(first) {
                Some(number) if !reason.is_empty() => {
                    Command::Participant(P::Report { number, reason: reason.to_string() })
                }
                _ => usage(usage::REPORT),
            }
        }
        "open" => {
            let (slug, rest) = split_first(args);
            let (title, prompt) = match rest.split_once('|') {
                Some((t, p)) => (t.trim(), Some(p.trim().to_string()).filter(|p| !p.is_empty())),
                None => (rest.trim(), None),
            };
            if slug.is_empty() || title.is_empty() {
                usage(usage::OPEN)
            } else {
                Command::Commissioner(C::Open { slug: slug.to_lowercase(), title: title.to_string(), prompt })
            }
        }
        "summary" => match single_word(args) {
            Some(slug) => Command::Commissioner(C::Summary(slug.to_lowercase())),
            None => usage(usage::SUMMARY),
        },
        "close" => match single_word(args) {
            Some(slug) => Command::Commissioner(C::Close(slug.to_lowercase())),
            None => usage(usage::CLOSE),
        },
        "queue" => Command::Moderator(M::Queue),
        "log" => Command::Moderator(M::Log),
        "approve" => match single_word(args).and_then(PostRef::parse) {
            Some(r) => Command::Moderator(M::Approve(r)),
            None => usage(usage::APPROVE),
        },
        "ban" => match single_word(args).and_then(PostRef::parse) {
            Some(r) => Command::Moderator(M::Ban(r)),
            None => usage(usage::BAN),
        },
        "reject" => match ref_and_rest(args) {
            Some((r, why)) => Command::Moderator(M::Reject(r, why)),
            None => usage(usage::REJECT),
        },
        "remove" => match ref_and_rest(args) {
            Some((r, why)) => Command::Moderator(M::Remove(r, why)),
            None => usage(usage::REMOVE),
        },
        "mute" => match ref_and_rest(args) {
            Some((r, how_long)) => Command::Moderator(M::Mute(r, how_long)),
            None => usage(usage::MUTE),
        },
        "unban" => match args.rsplit_once('@') {
            Some((name, slug)) if !name.trim().is_empty() && !slug.trim().is_empty() => {
                Command::Moderator(M::Unban { name: name.trim().to_string(), slug: slug.trim().to_lowercase() })
            }
            _ => usage(usage::UNBAN),
        },
        _ => Command::Unknown(word.chars().take(40).collect()),
    }
}

/// `#N TEXT` with both parts present.
fn ref_and_rest(args: &str) -> Option<(PostRef, String)> {
    let (first, rest) = split_first(args);
    match PostRef::parse(first) {
        Some(r) if !rest.is_empty() => Some((r, rest.to_string())),
        _ => None,
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
    use CommissionerCommand as C;
    use ModeratorCommand as M;
    use ParticipantCommand as P;

    #[test]
    fn parses_commands() {
        assert_eq!(parse("!help", "!"), Command::Anyone(Common::Help));
        assert_eq!(parse("  !TOPICS ", "!"), Command::Anyone(Common::Topics));
        assert_eq!(parse("!join GP-Access", "!"), P::Join("gp-access".into()).into());
        assert_eq!(parse("!join", "!"), Command::Usage(usage::JOIN));
        assert_eq!(parse("!join a b", "!"), Command::Usage(usage::JOIN));
        assert_eq!(parse("!reply #3 me too", "!"), P::Reply { number: PostNumber(3), text: "me too".into() }.into());
        assert_eq!(parse("!reply three me too", "!"), Command::Usage(usage::REPLY));
        assert_eq!(parse("!post hello there", "!"), P::Post { text: "hello there".into() }.into());
        assert_eq!(
            parse("!open pharmacy Using pharmacies | What works?", "!"),
            C::Open { slug: "pharmacy".into(), title: "Using pharmacies".into(), prompt: Some("What works?".into()) }
                .into()
        );
        assert_eq!(parse("!open pharmacy", "!"), Command::Usage(usage::OPEN));
        assert_eq!(parse("!close gp-access", "!"), C::Close("gp-access".into()).into());
        assert_eq!(parse("!frobnicate now", "!"), Command::Unknown("frobnicate".into()));
        assert_eq!(parse("!report #2 rude", "!"), P::Report { number: PostNumber(2), reason: "rude".into() }.into());
        assert_eq!(parse("!report #2", "!"), Command::Usage(usage::REPORT));
        assert_eq!(
            parse("!approve gp-access#3", "!"),
            M::Approve(PostRef { slug: Some("gp-access".into()), number: PostNumber(3) }).into()
        );
        assert_eq!(
            parse("!mute #3 30m", "!"),
            M::Mute(PostRef { slug: None, number: PostNumber(3) }, "30m".into()).into()
        );
        assert_eq!(parse("!remove #3", "!"), Command::Usage(usage::REMOVE));
        assert_eq!(
            parse("!unban Amber Otter@gp-access", "!"),
            M::Unban { name: "Amber Otter".into(), slug: "gp-access".into() }.into()
        );
        assert_eq!(parse("just text", "!"), P::Text("just text".into()).into());
        assert_eq!(parse("?help", "?"), Command::Anyone(Common::Help));
        assert_eq!(parse("!survey", "!"), P::Survey(SurveyAction::Resume).into());
        assert_eq!(parse("!survey STOP", "!"), P::Survey(SurveyAction::Stop).into());
        assert_eq!(parse("!survey answer 1,3", "!"), P::Survey(SurveyAction::Answer("1,3".into())).into());
        assert_eq!(
            parse("!survey Answer  Phone mostly ", "!"),
            P::Survey(SurveyAction::Answer("Phone mostly".into())).into()
        );
        assert!(matches!(parse("!survey answer", "!"), Command::Usage(_)));
        assert_eq!(parse("!stop", "!"), P::Stop.into());
        assert_eq!(parse("!start", "!"), P::Start.into());
        assert_eq!(
            parse("!push gp-experience gp-access", "!"),
            C::Push { survey: "gp-experience".into(), slug: "gp-access".into() }.into()
        );
        assert_eq!(parse("!push gp-experience", "!"), Command::Usage(usage::PUSH));
        assert_eq!(
            parse("!update gp-access We now open at 7am", "!"),
            C::Update { slug: "gp-access".into(), text: "We now open at 7am".into() }.into()
        );
        assert_eq!(
            parse("!respond gp-access#3 Thank you", "!"),
            C::Respond { slug: "gp-access".into(), number: PostNumber(3), text: "Thank you".into() }.into()
        );
        assert_eq!(parse("!respond #3 Thank you", "!"), Command::Usage(usage::RESPOND));
    }

    #[test]
    fn invisible_characters_do_not_hide_a_command() {
        for text in
            ["\u{200B}!forget", "!forget\u{200B}", "!for\u{2060}get", "\u{FEFF} !forget \u{200D}", "!\u{200E}forget"]
        {
            assert_eq!(parse(text, "!"), P::Forget.into(), "{text:?}");
        }
        assert_eq!(parse("!join \u{2066}GP-access\u{2069}", "!"), P::Join("gp-access".into()).into());
        assert_eq!(
            parse("!approve \u{200B}gp-access#3\u{200B}", "!"),
            M::Approve(PostRef { slug: Some("gp-access".into()), number: PostNumber(3) }).into()
        );
        assert_eq!(
            parse("\u{200B}!post \u{2066}gp-access\u{2069} fine", "!"),
            P::Post { text: "gp-access fine".into() }.into()
        );
        // Text that is not a command is kept as written.
        assert_eq!(parse("\u{200B}hello", "!"), P::Text("\u{200B}hello".into()).into());
        assert_eq!(parse("\u{200B}", "!"), P::Text("\u{200B}".into()).into());
    }

    #[test]
    fn splits_an_explicit_slug() {
        let known = |s: &str| s == "gp-access";
        assert_eq!(split_post_slug("gp-access it was fine", known), (Some("gp-access"), "it was fine"));
        assert_eq!(split_post_slug("it was fine", known), (None, "it was fine"));
        assert_eq!(split_post_slug("gp-access", known), (None, "gp-access"));
    }
}
