//! Participant commands, from a direct message: join, post, reply, report, whoami, forget.
//! Crisis detection and rate limits come first, for every message a participant sends.

use super::commands::{Command, ParticipantCommand};
use super::context::Ctx;
use super::replies::{Alert, Purpose, Refusal, Reply};
use super::Engine;
use crate::error::Result;
use crate::ids::{DiscussionId, ParticipantKey, PostNumber};
use crate::limits::{human_duration, Act, Check};
use crate::store::{AuditEntry, Discussion, Participant, PostStatus};

/// What the engine knows of the sender before running a participant's command.
pub(super) struct Prelude {
    /// The sender as stored.
    pub participant: Participant,
    /// Set when a rate limit refuses the message.
    pub refusal: Option<Refusal>,
}

impl Engine {
    /// Every direct message from `address`: the participant row, their sealed address
    /// (stored when it changed), crisis detection, then the command's rate limit.
    pub(super) async fn participant_prelude(
        &self,
        cx: &mut Ctx,
        key: &ParticipantKey,
        (address, sealed): (&str, &str),
        command: &Command,
    ) -> Result<Prelude> {
        let (participant, stored, saved) =
            cx.tx.participant_sealed(key, cx.origin.platform, cx.now, Some(sealed)).await?;
        // Sealed afresh for every message (a random nonce), an unchanged address would be
        // a new value written each time: it is written only when it changed (or with the
        // participant's new row).
        let unchanged = saved || stored.is_some_and(|stored| self.opened.opens_to(&self.identity, &stored, address));
        if !unchanged {
            cx.tx.save_contact(key, cx.origin.platform, sealed, cx.now).await?;
        }
        self.crisis_first(cx, key, command, participant.current_discussion).await?;
        let refusal = match command.rate_class() {
            // Plain text while a survey is in progress answers it: limited as a command.
            Some(Act::Post)
                if matches!(command, Command::Participant(ParticipantCommand::Text(_))) && {
                    let active = self.active_survey(cx, key).await?;
                    let in_progress = active.is_some();
                    // The text handler needs it next: looked up once.
                    cx.active_survey = Some(active);
                    in_progress
                } =>
            {
                self.limit(cx, key, Act::Command).await?
            }
            Some(act) => self.limit(cx, key, act).await?,
            None => None,
        };
        Ok(Prelude { participant, refusal })
    }

    /// The sender's survey in progress, looked up once per message.
    async fn survey_in_progress(&self, cx: &mut Ctx, key: &ParticipantKey) -> Result<Option<crate::store::Invitation>> {
        match cx.active_survey.take() {
            Some(known) => Ok(known),
            None => self.active_survey(cx, key).await,
        }
    }

    /// A participant command from a DM.
    pub(super) async fn participant(
        &self,
        cx: &mut Ctx,
        me: &Participant,
        command: ParticipantCommand,
    ) -> Result<Reply> {
        let key = &me.key;
        Ok(match command {
            ParticipantCommand::Join(slug) => match cx.tx.discussion_by_slug(&slug).await? {
                None => Refusal::NoSuchDiscussion(slug).into(),
                Some(d) if !d.is_open() => Refusal::Closed(d.slug).into(),
                Some(d) => {
                    let own = || self.identity.pseudonym(key, &d.slug, 0);
                    let pseudonym = match cx.tx.join_named(key, d.id, own, cx.now).await? {
                        Some(name) => name,
                        None => {
                            let name = self.random_pseudonym(cx, &d, key).await?;
                            cx.tx.join(key, d.id).await?;
                            name
                        }
                    };
                    let joined = Reply::Joined { discussion: d.clone(), pseudonym, notice: !me.seen_notice };
                    self.after_join(cx, key, &d, joined).await?
                }
            },
            ParticipantCommand::Post { text } => {
                // Any discussion's slug counts, so that a post meant for a closed one is
                // refused rather than published somewhere else.
                let known = cx.tx.discussions(false).await?;
                let (slug, body) = super::commands::split_post_slug(&text, |s| known.iter().any(|d| d.slug == s));
                let discussion = match slug {
                    Some(s) => {
                        let d = cx.tx.discussion_by_slug(&s.to_lowercase()).await?;
                        // `!post SLUG` makes SLUG the current discussion, as `!join` does.
                        if let Some(d) = d.as_ref().filter(|d| d.is_open()) {
                            self.notice_first(cx, me).await?;
                            cx.tx.join(key, d.id).await?;
                        }
                        d
                    }
                    None => self.current(cx, me.current_discussion).await?,
                };
                match discussion {
                    Some(d) => {
                        let posted = self.post(cx, key, &d, body, None).await?;
                        self.after_post(cx, key, &d, posted).await?
                    }
                    None => Refusal::NotJoined.into(),
                }
            }
            // While a survey is in progress, plain text answers its question.
            ParticipantCommand::Text(text) => match self.survey_in_progress(cx, key).await? {
                Some(survey) => self.survey_answer(cx, key, &survey, &text).await?,
                None => match self.current(cx, me.current_discussion).await? {
                    Some(d) => {
                        let posted = self.post(cx, key, &d, &text, None).await?;
                        self.after_post(cx, key, &d, posted).await?
                    }
                    None => Reply::TextWithoutDiscussion,
                },
            },
            ParticipantCommand::Survey(action) => self.survey_command(cx, key, action).await?,
            ParticipantCommand::Stop => self.set_prompts(cx, key, true).await?,
            ParticipantCommand::Start => self.set_prompts(cx, key, false).await?,
            ParticipantCommand::Reply { number, text } => match self.current(cx, me.current_discussion).await? {
                Some(d) => self.post(cx, key, &d, &text, Some(number)).await?.into(),
                None => Refusal::NotJoined.into(),
            },
            ParticipantCommand::WhoAmI => match self.current(cx, me.current_discussion).await? {
                Some(d) => {
                    let pseudonym = self.pseudonym_for(cx, &d, key).await?;
                    Reply::WhoAmI { slug: d.slug, pseudonym }
                }
                None => Refusal::NotJoined.into(),
            },
            ParticipantCommand::Forget => {
                let detached = cx.tx.forget(key).await?;
                self.limits.forget(&mut cx.tx, key).await?;
                Reply::Forgotten(detached)
            }
            ParticipantCommand::Report { number, reason } => match self.current(cx, me.current_discussion).await? {
                Some(d) => self.report(cx, key, &d, number, &reason).await?,
                None => Refusal::NotJoined.into(),
            },
        })
    }

    /// The privacy notice, before anything else, to a participant who has not seen it.
    async fn notice_first(&self, cx: &mut Ctx, me: &Participant) -> Result<()> {
        if me.seen_notice {
            return Ok(());
        }
        self.say(cx, &Reply::PrivacyNotice).await
    }

    /// Crisis detection comes before everything else — rate limits, mutes, bans, validation,
    /// even having joined a discussion: whoever writes something that suggests they are in
    /// crisis gets the signposting privately, and the moderators an urgent alert.
    pub(super) async fn crisis_first(
        &self,
        cx: &mut Ctx,
        key: &ParticipantKey,
        command: &Command,
        current: Option<DiscussionId>,
    ) -> Result<()> {
        let Some(text) = command.participant_text() else { return Ok(()) };
        if text.trim().is_empty() {
            return Ok(());
        }
        let verdict = match cx.ahead.reading(text) {
            Some(read) => read.verdict,
            None => self.moderator.assess(text, &[]),
        };
        let Some(crisis) = &verdict.crisis else { return Ok(()) };
        self.say(cx, &Reply::CrisisSignposting).await?;
        // One urgent alert, then at most one every few minutes with a count, however many
        // messages come: moderators must not be flooded, nor miss that it goes on.
        let (due, undo) = self.crisis_alerts.due(key, cx.now);
        cx.crisis_counted.push(undo);
        let Some(earlier) = due else { return Ok(()) };
        let slug = self.current(cx, current).await?.map(|d| d.slug);
        let alert = Alert::Crisis { kind: crisis.kind.to_string(), slug, text: verdict.text.clone(), earlier };
        self.alert(cx, &alert).await
    }

    pub(super) async fn current(&self, cx: &mut Ctx, id: Option<DiscussionId>) -> Result<Option<Discussion>> {
        match id {
            Some(id) => cx.tx.discussion(id).await,
            None => Ok(None),
        }
    }

    /// The participant's pseudonym in `d`, assigning one on first use: their own derived
    /// name, or when that is taken, random candidates (never a numbered sequence that would
    /// link one person's successive names).
    pub(super) async fn pseudonym_for(&self, cx: &mut Ctx, d: &Discussion, key: &ParticipantKey) -> Result<String> {
        let own = || self.identity.pseudonym(key, &d.slug, 0);
        if let Some(name) = cx.tx.pseudonym_or_claim(d.id, key, own, cx.now).await? {
            return Ok(name);
        }
        self.random_pseudonym(cx, d, key).await
    }

    /// A random pseudonym claimed for the participant in `d`, whose own derived name is
    /// someone else's.
    async fn random_pseudonym(&self, cx: &mut Ctx, d: &Discussion, key: &ParticipantKey) -> Result<String> {
        let mut tries = 0;
        loop {
            let name = self.identity.random_pseudonym(tries);
            if cx.tx.claim_pseudonym(d.id, &name, key, cx.now).await? {
                return Ok(name);
            }
            tries += 1;
        }
    }

    /// Checks a rate limit; returns the refusal to send, if any.
    pub(super) async fn limit(&self, cx: &mut Ctx, key: &ParticipantKey, act: Act) -> Result<Option<Refusal>> {
        let check = self.charge(cx, key, Some(act), None).await?;
        self.refuse(cx, key, check).await
    }

    /// Checks and uses up `act` (when given) and the discussion's slow mode (when given).
    /// Limits kept in memory are charged once per message, however often it is handled
    /// ([`Charges`](super::context::Charges)); limits kept in the database were rolled back
    /// with a failed try, and are checked again.
    pub(super) async fn charge(
        &self,
        cx: &mut Ctx,
        key: &ParticipantKey,
        act: Option<Act>,
        slow: Option<(DiscussionId, u64)>,
    ) -> Result<Check> {
        let in_memory = !self.limits.is_shared();
        if in_memory {
            if let Some(check) = cx.charges.replay((act, slow)) {
                return Ok(check);
            }
        }
        let check = match (act, slow) {
            (Some(act), slow) => self.limits.check(&mut cx.tx, key, act, slow).await?,
            (None, Some(slow)) => self.limits.check_slow(&mut cx.tx, key, slow).await?,
            (None, None) => Check::Allowed,
        };
        if in_memory {
            cx.charges.record((act, slow), check);
        }
        Ok(check)
    }

    /// The refusal for a limit check, if any. A flood mutes the participant and alerts the
    /// moderators.
    pub(super) async fn refuse(&self, cx: &mut Ctx, key: &ParticipantKey, check: Check) -> Result<Option<Refusal>> {
        match check {
            Check::Allowed => Ok(None),
            Check::Wait(wait) => Ok(Some(Refusal::SlowDown(wait))),
            Check::Flood(mute) => {
                let now = cx.now;
                let until = now + mute.as_millis() as i64;
                let mut s = cx.tx.sanctions(key).await?;
                if s.muted_until > now {
                    // Muted already (by an earlier flood or a moderator), and the moderators
                    // know: a flooder who keeps going stays muted for the flood mute's length
                    // from now, without another alert or audit entry each time the flood
                    // count fills again.
                    if s.muted_until < until {
                        s.muted_until = until;
                        cx.tx.set_sanctions(key, s, "(automatic flood mute)", now).await?;
                    }
                    let wait = std::time::Duration::from_millis((s.muted_until - now) as u64);
                    return Ok(Some(Refusal::FloodMuted(wait)));
                }
                s.muted_until = until;
                cx.tx.set_sanctions(key, s, "(automatic flood mute)", now).await?;
                let audit = AuditEntry {
                    at: now,
                    actor: "parley".into(),
                    action: format!("mute {}", human_duration(mute)),
                    target: "a participant (flooding)".into(),
                    reason: "too many messages in a short time".into(),
                };
                cx.tx.audit(&audit).await?;
                self.alert(cx, &Alert::Flood(mute)).await?;
                Ok(Some(Refusal::FloodMuted(mute)))
            }
        }
    }

    /// `!report #N REASON`: hides the post once enough distinct participants report it.
    async fn report(
        &self,
        cx: &mut Ctx,
        key: &ParticipantKey,
        d: &Discussion,
        number: PostNumber,
        reason: &str,
    ) -> Result<Reply> {
        let post = match cx.tx.post_by_number(d.id, number).await? {
            Some(post) if matches!(post.status, PostStatus::Published | PostStatus::Hidden) => post,
            _ => return Ok(Refusal::NoSuchPost { number, slug: d.slug.clone(), purpose: Purpose::Report }.into()),
        };
        // A reason is participant text like any other: personal data is redacted before it
        // is stored or shown to moderators.
        let redacted = self.moderator.assess(reason, &[]).text;
        let reason: String = redacted.chars().take(300).collect();
        // Everyone may report, but an author's report of their own post, or a banned
        // participant's, does not count towards hiding it.
        let counts = post.participant.as_ref() != Some(key) && !cx.tx.sanctions(key).await?.banned;
        let (added, count) = cx.tx.add_report(post.id, key, &reason, counts, cx.now).await?;
        if !added {
            return Ok(Refusal::AlreadyReported(number).into());
        }
        let threshold = self.settings.report_threshold;
        let hidden = post.status == PostStatus::Published && count >= threshold;
        if hidden {
            self.take_down(cx, &post).await?;
            cx.tx.set_post_status(post.id, PostStatus::Hidden).await?;
            cx.tx
                .audit(&AuditEntry {
                    at: cx.now,
                    actor: "parley".into(),
                    action: "hide".into(),
                    target: format!("{}#{}", d.slug, number.0),
                    reason: format!("{count} distinct reports"),
                })
                .await?;
        }
        let alert =
            Alert::Report { slug: d.slug.clone(), number, count, threshold, reason, body: post.body.clone(), hidden };
        self.alert(cx, &alert).await?;
        Ok(Reply::Reported { number, slug: d.slug.clone() })
    }
}

/// When each participant's crisis messages were last alerted, so that repeated messages
/// give one alert and then a count instead of a flood. Kept in memory: bounded, and a
/// restart at worst sends one more alert.
#[derive(Debug, Default)]
pub(super) struct CrisisAlerts {
    seen: std::sync::Mutex<std::collections::HashMap<ParticipantKey, (i64, u32)>>,
}

impl CrisisAlerts {
    /// Follow-up alerts come at most this often per participant.
    const EVERY_MS: i64 = 10 * 60_000;
    /// Entries kept at most before old ones are dropped.
    const MAX_ENTRIES: usize = 10_000;

    /// `Some(n)` when an alert is due now, `n` being the messages not alerted since the
    /// last one; `None` when this message only adds to the count. The second value puts
    /// the count back as it was ([`CrisisAlerts::undo`]) when the message is not stored
    /// after all, so that the alert it allowed, rolled back with it, is not lost.
    pub(super) fn due(&self, key: &ParticipantKey, now: i64) -> (Option<u32>, CrisisUndo) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() >= Self::MAX_ENTRIES {
            seen.retain(|_, (at, _)| now - *at < Self::EVERY_MS);
        }
        let undo = CrisisUndo { key: key.clone(), before: seen.get(key).copied() };
        let due = match seen.get_mut(key) {
            Some((at, skipped)) if now - *at < Self::EVERY_MS => {
                *skipped += 1;
                None
            }
            Some((at, skipped)) => {
                let earlier = *skipped;
                *at = now;
                *skipped = 0;
                Some(earlier)
            }
            None => {
                seen.insert(key.clone(), (now, 0));
                Some(0)
            }
        };
        (due, undo)
    }

    /// Puts back what [`CrisisAlerts::due`] changed, latest first.
    pub(super) fn undo(&self, undo: Vec<CrisisUndo>) {
        if undo.is_empty() {
            return;
        }
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        for CrisisUndo { key, before } in undo.into_iter().rev() {
            match before {
                Some(entry) => seen.insert(key, entry),
                None => seen.remove(&key),
            };
        }
    }
}

/// What one [`CrisisAlerts::due`] changed.
#[derive(Debug)]
pub(super) struct CrisisUndo {
    key: ParticipantKey,
    before: Option<(i64, u32)>,
}
