//! What the tracker does once a caller is allowed (the server functions and the REST API
//! decide that first, with `access::require`): validate, store, record in the audit trail.
//! One error type for both front doors, which map it to their own.

use crate::access::Viewer;
use crate::model::{
    Comment, FieldErrors, Issue, IssueChange, NewIssue, description_problem, parse_comment, title_problem,
};
use crate::server::storage::audit::{self, AuditTrail, Door, EventKind};
use crate::server::storage::issues::{Changed, Issues};
use crate::server::storage::people::People;
use crate::server::support::clock;

#[derive(Debug)]
pub enum TrackerError {
    NotFound,
    /// Changed since the caller's version: the issue as it is now.
    Stale(Box<Issue>),
    Invalid(FieldErrors),
    Database(sqlx::Error),
}

impl From<sqlx::Error> for TrackerError {
    fn from(error: sqlx::Error) -> Self {
        Self::Database(error)
    }
}

/// Who asked, and through which door (for the audit trail).
pub struct Caller<'a> {
    pub viewer: &'a Viewer,
    pub via: Door,
    pub request_id: Option<&'a str>,
}

/// The tracker's service: what both front doors call once `access::require` has allowed the
/// caller. It holds the stores it writes and the audit trail, nothing else of the app.
#[derive(Clone)]
pub struct Tracker {
    issues: Issues,
    people: People,
    audit: AuditTrail,
}

impl Tracker {
    pub fn new(issues: Issues, people: People, audit: AuditTrail) -> Self {
        Self { issues, people, audit }
    }

    async fn record(&self, caller: &Caller<'_>, kind: EventKind, detail: String) {
        self.audit
            .record(audit::Event {
                actor: Some(caller.viewer),
                via: Some(caller.via),
                detail: Some(detail),
                request_id: caller.request_id,
                ..audit::Event::new(kind)
            })
            .await;
    }

    pub async fn create(&self, caller: &Caller<'_>, title: &str, description: &str) -> Result<Issue, TrackerError> {
        let issue = NewIssue::parse(title, description).map_err(TrackerError::Invalid)?;
        let author = self.named(caller.viewer).await?;
        let created = self.issues.create(&issue, &author, clock::now_millis()).await?;
        self.record(caller, EventKind::IssueCreated, format!("issue {}", created.id))
            .await;
        Ok(created)
    }

    /// The caller as they are shown: a program's token names only its user's `sub`, so the name
    /// they signed in with, when they have.
    async fn named(&self, viewer: &Viewer) -> Result<Viewer, sqlx::Error> {
        if viewer.name != viewer.sub {
            return Ok(viewer.clone());
        }
        Ok(match self.people.find(&viewer.sub).await? {
            Some(person) => Viewer {
                name: person.name,
                ..viewer.clone()
            },
            None => viewer.clone(),
        })
    }

    /// Applies `change` made from version `expected` (`None`: any). The assignee is a `sub` of
    /// someone who has signed in, or `me`.
    pub async fn change(
        &self,
        caller: &Caller<'_>,
        id: i64,
        mut change: IssueChange,
        expected: Option<i64>,
    ) -> Result<Issue, TrackerError> {
        let mut problems = FieldErrors::default();
        if let Some(title) = &mut change.title {
            problems.title = title_problem(title);
            *title = title.trim().to_string();
        }
        if let Some(description) = &mut change.description {
            problems.description = description_problem(description);
            *description = description.trim_end().to_string();
        }
        let assignee_name = match &mut change.assignee {
            Some(Some(sub)) if sub == "me" || *sub == caller.viewer.sub => {
                *sub = caller.viewer.sub.clone();
                // The name they signed in with; a program's token names only its user's sub.
                match self.people.find(sub).await? {
                    Some(person) => Some(person.name),
                    None => {
                        let viewer = caller.viewer;
                        self.people.seen(&viewer.sub, &viewer.name, clock::now()).await?;
                        Some(viewer.name.clone())
                    }
                }
            }
            Some(Some(sub)) if sub.chars().any(char::is_control) || sub.len() > 255 => {
                problems.assignee = Some("That is not a person's id.".into());
                None
            }
            Some(Some(sub)) => match self.people.find(sub).await? {
                Some(person) => Some(person.name),
                None => {
                    problems.assignee = Some("No one with that id has signed in here.".into());
                    None
                }
            },
            _ => None,
        };
        if change.is_empty() {
            problems.title = Some("Nothing to change.".into());
        }
        if !problems.is_empty() {
            return Err(TrackerError::Invalid(problems));
        }
        let issue = match self
            .issues
            .change(id, &change, assignee_name, expected, caller.viewer, clock::now_millis())
            .await?
        {
            Changed::Done(issue) => issue,
            Changed::NotFound => return Err(TrackerError::NotFound),
            Changed::Stale(current) => return Err(TrackerError::Stale(Box::new(current))),
        };
        let what = format!("issue {id}");
        if change.title.is_some() || change.description.is_some() {
            self.record(caller, EventKind::IssueEdited, what.clone()).await;
        }
        match change.status {
            Some(status) if status == crate::model::CLOSED => {
                self.record(caller, EventKind::IssueClosed, what.clone()).await
            }
            Some(_) => self.record(caller, EventKind::IssueReopened, what.clone()).await,
            None => {}
        }
        if change.assignee.is_some() {
            let to = issue.assignee_name.as_deref().unwrap_or("no one");
            self.record(caller, EventKind::IssueAssigned, format!("{what} to {to}"))
                .await;
        }
        Ok(issue)
    }

    /// Soft-deletes issue `id` (made from version `expected`, when given).
    pub async fn delete(&self, caller: &Caller<'_>, id: i64, expected: Option<i64>) -> Result<(), TrackerError> {
        match self.issues.delete(id, expected, clock::now_millis()).await? {
            Changed::Done(_) => {}
            Changed::NotFound => return Err(TrackerError::NotFound),
            Changed::Stale(current) => return Err(TrackerError::Stale(Box::new(current))),
        }
        self.record(caller, EventKind::IssueDeleted, format!("issue {id}"))
            .await;
        Ok(())
    }

    pub async fn comment(&self, caller: &Caller<'_>, issue_id: i64, body: &str) -> Result<Comment, TrackerError> {
        let body = parse_comment(body).map_err(|problem| {
            TrackerError::Invalid(FieldErrors {
                body: Some(problem),
                ..FieldErrors::default()
            })
        })?;
        let comment = self
            .issues
            .add_comment(issue_id, &body, &self.named(caller.viewer).await?, clock::now_millis())
            .await?
            .ok_or(TrackerError::NotFound)?;
        self.record(
            caller,
            EventKind::CommentAdded,
            format!("issue {issue_id}, comment {}", comment.id),
        )
        .await;
        Ok(comment)
    }
}
