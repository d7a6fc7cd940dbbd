//! Surveys and engagement: invitations and answers (against the participant key only),
//! opt-outs, push jobs worked through in batches, and the organisation's own messages.

use super::db::{query, IntoArg};

use super::Tx;
use crate::error::Result;
use crate::ids::{DiscussionId, ParticipantKey};
use crate::surveys::{Funnel, StoredAnswer};

/// A participant's invitation to a survey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// The survey.
    pub survey_id: String,
    /// The discussion it came through.
    pub discussion: DiscussionId,
    /// Started (`!survey`).
    pub started: bool,
    /// Abandoned (`!survey stop`).
    pub stopped: bool,
    /// Every question answered or skipped.
    pub completed: bool,
    /// The next question to ask.
    pub next_question: usize,
}

/// What a push sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushKind {
    /// Survey invitations.
    Survey(String),
    /// A "you said, we did" update (its text).
    Update(String),
}

/// A push being worked through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushJob {
    /// Row id.
    pub id: i64,
    /// What it sends.
    pub kind: PushKind,
    /// To whom: the participants of this discussion.
    pub discussion: DiscussionId,
    /// The last participant key done.
    pub cursor: String,
    /// When the next message may be scheduled (pacing).
    pub next_slot: i64,
    /// Messages queued so far.
    pub sent: i64,
}

/// A message the organisation sent into a discussion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgMessage {
    /// `update` or `respond`.
    pub kind: String,
    /// The post answered, for `respond`.
    pub post_number: Option<i64>,
    /// The text.
    pub body: String,
    /// Theme ids of the text, comma-separated.
    pub themes: String,
    /// When.
    pub created_at: i64,
}

const INVITATION_COLUMNS: &str = "survey_id, discussion_id, started_at, stopped_at, completed_at, next_question";

fn invitation(r: &super::db::DbRow) -> Result<Invitation> {
    Ok(Invitation {
        survey_id: r.try_get("survey_id")?,
        discussion: DiscussionId(r.try_get("discussion_id")?),
        started: r.try_get::<Option<i64>, _>("started_at")?.is_some(),
        stopped: r.try_get::<Option<i64>, _>("stopped_at")?.is_some(),
        completed: r.try_get::<Option<i64>, _>("completed_at")?.is_some(),
        next_question: r.try_get::<i64, _>("next_question")?.max(0) as usize,
    })
}

impl Tx {
    // ----- opt-outs -----

    /// `!stop` (true) or `!start` (false).
    pub async fn set_opted_out(&mut self, key: &ParticipantKey, opted_out: bool) -> Result<()> {
        self.known.opted_out = None;
        query("UPDATE participants SET opted_out = $1 WHERE key = $2")
            .bind(i64::from(opted_out))
            .bind(&key.0)
            .execute(&mut self.conn)
            .await?;
        Ok(())
    }

    /// Whether the participant said `!stop` (unknown participants have not).
    pub async fn opted_out(&mut self, key: &ParticipantKey) -> Result<bool> {
        if let Some(known) = self.known.opted_out(key) {
            return Ok(known);
        }
        let row = query("SELECT opted_out FROM participants WHERE key = $1")
            .bind(&key.0)
            .fetch_optional(&mut self.conn)
            .await?;
        Ok(row.map(|r| r.try_get::<i64, _>(0)).transpose()?.unwrap_or(0) != 0)
    }

    /// Whether the post `key` has just stored in `discussion` (in this message) is their
    /// first there: known from the participant read on PostgreSQL, counted otherwise.
    pub async fn first_post_in(&mut self, discussion: DiscussionId, key: &ParticipantKey) -> Result<bool> {
        if let Some(before) = self.known.posted_before(discussion, key) {
            return Ok(!before);
        }
        Ok(self.count_posts_in(discussion, key).await? == 1)
    }

    /// How many posts a participant made in a discussion (1 right after their first).
    pub async fn count_posts_in(&mut self, discussion: DiscussionId, key: &ParticipantKey) -> Result<i64> {
        let row = query("SELECT COUNT(*) FROM posts WHERE discussion_id = $1 AND participant_key = $2")
            .bind(discussion.0)
            .bind(&key.0)
            .fetch_one(&mut self.conn)
            .await?;
        row.try_get::<i64, _>(0)
    }

    // ----- invitations -----

    /// Invites a participant; `false` when they were invited to this survey before.
    pub async fn invite(
        &mut self,
        survey: &str,
        key: &ParticipantKey,
        discussion: DiscussionId,
        via: &str,
        now: i64,
    ) -> Result<bool> {
        // On PostgreSQL, when the participant's invitations were read in this message (with
        // their row, as its sender): the answer is known, and the row is queued with the
        // message's others, not a round trip of its own. What was read is what is stored:
        // every write of invitations in the transaction forgets it, and every write
        // transaction (a push's too) holds the fleet's lock.
        if self.conn.is_postgres() {
            if let Some(mut list) = self.known.invitations(key) {
                if list.iter().any(|i| i.survey_id == survey) {
                    return Ok(false);
                }
                let args = vec![
                    survey.to_string().into_arg(),
                    key.0.clone().into_arg(),
                    discussion.0.into_arg(),
                    via.to_string().into_arg(),
                    now.into_arg(),
                ];
                self.conn
                    .insert_later(
                        "INSERT INTO survey_invitations (survey_id, participant_key, discussion_id, via, invited_at) \
                         VALUES ",
                        "($1, $2, $3, $4, $5)",
                        " ON CONFLICT (survey_id, participant_key) DO NOTHING",
                        args,
                    )
                    .await?;
                list.push(Invitation {
                    survey_id: survey.to_string(),
                    discussion,
                    started: false,
                    stopped: false,
                    completed: false,
                    next_question: 0,
                });
                self.known.invitations = Some((key.clone(), list));
                self.invited_later.insert(key.clone());
                return Ok(true);
            }
        }
        self.known.invitations = None;
        let done = query(
            "INSERT INTO survey_invitations (survey_id, participant_key, discussion_id, via, invited_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (survey_id, participant_key) DO NOTHING",
        )
        .bind(survey)
        .bind(&key.0)
        .bind(discussion.0)
        .bind(via)
        .bind(now)
        .execute(&mut self.conn)
        .await?;
        Ok(done == 1)
    }

    /// The participant's invitations, oldest first.
    pub async fn invitations(&mut self, key: &ParticipantKey) -> Result<Vec<Invitation>> {
        if let Some(known) = self.known.invitations(key) {
            return Ok(known);
        }
        let rows = query(format!(
            "SELECT {INVITATION_COLUMNS} FROM survey_invitations WHERE participant_key = $1 ORDER BY invited_at, survey_id"
        ))
        .bind(&key.0)
        .fetch_all(&mut self.conn)
        .await?;
        let list: Vec<Invitation> = rows.iter().map(invitation).collect::<Result<_>>()?;
        // Given again within the message, until they change (as when PostgreSQL reads them
        // with the participant row).
        self.known.invitations = Some((key.clone(), list.clone()));
        Ok(list)
    }

    /// Marks a survey started (again, after `!survey stop`).
    pub async fn start_survey(&mut self, survey: &str, key: &ParticipantKey, now: i64) -> Result<()> {
        self.known.invitations = None;
        query(
            "UPDATE survey_invitations SET started_at = COALESCE(started_at, $1), stopped_at = NULL \
             WHERE survey_id = $2 AND participant_key = $3",
        )
        .bind(now)
        .bind(survey)
        .bind(&key.0)
        .execute(&mut self.conn)
        .await?;
        Ok(())
    }

    /// `!survey stop`.
    pub async fn stop_survey(&mut self, survey: &str, key: &ParticipantKey, now: i64) -> Result<()> {
        self.known.invitations = None;
        query("UPDATE survey_invitations SET stopped_at = $1 WHERE survey_id = $2 AND participant_key = $3")
            .bind(now)
            .bind(survey)
            .bind(&key.0)
            .execute(&mut self.conn)
            .await?;
        Ok(())
    }

    /// Stores an answer (or `None` for a skip) and moves on to question `next`; `done`
    /// marks the survey completed.
    #[allow(clippy::too_many_arguments)]
    pub async fn answer(
        &mut self,
        survey: &str,
        key: &ParticipantKey,
        question: usize,
        answer: Option<(&str, &str, bool)>,
        next: usize,
        done: bool,
        now: i64,
    ) -> Result<()> {
        self.known.invitations = None;
        if let Some((answer, themes, quotable)) = answer {
            query(
                "INSERT INTO survey_answers (survey_id, participant_key, question, answer, themes, quotable, answered_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (survey_id, participant_key, question) \
                 DO UPDATE SET answer = $4, themes = $5, quotable = $6, answered_at = $7",
            )
            .bind(survey)
            .bind(&key.0)
            .bind(question as i64)
            .bind(answer)
            .bind(themes)
            .bind(i64::from(quotable))
            .bind(now)
            .execute(&mut self.conn)
            .await?;
        }
        query(
            "UPDATE survey_invitations SET next_question = $1, completed_at = CASE WHEN $2 = 1 THEN $3 ELSE NULL END \
             WHERE survey_id = $4 AND participant_key = $5",
        )
        .bind(next as i64)
        .bind(i64::from(done))
        .bind(now)
        .bind(survey)
        .bind(&key.0)
        .execute(&mut self.conn)
        .await?;
        Ok(())
    }

    /// The `!forget` part for surveys: answers and invitations deleted. Returns how many
    /// answers were deleted.
    pub async fn forget_surveys(&mut self, key: &ParticipantKey) -> Result<u64> {
        self.known.invitations = None;
        let answers =
            query("DELETE FROM survey_answers WHERE participant_key = $1").bind(&key.0).execute(&mut self.conn).await?;
        query("DELETE FROM survey_invitations WHERE participant_key = $1").bind(&key.0).execute(&mut self.conn).await?;
        Ok(answers)
    }

    /// How many answers are stored against a key (0 after `!forget`).
    pub async fn count_answers_by(&mut self, key: &ParticipantKey) -> Result<i64> {
        let row = query("SELECT COUNT(*) FROM survey_answers WHERE participant_key = $1")
            .bind(&key.0)
            .fetch_one(&mut self.conn)
            .await?;
        row.try_get::<i64, _>(0)
    }

    /// A survey's answers from the participants invited through `discussion`.
    pub async fn survey_answers(&mut self, survey: &str, discussion: DiscussionId) -> Result<Vec<StoredAnswer>> {
        let rows = query(
            "SELECT a.question, a.answer, a.themes, a.quotable FROM survey_answers a \
             JOIN survey_invitations i ON i.survey_id = a.survey_id AND i.participant_key = a.participant_key \
             WHERE a.survey_id = $1 AND i.discussion_id = $2 ORDER BY a.answered_at, a.question",
        )
        .bind(survey)
        .bind(discussion.0)
        .fetch_all(&mut self.conn)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredAnswer {
                    question: r.try_get::<i64, _>("question")?.max(0) as usize,
                    answer: r.try_get("answer")?,
                    themes: r.try_get("themes")?,
                    quotable: r.try_get::<i64, _>("quotable")? != 0,
                })
            })
            .collect()
    }

    /// Invited → started → completed, through `discussion`.
    pub async fn survey_funnel(&mut self, survey: &str, discussion: DiscussionId) -> Result<Funnel> {
        let row = query(
            "SELECT COUNT(*) AS invited, COUNT(started_at) AS started, COUNT(completed_at) AS completed \
             FROM survey_invitations WHERE survey_id = $1 AND discussion_id = $2",
        )
        .bind(survey)
        .bind(discussion.0)
        .fetch_one(&mut self.conn)
        .await?;
        Ok(Funnel {
            invited: row.try_get::<i64, _>("invited")?.max(0) as u64,
            started: row.try_get::<i64, _>("started")?.max(0) as u64,
            completed: row.try_get::<i64, _>("completed")?.max(0) as u64,
        })
    }

    // ----- pushes -----

    /// Records a push to work through.
    pub async fn create_push(&mut self, kind: &PushKind, discussion: DiscussionId, now: i64) -> Result<i64> {
        let (kind, survey, body) = match kind {
            PushKind::Survey(id) => ("survey", Some(id.as_str()), ""),
            PushKind::Update(text) => ("update", None, text.as_str()),
        };
        let row = query(
            "INSERT INTO push_jobs (kind, survey_id, discussion_id, body, cursor, next_slot, sent, created_at) \
             VALUES ($1, $2, $3, $4, '', $5, 0, $5) RETURNING id",
        )
        .bind(kind)
        .bind(survey)
        .bind(discussion.0)
        .bind(body)
        .bind(now)
        .fetch_one(&mut self.conn)
        .await?;
        row.try_get::<i64, _>(0)
    }

    /// The oldest unfinished push.
    pub async fn next_push(&mut self) -> Result<Option<PushJob>> {
        let row = query(
            "SELECT id, kind, survey_id, discussion_id, body, cursor, next_slot, sent FROM push_jobs \
             WHERE done_at IS NULL ORDER BY id LIMIT 1",
        )
        .fetch_optional(&mut self.conn)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let kind = match r.try_get::<String, _>("kind")?.as_str() {
            "survey" => PushKind::Survey(r.try_get::<Option<String>, _>("survey_id")?.unwrap_or_default()),
            _ => PushKind::Update(r.try_get("body")?),
        };
        Ok(Some(PushJob {
            id: r.try_get("id")?,
            kind,
            discussion: DiscussionId(r.try_get("discussion_id")?),
            cursor: r.try_get("cursor")?,
            next_slot: r.try_get("next_slot")?,
            sent: r.try_get("sent")?,
        }))
    }

    /// The next participants of a discussion after `cursor` (in key order), at most
    /// `limit`: everyone whose post is still linked to them.
    pub async fn participants_after(
        &mut self,
        discussion: DiscussionId,
        cursor: &str,
        limit: usize,
    ) -> Result<Vec<ParticipantKey>> {
        let rows = query(
            "SELECT DISTINCT participant_key FROM posts WHERE discussion_id = $1 AND participant_key IS NOT NULL \
             AND participant_key > $2 ORDER BY participant_key LIMIT $3",
        )
        .bind(discussion.0)
        .bind(cursor)
        .bind(limit as i64)
        .fetch_all(&mut self.conn)
        .await?;
        rows.iter().map(|r| Ok(ParticipantKey(r.try_get::<String, _>(0)?))).collect()
    }

    /// Moves a push on; `done` finishes it.
    pub async fn advance_push(
        &mut self,
        id: i64,
        cursor: &str,
        next_slot: i64,
        sent: i64,
        done_at: Option<i64>,
    ) -> Result<()> {
        query("UPDATE push_jobs SET cursor = $1, next_slot = $2, sent = $3, done_at = $4 WHERE id = $5")
            .bind(cursor)
            .bind(next_slot)
            .bind(sent)
            .bind(done_at)
            .bind(id)
            .execute(&mut self.conn)
            .await?;
        Ok(())
    }

    // ----- the organisation's voice -----

    /// Records an update or a response.
    pub async fn insert_org_message(&mut self, discussion: DiscussionId, m: &OrgMessage) -> Result<()> {
        query(
            "INSERT INTO org_messages (discussion_id, kind, post_number, body, themes, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(discussion.0)
        .bind(&m.kind)
        .bind(m.post_number)
        .bind(&m.body)
        .bind(&m.themes)
        .bind(m.created_at)
        .execute(&mut self.conn)
        .await?;
        Ok(())
    }

    /// A discussion's updates and responses, oldest first.
    pub async fn org_messages(&mut self, discussion: DiscussionId) -> Result<Vec<OrgMessage>> {
        let rows = query(
            "SELECT kind, post_number, body, themes, created_at FROM org_messages WHERE discussion_id = $1 ORDER BY id",
        )
        .bind(discussion.0)
        .fetch_all(&mut self.conn)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OrgMessage {
                    kind: r.try_get("kind")?,
                    post_number: r.try_get("post_number")?,
                    body: r.try_get("body")?,
                    themes: r.try_get("themes")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }
}

/// Raw participation numbers of one discussion, before suppression.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Participation {
    /// Per platform the posts were written on: (platform, participants, posts). Posts
    /// stored before platforms were recorded whose author can no longer be reached count
    /// under `unknown`.
    pub by_platform: Vec<(String, u64, u64)>,
    /// Posts per day (days since 1970-01-01).
    pub by_day: Vec<(i64, u64)>,
    /// Posts per hour of the day (UTC).
    pub by_hour: [u64; 24],
    /// Distinct participants who posted, counted by their pseudonym in the discussion, so
    /// that people who used `!forget` still count.
    pub participants: u64,
    /// Posts, in any state.
    pub posts: u64,
    /// Participants reached by updates.
    pub updates_sent: u64,
    /// Updates made.
    pub updates: u64,
    /// Participants of the discussion who said `!stop`.
    pub opted_out: u64,
}

impl Tx {
    /// Participation in a discussion, for commissioners.
    pub async fn participation(&mut self, discussion: DiscussionId) -> Result<Participation> {
        let d = discussion.0;
        let mut p = Participation::default();
        if let Some(file) = self.scan_file.clone() {
            // A SQLite file: the post counts in one pass (the queries below scan every post
            // once per figure, sorting for each distinct count).
            p = super::scan::read(file, move |db| super::scan::participation(db, d)).await?;
        } else {
            self.participation_posts(d, &mut p).await?;
        }
        let row = query(
            "SELECT COUNT(*) AS updates, CAST(COALESCE(SUM(sent), 0) AS BIGINT) AS sent FROM push_jobs \
             WHERE discussion_id = $1 AND kind = 'update'",
        )
        .bind(d)
        .fetch_one(&mut self.conn)
        .await?;
        p.updates = row.try_get::<i64, _>("updates")?.max(0) as u64;
        p.updates_sent = row.try_get::<i64, _>("sent")?.max(0) as u64;
        let row = query(
            "SELECT COUNT(*) FROM participants WHERE opted_out = 1 AND key IN \
             (SELECT participant_key FROM posts WHERE discussion_id = $1)",
        )
        .bind(d)
        .fetch_one(&mut self.conn)
        .await?;
        p.opted_out = row.try_get::<i64, _>(0)?.max(0) as u64;
        Ok(p)
    }

    /// The post counts of [`Tx::participation`], each from the database's own aggregate.
    async fn participation_posts(&mut self, d: i64, p: &mut Participation) -> Result<()> {
        let row =
            query("SELECT COUNT(*) AS posts, COUNT(DISTINCT pseudonym) AS people FROM posts WHERE discussion_id = $1")
                .bind(d)
                .fetch_one(&mut self.conn)
                .await?;
        p.posts = row.try_get::<i64, _>("posts")?.max(0) as u64;
        p.participants = row.try_get::<i64, _>("people")?.max(0) as u64;
        let rows = query(
            "SELECT COALESCE(platform, 'unknown') AS on_platform, COUNT(DISTINCT pseudonym) AS people, \
             COUNT(*) AS posts FROM posts WHERE discussion_id = $1 \
             GROUP BY COALESCE(platform, 'unknown') ORDER BY on_platform",
        )
        .bind(d)
        .fetch_all(&mut self.conn)
        .await?;
        for r in rows {
            p.by_platform.push((
                r.try_get("on_platform")?,
                r.try_get::<i64, _>("people")?.max(0) as u64,
                r.try_get::<i64, _>("posts")?.max(0) as u64,
            ));
        }
        let rows = query(
            "SELECT created_at / 86400000 AS day, COUNT(*) AS n FROM posts WHERE discussion_id = $1 \
             GROUP BY created_at / 86400000 ORDER BY day",
        )
        .bind(d)
        .fetch_all(&mut self.conn)
        .await?;
        for r in rows {
            p.by_day.push((r.try_get::<i64, _>("day")?, r.try_get::<i64, _>("n")?.max(0) as u64));
        }
        let rows = query(
            "SELECT (created_at / 3600000) % 24 AS hour, COUNT(*) AS n FROM posts WHERE discussion_id = $1 \
             GROUP BY (created_at / 3600000) % 24",
        )
        .bind(d)
        .fetch_all(&mut self.conn)
        .await?;
        for r in rows {
            let hour = r.try_get::<i64, _>("hour")?.rem_euclid(24) as usize;
            p.by_hour[hour] += r.try_get::<i64, _>("n")?.max(0) as u64;
        }
        Ok(())
    }
}
