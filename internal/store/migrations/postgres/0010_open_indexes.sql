-- Counting a subject's open occurrences (every score read) must not walk
-- its whole history: index the status next to the subject.
CREATE INDEX occurrences_promisor_status_due ON occurrences (relationship_id, promisor_id, status, due_at);
CREATE INDEX occurrences_promise_status_due ON occurrences (relationship_id, promise_id, status, due_at);
