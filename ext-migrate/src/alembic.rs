//! Adopting a database that Flask-Migrate/Alembic has been migrating: its `alembic_version`
//! table (one `version_num` column, one row per head) read as the current heads, and turned
//! into `phial_migrations` rows by `stamp --alembic`.
//!
//! The revision files must carry Alembic's revision ids (`-- revision: ae1027a6acf`), so
//! that the heads it recorded name revisions here; the SQL of revisions already applied is
//! not run. `alembic_version` itself is left as it is.

use crate::error::MigrateError;
use crate::migrator::Migrator;
use crate::runner::{Run, StampReport, State};
use crate::session::{Session, on_conn};

/// Alembic's default `version_table`.
pub(crate) const ALEMBIC_TABLE: &str = "alembic_version";

impl Session {
    /// The revisions `alembic_version` records, sorted.
    pub(crate) async fn alembic_heads(&mut self) -> Result<Vec<String>, MigrateError> {
        if !self.has_table(ALEMBIC_TABLE).await? {
            return Err(MigrateError::Config(format!(
                "no `{ALEMBIC_TABLE}` table in this database: --alembic reads the table Flask-Migrate keeps its \
                 current revision in"
            )));
        }
        let sql = sqlx::AssertSqlSafe(format!("SELECT version_num FROM {ALEMBIC_TABLE} ORDER BY version_num"));
        let heads: Vec<String> = on_conn!(&mut self.conn, |c| sqlx::query_scalar(sql).fetch_all(&mut *c).await?);
        Ok(heads)
    }
}

impl Run<'_> {
    pub(crate) async fn stamp_alembic(&self, session: &mut Session, purge: bool) -> Result<StampReport, MigrateError> {
        let heads = session.alembic_heads().await?;
        let mut goals = Vec::with_capacity(heads.len());
        for head in &heads {
            let Some(i) = self.migrations.index_of(head) else {
                return Err(MigrateError::Target(format!(
                    "`{ALEMBIC_TABLE}` says the database is at {head}, but no revision file in {} has that id; \
                     write the revisions up to it with their Alembic ids (`-- revision: {head}`)",
                    self.migrations.directory().display()
                )));
            };
            goals.push(i);
        }
        let state = State::new(self.migrations, session.read_rows().await?);
        self.stamp_goals(session, &state, &goals, purge).await
    }
}

impl Migrator {
    /// The revisions Flask-Migrate/Alembic recorded in `alembic_version`. Takes no lock.
    ///
    /// # Errors
    ///
    /// [`MigrateError::Config`] when the table does not exist, or a database error.
    ///
    /// # Examples
    ///
    /// ```
    /// # async fn run(migrator: phial_migrate::Migrator) -> Result<(), phial_migrate::MigrateError> {
    /// println!("Alembic says: {}", migrator.alembic_heads().await?.join(", "));
    /// # Ok(()) }
    /// ```
    pub async fn alembic_heads(&self) -> Result<Vec<String>, MigrateError> {
        let config = self.config_ref();
        let mut session = Session::open(self.db_ref(), &config.version_table, config.lock_timeout()).await?;
        let heads = session.alembic_heads().await;
        session.close().await;
        heads
    }

    /// `stamp --alembic`: records the revisions `alembic_version` names, and everything below
    /// them, as applied in the version table, without running SQL, so that a database
    /// Flask-Migrate has been migrating continues with phial-migrate. With `purge`, the
    /// version table is emptied first.
    ///
    /// # Errors
    ///
    /// No `alembic_version` table, a recorded revision with no file here
    /// ([`MigrateError::Target`]), [`MigrateError::LockTimeout`], or a database error.
    ///
    /// # Examples
    ///
    /// ```
    /// # async fn run(migrator: phial_migrate::Migrator) -> Result<(), phial_migrate::MigrateError> {
    /// let report = migrator.stamp_alembic(false).await?;
    /// println!("now recorded as applied: {}", report.marked.join(", "));
    /// # Ok(()) }
    /// ```
    pub async fn stamp_alembic(&self, purge: bool) -> Result<StampReport, MigrateError> {
        let migrations = self.migrations().await?;
        let mut session = self.locked_session().await?;
        let result = self.runner(&migrations).stamp_alembic(&mut session, purge).await;
        session.close().await;
        result
    }
}
