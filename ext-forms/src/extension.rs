//! [`FormsExtension`]: `[forms]`, the CSRF layer and message catalogs for a phial app.

use std::sync::Arc;

use http::header::ACCEPT_LANGUAGE;
use phial_core::axum::extract::Request;
use phial_core::prelude::*;
use phial_core::tower;
use serde::{Deserialize, Serialize};

use crate::csrf::{CsrfConfig, CsrfKeys, CsrfLayer};
use crate::messages::Catalog;

/// `[forms]`.
///
/// # Examples
///
/// ```toml
/// [forms]
/// locale = "es"          # messages when the request's Accept-Language names no catalog
///
/// [forms.csrf]
/// time_limit = 3600
/// ```
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct FormsConfig {
    /// The default locale of messages; `""` or `"en"` for WTForms' English.
    pub locale: String,
    /// CSRF protection.
    pub csrf: CsrfConfig,
}

/// The phial extension for forms: Flask-WTF's `CSRFProtect(app)` plus message catalogs.
///
/// At build it adds, in stage `Auth` (inside the session layer, whose secret it needs), the
/// [`CsrfLayer`] that checks every unsafe request not exempted, and the layer that gives each
/// request the [`Catalog`] of its `Accept-Language` (or `forms.locale`). With feature
/// `templates`, a context processor gives the templates of a request that renders one
/// `csrf_token()` and `hidden_tag()`.
///
/// # Examples
///
/// ```no_run
/// use phial_core::prelude::*;
/// use phial_forms::{Catalog, FormsExtension};
///
/// # async fn run() -> std::process::ExitCode {
/// App::builder()
///     .extension(FormsExtension::new().catalog(Catalog::new("es").add("This field is required.", "Este campo es obligatorio.")))
///     .run()
///     .await
/// # }
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct FormsExtension {
    catalogs: Vec<Arc<Catalog>>,
}

impl FormsExtension {
    /// The extension with WTForms' English messages only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the translations of one locale.
    pub fn catalog(mut self, catalog: Catalog) -> Self {
        self.catalogs.push(Arc::new(catalog));
        self
    }
}

impl Extension for FormsExtension {
    const NAME: &'static str = "forms";
    type Config = FormsConfig;

    fn build(&self, config: &FormsConfig, ctx: &mut BuildCtx<'_>) -> Result<(), Error> {
        let app = ctx.app_config();
        let keys = Arc::new(CsrfKeys::new(&app.secret_key, &app.secret_key_fallbacks, config.csrf.clone())?);
        let https = app.preferred_url_scheme.eq_ignore_ascii_case("https");
        // The keys live in the app's state, which every request carries, for `Csrf`.
        ctx.state(Arc::clone(&keys));
        #[cfg(feature = "templates")]
        {
            let keys = Arc::clone(&keys);
            ctx.context_processor(move |parts, vars| crate::csrf::template_functions(&parts.extensions, &keys, vars));
        }
        ctx.layer(Stage::Auth, "csrf", CsrfLayer::in_app(keys, https));
        if !self.catalogs.is_empty() {
            let chooser = Chooser { catalogs: self.catalogs.clone(), default: config.locale.clone() };
            ctx.layer(
                Stage::Auth,
                "form-messages",
                tower::util::MapRequestLayer::new(move |mut request: Request| {
                    if let Some(catalog) = chooser.choose(request.headers().get(ACCEPT_LANGUAGE)) {
                        request.extensions_mut().insert(catalog);
                    }
                    request
                }),
            );
        }
        Ok(())
    }
}

/// Picks the catalog for a request.
#[derive(Debug, Clone)]
struct Chooser {
    catalogs: Vec<Arc<Catalog>>,
    default: String,
}

impl Chooser {
    /// The first language of `Accept-Language` (by quality) that has a catalog, matching
    /// `es-ES` to `es`; else the default locale's.
    fn choose(&self, header: Option<&http::HeaderValue>) -> Option<Arc<Catalog>> {
        let mut wanted: Vec<(f32, &str)> = header
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .split(',')
            .filter_map(|range| {
                let mut parts = range.split(';');
                let tag = parts.next()?.trim();
                let q = parts.find_map(|p| p.trim().strip_prefix("q=")).and_then(|q| q.parse().ok()).unwrap_or(1.0);
                (!tag.is_empty() && q > 0.0).then_some((q, tag))
            })
            .collect();
        wanted.sort_by(|a, b| b.0.total_cmp(&a.0));
        let find = |tag: &str| {
            let tag = tag.replace('-', "_");
            self.catalogs
                .iter()
                .find(|c| c.locale().eq_ignore_ascii_case(&tag))
                .or_else(|| {
                    let primary = tag.split('_').next().unwrap_or_default();
                    self.catalogs.iter().find(|c| c.locale().eq_ignore_ascii_case(primary))
                })
                .cloned()
        };
        wanted.iter().find_map(|(_, tag)| find(tag)).or_else(|| find(&self.default))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_best_catalog() {
        let chooser = Chooser {
            catalogs: vec![Arc::new(Catalog::new("es")), Arc::new(Catalog::new("pt_BR"))],
            default: "en".into(),
        };
        let pick = |header: &str| {
            chooser.choose(Some(&http::HeaderValue::from_str(header).unwrap())).map(|c| c.locale().to_owned())
        };
        assert_eq!(pick("es-ES,es;q=0.9,en;q=0.8").as_deref(), Some("es"));
        assert_eq!(pick("en;q=1, pt-BR;q=0.5").as_deref(), Some("pt_BR"));
        assert_eq!(pick("de, fr;q=0.5"), None);
    }
}
