//! One engine for Matrix and Discord: a discussion is mirrored on both; on Discord in a
//! forum channel (a post per discussion).
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use chat::{Action, Conversation, Core, Destination, Inbound, Outcome, Platform, Roles, Sender};
use parley::clock::SystemClock;
use parley::config::Config;
use parley::engine::Engine;
use parley::identity::Identity;
use parley::store::Store;
use support::{bounded, FakeDiscord, Person, CHANNEL, COMMISSIONERS, MODERATORS};
use tokio::sync::oneshot;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_discussion_is_mirrored_on_matrix_and_a_discord_forum() {
    bounded(std::time::Duration::from_secs(300), async {
        let fake = FakeDiscord::start().await;
        let work = tempfile::tempdir().unwrap();
        let db_url = format!("sqlite://{}", work.path().join("parley.db").display());
        let store = Store::connect(&db_url).await.unwrap();
        let engine = Arc::new(
            Engine::start(
                store,
                Identity::new(b"mirror-secret-mirror-secret-mirror"),
                Arc::new(SystemClock),
                &Config::load(None).unwrap(),
                vec![Platform::Matrix, Platform::Discord],
            )
            .await
            .unwrap(),
        );
        let toml = format!(
            "token = \"t\"\nchannel = \"{CHANNEL}\"\nmoderators_channel = \"{MODERATORS}\"\n\
             commissioners_channel = \"{COMMISSIONERS}\"\ndiscussion_threads = \"forum\"\n"
        );
        let file: parley_discord::Config = toml::from_str(&toml).unwrap();
        let api = fake.api_url.clone();
        let config = parley_discord::Config::from_env_over(Some(file), move |name| {
            (name == "PARLEY_DISCORD_API_URL").then(|| api.clone())
        })
        .unwrap()
        .unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let core: Arc<dyn Core> = engine.clone();
        let task = tokio::spawn(parley_discord::run(config, core, async move {
            let _ = rx.await;
        }));

        // No guild configured: the commands are registered globally. A forum post per discussion.
        fake.until("global commands", |f| {
            f.requests()
                .into_iter()
                .find(|r| r.method == "PUT" && r.path.ends_with("/applications/900000000000000001/commands"))
        })
        .await;
        let forum_post = fake
            .until("the gp-access forum post", |f| {
                f.requests().into_iter().find(|r| {
                    r.path == format!("/api/v10/channels/{CHANNEL}/threads")
                        && r.body["message"]["content"].as_str().unwrap_or("").starts_with("gp-access")
                })
            })
            .await;
        assert_eq!(forum_post.body["message"]["allowed_mentions"], serde_json::json!({ "parse": [] }));
        let thread = fake
            .until("the forum thread", |f| {
                f.messages().into_iter().find(|m| m.content.starts_with("gp-access") && m.channel == m.id)
            })
            .await
            .id;

        // A Discord participant posts: the post goes to the forum thread and to Matrix.
        let alice = Person::new(930_000_000_000_000_001, "alice", "Alice");
        fake.slash(
            &alice,
            None,
            "post",
            serde_json::json!([
                { "name": "text", "type": 3, "value": "Parking at the hospital costs too much" },
                { "name": "discussion", "type": 3, "value": "gp-access" }
            ]),
        );
        fake.until("#1 on Discord", |f| {
            f.in_channel(&thread).into_iter().find(|m| m.content.contains("Parking at the hospital"))
        })
        .await;

        // The Matrix side, drained by hand: the thread root first, then the mirrored post.
        let mut matrix_posts = Vec::new();
        for _ in 0..50 {
            for d in engine.due(Platform::Matrix, 50).await {
                let id = format!("$m{}", d.id.0);
                if let (Destination::Thread { .. }, Action::Send) = (&d.outbound.destination, &d.outbound.action) {
                    matrix_posts.push(d.outbound.text.clone());
                }
                engine.report(d.id, Outcome::Delivered { message_id: Some(id) }).await;
            }
            if matrix_posts.iter().any(|t| t.contains("Parking at the hospital")) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(matrix_posts.iter().any(|t| t.starts_with("#1 ") && t.contains("Parking")), "{matrix_posts:?}");

        // A Matrix participant replies: the reply reaches the Discord forum thread.
        engine
            .handle(Inbound {
                platform: Platform::Matrix,
                event_id: "$bob-join".into(),
                sender: Sender { id: "@bob:example.org".into(), roles: Roles::default() },
                conversation: Conversation::Direct { address: "!bobdm:example.org".into() },
                text: "!join gp-access".into(),
                reply_to: None,
            })
            .await;
        engine
            .handle(Inbound {
                platform: Platform::Matrix,
                event_id: "$bob-reply".into(),
                sender: Sender { id: "@bob:example.org".into(), roles: Roles::default() },
                conversation: Conversation::Direct { address: "!bobdm:example.org".into() },
                text: "!reply #1 And the machines never take cards".into(),
                reply_to: None,
            })
            .await;
        let reply = fake
            .until("#2 from Matrix on Discord", |f| {
                f.in_channel(&thread).into_iter().find(|m| m.content.contains("never take cards"))
            })
            .await;
        assert!(reply.body["message_reference"]["message_id"].is_string(), "a reply to #1's Discord message");

        let _ = tx.send(());
        task.await.unwrap().unwrap();
        engine.store().close().await;
    })
    .await;
}
