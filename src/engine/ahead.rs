//! What the text alone says of a post, worked out ahead on another CPU. While the writer
//! stores a group commit message by message, a blocking thread reads the texts of the
//! group's messages in the same order — the moderation verdict without the author's recent
//! posts, and the theme analysis of the text as it would be published — so that the writer
//! mostly finds them ready instead of working them out between two statements (a text the
//! thread has not begun when the writer needs it, the writer works out itself; it waits
//! only for one being worked out). The writer looks a reading up by exactly the text it
//! would have assessed, and adds the one check that needs the database (repeated text,
//! [`moderation::Moderator::with_recent`]), so what is stored is the same either way; a
//! text not read ahead is assessed in line as before.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use moderation::{Moderator, Verdict};
use themes::{Analysis, Analyzer};

use super::commands::{Command, ParticipantCommand};

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
    /// Starts reading the texts of `commands` (the participants' messages of a group
    /// commit), in their order, on one of tokio's blocking threads. Texts longer than
    /// `longest` characters are refused before any post is made of them, so they are left
    /// to the writer's crisis check: worked out ahead, their analysis cost as much again
    /// for nothing (about 73 MB of memory for a 1 MB line). Without a runtime, or with
    /// nothing to read, nothing is worked out ahead.
    pub(super) fn start<'c>(
        moderator: &Arc<Moderator>,
        analyzer: &Arc<Analyzer>,
        longest: usize,
        commands: impl Iterator<Item = &'c Command>,
    ) -> Ahead {
        let mut order: Vec<(String, bool)> = Vec::new();
        let mut wanted = HashSet::new();
        for command in commands {
            let posted = may_post(command);
            for text in texts(command) {
                if text.trim().is_empty() || text.chars().nth(longest).is_some() {
                    continue;
                }
                if wanted.insert(text.to_string()) {
                    order.push((text.to_string(), posted));
                } else if posted {
                    // Asked for again, as a post this time: analyse it too.
                    order.iter_mut().filter(|(t, _)| t == text).for_each(|(_, p)| *p = true);
                }
            }
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return Ahead::default() };
        if order.is_empty() {
            return Ahead::default();
        }
        let shared = Arc::new(Shared { wanted, state: Mutex::new(State::default()), ready: Condvar::new() });
        let (work, moderator, analyzer) = (Finish(shared.clone()), moderator.clone(), analyzer.clone());
        let read = move || {
            for (text, posted) in order {
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
        let ahead = Ahead::start(&moderator, &analyzer, 1_000, commands.iter());
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
        let ahead = Ahead::start(&moderator, &analyzer, 1_000, [report].iter());
        settle(&ahead);
        let read = ahead.reading("they posted my phone number").unwrap();
        assert_eq!(read.verdict, moderator.assess("they posted my phone number", &[]));
        assert_eq!(read.analysis, None);
        // A text too long to be posted is left to the writer.
        let long = "a".repeat(1_001);
        let ahead = Ahead::start(&moderator, &analyzer, 1_000, [text(&long)].iter());
        assert!(ahead.shared.is_none());
        assert_eq!(ahead.reading(&long), None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_text_the_writer_reaches_first_is_left_to_it() {
        let (moderator, analyzer) = (Arc::new(Moderator::standard()), Arc::new(Analyzer::default()));
        let texts: Vec<String> = (0..200).map(|i| format!("The wait at my GP was {i} weeks")).collect();
        let commands: Vec<Command> = texts.iter().map(|t| text(t)).collect();
        let ahead = Ahead::start(&moderator, &analyzer, 1_000, commands.iter());
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

    #[test]
    fn without_a_runtime_nothing_is_worked_out_ahead() {
        let (moderator, analyzer) = (Arc::new(Moderator::standard()), Arc::new(Analyzer::default()));
        let commands = [text("The wait at my GP was three weeks")];
        let ahead = Ahead::start(&moderator, &analyzer, 1_000, commands.iter());
        assert_eq!(ahead.reading("The wait at my GP was three weeks"), None);
    }
}
