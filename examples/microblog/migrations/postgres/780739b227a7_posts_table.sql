-- revision: 780739b227a7
-- down_revision: e517276bb1c2
-- message: posts table
-- created: 2017-09-11T12:23:25Z

-- +up
CREATE TABLE post (
    id SERIAL NOT NULL,
    body VARCHAR(140) NOT NULL,
    timestamp TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    user_id INTEGER NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY (user_id) REFERENCES "user" (id)
);
CREATE INDEX ix_post_timestamp ON post (timestamp);
CREATE INDEX ix_post_user_id ON post (user_id);

-- +down
DROP TABLE post;
