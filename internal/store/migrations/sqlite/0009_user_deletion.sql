-- Account deletion: a deleted user's row stays, with its personal fields
-- erased, so that the history they share with others keeps its ids.
-- deleted_at is set once; requests authenticated as such a user are refused.
ALTER TABLE users ADD COLUMN deleted_at BIGINT;
