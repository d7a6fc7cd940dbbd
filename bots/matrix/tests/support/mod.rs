//! Shared helpers for the Matrix adapter's tests: a real Synapse ([`synapse`]), a scriptable
//! fake [`chat::Core`], matrix-sdk participant clients and a running bot.
#![allow(dead_code, clippy::unwrap_used)]

pub mod synapse;

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chat::{Delivery, DeliveryId, Destination, Inbound, Outbound, Outcome, Platform};
use matrix_sdk::config::SyncSettings;
use matrix_sdk::deserialized_responses::EncryptionInfo;
use matrix_sdk::room::Room;
use matrix_sdk::ruma::events::room::message::OriginalSyncRoomMessageEvent;
use matrix_sdk::ruma::{OwnedEventId, OwnedRoomId, RoomId, UserId};
use matrix_sdk::Client;
use tokio::sync::{oneshot, Notify};
use tokio::task::JoinHandle;

pub use synapse::Synapse;

/// Default bound for every wait in these tests.
pub const WAIT: Duration = Duration::from_secs(60);

/// Polls `check` every 100 ms until it returns `Some`, panicking with `what` after `limit`.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out after {limit:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---------------------------------------------------------------- fake core

/// A scriptable [`chat::Core`]: records inbounds, optionally answers each DM with an
/// `echo: TEXT` delivery, queues deliveries the test enqueues, records every outcome and
/// re-queues failed deliveries after a short back-off (or the asked `retry_after`).
#[derive(Default)]
pub struct FakeCore {
    pub echo_dms: bool,
    inbounds: Mutex<Vec<(Inbound, Instant)>>,
    queue: Mutex<VecDeque<(Instant, Delivery)>>,
    in_flight: Mutex<HashMap<DeliveryId, Delivery>>,
    outcomes: Mutex<Vec<(DeliveryId, Outcome)>>,
    next_id: AtomicI64,
    wakeup: Arc<Notify>,
    due_calls: AtomicUsize,
}

impl FakeCore {
    pub fn new(echo_dms: bool) -> Arc<FakeCore> {
        Arc::new(FakeCore { echo_dms, ..FakeCore::default() })
    }

    /// Queues a delivery and wakes the adapter.
    pub fn enqueue(&self, outbound: Outbound) -> DeliveryId {
        let id = DeliveryId(self.next_id.fetch_add(1, Ordering::SeqCst) + 1);
        self.queue.lock().unwrap().push_back((Instant::now(), Delivery { id, outbound, choices: None }));
        self.wakeup.notify_one();
        id
    }

    pub fn inbounds(&self) -> Vec<Inbound> {
        self.inbounds.lock().unwrap().iter().map(|(i, _)| i.clone()).collect()
    }

    /// Waits for an inbound with this text; returns it and when it arrived.
    pub async fn wait_inbound(&self, text: &str) -> (Inbound, Instant) {
        eventually(&format!("inbound {text:?}"), WAIT, || async {
            self.inbounds.lock().unwrap().iter().find(|(i, _)| i.text == text).cloned()
        })
        .await
    }

    pub fn outcomes_of(&self, id: DeliveryId) -> Vec<Outcome> {
        self.outcomes.lock().unwrap().iter().filter(|(i, _)| *i == id).map(|(_, o)| o.clone()).collect()
    }

    /// Waits until the delivery was delivered; returns its message id.
    pub async fn wait_delivered(&self, id: DeliveryId) -> Option<String> {
        eventually(&format!("delivery {id:?}"), WAIT, || async {
            self.outcomes_of(id).into_iter().find_map(|o| match o {
                Outcome::Delivered { message_id } => Some(message_id),
                Outcome::Failed { .. } => None,
                Outcome::Rejected { reason } => panic!("delivery {id:?} rejected: {reason}"),
            })
        })
        .await
    }

    /// Waits until the delivery failed at least once.
    pub async fn wait_failed(&self, id: DeliveryId) -> Outcome {
        eventually(&format!("failure of {id:?}"), WAIT, || async {
            self.outcomes_of(id).into_iter().find(|o| matches!(o, Outcome::Failed { .. }))
        })
        .await
    }

    /// Waits until the delivery has any outcome.
    pub async fn wait_outcome(&self, id: DeliveryId) -> Outcome {
        eventually(&format!("an outcome of {id:?}"), WAIT, || async { self.outcomes_of(id).into_iter().next() }).await
    }

    /// Waits until the adapter asked for work (it is then fully started).
    pub async fn wait_polled(&self) {
        let before = self.due_calls.load(Ordering::SeqCst);
        eventually("the adapter to poll the outbox", WAIT, || async {
            (self.due_calls.load(Ordering::SeqCst) > before).then_some(())
        })
        .await
    }
}

#[async_trait::async_trait]
impl chat::Core for FakeCore {
    async fn handle(&self, inbound: Inbound) {
        if self.echo_dms {
            if let chat::Conversation::Direct { address } = &inbound.conversation {
                self.enqueue(Outbound {
                    destination: Destination::Direct { address: address.clone() },
                    text: format!("echo: {}", inbound.text),
                    reply_to: None,
                    action: chat::Action::Send,
                });
            }
        }
        self.inbounds.lock().unwrap().push((inbound, Instant::now()));
    }

    async fn due(&self, platform: Platform, limit: usize) -> Vec<Delivery> {
        assert_eq!(platform, Platform::Matrix);
        self.due_calls.fetch_add(1, Ordering::SeqCst);
        let now = Instant::now();
        let mut queue = self.queue.lock().unwrap();
        let mut out = Vec::new();
        let mut rest = VecDeque::new();
        while let Some((at, d)) = queue.pop_front() {
            if at <= now && out.len() < limit {
                out.push(d);
            } else {
                rest.push_back((at, d));
            }
        }
        *queue = rest;
        let mut in_flight = self.in_flight.lock().unwrap();
        for d in &out {
            in_flight.insert(d.id, d.clone());
        }
        out
    }

    async fn report(&self, id: DeliveryId, outcome: Outcome) {
        let delivery = self.in_flight.lock().unwrap().remove(&id);
        if let (Outcome::Failed { retry_after }, Some(d)) = (&outcome, delivery) {
            let wait = retry_after.unwrap_or(Duration::from_millis(300));
            self.queue.lock().unwrap().push_back((Instant::now() + wait, d));
        }
        self.outcomes.lock().unwrap().push((id, outcome));
    }

    fn wakeup(&self) -> Arc<Notify> {
        self.wakeup.clone()
    }
}

// ---------------------------------------------------------------- the bot

/// Rooms a test deployment needs, created by a staff user who is their admin.
pub struct Deployment {
    pub synapse: Synapse,
    pub bot_user: String,
    pub bot_password: String,
    pub staff: Participant,
    pub public: OwnedRoomId,
    pub moderators: OwnedRoomId,
    pub commissioners: OwnedRoomId,
}

impl Deployment {
    /// Starts Synapse, registers the bot and a staff user, and lets staff create the public
    /// room (with alias `#talk:localhost`) and the two private staff rooms, inviting the bot.
    pub async fn new() -> Deployment {
        let synapse = Synapse::start().await;
        let bot_user = synapse.register("parley", "bot-password").await;
        let staff = Participant::new(&synapse, "staff").await;
        let bot_id = UserId::parse(bot_user.as_str()).unwrap();
        use matrix_sdk::ruma::api::client::room::create_room::v3::{Request, RoomPreset};
        let mut req = Request::new();
        req.preset = Some(RoomPreset::PublicChat);
        req.room_alias_name = Some("talk".into());
        req.name = Some("NHS talk".into());
        // The bot may set room state (it turns link previews off).
        req.power_level_content_override = Some(
            matrix_sdk::ruma::serde::Raw::new(&serde_json::json!({
                "users": { bot_user.clone(): 50 }
            }))
            .unwrap()
            .cast_unchecked(),
        );
        let public = staff.client.create_room(req).await.unwrap().room_id().to_owned();
        let mut private = Vec::new();
        for name in ["moderators", "commissioners"] {
            let mut req = Request::new();
            req.preset = Some(RoomPreset::PrivateChat);
            req.name = Some(name.into());
            req.invite = vec![bot_id.clone()];
            private.push(staff.client.create_room(req).await.unwrap().room_id().to_owned());
        }
        let commissioners = private.pop().unwrap();
        let moderators = private.pop().unwrap();
        Deployment { synapse, bot_user, bot_password: "bot-password".into(), staff, public, moderators, commissioners }
    }

    pub fn config(&self) -> parley_matrix::Config {
        parley_matrix::Config {
            homeserver: self.synapse.base_url().to_owned(),
            user: self.bot_user.clone(),
            password: Some(self.bot_password.clone()),
            access_token: None,
            room: "#talk:localhost".into(),
            moderators_room: self.moderators.to_string(),
            commissioners_room: self.commissioners.to_string(),
            moderators: Vec::new(),
            commissioners: Vec::new(),
            power_level_threshold: Some(50),
            store_passphrase: None,
            device_name: "parley test".into(),
        }
    }
}

/// A running adapter.
pub struct Bot {
    pub core: Arc<FakeCore>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), parley_matrix::Error>>>,
}

impl Bot {
    /// Runs the adapter and waits until it polls the outbox (logged in, handlers set).
    pub async fn start(config: parley_matrix::Config, data_dir: PathBuf, core: Arc<FakeCore>) -> Bot {
        let (tx, rx) = oneshot::channel::<()>();
        let dyn_core: Arc<dyn chat::Core> = core.clone();
        let task = tokio::spawn(parley_matrix::run(config, data_dir, dyn_core, async move {
            let _ = rx.await;
        }));
        let bot = Bot { core, stop: Some(tx), task: Some(task) };
        bot.core.wait_polled().await;
        bot
    }

    /// Asks the adapter to stop and waits for `run` to return.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(WAIT, task)
                .await
                .expect("adapter stops in time")
                .expect("adapter task")
                .expect("adapter returns Ok");
        }
    }
}

impl Drop for Bot {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

// ---------------------------------------------------------------- participants

/// A message as a participant's client saw it (decrypted when it was encrypted).
#[derive(Debug, Clone)]
pub struct Seen {
    pub room: OwnedRoomId,
    pub event_id: OwnedEventId,
    pub sender: String,
    pub content: serde_json::Value,
    pub encrypted: bool,
}

impl Seen {
    pub fn body(&self) -> &str {
        self.content["body"].as_str().unwrap_or_default()
    }
}

/// A matrix-sdk client (with end-to-end encryption and a SQLite store) registered on the
/// test server, syncing in the background and recording every message it sees.
pub struct Participant {
    pub client: Client,
    pub user_id: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    sync: JoinHandle<()>,
    _store: tempfile::TempDir,
}

impl Participant {
    pub async fn new(synapse: &Synapse, name: &str) -> Participant {
        let password = format!("{name}-password");
        let user_id = synapse.register(name, &password).await;
        let store = tempfile::tempdir().unwrap();
        let client = Client::builder()
            .homeserver_url(synapse.base_url())
            .sqlite_store(store.path(), None)
            .build()
            .await
            .unwrap();
        client.matrix_auth().login_username(name, &password).await.unwrap();
        client.sync_once(SyncSettings::default()).await.unwrap();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let record = seen.clone();
        client.add_event_handler(move |ev: OriginalSyncRoomMessageEvent, room: Room, info: Option<EncryptionInfo>| {
            let record = record.clone();
            async move {
                record.lock().unwrap().push(Seen {
                    room: room.room_id().to_owned(),
                    event_id: ev.event_id.clone(),
                    sender: ev.sender.to_string(),
                    content: serde_json::to_value(&ev.content).unwrap(),
                    encrypted: info.is_some(),
                });
            }
        });
        // Keeps syncing through homeserver outages.
        let sync_client = client.clone();
        let sync = tokio::spawn(async move {
            loop {
                let settings = SyncSettings::default().timeout(Duration::from_secs(5));
                if sync_client.sync_once(settings).await.is_err() {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        });
        Participant { client, user_id, seen, sync, _store: store }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Waits until a message from `sender` with this body appears in `room`.
    pub async fn wait_message(&self, room: &RoomId, body: &str) -> Seen {
        eventually(&format!("message {body:?}"), WAIT, || async {
            self.seen().into_iter().find(|s| s.room == room && s.body() == body)
        })
        .await
    }

    /// Opens a DM with `user`: encrypted the way Element does it, or plain.
    pub async fn open_dm(&self, user: &str, encrypted: bool) -> Room {
        let user = UserId::parse(user).unwrap();
        if encrypted {
            return self.client.create_dm(&user).await.unwrap();
        }
        use matrix_sdk::ruma::api::client::room::create_room::v3::{Request, RoomPreset};
        let mut req = Request::new();
        req.is_direct = true;
        req.invite = vec![user];
        req.preset = Some(RoomPreset::TrustedPrivateChat);
        self.client.create_room(req).await.unwrap()
    }

    /// Waits until `user` has joined `room`.
    pub async fn wait_joined(&self, room: &Room, user: &str) {
        let user = UserId::parse(user).unwrap();
        eventually("the bot to join", WAIT, || async {
            let member = room.get_member_no_sync(&user).await.ok().flatten()?;
            (*member.membership() == matrix_sdk::ruma::events::room::member::MembershipState::Join).then_some(())
        })
        .await
    }

    pub async fn send(&self, room: &Room, text: &str) -> OwnedEventId {
        use matrix_sdk::ruma::events::room::message::RoomMessageEventContent;
        room.send(RoomMessageEventContent::text_plain(text)).await.unwrap().response.event_id
    }
}

impl Drop for Participant {
    fn drop(&mut self) {
        self.sync.abort();
    }
}

/// Logs to stderr when `RUST_LOG` is set.
pub fn init_tracing() {
    if std::env::var_os("RUST_LOG").is_none() {
        return;
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}
