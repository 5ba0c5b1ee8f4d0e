//! The webhook delivery log for auditors: `GET /api/v1/webhooks/deliveries` (newest first:
//! state, attempts, the last answer or error) and `POST …/{id}/redeliver` for a failed one.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::{
    ApiError, ApiErrorBody, BadRequest, Forbidden, InternalServerError, ServiceUnavailable, TooManyRequests,
    Unauthorized,
};
use super::extract::{ApiQuery, Bearer, authorize};
use crate::access::Permission;
use crate::model::{DELIVERY_LOG_SIZE, WebhookDelivery};
use crate::server::state::AppState;
use crate::server::storage::audit::{Door, Event, EventKind};
use crate::server::storage::webhooks::{self, state};
use crate::server::support::clock;

/// `GET /api/v1/webhooks/deliveries` parameters.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// `pending`, `delivered` or `failed` (absent: all).
    #[param(pattern = "^(pending|delivered|failed)$")]
    state: Option<String>,
    /// Deliveries listed: 1–500 (50 by default).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

/// The newest webhook deliveries: which change to which webhook, its state, attempts, and the
/// receiver's last answer or the error.
#[utoipa::path(get, path = "/api/v1/webhooks/deliveries", operation_id = "list_webhook_deliveries", params(DeliveriesQuery),
    responses((status = 200, description = "The deliveries, newest first", body = Vec<WebhookDelivery>),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = TooManyRequests), (status = 500, response = InternalServerError),
        (status = 503, response = ServiceUnavailable)),
    security(("bearer" = [])), extensions(("x-permission" = json!("view_audit"))))]
pub(super) async fn list(
    State(app): State<AppState>,
    caller: Bearer,
    query: Result<ApiQuery<DeliveriesQuery>, ApiError>,
) -> Result<Json<Vec<WebhookDelivery>>, ApiError> {
    authorize(&caller, &app, Permission::ViewAudit).await?;
    let ApiQuery(query) = query?;
    let wanted = query.state.as_deref().filter(|wanted| !wanted.is_empty());
    if wanted.is_some_and(|wanted| ![state::PENDING, state::DELIVERED, state::FAILED].contains(&wanted)) {
        return Err(ApiError::InvalidRequest(
            "`state` is `pending`, `delivered` or `failed`.".into(),
        ));
    }
    let limit = query.limit.unwrap_or(DELIVERY_LOG_SIZE);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::InvalidRequest("`limit` is 1 to 500.".into()));
    }
    Ok(Json(webhooks::log(&app.db, wanted, limit).await?))
}

/// Posts a failed delivery again, from now (it may then reach its webhook after later changes
/// to the same issue). Recorded in the audit trail.
#[utoipa::path(post, path = "/api/v1/webhooks/deliveries/{id}/redeliver", operation_id = "redeliver_webhook",
    params(("id" = i64, Path, description = "The delivery's id")),
    responses((status = 200, description = "The delivery, pending again", body = WebhookDelivery),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, description = "No failed delivery with that id (`not_found`)", body = ApiErrorBody),
        (status = 429, response = TooManyRequests), (status = 500, response = InternalServerError),
        (status = 503, response = ServiceUnavailable)),
    security(("bearer" = [])), extensions(("x-permission" = json!("view_audit"))))]
pub(super) async fn redeliver(
    State(app): State<AppState>,
    caller: Bearer,
    Path(id): Path<String>,
) -> Result<Json<WebhookDelivery>, ApiError> {
    authorize(&caller, &app, Permission::ViewAudit).await?;
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::InvalidRequest("A delivery's id is a number.".into()))?;
    let delivery = webhooks::redeliver(&app.db, id, clock::now_millis())
        .await?
        .ok_or(ApiError::NotFound)?;
    app.audit
        .record(Event {
            actor: Some(&caller.viewer),
            via: Some(Door::Rest),
            detail: Some(format!(
                "delivery {id} of change {} to {}",
                delivery.seq, delivery.webhook
            )),
            ..Event::new(EventKind::WebhookRedelivered)
        })
        .await;
    Ok(Json(delivery))
}
