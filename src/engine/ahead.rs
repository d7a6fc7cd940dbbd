//! What the text alone says of a post, worked out ahead on another CPU. While the writer
//! stores a group commit message by message, a blocking thread reads the texts of the
//! group's messages in the same order — the moderation verdict without the author's recent
//! posts, and the theme analysis of the text as it would be published — so that the writer
//! mostly finds them ready instead of working them out between two statements (a text the
//! thread has not begun when the writer needs it, the writer works out itself; it waits
//! only for one being worked out). The writer looks a reading up by exactly the text it
//! would have assessed, and adds the one check that needs the database (repeated text,
//! [`moderation::Moderator::with_recent`]), so what is stored is the same either way; a
//! text not read ahead is assessed in line as before. Each direct message's sender is
//! worked out there too, just before their texts: the participant key (an HMAC) and the
//! address sealed afresh, which the writer otherwise computes for every message.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};

use chat::{Conversation, Inbound, Platform};
use moderation::{Moderator, Verdict};
use themes::{Analysis, Analyzer};

use super::commands::{Command, ParticipantCommand};
use crate::identity::Identity;
use crate::ids::ParticipantKey;

/// What the text alone says of a post.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Reading {
    /// `Moderator::assess(text, &[])`.
    pub verdict: Verdict,
    /// The theme analysis of `verdict.text`, the text as it would be published (only for
    /// texts that may be posted: not for a report's reason).
    pub analysis: Option<Analysis>,
}

/// The readings of one group commit's texts, some perhaps still being worked out (a clone
/// shares them).
#[derive(Default, Clone)]
pub(super) struct Ahead {
    shared: Option<Arc<Shared>>,
}

struct Shared {
    /// Every text to be read.
    wanted: HashSet<String>,
    /// Each direct message's sender, by platform and event id: their participant key and
    /// address sealed afresh, set by whichever of the thread and the writer comes first.
    senders: HashMap<Platform, HashMap<String, OnceLock<(ParticipantKey, String)>>>,
    state: Mutex<State>,
    ready: Condvar,
}

#[derive(Default)]
struct State {
    done: HashMap<String, Reading>,
    /// Texts the thread has begun.
    begun: HashSet<String>,
    /// Texts the writer reached before the thread began them: it works them out itself,
    /// and the thread skips them.
    taken: HashSet<String>,
    /// The thread has stopped (all done, or it panicked): nothing more will come.
    finished: bool,
}

/// What the thread works out, in the order the writer will need it.
enum Job {
    /// A direct message's sender: [`sender`].
    Sender { platform: Platform, event_id: String, user: String, address: String },
    /// A text, and whether it may be posted (and so needs its themes).
    Text(String, bool),
}

/// A sender's participant key and their address sealed afresh.
fn sender(identity: &Identity, platform: Platform, user: &str, address: &str) -> (ParticipantKey, String) {
    (identity.participant_key(platform, user), identity.seal(address))
}

/// Marks the work finished however the thread ends, so that the writer never waits for a
/// thread that is gone.
struct Finish(Arc<Shared>);

impl Drop for Finish {
    fn drop(&mut self) {
        self.0.state.lock().unwrap_or_else(PoisonError::into_inner).finished = true;
        self.0.ready.notify_all();
    }
}

impl Ahead {
    /// Starts reading the texts of `messages` (the participants' messages of a group
    /// commit), in their order, on one of tokio's blocking threads, and working out each
    /// sender's participant key and freshly sealed address just before their texts. Texts
    /// longer than `longest` characters are refused before any post is made of them, so
    /// they are left to the writer's crisis check: worked out ahead, their analysis cost as
    /// much again for nothing (about 73 MB of memory for a 1 MB line). Without a runtime,
    /// or with nothing to read, nothing is worked out ahead.
    pub(super) fn start<'c>(
        moderator: &Arc<Moderator>,
        analyzer: &Arc<Analyzer>,
        identity: &Identity,
        longest: usize,
        messages: impl Iterator<Item = (&'c Inbound, &'c Command)>,
    ) -> Ahead {
        let mut order: Vec<Job> = Vec::new();
        // Each text to read, and where it is in `order`.
        let mut wanted: HashMap<String, usize> = HashMap::new();
        let mut senders: HashMap<Platform, HashMap<String, OnceLock<(ParticipantKey, String)>>> = HashMap::new();
        for (inbound, command) in messages {
            if let Conversation::Direct { address } = &inbound.conversation {
                let of_platform = senders.entry(inbound.platform).or_default();
                if let std::collections::hash_map::Entry::Vacant(vacant) = of_platform.entry(inbound.event_id.clone()) {
                    vacant.insert(OnceLock::new());
                    order.push(Job::Sender {
                        platform: inbound.platform,
                        event_id: inbound.event_id.clone(),
                        user: inbound.sender.id.clone(),
                        address: address.clone(),
                    });
                }
            }
            let posted = may_post(command);
            for text in texts(command) {
                if text.trim().is_empty() || text.chars().nth(longest).is_some() {
                    continue;
                }
                match wanted.get(text) {
                    None => {
                        wanted.insert(text.to_string(), order.len());
                        order.push(Job::Text(text.to_string(), posted));
                    }
                    // Asked for again, as a post this time: analyse it too.
                    Some(&at) if posted => {
                        if let Some(Job::Text(_, p)) = order.get_mut(at) {
                            *p = true;
                        }
                    }
                    Some(_) => {}
                }
            }
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return Ahead::default() };
        if order.is_empty() {
            return Ahead::default();
        }
        let wanted = wanted.into_keys().collect();
        let shared = Arc::new(Shared { wanted, senders, state: Mutex::new(State::default()), ready: Condvar::new() });
        let (work, moderator, analyzer, identity) =
            (Finish(shared.clone()), moderator.clone(), analyzer.clone(), identity.clone());
        let read = move || {
            for job in order {
                let (text, posted) = match job {
                    Job::Sender { platform, event_id, user, address } => {
                        // Worked out outside the slot, so that the writer never waits
                        // for it: whichever sets it first wins.
                        if let Some(slot) = work.0.senders.get(&platform).and_then(|of| of.get(&event_id)) {
                            if slot.get().is_none() {
                                let _ = slot.set(sender(&identity, platform, &user, &address));
                            }
                        }
                        continue;
                    }
                    Job::Text(text, posted) => (text, posted),
                };
                {
                    let mut state = work.0.state.lock().unwrap_or_else(PoisonError::into_inner);
                    if state.taken.contains(&text) {
                        continue;
                    }
                    state.begun.insert(text.clone());
                }
                let verdict = moderator.assess(&text, &[]);
                let analysis = posted.then(|| analyzer.analyse(&verdict.text));
                let reading = Reading { verdict, analysis };
                work.0.state.lock().unwrap_or_else(PoisonError::into_inner).done.insert(text, reading);
                work.0.ready.notify_all();
            }
        };
        // The task is never awaited: its results are read through `shared`. Should no
        // thread be available for it (tokio panics then), the writer works alone.
        let spawned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(runtime.spawn_blocking(read))));
        if spawned.is_err() {
            return Ahead::default();
        }
        Ahead { shared: Some(shared) }
    }

    /// The participant key and a freshly sealed address of a direct message's sender:
    /// worked out ahead, or here when the thread has not finished it (never waiting for
    /// the thread: a preempted thread would hold the writer). Asked again, the same answer:
    /// the first of the two to finish sets it. `None` for a message that was not given to
    /// [`Ahead::start`] (worked out by the caller).
    pub(super) fn sender(&self, identity: &Identity, inbound: &Inbound) -> Option<(ParticipantKey, String)> {
        let Conversation::Direct { address } = &inbound.conversation else { return None };
        let shared = self.shared.as_ref()?;
        let slot = shared.senders.get(&inbound.platform)?.get(&inbound.event_id)?;
        if let Some(done) = slot.get() {
            return Some(done.clone());
        }
        // Should the thread finish it meanwhile, its answer stands, so a second ask agrees.
        let _ = slot.set(sender(identity, inbound.platform, &inbound.sender.id, address));
        slot.get().cloned()
    }

    /// The reading of `text`: at once when it is done, after a wait when the thread is
    /// working it out now, `None` (to be worked out in line) when it was not asked for or
    /// the thread has not begun it.
    pub(super) fn reading(&self, text: &str) -> Option<Reading> {
        let shared = self.shared.as_ref().filter(|s| s.wanted.contains(text))?;
        let mut state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(reading) = state.done.get(text) {
                return Some(reading.clone());
            }
            if state.finished || state.taken.contains(text) {
                return None;
            }
            if !state.begun.contains(text) {
                state.taken.insert(text.to_string());
                return None;
            }
            state = shared.ready.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// Whether a command's text may become a post (and so needs its themes).
fn may_post(command: &Command) -> bool {
    matches!(
        command,
        Command::Participant(
            ParticipantCommand::Text(_) | ParticipantCommand::Post { .. } | ParticipantCommand::Reply { .. }
        )
    )
}

/// The texts the writer will assess for a command: the participant's text as typed (the
/// crisis check reads it first), and as `Engine::post` trims it — for `!post` also the
/// text after a first word that may name a discussion.
fn texts(command: &Command) -> Vec<&str> {
    let Some(typed) = command.participant_text() else { return Vec::new() };
    let mut texts = vec![typed, typed.trim()];
    if let Command::Participant(ParticipantCommand::Post { text }) = command {
        // Split as the handler splits it, whatever the first word turns out to be.
        if let (Some(_), rest) = super::commands::split_post_slug(text, |_| true) {
            texts.push(rest.trim());
        }
    }
    texts
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn text(t: &str) -> Command {
        Command::Participant(ParticipantCommand::Text(t.into()))
    }

    fn identity() -> Identity {
        Identity::new(b"0123456789abcdef0123456789abcdef")
    }

    /// Each command as a direct message of its own, from `user-<i>`.
    fn dms(commands: &[Command]) -> Vec<(Inbound, Command)> {
        commands
            .iter()
            .enumerate()
            .map(|(i, command)| {
                let inbound = Inbound {
                    platform: Platform::Console,
                    event_id: format!("event-{i}"),
                    sender: chat::Sender { id: format!("user-{i}"), roles: Default::default() },
                    conversation: Conversation::Direct { address: format!("dm-{i}") },
                    text: String::new(),
                    reply_to: None,
                };
                (inbound, command.clone())
            })
            .collect()
    }

    fn start(moderator: &Arc<Moderator>, analyzer: &Arc<Analyzer>, messages: &[(Inbound, Command)]) -> Ahead {
        Ahead::start(moderator, analyzer, &identity(), 1_000, messages.iter().map(|(i, c)| (i, c)))
    }

    fn reading(moderator: &Moderator, analyzer: &Analyzer, text: &str) -> Reading {
        let verdict = moderator.assess(text, &[]);
        let analysis = Some(analyzer.analyse(&verdict.text));
        Reading { verdict, analysis }
    }

    /// Waits until the thread has done every text (or stopped).
    fn settle(ahead: &Ahead) {
        let shared = ahead.shared.as_ref().unwrap();
        let mut state = shared.state.lock().unwrap();
        while !state.finished {
            state = shared.ready.wait(state).unwrap();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn readings_are_what_the_writer_would_work_out_and_only_for_the_texts_asked() {
        let (moderator, analyzer) = (Arc::new(Moderator::standard()), Arc::new(Analyzer::default()));
        let commands = [
            text("  The wait at my GP was three weeks  "),
            Command::Participant(ParticipantCommand::Post { text: "gp-access Ring me on 07700 900123 please".into() }),
            text("The wait at my GP was three weeks"),
            Command::Participant(ParticipantCommand::Join("gp-access".into())),
        ];
        let ahead = start(&moderator, &analyzer, &dms(&commands));
        settle(&ahead);
        for t in [
            "  The wait at my GP was three weeks  ",
            "The wait at my GP was three weeks",
            "gp-access Ring me on 07700 900123 please",
            "Ring me on 07700 900123 please",
        ] {
            assert_eq!(ahead.reading(t), Some(reading(&moderator, &analyzer, t)), "{t}");
        }
        // Asked twice: both get it.
        assert!(ahead.reading("The wait at my GP was three weeks").is_some());
        assert_eq!(ahead.reading("gp-access"), None);
        assert_eq!(ahead.reading("something else"), None);
        assert_eq!(Ahead::default().reading("The wait at my GP was three weeks"), None);
        // A report's reason is read for the crisis check only.
        let report = Command::Participant(ParticipantCommand::Report {
            number: crate::ids::PostNumber(1),
            reason: "they posted my phone number".into(),
        });
        let ahead = start(&moderator, &analyzer, &dms(&[report]));
        settle(&ahead);
        let read = ahead.reading("they posted my phone number").unwrap();
        assert_eq!(read.verdict, moderator.assess("they posted my phone number", &[]));
        assert_eq!(read.analysis, None);
        // A text too long to be posted is left to the writer.
        let long = "a".repeat(1_001);
        let ahead = Ahead::start(&moderator, &analyzer, &identity(), 1_000, std::iter::empty());
        assert!(ahead.shared.is_none());
        let ahead = start(&moderator, &analyzer, &dms(&[text(&long)]));
        assert_eq!(ahead.reading(&long), None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_text_the_writer_reaches_first_is_left_to_it() {
        let (moderator, analyzer) = (Arc::new(Moderator::standard()), Arc::new(Analyzer::default()));
        let texts: Vec<String> = (0..200).map(|i| format!("The wait at my GP was {i} weeks")).collect();
        let commands: Vec<Command> = texts.iter().map(|t| text(t)).collect();
        let ahead = start(&moderator, &analyzer, &dms(&commands));
        // The last text is almost surely not begun yet: the writer takes it, and is told
        // so again when it asks a second time (it never waits for a text nobody reads).
        let last = texts.last().unwrap();
        let first_ask = ahead.reading(last);
        settle(&ahead);
        assert_eq!(ahead.reading(last), first_ask);
        // Every text is either read by the thread, correctly, or left to the writer.
        for t in &texts {
            if let Some(read) = ahead.reading(t) {
                assert_eq!(read, reading(&moderator, &analyzer, t));
            }
        }
    }

    /// Senders worked out ahead are what the writer would work out: the same key, and an
    /// address sealed afresh that opens to theirs; asked twice, the same answer.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn senders_are_worked_out_ahead() {
        let (moderator, analyzer) = (Arc::new(Moderator::standard()), Arc::new(Analyzer::default()));
        let messages = dms(&(0..50).map(|i| text(&format!("Post {i}"))).collect::<Vec<_>>());
        let ahead = start(&moderator, &analyzer, &messages);
        let id = identity();
        // The writer may reach the last sender first: it works it out then, once.
        let last = ahead.sender(&id, &messages[49].0).unwrap();
        settle(&ahead);
        for (i, (inbound, _)) in messages.iter().enumerate() {
            let (key, sealed) = ahead.sender(&id, inbound).unwrap();
            assert_eq!(key, id.participant_key(Platform::Console, &format!("user-{i}")));
            assert_eq!(id.open(&sealed).unwrap(), format!("dm-{i}"));
            assert_eq!(ahead.sender(&id, inbound), Some((key, sealed)));
        }
        assert_eq!(ahead.sender(&id, &messages[49].0), Some(last));
        // A message it was not given, or not a direct message: none.
        let mut other = messages[0].0.clone();
        other.event_id = "elsewhere".into();
        assert_eq!(ahead.sender(&id, &other), None);
        other.conversation = Conversation::Moderators;
        assert_eq!(ahead.sender(&id, &other), None);
    }

    #[test]
    fn without_a_runtime_nothing_is_worked_out_ahead() {
        let (moderator, analyzer) = (Arc::new(Moderator::standard()), Arc::new(Analyzer::default()));
        let commands = [text("The wait at my GP was three weeks")];
        let ahead = start(&moderator, &analyzer, &dms(&commands));
        assert_eq!(ahead.reading("The wait at my GP was three weeks"), None);
    }
}
