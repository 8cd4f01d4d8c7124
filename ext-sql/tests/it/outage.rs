//! A database that goes away during requests: 503, then service resumes when it is back.
//! The outage is real: the app talks to the server through a TCP proxy that the test stops
//! and starts again on the same port.

use std::net::SocketAddr;
use std::time::Duration;

use axum::routing::get;
use http::StatusCode;
use phial_core::axum;
use phial_core::prelude::*;
use phial_sql::testing::TestDatabase;
use phial_sql::{Backend, Db, SqlError, SqlExtension};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::{app, start};

/// A TCP proxy to `upstream` that can be cut and restored.
struct Proxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    tasks: Option<JoinSet<()>>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut proxy = Self { addr, upstream, tasks: None };
        proxy.serve(listener);
        proxy
    }

    fn serve(&mut self, listener: TcpListener) {
        let upstream = self.upstream;
        let mut tasks = JoinSet::new();
        tasks.spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                connections.spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        self.tasks = Some(tasks);
    }

    /// Closes the listener and every proxied connection.
    async fn cut(&mut self) {
        if let Some(mut tasks) = self.tasks.take() {
            tasks.shutdown().await;
        }
    }

    async fn restore(&mut self) {
        let listener = TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }
}

fn host_port(url: &str) -> SocketAddr {
    let authority = url.split("://").nth(1).unwrap().split('/').next().unwrap();
    let host_port = authority.rsplit('@').next().unwrap();
    host_port.parse().unwrap()
}

fn via(url: &str, proxy: SocketAddr) -> String {
    url.replacen(&host_port(url).to_string(), &proxy.to_string(), 1)
}

async fn count_route(db: Db) -> Result<String, SqlError> {
    use sea_query::ExprTrait as _;
    let select =
        sea_query::Query::select().expr(sea_query::Expr::col(sea_query::Asterisk).count()).from("item").to_owned();
    Ok(db.fetch_scalar::<i64, _>(&select).await?.to_string())
}

async fn outage_on(database: TestDatabase) {
    let backend = database.backend();
    let mut proxy = Proxy::start(host_port(database.url())).await;
    let (_running, client, _db) =
        start(app(&database).set("sql.url", via(database.url(), proxy.addr)).set("sql.acquire_timeout", 1.0).endpoint(
            "count",
            "/count",
            get(count_route),
        ))
        .await;
    client.get("/count").await.assert_status(StatusCode::OK);

    proxy.cut().await;
    let down = tokio::time::timeout(Duration::from_secs(20), client.get("/count").accept_json().send())
        .await
        .expect("a request during the outage ends instead of hanging");
    down.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(down.json_value()["error"], "Service Unavailable", "{backend:?}");

    proxy.restore().await;
    let mut status = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..20 {
        status = client.get("/count").await.status();
        if status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, StatusCode::OK, "{backend:?}: serving again once the database is back");
}

#[tokio::test]
async fn database_outage_is_503_then_recovers() {
    let mut ran = false;
    for database in TestDatabase::available().await {
        if database.backend() != Backend::Sqlite {
            outage_on(database).await;
            ran = true;
        }
    }
    if !ran {
        #[expect(clippy::print_stderr, reason = "tell the person running tests what was skipped")]
        {
            eprintln!("SKIPPED: no server database reachable for the outage test");
        }
    }
}

async fn remembered(session: Session) -> Result<String, HttpError> {
    let visits = session.get::<u32>("visits").unwrap_or(0) + 1;
    session.insert("visits", visits)?;
    Ok(visits.to_string())
}

async fn session_outage_on(database: TestDatabase) {
    let backend = database.backend();
    let mut proxy = Proxy::start(host_port(database.url())).await;
    let running = App::builder()
        .profile(Profile::Testing)
        .set("app.secret_key", "test")
        .set("sql.url", via(database.url(), proxy.addr))
        .set("sql.acquire_timeout", 1.0)
        .set("app.session.store", "sql")
        .extension(SqlExtension::new().session_store().create_all_on_start())
        .endpoint("visits", "/visits", get(remembered))
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let client = running.test_client();
    assert_eq!(client.get("/visits").await.text(), "1");

    proxy.cut().await;
    let down = tokio::time::timeout(Duration::from_secs(20), client.get("/visits").accept_json().send())
        .await
        .expect("a request during the outage ends instead of hanging");
    down.assert_status(StatusCode::SERVICE_UNAVAILABLE);

    proxy.restore().await;
    let mut text = String::new();
    for _ in 0..30 {
        let response = client.get("/visits").await;
        if response.status() == StatusCode::OK {
            text = response.text().to_owned();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(text, "2", "{backend:?}: the session survived the outage and is served again");
    // Close the pool and the proxied connections while the runtime still runs: the test
    // database is dropped next, and MariaDB's DROP DATABASE waits for open connections' locks.
    tokio::time::timeout(Duration::from_secs(10), running.shutdown()).await.expect("shutdown ends");
    proxy.cut().await;
}

#[tokio::test]
async fn session_store_outage_is_503_then_recovers() {
    for database in TestDatabase::available().await {
        if database.backend() != Backend::Sqlite {
            session_outage_on(database).await;
        }
    }
}

/// Closes every connection between the app and the server while the pool holds them idle,
/// as a server restart or a network timeout would, and answers the next request.
async fn after_connections_drop(database: &TestDatabase, pre_ping_after: f64, idle: Duration) -> StatusCode {
    let mut proxy = Proxy::start(host_port(database.url())).await;
    let (running, client, _db) = start(
        app(database)
            .set("sql.url", via(database.url(), proxy.addr))
            .set("sql.acquire_timeout", 1.0)
            .set("sql.pre_ping_after", pre_ping_after)
            .endpoint("count", "/count", get(count_route)),
    )
    .await;
    client.get("/count").await.assert_status(StatusCode::OK);
    proxy.cut().await;
    proxy.restore().await;
    tokio::time::sleep(idle).await;
    let status = client.get("/count").accept_json().send().await.status();
    tokio::time::timeout(Duration::from_secs(10), running.shutdown()).await.expect("shutdown ends");
    proxy.cut().await;
    status
}

#[tokio::test]
async fn a_connection_closed_while_idle_is_replaced_when_it_sat_longer_than_pre_ping_after() {
    for database in TestDatabase::available().await {
        let backend = database.backend();
        if backend == Backend::Sqlite {
            continue;
        }
        // Idle for longer than `pre_ping_after`: pinged, found closed, replaced; the request
        // never sees the dead connection.
        let status = after_connections_drop(&database, 0.2, Duration::from_millis(400)).await;
        assert_eq!(status, StatusCode::OK, "{backend:?}: a connection idle past pre_ping_after is checked first");
        // Used moments ago: taken without a ping, so the one request on the dead connection
        // fails (503) and the pool replaces it for the next.
        let status = after_connections_drop(&database, 60.0, Duration::from_millis(50)).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{backend:?}: a hot connection is not pinged");
    }
}
