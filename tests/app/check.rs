//! `issues-app check` against the real dev IdP and database: a good configuration passes every
//! check, and each deliberate mistake is named as the one problem.

use std::path::{Path, PathBuf};

use issues_app::server::ops::check::{Report, Verdict, check};
use issues_app::server::ops::config::Overrides;
use serde_json::{Value, json};

use crate::harness::{TestApp, config_json};

/// A config.json for `app`'s provider and address in a fresh directory (its own database),
/// with `tweak` applied.
fn write_config(app: &TestApp, dir: &Path, tweak: impl FnOnce(&mut Value)) -> PathBuf {
    let mut config: Value = serde_json::from_str(&config_json(&app.organization_url, &app.base, dir)).unwrap();
    tweak(&mut config);
    let path = dir.join("config.json");
    std::fs::write(&path, config.to_string()).unwrap();
    path
}

/// The overrides the test app runs with: it listens where its HostedUrl says.
fn listening_as(app: &TestApp) -> Overrides {
    Overrides {
        listen: Some(app.base.trim_start_matches("http://").to_string()),
        ..Overrides::default()
    }
}

fn problems(report: &Report) -> Vec<String> {
    report.problems().map(|finding| finding.message.clone()).collect()
}

fn has_ok(report: &Report, text: &str) -> bool {
    has(report, Verdict::Ok, text)
}

fn has(report: &Report, verdict: Verdict, text: &str) -> bool {
    report
        .findings
        .iter()
        .any(|finding| finding.verdict == verdict && finding.message.contains(text))
}

#[tokio::test]
async fn a_good_configuration_passes_every_check() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let report = check(&write_config(&app, dir.path(), |_| {}), &listening_as(&app)).await;
    assert!(!report.has_problems(), "{report}");
    for expected in [
        "is valid",
        "added to APIScopes: `issues:view issues:create issues:comment issues:edit issues:close issues:assign issues:delete audit:view` (openid always",
        "discovery answered at",
        "issuer is `",
        "announces authorization_endpoint, token_endpoint, revocation_endpoint, end_session_endpoint",
        "RS256 signing key(s)",
        "client `issues-app-dev-client` and its secret are accepted",
        "/auth/callback` is registered",
        "will be made at start-up",
        "what each action needs",
        "trusted proxies: none (no TLS proxy in front); every peer is the client",
    ] {
        assert!(has_ok(&report, expected), "no ok line with `{expected}`:\n{report}");
    }
    // Nothing was made by checking.
    assert!(!dir.path().join("issues.db").exists());
}

/// The "what each action needs" table `check` printed.
fn access_table(report: &Report) -> String {
    report
        .findings
        .iter()
        .find(|finding| finding.message.starts_with("what each action needs"))
        .map(|finding| finding.message.clone())
        .unwrap_or_else(|| panic!("no access table:\n{report}"))
}

/// The table's row for `action`, its words separated by single spaces.
fn table_row(table: &str, action: &str) -> String {
    let line = table.lines().find(|line| line.trim_start().starts_with(action));
    line.unwrap_or_else(|| panic!("no row for `{action}`:\n{table}"))
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn the_demo_file_s_effective_access_is_printed_with_what_was_defaulted() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(&app, dir.path(), |config| {
        config["Features"]["Issues"]["scopes"] = json!({"create": ["issues:create"], "view": ["issues:view"]});
    });
    let report = check(&path, &listening_as(&app)).await;
    assert!(!report.has_problems(), "{report}");
    let table = access_table(&report);
    let row = |action: &str| table_row(&table, action);
    assert_eq!(row("view issues"), "view issues issues:view");
    assert_eq!(row("create issues"), "create issues issues:create");
    // No write falls back to `view`: the demo's Employee only views.
    // Commenting needs view too.
    assert_eq!(
        row("comment"),
        "comment on issues issues:create issues:view (not named: as create)"
    );
    assert_eq!(row("edit issues"), "edit issues issues:create (not named: as create)");
    assert_eq!(row("delete issues"), "delete issues off (no one may) (not named: off)");
}

#[tokio::test]
async fn the_access_table_names_the_roles_config_json_says_grant_each_action_and_any_step_up() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(&app, dir.path(), |config| {
        config["ApplicationConfig"]["AccessHelp"] = json!({"Roles": {
            "Manager": ["issues:create", "issues:view", "issues:comment", "issues:edit", "issues:close", "issues:assign"],
            "Employee": ["issues:view", "issues:comment"],
            "Admin": ["audit:view", "issues:view", "issues:delete"],
        }});
        config["Features"]["Issues"]["StepUp"] = json!({ "delete": 300 });
    });
    let report = check(&path, &listening_as(&app)).await;
    assert!(!report.has_problems(), "{report}");
    let table = access_table(&report);
    let row = |action: &str| table_row(&table, action);
    assert_eq!(
        row("view issues"),
        "view issues issues:view (granted by Admin, Employee, Manager)"
    );
    assert_eq!(
        row("comment"),
        "comment on issues issues:comment issues:view (granted by Employee, Manager)"
    );
    assert_eq!(
        row("close or reopen"),
        "close or reopen issues issues:close (granted by Manager)"
    );
    assert_eq!(
        row("delete issues"),
        "delete issues issues:delete (granted by Admin) (a sign-in within 300 s: Features.Issues.StepUp)"
    );
    assert_eq!(
        row("define labels"),
        "define labels issues:edit (not named: as edit) (granted by Manager)"
    );
}

#[tokio::test]
async fn behind_a_tls_proxy_the_trusted_proxies_are_printed_and_the_loopback_default_is_noted() {
    let app = TestApp::spawn().await;
    let behind_proxy = |config: &mut Value| {
        config["ApplicationConfig"]["HostedUrl"] = json!("https://issues.example.com");
        config["Server"]["TlsTerminatedByProxy"] = json!(true);
    };
    let defaulted = "Server.TlsTerminatedByProxy is true and Server.TrustedProxies is not set: every client's \
                     address is taken from X-Forwarded-For written by a proxy on this machine (127.0.0.0/8, ::1); if \
                     your proxy runs on another host, list it in Server.TrustedProxies, or every client will share one \
                     address for the per-client limits";

    let noted = |report: &Report| has(report, Verdict::Note, "Server.TrustedProxies is not set");

    // Not set: the default, and a note (not a problem) saying what it means.
    let dir = tempfile::tempdir().unwrap();
    let report = check(&write_config(&app, dir.path(), behind_proxy), &listening_as(&app)).await;
    let printed = "trusted proxies: 127.0.0.0/8, ::1 (this machine: the default behind a TLS proxy)";
    assert!(has_ok(&report, printed), "{report}");
    assert!(has(&report, Verdict::Note, defaulted), "{report}");
    let about_proxies = problems(&report).into_iter().filter(|p| p.contains("TrustedProxies"));
    assert_eq!(about_proxies.count(), 0, "{report}");

    // Named: printed as the server takes them, and no note.
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(&app, dir.path(), |config| {
        behind_proxy(config);
        config["Server"]["TrustedProxies"] = json!(["10.1.2.3/8", "192.0.2.5", "2001:db8::/32"]);
    });
    let report = check(&path, &listening_as(&app)).await;
    let printed = "trusted proxies: 10.0.0.0/8, 192.0.2.5, 2001:db8::/32 (Server.TrustedProxies)";
    assert!(has_ok(&report, printed), "{report}");
    assert!(!noted(&report), "{report}");

    // Named as none.
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(&app, dir.path(), |config| {
        behind_proxy(config);
        config["Server"]["TrustedProxies"] = json!([]);
    });
    let report = check(&path, &listening_as(&app)).await;
    let printed = "trusted proxies: none (Server.TrustedProxies is empty)";
    assert!(has_ok(&report, printed), "{report}");
    assert!(!noted(&report), "{report}");
}

#[tokio::test]
async fn a_wrong_client_secret_is_named() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(&app, dir.path(), |config| {
        config["ApplicationConfig"]["ClientSecret"] = json!("not-the-secret");
    });
    let report = check(&path, &listening_as(&app)).await;
    let problems = problems(&report);
    assert_eq!(problems.len(), 1, "{report}");
    assert!(
        problems[0].contains("refuses client `issues-app-dev-client` with this secret (invalid_client)"),
        "{report}"
    );
}

#[tokio::test]
async fn a_wrong_issuer_is_named() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    // The same provider under another name: reachable, but its tokens name 127.0.0.1.
    let path = write_config(&app, dir.path(), |config| {
        let named = app.organization_url.replace("127.0.0.1", "localhost");
        config["AuthorizationConfig"]["BaseOrganizationUrl"] = json!(named);
    });
    let report = check(&path, &listening_as(&app)).await;
    let problems = problems(&report);
    assert!(!problems.is_empty(), "{report}");
    assert!(
        problems[0].starts_with("the provider announces issuer `http://127.0.0.1:")
            && problems[0].contains("this app expects `http://localhost:"),
        "{report}"
    );
}

#[tokio::test]
async fn an_unregistered_redirect_uri_is_named() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(&app, dir.path(), |config| {
        config["ApplicationConfig"]["HostedUrl"] = json!("http://127.0.0.1:9");
        config["Server"]["ListenAddress"] = json!("127.0.0.1:9");
    });
    let report = check(&path, &Overrides::default()).await;
    let problems = problems(&report);
    assert_eq!(problems.len(), 1, "{report}");
    assert!(
        problems[0].starts_with("redirect URI `http://127.0.0.1:9/auth/callback` is not registered"),
        "{report}"
    );
    assert!(has_ok(&report, "its secret are accepted"), "{report}");
}

#[tokio::test]
async fn an_unreachable_provider_is_named() {
    let app = TestApp::spawn().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(&app, dir.path(), |config| {
        config["AuthorizationConfig"]["BaseOrganizationUrl"] = json!(format!("http://127.0.0.1:{port}/t/dev"));
    });
    let report = check(&path, &listening_as(&app)).await;
    let problems = problems(&report);
    assert_eq!(problems.len(), 1, "{report}");
    assert!(
        problems[0].starts_with(&format!(
            "discovery at http://127.0.0.1:{port}/t/dev/oauth2/token/.well-known/openid-configuration: no answer"
        )),
        "{report}"
    );
    // The database is still checked.
    assert!(has_ok(&report, "will be made at start-up"), "{report}");
}

#[tokio::test]
async fn a_bad_database_url_is_named() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(&app, dir.path(), |config| {
        config["Server"]["DatabaseUrl"] = json!("postgres://issues:wrong@127.0.0.1:1/issues");
    });
    let report = check(&path, &listening_as(&app)).await;
    let problems = problems(&report);
    assert_eq!(problems.len(), 1, "{report}");
    assert!(
        problems[0].starts_with("PostgreSQL database: cannot connect"),
        "{report}"
    );
}

#[tokio::test]
async fn the_running_app_s_database_is_reported_as_it_is() {
    let app = TestApp::spawn().await;
    let path = app.dir.path().join("config.json");
    let report = check(&path, &listening_as(&app)).await;
    // Checking the running instance's own file before a reload: no problem, and the database
    // is read (its migrations reported) without taking the running instance's lock.
    assert!(!report.has_problems(), "{report}");
    assert!(has_ok(&report, "applied, 0 to apply at start-up"), "{report}");
    if app.state.db.backend() == "sqlite" {
        let note = report
            .findings
            .iter()
            .find(|f| f.verdict == Verdict::Note && f.area == "database");
        assert!(
            note.is_some_and(|note| note.message.contains("in use by this configuration's running instance")),
            "{report}"
        );
        // A second instance's configuration (another address, the same file) stays a problem:
        // it would not start.
        let mut second: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        second["Server"]["ListenAddress"] = json!("127.0.0.1:1");
        let dir = tempfile::tempdir().unwrap();
        let second_path = dir.path().join("config.json");
        std::fs::write(&second_path, second.to_string()).unwrap();
        let report = check(&second_path, &Overrides::default()).await;
        let problems = problems(&report);
        let held = format!(
            "is held by the issues-app on {}",
            app.base.trim_start_matches("http://")
        );
        assert!(problems.iter().any(|p| p.contains(&held)), "{report}");
    }
}

#[tokio::test]
async fn a_file_that_does_not_load_is_the_one_problem() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    std::fs::write(&path, r#"{ "AuthorizationConfig": {} }"#).unwrap();
    let report = check(&path, &Overrides::default()).await;
    assert_eq!(report.findings.len(), 1, "{report}");
    assert!(
        problems(&report)[0].contains("`AuthorizationConfig.BaseOrganizationUrl`"),
        "{report}"
    );
}
