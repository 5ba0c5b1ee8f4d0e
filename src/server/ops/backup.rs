//! `issues-app backup --to FILE`: a consistent copy of the embedded SQLite database, made while
//! the app serves (SQLite's `VACUUM INTO` reads one snapshot; writers go on meanwhile). A
//! PostgreSQL database is backed up with `pg_dump` (the README gives the recipe) or with
//! `issues-app export`.

use std::path::{Path, PathBuf};

use crate::server::ops::config::Config;
use crate::server::storage::db::{Db, DbError};

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "the database is PostgreSQL: back it up with pg_dump (see the README's \"Backing up\"), or with `issues-app export`"
    )]
    NotSqlite,
    #[error("{0} exists already: name a new file (a backup never overwrites one)")]
    Exists(PathBuf),
    #[error("{path}: {source}")]
    Target { path: PathBuf, source: std::io::Error },
    #[error("cannot open the database: {0}")]
    Open(#[from] DbError),
    #[error("the copy failed: {0}")]
    Copy(#[from] sqlx::Error),
}

/// Copies the database `config` names to `to`, which must not exist yet; returns its size.
pub async fn backup(config: &Config, to: &Path) -> Result<u64, BackupError> {
    let Some(file) = config.database_url.sqlite_file() else {
        return Err(BackupError::NotSqlite);
    };
    if to.exists() {
        return Err(BackupError::Exists(to.to_path_buf()));
    }
    let failed = |source| BackupError::Target {
        path: to.to_path_buf(),
        source,
    };
    if let Some(parent) = to.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(failed)?;
    }
    // The running instance holds the file's lock; reading needs none.
    let db = match Db::connect(&config.database_url, 1).await {
        Ok((db, _writer)) => db,
        Err(DbError::InUse { .. }) => Db::open_read_only(file).await?,
        Err(error) => return Err(error.into()),
    };
    // Written beside the target and renamed into place: a failed copy leaves no half a backup.
    let partial = to.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    let copied = db.vacuum_into(&partial).await;
    db.close().await;
    if let Err(error) = copied {
        let _ = std::fs::remove_file(&partial);
        return Err(error.into());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o600)).map_err(failed)?;
    }
    std::fs::rename(&partial, to).map_err(failed)?;
    std::fs::metadata(to).map(|meta| meta.len()).map_err(failed)
}
