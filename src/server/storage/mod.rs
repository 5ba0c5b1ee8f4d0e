//! What is kept: one repository per table group over the pool chosen once at start-up
//! (`db.rs`: SQLite or PostgreSQL), with exact in-process copies where this process is the only
//! writer (`local_cache.rs`); what is erased and when (`lifecycle.rs`), and a team's data moved
//! out and in (`transfer/`). Start at `db.rs`, then `issues/mod.rs`.

pub mod access_requests;
pub mod audit;
pub mod database_url;
pub mod db;
pub mod issues;
pub mod keyed_locks;
pub mod lifecycle;
pub mod local_cache;
pub mod logout_tokens_seen;
pub mod mail_queue;
pub mod notifications;
pub mod outbox;
pub mod people;
pub mod session_store;
pub mod sign_ins;
pub mod sql;
pub mod transfer;
pub mod tx;
pub mod webhooks;
