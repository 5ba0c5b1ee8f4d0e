//! Configuration and start-up: a broken config.json names the field, Leptos.toml agrees with
//! Cargo.toml, the embedded dev IdP starts from config, and pages render while another instance
//! starts in the same process.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{self, TestApp, browser, location};

/// Another instance starting in the same process (as here, where every test starts one) must not
/// stall this one's pages: Leptos suppresses resource loading process-wide while it generates a
/// route list, and a resource first polled meanwhile never loads (leptos-rs/leptos#4773).
#[tokio::test]
async fn pages_render_while_another_instance_starts() {
    let app = TestApp::spawn().await;
    let starts = std::thread::spawn(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            for _ in 0..10 {
                drop(TestApp::spawn().await);
            }
        });
    });
    let mut pages = 0;
    while pages == 0 || !starts.is_finished() {
        let page = tokio::time::timeout(std::time::Duration::from_secs(10), async {
            browser().get(app.url("/")).send().await.unwrap().text().await.unwrap()
        })
        .await
        .unwrap_or_else(|_| panic!("page {pages} did not finish within 10 s"));
        assert!(page.contains("id=\"header-sign-in\""), "page {pages} is whole: {page}");
        pages += 1;
    }
    starts.join().unwrap();
}

#[test]
fn a_broken_config_stops_the_server_with_the_field_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    let text = harness::config_json("http://127.0.0.1:9/t/dev", "not-a-url", dir.path());
    std::fs::write(&path, text).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_issues-app"))
        .args(["--config", path.to_str().unwrap()])
        .env_remove("LEPTOS_SITE_ADDR")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("config.json") && stderr.contains("ApplicationConfig.HostedUrl"),
        "{stderr}"
    );
}

#[test]
fn leptos_toml_agrees_with_cargo_toml() {
    let read = |file: &str| -> toml::Table {
        let text = std::fs::read_to_string(format!("{}/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        text.parse::<toml::Table>().unwrap()
    };
    let cargo = read("Cargo.toml");
    let leptos = read("Leptos.toml");
    let section = |table: &toml::Table| table["package"]["metadata"]["leptos"].as_table().unwrap().clone();
    let (cargo, leptos) = (section(&cargo), section(&leptos));
    for (key, value) in &leptos {
        assert_eq!(
            cargo.get(key),
            Some(value),
            "Leptos.toml `{key}` differs from Cargo.toml"
        );
    }
}

#[tokio::test]
async fn the_embedded_dev_idp_starts_from_config() {
    let (app_port, idp_port) = (harness::free_port(), harness::free_port());
    let dir = tempfile::tempdir().unwrap();
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.json")).unwrap())
            .unwrap();
    config["AuthorizationConfig"]["BaseOrganizationUrl"] = json!(format!("http://127.0.0.1:{idp_port}/t/dev"));
    config["ApplicationConfig"]["HostedUrl"] = json!(format!("http://127.0.0.1:{app_port}"));
    config["Server"]["ListenAddress"] = json!(format!("127.0.0.1:{app_port}"));
    config["Server"]["DataDir"] = json!(dir.path());
    config["DevIdentityProvider"]["Listen"] = json!(format!("127.0.0.1:{idp_port}"));
    config["DevIdentityProvider"]["KeyFile"] = json!(dir.path().join("keys.json"));
    let path = dir.path().join("config.json");
    std::fs::write(&path, config.to_string()).unwrap();
    let config = issues_app::server::ops::config::Config::load(&path, &Default::default()).unwrap();
    let app = issues_app::server::startup::Application::build(config, harness::leptos_options())
        .await
        .unwrap();
    assert!(app.dev_idp().is_some());
    // With the embedded IdP, an empty database gets the sample issues (once).
    assert_eq!(app.state().issues.count().await.unwrap(), 3);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let base = format!("http://127.0.0.1:{app_port}");
    let client = browser();
    let response = client.get(format!("{base}/auth/login")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with(&format!("http://127.0.0.1:{idp_port}/t/dev/oauth2/authorize")));
    let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
