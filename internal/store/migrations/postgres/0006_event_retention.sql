-- The highest event seq ever purged by retention: a feed cursor at or
-- before it may have missed events and is refused (410).
CREATE TABLE event_retention (
    id             INTEGER PRIMARY KEY,
    purged_through BIGINT NOT NULL
);
INSERT INTO event_retention (id, purged_through) VALUES (1, 0);
