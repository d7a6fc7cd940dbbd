-- Moderation: reasons on posts, pre-moderation, reports, sanctions, the audit log.

ALTER TABLE posts ADD COLUMN reasons TEXT NOT NULL DEFAULT '';
ALTER TABLE discussions ADD COLUMN premoderated BIGINT NOT NULL DEFAULT 0;

CREATE TABLE reports (
    post_id       BIGINT NOT NULL REFERENCES posts(id),
    reporter_key  TEXT NOT NULL,
    reason        TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (post_id, reporter_key)
);

-- Sanctions outlive !forget on purpose: forgetting must not lift a ban. `label` is the
-- PSEUDONYM@SLUG the moderator acted on, so !unban still finds the sanction afterwards.
CREATE TABLE sanctions (
    participant_key  TEXT PRIMARY KEY,
    muted_until      BIGINT NOT NULL DEFAULT 0,
    banned           BIGINT NOT NULL DEFAULT 0,
    label            TEXT NOT NULL DEFAULT '',
    updated_at       BIGINT NOT NULL
);

-- Append-only: the application never updates or deletes rows here.
CREATE TABLE audit_log (
    id        BIGSERIAL PRIMARY KEY,
    at        BIGINT NOT NULL,
    actor     TEXT NOT NULL,      -- "moderator 3f2a9c" (a short hash) or "parley"
    action    TEXT NOT NULL,
    target    TEXT NOT NULL,      -- "gp-access#3" or "Amber Otter@gp-access"
    reason    TEXT NOT NULL
);
