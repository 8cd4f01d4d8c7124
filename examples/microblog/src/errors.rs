//! The `errors` blueprint (`app/errors/handlers.py`): the 404 and 500 pages, or the API's JSON
//! error when the client prefers JSON; and the 429 of the rate limits (see `crate::limits`).

use phial::axum::Json;
use phial::axum::http::StatusCode;
use phial::axum::response::{Html, IntoResponse, Response};
use phial::prelude::*;

/// Registers the handlers for 404, 429 and 500.
pub fn register(app: AppBuilder) -> AppBuilder {
    app.error_handler(StatusCode::NOT_FOUND, |ctx| page(&ctx, "errors/404.html"))
        .error_handler(StatusCode::TOO_MANY_REQUESTS, |ctx| page(&ctx, "errors/429.html"))
        .error_handler(StatusCode::INTERNAL_SERVER_ERROR, |ctx| page(&ctx, "errors/500.html"))
}

fn page(ctx: &ErrorContext, name: &str) -> Response {
    // The API's token route answers its 429 in JSON whatever the client accepts.
    let api_limit = ctx.status == StatusCode::TOO_MANY_REQUESTS && ctx.path.starts_with("/api/");
    if ctx.wants_json || api_limit {
        // The API's `error_response(status)`: `{"error": "Not Found"}`; a 429 also names the
        // limit (`"message": "10 per 1 minute"`).
        let reason = ctx.status.canonical_reason().unwrap_or("Unknown error");
        let mut body = serde_json::json!({ "error": reason });
        if ctx.status == StatusCode::TOO_MANY_REQUESTS {
            body["message"] = ctx.message.clone().into();
        }
        return (ctx.status, Json(body)).into_response();
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
