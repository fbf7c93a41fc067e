-- relationship_members holds one row per member and relationship: joining
-- again after leaving starts it over, with the new joined_at. The periods
-- that a rejoin so closes are kept here, so that a person's export lists
-- every time they belonged. Those closed before this migration are
-- recovered, in Go after this statement and in its transaction
-- (migrate.go, migrationSteps), from the member.left events still kept.
CREATE TABLE past_memberships (
    relationship_id TEXT NOT NULL REFERENCES relationships (id),
    user_id         TEXT NOT NULL REFERENCES users (id),
    joined_at       BIGINT NOT NULL,
    left_at         BIGINT NOT NULL,
    PRIMARY KEY (relationship_id, user_id, joined_at)
);
CREATE INDEX past_memberships_user ON past_memberships (user_id, relationship_id, joined_at);
