-- Rate limits shared by several parley processes on one database: one row per participant
-- key and limit ('post', 'reply', 'report', 'command', 'slow:<discussion id>', 'flood').
-- `tat` is the GCRA theoretical arrival time in Unix milliseconds (for 'flood': the end of
-- the refusal window, with `refusals` counted in it). A row whose `tat` has passed carries
-- no state and may be deleted. Keys are participant keys (HMACs), never platform ids.

CREATE TABLE limiter_state (
    participant_key TEXT NOT NULL,
    name TEXT NOT NULL,
    tat BIGINT NOT NULL,
    refusals BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (participant_key, name)
);

CREATE INDEX limiter_state_tat ON limiter_state (tat);
