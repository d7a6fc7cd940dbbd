//! Regression tests for the adversarial findings (issue "Hardening"): each test names the
//! class of attack it closes.
#![allow(clippy::unwrap_used)]

mod common;

use chat::{Action, Conversation, Core, Destination, Outcome, Platform};
use common::{lines_for, TestBot};
use parley::config::Config;

async fn joined(bot: &TestBot, names: &[&str]) {
    bot.drain().await;
    for n in names {
        bot.say(n, "!join gp-access").await;
    }
}

/// Delivers every thread root due on `platform`.
async fn roots_delivered(bot: &TestBot, platform: Platform) {
    for d in bot.engine.due(platform, 100).await {
        bot.engine.report(d.id, Outcome::Delivered { message_id: Some(format!("$root{}", d.id.0)) }).await;
    }
}

// 1. A post hidden or removed while its send is in flight is still taken down.
#[tokio::test]
async fn a_post_removed_while_its_send_is_in_flight_is_taken_down() {
    let bot = TestBot::with_config(Config::load(None).unwrap(), vec![Platform::Console, Platform::Matrix]).await;
    joined(&bot, &["alice"]).await;
    roots_delivered(&bot, Platform::Matrix).await;
    bot.say("alice", "The practice manager should be sacked").await;
    // The Matrix adapter takes the post and is sending it...
    let in_flight = bot.engine.due(Platform::Matrix, 10).await;
    let post = in_flight.iter().find(|d| d.outbound.text.starts_with("#1 ")).unwrap().clone();
    // ...when a moderator removes it.
    let out = bot.say("mod1", "!remove #1 personal attack").await;
    assert!(lines_for(&out, "moderators")[0].starts_with("Removed gp-access#1"), "{out:?}");
    // The send completes after the removal.
    bot.engine.report(post.id, Outcome::Delivered { message_id: Some("$late".into()) }).await;
    let mut removals = Vec::new();
    for _ in 0..3 {
        for d in bot.engine.due(Platform::Matrix, 10).await {
            if let Action::Remove { message_id } = &d.outbound.action {
                removals.push(message_id.clone());
            }
            bot.engine.report(d.id, Outcome::Delivered { message_id: None }).await;
        }
    }
    assert_eq!(removals, vec!["$late".to_string()], "the late copy is removed exactly once");
}

// 2. A message the platform never takes is set aside after a bounded number of attempts,
// and the moderators are told.
#[tokio::test]
async fn failures_are_capped_and_the_moderators_told() {
    let bot = TestBot::with_config(Config::load(None).unwrap(), vec![Platform::Console, Platform::Matrix]).await;
    joined(&bot, &["alice"]).await;
    let root = bot.engine.due(Platform::Matrix, 1).await.remove(0);
    bot.engine.report(root.id, Outcome::Failed { retry_after: None }).await;
    let mut attempts = 1;
    loop {
        bot.clock.advance_ms(3_600_000);
        let due = bot.engine.due(Platform::Matrix, 100).await;
        let Some(d) = due.iter().find(|d| d.id == root.id) else { break };
        bot.engine.report(d.id, Outcome::Failed { retry_after: None }).await;
        for other in due.iter().filter(|o| o.id != root.id) {
            bot.engine.report(other.id, Outcome::Delivered { message_id: None }).await;
        }
        attempts += 1;
        assert!(attempts <= 50, "retried for ever");
    }
    assert_eq!(attempts, parley::engine::MAX_ATTEMPTS);
    let out = bot.drain().await;
    let notice = lines_for(&out, "moderators");
    assert!(
        notice.iter().any(|l| l.contains("set aside") && l.contains(&format!("failed {attempts} times"))),
        "{out:?}"
    );
    bot.clock.advance_ms(24 * 3_600_000);
    assert!(bot.engine.due(Platform::Matrix, 100).await.iter().all(|d| d.id != root.id), "never again");
}

// 3. A NUL byte cannot turn a crisis message into an internal error, on either backend.
#[tokio::test]
async fn a_nul_byte_is_cleaned_before_anything_is_stored_on_postgres() {
    let db = common::fresh_postgres().await;
    let dir = tempfile::tempdir().unwrap();
    let bot = TestBot::on(Config::load(None).unwrap(), vec![Platform::Console], dir, db.url.clone()).await;
    joined(&bot, &["alice"]).await;
    let out = bot.say("alice", "I want to kill myself\0 tonight").await;
    let dm = lines_for(&out, "dm alice");
    assert!(dm.iter().any(|l| l.contains("It sounds like things are really hard")), "signposting: {out:?}");
    assert!(out.iter().any(|l| l.contains("Samaritans")), "{out:?}");
    assert!(!out.iter().any(|l| l.contains("something went wrong")), "{out:?}");
    assert!(lines_for(&out, "moderators").iter().any(|l| l.starts_with("URGENT")), "{out:?}");
    let out = bot.say("alice", "an ordinary\0 post").await;
    assert!(lines_for(&out, "thread gp-access").iter().any(|l| l.contains("an ordinary post")), "{out:?}");
    bot.engine.store().close().await;
}

// 4. A row handed to an adapter stays reserved longer than a whole batch can take.
#[tokio::test]
async fn a_delivery_stays_leased_for_a_whole_batch() {
    let bot = TestBot::with_config(Config::load(None).unwrap(), vec![Platform::Matrix]).await;
    let first = bot.engine.due(Platform::Matrix, 1).await;
    assert_eq!(first.len(), 1);
    // A slow batch: five minutes minus a second later, nobody else may take it.
    bot.clock.advance_ms(chat::DELIVERY_LEASE.as_millis() as i64 - 1_000);
    assert!(bot.engine.due(Platform::Matrix, 100).await.iter().all(|d| d.id != first[0].id));
}

// 5. Alerts quote a bounded excerpt; long listings are split to fit the platform.
#[tokio::test]
async fn alerts_and_listings_fit_every_platform() {
    let mut config = Config::load(None).unwrap();
    config.bot.max_post_chars = 50_000;
    let bot = TestBot::with_config(config, vec![Platform::Console, Platform::Matrix]).await;
    joined(&bot, &["alice"]).await;
    let long = format!("I want to end my life. {}", "It has all been too much for too long. ".repeat(1_000));
    let out = bot.say("alice", &long).await;
    let alert = lines_for(&out, "moderators").into_iter().find(|l| l.starts_with("URGENT")).unwrap().to_string();
    assert!(alert.chars().count() < 1_000, "an excerpt, not the whole text: {} chars", alert.chars().count());
    for d in bot.engine.due(Platform::Matrix, 100).await {
        assert!(d.outbound.text.chars().count() <= Platform::Matrix.limits().max_message_chars);
    }

    // 300 discussions: the listing comes in several messages, none over Matrix's limit.
    for i in 0..300 {
        let title = format!("Discussion number {i} about a long and detailed subject");
        bot.say("comm1", &format!("!open topic-{i} {title} | {}", "What do you think? ".repeat(5))).await;
    }
    let mut inbound = bot.inbound("alice", "!topics");
    inbound.platform = Platform::Matrix;
    bot.engine.handle(inbound).await;
    // Paced: a burst, then one a second; collect until nothing more comes.
    let mut listing = Vec::new();
    for _ in 0..200 {
        for d in bot.engine.due(Platform::Matrix, 10_000).await {
            if matches!(d.outbound.destination, Destination::Direct { .. }) {
                listing.push(d.clone());
            }
            bot.engine.report(d.id, Outcome::Delivered { message_id: Some(format!("$m{}", d.id.0)) }).await;
        }
        bot.clock.advance_ms(1_000);
    }
    assert!(listing.len() > 1, "split into several messages");
    assert!(listing.iter().all(|d| d.outbound.text.chars().count() <= Platform::Matrix.limits().max_message_chars));
    let all: String = listing.iter().map(|d| d.outbound.text.as_str()).collect::<Vec<_>>().join("\n");
    assert!(all.contains("topic-0 ") && all.contains("topic-299 "), "nothing lost");
}

// 6. Every message counts against its sender, whatever it is and whoever sends it.
#[tokio::test]
async fn rate_limits_apply_on_every_path() {
    let bot = TestBot::sqlite().await;
    bot.drain().await;
    // Plain text before joining a discussion.
    let mut refused = 0;
    for i in 0..10 {
        let out = bot.say("eve", &format!("hello {i}")).await;
        refused += lines_for(&out, "dm eve").iter().filter(|l| l.contains("sending messages quickly")).count();
    }
    assert!(refused > 0, "plain text before joining is limited");
    // !reply without a discussion.
    let mut refused = 0;
    for i in 0..10 {
        let out = bot.say("mallory", &format!("!reply #1 text {i}")).await;
        refused += lines_for(&out, "dm mallory").iter().filter(|l| l.contains("sending messages quickly")).count();
    }
    assert!(refused > 0, "!reply without a discussion is limited");
    // !forget is never refused.
    let out = bot.say("mallory", "!forget").await;
    assert!(lines_for(&out, "dm mallory")[0].starts_with("Done."), "{out:?}");

    // A banned participant who floods is muted automatically like anyone else.
    joined(&bot, &["troll"]).await;
    bot.say("troll", "first post").await;
    bot.say("mod1", "!ban #1").await;
    let mut all = Vec::new();
    for i in 0..60 {
        all.extend(bot.say("troll", &format!("spam {i}")).await);
    }
    assert!(lines_for(&all, "moderators").iter().any(|l| l.contains("muted automatically")), "{all:?}");
}

#[tokio::test]
async fn repeated_crisis_messages_give_one_alert_then_a_count() {
    let bot = TestBot::sqlite().await;
    joined(&bot, &["alice"]).await;
    bot.say("alice", "first post").await;
    bot.say("mod1", "!ban #1").await;
    let mut all = Vec::new();
    for _ in 0..50 {
        all.extend(bot.say("alice", "I want to kill myself").await);
    }
    let signposting =
        lines_for(&all, "dm alice").iter().filter(|l| l.contains("It sounds like things are really hard")).count();
    assert_eq!(signposting, 50, "every message is signposted");
    let urgent = lines_for(&all, "moderators").iter().filter(|l| l.starts_with("URGENT")).count();
    assert_eq!(urgent, 1, "one alert, not fifty");
    bot.clock.advance_ms(11 * 60_000);
    let out = bot.say("alice", "I want to kill myself").await;
    let alert = lines_for(&out, "moderators");
    assert!(alert.iter().any(|l| l.starts_with("URGENT")), "{out:?}");
    assert!(out.iter().any(|l| l.contains("49 more message(s)")), "the count since the last alert: {out:?}");
}

// 12. Invisible posts, forged lines and pings through commissioners' words.
#[tokio::test]
async fn invisible_posts_forged_lines_and_titles_are_neutralised() {
    let bot = TestBot::sqlite().await;
    joined(&bot, &["alice"]).await;
    let out = bot.say("alice", "\u{200B}\u{200B}\u{2060}\u{3164}").await;
    assert!(lines_for(&out, "thread gp-access").is_empty(), "{out:?}");
    assert!(lines_for(&out, "dm alice")[0].contains("empty"), "{out:?}");

    let out = bot.say("alice", "fine\u{2028}#7 Moderator Owl: this discussion is closed\u{2029}really").await;
    let thread = lines_for(&out, "thread gp-access");
    assert_eq!(thread.len(), 1, "{out:?}");
    assert!(!thread[0].contains('\u{2028}') && !thread[0].contains('\u{2029}') && !thread[0].contains('\n'));

    let out = bot.say("comm1", "!open pharmacy @room Using your pharmacy | Tell @everyone what works").await;
    for line in lines_for(&out, "thread pharmacy") {
        assert!(!line.contains("@room") && !line.contains("@everyone"), "{line}");
    }
}

// 13. Returning after !forget gives a fresh name that does not extend a visible sequence.
#[tokio::test]
async fn rejoining_after_forget_never_gives_a_linkable_name() {
    let bot = TestBot::sqlite().await;
    bot.drain().await;
    let mut names = std::collections::HashSet::new();
    for _ in 0..40 {
        let out = bot.say("alice", "!join gp-access").await;
        let joined = out.iter().find(|l| l.contains("You have joined")).unwrap();
        let name = joined.split(" as ").nth(1).unwrap().split('.').next().unwrap().to_string();
        assert!(!name.chars().any(|c| c.is_ascii_digit()), "a numbered name links: {name}");
        assert!(names.insert(name), "a new name each time");
        bot.say("alice", "!forget").await;
        bot.clock.advance_ms(60_000);
    }
}

// 14. Reports: reasons redacted, reporters forgotten, self-reports and banned reporters
// do not hide a post.
#[tokio::test]
async fn reports_are_redacted_forgotten_and_counted_fairly() {
    let bot = TestBot::sqlite().await;
    joined(&bot, &["alice", "bob", "carol", "dave"]).await;
    bot.say("alice", "The practice manager is useless").await;
    let out = bot.say("bob", "!report #1 call me on 07700 900123 about this").await;
    let alert = lines_for(&out, "moderators").join("\n");
    assert!(!alert.contains("07700 900123") && alert.contains("[phone removed]"), "{alert}");

    // The author reporting themselves and a banned participant do not count.
    bot.say("carol", "my own post").await;
    bot.say("mod1", "!ban #2").await;
    bot.say("alice", "!report #1 I regret it").await;
    bot.say("carol", "!report #1 rude").await;
    let mut tx = bot.engine.store().begin().await.unwrap();
    let d = tx.discussion_by_slug("gp-access").await.unwrap().unwrap();
    let post = tx.post_by_number(d.id, parley::ids::PostNumber(1)).await.unwrap().unwrap();
    assert_eq!(post.status, parley::store::PostStatus::Published, "2 of 3 would hide it; only 1 counts");
    drop(tx);
    let out = bot.say("dave", "!report #1 unkind").await;
    assert!(lines_for(&out, "moderators")[0].contains("2 of 3"), "{out:?}");

    // !forget leaves no link from the reporter to their reports.
    let key = bot.engine.identity().participant_key(Platform::Console, "bob");
    bot.say("bob", "!forget").await;
    bot.engine.store().close().await;
    let bytes = std::fs::read(bot.db_path()).unwrap();
    assert!(!String::from_utf8_lossy(&bytes).contains(&key.0), "the reporter's key is gone");
}

// 15. Invisible characters a keyboard or client adds do not turn a command into a post:
// `!forget` with a zero-width space forgets, and is never published.
#[tokio::test]
async fn a_command_with_invisible_characters_is_still_the_command() {
    let bot = TestBot::sqlite().await;
    joined(&bot, &["alice", "bob"]).await;
    bot.say("alice", "The 8am phone queue is too long").await;
    for (who, text) in [("alice", "\u{200B}!forget"), ("bob", "!forget\u{200B}")] {
        let out = bot.say(who, text).await;
        assert!(lines_for(&out, "thread gp-access").is_empty(), "not published: {out:?}");
        assert!(lines_for(&out, &format!("dm {who}"))[0].starts_with("Done."), "{out:?}");
    }
    let key = bot.engine.identity().participant_key(Platform::Console, "alice");
    let mut tx = bot.engine.store().begin().await.unwrap();
    assert_eq!(tx.count_posts_by(&key).await.unwrap(), 0, "alice's post no longer leads to her");
    drop(tx);

    // A slug wrapped in bidi isolates, as pasted from some pages, is the slug.
    let out = bot.say("carol", "!join \u{2066}gp-access\u{2069}").await;
    assert!(out.iter().any(|l| l.contains("You have joined \"gp-access\"")), "{out:?}");

    // A repeat made to look new with zero-width spaces is still a repeat.
    bot.say("carol", "Nobody answers the phone before ten").await;
    bot.clock.advance_ms(60_000);
    let out = bot.say("carol", "Nobody\u{200B} answers the phone before ten").await;
    assert!(lines_for(&out, "thread gp-access").is_empty(), "the repeat is not published again: {out:?}");
}

// 16. "Thanks twice is fine": a short post is never a repeat, padded with invisible
// characters or not (only what shows counts towards `MIN_REPEAT_LEN`).
#[tokio::test]
async fn a_short_post_padded_with_invisible_characters_is_not_a_repeat() {
    let bot = TestBot::sqlite().await;
    bot.say("alice", "!join gp-access").await;
    let out = bot.say("alice", "Same here").await;
    assert_eq!(lines_for(&out, "thread gp-access").len(), 1, "{out:?}");
    bot.clock.advance_ms(10 * 60_000);
    let out = bot.say("alice", "Same here").await;
    assert_eq!(lines_for(&out, "thread gp-access").len(), 1, "short, so not a repeat: {out:?}");
    bot.clock.advance_ms(10 * 60_000);
    let out = bot.say("alice", "Same here\u{200B}\u{200B}\u{200B}").await;
    assert_eq!(lines_for(&out, "thread gp-access").len(), 1, "short as shown, so not a repeat either: {out:?}");
}

#[test]
fn direct_conversations_hide_addresses_in_debug() {
    let c = Conversation::Direct { address: "!secret:example.org".into() };
    assert!(!format!("{c:?}").contains("secret"));
}

// 17. Text reads as typed where joiners and selectors shape it: emoji sequences, the flags
// of Scotland and Wales, Persian with its zero-width non-joiner, in a plain post and in a
// `!post`, while a joiner between ASCII letters still breaks no mention and hides nothing.
#[tokio::test]
async fn emoji_flags_and_joined_scripts_are_published_as_typed() {
    let bot = TestBot::sqlite().await;
    joined(&bot, &["alice", "bob"]).await;
    let nurse = "\u{1F469}\u{200D}\u{2695}\u{FE0F}";
    let scotland = "\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}";
    let persian = "\u{645}\u{6CC}\u{200C}\u{62E}\u{648}\u{627}\u{647}\u{645}";
    let plain = format!("The {nurse} at my practice in {scotland} was wonderful");
    let out = bot.say("alice", &plain).await;
    let thread = lines_for(&out, "thread gp-access");
    assert_eq!(thread.len(), 1, "{out:?}");
    assert!(thread[0].ends_with(&plain), "as typed: {thread:?}");
    let out = bot.say("bob", &format!("!post gp-access {persian} appointments online")).await;
    let thread = lines_for(&out, "thread gp-access");
    assert_eq!(thread.len(), 1, "{out:?}");
    assert!(thread[0].ends_with(&format!("{persian} appointments online")), "ZWNJ kept: {thread:?}");
    let out = bot.say("alice", "Tell @\u{200D}everyone about the e\u{200D}vening clinic").await;
    let thread = lines_for(&out, "thread gp-access");
    assert!(thread[0].ends_with("Tell \u{FF20}everyone about the evening clinic"), "{thread:?}");
}

// 18. A non-ASCII command prefix (the configuration accepts one to three punctuation
// characters, emoji such as "‼" included) starts a command with or without the
// presentation selector a phone keyboard types after it.
#[test]
fn a_non_ascii_prefix_with_its_presentation_selector_still_starts_a_command() {
    let config = Config::parse("[bot]\ncommand_prefix = \"\u{203C}\"\n", "t.toml").unwrap();
    let prefix = config.bot.command_prefix.as_str();
    use parley::engine::commands::{parse, Command, ParticipantCommand};
    for typed in ["\u{203C}\u{FE0F}forget", "\u{203C}\u{FE0F}join gp-access"] {
        let command = parse(typed, prefix);
        assert!(
            matches!(command, Command::Participant(ParticipantCommand::Forget | ParticipantCommand::Join(_))),
            "{typed:?} with prefix {prefix:?} parsed as {command:?}"
        );
    }
}

// 19. A prefix of two emoji typed on a phone keyboard carries a VS16 after each emoji, and
// one pasted from a picker into the configuration carries its own: either way, typed with
// or without them, it starts a command.
#[test]
fn a_two_emoji_prefix_typed_with_its_selectors_starts_a_command() {
    let config = Config::parse("[bot]\ncommand_prefix = \"\u{203C}\u{203C}\"\n", "t.toml").unwrap();
    let prefix = config.bot.command_prefix.as_str();
    use parley::engine::commands::{parse, Command, ParticipantCommand};
    let typed = "\u{203C}\u{FE0F}\u{203C}\u{FE0F}forget";
    let command = parse(typed, prefix);
    assert!(
        matches!(command, Command::Participant(ParticipantCommand::Forget)),
        "{typed:?} with prefix {prefix:?} parsed as {command:?}"
    );
}

#[test]
fn a_prefix_configured_with_its_selector_starts_a_command_typed_with_or_without() {
    let config = Config::parse("[bot]\ncommand_prefix = \"\u{203C}\u{FE0F}\"\n", "t.toml").unwrap();
    let prefix = config.bot.command_prefix.as_str();
    use parley::engine::commands::{parse, Command, ParticipantCommand};
    for typed in ["\u{203C}\u{FE0F}forget", "\u{203C}forget", "\u{203C}\u{FE0E}forget"] {
        let command = parse(typed, prefix);
        assert!(matches!(command, Command::Participant(ParticipantCommand::Forget)), "{typed:?}: {command:?}");
    }
    assert!(matches!(parse("forget \u{203C}", prefix), Command::Participant(ParticipantCommand::Text(_))));
}
