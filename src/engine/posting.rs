//! Posting, in four steps: validate (open, not sanctioned, within limits, not empty, not
//! too long, the reply target exists) → moderate (redaction, abuse, spam, pre-moderation)
//! → store (pseudonym, `#N`, themes) → announce (every mirror, or the moderators when held).

use super::context::Ctx;
use super::replies::{self, Alert, Posted, Purpose, Refusal, ThreadMessage, Voice};
use super::Engine;
use crate::error::Result;
use crate::ids::{ParticipantKey, PostId, PostNumber};
use crate::store::{Discussion, NewOutbox, NewPost, OutboxAction, OutboxDest, PostStatus};

/// The longest `#N Name, replying to #M: ` prefix a thread line can have: two 12-digit
/// numbers, the longest made-up name with a collision number, and the words around them.
pub(super) const THREAD_PREFIX_MAX: usize = 100;

/// A post to queue into every mirror.
pub(super) struct Publication<'a> {
    /// The stored post.
    pub id: PostId,
    /// Its `#N`.
    pub number: PostNumber,
    /// The author's made-up name.
    pub pseudonym: &'a str,
    /// The post it answers, and that post's id when the caller has read it already
    /// (`None`: read here).
    pub parent: Option<(PostNumber, Option<PostId>)>,
    /// The redacted text.
    pub body: &'a str,
}

impl Engine {
    /// Validates, moderates, stores and announces a post.
    pub(super) async fn post(
        &self,
        cx: &mut Ctx,
        key: &ParticipantKey,
        d: &Discussion,
        text: &str,
        parent: Option<PostNumber>,
    ) -> Result<Result<Posted, Refusal>> {
        // Validate.
        if !d.is_open() {
            return Ok(Err(Refusal::Closed(d.slug.clone())));
        }
        let sanctions = cx.tx.sanctions(key).await?;
        if sanctions.banned {
            return Ok(Err(Refusal::Banned));
        }
        if sanctions.muted_until > cx.now {
            let wait = std::time::Duration::from_millis((sanctions.muted_until - cx.now) as u64);
            return Ok(Err(Refusal::Muted(wait)));
        }
        // The post's own rate limit was checked with the message; here the discussion's.
        if let Some(&secs) = self.settings.slow_mode.get(&d.slug) {
            let check = self.charge(cx, key, None, Some((d.id, secs))).await?;
            if let Some(refusal) = self.refuse(cx, key, check).await? {
                return Ok(Err(refusal));
            }
        }
        let text = text.trim();
        // Zero-width spaces, fillers and the like show nothing: nothing to publish.
        if moderation::is_blank(text) {
            return Ok(Err(Refusal::EmptyPost));
        }
        let len = text.chars().count();
        if len > self.post_limit {
            return Ok(Err(Refusal::TooLong { len, max: self.post_limit }));
        }
        let parent = match parent {
            Some(n) => match cx.tx.post_by_number(d.id, n).await? {
                Some(post) if post.status == PostStatus::Published => Some((n, Some(post.id))),
                _ => return Ok(Err(Refusal::NoSuchPost { number: n, slug: d.slug.clone(), purpose: Purpose::Reply })),
            },
            None => None,
        };

        // Moderate. The author of a crisis post was signposted already (see `crisis_first`);
        // here the post itself is never rejected.
        let recent = cx.tx.recent_bodies(key, crate::store::RECENT_POSTS).await?;
        let (verdict, analysis) = match cx.ahead.reading(text) {
            Some(read) => (self.moderator.with_recent(read.verdict, text, &recent), read.analysis),
            None => (self.moderator.assess(text, &recent), None),
        };
        let premoderated = d.premoderated;
        let action = match verdict.action {
            moderation::Action::Reject if verdict.crisis.is_some() => moderation::Action::Hold,
            moderation::Action::Publish | moderation::Action::PublishRedacted if premoderated => {
                moderation::Action::Hold
            }
            other => other,
        };
        // Redaction labels and neutralised mentions make the published text longer than
        // what was typed: it must still fit every mirror in one message.
        let published_len = THREAD_PREFIX_MAX + super::render::inert(&verdict.text).chars().count();
        let smallest = self.platforms.iter().map(|p| p.limits().max_message_chars).min().unwrap_or(usize::MAX);
        if published_len > smallest {
            return Ok(Err(Refusal::TooLong { len, max: self.post_limit }));
        }
        let redacted = (!verdict.redactions.is_empty()).then(|| replies::redaction_summary(&verdict.redactions));
        let status = match action {
            moderation::Action::Publish | moderation::Action::PublishRedacted => PostStatus::Published,
            moderation::Action::Hold => PostStatus::Held,
            moderation::Action::Reject => {
                let why = verdict
                    .reasons
                    .first()
                    .map(|r| r.explanation.clone())
                    .unwrap_or_else(|| "it breaks the discussion rules".into());
                return Ok(Err(Refusal::Refused(why)));
            }
        };

        // Store.
        let pseudonym = self.pseudonym_for(cx, d, key).await?;
        let body = verdict.text.as_str();
        let analysis = analysis.unwrap_or_else(|| self.analyzer.analyse(body));
        let mut explanations: Vec<&str> = Vec::new();
        for r in &verdict.reasons {
            if !explanations.contains(&r.explanation.as_str()) {
                explanations.push(&r.explanation);
            }
        }
        let reasons = explanations.join(" ");
        let (id, number) = cx
            .tx
            .insert_next_post(&NewPost {
                discussion: d.id,
                number: PostNumber(0),
                participant: key,
                pseudonym: &pseudonym,
                parent: parent.map(|(n, _)| n),
                body,
                status,
                created_at: cx.now,
                themes: &analysis.themes.join(","),
                sentiment: (analysis.sentiment.score * 100.0).round() as i64,
                platform: cx.origin.platform,
                reasons: (!reasons.is_empty()).then_some(reasons.as_str()),
            })
            .await?;

        // Announce.
        let held = status == PostStatus::Held;
        if held {
            let why = if premoderated && verdict.action != moderation::Action::Hold {
                "this discussion is pre-moderated".to_string()
            } else if reasons.is_empty() {
                "held by the filters".to_string()
            } else {
                reasons.clone()
            };
            let alert =
                Alert::Held { slug: d.slug.clone(), number, pseudonym: pseudonym.clone(), body: body.into(), why };
            self.alert(cx, &alert).await?;
        } else {
            self.publish(cx, d, &Publication { id, number, pseudonym: &pseudonym, parent, body }).await?;
        }
        Ok(Ok(Posted { number, slug: d.slug.clone(), pseudonym, held, redacted }))
    }

    /// Queues a post into every mirror, as an in-thread reply to its parent when it has one.
    pub(super) async fn publish(&self, cx: &mut Ctx, d: &Discussion, p: &Publication<'_>) -> Result<()> {
        let parent_id = match p.parent {
            Some((_, Some(id))) => Some(id),
            Some((n, None)) => cx.tx.post_by_number(d.id, n).await?.map(|parent| parent.id),
            None => None,
        };
        let line = self.voice().thread(&ThreadMessage::Post {
            number: p.number,
            pseudonym: p.pseudonym.to_string(),
            parent: p.parent.map(|(n, _)| n),
            body: p.body.to_string(),
        });
        self.to_every_platform(cx, |platform, now| NewOutbox {
            post: Some(p.id),
            reply_to: parent_id,
            action: OutboxAction::Send,
            ..NewOutbox::message(platform, OutboxDest::Thread(d.id), &line, now)
        })
        .await
    }
}

/// How a published post reads in its thread.
pub fn thread_line(number: PostNumber, pseudonym: &str, parent: Option<PostNumber>, body: &str) -> String {
    let voice = Voice { prefix: "", privacy_notice: "" };
    voice.thread(&ThreadMessage::Post { number, pseudonym: pseudonym.into(), parent, body: body.into() })
}
