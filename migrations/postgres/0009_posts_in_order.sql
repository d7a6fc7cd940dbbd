-- Summaries read a discussion's published posts in id order (so that the same posts always
-- give the same sample of quotes). With `id` in the index PostgreSQL reads them in that order
-- instead of sorting a million rows (which spilled 140 MB to disk). It replaces the index it
-- extends, so writes maintain no more indexes than before. (SQLite's index already keeps
-- equal keys in rowid order.)
DROP INDEX posts_by_discussion_status;
CREATE INDEX posts_by_discussion_status ON posts (discussion_id, status, id);
