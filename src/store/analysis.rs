//! Reading stored post analyses back for summaries, streamed so that a million posts do
//! not have to sit in memory at once.

use super::db::query;

use super::Tx;
use crate::error::Result;
use crate::ids::DiscussionId;

/// One published post with its stored analysis.
#[derive(Debug, Clone)]
pub struct AnalysedPost {
    /// The author key's first 16 hex digits as a number, or the post id when the author
    /// asked to be forgotten; only used to count distinct people.
    pub participant: u64,
    /// Monday week ([`themes::monday_week`]: weeks start on Monday, UTC).
    pub week: i64,
    /// Redacted text; empty for posts outside the quote window.
    pub body: String,
    /// Comma-separated theme ids.
    pub themes: String,
    /// Sentiment score × 100.
    pub sentiment: i64,
}

impl Tx {
    /// Calls `f` for every published post of a discussion, oldest first. Only the latest
    /// `with_body` posts carry their text (as quote candidates); the others come with an
    /// empty body, which keeps a summary of a million posts fast.
    pub async fn for_each_published(
        &mut self,
        discussion: DiscussionId,
        with_body: i64,
        mut f: impl FnMut(AnalysedPost),
    ) -> Result<u64> {
        if let Some(file) = self.scan_file.clone() {
            return super::scan::published(file, discussion, with_body, f).await;
        }
        let cutoff = query(
            "SELECT id FROM posts WHERE discussion_id = $1 AND status = 'published' ORDER BY id DESC LIMIT 1 OFFSET $2",
        )
        .bind(discussion.0)
        .bind(with_body.max(1) - 1)
        .fetch_optional(&mut self.conn)
        .await?
        .map(|r| r.try_get::<i64, _>(0))
        .transpose()?
        .unwrap_or(0);
        let n = query(
            "SELECT substr(participant_key, 1, 16) AS who, id, (created_at + 259200000) / 604800000 AS week, sentiment, themes, \
                    CASE WHEN id >= $2 THEN body END AS body \
             FROM posts WHERE discussion_id = $1 AND status = 'published' ORDER BY id",
        )
        .bind(discussion.0)
        .bind(cutoff)
        .for_each(&mut self.conn, |row| {
            let who: Option<String> = row.try_get("who")?;
            // Forgotten authors count once per post: their posts cannot be linked.
            let participant = match who {
                Some(h) => u64::from_str_radix(&h, 16).unwrap_or(0),
                None => row.try_get::<i64, _>("id")? as u64 ^ 0x8000_0000_0000_0000,
            };
            f(AnalysedPost {
                participant,
                week: row.try_get("week")?,
                body: row.try_get::<Option<String>, _>("body")?.unwrap_or_default(),
                themes: row.try_get("themes")?,
                sentiment: row.try_get("sentiment")?,
            });
            Ok(())
        })
        .await?;
        Ok(n)
    }

    /// The bodies of the latest `limit` published posts of a discussion, oldest first.
    pub async fn latest_published_bodies(&mut self, discussion: DiscussionId, limit: i64) -> Result<Vec<String>> {
        let rows =
            query("SELECT body FROM posts WHERE discussion_id = $1 AND status = 'published' ORDER BY id DESC LIMIT $2")
                .bind(discussion.0)
                .bind(limit)
                .fetch_all(&mut self.conn)
                .await?;
        let mut out = rows.iter().map(|r| r.try_get::<String, _>(0)).collect::<Result<Vec<_>, _>>()?;
        out.reverse();
        Ok(out)
    }
}
