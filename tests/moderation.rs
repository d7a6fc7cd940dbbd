//! Safe anonymous posting end to end: redaction, crisis signposting, filters, rate limits,
//! reports, moderator commands and the audit log.
#![allow(clippy::unwrap_used)]

mod common;

use chat::{Action, Core, Outcome, Platform};
use common::{lines_for, TestBot};
use parley::config::Config;

async fn joined(bot: &TestBot, names: &[&str]) {
    bot.drain().await;
    for n in names {
        bot.say(n, "!join gp-access").await;
    }
}

#[tokio::test]
async fn personal_data_is_redacted_before_it_is_stored_or_shown() {
    let bot = TestBot::sqlite().await;
    joined(&bot, &["alice"]).await;
    let out = bot
        .say(
            "alice",
            "My NHS number is 943 476 5919, mobile 07700 900123, landline 0113 496 0000, \
             email jo.bloggs@example.com and I live at LS1 4AP. Call 111 if stuck.",
        )
        .await;
    let thread = lines_for(&out, "thread gp-access");
    assert_eq!(thread.len(), 1, "{out:?}");
    for removed in ["[NHS number removed]", "[phone removed]", "[email removed]", "[postcode removed]"] {
        assert!(thread[0].contains(removed), "{removed}: {}", thread[0]);
    }
    assert!(thread[0].contains("Call 111"), "helpline numbers stay");
    let dm = lines_for(&out, "dm alice");
    assert!(dm[0].contains("we removed an NHS number, a phone number, an email address and a postcode"), "{dm:?}");

    bot.engine.store().close().await;
    let bytes = std::fs::read(bot.db_path()).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    for secret in ["943 476 5919", "9434765919", "07700 900123", "0113 496 0000", "jo.bloggs", "LS1 4AP"] {
        assert!(!text.contains(secret), "{secret} is in the database file");
    }
}

#[tokio::test]
async fn crisis_comes_first_even_with_abusive_words() {
    let bot = TestBot::sqlite().await;
    joined(&bot, &["alice", "bob"]).await;
    for (who, text) in [
        ("alice", "I can't go on any more. I want to kill myself."),
        ("bob", "I want to fucking kill myself, this shit life is too much"),
    ] {
        let out = bot.say(who, text).await;
        let dm = lines_for(&out, &format!("dm {who}"));
        assert!(dm.iter().any(|l| l.contains("It sounds like things are really hard")), "{out:?}");
        for number in ["999", "111", "option 2", "116 123", "85258"] {
            assert!(out.iter().any(|l| l.contains(number)), "signposting names {number}");
        }
        let alerts = lines_for(&out, "moderators");
        assert!(alerts.iter().any(|l| l.starts_with("URGENT — possible crisis")), "{out:?}");
        assert!(!dm.iter().any(|l| l.contains("was not published")), "never punished: {dm:?}");
        assert!(!alerts.iter().any(|l| l.contains(who)), "no identity in alerts");
    }
    // Held for a moderator (the default), not lost: it is in the queue.
    let queue = bot.say("mod1", "!queue").await;
    assert!(queue.iter().any(|l| l.contains("kill myself")), "{queue:?}");
}

#[tokio::test]
async fn crisis_signposting_reaches_everyone_whatever_their_state() {
    let bot = TestBot::sqlite().await;
    bot.drain().await;
    // Not joined to any discussion.
    let out = bot.say("carol", "I just want it all to stop").await;
    assert!(lines_for(&out, "dm carol").iter().any(|l| l.contains("It sounds like things are really hard")), "{out:?}");
    assert!(lines_for(&out, "moderators").iter().any(|l| l.starts_with("URGENT")));
    // Banned, and rate limited: still signposted.
    joined(&bot, &["dave"]).await;
    bot.say("dave", "an ordinary post").await;
    bot.say("mod1", "!ban #1").await;
    let out = bot.say("dave", "I want to end my life").await;
    assert!(lines_for(&out, "dm dave").iter().any(|l| l.contains("It sounds like things are really hard")), "{out:?}");
    assert!(lines_for(&out, "dm dave").iter().any(|l| l.contains("stopped you from posting")));
    assert!(lines_for(&out, "moderators").iter().any(|l| l.starts_with("URGENT")));
}

#[tokio::test]
async fn evasions_are_caught_and_health_talk_passes() {
    let bot = TestBot::sqlite().await;
    joined(&bot, &["alice"]).await;
    for evasion in ["f u c k the lot of them", "ｆｕｃｋ this practice", "what a load of sh1t, fuck them"] {
        bot.clock.advance_ms(120_000);
        let out = bot.say("alice", evasion).await;
        assert!(lines_for(&out, "thread gp-access").is_empty(), "{evasion:?} was published: {out:?}");
    }
    for benign in [
        "The killer was the wait, four hours in A&E",
        "I finally had my smear test and the nurse was lovely",
        "I was shot down by the receptionist when I asked for a callback",
        "Scunthorpe hospital was clean and the staff were kind",
        "The analysis of my bloods took two weeks",
    ] {
        bot.clock.advance_ms(120_000);
        let out = bot.say("alice", benign).await;
        assert_eq!(lines_for(&out, "thread gp-access").len(), 1, "{benign:?} was not published: {out:?}");
    }
}

#[tokio::test]
async fn a_burst_of_posts_is_limited_per_participant() {
    let bot = TestBot::sqlite().await; // post_burst = 5 in the example configuration
    joined(&bot, &["alice", "bob"]).await;
    let mut published = 0;
    let mut refused = 0;
    for i in 0..30 {
        let out = bot.say("alice", &format!("Post number {i} about appointments")).await;
        if lines_for(&out, "thread gp-access").len() == 1 {
            published += 1;
        } else {
            let dm = lines_for(&out, "dm alice");
            assert!(dm[0].starts_with("You're sending messages quickly. Please wait "), "{dm:?}");
            assert!(dm[0].contains("second") || dm[0].contains("minute"));
            refused += 1;
        }
    }
    assert_eq!((published, refused), (5, 25));
    let out = bot.say("bob", "Other people are unaffected").await;
    assert_eq!(lines_for(&out, "thread gp-access").len(), 1);
    bot.clock.advance_ms(60_000);
    let out = bot.say("alice", "After a minute I can post again").await;
    assert_eq!(lines_for(&out, "thread gp-access").len(), 1);
}

#[tokio::test]
async fn a_flood_becomes_a_temporary_mute_with_an_alert() {
    let mut config = Config::load(None).unwrap();
    config.limits.flood_refusals = 10;
    let bot = TestBot::with_config(config, vec![Platform::Console]).await;
    joined(&bot, &["alice"]).await;
    let mut all = Vec::new();
    for i in 0..20 {
        all.extend(bot.say("alice", &format!("spam {i}")).await);
    }
    assert!(lines_for(&all, "moderators").iter().any(|l| l.contains("muted automatically")));
    assert!(lines_for(&all, "dm alice").iter().any(|l| l.contains("posting is paused for 30 minutes")));
    bot.clock.advance_ms(10 * 60_000);
    let out = bot.say("alice", "still muted?").await;
    assert!(lines_for(&out, "dm alice")[0].contains("paused your posting"), "{out:?}");
}

#[tokio::test]
async fn a_muted_flooder_who_keeps_going_gives_one_alert() {
    let mut config = Config::load(None).unwrap();
    config.limits.flood_refusals = 10;
    let bot = TestBot::with_config(config, vec![Platform::Console]).await;
    joined(&bot, &["alice"]).await;
    let mut all = Vec::new();
    for i in 0..60 {
        all.extend(bot.say("alice", &format!("spam {i}")).await);
    }
    // Five minutes into the 30-minute mute, the flood goes on.
    bot.clock.advance_ms(5 * 60_000);
    for i in 60..120 {
        all.extend(bot.say("alice", &format!("spam {i}")).await);
    }
    let alerts = lines_for(&all, "moderators").iter().filter(|l| l.contains("muted automatically")).count();
    assert_eq!(alerts, 1, "one flood alert, not one every ten refusals: {all:?}");
    let log = bot.say("mod1", "!log").await;
    let mutes: usize = log.iter().map(|l| l.matches("(flooding)").count()).sum();
    assert_eq!(mutes, 1, "one automatic mute in the audit log: {log:?}");
    // The mute runs 30 minutes from the last flood, not the first.
    bot.clock.advance_ms(26 * 60_000);
    let out = bot.say("alice", "still muted 31 minutes after the first flood?").await;
    assert!(lines_for(&out, "dm alice")[0].contains("paused your posting"), "{out:?}");
    assert!(lines_for(&out, "thread gp-access").is_empty(), "{out:?}");
    bot.clock.advance_ms(5 * 60_000);
    let out = bot.say("alice", "back after the mute").await;
    assert_eq!(lines_for(&out, "thread gp-access").len(), 1, "{out:?}");
}

#[tokio::test]
async fn reports_hide_a_post_and_moderators_restore_it() {
    let bot = TestBot::with_config(Config::load(None).unwrap(), vec![Platform::Console, Platform::Matrix]).await;
    joined(&bot, &["alice", "bob", "carol", "dave"]).await;
    // The Matrix mirror has its thread and takes the post.
    for d in bot.engine.due(Platform::Matrix, 10).await {
        bot.engine.report(d.id, Outcome::Delivered { message_id: Some(format!("$root{}", d.id.0)) }).await;
    }
    bot.say("alice", "The practice manager is useless and should be sacked").await;
    let due = bot.engine.due(Platform::Matrix, 10).await;
    let post = due.iter().find(|d| d.outbound.text.starts_with("#1 ")).unwrap();
    bot.engine.report(post.id, Outcome::Delivered { message_id: Some("$post1".into()) }).await;

    let out = bot.say("bob", "!report #1 personal attack on staff").await;
    assert!(lines_for(&out, "dm bob")[0].contains("passed to the moderators"));
    assert!(lines_for(&out, "moderators")[0].contains("1 of 3"));
    let out = bot.say("bob", "!report #1 again").await;
    assert!(lines_for(&out, "dm bob")[0].contains("already reported"), "distinct reporters only");
    bot.say("carol", "!report #1 unkind").await;
    let out = bot.say("dave", "!report #1 rude").await;
    assert!(lines_for(&out, "thread gp-access").iter().any(|l| l.contains("removed")), "hidden on the console");
    assert!(out.iter().any(|l| l.contains("now hidden from every mirror")), "{out:?}");
    let due = bot.engine.due(Platform::Matrix, 10).await;
    assert!(
        due.iter().any(|d| d.outbound.action == Action::Remove { message_id: "$post1".into() }),
        "hidden on Matrix too: {due:?}"
    );

    let queue = bot.say("mod1", "!queue").await;
    let q = lines_for(&queue, "moderators");
    assert!(q[0].contains("1 post(s) waiting"), "{queue:?}");
    assert!(queue.iter().any(|l| l.contains("gp-access#1 (hidden after 3 reports") && l.contains("should be sacked")));
    assert!(!queue.iter().any(|l| l.contains("alice")), "no identity in the queue");

    let out = bot.say("mod1", "!approve #1").await;
    assert!(lines_for(&out, "moderators")[0].starts_with("Approved gp-access#1"));
    assert_eq!(lines_for(&out, "thread gp-access").len(), 1, "restored");
    assert!(lines_for(&out, "dm alice")[0].contains("approved"));

    let out = bot.say("alice", "!report #1 can I report myself?").await;
    assert!(lines_for(&out, "dm alice")[0].contains("passed to the moderators"));

    let log = bot.say("mod1", "!log").await;
    assert!(log.iter().any(|l| l.contains("parley hide gp-access#1")), "{log:?}");
    assert!(log.iter().any(|l| l.contains("approve gp-access#1")));
}

#[tokio::test]
async fn moderators_sanction_without_learning_identities() {
    let mut config = Config::load(None).unwrap();
    config.discussions[0].premoderated = true;
    let bot = TestBot::with_config(config, vec![Platform::Console]).await;
    joined(&bot, &["alice", "bob"]).await;

    // Pre-moderation holds every post.
    let out = bot.say("alice", "A perfectly ordinary post").await;
    assert!(lines_for(&out, "thread gp-access").is_empty());
    assert!(lines_for(&out, "dm alice")[0].contains("once a moderator has reviewed it"));
    let alert = lines_for(&out, "moderators");
    assert!(alert[0].starts_with("Held for review: gp-access#1"), "{alert:?}");
    assert!(out.iter().any(|l| l.contains("pre-moderated")));

    bot.say("bob", "Another ordinary post").await;
    let out = bot.say("mod1", "!reject #2 off topic").await;
    assert!(lines_for(&out, "moderators")[0].starts_with("Rejected gp-access#2"));
    assert!(lines_for(&out, "dm bob")[0].contains("off topic"));

    // Only moderators, only in their room.
    let out = bot.say("alice", "!approve #1").await;
    assert!(lines_for(&out, "dm alice")[0].contains("Only moderators"));
    let out = bot.say("comm1", "!ban #1").await;
    assert!(lines_for(&out, "commissioners")[0].contains("Only moderators"));

    let out = bot.say("mod1", "!approve #1").await;
    assert_eq!(lines_for(&out, "thread gp-access").len(), 1);
    let out = bot.say("mod1", "!remove #1 posted by mistake").await;
    assert!(lines_for(&out, "moderators")[0].starts_with("Removed gp-access#1"));
    assert!(lines_for(&out, "dm alice")[0].contains("posted by mistake"));

    let out = bot.say("mod1", "!mute #1 2h").await;
    let m = lines_for(&out, "moderators")[0];
    assert!(m.starts_with("Muted ") && m.ends_with("for 2 hours."), "{m}");
    let out = bot.say("alice", "am I muted?").await;
    assert!(lines_for(&out, "dm alice")[0].contains("You can post again in 2 hours"), "{out:?}");
    let out = bot.say("mod1", "!ban #1").await;
    let reply = lines_for(&out, "moderators")[0].to_string();
    assert!(reply.starts_with("Banned "));
    let who = reply.trim_start_matches("Banned ").split(". Use").next().unwrap().to_string();
    bot.clock.advance_ms(3 * 3_600_000);
    let out = bot.say("alice", "still banned?").await;
    assert!(lines_for(&out, "dm alice")[0].contains("stopped you from posting"));
    // !forget does not escape a ban.
    bot.say("alice", "!forget").await;
    bot.say("alice", "!join gp-access").await;
    let out = bot.say("alice", "after forgetting").await;
    assert!(lines_for(&out, "dm alice")[0].contains("stopped you from posting"), "{out:?}");

    let out = bot.say("mod1", &format!("!unban {who}")).await;
    assert!(lines_for(&out, "moderators")[0].starts_with("Lifted"), "{out:?}");

    let out = bot.say("mod1", "!mute #1 soon").await;
    assert!(lines_for(&out, "moderators")[0].contains("!mute #N DURATION"));
    let out = bot.say("mod1", "!approve #99").await;
    assert!(lines_for(&out, "moderators")[0].contains("There is no post #99"));

    let log = bot.say("mod1", "!log").await;
    for action in ["reject gp-access#2", "approve gp-access#1", "remove gp-access#1", "mute 2 hours", "ban", "unban"] {
        assert!(log.iter().any(|l| l.contains(action)), "{action} missing from {log:?}");
    }
    for line in &log {
        assert!(!line.contains("alice") && !line.contains("bob"));
    }
}

#[tokio::test]
async fn ambiguous_references_ask_which_discussion() {
    let bot = TestBot::sqlite().await;
    joined(&bot, &["alice"]).await;
    bot.say("alice", "in gp access").await;
    bot.say("alice", "!join urgent-care").await;
    bot.say("alice", "in urgent care").await;
    let out = bot.say("mod1", "!remove #1 test").await;
    let m = lines_for(&out, "moderators")[0];
    assert!(m.contains("gp-access#1") && m.contains("urgent-care#1") && m.contains("Which one"), "{m}");
    let out = bot.say("mod1", "!remove urgent-care#1 test").await;
    assert!(lines_for(&out, "moderators")[0].starts_with("Removed urgent-care#1"));
}
