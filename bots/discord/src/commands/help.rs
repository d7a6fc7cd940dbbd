//! `/help`: What you can do here

use super::Opt;
use serenity::builder::CreateCommand;

/// The command as registered with Discord.
pub fn register() -> CreateCommand {
    CreateCommand::new("help").description("What you can do here")
}

/// The core's text command.
pub fn run(_options: &[Opt<'_>]) -> Option<String> {
    Some("help".to_owned())
}
