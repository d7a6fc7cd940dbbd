//! Rate limits: per participant per action, per-discussion slow mode, and flood detection,
//! with governor's GCRA. On SQLite (one process) the state is governor's keyed limiters in
//! memory; on PostgreSQL, which several processes may share, the same algorithm runs on
//! rows of `limiter_state` inside each message's transaction (see `store::limits`), so a
//! participant cannot double their allowance by reaching two processes. Time comes from
//! the engine's [`Clock`](crate::clock::Clock), so tests move it by hand instead of
//! sleeping.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::Clock as _;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};

use crate::clock::Clock;
use crate::config::LimitsConfig;
use crate::error::Result;
use crate::ids::{DiscussionId, ParticipantKey};
use crate::store::{Backend, Store, Tx};

/// Adapts the engine's clock to governor's.
#[derive(Clone)]
pub struct GovernorClock(pub Arc<dyn Clock>);

impl governor::clock::Clock for GovernorClock {
    type Instant = Nanos;
    fn now(&self) -> Nanos {
        Nanos::from(self.0.now_ms().max(0) as u64 * 1_000_000)
    }
}

type Keyed<K> = RateLimiter<K, HashMapStateStore<K>, GovernorClock, NoOpMiddleware<Nanos>>;

/// What a participant is doing, each with its own limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Act {
    /// A new post.
    Post,
    /// A reply.
    Reply,
    /// A report.
    Report,
    /// Any other command.
    Command,
}

/// The outcome of a limit check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Go ahead.
    Allowed,
    /// Wait this long.
    Wait(Duration),
    /// Too many refusals in a row: mute for this long.
    Flood(Duration),
}

/// Where limiter state lives; chosen once, from the database backend, in [`Limits::new`].
enum State {
    /// One process (SQLite has a single writer): governor's keyed limiters in memory.
    Memory(Memory),
    /// Several processes may share the database (PostgreSQL): rows in `limiter_state`,
    /// checked and updated inside each message's transaction.
    Shared,
}

/// The in-memory limiters of one process.
struct Memory {
    clock: GovernorClock,
    acts: HashMap<Act, Keyed<ParticipantKey>>,
    slow: Mutex<HashMap<u64, Keyed<(DiscussionId, ParticipantKey)>>>,
    refusals: Mutex<HashMap<ParticipantKey, (u32, i64)>>,
    checks: AtomicU64,
}

/// All participant rate limits: per action, per-discussion slow mode and flood detection.
/// On PostgreSQL the state is in the database, so that a participant who reaches several
/// parley processes still has one allowance; on SQLite (one process) it is in memory.
/// Both give the same outcomes at the same times (GCRA, as governor implements it).
pub struct Limits {
    clock: Arc<dyn Clock>,
    config: LimitsConfig,
    state: State,
}

fn quota(burst: u32, every_secs: u64) -> Quota {
    let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(Duration::from_secs(every_secs.max(1)))
        .unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN))
        .allow_burst(burst)
}

impl Act {
    /// The limit's name in `limiter_state`.
    fn name(self) -> &'static str {
        match self {
            Act::Post => "post",
            Act::Reply => "reply",
            Act::Report => "report",
            Act::Command => "command",
        }
    }
}

/// The limit name of a discussion's slow mode in `limiter_state`.
fn slow_name(discussion: DiscussionId) -> String {
    format!("slow:{}", discussion.0)
}

impl Limits {
    /// Limits from the configuration, timed by `clock`, kept where `backend` needs them:
    /// in the database when several processes may share it (PostgreSQL), else in memory.
    pub fn new(config: &LimitsConfig, clock: Arc<dyn Clock>, backend: Backend) -> Limits {
        match backend {
            Backend::Postgres => Limits::shared(config, clock),
            Backend::Sqlite => Limits::in_memory(config, clock),
        }
    }

    /// Limits kept in this process's memory.
    pub fn in_memory(config: &LimitsConfig, clock: Arc<dyn Clock>) -> Limits {
        let gclock = GovernorClock(clock.clone());
        let mut acts = HashMap::new();
        for act in [Act::Post, Act::Reply, Act::Report, Act::Command] {
            let (burst, every) = Self::quota_of(config, act);
            acts.insert(act, RateLimiter::hashmap_with_clock(quota(burst, every), gclock.clone()));
        }
        let memory = Memory {
            clock: gclock,
            acts,
            slow: Mutex::new(HashMap::new()),
            refusals: Mutex::new(HashMap::new()),
            checks: AtomicU64::new(0),
        };
        Limits { clock, config: config.clone(), state: State::Memory(memory) }
    }

    /// Limits kept in the database, in the transaction each check is given.
    pub fn shared(config: &LimitsConfig, clock: Arc<dyn Clock>) -> Limits {
        Limits { clock, config: config.clone(), state: State::Shared }
    }

    /// Whether the state is in the database.
    pub fn is_shared(&self) -> bool {
        matches!(self.state, State::Shared)
    }

    fn quota_of(config: &LimitsConfig, act: Act) -> (u32, u64) {
        match act {
            Act::Post => (config.post_burst, config.post_every_secs),
            Act::Reply => (config.reply_burst, config.reply_every_secs),
            Act::Report => (config.report_burst, config.report_every_secs),
            Act::Command => (config.command_burst, config.command_every_secs),
        }
    }

    /// Checks (and, when allowed, uses up) one `act` of `key`, and the discussion's slow
    /// mode when `slow_mode_secs` is set. Shared state is read and written in `tx`, so it
    /// is rolled back with the message.
    pub async fn check(
        &self,
        tx: &mut Tx,
        key: &ParticipantKey,
        act: Act,
        slow: Option<(DiscussionId, u64)>,
    ) -> Result<Check> {
        self.check_inner(tx, key, Some(act), slow).await
    }

    /// Checks (and uses up) only a discussion's slow mode, for a message whose own limit
    /// was checked already.
    pub async fn check_slow(&self, tx: &mut Tx, key: &ParticipantKey, slow: (DiscussionId, u64)) -> Result<Check> {
        self.check_inner(tx, key, None, Some(slow)).await
    }

    async fn check_inner(
        &self,
        tx: &mut Tx,
        key: &ParticipantKey,
        act: Option<Act>,
        slow: Option<(DiscussionId, u64)>,
    ) -> Result<Check> {
        let slow = slow.filter(|(_, secs)| *secs > 0);
        match &self.state {
            State::Memory(memory) => Ok(memory.check(&self.config, key, act, slow)),
            State::Shared => {
                let now = self.clock.now_ms();
                let mut wait = None;
                if let Some(act) = act {
                    let (burst, every) = Self::quota_of(&self.config, act);
                    let every_ms = every.max(1) as i64 * 1000;
                    let tolerance = (burst.max(1) as i64 - 1) * every_ms;
                    wait = tx.take_limit(key, act.name(), now, every_ms, tolerance).await?;
                }
                if wait.is_none() {
                    if let Some((discussion, secs)) = slow {
                        wait = tx.take_limit(key, &slow_name(discussion), now, secs as i64 * 1000, 0).await?;
                    }
                }
                let Some(wait) = wait else { return Ok(Check::Allowed) };
                let window = self.config.flood_window_secs as i64 * 1000;
                let refusals = tx.count_refusal(key, now, window).await?;
                let check = refused(&self.config, refusals, Duration::from_millis(wait as u64));
                if matches!(check, Check::Flood(_)) {
                    tx.clear_refusals(key).await?;
                }
                Ok(check)
            }
        }
    }

    /// Forgets state that no longer limits anyone, so memory (or the table) stays bounded.
    /// In-memory limits prune themselves every 1024 checks too; rows in the database are
    /// deleted on the store's own connection, outside any message's transaction.
    pub async fn prune(&self, store: &Store) -> Result<u64> {
        match &self.state {
            State::Memory(memory) => {
                memory.prune(&self.config);
                Ok(0)
            }
            State::Shared => store.prune_limits(self.clock.now_ms()).await,
        }
    }

    /// `!forget`: the participant's limiter state goes once it no longer limits them. What
    /// still limits them stays until it runs out (at most the longest interval or flood
    /// window), like sanctions, so that `!forget` (never refused) and `!join` cannot lift
    /// every limit; it holds nothing but the key. In memory nothing is stored; pruning
    /// drops it.
    pub async fn forget(&self, tx: &mut Tx, key: &ParticipantKey) -> Result<()> {
        if let State::Shared = self.state {
            tx.forget_limits(key, self.clock.now_ms()).await?;
        }
        Ok(())
    }

    /// Number of keys held in memory (for tests and benchmarks; 0 when shared).
    pub fn tracked_keys(&self) -> usize {
        match &self.state {
            State::Memory(memory) => memory.tracked_keys(),
            State::Shared => 0,
        }
    }
}

/// The outcome of a refusal that is the `refusals`th in its window: a flood mutes.
fn refused(config: &LimitsConfig, refusals: i64, wait: Duration) -> Check {
    if config.flood_refusals > 0 && refusals >= i64::from(config.flood_refusals) {
        Check::Flood(Duration::from_secs(config.flood_mute_mins * 60))
    } else {
        Check::Wait(wait.max(Duration::from_secs(1)))
    }
}

impl Memory {
    fn check(
        &self,
        config: &LimitsConfig,
        key: &ParticipantKey,
        act: Option<Act>,
        slow: Option<(DiscussionId, u64)>,
    ) -> Check {
        if self.checks.fetch_add(1, Ordering::Relaxed) % 1024 == 1023 {
            self.prune(config);
        }
        let now = self.clock.now();
        let mut wait = None;
        if let Some(limiter) = act.and_then(|act| self.acts.get(&act)) {
            if let Err(not_until) = limiter.check_key(key) {
                wait = Some(not_until.wait_time_from(now));
            }
        }
        if wait.is_none() {
            if let Some((discussion, secs)) = slow {
                let mut slow = self.slow.lock().unwrap_or_else(|p| p.into_inner());
                let limiter = slow
                    .entry(secs)
                    .or_insert_with(|| RateLimiter::hashmap_with_clock(quota(1, secs), self.clock.clone()));
                if let Err(not_until) = limiter.check_key(&(discussion, key.clone())) {
                    wait = Some(not_until.wait_time_from(now));
                }
            }
        }
        let Some(wait) = wait else { return Check::Allowed };
        // Count refusals inside a window; a flood becomes a temporary mute.
        let now_ms = self.clock.0.now_ms();
        let mut refusals = self.refusals.lock().unwrap_or_else(|p| p.into_inner());
        let entry = refusals.entry(key.clone()).or_insert((0, now_ms));
        if now_ms - entry.1 > config.flood_window_secs as i64 * 1000 {
            *entry = (0, now_ms);
        }
        entry.0 += 1;
        let check = refused(config, i64::from(entry.0), wait);
        if matches!(check, Check::Flood(_)) {
            refusals.remove(key);
        }
        check
    }

    fn prune(&self, config: &LimitsConfig) {
        for limiter in self.acts.values() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        let slow = self.slow.lock().unwrap_or_else(|p| p.into_inner());
        for limiter in slow.values() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        let now_ms = self.clock.0.now_ms();
        let window = config.flood_window_secs as i64 * 1000;
        self.refusals.lock().unwrap_or_else(|p| p.into_inner()).retain(|_, (_, since)| now_ms - *since <= window);
    }

    fn tracked_keys(&self) -> usize {
        let slow: usize = self.slow.lock().unwrap_or_else(|p| p.into_inner()).values().map(|l| l.len()).sum();
        self.acts.values().map(|l| l.len()).sum::<usize>() + slow
    }
}

/// Outbound pacing: at most a burst of messages per platform channel, then one every
/// period, so parley stays inside each platform's published limits ([`chat::Limits`]).
/// The configuration can only make a platform's pacing stricter.
pub struct Pacing {
    clock: GovernorClock,
    limiters: HashMap<chat::Platform, Keyed<String>>,
}

impl Pacing {
    /// Pacing for every platform that needs it: the stricter of the platform's own limits
    /// and the configured `burst` messages, then one every `every_ms`.
    pub fn new(burst: u32, every_ms: u64, clock: Arc<dyn Clock>) -> Pacing {
        let clock = GovernorClock(clock);
        let mut limiters = HashMap::new();
        for platform in chat::Platform::ALL {
            let Some(declared) = platform.limits().pacing else { continue };
            let burst = burst.min(declared.burst).max(1);
            let every = Duration::from_millis(every_ms.max(1)).max(declared.every);
            let quota = Quota::with_period(every)
                .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
                .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN));
            limiters.insert(platform, RateLimiter::hashmap_with_clock(quota, clock.clone()));
        }
        Pacing { limiters, clock }
    }

    /// `None` when a message may go to `channel` now, else how long to wait.
    pub fn check(&self, platform: chat::Platform, channel: &str) -> Option<Duration> {
        let limiter = self.limiters.get(&platform)?;
        let outcome = limiter.check_key(&channel.to_string());
        if limiter.len() > 10_000 {
            limiter.retain_recent();
        }
        outcome.err().map(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

/// "2 minutes", "45 seconds", "1 hour 5 minutes".
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs().max(1);
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let unit = |n: u64, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    match (h, m, s) {
        (0, 0, s) => unit(s, "second"),
        (0, m, 0) => unit(m, "minute"),
        (0, m, s) if m < 5 => format!("{} {}", unit(m, "minute"), unit(s, "second")),
        (0, m, _) => unit(m + 1, "minute"),
        (h, 0, _) => unit(h, "hour"),
        (h, m, _) => format!("{} {}", unit(h, "hour"), unit(m, "minute")),
    }
}

/// Parses "30m", "2h", "1d", "45s", "90" (minutes).
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim().to_lowercase();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().ok().filter(|n| *n > 0)?;
    let unit_secs: u64 = match unit.trim() {
        "" | "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        "w" | "week" | "weeks" => 604_800,
        _ => return None,
    };
    // Checked: a huge number must be refused, not wrap round to a short mute.
    let secs = n.checked_mul(unit_secs)?;
    (secs <= 365 * 86_400).then(|| Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::clock::ManualClock;

    fn config() -> LimitsConfig {
        LimitsConfig { post_burst: 3, post_every_secs: 10, flood_refusals: 5, ..LimitsConfig::default() }
    }

    /// Limits with a database to keep shared state in, each check in a transaction of its
    /// own as the engine does it.
    struct Rig {
        store: Store,
        limits: Limits,
    }

    impl Rig {
        async fn check(&self, k: &ParticipantKey, act: Act, slow: Option<(DiscussionId, u64)>) -> Check {
            let mut tx = self.store.begin().await.unwrap();
            let check = self.limits.check(&mut tx, k, act, slow).await.unwrap();
            tx.commit().await.unwrap();
            check
        }
    }

    /// The same limits in memory and in the database (SQLite here; PostgreSQL in
    /// tests/shared_limits.rs).
    async fn rigs(clock: &ManualClock, config: &LimitsConfig) -> [Rig; 2] {
        let clock: Arc<dyn Clock> = Arc::new(clock.clone());
        [
            Rig {
                store: Store::connect("sqlite::memory:").await.unwrap(),
                limits: Limits::in_memory(config, clock.clone()),
            },
            Rig { store: Store::connect("sqlite::memory:").await.unwrap(), limits: Limits::shared(config, clock) },
        ]
    }

    #[tokio::test]
    async fn bursts_then_waits_then_refills() {
        let clock = ManualClock::new(1_000_000);
        for l in rigs(&clock, &config()).await {
            let k = ParticipantKey("a".into());
            for _ in 0..3 {
                assert_eq!(l.check(&k, Act::Post, None).await, Check::Allowed);
            }
            let Check::Wait(w) = l.check(&k, Act::Post, None).await else { panic!("should wait") };
            assert!(w <= Duration::from_secs(10) && w >= Duration::from_secs(9), "{w:?}");
            assert_eq!(
                l.check(&ParticipantKey("b".into()), Act::Post, None).await,
                Check::Allowed,
                "others unaffected"
            );
            clock.advance_ms(10_000);
            assert_eq!(l.check(&k, Act::Post, None).await, Check::Allowed);
        }
    }

    #[tokio::test]
    async fn slow_mode_and_flood() {
        let clock = ManualClock::new(1_000_000);
        for l in rigs(&clock, &config()).await {
            let k = ParticipantKey("a".into());
            let d = Some((DiscussionId(1), 60));
            assert_eq!(l.check(&k, Act::Post, d).await, Check::Allowed);
            assert!(matches!(l.check(&k, Act::Post, d).await, Check::Wait(w) if w > Duration::from_secs(50)));
            let mut outcome = Check::Allowed;
            for _ in 0..10 {
                outcome = l.check(&k, Act::Post, d).await;
                if matches!(outcome, Check::Flood(_)) {
                    break;
                }
            }
            assert!(matches!(outcome, Check::Flood(_)));
        }
    }

    /// The database keeps exactly governor's timing: a long pseudo-random run of checks
    /// (several keys, actions, slow modes, clock steps) gives identical outcomes.
    #[tokio::test]
    async fn shared_state_matches_governor_exactly() {
        let clock = ManualClock::new(1_790_000_000_000);
        let config = LimitsConfig {
            post_burst: 3,
            post_every_secs: 7,
            reply_burst: 2,
            reply_every_secs: 3,
            command_burst: 1,
            command_every_secs: 2,
            flood_refusals: 6,
            flood_window_secs: 20,
            ..LimitsConfig::default()
        };
        let [memory, shared] = rigs(&clock, &config).await;
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let (mut allowed, mut waits, mut floods) = (0, 0, 0);
        for i in 0..3000 {
            let k = ParticipantKey(format!("k{}", next(3)));
            let act = [Act::Post, Act::Reply, Act::Command][next(3) as usize];
            let slow = [None, Some((DiscussionId(1), 5)), Some((DiscussionId(2), 11))][next(3) as usize];
            let (a, b) = if next(4) == 0 {
                let slow = slow.unwrap_or((DiscussionId(3), 4));
                let mut outcomes = Vec::new();
                for l in [&memory, &shared] {
                    let mut tx = l.store.begin().await.unwrap();
                    outcomes.push(l.limits.check_slow(&mut tx, &k, slow).await.unwrap());
                    tx.commit().await.unwrap();
                }
                (outcomes[0], outcomes[1])
            } else {
                (memory.check(&k, act, slow).await, shared.check(&k, act, slow).await)
            };
            assert_eq!(a, b, "check {i}: {k:?} {act:?} {slow:?}");
            match a {
                Check::Allowed => allowed += 1,
                Check::Wait(_) => waits += 1,
                Check::Flood(_) => floods += 1,
            }
            clock.advance_ms(next(1500) as i64);
        }
        assert!(allowed > 100 && waits > 100 && floods > 3, "{allowed} {waits} {floods}");
    }

    #[tokio::test]
    async fn pruning_bounds_memory_and_rows() {
        let clock = ManualClock::new(1_000_000);
        let [memory, shared] = rigs(&clock, &config()).await;
        for i in 0..500 {
            memory.check(&ParticipantKey(format!("k{i}")), Act::Command, None).await;
            shared.check(&ParticipantKey(format!("k{i}")), Act::Command, None).await;
        }
        assert!(memory.limits.tracked_keys() >= 500);
        assert_eq!(shared.store.limiter_rows().await.unwrap(), 500);
        clock.advance_ms(3_600_000);
        memory.limits.prune(&memory.store).await.unwrap();
        assert_eq!(memory.limits.tracked_keys(), 0);
        assert_eq!(shared.limits.prune(&shared.store).await.unwrap(), 500);
        assert_eq!(shared.store.limiter_rows().await.unwrap(), 0);
    }

    /// `!forget` does not lift limits (in either mode); rows that no longer limit go.
    #[tokio::test]
    async fn forget_keeps_what_still_limits() {
        let clock = ManualClock::new(1_000_000);
        for l in rigs(&clock, &config()).await {
            let (a, b) = (ParticipantKey("a".into()), ParticipantKey("b".into()));
            l.check(&b, Act::Command, None).await;
            clock.advance_ms(60_000);
            for _ in 0..5 {
                l.check(&a, Act::Post, Some((DiscussionId(1), 60))).await;
            }
            let mut tx = l.store.begin().await.unwrap();
            tx.forget(&a).await.unwrap();
            l.limits.forget(&mut tx, &a).await.unwrap();
            l.limits.forget(&mut tx, &b).await.unwrap();
            if l.limits.is_shared() {
                assert_eq!(tx.limiter_rows_of(&a).await.unwrap(), 3, "post, slow mode, flood count: still limiting");
                assert_eq!(tx.limiter_rows_of(&b).await.unwrap(), 0, "b's command row had run out");
            }
            tx.commit().await.unwrap();
            // The 5th refusal in the window: a flood, counted across the `!forget` too.
            assert!(matches!(l.check(&a, Act::Post, None).await, Check::Flood(_)), "still limited after !forget");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30m"), Some(Duration::from_secs(1800)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_duration("1d"), Some(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("15"), Some(Duration::from_secs(900)));
        assert_eq!(parse_duration("soon"), None);
        assert_eq!(parse_duration("0m"), None);
        // Issue 9.8: 94368760191893771 days wrapped round to a two-minute mute.
        assert_eq!(parse_duration("94368760191893771d"), None);
        assert_eq!(parse_duration("18446744073709551615w"), None);
        assert_eq!(parse_duration("99999999999999999999999m"), None);
        assert_eq!(parse_duration("366d"), None);
        assert_eq!(parse_duration("365d"), Some(Duration::from_secs(365 * 86_400)));
        assert_eq!(human_duration(Duration::from_secs(45)), "45 seconds");
        assert_eq!(human_duration(Duration::from_secs(120)), "2 minutes");
        assert_eq!(human_duration(Duration::from_secs(3600)), "1 hour");
    }
}
