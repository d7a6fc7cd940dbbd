//! Rate-limiter state shared by several parley processes on one database (`limiter_state`):
//! a GCRA theoretical arrival time per participant key and limit, and the refusals counted
//! towards a flood. Checked and updated inside the message's own transaction, each in one
//! statement, so two processes handling the same participant at once serialise on the row
//! and cannot both use the last allowance; or, in a group commit without savepoints, read
//! for all of the group's senders at once and written back as it commits
//! ([`LimiterRows`]), under the fleet's writer lock that the transaction holds throughout. The decisions around these queries are in
//! [`crate::limits`].

use std::collections::{HashMap, HashSet};

use super::db::query;

use super::{Store, Tx};
use crate::error::Result;
use crate::ids::ParticipantKey;

/// The limit name of flood counting.
const FLOOD: &str = "flood";

/// The limiter rows of a group commit's senders, read in one statement when the group
/// begins ([`Tx::read_limits_of`]) and written back in one as it commits, instead of a
/// statement (a round trip) for every check. Only in a transaction that holds the fleet's
/// writer lock from its start and sets no savepoints: no other process can change these
/// rows meanwhile, and nothing of the group is kept unless all of it is.
#[derive(Debug, Default)]
pub(super) struct LimiterRows {
    /// Whose rows were read (a key not in here is checked with statements as before).
    keys: HashSet<String>,
    /// Every row of those keys: `(tat, refusals)`, `None` once deleted.
    rows: HashMap<(String, String), Option<(i64, i64)>>,
    /// The rows changed since they were read.
    changed: HashSet<(String, String)>,
}

impl LimiterRows {
    fn holds(&self, key: &ParticipantKey) -> bool {
        self.keys.contains(&key.0)
    }

    fn get(&self, key: &ParticipantKey, name: &str) -> Option<(i64, i64)> {
        self.rows.get(&(key.0.clone(), name.to_string())).copied().flatten()
    }

    fn set(&mut self, key: &ParticipantKey, name: &str, row: Option<(i64, i64)>) {
        let id = (key.0.clone(), name.to_string());
        self.rows.insert(id.clone(), row);
        self.changed.insert(id);
    }

    /// [`Tx::take_limit`] on the rows held, with the same arithmetic as its statement.
    fn take(&mut self, key: &ParticipantKey, name: &str, now: i64, every_ms: i64, tolerance_ms: i64) -> Option<i64> {
        match self.get(key, name) {
            None => {
                self.set(key, name, Some((now + every_ms, 0)));
                None
            }
            Some((tat, refusals)) if tat - now <= tolerance_ms => {
                self.set(key, name, Some((tat.max(now) + every_ms, refusals)));
                None
            }
            Some((tat, _)) => Some((tat - tolerance_ms - now).max(0)),
        }
    }

    /// [`Tx::count_refusal`] on the rows held, with the same arithmetic as its statement.
    fn count_refusal(&mut self, key: &ParticipantKey, now: i64, window_ms: i64) -> i64 {
        let row = match self.get(key, FLOOD) {
            Some((tat, refusals)) if tat >= now => (tat, refusals + 1),
            _ => (now + window_ms, 1),
        };
        self.set(key, FLOOD, Some(row));
        row.1
    }
}

impl Tx {
    /// Reads the limiter rows of `keys` at once, so that their checks in this transaction
    /// need no statement of their own until it commits (PostgreSQL; nothing to do on
    /// SQLite, whose limits are kept in memory). For a transaction that sets no
    /// savepoints; setting one writes the rows back first.
    pub async fn read_limits_of(&mut self, keys: &[&ParticipantKey]) -> Result<()> {
        if !self.conn.is_postgres() || keys.is_empty() {
            return Ok(());
        }
        self.write_limits().await?;
        let keys: HashSet<String> = keys.iter().map(|k| k.0.clone()).collect();
        let list = serde_json::Value::Array(keys.iter().map(|k| serde_json::Value::String(k.clone())).collect());
        let mut rows = HashMap::new();
        query(
            "SELECT participant_key, name, tat, refusals FROM limiter_state \
             WHERE participant_key IN (SELECT value FROM json_array_elements_text(CAST($1 AS json)))",
        )
        .bind(list.to_string())
        .for_each(&mut self.conn, |row| {
            let id = (row.try_get::<String, _>("participant_key")?, row.try_get::<String, _>("name")?);
            rows.insert(id, Some((row.try_get::<i64, _>("tat")?, row.try_get::<i64, _>("refusals")?)));
            Ok(())
        })
        .await?;
        self.limiter = Some(LimiterRows { keys, rows, changed: HashSet::new() });
        Ok(())
    }

    /// Writes back the limiter rows read by [`Tx::read_limits_of`] that changed, and
    /// checks with statements again from here on.
    pub(super) async fn write_limits(&mut self) -> Result<()> {
        let Some(held) = self.limiter.take() else { return Ok(()) };
        let mut kept = Vec::new();
        let mut deleted = Vec::new();
        for id in &held.changed {
            match held.rows.get(id).copied().flatten() {
                Some((tat, refusals)) => kept.push(serde_json::json!({
                    "participant_key": id.0, "name": id.1, "tat": tat, "refusals": refusals
                })),
                None => deleted.push(serde_json::json!({ "participant_key": id.0, "name": id.1 })),
            }
        }
        if !kept.is_empty() {
            query(
                "INSERT INTO limiter_state (participant_key, name, tat, refusals) \
                 SELECT r.participant_key, r.name, r.tat, r.refusals FROM json_to_recordset(CAST($1 AS json)) \
                 AS r(participant_key text, name text, tat bigint, refusals bigint) \
                 ON CONFLICT (participant_key, name) DO UPDATE SET tat = EXCLUDED.tat, refusals = EXCLUDED.refusals",
            )
            .bind(serde_json::Value::Array(kept).to_string())
            .execute(&mut self.conn)
            .await?;
        }
        if !deleted.is_empty() {
            query(
                "DELETE FROM limiter_state WHERE (participant_key, name) IN \
                 (SELECT r.participant_key, r.name FROM json_to_recordset(CAST($1 AS json)) \
                 AS r(participant_key text, name text))",
            )
            .bind(serde_json::Value::Array(deleted).to_string())
            .execute(&mut self.conn)
            .await?;
        }
        Ok(())
    }

    /// Takes one allowance of limit `name` for `key` at `now` (Unix ms), under GCRA with
    /// one allowance every `every_ms` and a tolerance of `tolerance_ms` ((burst − 1) ×
    /// `every_ms`): allowed when `max(tat, now) − now ≤ tolerance`, and then
    /// `tat = max(tat, now) + every`. `None` when allowed (and recorded), else how many
    /// milliseconds until it would be.
    pub async fn take_limit(
        &mut self,
        key: &ParticipantKey,
        name: &str,
        now: i64,
        every_ms: i64,
        tolerance_ms: i64,
    ) -> Result<Option<i64>> {
        if let Some(held) = self.limiter.as_mut().filter(|h| h.holds(key)) {
            return Ok(held.take(key, name, now, every_ms, tolerance_ms));
        }
        // The conflict update's WHERE makes check and update one step: a refused update
        // returns no row but still locks it (PostgreSQL), so the read below is stable.
        let taken = query(
            "INSERT INTO limiter_state (participant_key, name, tat, refusals) VALUES ($1, $2, $3 + $4, 0) \
             ON CONFLICT (participant_key, name) DO UPDATE \
             SET tat = (CASE WHEN limiter_state.tat > $3 THEN limiter_state.tat ELSE $3 END) + $4 \
             WHERE limiter_state.tat - $3 <= $5 \
             RETURNING tat",
        )
        .bind(&key.0)
        .bind(name)
        .bind(now)
        .bind(every_ms)
        .bind(tolerance_ms)
        .fetch_optional(&mut self.conn)
        .await?;
        if taken.is_some() {
            return Ok(None);
        }
        let tat: i64 = query("SELECT tat FROM limiter_state WHERE participant_key = $1 AND name = $2")
            .bind(&key.0)
            .bind(name)
            .fetch_one(&mut self.conn)
            .await?
            .try_get("tat")?;
        Ok(Some((tat - tolerance_ms - now).max(0)))
    }

    /// Counts one refusal of `key` at `now` in a window of `window_ms` that starts at the
    /// first refusal (a new window once it has passed); returns the refusals in the window.
    pub async fn count_refusal(&mut self, key: &ParticipantKey, now: i64, window_ms: i64) -> Result<i64> {
        if let Some(held) = self.limiter.as_mut().filter(|h| h.holds(key)) {
            return Ok(held.count_refusal(key, now, window_ms));
        }
        // `tat` is the window's end here: a passed window carries no state, like a GCRA row.
        let row = query(
            "INSERT INTO limiter_state (participant_key, name, tat, refusals) VALUES ($1, $2, $3 + $4, 1) \
             ON CONFLICT (participant_key, name) DO UPDATE SET \
             refusals = CASE WHEN limiter_state.tat < $3 THEN 1 ELSE limiter_state.refusals + 1 END, \
             tat = CASE WHEN limiter_state.tat < $3 THEN $3 + $4 ELSE limiter_state.tat END \
             RETURNING refusals",
        )
        .bind(&key.0)
        .bind(FLOOD)
        .bind(now)
        .bind(window_ms)
        .fetch_one(&mut self.conn)
        .await?;
        row.try_get("refusals")
    }

    /// Starts `key`'s refusal count afresh (after a flood mute).
    pub async fn clear_refusals(&mut self, key: &ParticipantKey) -> Result<()> {
        if let Some(held) = self.limiter.as_mut().filter(|h| h.holds(key)) {
            held.set(key, FLOOD, None);
            return Ok(());
        }
        query("DELETE FROM limiter_state WHERE participant_key = $1 AND name = $2")
            .bind(&key.0)
            .bind(FLOOD)
            .execute(&mut self.conn)
            .await?;
        Ok(())
    }

    /// `!forget`: deletes `key`'s limiter rows that no longer limit anything at `now`. Rows
    /// still limiting are kept until their time passes (then pruned), like sanctions:
    /// deleting them would let `!forget` lift every limit.
    pub async fn forget_limits(&mut self, key: &ParticipantKey, now: i64) -> Result<u64> {
        self.write_limits().await?;
        query("DELETE FROM limiter_state WHERE participant_key = $1 AND tat < $2")
            .bind(&key.0)
            .bind(now)
            .execute(&mut self.conn)
            .await
    }

    /// The limiter rows of `key` (for tests).
    pub async fn limiter_rows_of(&mut self, key: &ParticipantKey) -> Result<i64> {
        self.write_limits().await?;
        let row = query("SELECT COUNT(*) FROM limiter_state WHERE participant_key = $1")
            .bind(&key.0)
            .fetch_one(&mut self.conn)
            .await?;
        row.try_get::<i64, _>(0)
    }
}

impl Store {
    /// Deletes limiter rows that no longer limit anyone (their time has passed), outside any
    /// message's transaction but under the writer lock that messages take (on PostgreSQL the
    /// fleet's advisory lock): deleting many rows at once while another process's message
    /// updated some of them deadlocked now and then.
    pub async fn prune_limits(&self, now: i64) -> Result<u64> {
        let mut tx = self.begin().await?;
        let pruned = query("DELETE FROM limiter_state WHERE tat < $1").bind(now).execute(&mut tx.conn).await?;
        tx.commit().await?;
        Ok(pruned)
    }

    /// Number of limiter rows (for tests and benchmarks).
    pub async fn limiter_rows(&self) -> Result<i64> {
        let row = query("SELECT COUNT(*) FROM limiter_state").fetch_one(&mut self.conn().await?).await?;
        row.try_get::<i64, _>(0)
    }
}
