//! Commissioner commands: open and close discussions, pull theme summaries.

use super::commands::CommissionerCommand;
use super::context::Ctx;
use super::replies::{CommissionReply as Answer, Refusal, Reply, ThreadMessage};
use super::Engine;
use crate::config::check_slug;
use crate::error::Result;
use crate::store::{Discussion, DiscussionStatus, Tx};

impl Engine {
    /// A commissioner command from a commissioner, in the commissioners' room.
    pub(super) async fn commission(&self, cx: &mut Ctx, command: CommissionerCommand) -> Result<Reply> {
        Ok(match command {
            CommissionerCommand::Open { slug, title, prompt } => self.open(cx, &slug, &title, prompt).await?,
            CommissionerCommand::Close(slug) => self.close(cx, &slug).await?,
            CommissionerCommand::Summary(slug) => self.summary(&mut cx.tx, &slug).await?,
            CommissionerCommand::Push { survey, slug } => self.push(cx, &survey, &slug).await?,
            CommissionerCommand::Update { slug, text } => self.update(cx, &slug, &text).await?,
            CommissionerCommand::Respond { slug, number, text } => self.respond(cx, &slug, number, &text).await?,
        })
    }

    /// `!summary SLUG`: read-only, so it also runs outside the engine's lock.
    pub(super) async fn summary(&self, tx: &mut Tx, slug: &str) -> Result<Reply> {
        Ok(match tx.discussion_by_slug(slug).await? {
            None => Refusal::NoSuchDiscussion(slug.to_string()).into(),
            Some(d) => {
                let summary = crate::report::discussion_summary(tx, &self.analyzer, &d, self.small_numbers).await?;
                let mut text = summary.to_chat();
                text.push_str(&self.engagement(tx, &d, self.small_numbers).await?.to_chat());
                Answer::Summary(text).into()
            }
        })
    }

    async fn open(&self, cx: &mut Ctx, slug: &str, title: &str, prompt: Option<String>) -> Result<Reply> {
        if let Err(why) = check_slug(slug) {
            return Ok(Answer::BadSlug(slug.to_string(), why.to_string()).into());
        }
        let prompt = prompt.unwrap_or_else(|| format!("Share your views on: {title}"));
        let d = match cx.tx.discussion_by_slug(slug).await? {
            Some(d) if d.is_open() => return Ok(Answer::AlreadyOpen(slug.to_string()).into()),
            Some(d) => {
                cx.tx.set_discussion_status(d.id, DiscussionStatus::Open).await?;
                cx.tx.set_discussion_text(d.id, title, &prompt).await?;
                Discussion { status: DiscussionStatus::Open, title: title.into(), prompt: prompt.clone(), ..d }
            }
            None => match cx.tx.insert_discussion(slug, title, &prompt, cx.now).await? {
                Some(d) => d,
                None => return Ok(Answer::AlreadyOpen(slug.to_string()).into()),
            },
        };
        self.ensure_threads(cx, &d).await?;
        Ok(Answer::Opened(d).into())
    }

    async fn close(&self, cx: &mut Ctx, slug: &str) -> Result<Reply> {
        let Some(d) = cx.tx.discussion_by_slug(slug).await? else {
            return Ok(Refusal::NoSuchDiscussion(slug.to_string()).into());
        };
        if !d.is_open() {
            return Ok(Answer::AlreadyClosed(slug.to_string()).into());
        }
        cx.tx.set_discussion_status(d.id, DiscussionStatus::Closed).await?;
        self.to_thread(cx, &d, &ThreadMessage::Closed).await?;
        Ok(Answer::Closed(slug.to_string()).into())
    }
}
