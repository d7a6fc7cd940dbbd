//! `/reply post text`: an anonymous reply to post #N.

use serenity::builder::{CreateCommand, CreateCommandOption};
use serenity::model::application::CommandOptionType;

use super::{number, text, Opt};

/// The command as registered with Discord.
pub fn register() -> CreateCommand {
    CreateCommand::new("reply")
        .description("Reply anonymously to a post")
        .add_option(
            CreateCommandOption::new(CommandOptionType::Integer, "post", "The post's number (#N)")
                .required(true)
                .min_int_value(1),
        )
        .add_option(
            CreateCommandOption::new(CommandOptionType::String, "text", "Your reply").required(true).max_length(2000),
        )
}

/// The core's text command.
pub fn run(options: &[Opt<'_>]) -> Option<String> {
    Some(format!("reply #{} {}", number(options, "post")?, text(options, "text")?))
}
