//! This instance's tail of the outbox: one task reads each change once, in order, and hands it
//! to every live stream here (a broadcast). It reads when this process wrote, when another
//! instance says it did (PostgreSQL `NOTIFY`), and every [`POLL`] in case a word was lost.

use std::sync::Arc;

use tokio::sync::{broadcast, watch};

use super::{POLL, wrote};
use crate::server::storage::db::Db;
use crate::server::storage::outbox::{self, Change, Wakeups, Word};

/// Changes a stream may fall behind by before it is told to read afresh (`resync`).
const BACKLOG: usize = 1024;
/// Changes read from the outbox at once.
const READ: i64 = 500;

pub struct Feed {
    /// This instance's name in words to the others (its own come back and are ignored).
    instance: String,
    changes: broadcast::Sender<Arc<Change>>,
    /// Whose bells should ask again: the people just told something (empty: anyone, as
    /// another instance told someone).
    told: broadcast::Sender<Arc<[String]>>,
    /// `true` once the server is stopping: streams end, so the stop does not wait for them.
    closing: watch::Sender<bool>,
}

impl Default for Feed {
    fn default() -> Self {
        Self::new()
    }
}

impl Feed {
    pub fn new() -> Self {
        let instance = format!("{}-{}", std::process::id(), crate::server::support::clock::now_millis());
        Self {
            instance,
            changes: broadcast::Sender::new(BACKLOG),
            told: broadcast::Sender::new(BACKLOG),
            closing: watch::Sender::new(false),
        }
    }

    /// This instance's name in words to the others.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Every change from now on, in order.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.changes.subscribe()
    }

    /// Who has just been told something, from now on.
    pub fn subscribe_told(&self) -> broadcast::Receiver<Arc<[String]>> {
        self.told.subscribe()
    }

    /// `subs` have just been told something (empty: someone, on another instance).
    pub fn told(&self, subs: Vec<String>) {
        let _ = self.told.send(subs.into());
    }

    /// Becomes `true` when the server stops.
    pub fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }

    /// Ends every stream: the server is stopping.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Streams open now.
    pub fn streams(&self) -> usize {
        self.changes.receiver_count()
    }

    /// Reads the outbox from its end as it is now, for as long as it is polled.
    pub async fn run(self: Arc<Self>, db: Db, mut writes: watch::Receiver<u64>) {
        let mut read = loop {
            match outbox::last(&db).await {
                Ok(last) => break last,
                Err(error) => {
                    tracing::warn!(%error, "could not read where the outbox ends; trying again");
                    tokio::time::sleep(POLL).await;
                }
            }
        };
        let mut others = Wakeups::new(&db).await;
        loop {
            tokio::select! {
                () = wrote(&mut writes) => {}
                word = others.next() => if let Word::Told(by) = word {
                    // Another instance told people something: their bells here ask again.
                    if by != self.instance {
                        self.told(Vec::new());
                    }
                    continue;
                },
                () = tokio::time::sleep(POLL) => {}
            }
            loop {
                let changes = match outbox::after(&db, read, READ).await {
                    Ok(changes) => changes,
                    Err(error) => {
                        tracing::warn!(%error, "could not read the outbox");
                        break;
                    }
                };
                let full = changes.len() as i64 == READ;
                for change in changes {
                    read = change.seq;
                    // No stream open is no error.
                    let _ = self.changes.send(Arc::new(change));
                }
                if !full {
                    break;
                }
            }
        }
    }
}
