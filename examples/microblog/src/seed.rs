//! `microblog seed --users N --posts M`: fills a database for demos and benchmarks.

use std::process::ExitCode;

use phial::clap::{Arg, Command, value_parser};
use phial::login::password::PasswordHasher;
use phial::prelude::*;
use phial::sql::{Databases, Db, SqlError};
use sea_query::{Expr, Query};
use time::Duration;

use crate::models::{self, timestamp_value};

/// Rows per `INSERT`: well under every backend's limit on bound parameters.
const BATCH: usize = 200;

/// How many users each seeded user follows (the next ones by number).
const FOLLOWS: u32 = 5;

/// The `seed` command.
pub fn command() -> CliCommand {
    let command = Command::new("seed")
        .about("Add demo users (user1, user2, ... with password `password`), their posts and follows")
        .arg(Arg::new("users").long("users").value_parser(value_parser!(u32)).default_value("10"))
        .arg(Arg::new("posts").long("posts").value_parser(value_parser!(u32)).default_value("100"));
    CliCommand::new(command, |args| {
        Box::pin(async move {
            let users = args.matches.get_one::<u32>("users").copied().unwrap_or(10);
            let posts = args.matches.get_one::<u32>("posts").copied().unwrap_or(100);
            let db = args.state.get::<Databases>().ok_or_else(|| Error::msg("no database"))?.default_db().clone();
            let hasher = args.state.get::<PasswordHasher>().ok_or_else(|| Error::msg("no password hasher"))?;
            let hash = hasher.hash("password").await.map_err(Error::other)?;
            seed(&db, &hash, users, posts).await.map_err(Error::other)?;
            crate::cache::posts_changed_in(&args.state).await;
            args.out.line(format!("seeded {users} users, {posts} posts"));
            Ok(ExitCode::SUCCESS)
        })
    })
}

/// Adds `users` users (all with `password_hash`), `posts` posts spread over them, newest
/// first by user number, and each user following the next `FOLLOWS` users.
///
/// # Errors
///
/// A database error; a 409 when a `userN` name is taken.
pub async fn seed(db: &Db, password_hash: &str, users: u32, posts: u32) -> Result<(), SqlError> {
    let now = models::now();
    let first = next_number(db).await?;
    let names: Vec<String> = (first..first + users).map(|n| format!("user{n}")).collect();
    for chunk in names.chunks(BATCH) {
        let mut insert = Query::insert();
        insert.into_table("user").columns(["username", "email", "password_hash", "about_me", "last_seen"]);
        for name in chunk {
            insert.values_panic([
                name.as_str().into(),
                format!("{name}@example.com").into(),
                password_hash.into(),
                format!("I am {name}.").into(),
                timestamp_value(db.backend(), now),
            ]);
        }
        db.execute(&insert).await?;
    }
    let mut ids = Vec::with_capacity(names.len());
    for name in &names {
        ids.push(models::user_or_404(db, name).await?.id);
    }
    if ids.is_empty() {
        return Ok(());
    }
    let post_rows: Vec<(i32, i64)> = (0..posts).map(|n| (ids[n as usize % ids.len()], i64::from(n))).collect();
    for chunk in post_rows.chunks(BATCH) {
        let mut insert = Query::insert();
        insert.into_table("post").columns(["body", "timestamp", "user_id", "language"]);
        for (user, n) in chunk {
            let at = now - Duration::seconds(i64::from(posts) - n);
            insert.values_panic([
                format!("Post number {} of the seed.", n + 1).into(),
                timestamp_value(db.backend(), at),
                (*user).into(),
                "".into(),
            ]);
        }
        db.execute(&insert).await?;
    }
    let count = ids.len();
    let pairs: Vec<(i32, i32)> = (0..count)
        .flat_map(|i| (1..=FOLLOWS as usize).filter(move |k| *k < count).map(move |k| (i, (i + k) % count)))
        .map(|(fan, star)| (ids[fan], ids[star]))
        .collect();
    for chunk in pairs.chunks(BATCH) {
        let mut insert = Query::insert();
        insert.into_table("followers").columns(["follower_id", "followed_id"]);
        for (fan, star) in chunk {
            insert.values_panic([(*fan).into(), (*star).into()]);
        }
        db.execute(&insert).await?;
    }
    Ok(())
}

/// The first free number for `userN` names: one more than the users so far.
async fn next_number(db: &Db) -> Result<u32, SqlError> {
    let count = Query::select().expr(Expr::cust("COUNT(*)")).from("user").to_owned();
    let users: i64 = db.fetch_scalar(&count).await?;
    Ok(u32::try_from(users).unwrap_or(u32::MAX - 1) + 1)
}
