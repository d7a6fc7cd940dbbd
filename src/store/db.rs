//! One way to run a statement on either kind of connection the store holds:
//!
//! - **sqlx** (`Any` driver): PostgreSQL, and the read-only connections of a SQLite file;
//! - **direct** (rusqlite, in line): the single writer connection of a SQLite database.
//!
//! Through sqlx every SQLite statement is a message to sqlx's worker thread and back, and
//! a post runs about fifteen of them: most of the engine's time went on those hand-overs
//! (BENCHMARKS.md). The writer therefore runs its statements on the calling thread, with
//! statements prepared once and kept. The SQL is the same text for both (`$n` parameters,
//! which SQLite reads as named parameters and which are bound here by their number).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use sqlx::any::AnyRow;
use sqlx::{Any, AssertSqlSafe, Row as _};
use tokio::sync::OwnedMutexGuard;

use crate::error::{Error, Result};

/// A connection a statement runs on, with the rows queued on it to be inserted with the
/// next statement (see [`Conn::insert_later`] and [`Conn::insert_first`]).
pub(crate) struct Conn {
    link: Link,
    later: Vec<Later>,
    /// Rows queued by [`Conn::insert_first`]: by statement, its rows in order.
    first: Vec<(&'static str, Vec<serde_json::Value>)>,
    /// Rows queued by [`Conn::insert_first_row`], in order.
    first_rows: Vec<Later>,
    /// The tables of the queued rows, each once.
    later_tables: Vec<&'static str>,
}

/// The connection under a [`Conn`].
enum Link {
    /// A sqlx transaction.
    Tx(sqlx::Transaction<'static, Any>),
    /// A sqlx connection outside a transaction.
    Pooled(sqlx::pool::PoolConnection<Any>),
    /// The SQLite writer, used in line.
    Direct(Direct),
}

/// A row to insert with the next statement: `into` (`INSERT INTO t (a, b) VALUES `) and
/// `row` (`($1, $2)`), whose `$n` are numbered from 1 for the row alone.
struct Later {
    into: &'static str,
    row: &'static str,
    /// After the statement's last row (`ON CONFLICT …`).
    tail: &'static str,
    args: Vec<Arg<'static>>,
}

/// The table an `INSERT INTO table (…` goes into.
fn table_of(insert: &'static str) -> &'static str {
    let rest = insert.trim_start().get("INSERT INTO ".len()..).unwrap_or("");
    rest.split([' ', '(']).next().unwrap_or(rest)
}

impl Later {
    /// The table it goes into.
    fn table(&self) -> &'static str {
        table_of(self.into)
    }

    /// Its statement's shape: rows of one shape go in one statement.
    fn shape(&self) -> Shape {
        Shape(self.into, self.row, self.tail)
    }
}

/// A queued row's statement: its `into`, `row` and `tail`, the code's own `'static` texts,
/// told apart by where they are (comparing the texts cost a `memcmp` of some hundred bytes
/// for every row a group writes).
#[derive(Clone, Copy)]
struct Shape(&'static str, &'static str, &'static str);

impl PartialEq for Shape {
    fn eq(&self, other: &Shape) -> bool {
        std::ptr::eq(self.0, other.0) && std::ptr::eq(self.1, other.1) && std::ptr::eq(self.2, other.2)
    }
}

/// The most rows queued at once: a group commit without savepoints writes the outbox rows of
/// about 25 messages in one `INSERT`. Each `INSERT` writes a power of two of them (1, 2, 4,
/// … 64), since each number of rows is a statement of its own to prepare and keep.
const LATER_ROWS: usize = 64;

/// The most rows queued by [`Conn::insert_first`] or [`Conn::insert_first_row`] before they
/// are written (a group commit on PostgreSQL holds at most 64 messages; on SQLite the
/// outbox rows that follow a group's posts write them at least every [`LATER_ROWS`]).
const FIRST_ROWS: usize = 256;

/// What a statement runs on, under a [`Conn`].
enum Target<'c> {
    Direct(&'c rusqlite::Connection),
    Sqlx(&'c mut sqlx::AnyConnection),
}

impl Conn {
    /// A sqlx transaction.
    pub(crate) fn tx(tx: sqlx::Transaction<'static, Any>) -> Conn {
        Conn {
            link: Link::Tx(tx),
            later: Vec::new(),
            first: Vec::new(),
            first_rows: Vec::new(),
            later_tables: Vec::new(),
        }
    }

    /// A sqlx connection outside a transaction.
    pub(crate) fn pooled(conn: sqlx::pool::PoolConnection<Any>) -> Conn {
        Conn {
            link: Link::Pooled(conn),
            later: Vec::new(),
            first: Vec::new(),
            first_rows: Vec::new(),
            later_tables: Vec::new(),
        }
    }

    /// The SQLite writer.
    pub(crate) fn direct(direct: Direct) -> Conn {
        Conn {
            link: Link::Direct(direct),
            later: Vec::new(),
            first: Vec::new(),
            first_rows: Vec::new(),
            later_tables: Vec::new(),
        }
    }

    /// Whether this is the SQLite writer.
    pub(crate) fn is_direct(&self) -> bool {
        matches!(self.link, Link::Direct(_))
    }

    /// Whether this is a PostgreSQL connection.
    pub(crate) fn is_postgres(&self) -> bool {
        match &self.link {
            Link::Tx(tx) => {
                let c: &sqlx::AnyConnection = tx;
                c.backend_name() == "PostgreSQL"
            }
            Link::Pooled(c) => c.backend_name() == "PostgreSQL",
            Link::Direct(_) => false,
        }
    }

    fn target(&mut self) -> Target<'_> {
        match &mut self.link {
            Link::Direct(d) => Target::Direct(&d.conn),
            Link::Tx(tx) => Target::Sqlx(tx),
            Link::Pooled(c) => Target::Sqlx(c),
        }
    }

    /// Whether statements run inside a transaction, which commits or rolls back as one.
    fn in_transaction(&self) -> bool {
        match &self.link {
            Link::Tx(_) => true,
            Link::Pooled(_) => false,
            Link::Direct(d) => d.in_tx,
        }
    }

    /// Inserts a row whose result nobody reads, together with the rows queued before it
    /// and with as few statements as their number allows: in a transaction it is queued
    /// and written just before the next statement on this connection that could see it
    /// ([`Conn::flush_before`]), or by [`Conn::flush`], or at the commit; outside one it is
    /// written at once. On PostgreSQL, where every statement is a round trip, the two or
    /// three outbox rows of a message cost one, and a group commit's many fewer.
    ///
    /// `into`, `row` and `tail` are as in [`Later`]; `args` bind the row's `$n` in order.
    pub(crate) async fn insert_later(
        &mut self,
        into: &'static str,
        row: &'static str,
        tail: &'static str,
        args: Vec<Arg<'static>>,
    ) -> Result<()> {
        self.queue_row(Later { into, row, tail, args }, false).await
    }

    /// Queues `row` to be written first ([`Conn::insert_first_row`]) or later
    /// ([`Conn::insert_later`]), writing what is queued once there is enough of it, or at
    /// once outside a transaction.
    async fn queue_row(&mut self, row: Later, first: bool) -> Result<()> {
        if !self.later_tables.contains(&row.table()) {
            self.later_tables.push(row.table());
        }
        let postgres = self.is_postgres();
        let (queue, most) = match first {
            true => (&mut self.first_rows, FIRST_ROWS),
            false => (&mut self.later, if postgres { FIRST_ROWS } else { LATER_ROWS }),
        };
        queue.push(row);
        let full = queue.len() >= most;
        if full || !self.in_transaction() {
            self.flush().await?;
        }
        Ok(())
    }

    /// Queues a row for `insert`, a statement that inserts the rows of its one parameter,
    /// a JSON array of objects (`json_to_recordset`, PostgreSQL): all rows queued for it
    /// are written in one statement, in order, and before the rows of
    /// [`Conn::insert_later`], which may refer to them (an outbox row to its post). Queued
    /// and written as [`Conn::insert_later`]'s rows are, except that a read naming only the
    /// tables of such rows ([`Conn::flush_before`]) writes only them.
    pub(crate) async fn insert_first(&mut self, insert: &'static str, row: serde_json::Value) -> Result<()> {
        let table = table_of(insert);
        if !self.later_tables.contains(&table) {
            self.later_tables.push(table);
        }
        match self.first.iter_mut().find(|(sql, _)| *sql == insert) {
            Some((_, rows)) => rows.push(row),
            None => self.first.push((insert, vec![row])),
        }
        let queued: usize = self.first.iter().map(|(_, rows)| rows.len()).sum();
        if !self.in_transaction() || queued >= FIRST_ROWS {
            self.flush().await?;
        }
        Ok(())
    }

    /// Queues a row as [`Conn::insert_first`] does, but written as [`Conn::insert_later`]'s
    /// rows are, in multi-row `INSERT`s (`into`, `row`, `tail` and `args` as there): for the
    /// SQLite writer, where a statement costs no round trip and parsing a JSON parameter
    /// would cost more than it saves. Written before the rows of [`Conn::insert_later`].
    pub(crate) async fn insert_first_row(
        &mut self,
        into: &'static str,
        row: &'static str,
        tail: &'static str,
        args: Vec<Arg<'static>>,
    ) -> Result<()> {
        self.queue_row(Later { into, row, tail, args }, true).await
    }

    /// Writes the rows queued by [`Conn::insert_first`] and [`Conn::insert_first_row`] (and
    /// only those).
    async fn flush_first(&mut self) -> Result<()> {
        let rows = std::mem::take(&mut self.first_rows);
        let json = std::mem::take(&mut self.first);
        for table in json.iter().map(|(insert, _)| table_of(insert)).chain(rows.iter().map(Later::table)) {
            if !self.later.iter().any(|l| l.table() == table) {
                self.later_tables.retain(|t| *t != table);
            }
        }
        for (insert, rows) in json {
            let json = serde_json::Value::Array(rows).to_string();
            Query { sql: Cow::Borrowed(insert), args: vec![Arg::Text(Some(json.into()))], flushes: true }
                .run(self)
                .await?;
        }
        self.write_rows(rows).await
    }

    /// Writes the rows queued by [`Conn::insert_first`], [`Conn::insert_first_row`] and
    /// [`Conn::insert_later`], in that order; an error is theirs.
    pub(crate) async fn flush(&mut self) -> Result<()> {
        self.flush_first().await?;
        if self.later.is_empty() {
            return Ok(());
        }
        let later = std::mem::take(&mut self.later);
        self.later_tables.clear();
        self.write_rows(later).await
    }

    /// Writes queued rows with as few statements as their number allows.
    async fn write_rows(&mut self, mut later: Vec<Later>) -> Result<()> {
        if later.is_empty() {
            return Ok(());
        }
        // The rows of each statement shape together, in their order (the shapes in the order
        // they first came): a message's outbox rows and its survey invitation would
        // otherwise break each other's runs into many statements. Queued rows refer only to
        // rows written before them, never to one another.
        let mut shapes: Vec<Shape> = Vec::new();
        for l in &later {
            if !shapes.contains(&l.shape()) {
                shapes.push(l.shape());
            }
        }
        if shapes.len() > 1 {
            later.sort_by_key(|l| shapes.iter().position(|s| *s == l.shape()));
        }
        let mut rest = &mut later[..];
        let postgres = self.is_postgres();
        while let Some((shape, per_row)) = rest.first().map(|first| (first.shape(), first.args.len())) {
            // On PostgreSQL all rows of a shape in one statement, from one JSON parameter.
            if postgres {
                let same = rest.iter().take_while(|l| l.shape() == shape).count();
                if let Some(q) = json_rows(&rest[..same]) {
                    q.run(self).await?;
                    rest = &mut std::mem::take(&mut rest)[same..];
                    continue;
                }
            }
            // Consecutive rows of the same table and shape, as many as the largest power of
            // two allows.
            let same = rest.iter().take(LATER_ROWS).take_while(|l| l.shape() == shape).count();
            let n = 1 << same.ilog2();
            let (these, next) = std::mem::take(&mut rest).split_at_mut(n);
            let direct = matches!(self.link, Link::Direct(_));
            let sql = many_rows(shape.0, shape.1, shape.2, per_row, n, direct);
            let mut args = Vec::with_capacity(n * per_row);
            for l in these {
                args.append(&mut l.args);
            }
            let q = Query { sql: Cow::Borrowed(sql), args, flushes: true };
            q.run(self).await?;
            rest = next;
        }
        Ok(())
    }

    /// Writes the rows queued by [`Conn::insert_later`] and [`Conn::insert_first`] unless
    /// `sql` can neither see them nor make them fail: a `SELECT`, `INSERT`, `UPDATE` or
    /// `WITH` that does not name their tables and deletes nothing (a deleted row could be
    /// one they refer to; no view or trigger reads a table behind a statement's back here).
    /// A `SELECT` that names only tables of [`Conn::insert_first`]'s rows writes only
    /// those. Anything else (a savepoint, a `PRAGMA`) writes them all first.
    async fn flush_before(&mut self, sql: &str) -> Result<()> {
        if self.later.is_empty() && self.first.is_empty() && self.first_rows.is_empty() {
            return Ok(());
        }
        let sql = sql.trim_start();
        let head = sql.split(|c: char| !c.is_ascii_alphabetic()).next().unwrap_or("");
        let harmless = ["SELECT", "INSERT", "UPDATE", "WITH"].iter().any(|h| head.eq_ignore_ascii_case(h))
            && !sql.contains("DELETE")
            && !self.later_tables.iter().any(|table| sql.contains(table));
        if harmless {
            return Ok(());
        }
        let read = head.eq_ignore_ascii_case("SELECT") && !sql.contains("DELETE");
        if read && !self.later.iter().any(|l| sql.contains(l.table())) {
            return self.flush_first().await;
        }
        self.flush().await
    }

    /// Drops the rows queued by [`Conn::insert_later`] unwritten (their savepoint is being
    /// rolled back).
    pub(crate) fn discard_later(&mut self) {
        self.later.clear();
        self.first.clear();
        self.first_rows.clear();
        self.later_tables.clear();
    }

    /// Commits the transaction (nothing to do outside one), with the rows queued on it.
    pub(crate) async fn commit(mut self) -> Result<()> {
        self.flush().await?;
        match self.link {
            Link::Tx(tx) => tx.commit().await?,
            Link::Direct(direct) => direct.commit()?,
            Link::Pooled(_) => {}
        }
        Ok(())
    }
}

/// The statement of `n` rows shaped `row` (`$1` … `$per_row` numbered for the row alone)
/// after `into` (an `INSERT INTO … VALUES `, or a `WITH … AS (VALUES `), then `tail`
/// (`ON CONFLICT …`, `RETURNING …`, the rest of the statement), its parameters numbered on
/// from row to row: `?n` for the SQLite writer, which binds them by number as written, `$n`
/// for sqlx. Built once for each shape and size (a few hundred at most, since `into`,
/// `row` and `tail` are the code's own text) and kept.
pub(crate) fn many_rows(
    into: &'static str,
    row: &'static str,
    tail: &'static str,
    per_row: usize,
    n: usize,
    direct: bool,
) -> &'static str {
    type Shape = ([(usize, usize); 3], usize, bool);
    static BUILT: std::sync::LazyLock<std::sync::Mutex<HashMap<Shape, &'static str>>> =
        std::sync::LazyLock::new(Default::default);
    // The texts are `'static`, so where they are tells them apart for good.
    let at = |text: &str| (text.as_ptr() as usize, text.len());
    let shape = ([at(into), at(row), at(tail)], n, direct);
    let mut built = BUILT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    built.entry(shape).or_insert_with(|| {
        let mut sql = String::with_capacity(into.len() + n * (row.len() + 8));
        sql.push_str(into);
        for i in 0..n {
            if i > 0 {
                sql.push_str(", ");
            }
            renumbered(&mut sql, row, i * per_row, if direct { '?' } else { '$' });
        }
        sql.push_str(tail);
        Box::leak(sql.into_boxed_str())
    })
}

/// Inserts `rows` (each the arguments of one `row`) into `into`, `tail` after each
/// statement's last row, in as few statements as their number allows (a power of two of
/// rows each, at most [`LATER_ROWS`]); returns the rows the statements return, in order.
pub(crate) async fn insert_many<'q>(
    conn: &mut Conn,
    into: &'static str,
    row: &'static str,
    tail: &'static str,
    rows: Vec<Vec<Arg<'q>>>,
) -> Result<Vec<DbRow>> {
    let mut out = Vec::new();
    let mut rows = rows.into_iter().peekable();
    while let Some(first) = rows.next() {
        let per_row = first.len();
        let left = 1 + rows.len();
        let n = 1 << left.min(LATER_ROWS).ilog2();
        let mut args = first;
        for more in rows.by_ref().take(n - 1) {
            if more.len() != per_row {
                return Err(Error::Inconsistent(format!("rows of {per_row} and {} values in one INSERT", more.len())));
            }
            args.extend(more);
        }
        let direct = matches!(conn.link, Link::Direct(_));
        let q = Query { sql: Cow::Borrowed(many_rows(into, row, tail, per_row, n, direct)), args, flushes: true };
        out.extend(q.fetch_all(conn).await?);
    }
    Ok(out)
}

/// Appends `row` to `sql` with each `$n` written `{marker}(n + offset)`.
fn renumbered(sql: &mut String, row: &str, offset: usize, marker: char) {
    each_parameter(sql, row, |sql, n| {
        sql.push(marker);
        sql.push_str(&(n + offset).to_string());
        true
    });
}

/// Appends `text` to `out`, each `$n` in it written by `write` (which gives `false` to
/// leave it as it was).
fn each_parameter(out: &mut String, text: &str, mut write: impl FnMut(&mut String, usize) -> bool) {
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if !after[..digits].parse::<usize>().is_ok_and(|n| write(out, n)) {
            out.push('$');
            out.push_str(&after[..digits]);
        }
        rest = &after[digits..];
    }
    out.push_str(rest);
}

/// The statement that inserts `rows` (of one shape, at least two) on PostgreSQL from one
/// parameter, a JSON array of one object a row, its arguments named `a1`, `a2`, …, in
/// their order (a serial id follows it): `INSERT INTO t (a, b) SELECT r.a1, r.a2 FROM ROWS
/// FROM (json_to_recordset($1) AS (a1 bigint, a2 text)) WITH ORDINALITY … ORDER BY r.i`, the
/// shape's `row` with each `$n` read from the record. `None` for a single row, or a number
/// JSON cannot hold (the rows then go as `VALUES`). Each shape's statement is built once
/// and kept.
fn json_rows(rows: &[Later]) -> Option<Query<'static>> {
    let first = rows.first().filter(|_| rows.len() >= 2)?;
    let finite = |a: &Arg| !matches!(a, Arg::Real(Some(x)) if !x.is_finite());
    if !rows.iter().all(|l| l.args.iter().all(finite)) {
        return None;
    }
    let text = |a: &Arg| match a {
        Arg::Int(_) => 'i',
        Arg::Real(_) => 'r',
        Arg::Text(_) => 't',
    };
    let types: String = first.args.iter().map(text).collect();
    if rows.iter().any(|l| l.args.len() != types.len() || !l.args.iter().map(text).eq(types.chars())) {
        return None;
    }
    type Shape = ([(usize, usize); 3], String);
    static BUILT: std::sync::LazyLock<std::sync::Mutex<HashMap<Shape, &'static str>>> =
        std::sync::LazyLock::new(Default::default);
    // The texts are `'static`, so where they are tells them apart for good (as in `many_rows`).
    let at = |text: &str| (text.as_ptr() as usize, text.len());
    let shape = ([at(first.into), at(first.row), at(first.tail)], types.clone());
    let mut built = BUILT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let sql = *built.entry(shape).or_insert_with(|| {
        let into = first.into.trim_end();
        let into = into.strip_suffix("VALUES").unwrap_or(into);
        let row = first.row.trim();
        let row = row.strip_prefix('(').and_then(|r| r.strip_suffix(')')).unwrap_or(row);
        let mut select = String::with_capacity(row.len() * 3);
        each_parameter(&mut select, row, |select, n| {
            let known = (1..=types.len()).contains(&n);
            if known {
                select.push_str(&format!("r.a{n}"));
            }
            known
        });
        let (mut typed, mut named) = (Vec::new(), Vec::new());
        for (i, t) in types.bytes().enumerate() {
            let kind = match t {
                b'i' => "bigint",
                b'r' => "double precision",
                _ => "text",
            };
            typed.push(format!("a{} {kind}", i + 1));
            named.push(format!("a{}", i + 1));
        }
        let sql = format!(
            "{into}SELECT {select} FROM ROWS FROM (json_to_recordset(CAST($1 AS json)) AS ({})) \
             WITH ORDINALITY AS r({}, i) ORDER BY r.i{}",
            typed.join(", "),
            named.join(", "),
            first.tail
        );
        Box::leak(sql.into_boxed_str())
    });
    let json = |a: &Arg| match a {
        Arg::Int(v) => v.map_or(serde_json::Value::Null, serde_json::Value::from),
        Arg::Real(v) => v.map_or(serde_json::Value::Null, serde_json::Value::from),
        Arg::Text(v) => v.as_deref().map_or(serde_json::Value::Null, serde_json::Value::from),
    };
    let array: Vec<serde_json::Value> = rows
        .iter()
        .map(|l| {
            serde_json::Value::Object(
                l.args.iter().enumerate().map(|(i, a)| (format!("a{}", i + 1), json(a))).collect(),
            )
        })
        .collect();
    Some(Query {
        sql: Cow::Borrowed(sql),
        args: vec![Arg::Text(Some(Cow::Owned(serde_json::Value::Array(array).to_string())))],
        flushes: true,
    })
}

/// The SQLite writer connection, held for as long as this lives. A transaction begun on it
/// and not committed is rolled back when it is dropped.
pub(crate) struct Direct {
    conn: OwnedMutexGuard<rusqlite::Connection>,
    in_tx: bool,
}

impl Direct {
    /// Takes the connection, beginning a transaction when `begin` names one (`BEGIN` or
    /// `BEGIN IMMEDIATE`, perhaps after a `PRAGMA` that applies to the transaction).
    pub(crate) fn new(conn: OwnedMutexGuard<rusqlite::Connection>, begin: Option<&str>) -> Result<Direct> {
        let mut direct = Direct { conn, in_tx: false };
        if let Some(begin) = begin {
            direct.conn.execute_batch(begin)?;
            direct.in_tx = true;
        }
        Ok(direct)
    }

    /// Commits the transaction begun in [`Direct::new`].
    pub(crate) fn commit(mut self) -> Result<()> {
        if self.in_tx {
            self.conn.execute_batch("COMMIT")?;
            self.in_tx = false;
        }
        Ok(())
    }
}

impl Drop for Direct {
    fn drop(&mut self) {
        if self.in_tx && !self.conn.is_autocommit() {
            if let Err(e) = self.conn.execute_batch("ROLLBACK") {
                tracing::error!(error = %e, "rolling back a SQLite transaction failed");
            }
        }
    }
}

/// Opens the SQLite writer with the settings parley relies on.
pub(crate) fn open_writer(path: Option<&std::path::Path>) -> Result<rusqlite::Connection> {
    use rusqlite::OpenFlags;
    let conn = match path {
        Some(path) => rusqlite::Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?,
        None => rusqlite::Connection::open_in_memory()?,
    };
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    // Every statement the engine runs stays prepared (there are about a hundred).
    conn.set_prepared_statement_cache_capacity(256);
    conn.execute_batch(
        // As sqlx set them: foreign keys enforced. Deleted and overwritten rows (a
        // `!forget`, a cleared address) are zeroed in the file, not left behind in free
        // pages. With WAL (set on the file), FULL syncs the log at every commit: a message
        // acknowledged to its platform survives a power cut, not only a crash. Group commit
        // pays that once per batch.
        "PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON; PRAGMA synchronous = FULL;",
    )?;
    // A 32 MiB page cache instead of SQLite's 2 MiB: the engine's inserts land on random
    // pages of the participant-key indexes and the spam check reads an author's latest
    // posts, and each page it has to read again is a system call and a copy. 16 MiB took
    // the 50,000-post bench from 4,986 / 5,083 to 5,343 / 5,444 messages/s (when a message
    // still cost twice what it does now); 32 MiB, once group commits held 4,096 messages,
    // from 8,429 / 8,909 to 9,394 / 9,536 messages/s in a 150,000-post bench (alternated),
    // for 16 MiB more resident (127 MB at peak with 100,000 participants).
    conn.execute_batch("PRAGMA cache_size = -32768;")?;
    if path.is_some() {
        // WAL lets readers and the writer work at once (and costs far fewer fsyncs than the
        // rollback journal); it is a property of the file.
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
        // The log is copied back into the file by [`checkpoints`], not by whichever commit
        // happens to fill it: that copy, and its fsync of the database file, would
        // otherwise fall inside a participant's message now and then.
        conn.query_row("PRAGMA wal_autocheckpoint = 0", [], |_| Ok(()))?;
        // A log that grew large (a long read held back its copy) is cut back to this
        // size when it starts again, not kept at its largest.
        conn.query_row(&format!("PRAGMA journal_size_limit = {LOG_SIZE_LIMIT}"), [], |_| Ok(()))?;
    }
    Ok(conn)
}

/// How often the checkpointer copies the write-ahead log back into the file.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// Frames (pages) in the log from which a round of the checkpointer holds up the writer for
/// a moment so that the log can start again from its beginning (256 MiB of 4 KiB pages).
/// Holding it up costs a short checkpoint with two fsyncs (1.5–6 ms), and the messages that
/// arrive meanwhile wait for it: at an offered 1,000 posts/s a limit of 16,384 frames was
/// reached about once a second, and those waits were about half of the slowest 1 % of
/// messages (p99 4.2–6.0 ms over 14 runs, against 3.6–4.2 ms over 8 runs with this limit,
/// alternated; BENCHMARKS.md). SQLite's own default, 1,000 frames, held it up four times a
/// second more still. The price is disk space: a log of up to 256 MiB (and a round more)
/// after a long burst, written over in place.
pub(crate) const RESTART_FROM_FRAMES: i64 = 65_536;

/// The size the log is cut back to when it starts again after growing past it (while a
/// long read held back its copy): room for [`RESTART_FROM_FRAMES`] and a round more, so
/// that in steady work the log is written over in place, never cut and grown again.
const LOG_SIZE_LIMIT: i64 = 512 * 1024 * 1024;

/// Copies the write-ahead log of the SQLite file at `path` back into the file, on a thread
/// of its own with a connection of its own, for as long as `writer` can be upgraded (the
/// writer is open).
///
/// Each round runs a passive checkpoint, which never waits for, nor holds up, the writer
/// or a reader. But the log only starts again from its beginning when it has all been
/// copied *before* the next write transaction begins, and under steady writes that never
/// happens: commits land while the copy runs. The log then grew without end (850 MB in a
/// 50,000-post bench run; a sustained burst could fill the disk), and every commit wrote
/// to new blocks of the file, whose fsync costs about three times as much. So once the log
/// holds `restart_from` frames ([`RESTART_FROM_FRAMES`] unless a test sets fewer) and all
/// of it could be copied, the round copies what was written meanwhile, then takes the
/// writer's lock (in turn, like any transaction) and copies the few frames left; the next
/// transaction writes the log from its beginning again. While a reader's snapshot holds the
/// copy back (a long summary scan), rounds only copy what they can, and the log grows
/// until that reader is done.
pub(crate) fn checkpoints(
    path: &std::path::Path,
    writer: std::sync::Weak<tokio::sync::Mutex<rusqlite::Connection>>,
    restart_from: std::sync::Arc<std::sync::atomic::AtomicI64>,
) -> Result<()> {
    use rusqlite::OpenFlags;
    let conn = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(1))?;
    conn.execute_batch("PRAGMA synchronous = FULL;")?;
    std::thread::Builder::new()
        .name("parley-checkpoint".into())
        .spawn(move || {
            // The log's length at the last round, to tell whether anything was written since.
            let mut last_log = 0;
            while writer.strong_count() > 0 {
                std::thread::sleep(CHECKPOINT_EVERY);
                let first = match passive_checkpoint(&conn) {
                    Ok(pass) => pass,
                    Err(e) => {
                        tracing::warn!(error = %e, "copying SQLite's write-ahead log into the database failed; will retry");
                        continue;
                    }
                };
                let grew = first.log != last_log;
                last_log = first.log;
                // Hold the writer up only when that lets the log start again: it is long,
                // something was written since the last round (else the next write starts it
                // again anyway), and every frame could be copied (no reader's snapshot held
                // any back, as a long `!summary` scan does; then waiting is all one can do).
                if first.log < restart_from.load(std::sync::atomic::Ordering::Relaxed) || !grew || !first.complete() {
                    continue;
                }
                // Copy what was written during that pass without holding anyone up, until
                // little is left (after a reader held the copy back, that can be a lot).
                let mut seen = first.log;
                for _ in 0..3 {
                    match passive_checkpoint(&conn) {
                        Ok(pass) if pass.complete() && pass.log - seen > 1_000 => seen = pass.log,
                        _ => break,
                    }
                }
                let Some(writer) = writer.upgrade() else { break };
                let _writes_wait = writer.blocking_lock();
                if let Err(e) = passive_checkpoint(&conn) {
                    tracing::warn!(error = %e, "copying SQLite's write-ahead log into the database failed; will retry");
                }
            }
            // A last copy as the store closes, so that the log does not linger.
            let _ = passive_checkpoint(&conn);
        })
        .map_err(|e| Error::Io { context: "starting SQLite's checkpoint thread".into(), source: e })?;
    Ok(())
}

/// What a passive checkpoint did.
#[derive(Debug, Clone, Copy)]
struct Pass {
    /// Whether it could not run at all (another checkpoint was running).
    busy: bool,
    /// Frames in the log when it began.
    log: i64,
    /// Frames of the log copied into the file by now.
    copied: i64,
}

impl Pass {
    /// Every frame in the log when it began is in the file now. (Frames committed while
    /// it ran are not counted: a complete pass does not mean the log is all copied.)
    fn complete(self) -> bool {
        !self.busy && self.copied >= self.log
    }
}

/// Runs a passive checkpoint: it copies what it can without waiting for anyone, up to the
/// end of the log as it began and no further than the oldest reader's snapshot.
fn passive_checkpoint(conn: &rusqlite::Connection) -> Result<Pass> {
    // (busy, frames in the log, frames copied); -1 when the database is not in WAL mode.
    let (busy, log, copied): (i64, i64, i64) =
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(Pass { busy: busy != 0, log, copied })
}

/// A parameter's value.
#[derive(Debug, Clone)]
pub(crate) enum Arg<'q> {
    Int(Option<i64>),
    Real(Option<f64>),
    Text(Option<Cow<'q, str>>),
}

/// What can be bound to a `$n` parameter.
pub(crate) trait IntoArg<'q> {
    fn into_arg(self) -> Arg<'q>;
}

impl<'q> IntoArg<'q> for i64 {
    fn into_arg(self) -> Arg<'q> {
        Arg::Int(Some(self))
    }
}
impl<'q> IntoArg<'q> for Option<i64> {
    fn into_arg(self) -> Arg<'q> {
        Arg::Int(self)
    }
}
impl<'q> IntoArg<'q> for f64 {
    fn into_arg(self) -> Arg<'q> {
        Arg::Real(Some(self))
    }
}
impl<'q> IntoArg<'q> for &'q str {
    fn into_arg(self) -> Arg<'q> {
        Arg::Text(Some(Cow::Borrowed(self)))
    }
}
impl<'q> IntoArg<'q> for &'q String {
    fn into_arg(self) -> Arg<'q> {
        Arg::Text(Some(Cow::Borrowed(self.as_str())))
    }
}
impl<'q> IntoArg<'q> for String {
    fn into_arg(self) -> Arg<'q> {
        Arg::Text(Some(Cow::Owned(self)))
    }
}
impl<'q> IntoArg<'q> for Option<&'q str> {
    fn into_arg(self) -> Arg<'q> {
        Arg::Text(self.map(Cow::Borrowed))
    }
}
impl<'q> IntoArg<'q> for Option<String> {
    fn into_arg(self) -> Arg<'q> {
        Arg::Text(self.map(Cow::Owned))
    }
}
impl<'q> IntoArg<'q> for Option<&'q String> {
    fn into_arg(self) -> Arg<'q> {
        Arg::Text(self.map(|s| Cow::Borrowed(s.as_str())))
    }
}

/// A statement and its parameters, in `$n` order.
#[must_use = "a query does nothing until it is run"]
pub(crate) struct Query<'q> {
    sql: Cow<'q, str>,
    args: Vec<Arg<'q>>,
    /// Whether the rows queued on the connection are written first when the statement
    /// could see them ([`Conn::flush_before`]); see [`Query::unseen_queued`].
    flushes: bool,
}

/// A statement to run.
pub(crate) fn query<'q>(sql: impl Into<Cow<'q, str>>) -> Query<'q> {
    Query { sql: sql.into(), args: Vec::new(), flushes: true }
}

impl<'q> Query<'q> {
    /// Binds the next `$n`.
    pub(crate) fn bind(mut self, value: impl IntoArg<'q>) -> Query<'q> {
        self.args.push(value.into_arg());
        self
    }

    /// Runs it without first writing the rows queued on the connection: the caller knows
    /// that this read can neither see them nor make them fail (say, it reads only rows
    /// of a participant none of the queued rows belong to).
    pub(crate) fn unseen_queued(self) -> Query<'q> {
        self.unseen_queued_if(true)
    }

    /// [`Query::unseen_queued`] when `unseen`; as it was otherwise.
    pub(crate) fn unseen_queued_if(mut self, unseen: bool) -> Query<'q> {
        self.flushes &= !unseen;
        self
    }

    /// Runs it; the number of rows it changed.
    pub(crate) async fn execute(self, conn: &mut Conn) -> Result<u64> {
        if self.flushes {
            conn.flush_before(&self.sql).await?;
        }
        self.run(conn).await
    }

    /// Runs it without first writing the rows queued on `conn`.
    async fn run(self, conn: &mut Conn) -> Result<u64> {
        match conn.target() {
            Target::Direct(c) => run_direct(c, &self.sql, &self.args, |_| Ok(())),
            Target::Sqlx(c) => Ok(self.into_sqlx().execute(c).await?.rows_affected()),
        }
    }

    /// Runs it; every row.
    pub(crate) async fn fetch_all(self, conn: &mut Conn) -> Result<Vec<DbRow>> {
        let mut rows = Vec::new();
        self.for_each(conn, |row| {
            rows.push(row);
            Ok(())
        })
        .await?;
        Ok(rows)
    }

    /// Runs it; the first row, if any.
    pub(crate) async fn fetch_optional(self, conn: &mut Conn) -> Result<Option<DbRow>> {
        if self.flushes {
            conn.flush_before(&self.sql).await?;
        }
        match conn.target() {
            Target::Direct(c) => {
                let mut first = None;
                run_direct(c, &self.sql, &self.args, |row| {
                    first.get_or_insert(row);
                    Ok(())
                })?;
                Ok(first)
            }
            Target::Sqlx(c) => Ok(self.into_sqlx().fetch_optional(c).await?.map(DbRow::Any)),
        }
    }

    /// Runs it; the first row, which must exist.
    pub(crate) async fn fetch_one(self, conn: &mut Conn) -> Result<DbRow> {
        self.fetch_optional(conn).await?.ok_or(Error::Database(sqlx::Error::RowNotFound))
    }

    /// Runs it and calls `f` for each row as it comes, without holding them all; returns
    /// how many rows there were.
    pub(crate) async fn for_each(self, conn: &mut Conn, mut f: impl FnMut(DbRow) -> Result<()>) -> Result<u64> {
        use futures_util::TryStreamExt;
        let mut n = 0;
        let mut each = |row| {
            n += 1;
            f(row)
        };
        if self.flushes {
            conn.flush_before(&self.sql).await?;
        }
        match conn.target() {
            Target::Direct(c) => {
                run_direct(c, &self.sql, &self.args, each)?;
            }
            Target::Sqlx(c) => {
                let mut rows = self.into_sqlx().fetch(c);
                while let Some(row) = rows.try_next().await? {
                    each(DbRow::Any(row))?;
                }
            }
        }
        Ok(n)
    }

    fn into_sqlx(self) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments> {
        let mut q = sqlx::query(AssertSqlSafe(self.sql.into_owned()));
        for arg in self.args {
            q = match arg {
                Arg::Int(v) => q.bind(v),
                Arg::Real(v) => q.bind(v),
                Arg::Text(None) => q.bind(None::<String>),
                Arg::Text(Some(Cow::Borrowed(s))) => q.bind(s),
                Arg::Text(Some(Cow::Owned(s))) => q.bind(s),
            };
        }
        q
    }
}

/// Runs statements without parameters one after the other: on PostgreSQL in one round trip
/// (the simple query protocol), on the SQLite writer each kept prepared.
pub(crate) async fn run_script(conn: &mut Conn, statements: &[&str]) -> Result<()> {
    conn.flush().await?;
    match conn.target() {
        Target::Direct(c) => {
            for statement in statements {
                run_direct(c, statement, &[], |_| Ok(()))?;
            }
        }
        Target::Sqlx(c) => {
            sqlx::raw_sql(AssertSqlSafe(statements.join("; "))).execute(c).await?;
        }
    }
    Ok(())
}

/// Runs a statement on the SQLite writer, calling `on_row` for each row it returns.
/// Returns the rows it changed (0 for a read).
fn run_direct(
    conn: &rusqlite::Connection,
    sql: &str,
    args: &[Arg<'_>],
    mut on_row: impl FnMut(DbRow) -> Result<()>,
) -> Result<u64> {
    let mut stmt = prepare_direct(conn, sql)?;
    let count = stmt.parameter_count();
    if count != args.len() {
        return Err(Error::Inconsistent(format!("a statement takes {count} parameters but {} were given", args.len())));
    }
    for (i, arg) in args.iter().enumerate() {
        match arg {
            Arg::Int(v) => stmt.raw_bind_parameter(i + 1, v)?,
            Arg::Real(v) => stmt.raw_bind_parameter(i + 1, v)?,
            Arg::Text(v) => stmt.raw_bind_parameter(i + 1, v.as_deref())?,
        }
    }
    let width = stmt.column_count();
    let readonly = stmt.readonly();
    // Column names are read once, with the first row (most writes return none).
    let mut names: Option<Arc<[String]>> = None;
    let mut rows = stmt.raw_query();
    while let Some(row) = rows.next()? {
        let names = names.get_or_insert_with(|| row.as_ref().column_names().into_iter().map(String::from).collect());
        let mut values = Vec::with_capacity(width);
        for i in 0..width {
            values.push(rusqlite::types::Value::from(row.get_ref(i)?));
        }
        on_row(DbRow::Direct(DirectRow { names: names.clone(), values }))?;
    }
    drop(rows);
    Ok(if readonly { 0 } else { conn.changes() })
}

/// `sql` prepared (or found prepared) on the SQLite writer, its `$n` parameters bound by
/// number. `$n` is a named parameter to SQLite, numbered in the order names first appear;
/// most statements name `$1`, `$2`, … in that order, so they are taken as written (no copy
/// of the text a statement). The rest are prepared with `$n` written `?n`.
fn prepare_direct<'c>(conn: &'c rusqlite::Connection, sql: &str) -> Result<rusqlite::CachedStatement<'c>> {
    if in_number_order(sql) {
        return Ok(conn.prepare_cached(sql)?);
    }
    Ok(conn.prepare_cached(&numbered_parameters(sql))?)
}

/// Whether the parameters of `sql` are `$n` only, each first named after `$1` … `$(n-1)`,
/// so that SQLite numbers `$n` as `n`. A scan of the text for `$`, `?` and `'` (memchr):
/// asking SQLite for a parameter's name walks a list, which for a many-row `INSERT` cost
/// more than the copy it saves. (`:name` and `@name` parameters are not used here.)
fn in_number_order(sql: &str) -> bool {
    let bytes = sql.as_bytes();
    let (mut quoted, mut highest) = (false, 0usize);
    for i in memchr::memchr3_iter(b'$', b'?', b'\'', bytes) {
        match bytes[i] {
            b'\'' => quoted = !quoted,
            _ if quoted => {}
            b'?' => return false,
            _ => {
                let digits = bytes[i + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
                let Ok(n) = sql[i + 1..i + 1 + digits].parse::<usize>() else { return false };
                if n > highest + 1 {
                    return false;
                }
                highest = highest.max(n);
            }
        }
    }
    true
}

/// The statement with `$n` written `?n` (outside quoted text), which SQLite binds by
/// number.
fn numbered_parameters(sql: &str) -> Cow<'_, str> {
    if !sql.contains('$') {
        return Cow::Borrowed(sql);
    }
    // Byte by byte: `$`, `?` and `'` are ASCII, so no other character is touched (this
    // runs for every statement on the writer).
    let mut out = sql.as_bytes().to_vec();
    let mut quoted = false;
    for b in &mut out {
        match *b {
            b'\'' => quoted = !quoted,
            b'$' if !quoted => *b = b'?',
            _ => {}
        }
    }
    match String::from_utf8(out) {
        Ok(numbered) => Cow::Owned(numbered),
        // Unreachable: only ASCII bytes were replaced by ASCII bytes.
        Err(_) => Cow::Borrowed(sql),
    }
}

/// A row from either kind of connection.
pub(crate) enum DbRow {
    Any(AnyRow),
    Direct(DirectRow),
}

/// A row read on the SQLite writer.
pub(crate) struct DirectRow {
    names: Arc<[String]>,
    values: Vec<rusqlite::types::Value>,
}

/// A column, by name or position.
pub(crate) trait ColumnIndex: sqlx::ColumnIndex<AnyRow> + std::fmt::Debug + Copy {
    fn position(&self, names: &[String]) -> Option<usize>;
}

impl ColumnIndex for usize {
    fn position(&self, names: &[String]) -> Option<usize> {
        (*self < names.len()).then_some(*self)
    }
}

impl ColumnIndex for &str {
    fn position(&self, names: &[String]) -> Option<usize> {
        names.iter().position(|n| n == self)
    }
}

/// What a column can be read as.
pub(crate) trait FromDb: Sized + for<'r> sqlx::Decode<'r, Any> + sqlx::Type<Any> {
    fn from_value(value: &rusqlite::types::Value) -> Option<Self>;
}

impl FromDb for i64 {
    fn from_value(value: &rusqlite::types::Value) -> Option<Self> {
        match value {
            rusqlite::types::Value::Integer(v) => Some(*v),
            _ => None,
        }
    }
}

impl FromDb for f64 {
    fn from_value(value: &rusqlite::types::Value) -> Option<Self> {
        match value {
            rusqlite::types::Value::Real(v) => Some(*v),
            rusqlite::types::Value::Integer(v) => Some(*v as f64),
            _ => None,
        }
    }
}

impl FromDb for String {
    fn from_value(value: &rusqlite::types::Value) -> Option<Self> {
        match value {
            rusqlite::types::Value::Text(v) => Some(v.clone()),
            _ => None,
        }
    }
}

impl FromDb for bool {
    fn from_value(value: &rusqlite::types::Value) -> Option<Self> {
        match value {
            rusqlite::types::Value::Integer(v) => Some(*v != 0),
            _ => None,
        }
    }
}

impl<T: FromDb> FromDb for Option<T> {
    fn from_value(value: &rusqlite::types::Value) -> Option<Self> {
        match value {
            rusqlite::types::Value::Null => Some(None),
            other => T::from_value(other).map(Some),
        }
    }
}

impl DbRow {
    /// A column's value.
    pub(crate) fn try_get<T: FromDb, I: ColumnIndex>(&self, column: I) -> Result<T> {
        match self {
            DbRow::Any(row) => Ok(row.try_get::<T, I>(column)?),
            DbRow::Direct(row) => {
                let i = column
                    .position(&row.names)
                    .ok_or_else(|| Error::Inconsistent(format!("no column {column:?} in the result")))?;
                T::from_value(&row.values[i]).ok_or_else(|| {
                    Error::Inconsistent(format!(
                        "column {column:?} holds {:?}, not {}",
                        row.values[i].data_type(),
                        std::any::type_name::<T>()
                    ))
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::{in_number_order, many_rows, numbered_parameters, run_direct, Arg};
    use std::borrow::Cow;

    /// Parameters bound by number whatever order their names first appear in, taken as
    /// written or numbered.
    #[test]
    fn parameters_bind_by_number_in_any_order() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let args = [Arg::Text(Some(Cow::Borrowed("a"))), Arg::Text(Some(Cow::Borrowed("b")))];
        for (sql, want) in [
            ("SELECT $1 || $2 || $1", "aba"),
            ("SELECT $2 || $1 || $2", "bab"),
            ("SELECT '$2' || $1 || $2", "$2ab"),
            ("SELECT ?2 || ?1", "ba"),
            ("SELECT $1 || $3 || $2", "error"),
        ] {
            if want == "error" {
                assert!(run_direct(&conn, sql, &args, |_| Ok(())).is_err(), "{sql}");
                continue;
            }
            for _ in 0..2 {
                let mut got = String::new();
                run_direct(&conn, sql, &args, |row| {
                    got = row.try_get::<String, _>(0)?;
                    Ok(())
                })
                .unwrap();
                assert_eq!(got, want, "{sql}");
            }
        }
    }

    #[test]
    fn many_rows_are_numbered_on() {
        let (into, row) = ("INSERT INTO t (a, b, c) VALUES ", "($1, '$x', $2, $1)");
        assert_eq!(many_rows(into, row, "", 2, 1, true), "INSERT INTO t (a, b, c) VALUES (?1, '$x', ?2, ?1)");
        let three = "INSERT INTO t (a, b, c) VALUES ($1, '$x', $2, $1), ($3, '$x', $4, $3), ($5, '$x', $6, $5)";
        assert_eq!(many_rows(into, row, "", 2, 3, false), three);
        assert_eq!(many_rows(into, row, "", 2, 3, false), three);
        assert_eq!(many_rows(into, row, "", 2, 3, true), three.replace('$', "?").replace("'?x'", "'$x'"));
        assert_eq!(many_rows(into, row, " RETURNING a", 2, 1, false), format!("{into}($1, '$x', $2, $1) RETURNING a"));
    }

    #[test]
    fn parameters_in_number_order() {
        assert!(in_number_order("SELECT 1"));
        assert!(in_number_order("SELECT $1, $2, $1, '$9', $3"));
        assert!(!in_number_order("SELECT $2, $1"));
        assert!(!in_number_order("SELECT $1, ?2"));
        assert!(!in_number_order("SELECT $a"));
        assert!(in_number_order("SELECT 'it''s $5', $1"));
        assert!(!in_number_order("SELECT 'a' || $2 || '?'"));
        assert!(!in_number_order("SELECT $1, $3"));
    }

    #[test]
    fn dollar_parameters_become_numbered_outside_quotes() {
        assert_eq!(numbered_parameters("SELECT 1"), "SELECT 1");
        assert_eq!(
            numbered_parameters("UPDATE t SET a = $1, b = '$2 stays' WHERE c = $12"),
            "UPDATE t SET a = ?1, b = '$2 stays' WHERE c = ?12"
        );
        assert_eq!(numbered_parameters("SELECT 'é$1ü' || $1"), "SELECT 'é$1ü' || ?1");
    }
}
