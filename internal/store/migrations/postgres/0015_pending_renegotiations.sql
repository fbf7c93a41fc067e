-- A promise that is cancelled or archived, or whose occurrences are paused
-- or rescheduled, closes the proposals still waiting for an answer: a few
-- rows found through this index, not a walk over the relationship's.
CREATE INDEX renegotiations_pending ON renegotiations (relationship_id, promise_id, id) WHERE status = 'pending';
