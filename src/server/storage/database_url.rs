//! `Server.DatabaseUrl`, read once into what it names: an SQLite file (or an in-memory SQLite
//! database) or a PostgreSQL server. Everything that must know which backend it is asks this
//! type; nothing else looks at the URL's prefix. Its `Debug` hides a password.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    url: String,
    backend: Backend,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Backend {
    /// The file, or `None` in memory.
    Sqlite(Option<PathBuf>),
    Postgres,
}

impl DatabaseUrl {
    /// `sqlite:…` or `postgres://…` / `postgresql://…`; anything else is refused with what was
    /// expected (the refusal never repeats a password).
    pub fn parse(url: &str) -> Result<Self, String> {
        let backend = if url.starts_with("sqlite:") {
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            let file = match in_memory {
                true => None,
                false => Some(
                    sqlx::sqlite::SqliteConnectOptions::from_str(url)
                        .map_err(|error| format!("not an SQLite URL: {error}"))?
                        .get_filename()
                        .to_path_buf(),
                ),
            };
            Backend::Sqlite(file)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(format!(
                "expected sqlite://FILE or postgres://…, got `{}`",
                url.split('@').next_back().unwrap_or_default()
            ));
        };
        Ok(Self {
            url: url.to_owned(),
            backend,
        })
    }

    /// The SQLite file in the data directory: the default.
    pub fn sqlite_in(data_dir: &Path) -> Self {
        let file = data_dir.join("issues.db");
        Self {
            url: format!("sqlite://{}?mode=rwc", file.display()),
            backend: Backend::Sqlite(Some(file)),
        }
    }

    /// The URL as written (it may hold a password: never log it).
    pub fn as_str(&self) -> &str {
        &self.url
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(self.backend, Backend::Sqlite(_))
    }

    /// The SQLite database's file; `None` for PostgreSQL and in-memory databases.
    pub fn sqlite_file(&self) -> Option<&Path> {
        match &self.backend {
            Backend::Sqlite(file) => file.as_deref(),
            Backend::Postgres => None,
        }
    }

    /// "SQLite" or "PostgreSQL", for people.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match url::Url::parse(&self.url) {
            Ok(mut url) if url.password().is_some() => {
                let _ = url.set_password(Some("redacted"));
                write!(f, "DatabaseUrl({url})")
            }
            _ => write!(f, "DatabaseUrl({})", self.url),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prefix_decides_the_backend_once() {
        let file = DatabaseUrl::parse("sqlite://data/issues.db?mode=rwc").unwrap();
        assert!(file.is_sqlite());
        assert_eq!(file.sqlite_file(), Some(Path::new("data/issues.db")));
        let memory = DatabaseUrl::parse("sqlite::memory:").unwrap();
        assert!(memory.is_sqlite() && memory.sqlite_file().is_none());
        for url in ["postgres://u:p@db/issues", "postgresql://db/issues"] {
            let postgres = DatabaseUrl::parse(url).unwrap();
            assert!(!postgres.is_sqlite() && postgres.sqlite_file().is_none());
            assert_eq!(postgres.backend_name(), "PostgreSQL");
        }
    }

    #[test]
    fn a_refusal_and_debug_never_show_the_password() {
        let refused = DatabaseUrl::parse("mysql://user:secret@db/issues").unwrap_err();
        assert!(
            refused.contains("db/issues") && !refused.contains("secret"),
            "{refused}"
        );
        let debug = format!("{:?}", DatabaseUrl::parse("postgres://user:secret@db/issues").unwrap());
        assert!(!debug.contains("secret") && debug.contains("db/issues"), "{debug}");
    }
}
