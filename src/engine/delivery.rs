//! The engine as adapters see it: the outbox drained through [`chat::Core`], with
//! exponential back-off for failed deliveries.

use std::sync::Arc;

use chat::{Action, Delivery, DeliveryId, Destination, Inbound, Outbound, Outcome, Platform};
use tokio::sync::Notify;

use super::replies::Alert;
use super::Engine;
use crate::error::Result;
use crate::store::{DestKind, DueRow, NewOutbox, OutboxAction, OutboxDest};

impl Engine {
    /// Deliveries due now for `platform`.
    pub async fn due_deliveries(&self, platform: Platform, limit: usize) -> Result<Vec<Delivery>> {
        // Pushes to a whole discussion move on a batch at a time from here (engagement.rs).
        if self.push_pending.load(std::sync::atomic::Ordering::Relaxed) {
            if let Err(e) = self.push_step().await {
                tracing::error!(error = %e, "working through a push failed; it will be tried again");
            }
        }
        let now = self.clock.now_ms();
        let rows = self.store.due(platform, now, limit).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let id = row.id;
            match self.to_delivery(row) {
                Ok(Some(d)) => match self.pacing.check(platform, &channel_of(&d.outbound.destination)) {
                    None => out.push(d),
                    // Over the channel's pace: hand it out again once the wait is over.
                    Some(wait) => self.store.defer(id, now + wait.as_millis() as i64 + 1).await?,
                },
                // Nothing to do on this platform (e.g. removing a message never sent there).
                Ok(None) => self.store.mark_delivered(id, None, now).await?,
                Err(e) => {
                    // Undecryptable address: retrying cannot help.
                    tracing::error!(outbox = id, error = %e, "outbox row cannot be delivered; set aside");
                    self.store.set_aside(id, now).await?;
                }
            }
        }
        Ok(out)
    }

    fn to_delivery(&self, row: DueRow) -> Result<Option<Delivery>> {
        let destination = match row.dest_kind {
            DestKind::Direct => {
                Destination::Direct { address: self.identity.open(row.sealed_address.as_deref().unwrap_or_default())? }
            }
            DestKind::Thread => Destination::Thread { slug: row.slug.unwrap_or_default(), root: row.root },
            DestKind::Moderators => Destination::Moderators,
            DestKind::Commissioners => Destination::Commissioners,
        };
        let action = match row.action {
            OutboxAction::Send => Action::Send,
            OutboxAction::OpenThread => Action::OpenThread,
            OutboxAction::Remove => match row.remove_message {
                Some(message_id) => Action::Remove { message_id },
                None => return Ok(None),
            },
        };
        Ok(Some(Delivery {
            id: DeliveryId(row.id),
            outbound: Outbound { destination, text: row.body, reply_to: row.reply_to_message, action },
            choices: row.choices.as_deref().and_then(super::choices::decode),
        }))
    }

    /// Records how several deliveries went: the delivered ones in one transaction, the
    /// others one by one.
    pub async fn report_outcomes(&self, outcomes: Vec<(DeliveryId, Outcome)>) -> Result<()> {
        let mut delivered = Vec::with_capacity(outcomes.len());
        let mut others = Vec::new();
        for (id, outcome) in outcomes {
            match outcome {
                Outcome::Delivered { message_id } => delivered.push((id.0, message_id)),
                other => others.push((id, other)),
            }
        }
        if !delivered.is_empty() {
            self.record_delivered(delivered).await?;
        }
        for (id, outcome) in others {
            self.report_outcome(id, outcome).await?;
        }
        Ok(())
    }

    /// Records how a delivery went.
    pub async fn report_outcome(&self, id: DeliveryId, outcome: Outcome) -> Result<()> {
        let now = self.clock.now_ms();
        match outcome {
            Outcome::Delivered { message_id } => self.record_delivered(vec![(id.0, message_id)]).await?,
            Outcome::Rejected { reason } => {
                tracing::warn!(outbox = id.0, %reason, "the platform can never take this message; set aside");
                self.set_aside(id, None, now).await?;
            }
            Outcome::Failed { .. } if self.store.attempts(id.0).await? + 1 >= MAX_ATTEMPTS => {
                tracing::error!(outbox = id.0, attempts = MAX_ATTEMPTS, "delivery kept failing; set aside");
                self.set_aside(id, Some(MAX_ATTEMPTS), now).await?;
            }
            Outcome::Failed { retry_after } => {
                let attempts = self.store.attempts(id.0).await?;
                let delay = match retry_after {
                    Some(d) => d.as_millis() as i64,
                    None => backoff(attempts, self.settings.initial_backoff_ms, self.settings.max_backoff_ms),
                };
                self.store.mark_failed(id.0, now + delay).await?;
                tracing::warn!(outbox = id.0, attempts = attempts + 1, delay_ms = delay, "delivery failed; will retry");
            }
        }
        Ok(())
    }
}

impl Engine {
    /// Records deliveries, committed before this returns. On SQLite they wait in
    /// `delivered` while a group commit is under way, which records them with its own
    /// changes (one sync of the log for both, where each used to take one); what is left
    /// when the engine is free is recorded here, in a transaction of its own.
    async fn record_delivered(&self, items: Vec<(i64, Option<String>)>) -> Result<()> {
        if self.store.backend() != crate::store::Backend::Sqlite {
            // Not on PostgreSQL: there the engine's commit waits its turn behind other
            // processes', and a report held back that long outlives its lease, so the row is
            // claimed and delivered again elsewhere; two records of one row in two
            // transactions deadlocked (seen in the three-process bench).
            self.store.mark_delivered_many(&items, self.clock.now_ms()).await?;
            self.wakeup.notify_waiters();
            return Ok(());
        }
        let mine: std::collections::HashSet<i64> = items.iter().map(|(id, _)| *id).collect();
        self.pending_delivered().extend(items);
        let serial = self.serial.lock().await;
        let left = std::mem::take(&mut *self.pending_delivered());
        if !left.is_empty() {
            if let Err(e) = self.store.mark_delivered_many(&left, self.clock.now_ms()).await {
                // Others' reports among them find theirs still waiting and try again; ours
                // fail here (their rows are handed out again once the lease runs out).
                self.return_delivered(left.into_iter().filter(|(id, _)| !mine.contains(id)).collect());
                return Err(e);
            }
        }
        drop(serial);
        // A delivered thread root can unblock posts waiting for it.
        self.wakeup.notify_waiters();
        Ok(())
    }

    /// Inside a group commit: records the deliveries waiting, in a savepoint of their own
    /// (if that fails they go back to wait, and the messages' changes are kept). Returns
    /// them, to be put back if the commit fails.
    pub(super) async fn record_delivered_in(&self, tx: &mut crate::store::Tx) -> Result<Vec<(i64, Option<String>)>> {
        let waiting = std::mem::take(&mut *self.pending_delivered());
        if waiting.is_empty() {
            return Ok(waiting);
        }
        // Whatever fails here, the deliveries go back to wait first: their reporters must
        // not find them gone unless this transaction records them.
        if let Err(e) = tx.savepoint().await {
            self.return_delivered(waiting);
            return Err(e);
        }
        match tx.mark_delivered_many(&waiting, self.clock.now_ms()).await {
            Ok(()) => {
                if let Err(e) = tx.release().await {
                    self.return_delivered(waiting);
                    return Err(e);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "recording deliveries inside a group commit failed; they are recorded on their own");
                self.return_delivered(waiting);
                tx.rollback_to_savepoint().await?;
                return Ok(Vec::new());
            }
        }
        Ok(waiting)
    }

    /// Puts deliveries back to wait (their transaction did not commit).
    pub(super) fn return_delivered(&self, items: Vec<(i64, Option<String>)>) {
        if !items.is_empty() {
            self.pending_delivered().extend(items);
        }
    }

    fn pending_delivered(&self) -> std::sync::MutexGuard<'_, Vec<(i64, Option<String>)>> {
        // A panic while holding it leaves a plain list behind, still usable.
        self.delivered.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Attempts after which a delivery that keeps failing is set aside (about 25 minutes of
/// back-off with the default settings).
pub const MAX_ATTEMPTS: i64 = 12;

impl Engine {
    /// Sets a delivery aside for good and tells the moderators, through a short message on
    /// every platform but the failing one when the failing message was itself for them (so
    /// that a broken moderators' room cannot start a loop). A participant's DM that the
    /// platform refuses (they left, or blocked the bot) is only logged.
    async fn set_aside(&self, id: DeliveryId, attempts: Option<i64>, now: i64) -> Result<()> {
        let Some((kind, platform)) = self.store.set_aside(id.0, now).await? else { return Ok(()) };
        if kind == DestKind::Direct && attempts.is_none() {
            return Ok(());
        }
        let failing = Platform::parse(&platform);
        let targets: Vec<Platform> =
            self.platforms.iter().copied().filter(|p| kind != DestKind::Moderators || Some(*p) != failing).collect();
        if targets.is_empty() {
            return Ok(());
        }
        let text = self.voice().alert(&Alert::SetAside { kind, platform, attempts });
        let mut tx = self.store.begin().await?;
        for target in targets {
            tx.enqueue(&NewOutbox::message(target, OutboxDest::Moderators, &text, now)).await?;
        }
        tx.commit().await?;
        self.wakeup.notify_waiters();
        Ok(())
    }
}

/// The channel a destination is paced on. DM addresses are hashed so that the pacing
/// table never holds one in clear.
fn channel_of(d: &Destination) -> String {
    use std::hash::{Hash, Hasher};
    match d {
        Destination::Direct { address } => {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            address.hash(&mut h);
            format!("dm:{:x}", h.finish())
        }
        Destination::Thread { slug, .. } => format!("thread:{slug}"),
        Destination::Moderators => "moderators".into(),
        Destination::Commissioners => "commissioners".into(),
    }
}

/// Exponential back-off: `initial × 2^attempts`, capped at `max`.
pub fn backoff(attempts: i64, initial_ms: i64, max_ms: i64) -> i64 {
    let shift = attempts.clamp(0, 30) as u32;
    initial_ms.saturating_mul(1i64 << shift).min(max_ms)
}

#[async_trait::async_trait]
impl chat::Core for Engine {
    async fn handle(&self, inbound: Inbound) {
        self.handle_inbound(inbound).await
    }

    fn max_batch(&self) -> usize {
        self.store.group_commit_limit()
    }

    async fn handle_batch(&self, inbounds: Vec<Inbound>) {
        Engine::handle_batch(self, inbounds).await
    }

    async fn due(&self, platform: Platform, limit: usize) -> Vec<Delivery> {
        match self.due_deliveries(platform, limit).await {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(%platform, error = %e, "reading the outbox failed");
                Vec::new()
            }
        }
    }

    async fn report(&self, id: DeliveryId, outcome: Outcome) {
        if let Err(e) = self.report_outcome(id, outcome).await {
            tracing::error!(outbox = id.0, error = %e, "recording a delivery outcome failed");
        }
    }

    async fn report_batch(&self, outcomes: Vec<(DeliveryId, Outcome)>) {
        if let Err(e) = self.report_outcomes(outcomes).await {
            tracing::error!(error = %e, "recording delivery outcomes failed");
        }
    }

    fn wakeup(&self) -> Arc<Notify> {
        self.wakeup.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use chat::{Core, Platform};

    /// Deliveries reported while a group commit is under way are recorded by its commit;
    /// when that commit fails they wait again, and are recorded on their own.
    #[tokio::test]
    #[allow(clippy::unwrap_used)]
    async fn deliveries_waiting_are_recorded_by_the_next_group_commit() {
        let config = crate::config::Config::load(None).unwrap();
        let store = crate::store::Store::connect("sqlite::memory:").await.unwrap();
        let engine = super::Engine::start(
            store.clone(),
            crate::identity::Identity::new(b"a-test-secret-of-enough-length"),
            std::sync::Arc::new(crate::clock::SystemClock),
            &config,
            vec![Platform::Console],
        )
        .await
        .unwrap();
        let say = |n: u32, text: &str| crate::console::inbound(&config.console, "alice", text, format!("e{n}"));
        engine.handle_batch(vec![say(1, "!topics")]).await;
        let due = engine.due(Platform::Console, 100).await;
        assert!(!due.is_empty());
        let waiting: Vec<(i64, Option<String>)> = due.iter().map(|d| (d.id.0, Some(format!("m{}", d.id.0)))).collect();
        let before = store.pending_count().await.unwrap();

        // As if reported while a group commit held the engine: the commit takes them.
        engine.return_delivered(waiting.clone());
        engine.handle_batch(vec![say(2, "!topics")]).await;
        assert!(engine.pending_delivered().is_empty());
        let answered = store.pending_count().await.unwrap();
        assert_eq!(answered, before - waiting.len() as i64 + 1, "the first answer recorded, the second queued");

        // Reported with no group commit under way: recorded at once by the reporter.
        let second = engine.due(Platform::Console, 100).await;
        assert_eq!(second.len(), 1);
        engine.record_delivered(vec![(second[0].id.0, Some("m".into()))]).await.unwrap();
        assert!(engine.pending_delivered().is_empty());
        assert_eq!(store.pending_count().await.unwrap(), answered - 1);
    }

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff(0, 2000, 300_000), 2000);
        assert_eq!(backoff(1, 2000, 300_000), 4000);
        assert_eq!(backoff(5, 2000, 300_000), 64_000);
        assert_eq!(backoff(50, 2000, 300_000), 300_000);
    }
}
