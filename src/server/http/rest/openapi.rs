//! The REST API's OpenAPI 3.1 document at `/api/v1/openapi.json`, generated from the handlers'
//! types and annotations (utoipa). Each operation names the permission it needs
//! (`x-permission`, or `x-permissions` per field); its `security` and `x-scopes` are filled
//! in from config.json as it is now, so the document says what this deployment requires.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use utoipa::OpenApi;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};

use super::error::{
    ApiErrorBody, BadRequest, Forbidden, InternalServerError, PayloadTooLarge, ServiceUnavailable, TooManyRequests,
    Unauthorized, UnprocessableEntity, UnsupportedMediaType,
};
use super::{access, audit, changes, comments, export, issues, labels, me, webhooks};
use crate::access::{FeatureScopes, Permission};
use crate::server::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "issues-app REST API",
        description = "Issues, comments and the audit trail for programs, with bearer access tokens \
                       (JWTs from the organisation's identity provider). Errors follow RFC 6750."
    ),
    paths(
        issues::list,
        issues::create,
        issues::show,
        issues::change,
        issues::delete,
        issues::comments,
        issues::comment,
        comments::change,
        comments::delete,
        export::export,
        issues::events,
        changes::list,
        issues::restore,
        issues::people,
        labels::list,
        labels::define,
        labels::redefine,
        labels::delete,
        me::me,
        audit::audit_trail,
        webhooks::list,
        webhooks::redeliver,
        access::list,
        access::review
    ),
    components(
        schemas(ApiErrorBody),
        responses(
            BadRequest,
            Unauthorized,
            Forbidden,
            PayloadTooLarge,
            UnsupportedMediaType,
            UnprocessableEntity,
            TooManyRequests,
            InternalServerError,
            ServiceUnavailable
        )
    )
)]
struct ApiDoc;

/// The document with this deployment's scopes.
pub fn document_for(features: &FeatureScopes) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            Http::builder()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .build(),
        ),
    );
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.patch,
            &mut item.delete,
            &mut item.put,
        ];
        for operation in operations.into_iter().flatten() {
            with_scopes(operation, features);
        }
    }
    doc
}

fn permission(name: &Value) -> Option<Permission> {
    name.as_str().and_then(Permission::named)
}

/// `null` for an action config.json turns off.
fn scopes(features: &FeatureScopes, permission: Permission) -> Value {
    json!(features.required(permission))
}

fn with_scopes(operation: &mut Operation, features: &FeatureScopes) {
    let Some(extensions) = operation.extensions.as_mut() else {
        return;
    };
    let single = extensions.get("x-permission").and_then(permission);
    let per_field = extensions
        .get("x-permissions")
        .and_then(Value::as_object)
        .map(|fields| {
            fields
                .iter()
                .filter_map(|(field, name)| Some((field.clone(), scopes(features, permission(name)?))))
                .collect::<serde_json::Map<_, _>>()
        });
    // Every operation needs at least the view scopes; one with its own permission needs its.
    let required = single.unwrap_or(Permission::ViewIssues);
    let listed = features.required(required).map(<[String]>::to_vec).unwrap_or_default();
    match per_field {
        Some(fields) => extensions.insert("x-scopes".into(), Value::Object(fields)),
        None => extensions.insert("x-scopes".into(), scopes(features, required)),
    };
    operation.security = Some(vec![SecurityRequirement::new("bearer", listed)]);
}

pub async fn document(State(state): State<AppState>) -> Json<utoipa::openapi::OpenApi> {
    Json(document_for(&state.config.load().features))
}
