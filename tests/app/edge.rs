//! The edge facing the internet: slow and idle clients are cut off, others are served.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::{Options, TestApp, browser};

#[tokio::test]
async fn five_hundred_half_sent_requests_are_cut_at_the_header_timeout_while_others_are_served() {
    let app = TestApp::spawn_configured(Options::default(), |config| {
        config["Server"]["HeaderTimeoutSeconds"] = json!(2);
    })
    .await;
    let address = app.base.trim_start_matches("http://").to_string();
    let started = Instant::now();
    let mut slow = tokio::task::JoinSet::new();
    for _ in 0..500 {
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        stream.write_all(b"GET /healthz HT").await.unwrap();
        slow.spawn(async move {
            // The server closes the connection (no answer to half a request line).
            let mut buffer = [0u8; 256];
            let closed = tokio::time::timeout(Duration::from_secs(30), async {
                loop {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {}
                    }
                }
            })
            .await;
            closed.is_ok()
        });
    }
    // Meanwhile a normal client is served.
    let (status, info) = app.call(&browser(), "session_info", &[]).await;
    assert_eq!(status, StatusCode::OK, "{info}");

    let mut cut = 0;
    while let Some(closed) = slow.join_next().await {
        assert!(closed.unwrap(), "a half-sent request was still open after 30 s");
        cut += 1;
    }
    assert_eq!(cut, 500);
    let elapsed = started.elapsed();
    // Within the configured 2 s, plus room for 500 connections on a slow machine; never
    // before the timeout could have fired.
    assert!(elapsed >= Duration::from_secs(2), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(12), "{elapsed:?}");

    // And a keep-alive connection left idle is closed the same way.
    let mut idle = tokio::net::TcpStream::connect(&address).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = vec![0u8; 1024];
    let read = idle.read(&mut answer).await.unwrap();
    assert!(String::from_utf8_lossy(&answer[..read]).starts_with("HTTP/1.1 200"));
    let idle_since = Instant::now();
    let closed = tokio::time::timeout(Duration::from_secs(30), idle.read(&mut answer)).await;
    assert!(matches!(closed, Ok(Ok(0)) | Ok(Err(_))), "{closed:?}");
    assert!(idle_since.elapsed() < Duration::from_secs(12));
}
