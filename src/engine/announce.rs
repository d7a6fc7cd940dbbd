//! Queuing what the engine says: answers to the sender, notices to a participant, alerts
//! to the moderators and messages in a discussion's public threads, each rendered by
//! [`replies`](super::replies) and queued in the outbox inside the message's transaction.

use super::context::{Ctx, Room};
use super::replies::{Alert, Notice, Reply, ThreadMessage};
use super::Engine;
use crate::error::Result;
use crate::ids::ParticipantKey;
use crate::store::{Discussion, NewOutbox, OutboxAction, OutboxDest, Post};

impl Engine {
    /// Queues `reply` back to where the inbound message came from.
    /// Long answers (a queue, a log, a summary) are split at line boundaries into as many
    /// messages as the platform needs.
    /// A survey question carries its choices (see [`choices`](super::choices)) on its last
    /// message, so that buttons come under the whole question.
    pub(super) async fn say(&self, cx: &mut Ctx, reply: &Reply) -> Result<()> {
        let text = self.voice().reply(reply);
        let platform = cx.origin.platform;
        let choices = super::choices::of_reply(reply).map(|c| super::choices::encode(&c));
        let parts = fit(&text, platform);
        let last = parts.len().saturating_sub(1);
        for (i, part) in parts.iter().enumerate() {
            let dest = match &cx.origin.room {
                Room::Direct { sealed, .. } => OutboxDest::Direct { sealed_address: sealed },
                Room::Moderators => OutboxDest::Moderators,
                Room::Commissioners => OutboxDest::Commissioners,
            };
            let choices = choices.as_deref().filter(|_| i == last);
            cx.tx.enqueue(&NewOutbox { choices, ..NewOutbox::message(platform, dest, part, cx.now) }).await?;
        }
        Ok(())
    }

    /// Queues an alert to the moderators' room on every platform.
    pub(super) async fn alert(&self, cx: &mut Ctx, alert: &Alert) -> Result<()> {
        let text = self.voice().alert(alert);
        for &platform in &self.platforms {
            for part in fit(&text, platform) {
                cx.tx.enqueue(&NewOutbox::message(platform, OutboxDest::Moderators, &part, cx.now)).await?;
            }
        }
        Ok(())
    }

    /// Writes to a participant through every platform they can be reached on.
    pub(super) async fn notify(&self, cx: &mut Ctx, key: &ParticipantKey, notice: &Notice) -> Result<()> {
        let text = self.voice().notice(notice);
        for platform in chat::Platform::ALL {
            if let Some(sealed) = cx.tx.contact(key, platform).await? {
                for part in fit(&text, platform) {
                    let dest = OutboxDest::Direct { sealed_address: &sealed };
                    cx.tx.enqueue(&NewOutbox::message(platform, dest, &part, cx.now)).await?;
                }
            }
        }
        Ok(())
    }

    /// Queues a plain message in a discussion's thread on every mirror.
    pub(super) async fn to_thread(&self, cx: &mut Ctx, d: &Discussion, message: &ThreadMessage) -> Result<()> {
        let text = self.voice().thread(message);
        for &platform in &self.platforms {
            for part in fit(&text, platform) {
                cx.tx.enqueue(&NewOutbox::message(platform, OutboxDest::Thread(d.id), &part, cx.now)).await?;
            }
        }
        Ok(())
    }

    /// Queues the thread root of `d` on every platform that has none yet.
    pub(super) async fn ensure_threads(&self, cx: &mut Ctx, d: &Discussion) -> Result<()> {
        let root = self.voice().thread(&ThreadMessage::Root(d.clone()));
        for &platform in &self.platforms {
            if !cx.tx.thread_requested(d.id, platform).await? {
                // A thread root is one message: shortened if a commissioner's title and
                // prompt would not fit.
                let root = shorten(&root, platform.limits().max_message_chars);
                let open = NewOutbox {
                    action: OutboxAction::OpenThread,
                    ..NewOutbox::message(platform, OutboxDest::Thread(d.id), &root, cx.now)
                };
                cx.tx.enqueue(&open).await?;
            }
        }
        Ok(())
    }

    /// Takes a post off every mirror: pending publications are cancelled, delivered ones removed.
    pub(super) async fn take_down(&self, cx: &mut Ctx, post: &Post) -> Result<()> {
        cx.tx.cancel_pending_sends(post.id, cx.now).await?;
        self.to_every_platform(cx, |platform, now| NewOutbox {
            action: OutboxAction::Remove,
            post: Some(post.id),
            ..NewOutbox::message(platform, OutboxDest::Thread(post.discussion), "", now)
        })
        .await
    }

    /// Queues the message `make` builds once for each platform with a public room.
    pub(super) async fn to_every_platform<'a>(
        &self,
        cx: &mut Ctx,
        make: impl Fn(chat::Platform, i64) -> NewOutbox<'a>,
    ) -> Result<()> {
        for &platform in &self.platforms {
            cx.tx.enqueue(&make(platform, cx.now)).await?;
        }
        Ok(())
    }
}

/// `text` as the messages `platform` takes: one when it fits, otherwise split at line
/// boundaries (and, for a line longer than a whole message, at a space or anywhere).
pub(super) fn fit(text: &str, platform: chat::Platform) -> Vec<String> {
    split_message(text, platform.limits().max_message_chars)
}

/// Splits `text` into pieces of at most `max` characters, preferring line boundaries, then
/// spaces. Nothing is lost except the line breaks and spaces that pieces were split at.
pub fn split_message(text: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    if text.chars().count() <= max {
        return vec![text.to_string()];
    }
    let mut out = Vec::new();
    let mut current = String::new();
    let mut current_len = 0;
    for line in text.split('\n') {
        let mut line = line;
        let mut line_len = line.chars().count();
        // Whole lines go together while they fit.
        let joined = if current.is_empty() { line_len } else { current_len + 1 + line_len };
        if joined <= max {
            if !current.is_empty() {
                current.push('\n');
            }
            current.push_str(line);
            current_len = joined;
            continue;
        }
        if !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        // A line longer than a message: cut at the last space that fits, or at `max`.
        while line_len > max {
            let cut = line.char_indices().nth(max).map_or(line.len(), |(i, _)| i);
            let at = match line[..cut].rfind(' ') {
                Some(space) if space > 0 => space,
                _ => cut,
            };
            out.push(line[..at].to_string());
            line = line[at..].strip_prefix(' ').unwrap_or(&line[at..]);
            line_len = line.chars().count();
        }
        current.push_str(line);
        current_len = line_len;
    }
    if !current.is_empty() || out.is_empty() {
        out.push(current);
    }
    out
}

/// `text` cut to `max` characters, ending with "…" when it was cut.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::split_message;

    #[test]
    fn short_text_is_one_message() {
        assert_eq!(split_message("a\nb", 10), vec!["a\nb"]);
    }

    #[test]
    fn long_text_splits_at_lines_and_every_piece_fits() {
        let text: String = (0..300).map(|i| format!("line {i} with some words in it\n")).collect();
        let parts = split_message(text.trim_end(), 2_000);
        assert!(parts.len() > 1);
        assert!(parts.iter().all(|p| p.chars().count() <= 2_000));
        assert_eq!(parts.join("\n"), text.trim_end(), "split at line boundaries only");
    }

    #[test]
    fn an_overlong_line_is_cut_at_spaces_then_anywhere() {
        let words = "word ".repeat(1_000);
        let parts = split_message(words.trim_end(), 100);
        assert!(parts.iter().all(|p| p.chars().count() <= 100 && !p.starts_with(' ')));
        assert_eq!(parts.join(" "), words.trim_end());
        let solid = "é".repeat(250);
        let parts = split_message(&solid, 100);
        assert_eq!(parts.iter().map(|p| p.chars().count()).collect::<Vec<_>>(), vec![100, 100, 50]);
    }
}
