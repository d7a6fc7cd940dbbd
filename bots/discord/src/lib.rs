//! parley's Discord adapter: translates Discord events to [`chat::Inbound`] and each
//! [`chat::Delivery`] to Discord REST calls. No business rule lives here.
//!
//! What it does:
//!
//! - connects to the gateway with serenity 0.12 (intents: guilds, guild messages, direct
//!   messages, message content); serenity answers heartbeats, and on a dropped connection
//!   or a Reconnect request it resumes the session, so no event is missed;
//! - DMs to the bot become [`Conversation::Direct`] with the DM channel id as address; the
//!   `!` text commands work there;
//! - the participant slash commands (`/topics`, `/join`, `/post`, `/reply`, `/report`,
//!   `/whoami`, `/forget`, `/help`, see [`commands`]) are registered on start (in the
//!   configured guild, or globally) and answered *ephemerally*, wherever they are used: the
//!   interaction is deferred as ephemeral at once, and is handed to the core as the text
//!   command it stands for, from a direct conversation whose address is
//!   `interaction:<interaction id>:<token>:<user id>` (the core stores addresses only
//!   sealed). The core's answers to that address edit the deferred response, then follow it
//!   up, ephemerally; once the token has expired (15 minutes), answers to the same address
//!   (later notices) go to the person's DM instead;
//! - messages in the moderators' and commissioners' channels map to
//!   [`Conversation::Moderators`] / [`Conversation::Commissioners`], with roles from the
//!   configured role ids, or, when none are configured, from being able to write in that
//!   private channel;
//! - the discussions channel has a public thread (or a forum post) per discussion, created
//!   for [`Action::OpenThread`]; posts and replies go there with `allowed_mentions` that
//!   parse nothing, mention syntax broken, markdown escaped and link previews off. A
//!   message typed directly into a discussion thread is left alone ([`Conversation::Public`],
//!   which the core ignores), and its author gets the configured hint in a DM;
//! - deliveries go through [`chat::delivery_loop`]; an HTTP 429 is reported as
//!   [`Outcome::Failed`] with Discord's `retry_after`, so the core retries after the wait.
//!
//! ```no_run
//! # async fn example(core: std::sync::Arc<dyn chat::Core>) -> Result<(), parley_discord::Error> {
//! let config = parley_discord::Config::from_env_over(None, |name| std::env::var(name).ok())?
//!     .expect("PARLEY_DISCORD_* set");
//! let stop = async { tokio::signal::ctrl_c().await.ok(); };
//! parley_discord::run(config, core, stop).await
//! # }
//! ```
//!
//! User ids, channel ids of DMs and message text are never logged above `debug`.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod commands;
mod components;
mod config;
mod rest;
mod text;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chat::{Action, Conversation, Core, Delivery, Destination, Inbound, Outcome, Platform, Roles, Sender};
use serde_json::{json, Value};
use serenity::all::{
    CommandInteraction, ComponentInteraction, ComponentInteractionDataKind, Context, EventHandler, GatewayIntents,
    HttpBuilder, Interaction, Message, MessageType, Ready, ResumedEvent,
};
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

pub use config::{Config, DiscussionThreads, DEFAULT_PUBLIC_HINT, DISCORD_API, ENV_VARS};
pub use text::{escape_markdown, neutralise};

use rest::{Rest, RestError, EPHEMERAL, SUPPRESS_EMBEDS};

/// Deliveries asked of the core at a time.
const BATCH: usize = 50;
/// How often the outbox is polled when no wakeup comes.
const TICK: Duration = Duration::from_secs(1);
/// An interaction token is valid for 15 minutes; after 14, answers go to the DM instead.
const INTERACTION_TTL_MS: u64 = 14 * 60 * 1000;
/// A person who types into a discussion thread gets the hint at most this often.
const HINT_EVERY: Duration = Duration::from_secs(3600);
/// The address prefix of a slash command's conversation.
const INTERACTION: &str = "interaction:";

/// What can stop the adapter. Delivery failures are not errors: they are reported to the
/// core as [`Outcome::Failed`] and retried by it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is incomplete or malformed.
    #[error("discord configuration: {0}")]
    Config(String),
    /// The gateway connection failed for good (bad token, disallowed intents).
    #[error("discord gateway: {0}")]
    Gateway(#[source] Box<serenity::Error>),
}

impl From<serenity::Error> for Error {
    fn from(e: serenity::Error) -> Self {
        Error::Gateway(Box::new(e))
    }
}

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The configured channels and roles, parsed.
#[derive(Debug, Clone)]
struct Ids {
    guild: Option<u64>,
    channel: u64,
    moderators: u64,
    commissioners: u64,
    moderator_roles: HashSet<u64>,
    commissioner_roles: HashSet<u64>,
}

impl Ids {
    fn from(config: &Config) -> Result<Ids> {
        let id = |key: &str, v: &Option<String>| {
            v.as_deref()
                .and_then(config::parse_id)
                .ok_or_else(|| Error::Config(format!("`{key}` is not set or not a Discord id")))
        };
        let roles = |list: &[String]| list.iter().filter_map(|r| config::parse_id(r)).collect();
        Ok(Ids {
            guild: config.guild.as_deref().and_then(config::parse_id),
            channel: id("channel", &config.channel)?,
            moderators: id("moderators_channel", &config.moderators_channel)?,
            commissioners: id("commissioners_channel", &config.commissioners_channel)?,
            moderator_roles: roles(&config.moderator_roles),
            commissioner_roles: roles(&config.commissioner_roles),
        })
    }
}

/// What the gateway handler, the inbound worker and the delivery loop share.
struct Shared {
    core: Arc<dyn Core>,
    rest: Rest,
    ids: Ids,
    mode: DiscussionThreads,
    prefix: String,
    hint: Option<String>,
    application_id: AtomicU64,
    commands_registered: AtomicBool,
    inbound: mpsc::UnboundedSender<Inbound>,
    /// Interaction tokens whose deferred response was already replaced by an answer.
    answered: Mutex<HashSet<String>>,
    /// Whether a guild channel is the discussions channel or one of its threads.
    public_channels: Mutex<HashMap<u64, bool>>,
    /// When each person who typed in a discussion thread was last given the hint (memory
    /// only).
    hinted: Mutex<HashMap<u64, Instant>>,
    /// Thread roots whose message was sent but whose thread is not created yet (delivery
    /// id → message id), so that a retry does not post the root twice.
    half_open: Mutex<HashMap<i64, String>>,
    /// The message with live answer buttons in each person's conversation with the bot
    /// (a DM channel id, or `user:<id>` for answers to slash commands): only the bot's
    /// latest message there may be answered by a click, and a question asked in one of a
    /// person's two conversations makes the other's stale (memory only).
    asking: Mutex<HashMap<String, String>>,
    /// The person of each DM channel the bot has seen (memory only, bounded), so that a
    /// question in one conversation can retire the other's.
    dm_users: Mutex<HashMap<String, u64>>,
    /// The id of the bot's latest message in each DM channel (memory only, bounded): an
    /// ephemeral question older than it is stale, since the conversation went on in the
    /// DM (an answer typed there, the end of the survey).
    dm_latest: Mutex<HashMap<String, u64>>,
}

/// DM channels remembered at most; past that the map starts again (a question then retires
/// only its own conversation's earlier one, as before the map existed).
const MAX_DM_USERS: usize = 100_000;

/// Runs the Discord adapter until `shutdown` completes or the gateway fails for good.
///
/// On shutdown the adapter closes the gateway, finishes the delivery in hand and hands
/// every message already received to the core before it returns.
pub async fn run<S>(config: Config, core: Arc<dyn Core>, shutdown: S) -> Result<()>
where
    S: Future<Output = ()> + Send,
{
    config.validate()?;
    let ids = Ids::from(&config)?;
    let token = config.token.clone().unwrap_or_default();
    let base = config.api_base();
    let mut http = HttpBuilder::new(&token);
    if config.api_url.is_some() {
        // serenity's rate limiter talks to discord.com whatever the proxy says; a compatible
        // server is reached with it off (deliveries do their own 429 handling anyway).
        http = http.proxy(base.clone()).ratelimiter_disabled(true);
    }
    let application_id = config.application_id.as_deref().and_then(config::parse_id).unwrap_or(0);
    if application_id != 0 {
        http = http.application_id(application_id.into());
    }
    let (inbound_tx, inbound_rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        core,
        rest: Rest::new(&base, &token),
        ids,
        mode: config.discussion_threads,
        prefix: config.command_prefix.clone(),
        hint: config.public_hint_text(),
        application_id: AtomicU64::new(application_id),
        commands_registered: AtomicBool::new(false),
        inbound: inbound_tx,
        answered: Mutex::new(HashSet::new()),
        public_channels: Mutex::new(HashMap::from([(
            config::parse_id(config.channel.as_deref().unwrap_or("")).unwrap_or(0),
            true,
        )])),
        hinted: Mutex::new(HashMap::new()),
        half_open: Mutex::new(HashMap::new()),
        asking: Mutex::new(HashMap::new()),
        dm_users: Mutex::new(HashMap::new()),
        dm_latest: Mutex::new(HashMap::new()),
    });

    let intents = GatewayIntents::GUILDS
        | GatewayIntents::GUILD_MESSAGES
        | GatewayIntents::DIRECT_MESSAGES
        | GatewayIntents::MESSAGE_CONTENT;
    let mut client = serenity::client::ClientBuilder::new_with_http(http.build(), intents)
        .event_handler(Handler { shared: shared.clone() })
        .await?;
    let shards = client.shard_manager.clone();

    let (stop_tx, stop_rx) = watch::channel(false);
    info!(api = %if config.api_url.is_some() { base.as_str() } else { "discord.com" }, "discord adapter starting");

    let gateway = async {
        let result = client.start().await;
        if let Err(e) = &result {
            warn!(error = %e, "discord gateway stopped");
        }
        result.map_err(Error::from)
    };
    let work = async {
        tokio::join!(delivery(&shared, stop_rx.clone()), inbound_worker(&shared.core, inbound_rx, stop_rx.clone()),)
    };
    tokio::pin!(shutdown, gateway, work);
    let mut work_done = false;
    let result = tokio::select! {
        () = &mut shutdown => Ok(()),
        r = &mut gateway => r,
        _ = &mut work => { work_done = true; Ok(()) }
    };
    shards.shutdown_all().await;
    let _ = stop_tx.send(true);
    if !work_done {
        work.await;
    }
    info!("discord adapter stopped");
    result
}

struct Handler {
    shared: Arc<Shared>,
}

#[serenity::async_trait]
impl EventHandler for Handler {
    async fn ready(&self, _ctx: Context, ready: Ready) {
        info!(guilds = ready.guilds.len(), "discord gateway ready");
        let s = &self.shared;
        let _ = s.application_id.compare_exchange(0, ready.application.id.get(), Ordering::SeqCst, Ordering::SeqCst);
        if !s.commands_registered.swap(true, Ordering::SeqCst) {
            let s = s.clone();
            tokio::spawn(async move { register_commands(&s).await });
        }
    }

    async fn resume(&self, _ctx: Context, _event: ResumedEvent) {
        info!("discord gateway session resumed");
    }

    async fn message(&self, _ctx: Context, msg: Message) {
        if let Some(inbound) = to_inbound(&self.shared, &msg).await {
            let public = inbound.conversation == Conversation::Public;
            let _ = self.shared.inbound.send(inbound);
            if public {
                send_hint(&self.shared, msg.author.id.get()).await;
            }
        }
    }

    async fn interaction_create(&self, _ctx: Context, interaction: Interaction) {
        match interaction {
            Interaction::Command(command) => slash_command(&self.shared, &command).await,
            Interaction::Component(click) => answer_click(&self.shared, &click).await,
            _ => {}
        }
    }
}

/// Registers the slash commands: in the guild when one is configured (they show at once),
/// globally otherwise.
async fn register_commands(s: &Shared) {
    let app = s.application_id.load(Ordering::SeqCst);
    let path = match s.ids.guild {
        Some(guild) => format!("/applications/{app}/guilds/{guild}/commands"),
        None => format!("/applications/{app}/commands"),
    };
    let body = match serde_json::to_value(commands::all()) {
        Ok(v) => v,
        Err(e) => return warn!(error = %e, "cannot build the slash commands"),
    };
    for _ in 0..5 {
        match s.rest.call(reqwest::Method::PUT, &path, Some(&body)).await {
            Ok(_) => return info!(guild = s.ids.guild.is_some(), "slash commands registered"),
            Err(RestError::RateLimited(wait)) => tokio::time::sleep(wait).await,
            Err(e) => return warn!(kind = e.kind(), "registering the slash commands failed"),
        }
    }
}

/// Defers the interaction ephemerally at once (Discord wants an answer within 3 seconds),
/// then hands the text command it stands for to the core.
async fn slash_command(s: &Shared, command: &CommandInteraction) {
    let _ = s.application_id.compare_exchange(0, command.application_id.get(), Ordering::SeqCst, Ordering::SeqCst);
    let callback = format!("/interactions/{}/{}/callback", command.id, command.token);
    let Some(text) = commands::to_text(&command.data.name, &commands::options(&command.data.options()), &s.prefix)
    else {
        let body = json!({ "type": 4, "data": {
            "content": format!("parley does not know this command; try /help or {}help.", s.prefix),
            "flags": EPHEMERAL, "allowed_mentions": rest::no_mentions() } });
        if let Err(e) = s.rest.post(&callback, &body).await {
            warn!(kind = e.kind(), "answering an unknown slash command failed");
        }
        return;
    };
    let defer = json!({ "type": 5, "data": { "flags": EPHEMERAL } });
    if let Err(e) = s.rest.post(&callback, &defer).await {
        // The answer then goes to the person's DM (the token is not usable).
        warn!(kind = e.kind(), "deferring a slash command failed");
    }
    debug!(command = %command.data.name, "slash command");
    let _ = s.inbound.send(Inbound {
        platform: Platform::Discord,
        event_id: command.id.to_string(),
        sender: Sender { id: command.user.id.to_string(), roles: Roles::default() },
        conversation: Conversation::Direct {
            address: format!("{INTERACTION}{}:{}:{}", command.id, command.token, command.user.id),
        },
        text,
        reply_to: None,
    });
}

/// Translates a Discord message into an [`Inbound`], or `None` for what the core does not
/// need: bots (the bot itself included), system messages, and channels parley does not
/// watch.
async fn to_inbound(s: &Shared, msg: &Message) -> Option<Inbound> {
    if msg.author.bot || !matches!(msg.kind, MessageType::Regular | MessageType::InlineReply) {
        return None;
    }
    let channel = msg.channel_id.get();
    let member_roles: HashSet<u64> =
        msg.member.as_ref().map(|m| m.roles.iter().map(|r| r.get()).collect()).unwrap_or_default();
    let allowed = |roles: &HashSet<u64>| roles.is_empty() || !roles.is_disjoint(&member_roles);
    let (conversation, roles) = if msg.guild_id.is_none() {
        remember_dm(s, &channel.to_string(), msg.author.id.get());
        (Conversation::Direct { address: channel.to_string() }, Roles::default())
    } else if channel == s.ids.moderators {
        (Conversation::Moderators, Roles { moderator: allowed(&s.ids.moderator_roles), commissioner: false })
    } else if channel == s.ids.commissioners {
        (Conversation::Commissioners, Roles { moderator: false, commissioner: allowed(&s.ids.commissioner_roles) })
    } else if is_public(s, channel).await {
        (Conversation::Public, Roles::default())
    } else {
        return None;
    };
    debug!(message = %msg.id, ?conversation, "inbound discord message");
    Some(Inbound {
        platform: Platform::Discord,
        event_id: msg.id.to_string(),
        sender: Sender { id: msg.author.id.to_string(), roles },
        conversation,
        text: msg.content.clone(),
        reply_to: msg.message_reference.as_ref().and_then(|r| r.message_id).map(|id| id.to_string()),
    })
}

/// Whether a guild channel is the discussions channel or a thread in it (asked of Discord
/// once per channel).
async fn is_public(s: &Shared, channel: u64) -> bool {
    if let Some(known) = s.public_channels.lock().ok().and_then(|m| m.get(&channel).copied()) {
        return known;
    }
    let public = match s.rest.channel_parent(&channel.to_string()).await {
        Ok(parent) => parent.as_deref().and_then(config::parse_id) == Some(s.ids.channel),
        Err(e) => {
            debug!(kind = e.kind(), "cannot look up a channel's parent");
            return false;
        }
    };
    if let Ok(mut m) = s.public_channels.lock() {
        m.insert(channel, public);
    }
    public
}

/// Tells someone who typed into a discussion thread how to post anonymously, in a DM, at
/// most once an hour.
async fn send_hint(s: &Shared, user: u64) {
    let Some(hint) = &s.hint else { return };
    let due = s.hinted.lock().is_ok_and(|mut m| {
        let now = Instant::now();
        m.retain(|_, at| now.duration_since(*at) < HINT_EVERY);
        match m.get(&user) {
            Some(_) => false,
            None => {
                m.insert(user, now);
                true
            }
        }
    });
    if !due {
        return;
    }
    let sent = async {
        let dm = s.rest.dm_channel(&user.to_string()).await?;
        s.rest.send_message(&dm, &rest::message_body(hint, None)).await
    };
    if let Err(e) = sent.await {
        debug!(kind = e.kind(), "could not send the anonymous-posting hint");
    }
}

async fn inbound_worker(
    core: &Arc<dyn Core>,
    mut rx: mpsc::UnboundedReceiver<Inbound>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            biased;
            message = rx.recv() => match message {
                // What arrived while the last batch was being stored: one group commit.
                Some(inbound) => core.handle_batch(chat::batch_from(inbound, || rx.try_recv().ok(), Inbound::weight, core.max_batch())).await,
                None => return,
            },
            () = stopped(&mut stop) => {
                // Hand over whatever was already received.
                let rest: Vec<Inbound> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
                if !rest.is_empty() {
                    core.handle_batch(rest).await;
                }
                return;
            }
        }
    }
}

/// Completes once the stop flag is set (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    // The guard returned by `wait_for` is not `Send`: drop it here.
    let _ = stop.wait_for(|s| *s).await.map(|_| ());
}

async fn delivery(s: &Shared, stop: watch::Receiver<bool>) {
    let settings = chat::LoopSettings { batch: BATCH, tick: TICK };
    chat::delivery_loop(s.core.as_ref(), Platform::Discord, settings, stop, |d| async move { deliver(s, &d).await })
        .await;
}

async fn deliver(s: &Shared, delivery: &Delivery) -> Outcome {
    match try_deliver(s, delivery).await {
        Ok(message_id) => Outcome::Delivered { message_id },
        Err(RestError::RateLimited(wait)) => {
            info!(delivery = delivery.id.0, ?wait, "discord asked to wait (429)");
            Outcome::Failed { retry_after: Some(wait) }
        }
        Err(e) if e.is_permanent() => {
            warn!(delivery = delivery.id.0, kind = e.kind(), "discord delivery impossible; giving up");
            Outcome::Rejected { reason: e.kind().to_owned() }
        }
        Err(e) => {
            warn!(delivery = delivery.id.0, kind = e.kind(), "discord delivery failed");
            Outcome::Failed { retry_after: None }
        }
    }
}

fn bad(_: &str) -> RestError {
    RestError::Status { status: 400, code: None }
}

async fn try_deliver(s: &Shared, delivery: &Delivery) -> Result<Option<String>, RestError> {
    let out = &delivery.outbound;
    let channel = match &out.destination {
        Destination::Direct { address } => {
            if let Action::Remove { message_id } = &out.action {
                // An ephemeral answer cannot be removed by id; a DM message can.
                if address.starts_with(INTERACTION) {
                    return Ok(None);
                }
                s.rest.delete_message(address, message_id).await?;
                return Ok(None);
            }
            return deliver_direct(s, address, delivery).await.map(Some);
        }
        Destination::Thread { root: Some(root), .. } => root.clone(),
        Destination::Thread { root: None, slug } => {
            if out.action == Action::OpenThread {
                return open_thread(s, delivery, slug).await.map(Some);
            }
            // The core waits for the root; a row without one cannot go anywhere.
            return Err(bad("thread without root"));
        }
        Destination::Moderators => s.ids.moderators.to_string(),
        Destination::Commissioners => s.ids.commissioners.to_string(),
    };
    match &out.action {
        Action::Remove { message_id } => {
            s.rest.delete_message(&channel, message_id).await?;
            Ok(None)
        }
        Action::OpenThread | Action::Send => {
            let body = rest::message_body(&out.text, out.reply_to.as_deref());
            s.rest.send_message(&channel, &body).await.map(Some)
        }
    }
}

/// A public thread (or forum post) for a discussion; its id is the thread root.
async fn open_thread(s: &Shared, delivery: &Delivery, slug: &str) -> Result<String, RestError> {
    let out = &delivery.outbound;
    let channel = s.ids.channel.to_string();
    let name = text::thread_name(&out.text, slug);
    let thread = match s.mode {
        DiscussionThreads::Forum => {
            let body = json!({
                "name": name,
                "auto_archive_duration": 10080,
                "message": rest::message_body(&out.text, None),
            });
            s.rest.post(&format!("/channels/{channel}/threads"), &body).await?
        }
        DiscussionThreads::Thread => {
            let known = s.half_open.lock().ok().and_then(|m| m.get(&delivery.id.0).cloned());
            let root = match known {
                Some(id) => id,
                None => {
                    let id = s.rest.send_message(&channel, &rest::message_body(&out.text, None)).await?;
                    if let Ok(mut m) = s.half_open.lock() {
                        m.insert(delivery.id.0, id.clone());
                    }
                    id
                }
            };
            let body = json!({ "name": name, "auto_archive_duration": 10080 });
            let thread = s.rest.post(&format!("/channels/{channel}/messages/{root}/threads"), &body).await?;
            if let Ok(mut m) = s.half_open.lock() {
                m.remove(&delivery.id.0);
            }
            thread
        }
    };
    let id = thread["id"].as_str().map(str::to_owned).ok_or(RestError::Status { status: 200, code: None })?;
    if let (Some(n), Ok(mut m)) = (config::parse_id(&id), s.public_channels.lock()) {
        m.insert(n, true);
    }
    debug!(slug, "discussion thread opened");
    Ok(id)
}

/// A message to a person: the ephemeral answer to their slash command while its token is
/// valid, their DM otherwise; with answer buttons when it asks for choices.
async fn deliver_direct(s: &Shared, address: &str, delivery: &Delivery) -> Result<String, RestError> {
    let out = &delivery.outbound;
    let buttons = delivery.choices.as_ref().and_then(components::rows);
    let Some(rest_of) = address.strip_prefix(INTERACTION) else {
        config::parse_id(address).ok_or_else(|| bad("dm channel"))?;
        return send_dm(s, address, &out.text, buttons).await;
    };
    let mut parts = rest_of.splitn(3, ':');
    let (Some(interaction), Some(token), Some(user)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad("interaction address"));
    };
    let interaction = config::parse_id(interaction).ok_or_else(|| bad("interaction id"))?;
    config::parse_id(user).ok_or_else(|| bad("user id"))?;
    let app = s.application_id.load(Ordering::SeqCst);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    if app != 0 && now.saturating_sub(text::snowflake_ms(interaction)) < INTERACTION_TTL_MS {
        let first = s.answered.lock().is_ok_and(|mut m| m.insert(token.to_owned()));
        let mut body = rest::message_body(&out.text, None);
        if let Some(rows) = &buttons {
            body["components"] = rows.clone();
        }
        let result = if first {
            // The deferred ("thinking…") response becomes the first answer.
            body.as_object_mut().map(|b| b.remove("flags"));
            let path = format!("/webhooks/{app}/{token}/messages/@original");
            s.rest.call(reqwest::Method::PATCH, &path, Some(&body)).await
        } else {
            body["flags"] = Value::from(EPHEMERAL | SUPPRESS_EMBEDS);
            s.rest.post(&format!("/webhooks/{app}/{token}"), &body).await
        };
        match result {
            Ok(v) => {
                let id = v["id"].as_str().unwrap_or_default().to_owned();
                // An ephemeral message cannot be edited later without its token: an older
                // one's buttons are refused when clicked instead (see `answer_click`).
                let key = format!("user:{user}");
                asking(s, &key, &id, buttons.is_some());
                if buttons.is_some() {
                    if let Some((channel, earlier)) = retire_other(s, &key) {
                        take_buttons_off(s, &channel, &earlier).await;
                    }
                }
                return Ok(id);
            }
            Err(e) if e.is_not_found() || matches!(e, RestError::Status { status: 401, .. }) => {
                debug!(kind = e.kind(), "interaction token no longer usable; answering in a DM");
            }
            Err(e) => {
                if first {
                    if let Ok(mut m) = s.answered.lock() {
                        m.remove(token);
                    }
                }
                return Err(e);
            }
        }
    }
    let dm = s.rest.dm_channel(user).await?;
    if let Some(user) = config::parse_id(user) {
        remember_dm(s, &dm, user);
    }
    send_dm(s, &dm, &out.text, buttons).await
}

/// Records whose DM channel `channel` is.
fn remember_dm(s: &Shared, channel: &str, user: u64) {
    if let Ok(mut m) = s.dm_users.lock() {
        if m.len() >= MAX_DM_USERS && !m.contains_key(channel) {
            m.clear();
        }
        m.insert(channel.to_owned(), user);
    }
}

/// A question was just asked in one of a person's conversations: the question left in the
/// other one (their DM, or the ephemeral answer to a slash command) is stale, since the
/// survey has moved on. Returns the DM channel and message whose buttons should come off.
fn retire_other(s: &Shared, key: &str) -> Option<(String, String)> {
    let dm_users = s.dm_users.lock().ok()?;
    let other = match key.strip_prefix("user:") {
        // An ephemeral question: the person's DM channel, if known.
        Some(user) => {
            let user: u64 = user.parse().ok()?;
            dm_users.iter().find(|(_, u)| **u == user).map(|(channel, _)| channel.clone())?
        }
        // A DM question: the person's slash-command answers.
        None => format!("user:{}", dm_users.get(key)?),
    };
    drop(dm_users);
    let earlier = s.asking.lock().ok()?.remove(&other)?;
    (!other.starts_with("user:")).then_some((other, earlier))
}

/// Sends a message into a DM channel. Only the bot's latest message in a DM keeps answer
/// buttons: an earlier one's are taken off (best effort), so that a click can never answer
/// a question other than the one being asked.
async fn send_dm(s: &Shared, channel: &str, text: &str, buttons: Option<Value>) -> Result<String, RestError> {
    let mut body = rest::message_body(text, None);
    let asks = buttons.is_some();
    if let Some(rows) = buttons {
        body["components"] = rows;
    }
    let id = s.rest.send_message(channel, &body).await?;
    if let (Ok(mut m), Some(n)) = (s.dm_latest.lock(), config::parse_id(&id)) {
        if m.len() >= MAX_DM_USERS && !m.contains_key(channel) {
            m.clear();
        }
        m.insert(channel.to_owned(), n);
    }
    if let Some(earlier) = asking(s, channel, &id, asks) {
        take_buttons_off(s, channel, &earlier).await;
    }
    if asks {
        // The person's ephemeral question in the server cannot be edited: its clicks are
        // refused in `answer_click` once it is no longer in `asking`.
        retire_other(s, channel);
    }
    Ok(id)
}

/// Whether the bot has written in `user`'s DM since the message `since` (Discord ids are
/// time-ordered).
fn dm_went_on(s: &Shared, user: u64, since: u64) -> bool {
    let channels: Vec<String> = match s.dm_users.lock() {
        Ok(m) => m.iter().filter(|(_, u)| **u == user).map(|(channel, _)| channel.clone()).collect(),
        Err(_) => return false,
    };
    let Ok(latest) = s.dm_latest.lock() else { return false };
    channels.iter().any(|channel| latest.get(channel).is_some_and(|id| *id > since))
}

/// Takes the answer buttons off an earlier question in a DM (best effort).
async fn take_buttons_off(s: &Shared, channel: &str, message: &str) {
    let path = format!("/channels/{channel}/messages/{message}");
    if let Err(e) = s.rest.call(reqwest::Method::PATCH, &path, Some(&json!({ "components": [] }))).await {
        debug!(kind = e.kind(), "could not take the buttons off an earlier question");
    }
}

/// Records the bot's latest message `id` in a person's conversation `key`, as the one to
/// answer by clicking when it `asks`. Returns the earlier message whose buttons are stale.
fn asking(s: &Shared, key: &str, id: &str, asks: bool) -> Option<String> {
    let mut m = s.asking.lock().ok()?;
    let earlier = if asks { m.insert(key.to_owned(), id.to_owned()) } else { m.remove(key) };
    earlier.filter(|e| e != id)
}

/// A click on a survey question's buttons or menu. Discord is answered at once by taking
/// the components off the message (so each set of buttons answers once, and the person
/// sees no "interaction failed"); then, when the message is the question being asked, the
/// core gets the answer as `!survey answer TEXT`, from the conversation the question went
/// to: the DM channel, or, for a question that answered a slash command, this interaction
/// (whose answers replace the question, ephemerally where it was).
async fn answer_click(s: &Shared, click: &ComponentInteraction) {
    let _ = s.application_id.compare_exchange(0, click.application_id.get(), Ordering::SeqCst, Ordering::SeqCst);
    let values = match &click.data.kind {
        ComponentInteractionDataKind::StringSelect { values } => values.clone(),
        _ => Vec::new(),
    };
    let answer = components::answer(&click.data.custom_id, &values);
    let user = click.user.id.get();
    // The question went to the DM channel, or as the answer to a slash command (`user:`).
    let dm = click.guild_id.is_none().then(|| click.channel_id.to_string());
    let message = click.message.id.to_string();
    let asked_in = s.asking.lock().ok().and_then(|mut m| {
        let key =
            [dm.clone(), Some(format!("user:{user}"))].into_iter().flatten().find(|k| m.get(k) == Some(&message))?;
        m.remove(&key);
        Some(key)
    });
    let callback = format!("/interactions/{}/{}/callback", click.id, click.token);
    let update = json!({ "type": 7, "data": { "components": [] } });
    if let Err(e) = s.rest.post(&callback, &update).await {
        warn!(kind = e.kind(), "acknowledging a click failed");
    }
    let (Some(text), Some(asked_in)) = (answer, asked_in) else {
        debug!("a click on buttons that no longer answer anything");
        return;
    };
    if asked_in.starts_with("user:") && dm_went_on(s, user, click.message.id.get()) {
        // The survey went on in the DM after this ephemeral question (an answer typed
        // there, its end): the click could answer another question, or become a post.
        debug!("a click on an ephemeral question the DM has moved past");
        return;
    }
    let address = if asked_in.starts_with("user:") {
        format!("{INTERACTION}{}:{}:{user}", click.id, click.token)
    } else {
        asked_in
    };
    debug!("survey answer by click");
    let _ = s.inbound.send(Inbound {
        platform: Platform::Discord,
        event_id: click.id.to_string(),
        sender: Sender { id: user.to_string(), roles: Roles::default() },
        conversation: Conversation::Direct { address },
        // As an explicit answer: should the survey have ended meanwhile (in another
        // process, or before a restart), the core records nothing and posts nothing.
        text: format!("{}survey answer {text}", s.prefix),
        reply_to: None,
    });
}
