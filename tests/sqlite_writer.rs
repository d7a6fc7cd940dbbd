//! The SQLite writer (statements run in line through rusqlite, src/store/db.rs): a
//! transaction dropped without commit leaves nothing behind, on a file and in memory; what
//! it commits is seen by the read connections (sqlx); the write-ahead log is copied back
//! into the file while the writer is open, and starts again from its beginning even under
//! writes that never pause, so that it does not grow without end; and once the store is
//! closed the database file alone holds everything.

#![allow(clippy::unwrap_used)]

use chat::Platform;
use parley::ids::{DiscussionId, ParticipantKey, PostNumber};
use parley::store::{NewPost, PostStatus, Store};

async fn dropped_transactions_leave_nothing(store: &Store) {
    let mut tx = store.begin().await.unwrap();
    tx.insert_discussion("kept", "Kept", "?", 1).await.unwrap().unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    tx.insert_discussion("dropped", "Dropped", "?", 1).await.unwrap().unwrap();
    drop(tx);

    // A savepoint rolled back inside a kept transaction undoes only its own part.
    let mut tx = store.begin().await.unwrap();
    tx.savepoint().await.unwrap();
    tx.insert_discussion("undone", "Undone", "?", 1).await.unwrap().unwrap();
    tx.rollback_to_savepoint().await.unwrap();
    tx.savepoint().await.unwrap();
    tx.insert_discussion("released", "Released", "?", 1).await.unwrap().unwrap();
    tx.release().await.unwrap();
    tx.commit().await.unwrap();

    let mut read = store.begin_read().await.unwrap();
    let slugs: Vec<String> = read.discussions(false).await.unwrap().into_iter().map(|d| d.slug).collect();
    assert_eq!(slugs, ["kept", "released"]);
    read.commit().await.unwrap();
    // The writer is free again: a new transaction begins at once.
    let tx = store.begin().await.unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn a_dropped_transaction_leaves_nothing_on_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("p.db").display())).await.unwrap();
    dropped_transactions_leave_nothing(&store).await;
}

#[tokio::test]
async fn a_dropped_transaction_leaves_nothing_in_memory() {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    dropped_transactions_leave_nothing(&store).await;
}

/// Post number `n` of `discussion`, published.
fn post<'a>(discussion: DiscussionId, n: i64, key: &'a ParticipantKey, body: &'a str) -> NewPost<'a> {
    NewPost {
        discussion,
        number: PostNumber(n),
        participant: key,
        pseudonym: "Calm Otter",
        parent: None,
        body,
        status: PostStatus::Published,
        created_at: n,
        themes: "",
        sentiment: 0,
        platform: Platform::Console,
        reasons: None,
    }
}

#[tokio::test]
async fn the_log_is_copied_into_the_file_while_the_writer_is_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.db");
    let store = Store::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    let before = std::fs::metadata(&path).unwrap().len();
    let key = ParticipantKey("k".repeat(64));
    let mut tx = store.begin().await.unwrap();
    let d = tx.insert_discussion("big", "Big", "?", 1).await.unwrap().unwrap();
    let body = "x".repeat(2_000);
    for n in 1..=1_000 {
        tx.insert_post(&post(d.id, n, &key, &body)).await.unwrap();
    }
    tx.commit().await.unwrap();
    // Two megabytes went into the log; the checkpointer copies them into the file within
    // a few of its rounds (every 250 ms), with the store still open.
    let mut grown = 0;
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        grown = std::fs::metadata(&path).unwrap().len();
        if grown > before + 1_000_000 {
            break;
        }
    }
    assert!(grown > before + 1_000_000, "the database file stayed at {grown} bytes (from {before})");
    let mut read = store.begin_read().await.unwrap();
    assert_eq!(read.posts(d.id).await.unwrap().len(), 1_000);
    read.commit().await.unwrap();
}

/// The salts in a write-ahead log's header: SQLite draws new ones each time the log starts
/// again from its beginning.
fn log_salts(wal: &std::path::Path) -> Option<[u8; 8]> {
    use std::io::Read as _;
    let mut header = [0u8; 24];
    std::fs::File::open(wal).ok()?.read_exact(&mut header).ok()?;
    header[16..24].try_into().ok()
}

#[tokio::test]
async fn the_log_starts_again_under_writes_that_never_pause() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.db");
    let wal = dir.path().join("p.db-wal");
    let store = Store::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    // 256 frames (1 MiB) instead of 64 MiB, so that each round of the checkpointer (every
    // 250 ms) does it here.
    store.set_log_restart_frames(256);
    let key = ParticipantKey("k".repeat(64));
    let mut tx = store.begin().await.unwrap();
    let d = tx.insert_discussion("busy", "Busy", "?", 1).await.unwrap().unwrap();
    tx.commit().await.unwrap();
    let body = "y".repeat(2_000);
    let mut salts = std::collections::HashSet::new();
    let mut n = 0;
    // Commits back to back, never leaving the checkpointer a pause, until the log has
    // started again three times (about a second here) or 20 seconds have passed.
    let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while salts.len() < 4 && std::time::Instant::now() < until {
        let mut tx = store.begin().await.unwrap();
        for _ in 0..20 {
            n += 1;
            tx.insert_post(&post(d.id, n, &key, &body)).await.unwrap();
        }
        tx.commit().await.unwrap();
        salts.extend(log_salts(&wal));
    }
    // Each round lets it start again: seven times in two seconds here. With passive
    // checkpoints alone (checked by hand with the limit lifted) it started again once in
    // two seconds, and the log only grew (21–24 MB in two seconds, against 11–12 MB).
    assert!(salts.len() >= 4, "the log started again only {} times in 20 seconds of writes", salts.len().max(1) - 1);
    let mut read = store.begin_read().await.unwrap();
    assert_eq!(read.posts(d.id).await.unwrap().len() as i64, n);
    read.commit().await.unwrap();
}

#[tokio::test]
async fn after_close_the_database_file_alone_holds_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.db");
    let store = Store::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.insert_discussion("kept", "Kept", "?", 1).await.unwrap().unwrap();
    tx.commit().await.unwrap();
    store.close().await;
    // A copy of the file alone, as a backup made after parley stopped would be.
    let copy = dir.path().join("copy.db");
    std::fs::copy(&path, &copy).unwrap();
    let copied = Store::connect(&format!("sqlite://{}", copy.display())).await.unwrap();
    let mut read = copied.begin_read().await.unwrap();
    assert!(read.discussion_by_slug("kept").await.unwrap().is_some());
    read.commit().await.unwrap();
}

#[tokio::test]
async fn a_file_whose_path_says_memory_is_still_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("memory-bot.db").display());
    let store = Store::connect(&url).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.insert_discussion("kept", "Kept", "?", 1).await.unwrap().unwrap();
    tx.commit().await.unwrap();
    store.close().await;
    drop(store);
    let again = Store::connect(&url).await.unwrap();
    let mut read = again.begin_read().await.unwrap();
    assert!(read.discussion_by_slug("kept").await.unwrap().is_some());
    read.commit().await.unwrap();
}
