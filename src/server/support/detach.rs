//! Work that must finish once started, even when the request that started it goes away (a
//! client disconnecting drops its handler's future at any `.await`): a database write and the
//! in-memory copy that follows it never come apart, and tokens a provider has just rotated are
//! stored.

use std::future::Future;

/// Runs `work` on its own task and waits for it. If the caller is dropped, the work goes on.
pub async fn detached<F>(work: F) -> Result<F::Output, tokio::task::JoinError>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(work).await
}
