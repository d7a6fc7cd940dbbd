//! The synthetic population `parley bench` drives through the engine: every participant
//! joins a discussion, then posts in a realistic mix (plain posts, replies, posts with
//! personal data, abusive and crisis posts), with reports from participants and moderator
//! actions in between. Deterministic for a given seed, so runs compare.

use chat::{Conversation, Inbound, Platform, Roles, Sender};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::Arc;

/// What a generated message is, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `!join SLUG`.
    Join,
    /// Plain text: a post in the joined discussion.
    Post,
    /// `!reply #N TEXT`.
    Reply,
    /// A post with a phone number and an email address (redacted).
    Personal,
    /// A post with abuse (held or rejected).
    Abusive,
    /// A post that needs crisis signposting.
    Crisis,
    /// `!report #N REASON`.
    Report,
    /// A moderator's `!approve` or `!remove`.
    Moderation,
}

impl Kind {
    /// Whether the message asks for a post (counted against `--posts`).
    pub fn is_post(self) -> bool {
        matches!(self, Kind::Post | Kind::Reply | Kind::Personal | Kind::Abusive | Kind::Crisis)
    }
}

/// One generated inbound message.
#[derive(Debug, Clone)]
pub struct Message {
    /// What it is.
    pub kind: Kind,
    /// The message as an adapter hands it over.
    pub inbound: Inbound,
}

const OPENINGS: &[&str] = &[
    "I waited three weeks for a routine appointment",
    "The 8am phone queue at my surgery is hopeless",
    "The receptionist was kind and sorted my prescription the same day",
    "Getting through to 111 took over an hour last night",
    "The online booking system keeps logging me out",
    "Parking at the hospital costs too much for people visiting every day",
    "The nurse explained everything clearly and I felt listened to",
    "My mum's discharge was delayed because nobody had arranged transport",
    "The pharmacy ran out of my regular medication twice this month",
    "I was passed between departments and nobody called back",
    "The mental health team was supportive once I finally got seen",
    "There was no interpreter for my dad and he did not understand the plan",
];

const MIDDLES: &[&str] = &[
    "and it made me anxious about going back",
    "which is not good enough for a town this size",
    "but the staff were doing their best under pressure",
    "so I ended up going to A&E instead",
    "and the letters all said different things",
    "although the GP herself was brilliant",
    "and I could not get time off work to try again",
    "so please keep evening appointments",
];

const CLOSINGS: &[&str] = &[
    "",
    " Thank you to the team.",
    " Please fix the phone system.",
    " More face to face appointments would help.",
    " Communication between the hospital and the surgery needs to improve.",
    " I hope this feedback is useful.",
];

/// When a post's visit was, so that nearly every synthetic text is different, as people's
/// posts are (1,354,752 texts in all). With only the 576 combinations of the three parts
/// above, a group commit of thousands of messages held each text many times over, and its
/// moderation and theme analysis were worked out once for all of them: the bench measured
/// a fraction of the analysis that real posts cost.
const WEEKDAYS: &[&str] = &["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const MONTHS: &[&str] = &[
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The mix: out of 1,000 post-type messages.
const REPLY: u32 = 150;
const PERSONAL: u32 = 60;
const ABUSIVE: u32 = 20;
const CRISIS: u32 = 10;
/// Reports and moderator actions, per 1,000 post-type messages.
const REPORTS: u32 = 30;
const MODERATION: u32 = 10;

/// The moderator's console name.
pub const MODERATOR: &str = "bench-moderator";

/// Generates the messages, in the order they are offered.
pub struct Workload {
    rng: StdRng,
    slugs: Vec<String>,
    participants: usize,
    posts: u64,
    /// Post-type messages generated so far.
    made: u64,
    /// Joins generated so far.
    joined: usize,
    /// Posts offered so far per discussion (targets for replies and reports).
    offered: Vec<u64>,
    /// Each participant's discussion.
    home: Vec<u16>,
    next_event: u64,
    platform: Platform,
    run: String,
    /// A report or moderator action waiting to follow the last post.
    extra: Option<Message>,
    /// Texts to post, in turn, instead of synthetic ones ([`Workload::with_texts`]).
    texts: Option<Arc<Vec<String>>>,
    /// Texts taken from `texts` so far.
    taken: usize,
}

impl Workload {
    /// `participants` people, `posts` post-type messages in all, over `slugs`. Event ids
    /// carry `run` so that runs sharing a database never collide.
    pub fn new(participants: usize, posts: u64, slugs: Vec<String>, seed: u64, platform: Platform, run: &str) -> Self {
        Workload {
            rng: StdRng::seed_from_u64(seed),
            offered: vec![0; slugs.len()],
            slugs,
            participants: participants.max(1),
            posts,
            made: 0,
            joined: 0,
            home: Vec::with_capacity(participants),
            next_event: 0,
            platform,
            run: run.to_string(),
            extra: None,
            texts: None,
            taken: 0,
        }
    }

    /// Posts `texts` in turn (from the first again after the last) instead of synthetic
    /// texts, e.g. real comments (`parley bench --texts FILE`); none given, synthetic ones.
    pub fn with_texts(mut self, texts: Arc<Vec<String>>) -> Self {
        self.texts = (!texts.is_empty()).then_some(texts);
        self
    }

    fn event(&mut self) -> String {
        self.next_event += 1;
        format!("bench-{}-{}", self.run, self.next_event)
    }

    /// The participant's console/platform user id.
    pub fn user(who: usize) -> String {
        format!("bench-user-{who}")
    }

    fn direct(&mut self, who: usize, kind: Kind, text: String) -> Message {
        let user = Self::user(who);
        let inbound = Inbound {
            platform: self.platform,
            event_id: self.event(),
            sender: Sender { id: user.clone(), roles: Roles::default() },
            conversation: Conversation::Direct { address: user },
            text,
            reply_to: None,
        };
        Message { kind, inbound }
    }

    fn text(&mut self) -> String {
        if let Some(texts) = &self.texts {
            self.taken += 1;
            return texts[(self.taken - 1) % texts.len()].clone();
        }
        let a = OPENINGS[self.rng.gen_range(0..OPENINGS.len())];
        let b = MIDDLES[self.rng.gen_range(0..MIDDLES.len())];
        let c = CLOSINGS[self.rng.gen_range(0..CLOSINGS.len())];
        let day = WEEKDAYS[self.rng.gen_range(0..WEEKDAYS.len())];
        let date = self.rng.gen_range(1..=28);
        let month = MONTHS[self.rng.gen_range(0..MONTHS.len())];
        format!("{a}, {b}. That was on {day} {date} {month}.{c}")
    }

    /// A post number already offered in discussion `d` (1 when none yet).
    fn earlier(&mut self, d: usize) -> u64 {
        let n = self.offered[d].max(1);
        self.rng.gen_range(1..=n)
    }
}

impl Iterator for Workload {
    type Item = Message;

    fn next(&mut self) -> Option<Message> {
        if let Some(extra) = self.extra.take() {
            return Some(extra);
        }
        // Everyone joins first, in waves mixed with early posts: one join, then the posts
        // of people already in.
        if self.joined < self.participants && (self.joined == 0 || self.made >= self.posts || self.rng.gen_bool(0.5)) {
            let who = self.joined;
            self.joined += 1;
            let d = self.rng.gen_range(0..self.slugs.len());
            self.home.push(d as u16);
            let text = format!("!join {}", self.slugs[d]);
            return Some(self.direct(who, Kind::Join, text));
        }
        if self.made >= self.posts {
            return None;
        }
        self.made += 1;
        let who = self.rng.gen_range(0..self.joined);
        let d = self.home[who] as usize;
        let roll = self.rng.gen_range(0..1000);
        let (kind, text) = if roll < REPLY && self.offered[d] > 0 {
            let n = self.earlier(d);
            (Kind::Reply, format!("!reply #{n} {}", self.text()))
        } else if roll < REPLY + PERSONAL {
            (
                Kind::Personal,
                format!("{} Call me on 07700 900{:03} or email jo.bloggs@example.com.", self.text(), who % 1000),
            )
        } else if roll < REPLY + PERSONAL + ABUSIVE {
            (Kind::Abusive, format!("{} The manager is a useless idiot and a liar.", self.text()))
        } else if roll < REPLY + PERSONAL + ABUSIVE + CRISIS {
            (Kind::Crisis, "Nobody listens. I want to end my life.".to_string())
        } else {
            (Kind::Post, self.text())
        };
        self.offered[d] += 1;
        let message = self.direct(who, kind, text);
        let extra = self.rng.gen_range(0..1000);
        if extra < REPORTS {
            let reporter = self.rng.gen_range(0..self.joined);
            let n = self.earlier(self.home[reporter] as usize);
            self.extra = Some(self.direct(reporter, Kind::Report, format!("!report #{n} this looks like spam")));
        } else if extra < REPORTS + MODERATION {
            let n = self.earlier(d);
            let slug = self.slugs[d].clone();
            let text = if self.rng.gen_bool(0.5) {
                format!("!approve {slug}#{n}")
            } else {
                format!("!remove {slug}#{n} off topic")
            };
            let inbound = Inbound {
                platform: self.platform,
                event_id: self.event(),
                sender: Sender { id: MODERATOR.into(), roles: Roles { moderator: true, commissioner: false } },
                conversation: Conversation::Moderators,
                text,
                reply_to: None,
            };
            self.extra = Some(Message { kind: Kind::Moderation, inbound });
        }
        Some(message)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn everyone_joins_before_posting_and_counts_match() {
        let w = Workload::new(50, 400, vec!["a".into(), "b".into()], 7, Platform::Console, "t");
        let messages: Vec<Message> = w.collect();
        let mut joined = std::collections::HashSet::new();
        for m in &messages {
            let who = &m.inbound.sender.id;
            match m.kind {
                Kind::Join => assert!(joined.insert(who.clone())),
                Kind::Moderation => {}
                _ => assert!(joined.contains(who), "participant {who} posts before joining"),
            }
        }
        assert_eq!(joined.len(), 50);
        assert_eq!(messages.iter().filter(|m| m.kind.is_post()).count(), 400);
        let ids: std::collections::HashSet<_> = messages.iter().map(|m| m.inbound.event_id.clone()).collect();
        assert_eq!(ids.len(), messages.len(), "event ids are unique");
    }

    fn plain_texts(w: Workload) -> Vec<String> {
        w.filter(|m| m.kind == Kind::Post).map(|m| m.inbound.text).collect()
    }

    /// Synthetic posts are nearly all different, as people's are: a group commit cannot
    /// analyse one text for many posts.
    #[test]
    fn synthetic_texts_are_nearly_all_different() {
        let texts = plain_texts(Workload::new(100, 5_000, vec!["a".into()], 7, Platform::Console, "t"));
        let distinct: std::collections::HashSet<_> = texts.iter().collect();
        assert!(texts.len() > 3_500);
        assert!(distinct.len() * 100 >= texts.len() * 99, "{} of {}", distinct.len(), texts.len());
    }

    /// Given texts are posted in turn.
    #[test]
    fn given_texts_are_posted_in_turn() {
        let given = Arc::new(vec!["first comment".to_string(), "second comment".to_string()]);
        let w = Workload::new(10, 200, vec!["a".into()], 7, Platform::Console, "t").with_texts(given.clone());
        let texts = plain_texts(w);
        assert!(texts.len() > 100);
        assert!(texts.iter().all(|t| given.contains(t)));
        assert!(texts.iter().any(|t| t == "first comment") && texts.iter().any(|t| t == "second comment"));
    }
}
