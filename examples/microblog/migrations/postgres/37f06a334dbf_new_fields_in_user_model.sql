-- revision: 37f06a334dbf
-- down_revision: 780739b227a7
-- message: new fields in user model
-- created: 2017-09-14T10:54:13Z

-- +up
ALTER TABLE "user" ADD COLUMN about_me VARCHAR(140);
ALTER TABLE "user" ADD COLUMN last_seen TIMESTAMP WITHOUT TIME ZONE;

-- +down
ALTER TABLE "user" DROP COLUMN last_seen;
ALTER TABLE "user" DROP COLUMN about_me;
