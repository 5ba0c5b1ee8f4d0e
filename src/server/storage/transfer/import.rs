//! `import`: an export read line by line (the header checked, then each record parsed) and
//! stored [`BATCH_ROWS`] lines per transaction, finding the line the database refused.

use std::io::{BufRead, Read};

use super::format::{
    BATCH_ROWS, Counts, FORMAT_VERSION, HEADER_KIND, ImportOptions, MAX_LINE_BYTES, TransferError, ensure_current,
};
use super::record::{Record, TABLES, Table};
use crate::server::storage::db::Db;
use crate::server::storage::sql::Sql;
use crate::{bind_all, on_db};

/// Reads line `number` into `line` (cleared first); `false` at the end of the input.
fn read_line(input: &mut impl BufRead, line: &mut String, number: usize) -> Result<bool, TransferError> {
    line.clear();
    let read = Read::take(&mut *input, MAX_LINE_BYTES + 1).read_line(line);
    match read {
        Ok(0) => Ok(false),
        Ok(n) if n as u64 > MAX_LINE_BYTES => Err(TransferError::Line {
            line: number,
            message: format!("longer than {} MiB: not a record", MAX_LINE_BYTES / (1024 * 1024)),
        }),
        Ok(_) => Ok(true),
        Err(error) if error.kind() == std::io::ErrorKind::InvalidData => Err(TransferError::Line {
            line: number,
            message: "not UTF-8 text".into(),
        }),
        Err(error) => Err(TransferError::Read(error)),
    }
}

/// Checks the header line: an issues-app export, in this build's format.
fn check_header(text: &str) -> Result<(), TransferError> {
    let header: serde_json::Value = serde_json::from_str(text)
        .map_err(|_| TransferError::NotAnExport("its first line is not a JSON object".into()))?;
    if header.get("kind").and_then(serde_json::Value::as_str) != Some(HEADER_KIND) {
        return Err(TransferError::NotAnExport(format!(
            "its first line is not the header ({{\"kind\":\"{HEADER_KIND}\",…}})"
        )));
    }
    match header.get("version") {
        Some(version) if version.as_u64() == Some(FORMAT_VERSION) => Ok(()),
        Some(version) => Err(TransferError::UnsupportedVersion {
            found: version.to_string(),
        }),
        None => Err(TransferError::UnsupportedVersion { found: "none".into() }),
    }
}

/// serde_json's message without its position in the (one-line) text, with the column.
fn json_problem(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let bare = text.rsplit_once(" at line ").map_or(text.as_str(), |(bare, _)| bare);
    format!("{bare} (column {})", error.column())
}

fn parse_record(text: &str, line: usize) -> Result<Record, TransferError> {
    match serde_json::from_str::<Record>(text) {
        Ok(Record::Header(_)) => Err(TransferError::Line {
            line,
            message: "a second header: an export has one, on its first line".into(),
        }),
        Ok(record) => Ok(record),
        Err(error) => Err(TransferError::Line {
            line,
            message: json_problem(&error),
        }),
    }
}

/// Whether `db` has issues, labels or people. (Comments and their revisions, mentions, labels on
/// issues and issues' histories come with issues, as their foreign keys say; an audit trail alone
/// is not a team's: see `numbered_on_import`.)
async fn holds_a_team(db: &Db) -> Result<bool, sqlx::Error> {
    for sql in [
        "SELECT EXISTS (SELECT 1 FROM issues)",
        "SELECT EXISTS (SELECT 1 FROM labels)",
        "SELECT EXISTS (SELECT 1 FROM people)",
    ] {
        let found = on_db!(db, |pool| sqlx::query_scalar::<_, bool>(sql).fetch_one(pool).await)?;
        if found {
            return Ok(true);
        }
    }
    Ok(false)
}

/// One `INSERT` of `rows` (all of `table`).
fn insert(table: &Table, rows: &[(usize, Record)], postgres: bool, merge: bool) -> Sql {
    let mut sql = Sql::default();
    let (columns, skipped) = match table.numbered_on_import {
        true => (table.columns.trim_start_matches("id, "), 1),
        false => (table.columns, 0),
    };
    sql.push(&format!("INSERT INTO {} ({columns})", table.name));
    if postgres && table.identity {
        sql.push(" OVERRIDING SYSTEM VALUE");
    }
    sql.push(" VALUES ");
    for (index, (_, record)) in rows.iter().enumerate() {
        let values = record.values().into_iter().skip(skipped);
        let placeholders: Vec<String> = values.map(|value| sql.bind(value)).collect();
        if index > 0 {
            sql.push(", ");
        }
        sql.push(&format!("({})", placeholders.join(", ")));
    }
    if merge && let Some(clause) = table.on_merge {
        sql.push(" ");
        sql.push(clause);
    }
    sql
}

/// The statements storing `batch`: runs of one kind, at most `most` rows each, with the index
/// in `batch` of each one's first row.
fn inserts(batch: &[(usize, Record)], postgres: bool, merge: bool, most: usize) -> Vec<(usize, Sql)> {
    let mut statements = Vec::new();
    let mut start = 0;
    for run in batch.chunk_by(|(_, a), (_, b)| std::mem::discriminant(a) == std::mem::discriminant(b)) {
        for rows in run.chunks(most.max(1)) {
            if let Some(table) = rows.first().and_then(|(_, record)| record.table()) {
                statements.push((start, insert(table, rows, postgres, merge)));
            }
            start += rows.len();
        }
    }
    statements
}

/// Runs `statements` in one transaction: all or nothing.
async fn run_all(db: &Db, statements: &[(usize, Sql)]) -> Result<(), sqlx::Error> {
    on_db!(db, |pool| {
        let mut tx = pool.begin().await?;
        for (_, sql) in statements {
            if let Err(error) = bind_all!(sqlx::query(&sql.text), sql).execute(&mut *tx).await {
                // Undone now, not when the connection is next used: the retry row by row
                // runs on another connection and would find the database locked.
                tx.rollback().await?;
                return Err(error);
            }
        }
        tx.commit().await
    })
}

/// Runs `statements` in a transaction that is undone whatever happens, up to the first that
/// fails: its index, and why.
async fn first_failure(db: &Db, statements: &[(usize, Sql)]) -> Result<Option<(usize, sqlx::Error)>, sqlx::Error> {
    on_db!(db, |pool| {
        let mut tx = pool.begin().await?;
        for (index, sql) in statements {
            if let Err(error) = bind_all!(sqlx::query(&sql.text), sql).execute(&mut *tx).await {
                tx.rollback().await?;
                return Ok(Some((*index, error)));
            }
        }
        tx.rollback().await?;
        Ok(None)
    })
}

/// What the database said about a record it refused, for an operator.
fn refusal(record: &Record, error: &sqlx::Error) -> String {
    let what = record.describe();
    let label = matches!(record, Record::Label(_));
    match error {
        sqlx::Error::Database(error) if error.is_unique_violation() && label => format!(
            "{what}, or a label of that name, is already in the database (ids and names are kept as \
             exported): {}",
            error.message()
        ),
        sqlx::Error::Database(error) if error.is_unique_violation() => format!(
            "{what} is already in the database (ids are kept as exported): {}",
            error.message()
        ),
        sqlx::Error::Database(error) if error.is_foreign_key_violation() => format!(
            "{what} refers to {} neither in the database nor earlier in the export: {}",
            record.refers_to(),
            error.message()
        ),
        sqlx::Error::Database(error) => format!("{what}: {}", error.message()),
        error => format!("{what}: {error}"),
    }
}

/// Stores `batch` in one transaction. When the database refuses it, finds the line it refused
/// by trying the rows one at a time (undone again).
async fn write_batch(db: &Db, batch: &[(usize, Record)], merge: bool) -> Result<(), TransferError> {
    let postgres = matches!(db, Db::Postgres(_));
    let error = match run_all(db, &inserts(batch, postgres, merge, BATCH_ROWS)).await {
        Ok(()) => return Ok(()),
        Err(error @ sqlx::Error::Database(_)) => error,
        Err(error) => return Err(error.into()),
    };
    match first_failure(db, &inserts(batch, postgres, merge, 1)).await? {
        Some((index, failure)) => match batch.get(index) {
            Some((line, record)) => Err(TransferError::Line {
                line: *line,
                message: refusal(record, &failure),
            }),
            None => Err(failure.into()),
        },
        None => Err(error.into()),
    }
}

/// Reads the records after the header, storing them batch by batch.
async fn import_records(
    db: &Db,
    input: &mut impl BufRead,
    line: &mut String,
    merge: bool,
) -> Result<Counts, TransferError> {
    let mut counts = Counts::default();
    let mut batch: Vec<(usize, Record)> = Vec::with_capacity(BATCH_ROWS);
    let mut number = 1;
    loop {
        number += 1;
        let more = read_line(input, line, number)?;
        if more && line.trim().is_empty() {
            continue;
        }
        if more {
            batch.push((number, parse_record(line, number)?));
        }
        if batch.len() == BATCH_ROWS || (!more && !batch.is_empty()) {
            write_batch(db, &batch, merge).await?;
            for (_, record) in &batch {
                counts.add(record);
            }
            batch.clear();
        }
        if !more {
            return Ok(counts);
        }
    }
}

/// PostgreSQL draws new ids from sequences the import's given ids did not advance: each goes on
/// after the largest id now in its table (`issues`, `comments`, `comment_revisions`, `labels`,
/// `issue_events`; and `audit_events`, which the import numbers itself). (SQLite's
/// `AUTOINCREMENT` follows given ids itself.)
async fn continue_ids(db: &Db) -> Result<(), sqlx::Error> {
    let Db::Postgres(pool) = db else {
        return Ok(());
    };
    for table in TABLES {
        if !table.identity && !table.numbered_on_import {
            continue;
        }
        let table = table.name;
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM {table}"
        );
        sqlx::query(&sql).execute(pool).await?;
    }
    Ok(())
}

/// Reads an export (see the module's documentation) into `db`, keeping ids, authors and times;
/// what was stored, per kind. Refuses a database that already has issues, labels or people unless
/// `options.into_non_empty`. Lines are stored [`BATCH_ROWS`] per transaction: after a failure
/// the batches before the failing one stay (import into a fresh database again).
pub async fn import(
    db: &Db,
    mut input: impl std::io::BufRead,
    options: &ImportOptions,
) -> Result<Counts, TransferError> {
    ensure_current(db).await?;
    let mut line = String::new();
    match read_line(&mut input, &mut line, 1) {
        Ok(true) => check_header(&line)?,
        Ok(false) => return Err(TransferError::NotAnExport("the input is empty".into())),
        Err(TransferError::Line { message, .. }) => return Err(TransferError::NotAnExport(message)),
        Err(error) => return Err(error),
    }
    if !options.into_non_empty && holds_a_team(db).await? {
        return Err(TransferError::NotEmpty);
    }
    let imported = import_records(db, &mut input, &mut line, options.into_non_empty).await;
    // Also after a failure: the batches stored before it keep their ids.
    let continued = continue_ids(db).await;
    let counts = imported?;
    continued?;
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::super::record::tests::samples;
    use super::*;

    #[test]
    fn unknown_fields_are_refused_rather_than_dropped() {
        let line = r#"{"kind":"person","sub":"a","name":"A","last_seen_at":1,"email":"a@example.com"}"#;
        let error = parse_record(line, 9).unwrap_err();
        assert!(
            matches!(&error, TransferError::Line { line: 9, message } if message.contains("email")),
            "{error}"
        );
    }

    #[test]
    fn runs_of_one_kind_become_one_statement() {
        let mut batch: Vec<(usize, Record)> = samples().into_iter().enumerate().collect();
        batch.insert(1, batch[0].clone());
        if let Some((_, Record::Issue(issue))) = batch.get_mut(1) {
            issue.id = 8;
        }
        let statements = inserts(&batch, true, false, BATCH_ROWS);
        let starts: Vec<usize> = statements.iter().map(|(start, _)| *start).collect();
        assert_eq!(starts, [0, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert!(
            statements[0].1.text.starts_with("INSERT INTO issues (id, title"),
            "{}",
            statements[0].1.text
        );
        assert!(statements[0].1.text.contains("OVERRIDING SYSTEM VALUE VALUES ($1, $2"));
        assert_eq!(statements[0].1.params.len(), 36);
        // PostgreSQL is told to take the ids it would generate (comments and their revisions,
        // labels, issues' histories), not where there are none (mentions, labels on issues) or
        // where it numbers the rows (audit events).
        let texts: Vec<&str> = statements.iter().map(|(_, sql)| sql.text.as_str()).collect();
        for (text, start, overriding) in [
            (
                texts[1],
                "INSERT INTO comments (id, issue_id, body, author_sub, author_name, created_at, edited_at, \
                 deleted_at, hidden_by_name, hidden_by_sub)",
                true,
            ),
            (texts[2], "INSERT INTO comment_revisions (id, comment_id, body", true),
            (
                texts[3],
                "INSERT INTO mentions (issue_id, comment_id, sub, at) VALUES ($1, $2, $3, $4)",
                false,
            ),
            (texts[4], "INSERT INTO people (sub, name", false),
            (texts[5], "INSERT INTO labels (id, name, name_key, color", true),
            (
                texts[6],
                "INSERT INTO issue_labels (issue_id, label_id) VALUES ($1, $2)",
                false,
            ),
            (texts[7], "INSERT INTO issue_events (id, issue_id, kind", true),
            (texts[8], "INSERT INTO audit_events (at, request_id", false),
        ] {
            assert!(text.starts_with(start), "{text}");
            assert_eq!(text.contains("OVERRIDING SYSTEM VALUE"), overriding, "{text}");
        }
        assert_eq!(inserts(&batch, false, false, 1).len(), batch.len());
        assert!(!inserts(&batch, false, false, 1)[0].1.text.contains("OVERRIDING"));
    }
}
