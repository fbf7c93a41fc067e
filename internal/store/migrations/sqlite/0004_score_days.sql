-- Daily rollups of everything that moves a consistency score, per
-- relationship, subject (a member's user id, or a promise id) and local day
-- of the relationship. Each row holds the day's own contribution (sums seen
-- from the day's end, counts, the streak structure of its items, felt trust
-- of check-ins that day) and the same cumulated over every day up to it, so
-- that a score reads one row plus today's items, and a timeline reads one
-- row per point.
CREATE TABLE score_days (
    relationship_id TEXT NOT NULL REFERENCES relationships (id),
    subject         TEXT NOT NULL,
    day             TEXT NOT NULL,
    day_end         BIGINT NOT NULL,
    a               DOUBLE PRECISION NOT NULL,
    b               DOUBLE PRECISION NOT NULL,
    kept            INTEGER NOT NULL,
    kept_late       INTEGER NOT NULL,
    partial         INTEGER NOT NULL,
    missed          INTEGER NOT NULL,
    disputed        INTEGER NOT NULL,
    unverified      INTEGER NOT NULL,
    breaches        INTEGER NOT NULL,
    skipped         INTEGER NOT NULL,
    run_n           INTEGER NOT NULL,
    run_prefix      INTEGER NOT NULL,
    run_suffix      INTEGER NOT NULL,
    run_max         INTEGER NOT NULL,
    felt_sum        INTEGER NOT NULL,
    felt_n          INTEGER NOT NULL,
    ca              DOUBLE PRECISION NOT NULL,
    cb              DOUBLE PRECISION NOT NULL,
    c_kept          INTEGER NOT NULL,
    c_kept_late     INTEGER NOT NULL,
    c_partial       INTEGER NOT NULL,
    c_missed        INTEGER NOT NULL,
    c_disputed      INTEGER NOT NULL,
    c_unverified    INTEGER NOT NULL,
    c_breaches      INTEGER NOT NULL,
    c_skipped       INTEGER NOT NULL,
    c_run_n         INTEGER NOT NULL,
    c_run_prefix    INTEGER NOT NULL,
    c_run_suffix    INTEGER NOT NULL,
    c_run_max       INTEGER NOT NULL,
    PRIMARY KEY (relationship_id, subject, day)
);

CREATE INDEX occurrences_promisor_due ON occurrences (relationship_id, promisor_id, due_at);
CREATE INDEX breaches_member_time ON breaches (relationship_id, member_id, occurred_at);
CREATE INDEX check_ins_subject_time ON check_ins (relationship_id, subject_id, created_at);
