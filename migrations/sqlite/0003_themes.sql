-- Themes for commissioners: each post's analysis, stored once when the post is made.

ALTER TABLE posts ADD COLUMN themes TEXT NOT NULL DEFAULT '';        -- comma-separated taxonomy ids
ALTER TABLE posts ADD COLUMN sentiment BIGINT NOT NULL DEFAULT 0;     -- score x 100, -100..100
CREATE INDEX posts_by_discussion_status ON posts (discussion_id, status);
