//! Integration tests of phial-migrate, on SQLite always and on PostgreSQL and MariaDB when
//! their servers are reachable (required in CI). Each test makes its own database and its own
//! migrations folder.
#![expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

mod alembic;
mod app;
mod autogenerate;
mod concurrency;
mod drift;
mod graph;
mod listing;
mod offline;
mod partial;
mod roundtrip;

use std::path::{Path, PathBuf};

use clap::Parser;
use phial_core::cli::Output;
use phial_migrate::{Context, DbArgs, MigrateConfig, MigrateError, Migrator};
use phial_sql::sea_query::{Asterisk, Expr, ExprTrait, Query};
use phial_sql::testing::TestDatabase;
use phial_sql::{Backend, Databases, Db};

/// A database of one backend and a migrations folder of its own.
pub(crate) struct Fixture {
    pub(crate) database: TestDatabase,
    pub(crate) databases: Databases,
    folder: tempfile::TempDir,
}

impl Fixture {
    pub(crate) async fn new(database: TestDatabase) -> Self {
        let folder = tempfile::tempdir().unwrap();
        let databases = Databases::connect(&database.config(), folder.path(), Vec::new()).await.unwrap();
        std::fs::create_dir_all(folder.path().join("migrations")).unwrap();
        Self { database, databases, folder }
    }

    /// One fixture per reachable backend.
    pub(crate) async fn all() -> Vec<Self> {
        let mut all = Vec::new();
        for database in TestDatabase::available().await {
            all.push(Self::new(database).await);
        }
        all
    }

    pub(crate) fn backend(&self) -> Backend {
        self.database.backend()
    }

    pub(crate) fn db(&self) -> &Db {
        self.databases.default_db()
    }

    pub(crate) fn dir(&self) -> PathBuf {
        self.folder.path().join("migrations")
    }

    pub(crate) fn config(&self) -> MigrateConfig {
        let mut config = MigrateConfig::default();
        config.directory = self.dir();
        config.lock_timeout = 20.0;
        config
    }

    pub(crate) fn migrator(&self) -> Migrator {
        Migrator::new(self.db().clone(), &self.config()).unwrap()
    }

    /// Writes revision `id` with `parents`, `up` and optional `down` SQL; returns its path.
    pub(crate) fn write(&self, id: &str, parents: &str, up: &str, down: Option<&str>) -> PathBuf {
        let down = down.map(|d| format!("-- +down\n{d}\n")).unwrap_or_default();
        let text =
            format!("-- revision: {id}\n-- down_revision: {parents}\n-- message: rev {id}\n\n-- +up\n{up}\n\n{down}");
        let path = self.dir().join(format!("{id}_rev.sql"));
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Runs `db <args>` as the CLI would, printing to a buffer.
    pub(crate) async fn run(&self, args: &[&str]) -> (Result<(), MigrateError>, String) {
        let parsed = DbArgs::try_parse_from(std::iter::once("db").chain(args.iter().copied())).unwrap();
        let (out, text) = Output::buffer();
        let result =
            Context::new(self.config(), Some(self.db().clone())).execute(&parsed.command, &parsed.options, &out).await;
        (result, text.text())
    }

    /// Like [`run`](Self::run), failing the test on an error.
    pub(crate) async fn ok(&self, args: &[&str]) -> String {
        let (result, text) = self.run(args).await;
        if let Err(err) = result {
            panic!("{:?}: `db {}` failed: {err}\n{text}", self.backend(), args.join(" "));
        }
        text
    }

    /// Like [`run`](Self::run), expecting an error; returns its message.
    pub(crate) async fn err(&self, args: &[&str]) -> String {
        let (result, text) = self.run(args).await;
        match result {
            Ok(()) => panic!("{:?}: `db {}` succeeded, expected an error:\n{text}", self.backend(), args.join(" ")),
            Err(err) => err.to_string(),
        }
    }

    /// The revisions in the version table, sorted.
    pub(crate) async fn applied(&self) -> Vec<String> {
        let status = self.migrator().status().await.unwrap();
        let mut ids: Vec<String> = status.rows().iter().map(|r| r.revision.clone()).collect();
        ids.sort();
        ids
    }

    /// Runs `sql` directly on the database.
    pub(crate) async fn exec(&self, sql: &str) {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self.backend() {
            #[cfg(feature = "postgres")]
            Backend::Postgres => {
                sqlx::raw_sql(sql).execute(self.db().postgres_pool().unwrap()).await.unwrap();
            }
            #[cfg(feature = "mysql")]
            Backend::MySql => {
                sqlx::raw_sql(sql).execute(self.db().mysql_pool().unwrap()).await.unwrap();
            }
            _ => {
                sqlx::raw_sql(sql).execute(self.db().sqlite_pool().unwrap()).await.unwrap();
            }
        }
    }

    /// The first column of the first row of `sql`, a count.
    pub(crate) async fn scalar(&self, sql: &str) -> i64 {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self.backend() {
            #[cfg(feature = "postgres")]
            Backend::Postgres => sqlx::query_scalar(sql).fetch_one(self.db().postgres_pool().unwrap()).await.unwrap(),
            #[cfg(feature = "mysql")]
            Backend::MySql => sqlx::query_scalar(sql).fetch_one(self.db().mysql_pool().unwrap()).await.unwrap(),
            _ => sqlx::query_scalar(sql).fetch_one(self.db().sqlite_pool().unwrap()).await.unwrap(),
        }
    }

    /// `SELECT COUNT(*) FROM table`, or `None` when the table does not exist.
    pub(crate) async fn count(&self, table: &str) -> Option<i64> {
        let select = Query::select().expr(Expr::col(Asterisk).count()).from(table.to_owned()).to_owned();
        self.db().fetch_scalar::<i64, _>(&select).await.ok()
    }
}

/// A path's display form, for messages.
pub(crate) fn shown(path: &Path) -> String {
    path.display().to_string()
}
