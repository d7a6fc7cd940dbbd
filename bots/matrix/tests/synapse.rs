//! The Matrix adapter against a real Synapse on loopback (installed on first use by
//! `scripts/synapse.sh install`). Each test runs its own homeserver.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use chat::{Action, Conversation, Destination, Outbound, Outcome};
use matrix_sdk::ruma::{EventId, RoomId, UserId};
use support::{eventually, Bot, Deployment, FakeCore, Participant, WAIT};

fn direct(room: &RoomId, text: &str) -> Outbound {
    Outbound {
        destination: Destination::Direct { address: room.to_string() },
        text: text.into(),
        reply_to: None,
        action: Action::Send,
    }
}

/// Runs a test body with an overall time limit (not counting a first Synapse install).
async fn bounded<F: std::future::Future<Output = ()>>(limit: Duration, body: F) {
    tokio::time::timeout(Duration::from_secs(900), support::synapse::install())
        .await
        .expect("synapse installs within 15 minutes");
    tokio::time::timeout(limit, body).await.expect("test finished within its time limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn direct_messages_encrypted_and_plain() {
    support::init_tracing();
    bounded(Duration::from_secs(240), async {
        let dep = Deployment::new().await;
        let data = tempfile::tempdir().unwrap();
        let core = FakeCore::new(true);
        let bot = Bot::start(dep.config(), data.path().to_owned(), core.clone()).await;

        let alice = Participant::new(&dep.synapse, "alice").await;
        let bob = Participant::new(&dep.synapse, "bob").await;
        let a_room = alice.open_dm(&dep.bot_user, true).await;
        let b_room = bob.open_dm(&dep.bot_user, false).await;
        alice.wait_joined(&a_room, &dep.bot_user).await;
        bob.wait_joined(&b_room, &dep.bot_user).await;
        assert!(a_room.latest_encryption_state().await.unwrap().is_encrypted());
        assert!(!b_room.latest_encryption_state().await.unwrap().is_encrypted());

        // Encrypted DM: decrypted by the bot, reply encrypted back.
        let sent_at = Instant::now();
        alice.send(&a_room, "hello from alice").await;
        let (inbound, arrived) = core.wait_inbound("hello from alice").await;
        let encrypted_latency = arrived - sent_at;
        assert_eq!(inbound.platform, chat::Platform::Matrix);
        assert_eq!(inbound.sender.id, alice.user_id);
        assert_eq!(inbound.sender.roles, chat::Roles::default());
        assert_eq!(inbound.conversation, Conversation::Direct { address: a_room.room_id().to_string() });
        assert!(inbound.event_id.starts_with('$'));
        let reply = alice.wait_message(a_room.room_id(), "echo: hello from alice").await;
        assert_eq!(reply.sender, dep.bot_user);
        assert!(reply.encrypted, "the bot's reply in an encrypted DM is encrypted");
        assert_eq!(reply.content["msgtype"], "m.notice");
        assert_eq!(reply.content["m.mentions"], serde_json::json!({}));

        // Plain DM.
        let sent_at = Instant::now();
        bob.send(&b_room, "hello from bob").await;
        let (inbound, arrived) = core.wait_inbound("hello from bob").await;
        let plain_latency = arrived - sent_at;
        assert_eq!(inbound.sender.id, bob.user_id);
        assert_eq!(inbound.conversation, Conversation::Direct { address: b_room.room_id().to_string() });
        let reply = bob.wait_message(b_room.room_id(), "echo: hello from bob").await;
        assert!(!reply.encrypted);

        // A few more round trips for a rough latency figure.
        let mut samples = vec![encrypted_latency, plain_latency];
        for i in 0..5 {
            let text = format!("ping {i}");
            let sent_at = Instant::now();
            alice.send(&a_room, &text).await;
            let (_, arrived) = core.wait_inbound(&text).await;
            samples.push(arrived - sent_at);
        }
        samples.sort();
        println!(
            "DM -> Inbound latency: encrypted first {encrypted_latency:?}, plain first {plain_latency:?}, median {:?}, max {:?}",
            samples[samples.len() / 2],
            samples[samples.len() - 1]
        );

        // The bot's own messages never come back as inbounds.
        assert!(core.inbounds().iter().all(|i| !i.text.starts_with("echo:")));
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn threads_replies_redaction_and_staff_rooms() {
    support::init_tracing();
    bounded(Duration::from_secs(240), async {
        let dep = Deployment::new().await;
        let data = tempfile::tempdir().unwrap();
        let core = FakeCore::new(false);
        let bot = Bot::start(dep.config(), data.path().to_owned(), core.clone()).await;

        let reader = Participant::new(&dep.synapse, "reader").await;
        let public = reader.client.join_room_by_id(&dep.public).await.unwrap();

        // The bot turned link previews off in the public room.
        eventually("link previews to be turned off", WAIT, || async {
            use matrix_sdk::ruma::events::StateEventType;
            let raw = public.get_state_event(StateEventType::from("org.matrix.room.preview_urls"), "").await.ok()??;
            let json = match &raw {
                matrix_sdk::deserialized_responses::RawAnySyncOrStrippedState::Sync(r) => r.json().get(),
                matrix_sdk::deserialized_responses::RawAnySyncOrStrippedState::Stripped(r) => r.json().get(),
            };
            let value: serde_json::Value = serde_json::from_str(json).ok()?;
            (value["content"]["disable"] == true).then_some(())
        })
        .await;

        // Thread root.
        let open = core.enqueue(Outbound {
            destination: Destination::Thread { slug: "gp-access".into(), root: None },
            text: "GP access\nHow easy is it to see your GP?".into(),
            reply_to: None,
            action: Action::OpenThread,
        });
        let root = core.wait_delivered(open).await.expect("root message id");
        let seen_root = reader.wait_message(&dep.public, "GP access\nHow easy is it to see your GP?").await;
        assert_eq!(seen_root.event_id.as_str(), root);
        assert!(seen_root.content.get("m.relates_to").is_none());
        assert_eq!(seen_root.content["formatted_body"], "GP access<br>How easy is it to see your GP?");

        // A post in the thread, with markup and a room mention that must stay inert.
        let hostile = "<b>@room</b> & <a href=\"https://evil.example\">x</a>";
        let post = core.enqueue(Outbound {
            destination: Destination::Thread { slug: "gp-access".into(), root: Some(root.clone()) },
            text: hostile.into(),
            reply_to: None,
            action: Action::Send,
        });
        let post_id = core.wait_delivered(post).await.expect("post id");
        let seen_post = reader.wait_message(&dep.public, hostile).await;
        assert_eq!(seen_post.event_id.as_str(), post_id);
        assert_eq!(seen_post.content["msgtype"], "m.text");
        assert_eq!(seen_post.content["format"], "org.matrix.custom.html");
        assert_eq!(
            seen_post.content["formatted_body"],
            "&lt;b&gt;@room&lt;/b&gt; &amp; &lt;a href=&quot;https://evil.example&quot;&gt;x&lt;/a&gt;"
        );
        assert_eq!(seen_post.content["m.mentions"], serde_json::json!({}));
        let rel = &seen_post.content["m.relates_to"];
        assert_eq!(rel["rel_type"], "m.thread");
        assert_eq!(rel["event_id"], root.as_str());
        assert_eq!(rel["is_falling_back"], true);

        // An in-thread reply to that post.
        let reply = core.enqueue(Outbound {
            destination: Destination::Thread { slug: "gp-access".into(), root: Some(root.clone()) },
            text: "#2 Amber Otter: I agree".into(),
            reply_to: Some(post_id.clone()),
            action: Action::Send,
        });
        let reply_id = core.wait_delivered(reply).await.expect("reply id");
        let seen_reply = reader.wait_message(&dep.public, "#2 Amber Otter: I agree").await;
        assert_eq!(seen_reply.event_id.as_str(), reply_id);
        let rel = &seen_reply.content["m.relates_to"];
        assert_eq!(rel["rel_type"], "m.thread");
        assert_eq!(rel["event_id"], root.as_str());
        // `is_falling_back: false` is the default, so it may be left out.
        assert_ne!(rel["is_falling_back"], true);
        assert_eq!(rel["m.in_reply_to"]["event_id"], post_id.as_str());

        // Removal redacts the post for readers.
        let remove = core.enqueue(Outbound {
            destination: Destination::Thread { slug: "gp-access".into(), root: Some(root.clone()) },
            text: String::new(),
            reply_to: None,
            action: Action::Remove { message_id: post_id.clone() },
        });
        core.wait_delivered(remove).await;
        let post_event = EventId::parse(post_id.as_str()).unwrap();
        eventually("the post to be redacted", WAIT, || async {
            let ev = public.event(&post_event, None).await.ok()?;
            let json: serde_json::Value = ev.raw().deserialize_as().ok()?;
            let redacted = json["content"].get("body").is_none() && json["unsigned"].get("redacted_because").is_some();
            redacted.then_some(())
        })
        .await;

        // Staff rooms: the creator (power level 100) is a moderator in the moderators room
        // and a commissioner in the commissioners room.
        let staff = &dep.staff;
        let mods = staff.client.get_room(&dep.moderators).unwrap();
        staff.wait_joined(&mods, &dep.bot_user).await;
        staff.send(&mods, "!queue").await;
        let (inbound, _) = core.wait_inbound("!queue").await;
        assert_eq!(inbound.conversation, Conversation::Moderators);
        assert!(inbound.sender.roles.moderator);
        assert!(!inbound.sender.roles.commissioner);
        let comms = staff.client.get_room(&dep.commissioners).unwrap();
        staff.wait_joined(&comms, &dep.bot_user).await;
        staff.send(&comms, "!summary gp-access").await;
        let (inbound, _) = core.wait_inbound("!summary gp-access").await;
        assert_eq!(inbound.conversation, Conversation::Commissioners);
        assert!(inbound.sender.roles.commissioner);
        assert!(!inbound.sender.roles.moderator);

        // A member without power in the moderators room is not a moderator.
        let reader_id = UserId::parse(reader.user_id.as_str()).unwrap();
        mods.invite_user_by_id(&reader_id).await.unwrap();
        let reader_mods =
            eventually("reader's invite", WAIT, || async { reader.client.get_room(&dep.moderators) }).await;
        reader_mods.join().await.unwrap();
        reader.send(&reader_mods, "!approve #1").await;
        let (inbound, _) = core.wait_inbound("!approve #1").await;
        assert_eq!(inbound.conversation, Conversation::Moderators);
        assert!(!inbound.sender.roles.moderator);

        // Messages to the staff rooms.
        let alert = core.enqueue(Outbound {
            destination: Destination::Moderators,
            text: "Post #3 held for review".into(),
            reply_to: None,
            action: Action::Send,
        });
        core.wait_delivered(alert).await;
        staff.wait_message(&dep.moderators, "Post #3 held for review").await;
        let note = core.enqueue(Outbound {
            destination: Destination::Commissioners,
            text: "Summary ready".into(),
            reply_to: None,
            action: Action::Send,
        });
        core.wait_delivered(note).await;
        staff.wait_message(&dep.commissioners, "Summary ready").await;

        // Nothing from the public room reaches the core.
        reader.send(&public, "hello public").await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(core.inbounds().iter().all(|i| i.text != "hello public"));
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restart_keeps_device_and_does_not_replay() {
    support::init_tracing();
    bounded(Duration::from_secs(300), async {
        let dep = Deployment::new().await;
        let data = tempfile::tempdir().unwrap();
        let core1 = FakeCore::new(true);
        let bot = Bot::start(dep.config(), data.path().to_owned(), core1.clone()).await;

        let alice = Participant::new(&dep.synapse, "alice").await;
        let room = alice.open_dm(&dep.bot_user, true).await;
        alice.wait_joined(&room, &dep.bot_user).await;
        alice.send(&room, "before restart").await;
        core1.wait_inbound("before restart").await;
        alice.wait_message(room.room_id(), "echo: before restart").await;

        let bot_id = UserId::parse(dep.bot_user.as_str()).unwrap();
        let devices_before: Vec<String> = bot_devices(&alice, &bot_id).await;
        assert_eq!(devices_before.len(), 1, "one bot device: {devices_before:?}");
        bot.stop().await;

        // Sent while the bot is down: handled after the restart.
        alice.send(&room, "while down").await;

        let core2 = FakeCore::new(true);
        let bot = Bot::start(dep.config(), data.path().to_owned(), core2.clone()).await;
        core2.wait_inbound("while down").await;
        alice.send(&room, "after restart").await;
        core2.wait_inbound("after restart").await;
        alice.wait_message(room.room_id(), "echo: after restart").await;
        alice.wait_message(room.room_id(), "echo: while down").await;

        let texts: Vec<String> = core2.inbounds().into_iter().map(|i| i.text).collect();
        assert!(!texts.contains(&"before restart".to_owned()), "old event replayed: {texts:?}");
        assert_eq!(texts.iter().filter(|t| *t == "while down").count(), 1);

        let devices_after = bot_devices(&alice, &bot_id).await;
        assert_eq!(devices_after, devices_before, "the restart reused the device");
        bot.stop().await;
    })
    .await;
}

async fn bot_devices(p: &Participant, bot: &UserId) -> Vec<String> {
    let devices = p.client.encryption().get_user_devices(bot).await.unwrap();
    let mut ids: Vec<String> = devices.devices().map(|d| d.device_id().to_string()).collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn homeserver_outage_fails_then_delivers() {
    support::init_tracing();
    bounded(Duration::from_secs(300), async {
        let dep = Deployment::new().await;
        let data = tempfile::tempdir().unwrap();
        let core = FakeCore::new(true);
        let bot = Bot::start(dep.config(), data.path().to_owned(), core.clone()).await;

        let alice = Participant::new(&dep.synapse, "alice").await;
        let bob = Participant::new(&dep.synapse, "bob").await;
        let a_room = alice.open_dm(&dep.bot_user, true).await;
        let b_room = bob.open_dm(&dep.bot_user, false).await;
        alice.wait_joined(&a_room, &dep.bot_user).await;
        bob.wait_joined(&b_room, &dep.bot_user).await;
        alice.send(&a_room, "hi").await;
        core.wait_inbound("hi").await;
        alice.wait_message(a_room.room_id(), "echo: hi").await;

        dep.synapse.stop().await;
        let to_alice = core.enqueue(direct(a_room.room_id(), "sent during the outage (encrypted)"));
        let to_bob = core.enqueue(direct(b_room.room_id(), "sent during the outage"));
        for id in [to_alice, to_bob] {
            match core.wait_failed(id).await {
                Outcome::Failed { retry_after } => assert_eq!(retry_after, None),
                other => panic!("unexpected {other:?}"),
            }
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        dep.synapse.resume().await;

        core.wait_delivered(to_alice).await.expect("event id");
        core.wait_delivered(to_bob).await.expect("event id");
        alice.wait_message(a_room.room_id(), "sent during the outage (encrypted)").await;
        bob.wait_message(b_room.room_id(), "sent during the outage").await;

        // The sync loop recovered too.
        bob.send(&b_room, "after the outage").await;
        core.wait_inbound("after the outage").await;
        bob.wait_message(b_room.room_id(), "echo: after the outage").await;
        bot.stop().await;

        // The bot (re)starts while the homeserver is down, and comes up when it is back.
        dep.synapse.stop().await;
        let core = FakeCore::new(true);
        let (bot, ()) = tokio::join!(Bot::start(dep.config(), data.path().to_owned(), core.clone()), async {
            tokio::time::sleep(Duration::from_secs(3)).await;
            dep.synapse.resume().await;
        });
        bob.send(&b_room, "after a cold start").await;
        core.wait_inbound("after a cold start").await;
        bob.wait_message(b_room.room_id(), "echo: after a cold start").await;
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn access_token_login() {
    support::init_tracing();
    bounded(Duration::from_secs(240), async {
        let dep = Deployment::new().await;
        // A token from a plain password login, for a device without encryption keys yet.
        let login: serde_json::Value = reqwest::Client::new()
            .post(format!("{}/_matrix/client/v3/login", dep.synapse.base_url()))
            .json(&serde_json::json!({
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": "parley"},
                "password": dep.bot_password,
                "device_id": "TOKENDEVICE",
            }))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut config = dep.config();
        config.password = None;
        config.access_token = Some(login["access_token"].as_str().unwrap().to_owned());

        let data = tempfile::tempdir().unwrap();
        let core = FakeCore::new(true);
        let bot = Bot::start(config.clone(), data.path().to_owned(), core.clone()).await;
        let alice = Participant::new(&dep.synapse, "alice").await;
        let room = alice.open_dm(&dep.bot_user, true).await;
        alice.wait_joined(&room, &dep.bot_user).await;
        alice.send(&room, "token hello").await;
        core.wait_inbound("token hello").await;
        let reply = alice.wait_message(room.room_id(), "echo: token hello").await;
        assert!(reply.encrypted);
        let bot_id = UserId::parse(dep.bot_user.as_str()).unwrap();
        assert_eq!(bot_devices(&alice, &bot_id).await, vec!["TOKENDEVICE".to_owned()]);
        bot.stop().await;

        // Restarts from the saved session with the same token.
        let core = FakeCore::new(true);
        let bot = Bot::start(config, data.path().to_owned(), core.clone()).await;
        alice.send(&room, "token again").await;
        core.wait_inbound("token again").await;
        alice.wait_message(room.room_id(), "echo: token again").await;
        bot.stop().await;
    })
    .await;
}

/// A DM room that a third person joined after the conversation began is no longer private:
/// the adapter refuses to deliver into it (checked when delivering, not only on arrival).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_delivery_into_a_dm_room_that_others_joined() {
    support::init_tracing();
    bounded(Duration::from_secs(240), async {
        let dep = Deployment::new().await;
        let data = tempfile::tempdir().unwrap();
        let core = FakeCore::new(false);
        let bot = Bot::start(dep.config(), data.path().to_owned(), core.clone()).await;

        let alice = Participant::new(&dep.synapse, "alice").await;
        let eve = Participant::new(&dep.synapse, "eve").await;
        let room = alice.open_dm(&dep.bot_user, false).await;
        alice.wait_joined(&room, &dep.bot_user).await;
        alice.send(&room, "hello").await;
        core.wait_inbound("hello").await;

        // Alice (or anyone with the right) brings a third person into the "DM".
        room.invite_user_by_id(&UserId::parse(&eve.user_id).unwrap()).await.unwrap();
        eve.client.join_room_by_id(room.room_id()).await.unwrap();
        alice.wait_joined(&room, &eve.user_id).await;
        // Let the bot's sync see the new member (the long poll returns on new events).
        tokio::time::sleep(Duration::from_secs(3)).await;

        let answer = core.enqueue(direct(room.room_id(), "your private answer"));
        let outcome = core.wait_outcome(answer).await;
        assert!(matches!(outcome, Outcome::Rejected { .. }), "{outcome:?}");
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(eve.seen().iter().all(|s| s.body() != "your private answer"), "nothing reached the room");
        bot.stop().await;
    })
    .await;
}
