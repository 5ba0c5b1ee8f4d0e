//! The operator's commands beside serving and `check`: `backup`, `export`, `import` and
//! `forget-person`. Each opens the database config.json names, does one thing and says what it
//! did in one line.

use std::io::{BufReader, BufWriter, Write};
use std::path::Path;

use crate::server::ops::backup::{self, BackupError};
use crate::server::ops::config::Config;
use crate::server::storage::audit::{AuditTrail, Event, EventKind};
use crate::server::storage::db::{Db, DbError, MigrationError};
use crate::server::storage::lifecycle;
use crate::server::storage::transfer::{self, ExportOptions, ImportOptions, TransferError};
use crate::server::support::files;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Backup(#[from] BackupError),
    #[error(transparent)]
    Transfer(#[from] TransferError),
    #[error("cannot open the database: {0}")]
    Open(#[from] DbError),
    #[error(transparent)]
    Migrate(#[from] MigrationError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{path}: {source}")]
    File { path: String, source: std::io::Error },
    #[error("no one with subject id `{0}` has signed in here: nothing to forget")]
    UnknownPerson(String),
}

fn file_error(path: &Path) -> impl Fn(std::io::Error) -> AdminError + '_ {
    move |source| AdminError::File {
        path: path.display().to_string(),
        source,
    }
}

/// `backup --to FILE`.
pub async fn backup(config: &Config, to: &Path) -> Result<String, AdminError> {
    let bytes = backup::backup(config, to).await?;
    Ok(format!("backed up to {} ({bytes} bytes)", to.display()))
}

/// `export [--audit] [--to FILE]`: JSON Lines to the file or stdout.
pub async fn export(config: &Config, audit: bool, to: Option<&Path>) -> Result<String, AdminError> {
    let db = Db::connect_to_read(&config.database_url).await?;
    let options = ExportOptions { audit };
    let counts = match to {
        Some(path) => {
            // Private from the first byte (an export holds every issue and name), and under its
            // name only when complete.
            let (partial, file) = files::Partial::create(path).map_err(file_error(path))?;
            let mut out = BufWriter::new(file);
            let counts = transfer::export(&db, &mut out, &options).await?;
            out.flush().map_err(file_error(partial.path()))?;
            partial.finish().map_err(file_error(path))?;
            counts
        }
        None => {
            let mut out = BufWriter::new(std::io::stdout().lock());
            let counts = transfer::export(&db, &mut out, &options).await?;
            out.flush().map_err(file_error(Path::new("stdout")))?;
            counts
        }
    };
    db.close().await;
    Ok(format!("exported {counts}"))
}

/// `import [--into-non-empty] FROM`: the database is written, so (SQLite) the app must be stopped.
pub async fn import(config: &Config, from: &Path, into_non_empty: bool) -> Result<String, AdminError> {
    let (db, _writer) = Db::connect(&config.database_url, 2).await?;
    db.migrate().await?;
    let options = ImportOptions { into_non_empty };
    let counts = match from == Path::new("-") {
        true => transfer::import(&db, std::io::stdin().lock(), &options).await?,
        false => {
            let file = std::fs::File::open(from).map_err(file_error(from))?;
            transfer::import(&db, BufReader::new(file), &options).await?
        }
    };
    db.close().await;
    Ok(format!("imported {counts}"))
}

/// `forget-person SUB`: the person's name is replaced everywhere; the change is audited.
pub async fn forget_person(config: &Config, sub: &str) -> Result<String, AdminError> {
    let (db, _writer) = Db::connect(&config.database_url, 2).await?;
    db.migrate().await?;
    let forgotten = lifecycle::forget_person(&db, sub).await?;
    if forgotten == 0 {
        return Err(AdminError::UnknownPerson(sub.to_string()));
    }
    let mut event = Event::new(EventKind::PersonForgotten);
    event.detail = Some(format!(
        "subject {sub}: name replaced in {forgotten} rows, by `issues-app forget-person`"
    ));
    AuditTrail::new(db.clone()).record(event).await;
    db.close().await;
    Ok(format!(
        "forgot {sub}: {forgotten} rows now say \"{}\"",
        lifecycle::FORMER_MEMBER
    ))
}
