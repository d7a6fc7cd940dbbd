//! parley's Matrix adapter: translates Matrix events to [`chat::Inbound`] and each
//! [`chat::Delivery`] to a Matrix call. No business rule lives here.
//!
//! What it does:
//!
//! - logs in once (password or access token) and keeps the session, the sync token and the
//!   end-to-end encryption keys in `DATA_DIR/matrix/`, so that a restart resumes the same
//!   device and does not hand old events to the core again;
//! - joins every room it is invited to (retrying the usual invite/join race);
//! - treats every joined room other than the three configured rooms as a direct
//!   conversation, encrypted or not (Element creates encrypted DMs);
//! - maps messages in the moderators and commissioners rooms to
//!   [`chat::Conversation::Moderators`] / [`chat::Conversation::Commissioners`], with roles
//!   from the configured user lists or the sender's power level in that room;
//! - drains the core's outbox: DM replies, thread roots and in-thread replies (`m.thread`) in
//!   the public room, staff-room messages and redactions. Every message carries a plain body
//!   and an HTML-escaped `formatted_body` and an empty `m.mentions`, so that participant text
//!   can neither format nor ping.
//!
//! ```no_run
//! # async fn example(core: std::sync::Arc<dyn chat::Core>) -> Result<(), parley_matrix::Error> {
//! let config = parley_matrix::Config::from_env()?;
//! let stop = async { tokio::signal::ctrl_c().await.ok(); };
//! parley_matrix::run(config, "data".into(), core, stop).await
//! # }
//! ```
//!
//! User ids and message text are never logged above `debug`.

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod config;
mod content;
mod session;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chat::{Action, Conversation, Core, Delivery, Destination, Inbound, Outcome, Platform, Roles, Sender};
use matrix_sdk::config::{RequestConfig, SyncSettings};
use matrix_sdk::deserialized_responses::RawAnySyncOrStrippedState;
use matrix_sdk::room::Room;
use matrix_sdk::ruma::api::client::redact::redact_event;
use matrix_sdk::ruma::api::error::{ErrorKind, RetryAfter};
use matrix_sdk::ruma::events::room::member::StrippedRoomMemberEvent;
use matrix_sdk::ruma::events::room::message::{MessageType, OriginalSyncRoomMessageEvent, Relation};
use matrix_sdk::ruma::events::room::power_levels::UserPowerLevel;
use matrix_sdk::ruma::events::StateEventType;
use matrix_sdk::ruma::{
    EventId, OwnedEventId, OwnedRoomId, OwnedTransactionId, OwnedUserId, RoomAliasId, RoomId, UserId,
};
use matrix_sdk::{Client, RoomState};
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

pub use config::{Config, DEFAULT_POWER_LEVEL_THRESHOLD};
pub use content::escape_html;

/// Deliveries asked of the core at a time.
const BATCH: usize = 5;
// A whole batch, each delivery tried twice with its timeout, must end inside the lease, or
// another process could take a delivery over while this one still sends it.
const _: () = assert!(BATCH as u64 * 2 * DELIVERY_TIMEOUT.as_secs() < chat::DELIVERY_LEASE.as_secs());
/// Inbound messages waiting for the core, at most.
const INBOUND_QUEUE: usize = 256;
/// How often the outbox is polled when no wakeup comes.
const TICK: Duration = Duration::from_secs(1);
/// Long-poll timeout of `/sync`.
const SYNC_TIMEOUT: Duration = Duration::from_secs(30);
/// Back-off bounds after a failed `/sync`.
const SYNC_BACKOFF_MIN: Duration = Duration::from_millis(250);
const SYNC_BACKOFF_MAX: Duration = Duration::from_secs(10);
/// Per-request timeout for deliveries, so an unreachable homeserver cannot stall the loop.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(20);

/// What can stop the adapter. Delivery failures are not errors: they are reported to the
/// core as [`Outcome::Failed`] and retried by it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is incomplete or malformed.
    #[error("matrix configuration: {0}")]
    Config(String),
    /// Reading or writing the adapter's files in the data folder failed.
    #[error("matrix data folder {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The saved session file could not be read or written.
    #[error("matrix session file {path}: {source}")]
    SessionFile {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: serde_json::Error,
    },
    /// The Matrix client could not be built (bad homeserver, unreadable store, wrong store
    /// passphrase).
    #[error("matrix client: {0}")]
    Build(#[source] Box<matrix_sdk::ClientBuildError>),
    /// Logging in or restoring the session failed.
    #[error("matrix login: {0}")]
    Login(#[source] matrix_sdk::Error),
    /// The homeserver no longer accepts the bot's access token (logged out elsewhere, or
    /// the token was revoked). Delete `DATA_DIR/matrix/` to log in anew with a password,
    /// or configure a new access token.
    #[error("the homeserver rejected the bot's access token; log in again")]
    Unauthorized,
    /// A configured room could not be resolved (unknown alias).
    #[error("matrix room {room}: {source}")]
    Room {
        /// The room as configured.
        room: String,
        /// What the homeserver said.
        source: matrix_sdk::HttpError,
    },
    /// Any other Matrix client failure during start-up.
    #[error("matrix: {0}")]
    Matrix(#[from] matrix_sdk::Error),
}

impl From<matrix_sdk::ClientBuildError> for Error {
    fn from(e: matrix_sdk::ClientBuildError) -> Self {
        Error::Build(Box::new(e))
    }
}

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Runs the Matrix adapter until `shutdown` completes or a fatal [`Error`] occurs.
///
/// `data_dir` is parley's data folder; the adapter keeps its session, sync token and
/// encryption stores in `data_dir/matrix/`. On the very first start the backlog is skipped
/// (one sync before any handler is registered); after a restart, events that arrived while
/// the bot was down are handled, and events handled before are not handed over again.
///
/// On shutdown the adapter finishes the delivery in hand and hands every message already
/// received to the core before it returns.
pub async fn run<S>(config: Config, data_dir: PathBuf, core: Arc<dyn Core>, shutdown: S) -> Result<()>
where
    S: Future<Output = ()> + Send,
{
    config.validate()?;
    tokio::pin!(shutdown);
    let started = tokio::select! {
        started = start(&config, data_dir) => started?,
        () = &mut shutdown => return Ok(()),
    };
    let Started { client, fresh } = started;

    // Bounded: when the core falls behind, the sync loop waits instead of queuing without
    // limit (nothing is dropped; the homeserver keeps what is not synced yet).
    let (inbound_tx, inbound_rx) = mpsc::channel(INBOUND_QUEUE);
    let (stop_tx, stop_rx) = watch::channel(false);

    let ctx = tokio::select! {
        ctx = prepare(&config, client, core, fresh) => Arc::new(ctx?),
        () = &mut shutdown => return Ok(()),
    };
    install_handlers(&ctx, inbound_tx);
    info!(device = %ctx.client.device_id().map(|d| d.as_str()).unwrap_or("?"), "matrix adapter running");

    let work = async {
        tokio::try_join!(
            sync_loop(&ctx, stop_rx.clone()),
            delivery_loop(&ctx, stop_rx.clone()),
            inbound_worker(&ctx, inbound_rx, stop_rx.clone()),
        )
    };
    tokio::pin!(work);
    tokio::select! {
        result = &mut work => return result.map(|_| ()),
        () = &mut shutdown => {}
    }
    let _ = stop_tx.send(true);
    let result = work.await.map(|_| ());
    info!("matrix adapter stopped");
    result
}

struct Started {
    client: Client,
    /// A new login: the backlog is skipped.
    fresh: bool,
}

async fn start(config: &Config, data_dir: PathBuf) -> Result<Started> {
    let dir = data_dir.join("matrix");
    let (client, fresh) = session::connect(config, &dir).await?;
    if fresh {
        // Skip the backlog: one sync before any handler exists. This also uploads the
        // device's encryption keys, so that participants can encrypt to it.
        sync_until_ok(&client).await?;
    }
    Ok(Started { client, fresh })
}

/// Retries the first sync while the homeserver is unavailable (it may still be starting).
async fn sync_until_ok(client: &Client) -> Result<()> {
    let mut backoff = SYNC_BACKOFF_MIN;
    let mut attempts = 0;
    loop {
        match client.sync_once(SyncSettings::default()).await {
            Ok(_) => return Ok(()),
            Err(e) if is_unknown_token(&e) => return Err(Error::Unauthorized),
            Err(matrix_sdk::Error::Http(h)) if is_transient(&h) => {
                if attempts == 0 {
                    warn!(error = %h, "first matrix sync failed; retrying");
                }
            }
            Err(e) if attempts >= 5 => return Err(Error::Matrix(e)),
            Err(e) => warn!(error = %e, "first matrix sync failed; retrying"),
        }
        attempts += 1;
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(SYNC_BACKOFF_MAX);
    }
}

/// The three configured rooms, resolved to ids.
#[derive(Debug, Clone)]
struct Rooms {
    public: OwnedRoomId,
    moderators: OwnedRoomId,
    commissioners: OwnedRoomId,
}

struct Ctx {
    client: Client,
    core: Arc<dyn Core>,
    own_user: OwnedUserId,
    rooms: Rooms,
    moderators: HashSet<OwnedUserId>,
    commissioners: HashSet<OwnedUserId>,
    threshold: Option<i64>,
    /// Latest event the bot sent into each thread (root → event), used as the fallback
    /// `m.in_reply_to` for clients without thread support.
    latest_in_thread: Mutex<HashMap<OwnedEventId, OwnedEventId>>,
}

async fn prepare(config: &Config, client: Client, core: Arc<dyn Core>, fresh: bool) -> Result<Ctx> {
    let own_user =
        client.user_id().ok_or_else(|| Error::Config("the Matrix client has no user after login".into()))?.to_owned();
    let rooms = Rooms {
        public: resolve_room(&client, &config.room).await?,
        moderators: resolve_room(&client, &config.moderators_room).await?,
        commissioners: resolve_room(&client, &config.commissioners_room).await?,
    };
    for room in [&rooms.public, &rooms.moderators, &rooms.commissioners] {
        let joined = client.get_room(room).is_some_and(|r| r.state() == RoomState::Joined);
        if !joined {
            match client.join_room_by_id(room).await {
                Ok(_) => info!(%room, "joined configured room"),
                Err(e) => warn!(%room, error = %e, "cannot join configured room (invite the bot)"),
            }
        }
    }
    let parse_users = |list: &[String], what: &str| -> Result<HashSet<OwnedUserId>> {
        list.iter()
            .map(|u| {
                UserId::parse(u.as_str()).map_err(|e| Error::Config(format!("{what}: `{u}` is not a user id: {e}")))
            })
            .collect()
    };
    let ctx = Ctx {
        own_user,
        rooms,
        moderators: parse_users(&config.moderators, "moderators")?,
        commissioners: parse_users(&config.commissioners, "commissioners")?,
        threshold: config.power_level_threshold,
        latest_in_thread: Mutex::new(HashMap::new()),
        client,
        core,
    };
    // Invitations that came while the bot was not listening.
    for room in ctx.client.invited_rooms() {
        spawn_join(room);
    }
    debug!(fresh, "matrix adapter prepared");
    Ok(ctx)
}

/// Element's room-wide switch for link previews. Posted text must not unfurl links, and
/// Matrix has no per-message switch, so the bot turns previews off for the public room when
/// its power level allows (best effort: a warning otherwise).
const PREVIEW_URLS: &str = "org.matrix.room.preview_urls";

async fn disable_url_previews(client: &Client, own: &UserId, room_id: &RoomId) {
    let Some(room) = client.get_room(room_id).filter(|r| r.state() == RoomState::Joined) else {
        return;
    };
    let state_type = StateEventType::from(PREVIEW_URLS);
    if let Ok(Some(raw)) = room.get_state_event(state_type.clone(), "").await {
        let json = match &raw {
            RawAnySyncOrStrippedState::Sync(r) => r.json().get(),
            RawAnySyncOrStrippedState::Stripped(r) => r.json().get(),
        };
        let disabled = serde_json::from_str::<serde_json::Value>(json)
            .is_ok_and(|v| v["content"]["disable"] == serde_json::Value::Bool(true));
        if disabled {
            return;
        }
    }
    let allowed = room.power_levels().await.is_ok_and(|pl| pl.user_can_send_state(own, state_type));
    if !allowed {
        warn!("cannot turn off link previews in the public room (give the bot power level 50)");
        return;
    }
    let content = serde_json::json!({ "disable": true });
    if let Err(e) = room.send_state_event_raw(PREVIEW_URLS, "", content).await {
        warn!(error = %e, "cannot turn off link previews in the public room");
    }
}

async fn resolve_room(client: &Client, room: &str) -> Result<OwnedRoomId> {
    if room.starts_with('#') {
        let alias =
            RoomAliasId::parse(room).map_err(|e| Error::Config(format!("`{room}` is not a room alias: {e}")))?;
        let response = wait_out("resolving a room alias", || client.resolve_room_alias(&alias))
            .await
            .map_err(|source| Error::Room { room: room.to_owned(), source })?;
        Ok(response.room_id)
    } else {
        RoomId::parse(room).map_err(|e| Error::Config(format!("`{room}` is not a room id: {e}")))
    }
}

/// Whether a failure is worth waiting out: the homeserver is unreachable, overloaded or
/// restarting. Start-up keeps retrying those (until shutdown) instead of failing.
pub(crate) fn is_transient(e: &matrix_sdk::HttpError) -> bool {
    match e {
        matrix_sdk::HttpError::Reqwest(_) => true,
        _ => {
            matches!(e.client_api_error_kind(), Some(ErrorKind::LimitExceeded(_)))
                || e.as_client_api_error().is_some_and(|c| c.status_code.is_server_error())
        }
    }
}

/// Retries `request` while it fails transiently, with back-off.
pub(crate) async fn wait_out<T, F, Fut>(what: &str, mut request: F) -> Result<T, matrix_sdk::HttpError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, matrix_sdk::HttpError>>,
{
    let mut backoff = SYNC_BACKOFF_MIN;
    let mut warned = false;
    loop {
        match request().await {
            Err(e) if is_transient(&e) => {
                if !warned {
                    warn!(error = %e, "{what}: homeserver unavailable; retrying");
                    warned = true;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(SYNC_BACKOFF_MAX);
            }
            other => return other,
        }
    }
}

fn install_handlers(ctx: &Arc<Ctx>, inbound_tx: mpsc::Sender<Inbound>) {
    let own = ctx.own_user.clone();
    ctx.client.add_event_handler(move |ev: StrippedRoomMemberEvent, room: Room| {
        let own = own.clone();
        async move {
            if ev.state_key == own {
                spawn_join(room);
            }
        }
    });
    let weak = Arc::downgrade(ctx);
    ctx.client.add_event_handler(move |ev: OriginalSyncRoomMessageEvent, room: Room| {
        let weak = weak.clone();
        let tx = inbound_tx.clone();
        async move {
            let Some(ctx) = weak.upgrade() else { return };
            if let Some(inbound) = to_inbound(&ctx, ev, &room).await {
                let _ = tx.send(inbound).await;
            }
        }
    });
}

/// Joins an invited room, retrying: right after an invite the homeserver may not yet let
/// the invitee join (the race that matrix-sdk's autojoin example works around).
fn spawn_join(room: Room) {
    tokio::spawn(async move {
        let mut delay = Duration::from_millis(500);
        for attempt in 1..=10 {
            match room.join().await {
                Ok(()) => {
                    debug!(attempt, "joined room after invite");
                    return;
                }
                Err(e) => {
                    debug!(attempt, error = %e, "join failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(60));
                }
            }
        }
        warn!("gave up joining a room the bot was invited to");
    });
}

/// Translates a Matrix message into an [`Inbound`], or `None` for what the core does not
/// need: the bot's own messages, edits, non-text messages, the public room and rooms that
/// are not a one-to-one conversation.
async fn to_inbound(ctx: &Ctx, ev: OriginalSyncRoomMessageEvent, room: &Room) -> Option<Inbound> {
    if ev.sender == ctx.own_user || room.state() != RoomState::Joined {
        return None;
    }
    let body = match &ev.content.msgtype {
        MessageType::Text(t) => t.body.clone(),
        MessageType::Emote(e) => e.body.clone(),
        _ => return None,
    };
    let reply_to = match &ev.content.relates_to {
        // An edit would otherwise arrive as a second post ("* new text").
        Some(Relation::Replacement(_)) => return None,
        Some(Relation::Reply(r)) => Some(r.in_reply_to.event_id.to_string()),
        Some(Relation::Thread(t)) if !t.is_falling_back => t.in_reply_to.as_ref().map(|r| r.event_id.to_string()),
        _ => None,
    };
    let text = if reply_to.is_some() { strip_reply_fallback(&body) } else { body };

    let room_id = room.room_id();
    let mut roles =
        Roles { moderator: ctx.moderators.contains(&ev.sender), commissioner: ctx.commissioners.contains(&ev.sender) };
    let conversation = if room_id == ctx.rooms.public {
        return None;
    } else if room_id == ctx.rooms.moderators {
        roles.moderator |= has_power(ctx, room, &ev.sender).await;
        Conversation::Moderators
    } else if room_id == ctx.rooms.commissioners {
        roles.commissioner |= has_power(ctx, room, &ev.sender).await;
        Conversation::Commissioners
    } else {
        // A DM must stay private: in a room with other people in it, the bot's answers
        // (pseudonyms, notices) would link the participant to what they post.
        let members = room.joined_members_count() + room.invited_members_count();
        if members > 2 {
            debug!("ignoring a message in a room with more than two members");
            return None;
        }
        Conversation::Direct { address: room_id.to_string() }
    };
    debug!(event = %ev.event_id, ?conversation, "inbound matrix message");
    Some(Inbound {
        platform: Platform::Matrix,
        event_id: ev.event_id.to_string(),
        sender: Sender { id: ev.sender.to_string(), roles },
        conversation,
        text,
        reply_to,
    })
}

async fn has_power(ctx: &Ctx, room: &Room, user: &UserId) -> bool {
    let Some(threshold) = ctx.threshold else {
        return false;
    };
    match room.get_user_power_level(user).await {
        Ok(UserPowerLevel::Infinite) => true,
        Ok(UserPowerLevel::Int(level)) => i64::from(level) >= threshold,
        Ok(_) => false,
        Err(e) => {
            warn!(error = %e, "cannot read power levels; treating sender as a member");
            false
        }
    }
}

/// Removes the `> <@user> quoted text` lines that older clients put before a reply: they
/// quote someone else and must not be posted as the participant's words.
fn strip_reply_fallback(body: &str) -> String {
    if !body.starts_with("> ") {
        return body.to_owned();
    }
    let mut lines = body.lines().skip_while(|l| l.starts_with("> ") || *l == ">");
    let mut rest: Vec<&str> = Vec::new();
    if let Some(first) = lines.next() {
        if !first.is_empty() {
            rest.push(first);
        }
    }
    rest.extend(lines);
    rest.join("\n")
}

async fn inbound_worker(ctx: &Ctx, mut rx: mpsc::Receiver<Inbound>, mut stop: watch::Receiver<bool>) -> Result<()> {
    loop {
        tokio::select! {
            biased;
            message = rx.recv() => match message {
                // What arrived while the last batch was being stored: one group commit.
                Some(inbound) => ctx.core.handle_batch(chat::batch_from(inbound, || rx.try_recv().ok(), Inbound::weight, ctx.core.max_batch())).await,
                None => return Ok(()),
            },
            () = stopped(&mut stop) => {
                // Hand over whatever was already received.
                let rest: Vec<Inbound> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
                if !rest.is_empty() {
                    ctx.core.handle_batch(rest).await;
                }
                return Ok(());
            }
        }
    }
}

async fn sync_loop(ctx: &Ctx, mut stop: watch::Receiver<bool>) -> Result<()> {
    let mut backoff = SYNC_BACKOFF_MIN;
    let mut failing = false;
    let mut previews_checked = false;
    loop {
        let settings = SyncSettings::default().timeout(SYNC_TIMEOUT);
        let result = tokio::select! {
            () = stopped(&mut stop) => return Ok(()),
            result = ctx.client.sync_once(settings) => result,
        };
        match result {
            Ok(_) => {
                if !previews_checked {
                    // After a sync, so that the state of a room joined at start is known.
                    previews_checked = true;
                    disable_url_previews(&ctx.client, &ctx.own_user, &ctx.rooms.public).await;
                }
                if failing {
                    info!("matrix sync recovered");
                    failing = false;
                }
                backoff = SYNC_BACKOFF_MIN;
            }
            Err(e) if is_unknown_token(&e) => return Err(Error::Unauthorized),
            Err(e) => {
                if !failing {
                    warn!(error = %e, "matrix sync failed; retrying with back-off");
                    failing = true;
                }
                tokio::select! {
                    () = stopped(&mut stop) => return Ok(()),
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(SYNC_BACKOFF_MAX);
            }
        }
    }
}

/// Completes once the stop flag is set (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    // The guard returned by `wait_for` is not `Send`: drop it here.
    let _ = stop.wait_for(|s| *s).await.map(|_| ());
}

fn is_unknown_token(e: &matrix_sdk::Error) -> bool {
    matches!(e.client_api_error_kind(), Some(ErrorKind::UnknownToken(_)))
}

async fn delivery_loop(ctx: &Ctx, stop: watch::Receiver<bool>) -> Result<()> {
    let settings = chat::LoopSettings { batch: BATCH, tick: TICK };
    chat::delivery_loop(ctx.core.as_ref(), Platform::Matrix, settings, stop, |delivery| async move {
        deliver(ctx, &delivery).await
    })
    .await;
    Ok(())
}

/// Why a delivery could not be made.
#[derive(Debug, thiserror::Error)]
enum DeliveryError {
    #[error("{0}")]
    Sdk(#[from] matrix_sdk::Error),
    #[error("{0}")]
    Http(#[from] matrix_sdk::HttpError),
    #[error("the bot is not in the destination room")]
    NotInRoom,
    #[error("the direct-message room has other members now")]
    NotADirectRoom,
    #[error("malformed {0}")]
    BadId(&'static str),
}

async fn deliver(ctx: &Ctx, delivery: &Delivery) -> Outcome {
    match try_deliver(ctx, delivery).await {
        Ok(message_id) => Outcome::Delivered { message_id },
        Err(e) if is_permanent(&e) => {
            warn!(delivery = delivery.id.0, kind = error_kind(&e), "matrix delivery impossible; giving up");
            Outcome::Rejected { reason: error_kind(&e).to_owned() }
        }
        Err(e) => {
            let retry_after = retry_after_of(&e);
            // The error text can contain a DM room id: details only at debug level.
            warn!(delivery = delivery.id.0, kind = error_kind(&e), ?retry_after, "matrix delivery failed");
            debug!(delivery = delivery.id.0, error = %e, "matrix delivery error");
            Outcome::Failed { retry_after }
        }
    }
}

/// Errors that retrying cannot fix.
fn is_permanent(e: &DeliveryError) -> bool {
    let kind = match e {
        DeliveryError::NotInRoom | DeliveryError::NotADirectRoom | DeliveryError::BadId(_) => return true,
        DeliveryError::Sdk(e) => e.client_api_error_kind(),
        DeliveryError::Http(e) => e.client_api_error_kind(),
    };
    matches!(kind, Some(ErrorKind::Forbidden))
}

fn error_kind(e: &DeliveryError) -> &'static str {
    match e {
        DeliveryError::NotInRoom => "not in room",
        DeliveryError::NotADirectRoom => "not a direct room",
        DeliveryError::BadId(_) => "malformed id",
        DeliveryError::Sdk(matrix_sdk::Error::Http(h)) => http_kind(h),
        DeliveryError::Http(h) => http_kind(h),
        DeliveryError::Sdk(_) => "client",
    }
}

fn http_kind(e: &matrix_sdk::HttpError) -> &'static str {
    match e {
        matrix_sdk::HttpError::Reqwest(_) => "network",
        matrix_sdk::HttpError::Api(_) => "homeserver refused",
        _ => "http",
    }
}

fn retry_after_of(e: &DeliveryError) -> Option<Duration> {
    let kind = match e {
        DeliveryError::Sdk(e) => e.client_api_error_kind(),
        DeliveryError::Http(e) => e.client_api_error_kind(),
        _ => None,
    };
    kind.and_then(retry_after_of_kind)
}

/// The wait asked by `M_LIMIT_EXCEEDED` (`retry_after_ms` or a `Retry-After` header).
fn retry_after_of_kind(kind: &ErrorKind) -> Option<Duration> {
    match kind {
        ErrorKind::LimitExceeded(data) => match data.retry_after.as_ref()? {
            RetryAfter::Delay(d) => Some(*d),
            RetryAfter::DateTime(t) => Some(t.duration_since(std::time::SystemTime::now()).unwrap_or_default()),
        },
        _ => None,
    }
}

/// No retries inside the SDK: the core owns back-off and must hear about rate limits.
fn delivery_request_config() -> RequestConfig {
    RequestConfig::new().retry_limit(1).timeout(DELIVERY_TIMEOUT)
}

async fn joined_room(ctx: &Ctx, room_id: &RoomId) -> Result<Room, DeliveryError> {
    if let Some(room) = ctx.client.get_room(room_id).filter(|r| r.state() == RoomState::Joined) {
        return Ok(room);
    }
    // A configured room that could not be joined at start (homeserver down, invite late).
    let configured = [&ctx.rooms.public, &ctx.rooms.moderators, &ctx.rooms.commissioners];
    if configured.iter().any(|r| r.as_str() == room_id.as_str()) {
        return Ok(ctx.client.join_room_by_id(room_id).await?);
    }
    Err(DeliveryError::NotInRoom)
}

fn parse_event_id(id: &str) -> Result<OwnedEventId, DeliveryError> {
    EventId::parse(id).map_err(|_| DeliveryError::BadId("event id"))
}

async fn try_deliver(ctx: &Ctx, delivery: &Delivery) -> Result<Option<String>, DeliveryError> {
    use content::{Kind, Relates};

    let out = &delivery.outbound;
    let room_id: OwnedRoomId = match &out.destination {
        Destination::Direct { address } => {
            RoomId::parse(address.as_str()).map_err(|_| DeliveryError::BadId("room id"))?
        }
        Destination::Thread { .. } => ctx.rooms.public.clone(),
        Destination::Moderators => ctx.rooms.moderators.clone(),
        Destination::Commissioners => ctx.rooms.commissioners.clone(),
    };
    let room = joined_room(ctx, &room_id).await?;
    // A DM room that someone else has joined since is no longer private: never write a
    // participant's answers into it.
    if matches!(out.destination, Destination::Direct { .. }) {
        // The member list itself (fetched once, then kept up to date by sync), not the
        // summary counts, which a homeserver need not send.
        let members = room.members(matrix_sdk::RoomMemberships::ACTIVE).await?;
        if members.len() > 2 {
            return Err(DeliveryError::NotADirectRoom);
        }
    }

    if let Action::Remove { message_id } = &out.action {
        let event_id = parse_event_id(message_id)?;
        let txn = OwnedTransactionId::from(format!(
            "parley-redact-{}-{:016x}",
            delivery.id.0,
            fingerprint(&room_id, message_id, None)
        ));
        let request = redact_event::v3::Request::new(room_id, event_id, txn);
        ctx.client.send(request).with_request_config(delivery_request_config()).await?;
        return Ok(None);
    }

    let reply_to = out.reply_to.as_deref().map(parse_event_id).transpose()?;
    let (kind, relates, thread_root) = match (&out.destination, &out.action) {
        (Destination::Thread { .. }, Action::OpenThread) => (Kind::Text, Relates::None, None),
        (Destination::Thread { root: Some(root), .. }, _) => {
            let root = parse_event_id(root)?;
            let latest =
                ctx.latest_in_thread.lock().ok().and_then(|m| m.get(&root).cloned()).unwrap_or_else(|| root.clone());
            (Kind::Text, Relates::Thread { root: root.clone(), reply_to, latest }, Some(root))
        }
        (Destination::Thread { root: None, .. }, _) => {
            (Kind::Text, reply_to.map_or(Relates::None, Relates::Reply), None)
        }
        _ => (Kind::Notice, reply_to.map_or(Relates::None, Relates::Reply), None),
    };
    let content = content::message(&out.text, kind, relates);
    // The delivery id as transaction id: if a send succeeded but its answer was lost, the
    // retry returns the same event instead of posting twice. The content hash keeps a
    // reused delivery id (a core database started afresh) from being taken for a retry.
    let txn = OwnedTransactionId::from(format!(
        "parley-{}-{:016x}",
        delivery.id.0,
        fingerprint(&room_id, &out.text, out.reply_to.as_deref())
    ));
    let sent = room.send(content).with_transaction_id(txn).with_request_config(delivery_request_config()).await?;
    let event_id = sent.response.event_id;
    if let Ok(mut latest) = ctx.latest_in_thread.lock() {
        match (&out.action, thread_root) {
            (Action::OpenThread, _) => {
                latest.insert(event_id.clone(), event_id.clone());
            }
            (_, Some(root)) => {
                latest.insert(root, event_id.clone());
            }
            _ => {}
        }
    }
    Ok(Some(event_id.to_string()))
}

/// FNV-1a over the parts that make a message what it is; stable across builds.
fn fingerprint(room: &RoomId, text: &str, reply_to: Option<&str>) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [room.as_str(), "\0", text, "\0", reply_to.unwrap_or("")] {
        for byte in part.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use matrix_sdk::ruma::api::error::LimitExceededErrorData;

    use super::*;

    #[test]
    fn reply_fallback_is_stripped() {
        assert_eq!(strip_reply_fallback("> <@a:x> quoted\n> more\n\nmy answer"), "my answer");
        assert_eq!(strip_reply_fallback("plain\ntext"), "plain\ntext");
        assert_eq!(strip_reply_fallback("> only quote"), "");
    }

    #[test]
    fn limit_exceeded_gives_retry_after() {
        let mut data = LimitExceededErrorData::new();
        data.retry_after = Some(RetryAfter::Delay(Duration::from_millis(1500)));
        assert_eq!(retry_after_of_kind(&ErrorKind::LimitExceeded(data)), Some(Duration::from_millis(1500)));
        assert_eq!(retry_after_of_kind(&ErrorKind::LimitExceeded(LimitExceededErrorData::new())), None);
        assert_eq!(retry_after_of_kind(&ErrorKind::Forbidden), None);
    }
}
