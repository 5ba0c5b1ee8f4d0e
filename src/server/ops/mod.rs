//! What operators touch (and auditors: the access review, `access_review.rs`): config.json (`config/`: the file as written, checked once), its live
//! reload (`live.rs`), the command line (`cli.rs`): `check` (`check.rs`), `backup` (`backup.rs`),
//! `export`, `import` and `forget-person` (`admin.rs`); metrics, logs (`telemetry.rs`), the heap's
//! live bytes (`heap.rs`, for the soak) and the
//! embedded development identity provider. Start at `config/checker.rs`.

pub mod access_review;
pub mod admin;
pub mod backup;
pub mod check;
pub mod cli;
pub mod config;
#[cfg(feature = "dev-idp")]
pub mod embedded_idp;
pub mod heap;
pub mod live;
pub mod metrics;
pub mod telemetry;
