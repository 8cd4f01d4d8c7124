//! Binds: named extra databases, each with its own tables.

use axum::routing::get;
use phial_core::axum;
use phial_core::prelude::*;
use phial_sql::testing::TestDatabase;
use phial_sql::{Bind, BindName, Databases, SqlExtension};

use crate::{count, insert_item, items_table, start};

struct Analytics;

impl BindName for Analytics {
    const NAME: &'static str = "analytics";
}

#[tokio::test]
async fn same_named_tables_on_two_binds_stay_apart() {
    let main = TestDatabase::sqlite();
    let analytics = TestDatabase::sqlite();
    let (running, client, default_db) = start(
        App::builder()
            .profile(Profile::Testing)
            .set("sql.url", main.url())
            .config_toml(&format!("[sql.binds.analytics]\nurl = \"{}\"\n", analytics.url()))
            .extension(SqlExtension::new().table(items_table()).table(items_table().bind("analytics")))
            .endpoint("bound", "/bound", get(|Bind(db, ..): Bind<Analytics>| async move { db.name().to_owned() })),
    )
    .await;
    let databases = running.state().require::<Databases>().clone();
    databases.create_all("analytics").await.unwrap();
    let bound = databases.bind("analytics").unwrap().clone();
    bound.execute(&insert_item("only-in-analytics")).await.unwrap();
    assert_eq!(count(&bound).await, 1);
    // create_all on the analytics bind did not touch the default database.
    let missing = default_db.execute(&insert_item("x")).await;
    assert!(missing.is_err(), "the default database has no item table yet");
    databases.create_all("default").await.unwrap();
    assert_eq!(count(&default_db).await, 0);
    assert_eq!(client.get("/bound").await.text(), "analytics");
    assert!(databases.bind("nope").is_err());
    databases.drop_all("analytics").await.unwrap();
    assert!(bound.execute(&insert_item("gone")).await.is_err());
}

#[tokio::test]
async fn table_on_an_unconfigured_bind_fails_startup() {
    let main = TestDatabase::sqlite();
    let err = App::builder()
        .profile(Profile::Testing)
        .set("sql.url", main.url())
        .extension(SqlExtension::new().table(items_table().bind("reports")))
        .build()
        .unwrap()
        .start()
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("sql.binds.reports"), "{err}");
}
