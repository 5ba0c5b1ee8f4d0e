//! Server-only code. Start reading at `startup.rs` (how the pieces are wired), then `state.rs`
//! (what a request handler is given) and `tracker.rs` (what the tracker does once a caller is
//! allowed). The folders are the layers, each depending only on those below it:
//! `http` (the edge: serving, guards, server functions, REST) → `auth` (sign-in, sessions,
//! tokens) and `delivery` (what changed, from the outbox to live pages and notifications) →
//! `storage` (the database) → `ops` (configuration, metrics, logs) and `support`
//! (clock, randomness, sealing, files).

pub mod auth;
pub mod delivery;
pub mod http;
pub mod ops;
pub mod startup;
pub mod state;
pub mod storage;
pub mod support;
pub mod tracker;
