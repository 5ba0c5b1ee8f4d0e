//! The webhook delivery log, as the audit page and `GET /api/v1/webhooks/deliveries` show it.

use serde::{Deserialize, Serialize};

/// Deliveries the log shows at once, newest first.
pub const DELIVERY_LOG_SIZE: i64 = 50;

/// One change posted (or being posted) to one webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow, utoipa::ToSchema))]
pub struct WebhookDelivery {
    pub id: i64,
    /// The webhook's URL as config.json names it.
    pub webhook: String,
    /// The change (`GET /api/v1/events`' `seq`); its `webhook-id` is `evt_<seq>`.
    pub seq: i64,
    pub issue_id: i64,
    pub kind: String,
    /// `pending` (to be posted, or tried again at `next_at`), `delivered` or `failed` (not
    /// taken within a day, or the webhook left config.json).
    pub state: String,
    pub attempts: i64,
    /// When it is posted next, while pending (milliseconds since the Unix epoch).
    pub next_at: i64,
    /// The status the receiver last answered, if it answered.
    pub last_status: Option<i64>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    pub created_at: i64,
    /// When it was delivered or given up.
    pub done_at: Option<i64>,
}
