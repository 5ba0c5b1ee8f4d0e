//! The audit trail: a queryable record (not a log line) of sign-ins and their refusals,
//! sign-outs, refused authorizations and changes to issues, in the `audit_events` table of
//! whichever database the app uses. Recording ([`AuditTrail::record`]) never changes a
//! request's outcome: a failed write is logged. A change to issues is the exception: its rows
//! are written in the change's own transaction ([`AuditTrail::record_in`]), so the change is
//! not kept without them. A refusal repeated within a minute adds to its row's `repeats`
//! rather than a row per call: a caller with a valid token cannot fill the trail. Events
//! older than `Server.AuditRetentionDays` are purged.

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::access::{Permission, Viewer};
use crate::model::{AuditEntry, AuditPage};
use crate::server::storage::db::Db;
use crate::server::storage::sql::{Param, Sql, keyset_page};
use crate::server::storage::tx::Tx;
use crate::server::support::bounded_map::{BoundedMap, Replacement};
use crate::server::support::clock;
use crate::{bind_all, on_db, on_tx};

/// Events per page of the trail.
pub const AUDIT_PAGE_SIZE: i64 = 50;
/// Refusals whose row this minute is remembered, at most (see [`RefusalKey`]).
const REMEMBERED_REFUSALS: usize = 10_000;
const INSERT: &str = "INSERT INTO audit_events (at, request_id, event, outcome, actor_sub, actor_name, client_id, \
                      permission, missing_scopes, via, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

/// The kinds of event the trail records (stored by `name`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    SignIn,
    SignOut,
    SignOutSession,
    SignOutEverywhere,
    /// A call refused for a missing scope (allowed calls are counted in metrics, not audited).
    Authorization,
    IssueCreated,
    IssueEdited,
    IssueClosed,
    IssueReopened,
    IssueAssigned,
    IssueDeleted,
    CommentAdded,
    /// `issues-app forget-person`: a person's name replaced everywhere.
    PersonForgotten,
    /// Deleted issues erased after `Server.DeletedRetentionDays`.
    DeletedIssuesErased,
}

impl EventKind {
    /// The name stored in `audit_events.event` and shown to operators.
    pub fn name(self) -> &'static str {
        match self {
            Self::SignIn => "sign_in",
            Self::SignOut => "sign_out",
            Self::SignOutSession => "sign_out_session",
            Self::SignOutEverywhere => "sign_out_everywhere",
            Self::Authorization => "authorization",
            Self::IssueCreated => "issue_created",
            Self::IssueEdited => "issue_edited",
            Self::IssueClosed => "issue_closed",
            Self::IssueReopened => "issue_reopened",
            Self::IssueAssigned => "issue_assigned",
            Self::IssueDeleted => "issue_deleted",
            Self::CommentAdded => "comment_added",
            Self::PersonForgotten => "person_forgotten",
            Self::DeletedIssuesErased => "deleted_issues_erased",
        }
    }
}

/// The front door a call came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    /// The browser's sign-in routes and plain forms.
    Browser,
    /// A Leptos server function (the browser's API).
    ServerFunction,
    /// The bearer-token REST API.
    Rest,
}

impl Door {
    /// The name stored in `audit_events.via` and used as the metrics label.
    pub fn name(self) -> &'static str {
        match self {
            Self::Browser => "browser",
            Self::ServerFunction => "server_function",
            Self::Rest => "rest",
        }
    }
}

/// What happened, before it is stored.
#[derive(Debug)]
pub struct Event<'a> {
    pub event: EventKind,
    pub refused: bool,
    pub actor: Option<&'a Viewer>,
    pub permission: Option<Permission>,
    pub missing_scopes: Vec<&'a str>,
    pub via: Option<Door>,
    pub detail: Option<String>,
    pub request_id: Option<&'a str>,
}

impl<'a> Event<'a> {
    /// An event of `kind` with nothing else said yet.
    pub fn new(event: EventKind) -> Self {
        Self {
            event,
            refused: false,
            actor: None,
            permission: None,
            missing_scopes: Vec::new(),
            via: None,
            detail: None,
            request_id: None,
        }
    }
}

/// Which events to show.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    /// A user's `sub` or name.
    pub who: Option<String>,
    /// `ok` or `refused`.
    pub outcome: Option<String>,
}

/// The `INSERT` of `event` as it happened at `at` (Unix seconds).
fn insert(event: &Event<'_>, at: i64) -> Sql {
    let missing = (!event.missing_scopes.is_empty()).then(|| event.missing_scopes.join(" "));
    let outcome = if event.refused { "refused" } else { "ok" };
    Sql {
        text: INSERT.to_string(),
        params: vec![
            Param::Int(at),
            Param::OptText(event.request_id.map(str::to_string)),
            Param::Text(event.event.name().to_string()),
            Param::Text(outcome.to_string()),
            Param::OptText(event.actor.map(|viewer| viewer.sub.clone())),
            Param::OptText(event.actor.map(|viewer| viewer.name.clone())),
            Param::OptText(event.actor.and_then(|viewer| viewer.client_id.clone())),
            Param::OptText(event.permission.map(|permission| permission.name().to_string())),
            Param::OptText(missing),
            Param::OptText(event.via.map(|via| via.name().to_string())),
            Param::OptText(event.detail.clone()),
        ],
    }
}

/// What makes refusals the same one repeated: the event, who (none when nobody signed in) and
/// what was refused (the permission, or why a sign-in was).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct RefusalKey {
    event: &'static str,
    actor_sub: Option<String>,
    what: Option<String>,
}

impl RefusalKey {
    fn of(event: &Event<'_>) -> Self {
        Self {
            event: event.event.name(),
            actor_sub: event.actor.map(|viewer| viewer.sub.clone()),
            what: match event.permission {
                Some(permission) => Some(permission.name().to_string()),
                None => event.detail.clone(),
            },
        }
    }
}

/// The row a refusal went to, and in which minute (Unix seconds / 60).
#[derive(Debug, Clone, Copy)]
struct RefusalRow {
    minute: i64,
    id: i64,
}

/// Cheap to clone: the clones share the refusals remembered.
#[derive(Clone)]
pub struct AuditTrail {
    db: Db,
    /// This minute's row of each refusal recorded in it, so a repeat adds to that row. When
    /// full, rows of earlier minutes go first. (Per process: with several instances each has
    /// its own row per minute.)
    refusals: Arc<Mutex<BoundedMap<RefusalKey, RefusalRow>>>,
}

impl AuditTrail {
    pub fn new(db: Db) -> Self {
        Self {
            db,
            refusals: Arc::new(Mutex::new(BoundedMap::new(REMEMBERED_REFUSALS, Replacement::Free))),
        }
    }

    /// Stores `event`; a failure is logged, not passed on. Boxed: a query's future is large,
    /// and the callers' futures (every server function and REST call, recorded or not) would
    /// otherwise carry it; moving them cost ~20,000 instructions per request.
    pub fn record<'a>(&'a self, event: Event<'a>) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(self.store(event))
    }

    /// Stores `event` in `tx`, kept or undone with the rest of the transaction (a change to
    /// issues and its rows: neither without the other). A failure is the caller's, and undoes
    /// the transaction. Never coalesced: one row per call.
    pub async fn record_in(&self, tx: &mut Tx, event: Event<'_>) -> Result<(), sqlx::Error> {
        let sql = insert(&event, clock::now());
        on_tx!(tx, |conn| bind_all!(sqlx::query(&sql.text), sql)
            .execute(conn)
            .await
            .map(drop))
    }

    async fn store(&self, event: Event<'_>) {
        let stored = match event.refused {
            true => self.store_refusal(&event).await,
            false => {
                let sql = insert(&event, clock::now());
                on_db!(&self.db, |pool| bind_all!(sqlx::query(&sql.text), sql)
                    .execute(pool)
                    .await
                    .map(drop))
            }
        };
        if let Err(error) = stored {
            tracing::error!(%error, event = event.event.name(), "could not record an audit event");
        }
    }

    /// A refusal: one row per [`RefusalKey`] and minute, its `repeats` counting the calls. (Two
    /// first refusals of a key racing may each insert a row; the later is the one added to.)
    async fn store_refusal(&self, event: &Event<'_>) -> Result<(), sqlx::Error> {
        let now = clock::now();
        let minute = now.div_euclid(60);
        let key = RefusalKey::of(event);
        let known = self.remembered().get(&key).copied().filter(|row| row.minute == minute);
        if let Some(row) = known {
            let counted = on_db!(&self.db, |pool| sqlx::query(
                "UPDATE audit_events SET repeats = repeats + 1 WHERE id = $1"
            )
            .bind(row.id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
            if counted > 0 {
                return Ok(());
            }
            // Purged meanwhile: a row of its own again.
        }
        let mut sql = insert(event, now);
        sql.push(" RETURNING id");
        let id: i64 = on_db!(&self.db, |pool| bind_all!(sqlx::query_scalar(&sql.text), sql)
            .fetch_one(pool)
            .await)?;
        self.remembered()
            .insert(key, RefusalRow { minute, id }, |_, row| row.minute == minute);
        Ok(())
    }

    fn remembered(&self) -> MutexGuard<'_, BoundedMap<RefusalKey, RefusalRow>> {
        self.refusals.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A sign-out that ended `who`'s sign-in. (One that ended nothing is not recorded: anyone
    /// can send it.)
    pub async fn record_sign_out(&self, who: &Viewer, request_id: Option<&str>) {
        self.record(Event {
            actor: Some(who),
            via: Some(Door::Browser),
            request_id,
            ..Event::new(EventKind::SignOut)
        })
        .await;
    }

    /// A page of events, newest first; `before` continues from an earlier page.
    pub async fn page(&self, filter: &Filter, before: Option<i64>, limit: i64) -> Result<AuditPage, sqlx::Error> {
        let limit = limit.clamp(1, AUDIT_PAGE_SIZE);
        // "Who" as its own query, so each side of the OR uses its index (actor_sub, id) and
        // (actor_name, id) rather than a scan of the whole trail.
        let query = match filter.who {
            Some(_) => {
                "SELECT * FROM audit_events WHERE (actor_sub = $1 OR actor_name = $1) \
                   AND (CAST($2 AS TEXT) IS NULL OR outcome = $2) \
                   AND (CAST($3 AS BIGINT) IS NULL OR id < $3) \
                 ORDER BY id DESC LIMIT $4"
            }
            None => {
                "SELECT * FROM audit_events WHERE (CAST($1 AS TEXT) IS NULL) \
                   AND (CAST($2 AS TEXT) IS NULL OR outcome = $2) \
                   AND (CAST($3 AS BIGINT) IS NULL OR id < $3) \
                 ORDER BY id DESC LIMIT $4"
            }
        };
        let mut events: Vec<AuditEntry> = on_db!(&self.db, |pool| sqlx::query_as(query)
            .bind(filter.who.as_deref())
            .bind(filter.outcome.as_deref())
            .bind(before)
            .bind(limit + 1)
            .fetch_all(pool)
            .await)?;
        let next_before = keyset_page(&mut events, limit, |event| event.id);
        Ok(AuditPage { events, next_before })
    }

    /// Removes events recorded before `before` (Unix seconds); how many.
    pub async fn purge(&self, before: i64) -> Result<u64, sqlx::Error> {
        // In rounds: a long backlog never holds the writer (or a big transaction) for long.
        const ROUND: i64 = 5_000;
        let mut purged = 0;
        loop {
            let round = on_db!(&self.db, |pool| sqlx::query(
                "DELETE FROM audit_events WHERE id IN \
                 (SELECT id FROM audit_events WHERE at < $1 ORDER BY id LIMIT $2)"
            )
            .bind(before)
            .bind(ROUND)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
            purged += round;
            if round < ROUND as u64 {
                return Ok(purged);
            }
        }
    }
}
