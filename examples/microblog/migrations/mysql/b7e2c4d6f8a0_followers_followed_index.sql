-- revision: b7e2c4d6f8a0
-- down_revision: 834b1a697901
-- message: followers followed_id index (phial port: follower counts without a table scan)
-- created: 2026-11-23T20:45:00Z

-- InnoDB already indexes `followed_id` for its foreign key (an implicit index named
-- `followed_id`), and drops that index silently when this one takes over; the revision names
-- the index as on the other backends.
-- +up
CREATE INDEX ix_followers_followed_id ON followers (followed_id);

-- +down
-- The foreign key needs an index on the column: put back the implicit one first.
CREATE INDEX followed_id ON followers (followed_id);
DROP INDEX ix_followers_followed_id ON followers;
