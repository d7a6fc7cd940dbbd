-- The adapters' "what is due" query walks a platform's undelivered rows oldest first and
-- stops after its batch: with this index it never sorts, or reads, the whole backlog.
CREATE INDEX outbox_due ON outbox (platform, delivered_at, id);
