//! The local console adapter: every input line `NAME: TEXT` is a direct message from
//! local user NAME, and every message the bot sends is printed as one line starting with
//! its destination (`[dm NAME]`, `[thread SLUG]`, `[moderators]`, `[commissioners]`),
//! continuation lines indented by two spaces.
//!
//! Console users listed as moderators or commissioners in the configuration speak in the
//! moderators' or commissioners' room instead.

use std::io::Write;

use chat::{Action, Conversation, Core, Destination, Inbound, Outcome, Platform, Roles, Sender};
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use crate::config::ConsoleConfig;

/// Longest input line, in bytes: room for the longest post `[bot] max_post_chars` allows
/// (40,000 characters of up to 4 bytes) and a command. Longer lines are refused unread.
pub const MAX_LINE_BYTES: usize = 4 * 40_000 + 1024;

/// Lines read ahead while earlier ones are stored.
const READ_AHEAD: usize = 256;

/// What the console says when it starts, in plain language.
pub fn introduction(config: &ConsoleConfig, terminal: bool) -> String {
    let staff = |names: &[String], room: &str| match names {
        [] => format!("Nobody speaks in the {room}' room (set [console] in the configuration)."),
        [one] => format!("{one} speaks in the {room}' room."),
        [rest @ .., last] => format!("{} and {last} speak in the {room}' room.", rest.join(", ")),
    };
    let quit = if terminal {
        "To quit, press Ctrl-D on an empty line (or Ctrl-C)."
    } else {
        "parley stops at the end of the input (or press Ctrl-C)."
    };
    format!(
        "parley console: type each message as NAME: TEXT, for example  alice: !topics\n{} {}\n{quit}",
        staff(&config.moderators, "moderators"),
        staff(&config.commissioners, "commissioners"),
    )
}

/// Reads one line of at most [`MAX_LINE_BYTES`] into `buf` (line ending removed). `None`
/// at the end of the input; `Some(false)` when the line was too long (it is skipped).
async fn read_line<R: AsyncBufRead + Unpin>(input: &mut R, buf: &mut Vec<u8>) -> std::io::Result<Option<bool>> {
    buf.clear();
    let (mut read_any, mut too_long) = (false, false);
    loop {
        let available = input.fill_buf().await?;
        if available.is_empty() {
            break;
        }
        read_any = true;
        let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..i], true),
            None => (available, false),
        };
        if too_long || buf.len() + chunk.len() > MAX_LINE_BYTES {
            // Skip the rest of the line without keeping it.
            too_long = true;
            buf.clear();
        } else {
            buf.extend_from_slice(chunk);
        }
        let used = chunk.len() + usize::from(done);
        input.consume(used);
        if done {
            break;
        }
    }
    Ok(read_any.then_some(!too_long))
}

/// Text made safe for a terminal: control characters (escape sequences, carriage
/// returns, backspaces) and bidirectional overrides are shown as "\u{fffd}", not obeyed.
/// Newlines are kept.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char =
        |c: char| (c.is_control() && c != '\n') || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if text.contains(unsafe_char) {
        std::borrow::Cow::Owned(text.chars().map(|c| if unsafe_char(c) { '\u{fffd}' } else { c }).collect())
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// Runs the console until the input ends, printing to `out`. Over-long lines are refused
/// with a message and invalid UTF-8 is decoded lossily; the console carries on either way.
pub async fn run<R, W>(core: &dyn Core, config: &ConsoleConfig, mut input: R, out: &mut W) -> std::io::Result<()>
where
    R: AsyncBufRead + Unpin,
    W: Write,
{
    // Event ids must not repeat across runs that share a database.
    let session = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    drain(core, out).await?;
    // Lines are read while the previous ones are being stored: whatever arrived meanwhile
    // (a pasted block, piped input) is stored as one group commit, in order. Typed one at
    // a time, each line is answered before the next is read.
    // At most READ_AHEAD lines wait (each up to MAX_LINE_BYTES): 41 MB at worst.
    let (lines, mut queue) = tokio::sync::mpsc::channel::<Inbound>(READ_AHEAD);
    let reader = async move {
        let mut buf = Vec::new();
        let mut n = 0u64;
        while let Some(complete) = read_line(&mut input, &mut buf).await? {
            n += 1;
            if !complete {
                eprintln!(
                    "Line {n} was ignored: it is longer than {} KB. Posts are at most [bot] max_post_chars characters.",
                    MAX_LINE_BYTES / 1024
                );
                continue;
            }
            let line = String::from_utf8_lossy(&buf);
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((name, text)) = line.split_once(':') else {
                eprintln!("Type each line as NAME: TEXT, for example  alice: !topics");
                continue;
            };
            let name = name.trim();
            if name.is_empty() || name.contains(char::is_whitespace) {
                eprintln!("A console name is one word before the colon, for example  alice: !topics");
                continue;
            }
            if lines.send(inbound(config, name, text.trim(), format!("console-{session}-{n}"))).await.is_err() {
                break;
            }
        }
        Ok::<(), std::io::Error>(())
    };
    // Moving the queue in closes it when the handler stops (the output failed), so the
    // reader stops too.
    let handler = async move {
        while let Some(first) = queue.recv().await {
            core.handle_batch(chat::batch_from(first, || queue.try_recv().ok(), Inbound::weight, core.max_batch()))
                .await;
            drain(core, out).await?;
        }
        Ok::<(), std::io::Error>(())
    };
    let (read, handled) = tokio::join!(reader, handler);
    read.and(handled)
}

/// The message console user `name` sends: a DM, or a message in the moderators' or
/// commissioners' room for the staff named in the configuration.
pub fn inbound(config: &ConsoleConfig, name: &str, text: &str, event_id: String) -> Inbound {
    let roles = Roles {
        moderator: config.moderators.iter().any(|m| m == name),
        commissioner: config.commissioners.iter().any(|c| c == name),
    };
    let conversation = if roles.commissioner {
        Conversation::Commissioners
    } else if roles.moderator {
        Conversation::Moderators
    } else {
        Conversation::Direct { address: name.to_string() }
    };
    Inbound {
        platform: Platform::Console,
        event_id,
        sender: Sender { id: name.to_string(), roles },
        conversation,
        text: text.to_string(),
        reply_to: None,
    }
}

/// Prints every delivery due on the console.
pub async fn drain<W: Write>(core: &dyn Core, out: &mut W) -> std::io::Result<()> {
    loop {
        let batch = core.due(Platform::Console, 100).await;
        if batch.is_empty() {
            return Ok(());
        }
        let mut outcomes = Vec::with_capacity(batch.len());
        for delivery in batch {
            let ob = &delivery.outbound;
            let label = match &ob.destination {
                Destination::Direct { address } => format!("dm {address}"),
                Destination::Thread { slug, .. } => format!("thread {slug}"),
                Destination::Moderators => "moderators".into(),
                Destination::Commissioners => "commissioners".into(),
            };
            let text = match &ob.action {
                Action::Remove { .. } => "(a post was removed)".to_string(),
                _ => ob.text.clone(),
            };
            writeln!(out, "{}", printable(&format!("[{label}] {}", text.replace('\n', "\n  "))))?;
            out.flush()?;
            let message_id = format!("console-{}", delivery.id.0);
            outcomes.push((delivery.id, Outcome::Delivered { message_id: Some(message_id) }));
        }
        // Printed is delivered: recorded together, one commit for the batch.
        core.report_batch(outcomes).await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn introduction_is_plain_language() {
        // Issue 13.10: it printed `Console moderators: ["mod1"]`, and how to quit only on a terminal.
        let config =
            ConsoleConfig { moderators: vec!["mod1".into()], commissioners: vec!["comm1".into(), "comm2".into()] };
        let text = introduction(&config, false);
        assert!(text.contains("mod1 speaks in the moderators' room"), "{text}");
        assert!(text.contains("comm1 and comm2 speak in the commissioners' room"), "{text}");
        assert!(!text.contains('[') && !text.contains('"'), "{text}");
        assert!(text.contains("end of the input"), "{text}");
        assert!(introduction(&config, true).contains("Ctrl-D"));
        assert!(introduction(&ConsoleConfig::default(), true).contains("Nobody speaks in the moderators' room"));
    }

    #[test]
    fn control_characters_are_not_sent_to_the_terminal() {
        assert_eq!(printable("plain\n  text"), "plain\n  text");
        assert_eq!(
            printable("\u{1b}[2J\u{1b}]0;pwned\u{7}x\r\u{8}"),
            "\u{fffd}[2J\u{fffd}]0;pwned\u{fffd}x\u{fffd}\u{fffd}"
        );
        assert_eq!(printable("a\u{202e}b\u{9b}c"), "a\u{fffd}b\u{fffd}c");
    }

    #[tokio::test]
    async fn lines_are_bounded_and_decoded_lossily() {
        let mut input = b"alice: one\r\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', MAX_LINE_BYTES + 10));
        input.extend(b"\nbob: caf\xe9\nlast");
        let mut reader = tokio::io::BufReader::with_capacity(1024, input.as_slice());
        let mut buf = Vec::new();
        assert_eq!(read_line(&mut reader, &mut buf).await.unwrap(), Some(true));
        assert_eq!(buf, b"alice: one\r");
        assert_eq!(read_line(&mut reader, &mut buf).await.unwrap(), Some(false));
        assert!(buf.len() <= MAX_LINE_BYTES, "the long line is not kept");
        assert_eq!(read_line(&mut reader, &mut buf).await.unwrap(), Some(true));
        assert_eq!(String::from_utf8_lossy(&buf), "bob: caf\u{fffd}");
        assert_eq!(read_line(&mut reader, &mut buf).await.unwrap(), Some(true));
        assert_eq!(buf, b"last");
        assert_eq!(read_line(&mut reader, &mut buf).await.unwrap(), None);
    }
}
