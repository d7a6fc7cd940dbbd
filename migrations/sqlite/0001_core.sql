-- parley core schema (SQLite). Released migrations are never edited; add new files.
-- No column ever holds a platform user id or display name in clear.

CREATE TABLE discussions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    slug          TEXT NOT NULL UNIQUE,
    title         TEXT NOT NULL,
    prompt        TEXT NOT NULL,
    status        TEXT NOT NULL,            -- 'open' | 'closed'
    next_number   BIGINT NOT NULL DEFAULT 1,
    created_at    BIGINT NOT NULL
);

CREATE TABLE participants (
    key                 TEXT PRIMARY KEY,   -- HMAC of platform:user id
    current_discussion  BIGINT REFERENCES discussions(id),
    seen_notice         BIGINT NOT NULL DEFAULT 0,
    created_at          BIGINT NOT NULL
);

-- A way back to a participant (survey prompts, notices), sealed with the secret.
CREATE TABLE contacts (
    participant_key  TEXT NOT NULL,
    platform         TEXT NOT NULL,
    sealed_address   TEXT NOT NULL,
    updated_at       BIGINT NOT NULL,
    PRIMARY KEY (participant_key, platform)
);

-- Pseudonyms stay reserved after !forget (participant_key set NULL), so a returning
-- participant gets a different name and old posts cannot be linked to new ones.
CREATE TABLE pseudonyms (
    discussion_id    BIGINT NOT NULL REFERENCES discussions(id),
    name             TEXT NOT NULL,
    participant_key  TEXT,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (discussion_id, name)
);
CREATE UNIQUE INDEX pseudonyms_by_key ON pseudonyms (discussion_id, participant_key);

CREATE TABLE posts (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    discussion_id    BIGINT NOT NULL REFERENCES discussions(id),
    number           BIGINT NOT NULL,
    participant_key  TEXT,
    pseudonym        TEXT NOT NULL,
    parent_number    BIGINT,
    body             TEXT NOT NULL,        -- already redacted
    status           TEXT NOT NULL,        -- 'published' | 'held' | 'hidden' | 'rejected' | 'removed'
    created_at       BIGINT NOT NULL,
    UNIQUE (discussion_id, number)
);
CREATE INDEX posts_by_participant ON posts (participant_key);

CREATE TABLE inbound_events (
    platform     TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    received_at  BIGINT NOT NULL,
    PRIMARY KEY (platform, event_id)
);

-- Where each discussion's public thread lives on each platform.
CREATE TABLE mirrors (
    discussion_id    BIGINT NOT NULL REFERENCES discussions(id),
    platform         TEXT NOT NULL,
    root_message_id  TEXT NOT NULL,
    PRIMARY KEY (discussion_id, platform)
);

-- The platform message that published a post on each mirror.
CREATE TABLE post_messages (
    post_id     BIGINT NOT NULL REFERENCES posts(id),
    platform    TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    PRIMARY KEY (post_id, platform)
);

CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    platform         TEXT NOT NULL,
    dest_kind        TEXT NOT NULL,        -- 'direct' | 'thread' | 'moderators' | 'commissioners'
    sealed_address   TEXT,                 -- direct only; cleared once delivered
    discussion_id    BIGINT REFERENCES discussions(id),
    post_id          BIGINT REFERENCES posts(id),   -- the post this message publishes
    reply_to_post    BIGINT REFERENCES posts(id),   -- in-thread reply to this post
    action           TEXT NOT NULL,        -- 'send' | 'open_thread' | 'remove'
    body             TEXT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    delivered_at     BIGINT,
    message_id       TEXT
);
CREATE INDEX outbox_pending ON outbox (platform, delivered_at, next_attempt_at);
