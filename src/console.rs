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

/// Runs the console until the input ends, printing to `out`.
pub async fn run<R, W>(core: &dyn Core, config: &ConsoleConfig, input: R, out: &mut W) -> std::io::Result<()>
where
    R: AsyncBufRead + Unpin,
    W: Write,
{
    // Event ids must not repeat across runs that share a database.
    let session = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    drain(core, out).await?;
    let mut lines = input.lines();
    let mut n = 0u64;
    while let Some(line) = lines.next_line().await? {
        n += 1;
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
        core.handle(inbound(config, name, text.trim(), format!("console-{session}-{n}"))).await;
        drain(core, out).await?;
    }
    Ok(())
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
            writeln!(out, "[{label}] {}", text.replace('\n', "\n  "))?;
            out.flush()?;
            let message_id = format!("console-{}", delivery.id.0);
            core.report(delivery.id, Outcome::Delivered { message_id: Some(message_id) }).await;
        }
    }
}
