//! Server-only code: configuration, start-up, authentication, storage, HTTP.

pub mod auth;
pub mod clock;
pub mod config;
pub mod db;
pub mod detach;
pub mod files;
pub mod functions;
pub mod issues;
pub mod keyed_locks;
pub mod local_cache;
pub mod logout_tokens_seen;
pub mod pages;
pub mod random;
pub mod rest;
pub mod seal;
pub mod security;
pub mod serve;
pub mod session_store;
pub mod sign_ins;
pub mod startup;
pub mod state;
pub mod status;
pub mod telemetry;
pub mod time_limit;
