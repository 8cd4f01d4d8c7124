//! [`AppState`]: the router state, a typed registry frozen at start, and the [`Ext`] extractor.

use std::any::{Any, TypeId, type_name};
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Deref;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use http::request::Parts;

use crate::config::{AppConfig, ConfigSource, Profile};
use crate::error::HttpError;
use crate::routing::{UrlError, UrlMap, UrlParams};

/// A map from type to one shared value of that type.
///
/// Extensions fill it in their `start` hooks through [`StartCtx::provide`](crate::StartCtx::provide);
/// it is frozen into [`AppState`] before the first request.
#[derive(Default)]
pub struct Registry {
    values: HashMap<TypeId, (Arc<dyn Any + Send + Sync>, &'static str), BuildHasherDefault<TypeIdHasher>>,
}

/// The registry's hasher: a `TypeId` is a hash already, so it is used as it is rather than
/// hashed again with `SipHash` (over a hundred instructions per lookup, and extractors look
/// values up on every request), as `http::Extensions` does for its entries.
#[derive(Default)]
struct TypeIdHasher(u64);

impl Hasher for TypeIdHasher {
    fn write(&mut self, bytes: &[u8]) {
        // `TypeId` hashes through `write_u64`; anything else still hashes, byte by byte.
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl Registry {
    /// Stores `value`, replacing any earlier value of the same type.
    pub fn insert<T: Send + Sync + 'static>(&mut self, value: T) {
        self.insert_arc(Arc::new(value));
    }

    /// Stores an already shared value.
    pub fn insert_arc<T: Send + Sync + 'static>(&mut self, value: Arc<T>) {
        self.values.insert(TypeId::of::<T>(), (value, type_name::<T>()));
    }

    /// The value of type `T`, if one was stored.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.values.get(&TypeId::of::<T>()).and_then(|(v, _)| v.downcast_ref::<T>())
    }

    /// The shared value of type `T`, if one was stored.
    pub fn get_arc<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        let (value, _) = self.values.get(&TypeId::of::<T>())?;
        Arc::clone(value).downcast::<T>().ok()
    }

    pub(crate) fn contains_type(&self, id: TypeId) -> bool {
        self.values.contains_key(&id)
    }

    /// The type names stored, sorted, for diagnostics.
    pub fn type_names(&self) -> Vec<&'static str> {
        let mut names: Vec<_> = self.values.values().map(|(_, n)| *n).collect();
        names.sort_unstable();
        names
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.type_names()).finish()
    }
}

pub(crate) struct StateInner {
    pub(crate) registry: Registry,
    pub(crate) app: AppConfig,
    pub(crate) source: ConfigSource,
    pub(crate) urls: UrlMap,
}

/// The router state of a phial app: config, URL map and the typed registry, behind one `Arc`.
///
/// Cloning is a reference-count increment. Handlers reach registered values with [`Ext`], or
/// through an extension's own extractor. Every request of a started app also carries it
/// ([`AppState::from_extensions`]), for extractors and layers that are generic over the
/// router's state or run in a router nested without it.
///
/// # Examples
///
/// ```
/// use axum::routing::get;
/// use phial_core::prelude::*;
///
/// async fn index(state: axum::extract::State<AppState>) -> String {
///     state.url_for("index", ()).unwrap_or_default()
/// }
///
/// # #[tokio::main] async fn main() -> Result<(), phial_core::Error> {
/// let app = App::builder().profile(Profile::Testing).endpoint("index", "/", get(index)).build()?;
/// let running = app.start().await?;
/// assert_eq!(running.state().url_for("index", ())?, "/");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AppState(pub(crate) Arc<StateInner>);

impl AppState {
    /// The state of the app serving the request whose extensions these are: for extractors and
    /// layers that are generic over the router's state. `None` outside a started phial app.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::AppState;
    /// use phial_core::axum::extract::FromRequestParts;
    /// use phial_core::axum::http::request::Parts;
    ///
    /// /// An extractor for any router state, reading the app's profile through the request.
    /// struct CurrentProfile(phial_core::Profile);
    ///
    /// impl<S: Send + Sync> FromRequestParts<S> for CurrentProfile {
    ///     type Rejection = phial_core::HttpError;
    ///
    ///     async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
    ///         let app = AppState::from_extensions(&parts.extensions)
    ///             .ok_or_else(|| phial_core::HttpError::internal("not in a phial app"))?;
    ///         Ok(CurrentProfile(app.profile()))
    ///     }
    /// }
    /// ```
    pub fn from_extensions(extensions: &http::Extensions) -> Option<&Self> {
        extensions.get::<crate::outer::RequestContext>().map(|context| &context.state)
    }

    /// The value of type `T` in the registry.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.0.registry.get::<T>()
    }

    /// The shared value of type `T` in the registry.
    pub fn get_arc<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.0.registry.get_arc::<T>()
    }

    /// The value of type `T`, which an extension [promised](crate::BuildCtx::promise).
    ///
    /// Startup fails when a promised value is not provided, so this is the accessor for
    /// `FromRef` impls of extension handles.
    ///
    /// # Panics
    ///
    /// When no value of type `T` is registered: a bug in the extension that skipped its
    /// promise, which the panic message names.
    #[track_caller]
    pub fn require<T: Send + Sync + 'static>(&self) -> &T {
        match self.get::<T>() {
            Some(value) => value,
            None => panic!(
                "no `{}` in the app state: the extension that provides it must promise it in `build` \
                 and provide it in `start`",
                type_name::<T>()
            ),
        }
    }

    /// The registry itself.
    pub fn registry(&self) -> &Registry {
        &self.0.registry
    }

    /// The core's `[app]` config.
    pub fn app_config(&self) -> &AppConfig {
        &self.0.app
    }

    /// The merged config, to extract an app's own sections.
    pub fn config(&self) -> &ConfigSource {
        &self.0.source
    }

    /// The active profile.
    pub fn profile(&self) -> Profile {
        self.0.source.profile()
    }

    /// The URL map of every named endpoint.
    pub fn urls(&self) -> &UrlMap {
        &self.0.urls
    }

    /// Builds the path of `endpoint` with `params` (Flask's `url_for`).
    ///
    /// Parameters that the route does not take become the query string.
    ///
    /// # Errors
    ///
    /// [`UrlError`] for an unknown endpoint or a missing parameter.
    pub fn url_for(&self, endpoint: &str, params: impl UrlParams) -> Result<String, UrlError> {
        self.0.urls.url_for(endpoint, params)
    }
}

impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppState").field("registry", &self.0.registry).finish_non_exhaustive()
    }
}

/// Extracts the registered value of type `T` from the [`AppState`].
///
/// Works in any router whose state gives an `AppState` through [`FromRef`]. A missing value is
/// a 500 with the type named in the log (and a startup error when it was promised).
///
/// # Examples
///
/// ```
/// use axum::routing::get;
/// use phial_core::prelude::*;
///
/// struct Motd(String);
///
/// async fn motd(Ext(motd): Ext<Motd>) -> String {
///     motd.0.clone()
/// }
///
/// let app = App::builder()
///     .profile(Profile::Testing)
///     .state(Motd("hello".into()))
///     .endpoint("motd", "/motd", get(motd))
///     .build()?;
/// # Ok::<(), phial_core::Error>(())
/// ```
pub struct Ext<T>(pub Arc<T>);

impl<T> Deref for Ext<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> Clone for Ext<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<T: fmt::Debug> fmt::Debug for Ext<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Ext").field(&self.0).finish()
    }
}

impl<T, S> FromRequestParts<S> for Ext<T>
where
    T: Send + Sync + 'static,
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request_parts(_parts: &mut Parts, state: &S) -> Result<Self, HttpError> {
        AppState::from_ref(state).get_arc::<T>().map(Ext).ok_or_else(|| {
            HttpError::internal(format!(
                "no `{}` in the app state; register it with `AppBuilder::state` or an extension",
                type_name::<T>()
            ))
        })
    }
}

/// Makes an extension's handle (a cheap-to-clone type that the extension registers in the
/// app state, like `Cache` or `Mail`) an axum extractor, in phial apps and in bare axum apps.
///
/// It writes the two impls every such handle needs:
/// - `FromRef<AppState>`: the handle from a phial app's state, through
///   [`AppState::require`] (the extension [promises](crate::BuildCtx::promise) it in `build`,
///   so a missing handle is a startup error, not a panic per request);
/// - `FromRequestParts<S>` for any router state `S` the handle is `FromRef` of, so handlers take
///   the handle as an argument, and a bare axum app with `#[derive(FromRef)]` on its own state
///   gets the same extractor.
///
/// Invoke it in the crate that defines the handle type.
///
/// # Examples
///
/// ```
/// use phial_core::prelude::*;
///
/// /// A handle an extension registers with `ctx.provide(...)` in `start`.
/// #[derive(Clone)]
/// pub struct Weather {
///     city: std::sync::Arc<str>,
/// }
/// phial_core::handle_extractor!(Weather);
///
/// async fn forecast(weather: Weather) -> String {
///     format!("sunny in {}", weather.city)
/// }
/// # let _ = forecast;
/// ```
#[macro_export]
macro_rules! handle_extractor {
    ($handle:ty) => {
        impl $crate::axum::extract::FromRef<$crate::AppState> for $handle {
            fn from_ref(state: &$crate::AppState) -> Self {
                state.require::<$handle>().clone()
            }
        }

        impl<S> $crate::axum::extract::FromRequestParts<S> for $handle
        where
            $handle: $crate::axum::extract::FromRef<S>,
            S: Send + Sync,
        {
            type Rejection = ::std::convert::Infallible;

            async fn from_request_parts(
                _parts: &mut $crate::axum::http::request::Parts,
                state: &S,
            ) -> ::std::result::Result<Self, Self::Rejection> {
                ::std::result::Result::Ok(<$handle as $crate::axum::extract::FromRef<S>>::from_ref(state))
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_keeps_one_value_per_type_among_many() {
        struct Wrapper<const N: usize>(usize);
        macro_rules! fill {
            ($registry:ident; $($n:literal)*) => { $( $registry.insert(Wrapper::<$n>($n * 10)); )* };
        }
        macro_rules! check {
            ($registry:ident; $($n:literal)*) => { $( assert_eq!($registry.get::<Wrapper<$n>>().map(|w| w.0), Some($n * 10)); )* };
        }
        let mut registry = Registry::default();
        fill!(registry; 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19);
        registry.insert(String::from("text"));
        registry.insert(String::from("replaced"));
        check!(registry; 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19);
        assert_eq!(registry.get::<String>().map(String::as_str), Some("replaced"));
        assert!(registry.get::<u8>().is_none());
    }
}
