//! Autogenerate and `check` through the app's CLI, where the declared tables are known: a
//! first revision from nothing, no-op, added column, likely rename, SQLite's copy-table recipe,
//! destructive marks; and the binary, which has no tables, saying so.

use std::process::ExitCode;

use phial_core::cli::Output;
use phial_core::prelude::*;
use phial_migrate::MigrateExtension;
use phial_sql::sea_query::{ColumnDef, ForeignKey, Index};
use phial_sql::{SqlExtension, Table};

use crate::Fixture;

fn users(columns: &[&str]) -> Table {
    let mut create = phial_sql::sea_query::Table::create();
    create.table("users").col(ColumnDef::new("id").big_integer().not_null().auto_increment().primary_key());
    for column in columns {
        match *column {
            "name" => create.col(ColumnDef::new("name").string_len(64).not_null()),
            "full_name" => create.col(ColumnDef::new("full_name").string_len(64).not_null()),
            "nullable_name" => create.col(ColumnDef::new("name").string_len(64).null()),
            "email" => create.col(ColumnDef::new("email").string_len(120).null()),
            "active" => create.col(ColumnDef::new("active").boolean().not_null().default(true)),
            other => panic!("unknown column {other}"),
        };
    }
    let table = Table::new(create.clone());
    if columns.contains(&"name") {
        table.index(Index::create().name("ix_users_name").table("users").col("name").to_owned())
    } else {
        table
    }
}

fn posts() -> Table {
    Table::new(
        phial_sql::sea_query::Table::create()
            .table("posts")
            .col(ColumnDef::new("id").big_integer().not_null().auto_increment().primary_key())
            .col(ColumnDef::new("user_id").big_integer().not_null())
            .col(ColumnDef::new("title").string_len(200).not_null())
            .foreign_key(ForeignKey::create().name("fk_posts_user").from("posts", "user_id").to("users", "id"))
            .to_owned(),
    )
}

/// `app db <args>` with `tables` declared; the command's output, or its error.
async fn db(fx: &Fixture, tables: Vec<Table>, args: &[&str]) -> Result<String, String> {
    let mut sql = SqlExtension::new();
    for table in tables {
        sql = sql.table(table);
    }
    let app = App::builder()
        .profile(Profile::Testing)
        .set("sql.url", fx.database.url())
        .set("migrate.directory", fx.dir().to_str().unwrap())
        .extension(sql)
        .extension(MigrateExtension::new())
        .build()
        .unwrap();
    let (out, text) = Output::buffer();
    let command_line: Vec<&str> = ["app", "db"].into_iter().chain(args.iter().copied()).collect();
    match app.run_with(command_line, out).await {
        Ok(code) => {
            assert_eq!(code, ExitCode::SUCCESS);
            Ok(text.text())
        }
        Err(err) => Err(format!("{err}\n{}", text.text())),
    }
}

fn files(fx: &Fixture) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fx.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| std::path::Path::new(n).extension().is_some_and(|e| e == "sql"))
        .collect();
    names.sort();
    names
}

fn read(fx: &Fixture, id: &str) -> String {
    let name = files(fx).into_iter().find(|n| n.starts_with(id)).unwrap();
    std::fs::read_to_string(fx.dir().join(name)).unwrap()
}

#[tokio::test]
async fn autogenerate_from_nothing_then_no_op_then_add_column() {
    for fx in Fixture::all().await {
        let backend = fx.backend();
        let first =
            db(&fx, vec![users(&["name"]), posts()], &["revision", "--autogenerate", "-m", "init", "--rev-id", "g1"])
                .await
                .unwrap();
        assert!(
            first.contains("detected create table users") && first.contains("detected create table posts"),
            "{first}"
        );
        let file = read(&fx, "g1");
        assert!(file.find("-- create table users").unwrap() < file.find("-- create table posts").unwrap(), "{file}");
        db(&fx, vec![], &["upgrade"]).await.unwrap();
        assert_eq!(fx.count("posts").await, Some(0), "{backend:?}");

        // The database now matches: no file, exit 0, for autogenerate and for check.
        let again = db(&fx, vec![users(&["name"]), posts()], &["revision", "--autogenerate", "-m", "nothing"]).await;
        assert_eq!(again.unwrap().trim(), "No changes in schema detected", "{backend:?}");
        assert_eq!(files(&fx).len(), 1, "{backend:?}: no file written");
        let json = db(&fx, vec![users(&["name"]), posts()], &["--json", "revision", "--autogenerate", "-m", "x"]).await;
        assert_eq!(json.unwrap().trim(), r#"{"created":null,"operations":[],"parents":["g1"]}"#);
        let check = db(&fx, vec![users(&["name"]), posts()], &["check"]).await.unwrap();
        assert_eq!(check.trim(), "No changes in schema detected");

        // One more column declared: check fails naming it; autogenerate writes it, both ways.
        let declared = || vec![users(&["name", "email"]), posts()];
        let err = db(&fx, declared(), &["check"]).await.unwrap_err();
        assert!(err.contains("differs from the declared tables: add column users.email"), "{backend:?}: {err}");
        db(&fx, declared(), &["revision", "--autogenerate", "-m", "email", "--rev-id", "g2"]).await.unwrap();
        let file = read(&fx, "g2");
        assert!(file.contains("-- down_revision: g1"), "{file}");
        let up = &file[file.find("-- +up").unwrap()..file.find("-- +down").unwrap()];
        assert!(up.contains("-- add column users.email\nALTER TABLE ") && up.contains(" ADD COLUMN "), "{file}");
        let down = &file[file.find("-- +down").unwrap()..];
        assert!(down.contains("-- DESTRUCTIVE") && down.contains(" DROP COLUMN "), "{file}");
        db(&fx, vec![], &["upgrade"]).await.unwrap();
        assert_eq!(db(&fx, declared(), &["check"]).await.unwrap().trim(), "No changes in schema detected");
        db(&fx, vec![], &["downgrade"]).await.unwrap();
        // Without the reverted file the database is at the head again: the down section undid it.
        std::fs::remove_file(fx.dir().join(files(&fx).into_iter().find(|n| n.starts_with("g2")).unwrap())).unwrap();
        let err = db(&fx, declared(), &["check"]).await.unwrap_err();
        assert!(err.contains("add column users.email"), "{backend:?}: {err}");
        assert!(db(&fx, vec![users(&["name"]), posts()], &["check"]).await.is_ok(), "{backend:?}");
    }
}

#[tokio::test]
async fn likely_rename_is_flagged_and_keeps_the_data() {
    for fx in Fixture::all().await {
        db(&fx, vec![users(&["name"])], &["revision", "--autogenerate", "-m", "init", "--rev-id", "r1"]).await.unwrap();
        db(&fx, vec![], &["upgrade"]).await.unwrap();
        fx.exec("INSERT INTO users (name) VALUES ('ada')").await;
        let out =
            db(&fx, vec![users(&["full_name"])], &["revision", "--autogenerate", "-m", "rename", "--rev-id", "r2"])
                .await
                .unwrap();
        assert!(out.contains("rename column users.name to full_name (likely)"), "{out}");
        let file = read(&fx, "r2");
        assert!(
            file.contains("-- REVIEW: users.name was dropped and users.full_name added with the same type"),
            "{file}"
        );
        assert!(!file[..file.find("-- +down").unwrap()].contains("DESTRUCTIVE"), "a rename loses nothing: {file}");
        db(&fx, vec![], &["upgrade"]).await.unwrap();
        assert_eq!(fx.scalar("SELECT COUNT(*) FROM users WHERE full_name = 'ada'").await, 1, "{:?}", fx.backend());
        assert!(db(&fx, vec![users(&["full_name"])], &["check"]).await.is_ok(), "{:?}", fx.backend());
    }
}

#[tokio::test]
async fn dropped_tables_and_sqlite_rebuilds_are_marked() {
    for fx in Fixture::all().await {
        db(&fx, vec![users(&["name"]), posts()], &["revision", "--autogenerate", "-m", "init", "--rev-id", "d1"])
            .await
            .unwrap();
        db(&fx, vec![], &["upgrade"]).await.unwrap();
        fx.exec("INSERT INTO users (name) VALUES ('ada')").await;
        // posts goes away, users.name becomes nullable.
        db(&fx, vec![users(&["nullable_name"])], &["revision", "--autogenerate", "-m", "shrink", "--rev-id", "d2"])
            .await
            .unwrap();
        let file = read(&fx, "d2");
        let up = &file[..file.find("-- +down").unwrap()];
        assert!(up.contains("-- drop table posts\n-- DESTRUCTIVE"), "{file}");
        if fx.backend() == phial_sql::Backend::Sqlite {
            assert!(up.contains("-- rebuild table users (name nullable)"), "{file}");
            assert!(up.contains("PRAGMA defer_foreign_keys = ON;") && up.contains("users__phial_new"), "{file}");
        } else {
            assert!(up.contains("-- alter column users.name (nullable)"), "{file}");
        }
        db(&fx, vec![], &["upgrade"]).await.unwrap();
        assert_eq!(fx.count("posts").await, None, "{:?}", fx.backend());
        assert_eq!(fx.scalar("SELECT COUNT(*) FROM users WHERE name = 'ada'").await, 1, "the rows survive");
        assert!(db(&fx, vec![users(&["nullable_name"])], &["check"]).await.is_ok(), "{:?}", fx.backend());
        db(&fx, vec![], &["downgrade"]).await.unwrap();
        std::fs::remove_file(fx.dir().join(files(&fx).into_iter().find(|n| n.starts_with("d2")).unwrap())).unwrap();
        let check = db(&fx, vec![users(&["name"]), posts()], &["check"]).await;
        assert!(check.is_ok(), "{:?}: the down section restores the schema: {check:?}", fx.backend());
    }
}

#[tokio::test]
async fn autogenerate_refuses_a_database_behind_the_head_and_the_binary_has_no_tables() {
    let fx = Fixture::new(phial_sql::testing::TestDatabase::sqlite()).await;
    fx.write("b1", "", "CREATE TABLE other (x INTEGER);", None);
    let err = db(&fx, vec![users(&["name"])], &["revision", "--autogenerate", "-m", "x"]).await.unwrap_err();
    assert!(err.contains("not up to date: b1 not applied"), "{err}");
    let err = fx.err(&["check"]).await;
    assert!(
        err.contains("does not know the app's tables") && err.contains("<app> db revision --autogenerate"),
        "{err}"
    );
}

fn posts_with(foreign_key: bool, index: bool) -> Table {
    let mut create = phial_sql::sea_query::Table::create();
    create
        .table("posts")
        .col(ColumnDef::new("id").big_integer().not_null().auto_increment().primary_key())
        .col(ColumnDef::new("user_id").big_integer().not_null())
        .col(ColumnDef::new("slug").string_len(80).not_null());
    if foreign_key {
        create.foreign_key(
            ForeignKey::create()
                .name("fk_posts_user")
                .from("posts", "user_id")
                .to("users", "id")
                .on_delete(phial_sql::sea_query::ForeignKeyAction::Cascade),
        );
    }
    let table = Table::new(create.clone());
    if index {
        table.index(Index::create().name("uq_posts_slug").table("posts").col("slug").unique().to_owned())
    } else {
        table
    }
}

#[tokio::test]
async fn indexes_unique_constraints_and_foreign_keys_are_added_and_removed() {
    for fx in Fixture::all().await {
        let backend = fx.backend();
        let before = || vec![users(&["name"]), posts_with(false, false)];
        let after = || vec![users(&["name"]), posts_with(true, true)];
        db(&fx, before(), &["revision", "--autogenerate", "-m", "init", "--rev-id", "k1"]).await.unwrap();
        db(&fx, vec![], &["upgrade"]).await.unwrap();
        let out = db(&fx, after(), &["revision", "--autogenerate", "-m", "keys", "--rev-id", "k2"]).await.unwrap();
        if backend == phial_sql::Backend::Sqlite {
            assert!(out.contains("detected rebuild table posts (foreign keys changed)"), "{out}");
        } else {
            assert!(out.contains("detected add foreign key posts (user_id) -> users (id)"), "{backend:?}: {out}");
        }
        assert!(
            out.contains("detected create unique index uq_posts_slug on posts (slug)")
                || backend == phial_sql::Backend::Sqlite,
            "{out}"
        );
        db(&fx, vec![], &["upgrade"]).await.unwrap();
        let check = db(&fx, after(), &["check"]).await;
        assert!(check.is_ok(), "{backend:?}: {check:?}\n{}", read(&fx, "k2"));
        // The foreign key works, with its ON DELETE CASCADE.
        fx.exec("INSERT INTO users (name) VALUES ('ada')").await;
        fx.exec("INSERT INTO posts (user_id, slug) VALUES (1, 'hello')").await;
        fx.exec("DELETE FROM users").await;
        assert_eq!(fx.count("posts").await, Some(0), "{backend:?}: the cascade ran");
        // And back: the down section removes them again.
        db(&fx, vec![], &["downgrade"]).await.unwrap();
        std::fs::remove_file(fx.dir().join(files(&fx).into_iter().find(|n| n.starts_with("k2")).unwrap())).unwrap();
        let check = db(&fx, before(), &["check"]).await;
        assert!(check.is_ok(), "{backend:?}: {check:?}");
        let json = db(&fx, after(), &["--json", "check"]).await.unwrap_err();
        assert!(json.contains("\"changes\":[\""), "{json}");
    }
}

#[tokio::test]
async fn hand_written_schema_matching_the_declaration_is_no_change() {
    for fx in Fixture::all().await {
        let id = match fx.backend() {
            phial_sql::Backend::Postgres => "id BIGSERIAL PRIMARY KEY",
            phial_sql::Backend::MySql => "id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY",
            _ => "id INTEGER PRIMARY KEY AUTOINCREMENT",
        };
        let up = format!(
            "CREATE TABLE users ({id}, name VARCHAR(64) NOT NULL, active BOOLEAN NOT NULL DEFAULT TRUE);\n\
             CREATE INDEX ix_users_name ON users (name);"
        );
        fx.write("h1", "", &up, Some("DROP TABLE users;"));
        fx.ok(&["upgrade"]).await;
        let out = db(&fx, vec![users(&["name", "active"])], &["revision", "--autogenerate", "-m", "none"]).await;
        assert_eq!(out.as_deref().map(str::trim), Ok("No changes in schema detected"), "{:?}", fx.backend());
        assert_eq!(files(&fx), ["h1_rev.sql"], "{:?}", fx.backend());
    }
}
