//! The database: reachable, not newer than this build, who holds it, migrations to apply.

use std::path::Path;

use super::report::{Report, with_causes};
use crate::server::ops::config::Config;
use crate::server::storage::db::{Db, DbError, holder_of, newer_database};

pub(super) async fn check_database(config: &Config, report: &mut Report) {
    let url = &config.database_url;
    let backend = url.backend_name();
    if let Some(file) = url.sqlite_file()
        && !file.exists()
    {
        // Checking changes nothing: the file is made at start-up.
        let parent = file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let creatable = parent
            .ancestors()
            .find(|dir| dir.exists())
            .is_some_and(|dir| dir.metadata().is_ok_and(|m| !m.permissions().readonly()));
        match creatable {
            true => report.ok(
                "database",
                format!("SQLite database {} will be made at start-up", file.display()),
            ),
            false => report.problem(
                "database",
                format!(
                    "SQLite database {} cannot be made: its directory is not writable",
                    file.display()
                ),
                "set Server.DataDir (or Server.DatabaseUrl) to a writable place",
            ),
        }
        return;
    }
    if !url.is_sqlite()
        && let Err(error) = Db::reach_postgres(url.as_str()).await
    {
        report.problem(
            "database",
            format!("PostgreSQL database: cannot connect: {}", with_causes(&error)),
            "check Server.DatabaseUrl (or ISSUES_APP_DATABASE_URL): host, port, user, password and database name",
        );
        return;
    }
    let db = match Db::connect(url, 1).await {
        Ok((db, _single_writer)) => db,
        Err(DbError::InUse { path }) => match url.sqlite_file().map(|file| (holder_of(file), file)) {
            // The usual "did my edit break anything?" before a reload: this configuration's own
            // instance holds the file; read it without taking the lock.
            Some((Some(holder), file)) if holder == config.listen => {
                report.note(
                    "database",
                    format!("SQLite database {path} is in use by this configuration's running instance (on {holder}): read only"),
                );
                match Db::open_read_only(file).await {
                    Ok(db) => db,
                    Err(error) => {
                        report.problem(
                            "database",
                            format!("SQLite database {path}: cannot read it: {error}"),
                            "check the file's permissions for this user",
                        );
                        return;
                    }
                }
            }
            holder => {
                let by = match holder.and_then(|(holder, _)| holder) {
                    Some(holder) => format!("the issues-app on {holder}"),
                    None => "another process (a running issues-app?)".to_string(),
                };
                report.problem(
                    "database",
                    format!("SQLite database {path} is held by {by}: a second instance would not start"),
                    "stop the other process; to run several instances use PostgreSQL (Server.DatabaseUrl: postgres://…)",
                );
                return;
            }
        },
        Err(error) => {
            report.problem(
                "database",
                format!("{backend} database: cannot connect: {error}"),
                "check Server.DatabaseUrl (or ISSUES_APP_DATABASE_URL): host, port, user, password and database name",
            );
            return;
        }
    };
    report.ok("database", format!("{backend} database reachable"));
    match db.migration_status().await {
        Ok(status) if !status.unknown.is_empty() => report.problem(
            "database",
            newer_database(&status.unknown),
            "see the README's \"Backing up, moving and upgrading\"",
        ),
        Ok(status) if !status.changed.is_empty() => report.problem(
            "database",
            format!("migrations {:?} were applied with different contents", status.changed),
            "a migration file was edited after it was applied: restore it as released",
        ),
        Ok(status) => report.ok(
            "database",
            format!(
                "migrations: {} applied, {} to apply at start-up",
                status.applied, status.pending
            ),
        ),
        Err(error) => report.problem(
            "database",
            format!("cannot read the applied migrations: {error}"),
            "check that the database user may read the _sqlx_migrations table",
        ),
    }
}
