//! The core's error type. Participants never see these texts: the engine logs them and
//! answers in plain language instead.

/// Everything that can go wrong inside the core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration file is missing, unreadable or invalid; `message` names the key.
    #[error("{source_name}: {message}")]
    Config {
        /// The file (or "the bundled example configuration").
        source_name: String,
        /// What is wrong, naming the key.
        message: String,
    },
    /// The database refused or failed a query.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A direct read of the SQLite file failed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A database migration failed.
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// The database URL names a database parley does not support.
    #[error("unsupported database URL (use sqlite:… or postgres://…): {0}")]
    UnsupportedDatabase(String),
    /// The secret could not be read or created.
    #[error("secret: {0}")]
    Secret(String),
    /// Stored encrypted data could not be decrypted (wrong secret or damaged data).
    #[error("stored contact details could not be decrypted; was PARLEY_SECRET changed?")]
    Decrypt,
    /// A file system operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What parley was doing.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Stored data broke an invariant (a bug or manual tampering).
    #[error("inconsistent stored data: {0}")]
    Inconsistent(String),
}

/// The core's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
