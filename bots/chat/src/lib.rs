//! The neutral chat protocol shared by parley's core and its platform adapters.
//!
//! An adapter is a translator and nothing more: it turns a platform event into an
//! [`Inbound`], hands it to the [`Core`], and turns each [`Delivery`] that the core asks it
//! to make back into a platform call. No business rule lives in an adapter.
//!
//! ```
//! use chat::{Conversation, Inbound, Platform, Roles, Sender};
//!
//! let inbound = Inbound {
//!     platform: Platform::Console,
//!     event_id: "console-1".into(),
//!     sender: Sender { id: "alice".into(), roles: Roles::default() },
//!     conversation: Conversation::Direct { address: "alice".into() },
//!     text: "!topics".into(),
//!     reply_to: None,
//! };
//! assert_eq!(inbound.platform.as_str(), "console");
//! ```
//!
//! This crate does no I/O. It is deliberately tiny so that every adapter can depend on it
//! without pulling in the core.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// A chat platform that parley can speak on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Platform {
    /// The local terminal adapter (`parley console`).
    Console,
    /// Matrix (Element and other clients).
    Matrix,
    /// Discord.
    Discord,
}

impl Platform {
    /// Every platform, in a stable order.
    pub const ALL: [Platform; 3] = [Platform::Console, Platform::Matrix, Platform::Discord];

    /// The stable lower-case name used in storage and configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Console => "console",
            Platform::Matrix => "matrix",
            Platform::Discord => "discord",
        }
    }

    /// Parses the name produced by [`Platform::as_str`].
    pub fn parse(name: &str) -> Option<Platform> {
        Platform::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

/// What a platform accepts, declared here as data so that the core can shape every message
/// to fit and pace deliveries, and no adapter has to cut or refuse anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The longest message text, in characters, that the platform takes in one message.
    pub max_message_chars: usize,
    /// Outbound pacing per channel, or `None` when the platform needs none.
    pub pacing: Option<Pacing>,
}

/// A channel may take a burst of messages, then one every `every`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pacing {
    /// Messages that may go at once.
    pub burst: u32,
    /// Then one message every this long.
    pub every: Duration,
}

impl Platform {
    /// What this platform accepts.
    ///
    /// - Console: a local terminal, no limits.
    /// - Matrix: no length limit as such, but an event must stay under 64 KiB; with the
    ///   HTML copy of the text and escaping, a character can cost up to 8 bytes, so 7,500
    ///   characters always fit. Pacing: a burst of 5, then one a second per room.
    /// - Discord: 2,000 characters per message; 5 messages per 5 seconds per channel.
    pub fn limits(self) -> Limits {
        match self {
            Platform::Console => Limits { max_message_chars: usize::MAX, pacing: None },
            Platform::Matrix => {
                Limits { max_message_chars: 7_500, pacing: Some(Pacing { burst: 5, every: Duration::from_secs(1) }) }
            }
            Platform::Discord => {
                Limits { max_message_chars: 2_000, pacing: Some(Pacing { burst: 5, every: Duration::from_secs(1) }) }
            }
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the adapter's role mapping says about the sender. The core trusts these flags only
/// for messages that arrive in the room the role belongs to (see [`Conversation`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Roles {
    /// The sender may use moderator commands.
    pub moderator: bool,
    /// The sender may use commissioner commands.
    pub commissioner: bool,
}

/// Who sent a message. The core never stores or logs `id` in clear: it keys the
/// participant with an HMAC of it.
#[derive(Clone, PartialEq, Eq)]
pub struct Sender {
    /// The platform's user id (Matrix user id, Discord snowflake, console name).
    pub id: String,
    /// Roles granted by the adapter's role mapping.
    pub roles: Roles,
}

impl fmt::Debug for Sender {
    // Deliberately hides the id so that a stray `{:?}` cannot leak it into a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").field("id", &"<hidden>").field("roles", &self.roles).finish()
    }
}

/// Where a message was received.
#[derive(Clone, PartialEq, Eq)]
pub enum Conversation {
    /// A direct conversation with the bot. `address` is what the adapter needs to write
    /// back (a Matrix DM room id, a Discord DM channel id, a console name). The core stores
    /// it only encrypted.
    Direct {
        /// Platform address of the DM.
        address: String,
    },
    /// The private moderators room of this platform.
    Moderators,
    /// The private commissioners room of this platform.
    Commissioners,
    /// The public discussion room (messages there are ignored except by adapters that
    /// want to answer with a hint to use a DM).
    Public,
}

impl fmt::Debug for Conversation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Conversation::Direct { .. } => f.write_str("Direct(<hidden>)"),
            Conversation::Moderators => f.write_str("Moderators"),
            Conversation::Commissioners => f.write_str("Commissioners"),
            Conversation::Public => f.write_str("Public"),
        }
    }
}

/// A message received by an adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    /// The platform it came from.
    pub platform: Platform,
    /// The platform's id for this event; the core deduplicates on `(platform, event_id)`.
    pub event_id: String,
    /// Who sent it.
    pub sender: Sender,
    /// Where it was sent.
    pub conversation: Conversation,
    /// The text as typed.
    pub text: String,
    /// The platform message id this message replies to, when the platform says so.
    pub reply_to: Option<String>,
}

/// Where an outbound message goes.
#[derive(Clone, PartialEq, Eq)]
pub enum Destination {
    /// A participant's (or staff member's) direct conversation.
    Direct {
        /// The platform address given in [`Conversation::Direct`].
        address: String,
    },
    /// The public thread of a discussion on this platform.
    Thread {
        /// The discussion's slug.
        slug: String,
        /// The platform message id of the thread's root, once the root was delivered.
        /// `None` only for [`Action::OpenThread`].
        root: Option<String>,
    },
    /// The moderators room.
    Moderators,
    /// The commissioners room.
    Commissioners,
}

impl fmt::Debug for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Destination::Direct { .. } => f.write_str("Direct(<hidden>)"),
            Destination::Thread { slug, root } => {
                f.debug_struct("Thread").field("slug", slug).field("root", root).finish()
            }
            Destination::Moderators => f.write_str("Moderators"),
            Destination::Commissioners => f.write_str("Commissioners"),
        }
    }
}

/// What the adapter is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send `text` as a new message.
    Send,
    /// Start the public thread of a discussion: `text` is the root message (title and
    /// prompt). The platform message id reported back becomes the thread's root.
    OpenThread,
    /// Remove (redact, delete) an earlier message of the bot's.
    Remove {
        /// The platform message id to remove.
        message_id: String,
    },
}

/// A message that the core asks an adapter to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbound {
    /// Where it goes.
    pub destination: Destination,
    /// Plain text. Participant text inside it is already redacted; adapters must still
    /// escape it for their markup and disable mentions and link previews.
    pub text: String,
    /// The platform message id of the message this one answers (an in-thread reply).
    pub reply_to: Option<String>,
    /// What to do.
    pub action: Action,
}

/// Identifies one delivery in the core's outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeliveryId(pub i64);

/// One pending delivery handed to an adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Report the outcome with this id.
    pub id: DeliveryId,
    /// The message.
    pub outbound: Outbound,
    /// The answers the message asks for (a survey question's choices), for adapters that
    /// can offer them as buttons or menus. The text already says how to answer by typing,
    /// so an adapter may ignore this.
    pub choices: Option<Choices>,
}

/// The answers a message asks for, as a platform-neutral hint: an adapter may show them as
/// buttons or a menu, and turns a pick into the [`Inbound`] text a person would have typed
/// ([`Choices::answer`], [`Choices::SKIP`]), sent from the same direct conversation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Choices {
    /// The options, in order; the first is answered `1`. They come from the configuration,
    /// not from participants, and may be longer than a platform's labels allow.
    pub labels: Vec<String>,
    /// Whether several may be picked at once.
    pub multiple: bool,
    /// Whether the question may be skipped.
    pub skippable: bool,
}

impl Choices {
    /// The answer that skips an optional question.
    pub const SKIP: &'static str = "skip";

    /// The answer a person would type for the options picked, by their numbers (1 for the
    /// first label): in order, without repeats, joined with commas (`"2"`, `"1,3"`). `None`
    /// when nothing was picked. Whether the numbers fit the question is the core's to say.
    pub fn answer(numbers: &[usize]) -> Option<String> {
        let mut numbers: Vec<usize> = numbers.iter().copied().filter(|n| *n > 0).collect();
        numbers.sort_unstable();
        numbers.dedup();
        (!numbers.is_empty()).then(|| numbers.iter().map(usize::to_string).collect::<Vec<_>>().join(","))
    }
}

/// How a delivery attempt ended, reported back to the core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Delivered; the platform's id for the new message, when there is one.
    Delivered {
        /// Platform message id, recorded so that replies and removals can refer to it.
        message_id: Option<String>,
    },
    /// Not delivered this time; the core retries with back-off, or after `retry_after`
    /// when the platform said how long to wait.
    Failed {
        /// The platform's requested wait, if any.
        retry_after: Option<Duration>,
    },
    /// Can never be delivered (the bot was removed from the room, the platform forbids it,
    /// the address is malformed): the core logs it and stops retrying.
    Rejected {
        /// A short, identity-free description for the log, e.g. "not in room".
        reason: String,
    },
}

/// The core as an adapter sees it.
#[async_trait::async_trait]
pub trait Core: Send + Sync {
    /// Handles one inbound message. Never fails from the adapter's point of view: the core
    /// logs its own errors and answers the participant in plain language.
    async fn handle(&self, inbound: Inbound);

    /// Handles several inbound messages, in order, as one group commit: the core stores
    /// them in one transaction (a message that fails rolls back alone) and returns once that transaction is committed. An adapter acknowledges a
    /// message to its platform only after the call that handled it returns. Adapters pass
    /// what arrived while the previous call was busy, up to [`MAX_INBOUND_BATCH`].
    async fn handle_batch(&self, inbounds: Vec<Inbound>) {
        for inbound in inbounds {
            self.handle(inbound).await;
        }
    }

    /// Deliveries due now for `platform`, oldest first, at most `limit`.
    async fn due(&self, platform: Platform, limit: usize) -> Vec<Delivery>;

    /// Reports how a delivery went.
    async fn report(&self, id: DeliveryId, outcome: Outcome);

    /// Reports how several deliveries went; the core records the delivered ones in one
    /// transaction. For adapters that deliver many messages quickly (the console).
    async fn report_batch(&self, outcomes: Vec<(DeliveryId, Outcome)>) {
        for (id, outcome) in outcomes {
            self.report(id, outcome).await;
        }
    }

    /// Notified whenever new deliveries are queued, so adapters need not poll quickly.
    fn wakeup(&self) -> Arc<tokio::sync::Notify>;

    /// The most messages worth handing to [`Core::handle_batch`] at once: what the core
    /// stores in one group commit (at most [`MAX_INBOUND_BATCH`]). A larger batch would only
    /// keep its first messages from being acknowledged until the rest are stored.
    fn max_batch(&self) -> usize {
        MAX_INBOUND_BATCH
    }
}

/// The most inbound messages an adapter hands to [`Core::handle_batch`] at once. Under a
/// burst (a platform outage releasing its queue) a larger group commit costs less a message:
/// every page it changes is written to the log once per commit, however many messages
/// changed it. 256 → 1,024 → 4,096 took the saturated SQLite bench from 5,500 to 7,800 and
/// 9,200 posts per second. Whatever arrives at a steadier pace forms small batches anyway.
pub const MAX_INBOUND_BATCH: usize = 4096;

/// The most text, in bytes, one batch may carry beyond its last message: a batch held in
/// memory, with what the core works out of each text (its moderation and theme readings,
/// kept until the batch commits), stays small whatever is typed. 4,096 posts of a
/// typical 250 bytes come to 1 MiB.
pub const MAX_INBOUND_BATCH_BYTES: usize = 1 << 20;

impl Inbound {
    /// What the message weighs in a batch: its text, in bytes.
    pub fn weight(&self) -> usize {
        self.text.len()
    }
}

/// Everything waiting in an adapter's inbound queue after `first`, up to `max` messages
/// ([`Core::max_batch`], never more than [`MAX_INBOUND_BATCH`]), and no more once
/// [`MAX_INBOUND_BATCH_BYTES`] of text (`weight` of each) is reached: the next group
/// commit.
pub fn batch_from<T>(
    first: T,
    mut next: impl FnMut() -> Option<T>,
    weight: impl Fn(&T) -> usize,
    max: usize,
) -> Vec<T> {
    let max = max.min(MAX_INBOUND_BATCH);
    let mut bytes = weight(&first);
    let mut batch = vec![first];
    while batch.len() < max && bytes < MAX_INBOUND_BATCH_BYTES {
        match next() {
            Some(more) => {
                bytes += weight(&more);
                batch.push(more);
            }
            None => break,
        }
    }
    batch
}

/// How long a delivery handed to an adapter stays reserved for it: another process sharing
/// the database may take it over only after this. An adapter must finish a whole batch
/// (every attempt of every delivery, with its timeouts) well within it.
pub const DELIVERY_LEASE: Duration = Duration::from_secs(300);

/// How an adapter's delivery loop is tuned.
#[derive(Debug, Clone, Copy)]
pub struct LoopSettings {
    /// Deliveries asked for at once.
    pub batch: usize,
    /// How often the outbox is polled when no wakeup comes.
    pub tick: Duration,
}

impl Default for LoopSettings {
    fn default() -> Self {
        LoopSettings { batch: 50, tick: Duration::from_secs(1) }
    }
}

/// The delivery loop every adapter runs: wait for a wakeup (or the tick) → ask the core for
/// what is due → `deliver` each → report each outcome, until `stop` becomes `true`.
///
/// The wakeup is registered *before* asking for work, so a message queued while a batch is
/// being fetched is never missed.
pub async fn delivery_loop<F, Fut>(
    core: &dyn Core,
    platform: Platform,
    settings: LoopSettings,
    mut stop: tokio::sync::watch::Receiver<bool>,
    mut deliver: F,
) where
    F: FnMut(Delivery) -> Fut,
    Fut: std::future::Future<Output = Outcome>,
{
    let wakeup = core.wakeup();
    loop {
        let notified = wakeup.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();

        let batch = core.due(platform, settings.batch).await;
        let full = batch.len() == settings.batch;
        for delivery in batch {
            if *stop.borrow() {
                return;
            }
            let id = delivery.id;
            let outcome = deliver(delivery).await;
            core.report(id, outcome).await;
        }
        if full {
            continue;
        }
        tokio::select! {
            () = stopped(&mut stop) => return,
            () = &mut notified => {}
            () = tokio::time::sleep(settings.tick) => {}
        }
    }
}

/// Resolves once `stop` is `true` (or its sender is gone).
async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    // The guard returned by `wait_for` is not `Send`: drop it here.
    let _ = stop.wait_for(|s| *s).await.map(|_| ());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_stops_at_its_count_or_its_bytes() {
        // Count: what waits beyond MAX_INBOUND_BATCH stays for the next batch.
        let mut waiting = (1..=MAX_INBOUND_BATCH + 10).map(|_| 1usize);
        let batch = batch_from(1, || waiting.next(), |w| *w, usize::MAX);
        assert_eq!(batch.len(), MAX_INBOUND_BATCH);
        assert_eq!(waiting.count(), 11);
        // Bytes: taken until the text reaches MAX_INBOUND_BATCH_BYTES, the last included.
        let big = MAX_INBOUND_BATCH_BYTES / 3;
        let mut waiting = std::iter::repeat_n(big, 10);
        let batch = batch_from(big, || waiting.next(), |w| *w, usize::MAX);
        assert_eq!(batch.len(), 4);
        assert_eq!(waiting.count(), 7);
        // A single message larger than the limit still goes alone.
        let batch = batch_from(MAX_INBOUND_BATCH_BYTES * 2, || Some(1), |w| *w, usize::MAX);
        assert_eq!(batch.len(), 1);
        // An empty queue: just the first.
        assert_eq!(batch_from(5, || None, |w| *w, usize::MAX), vec![5]);
        // The core's own limit.
        let batch = batch_from(1, || Some(1), |w| *w, 256);
        assert_eq!(batch.len(), 256);
    }

    #[test]
    fn discord_declares_its_message_limit() {
        assert_eq!(Platform::Discord.limits().max_message_chars, 2_000);
        assert!(Platform::Console.limits().pacing.is_none());
    }

    #[test]
    fn platform_names_round_trip() {
        for p in Platform::ALL {
            assert_eq!(Platform::parse(p.as_str()), Some(p));
        }
        assert_eq!(Platform::parse("irc"), None);
    }

    #[test]
    fn picks_become_the_typed_answer() {
        assert_eq!(Choices::answer(&[2]).as_deref(), Some("2"));
        assert_eq!(Choices::answer(&[3, 1, 3]).as_deref(), Some("1,3"));
        assert_eq!(Choices::answer(&[0]), None);
        assert_eq!(Choices::answer(&[]), None);
    }

    #[test]
    fn debug_output_hides_identities() {
        let sender = Sender { id: "@alice:example.org".into(), roles: Roles::default() };
        let conv = Conversation::Direct { address: "!dm:example.org".into() };
        let dest = Destination::Direct { address: "!dm:example.org".into() };
        let all = format!("{sender:?} {conv:?} {dest:?}");
        assert!(!all.contains("alice"));
        assert!(!all.contains("!dm"));
    }
}
