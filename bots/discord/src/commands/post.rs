//! `/post text [discussion]`: an anonymous post.

use serenity::builder::{CreateCommand, CreateCommandOption};
use serenity::model::application::CommandOptionType;

use super::{text, Opt};

/// The command as registered with Discord.
pub fn register() -> CreateCommand {
    CreateCommand::new("post")
        .description("Post anonymously in your discussion")
        .add_option(
            CreateCommandOption::new(CommandOptionType::String, "text", "What you want to say")
                .required(true)
                .max_length(2000),
        )
        .add_option(CreateCommandOption::new(
            CommandOptionType::String,
            "discussion",
            "Another discussion than the one you joined",
        ))
}

/// The core's text command.
pub fn run(options: &[Opt<'_>]) -> Option<String> {
    let body = text(options, "text")?;
    Some(match text(options, "discussion") {
        Some(slug) => format!("post {slug} {body}"),
        None => format!("post {body}"),
    })
}
