//! Upgrading keeps what was there: the first release's database takes every later migration
//! with its data intact; the sessions the previous release kept in tower-sessions-sqlx-store's
//! table move to the app's own, so nobody is signed out by it; a database a newer build wrote is
//! refused.

use issues_app::server::ops::check::{Report, check};
use issues_app::server::ops::config::{Config, Overrides};
use issues_app::server::startup::Application;
use issues_app::server::storage::database_url::DatabaseUrl;
use issues_app::server::storage::db::{Db, newer_database};
use sqlx::types::time::OffsetDateTime;
use std::time::Duration;

use crate::harness::{Options, TestApp};

/// Two sessions as the previous release stored them: one live, one expired.
fn previous_sessions() -> [(&'static str, Vec<u8>, OffsetDateTime); 2] {
    let now = OffsetDateTime::now_utc();
    [
        (
            "live-session",
            vec![0x81, 0xa2, b'i', b'd', 1],
            now + Duration::from_secs(30 * 60),
        ),
        (
            "ended-session",
            vec![0x81, 0xa2, b'i', b'd', 2],
            now - Duration::from_secs(60),
        ),
    ]
}

async fn moved_sessions(db: &Db) -> Vec<(String, Vec<u8>, i64)> {
    let query = "SELECT id, data, expiry_date FROM sessions ORDER BY id";
    issues_app::on_db!(db, |pool| sqlx::query_as(query).fetch_all(pool).await).unwrap()
}

fn assert_only_the_live_one_moved(moved: &[(String, Vec<u8>, i64)]) {
    let [(id, data, expiry)] = moved else {
        panic!("expected exactly the live session to move over, got {moved:?}");
    };
    let (live_id, live_data, live_expiry) = &previous_sessions()[0];
    assert_eq!(id, live_id);
    assert_eq!(data, live_data, "the record moves as it was encoded");
    // Whole seconds, rounded up: never earlier than the deadline it had.
    let deadline = live_expiry.unix_timestamp();
    assert!((deadline..=deadline + 1).contains(expiry), "{expiry} vs {deadline}");
}

#[tokio::test]
async fn live_sessions_of_the_previous_release_survive_the_upgrade_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("issues.db").display());
    {
        // As tower-sessions-sqlx-store 0.15 created and wrote its table.
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        sqlx::query(
            "create table if not exists tower_sessions \
             (id text primary key not null, data blob not null, expiry_date integer not null)",
        )
        .execute(&pool)
        .await
        .unwrap();
        for (id, data, expiry) in previous_sessions() {
            sqlx::query("insert into tower_sessions (id, data, expiry_date) values (?, ?, ?)")
                .bind(id)
                .bind(data)
                .bind(expiry)
                .execute(&pool)
                .await
                .unwrap();
        }
        pool.close().await;
    }
    let (db, _writer) = Db::connect(&DatabaseUrl::parse(&url).unwrap(), 2).await.unwrap();
    db.migrate().await.unwrap();
    assert_only_the_live_one_moved(&moved_sessions(&db).await);
}

/// Run by the test command's PostgreSQL pass (`scripts/with-postgres`, feature `postgres-tests`).
#[cfg(feature = "postgres-tests")]
#[tokio::test]
async fn live_sessions_of_the_previous_release_survive_the_upgrade_on_postgres() {
    let url = crate::harness::fresh_database_url()
        .await
        .expect("ISSUES_APP_TEST_POSTGRES_URL: run under scripts/with-postgres");
    {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        sqlx::query(r#"create schema if not exists "tower_sessions""#)
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query(
            r#"create table if not exists "tower_sessions"."session"
               (id text primary key not null, data bytea not null, expiry_date timestamptz not null)"#,
        )
        .execute(&pool)
        .await
        .unwrap();
        for (id, data, expiry) in previous_sessions() {
            sqlx::query(r#"insert into "tower_sessions"."session" (id, data, expiry_date) values ($1, $2, $3)"#)
                .bind(id)
                .bind(data)
                .bind(expiry)
                .execute(&pool)
                .await
                .unwrap();
        }
        pool.close().await;
    }
    let (db, _) = Db::connect(&DatabaseUrl::parse(&url).unwrap(), 2).await.unwrap();
    db.migrate().await.unwrap();
    assert_only_the_live_one_moved(&moved_sessions(&db).await);
}

/// The first release's schema (its one migration) with data as that release wrote it, then this
/// build on it: every later migration applies, nothing is lost, `check` says what it applied.
async fn the_first_release_s_database_upgrades(url: String) {
    let database_url = DatabaseUrl::parse(&url).unwrap();
    let backend = if database_url.is_sqlite() { "sqlite" } else { "postgres" };
    let mut first_release = sqlx::migrate::Migrator::new(std::path::Path::new(&format!("migrations/{backend}")))
        .await
        .unwrap();
    let released = first_release.migrations.len();
    first_release.migrations = first_release.migrations[..1].to_vec().into();
    {
        let (db, _writer) = Db::connect(&database_url, 1).await.unwrap();
        issues_app::on_db!(&db, |pool| first_release.run(pool).await).unwrap();
        for (title, author, at) in [
            ("Printer jams", "John Manager", 1_763_800_000_000_i64),
            ("VPN drops", "Emily Employee", 1_763_800_500_000),
        ] {
            issues_app::on_db!(&db, |pool| sqlx::query(
                "INSERT INTO issues (title, description, author_sub, author_name, created_at) VALUES ($1, $2, $3, $4, $5)"
            )
            .bind(title)
            .bind(format!("{title}, since Monday"))
            .bind(author.to_lowercase().replace(' ', "-"))
            .bind(author)
            .bind(at)
            .execute(pool)
            .await
            .map(drop))
            .unwrap();
        }
        db.close().await;
    }
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("config.json");
    let mut config: serde_json::Value = serde_json::from_str(&crate::harness::config_json(
        "http://127.0.0.1:9/t/dev",
        "http://127.0.0.1:3000",
        dir.path(),
    ))
    .unwrap();
    config["Server"]["DatabaseUrl"] = serde_json::json!(url);
    std::fs::write(&config_path, config.to_string()).unwrap();
    let database_line = |report: &Report| {
        report
            .findings
            .iter()
            .filter(|finding| finding.area == "database")
            .map(|finding| format!("{:?} {}", finding.verdict, finding.message))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let before = check(&config_path, &Overrides::default()).await;
    assert!(
        database_line(&before).contains(&format!(
            "Ok migrations: 1 applied, {} to apply at start-up",
            released - 1
        )),
        "{before}"
    );

    let app = TestApp::spawn_with(Options {
        database_url: Some(url.clone()),
        ..Options::default()
    })
    .await;
    let kept = app
        .state
        .issues
        .get(1)
        .await
        .unwrap()
        .expect("the first release's issue 1");
    assert_eq!(
        (
            kept.title.as_str(),
            kept.description.as_str(),
            kept.author_name.as_str(),
            kept.created_at
        ),
        (
            "Printer jams",
            "Printer jams, since Monday",
            "John Manager",
            1_763_800_000_000
        )
    );
    assert_eq!(kept.status, "open", "open, as every issue was then");
    assert_eq!(app.issue_count().await, 2);
    // Checked as the running instance's own configuration (its address).
    let running = Overrides {
        listen: Some(app.base.trim_start_matches("http://").to_string()),
        ..Overrides::default()
    };
    let after = check(&config_path, &running).await;
    assert!(
        database_line(&after).contains(&format!("migrations: {released} applied, 0 to apply at start-up")),
        "{after}"
    );
    app.stop().await;

    // A database a newer build has written: refused, saying so.
    {
        let (db, _writer) = Db::connect(&database_url, 1).await.unwrap();
        issues_app::on_db!(&db, |pool| sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (29991231000001, 'from a newer build', TRUE, $1, 1)"
        )
        .bind(vec![0_u8; 48])
        .execute(pool)
        .await
        .map(drop))
        .unwrap();
        db.close().await;
    }
    let newer = check(&config_path, &Overrides::default()).await;
    assert!(
        database_line(&newer).contains(
            "Problem the database was written by a newer issues-app (migration 29991231000001 unknown to this build)"
        ),
        "{newer}"
    );
    let text = std::fs::read_to_string(&config_path).unwrap();
    let config = Config::parse(
        &text,
        &config_path,
        &Overrides {
            listen: Some("127.0.0.1:0".into()),
            ..Overrides::default()
        },
    )
    .unwrap();
    let refused = Application::build(config, crate::harness::leptos_options())
        .await
        .err()
        .expect("refused");
    assert_eq!(refused.to_string(), newer_database(&[29991231000001]));
}

#[tokio::test]
async fn the_first_release_s_database_upgrades_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    the_first_release_s_database_upgrades(format!("sqlite://{}", dir.path().join("issues.db").display())).await;
}

/// Run by the test command's PostgreSQL pass.
#[cfg(feature = "postgres-tests")]
#[tokio::test]
async fn the_first_release_s_database_upgrades_on_postgres() {
    let url = crate::harness::fresh_database_url()
        .await
        .expect("ISSUES_APP_TEST_POSTGRES_URL: run under scripts/with-postgres");
    the_first_release_s_database_upgrades(url).await;
}
