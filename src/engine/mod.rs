//! The engine: decides everything about an inbound message — who may do what, what a post
//! becomes, where it is relayed, what is stored — and queues the results in the outbox.
//!
//! The life of a post: dedupe by `(platform, event id)` → participant key → command parse
//! → moderation verdict → one transaction: post row + outbox rows (one per mirror, plus the
//! acknowledgement to the author). Adapters drain the outbox through [`chat::Core`].

pub mod commands;
mod delivery;
pub mod render;
pub mod replies;
mod staff;

use std::sync::Arc;

use chat::{Conversation, Inbound, Platform};
use tokio::sync::{Mutex, Notify};

use crate::clock::Clock;
use crate::config::{check_slug, Config};
use crate::error::Result;
use crate::identity::Identity;
use crate::ids::{ParticipantKey, PostNumber};
use crate::limits::{human_duration, Act, Check, Limits};
use crate::store::{
    AuditEntry, Discussion, DiscussionStatus, NewOutbox, NewPost, OutboxAction, OutboxDest, PostStatus, Store, Tx,
};
use commands::Command;

/// Settings the engine needs from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Command prefix.
    pub prefix: String,
    /// Longest post in characters.
    pub max_post_chars: usize,
    /// Shown on first `!join`.
    pub privacy_notice: String,
    /// First retry delay, ms.
    pub initial_backoff_ms: i64,
    /// Longest retry delay, ms.
    pub max_backoff_ms: i64,
    /// Distinct reporters that hide a post.
    pub report_threshold: i64,
    /// Slow mode per discussion slug, in seconds.
    pub slow_mode: std::collections::HashMap<String, u64>,
}

impl Settings {
    /// From the configuration file.
    pub fn from_config(config: &Config) -> Settings {
        Settings {
            prefix: config.bot.command_prefix.clone(),
            max_post_chars: config.bot.max_post_chars,
            privacy_notice: config.bot.privacy_notice.trim().to_string(),
            initial_backoff_ms: config.delivery.initial_backoff_secs as i64 * 1000,
            max_backoff_ms: config.delivery.max_backoff_secs as i64 * 1000,
            report_threshold: config.moderation.report_threshold as i64,
            slow_mode: config.discussions.iter().map(|d| (d.slug.clone(), d.slow_mode_secs)).collect(),
        }
    }
}

/// The core engine. Cheap to share behind an `Arc`.
pub struct Engine {
    store: Store,
    identity: Identity,
    clock: Arc<dyn Clock>,
    settings: Settings,
    /// Platforms with a public room: each published post goes to all of them.
    platforms: Vec<Platform>,
    moderator: moderation::Moderator,
    limits: Limits,
    pacing: crate::limits::Pacing,
    analyzer: Arc<themes::Analyzer>,
    small_numbers: u64,
    wakeup: Arc<Notify>,
    /// Inbound messages are handled one at a time per process: SQLite has one writer, and
    /// it keeps a participant's messages in order.
    serial: Mutex<()>,
    /// Inbound messages handled, to prune old rows now and then.
    handled: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("platforms", &self.platforms).finish_non_exhaustive()
    }
}

/// Where the answer to an inbound message goes.
struct Origin {
    platform: Platform,
    kind: OriginKind,
}

enum OriginKind {
    Direct { sealed: String, key: ParticipantKey },
    Moderators,
    Commissioners,
}

impl Engine {
    /// Builds the engine and makes sure every configured discussion exists and every open
    /// discussion has a thread queued on each platform.
    pub async fn start(
        store: Store,
        identity: Identity,
        clock: Arc<dyn Clock>,
        config: &Config,
        platforms: Vec<Platform>,
    ) -> Result<Engine> {
        let engine = Engine {
            store,
            identity,
            limits: Limits::new(&config.limits, clock.clone()),
            analyzer: Arc::new(config.themes.analyzer()?),
            small_numbers: config.themes.small_number_threshold,
            pacing: crate::limits::Pacing::new(
                config.delivery.channel_burst,
                config.delivery.channel_every_ms,
                clock.clone(),
            ),
            clock,
            settings: Settings::from_config(config),
            platforms,
            moderator: crate::moderator_for(config),
            wakeup: Arc::new(Notify::new()),
            serial: Mutex::new(()),
            handled: std::sync::atomic::AtomicU64::new(0),
        };
        let now = engine.clock.now_ms();
        let mut tx = engine.store.begin().await?;
        for d in &config.discussions {
            tx.insert_discussion(&d.slug, &d.title, &d.prompt, now).await?;
            tx.set_premoderated(&d.slug, d.premoderated).await?;
        }
        for d in tx.discussions(true).await? {
            engine.ensure_threads(&mut tx, &d, now).await?;
        }
        tx.commit().await?;
        engine.prune(now).await;
        engine.wakeup.notify_waiters();
        Ok(engine)
    }

    /// The theme analyzer.
    pub fn analyzer(&self) -> &themes::Analyzer {
        &self.analyzer
    }

    /// The store (for tests and reports).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The identity keys (for tests that compute expected keys).
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Removes old dedupe records and delivered outbox rows; failures are only logged.
    async fn prune(&self, now: i64) {
        const DAY: i64 = 86_400_000;
        match self.store.prune(now, 30 * DAY, 7 * DAY).await {
            Ok((events, outbox)) if events + outbox > 0 => {
                tracing::info!(events, outbox, "pruned old inbound event ids and delivered messages")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "pruning old rows failed"),
        }
    }

    /// Handles one inbound message; errors are logged and the sender gets a plain apology.
    pub async fn handle_inbound(&self, inbound: Inbound) {
        let _serial = self.serial.lock().await;
        if self.handled.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 10_000 == 9_999 {
            self.prune(self.clock.now_ms()).await;
        }
        let platform = inbound.platform;
        match self.try_handle(&inbound).await {
            Ok(()) => {}
            Err(e) => {
                tracing::error!(%platform, error = %e, "handling an inbound message failed; nothing was stored");
                if let Err(e2) = self.apologise(&inbound).await {
                    tracing::error!(%platform, error = %e2, "could not queue the apology either");
                }
            }
        }
        self.wakeup.notify_waiters();
    }

    async fn apologise(&self, inbound: &Inbound) -> Result<()> {
        let now = self.clock.now_ms();
        let mut tx = self.store.begin().await?;
        let origin = self.origin(inbound);
        self.say(&mut tx, &origin, &replies::internal_error(), now).await?;
        tx.commit().await
    }

    fn origin(&self, inbound: &Inbound) -> Origin {
        let kind = match &inbound.conversation {
            Conversation::Direct { address } => OriginKind::Direct {
                sealed: self.identity.seal(address),
                key: self.identity.participant_key(inbound.platform, &inbound.sender.id),
            },
            Conversation::Moderators => OriginKind::Moderators,
            Conversation::Commissioners | Conversation::Public => OriginKind::Commissioners,
        };
        Origin { platform: inbound.platform, kind }
    }

    async fn try_handle(&self, inbound: &Inbound) -> Result<()> {
        let now = self.clock.now_ms();
        let mut tx = self.store.begin().await?;
        if !tx.record_inbound(inbound.platform, &inbound.event_id, now).await? {
            tracing::debug!(platform = %inbound.platform, "duplicate inbound event ignored");
            return Ok(());
        }
        let command = commands::parse(&inbound.text, &self.settings.prefix);
        let label = command_label(&command);
        match &inbound.conversation {
            Conversation::Public => {
                // The public room is for reading; posting there would not be anonymous.
                tx.commit().await?;
                return Ok(());
            }
            Conversation::Direct { .. } => self.participant_command(&mut tx, inbound, command, now).await?,
            Conversation::Moderators | Conversation::Commissioners => {
                self.staff_command(&mut tx, inbound, command, now).await?
            }
        }
        tx.commit().await?;
        tracing::info!(platform = %inbound.platform, command = label, "handled");
        Ok(())
    }

    // ----- participants -----

    async fn participant_command(&self, tx: &mut Tx, inbound: &Inbound, command: Command, now: i64) -> Result<()> {
        let origin = self.origin(inbound);
        let OriginKind::Direct { sealed, key } = &origin.kind else { return Ok(()) };
        let participant = tx.participant(key, now).await?;
        tx.save_contact(key, inbound.platform, sealed, now).await?;
        let p = &self.settings.prefix;
        self.crisis_first(tx, &origin, &command, participant.current_discussion, now).await?;
        let act = match &command {
            Command::Post { .. } | Command::Text(_) | Command::Reply { .. } => None,
            Command::Report { .. } => Some(Act::Report),
            _ => Some(Act::Command),
        };
        if let Some(act) = act {
            if let Some(refusal) = self.limit(tx, key, act, None, now).await? {
                return self.say(tx, &origin, &refusal, now).await;
            }
        }
        let reply = match command {
            Command::Help => replies::help_participant(p),
            Command::Topics => replies::topics(&tx.discussions(true).await?, p),
            Command::Join(slug) => match tx.discussion_by_slug(&slug).await? {
                None => replies::no_such_discussion(&slug, p),
                Some(d) if !d.is_open() => replies::closed(&d, p),
                Some(d) => {
                    let name = self.pseudonym_for(tx, &d, key, now).await?;
                    tx.join(key, d.id).await?;
                    let mut text = String::new();
                    if !participant.seen_notice {
                        text.push_str(&self.settings.privacy_notice);
                        text.push_str("\n\n");
                    }
                    text.push_str(&replies::joined(&d, &name, p));
                    text
                }
            },
            Command::Post { text } => {
                let open = tx.discussions(true).await?;
                let (slug, body) = commands::split_post_slug(&text, |s| open.iter().any(|d| d.slug == s));
                let discussion = match slug {
                    Some(s) => tx.discussion_by_slug(&s.to_lowercase()).await?,
                    None => self.current(tx, participant.current_discussion).await?,
                };
                match discussion {
                    Some(d) => self.post(tx, key, &d, body, None, now).await?,
                    None => replies::not_joined(p),
                }
            }
            Command::Text(text) => match self.current(tx, participant.current_discussion).await? {
                Some(d) => self.post(tx, key, &d, &text, None, now).await?,
                None => replies::text_without_discussion(p),
            },
            Command::Reply { number, text } => match self.current(tx, participant.current_discussion).await? {
                Some(d) => self.post(tx, key, &d, &text, Some(number), now).await?,
                None => replies::not_joined(p),
            },
            Command::WhoAmI => match self.current(tx, participant.current_discussion).await? {
                Some(d) => {
                    let name = self.pseudonym_for(tx, &d, key, now).await?;
                    replies::whoami(&d.slug, &name)
                }
                None => replies::not_joined(p),
            },
            Command::Forget => replies::forgotten(tx.forget(key).await?),
            Command::Report { number, reason } => match self.current(tx, participant.current_discussion).await? {
                Some(d) => self.report(tx, key, &d, number, &reason, now).await?,
                None => replies::not_joined(p),
            },
            Command::Open { .. } | Command::Close(_) | Command::Summary(_) => replies::commissioners_only(),
            Command::Queue
            | Command::Approve(_)
            | Command::Reject(..)
            | Command::Remove(..)
            | Command::Mute(..)
            | Command::Ban(_)
            | Command::Unban { .. }
            | Command::Log => replies::moderators_only(),
            Command::Usage(how) => replies::usage(how),
            Command::Unknown(word) => replies::unknown_command(&word, p),
        };
        self.say(tx, &origin, &reply, now).await
    }

    /// Crisis detection comes before everything else — rate limits, mutes, bans, validation,
    /// even having joined a discussion: whoever writes something that suggests they are in
    /// crisis gets the signposting privately, and the moderators an urgent alert.
    async fn crisis_first(
        &self,
        tx: &mut Tx,
        origin: &Origin,
        command: &Command,
        current: Option<crate::ids::DiscussionId>,
        now: i64,
    ) -> Result<()> {
        let text = match command {
            Command::Text(t) | Command::Post { text: t } | Command::Reply { text: t, .. } => t,
            Command::Report { reason, .. } => reason,
            _ => return Ok(()),
        };
        if text.trim().is_empty() {
            return Ok(());
        }
        let verdict = self.moderator.assess(text, &[]);
        let Some(crisis) = &verdict.crisis else { return Ok(()) };
        self.say(tx, origin, &replies::crisis_signposting(), now).await?;
        let place = match self.current(tx, current).await? {
            Some(d) => format!("from a participant in \"{}\"", d.slug),
            None => "from a participant".to_string(),
        };
        let alert = format!(
            "URGENT — possible crisis ({}) in a message {place}. They have been sent crisis signposting privately. \
             Text: {}",
            crisis.kind,
            render::inert(&verdict.text)
        );
        self.alert_moderators(tx, &alert, now).await
    }

    async fn current(&self, tx: &mut Tx, id: Option<crate::ids::DiscussionId>) -> Result<Option<Discussion>> {
        match id {
            Some(id) => tx.discussion(id).await,
            None => Ok(None),
        }
    }

    /// The participant's pseudonym in `d`, assigning one on first use. Collisions inside
    /// the discussion move on to the next candidate.
    async fn pseudonym_for(&self, tx: &mut Tx, d: &Discussion, key: &ParticipantKey, now: i64) -> Result<String> {
        if let Some(name) = tx.pseudonym(d.id, key).await? {
            return Ok(name);
        }
        let mut attempt = 0;
        loop {
            let name = self.identity.pseudonym(key, &d.slug, attempt);
            if tx.claim_pseudonym(d.id, &name, key, now).await? {
                return Ok(name);
            }
            attempt += 1;
        }
    }

    /// Validates, moderates and stores a post; returns the answer to its author.
    #[allow(clippy::too_many_arguments)]
    async fn post(
        &self,
        tx: &mut Tx,
        key: &ParticipantKey,
        d: &Discussion,
        text: &str,
        parent: Option<PostNumber>,
        now: i64,
    ) -> Result<String> {
        let p = &self.settings.prefix;
        if !d.is_open() {
            return Ok(replies::closed(d, p));
        }
        let sanctions = tx.sanctions(key).await?;
        if sanctions.banned {
            return Ok(replies::banned());
        }
        if sanctions.muted_until > now {
            let wait = std::time::Duration::from_millis((sanctions.muted_until - now) as u64);
            return Ok(replies::muted(&human_duration(wait)));
        }
        let act = if parent.is_some() { Act::Reply } else { Act::Post };
        let slow = self.settings.slow_mode.get(&d.slug).map(|secs| (d.id, *secs));
        if let Some(refusal) = self.limit(tx, key, act, slow, now).await? {
            return Ok(refusal);
        }
        let text = text.trim();
        if text.is_empty() {
            return Ok(replies::empty_post());
        }
        let len = text.chars().count();
        if len > self.settings.max_post_chars {
            return Ok(replies::too_long(len, self.settings.max_post_chars));
        }
        let parent_post = match parent {
            None => None,
            Some(n) => match tx.post_by_number(d.id, n).await? {
                Some(post) if post.status == PostStatus::Published => Some(post),
                _ => return Ok(replies::no_such_post(n, &d.slug)),
            },
        };
        // The author of a crisis post was signposted already (see `crisis_first`); here the
        // post itself is never rejected.
        let recent = tx.recent_bodies(key, 5).await?;
        let verdict = self.moderator.assess(text, &recent);
        let premoderated = tx.premoderated(d.id).await?;
        let action = match verdict.action {
            moderation::Action::Reject if verdict.crisis.is_some() => moderation::Action::Hold,
            moderation::Action::Publish | moderation::Action::PublishRedacted if premoderated => {
                moderation::Action::Hold
            }
            other => other,
        };
        let redacted = verdict.reasons.iter().any(|r| r.code.starts_with("personal_data."));
        let (status, answer_kind) = match action {
            moderation::Action::Publish | moderation::Action::PublishRedacted => {
                (PostStatus::Published, redacted.then(|| redaction_summary(&verdict)))
            }
            moderation::Action::Hold => (PostStatus::Held, None),
            moderation::Action::Reject => {
                let why = verdict
                    .reasons
                    .first()
                    .map(|r| r.explanation.clone())
                    .unwrap_or_else(|| "it breaks the discussion rules".into());
                return Ok(replies::refused(&why));
            }
        };
        let name = self.pseudonym_for(tx, d, key, now).await?;
        let number = tx.next_post_number(d.id).await?;
        let body = verdict.text.as_str();
        let analysis = self.analyzer.analyse(body);
        let post_id = tx
            .insert_post(&NewPost {
                discussion: d.id,
                number,
                participant: key,
                pseudonym: &name,
                parent,
                body,
                status,
                created_at: now,
                themes: &analysis.themes.join(","),
                sentiment: (analysis.sentiment.score * 100.0).round() as i64,
            })
            .await?;
        let mut explanations: Vec<&str> = Vec::new();
        for r in &verdict.reasons {
            if !explanations.contains(&r.explanation.as_str()) {
                explanations.push(&r.explanation);
            }
        }
        let reasons = explanations.join(" ");
        if !reasons.is_empty() {
            tx.set_post_reasons(post_id, &reasons).await?;
        }
        if status == PostStatus::Held {
            let why = if premoderated && verdict.action != moderation::Action::Hold {
                "this discussion is pre-moderated".to_string()
            } else if reasons.is_empty() {
                "held by the filters".to_string()
            } else {
                reasons.clone()
            };
            let alert = format!(
                "Held for review: {}#{} by {name}: {}\nWhy: {why}\nUse !approve {}#{} or !reject {}#{} REASON.",
                d.slug,
                number.0,
                render::inert(body),
                d.slug,
                number.0,
                d.slug,
                number.0
            );
            self.alert_moderators(tx, &alert, now).await?;
            let mut answer = replies::held(&d.slug);
            if let Some(what) = redacted.then(|| redaction_summary(&verdict)) {
                answer.push_str(&format!(" To protect you, we removed {what} before it was stored."));
            }
            return Ok(answer);
        }
        self.publish(tx, d, post_id, number, &name, parent, parent_post.as_ref().map(|p| p.id), body, now).await?;
        Ok(match answer_kind {
            None => replies::posted(number, &d.slug, &name),
            Some(what) => replies::posted_redacted(number, &d.slug, &name, &what),
        })
    }

    /// Queues a post into every mirror.
    #[allow(clippy::too_many_arguments)]
    async fn publish(
        &self,
        tx: &mut Tx,
        d: &Discussion,
        post_id: crate::ids::PostId,
        number: PostNumber,
        name: &str,
        parent: Option<PostNumber>,
        parent_id: Option<crate::ids::PostId>,
        body: &str,
        now: i64,
    ) -> Result<()> {
        let public = thread_line(number, name, parent, body);
        self.to_every_platform(tx, |platform| NewOutbox {
            platform,
            dest: OutboxDest::Thread(d.id),
            action: OutboxAction::Send,
            body: &public,
            post: Some(post_id),
            reply_to: parent_id,
            now,
        })
        .await?;
        Ok(())
    }

    /// Checks a rate limit; returns the refusal to send, if any. A flood mutes the
    /// participant and alerts the moderators.
    async fn limit(
        &self,
        tx: &mut Tx,
        key: &ParticipantKey,
        act: Act,
        slow: Option<(crate::ids::DiscussionId, u64)>,
        now: i64,
    ) -> Result<Option<String>> {
        match self.limits.check(key, act, slow) {
            Check::Allowed => Ok(None),
            Check::Wait(wait) => Ok(Some(replies::slow_down(&human_duration(wait)))),
            Check::Flood(mute) => {
                let mut s = tx.sanctions(key).await?;
                s.muted_until = s.muted_until.max(now + mute.as_millis() as i64);
                tx.set_sanctions(key, s, "(automatic flood mute)", now).await?;
                let audit = AuditEntry {
                    at: now,
                    actor: "parley".into(),
                    action: format!("mute {}", human_duration(mute)),
                    target: "a participant (flooding)".into(),
                    reason: "too many messages in a short time".into(),
                };
                tx.audit(&audit).await?;
                self.alert_moderators(
                    tx,
                    &format!(
                        "A participant sent a flood of messages and was muted automatically for {}. No posts were published from the flood.",
                        human_duration(mute)
                    ),
                    now,
                )
                .await?;
                Ok(Some(replies::flood_muted(&human_duration(mute))))
            }
        }
    }

    /// Queues the message `make` builds once for each platform with a public room.
    async fn to_every_platform<'a>(&self, tx: &mut Tx, make: impl Fn(chat::Platform) -> NewOutbox<'a>) -> Result<()> {
        for &platform in &self.platforms {
            tx.enqueue(&make(platform)).await?;
        }
        Ok(())
    }

    /// Queues a message to the moderators' room on every platform.
    async fn alert_moderators(&self, tx: &mut Tx, text: &str, now: i64) -> Result<()> {
        self.to_every_platform(tx, |platform| NewOutbox::message(platform, OutboxDest::Moderators, text, now)).await?;
        Ok(())
    }

    /// Writes to a participant through every platform they can be reached on.
    async fn notify_participant(&self, tx: &mut Tx, key: &ParticipantKey, text: &str, now: i64) -> Result<()> {
        for platform in chat::Platform::ALL {
            if let Some(sealed) = tx.contact(key, platform).await? {
                tx.enqueue(&NewOutbox::message(platform, OutboxDest::Direct { sealed_address: &sealed }, text, now))
                    .await?;
            }
        }
        Ok(())
    }

    /// `!report #N REASON`: hides the post once enough distinct participants report it.
    async fn report(
        &self,
        tx: &mut Tx,
        key: &ParticipantKey,
        d: &Discussion,
        number: PostNumber,
        reason: &str,
        now: i64,
    ) -> Result<String> {
        let post = match tx.post_by_number(d.id, number).await? {
            Some(post) if matches!(post.status, PostStatus::Published | PostStatus::Hidden) => post,
            _ => return Ok(replies::no_such_post(number, &d.slug).replace("to reply to", "to report")),
        };
        let reason: String = reason.chars().take(300).collect();
        let (added, count) = tx.add_report(post.id, key, &reason, now).await?;
        if !added {
            return Ok(replies::already_reported(number));
        }
        let mut alert = format!(
            "Report on {}#{} ({} of {} needed to hide it): {}\nPost: {}",
            d.slug,
            number.0,
            count,
            self.settings.report_threshold,
            render::inert(&reason),
            render::inert(&post.body)
        );
        if post.status == PostStatus::Published && count >= self.settings.report_threshold {
            self.take_down(tx, &post, now).await?;
            tx.set_post_status(post.id, PostStatus::Hidden).await?;
            tx.audit(&AuditEntry {
                at: now,
                actor: "parley".into(),
                action: "hide".into(),
                target: format!("{}#{}", d.slug, number.0),
                reason: format!("{count} distinct reports"),
            })
            .await?;
            alert.push_str(&format!(
                "\nIt is now hidden from every mirror pending review: !approve {}#{} to restore it, or !remove {}#{} REASON.",
                d.slug, number.0, d.slug, number.0
            ));
        }
        self.alert_moderators(tx, &alert, now).await?;
        Ok(replies::reported(number, &d.slug))
    }

    /// Takes a post off every mirror: pending publications are cancelled, delivered ones removed.
    async fn take_down(&self, tx: &mut Tx, post: &crate::store::Post, now: i64) -> Result<()> {
        tx.cancel_pending_sends(post.id, now).await?;
        self.to_every_platform(tx, |platform| NewOutbox {
            platform,
            dest: OutboxDest::Thread(post.discussion),
            action: OutboxAction::Remove,
            body: "",
            post: Some(post.id),
            reply_to: None,
            now,
        })
        .await?;
        Ok(())
    }

    // ----- staff -----

    async fn staff_command(&self, tx: &mut Tx, inbound: &Inbound, command: Command, now: i64) -> Result<()> {
        let origin = self.origin(inbound);
        let in_commissioners = matches!(inbound.conversation, Conversation::Commissioners);
        let is_commissioner = in_commissioners && inbound.sender.roles.commissioner;
        let is_moderator = matches!(inbound.conversation, Conversation::Moderators) && inbound.sender.roles.moderator;
        let actor =
            format!("moderator {}", &self.identity.participant_key(inbound.platform, &inbound.sender.id).0[..6]);
        let p = &self.settings.prefix;
        let reply = match command {
            // Staff rooms are for people talking among themselves too.
            Command::Text(_) => return Ok(()),
            Command::Help if in_commissioners => replies::help_commissioner(p),
            Command::Help if is_moderator => replies::help_moderator_full(p),
            Command::Help => replies::help_moderator(p),
            Command::Queue
            | Command::Approve(_)
            | Command::Reject(..)
            | Command::Remove(..)
            | Command::Mute(..)
            | Command::Ban(_)
            | Command::Unban { .. }
            | Command::Log
                if !is_moderator =>
            {
                replies::moderators_only()
            }
            Command::Queue => self.queue(tx).await?,
            Command::Log => self.log(tx).await?,
            Command::Approve(r) => self.approve(tx, &actor, &r, now).await?,
            Command::Reject(r, why) => self.reject(tx, &actor, &r, &why, now).await?,
            Command::Remove(r, why) => self.remove(tx, &actor, &r, &why, now).await?,
            Command::Mute(r, how_long) => self.mute(tx, &actor, &r, &how_long, now).await?,
            Command::Ban(r) => self.ban(tx, &actor, &r, now).await?,
            Command::Unban { name, slug } => self.unban(tx, &actor, &name, &slug, now).await?,
            Command::Topics => replies::topics(&tx.discussions(true).await?, p),
            Command::Open { .. } | Command::Close(_) | Command::Summary(_) if !is_commissioner => {
                replies::commissioners_only()
            }
            Command::Summary(slug) => match tx.discussion_by_slug(&slug).await? {
                None => replies::no_such_discussion(&slug, p),
                Some(d) => {
                    crate::report::discussion_summary(tx, &self.analyzer, &d, self.small_numbers).await?.to_chat()
                }
            },
            Command::Open { slug, title, prompt } => self.open(tx, &slug, &title, prompt.as_deref(), now).await?,
            Command::Close(slug) => self.close(tx, &slug, now).await?,
            Command::Usage(how) => replies::usage(how),
            Command::Unknown(word) => replies::unknown_command(&word, p),
            Command::Join(_)
            | Command::Post { .. }
            | Command::Reply { .. }
            | Command::WhoAmI
            | Command::Report { .. }
            | Command::Forget => replies::use_a_dm(),
        };
        self.say(tx, &origin, &reply, now).await
    }

    async fn open(&self, tx: &mut Tx, slug: &str, title: &str, prompt: Option<&str>, now: i64) -> Result<String> {
        if let Err(why) = check_slug(slug) {
            return Ok(format!("\"{slug}\" can't be used as a slug: {why}."));
        }
        let prompt = prompt.map(str::to_string).unwrap_or_else(|| format!("Share your views on: {title}"));
        let d = match tx.discussion_by_slug(slug).await? {
            Some(d) if d.is_open() => return Ok(format!("\"{slug}\" is already open.")),
            Some(d) => {
                tx.set_discussion_status(d.id, DiscussionStatus::Open).await?;
                tx.set_discussion_text(d.id, title, &prompt).await?;
                Discussion { status: DiscussionStatus::Open, title: title.into(), prompt: prompt.clone(), ..d }
            }
            None => match tx.insert_discussion(slug, title, &prompt, now).await? {
                Some(d) => d,
                None => return Ok(format!("\"{slug}\" is already open.")),
            },
        };
        self.ensure_threads(tx, &d, now).await?;
        Ok(format!("Opened \"{}\": {}. Participants can now send !join {}.", d.slug, d.title, d.slug))
    }

    async fn close(&self, tx: &mut Tx, slug: &str, now: i64) -> Result<String> {
        let p = &self.settings.prefix;
        let Some(d) = tx.discussion_by_slug(slug).await? else {
            return Ok(replies::no_such_discussion(slug, p));
        };
        if !d.is_open() {
            return Ok(format!("\"{slug}\" is already closed."));
        }
        tx.set_discussion_status(d.id, DiscussionStatus::Closed).await?;
        let note = replies::thread_closed();
        self.to_every_platform(tx, |platform| NewOutbox::message(platform, OutboxDest::Thread(d.id), &note, now))
            .await?;
        Ok(format!("Closed \"{slug}\". It no longer takes posts; everything said stays available for summaries."))
    }

    /// Queues the thread root of `d` on every platform that has none yet.
    async fn ensure_threads(&self, tx: &mut Tx, d: &Discussion, now: i64) -> Result<()> {
        let root = replies::thread_root(d, &self.settings.prefix);
        for &platform in &self.platforms {
            if !tx.thread_requested(d.id, platform).await? {
                let open = NewOutbox {
                    action: OutboxAction::OpenThread,
                    ..NewOutbox::message(platform, OutboxDest::Thread(d.id), &root, now)
                };
                tx.enqueue(&open).await?;
            }
        }
        Ok(())
    }

    /// Queues `text` back to where the inbound message came from.
    async fn say(&self, tx: &mut Tx, origin: &Origin, text: &str, now: i64) -> Result<()> {
        let dest = match &origin.kind {
            OriginKind::Direct { sealed, .. } => OutboxDest::Direct { sealed_address: sealed },
            OriginKind::Moderators => OutboxDest::Moderators,
            OriginKind::Commissioners => OutboxDest::Commissioners,
        };
        tx.enqueue(&NewOutbox::message(origin.platform, dest, text, now)).await?;
        Ok(())
    }
}

/// How a published post reads in its thread.
pub fn thread_line(number: PostNumber, pseudonym: &str, parent: Option<PostNumber>, body: &str) -> String {
    let body = render::inert(body);
    match parent {
        Some(parent) => format!("{number} {pseudonym}, replying to {parent}: {body}"),
        None => format!("{number} {pseudonym}: {body}"),
    }
}

fn redaction_summary(verdict: &moderation::Verdict) -> String {
    let mut kinds: Vec<&str> = verdict
        .reasons
        .iter()
        .filter_map(|r| r.code.strip_prefix("personal_data."))
        .map(|k| match k {
            "nhs_number" => "an NHS number",
            "phone" => "a phone number",
            "email" => "an email address",
            "postcode" => "a postcode",
            "date_of_birth" => "a date of birth",
            _ => "personal details",
        })
        .collect();
    kinds.dedup();
    match kinds.len() {
        0 => "personal details".into(),
        1 => kinds[0].into(),
        _ => {
            let last = kinds.pop().unwrap_or("personal details");
            format!("{} and {last}", kinds.join(", "))
        }
    }
}

fn command_label(c: &Command) -> &'static str {
    match c {
        Command::Help => "help",
        Command::Topics => "topics",
        Command::Join(_) => "join",
        Command::Post { .. } => "post",
        Command::Reply { .. } => "reply",
        Command::WhoAmI => "whoami",
        Command::Forget => "forget",
        Command::Open { .. } => "open",
        Command::Close(_) => "close",
        Command::Summary(_) => "summary",
        Command::Usage(_) => "usage",
        Command::Report { .. } => "report",
        Command::Queue => "queue",
        Command::Approve(_) => "approve",
        Command::Reject(..) => "reject",
        Command::Remove(..) => "remove",
        Command::Mute(..) => "mute",
        Command::Ban(_) => "ban",
        Command::Unban { .. } => "unban",
        Command::Log => "log",
        Command::Unknown(_) => "unknown",
        Command::Text(_) => "text",
    }
}
