//! [`AppService`]: the started app as one tower service, its core layers wrapped around the
//! router without a boxed call between them.
//!
//! Every `Router::layer` puts a boxed, cloned-per-request service between a layer and what it
//! wraps (measured: about 2 % of a plain-text request's throughput per layer on the bench
//! machine, see `bench/README.md`). The core's outer layer and session layer need nothing from
//! routing (the session is loaded lazily, when something uses it), so they wrap the whole router
//! as plain generic types instead: a request in an app without extension layers crosses exactly
//! the one boxed call that a bare axum router has.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::response::Response;
use axum::serve::IncomingStream;
use tower::{Layer, Service};

use crate::outer::OuterLayer;
use crate::session::{SessionLayer, SessionService};

type Stack = <OuterLayer as Layer<SessionService<Router>>>::Service;

/// A started app as a tower service: the core's outer layer, the session layer, then the
/// router with every extension's layers.
///
/// [`RunningApp::serve`](crate::RunningApp::serve) serves it; get it with
/// [`RunningApp::service`](crate::RunningApp::service) to serve it with your own server.
/// Cloning is cheap (reference counts).
///
/// # Examples
///
/// ```
/// use axum::{body::Body, http::Request, routing::get};
/// use phial_core::prelude::*;
/// use tower::ServiceExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let app = App::builder().endpoint("index", "/", get(|| async { "hi" })).build()?.start().await?;
/// let response = app.service().oneshot(Request::get("/").body(Body::empty())?).await?;
/// assert_eq!(response.status(), 200);
/// assert!(response.headers().contains_key("x-request-id"));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct AppService {
    stack: Stack,
    peer: Option<SocketAddr>,
}

impl std::fmt::Debug for AppService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppService").field("peer", &self.peer).finish_non_exhaustive()
    }
}

impl AppService {
    pub(crate) fn new(router: Router, session: &SessionLayer, outer: &OuterLayer) -> Self {
        Self { stack: outer.layer(session.layer(router)), peer: None }
    }

    /// The same service, giving every request `ConnectInfo(peer)` as axum's
    /// `into_make_service_with_connect_info` does.
    pub fn with_peer(mut self, peer: SocketAddr) -> Self {
        self.peer = Some(peer);
        self
    }
}

impl Service<Request> for AppService {
    type Response = Response;
    type Error = Infallible;
    type Future = AppFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.stack.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> AppFuture {
        if let Some(peer) = self.peer {
            req.extensions_mut().insert(ConnectInfo(peer));
        }
        AppFuture { inner: self.stack.call(req) }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`AppService`].
    pub struct AppFuture {
        #[pin]
        inner: <Stack as Service<Request>>::Future,
    }
}

impl std::fmt::Debug for AppFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppFuture").finish_non_exhaustive()
    }
}

impl Future for AppFuture {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx)
    }
}

/// Makes one [`AppService`] per TCP connection, with the peer's address (for `axum::serve`).
#[derive(Clone, Debug)]
pub(crate) struct MakeAppService(pub(crate) AppService);

impl Service<IncomingStream<'_, tokio::net::TcpListener>> for MakeAppService {
    type Response = AppService;
    type Error = Infallible;
    type Future = std::future::Ready<Result<AppService, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, stream: IncomingStream<'_, tokio::net::TcpListener>) -> Self::Future {
        std::future::ready(Ok(self.0.clone().with_peer(*stream.remote_addr())))
    }
}
