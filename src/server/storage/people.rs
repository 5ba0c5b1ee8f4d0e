//! The people who have signed in (their `sub` and display name): whom an issue can be
//! assigned to. Kept from sign-ins; nothing else about them is stored.

use crate::model::Person;
use crate::on_db;
use crate::server::storage::db::Db;

/// At most this many people are offered (most recently seen first).
const PEOPLE_LISTED: i64 = 500;

/// Who signed in, as [`People::signed_in`] records them.
pub struct SignedIn<'a> {
    pub sub: &'a str,
    pub name: &'a str,
    pub email: Option<&'a str>,
    /// Space-separated, as granted.
    pub scopes: &'a str,
    pub roles: &'a [String],
}

/// Someone who signed in here, as the access review lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonSeen {
    pub sub: String,
    pub name: String,
    /// Unix seconds.
    pub last_seen_at: i64,
    pub seen: RolesSeen,
}

/// One person's roles and granted scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolesSeen {
    pub roles: Vec<String>,
    pub scopes: Vec<String>,
}

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

    /// `sub` signed in as `name`, with the address `email` (the ID token's), `scopes`
    /// (space-separated) granted and `roles` (the ID token's).
    pub async fn signed_in(&self, signed_in: SignedIn<'_>, now: i64) -> Result<(), sqlx::Error> {
        let roles = serde_json::to_string(signed_in.roles).unwrap_or_else(|_| "[]".into());
        on_db!(&self.db, |pool| sqlx::query(
            "INSERT INTO people (sub, name, last_seen_at, email, scopes, roles) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (sub) DO UPDATE SET name = excluded.name, last_seen_at = excluded.last_seen_at, \
             email = excluded.email, scopes = excluded.scopes, roles = excluded.roles"
        )
        .bind(signed_in.sub)
        .bind(signed_in.name)
        .bind(now)
        .bind(signed_in.email)
        .bind(signed_in.scopes)
        .bind(&roles)
        .execute(pool)
        .await
        .map(drop))
    }

    /// The roles `sub`'s newest sign-in carried; none when they never signed in here.
    pub async fn roles_of(&self, sub: &str) -> Result<Vec<String>, sqlx::Error> {
        let roles: Option<(String,)> = on_db!(&self.db, |pool| sqlx::query_as(
            "SELECT roles FROM people WHERE sub = $1"
        )
        .bind(sub)
        .fetch_optional(pool)
        .await)?;
        Ok(roles
            .and_then(|(roles,)| serde_json::from_str(&roles).ok())
            .unwrap_or_default())
    }

    /// Everyone who signed in here, the most recently seen first (at most `limit`): their
    /// subject, name, last sign-in (Unix seconds), granted scopes and roles. For the access
    /// review.
    pub async fn everyone(&self, limit: i64) -> Result<Vec<PersonSeen>, sqlx::Error> {
        let rows: Vec<(String, String, i64, String, String)> = on_db!(&self.db, |pool| sqlx::query_as(
            "SELECT sub, name, last_seen_at, scopes, roles FROM people ORDER BY last_seen_at DESC, sub LIMIT $1"
        )
        .bind(limit)
        .fetch_all(pool)
        .await)?;
        Ok(rows
            .into_iter()
            .map(|(sub, name, last_seen_at, scopes, roles)| PersonSeen {
                sub,
                name,
                last_seen_at,
                seen: RolesSeen {
                    roles: serde_json::from_str(&roles).unwrap_or_default(),
                    scopes: scopes.split_whitespace().map(str::to_string).collect(),
                },
            })
            .collect())
    }

    /// The roles and scopes of the people seen since `since`, the most recently seen first
    /// (at most `limit`): what the app learns which role grants which scope from.
    pub async fn roles_seen(&self, since: i64, limit: i64) -> Result<Vec<RolesSeen>, sqlx::Error> {
        let rows: Vec<(String, String)> = on_db!(&self.db, |pool| sqlx::query_as(
            "SELECT roles, scopes FROM people WHERE last_seen_at >= $1 AND roles <> '[]' \
             ORDER BY last_seen_at DESC LIMIT $2"
        )
        .bind(since)
        .bind(limit)
        .fetch_all(pool)
        .await)?;
        Ok(rows
            .into_iter()
            .map(|(roles, scopes)| RolesSeen {
                // Written by `signed_in`; a row it cannot read counts as no roles.
                roles: serde_json::from_str(&roles).unwrap_or_default(),
                scopes: scopes.split_whitespace().map(str::to_string).collect(),
            })
            .collect())
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
