#![allow(dead_code)] // helpers shared by tests; not every test uses every one
//! Starts the real thing for a test: a dev IdP and the app on 127.0.0.1 port 0, a fresh
//! database in a temporary directory, and a cookie-keeping HTTP client that never follows
//! redirects.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use dev_idp::{DEFAULT_DIRECTORY_JSON, Directory, DirectoryFile, Registration, RunningIdp};
use issues_app::server::ops::config::{Config, Overrides};
use issues_app::server::ops::live::Reloaded;
use issues_app::server::startup::Application;
use issues_app::server::state::AppState;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub const CLIENT_ID: &str = "issues-app-dev-client";
pub const SECRET: &str = "issues-app-dev-secret-change-me";
pub const OTHER_CLIENT: &str = "other-client";
pub const JOHN: (&str, &str) = ("john", "john-dev-password");
pub const EMILY: (&str, &str) = ("emily", "emily-dev-password");
pub const ALEX: (&str, &str) = ("alex", "alex-dev-password");
/// The session key the test app seals tokens with, so tests can look inside.
pub const SESSION_KEY: [u8; 32] = [42; 32];

#[derive(Default, Clone)]
pub struct Options {
    /// Access-token lifetime at the IdP (seconds).
    pub access_token_seconds: Option<i64>,
    pub key_file: Option<std::path::PathBuf>,
    /// `Server.SessionIdleMinutes`.
    pub session_idle_minutes: Option<u64>,
    /// `Server.DatabaseUrl` (else a fresh database of the backend under test).
    pub database_url: Option<String>,
}

pub struct TestApp {
    pub base: String,
    /// The dev IdP, unless the test brought its own provider.
    idp: Option<RunningIdp>,
    /// `BaseOrganizationUrl` of the provider the app uses.
    pub organization_url: String,
    pub state: AppState,
    pub dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    /// A second handle on the listening socket, so a restart serves on the same address
    /// without rebinding (another test could take a port that was let go).
    socket: std::net::TcpListener,
    /// Where `/metrics` is served, when the test set `Server.MetricsListen`.
    pub metrics: Option<std::net::SocketAddr>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The shipped directory with this app registered as the embedded IdP registers it (the same
/// typed `register`), and a second client for audience tests.
pub fn directory(app_base: &str, options: &Options) -> Directory {
    let mut description = DirectoryFile::from_json(DEFAULT_DIRECTORY_JSON, "test directory").unwrap();
    description
        .register(Registration {
            client_id: CLIENT_ID.into(),
            client_secret: SECRET.into(),
            redirect_uri: format!("{app_base}/auth/callback"),
            post_logout_redirect_uri: format!("{app_base}/"),
            back_channel_logout_url: Some(format!("{app_base}/auth/backchannel-logout")),
        })
        .unwrap();
    let app = description
        .applications
        .iter_mut()
        .find(|app| app.client_id == CLIENT_ID)
        .unwrap();
    if let Some(seconds) = options.access_token_seconds {
        app.token_lifetimes.access_token_seconds = seconds;
    }
    let mut other = app.clone();
    other.back_channel_logout_url = None;
    other.client_id = OTHER_CLIENT.into();
    other.name = "Another application".into();
    description.applications.push(other);
    Directory::from_description(description, "test directory").unwrap()
}

pub fn leptos_options() -> leptos::config::LeptosOptions {
    leptos::config::get_configuration(Some(concat!(env!("CARGO_MANIFEST_DIR"), "/Leptos.toml")))
        .unwrap()
        .leptos_options
}

pub fn config_json(idp_org_url: &str, app_base: &str, dir: &Path) -> String {
    json!({
        "AuthorizationConfig": { "BaseOrganizationUrl": idp_org_url },
        "ApplicationConfig": {
            "HostedUrl": app_base,
            "ClientId": CLIENT_ID,
            "ClientSecret": SECRET,
            "APIScopes": ["openid", "email", "profile", "groups", "roles", "internal_login"]
        },
        "Features": { "Issues": { "scopes": {
            "create": ["issues:create"],
            "view": ["issues:view"],
            "comment": ["issues:comment"],
            "edit": ["issues:edit"],
            "close": ["issues:close"],
            "assign": ["issues:assign"],
            "delete": ["issues:delete"]
        } } },
        "Server": {
            "DataDir": dir.display().to_string(),
            "SessionKey": STANDARD.encode(SESSION_KEY),
            // Tests sign in many times a minute from one address.
            "CodeExchangesPerMinute": 100_000
        }
    })
    .to_string()
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(Options::default()).await
    }

    pub async fn spawn_with(options: Options) -> Self {
        Self::spawn_configured(options, |_| {}).await
    }

    /// The app and a dev IdP, with `tweak` applied to config.json after `options`.
    pub async fn spawn_configured(options: Options, tweak: impl FnOnce(&mut Value)) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut idp_options = dev_idp::Options::new(directory(&base, &options), ([127, 0, 0, 1], 0).into());
        idp_options.key_file = options.key_file.clone();
        let idp = dev_idp::start(idp_options).await.unwrap();
        let organization = idp.organization_url();
        let configure = |config: &mut Value| {
            if let Some(minutes) = options.session_idle_minutes {
                config["Server"]["SessionIdleMinutes"] = json!(minutes);
            }
            if let Some(url) = &options.database_url {
                config["Server"]["DatabaseUrl"] = json!(url);
            }
            tweak(config);
        };
        Self::spawn_against(
            listener,
            Some(idp),
            &organization,
            configure,
            tempfile::tempdir().unwrap(),
        )
        .await
    }

    /// The app against any provider at `organization_url`; `tweak` edits config.json first.
    pub async fn spawn_against(
        listener: tokio::net::TcpListener,
        idp: Option<RunningIdp>,
        organization_url: &str,
        tweak: impl FnOnce(&mut Value),
        dir: tempfile::TempDir,
    ) -> Self {
        let base = format!("http://{}", listener.local_addr().unwrap());
        let listener = listener.into_std().unwrap();
        let socket = listener.try_clone().unwrap();
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        let mut config: Value = serde_json::from_str(&config_json(organization_url, &base, dir.path())).unwrap();
        tweak(&mut config);
        if config["Server"].get("DatabaseUrl").is_none()
            && let Some(url) = fresh_database_url().await
        {
            config["Server"]["DatabaseUrl"] = json!(url);
        }
        let text = config.to_string();
        let config_path = dir.path().join("config.json");
        std::fs::write(&config_path, &text).unwrap();
        let overrides = Overrides {
            listen: Some(listener.local_addr().unwrap().to_string()),
            ..Overrides::default()
        };
        let config = Config::parse(&text, &config_path, &overrides).unwrap();
        let app = Application::build_with_listener(config, leptos_options(), listener)
            .await
            .unwrap();
        let state = app.state().clone();
        let metrics = app.metrics_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            app.run_until(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        Self {
            base,
            idp,
            organization_url: organization_url.to_string(),
            state,
            dir,
            stop: Some(stop),
            task: Some(task),
            socket,
            metrics,
        }
    }

    /// Stops the server and starts a new one on the same address, database and key.
    pub async fn restart(mut self) -> Self {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        let listener = tokio::net::TcpListener::from_std(self.socket.try_clone().unwrap()).unwrap();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        let idp = self.idp.take();
        let organization_url = self.organization_url.clone();
        // The same file (its database included), as an operator restarts a server.
        let written = std::fs::read_to_string(dir.path().join("config.json")).unwrap();
        let mut same: Value = serde_json::from_str(&written).unwrap();
        let database_url = self.state.config.load().database_url.as_str().to_owned();
        same["Server"]["DatabaseUrl"] = json!(database_url);
        let same_file = move |config: &mut Value| *config = same;
        Self::spawn_against(listener, idp, &organization_url, same_file, dir).await
    }

    /// Stops serving and lets go of the database (SQLite's lock), keeping the directory and
    /// the state's pool, so a command can work on the database as an operator would.
    pub async fn halt(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    pub fn idp(&self) -> &RunningIdp {
        self.idp.as_ref().expect("this test app runs against the dev IdP")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Signs in through the real login page; returns the app's final redirect target.
    pub async fn sign_in(&self, browser: &reqwest::Client, user: (&str, &str), return_to: &str) -> String {
        sign_in_at(browser, &self.base, &self.organization_url, user, return_to).await
    }

    /// Runs the sign-in up to the IdP's redirect back to the app; returns the callback URL.
    pub async fn sign_in_until_callback(
        &self,
        browser: &reqwest::Client,
        username: &str,
        password: &str,
        return_to: &str,
    ) -> String {
        sign_in_until_callback_at(
            browser,
            &self.base,
            &self.organization_url,
            username,
            password,
            return_to,
        )
        .await
    }

    /// Calls a server function the way the browser's hydrated app does (form-encoded POST).
    pub async fn call(&self, browser: &reqwest::Client, function: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        call_at(browser, &self.base, function, form).await
    }

    /// [`TestApp::call`], answering the whole response.
    pub async fn call_raw(
        &self,
        browser: &reqwest::Client,
        function: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        call_raw_at(browser, &self.base, function, form).await
    }

    /// GETs the page at `path` with `browser`; answers its text, whatever the status.
    pub async fn page_text(&self, browser: &reqwest::Client, path: &str) -> String {
        browser.get(self.url(path)).send().await.unwrap().text().await.unwrap()
    }

    /// POSTs `issue` to the REST API's `/api/v1/issues` with `client` and a bearer `token`.
    pub async fn post_issue(&self, client: &reqwest::Client, token: &str, issue: &Value) -> reqwest::Response {
        client
            .post(self.url("/api/v1/issues"))
            .bearer_auth(token)
            .json(issue)
            .send()
            .await
            .unwrap()
    }

    /// The REST API's OpenAPI document, as the app serves it.
    pub async fn openapi(&self) -> Value {
        reqwest::get(self.url("/api/v1/openapi.json"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// An access token from the IdP's password grant for this app (what a script with curl
    /// would do).
    pub async fn password_token(&self, client_id: &str, user: (&str, &str)) -> String {
        self.password_token_for(client_id, user, "openid issues:view issues:create")
            .await
    }

    /// A password-grant access token asking for `scope` (the IdP drops what the role lacks).
    pub async fn password_token_for(&self, client_id: &str, (username, password): (&str, &str), scope: &str) -> String {
        let response = reqwest::Client::new()
            .post(format!("{}/oauth2/token", self.idp().organization_url()))
            .basic_auth(client_id, Some(SECRET))
            .form(&[
                ("grant_type", "password"),
                ("username", username),
                ("password", password),
                ("scope", scope),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_string()
    }

    pub async fn issue_count(&self) -> i64 {
        self.state.issues.count().await.unwrap()
    }
}

/// Held by tests that measure the process's memory and by tests that take a lot of it, so the
/// ones do not count the others'.
pub static MEMORY_HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A cookie-keeping client that never follows redirects; a response that has not finished in
/// 30 s fails the test instead of stalling the suite. Like a browser on the app's own pages, it
/// says `Sec-Fetch-Site: same-origin`.
pub fn browser() -> reqwest::Client {
    browser_builder().cookie_store(true).build().unwrap()
}

/// What every browser-like client here starts from: no redirects followed, same-origin fetches.
pub fn browser_builder() -> reqwest::ClientBuilder {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "sec-fetch-site",
        reqwest::header::HeaderValue::from_static("same-origin"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
}

/// Signs in to the app at `base` (e.g. `http://127.0.0.1:3000`) through the login page of its
/// provider at `organization_url`; returns the app's final redirect target. What
/// [`TestApp::sign_in`] does, for an app this process did not start.
pub async fn sign_in_at(
    browser: &reqwest::Client,
    base: &str,
    organization_url: &str,
    (username, password): (&str, &str),
    return_to: &str,
) -> String {
    let callback = sign_in_until_callback_at(browser, base, organization_url, username, password, return_to).await;
    let response = browser.get(&callback).send().await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "callback: {}",
        response.text().await.unwrap()
    );
    location(&response)
}

/// [`sign_in_at`] up to the provider's redirect back to the app; returns the callback URL.
pub async fn sign_in_until_callback_at(
    browser: &reqwest::Client,
    base: &str,
    organization_url: &str,
    username: &str,
    password: &str,
    return_to: &str,
) -> String {
    let callback_prefix = format!("{base}/auth/callback");
    let start = browser
        .get(format!("{base}/auth/login"))
        .query(&[("return_to", return_to)])
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), StatusCode::SEE_OTHER);
    let authorize = location(&start);
    assert!(authorize.starts_with(organization_url), "{authorize}");
    let (page_url, page) = follow_to_page(browser, &authorize, &callback_prefix).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let action = form_action(&page_url, &html);
    let response = browser
        .post(&action)
        .form(&[
            ("interaction", hidden(&html, "interaction")),
            ("csrf_token", hidden(&html, "csrf_token")),
            ("username", username.to_string()),
            ("password", password.to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection(), "login form: {}", response.status());
    // Some providers hop through consent and resume steps before returning to the app.
    let mut current = url::Url::parse(&action)
        .unwrap()
        .join(&location(&response))
        .unwrap()
        .to_string();
    while !current.starts_with(&callback_prefix) {
        let response = browser.get(&current).send().await.unwrap();
        assert!(response.status().is_redirection(), "{current}: {}", response.status());
        current = url::Url::parse(&current)
            .unwrap()
            .join(&location(&response))
            .unwrap()
            .to_string();
    }
    current
}

/// Calls a server function of the app at `base` the way the browser's hydrated app does
/// (form-encoded POST); answers the status and the JSON (or the text) of the answer.
pub async fn call_at(
    browser: &reqwest::Client,
    base: &str,
    function: &str,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let response = call_raw_at(browser, base, function, form).await;
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// [`call_at`], answering the whole response.
pub async fn call_raw_at(
    browser: &reqwest::Client,
    base: &str,
    function: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    browser
        .post(format!("{base}/api/{function}"))
        .header("accept", "application/json")
        .form(form)
        .send()
        .await
        .unwrap()
}

/// GETs `url` with `client` and a bearer `token`; answers the JSON body.
pub async fn bearer_get_json(client: &reqwest::Client, url: &str, token: &str) -> Value {
    let response = client.get(url).bearer_auth(token).send().await.unwrap();
    response.json().await.unwrap()
}

pub fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_string()
}

pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name} in {html}")) + marker.len();
    let end = start + html[start..].find('"').unwrap();
    html[start..end].to_string()
}

pub fn query_of(url: &str) -> HashMap<String, String> {
    url::Url::parse(url).unwrap().query_pairs().into_owned().collect()
}

/// POSTs a form to the IdP with this app's client credentials.
pub async fn idp_post(app: &TestApp, path: &str, form: &[(&str, &str)]) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", app.idp().organization_url()))
        .basic_auth(CLIENT_ID, Some(SECRET))
        .form(form)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{path}: {}", response.status());
    response.json().await.unwrap_or(Value::Null)
}

/// The absolute URL a login page's form posts to.
pub fn form_action(page_url: &str, html: &str) -> String {
    let marker = "action=\"";
    let start = html.find(marker).expect("a form") + marker.len();
    let end = start + html[start..].find('"').unwrap();
    let action = html[start..end].replace("&amp;", "&");
    url::Url::parse(page_url).unwrap().join(&action).unwrap().to_string()
}

/// GETs `url` and follows redirects at the provider (not back to the app); returns the final
/// page and its URL.
pub async fn follow_to_page(browser: &reqwest::Client, url: &str, app_prefix: &str) -> (String, reqwest::Response) {
    let mut current = url.to_string();
    for _ in 0..10 {
        let response = browser.get(&current).send().await.unwrap();
        if !response.status().is_redirection() {
            return (current, response);
        }
        let next = url::Url::parse(&current)
            .unwrap()
            .join(&location(&response))
            .unwrap()
            .to_string();
        assert!(!next.starts_with(app_prefix), "the provider skipped its login page");
        current = next;
    }
    panic!("too many redirects from {url}");
}

/// The backend under test: SQLite in the app's data directory (default), or a fresh database on
/// the PostgreSQL server named by `ISSUES_APP_TEST_POSTGRES_URL` (scripts/with-postgres).
pub async fn fresh_database_url() -> Option<String> {
    let server = std::env::var("ISSUES_APP_TEST_POSTGRES_URL").ok()?;
    let name = format!("issues_test_{}", uuid_like());
    let pool = sqlx::PgPool::connect(&server)
        .await
        .expect("the test PostgreSQL server");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let (prefix, _) = server.rsplit_once('/').unwrap();
    Some(format!("{prefix}/{name}"))
}

/// A port on 127.0.0.1 that was free a moment ago, for a server started later to listen on.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn uuid_like() -> String {
    let mut bytes = [0u8; 8];
    aws_lc_rs::rand::fill(&mut bytes).unwrap();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Emily, signed in, forges a create: refused (403). Her browser, to go on with.
pub async fn emily_forges_a_create(app: &TestApp) -> reqwest::Client {
    let emily = browser();
    app.sign_in(&emily, EMILY, "/").await;
    let (status, body) = app
        .call(&emily, "create_issue", &[("title", "Forged"), ("description", "")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    emily
}

/// Every sign-in row, on whichever backend the app uses.
pub async fn sign_in_rows(app: &TestApp) -> Vec<issues_app::server::storage::sign_ins::SignInRow> {
    issues_app::on_db!(&app.state.db, |pool| sqlx::query_as(
        "SELECT * FROM sign_ins ORDER BY created_at"
    )
    .fetch_all(pool)
    .await
    .unwrap())
}

/// The session store's table: the app's own, named the same on either backend.
fn sessions_table(_app: &TestApp) -> &'static str {
    "sessions"
}

/// The idle deadline of every stored session record (stored in unix seconds).
pub async fn session_deadlines(app: &TestApp) -> Vec<time::OffsetDateTime> {
    let query = format!("SELECT expiry_date FROM {}", sessions_table(app));
    let rows: Vec<(i64,)> = issues_app::on_db!(&app.state.db, |pool| sqlx::query_as(&query)
        .fetch_all(pool)
        .await
        .unwrap());
    rows.into_iter()
        .map(|(deadline,)| time::OffsetDateTime::from_unix_timestamp(deadline).unwrap())
        .collect()
}

/// The stored data of every session record, as the store wrote it.
pub async fn session_data(app: &TestApp) -> Vec<Vec<u8>> {
    let query = format!("SELECT data FROM {}", sessions_table(app));
    let rows: Vec<(Vec<u8>,)> = issues_app::on_db!(&app.state.db, |pool| sqlx::query_as(&query)
        .fetch_all(pool)
        .await
        .unwrap());
    rows.into_iter().map(|(data,)| data).collect()
}

/// How many session records the store holds.
pub async fn session_count(app: &TestApp) -> i64 {
    let query = format!("SELECT COUNT(*) FROM {}", sessions_table(app));
    issues_app::on_db!(&app.state.db, |pool| sqlx::query_scalar(&query)
        .fetch_one(pool)
        .await
        .unwrap())
}

/// The stored id of every session record.
pub async fn session_ids(app: &TestApp) -> Vec<String> {
    let query = format!("SELECT id FROM {}", sessions_table(app));
    issues_app::on_db!(&app.state.db, |pool| sqlx::query_scalar(&query)
        .fetch_all(pool)
        .await
        .unwrap())
}

/// This process's resident memory, in KiB.
pub fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Signs in with a readable cookie jar; returns the client and its Cookie header value.
pub async fn signed_in_with_cookie(app: &TestApp, user: (&str, &str)) -> (reqwest::Client, String) {
    use reqwest::cookie::CookieStore;
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let client = browser_builder().cookie_provider(jar.clone()).build().unwrap();
    app.sign_in(&client, user, "/").await;
    let cookie = jar
        .cookies(&app.base.parse().unwrap())
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let session = cookie
        .split("; ")
        .find(|c| c.starts_with("issues_session="))
        .expect("a session cookie")
        .to_string();
    (client, session)
}

/// The permissions a `session_info` answer grants, by name (in alphabetical order).
pub fn allowed(info: &Value) -> Vec<String> {
    let permissions = info["permissions"].as_object().expect("permissions");
    permissions
        .iter()
        .filter(|(_, allowed)| **allowed == json!(true))
        .map(|(name, _)| name.clone())
        .collect()
}

/// What the dev IdP's Manager role may do with the shipped scopes: all but delete and audit
/// (labels: as `edit`, not named).
pub const MANAGER_MAY: [&str; 7] = [
    "assign_issue",
    "close_issue",
    "comment",
    "create_issue",
    "edit_issue",
    "manage_labels",
    "view_issues",
];
/// What the Employee role may do: view and comment.
pub const EMPLOYEE_MAY: [&str; 2] = ["comment", "view_issues"];

/// A pending sign-in's cookie (`name=value`), as `GET /auth/login` hands it to a browser, and the
/// state the provider is asked to send back.
pub async fn pending_cookie(base: &str) -> (String, String) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = client.get(format!("{base}/auth/login")).send().await.unwrap();
    let cookie = response.headers()[reqwest::header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let state = query_of(&location(&response))["state"].clone();
    (cookie, state)
}

/// Rewrites the app's config.json with `edit` applied.
pub fn edit_config(app: &TestApp, edit: impl FnOnce(&mut Value)) {
    let path = app.dir.path().join("config.json");
    let mut config: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut config);
    // Whole or not at all, as an editor saves: the app's watcher may look while it is written.
    let next = path.with_extension("json.next");
    std::fs::write(&next, config.to_string()).unwrap();
    std::fs::rename(&next, &path).unwrap();
}

/// Waits until the app has re-read its file once more than `before` times (the watcher looks
/// every second), and returns what it made of it.
pub async fn next_reload(app: &TestApp, before: u64) -> Reloaded {
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.state.config.reload_attempts() <= before {
        assert!(Instant::now() < deadline, "config.json was not re-read within 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.state.config.last_reload().unwrap()
}
