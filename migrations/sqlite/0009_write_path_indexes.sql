-- A post's publications, found without reading the whole outbox: taking a post down
-- (a moderator's !remove, reports that hide it) cancels its unsent copies, and a late
-- delivery of a cancelled copy looks for a removal already queued.
CREATE INDEX outbox_post ON outbox (post_id) WHERE post_id IS NOT NULL;

-- Two indexes no query needs any more, each written for every post or every queued and
-- delivered message: the due query walks outbox_due (platform, delivered_at, id), and
-- every lookup by participant_key is served by the two indexes that start with it.
DROP INDEX outbox_pending;
DROP INDEX posts_by_participant;
