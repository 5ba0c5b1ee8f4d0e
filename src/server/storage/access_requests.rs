//! Requests for access (`access_requests`): asked by a refused person, answered by an admin.
//! One open request per person and action (asking again replaces its reason), at most
//! [`ACCESS_REQUESTS_PER_DAY`] asks a day per person.

use crate::model::{ACCESS_REQUESTS_PER_DAY, AccessRequest, RequestState};
use crate::on_db;
use crate::server::storage::db::Db;

/// What a refused person asks for.
pub struct NewRequest<'a> {
    pub sub: &'a str,
    pub name: &'a str,
    /// `access::Permission::name`.
    pub action: &'a str,
    pub scopes: &'a [String],
    pub roles: &'a [String],
    pub reason: &'a str,
}

/// How an ask went.
#[derive(Debug, PartialEq, Eq)]
pub enum Asked {
    /// The open request's id (new, or the one asked before with its reason replaced).
    Open(i64),
    /// The person asked [`ACCESS_REQUESTS_PER_DAY`] times in the last day.
    TooMany,
}

/// How an answer went.
#[derive(Debug, PartialEq, Eq)]
pub enum Answered {
    Done,
    /// Answered before (by someone else, or twice).
    AlreadyAnswered,
    Missing,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    sub: String,
    name: String,
    permission: String,
    scopes: String,
    roles: String,
    reason: String,
    state: String,
    note: String,
    decided_by: Option<String>,
    created_at: i64,
    decided_at: Option<i64>,
}

impl Row {
    fn request(self) -> AccessRequest {
        AccessRequest {
            id: self.id,
            sub: self.sub,
            name: self.name,
            action: self.permission,
            scopes: self.scopes.split_whitespace().map(str::to_string).collect(),
            // Written by `ask` as JSON; a row it cannot read names no roles.
            roles: serde_json::from_str(&self.roles).unwrap_or_default(),
            reason: self.reason,
            state: RequestState::parse(&self.state).unwrap_or(RequestState::Open),
            note: self.note,
            decided_by: self.decided_by,
            created_at: self.created_at,
            decided_at: self.decided_at,
        }
    }
}

#[derive(Clone)]
pub struct AccessRequests {
    db: Db,
}

impl AccessRequests {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Records `request` at `now` (ms), unless its person asked too often in the last day.
    pub async fn ask(&self, request: NewRequest<'_>, now: i64) -> Result<Asked, sqlx::Error> {
        let day_ago = now - 24 * 60 * 60 * 1000;
        let asked: i64 = on_db!(&self.db, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM access_requests WHERE sub = $1 AND created_at >= $2"
        )
        .bind(request.sub)
        .bind(day_ago)
        .fetch_one(pool)
        .await)?;
        // Changing the reason of a request still open is not asking again.
        let open: i64 = on_db!(&self.db, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM access_requests WHERE sub = $1 AND permission = $2 AND state = 'open'"
        )
        .bind(request.sub)
        .bind(request.action)
        .fetch_one(pool)
        .await)?;
        if asked >= ACCESS_REQUESTS_PER_DAY && open == 0 {
            return Ok(Asked::TooMany);
        }
        let roles = serde_json::to_string(request.roles).unwrap_or_else(|_| "[]".into());
        let id: i64 = on_db!(&self.db, |pool| sqlx::query_scalar(
            "INSERT INTO access_requests (sub, name, permission, scopes, roles, reason, state, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'open', $7) \
             ON CONFLICT (sub, permission) WHERE state = 'open' DO UPDATE SET \
             name = excluded.name, scopes = excluded.scopes, roles = excluded.roles, reason = excluded.reason \
             RETURNING id"
        )
        .bind(request.sub)
        .bind(request.name)
        .bind(request.action)
        .bind(request.scopes.join(" "))
        .bind(&roles)
        .bind(request.reason)
        .bind(now)
        .fetch_one(pool)
        .await)?;
        Ok(Asked::Open(id))
    }

    /// Answers open request `id` as `state` (granted or declined) with `note`, by `by` (a name).
    pub async fn answer(
        &self,
        id: i64,
        state: RequestState,
        note: &str,
        by: &str,
        now: i64,
    ) -> Result<Answered, sqlx::Error> {
        let done = on_db!(&self.db, |pool| sqlx::query(
            "UPDATE access_requests SET state = $2, note = $3, decided_by = $4, decided_at = $5 \
             WHERE id = $1 AND state = 'open'"
        )
        .bind(id)
        .bind(state.name())
        .bind(note)
        .bind(by)
        .bind(now)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        if done == 1 {
            return Ok(Answered::Done);
        }
        Ok(match self.get(id).await? {
            Some(_) => Answered::AlreadyAnswered,
            None => Answered::Missing,
        })
    }

    pub async fn get(&self, id: i64) -> Result<Option<AccessRequest>, sqlx::Error> {
        let row: Option<Row> = on_db!(&self.db, |pool| sqlx::query_as(
            "SELECT id, sub, name, permission, scopes, roles, reason, state, note, decided_by, created_at, \
             decided_at FROM access_requests WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(pool)
        .await)?;
        Ok(row.map(Row::request))
    }

    /// The open requests, the longest waiting first (at most `limit`).
    pub async fn open(&self, limit: i64) -> Result<Vec<AccessRequest>, sqlx::Error> {
        let rows: Vec<Row> = on_db!(&self.db, |pool| sqlx::query_as(
            "SELECT id, sub, name, permission, scopes, roles, reason, state, note, decided_by, created_at, \
             decided_at FROM access_requests WHERE state = 'open' ORDER BY created_at ASC, id ASC LIMIT $1"
        )
        .bind(limit)
        .fetch_all(pool)
        .await)?;
        Ok(rows.into_iter().map(Row::request).collect())
    }

    /// The answered requests, the newest answer first (at most `limit`).
    pub async fn answered(&self, limit: i64) -> Result<Vec<AccessRequest>, sqlx::Error> {
        let rows: Vec<Row> = on_db!(&self.db, |pool| sqlx::query_as(
            "SELECT id, sub, name, permission, scopes, roles, reason, state, note, decided_by, created_at, \
             decided_at FROM access_requests WHERE state <> 'open' ORDER BY decided_at DESC, id DESC LIMIT $1"
        )
        .bind(limit)
        .fetch_all(pool)
        .await)?;
        Ok(rows.into_iter().map(Row::request).collect())
    }

    /// `sub`'s requests, newest first (at most `limit`).
    pub async fn of(&self, sub: &str, limit: i64) -> Result<Vec<AccessRequest>, sqlx::Error> {
        let rows: Vec<Row> = on_db!(&self.db, |pool| sqlx::query_as(
            "SELECT id, sub, name, permission, scopes, roles, reason, state, note, decided_by, created_at, \
             decided_at FROM access_requests WHERE sub = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
        )
        .bind(sub)
        .bind(limit)
        .fetch_all(pool)
        .await)?;
        Ok(rows.into_iter().map(Row::request).collect())
    }
}
