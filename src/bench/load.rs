//! `parley bench`: a synthetic population driven through the whole engine (dedupe,
//! identity, rate limits, moderation, themes, store, outbox) with a null adapter that
//! acknowledges every delivery, and, in the same run, the raw-insert baseline on the same
//! database. Prints one JSON object; progress goes to standard error.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chat::{Core, DeliveryId, Inbound, Outcome, Platform};
use parley::config::Config;
use parley::engine::Engine;
use parley::store::{RawPost, Store};
use serde::Serialize;

use super::db::BenchDatabase;
use super::workload::Workload;

/// What `parley bench` was asked to do.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Participants in the synthetic population.
    pub participants: usize,
    /// Post-type messages in all.
    pub posts: u64,
    /// Where to run: a fresh database is made there (default: a fresh SQLite file).
    pub database: Option<String>,
    /// Messages offered per second (default: as fast as parley takes them).
    pub rate: Option<f64>,
    /// Processes sharing one PostgreSQL database.
    pub processes: usize,
    /// Keep the configured rate limits (default: lifted, to measure throughput).
    pub rate_limits: bool,
    /// Seed of the synthetic population.
    pub seed: u64,
    /// The configuration file, for worker processes.
    pub config: Option<std::path::PathBuf>,
    /// SQLite's synchronous level for this run ("full", parley's, or "normal" to compare).
    pub sqlite_synchronous: String,
    /// A file of texts to post in turn (one a line, or a CSV with a `text` column) instead
    /// of synthetic ones.
    pub texts: Option<std::path::PathBuf>,
}

/// The texts a run posts: those of `--texts`, or none (synthetic ones).
pub struct Texts {
    pub texts: Arc<Vec<String>>,
    /// What the report says of them.
    pub shown: String,
}

impl Texts {
    pub fn read(path: Option<&std::path::Path>) -> anyhow::Result<Texts> {
        let Some(path) = path else {
            return Ok(Texts { texts: Arc::new(Vec::new()), shown: "synthetic (nearly all different)".into() });
        };
        let file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let comments = parley::report::read_comments(std::io::BufReader::new(file), false)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let texts: Vec<String> = comments.into_iter().map(|c| c.text).filter(|t| !t.trim().is_empty()).collect();
        anyhow::ensure!(!texts.is_empty(), "{} holds no texts to post", path.display());
        let shown = format!("{} ({} texts, in turn)", path.display(), texts.len());
        Ok(Texts { texts: Arc::new(texts), shown })
    }
}

/// The secret of bench runs (never a real installation's).
pub const BENCH_SECRET: &[u8] = b"parley bench secret, not used for anything else";

/// Latency figures in microseconds, inbound offered → its transaction committed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

impl Latency {
    pub fn of(mut samples: Vec<u64>) -> Latency {
        if samples.is_empty() {
            return Latency::default();
        }
        samples.sort_unstable();
        let at = |q: f64| samples[((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1];
        Latency { p50_us: at(0.50), p99_us: at(0.99), max_us: *samples.last().unwrap_or(&0) }
    }
}

/// The baseline's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Baseline {
    pub posts: u64,
    pub rows: u64,
    pub seconds: f64,
    pub posts_per_sec: f64,
    pub rows_per_sec: f64,
    pub how: &'static str,
}

/// What one run of the engine did.
#[derive(Debug, Clone, Serialize)]
pub struct EngineRun {
    pub inbound_messages: u64,
    pub post_messages: u64,
    pub posts_stored: u64,
    pub posts_published: u64,
    pub seconds: f64,
    pub inbound_per_sec: f64,
    pub posts_per_sec: f64,
    pub latency: Latency,
    pub outbox_rows: u64,
    pub outbox_delivered: u64,
    pub outbox_delivered_per_sec: f64,
    pub outbox_drain_seconds: f64,
    pub group_commits: u64,
    pub mean_group_size: f64,
    /// Group commits stored a second time because a message or the commit failed
    /// ([`crate::engine::Engine::groups_stored_again`]): 0 in a run whose figures stand.
    pub groups_stored_again: u64,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub database: String,
    /// SQLite's journal mode and synchronous level (2 = FULL, 1 = NORMAL).
    pub sqlite_journal_mode: Option<String>,
    pub sqlite_synchronous: Option<i64>,
    pub participants: usize,
    pub offered_rate: Option<f64>,
    pub rate_limits: bool,
    /// Where the posts' texts came from.
    pub texts: String,
    pub parley: EngineRun,
    pub baseline: Baseline,
    /// parley's posts per second ÷ the baseline's.
    pub ratio_to_baseline: f64,
    /// The run's rows written with nothing else to do (see `Store::bench_write_ceiling`).
    pub write_ceiling: parley::store::WriteCeiling,
    /// The write ceiling's posts per second ÷ the baseline's: the most parley's ratio
    /// could be on this machine, were everything but writing its rows free.
    pub ceiling_ratio_to_baseline: f64,
    /// parley's posts per second ÷ the write ceiling's.
    pub ratio_to_write_ceiling: f64,
    pub peak_rss_mb: f64,
    pub rate_limiter_entries: usize,
    pub rate_limiter_bytes_per_entry: f64,
    pub numbering_gaps: u64,
    pub numbering_duplicates: u64,
}

/// Peak resident memory of this process, in bytes (Linux).
pub fn peak_rss() -> u64 {
    status_kb("VmHWM:") * 1024
}

/// Resident memory now, in bytes (Linux).
fn rss() -> u64 {
    status_kb("VmRSS:") * 1024
}

fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

/// Memory per rate-limiter entry: `n` participants checked once each by a fresh in-memory
/// limiter (as on SQLite; on PostgreSQL the state is in the database).
async fn limiter_bytes_per_entry(config: &Config, n: usize) -> anyhow::Result<f64> {
    let limits = parley::limits::Limits::in_memory(&config.limits, Arc::new(parley::clock::SystemClock));
    // In-memory limits leave the transaction alone, but a check takes one.
    let scratch = Store::connect("sqlite::memory:").await?;
    let mut tx = scratch.begin().await?;
    let before = rss();
    for i in 0..n {
        let key = parley::ids::ParticipantKey(format!("{i:064x}"));
        let _ = limits.check(&mut tx, &key, parley::limits::Act::Post, None).await?;
    }
    let entries = limits.tracked_keys().max(1);
    let after = rss();
    Ok(after.saturating_sub(before) as f64 / entries as f64)
}

/// The configuration a bench run uses: the given one, with rate limits lifted unless kept.
pub fn bench_config(config: &Config, rate_limits: bool) -> Config {
    let mut config = config.clone();
    if !rate_limits {
        let l = &mut config.limits;
        for (burst, every) in [
            (&mut l.post_burst, &mut l.post_every_secs),
            (&mut l.reply_burst, &mut l.reply_every_secs),
            (&mut l.report_burst, &mut l.report_every_secs),
            (&mut l.command_burst, &mut l.command_every_secs),
        ] {
            *burst = 1_000_000;
            *every = 1;
        }
        l.flood_refusals = 0;
        config.discussions.iter_mut().for_each(|d| d.slow_mode_secs = 0);
    }
    config
}

/// `parley bench` in one process.
pub async fn run(config: &Config, o: &LoadOptions) -> anyhow::Result<()> {
    let texts = Texts::read(o.texts.as_deref())?;
    let bytes_per_entry = limiter_bytes_per_entry(config, 100_000).await?;
    let db = BenchDatabase::create(o.database.as_deref()).await?;
    eprintln!("parley bench: a fresh database at {}", db.shown());
    let store = Store::connect(db.url()).await.context("cannot open the bench database")?;
    store.set_sqlite_synchronous(&o.sqlite_synchronous).await?;
    let sqlite = store.sqlite_settings().await?;
    let baseline = baseline_apart(o, &texts).await?;
    eprintln!(
        "parley bench: baseline {:.0} posts/s ({:.0} rows/s) inserted straight",
        baseline.posts_per_sec, baseline.rows_per_sec
    );
    let config = bench_config(config, o.rate_limits);
    let engine = Arc::new(
        Engine::start(
            store.clone(),
            parley::identity::Identity::new(BENCH_SECRET),
            Arc::new(parley::clock::SystemClock),
            &config,
            vec![Platform::Console],
        )
        .await?,
    );
    let slugs: Vec<String> = config.discussions.iter().map(|d| d.slug.clone()).collect();
    anyhow::ensure!(!slugs.is_empty(), "the configuration has no discussions to post in");
    let workload = Workload::new(o.participants, o.posts, slugs, o.seed, Platform::Console, "load")
        .with_texts(texts.texts.clone());
    let run = drive(engine.clone(), workload, o.rate, o.posts).await?;
    let counts = store.bench_counts(BASELINE_SLUG).await?;
    // The engine's peak, before the ceiling's copy adds its own.
    let peak_rss_mb = peak_rss() as f64 / 1_048_576.0;
    let write_ceiling = match write_ceiling_of(&store).await {
        Ok(ceiling) => ceiling,
        Err(e) => {
            store.close().await;
            db.drop_database().await;
            return Err(e.context("measuring the write ceiling failed"));
        }
    };
    let parley = EngineRun {
        posts_stored: counts.posts,
        posts_published: counts.published,
        posts_per_sec: counts.posts as f64 / run.seconds,
        outbox_rows: counts.outbox,
        ..run
    };
    let report = Report {
        database: db.kind().to_string(),
        sqlite_journal_mode: sqlite.as_ref().map(|s| s.0.clone()),
        sqlite_synchronous: sqlite.map(|s| s.1),
        participants: o.participants,
        offered_rate: o.rate,
        rate_limits: o.rate_limits,
        texts: texts.shown,
        ratio_to_baseline: parley.posts_per_sec / baseline.posts_per_sec.max(f64::MIN_POSITIVE),
        ceiling_ratio_to_baseline: write_ceiling.posts_per_sec / baseline.posts_per_sec.max(f64::MIN_POSITIVE),
        ratio_to_write_ceiling: parley.posts_per_sec / write_ceiling.posts_per_sec.max(f64::MIN_POSITIVE),
        write_ceiling,
        parley,
        baseline,
        peak_rss_mb,
        rate_limiter_entries: engine.limiter_entries(),
        rate_limiter_bytes_per_entry: bytes_per_entry,
        numbering_gaps: counts.numbering_gaps,
        numbering_duplicates: counts.numbering_duplicates,
    };
    store.close().await;
    db.drop_database().await;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

/// The baseline's discussion.
pub const BASELINE_SLUG: &str = "bench-baseline";

/// [`baseline`] in a fresh database of its own with the run's settings (a SQLite file of
/// its own, or a database on the same PostgreSQL server), dropped afterwards:
/// in the engine's own database its rows, whose keys fall anywhere in the indexes on them
/// as the engine's do, would make the engine's run write into indexes twice the size.
pub async fn baseline_apart(o: &LoadOptions, texts: &Texts) -> anyhow::Result<Baseline> {
    let db = BenchDatabase::create(o.database.as_deref()).await?;
    let store = Store::connect(db.url()).await.context("cannot open the baseline's database")?;
    store.set_sqlite_synchronous(&o.sqlite_synchronous).await?;
    let measured = baseline(&store, o.participants, o.posts, o.seed, texts).await;
    store.close().await;
    db.drop_database().await;
    measured
}

/// The same post and outbox rows the engine writes for `posts` posts by `participants`
/// people, inserted straight. Each row carries a participant key made as the engine makes
/// its participants' (an HMAC), so the keys fall anywhere in the indexes on them as the
/// engine's do: keys in order, one a post, as the baseline had before, only ever appended
/// to those indexes, which made its rows cheaper than the engine's.
pub async fn baseline(
    store: &Store,
    participants: usize,
    posts: u64,
    seed: u64,
    given: &Texts,
) -> anyhow::Result<Baseline> {
    let identity = parley::identity::Identity::new(BENCH_SECRET);
    let analyzer = themes::Analyzer::default();
    let texts: Vec<String> = Workload::new(100, 100, vec!["x".into()], seed, Platform::Console, "baseline")
        .with_texts(given.texts.clone())
        .filter(|m| m.kind.is_post())
        .map(|m| m.inbound.text)
        .collect();
    let raw: Vec<RawPost> = (0..posts)
        .map(|i| {
            let text = &texts[i as usize % texts.len()];
            let a = analyzer.analyse(text);
            // As many people as the run's, but not the run's own: their posts here would be
            // the engine's participants' latest posts (the spam check reads them).
            let user = format!("baseline-user-{}", i as usize % participants.max(1));
            RawPost {
                key: identity.participant_key(Platform::Console, &user).0,
                pseudonym: format!("Baseline Otter {i}"),
                body: text.clone(),
                themes: a.themes.join(","),
                sentiment: (a.sentiment.score * 100.0).round() as i64,
                sealed: identity.seal(&user),
            }
        })
        .collect();
    let started = Instant::now();
    let rows = store.bench_raw_insert(BASELINE_SLUG, &raw, 0).await?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(Baseline {
        posts,
        rows,
        seconds,
        posts_per_sec: posts as f64 / seconds,
        rows_per_sec: rows as f64 / seconds,
        how: "multi-row INSERTs of 500 posts (1,000 outbox rows), 5,000 posts per transaction, a fresh database of the same kind and settings, HMAC participant keys of as many people as the run's",
    })
}

/// The run's write ceiling ([`Store::bench_write_ceiling`]), with progress on stderr: on
/// SQLite the copy goes to a file of its own in a temporary folder (unused on PostgreSQL).
pub async fn write_ceiling_of(store: &Store) -> anyhow::Result<parley::store::WriteCeiling> {
    eprintln!("parley bench: copying the run's rows to measure the write ceiling");
    let folder = tempfile::Builder::new().prefix("parley-ceiling-").tempdir()?;
    let ceiling = store.bench_write_ceiling(&folder.path().join("ceiling.db")).await?;
    eprintln!("parley bench: write ceiling {:.0} posts/s", ceiling.posts_per_sec);
    Ok(ceiling)
}

/// Offers the workload to the engine as an adapter would (what arrives while a batch is
/// being stored forms the next group commit), acknowledges every delivery, and waits
/// until the outbox is empty.
pub async fn drive(
    engine: Arc<Engine>,
    workload: Workload,
    rate: Option<f64>,
    posts: u64,
) -> anyhow::Result<EngineRun> {
    // Saturated, latency is mostly the time queued here: four group commits' worth.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(Inbound, Instant, bool)>(4 * engine.max_batch());
    let offered = Arc::new(AtomicU64::new(0));
    let producing = Arc::new(AtomicBool::new(true));
    let started = Instant::now();
    let producer = {
        let (offered, producing) = (offered.clone(), producing.clone());
        tokio::spawn(async move {
            for (i, m) in workload.enumerate() {
                if let Some(rate) = rate {
                    let due = started + Duration::from_secs_f64(i as f64 / rate);
                    tokio::time::sleep_until(due.into()).await;
                }
                offered.fetch_add(1, Ordering::Relaxed);
                if tx.send((m.inbound, Instant::now(), m.kind.is_post())).await.is_err() {
                    break;
                }
            }
            producing.store(false, Ordering::Relaxed);
        })
    };
    let delivered = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let adapter = {
        let delivered = delivered.clone();
        null_adapter(engine.clone(), stop.clone(), move |ids| {
            delivered.fetch_add(ids.len() as u64, Ordering::Relaxed);
            true
        })
    };

    let mut latencies = Vec::with_capacity(posts as usize * 2);
    let (mut inbound, mut post_messages, mut commits) = (0u64, 0u64, 0u64);
    let mut last_progress = Instant::now();
    while let Some(first) = rx.recv().await {
        let batch = chat::batch_from(first, || rx.try_recv().ok(), |(m, _, _)| m.weight(), engine.max_batch());
        let (messages, times): (Vec<Inbound>, Vec<(Instant, bool)>) =
            batch.into_iter().map(|(m, at, post)| (m, (at, post))).unzip();
        engine.handle_batch(messages).await;
        let done = Instant::now();
        commits += 1;
        for (at, post) in times {
            inbound += 1;
            post_messages += u64::from(post);
            latencies.push(done.duration_since(at).as_micros() as u64);
        }
        if last_progress.elapsed() > Duration::from_secs(5) {
            last_progress = Instant::now();
            eprintln!(
                "parley bench: {inbound} messages handled ({post_messages} posts), {:.0}/s, {} deliveries acknowledged",
                inbound as f64 / started.elapsed().as_secs_f64(),
                delivered.load(Ordering::Relaxed)
            );
        }
    }
    producer.await?;
    let seconds = started.elapsed().as_secs_f64();
    // Let the null adapter empty the outbox.
    let drain_deadline = Instant::now() + Duration::from_secs(600);
    while engine.store().bench_pending().await? > 0 {
        anyhow::ensure!(Instant::now() < drain_deadline, "the outbox did not empty within 10 minutes");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let drained = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    engine.wakeup().notify_waiters();
    adapter.await?;
    let delivered = delivered.load(Ordering::Relaxed);
    Ok(EngineRun {
        inbound_messages: inbound,
        post_messages,
        posts_stored: 0,
        posts_published: 0,
        seconds,
        inbound_per_sec: inbound as f64 / seconds,
        posts_per_sec: 0.0,
        latency: Latency::of(latencies),
        outbox_rows: 0,
        outbox_delivered: delivered,
        outbox_delivered_per_sec: delivered as f64 / drained,
        outbox_drain_seconds: drained - seconds,
        group_commits: commits,
        mean_group_size: inbound as f64 / commits.max(1) as f64,
        groups_stored_again: engine.groups_stored_again(),
    })
}

/// An adapter that takes every due delivery and acknowledges it at once. `sent` is told
/// the ids of each batch before it is recorded as delivered (the fleet's workers write them
/// to their parent there); it returns `false` to stop.
pub fn null_adapter(
    engine: Arc<Engine>,
    stop: Arc<AtomicBool>,
    mut sent: impl FnMut(&[i64]) -> bool + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let wakeup = engine.wakeup();
        while !stop.load(Ordering::Relaxed) {
            let notified = wakeup.notified();
            let due = engine.due(Platform::Console, 512).await;
            if due.is_empty() {
                let _ = tokio::time::timeout(Duration::from_millis(50), notified).await;
                continue;
            }
            let ids: Vec<i64> = due.iter().map(|d| d.id.0).collect();
            if !sent(&ids) {
                return;
            }
            let outcomes: Vec<(DeliveryId, Outcome)> = due
                .into_iter()
                .map(|d| (d.id, Outcome::Delivered { message_id: Some(format!("null-{}", d.id.0)) }))
                .collect();
            engine.report_batch(outcomes).await;
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn texts_are_read_one_a_line_and_a_file_without_any_is_refused() {
        assert!(Texts::read(None).unwrap().texts.is_empty());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("texts.txt");
        std::fs::write(&path, "The nurse was kind\n\n  \nParking costs too much\n").unwrap();
        let texts = Texts::read(Some(&path)).unwrap();
        assert_eq!(*texts.texts, ["The nurse was kind", "Parking costs too much"]);
        assert!(texts.shown.contains("2 texts"));
        std::fs::write(&path, "\n \n").unwrap();
        let e = Texts::read(Some(&path)).err().unwrap().to_string();
        assert!(e.contains("holds no texts"), "{e}");
        let e = Texts::read(Some(&dir.path().join("missing.txt"))).err().unwrap().to_string();
        assert!(e.contains("cannot open"), "{e}");
    }
}
