//! `/join discussion`: choose the discussion to post in.

use serenity::builder::{CreateCommand, CreateCommandOption};
use serenity::model::application::CommandOptionType;

use super::{text, Opt};

/// The command as registered with Discord.
pub fn register() -> CreateCommand {
    CreateCommand::new("join").description("Choose the discussion to post in").add_option(
        CreateCommandOption::new(CommandOptionType::String, "discussion", "The discussion's short name, from /topics")
            .required(true),
    )
}

/// The core's text command.
pub fn run(options: &[Opt<'_>]) -> Option<String> {
    Some(format!("join {}", text(options, "discussion")?))
}
