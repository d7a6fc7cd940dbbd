//! Surveys on a fake Discord: the bundled survey's questions come with buttons or a select
//! menu; a participant answers a single choice by button, a multiple choice by the menu,
//! a scale by typing, and skips an optional question by button; a click on an earlier
//! question's buttons answers nothing; the stored answers are exactly those. Another answers
//! by button on the ephemeral answer to `/survey` in the server, then in his DM, where a
//! click on the server's earlier buttons answers nothing; nor, once his survey has ended in
//! the DM, does a click on an ephemeral question become a post.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use chat::{Core, Platform};
use parley::clock::SystemClock;
use parley::config::Config;
use parley::engine::Engine;
use parley::identity::Identity;
use parley::store::Store;
use serde_json::Value;
use support::{bounded, FakeDiscord, Person, Posted, CHANNEL, COMMISSIONERS, MODERATORS};
use tokio::sync::oneshot;

fn discord_config(fake: &FakeDiscord) -> parley_discord::Config {
    let env = |name: &str| -> Option<String> {
        Some(match name {
            "PARLEY_DISCORD_TOKEN" => "fake-token".into(),
            "PARLEY_DISCORD_GUILD" => support::GUILD.to_string(),
            "PARLEY_DISCORD_CHANNEL" => CHANNEL.to_string(),
            "PARLEY_DISCORD_MODERATORS_CHANNEL" => MODERATORS.to_string(),
            "PARLEY_DISCORD_COMMISSIONERS_CHANNEL" => COMMISSIONERS.to_string(),
            "PARLEY_DISCORD_API_URL" => fake.api_url.clone(),
            _ => return None,
        })
    };
    parley_discord::Config::from_env_over(None, env).unwrap().unwrap()
}

/// The custom ids of a message's components, in order.
fn custom_ids(m: &Posted) -> Vec<String> {
    let mut ids = Vec::new();
    for row in m.body["components"].as_array().cloned().unwrap_or_default() {
        for c in row["components"].as_array().cloned().unwrap_or_default() {
            ids.push(c["custom_id"].as_str().unwrap_or_default().to_owned());
        }
    }
    ids
}

/// The question `Question k of n` once it is in the DM channel and its delivery has been
/// reported (a person cannot click before Discord has answered the bot either).
async fn question(fake: &FakeDiscord, engine: &Engine, dm: &str, k: usize) -> Posted {
    let heading = format!("Question {k} of 4");
    let q = fake.until(&heading, |f| f.in_channel(dm).into_iter().find(|m| m.content.contains(&heading))).await;
    bounded(support::WAIT, async {
        while engine.store().pending_count().await.unwrap() > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    q
}

/// The callback Discord got for a click: UPDATE_MESSAGE taking the components off.
async fn acknowledged(fake: &FakeDiscord, interaction: &str) {
    let callback = fake.until("the click's callback", |f| f.callback(interaction)).await;
    assert_eq!(callback.body["type"], 7, "{:?}", callback.body);
    assert_eq!(callback.body["data"]["components"], serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn survey_questions_are_answered_with_buttons_and_a_select_menu() {
    let _ = tracing_subscriber::fmt().with_env_filter("parley_discord=debug").with_test_writer().try_init();
    bounded(Duration::from_secs(300), scenario()).await;
}

async fn scenario() {
    let fake = FakeDiscord::start().await;
    let work = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}", work.path().join("parley.db").display());
    let store = Store::connect(&db_url).await.unwrap();
    let secret = b"buttons-secret-buttons-secret-buttons";
    let engine = Arc::new(
        Engine::start(
            store,
            Identity::new(secret),
            Arc::new(SystemClock),
            &Config::load(None).unwrap(),
            vec![Platform::Discord],
        )
        .await
        .unwrap(),
    );
    let (stop, stopped) = oneshot::channel::<()>();
    let core: Arc<dyn Core> = engine.clone();
    let task = tokio::spawn(parley_discord::run(discord_config(&fake), core, async move {
        let _ = stopped.await;
    }));
    fake.until("ready", |f| (f.gateway_counts().3 > 0 && f.connected()).then_some(())).await;

    // A first post in gp-access brings the invitation; !survey asks question 1.
    let alice = Person::new(940_000_000_000_000_001, "alice_w", "Alice Walker");
    let dm = fake.dm_channel_of(alice.id);
    // Events are handled concurrently, as on Discord: each waits for the answer to the last.
    fake.dm(&alice, "!join gp-access");
    fake.until("alice joins", |f| f.in_channel(&dm).into_iter().find(|m| m.content.contains("You have joined"))).await;
    fake.dm(&alice, "The 8am phone queue is hopeless");
    fake.until("the invitation", |f| f.in_channel(&dm).into_iter().find(|m| m.content.contains("short survey"))).await;
    fake.dm(&alice, "!survey");

    // Q1, single choice, required: five buttons in one row, no Skip.
    let q1 = question(&fake, &engine, &dm, 1).await;
    let ids = custom_ids(&q1);
    assert_eq!(ids, (1..=5).map(|n| format!("parley:survey:{n}")).collect::<Vec<_>>());
    assert_eq!(q1.body["components"][0]["components"][1]["label"], "Fairly good");
    for id in &ids {
        assert!(id.len() <= 100 && !id.contains(&alice.id.to_string()), "no identity in {id}");
    }
    let click = fake.click(&alice, &q1, "parley:survey:2", None);
    acknowledged(&fake, &click).await;
    assert_eq!(fake.message_now(&q1.id).unwrap().body["components"], serde_json::json!([]), "used once");

    // Q2, multiple choice, optional: a select menu of every option, and Skip.
    let q2 = question(&fake, &engine, &dm, 2).await;
    assert_eq!(custom_ids(&q2), ["parley:survey:pick", "parley:survey:skip"]);
    let menu = &q2.body["components"][0]["components"][0];
    assert_eq!(
        (menu["type"].clone(), menu["min_values"].clone(), menu["max_values"].clone()),
        (3.into(), 1.into(), 4.into())
    );
    let values: Vec<&str> = menu["options"].as_array().unwrap().iter().map(|o| o["value"].as_str().unwrap()).collect();
    assert_eq!(values, ["1", "2", "3", "4"]);
    let click = fake.click(&alice, &q2, "parley:survey:pick", Some(&["4", "1"]));
    acknowledged(&fake, &click).await;

    // Q3, a required scale: five labelled buttons; answered by typing, which works as ever.
    let q3 = question(&fake, &engine, &dm, 3).await;
    let labels: Vec<Value> =
        q3.body["components"][0]["components"].as_array().unwrap().iter().map(|b| b["label"].clone()).collect();
    assert_eq!(labels, ["1 (Very hard)", "2", "3", "4", "5 (Very easy)"]);
    fake.dm(&alice, "4");

    // Q4, optional free text: only Skip. Asking it took Q3's buttons off.
    let q4 = question(&fake, &engine, &dm, 4).await;
    assert_eq!(custom_ids(&q4), ["parley:survey:skip"]);
    fake.until("Q3's buttons taken off", |f| {
        f.message_now(&q3.id).filter(|m| m.body["components"] == serde_json::json!([])).map(|_| ())
    })
    .await;
    // A click on Q3's old buttons (a client that had not refreshed) answers nothing.
    let stale = fake.click(&alice, &q3, "parley:survey:5", None);
    acknowledged(&fake, &stale).await;
    let skip = fake.click(&alice, &q4, "parley:survey:skip", None);
    acknowledged(&fake, &skip).await;
    fake.until("the end of the survey", |f| {
        f.in_channel(&dm).into_iter().find(|m| m.content.contains("that's the end of"))
    })
    .await;

    // What is stored is exactly what was clicked and typed; nothing else was posted.
    let mut tx = engine.store().begin().await.unwrap();
    let d = tx.discussion_by_slug("gp-access").await.unwrap().unwrap();
    let answers: Vec<(usize, String)> =
        tx.survey_answers("gp-experience", d.id).await.unwrap().into_iter().map(|a| (a.question, a.answer)).collect();
    assert_eq!(answers, [(0, "2".to_string()), (1, "1,4".into()), (2, "4".into())], "Q4 skipped");
    assert_eq!(tx.posts(d.id).await.unwrap().len(), 1, "no click became a post");
    let results = engine.survey_results(&mut tx, &d, 1).await.unwrap();
    drop(tx);
    let shown = results[0].to_chat();
    for line in ["invited 1, started 1, completed 1", "  Fairly good: 1 (100%)", "  Phone: 1", "  NHS App: 1", "  4: 1"]
    {
        assert!(shown.contains(line), "{line:?} in {shown}");
    }

    // Bob starts the survey with /survey in the server: the question is the command's
    // ephemeral answer, its buttons answer it, and the next question replaces it, still
    // ephemeral and with its own buttons.
    let bob = Person::new(940_000_000_000_000_002, "bobby_t", "Bob Turner");
    let bob_dm = fake.dm_channel_of(bob.id);
    fake.dm(&bob, "!join gp-access");
    fake.until("bob joins", |f| f.in_channel(&bob_dm).into_iter().find(|m| m.content.contains("You have joined")))
        .await;
    fake.dm(&bob, "Nobody answers the phone before ten");
    fake.until("bob's invitation", |f| f.in_channel(&bob_dm).into_iter().find(|m| m.content.contains("short survey")))
        .await;
    let survey = fake.slash(&bob, Some(&CHANNEL.to_string()), "survey", serde_json::json!([]));
    let first = format!("interaction:tok-{survey}-secret");
    let q1 = question(&fake, &engine, &first, 1).await;
    assert_eq!(custom_ids(&q1).len(), 5, "{:?}", q1.body);
    let click = fake.click_ephemeral(&bob, &q1, &CHANNEL.to_string(), "parley:survey:1", None);
    acknowledged(&fake, &click).await;
    let q2 = question(&fake, &engine, &format!("interaction:tok-{click}-secret"), 2).await;
    assert_eq!(custom_ids(&q2), ["parley:survey:pick", "parley:survey:skip"]);
    let edit = fake
        .requests()
        .into_iter()
        .find(|r| r.method == "PATCH" && r.path.contains(&format!("/tok-{click}-secret/messages/@original")))
        .expect("the next question replaces the clicked one");
    assert!(edit.body["content"].as_str().unwrap().contains("Question 2 of 4"));
    let mut tx = engine.store().begin().await.unwrap();
    let bob_key = engine.identity().participant_key(Platform::Discord, &bob.id.to_string());
    assert_eq!(tx.count_answers_by(&bob_key).await.unwrap(), 1);
    drop(tx);

    // Bob skips Q2 by typing in his DM, so Q3 comes to the DM. Q2's ephemeral buttons in
    // the server are stale now: a click on them answers nothing (before, it answered Q3).
    fake.dm(&bob, "skip");
    let q3 = question(&fake, &engine, &bob_dm, 3).await;
    assert_eq!(custom_ids(&q3).len(), 5, "{:?}", q3.body);
    let stale = fake.click_ephemeral(&bob, &q2, &CHANNEL.to_string(), "parley:survey:pick", Some(&["2"]));
    acknowledged(&fake, &stale).await;
    // Q3's buttons in the DM are the live ones.
    let click = fake.click(&bob, &q3, "parley:survey:3", None);
    acknowledged(&fake, &click).await;
    question(&fake, &engine, &bob_dm, 4).await;
    let mut tx = engine.store().begin().await.unwrap();
    let bob_answers: Vec<(usize, String)> = tx
        .survey_answers("gp-experience", d.id)
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.question, a.answer))
        .filter(|a| a != &(0, "2".to_string()) && a != &(1, "1,4".to_string()) && a != &(2, "4".to_string()))
        .collect();
    assert_eq!(bob_answers, [(0, "1".to_string()), (2, "3".into())], "Q2 skipped; the stale click answered nothing");
    assert_eq!(tx.count_answers_by(&bob_key).await.unwrap(), 2);
    assert_eq!(tx.posts(d.id).await.unwrap().len(), 2, "the two first posts and nothing else");
    drop(tx);

    // /survey in the server asks Q4 again, ephemerally; Bob skips it by typing in his DM,
    // which ends the survey there. A click on the ephemeral Q4's Skip now answers nothing
    // and, with no survey in progress, must not become a post either.
    let again = fake.slash(&bob, Some(&CHANNEL.to_string()), "survey", serde_json::json!([]));
    let q4 = question(&fake, &engine, &format!("interaction:tok-{again}-secret"), 4).await;
    assert_eq!(custom_ids(&q4), ["parley:survey:skip"]);
    fake.dm(&bob, "skip");
    fake.until("bob's survey ends", |f| {
        f.in_channel(&bob_dm).into_iter().find(|m| m.content.contains("that's the end of"))
    })
    .await;
    let stale = fake.click_ephemeral(&bob, &q4, &CHANNEL.to_string(), "parley:survey:skip", None);
    acknowledged(&fake, &stale).await;
    // Anything the click set off would come before the answer to this.
    fake.dm(&bob, "!whoami");
    fake.until("bob's whoami", |f| f.in_channel(&bob_dm).into_iter().find(|m| m.content.contains("you appear as")))
        .await;
    let mut tx = engine.store().begin().await.unwrap();
    assert_eq!(tx.posts(d.id).await.unwrap().len(), 2, "the stale click posted nothing");
    assert_eq!(tx.count_answers_by(&bob_key).await.unwrap(), 2);
    drop(tx);

    let _ = stop.send(());
    bounded(support::WAIT, task).await.unwrap().unwrap();
    engine.store().close().await;
}
