//! Template fragments: `{% call cache(timeout, name, *vary_on) %}...{% endcall %}`.

use phial_cache::{Cache, CacheExtension};
use phial_core::prelude::*;

async fn app(backend: &str) -> RunningApp {
    App::builder()
        .profile(Profile::Testing)
        .config_toml(&format!("[cache]\nbackend = \"{backend}\"\n"))
        .extension(CacheExtension::new())
        .build()
        .unwrap()
        .start()
        .await
        .unwrap()
}

fn render(app: &RunningApp, source: &str, context: minijinja::Value) -> String {
    app.state().require::<Templates>().render_str(source, context).unwrap()
}

const SIDEBAR: &str = r#"<p>{% call cache(60, "sidebar") %}n={{ n }}{% endcall %}</p>"#;

#[tokio::test]
async fn a_fragment_renders_once_and_then_comes_from_the_cache() {
    let app = app("memory").await;
    assert_eq!(render(&app, SIDEBAR, minijinja::context! { n => 1 }), "<p>n=1</p>");
    assert_eq!(render(&app, SIDEBAR, minijinja::context! { n => 2 }), "<p>n=1</p>");
    // The rest of the page is not cached.
    let page = r#"{{ n }}|{% call cache(60, "sidebar") %}n={{ n }}{% endcall %}"#;
    assert_eq!(render(&app, page, minijinja::context! { n => 3 }), "3|n=1");
}

#[tokio::test]
async fn fragments_vary_on_the_values_given_after_the_name() {
    let app = app("memory").await;
    let card = r#"{% call cache(60, "card", user, lang) %}{{ user }}/{{ lang }}/{{ n }}{% endcall %}"#;
    let ctx = |user: i64, lang: &str, n: i64| minijinja::context! { user, lang, n };
    assert_eq!(render(&app, card, ctx(1, "en", 1)), "1/en/1");
    assert_eq!(render(&app, card, ctx(2, "en", 2)), "2/en/2");
    assert_eq!(render(&app, card, ctx(1, "fr", 3)), "1/fr/3");
    assert_eq!(render(&app, card, ctx(1, "en", 4)), "1/en/1");
    assert_eq!(render(&app, card, ctx(2, "en", 5)), "2/en/2");
}

#[tokio::test]
async fn delete_fragment_from_rust_makes_the_next_render_fresh() {
    let app = app("memory").await;
    let cache = app.state().require::<Cache>().clone();
    let card = r#"{% call cache(60, "card", user) %}{{ n }}{% endcall %}"#;
    assert_eq!(render(&app, card, minijinja::context! { user => 7, n => 1 }), "1");
    assert_eq!(render(&app, card, minijinja::context! { user => 8, n => 1 }), "1");
    // Template values vary as the template prints them: 7 is "7".
    assert!(cache.delete_fragment("card", &["7"]).await);
    assert!(!cache.delete_fragment("card", &["7"]).await);
    assert_eq!(render(&app, card, minijinja::context! { user => 7, n => 2 }), "2");
    assert_eq!(render(&app, card, minijinja::context! { user => 8, n => 2 }), "1");
    // `clear` empties fragments too, as in Flask-Caching where they share the cache.
    cache.clear().await.unwrap();
    assert_eq!(render(&app, card, minijinja::context! { user => 8, n => 3 }), "3");
    assert!(cache.has(&phial_cache::fragment_key("card", &["8"])).await.unwrap());
}

#[tokio::test]
async fn cached_fragments_keep_their_escaping_on_a_hit() {
    let app = app("memory").await;
    let page = r#"{% autoescape true %}{% call cache(60, "e") %}{{ v }}{% endcall %}{% endautoescape %}"#;
    assert_eq!(render(&app, page, minijinja::context! { v => "<b>" }), "&lt;b&gt;");
    assert_eq!(render(&app, page, minijinja::context! { v => "<i>" }), "&lt;b&gt;");
}

#[tokio::test]
async fn a_fragment_expires_after_its_timeout_and_none_means_the_default() {
    let app = app("memory").await;
    let short = r#"{% call cache(0.05, "short") %}{{ n }}{% endcall %}"#;
    assert_eq!(render(&app, short, minijinja::context! { n => 1 }), "1");
    assert_eq!(render(&app, short, minijinja::context! { n => 2 }), "1");
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    assert_eq!(render(&app, short, minijinja::context! { n => 3 }), "3");
    let default = r#"{% call cache(none, "default") %}{{ n }}{% endcall %}"#;
    assert_eq!(render(&app, default, minijinja::context! { n => 1 }), "1");
    assert_eq!(render(&app, default, minijinja::context! { n => 2 }), "1");
}

#[tokio::test]
async fn the_null_backend_renders_every_time() {
    let app = app("null").await;
    assert_eq!(render(&app, SIDEBAR, minijinja::context! { n => 1 }), "<p>n=1</p>");
    assert_eq!(render(&app, SIDEBAR, minijinja::context! { n => 2 }), "<p>n=2</p>");
}

#[tokio::test]
async fn misuse_is_a_template_error_that_says_how_to_write_it() {
    let app = app("memory").await;
    let templates = app.state().require::<Templates>();
    let err = templates.render_str(r#"{{ cache(60, "x") }}"#, ()).unwrap_err();
    assert!(err.to_string().contains("{% call cache(60"), "{err}");
    let err = templates.render_str(r"{% call cache(60) %}x{% endcall %}", ()).unwrap_err();
    assert!(err.to_string().contains("fragment name"), "{err}");
    let err = templates.render_str(r#"{% call cache("soon", "x") %}x{% endcall %}"#, ()).unwrap_err();
    assert!(err.to_string().contains("timeout"), "{err}");
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn with_redis_fragments_are_kept_in_this_process() {
    let Some(url) = crate::redis_url() else { return };
    let app = App::builder()
        .profile(Profile::Testing)
        .config_toml(&format!(
            "[redis]\nurl = \"{url}\"\nkey_prefix = \"{}\"\n[cache]\nbackend = \"two-level\"\n",
            crate::unique_prefix()
        ))
        .extension(phial_core::redis::RedisExtension::new())
        .extension(CacheExtension::new())
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    assert_eq!(render(&app, SIDEBAR, minijinja::context! { n => 1 }), "<p>n=1</p>");
    assert_eq!(render(&app, SIDEBAR, minijinja::context! { n => 2 }), "<p>n=1</p>");
    let cache = app.state().require::<Cache>().clone();
    // Not written to Redis: a render is synchronous and Redis is not.
    assert!(!cache.has(&phial_cache::fragment_key("sidebar", &[])).await.unwrap());
    assert!(cache.delete_fragment("sidebar", &[]).await);
    assert_eq!(render(&app, SIDEBAR, minijinja::context! { n => 3 }), "<p>n=3</p>");
}
