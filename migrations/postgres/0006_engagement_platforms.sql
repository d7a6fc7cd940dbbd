-- Two-way engagement, continued: the answers a queued message asks for (a survey question's
-- choices, as JSON, so that adapters with buttons can offer them after a restart too), and
-- the platform each post came from (a platform name, not an identity), so that
-- participation by platform still counts people who used !forget or can no longer be
-- reached.

ALTER TABLE outbox ADD COLUMN choices TEXT;
ALTER TABLE posts ADD COLUMN platform TEXT;

-- Posts stored before this: the platform of the author's contact, where there still is one
-- (a participant key belongs to one platform, so there is at most one).
UPDATE posts SET platform = (SELECT MIN(c.platform) FROM contacts c WHERE c.participant_key = posts.participant_key)
WHERE platform IS NULL AND participant_key IS NOT NULL;
