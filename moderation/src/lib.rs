//! Pure text analysis for parley: crisis detection, normalisation, personal-data
//! redaction, abuse and spam, combined into a [`Verdict`].
//!
//! Synchronous, free of I/O and allocation-light, so that it can be fuzzed and
//! benchmarked on its own. Build one [`Moderator`] at start-up (it compiles its patterns
//! once) and share it; cloning is cheap.
//!
//! # Order
//!
//! 1. **Crisis**, on the raw post, before anything else (see [`Crisis`]), and again on
//!    normalised copies of it (invisible characters removed, fillers read, look-alike
//!    letters and leetspeak folded, "my self" rejoined), so that "k1ll my self" or a
//!    zero-width space inside "suicidal" is still found; the strongest signal wins. A cry
//!    for help must reach the core even when it also trips other checks: "I want to kill
//!    myself" contains words an abuse filter would punish.
//! 2. **Personal data** is matched on a scan copy of the post in which every separator a
//!    person can type is made plain (no-break and zero-width spaces, dots, slashes, dashes,
//!    fullwidth and other-script digits), and removed from the post *as written*
//!    ([`PersonalData`]): NHS numbers, phone numbers, emails, postcodes, dates of birth,
//!    people's names where the text signals one, and street addresses. The result is
//!    [`Verdict::text`], with one [`Reason`] and one [`Redaction`] per item. A name given
//!    to a member of staff is flagged ([`Verdict::names_staff`]) and held when
//!    [`Policy::hold_named_staff`] says so.
//! 3. **Normalisation** of the redacted text against evasion (NFKC-style folding, every
//!    format character and filler, look-alike letters, leetspeak, spacing tricks and split
//!    words, masked and stretched words, and the visual order of bidi text), into streams
//!    used only for matching ([`normalise`]).
//! 4. **Abuse**: word lists with severities ([`Severity`]), matched whole-word on those
//!    streams. Mild → publish (noted), moderate → hold, severe (slurs, threats, "kill
//!    yourself") → reject.
//! 5. **Spam** on the redacted text: repeats of the author's recent posts, links outside the
//!    allow-list, floods and promotional phrases → hold; shouting → noted, or held if the
//!    [`Policy`] says so.
//! 6. **Verdict**: the worst action of steps 2–5 ([`Action`] is ordered). When a crisis was
//!    found the action is capped at [`Action::Hold`]: a crisis post is never rejected,
//!    whatever else it contains, so it always reaches a moderator or the discussion, and
//!    the core signposts help from [`Verdict::crisis`].
//!
//! # For the core: blank posts and one-line publishing
//!
//! - [`is_blank`]`(text) -> bool`: the post shows nothing (only whitespace, zero-width and
//!   other format characters, fillers, control characters or lone combining marks); refuse
//!   it before moderation.
//! - [`one_line`]`(text) -> Cow<str>`: the text with every line break (LF, CR, NEL, U+2028,
//!   U+2029, VT, FF) and control character turned into a space and bidi embeddings,
//!   overrides and isolates removed, so a post published after a `#N Name:` prefix cannot
//!   forge a line of its own; apply it to [`Verdict::text`] when rendering a post on one line.
//!
//! ```
//! use moderation::{Action, Moderator, Policy};
//!
//! let moderator = Moderator::new(Policy::default().allow_domain("nhsinform.scot"));
//!
//! let verdict = moderator.assess("Ring me on 07700 900123, the wait was bloody awful", &[]);
//! assert_eq!(verdict.action, Action::PublishRedacted);
//! assert_eq!(verdict.text, "Ring me on [phone removed], the wait was bloody awful");
//!
//! let verdict = moderator.assess("I can't go on, everyone would be better off without me", &[]);
//! assert_eq!(verdict.crisis.as_ref().map(|c| c.kind.as_str()), Some("suicide"));
//! assert!(verdict.action <= Action::Hold);
//!
//! // The pass-through publishes everything unchanged: for tests and tooling only.
//! let verdict = Moderator::pass_through().assess("The wait at my GP was three weeks", &[]);
//! assert_eq!(verdict.action, Action::Publish);
//! ```

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod abuse;
mod crisis;
mod names;
pub mod normalise;
mod personal_data;
mod spam;

use std::sync::Arc;

pub use normalise::{is_blank, one_line};
pub use personal_data::{nhs_number_valid, PersonalData, Redaction};
pub use spam::MIN_REPEAT_LEN;

/// The embedded abuse list: `phrase<TAB>severity<TAB>category` lines.
pub const ABUSE_LIST: &str = include_str!("../lists/abuse.txt");
/// The embedded promotional-spam list, in the same format.
pub const SPAM_LIST: &str = include_str!("../lists/spam.txt");
/// The embedded crisis patterns: `kind<TAB>score<TAB>regex` lines.
pub const CRISIS_LIST: &str = include_str!("../lists/crisis.txt");

/// What should happen to a post. Ordered from mildest to strictest.
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

/// How bad a listed word or phrase is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Everyday swearing ("bloody", "crap", "shit"): published, recorded as a reason.
    Mild,
    /// Strong swearing and insults ("fuck", "twat"): held for a moderator.
    Moderate,
    /// Slurs, threats and incitement ("kill yourself"): rejected.
    Severe,
}

impl Severity {
    /// `mild`, `moderate` or `severe`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Mild => "mild",
            Severity::Moderate => "moderate",
            Severity::Severe => "severe",
        }
    }

    fn score(self) -> f32 {
        match self {
            Severity::Mild => 0.3,
            Severity::Moderate => 0.6,
            Severity::Severe => 0.95,
        }
    }
}

/// Why a verdict is what it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Reason {
    /// A stable machine-readable code, e.g. `personal_data.phone`, `abuse.severe`, `crisis.suicide`.
    ///
    /// Codes: `crisis.<kind>`;
    /// `personal_data.{nhs_number,phone,email,postcode,date_of_birth,name,staff_name,address}`;
    /// `abuse.{mild,moderate,severe}`; `spam.{repeated,link,shouting,flood,promotion}`;
    /// `review.named_staff` (held because the post names a member of staff, when
    /// [`Policy::hold_named_staff`] is set).
    pub code: String,
    /// A plain-language explanation that can be shown to the author or a moderator.
    pub explanation: String,
    /// Strength of the signal, 0.0 to 1.0.
    pub score: f32,
}

impl Reason {
    fn new(code: impl Into<String>, explanation: impl Into<String>, score: f32) -> Self {
        Reason { code: code.into(), explanation: explanation.into(), score }
    }
}

/// Crisis signals found in the raw text (self-harm, suicide, immediate danger, abuse disclosure).
///
/// Detected first, on the raw post. When present, the post is never rejected (the action
/// is at most [`Action::Hold`]); the core replies privately with UK signposting and alerts
/// moderators. Whether the post itself is held is [`Policy::hold_crisis`].
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
    /// The text to store and publish: the input with personal data redacted (each piece
    /// replaced in the input as written; matching sees through fullwidth and other-script
    /// digits, invisible characters and unusual spaces).
    pub text: String,
    /// Crisis detected on the raw text; the core signposts help and alerts moderators,
    /// and never punishes such a post.
    pub crisis: Option<Crisis>,
    /// Everything that contributed, including each redaction: crisis first, then personal
    /// data, abuse and spam.
    pub reasons: Vec<Reason>,
    /// Each piece of personal data removed, in order, with its range in the input.
    pub redactions: Vec<Redaction>,
}

impl Verdict {
    /// A verdict that publishes `text` unchanged with no reasons.
    pub fn publish(text: impl Into<String>) -> Self {
        Verdict {
            action: Action::Publish,
            text: text.into(),
            crisis: None,
            reasons: Vec::new(),
            redactions: Vec::new(),
        }
    }

    /// Whether the post goes out now ([`Action::Publish`] or [`Action::PublishRedacted`]).
    pub fn is_published(&self) -> bool {
        self.action <= Action::PublishRedacted
    }

    /// Whether a moderator must look at the post before it is published.
    pub fn is_held(&self) -> bool {
        self.action == Action::Hold
    }

    /// Whether the post is refused.
    pub fn is_rejected(&self) -> bool {
        self.action == Action::Reject
    }

    /// Whether personal data was removed.
    pub fn is_redacted(&self) -> bool {
        !self.redactions.is_empty()
    }

    /// Whether the post named a member of staff ("Dr Patel", "the receptionist Karen"). The
    /// name is redacted either way; with [`Policy::hold_named_staff`] the post is also held
    /// (reason `review.named_staff`).
    pub fn names_staff(&self) -> bool {
        self.redactions.iter().any(|r| r.kind == PersonalData::StaffName)
    }

    /// Whether any reason has this code or starts with `code` followed by `.`
    /// (`has_reason("abuse")` matches `abuse.severe`).
    pub fn has_reason(&self, code: &str) -> bool {
        self.reasons.iter().any(|r| {
            r.code == code
                || (r.code.len() > code.len() && r.code.starts_with(code) && r.code.as_bytes()[code.len()] == b'.')
        })
    }

    /// The strongest reason, if any.
    pub fn top_reason(&self) -> Option<&Reason> {
        self.reasons.iter().max_by(|a, b| a.score.total_cmp(&b.score))
    }
}

/// What to do with links to domains outside [`Policy::allowed_domains`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LinkPolicy {
    /// Publish them (links still pass through redaction).
    Allow,
    /// Hold the post for a moderator. The default.
    #[default]
    Hold,
    /// Refuse the post.
    Reject,
}

/// Settings for a [`Moderator`].
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Domains whose links (and subdomains' links) are always allowed. Default: `nhs.uk`, `gov.uk`.
    pub allowed_domains: Vec<String>,
    /// What happens to other links. Default: [`LinkPolicy::Hold`].
    pub links: LinkPolicy,
    /// Hold posts that are mostly capitals. Default `false`: noted as `spam.shouting` only.
    pub hold_shouting: bool,
    /// Hold every crisis post for a moderator. Default `false`: a crisis post is assessed like
    /// any other except that it is never rejected; the core signposts help either way.
    pub hold_crisis: bool,
    /// Crisis signals scoring below this are ignored. Default 0.5.
    pub crisis_threshold: f32,
    /// Hold every post that names a member of staff ([`Verdict::names_staff`]) for a
    /// moderator, with the reason `review.named_staff`. Default `false`: the name is
    /// redacted and the post published.
    pub hold_named_staff: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            allowed_domains: vec!["nhs.uk".to_string(), "gov.uk".to_string()],
            links: LinkPolicy::Hold,
            hold_shouting: false,
            hold_crisis: false,
            crisis_threshold: 0.5,
            hold_named_staff: false,
        }
    }
}

impl Policy {
    /// Adds a domain (and its subdomains) to the link allow-list.
    pub fn allow_domain(mut self, domain: impl Into<String>) -> Self {
        self.allowed_domains.push(domain.into().to_ascii_lowercase());
        self
    }

    /// Sets what happens to links outside the allow-list.
    pub fn links(mut self, links: LinkPolicy) -> Self {
        self.links = links;
        self
    }
}

struct Engine {
    policy: Policy,
    crisis: crisis::CrisisDetector,
    personal: personal_data::Scanner,
    abuse: abuse::PhraseList,
    promotion: abuse::PhraseList,
    vocabulary: abuse::Vocabulary,
    links: spam::LinkFinder,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("policy", &self.policy).finish_non_exhaustive()
    }
}

/// Assesses posts. Build once, share freely (it is `Send + Sync`, and cheap to clone).
///
/// - [`Moderator::standard`] (also [`Default`]): the real analysis with the embedded lists
///   and the default [`Policy`].
/// - [`Moderator::new`]: the real analysis with your own policy.
/// - [`Moderator::pass_through`]: no analysis at all.
#[derive(Debug, Clone)]
pub struct Moderator {
    engine: Option<Arc<Engine>>,
}

impl Default for Moderator {
    /// The standard moderator: defaulting to real moderation is the safe choice.
    fn default() -> Self {
        Moderator::standard()
    }
}

impl Moderator {
    /// A moderator that publishes everything unchanged, with no crisis detection, redaction
    /// or checks of any kind. **Pass-through only**: for tests and tooling, never for real
    /// discussions.
    pub fn pass_through() -> Self {
        Moderator { engine: None }
    }

    /// The real moderator with the embedded word lists and [`Policy::default`].
    pub fn standard() -> Self {
        Moderator::new(Policy::default())
    }

    /// The real moderator with the embedded word lists and `policy`.
    ///
    /// Compiles every pattern: do it once at start-up. The embedded lists are checked by
    /// this crate's tests, so building cannot fail at run time.
    #[allow(clippy::expect_used)]
    pub fn new(policy: Policy) -> Self {
        let abuse = abuse::PhraseList::parse(ABUSE_LIST).expect("embedded abuse list is valid");
        let promotion = abuse::PhraseList::parse(SPAM_LIST).expect("embedded spam list is valid");
        let vocabulary = abuse::Vocabulary::from_lists(&[&abuse]);
        let engine = Engine {
            crisis: crisis::CrisisDetector::parse(CRISIS_LIST).expect("embedded crisis list is valid"),
            personal: personal_data::Scanner::new().expect("personal-data patterns are valid"),
            links: spam::LinkFinder::new().expect("link pattern is valid"),
            abuse,
            promotion,
            vocabulary,
            policy,
        };
        Moderator { engine: Some(Arc::new(engine)) }
    }

    /// The match streams that the abuse and spam lists are matched against (the logical
    /// reading, its alternate and any visual-order readings), for fuzzing and tooling.
    /// Empty for the pass-through.
    pub fn match_streams(&self, text: &str) -> Vec<String> {
        let Some(engine) = &self.engine else { return Vec::new() };
        let n = normalise::normalise(text, &engine.vocabulary);
        let mut out = vec![n.primary];
        out.extend(n.alternate);
        out.extend(n.visual);
        out
    }

    /// Whether this is the pass-through moderator.
    pub fn is_pass_through(&self) -> bool {
        self.engine.is_none()
    }

    /// The policy in force (`None` for the pass-through).
    pub fn policy(&self) -> Option<&Policy> {
        self.engine.as_ref().map(|e| &e.policy)
    }

    /// Assesses `text`. `recent` holds the author's recent posts (newest last), for spam
    /// detection of repeated text; they may be given as written or as published (redacted).
    pub fn assess(&self, text: &str, recent: &[String]) -> Verdict {
        match &self.engine {
            None => Verdict::publish(text),
            Some(engine) => engine.assess(text, recent),
        }
    }

    /// The rest of [`Moderator::assess`] for a verdict reached without the author's recent
    /// posts: `with_recent(assess(text, &[]), text, recent)` equals `assess(text, recent)`.
    /// Everything but the check for repeated text reads the text alone, so that part can
    /// be worked out ahead (on another thread) and this added once the recent posts are
    /// known.
    pub fn with_recent(&self, verdict: Verdict, raw: &str, recent: &[String]) -> Verdict {
        match &self.engine {
            None => verdict,
            Some(_) => Engine::with_recent(verdict, raw, recent),
        }
    }
}

/// Whether the post repeats one of `recent`, as written or as it would be published. Only
/// characters that show count towards [`MIN_REPEAT_LEN`]: invisible padding does not turn
/// a short "Same here" into a repeat.
fn repeated(raw: &str, text: &str, recent: &[String]) -> bool {
    text.chars().filter(|&c| !normalise::is_invisible(c)).count() >= MIN_REPEAT_LEN
        && recent.iter().any(|r| spam::same_text(r, raw) || spam::same_text(r, text))
}

impl Engine {
    /// Step 5's repeat check added to a verdict reached without recent posts, with the
    /// reason where [`Engine::assess`] puts it and the crisis rule of step 6 kept.
    fn with_recent(mut verdict: Verdict, raw: &str, recent: &[String]) -> Verdict {
        if !repeated(raw, &verdict.text, recent) {
            return verdict;
        }
        let at = verdict
            .reasons
            .iter()
            .position(|r| matches!(r.code.as_str(), "spam.link" | "spam.shouting" | "spam.flood"))
            .unwrap_or(verdict.reasons.len());
        verdict.reasons.insert(at, Reason::new("spam.repeated", "The same text was posted recently.", 0.8));
        verdict.action = verdict.action.max(Action::Hold);
        if verdict.crisis.is_some() {
            verdict.action = verdict.action.min(Action::Hold);
        }
        verdict
    }

    fn assess(&self, raw: &str, recent: &[String]) -> Verdict {
        let mut reasons = Vec::new();
        let mut action = Action::Publish;

        // 1. Crisis, on the raw text (nothing removed before it looks), then on normalised
        // copies (invisible characters removed, leetspeak read, "my self" rejoined); the
        // strongest signal wins.
        let mut signal = self.crisis.detect(raw);
        for copy in normalise::crisis_copies(raw) {
            if let Some(s) = self.crisis.detect(&copy) {
                if signal.as_ref().is_none_or(|b| s.score > b.score) {
                    signal = Some(s);
                }
            }
        }
        let crisis = signal
            .filter(|s| s.score >= self.policy.crisis_threshold)
            .map(|s| Crisis { kind: s.kind.to_string(), score: s.score });
        if let Some(c) = &crisis {
            reasons.push(Reason::new(
                format!("crisis.{}", c.kind),
                "This post may come from someone in crisis; help is signposted and moderators are alerted.",
                c.score,
            ));
        }

        // 2. Personal data, matched on a normalised scan copy, removed from the post as written.
        let mut redactions = Vec::new();
        self.personal.scan(raw, &mut redactions);
        let text = if redactions.is_empty() {
            raw.to_string()
        } else {
            action = Action::PublishRedacted;
            for r in &redactions {
                reasons.push(Reason::new(r.kind.code(), r.kind.explanation(), 1.0));
            }
            if self.policy.hold_named_staff && redactions.iter().any(|r| r.kind == PersonalData::StaffName) {
                action = Action::Hold;
                reasons.push(Reason::new(
                    "review.named_staff",
                    "The post names a member of staff, so a moderator looks at it first.",
                    0.6,
                ));
            }
            personal_data::apply(raw, &redactions)
        };

        // 3-4. Normalise, then abuse and promotion lists.
        let streams = normalise::normalise(&text, &self.vocabulary);
        let mut hits = Vec::new();
        self.abuse.find(&streams, &mut hits);
        for severity in [Severity::Severe, Severity::Moderate, Severity::Mild] {
            let mut categories: Vec<&str> = Vec::new();
            for &i in &hits {
                let e = self.abuse.entry(i);
                if e.severity == severity && !categories.contains(&e.category.as_str()) {
                    categories.push(&e.category);
                }
            }
            if categories.is_empty() {
                continue;
            }
            let (what, outcome) = match severity {
                Severity::Mild => ("Mild language", Action::Publish),
                Severity::Moderate => ("Strong language or insults", Action::Hold),
                Severity::Severe => ("Hateful, threatening or harmful language", Action::Reject),
            };
            action = action.max(outcome);
            reasons.push(Reason::new(
                format!("abuse.{}", severity.as_str()),
                format!("{what} ({}).", categories.join(", ")),
                severity.score(),
            ));
        }
        if self.promotion.worst(&streams).is_some() {
            action = action.max(Action::Hold);
            reasons.push(Reason::new("spam.promotion", "Looks like advertising.", 0.7));
        }

        // 5. Spam.
        if repeated(raw, &text, recent) {
            action = action.max(Action::Hold);
            reasons.push(Reason::new("spam.repeated", "The same text was posted recently.", 0.8));
        }
        if self.policy.links != LinkPolicy::Allow {
            let mut blocked: Vec<String> = Vec::new();
            for host in self.links.hosts(&text) {
                if !spam::host_allowed(&host, &self.policy.allowed_domains) && !blocked.contains(&host) {
                    blocked.push(host);
                }
            }
            if !blocked.is_empty() {
                action =
                    action.max(if self.policy.links == LinkPolicy::Reject { Action::Reject } else { Action::Hold });
                reasons.push(Reason::new(
                    "spam.link",
                    format!("Links to {} need a moderator's approval.", blocked.join(", ")),
                    0.7,
                ));
            }
        }
        if let Some(share) = spam::shouting(&text) {
            if self.policy.hold_shouting {
                action = action.max(Action::Hold);
            }
            reasons.push(Reason::new("spam.shouting", "Mostly in capitals.", share * 0.5));
        }
        if spam::flood(&text) {
            action = action.max(Action::Hold);
            reasons.push(Reason::new("spam.flood", "Repeated characters, words or emoji.", 0.7));
        }

        // 6. A crisis post is never rejected.
        if crisis.is_some() {
            if self.policy.hold_crisis {
                action = action.max(Action::Hold);
            }
            action = action.min(Action::Hold);
        }
        Verdict { action, text, crisis, reasons, redactions }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standard() -> Moderator {
        Moderator::standard()
    }

    #[test]
    fn pass_through_publishes_everything() {
        let m = Moderator::pass_through();
        assert!(m.is_pass_through());
        let v = m.assess("you twat, ring 07700 900123", &[]);
        assert_eq!(v, Verdict::publish("you twat, ring 07700 900123"));
    }

    #[test]
    fn moderator_is_send_sync_and_default_is_standard() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Moderator>();
        assert!(!Moderator::default().is_pass_through());
    }

    #[test]
    fn with_recent_adds_to_a_verdict_without_them_what_assess_gives() {
        let policies = [
            Policy::default(),
            Policy { hold_crisis: true, hold_shouting: true, links: LinkPolicy::Reject, ..Policy::default() },
            Policy { links: LinkPolicy::Allow, hold_named_staff: true, ..Policy::default() },
        ];
        for policy in policies {
            with_recent_agrees_with_assess(&Moderator::new(policy));
        }
        let pass = Moderator::pass_through();
        let raw = "the same text as before, word for word";
        assert_eq!(pass.with_recent(pass.assess(raw, &[]), raw, &[raw.into()]), pass.assess(raw, &[raw.into()]));
    }

    fn with_recent_agrees_with_assess(m: &Moderator) {
        let texts = [
            "The wait at my GP was three weeks for a routine appointment",
            "please ring me on 07700 900123 about my appointment",
            "Visit https://example.com/deal for cheap meds, visit https://example.com/deal",
            "THE WAIT AT MY GP WAS THREE WEEKS FOR A ROUTINE APPOINTMENT",
            "the receptionist is a f*cking idiot and the wait was three weeks",
            "I can't go on, everyone would be better off without me",
            "I can't go on, everyone would be better off without me. Call 07700 900123",
            "sooooooo slowwwwww!!!!!!! the wait the wait the wait the wait",
            "Dr Smith on ward 7 was rude to me and the wait was three weeks",
            "I can't go on. Visit https://example.com/deal THE WAIT WAS AWFUL AND NOBODY CARED",
            "short",
        ];
        for raw in texts {
            let redacted = m.assess(raw, &[]).text;
            for recent in [
                vec![],
                vec!["something else entirely, about parking".to_string()],
                vec![raw.to_string()],
                vec!["x".to_string(), redacted.to_uppercase()],
            ] {
                assert_eq!(
                    m.with_recent(m.assess(raw, &[]), raw, &recent),
                    m.assess(raw, &recent),
                    "{raw} / {recent:?}"
                );
            }
        }
    }

    #[test]
    fn benign_publishes() {
        let v = standard().assess("The wait at my GP was three weeks", &[]);
        assert_eq!(v.action, Action::Publish);
        assert!(v.reasons.is_empty());
    }

    #[test]
    fn redaction_gives_publish_redacted_with_one_reason_each() {
        let v = standard().assess("I'm on 07700 900123 or jo@example.com", &[]);
        assert_eq!(v.action, Action::PublishRedacted);
        assert_eq!(v.text, "I'm on [phone removed] or [email removed]");
        assert_eq!(v.redactions.len(), 2);
        assert!(v.has_reason("personal_data.phone") && v.has_reason("personal_data.email"));
        assert!(v.is_published() && v.is_redacted());
    }

    #[test]
    fn fullwidth_digits_are_redacted_too() {
        let v = standard().assess("ring ０７７００ ９００１２３", &[]);
        assert_eq!(v.text, "ring [phone removed]");
    }

    #[test]
    fn abuse_levels() {
        let m = standard();
        assert_eq!(m.assess("the bloody wait", &[]).action, Action::Publish);
        assert!(m.assess("the bloody wait", &[]).has_reason("abuse.mild"));
        assert_eq!(m.assess("the receptionist is a twat", &[]).action, Action::Hold);
        assert_eq!(m.assess("kill yourself", &[]).action, Action::Reject);
    }

    #[test]
    fn crisis_is_never_rejected() {
        let m = standard();
        let v = m.assess("I want to kill myself, fuck this, kill yourself all of you", &[]);
        assert_eq!(v.crisis.as_ref().map(|c| c.kind.as_str()), Some("suicide"));
        assert_eq!(v.action, Action::Hold);
        assert_eq!(v.reasons[0].code, "crisis.suicide");

        let v = m.assess("I want to kill myself", &[]);
        assert_eq!(v.action, Action::Publish);
        assert!(v.crisis.is_some());

        let held = Moderator::new(Policy { hold_crisis: true, ..Policy::default() });
        assert_eq!(held.assess("I want to kill myself", &[]).action, Action::Hold);
    }

    #[test]
    fn spam_rules() {
        let m = standard();
        let recent = vec!["Please sign my petition about the GP".to_string()];
        assert_eq!(m.assess("please sign my petition about the  GP", &recent).action, Action::Hold);
        assert_eq!(m.assess("thanks", &["thanks".to_string()]).action, Action::Publish);
        assert_eq!(m.assess("see https://www.nhs.uk/conditions/", &[]).action, Action::Publish);
        // Quoted, an allowed link is still allowed, and a held one is named without the quote.
        assert_eq!(m.assess("see \"https://www.nhs.uk/conditions/\"", &[]).action, Action::Publish);
        let quoted = m.assess("see \"www.example.com\"", &[]);
        assert!(quoted.reasons.iter().any(|r| r.explanation == "Links to example.com need a moderator's approval."));
        let v = m.assess("see https://example.com/x", &[]);
        assert_eq!(v.action, Action::Hold);
        assert!(v.has_reason("spam.link"));
        let allow = Moderator::new(Policy::default().allow_domain("example.com"));
        assert_eq!(allow.assess("see https://example.com/x", &[]).action, Action::Publish);
        let reject = Moderator::new(Policy::default().links(LinkPolicy::Reject));
        assert_eq!(reject.assess("see https://example.com/x", &[]).action, Action::Reject);
        let v = m.assess("WHY HAS NOBODY CALLED ME BACK ABOUT MY SCAN", &[]);
        assert_eq!(v.action, Action::Publish);
        assert!(v.has_reason("spam.shouting"));
        assert_eq!(m.assess("!!!!!!!!!!!!!!!!!!!!!!!!", &[]).action, Action::Hold);
        assert_eq!(m.assess("Make money fast with crypto, click here", &[]).action, Action::Hold);
    }

    #[test]
    fn has_reason_matches_prefixes_at_dots() {
        let mut v = Verdict::publish("x");
        v.reasons.push(Reason::new("abuse.severe", "", 1.0));
        assert!(v.has_reason("abuse"));
        assert!(v.has_reason("abuse.severe"));
        assert!(!v.has_reason("abu"));
        assert_eq!(v.top_reason().map(|r| r.code.as_str()), Some("abuse.severe"));
    }
}

#[cfg(test)]
mod timing {
    use super::*;
    use std::time::Instant;

    #[test]
    #[ignore]
    fn component_timing() {
        let m = Moderator::standard();
        let e = m.engine.as_ref().unwrap();
        let posts: Vec<&str> = include_str!("../tests/data/labelled.tsv")
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split('\t').nth(2))
            .collect();
        let n = 20;
        let time = |name: &str, f: &dyn Fn(&str)| {
            let t = Instant::now();
            for _ in 0..n {
                for p in &posts {
                    f(p);
                }
            }
            let per = t.elapsed().as_nanos() as f64 / (n * posts.len()) as f64;
            println!("{name:<12} {per:>8.0} ns/post");
        };
        time("crisis", &|p| {
            std::hint::black_box(e.crisis.detect(p));
        });
        time("personal", &|p| {
            let mut r = Vec::new();
            e.personal.scan(p, &mut r);
            std::hint::black_box(r);
        });
        time("crisis_copies", &|p| {
            for c in normalise::crisis_copies(p) {
                std::hint::black_box(e.crisis.detect(&c));
            }
        });
        time("names", &|p| {
            let mut r = Vec::new();
            e.personal.names_only(p, &mut r);
            std::hint::black_box(r);
        });
        time("normalise", &|p| {
            std::hint::black_box(normalise::normalise(p, &e.vocabulary));
        });
        time("links", &|p| {
            std::hint::black_box(e.links.hosts(p));
        });
        time("assess", &|p| {
            std::hint::black_box(m.assess(p, &[]));
        });
    }
}
