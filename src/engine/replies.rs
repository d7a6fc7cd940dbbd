//! Everything the bot says, in plain language, in one place.
//!
//! The engine decides *what* to say as values — a [`Reply`] or [`Refusal`] to the sender, a
//! [`Notice`] to a participant, an [`Alert`] to the moderators, a [`ThreadMessage`] in a
//! public thread — and this module alone turns them into text, with the configured command
//! prefix ([`Voice`]).

use std::time::Duration;

use crate::ids::PostNumber;
use crate::limits::human_duration;
use crate::store::{AuditEntry, DestKind, Discussion, PostStatus, QueuedPost};

use super::render;

/// What the rendering needs from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Voice<'a> {
    /// The command prefix, usually `!`.
    pub prefix: &'a str,
    /// Shown the first time a participant joins a discussion.
    pub privacy_notice: &'a str,
}

/// Why a participant's or staff member's request was not carried out. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// An unknown slug.
    NoSuchDiscussion(String),
    /// A closed discussion (its slug).
    Closed(String),
    /// Not in a discussion yet.
    NotJoined,
    /// Banned by the moderators.
    Banned,
    /// Muted for this much longer.
    Muted(Duration),
    /// Rate limited: wait this long.
    SlowDown(Duration),
    /// Muted automatically for flooding, for this long.
    FloodMuted(Duration),
    /// An empty post.
    EmptyPost,
    /// A post over the limit.
    TooLong {
        /// Its length in characters.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A post that does not exist (or is not visible) in a discussion.
    NoSuchPost {
        /// The number given.
        number: PostNumber,
        /// The discussion.
        slug: String,
        /// What the participant wanted to do with it.
        purpose: Purpose,
    },
    /// Refused by moderation, with the reason to show.
    Refused(String),
    /// This participant reported that post before.
    AlreadyReported(PostNumber),
    /// A commissioner command from someone else.
    CommissionersOnly,
    /// A moderator command from someone else.
    ModeratorsOnly,
    /// A participant command in a staff room.
    UseADm,
    /// A known command used the wrong way: how to use it.
    Usage(&'static str),
    /// An unknown command word.
    UnknownCommand(String),
}

/// What a participant wanted to do with a post number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// `!reply`
    Reply,
    /// `!report`
    Report,
}

/// Which help text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelpFor {
    /// A participant in a DM: the everyday commands, in plain words, with examples.
    Participant,
    /// A participant asking for everything (`!help all`).
    ParticipantAll,
    /// The commissioners' room.
    Commissioner,
    /// The moderators' room, for someone without the moderator role.
    ModeratorRoom,
    /// The moderators' room, for a moderator.
    Moderator,
}

/// A participant's post that was accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    /// Its `#N`.
    pub number: PostNumber,
    /// Its discussion.
    pub slug: String,
    /// The author's made-up name there.
    pub pseudonym: String,
    /// Held for a moderator rather than published.
    pub held: bool,
    /// What was redacted, in words ("a phone number"), if anything.
    pub redacted: Option<String>,
}

/// An answer to whoever sent the inbound message.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Nothing was done, and why.
    Refusal(Refusal),
    /// `!help`.
    Help(HelpFor),
    /// The privacy notice on its own (before a first post sent without `!join`).
    PrivacyNotice,
    /// `!topics`: the open discussions.
    Topics(Vec<Discussion>),
    /// After `!join`.
    Joined {
        /// The discussion joined.
        discussion: Discussion,
        /// The participant's made-up name there.
        pseudonym: String,
        /// Show the privacy notice first (the first join).
        notice: bool,
    },
    /// Plain text before joining a discussion.
    TextWithoutDiscussion,
    /// `!whoami`.
    WhoAmI {
        /// The current discussion.
        slug: String,
        /// The made-up name there.
        pseudonym: String,
    },
    /// `!forget` done; posts unlinked.
    Forgotten(u64),
    /// A post accepted.
    Posted(Posted),
    /// A report passed to the moderators.
    Reported {
        /// The post reported.
        number: PostNumber,
        /// Its discussion.
        slug: String,
    },
    /// The private reply to someone who may be in crisis.
    CrisisSignposting,
    /// An internal error, without details.
    InternalError,
    /// `!queue`.
    Queue(Vec<QueuedPost>),
    /// `!log`.
    Log(Vec<AuditEntry>),
    /// The result of a moderator command.
    Moderation(ModerationReply),
    /// The result of a commissioner command.
    Commissioning(CommissionReply),
    /// A survey invitation (after a first post or `!join`).
    SurveyInvitation(SurveyInvite),
    /// One survey question.
    SurveyQuestion(QuestionPrompt),
    /// The last question is answered.
    SurveyDone(String),
    /// `!survey` with no survey waiting.
    NoSurvey,
    /// An answer (a click on an old question's buttons) with no survey question open.
    NoQuestionOpen,
    /// `!survey stop` done (the survey's title).
    SurveyStopped(String),
    /// `!stop` done.
    PromptsStopped,
    /// `!start` done.
    PromptsStarted,
}

/// An invitation to a survey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveyInvite {
    /// The survey's title.
    pub title: String,
    /// Its introduction.
    pub intro: String,
    /// How many questions.
    pub questions: usize,
}

/// One question, as asked in a DM.
#[derive(Debug, Clone)]
pub struct QuestionPrompt {
    /// The survey's title and introduction, shown before the first question asked.
    pub heading: Option<(String, String)>,
    /// 1-based.
    pub number: usize,
    /// Questions in all.
    pub of: usize,
    /// The question.
    pub question: crate::surveys::SurveyQuestion,
    /// Why the last answer was not taken, when re-asking.
    pub again: Option<crate::surveys::Invalid>,
}

/// Results of moderator commands. Targets read `SLUG#N`; people read `PSEUDONYM@SLUG`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModerationReply {
    /// `SLUG#N` does not exist.
    NoPostIn(String, PostNumber),
    /// `#N` exists nowhere.
    NoPostAnywhere(PostNumber),
    /// `#N` vanished while looking it up.
    NoPost(PostNumber),
    /// Several discussions have a `#N`: the choices.
    Ambiguous(PostNumber, Vec<String>),
    /// Approve on a post that is neither held nor hidden.
    NotWaitingForReview(String),
    /// Approved.
    Approved(String),
    /// Reject on a post that is not held.
    NotHeld(String),
    /// Rejected.
    Rejected(String),
    /// Remove on a post that is not published.
    NotPublished(String),
    /// Removed.
    Removed(String),
    /// The author used `!forget`, so no sanction can reach them through this post.
    AuthorForgotten(Sanction),
    /// Muted for a while.
    Muted(String, Duration),
    /// Banned.
    Banned(String),
    /// Nobody by that name in that discussion.
    NobodyCalled(String, String),
    /// Every sanction lifted.
    Unbanned(String),
}

/// A sanction, for [`ModerationReply::AuthorForgotten`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sanction {
    /// `!mute`
    Mute,
    /// `!ban`
    Ban,
}

/// Results of commissioner commands.
#[derive(Debug, Clone)]
pub enum CommissionReply {
    /// A slug that cannot be used, and why.
    BadSlug(String, String),
    /// Already open.
    AlreadyOpen(String),
    /// Opened (or reopened).
    Opened(Discussion),
    /// Already closed.
    AlreadyClosed(String),
    /// Closed.
    Closed(String),
    /// A summary, already rendered for chat.
    Summary(String),
    /// No survey with that id.
    NoSuchSurvey(String),
    /// `!push` of a survey that is not linked to the discussion: nothing was done.
    SurveyNotLinked {
        /// The survey.
        survey: String,
        /// The discussion asked for.
        slug: String,
        /// The discussions the survey is linked to.
        linked: Vec<String>,
    },
    /// `!push` accepted: invitations go out in batches.
    Pushing {
        /// The survey.
        survey: String,
        /// The discussion.
        slug: String,
    },
    /// A push has been worked through: survey id or "update", slug, messages queued.
    PushDone(String, String, i64),
    /// `!update` accepted.
    UpdateQueued(String),
    /// `!respond` done.
    Responded(String, PostNumber),
    /// `!respond` to a post that is not published.
    NotPublished(String, PostNumber),
}

/// A message to a participant about something that happened to them or their post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// Their held or hidden post is published.
    Approved(PostNumber, String),
    /// Their held post was refused (slug, reason).
    Rejected(String, String),
    /// Their post was removed (number, slug, reason).
    Removed(PostNumber, String, String),
    /// Muted for a while.
    Muted(Duration),
    /// Banned.
    Banned,
    /// Sanctions lifted.
    Unbanned,
    /// A survey invitation pushed by a commissioner.
    SurveyInvitation(SurveyInvite),
    /// "You said, we did": the discussion's title and the update.
    Update(String, String),
    /// The organisation answered their post (number, slug).
    Responded(PostNumber, String),
}

/// A message to the moderators' room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Alert {
    /// Possible crisis: its kind, the discussion if any, and the (redacted) text.
    Crisis {
        /// `suicide`, `self_harm`...
        kind: String,
        /// The participant's current discussion.
        slug: Option<String>,
        /// The redacted text (an excerpt is shown).
        text: String,
        /// Crisis messages from the same participant not alerted separately since the
        /// last alert.
        earlier: u32,
    },
    /// A post held for review.
    Held {
        /// Its discussion.
        slug: String,
        /// Its number.
        number: PostNumber,
        /// The author's made-up name.
        pseudonym: String,
        /// The redacted text.
        body: String,
        /// Why it was held.
        why: String,
    },
    /// A report on a post.
    Report {
        /// Its discussion.
        slug: String,
        /// Its number.
        number: PostNumber,
        /// Distinct reporters so far.
        count: i64,
        /// Reporters that hide a post.
        threshold: i64,
        /// The reporter's reason.
        reason: String,
        /// The post's text.
        body: String,
        /// It has just been hidden.
        hidden: bool,
    },
    /// A participant was muted automatically for flooding.
    Flood(Duration),
    /// A message was set aside: the platform refused it, or it failed every attempt.
    SetAside {
        /// Where it was going.
        kind: DestKind,
        /// The platform, as stored.
        platform: String,
        /// The attempts made, when it failed that often (`None`: refused outright).
        attempts: Option<i64>,
    },
}

/// A message in a discussion's public thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThreadMessage {
    /// The thread's root: title, prompt, how to take part.
    Root(Discussion),
    /// The discussion closed.
    Closed,
    /// A published post.
    Post {
        /// Its number.
        number: PostNumber,
        /// The author's made-up name.
        pseudonym: String,
        /// The post it answers.
        parent: Option<PostNumber>,
        /// The (redacted) text.
        body: String,
    },
    /// A "you said, we did" update from the organisation.
    Update(String),
    /// The organisation's answer to a post.
    Response {
        /// The post answered.
        number: PostNumber,
        /// The answer.
        body: String,
    },
}

impl From<Refusal> for Reply {
    fn from(r: Refusal) -> Reply {
        Reply::Refusal(r)
    }
}

impl From<Result<Posted, Refusal>> for Reply {
    fn from(r: Result<Posted, Refusal>) -> Reply {
        match r {
            Ok(posted) => Reply::Posted(posted),
            Err(refusal) => Reply::Refusal(refusal),
        }
    }
}

impl From<ModerationReply> for Reply {
    fn from(r: ModerationReply) -> Reply {
        Reply::Moderation(r)
    }
}

impl From<CommissionReply> for Reply {
    fn from(r: CommissionReply) -> Reply {
        Reply::Commissioning(r)
    }
}

impl Voice<'_> {
    /// The text of an answer.
    pub fn reply(&self, reply: &Reply) -> String {
        let p = self.prefix;
        match reply {
            Reply::Refusal(r) => self.refusal(r),
            Reply::Help(who) => self.help(*who),
            Reply::PrivacyNotice => self.privacy_notice.to_string(),
            Reply::Topics(discussions) => {
                if discussions.is_empty() {
                    return "There are no open discussions at the moment. Please check again later.".into();
                }
                let mut out = String::from("Open discussions:");
                for d in discussions {
                    let (title, prompt) = (moderation::one_line(&d.title), moderation::one_line(&d.prompt));
                    out.push_str(&format!("\n{} — {}: {}", d.slug, render::inert(&title), render::inert(&prompt)));
                }
                out.push_str(&format!("\nSend {p}join SLUG to take part."));
                out
            }
            Reply::Joined { discussion: d, pseudonym, notice } => {
                let mut text = String::new();
                if *notice {
                    text.push_str(self.privacy_notice);
                    text.push_str("\n\n");
                }
                text.push_str(&format!(
                    "You have joined \"{}\" ({}) as {pseudonym}.\n{}\nAnything you type now is posted there \
                     anonymously. Use {p}reply #N TEXT to answer a post.",
                    d.slug, d.title, d.prompt
                ));
                text
            }
            Reply::TextWithoutDiscussion => format!(
                "Hello! To take part, send {p}topics to see the discussions, then {p}join SLUG. \
                 Send {p}help for everything you can do."
            ),
            Reply::WhoAmI { slug, pseudonym } => {
                format!("In \"{slug}\" you appear as {pseudonym}. Your name is different in every discussion.")
            }
            Reply::Forgotten(posts) => format!(
                "Done. We erased your contact details and unlinked {posts} post(s) from you. Your posts stay in the \
                 discussion under their made-up names, but nothing connects them to you any more. If you message us \
                 again, you start afresh with new names."
            ),
            Reply::Posted(posted) => posted_text(posted),
            Reply::Reported { number, slug } => {
                format!("Thank you. Your report about {number} in \"{slug}\" has been passed to the moderators.")
            }
            Reply::CrisisSignposting => crisis_signposting(),
            Reply::InternalError => {
                "Sorry, something went wrong on our side and nothing was changed. Please try again in a minute.".into()
            }
            Reply::Queue(queue) => queue_text(queue),
            Reply::Log(entries) => log_text(entries),
            Reply::Moderation(m) => self.moderation(m),
            Reply::Commissioning(c) => self.commissioning(c),
            Reply::SurveyInvitation(invite) => self.invitation(invite),
            Reply::SurveyQuestion(q) => question_text(q, p),
            Reply::SurveyDone(title) => format!(
                "Thank you — that's the end of \"{title}\". Your answers are stored without your name or account; \
                 {p}forget erases them."
            ),
            Reply::NoSurvey => "There is no survey waiting for you at the moment. Thank you for checking!".into(),
            Reply::NoQuestionOpen => format!(
                "That survey question is no longer open, so nothing was recorded (and nothing was posted). Send \
                 {p}survey to see if there is one waiting for you."
            ),
            Reply::SurveyStopped(title) => format!(
                "You've left \"{title}\". Your answers so far are kept (send {p}forget to erase them). Send {p}survey \
                 to carry on where you stopped."
            ),
            Reply::PromptsStopped => format!(
                "Done: you won't get survey invitations or updates from us any more. Send {p}start to change your \
                 mind."
            ),
            Reply::PromptsStarted => {
                format!("Done: you'll get survey invitations and updates again. Send {p}stop at any time.")
            }
        }
    }

    fn invitation(&self, i: &SurveyInvite) -> String {
        let p = self.prefix;
        let mut out = format!("Could you help us with a short survey? \"{}\" — {} question(s).", i.title, i.questions);
        if !i.intro.trim().is_empty() {
            out.push('\n');
            out.push_str(i.intro.trim());
        }
        out.push_str(&format!(
            "\nSend {p}survey to start; you can stop at any time with {p}survey stop. Send {p}stop to get no more \
             invitations or updates."
        ));
        out
    }

    /// The text of a refusal.
    pub fn refusal(&self, refusal: &Refusal) -> String {
        let p = self.prefix;
        match refusal {
            Refusal::NoSuchDiscussion(slug) => {
                format!("There is no discussion called \"{slug}\". Send {p}topics to see the open ones.")
            }
            Refusal::Closed(slug) => format!(
                "The discussion \"{slug}\" is closed, so it doesn't take new posts. Send {p}topics to see the open ones."
            ),
            Refusal::NotJoined => {
                format!("You haven't joined a discussion yet. Send {p}topics to see them, then {p}join SLUG.")
            }
            Refusal::Banned => "The moderators have stopped you from posting in these discussions. If you think this \
                                is a mistake, please contact the organisation running the discussion."
                .into(),
            Refusal::Muted(wait) => format!(
                "The moderators have paused your posting for now. You can post again in {}.",
                human_duration(*wait)
            ),
            Refusal::SlowDown(wait) => format!(
                "You're sending messages quickly. Please wait {} and try again; nothing was posted.",
                human_duration(*wait)
            ),
            Refusal::FloodMuted(wait) => format!(
                "You've sent a lot of messages in a short time, so posting is paused for {}. The moderators have been \
                 told.",
                human_duration(*wait)
            ),
            Refusal::EmptyPost => {
                "Your post is empty, so nothing was posted. Type your message after the command.".into()
            }
            Refusal::TooLong { len, max } => format!(
                "Your post is {len} characters long; the limit is {max}. Nothing was posted — please shorten it or \
                 split it in two."
            ),
            Refusal::NoSuchPost { number, slug, purpose } => {
                let what = match purpose {
                    Purpose::Reply => "to reply to",
                    Purpose::Report => "to report",
                };
                format!("There is no post {number} in \"{slug}\" {what}. Check the number and try again.")
            }
            Refusal::Refused(why) => format!("Your post was not published: {why}. Please rephrase it and try again."),
            Refusal::AlreadyReported(number) => {
                format!("You have already reported {number}; the moderators have it.")
            }
            Refusal::CommissionersOnly => "Only commissioners can do that, from the commissioners' room.".into(),
            Refusal::ModeratorsOnly => "Only moderators can do that, from the moderators' room.".into(),
            Refusal::UseADm => {
                "Please use a direct message with me for that, so that participation stays anonymous.".into()
            }
            Refusal::Usage(how) => {
                format!("That command needs a bit more. Use it like this: {}", how.replace('!', p))
            }
            Refusal::UnknownCommand(word) => {
                format!("I don't know the command {p}{word}. Send {p}help to see what you can do.")
            }
        }
    }

    fn help(&self, who: HelpFor) -> String {
        let p = self.prefix;
        match who {
            HelpFor::Participant => format!(
                "You can take part in NHS discussions here without anyone seeing who you are. Others see only a \
                 made-up name.\n\
                 To see what is being discussed, send: {p}topics\n\
                 To choose a discussion, send {p}join and its short name, for example: {p}join gp-access\n\
                 Then just type your message and send it. It is shared under your made-up name.\n\
                 Each message gets a number, like #3. To answer message 3, send: {p}reply #3 I agree with this\n\
                 If a message is unkind or unsafe, tell the moderators: {p}report #3 it names a nurse\n\
                 To post in another discussion without joining it first: {p}post urgent-care The wait was 6 hours\n\
                 To see your made-up name: {p}whoami\n\
                 To remove your contact details and unlink everything you wrote from you: {p}forget\n\
                 For every command in one list, send: {p}help all"
            ),
            HelpFor::ParticipantAll => format!(
                "All participant commands:\n\
                 {p}help — how to take part; {p}help all — this list\n\
                 {p}topics — the open discussions\n\
                 {p}join SLUG — choose a discussion (for example {p}join gp-access)\n\
                 TEXT, or {p}post TEXT — post in your discussion\n\
                 {p}post SLUG TEXT — post in discussion SLUG (it becomes your discussion)\n\
                 {p}reply #N TEXT — answer post #N\n\
                 {p}report #N REASON — tell the moderators about post #N\n\
                 {p}whoami — your made-up name in this discussion\n\
                 {p}survey — start or carry on a survey you were invited to ({p}survey stop to leave it)\n\
                 {p}stop — no more survey invitations or updates ({p}start to have them again)\n\
                 {p}forget — erase your contact details and survey answers, and unlink your posts from you"
            ),
            HelpFor::Commissioner => format!(
                "Commissioner commands:\n\
                 {p}topics — open discussions\n\
                 {p}open SLUG TITLE | PROMPT — open a discussion (or reopen a closed one)\n\
                 {p}close SLUG — close a discussion\n\
                 {p}summary SLUG — themes, sentiment, quotes, survey results and participation\n\
                 {p}push SURVEY SLUG — invite everyone who took part in a discussion to a survey\n\
                 {p}update SLUG TEXT — \"you said, we did\": to the thread and every participant, as the organisation\n\
                 {p}respond SLUG#N TEXT — answer post N in its thread, as the organisation"
            ),
            HelpFor::ModeratorRoom => {
                format!(
                    "Moderator commands are used here, in the moderators' room. {p}topics lists the open discussions."
                )
            }
            HelpFor::Moderator => format!(
                "Moderator commands (posts as #N, or SLUG#N when several discussions have a #N):\n\
                 {p}queue — held and hidden posts\n\
                 {p}approve #N — publish a held post or restore a hidden one\n\
                 {p}reject #N REASON — refuse a held post\n\
                 {p}remove #N REASON — take a published post down everywhere\n\
                 {p}mute #N DURATION — pause its author's posting (30m, 2h, 1d)\n\
                 {p}ban #N — stop its author posting\n\
                 {p}unban PSEUDONYM@SLUG — lift a ban or mute\n\
                 {p}log — the latest moderation actions"
            ),
        }
    }

    fn moderation(&self, m: &ModerationReply) -> String {
        let p = self.prefix;
        match m {
            ModerationReply::NoPostIn(slug, number) => format!("There is no post {slug}#{}.", number.0),
            ModerationReply::NoPostAnywhere(number) => format!("There is no post {number} in any discussion."),
            ModerationReply::NoPost(number) => format!("There is no post {number}."),
            ModerationReply::Ambiguous(number, options) => {
                format!("Several discussions have a post {number}. Which one? {}", options.join(", "))
            }
            ModerationReply::NotWaitingForReview(target) => format!("{target} is not waiting for review."),
            ModerationReply::Approved(target) => format!("Approved {target}; it is published on every mirror."),
            ModerationReply::NotHeld(target) => {
                format!("{target} is not held; use {p}remove to take down a published or hidden post.")
            }
            ModerationReply::Rejected(target) => format!("Rejected {target}."),
            ModerationReply::NotPublished(target) => format!("{target} is not published."),
            ModerationReply::Removed(target) => format!("Removed {target} from every mirror."),
            ModerationReply::AuthorForgotten(sanction) => {
                let what = match sanction {
                    Sanction::Mute => "muted",
                    Sanction::Ban => "banned",
                };
                format!("The author of that post asked to be forgotten, so they can't be {what} through it.")
            }
            ModerationReply::Muted(who, duration) => format!("Muted {who} for {}.", human_duration(*duration)),
            ModerationReply::Banned(who) => format!("Banned {who}. Use {p}unban {who} to lift it."),
            ModerationReply::NobodyCalled(name, slug) => format!("Nobody is called {name} in \"{slug}\"."),
            ModerationReply::Unbanned(who) => format!("Lifted every sanction on {who}."),
        }
    }

    fn commissioning(&self, c: &CommissionReply) -> String {
        let p = self.prefix;
        match c {
            CommissionReply::BadSlug(slug, why) => format!("\"{slug}\" can't be used as a slug: {why}."),
            CommissionReply::AlreadyOpen(slug) => format!("\"{slug}\" is already open."),
            CommissionReply::Opened(d) => {
                format!("Opened \"{}\": {}. Participants can now send {p}join {}.", d.slug, d.title, d.slug)
            }
            CommissionReply::AlreadyClosed(slug) => format!("\"{slug}\" is already closed."),
            CommissionReply::Closed(slug) => {
                format!("Closed \"{slug}\". It no longer takes posts; everything said stays available for summaries.")
            }
            CommissionReply::Summary(text) => text.clone(),
            CommissionReply::NoSuchSurvey(id) => format!("There is no survey called \"{id}\" in the configuration."),
            CommissionReply::SurveyNotLinked { survey, slug, linked } => {
                let quoted: Vec<String> = linked.iter().map(|s| format!("\"{s}\"")).collect();
                let what_to_do = match quoted.as_slice() {
                    [] => "It isn't linked to any discussion: add the discussion to the survey's `discussions` in \
                           the configuration first."
                        .to_string(),
                    [one] => format!(
                        "It is linked to {one} only: send {p}push {survey} {} to invite its participants.",
                        linked[0]
                    ),
                    _ => format!(
                        "It is linked to {}: send {p}push {survey} with one of those to invite its participants.",
                        quoted.join(", ")
                    ),
                };
                format!("The survey \"{survey}\" isn't linked to \"{slug}\", so nobody was invited. {what_to_do}")
            }
            CommissionReply::Pushing { survey, slug } => format!(
                "Inviting the participants of \"{slug}\" to \"{survey}\". Invitations go out in batches, paced for \
                 each platform; nobody is asked twice and nobody who sent {p}stop is asked. You'll be told when it's \
                 done."
            ),
            CommissionReply::PushDone(what, slug, sent) => {
                format!("Finished sending \"{what}\" to the participants of \"{slug}\": {sent} participant(s) reached.")
            }
            CommissionReply::UpdateQueued(slug) => format!(
                "Your update is posted in the \"{slug}\" thread as the organisation, and is going to every participant \
                 who has not opted out."
            ),
            CommissionReply::Responded(slug, number) => {
                format!("Your answer is posted under {slug}#{} as the organisation.", number.0)
            }
            CommissionReply::NotPublished(slug, number) => {
                format!("There is no published post {slug}#{} to answer.", number.0)
            }
        }
    }

    /// The text of a notice to a participant.
    pub fn notice(&self, notice: &Notice) -> String {
        match notice {
            Notice::Approved(number, slug) => {
                format!("Your post {number} in \"{slug}\" has been approved and is now published.")
            }
            Notice::Rejected(slug, why) => {
                format!("Your post to \"{slug}\" was not published by the moderators. Reason: {}", render::inert(why))
            }
            Notice::Removed(number, slug, why) => format!(
                "Your post {number} in \"{slug}\" was removed by the moderators. Reason: {}",
                render::inert(why)
            ),
            Notice::Muted(duration) => {
                format!("The moderators have paused your posting for {}.", human_duration(*duration))
            }
            Notice::Banned => self.refusal(&Refusal::Banned),
            Notice::Unbanned => "The moderators have lifted the pause on your posting.".into(),
            Notice::SurveyInvitation(invite) => self.invitation(invite),
            Notice::Update(title, body) => format!(
                "You said, we did — an update from the organisation running \"{title}\":\n{}\n(Send {}stop to get no \
                 more updates or invitations.)",
                render::inert(body),
                self.prefix
            ),
            Notice::Responded(number, slug) => {
                format!(
                    "The organisation running \"{slug}\" has answered your post {number} in the discussion's thread."
                )
            }
        }
    }

    /// The text of an alert to the moderators.
    pub fn alert(&self, alert: &Alert) -> String {
        let p = self.prefix;
        match alert {
            Alert::Crisis { kind, slug, text, earlier } => {
                let place = match slug {
                    Some(slug) => format!("from a participant in \"{slug}\""),
                    None => "from a participant".to_string(),
                };
                let mut alert = format!(
                    "URGENT — possible crisis ({kind}) in a message {place}. They have been sent crisis signposting \
                     privately. Text: {}",
                    render::inert(&excerpt(text, ALERT_EXCERPT_CHARS))
                );
                if *earlier > 0 {
                    alert.push_str(&format!(
                        "\nThe same participant sent {earlier} more message(s) like this since the last alert; each \
                         was answered with signposting."
                    ));
                }
                alert
            }
            Alert::Held { slug, number, pseudonym, body, why } => format!(
                "Held for review: {slug}#{n} by {pseudonym}: {}\nWhy: {why}\nUse {p}approve {slug}#{n} or {p}reject \
                 {slug}#{n} REASON.",
                render::inert(body),
                n = number.0
            ),
            Alert::Report { slug, number, count, threshold, reason, body, hidden } => {
                let mut alert = format!(
                    "Report on {slug}#{} ({count} of {threshold} needed to hide it): {}\nPost: {}",
                    number.0,
                    render::inert(reason),
                    render::inert(body)
                );
                if *hidden {
                    alert.push_str(&format!(
                        "\nIt is now hidden from every mirror pending review: {p}approve {slug}#{n} to restore it, or \
                         {p}remove {slug}#{n} REASON.",
                        n = number.0
                    ));
                }
                alert
            }
            Alert::SetAside { kind, platform, attempts } => {
                let what = match kind {
                    DestKind::Direct => "a participant's direct messages",
                    DestKind::Thread => "a discussion thread",
                    DestKind::Moderators => "the moderators' room",
                    DestKind::Commissioners => "the commissioners' room",
                };
                let why = match attempts {
                    Some(n) => format!("failed {n} times"),
                    None => "was refused by the platform".to_string(),
                };
                format!(
                    "A message for {what} on {platform} {why} and has been set aside; it will not be retried. \
                     parley's log has the details."
                )
            }
            Alert::Flood(mute) => format!(
                "A participant sent a flood of messages and was muted automatically for {}. The messages over the \
                 rate limit were not published; posts sent before they reached it are up as usual.",
                human_duration(*mute)
            ),
        }
    }

    /// The text of a message in a public thread.
    pub fn thread(&self, message: &ThreadMessage) -> String {
        match message {
            // Commissioners' words are made inert too: a title must not ping a room either.
            ThreadMessage::Root(d) => format!(
                "{} — {}\n{}\nTake part anonymously: send me a direct message with {}join {}",
                d.slug,
                render::inert(&moderation::one_line(&d.title)),
                render::inert(&d.prompt),
                self.prefix,
                d.slug
            ),
            ThreadMessage::Closed => "This discussion is now closed. Thank you to everyone who took part.".into(),
            // The organisation's words, labelled; one line, like posts.
            ThreadMessage::Update(body) => format!(
                "UPDATE FROM THE ORGANISATION (not anonymous) — you said, we did: {}",
                render::inert(&moderation::one_line(body))
            ),
            ThreadMessage::Response { number, body } => format!(
                "RESPONSE FROM THE ORGANISATION (not anonymous) to {number}: {}",
                render::inert(&moderation::one_line(body))
            ),
            // Always exactly one line, so that no post can forge a `#N Name:` line.
            ThreadMessage::Post { number, pseudonym, parent, body } => {
                let body = render::inert(&moderation::one_line(body));
                match parent {
                    Some(parent) => format!("{number} {pseudonym}, replying to {parent}: {body}"),
                    None => format!("{number} {pseudonym}: {body}"),
                }
            }
        }
    }
}

/// A survey question with how to answer it: choices as numbered lines `N. choice` (which
/// an adapter may also offer as buttons that send the number).
fn question_text(q: &QuestionPrompt, p: &str) -> String {
    use crate::surveys::{Invalid, QuestionKind};
    let mut out = String::new();
    if let Some(again) = q.again {
        out.push_str(&match again {
            Invalid::NotAChoice(n) => {
                format!("Sorry, that isn't one of the answers. Please send a number from 1 to {n}.")
            }
            Invalid::NotOnScale => "Sorry, please send a whole number from 1 to 5.".into(),
            Invalid::Empty => "Sorry, I didn't get an answer.".into(),
            Invalid::TooLong(len, max) => format!("Sorry, that answer is {len} characters long; the limit is {max}."),
            Invalid::Required => "This question needs an answer, so it can't be skipped.".into(),
        });
        out.push('\n');
    }
    if let Some((title, intro)) = &q.heading {
        out.push_str(&format!("Survey: {title}\n"));
        if !intro.trim().is_empty() {
            out.push_str(intro.trim());
            out.push('\n');
        }
    }
    let question = &q.question;
    let optional = if question.required { String::new() } else { " (optional — send skip to leave it out)".into() };
    out.push_str(&format!("Question {} of {}{optional}:\n{}", q.number, q.of, question.text.trim()));
    match question.kind() {
        QuestionKind::Single | QuestionKind::Multiple => {
            for (i, c) in question.choices.iter().enumerate() {
                out.push_str(&format!("\n{}. {}", i + 1, c.trim()));
            }
            if question.kind() == QuestionKind::Single {
                out.push_str("\nSend the number of your answer.");
            } else {
                out.push_str("\nSend the numbers of every answer that applies, for example 1,3.");
            }
        }
        QuestionKind::Scale => {
            let low = question.low_label.as_deref().unwrap_or("lowest");
            let high = question.high_label.as_deref().unwrap_or("highest");
            out.push_str(&format!("\nSend a number from 1 ({low}) to 5 ({high})."));
        }
        QuestionKind::Text => {
            out.push_str(&format!("\nType your answer (up to {} characters).", question.max_chars()));
        }
    }
    out.push_str(&format!("\n({p}survey stop to leave the survey.)"));
    out
}

/// The most of a participant's text an alert quotes.
const ALERT_EXCERPT_CHARS: usize = 500;

/// `text` cut to `max` characters, with "…" when it was cut.
fn excerpt(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((cut, _)) => format!("{}…", &text[..cut]),
    }
}

fn posted_text(p: &Posted) -> String {
    let Posted { number, slug, pseudonym, held, redacted } = p;
    match (held, redacted) {
        (false, None) => format!("Posted as {number} in \"{slug}\" under your made-up name {pseudonym}."),
        (false, Some(what)) => format!(
            "Posted as {number} in \"{slug}\" under your made-up name {pseudonym}. To protect you, we removed {what} \
             before it was stored or shown."
        ),
        (true, redacted) => {
            let mut out = format!("Thank you. Your post to \"{slug}\" will appear once a moderator has reviewed it.");
            if let Some(what) = redacted {
                out.push_str(&format!(" To protect you, we removed {what} before it was stored."));
            }
            out
        }
    }
}

fn crisis_signposting() -> String {
    "It sounds like things are really hard right now. You don't have to face this alone — please reach out now:\n\
     • If you are in immediate danger or have harmed yourself, call 999 or go to A&E.\n\
     • NHS 111: call 111 and choose the mental health option (option 2) for urgent help, day or night.\n\
     • Samaritans: call 116 123, free, any time.\n\
     • Shout: text SHOUT to 85258 for free, confidential text support.\n\
     Our moderators have been told so that someone can check on your post. Nobody will see who you are."
        .into()
}

fn queue_text(queue: &[QueuedPost]) -> String {
    if queue.is_empty() {
        return "The review queue is empty.".into();
    }
    let mut out = format!("{} post(s) waiting for review:", queue.len());
    for q in queue {
        let state = match q.post.status {
            PostStatus::Hidden => format!("hidden after {} reports", q.reports),
            _ => "held".to_string(),
        };
        let why = if q.reasons.is_empty() { String::new() } else { format!(" — {}", q.reasons) };
        out.push_str(&format!(
            "\n{}#{} ({state}{why}) {}: {}",
            q.slug,
            q.post.number.0,
            q.post.pseudonym,
            render::inert(&q.post.body)
        ));
    }
    out
}

fn log_text(entries: &[AuditEntry]) -> String {
    if entries.is_empty() {
        return "No moderation actions yet.".into();
    }
    let mut out = String::from("Latest moderation actions:");
    for e in entries {
        let when = crate::report::format_utc_minute(e.at);
        let why = if e.reason.is_empty() { String::new() } else { format!(" — {}", render::inert(&e.reason)) };
        out.push_str(&format!("\n{when} {} {} {}{why}", e.actor, e.action, e.target));
    }
    out
}

/// The kinds of personal data removed from a post, in words: "a phone number and an email
/// address".
pub fn redaction_summary(redactions: &[moderation::Redaction]) -> String {
    let mut kinds: Vec<&str> = redactions
        .iter()
        .map(|r| match r.kind {
            moderation::PersonalData::NhsNumber => "an NHS number",
            moderation::PersonalData::Phone => "a phone number",
            moderation::PersonalData::Email => "an email address",
            moderation::PersonalData::Postcode => "a postcode",
            moderation::PersonalData::DateOfBirth => "a date of birth",
            moderation::PersonalData::Name => "a name",
            moderation::PersonalData::StaffName => "a member of staff's name",
            moderation::PersonalData::Address => "an address",
        })
        .collect();
    kinds.dedup();
    match kinds.len() {
        0 => "personal details".into(),
        1 => kinds[0].into(),
        _ => {
            let last = kinds.pop().unwrap_or("personal details");
            format!("{} and {last}", kinds.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_times() {
        assert_eq!(crate::report::format_utc_minute(0), "1970-01-01 00:00 UTC");
        assert_eq!(crate::report::format_utc_minute(1_700_000_000_000), "2023-11-14 22:13 UTC");
    }

    #[test]
    fn usage_follows_the_prefix() {
        let voice = super::Voice { prefix: "?", privacy_notice: "" };
        let text = voice.refusal(&super::Refusal::Usage(super::super::commands::usage::JOIN));
        assert!(text.contains("?join gp-access") && !text.contains('!'), "{text}");
    }
}
