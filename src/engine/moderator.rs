//! Moderator commands. Moderators act on post references and pseudonyms only; the
//! participant behind a post is found through the stored key and never shown.

use std::time::Duration;

use chat::Inbound;

use super::commands::{ModeratorCommand, PostRef};
use super::context::Ctx;
use super::posting::Publication;
use super::replies::{ModerationReply as Answer, Notice, Refusal, Reply, Sanction};
use super::Engine;
use crate::error::Result;
use crate::limits::{human_duration, parse_duration};
use crate::store::{AuditEntry, Discussion, Post, PostStatus, Sanctions};

impl Engine {
    /// A moderator command from a moderator, in the moderators' room.
    pub(super) async fn moderate(&self, cx: &mut Ctx, inbound: &Inbound, command: ModeratorCommand) -> Result<Reply> {
        let actor =
            format!("moderator {}", &self.identity.participant_key(inbound.platform, &inbound.sender.id).0[..6]);
        let m = Moderation { actor: &actor };
        let (target, action) = match command {
            ModeratorCommand::Queue => return Ok(Reply::Queue(cx.tx.review_queue().await?)),
            ModeratorCommand::Log => return Ok(Reply::Log(cx.tx.audit_log(20).await?)),
            ModeratorCommand::Unban { name, slug } => return self.unban(cx, &m, &name, &slug).await,
            ModeratorCommand::Approve(r) => (r, OnPost::Approve),
            ModeratorCommand::Reject(r, why) => (r, OnPost::Reject(why)),
            ModeratorCommand::Remove(r, why) => (r, OnPost::Remove(why)),
            ModeratorCommand::Mute(r, how_long) => match parse_duration(&how_long) {
                Some(duration) => (r, OnPost::Mute(duration)),
                None => return Ok(Refusal::Usage(super::commands::usage::MUTE).into()),
            },
            ModeratorCommand::Ban(r) => (r, OnPost::Ban),
        };
        let (post, d) = match self.find(cx, &target).await? {
            Ok(found) => found,
            Err(answer) => return Ok(answer),
        };
        match action {
            OnPost::Approve => self.approve(cx, &m, post, d).await,
            OnPost::Reject(why) => self.reject(cx, &m, post, d, &why).await,
            OnPost::Remove(why) => self.remove(cx, &m, post, d, &why).await,
            OnPost::Mute(duration) => self.mute(cx, &m, post, d, duration).await,
            OnPost::Ban => self.ban(cx, &m, post, d).await,
        }
    }

    async fn find(&self, cx: &mut Ctx, r: &PostRef) -> Result<Result<(Post, Discussion), Reply>> {
        match &r.slug {
            Some(slug) => {
                let Some(d) = cx.tx.discussion_by_slug(slug).await? else {
                    return Ok(Err(Refusal::NoSuchDiscussion(slug.clone()).into()));
                };
                match cx.tx.post_by_number(d.id, r.number).await? {
                    Some(post) => Ok(Ok((post, d))),
                    None => Ok(Err(Answer::NoPostIn(slug.clone(), r.number).into())),
                }
            }
            None => {
                let mut all = cx.tx.posts_numbered(r.number).await?;
                match all.len() {
                    0 => Ok(Err(Answer::NoPostAnywhere(r.number).into())),
                    1 => {
                        let (post, slug) = all.remove(0);
                        Ok(match cx.tx.discussion_by_slug(&slug).await? {
                            Some(d) => Ok((post, d)),
                            None => Err(Answer::NoPost(r.number).into()),
                        })
                    }
                    _ => {
                        let options = all.iter().map(|(_, s)| format!("{s}#{}", r.number.0)).collect();
                        Ok(Err(Answer::Ambiguous(r.number, options).into()))
                    }
                }
            }
        }
    }

    async fn approve(&self, cx: &mut Ctx, m: &Moderation<'_>, post: Post, d: Discussion) -> Result<Reply> {
        let target = format!("{}#{}", d.slug, post.number.0);
        if !matches!(post.status, PostStatus::Held | PostStatus::Hidden) {
            return Ok(Answer::NotWaitingForReview(target).into());
        }
        cx.tx.set_post_status(post.id, PostStatus::Published).await?;
        let publication = Publication {
            id: post.id,
            number: post.number,
            pseudonym: &post.pseudonym,
            parent: post.parent.map(|n| (n, None)),
            body: &post.body,
        };
        self.publish(cx, &d, &publication).await?;
        m.record(cx, "approve", &target, "").await?;
        if let Some(key) = &post.participant {
            self.notify(cx, key, &Notice::Approved(post.number, d.slug.clone())).await?;
        }
        Ok(Answer::Approved(target).into())
    }

    async fn reject(&self, cx: &mut Ctx, m: &Moderation<'_>, post: Post, d: Discussion, why: &str) -> Result<Reply> {
        let target = format!("{}#{}", d.slug, post.number.0);
        if post.status != PostStatus::Held {
            return Ok(Answer::NotHeld(target).into());
        }
        cx.tx.set_post_status(post.id, PostStatus::Rejected).await?;
        m.record(cx, "reject", &target, why).await?;
        if let Some(key) = &post.participant {
            self.notify(cx, key, &Notice::Rejected(d.slug.clone(), why.to_string())).await?;
        }
        Ok(Answer::Rejected(target).into())
    }

    async fn remove(&self, cx: &mut Ctx, m: &Moderation<'_>, post: Post, d: Discussion, why: &str) -> Result<Reply> {
        let target = format!("{}#{}", d.slug, post.number.0);
        if !matches!(post.status, PostStatus::Published | PostStatus::Hidden) {
            return Ok(Answer::NotPublished(target).into());
        }
        if post.status == PostStatus::Published {
            self.take_down(cx, &post).await?;
        }
        cx.tx.set_post_status(post.id, PostStatus::Removed).await?;
        m.record(cx, "remove", &target, why).await?;
        if let Some(key) = &post.participant {
            self.notify(cx, key, &Notice::Removed(post.number, d.slug.clone(), why.to_string())).await?;
        }
        Ok(Answer::Removed(target).into())
    }

    async fn mute(
        &self,
        cx: &mut Ctx,
        m: &Moderation<'_>,
        post: Post,
        d: Discussion,
        duration: Duration,
    ) -> Result<Reply> {
        let Some(key) = post.participant.clone() else {
            return Ok(Answer::AuthorForgotten(Sanction::Mute).into());
        };
        let mut s = cx.tx.sanctions(&key).await?;
        s.muted_until = cx.now + duration.as_millis() as i64;
        let who = format!("{}@{}", post.pseudonym, d.slug);
        cx.tx.set_sanctions(&key, s, &who, cx.now).await?;
        m.record(cx, &format!("mute {}", human_duration(duration)), &who, "").await?;
        self.notify(cx, &key, &Notice::Muted(duration)).await?;
        Ok(Answer::Muted(who, duration).into())
    }

    async fn ban(&self, cx: &mut Ctx, m: &Moderation<'_>, post: Post, d: Discussion) -> Result<Reply> {
        let Some(key) = post.participant.clone() else {
            return Ok(Answer::AuthorForgotten(Sanction::Ban).into());
        };
        let mut s = cx.tx.sanctions(&key).await?;
        s.banned = true;
        let who = format!("{}@{}", post.pseudonym, d.slug);
        cx.tx.set_sanctions(&key, s, &who, cx.now).await?;
        m.record(cx, "ban", &who, "").await?;
        self.notify(cx, &key, &Notice::Banned).await?;
        Ok(Answer::Banned(who).into())
    }

    async fn unban(&self, cx: &mut Ctx, m: &Moderation<'_>, name: &str, slug: &str) -> Result<Reply> {
        let Some(d) = cx.tx.discussion_by_slug(slug).await? else {
            return Ok(Refusal::NoSuchDiscussion(slug.to_string()).into());
        };
        let who = format!("{name}@{slug}");
        let key = match cx.tx.pseudonym_owner(d.id, name).await? {
            Some(key) => key,
            // The participant may have used !forget since; the sanction remembers the name.
            None => match cx.tx.sanctioned_as(&who).await? {
                Some(key) => key,
                None => return Ok(Answer::NobodyCalled(name.to_string(), slug.to_string()).into()),
            },
        };
        cx.tx.set_sanctions(&key, Sanctions::default(), "", cx.now).await?;
        m.record(cx, "unban", &who, "").await?;
        self.notify(cx, &key, &Notice::Unbanned).await?;
        Ok(Answer::Unbanned(who).into())
    }
}

/// What a moderator does to the post they named.
enum OnPost {
    Approve,
    Reject(String),
    Remove(String),
    Mute(Duration),
    Ban,
}

/// The moderator acting, for the audit log.
struct Moderation<'a> {
    actor: &'a str,
}

impl Moderation<'_> {
    /// Appends the action to the audit log.
    async fn record(&self, cx: &mut Ctx, action: &str, target: &str, reason: &str) -> Result<()> {
        let entry = AuditEntry {
            at: cx.now,
            actor: self.actor.into(),
            action: action.into(),
            target: target.into(),
            reason: reason.into(),
        };
        cx.tx.audit(&entry).await
    }
}
