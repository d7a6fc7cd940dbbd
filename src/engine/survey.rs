//! Surveys in a participant's DM: invitations (after a first post, on `!join`), `!survey`
//! to start or resume, one question at a time, `skip`, `!survey stop`, `!stop`/`!start`.
//!
//! The state lives in the store (`survey_invitations.next_question`), so a restart resumes
//! at the next unanswered question. Free-text answers were crisis-checked with every other
//! participant text (`crisis_first`) and are redacted here before they are stored.

use super::commands::SurveyAction;
use super::context::Ctx;
use super::replies::{Posted, QuestionPrompt, Refusal, Reply, SurveyInvite};
use super::Engine;
use crate::error::Result;
use crate::ids::ParticipantKey;
use crate::store::{Discussion, Invitation};
use crate::surveys::{parse_answer, Parsed, QuestionKind, SurveyConfig};

/// What led to an invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Trigger {
    /// The participant's first post in a linked discussion.
    FirstPost,
    /// `!join` of a linked discussion.
    Join,
}

impl Engine {
    /// A survey definition by id.
    pub(super) fn survey_def(&self, id: &str) -> Option<&SurveyConfig> {
        self.surveys.iter().find(|s| s.id == id)
    }

    /// After a post: the answer to the author, preceded by an invitation when this was their
    /// first post in a discussion linked to a survey.
    pub(super) async fn after_post(
        &self,
        cx: &mut Ctx,
        key: &ParticipantKey,
        d: &Discussion,
        posted: std::result::Result<Posted, Refusal>,
    ) -> Result<Reply> {
        // Only a survey that invites after a first post, and has not invited them yet (known
        // with the participant row, or read once in the message), needs the count.
        if posted.is_err() || self.surveys_inviting(d, Trigger::FirstPost).next().is_none() {
            return Ok(posted.into());
        }
        let invitations = cx.tx.invitations(key).await?;
        let uninvited =
            self.surveys_inviting(d, Trigger::FirstPost).any(|s| invitations.iter().all(|i| i.survey_id != s.id));
        if !uninvited || !cx.tx.first_post_in(d.id, key).await? {
            return Ok(posted.into());
        }
        match self.invite_for(cx, key, d, Trigger::FirstPost).await? {
            Some(invite) => {
                self.say(cx, &posted.into()).await?;
                Ok(invite)
            }
            None => Ok(posted.into()),
        }
    }

    /// After `!join`: the welcome, then an invitation when the survey asks for one on join.
    pub(super) async fn after_join(
        &self,
        cx: &mut Ctx,
        key: &ParticipantKey,
        d: &Discussion,
        joined: Reply,
    ) -> Result<Reply> {
        match self.invite_for(cx, key, d, Trigger::Join).await? {
            Some(invite) => {
                self.say(cx, &joined).await?;
                Ok(invite)
            }
            None => Ok(joined),
        }
    }

    /// Invites the participant to the first survey linked to `d` that this trigger applies
    /// to and that they were never invited to. Nobody who said `!stop` is invited.
    async fn invite_for(
        &self,
        cx: &mut Ctx,
        key: &ParticipantKey,
        d: &Discussion,
        trigger: Trigger,
    ) -> Result<Option<Reply>> {
        if cx.tx.opted_out(key).await? {
            return Ok(None);
        }
        let via = if trigger == Trigger::Join { "join" } else { "post" };
        for s in self.surveys_inviting(d, trigger) {
            if cx.tx.invite(&s.id, key, d.id, via, cx.now).await? {
                return Ok(Some(Reply::SurveyInvitation(invite_of(s))));
            }
        }
        Ok(None)
    }

    /// The surveys linked to `d` that invite on `trigger`.
    fn surveys_inviting<'a>(&'a self, d: &'a Discussion, trigger: Trigger) -> impl Iterator<Item = &'a SurveyConfig> {
        self.surveys.iter().filter(move |s| {
            s.discussions.contains(&d.slug)
                && match trigger {
                    Trigger::FirstPost => s.invite_after_first_post,
                    Trigger::Join => s.invite_on_join,
                }
        })
    }

    /// The survey the participant is answering now, if any.
    pub(super) async fn active_survey(&self, cx: &mut Ctx, key: &ParticipantKey) -> Result<Option<Invitation>> {
        let invitations = cx.tx.invitations(key).await?;
        Ok(self.in_progress(&invitations).cloned())
    }

    /// Of a participant's invitations, the survey they are answering now.
    fn in_progress<'a>(&self, invitations: &'a [Invitation]) -> Option<&'a Invitation> {
        invitations.iter().find(|i| i.started && !i.stopped && !i.completed && self.survey_def(&i.survey_id).is_some())
    }

    /// `!survey` and `!survey stop`.
    pub(super) async fn survey_command(
        &self,
        cx: &mut Ctx,
        key: &ParticipantKey,
        action: SurveyAction,
    ) -> Result<Reply> {
        let invitations = cx.tx.invitations(key).await?;
        let known = |i: &&Invitation| !i.completed && self.survey_def(&i.survey_id).is_some();
        match action {
            // A click (or `!survey answer`) answers the question being asked, if any; with
            // none, nothing is recorded and, unlike plain text, nothing is posted.
            SurveyAction::Answer(text) => match self.in_progress(&invitations) {
                Some(inv) => self.survey_answer(cx, key, inv, &text).await,
                None => Ok(Reply::NoQuestionOpen),
            },
            SurveyAction::Stop => {
                let Some(active) = self.in_progress(&invitations) else {
                    return Ok(Reply::NoSurvey);
                };
                cx.tx.stop_survey(&active.survey_id, key, cx.now).await?;
                let title = self.survey_def(&active.survey_id).map(|s| s.title.clone()).unwrap_or_default();
                Ok(Reply::SurveyStopped(title))
            }
            SurveyAction::Resume => {
                // The one in progress first, then one stopped, then one not started yet.
                let pick = invitations
                    .iter()
                    .filter(known)
                    .min_by_key(|i| match (i.started, i.stopped) {
                        (true, false) => 0,
                        (true, true) => 1,
                        _ => 2,
                    })
                    .cloned();
                let Some(inv) = pick else { return Ok(Reply::NoSurvey) };
                let Some(def) = self.survey_def(&inv.survey_id) else { return Ok(Reply::NoSurvey) };
                cx.tx.start_survey(&def.id, key, cx.now).await?;
                let heading = (!inv.started).then(|| (def.title.clone(), def.intro.clone()));
                Ok(question(def, inv.next_question, heading, None))
            }
        }
    }

    /// Plain text while a survey is in progress: the answer to its current question.
    pub(super) async fn survey_answer(
        &self,
        cx: &mut Ctx,
        key: &ParticipantKey,
        inv: &Invitation,
        text: &str,
    ) -> Result<Reply> {
        let Some(def) = self.survey_def(&inv.survey_id) else { return Ok(Reply::NoSurvey) };
        let n = inv.next_question;
        let Some(q) = def.questions.get(n) else {
            cx.tx.answer(&def.id, key, n, None, n, true, cx.now).await?;
            return Ok(Reply::SurveyDone(def.title.clone()));
        };
        let stored = match parse_answer(q, text) {
            Parsed::Invalid(why) => return Ok(question(def, n, None, Some(why))),
            Parsed::Skip => None,
            Parsed::Answer(a) if q.kind() == QuestionKind::Text => {
                // Exactly as a post: personal data redacted before it is stored; the crisis
                // check ran on the raw text already. Abusive answers are kept for counting
                // but never quoted.
                let verdict = self.moderator.assess(&a, &[]);
                let quotable = verdict.crisis.is_none()
                    && matches!(verdict.action, moderation::Action::Publish | moderation::Action::PublishRedacted);
                let themes = self.analyzer.analyse(&verdict.text).themes.join(",");
                Some((verdict.text, themes, quotable))
            }
            Parsed::Answer(a) => Some((a, String::new(), false)),
        };
        let next = n + 1;
        let done = next >= def.questions.len();
        let answer = stored.as_ref().map(|(a, t, q)| (a.as_str(), t.as_str(), *q));
        cx.tx.answer(&def.id, key, n, answer, next, done, cx.now).await?;
        if done {
            Ok(Reply::SurveyDone(def.title.clone()))
        } else {
            Ok(question(def, next, None, None))
        }
    }

    /// `!stop` and `!start`.
    pub(super) async fn set_prompts(&self, cx: &mut Ctx, key: &ParticipantKey, stop: bool) -> Result<Reply> {
        cx.tx.set_opted_out(key, stop).await?;
        Ok(if stop { Reply::PromptsStopped } else { Reply::PromptsStarted })
    }
}

/// The invitation to `s`.
pub(super) fn invite_of(s: &SurveyConfig) -> SurveyInvite {
    SurveyInvite { title: s.title.clone(), intro: s.intro.clone(), questions: s.questions.len() }
}

fn question(
    def: &SurveyConfig,
    n: usize,
    heading: Option<(String, String)>,
    again: Option<crate::surveys::Invalid>,
) -> Reply {
    match def.questions.get(n) {
        Some(q) => Reply::SurveyQuestion(QuestionPrompt {
            heading,
            number: n + 1,
            of: def.questions.len(),
            question: q.clone(),
            again,
        }),
        None => Reply::SurveyDone(def.title.clone()),
    }
}
