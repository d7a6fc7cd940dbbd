//! The answers a survey question asks for, as the neutral [`chat::Choices`] hint that
//! adapters with buttons or menus may offer: built from the question, kept with the outbox
//! row (as JSON, so that it survives a restart), and read back for delivery. The question's
//! text always says how to answer by typing, so an adapter that ignores the hint loses
//! nothing.

use chat::Choices;
use serde_json::{json, Value};

use super::replies::Reply;
use crate::surveys::QuestionKind;

/// The choices `reply` asks for: the options of a single, multiple or scale question, and
/// whether it may be skipped (an optional free-text question asks for no option, only
/// perhaps `skip`); nothing for a required free-text question or any other reply.
pub(super) fn of_reply(reply: &Reply) -> Option<Choices> {
    let Reply::SurveyQuestion(prompt) = reply else { return None };
    let q = &prompt.question;
    let kind = q.kind();
    if kind == QuestionKind::Text && q.required {
        return None;
    }
    Some(Choices {
        labels: q.options().iter().map(|l| l.trim().to_string()).collect(),
        multiple: kind == QuestionKind::Multiple,
        skippable: !q.required,
    })
}

/// The stored form.
pub(super) fn encode(c: &Choices) -> String {
    json!({ "labels": c.labels, "multiple": c.multiple, "skippable": c.skippable }).to_string()
}

/// Reads the stored form; `None` when it is not one (the message then goes without).
pub(super) fn decode(stored: &str) -> Option<Choices> {
    let v: Value = serde_json::from_str(stored).ok()?;
    let labels = v["labels"].as_array()?.iter().map(|l| l.as_str().map(str::to_owned)).collect::<Option<Vec<_>>>()?;
    Some(Choices {
        labels,
        multiple: v["multiple"].as_bool().unwrap_or(false),
        skippable: v["skippable"].as_bool().unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::engine::replies::QuestionPrompt;
    use crate::surveys::SurveyQuestion;

    fn prompt(question: SurveyQuestion) -> Reply {
        Reply::SurveyQuestion(QuestionPrompt { heading: None, number: 1, of: 1, question, again: None })
    }

    #[test]
    fn questions_with_choices_carry_them_and_round_trip() {
        let mut q = SurveyQuestion::choice("How?", &["Phone", " Online "]);
        q.kind = Some(QuestionKind::Multiple);
        let c = of_reply(&prompt(q)).unwrap();
        assert_eq!(c, Choices { labels: vec!["Phone".into(), "Online".into()], multiple: true, skippable: true });
        assert_eq!(decode(&encode(&c)), Some(c));

        let mut scale = SurveyQuestion::choice("Easy?", &[]);
        scale.kind = Some(QuestionKind::Scale);
        scale.required = true;
        scale.low_label = Some("Very hard".into());
        let c = of_reply(&prompt(scale)).unwrap();
        assert_eq!(c.labels, ["1 (Very hard)", "2", "3", "4", "5"]);
        assert!(!c.multiple && !c.skippable);
    }

    #[test]
    fn free_text_offers_skip_only_when_optional_and_other_replies_carry_none() {
        let mut text = SurveyQuestion::choice("Why?", &[]);
        text.kind = Some(QuestionKind::Text);
        assert_eq!(of_reply(&prompt(text.clone())), Some(Choices { labels: vec![], multiple: false, skippable: true }));
        text.required = true;
        assert_eq!(of_reply(&prompt(text)), None);
        assert_eq!(of_reply(&Reply::NoSurvey), None);
        assert_eq!(decode("not json"), None);
    }
}
