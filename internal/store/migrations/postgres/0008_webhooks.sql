-- Webhook endpoints (owned by a user) and their delivery log. Times are
-- Unix microseconds. A delivery is one event on its way to one endpoint:
-- the row holds the latest attempt's result; River's jobs make the attempts.
CREATE TABLE webhook_endpoints (
    id                   TEXT PRIMARY KEY,
    owner_id             TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    url                  TEXT NOT NULL,
    event_types          TEXT NOT NULL, -- space-separated; empty for every type
    description          TEXT NOT NULL,
    secret               TEXT NOT NULL,
    previous_secret      TEXT,
    previous_expires_at  BIGINT,
    disabled_at          BIGINT,
    disabled_reason      TEXT,
    failing_since        BIGINT,
    from_seq             BIGINT NOT NULL, -- events up to this seq predate the endpoint
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_owner ON webhook_endpoints (owner_id, id);

CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    owner_id        TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempt         INTEGER NOT NULL,
    response_code   INTEGER,
    response_body   TEXT,
    duration_ms     BIGINT,
    error           TEXT,
    next_attempt_at BIGINT,
    created_at      BIGINT NOT NULL,
    completed_at    BIGINT
);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);

-- How far the dispatcher has turned events into deliveries. It starts at
-- the newest event: nothing before webhooks existed is owed to anyone.
CREATE TABLE webhook_dispatch (
    id       INTEGER PRIMARY KEY,
    last_seq BIGINT NOT NULL
);
INSERT INTO webhook_dispatch (id, last_seq) SELECT 1, COALESCE(MAX(seq), 0) FROM events;
