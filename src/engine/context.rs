//! The per-message context: the open transaction, the time the message is handled at, and
//! where answers go. Every handler takes a `&mut Ctx` instead of threading `tx` and `now`.

use chat::Platform;

use crate::ids::ParticipantKey;
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
