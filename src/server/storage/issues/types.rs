//! What the store's parts share: the columns they read, a page with its JSON, what a change came
//! to, and why a board page was not read.

use std::sync::Arc;

use serde_json::value::RawValue;

use crate::error::AppError;
use crate::model::{Issue, IssuePage, SharedPage};
use crate::server::storage::db::database_error;

pub(super) const COLUMNS: &str = "id, title, description, status, author_sub, author_name, assignee_sub, \
                                  assignee_name, created_at, updated_at, closed_at, closed_by_name, \
                                  comment_count, version, priority, due_date";
pub(super) const COMMENT_COLUMNS: &str =
    "id, issue_id, body, author_sub, author_name, created_at, edited_at, deleted_at, hidden_by_name";

/// A page and its JSON, serialized once (for the REST API's body and the server function's).
#[derive(Clone)]
pub struct CachedPage {
    pub page: Arc<IssuePage>,
    pub json: bytes::Bytes,
    raw: Arc<Box<RawValue>>,
}

impl CachedPage {
    pub(super) fn new(page: IssuePage) -> Self {
        let text = serde_json::to_string(&page).unwrap_or_else(|_| "null".into());
        let json = bytes::Bytes::copy_from_slice(text.as_bytes());
        let raw = RawValue::from_string(text).unwrap_or_else(|_| RawValue::NULL.to_owned());
        Self {
            page: Arc::new(page),
            json,
            raw: Arc::new(raw),
        }
    }

    pub fn shared(&self) -> SharedPage {
        let json = crate::model::PageJsonText {
            raw: self.raw.clone(),
            bytes: self.json.clone(),
        };
        SharedPage::with_json(self.page.clone(), json)
    }
}

/// What a change or a delete came to.
#[derive(Debug)]
pub enum Changed {
    Done(Issue),
    /// No such issue (or it was deleted).
    NotFound,
    /// The issue is no longer at the version the change was made from: here it is now.
    Stale(Issue),
}

/// Why a page of the board was not read.
#[derive(Debug)]
pub enum ListError {
    /// The database failed, or had no connection free for the search within its time.
    Database(sqlx::Error),
    /// The database stopped the search at its time limit
    /// ([`SEARCH_TIME`](super::search::SEARCH_TIME)): its words match too much.
    TooSlow,
    /// The caller already has [`SEARCHES_AT_ONCE`](super::search::SEARCHES_AT_ONCE) searches
    /// running (their doing: 429).
    TooManySearches,
    /// The server already runs as many searches as it lets run at once, and none ended within
    /// [`SLOT_WAIT`](super::search::SLOT_WAIT) (the server's capacity, not the caller's doing:
    /// 503).
    Busy,
}

impl From<sqlx::Error> for ListError {
    fn from(error: sqlx::Error) -> Self {
        Self::Database(error)
    }
}

impl From<ListError> for AppError {
    fn from(error: ListError) -> Self {
        match error {
            ListError::Database(error) => database_error(error),
            ListError::TooSlow => AppError::SearchTooSlow,
            ListError::TooManySearches => AppError::TooManySearches,
            ListError::Busy => AppError::SearchesBusy,
        }
    }
}
