-- One index on the random participant key instead of two: every post wrote both, each at
-- a random place (an HMAC), so each group commit rewrote most of their pages. "Has this
-- participant posted here before?" (survey invitations after a first post, asked only
-- until they are invited) now walks that participant's posts by posts_recent_by_participant
-- (participant_key, id), which the spam check's latest posts need anyway.
DROP INDEX posts_by_participant_discussion;
