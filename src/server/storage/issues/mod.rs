//! The tracker's store: issues (the board's filtered, sorted, searchable pages with keyset
//! pagination; create, change with optimistic concurrency, soft delete and restore), their
//! comments, labels and history. Start at [`Issues`] here; `board.rs` reads the board without a
//! search, `search.rs` with one (the one place the backends' SQL differs, SQLite FTS5 and
//! PostgreSQL `tsvector`, and what bounds a search's cost), `write.rs` writes (each change with
//! its history, `events.rs`), `labels.rs` keeps label definitions and attaches them to issues,
//! `deleted.rs` lists the deleted ones (to restore); `types.rs` has what they share;
//! `unaudited.rs` seeds the development setup and tests.
//!
//! Where this process is the database's only writer (SQLite) it keeps the first page of each
//! unfiltered status in memory, exact because every write goes through here (see
//! [`LocalCache`]): [`Issues::write`] runs writes in one transaction with whatever must be kept
//! with them (their audit rows), then forgets the pages.

mod board;
mod comments;
mod deleted;
mod events;
mod labels;
mod mine;
mod search;
mod types;
#[cfg(feature = "dev-idp")]
mod unaudited;
mod write;

use std::sync::Arc;
use std::time::Duration;

use crate::model::{BoardFilter, CommentPage, Cursor, EventPage, Issue, Label, PAGE_SIZE};
use crate::server::storage::db::Db;
use crate::server::storage::local_cache::LocalCache;
use crate::server::storage::tx::{Tx, TxWork};

pub use comments::{CommentChanged, CommentEdit, change_comment, record_mentions};
pub use labels::Redefined;
pub use search::{SEARCH_TIME, SEARCHES_AT_ONCE, SLOT_WAIT};
pub use types::{CachedPage, Changed, ListError};
pub use write::{add_comment, change, create, define_label, delete, delete_label, redefine_label, restore};

/// Cloning shares the store (and its copy in memory, the searches' limits, and who waits for
/// its writes).
#[derive(Clone)]
pub struct Issues {
    db: Db,
    /// The first page of each unfiltered status, `Some` exactly when this process is the
    /// database's only writer.
    first_pages: Option<Arc<LocalCache<Option<&'static str>, CachedPage>>>,
    /// Searches running, per person and in all.
    searches: Arc<search::Searches>,
    /// Bumped after each write's transaction ends: what reads the outbox looks now.
    wrote: Arc<tokio::sync::watch::Sender<u64>>,
}

impl Issues {
    pub fn new(db: Db) -> Self {
        let first_pages = db.single_writer().then(|| Arc::new(LocalCache::new(3)));
        let searches = Arc::new(search::Searches::new(&db, SEARCH_TIME));
        Self {
            db,
            first_pages,
            searches,
            wrote: Arc::new(tokio::sync::watch::Sender::new(0)),
        }
    }

    /// The same store but that its searches may take `time` instead of [`SEARCH_TIME`] (and
    /// have their own limits): for tests, which must see the database stop a search without
    /// seeding millions of issues.
    pub fn with_search_time(mut self, time: Duration) -> Self {
        self.searches = Arc::new(search::Searches::new(&self.db, time));
        self
    }

    /// Searches holding one of the places all searches share now (reading, or waiting for a
    /// connection): for operators and tests.
    pub fn searches_running(&self) -> usize {
        self.searches.running()
    }

    /// A page of the board, newest first, from the copy in memory where that is exact. A
    /// search is one of `searcher`'s (a `sub`) while it runs: each person may have
    /// [`SEARCHES_AT_ONCE`] running, and all together half the pool's connections (see
    /// `search.rs`).
    pub async fn list(
        &self,
        searcher: &str,
        filter: &BoardFilter,
        cursor: Option<&Cursor>,
        limit: i64,
    ) -> Result<CachedPage, ListError> {
        if filter.search.is_some() {
            // A search reads newest first: its cursor is an issue's id.
            let before = cursor.map(|cursor| cursor.id);
            let page = self.searches.run(&self.db, searcher, filter, before, limit).await?;
            return Ok(CachedPage::new(page));
        }
        let cache = match &self.first_pages {
            Some(cache) if cursor.is_none() && limit == PAGE_SIZE && filter.is_plain() => cache,
            _ => return Ok(CachedPage::new(board::board(&self.db, filter, cursor, limit).await?)),
        };
        let generation = match cache.get(&filter.status) {
            Some(page) => return Ok(page),
            None => cache.generation(),
        };
        let page = CachedPage::new(board::board(&self.db, filter, None, PAGE_SIZE).await?);
        cache.fill(generation, filter.status, page.clone(), |_| true);
        Ok(page)
    }

    /// Forgets the pages in memory (something on them changed) and wakes what reads the
    /// outbox.
    fn changed(&self) {
        if let Some(cache) = &self.first_pages {
            cache.retain(|_, _| false);
        }
        self.wrote.send_modify(|writes| *writes = writes.wrapping_add(1));
    }

    /// Changes each time a write's transaction ends (committed or not): the outbox may have
    /// new rows.
    pub fn writes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.wrote.subscribe()
    }

    /// Runs `work` (this module's writes, and whatever else must be kept with them) in one
    /// transaction: committed when it answers `Ok`, undone when it fails; then the pages in
    /// memory are forgotten. Detached: a caller that goes away cannot split it.
    pub async fn write<T, W>(&self, work: W) -> Result<T, sqlx::Error>
    where
        T: Send + 'static,
        W: for<'t> FnOnce(&'t mut Tx) -> TxWork<'t, T> + Send + 'static,
    {
        let this = self.clone();
        write::in_transaction(&self.db, work, move || this.changed()).await
    }

    pub async fn get(&self, id: i64) -> Result<Option<Issue>, sqlx::Error> {
        board::get(&self.db, id).await
    }

    /// Every label, by name, with how many live issues carry it.
    pub async fn labels(&self) -> Result<Vec<Label>, sqlx::Error> {
        labels::list(&self.db).await
    }

    /// Every label, by name, without the counts (`issue_count` 0).
    pub async fn label_names(&self) -> Result<Vec<Label>, sqlx::Error> {
        labels::names(&self.db).await
    }

    /// A page of issue `issue_id`'s history, oldest first, after event `after`.
    pub async fn events(&self, issue_id: i64, after: Option<i64>, limit: i64) -> Result<EventPage, sqlx::Error> {
        events::page(&self.db, issue_id, after, limit).await
    }

    /// A page of issue `issue_id`'s comments, oldest first, after comment `after`.
    pub async fn comments(&self, issue_id: i64, after: Option<i64>, limit: i64) -> Result<CommentPage, sqlx::Error> {
        board::comments(&self.db, issue_id, after, limit).await
    }

    /// Gives each edited comment of `comments` its earlier bodies, oldest first (the page
    /// shows them; the REST API does not).
    pub async fn attach_revisions(&self, comments: &mut [crate::model::Comment]) -> Result<(), sqlx::Error> {
        comments::attach_revisions(&self.db, comments).await
    }

    pub async fn count(&self) -> Result<i64, sqlx::Error> {
        board::count(&self.db).await
    }

    /// Deleted issues not yet erased, most recently deleted first: at most `limit` (up to
    /// `model::DELETED_LIST_MAX`), with who deleted each (see `deleted.rs`).
    pub async fn deleted(&self, limit: i64) -> Result<Vec<crate::model::DeletedIssue>, sqlx::Error> {
        deleted::list(&self.db, limit).await
    }

    /// `sub`'s open work for their home page: assigned to them, written by them, mentioning
    /// them, each counted with its newest few (see `mine.rs`).
    pub async fn my_work(&self, sub: &str) -> Result<crate::model::MyWork, sqlx::Error> {
        mine::my_work(&self.db, sub).await
    }
}
