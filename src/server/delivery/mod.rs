//! What changed reaches the people and programs allowed to see it, read from the outbox
//! (`storage::outbox`), never from the change itself: `feed.rs` tails it for this instance's
//! live streams (the board and issue pages, `http::live_stream`), `notify.rs` turns each change
//! into the notifications of the people it concerns, `mail.rs` mails them (as it happens or a
//! daily digest), `webhooks.rs` posts changes to the programs config.json lists. Whether a reader may see a change is decided when it is
//! delivered, with the scopes they hold then.

pub mod feed;
pub mod mail;
pub mod notify;
pub mod webhooks;

use std::time::Duration;

use tokio::sync::watch;

/// How often a reader looks at the outbox when nothing woke it: what a lost wake-up costs.
pub const POLL: Duration = Duration::from_secs(2);

/// Resolves when `writes` says this process wrote (never again once its sender is gone).
async fn wrote(writes: &mut watch::Receiver<u64>) {
    if writes.changed().await.is_err() {
        std::future::pending::<()>().await;
    }
}
