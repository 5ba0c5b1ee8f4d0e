//! `issues-app backup --to FILE`: a consistent copy of the embedded SQLite database, made while
//! the app serves (SQLite's `VACUUM INTO` reads one snapshot; writers go on meanwhile). A
//! PostgreSQL database is backed up with `pg_dump` (the README gives the recipe) or with
//! `issues-app export`.

use std::path::{Path, PathBuf};

use crate::server::ops::config::Config;
use crate::server::storage::db::{Db, DbError};
use crate::server::support::files::Partial;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "the database is PostgreSQL: back it up with pg_dump (see the README's \"Backing up, moving and upgrading\"), or with `issues-app export`"
    )]
    NotSqlite,
    #[error("{path}: {source}")]
    Target { path: PathBuf, source: std::io::Error },
    #[error("cannot open the database: {0}")]
    Open(#[from] DbError),
    #[error("the copy failed: {0}")]
    Copy(#[from] sqlx::Error),
}

/// Copies the database `config` names to `to`, which must not exist yet; returns its size.
pub async fn backup(config: &Config, to: &Path) -> Result<u64, BackupError> {
    if !config.database_url.is_sqlite() {
        return Err(BackupError::NotSqlite);
    }
    let failed = |source| BackupError::Target {
        path: to.to_path_buf(),
        source,
    };
    let db = Db::connect_to_read(&config.database_url).await?;
    // Into an empty file made private first (VACUUM INTO fills an empty file), renamed into
    // place when complete: nobody reads the copy while it is made, or half of it after.
    let (partial, _file) = Partial::create(to).map_err(failed)?;
    let copied = db.vacuum_into(partial.path()).await;
    db.close().await;
    copied?;
    partial.finish().map_err(failed)?;
    std::fs::metadata(to).map(|meta| meta.len()).map_err(failed)
}
