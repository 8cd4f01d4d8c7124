//! A real listener: graceful shutdown finishes an in-flight request.

use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{Notify, oneshot};

use crate::builder;

async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connects");
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("writes");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("reads");
    response
}

#[tokio::test]
async fn graceful_shutdown_finishes_the_in_flight_request() {
    let entered = Arc::new(Notify::new());
    let entered_in_handler = Arc::clone(&entered);
    let running = builder()
        .set("app.shutdown_timeout", 10.0)
        .endpoint(
            "slow",
            "/slow",
            get(move || {
                let entered = Arc::clone(&entered_in_handler);
                async move {
                    entered.notify_one();
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    "finished"
                }
            }),
        )
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(running.serve_with_shutdown(listener, async move {
        let _ = stopped.await;
    }));

    let request = tokio::spawn(http_get(addr, "/slow"));
    entered.notified().await;
    stop.send(()).unwrap();
    let response = tokio::time::timeout(Duration::from_secs(10), request).await.expect("in time").unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("finished"), "{response}");
    tokio::time::timeout(Duration::from_secs(10), server).await.expect("server stops").unwrap().unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "no longer accepting");
}

#[tokio::test]
async fn drain_is_bounded_by_the_shutdown_timeout() {
    let entered = Arc::new(Notify::new());
    let entered_in_handler = Arc::clone(&entered);
    let running = builder()
        .set("app.shutdown_timeout", 0.2)
        .endpoint(
            "stuck",
            "/stuck",
            get(move || {
                let entered = Arc::clone(&entered_in_handler);
                async move {
                    entered.notify_one();
                    tokio::time::sleep(Duration::from_hours(1)).await;
                    "never"
                }
            }),
        )
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(running.serve_with_shutdown(listener, async move {
        let _ = stopped.await;
    }));
    let _request = tokio::spawn(http_get(addr, "/stuck"));
    entered.notified().await;
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("stops despite the stuck request")
        .unwrap()
        .unwrap();
}
