-- Hardening: publications cancelled while in flight are taken down when their delivery is
-- reported; deliveries that keep failing are set aside (dead letters); reports that must
-- not count towards hiding a post (the author's own, a banned reporter's).

ALTER TABLE outbox ADD COLUMN cancelled BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN dead BIGINT NOT NULL DEFAULT 0;
ALTER TABLE reports ADD COLUMN counted BIGINT NOT NULL DEFAULT 1;
