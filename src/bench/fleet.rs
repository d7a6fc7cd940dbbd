//! `parley bench --processes P --database postgres://…`: several parley processes on one
//! PostgreSQL database, the way a deployment scales out (e.g. Discord shards split across
//! processes). This process plays the platform: it shards the synthetic participants over
//! the workers, sends each worker its messages on standard input, takes acknowledgements
//! (sent by a worker only after the message's transaction committed) and deliveries on
//! standard output, kills one worker with SIGKILL midway, sends the messages it had not
//! acknowledged to the others (as a platform redelivers), and finally checks the database:
//! nothing lost, nothing delivered twice, `#N` gapless.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chat::{Conversation, Core, Inbound, Platform, Roles, Sender};
use parley::config::Config;
use parley::engine::Engine;
use parley::store::Store;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

use super::db::BenchDatabase;
use super::load::{self, Baseline, Latency, LoadOptions, BASELINE_SLUG};
use super::workload::Workload;

/// Messages in flight to each worker are bounded by twice this; the workers' queues hold four
/// times it (on PostgreSQL the engine stores at most this many a group commit).
const FLEET_BATCH: usize = parley::store::POSTGRES_GROUP_COMMIT;

/// How long a worker's claimed deliveries stay reserved: its null adapter acknowledges a
/// batch at once, so a short lease lets the others take over a killed worker's rows soon.
pub const WORKER_LEASE: Duration = Duration::from_secs(2);

/// One message on a worker's standard input.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireMessage {
    /// Event id.
    pub e: String,
    /// Sender (a participant's user id, or the moderator's).
    pub u: String,
    /// Said in the moderators' room.
    pub m: bool,
    /// Text.
    pub t: String,
}

impl WireMessage {
    fn of(inbound: &Inbound) -> WireMessage {
        WireMessage {
            e: inbound.event_id.clone(),
            u: inbound.sender.id.clone(),
            m: inbound.conversation == Conversation::Moderators,
            t: inbound.text.clone(),
        }
    }

    fn inbound(self) -> Inbound {
        let conversation =
            if self.m { Conversation::Moderators } else { Conversation::Direct { address: self.u.clone() } };
        Inbound {
            platform: Platform::Console,
            event_id: self.e,
            sender: Sender { id: self.u, roles: Roles { moderator: self.m, commissioner: false } },
            conversation,
            text: self.t,
            reply_to: None,
        }
    }
}

/// One line a worker writes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerLine {
    /// These events are stored (their transaction committed).
    Acked(Vec<String>),
    /// These outbox rows were sent (written before they are recorded as delivered).
    Delivered(Vec<i64>),
}

/// The fleet's report.
#[derive(Debug, Clone, Serialize)]
pub struct FleetReport {
    pub database: &'static str,
    pub processes: usize,
    pub killed_process: usize,
    pub killed_after_messages: u64,
    pub participants: usize,
    /// Where the posts' texts came from.
    pub texts: String,
    pub inbound_messages: u64,
    pub resent_after_kill: u64,
    pub seconds: f64,
    pub inbound_per_sec: f64,
    pub posts_stored: u64,
    pub posts_per_sec: f64,
    pub latency: Latency,
    pub outbox_rows: u64,
    pub deliveries_seen: u64,
    /// Rows sent twice where the first send was by the killed process before it could
    /// record it (at-least-once at a crash; a platform's idempotency key would drop it).
    pub redelivered_after_kill: u64,
    /// Rows sent twice otherwise: must be 0.
    pub duplicated: u64,
    /// Inbound messages offered but not recorded, plus rows recorded as delivered that no
    /// worker sent, plus rows never delivered: must be 0.
    pub lost: u64,
    pub numbering_gaps: u64,
    pub numbering_duplicates: u64,
    pub baseline: Baseline,
    pub ratio_to_baseline: f64,
    /// The run's rows written again with nothing else to do (`Store::bench_write_ceiling`).
    pub write_ceiling: parley::store::WriteCeiling,
    /// The write ceiling's posts per second ÷ the baseline's.
    pub ceiling_ratio_to_baseline: f64,
    /// The fleet's posts per second ÷ the write ceiling's.
    pub ratio_to_write_ceiling: f64,
}

struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    alive: bool,
    /// Sent but not acknowledged: event id → (message, first offered at).
    outstanding: HashMap<String, (WireMessage, Instant)>,
}

enum Event {
    Line(usize, WorkerLine),
    Closed(usize),
}

/// `parley bench --processes P`.
pub async fn run(config: &Config, o: &LoadOptions) -> anyhow::Result<()> {
    let Some(url) = o.database.as_deref().filter(|u| u.starts_with("postgres://") || u.starts_with("postgresql://"))
    else {
        anyhow::bail!("--processes needs --database postgres://USER@HOST/DB: several processes share PostgreSQL, not a SQLite file");
    };
    let texts = load::Texts::read(o.texts.as_deref())?;
    let db = BenchDatabase::create(Some(url)).await?;
    eprintln!("parley bench: a fresh database at {} for {} processes", db.shown(), o.processes);
    let store = Store::connect(db.url()).await.context("cannot open the bench database")?;
    let baseline = load::baseline_apart(o, &texts).await?;
    eprintln!("parley bench: baseline {:.0} posts/s inserted straight", baseline.posts_per_sec);
    // Discussions and their threads are made once, before the workers start.
    let config = load::bench_config(config, o.rate_limits);
    let setup = Engine::start(
        store.clone(),
        parley::identity::Identity::new(load::BENCH_SECRET),
        Arc::new(parley::clock::SystemClock),
        &config,
        vec![Platform::Console],
    )
    .await?;
    drop(setup);

    let (events_tx, mut events) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let mut workers = Vec::with_capacity(o.processes);
    for i in 0..o.processes {
        workers.push(spawn_worker(i, db.url(), o, events_tx.clone())?);
    }
    drop(events_tx);

    let slugs: Vec<String> = config.discussions.iter().map(|d| d.slug.clone()).collect();
    let workload = Workload::new(o.participants, o.posts, slugs, o.seed, Platform::Console, "fleet")
        .with_texts(texts.texts.clone());
    let total_estimate = o.participants as u64 + o.posts;
    let kill_at = total_estimate / 2;
    let victim = o.processes - 1;
    let mut killed_after = 0u64;
    let mut offered = 0u64;
    let mut resent = 0u64;
    let mut latencies = Vec::with_capacity(total_estimate as usize);
    let mut seen: HashMap<i64, (u32, bool)> = HashMap::new();
    let started = Instant::now();
    let mut last_progress = Instant::now();
    let shard = |who: &str, alive: &[usize]| -> usize {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        who.hash(&mut h);
        alive[(h.finish() % alive.len() as u64) as usize]
    };
    let mut alive: Vec<usize> = (0..o.processes).collect();

    let mut workload = workload.peekable();
    loop {
        // Take in what the workers said, without waiting.
        while let Ok(event) = events.try_recv() {
            take(event, &mut workers, &mut latencies, &mut seen, victim);
        }
        let in_flight: usize = workers.iter().map(|w| w.outstanding.len()).sum();
        if in_flight >= 2 * FLEET_BATCH * o.processes {
            // Let the workers catch up.
            if let Some(event) = events.recv().await {
                take(event, &mut workers, &mut latencies, &mut seen, victim);
            }
            continue;
        }
        if offered == kill_at && killed_after == 0 && o.processes > 1 {
            killed_after = offered;
            eprintln!("parley bench: killing process {victim} (SIGKILL) after {offered} messages");
            let w = &mut workers[victim];
            w.child.start_kill().context("cannot kill a worker")?;
            let _ = w.child.wait().await;
            w.alive = false;
            w.stdin = None;
            alive.retain(|&i| i != victim);
            // Drain what it wrote before dying (acknowledgements in the pipe still count).
            tokio::time::sleep(Duration::from_millis(200)).await;
            while let Ok(event) = events.try_recv() {
                take(event, &mut workers, &mut latencies, &mut seen, victim);
            }
            // A platform sends what was never acknowledged again, to the survivors.
            let mut orphans: Vec<(WireMessage, Instant)> =
                workers[victim].outstanding.drain().map(|(_, v)| v).collect();
            orphans.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| event_number(&a.0.e).cmp(&event_number(&b.0.e))));
            for (message, at) in orphans {
                resent += 1;
                let to = shard(&message.u, &alive);
                send(&mut workers[to], message, at).await?;
            }
        }
        let Some(message) = workload.next() else { break };
        offered += 1;
        let to = shard(&message.inbound.sender.id, &alive);
        send(&mut workers[to], WireMessage::of(&message.inbound), Instant::now()).await?;
        if last_progress.elapsed() > Duration::from_secs(5) {
            last_progress = Instant::now();
            eprintln!(
                "parley bench: {offered} messages offered, {} acknowledged, {:.0}/s",
                latencies.len(),
                latencies.len() as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    // Wait for every acknowledgement.
    while workers.iter().any(|w| w.alive && !w.outstanding.is_empty()) {
        match tokio::time::timeout(Duration::from_secs(120), events.recv()).await {
            Ok(Some(event)) => take(event, &mut workers, &mut latencies, &mut seen, victim),
            Ok(None) => anyhow::bail!("every worker stopped before acknowledging everything"),
            Err(_) => anyhow::bail!("no acknowledgement for 2 minutes"),
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    // Wait for the outbox to empty (the killed worker's rows come back after the lease).
    let deadline = Instant::now() + Duration::from_secs(600);
    while store.bench_pending().await? > 0 {
        anyhow::ensure!(Instant::now() < deadline, "the outbox did not empty within 10 minutes");
        while let Ok(event) = events.try_recv() {
            take(event, &mut workers, &mut latencies, &mut seen, victim);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for w in workers.iter_mut() {
        w.stdin = None;
    }
    for w in workers.iter_mut().filter(|w| w.alive) {
        let status = tokio::time::timeout(Duration::from_secs(60), w.child.wait()).await;
        anyhow::ensure!(matches!(status, Ok(Ok(s)) if s.success()), "a worker did not finish cleanly: {status:?}");
    }
    while let Some(event) = events.recv().await {
        take(event, &mut workers, &mut latencies, &mut seen, victim);
    }

    let counts = store.bench_counts(BASELINE_SLUG).await?;
    let recorded = store.bench_delivered_ids().await?;
    let unsent_but_recorded = recorded.iter().filter(|id| !seen.contains_key(id)).count() as u64;
    let redelivered_after_kill = seen.values().filter(|(n, by_victim)| *n > 1 && *by_victim).count() as u64;
    let duplicated = seen.values().filter(|(n, by_victim)| *n > 1 && !*by_victim).count() as u64;
    let inbound_lost = offered.saturating_sub(counts.inbound_events);
    let write_ceiling = match load::write_ceiling_of(&store).await {
        Ok(ceiling) => ceiling,
        Err(e) => {
            store.close().await;
            db.drop_database().await;
            return Err(e.context("measuring the write ceiling failed"));
        }
    };
    let posts_per_sec = counts.posts as f64 / seconds;
    let report = FleetReport {
        database: "postgres",
        processes: o.processes,
        killed_process: victim,
        killed_after_messages: killed_after,
        participants: o.participants,
        texts: texts.shown,
        inbound_messages: offered,
        resent_after_kill: resent,
        seconds,
        inbound_per_sec: offered as f64 / seconds,
        posts_stored: counts.posts,
        posts_per_sec,
        latency: Latency::of(latencies),
        outbox_rows: counts.outbox,
        deliveries_seen: seen.values().map(|(n, _)| u64::from(*n)).sum(),
        redelivered_after_kill,
        duplicated,
        lost: inbound_lost + unsent_but_recorded + counts.outbox_pending,
        numbering_gaps: counts.numbering_gaps,
        numbering_duplicates: counts.numbering_duplicates,
        ratio_to_baseline: posts_per_sec / baseline.posts_per_sec.max(f64::MIN_POSITIVE),
        ceiling_ratio_to_baseline: write_ceiling.posts_per_sec / baseline.posts_per_sec.max(f64::MIN_POSITIVE),
        ratio_to_write_ceiling: posts_per_sec / write_ceiling.posts_per_sec.max(f64::MIN_POSITIVE),
        baseline,
        write_ceiling,
    };
    store.close().await;
    db.drop_database().await;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

/// The sequence number in a bench event id (`bench-RUN-N`).
fn event_number(id: &str) -> u64 {
    id.rsplit('-').next().and_then(|n| n.parse().ok()).unwrap_or(0)
}

fn take(
    event: Event,
    workers: &mut [Worker],
    latencies: &mut Vec<u64>,
    seen: &mut HashMap<i64, (u32, bool)>,
    victim: usize,
) {
    match event {
        Event::Line(i, WorkerLine::Acked(ids)) => {
            let now = Instant::now();
            for id in ids {
                // An acknowledgement can come from a survivor for a message first sent to
                // the killed worker: look in every worker's outstanding list.
                let found = workers[i]
                    .outstanding
                    .remove(&id)
                    .or_else(|| workers.iter_mut().find_map(|w| w.outstanding.remove(&id)));
                if let Some((_, at)) = found {
                    latencies.push(now.duration_since(at).as_micros() as u64);
                }
            }
        }
        Event::Line(i, WorkerLine::Delivered(ids)) => {
            for id in ids {
                let entry = seen.entry(id).or_insert((0, false));
                entry.0 += 1;
                entry.1 |= i == victim;
            }
        }
        Event::Closed(i) => {
            if let Some(w) = workers.get_mut(i) {
                w.alive = false;
            }
        }
    }
}

async fn send(worker: &mut Worker, message: WireMessage, at: Instant) -> anyhow::Result<()> {
    let mut line = serde_json::to_vec(&message)?;
    line.push(b'\n');
    let stdin = worker.stdin.as_mut().context("a worker's input is closed")?;
    stdin.write_all(&line).await.context("cannot write to a worker")?;
    worker.outstanding.insert(message.e.clone(), (message, at));
    Ok(())
}

fn spawn_worker(
    index: usize,
    url: &str,
    o: &LoadOptions,
    events: tokio::sync::mpsc::UnboundedSender<Event>,
) -> anyhow::Result<Worker> {
    let exe = std::env::current_exe().context("cannot find the parley executable")?;
    let mut command = Command::new(exe);
    command.arg("bench").arg("worker").arg("--index").arg(index.to_string()).arg("--database").arg(url);
    if o.rate_limits {
        command.arg("--rate-limits");
    }
    if let Some(config) = &o.config {
        command.arg("--config").arg(config);
    }
    command.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).kill_on_drop(true);
    let mut child = command.spawn().context("cannot start a worker process")?;
    let stdin = child.stdin.take();
    let stdout = child.stdout.take().context("a worker has no output")?;
    tokio::spawn(async move {
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            match serde_json::from_str::<WorkerLine>(&line) {
                Ok(l) => {
                    let _ = events.send(Event::Line(index, l));
                }
                Err(e) => eprintln!("parley bench: worker {index} said something unreadable: {e}"),
            }
        }
        let _ = events.send(Event::Closed(index));
    });
    Ok(Worker { child, stdin, alive: true, outstanding: HashMap::new() })
}

/// `parley bench worker`: one of the fleet's processes. Reads messages on standard input,
/// hands them to the engine in group commits, acknowledges each after its commit, and
/// sends (acknowledges) every due delivery, writing each before recording it.
pub async fn worker(config: &Config, url: &str, rate_limits: bool) -> anyhow::Result<()> {
    let store = Store::connect(url).await.context("cannot open the bench database")?;
    store.set_delivery_lease(WORKER_LEASE);
    let config = load::bench_config(config, rate_limits);
    let engine = Arc::new(
        Engine::start(
            store,
            parley::identity::Identity::new(load::BENCH_SECRET),
            Arc::new(parley::clock::SystemClock),
            &config,
            vec![Platform::Console],
        )
        .await?,
    );
    let out = Arc::new(std::sync::Mutex::new(std::io::stdout()));
    let stop = Arc::new(AtomicBool::new(false));
    let adapter = {
        let out = out.clone();
        // Written (sent to the platform) before it is recorded as delivered.
        load::null_adapter(engine.clone(), stop.clone(), move |ids| {
            write_line(&out, &WorkerLine::Delivered(ids.to_vec())).is_ok()
        })
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Inbound>(4 * FLEET_BATCH);
    let reader = tokio::spawn(async move {
        let mut lines = BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            match serde_json::from_str::<WireMessage>(&line) {
                Ok(m) => {
                    if tx.send(m.inbound()).await.is_err() {
                        break;
                    }
                }
                Err(e) => eprintln!("parley bench worker: unreadable input: {e}"),
            }
        }
    });
    while let Some(first) = rx.recv().await {
        let batch = chat::batch_from(first, || rx.try_recv().ok(), Inbound::weight, engine.max_batch());
        let ids: Vec<String> = batch.iter().map(|m| m.event_id.clone()).collect();
        engine.handle_batch(batch).await;
        write_line(&out, &WorkerLine::Acked(ids))?;
    }
    reader.await?;
    stop.store(true, Ordering::Relaxed);
    engine.wakeup().notify_waiters();
    adapter.await?;
    engine.store().close().await;
    Ok(())
}

/// Writes one line and flushes it, so that it is in the pipe before anything else happens.
fn write_line(out: &std::sync::Mutex<std::io::Stdout>, line: &WorkerLine) -> std::io::Result<()> {
    let mut text = serde_json::to_vec(line).map_err(std::io::Error::other)?;
    text.push(b'\n');
    let out = out.lock().unwrap_or_else(|p| p.into_inner());
    let mut out = out.lock();
    out.write_all(&text)?;
    out.flush()
}
