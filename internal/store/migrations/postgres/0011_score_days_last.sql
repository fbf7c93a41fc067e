-- The latest item or skip of each rollup day, in µs since the epoch: a
-- score read can then tell from today's row alone that nothing in it lies
-- after now, and skip reading today's items. Rows from before this column
-- say "unknown" (the largest value), so a read of their day still reads its
-- items; the next refresh of the day writes the real value.
ALTER TABLE score_days ADD COLUMN last_t BIGINT NOT NULL DEFAULT 9223372036854775807;
