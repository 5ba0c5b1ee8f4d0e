//! A board page with a search, and what bounds its cost: the SQL per backend (SQLite FTS5,
//! PostgreSQL `tsvector` on GIN indexes), counts that read at most one hit past
//! [`SEARCH_COUNT_CAP`], [`SEARCH_TIME`] for the whole search (enforced by the database: its
//! error, not the clock, says a search was stopped), [`SEARCHES_AT_ONCE`] per person and half
//! the pool's connections for all searches together ([`Searches`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sqlx::sqlite::SqliteConnection;
use tokio::sync::Semaphore;

use crate::model::{BoardFilter, CLOSED, Issue, IssuePage, OPEN, SEARCH_COUNT_CAP, Sort, StatusCounts};
use crate::server::storage::db::Db;
use crate::server::storage::sql::{Param, Sql, keyset_page};
use crate::server::support::detach::detached;
use crate::server::support::per_key_limit::PerKeyLimit;
use crate::{bind_all, on_db};

use super::board::{conditions, page_of};
use super::labels;
use super::types::{COLUMNS, ListError};

/// Words of a search beyond this many are ignored.
const SEARCH_WORDS: usize = 16;
/// How long a search may take once it has its place among searches, its wait for a connection
/// and its statements together: a word in every issue must not hold a connection (and a core)
/// for seconds. PostgreSQL stops each statement at the time left (`statement_timeout`); SQLite
/// has none, so a progress handler interrupts it ([`Interrupt`]).
pub const SEARCH_TIME: Duration = Duration::from_secs(2);
/// How much longer than [`SEARCH_TIME`] a caller waits for a search before giving up on the
/// database stopping it (which it should have: see [`Searches::run`]).
const SEARCH_GRACE: Duration = Duration::from_millis(250);
/// Searches one person (`sub`) may have running at once: a board page and a second tab, or a
/// program. One person's searches cannot take the connections everyone's searches share.
pub const SEARCHES_AT_ONCE: usize = 2;
/// How long a search waits for one of the places all searches share (half the pool's
/// connections) before it is answered that the server is busy.
pub const SLOT_WAIT: Duration = Duration::from_secs(1);
/// SQLite virtual-machine steps between two looks at the clock while a search runs (well under
/// a millisecond of work).
const STEPS_BETWEEN_LOOKS: i32 = 10_000;
/// PostgreSQL's SQLSTATE for a statement cancelled (here: by `statement_timeout`).
const QUERY_CANCELED: &str = "57014";
/// SQLite's result code for a statement interrupted (here: by [`Interrupt`]'s progress handler).
const SQLITE_INTERRUPT: &str = "9";

/// Who may search now: each person at most [`SEARCHES_AT_ONCE`] at once (one more is refused
/// at once), and everyone together at most half the pool's connections (at least one; one more
/// waits up to [`SLOT_WAIT`] for a place), so searches always leave connections to the rest of
/// the app.
pub(super) struct Searches {
    per_person: Arc<PerKeyLimit<String>>,
    places: Arc<Semaphore>,
    at_once: usize,
    /// How long a search's statements may run once it has its connection: [`SEARCH_TIME`], so
    /// that a search, its wait for a connection included, ends by [`SEARCH_TIME`] after it had
    /// its place. Shorter in tests (`Issues::with_search_time`).
    time: Duration,
}

impl Searches {
    pub(super) fn new(db: &Db, time: Duration) -> Self {
        let connections = on_db!(db, |pool| pool.options().get_max_connections());
        let at_once = (connections as usize / 2).max(1);
        Self {
            per_person: Arc::new(PerKeyLimit::new()),
            places: Arc::new(Semaphore::new(at_once)),
            at_once,
            time,
        }
    }

    /// Searches holding a place now (reading, or waiting for a connection).
    pub(super) fn running(&self) -> usize {
        self.at_once.saturating_sub(self.places.available_permits())
    }

    /// A page of a search, as one of `searcher`'s (a `sub`). It runs on its own task and holds
    /// its places until it has ended, so a caller that goes away frees nothing early (and
    /// SQLite's interrupt stays armed until the statement has stopped). The database stops it
    /// at its time; the caller waits a little longer at most, in case it did not.
    pub(super) async fn run(
        &self,
        db: &Db,
        searcher: &str,
        filter: &BoardFilter,
        before: Option<i64>,
        limit: i64,
    ) -> Result<IssuePage, ListError> {
        let person = self
            .per_person
            .admit(searcher.to_string(), SEARCHES_AT_ONCE)
            .ok_or(ListError::TooManySearches)?;
        let place = match tokio::time::timeout(SLOT_WAIT, self.places.clone().acquire_owned()).await {
            Ok(Ok(place)) => place,
            // Waited too long (the semaphore is never closed).
            Ok(Err(_)) | Err(_) => return Err(ListError::Busy),
        };
        let time = Time {
            all_by: Instant::now() + SEARCH_TIME,
            statements: self.time,
        };
        let (db, filter) = (db.clone(), filter.clone());
        let searched = detached(async move {
            let searched = search_board(&db, &filter, before, limit, time).await;
            drop((person, place));
            searched
        });
        match tokio::time::timeout(SEARCH_TIME + SEARCH_GRACE, searched).await {
            Ok(Ok(searched)) => searched,
            Ok(Err(failed)) => Err(ListError::Database(sqlx::Error::Protocol(format!(
                "a search did not finish: {failed}"
            )))),
            // Not the words' doing: the database did not stop it (or did not answer).
            Err(_) => Err(ListError::Database(sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "a search went on past its time limit",
            )))),
        }
    }
}

/// The words of a search: letters and digits only, so nothing a user types is read as query
/// syntax.
fn search_words(search: &str) -> Vec<&str> {
    search
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .take(SEARCH_WORDS)
        .collect()
}

/// An FTS5 query matching every word (each quoted: a string, never an operator).
fn fts5_query(words: &[&str]) -> String {
    words
        .iter()
        .map(|word| format!("\"{word}\""))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Where a search's hits come from, the one difference between the backends: the issues whose
/// own text matches, read newest first by `own_key` (the full-text index gives them in id
/// order, so a page of them is read without sorting them all), and the issues with a matching
/// comment (`commented_key`: the comment's issue, once per matching comment). Each is
/// `FROM … WHERE <the match>` with `issues` joined, so the board's conditions apply to both.
struct Hits {
    own: String,
    own_key: &'static str,
    commented: String,
    commented_key: &'static str,
    /// PostgreSQL: the commented issues that are not own hits, as `issues WHERE …` (each issue
    /// once; whether its own text matches is read from its row). Counting then adds them to the
    /// own hits as they come, with no `DISTINCT`, which PostgreSQL answers only once it has read
    /// every hit. SQLite has none (the own match would probe the full-text index for each row):
    /// its `DISTINCT` goes on as the hits come.
    others: Option<String>,
}

impl Hits {
    /// The hits of `search` (see [`search_words`]), or `None` when it has no words (nothing
    /// matches).
    fn of(sql: &mut Sql, db: &Db, search: &str) -> Option<Self> {
        let words = search_words(search);
        if words.is_empty() {
            return None;
        }
        Some(match db {
            Db::Sqlite(_) => Self::sqlite(sql, &words),
            Db::Postgres(_) => Self::postgres(sql, search),
        })
    }

    fn sqlite(sql: &mut Sql, words: &[&str]) -> Self {
        let p = sql.bind(Param::Text(fts5_query(words)));
        // CROSS JOIN: SQLite joins in the order written, from the matches to their issues (left
        // to itself it may walk the issues and probe the full-text index for each).
        Self {
            own: format!(
                "issue_search CROSS JOIN issues ON issues.id = issue_search.rowid WHERE issue_search MATCH {p}"
            ),
            own_key: "issue_search.rowid",
            commented: format!(
                "comment_search CROSS JOIN comments ON comments.id = comment_search.rowid \
                 CROSS JOIN issues ON issues.id = comments.issue_id WHERE comment_search MATCH {p}"
            ),
            commented_key: "comments.issue_id",
            others: None,
        }
    }

    /// The text as typed: PostgreSQL's parser reads it as it read the stored text
    /// (`example.com` is one token there), and never as operators. Each side is matched on its
    /// own table, so each can use its GIN index (an `OR` across the two cannot).
    fn postgres(sql: &mut Sql, search: &str) -> Self {
        let p = sql.bind(Param::Text(search.to_string()));
        let own_match = format!("issues.search @@ plainto_tsquery('simple', {p})");
        let comment_match = format!("comments.search @@ plainto_tsquery('simple', {p})");
        Self {
            own: format!("issues WHERE {own_match}"),
            own_key: "issues.id",
            commented: format!("comments JOIN issues ON issues.id = comments.issue_id WHERE {comment_match}"),
            commented_key: "comments.issue_id",
            others: Some(format!(
                "issues WHERE issues.id IN (SELECT comments.issue_id FROM comments WHERE {comment_match}) \
                 AND NOT ({own_match})"
            )),
        }
    }
}

/// A page of a search's hits, newest first: the newest of the issues' own hits (`own`, read
/// newest first and no further than a page, however many match) and of the commented issues.
/// A commented issue can be on the page only if it is newer than the oldest of a full page of
/// own hits, so only those are joined to their issues; and only a page of them is kept, each
/// issue once however many of its comments match (`GROUP BY` before `LIMIT`: else one issue's
/// comments would fill the page's places and push other issues off it, never to be reached).
/// The commented hits are grouped and sorted (they come in comment order, not their issues').
fn search_page(sql: &mut Sql, hits: &Hits, conditions: &str, before: Option<i64>, limit: i64) -> String {
    let before = sql.bind(Param::Int(before.unwrap_or(i64::MAX)));
    let n = sql.bind(Param::Int(limit + 1));
    let Hits {
        own,
        own_key,
        commented,
        commented_key,
        ..
    } = hits;
    format!(
        "WITH own AS MATERIALIZED (SELECT {own_key} AS hit FROM {own} AND {own_key} < {before} AND {conditions} \
         ORDER BY {own_key} DESC LIMIT {n}) \
         SELECT {COLUMNS} FROM issues WHERE issues.id IN (SELECT hit FROM own UNION \
         SELECT hit FROM (SELECT {commented_key} AS hit FROM {commented} AND {commented_key} < {before} \
         AND {commented_key} > (SELECT CASE WHEN COUNT(*) < {n} THEN 0 ELSE MIN(hit) END FROM own) \
         AND {conditions} GROUP BY {commented_key} ORDER BY {commented_key} DESC LIMIT {n}) AS commented_hits) \
         ORDER BY issues.id DESC LIMIT {n}"
    )
}

/// A search's hits per status, reading at most one hit past [`SEARCH_COUNT_CAP`] whatever
/// their status (a status rare among many hits costs no more than a common one): the hits are
/// read as they come (own, then commented; not sorted), each issue once, until that many are
/// found; then the statuses of those read are counted (see [`hit_counts`]).
fn search_counts(hits: &Hits, conditions: &str) -> String {
    let Hits {
        own,
        own_key,
        commented,
        commented_key,
        others,
    } = hits;
    let cap = SEARCH_COUNT_CAP + 1;
    let read = match others {
        // The own hits, then the others.
        Some(others) => format!(
            "SELECT issues.status AS status FROM {own} AND {conditions} \
             UNION ALL SELECT issues.status FROM {others} AND {conditions} LIMIT {cap}"
        ),
        // Distinct hits as they come (SQLite keeps those seen in an index and goes on).
        None => format!(
            "SELECT DISTINCT hit, status FROM (\
             SELECT {own_key} AS hit, issues.status AS status FROM {own} AND {conditions} \
             UNION ALL SELECT {commented_key}, issues.status FROM {commented} AND {conditions}\
             ) AS hits LIMIT {cap}"
        ),
    };
    format!("SELECT status, COUNT(*) FROM ({read}) AS counted GROUP BY status")
}

/// The counts shown for the statuses of the hits read (at most one past the cap): exact when
/// that was all of them. Else the hits are more than the cap, and either status may have more
/// than were read: both counts are marked capped ("at least": `9,990+` and `10+`), the one hit
/// past the cap taken off the larger, so that together they are the cap.
fn hit_counts(rows: &[(String, i64)]) -> StatusCounts {
    capped_counts(rows, SEARCH_COUNT_CAP)
}

/// [`hit_counts`] for a count that read at most one past `cap`.
pub(super) fn capped_counts(rows: &[(String, i64)], cap: i64) -> StatusCounts {
    let mut counts = StatusCounts::default();
    for (status, n) in rows {
        match status.as_str() {
            OPEN => counts.open = *n,
            CLOSED => counts.closed = *n,
            _ => {}
        }
    }
    let over = counts.open + counts.closed - cap;
    if over > 0 {
        let larger = match counts.open >= counts.closed {
            true => &mut counts.open,
            false => &mut counts.closed,
        };
        *larger -= over;
        counts.open_capped = true;
        counts.closed_capped = true;
    }
    counts
}

/// The counts shown when counting ran out of time (the page was read): the page's own hits per
/// status (those read, one past the page included), each at least that, both marked capped.
/// So a search whose counting alone is too costly is still answered, saying what is certain.
fn page_counts<'a>(statuses: impl IntoIterator<Item = &'a str>) -> StatusCounts {
    let mut counts = StatusCounts {
        open_capped: true,
        closed_capped: true,
        ..StatusCounts::default()
    };
    for status in statuses {
        match status {
            OPEN => counts.open += 1,
            CLOSED => counts.closed += 1,
            _ => {}
        }
    }
    counts
}

/// When a search must have ended: all of it by `all_by`, its statements within `statements` of
/// having a connection (see [`Searches`]'s `time`).
#[derive(Clone, Copy)]
struct Time {
    all_by: Instant,
    statements: Duration,
}

/// A page of the board with a search, stopped by the database at its time.
async fn search_board(
    db: &Db,
    filter: &BoardFilter,
    before: Option<i64>,
    limit: i64,
    time: Time,
) -> Result<IssuePage, ListError> {
    let limit = limit.clamp(1, 100);
    let mut page = Sql::default();
    let Some(hits) = Hits::of(&mut page, db, filter.search.as_deref().unwrap_or_default()) else {
        return Ok(IssuePage::default());
    };
    let mut conditions = conditions(&mut page, filter);
    let counting = Sql {
        text: search_counts(&hits, &conditions.join(" AND ")),
        params: page.params.clone(),
    };
    if let Some(status) = filter.status {
        let p = page.bind(Param::Text(status.into()));
        conditions.push(format!("issues.status = {p}"));
    }
    let text = search_page(&mut page, &hits, &conditions.join(" AND "), before, limit);
    page.text = text;
    let (mut issues, counted) = match read_search(db, &page, &counting, time).await {
        Ok(read) => read,
        Err(ListError::TooSlow) => {
            tracing::warn!("a search was stopped at its time limit");
            return Err(ListError::TooSlow);
        }
        Err(error) => return Err(error),
    };
    let counts = match counted {
        Some(rows) => hit_counts(&rows),
        None => {
            tracing::info!("a search's counting was stopped at its time limit: its page is answered");
            page_counts(issues.iter().map(|issue| issue.status.as_str()))
        }
    };
    let more = keyset_page(&mut issues, limit, |issue| issue.id).is_some();
    labels::attach(db, &mut issues).await?;
    Ok(page_of(issues, more, Sort::Newest, counts))
}

/// Runs a search's page and then its counts on one connection, stopped by the database at the
/// deadline: PostgreSQL by a `statement_timeout` of the time left before each (for this
/// transaction only), SQLite by a progress handler ([`Interrupt`]). The counts are `None` when
/// they were stopped (the page is answered all the same). No connection by `time.all_by` is
/// the database's failure (the pool's timeout, 503 unavailable), not the search's.
async fn read_search(
    db: &Db,
    page: &Sql,
    counting: &Sql,
    time: Time,
) -> Result<(Vec<Issue>, Option<Vec<(String, i64)>>), ListError> {
    let connection_by = tokio::time::Instant::from_std(time.all_by);
    let no_connection = |_| sqlx::Error::PoolTimedOut;
    match db {
        Db::Sqlite(pool) => {
            let mut conn = tokio::time::timeout_at(connection_by, pool.acquire())
                .await
                .map_err(no_connection)??;
            let deadline = time.all_by.min(Instant::now() + time.statements);
            let interrupt = Interrupt::at(&mut conn, deadline).await?;
            let issues: Vec<Issue> = bind_all!(sqlx::query_as(&page.text), page)
                .fetch_all(&mut *conn)
                .await
                .map_err(|error| interrupt.stopped(error))?;
            let counts: Result<Vec<(String, i64)>, ListError> = match Instant::now() < deadline {
                true => bind_all!(sqlx::query_as(&counting.text), counting)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(|error| interrupt.stopped(error)),
                false => Err(ListError::TooSlow),
            };
            Ok((issues, unless_stopped(counts)?))
        }
        Db::Postgres(pool) => {
            let mut tx = tokio::time::timeout_at(connection_by, pool.begin())
                .await
                .map_err(no_connection)??;
            let deadline = time.all_by.min(Instant::now() + time.statements);
            stop_at(&mut tx, deadline).await?;
            let issues: Vec<Issue> = bind_all!(sqlx::query_as(&page.text), page)
                .fetch_all(&mut *tx)
                .await
                .map_err(stopped_postgres)?;
            let counts: Result<Vec<(String, i64)>, ListError> = match Instant::now() < deadline {
                true => {
                    // Each statement gets the timeout anew: the counts get what the page left.
                    stop_at(&mut tx, deadline).await?;
                    bind_all!(sqlx::query_as(&counting.text), counting)
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(stopped_postgres)
                }
                false => Err(ListError::TooSlow),
            };
            // Nothing was written; after a cancelled statement the transaction can only be
            // rolled back.
            if let Err(error) = tx.rollback().await {
                tracing::debug!(%error, "a search's transaction could not be rolled back");
            }
            Ok((issues, unless_stopped(counts)?))
        }
    }
}

/// The counts, `None` when the time limit stopped them.
fn unless_stopped<T>(counts: Result<T, ListError>) -> Result<Option<T>, ListError> {
    match counts {
        Ok(counts) => Ok(Some(counts)),
        Err(ListError::TooSlow) => Ok(None),
        Err(error) => Err(error),
    }
}

/// Sets `statement_timeout` to the time left before `deadline`, for this transaction only
/// (`SET LOCAL`), in milliseconds (at least 1: 0 would turn it off).
async fn stop_at(tx: &mut sqlx::Transaction<'static, sqlx::Postgres>, deadline: Instant) -> Result<(), sqlx::Error> {
    let left = deadline.saturating_duration_since(Instant::now()).as_millis().max(1);
    sqlx::query("SELECT set_config('statement_timeout', $1, true)")
        .bind(left.to_string())
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// A PostgreSQL error as a search's: `TooSlow` when `statement_timeout` cancelled it
/// (`query_canceled`), else the database's error.
fn stopped_postgres(error: sqlx::Error) -> ListError {
    let cancelled = error.as_database_error().and_then(|e| e.code()).as_deref() == Some(QUERY_CANCELED);
    match cancelled {
        true => ListError::TooSlow,
        false => ListError::Database(error),
    }
}

/// SQLite has no statement timeout: while this lives, a progress handler on the connection
/// interrupts the statement it runs once the deadline has passed (the statement fails with
/// SQLITE_INTERRUPT). Dropping it disarms the handler, which stays on the pooled connection
/// (a look at an atomic every [`STEPS_BETWEEN_LOOKS`] steps) until the next search replaces it.
/// (Dropping a query's future does not stop SQLite: sqlx's worker thread steps the statement on
/// until it yields a row nobody takes; an aggregate or a sort yields none until it has read
/// everything. Hence this, and searches run detached so it is dropped only once they end.)
struct Interrupt {
    armed: Arc<AtomicBool>,
    /// Whether the handler has interrupted a statement: an SQLITE_INTERRUPT is the time
    /// limit's only then.
    fired: Arc<AtomicBool>,
}

impl Interrupt {
    async fn at(conn: &mut SqliteConnection, deadline: Instant) -> Result<Self, sqlx::Error> {
        let (armed, fired) = (Arc::new(AtomicBool::new(true)), Arc::new(AtomicBool::new(false)));
        let (is_armed, has_fired) = (armed.clone(), fired.clone());
        // Held only while the handler is set: the connection's worker waits for it.
        let mut handle = conn.lock_handle().await?;
        // `true`: go on.
        handle.set_progress_handler(STEPS_BETWEEN_LOOKS, move || {
            if !is_armed.load(Ordering::Relaxed) || Instant::now() < deadline {
                return true;
            }
            has_fired.store(true, Ordering::Relaxed);
            false
        });
        drop(handle);
        Ok(Self { armed, fired })
    }

    /// An SQLite error as a search's: `TooSlow` when this interrupted it, else the database's
    /// error.
    fn stopped(&self, error: sqlx::Error) -> ListError {
        let interrupted = error.as_database_error().and_then(|e| e.code()).as_deref() == Some(SQLITE_INTERRUPT);
        match interrupted && self.fired.load(Ordering::Relaxed) {
            true => ListError::TooSlow,
            false => ListError::Database(error),
        }
    }
}

impl Drop for Interrupt {
    fn drop(&mut self) {
        self.armed.store(false, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::{
        Hits, SEARCH_COUNT_CAP, fts5_query, hit_counts, page_counts, search_counts, search_page, search_words,
    };
    use crate::model::StatusCounts;
    use crate::server::storage::sql::Sql;

    /// PostgreSQL matches each table on its own (`@@` on `issues.search` and on
    /// `comments.search`, each with its GIN index), never an `OR` across both, which makes it
    /// scan `issues`; pages and counts are bounded (`LIMIT`) and the text is one bound value.
    #[test]
    fn postgres_searches_match_each_table_on_its_own_index() {
        let mut sql = Sql::default();
        let hits = Hits::postgres(&mut sql, "login fails");
        let page = search_page(&mut sql, &hits, "issues.deleted_at IS NULL", Some(99), 20);
        assert_eq!(sql.params.len(), 3, "the text, before, the page size");
        assert!(
            page.contains("FROM issues WHERE issues.search @@ plainto_tsquery('simple', $1) AND issues.id < $2"),
            "{page}"
        );
        assert!(
            page.contains("FROM comments JOIN issues ON issues.id = comments.issue_id WHERE comments.search @@ plainto_tsquery('simple', $1)"),
            "{page}"
        );
        assert!(page.contains("ORDER BY issues.id DESC LIMIT $3"), "{page}");
        let counts = search_counts(&hits, "issues.deleted_at IS NULL");
        assert!(counts.contains(&format!("LIMIT {}", SEARCH_COUNT_CAP + 1)), "{counts}");
        assert!(
            counts.contains("AND NOT (issues.search @@ plainto_tsquery('simple', $1))"),
            "{counts}"
        );
        for text in [&page, &counts] {
            assert!(!text.contains(" OR "), "{text}");
            assert!(!text.contains("login"), "the words are bound, never written in: {text}");
        }
    }

    /// One issue with many matching comments is one hit: its comments must not fill the
    /// commented hits' `LIMIT` (and push other issues off the page, never to be reached).
    #[test]
    fn the_commented_hits_are_each_issue_once_before_the_limit() {
        for (mut sql, hits) in [
            {
                let mut sql = Sql::default();
                let hits = Hits::postgres(&mut sql, "gadget");
                (sql, hits)
            },
            {
                let mut sql = Sql::default();
                let hits = Hits::sqlite(&mut sql, &["gadget"]);
                (sql, hits)
            },
        ] {
            let page = search_page(&mut sql, &hits, "issues.deleted_at IS NULL", None, 20);
            assert!(
                page.contains("GROUP BY comments.issue_id ORDER BY comments.issue_id DESC LIMIT $3"),
                "{page}"
            );
        }
    }

    #[test]
    fn sqlite_searches_start_from_the_full_text_indexes() {
        let mut sql = Sql::default();
        let hits = Hits::sqlite(&mut sql, &["login", "fails"]);
        let page = search_page(&mut sql, &hits, "issues.deleted_at IS NULL", None, 20);
        assert!(page.contains("FROM issue_search CROSS JOIN issues"), "{page}");
        assert!(page.contains("ORDER BY issue_search.rowid DESC"), "{page}");
        assert!(page.contains("FROM comment_search CROSS JOIN comments"), "{page}");
        let counts = search_counts(&hits, "issues.deleted_at IS NULL");
        assert!(counts.contains("SELECT DISTINCT hit, status"), "{counts}");
        assert!(counts.contains(&format!("LIMIT {}", SEARCH_COUNT_CAP + 1)), "{counts}");
    }

    /// Counting reads at most one hit past the cap, whatever their status, and each status
    /// count is then "at least".
    #[test]
    fn counts_past_the_cap_are_both_at_least_and_add_up_to_the_cap() {
        let rows = |open: i64, closed: i64| vec![("open".to_string(), open), ("closed".to_string(), closed)];
        let exact = |open, closed| StatusCounts {
            open,
            closed,
            ..StatusCounts::default()
        };
        assert_eq!(hit_counts(&[]), exact(0, 0));
        assert_eq!(hit_counts(&rows(3, 2)), exact(3, 2));
        assert_eq!(
            hit_counts(&rows(SEARCH_COUNT_CAP - 5, 5)),
            exact(SEARCH_COUNT_CAP - 5, 5)
        );
        let at_least = |open, closed| StatusCounts {
            open,
            closed,
            open_capped: true,
            closed_capped: true,
        };
        assert_eq!(
            hit_counts(&rows(SEARCH_COUNT_CAP - 4, 5)),
            at_least(SEARCH_COUNT_CAP - 5, 5)
        );
        assert_eq!(
            hit_counts(&rows(0, SEARCH_COUNT_CAP + 1)),
            at_least(0, SEARCH_COUNT_CAP)
        );
        assert_eq!(
            hit_counts(&[("open".to_string(), SEARCH_COUNT_CAP + 1)]),
            at_least(SEARCH_COUNT_CAP, 0)
        );
    }

    #[test]
    fn counts_stopped_by_the_time_limit_are_the_page_s_own_at_least() {
        assert_eq!(
            page_counts(["open", "closed", "open"]),
            StatusCounts {
                open: 2,
                closed: 1,
                open_capped: true,
                closed_capped: true,
            }
        );
    }

    #[test]
    fn searches_are_words_never_query_syntax() {
        assert_eq!(search_words("login  fails"), ["login", "fails"]);
        assert_eq!(
            fts5_query(&search_words("\"a\" OR b* NEAR(c)")),
            "\"a\" \"OR\" \"b\" \"NEAR\" \"c\""
        );
        assert_eq!(search_words("Überweisung-fehlt"), ["Überweisung", "fehlt"]);
        assert!(search_words("!!! ***").is_empty());
    }
}
