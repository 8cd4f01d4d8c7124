-- revision: c81bac34faab
-- down_revision: f7ac3d27bb1d
-- message: tasks
-- created: 2017-11-23T10:56:49Z

-- +up
CREATE TABLE task (
    id VARCHAR(36) NOT NULL,
    name VARCHAR(128) NOT NULL,
    description VARCHAR(128),
    user_id INTEGER NOT NULL,
    complete BOOLEAN NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY (user_id) REFERENCES "user" (id)
);
CREATE INDEX ix_task_name ON task (name);

-- +down
DROP TABLE task;
