//! The config folder's unit tests of what delivers changes: `Webhooks` (with their secrets) and
//! `Notifications.Smtp`, each mistake named by its field (`webhooks_section.rs`).

use super::tests::{DEMO, error_of, parse};

/// The demo's file with `Webhooks` set to `webhooks` (JSON) and a secret file beside it holding
/// `secret`.
fn with_webhooks(webhooks: &str, secret: &str) -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hook.secret"), secret).unwrap();
    let webhooks = webhooks.replace("SECRET_FILE", &dir.path().join("hook.secret").display().to_string());
    let text = DEMO.trim_end().strip_suffix('}').unwrap().to_string();
    (format!("{text}, \"Webhooks\": {webhooks} }}"), dir)
}

#[test]
fn webhooks_are_read_with_their_secret_and_none_when_absent() {
    assert!(parse(DEMO).unwrap().webhooks.is_empty());
    let strong = "s".repeat(32);
    let (text, _dir) = with_webhooks(
        r#"[{ "Url": "https://hooks.example.com/issues", "SecretFile": "SECRET_FILE", "Events": ["issue.created"] },
            { "Url": "http://10.0.0.5:8080/in", "SecretFile": "SECRET_FILE", "AllowPrivateAddress": true }]"#,
        &format!("{strong}\n"),
    );
    let config = parse(&text).unwrap();
    assert_eq!(config.webhooks.len(), 2);
    let (first, second) = (&config.webhooks[0], &config.webhooks[1]);
    assert_eq!(
        first.secret.expose(),
        strong,
        "the file's trailing newline is not the secret's"
    );
    assert!(first.wants("issue.created") && !first.wants("comment.created"));
    assert!(second.wants("comment.deleted") && second.allow_private_address);
    assert_eq!(config.webhook_first_retry, std::time::Duration::from_secs(5));
}

#[test]
fn webhooks_that_break_a_rule_are_refused_naming_the_field() {
    let strong = "s".repeat(32);
    let cases = [
        (
            r#"[{ "Url": "ftp://x.example/", "SecretFile": "SECRET_FILE" }]"#,
            strong.as_str(),
            "Webhooks[0].Url",
        ),
        (
            r#"[{ "Url": "https://u:p@x.example/", "SecretFile": "SECRET_FILE" }]"#,
            &strong,
            "Webhooks[0].Url",
        ),
        (
            r#"[{ "Url": "http://x.example/", "SecretFile": "SECRET_FILE" }]"#,
            &strong,
            "Webhooks[0].Url",
        ),
        (
            r#"[{ "Url": "https://x.example/", "SecretFile": "SECRET_FILE" }, { "Url": "https://x.example/", "SecretFile": "SECRET_FILE" }]"#,
            &strong,
            "Webhooks[1].Url",
        ),
        (
            r#"[{ "Url": "https://x.example/", "SecretFile": "SECRET_FILE", "Events": [] }]"#,
            &strong,
            "Webhooks[0].Events",
        ),
        (
            r#"[{ "Url": "https://x.example/", "SecretFile": "SECRET_FILE", "Events": ["issue.created", "issue.closed"] }]"#,
            &strong,
            "Webhooks[0].Events[1]",
        ),
        (
            r#"[{ "Url": "https://x.example/", "SecretFile": "SECRET_FILE" }]"#,
            "short",
            "Webhooks[0].SecretFile",
        ),
        (r#"[{ "Url": "https://x.example/" }]"#, &strong, "Webhooks[0].SecretEnv"),
        (
            r#"[{ "Url": "https://x.example/", "SecretEnv": "ISSUES_APP_TEST_NO_SUCH_VARIABLE" }]"#,
            &strong,
            "Webhooks[0].SecretEnv",
        ),
        (
            r#"[{ "Url": "https://x.example/", "SecretFile": "/no/such/file" }]"#,
            &strong,
            "Webhooks[0].SecretFile",
        ),
        (
            r#"[{ "Url": "https://x.example/", "SecretFile": "SECRET_FILE", "Secret": "x" }]"#,
            &strong,
            "Webhooks[0].Secret",
        ),
    ];
    for (webhooks, secret, field) in cases {
        let (text, _dir) = with_webhooks(webhooks, secret);
        let error = error_of(&text);
        assert!(
            error.starts_with(&format!("config.json: field `{field}`")),
            "{webhooks}: {error}"
        );
    }
    let slow = DEMO.replace(
        r#""Features""#,
        r#""Server": { "WebhookFirstRetrySeconds": 0 }, "Features""#,
    );
    assert!(
        error_of(&slow).contains("`Server.WebhookFirstRetrySeconds`"),
        "{}",
        error_of(&slow)
    );
}

#[test]
fn the_mail_server_is_checked_naming_the_field() {
    let with_smtp = |smtp: &str| {
        let text = DEMO.trim_end().strip_suffix('}').unwrap().to_string();
        format!("{text}, \"Notifications\": {{ \"Smtp\": {smtp} }} }}")
    };
    let config = parse(&with_smtp(
        r#"{ "Host": "smtp.example.com", "From": "Issues <issues@example.com>" }"#,
    ))
    .unwrap();
    let smtp = config.smtp.unwrap();
    assert_eq!((smtp.port, smtp.tls), (587, super::SmtpTls::StartTls));
    assert!(smtp.credentials.is_none());
    assert!(parse(DEMO).unwrap().smtp.is_none(), "no mail unless named");
    let cases = [
        (r#"{ "Host": "", "From": "a@b.example" }"#, "Notifications.Smtp.Host"),
        (
            r#"{ "Host": "smtp.example.com", "From": "not a mailbox" }"#,
            "Notifications.Smtp.From",
        ),
        (
            r#"{ "Host": "smtp.example.com", "From": "a@b.example", "Tls": "ssl" }"#,
            "Notifications.Smtp.Tls",
        ),
        (
            r#"{ "Host": "smtp.example.com", "From": "a@b.example", "Tls": "none" }"#,
            "Notifications.Smtp.Tls",
        ),
        (
            r#"{ "Host": "smtp.example.com", "From": "a@b.example", "UsernameEnv": "ISSUES_APP_TEST_NO_SUCH_VARIABLE" }"#,
            "Notifications.Smtp.UsernameEnv",
        ),
        (
            r#"{ "Host": "smtp.example.com", "From": "a@b.example", "Password": "x" }"#,
            "Notifications.Smtp.Password",
        ),
    ];
    for (smtp, field) in cases {
        let error = error_of(&with_smtp(smtp));
        assert!(
            error.starts_with(&format!("config.json: field `{field}`")),
            "{smtp}: {error}"
        );
    }
    let local = parse(&with_smtp(
        r#"{ "Host": "localhost", "From": "a@b.example", "Tls": "none" }"#,
    ))
    .unwrap();
    assert_eq!(local.smtp.unwrap().port, 25);
}
