-- revision: d049de007ccf
-- down_revision: 2b017edaa91f
-- message: private messages
-- created: 2017-11-12T23:30:28Z

-- +up
CREATE TABLE message (
    id SERIAL NOT NULL,
    sender_id INTEGER NOT NULL,
    recipient_id INTEGER NOT NULL,
    body VARCHAR(140) NOT NULL,
    timestamp TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY (recipient_id) REFERENCES "user" (id),
    FOREIGN KEY (sender_id) REFERENCES "user" (id)
);
CREATE INDEX ix_message_recipient_id ON message (recipient_id);
CREATE INDEX ix_message_sender_id ON message (sender_id);
CREATE INDEX ix_message_timestamp ON message (timestamp);
ALTER TABLE "user" ADD COLUMN last_message_read_time TIMESTAMP WITHOUT TIME ZONE;

-- +down
ALTER TABLE "user" DROP COLUMN last_message_read_time;
DROP TABLE message;
