-- Two-way engagement: survey invitations and answers, opt-outs, push jobs, and what the
-- organisation said back. Everything is keyed by the participant key, never an identity.

-- !stop / !start: no prompts or updates while set.
ALTER TABLE participants ADD COLUMN opted_out BIGINT NOT NULL DEFAULT 0;

-- One row per survey and participant: nobody is asked the same survey twice.
CREATE TABLE survey_invitations (
    survey_id        TEXT NOT NULL,
    participant_key  TEXT NOT NULL,
    discussion_id    BIGINT NOT NULL REFERENCES discussions(id),
    via              TEXT NOT NULL,          -- 'post' | 'join' | 'push'
    invited_at       BIGINT NOT NULL,
    started_at       BIGINT,
    stopped_at       BIGINT,                 -- !survey stop
    completed_at     BIGINT,
    next_question    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (survey_id, participant_key)
);
CREATE INDEX survey_invitations_by_key ON survey_invitations (participant_key);
CREATE INDEX survey_invitations_by_discussion ON survey_invitations (discussion_id, survey_id);

-- Answers; free text is redacted before it is stored. `skipped` answers have no value.
CREATE TABLE survey_answers (
    survey_id        TEXT NOT NULL,
    participant_key  TEXT NOT NULL,
    question         BIGINT NOT NULL,
    answer           TEXT NOT NULL,          -- choice numbers "1,3", a scale "4", or redacted text
    themes           TEXT NOT NULL DEFAULT '',
    quotable         BIGINT NOT NULL DEFAULT 0,
    answered_at      BIGINT NOT NULL,
    PRIMARY KEY (survey_id, participant_key, question)
);

-- A push (survey invitations or an update) to everyone in a discussion, worked through in
-- bounded batches: `cursor` is the last participant key done, so a restart resumes there.
CREATE TABLE push_jobs (
    id             BIGSERIAL PRIMARY KEY,
    kind           TEXT NOT NULL,            -- 'survey' | 'update'
    survey_id      TEXT,
    discussion_id  BIGINT NOT NULL REFERENCES discussions(id),
    body           TEXT NOT NULL DEFAULT '',
    cursor         TEXT NOT NULL DEFAULT '',
    next_slot      BIGINT NOT NULL DEFAULT 0, -- pacing: when the next message may go
    sent           BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL,
    done_at        BIGINT
);

-- "You said, we did" updates and answers to posts, in the organisation's own voice.
CREATE TABLE org_messages (
    id             BIGSERIAL PRIMARY KEY,
    discussion_id  BIGINT NOT NULL REFERENCES discussions(id),
    kind           TEXT NOT NULL,            -- 'update' | 'respond'
    post_number    BIGINT,
    body           TEXT NOT NULL,
    themes         TEXT NOT NULL DEFAULT '',
    created_at     BIGINT NOT NULL
);
