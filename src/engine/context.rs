//! The per-message context: the open transaction, the time the message is handled at, and
//! where answers go. Every handler takes a `&mut Ctx` instead of threading `tx` and `now`.

use chat::Platform;

use crate::ids::{DiscussionId, ParticipantKey};
use crate::limits::{Act, Check};
use crate::store::Tx;

/// One inbound message being handled.
pub(super) struct Ctx {
    /// Everything the message changes, committed together.
    pub tx: Tx,
    /// When it is handled, in Unix milliseconds (from the engine's clock).
    pub now: i64,
    /// Where answers go.
    pub origin: Origin,
    /// The sender's survey in progress, when the message's checks looked it up already
    /// (taken by the handler, so it is never read stale).
    pub active_survey: Option<Option<crate::store::Invitation>>,
    /// What the group commit's texts say (moderation verdicts, themes), worked out ahead on
    /// another thread.
    pub ahead: super::ahead::Ahead,
    /// The message's rate-limit outcomes from this process's memory (SQLite), kept so that
    /// handling it again does not use up the sender's allowance twice.
    pub charges: Charges,
    /// What the message changed in the crisis alerts' counts, put back if it is not stored.
    pub crisis_counted: Vec<super::participant::CrisisUndo>,
    /// Whether the message's inbound event is new, when the group commit recorded every
    /// message's event at once (taken by the message; otherwise it records its own).
    pub recorded: Option<bool>,
}

/// What a rate-limit check was of: an act, a discussion's slow mode, or both.
pub(super) type Charged = (Option<Act>, Option<(DiscussionId, u64)>);

/// The outcomes of a message's in-memory rate-limit checks, in the order they were made,
/// each with what it checked. When a group commit cannot be committed, its messages are
/// handled again one by one: limits kept in the database (PostgreSQL) were rolled back
/// with the transaction and are checked again, but limits kept in memory (SQLite) were
/// used up already, so the second time a message gets the outcomes of the first instead of
/// being charged again, as long as it makes the same checks in the same order (a message
/// whose path changed, because one before it failed this time, is checked afresh from
/// where it differs).
#[derive(Debug, Default)]
pub(super) struct Charges {
    /// Outcomes made this time, in order.
    made: Vec<(Charged, Check)>,
    /// Outcomes of the first time, not yet given again.
    earlier: std::collections::VecDeque<(Charged, Check)>,
}

impl Charges {
    /// Charges for a message handled the first time (`None`), or again with what its first
    /// time recorded.
    pub fn again(earlier: Option<Vec<(Charged, Check)>>) -> Charges {
        Charges { made: Vec::new(), earlier: earlier.unwrap_or_default().into() }
    }

    /// The first time's outcome of the same check, when this is the check it made next.
    pub fn replay(&mut self, what: Charged) -> Option<Check> {
        match self.earlier.pop_front() {
            Some((was, check)) if was == what => {
                self.made.push((what, check));
                Some(check)
            }
            // Another path than the first time: no outcome of it applies any more.
            Some(_) => {
                self.earlier.clear();
                None
            }
            None => None,
        }
    }

    /// Records an outcome made now.
    pub fn record(&mut self, what: Charged, check: Check) {
        self.made.push((what, check));
    }

    /// Every outcome given to the message, to hand on to a later try.
    pub fn into_made(self) -> Vec<(Charged, Check)> {
        self.made
    }
}

/// Where the answer to an inbound message goes.
pub(super) struct Origin {
    /// The platform it came from.
    pub platform: Platform,
    /// The conversation on that platform.
    pub room: Room,
}

/// The conversation an inbound message came from.
pub(super) enum Room {
    /// A participant's DM: their sealed address and key.
    Direct {
        /// The DM address, sealed for storage.
        sealed: String,
        /// The participant's key.
        key: ParticipantKey,
    },
    /// The moderators' room.
    Moderators,
    /// The commissioners' room.
    Commissioners,
}
