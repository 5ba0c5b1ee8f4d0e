//! The edge facing the internet: slow and idle clients are cut off, others are served.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::{CLIENT_ID, JOHN, Options, TestApp, browser, signed_in_with_cookie};

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

#[tokio::test]
async fn state_changing_posts_without_an_origin_are_refused_except_the_bearer_api() {
    let app = TestApp::spawn().await;
    let (_, cookie) = signed_in_with_cookie(&app, JOHN).await;
    // John's cookie, replayed by a program that names no origin.
    let bare = reqwest::Client::new();
    let response = bare
        .post(app.url("/api/create_issue"))
        .header("cookie", &cookie)
        .header("accept", "application/json")
        .form(&[("title", "no origin"), ("description", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.text().await.unwrap().contains("names no origin"));
    assert_eq!(app.issue_count().await, 0);
    // Only paths under `/api/v1/` are the bearer API: `/api/v1` itself is not exempt.
    for path in ["/api/v1", "/api/v1x/issues", "/auth/logout"] {
        let response = bare.post(app.url(path)).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
    }
    // The bearer API needs no origin.
    let token = app.password_token(CLIENT_ID, JOHN).await;
    let response = app.post_issue(&bare, &token, &json!({"title": "from a program"})).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(app.issue_count().await, 1);
}

#[tokio::test]
async fn pages_limit_form_targets_and_openers_and_https_apps_send_hsts() {
    let app = TestApp::spawn().await;
    assert_eq!(reqwest::get(app.url("/readyz")).await.unwrap().status(), StatusCode::OK);
    let page = reqwest::get(app.url("/")).await.unwrap();
    let headers = page.headers();
    let csp = headers["content-security-policy"].to_str().unwrap();
    let idp = url::Url::parse(app.idp().base_url())
        .unwrap()
        .origin()
        .ascii_serialization();
    assert!(csp.ends_with(&format!("form-action 'self' {idp}")), "{csp}");
    assert_eq!(headers["cross-origin-opener-policy"], "same-origin");
    assert!(headers.get("strict-transport-security").is_none(), "not on http");

    let https = TestApp::spawn_configured(Options::default(), |config| {
        config["ApplicationConfig"]["HostedUrl"] = json!("https://issues.example.com");
        config["Server"]["TlsTerminatedByProxy"] = json!(true);
    })
    .await;
    let response = reqwest::get(https.url("/healthz")).await.unwrap();
    assert_eq!(response.headers()["strict-transport-security"], "max-age=31536000");
}

#[tokio::test]
async fn a_client_request_id_is_kept_only_when_short_and_printable() {
    let app = TestApp::spawn().await;
    let echoed = |id: String| {
        let url = app.url("/healthz");
        async move {
            let response = reqwest::Client::new()
                .get(url)
                .header("x-request-id", &id)
                .send()
                .await
                .unwrap();
            response.headers()["x-request-id"].to_str().unwrap().to_string()
        }
    };
    assert_eq!(echoed("trace-7f3a".into()).await, "trace-7f3a");
    for unfit in ["x".repeat(65), "two words".into(), "tab\there".into()] {
        let answer = echoed(unfit.clone()).await;
        assert_ne!(answer, unfit);
        assert!(
            answer.len() <= 64 && answer.bytes().all(|b| b.is_ascii_graphic()),
            "{answer}"
        );
    }
}

/// A connection from `source` (another loopback address: another client) to the app.
async fn connect_from(source: &str, app: &TestApp, receive_buffer: Option<u32>) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    if let Some(size) = receive_buffer {
        socket.set_recv_buffer_size(size).unwrap();
    }
    let address = app.base.trim_start_matches("http://").parse().unwrap();
    socket.connect(address).await.unwrap()
}

#[tokio::test]
async fn one_client_holding_every_connection_does_not_stop_another_from_being_served() {
    let app = TestApp::spawn_configured(Options::default(), |config| {
        config["Server"]["MaxOpenConnections"] = json!(20);
        config["Server"]["HeaderTimeoutSeconds"] = json!(30);
    })
    .await;
    // 127.0.0.2 opens every connection the server allows: ten send half a head and wait, ten
    // ask for a page and never read it, with the smallest receive window.
    let mut hogs = Vec::new();
    for n in 0..20 {
        if n % 2 == 0 {
            let mut stream = connect_from("127.0.0.2", &app, None).await;
            stream.write_all(b"GET /healthz HT").await.unwrap();
            hogs.push(stream);
        } else {
            let mut stream = connect_from("127.0.0.2", &app, Some(1024)).await;
            stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
            hogs.push(stream);
        }
    }
    // Its connections beyond its share are told so at once and closed.
    let mut refused = 0;
    for stream in &mut hogs {
        let mut answer = vec![0u8; 256];
        if let Ok(Ok(read)) = tokio::time::timeout(Duration::from_millis(200), stream.read(&mut answer)).await
            && String::from_utf8_lossy(&answer[..read]).starts_with("HTTP/1.1 503")
        {
            refused += 1;
        }
    }
    assert_eq!(refused, 10, "half of the 20 slots are one client's at most");

    // Another client is answered at once, several times over.
    for _ in 0..5 {
        let mut other = connect_from("127.0.0.1", &app, None).await;
        let answered = tokio::time::timeout(Duration::from_secs(1), async {
            other
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .await
                .unwrap();
            let mut answer = Vec::new();
            other.read_to_end(&mut answer).await.unwrap();
            answer
        })
        .await
        .expect("another client's GET /healthz waited over 1 s");
        assert!(String::from_utf8_lossy(&answered).starts_with("HTTP/1.1 200"));
    }
    drop(hogs);
}

#[tokio::test]
async fn an_answer_the_client_does_not_read_is_cut_after_the_write_timeout() {
    let app = TestApp::spawn_configured(Options::default(), |config| {
        config["Server"]["WriteTimeoutSeconds"] = json!(1);
    })
    .await;
    // An answer of about 4 MB: 100 comments of 10,000 four-byte characters.
    let token = app
        .password_token_for(CLIENT_ID, JOHN, "openid issues:view issues:create issues:comment")
        .await;
    let api = reqwest::Client::new();
    let created: serde_json::Value = app
        .post_issue(&api, &token, &json!({ "title": "Long thread", "description": "" }))
        .await
        .json()
        .await
        .unwrap();
    let comments = format!("/api/v1/issues/{}/comments", created["id"]);
    let body = "\u{1F600}".repeat(10_000);
    for _ in 0..100 {
        let response = api
            .post(app.url(&comments))
            .bearer_auth(&token)
            .json(&json!({ "body": body }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
    }

    // Ten requests for it at once (pipelined): about 40 MB of answers, more than any socket
    // buffers on either side hold.
    let mut reader = connect_from("127.0.0.1", &app, Some(1024)).await;
    let request = format!("GET {comments}?limit=100 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n");
    reader.write_all(request.repeat(10).as_bytes()).await.unwrap();
    // The client reads nothing for three times the write timeout (the behaviour under test).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut received = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), reader.read_to_end(&mut received))
        .await
        .expect("the connection was neither finished nor cut");
    assert!(
        received.starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&received[..64.min(received.len())])
    );
    assert!(
        received.len() < 30_000_000,
        "the answers were cut after {} bytes of about 40 MB",
        received.len()
    );
}
