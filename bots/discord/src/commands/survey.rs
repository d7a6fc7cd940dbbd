//! `/survey [stop]`: start or resume your survey (answers are typed in your DM with the bot),
//! or leave it.

use serenity::builder::{CreateCommand, CreateCommandOption};
use serenity::model::application::CommandOptionType;

use super::{text, Opt};

/// The command as registered with Discord.
pub fn register() -> CreateCommand {
    CreateCommand::new("survey").description("Start or carry on with a survey you were invited to").add_option(
        CreateCommandOption::new(
            CommandOptionType::String,
            "action",
            "Leave it out to start or carry on; stop to leave",
        )
        .add_string_choice("stop", "stop")
        .required(false),
    )
}

/// The core's text command.
pub fn run(options: &[Opt<'_>]) -> Option<String> {
    match text(options, "action").as_deref() {
        Some("stop") => Some("survey stop".to_owned()),
        _ => Some("survey".to_owned()),
    }
}
