-- A cancelled occurrence stays cancelled. An instance of a promise is one
-- occurrence at one original due time, but a cancelled occurrence no longer
-- holds it: when a new recurrence falls due at the time of one an earlier
-- plan cancelled, the new plan gets an occurrence of its own, and the
-- cancelled one is never opened again.
DROP INDEX occurrences_instance;
CREATE UNIQUE INDEX occurrences_instance ON occurrences (promise_id, original_due_at) WHERE status <> 'cancelled';
