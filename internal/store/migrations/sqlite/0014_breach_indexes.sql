-- Every timeline looks up the latest breach at or before an instant, ties
-- broken by id. With id in the index that is one step back along it rather
-- than a sort; and a lookup for any member of a relationship searches the
-- relationship's breaches, not the whole table.
DROP INDEX breaches_member_time;
CREATE INDEX breaches_member_time ON breaches (relationship_id, member_id, occurred_at, id);
CREATE INDEX breaches_time ON breaches (relationship_id, occurred_at, id, member_id);
