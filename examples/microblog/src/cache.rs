//! Caching where it pays, never stale: the posts of `/explore`, the one list every user reads
//! the same, kept per page and language in phial-cache (in memory, or in Redis with
//! `REDIS_URL`) as the HTML `_posts.html` renders, so a hit neither queries the database nor
//! renders the 25 posts again (what Flask-Caching's fragment caching does). Nothing in
//! `_posts.html` and `_post.html` may depend on the reader beyond the language: the fragment
//! is shared by every reader of that language.
//!
//! Entries are keyed under a *generation*, a random value stored without expiry. Every write
//! that changes what the list shows (a new post, a new user name or e-mail address, seeded
//! data) stores a new generation, so the next read misses and queries the database; entries
//! of older generations are never read again and expire (`[cache] default_timeout`). A
//! generation that was evicted is replaced by a new one on the next read, which is a miss too.
//! Only when the cache cannot be written (Redis down) while it can still be read could an
//! entry outlive a write, and then for at most `default_timeout`; the failure is logged.

use std::sync::Arc;

use phial::axum::extract::FromRef;
use phial::cache::{Cache, Ttl};
use phial::minijinja::context;
use phial::prelude::*;
use phial::sql::Databases;

use crate::i18n::Locale;
use crate::models::{self, PostView};
use crate::web::PageLinks;

/// The key of the current generation.
const GENERATION: &str = "explore:generation";

fn new_generation() -> String {
    let mut bytes = [0_u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        // No random source: the clock still gives a value no earlier generation had.
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        return format!("t{nanos}");
    }
    hex::encode(bytes)
}

async fn generation(cache: &Cache) -> String {
    if let Ok(Some(current)) = cache.get::<String>(GENERATION).await {
        return current;
    }
    let fresh = new_generation();
    match cache.add_ttl(GENERATION, &fresh, Ttl::Never).await {
        Ok(true) => fresh,
        // Another request set one first; or the cache failed, and a fresh generation is a miss.
        _ => cache.get::<String>(GENERATION).await.ok().flatten().unwrap_or(fresh),
    }
}

/// One page of `/explore`'s posts with its "Newer posts"/"Older posts" links, as
/// `_posts.html` and `_pager.html` render them for `template`'s request (whose language the
/// key names), from the cache or the database; to be shown unescaped.
///
/// # Errors
///
/// The database query or the rendering failed.
pub async fn explore_page(
    cache: &Cache,
    state: &AppState,
    template: Arc<Template>,
    locale: Locale,
    page: u64,
    per_page: u64,
) -> Result<String, HttpError> {
    let key = format!("explore:{}:{per_page}:{page}:{}", generation(cache).await, locale.code());
    let state = state.clone();
    let load = move || async move {
        let db = Databases::from_ref(&state).default_db().clone();
        let (rows, has_next) = models::page_of_posts(&db, models::all_posts(), page, per_page).await?;
        let posts: Vec<PostView> = rows.into_iter().map(PostView::from).collect();
        let links = PageLinks::new(&state, "main.explore", &[], page, has_next)?;
        let context = context! { posts, prev_url => links.prev_url, next_url => links.next_url };
        let mut html = template.render_text("_posts.html", &context)?;
        html.push('\n');
        html.push_str(&template.render_text("_pager.html", &context)?);
        Ok::<_, HttpError>(html)
    };
    cache.get_or_insert_text_with(&key, Ttl::Default, load).await.map_err(|err| HttpError::internal(err.to_string()))
}

/// Call after every write that changes the posts list: a post, a user's name or address.
pub async fn posts_changed(cache: &Cache) {
    if let Err(err) = cache.set_ttl(GENERATION, &new_generation(), Ttl::Never).await {
        tracing::error!(error = %err, "the explore cache could not be invalidated");
    }
}

/// [`posts_changed`] with the app's cache, when it has one.
pub async fn posts_changed_in(state: &AppState) {
    if let Some(cache) = state.get::<Cache>() {
        posts_changed(cache).await;
    }
}
