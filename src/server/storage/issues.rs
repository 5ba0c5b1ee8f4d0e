//! The tracker's store: issues (the board's filtered, searchable pages with keyset
//! pagination; create, change with optimistic concurrency, soft delete) and their comments.
//! The same SQL on both backends but for full-text search (SQLite FTS5, PostgreSQL
//! `tsvector`). Where this process is the database's only writer (SQLite) it keeps the first
//! page of each unfiltered status in memory, exact because every write goes through here (see
//! [`LocalCache`]).

use std::sync::Arc;

use serde_json::value::RawValue;

use crate::access::Viewer;
use crate::model::{
    AssigneeFilter, BoardFilter, CLOSED, Comment, CommentPage, Issue, IssueChange, IssuePage, NewIssue, OPEN,
    PAGE_SIZE, SharedPage, StatusCounts,
};
use crate::server::storage::db::Db;
use crate::server::storage::local_cache::LocalCache;
use crate::server::storage::sql::{Param, Sql, keyset_page};
use crate::{bind_all, on_db};

const COLUMNS: &str = "id, title, description, status, author_sub, author_name, assignee_sub, assignee_name, \
                       created_at, updated_at, closed_at, closed_by_name, comment_count, version";
const COMMENT_COLUMNS: &str = "id, issue_id, body, author_sub, author_name, created_at";
/// Words of a search beyond this many are ignored.
const SEARCH_WORDS: usize = 16;

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

/// The filter's conditions (not the status: see [`board`]) over `issues`, or `None` when the
/// search has no words (nothing matches).
fn conditions(sql: &mut Sql, db: &Db, filter: &BoardFilter) -> Option<Vec<String>> {
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
    if let Some(search) = &filter.search {
        let words = search_words(search);
        if words.is_empty() {
            return None;
        }
        if let Db::Postgres(_) = db {
            // The text as typed: PostgreSQL's parser reads it as it read the stored text
            // (`example.com` is one token there), and never as operators.
            let p = sql.bind(Param::Text(search.clone()));
            conditions.push(format!(
                "(issues.search @@ plainto_tsquery('simple', {p}) OR issues.id IN \
                 (SELECT issue_id FROM comments WHERE search @@ plainto_tsquery('simple', {p})))"
            ));
        }
    }
    Some(conditions)
}

/// `FROM` for the board: with SQLite and a search, the matching ids first (a join that
/// starts from the few matches instead of scanning the issues in order).
fn source(sql: &mut Sql, db: &Db, filter: &BoardFilter) -> String {
    match (&filter.search, db) {
        (Some(search), Db::Sqlite(_)) => {
            let p = sql.bind(Param::Text(fts5_query(&search_words(search))));
            format!(
                "(SELECT rowid AS hit FROM issue_search WHERE issue_search MATCH {p} \
                 UNION SELECT issue_id FROM comments WHERE id IN \
                 (SELECT rowid FROM comment_search WHERE comment_search MATCH {p})) AS hits \
                 CROSS JOIN issues ON issues.id = hits.hit"
            )
        }
        _ => "issues".into(),
    }
}

async fn board(db: &Db, filter: &BoardFilter, before: Option<i64>, limit: i64) -> Result<IssuePage, sqlx::Error> {
    let limit = limit.clamp(1, 100);
    let mut sql = Sql::default();
    let from = source(&mut sql, db, filter);
    let Some(mut conditions) = conditions(&mut sql, db, filter) else {
        return Ok(IssuePage::default());
    };
    let counts = counts(db, filter, &from, &conditions, &sql.params).await?;
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
        "SELECT {COLUMNS} FROM {from} WHERE {} ORDER BY issues.id DESC LIMIT {p}",
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

/// Issues per status under the filter: kept in `issue_counts` for the unfiltered board,
/// counted otherwise.
async fn counts(
    db: &Db,
    filter: &BoardFilter,
    from: &str,
    conditions: &[String],
    params: &[Param],
) -> Result<StatusCounts, sqlx::Error> {
    let text = match filter.is_plain() {
        true => "SELECT status, n FROM issue_counts".to_string(),
        false => format!(
            "SELECT issues.status, COUNT(*) FROM {from} WHERE {} GROUP BY issues.status",
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

async fn create(db: &Db, issue: &NewIssue, author: &Viewer, now_ms: i64) -> Result<Issue, sqlx::Error> {
    let sql = format!(
        "INSERT INTO issues (title, description, author_sub, author_name, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING {COLUMNS}"
    );
    on_db!(db, |pool| {
        sqlx::query_as(&sql)
            .bind(&issue.title)
            .bind(&issue.description)
            .bind(&author.sub)
            .bind(&author.name)
            .bind(now_ms)
            .fetch_one(pool)
            .await
    })
}

async fn get(db: &Db, id: i64) -> Result<Option<Issue>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM issues WHERE id = $1 AND deleted_at IS NULL");
    on_db!(db, |pool| sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)
}

/// Runs an `UPDATE … RETURNING` made from `set` on issue `id` if it is not deleted and (when
/// `expected` is given) still at that version; bumps the version.
async fn change(db: &Db, id: i64, mut set: Sql, expected: Option<i64>, now_ms: i64) -> Result<Changed, sqlx::Error> {
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
    let updated: Option<Issue> = on_db!(db, |pool| bind_all!(sqlx::query_as(&set.text), set)
        .fetch_optional(pool)
        .await)?;
    Ok(match updated {
        Some(issue) => Changed::Done(issue),
        None => match (expected, get(db, id).await?) {
            (Some(_), Some(current)) => Changed::Stale(current),
            _ => Changed::NotFound,
        },
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

/// Adds a comment to issue `issue_id` if it exists: both or neither are stored.
async fn add_comment(
    db: &Db,
    issue_id: i64,
    body: &str,
    author: &Viewer,
    now_ms: i64,
) -> Result<Option<Comment>, sqlx::Error> {
    let insert = format!(
        "INSERT INTO comments (issue_id, body, author_sub, author_name, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING {COMMENT_COLUMNS}"
    );
    on_db!(db, |pool| {
        let mut tx = pool.begin().await?;
        let counted = sqlx::query(
            "UPDATE issues SET comment_count = comment_count + 1, updated_at = $2 \
             WHERE id = $1 AND deleted_at IS NULL",
        )
        .bind(issue_id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        if counted.rows_affected() == 0 {
            return Ok(None);
        }
        let comment = sqlx::query_as(&insert)
            .bind(issue_id)
            .bind(body)
            .bind(&author.sub)
            .bind(&author.name)
            .bind(now_ms)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(comment))
    })
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
}

impl Issues {
    pub fn new(db: Db) -> Self {
        let first_pages = db.single_writer().then(|| Arc::new(LocalCache::new(3)));
        Self { db, first_pages }
    }

    /// A page of the board, newest first, from the copy in memory where that is exact.
    pub async fn list(&self, filter: &BoardFilter, before: Option<i64>, limit: i64) -> Result<CachedPage, sqlx::Error> {
        let cache = match &self.first_pages {
            Some(cache) if before.is_none() && limit == PAGE_SIZE && filter.is_plain() => cache,
            _ => return board(&self.db, filter, before, limit).await.map(CachedPage::new),
        };
        let generation = match cache.get(&filter.status) {
            Some(page) => return Ok(page),
            None => cache.generation(),
        };
        let page = CachedPage::new(board(&self.db, filter, None, PAGE_SIZE).await?);
        cache.fill(generation, filter.status, page.clone(), |_| true);
        Ok(page)
    }

    /// Forgets the pages in memory: something on them changed.
    fn changed(&self) {
        if let Some(cache) = &self.first_pages {
            cache.retain(|_, _| false);
        }
    }

    pub async fn create(&self, issue: &NewIssue, author: &Viewer, now_ms: i64) -> Result<Issue, sqlx::Error> {
        let created = create(&self.db, issue, author, now_ms).await;
        self.changed();
        created
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
        let set = set_list(change, assignee_name, actor, now_ms);
        let changed = self::change(&self.db, id, set, expected, now_ms).await;
        self.changed();
        changed
    }

    /// Soft-deletes issue `id` (made from version `expected`, when given).
    pub async fn delete(&self, id: i64, expected: Option<i64>, now_ms: i64) -> Result<Changed, sqlx::Error> {
        let mut set = Sql::default();
        let p = set.bind(Param::Int(now_ms));
        set.push(&format!("deleted_at = {p}, "));
        let deleted = change(&self.db, id, set, expected, now_ms).await;
        self.changed();
        deleted
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
        let added = add_comment(&self.db, issue_id, body, author, now_ms).await;
        self.changed();
        added
    }

    pub async fn count(&self) -> Result<i64, sqlx::Error> {
        count(&self.db).await
    }
}

#[cfg(test)]
mod tests {
    use super::{fts5_query, search_words};

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
