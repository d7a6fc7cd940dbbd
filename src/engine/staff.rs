//! Moderator commands. Moderators act on post references and pseudonyms only; the
//! participant behind a post is found through the stored key and never shown.

use std::time::Duration;

use super::commands::PostRef;
use super::{render, replies, Engine};
use crate::error::Result;
use crate::limits::{human_duration, parse_duration};
use crate::store::{AuditEntry, Discussion, Post, PostStatus, Tx};

enum Found {
    One(Post, Discussion),
    Answer(String),
}

impl Engine {
    async fn find(&self, tx: &mut Tx, r: &PostRef) -> Result<Found> {
        match &r.slug {
            Some(slug) => {
                let Some(d) = tx.discussion_by_slug(slug).await? else {
                    return Ok(Found::Answer(replies::no_such_discussion(slug, &self.settings.prefix)));
                };
                match tx.post_by_number(d.id, r.number).await? {
                    Some(post) => Ok(Found::One(post, d)),
                    None => Ok(Found::Answer(format!("There is no post {}#{}.", slug, r.number.0))),
                }
            }
            None => {
                let mut all = tx.posts_numbered(r.number).await?;
                match all.len() {
                    0 => Ok(Found::Answer(format!("There is no post {} in any discussion.", r.number))),
                    1 => {
                        let (post, slug) = all.remove(0);
                        let d = tx.discussion_by_slug(&slug).await?;
                        Ok(match d {
                            Some(d) => Found::One(post, d),
                            None => Found::Answer(format!("There is no post {}.", r.number)),
                        })
                    }
                    _ => {
                        let options: Vec<String> = all.iter().map(|(_, s)| format!("{s}#{}", r.number.0)).collect();
                        Ok(Found::Answer(format!(
                            "Several discussions have a post {}. Which one? {}",
                            r.number,
                            options.join(", ")
                        )))
                    }
                }
            }
        }
    }

    async fn record(
        &self,
        tx: &mut Tx,
        actor: &str,
        action: &str,
        target: String,
        reason: &str,
        now: i64,
    ) -> Result<()> {
        tx.audit(&AuditEntry { at: now, actor: actor.into(), action: action.into(), target, reason: reason.into() })
            .await
    }

    pub(super) async fn queue(&self, tx: &mut Tx) -> Result<String> {
        let queue = tx.review_queue().await?;
        if queue.is_empty() {
            return Ok("The review queue is empty.".into());
        }
        let mut out = format!("{} post(s) waiting for review:", queue.len());
        for q in queue {
            let state = match q.post.status {
                PostStatus::Hidden => format!("hidden after {} reports", q.reports),
                _ => "held".to_string(),
            };
            let why = if q.reasons.is_empty() { String::new() } else { format!(" — {}", q.reasons) };
            out.push_str(&format!(
                "\n{}#{} ({state}{why}) {}: {}",
                q.slug,
                q.post.number.0,
                q.post.pseudonym,
                render::inert(&q.post.body)
            ));
        }
        Ok(out)
    }

    pub(super) async fn log(&self, tx: &mut Tx) -> Result<String> {
        let entries = tx.audit_log(20).await?;
        if entries.is_empty() {
            return Ok("No moderation actions yet.".into());
        }
        let mut out = String::from("Latest moderation actions:");
        for e in entries {
            let when = format_time(e.at);
            let why = if e.reason.is_empty() { String::new() } else { format!(" — {}", render::inert(&e.reason)) };
            out.push_str(&format!("\n{when} {} {} {}{why}", e.actor, e.action, e.target));
        }
        Ok(out)
    }

    pub(super) async fn approve(&self, tx: &mut Tx, actor: &str, r: &PostRef, now: i64) -> Result<String> {
        let (post, d) = match self.find(tx, r).await? {
            Found::One(p, d) => (p, d),
            Found::Answer(a) => return Ok(a),
        };
        let target = format!("{}#{}", d.slug, post.number.0);
        if !matches!(post.status, PostStatus::Held | PostStatus::Hidden) {
            return Ok(format!("{target} is not waiting for review."));
        }
        tx.set_post_status(post.id, PostStatus::Published).await?;
        let parent_id = match post.parent {
            Some(n) => tx.post_by_number(d.id, n).await?.map(|p| p.id),
            None => None,
        };
        self.publish(tx, &d, post.id, post.number, &post.pseudonym, post.parent, parent_id, &post.body, now).await?;
        self.record(tx, actor, "approve", target.clone(), "", now).await?;
        if let Some(key) = &post.participant {
            let text = format!("Your post {} in \"{}\" has been approved and is now published.", post.number, d.slug);
            self.notify_participant(tx, key, &text, now).await?;
        }
        Ok(format!("Approved {target}; it is published on every mirror."))
    }

    pub(super) async fn reject(&self, tx: &mut Tx, actor: &str, r: &PostRef, why: &str, now: i64) -> Result<String> {
        let (post, d) = match self.find(tx, r).await? {
            Found::One(p, d) => (p, d),
            Found::Answer(a) => return Ok(a),
        };
        let target = format!("{}#{}", d.slug, post.number.0);
        if post.status != PostStatus::Held {
            return Ok(format!("{target} is not held; use !remove to take down a published or hidden post."));
        }
        tx.set_post_status(post.id, PostStatus::Rejected).await?;
        self.record(tx, actor, "reject", target.clone(), why, now).await?;
        if let Some(key) = &post.participant {
            let text = format!(
                "Your post to \"{}\" was not published by the moderators. Reason: {}",
                d.slug,
                render::inert(why)
            );
            self.notify_participant(tx, key, &text, now).await?;
        }
        Ok(format!("Rejected {target}."))
    }

    pub(super) async fn remove(&self, tx: &mut Tx, actor: &str, r: &PostRef, why: &str, now: i64) -> Result<String> {
        let (post, d) = match self.find(tx, r).await? {
            Found::One(p, d) => (p, d),
            Found::Answer(a) => return Ok(a),
        };
        let target = format!("{}#{}", d.slug, post.number.0);
        if !matches!(post.status, PostStatus::Published | PostStatus::Hidden) {
            return Ok(format!("{target} is not published."));
        }
        if post.status == PostStatus::Published {
            self.take_down(tx, &post, now).await?;
        }
        tx.set_post_status(post.id, PostStatus::Removed).await?;
        self.record(tx, actor, "remove", target.clone(), why, now).await?;
        if let Some(key) = &post.participant {
            let text = format!(
                "Your post {} in \"{}\" was removed by the moderators. Reason: {}",
                post.number,
                d.slug,
                render::inert(why)
            );
            self.notify_participant(tx, key, &text, now).await?;
        }
        Ok(format!("Removed {target} from every mirror."))
    }

    pub(super) async fn mute(&self, tx: &mut Tx, actor: &str, r: &PostRef, how_long: &str, now: i64) -> Result<String> {
        let Some(duration) = parse_duration(how_long) else {
            return Ok(replies::usage(super::commands::usage::MUTE));
        };
        let (post, d) = match self.find(tx, r).await? {
            Found::One(p, d) => (p, d),
            Found::Answer(a) => return Ok(a),
        };
        let Some(key) = post.participant.clone() else {
            return Ok("The author of that post asked to be forgotten, so they can't be muted through it.".into());
        };
        let mut s = tx.sanctions(&key).await?;
        s.muted_until = now + duration.as_millis() as i64;
        let who = format!("{}@{}", post.pseudonym, d.slug);
        tx.set_sanctions(&key, s, &who, now).await?;
        self.record(tx, actor, &format!("mute {}", human_duration(duration)), who.clone(), "", now).await?;
        let text = format!("The moderators have paused your posting for {}.", human_duration(duration));
        self.notify_participant(tx, &key, &text, now).await?;
        Ok(format!("Muted {who} for {}.", human_duration(duration)))
    }

    pub(super) async fn ban(&self, tx: &mut Tx, actor: &str, r: &PostRef, now: i64) -> Result<String> {
        let (post, d) = match self.find(tx, r).await? {
            Found::One(p, d) => (p, d),
            Found::Answer(a) => return Ok(a),
        };
        let Some(key) = post.participant.clone() else {
            return Ok("The author of that post asked to be forgotten, so they can't be banned through it.".into());
        };
        let mut s = tx.sanctions(&key).await?;
        s.banned = true;
        let who = format!("{}@{}", post.pseudonym, d.slug);
        tx.set_sanctions(&key, s, &who, now).await?;
        self.record(tx, actor, "ban", who.clone(), "", now).await?;
        self.notify_participant(tx, &key, &replies::banned(), now).await?;
        Ok(format!("Banned {who}. Use !unban {who} to lift it."))
    }

    pub(super) async fn unban(&self, tx: &mut Tx, actor: &str, name: &str, slug: &str, now: i64) -> Result<String> {
        let Some(d) = tx.discussion_by_slug(slug).await? else {
            return Ok(replies::no_such_discussion(slug, &self.settings.prefix));
        };
        let who = format!("{name}@{slug}");
        let key = match tx.pseudonym_owner(d.id, name).await? {
            Some(key) => key,
            // The participant may have used !forget since; the sanction remembers the name.
            None => match tx.sanctioned_as(&who).await? {
                Some(key) => key,
                None => return Ok(format!("Nobody is called {name} in \"{slug}\".")),
            },
        };
        tx.set_sanctions(&key, crate::store::Sanctions::default(), "", now).await?;
        self.record(tx, actor, "unban", who.clone(), "", now).await?;
        self.notify_participant(tx, &key, "The moderators have lifted the pause on your posting.", now).await?;
        Ok(format!("Lifted every sanction on {who}."))
    }
}

/// "2026-11-27 10:15 UTC" from Unix milliseconds, without a date crate.
fn format_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let _ = Duration::ZERO;
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02} UTC", rem / 3600, (rem % 3600) / 60)
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_times() {
        assert_eq!(super::format_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(super::format_time(1_700_000_000_000), "2023-11-14 22:13 UTC");
    }
}
