-- Idempotency-Key records: one per user and key, taken (in_flight) before
-- the request runs and completed with its response after it. Kept 24 hours;
-- older rows are ignored, overwritten on reuse and purged by created_at.
CREATE TABLE idempotency_keys (
    user_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    idem_key         TEXT NOT NULL,
    request_hash     BYTEA NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('in_flight', 'complete')),
    response_status  INTEGER,
    response_headers TEXT,
    response_body    BYTEA,
    created_at       BIGINT NOT NULL,
    locked_at        BIGINT NOT NULL,
    PRIMARY KEY (user_id, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
