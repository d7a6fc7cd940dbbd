//! Reading stored post analyses back for summaries, streamed so that a million posts do
//! not have to sit in memory at once.

use futures_util::TryStreamExt;
use sqlx::Row;

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
        let cutoff = sqlx::query(
            "SELECT id FROM posts WHERE discussion_id = $1 AND status = 'published' ORDER BY id DESC LIMIT 1 OFFSET $2",
        )
        .bind(discussion.0)
        .bind(with_body.max(1) - 1)
        .fetch_optional(&mut *self.tx)
        .await?
        .map(|r| r.try_get::<i64, _>(0))
        .transpose()?
        .unwrap_or(0);
        let mut rows = sqlx::query(
            "SELECT substr(participant_key, 1, 16) AS who, id, (created_at + 259200000) / 604800000 AS week, sentiment, themes, \
                    CASE WHEN id >= $2 THEN body END AS body \
             FROM posts WHERE discussion_id = $1 AND status = 'published' ORDER BY id",
        )
        .bind(discussion.0)
        .bind(cutoff)
        .fetch(&mut *self.tx);
        let mut n = 0;
        while let Some(row) = rows.try_next().await? {
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
            n += 1;
        }
        Ok(n)
    }

    /// The bodies of the latest `limit` published posts of a discussion, oldest first.
    pub async fn latest_published_bodies(&mut self, discussion: DiscussionId, limit: i64) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT body FROM posts WHERE discussion_id = $1 AND status = 'published' ORDER BY id DESC LIMIT $2",
        )
        .bind(discussion.0)
        .bind(limit)
        .fetch_all(&mut *self.tx)
        .await?;
        let mut out = rows.iter().map(|r| r.try_get::<String, _>(0)).collect::<Result<Vec<_>, _>>()?;
        out.reverse();
        Ok(out)
    }
}

impl super::Store {
    /// Fills a new discussion with `posts` published posts cycling through `samples`
    /// (text, themes, sentiment × 100), 1,000 participants, one week apart per 10,000
    /// posts; a discussion that has posts already is left as it is. For `parley bench` only.
    /// Returns the discussion and how many posts it already had.
    pub async fn bench_fill(
        &self,
        slug: &str,
        posts: u64,
        samples: &[(String, String, i64)],
    ) -> Result<(DiscussionId, u64)> {
        let mut tx = self.begin().await?;
        let d = match tx.insert_discussion(slug, "Benchmark discussion", "Benchmark", 0).await? {
            Some(d) => d,
            None => tx.discussion_by_slug(slug).await?.ok_or_else(|| crate::Error::Inconsistent("bench".into()))?,
        };
        // A database filled by an earlier run (`--database FILE`) is used as it is.
        let stored = sqlx::query("SELECT COUNT(*) FROM posts WHERE discussion_id = $1")
            .bind(d.id.0)
            .fetch_one(&mut *tx.tx)
            .await?
            .try_get::<i64, _>(0)?;
        tx.commit().await?;
        if stored > 0 {
            return Ok((d.id, stored as u64));
        }
        const BATCH: u64 = 500;
        // Batches per transaction: the file is scratch, so fewer commits (and fsyncs).
        const PER_TX: u64 = 50;
        let mut n = 0u64;
        while n < posts {
            let mut tx = self.begin().await?;
            let last = (n + BATCH * PER_TX).min(posts);
            while n < last {
                let end = (n + BATCH).min(last);
                let mut sql = String::from(
                "INSERT INTO posts (discussion_id, number, participant_key, pseudonym, body, status, created_at, themes, sentiment) VALUES ",
            );
                for i in n..end {
                    if i > n {
                        sql.push(',');
                    }
                    let j = (i - n) as usize * 6;
                    sql.push_str(&format!(
                        "($1, ${}, ${}, 'Bench Otter', ${}, 'published', ${}, ${}, ${})",
                        j + 2,
                        j + 3,
                        j + 4,
                        j + 5,
                        j + 6,
                        j + 7
                    ));
                }
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(d.id.0);
                for i in n..end {
                    let (text, themes, sentiment) = &samples[(i as usize) % samples.len().max(1)];
                    q = q
                        .bind(i as i64 + 1)
                        .bind(format!("{:016x}{:048}", i % 1000, 0))
                        .bind(text.clone())
                        .bind(1_700_000_000_000 + (i / 10_000) as i64 * 7 * 86_400_000)
                        .bind(themes.clone())
                        .bind(*sentiment);
                }
                q.execute(&mut *tx.tx).await?;
                n = end;
            }
            tx.commit().await?;
        }
        // Numbering carries on after the stored posts, so that the engine can post here too.
        sqlx::query("UPDATE discussions SET next_number = $1 WHERE id = $2")
            .bind(posts as i64 + 1)
            .bind(d.id.0)
            .execute(&self.pool)
            .await?;
        Ok((d.id, 0))
    }
}
