//! Everything the bot says, in plain language, in one place.

use crate::store::Discussion;

/// `!help` for a participant.
pub fn help_participant(prefix: &str) -> String {
    format!(
        "parley lets you take part anonymously in NHS discussions. Nobody sees your account name.\n\
         {p}topics — see the open discussions\n\
         {p}join SLUG — choose a discussion (for example {p}join gp-access)\n\
         then just type your message to post it, or {p}post TEXT\n\
         {p}reply #N TEXT — answer post #N\n\
         {p}whoami — your made-up name in this discussion\n\
         {p}forget — erase your contact details and unlink your posts from you",
        p = prefix
    )
}

/// `!help` in the commissioners' room.
pub fn help_commissioner(prefix: &str) -> String {
    format!(
        "Commissioner commands:\n\
         {p}topics — open discussions\n\
         {p}open SLUG TITLE | PROMPT — open a discussion (or reopen a closed one)\n\
         {p}close SLUG — close a discussion\n\
         {p}summary SLUG — themes, sentiment and quotes from a discussion",
        p = prefix
    )
}

/// `!help` in the moderators' room.
pub fn help_moderator(prefix: &str) -> String {
    format!(
        "Moderator commands are used here, in the moderators' room. {p}topics lists the open discussions.",
        p = prefix
    )
}

/// `!topics`.
pub fn topics(discussions: &[Discussion], prefix: &str) -> String {
    if discussions.is_empty() {
        return "There are no open discussions at the moment. Please check again later.".into();
    }
    let mut out = String::from("Open discussions:");
    for d in discussions {
        out.push_str(&format!("\n{} — {}: {}", d.slug, d.title, d.prompt));
    }
    out.push_str(&format!("\nSend {prefix}join SLUG to take part."));
    out
}

/// An unknown slug.
pub fn no_such_discussion(slug: &str, prefix: &str) -> String {
    format!("There is no discussion called \"{slug}\". Send {prefix}topics to see the open ones.")
}

/// A closed discussion.
pub fn closed(d: &Discussion, prefix: &str) -> String {
    format!(
        "The discussion \"{}\" is closed, so it doesn't take new posts. Send {prefix}topics to see the open ones.",
        d.slug
    )
}

/// After `!join`.
pub fn joined(d: &Discussion, pseudonym: &str, prefix: &str) -> String {
    format!(
        "You have joined \"{}\" ({}) as {pseudonym}.\n{}\nAnything you type now is posted there anonymously. \
         Use {prefix}reply #N TEXT to answer a post.",
        d.slug, d.title, d.prompt
    )
}

/// Not in a discussion yet.
pub fn not_joined(prefix: &str) -> String {
    format!("You haven't joined a discussion yet. Send {prefix}topics to see them, then {prefix}join SLUG.")
}

/// Empty post.
pub fn empty_post() -> String {
    "Your post is empty, so nothing was posted. Type your message after the command.".into()
}

/// Over-long post.
pub fn too_long(len: usize, max: usize) -> String {
    format!(
        "Your post is {len} characters long; the limit is {max}. Nothing was posted — please shorten it or split it in two."
    )
}

/// A post that does not exist (or is not visible).
pub fn no_such_post(number: crate::ids::PostNumber, slug: &str) -> String {
    format!("There is no post {number} in \"{slug}\" to reply to. Check the number and try again.")
}

/// Confirmation of a published post.
pub fn posted(number: crate::ids::PostNumber, slug: &str, pseudonym: &str) -> String {
    format!("Posted as {number} in \"{slug}\" under your made-up name {pseudonym}.")
}

/// A post redacted before publication.
pub fn posted_redacted(number: crate::ids::PostNumber, slug: &str, pseudonym: &str, what: &str) -> String {
    format!(
        "Posted as {number} in \"{slug}\" under your made-up name {pseudonym}. To protect you, we removed {what} \
         before it was stored or shown."
    )
}

/// A post held for review.
pub fn held(slug: &str) -> String {
    format!("Thank you. Your post to \"{slug}\" will appear once a moderator has reviewed it.")
}

/// A post refused by moderation.
pub fn refused(why: &str) -> String {
    format!("Your post was not published: {why}. Please rephrase it and try again.")
}

/// `!whoami`.
pub fn whoami(slug: &str, pseudonym: &str) -> String {
    format!("In \"{slug}\" you appear as {pseudonym}. Your name is different in every discussion.")
}

/// `!forget` done.
pub fn forgotten(posts: u64) -> String {
    format!(
        "Done. We erased your contact details and unlinked {posts} post(s) from you. Your posts stay in the \
         discussion under their made-up names, but nothing connects them to you any more. If you message us \
         again, you start afresh with new names."
    )
}

/// Plain text with nowhere to go.
pub fn text_without_discussion(prefix: &str) -> String {
    format!(
        "Hello! To take part, send {prefix}topics to see the discussions, then {prefix}join SLUG. \
         Send {prefix}help for everything you can do."
    )
}

/// Unknown command.
pub fn unknown_command(word: &str, prefix: &str) -> String {
    format!("I don't know the command {prefix}{word}. Send {prefix}help to see what you can do.")
}

/// Wrong use of a known command.
pub fn usage(how: &str) -> String {
    format!("That command needs a bit more. Use it like this: {how}")
}

/// Participant commands sent in a staff room.
pub fn use_a_dm() -> String {
    "Please use a direct message with me for that, so that participation stays anonymous.".into()
}

/// Commissioner commands from someone else.
pub fn commissioners_only() -> String {
    "Only commissioners can do that, from the commissioners' room.".into()
}

/// An internal error, without details.
pub fn internal_error() -> String {
    "Sorry, something went wrong on our side and nothing was changed. Please try again in a minute.".into()
}

/// The root of a discussion's thread.
pub fn thread_root(d: &Discussion, prefix: &str) -> String {
    format!(
        "{} — {}\n{}\nTake part anonymously: send me a direct message with {prefix}join {}",
        d.slug, d.title, d.prompt, d.slug
    )
}

/// Posted into a thread when its discussion closes.
pub fn thread_closed() -> String {
    "This discussion is now closed. Thank you to everyone who took part.".into()
}

/// The private reply to a participant in crisis. Always sent, whatever happens to the post.
pub fn crisis_signposting() -> String {
    "It sounds like things are really hard right now. You don't have to face this alone — please reach out now:\n\
     • If you are in immediate danger or have harmed yourself, call 999 or go to A&E.\n\
     • NHS 111: call 111 and choose the mental health option (option 2) for urgent help, day or night.\n\
     • Samaritans: call 116 123, free, any time.\n\
     • Shout: text SHOUT to 85258 for free, confidential text support.\n\
     Our moderators have been told so that someone can check on your post. Nobody will see who you are."
        .into()
}

/// A participant who is muted.
pub fn muted(wait: &str) -> String {
    format!("The moderators have paused your posting for now. You can post again in {wait}.")
}

/// A banned participant.
pub fn banned() -> String {
    "The moderators have stopped you from posting in these discussions. If you think this is a mistake, \
     please contact the organisation running the discussion."
        .into()
}

/// Rate limited.
pub fn slow_down(wait: &str) -> String {
    format!("You're sending messages quickly. Please wait {wait} and try again; nothing was posted.")
}

/// Flood: muted automatically.
pub fn flood_muted(wait: &str) -> String {
    format!("You've sent a lot of messages in a short time, so posting is paused for {wait}. The moderators have been told.")
}

/// Report received.
pub fn reported(number: crate::ids::PostNumber, slug: &str) -> String {
    format!("Thank you. Your report about {number} in \"{slug}\" has been passed to the moderators.")
}

/// Report already made.
pub fn already_reported(number: crate::ids::PostNumber) -> String {
    format!("You have already reported {number}; the moderators have it.")
}

/// Moderator commands from someone else.
pub fn moderators_only() -> String {
    "Only moderators can do that, from the moderators' room.".into()
}

/// `!help` in the moderators' room (replaces the short version).
pub fn help_moderator_full(prefix: &str) -> String {
    format!(
        "Moderator commands (posts as #N, or SLUG#N when several discussions have a #N):\n\
         {p}queue — held and hidden posts\n\
         {p}approve #N — publish a held post or restore a hidden one\n\
         {p}reject #N REASON — refuse a held post\n\
         {p}remove #N REASON — take a published post down everywhere\n\
         {p}mute #N DURATION — pause its author's posting (30m, 2h, 1d)\n\
         {p}ban #N — stop its author posting\n\
         {p}unban PSEUDONYM@SLUG — lift a ban or mute\n\
         {p}log — the latest moderation actions",
        p = prefix
    )
}
