//! Storage: one API over SQLite (embedded default) and PostgreSQL (shared by several
//! processes).
//!
//! Queries are runtime-checked strings written in the SQL both databases accept (`$n`
//! parameters, `ON CONFLICT`, `RETURNING`), run by [`db`] on rusqlite (SQLite's single
//! writer, in line) or on sqlx's `Any` driver (PostgreSQL, and SQLite's read connections).
//! Each backend has its own embedded migrations. Everything the engine does for one
//! inbound message happens in one [`Tx`], so a crash loses or duplicates nothing.

mod analysis;
mod bench;
mod ceiling;
mod db;
mod known;
mod limits;
mod moderation;
mod outbox;
mod rows;
mod scan;
mod surveys;

pub use analysis::AnalysedPost;
pub use bench::{BenchCounts, RawPost, BASELINE_PLATFORM};
pub use ceiling::WriteCeiling;
pub use known::RECENT as RECENT_POSTS;
pub use moderation::{AuditEntry, QueuedPost, Sanctions};

pub use outbox::{DestKind, DueRow, NewOutbox, OutboxAction, OutboxDest};
pub use rows::{Discussion, DiscussionStatus, NewPost, Participant, Post, PostStatus};
pub use surveys::{Invitation, OrgMessage, Participation, PushJob, PushKind};

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::AnyPool;

use db::{query, Conn};

use crate::error::{Error, Result};
use crate::ids::{DiscussionId, ParticipantKey, PostId, PostNumber};

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file (or `sqlite::memory:`).
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Backend {
    /// Recognises the backend from a database URL.
    pub fn from_url(url: &str) -> Result<Backend> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(Error::UnsupportedDatabase(redact_url(url)))
        }
    }
}

/// Whether a SQLite URL names a database in memory (`sqlite::memory:`, `mode=memory`) rather
/// than a file (whose path may well contain the word "memory").
pub(crate) fn is_memory(url: &str) -> bool {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
    let file = rest.split('?').next().unwrap_or_default();
    file.is_empty() || file == ":memory:" || url.contains("mode=memory")
}

/// Hides a password in a URL before it goes into a message.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..scheme_end + 3], &userinfo[..colon], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Where a SQLite write transaction keeps its statement journal: the first copy of every
/// page changed inside a savepoint (the engine's group commits take one a message), kept
/// for rolling back to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Journal {
    /// In memory: each message's savepoint changes a few pages, and written to a file they
    /// were two system calls a page, most of the writer's (2.96 of 3.3 million in the
    /// 50,000-post bench). Emptied at each savepoint's release.
    Memory,
    /// In memory up to SQLite's 64 KiB, then in a temporary file: for a transaction that
    /// may change more pages than memory should hold.
    Spilling,
}

/// The most inbound event ids, and outbox rows of each platform, that one prune of every
/// 1,000 messages deletes (see [`Store::prune`]): at about three outbox rows a message it
/// keeps up with any steady load, and it catches up on a backlog (a first run after an
/// upgrade) a few milliseconds at a time.
pub const PRUNE_AT_MOST: i64 = 5_000;

/// The most messages one group commit stores on PostgreSQL. There every statement is a
/// round trip, so a larger group saves little, and its transaction holds the lock that
/// other processes wait for (see [`Store::group_commit_limit`]). 64 savepoints (a group
/// stored again with one a message, after one of them failed) is also as many
/// subtransactions as PostgreSQL keeps in a backend's shared cache: with more, every
/// other connection's snapshot overflows to `pg_subtrans` while the group is open.
/// Measured (BENCHMARKS.md, 2026-11-28 fourth session): three processes 970 → 1,070–1,120
/// messages/s and p99 2.8 s → 0.6 s against 256; one process 1,055–1,063 → 1,066–1,102;
/// 32 was slower for one process (1,000).
pub const POSTGRES_GROUP_COMMIT: usize = 64;

/// The advisory lock key of the engine's write transactions on PostgreSQL ("parley" in
/// ASCII).
const WRITER_LOCK: i64 = 0x70_61_72_6c_65_79;

/// The database.
#[derive(Debug, Clone)]
pub struct Store {
    /// Where the engine's writes go.
    writer: Writer,
    /// Connections for read-only work outside the engine's lock (summaries, listings).
    /// On a SQLite file these are extra read-only connections, which WAL mode lets read
    /// while the single writer writes; on PostgreSQL the same pool; `None` for
    /// `sqlite::memory:`, whose one connection is the writer.
    read_pool: Option<AnyPool>,
    backend: Backend,
    /// How long a claimed outbox row stays reserved, in milliseconds.
    lease_ms: std::sync::Arc<std::sync::atomic::AtomicI64>,
    /// Frames in a SQLite file's write-ahead log from which it is made to start again (see
    /// [`db::checkpoints`]).
    log_restart_frames: std::sync::Arc<std::sync::atomic::AtomicI64>,
    /// The SQLite file, for scans that read it directly (see [`scan`]).
    sqlite_file: Option<std::sync::Arc<std::path::Path>>,
    /// Whether [`Store::analyze_changed_soon`] has a run going.
    analyzing: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// Rows a table must have changed by since PostgreSQL last gathered its statistics (and as
/// many as it had then) before parley gathers them itself ([`Store::analyze_changed`]).
const ANALYZE_AFTER_CHANGES: i64 = 1_000;

/// Where writes go.
#[derive(Debug, Clone)]
enum Writer {
    /// PostgreSQL: a pool of connections.
    Pool(AnyPool),
    /// SQLite: its one writer connection, used in line (see [`db`]).
    Direct(std::sync::Arc<tokio::sync::Mutex<rusqlite::Connection>>),
}

/// A group sender's participant read ([`Tx::read_participants_of`]), taken by their first
/// message.
struct Prefetched {
    /// The platform of that message.
    platform: chat::Platform,
    /// Their row as read (`None`: no participant row).
    row: Option<db::DbRow>,
    /// When the read stored them: the sealed address stored with them.
    created: Option<String>,
}

/// One transaction. Dropped without [`Tx::commit`], it rolls back.
pub struct Tx {
    conn: Conn,
    /// For a read transaction on a SQLite file: the file, which long scans read directly.
    scan_file: Option<std::sync::Arc<std::path::Path>>,
    /// Rows of the message's sender read already in this message.
    known: known::Known,
    /// The limiter rows of a group's senders, when read at once ([`Tx::read_limits_of`]).
    limiter: Option<limits::LimiterRows>,
    /// The participant reads of a group's senders, when read at once
    /// ([`Tx::read_participants_of`]): by key, the platform of their first message and the
    /// row read for it (`None`: no participant row), given once.
    prefetched: std::collections::HashMap<ParticipantKey, Prefetched>,
    /// The participants with a survey invitation queued in this transaction (PostgreSQL,
    /// [`Tx::invite`]): their participant read, which reads their invitations, writes the
    /// queued rows first.
    invited_later: std::collections::HashSet<ParticipantKey>,
    /// Discussions' next `#N`, when held for a group without savepoints
    /// ([`Tx::hold_post_numbers`]): read once, counted here, written back at commit.
    numbers: Option<std::collections::HashMap<DiscussionId, i64>>,
    /// While the numbers are held: the group's posts are queued and written together
    /// ([`Tx::insert_next_post`]).
    posts_later: Option<PostsLater>,
    /// Discussion rows read in this transaction, kept across its messages (a `!join`
    /// would read its discussion again each time): nothing else writes them meanwhile,
    /// since the transaction is the one writer (SQLite) or holds the fleet's lock
    /// (PostgreSQL). Forgotten on any write to a discussion and when a savepoint is rolled
    /// back to. At most [`DISCUSSIONS_KEPT`].
    discussions: Vec<Discussion>,
}

/// The most discussion rows a transaction keeps ([`Tx::discussion_by_slug`]).
const DISCUSSIONS_KEPT: usize = 32;

/// A group's posts queued ([`Tx::hold_post_numbers`]), and what tells a read that it cannot
/// see them.
#[derive(Debug, Default)]
struct PostsLater {
    /// The next post id to give and the first one given (taken from the sequence; the
    /// rest are counted on from it, and on PostgreSQL the sequence is set to the last at
    /// commit; SQLite's `AUTOINCREMENT` takes it from the rows).
    ids: Option<(i64, i64)>,
    /// The participants with a post queued (or written) in this transaction.
    authors: std::collections::HashSet<ParticipantKey>,
    /// Each discussion's first `#N` of this transaction: a queued post's number is no lower.
    first_numbers: std::collections::HashMap<DiscussionId, i64>,
    /// Every discussion's next `#N` as read with the first post's id (one statement for
    /// all, not one a discussion): nothing else changes them while the numbers are held.
    counters: std::collections::HashMap<DiscussionId, i64>,
}

/// The start of a PostgreSQL statement with `named`, the participant's pseudonym in a
/// discussion, or else the name given claimed for them (none when someone holds that):
/// `$1` the discussion, `$2` the name, `$3` the participant key, `$4` the time.
const HELD_OR_CLAIMED: &str =
    "WITH held AS (SELECT name FROM pseudonyms WHERE discussion_id = $1 AND participant_key = $3), \
     claimed AS (INSERT INTO pseudonyms (discussion_id, name, participant_key, created_at) \
       SELECT $1, $2, $3, $4 WHERE NOT EXISTS (SELECT 1 FROM held) ON CONFLICT DO NOTHING RETURNING name), \
     named AS (SELECT name FROM held UNION ALL SELECT name FROM claimed)";

/// A group's posts on PostgreSQL: one statement for all of them ([`db::Conn::insert_first`]).
const POSTS_FROM_JSON: &str = "INSERT INTO posts (id, number, discussion_id, participant_key, pseudonym, \
     parent_number, body, status, created_at, themes, sentiment, platform, reasons) \
     SELECT r.id, r.number, r.discussion_id, r.participant_key, r.pseudonym, r.parent_number, r.body, r.status, \
     r.created_at, r.themes, r.sentiment, r.platform, r.reasons FROM json_to_recordset(CAST($1 AS json)) AS \
     r(id bigint, number bigint, discussion_id bigint, participant_key text, pseudonym text, parent_number bigint, \
     body text, status text, created_at bigint, themes text, sentiment bigint, platform text, reasons text)";

/// A group's posts on SQLite, in multi-row `INSERT`s ([`db::Conn::insert_first_row`]): the
/// statement's start, and one row.
const POSTS_INTO: &str = "INSERT INTO posts (id, number, discussion_id, participant_key, pseudonym, parent_number, \
     body, status, created_at, themes, sentiment, platform, reasons) VALUES ";
const POSTS_ROW: &str = "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";

/// The next post id SQLite would give (`AUTOINCREMENT`: above every id it ever gave).
const SQLITE_NEXT_POST_ID: &str = "MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'posts'), 0), \
     COALESCE((SELECT MAX(id) FROM posts), 0)) + 1";

/// The columns a new post is stored with, bound by [`bind_post`] as `$1` to `$11`.
const POST_COLUMNS: &str = "discussion_id, participant_key, pseudonym, parent_number, body, status, created_at, \
     themes, sentiment, platform, reasons";

/// Binds a new post's [`POST_COLUMNS`] as the next eleven parameters.
fn bind_post<'q>(q: db::Query<'q>, post: &'q NewPost<'_>) -> db::Query<'q> {
    q.bind(post.discussion.0)
        .bind(&post.participant.0)
        .bind(post.pseudonym)
        .bind(post.parent.map(|p| p.0))
        .bind(post.body)
        .bind(post.status.as_str())
        .bind(post.created_at)
        .bind(post.themes)
        .bind(post.sentiment)
        .bind(post.platform.as_str())
        .bind(post.reasons.unwrap_or(""))
}

/// The participant read ([`Tx::participant_on`]): on SQLite (`[0]`) the sender's row with
/// their address, current discussion, sanctions and pseudonym there; on PostgreSQL (`[1]`),
/// where each statement is a round trip, also their latest [`RECENT_POSTS`] post bodies,
/// newest first, and their survey invitations, oldest first, each as JSON text. `[2]`: the
/// PostgreSQL read for a group's senders at once ([`Tx::read_participants_of`]), each row
/// with the key and platform it was asked for (`wanted_key`, `wanted_platform`), storing
/// first those who have no row yet (`created`).
static PARTICIPANT_READ: std::sync::LazyLock<[String; 4]> = std::sync::LazyLock::new(|| {
    let more = format!(
        ", (SELECT CAST(COALESCE(json_agg(b.body ORDER BY b.id DESC), '[]') AS TEXT) FROM \
         (SELECT id, body FROM posts WHERE participant_key = p.key ORDER BY id DESC LIMIT {RECENT_POSTS}) b) AS recent, \
         (SELECT CAST(COALESCE(json_agg(json_build_object('survey_id', i.survey_id, 'discussion_id', i.discussion_id, \
           'started_at', i.started_at, 'stopped_at', i.stopped_at, 'completed_at', i.completed_at, \
           'next_question', i.next_question) ORDER BY i.invited_at, i.survey_id), '[]') AS TEXT) \
         FROM survey_invitations i WHERE i.participant_key = p.key) AS invitations, \
         CAST(COALESCE((SELECT 1 FROM posts h WHERE h.participant_key = p.key \
           AND h.discussion_id = p.current_discussion LIMIT 1), 0) AS BIGINT) AS posted_here"
    );
    // Their sealed address on the platform `platform` names.
    let address = |platform: &str| {
        format!("(SELECT c.sealed_address FROM contacts c WHERE c.participant_key = p.key AND c.platform = {platform})")
    };
    let read = |wanted: &str, more: &str, from: &str, sealed: &str, filter: &str| {
        format!(
            "SELECT {wanted}p.current_discussion, p.seen_notice, p.opted_out, \
             {sealed} AS sealed_address, \
             d.id, d.slug, d.title, d.prompt, d.status, d.premoderated, \
             s.muted_until, s.banned, ps.name AS pseudonym{more} \
             FROM {from} \
             LEFT JOIN discussions d ON d.id = p.current_discussion \
             LEFT JOIN sanctions s ON s.participant_key = p.key \
             LEFT JOIN pseudonyms ps ON ps.discussion_id = p.current_discussion AND ps.participant_key = p.key\
             {filter}"
        )
    };
    [
        read("", "", "participants p", &address("$2"), " WHERE p.key = $1"),
        read("", &more, "participants p", &address("$2"), " WHERE p.key = $1"),
        // Senders with no row yet and a new message (`sealed`, their address sealed, is not
        // NULL) are stored first, with their address, as `[3]` stores one (`$2`: now);
        // their rows come from `RETURNING`, marked `created`.
        format!(
            "WITH w AS MATERIALIZED (SELECT * FROM json_to_recordset(CAST($1 AS json)) \
               AS w(key text, platform text, sealed text)), \
             n AS (INSERT INTO participants (key, seen_notice, created_at) \
               SELECT w.key, 0, $2 FROM w WHERE w.sealed IS NOT NULL ON CONFLICT (key) DO NOTHING \
               RETURNING key, current_discussion, seen_notice, opted_out), \
             a AS (INSERT INTO contacts (participant_key, platform, sealed_address, updated_at) \
               SELECT n.key, w.platform, w.sealed, $2 FROM n JOIN w ON w.key = n.key \
               ON CONFLICT (participant_key, platform) DO UPDATE \
               SET sealed_address = EXCLUDED.sealed_address, updated_at = EXCLUDED.updated_at) \
             {} UNION ALL {}",
            read(
                "w.key AS wanted_key, w.platform AS wanted_platform, CAST(0 AS BIGINT) AS created, ",
                &more,
                // Each sender's row found by its key: the planner, which takes a function's
                // rows for 100 and a young table's statistics for what they were, would
                // otherwise scan every participant (`OFFSET 0` keeps the subquery apart).
                "w CROSS JOIN LATERAL (SELECT * FROM participants q WHERE q.key = w.key OFFSET 0) p",
                &address("w.platform"),
                "",
            ),
            read(
                "w.key AS wanted_key, w.platform AS wanted_platform, CAST(1 AS BIGINT) AS created, ",
                &more,
                "w JOIN n p ON p.key = w.key",
                "w.sealed",
                "",
            )
        ),
        // `[3]`: PostgreSQL's first contact, the row stored and read in one statement, with
        // their sealed address `$4` stored too unless it is NULL. The statement's reads do
        // not see what its `WITH` inserts, so the new row's columns come from `RETURNING`;
        // the rest (sanctions, which outlive a `!forget`, posts) is read as for anyone. No
        // row when the participant was there already.
        format!(
            "WITH n AS (INSERT INTO participants (key, seen_notice, created_at) VALUES ($1, 0, $3) \
             ON CONFLICT (key) DO NOTHING RETURNING key, current_discussion, seen_notice, opted_out), \
             a AS (INSERT INTO contacts (participant_key, platform, sealed_address, updated_at) \
             SELECT n.key, $2, $4, $3 FROM n WHERE $4 IS NOT NULL \
             ON CONFLICT (participant_key, platform) DO UPDATE SET sealed_address = $4, updated_at = $3) {}",
            read("", &more, "n p", &address("$2"), "")
        ),
    ]
});

impl Store {
    /// Connects (creating a SQLite file when needed) and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let lease_ms = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(outbox::LEASE_MS));
        let log_restart_frames = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(db::RESTART_FROM_FRAMES));
        if backend == Backend::Postgres {
            let pool = AnyPoolOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(AnyConnectOptions::from_str(url)?)
                .await?;
            sqlx::migrate!("migrations/postgres").run(&pool).await?;
            return Ok(Store {
                writer: Writer::Pool(pool.clone()),
                read_pool: Some(pool),
                backend,
                lease_ms,
                log_restart_frames,
                sqlite_file: None,
                analyzing: Default::default(),
            });
        }
        if is_memory(url) {
            // One database per connection: the writer is all there is, so it is migrated
            // here, statement by statement (nothing outlives the process to be upgraded).
            let conn = db::open_writer(None)?;
            for migration in sqlx::migrate!("migrations/sqlite").iter() {
                if !migration.migration_type.is_down_migration() {
                    conn.execute_batch(migration.sql.as_str())?;
                }
            }
            return Ok(Store {
                writer: Writer::Direct(std::sync::Arc::new(tokio::sync::Mutex::new(conn))),
                read_pool: None,
                backend,
                lease_ms,
                log_restart_frames,
                sqlite_file: None,
                analyzing: Default::default(),
            });
        }
        // Create the file on first use.
        let url = if url.contains("mode=") {
            url.to_string()
        } else if url.contains('?') {
            format!("{url}&mode=rwc")
        } else {
            format!("{url}?mode=rwc")
        };
        // sqlx applies the migrations (and keeps their record in the file), on a connection
        // of its own that is closed again before the writer opens.
        {
            let migrate = AnyPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(AnyConnectOptions::from_str(&url)?)
                .await?;
            let done = sqlx::migrate!("migrations/sqlite").run(&migrate).await;
            migrate.close().await;
            done?;
        }
        let path = sqlx::sqlite::SqliteConnectOptions::from_str(&url)?.get_filename().to_path_buf();
        let writer = db::open_writer(Some(&path))?;
        let read_url = url.replace("mode=rwc", "mode=ro");
        let read_pool = AnyPoolOptions::new()
            .max_connections(4)
            .min_connections(0)
            .acquire_timeout(Duration::from_secs(30))
            .connect_lazy_with(AnyConnectOptions::from_str(&read_url)?);
        // Scans read the file directly only where that opens it as sqlx does: a plain path
        // (the `mode` parameter aside). Other URL parameters (`vfs`, `immutable`, …) keep
        // every read on sqlx.
        let plain = url.split_once('?').is_none_or(|(_, query)| query.split('&').all(|p| p.starts_with("mode=")));
        let sqlite_file = plain.then(|| std::sync::Arc::from(path.as_path()));
        let writer = std::sync::Arc::new(tokio::sync::Mutex::new(writer));
        db::checkpoints(&path, std::sync::Arc::downgrade(&writer), log_restart_frames.clone())?;
        Ok(Store {
            writer: Writer::Direct(writer),
            read_pool: Some(read_pool),
            backend,
            lease_ms,
            log_restart_frames,
            sqlite_file,
            analyzing: Default::default(),
        })
    }

    /// How long a delivery handed out stays reserved for the adapter that took it (default
    /// [`chat::DELIVERY_LEASE`]). Shorter only for adapters that finish a batch at once (the
    /// bench's null adapter), so that rows a killed process held are taken over sooner.
    pub fn set_delivery_lease(&self, lease: Duration) {
        self.lease_ms.store(lease.as_millis().max(1) as i64, std::sync::atomic::Ordering::Relaxed);
    }

    /// Frames (pages) in a SQLite file's write-ahead log from which the checkpointer holds
    /// the writer up for a moment so that the log starts again from its beginning (default
    /// 65,536, 256 MiB; smaller only in tests, to see that happen without writing that much).
    #[doc(hidden)]
    pub fn set_log_restart_frames(&self, frames: i64) {
        self.log_restart_frames.store(frames.max(1), std::sync::atomic::Ordering::Relaxed);
    }

    /// SQLite's journal mode and synchronous level in effect (`None` on PostgreSQL).
    pub async fn sqlite_settings(&self) -> Result<Option<(String, i64)>> {
        if self.backend != Backend::Sqlite {
            return Ok(None);
        }
        let mut conn = self.conn().await?;
        let mode: String = query("PRAGMA journal_mode").fetch_one(&mut conn).await?.try_get(0)?;
        let sync: i64 = query("PRAGMA synchronous").fetch_one(&mut conn).await?.try_get(0)?;
        Ok(Some((mode, sync)))
    }

    /// Sets SQLite's synchronous level on the writer connection (the bench compares NORMAL
    /// with parley's FULL; parley itself never lowers it).
    pub async fn set_sqlite_synchronous(&self, level: &str) -> Result<()> {
        if self.backend == Backend::Sqlite {
            let level = if level.eq_ignore_ascii_case("normal") { "NORMAL" } else { "FULL" };
            query(format!("PRAGMA synchronous = {level}")).execute(&mut self.conn().await?).await?;
        }
        Ok(())
    }

    /// Gathers the query planner's statistics again for the tables that changed by at
    /// least as many rows as they had when these were last gathered (a table that doubled),
    /// and by [`ANALYZE_AFTER_CHANGES`], at most once in 5 seconds (a table whose rows are
    /// changed over and over, like the outbox's, would be analysed at every call)
    /// (PostgreSQL; nothing on SQLite, whose statements
    /// here do not depend on statistics); returns their names. PostgreSQL's autovacuum does
    /// the same, but looks once a minute, with thresholds made for large tables: a new
    /// database filling under a burst (a consultation's first hour) was planned as if
    /// empty all that time, with whole-table scans where an index finds one row.
    pub async fn analyze_changed(&self) -> Result<Vec<String>> {
        if self.backend != Backend::Postgres {
            return Ok(Vec::new());
        }
        let mut conn = self.conn().await?;
        let rows = query(
            "SELECT CAST(relname AS TEXT) AS relname, format('%I.%I', schemaname, relname) AS target \
             FROM pg_stat_user_tables \
             WHERE schemaname = current_schema() AND n_mod_since_analyze > $1 \
             AND n_mod_since_analyze * 2 >= n_live_tup \
             AND COALESCE(GREATEST(last_analyze, last_autoanalyze), TIMESTAMPTZ 'epoch') < now() - INTERVAL '5 seconds' \
             ORDER BY relname",
        )
        .bind(ANALYZE_AFTER_CHANGES)
        .fetch_all(&mut conn)
        .await?;
        let mut analysed = Vec::with_capacity(rows.len());
        for row in rows {
            // Named with its schema, as PostgreSQL quotes it.
            let target: String = row.try_get("target")?;
            query(format!("ANALYZE {target}")).execute(&mut conn).await?;
            analysed.push(row.try_get("relname")?);
        }
        Ok(analysed)
    }

    /// [`Store::analyze_changed`] on a task of its own (it takes no lock that writers
    /// wait for), unless one is running already; failures are logged.
    pub fn analyze_changed_soon(&self) {
        if self.backend != Backend::Postgres || self.analyzing.swap(true, std::sync::atomic::Ordering::AcqRel) {
            return;
        }
        /// Lets the next run start when this one ends, however it ends.
        struct Done(std::sync::Arc<std::sync::atomic::AtomicBool>);
        impl Drop for Done {
            fn drop(&mut self) {
                self.0.store(false, std::sync::atomic::Ordering::Release);
            }
        }
        let store = self.clone();
        tokio::spawn(async move {
            let _done = Done(store.analyzing.clone());
            match store.analyze_changed().await {
                Ok(tables) if !tables.is_empty() => tracing::debug!(?tables, "gathered the planner's statistics again"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "gathering the planner's statistics failed"),
            }
        });
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The most inbound messages one group commit stores. On SQLite, as many as an adapter
    /// hands over ([`chat::MAX_INBOUND_BATCH`]): there a larger group writes fewer pages a
    /// message. On PostgreSQL, [`POSTGRES_GROUP_COMMIT`].
    pub fn group_commit_limit(&self) -> usize {
        match self.backend {
            Backend::Sqlite => chat::MAX_INBOUND_BATCH,
            Backend::Postgres => POSTGRES_GROUP_COMMIT,
        }
    }

    /// A connection for one statement or a few, outside a transaction: on SQLite the writer
    /// (waiting for the engine's transaction to finish).
    async fn conn(&self) -> Result<Conn> {
        Ok(match &self.writer {
            Writer::Pool(pool) => Conn::pooled(pool.acquire().await?),
            Writer::Direct(writer) => Conn::direct(db::Direct::new(writer.clone().lock_owned().await, None)?),
        })
    }

    /// A write transaction without the fleet lock (deliveries' bookkeeping).
    async fn begin_plain(&self) -> Result<Conn> {
        self.begin_journal(Journal::Memory).await
    }

    /// A write transaction without the fleet lock, its statement journal (SQLite) where
    /// `journal` says.
    async fn begin_journal(&self, journal: Journal) -> Result<Conn> {
        Ok(match &self.writer {
            Writer::Pool(pool) => Conn::tx(pool.begin().await?),
            // IMMEDIATE: the write lock is taken at once, so a transaction that reads first
            // never fails on finding that a reader's snapshot went stale. The journal's
            // place is set before each transaction: SQLite reads it when one begins.
            Writer::Direct(writer) => {
                let begin = match journal {
                    Journal::Memory => "PRAGMA temp_store = MEMORY; BEGIN IMMEDIATE",
                    Journal::Spilling => "PRAGMA temp_store = FILE; BEGIN IMMEDIATE",
                };
                Conn::direct(db::Direct::new(writer.clone().lock_owned().await, Some(begin))?)
            }
        })
    }

    /// Starts a transaction for the engine's writes. On PostgreSQL it first takes the
    /// fleet-wide writer lock (a transaction-scoped advisory lock), so that the transactions
    /// of several parley processes sharing the database run one after another: each
    /// discussion's gapless `#N` counter serialises them anyway, and taking one lock first
    /// means they can never deadlock on rows locked in different orders. SQLite has a single
    /// writer already.
    pub async fn begin(&self) -> Result<Tx> {
        self.begin_locked(Journal::Memory, false).await
    }

    /// [`Store::begin`] for the engine's group commits, with the statement journal where
    /// `journal` says: a transaction that may change a great many pages within one
    /// savepoint (a `!forget` of someone with thousands of posts) keeps only its first
    /// 64 KiB of them in memory. On PostgreSQL its statements are planned once for any
    /// parameters, not again at each run: PostgreSQL chose to plan a group's senders' read
    /// afresh every time (about 1 ms, and 2 since it stores new senders). A plan made once
    /// is made again when `ANALYZE` changes the statistics (`Store::analyze_changed`), so a
    /// young database is not held to its first one; other transactions (pages of a push,
    /// prunes by time) keep plans made for their parameters.
    pub async fn begin_with(&self, journal: Journal) -> Result<Tx> {
        self.begin_locked(journal, true).await
    }

    async fn begin_locked(&self, journal: Journal, plan_once: bool) -> Result<Tx> {
        let mut conn = self.begin_journal(journal).await?;
        if self.backend == Backend::Postgres {
            // The setting, local to the transaction, in the lock's round trip.
            let sql = if plan_once {
                "SELECT 1 FROM pg_advisory_xact_lock($1), set_config('plan_cache_mode', 'force_generic_plan', true)"
            } else {
                "SELECT 1 FROM pg_advisory_xact_lock($1)"
            };
            query(sql).bind(WRITER_LOCK).execute(&mut conn).await?;
        }
        Ok(Tx {
            conn,
            scan_file: None,
            known: Default::default(),
            limiter: None,
            prefetched: Default::default(),
            invited_later: Default::default(),
            numbers: None,
            posts_later: None,
            discussions: Vec::new(),
        })
    }

    /// Starts a transaction for reading only, on a connection of its own where the
    /// database allows it, so that long reads do not hold up writes.
    pub async fn begin_read(&self) -> Result<Tx> {
        let conn = match (&self.read_pool, &self.writer) {
            (Some(pool), _) => Conn::tx(pool.begin().await?),
            (None, Writer::Direct(writer)) => {
                Conn::direct(db::Direct::new(writer.clone().lock_owned().await, Some("BEGIN"))?)
            }
            (None, Writer::Pool(pool)) => Conn::tx(pool.begin().await?),
        };
        Ok(Tx {
            conn,
            scan_file: self.sqlite_file.clone(),
            known: Default::default(),
            limiter: None,
            prefetched: Default::default(),
            invited_later: Default::default(),
            numbers: None,
            posts_later: None,
            discussions: Vec::new(),
        })
    }

    /// A read transaction whose every read is a SQL query, even on a SQLite file, where
    /// [`Store::begin_read`] scans the file directly (the bench's baseline: on a file these
    /// queries run through sqlx).
    pub async fn begin_read_queries(&self) -> Result<Tx> {
        let mut tx = self.begin_read().await?;
        tx.scan_file = None;
        Ok(tx)
    }

    /// Closes every connection. On a SQLite file the write-ahead log is first copied into
    /// the database file and emptied, so that the file alone holds everything (a copy of
    /// `parley.db` made after parley stops is complete).
    pub async fn close(&self) {
        if let Some(pool) = &self.read_pool {
            pool.close().await;
        }
        match &self.writer {
            Writer::Pool(pool) => pool.close().await,
            // A file (a database in memory has no read connections, and nothing to copy).
            Writer::Direct(writer) if self.read_pool.is_some() => {
                let writer = writer.lock().await;
                if let Err(e) = writer.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())) {
                    tracing::warn!(error = %e, "copying SQLite's write-ahead log into the database on closing failed");
                }
            }
            Writer::Direct(_) => {}
        }
    }
}

impl Tx {
    /// Makes the transaction's changes permanent.
    pub async fn commit(mut self) -> Result<()> {
        self.write_limits().await?;
        self.write_post_numbers().await?;
        self.conn.commit().await
    }

    /// From now on, and until the transaction ends or sets a savepoint, counts the
    /// discussions' next `#N` in memory: each discussion's is read once and written back at
    /// commit, instead of an `UPDATE` a post. Only for a group stored without savepoints (a
    /// savepoint rolled back would not take a number back), and only while this is the one
    /// writer (SQLite's `BEGIN IMMEDIATE`; on PostgreSQL the fleet's lock, which every
    /// write transaction takes first).
    ///
    /// The group's posts are then also queued, with ids counted on from the next the
    /// database would give (on PostgreSQL the sequence's, set to the last at commit; on
    /// SQLite `AUTOINCREMENT`'s, which follows the rows), and written together (in one
    /// statement on PostgreSQL, in multi-row `INSERT`s on SQLite) before the first
    /// statement that could see them ([`Tx::insert_next_post`]).
    pub fn hold_post_numbers(&mut self) {
        if self.numbers.is_some() {
            return;
        }
        self.numbers = Some(Default::default());
        self.posts_later = Some(PostsLater::default());
    }

    /// Whether a read of `key`'s posts could see a post queued by [`Tx::insert_next_post`]
    /// (`false`: it need not write them first).
    fn may_see_queued_posts(&self, key: &ParticipantKey) -> bool {
        self.posts_later.as_ref().is_none_or(|later| later.authors.contains(key))
    }

    /// Writes back the numbers held by [`Tx::hold_post_numbers`] (and holds them no more).
    async fn write_post_numbers(&mut self) -> Result<()> {
        // Ids after the first were counted here, not taken from the sequence.
        let last_id = match self.posts_later.take() {
            Some(PostsLater { ids: Some((next, first)), .. }) if next - 1 > first => Some(next - 1),
            _ => None,
        };
        if self.conn.is_postgres() {
            // One round trip for the sequence and every discussion's counter.
            let numbers: Vec<serde_json::Value> = self
                .numbers
                .take()
                .unwrap_or_default()
                .into_iter()
                .map(|(discussion, next)| serde_json::json!({ "id": discussion.0, "next": next }))
                .collect();
            if last_id.is_some() || !numbers.is_empty() {
                query(
                    "WITH u AS (UPDATE discussions d SET next_number = v.next \
                     FROM json_to_recordset(CAST($1 AS json)) AS v(id bigint, next bigint) WHERE d.id = v.id) \
                     SELECT CASE WHEN $2 IS NULL THEN 0 ELSE setval(pg_get_serial_sequence('posts', 'id'), $2) END",
                )
                .bind(serde_json::Value::Array(numbers).to_string())
                .bind(last_id)
                .unseen_queued()
                .fetch_one(&mut self.conn)
                .await?;
            }
            return Ok(());
        }
        let Some(numbers) = self.numbers.take() else { return Ok(()) };
        for (discussion, next) in numbers {
            query("UPDATE discussions SET next_number = $1 WHERE id = $2")
                .bind(next)
                .bind(discussion.0)
                .execute(&mut self.conn)
                .await?;
        }
        Ok(())
    }

    /// Marks where one message's changes start inside a group commit.
    pub async fn savepoint(&mut self) -> Result<()> {
        self.known.forget();
        self.write_limits().await?;
        self.write_post_numbers().await?;
        query("SAVEPOINT message").execute(&mut self.conn).await?;
        Ok(())
    }

    /// Keeps the changes since [`Tx::savepoint`] (they commit with the transaction).
    pub async fn release(&mut self) -> Result<()> {
        self.known.forget();
        query("RELEASE SAVEPOINT message").execute(&mut self.conn).await?;
        Ok(())
    }

    /// Starts the next message of a group commit that sets no savepoints: only what is
    /// known of the last message's sender is forgotten.
    pub fn next_message(&mut self) {
        self.known.forget();
    }

    /// Keeps the changes since [`Tx::savepoint`] and sets a new savepoint, in one round
    /// trip on PostgreSQL: the next message of a group commit begins where the last ended.
    pub async fn next_savepoint(&mut self) -> Result<()> {
        self.known.forget();
        self.write_limits().await?;
        self.write_post_numbers().await?;
        db::run_script(&mut self.conn, &["RELEASE SAVEPOINT message", "SAVEPOINT message"]).await
    }

    /// Undoes the changes since [`Tx::savepoint`], which stays set, and leaves the
    /// transaction usable (on PostgreSQL too, after a failed statement).
    pub async fn undo_to_savepoint(&mut self) -> Result<()> {
        self.known.forget();
        self.discussions.clear();
        self.conn.discard_later();
        // Read after the savepoint (not by the engine, which reads them only without one):
        // what they changed is rolled back, and they are read again when needed.
        self.limiter = None;
        query("ROLLBACK TO SAVEPOINT message").execute(&mut self.conn).await?;
        Ok(())
    }

    /// Undoes the changes since [`Tx::savepoint`] and leaves the transaction usable (on
    /// PostgreSQL too, after a failed statement).
    pub async fn rollback_to_savepoint(&mut self) -> Result<()> {
        self.known.forget();
        self.discussions.clear();
        self.conn.discard_later();
        // Read after the savepoint (not by the engine, which reads them only without one):
        // what they changed is rolled back, and they are read again when needed.
        self.limiter = None;
        query("ROLLBACK TO SAVEPOINT message").execute(&mut self.conn).await?;
        query("RELEASE SAVEPOINT message").execute(&mut self.conn).await?;
        Ok(())
    }

    /// Records an inbound event; `false` when it was seen before (a duplicate).
    pub async fn record_inbound(&mut self, platform: chat::Platform, event_id: &str, now: i64) -> Result<bool> {
        let done = query(
            "INSERT INTO inbound_events (platform, event_id, received_at) VALUES ($1, $2, $3) \
             ON CONFLICT (platform, event_id) DO NOTHING",
        )
        .bind(platform.as_str())
        .bind(event_id)
        .bind(now)
        .execute(&mut self.conn)
        .await?;
        Ok(done == 1)
    }

    /// Records a group's inbound events, in one statement on PostgreSQL (on SQLite in
    /// many-row `INSERT`s of up to 64); for each, whether it is new. Of several with the
    /// same id, the first is.
    pub async fn record_inbound_many(&mut self, events: &[(chat::Platform, &str)], now: i64) -> Result<Vec<bool>> {
        let rows = if self.conn.is_postgres() {
            self.record_inbound_json(events, now).await?
        } else {
            let rows = events
                .iter()
                .map(|&(platform, event_id)| {
                    vec![
                        db::Arg::Text(Some(platform.as_str().into())),
                        db::Arg::Text(Some(event_id.into())),
                        db::Arg::Int(Some(now)),
                    ]
                })
                .collect();
            db::insert_many(
                &mut self.conn,
                "INSERT INTO inbound_events (platform, event_id, received_at) VALUES ",
                "($1, $2, $3)",
                " ON CONFLICT (platform, event_id) DO NOTHING RETURNING platform, event_id",
                rows,
            )
            .await?
        };
        let mut inserted = std::collections::HashSet::with_capacity(rows.len());
        for row in rows {
            inserted.insert((row.try_get::<String, _>("platform")?, row.try_get::<String, _>("event_id")?));
        }
        Ok(events
            .iter()
            .map(|(platform, event_id)| inserted.remove(&(platform.as_str().to_string(), event_id.to_string())))
            .collect())
    }

    /// PostgreSQL's [`Tx::record_inbound_many`]: the events as one JSON parameter.
    async fn record_inbound_json(&mut self, events: &[(chat::Platform, &str)], now: i64) -> Result<Vec<db::DbRow>> {
        let list: Vec<serde_json::Value> = events
            .iter()
            .map(|(platform, event_id)| serde_json::json!({ "platform": platform.as_str(), "event_id": event_id }))
            .collect();
        query(
            "INSERT INTO inbound_events (platform, event_id, received_at) \
             SELECT e.platform, e.event_id, $2 FROM json_to_recordset(CAST($1 AS json)) AS e(platform text, event_id text) \
             ON CONFLICT (platform, event_id) DO NOTHING RETURNING platform, event_id",
        )
        .bind(serde_json::Value::Array(list).to_string())
        .bind(now)
        .fetch_all(&mut self.conn)
        .await
    }

    // ----- discussions -----

    /// A discussion by slug.
    pub async fn discussion_by_slug(&mut self, slug: &str) -> Result<Option<Discussion>> {
        if let Some(kept) = self.discussions.iter().find(|d| d.slug == slug) {
            return Ok(Some(kept.clone()));
        }
        let row = query(format!("SELECT {} FROM discussions WHERE slug = $1", Discussion::COLUMNS))
            .bind(slug)
            .fetch_optional(&mut self.conn)
            .await?;
        let found = row.map(|r| Discussion::from_row(&r)).transpose()?;
        if let Some(d) = &found {
            self.keep_discussion(d);
        }
        Ok(found)
    }

    /// A discussion by id.
    pub async fn discussion(&mut self, id: DiscussionId) -> Result<Option<Discussion>> {
        if let Some(known) = self.known.discussion(id) {
            return Ok(Some(known));
        }
        if let Some(kept) = self.discussions.iter().find(|d| d.id == id) {
            return Ok(Some(kept.clone()));
        }
        let row = query(format!("SELECT {} FROM discussions WHERE id = $1", Discussion::COLUMNS))
            .bind(id.0)
            .fetch_optional(&mut self.conn)
            .await?;
        let found = row.map(|r| Discussion::from_row(&r)).transpose()?;
        if let Some(d) = &found {
            self.keep_discussion(d);
        }
        Ok(found)
    }

    /// Keeps a discussion row read in this transaction (the field `discussions`).
    fn keep_discussion(&mut self, d: &Discussion) {
        if let Some(kept) = self.discussions.iter_mut().find(|kept| kept.id == d.id) {
            *kept = d.clone();
        } else if self.discussions.len() < DISCUSSIONS_KEPT {
            self.discussions.push(d.clone());
        }
    }

    /// Forgets the discussion rows kept, and the one known: one of them is being written.
    fn forget_discussions(&mut self) {
        self.known.discussion = None;
        self.discussions.clear();
    }

    /// All discussions, or only the open ones, oldest first.
    pub async fn discussions(&mut self, open_only: bool) -> Result<Vec<Discussion>> {
        let filter = if open_only { "WHERE status = 'open'" } else { "" };
        let rows = query(format!("SELECT {} FROM discussions {filter} ORDER BY id", Discussion::COLUMNS))
            .fetch_all(&mut self.conn)
            .await?;
        rows.iter().map(Discussion::from_row).collect()
    }

    /// Creates an open discussion; returns `None` when the slug exists.
    pub async fn insert_discussion(
        &mut self,
        slug: &str,
        title: &str,
        prompt: &str,
        now: i64,
    ) -> Result<Option<Discussion>> {
        self.forget_discussions();
        let row = query(format!(
            "INSERT INTO discussions (slug, title, prompt, status, next_number, created_at) \
             VALUES ($1, $2, $3, 'open', 1, $4) ON CONFLICT (slug) DO NOTHING RETURNING {}",
            Discussion::COLUMNS
        ))
        .bind(slug)
        .bind(title)
        .bind(prompt)
        .bind(now)
        .fetch_optional(&mut self.conn)
        .await?;
        row.map(|r| Discussion::from_row(&r)).transpose()
    }

    /// Opens or closes a discussion.
    pub async fn set_discussion_status(&mut self, id: DiscussionId, status: DiscussionStatus) -> Result<()> {
        self.forget_discussions();
        query("UPDATE discussions SET status = $1 WHERE id = $2")
            .bind(status.as_str())
            .bind(id.0)
            .execute(&mut self.conn)
            .await?;
        Ok(())
    }

    /// Updates title and prompt (when a closed discussion is opened again).
    pub async fn set_discussion_text(&mut self, id: DiscussionId, title: &str, prompt: &str) -> Result<()> {
        self.forget_discussions();
        query("UPDATE discussions SET title = $1, prompt = $2 WHERE id = $3")
            .bind(title)
            .bind(prompt)
            .bind(id.0)
            .execute(&mut self.conn)
            .await?;
        Ok(())
    }

    // ----- participants -----

    /// A participant, creating the row on first contact.
    pub async fn participant(&mut self, key: &ParticipantKey, now: i64) -> Result<Participant> {
        Ok(self.participant_on(key, chat::Platform::Console, now).await?.0)
    }

    /// A participant, creating the row on first contact, with their sealed DM address on
    /// `platform` when one is stored.
    pub async fn participant_on(
        &mut self,
        key: &ParticipantKey,
        platform: chat::Platform,
        now: i64,
    ) -> Result<(Participant, Option<String>)> {
        let (participant, stored, _) = self.participant_sealed(key, platform, now, None).await?;
        Ok((participant, stored))
    }

    /// [`Tx::participant_on`], given their DM address on `platform` as just `sealed`: on
    /// PostgreSQL a first contact stores it in the same statement as the new participant
    /// row, and then the third value is `true` (the caller need not compare or store it).
    pub async fn participant_sealed(
        &mut self,
        key: &ParticipantKey,
        platform: chat::Platform,
        now: i64,
        sealed: Option<&str>,
    ) -> Result<(Participant, Option<String>, bool)> {
        let mut saved = false;
        // Read first: someone who has written before (the usual case) costs one statement,
        // which also reads what the message is likely to ask next (`known`); none when the
        // group's senders were read at once.
        let postgres = self.conn.is_postgres();
        let read = &PARTICIPANT_READ[usize::from(postgres)];
        // Their posts and invitations are read too (PostgreSQL): none of a group's queued
        // posts and invitations are theirs unless they posted or were invited in it.
        let unseen = !self.may_see_queued_posts(key) && !self.invited_later.contains(key);
        let found = match self.prefetched.remove(key) {
            Some(Prefetched { platform: read_for, row, created }) if read_for == platform => {
                // Stored by the group's read, with the address its message came from.
                saved = created.is_some() && created.as_deref() == sealed;
                row
            }
            _ => {
                query(read.as_str())
                    .bind(&key.0)
                    .bind(platform.as_str())
                    .unseen_queued_if(unseen)
                    .fetch_optional(&mut self.conn)
                    .await?
            }
        };
        let row = match found {
            Some(row) => row,
            // On PostgreSQL one round trip stores and reads a new participant; when someone
            // stored them meanwhile, they are read as usual.
            None if postgres => match query(PARTICIPANT_READ[3].as_str())
                .bind(&key.0)
                .bind(platform.as_str())
                .bind(now)
                .bind(sealed)
                .unseen_queued_if(unseen)
                .fetch_optional(&mut self.conn)
                .await?
            {
                Some(row) => {
                    saved = sealed.is_some();
                    row
                }
                None => query(read.as_str()).bind(&key.0).bind(platform.as_str()).fetch_one(&mut self.conn).await?,
            },
            None => {
                query(
                    "INSERT INTO participants (key, seen_notice, created_at) VALUES ($1, 0, $2) \
                     ON CONFLICT (key) DO NOTHING",
                )
                .bind(&key.0)
                .bind(now)
                .execute(&mut self.conn)
                .await?;
                query(read.as_str()).bind(&key.0).bind(platform.as_str()).fetch_one(&mut self.conn).await?
            }
        };
        let participant = Participant {
            key: key.clone(),
            current_discussion: row.try_get::<Option<i64>, _>("current_discussion")?.map(DiscussionId),
            seen_notice: row.try_get::<i64, _>("seen_notice")? != 0,
        };
        let posted_now = self.known.posted_now.take();
        self.known.forget();
        self.known.posted_now = posted_now;
        self.known.sanctions = Some((key.clone(), Sanctions::from_row(&row)?));
        self.known.opted_out = Some((key.clone(), row.try_get::<i64, _>("opted_out")? != 0));
        if let Some(current) = participant.current_discussion {
            if row.try_get::<Option<i64>, _>("id")?.is_some() {
                self.known.discussion = Some(Discussion::from_row(&row)?);
            }
            self.known.pseudonym = Some((current, key.clone(), row.try_get::<Option<String>, _>("pseudonym")?));
        }
        if postgres {
            self.known.recent = Some((key.clone(), known::recent_from_json(&row.try_get::<String, _>("recent")?)?));
            self.known.invitations =
                Some((key.clone(), known::invitations_from_json(&row.try_get::<String, _>("invitations")?)?));
            if let Some(current) = participant.current_discussion {
                if self.known.posted_now.as_ref().is_none_or(|(d, k)| *d != current || k != key) {
                    let before = row.try_get::<i64, _>("posted_here")? != 0;
                    self.known.posted_before = Some((current, key.clone(), before));
                }
            }
        }
        Ok((participant, row.try_get::<Option<String>, _>("sealed_address")?, saved))
    }

    /// Reads the participant rows of a group's senders (`key`, the platform they write on)
    /// in one statement, for [`Tx::participant_on`] to take instead of reading each
    /// (PostgreSQL, where each statement is a round trip; nothing on SQLite). A sender's
    /// read is taken once, by their first message: a second one from them (on any
    /// platform) reads again what the first changed.
    ///
    /// Sound only while nothing else in the transaction writes a sender's rows: every write
    /// transaction holds the fleet's lock, so no other one commits meanwhile, and a
    /// participant's message writes only their own; the engine calls
    /// [`Tx::forget_participants_read`] before any other message.
    ///
    /// A sender given with their address sealed (`Some`), whose message is new, is stored
    /// as their message's [`Tx::participant_sealed`] would store them, when they have no
    /// row yet: in the same statement, not one each. The caller gives only senders whose
    /// messages come before any other (a staff message could see the rows).
    pub async fn read_participants_of(
        &mut self,
        senders: &[(ParticipantKey, chat::Platform, Option<String>)],
        now: i64,
    ) -> Result<()> {
        self.prefetched.clear();
        if !self.conn.is_postgres() || senders.is_empty() {
            return Ok(());
        }
        // A sender's first message takes the read; the rest read again (on any platform:
        // the first may have changed their rows).
        let mut wanted: Vec<serde_json::Value> = Vec::with_capacity(senders.len());
        for (key, platform, sealed) in senders {
            if let std::collections::hash_map::Entry::Vacant(first) = self.prefetched.entry(key.clone()) {
                first.insert(Prefetched { platform: *platform, row: None, created: None });
                wanted.push(serde_json::json!({ "key": key.0, "platform": platform.as_str(), "sealed": sealed }));
            }
        }
        let rows = query(PARTICIPANT_READ[2].as_str())
            .bind(serde_json::Value::Array(wanted).to_string())
            .bind(now)
            .fetch_all(&mut self.conn)
            .await?;
        for row in rows {
            let key = ParticipantKey(row.try_get::<String, _>("wanted_key")?);
            let created = row.try_get::<i64, _>("created")? != 0;
            if let Some(first) = self.prefetched.get_mut(&key) {
                if created {
                    first.created = row.try_get::<Option<String>, _>("sealed_address")?;
                }
                first.row = Some(row);
            }
        }
        Ok(())
    }

    /// Forgets the participant reads of [`Tx::read_participants_of`] not taken yet.
    pub fn forget_participants_read(&mut self) {
        self.prefetched.clear();
    }

    /// Sets the participant's current discussion and marks the privacy notice as seen.
    pub async fn join(&mut self, key: &ParticipantKey, discussion: DiscussionId) -> Result<()> {
        query("UPDATE participants SET current_discussion = $1, seen_notice = 1 WHERE key = $2")
            .bind(discussion.0)
            .bind(&key.0)
            .execute(&mut self.conn)
            .await?;
        Ok(())
    }

    /// Stores (or replaces) the sealed DM address of a participant on a platform.
    pub async fn save_contact(
        &mut self,
        key: &ParticipantKey,
        platform: chat::Platform,
        sealed: &str,
        now: i64,
    ) -> Result<()> {
        query(
            "INSERT INTO contacts (participant_key, platform, sealed_address, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (participant_key, platform) DO UPDATE SET sealed_address = $3, updated_at = $4",
        )
        .bind(&key.0)
        .bind(platform.as_str())
        .bind(sealed)
        .bind(now)
        .execute(&mut self.conn)
        .await?;
        Ok(())
    }

    /// The sealed DM address of a participant on a platform.
    pub async fn contact(&mut self, key: &ParticipantKey, platform: chat::Platform) -> Result<Option<String>> {
        let row = query("SELECT sealed_address FROM contacts WHERE participant_key = $1 AND platform = $2")
            .bind(&key.0)
            .bind(platform.as_str())
            .fetch_optional(&mut self.conn)
            .await?;
        row.map(|r| r.try_get::<String, _>(0)).transpose()
    }

    /// The `!forget` erasure: contact details gone, posts and pseudonyms detached from the
    /// key, participant row deleted, survey answers and invitations deleted. Returns how many posts were detached.
    pub async fn forget(&mut self, key: &ParticipantKey) -> Result<u64> {
        self.known.forget();
        query("DELETE FROM contacts WHERE participant_key = $1").bind(&key.0).execute(&mut self.conn).await?;
        let posts = query("UPDATE posts SET participant_key = NULL WHERE participant_key = $1")
            .bind(&key.0)
            .execute(&mut self.conn)
            .await?;
        query("UPDATE pseudonyms SET participant_key = NULL WHERE participant_key = $1")
            .bind(&key.0)
            .execute(&mut self.conn)
            .await?;
        // Their reports stay for the moderators, each under a fresh random reporter, so they
        // no longer lead to the participant (nor to each other).
        let reported =
            query("SELECT post_id FROM reports WHERE reporter_key = $1").bind(&key.0).fetch_all(&mut self.conn).await?;
        for row in reported {
            let post: i64 = row.try_get("post_id")?;
            query("UPDATE reports SET reporter_key = $1 WHERE post_id = $2 AND reporter_key = $3")
                .bind(format!("forgotten:{}", hex::encode(rand::random::<[u8; 16]>())))
                .bind(post)
                .bind(&key.0)
                .execute(&mut self.conn)
                .await?;
        }
        query("DELETE FROM participants WHERE key = $1").bind(&key.0).execute(&mut self.conn).await?;
        self.forget_surveys(key).await?;
        Ok(posts)
    }

    // ----- pseudonyms -----

    /// The participant's pseudonym in a discussion, if one was assigned.
    pub async fn pseudonym(&mut self, discussion: DiscussionId, key: &ParticipantKey) -> Result<Option<String>> {
        if let Some(known) = self.known.pseudonym(discussion, key) {
            return Ok(known);
        }
        let row = query("SELECT name FROM pseudonyms WHERE discussion_id = $1 AND participant_key = $2")
            .bind(discussion.0)
            .bind(&key.0)
            .fetch_optional(&mut self.conn)
            .await?;
        row.map(|r| r.try_get::<String, _>(0)).transpose()
    }

    /// The participant's pseudonym in a discussion, or, when none was assigned, `own()`
    /// claimed for them; `None` when someone else holds `own()` already. On PostgreSQL
    /// one statement where [`Tx::pseudonym`] and [`Tx::claim_pseudonym`] are two round
    /// trips.
    pub async fn pseudonym_or_claim(
        &mut self,
        discussion: DiscussionId,
        key: &ParticipantKey,
        own: impl FnOnce() -> String,
        now: i64,
    ) -> Result<Option<String>> {
        if !self.conn.is_postgres() || self.known.pseudonym(discussion, key).is_some() {
            if let Some(name) = self.pseudonym(discussion, key).await? {
                return Ok(Some(name));
            }
            let own = own();
            return Ok(self.claim_pseudonym(discussion, &own, key, now).await?.then_some(own));
        }
        static SQL: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| format!("{HELD_OR_CLAIMED} SELECT name FROM named"));
        self.held_or_claimed(&SQL, discussion, key, own(), now).await
    }

    /// Runs a statement that starts with [`HELD_OR_CLAIMED`] and returns `named`.
    async fn held_or_claimed(
        &mut self,
        sql: &'static str,
        discussion: DiscussionId,
        key: &ParticipantKey,
        own: String,
        now: i64,
    ) -> Result<Option<String>> {
        self.known.pseudonym = None;
        let row = query(sql).bind(discussion.0).bind(own).bind(&key.0).bind(now).fetch_optional(&mut self.conn).await?;
        row.map(|r| r.try_get::<String, _>(0)).transpose()
    }

    /// `!join`: makes `discussion` the participant's current one, marks the privacy notice as
    /// seen and gives their pseudonym there, as [`Tx::pseudonym_or_claim`] does; when that
    /// is `None` (`own()` is someone else's) they have not joined. One statement on
    /// PostgreSQL.
    pub async fn join_named(
        &mut self,
        key: &ParticipantKey,
        discussion: DiscussionId,
        own: impl FnOnce() -> String,
        now: i64,
    ) -> Result<Option<String>> {
        if !self.conn.is_postgres() {
            let name = self.pseudonym_or_claim(discussion, key, own, now).await?;
            if name.is_some() {
                self.join(key, discussion).await?;
            }
            return Ok(name);
        }
        // Statements in a `WITH` that write run once, whether or not anything reads them.
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "{HELD_OR_CLAIMED}, joined AS (UPDATE participants SET current_discussion = $1, seen_notice = 1 \
                 WHERE key = $3 AND EXISTS (SELECT 1 FROM named)) SELECT name FROM named"
            )
        });
        self.held_or_claimed(&SQL, discussion, key, own(), now).await
    }

    /// Claims `name` in a discussion for `key`; `false` when someone holds it already.
    pub async fn claim_pseudonym(
        &mut self,
        discussion: DiscussionId,
        name: &str,
        key: &ParticipantKey,
        now: i64,
    ) -> Result<bool> {
        self.known.pseudonym = None;
        let done = query(
            "INSERT INTO pseudonyms (discussion_id, name, participant_key, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(discussion.0)
        .bind(name)
        .bind(&key.0)
        .bind(now)
        .execute(&mut self.conn)
        .await?;
        Ok(done == 1)
    }

    // ----- posts -----

    /// Allocates the next `#N` of a discussion.
    pub async fn next_post_number(&mut self, discussion: DiscussionId) -> Result<PostNumber> {
        if let Some(numbers) = &self.numbers {
            let next = match numbers.get(&discussion) {
                Some(&next) => next,
                None if self.posts_later.is_some() => {
                    let known = self.posts_later.as_ref().and_then(|later| later.counters.get(&discussion).copied());
                    let first = match known {
                        Some(first) => first,
                        None => self.read_counters(discussion).await?,
                    };
                    if let Some(later) = &mut self.posts_later {
                        later.first_numbers.insert(discussion, first);
                    }
                    first
                }
                None => query("SELECT next_number FROM discussions WHERE id = $1")
                    .bind(discussion.0)
                    .fetch_one(&mut self.conn)
                    .await?
                    .try_get::<i64, _>(0)?,
            };
            if let Some(numbers) = &mut self.numbers {
                numbers.insert(discussion, next + 1);
            }
            return Ok(PostNumber(next));
        }
        let row = query("UPDATE discussions SET next_number = next_number + 1 WHERE id = $1 RETURNING next_number - 1")
            .bind(discussion.0)
            .fetch_one(&mut self.conn)
            .await?;
        Ok(PostNumber(row.try_get::<i64, _>(0)?))
    }

    /// Stores a post under its discussion's next `#N` ([`Tx::next_post_number`]; the
    /// post's own `number` is not read): one statement on PostgreSQL, two on SQLite, which
    /// has no `UPDATE` inside a `WITH`; on PostgreSQL while the numbers are held
    /// ([`Tx::hold_post_numbers`]), queued to be written with the group's other posts.
    pub async fn insert_next_post(&mut self, post: &NewPost<'_>) -> Result<(PostId, PostNumber)> {
        self.known.recent = None;
        self.known.posted_now = Some((post.discussion, post.participant.clone()));
        if self.posts_later.is_some() && self.numbers.is_some() {
            let number = self.next_post_number(post.discussion).await?;
            let id = self.queue_post(post, number).await?;
            return Ok((id, number));
        }
        if !self.conn.is_postgres() {
            let number = self.next_post_number(post.discussion).await?;
            let id = self.insert_post(&NewPost { number, ..*post }).await?;
            return Ok((id, number));
        }
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "WITH n AS (UPDATE discussions SET next_number = next_number + 1 WHERE id = $1 \
                 RETURNING next_number - 1 AS number) \
                 INSERT INTO posts ({POST_COLUMNS}, number) \
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, n.number FROM n RETURNING id, number"
            )
        });
        let row = bind_post(query(SQL.as_str()), post).fetch_one(&mut self.conn).await?;
        Ok((PostId(row.try_get::<i64, _>("id")?), PostNumber(row.try_get::<i64, _>("number")?)))
    }

    /// The id of a queued post: the first of the transaction the next the database would
    /// give (PostgreSQL: taken from the posts' sequence, which is set to the last at commit,
    /// [`Tx::write_post_numbers`]; SQLite: above the highest id it ever gave), the next
    /// ones counted on from it. Sound because every statement that stores a post runs in a
    /// transaction that holds the fleet's lock (PostgreSQL) or is the one writer (SQLite's
    /// `BEGIN IMMEDIATE`), which this one is until it ends: no other takes an id meanwhile,
    /// and ids grow in the order posts are stored.
    async fn next_post_id(&mut self) -> Result<i64> {
        let Some(later) = &mut self.posts_later else {
            return Err(Error::Inconsistent("a post id asked for outside a group's queued posts".into()));
        };
        let id = match later.ids {
            Some((next, _)) => next,
            None => {
                let sql = if self.conn.is_postgres() {
                    "SELECT nextval(pg_get_serial_sequence('posts', 'id'))".to_string()
                } else {
                    format!("SELECT {SQLITE_NEXT_POST_ID}")
                };
                let first = query(sql).unseen_queued().fetch_one(&mut self.conn).await?.try_get::<i64, _>(0)?;
                if let Some(later) = &mut self.posts_later {
                    later.ids = Some((first, first));
                }
                first
            }
        };
        if let Some(PostsLater { ids: Some((next, _)), .. }) = &mut self.posts_later {
            *next = id + 1;
        }
        Ok(id)
    }

    /// Reads every discussion's next `#N` while posts are queued (PostgreSQL), and the first
    /// post id from the sequence when none was taken yet, in one statement; gives
    /// `discussion`'s.
    async fn read_counters(&mut self, discussion: DiscussionId) -> Result<i64> {
        let take_id = self.posts_later.as_ref().is_some_and(|later| later.ids.is_none());
        static SQLITE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "SELECT d.id, d.next_number, CASE WHEN $1 = 1 THEN {SQLITE_NEXT_POST_ID} END AS first_id \
                 FROM discussions d"
            )
        });
        let sql = if self.conn.is_postgres() {
            "WITH s AS (SELECT nextval(pg_get_serial_sequence('posts', 'id')) AS first_id WHERE $1 = 1) \
             SELECT d.id, d.next_number, (SELECT first_id FROM s) AS first_id FROM discussions d"
        } else {
            SQLITE.as_str()
        };
        let rows = query(sql).bind(i64::from(take_id)).unseen_queued().fetch_all(&mut self.conn).await?;
        let Some(later) = &mut self.posts_later else {
            return Err(Error::Inconsistent("discussions' numbers read outside a group's queued posts".into()));
        };
        for row in &rows {
            later.counters.insert(DiscussionId(row.try_get::<i64, _>("id")?), row.try_get::<i64, _>("next_number")?);
            if let (true, Some(first)) = (take_id, row.try_get::<Option<i64>, _>("first_id")?) {
                later.ids = Some((first, first));
            }
        }
        if take_id && later.ids.is_none() {
            // No discussion row came back to carry it (there is one: the post is in it).
            return Err(Error::Inconsistent("no post id came with the discussions' numbers".into()));
        }
        later.counters.get(&discussion).copied().ok_or_else(|| Error::Inconsistent("a post in no discussion".into()))
    }

    /// Queues a post under `number` with the group's others ([`Tx::hold_post_numbers`]).
    async fn queue_post(&mut self, post: &NewPost<'_>, number: PostNumber) -> Result<PostId> {
        let id = self.next_post_id().await?;
        if let Some(later) = &mut self.posts_later {
            later.authors.insert(post.participant.clone());
            // A post stored under a number of its own ([`Tx::insert_post`]) is no lower.
            let first = later.first_numbers.entry(post.discussion).or_insert(number.0);
            *first = (*first).min(number.0);
        }
        if !self.conn.is_postgres() {
            use db::IntoArg as _;
            let args = vec![
                id.into_arg(),
                number.0.into_arg(),
                post.discussion.0.into_arg(),
                post.participant.0.clone().into_arg(),
                post.pseudonym.to_string().into_arg(),
                post.parent.map(|p| p.0).into_arg(),
                post.body.to_string().into_arg(),
                post.status.as_str().to_string().into_arg(),
                post.created_at.into_arg(),
                post.themes.to_string().into_arg(),
                post.sentiment.into_arg(),
                post.platform.as_str().to_string().into_arg(),
                post.reasons.unwrap_or("").to_string().into_arg(),
            ];
            self.conn.insert_first_row(POSTS_INTO, POSTS_ROW, "", args).await?;
            return Ok(PostId(id));
        }
        let row = serde_json::json!({
            "id": id,
            "number": number.0,
            "discussion_id": post.discussion.0,
            "participant_key": post.participant.0,
            "pseudonym": post.pseudonym,
            "parent_number": post.parent.map(|p| p.0),
            "body": post.body,
            "status": post.status.as_str(),
            "created_at": post.created_at,
            "themes": post.themes,
            "sentiment": post.sentiment,
            "platform": post.platform.as_str(),
            "reasons": post.reasons.unwrap_or(""),
        });
        self.conn.insert_first(POSTS_FROM_JSON, row).await?;
        Ok(PostId(id))
    }

    /// Stores a post (queued with the group's others while they are held on PostgreSQL,
    /// whose ids this one must follow).
    pub async fn insert_post(&mut self, post: &NewPost<'_>) -> Result<PostId> {
        self.known.recent = None;
        if self.posts_later.is_some() {
            return self.queue_post(post, post.number).await;
        }
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "INSERT INTO posts ({POST_COLUMNS}, number) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id"
            )
        });
        let row = bind_post(query(SQL.as_str()), post).bind(post.number.0).fetch_one(&mut self.conn).await?;
        Ok(PostId(row.try_get::<i64, _>(0)?))
    }

    /// A post by its `#N` in a discussion.
    pub async fn post_by_number(&mut self, discussion: DiscussionId, number: PostNumber) -> Result<Option<Post>> {
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!("SELECT {} FROM posts WHERE discussion_id = $1 AND number = $2", Post::COLUMNS)
        });
        // A queued post's number is at least its discussion's first of the transaction.
        let unseen = self
            .posts_later
            .as_ref()
            .is_some_and(|later| later.first_numbers.get(&discussion).is_none_or(|&first| number.0 < first));
        let row = query(SQL.as_str())
            .bind(discussion.0)
            .bind(number.0)
            .unseen_queued_if(unseen)
            .fetch_optional(&mut self.conn)
            .await?;
        row.map(|r| Post::from_row(&r)).transpose()
    }

    /// Posts of a discussion in number order (for tests and exports).
    pub async fn posts(&mut self, discussion: DiscussionId) -> Result<Vec<Post>> {
        let rows = query(format!("SELECT {} FROM posts WHERE discussion_id = $1 ORDER BY number", Post::COLUMNS))
            .bind(discussion.0)
            .fetch_all(&mut self.conn)
            .await?;
        rows.iter().map(Post::from_row).collect()
    }

    /// How many posts are linked to a participant key (0 after `!forget`).
    pub async fn count_posts_by(&mut self, key: &ParticipantKey) -> Result<i64> {
        let row = query("SELECT COUNT(*) FROM posts WHERE participant_key = $1")
            .bind(&key.0)
            .fetch_one(&mut self.conn)
            .await?;
        row.try_get::<i64, _>(0)
    }

    // ----- outbox -----

    /// Queues an outbound message.
    ///
    /// The row is written with the transaction's next statement, or by [`Tx::flush`]: an
    /// error in it surfaces there.
    pub async fn enqueue(&mut self, msg: &NewOutbox<'_>) -> Result<()> {
        outbox::enqueue(&mut self.conn, msg).await
    }

    /// Writes what [`Tx::enqueue`] queued, so that an error in it is the current message's.
    pub async fn flush(&mut self) -> Result<()> {
        self.conn.flush().await
    }

    /// Records deliveries inside this transaction (as [`Store::mark_delivered_many`]).
    pub async fn mark_delivered_many(&mut self, delivered: &[(i64, Option<String>)], now: i64) -> Result<()> {
        outbox::mark_delivered_many(&mut self.conn, delivered, now).await
    }

    /// Cancels a post's publications that have not been delivered yet.
    pub async fn cancel_pending_sends(&mut self, post: PostId, now: i64) -> Result<u64> {
        outbox::cancel_pending_sends(&mut self.conn, post, now).await
    }

    /// Whether the public thread of a discussion exists or is queued on a platform.
    pub async fn thread_requested(&mut self, discussion: DiscussionId, platform: chat::Platform) -> Result<bool> {
        outbox::thread_requested(&mut self.conn, discussion, platform).await
    }

    /// The platform messages that published a post, per platform.
    pub async fn post_messages(&mut self, post: PostId) -> Result<Vec<(chat::Platform, String)>> {
        outbox::post_messages(&mut self.conn, post).await
    }
}

impl Store {
    /// Outbox rows due for delivery on `platform` at `now`, oldest first, with thread roots
    /// and reply targets resolved. Rows for a thread whose root is not delivered yet wait.
    pub async fn due(&self, platform: chat::Platform, now: i64, limit: usize) -> Result<Vec<DueRow>> {
        let mut conn = self.conn().await?;
        let lease = self.lease_ms.load(std::sync::atomic::Ordering::Relaxed);
        if !conn.is_direct() {
            return outbox::due(&mut conn, self.backend, platform, now, limit, lease).await;
        }
        // On SQLite the claim is committed without its own fsync: a claim is only a lease,
        // and losing one in a power cut changes nothing (the row is handed out again, as it
        // would be after the lease). The next commit that is synced (every engine commit
        // and every delivery record is) makes it durable with it, since the log is written
        // in order. It took the writer, and the participants' messages waiting for it, one
        // fsync per delivery round.
        let level: i64 = query("PRAGMA synchronous").fetch_one(&mut conn).await?.try_get(0)?;
        query("PRAGMA synchronous = NORMAL").execute(&mut conn).await?;
        let due = outbox::due(&mut conn, self.backend, platform, now, limit, lease).await;
        query(format!("PRAGMA synchronous = {}", level.clamp(0, 3))).execute(&mut conn).await?;
        due
    }

    /// Records a successful delivery (and the mirror or post message it created).
    pub async fn mark_delivered(&self, id: i64, message_id: Option<&str>, now: i64) -> Result<()> {
        let mut tx = self.begin_plain().await?;
        outbox::mark_delivered(&mut tx, id, message_id, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records several deliveries in one transaction (one commit for a whole batch).
    pub async fn mark_delivered_many(&self, delivered: &[(i64, Option<String>)], now: i64) -> Result<()> {
        let mut tx = self.begin_plain().await?;
        outbox::mark_delivered_many(&mut tx, delivered, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a failed attempt; the row is due again at `next_attempt_at`. Returns the
    /// number of attempts so far.
    pub async fn mark_failed(&self, id: i64, next_attempt_at: i64) -> Result<i64> {
        let mut conn = self.conn().await?;
        outbox::mark_failed(&mut conn, id, next_attempt_at).await
    }

    /// Sets a row aside for good (a dead letter) after the platform refused it or too many
    /// attempts failed. Returns its destination kind and platform, or `None` when it was
    /// delivered meanwhile.
    pub async fn set_aside(&self, id: i64, now: i64) -> Result<Option<(DestKind, String)>> {
        let mut conn = self.conn().await?;
        outbox::set_aside(&mut conn, id, now).await
    }

    /// Hands a row out again at `at`, without counting an attempt (outbound pacing).
    pub async fn defer(&self, id: i64, at: i64) -> Result<()> {
        query("UPDATE outbox SET next_attempt_at = $1 WHERE id = $2 AND delivered_at IS NULL")
            .bind(at)
            .bind(id)
            .execute(&mut self.conn().await?)
            .await?;
        Ok(())
    }

    /// How many attempts a row has had (for computing back-off).
    pub async fn attempts(&self, id: i64) -> Result<i64> {
        let mut conn = self.conn().await?;
        outbox::attempts(&mut conn, id).await
    }

    /// Deletes what is no longer needed: inbound event ids older than `dedupe_ms` (platforms
    /// redeliver within minutes) and delivered outbox rows older than `delivered_ms` (their
    /// text, such as a moderator's reason sent to a participant, should not linger), oldest
    /// first and at most `at_most` of each kind (of outbox rows, for each platform) a call:
    /// the engine prunes between two group commits ([`PRUNE_AT_MOST`] at a time), and what
    /// it deletes holds up the next messages. Each delete walks an index to exactly its
    /// rows; before, each read the whole table (21 ms for an outbox of 100,000 rows,
    /// growing with it).
    pub async fn prune(&self, now: i64, dedupe_ms: i64, delivered_ms: i64, at_most: i64) -> Result<(u64, u64)> {
        let events = query(
            "DELETE FROM inbound_events WHERE (platform, event_id) IN \
             (SELECT platform, event_id FROM inbound_events WHERE received_at < $1 ORDER BY received_at LIMIT $2)",
        )
        .bind(now - dedupe_ms)
        .bind(at_most)
        .execute(&mut self.conn().await?)
        .await?;
        let mut outbox = 0;
        // By platform, the first column of the outbox's (platform, delivered_at, id) index.
        for platform in chat::Platform::ALL {
            outbox += query(
                "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox \
                 WHERE platform = $1 AND delivered_at IS NOT NULL AND delivered_at < $2 ORDER BY delivered_at, id LIMIT $3)",
            )
            .bind(platform.as_str())
            .bind(now - delivered_ms)
            .bind(at_most)
            .execute(&mut self.conn().await?)
            .await?;
        }
        Ok((events, outbox))
    }

    /// Number of undelivered outbox rows (all platforms).
    pub async fn pending_count(&self) -> Result<i64> {
        let row =
            query("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL").fetch_one(&mut self.conn().await?).await?;
        row.try_get::<i64, _>(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_backends_and_hides_passwords() {
        assert_eq!(Backend::from_url("sqlite::memory:").ok(), Some(Backend::Sqlite));
        assert_eq!(Backend::from_url("postgres://u@h/db").ok(), Some(Backend::Postgres));
        assert!(Backend::from_url("mysql://x").is_err());
        assert_eq!(redact_url("postgres://u:pw@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert!(is_memory("sqlite::memory:") && is_memory("sqlite://x?mode=memory"));
        assert!(!is_memory("sqlite:///srv/memory-bot/parley.db") && !is_memory("sqlite://data/parley.db"));
    }
}
