-- revision: b7e2c4d6f8a0
-- down_revision: 834b1a697901
-- message: followers followed_id index (phial port: follower counts without a table scan)
-- created: 2026-11-23T20:45:00Z

-- +up
CREATE INDEX ix_followers_followed_id ON followers (followed_id);

-- +down
DROP INDEX ix_followers_followed_id;
