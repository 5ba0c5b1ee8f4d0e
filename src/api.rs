//! Server functions: the browser's API. Explicit, stable endpoints under `/api/`; each one
//! checks the session and the scope itself (see `server::functions`).

// A server function's arguments are its form fields: the board's filters are flat (a GET form
// and a bare POST both read as "no filter"), which the macro's generated code repeats.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;

use crate::access::SessionView;
use crate::error::AppError;
use crate::model::{AuditPage, Comment, CommentPage, Issue, IssueDetail, Profile, SessionDeadlines, SharedPage};

/// Who is signed in and what they may do, decided on the server.
#[server(prefix = "/api", endpoint = "session_info")]
pub async fn session_info() -> Result<SessionView, AppError> {
    crate::server::http::server_fns::session_info().await
}

/// One page of the board, newest first: `status` `open` (the default), `closed` or `all`;
/// `assignee` `anyone`, `me`, `unassigned` or a `sub`; `author` `me` or a `sub`; `q` words to
/// find; `label` names (comma separated, each carried), `priority`, `sort` (`newest`,
/// `oldest`, `updated`, `priority`, `due`); `cursor` (a page's `next_cursor`) or, newest first,
/// `before` continues from an earlier page.
#[server(prefix = "/api", endpoint = "list_issues", output = leptos::server_fn::codec::Post<crate::model::PageJson>)]
pub async fn list_issues(
    status: Option<String>,
    assignee: Option<String>,
    author: Option<String>,
    q: Option<String>,
    before: Option<i64>,
    label: Option<String>,
    priority: Option<String>,
    sort: Option<String>,
    cursor: Option<String>,
) -> Result<SharedPage, AppError> {
    let query = crate::model::BoardQuery {
        status,
        assignee,
        author,
        q,
        label,
        priority,
        sort,
        cursor,
    };
    crate::server::http::server_fns::list_issues(query, before).await
}

/// An issue with the first page of its comments (and whom it can be assigned to, for those
/// who may assign).
#[server(prefix = "/api", endpoint = "get_issue")]
pub async fn get_issue(id: i64) -> Result<IssueDetail, AppError> {
    crate::server::http::server_fns::get_issue(id).await
}

/// Issue `id`'s history, oldest first (its first 200 events). Needs the view scope.
#[server(prefix = "/api", endpoint = "list_issue_events")]
pub async fn list_issue_events(id: i64) -> Result<crate::model::EventPage, AppError> {
    crate::server::http::server_fns::list_issue_events(id).await
}

/// More of an issue's comments, oldest first, after comment `after`.
#[server(prefix = "/api", endpoint = "list_comments")]
pub async fn list_comments(issue: i64, after: Option<i64>) -> Result<CommentPage, AppError> {
    crate::server::http::server_fns::list_comments(issue, after).await
}

/// Creates an issue as the signed-in user. Needs the create scope. `labels`: names, comma
/// separated, put on it (a template's; names no label has are skipped): those no template
/// names need the edit scope as well.
#[server(prefix = "/api", endpoint = "create_issue")]
pub async fn create_issue(title: String, description: String, labels: Option<String>) -> Result<Issue, AppError> {
    crate::server::http::server_fns::create_issue(title, description, labels).await
}

/// Comments on issue `issue`. Needs the comment scope.
#[server(prefix = "/api", endpoint = "add_comment")]
pub async fn add_comment(issue: i64, body: String) -> Result<Comment, AppError> {
    crate::server::http::server_fns::add_comment(issue, body).await
}

/// Replaces the body of your comment `comment` on issue `issue` (its earlier body is kept in
/// its history). Needs the comment scope; only a comment's author may edit it.
#[server(prefix = "/api", endpoint = "edit_comment")]
pub async fn edit_comment(issue: i64, comment: i64, body: String) -> Result<Comment, AppError> {
    let change = crate::server::tracker::CommentChange::Body(body);
    crate::server::http::server_fns::change_comment(issue, comment, change).await
}

/// Deletes your comment `comment` on issue `issue` (its text is erased; the thread says a
/// comment was deleted). Needs the comment scope; only a comment's author may delete it.
#[server(prefix = "/api", endpoint = "delete_comment")]
pub async fn delete_comment(issue: i64, comment: i64) -> Result<Comment, AppError> {
    let change = crate::server::tracker::CommentChange::Delete;
    crate::server::http::server_fns::change_comment(issue, comment, change).await
}

/// Hides comment `comment` on issue `issue` (`hidden` false: shows it again). Needs the edit
/// scope.
#[server(prefix = "/api", endpoint = "hide_comment")]
pub async fn hide_comment(issue: i64, comment: i64, hidden: bool) -> Result<Comment, AppError> {
    let change = crate::server::tracker::CommentChange::Hide(hidden);
    crate::server::http::server_fns::change_comment(issue, comment, change).await
}

/// The names of the people who have signed in: whom a comment may mention. Needs the view
/// scope.
#[server(prefix = "/api", endpoint = "mention_names")]
pub async fn mention_names() -> Result<Vec<String>, AppError> {
    crate::server::http::server_fns::mention_names().await
}

/// `text` (Markdown) as the page would show it, sanitized. Needs the view scope.
#[server(prefix = "/api", endpoint = "preview_markdown")]
pub async fn preview_markdown(text: String) -> Result<String, AppError> {
    crate::server::http::server_fns::preview_markdown(text).await
}

/// Changes the title and description of issue `id` as the user saw it at `version`; a stale
/// version is refused with the current issue. Needs the edit scope.
#[server(prefix = "/api", endpoint = "edit_issue")]
pub async fn edit_issue(id: i64, version: i64, title: String, description: String) -> Result<Issue, AppError> {
    let change = crate::model::IssueChange {
        title: Some(title),
        description: Some(description),
        ..crate::model::IssueChange::default()
    };
    crate::server::http::server_fns::change_issue(id, version, change).await
}

/// Closes (`status` = `closed`) or reopens (`open`) issue `id`. Needs the close scope.
#[server(prefix = "/api", endpoint = "set_issue_status")]
pub async fn set_issue_status(id: i64, version: i64, status: String) -> Result<Issue, AppError> {
    let Some(status) = crate::model::parse_status(&status) else {
        return Err(AppError::BadRequest("the status is `open` or `closed`".into()));
    };
    let change = crate::model::IssueChange {
        status: Some(status),
        ..crate::model::IssueChange::default()
    };
    crate::server::http::server_fns::change_issue(id, version, change).await
}

/// Assigns issue `id` to `assignee` (the `sub` of someone who has signed in, or `me`); an empty
/// `assignee` unassigns it. Needs the assign scope.
#[server(prefix = "/api", endpoint = "assign_issue")]
pub async fn assign_issue(id: i64, version: i64, assignee: String) -> Result<Issue, AppError> {
    let change = crate::model::IssueChange {
        assignee: Some(Some(assignee).filter(|sub| !sub.is_empty())),
        ..crate::model::IssueChange::default()
    };
    crate::server::http::server_fns::change_issue(id, version, change).await
}

/// Sets issue `id`'s triage as the user saw it at `version`: `priority` (`none` … `urgent`),
/// `due` (`YYYY-MM-DD`, empty for none) and `labels` (names, comma separated: exactly these).
/// Only what differs is changed and recorded. Needs the edit scope.
#[server(prefix = "/api", endpoint = "set_issue_triage")]
pub async fn set_issue_triage(
    id: i64,
    version: i64,
    priority: String,
    due: String,
    labels: String,
) -> Result<Issue, AppError> {
    let Some(priority) = crate::model::Priority::parse(&priority) else {
        return Err(AppError::BadRequest(
            "the priority is none, low, medium, high or urgent".into(),
        ));
    };
    let names = labels
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_string)
        .collect();
    let change = crate::model::IssueChange {
        priority: Some(priority),
        due: Some(Some(due).filter(|day| !day.trim().is_empty())),
        labels: Some(crate::model::LabelEdit::Set(names)),
        ..crate::model::IssueChange::default()
    };
    crate::server::http::server_fns::change_issue(id, version, change).await
}

/// Every label, by name, with how many issues carry it. Needs the view scope.
#[server(prefix = "/api", endpoint = "list_labels")]
pub async fn list_labels() -> Result<Vec<crate::model::Label>, AppError> {
    crate::server::http::server_fns::list_labels().await
}

/// Defines a label (`color` `#rrggbb`). Needs the labels scope.
#[server(prefix = "/api", endpoint = "define_label")]
pub async fn define_label(name: String, color: String, description: String) -> Result<crate::model::Label, AppError> {
    crate::server::http::server_fns::define_label(name, color, description).await
}

/// Deletes label `id`, taking it off every issue. Needs the labels scope.
#[server(prefix = "/api", endpoint = "delete_label")]
pub async fn delete_label(id: i64) -> Result<(), AppError> {
    crate::server::http::server_fns::delete_label(id).await
}

/// Deletes issue `id` (a soft delete, recorded in the audit trail), then goes to the board.
/// Needs the delete scope.
#[server(prefix = "/api", endpoint = "delete_issue")]
pub async fn delete_issue(id: i64, version: i64) -> Result<(), AppError> {
    crate::server::http::server_fns::delete_issue(id, version).await
}

/// A page of the audit trail, newest first, filtered by who (`sub` or name) and outcome (`ok`,
/// `refused`). Needs the audit scope.
#[server(prefix = "/api", endpoint = "list_audit")]
pub async fn list_audit(
    who: Option<String>,
    outcome: Option<String>,
    before: Option<i64>,
) -> Result<AuditPage, AppError> {
    crate::server::http::server_fns::list_audit(who, outcome, before).await
}

/// Starts a sign-in that comes back to `return_to`: the browser goes to the identity provider
/// (a redirect for a plain form; the hydrated app follows it too). `prompt`: `none` refreshes
/// the access of a signed-in user without interaction (falling back to a normal sign-in when
/// the provider needs the user); `login` signs in as someone else.
#[server(prefix = "/api", endpoint = "sign_in")]
pub async fn sign_in(return_to: Option<String>, prompt: Option<String>) -> Result<(), AppError> {
    crate::server::http::server_fns::sign_in(return_to, prompt).await
}

/// Signs out here and at the identity provider (its end-session page, then home).
#[server(prefix = "/api", endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    crate::server::http::server_fns::sign_out().await
}

/// Who you are (the ID token's claims), what you were granted, when this session ends, and
/// every session of yours.
#[server(prefix = "/api", endpoint = "my_profile")]
pub async fn my_profile() -> Result<Profile, AppError> {
    crate::server::http::server_fns::my_profile().await
}

/// When this session ends; `None`: it has ended. A plain question does not count as use (a
/// page asking whether its session is about to end must not keep it alive); with `renew`
/// ("Stay signed in") the idle deadline is pushed back first.
#[server(prefix = "/api", endpoint = "check_session")]
pub async fn check_session(renew: bool) -> Result<Option<SessionDeadlines>, AppError> {
    crate::server::http::server_fns::check_session(renew).await
}

/// Ends one of your sessions (named by its handle on the profile page) and revokes its refresh
/// token; this one signs you out.
#[server(prefix = "/api", endpoint = "sign_out_session")]
pub async fn sign_out_session(handle: String) -> Result<(), AppError> {
    crate::server::http::server_fns::sign_out_session(handle).await
}

/// Ends every session of yours on every instance, revokes their refresh tokens, and signs you
/// out at the identity provider.
#[server(prefix = "/api", endpoint = "sign_out_everywhere")]
pub async fn sign_out_everywhere() -> Result<(), AppError> {
    crate::server::http::server_fns::sign_out_everywhere().await
}

/// The caller's newest notifications (issues deleted since left out) and how many are unread.
/// Needs the view scope.
#[server(prefix = "/api", endpoint = "notifications")]
pub async fn notifications() -> Result<crate::model::Inbox, AppError> {
    crate::server::http::delivery_fns::notifications().await
}

/// How many of the caller's notifications are unread (the bell, which `public/live.js` asks
/// again as changes arrive); 0 without the view scope.
#[server(prefix = "/api", endpoint = "unread_notifications")]
pub async fn unread_notifications() -> Result<i64, AppError> {
    crate::server::http::delivery_fns::unread_notifications().await
}

/// Marks the caller's notification `id` read, or all of them (`id` 0). Needs the view scope.
#[server(prefix = "/api", endpoint = "mark_read")]
pub async fn mark_read(id: i64) -> Result<(), AppError> {
    crate::server::http::delivery_fns::mark_read(id).await
}

/// The caller watches issue `issue` (`watching` true: told of its comments and of its closing
/// and reopening) or stops following it (false: even one they wrote or commented on). Needs
/// the view scope.
#[server(prefix = "/api", endpoint = "watch_issue")]
pub async fn watch_issue(issue: i64, watching: bool) -> Result<bool, AppError> {
    crate::server::http::delivery_fns::watch_issue(issue, watching).await
}

/// Whether the caller follows issue `issue`. Needs the view scope.
#[server(prefix = "/api", endpoint = "follows_issue")]
pub async fn follows_issue(issue: i64) -> Result<bool, AppError> {
    crate::server::http::delivery_fns::follows_issue(issue).await
}

/// The newest webhook deliveries (the audit page's log). Needs the audit scope.
#[server(prefix = "/api", endpoint = "webhook_deliveries")]
pub async fn webhook_deliveries() -> Result<Vec<crate::model::WebhookDelivery>, AppError> {
    crate::server::http::delivery_fns::webhook_deliveries().await
}

/// Posts failed webhook delivery `id` again (recorded in the audit trail). Needs the audit
/// scope.
#[server(prefix = "/api", endpoint = "redeliver_webhook")]
pub async fn redeliver_webhook(id: i64) -> Result<(), AppError> {
    crate::server::http::delivery_fns::redeliver_webhook(id).await
}

/// How the signed-in person wants to be told of notifications by e-mail: `none`,
/// `immediately` or `daily` (a digest). Needs only a session.
#[server(prefix = "/api", endpoint = "set_mail_preference")]
pub async fn set_mail_preference(mail: String) -> Result<(), AppError> {
    crate::server::http::server_fns::set_mail_preference(mail).await
}

/// The caller's own work, for the home page: open issues assigned to them, open issues they
/// created and open issues that mention them, each counted with its newest five. Needs the view
/// scope.
#[server(prefix = "/api", endpoint = "my_work")]
pub async fn my_work() -> Result<crate::model::MyWork, AppError> {
    crate::server::http::server_fns::my_work().await
}

/// The issue templates config.json offers on the create page (`Features.Issues.Templates`).
/// Needs the create scope.
#[server(prefix = "/api", endpoint = "issue_templates")]
pub async fn issue_templates() -> Result<Vec<crate::model::IssueTemplate>, AppError> {
    crate::server::http::server_fns::issue_templates().await
}

/// One action on several issues (`ids` comma separated, at most 100), each decided, changed and
/// audited on its own: `action` `close`, `reopen`, `assign` (`value` a `sub`, `me`, or empty for
/// no one), `label` or `unlabel` (`value` a label's name). Answers each issue's outcome, a
/// refusal saying why; needs, for each issue, the scope of the action.
#[server(prefix = "/api", endpoint = "bulk_change")]
pub async fn bulk_change(
    ids: String,
    action: String,
    value: String,
) -> Result<Vec<crate::model::BulkOutcome>, AppError> {
    crate::server::http::bulk_fns::bulk_change(ids, action, value).await
}

/// The deleted issues not yet erased, most recently deleted first (at most 100), with who
/// deleted each. Needs the delete scope.
#[server(prefix = "/api", endpoint = "list_deleted")]
pub async fn list_deleted() -> Result<Vec<crate::model::DeletedIssue>, AppError> {
    crate::server::http::server_fns::list_deleted().await
}

/// Restores deleted issue `id` (a plain form goes back to `/issues/deleted`). Needs the delete
/// scope.
#[server(prefix = "/api", endpoint = "restore_issue")]
pub async fn restore_issue(id: i64) -> Result<Issue, AppError> {
    crate::server::http::server_fns::restore_issue(id).await
}

/// The signed-in person asks for `action` (e.g. `close_issue`), which they are refused for a
/// missing scope, saying why (`reason`, 1 to 500 characters); asking again while it is open
/// replaces the reason. At most 5 a day. Answers the request's id.
#[server(prefix = "/api", endpoint = "ask_for_access")]
pub async fn ask_for_access(action: String, reason: String) -> Result<i64, AppError> {
    crate::server::http::access_fns::ask_for_access(action, reason).await
}

/// The open requests for access and the latest answered. Needs the review scope
/// (`Features.Access.scopes.review`).
#[server(prefix = "/api", endpoint = "access_requests")]
pub async fn access_requests() -> Result<crate::model::AccessReview, AppError> {
    crate::server::http::access_fns::access_requests().await
}

/// Answers open request `id`: `outcome` `granted` or `declined`, with a `note` for the person
/// (at most 500 characters). Needs the review scope.
#[server(prefix = "/api", endpoint = "answer_access_request")]
pub async fn answer_access_request(id: i64, outcome: String, note: String) -> Result<(), AppError> {
    crate::server::http::access_fns::answer_access_request(id, outcome, note).await
}

/// The access review: everyone who signed in here, their roles, granted scopes and the actions
/// those allow, the scopes they did not use in 90 days, and their refusals per action. Needs the
/// audit scope.
#[server(prefix = "/api", endpoint = "access_review")]
pub async fn access_review() -> Result<Vec<crate::model::PersonAccess>, AppError> {
    crate::server::http::access_fns::access_review().await
}
