//! The data's life: a backup made while clients write loses no acknowledged write; deleted
//! issues are erased after their retention (comments and search entries too); a forgotten
//! person's name is gone everywhere while their work stays.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use issues_app::access::Viewer;
use issues_app::model::NewIssue;
use issues_app::server::ops::admin;
use issues_app::server::ops::backup::{BackupError, backup};
use issues_app::server::storage::audit::{Event, EventKind};
use issues_app::server::storage::database_url::DatabaseUrl;
use issues_app::server::storage::db::Db;
use issues_app::server::storage::issues::Issues;
use issues_app::server::storage::lifecycle::{FORMER_MEMBER, erase_deleted};
use issues_app::server::support::clock;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{CLIENT_ID, JOHN, TestApp};

const WRITERS: usize = 16;

fn someone(sub: &str, name: &str) -> Viewer {
    Viewer {
        sub: sub.into(),
        name: name.into(),
        scopes: Vec::new(),
        client_id: None,
        auth_time: None,
    }
}

/// Issue ids and titles in `db`, in id order.
async fn titles(db: &Db) -> Vec<(i64, String)> {
    issues_app::on_db!(db, |pool| sqlx::query_as("SELECT id, title FROM issues ORDER BY id")
        .fetch_all(pool)
        .await)
    .unwrap()
}

#[tokio::test]
async fn a_backup_while_16_clients_write_loses_no_acknowledged_write() {
    let app = TestApp::spawn().await;
    let config = app.state.config.load_full();
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("backups").join("issues-backup.db");
    if app.state.db.backend() != "sqlite" {
        let error = backup(&config, &to).await.unwrap_err();
        assert!(matches!(error, BackupError::NotSqlite), "{error}");
        assert!(error.to_string().contains("pg_dump"), "{error}");
        return;
    }
    let token = app.password_token(CLIENT_ID, JOHN).await;
    let stop = Arc::new(AtomicBool::new(false));
    // Each writer: (id, title, acknowledged before the backup began?) for every 201 it got.
    let backup_began = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let (url, token, stop, began) = (
            app.url("/api/v1/issues"),
            token.clone(),
            stop.clone(),
            backup_began.clone(),
        );
        writers.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut acknowledged = Vec::new();
            for n in 0.. {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let title = format!("writer {writer} issue {n}");
                let response = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({ "title": title }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::CREATED);
                let before_backup = !began.load(Ordering::SeqCst);
                let issue: Value = response.json().await.unwrap();
                acknowledged.push((issue["id"].as_i64().unwrap(), title, before_backup));
            }
            acknowledged
        }));
    }
    // Let every writer get going, then back up while they write.
    while app.issue_count().await < 4 * WRITERS as i64 {
        tokio::task::yield_now().await;
    }
    backup_began.store(true, Ordering::SeqCst);
    let bytes = backup(&config, &to).await.unwrap();
    assert!(bytes > 0);
    stop.store(true, Ordering::SeqCst);
    let mut acknowledged = Vec::new();
    for writer in writers {
        acknowledged.extend(writer.await.unwrap());
    }

    // Restore: the copy opens as a database of this build, with nothing to migrate.
    let restored_url = DatabaseUrl::parse(&format!("sqlite://{}", to.display())).unwrap();
    let (restored, _writer) = Db::connect(&restored_url, 1).await.unwrap();
    let status = restored.migration_status().await.unwrap();
    assert_eq!((status.pending, status.unknown.len()), (0, 0));
    let in_backup = titles(&restored).await;
    let live = titles(&app.state.db).await;
    for (id, title, before_backup) in &acknowledged {
        if *before_backup {
            assert!(
                in_backup.contains(&(*id, title.clone())),
                "issue {id} was acknowledged before the backup began, but the backup lacks it"
            );
        }
    }
    // A snapshot: everything in it is as it is live, and the writes after it are not half there.
    assert!(in_backup.iter().all(|row| live.contains(row)));
    let (before, after): (Vec<_>, Vec<_>) = acknowledged.iter().partition(|(_, _, before)| *before);
    assert!(before.len() >= 2 * WRITERS, "{} before", before.len());
    assert!(in_backup.len() >= before.len() && in_backup.len() <= before.len() + after.len());
    // A backup never overwrites one.
    let again = backup(&config, &to).await.unwrap_err();
    assert!(again.to_string().contains("exists already"), "{again}");
    assert_eq!(
        std::fs::metadata(&to).unwrap().len(),
        bytes,
        "the first backup is untouched"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&to).unwrap().permissions().mode() & 0o777, 0o600);
    }
    assert!(!dir.path().join("backups").join("issues-backup.db.partial").exists());
}

#[tokio::test]
async fn deleted_issues_are_erased_after_their_retention_with_comments_and_search_entries() {
    let app = TestApp::spawn().await;
    let issues = Issues::new(app.state.db.clone());
    let john = someone("john-sub", "John Manager");
    let now = clock::now_millis();
    let mut ids = Vec::new();
    for title in ["Kept quasar", "Recently deleted quasar", "Long deleted quasar"] {
        let issue = issues
            .create(&NewIssue::parse(title, "about quasars").unwrap(), &john, now)
            .await
            .unwrap();
        issues
            .add_comment(issue.id, "a quasar comment", &john, now)
            .await
            .unwrap();
        ids.push(issue.id);
    }
    issues.delete(ids[1], None, &john, now).await.unwrap();
    issues.delete(ids[2], None, &john, now).await.unwrap();
    let month_ago = now - 31 * 86_400_000;
    issues_app::on_db!(&app.state.db, |pool| sqlx::query(
        "UPDATE issues SET deleted_at = $1 WHERE id = $2"
    )
    .bind(month_ago)
    .bind(ids[2])
    .execute(pool)
    .await
    .map(drop))
    .unwrap();

    let retention = app.state.config.load().deleted_retention.as_millis() as i64;
    assert_eq!(retention, 30 * 86_400_000, "30 days by default");
    assert_eq!(erase_deleted(&app.state.db, now - retention).await.unwrap(), 1);
    let left: Vec<i64> = titles(&app.state.db).await.into_iter().map(|(id, _)| id).collect();
    assert_eq!(
        left,
        ids[..2],
        "the one deleted a month ago is erased; the recent one is restorable"
    );
    let comments_of_erased: i64 = issues_app::on_db!(&app.state.db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM comments WHERE issue_id = $1"
    )
    .bind(ids[2])
    .fetch_one(pool)
    .await)
    .unwrap();
    assert_eq!(comments_of_erased, 0);
    if app.state.db.backend() == "sqlite" {
        // The full-text index forgot it too: its own consistency check passes, and a search
        // finds only the rows that are left.
        let pool = match &app.state.db {
            Db::Sqlite(pool) => pool,
            Db::Postgres(_) => unreachable!(),
        };
        for table in ["issue_search", "comment_search"] {
            sqlx::query(&format!("INSERT INTO {table} ({table}) VALUES ('integrity-check')"))
                .execute(pool)
                .await
                .unwrap_or_else(|error| panic!("{table}: {error}"));
        }
        let found: Vec<i64> =
            sqlx::query_scalar("SELECT rowid FROM issue_search WHERE issue_search MATCH 'quasar' ORDER BY rowid")
                .fetch_all(pool)
                .await
                .unwrap();
        assert_eq!(found, ids[..2]);
    }
    assert_eq!(
        erase_deleted(&app.state.db, now - retention).await.unwrap(),
        0,
        "nothing twice"
    );
}

#[tokio::test]
async fn a_forgotten_person_s_work_stays_attributed_to_a_former_member() {
    let mut app = TestApp::spawn().await;
    let issues = Issues::new(app.state.db.clone());
    let (john, emily) = (
        someone("john-sub", "John Manager"),
        someone("emily-sub", "Emily Employee"),
    );
    let now = clock::now_millis();
    app.state.people.seen(&john.sub, &john.name, now / 1000).await.unwrap();
    let issue = issues
        .create(&NewIssue::parse("John's issue", "").unwrap(), &john, now)
        .await
        .unwrap();
    issues
        .add_comment(issue.id, "John's comment", &john, now)
        .await
        .unwrap();
    issues
        .add_comment(issue.id, "Emily's comment", &emily, now)
        .await
        .unwrap();
    // Assigned to him: the issue and the audit trail's line name him.
    issues_app::on_db!(&app.state.db, |pool| sqlx::query(
        "UPDATE issues SET assignee_sub = $1, assignee_name = $2 WHERE id = $3"
    )
    .bind(&john.sub)
    .bind(&john.name)
    .bind(issue.id)
    .execute(pool)
    .await
    .map(drop))
    .unwrap();
    // He edited his comment (its earlier body kept, edited by him), hid Emily's, and she
    // mentioned him.
    for statement in [
        "INSERT INTO comment_revisions (comment_id, body, replaced_at, editor_name) \
         SELECT id, 'John''s first words', 1, $2 FROM comments WHERE author_sub = $1",
        "UPDATE comments SET hidden_by_name = $2, hidden_by_sub = $1 WHERE author_sub <> $1",
        // One hidden as an older export has it: by name only.
        "INSERT INTO comments (issue_id, body, author_sub, author_name, created_at, hidden_by_name) \
         SELECT issue_id, 'Old words', 'emily-sub', 'Emily Employee', 1, $2 FROM comments WHERE author_sub = $1",
        "INSERT INTO mentions (issue_id, comment_id, sub, at) SELECT issue_id, id, $1, 1 FROM comments \
         WHERE author_sub <> $1 AND author_name <> $2",
    ] {
        issues_app::on_db!(&app.state.db, |pool| sqlx::query(statement)
            .bind(&john.sub)
            .bind(&john.name)
            .execute(pool)
            .await
            .map(drop))
        .unwrap();
    }
    let mut assigned = Event::new(EventKind::IssueAssigned);
    assigned.actor = Some(&emily);
    assigned.detail = Some(format!("issue {} to John Manager", issue.id));
    app.state.audit.record(assigned).await;

    // As an operator runs it: the app stopped (SQLite's writer lock), the same config.json.
    app.halt().await;
    let config = app.state.config.load_full();
    let unknown = admin::forget_person(&config, "nobody-sub").await.unwrap_err();
    assert_eq!(
        unknown.to_string(),
        "no one with subject id `nobody-sub` has signed in here: nothing to forget"
    );
    let said = admin::forget_person(&config, &john.sub).await.unwrap();
    assert!(said.starts_with("forgot john-sub: "), "{said}");

    let (db, _writer) = Db::connect(&config.database_url, 1).await.unwrap();
    // His name is nowhere: not in any text column of any table that keeps people's names.
    let every_name: Vec<Option<String>> = issues_app::on_db!(&db, |pool| sqlx::query_scalar(
        "SELECT author_name FROM issues UNION ALL SELECT assignee_name FROM issues \
         UNION ALL SELECT closed_by_name FROM issues UNION ALL SELECT author_name FROM comments \
         UNION ALL SELECT name FROM people UNION ALL SELECT name FROM sign_ins \
         UNION ALL SELECT actor_name FROM audit_events UNION ALL SELECT detail FROM audit_events \
         UNION ALL SELECT actor_name FROM issue_events UNION ALL SELECT old_value FROM issue_events \
         UNION ALL SELECT new_value FROM issue_events UNION ALL SELECT hidden_by_name FROM comments \
         UNION ALL SELECT editor_name FROM comment_revisions"
    )
    .fetch_all(pool)
    .await)
    .unwrap();
    let texts: Vec<String> = every_name.into_iter().flatten().collect();
    assert!(texts.iter().all(|text| !text.contains("John Manager")), "{texts:?}");
    // Nor in the outbox: who made each change, and the issue and comments in its data.
    let changes: Vec<String> = issues_app::on_db!(&db, |pool| sqlx::query_scalar(
        "SELECT actor_name FROM outbox UNION ALL SELECT data FROM outbox"
    )
    .fetch_all(pool)
    .await)
    .unwrap();
    assert_eq!(changes.len(), 6, "three changes: {changes:?}");
    assert!(changes.iter().all(|text| !text.contains("John Manager")), "{changes:?}");
    assert!(changes.iter().any(|text| text.contains(FORMER_MEMBER)), "{changes:?}");
    assert!(
        texts.contains(&format!("issue {} to {FORMER_MEMBER}", issue.id)),
        "{texts:?}"
    );
    // Author of the issue and a comment, the person, the assignee, the audit line, the issue's
    // history (who opened it), who hid Emily's comments (two), who edited his.
    assert_eq!(
        texts.iter().filter(|text| *text == FORMER_MEMBER).count(),
        8,
        "{texts:?}"
    );
    let mentions: i64 = issues_app::on_db!(&db, |pool| sqlx::query_scalar("SELECT COUNT(*) FROM mentions")
        .fetch_one(pool)
        .await)
    .unwrap();
    assert_eq!(mentions, 0, "no one finds him by a mention");
    assert!(texts.contains(&"Emily Employee".to_string()), "others keep their names");
    let recorded: Vec<String> = issues_app::on_db!(&db, |pool| sqlx::query_scalar(
        "SELECT detail FROM audit_events WHERE event = 'person_forgotten'"
    )
    .fetch_all(pool)
    .await)
    .unwrap();
    assert_eq!(recorded.len(), 1, "audited once");
    assert!(
        // The nine of before, and the three changes in the outbox whose data names him.
        recorded[0].starts_with("subject john-sub: name replaced in 12 rows"),
        "{recorded:?}"
    );
}

#[tokio::test]
async fn an_export_made_while_serving_is_private_whole_and_never_overwrites() {
    let app = TestApp::spawn().await;
    let issues = Issues::new(app.state.db.clone());
    let john = someone("john-sub", "John Manager");
    for title in ["First", "Second"] {
        issues
            .create(&NewIssue::parse(title, "").unwrap(), &john, clock::now_millis())
            .await
            .unwrap();
    }
    let config = app.state.config.load_full();
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("exports").join("team.jsonl");
    // The running instance holds SQLite's lock: the export reads beside it.
    let said = admin::export(&config, false, Some(&to)).await.unwrap();
    assert!(said.starts_with("exported 2 issues"), "{said}");
    let text = std::fs::read_to_string(&to).unwrap();
    assert_eq!(
        text.lines().count(),
        5,
        "the header, two issues and their created events: {text}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&to).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let again = admin::export(&config, false, Some(&to)).await.unwrap_err();
    assert!(again.to_string().contains("exists already"), "{again}");
    assert_eq!(std::fs::read_to_string(&to).unwrap(), text, "untouched");
    let left: Vec<_> = std::fs::read_dir(to.parent().unwrap()).unwrap().collect();
    assert_eq!(left.len(), 1, "no partial file left behind");
}

#[tokio::test]
async fn a_database_that_is_not_there_is_said_so_and_not_made() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("typo").join("issues.db");
    let url = DatabaseUrl::parse(&format!("sqlite://{}", missing.display())).unwrap();
    let error = Db::connect_to_read(&url).await.expect_err("refused");
    assert_eq!(
        error.to_string(),
        format!(
            "there is no SQLite database at {} (check Server.DataDir or Server.DatabaseUrl)",
            missing.display()
        )
    );
    assert!(
        !missing.exists() && !dir.path().join("typo").exists(),
        "nothing was made"
    );
}
