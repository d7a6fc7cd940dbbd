-- The adapters' "what is due" query walks a platform's undelivered rows oldest first and
-- stops after its batch: with this index it never sorts, or reads, the whole backlog.
CREATE INDEX outbox_due ON outbox (platform, delivered_at, id);

-- "Has this participant posted in this discussion before?" (survey invitations after a
-- first post) reads one participant's posts, not the whole discussion's.
CREATE INDEX posts_by_participant_discussion ON posts (participant_key, discussion_id);

-- A participant's latest posts (spam detection reads them for every post) come from one
-- index, newest first: PostgreSQL otherwise walked every post backwards by id to find them.
CREATE INDEX posts_recent_by_participant ON posts (participant_key, id);
