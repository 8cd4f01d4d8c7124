//! Adopting a database the Flask original created: its `alembic_version` names the revision
//! Flask-Migrate applied last, and the revisions here carry the same ids, so the port records
//! that revision and its ancestors as applied instead of creating the tables again.

use phial::migrate::{MigrateConfig, MigrateError, Migrator};
use phial::prelude::*;
use phial::sql::Databases;

/// Runs `stamp --alembic` before `migrate` starts, when the database has an `alembic_version`
/// table and phial-migrate has recorded nothing yet. Every command of the app starts it, so
/// `microblog db upgrade` adopts as well as serving does.
#[derive(Debug, Default)]
pub struct AdoptAlembic;

impl Extension for AdoptAlembic {
    const NAME: &'static str = "adopt_alembic";
    type Config = ();

    fn deps(&self) -> Deps {
        Deps::none().requires("sql").before("migrate")
    }

    fn build(&self, _config: &(), _ctx: &mut BuildCtx<'_>) -> Result<(), Error> {
        Ok(())
    }

    async fn start(&self, _config: &(), ctx: &mut StartCtx) -> Result<(), Error> {
        let migrate: MigrateConfig = ctx.config().extract_section("migrate")?;
        let db = ctx.require::<Databases>()?.bind(&migrate.bind).map_err(Error::other)?.clone();
        let migrator = Migrator::new(db, &migrate).map_err(Error::other)?;
        let heads = match migrator.alembic_heads().await {
            Ok(heads) => heads,
            // No `alembic_version` table: not a database of the original.
            Err(MigrateError::Config(_)) => return Ok(()),
            Err(err) => return Err(Error::other(err)),
        };
        if heads.is_empty() {
            return Ok(());
        }
        let status = migrator.status().await.map_err(Error::other)?;
        if !status.rows().is_empty() {
            return Ok(());
        }
        let report = migrator.stamp_alembic(false).await.map_err(Error::other)?;
        tracing::info!(alembic_version = %heads.join(", "), ?report, "adopted the Flask-Migrate database");
        Ok(())
    }
}
