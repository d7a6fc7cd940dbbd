//! Rate limits, slow mode and flood detection hold across several parley processes on one
//! PostgreSQL (issue 14.4): two engines, each with its own memory, on one database and one
//! manual clock, stand for two processes; a participant who alternates between them still
//! has one allowance.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chat::{Core, Platform};
use common::{lines_for, SECRET};
use parley::clock::ManualClock;
use parley::config::{Config, LimitsConfig};
use parley::engine::Engine;
use parley::identity::Identity;
use parley::ids::{DiscussionId, ParticipantKey};
use parley::limits::{Act, Check, Limits};
use parley::store::Store;

const SLOW_DOWN: &str = "You're sending messages quickly. Please wait ";

/// Two engines ("processes") on one database, sharing a manual clock.
struct Processes {
    engines: Vec<Engine>,
    clock: ManualClock,
    config: Config,
    events: AtomicU64,
}

impl Processes {
    async fn start(url: &str, config: Config) -> Processes {
        let clock = ManualClock::new(1_790_000_000_000);
        let mut engines = Vec::new();
        for _ in 0..2 {
            let store = Store::connect(url).await.unwrap();
            let engine =
                Engine::start(store, Identity::new(SECRET), Arc::new(clock.clone()), &config, vec![Platform::Console])
                    .await
                    .unwrap();
            engines.push(engine);
        }
        let processes = Processes { engines, clock, config, events: AtomicU64::new(0) };
        processes.drain(0).await;
        processes
    }

    /// Sends a DM from console user `name` to process `p` and returns what it prints.
    async fn say(&self, p: usize, name: &str, text: &str) -> Vec<String> {
        let event = format!("evt-{}", self.events.fetch_add(1, Ordering::SeqCst));
        self.engines[p].handle(parley::console::inbound(&self.config.console, name, text, event)).await;
        self.drain(p).await
    }

    async fn drain(&self, p: usize) -> Vec<String> {
        let mut out = Vec::new();
        parley::console::drain(&self.engines[p], &mut out).await.unwrap();
        String::from_utf8(out).unwrap().lines().map(str::to_string).collect()
    }

    /// Whether a post from `name` through process `p` was published; otherwise the DM it got.
    async fn post(&self, p: usize, name: &str, text: &str) -> Result<(), String> {
        let out = self.say(p, name, text).await;
        if lines_for(&out, "thread gp-access").len() == 1 {
            Ok(())
        } else {
            Err(lines_for(&out, &format!("dm {name}")).join("\n"))
        }
    }
}

impl Processes {
    /// Sends several DMs to process `p` in one group commit (whose senders' limiter rows
    /// are read at once and written back as it commits) and returns what it prints.
    async fn say_together(&self, p: usize, messages: &[(&str, &str)]) -> Vec<String> {
        let batch = messages
            .iter()
            .map(|(name, text)| {
                let event = format!("evt-{}", self.events.fetch_add(1, Ordering::SeqCst));
                parley::console::inbound(&self.config.console, name, text, event)
            })
            .collect();
        self.engines[p].handle_batch(batch).await;
        self.drain(p).await
    }
}

fn config(limits: LimitsConfig) -> Config {
    let mut config = Config::load(None).unwrap();
    config.limits = limits;
    config
}

#[tokio::test]
async fn a_burst_is_shared_by_two_processes() {
    let db = common::fresh_postgres().await;
    // The example's post limit: 5 in a row, then one a minute.
    let limits = Config::load(None).unwrap().limits;
    assert_eq!((limits.post_burst, limits.post_every_secs), (5, 60));
    let ps = Processes::start(&db, config(limits)).await;
    ps.say(0, "alice", "!join gp-access").await;
    let mut outcomes = Vec::new();
    for i in 0..10 {
        outcomes.push(ps.post(i % 2, "alice", &format!("Post {i} about appointments")).await);
    }
    assert!(outcomes[..5].iter().all(Result::is_ok), "exactly the burst is accepted: {outcomes:?}");
    for (i, refused) in outcomes[5..].iter().enumerate() {
        let dm = refused.as_ref().unwrap_err();
        assert!(dm.starts_with(SLOW_DOWN), "post {} through process {}: {dm}", i + 5, (i + 5) % 2);
    }
    ps.say(1, "bob", "!join gp-access").await;
    assert_eq!(ps.post(1, "bob", "Others are unaffected").await, Ok(()));
    ps.clock.advance_ms(60_000);
    assert_eq!(ps.post(1, "alice", "A minute later").await, Ok(()));
    assert!(ps.post(0, "alice", "And straight away again").await.unwrap_err().starts_with(SLOW_DOWN));
    assert!(ps.post(1, "alice", "Or through the other").await.unwrap_err().starts_with(SLOW_DOWN));
}

/// The same with group commits: each process reads the group's senders' rows at once and
/// writes them back as the group commits, so the next group, in either process, sees them.
#[tokio::test]
async fn a_burst_is_shared_by_two_processes_in_group_commits() {
    let db = common::fresh_postgres().await;
    let ps = Processes::start(&db, config(Config::load(None).unwrap().limits)).await;
    ps.say_together(0, &[("alice", "!join gp-access"), ("bob", "!join gp-access")]).await;
    let published = |out: &[String]| lines_for(out, "thread gp-access").len();
    let slowed = |out: &[String], name: &str| {
        lines_for(out, &format!("dm {name}")).iter().filter(|l| l.starts_with(SLOW_DOWN)).count()
    };
    // Three of alice's five, with one of bob's between them, in process 0.
    let out =
        ps.say_together(0, &[("alice", "One"), ("alice", "Two"), ("bob", "Bob's first"), ("alice", "Three")]).await;
    assert_eq!((published(&out), slowed(&out, "alice")), (4, 0), "{out:?}");
    // Four more in process 1: two fit the burst, two are refused.
    let out = ps.say_together(1, &[("alice", "Four"), ("alice", "Five"), ("alice", "Six"), ("alice", "Seven")]).await;
    assert_eq!((published(&out), slowed(&out, "alice")), (2, 2), "{out:?}");
    // And one at a time, back in process 0: still refused.
    assert!(ps.post(0, "alice", "Eight").await.unwrap_err().starts_with(SLOW_DOWN));
    // Bob's own allowance was untouched: four more of his fit.
    let out = ps.say_together(1, &[("bob", "B2"), ("bob", "B3"), ("bob", "B4"), ("bob", "B5"), ("bob", "B6")]).await;
    assert_eq!((published(&out), slowed(&out, "bob")), (4, 1), "{out:?}");
    ps.clock.advance_ms(60_000);
    let out = ps.say_together(1, &[("alice", "A minute later"), ("alice", "Too soon")]).await;
    assert_eq!((published(&out), slowed(&out, "alice")), (1, 1), "{out:?}");
}

#[tokio::test]
async fn slow_mode_is_shared_by_two_processes() {
    let db = common::fresh_postgres().await;
    let mut config = config(Config::load(None).unwrap().limits);
    let gp = config.discussions.iter_mut().find(|d| d.slug == "gp-access").unwrap();
    gp.slow_mode_secs = 120;
    let ps = Processes::start(&db, config).await;
    ps.say(1, "alice", "!join gp-access").await;
    assert_eq!(ps.post(0, "alice", "First").await, Ok(()));
    let dm = ps.post(1, "alice", "Second, through the other process").await.unwrap_err();
    assert!(dm.starts_with("You're sending messages quickly. Please wait 2 minutes"), "{dm}");
    ps.clock.advance_ms(119_000);
    let dm = ps.post(1, "alice", "Nearly two minutes later").await.unwrap_err();
    assert!(dm.starts_with("You're sending messages quickly. Please wait 1 second"), "{dm}");
    ps.clock.advance_ms(1_000);
    assert_eq!(ps.post(1, "alice", "Two minutes later").await, Ok(()));
    assert!(ps.post(0, "alice", "Straight away").await.unwrap_err().starts_with(SLOW_DOWN));
}

#[tokio::test]
async fn flood_refusals_are_counted_across_processes() {
    let db = common::fresh_postgres().await;
    let limits = LimitsConfig { flood_refusals: 10, ..Config::load(None).unwrap().limits };
    let ps = Processes::start(&db, config(limits)).await;
    ps.say(0, "alice", "!join gp-access").await;
    let mut all = Vec::new();
    let mut outcomes = Vec::new();
    for i in 0..15 {
        let out = ps.say(i % 2, "alice", &format!("spam {i}")).await;
        outcomes.push(lines_for(&out, "dm alice").join("\n"));
        all.extend(out);
    }
    // 5 published, 9 refusals (4 or 5 through each process), and the 10th mutes.
    for dm in &outcomes[5..14] {
        assert!(dm.starts_with(SLOW_DOWN), "{dm}");
    }
    assert!(outcomes[14].contains("posting is paused for 30 minutes"), "{:?}", outcomes[14]);
    assert_eq!(lines_for(&all, "moderators").iter().filter(|l| l.contains("muted automatically")).count(), 1);
    ps.clock.advance_ms(10 * 60_000);
    let dm = ps.post(1, "alice", "still muted?").await.unwrap_err();
    assert!(dm.contains("paused your posting"), "the mute is in the database: {dm}");
}

/// `!forget` erases the person, not their allowance: otherwise `!forget` (never refused)
/// and `!join` between bursts would lift every limit. Limiter rows still limiting are kept
/// (they hold only the key, like sanctions) and go once their time has passed.
#[tokio::test]
async fn forgetting_does_not_reset_the_allowance() {
    let db = common::fresh_postgres().await;
    let ps = Processes::start(&db, config(Config::load(None).unwrap().limits)).await;
    ps.say(0, "alice", "!join gp-access").await;
    for i in 0..5 {
        assert_eq!(ps.post(i % 2, "alice", &format!("Post {i}")).await, Ok(()));
    }
    let out = ps.say(1, "alice", "!forget").await;
    assert!(!lines_for(&out, "dm alice").is_empty(), "{out:?}");
    ps.say(0, "alice", "!join gp-access").await;
    let dm = ps.post(0, "alice", "A fresh start?").await.unwrap_err();
    assert!(dm.starts_with(SLOW_DOWN), "{dm}");
}

/// Many transactions on one key at the same moment: exactly the burst passes, refusals are
/// counted one by one, and the row lock makes them wait for each other, not fail. The
/// engine's transactions (`Store::begin`) also take the fleet-wide writer lock, which
/// serialises them anyway; `writer_lock: false` uses plain transactions (`begin_read`, an
/// ordinary read-write transaction on PostgreSQL) that all hold a connection and reach the
/// check together, so the one-statement check is what keeps the count.
async fn concurrent_round(
    stores: &[Store],
    limits: &Arc<Limits>,
    writer_lock: bool,
    tasks: usize,
) -> (usize, usize, usize) {
    let barrier = Arc::new(tokio::sync::Barrier::new(tasks));
    let mut handles = Vec::new();
    for i in 0..tasks {
        let (store, limits, barrier) = (stores[i % stores.len()].clone(), limits.clone(), barrier.clone());
        handles.push(tokio::spawn(async move {
            let mut tx = if writer_lock {
                // Taking the writer lock waits for the others: meet before it.
                barrier.wait().await;
                store.begin().await.unwrap()
            } else {
                let tx = store.begin_read().await.unwrap();
                barrier.wait().await;
                tx
            };
            let check = limits.check(&mut tx, &ParticipantKey("k".into()), Act::Post, None).await.unwrap();
            tx.commit().await.unwrap();
            check
        }));
    }
    let mut outcomes = Vec::new();
    for h in handles {
        outcomes.push(h.await.unwrap());
    }
    let count = |f: fn(&Check) -> bool| outcomes.iter().filter(|c| f(c)).count();
    (count(|c| *c == Check::Allowed), count(|c| matches!(c, Check::Wait(_))), count(|c| matches!(c, Check::Flood(_))))
}

#[tokio::test]
async fn concurrent_checks_on_one_key_allow_exactly_the_burst() {
    let db = common::fresh_postgres().await;
    // Three pools of eight connections: every task can hold its own transaction at once.
    let mut stores = Vec::new();
    for _ in 0..3 {
        stores.push(Store::connect(&db).await.unwrap());
    }
    for writer_lock in [false, true] {
        let clock = ManualClock::new(1_790_000_000_000 + if writer_lock { 3_600_000 } else { 0 });
        let config = LimitsConfig { post_burst: 3, post_every_secs: 10, flood_refusals: 5, ..LimitsConfig::default() };
        let limits = Arc::new(Limits::shared(&config, Arc::new(clock.clone())));
        let mut tx = stores[0].begin().await.unwrap();
        tx.forget_limits(&ParticipantKey("k".into()), i64::MAX).await.unwrap();
        tx.commit().await.unwrap();
        // A fresh key (every task tries to insert the row): the burst, then 17 refusals of
        // which every 5th is a flood.
        assert_eq!(concurrent_round(&stores, &limits, writer_lock, 20).await, (3, 14, 3), "lock {writer_lock}");
        // Straight away again: nothing allowed; 2 + 20 refusals make four more floods.
        assert_eq!(concurrent_round(&stores, &limits, writer_lock, 20).await, (0, 16, 4), "lock {writer_lock}");
        clock.advance_ms(10_000);
        assert_eq!(concurrent_round(&stores, &limits, writer_lock, 20).await.0, 1, "one interval later, exactly one");
    }
}

/// On PostgreSQL too, the rows give governor's outcomes and waits to the millisecond: a
/// pseudo-random run of checks (keys, actions, slow modes, clock steps) compared with the
/// in-memory limiter.
#[tokio::test]
async fn shared_state_on_postgres_matches_governor() {
    let db = common::fresh_postgres().await;
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
    let sqlite = Store::connect("sqlite::memory:").await.unwrap();
    let pg = Store::connect(&db).await.unwrap();
    let memory = Limits::in_memory(&config, Arc::new(clock.clone()));
    let shared = Limits::new(&config, Arc::new(clock.clone()), pg.backend());
    assert!(shared.is_shared() && !Limits::new(&config, Arc::new(clock.clone()), sqlite.backend()).is_shared());
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut seen = [0; 3];
    for i in 0..600 {
        let k = ParticipantKey(format!("k{}", next(2)));
        let act = [Act::Post, Act::Reply, Act::Command][next(3) as usize];
        let slow = [None, Some((DiscussionId(1), 5))][next(2) as usize];
        let mut outcomes = Vec::new();
        for (store, limits) in [(&sqlite, &memory), (&pg, &shared)] {
            let mut tx = store.begin().await.unwrap();
            outcomes.push(limits.check(&mut tx, &k, act, slow).await.unwrap());
            tx.commit().await.unwrap();
        }
        assert_eq!(outcomes[0], outcomes[1], "check {i}: {k:?} {act:?} {slow:?}");
        seen[match outcomes[0] {
            Check::Allowed => 0,
            Check::Wait(_) => 1,
            Check::Flood(_) => 2,
        }] += 1;
        clock.advance_ms(next(1200) as i64);
    }
    assert!(seen.iter().all(|n| *n > 0), "{seen:?}");
}
