//! parley end to end on a real Synapse (the core is a dev-dependency of this crate): the engine behind the Matrix adapter, participants
//! in an encrypted and a plain DM, a reader in the public room, a moderator, a restart of
//! the bot and an outage of the homeserver.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chat::{Core, Delivery, DeliveryId, Inbound, Outcome, Platform};
use matrix_sdk::ruma::{EventId, OwnedRoomId};
use parley::clock::SystemClock;
use parley::config::Config;
use parley::engine::Engine;
use parley::identity::Identity;
use parley::store::Store;
use support::{eventually, Deployment, Participant, Seen, WAIT};
use tokio::sync::{oneshot, Notify};

const SECRET: &[u8] = b"matrix-e2e-secret-matrix-e2e-secret";

/// The engine, with a flag raised once the adapter asks for deliveries (it is logged in
/// and its handlers are set).
struct Probe {
    engine: Arc<Engine>,
    polled: AtomicBool,
}

#[async_trait::async_trait]
impl Core for Probe {
    async fn handle(&self, inbound: Inbound) {
        self.engine.handle(inbound).await
    }
    async fn due(&self, platform: Platform, limit: usize) -> Vec<Delivery> {
        self.polled.store(true, Ordering::SeqCst);
        self.engine.due(platform, limit).await
    }
    async fn report(&self, id: DeliveryId, outcome: Outcome) {
        self.engine.report(id, outcome).await
    }
    fn wakeup(&self) -> Arc<Notify> {
        self.engine.wakeup()
    }
}

struct RealBot {
    engine: Arc<Engine>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), parley_matrix::Error>>,
}

impl RealBot {
    async fn start(dep: &Deployment, db_url: &str, data_dir: &std::path::Path) -> RealBot {
        let config = Config::load(None).unwrap();
        let store = Store::connect(db_url).await.unwrap();
        let identity = Identity::new(SECRET);
        let mut matrix = dep.config();
        matrix.store_passphrase = Some(identity.adapter_store_passphrase("matrix"));
        let engine = Arc::new(
            Engine::start(store, identity, Arc::new(SystemClock), &config, vec![Platform::Matrix]).await.unwrap(),
        );
        let probe = Arc::new(Probe { engine: engine.clone(), polled: AtomicBool::new(false) });
        let (tx, rx) = oneshot::channel::<()>();
        let core: Arc<dyn Core> = probe.clone();
        let task = tokio::spawn(parley_matrix::run(matrix, data_dir.to_owned(), core, async move {
            let _ = rx.await;
        }));
        eventually("the bot to start", WAIT, || async { probe.polled.load(Ordering::SeqCst).then_some(()) }).await;
        RealBot { engine, stop: Some(tx), task }
    }

    async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        tokio::time::timeout(WAIT, &mut self.task).await.unwrap().unwrap().unwrap();
        self.engine.store().close().await;
    }
}

/// Messages a participant saw in `room` whose body satisfies `pred`.
fn seen_in(p: &Participant, room: &OwnedRoomId, pred: impl Fn(&str) -> bool) -> Vec<Seen> {
    p.seen().into_iter().filter(|s| &s.room == room && pred(s.body())).collect()
}

async fn wait_seen(p: &Participant, room: &OwnedRoomId, what: &str, pred: impl Fn(&str) -> bool) -> Seen {
    eventually(what, WAIT, || async { seen_in(p, room, &pred).into_iter().next() }).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn anonymous_discussion_on_a_real_homeserver() {
    support::init_tracing();
    let scenario = async {
        support::synapse::install().await;
        let started = Instant::now();
        let dep = Deployment::new().await;
        let work = tempfile::tempdir().unwrap();
        let db_url = format!("sqlite://{}", work.path().join("parley.db").display());
        let data_dir = work.path().join("data");
        let bot = RealBot::start(&dep, &db_url, &data_dir).await;

        let reader = Participant::new(&dep.synapse, "reader").await;
        reader.client.join_room_by_id(&dep.public).await.unwrap();
        let public = dep.public.clone();
        let root = wait_seen(&reader, &public, "the gp-access thread root", |b| b.starts_with("gp-access — ")).await;

        // Two participants: Element-style encrypted DM and a plain DM.
        let alice = Participant::new(&dep.synapse, "alice").await;
        let bob = Participant::new(&dep.synapse, "bob").await;
        let alice_dm = alice.open_dm(&dep.bot_user, true).await;
        let bob_dm = bob.open_dm(&dep.bot_user, false).await;
        alice.wait_joined(&alice_dm, &dep.bot_user).await;
        bob.wait_joined(&bob_dm, &dep.bot_user).await;
        let (alice_room, bob_room) = (alice_dm.room_id().to_owned(), bob_dm.room_id().to_owned());

        let mut latencies = Vec::new();
        alice.send(&alice_dm, "!join gp-access").await;
        let joined = wait_seen(&alice, &alice_room, "alice joins", |b| b.contains("You have joined")).await;
        assert!(joined.encrypted, "the bot answers in the encrypted DM, encrypted");
        let sent = Instant::now();
        alice.send(&alice_dm, "The 8am phone queue at my GP is hopeless").await;
        let first = wait_seen(&reader, &public, "post #1", |b| {
            b.starts_with("#1 ") && b.ends_with("phone queue at my GP is hopeless")
        })
        .await;
        latencies.push(sent.elapsed());
        assert_eq!(first.content["m.relates_to"]["rel_type"], "m.thread");
        assert_eq!(first.content["m.relates_to"]["event_id"], root.event_id.as_str());

        bob.send(&bob_dm, "!join gp-access").await;
        wait_seen(&bob, &bob_room, "bob joins", |b| b.contains("You have joined")).await;
        let sent = Instant::now();
        bob.send(&bob_dm, "!reply #1 Same at mine, I gave up after 40 minutes").await;
        let reply =
            wait_seen(&reader, &public, "reply #2", |b| b.starts_with("#2 ") && b.contains("replying to #1")).await;
        latencies.push(sent.elapsed());
        assert_eq!(reply.content["m.relates_to"]["rel_type"], "m.thread");
        assert_eq!(reply.content["m.relates_to"]["m.in_reply_to"]["event_id"], first.event_id.as_str());
        assert_eq!(reply.content["m.mentions"], serde_json::json!({}));

        // The organisation answers post #2 under it, labelled and not anonymous: an in-thread
        // reply. Its "you said, we did" update goes into the thread and to both participants.
        let comms = dep.staff.client.get_room(&dep.commissioners).unwrap();
        dep.staff.wait_joined(&comms, &dep.bot_user).await;
        dep.staff
            .send(&comms, "!respond gp-access#2 Thank you, we have asked the practice about the phone queue")
            .await;
        let response = wait_seen(&reader, &public, "the organisation's response to #2", |b| {
            b.starts_with("RESPONSE FROM THE ORGANISATION (not anonymous) to #2:")
        })
        .await;
        assert_eq!(response.content["m.relates_to"]["rel_type"], "m.thread");
        assert_eq!(response.content["m.relates_to"]["event_id"], root.event_id.as_str());
        assert_eq!(response.content["m.relates_to"]["m.in_reply_to"]["event_id"], reply.event_id.as_str());
        dep.staff
            .send(&comms, "!update gp-access You said mornings were hard: the practice now takes calls from 7am")
            .await;
        let update = wait_seen(&reader, &public, "the update in the thread", |b| {
            b.starts_with("UPDATE FROM THE ORGANISATION (not anonymous)")
        })
        .await;
        assert_eq!(update.content["m.relates_to"]["rel_type"], "m.thread");
        wait_seen(&alice, &alice_room, "alice gets the update", |b| b.contains("You said, we did")).await;
        wait_seen(&bob, &bob_room, "bob gets the update", |b| b.contains("You said, we did")).await;
        for (who, room, text) in [
            (&alice, &alice_dm, "The receptionist did find me a cancellation in the end"),
            (&bob, &bob_dm, "Online booking would help people who work shifts"),
        ] {
            let sent = Instant::now();
            who.send(room, text).await;
            wait_seen(&reader, &public, text, |b| b.ends_with(text)).await;
            latencies.push(sent.elapsed());
        }

        // A post with a link is held; the moderator approves it from the moderators room.
        bob.send(&bob_dm, "More about my experience at www.example-blog.co.uk").await;
        wait_seen(&bob, &bob_room, "bob's post held", |b| b.contains("once a moderator has reviewed it")).await;
        let mods = dep.staff.client.get_room(&dep.moderators).unwrap();
        dep.staff.wait_joined(&mods, &dep.bot_user).await;
        let moderators = dep.moderators.clone();
        wait_seen(&dep.staff, &moderators, "the held-post alert", |b| b.starts_with("Held for review: gp-access#5"))
            .await;
        dep.staff.send(&mods, "!approve gp-access#5").await;
        wait_seen(&dep.staff, &moderators, "approval", |b| b.starts_with("Approved gp-access#5")).await;
        wait_seen(&reader, &public, "post #5 published", |b| b.starts_with("#5 ") && b.contains("example-blog")).await;

        // The bot restarts; a message sent while it is down is handled once, nothing twice.
        bot.stop().await;
        alice.send(&alice_dm, "Posting while the bot restarts").await;
        let bot = RealBot::start(&dep, &db_url, &data_dir).await;
        wait_seen(&reader, &public, "post #6 after the restart", |b| {
            b.starts_with("#6 ") && b.ends_with("while the bot restarts")
        })
        .await;

        // The moderator removes post #1: it is redacted in the room.
        dep.staff.send(&mods, "!remove gp-access#1 names a member of staff").await;
        wait_seen(&dep.staff, &moderators, "removal", |b| b.starts_with("Removed gp-access#1")).await;
        let public_room = reader.client.get_room(&public).unwrap();
        let first_id = EventId::parse(first.event_id.as_str()).unwrap();
        eventually("post #1 to be redacted", WAIT, || async {
            let ev = public_room.event(&first_id, None).await.ok()?;
            let json: serde_json::Value = ev.raw().deserialize_as().ok()?;
            (json["content"].get("body").is_none() && json["unsigned"].get("redacted_because").is_some()).then_some(())
        })
        .await;
        wait_seen(&alice, &alice_room, "alice told of the removal", |b| b.contains("was removed by the moderators"))
            .await;

        // The homeserver goes away; a post the core accepted meanwhile is delivered later.
        dep.synapse.stop().await;
        bot.engine
            .handle(Inbound {
                platform: Platform::Matrix,
                event_id: "$accepted-during-outage".into(),
                sender: chat::Sender { id: alice.user_id.clone(), roles: chat::Roles::default() },
                conversation: chat::Conversation::Direct { address: alice_room.to_string() },
                text: "Accepted while the homeserver was down".into(),
                reply_to: None,
            })
            .await;
        tokio::time::sleep(Duration::from_secs(4)).await;
        assert!(bot.engine.store().pending_count().await.unwrap() >= 2, "the post and its acknowledgement wait");
        dep.synapse.resume().await;
        wait_seen(&reader, &public, "post #7 after the outage", |b| {
            b.starts_with("#7 ") && b.ends_with("homeserver was down")
        })
        .await;
        wait_seen(&alice, &alice_room, "alice's acknowledgement after the outage", |b| b.starts_with("Posted as #7"))
            .await;

        // Nothing lost, nothing doubled, no old command handled twice.
        let posts = seen_in(&reader, &public, |b| b.starts_with('#'));
        for n in 1..=7 {
            let count = posts.iter().filter(|s| s.body().starts_with(&format!("#{n} "))).count();
            assert_eq!(count, 1, "post #{n} appears once: {:?}", posts.iter().map(|s| s.body()).collect::<Vec<_>>());
        }
        assert_eq!(seen_in(&alice, &alice_room, |b| b.contains("You have joined")).len(), 1);
        assert_eq!(seen_in(&bob, &bob_room, |b| b.contains("You have joined")).len(), 1);
        assert_eq!(seen_in(&alice, &alice_room, |b| b.starts_with("Posted as #6")).len(), 1);

        // No participant's user id or display name (the localpart) anywhere in the public
        // room or the moderators' alerts.
        let names_someone = |json: &str| {
            let lower = json.to_lowercase();
            lower.contains("@alice:localhost")
                || lower.contains("@bob:localhost")
                || lower.split(|c: char| !c.is_alphanumeric()).any(|w| w == "alice" || w == "bob")
        };
        for s in reader.seen().iter().filter(|s| s.room == public) {
            assert!(!names_someone(&s.content.to_string()), "identity in a public message: {}", s.content);
            assert_eq!(s.sender, dep.bot_user, "only the bot speaks in the public room");
        }
        for s in dep.staff.seen().iter().filter(|s| s.room == moderators && s.sender == dep.bot_user) {
            assert!(!names_someone(&s.content.to_string()), "identity in a moderator alert: {}", s.content);
        }
        // And none in the database.
        bot.stop().await;
        let bytes = std::fs::read(work.path().join("parley.db")).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("@alice") && !text.contains("@bob") && !text.contains(alice_room.as_str()));

        latencies.sort();
        let median = latencies[latencies.len() / 2];
        eprintln!(
            "matrix e2e: DM→published post latencies {:?}, median {:?}; scenario took {:?}",
            latencies,
            median,
            started.elapsed()
        );
    };
    tokio::time::timeout(Duration::from_secs(600), scenario).await.expect("the scenario finishes in time");
}
