//! Rows read together with the sender's participant row at the start of a message
//! ([`Tx::participant_on`](super::Tx::participant_on)): their sanctions, whether they
//! opted out of surveys, their current discussion and their pseudonym in it. A plain post
//! asks for each of them again a few statements later; they are given from here instead
//! of a statement each (on PostgreSQL, a round trip each). Everything known is forgotten whenever a savepoint is set, released or
//! rolled back to (and by `!forget`), and each kind of row as soon as one of its kind is
//! written, so what is given is never older than the message reading it and never
//! outlives a change.

use super::moderation::Sanctions;
use super::rows::Discussion;
use crate::ids::{DiscussionId, ParticipantKey};

/// What the transaction knows already of the message's sender.
#[derive(Debug, Default)]
pub(super) struct Known {
    /// A participant's sanctions (the default when they have none).
    pub sanctions: Option<(ParticipantKey, Sanctions)>,
    /// Whether a participant said `!stop`.
    pub opted_out: Option<(ParticipantKey, bool)>,
    /// A discussion's row.
    pub discussion: Option<Discussion>,
    /// A participant's pseudonym in a discussion (`None`: none assigned).
    pub pseudonym: Option<(DiscussionId, ParticipantKey, Option<String>)>,
}

impl Known {
    /// Forgets everything.
    pub fn forget(&mut self) {
        *self = Known::default();
    }

    /// `key`'s sanctions, when known.
    pub fn sanctions(&self, key: &ParticipantKey) -> Option<Sanctions> {
        self.sanctions.as_ref().filter(|(k, _)| k == key).map(|(_, s)| *s)
    }

    /// Whether `key` opted out of surveys, when known.
    pub fn opted_out(&self, key: &ParticipantKey) -> Option<bool> {
        self.opted_out.as_ref().filter(|(k, _)| k == key).map(|(_, o)| *o)
    }

    /// Discussion `id`, when known.
    pub fn discussion(&self, id: DiscussionId) -> Option<Discussion> {
        self.discussion.as_ref().filter(|d| d.id == id).cloned()
    }

    /// `key`'s pseudonym in `discussion`, when known (`Some(None)`: known to be unassigned).
    pub fn pseudonym(&self, discussion: DiscussionId, key: &ParticipantKey) -> Option<Option<String>> {
        self.pseudonym.as_ref().filter(|(d, k, _)| *d == discussion && k == key).map(|(_, _, name)| name.clone())
    }
}
