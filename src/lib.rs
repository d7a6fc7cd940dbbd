//! parley's core: anonymous threaded discussions for NHS commissioners, shared by the
//! Matrix, Discord and console adapters.
//!
//! The core decides everything; adapters only translate (see the `chat` crate). A minimal
//! embedding, as the console adapter and the tests do it:
//!
//! ```no_run
//! # async fn demo() -> parley::Result<()> {
//! use std::sync::Arc;
//! let config = parley::config::Config::load(None)?;
//! let store = parley::store::Store::connect("sqlite::memory:").await?;
//! let identity = parley::identity::Identity::new(b"a secret of at least sixteen bytes");
//! let engine = parley::engine::Engine::start(
//!     store, identity, Arc::new(parley::clock::SystemClock), &config, vec![chat::Platform::Console],
//! ).await?;
//! # let _ = engine; Ok(()) }
//! ```

pub mod app;
pub mod clock;
pub mod config;
pub mod console;
pub mod engine;
pub mod error;
pub mod identity;
pub mod ids;
pub mod limits;
pub mod participation;
pub mod report;
pub mod store;
pub mod surveys;

pub use error::{Error, Result};

/// The moderation engine for a configuration.
pub fn moderator_for(config: &config::Config) -> moderation::Moderator {
    let m = &config.moderation;
    let policy = moderation::Policy {
        allowed_domains: m.allowed_link_domains.iter().map(|d| d.to_ascii_lowercase()).collect(),
        hold_crisis: m.hold_crisis,
        hold_named_staff: m.hold_named_staff,
        ..moderation::Policy::default()
    };
    moderation::Moderator::new(policy)
}
