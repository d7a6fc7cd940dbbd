//! Typed rows.

use super::db::DbRow;

use crate::error::{Error, Result};
use crate::ids::{DiscussionId, ParticipantKey, PostId, PostNumber};

/// Whether a discussion takes posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscussionStatus {
    /// Taking posts.
    Open,
    /// Closed by a commissioner.
    Closed,
}

impl DiscussionStatus {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            DiscussionStatus::Open => "open",
            DiscussionStatus::Closed => "closed",
        }
    }
}

/// A discussion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discussion {
    /// Row id.
    pub id: DiscussionId,
    /// Short name used in commands.
    pub slug: String,
    /// Title.
    pub title: String,
    /// The question put to participants.
    pub prompt: String,
    /// Open or closed.
    pub status: DiscussionStatus,
    /// Whether every post waits for a moderator (read with the row, so that posting does not
    /// ask again).
    pub premoderated: bool,
}

impl Discussion {
    pub(crate) const COLUMNS: &'static str = "id, slug, title, prompt, status, premoderated";

    pub(crate) fn from_row(row: &DbRow) -> Result<Discussion> {
        let status: String = row.try_get("status")?;
        Ok(Discussion {
            id: DiscussionId(row.try_get("id")?),
            slug: row.try_get("slug")?,
            title: row.try_get("title")?,
            prompt: row.try_get("prompt")?,
            status: match status.as_str() {
                "open" => DiscussionStatus::Open,
                "closed" => DiscussionStatus::Closed,
                other => return Err(Error::Inconsistent(format!("discussion status {other:?}"))),
            },
            premoderated: row.try_get::<i64, _>("premoderated")? != 0,
        })
    }

    /// Whether it takes posts.
    pub fn is_open(&self) -> bool {
        self.status == DiscussionStatus::Open
    }
}

/// A participant as the core knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    /// The HMAC key.
    pub key: ParticipantKey,
    /// The discussion set with `!join`.
    pub current_discussion: Option<DiscussionId>,
    /// Whether the privacy notice was shown.
    pub seen_notice: bool,
}

/// What became of a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostStatus {
    /// Visible in the public thread.
    Published,
    /// Waiting for a moderator.
    Held,
    /// Hidden after reports, pending review.
    Hidden,
    /// Refused.
    Rejected,
    /// Removed by a moderator after publication.
    Removed,
}

impl PostStatus {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            PostStatus::Published => "published",
            PostStatus::Held => "held",
            PostStatus::Hidden => "hidden",
            PostStatus::Rejected => "rejected",
            PostStatus::Removed => "removed",
        }
    }

    fn parse(s: &str) -> Result<PostStatus> {
        Ok(match s {
            "published" => PostStatus::Published,
            "held" => PostStatus::Held,
            "hidden" => PostStatus::Hidden,
            "rejected" => PostStatus::Rejected,
            "removed" => PostStatus::Removed,
            other => return Err(Error::Inconsistent(format!("post status {other:?}"))),
        })
    }
}

/// A post to store.
#[derive(Debug, Clone)]
pub struct NewPost<'a> {
    /// Where.
    pub discussion: DiscussionId,
    /// Its `#N`.
    pub number: PostNumber,
    /// Its author.
    pub participant: &'a ParticipantKey,
    /// The author's pseudonym in this discussion.
    pub pseudonym: &'a str,
    /// The post it answers.
    pub parent: Option<PostNumber>,
    /// The (redacted) text.
    pub body: &'a str,
    /// Published, held...
    pub status: PostStatus,
    /// When, in ms.
    pub created_at: i64,
    /// Theme ids, comma-separated (the stored form).
    pub themes: &'a str,
    /// Sentiment score × 100.
    pub sentiment: i64,
    /// The platform it was written on (for participation by platform).
    pub platform: chat::Platform,
    /// Why the filters held or redacted it, for the moderators (`None`: no reason, stored
    /// as the empty text).
    pub reasons: Option<&'a str>,
}

/// A stored post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    /// Row id.
    pub id: PostId,
    /// Discussion.
    pub discussion: DiscussionId,
    /// `#N`.
    pub number: PostNumber,
    /// Author key; `None` after `!forget`.
    pub participant: Option<ParticipantKey>,
    /// Author pseudonym.
    pub pseudonym: String,
    /// The post it answers.
    pub parent: Option<PostNumber>,
    /// Text.
    pub body: String,
    /// Status.
    pub status: PostStatus,
    /// When, in ms.
    pub created_at: i64,
}

impl Post {
    pub(crate) const COLUMNS: &'static str =
        "id, discussion_id, number, participant_key, pseudonym, parent_number, body, status, created_at";

    pub(crate) fn from_row(row: &DbRow) -> Result<Post> {
        Ok(Post {
            id: PostId(row.try_get("id")?),
            discussion: DiscussionId(row.try_get("discussion_id")?),
            number: PostNumber(row.try_get("number")?),
            participant: row.try_get::<Option<String>, _>("participant_key")?.map(ParticipantKey),
            pseudonym: row.try_get("pseudonym")?,
            parent: row.try_get::<Option<i64>, _>("parent_number")?.map(PostNumber),
            body: row.try_get("body")?,
            status: PostStatus::parse(&row.try_get::<String, _>("status")?)?,
            created_at: row.try_get("created_at")?,
        })
    }
}
