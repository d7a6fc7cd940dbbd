//! Attack on the read-ahead of a group commit (src/engine/ahead.rs): moderation
//! verdicts and theme analyses worked out on a blocking thread, keyed by the exact text, and
//! looked up by the writer. Hostile DMs (format and zero-width characters, NUL bytes, huge
//! lines, repeated text, `!post` slug variants, a flood) are sent once as ONE batch and once
//! one message per `handle_batch` call, on SQLite and on PostgreSQL; what is stored (posts,
//! reasons, themes, sentiment, sanctions, audit, reports, survey answers) and what is queued
//! in the outbox must be identical, and the safety invariants must hold either way.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, HashMap};

use chat::{Inbound, Platform};
use common::{fresh_postgres, TestBot, TestDatabase};
use parley::config::Config;
use sqlx::{Connection, Row};

// ---------------------------------------------------------------------------------------
// Harness

#[derive(Clone, Copy, Debug, PartialEq)]
enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    /// Every attack message in one `handle_batch` call.
    Batched,
    /// One `handle_batch` call per message.
    OneByOne,
}

/// One inbound DM: sender (also the DM address, as the console builds it), text, event id.
#[derive(Clone, Debug)]
struct Msg {
    sender: String,
    text: String,
    event: String,
}

fn msg(sender: &str, text: &str, event: &str) -> Msg {
    Msg { sender: sender.into(), text: text.into(), event: event.into() }
}

struct Bot {
    bot: TestBot,
    _db: Option<TestDatabase>,
}

async fn new_bot(backend: Backend) -> Bot {
    let config = Config::load(None).unwrap();
    let platforms = vec![Platform::Console, Platform::Matrix];
    match backend {
        Backend::Sqlite => Bot { bot: TestBot::with_config(config, platforms).await, _db: None },
        Backend::Postgres => {
            let db = fresh_postgres().await;
            let dir = tempfile::tempdir().unwrap();
            let bot = TestBot::on(config, platforms, dir, db.url.clone()).await;
            Bot { bot, _db: Some(db) }
        }
    }
}

fn inbound(bot: &TestBot, m: &Msg) -> Inbound {
    parley::console::inbound(&bot.config.console, &m.sender, &m.text, m.event.clone())
}

/// Everything the engine stored, as text, with made-up names replaced by the participant
/// they belong to (a name taken by someone else is replaced by a random one, which would
/// differ between two runs for no fault of the read-ahead) and sealed addresses opened.
#[derive(Debug, PartialEq, Clone)]
struct Snapshot {
    posts: Vec<Vec<Option<String>>>,
    outbox: Vec<Vec<Option<String>>>,
    sanctions: Vec<Vec<Option<String>>>,
    audit: Vec<Vec<Option<String>>>,
    reports: Vec<Vec<Option<String>>>,
    answers: Vec<Vec<Option<String>>>,
    inbound_events: Vec<Vec<Option<String>>>,
}

const POSTS: &str = "SELECT CAST(id AS TEXT), CAST(discussion_id AS TEXT), CAST(number AS TEXT), participant_key, \
    pseudonym, CAST(parent_number AS TEXT), body, status, CAST(created_at AS TEXT), reasons, themes, \
    CAST(sentiment AS TEXT), platform FROM posts ORDER BY id";
const OUTBOX: &str = "SELECT CAST(id AS TEXT), platform, dest_kind, sealed_address, CAST(discussion_id AS TEXT), \
    CAST(post_id AS TEXT), CAST(reply_to_post AS TEXT), action, body, CAST(attempts AS TEXT), \
    CAST(next_attempt_at AS TEXT), CAST(created_at AS TEXT), CAST(delivered_at AS TEXT), message_id, \
    CAST(cancelled AS TEXT), CAST(dead AS TEXT), choices FROM outbox ORDER BY id";
const SANCTIONS: &str = "SELECT participant_key, CAST(muted_until AS TEXT), CAST(banned AS TEXT), label, \
    CAST(updated_at AS TEXT) FROM sanctions ORDER BY participant_key";
const AUDIT: &str = "SELECT CAST(at AS TEXT), actor, action, target, reason FROM audit_log ORDER BY id";
const REPORTS: &str = "SELECT CAST(post_id AS TEXT), reporter_key, reason, CAST(counted AS TEXT), \
    CAST(created_at AS TEXT) FROM reports ORDER BY post_id, reporter_key";
const ANSWERS: &str = "SELECT survey_id, participant_key, CAST(question AS TEXT), answer, themes, \
    CAST(quotable AS TEXT), CAST(answered_at AS TEXT) FROM survey_answers ORDER BY survey_id, participant_key, question";
const EVENTS: &str = "SELECT platform, event_id FROM inbound_events ORDER BY platform, event_id";
const NAMES: &str = "SELECT name, participant_key FROM pseudonyms";

async fn rows(conn: &mut sqlx::AnyConnection, sql: &'static str) -> Vec<Vec<Option<String>>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(conn).await.unwrap();
    rows.iter().map(|r| (0..r.len()).map(|i| r.try_get::<Option<String>, _>(i).unwrap()).collect()).collect()
}

async fn snapshot(bot: &TestBot) -> Snapshot {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&bot.url).await.unwrap();
    let mut names: Vec<(String, String)> = rows(&mut conn, NAMES)
        .await
        .into_iter()
        .map(|r| {
            let key = r[1].clone().unwrap_or_default();
            (r[0].clone().unwrap(), format!("<name of {}>", &key[..key.len().min(12)]))
        })
        .collect();
    names.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
    let canon = |mut table: Vec<Vec<Option<String>>>| {
        for row in &mut table {
            for cell in row.iter_mut().flatten() {
                for (name, label) in &names {
                    if cell.contains(name.as_str()) {
                        *cell = cell.replace(name.as_str(), label);
                    }
                }
            }
        }
        table
    };
    let mut outbox = rows(&mut conn, OUTBOX).await;
    for row in &mut outbox {
        if let Some(sealed) = row[3].take() {
            row[3] = Some(format!("to {}", bot.engine.identity().open(&sealed).unwrap()));
        }
    }
    let snap = Snapshot {
        posts: canon(rows(&mut conn, POSTS).await),
        outbox: canon(outbox),
        sanctions: rows(&mut conn, SANCTIONS).await,
        audit: canon(rows(&mut conn, AUDIT).await),
        reports: rows(&mut conn, REPORTS).await,
        answers: rows(&mut conn, ANSWERS).await,
        inbound_events: rows(&mut conn, EVENTS).await,
    };
    conn.close().await.unwrap();
    snap
}

/// A fresh bot, the setup sent one message per call, then the attack in `mode`.
async fn run(backend: Backend, setup: &[Msg], attack: &[Msg], mode: Mode) -> (Bot, Snapshot) {
    let b = new_bot(backend).await;
    for m in setup {
        b.bot.engine.handle_batch(vec![inbound(&b.bot, m)]).await;
    }
    let batch: Vec<Inbound> = attack.iter().map(|m| inbound(&b.bot, m)).collect();
    match mode {
        Mode::Batched => b.bot.engine.handle_batch(batch).await,
        Mode::OneByOne => {
            for one in batch {
                b.bot.engine.handle_batch(vec![one]).await;
            }
        }
    }
    let snap = snapshot(&b.bot).await;
    (b, snap)
}

fn short(s: &Option<String>) -> String {
    match s {
        None => "NULL".into(),
        Some(s) if s.len() > 300 => format!("{:?}… ({} bytes)", &s.chars().take(120).collect::<String>(), s.len()),
        Some(s) => format!("{s:?}"),
    }
}

fn show(row: &[Option<String>]) -> String {
    row.iter().map(short).collect::<Vec<_>>().join(" | ")
}

/// Asserts two snapshots are identical, naming the first difference of each table.
fn assert_same(what: &str, a: &Snapshot, b: &Snapshot) {
    let tables = [
        ("posts", &a.posts, &b.posts),
        ("outbox", &a.outbox, &b.outbox),
        ("sanctions", &a.sanctions, &b.sanctions),
        ("audit", &a.audit, &b.audit),
        ("reports", &a.reports, &b.reports),
        ("survey_answers", &a.answers, &b.answers),
        ("inbound_events", &a.inbound_events, &b.inbound_events),
    ];
    let mut diffs = Vec::new();
    for (name, x, y) in tables {
        if x == y {
            continue;
        }
        let mut d = format!("{name}: {} rows batched vs {} one by one", x.len(), y.len());
        for i in 0..x.len().max(y.len()) {
            let (rx, ry) = (x.get(i), y.get(i));
            if rx != ry {
                d.push_str(&format!(
                    "\n  first difference at row {i}:\n    batched:    {}\n    one by one: {}",
                    rx.map(|r| show(r)).unwrap_or_else(|| "(none)".into()),
                    ry.map(|r| show(r)).unwrap_or_else(|| "(none)".into())
                ));
                break;
            }
        }
        diffs.push(d);
    }
    assert!(diffs.is_empty(), "{what}: batched and one-by-one differ:\n{}", diffs.join("\n"));
}

// ---------------------------------------------------------------------------------------
// Invariants

/// Invisible and format characters removed, as a reader would see the text.
fn visible(s: &str) -> String {
    s.chars().filter(|&c| !moderation::normalise::is_invisible(c) && !c.is_control() || c == '\n').collect()
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

const PHONE_DIGITS: &str = "07700900123";
const EMAIL_LOCAL: &str = "jo.bloggs";
const SIGNPOST: &str = "It sounds like things are really hard";

/// What every snapshot must satisfy, whatever the mode. `attack` is what was sent.
fn check_invariants(what: &str, bot: &TestBot, snap: &Snapshot, attack: &[Msg]) {
    let m = parley::moderator_for(&bot.config);
    let analyzer = bot.engine.analyzer();
    // 1. No phone number or email in clear, stored or queued.
    for (table, rows, col) in [("posts", &snap.posts, 6usize), ("outbox", &snap.outbox, 8)] {
        for row in rows {
            let body = row[col].as_deref().unwrap_or("");
            let seen = visible(body);
            assert!(
                !digits(&seen).contains(PHONE_DIGITS),
                "{what}: phone number in clear in {table}: {}",
                short(&row[col])
            );
            assert!(
                !seen.to_lowercase().contains(EMAIL_LOCAL),
                "{what}: email in clear in {table}: {}",
                short(&row[col])
            );
        }
    }
    // 2. Stored themes and sentiment are those of the stored body.
    for row in &snap.posts {
        let body = row[6].as_deref().unwrap();
        let a = analyzer.analyse(body);
        assert_eq!(row[10].as_deref().unwrap(), a.themes.join(","), "{what}: themes of {}", short(&row[6]));
        assert_eq!(
            row[11].as_deref().unwrap(),
            ((a.sentiment.score * 100.0).round() as i64).to_string(),
            "{what}: sentiment of {}",
            short(&row[6])
        );
    }
    // 3. Thread lines: no ping, no invisible character, no crisis text published.
    for row in snap.outbox.iter().filter(|r| r[2].as_deref() == Some("thread")) {
        let body = row[8].as_deref().unwrap_or("");
        for ping in ["@everyone", "@here", "@room", "<@", "<#"] {
            assert!(!body.contains(ping), "{what}: ping {ping} relayed: {body:?}");
        }
        assert!(
            body.chars().all(|c| !moderation::normalise::is_invisible(c)),
            "{what}: invisible char relayed: {body:?}"
        );
        assert!(!visible(body).contains("end my life"), "{what}: crisis text published: {body:?}");
    }
    // 4. A crisis post is never published; whoever wrote crisis text is signposted.
    for row in &snap.posts {
        if row[9].as_deref().unwrap_or("").contains("in crisis") {
            assert_ne!(row[7].as_deref(), Some("published"), "{what}: crisis post published: {}", show(row));
        }
    }
    let mut dms: HashMap<String, Vec<String>> = HashMap::new();
    for row in &snap.outbox {
        if let Some(to) = row[3].as_deref().and_then(|t| t.strip_prefix("to ")) {
            dms.entry(to.to_string()).or_default().push(row[8].clone().unwrap_or_default());
        }
    }
    let mut events = std::collections::HashSet::new();
    for a in attack {
        // A second message with the same event id (once NULs are gone) is a duplicate:
        // dropped without an answer, by design.
        if !events.insert(a.event.replace('\0', "")) {
            continue;
        }
        let clean_sender: String = a.sender.chars().filter(|&c| c != '\0').collect();
        let text: String = a.text.chars().filter(|&c| c != '\0').collect();
        // 5. Every sender is answered.
        let got = dms.get(&clean_sender).map(Vec::as_slice).unwrap_or(&[]);
        assert!(!got.is_empty(), "{what}: {clean_sender:?} got no answer to {:?}", short(&Some(a.text.clone())));
        let typed = text.trim();
        if !typed.is_empty() && m.assess(typed, &[]).crisis.is_some() {
            assert!(
                got.iter().any(|d| d.contains(SIGNPOST)),
                "{what}: {clean_sender:?} wrote crisis text {:?} and was not signposted",
                short(&Some(a.text.clone()))
            );
        }
    }
}

/// Runs `attack` in both modes on `backend`, checks them equal and safe; returns the
/// batched run's snapshot.
async fn both_ways(what: &str, backend: Backend, setup: &[Msg], attack: &[Msg], batched_runs: usize) -> Snapshot {
    let what = format!("{what} on {backend:?}");
    let (ob, one_by_one) = run(backend, setup, attack, Mode::OneByOne).await;
    check_invariants(&format!("{what} (one by one)"), &ob.bot, &one_by_one, attack);
    drop(ob);
    // The thread and the writer race differently each time: several batched runs.
    let mut last = None;
    for i in 0..batched_runs {
        let (bb, batched) = run(backend, setup, attack, Mode::Batched).await;
        check_invariants(&format!("{what} (batched, run {i})"), &bb.bot, &batched, attack);
        assert_same(&format!("{what}, batched run {i}"), &batched, &one_by_one);
        last = Some(batched);
    }
    last.unwrap()
}

fn joins(senders: &[String]) -> Vec<Msg> {
    let mut setup = vec![
        msg("seed", "!join gp-access", "setup-seed-join"),
        msg("seed", "The first post, for replies and reports to name", "setup-seed-post"),
    ];
    for (i, s) in senders.iter().enumerate() {
        setup.push(msg(s, "!join gp-access", &format!("setup-join-{i}")));
    }
    setup
}

// ---------------------------------------------------------------------------------------
// Scenarios

/// Format characters, NULs, `!post` variants, repeats, crisis text and markup.
fn mixed_attack() -> (Vec<Msg>, Vec<Msg>) {
    let one = |i: usize, text: &str| msg(&format!("p{i:02}"), text, &format!("mix-{i:02}"));
    let mut attack = vec![
        // Only format / zero-width characters, with and without whitespace.
        one(1, "\u{200B}\u{200D}\u{2066}\u{2067}\u{2068}\u{2069}\u{202E}"),
        one(2, "   \u{200B}  \u{2069}  \u{202E} "),
        one(3, "\u{FEFF}\u{2060}\u{00AD}\u{180E}\u{3164}"),
        // Personal data padded and split by format characters.
        one(4, "\u{200B} \u{2066}Ring me on 07700 900123\u{2069} \u{200D}"),
        one(5, "  \u{202E}07700\u{200B}900123\u{202C}  "),
        one(6, "\u{2067}email jo.bloggs@example.com\u{2069}\u{200B}"),
        one(7, "jo.bloggs\u{200B}@example.com please write to me about my results"),
        one(8, "\u{2068} \u{200B}call 07700 900123 or mail jo.bloggs@example.com \u{200D}\u{2069}"),
        // Crisis text padded and split.
        one(9, "\u{200B}  I want to end my life  \u{200D}"),
        one(10, "I want to \u{200B}end my\u{2066} life\u{2069}"),
        one(11, "\u{202E}I want to end my life\u{202C}"),
        one(12, "  \u{2066}I want to end my life, ring me on 07700 900123\u{2069}  "),
        // Pings and markup, padded.
        one(13, "\u{200B}@everyone the wait at my GP was three weeks\u{200B}"),
        one(14, "@\u{200B}here **bold** <a href=\"https://evil.example\">click</a> the queue was long"),
        one(15, "  <@123456> and <@&42> look at this **bold** _it_ [x](https://evil.example)  "),
        one(16, "\u{2066}@here\u{2069} \u{2066}@everyone\u{2069} reception was rude"),
        // `!post` with and without a slug, padded.
        one(17, "!post \u{200B}gp-access The phone line is always engaged at 8am"),
        one(18, "!post gp-access\u{200B} The phone line is engaged all morning"),
        one(19, "  !post   GP-ACCESS    Reception was lovely today   "),
        one(20, "!post   urgent-care   The wait in A&E was six hours  "),
        one(21, "!post not-a-slug The car park at the hospital is too small"),
        one(22, "!post gp-access"),
        one(23, "!post    "),
        one(24, "!post gp-access \u{200B}\u{200D}"),
        one(25, "!post urgent-care I want to end my life"),
        one(26, "!post gp-access Ring 07700 900123 or jo.bloggs@example.com"),
        one(27, "!post \u{2066}urgent-care\u{2069} the queue at the walk-in centre"),
        one(28, "!post closed-one I want to end my life"),
        // Replies, reports and a survey answer: texts read ahead but never posted.
        one(29, "!reply #1 \u{200B}me too, ring 07700 900123\u{200B}"),
        one(30, "!report #1 \u{200B}I want to end my life\u{200B}"),
        one(31, "!report #1 The car park is awful and nobody ever fixes it"),
        one(32, "The car park is awful and nobody ever fixes it"),
        one(33, "!survey answer I want to end my life"),
        one(42, "\u{200B}I want to end my life\u{200B}"),
        // NUL bytes in text, event ids and sender ids.
        one(34, "Ring\0 me on 07700\0 900123 about the\0 appointment"),
        one(35, "\0\0\0"),
        one(36, "I want to\0 end my life"),
        msg("p37", "A message whose event id has a NUL", "dup\0-event"),
        msg("p38", "Another message with the same event id once NULs are gone", "dup-event"),
        msg("nul\0user", "A message from a sender with a NUL in the id", "mix-39"),
        msg("nuluser", "A message from the same sender without the NUL", "mix-40"),
        msg("p41\0", "\0!post\0 gp-access\0 nul slug", "mix-41\0"),
        // The same text twice from one sender (and once more with format characters), and
        // identical text from different senders.
        msg("r1", "The car park at the surgery is always full on Mondays", "rep-1"),
        msg("r1", "The car park at the surgery is always full on Mondays", "rep-2"),
        msg("r1", "\u{200B}The car park at the surgery is always full on Mondays\u{200B}", "rep-3"),
        msg("r2", "Identical text from two different people about parking", "rep-4"),
        msg("r3", "Identical text from two different people about parking", "rep-5"),
        msg("r4", "!post gp-access Repeated text posted twice in one batch please", "rep-6"),
        msg("r4", "Repeated text posted twice in one batch please", "rep-7"),
        msg("r5", "  spaced repeated text about the pharmacy queue  ", "rep-8"),
        msg("r5", "!post spaced repeated text about the pharmacy queue", "rep-9"),
        msg("r6", "I want to end my life, nobody listens at the surgery", "rep-10"),
        msg("r6", "I want to end my life, nobody listens at the surgery", "rep-11"),
        msg("r7", "!reply #1 the same reply text sent twice in a batch", "rep-12"),
        msg("r7", "!reply #1 the same reply text sent twice in a batch", "rep-13"),
        msg("r8", "THE SAME SHOUTING TEXT ABOUT THE PHONE QUEUE AGAIN", "rep-14"),
        msg("r8", "THE SAME SHOUTING TEXT ABOUT THE PHONE QUEUE AGAIN", "rep-15"),
        msg("r9", "Ring me on 07700 900123 about my results please", "rep-16"),
        msg("r9", "  Ring me on 07700 900123 about my results please  ", "rep-17"),
    ];
    // A text that is a report reason first, then a post (and the other way round).
    attack.push(msg("x1", "!report #1 Reported and posted text about the pharmacy", "x-1"));
    attack.push(msg("x2", "Reported and posted text about the pharmacy", "x-2"));
    attack.push(msg("x3", "Posted then reported text about the pharmacy", "x-3"));
    attack.push(msg("x4", "!report #1 Posted then reported text about the pharmacy", "x-4"));
    let mut senders: Vec<String> = Vec::new();
    for a in &attack {
        let s: String = a.sender.chars().filter(|&c| c != '\0').collect();
        if !senders.contains(&s) {
            senders.push(s);
        }
    }
    let mut setup = joins(&senders);
    // p33 is answering a survey when the attack comes.
    for who in ["p33", "p42"] {
        setup.push(msg(who, &format!("A first post by {who} about the surgery"), &format!("setup-first-{who}")));
        setup.push(msg(who, "!survey", &format!("setup-survey-{who}")));
    }
    (setup, attack)
}

async fn mixed(backend: Backend) {
    let (setup, attack) = mixed_attack();
    let snap = both_ways("mixed attack", backend, &setup, &attack, 3).await;
    // Spot checks of what the batched run stored.
    let posts: Vec<(String, String, String)> =
        snap.posts.iter().map(|r| (r[6].clone().unwrap(), r[7].clone().unwrap(), r[9].clone().unwrap())).collect();
    let find =
        |needle: &str| -> Vec<&(String, String, String)> { posts.iter().filter(|p| p.0.contains(needle)).collect() };
    // Repeated text from one sender in one batch: the second (and third) held as repeated.
    let car = find("The car park at the surgery is always full on Mondays");
    assert_eq!(car.len(), 3, "{car:?}");
    assert_eq!(car[0].1, "published", "{car:?}");
    assert_eq!(car[1].1, "held", "{car:?}");
    assert!(car[1].2.contains("The same text was posted recently."), "{car:?}");
    // Zero-width spaces around a repeat do not make it new (`spam::same_text` reads
    // neither invisible characters, nor case, nor whitespace).
    assert_eq!(car[2].1, "held", "a repeat padded with U+200B: {car:?}");
    let twice = find("Repeated text posted twice in one batch please");
    assert_eq!(twice.len(), 2, "{twice:?}");
    assert_eq!((twice[0].1.as_str(), twice[1].1.as_str()), ("published", "held"), "{twice:?}");
    let spaced = find("spaced repeated text about the pharmacy queue");
    assert_eq!(spaced.len(), 2, "{spaced:?}");
    assert_eq!((spaced[0].1.as_str(), spaced[1].1.as_str()), ("published", "held"), "{spaced:?}");
    // A repeat of a redacted post (recent bodies are stored redacted): held.
    let ring = find("Ring me on [phone removed] about my results please");
    assert_eq!(ring.iter().map(|p| p.1.as_str()).collect::<Vec<_>>(), ["published", "held"], "{ring:?}");
    // Identical text from two people: both published.
    let same = find("Identical text from two different people about parking");
    assert_eq!(same.iter().map(|p| p.1.as_str()).collect::<Vec<_>>(), ["published", "published"], "{same:?}");
    eprintln!(
        "mixed attack on {backend:?}: {} posts, {} outbox rows, identical both ways",
        snap.posts.len(),
        snap.outbox.len()
    );
    for p in &posts {
        eprintln!("  {:<9} {:?}  [{}]", p.1, p.0.chars().take(90).collect::<String>(), p.2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_attack_is_the_same_batched_or_not_on_sqlite() {
    mixed(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_attack_is_the_same_batched_or_not_on_postgres() {
    mixed(Backend::Postgres).await;
}

/// 300 messages from one sender in one batch (post_burst = 5, flood_refusals = 40 in the
/// bundled configuration), with format characters, repeats and a crisis message among them.
fn flood_attack() -> (Vec<Msg>, Vec<Msg>) {
    let mut attack = Vec::new();
    for i in 0..300 {
        let text = match i % 10 {
            0 => "The same flood text about the phone queue, again".to_string(),
            3 => format!("\u{200B}Flood message {i} ring 07700 900123\u{2069}"),
            7 if i == 157 => "I want to end my life".to_string(),
            _ => format!("Flood message number {i} about appointments"),
        };
        attack.push(msg("flooder", &text, &format!("flood-{i}")));
    }
    // Someone else in the same batch, after the flood.
    attack.push(msg("bystander", "The wait at my GP was three weeks", "flood-bystander"));
    (joins(&["flooder".into(), "bystander".into()]), attack)
}

async fn flood(backend: Backend) {
    let (setup, attack) = flood_attack();
    let snap = both_ways("flood", backend, &setup, &attack, 2).await;
    let statuses: BTreeMap<String, usize> = snap.posts.iter().fold(BTreeMap::new(), |mut m, r| {
        *m.entry(r[7].clone().unwrap()).or_default() += 1;
        m
    });
    eprintln!(
        "flood on {backend:?}: {} posts {statuses:?}, {} outbox rows, sanctions {:?}, audit {:?}",
        snap.posts.len(),
        snap.outbox.len(),
        snap.sanctions,
        snap.audit
    );
    // The burst of 5 from the flooder, and the bystander's post.
    assert_eq!(snap.posts.len(), 2 + 5, "{:?}", snap.posts.iter().map(|r| show(r)).collect::<Vec<_>>());
    assert_eq!(snap.sanctions.len(), 1, "the flooder is muted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_in_one_batch_is_the_same_as_one_by_one_on_sqlite() {
    flood(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_in_one_batch_is_the_same_as_one_by_one_on_postgres() {
    flood(Backend::Postgres).await;
}

/// Huge lines: refused plainly, never stored, never relayed.
fn huge_attack() -> (Vec<Msg>, Vec<Msg>) {
    let mb = "The wait at my GP was three weeks. ".repeat(1_000_000 / 35);
    let kb100 = "x".repeat(100_000);
    let attack = vec![
        msg("h1", &format!("  \u{200B}{mb} ring 07700 900123 I want to end my life\u{200B}  "), "huge-1"),
        msg("h2", &kb100, "huge-2"),
        msg("h3", &format!("!post gp-access {kb100}"), "huge-3"),
        msg("h4", &format!("!post not-a-slug {kb100}"), "huge-4"),
        msg("h5", &format!("{}hello", "\u{200B}".repeat(100_000)), "huge-5"),
        msg("h6", "An ordinary post after the huge ones", "huge-6"),
    ];
    (joins(&["h1", "h2", "h3", "h4", "h5", "h6"].map(String::from)), attack)
}

async fn huge(backend: Backend) {
    let (setup, attack) = huge_attack();
    let snap = both_ways("huge lines", backend, &setup, &attack, 1).await;
    let bodies: Vec<usize> = snap.posts.iter().map(|r| r[6].as_ref().unwrap().len()).collect();
    assert!(bodies.iter().all(|&n| n <= 2000 * 4), "a huge body was stored: {bodies:?}");
    assert!(snap.outbox.iter().all(|r| r[8].as_ref().unwrap().len() <= 8_000 * 4), "a huge message was queued");
    // Every huge sender is told it is too long (h1 also gets signposting).
    for (i, who) in ["h1", "h2", "h3", "h4"].iter().enumerate() {
        let dms: Vec<&str> = snap
            .outbox
            .iter()
            .filter(|r| r[3].as_deref() == Some(&format!("to {who}")))
            .map(|r| r[8].as_deref().unwrap())
            .collect();
        assert!(dms.iter().any(|d| d.contains("characters long")), "{i} {who}: {dms:?}");
    }
    // The ordinary post after them is published.
    assert!(snap.posts.iter().any(|r| r[6].as_deref() == Some("An ordinary post after the huge ones")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_lines_are_refused_the_same_way_on_sqlite() {
    huge(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_lines_are_refused_the_same_way_on_postgres() {
    huge(Backend::Postgres).await;
}
