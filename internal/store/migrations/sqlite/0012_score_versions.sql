-- A version per subject's rollup rows: a random number replaced in the
-- transaction of every write to the subject's score_days rows. Reads keep
-- rows in memory while the version they were read under holds.
CREATE TABLE score_versions (
    relationship_id TEXT NOT NULL,
    subject         TEXT NOT NULL,
    version         BIGINT NOT NULL,
    PRIMARY KEY (relationship_id, subject)
);
