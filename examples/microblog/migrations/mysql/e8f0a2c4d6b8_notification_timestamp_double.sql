-- revision: e8f0a2c4d6b8
-- down_revision: c3d5e7f9a1b2
-- message: notification.timestamp as DOUBLE (phial port, MariaDB/MySQL only: FLOAT there is 4 bytes)
-- created: 2026-11-23T22:45:00Z

-- The original declares `sa.Float()`, which is an 8-byte `double precision` on PostgreSQL and
-- SQLite but a 4-byte `FLOAT` on MariaDB/MySQL. Seconds since the epoch (about 1.8e9) then keep
-- 24 bits: every `time()` within the same 128 seconds is stored as the same number, so a
-- notification replaced a moment later is not newer than the one the page last saw, and
-- `/notifications?since=` never hands it out (the unread badge and the export's progress stop
-- moving for up to two minutes). `DOUBLE` keeps microseconds; SQLAlchemy's `Float` reads it
-- as the same Python float, so the original runs on the altered column too. The index on the
-- column is kept by `MODIFY`.
-- +up
ALTER TABLE notification MODIFY timestamp DOUBLE NOT NULL;

-- +down
ALTER TABLE notification MODIFY timestamp FLOAT NOT NULL;
