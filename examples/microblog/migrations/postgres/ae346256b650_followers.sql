-- revision: ae346256b650
-- down_revision: 37f06a334dbf
-- message: followers
-- created: 2017-09-17T15:41:30Z

-- +up
CREATE TABLE followers (
    follower_id INTEGER NOT NULL,
    followed_id INTEGER NOT NULL,
    PRIMARY KEY (follower_id, followed_id),
    FOREIGN KEY (followed_id) REFERENCES "user" (id),
    FOREIGN KEY (follower_id) REFERENCES "user" (id)
);

-- +down
DROP TABLE followers;
