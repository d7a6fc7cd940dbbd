//! Newtypes for identifiers, so that a post number cannot be passed where a row id is
//! expected.

use std::fmt;

/// `HMAC-SHA256(secret, platform ":" user_id)` as hex: the only way the core knows a person.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParticipantKey(pub String);

/// A discussion's row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DiscussionId(pub i64);

/// A post's row id (global, never shown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PostId(pub i64);

/// A post's reference inside its discussion, shown as `#N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PostNumber(pub i64);

impl fmt::Display for PostNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

impl PostNumber {
    /// Parses `#12` (or `12`).
    pub fn parse(s: &str) -> Option<PostNumber> {
        let digits = s.strip_prefix('#').unwrap_or(s);
        if digits.is_empty() || digits.len() > 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().filter(|n| *n > 0).map(PostNumber)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_post_references() {
        assert_eq!(PostNumber::parse("#12"), Some(PostNumber(12)));
        assert_eq!(PostNumber::parse("3"), Some(PostNumber(3)));
        assert_eq!(PostNumber::parse("#0"), None);
        assert_eq!(PostNumber::parse("#-1"), None);
        assert_eq!(PostNumber::parse("#1a"), None);
        assert_eq!(PostNumber(7).to_string(), "#7");
    }
}
