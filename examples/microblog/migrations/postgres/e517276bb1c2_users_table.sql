-- revision: e517276bb1c2
-- down_revision:
-- message: users table
-- created: 2017-09-11T11:23:05Z
-- Alembic's revision of the same id in the Flask original; the ids match so that
-- `stamp --alembic` can adopt a database the original created.

-- +up
CREATE TABLE "user" (
    id SERIAL NOT NULL,
    username VARCHAR(64) NOT NULL,
    email VARCHAR(120) NOT NULL,
    password_hash VARCHAR(256),
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX ix_user_email ON "user" (email);
CREATE UNIQUE INDEX ix_user_username ON "user" (username);

-- +down
DROP TABLE "user";
