-- revision: 2b017edaa91f
-- down_revision: ae346256b650
-- message: add language to posts
-- created: 2017-10-04T22:48:34Z

-- +up
ALTER TABLE post ADD COLUMN language VARCHAR(5);

-- +down
ALTER TABLE post DROP COLUMN language;
