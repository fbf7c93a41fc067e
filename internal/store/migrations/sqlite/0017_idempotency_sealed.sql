-- Idempotency keys kept before now are rewritten, in Go, after this
-- statement and in its transaction (migrate.go, migrationSteps): each key
-- as its digest and each kept answer sealed with the key (idempotency.Seal),
-- so that a retry across the upgrade still replays and nothing stays in
-- the clear.
SELECT 1;
