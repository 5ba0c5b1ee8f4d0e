//! The audit trail: a queryable record (not a log line) of sign-ins and their refusals,
//! sign-outs, refused authorizations and changes to issues, in the `audit_events` table of
//! whichever database the app uses. Recording ([`AuditTrail::record`]) never changes a
//! request's outcome: a failed write is logged. A change to issues is the exception: its rows
//! are written in the change's own transaction ([`AuditTrail::record_in`]), so the change is
//! not kept without them. A refusal repeated within a minute adds to its row's `repeats`
//! rather than a row per call: a caller with a valid token cannot fill the trail. The database
//! does the adding (one upsert, `INSERT` below), so calls racing at the start of a minute, or
//! on several instances, share the row. Events older than `Server.AuditRetentionDays` are
//! purged. Reading the trail or the access review leaves a trace too, at most once an hour per
//! person and instance ([`AuditTrail::record_read`]): auditors see who looked, and the access
//! review sees the scope used.

use std::pin::Pin;
use std::sync::{Arc, Mutex};

use crate::access::{Permission, Viewer};
use crate::model::{AuditEntry, AuditPage};
use crate::server::storage::db::Db;
use crate::server::storage::sql::{Param, Sql, keyset_page};
use crate::server::storage::tx::Tx;
use crate::server::support::bounded_map::{BoundedMap, Replacement};
use crate::server::support::clock;
use crate::{bind_all, on_db, on_tx};

/// A person's reads of what one permission guards are recorded at most this often (seconds).
pub const READ_RECORDED_EVERY: i64 = 60 * 60;
/// Readers remembered per instance (when full, those read longer ago than an hour are forgotten).
const READERS_TRACKED: usize = 10_000;

/// Events per page of the trail.
pub const AUDIT_PAGE_SIZE: i64 = 50;
/// Every event, one statement. A refusal carries its minute, and meets that minute's row of the
/// same refusal (same event, caller, application, door, permission, missing scopes and reason)
/// in the partial unique index `audit_events_repeated` (migration 20261203000004): the database
/// adds to that row's `repeats` instead, atomically. The conflict target is the index's
/// expressions and predicate exactly, or neither backend finds the index. Every other event's
/// minute is NULL: outside the index, a row of its own.
const INSERT: &str = "INSERT INTO audit_events (at, request_id, event, outcome, actor_sub, actor_name, client_id, \
                      permission, missing_scopes, via, detail, minute) \
                      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                      ON CONFLICT (event, COALESCE(actor_sub, ''), COALESCE(client_id, ''), COALESCE(via, ''), \
                      COALESCE(permission, ''), COALESCE(missing_scopes, ''), COALESCE(detail, ''), minute) \
                      WHERE minute IS NOT NULL DO UPDATE SET repeats = audit_events.repeats + 1";

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
    IssueRestored,
    CommentAdded,
    CommentEdited,
    CommentDeleted,
    /// A comment hidden, or shown again, by someone who may edit issues.
    CommentHidden,
    CommentShown,
    /// An issue's labels, priority or due date changed.
    IssueTriaged,
    LabelDefined,
    LabelChanged,
    LabelDeleted,
    /// `issues-app forget-person`: a person's name replaced everywhere.
    PersonForgotten,
    /// Deleted issues erased after `Server.DeletedRetentionDays`.
    DeletedIssuesErased,
    /// A failed webhook delivery posted again, by an auditor.
    WebhookRedelivered,
    /// A refused person asked for an action's access.
    AccessRequested,
    /// An admin answered a request for access (granted or declined).
    AccessAnswered,
    /// Someone read the audit trail (or what it guards: webhook deliveries); at most hourly.
    AuditRead,
    /// Someone read the access review or its requests; at most hourly.
    AccessReviewed,
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
            Self::IssueRestored => "issue_restored",
            Self::CommentAdded => "comment_added",
            Self::CommentEdited => "comment_edited",
            Self::CommentDeleted => "comment_deleted",
            Self::CommentHidden => "comment_hidden",
            Self::CommentShown => "comment_shown",
            Self::IssueTriaged => "issue_triaged",
            Self::LabelDefined => "label_defined",
            Self::LabelChanged => "label_changed",
            Self::LabelDeleted => "label_deleted",
            Self::PersonForgotten => "person_forgotten",
            Self::DeletedIssuesErased => "deleted_issues_erased",
            Self::WebhookRedelivered => "webhook_redelivered",
            Self::AccessRequested => "access_requested",
            Self::AccessAnswered => "access_answered",
            Self::AuditRead => "audit_read",
            Self::AccessReviewed => "access_reviewed",
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
            // The minute a refusal is counted in (Unix seconds / 60).
            Param::OptInt(event.refused.then_some(at.div_euclid(60))),
        ],
    }
}

#[derive(Clone)]
pub struct AuditTrail {
    db: Db,
    /// Per reader and permission, when this instance last recorded a read.
    reads: Arc<Mutex<BoundedMap<(String, Permission), i64>>>,
}

impl AuditTrail {
    pub fn new(db: Db) -> Self {
        Self {
            db,
            reads: Arc::new(Mutex::new(BoundedMap::new(READERS_TRACKED, Replacement::Free))),
        }
    }

    /// `reader` was let read what `permission` guards. For the two permissions that only read
    /// (`audit:view`'s trail, the access review) a read is recorded, once an hour per reader:
    /// otherwise their use would leave no trace, and the review would call the scope unused.
    /// Any other permission records nothing (its changes are recorded as they happen).
    pub fn record_read<'a>(
        &'a self,
        reader: &'a Viewer,
        permission: Permission,
        via: Door,
    ) -> Option<Pin<Box<dyn Future<Output = ()> + Send + 'a>>> {
        let event = match permission {
            Permission::ViewAudit => EventKind::AuditRead,
            Permission::ReviewAccess => EventKind::AccessReviewed,
            _ => return None,
        };
        let now = clock::now();
        let recent = |at: &i64| now - *at < READ_RECORDED_EVERY;
        {
            let mut reads = self.reads.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let key = (reader.sub.clone(), permission);
            if reads.get(&key).is_some_and(recent) {
                return None;
            }
            reads.insert(key, now, |_, at| recent(at));
        }
        Some(self.record(Event {
            actor: Some(reader),
            permission: Some(permission),
            via: Some(via),
            ..Event::new(event)
        }))
    }

    /// Stores `event`; a failure is logged, not passed on. Boxed: a query's future is large,
    /// and the callers' futures (every server function and REST call, recorded or not) would
    /// otherwise carry it; moving them cost ~20,000 instructions per request.
    pub fn record<'a>(&'a self, event: Event<'a>) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(self.store(event))
    }

    /// Stores `event` in `tx`, kept or undone with the rest of the transaction (a change to
    /// issues and its rows: neither without the other). A failure is the caller's, and undoes
    /// the transaction. The same statement as [`AuditTrail::record`]'s: a refusal would be
    /// counted on its minute's row (none is recorded this way: only changes to issues are).
    pub async fn record_in(&self, tx: &mut Tx, event: Event<'_>) -> Result<(), sqlx::Error> {
        let sql = insert(&event, clock::now());
        on_tx!(tx, |conn| bind_all!(sqlx::query(&sql.text), sql)
            .execute(conn)
            .await
            .map(drop))
    }

    async fn store(&self, event: Event<'_>) {
        let sql = insert(&event, clock::now());
        let stored = on_db!(&self.db, |pool| bind_all!(sqlx::query(&sql.text), sql)
            .execute(pool)
            .await
            .map(drop));
        if let Err(error) = stored {
            tracing::error!(%error, event = event.event.name(), "could not record an audit event");
        }
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
    /// Per person and event, the newest time (Unix seconds) they did it since `since`: what the
    /// access review reads use from. Only what went through (`ok`).
    pub async fn last_done_since(&self, since: i64) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
        on_db!(&self.db, |pool| sqlx::query_as(
            "SELECT actor_sub, event, MAX(at) FROM audit_events \
             WHERE at >= $1 AND outcome = 'ok' AND actor_sub IS NOT NULL GROUP BY actor_sub, event"
        )
        .bind(since)
        .fetch_all(pool)
        .await)
    }

    /// Per person and action, how many calls were refused since `since` (repeats counted).
    pub async fn refusals_since(&self, since: i64) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
        on_db!(&self.db, |pool| sqlx::query_as(
            "SELECT actor_sub, permission, CAST(SUM(repeats) AS BIGINT) FROM audit_events \
             WHERE at >= $1 AND event = 'authorization' AND outcome = 'refused' \
             AND actor_sub IS NOT NULL AND permission IS NOT NULL GROUP BY actor_sub, permission"
        )
        .bind(since)
        .fetch_all(pool)
        .await)
    }

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
