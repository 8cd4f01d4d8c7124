//! Real outages for service-backed tests: a TCP proxy in front of a server that a test cuts or
//! freezes.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// A TCP proxy to a real server (Redis, PostgreSQL, an SMTP server) that a test can cut
/// (connections closed, port refused) and restore on the same port, or freeze (connections stay
/// open and nothing is forwarded: a server that stops answering).
///
/// Point the app at [`url`](Self::url) instead of the server's own URL; the outage is then as
/// real as a server going away, without stopping a server that other tests share.
///
/// # Examples
///
/// ```no_run
/// use phial_core::testing::{FaultProxy, Service, service_url};
///
/// # async fn demo() {
/// let Some(url) = service_url(Service::Redis) else { return };
/// let mut proxy = FaultProxy::start_for(&url).await.unwrap();
/// let via_proxy = proxy.url(); // give this URL to the app under test
/// # let _ = via_proxy;
/// proxy.cut().await; // the server is gone
/// proxy.restore().await; // and back, on the same port
/// proxy.freeze(); // the server stops answering
/// proxy.thaw();
/// # }
/// ```
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    url: String,
    frozen: watch::Sender<bool>,
    tasks: Option<JoinSet<()>>,
}

impl FaultProxy {
    /// Starts a proxy on a free local port that forwards to `upstream`.
    ///
    /// # Errors
    ///
    /// When no local port can be bound.
    pub async fn start(upstream: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let url = addr.to_string();
        let mut proxy = Self { addr, upstream, url, frozen: watch::channel(false).0, tasks: None };
        proxy.serve(listener);
        Ok(proxy)
    }

    /// Starts a proxy to the server of a service URL (`redis://host:port/db`,
    /// `postgres://user@host:port/db`, `smtp://host:port`); [`url`](Self::url) is then the same
    /// URL with the proxy's address in place of the server's.
    ///
    /// # Errors
    ///
    /// When the URL has no `host:port` that resolves, or no local port can be bound.
    pub async fn start_for(url: &str) -> std::io::Result<Self> {
        let invalid = || std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("no host:port in {url}"));
        let (scheme, rest) = url.split_once("://").ok_or_else(invalid)?;
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        let (credentials, host_port) = match authority.rsplit_once('@') {
            Some((credentials, host_port)) => (Some(credentials), host_port),
            None => (None, authority),
        };
        let upstream = tokio::net::lookup_host(host_port).await?.next().ok_or_else(invalid)?;
        let mut proxy = Self::start(upstream).await?;
        let credentials = credentials.map(|c| format!("{c}@")).unwrap_or_default();
        proxy.url = format!("{scheme}://{credentials}{}{tail}", proxy.addr);
        Ok(proxy)
    }

    /// The proxy's own address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL to give the app: the service URL of [`start_for`](Self::start_for) through the
    /// proxy, or `host:port` after [`start`](Self::start).
    pub fn url(&self) -> &str {
        &self.url
    }

    fn serve(&mut self, listener: TcpListener) {
        let upstream = self.upstream;
        let frozen = self.frozen.subscribe();
        let mut tasks = JoinSet::new();
        tasks.spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((inbound, _)) = listener.accept().await {
                let frozen = frozen.clone();
                connections.spawn(async move {
                    let Ok(outbound) = TcpStream::connect(upstream).await else { return };
                    let (client_read, client_write) = inbound.into_split();
                    let (server_read, server_write) = outbound.into_split();
                    tokio::join!(
                        pump(client_read, server_write, frozen.clone()),
                        pump(server_read, client_write, frozen)
                    );
                });
            }
        });
        self.tasks = Some(tasks);
    }

    /// Closes the listener and every proxied connection: the server is gone, connections are
    /// refused.
    pub async fn cut(&mut self) {
        if let Some(mut tasks) = self.tasks.take() {
            tasks.shutdown().await;
        }
    }

    /// Listens again on the same port after [`cut`](Self::cut).
    ///
    /// # Panics
    ///
    /// When the port was taken by something else in the meantime.
    pub async fn restore(&mut self) {
        if self.tasks.is_some() {
            return;
        }
        let listener = TcpListener::bind(self.addr).await.expect("the proxy's port is free again");
        self.serve(listener);
    }

    /// Holds every byte in both directions until [`thaw`](Self::thaw): the server stops
    /// answering but connections stay open.
    pub fn freeze(&self) {
        self.frozen.send_replace(true);
    }

    /// Forwards again what [`freeze`](Self::freeze) held.
    pub fn thaw(&self) {
        self.frozen.send_replace(false);
    }
}

/// Copies `from` to `to`, holding data while the proxy is frozen.
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, mut frozen: watch::Receiver<bool>) {
    let mut buffer = vec![0; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        if frozen.wait_for(|frozen| !*frozen).await.is_err() || to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}
