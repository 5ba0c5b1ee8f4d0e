//! The HTTP status of what Leptos answers, set in one place: a server-function call's status
//! follows its error; a page's status follows what it shows (404 for unknown paths).

use leptos::prelude::use_context;

/// In the Leptos context while the server-function handler answers a call (not while a page
/// renders and calls the same functions directly).
#[derive(Clone, Copy)]
pub struct AnsweringCall;

/// While answering a server-function call, sets the HTTP status of the answer. During
/// server-side rendering it does nothing: the page keeps its own status.
pub fn of_call(status: u16) {
    if use_context::<AnsweringCall>().is_some() {
        set(status);
    }
}

/// Sets the status of the page being rendered.
pub fn of_page(status: u16) {
    set(status);
}

fn set(status: u16) {
    if let (Some(options), Ok(code)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        axum::http::StatusCode::from_u16(status),
    ) {
        options.set_status(code);
    }
}
