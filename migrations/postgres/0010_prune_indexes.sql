-- Old inbound event ids are pruned by age: without an index on it, each prune read the
-- whole table under the writer (a month of events). The index is written in time order,
-- always at its end.
CREATE INDEX inbound_events_by_time ON inbound_events (received_at);
