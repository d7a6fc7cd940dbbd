//! The organisation's side of two-way engagement: `!push SURVEY SLUG`, `!update SLUG TEXT`
//! ("you said, we did") and `!respond SLUG#N TEXT`, and the push jobs that reach every
//! participant of a discussion.
//!
//! A push is a `push_jobs` row. [`Engine::push_step`] works through it in bounded batches
//! (one short transaction each, under the engine's lock only for that batch) from the
//! delivery path, so a push to 10,000 participants never holds up inbound messages. The
//! job's cursor (the last participant key done) moves in the same transaction as the
//! invitations it queued, so a restart carries on without repeating anyone. Direct
//! messages of a push are spread out in time (`next_attempt_at`) at the platform's
//! declared pace, so a push never floods a platform.

use std::sync::atomic::Ordering;

use chat::Platform;

use super::context::{Ctx, Origin, Room};
use super::replies::{CommissionReply as Answer, Notice, Refusal, Reply, ThreadMessage};
use super::Engine;
use crate::error::Result;
use crate::ids::{ParticipantKey, PostNumber};
use crate::participation::{Engagement, Metrics, OrgLine};
use crate::store::{AuditEntry, NewOutbox, OrgMessage, OutboxDest, PostStatus, PushKind, Tx};
use crate::surveys::SurveyResults;

/// Participants handled per push transaction, by default.
pub const PUSH_BATCH: usize = 200;

/// Batches one call of [`Engine::push_step`] may work through when they queue nothing
/// (everyone in them opted out or unreachable).
const EMPTY_BATCHES: usize = 20;

impl Engine {
    /// Sets the participants handled per push transaction (tests use small batches).
    pub fn set_push_batch(&self, n: usize) {
        self.push_batch.store(n.max(1), Ordering::Relaxed);
    }

    /// `!push SURVEY SLUG`.
    pub(super) async fn push(&self, cx: &mut Ctx, survey: &str, slug: &str) -> Result<Reply> {
        let Some(def) = self.survey_def(survey) else {
            return Ok(Answer::NoSuchSurvey(survey.to_string()).into());
        };
        let Some(d) = cx.tx.discussion_by_slug(slug).await? else {
            return Ok(Refusal::NoSuchDiscussion(slug.to_string()).into());
        };
        if !def.discussions.contains(&d.slug) {
            let linked = def.discussions.clone();
            return Ok(Answer::SurveyNotLinked { survey: survey.to_string(), slug: d.slug, linked }.into());
        }
        cx.tx.create_push(&PushKind::Survey(survey.to_string()), d.id, cx.now).await?;
        self.push_pending.store(true, Ordering::Relaxed);
        self.audit_org(cx, "push survey", slug, survey).await?;
        Ok(Answer::Pushing { survey: survey.to_string(), slug: slug.to_string() }.into())
    }

    /// `!update SLUG TEXT`: in the thread on every mirror, and to every participant.
    pub(super) async fn update(&self, cx: &mut Ctx, slug: &str, text: &str) -> Result<Reply> {
        let Some(d) = cx.tx.discussion_by_slug(slug).await? else {
            return Ok(Refusal::NoSuchDiscussion(slug.to_string()).into());
        };
        let text = text.trim();
        self.to_thread(cx, &d, &ThreadMessage::Update(text.to_string())).await?;
        let themes = self.analyzer.analyse(text).themes.join(",");
        let message =
            OrgMessage { kind: "update".into(), post_number: None, body: text.into(), themes, created_at: cx.now };
        cx.tx.insert_org_message(d.id, &message).await?;
        cx.tx.create_push(&PushKind::Update(text.to_string()), d.id, cx.now).await?;
        self.push_pending.store(true, Ordering::Relaxed);
        self.audit_org(cx, "update", slug, text).await?;
        Ok(Answer::UpdateQueued(slug.to_string()).into())
    }

    /// `!respond SLUG#N TEXT`: an in-thread reply to the post on every mirror.
    pub(super) async fn respond(&self, cx: &mut Ctx, slug: &str, number: PostNumber, text: &str) -> Result<Reply> {
        let Some(d) = cx.tx.discussion_by_slug(slug).await? else {
            return Ok(Refusal::NoSuchDiscussion(slug.to_string()).into());
        };
        let post = match cx.tx.post_by_number(d.id, number).await? {
            Some(post) if post.status == PostStatus::Published => post,
            _ => return Ok(Answer::NotPublished(slug.to_string(), number).into()),
        };
        let text = text.trim();
        let line = self.voice().thread(&ThreadMessage::Response { number, body: text.to_string() });
        self.to_every_platform(cx, |platform, now| NewOutbox {
            reply_to: Some(post.id),
            ..NewOutbox::message(platform, OutboxDest::Thread(d.id), &line, now)
        })
        .await?;
        let themes = self.analyzer.analyse(text).themes.join(",");
        let message = OrgMessage {
            kind: "respond".into(),
            post_number: Some(number.0),
            body: text.into(),
            themes,
            created_at: cx.now,
        };
        cx.tx.insert_org_message(d.id, &message).await?;
        self.audit_org(cx, "respond", &format!("{slug}#{}", number.0), text).await?;
        if let Some(author) = post.participant.clone() {
            if !cx.tx.opted_out(&author).await? {
                self.notify(cx, &author, &Notice::Responded(number, slug.to_string())).await?;
            }
        }
        Ok(Answer::Responded(slug.to_string(), number).into())
    }

    async fn audit_org(&self, cx: &mut Ctx, action: &str, target: &str, text: &str) -> Result<()> {
        cx.tx
            .audit(&AuditEntry {
                at: cx.now,
                actor: "commissioner".into(),
                action: action.into(),
                target: target.into(),
                reason: text.chars().take(300).collect(),
            })
            .await
    }

    /// Works through the oldest unfinished push: one batch, or a few when batches queue
    /// nothing. Returns whether a push is still unfinished. Called from the delivery path;
    /// also public so that tests can stop in the middle of a push.
    pub async fn push_step(&self) -> Result<bool> {
        for _ in 0..EMPTY_BATCHES {
            let (queued, more) = self.push_batch_once().await?;
            if queued > 0 || !more {
                if more {
                    self.wakeup.notify_waiters();
                }
                return Ok(more);
            }
        }
        self.wakeup.notify_waiters();
        Ok(true)
    }

    /// One batch in one transaction: (messages queued, a push is still unfinished).
    async fn push_batch_once(&self) -> Result<(usize, bool)> {
        let _serial = self.serial.lock().await;
        let now = self.clock.now_ms();
        let origin = Origin { platform: Platform::Console, room: Room::Commissioners };
        let mut cx = Ctx {
            tx: self.store.begin().await?,
            now,
            origin,
            active_survey: None,
            ahead: Default::default(),
            charges: Default::default(),
            crisis_counted: Vec::new(),
            recorded: None,
        };
        let Some(job) = cx.tx.next_push().await? else {
            // Under the lock, so a `!push` handled meanwhile cannot be missed.
            self.push_pending.store(false, Ordering::Relaxed);
            return Ok((0, false));
        };
        let batch_size = self.push_batch.load(Ordering::Relaxed);
        let batch = cx.tx.participants_after(job.discussion, &job.cursor, batch_size).await?;
        let discussion = cx.tx.discussion(job.discussion).await?;
        let title = discussion.as_ref().map(|d| d.title.clone()).unwrap_or_default();
        let slug = discussion.as_ref().map(|d| d.slug.clone()).unwrap_or_default();
        let notice = match &job.kind {
            PushKind::Survey(id) => self.survey_def(id).map(|s| Notice::SurveyInvitation(super::survey::invite_of(s))),
            PushKind::Update(text) => Some(Notice::Update(title, text.clone())),
        };
        let mut slot = job.next_slot.max(now);
        let mut sent = job.sent;
        let mut queued = 0;
        if let Some(notice) = &notice {
            let text = self.voice().notice(notice);
            for key in &batch {
                if cx.tx.opted_out(key).await? {
                    continue;
                }
                if let PushKind::Survey(id) = &job.kind {
                    if !cx.tx.invite(id, key, job.discussion, "push", now).await? {
                        continue;
                    }
                }
                let n = self.direct_paced(&mut cx.tx, key, &text, now, &mut slot).await?;
                if n > 0 {
                    sent += 1;
                    queued += n;
                }
            }
        }
        let done = batch.len() < batch_size || notice.is_none();
        let cursor = batch.last().map_or(job.cursor.clone(), |k| k.0.clone());
        cx.tx.advance_push(job.id, &cursor, slot, sent, done.then_some(now)).await?;
        if done {
            let what = match &job.kind {
                PushKind::Survey(id) => id.clone(),
                PushKind::Update(_) => "update".into(),
            };
            let reply: Reply = Answer::PushDone(what, slug, sent).into();
            let text = self.voice().reply(&reply);
            for &platform in &self.platforms {
                for part in super::announce::fit(&text, platform) {
                    cx.tx.enqueue(&NewOutbox::message(platform, OutboxDest::Commissioners, &part, now)).await?;
                }
            }
            queued += 1;
        }
        cx.tx.commit().await?;
        let more = !done || cx_more(&self.store).await?;
        Ok((queued, more))
    }

    /// Queues `text` to a participant on every platform they can be reached on, each
    /// message due at the next free slot of a paced platform. Returns messages queued.
    async fn direct_paced(
        &self,
        tx: &mut Tx,
        key: &ParticipantKey,
        text: &str,
        now: i64,
        slot: &mut i64,
    ) -> Result<usize> {
        let mut queued = 0;
        let mut step = 0i64;
        for platform in Platform::ALL {
            let Some(sealed) = tx.contact(key, platform).await? else { continue };
            let pace = platform.limits().pacing.map_or(0, |p| p.every.as_millis() as i64);
            let at = if pace > 0 { *slot } else { now };
            for part in super::announce::fit(text, platform) {
                let dest = OutboxDest::Direct { sealed_address: &sealed };
                tx.enqueue(&NewOutbox::message(platform, dest, &part, at)).await?;
                queued += 1;
            }
            step = step.max(pace);
        }
        *slot += step;
        Ok(queued)
    }

    /// Survey results, the organisation's messages and participation, for `!summary` and
    /// `parley report`.
    pub async fn engagement(&self, tx: &mut Tx, d: &crate::store::Discussion, threshold: u64) -> Result<Engagement> {
        let surveys = self.survey_results(tx, d, threshold).await?;
        let mut funnel = (0, 0, 0);
        for s in &self.surveys {
            let f = tx.survey_funnel(&s.id, d.id).await?;
            funnel = (funnel.0 + f.invited, funnel.1 + f.started, funnel.2 + f.completed);
        }
        let organisation =
            tx.org_messages(d.id).await?.iter().map(|m| OrgLine::new(m, |id| self.theme_label(id))).collect();
        let participation = Metrics::new(&tx.participation(d.id).await?, funnel, threshold);
        Ok(Engagement { surveys, organisation, participation })
    }

    /// Results of every survey linked to `d` or with invitations through it.
    pub async fn survey_results(
        &self,
        tx: &mut Tx,
        d: &crate::store::Discussion,
        threshold: u64,
    ) -> Result<Vec<SurveyResults>> {
        let mut out = Vec::new();
        for s in &self.surveys {
            let funnel = tx.survey_funnel(&s.id, d.id).await?;
            if !s.discussions.contains(&d.slug) && funnel.invited == 0 {
                continue;
            }
            let answers = tx.survey_answers(&s.id, d.id).await?;
            out.push(crate::surveys::results(s, funnel, &answers, threshold, |id| self.theme_label(id)));
        }
        Ok(out)
    }

    fn theme_label(&self, id: &str) -> String {
        self.analyzer.taxonomy().label(id).to_string()
    }
}

/// Whether any push is still unfinished, in a short read of its own.
async fn cx_more(store: &crate::store::Store) -> Result<bool> {
    let mut tx = store.begin().await?;
    let more = tx.next_push().await?.is_some();
    tx.commit().await?;
    Ok(more)
}
