//! `sqlx::migrate!` embeds `migrations/` when parley is compiled: a new migration file must
//! rebuild parley even when no Rust source changed.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
