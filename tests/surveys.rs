//! Two-way engagement end to end, driven as the console adapter drives the engine:
//! survey invitations, the survey conversation, `!push`, `!stop`, `!update`, `!respond`,
//! results with small-number suppression, restarts in the middle of a survey and a push.
#![allow(clippy::unwrap_used)]

mod common;

use chat::{Core, Platform};
use common::{lines_for, TestBot};
use parley::config::Config;

fn dm(lines: &[String], name: &str) -> String {
    lines_for(lines, &format!("dm {name}")).join("\n")
}

/// Everything printed for `name`, continuation lines included.
fn dm_all(lines: &[String], name: &str) -> String {
    let mut out = Vec::new();
    let mut mine = false;
    let prefix = format!("[dm {name}] ");
    for l in lines {
        if let Some(rest) = l.strip_prefix(&prefix) {
            mine = true;
            out.push(rest.to_string());
        } else if l.starts_with("  ") && mine {
            out.push(l.trim_start().to_string());
        } else {
            mine = false;
        }
    }
    out.join("\n")
}

/// The part of the commissioners' output printed for `!summary`.
fn all_text(lines: &[String]) -> String {
    lines.join("\n")
}

#[tokio::test]
async fn a_participant_answers_every_question_type_and_the_commissioner_sees_the_results() {
    let bot = TestBot::sqlite().await;
    bot.drain().await;
    let joined = bot.say("alice", "!join gp-access").await;
    assert!(!dm_all(&joined, "alice").contains("survey"), "no invitation on join by default");

    // The first post in gp-access brings the invitation, after the post's acknowledgement.
    let first = bot.say("alice", "The 8am phone queue is hopeless").await;
    let text = dm_all(&first, "alice");
    assert!(text.contains("Posted as #1"), "{text}");
    assert!(text.contains("Could you help us with a short survey? \"Your GP practice in two minutes\""), "{text}");
    assert!(text.find("Posted as #1") < text.find("Could you help us"), "{text}");

    let q1 = dm_all(&bot.say("alice", "!survey").await, "alice");
    assert!(q1.contains("Survey: Your GP practice in two minutes"), "{q1}");
    assert!(q1.contains("Question 1 of 4:"), "{q1}");
    assert!(q1.contains("1. Very good") && q1.contains("5. Very poor"), "{q1}");

    // A required question cannot be skipped; an invalid answer is re-asked clearly.
    let again = dm_all(&bot.say("alice", "skip").await, "alice");
    assert!(again.contains("can't be skipped") && again.contains("Question 1 of 4"), "{again}");
    let again = dm_all(&bot.say("alice", "9").await, "alice");
    assert!(again.contains("isn't one of the answers") && again.contains("Question 1 of 4"), "{again}");
    assert_eq!(bot.post_count().await, 1, "survey answers are not posts");

    // By the choice's words.
    let q2 = dm_all(&bot.say("alice", "fairly good").await, "alice");
    assert!(q2.contains("Question 2 of 4 (optional — send skip to leave it out)"), "{q2}");
    assert!(q2.contains("4. NHS App") && q2.contains("for example 1,3"), "{q2}");
    let q3 = dm_all(&bot.say("alice", "skip").await, "alice");
    assert!(q3.contains("Question 3 of 4:") && q3.contains("1 (Very hard) to 5 (Very easy)"), "{q3}");
    let again = dm_all(&bot.say("alice", "7").await, "alice");
    assert!(again.contains("whole number from 1 to 5") && again.contains("Question 3 of 4"), "{again}");
    let q4 = dm_all(&bot.say("alice", "2").await, "alice");
    assert!(q4.contains("Question 4 of 4") && q4.contains("up to 500 characters"), "{q4}");
    let done = dm_all(&bot.say("alice", "More evening slots please, call me on 07700 900123").await, "alice");
    assert!(done.contains("that's the end of \"Your GP practice in two minutes\""), "{done}");

    // Plain text is a post again.
    let after = dm_all(&bot.say("alice", "Online booking would help a lot").await, "alice");
    assert!(after.contains("Posted as #2") && !after.contains("survey?"), "{after}");

    // Personal data is redacted before the answer is stored.
    let bytes = std::fs::read(bot.db_path()).unwrap();
    let wal = std::fs::read(bot.dir.path().join("parley.db-wal")).unwrap_or_default();
    for hay in [&bytes, &wal] {
        assert!(!hay.windows(6).any(|w| w == b"900123"), "the phone number never reaches the database");
    }

    let summary = bot.say("comm1", "!summary gp-access").await;
    let s = all_text(&summary);
    assert!(
        s.contains("Survey \"Your GP practice in two minutes\" (gp-experience): invited <5, started <5, completed <5"),
        "{s}"
    );
    assert!(
        s.contains("Q1 Overall, how would you describe your experience of your GP practice? — <5 responses"),
        "{s}"
    );
    assert!(s.contains("Fairly good: <5"), "{s}");
    assert!(!s.contains("07700"), "{s}");
}

#[tokio::test]
async fn a_restart_in_the_middle_of_a_survey_resumes_at_the_next_question() {
    let bot = TestBot::sqlite().await;
    bot.say("bob", "!join gp-access").await;
    bot.say("bob", "Nobody answers the phone").await;
    bot.say("bob", "!survey").await;
    let q2 = dm_all(&bot.say("bob", "1").await, "bob");
    assert!(q2.contains("Question 2 of 4"), "{q2}");
    let bot = bot.restart().await;
    bot.drain().await;
    let resumed = dm_all(&bot.say("bob", "!survey").await, "bob");
    assert!(resumed.contains("Question 2 of 4") && !resumed.contains("Survey: "), "{resumed}");
    // Answering straight away works too, and `!survey stop` leaves; `!survey` comes back.
    let q3 = dm_all(&bot.say("bob", "1 2").await, "bob");
    assert!(q3.contains("Question 3 of 4"), "{q3}");
    let stopped = dm_all(&bot.say("bob", "!survey stop").await, "bob");
    assert!(stopped.contains("You've left"), "{stopped}");
    // An explicit answer (what a button click sends) with no question open records and
    // posts nothing, where plain text would be a post.
    let out = bot.say("bob", "!survey answer 3").await;
    assert!(dm_all(&out, "bob").contains("no longer open, so nothing was recorded"), "{out:?}");
    assert!(lines_for(&out, "thread gp-access").is_empty(), "{out:?}");
    let posted = dm_all(&bot.say("bob", "Receptionists were kind though").await, "bob");
    assert!(posted.contains("Posted as #2"), "after !survey stop, text is a post again: {posted}");
    let bot = bot.restart().await;
    bot.drain().await;
    let back = dm_all(&bot.say("bob", "!survey").await, "bob");
    assert!(back.contains("Question 3 of 4"), "{back}");
    // With the question open, the explicit answer answers it.
    let q4 = dm_all(&bot.say("bob", "!survey answer 4").await, "bob");
    assert!(q4.contains("Question 4 of 4"), "{q4}");
}

fn no_auto_invitations() -> Config {
    let mut config = Config::load(None).unwrap();
    for s in &mut config.surveys {
        s.invite_after_first_post = false;
    }
    config
}

const INVITE: &str = "Could you help us with a short survey?";

#[tokio::test]
async fn push_reaches_every_past_participant_once_and_nobody_who_said_stop_even_across_a_restart() {
    let bot = TestBot::with_config(no_auto_invitations(), vec![Platform::Console]).await;
    bot.drain().await;
    let people: Vec<String> = (0..7).map(|i| format!("p{i}")).collect();
    for p in &people {
        bot.say(p, "!join gp-access").await;
        let posted = bot.say(p, &format!("{p} waited three weeks for an appointment")).await;
        assert!(!all_text(&posted).contains(INVITE));
    }
    // Someone who only joined (never posted) did not take part.
    bot.say("lurker", "!join gp-access").await;
    assert!(dm(&bot.say("p3", "!stop").await, "p3").contains("you won't get survey invitations"));
    bot.say("p5", "!stop").await;
    assert!(dm(&bot.say("p5", "!start").await, "p5").contains("again"));

    // The push works in batches of 2; stop the process after the first batch.
    bot.engine.set_push_batch(2);
    bot.engine.handle(bot.inbound("comm1", "!push gp-experience gp-access")).await;
    assert!(bot.engine.push_step().await.unwrap(), "more batches to go");
    let bot = bot.restart().await;
    let mut all = bot.drain().await;
    all.extend(bot.drain().await);
    for p in &people {
        let got = dm_all(&all, p).matches(INVITE).count();
        let expected = if p == "p3" { 0 } else { 1 };
        assert_eq!(got, expected, "{p}: {all:#?}");
    }
    assert_eq!(dm_all(&all, "lurker").matches(INVITE).count(), 0);
    assert!(
        all_text(&all).contains(
            "Finished sending \"gp-experience\" to the participants of \"gp-access\": 6 participant(s) reached"
        ),
        "{all:#?}"
    );

    // An update has no invitation to stop a repeat: only the job's cursor does. Stopped
    // after its first batch, it still reaches each of the six exactly once.
    bot.engine.set_push_batch(2);
    bot.engine
        .handle(bot.inbound("comm1", "!update gp-access You said the phone queue was too long: we added lines"))
        .await;
    assert!(bot.engine.push_step().await.unwrap(), "more batches to go");
    let bot = bot.restart().await;
    let mut all = bot.drain().await;
    all.extend(bot.drain().await);
    for p in &people {
        let got = dm_all(&all, p).matches("You said, we did").count();
        assert_eq!(got, usize::from(p != "p3"), "{p}: {all:#?}");
    }

    // A second push asks nobody again.
    let again = bot.say("comm1", "!push gp-experience gp-access").await;
    let mut again = again;
    again.extend(bot.drain().await);
    assert_eq!(all_text(&again).matches(INVITE).count(), 0, "{again:#?}");
    assert!(all_text(&again).contains("0 participant(s) reached"), "{again:#?}");

    // An invited participant can start it.
    assert!(dm_all(&bot.say("p0", "!survey").await, "p0").contains("Question 1 of 4"));

    // !forget deletes the answers.
    bot.say("p0", "1").await;
    let key = bot.engine.identity().participant_key(Platform::Console, "p0");
    let mut tx = bot.engine.store().begin().await.unwrap();
    assert_eq!(tx.count_answers_by(&key).await.unwrap(), 1);
    drop(tx);
    bot.say("p0", "!forget").await;
    let mut tx = bot.engine.store().begin().await.unwrap();
    assert_eq!(tx.count_answers_by(&key).await.unwrap(), 0);
}

#[tokio::test]
async fn push_refuses_a_survey_not_linked_to_the_discussion_and_changes_nothing() {
    let bot = TestBot::with_config(no_auto_invitations(), vec![Platform::Console]).await;
    bot.drain().await;
    for p in ["ann", "ben"] {
        bot.say(p, "!join urgent-care").await;
        bot.say(p, "111 sent me to A&E after a four hour wait").await;
    }
    let refused = all_text(&bot.say("comm1", "!push gp-experience urgent-care").await);
    assert!(
        refused.contains(
            "The survey \"gp-experience\" isn't linked to \"urgent-care\", so nobody was invited. It is linked to \
             \"gp-access\" only: send !push gp-experience gp-access to invite its participants."
        ),
        "{refused}"
    );
    // Nothing changed: no push job, no invitation, no audit entry.
    assert!(!bot.engine.push_step().await.unwrap(), "no push to work through");
    let mut out = bot.drain().await;
    out.extend(bot.say("ann", "!survey").await);
    assert!(!all_text(&out).contains(INVITE), "{out:#?}");
    assert!(dm_all(&out, "ann").contains("There is no survey waiting"), "{out:#?}");
    let mut tx = bot.engine.store().begin().await.unwrap();
    let d = tx.discussion_by_slug("urgent-care").await.unwrap().unwrap();
    assert_eq!(tx.survey_funnel("gp-experience", d.id).await.unwrap().invited, 0);
    drop(tx);
    assert!(!all_text(&bot.say("mod1", "!log").await).contains("push survey"));

    // A survey linked to no discussion says so.
    let mut config = no_auto_invitations();
    config.surveys[0].discussions.clear();
    let bot = TestBot::with_config(config, vec![Platform::Console]).await;
    bot.drain().await;
    let refused = all_text(&bot.say("comm1", "!push gp-experience gp-access").await);
    assert!(refused.contains("isn't linked to any discussion"), "{refused}");
}

#[tokio::test]
async fn updates_reach_everyone_who_did_not_opt_out_and_responses_answer_the_post_in_its_thread() {
    let bot = TestBot::with_config(no_auto_invitations(), vec![Platform::Console]).await;
    bot.drain().await;
    for p in ["ann", "ben", "cat"] {
        bot.say(p, "!join gp-access").await;
        bot.say(p, "We need more appointments in the evening").await;
    }
    bot.say("ben", "!stop").await;
    let mut out = bot
        .say("comm1", "!update gp-access You said evenings were hard: from January the practice opens until 8pm")
        .await;
    out.extend(bot.drain().await);
    let thread = lines_for(&out, "thread gp-access").join("\n");
    assert!(thread.contains("UPDATE FROM THE ORGANISATION (not anonymous) — you said, we did:"), "{out:#?}");
    assert!(all_text(&out).contains("opens until 8pm"));
    assert!(dm_all(&out, "ann").contains("You said, we did"), "{out:#?}");
    assert!(dm_all(&out, "cat").contains("You said, we did"), "{out:#?}");
    assert!(!dm_all(&out, "ben").contains("You said, we did"), "ben said !stop: {out:#?}");

    // !respond answers post #1 as an in-thread reply to its platform message.
    bot.engine.handle(bot.inbound("comm1", "!respond gp-access#1 Thank you, we have asked the practice")).await;
    let due = bot.engine.due(Platform::Console, 100).await;
    let response = due
        .iter()
        .find(|d| d.outbound.text.starts_with("RESPONSE FROM THE ORGANISATION (not anonymous) to #1:"))
        .expect("the response is queued in the thread");
    assert!(response.outbound.reply_to.is_some(), "it answers post #1 message in the thread");
    assert!(due.iter().any(|d| d.outbound.text.contains("has answered your post #1")), "the author is told");
    for d in due {
        bot.engine.report(d.id, chat::Outcome::Delivered { message_id: Some(format!("m{}", d.id.0)) }).await;
    }

    // Both are in the audit log and in the summary, beside their themes.
    let log = all_text(&bot.say("mod1", "!log").await);
    assert!(log.contains("commissioner update gp-access") && log.contains("commissioner respond gp-access#1"), "{log}");
    let summary = all_text(&bot.say("comm1", "!summary gp-access").await);
    assert!(summary.contains("What the organisation said back:"), "{summary}");
    assert!(summary.contains("answer to #1"), "{summary}");
}

/// 20 fictional participants; the expected numbers are counted by hand below.
#[tokio::test]
async fn results_from_twenty_participants_match_a_hand_count() {
    let bot = TestBot::sqlite().await;
    bot.drain().await;
    // Q1 (single): Very good ×9, Fairly good ×7, Neither ×3, Fairly poor ×1, Very poor ×0.
    let q1 = |i: usize| match i {
        0..=8 => "1",
        9..=15 => "2",
        16..=18 => "3",
        _ => "4",
    };
    // Q2 (multiple, optional): 15 answer, 5 skip. Phone: 0-11 (12); Online: 0-5 (6);
    // At the practice: 12, 13 (2); NHS App: 10-14 (5).
    let q2 = |i: usize| {
        if i >= 15 {
            return "skip".to_string();
        }
        let mut picked = Vec::new();
        if i < 12 {
            picked.push("1");
        }
        if i < 6 {
            picked.push("2");
        }
        if i == 12 || i == 13 {
            picked.push("3");
        }
        if (10..15).contains(&i) {
            picked.push("4");
        }
        picked.join(",")
    };
    // Q3 (scale): 1 ×2, 2 ×3, 3 ×5, 4 ×6, 5 ×4 → mean 67/20 = 3.35; the 10th and 11th of
    // 20 sorted values are 3 and 4 → median 3.5.
    let q3 = |i: usize| match i {
        0..=1 => "1",
        2..=4 => "2",
        5..=9 => "3",
        10..=15 => "4",
        _ => "5",
    };
    for i in 0..20 {
        let p = format!("person{i}");
        bot.say(&p, "!join gp-access").await;
        bot.say(&p, "Getting through on the phone takes ages").await;
        bot.say(&p, "!survey").await;
        bot.say(&p, q1(i)).await;
        bot.say(&p, &q2(i)).await;
        bot.say(&p, q3(i)).await;
        // Q4 (free text, optional): only 4 answer, so it is suppressed.
        let last = dm_all(&bot.say(&p, if i < 4 { "More appointments" } else { "skip" }).await, &p);
        assert!(last.contains("that's the end"), "{p}: {last}");
    }
    let s = all_text(&bot.say("comm1", "!summary gp-access").await);
    let expect = [
        "invited 20, started 20, completed 20",
        "— 20 responses",
        "  Very good: 9 (45%)",
        // 3 + 1 + 0 = 4 hidden: the smallest shown cell is withheld too (secondary suppression).
        "  Fairly good: *",
        "  Neither good nor poor: <5",
        "  Fairly poor: <5",
        // Zero is not disclosive, so it is shown.
        "  Very poor: 0",
        "Q2 How have you tried to get an appointment in the last year? — 15 responses",
        "  Phone: 12 (80%)",
        "  Online: 6 (40%)",
        "  At the practice: <5",
        "  NHS App: *",
        "  1 (Very hard): <5",
        "  2: <5",
        "  3: 5 (25%)",
        "  4: 6 (30%)",
        "  5 (Very easy): <5",
        "  mean 3.35, median 3.5",
        "Q4 What one thing would most improve it? — <5 responses",
    ];
    for line in expect {
        assert!(s.contains(line), "missing {line:?} in:\n{s}");
    }
    assert!(!s.contains("\"More appointments\""), "no quotes under the threshold: {s}");

    // The same numbers in every format of `parley report`.
    use parley::report::Format;
    let mut tx = bot.engine.store().begin().await.unwrap();
    let d = tx.discussion_by_slug("gp-access").await.unwrap().unwrap();
    let summary = parley::report::discussion_summary(&mut tx, bot.engine.analyzer(), &d, 5).await.unwrap();
    let engagement = bot.engine.engagement(&mut tx, &d, 5).await.unwrap();
    drop(tx);
    let render = |f: Format| engagement.render_with(f, &f.render(&summary));
    let json: serde_json::Value = serde_json::from_str(&render(Format::Json)).unwrap();
    assert_eq!(json["participation"]["participants"], 20, "{json}");
    assert_eq!(json["participation"]["completed"], 20);
    assert!(json["themes"].is_array(), "the theme summary is still there");
    let q1 = &json["surveys"][0]["questions"][0];
    assert_eq!((q1["responses"].clone(), q1["answers"][0]["count"].clone()), (20.into(), 9.into()));
    assert_eq!((q1["answers"][0]["percent"].clone(), q1["answers"][1]["count"].clone()), (45.into(), "*".into()));
    assert_eq!(json["surveys"][0]["questions"][2]["mean"], 3.35);
    assert_eq!(json["surveys"][0]["questions"][2]["median"], 3.5);
    let csv = render(Format::Csv);
    assert!(
        csv.contains("survey_scale,gp-experience,How easy was it to get an appointment when you needed one?,mean,3.35"),
        "{csv}"
    );
    assert!(
        csv.contains(
            "survey_answer,gp-experience,How have you tried to get an appointment in the last year?,NHS App,*"
        ),
        "{csv}"
    );
    assert!(csv.contains("participation,,,survey completions,20"), "{csv}");
    let md = render(Format::Markdown);
    assert!(md.contains("## Two-way engagement") && md.contains("- mean 3.35, median 3.5"), "{md}");
    let html = render(Format::Html);
    for part in [
        "<h2>Survey: Your GP practice in two minutes",
        "<h2>Participation</h2>",
        "Survey funnel",
        "Posts by hour of day",
    ] {
        assert!(html.contains(part), "{part}");
    }
    assert!(html.find("<h2>Participation</h2>") < html.find("</main>"), "inside the page");

    // By platform, from the platform each post was written on: 6 people on Matrix and 2 on
    // Discord join the 20 on the console; 3 console participants then use !forget and still
    // count. Discord's 2 people and 2 posts show as "<5", and Matrix, the smallest shown
    // cell, is withheld too so that the total cannot give Discord away.
    for (platform, who) in [(Platform::Matrix, 0..6), (Platform::Discord, 6..8)] {
        for i in who {
            let inbound = |text: &str, n: usize| chat::Inbound {
                platform,
                event_id: format!("{platform}-{i}-{n}"),
                sender: chat::Sender { id: format!("remote{i}"), roles: chat::Roles::default() },
                conversation: chat::Conversation::Direct { address: format!("dm-remote{i}") },
                text: text.into(),
                reply_to: None,
            };
            bot.engine.handle(inbound("!join gp-access", 0)).await;
            bot.engine.handle(inbound("The phone line closes at noon", 1)).await;
        }
    }
    for i in 0..3 {
        bot.say(&format!("person{i}"), "!forget").await;
    }
    let mut tx = bot.engine.store().begin().await.unwrap();
    let engagement = bot.engine.engagement(&mut tx, &d, 5).await.unwrap();
    drop(tx);
    let json: serde_json::Value =
        serde_json::from_str(&engagement.render_with(Format::Json, &Format::Json.render(&summary))).unwrap();
    let p = &json["participation"];
    assert_eq!(p["participants"], 28, "{p}");
    assert_eq!(p["posts"], 28, "{p}");
    assert_eq!(
        p["by_platform"],
        serde_json::json!([["console", 20, 20], ["discord", "<5", "<5"], ["matrix", "*", "*"]]),
        "{p}"
    );
    let chat = engagement.to_chat();
    assert!(
        chat.contains("by platform: console 20 participants / 20 posts; discord <5 participants / <5 posts; matrix *"),
        "{chat}"
    );
}

#[tokio::test]
async fn invalid_survey_definitions_are_rejected_naming_the_key() {
    let base = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/example.toml")).unwrap();
    let cases = [
        (
            "type = \"scale\"\ntext = \"How easy",
            "type = \"scale\"\nchoices = [\"a\", \"b\"]\ntext = \"How easy",
            "surveys[0].questions[2].choices",
        ),
        ("type = \"single\"", "type = \"single\"\nmax_chars = 10", "surveys[0].questions[0].max_chars"),
        ("discussions = [\"gp-access\"]", "discussions = [\"GP Access\"]", "surveys[0].discussions[0]"),
        (
            "type = \"multiple\"",
            "type = \"sometimes\"",
            "`sometimes`, expected one of `single`, `multiple`, `scale`, `text`",
        ),
    ];
    for (from, to, key) in cases {
        assert!(base.contains(from), "{from}");
        let text = base.replacen(from, to, 1);
        let err = Config::parse(&text, "test").unwrap_err().to_string();
        assert!(err.contains(key), "{key}: {err}");
    }
}

/// 10,000 past participants on Matrix: the push goes in transactions of at most a batch,
/// inbound messages are handled between batches, and the invitations are spread out at the
/// platform's pace instead of all being due at once.
#[tokio::test]
async fn a_push_to_ten_thousand_goes_in_bounded_batches_paced_for_the_platform() {
    use parley::ids::PostNumber;
    use parley::store::{NewPost, PostStatus};
    const PEOPLE: usize = 10_000;
    let bot = TestBot::with_config(no_auto_invitations(), vec![Platform::Matrix]).await;
    let now = 1_790_000_000_000;
    let id = bot.engine.identity();
    let mut tx = bot.engine.store().begin().await.unwrap();
    let d = tx.discussion_by_slug("gp-access").await.unwrap().unwrap();
    for i in 0..PEOPLE {
        let key = id.participant_key(Platform::Matrix, &format!("@person{i}:example.org"));
        tx.participant(&key, now).await.unwrap();
        tx.save_contact(&key, Platform::Matrix, &id.seal(&format!("!dm{i}:example.org")), now).await.unwrap();
        tx.insert_post(&NewPost {
            discussion: d.id,
            number: PostNumber(i as i64 + 1),
            participant: &key,
            pseudonym: &format!("Name {i}"),
            parent: None,
            body: "It took three weeks",
            status: PostStatus::Published,
            created_at: now,
            themes: "",
            sentiment: 0,
            platform: Platform::Matrix,
            reasons: None,
        })
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();

    bot.engine.handle(bot.inbound("comm1", "!push gp-experience gp-access")).await;
    let mut steps = 0;
    let mut pending = bot.engine.store().pending_count().await.unwrap();
    loop {
        let more = bot.engine.push_step().await.unwrap();
        steps += 1;
        let now_pending = bot.engine.store().pending_count().await.unwrap();
        assert!(now_pending - pending <= 200 + 1, "one bounded batch per step");
        pending = now_pending;
        if steps == 10 {
            // The engine handles participants' messages in the middle of the push.
            bot.engine.handle(bot.inbound("someone", "!topics")).await;
            let answered = bot.engine.store().pending_count().await.unwrap();
            assert_eq!(answered, pending + 1, "the answer is queued at once");
            pending = answered;
        }
        if !more {
            break;
        }
    }
    assert_eq!(steps, PEOPLE / 200 + 1, "50 full batches and a last, empty one");
    let mut tx = bot.engine.store().begin().await.unwrap();
    assert_eq!(tx.survey_funnel("gp-experience", d.id).await.unwrap().invited, PEOPLE as u64);
    drop(tx);

    // Matrix takes a burst, then one message a second: the invitations are due one a second.
    let count_invitations = |due: &[chat::Delivery]| due.iter().filter(|d| d.outbound.text.contains(INVITE)).count();
    let first = bot.engine.due(Platform::Matrix, 1_000).await;
    assert!(count_invitations(&first) <= 5, "not all at once: {}", count_invitations(&first));
    for d in &first {
        bot.engine.report(d.id, chat::Outcome::Delivered { message_id: None }).await;
    }
    bot.clock.advance_ms(60_000);
    let minute = bot.engine.due(Platform::Matrix, 1_000).await;
    assert!((55..=66).contains(&count_invitations(&minute)), "about one a second: {}", count_invitations(&minute));
}
