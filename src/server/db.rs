//! The database: SQLite (embedded default) or Postgres, chosen by the URL. Queries are written
//! once with `$N` placeholders, which both dialects accept; `on_db!` runs the same code on
//! whichever pool is configured.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgSslMode};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

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
            $crate::server::db::Db::Sqlite($pool) => $body,
            $crate::server::db::Db::Postgres($pool) => $body,
        }
    };
}

impl Db {
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, sqlx::Error> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                // WAL: readers never wait for the writer; NORMAL sync is durable across a
                // process crash (kill -9), which is what an acknowledged write must survive.
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true);
            if let Some(parent) =
                sqlite_file(url).and_then(|f| std::path::Path::new(&f).parent().map(|p| p.to_path_buf()))
            {
                std::fs::create_dir_all(parent)?;
            }
            let pool = SqlitePoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(5))
                .connect_with(options)
                .await?;
            Ok(Self::Sqlite(pool))
        } else {
            let mut options = PgConnectOptions::from_str(url)?;
            // TLS is required off this machine and off on loopback, unless the URL says
            // otherwise with `sslmode=`.
            if !url.contains("sslmode=") {
                let loopback = matches!(options.get_host(), "localhost" | "127.0.0.1" | "::1")
                    || options.get_host().starts_with('/');
                options = options.ssl_mode(if loopback {
                    PgSslMode::Disable
                } else {
                    PgSslMode::Require
                });
            }
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(5))
                .connect_with(options)
                .await?;
            Ok(Self::Postgres(pool))
        }
    }

    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        match self {
            Self::Sqlite(pool) => sqlx::migrate!("./migrations/sqlite").run(pool).await,
            Self::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await,
        }
    }

    /// A cheap round trip, for readiness.
    pub async fn ping(&self) -> bool {
        let result: Result<i32, sqlx::Error> =
            on_db!(self, |pool| sqlx::query_scalar("SELECT 1").fetch_one(pool).await);
        result.is_ok()
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }
}

fn sqlite_file(url: &str) -> Option<String> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| path.to_string())
}
