//! Upgrading keeps what was there: the sessions the previous release kept in
//! tower-sessions-sqlx-store's table move to the app's own, so nobody is signed out by it.

use issues_app::server::storage::database_url::DatabaseUrl;
use issues_app::server::storage::db::Db;
use sqlx::types::time::OffsetDateTime;
use std::time::Duration;

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
