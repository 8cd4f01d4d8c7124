//! Templates: minijinja with Jinja2 syntax, Flask's helpers, reload in development.
//!
//! Every template sees:
//!
//! - `url_for(endpoint, **params)`, as in Flask (`url_for('static', filename='app.css')`);
//! - `config`: the merged config, secrets masked (`config.app.bind`);
//! - `get_flashed_messages(with_categories=false, category_filter=[])`, when the page is
//!   rendered through the [`Template`] extractor;
//! - what the app's context processors add (`AppBuilder::context_processor`,
//!   `BuildCtx::context_processor`; e.g. `csrf_token`), run only for requests that render;
//! - whatever layers of the request added with [`TemplateVars`] (e.g. `current_user`), and
//!   globals added with `AppBuilder::template_global`.
//!
//! Autoescaping is on for `.html`, `.htm` and `.xml` templates. Templates load from
//! `app.template_folder` (default `templates/`); with `app.templates_auto_reload` (on in
//! development by default) every render reads the files again, so edits show on reload.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{FromRef, FromRequestParts};
use axum::response::Html;
use http::request::Parts;
use minijinja::value::{Kwargs, Rest};
use minijinja::{Environment, Value};
use serde::Serialize;

use crate::config::{AppConfig, Profile};
use crate::error::HttpError;
use crate::routing::UrlMap;
use crate::session::Session;
use crate::state::AppState;

enum Env {
    Fixed(Arc<Environment<'static>>),
    Reloading(Arc<Mutex<Environment<'static>>>),
}

/// The app's template environment, registered as state when feature `templates` is on.
///
/// Use the [`Template`] extractor in handlers; use `Templates` directly where there is no
/// request (mail bodies, error handlers).
///
/// # Examples
///
/// ```
/// use phial_core::prelude::*;
///
/// fn render_welcome(state: &AppState) -> Result<String, HttpError> {
///     let templates = state.require::<Templates>();
///     Ok(templates.render("email/welcome.txt", minijinja::context! { name => "Susan" })?)
/// }
/// ```
#[derive(Clone)]
pub struct Templates {
    env: Arc<Env>,
    /// Run by the [`Template`] extractor, in the order they were added.
    processors: Arc<[ContextProcessor]>,
}

/// A context processor: adds a request's values to its templates (see
/// `BuildCtx::context_processor`).
pub(crate) type ContextProcessor = Arc<dyn Fn(&mut Parts, &mut TemplateVars) + Send + Sync>;

impl fmt::Debug for Templates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reloading = matches!(*self.env, Env::Reloading(_));
        f.debug_struct("Templates").field("reloading", &reloading).finish_non_exhaustive()
    }
}

impl Templates {
    pub(crate) fn new(
        app: &AppConfig,
        profile: Profile,
        urls: UrlMap,
        config: &[(String, serde_json::Value)],
        globals: Vec<(String, Value)>,
        processors: Vec<ContextProcessor>,
    ) -> Self {
        let mut env = Environment::new();
        env.set_loader(minijinja::path_loader(&app.template_folder));
        env.set_formatter(markupsafe_formatter);
        let urls = Arc::new(urls);
        env.add_function("url_for", move |endpoint: &str, kwargs: Kwargs| url_for(&urls, endpoint, &kwargs));
        let config: BTreeMap<String, serde_json::Value> = config.iter().cloned().collect();
        env.add_global("config", Value::from_serialize(&config));
        // Without a request there are no flashes; the extractor shadows this with real ones.
        env.add_function("get_flashed_messages", |_: Rest<Value>| Value::from(Vec::<Value>::new()));
        for (name, value) in globals {
            env.add_global(name, value);
        }
        let reload = app.templates_auto_reload.unwrap_or(profile == Profile::Development);
        let env = if reload { Env::Reloading(Arc::new(Mutex::new(env))) } else { Env::Fixed(Arc::new(env)) };
        Self { env: Arc::new(env), processors: processors.into() }
    }

    /// Renders template `name` with `context`.
    ///
    /// # Errors
    ///
    /// A missing template, a syntax error or a failing expression, as minijinja reports it.
    pub fn render(&self, name: &str, context: impl Serialize) -> Result<String, minijinja::Error> {
        match &*self.env {
            Env::Fixed(env) => env.get_template(name)?.render(context),
            Env::Reloading(env) => {
                let mut env = env.lock().unwrap_or_else(PoisonError::into_inner);
                env.clear_templates();
                env.get_template(name)?.render(context)
            }
        }
    }

    /// Renders a template given as a string (Flask's `render_template_string`).
    ///
    /// # Errors
    ///
    /// A syntax error or a failing expression.
    pub fn render_str(&self, source: &str, context: impl Serialize) -> Result<String, minijinja::Error> {
        match &*self.env {
            Env::Fixed(env) => env.render_str(source, context),
            Env::Reloading(env) => env.lock().unwrap_or_else(PoisonError::into_inner).render_str(source, context),
        }
    }
}

/// Escapes as Jinja2's markupsafe does (`& < > " '`), so ported templates render byte for
/// byte as they did in Flask; minijinja's default also escapes `/`, which turns every URL in
/// an attribute into `&#x2f;` soup.
fn markupsafe_formatter(
    out: &mut minijinja::Output<'_>,
    state: &minijinja::State<'_, '_>,
    value: &Value,
) -> Result<(), minijinja::Error> {
    if matches!(state.auto_escape(), minijinja::AutoEscape::Html)
        && !value.is_safe()
        && !value.is_undefined()
        && !value.is_none()
    {
        // Written straight into the output: no allocation for strings, numbers and booleans.
        let written = match value.kind() {
            minijinja::value::ValueKind::String => {
                crate::middleware::write_escaped_html(out, value.as_str().unwrap_or(""))
            }
            minijinja::value::ValueKind::Number | minijinja::value::ValueKind::Bool => write!(out, "{value}"),
            _ => crate::middleware::write_escaped_html(out, &value.to_string()),
        };
        written.map_err(minijinja::Error::from)
    } else {
        minijinja::escape_formatter(out, state, value)
    }
}

fn url_for(urls: &UrlMap, endpoint: &str, kwargs: &Kwargs) -> Result<String, minijinja::Error> {
    let mut params = Vec::new();
    for key in kwargs.args() {
        let value: Value = kwargs.get(key)?;
        let text = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
        params.push((key.to_owned(), text));
    }
    urls.url_for(endpoint, params)
        .map_err(|err| minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, err.to_string()))
}

impl From<minijinja::Error> for HttpError {
    fn from(err: minijinja::Error) -> Self {
        // The template error (with file and line) goes to the log; the client sees a plain 500.
        HttpError::internal(format!("template error: {}", crate::error::error_chain(&err, ": ")))
    }
}

/// Values added to every template a request renders: what the app's context processors add
/// (see `BuildCtx::context_processor`, the usual way), and what the request's layers put in
/// its extensions (a layer that knows a value only once it has run, such as phial-login's
/// `current_user`).
///
/// # Examples
///
/// ```
/// use phial_core::templates::TemplateVars;
///
/// let mut request = http::Request::new(());
/// request.extensions_mut().get_or_insert_default::<TemplateVars>().insert("site_name", "Microblog");
/// ```
#[derive(Debug, Clone, Default)]
pub struct TemplateVars(BTreeMap<String, Value>);

impl TemplateVars {
    /// Adds or replaces a value.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<Value>) {
        self.0.insert(name.into(), value.into());
    }
}

/// Renders templates in a handler, with the request's flashes and [`TemplateVars`].
///
/// # Examples
///
/// ```
/// use axum::response::Html;
/// use phial_core::prelude::*;
///
/// async fn index(template: Template) -> Result<Html<String>, HttpError> {
///     template.render("index.html", minijinja::context! { title => "Home" })
/// }
/// ```
pub struct Template {
    templates: Templates,
    session: Option<Session>,
    vars: TemplateVars,
}

impl Template {
    /// Renders `name` with `context` into an HTML response body.
    ///
    /// # Errors
    ///
    /// A template error, as a 500 whose detail goes to the log only.
    pub fn render(&self, name: &str, context: impl Serialize) -> Result<Html<String>, HttpError> {
        let context = self.context(context);
        Ok(Html(self.templates.render(name, context)?))
    }

    /// Renders `name` into a `String` (for text responses and mail bodies).
    ///
    /// # Errors
    ///
    /// A template error, as a 500 whose detail goes to the log only.
    pub fn render_text(&self, name: &str, context: impl Serialize) -> Result<String, HttpError> {
        Ok(self.templates.render(name, self.context(context))?)
    }

    fn context(&self, context: impl Serialize) -> Value {
        let mut extra: BTreeMap<String, Value> = self.vars.0.clone();
        if let Some(session) = &self.session {
            let session = session.clone();
            extra.insert(
                "get_flashed_messages".to_owned(),
                Value::from_function(move |kwargs: Kwargs| -> Result<Value, minijinja::Error> {
                    let with_categories: Option<bool> = kwargs.get("with_categories")?;
                    let filter: Option<Vec<String>> = kwargs.get("category_filter")?;
                    kwargs.assert_all_used()?;
                    let filter = filter.unwrap_or_default();
                    let filter: Vec<&str> = filter.iter().map(String::as_str).collect();
                    let flashes = session.get_flashed_messages(&filter);
                    Ok(if with_categories.unwrap_or(false) {
                        let pairs: Vec<(String, String)> =
                            flashes.into_iter().map(|f| (f.category, f.message)).collect();
                        Value::from_serialize(&pairs)
                    } else {
                        Value::from_serialize(flashes.into_iter().map(|f| f.message).collect::<Vec<_>>())
                    })
                }),
            );
        }
        minijinja::context! { ..Value::from_serialize(context), ..Value::from(extra) }
    }
}

impl<S> FromRequestParts<S> for Template
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, HttpError> {
        let state = AppState::from_ref(state);
        let templates = state
            .get::<Templates>()
            .cloned()
            .ok_or_else(|| HttpError::internal("templates are not set up (feature `templates`)"))?;
        // Loads a server-side session before a template can ask for its flashes.
        let session = <Session as axum::extract::OptionalFromRequestParts<()>>::from_request_parts(parts, &()).await?;
        let mut vars = parts.extensions.get::<TemplateVars>().cloned().unwrap_or_default();
        for processor in templates.processors.iter() {
            processor(parts, &mut vars);
        }
        Ok(Self { templates, session, vars })
    }
}
