//! The SQLite writer (statements run in line through rusqlite, src/store/db.rs): a
//! transaction dropped without commit leaves nothing behind, on a file and in memory; what
//! it commits is seen by the read connections (sqlx); the write-ahead log is copied back
//! into the file while the writer is open, so that the log does not grow without end; and
//! once the store is closed the database file alone holds everything.

#![allow(clippy::unwrap_used)]

use chat::Platform;
use parley::ids::{ParticipantKey, PostNumber};
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
        tx.insert_post(&NewPost {
            discussion: d.id,
            number: PostNumber(n),
            participant: &key,
            pseudonym: "Calm Otter",
            parent: None,
            body: &body,
            status: PostStatus::Published,
            created_at: n,
            themes: "",
            sentiment: 0,
            platform: Platform::Console,
        })
        .await
        .unwrap();
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
