//! Direct reads of a SQLite file for scans over every post of a discussion (summaries and
//! participation figures of a million posts).
//!
//! Through sqlx every row is a round trip to its connection thread and a conversion through
//! the `Any` driver, which made a summary of a million posts take 2–3 s. Here the scan runs
//! on a blocking thread over a read-only connection of its own (WAL mode lets it read while
//! the engine writes), and SQLite's own work is most of the time. PostgreSQL, SQLite in
//! memory (one database per connection) and URLs with parameters other than `mode` keep the
//! sqlx queries.
//!
//! Each scan reads what is committed when it starts, not the read transaction's snapshot:
//! a summary taken while people post may count a post or two that its other figures (survey
//! results, the latest bodies for emerging themes) do not yet include.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use super::analysis::AnalysedPost;
use super::surveys::Participation;
use crate::error::{Error, Result};
use crate::ids::DiscussionId;

/// A read-only connection to the file, for one scan.
fn open(file: &Path) -> Result<rusqlite::Connection> {
    use rusqlite::OpenFlags;
    let db = rusqlite::Connection::open_with_flags(
        file,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    db.busy_timeout(std::time::Duration::from_secs(30))?;
    Ok(db)
}

/// Runs `f` over a read-only connection to `file` on a blocking thread.
pub(super) async fn read<T: Send + 'static>(
    file: Arc<Path>,
    f: impl FnOnce(&rusqlite::Connection) -> Result<T> + Send + 'static,
) -> Result<T> {
    match tokio::task::spawn_blocking(move || f(&open(&file)?)).await {
        Ok(done) => done,
        Err(e) => Err(Error::Inconsistent(format!("a database read stopped: {e}"))),
    }
}

/// The post counts of [`super::Tx::participation`] in one pass over the discussion's posts,
/// with the same meaning as its SQL: every post in any state, distinct pseudonyms, days and
/// hours from `created_at` with SQL's integer division.
pub(super) fn participation(db: &rusqlite::Connection, discussion: i64) -> Result<Participation> {
    let mut statement =
        db.prepare("SELECT pseudonym, COALESCE(platform, 'unknown'), created_at FROM posts WHERE discussion_id = ?1")?;
    let mut rows = statement.query([discussion])?;
    let mut p = Participation::default();
    // Each person once, with a bit per platform they wrote on (a handful of platforms), so
    // a million distinct people cost one set, not one per platform.
    let mut people: HashMap<String, u64> = HashMap::new();
    let mut platforms: Vec<(String, u64)> = Vec::new();
    let mut days: HashMap<i64, u64> = HashMap::new();
    while let Some(row) = rows.next()? {
        let name = row.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?;
        let platform = row.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?;
        let at: i64 = row.get(2)?;
        p.posts += 1;
        let bit = match platforms.iter().position(|(known, _)| known == platform) {
            Some(i) => i,
            None if platforms.len() < 64 => {
                platforms.push((platform.to_owned(), 0));
                platforms.len() - 1
            }
            None => return Err(Error::Inconsistent("more than 64 platforms in one discussion".into())),
        };
        platforms[bit].1 += 1;
        match people.get_mut(name) {
            Some(seen) => *seen |= 1 << bit,
            None => {
                people.insert(name.to_owned(), 1 << bit);
            }
        }
        *days.entry(at / 86_400_000).or_insert(0) += 1;
        p.by_hour[((at / 3_600_000) % 24).rem_euclid(24) as usize] += 1;
    }
    p.participants = people.len() as u64;
    p.by_platform = platforms
        .iter()
        .enumerate()
        .map(|(bit, (name, posts))| {
            let on = people.values().filter(|seen| *seen & (1 << bit) != 0).count() as u64;
            (name.clone(), on, *posts)
        })
        .collect();
    // In name order, like the SQL's ORDER BY.
    p.by_platform.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    p.by_day = days.into_iter().collect();
    p.by_day.sort_unstable();
    Ok(p)
}

/// Calls `f` for every published post of a discussion, oldest first, as
/// [`super::Tx::for_each_published`] does: read on a blocking thread, handed over in chunks.
pub(super) async fn published(
    file: Arc<Path>,
    discussion: DiscussionId,
    with_body: i64,
    mut f: impl FnMut(AnalysedPost),
) -> Result<u64> {
    const CHUNK: usize = 4096;
    let (chunks, mut received) = tokio::sync::mpsc::channel::<Vec<AnalysedPost>>(4);
    let reader = tokio::task::spawn_blocking(move || -> Result<()> {
        let db = open(&file)?;
        let cutoff: i64 = db
            .query_row(
                "SELECT id FROM posts WHERE discussion_id = ?1 AND status = 'published' ORDER BY id DESC LIMIT 1 OFFSET ?2",
                (discussion.0, with_body.max(1) - 1),
                |r| r.get(0),
            )
            .or_else(|e| if e == rusqlite::Error::QueryReturnedNoRows { Ok(0) } else { Err(e) })?;
        let mut statement = db.prepare(
            "SELECT substr(participant_key, 1, 16), id, (created_at + 259200000) / 604800000, sentiment, themes, \
                    CASE WHEN id >= ?2 THEN body END \
             FROM posts WHERE discussion_id = ?1 AND status = 'published' ORDER BY id",
        )?;
        let mut rows = statement.query((discussion.0, cutoff))?;
        let mut chunk = Vec::with_capacity(CHUNK);
        while let Some(row) = rows.next()? {
            // Forgotten authors count once per post: their posts cannot be linked.
            let participant = match row.get_ref(0)?.as_str_or_null().map_err(rusqlite::Error::from)? {
                Some(h) => u64::from_str_radix(h, 16).unwrap_or(0),
                None => row.get::<_, i64>(1)? as u64 ^ 0x8000_0000_0000_0000,
            };
            chunk.push(AnalysedPost {
                participant,
                week: row.get(2)?,
                sentiment: row.get(3)?,
                themes: row.get(4)?,
                body: row.get::<_, Option<String>>(5)?.unwrap_or_default(),
            });
            if chunk.len() == CHUNK {
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
                if chunks.blocking_send(full).is_err() {
                    // The summary was abandoned.
                    return Ok(());
                }
            }
        }
        if !chunk.is_empty() {
            let _ = chunks.blocking_send(chunk);
        }
        Ok(())
    });
    let mut n = 0;
    while let Some(chunk) = received.recv().await {
        for post in chunk {
            f(post);
            n += 1;
        }
    }
    match reader.await {
        Ok(done) => done?,
        Err(e) => return Err(Error::Inconsistent(format!("the summary's reader stopped: {e}"))),
    }
    Ok(n)
}
