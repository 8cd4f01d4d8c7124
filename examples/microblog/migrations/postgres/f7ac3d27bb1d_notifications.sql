-- revision: f7ac3d27bb1d
-- down_revision: d049de007ccf
-- message: notifications
-- created: 2017-11-22T19:48:39Z

-- +up
CREATE TABLE notification (
    id SERIAL NOT NULL,
    name VARCHAR(128) NOT NULL,
    user_id INTEGER NOT NULL,
    timestamp FLOAT NOT NULL,
    payload_json TEXT NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY (user_id) REFERENCES "user" (id)
);
CREATE INDEX ix_notification_name ON notification (name);
CREATE INDEX ix_notification_timestamp ON notification (timestamp);
CREATE INDEX ix_notification_user_id ON notification (user_id);

-- +down
DROP TABLE notification;
