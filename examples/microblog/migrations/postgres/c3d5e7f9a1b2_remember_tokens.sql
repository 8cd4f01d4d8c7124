-- revision: c3d5e7f9a1b2
-- down_revision: b7e2c4d6f8a0
-- message: remember-me tokens (phial port: phial-login's SqlRememberStore, shared by every instance)
-- created: 2026-11-23T21:45:00Z

-- The tables of phial-login's `SqlRememberStore`, the same on every backend. The original
-- signs the user id into its remember cookie; the port keeps revocable tokens, here in the
-- database so that every instance sharing it, and a restart, honour and revoke the same ones.
-- +up
CREATE TABLE phial_remember_token (
    selector VARCHAR(64) NOT NULL PRIMARY KEY,
    data TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX ix_phial_remember_token_expires_at ON phial_remember_token (expires_at);
CREATE TABLE phial_login_epoch (
    user_id VARCHAR(255) NOT NULL PRIMARY KEY,
    epoch BIGINT NOT NULL
);

-- +down
DROP TABLE phial_login_epoch;
DROP TABLE phial_remember_token;
