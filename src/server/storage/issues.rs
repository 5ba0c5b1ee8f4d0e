//! The tracker's store: issues (the board's filtered, searchable pages with keyset
//! pagination; create, change with optimistic concurrency, soft delete) and their comments.
//! The same SQL on both backends but for full-text search (SQLite FTS5, PostgreSQL
//! `tsvector`). Where this process is the database's only writer (SQLite) it keeps the first
//! page of each unfiltered status in memory, exact because every write goes through here (see
//! [`LocalCache`]): [`Issues::write`] runs writes in one transaction with whatever must be kept
//! with them (their audit rows), then forgets the pages.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::value::RawValue;
use sqlx::sqlite::SqliteConnection;

use crate::access::Viewer;
use crate::error::AppError;
use crate::model::{
    AssigneeFilter, BoardFilter, CLOSED, Comment, CommentPage, Issue, IssueChange, IssuePage, NewIssue, OPEN,
    PAGE_SIZE, SEARCH_COUNT_CAP, SharedPage, StatusCounts,
};
use crate::server::storage::db::{Db, database_error};
use crate::server::storage::local_cache::LocalCache;
use crate::server::storage::sql::{Param, Sql, keyset_page};
use crate::server::storage::tx::{Tx, TxWork};
use crate::server::support::bounded_map::{BoundedMap, Replacement};
use crate::server::support::detach::detached;
use crate::{bind_all, on_db, on_tx};

const COLUMNS: &str = "id, title, description, status, author_sub, author_name, assignee_sub, assignee_name, \
                       created_at, updated_at, closed_at, closed_by_name, comment_count, version";
const COMMENT_COLUMNS: &str = "id, issue_id, body, author_sub, author_name, created_at";
/// Words of a search beyond this many are ignored.
const SEARCH_WORDS: usize = 16;
/// How long a search may take, its queries together: a word in every issue must not hold a
/// connection (and a core) for seconds. PostgreSQL stops a statement at this
/// (`statement_timeout`); SQLite has none, so a progress handler interrupts it (`Interrupt`).
pub const SEARCH_TIME: Duration = Duration::from_secs(2);
/// How much longer than [`SEARCH_TIME`] a caller waits for a search stopped at it to say so.
const SEARCH_GRACE: Duration = Duration::from_millis(250);
/// Searches one person (`sub`) may have running at once. Four: one board page rendered on the
/// server loads its list up to three times at once (the island's resource; to be removed with
/// issue 27's work on a signed-in call's cost), and a second tab or a program is one more.
pub const SEARCHES_AT_ONCE: u32 = 4;
/// People whose running searches are counted at once (see [`Searching`]).
const SEARCHERS_REMEMBERED: usize = 4096;
/// SQLite virtual-machine steps between two looks at the clock while a search runs (well under
/// a millisecond of work).
const STEPS_BETWEEN_LOOKS: i32 = 10_000;

/// A page and its JSON, serialized once (for the REST API's body and the server function's).
#[derive(Clone)]
pub struct CachedPage {
    pub page: Arc<IssuePage>,
    pub json: bytes::Bytes,
    raw: Arc<Box<RawValue>>,
}

impl CachedPage {
    fn new(page: IssuePage) -> Self {
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
        SharedPage::with_json(self.page.clone(), self.raw.clone())
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
    Database(sqlx::Error),
    /// A search ran for [`SEARCH_TIME`] and was stopped: its words match too much.
    TooSlow,
    /// The caller already has [`SEARCHES_AT_ONCE`] searches running.
    TooManySearches,
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

/// The filter's conditions on `issues` but the status and the search: not deleted, the
/// assignee, the author.
fn conditions(sql: &mut Sql, filter: &BoardFilter) -> Vec<String> {
    let mut conditions = vec!["issues.deleted_at IS NULL".to_string()];
    match &filter.assignee {
        AssigneeFilter::Anyone => {}
        AssigneeFilter::Unassigned => conditions.push("issues.assignee_sub IS NULL".into()),
        AssigneeFilter::Person(sub) => {
            let p = sql.bind(Param::Text(sub.clone()));
            conditions.push(format!("issues.assignee_sub = {p}"));
        }
    }
    if let Some(author) = &filter.author {
        let p = sql.bind(Param::Text(author.clone()));
        conditions.push(format!("issues.author_sub = {p}"));
    }
    conditions
}

/// A board page without a search: the issues index read newest first.
async fn board(db: &Db, filter: &BoardFilter, before: Option<i64>, limit: i64) -> Result<IssuePage, sqlx::Error> {
    let limit = limit.clamp(1, 100);
    let mut sql = Sql::default();
    let mut conditions = conditions(&mut sql, filter);
    let counts = counts(db, filter, &conditions, &sql.params).await?;
    if let Some(status) = filter.status {
        let p = sql.bind(Param::Text(status.into()));
        conditions.push(format!("issues.status = {p}"));
    }
    if let Some(before) = before {
        let p = sql.bind(Param::Int(before));
        conditions.push(format!("issues.id < {p}"));
    }
    let p = sql.bind(Param::Int(limit + 1));
    sql.text = format!(
        "SELECT {COLUMNS} FROM issues WHERE {} ORDER BY issues.id DESC LIMIT {p}",
        conditions.join(" AND ")
    );
    let mut issues: Vec<Issue> = on_db!(db, |pool| bind_all!(sqlx::query_as(&sql.text), sql)
        .fetch_all(pool)
        .await)?;
    let next_before = keyset_page(&mut issues, limit, |issue| issue.id);
    Ok(IssuePage {
        issues,
        next_before,
        counts,
    })
}

/// Issues per status under the filter (no search): kept in `issue_counts` for the unfiltered
/// board, counted otherwise.
async fn counts(
    db: &Db,
    filter: &BoardFilter,
    conditions: &[String],
    params: &[Param],
) -> Result<StatusCounts, sqlx::Error> {
    let text = match filter.is_plain() {
        true => "SELECT status, n FROM issue_counts".to_string(),
        false => format!(
            "SELECT issues.status, COUNT(*) FROM issues WHERE {} GROUP BY issues.status",
            conditions.join(" AND ")
        ),
    };
    let sql = Sql {
        text,
        params: params.to_vec(),
    };
    let rows: Vec<(String, i64)> = on_db!(db, |pool| bind_all!(sqlx::query_as(&sql.text), sql)
        .fetch_all(pool)
        .await)?;
    let mut counts = StatusCounts::default();
    for (status, n) in rows {
        match status.as_str() {
            OPEN => counts.open = n,
            CLOSED => counts.closed = n,
            _ => {}
        }
    }
    Ok(counts)
}

/// Where a search's hits come from, the one difference between the backends: the issues whose
/// own text matches, read newest first by `own_key` (the full-text index gives them in id
/// order, so a page of them is read without sorting them all), and the issues with a matching
/// comment (`commented_key`: the comment's issue). Each is `FROM … WHERE <the match>` with
/// `issues` joined, so the board's conditions apply to both.
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
/// own hits, so only those are joined to their issues; and only a page of them is kept, which
/// PostgreSQL reads newest first too (SQLite sorts the commented hits: they come in comment
/// order).
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
         AND {conditions} ORDER BY {commented_key} DESC LIMIT {n}) AS commented_hits) \
         ORDER BY issues.id DESC LIMIT {n}"
    )
}

/// A search's issues per status, each counted up to one past [`SEARCH_COUNT_CAP`]: the hits
/// are read as they come (own, then commented; not sorted) until that many are found.
fn search_counts(hits: &Hits, conditions: &str) -> String {
    let Hits {
        own,
        own_key,
        commented,
        commented_key,
        others,
    } = hits;
    let cap = SEARCH_COUNT_CAP + 1;
    let counted = |status: &str| match others {
        // The own hits, then the others.
        Some(others) => format!(
            "(SELECT COUNT(*) FROM (SELECT {own_key} FROM {own} AND issues.status = '{status}' AND {conditions} \
             UNION ALL SELECT issues.id FROM {others} AND issues.status = '{status}' AND {conditions} \
             LIMIT {cap}) AS counted)"
        ),
        // Distinct hits as they come (SQLite keeps those seen in an index and goes on).
        None => format!(
            "(SELECT COUNT(*) FROM (SELECT DISTINCT hit FROM (\
             SELECT {own_key} AS hit FROM {own} AND issues.status = '{status}' AND {conditions} \
             UNION ALL SELECT {commented_key} FROM {commented} AND issues.status = '{status}' AND {conditions}\
             ) AS hits LIMIT {cap}) AS counted)"
        ),
    };
    format!("SELECT {}, {}", counted(OPEN), counted(CLOSED))
}

/// A count of a search's hits as shown: at most the cap, and whether there were more.
fn capped(counted: i64) -> (i64, bool) {
    match counted > SEARCH_COUNT_CAP {
        true => (SEARCH_COUNT_CAP, true),
        false => (counted, false),
    }
}

/// A page of the board with a search, stopped once it has taken [`SEARCH_TIME`].
async fn search_board(db: &Db, filter: &BoardFilter, before: Option<i64>, limit: i64) -> Result<IssuePage, ListError> {
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
    let started = Instant::now();
    let (mut issues, (open, closed)) = match read_search(db, &page, &counting, started + SEARCH_TIME).await {
        Ok(read) => read,
        // Stopped by the time limit (or failed past it: either way, too slow).
        Err(error) if started.elapsed() >= SEARCH_TIME => {
            tracing::warn!(%error, "a search was stopped: it took too long");
            return Err(ListError::TooSlow);
        }
        Err(error) => return Err(ListError::Database(error)),
    };
    let next_before = keyset_page(&mut issues, limit, |issue| issue.id);
    let ((open, open_capped), (closed, closed_capped)) = (capped(open), capped(closed));
    Ok(IssuePage {
        issues,
        next_before,
        counts: StatusCounts {
            open,
            closed,
            open_capped,
            closed_capped,
        },
    })
}

/// Runs a search's page and counts on one connection, stopped at `deadline`: PostgreSQL by its
/// `statement_timeout` (for this transaction only), SQLite by a progress handler ([`Interrupt`]).
async fn read_search(
    db: &Db,
    page: &Sql,
    counting: &Sql,
    deadline: Instant,
) -> Result<(Vec<Issue>, (i64, i64)), sqlx::Error> {
    match db {
        Db::Sqlite(pool) => {
            let mut conn = pool.acquire().await?;
            let _interrupt = Interrupt::at(&mut conn, deadline).await?;
            let issues: Vec<Issue> = bind_all!(sqlx::query_as(&page.text), page)
                .fetch_all(&mut *conn)
                .await?;
            let counts: (i64, i64) = bind_all!(sqlx::query_as(&counting.text), counting)
                .fetch_one(&mut *conn)
                .await?;
            Ok((issues, counts))
        }
        Db::Postgres(pool) => {
            let mut tx = pool.begin().await?;
            // For this transaction only (`SET LOCAL`), in milliseconds.
            let left = deadline.saturating_duration_since(Instant::now()).as_millis().max(1);
            sqlx::query("SELECT set_config('statement_timeout', $1, true)")
                .bind(left.to_string())
                .execute(&mut *tx)
                .await?;
            let issues: Vec<Issue> = bind_all!(sqlx::query_as(&page.text), page).fetch_all(&mut *tx).await?;
            let counts: (i64, i64) = bind_all!(sqlx::query_as(&counting.text), counting)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok((issues, counts))
        }
    }
}

/// SQLite has no statement timeout: while this lives, a progress handler on the connection
/// interrupts the statement it runs once the deadline has passed (the statement fails with
/// SQLITE_INTERRUPT). Dropping it disarms the handler, which stays on the pooled connection
/// (a look at an atomic every [`STEPS_BETWEEN_LOOKS`] steps) until the next search replaces it.
/// (Dropping a query's future does not stop SQLite: sqlx's worker thread steps the statement on
/// until it yields a row nobody takes; an aggregate or a sort yields none until it has read
/// everything. Hence this, and searches run detached so it is dropped only once they end.)
struct Interrupt(Arc<AtomicBool>);

impl Interrupt {
    async fn at(conn: &mut SqliteConnection, deadline: Instant) -> Result<Self, sqlx::Error> {
        let armed = Arc::new(AtomicBool::new(true));
        let flag = armed.clone();
        // Held only while the handler is set: the connection's worker waits for it.
        let mut handle = conn.lock_handle().await?;
        // `true`: go on.
        handle.set_progress_handler(STEPS_BETWEEN_LOOKS, move || {
            !flag.load(Ordering::Relaxed) || Instant::now() < deadline
        });
        drop(handle);
        Ok(Self(armed))
    }
}

impl Drop for Interrupt {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

/// Searches running per person (by `sub`), at most [`SEARCHES_AT_ONCE`] each. A person is
/// remembered only while a search of theirs runs. When more people than it remembers search at
/// once it starts over (`BoundedMap`): the searches then running are forgotten, so a few more
/// get through, each still bounded by [`SEARCH_TIME`].
struct Searching {
    running: Mutex<BoundedMap<String, u32>>,
}

impl Searching {
    fn new() -> Self {
        Self {
            running: Mutex::new(BoundedMap::new(SEARCHERS_REMEMBERED, Replacement::Free)),
        }
    }

    /// Room for one more search of `sub`'s, held until the answer is dropped; `None` when they
    /// have [`SEARCHES_AT_ONCE`] running.
    fn start(self: &Arc<Self>, sub: &str) -> Option<Running> {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        let count = running.get_or_insert_with(sub.to_string(), || 0, |_, count| *count > 0);
        if *count >= SEARCHES_AT_ONCE {
            return None;
        }
        *count += 1;
        Some(Running {
            searching: self.clone(),
            sub: sub.to_string(),
        })
    }
}

/// One running search of `sub`'s: counted until dropped.
struct Running {
    searching: Arc<Searching>,
    sub: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let mut running = self.searching.running.lock().unwrap_or_else(|p| p.into_inner());
        let left = match running.get_mut(&self.sub) {
            Some(count) => {
                *count = count.saturating_sub(1);
                *count
            }
            None => return,
        };
        if left == 0 {
            running.remove(&self.sub);
        }
    }
}

// The writes take the transaction of an [`Issues::write`], so that what else it holds (the
// audit trail's rows) is kept or undone with them.

/// Stores a new issue by `author`.
pub async fn create(tx: &mut Tx, issue: &NewIssue, author: &Viewer, now_ms: i64) -> Result<Issue, sqlx::Error> {
    let sql = format!(
        "INSERT INTO issues (title, description, author_sub, author_name, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING {COLUMNS}"
    );
    on_tx!(tx, |conn| {
        sqlx::query_as(&sql)
            .bind(&issue.title)
            .bind(&issue.description)
            .bind(&author.sub)
            .bind(&author.name)
            .bind(now_ms)
            .fetch_one(conn)
            .await
    })
}

fn select_live() -> String {
    format!("SELECT {COLUMNS} FROM issues WHERE id = $1 AND deleted_at IS NULL")
}

async fn get(db: &Db, id: i64) -> Result<Option<Issue>, sqlx::Error> {
    let sql = select_live();
    on_db!(db, |pool| sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)
}

/// Applies `change` as `actor` made it from version `expected` (`None`: whatever the current
/// version is). `assignee_name` names the person assigned, when it assigns.
pub async fn change(
    tx: &mut Tx,
    id: i64,
    change: &IssueChange,
    assignee_name: Option<String>,
    expected: Option<i64>,
    actor: &Viewer,
    now_ms: i64,
) -> Result<Changed, sqlx::Error> {
    update(tx, id, set_list(change, assignee_name, actor, now_ms), expected, now_ms).await
}

/// Soft-deletes issue `id` (made from version `expected`, when given).
pub async fn delete(tx: &mut Tx, id: i64, expected: Option<i64>, now_ms: i64) -> Result<Changed, sqlx::Error> {
    let mut set = Sql::default();
    let p = set.bind(Param::Int(now_ms));
    set.push(&format!("deleted_at = {p}, "));
    update(tx, id, set, expected, now_ms).await
}

/// Runs an `UPDATE … RETURNING` made from `set` on issue `id` if it is not deleted and (when
/// `expected` is given) still at that version; bumps the version.
async fn update(
    tx: &mut Tx,
    id: i64,
    mut set: Sql,
    expected: Option<i64>,
    now_ms: i64,
) -> Result<Changed, sqlx::Error> {
    let now = set.bind(Param::Int(now_ms));
    let id_param = set.bind(Param::Int(id));
    let mut text = format!(
        "UPDATE issues SET {}version = version + 1, updated_at = {now} WHERE id = {id_param} AND deleted_at IS NULL",
        set.text
    );
    if let Some(expected) = expected {
        let p = set.bind(Param::Int(expected));
        text.push_str(&format!(" AND version = {p}"));
    }
    text.push_str(&format!(" RETURNING {COLUMNS}"));
    set.text = text;
    let updated: Option<Issue> = on_tx!(&mut *tx, |conn| bind_all!(sqlx::query_as(&set.text), set)
        .fetch_optional(conn)
        .await)?;
    if let Some(issue) = updated {
        return Ok(Changed::Done(issue));
    }
    let sql = select_live();
    let current: Option<Issue> = on_tx!(tx, |conn| sqlx::query_as(&sql).bind(id).fetch_optional(conn).await)?;
    Ok(match (expected, current) {
        (Some(_), Some(current)) => Changed::Stale(current),
        _ => Changed::NotFound,
    })
}

/// The `SET` list for `change` (each item ends with `, `). `assignee_name` is the name of the
/// person the change assigns the issue to.
fn set_list(change: &IssueChange, assignee_name: Option<String>, actor: &Viewer, now_ms: i64) -> Sql {
    let mut set = Sql::default();
    if let Some(title) = &change.title {
        let p = set.bind(Param::Text(title.clone()));
        set.push(&format!("title = {p}, "));
    }
    if let Some(description) = &change.description {
        let p = set.bind(Param::Text(description.clone()));
        set.push(&format!("description = {p}, "));
    }
    match change.status {
        Some(CLOSED) => {
            // Closing a closed issue keeps who closed it and when.
            let now = set.bind(Param::Int(now_ms));
            let sub = set.bind(Param::Text(actor.sub.clone()));
            let name = set.bind(Param::Text(actor.name.clone()));
            set.push(&format!(
                "closed_at = CASE WHEN status = 'closed' THEN closed_at ELSE {now} END, \
                 closed_by_sub = CASE WHEN status = 'closed' THEN closed_by_sub ELSE {sub} END, \
                 closed_by_name = CASE WHEN status = 'closed' THEN closed_by_name ELSE {name} END, \
                 status = 'closed', "
            ));
        }
        Some(_) => set.push("status = 'open', closed_at = NULL, closed_by_sub = NULL, closed_by_name = NULL, "),
        None => {}
    }
    if let Some(assignee) = &change.assignee {
        let sub = set.bind(Param::OptText(assignee.clone()));
        let name = set.bind(Param::OptText(assignee_name));
        set.push(&format!("assignee_sub = {sub}, assignee_name = {name}, "));
    }
    set
}

async fn comments(db: &Db, issue_id: i64, after: Option<i64>, limit: i64) -> Result<CommentPage, sqlx::Error> {
    let limit = limit.clamp(1, 100);
    let sql = format!("SELECT {COMMENT_COLUMNS} FROM comments WHERE issue_id = $1 AND id > $2 ORDER BY id LIMIT $3");
    let mut comments: Vec<Comment> = on_db!(db, |pool| sqlx::query_as(&sql)
        .bind(issue_id)
        .bind(after.unwrap_or(0))
        .bind(limit + 1)
        .fetch_all(pool)
        .await)?;
    let next_after = keyset_page(&mut comments, limit, |comment| comment.id);
    Ok(CommentPage { comments, next_after })
}

/// Adds a comment to issue `issue_id` if it exists (`None`: it does not, and nothing was
/// written), counting it on the issue.
pub async fn add_comment(
    tx: &mut Tx,
    issue_id: i64,
    body: &str,
    author: &Viewer,
    now_ms: i64,
) -> Result<Option<Comment>, sqlx::Error> {
    let counted = on_tx!(&mut *tx, |conn| sqlx::query(
        "UPDATE issues SET comment_count = comment_count + 1, updated_at = $2 \
         WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(issue_id)
    .bind(now_ms)
    .execute(conn)
    .await
    .map(|done| done.rows_affected()))?;
    if counted == 0 {
        return Ok(None);
    }
    let insert = format!(
        "INSERT INTO comments (issue_id, body, author_sub, author_name, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING {COMMENT_COLUMNS}"
    );
    let comment: Comment = on_tx!(tx, |conn| sqlx::query_as(&insert)
        .bind(issue_id)
        .bind(body)
        .bind(&author.sub)
        .bind(&author.name)
        .bind(now_ms)
        .fetch_one(conn)
        .await)?;
    Ok(Some(comment))
}

async fn count(db: &Db) -> Result<i64, sqlx::Error> {
    on_db!(db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM issues WHERE deleted_at IS NULL"
    )
    .fetch_one(pool)
    .await)
}

/// Cloning shares the store (and its copy in memory).
#[derive(Clone)]
pub struct Issues {
    db: Db,
    /// The first page of each unfiltered status, `Some` exactly when this process is the
    /// database's only writer.
    first_pages: Option<Arc<LocalCache<Option<&'static str>, CachedPage>>>,
    /// Searches running, per person.
    searching: Arc<Searching>,
}

impl Issues {
    pub fn new(db: Db) -> Self {
        let first_pages = db.single_writer().then(|| Arc::new(LocalCache::new(3)));
        Self {
            db,
            first_pages,
            searching: Arc::new(Searching::new()),
        }
    }

    /// A page of the board, newest first, from the copy in memory where that is exact. A
    /// search is one of `searcher`'s (a `sub`) while it runs (see `Issues::search`).
    pub async fn list(
        &self,
        searcher: &str,
        filter: &BoardFilter,
        before: Option<i64>,
        limit: i64,
    ) -> Result<CachedPage, ListError> {
        if filter.search.is_some() {
            return self.search(searcher, filter, before, limit).await.map(CachedPage::new);
        }
        let cache = match &self.first_pages {
            Some(cache) if before.is_none() && limit == PAGE_SIZE && filter.is_plain() => cache,
            _ => return Ok(CachedPage::new(board(&self.db, filter, before, limit).await?)),
        };
        let generation = match cache.get(&filter.status) {
            Some(page) => return Ok(page),
            None => cache.generation(),
        };
        let page = CachedPage::new(board(&self.db, filter, None, PAGE_SIZE).await?);
        cache.fill(generation, filter.status, page.clone(), |_| true);
        Ok(page)
    }

    /// A page of a search, as one of `searcher`'s: each person may have [`SEARCHES_AT_ONCE`]
    /// running. It runs on its own task and holds its place until it has ended, so a caller
    /// that goes away frees nothing early (and SQLite's interrupt stays armed until the
    /// statement has stopped); the caller waits at most [`SEARCH_TIME`] and a little.
    async fn search(
        &self,
        searcher: &str,
        filter: &BoardFilter,
        before: Option<i64>,
        limit: i64,
    ) -> Result<IssuePage, ListError> {
        let running = self.searching.start(searcher).ok_or(ListError::TooManySearches)?;
        let (db, filter) = (self.db.clone(), filter.clone());
        let searched = detached(async move {
            let searched = search_board(&db, &filter, before, limit).await;
            drop(running);
            searched
        });
        match tokio::time::timeout(SEARCH_TIME + SEARCH_GRACE, searched).await {
            Ok(Ok(searched)) => searched,
            Ok(Err(failed)) => Err(ListError::Database(sqlx::Error::Protocol(format!(
                "a search did not finish: {failed}"
            )))),
            Err(_) => {
                tracing::warn!("a search did not answer in time");
                Err(ListError::TooSlow)
            }
        }
    }

    /// Forgets the pages in memory: something on them changed.
    fn changed(&self) {
        if let Some(cache) = &self.first_pages {
            cache.retain(|_, _| false);
        }
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
        detached(async move {
            let mut tx = this.db.begin().await?;
            let done = work(&mut tx).await;
            let outcome = match done {
                Ok(value) => tx.commit().await.map(|()| value),
                Err(error) => {
                    if let Err(undo) = tx.rollback().await {
                        tracing::warn!(error = %undo, "could not roll back a failed issue write");
                    }
                    Err(error)
                }
            };
            // After the commit, which readers then see; after a failed one too (harmless).
            this.changed();
            outcome
        })
        .await
        .map_err(task_failed)?
    }

    pub async fn create(&self, issue: &NewIssue, author: &Viewer, now_ms: i64) -> Result<Issue, sqlx::Error> {
        let (issue, author) = (issue.clone(), author.clone());
        self.write(move |tx| Box::pin(async move { create(tx, &issue, &author, now_ms).await }))
            .await
    }

    pub async fn get(&self, id: i64) -> Result<Option<Issue>, sqlx::Error> {
        get(&self.db, id).await
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
            Box::pin(async move { self::change(tx, id, &what, assignee_name, expected, &actor, now_ms).await })
        })
        .await
    }

    /// Soft-deletes issue `id` (made from version `expected`, when given).
    pub async fn delete(&self, id: i64, expected: Option<i64>, now_ms: i64) -> Result<Changed, sqlx::Error> {
        self.write(move |tx| Box::pin(async move { delete(tx, id, expected, now_ms).await }))
            .await
    }

    /// A page of issue `issue_id`'s comments, oldest first, after comment `after`.
    pub async fn comments(&self, issue_id: i64, after: Option<i64>, limit: i64) -> Result<CommentPage, sqlx::Error> {
        comments(&self.db, issue_id, after, limit).await
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
        self.write(move |tx| Box::pin(async move { add_comment(tx, issue_id, &body, &author, now_ms).await }))
            .await
    }

    pub async fn count(&self) -> Result<i64, sqlx::Error> {
        count(&self.db).await
    }
}

fn task_failed(error: tokio::task::JoinError) -> sqlx::Error {
    sqlx::Error::Protocol(format!("an issue write did not finish: {error}"))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{
        Hits, SEARCH_COUNT_CAP, SEARCHES_AT_ONCE, Searching, capped, fts5_query, search_counts, search_page,
        search_words,
    };
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
        assert!(page.contains("ORDER BY comments.issue_id DESC LIMIT $3"), "{page}");
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

    #[test]
    fn sqlite_searches_start_from_the_full_text_indexes() {
        let mut sql = Sql::default();
        let hits = Hits::sqlite(&mut sql, &["login", "fails"]);
        let page = search_page(&mut sql, &hits, "issues.deleted_at IS NULL", None, 20);
        assert!(page.contains("FROM issue_search CROSS JOIN issues"), "{page}");
        assert!(page.contains("ORDER BY issue_search.rowid DESC"), "{page}");
        assert!(page.contains("FROM comment_search CROSS JOIN comments"), "{page}");
        let counts = search_counts(&hits, "issues.deleted_at IS NULL");
        assert!(counts.contains("SELECT DISTINCT hit"), "{counts}");
    }

    #[test]
    fn counts_past_the_cap_read_as_the_cap_and_more() {
        assert_eq!(capped(0), (0, false));
        assert_eq!(capped(SEARCH_COUNT_CAP), (SEARCH_COUNT_CAP, false));
        assert_eq!(capped(SEARCH_COUNT_CAP + 1), (SEARCH_COUNT_CAP, true));
    }

    #[test]
    fn each_person_has_a_few_searches_at_once() {
        let searching = Arc::new(Searching::new());
        let running: Vec<_> = (0..SEARCHES_AT_ONCE)
            .map(|_| searching.start("john").expect("within the limit"))
            .collect();
        assert!(searching.start("john").is_none(), "one more is refused");
        let emily = searching.start("emily").expect("another person's is not");
        drop(running);
        assert!(searching.start("john").is_some(), "an ended search frees its place");
        drop(emily);
        let remembered = searching.running.lock().unwrap().len();
        assert_eq!(remembered, 0, "no one is remembered once their searches have ended");
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
