-- Invites get an id, by which the members of a relationship list and
-- revoke them without their code (only its hash is kept, and that is
-- never shown), and revoked_at, set when a member takes one back. The
-- invites made before are given ids in Go, after this statement and in its
-- transaction (migrate.go, migrationSteps), in the order they were made.
-- A unique index lets several NULLs through until then.
ALTER TABLE invites ADD COLUMN id TEXT;
ALTER TABLE invites ADD COLUMN revoked_at BIGINT;
CREATE UNIQUE INDEX invites_id ON invites (relationship_id, id);
