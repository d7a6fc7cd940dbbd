//! Rows read together with the sender's participant row at the start of a message
//! ([`Tx::participant_on`](super::Tx::participant_on)): their sanctions, whether they
//! opted out of surveys, their current discussion and their pseudonym in it, and on
//! PostgreSQL their latest post bodies and their survey invitations. A plain post asks for
//! each of them again a few statements later; they are given from here instead of a
//! statement each (on PostgreSQL, a round trip each). Everything known is forgotten at
//! each message of a group and whenever a savepoint is set, released or rolled back to (and
//! by `!forget`), and each kind of row as soon as one of its kind is written, so what is
//! given is never older than the message reading it and never outlives a change.

use super::moderation::Sanctions;
use super::rows::Discussion;
use super::surveys::Invitation;
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
    /// A participant's latest [`RECENT`] post bodies, oldest first (PostgreSQL only, where
    /// they are read with the participant row).
    pub recent: Option<(ParticipantKey, Vec<String>)>,
    /// A participant's survey invitations, oldest first (PostgreSQL only, likewise).
    pub invitations: Option<(ParticipantKey, Vec<Invitation>)>,
    /// Whether a participant had posted in their current discussion when the message
    /// began (PostgreSQL only, likewise). Unlike the rest it is not forgotten when they
    /// post: it answers whether the message's one post is their first there.
    pub posted_before: Option<(DiscussionId, ParticipantKey, bool)>,
    /// The discussion and author of the post this message stored: a participant read
    /// after it would count it as before the message, so it sets no `posted_before`.
    pub posted_now: Option<(DiscussionId, ParticipantKey)>,
}

/// How many of a sender's latest post bodies the spam check compares a post with (its
/// repeated-text window), read with their participant row on PostgreSQL.
pub const RECENT: i64 = 5;

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

    /// `key`'s latest `limit` post bodies, oldest first, when known.
    pub fn recent(&self, key: &ParticipantKey, limit: i64) -> Option<Vec<String>> {
        self.recent.as_ref().filter(|(k, _)| k == key && limit == RECENT).map(|(_, bodies)| bodies.clone())
    }

    /// `key`'s survey invitations, when known.
    pub fn invitations(&self, key: &ParticipantKey) -> Option<Vec<Invitation>> {
        self.invitations.as_ref().filter(|(k, _)| k == key).map(|(_, list)| list.clone())
    }

    /// Whether `key` had posted in `discussion` before this message, when known.
    pub fn posted_before(&self, discussion: DiscussionId, key: &ParticipantKey) -> Option<bool> {
        self.posted_before.as_ref().filter(|(d, k, _)| *d == discussion && k == key).map(|(_, _, before)| *before)
    }

    /// `key`'s pseudonym in `discussion`, when known (`Some(None)`: known to be unassigned).
    pub fn pseudonym(&self, discussion: DiscussionId, key: &ParticipantKey) -> Option<Option<String>> {
        self.pseudonym.as_ref().filter(|(d, k, _)| *d == discussion && k == key).map(|(_, _, name)| name.clone())
    }
}

/// The `recent` column of the participant read (newest first) as oldest first, the order
/// [`Tx::recent_bodies`](super::Tx::recent_bodies) gives.
pub fn recent_from_json(json: &str) -> crate::error::Result<Vec<String>> {
    let mut bodies: Vec<String> = serde_json::from_str(json)
        .map_err(|e| crate::error::Error::Inconsistent(format!("the latest posts read as {e}")))?;
    bodies.reverse();
    Ok(bodies)
}

/// The `invitations` column of the participant read.
pub fn invitations_from_json(json: &str) -> crate::error::Result<Vec<Invitation>> {
    #[derive(serde::Deserialize)]
    struct Row {
        survey_id: String,
        discussion_id: i64,
        started_at: Option<i64>,
        stopped_at: Option<i64>,
        completed_at: Option<i64>,
        next_question: i64,
    }
    let rows: Vec<Row> = serde_json::from_str(json)
        .map_err(|e| crate::error::Error::Inconsistent(format!("the survey invitations read as {e}")))?;
    Ok(rows
        .into_iter()
        .map(|r| Invitation {
            survey_id: r.survey_id,
            discussion: DiscussionId(r.discussion_id),
            started: r.started_at.is_some(),
            stopped: r.stopped_at.is_some(),
            completed: r.completed_at.is_some(),
            next_question: r.next_question.max(0) as usize,
        })
        .collect())
}
