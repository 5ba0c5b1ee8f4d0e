//! The release archive (`scripts/release`) as an operator installs it: unpacked into an empty
//! directory, its binary alone serves the whole app — the site (WASM, JS, CSS, favicon) from
//! inside itself, with no Leptos.toml or target/site beside it and a clean environment — against
//! an identity provider it does not embed (the dev IdP runs in this test process, as any external
//! provider would). `scripts/test` packs the archive from its debug build
//! (`scripts/release --debug target/release-test`) and runs this test with `ISSUES_APP_ARCHIVE`
//! naming it; `scripts/release` packs the release archive with the same function.

use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{JOHN, MANAGER_MAY, allowed, browser, call_at, config_json, directory, free_port, sign_in_at};

/// What the archive's directory holds.
const SHIPPED: [&str; 5] = [
    "issues-app",
    "config.example.json",
    "issues-app.service",
    "issues-app.env.example",
    "INSTALL.md",
];

/// The site files the binary must carry, with the content type each is served with.
const SITE_FILES: [(&str, &str); 4] = [
    ("pkg/issues-app.wasm", "application/wasm"),
    ("pkg/issues-app.css", "text/css"),
    ("pkg/issues-app.js", "javascript"),
    ("favicon.svg", "image/svg+xml"),
];

/// The installed app as a process of its own, killed when the test ends however it ends.
struct Installed {
    child: Child,
    /// Its stdout and stderr.
    log: PathBuf,
}

impl Installed {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends `signal` (`HUP`, `TERM`) as systemd's `ExecReload=/bin/kill -HUP $MAINPID` and its
    /// stop do.
    fn signal(&self, signal: &str) {
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!("kill -{signal} {}", self.child.id()))
            .status()
            .expect("sh runs");
        assert!(status.success(), "could not send SIG{signal} to the installed app");
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The archive `scripts/release` made, from `ISSUES_APP_ARCHIVE` (relative to the repository).
fn archive() -> PathBuf {
    let archive = std::env::var_os("ISSUES_APP_ARCHIVE").unwrap_or_else(|| {
        panic!(
            "ISSUES_APP_ARCHIVE is not set: build an archive with `scripts/release --debug target/release-test`, \
             then run this test with ISSUES_APP_ARCHIVE naming the .tar.gz it wrote (scripts/test does both)"
        )
    });
    let archive = Path::new(env!("CARGO_MANIFEST_DIR")).join(archive);
    assert!(
        archive.is_file(),
        "ISSUES_APP_ARCHIVE: no file at {}",
        archive.display()
    );
    archive
}

/// Unpacks `archive` into `into` (empty) and answers the directory it holds, checking that it
/// holds what an operator installs.
fn unpack(archive: &Path, into: &Path) -> PathBuf {
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(archive)
        .arg("-C")
        .arg(into)
        .status()
        .expect("tar runs");
    assert!(status.success(), "tar could not unpack {}", archive.display());
    let expected = format!("issues-app-{}", env!("CARGO_PKG_VERSION"));
    let top: Vec<String> = std::fs::read_dir(into)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        top,
        std::slice::from_ref(&expected),
        "the archive holds one directory, named with the version"
    );
    let dir = into.join(expected);
    let mut held: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    held.sort();
    let mut shipped = SHIPPED.map(String::from).to_vec();
    shipped.sort();
    assert_eq!(held, shipped, "what the archive's directory holds");
    let mode = std::fs::metadata(dir.join("issues-app")).unwrap().permissions().mode();
    assert!(mode & 0o111 != 0, "the binary is executable (mode {mode:o})");
    dir
}

/// The example config and the systemd unit are shaped for production.
fn check_shipped_files(dir: &Path) {
    let example: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("config.example.json")).unwrap())
        .expect("config.example.json is JSON");
    assert!(
        example.get("DevIdentityProvider").is_none(),
        "the example config names no development IdP"
    );
    assert_eq!(
        example["AuthorizationConfig"]["BaseOrganizationUrl"], "https://api.asgardeo.io/t/<your-organization>",
        "the example config points at Asgardeo"
    );
    assert_eq!(example["Server"]["TlsTerminatedByProxy"], true, "https behind a proxy");
    assert_eq!(
        example["Server"]["DataDir"], "/var/lib/issues-app",
        "the unit's StateDirectory"
    );
    let unit = std::fs::read_to_string(dir.join("issues-app.service")).unwrap();
    for line in [
        "ExecStart=/usr/local/bin/issues-app --config /etc/issues-app/config.json",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "EnvironmentFile=-/etc/issues-app/issues-app.env",
        "StateDirectory=issues-app",
        "DynamicUser=yes",
    ] {
        assert!(
            unit.lines().any(|l| l.trim() == line),
            "issues-app.service lacks `{line}`:\n{unit}"
        );
    }
    let env = std::fs::read_to_string(dir.join("issues-app.env.example")).unwrap();
    for name in ["ISSUES_APP_CLIENT_SECRET", "ISSUES_APP_SESSION_KEY"] {
        assert!(env.contains(name), "issues-app.env.example names {name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by scripts/test after scripts/release --debug (needs ISSUES_APP_ARCHIVE)"]
async fn the_unpacked_binary_alone_serves_the_app_against_an_external_provider() {
    let archive = archive();
    let root = tempfile::tempdir().unwrap();
    let unpacked = root.path().join("unpacked");
    std::fs::create_dir(&unpacked).unwrap();
    let install = unpack(&archive, &unpacked);
    check_shipped_files(&install);
    let binary = install.join("issues-app");

    // The provider, registered for the app's address: a port picked now, for the app to bind.
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let idp = dev_idp::start(dev_idp::Options::new(
        directory(&base, &Default::default()),
        ([127, 0, 0, 1], 0).into(),
    ))
    .await
    .unwrap();
    let organization_url = idp.organization_url();

    // config.json beside the binary, as an operator writes it: no DevIdentityProvider section.
    let mut config: Value =
        serde_json::from_str(&config_json(&organization_url, &base, &root.path().join("data"))).unwrap();
    config["Server"]["ListenAddress"] = json!(format!("127.0.0.1:{port}"));
    let config_path = install.join("config.json");
    std::fs::write(&config_path, config.to_string()).unwrap();
    // Run from a directory with nothing in it, with nothing from this process's environment.
    let elsewhere = root.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();

    // What an operator runs before starting (or reloading) the service.
    let check = {
        let (binary, config_path, elsewhere) = (binary.clone(), config_path.clone(), elsewhere.clone());
        tokio::task::spawn_blocking(move || {
            Command::new(binary)
                .arg("check")
                .arg("--config")
                .arg(config_path)
                .current_dir(elsewhere)
                .env_clear()
                .output()
        })
        .await
        .unwrap()
        .expect("the installed binary runs")
    };
    let report = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success() && report.contains("all checks passed"),
        "`issues-app check` on the installed config:\n{report}\n{}",
        String::from_utf8_lossy(&check.stderr)
    );

    let log = root.path().join("issues-app.log");
    let log_file = File::create(&log).unwrap();
    let mut app = Installed {
        child: Command::new(&binary)
            .arg("--config")
            .arg(&config_path)
            .current_dir(&elsewhere)
            .env_clear()
            // As the systemd unit sets it: plain text logs.
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .expect("the installed binary starts"),
        log,
    };

    // Ready: the database open and the provider discovered.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = app.child.try_wait().unwrap() {
            panic!(
                "the installed app exited ({status}) before it was ready:\n{}",
                app.log()
            );
        }
        if let Ok(response) = client.get(format!("{base}/readyz")).send().await
            && response.status() == StatusCode::OK
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the installed app was not ready within 60 s:\n{}",
            app.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The site comes from inside the binary: nothing beside it, nothing in its directory.
    let site = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/site");
    for (path, content_type) in SITE_FILES {
        let response = client.get(format!("{base}/{path}")).send().await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "GET /{path} from the installed binary (run with nothing beside it)"
        );
        let served_type = response
            .headers()
            .get("content-type")
            .map(|value| value.to_str().unwrap().to_string())
            .unwrap_or_default();
        assert!(
            served_type.contains(content_type),
            "GET /{path}: content-type `{served_type}`, expected `{content_type}`"
        );
        let served = response.bytes().await.unwrap();
        let built = std::fs::read(site.join(path)).unwrap_or_else(|e| panic!("target/site/{path}: {e}"));
        assert!(
            served[..] == built[..],
            "GET /{path}: {} bytes served, but target/site/{path} has {} bytes: the binary does not carry \
             the site it was built with",
            served.len(),
            built.len()
        );
    }

    // The page loads its stylesheet and hydrates its islands from those files.
    let page = client.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK, "GET / from the installed binary");
    let html = page.text().await.unwrap();
    for needle in [
        "href=\"/pkg/issues-app.css\"",
        "href=\"/pkg/issues-app.js\"",
        "href=\"/pkg/issues-app.wasm\"",
        "<script type=\"module\"",
    ] {
        assert!(
            html.contains(needle),
            "the home page lacks `{needle}` (its stylesheet and hydration scripts):\n{html}"
        );
    }

    // John signs in at the external provider and files an issue the way the browser does.
    let john = browser();
    assert_eq!(
        sign_in_at(&john, &base, &organization_url, JOHN, "/issues").await,
        "/issues",
        "John signs in through the provider's login page and comes back where he started"
    );
    let (status, info) = call_at(&john, &base, "session_info", &[]).await;
    assert_eq!(status, StatusCode::OK, "session_info: {info}");
    assert_eq!(allowed(&info), MANAGER_MAY, "John's permissions in the installed app");
    let title = "Installed from the release archive";
    let (status, created) = call_at(
        &john,
        &base,
        "create_issue",
        &[("title", title), ("description", "Filed through the server function")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "create_issue: {created}");
    let (status, listed) = call_at(&john, &base, "list_issues", &[]).await;
    assert_eq!(status, StatusCode::OK, "list_issues: {listed}");
    let issues = listed["issues"]
        .as_array()
        .unwrap_or_else(|| panic!("a page of issues: {listed}"));
    assert!(
        issues.iter().any(|issue| issue["title"] == title),
        "John's new issue is on the board: {listed}"
    );

    // `systemctl reload`: SIGHUP re-reads config.json (unchanged here, so only the signal can
    // have caused it), and the app goes on serving.
    let reloaded = "configuration reloaded";
    let before = app.log().matches(reloaded).count();
    app.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.log().matches(reloaded).count() == before {
        assert!(
            Instant::now() < deadline,
            "no `{reloaded}` within 10 s of SIGHUP:\n{}",
            app.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, _) = call_at(&john, &base, "list_issues", &[]).await;
    assert_eq!(status, StatusCode::OK, "still serving John after the reload");

    // `systemctl stop`: SIGTERM ends it cleanly (exit 0, so systemd records no failure).
    drop(john);
    drop(client);
    app.signal("TERM");
    let deadline = Instant::now() + Duration::from_secs(40);
    let status = loop {
        if let Some(status) = app.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the installed app did not stop within 40 s of SIGTERM:\n{}",
            app.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "stopped by SIGTERM with {status}:\n{}", app.log());
    idp.shutdown().await;
}
