//! Plain reads: a board page without a search (the issues index read newest first) with its
//! counts, one issue, an issue's comments, how many issues there are.

use crate::model::{
    AssigneeFilter, BoardFilter, CLOSED, Comment, CommentPage, Cursor, CursorKey, FILTER_COUNT_CAP, Issue, IssuePage,
    OPEN, Sort, StatusCounts,
};
use crate::server::storage::db::Db;
use crate::server::storage::sql::{Param, Sql, keyset_page};
use crate::{bind_all, on_db};

use super::labels;
use super::types::{COLUMNS, COMMENT_COLUMNS};

/// The condition "the issue carries the label named by the parameter that follows".
const LABEL_PROBE: &str = "EXISTS (SELECT 1 FROM issue_labels JOIN labels ON labels.id = issue_labels.label_id \
                           WHERE issue_labels.issue_id = issues.id AND labels.name_key = ";

/// The filter's conditions on `issues` but the status and the search: not deleted, the
/// assignee, the author, the labels (each one carried), the priority, changed since.
pub(super) fn conditions(sql: &mut Sql, filter: &BoardFilter) -> Vec<String> {
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
    // Asked of each issue as the board is read in its order (one probe of the issue's labels),
    // rather than gathering every issue that carries the label first.
    for key in &filter.labels {
        let p = sql.bind(Param::Text(key.clone()));
        conditions.push(format!("{LABEL_PROBE}{p})"));
    }
    if let Some(priority) = filter.priority {
        let p = sql.bind(Param::Int(priority.rank()));
        conditions.push(format!("issues.priority = {p}"));
    }
    if let Some(since) = filter.updated_since {
        let p = sql.bind(Param::Int(since));
        conditions.push(format!("issues.updated_at >= {p}"));
    }
    conditions
}

/// The board's order in `sort`, and where a page in it starts after `cursor`.
fn order(sql: &mut Sql, sort: Sort, cursor: Option<&Cursor>, conditions: &mut Vec<String>) -> &'static str {
    let key = cursor.map(|cursor| (&cursor.key, sql.bind(Param::Int(cursor.id))));
    match (sort, key) {
        (Sort::Oldest, Some((_, id))) => conditions.push(format!("issues.id > {id}")),
        (Sort::Newest, Some((_, id))) => conditions.push(format!("issues.id < {id}")),
        (Sort::Updated | Sort::Priority, Some((CursorKey::Number(value), id))) => {
            let column = if sort == Sort::Updated {
                "updated_at"
            } else {
                "priority"
            };
            let value = sql.bind(Param::Int(*value));
            conditions.push(format!(
                "(issues.{column} < {value} OR (issues.{column} = {value} AND issues.id < {id}))"
            ));
        }
        (Sort::Due, Some((CursorKey::Due(Some(day)), id))) => {
            let day = sql.bind(Param::Text(day.clone()));
            conditions.push(format!(
                "(issues.due_date IS NULL OR issues.due_date > {day} OR (issues.due_date = {day} AND issues.id > {id}))"
            ));
        }
        (Sort::Due, Some((CursorKey::Due(None), id))) => {
            conditions.push(format!("(issues.due_date IS NULL AND issues.id > {id})"));
        }
        // A cursor of another sort: from the start (the caller checked it against the sort).
        _ => {}
    }
    match sort {
        Sort::Newest => "issues.id DESC",
        Sort::Oldest => "issues.id ASC",
        Sort::Updated => "issues.updated_at DESC, issues.id DESC",
        Sort::Priority => "issues.priority DESC, issues.id DESC",
        Sort::Due => "(issues.due_date IS NULL) ASC, issues.due_date ASC, issues.id ASC",
    }
}

/// A board page without a search, in the filter's sort (newest first: the issues index read
/// backwards), from after `cursor`.
pub(super) async fn board(
    db: &Db,
    filter: &BoardFilter,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<IssuePage, sqlx::Error> {
    let limit = limit.clamp(1, 100);
    let mut sql = Sql::default();
    let mut conditions = conditions(&mut sql, filter);
    let counts = counts(db, filter, &conditions, &sql.params).await?;
    if let Some(status) = filter.status {
        let p = sql.bind(Param::Text(status.into()));
        conditions.push(format!("issues.status = {p}"));
    }
    let order = order(&mut sql, filter.sort, cursor, &mut conditions);
    let p = sql.bind(Param::Int(limit + 1));
    sql.text = format!(
        "SELECT {COLUMNS} FROM issues WHERE {} ORDER BY {order} LIMIT {p}",
        conditions.join(" AND ")
    );
    let mut issues: Vec<Issue> = on_db!(db, |pool| bind_all!(sqlx::query_as(&sql.text), sql)
        .fetch_all(pool)
        .await)?;
    let more = keyset_page(&mut issues, limit, |issue| issue.id).is_some();
    labels::attach(db, &mut issues).await?;
    Ok(page_of(issues, more, filter.sort, counts))
}

/// A page of `issues` (`more`: others follow) with where the next one starts.
pub(super) fn page_of(issues: Vec<Issue>, more: bool, sort: Sort, counts: StatusCounts) -> IssuePage {
    let last = issues.last().filter(|_| more);
    IssuePage {
        next_before: last.filter(|_| sort == Sort::Newest).map(|issue| issue.id),
        next_cursor: last.map(|issue| issue.cursor_after(sort)),
        issues,
        counts,
    }
}

/// Issues per status under the filter (no search): kept in `issue_counts` for the unfiltered
/// board (whatever its sort), otherwise counted up to one past [`FILTER_COUNT_CAP`] (more read
/// as "1,000+"). A label filter is counted from that label's own index.
async fn counts(
    db: &Db,
    filter: &BoardFilter,
    conditions: &[String],
    params: &[Param],
) -> Result<StatusCounts, sqlx::Error> {
    let mut sql = Sql {
        text: String::new(),
        params: params.to_vec(),
    };
    let mut conditions: Vec<&String> = conditions.iter().collect();
    if filter.unfiltered() {
        sql.text = "SELECT status, n FROM issue_counts".to_string();
    } else {
        // Counted from the first label's rows: its own probe would only ask again.
        if let Some(first) = conditions
            .iter()
            .position(|condition| condition.starts_with(LABEL_PROBE))
        {
            conditions.remove(first);
        }
        let from = match filter.labels.first() {
            Some(key) => {
                let p = sql.bind(Param::Text(key.clone()));
                format!(
                    "issue_labels AS first_label JOIN issues ON issues.id = first_label.issue_id \
                     WHERE first_label.label_id = (SELECT id FROM labels WHERE name_key = {p}) AND"
                )
            }
            None => "issues WHERE".to_string(),
        };
        let cap = sql.bind(Param::Int(FILTER_COUNT_CAP + 1));
        sql.text = format!(
            "SELECT status, COUNT(*) FROM (SELECT issues.status AS status FROM {from} {} LIMIT {cap}) AS counted \
             GROUP BY status",
            conditions
                .iter()
                .map(|condition| condition.as_str())
                .collect::<Vec<_>>()
                .join(" AND ")
        );
    }
    let rows: Vec<(String, i64)> = on_db!(db, |pool| bind_all!(sqlx::query_as(&sql.text), sql)
        .fetch_all(pool)
        .await)?;
    if !filter.unfiltered() {
        return Ok(super::search::capped_counts(&rows, FILTER_COUNT_CAP));
    }
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

/// One live (not deleted) issue by id (`$1`).
pub(super) fn select_live() -> String {
    format!("SELECT {COLUMNS} FROM issues WHERE id = $1 AND deleted_at IS NULL")
}

pub(super) async fn get(db: &Db, id: i64) -> Result<Option<Issue>, sqlx::Error> {
    let sql = select_live();
    let issue: Option<Issue> = on_db!(db, |pool| sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)?;
    let mut issues: Vec<Issue> = issue.into_iter().collect();
    labels::attach(db, &mut issues).await?;
    Ok(issues.pop())
}

/// A page of issue `issue_id`'s comments, oldest first, after comment `after`.
pub(super) async fn comments(
    db: &Db,
    issue_id: i64,
    after: Option<i64>,
    limit: i64,
) -> Result<CommentPage, sqlx::Error> {
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

pub(super) async fn count(db: &Db) -> Result<i64, sqlx::Error> {
    on_db!(db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM issues WHERE deleted_at IS NULL"
    )
    .fetch_one(pool)
    .await)
}
