//! Helpers every blueprint uses: 302 redirects, rendering, `?page=`, older/newer links.

use phial::axum::http::{StatusCode, header};
use phial::axum::response::{Html, IntoResponse, Response};
use phial::prelude::*;
use serde::{Deserialize, Serialize};

/// A 302 to `location`, as Flask's `redirect` answers.
pub fn found(location: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, location.to_owned())]).into_response()
}

/// Renders `name` with `context`.
pub fn render(template: &Template, name: &str, context: impl Serialize) -> Result<Html<String>, HttpError> {
    template.render(name, context)
}

/// `?page=`, read as `request.args.get('page', 1, type=int)` reads it: anything that is not
/// a positive integer is page 1.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    page: Option<String>,
}

impl PageQuery {
    /// The page number, at least 1.
    pub fn page(&self) -> u64 {
        self.page.as_deref().and_then(|page| page.trim().parse::<u64>().ok()).filter(|page| *page >= 1).unwrap_or(1)
    }
}

/// The "Newer posts" and "Older posts" links of a paginated page.
#[derive(Debug, Serialize)]
pub struct PageLinks {
    /// The newer page (`prev_url`), if any.
    pub prev_url: Option<String>,
    /// The older page (`next_url`), if any.
    pub next_url: Option<String>,
}

impl PageLinks {
    /// Links for page `page` of `endpoint` (with `params`), given whether a next page exists.
    pub fn new(
        state: &AppState,
        endpoint: &str,
        params: &[(&str, &str)],
        page: u64,
        has_next: bool,
    ) -> Result<Self, HttpError> {
        let link = |page: u64| -> Result<String, HttpError> {
            let page = page.to_string();
            let mut all: Vec<(&str, &str)> = params.to_vec();
            all.push(("page", &page));
            Ok(state.url_for(endpoint, all)?)
        };
        Ok(Self {
            prev_url: if page > 1 { Some(link(page - 1)?) } else { None },
            next_url: if has_next { Some(link(page + 1)?) } else { None },
        })
    }
}

/// `url_for(endpoint, ..., _external=True)` for links that leave the site (mail): on
/// `SERVER_NAME` when it is set, so a forged `Host` header cannot redirect a reset link;
/// else on the request's host, as Flask does without `SERVER_NAME`.
pub fn external_url(
    state: &AppState,
    urls: &Urls,
    endpoint: &str,
    params: &[(&str, &str)],
) -> Result<String, HttpError> {
    let app = state.app_config();
    match &app.server_name {
        Some(host) => Ok(format!("{}://{host}{}", app.preferred_url_scheme, state.url_for(endpoint, params.to_vec())?)),
        None => Ok(urls.external(endpoint, params.to_vec())?),
    }
}
