//! phial-migrate: database migrations for phial apps, in the role of Flask-Migrate and
//! Alembic: SQL revision files that form a graph (branches, merges, labels), a version table
//! with one row per applied revision, and commands that are safe to run from several
//! processes at once.
//!
//! Use it from the app's CLI (`<app> db upgrade`) with [`MigrateExtension`], from the
//! `phial-migrate` binary (no app needed: it reads `--database-url`, `DATABASE_URL` or
//! `phial.toml`), or from code with [`Migrator`].
//!
//! ```no_run
//! use phial_core::prelude::*;
//! use phial_migrate::MigrateExtension;
//! use phial_sql::SqlExtension;
//!
//! #[tokio::main]
//! async fn main() -> std::process::ExitCode {
//!     App::builder()
//!         .config_toml("[sql]\nurl = \"sqlite:///app.db\"\n[migrate]\nupgrade_on_start = true\n")
//!         .extension(SqlExtension::new())
//!         .extension(MigrateExtension::new())
//!         .run() // also `db init`, `db revision -m "..."`, `db upgrade`, `db downgrade`, ...
//!         .await
//! }
//! ```
//!
//! ```sh
//! $ myapp db init
//! $ myapp db revision -m "add users"      # writes migrations/3f2a9c1b7d4e_add_users.sql
//! $ myapp db revision --autogenerate -m "add email"   # the SQL the declared tables need
//! $ myapp db plan                          # what upgrade would run, destructive statements flagged
//! $ myapp db upgrade                       # or: phial-migrate upgrade
//! applied  3f2a9c1b7d4e  add users  4.1 ms
//! upgraded 1 revision(s) in 4.1 ms; now at 3f2a9c1b7d4e
//! ```
//!
//! # Feature flags
//!
//! | feature | what it adds |
//! |---|---|
//! | `sqlite` (default) | SQLite: the run holds `BEGIN IMMEDIATE`; each revision in a savepoint |
//! | `postgres` | PostgreSQL: advisory lock; each revision in its own transaction |
//! | `mysql` | MariaDB/MySQL: `GET_LOCK`; statement-by-statement progress, dirty on partial failure |
//!
//! The facade's `migrate` feature turns this crate on; its `postgres` and `mysql` features
//! turn on the backends here as well as in phial-sql.
//!
//! # Revision files
//!
//! One file per revision in `migrations/` (`migrate.directory`), named `<id>_<slug>.sql` by
//! `revision`; any `*.sql` file in the folder is read, other files are ignored.
//!
//! ```sql
//! -- revision: 3f2a9c1b7d4e
//! -- down_revision: 1a2b3c4d5e6f
//! -- branch_labels:
//! -- message: add users
//! -- created: 2025-06-01T12:00:00Z
//!
//! -- +up
//! CREATE TABLE users (id BIGINT PRIMARY KEY, name VARCHAR(64) NOT NULL);
//! CREATE INDEX ix_users_name ON users (name);
//!
//! -- +down
//! DROP TABLE users;
//! ```
//!
//! - Header: `-- key: value` lines. `revision` and `down_revision` are required
//!   (`down_revision` empty for a first revision, `a, b` for a merge); `branch_labels`,
//!   `message` and `created` are optional; a `-- no-transaction` line runs the revision outside
//!   a transaction (`CREATE INDEX CONCURRENTLY`, `VACUUM`). Unknown keys are errors; other `--`
//!   lines are comments.
//! - Sections: `-- +up`, then optionally `-- +down` (without one, the revision cannot be
//!   downgraded; an empty one downgrades by doing nothing). Do not write `BEGIN`/`COMMIT`:
//!   the runner manages transactions.
//! - Statements are split at `;` outside quotes, comments and dollar-quoted bodies, and
//!   `BEGIN ... END` bodies of triggers and routines stay whole; fence anything else with
//!   `-- +statement-begin` / `-- +statement-end` lines (see [`Statement`]).
//! - The checksum is the SHA-256 of the file after removing a BOM and turning CRLF into LF:
//!   a checkout with other line endings is not a change; any other edit is.
//! - A malformed file is an error naming the file and line, before anything runs.
//!
//! # Targets
//!
//! `head`, `heads`, `base`, a full id or unique prefix (an ambiguous prefix lists the
//! candidates), a branch label, `label@head`, `+N`, `-N`, `REV+N`, `REV-N`; see [`Target`].
//!
//! # Commands and exit codes
//!
//! | command | what it does |
//! |---|---|
//! | `init` | creates the migrations folder |
//! | `revision -m MSG [--head REV]... [--branch-label L] [--rev-id ID] [--autogenerate]` | writes a revision file; with `--autogenerate`, filled with what the declared tables need |
//! | `merge REVS\|heads -m MSG [--rev-id ID]` | writes a merge revision whose parents are REVS (or every head) |
//! | `upgrade [TARGET] [--allow-out-of-order] [--sql [--dialect D]]` | applies revisions (default `head`); `--sql` prints them instead, `FROM:TO` allowed |
//! | `downgrade [TARGET] [--sql FROM:TO]` | reverts revisions (default `-1`; `downgrade -1` needs no `--`) |
//! | `plan [TARGET]` | what `upgrade` would run: per revision, transactional or not, statement count, destructive statements, checksums; exit 1 when `upgrade` would refuse |
//! | `current [--alembic]` | where the database is (and dirty, modified or missing revisions; with `--alembic`, what `alembic_version` says) |
//! | `history [-r A:B] [-v]` | revisions newest first with their state; `-r base:head`, `ae10:`, `current:` |
//! | `heads`, `branches` | the heads; the branch points and their branches |
//! | `show REV` | one revision in detail |
//! | `stamp TARGET [--purge]`, `stamp --alembic` | records a revision as applied without running SQL |
//! | `repair REV` | accepts an edited applied file, clears a failed run, forgets a missing file |
//! | `check` | compares the declared tables with the database: exit 1 naming the differences |
//!
//! Every command takes `--quiet`, `--json` (one JSON document for scripts, on `current`,
//! `history`, `heads`, `branches`, `show`, `plan`, `upgrade`, `downgrade`, `check`, `stamp`,
//! and `revision` and `merge`, which give the new file's path),
//! `-d/--directory` and `--lock-timeout SECONDS`; the binary also `--database-url` and
//! `--version-table`.
//!
//! The binary exits with 0 on success (including "nothing to do" and "No changes in schema
//! detected"), 1 when a command refused or failed (lock timeout, dirty or modified revision,
//! several heads, a failing statement, `check` finding differences, `plan` of an upgrade that
//! would refuse), and 2 for a malformed command line (including a malformed target, or
//! `downgrade --sql` without `FROM:TO`). Under `<app> db`, the app's CLI applies: 1 for any
//! error, 2 for a malformed command line.
//!
//! # Offline SQL
//!
//! `upgrade --sql` and `downgrade --sql FROM:TO` print the script a run would execute, for a
//! DBA to review and run: each revision in `BEGIN`/`COMMIT` where it would run in a
//! transaction, with the version table's `CREATE TABLE IF NOT EXISTS` and its
//! `INSERT`/`DELETE` in the dialect. No database is contacted: the dialect comes from
//! `--dialect` or the URL's scheme, and the start from `FROM` (`base` when only a target is
//! given). See [`Migrations::offline_sql`].
//!
//! # Autogenerate and `check`
//!
//! `<app> db revision --autogenerate -m MSG` compares the tables declared with
//! [`SqlExtension::table`](phial_sql::SqlExtension::table) (on `migrate.bind`) with the
//! database and writes the difference as up and down SQL: new and dropped tables, columns
//! added and dropped, type, nullability and default changes, indexes, unique constraints and
//! foreign keys. No difference writes nothing and prints "No changes in schema detected". One
//! column dropped and one added with the same type is written as a rename marked `-- REVIEW`;
//! destructive changes are marked `-- DESTRUCTIVE`; on SQLite, changes `ALTER TABLE` cannot
//! make use the copy-table recipe. `<app> db check` exits 1 naming the differences. Both refuse
//! while revisions are pending. The `phial-migrate` binary has no tables, and says so. See
//! [`Migrator::compare`] for how the comparison works.
//!
//! # Safety
//!
//! - **One runner at a time.** Every command that writes takes a lock on a dedicated
//!   connection (never a pooled one) and waits at most `--lock-timeout` (60 s): PostgreSQL
//!   `pg_try_advisory_lock` polling, MariaDB `GET_LOCK`, SQLite `BEGIN IMMEDIATE` with the busy
//!   timeout. The lock is session-scoped: it is released when the command ends, when it
//!   fails, and when the process dies (its connection closes). After taking the lock, the
//!   runner re-reads the version table, so a second runner finds the work done.
//! - **Transactions.** On PostgreSQL each revision runs in its own transaction with its
//!   version-table row; on SQLite in a savepoint of the locking transaction. On MariaDB, where
//!   DDL commits itself, statements run one by one: the row is marked `dirty` first and the
//!   count of committed statements kept, so a failure after the first statement leaves the
//!   revision dirty, and later runs refuse with a recovery hint until `repair` or `stamp`.
//!   `-- no-transaction` revisions run that way on every backend.
//! - **Drift.** An applied revision whose file changed refuses every run ("REV modified
//!   after it was applied") until the file is restored or `repair REV` accepts it. An applied
//!   revision with no file is an error naming it.
//! - **Heads and order.** `upgrade head` with several heads refuses and names them. An
//!   unapplied revision older than an applied one on the same branch refuses unless
//!   `--allow-out-of-order`.
//!
//! See [`deploying`] for running several instances.
//!
//! # Coming from Flask-Migrate
//!
//! | Flask-Migrate / Alembic | phial-migrate |
//! |---|---|
//! | `Migrate(app, db, directory="migrations")` | `.extension(MigrateExtension::new())`, `[migrate] directory` |
//! | `flask db init` | `<app> db init` / `phial-migrate init` (a folder and a README; no `env.py` or `alembic.ini`) |
//! | `flask db revision -m MSG [--head H] [--branch-label L] [--rev-id ID]` | same; repeat `--head` to write a merge revision |
//! | `flask db migrate -m MSG` | `<app> db revision --autogenerate -m MSG` (SQL, with renames and destructive changes marked) |
//! | `flask db upgrade [REV] [--sql]` | `db upgrade [TARGET] [--sql]` (default `head`; offline mode needs no database) |
//! | `flask db downgrade [REV] [--sql]` | `db downgrade [TARGET]` (default `-1`); `--sql FROM:TO` |
//! | `flask db current` | `db current` (and dirty or modified revisions) |
//! | `flask db history [-r A:B] [-v]` | `db history [-r A:B] [-v]` (with each revision's state) |
//! | `flask db heads`, `flask db branches` | `db heads`, `db branches` |
//! | `flask db show REV` | `db show REV` |
//! | `flask db merge REVS -m MSG` | `db merge REVS\|heads -m MSG` |
//! | `flask db stamp REV [--purge]` | `db stamp TARGET [--purge]` (also clears a dirty mark) |
//! | `flask db check` | `db check` (exit 1 naming the operations) |
//! | — | `db plan`: what `upgrade` would run, destructive statements flagged |
//! | — | `db repair REV`: accept an edited applied file, clear a failed run, forget a missing file |
//! | `alembic_version` (heads only) | `phial_migrations` (`version_table`): one row per applied revision, with checksum and timing; `current --alembic` and `stamp --alembic` read an existing `alembic_version`; `[migrate] adopt_alembic = true` stamps it on the first `upgrade` by itself |
//! | `script.py.mako` Python revisions | SQL files (Rust-code revisions not yet) |
//! | `env.py` `transaction_per_migration` | always, where the backend has transactional DDL |
//! | `env.py` `compare_type`, `compare_server_default` | always on; types and defaults are compared as the database spells them (see [`Migrator::compare`]) |
//! | concurrent `flask db upgrade` | serialized by the lock (Alembic has none) |
//!
//! See [`flask_migrate`] for moving a Flask-Migrate project and its live database over.
//!
//! Not yet in this release: Rust-code migrations, schema-qualified version tables, several
//! binds at once (`--multidb`), autogenerate of check constraints, comments, views, sequences
//! and (outside SQLite) primary key changes, keeping `alembic_version` up to date after
//! adopting.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(not(any(feature = "sqlite", feature = "postgres", feature = "mysql")))]
compile_error!("phial-migrate needs at least one backend feature: sqlite, postgres or mysql");

mod alembic;
mod authoring;
mod autogenerate;
mod commands;
mod config;
mod destructive;
mod error;
mod extension;
mod graph;
mod listing;
mod migrator;
mod offline;
mod plan;
mod revision;
mod runner;
mod schema;
mod session;
mod split;
mod table;
mod target;

pub use autogenerate::SchemaDiff;
pub use commands::{CommonOptions, Context, DbArgs, MigrateCommand, OfflineOptions};
pub use config::MigrateConfig;
pub use error::{Failure, MigrateError};
pub use extension::MigrateExtension;
pub use graph::Migrations;
pub use migrator::{Migrator, RevisionState, Status};
pub use plan::{DestructiveStatement, Plan, PlannedRevision};
pub use revision::Revision;
pub use runner::{Direction, Repair, RunReport, StampReport, StepReport};
pub use split::{Dialect, Statement};
pub use table::AppliedRevision;
pub use target::Target;

#[doc = include_str!("../docs/deploying.md")]
pub mod deploying {}

#[doc = include_str!("../docs/flask-migrate.md")]
pub mod flask_migrate {}
