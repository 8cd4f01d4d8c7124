//! Reading a [`Schema`] from a live database: SQLite's `pragma_*` table functions,
//! PostgreSQL's catalogs, MariaDB/MySQL's `information_schema`. Each reads one schema (SQLite:
//! the connection's main database) in a handful of queries, whatever the number of tables.

#[cfg(any(feature = "sqlite", feature = "mysql"))]
use super::action;
use super::{Column, ForeignKey, Index, Schema, TableModel};

/// Tables autogenerate never touches: the version tables and the backends' own.
pub(crate) fn ignored(name: &str, version_table: &str) -> bool {
    name == version_table || name == "alembic_version" || name.starts_with("sqlite_")
}

/// The table `name`, created on first use.
#[cfg(any(feature = "postgres", feature = "mysql"))]
fn table<'a>(schema: &'a mut Schema, name: &str) -> &'a mut TableModel {
    schema
        .tables
        .entry(name.to_owned())
        .or_insert_with(|| TableModel { name: name.to_owned(), ..TableModel::default() })
}

#[cfg(feature = "sqlite")]
pub(crate) async fn sqlite(conn: &mut sqlx::SqliteConnection, version_table: &str) -> Result<Schema, sqlx::Error> {
    use sqlx::Row;
    let mut schema = Schema::default();
    let tables = sqlx::query("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .fetch_all(&mut *conn)
        .await?;
    for row in tables {
        let name: String = row.try_get("name")?;
        if ignored(&name, version_table) {
            continue;
        }
        let sql: Option<String> = row.try_get("sql")?;
        let columns = sqlx::query(
            "SELECT name, type, \"notnull\" AS not_null, dflt_value, pk FROM pragma_table_info(?) ORDER BY cid",
        )
        .bind(&name)
        .fetch_all(&mut *conn)
        .await?;
        let mut model = TableModel { name: name.clone(), sql, ..TableModel::default() };
        let mut primary: Vec<(i64, String)> = Vec::new();
        for column in columns {
            let column_name: String = column.try_get("name")?;
            let pk: i64 = column.try_get("pk")?;
            if pk > 0 {
                primary.push((pk, column_name.clone()));
            }
            let not_null: i64 = column.try_get("not_null")?;
            model.columns.push(Column {
                name: column_name,
                sql_type: column.try_get("type")?,
                // A primary key column cannot hold NULL in practice, whether or not it says so.
                nullable: not_null == 0 && pk == 0,
                default: column.try_get("dflt_value")?,
                generated: None,
            });
        }
        primary.sort();
        model.primary_key = primary.into_iter().map(|(_, c)| c).collect();
        model.indexes = sqlite_indexes(conn, &name).await?;
        model.foreign_keys = sqlite_foreign_keys(conn, &name).await?;
        schema.tables.insert(name, model);
    }
    Ok(schema)
}

#[cfg(feature = "sqlite")]
async fn sqlite_indexes(conn: &mut sqlx::SqliteConnection, table: &str) -> Result<Vec<Index>, sqlx::Error> {
    use sqlx::Row;
    let list = sqlx::query("SELECT name, \"unique\" AS is_unique, origin FROM pragma_index_list(?) ORDER BY name")
        .bind(table)
        .fetch_all(&mut *conn)
        .await?;
    let mut indexes = Vec::new();
    for row in list {
        let origin: String = row.try_get("origin")?;
        if origin == "pk" {
            continue;
        }
        let name: String = row.try_get("name")?;
        let columns: Vec<Option<String>> = sqlx::query_scalar("SELECT name FROM pragma_index_info(?) ORDER BY seqno")
            .bind(&name)
            .fetch_all(&mut *conn)
            .await?;
        let unique: i64 = row.try_get("is_unique")?;
        indexes.push(Index {
            name,
            columns: columns.into_iter().map(|c| c.unwrap_or_else(|| "<expression>".to_owned())).collect(),
            unique: unique != 0,
            constraint: origin == "u",
        });
    }
    Ok(indexes)
}

#[cfg(feature = "sqlite")]
async fn sqlite_foreign_keys(conn: &mut sqlx::SqliteConnection, table: &str) -> Result<Vec<ForeignKey>, sqlx::Error> {
    use sqlx::Row;
    let rows = sqlx::query(
        "SELECT id, \"table\" AS ref_table, \"from\" AS col, \"to\" AS ref_col, on_update, on_delete \
         FROM pragma_foreign_key_list(?) ORDER BY id, seq",
    )
    .bind(table)
    .fetch_all(&mut *conn)
    .await?;
    let mut keys: Vec<(i64, ForeignKey)> = Vec::new();
    for row in rows {
        let id: i64 = row.try_get("id")?;
        if keys.last().is_none_or(|(last, _)| *last != id) {
            keys.push((
                id,
                ForeignKey {
                    name: None,
                    ref_table: row.try_get("ref_table")?,
                    on_delete: action(&row.try_get::<String, _>("on_delete")?),
                    on_update: action(&row.try_get::<String, _>("on_update")?),
                    ..ForeignKey::default()
                },
            ));
        }
        let Some((_, key)) = keys.last_mut() else { continue };
        key.columns.push(row.try_get("col")?);
        // `REFERENCES parent` without columns means the parent's primary key.
        let ref_column: Option<String> = row.try_get("ref_col")?;
        key.ref_columns.push(ref_column.unwrap_or_default());
    }
    let mut keys: Vec<ForeignKey> = keys.into_iter().map(|(_, k)| k).collect();
    for key in &mut keys {
        if key.ref_columns.iter().any(String::is_empty) {
            let parent: Vec<String> =
                sqlx::query_scalar("SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk")
                    .bind(&key.ref_table)
                    .fetch_all(&mut *conn)
                    .await?;
            key.ref_columns = parent;
        }
    }
    Ok(keys)
}

/// PostgreSQL: the tables of schema `schema` (`current_schema()` for the live database).
#[cfg(feature = "postgres")]
pub(crate) async fn postgres(
    conn: &mut sqlx::PgConnection,
    schema_name: &str,
    version_table: &str,
) -> Result<Schema, sqlx::Error> {
    let mut schema = Schema::default();
    postgres_columns(conn, schema_name, version_table, &mut schema).await?;
    postgres_indexes(conn, schema_name, &mut schema).await?;
    postgres_foreign_keys(conn, schema_name, &mut schema).await?;
    Ok(schema)
}

#[cfg(feature = "postgres")]
async fn postgres_columns(
    conn: &mut sqlx::PgConnection,
    schema_name: &str,
    version_table: &str,
    schema: &mut Schema,
) -> Result<(), sqlx::Error> {
    use sqlx::Row;
    let columns = sqlx::query(
        "SELECT c.relname::text AS tbl, a.attname::text AS col, format_type(a.atttypid, a.atttypmod) AS typ, \
         a.attnotnull AS not_null, pg_get_expr(d.adbin, d.adrelid) AS dflt, a.attidentity::text AS ident \
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
         WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped \
         ORDER BY c.relname, a.attnum",
    )
    .bind(schema_name)
    .fetch_all(&mut *conn)
    .await?;
    for row in columns {
        let name: String = row.try_get("tbl")?;
        if ignored(&name, version_table) {
            continue;
        }
        let identity: String = row.try_get("ident")?;
        let not_null: bool = row.try_get("not_null")?;
        table(schema, &name).columns.push(Column {
            name: row.try_get("col")?,
            sql_type: row.try_get("typ")?,
            nullable: !not_null,
            default: row.try_get("dflt")?,
            generated: match identity.as_str() {
                "a" => Some("GENERATED ALWAYS AS IDENTITY".to_owned()),
                "d" => Some("GENERATED BY DEFAULT AS IDENTITY".to_owned()),
                _ => None,
            },
        });
    }
    Ok(())
}

#[cfg(feature = "postgres")]
async fn postgres_indexes(
    conn: &mut sqlx::PgConnection,
    schema_name: &str,
    schema: &mut Schema,
) -> Result<(), sqlx::Error> {
    use sqlx::Row;
    let indexes = sqlx::query(
        "SELECT t.relname::text AS tbl, ic.relname::text AS idx, i.indisunique AS uniq, i.indisprimary AS pk, \
         EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid AND con.contype = 'u') AS cons, \
         COALESCE(a.attname::text, '<expression>') AS col \
         FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
         LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
         WHERE n.nspname = $1 ORDER BY t.relname, ic.relname, k.ord",
    )
    .bind(schema_name)
    .fetch_all(&mut *conn)
    .await?;
    for row in indexes {
        let name: String = row.try_get("tbl")?;
        let Some(model) = schema.tables.get_mut(&name) else { continue };
        let column: String = row.try_get("col")?;
        if row.try_get::<bool, _>("pk")? {
            model.primary_key.push(column);
            continue;
        }
        let index: String = row.try_get("idx")?;
        match model.indexes.last_mut() {
            Some(last) if last.name == index => last.columns.push(column),
            _ => model.indexes.push(Index {
                name: index,
                columns: vec![column],
                unique: row.try_get("uniq")?,
                constraint: row.try_get("cons")?,
            }),
        }
    }
    Ok(())
}

#[cfg(feature = "postgres")]
async fn postgres_foreign_keys(
    conn: &mut sqlx::PgConnection,
    schema_name: &str,
    schema: &mut Schema,
) -> Result<(), sqlx::Error> {
    use sqlx::Row;
    let keys = sqlx::query(
        "SELECT con.conname::text AS name, t.relname::text AS tbl, rt.relname::text AS ref_table, \
         con.confupdtype::text AS upd, con.confdeltype::text AS del, \
         (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord) \
          JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum) AS cols, \
         (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord) \
          JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum) AS ref_cols \
         FROM pg_constraint con JOIN pg_class t ON t.oid = con.conrelid JOIN pg_class rt ON rt.oid = con.confrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace WHERE con.contype = 'f' AND n.nspname = $1 \
         ORDER BY t.relname, con.conname",
    )
    .bind(schema_name)
    .fetch_all(&mut *conn)
    .await?;
    for row in keys {
        let name: String = row.try_get("tbl")?;
        let Some(model) = schema.tables.get_mut(&name) else { continue };
        let code = |c: String| match c.as_str() {
            "r" => "RESTRICT",
            "c" => "CASCADE",
            "n" => "SET NULL",
            "d" => "SET DEFAULT",
            _ => "NO ACTION",
        };
        model.foreign_keys.push(ForeignKey {
            name: Some(row.try_get("name")?),
            columns: row.try_get::<Option<Vec<String>>, _>("cols")?.unwrap_or_default(),
            ref_table: row.try_get("ref_table")?,
            ref_columns: row.try_get::<Option<Vec<String>>, _>("ref_cols")?.unwrap_or_default(),
            on_delete: code(row.try_get("del")?).to_owned(),
            on_update: code(row.try_get("upd")?).to_owned(),
            implicit_index: false,
        });
    }
    Ok(())
}

/// MariaDB/MySQL: the tables of database `database`.
#[cfg(feature = "mysql")]
pub(crate) async fn mysql(
    conn: &mut sqlx::MySqlConnection,
    database: &str,
    version_table: &str,
) -> Result<Schema, sqlx::Error> {
    let mut schema = Schema::default();
    mysql_columns(conn, database, version_table, &mut schema).await?;
    mysql_indexes(conn, database, &mut schema).await?;
    mysql_foreign_keys(conn, database, &mut schema).await?;
    without_foreign_key_indexes(&mut schema);
    Ok(schema)
}

#[cfg(feature = "mysql")]
async fn mysql_columns(
    conn: &mut sqlx::MySqlConnection,
    database: &str,
    version_table: &str,
    schema: &mut Schema,
) -> Result<(), sqlx::Error> {
    use sqlx::Row;
    // CONVERT: some servers report information_schema text as binary strings.
    let columns = sqlx::query(
        "SELECT CONVERT(c.TABLE_NAME USING utf8mb4) AS tbl, CONVERT(c.COLUMN_NAME USING utf8mb4) AS col, \
         CONVERT(c.COLUMN_TYPE USING utf8mb4) AS typ, CONVERT(c.IS_NULLABLE USING utf8mb4) AS nullable, \
         CONVERT(c.COLUMN_DEFAULT USING utf8mb4) AS dflt, CONVERT(c.EXTRA USING utf8mb4) AS extra \
         FROM information_schema.COLUMNS c JOIN information_schema.TABLES t \
         ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME \
         WHERE c.TABLE_SCHEMA = ? AND t.TABLE_TYPE = 'BASE TABLE' ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION",
    )
    .bind(database)
    .fetch_all(&mut *conn)
    .await?;
    for row in columns {
        let name: String = row.try_get("tbl")?;
        if ignored(&name, version_table) {
            continue;
        }
        let nullable: String = row.try_get("nullable")?;
        let default: Option<String> = row.try_get("dflt")?;
        let extra: String = row.try_get::<Option<String>, _>("extra")?.unwrap_or_default();
        table(schema, &name).columns.push(Column {
            name: row.try_get("col")?,
            sql_type: row.try_get("typ")?,
            nullable: nullable == "YES",
            // MariaDB writes a missing default as the text NULL.
            default: default.filter(|d| !d.eq_ignore_ascii_case("null")),
            generated: (!extra.is_empty()).then(|| extra.to_ascii_uppercase()),
        });
    }
    Ok(())
}

#[cfg(feature = "mysql")]
async fn mysql_indexes(
    conn: &mut sqlx::MySqlConnection,
    database: &str,
    schema: &mut Schema,
) -> Result<(), sqlx::Error> {
    use sqlx::Row;
    let indexes = sqlx::query(
        "SELECT CONVERT(TABLE_NAME USING utf8mb4) AS tbl, CONVERT(INDEX_NAME USING utf8mb4) AS idx, \
         CAST(NON_UNIQUE AS SIGNED) AS non_unique, CONVERT(COALESCE(COLUMN_NAME, '<expression>') USING utf8mb4) AS col \
         FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
    )
    .bind(database)
    .fetch_all(&mut *conn)
    .await?;
    for row in indexes {
        let name: String = row.try_get("tbl")?;
        let Some(model) = schema.tables.get_mut(&name) else { continue };
        let index: String = row.try_get("idx")?;
        let column: String = row.try_get("col")?;
        if index == "PRIMARY" {
            model.primary_key.push(column);
            continue;
        }
        let non_unique: i64 = row.try_get("non_unique")?;
        match model.indexes.last_mut() {
            Some(last) if last.name == index => last.columns.push(column),
            _ => model.indexes.push(Index {
                name: index,
                columns: vec![column],
                unique: non_unique == 0,
                constraint: false,
            }),
        }
    }
    Ok(())
}

#[cfg(feature = "mysql")]
async fn mysql_foreign_keys(
    conn: &mut sqlx::MySqlConnection,
    database: &str,
    schema: &mut Schema,
) -> Result<(), sqlx::Error> {
    use sqlx::Row;
    let keys = sqlx::query(
        "SELECT CONVERT(k.TABLE_NAME USING utf8mb4) AS tbl, CONVERT(k.CONSTRAINT_NAME USING utf8mb4) AS name, \
         CONVERT(k.COLUMN_NAME USING utf8mb4) AS col, CONVERT(k.REFERENCED_TABLE_NAME USING utf8mb4) AS ref_table, \
         CONVERT(k.REFERENCED_COLUMN_NAME USING utf8mb4) AS ref_col, CONVERT(r.UPDATE_RULE USING utf8mb4) AS upd, \
         CONVERT(r.DELETE_RULE USING utf8mb4) AS del \
         FROM information_schema.KEY_COLUMN_USAGE k JOIN information_schema.REFERENTIAL_CONSTRAINTS r \
         ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
         AND r.TABLE_NAME = k.TABLE_NAME \
         WHERE k.TABLE_SCHEMA = ? AND k.REFERENCED_TABLE_NAME IS NOT NULL \
         ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION",
    )
    .bind(database)
    .fetch_all(&mut *conn)
    .await?;
    for row in keys {
        let name: String = row.try_get("tbl")?;
        let Some(model) = schema.tables.get_mut(&name) else { continue };
        let constraint: String = row.try_get("name")?;
        let column: String = row.try_get("col")?;
        let ref_column: String = row.try_get("ref_col")?;
        match model.foreign_keys.last_mut() {
            Some(last) if last.name.as_deref() == Some(constraint.as_str()) => {
                last.columns.push(column);
                last.ref_columns.push(ref_column);
            }
            _ => model.foreign_keys.push(ForeignKey {
                name: Some(constraint),
                columns: vec![column],
                ref_table: row.try_get("ref_table")?,
                ref_columns: vec![ref_column],
                on_delete: action(&row.try_get::<String, _>("del")?),
                on_update: action(&row.try_get::<String, _>("upd")?),
                implicit_index: false,
            }),
        }
    }
    Ok(())
}

/// The index MySQL makes for a foreign key comes and goes with the key: not compared apart,
/// but remembered, since dropping the key leaves it behind.
#[cfg(feature = "mysql")]
fn without_foreign_key_indexes(schema: &mut Schema) {
    for model in schema.tables.values_mut() {
        for key in &mut model.foreign_keys {
            let made_for = |i: &Index| key.name.as_deref() == Some(i.name.as_str()) && key.columns == i.columns;
            key.implicit_index = model.indexes.iter().any(made_for);
            model.indexes.retain(|i| !made_for(i));
        }
    }
}
