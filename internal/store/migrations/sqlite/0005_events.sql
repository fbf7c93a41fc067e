-- The event log: one row for every change, written in the change's own
-- transaction, in commit order (seq). It feeds GET /v1/events and webhooks.
CREATE TABLE events (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    type            TEXT NOT NULL,
    relationship_id TEXT,
    user_id         TEXT,
    actor_id        TEXT NOT NULL,
    data            TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX events_relationship ON events (relationship_id, seq);
CREATE INDEX events_user ON events (user_id, seq);
CREATE INDEX events_created ON events (created_at);

-- Reminders already sent, so each fires once.
ALTER TABLE occurrences ADD COLUMN due_soon_at BIGINT;
ALTER TABLE occurrences ADD COLUMN overdue_at BIGINT;

-- Milestones reached, once per milestone per rebuilding period.
CREATE TABLE milestones (
    relationship_id TEXT NOT NULL REFERENCES relationships (id),
    member_id       TEXT NOT NULL,
    period_start    BIGINT NOT NULL,
    name            TEXT NOT NULL,
    reached_at      BIGINT NOT NULL,
    PRIMARY KEY (relationship_id, member_id, period_start, name)
);

-- Members whose score changed since the scheduler last looked for new
-- milestones (written in the change's transaction, cleared by the scheduler).
CREATE TABLE score_dirty (
    relationship_id TEXT NOT NULL,
    member_id       TEXT NOT NULL,
    PRIMARY KEY (relationship_id, member_id)
);
