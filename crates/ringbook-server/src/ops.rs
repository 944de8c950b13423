//! Operations endpoints: health, readiness, Prometheus metrics, the OpenAPI document, and the
//! JSON answers for unknown routes and methods.

use crate::error::ApiError;
use crate::metrics::HttpLabels;
use crate::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// The OpenAPI 3.1 document of the HTTP API, one fragment per module under `openapi/`, merged
/// when served; a test checks that every documented path answers.
const OPENAPI_FRAGMENTS: &[&str] = &[
    include_str!("../openapi/ops.json"),
    include_str!("../openapi/identity.json"),
    include_str!("../openapi/contacts.json"),
    include_str!("../openapi/presence.json"),
    include_str!("../openapi/messaging.json"),
    include_str!("../openapi/profiles.json"),
    include_str!("../openapi/openplatform.json"),
    include_str!("../openapi/official.json"),
    include_str!("../openapi/services.json"),
];

pub fn openapi_document() -> serde_json::Value {
    let mut doc: serde_json::Value =
        serde_json::from_str(include_str!("../openapi/base.json")).unwrap_or_default();
    for fragment in OPENAPI_FRAGMENTS {
        let Ok(part) = serde_json::from_str::<serde_json::Value>(fragment) else {
            tracing::error!("an OpenAPI fragment is not valid JSON");
            continue;
        };
        for (section, pointer) in [("paths", "/paths"), ("schemas", "/components/schemas")] {
            if let Some(entries) = part.pointer(pointer).and_then(|v| v.as_object()) {
                let target = if section == "paths" {
                    &mut doc["paths"]
                } else {
                    &mut doc["components"]["schemas"]
                };
                for (k, v) in entries {
                    target[k] = v.clone();
                }
            }
        }
    }
    doc
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route(
            "/openapi.json",
            get(|| async { axum::Json(openapi_document()) }),
        )
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.core.store.ping().await {
        Ok(()) => "ready".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "database not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.core.metrics.render(),
    )
        .into_response()
}

pub async fn no_route() -> ApiError {
    ApiError::not_found("no_route", "there is no such endpoint; see /openapi.json")
}

pub async fn method_not_allowed() -> Response {
    let body = ringbook_proto::ErrorBody {
        code: "method_not_allowed".into(),
        message: "this endpoint does not take that method; see /openapi.json".into(),
        retry_after_secs: None,
    };
    (StatusCode::METHOD_NOT_ALLOWED, axum::Json(body)).into_response()
}

/// Counts requests by matched route and status, and turns axum's plain-text 413s into our JSON.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let resp = next.run(req).await;
    let status = resp.status();
    state
        .core
        .metrics
        .http_requests
        .get_or_create(&HttpLabels {
            route,
            status: status.as_u16(),
        })
        .inc();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if status == StatusCode::PAYLOAD_TOO_LARGE && !is_json {
        return ApiError::TooLarge {
            message: "the body is larger than this server accepts".into(),
        }
        .into_response();
    }
    resp
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_fragment_is_valid_json() {
        for f in super::OPENAPI_FRAGMENTS {
            serde_json::from_str::<serde_json::Value>(f).unwrap();
        }
        let doc = super::openapi_document();
        assert!(doc["paths"]["/v1/auth/login"].is_object());
        assert!(doc["components"]["schemas"]["LoginRequest"].is_object());
    }

    /// The document is OpenAPI 3.1: `nullable` (3.0) means nothing there, a null needs
    /// `"type": [T, "null"]`; and every `$ref` must name a schema some fragment defines.
    #[test]
    fn references_resolve_and_nulls_use_type_lists() {
        fn walk(v: &serde_json::Value, doc: &serde_json::Value, at: &str) {
            match v {
                serde_json::Value::Object(map) => {
                    assert!(!map.contains_key("nullable"), "3.0 `nullable` at {at}");
                    if let Some(r) = map.get("$ref").and_then(|r| r.as_str()) {
                        let pointer = r.trim_start_matches('#');
                        assert!(doc.pointer(pointer).is_some(), "{r} at {at} is not defined");
                    }
                    for (k, child) in map {
                        walk(child, doc, &format!("{at}/{k}"));
                    }
                }
                serde_json::Value::Array(items) => {
                    for (i, child) in items.iter().enumerate() {
                        walk(child, doc, &format!("{at}/{i}"));
                    }
                }
                _ => {}
            }
        }
        let doc = super::openapi_document();
        walk(&doc, &doc, "");
    }
}
