//! Rate limits with `governor`: per participant per action, per-discussion slow mode, and
//! flood detection. Time comes from the engine's [`Clock`](crate::clock::Clock), so tests
//! move it by hand instead of sleeping.

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
use crate::ids::{DiscussionId, ParticipantKey};

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

/// All rate limits of one process.
pub struct Limits {
    clock: GovernorClock,
    acts: HashMap<Act, Keyed<ParticipantKey>>,
    slow: Mutex<HashMap<u64, Keyed<(DiscussionId, ParticipantKey)>>>,
    refusals: Mutex<HashMap<ParticipantKey, (u32, i64)>>,
    config: LimitsConfig,
    checks: AtomicU64,
}

fn quota(burst: u32, every_secs: u64) -> Quota {
    let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(Duration::from_secs(every_secs.max(1)))
        .unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN))
        .allow_burst(burst)
}

impl Limits {
    /// Limits from the configuration, timed by `clock`.
    pub fn new(config: &LimitsConfig, clock: Arc<dyn Clock>) -> Limits {
        let clock = GovernorClock(clock);
        let mut acts = HashMap::new();
        for (act, burst, every) in [
            (Act::Post, config.post_burst, config.post_every_secs),
            (Act::Reply, config.reply_burst, config.reply_every_secs),
            (Act::Report, config.report_burst, config.report_every_secs),
            (Act::Command, config.command_burst, config.command_every_secs),
        ] {
            acts.insert(act, RateLimiter::hashmap_with_clock(quota(burst, every), clock.clone()));
        }
        Limits {
            clock,
            acts,
            slow: Mutex::new(HashMap::new()),
            refusals: Mutex::new(HashMap::new()),
            config: config.clone(),
            checks: AtomicU64::new(0),
        }
    }

    /// Checks (and, when allowed, uses up) one `act` of `key`, and the discussion's slow
    /// mode when `slow_mode_secs` is set.
    pub fn check(&self, key: &ParticipantKey, act: Act, slow: Option<(DiscussionId, u64)>) -> Check {
        self.check_inner(key, Some(act), slow)
    }

    /// Checks (and uses up) only a discussion's slow mode, for a message whose own limit
    /// was checked already.
    pub fn check_slow(&self, key: &ParticipantKey, slow: (DiscussionId, u64)) -> Check {
        self.check_inner(key, None, Some(slow))
    }

    fn check_inner(&self, key: &ParticipantKey, act: Option<Act>, slow: Option<(DiscussionId, u64)>) -> Check {
        if self.checks.fetch_add(1, Ordering::Relaxed) % 1024 == 1023 {
            self.prune();
        }
        let now = self.clock.now();
        let mut wait = None;
        if let Some(limiter) = act.and_then(|act| self.acts.get(&act)) {
            if let Err(not_until) = limiter.check_key(key) {
                wait = Some(not_until.wait_time_from(now));
            }
        }
        if wait.is_none() {
            if let Some((discussion, secs)) = slow.filter(|(_, s)| *s > 0) {
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
        if now_ms - entry.1 > self.config.flood_window_secs as i64 * 1000 {
            *entry = (0, now_ms);
        }
        entry.0 += 1;
        if self.config.flood_refusals > 0 && entry.0 >= self.config.flood_refusals {
            refusals.remove(key);
            return Check::Flood(Duration::from_secs(self.config.flood_mute_mins * 60));
        }
        Check::Wait(wait.max(Duration::from_secs(1)))
    }

    /// Forgets keyed state that no longer limits anyone, so memory stays bounded.
    pub fn prune(&self) {
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
        let window = self.config.flood_window_secs as i64 * 1000;
        self.refusals.lock().unwrap_or_else(|p| p.into_inner()).retain(|_, (_, since)| now_ms - *since <= window);
    }

    /// Number of keys held in memory (for tests and benchmarks).
    pub fn tracked_keys(&self) -> usize {
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
    use super::*;
    use crate::clock::ManualClock;

    fn limits(clock: &ManualClock) -> Limits {
        let config = LimitsConfig { post_burst: 3, post_every_secs: 10, flood_refusals: 5, ..LimitsConfig::default() };
        Limits::new(&config, Arc::new(clock.clone()))
    }

    #[test]
    fn bursts_then_waits_then_refills() {
        let clock = ManualClock::new(1_000_000);
        let l = limits(&clock);
        let k = ParticipantKey("a".into());
        for _ in 0..3 {
            assert_eq!(l.check(&k, Act::Post, None), Check::Allowed);
        }
        let Check::Wait(w) = l.check(&k, Act::Post, None) else { panic!("should wait") };
        assert!(w <= Duration::from_secs(10) && w >= Duration::from_secs(9), "{w:?}");
        assert_eq!(l.check(&ParticipantKey("b".into()), Act::Post, None), Check::Allowed, "others unaffected");
        clock.advance_ms(10_000);
        assert_eq!(l.check(&k, Act::Post, None), Check::Allowed);
    }

    #[test]
    fn slow_mode_and_flood() {
        let clock = ManualClock::new(1_000_000);
        let l = limits(&clock);
        let k = ParticipantKey("a".into());
        let d = Some((DiscussionId(1), 60));
        assert_eq!(l.check(&k, Act::Post, d), Check::Allowed);
        assert!(matches!(l.check(&k, Act::Post, d), Check::Wait(w) if w > Duration::from_secs(50)));
        let mut outcome = Check::Allowed;
        for _ in 0..10 {
            outcome = l.check(&k, Act::Post, d);
            if matches!(outcome, Check::Flood(_)) {
                break;
            }
        }
        assert!(matches!(outcome, Check::Flood(_)));
    }

    #[test]
    fn pruning_bounds_memory() {
        let clock = ManualClock::new(1_000_000);
        let l = limits(&clock);
        for i in 0..500 {
            l.check(&ParticipantKey(format!("k{i}")), Act::Command, None);
        }
        assert!(l.tracked_keys() >= 500);
        clock.advance_ms(3_600_000);
        l.prune();
        assert_eq!(l.tracked_keys(), 0);
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
