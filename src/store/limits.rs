//! Rate-limiter state shared by several parley processes on one database (`limiter_state`):
//! a GCRA theoretical arrival time per participant key and limit, and the refusals counted
//! towards a flood. Checked and updated inside the message's own transaction, each in one
//! statement, so two processes handling the same participant at once serialise on the row
//! and cannot both use the last allowance. The decisions around these queries are in
//! [`crate::limits`].

use super::db::query;

use super::{Store, Tx};
use crate::error::Result;
use crate::ids::ParticipantKey;

/// The limit name of flood counting.
const FLOOD: &str = "flood";

impl Tx {
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
        query("DELETE FROM limiter_state WHERE participant_key = $1 AND tat < $2")
            .bind(&key.0)
            .bind(now)
            .execute(&mut self.conn)
            .await
    }

    /// The limiter rows of `key` (for tests).
    pub async fn limiter_rows_of(&mut self, key: &ParticipantKey) -> Result<i64> {
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
