//! Writes without an audit row, for the development setup's sample issues and for tests; not in
//! a production build (cargo feature `dev-idp`). A person's change goes through `Tracker`, which
//! records it in the same transaction.

use super::Changed;
use super::{Issues, write};
use crate::access::Viewer;
use crate::model::{Comment, Issue, IssueChange, NewIssue};

impl Issues {
    pub async fn create(&self, issue: &NewIssue, author: &Viewer, now_ms: i64) -> Result<Issue, sqlx::Error> {
        let (issue, author) = (issue.clone(), author.clone());
        self.write(move |tx| Box::pin(async move { write::create(tx, &issue, &[], &author, now_ms).await }))
            .await
    }

    /// Applies `change` as `actor` made it from version `expected` (`None`: whatever the
    /// current version is). `assignee_name` names the person assigned, when it assigns.
    pub async fn change(
        &self,
        id: i64,
        change: &IssueChange,
        assignee_name: Option<String>,
        expected: Option<i64>,
        actor: &Viewer,
        now_ms: i64,
    ) -> Result<Changed, sqlx::Error> {
        let (what, actor) = (change.clone(), actor.clone());
        self.write(move |tx| {
            Box::pin(async move { write::change(tx, id, &what, assignee_name, expected, &actor, now_ms).await })
        })
        .await
    }

    /// Soft-deletes issue `id` (made from version `expected`, when given).
    pub async fn delete(
        &self,
        id: i64,
        expected: Option<i64>,
        actor: &Viewer,
        now_ms: i64,
    ) -> Result<Changed, sqlx::Error> {
        let actor = actor.clone();
        self.write(move |tx| Box::pin(async move { write::delete(tx, id, expected, &actor, now_ms).await }))
            .await
    }

    /// `None` when there is no such issue.
    pub async fn add_comment(
        &self,
        issue_id: i64,
        body: &str,
        author: &Viewer,
        now_ms: i64,
    ) -> Result<Option<Comment>, sqlx::Error> {
        let (body, author) = (body.to_string(), author.clone());
        self.write(move |tx| Box::pin(async move { write::add_comment(tx, issue_id, &body, &author, now_ms).await }))
            .await
    }
}
