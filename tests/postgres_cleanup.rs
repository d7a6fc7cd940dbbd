//! Test databases do not outlive their test (issue 13.12): the guard drops the database,
//! also when the test fails, and databases left by an earlier run are swept.
#![allow(clippy::unwrap_used)]

mod common;

#[tokio::test]
async fn a_test_database_is_dropped_with_its_guard_even_on_failure() {
    let db = common::fresh_postgres().await;
    let name = db.name.clone();
    let store = parley::store::Store::connect(&db).await.unwrap();
    assert!(common::postgres_database_exists(&name).await);
    // Dropped while the store still holds connections, as when a test fails part way.
    drop(db);
    assert!(!common::postgres_database_exists(&name).await, "{name} is left behind");
    drop(store);

    // A failing test: the guard drops the database while the panic unwinds.
    let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let seen_in_test = seen.clone();
    let failed = tokio::spawn(async move {
        let db = common::fresh_postgres().await;
        let _store = parley::store::Store::connect(&db).await.unwrap();
        *seen_in_test.lock().unwrap() = db.name.clone();
        panic!("a failing test");
    })
    .await;
    assert!(failed.is_err());
    let name = seen.lock().unwrap().clone();
    assert!(name.starts_with("parley_test_"));
    assert!(!common::postgres_database_exists(&name).await, "{name} is left behind by a failed test");
}

#[tokio::test]
async fn databases_left_by_a_finished_run_are_swept() {
    use sqlx::Connection;
    // A leftover from a process that no longer runs (a pid above the kernel maximum).
    let mut conn = sqlx::PgConnection::connect(&common::postgres_admin_url()).await.unwrap();
    let millis = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    let stale = format!("parley_test_4194304999_{millis}_0");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {stale}"))).execute(&mut conn).await.unwrap();
    assert!(common::postgres_database_exists(&stale).await);
    common::drop_stale_databases().await;
    assert!(!common::postgres_database_exists(&stale).await, "the stale {stale} was not swept");
}
