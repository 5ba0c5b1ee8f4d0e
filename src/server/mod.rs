//! Server-only code: configuration, start-up, authentication, storage, HTTP.

pub mod auth;
pub mod config;
pub mod db;
pub mod functions;
pub mod issues;
pub mod local_cache;
pub mod pages;
pub mod rest;
pub mod seal;
pub mod security;
pub mod session_store;
pub mod sign_ins;
pub mod startup;
pub mod state;
pub mod telemetry;

use leptos::prelude::use_context;

/// In the Leptos context while the server-function handler answers a call (not while a page
/// renders and calls the same functions directly).
#[derive(Clone, Copy)]
pub struct AnsweringCall;

/// While answering a server-function call, sets the HTTP status of the answer. During
/// server-side rendering it does nothing: the page keeps its own status.
pub fn respond_with_status(status: u16) {
    if use_context::<AnsweringCall>().is_none() {
        return;
    }
    if let (Some(options), Ok(code)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        axum::http::StatusCode::from_u16(status),
    ) {
        options.set_status(code);
    }
}

/// A fresh random identifier: 32 bytes, base64url.
pub fn random_id() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        tracing::error!("system random number generator failed");
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Sets the status of the page being rendered (e.g. 404 for unknown paths).
pub fn respond_with_page_status(status: u16) {
    if let (Some(options), Ok(code)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        axum::http::StatusCode::from_u16(status),
    ) {
        options.set_status(code);
    }
}
