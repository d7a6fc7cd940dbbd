//! What a member of the public meets in their first hour: the privacy notice keeps its
//! promises, posts land where they were meant to, and help speaks plainly.
#![allow(clippy::unwrap_used)]

mod common;

use common::{lines_for, TestBot};

#[tokio::test]
async fn names_and_addresses_are_removed_and_named_staff_held() {
    let bot = TestBot::sqlite().await;
    bot.drain().await;
    bot.say("alice", "!join gp-access").await;
    let out = bot.say("alice", "My name is John Smith and I live at 14 Acacia Avenue, Leeds").await;
    let thread = lines_for(&out, "thread gp-access");
    assert_eq!(thread.len(), 1, "{out:?}");
    assert!(!thread[0].contains("John Smith") && !thread[0].contains("14 Acacia Avenue"), "{}", thread[0]);
    assert!(thread[0].contains("Leeds"), "place names stay: {}", thread[0]);

    let out = bot.say("alice", "Dr Patel at Oak Street Surgery was rude to me").await;
    assert!(lines_for(&out, "thread gp-access").is_empty(), "held for a moderator: {out:?}");
    assert!(!out.join("\n").contains("Patel"), "the name is removed everywhere: {out:?}");
    assert!(lines_for(&out, "moderators").iter().any(|l| l.starts_with("Held for review")), "{out:?}");
    assert!(lines_for(&out, "dm alice")[0].contains("once a moderator has reviewed it"), "{out:?}");

    let out = bot.say("alice", "!post gp-access Addison's disease was missed at Leeds General").await;
    let thread = lines_for(&out, "thread gp-access");
    assert!(thread[0].contains("Addison's disease") && thread[0].contains("Leeds General"), "{out:?}");
}

#[tokio::test]
async fn a_post_for_a_closed_discussion_is_refused_not_misplaced() {
    let bot = TestBot::sqlite().await;
    bot.drain().await;
    bot.say("comm1", "!open pharmacy Using your pharmacy").await;
    bot.say("comm1", "!close pharmacy").await;
    bot.say("alice", "!join gp-access").await;
    let out = bot.say("alice", "!post pharmacy another one").await;
    assert!(lines_for(&out, "thread gp-access").is_empty() && lines_for(&out, "thread pharmacy").is_empty());
    assert!(lines_for(&out, "dm alice")[0].contains("\"pharmacy\" is closed"), "{out:?}");
    assert_eq!(bot.post_count().await, 0);
}

#[tokio::test]
async fn the_notice_comes_before_a_first_post_however_it_is_sent() {
    let bot = TestBot::sqlite().await;
    bot.drain().await;
    let out = bot.say("alice", "!post gp-access The 8am phone queue is hopeless").await;
    let notice = out.iter().position(|l| l.contains("Before you post")).expect("the privacy notice");
    let posted = out.iter().position(|l| l.starts_with("[thread gp-access] #1 ")).expect("the post");
    assert!(notice < posted, "notice first: {out:?}");
    // `!post SLUG` made gp-access the current discussion: plain text now posts there.
    let out = bot.say("alice", "and nobody calls back").await;
    assert!(lines_for(&out, "thread gp-access")[0].starts_with("#2 "), "{out:?}");
    // The notice is shown once.
    let out = bot.say("alice", "!post gp-access third").await;
    assert!(!out.iter().any(|l| l.contains("Before you post")), "{out:?}");
}

#[tokio::test]
async fn help_speaks_plainly_with_an_example_per_command() {
    let bot = TestBot::sqlite().await;
    bot.drain().await;
    let help = bot.say("alice", "!help").await.join("\n");
    for example in
        ["!topics", "!join gp-access", "!reply #3 ", "!report #3 ", "!post urgent-care ", "!whoami", "!forget"]
    {
        assert!(help.contains(example), "{example} missing: {help}");
    }
    assert!(!help.contains("SLUG") && !help.contains("#N"), "no jargon: {help}");
    assert!(help.contains("!help all"));
    let all = bot.say("alice", "!help all").await.join("\n");
    for command in ["!topics", "!join SLUG", "!post SLUG TEXT", "!reply #N", "!report #N", "!whoami", "!forget"] {
        assert!(all.contains(command), "{command} missing: {all}");
    }
}
