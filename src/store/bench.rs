//! What `parley bench` needs from the database besides the engine: the raw-insert baseline
//! (the same post and outbox rows the engine writes, inserted straight with the best
//! batching the database allows), the counts its checks read back, and the stored posts
//! `parley bench summary` times a summary over.

use super::db::{query, DbRow};

use super::Store;
use crate::error::Result;
use crate::ids::DiscussionId;

/// Posts per multi-row `INSERT` in the baseline (10 values each: within SQLite's 32,766
/// and PostgreSQL's 65,535 bound parameters).
const ROWS_PER_STATEMENT: usize = 500;
/// Posts per transaction in the baseline.
const POSTS_PER_TRANSACTION: usize = 5_000;

/// The outbox platform of baseline rows: no adapter ever asks for it.
pub const BASELINE_PLATFORM: &str = "baseline";

/// One post for the baseline, as the engine would store it.
#[derive(Debug, Clone)]
pub struct RawPost {
    /// The participant key (64 hex digits).
    pub key: String,
    /// The pseudonym.
    pub pseudonym: String,
    /// The (redacted) text.
    pub body: String,
    /// Theme ids, comma-separated.
    pub themes: String,
    /// Sentiment × 100.
    pub sentiment: i64,
    /// The sealed DM address of the author (for the answer row).
    pub sealed: String,
}

/// What the bench reads back to check a run.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct BenchCounts {
    /// Posts stored (any status).
    pub posts: u64,
    /// Posts published.
    pub published: u64,
    /// Inbound events recorded.
    pub inbound_events: u64,
    /// Outbox rows, and those still waiting.
    pub outbox: u64,
    /// Outbox rows not yet delivered (nor set aside or cancelled).
    pub outbox_pending: u64,
    /// Discussions whose `#N` are not exactly 1..=count.
    pub numbering_gaps: u64,
    /// `#N` used twice in one discussion.
    pub numbering_duplicates: u64,
}

impl Store {
    /// Inserts `posts` posts into discussion `slug` (created when missing), each with a
    /// thread row and an answer row in the outbox, in multi-row statements and large
    /// transactions. Returns the rows written.
    pub async fn bench_raw_insert(&self, slug: &str, posts: &[RawPost], now: i64) -> Result<u64> {
        let mut tx = self.begin().await?;
        let d = match tx.insert_discussion(slug, "Baseline", "Baseline", now).await? {
            Some(d) => d,
            None => tx.discussion_by_slug(slug).await?.ok_or_else(|| crate::Error::Inconsistent("baseline".into()))?,
        };
        tx.commit().await?;
        let mut rows = 0u64;
        let mut number = 0i64;
        for txn in posts.chunks(POSTS_PER_TRANSACTION) {
            let mut tx = self.begin().await?;
            for chunk in txn.chunks(ROWS_PER_STATEMENT) {
                let sql = posts_sql(chunk.len());
                let mut q = query(sql).bind(d.id.0).bind(now);
                for p in chunk {
                    number += 1;
                    q = q
                        .bind(number)
                        .bind(p.key.as_str())
                        .bind(p.pseudonym.as_str())
                        .bind(p.body.as_str())
                        .bind(p.themes.as_str())
                        .bind(p.sentiment);
                }
                let ids: Vec<i64> =
                    q.fetch_all(&mut tx.conn).await?.iter().map(|r| r.try_get(0)).collect::<Result<_>>()?;
                rows += chunk.len() as u64;
                // Two outbox rows per post: the thread line and the author's answer.
                let mut sql = String::from(
                    "INSERT INTO outbox (platform, dest_kind, sealed_address, discussion_id, post_id, action, body, \
                     attempts, next_attempt_at, created_at) VALUES ",
                );
                for i in 0..chunk.len() {
                    let j = 4 + i * 4;
                    if i > 0 {
                        sql.push(',');
                    }
                    sql.push_str(&format!(
                        "($1, 'thread', NULL, $2, ${j}, 'send', ${}, 0, $3, $3), ($1, 'direct', ${}, NULL, NULL, 'send', ${}, 0, $3, $3)",
                        j + 1,
                        j + 2,
                        j + 3
                    ));
                }
                let mut q = query(sql).bind(BASELINE_PLATFORM).bind(d.id.0).bind(now);
                for (p, id) in chunk.iter().zip(&ids) {
                    q = q
                        .bind(*id)
                        .bind(p.body.as_str())
                        .bind(p.sealed.as_str())
                        .bind("Posted as #N in \"baseline\" under your made-up name.");
                }
                q.execute(&mut tx.conn).await?;
                rows += 2 * chunk.len() as u64;
            }
            tx.commit().await?;
        }
        Ok(rows)
    }

    /// Outbox rows still to deliver, baseline rows aside. Counted platform by platform,
    /// so that the count walks only the undelivered rows of the index the deliveries use
    /// (`platform <> 'baseline'` read the whole outbox under the writer: the bench asks every
    /// 20 ms while the outbox drains, and held up the deliveries it waited for).
    pub async fn bench_pending(&self) -> Result<u64> {
        let mut conn = self.conn().await?;
        let mut pending = 0;
        for platform in chat::Platform::ALL {
            let row = query(
                "SELECT COUNT(*) FROM outbox \
                 WHERE platform = $1 AND delivered_at IS NULL AND cancelled = 0 AND dead = 0",
            )
            .bind(platform.as_str())
            .fetch_one(&mut conn)
            .await?;
            pending += row.try_get::<i64, _>(0)?.max(0) as u64;
        }
        Ok(pending)
    }

    /// Outbox rows an adapter reported delivered (with a platform message id), baseline
    /// rows aside.
    pub async fn bench_delivered_ids(&self) -> Result<Vec<i64>> {
        let rows =
            query("SELECT id FROM outbox WHERE platform <> $1 AND delivered_at IS NOT NULL AND message_id IS NOT NULL")
                .bind(BASELINE_PLATFORM)
                .fetch_all(&mut self.conn().await?)
                .await?;
        rows.iter().map(|r| r.try_get::<i64, _>(0)).collect::<Result<_>>()
    }

    /// Counts for checking a bench run (posts and numbering in every discussion but
    /// `except`, the baseline's).
    pub async fn bench_counts(&self, except: &str) -> Result<BenchCounts> {
        // One connection: on SQLite it is the writer, which only one holder may have.
        let mut conn = self.conn().await?;
        let one = |sql: &'static str| query(sql).bind(except);
        let count = |row: DbRow| row.try_get::<i64, _>(0).map(|n| n.max(0) as u64);
        let mut c = BenchCounts {
            posts: count(
                one("SELECT COUNT(*) FROM posts p JOIN discussions d ON d.id = p.discussion_id WHERE d.slug <> $1")
                    .fetch_one(&mut conn)
                    .await?,
            )?,
            published: count(
                one("SELECT COUNT(*) FROM posts p JOIN discussions d ON d.id = p.discussion_id \
                     WHERE d.slug <> $1 AND p.status = 'published'")
                .fetch_one(&mut conn)
                .await?,
            )?,
            ..BenchCounts::default()
        };
        c.inbound_events = count(query("SELECT COUNT(*) FROM inbound_events").fetch_one(&mut conn).await?)?;
        c.outbox = count(
            query("SELECT COUNT(*) FROM outbox WHERE platform <> $1")
                .bind(BASELINE_PLATFORM)
                .fetch_one(&mut conn)
                .await?,
        )?;
        c.outbox_pending = count(
            query(
                "SELECT COUNT(*) FROM outbox WHERE platform <> $1 AND delivered_at IS NULL AND cancelled = 0 AND dead = 0",
            )
            .bind(BASELINE_PLATFORM)
            .fetch_one(&mut conn)
            .await?,
        )?;
        let rows = one("SELECT d.id AS id, COUNT(p.id) AS n, COUNT(DISTINCT p.number) AS distinct_numbers, \
             COALESCE(MIN(p.number), 1) AS lo, COALESCE(MAX(p.number), 0) AS hi \
             FROM discussions d LEFT JOIN posts p ON p.discussion_id = d.id WHERE d.slug <> $1 GROUP BY d.id")
        .fetch_all(&mut conn)
        .await?;
        for r in rows {
            let (n, distinct, lo, hi): (i64, i64, i64, i64) =
                (r.try_get("n")?, r.try_get("distinct_numbers")?, r.try_get("lo")?, r.try_get("hi")?);
            if distinct != n {
                c.numbering_duplicates += 1;
            }
            if n > 0 && (lo != 1 || hi != distinct) {
                c.numbering_gaps += 1;
            }
        }
        Ok(c)
    }
}

/// `INSERT INTO posts … VALUES` for `n` rows: `$1` the discussion, `$2` the time, then six
/// values a row (number, key, pseudonym, body, themes, sentiment), `RETURNING id`.
fn posts_sql(n: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO posts (discussion_id, number, participant_key, pseudonym, parent_number, body, status, \
         created_at, themes, sentiment) VALUES ",
    );
    for i in 0..n {
        let j = 3 + i * 6;
        if i > 0 {
            sql.push(',');
        }
        sql.push_str(&format!(
            "($1, ${j}, ${}, ${}, NULL, ${}, 'published', $2, ${}, ${})",
            j + 1,
            j + 2,
            j + 3,
            j + 4,
            j + 5
        ));
    }
    sql.push_str(" RETURNING id");
    sql
}

impl Store {
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
        let stored = query("SELECT COUNT(*) FROM posts WHERE discussion_id = $1")
            .bind(d.id.0)
            .fetch_one(&mut tx.conn)
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
                let mut q = query(sql).bind(d.id.0);
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
                q.execute(&mut tx.conn).await?;
                n = end;
            }
            tx.commit().await?;
        }
        // Numbering carries on after the stored posts, so that the engine can post here too.
        query("UPDATE discussions SET next_number = $1 WHERE id = $2")
            .bind(posts as i64 + 1)
            .bind(d.id.0)
            .execute(&mut self.conn().await?)
            .await?;
        Ok((d.id, 0))
    }
}
