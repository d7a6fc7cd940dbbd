//! The outbox: every outbound message is a row written in the same transaction as the
//! change that caused it, handed to the platform's adapter, and marked delivered with the
//! platform message id. A row is leased while an adapter works on it, so two processes
//! sharing a PostgreSQL database never deliver the same row at once.

use super::db::{many_rows, query, Conn, IntoArg};

use super::Backend;
use crate::error::{Error, Result};
use crate::ids::{DiscussionId, PostId};

/// How long a handed-out row stays reserved before another attempt may take it.
/// How long a claimed row stays reserved unless the store is told otherwise.
pub(super) const LEASE_MS: i64 = chat::DELIVERY_LEASE.as_millis() as i64;

/// Where a queued message goes.
#[derive(Debug, Clone)]
pub enum OutboxDest<'a> {
    /// A DM; the address is sealed.
    Direct {
        /// Sealed address.
        sealed_address: &'a str,
    },
    /// A discussion's public thread.
    Thread(DiscussionId),
    /// Moderators room.
    Moderators,
    /// Commissioners room.
    Commissioners,
}

/// What a queued message does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxAction {
    /// Send a message.
    Send,
    /// Start a discussion's thread.
    OpenThread,
    /// Remove the message that published `post_id`.
    Remove,
}

impl OutboxAction {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxAction::Send => "send",
            OutboxAction::OpenThread => "open_thread",
            OutboxAction::Remove => "remove",
        }
    }

    fn parse(s: &str) -> Result<OutboxAction> {
        Ok(match s {
            "send" => OutboxAction::Send,
            "open_thread" => OutboxAction::OpenThread,
            "remove" => OutboxAction::Remove,
            other => return Err(Error::Inconsistent(format!("outbox action {other:?}"))),
        })
    }
}

/// The kind of destination of a stored row (its details are in [`DueRow`]'s other fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DestKind {
    /// A DM: see [`DueRow::sealed_address`].
    Direct,
    /// A discussion's thread: see [`DueRow::slug`] and [`DueRow::root`].
    Thread,
    /// The moderators' room.
    Moderators,
    /// The commissioners' room.
    Commissioners,
}

impl DestKind {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            DestKind::Direct => "direct",
            DestKind::Thread => "thread",
            DestKind::Moderators => "moderators",
            DestKind::Commissioners => "commissioners",
        }
    }

    fn parse(s: &str) -> Result<DestKind> {
        Ok(match s {
            "direct" => DestKind::Direct,
            "thread" => DestKind::Thread,
            "moderators" => DestKind::Moderators,
            "commissioners" => DestKind::Commissioners,
            other => return Err(Error::Inconsistent(format!("outbox destination {other:?}"))),
        })
    }
}

/// Compares with the stored form, e.g. `row.dest_kind == "direct"`.
impl PartialEq<&str> for DestKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A message to queue.
#[derive(Debug, Clone)]
pub struct NewOutbox<'a> {
    /// Platform whose adapter delivers it.
    pub platform: chat::Platform,
    /// Where.
    pub dest: OutboxDest<'a>,
    /// What.
    pub action: OutboxAction,
    /// Text.
    pub body: &'a str,
    /// The post this message publishes (or, for `Remove`, the post to take down).
    pub post: Option<PostId>,
    /// The post this message answers in the thread.
    pub reply_to: Option<PostId>,
    /// The answers it asks for (a survey question's choices), in their stored form.
    pub choices: Option<&'a str>,
    /// Now, in ms.
    pub now: i64,
}

impl<'a> NewOutbox<'a> {
    /// A plain message to `dest`, about no post.
    pub fn message(platform: chat::Platform, dest: OutboxDest<'a>, body: &'a str, now: i64) -> NewOutbox<'a> {
        NewOutbox { platform, dest, action: OutboxAction::Send, body, post: None, reply_to: None, choices: None, now }
    }
}

/// A row handed to an adapter, with references resolved.
#[derive(Debug, Clone)]
pub struct DueRow {
    /// Row id.
    pub id: i64,
    /// Where it goes.
    pub dest_kind: DestKind,
    /// For `direct`: the sealed address.
    pub sealed_address: Option<String>,
    /// For `thread`: the discussion slug.
    pub slug: Option<String>,
    /// For `thread`: the root message on this platform, once known.
    pub root: Option<String>,
    /// What to do.
    pub action: OutboxAction,
    /// Text.
    pub body: String,
    /// The platform message this answers, when known.
    pub reply_to_message: Option<String>,
    /// For `remove`: the platform message to take down, when known.
    pub remove_message: Option<String>,
    /// The answers it asks for, in their stored form.
    pub choices: Option<String>,
}

/// Queues an outbound message. Its row is written with the next statement of the
/// transaction ([`Conn::insert_later`]): a message's outbox rows go in one `INSERT`.
pub(super) async fn enqueue(tx: &mut Conn, m: &NewOutbox<'_>) -> Result<()> {
    let (kind, sealed, discussion) = match &m.dest {
        OutboxDest::Direct { sealed_address } => (DestKind::Direct, Some(*sealed_address), None),
        OutboxDest::Thread(d) => (DestKind::Thread, None, Some(d.0)),
        OutboxDest::Moderators => (DestKind::Moderators, None, None),
        OutboxDest::Commissioners => (DestKind::Commissioners, None, None),
    };
    let args = vec![
        m.platform.as_str().to_string().into_arg(),
        kind.as_str().to_string().into_arg(),
        sealed.map(str::to_string).into_arg(),
        discussion.into_arg(),
        m.post.map(|p| p.0).into_arg(),
        m.reply_to.map(|p| p.0).into_arg(),
        m.action.as_str().to_string().into_arg(),
        m.body.to_string().into_arg(),
        m.now.into_arg(),
        m.choices.map(str::to_string).into_arg(),
    ];
    tx.insert_later(
        "INSERT INTO outbox (platform, dest_kind, sealed_address, discussion_id, post_id, reply_to_post, action, body, \
         attempts, next_attempt_at, created_at, choices) VALUES ",
        "($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $9, $10)",
        "",
        args,
    )
    .await
}

pub(super) async fn thread_requested(
    tx: &mut Conn,
    discussion: DiscussionId,
    platform: chat::Platform,
) -> Result<bool> {
    let row = query(
        "SELECT (SELECT COUNT(*) FROM mirrors WHERE discussion_id = $1 AND platform = $2) + \
                (SELECT COUNT(*) FROM outbox WHERE discussion_id = $1 AND platform = $2 \
                 AND action = 'open_thread' AND delivered_at IS NULL)",
    )
    .bind(discussion.0)
    .bind(platform.as_str())
    .fetch_one(&mut *tx)
    .await?;
    Ok(row.try_get::<i64, _>(0)? > 0)
}

pub(super) async fn post_messages(tx: &mut Conn, post: PostId) -> Result<Vec<(chat::Platform, String)>> {
    let rows = query("SELECT platform, message_id FROM post_messages WHERE post_id = $1 ORDER BY platform")
        .bind(post.0)
        .fetch_all(&mut *tx)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let platform: String = r.try_get("platform")?;
        if let Some(p) = chat::Platform::parse(&platform) {
            out.push((p, r.try_get("message_id")?));
        }
    }
    Ok(out)
}

pub(super) async fn due(
    conn: &mut Conn,
    backend: Backend,
    platform: chat::Platform,
    now: i64,
    limit: usize,
    lease_ms: i64,
) -> Result<Vec<DueRow>> {
    // Claim the rows first, in one statement. On PostgreSQL, rows that another process is
    // claiming at the same moment are skipped rather than waited for; the candidates are a
    // CTE so that they are chosen exactly once (a subquery may be run again per row).
    let due = "SELECT o.id FROM outbox o \
               LEFT JOIN mirrors m ON m.discussion_id = o.discussion_id AND m.platform = o.platform \
               WHERE o.platform = $3 AND o.delivered_at IS NULL AND o.next_attempt_at <= $2 \
                 AND NOT (o.dest_kind = 'thread' AND o.action <> 'open_thread' AND m.root_message_id IS NULL) \
               ORDER BY o.id LIMIT $4";
    let claim = match backend {
        Backend::Postgres => format!(
            "WITH due AS ({due} FOR UPDATE OF o SKIP LOCKED) \
             UPDATE outbox SET next_attempt_at = $1 FROM due \
             WHERE outbox.id = due.id AND outbox.delivered_at IS NULL AND outbox.next_attempt_at <= $2 \
             RETURNING outbox.id AS id"
        ),
        Backend::Sqlite => format!(
            "UPDATE outbox SET next_attempt_at = $1 \
             WHERE delivered_at IS NULL AND next_attempt_at <= $2 AND id IN ({due}) RETURNING id"
        ),
    };
    let claimed = query(claim)
        .bind(now + lease_ms)
        .bind(now)
        .bind(platform.as_str())
        .bind(limit as i64)
        .fetch_all(&mut *conn)
        .await?;
    let mut ids = claimed.iter().map(|r| r.try_get::<i64, _>("id")).collect::<Result<Vec<_>, _>>()?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    ids.sort_unstable();
    let list = (0..ids.len()).map(|i| format!("${}", i + 1)).collect::<Vec<_>>().join(", ");
    let mut query = query(format!(
        "SELECT o.id AS id, o.dest_kind AS dest_kind, o.sealed_address AS sealed_address, d.slug AS slug, \
                m.root_message_id AS root, o.action AS action, o.body AS body, \
                (SELECT rp.message_id FROM post_messages rp \
                  WHERE rp.post_id = o.reply_to_post AND rp.platform = o.platform) AS reply_to_message, \
                CASE WHEN o.action = 'remove' THEN (SELECT rm.message_id FROM post_messages rm \
                  WHERE rm.post_id = o.post_id AND rm.platform = o.platform) END AS remove_message, \
                o.choices AS choices \
         FROM outbox o \
         LEFT JOIN discussions d ON d.id = o.discussion_id \
         LEFT JOIN mirrors m ON m.discussion_id = o.discussion_id AND m.platform = o.platform \
         WHERE o.id IN ({list}) ORDER BY o.id"
    ));
    for id in &ids {
        query = query.bind(*id);
    }
    let rows = query.fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| {
            Ok(DueRow {
                id: r.try_get("id")?,
                dest_kind: DestKind::parse(&r.try_get::<String, _>("dest_kind")?)?,
                sealed_address: r.try_get("sealed_address")?,
                slug: r.try_get("slug")?,
                root: r.try_get("root")?,
                action: OutboxAction::parse(&r.try_get::<String, _>("action")?)?,
                body: r.try_get("body")?,
                reply_to_message: r.try_get("reply_to_message")?,
                remove_message: r.try_get("remove_message")?,
                choices: r.try_get("choices")?,
            })
        })
        .collect()
}

pub(super) async fn mark_delivered(tx: &mut Conn, id: i64, message_id: Option<&str>, now: i64) -> Result<()> {
    // The DM address is not needed any more once delivered.
    let row = query(
        "UPDATE outbox SET delivered_at = $1, message_id = $2, sealed_address = NULL \
         WHERE id = $3 AND delivered_at IS NULL RETURNING platform, action, discussion_id, post_id",
    )
    .bind(now)
    .bind(message_id)
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(message_id) = message_id else { return Ok(()) };
    let Some(row) = row else {
        return take_down_late_delivery(tx, id, message_id, now).await;
    };
    let platform: String = row.try_get("platform")?;
    let action = OutboxAction::parse(&row.try_get::<String, _>("action")?)?;
    let discussion: Option<i64> = row.try_get("discussion_id")?;
    let post: Option<i64> = row.try_get("post_id")?;
    match (action, discussion, post) {
        (OutboxAction::OpenThread, Some(d), _) => {
            query(
                "INSERT INTO mirrors (discussion_id, platform, root_message_id) VALUES ($1, $2, $3) \
                 ON CONFLICT (discussion_id, platform) DO UPDATE SET root_message_id = $3",
            )
            .bind(d)
            .bind(&platform)
            .bind(message_id)
            .execute(&mut *tx)
            .await?;
        }
        (OutboxAction::Send, _, Some(p)) => {
            query(
                "INSERT INTO post_messages (post_id, platform, message_id) VALUES ($1, $2, $3) \
                 ON CONFLICT (post_id, platform) DO UPDATE SET message_id = $3",
            )
            .bind(p)
            .bind(&platform)
            .bind(message_id)
            .execute(&mut *tx)
            .await?;
        }
        _ => {}
    }
    Ok(())
}

/// Rows marked delivered per statement in [`mark_delivered_many`].
const MARK_CHUNK: usize = 200;

/// Records many deliveries with a few statements per chunk instead of two per row: one
/// `UPDATE` for the chunk, one `INSERT` of the published posts' messages; thread roots and
/// late deliveries of cancelled posts (rare) go through [`mark_delivered`] one by one. A row
/// given twice is recorded with the first message id given for it; rows are marked in id
/// order.
pub(super) async fn mark_delivered_many(tx: &mut Conn, delivered: &[(i64, Option<String>)], now: i64) -> Result<()> {
    let mut seen = std::collections::HashSet::with_capacity(delivered.len());
    let mut delivered: Vec<&(i64, Option<String>)> = delivered.iter().filter(|(id, _)| seen.insert(*id)).collect();
    // In id order, so that two batches marked at once lock their rows in the same order
    // (PostgreSQL's join locks them in the order given; opposite orders could deadlock).
    delivered.sort_by_key(|(id, _)| *id);
    for chunk in delivered.chunks(MARK_CHUNK) {
        // The chunk's rows are joined to the outbox by id (`UPDATE … FROM`), each found by
        // its key: a subquery for each row's message id scanned the whole chunk for it,
        // quadratic in the chunk (665 µs a chunk of 200 on SQLite, against about 300).
        let sql = many_rows(MARK_WITH, MARK_ROW, MARK_UPDATE, 3, chunk.len(), tx.is_direct());
        let mut q = query(sql);
        for (id, message_id) in chunk {
            q = q.bind(*id).bind(message_id.as_deref()).bind(now);
        }
        let rows = q.fetch_all(&mut *tx).await?;
        let mut updated = std::collections::HashSet::with_capacity(rows.len());
        let mut published: Vec<(i64, String, &str)> = Vec::new();
        let by_id: std::collections::HashMap<i64, Option<&str>> =
            chunk.iter().map(|(id, m)| (*id, m.as_deref())).collect();
        for row in rows {
            let id: i64 = row.try_get("id")?;
            updated.insert(id);
            let Some(Some(message_id)) = by_id.get(&id).copied() else { continue };
            match (
                OutboxAction::parse(&row.try_get::<String, _>("action")?)?,
                row.try_get::<Option<i64>, _>("post_id")?,
            ) {
                (OutboxAction::Send, Some(post)) => published.push((post, row.try_get("platform")?, message_id)),
                // A thread root becomes the discussion's mirror: as for one row.
                (OutboxAction::OpenThread, _) => record_thread_root(tx, id, message_id).await?,
                _ => {}
            }
        }
        if !published.is_empty() {
            let mut sql = String::from("INSERT INTO post_messages (post_id, platform, message_id) VALUES ");
            for i in 0..published.len() {
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!("(${}, ${}, ${})", 1 + 3 * i, 2 + 3 * i, 3 + 3 * i));
            }
            sql.push_str(" ON CONFLICT (post_id, platform) DO UPDATE SET message_id = excluded.message_id");
            let mut q = query(sql);
            for (post, platform, message_id) in &published {
                q = q.bind(*post).bind(platform.as_str()).bind(*message_id);
            }
            q.execute(&mut *tx).await?;
        }
        // Rows that were delivered already (or cancelled meanwhile): as for one row.
        for (id, message_id) in chunk.iter().copied().filter(|(id, _)| !updated.contains(id)) {
            if let Some(message_id) = message_id {
                take_down_late_delivery(tx, *id, message_id, now).await?;
            }
        }
    }
    Ok(())
}

/// The statement marking a chunk of deliveries ([`many_rows`]): each row's id, message id
/// and time, joined to the outbox by id.
static MARK_WITH: &str = "WITH v (id, mid, at) AS (VALUES ";
static MARK_ROW: &str = "(CAST($1 AS BIGINT), CAST($2 AS TEXT), CAST($3 AS BIGINT))";
static MARK_UPDATE: &str = ") UPDATE outbox SET delivered_at = v.at, message_id = v.mid, sealed_address = NULL FROM v \
     WHERE outbox.id = v.id AND outbox.delivered_at IS NULL \
     RETURNING outbox.id AS id, outbox.platform AS platform, outbox.action AS action, outbox.post_id AS post_id";

/// Records a delivered thread root as its discussion's mirror.
async fn record_thread_root(tx: &mut Conn, id: i64, message_id: &str) -> Result<()> {
    query(
        "INSERT INTO mirrors (discussion_id, platform, root_message_id)          SELECT discussion_id, platform, $2 FROM outbox WHERE id = $1 AND discussion_id IS NOT NULL          ON CONFLICT (discussion_id, platform) DO UPDATE SET root_message_id = excluded.root_message_id",
    )
    .bind(id)
    .bind(message_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A publication that was cancelled (its post hidden or removed) while an adapter was
/// already sending it: now that it is known to have gone out, record its message and queue
/// its removal, so that no copy stays visible whatever the timing.
async fn take_down_late_delivery(tx: &mut Conn, id: i64, message_id: &str, now: i64) -> Result<()> {
    let row = query(
        "SELECT platform, discussion_id, post_id FROM outbox \
         WHERE id = $1 AND cancelled = 1 AND action = 'send' AND post_id IS NOT NULL",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else { return Ok(()) };
    let platform: String = row.try_get("platform")?;
    let discussion: Option<i64> = row.try_get("discussion_id")?;
    let post: i64 = row.try_get("post_id")?;
    query(
        "INSERT INTO post_messages (post_id, platform, message_id) VALUES ($1, $2, $3) \
         ON CONFLICT (post_id, platform) DO UPDATE SET message_id = $3",
    )
    .bind(post)
    .bind(&platform)
    .bind(message_id)
    .execute(&mut *tx)
    .await?;
    // A removal queued when the post was taken down may still be waiting: it now finds the
    // message, so a second one is only needed when it is gone.
    query(
        "INSERT INTO outbox (platform, dest_kind, discussion_id, post_id, action, body, attempts, next_attempt_at, \
         created_at) SELECT $1, 'thread', $2, $3, 'remove', '', 0, $4, $4 \
         WHERE NOT EXISTS (SELECT 1 FROM outbox WHERE post_id = $3 AND platform = $1 AND action = 'remove' \
                           AND delivered_at IS NULL)",
    )
    .bind(&platform)
    .bind(discussion)
    .bind(post)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Sets a row aside for good (a dead letter): it is never handed out again. Returns what
/// it was, for the moderators' notice, or `None` when it was delivered meanwhile.
pub(super) async fn set_aside(conn: &mut Conn, id: i64, now: i64) -> Result<Option<(DestKind, String)>> {
    let row = query(
        "UPDATE outbox SET delivered_at = $1, dead = 1, sealed_address = NULL \
         WHERE id = $2 AND delivered_at IS NULL RETURNING dest_kind, platform",
    )
    .bind(now)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| Ok((DestKind::parse(&r.try_get::<String, _>("dest_kind")?)?, r.try_get("platform")?))).transpose()
}

pub(super) async fn mark_failed(conn: &mut Conn, id: i64, next_attempt_at: i64) -> Result<i64> {
    let row = query(
        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $1 \
         WHERE id = $2 AND delivered_at IS NULL RETURNING attempts",
    )
    .bind(next_attempt_at)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.try_get::<i64, _>(0)).transpose()?.unwrap_or(0))
}

pub(super) async fn attempts(conn: &mut Conn, id: i64) -> Result<i64> {
    let row = query("SELECT attempts FROM outbox WHERE id = $1").bind(id).fetch_optional(&mut *conn).await?;
    Ok(row.map(|r| r.try_get::<i64, _>(0)).transpose()?.unwrap_or(0))
}

pub(super) async fn cancel_pending_sends(tx: &mut Conn, post: PostId, now: i64) -> Result<u64> {
    let done = query(
        "UPDATE outbox SET delivered_at = $1, sealed_address = NULL, cancelled = 1 WHERE post_id = $2 \
         AND action = 'send' AND delivered_at IS NULL",
    )
    .bind(now)
    .bind(post.0)
    .execute(&mut *tx)
    .await?;
    Ok(done)
}
