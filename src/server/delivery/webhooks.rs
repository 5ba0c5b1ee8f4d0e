//! Webhooks: changes posted to the programs config.json lists, signed as Standard Webhooks
//! (`webhook-id`, `webhook-timestamp`, `webhook-signature`: HMAC-SHA256 of
//! `<id>.<timestamp>.<body>`). Two steps, each safe with several instances:
//!
//! - **Queue** ([`queue_changes`]): the outbox read in one transaction with this consumer's
//!   place in it, each change queued once for each webhook that wants its kind.
//! - **Post** ([`post_due`]): deliveries due are claimed (one instance each, in order per issue
//!   and webhook), posted by a client that follows no redirect, reaches only public addresses
//!   unless the webhook allows private ones, and waits a bounded time for a bounded answer; a
//!   2xx is delivered, anything else is tried again after `WebhookFirstRetrySeconds`, twice as
//!   long each time up to an hour, until a day has passed.

use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tokio::sync::watch;

use super::{POLL, wrote};
use crate::server::ops::config::Webhook;
use crate::server::ops::live::LiveConfig;
use crate::server::storage::db::Db;
use crate::server::storage::outbox::{self, Change};
use crate::server::storage::webhooks::{self, Claimed, Outcome};
use crate::server::support::{clock, network};

/// This consumer's name in `outbox_cursors`.
pub const CONSUMER: &str = "webhooks";
/// Changes read per transaction.
const BATCH: i64 = 200;
/// Deliveries claimed at once.
const CLAIM: i64 = 32;
/// How long an attempt may take, all of it.
const ATTEMPT_TIME: Duration = Duration::from_secs(10);
/// How long a claim holds: longer than every attempt of a claim, posted one after another.
const LEASE: Duration = Duration::from_secs(ATTEMPT_TIME.as_secs() * (CLAIM as u64 + 1) + 60);
/// The longest wait between attempts.
const RETRY_MAX: Duration = Duration::from_secs(3600);
/// How long a delivery is tried.
const GIVE_UP_AFTER: Duration = Duration::from_secs(24 * 3600);
/// The most of a receiver's answer read (for the log).
const ANSWER_MAX: usize = 4 * 1024;
/// Finished deliveries are kept in the log this long.
pub const KEPT_DAYS: i64 = 7;

/// Queues and posts, for as long as it is polled; when `stopping` turns `true` it finishes the
/// attempts under way and returns.
pub async fn run(
    db: Db,
    config: Arc<LiveConfig>,
    mut writes: watch::Receiver<u64>,
    mut stopping: watch::Receiver<bool>,
) {
    let clients = match Clients::new() {
        Ok(clients) => clients,
        Err(error) => {
            tracing::error!(%error, "could not build the webhooks' HTTP client; webhooks are not posted");
            return;
        }
    };
    loop {
        if *stopping.borrow() {
            return;
        }
        if let Err(error) = queue_changes(&db, &config.load().webhooks).await {
            tracing::warn!(%error, "could not queue changes for webhooks; trying again");
        }
        match post_due(&db, &config, &clients).await {
            // More may be due at once.
            Ok(posted) if posted as i64 == CLAIM => continue,
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "could not claim webhook deliveries; trying again"),
        }
        tokio::select! {
            () = wrote(&mut writes) => {}
            _ = stopping.wait_for(|stopping| *stopping) => return,
            () = tokio::time::sleep(Duration::from_secs(1).min(POLL)) => {}
        }
    }
}

/// Queues the changes not yet read for each webhook that wants them; how many changes it read.
pub async fn queue_changes(db: &Db, hooks: &[Webhook]) -> Result<usize, sqlx::Error> {
    let mut read = 0;
    loop {
        if !outbox::unread_by(db, CONSUMER).await? {
            return Ok(read);
        }
        let mut tx = db.begin().await?;
        let place = outbox::cursor(&mut tx, CONSUMER).await?;
        let changes = outbox::after_in(&mut tx, place, BATCH).await?;
        let now = clock::now_millis();
        for change in &changes {
            let wanting: Vec<&Webhook> = hooks.iter().filter(|hook| hook.wants(&change.kind)).collect();
            if wanting.is_empty() {
                continue;
            }
            let payload = body(change);
            for hook in wanting {
                let what = (change.seq, change.issue_id, change.kind.as_str());
                webhooks::queue(&mut tx, &hook.url, what, &payload, now).await?;
            }
        }
        if let Some(last) = changes.last() {
            outbox::advance(&mut tx, CONSUMER, last.seq).await?;
        }
        tx.commit().await?;
        read += changes.len();
        if (changes.len() as i64) < BATCH {
            return Ok(read);
        }
    }
}

/// What a webhook receives: `type`, `timestamp` and the change as `GET /api/v1/events` gives
/// it.
fn body(change: &Change) -> String {
    serde_json::json!({
        "type": change.kind,
        "timestamp": clock::rfc3339_millis(change.at),
        "data": change,
    })
    .to_string()
}

/// Posts the deliveries due now (in order per issue and webhook); how many it claimed.
pub async fn post_due(db: &Db, config: &LiveConfig, clients: &Clients) -> Result<usize, sqlx::Error> {
    let now = clock::now_millis();
    let claimed = webhooks::claim(db, now, now + LEASE.as_millis() as i64, CLAIM).await?;
    let config = config.load();
    let first_retry = config.webhook_first_retry;
    // One attempt at a time per webhook and issue (they were claimed in order); different
    // webhooks' in parallel.
    let mut by_hook: Vec<(Option<&Webhook>, Vec<Claimed>)> = Vec::new();
    for delivery in claimed {
        let hook = config.webhooks.iter().find(|hook| hook.url == delivery.webhook);
        match by_hook.iter_mut().find(|(_, list)| list[0].webhook == delivery.webhook) {
            Some((_, list)) => list.push(delivery),
            None => by_hook.push((hook, vec![delivery])),
        }
    }
    let count = by_hook.iter().map(|(_, list)| list.len()).sum();
    let rounds = by_hook.into_iter().map(|(hook, list)| async move {
        for delivery in list {
            let outcome = match hook {
                Some(hook) => attempt(clients, hook, &delivery, first_retry).await,
                None => Outcome::Failed {
                    status: None,
                    error: "this webhook is no longer in config.json".into(),
                },
            };
            match webhooks::finish(db, &delivery, &outcome, clock::now_millis()).await {
                Ok(true) => {}
                Ok(false) => tracing::warn!(
                    delivery = delivery.id,
                    "a webhook delivery's lease lapsed while posting"
                ),
                // The lease lapses and it is posted again: the receiver sees its id twice.
                Err(error) => {
                    tracing::warn!(%error, delivery = delivery.id, "could not record a webhook delivery's outcome")
                }
            }
        }
    });
    futures_util::future::join_all(rounds).await;
    Ok(count)
}

/// One attempt at posting `delivery` to `hook`.
async fn attempt(clients: &Clients, hook: &Webhook, delivery: &Claimed, first_retry: Duration) -> Outcome {
    let id = format!("evt_{}", delivery.seq);
    let timestamp = clock::now();
    let signature = sign(&hook.secret_key(), &id, timestamp, &delivery.payload);
    let answer = clients.post(hook, &delivery.payload).map(|request| {
        request
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .send()
    });
    let answer = match answer {
        Ok(sending) => tokio::time::timeout(ATTEMPT_TIME, async {
            let response = sending.await.map_err(|error| describe(&error))?;
            let status = response.status();
            let said = read_some(response).await;
            Ok::<_, String>((status, said))
        })
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {} s", ATTEMPT_TIME.as_secs()))),
        Err(refused) => Err(refused),
    };
    let (status, error) = match answer {
        Ok((status, _)) if status.is_success() => {
            return Outcome::Delivered {
                status: status.as_u16(),
            };
        }
        Ok((status, said)) => (Some(status.as_u16()), format!("answered {status}: {said}")),
        Err(error) => (None, error),
    };
    let now = clock::now_millis();
    let waited = now - delivery.created_at;
    if waited >= GIVE_UP_AFTER.as_millis() as i64 {
        return Outcome::Failed {
            status,
            error: format!("{error} (given up after a day)"),
        };
    }
    let backoff = first_retry
        .saturating_mul(1 << delivery.attempts.clamp(0, 16) as u32)
        .min(RETRY_MAX);
    Outcome::Retry {
        status,
        error,
        next_at_ms: now + backoff.as_millis() as i64,
    }
}

/// The start of the receiver's answer, as text (for the log).
async fn read_some(mut response: reqwest::Response) -> String {
    let mut said = Vec::new();
    while said.len() < ANSWER_MAX {
        match response.chunk().await {
            Ok(Some(chunk)) => said.extend_from_slice(&chunk[..chunk.len().min(ANSWER_MAX - said.len())]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&said)
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect()
}

/// A failed request as the log says it (reqwest's error with its causes).
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `v1,<base64 of HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`, the Standard Webhooks
/// signature.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let tag = hmac::sign(&key, format!("{id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", STANDARD.encode(tag.as_ref()))
}

/// The two HTTP clients webhooks are posted with: one that reaches only public addresses, one
/// for webhooks allowed private ones. Neither follows a redirect.
pub struct Clients {
    public: reqwest::Client,
    any: reqwest::Client,
}

impl Clients {
    pub fn new() -> Result<Self, reqwest::Error> {
        let builder = || {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(Duration::from_secs(5))
                .timeout(ATTEMPT_TIME)
                .user_agent(concat!("issues-app-webhooks/", env!("CARGO_PKG_VERSION")))
                // A proxy from the environment would reach, on its side, what the resolver
                // refuses here.
                .no_proxy()
        };
        Ok(Self {
            public: builder().dns_resolver(Arc::new(PublicOnly)).build()?,
            any: builder().build()?,
        })
    }

    /// A POST of `body` to `hook`, or why it may not be made (a private address it is not
    /// allowed).
    fn post(&self, hook: &Webhook, body: &str) -> Result<reqwest::RequestBuilder, String> {
        let client = match hook.allow_private_address {
            true => &self.any,
            false => {
                // A name is checked when it is resolved (`PublicOnly`); an address here.
                let literal = match hook.parsed.host() {
                    Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
                    Some(url::Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
                    _ => None,
                };
                if literal.is_some_and(|ip| !network::is_public(ip)) {
                    return Err("a private or loopback address, which this webhook is not allowed \
                                (\"AllowPrivateAddress\")"
                        .into());
                }
                &self.public
            }
        };
        Ok(client
            .post(hook.parsed.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string()))
    }
}

/// Resolves a webhook's host to its public addresses only: a name that resolves to a private
/// or loopback address (as a rebinding attack would arrange) is refused.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let public: Vec<std::net::SocketAddr> = found.filter(|address| network::is_public(address.ip())).collect();
            if public.is_empty() {
                let refused: Box<dyn std::error::Error + Send + Sync> =
                    format!("{host} resolves to no public address (a private one needs \"AllowPrivateAddress\")")
                        .into();
                return Err(refused);
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::sign;

    /// The Standard Webhooks specification's own example.
    #[test]
    fn the_signature_is_the_standard_webhooks_one() {
        let key = crate::server::ops::config::signing_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }
}
