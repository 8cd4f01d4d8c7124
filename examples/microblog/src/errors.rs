//! The `errors` blueprint (`app/errors/handlers.py`): the 404 and 500 pages, or the API's JSON
//! error when the client prefers JSON.

use phial::axum::Json;
use phial::axum::http::StatusCode;
use phial::axum::response::{Html, IntoResponse, Response};
use phial::prelude::*;

/// Registers the handlers for 404 and 500.
pub fn register(app: AppBuilder) -> AppBuilder {
    app.error_handler(StatusCode::NOT_FOUND, |ctx| page(&ctx, "errors/404.html"))
        .error_handler(StatusCode::INTERNAL_SERVER_ERROR, |ctx| page(&ctx, "errors/500.html"))
}

fn page(ctx: &ErrorContext, name: &str) -> Response {
    if ctx.wants_json {
        // The API's `error_response(status)`: `{"error": "Not Found"}`.
        let reason = ctx.status.canonical_reason().unwrap_or("Unknown error");
        return (ctx.status, Json(serde_json::json!({ "error": reason }))).into_response();
    }
    let Some(templates) = ctx.state.get::<Templates>() else { return ctx.status.into_response() };
    match templates.render(name, phial::minijinja::context! {}) {
        Ok(html) => (ctx.status, Html(html)).into_response(),
        Err(err) => {
            tracing::error!(error = %err, template = name, "error page failed to render");
            ctx.status.into_response()
        }
    }
}
