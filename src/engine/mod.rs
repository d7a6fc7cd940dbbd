//! The engine: decides everything about an inbound message — who may do what, what a post
//! becomes, where it is relayed, what is stored — and queues the results in the outbox.
//!
//! The life of a message: dedupe by `(platform, event id)` → participant key → command
//! parse → one dispatch by the command's [`Audience`](commands::Audience) → the handler in
//! `participant.rs`, `posting.rs`, `moderator.rs` or `commissioner.rs` → answers as typed
//! values ([`replies`]) queued through `announce.rs`, all in one transaction. Adapters drain
//! the outbox through [`chat::Core`] (`delivery.rs`).

mod ahead;
mod announce;
mod choices;
pub mod commands;
mod commissioner;
mod context;
mod delivery;
mod engagement;
mod moderator;
mod participant;
mod posting;
pub mod render;
pub mod replies;
mod survey;

use std::sync::Arc;

use chat::{Conversation, Inbound, Platform};
use tokio::sync::{Mutex, Notify};

use crate::clock::Clock;
use crate::config::Config;
use crate::error::Result;
use crate::identity::Identity;
use crate::limits::Check;
use crate::store::{Journal, Store};
use commands::{Command, Common};
use context::{Charges, Ctx, Origin, Room};
use replies::{HelpFor, Refusal, Reply, Voice};

pub use delivery::MAX_ATTEMPTS;
pub use posting::thread_line;

/// Settings the engine needs from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Command prefix.
    pub prefix: String,
    /// Longest post in characters.
    pub max_post_chars: usize,
    /// Shown on first `!join`.
    pub privacy_notice: String,
    /// First retry delay, ms.
    pub initial_backoff_ms: i64,
    /// Longest retry delay, ms.
    pub max_backoff_ms: i64,
    /// Distinct reporters that hide a post.
    pub report_threshold: i64,
    /// Slow mode per discussion slug, in seconds.
    pub slow_mode: std::collections::HashMap<String, u64>,
}

impl Settings {
    /// From the configuration file.
    pub fn from_config(config: &Config) -> Settings {
        Settings {
            prefix: config.bot.command_prefix.clone(),
            max_post_chars: config.bot.max_post_chars,
            privacy_notice: config.bot.privacy_notice.trim().to_string(),
            initial_backoff_ms: config.delivery.initial_backoff_secs as i64 * 1000,
            max_backoff_ms: config.delivery.max_backoff_secs as i64 * 1000,
            report_threshold: config.moderation.report_threshold as i64,
            slow_mode: config.discussions.iter().map(|d| (d.slug.clone(), d.slow_mode_secs)).collect(),
        }
    }
}

/// Inbound messages between prunes of old rows: each prune deletes at most
/// [`crate::store::PRUNE_AT_MOST`] rows of each kind, so it must come often enough to keep
/// up, and each is then short.
const PRUNE_EVERY: u64 = 1_000;

const DAY_MS: i64 = 86_400_000;

/// Inbound messages between prunes of the rate limiter's state (which reads all of it).
const LIMITS_PRUNE_EVERY: u64 = 10_000;

/// The longest time between prunes while messages come (a quiet deployment would
/// otherwise keep delivered texts for weeks past their week).
const PRUNE_AT_LEAST_EVERY_MS: i64 = 3_600_000;

/// The core engine. Cheap to share behind an `Arc`.
pub struct Engine {
    store: Store,
    identity: Identity,
    clock: Arc<dyn Clock>,
    settings: Settings,
    /// Platforms with a public room: each published post goes to all of them.
    platforms: Vec<Platform>,
    moderator: Arc<moderation::Moderator>,
    limits: crate::limits::Limits,
    pacing: crate::limits::Pacing,
    analyzer: Arc<themes::Analyzer>,
    small_numbers: u64,
    /// The longest post accepted: the configured limit, or less when a mirror could not
    /// take the post with its `#N Name:` prefix in one message.
    post_limit: usize,
    wakeup: Arc<Notify>,
    /// Inbound messages are handled one at a time per process: SQLite has one writer, and
    /// it keeps a participant's messages in order. Read-only work (summaries, listings)
    /// does not take it.
    serial: Mutex<()>,
    /// Inbound messages handled, to prune old rows now and then.
    handled: std::sync::atomic::AtomicU64,
    /// Group commits stored a second time because one of their messages, or their commit,
    /// failed ([`Engine::groups_stored_again`]).
    stored_again: std::sync::atomic::AtomicU64,
    /// When old rows were last pruned (ms).
    pruned_at: std::sync::atomic::AtomicI64,
    /// The configured surveys.
    surveys: Vec<crate::surveys::SurveyConfig>,
    /// Participants handled per push transaction.
    push_batch: std::sync::atomic::AtomicUsize,
    /// A push may be unfinished (set at start, so a restart resumes it, and by `!push`
    /// and `!update`; cleared when none is left).
    push_pending: std::sync::atomic::AtomicBool,
    /// Repeated crisis messages: one alert, then a count.
    crisis_alerts: participant::CrisisAlerts,
    /// Stored sealed addresses known to open to a sender's address.
    opened: crate::identity::Opened,
    /// Deliveries reported by adapters and not yet recorded: the next group commit records
    /// them with its own changes, or the reporter does (see `delivery.rs`).
    delivered: std::sync::Mutex<Vec<(i64, Option<String>)>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("platforms", &self.platforms).finish_non_exhaustive()
    }
}

impl Engine {
    /// Builds the engine and makes sure every configured discussion exists and every open
    /// discussion has a thread queued on each platform.
    pub async fn start(
        store: Store,
        identity: Identity,
        clock: Arc<dyn Clock>,
        config: &Config,
        platforms: Vec<Platform>,
    ) -> Result<Engine> {
        let smallest = platforms.iter().map(|p| p.limits().max_message_chars).min().unwrap_or(usize::MAX);
        let post_limit = config.bot.max_post_chars.min(smallest.saturating_sub(posting::THREAD_PREFIX_MAX));
        let backend = store.backend();
        let engine = Engine {
            post_limit,
            store,
            identity,
            limits: crate::limits::Limits::new(&config.limits, clock.clone(), backend),
            analyzer: Arc::new(config.themes.analyzer()?),
            small_numbers: config.themes.small_number_threshold,
            pacing: crate::limits::Pacing::new(
                config.delivery.channel_burst,
                config.delivery.channel_every_ms,
                clock.clone(),
            ),
            clock,
            settings: Settings::from_config(config),
            platforms,
            moderator: Arc::new(crate::moderator_for(config)),
            wakeup: Arc::new(Notify::new()),
            serial: Mutex::new(()),
            handled: std::sync::atomic::AtomicU64::new(0),
            stored_again: std::sync::atomic::AtomicU64::new(0),
            pruned_at: std::sync::atomic::AtomicI64::new(0),
            surveys: config.surveys.clone(),
            push_batch: std::sync::atomic::AtomicUsize::new(engagement::PUSH_BATCH),
            push_pending: std::sync::atomic::AtomicBool::new(true),
            crisis_alerts: participant::CrisisAlerts::default(),
            opened: crate::identity::Opened::default(),
            delivered: std::sync::Mutex::new(Vec::new()),
        };
        let now = engine.clock.now_ms();
        let mut tx = engine.store.begin().await?;
        for d in &config.discussions {
            tx.insert_discussion(&d.slug, &d.title, &d.prompt, now).await?;
            tx.set_premoderated(&d.slug, d.premoderated).await?;
        }
        let open = tx.discussions(true).await?;
        // Starting is not an inbound message; its only effects are thread roots.
        let mut cx = Ctx {
            tx,
            now,
            origin: Origin { platform: Platform::Console, room: Room::Commissioners },
            active_survey: None,
            ahead: ahead::Ahead::default(),
            charges: Charges::default(),
            crisis_counted: Vec::new(),
            recorded: None,
        };
        for d in open {
            engine.ensure_threads(&mut cx, &d).await?;
        }
        cx.tx.commit().await?;
        // Everything old at once: a quiet deployment may not reach the next prune point
        // for long.
        engine.prune_all(now).await;
        engine.wakeup.notify_waiters();
        Ok(engine)
    }

    /// The theme analyzer.
    pub fn analyzer(&self) -> &themes::Analyzer {
        &self.analyzer
    }

    /// Participants (and participant–discussion pairs) the rate limiter holds state for.
    pub fn limiter_entries(&self) -> usize {
        self.limits.tracked_keys()
    }

    /// How many group commits were stored a second time (with a savepoint a message, or
    /// message by message) because a message or the commit failed: each is logged, and
    /// none should happen in normal running.
    pub fn groups_stored_again(&self) -> u64 {
        self.stored_again.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The store (for tests and reports).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The identity keys (for tests that compute expected keys).
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// How the bot words things, with this configuration's prefix.
    fn voice(&self) -> Voice<'_> {
        Voice { prefix: &self.settings.prefix, privacy_notice: &self.settings.privacy_notice }
    }

    /// Removes old dedupe records and delivered outbox rows, `times` prunes' worth
    /// ([`crate::store::PRUNE_AT_MOST`] of each kind each), and the rate limiter's state
    /// too when `limits`; failures are only logged. Whether it deleted all it could.
    async fn prune(&self, now: i64, times: u64, limits: bool) -> bool {
        self.pruned_at.store(now, std::sync::atomic::Ordering::Relaxed);
        let at_most = crate::store::PRUNE_AT_MOST.saturating_mul(times as i64);
        let done = match self.store.prune(now, 30 * DAY_MS, 7 * DAY_MS, at_most).await {
            Ok((events, outbox)) => {
                if events + outbox > 0 {
                    tracing::info!(events, outbox, "pruned old inbound event ids and delivered messages");
                }
                // The outbox count adds up the platforms: under the limit, each was.
                (events as i64) < at_most && (outbox as i64) < at_most
            }
            Err(e) => {
                tracing::warn!(error = %e, "pruning old rows failed");
                true
            }
        };
        if limits {
            if let Err(e) = self.limits.prune(&self.store).await {
                tracing::warn!(error = %e, "pruning rate-limiter rows failed");
            }
        }
        // Tables that grew fast are planned from fresh statistics (PostgreSQL).
        self.store.analyze_changed_soon();
        done
    }

    /// Prunes until nothing old is left (at start: a backlog after an upgrade, or a quiet
    /// deployment's week), a bounded delete at a time.
    async fn prune_all(&self, now: i64) {
        let mut limits = true;
        while !self.prune(now, 1, limits).await {
            limits = false;
        }
    }

    /// Handles one inbound message; errors are logged and the sender gets a plain apology.
    pub async fn handle_inbound(&self, inbound: Inbound) {
        self.handle_batch(vec![inbound]).await
    }

    /// Handles inbound messages in order. Consecutive messages that change something are
    /// stored as one group commit (of at most [`Store::group_commit_limit`] messages and
    /// [`chat::MAX_INBOUND_BATCH_BYTES`] of text): one transaction (a message that fails
    /// rolls back alone and its sender gets a plain apology),
    /// committed before this returns, so an adapter never acknowledges a message that is
    /// not stored. Read-only staff requests are read outside the lock, in their place in
    /// the order.
    pub async fn handle_batch(&self, inbounds: Vec<Inbound>) {
        let mut writes: Vec<(Inbound, Command)> = Vec::with_capacity(inbounds.len());
        // The group's text: what is worked out of it is held until the group commits.
        let mut bytes = 0;
        for inbound in inbounds {
            let inbound = clean(inbound);
            let command = commands::parse(&inbound.text, &self.settings.prefix);
            match Self::read_only(&inbound, &command) {
                // A group of its own, whose statement journal may spill to a file; the
                // messages around it keep theirs in memory.
                None if changes_many_pages(&command) => {
                    bytes = 0;
                    self.group_commit(std::mem::take(&mut writes)).await;
                    self.group_commit(vec![(inbound, command)]).await;
                }
                None => {
                    bytes += inbound.weight();
                    writes.push((inbound, command));
                    if writes.len() >= self.store.group_commit_limit() || bytes >= chat::MAX_INBOUND_BATCH_BYTES {
                        bytes = 0;
                        self.group_commit(std::mem::take(&mut writes)).await;
                        // What it queued need not wait for the rest of the batch.
                        self.wakeup.notify_waiters();
                    }
                }
                Some(request) => {
                    bytes = 0;
                    self.group_commit(std::mem::take(&mut writes)).await;
                    if let Err(e) = self.handle_read_only(&inbound, request).await {
                        self.failed(&inbound, None, &e).await;
                    }
                }
            }
        }
        self.group_commit(writes).await;
        self.wakeup.notify_waiters();
    }

    /// Stores `batch` in one transaction; when that transaction cannot be committed, each
    /// message is tried again in a transaction of its own.
    async fn group_commit(&self, batch: Vec<(Inbound, Command)>) {
        if batch.is_empty() {
            return;
        }
        // The texts are read on another thread from now on, while this waits for the lock
        // and stores the messages before them.
        let from_participants =
            batch.iter().filter(|(inbound, _)| matches!(inbound.conversation, Conversation::Direct { .. }));
        let ahead = ahead::Ahead::start(
            &self.moderator,
            &self.analyzer,
            &self.identity,
            self.post_limit,
            from_participants.map(|(inbound, command)| (inbound, command)),
        );
        let _serial = self.serial.lock().await;
        let n = batch.len() as u64;
        let before = self.handled.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        let now = self.clock.now_ms();
        let last = self.pruned_at.load(std::sync::atomic::Ordering::Relaxed);
        // A large group may pass several prune points: it prunes as much as they would.
        let due = (before + n) / PRUNE_EVERY - before / PRUNE_EVERY;
        if due > 0 || now - last >= PRUNE_AT_LEAST_EVERY_MS {
            let limits = before / LIMITS_PRUNE_EVERY != (before + n) / LIMITS_PRUNE_EVERY;
            self.prune(now, due.max(1), limits).await;
        }
        let mut charged = vec![None; batch.len()];
        // A group of several messages is first stored without a savepoint each (on
        // PostgreSQL a round trip a message, on SQLite a copy of every page a message
        // changes): messages rarely fail, and when one does the group is stored again with
        // them, so that it rolls back alone. A group whose transaction fails (its commit)
        // is stored message by message, as before: no try is made twice for one failure.
        let optimistic = batch.len() > 1;
        let savepoints = if optimistic { Savepoints::Off } else { Savepoints::On };
        let stored = match self.commit_together(&batch, &ahead, &mut charged, savepoints).await {
            Err(Failed::Message(e)) => {
                self.stored_again.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::warn!(messages = batch.len(), error = %e, "a message of a group commit failed; storing the group again with a savepoint a message");
                self.commit_together(&batch, &ahead, &mut charged, Savepoints::On).await
            }
            other => other,
        };
        let Err(failed) = stored else { return };
        let e = failed.error();
        if batch.len() == 1 {
            let (inbound, command) = &batch[0];
            drop(_serial);
            self.failed(inbound, Some(command), &e).await;
            return;
        }
        self.stored_again.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::warn!(messages = batch.len(), error = %e, "a group commit failed; storing its messages one by one");
        for (one, charged) in batch.chunks(1).zip(charged.chunks_mut(1)) {
            if let Err(e) = self.commit_together(one, &ahead, charged, Savepoints::On).await.map_err(Failed::error) {
                tracing::error!(platform = %one[0].0.platform, error = %e, "storing an inbound message failed");
                if let Err(e2) = self.apologise(&one[0].0, Some(&one[0].1)).await {
                    tracing::error!(platform = %one[0].0.platform, error = %e2, "could not queue the apology either");
                }
            }
        }
    }

    /// The participant key of each direct message's sender, in order (worked out once with
    /// their sealed address, as their message will take it, [`Engine::origin_ahead`]).
    fn senders_of(&self, batch: &[(Inbound, Command)], ahead: &ahead::Ahead) -> Vec<crate::ids::ParticipantKey> {
        batch
            .iter()
            .filter_map(|(inbound, _)| match self.origin_ahead(inbound, ahead).room {
                Room::Direct { key, .. } => Some(key),
                _ => None,
            })
            .collect()
    }

    /// The senders of a group's new direct messages (`new`: which messages are not
    /// duplicates) up to its first other message (a staff message, which acts on
    /// participants), each with the address their message came from, sealed as their
    /// message will seal it: [`crate::store::Tx::read_participants_of`] stores those who
    /// have no participant row yet, as their message would.
    fn new_senders_of(
        &self,
        batch: &[(Inbound, Command)],
        new: &[bool],
        ahead: &ahead::Ahead,
    ) -> Vec<(crate::ids::ParticipantKey, chat::Platform, Option<String>)> {
        batch
            .iter()
            .zip(new)
            .map_while(|((inbound, _), new)| match self.origin_ahead(inbound, ahead).room {
                Room::Direct { key, sealed } => Some(new.then_some((key, inbound.platform, Some(sealed)))),
                _ => None,
            })
            .flatten()
            .collect()
    }

    /// Logs a message that could not be handled and apologises to its sender.
    async fn failed(&self, inbound: &Inbound, command: Option<&Command>, e: &crate::error::Error) {
        tracing::error!(platform = %inbound.platform, error = %e, "handling an inbound message failed; nothing was stored");
        let _serial = self.serial.lock().await;
        if let Err(e2) = self.apologise(inbound, command).await {
            tracing::error!(platform = %inbound.platform, error = %e2, "could not queue the apology either");
        }
    }

    /// One transaction for `batch`. With [`Savepoints::On`], a savepoint per message, and
    /// errors returned are the transaction's own (begin, savepoint, commit): a message's
    /// error is rolled back to its savepoint, logged and answered with an apology inside
    /// the transaction. `charged`
    /// holds, for each message, the in-memory rate-limit outcomes of an earlier try of it
    /// (given again instead of charging the sender twice), and gets this try's.
    ///
    /// With [`Savepoints::Off`] a message that fails fails the whole transaction (its
    /// error is returned as [`Failed::Message`] and nothing is stored), for the caller to
    /// try again with them on.
    async fn commit_together(
        &self,
        batch: &[(Inbound, Command)],
        ahead: &ahead::Ahead,
        charged: &mut [Option<Vec<(context::Charged, Check)>>],
        savepoints: Savepoints,
    ) -> std::result::Result<(), Failed> {
        let Some((first, _)) = batch.first() else { return Ok(()) };
        // Such a group holds only that message (see `handle_batch`).
        let many = batch.iter().any(|(_, command)| changes_many_pages(command));
        let journal = if many { Journal::Spilling } else { Journal::Memory };
        let mut cx = Ctx {
            tx: self.store.begin_with(journal).await?,
            now: self.clock.now_ms(),
            origin: self.origin_ahead(first, ahead),
            active_survey: None,
            ahead: ahead.clone(),
            charges: Charges::default(),
            crisis_counted: Vec::new(),
            recorded: None,
        };
        // Which messages are new (not duplicates), when recorded together.
        let mut new = Vec::new();
        // Without savepoints nothing of the group is kept unless all of it is: its inbound
        // events are recorded together (one statement on PostgreSQL instead of one a message).
        let mut recorded = match savepoints {
            Savepoints::Off => {
                let events: Vec<_> =
                    batch.iter().map(|(inbound, _)| (inbound.platform, inbound.event_id.as_str())).collect();
                let recorded = cx.tx.record_inbound_many(&events, cx.now).await?;
                new = recorded.clone();
                // Its posts' numbers counted in memory, written back as it commits: a read
                // and a write a discussion instead of a write a post, so only for a group
                // large enough to hold several posts of a discussion (on PostgreSQL its
                // posts are queued and written together, too).
                if batch.len() >= HOLD_NUMBERS_FROM {
                    cx.tx.hold_post_numbers();
                }
                // And its senders' rate-limiter rows and participant rows read (PostgreSQL),
                // the limiter rows to be written back as it commits, and new senders stored.
                if self.store.backend() == crate::store::Backend::Postgres {
                    cx.tx.read_limits_of(&self.senders_of(batch, ahead).iter().collect::<Vec<_>>()).await?;
                    // It stores new senders: an error is a message's.
                    let senders = self.new_senders_of(batch, &new, ahead);
                    cx.tx.read_participants_of(&senders, cx.now).await.map_err(Failed::Message)?;
                }
                Some(recorded.into_iter())
            }
            Savepoints::On => None,
        };
        let mut handled = Vec::with_capacity(batch.len());
        let mut read_again = false;
        // Crisis alert counts are put back unless the group commits, so that an alert
        // rolled back with it is sent when its message is tried again.
        let mut counted = Uncommitted { alerts: &self.crisis_alerts, counted: Vec::new() };
        for (i, ((inbound, command), charged)) in batch.iter().zip(charged.iter_mut()).enumerate() {
            if i > 0 {
                cx.now = self.clock.now_ms();
                cx.origin = self.origin_ahead(inbound, ahead);
                cx.active_survey = None;
            }
            cx.charges = Charges::again(charged.take());
            cx.recorded = recorded.as_mut().and_then(Iterator::next);
            // Only a participant's own message leaves the other senders' rows as they were
            // read (staff act on participants): after a staff message the rest of the
            // group's senders are read again, at once, when the next of them comes.
            let direct = matches!(inbound.conversation, Conversation::Direct { .. });
            if !direct {
                cx.tx.forget_participants_read();
                read_again = true;
            } else if read_again
                && savepoints == Savepoints::Off
                && self.store.backend() == crate::store::Backend::Postgres
            {
                read_again = false;
                // It writes what the messages before queued: an error is theirs.
                let senders = self.new_senders_of(&batch[i..], &new[i..], ahead);
                cx.tx.read_participants_of(&senders, cx.now).await.map_err(Failed::Message)?;
            }
            // The message before keeps its changes as this one's savepoint is set (one
            // round trip for both on PostgreSQL).
            match savepoints {
                Savepoints::On if i == 0 => cx.tx.savepoint().await?,
                Savepoints::On => cx.tx.next_savepoint().await?,
                Savepoints::Off => cx.tx.next_message(),
            }
            // With savepoints, the message's queued outbox rows are written before its
            // savepoint is released: an error in them is its own. Without, an error fails
            // the group anyway, and the rows of several messages go in one `INSERT`.
            let handled_one = match self.handle_one(&mut cx, inbound, command.clone()).await {
                Ok(label) if savepoints == Savepoints::On => cx.tx.flush().await.map(|()| label),
                other => other,
            };
            *charged = Some(std::mem::take(&mut cx.charges).into_made());
            let crisis_counted = std::mem::take(&mut cx.crisis_counted);
            match handled_one {
                Ok(label) => {
                    counted.counted.extend(crisis_counted);
                    handled.push((inbound.platform, label));
                }
                Err(e) if savepoints == Savepoints::Off => {
                    // Nothing of the group is stored (the transaction rolls back as `cx`
                    // is dropped, and `counted` puts the crisis counts back).
                    self.crisis_alerts.undo(crisis_counted);
                    return Err(Failed::Message(e));
                }
                Err(e) => {
                    cx.tx.undo_to_savepoint().await?;
                    self.crisis_alerts.undo(crisis_counted);
                    tracing::error!(platform = %inbound.platform, error = %e, "handling an inbound message failed; nothing of it was stored");
                    let answered = async {
                        self.after_failure(&mut cx, command).await?;
                        cx.tx.flush().await
                    }
                    .await;
                    match answered {
                        Ok(()) => counted.counted.append(&mut cx.crisis_counted),
                        Err(e2) => {
                            cx.tx.undo_to_savepoint().await?;
                            self.crisis_alerts.undo(std::mem::take(&mut cx.crisis_counted));
                            tracing::error!(platform = %inbound.platform, error = %e2, "answering a failed message failed; trying the apology alone");
                            let apologised = async {
                                self.say(&mut cx, &Reply::InternalError).await?;
                                cx.tx.flush().await
                            }
                            .await;
                            if let Err(e3) = apologised {
                                cx.tx.undo_to_savepoint().await?;
                                tracing::error!(platform = %inbound.platform, error = %e3, "could not queue the apology either");
                            }
                        }
                    }
                }
            }
        }
        match savepoints {
            Savepoints::On => cx.tx.release().await?,
            // What the messages queued is written now, so that a row that fails (a post, on
            // PostgreSQL) fails a message, not the transaction: the group is stored again
            // with a savepoint a message, not message by message.
            Savepoints::Off => cx.tx.flush().await.map_err(Failed::Message)?,
        }
        // Deliveries reported meanwhile are recorded in this commit: one sync for both.
        let delivered = self.record_delivered_in(&mut cx.tx).await?;
        if let Err(e) = cx.tx.commit().await {
            self.return_delivered(delivered);
            return Err(Failed::Transaction(e));
        }
        counted.committed();
        for (platform, label) in handled {
            match label {
                Some(command) => tracing::info!(%platform, command, "handled"),
                None => tracing::debug!(%platform, "duplicate inbound event ignored"),
            }
        }
        Ok(())
    }

    /// What a message whose handling failed still gets: a crisis in its text is answered
    /// (the signposting, and the moderators' alert, which names no discussion since the
    /// participant row is not read again), then the apology.
    async fn after_failure(&self, cx: &mut Ctx, command: &Command) -> Result<()> {
        if let Room::Direct { key, .. } = &cx.origin.room {
            let key = key.clone();
            self.crisis_first(cx, &key, command, None).await?;
        }
        self.say(cx, &Reply::InternalError).await
    }

    /// The apology for a message that could not be stored, in a transaction of its own,
    /// with the answer to a crisis in its text (`command`, when known).
    async fn apologise(&self, inbound: &Inbound, command: Option<&Command>) -> Result<()> {
        let mut cx = Ctx {
            tx: self.store.begin().await?,
            now: self.clock.now_ms(),
            origin: self.origin(inbound),
            active_survey: None,
            ahead: ahead::Ahead::default(),
            charges: Charges::default(),
            crisis_counted: Vec::new(),
            recorded: None,
        };
        let answered = match command {
            Some(command) => self.after_failure(&mut cx, command).await,
            None => self.say(&mut cx, &Reply::InternalError).await,
        };
        // Put back unless this commits, as in a group commit.
        let mut counted = Uncommitted { alerts: &self.crisis_alerts, counted: std::mem::take(&mut cx.crisis_counted) };
        answered?;
        cx.tx.commit().await?;
        counted.committed();
        Ok(())
    }

    fn origin(&self, inbound: &Inbound) -> Origin {
        self.origin_ahead(inbound, &ahead::Ahead::default())
    }

    /// [`Engine::origin`], with the sender worked out ahead when `ahead` has them.
    fn origin_ahead(&self, inbound: &Inbound, ahead: &ahead::Ahead) -> Origin {
        let room = match &inbound.conversation {
            Conversation::Direct { address } => {
                let (key, sealed) = ahead.sender(&self.identity, inbound).unwrap_or_else(|| {
                    (self.identity.participant_key(inbound.platform, &inbound.sender.id), self.identity.seal(address))
                });
                Room::Direct { sealed, key }
            }
            Conversation::Moderators => Room::Moderators,
            Conversation::Commissioners | Conversation::Public => Room::Commissioners,
        };
        Origin { platform: inbound.platform, room }
    }

    /// One message inside a group commit: its command's label, or `None` for a duplicate.
    async fn handle_one(&self, cx: &mut Ctx, inbound: &Inbound, command: Command) -> Result<Option<&'static str>> {
        let new = match cx.recorded.take() {
            Some(new) => new,
            None => cx.tx.record_inbound(inbound.platform, &inbound.event_id, cx.now).await?,
        };
        if !new {
            return Ok(None);
        }
        let label = command.label();
        // The public room is for reading; posting there would not be anonymous.
        if inbound.conversation != Conversation::Public {
            if let Some(reply) = self.dispatch(cx, inbound, command).await? {
                self.say(cx, &reply).await?;
            }
        }
        Ok(Some(label))
    }

    /// The one dispatch: by who the command is for, and who is asking where.
    async fn dispatch(&self, cx: &mut Ctx, inbound: &Inbound, command: Command) -> Result<Option<Reply>> {
        let staff = Staff::of(inbound);
        let me = match &cx.origin.room {
            Room::Direct { key, sealed } => {
                let (key, sealed) = (key.clone(), sealed.clone());
                // `origin` makes a DM room only of a DM conversation; were it anything else,
                // no address matches "" and the sealed one is stored as before.
                let address = match &inbound.conversation {
                    Conversation::Direct { address } => address.as_str(),
                    _ => "",
                };
                let me = self.participant_prelude(cx, &key, (address, &sealed), &command).await?;
                if let Some(refusal) = me.refusal {
                    return Ok(Some(refusal.into()));
                }
                Some(me.participant)
            }
            _ => None,
        };
        let reply = match command {
            Command::Anyone(Common::HelpAll) if me.is_some() => Reply::Help(HelpFor::ParticipantAll),
            Command::Anyone(Common::Help | Common::HelpAll) => Reply::Help(match (&me, staff) {
                (Some(_), _) => HelpFor::Participant,
                (None, Staff { room: StaffRoom::Commissioners, .. }) => HelpFor::Commissioner,
                (None, Staff { moderator: true, .. }) => HelpFor::Moderator,
                (None, _) => HelpFor::ModeratorRoom,
            }),
            Command::Anyone(Common::Topics) => Reply::Topics(cx.tx.discussions(true).await?),
            Command::Participant(c) => match me {
                Some(participant) => self.participant(cx, &participant, c).await?,
                // Staff rooms are for people talking among themselves too.
                None if matches!(c, commands::ParticipantCommand::Text(_)) => return Ok(None),
                None => Refusal::UseADm.into(),
            },
            Command::Moderator(c) if staff.moderator => self.moderate(cx, inbound, c).await?,
            Command::Moderator(_) => Refusal::ModeratorsOnly.into(),
            Command::Commissioner(c) if staff.commissioner => self.commission(cx, c).await?,
            Command::Commissioner(_) => Refusal::CommissionersOnly.into(),
            Command::Usage(how) => Refusal::Usage(how).into(),
            Command::Unknown(word) => Refusal::UnknownCommand(word).into(),
        };
        Ok(Some(reply))
    }
}

/// The smallest group whose posts' `#N` are counted in memory ([`crate::store::Tx::hold_post_numbers`]).
const HOLD_NUMBERS_FROM: usize = 8;

/// Crisis alert counts changed by a group commit's messages, put back when it is dropped
/// before the group committed (and emptied once it has).
struct Uncommitted<'a> {
    alerts: &'a participant::CrisisAlerts,
    counted: Vec<participant::CrisisUndo>,
}

impl Uncommitted<'_> {
    /// The group committed: its counts stay.
    fn committed(&mut self) {
        self.counted.clear();
    }
}

impl Drop for Uncommitted<'_> {
    fn drop(&mut self) {
        self.alerts.undo(std::mem::take(&mut self.counted));
    }
}

/// Why a group commit stored nothing.
#[derive(Debug)]
enum Failed {
    /// One of its messages failed, in a group stored without savepoints: stored again
    /// with them, it keeps every other message.
    Message(crate::error::Error),
    /// Its transaction failed (beginning it, a savepoint, the commit).
    Transaction(crate::error::Error),
}

impl Failed {
    /// What failed.
    fn error(self) -> crate::error::Error {
        match self {
            Failed::Message(e) | Failed::Transaction(e) => e,
        }
    }
}

impl From<crate::error::Error> for Failed {
    fn from(e: crate::error::Error) -> Failed {
        Failed::Transaction(e)
    }
}

/// Whether a group commit sets a savepoint for each message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Savepoints {
    /// Each message rolls back alone when it fails.
    On,
    /// A message that fails fails the group.
    Off,
}

/// Whether one message of `command` may change a great many pages inside its savepoint:
/// `!forget` unlinks every post its author ever wrote, too many pages to keep a copy of
/// each in memory.
fn changes_many_pages(command: &Command) -> bool {
    matches!(command, Command::Participant(commands::ParticipantCommand::Forget))
}

/// Removes what no database may store from everything an adapter hands over: PostgreSQL
/// refuses NUL in text, and nothing a participant types may fail a whole transaction (a
/// crisis message included).
fn clean(mut inbound: Inbound) -> Inbound {
    fn strip(s: &mut String) {
        if s.contains('\0') {
            s.retain(|c| c != '\0');
        }
    }
    strip(&mut inbound.text);
    strip(&mut inbound.event_id);
    strip(&mut inbound.sender.id);
    if let Conversation::Direct { address } = &mut inbound.conversation {
        strip(address);
    }
    if let Some(reply_to) = &mut inbound.reply_to {
        strip(reply_to);
    }
    inbound
}

/// Staff requests that only read: answered from a read transaction outside the lock.
enum ReadOnly {
    Summary(String),
    Queue,
    Log,
}

impl Engine {
    fn read_only(inbound: &Inbound, command: &Command) -> Option<ReadOnly> {
        let staff = Staff::of(inbound);
        match command {
            Command::Commissioner(commands::CommissionerCommand::Summary(slug)) if staff.commissioner => {
                Some(ReadOnly::Summary(slug.clone()))
            }
            Command::Moderator(commands::ModeratorCommand::Queue) if staff.moderator => Some(ReadOnly::Queue),
            Command::Moderator(commands::ModeratorCommand::Log) if staff.moderator => Some(ReadOnly::Log),
            _ => None,
        }
    }

    /// Reads outside the lock, then records the event and queues the answer under it.
    async fn handle_read_only(&self, inbound: &Inbound, request: ReadOnly) -> Result<()> {
        let label = match request {
            ReadOnly::Summary(_) => "summary",
            ReadOnly::Queue => "queue",
            ReadOnly::Log => "log",
        };
        let mut read = self.store.begin_read().await?;
        let reply = match request {
            ReadOnly::Summary(slug) => self.summary(&mut read, &slug).await?,
            ReadOnly::Queue => Reply::Queue(read.review_queue().await?),
            ReadOnly::Log => Reply::Log(read.audit_log(20).await?),
        };
        read.commit().await?;
        let _serial = self.serial.lock().await;
        let mut cx = Ctx {
            tx: self.store.begin().await?,
            now: self.clock.now_ms(),
            origin: self.origin(inbound),
            active_survey: None,
            ahead: ahead::Ahead::default(),
            charges: Charges::default(),
            crisis_counted: Vec::new(),
            recorded: None,
        };
        if !cx.tx.record_inbound(inbound.platform, &inbound.event_id, cx.now).await? {
            tracing::debug!(platform = %inbound.platform, "duplicate inbound event ignored");
            return Ok(());
        }
        self.say(&mut cx, &reply).await?;
        cx.tx.commit().await?;
        tracing::info!(platform = %inbound.platform, command = label, "handled");
        Ok(())
    }
}

/// Which staff room a message came from, and the rights that count there.
#[derive(Debug, Clone, Copy)]
struct Staff {
    room: StaffRoom,
    /// A moderator speaking in the moderators' room.
    moderator: bool,
    /// A commissioner speaking in the commissioners' room.
    commissioner: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StaffRoom {
    None,
    Moderators,
    Commissioners,
}

impl Staff {
    fn of(inbound: &Inbound) -> Staff {
        let room = match inbound.conversation {
            Conversation::Moderators => StaffRoom::Moderators,
            Conversation::Commissioners => StaffRoom::Commissioners,
            _ => StaffRoom::None,
        };
        Staff {
            room,
            moderator: room == StaffRoom::Moderators && inbound.sender.roles.moderator,
            commissioner: room == StaffRoom::Commissioners && inbound.sender.roles.commissioner,
        }
    }
}
