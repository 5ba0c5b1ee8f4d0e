//! `issues-app export` / `import`: a team's issues (deleted ones too, with their priorities, due
//! dates and labels), comments (edited with their earlier bodies, hidden, deleted), who is
//! mentioned where, people, labels, issues' histories and audit trail move to a fresh database
//! and export again byte for byte the same, SQLite to SQLite and (scripts/test) SQLite to
//! PostgreSQL; an export made before triage and comment edits still imports; a database that has
//! a team is refused unless merging; a damaged line is named and nothing of its batch is written;
//! nothing secret leaves.

use issues_app::access::Viewer;
use issues_app::model::{
    BoardFilter, CLOSED, Issue, IssueChange, Label, LabelEdit, LabelInput, NewIssue, Priority, StatusCounts,
};
use issues_app::server::storage::audit::{AuditTrail, Event, EventKind};
use issues_app::server::storage::database_url::DatabaseUrl;
use issues_app::server::storage::db::{Db, SingleWriter};
use issues_app::server::storage::issues::{
    Changed, CommentChanged, CommentEdit, Issues, change_comment, define_label, record_mentions,
};
use issues_app::server::storage::people::People;
use issues_app::server::storage::transfer::{self, Counts, ExportOptions, ImportOptions, TransferError};
use serde_json::{Value, json};

/// Issue times (milliseconds): late 2026.
const T0: i64 = 1_790_000_000_000;

const EMILY: &str = "Émily \"E\" Brontë";
/// Emily's comment on the typo naming two people, as she wrote it and as she edited it.
const NAMING: &str = "Also on the list page, @John Doe @Zed";
const NAMING_EDITED: &str = "Also on the list page and in its heading, @John Doe @Zed";

fn viewer(sub: &str, name: &str) -> Viewer {
    Viewer {
        sub: sub.into(),
        name: name.into(),
        scopes: Vec::new(),
        client_id: None,
        auth_time: None,
    }
}

/// A fresh, migrated SQLite database in `dir`, and its writer's lock (keep it).
async fn sqlite(dir: &tempfile::TempDir, name: &str) -> (Db, Option<SingleWriter>) {
    let url = format!("sqlite://{}?mode=rwc", dir.path().join(name).display());
    let (db, writer) = Db::connect(&DatabaseUrl::parse(&url).unwrap(), 2).await.unwrap();
    db.migrate().await.unwrap();
    (db, writer)
}

/// Defines a label as the app does (in a write's transaction) at `at` (milliseconds).
async fn define(issues: &Issues, name: &str, color: &str, description: &str, at: i64) -> Label {
    let label = LabelInput::parse(name, color, description).unwrap();
    issues
        .write(move |tx| Box::pin(async move { define_label(tx, &label, at).await }))
        .await
        .unwrap()
        .expect("no label has that name yet")
}

/// Records that comment `comment_id` of issue `issue_id` (0: its description) mentions `subs`,
/// as the app does when the text names them.
async fn mention(issues: &Issues, issue_id: i64, comment_id: i64, subs: &[&str], at: i64) {
    let subs: Vec<String> = subs.iter().map(|sub| sub.to_string()).collect();
    issues
        .write(move |tx| Box::pin(async move { record_mentions(tx, issue_id, comment_id, &subs, at).await }))
        .await
        .unwrap();
}

/// Edits, hides or deletes comment `comment_id` of issue `issue_id` as `who`, as the app does.
async fn change_a_comment(
    issues: &Issues,
    issue_id: i64,
    comment_id: i64,
    edit: CommentEdit<'static>,
    who: &Viewer,
    at: i64,
) {
    let who = who.clone();
    let changed = issues
        .write(move |tx| Box::pin(async move { change_comment(tx, issue_id, comment_id, edit, &who, at).await }))
        .await
        .unwrap();
    assert!(matches!(changed, CommentChanged::Done(_)), "{changed:?}");
}

/// Three people, three issues (one closed, one assigned, one deleted), six comments (one edited,
/// one hidden, one deleted), three mentions (one in a description), two labels (one on the closed
/// issue, which also has a priority and a due date, one on no issue), the issues' histories and
/// an audit event, made as the app makes them; and a session, a sign-in's state and a logout
/// token, which must not leave.
async fn a_team(db: &Db) {
    let john = viewer("john-sub", "John Doe");
    let emily = viewer("emily-sub", EMILY);
    let people = People::new(db.clone());
    people.seen(&john.sub, &john.name, T0 / 1000).await.unwrap();
    people.seen(&emily.sub, &emily.name, T0 / 1000 + 5).await.unwrap();
    // Upper case sorts before lower case by bytes, after it in most locales.
    people.seen("ZZ-top", "Zed", T0 / 1000 + 9).await.unwrap();

    let issues = Issues::new(db.clone());
    let login = NewIssue::parse("Login fails", "Steps:\n1. sign in\n2. 💥\ttab").unwrap();
    let first = issues.create(&login, &john, T0).await.unwrap();
    let typo = NewIssue::parse("Typo on the board", "Spotted by @Zed.").unwrap();
    let second = issues.create(&typo, &emily, T0 + 1_000).await.unwrap();
    mention(&issues, second.id, 0, &["ZZ-top"], T0 + 1_000).await;
    let spam = NewIssue::parse("Spam", "buy now").unwrap();
    let third = issues.create(&spam, &emily, T0 + 2_000).await.unwrap();
    for (issue, body, who, at) in [
        (first.id, "Seen it too.", &emily, T0 + 3_000),
        (first.id, "Fixed in 1.2 — «quoted»", &john, T0 + 4_000),
        (third.id, "Removing this.", &john, T0 + 4_500),
    ] {
        issues.add_comment(issue, body, who, at).await.unwrap().unwrap();
    }
    let close = IssueChange {
        status: Some(CLOSED),
        ..IssueChange::default()
    };
    let closed = issues
        .change(first.id, &close, None, None, &john, T0 + 5_000)
        .await
        .unwrap();
    assert!(matches!(closed, Changed::Done(_)), "{closed:?}");
    let assign = IssueChange {
        assignee: Some(Some(emily.sub.clone())),
        ..IssueChange::default()
    };
    let assigned = issues
        .change(second.id, &assign, Some(emily.name.clone()), None, &john, T0 + 6_000)
        .await
        .unwrap();
    assert!(matches!(assigned, Changed::Done(_)), "{assigned:?}");
    let deleted = issues.delete(third.id, None, &emily, T0 + 7_000).await.unwrap();
    assert!(matches!(deleted, Changed::Done(_)), "{deleted:?}");

    define(&issues, "Bug", "#D73A4A", "Something is broken", T0 + 7_500).await;
    define(&issues, "UX", "#0075ca", "", T0 + 7_600).await;
    let triage = IssueChange {
        priority: Some(Priority::High),
        due: Some(Some("2027-01-31".into())),
        labels: Some(LabelEdit::Set(vec!["bug".into()])),
        ..IssueChange::default()
    };
    let triaged = issues
        .change(first.id, &triage, None, None, &emily, T0 + 8_000)
        .await
        .unwrap();
    assert!(matches!(triaged, Changed::Done(_)), "{triaged:?}");

    // What became of comments on the typo: Emily's, naming two people (one who sorts before the
    // other by bytes, after them in most locales), she edits; John's aside she hides; another of
    // his he deletes.
    let naming = issues
        .add_comment(second.id, NAMING, &emily, T0 + 8_100)
        .await
        .unwrap()
        .unwrap();
    mention(&issues, second.id, naming.id, &["john-sub", "ZZ-top"], T0 + 8_100).await;
    let edit = CommentEdit::Body(NAMING_EDITED);
    change_a_comment(&issues, second.id, naming.id, edit, &emily, T0 + 8_200).await;
    let aside = issues
        .add_comment(second.id, "Lunch, anyone?", &john, T0 + 8_300)
        .await
        .unwrap()
        .unwrap();
    let hide = CommentEdit::Hide(true);
    change_a_comment(&issues, second.id, aside.id, hide, &emily, T0 + 8_400).await;
    let mistake = issues
        .add_comment(second.id, "Wrong issue, sorry.", &john, T0 + 8_500)
        .await
        .unwrap()
        .unwrap();
    let delete = CommentEdit::Delete;
    change_a_comment(&issues, second.id, mistake.id, delete, &john, T0 + 8_600).await;

    AuditTrail::new(db.clone())
        .record(Event {
            actor: Some(&john),
            request_id: Some("request-1"),
            detail: Some(format!("issue {}", first.id)),
            ..Event::new(EventKind::IssueCreated)
        })
        .await;

    issues_app::on_db!(db, |pool| {
        sqlx::query("INSERT INTO sessions (id, data, expiry_date) VALUES ('secret-session-id', $1, 4102444800)")
            .bind(vec![1u8, 2, 3])
            .execute(pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO logout_tokens_seen (jti, expires_at) VALUES ('secret-jti', 4102444800)")
            .execute(pool)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO sign_ins (id, sub, sid, name, scopes, sealed_tokens, access_expires_at, created_at, \
             refreshed_at, expires_at) VALUES ('secret-sign-in', 'john-sub', NULL, 'John Doe', 'openid', \
             'secret-sealed-tokens', 1, 1, 1, 4102444800)",
        )
        .execute(pool)
        .await
        .unwrap();
    });
}

async fn exported(db: &Db, audit: bool) -> String {
    let mut out = Vec::new();
    transfer::export(db, &mut out, &ExportOptions { audit }).await.unwrap();
    String::from_utf8(out).unwrap()
}

/// [`a_team`] made in `source.db` in `dir`, exported (with its audit trail if `audit`).
async fn exported_team(dir: &tempfile::TempDir, audit: bool) -> String {
    let (source, _source_lock) = sqlite(dir, "source.db").await;
    a_team(&source).await;
    exported(&source, audit).await
}

async fn imported(db: &Db, export: &str, into_non_empty: bool) -> Result<Counts, TransferError> {
    transfer::import(db, export.as_bytes(), &ImportOptions { into_non_empty }).await
}

/// A new issue by John, made after the team's times: the next id the database hands out.
async fn issue_after_the_move(db: &Db) -> Issue {
    Issues::new(db.clone())
        .create(
            &NewIssue::parse("After the move", "").unwrap(),
            &viewer("john-sub", "John Doe"),
            T0 + 9_000,
        )
        .await
        .unwrap()
}

/// The export's records of `kind`, in file order.
fn records<'a>(lines: &'a [Value], kind: &str) -> Vec<&'a Value> {
    lines.iter().filter(|line| line["kind"] == kind).collect()
}

async fn count(db: &Db, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    issues_app::on_db!(db, |pool| sqlx::query_scalar::<_, i64>(&sql).fetch_one(pool).await).unwrap()
}

/// The imported team works in the app: the board's counts (kept by triggers), search over
/// titles and comments (indexes filled as the rows went in), the deleted issue hidden; the
/// triage (priority, due date, labels), the history, the comments (edited, hidden, deleted) and
/// who is mentioned where as they were made.
async fn assert_the_copy_works(db: &Db) {
    let issues = Issues::new(db.clone());
    let board = issues.list("test", &BoardFilter::default(), None, 20).await.unwrap();
    let counts = StatusCounts {
        open: 1,
        closed: 1,
        ..StatusCounts::default()
    };
    assert_eq!(board.page.counts, counts);
    let titles: Vec<&str> = board.page.issues.iter().map(|issue| issue.title.as_str()).collect();
    assert_eq!(titles, ["Typo on the board", "Login fails"]);
    for (search, title) in [("typo", "Typo on the board"), ("fixed", "Login fails")] {
        let filter = BoardFilter {
            search: Some(search.into()),
            ..BoardFilter::default()
        };
        let found = issues.list("test", &filter, None, 20).await.unwrap();
        let titles: Vec<&str> = found.page.issues.iter().map(|issue| issue.title.as_str()).collect();
        assert_eq!(titles, [title], "searching {search:?}");
    }
    let login = board
        .page
        .issues
        .iter()
        .find(|issue| issue.title == "Login fails")
        .unwrap();
    assert_eq!(login.comment_count, 2);
    assert_eq!(login.closed_at, Some(T0 + 5_000));
    assert_eq!(login.closed_by_name.as_deref(), Some("John Doe"));

    let triaged = issues.get(login.id).await.unwrap().unwrap();
    assert_eq!(triaged.priority, Priority::High);
    assert_eq!(triaged.due.as_deref(), Some("2027-01-31"));
    let carried: Vec<&str> = triaged.labels.iter().map(|label| label.name.as_str()).collect();
    assert_eq!(carried, ["Bug"]);
    let labels: Vec<(String, String, String, i64)> = issues
        .labels()
        .await
        .unwrap()
        .into_iter()
        .map(|label| (label.name, label.color, label.description, label.issue_count))
        .collect();
    let label = |name: &str, color: &str, description: &str, count: i64| {
        (name.to_string(), color.to_string(), description.to_string(), count)
    };
    assert_eq!(
        labels,
        [
            label("Bug", "#d73a4a", "Something is broken", 1),
            label("UX", "#0075ca", "", 0)
        ]
    );
    let history = issues.events(login.id, None, 50).await.unwrap();
    let kinds: Vec<&str> = history.events.iter().map(|event| event.kind.as_str()).collect();
    assert_eq!(kinds, ["created", "status", "priority", "due", "label_added"]);
    let due = &history.events[3];
    assert_eq!(
        (due.old_value.as_deref(), due.new_value.as_deref()),
        (None, Some("2027-01-31"))
    );
    assert_eq!((due.actor_sub.as_str(), due.at), ("emily-sub", T0 + 8_000));

    let typo = board
        .page
        .issues
        .iter()
        .find(|issue| issue.title == "Typo on the board")
        .unwrap();
    // The deleted comment keeps its place, not its count.
    assert_eq!(typo.comment_count, 2);
    let mut thread = issues.comments(typo.id, None, 20).await.unwrap().comments;
    issues.attach_revisions(&mut thread).await.unwrap();
    // Each comment's body, when edited, when deleted, and who hid it.
    type State<'a> = (&'a str, Option<i64>, Option<i64>, Option<&'a str>);
    let states: Vec<State> = thread
        .iter()
        .map(|comment| {
            let hidden_by = comment.hidden_by_name.as_deref();
            (comment.body.as_str(), comment.edited_at, comment.deleted_at, hidden_by)
        })
        .collect();
    assert_eq!(
        states,
        [
            (NAMING_EDITED, Some(T0 + 8_200), None, None),
            ("Lunch, anyone?", None, None, Some(EMILY)),
            ("", None, Some(T0 + 8_600), None),
        ]
    );
    let earlier: Vec<(&str, i64, &str)> = thread[0]
        .revisions
        .iter()
        .map(|revision| {
            (
                revision.body.as_str(),
                revision.replaced_at,
                revision.editor_name.as_str(),
            )
        })
        .collect();
    assert_eq!(earlier, [(NAMING, T0 + 8_200, EMILY)]);
    // Mentioned in its description and a comment: once on Zed's home page.
    let mentioned = issues.my_work("ZZ-top").await.unwrap().mentioned;
    let titles: Vec<&str> = mentioned.issues.iter().map(|issue| issue.title.as_str()).collect();
    assert_eq!((mentioned.count, titles), (1, vec!["Typo on the board"]));
}

#[tokio::test]
async fn an_export_imported_into_a_fresh_database_exports_again_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let (source, _source_lock) = sqlite(&dir, "source.db").await;
    a_team(&source).await;
    let first = exported(&source, true).await;

    let (copy, _copy_lock) = sqlite(&dir, "copy.db").await;
    let counts = imported(&copy, &first, false).await.unwrap();
    assert_eq!(
        counts,
        Counts {
            issues: 3,
            comments: 6,
            comment_revisions: 1,
            mentions: 3,
            people: 3,
            labels: 2,
            issue_labels: 1,
            issue_events: 12,
            audit_events: 1
        }
    );
    assert_eq!(
        counts.to_string(),
        "3 issues, 6 comments, 1 comment revision, 3 mentions, 3 people, 2 labels, 1 label on an issue, \
         12 issue events, 1 audit event"
    );
    assert_eq!(exported(&copy, true).await, first);
    assert_the_copy_works(&copy).await;
    // Every issue's history and thread (earlier bodies too), the deleted one's too, as the app
    // reads them.
    for issue in 1..=3 {
        assert_eq!(
            Issues::new(copy.clone()).events(issue, None, 50).await.unwrap(),
            Issues::new(source.clone()).events(issue, None, 50).await.unwrap(),
            "issue {issue}"
        );
        assert_eq!(
            Issues::new(copy.clone()).comments(issue, None, 50).await.unwrap(),
            Issues::new(source.clone()).comments(issue, None, 50).await.unwrap(),
            "issue {issue}"
        );
    }

    let lines: Vec<Value> = first.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(lines[0]["kind"], "issues-app-export");
    assert_eq!(lines[0]["version"], 1);
    assert!(!lines[0]["migrations"].as_array().unwrap().is_empty(), "{}", lines[0]);
    let kinds: Vec<&str> = lines[1..].iter().map(|line| line["kind"].as_str().unwrap()).collect();
    // Parents before the rows referring to them: comments' earlier bodies after the comments,
    // mentions after the issues, labels on issues after the issues and the labels, issues'
    // histories after the issues.
    let runs: [&[&str]; 9] = [
        &["issue"; 3],
        &["comment"; 6],
        &["comment_revision"],
        &["mention"; 3],
        &["person"; 3],
        &["label"; 2],
        &["issue_label"],
        &["issue_event"; 12],
        &["audit_event"],
    ];
    assert_eq!(kinds, runs.concat());
    // The deleted issue too, with every column; times as stored (milliseconds).
    let spam = &lines[3];
    assert_eq!(spam["title"], "Spam");
    assert_eq!(spam["deleted_at"], T0 + 7_000);
    assert_eq!(spam["created_at"], T0 + 2_000);
    assert_eq!(spam["assignee_sub"], Value::Null);
    // Comments as they became, with every column: edited (its earlier body a revision), hidden,
    // deleted (its words gone, its place kept); and who is mentioned where, by issue, comment (0:
    // the description), then `sub` in byte order.
    let comments = records(&lines, "comment");
    assert_eq!(comments[0]["edited_at"], Value::Null);
    assert_eq!(
        *comments[3],
        json!({"kind": "comment", "id": 4, "issue_id": 2, "body": NAMING_EDITED, "author_sub": "emily-sub",
               "author_name": EMILY, "created_at": T0 + 8_100, "edited_at": T0 + 8_200, "deleted_at": null,
               "hidden_by_name": null, "hidden_by_sub": null})
    );
    assert_eq!(
        (
            comments[4]["hidden_by_name"].as_str(),
            comments[4]["hidden_by_sub"].as_str(),
            comments[4]["deleted_at"].as_i64()
        ),
        (Some(EMILY), Some("emily-sub"), None)
    );
    assert_eq!(
        (comments[5]["body"].as_str(), comments[5]["deleted_at"].as_i64()),
        (Some(""), Some(T0 + 8_600))
    );
    assert_eq!(
        *records(&lines, "comment_revision")[0],
        json!({"kind": "comment_revision", "id": 1, "comment_id": 4, "body": NAMING, "replaced_at": T0 + 8_200,
               "editor_name": EMILY})
    );
    let mentions: Vec<(i64, i64, &str, i64)> = records(&lines, "mention")
        .into_iter()
        .map(|line| {
            let int = |field: &str| line[field].as_i64().unwrap();
            (
                int("issue_id"),
                int("comment_id"),
                line["sub"].as_str().unwrap(),
                int("at"),
            )
        })
        .collect();
    assert_eq!(
        mentions,
        [
            (2, 0, "ZZ-top", T0 + 1_000),
            (2, 4, "ZZ-top", T0 + 8_100),
            (2, 4, "john-sub", T0 + 8_100)
        ]
    );
    // People in byte order of `sub`, whatever the database's collation.
    let subs: Vec<&str> = records(&lines, "person")
        .into_iter()
        .map(|line| line["sub"].as_str().unwrap())
        .collect();
    assert_eq!(subs, ["ZZ-top", "emily-sub", "john-sub"]);
    // Triage as stored: the priority's rank (0: none) and the due date; the labels with their
    // names as compared; which issue carries which label; each issue's history, ids kept.
    assert_eq!(lines[1]["priority"], 3);
    assert_eq!(lines[1]["due_date"], "2027-01-31");
    assert_eq!(lines[2]["priority"], 0);
    assert_eq!(lines[2]["due_date"], Value::Null);
    let labels = records(&lines, "label");
    assert_eq!(
        *labels[0],
        json!({"kind": "label", "id": 1, "name": "Bug", "name_key": "bug", "color": "#d73a4a",
               "description": "Something is broken", "created_at": T0 + 7_500})
    );
    assert_eq!(labels[1]["name_key"], "ux");
    assert_eq!(
        *records(&lines, "issue_label")[0],
        json!({"kind": "issue_label", "issue_id": 1, "label_id": 1})
    );
    let events = records(&lines, "issue_event");
    let history: Vec<(i64, &str)> = events
        .iter()
        .map(|line| (line["issue_id"].as_i64().unwrap(), line["event"].as_str().unwrap()))
        .collect();
    assert_eq!(
        history,
        [
            (1, "created"),
            (2, "created"),
            (3, "created"),
            (1, "status"),
            (2, "assignee"),
            (3, "deleted"),
            (1, "priority"),
            (1, "due"),
            (1, "label_added"),
            (2, "comment_edited"),
            (2, "comment_hidden"),
            (2, "comment_deleted")
        ]
    );
    assert_eq!(
        *events[8],
        json!({"kind": "issue_event", "id": 9, "issue_id": 1, "event": "label_added", "old_value": null,
               "new_value": "Bug", "actor_sub": "emily-sub", "actor_name": "Émily \"E\" Brontë",
               "at": T0 + 8_000})
    );
    for secret in [
        "secret-session-id",
        "secret-jti",
        "secret-sign-in",
        "secret-sealed-tokens",
    ] {
        assert!(!first.contains(secret), "{secret} was exported");
    }
    // Sign-in state stays behind.
    assert_eq!(count(&copy, "sessions").await, 0);
    assert_eq!(count(&copy, "sign_ins").await, 0);

    // Without the audit trail unless asked; issues' histories always.
    let without = exported(&source, false).await;
    assert!(!without.contains("audit_event"));
    assert!(without.contains(r#"{"kind":"issue_event","id":9,"#), "{without}");
    assert_eq!(without.lines().count(), lines.len() - 1);
}

/// Tables longer than a page (`transfer::PAGE_ROWS` rows) are read whole, page after page: the
/// labels after an id, the labels on issues after a key of two columns, the mentions after a key
/// of two integers and a text.
#[tokio::test]
async fn tables_longer_than_a_page_move_whole() {
    let dir = tempfile::tempdir().unwrap();
    let (source, _source_lock) = sqlite(&dir, "source.db").await;
    let issues = Issues::new(source.clone());
    let john = viewer("john-sub", "John Doe");
    for (title, at) in [("First", T0), ("Second", T0 + 1_000)] {
        issues
            .create(&NewIssue::parse(title, "").unwrap(), &john, at)
            .await
            .unwrap();
    }
    // A page and one more of labels, each on both issues: two pages of labels, three of labels on
    // issues; and as many people each mentioned in both descriptions, whose `sub`s (`person 1`,
    // `person 10`, `person 100`, …) a page ends amid.
    let many = transfer::PAGE_ROWS + 1;
    issues_app::on_db!(&source, |pool| {
        sqlx::query(
            "WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $2) \
             INSERT INTO labels (name, name_key, color, description, created_at) \
             SELECT 'label ' || i, 'label ' || i, '#ffffff', '', $1 FROM n",
        )
        .bind(T0)
        .bind(many)
        .execute(pool)
        .await
        .unwrap();
        sqlx::query("INSERT INTO issue_labels (issue_id, label_id) SELECT issues.id, labels.id FROM issues, labels")
            .execute(pool)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO mentions (issue_id, comment_id, sub, at) \
             SELECT issues.id, 0, 'person ' || labels.id, $1 FROM issues, labels",
        )
        .bind(T0)
        .execute(pool)
        .await
        .unwrap();
    });
    let first = exported(&source, false).await;

    let (copy, _copy_lock) = sqlite(&dir, "copy.db").await;
    let counts = imported(&copy, &first, false).await.unwrap();
    let many = many as u64;
    assert_eq!(
        (counts.labels, counts.issue_labels, counts.mentions, counts.issue_events),
        (many, 2 * many, 2 * many, 2)
    );
    assert_eq!(exported(&copy, false).await, first);
    let pairs: Vec<(i64, i64)> = first
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|line| line["kind"] == "issue_label")
        .map(|line| (line["issue_id"].as_i64().unwrap(), line["label_id"].as_i64().unwrap()))
        .collect();
    let mut ordered = pairs.clone();
    ordered.sort();
    ordered.dedup();
    assert_eq!(pairs.len() as u64, 2 * many);
    assert_eq!(pairs, ordered);
    let mentions: Vec<(i64, i64, String)> = first
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|line| line["kind"] == "mention")
        .map(|line| {
            let int = |field: &str| line[field].as_i64().unwrap();
            (
                int("issue_id"),
                int("comment_id"),
                line["sub"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut ordered = mentions.clone();
    ordered.sort();
    ordered.dedup();
    assert_eq!(mentions.len() as u64, 2 * many);
    assert_eq!(mentions, ordered);
}

/// An export made before triage and comment edits (issues without `priority` or `due_date`,
/// comments without `edited_at`, `deleted_at` or `hidden_by_name`; no labels, no histories, no
/// comments' revisions, no mentions) still imports: no priority, no due date, no labels, no
/// comment edited, deleted or hidden.
#[tokio::test]
async fn an_export_made_before_triage_and_comment_edits_still_imports() {
    let dir = tempfile::tempdir().unwrap();
    let export = exported_team(&dir, false).await;
    let newer = ["label", "issue_label", "issue_event", "comment_revision", "mention"];
    let older: String = export
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|line| !newer.iter().any(|kind| line["kind"] == *kind))
        .map(|mut line| {
            let comment = line["kind"] == "comment";
            let fields = line.as_object_mut().unwrap();
            fields.remove("priority");
            fields.remove("due_date");
            if comment {
                for field in ["edited_at", "deleted_at", "hidden_by_name", "hidden_by_sub"] {
                    fields.remove(field);
                }
            }
            format!("{line}\n")
        })
        .collect();
    for field in ["priority", "due_date", "edited_at", "hidden_by_name", "hidden_by_sub"] {
        assert!(!older.contains(&format!("\"{field}\"")), "{field}: {older}");
    }

    let (copy, _copy_lock) = sqlite(&dir, "copy.db").await;
    let counts = imported(&copy, &older, false).await.unwrap();
    assert_eq!(
        (counts.issues, counts.comments, counts.labels, counts.issue_events),
        (3, 6, 0, 0)
    );
    assert_eq!((counts.comment_revisions, counts.mentions), (0, 0));
    let login = Issues::new(copy.clone()).get(1).await.unwrap().unwrap();
    assert_eq!(
        (login.priority, login.due, login.labels),
        (Priority::None, None, Vec::new())
    );
    let thread = Issues::new(copy.clone()).comments(2, None, 20).await.unwrap().comments;
    assert_eq!(thread.len(), 3);
    assert!(
        thread.iter().all(|comment| comment.edited_at.is_none()
            && comment.deleted_at.is_none()
            && comment.hidden_by_name.is_none()
            && comment.revisions.is_empty()),
        "{thread:?}"
    );
}

#[tokio::test]
async fn new_issues_after_an_import_get_fresh_ids() {
    let dir = tempfile::tempdir().unwrap();
    let export = exported_team(&dir, true).await;
    let (copy, _copy_lock) = sqlite(&dir, "copy.db").await;
    imported(&copy, &export, false).await.unwrap();
    let next = issue_after_the_move(&copy).await;
    assert_eq!(next.id, 4);
}

#[tokio::test]
async fn a_database_that_has_a_team_is_refused_unless_merging() {
    let dir = tempfile::tempdir().unwrap();
    let export = exported_team(&dir, false).await;

    let (target, _target_lock) = sqlite(&dir, "target.db").await;
    People::new(target.clone())
        .seen("zoe-sub", "Zoe", T0 / 1000)
        .await
        .unwrap();
    let refused = imported(&target, &export, false).await.unwrap_err();
    assert!(matches!(refused, TransferError::NotEmpty), "{refused}");
    assert!(refused.to_string().contains("--into-non-empty"), "{refused}");
    assert_eq!(count(&target, "issues").await, 0);

    let counts = imported(&target, &export, true).await.unwrap();
    assert_eq!(counts.issues, 3);
    assert_eq!(count(&target, "people").await, 4);
    assert_the_copy_works(&target).await;

    // Ids are kept: the same issues again are refused, naming the first one's line.
    let again = imported(&target, &export, true).await.unwrap_err();
    assert!(
        matches!(&again, TransferError::Line { line: 2, message } if message.contains("issue 1")),
        "{again}"
    );
    assert_eq!(count(&target, "issues").await, 3);

    // Labels alone are a team's too.
    let (labelled, _labelled_lock) = sqlite(&dir, "labelled.db").await;
    define(&Issues::new(labelled.clone()), "Bug", "#d73a4a", "", T0).await;
    let refused = imported(&labelled, &export, false).await.unwrap_err();
    assert!(matches!(refused, TransferError::NotEmpty), "{refused}");
    assert_eq!(count(&labelled, "issues").await, 0);
}

#[tokio::test]
async fn a_damaged_line_is_named_and_nothing_of_its_batch_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let export = exported_team(&dir, false).await;
    let lines: Vec<&str> = export.lines().collect();

    // Cut short: not JSON.
    let mut damaged = lines.clone();
    damaged[4] = r#"{"kind":"comment","id":1,"issue_id":"#;
    let (first, _first_lock) = sqlite(&dir, "first.db").await;
    let error = imported(&first, &(damaged.join("\n") + "\n"), false).await.unwrap_err();
    assert!(matches!(error, TransferError::Line { line: 5, .. }), "{error}");
    assert!(error.to_string().starts_with("line 5: "), "{error}");
    assert_eq!(count(&first, "issues").await, 0);

    // Valid JSON the database refuses: a comment on an issue that is nowhere. The issues before
    // it in the same batch are not written either.
    let orphan =
        r#"{"kind":"comment","id":99,"issue_id":99,"body":"orphan","author_sub":"x","author_name":"X","created_at":1}"#;
    let mut refused = lines.clone();
    refused.insert(4, orphan);
    let (second, _second_lock) = sqlite(&dir, "second.db").await;
    let error = imported(&second, &(refused.join("\n") + "\n"), false)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, TransferError::Line { line: 5, message } if message.contains("comment 99")),
        "{error}"
    );
    assert_eq!(count(&second, "issues").await, 0);
    assert_eq!(count(&second, "comments").await, 0);

    // A field this version does not know is refused, not dropped.
    let extended = lines[2].replacen("{", r#"{"milestone":"1.0","#, 1);
    let mut unknown = lines.clone();
    unknown[2] = &extended;
    let (third, _third_lock) = sqlite(&dir, "third.db").await;
    let error = imported(&third, &(unknown.join("\n") + "\n"), false).await.unwrap_err();
    assert!(
        matches!(&error, TransferError::Line { line: 3, message } if message.contains("milestone")),
        "{error}"
    );
}

#[tokio::test]
async fn only_an_export_of_this_format_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _lock) = sqlite(&dir, "issues.db").await;
    for (input, expected) in [
        ("", "not an issues-app export"),
        ("id,title\n1,Login fails\n", "not an issues-app export"),
        (r#"{"kind":"issue","id":1}"#, "not an issues-app export"),
        (
            r#"{"kind":"issues-app-export","version":2,"migrations":[]}"#,
            "format version 2",
        ),
    ] {
        let error = imported(&db, input, false).await.unwrap_err();
        assert!(error.to_string().contains(expected), "{input:?}: {error}");
    }
    let header_only = r#"{"kind":"issues-app-export","version":1,"migrations":[]}"#;
    assert_eq!(imported(&db, header_only, false).await.unwrap(), Counts::default());
}

/// Run by the test command's PostgreSQL pass (`scripts/with-postgres`, feature `postgres-tests`).
#[cfg(feature = "postgres-tests")]
#[tokio::test]
async fn sqlite_to_postgres_exports_again_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let first = exported_team(&dir, true).await;

    let url = crate::harness::fresh_database_url()
        .await
        .expect("ISSUES_APP_TEST_POSTGRES_URL: run under scripts/with-postgres");
    let (postgres, _) = Db::connect(&DatabaseUrl::parse(&url).unwrap(), 2).await.unwrap();
    postgres.migrate().await.unwrap();
    imported(&postgres, &first, false).await.unwrap();
    assert_eq!(exported(&postgres, true).await, first);
    assert_the_copy_works(&postgres).await;

    // The id generators go on after the imported ids.
    let next = issue_after_the_move(&postgres).await;
    assert_eq!(next.id, 4);
    let comment = Issues::new(postgres.clone())
        .add_comment(next.id, "First here.", &viewer("john-sub", "John Doe"), T0 + 9_500)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(comment.id, 7);
    // Labels' too, issues' histories' (the new issue's first event) and comments' revisions'
    // (an edit stores one after the imported one).
    let label = define(&Issues::new(postgres.clone()), "Docs", "#0075ca", "", T0 + 9_600).await;
    assert_eq!(label.id, 3);
    let history = Issues::new(postgres.clone()).events(next.id, None, 10).await.unwrap();
    assert_eq!(history.events[0].id, 13);
    let (issues, john) = (Issues::new(postgres.clone()), viewer("john-sub", "John Doe"));
    let edit = CommentEdit::Body("First here, again.");
    change_a_comment(&issues, next.id, comment.id, edit, &john, T0 + 9_700).await;
    assert_eq!(count(&postgres, "comment_revisions").await, 2);
}

/// A database that has run (and so recorded a sign-in, say) takes an export's audit trail: the
/// events are numbered by the database that imports them, after its own.
#[tokio::test]
async fn the_audit_trail_goes_into_a_database_that_has_recorded_events() {
    let dir = tempfile::tempdir().unwrap();
    let export = exported_team(&dir, true).await;

    let (target, _target_lock) = sqlite(&dir, "target.db").await;
    AuditTrail::new(target.clone())
        .record(Event::new(EventKind::SignIn))
        .await;
    let counts = imported(&target, &export, false).await.unwrap();
    assert_eq!(counts.audit_events, 1);
    assert_eq!(count(&target, "audit_events").await, 2);
    assert_eq!(count(&target, "issues").await, 3);
}
