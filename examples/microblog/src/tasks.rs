//! Background tasks (`app/tasks.py`): the posts export.
//!
//! The original hands `export_posts` to an RQ worker (a separate process reading a Redis
//! queue). The port runs it as a tokio task in the process that served `/export_posts`: no
//! worker to deploy and no Redis needed. The `task` row, the `task_progress` notifications
//! (`{"task_id", "progress"}`) and the mail are the original's. What differs: a task lives
//! and dies with its process, so when the server starts the app marks tasks still recorded as
//! in progress complete (a restart interrupted them; the user can start a new export; other
//! commands leave them alone), and the
//! original's demonstration delay of five seconds per post is `[microblog] export_delay`
//! (default 0).

use std::fmt::Write as _;
use std::time::Duration;

use phial::mail::Mail;
use phial::minijinja::context;
use phial::prelude::*;
use phial::sql::{Databases, Db};
use time::PrimitiveDateTime;

use crate::config::MicroblogConfig;
use crate::email::{Email, send_email};
use crate::models;

/// The name of the export task (`Task.name`).
pub const EXPORT_POSTS: &str = "export_posts";

/// A new task id: 36 characters in the layout of RQ's job ids (a random UUID).
///
/// # Errors
///
/// The system's random source failed.
pub fn new_task_id() -> Result<String, getrandom::Error> {
    let mut bytes = [0_u8; 16];
    getrandom::fill(&mut bytes)?;
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    Ok(format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]))
}

/// `current_user.launch_task('export_posts', description)`: records the task and starts it.
///
/// # Errors
///
/// The `task` row could not be written.
pub async fn launch_export(state: &AppState, db: &Db, user_id: i32, description: &str) -> Result<String, HttpError> {
    let id = new_task_id().map_err(|err| HttpError::internal(err.to_string()))?;
    models::create_task(db, &id, EXPORT_POSTS, description, user_id).await?;
    let (state, task) = (state.clone(), id.clone());
    tokio::spawn(async move { export_posts(state, task, user_id).await });
    Ok(id)
}

/// `export_posts(user_id)`: every post of the user, oldest first, mailed as `posts.json`,
/// with a `task_progress` notification after each post. Whatever happens, the task ends at
/// 100% and complete; a failure is logged (and mailed to the admins where error mail is on).
async fn export_posts(state: AppState, task_id: String, user_id: i32) {
    let Some(db) = state.get::<Databases>().map(|databases| databases.default_db().clone()) else {
        tracing::error!(task = %task_id, "export_posts: no database");
        return;
    };
    if let Err(err) = run_export(&state, &db, &task_id, user_id).await {
        tracing::error!(task = %task_id, error = %err, "Unhandled exception in export_posts");
    }
    if let Err(err) = set_task_progress(&db, &task_id, user_id, 100).await {
        tracing::error!(task = %task_id, error = %err, "export_posts could not record its end");
    }
}

async fn run_export(state: &AppState, db: &Db, task_id: &str, user_id: i32) -> Result<(), Error> {
    let config = state.get::<MicroblogConfig>().ok_or_else(|| Error::msg("no [microblog] config"))?;
    let mail = state.get::<Mail>().ok_or_else(|| Error::msg("no mail"))?;
    let templates = state.get::<Templates>().ok_or_else(|| Error::msg("no templates"))?;
    let user = models::user_by_id(db, user_id).await.map_err(Error::other)?.ok_or_else(|| Error::msg("no user"))?;
    set_task_progress(db, task_id, user_id, 0).await.map_err(Error::other)?;
    let posts = models::posts_for_export(db, user_id).await.map_err(Error::other)?;
    let delay = Duration::try_from_secs_f64(config.export_delay).unwrap_or_default();
    let total = posts.len();
    let mut data = Vec::with_capacity(total);
    for (done, (body, timestamp)) in posts.into_iter().enumerate() {
        data.push(serde_json::json!({ "body": body, "timestamp": naive_isoformat_z(timestamp) }));
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let progress = i64::try_from(100 * (done + 1) / total).unwrap_or(100);
        set_task_progress(db, task_id, user_id, progress).await.map_err(Error::other)?;
    }
    let context = context! { user => context! { username => &user.username } };
    let email = Email {
        subject: "[Microblog] Your blog posts",
        sender: config.admins.first().map_or("", String::as_str),
        recipients: &[user.email.as_str()],
        text_body: templates.render("email/export_posts.txt", &context).map_err(Error::other)?,
        html_body: templates.render("email/export_posts.html", &context).map_err(Error::other)?,
        attachments: vec![("posts.json", "application/json", posts_json(&data))],
    };
    send_email(mail, email).await.map_err(Error::other)
}

/// `_set_task_progress(progress)`: the `task_progress` notification, and at 100 the task is
/// complete.
async fn set_task_progress(db: &Db, task_id: &str, user_id: i32, progress: i64) -> Result<(), phial::sql::SqlError> {
    let data = serde_json::json!({ "task_id": task_id, "progress": progress });
    models::add_notification(db, user_id, "task_progress", &data).await?;
    if progress >= 100 {
        models::complete_task(db, task_id).await?;
    }
    Ok(())
}

/// `json.dumps({'posts': data}, indent=4)`, with Python's `ensure_ascii`: characters beyond
/// ASCII written as `\uXXXX` escapes (surrogate pairs beyond the BMP).
fn posts_json(posts: &[serde_json::Value]) -> Vec<u8> {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    // Serializing JSON values into a Vec cannot fail.
    let _ = serde::Serialize::serialize(&serde_json::json!({ "posts": posts }), &mut serializer);
    // Outside strings a JSON text is ASCII, so every other character is inside one.
    let text = String::from_utf8_lossy(&out);
    let mut ascii = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            ascii.push(c);
        } else {
            for unit in c.encode_utf16(&mut [0; 2]) {
                // Writing to a String cannot fail.
                let _ = write!(ascii, "\\u{unit:04x}");
            }
        }
    }
    ascii.into_bytes()
}

/// `post.timestamp.isoformat() + 'Z'`.
fn naive_isoformat_z(at: PrimitiveDateTime) -> String {
    crate::models::python_isoformat(at, "Z")
}

/// Marks the tasks a stopped process left in progress complete, at startup (see the module
/// docs); runs after the migrations.
#[derive(Debug, Default)]
pub struct OrphanTasks;

impl Extension for OrphanTasks {
    const NAME: &'static str = "orphan_tasks";
    type Config = ();

    fn deps(&self) -> Deps {
        Deps::none().requires("sql").after("migrate")
    }

    fn build(&self, _config: &(), _ctx: &mut BuildCtx<'_>) -> Result<(), Error> {
        Ok(())
    }

    async fn start(&self, _config: &(), ctx: &mut StartCtx) -> Result<(), Error> {
        let config: MicroblogConfig = ctx.config().extract_section("microblog")?;
        if !config.complete_interrupted_tasks {
            return Ok(());
        }
        let db = ctx.require::<Databases>()?.default_db().clone();
        match models::complete_all_tasks(&db).await {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "tasks interrupted by the last stop marked complete"),
            // Before `db upgrade` in production there may be no `task` table yet.
            Err(err) => tracing::warn!(error = %err, "could not look for interrupted tasks"),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_ids_look_like_rq_job_ids() {
        let id = new_task_id().unwrap_or_default();
        assert_eq!(id.len(), 36);
        assert_eq!(id.matches('-').count(), 4);
        assert_ne!(id, new_task_id().unwrap_or_default());
    }

    #[test]
    fn timestamps_and_json_are_written_as_python_writes_them() {
        let at = time::macros::datetime!(2024-05-01 12:00:00);
        assert_eq!(naive_isoformat_z(at), "2024-05-01T12:00:00Z");
        let at = time::macros::datetime!(2024-05-01 12:00:00.000250);
        assert_eq!(naive_isoformat_z(at), "2024-05-01T12:00:00.000250Z");
        let json = posts_json(&[serde_json::json!({ "body": "¡hola! 😀" })]);
        // `json.dumps("¡hola! 😀")`
        assert!(String::from_utf8_lossy(&json).contains(r#""\u00a1hola! \ud83d\ude00""#), "{json:?}");
        let json = posts_json(&[serde_json::json!({ "body": "hi" })]);
        assert_eq!(
            String::from_utf8_lossy(&json),
            "{\n    \"posts\": [\n        {\n            \"body\": \"hi\"\n        }\n    ]\n}"
        );
    }
}
