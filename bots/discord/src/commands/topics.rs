//! `/topics`: List the open discussions

use super::Opt;
use serenity::builder::CreateCommand;

/// The command as registered with Discord.
pub fn register() -> CreateCommand {
    CreateCommand::new("topics").description("List the open discussions")
}

/// The core's text command.
pub fn run(_options: &[Opt<'_>]) -> Option<String> {
    Some("topics".to_owned())
}
