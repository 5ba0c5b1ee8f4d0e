//! The board as a file: the issues a filter selects (as the board or `GET /api/v1/issues` read
//! it), every page up to [`EXPORT_MAX`], as CSV or JSON. The browser's `GET /issues/export`
//! (with the session) is here; the REST API's `GET /api/v1/issues/export` shares [`export`].

use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tower_sessions::Session;

use crate::access::Permission;
use crate::error::AppError;
use crate::model::{BoardQuery, Issue};
use crate::server::http::authorize::browser_caller;
use crate::server::http::error_body::ErrorBody;
use crate::server::state::AppState;
use crate::server::storage::issues::{Issues, ListError};
use crate::server::support::clock;

/// At most this many issues in one file: a bigger board is exported by narrower filters.
pub const EXPORT_MAX: usize = 10_000;
/// Issues read per page while exporting.
const EXPORT_PAGE: i64 = 100;

/// The file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Json,
}

/// The export's query: the board's filters and sort (as its URL carries them), and the format.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    pub format: Option<Format>,
    pub status: Option<String>,
    pub assignee: Option<String>,
    pub author: Option<String>,
    pub q: Option<String>,
    pub label: Option<String>,
    pub priority: Option<String>,
    pub sort: Option<String>,
}

/// Why an export was not made.
pub enum ExportError {
    /// A filter is not one the board knows: the line saying which.
    BadFilter(String),
    List(ListError),
}

impl From<ListError> for ExportError {
    fn from(error: ListError) -> Self {
        Self::List(error)
    }
}

/// The issues `query` selects for `searcher`, in its order, every page up to [`EXPORT_MAX`],
/// as a file of `query.format` (CSV by default).
pub async fn export(issues: &Issues, searcher: &str, query: ExportQuery) -> Result<Response, ExportError> {
    let format = query.format.unwrap_or(Format::Csv);
    let board = BoardQuery {
        status: query.status,
        assignee: query.assignee,
        author: query.author,
        q: query.q,
        label: query.label,
        priority: query.priority,
        sort: query.sort,
        cursor: None,
    };
    let (filter, mut cursor) = board.read(None, None, searcher).map_err(ExportError::BadFilter)?;
    let mut selected: Vec<Issue> = Vec::new();
    loop {
        let page = issues.list(searcher, &filter, cursor.as_ref(), EXPORT_PAGE).await?;
        selected.extend(page.page.issues.iter().cloned());
        let next = page.page.next_cursor.as_deref().filter(|_| selected.len() < EXPORT_MAX);
        match next {
            Some(next) => {
                let sort = if filter.search.is_some() {
                    crate::model::Sort::Newest
                } else {
                    filter.sort
                };
                cursor = Some(crate::model::Cursor::parse(sort, next).map_err(ExportError::BadFilter)?);
            }
            None => break,
        }
    }
    selected.truncate(EXPORT_MAX);
    Ok(file(format, &selected))
}

fn file(format: Format, issues: &[Issue]) -> Response {
    let (content_type, name, body) = match format {
        Format::Json => (
            "application/json",
            "issues.json",
            serde_json::to_vec(issues).unwrap_or_else(|_| b"[]".to_vec()),
        ),
        Format::Csv => ("text/csv; charset=utf-8", "issues.csv", csv(issues)),
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
                    .unwrap_or(HeaderValue::from_static("attachment")),
            ),
        ],
        body,
    )
        .into_response()
}

/// The columns people expect in a spreadsheet; times as RFC 3339 (UTC), labels comma separated.
fn csv(issues: &[Issue]) -> Vec<u8> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let header = [
        "id",
        "title",
        "status",
        "priority",
        "due",
        "labels",
        "author",
        "assignee",
        "created",
        "updated",
        "closed",
        "comments",
        "description",
    ];
    let mut rows = vec![out.write_record(header)];
    for issue in issues {
        let labels: Vec<&str> = issue.labels.iter().map(|label| label.name.as_str()).collect();
        rows.push(out.write_record([
            issue.id.to_string().as_str(),
            // A cell starting with = + - @ would be a formula to a spreadsheet: quoted as text.
            &spreadsheet_safe(&issue.title),
            &issue.status,
            issue.priority.name(),
            issue.due.as_deref().unwrap_or(""),
            &spreadsheet_safe(&labels.join(", ")),
            &spreadsheet_safe(&issue.author_name),
            &spreadsheet_safe(issue.assignee_name.as_deref().unwrap_or("")),
            &clock::rfc3339_millis(issue.created_at),
            &clock::rfc3339_millis(issue.updated_at),
            &issue.closed_at.map(clock::rfc3339_millis).unwrap_or_default(),
            issue.comment_count.to_string().as_str(),
            &spreadsheet_safe(&issue.description),
        ]));
    }
    if let Some(Err(error)) = rows.into_iter().find(Result::is_err) {
        tracing::warn!(%error, "could not write an export row");
    }
    out.into_inner().unwrap_or_default()
}

/// `text` as a spreadsheet will show it, never run it: a leading `=`, `+`, `-`, `@`, tab or
/// carriage return starts a formula (OWASP "CSV injection"), so such a cell gets a `'` first.
pub(crate) fn spreadsheet_safe(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_string(),
    }
}

/// `GET /issues/export?format=csv|json&<the board's filters>`: the signed-in person's board as
/// a file (the view permission).
pub async fn browser_export(
    State(state): State<AppState>,
    session: Session,
    query: Result<Query<ExportQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let viewer = match browser_caller(&state, &session, Permission::ViewIssues).await {
        Ok(viewer) => viewer,
        Err((status, line)) => return failure(status, &line),
    };
    let Query(query) = match query {
        Ok(query) => query,
        Err(rejection) => return failure(400, &rejection.body_text()),
    };
    match export(&state.issues, &viewer.sub, query).await {
        Ok(file) => file,
        Err(ExportError::BadFilter(line)) => failure(400, &line),
        Err(ExportError::List(error)) => {
            let error = AppError::from(error);
            failure(error.status(), &error.to_string())
        }
    }
}

fn failure(status: u16, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, ErrorBody::new("export_refused", message)).into_response()
}
