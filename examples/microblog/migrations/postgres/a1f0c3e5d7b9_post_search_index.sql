-- revision: a1f0c3e5d7b9
-- down_revision: 834b1a697901
-- message: post search index (phial port: full-text search instead of Elasticsearch)
-- created: 2026-11-23T20:00:00Z

-- +up
CREATE INDEX ix_post_body_search ON post USING GIN (to_tsvector('simple', body));

-- +down
DROP INDEX ix_post_body_search;
