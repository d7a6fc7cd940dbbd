//! The write ceiling of a `parley bench` run: every row the engine stored, copied with the
//! best batching there is (`INSERT … SELECT`, a transaction for each 5,000 posts' worth)
//! into empty tables of the same shape, with the deliveries' two updates of each outbox
//! row (its lease and its delivery). No reads, no checks, no text analysis, no round trip
//! a row: how fast this machine can write what parley has to write at all, measured in
//! the same run as the baseline. Foreign keys are not checked (SQLite), nor copied
//! (PostgreSQL), and only the rows as they ended are written: a row the engine wrote
//! several times (a discussion's `#N` counter, a post's status, a participant's current
//! discussion) is written once, and one it deleted not at all. All of it makes the ceiling
//! higher, not lower: parley is at least as close to it as the figure says.

use super::db::{query, Conn};
use super::Store;
use crate::error::{Error, Result};

/// Posts' worth of rows per transaction, as the baseline's.
const POSTS_PER_TRANSACTION: u64 = 5_000;

/// The schema (SQLite: the attached file) the copy goes to.
const SCHEMA: &str = "parley_ceiling";

/// What the copy took.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WriteCeiling {
    /// Posts among the rows copied.
    pub posts: u64,
    /// Rows copied (every table's), besides the outbox rows' two updates each.
    pub rows: u64,
    /// Outbox rows updated twice.
    pub outbox_rows: u64,
    /// How long it took.
    pub seconds: f64,
    /// `posts / seconds`.
    pub posts_per_sec: f64,
    /// How it was copied.
    pub how: &'static str,
}

/// How the copy is made.
const HOW: &str = "every table's rows copied by INSERT ... SELECT into empty tables of the same shape and indexes \
     (SQLite: a fresh file with the run's settings; PostgreSQL: a schema of the same database), a transaction per \
     5,000 posts' worth of each table, each outbox row then updated twice (lease, delivery); foreign keys not checked; \
     each row written once as it ended (rows the engine wrote several times or deleted are not written again): an \
     upper bound";

impl Store {
    /// Copies the engine's rows as [`WriteCeiling`] says, into `file` on SQLite (a path
    /// for a new database; unused on PostgreSQL), and drops the copy again.
    pub async fn bench_write_ceiling(&self, file: &std::path::Path) -> Result<WriteCeiling> {
        let mut conn = self.conn().await?;
        let postgres = conn.is_postgres();
        let posts = count(&mut conn, "SELECT COUNT(*) FROM posts").await?;
        let chunks = posts.div_ceil(POSTS_PER_TRANSACTION).max(1);
        let tables = if postgres {
            prepare_postgres(&mut conn, chunks).await
        } else {
            prepare_sqlite(&mut conn, file, chunks).await
        };
        let copied = async {
            let tables = tables?;
            let outbox_rows = count(&mut conn, "SELECT COUNT(*) FROM outbox").await?;
            let mut rows = 0;
            for (table, _) in &tables.copies {
                rows += count(&mut conn, &format!("SELECT COUNT(*) FROM {table}")).await?;
            }
            let started = std::time::Instant::now();
            copy(&mut conn, &tables, postgres).await?;
            let seconds = started.elapsed().as_secs_f64();
            // Every row copied, every outbox row delivered: else the figure means nothing.
            let mut copied = 0;
            for (table, _) in &tables.copies {
                let (_, name) = table.split_once('.').unwrap_or(("", table));
                copied += count(&mut conn, &format!("SELECT COUNT(*) FROM {SCHEMA}.{name}")).await?;
            }
            let delivered =
                count(&mut conn, &format!("SELECT COUNT(*) FROM {SCHEMA}.outbox WHERE delivered_at IS NOT NULL"))
                    .await?;
            if copied != rows || delivered != outbox_rows {
                return Err(Error::Inconsistent(format!(
                    "the write ceiling's copy holds {copied} of {rows} rows, {delivered} of {outbox_rows} delivered"
                )));
            }
            Ok::<_, Error>((rows, outbox_rows, seconds))
        }
        .await;
        // Whatever happened, the copy goes (and on SQLite foreign keys are checked again).
        let dropped = if postgres {
            async {
                query(format!("DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")).execute(&mut conn).await?;
                query("DISCARD TEMP").execute(&mut conn).await.map(drop)
            }
            .await
        } else {
            let on = query("PRAGMA foreign_keys = ON").execute(&mut conn).await.map(drop);
            let detached = query(format!("DETACH DATABASE {SCHEMA}")).execute(&mut conn).await.map(drop);
            on.and(detached)
        };
        let (rows, outbox_rows, seconds) = copied?;
        dropped?;
        Ok(WriteCeiling {
            posts,
            rows,
            outbox_rows,
            seconds,
            posts_per_sec: posts as f64 / seconds.max(f64::MIN_POSITIVE),
            how: HOW,
        })
    }
}

async fn count(conn: &mut Conn, sql: &str) -> Result<u64> {
    Ok(query(sql.to_string()).fetch_one(conn).await?.try_get::<i64, _>(0)?.max(0) as u64)
}

/// What the timed copy runs: for each chunk, each table's statement with its two bounds
/// (SQLite: the chunk's first and last rowid; PostgreSQL: the chunk, twice), the outbox's
/// two updates last with the outbox's bounds.
struct Tables {
    /// Each table's name (for counting) and copy.
    copies: Vec<(String, String)>,
    /// For each chunk, each copy's bounds.
    bounds: Vec<Vec<(i64, i64)>>,
    /// The outbox's two updates, bound like its copy.
    updates: [String; 2],
    /// Where the outbox's copy is among `copies`.
    outbox: usize,
}

/// A sealed address as stored (for the outbox's direct rows, whose own were cleared when
/// they were delivered), as an SQL literal.
async fn sealed_literal(conn: &mut Conn) -> Result<String> {
    let sealed =
        query("SELECT MAX(sealed_address) FROM contacts").fetch_one(conn).await?.try_get::<Option<String>, _>(0)?;
    // Sealed addresses are hex: anything else is not written into the statement.
    Ok(match sealed.filter(|s| s.bytes().all(|b| b.is_ascii_hexdigit())) {
        Some(hex) => format!("'{hex}'"),
        None => "NULL".to_string(),
    })
}

/// SQLite: `file` attached, with the main database's tables and indexes made there, and
/// each table's rows cut into `chunks` ranges of rowids.
async fn prepare_sqlite(conn: &mut Conn, file: &std::path::Path, chunks: u64) -> Result<Tables> {
    let path = file.to_str().ok_or_else(|| Error::Inconsistent("the ceiling's file has no UTF-8 path".into()))?;
    let sealed = sealed_literal(conn).await?;
    query("PRAGMA foreign_keys = OFF").execute(conn).await?;
    query(format!("ATTACH DATABASE $1 AS {SCHEMA}")).bind(path).execute(conn).await?;
    let synchronous = query("PRAGMA main.synchronous").fetch_one(conn).await?.try_get::<i64, _>(0)?;
    for pragma in [
        format!("PRAGMA {SCHEMA}.journal_mode = WAL"),
        format!("PRAGMA {SCHEMA}.synchronous = {synchronous}"),
        format!("PRAGMA {SCHEMA}.cache_size = -32768"),
    ] {
        query(pragma).fetch_all(conn).await?;
    }
    let schema = query(
        "SELECT type, name, sql FROM main.sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' \
         AND tbl_name <> '_sqlx_migrations' ORDER BY type = 'index', rowid",
    )
    .fetch_all(conn)
    .await?;
    let (mut copies, mut ranges) = (Vec::new(), Vec::new());
    for row in schema {
        let (kind, name, sql): (String, String, String) =
            (row.try_get("type")?, row.try_get("name")?, row.try_get("sql")?);
        let made = match kind.as_str() {
            "table" => sql.replacen("CREATE TABLE ", &format!("CREATE TABLE {SCHEMA}."), 1),
            "index" if sql.starts_with("CREATE UNIQUE INDEX ") => {
                sql.replacen("CREATE UNIQUE INDEX ", &format!("CREATE UNIQUE INDEX {SCHEMA}."), 1)
            }
            "index" => sql.replacen("CREATE INDEX ", &format!("CREATE INDEX {SCHEMA}."), 1),
            _ => continue,
        };
        query(made).execute(conn).await?;
        if kind == "table" {
            let names =
                query(format!("SELECT name FROM pragma_table_info('{name}') ORDER BY cid")).fetch_all(conn).await?;
            let names = names.iter().map(|r| r.try_get::<String, _>(0)).collect::<Result<Vec<_>>>()?;
            let columns = columns(&name, names, &sealed);
            copies.push((
                format!("main.{name}"),
                format!("INSERT INTO {SCHEMA}.{name} SELECT {columns} FROM main.{name} WHERE rowid BETWEEN $1 AND $2"),
            ));
            let row = query(format!("SELECT MIN(rowid), MAX(rowid) FROM main.{name}")).fetch_one(conn).await?;
            let (lo, hi) =
                (row.try_get::<Option<i64>, _>(0)?.unwrap_or(1), row.try_get::<Option<i64>, _>(1)?.unwrap_or(0));
            ranges.push(slices(lo, hi, chunks));
        }
    }
    let between = "id BETWEEN $1 AND $2";
    finish(copies, ranges, between, chunks)
}

/// `lo..=hi` cut into `chunks` ranges (empty ones where there are fewer values).
fn slices(lo: i64, hi: i64, chunks: u64) -> Vec<(i64, i64)> {
    let span = (hi - lo + 1).max(0) as u64;
    (0..chunks).map(|i| (lo + (span * i / chunks) as i64, lo + (span * (i + 1) / chunks) as i64 - 1)).collect()
}

/// PostgreSQL: a schema of the same database with the tables (`LIKE … INCLUDING ALL`: their
/// columns, defaults, constraints but foreign keys, and indexes), and each table's rows
/// numbered into chunks beforehand in a temporary table of their own, so that the copy
/// reads nothing but them.
async fn prepare_postgres(conn: &mut Conn, chunks: u64) -> Result<Tables> {
    let sealed = sealed_literal(conn).await?;
    // The schema the migrations made the tables in (`public` unless the role's
    // `search_path` says otherwise).
    let from: String = query("SELECT CAST(current_schema() AS TEXT)").fetch_one(conn).await?.try_get(0)?;
    if !from.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
        return Err(Error::Inconsistent(format!("the tables' schema {from:?} is not a plain name")));
    }
    query(format!("CREATE SCHEMA {SCHEMA}")).execute(conn).await?;
    let names = query(
        "SELECT CAST(tablename AS TEXT) FROM pg_tables WHERE schemaname = $1 AND tablename <> '_sqlx_migrations' \
         ORDER BY tablename",
    )
    .bind(from.as_str())
    .fetch_all(conn)
    .await?;
    let (mut copies, mut ranges) = (Vec::new(), Vec::new());
    for row in names {
        let name: String = row.try_get(0)?;
        query(format!("CREATE TABLE {SCHEMA}.{name} (LIKE {from}.{name} INCLUDING ALL)")).execute(conn).await?;
        query(format!(
            "CREATE TEMPORARY TABLE ceiling_{name} AS SELECT *, ntile({chunks}) OVER (ORDER BY ctid) - 1 AS ceiling_chunk \
             FROM {from}.{name}"
        ))
        .execute(conn)
        .await?;
        query(format!("CREATE INDEX ON ceiling_{name} (ceiling_chunk)")).execute(conn).await?;
        query(format!("ANALYZE ceiling_{name}")).execute(conn).await?;
        let names = query(
            "SELECT CAST(column_name AS TEXT) FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 \
             ORDER BY ordinal_position",
        )
        .bind(from.as_str())
        .bind(name.as_str())
        .fetch_all(conn)
        .await?;
        let names = names.iter().map(|r| r.try_get::<String, _>(0)).collect::<Result<Vec<_>>>()?;
        let columns = columns(&name, names, &sealed);
        copies.push((
            format!("{from}.{name}"),
            format!("INSERT INTO {SCHEMA}.{name} SELECT {columns} FROM ceiling_{name} WHERE ceiling_chunk BETWEEN $1 AND $2"),
        ));
        ranges.push((0..chunks as i64).map(|c| (c, c)).collect());
    }
    let between = "id IN (SELECT id FROM ceiling_outbox WHERE ceiling_chunk BETWEEN $1 AND $2)";
    finish(copies, ranges, between, chunks)
}

/// The [`Tables`] of `copies` and their `ranges`, the outbox's updates picking its chunk's
/// rows by `between`.
fn finish(copies: Vec<(String, String)>, ranges: Vec<Vec<(i64, i64)>>, between: &str, chunks: u64) -> Result<Tables> {
    let outbox = copies
        .iter()
        .position(|(name, _)| name.ends_with(".outbox"))
        .ok_or_else(|| Error::Inconsistent("no outbox table to copy".into()))?;
    let bounds = (0..chunks as usize).map(|c| ranges.iter().map(|r| r[c]).collect()).collect();
    Ok(Tables {
        copies,
        bounds,
        updates: [
            format!("UPDATE {SCHEMA}.outbox SET next_attempt_at = next_attempt_at + 30000 WHERE {between}"),
            format!(
                "UPDATE {SCHEMA}.outbox SET delivered_at = 1, message_id = 'delivered-' || id, sealed_address = NULL \
                 WHERE {between}"
            ),
        ],
        outbox,
    })
}

/// The column list to copy `table` with: the outbox's rows as they were stored, not yet
/// delivered (the copy's updates deliver them), with a sealed address (`sealed`) where
/// they had one.
fn columns(table: &str, names: Vec<String>, sealed: &str) -> String {
    names
        .into_iter()
        .map(|c| match (table, c.as_str()) {
            ("outbox", "delivered_at" | "message_id") => "NULL".to_string(),
            ("outbox", "sealed_address") => format!("CASE WHEN dest_kind = 'direct' THEN {sealed} END"),
            _ => c,
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The timed copy: chunk by chunk, a transaction each, every table's slice, then the
/// outbox slice's two updates.
async fn copy(conn: &mut Conn, tables: &Tables, postgres: bool) -> Result<()> {
    for bounds in &tables.bounds {
        query(if postgres { "BEGIN" } else { "BEGIN IMMEDIATE" }).execute(conn).await?;
        let chunk = async {
            for ((_, copy), (first, last)) in tables.copies.iter().zip(bounds) {
                query(copy.as_str()).bind(*first).bind(*last).execute(conn).await?;
            }
            let (first, last) = bounds[tables.outbox];
            for update in &tables.updates {
                query(update.as_str()).bind(first).bind(last).execute(conn).await?;
            }
            query("COMMIT").execute(conn).await.map(drop)
        }
        .await;
        if let Err(e) = chunk {
            let _ = query("ROLLBACK").execute(conn).await;
            return Err(e);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::slices;

    #[test]
    fn slices_cover_every_rowid_once_in_order() {
        for (lo, hi, chunks) in [(1, 10, 3), (1, 1, 4), (5, 104, 10), (1, 0, 2), (7, 9, 1), (1, 100_000, 20)] {
            let cut = slices(lo, hi, chunks);
            assert_eq!(cut.len() as u64, chunks);
            let mut next = lo;
            for (first, last) in &cut {
                assert_eq!(*first, next, "{lo}..={hi} in {chunks}: {cut:?}");
                assert!(*last >= *first - 1, "{cut:?}");
                next = last + 1;
            }
            assert_eq!(next, hi.max(lo - 1) + 1, "{lo}..={hi} in {chunks}: {cut:?}");
        }
    }
}
