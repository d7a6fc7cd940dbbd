//! parley end to end on a fake Discord (tests/support): the engine behind the Discord
//! adapter; participants using DMs and slash commands (in a DM and in a server channel), a
//! moderator, a person typing in a thread, a 429, a dropped connection, a Reconnect request
//! and a restart of parley.
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
use serde_json::{json, Value};
use support::{bounded, FakeDiscord, Person, Posted, CHANNEL, MODERATORS, MOD_ROLE};
use tokio::sync::oneshot;

const SECRET: &[u8] = b"discord-e2e-secret-discord-e2e-secret";

struct Bot {
    engine: Arc<Engine>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), parley_discord::Error>>,
}

fn discord_config(fake: &FakeDiscord) -> parley_discord::Config {
    let env = |name: &str| -> Option<String> {
        Some(match name {
            "PARLEY_DISCORD_TOKEN" => "fake-token".into(),
            "PARLEY_DISCORD_GUILD" => support::GUILD.to_string(),
            "PARLEY_DISCORD_CHANNEL" => CHANNEL.to_string(),
            "PARLEY_DISCORD_MODERATORS_CHANNEL" => MODERATORS.to_string(),
            "PARLEY_DISCORD_COMMISSIONERS_CHANNEL" => support::COMMISSIONERS.to_string(),
            "PARLEY_DISCORD_API_URL" => fake.api_url.clone(),
            "PARLEY_DISCORD_MODERATOR_ROLES" => MOD_ROLE.to_string(),
            _ => return None,
        })
    };
    parley_discord::Config::from_env_over(None, env).unwrap().unwrap()
}

impl Bot {
    async fn start(fake: &FakeDiscord, db_url: &str) -> Bot {
        let config = Config::load(None).unwrap();
        let store = Store::connect(db_url).await.unwrap();
        let engine = Arc::new(
            Engine::start(store, Identity::new(SECRET), Arc::new(SystemClock), &config, vec![Platform::Discord])
                .await
                .unwrap(),
        );
        let (tx, rx) = oneshot::channel::<()>();
        let core: Arc<dyn Core> = engine.clone();
        let task = tokio::spawn(parley_discord::run(discord_config(fake), core, async move {
            let _ = rx.await;
        }));
        Bot { engine, stop: Some(tx), task }
    }

    async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        bounded(support::WAIT, &mut self.task).await.unwrap().unwrap();
        self.engine.store().close().await;
    }
}

/// What people see: escapes removed, look-alike characters read as what they stand for.
fn plain(content: &str) -> String {
    content.replace('\\', "").replace('\u{FF20}', "@").replace('\u{2039}', "<")
}

fn find(messages: &[Posted], pred: impl Fn(&str) -> bool) -> Option<Posted> {
    messages.iter().find(|m| !m.deleted && pred(&plain(&m.content))).cloned()
}

async fn wait_message(fake: &FakeDiscord, channel: &str, what: &str, pred: impl Fn(&str) -> bool) -> Posted {
    fake.until(what, |f| find(&f.in_channel(channel), &pred)).await
}

/// The interaction's answers (the edited deferred response and follow-ups).
async fn wait_answer(fake: &FakeDiscord, interaction: &str, what: &str, pred: impl Fn(&str) -> bool) -> Posted {
    let channel = format!("interaction:tok-{interaction}-secret");
    wait_message(fake, &channel, what, pred).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn anonymous_discussion_on_a_fake_discord() {
    let _ = tracing_subscriber::fmt().with_env_filter("parley_discord=debug,parley=info").with_test_writer().try_init();
    bounded(Duration::from_secs(600), scenario()).await;
}

async fn scenario() {
    let fake = FakeDiscord::start().await;
    let work = tempfile::tempdir().unwrap();
    let db_path = work.path().join("parley.db");
    let db_url = format!("sqlite://{}", db_path.display());
    let bot = Bot::start(&fake, &db_url).await;

    // Identify with the intents the adapter needs; slash commands registered in the guild.
    let identify = fake.until("identify", |f| f.received().into_iter().find(|p| p["op"] == 2)).await;
    let intents = identify["d"]["intents"].as_u64().unwrap();
    for bit in [1 << 0, 1 << 9, 1 << 12, 1 << 15] {
        assert_ne!(intents & bit, 0, "intent {bit} in {intents}");
    }
    let commands = fake
        .until("commands", |f| {
            f.requests()
                .into_iter()
                .find(|r| r.method == "PUT" && r.path.ends_with(&format!("/guilds/{}/commands", support::GUILD)))
        })
        .await;
    let names: Vec<&str> = commands.body.as_array().unwrap().iter().filter_map(|c| c["name"].as_str()).collect();
    for name in ["topics", "join", "post", "reply", "report", "whoami", "forget"] {
        assert!(names.contains(&name), "/{name} registered: {names:?}");
    }

    // A public thread per open discussion, started from a root message in the channel.
    let root = wait_message(&fake, &CHANNEL.to_string(), "gp-access root", |c| c.starts_with("gp-access")).await;
    fake.until("gp-access thread", |f| {
        f.requests().into_iter().find(|r| r.path.ends_with(&format!("/messages/{}/threads", root.id)))
    })
    .await;
    let thread = root.id.clone();

    let mut alice = Person::new(910_000_000_000_000_001, "alice_w", "Alice Walker");
    let bob = Person::new(910_000_000_000_000_002, "bobby_t", "Bob Turner");
    let carol = Person::new(910_000_000_000_000_003, "carol_s", "Carol Smith");
    let dave = Person::new(910_000_000_000_000_004, "dave_r", "Dave Reader");
    let mut moderator = Person::new(910_000_000_000_000_005, "mod_m", "Mona Mod");
    moderator.roles.push(MOD_ROLE);
    alice.roles.clear();

    // Alice uses `!` commands in a DM.
    let alice_dm = fake.dm_channel_of(alice.id);
    fake.dm(&alice, "!join gp-access");
    wait_message(&fake, &alice_dm, "alice joins", |c| c.contains("You have joined")).await;
    fake.dm(&alice, "The 8am phone queue at my GP is hopeless @everyone @here <@123> <@&456>");
    let first = wait_message(&fake, &thread, "post #1", |c| c.starts_with("#1 ") && c.contains("phone queue")).await;
    assert_eq!(first.body["allowed_mentions"], json!({ "parse": [] }));
    for ping in ["@everyone", "@here", "<@123>", "<@&456>"] {
        assert!(!first.content.contains(ping), "{ping} is neutralised in {:?}", first.content);
    }
    assert!(plain(&first.content).contains("@everyone @here <@123> <@&456>"), "the text reads the same");

    // Bob uses slash commands in a DM: ephemeral answers, an anonymous reply in the thread.
    let join = fake.slash(&bob, None, "join", json!([{ "name": "discussion", "type": 3, "value": "gp-access" }]));
    wait_answer(&fake, &join, "bob joins", |c| c.contains("You have joined")).await;
    let reply = fake.slash(
        &bob,
        None,
        "reply",
        json!([{ "name": "post", "type": 4, "value": 1 }, { "name": "text", "type": 3, "value": "Same at mine, 40 minutes" }]),
    );
    let second =
        wait_message(&fake, &thread, "reply #2", |c| c.starts_with("#2 ") && c.contains("replying to #1")).await;
    assert_eq!(second.body["message_reference"]["message_id"], json!(first.id));
    wait_answer(&fake, &reply, "bob's acknowledgement", |c| c.starts_with("Posted as #2")).await;

    // Carol uses /post in a server channel: it works and its answer is ephemeral too.
    let post = fake.slash(
        &carol,
        Some(&CHANNEL.to_string()),
        "post",
        json!([{ "name": "text", "type": 3, "value": "Online booking would help shift workers" },
               { "name": "discussion", "type": 3, "value": "gp-access" }]),
    );
    wait_message(&fake, &thread, "post #3", |c| c.starts_with("#3 ") && c.contains("shift workers")).await;
    wait_answer(&fake, &post, "carol's acknowledgement", |c| c.starts_with("Posted as #3")).await;
    for interaction in [&join, &reply, &post] {
        let callback = fake
            .requests()
            .into_iter()
            .find(|r| r.path.starts_with(&format!("/api/v10/interactions/{interaction}/")))
            .unwrap();
        assert_eq!(callback.body, json!({ "type": 5, "data": { "flags": 64 } }), "deferred ephemerally");
    }

    // A 429 with retry_after: the post is delivered once, after the wait.
    fake.rate_limit_next(1, 1.5);
    fake.dm(&alice, "The receptionist found me a cancellation");
    wait_message(&fake, &thread, "post #4", |c| c.starts_with("#4 ")).await;
    let sends: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| {
            r.path == format!("/api/v10/channels/{thread}/messages")
                && plain(r.body["content"].as_str().unwrap_or("")).starts_with("#4 ")
        })
        .collect();
    assert_eq!(sends.iter().map(|r| r.status).collect::<Vec<_>>(), [429, 200], "refused once, then delivered once");
    assert_eq!(fake.in_channel(&thread).iter().filter(|m| plain(&m.content).starts_with("#4 ")).count(), 1);

    // The connection drops; a DM sent meanwhile is replayed on Resume and handled.
    fake.drop_connection();
    fake.dm(&alice, "Posted while the connection was down");
    wait_message(&fake, &thread, "post #5 after resume", |c| c.starts_with("#5 ") && c.contains("connection was down"))
        .await;
    // Discord asks for a reconnect: the bot resumes the same session.
    let resumes = fake.gateway_counts().1;
    fake.ask_reconnect();
    fake.until("resume after op 7", |f| (f.gateway_counts().1 > resumes && f.connected()).then_some(())).await;
    fake.dm(&alice, "Posted after the reconnect");
    wait_message(&fake, &thread, "post #6", |c| c.starts_with("#6 ") && c.contains("after the reconnect")).await;
    let (identifies, resumes, heartbeats, _) = fake.gateway_counts();
    assert_eq!(identifies, 1, "one session: resumed, never identified again");
    assert!(resumes >= 2 && heartbeats >= 1, "resumes {resumes}, heartbeats {heartbeats}");

    // Someone types in the thread: left alone, and told privately how to post anonymously.
    let typed = fake.guild_message(&dave, &thread, "I think the phone line is fine");
    let dave_dm = fake.dm_channel_of(dave.id);
    wait_message(&fake, &dave_dm, "the hint", |c| c.contains("not anonymous")).await;
    assert!(!fake.requests().iter().any(|r| r.method == "DELETE" && r.path.ends_with(&typed)));

    // A moderator (by role) removes post #1: the message is deleted.
    let mods = MODERATORS.to_string();
    fake.guild_message(&moderator, &mods, "!remove gp-access#1 names a member of staff");
    wait_message(&fake, &mods, "removal", |c| c.starts_with("Removed gp-access#1")).await;
    fake.until("post #1 deleted", |f| f.messages().into_iter().find(|m| m.id == first.id && m.deleted)).await;
    // Someone without the role is refused.
    fake.guild_message(&dave, &mods, "!ban #2");
    wait_message(&fake, &mods, "refusal", |c| c.to_lowercase().contains("moderator")).await;

    // A restart mid-delivery: post #7 gets a 429 with a long wait, parley stops, restarts.
    let limited = fake.requests().iter().filter(|r| r.status == 429).count();
    fake.rate_limit_next(1, 3.0);
    fake.dm(&alice, "Posted just before the restart");
    fake.until("a 429 before the restart", |f| {
        (f.requests().iter().filter(|r| r.status == 429).count() > limited).then_some(())
    })
    .await;
    bot.stop().await;
    let before = fake.messages().len();
    let bot = Bot::start(&fake, &db_url).await;
    wait_message(&fake, &thread, "post #7 after the restart", |c| c.starts_with("#7 ")).await;
    wait_message(&fake, &alice_dm, "the acknowledgement of #7", |c| c.starts_with("Posted as #7")).await;
    fake.dm(&alice, "Posted after the restart");
    wait_message(&fake, &thread, "post #8", |c| c.starts_with("#8 ") && c.contains("after the restart")).await;
    wait_message(&fake, &alice_dm, "the acknowledgement of #8", |c| c.starts_with("Posted as #8")).await;
    // Nothing replayed: after the restart, only what was pending (#7 or its acknowledgement)
    // and the new post went out.
    let after: Vec<String> = fake.messages()[before..].iter().map(|m| plain(&m.content)).collect();
    for m in &after {
        assert!(
            ["#7 ", "Posted as #7", "#8 ", "Posted as #8"].iter().any(|p| m.starts_with(p)),
            "only new messages after the restart: {after:#?}"
        );
    }
    let roots = fake.in_channel(&CHANNEL.to_string());
    assert_eq!(roots.len(), 2, "one thread root per open discussion, not recreated: {roots:#?}");
    for n in 1..=8 {
        let count =
            fake.in_channel(&thread).iter().filter(|m| plain(&m.content).starts_with(&format!("#{n} "))).count();
        assert_eq!(count, 1, "post #{n} appears once");
    }

    // No identity in anything the bot sent, nor in the database.
    let people = [&alice, &bob, &carol, &dave];
    let secrets: Vec<String> = people
        .iter()
        .flat_map(|p| [p.id.to_string(), p.username.clone(), p.global_name.clone(), fake.dm_channel_of(p.id)])
        .collect();
    for r in fake.requests() {
        if r.body.is_null() || r.path.ends_with("/users/@me/channels") {
            continue;
        }
        let body = r.body.to_string();
        for s in &secrets {
            assert!(!body.contains(s.as_str()), "{s} in {} {}: {body}", r.method, r.path);
        }
    }
    bot.stop().await;
    let bytes = std::fs::read(&db_path).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    // Interaction ids are event ids (deduplication); their tokens are never stored.
    let tokens: Vec<String> = [&join, &reply, &post].iter().map(|i| format!("tok-{i}-secret")).collect();
    for s in secrets.iter().chain(&tokens) {
        assert!(!text.contains(s.as_str()), "{s} in the database");
    }
    let _: Vec<Value> = fake.received();
}
