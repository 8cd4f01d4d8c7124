//! Template fragment caching: Flask-Caching's `{% cache timeout, key %}...{% endcache %}`.
//!
//! minijinja has no custom tags, so the fragment is a `{% call %}` block around a global
//! function named `cache`, which receives the block as `caller` and renders it only on a miss:
//!
//! ```jinja
//! {% call cache(300, "sidebar") %}...{% endcall %}
//! {% call cache(60, "user-card", current_user.id) %}...{% endcall %}
//! ```
//!
//! Rendering is synchronous, so fragments are read and written in this process's memory:
//! the memory backend's own store (same bounds, emptied by `clear`), or a store of their own
//! beside a `redis` or `two-level` backend. Fragments are not shared through Redis: each
//! instance renders a fragment once per timeout and keeps its own copy, and
//! [`Cache::delete_fragment`] removes this process's copy. The `null` backend caches nothing.

use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use minijinja::value::{Kwargs, Rest};
use minijinja::{Error, ErrorKind, State, Value};

use crate::cache::Cache;

/// The key fragment `name` varied on `vary_on` is stored under (Flask-Caching's
/// `make_template_fragment_key`): `__fragment:` then the name and each value, `:`-separated,
/// with `%` and `:` inside them escaped so that no two fragments share a key.
///
/// Values given in a template are turned into text as the template prints them: `42`
/// varies as `"42"`.
///
/// # Examples
///
/// ```
/// assert_eq!(phial_cache::fragment_key("sidebar", &[]), "__fragment:sidebar");
/// assert_eq!(phial_cache::fragment_key("card", &["a:b", "42"]), "__fragment:card:a%3Ab:42");
/// ```
pub fn fragment_key(name: &str, vary_on: &[&str]) -> String {
    let mut key = String::with_capacity(16 + name.len() + vary_on.iter().map(|v| v.len() + 1).sum::<usize>());
    key.push_str("__fragment:");
    push_escaped(&mut key, name);
    for value in vary_on {
        key.push(':');
        push_escaped(&mut key, value);
    }
    key
}

fn push_escaped(key: &mut String, part: &str) {
    for c in part.chars() {
        match c {
            '%' => key.push_str("%25"),
            ':' => key.push_str("%3A"),
            c => key.push(c),
        }
    }
}

impl Cache {
    /// Removes the cached fragment `name` varied on `vary_on` (what
    /// `cache.delete(make_template_fragment_key(name, vary_on))` does in Flask-Caching); whether
    /// there was one. With a Redis backend this removes this process's copy only (see
    /// [crate docs](crate#template-fragments)).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let cache = phial_cache::Cache::memory();
    /// assert!(!cache.delete_fragment("sidebar", &[]).await);
    /// # }
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "templates")))]
    pub async fn delete_fragment(&self, name: &str, vary_on: &[&str]) -> bool {
        match self.fragment_store() {
            Some(store) => store.delete(&fragment_key(name, vary_on)).await,
            None => false,
        }
    }

    /// The cached text of a fragment, if this process holds it.
    fn fragment(&self, key: &str) -> Option<Bytes> {
        self.fragment_store()?.get_now(key)
    }

    fn store_fragment(&self, key: &str, text: &str, ttl: Option<Duration>) {
        if let Some(store) = self.fragment_store()
            && !store.set_now(key, Bytes::copy_from_slice(text.as_bytes()), ttl)
        {
            tracing::debug!(key, "cache: fragment not stored (the memory store was busy)");
        }
    }
}

/// The `cache` template global, on the cache in `slot` (filled by the extension at build or
/// start; until then fragments render uncached).
pub(crate) fn template_function(slot: Arc<OnceLock<Cache>>) -> Value {
    Value::from_function(move |state: &State<'_, '_>, args: Rest<Value>, kwargs: Kwargs| {
        render(slot.get(), state, &args, &kwargs)
    })
}

fn render(cache: Option<&Cache>, state: &State<'_, '_>, args: &[Value], kwargs: &Kwargs) -> Result<Value, Error> {
    let caller: Value = kwargs.get("caller").map_err(|_| {
        Error::new(
            ErrorKind::InvalidOperation,
            "cache() caches the block of a call: {% call cache(60, \"name\") %}...{% endcall %}",
        )
    })?;
    kwargs.assert_all_used()?;
    let [timeout, name, vary_on @ ..] = args else {
        return Err(Error::new(
            ErrorKind::MissingArgument,
            "cache(timeout, name, *vary_on): a timeout in seconds (or none) and a fragment name",
        ));
    };
    let Some(cache) = cache else { return caller.call(state, &[]) };
    let name = name.as_str().ok_or_else(|| {
        Error::new(ErrorKind::InvalidOperation, format!("cache(): the fragment name must be a string, not {name}"))
    })?;
    let ttl = fragment_ttl(cache, timeout)?;
    let vary: Vec<String> = vary_on.iter().map(text_of).collect();
    let vary: Vec<&str> = vary.iter().map(String::as_str).collect();
    let key = fragment_key(name, &vary);
    if let Some(text) = cache.fragment(&key)
        && let Ok(text) = std::str::from_utf8(&text)
    {
        return Ok(Value::from_safe_string(text.to_owned()));
    }
    let rendered = caller.call(state, &[])?;
    // The block's output, already escaped as the template's autoescape said: kept as is and
    // served as safe text, so a hit renders exactly what the miss did.
    let mut text = String::new();
    let _ = write!(text, "{rendered}");
    cache.store_fragment(&key, &text, ttl);
    Ok(Value::from_safe_string(text))
}

/// The lifetime a template asked for: seconds (`0`: never expires), or none for the default.
fn fragment_ttl(cache: &Cache, timeout: &Value) -> Result<Option<Duration>, Error> {
    if timeout.is_none() || timeout.is_undefined() {
        return Ok(cache.ttl(crate::Ttl::Default));
    }
    let seconds = f64::try_from(timeout.clone()).ok().filter(|s| s.is_finite() && *s >= 0.0).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("cache(): the timeout must be seconds (a number >= 0) or none, not {timeout}"),
        )
    })?;
    Ok((seconds > 0.0).then(|| Duration::from_secs_f64(seconds)))
}

fn text_of(value: &Value) -> String {
    value.as_str().map_or_else(|| value.to_string(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragment_keys_do_not_collide_across_names_and_values() {
        assert_ne!(fragment_key("a:b", &[]), fragment_key("a", &["b"]));
        assert_ne!(fragment_key("a", &["b:c"]), fragment_key("a", &["b", "c"]));
        assert_eq!(fragment_key("100%", &[]), "__fragment:100%25");
    }
}
