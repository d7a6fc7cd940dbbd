//! `/report post reason`: flag a post for the moderators.

use serenity::builder::{CreateCommand, CreateCommandOption};
use serenity::model::application::CommandOptionType;

use super::{number, text, Opt};

/// The command as registered with Discord.
pub fn register() -> CreateCommand {
    CreateCommand::new("report")
        .description("Flag a post for the moderators")
        .add_option(
            CreateCommandOption::new(CommandOptionType::Integer, "post", "The post's number (#N)")
                .required(true)
                .min_int_value(1),
        )
        .add_option(
            CreateCommandOption::new(CommandOptionType::String, "reason", "What is wrong with it")
                .required(true)
                .max_length(500),
        )
}

/// The core's text command.
pub fn run(options: &[Opt<'_>]) -> Option<String> {
    Some(format!("report #{} {}", number(options, "post")?, text(options, "reason")?))
}
