//! `/forget`: Erase your contact details and unlink your posts from you

use super::Opt;
use serenity::builder::CreateCommand;

/// The command as registered with Discord.
pub fn register() -> CreateCommand {
    CreateCommand::new("forget").description("Erase your contact details and unlink your posts from you")
}

/// The core's text command.
pub fn run(_options: &[Opt<'_>]) -> Option<String> {
    Some("forget".to_owned())
}
