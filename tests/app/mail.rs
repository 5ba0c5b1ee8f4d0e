//! Notifications by e-mail through a real SMTP server on loopback (aiosmtpd from PyPI, installed
//! by `scripts/setup --test` in target/python, writing what arrives to a Maildir): a mention is
//! mailed to the address the ID token gave, a person who chose "never" gets none, "once a day"
//! gathers the day into one digest, and someone who may no longer view issues is mailed
//! nothing more.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use issues_app::server::delivery::{mail, notify};
use issues_app::server::ops::live::Reloaded;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{ALEX, EMILY, JOHN, Options, TestApp, browser, edit_config, free_port, next_reload};

/// The Python that `scripts/setup --test` made, with aiosmtpd.
fn python() -> PathBuf {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/python/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup --test (it installs aiosmtpd)",
        python.display()
    );
    python
}

/// An SMTP server on loopback that keeps each mail it takes in `maildir`.
struct MailServer {
    child: Child,
    port: u16,
    maildir: tempfile::TempDir,
}

impl Drop for MailServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl MailServer {
    async fn start() -> Self {
        let (port, maildir) = (free_port(), tempfile::tempdir().unwrap());
        let child = Command::new(python())
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("box"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts (scripts/setup --test installs it)");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(tokio::time::Instant::now() < deadline, "aiosmtpd did not listen");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self { child, port, maildir }
    }

    /// Every mail taken so far, oldest first: (To, Subject, body), decoded by Python's `email`.
    fn mails(&self) -> Vec<(String, String, String)> {
        let new = self.maildir.path().join("box/new");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&new)
            .map(|entries| entries.map(|entry| entry.unwrap().path()).collect())
            .unwrap_or_default();
        files.sort_by_key(|file| std::fs::metadata(file).unwrap().modified().unwrap());
        const DECODE: &str = "import email, email.header, json, sys\n\
            m = email.message_from_binary_file(open(sys.argv[1], 'rb'))\n\
            subject = str(email.header.make_header(email.header.decode_header(m['Subject'])))\n\
            print(json.dumps([m['To'], subject, m.get_payload(decode=True).decode()]))";
        files
            .iter()
            .map(|file| {
                let out = Command::new(python()).args(["-c", DECODE]).arg(file).output().unwrap();
                assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
                let [to, subject, body]: [String; 3] = serde_json::from_slice(&out.stdout).unwrap();
                (to, subject, body)
            })
            .collect()
    }
}

async fn ok(app: &TestApp, who: &reqwest::Client, function: &str, form: &[(&str, &str)]) -> Value {
    let (status, body) = app.call(who, function, form).await;
    assert_eq!(status, StatusCode::OK, "{function}: {body}");
    body
}

/// Turns every change into notifications, then mails what is due (as the background tasks
/// would, at once), and waits for a mail the background task is sending meanwhile.
async fn deliver(app: &TestApp) {
    while notify::deliver(&app.state.db).await.unwrap().read > 0 {}
    assert!(
        app.state.config.load().smtp.is_some(),
        "the test's config.json names the mail server"
    );
    mail::send_due(&app.state.db, &app.state.config).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let sending: i64 = issues_app::on_db!(&app.state.db, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM notifications WHERE mail_lease_until IS NOT NULL"
        )
        .fetch_one(pool)
        .await)
        .unwrap();
        if sending == 0 {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "a mail is still being sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What the mail queue holds, for a failure's message.
async fn queue_state(app: &TestApp) -> String {
    let people: Vec<(String, Option<String>, String, i64)> = issues_app::on_db!(&app.state.db, |pool| sqlx::query_as(
        "SELECT sub, email, mail, last_seen_at FROM people"
    )
    .fetch_all(pool)
    .await)
    .unwrap();
    /// id, reason, mail_state, mail_attempts, mail_next_at, mail_lease_until.
    type Queued = (i64, String, Option<String>, i64, Option<i64>, Option<i64>);
    let queued: Vec<Queued> = issues_app::on_db!(&app.state.db, |pool| sqlx::query_as(
        "SELECT id, reason, mail_state, mail_attempts, mail_next_at, mail_lease_until FROM notifications"
    )
    .fetch_all(pool)
    .await)
    .unwrap();
    format!("people {people:?}, notifications {queued:?}")
}

#[tokio::test]
async fn notifications_are_mailed_as_each_person_chose_and_only_while_they_may_view() {
    let server = MailServer::start().await;
    let port = server.port;
    let app = TestApp::spawn_configured(Options::default(), move |config| {
        config["Notifications"] = json!({ "Smtp": {
            "Host": "127.0.0.1", "Port": port, "Tls": "none", "From": "Issues <issues@dev.example>"
        }});
    })
    .await;
    let (john, emily) = (browser(), browser());
    app.sign_in(&john, JOHN, "/").await;
    app.sign_in(&emily, EMILY, "/").await;
    let issue = ok(
        &app,
        &john,
        "create_issue",
        &[("title", "Heating"), ("description", "")],
    )
    .await;
    let id = issue["id"].as_i64().unwrap().to_string();

    // A mention reaches John's inbox, and his mail (as it happens: the default).
    ok(
        &app,
        &emily,
        "add_comment",
        &[("issue", &id), ("body", "@John Manager it is cold")],
    )
    .await;
    deliver(&app).await;
    let mails = server.mails();
    assert_eq!(mails.len(), 1, "{mails:?}; {}", queue_state(&app).await);
    let (to, subject, body) = &mails[0];
    assert_eq!(to, "\"John Manager\" <john@dev.example>");
    assert_eq!(
        subject,
        &format!("[Issues] Emily Employee mentioned you in #{id} “Heating”")
    );
    assert!(body.contains(&app.url(&format!("/issues/{id}"))), "{body}");
    assert!(body.contains(&app.url("/profile")), "{body}");
    let profile = app.page_text(&john, "/profile").await;
    assert!(
        profile.contains("john@dev.example") && profile.contains("id=\"mail-form\""),
        "{profile}"
    );

    // Emily chose never: John's comment tells her (she commented) in the app only.
    ok(&app, &emily, "set_mail_preference", &[("mail", "none")]).await;
    ok(&app, &john, "add_comment", &[("issue", &id), ("body", "Fixed?")]).await;
    deliver(&app).await;
    assert_eq!(server.mails().len(), 1);
    assert_eq!(ok(&app, &emily, "unread_notifications", &[]).await, 1);
    let (status, _) = app.call(&emily, "set_mail_preference", &[("mail", "weekly")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // John chooses once a day: two mentions (made while he wanted none), one digest.
    ok(&app, &john, "set_mail_preference", &[("mail", "none")]).await;
    for body in ["@John Manager still cold", "@John Manager really"] {
        ok(&app, &emily, "add_comment", &[("issue", &id), ("body", body)]).await;
    }
    deliver(&app).await;
    assert_eq!(server.mails().len(), 1);
    ok(&app, &john, "set_mail_preference", &[("mail", "daily")]).await;
    deliver(&app).await;
    let mails = server.mails();
    assert_eq!(mails.len(), 2, "{mails:?}");
    let (_, subject, body) = &mails[1];
    assert_eq!(subject, "[Issues] 2 notifications today");
    assert_eq!(body.matches("mentioned you in").count(), 2, "{body}");
    // The day's digest is sent: another mention waits for tomorrow's.
    ok(
        &app,
        &emily,
        "add_comment",
        &[("issue", &id), ("body", "@John Manager hello?")],
    )
    .await;
    deliver(&app).await;
    assert_eq!(server.mails().len(), 2);

    // John may no longer view issues (config.json now asks for the delete scope, which only
    // Alex's role carries): nothing more is mailed to him, even as it happens.
    let alex = browser();
    app.sign_in(&alex, ALEX, "/").await;
    let before = app.state.config.reload_attempts();
    edit_config(&app, |config| {
        config["Features"]["Issues"]["scopes"]["view"] = json!(["issues:view", "issues:delete"]);
        config["Features"]["Issues"]["scopes"]["comment"] = json!(["issues:view"]);
    });
    let reloaded = next_reload(&app, before).await;
    assert!(matches!(reloaded, Reloaded::Applied { .. }), "{reloaded:?}");
    ok(&app, &john, "set_mail_preference", &[("mail", "immediately")]).await;
    ok(
        &app,
        &alex,
        "add_comment",
        &[("issue", &id), ("body", "@John Manager last one")],
    )
    .await;
    deliver(&app).await;
    assert_eq!(server.mails().len(), 2, "{:?}", server.mails());
    // The background mailer may hold the claim (its transaction not yet committed when the
    // test's own round looked): wait, bounded, for the mail to be judged.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let skipped: i64 = issues_app::on_db!(&app.state.db, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM notifications WHERE mail_state = 'skipped'"
        )
        .fetch_one(pool)
        .await)
        .unwrap();
        if skipped >= 1 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the mail he may not read is skipped; {}",
            queue_state(&app).await
        );
        mail::send_due(&app.state.db, &app.state.config).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(server.mails().len(), 2, "nothing more was mailed: {:?}", server.mails());
}
