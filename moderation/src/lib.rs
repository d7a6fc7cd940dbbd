//! Pure text analysis for parley: crisis detection, normalisation, personal-data
//! redaction, abuse and spam, combined into a [`Verdict`].
//!
//! Synchronous, free of I/O and allocation-light, so that it can be fuzzed and
//! benchmarked on its own.
//!
//! ```
//! let moderator = moderation::Moderator::pass_through();
//! let verdict = moderator.assess("The wait at my GP was three weeks", &[]);
//! assert_eq!(verdict.action, moderation::Action::Publish);
//! ```

/// What should happen to a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// Publish as written.
    Publish,
    /// Publish [`Verdict::text`], from which personal data was removed.
    PublishRedacted,
    /// Keep it back until a moderator approves it.
    Hold,
    /// Refuse it.
    Reject,
}

/// Why a verdict is what it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Reason {
    /// A stable machine-readable code, e.g. `personal_data.phone`, `abuse.severe`, `crisis.suicide`.
    pub code: String,
    /// A plain-language explanation that can be shown to the author or a moderator.
    pub explanation: String,
    /// Strength of the signal, 0.0 to 1.0.
    pub score: f32,
}

/// Crisis signals found in the raw text (self-harm, suicide, immediate danger, abuse disclosure).
#[derive(Debug, Clone, PartialEq)]
pub struct Crisis {
    /// Which kind of crisis, e.g. `suicide`, `self_harm`, `danger`, `abuse_disclosure`.
    pub kind: String,
    /// Confidence, 0.0 to 1.0.
    pub score: f32,
}

/// The result of assessing one post.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// What to do.
    pub action: Action,
    /// The text to store and publish: the input with personal data redacted.
    pub text: String,
    /// Crisis detected on the raw text; the core signposts help and alerts moderators,
    /// and never punishes such a post.
    pub crisis: Option<Crisis>,
    /// Everything that contributed, including each redaction.
    pub reasons: Vec<Reason>,
}

/// Assesses posts. Build once, share freely (it is `Send + Sync`).
#[derive(Debug, Clone, Default)]
pub struct Moderator {
    _private: (),
}

impl Moderator {
    /// A moderator that publishes everything unchanged. This is the pass-through used until
    /// the real analysis lands; it is named so that nobody mistakes it for moderation.
    pub fn pass_through() -> Self {
        Moderator { _private: () }
    }

    /// Assesses `text`. `recent` holds the author's recent posts (newest last), for spam
    /// detection of repeated text.
    pub fn assess(&self, text: &str, recent: &[String]) -> Verdict {
        let _ = recent;
        Verdict { action: Action::Publish, text: text.to_string(), crisis: None, reasons: Vec::new() }
    }
}
