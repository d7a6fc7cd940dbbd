//! A survey question's choices ([`chat::Choices`]) as Discord message components, and a
//! click on them back into the answer a person would have typed.
//!
//! - one answer (a single choice or a scale): a button per option, five to a row;
//! - several answers: a select menu (at least one, at most every option);
//! - an optional question: a Skip button in a row of its own.
//!
//! Custom ids carry the answer and nothing else (`parley:survey:2`, `parley:survey:skip`,
//! `parley:survey:pick` for the menu, whose values are the option numbers): no identity and
//! no state, so a click means the same after a restart. Labels come from the survey
//! definitions and are cut to Discord's limits.

use chat::Choices;
use serde_json::Value;
use serenity::builder::{
    CreateActionRow, CreateButton, CreateSelectMenu, CreateSelectMenuKind, CreateSelectMenuOption,
};
use serenity::model::application::ButtonStyle;

/// What every custom id of parley's components starts with.
pub const PREFIX: &str = "parley:survey:";
/// The select menu's custom id (its values are the option numbers).
const PICK: &str = "pick";
/// Discord: at most 5 action rows per message, 5 buttons per row, 25 menu options.
const MAX_ROWS: usize = 5;
const PER_ROW: usize = 5;
const MAX_OPTIONS: usize = 25;
/// Discord's longest button label and menu option label.
const BUTTON_LABEL: usize = 80;
const OPTION_LABEL: usize = 100;
/// The Skip button's label; it sends the word the question's text tells people to type.
const SKIP_LABEL: &str = "Skip";

/// The `components` of a message asking `choices`, or `None` when there is nothing to click
/// or Discord cannot show it (more options than a menu takes): the text alone then says
/// how to answer.
pub fn rows(choices: &Choices) -> Option<Value> {
    let n = choices.labels.len();
    if (n == 0 && !choices.skippable) || n > MAX_OPTIONS {
        return None;
    }
    let skip_rows = usize::from(choices.skippable);
    let mut rows = Vec::new();
    if n == 0 {
        // Only Skip (an optional free-text question).
    } else if !choices.multiple && n.div_ceil(PER_ROW) + skip_rows <= MAX_ROWS {
        for (row, labels) in choices.labels.chunks(PER_ROW).enumerate() {
            let buttons = labels
                .iter()
                .enumerate()
                .map(|(i, label)| {
                    let number = row * PER_ROW + i + 1;
                    CreateButton::new(format!("{PREFIX}{number}")).style(ButtonStyle::Primary).label(cut(
                        label,
                        BUTTON_LABEL,
                        number,
                    ))
                })
                .collect();
            rows.push(CreateActionRow::Buttons(buttons));
        }
    } else {
        let options = choices
            .labels
            .iter()
            .enumerate()
            .map(|(i, label)| CreateSelectMenuOption::new(cut(label, OPTION_LABEL, i + 1), (i + 1).to_string()))
            .collect();
        let most = if choices.multiple { n } else { 1 };
        let menu = CreateSelectMenu::new(format!("{PREFIX}{PICK}"), CreateSelectMenuKind::String { options })
            .min_values(1)
            .max_values(u8::try_from(most).unwrap_or(1));
        rows.push(CreateActionRow::SelectMenu(menu));
    }
    if choices.skippable {
        let skip =
            CreateButton::new(format!("{PREFIX}{}", Choices::SKIP)).style(ButtonStyle::Secondary).label(SKIP_LABEL);
        rows.push(CreateActionRow::Buttons(vec![skip]));
    }
    serde_json::to_value(rows).ok()
}

/// The answer a click stands for, as a person would type it: `custom_id` of the button or
/// menu, and the menu's picked `values`. `None` for a component that is not parley's
/// survey answer or a malformed one.
pub fn answer(custom_id: &str, values: &[String]) -> Option<String> {
    let what = custom_id.strip_prefix(PREFIX)?;
    if what == Choices::SKIP {
        return Some(Choices::SKIP.to_owned());
    }
    let number = |s: &str| s.parse::<usize>().ok().filter(|n| (1..=MAX_OPTIONS).contains(n));
    let numbers =
        if what == PICK { values.iter().map(|v| number(v)).collect::<Option<Vec<_>>>()? } else { vec![number(what)?] };
    Choices::answer(&numbers)
}

/// `label` within `max` characters (cut with "…"), or the option's number when it is blank.
fn cut(label: &str, max: usize, number: usize) -> String {
    let label = label.trim();
    if label.is_empty() {
        return number.to_string();
    }
    match label.char_indices().nth(max.saturating_sub(1)) {
        Some((at, _)) if label.chars().count() > max => format!("{}…", &label[..at]),
        _ => label.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choices(labels: &[&str], multiple: bool, skippable: bool) -> Choices {
        Choices { labels: labels.iter().map(|l| l.to_string()).collect(), multiple, skippable }
    }

    #[test]
    fn one_answer_is_buttons_five_to_a_row_with_skip_apart() {
        let rows = rows(&choices(&["1", "2", "3", "4", "5", "6"], false, true)).unwrap();
        let rows = rows.as_array().unwrap();
        assert_eq!(rows.len(), 3);
        assert!(rows.iter().all(|r| r["type"] == 1));
        assert_eq!(rows[0]["components"].as_array().unwrap().len(), 5);
        let sixth = &rows[1]["components"][0];
        assert_eq!((sixth["type"].clone(), sixth["custom_id"].clone()), (2.into(), "parley:survey:6".into()));
        assert_eq!(rows[2]["components"][0]["custom_id"], "parley:survey:skip");
        assert_eq!(rows[2]["components"][0]["label"], "Skip");
    }

    #[test]
    fn several_answers_are_a_menu_of_numbered_values() {
        let rows = rows(&choices(&["Phone", "Online", "NHS App"], true, false)).unwrap();
        let menu = &rows[0]["components"][0];
        assert_eq!(menu["type"], 3);
        assert_eq!(menu["custom_id"], "parley:survey:pick");
        assert_eq!((menu["min_values"].clone(), menu["max_values"].clone()), (1.into(), 3.into()));
        assert_eq!(menu["options"][2]["label"], "NHS App");
        assert_eq!(menu["options"][2]["value"], "3");
        assert_eq!(rows.as_array().unwrap().len(), 1, "no Skip on a required question");
    }

    #[test]
    fn labels_and_ids_stay_within_discord_limits() {
        let long = "é".repeat(300);
        let many: Vec<String> = (0..25).map(|i| format!("{i}{long}")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        // 25 single choices and a Skip do not fit in five rows of buttons: a menu instead.
        let rows = rows(&choices(&refs, false, true)).unwrap();
        let menu = &rows[0]["components"][0];
        assert_eq!(menu["max_values"], 1);
        for option in menu["options"].as_array().unwrap() {
            assert_eq!(option["label"].as_str().unwrap().chars().count(), 100);
        }
        let buttons = super::rows(&choices(&[&long, "b"], false, false)).unwrap();
        let label = buttons[0]["components"][0]["label"].as_str().unwrap();
        assert!(label.chars().count() == 80 && label.ends_with('…'));
        assert!(super::rows(&choices(&refs.repeat(2), false, false)).is_none(), "over 25: text only");
        assert!(super::rows(&choices(&[], false, false)).is_none(), "nothing to click");
        let skip_only = super::rows(&choices(&[], false, true)).unwrap();
        assert_eq!(skip_only.as_array().unwrap().len(), 1);
        assert_eq!(skip_only[0]["components"][0]["custom_id"], "parley:survey:skip");
        assert!(format!("{PREFIX}{PICK}").len() <= 100);
    }

    #[test]
    fn clicks_become_typed_answers() {
        assert_eq!(answer("parley:survey:2", &[]).as_deref(), Some("2"));
        assert_eq!(answer("parley:survey:skip", &[]).as_deref(), Some("skip"));
        assert_eq!(answer("parley:survey:pick", &["3".into(), "1".into()]).as_deref(), Some("1,3"));
        assert_eq!(answer("parley:survey:pick", &[]), None);
        assert_eq!(answer("parley:survey:pick", &["1".into(), "x".into()]), None);
        assert_eq!(answer("parley:survey:99", &[]), None);
        assert_eq!(answer("other:2", &[]), None);
    }
}
