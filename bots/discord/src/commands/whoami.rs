//! `/whoami`: Your made-up name in your current discussion

use super::Opt;
use serenity::builder::CreateCommand;

/// The command as registered with Discord.
pub fn register() -> CreateCommand {
    CreateCommand::new("whoami").description("Your made-up name in your current discussion")
}

/// The core's text command.
pub fn run(_options: &[Opt<'_>]) -> Option<String> {
    Some("whoami".to_owned())
}
