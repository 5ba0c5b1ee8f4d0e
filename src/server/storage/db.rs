//! The database: SQLite (embedded default) or Postgres, chosen once by the URL. Queries are
//! written once with `$N` placeholders, which both dialects accept; `on_db!` runs the same code
//! on whichever pool is configured. With SQLite this process must be the only writer: the file
//! is locked for as long as the app runs (a second process refuses to start), which is what
//! lets the repositories keep exact copies in memory.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::{Migrate, MigrateError, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgSslMode};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use crate::error::AppError;
use crate::server::storage::database_url::DatabaseUrl;
use crate::server::storage::tx::Tx;
use crate::server::support::files;
use crate::server::support::network::is_loopback_host;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("{0}")]
    Sqlx(#[from] sqlx::Error),
    #[error(
        "the SQLite database {path} is in use by another issues-app process. SQLite allows one \
         instance per database file; to run several instances, use PostgreSQL \
         (`Server.DatabaseUrl`: postgres://…)"
    )]
    InUse { path: String },
    #[error("the SQLite database {path}: {source}")]
    File { path: String, source: std::io::Error },
    #[error("there is no SQLite database at {path} (check Server.DataDir or Server.DatabaseUrl)")]
    Missing { path: String },
}

/// Migrating failed.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("{}", newer_database(.0))]
    Newer(Vec<i64>),
    #[error("database migration failed: {0}")]
    Failed(MigrateError),
}

/// What is said wherever a database a newer build wrote is met (start-up, `check`, the
/// commands): the migrations this build does not know, and what to do.
pub fn newer_database(versions: &[i64]) -> String {
    let list: Vec<String> = versions.iter().map(i64::to_string).collect();
    format!(
        "the database was written by a newer issues-app (migration {} unknown to this build): \
         run that build, or restore a backup made before it",
        list.join(", ")
    )
}

/// Held while the app runs: the SQLite file's single-writer lock (released on drop, and by
/// the operating system when the process ends however it ends).
#[derive(Debug)]
pub struct SingleWriter {
    file: std::fs::File,
}

impl SingleWriter {
    /// Writes who holds the lock into the lock file (`listening on ADDRESS, pid N`), so that
    /// `issues-app check` can tell the running instance of the same configuration from another.
    pub fn announce(&self, listening: SocketAddr) -> std::io::Result<()> {
        use std::io::{Seek, Write};
        let mut file = &self.file;
        file.set_len(0)?;
        file.rewind()?;
        file.write_all(format!("listening on {listening}, pid {}\n", std::process::id()).as_bytes())
    }
}

/// The address the holder of an SQLite file's lock announced (see [`SingleWriter::announce`]).
pub fn holder_of(sqlite_file: &std::path::Path) -> Option<SocketAddr> {
    let text = std::fs::read_to_string(lock_path(sqlite_file)).ok()?;
    let rest = text.strip_prefix("listening on ")?;
    rest.split([',', '\n']).next()?.trim().parse().ok()
}

fn lock_path(sqlite_file: &std::path::Path) -> std::path::PathBuf {
    let mut lock_path = sqlite_file.as_os_str().to_owned();
    lock_path.push(".lock");
    lock_path.into()
}

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// The database's migrations against this build's (`issues-app check`).
#[derive(Debug, Default)]
pub struct MigrationStatus {
    /// Applied, and the same as this build's.
    pub applied: usize,
    /// This build's, not applied yet (start-up applies them).
    pub pending: usize,
    /// Applied by a newer build: this one does not know them.
    pub unknown: Vec<i64>,
    /// Applied with different contents than this build's.
    pub changed: Vec<i64>,
}

#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the concrete pool.
#[macro_export]
macro_rules! on_db {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::server::storage::db::Db::Sqlite($pool) => $body,
            $crate::server::storage::db::Db::Postgres($pool) => $body,
        }
    };
}

impl Db {
    /// Connects; with SQLite, creates the file private (0600, directory 0700) and takes its
    /// single-writer lock.
    pub async fn connect(url: &DatabaseUrl, max_connections: u32) -> Result<(Self, Option<SingleWriter>), DbError> {
        if url.is_sqlite() {
            let options = SqliteConnectOptions::from_str(url.as_str())?
                .create_if_missing(true)
                // WAL: readers never wait for the writer; NORMAL sync is durable across a
                // process crash (kill -9), which is what an acknowledged write must survive.
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true);
            let writer = match url.sqlite_file() {
                None => None,
                Some(_) => Some(lock_sqlite_file(options.get_filename())?),
            };
            let pool = SqlitePoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(5))
                .connect_with(options)
                .await?;
            Ok((Self::Sqlite(pool), writer))
        } else {
            let options = postgres_options(url.as_str())?;
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(5))
                .connect_with(options)
                .await?;
            Ok((Self::Postgres(pool), None))
        }
    }

    /// Opens an SQLite file that another process holds, only to read it (`issues-app check`
    /// beside the running instance): no lock is taken and nothing is written.
    pub async fn open_read_only(sqlite_file: &std::path::Path) -> Result<Self, DbError> {
        let options = SqliteConnectOptions::new().filename(sqlite_file).read_only(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        Ok(Self::Sqlite(pool))
    }

    /// Opens one connection to a PostgreSQL URL and closes it: the server's own refusal (wrong
    /// password, no such database, connection refused), where a pool would only time out.
    pub async fn reach_postgres(url: &str) -> Result<(), sqlx::Error> {
        use sqlx::Connection;
        let connection = sqlx::PgConnection::connect_with(&postgres_options(url)?).await?;
        connection.close().await
    }

    /// A transaction: what runs in it (`on_tx!`) is kept or undone as one.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            // IMMEDIATE: the write lock is taken (waiting out the busy timeout) before anything is
            // read. A deferred transaction upgrading later is refused at once ("database is
            // locked") when another connection wrote meanwhile; seen with a backup running.
            Self::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Self::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Whether this process is the database's only writer (embedded SQLite), so copies kept in
    /// memory are exact.
    pub fn single_writer(&self) -> bool {
        matches!(self, Self::Sqlite(_))
    }

    /// Brings the schema up to date; a database a newer build wrote is refused, saying so.
    pub async fn migrate(&self) -> Result<(), MigrationError> {
        let ran = match self {
            Self::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await,
            Self::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await,
        };
        ran.map_err(|error| match error {
            MigrateError::VersionMissing(version) => MigrationError::Newer(vec![version]),
            other => MigrationError::Failed(other),
        })
    }

    /// Connects to read only, changing nothing: beside the running instance (which holds an
    /// SQLite file's lock) the file is opened read-only; a missing SQLite file is an error, not
    /// made.
    pub async fn connect_to_read(url: &DatabaseUrl) -> Result<Self, DbError> {
        if let Some(file) = url.sqlite_file()
            && !file.exists()
        {
            return Err(DbError::Missing {
                path: file.display().to_string(),
            });
        }
        match Self::connect(url, 2).await {
            Ok((db, _writer)) => Ok(db),
            Err(DbError::InUse { path }) => match url.sqlite_file() {
                Some(file) => Self::open_read_only(file).await,
                None => Err(DbError::InUse { path }),
            },
            Err(error) => Err(error),
        }
    }

    /// How the database's applied migrations compare with this build's, changing nothing.
    pub async fn migration_status(&self) -> Result<MigrationStatus, MigrateError> {
        let (known, has_table) = match self {
            Self::Sqlite(_) => (
                &SQLITE_MIGRATIONS,
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations')",
            ),
            Self::Postgres(_) => (
                &POSTGRES_MIGRATIONS,
                "SELECT to_regclass('_sqlx_migrations') IS NOT NULL",
            ),
        };
        let applied = on_db!(self, |pool| {
            let table: bool = sqlx::query_scalar(has_table).fetch_one(pool).await?;
            match table {
                true => pool.acquire().await?.list_applied_migrations().await?,
                false => Vec::new(),
            }
        });
        let known: Vec<_> = known.iter().filter(|m| m.migration_type.is_up_migration()).collect();
        let mut status = MigrationStatus::default();
        for migration in &applied {
            match known.iter().find(|m| m.version == migration.version) {
                None => status.unknown.push(migration.version),
                Some(m) if m.checksum != migration.checksum => status.changed.push(migration.version),
                Some(_) => status.applied += 1,
            }
        }
        status.pending = known
            .iter()
            .filter(|m| !applied.iter().any(|a| a.version == m.version))
            .count();
        Ok(status)
    }

    /// Connections of the pool: (in use, idle).
    pub fn pool_connections(&self) -> (u32, u32) {
        on_db!(self, |pool| {
            let idle = pool.num_idle() as u32;
            (pool.size().saturating_sub(idle), idle)
        })
    }

    /// A cheap round trip, for readiness.
    pub async fn ping(&self) -> bool {
        let result: Result<i32, sqlx::Error> =
            on_db!(self, |pool| sqlx::query_scalar("SELECT 1").fetch_one(pool).await);
        result.is_ok()
    }

    /// Writes a consistent copy of an SQLite database to `file` (`VACUUM INTO`: one snapshot,
    /// while others go on writing). PostgreSQL has `pg_dump` for that.
    pub async fn vacuum_into(&self, file: &std::path::Path) -> Result<(), sqlx::Error> {
        match self {
            Self::Sqlite(pool) => {
                let target = file
                    .to_str()
                    .ok_or_else(|| sqlx::Error::Protocol("the backup's path is not UTF-8".into()))?;
                sqlx::query("VACUUM INTO ?")
                    .bind(target)
                    .execute(pool)
                    .await
                    .map(|_| ())
            }
            Self::Postgres(_) => Err(sqlx::Error::Protocol("VACUUM INTO is SQLite's".into())),
        }
    }

    /// Closes the pool's connections (a command that ends, not the server).
    pub async fn close(&self) {
        match self {
            Self::Sqlite(pool) => pool.close().await,
            Self::Postgres(pool) => pool.close().await,
        }
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }
}

/// The PostgreSQL connection options. Without `sslmode=` in the URL: on this machine plain TCP
/// (or a socket); anywhere else TLS with the server's certificate verified against the web's
/// root authorities and its name checked (`verify-full`) — `require` alone would encrypt to
/// whoever answers. A URL's own `sslmode=` (and `sslrootcert=` for a private CA), or the
/// `PGSSLMODE` environment variable, is honoured.
fn postgres_options(url: &str) -> Result<PgConnectOptions, sqlx::Error> {
    let options = PgConnectOptions::from_str(url)?;
    let chosen_in_url = url::Url::parse(url).is_ok_and(|url| {
        url.query_pairs()
            .any(|(name, _)| name == "sslmode" || name == "ssl-mode")
    });
    if chosen_in_url || std::env::var_os("PGSSLMODE").is_some() {
        return Ok(options);
    }
    // A socket directory, or a host on this machine.
    let host = options.get_host();
    let loopback = host.starts_with('/') || url::Host::parse(host).is_ok_and(|host| is_loopback_host(&host));
    Ok(options.ssl_mode(if loopback {
        PgSslMode::Disable
    } else {
        PgSslMode::VerifyFull
    }))
}

/// Creates the database file private (SQLite gives its WAL and shared-memory files the same
/// permissions) and takes an exclusive lock on `<file>.lock` beside it, held until the app
/// stops. (Not on the database file itself: closing any descriptor of that file would drop
/// SQLite's own POSIX locks on it.)
fn lock_sqlite_file(path: &std::path::Path) -> Result<SingleWriter, DbError> {
    let failed = |source| DbError::File {
        path: path.display().to_string(),
        source,
    };
    if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        files::create_private_dir(parent).map_err(failed)?;
    }
    if !path.exists() {
        files::open_private(path).map_err(failed)?;
    }
    let file = files::open_private(&lock_path(path)).map_err(failed)?;
    match file.try_lock() {
        Ok(()) => Ok(SingleWriter { file }),
        Err(std::fs::TryLockError::WouldBlock) => Err(DbError::InUse {
            path: path.display().to_string(),
        }),
        Err(std::fs::TryLockError::Error(source)) => Err(failed(source)),
    }
}

/// A database error as the browser and API clients see it: the database being unreachable is
/// "unavailable" (503); anything else is internal (500). Logged here, once.
pub fn database_error(error: sqlx::Error) -> AppError {
    tracing::error!(%error, "database error");
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => AppError::Unavailable,
        _ => AppError::Internal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_off_this_machine_verifies_the_server_certificate_by_default() {
        let mode = |url: &str| postgres_options(url).unwrap().get_ssl_mode();
        assert!(matches!(
            mode("postgres://u:p@db.example.com/issues"),
            PgSslMode::VerifyFull
        ));
        assert!(matches!(
            mode("postgres://u:p@10.0.0.7:5432/issues"),
            PgSslMode::VerifyFull
        ));
        assert!(matches!(mode("postgres://u:p@127.0.0.1/issues"), PgSslMode::Disable));
        assert!(matches!(mode("postgres://u:p@localhost/issues"), PgSslMode::Disable));
        assert!(matches!(mode("postgres://u:p@[::1]/issues"), PgSslMode::Disable));
        // What the URL says wins.
        assert!(matches!(
            mode("postgres://u:p@db.example.com/issues?sslmode=require"),
            PgSslMode::Require
        ));
    }
}
