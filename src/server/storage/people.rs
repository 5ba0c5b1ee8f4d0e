//! The people who have signed in (their `sub` and display name): whom an issue can be
//! assigned to. Kept from sign-ins; nothing else about them is stored.

use crate::model::Person;
use crate::on_db;
use crate::server::storage::db::Db;

/// At most this many people are offered (most recently seen first).
const PEOPLE_LISTED: i64 = 500;

#[derive(Clone)]
pub struct People {
    db: Db,
}

impl People {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Records that `sub` signed in as `name` (the newest name wins).
    pub async fn seen(&self, sub: &str, name: &str, now: i64) -> Result<(), sqlx::Error> {
        on_db!(&self.db, |pool| sqlx::query(
            "INSERT INTO people (sub, name, last_seen_at) VALUES ($1, $2, $3) \
             ON CONFLICT (sub) DO UPDATE SET name = excluded.name, last_seen_at = excluded.last_seen_at"
        )
        .bind(sub)
        .bind(name)
        .bind(now)
        .execute(pool)
        .await
        .map(drop))
    }

    /// `sub` signed in as `name`, with the address `email` (the ID token's) and `scopes`
    /// (space-separated) granted.
    pub async fn signed_in(
        &self,
        sub: &str,
        name: &str,
        email: Option<&str>,
        scopes: &str,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        on_db!(&self.db, |pool| sqlx::query(
            "INSERT INTO people (sub, name, last_seen_at, email, scopes) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (sub) DO UPDATE SET name = excluded.name, last_seen_at = excluded.last_seen_at, \
             email = excluded.email, scopes = excluded.scopes"
        )
        .bind(sub)
        .bind(name)
        .bind(now)
        .bind(email)
        .bind(scopes)
        .execute(pool)
        .await
        .map(drop))
    }

    /// How `sub` wants to be told by e-mail (`none`, `immediately`, `daily`) and the address
    /// they signed in with; `None` when they never signed in here.
    pub async fn mail_settings(&self, sub: &str) -> Result<Option<(String, Option<String>)>, sqlx::Error> {
        on_db!(&self.db, |pool| sqlx::query_as(
            "SELECT mail, email FROM people WHERE sub = $1"
        )
        .bind(sub)
        .fetch_optional(pool)
        .await)
    }

    /// Sets how `sub` wants to be told by e-mail; `false` when they never signed in here.
    pub async fn set_mail(&self, sub: &str, mail: crate::model::MailPreference) -> Result<bool, sqlx::Error> {
        on_db!(&self.db, |pool| sqlx::query(
            "UPDATE people SET mail = $2 WHERE sub = $1"
        )
        .bind(sub)
        .bind(mail.name())
        .execute(pool)
        .await
        .map(|done| done.rows_affected() == 1))
    }

    pub async fn find(&self, sub: &str) -> Result<Option<Person>, sqlx::Error> {
        on_db!(&self.db, |pool| sqlx::query_as(
            "SELECT sub, name FROM people WHERE sub = $1"
        )
        .bind(sub)
        .fetch_optional(pool)
        .await)
    }

    /// People by name.
    pub async fn list(&self) -> Result<Vec<Person>, sqlx::Error> {
        on_db!(&self.db, |pool| sqlx::query_as(
            "SELECT sub, name FROM (SELECT sub, name FROM people ORDER BY last_seen_at DESC LIMIT $1) AS recent \
             ORDER BY name, sub"
        )
        .bind(PEOPLE_LISTED)
        .fetch_all(pool)
        .await)
    }
}
