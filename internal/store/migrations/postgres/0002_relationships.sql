-- Relationships, their members and invites; promises, their occurrences and
-- what happened to them; pauses, renegotiations, breaches and check-ins.
-- Every table that holds relationship data carries relationship_id, and
-- every query inside a relationship filters by it, so the schema can later
-- be distributed by relationship_id (e.g. Citus) without rewriting queries.
CREATE TABLE relationships (
    id                   TEXT PRIMARY KEY,
    name                 TEXT NOT NULL,
    partner_name         TEXT,
    time_zone            TEXT NOT NULL,
    half_life_days       INTEGER NOT NULL,
    grace_minutes        INTEGER NOT NULL,
    dispute_window_hours INTEGER NOT NULL,
    remind_minutes       INTEGER NOT NULL,
    target_score         DOUBLE PRECISION NOT NULL,
    patience_days        INTEGER NOT NULL,
    status               TEXT NOT NULL,
    created_by           TEXT NOT NULL REFERENCES users (id),
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    archived_at          BIGINT
);

CREATE TABLE relationship_members (
    relationship_id TEXT NOT NULL REFERENCES relationships (id),
    user_id         TEXT NOT NULL REFERENCES users (id),
    role            TEXT NOT NULL,
    joined_at       BIGINT NOT NULL,
    left_at         BIGINT,
    PRIMARY KEY (relationship_id, user_id)
);
CREATE INDEX relationship_members_user ON relationship_members (user_id, relationship_id);

CREATE TABLE invites (
    relationship_id TEXT NOT NULL REFERENCES relationships (id),
    code_hash       BYTEA NOT NULL,
    created_by      TEXT NOT NULL REFERENCES users (id),
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    used_at         BIGINT,
    used_by         TEXT REFERENCES users (id),
    PRIMARY KEY (relationship_id, code_hash)
);
CREATE UNIQUE INDEX invites_code ON invites (code_hash);

CREATE TABLE promises (
    id                 TEXT PRIMARY KEY,
    relationship_id    TEXT NOT NULL REFERENCES relationships (id),
    promisor_id        TEXT NOT NULL REFERENCES users (id),
    promisee_id        TEXT REFERENCES users (id),
    title              TEXT NOT NULL,
    details            TEXT NOT NULL,
    kind               TEXT NOT NULL,
    due_at             BIGINT,
    rrule              TEXT,
    time_zone          TEXT,
    local_time         TEXT,
    starts_on          TEXT,
    status             TEXT NOT NULL,
    materialized_until BIGINT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);
CREATE INDEX promises_relationship ON promises (relationship_id, id);
CREATE INDEX promises_updated ON promises (relationship_id, updated_at);
CREATE INDEX promises_materialize ON promises (kind, status, materialized_until);

CREATE TABLE occurrences (
    id              TEXT PRIMARY KEY,
    relationship_id TEXT NOT NULL REFERENCES relationships (id),
    promise_id      TEXT NOT NULL REFERENCES promises (id),
    promisor_id     TEXT NOT NULL,
    promisee_id     TEXT,
    due_at          BIGINT NOT NULL,
    original_due_at BIGINT NOT NULL,
    status          TEXT NOT NULL,
    outcome         TEXT,
    follow_through_id TEXT,
    replaces_id     TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX occurrences_relationship ON occurrences (relationship_id, due_at, id);
CREATE INDEX occurrences_promise ON occurrences (relationship_id, promise_id, due_at, id);
CREATE UNIQUE INDEX occurrences_instance ON occurrences (promise_id, original_due_at);
CREATE INDEX occurrences_open_due ON occurrences (status, due_at);

CREATE TABLE follow_throughs (
    id              TEXT PRIMARY KEY,
    relationship_id TEXT NOT NULL REFERENCES relationships (id),
    occurrence_id   TEXT NOT NULL REFERENCES occurrences (id),
    promise_id      TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    occurred_at     BIGINT NOT NULL,
    note            TEXT NOT NULL,
    recorded_by     TEXT NOT NULL,
    verification    TEXT NOT NULL,
    dispute_reason  TEXT,
    accept_after    BIGINT,
    verified_at     BIGINT,
    superseded_at   BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX follow_throughs_occurrence ON follow_throughs (relationship_id, occurrence_id, id);
CREATE INDEX follow_throughs_relationship ON follow_throughs (relationship_id, id);
CREATE INDEX follow_throughs_pending ON follow_throughs (verification, accept_after);

CREATE TABLE renegotiations (
    id              TEXT PRIMARY KEY,
    relationship_id TEXT NOT NULL REFERENCES relationships (id),
    occurrence_id   TEXT NOT NULL REFERENCES occurrences (id),
    promise_id      TEXT NOT NULL,
    proposed_by     TEXT NOT NULL,
    proposed_due_at BIGINT NOT NULL,
    reason          TEXT NOT NULL,
    status          TEXT NOT NULL,
    new_occurrence_id TEXT,
    created_at      BIGINT NOT NULL,
    resolved_at     BIGINT
);
CREATE INDEX renegotiations_occurrence ON renegotiations (relationship_id, occurrence_id, id);
CREATE INDEX renegotiations_relationship ON renegotiations (relationship_id, id);

CREATE TABLE pauses (
    id              TEXT PRIMARY KEY,
    relationship_id TEXT NOT NULL REFERENCES relationships (id),
    promise_id      TEXT NOT NULL REFERENCES promises (id),
    starts_on       TEXT NOT NULL,
    ends_on         TEXT NOT NULL,
    reason          TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX pauses_promise ON pauses (relationship_id, promise_id, id);

CREATE TABLE breaches (
    id              TEXT PRIMARY KEY,
    relationship_id TEXT NOT NULL REFERENCES relationships (id),
    member_id       TEXT NOT NULL REFERENCES users (id),
    recorded_by     TEXT NOT NULL REFERENCES users (id),
    description     TEXT NOT NULL,
    severity        TEXT NOT NULL,
    occurred_at     BIGINT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX breaches_relationship ON breaches (relationship_id, id);

CREATE TABLE check_ins (
    id              TEXT PRIMARY KEY,
    relationship_id TEXT NOT NULL REFERENCES relationships (id),
    author_id       TEXT NOT NULL REFERENCES users (id),
    subject_id      TEXT NOT NULL REFERENCES users (id),
    felt_trust      INTEGER NOT NULL,
    note            TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX check_ins_relationship ON check_ins (relationship_id, id);
