-- Score rollups are built again, in Go, after this statement and in its
-- transaction (migrate.go, migrationSteps): their days are now split at
-- the first instant of each local date, also where a clock change skips or
-- repeats midnight.
SELECT 1;
