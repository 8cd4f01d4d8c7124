-- revision: 834b1a697901
-- down_revision: c81bac34faab
-- message: user tokens
-- created: 2017-11-05T18:41:07Z

-- +up
ALTER TABLE `user` ADD COLUMN token VARCHAR(32);
ALTER TABLE `user` ADD COLUMN token_expiration DATETIME;
CREATE UNIQUE INDEX ix_user_token ON `user` (token);

-- +down
ALTER TABLE `user` DROP COLUMN token_expiration;
ALTER TABLE `user` DROP COLUMN token;
