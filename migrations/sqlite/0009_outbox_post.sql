-- A post's publications, found without reading the whole outbox: taking a post down
-- (a moderator's !remove, reports that hide it) cancels its unsent copies, and a late
-- delivery of a cancelled copy looks for a removal already queued.
CREATE INDEX outbox_post ON outbox (post_id) WHERE post_id IS NOT NULL;
