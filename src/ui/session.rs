//! The caller's session as the UI sees it: loaded once per page from the `session_info` server
//! function and shared with every page through context.

use leptos::prelude::*;

use crate::access::SessionView;
use crate::error::AppError;

#[derive(Clone, Copy)]
pub struct SessionContext(pub Resource<Result<SessionView, AppError>>);

/// Loads the session for this page and shares it; called once, by the app.
pub fn provide_session() {
    let session = Resource::new(|| (), |_| crate::api::session_info());
    provide_context(SessionContext(session));
}

pub fn use_session() -> Resource<Result<SessionView, AppError>> {
    expect_context::<SessionContext>().0
}
