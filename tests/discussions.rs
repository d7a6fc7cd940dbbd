//! End-to-end behaviour of anonymous threaded discussions, driven as the console adapter
//! drives the engine.
#![allow(clippy::unwrap_used)]

mod common;

use chat::{Action, Core, Destination, Outcome, Platform};
use common::{lines_for, pseudonym_of, TestBot};
use parley::clock::Clock;
use parley::config::Config;

#[tokio::test]
async fn two_participants_post_and_reply_under_stable_pseudonyms() {
    let bot = TestBot::sqlite().await;
    let roots = bot.drain().await;
    let root = lines_for(&roots, "thread gp-access");
    assert_eq!(root.len(), 1);
    assert!(root[0].starts_with("gp-access — Getting a GP appointment"));
    assert!(roots.iter().any(|l| l == "  Take part anonymously: send me a direct message with !join gp-access"));

    bot.say("alice", "!join gp-access").await;
    bot.say("bob", "!join gp-access").await;
    let a1 = bot.say("alice", "Three weeks for a routine appointment.").await;
    let b1 = bot.say("bob", "!reply #1 Same here, the 8am phone queue is hopeless").await;
    let a2 = bot.say("alice", "!post The online form closes by 9am too").await;

    let t_a1 = lines_for(&a1, "thread gp-access");
    let t_b1 = lines_for(&b1, "thread gp-access");
    let t_a2 = lines_for(&a2, "thread gp-access");
    assert_eq!(t_a1.len(), 1);
    assert!(t_a1[0].starts_with("#1 "), "{t_a1:?}");
    assert!(t_a1[0].ends_with(": Three weeks for a routine appointment."));
    assert!(t_b1[0].starts_with("#2 ") && t_b1[0].contains(", replying to #1: Same here"), "{t_b1:?}");
    assert!(t_a2[0].starts_with("#3 "));

    let alice_gp = pseudonym_of(t_a1[0]);
    assert_eq!(alice_gp, pseudonym_of(t_a2[0]), "one pseudonym inside a discussion");
    assert_ne!(alice_gp, pseudonym_of(t_b1[0]), "different people, different names");
    assert_eq!(alice_gp.split(' ').count(), 2, "two readable words: {alice_gp}");

    // The author is told where the post went.
    assert!(lines_for(&a1, "dm alice")[0].contains("#1"));

    bot.say("alice", "!join urgent-care").await;
    let u = bot.say("alice", "111 sent me to an urgent treatment centre that was closed").await;
    let alice_uc = pseudonym_of(lines_for(&u, "thread urgent-care")[0]);
    assert_ne!(alice_gp, alice_uc, "pseudonyms are per discussion");
    let who = bot.say("alice", "!whoami").await;
    assert!(lines_for(&who, "dm alice")[0].contains(&alice_uc));
}

#[tokio::test]
async fn no_user_name_reaches_public_lines_or_the_database() {
    let bot = TestBot::sqlite().await;
    let mut all = bot.drain().await;
    for name in ["alice", "bob"] {
        all.extend(bot.say(name, "!join gp-access").await);
        all.extend(bot.say(name, "The receptionist was kind but there were no slots").await);
    }
    all.extend(bot.say("bob", "!reply #1 agreed").await);
    all.extend(bot.say("mod1", "!help").await);
    // A Matrix-style id too, to check platform ids in every form.
    let mut inbound = bot.inbound("x", "!join gp-access");
    inbound.platform = Platform::Matrix;
    inbound.sender.id = "@dorothy.smith:example.org".into();
    inbound.conversation = chat::Conversation::Direct { address: "!dmroom-dorothy:example.org".into() };
    bot.engine.handle(inbound).await;

    for line in all.iter().filter(|l| l.starts_with("[thread") || l.starts_with("[moderators]")) {
        assert!(!line.contains("alice") && !line.contains("bob"), "identity leaked: {line}");
    }
    bot.engine.store().close().await;
    let mut bytes = std::fs::read(bot.db_path()).unwrap();
    for ext in ["-wal", "-shm", "-journal"] {
        if let Ok(more) = std::fs::read(format!("{}{ext}", bot.db_path().display())) {
            bytes.extend(more);
        }
    }
    let text = String::from_utf8_lossy(&bytes).to_lowercase();
    for needle in ["alice", "bob", "dorothy", "example.org", "dmroom"] {
        assert!(!text.contains(needle), "{needle} found in the database file");
    }
    // UTF-16 forms too.
    let utf16: Vec<u8> = "alice".encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
    assert!(!bytes.windows(utf16.len()).any(|w| w == utf16.as_slice()));
}

#[tokio::test]
async fn a_duplicate_inbound_event_is_published_once() {
    let bot = TestBot::sqlite().await;
    bot.drain().await;
    bot.say("alice", "!join gp-access").await;
    let inbound = bot.inbound("alice", "The walk-in centre was excellent");
    bot.engine.handle(inbound.clone()).await;
    bot.engine.handle(inbound).await;
    let lines = bot.drain().await;
    assert_eq!(lines_for(&lines, "thread gp-access").len(), 1);
    assert_eq!(bot.post_count().await, 1);
}

#[tokio::test]
async fn failed_deliveries_are_retried_once_each_and_survive_a_restart() {
    let config = Config::load(None).unwrap();
    let bot = TestBot::with_config(config, vec![Platform::Console, Platform::Matrix]).await;
    bot.drain().await; // console takes its thread roots
    bot.say("alice", "!join gp-access").await;
    bot.say("alice", "First post").await;
    bot.say("alice", "Second post").await;

    // The Matrix adapter is down: the roots fail, and posts wait for them.
    let due = bot.engine.due(Platform::Matrix, 100).await;
    assert_eq!(due.len(), 2, "only the two thread roots are due before they exist");
    assert!(due.iter().all(|d| d.outbound.action == Action::OpenThread));
    for d in &due {
        bot.engine.report(d.id, Outcome::Failed { retry_after: None }).await;
    }
    assert!(bot.engine.due(Platform::Matrix, 100).await.is_empty(), "backing off");

    // The process stops and starts again; nothing is lost.
    let bot = bot.restart().await;
    bot.clock.advance_ms(3_000);
    let mut delivered = Vec::new();
    for _round in 0..5 {
        let due = bot.engine.due(Platform::Matrix, 100).await;
        for d in due {
            let id = format!("$ev{}", d.id.0);
            delivered.push(d.clone());
            bot.engine.report(d.id, Outcome::Delivered { message_id: Some(id) }).await;
        }
    }
    let roots: Vec<_> = delivered.iter().filter(|d| d.outbound.action == Action::OpenThread).collect();
    let posts: Vec<_> = delivered
        .iter()
        .filter(|d| matches!(d.outbound.destination, Destination::Thread { .. }) && d.outbound.action == Action::Send)
        .collect();
    assert_eq!(roots.len(), 2);
    assert_eq!(posts.len(), 2, "every pending post exactly once: {posts:?}");
    for p in &posts {
        let Destination::Thread { root, slug } = &p.outbound.destination else { unreachable!() };
        assert_eq!(slug, "gp-access");
        assert!(root.as_deref().unwrap().starts_with("$ev"), "posts go into the delivered thread");
    }
    assert!(bot.engine.due(Platform::Matrix, 100).await.is_empty());
    bot.clock.advance_ms(3_600_000);
    assert!(bot.engine.due(Platform::Matrix, 100).await.is_empty(), "delivered rows never come back");

    // A reply on Matrix points at the Matrix message of the post it answers.
    bot.say("alice", "!reply #1 a reply").await;
    let due = bot.engine.due(Platform::Matrix, 100).await;
    let reply = due.iter().find(|d| d.outbound.text.contains("replying to #1")).unwrap();
    let first = posts.iter().find(|d| d.outbound.text.starts_with("#1 ")).unwrap();
    assert_eq!(reply.outbound.reply_to, Some(format!("$ev{}", first.id.0)));
}

#[tokio::test]
async fn retry_after_from_the_platform_is_honoured() {
    let bot = TestBot::with_config(Config::load(None).unwrap(), vec![Platform::Matrix]).await;
    let due = bot.engine.due(Platform::Matrix, 1).await;
    assert_eq!(due.len(), 1);
    bot.engine.report(due[0].id, Outcome::Failed { retry_after: Some(std::time::Duration::from_secs(30)) }).await;
    bot.clock.advance_ms(29_000);
    assert!(bot.engine.due(Platform::Matrix, 100).await.iter().all(|d| d.id != due[0].id));
    bot.clock.advance_ms(2_000);
    assert!(bot.engine.due(Platform::Matrix, 100).await.iter().any(|d| d.id == due[0].id));
}

#[tokio::test]
async fn bad_input_gets_a_plain_answer_and_stores_nothing() {
    let mut config = Config::load(None).unwrap();
    config.bot.max_post_chars = 50;
    let bot = TestBot::with_config(config, vec![Platform::Console]).await;
    bot.drain().await;
    let cases: Vec<(&str, &str)> = vec![
        ("!frobnicate", "I don't know the command !frobnicate"),
        ("!join dentistry", "There is no discussion called \"dentistry\""),
        ("I have something to say", "To take part, send !topics"),
        ("!reply #1 hello", "You haven't joined a discussion yet"),
    ];
    for (text, expected) in &cases {
        let out = bot.say("alice", text).await;
        let dm = lines_for(&out, "dm alice");
        assert!(dm.len() == 1 && dm[0].contains(expected), "{text:?} → {out:?}");
    }
    bot.say("alice", "!join gp-access").await;
    let cases: Vec<(String, &str)> = vec![
        ("!post   ".into(), "Your post is empty"),
        ("x".repeat(51), "is 51 characters long; the limit is 50"),
        ("!reply #7 me too".into(), "There is no post #7"),
        ("!reply seven me too".into(), "Use it like this: !reply #N TEXT"),
        ("!open pharmacy Pharmacies".into(), "Only commissioners"),
    ];
    for (text, expected) in &cases {
        let out = bot.say("alice", text).await;
        let dm = lines_for(&out, "dm alice");
        assert!(dm.len() == 1 && dm[0].contains(expected), "{text:?} → {out:?}");
        assert!(lines_for(&out, "thread gp-access").is_empty());
    }
    assert_eq!(bot.post_count().await, 0);

    // A closed discussion refuses posts.
    let out = bot.say("comm1", "!close gp-access").await;
    assert!(lines_for(&out, "commissioners")[0].starts_with("Closed"));
    let out = bot.say("alice", "still here?").await;
    assert!(lines_for(&out, "dm alice")[0].contains("is closed"));
    let out = bot.say("bob", "!join gp-access").await;
    assert!(lines_for(&out, "dm bob")[0].contains("is closed"));
    assert_eq!(bot.post_count().await, 0);
}

#[tokio::test]
async fn commissioners_open_and_close_discussions_at_run_time() {
    let bot = TestBot::sqlite().await;
    bot.drain().await;
    let out = bot.say("comm1", "!open pharmacy Using your pharmacy | What should pharmacies do more of?").await;
    assert!(lines_for(&out, "commissioners")[0].starts_with("Opened \"pharmacy\""));
    assert!(lines_for(&out, "thread pharmacy")[0].starts_with("pharmacy — Using your pharmacy"));
    let out = bot.say("alice", "!topics").await;
    assert!(out.iter().any(|l| l.contains("pharmacy — Using your pharmacy: What should pharmacies do more of?")));
    let out = bot.say("comm1", "!open Bad_Slug Title").await;
    assert!(lines_for(&out, "commissioners")[0].contains("can't be used as a slug"));
    let out = bot.say("comm1", "!close pharmacy").await;
    assert_eq!(lines_for(&out, "thread pharmacy").len(), 1, "a closing note in the thread");
    let out = bot.say("alice", "!topics").await;
    assert!(!out.iter().any(|l| l.contains("pharmacy —")));
    // Reopening works and does not start a second thread.
    let out = bot.say("comm1", "!open pharmacy Using your pharmacy again").await;
    assert!(lines_for(&out, "commissioners")[0].starts_with("Opened"));
    assert!(lines_for(&out, "thread pharmacy").is_empty());
    // Staff chatter is not answered; participant commands in staff rooms are redirected.
    assert!(bot.say("mod1", "anyone around?").await.is_empty());
    let out = bot.say("mod1", "!post hello").await;
    assert!(lines_for(&out, "moderators")[0].contains("direct message"));
}

#[tokio::test]
async fn forget_erases_contact_and_unlinks_posts() {
    let bot = TestBot::sqlite().await;
    bot.drain().await;
    bot.say("alice", "!join gp-access").await;
    let before = bot.say("alice", "a post to forget").await;
    let old_name = pseudonym_of(lines_for(&before, "thread gp-access")[0]);
    let key = bot.engine.identity().participant_key(Platform::Console, "alice");
    let mut tx = bot.engine.store().begin().await.unwrap();
    assert_eq!(tx.count_posts_by(&key).await.unwrap(), 1);
    assert!(tx.contact(&key, Platform::Console).await.unwrap().is_some());
    drop(tx);

    let out = bot.say("alice", "!forget").await;
    assert!(lines_for(&out, "dm alice")[0].contains("unlinked 1 post"));
    let mut tx = bot.engine.store().begin().await.unwrap();
    assert_eq!(tx.count_posts_by(&key).await.unwrap(), 0);
    assert!(tx.contact(&key, Platform::Console).await.unwrap().is_none());
    drop(tx);

    // The post stays, under its old name; a returning participant gets a new name.
    bot.say("alice", "!join gp-access").await;
    let after = bot.say("alice", "back again").await;
    let new_name = pseudonym_of(lines_for(&after, "thread gp-access")[0]);
    assert_ne!(old_name, new_name);
}

#[tokio::test]
async fn posts_reach_every_mirror_and_mentions_are_inert() {
    let bot =
        TestBot::with_config(Config::load(None).unwrap(), vec![Platform::Console, Platform::Matrix, Platform::Discord])
            .await;
    bot.drain().await;
    for p in [Platform::Matrix, Platform::Discord] {
        for d in bot.engine.due(p, 100).await {
            bot.engine.report(d.id, Outcome::Delivered { message_id: Some(format!("root-{}", d.id.0)) }).await;
        }
    }
    bot.say("alice", "!join gp-access").await;
    let out = bot.say("alice", "@everyone <@123> look at this").await;
    let console = lines_for(&out, "thread gp-access");
    assert_eq!(console.len(), 1);
    assert!(!console[0].contains("@everyone") && !console[0].contains("<@123>"));
    for p in [Platform::Matrix, Platform::Discord] {
        let due = bot.engine.due(p, 100).await;
        assert_eq!(due.len(), 1, "{p}");
        assert!(due[0].outbound.text.contains("look at this"));
    }
}

#[tokio::test]
async fn colliding_pseudonyms_are_resolved() {
    // 3,000 participants in one discussion make collisions near certain (about 34,000 names).
    let bot = TestBot::sqlite().await;
    let engine = &bot.engine;
    let d = {
        let mut tx = engine.store().begin().await.unwrap();
        tx.discussion_by_slug("gp-access").await.unwrap().unwrap()
    };
    let mut tx = engine.store().begin().await.unwrap();
    let mut names = std::collections::HashSet::new();
    let mut collisions = 0;
    for i in 0..3000 {
        let key = engine.identity().participant_key(Platform::Console, &format!("user{i}"));
        let mut attempt = 0;
        loop {
            let name = engine.identity().pseudonym(&key, &d.slug, attempt);
            if tx.claim_pseudonym(d.id, &name, &key, 0).await.unwrap() {
                assert!(names.insert(name));
                break;
            }
            collisions += 1;
            attempt += 1;
        }
    }
    assert!(collisions > 0, "the test should exercise collisions");
    assert_eq!(names.len(), 3000);
}

#[tokio::test]
async fn outbound_messages_are_paced_per_channel() {
    // Example configuration: a burst of 5 per channel, then one a second. No survey
    // invitation, so that only posts and acknowledgements are counted.
    let mut config = Config::load(None).unwrap();
    config.surveys.clear();
    let bot = TestBot::with_config(config, vec![Platform::Matrix]).await;
    let roots = bot.engine.due(Platform::Matrix, 100).await;
    for d in &roots {
        bot.engine.report(d.id, Outcome::Delivered { message_id: Some(format!("$r{}", d.id.0)) }).await;
    }
    // Joined first, so that the privacy notice is not part of the burst below.
    let mut join = bot.inbound("alice", "!join gp-access");
    join.platform = Platform::Matrix;
    bot.engine.handle(join).await;
    for d in bot.engine.due(Platform::Matrix, 100).await {
        bot.engine.report(d.id, Outcome::Delivered { message_id: Some(format!("$j{}", d.id.0)) }).await;
    }
    for i in 0..8 {
        let mut inbound = bot.inbound("alice", &format!("!post gp-access post {i}"));
        inbound.platform = Platform::Matrix;
        bot.clock.advance_ms(60_000); // stay inside the participant's own post limit
        bot.engine.handle(inbound).await;
    }
    let due = bot.engine.due(Platform::Matrix, 100).await;
    let thread = due.iter().filter(|d| matches!(d.outbound.destination, Destination::Thread { .. })).count();
    let dms = due.iter().filter(|d| matches!(d.outbound.destination, Destination::Direct { .. })).count();
    assert_eq!((thread, dms), (5, 5), "a burst per channel");
    for d in &due {
        bot.engine.report(d.id, Outcome::Delivered { message_id: Some(format!("$m{}", d.id.0)) }).await;
    }
    bot.clock.advance_ms(1_001);
    let next = bot.engine.due(Platform::Matrix, 100).await;
    assert_eq!(next.iter().filter(|d| matches!(d.outbound.destination, Destination::Thread { .. })).count(), 1);
    bot.clock.advance_ms(10_000);
    let rest = bot.engine.due(Platform::Matrix, 100).await;
    assert_eq!(rest.len() + next.len(), 6, "nothing lost: 3 posts and 3 acknowledgements");
}

#[tokio::test]
async fn a_delivery_the_platform_can_never_take_is_not_retried() {
    let bot = TestBot::with_config(Config::load(None).unwrap(), vec![Platform::Matrix]).await;
    let due = bot.engine.due(Platform::Matrix, 1).await;
    bot.engine.report(due[0].id, Outcome::Rejected { reason: "not in room".into() }).await;
    bot.clock.advance_ms(3_600_000);
    assert!(bot.engine.due(Platform::Matrix, 100).await.iter().all(|d| d.id != due[0].id));
}

#[tokio::test]
async fn a_restart_prunes_every_old_row_not_only_one_round() {
    // Between group commits a prune deletes a bounded number of rows; at start it goes on
    // until nothing old is left, so a quiet deployment keeps nothing past its time.
    let bot = TestBot::sqlite().await;
    let now = bot.clock.now_ms();
    let old = now - 40 * 86_400_000;
    let n = 3 * parley::store::PRUNE_AT_MOST + 7;
    let mut tx = bot.engine.store().begin().await.unwrap();
    for i in 0..n {
        assert!(tx.record_inbound(Platform::Matrix, &format!("$old-{i}"), old).await.unwrap());
    }
    assert!(tx.record_inbound(Platform::Matrix, "$recent", now).await.unwrap());
    tx.commit().await.unwrap();

    let bot = bot.restart().await;
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM inbound_events WHERE received_at < ?")
        .bind(now - 30 * 86_400_000)
        .fetch_one(&mut <sqlx::SqliteConnection as sqlx::Connection>::connect(&bot.url).await.unwrap())
        .await
        .unwrap();
    assert_eq!(left, 0, "every old id is pruned at start");
    let mut tx = bot.engine.store().begin().await.unwrap();
    for i in [0, n / 2, n - 1] {
        assert!(tx.record_inbound(Platform::Matrix, &format!("$old-{i}"), now).await.unwrap(), "$old-{i} was pruned");
    }
    assert!(!tx.record_inbound(Platform::Matrix, "$recent", now).await.unwrap(), "a recent id is kept");
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn a_new_dm_address_is_stored_and_an_unchanged_one_is_not_written_again() {
    let bot = TestBot::with_config(Config::load(None).unwrap(), vec![Platform::Console, Platform::Matrix]).await;
    bot.drain().await;
    let from = |room: &str, text: &str| {
        let mut inbound = bot.inbound("x", text);
        inbound.platform = Platform::Matrix;
        inbound.sender.id = "@dorothy:example.org".into();
        inbound.conversation = chat::Conversation::Direct { address: room.into() };
        inbound
    };
    let key = bot.engine.identity().participant_key(Platform::Matrix, "@dorothy:example.org");
    let stored = || async {
        let mut tx = bot.engine.store().begin().await.unwrap();
        tx.contact(&key, Platform::Matrix).await.unwrap().unwrap()
    };
    bot.engine.handle(from("!room-one:example.org", "!join gp-access")).await;
    let first = stored().await;
    assert_eq!(bot.engine.identity().open(&first).unwrap(), "!room-one:example.org");
    // The same room again: the stored (sealed) value is left as it was.
    bot.engine.handle(from("!room-one:example.org", "!whoami")).await;
    assert_eq!(stored().await, first);
    // A new DM room (the old one was left): stored, and answers go there.
    bot.engine.handle(from("!room-two:example.org", "!whoami")).await;
    let second = stored().await;
    assert_eq!(bot.engine.identity().open(&second).unwrap(), "!room-two:example.org");
    let rooms: Vec<String> = bot
        .engine
        .due(Platform::Matrix, 100)
        .await
        .into_iter()
        .filter_map(|d| match d.outbound.destination {
            Destination::Direct { address } => Some(address),
            _ => None,
        })
        .collect();
    assert_eq!(rooms.last().map(String::as_str), Some("!room-two:example.org"), "{rooms:?}");
    assert_eq!(rooms.iter().filter(|r| *r == "!room-one:example.org").count(), rooms.len() - 1, "{rooms:?}");
}
