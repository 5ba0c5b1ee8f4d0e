//! What the sign-in core must never allow: an anonymous visitor piling up server state, two
//! processes writing one SQLite file, a sign-out undone by a refresh in flight, sign-ins that
//! outlive their sessions, a sign-out that pretends, session ids readable at rest, and a sign-in
//! planted by a sibling subdomain.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{
    self, EMILY, JOHN, Options, TestApp, browser, location, rss_kib, session_count, session_ids, sign_in_rows,
    signed_in_with_cookie,
};

#[tokio::test]
async fn ten_thousand_cookieless_login_starts_leave_nothing_behind() {
    let _quiet = crate::harness::MEMORY_HEAVY.lock().await;
    let app = TestApp::spawn().await;
    let sessions_before = session_count(&app).await;
    let memory_before = rss_kib();

    // No cookie jar: every start is a new anonymous visitor with its own return path.
    let client = harness::browser_builder().build().unwrap();
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..16 {
        let client = client.clone();
        let login = app.url("/auth/login");
        workers.spawn(async move {
            for n in 0..625 {
                let response = client
                    .get(&login)
                    .query(&[("return_to", format!("/issues?visitor={worker}-{n}"))])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::SEE_OTHER);
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done.unwrap();
    }

    assert_eq!(
        session_count(&app).await,
        sessions_before,
        "login starts wrote session records"
    );
    assert!(sign_in_rows(&app).await.is_empty());
    // The whole test process (app, dev IdP, client): a pending sign-in kept in server memory
    // would show here; the bound leaves room for allocator noise and tests running alongside.
    let grown = rss_kib().saturating_sub(memory_before);
    assert!(grown < 64 * 1024, "memory grew by {grown} KiB");

    // The pending sign-in lives in the browser, for minutes, and only the callback sees it.
    let response = client.get(app.url("/auth/login")).send().await.unwrap();
    let cookie = response
        .headers()
        .get("set-cookie")
        .expect("the pending sign-in's cookie")
        .to_str()
        .unwrap()
        .to_string();
    let max_age: u64 = cookie
        .split("; ")
        .find_map(|attribute| attribute.strip_prefix("Max-Age="))
        .and_then(|seconds| seconds.parse().ok())
        .expect("a Max-Age");
    assert!(max_age <= 600, "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/auth/callback"),
        "{cookie}"
    );
}

#[tokio::test]
async fn a_second_process_on_the_same_sqlite_database_refuses_to_start() {
    let shared = tempfile::tempdir().unwrap();
    let database = shared.path().join("shared.db");
    let app = TestApp::spawn_with(Options {
        database_url: Some(format!("sqlite://{}?mode=rwc", database.display())),
        ..Options::default()
    })
    .await;
    let port = harness::free_port();
    let mut second = std::process::Command::new(env!("CARGO_BIN_EXE_issues-app"))
        .args(["--config", app.dir.path().join("config.json").to_str().unwrap()])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = second.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            second.kill().unwrap();
            panic!("a second process started on {}", database.display());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut second.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains(&database.display().to_string()) && stderr.contains("PostgreSQL"),
        "the message names the file and the way out: {stderr}"
    );
    // The first one keeps serving.
    let (status, _) = app.call(&browser(), "session_info", &[]).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn sign_out_without_the_database_says_so_and_keeps_the_session_cookie() {
    let app = TestApp::spawn().await;
    let john = browser();
    app.sign_in(&john, JOHN, "/").await;
    // After a restart nothing is held in memory: sign-out must read the database.
    let app = app.restart().await;
    issues_app::on_db!(&app.state.db, |pool| pool.close().await);

    let response = john.post(app.url("/auth/logout")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        response.headers().get("set-cookie").is_none(),
        "the cookie was cleared although the server session could not be ended"
    );
    let page = response.text().await.unwrap();
    assert!(page.contains("not signed out"), "{page}");
}

#[tokio::test]
async fn session_ids_are_kept_only_as_keyed_hashes() {
    let app = TestApp::spawn().await;
    let (john, cookie) = signed_in_with_cookie(&app, JOHN).await;
    let session_id = cookie.strip_prefix("issues_session=").expect("a session cookie");
    let stored = session_ids(&app).await;
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], session_id, "the cookie value is stored as it is");
    // The session still works through the hash.
    let (_, info) = app.call(&john, "session_info", &[]).await;
    assert_eq!(info["user"]["name"], "John Manager");
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_directory_and_database_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("data");
    let data_dir = data.clone();
    let app = TestApp::spawn_configured(Options::default(), move |config| {
        config["Server"]["DataDir"] = json!(data_dir);
        config["Server"]["DatabaseUrl"] = json!(format!("sqlite://{}?mode=rwc", data_dir.join("issues.db").display()));
        config["Server"].as_object_mut().unwrap().remove("SessionKey");
    })
    .await;
    app.sign_in(&browser(), EMILY, "/").await;
    let mode = |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700, "{}", data.display());
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
    assert!(data.join("issues.db").exists() && data.join("session.key").exists());
}

#[tokio::test]
async fn repeated_callback_parameters_are_refused_by_the_type() {
    let app = TestApp::spawn().await;
    let john = browser();
    let callback = app
        .sign_in_until_callback(&john, "john", "john-dev-password", "/")
        .await;
    let repeated = format!("{callback}&code=another");
    let response = john.get(&repeated).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(sign_in_rows(&app).await.is_empty());
    let start = john.get(app.url("/auth/login")).send().await.unwrap();
    assert!(location(&start).contains("/oauth2/authorize"));
}

#[tokio::test]
async fn the_sign_in_and_sign_out_controls_are_server_functions_that_work_without_wasm() {
    let app = TestApp::spawn().await;
    let john = browser();
    // A plain form post, as the page's Sign in button sends it before the WASM loads.
    let started = john
        .post(app.url("/api/sign_in"))
        .header("accept", "text/html")
        .form(&[("return_to", "/issues")])
        .send()
        .await
        .unwrap();
    assert!(started.status().is_redirection(), "{}", started.status());
    assert!(location(&started).starts_with(&format!("{}/oauth2/authorize", app.organization_url)));
    assert!(
        started.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("issues_pending="),
        "the pending sign-in goes with the browser"
    );
    // The hydrated app sends the same call and is told where to go.
    let hydrated = john
        .post(app.url("/api/sign_in"))
        .header("accept", "application/json")
        .form(&[("return_to", "/issues")])
        .send()
        .await
        .unwrap();
    assert_eq!(hydrated.status(), StatusCode::OK);
    assert!(hydrated.headers().contains_key("serverfnredirect"));

    app.sign_in(&john, JOHN, "/").await;
    let signed_out = john
        .post(app.url("/api/sign_out"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert!(signed_out.status().is_redirection());
    assert!(location(&signed_out).starts_with(&format!("{}/oidc/logout", app.organization_url)));
    assert!(sign_in_rows(&app).await.is_empty());
    let (status, _) = app.call(&john, "list_issues", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
#[tokio::test]
async fn sign_ins_end_with_their_sessions_and_their_refresh_tokens_are_revoked() {
    let app = TestApp::spawn().await;
    let john = browser();
    app.sign_in(&john, JOHN, "/").await;
    let row = sign_in_rows(&app).await.remove(0);
    let refresh_token = row
        .tokens(&crate::sealer())
        .unwrap()
        .refresh_token
        .expect("a refresh token");
    let now = issues_app::server::support::clock::now();

    // Within its idle and absolute time nothing ends.
    assert_eq!(app.state.sessions.end_expired(now + 60).await.unwrap(), 0);
    assert_eq!(sign_in_rows(&app).await.len(), 1);

    // Past the idle deadline (one hour without a request), the sign-in is gone with its session.
    assert_eq!(app.state.sessions.end_expired(now + 3601).await.unwrap(), 1);
    assert!(sign_in_rows(&app).await.is_empty());
    let introspection = harness::idp_post(&app, "/oauth2/introspect", &[("token", &refresh_token)]).await;
    assert_eq!(introspection["active"], false, "the refresh token was revoked");
    let (status, _) = app.call(&john, "list_issues", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// The session store's side of "nothing resurrects a session": a save for a record deleted
/// meanwhile (a sign-out while a request was in flight) changes nothing, on either backend.
#[tokio::test]
async fn a_session_saved_after_its_deletion_stays_deleted() {
    use tower_sessions::SessionStore;
    use tower_sessions::session::{Id, Record};
    let app = TestApp::spawn().await;
    let sealer = std::sync::Arc::new(crate::sealer());
    let store = issues_app::server::storage::session_store::Store::new(&app.state.db, sealer);
    let mut record = Record {
        id: Id::default(),
        data: Default::default(),
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
    };
    record.data.insert("auth".into(), json!("signed in"));
    store.create(&mut record).await.unwrap();
    assert_eq!(store.load(&record.id).await.unwrap().unwrap().data, record.data);

    record.data.insert("auth".into(), json!("renewed"));
    store.save(&record).await.unwrap();
    assert_eq!(store.load(&record.id).await.unwrap().unwrap().data["auth"], "renewed");

    store.delete(&record.id).await.unwrap();
    store.save(&record).await.unwrap();
    assert!(store.load(&record.id).await.unwrap().is_none());
    assert_eq!(session_count(&app).await, 0);
}

/// The pending sign-in is single use: the same callback sent twice at once (same cookie, same
/// state) signs in once.
#[tokio::test]
async fn two_concurrent_callbacks_with_the_same_state_sign_in_once() {
    let app = TestApp::spawn().await;
    let john = browser();
    let callback = app
        .sign_in_until_callback(&john, "john", "john-dev-password", "/")
        .await;
    let (first, second) = tokio::join!(john.get(&callback).send(), john.get(&callback).send());
    let mut statuses = [first.unwrap().status(), second.unwrap().status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::SEE_OTHER, StatusCode::BAD_REQUEST]);
    assert_eq!(sign_in_rows(&app).await.len(), 1);
}

/// Login CSRF from a sibling subdomain: `evil.example.com` can set `Domain=example.com` cookies,
/// but not a `__Host-` one, so with https the callback reads only the `__Host-` name.
#[tokio::test]
async fn with_https_the_pending_sign_in_is_host_only_and_a_planted_plain_cookie_is_ignored() {
    let app = TestApp::spawn_configured(Options::default(), |config| {
        config["ApplicationConfig"]["HostedUrl"] = json!("https://issues.example.com");
        config["Server"]["TlsTerminatedByProxy"] = json!(true);
    })
    .await;
    // No cookie jar: the cookies are sent as a browser would, or as a sibling planted them.
    let client = harness::browser_builder().build().unwrap();
    let started = client.get(app.url("/auth/login")).send().await.unwrap();
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    let cookie = started.headers()["set-cookie"].to_str().unwrap().to_string();
    let (pair, attributes) = cookie.split_once("; ").unwrap();
    let value = pair
        .strip_prefix("__Host-issues_pending=")
        .unwrap_or_else(|| panic!("not a __Host- cookie: {cookie}"));
    let attributes: Vec<&str> = attributes.split("; ").collect();
    assert!(
        attributes.contains(&"Secure") && attributes.contains(&"Path=/"),
        "{cookie}"
    );
    assert!(
        !attributes.iter().any(|attribute| attribute.starts_with("Domain")),
        "{cookie}"
    );
    let state = harness::query_of(&location(&started))["state"].clone();
    let callback = |sent: String| {
        client
            .get(app.url("/auth/callback"))
            .query(&[
                ("error", "access_denied"),
                ("state", state.as_str()),
                ("iss", app.idp().issuer()),
            ])
            .header("cookie", sent)
            .send()
    };
    for planted in ["issues_pending", "__Secure-issues_pending"] {
        let response = callback(format!("{planted}={value}")).await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{planted}");
        let page = response.text().await.unwrap();
        assert!(page.contains("No sign-in is in progress"), "{planted}: {page}");
    }
    // The same sign-in under the `__Host-` name is this browser's: the provider's refusal shows.
    let own = callback(format!("__Host-issues_pending={value}")).await.unwrap();
    assert_eq!(own.status(), StatusCode::FORBIDDEN);
}
