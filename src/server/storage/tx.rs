//! A database transaction on whichever backend is configured (`Db::begin` opens one):
//! statements run inside it with `on_tx!`, as `on_db!` runs them on the pool, and are kept
//! together by [`Tx::commit`] or undone together by [`Tx::rollback`] (or by dropping it).

use std::pin::Pin;

use sqlx::{Postgres, Sqlite, Transaction};

pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// What a unit of work run in a transaction returns (`|tx| Box::pin(async move { … })`): a
/// future borrowing the transaction for `'t`.
pub type TxWork<'t, T> = Pin<Box<dyn Future<Output = Result<T, sqlx::Error>> + Send + 't>>;

/// Runs `$body` with `$conn` bound to the connection of `$tx` (a `&mut Tx`): a
/// `&mut SqliteConnection` or `&mut PgConnection`; pass it on as `&mut *$conn` to run more than
/// one statement.
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, |$conn:ident| $body:expr) => {
        match $tx {
            $crate::server::storage::tx::Tx::Sqlite(transaction) => {
                let $conn = &mut **transaction;
                $body
            }
            $crate::server::storage::tx::Tx::Postgres(transaction) => {
                let $conn = &mut **transaction;
                $body
            }
        }
    };
}

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Self::Sqlite(transaction) => transaction.commit().await,
            Self::Postgres(transaction) => transaction.commit().await,
        }
    }

    /// Undoes it now. (Dropping it undoes it too, but not at once: meanwhile SQLite's write
    /// lock would stay taken.)
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self {
            Self::Sqlite(transaction) => transaction.rollback().await,
            Self::Postgres(transaction) => transaction.rollback().await,
        }
    }
}
