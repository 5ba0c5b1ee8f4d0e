//! What the tracker does once a caller is allowed (the server functions and the REST API
//! decide that first, with `access::require`): validate, then store and record in the audit
//! trail as one transaction ([`Issues::write`]: the change is kept with its audit rows or not
//! at all, whether or not the caller waits for the answer). One error type for both front
//! doors, which map it to their own.

use crate::access::Viewer;
use crate::model::{
    CLOSED, Comment, FieldErrors, Issue, IssueChange, LABELS_PER_ISSUE_MAX, Label, LabelEdit, LabelInput, NewIssue,
    description_problem, label_key, parse_comment, parse_due, title_problem,
};
use crate::server::storage::audit::{self, AuditTrail, Door, EventKind};
use crate::server::storage::issues::{self, Changed, CommentChanged, CommentEdit, Issues, Redefined};
use crate::server::storage::people::People;
use crate::server::storage::tx::Tx;
use crate::server::support::{clock, markdown};

#[derive(Debug)]
pub enum TrackerError {
    NotFound,
    LabelNotFound,
    /// No such comment on that issue (or it was deleted).
    CommentNotFound,
    /// Only a comment's author may edit or delete it: the line saying so.
    NotAuthor(String),
    /// A label of that name exists already.
    Conflict(String),
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

/// The caller as a write's audit rows name them, owned: the write runs on its own task.
struct Recorded {
    audit: AuditTrail,
    viewer: Viewer,
    via: Door,
    request_id: Option<String>,
}

impl Recorded {
    /// Records `kind` about `detail` in the write's transaction `tx`.
    async fn record(&self, tx: &mut Tx, kind: EventKind, detail: String) -> Result<(), sqlx::Error> {
        let event = audit::Event {
            actor: Some(&self.viewer),
            via: Some(self.via),
            detail: Some(detail),
            request_id: self.request_id.as_deref(),
            ..audit::Event::new(kind)
        };
        self.audit.record_in(tx, event).await
    }
}

/// What a change or a delete came to, as the tracker answers it.
fn done(changed: Changed) -> Result<Issue, TrackerError> {
    match changed {
        Changed::Done(issue) => Ok(issue),
        Changed::NotFound => Err(TrackerError::NotFound),
        Changed::Stale(current) => Err(TrackerError::Stale(Box::new(current))),
    }
}

/// The audit events of `change`, made to `issue` (as it is now).
fn change_events(change: &IssueChange, issue: &Issue) -> Vec<(EventKind, String)> {
    let what = format!("issue {}", issue.id);
    let mut events = Vec::new();
    if change.title.is_some() || change.description.is_some() {
        events.push((EventKind::IssueEdited, what.clone()));
    }
    match change.status {
        Some(CLOSED) => events.push((EventKind::IssueClosed, what.clone())),
        Some(_) => events.push((EventKind::IssueReopened, what.clone())),
        None => {}
    }
    if change.assignee.is_some() {
        let to = issue.assignee_name.as_deref().unwrap_or("no one");
        events.push((EventKind::IssueAssigned, format!("{what} to {to}")));
    }
    if change.labels.is_some() || change.priority.is_some() || change.due.is_some() {
        events.push((EventKind::IssueTriaged, what));
    }
    events
}

// Each write's steps in its transaction: the change, then its audit rows.

async fn create_recorded(
    tx: &mut Tx,
    by: &Recorded,
    issue: &NewIssue,
    labels: &[String],
    mentioned: &[String],
    author: &Viewer,
) -> Result<Issue, sqlx::Error> {
    let now = clock::now_millis();
    let created = issues::create(tx, issue, labels, author, now).await?;
    if !mentioned.is_empty() {
        issues::record_mentions(tx, created.id, 0, mentioned, now).await?;
    }
    by.record(tx, EventKind::IssueCreated, format!("issue {}", created.id))
        .await?;
    Ok(created)
}

async fn change_recorded(
    tx: &mut Tx,
    by: &Recorded,
    id: i64,
    change: &IssueChange,
    assignee_name: Option<String>,
    expected: Option<i64>,
    mentioned: Option<&[String]>,
) -> Result<Changed, sqlx::Error> {
    let now = clock::now_millis();
    let changed = issues::change(tx, id, change, assignee_name, expected, &by.viewer, now).await?;
    if let Changed::Done(issue) = &changed {
        if let Some(mentioned) = mentioned {
            issues::record_mentions(tx, id, 0, mentioned, now).await?;
        }
        for (kind, detail) in change_events(change, issue) {
            by.record(tx, kind, detail).await?;
        }
    }
    Ok(changed)
}

async fn delete_recorded(tx: &mut Tx, by: &Recorded, id: i64, expected: Option<i64>) -> Result<Changed, sqlx::Error> {
    let deleted = issues::delete(tx, id, expected, &by.viewer, clock::now_millis()).await?;
    if matches!(deleted, Changed::Done(_)) {
        by.record(tx, EventKind::IssueDeleted, format!("issue {id}")).await?;
    }
    Ok(deleted)
}

async fn comment_recorded(
    tx: &mut Tx,
    by: &Recorded,
    issue_id: i64,
    body: &str,
    mentioned: &[String],
    author: &Viewer,
) -> Result<Option<Comment>, sqlx::Error> {
    let Some(comment) = issues::add_comment(tx, issue_id, body, author, clock::now_millis()).await? else {
        return Ok(None);
    };
    if !mentioned.is_empty() {
        issues::record_mentions(tx, issue_id, comment.id, mentioned, clock::now_millis()).await?;
    }
    let detail = format!("issue {issue_id}, comment {}", comment.id);
    by.record(tx, EventKind::CommentAdded, detail).await?;
    Ok(Some(comment))
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

    /// `caller`, owned and named as people know them (see [`Tracker::named`]), for a write's
    /// history and audit rows.
    async fn recorded(&self, caller: &Caller<'_>) -> Result<Recorded, sqlx::Error> {
        Ok(Recorded {
            audit: self.audit.clone(),
            viewer: self.named(caller.viewer).await?,
            via: caller.via,
            request_id: caller.request_id.map(str::to_string),
        })
    }

    /// Creates an issue carrying the labels named `labels` (a template's): names no label has
    /// are skipped, not refused (config.json may name a label before anyone defines it).
    pub async fn create(
        &self,
        caller: &Caller<'_>,
        title: &str,
        description: &str,
        labels: &[String],
    ) -> Result<Issue, TrackerError> {
        let issue = NewIssue::parse(title, description).map_err(TrackerError::Invalid)?;
        if labels.len() > LABELS_PER_ISSUE_MAX {
            return Err(TrackerError::Invalid(FieldErrors {
                labels: Some(format!("An issue carries at most {LABELS_PER_ISSUE_MAX} labels.")),
                ..FieldErrors::default()
            }));
        }
        let labels = labels.to_vec();
        let mentioned = self.mentioned(&issue.description).await?;
        let by = self.recorded(caller).await?;
        let author = by.viewer.clone();
        let created = self
            .issues
            .write(move |tx| {
                Box::pin(async move { create_recorded(tx, &by, &issue, &labels, &mentioned, &author).await })
            })
            .await?;
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
            // A client-credentials token is the application itself: its subject is its client id.
            None if viewer.client_id.as_deref() == Some(viewer.sub.as_str()) => Viewer {
                name: application_name(&viewer.sub),
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
        if let Some(Some(due)) = &mut change.due {
            match parse_due(due) {
                Ok(day) => *due = day,
                Err(problem) => problems.due = Some(problem),
            }
        }
        if let Some(edit) = &change.labels {
            problems.labels = self.unknown_labels(edit).await?;
        }
        if change.is_empty() {
            problems.title = Some("Nothing to change.".into());
        }
        if !problems.is_empty() {
            return Err(TrackerError::Invalid(problems));
        }
        let mentioned = match &change.description {
            Some(description) => Some(self.mentioned(description).await?),
            None => None,
        };
        let by = self.recorded(caller).await?;
        let changed = self
            .issues
            .write(move |tx| {
                Box::pin(async move {
                    let mentioned = mentioned.as_deref();
                    change_recorded(tx, &by, id, &change, assignee_name, expected, mentioned).await
                })
            })
            .await?;
        done(changed)
    }

    /// What is wrong with the labels `edit` names: a name no label has, or too many.
    async fn unknown_labels(&self, edit: &LabelEdit) -> Result<Option<String>, sqlx::Error> {
        let (LabelEdit::Set(names) | LabelEdit::Add(names) | LabelEdit::Remove(names)) = edit;
        if names.len() > LABELS_PER_ISSUE_MAX {
            return Ok(Some(format!("An issue carries at most {LABELS_PER_ISSUE_MAX} labels.")));
        }
        let defined = self.issues.label_names().await?;
        let unknown: Vec<&str> = names
            .iter()
            .filter(|name| !defined.iter().any(|label| label_key(&label.name) == label_key(name)))
            .map(String::as_str)
            .collect();
        Ok(match unknown.as_slice() {
            [] => None,
            [name] => Some(format!("No label is named `{name}`.")),
            names => Some(format!("No labels are named {}.", names.join(", "))),
        })
    }

    /// Defines a label (its name is one label however it is capitalised).
    pub async fn define_label(
        &self,
        caller: &Caller<'_>,
        name: &str,
        color: &str,
        description: &str,
    ) -> Result<Label, TrackerError> {
        let label = LabelInput::parse(name, color, description).map_err(label_problem)?;
        let by = self.recorded(caller).await?;
        let defined = self
            .issues
            .write(move |tx| {
                Box::pin(async move {
                    let defined = issues::define_label(tx, &label, clock::now_millis()).await?;
                    if let Some(defined) = &defined {
                        by.record(
                            tx,
                            EventKind::LabelDefined,
                            format!("label {} `{}`", defined.id, defined.name),
                        )
                        .await?;
                    }
                    Ok(defined)
                })
            })
            .await?;
        defined.ok_or_else(|| TrackerError::Conflict(format!("A label named `{}` exists already.", name.trim())))
    }

    /// Redefines label `id`: its name, colour and description.
    pub async fn redefine_label(
        &self,
        caller: &Caller<'_>,
        id: i64,
        name: &str,
        color: &str,
        description: &str,
    ) -> Result<Label, TrackerError> {
        let label = LabelInput::parse(name, color, description).map_err(label_problem)?;
        let by = self.recorded(caller).await?;
        let redefined = self
            .issues
            .write(move |tx| {
                Box::pin(async move {
                    let redefined = issues::redefine_label(tx, id, &label).await?;
                    if let Redefined::Done(label) = &redefined {
                        by.record(tx, EventKind::LabelChanged, format!("label {id} `{}`", label.name))
                            .await?;
                    }
                    Ok(redefined)
                })
            })
            .await?;
        match redefined {
            Redefined::Done(label) => Ok(label),
            Redefined::NotFound => Err(TrackerError::LabelNotFound),
            Redefined::NameTaken => Err(TrackerError::Conflict(format!(
                "Another label is named `{}`.",
                name.trim()
            ))),
        }
    }

    /// Deletes label `id`, taking it off every issue.
    pub async fn delete_label(&self, caller: &Caller<'_>, id: i64) -> Result<(), TrackerError> {
        let by = self.recorded(caller).await?;
        let deleted = self
            .issues
            .write(move |tx| {
                Box::pin(async move {
                    let deleted = issues::delete_label(tx, id).await?;
                    if deleted {
                        by.record(tx, EventKind::LabelDeleted, format!("label {id}")).await?;
                    }
                    Ok(deleted)
                })
            })
            .await?;
        deleted.then_some(()).ok_or(TrackerError::LabelNotFound)
    }

    /// Restores deleted issue `id` (before it is erased after `DeletedRetentionDays`).
    pub async fn restore(&self, caller: &Caller<'_>, id: i64) -> Result<Issue, TrackerError> {
        let by = self.recorded(caller).await?;
        let restored = self
            .issues
            .write(move |tx| {
                Box::pin(async move {
                    let restored = issues::restore(tx, id, &by.viewer, clock::now_millis()).await?;
                    if restored.is_some() {
                        by.record(tx, EventKind::IssueRestored, format!("issue {id}")).await?;
                    }
                    Ok(restored)
                })
            })
            .await?;
        restored.ok_or(TrackerError::NotFound)
    }

    /// Soft-deletes issue `id` (made from version `expected`, when given).
    pub async fn delete(&self, caller: &Caller<'_>, id: i64, expected: Option<i64>) -> Result<(), TrackerError> {
        let by = self.recorded(caller).await?;
        let deleted = self
            .issues
            .write(move |tx| Box::pin(async move { delete_recorded(tx, &by, id, expected).await }))
            .await?;
        done(deleted).map(drop)
    }

    pub async fn comment(&self, caller: &Caller<'_>, issue_id: i64, body: &str) -> Result<Comment, TrackerError> {
        let body = parse_comment(body).map_err(|problem| {
            TrackerError::Invalid(FieldErrors {
                body: Some(problem),
                ..FieldErrors::default()
            })
        })?;
        let by = self.recorded(caller).await?;
        let author = by.viewer.clone();
        let mentioned = self.mentioned(&body).await?;
        let comment = self
            .issues
            .write(move |tx| {
                Box::pin(async move { comment_recorded(tx, &by, issue_id, &body, &mentioned, &author).await })
            })
            .await?;
        comment.ok_or(TrackerError::NotFound)
    }

    /// Who `text` mentions: people who have signed in, by name (see `support::markdown`).
    async fn mentioned(&self, text: &str) -> Result<Vec<String>, sqlx::Error> {
        if !text.contains('@') {
            return Ok(Vec::new());
        }
        let people = self.people.list().await?;
        Ok(markdown::mentioned(text, &markdown::Names::new(&people)))
    }

    /// Changes comment `comment_id` of issue `issue_id`: its author edits its body or deletes
    /// it; someone who may edit issues hides or shows it (the caller decided which, with
    /// `access::require`). Recorded in the issue's history and the audit trail.
    pub async fn change_comment(
        &self,
        caller: &Caller<'_>,
        issue_id: i64,
        comment_id: i64,
        change: CommentChange,
    ) -> Result<Comment, TrackerError> {
        let (body, kind) = match &change {
            CommentChange::Body(body) => (
                Some(parse_comment(body).map_err(|problem| {
                    TrackerError::Invalid(FieldErrors {
                        body: Some(problem),
                        ..FieldErrors::default()
                    })
                })?),
                EventKind::CommentEdited,
            ),
            CommentChange::Delete => (None, EventKind::CommentDeleted),
            CommentChange::Hide(true) => (None, EventKind::CommentHidden),
            CommentChange::Hide(false) => (None, EventKind::CommentShown),
        };
        let mentioned = match &body {
            Some(body) => self.mentioned(body).await?,
            None => Vec::new(),
        };
        let by = self.recorded(caller).await?;
        let changed = self
            .issues
            .write(move |tx| {
                Box::pin(async move {
                    let now = clock::now_millis();
                    let edit = match (&change, &body) {
                        (CommentChange::Body(_), Some(body)) => CommentEdit::Body(body),
                        (CommentChange::Hide(hide), _) => CommentEdit::Hide(*hide),
                        _ => CommentEdit::Delete,
                    };
                    let changed = issues::change_comment(tx, issue_id, comment_id, edit, &by.viewer, now).await?;
                    if let CommentChanged::Done(_) = &changed {
                        if body.is_some() {
                            issues::record_mentions(tx, issue_id, comment_id, &mentioned, now).await?;
                        }
                        by.record(tx, kind, format!("issue {issue_id}, comment {comment_id}"))
                            .await?;
                    }
                    Ok(changed)
                })
            })
            .await?;
        match changed {
            CommentChanged::Done(comment) | CommentChanged::Unchanged(comment) => Ok(comment),
            CommentChanged::NotFound => Err(TrackerError::CommentNotFound),
            CommentChanged::NotAuthor => Err(TrackerError::NotAuthor(
                "Only its author may edit or delete a comment.".into(),
            )),
        }
    }
}

/// What a comment may become (see [`Tracker::change_comment`]).
#[derive(Debug, Clone)]
pub enum CommentChange {
    Body(String),
    Delete,
    Hide(bool),
}

/// How an application acting for itself is shown where a person's name would be.
fn application_name(client_id: &str) -> String {
    format!("{client_id} (application)")
}

fn label_problem(problem: String) -> TrackerError {
    TrackerError::Invalid(FieldErrors {
        label: Some(problem),
        ..FieldErrors::default()
    })
}
