//! Storage for moderation: statuses, reports, sanctions, the audit log and the review queue.

use super::db::{query, DbRow};

use super::{Post, PostStatus, Tx};
use crate::error::Result;
use crate::ids::{DiscussionId, ParticipantKey, PostId, PostNumber};

/// The latest post bodies of a participant. The limit (an integer) is written into the statement: bound
/// as a parameter, SQLite takes its value into account when it plans the statement, so it
/// prepared the statement again at every use (about 37,000 instructions a post).
static RECENT_BODIES: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| recent_bodies_sql(super::RECENT_POSTS));

fn recent_bodies_sql(limit: i64) -> String {
    format!("SELECT body FROM posts WHERE participant_key = $1 ORDER BY id DESC LIMIT {limit}")
}

/// A participant's sanctions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sanctions {
    /// Muted until this time (ms); 0 when not muted.
    pub muted_until: i64,
    /// Banned from posting.
    pub banned: bool,
}

impl Sanctions {
    /// Read from a row's `muted_until` and `banned`; none when they are NULL (no row).
    pub(crate) fn from_row(row: &DbRow) -> Result<Sanctions> {
        Ok(match row.try_get::<Option<i64>, _>("muted_until")? {
            Some(muted_until) => Sanctions { muted_until, banned: row.try_get::<i64, _>("banned")? != 0 },
            None => Sanctions::default(),
        })
    }
}

/// One audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// When, in ms.
    pub at: i64,
    /// Who ("moderator 3f2a9c", "parley").
    pub actor: String,
    /// What ("approve", "remove", "mute 30m"...).
    pub action: String,
    /// On what ("gp-access#3").
    pub target: String,
    /// Why.
    pub reason: String,
}

/// A post waiting for a moderator, with its discussion's slug.
#[derive(Debug, Clone)]
pub struct QueuedPost {
    /// The post.
    pub post: Post,
    /// Its discussion's slug.
    pub slug: String,
    /// Why it is there (moderation reasons).
    pub reasons: String,
    /// Distinct reporters.
    pub reports: i64,
}

impl Tx {
    /// Sets a post's status.
    pub async fn set_post_status(&mut self, post: PostId, status: PostStatus) -> Result<()> {
        query("UPDATE posts SET status = $1 WHERE id = $2")
            .bind(status.as_str())
            .bind(post.0)
            .execute(&mut self.conn)
            .await?;
        Ok(())
    }

    /// Sets whether a discussion holds every post for review.
    pub async fn set_premoderated(&mut self, slug: &str, on: bool) -> Result<()> {
        self.forget_discussions();
        query("UPDATE discussions SET premoderated = $1 WHERE slug = $2")
            .bind(on as i64)
            .bind(slug)
            .execute(&mut self.conn)
            .await?;
        Ok(())
    }

    /// Whether a discussion is pre-moderated.
    pub async fn premoderated(&mut self, discussion: DiscussionId) -> Result<bool> {
        let row = query("SELECT premoderated FROM discussions WHERE id = $1")
            .bind(discussion.0)
            .fetch_one(&mut self.conn)
            .await?;
        Ok(row.try_get::<i64, _>(0)? != 0)
    }

    /// Adds a report; `false` when this reporter already reported this post. Returns the
    /// number of distinct reporters that count towards hiding it afterwards (a report that
    /// does not `count` — the author's own, a banned reporter's — is kept for moderators).
    pub async fn add_report(
        &mut self,
        post: PostId,
        reporter: &ParticipantKey,
        reason: &str,
        counts: bool,
        now: i64,
    ) -> Result<(bool, i64)> {
        if self.conn.is_postgres() {
            // One round trip: the count does not see the row its `WITH` adds, which is
            // counted on its own.
            let row = query(
                "WITH added AS (INSERT INTO reports (post_id, reporter_key, reason, created_at, counted) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (post_id, reporter_key) DO NOTHING RETURNING counted) \
                 SELECT (SELECT COUNT(*) FROM added) AS added, \
                 (SELECT COUNT(*) FROM reports WHERE post_id = $1 AND counted = 1) \
                 + (SELECT COUNT(*) FROM added WHERE counted = 1) AS counting",
            )
            .bind(post.0)
            .bind(&reporter.0)
            .bind(reason)
            .bind(now)
            .bind(counts as i64)
            .fetch_one(&mut self.conn)
            .await?;
            return Ok((row.try_get::<i64, _>("added")? == 1, row.try_get::<i64, _>("counting")?));
        }
        let added = query(
            "INSERT INTO reports (post_id, reporter_key, reason, created_at, counted) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (post_id, reporter_key) DO NOTHING",
        )
        .bind(post.0)
        .bind(&reporter.0)
        .bind(reason)
        .bind(now)
        .bind(counts as i64)
        .execute(&mut self.conn)
        .await?
            == 1;
        let row = query("SELECT COUNT(*) FROM reports WHERE post_id = $1 AND counted = 1")
            .bind(post.0)
            .fetch_one(&mut self.conn)
            .await?;
        Ok((added, row.try_get::<i64, _>(0)?))
    }

    /// A participant's sanctions.
    pub async fn sanctions(&mut self, key: &ParticipantKey) -> Result<Sanctions> {
        if let Some(known) = self.known.sanctions(key) {
            return Ok(known);
        }
        let row = query("SELECT muted_until, banned FROM sanctions WHERE participant_key = $1")
            .bind(&key.0)
            .fetch_optional(&mut self.conn)
            .await?;
        Ok(match row {
            Some(r) => Sanctions::from_row(&r)?,
            None => Sanctions::default(),
        })
    }

    /// Replaces a participant's sanctions; `label` is the `PSEUDONYM@SLUG` acted on.
    pub async fn set_sanctions(&mut self, key: &ParticipantKey, s: Sanctions, label: &str, now: i64) -> Result<()> {
        self.known.sanctions = None;
        query(
            "INSERT INTO sanctions (participant_key, muted_until, banned, label, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (participant_key) DO UPDATE SET muted_until = $2, banned = $3, label = $4, updated_at = $5",
        )
        .bind(&key.0)
        .bind(s.muted_until)
        .bind(s.banned as i64)
        .bind(label)
        .bind(now)
        .execute(&mut self.conn)
        .await?;
        Ok(())
    }

    /// The participant sanctioned under `PSEUDONYM@SLUG`, if any.
    pub async fn sanctioned_as(&mut self, label: &str) -> Result<Option<ParticipantKey>> {
        let row = query("SELECT participant_key FROM sanctions WHERE LOWER(label) = LOWER($1)")
            .bind(label)
            .fetch_optional(&mut self.conn)
            .await?;
        Ok(row.map(|r| r.try_get::<String, _>(0)).transpose()?.map(ParticipantKey))
    }

    /// Appends an audit record.
    pub async fn audit(&mut self, e: &AuditEntry) -> Result<()> {
        query("INSERT INTO audit_log (at, actor, action, target, reason) VALUES ($1, $2, $3, $4, $5)")
            .bind(e.at)
            .bind(&e.actor)
            .bind(&e.action)
            .bind(&e.target)
            .bind(&e.reason)
            .execute(&mut self.conn)
            .await?;
        Ok(())
    }

    /// The latest audit records, newest last.
    pub async fn audit_log(&mut self, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows = query("SELECT at, actor, action, target, reason FROM audit_log ORDER BY id DESC LIMIT $1")
            .bind(limit)
            .fetch_all(&mut self.conn)
            .await?;
        let mut out = rows
            .iter()
            .map(|r| {
                Ok(AuditEntry {
                    at: r.try_get("at")?,
                    actor: r.try_get("actor")?,
                    action: r.try_get("action")?,
                    target: r.try_get("target")?,
                    reason: r.try_get("reason")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        out.reverse();
        Ok(out)
    }

    /// Held and hidden posts, oldest first.
    pub async fn review_queue(&mut self) -> Result<Vec<QueuedPost>> {
        let cols = Post::COLUMNS.split(", ").map(|c| format!("p.{c}")).collect::<Vec<_>>().join(", ");
        let rows = query(format!(
            "SELECT {cols}, d.slug AS slug, p.reasons AS reasons, \
             (SELECT COUNT(*) FROM reports r WHERE r.post_id = p.id) AS reports \
             FROM posts p JOIN discussions d ON d.id = p.discussion_id \
             WHERE p.status IN ('held', 'hidden') ORDER BY p.id"
        ))
        .fetch_all(&mut self.conn)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(QueuedPost {
                    post: Post::from_row(r)?,
                    slug: r.try_get("slug")?,
                    reasons: r.try_get("reasons")?,
                    reports: r.try_get("reports")?,
                })
            })
            .collect()
    }

    /// Posts numbered `number` in any discussion, with their slugs.
    pub async fn posts_numbered(&mut self, number: PostNumber) -> Result<Vec<(Post, String)>> {
        let cols = Post::COLUMNS.split(", ").map(|c| format!("p.{c}")).collect::<Vec<_>>().join(", ");
        let rows = query(format!(
            "SELECT {cols}, d.slug AS slug FROM posts p JOIN discussions d ON d.id = p.discussion_id \
             WHERE p.number = $1 ORDER BY d.id"
        ))
        .bind(number.0)
        .fetch_all(&mut self.conn)
        .await?;
        rows.iter().map(|r| Ok((Post::from_row(r)?, r.try_get("slug")?))).collect()
    }

    /// Who holds a pseudonym in a discussion (none after `!forget`).
    pub async fn pseudonym_owner(&mut self, discussion: DiscussionId, name: &str) -> Result<Option<ParticipantKey>> {
        let row = query("SELECT participant_key FROM pseudonyms WHERE discussion_id = $1 AND LOWER(name) = LOWER($2)")
            .bind(discussion.0)
            .bind(name)
            .fetch_optional(&mut self.conn)
            .await?;
        Ok(row.map(|r| r.try_get::<Option<String>, _>(0)).transpose()?.flatten().map(ParticipantKey))
    }

    /// The author's latest `limit` post bodies (newest last), for repeated-text detection.
    pub async fn recent_bodies(&mut self, key: &ParticipantKey, limit: i64) -> Result<Vec<String>> {
        if let Some(known) = self.known.recent(key, limit) {
            return Ok(known);
        }
        let sql: std::borrow::Cow<'static, str> =
            if limit == super::RECENT_POSTS { RECENT_BODIES.as_str().into() } else { recent_bodies_sql(limit).into() };
        let unseen = !self.may_see_queued_posts(key);
        let rows = query(sql).bind(&key.0).unseen_queued_if(unseen).fetch_all(&mut self.conn).await?;
        let mut out = rows.iter().map(|r| r.try_get::<String, _>(0)).collect::<Result<Vec<_>, _>>()?;
        out.reverse();
        Ok(out)
    }
}
