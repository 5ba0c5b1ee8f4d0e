//! Two app processes on one PostgreSQL behind one address: whatever a user does on one instance
//! holds on the other. Built only with the `postgres-tests` feature, which `scripts/test` turns
//! on inside `scripts/with-postgres`.

#[path = "app/harness.rs"]
mod harness;
#[path = "app/webhook_receiver.rs"]
mod webhook_receiver;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use harness::{CLIENT_ID, JOHN, Options, SESSION_KEY, browser, follow_to_page, form_action, hidden, location};
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Instance {
    child: Child,
    base: String,
}

impl Instance {
    /// Stops it as an operator would (SIGTERM: what is under way finishes).
    fn stop(mut self) {
        let pid = self.child.id().to_string();
        let stopped = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(stopped.success());
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "{exit:?}");
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start(config: &std::path::Path, port: u16) -> Instance {
    let child = Command::new(env!("CARGO_BIN_EXE_issues-app"))
        .args(["--config", config.to_str().unwrap()])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let instance = Instance {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(response) = reqwest::get(format!("{}/readyz", instance.base)).await
            && response.status() == StatusCode::OK
        {
            return instance;
        }
        assert!(
            Instant::now() < deadline,
            "instance on port {port} did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn call(
    client: &reqwest::Client,
    instance: &Instance,
    function: &str,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let response = client
        .post(format!("{}/api/{function}", instance.base))
        .header("accept", "application/json")
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Signs John in through `instance` (the load balancer sent the browser there).
async fn sign_in(client: &reqwest::Client, instance: &Instance) {
    sign_in_as(client, instance, JOHN).await;
}

/// Signs `user` in through `instance`.
async fn sign_in_as(client: &reqwest::Client, instance: &Instance, user: (&str, &str)) {
    let start = client
        .get(format!("{}/auth/login", instance.base))
        .send()
        .await
        .unwrap();
    let (page_url, page) = follow_to_page(client, &location(&start), "http://127.0.0.1:0").await;
    let html = page.text().await.unwrap();
    let response = client
        .post(form_action(&page_url, &html))
        .form(&[
            ("interaction", hidden(&html, "interaction")),
            ("csrf_token", hidden(&html, "csrf_token")),
            ("username", user.0.to_string()),
            ("password", user.1.to_string()),
        ])
        .send()
        .await
        .unwrap();
    let callback = location(&response);
    let done = client.get(&callback).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
}

async fn id_token(database_url: &str) -> String {
    let pool = sqlx::PgPool::connect(database_url).await.unwrap();
    let row: issues_app::server::storage::sign_ins::SignInRow =
        sqlx::query_as("SELECT * FROM sign_ins ORDER BY created_at DESC LIMIT 1")
            .fetch_one(&pool)
            .await
            .unwrap();
    let key = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, SESSION_KEY);
    let sealer = issues_app::server::support::seal::Sealer::from_base64(&key).unwrap();
    row.tokens(&sealer).unwrap().id_token.unwrap()
}

#[tokio::test]
async fn two_instances_share_sessions_issues_refresh_and_logout() {
    let database_url = harness::fresh_database_url()
        .await
        .expect("ISSUES_APP_TEST_POSTGRES_URL: run under scripts/with-postgres");
    let (port_a, port_b) = (free_port(), free_port());
    // Both instances serve one public address; the IdP knows only that one.
    let public = format!("http://127.0.0.1:{port_a}");
    let idp = dev_idp::start(dev_idp::Options::new(
        harness::directory(
            &public,
            &Options {
                access_token_seconds: Some(30),
                ..Options::default()
            },
        ),
        ([127, 0, 0, 1], 0).into(),
    ))
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config: Value =
        serde_json::from_str(&harness::config_json(&idp.organization_url(), &public, dir.path())).unwrap();
    config["Server"]["DatabaseUrl"] = json!(database_url);
    let config_path = dir.path().join("config.json");
    std::fs::write(&config_path, config.to_string()).unwrap();
    let a = start(&config_path, port_a).await;
    let b = start(&config_path, port_b).await;

    // A session created on A works on B (the browser's cookie goes to either).
    let john = browser();
    sign_in(&john, &a).await;
    let (status, info) = call(&john, &b, "session_info", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(info["user"]["name"], "John Manager");
    let (status, created) = call(
        &john,
        &b,
        "create_issue",
        &[("title", "Created on B"), ("description", "")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let (_, page) = call(&john, &a, "list_issues", &[]).await;
    assert_eq!(page["issues"][0]["title"], "Created on B", "visible on A");

    // 30-second tokens: every call refreshes. A and B at once must not redeem the rotating
    // refresh token twice (the IdP would refuse the second, ending the session).
    for round in 0..3 {
        let (on_a, on_b) = tokio::join!(call(&john, &a, "list_issues", &[]), call(&john, &b, "list_issues", &[]));
        assert_eq!(on_a.0, StatusCode::OK, "round {round} on A: {}", on_a.1);
        assert_eq!(on_b.0, StatusCode::OK, "round {round} on B: {}", on_b.1);
    }
    assert_eq!(
        call(&john, &a, "list_issues", &[]).await.0,
        StatusCode::OK,
        "still signed in"
    );

    // Sign-out on A ends the session on B.
    let response = john.post(format!("{}/auth/logout", a.base)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(call(&john, &b, "list_issues", &[]).await.0, StatusCode::UNAUTHORIZED);

    // Back-channel logout (delivered to the public address, A) ends it on B too.
    let john = browser();
    sign_in(&john, &b).await;
    assert_eq!(call(&john, &b, "list_issues", &[]).await.0, StatusCode::OK);
    let hint = id_token(&database_url).await;
    let response = reqwest::Client::new()
        .get(format!("{}/oidc/logout", idp.organization_url()))
        .query(&[("id_token_hint", hint.as_str()), ("client_id", CLIENT_ID)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let deadline = Instant::now() + Duration::from_secs(5);
    while call(&john, &b, "list_issues", &[]).await.0 != StatusCode::UNAUTHORIZED {
        assert!(Instant::now() < deadline, "back-channel logout did not reach B");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn two_instances_post_each_change_once_in_order_tell_each_other_and_notify_once() {
    use std::sync::{Arc, Mutex};
    use webhook_receiver::{Received, Receiver, SECRET, assert_each_once_in_order, change_run, receiver, until};

    let database_url = harness::fresh_database_url()
        .await
        .expect("ISSUES_APP_TEST_POSTGRES_URL: run under scripts/with-postgres");
    let received: Receiver = Arc::new(Mutex::new(Received {
        up: true,
        ..Received::default()
    }));
    let hook = receiver(received.clone()).await;
    let (port_a, port_b) = (free_port(), free_port());
    let public = format!("http://127.0.0.1:{port_a}");
    let idp = dev_idp::start(dev_idp::Options::new(
        harness::directory(&public, &Options::default()),
        ([127, 0, 0, 1], 0).into(),
    ))
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("webhook.secret");
    std::fs::write(&secret, SECRET).unwrap();
    let mut config: Value =
        serde_json::from_str(&harness::config_json(&idp.organization_url(), &public, dir.path())).unwrap();
    config["Server"]["DatabaseUrl"] = json!(database_url);
    config["Server"]["WebhookFirstRetrySeconds"] = json!(1);
    config["Webhooks"] = json!([{ "Url": hook, "SecretFile": secret, "AllowPrivateAddress": true }]);
    let config_path = dir.path().join("config.json");
    std::fs::write(&config_path, config.to_string()).unwrap();
    let a = start(&config_path, port_a).await;
    let b = start(&config_path, port_b).await;

    // Emily watches the board on B; John creates on A: B's stream hears of it (NOTIFY).
    let emily = browser();
    sign_in_as(&emily, &b, harness::EMILY).await;
    let mut stream = emily.get(format!("{}/live", b.base)).send().await.unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let token = {
        let response = reqwest::Client::new()
            .post(format!("{}/oauth2/token", idp.organization_url()))
            .basic_auth(CLIENT_ID, Some(harness::SECRET))
            .form(&[
                ("grant_type", "password"),
                ("username", JOHN.0),
                ("password", JOHN.1),
                (
                    "scope",
                    "issues:view issues:create issues:comment issues:edit issues:close",
                ),
            ])
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_string()
    };
    let mut made = change_run(&a.base, &token, 1).await;
    let mut heard = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !heard.contains("event: change") {
        assert!(
            Instant::now() < deadline,
            "B's stream heard nothing of A's change: {heard}"
        );
        let chunk = tokio::time::timeout(Duration::from_secs(10), stream.chunk())
            .await
            .unwrap()
            .unwrap();
        heard.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
    }
    drop(stream);

    // Changes on both at once; the receiver down for a while; A stopped and started again.
    let (on_a, on_b) = tokio::join!(change_run(&a.base, &token, 40), change_run(&b.base, &token, 40));
    made += on_a + on_b;
    received.lock().unwrap().up = false;
    let (on_a, on_b) = tokio::join!(change_run(&a.base, &token, 20), change_run(&b.base, &token, 20));
    made += on_a + on_b;
    until(&received, Duration::from_secs(30), |r| r.refused > 0).await;
    a.stop();
    made += change_run(&b.base, &token, 39).await;
    let a = start(&config_path, port_a).await;
    received.lock().unwrap().up = true;
    let (on_a, on_b) = tokio::join!(change_run(&a.base, &token, 20), change_run(&b.base, &token, 20));
    made += on_a + on_b;
    assert_eq!(made, 1000);
    until(&received, Duration::from_secs(90), |r| r.accepted.len() >= made).await;
    let settled = received.lock().unwrap().accepted.len();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_each_once_in_order(&received, made, settled);

    // Notifications: each change turned into them once, whichever instance read it.
    let pool = sqlx::PgPool::connect(&database_url).await.unwrap();
    let read: i64 = sqlx::query_scalar("SELECT last_seq FROM outbox_cursors WHERE consumer = 'notifications'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let last: i64 = sqlx::query_scalar("SELECT last FROM outbox_counter")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!((read, last), (1000, 1000), "every change read once, in order");
    drop(b);
}
