//! The catalogue and the caller's subscriptions, as the service platform reports them (SS-3),
//! and the operator's subscription grant on the reference platform.

use super::platform::{platform, ReferencePlatform, ServicePlatform};
use super::PlatformKind;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ClientAddr, Session};
use crate::state::{now_ms, AppState};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use ringbook_proto::services::{Catalogue, GrantSubscription, MyService, MyServices, ServiceInfo};
use std::collections::HashSet;

/// `GET /v1/services/catalog`.
pub async fn catalog(
    State(state): State<AppState>,
    _session: Session,
) -> ApiResult<Json<Catalogue>> {
    Ok(Json(Catalogue {
        services: platform(&state).catalogue().await?,
    }))
}

/// The caller's subscriptions with the catalogue entry and the share flag.
pub async fn my_services(state: &AppState, user_id: i64, phone: &str) -> ApiResult<Vec<MyService>> {
    let p = platform(state);
    let catalogue = p.catalogue().await?;
    let shared: HashSet<String> = state
        .core
        .store
        .shares_of(user_id)
        .await?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let subs = p.subscriptions(phone).await?;
    Ok(subs
        .into_iter()
        .map(|s| {
            let service = catalogue
                .iter()
                .find(|c| c.id == s.service_id)
                .cloned()
                .unwrap_or_else(|| unknown(&s.service_id));
            MyService {
                shared: shared.contains(&s.service_id),
                service,
                since: s.since,
            }
        })
        .collect())
}

/// A subscription whose service the catalogue no longer lists.
pub fn unknown(id: &str) -> ServiceInfo {
    ServiceInfo {
        id: id.to_string(),
        name: id.to_string(),
        description: String::new(),
        provider: "unknown".into(),
        kind: ringbook_proto::services::ServiceKind::Other,
        price_cents: 0,
        currency: String::new(),
        period: String::new(),
        orderable: false,
    }
}

/// `GET /v1/services/mine`.
pub async fn mine(State(state): State<AppState>, session: Session) -> ApiResult<Json<MyServices>> {
    Ok(Json(MyServices {
        services: my_services(&state, session.user_id, session.phone.as_str()).await?,
    }))
}

/// `POST /v1/admin/services/subscriptions`: records on the reference platform a subscription made
/// through another channel (shop, USSD, customer care).
pub async fn grant(
    State(state): State<AppState>,
    addr: ClientAddr,
    headers: HeaderMap,
    ApiJson(req): ApiJson<GrantSubscription>,
) -> ApiResult<Json<MyService>> {
    super::require_admin(&state, &addr, &headers)?;
    if state.config.services.platform != PlatformKind::Reference {
        return Err(ApiError::conflict(
            "external_platform",
            "subscriptions live on the external service platform; record them there",
        ));
    }
    let phone = crate::identity::parse_phone(&state, &req.phone)?;
    let Some(service) = state.core.store.platform_service(&req.service_id).await? else {
        return Err(ApiError::not_found(
            "unknown_service",
            format!(
                "the catalogue has no service '{}'; see `ringbook services catalog`",
                req.service_id
            ),
        ));
    };
    state
        .core
        .store
        .platform_subscribe(phone.as_str(), &service.id, "operator", None, now_ms())
        .await?;
    let subs = ReferencePlatform {
        store: state.core.store.clone(),
    }
    .subscriptions(phone.as_str())
    .await?;
    let since = subs
        .iter()
        .find(|s| s.service_id == service.id)
        .map(|s| s.since)
        .unwrap_or_else(now_ms);
    Ok(Json(MyService {
        service: super::platform::to_info(&service),
        since,
        shared: false,
    }))
}
