//! The service platform (SS-6) behind one adapter interface, [`ServicePlatform`]:
//! - [`ReferencePlatform`]: the in-process platform that ships with Ringbook, over its own tables
//!   (`platform_services`, `platform_subscriptions`);
//! - [`HttpPlatform`]: an external platform spoken to over HTTP/JSON (the same three calls; the
//!   reference platform serves them too under `/v1/platform/*`, see [`serve_routes`]).
//!
//! The platform decides (SS-5): already subscribed → refused; the carrier's own service →
//! ordered; a contracted SP's service → confirmation required first; anything else → refused.
//! Ringbook's service-sync side sends the confirmation SMS and asks again with `confirmed`.

use super::{PlatformKind, ServicesConfig};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, ClientAddr};
use crate::state::{now_ms, AppState};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::future::BoxFuture;
use ringbook_proto::services::{ServiceInfo, ServiceKind};
use ringbook_store::Store;
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    #[error("the service platform could not be reached: {0}")]
    Unreachable(String),
    #[error("the service platform answered unexpectedly: {0}")]
    Protocol(String),
    #[error("the service platform is not configured: {0}")]
    NotConfigured(&'static str),
    #[error(transparent)]
    Store(#[from] ringbook_store::StoreError),
}

impl From<PlatformError> for ApiError {
    fn from(e: PlatformError) -> Self {
        match e {
            PlatformError::Store(e) => e.into(),
            other => {
                tracing::warn!(error = %other, "service platform failed");
                ApiError::Upstream {
                    code: "platform_unavailable",
                    message: "the carrier's service platform is not answering; try again in a few minutes".into(),
                }
            }
        }
    }
}

/// One subscription as the platform reports it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Subscription {
    pub service_id: String,
    pub since: i64,
}

/// An order handed to the platform; `reference` is Ringbook's order ID, so a retry is harmless.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PlatformOrder {
    pub phone: String,
    pub service_id: String,
    /// True once the subscriber confirmed by SMS (SP services).
    pub confirmed: bool,
    pub reference: String,
}

/// The platform's answer to an order.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Decision {
    Ordered,
    AlreadySubscribed,
    /// An SP service: ask the subscriber to confirm by SMS, then order again with `confirmed`.
    ConfirmationRequired,
    Refused {
        reason: String,
        message: String,
    },
}

/// The adapter interface to a service platform.
pub trait ServicePlatform: Send + Sync {
    fn catalogue(&self) -> BoxFuture<'_, Result<Vec<ServiceInfo>, PlatformError>>;
    fn subscriptions<'a>(
        &'a self,
        phone: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Subscription>, PlatformError>>;
    fn order<'a>(
        &'a self,
        order: &'a PlatformOrder,
    ) -> BoxFuture<'a, Result<Decision, PlatformError>>;
}

/// The platform the config names.
pub fn from_config(
    cfg: &ServicesConfig,
    store: &Store,
) -> Result<Box<dyn ServicePlatform>, PlatformError> {
    match cfg.platform {
        PlatformKind::Reference => Ok(Box::new(ReferencePlatform {
            store: store.clone(),
        })),
        PlatformKind::Http => {
            let url = cfg
                .platform_url
                .clone()
                .ok_or(PlatformError::NotConfigured("services.platform_url"))?;
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(cfg.platform_timeout_secs.max(1)))
                .build()
                .map_err(|e| PlatformError::Unreachable(crate::error::outbound_http(&e)))?;
            Ok(Box::new(HttpPlatform {
                client,
                url: url.trim_end_matches('/').to_string(),
                token: cfg.platform_token.clone(),
            }))
        }
    }
}

/// The platform built at start-up (`App::build`), so a bad setting is a start-up error and the
/// HTTP client is made once.
pub fn platform(state: &AppState) -> &dyn ServicePlatform {
    state.platform.as_ref()
}

fn kind_of(s: &str) -> ServiceKind {
    match s {
        "carrier" => ServiceKind::Carrier,
        "sp" => ServiceKind::Sp,
        _ => ServiceKind::Other,
    }
}

pub fn kind_name(k: ServiceKind) -> &'static str {
    match k {
        ServiceKind::Carrier => "carrier",
        ServiceKind::Sp => "sp",
        ServiceKind::Other => "other",
    }
}

/// The reference platform, in-process, over its own tables.
pub struct ReferencePlatform {
    pub store: Store,
}

impl ReferencePlatform {
    async fn decide(&self, o: &PlatformOrder) -> Result<Decision, PlatformError> {
        let Some(service) = self.store.platform_service(&o.service_id).await? else {
            return Ok(Decision::Refused {
                reason: "unknown_service".into(),
                message: format!("the platform has no service '{}'", o.service_id),
            });
        };
        let subs = self.store.platform_subscriptions(&o.phone).await?;
        if let Some(existing) = subs.iter().find(|s| s.service_id == o.service_id) {
            // The same order asked again (a retry, a repeated confirmation): it did succeed.
            if existing.reference.as_deref() == Some(o.reference.as_str()) {
                return Ok(Decision::Ordered);
            }
            return Ok(Decision::AlreadySubscribed);
        }
        if !service.active {
            return Ok(Decision::Refused {
                reason: "not_orderable".into(),
                message: format!("{} is no longer offered", service.name),
            });
        }
        match kind_of(&service.kind) {
            ServiceKind::Carrier => {}
            ServiceKind::Sp if o.confirmed => {}
            ServiceKind::Sp => return Ok(Decision::ConfirmationRequired),
            ServiceKind::Other => {
                return Ok(Decision::Refused {
                    reason: "not_orderable".into(),
                    message: format!(
                        "{} is provided by {}, which is not a contracted provider; it cannot be ordered here",
                        service.name, service.provider
                    ),
                })
            }
        }
        // The unique (phone, service) key makes two racing orders subscribe once.
        if self
            .store
            .platform_subscribe(
                &o.phone,
                &o.service_id,
                "ringbook",
                Some(&o.reference),
                now_ms(),
            )
            .await?
        {
            return Ok(Decision::Ordered);
        }
        // Lost a race: decide by whose order made the subscription.
        let subs = self.store.platform_subscriptions(&o.phone).await?;
        match subs.iter().find(|s| s.service_id == o.service_id) {
            Some(s) if s.reference.as_deref() == Some(o.reference.as_str()) => {
                Ok(Decision::Ordered)
            }
            _ => Ok(Decision::AlreadySubscribed),
        }
    }
}

pub fn to_info(s: &ringbook_store::services::PlatformServiceRow) -> ServiceInfo {
    let kind = kind_of(&s.kind);
    ServiceInfo {
        id: s.id.clone(),
        name: s.name.clone(),
        description: s.description.clone(),
        provider: s.provider.clone(),
        kind,
        price_cents: s.price_cents,
        currency: s.currency.clone(),
        period: s.period.clone(),
        orderable: s.active && kind != ServiceKind::Other,
    }
}

impl ServicePlatform for ReferencePlatform {
    fn catalogue(&self) -> BoxFuture<'_, Result<Vec<ServiceInfo>, PlatformError>> {
        Box::pin(async move {
            Ok(self
                .store
                .platform_services()
                .await?
                .iter()
                .map(to_info)
                .collect())
        })
    }

    fn subscriptions<'a>(
        &'a self,
        phone: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Subscription>, PlatformError>> {
        Box::pin(async move {
            Ok(self
                .store
                .platform_subscriptions(phone)
                .await?
                .into_iter()
                .map(|s| Subscription {
                    service_id: s.service_id,
                    since: s.since,
                })
                .collect())
        })
    }

    fn order<'a>(
        &'a self,
        order: &'a PlatformOrder,
    ) -> BoxFuture<'a, Result<Decision, PlatformError>> {
        Box::pin(self.decide(order))
    }
}

/// An external platform over HTTP/JSON: `GET {url}/catalogue`, `GET {url}/subscriptions?phone=`,
/// `POST {url}/orders`, with `Authorization: Bearer {token}` when a token is set.
pub struct HttpPlatform {
    client: reqwest::Client,
    url: String,
    token: Option<crate::secret::Secret>,
}

#[derive(Serialize, Deserialize)]
pub struct CatalogueBody {
    pub services: Vec<ServiceInfo>,
}

#[derive(Serialize, Deserialize)]
pub struct SubscriptionsBody {
    pub subscriptions: Vec<Subscription>,
}

impl HttpPlatform {
    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<T, PlatformError> {
        let req = match &self.token {
            Some(t) => req.bearer_auth(t.expose()),
            None => req,
        };
        let resp = req
            .send()
            .await
            .map_err(|e| PlatformError::Unreachable(crate::error::outbound_http(&e)))?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| PlatformError::Unreachable(crate::error::outbound_http(&e)))?;
        if !status.is_success() {
            let body: String = String::from_utf8_lossy(&bytes).chars().take(200).collect();
            return Err(PlatformError::Protocol(format!("HTTP {status}: {body}")));
        }
        serde_json::from_slice(&bytes).map_err(|e| PlatformError::Protocol(e.to_string()))
    }
}

impl ServicePlatform for HttpPlatform {
    fn catalogue(&self) -> BoxFuture<'_, Result<Vec<ServiceInfo>, PlatformError>> {
        Box::pin(async move {
            let body: CatalogueBody = self
                .send(self.client.get(format!("{}/catalogue", self.url)))
                .await?;
            Ok(body.services)
        })
    }

    fn subscriptions<'a>(
        &'a self,
        phone: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Subscription>, PlatformError>> {
        Box::pin(async move {
            let req = self
                .client
                .get(format!("{}/subscriptions", self.url))
                .query(&[("phone", phone)]);
            let body: SubscriptionsBody = self.send(req).await?;
            Ok(body.subscriptions)
        })
    }

    fn order<'a>(
        &'a self,
        order: &'a PlatformOrder,
    ) -> BoxFuture<'a, Result<Decision, PlatformError>> {
        Box::pin(async move {
            self.send(self.client.post(format!("{}/orders", self.url)).json(order))
                .await
        })
    }
}

// ---- the reference platform served over HTTP (what the HTTP adapter speaks) ----

/// `/v1/platform/*`: the reference platform's HTTP face, for other Ringbook nodes configured
/// with `services.platform = "http"`. Operator-only (admin token, or loopback without one).
pub fn serve_routes() -> Router<AppState> {
    Router::new()
        .route("/v1/platform/catalogue", get(serve_catalogue))
        .route("/v1/platform/subscriptions", get(serve_subscriptions))
        .route("/v1/platform/orders", post(serve_order))
}

fn reference(state: &AppState) -> ReferencePlatform {
    ReferencePlatform {
        store: state.core.store.clone(),
    }
}

async fn serve_catalogue(
    State(state): State<AppState>,
    addr: ClientAddr,
    headers: HeaderMap,
) -> ApiResult<Json<CatalogueBody>> {
    super::require_admin(&state, &addr, &headers)?;
    Ok(Json(CatalogueBody {
        services: reference(&state).catalogue().await?,
    }))
}

#[derive(Deserialize)]
struct PhoneQuery {
    phone: String,
}

async fn serve_subscriptions(
    State(state): State<AppState>,
    addr: ClientAddr,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<PhoneQuery>,
) -> ApiResult<Json<SubscriptionsBody>> {
    super::require_admin(&state, &addr, &headers)?;
    let phone = crate::identity::parse_phone(&state, &q.phone)?;
    Ok(Json(SubscriptionsBody {
        subscriptions: reference(&state).subscriptions(phone.as_str()).await?,
    }))
}

async fn serve_order(
    State(state): State<AppState>,
    addr: ClientAddr,
    headers: HeaderMap,
    ApiJson(mut order): ApiJson<PlatformOrder>,
) -> ApiResult<Json<Decision>> {
    super::require_admin(&state, &addr, &headers)?;
    order.phone = crate::identity::parse_phone(&state, &order.phone)?.to_string();
    Ok(Json(reference(&state).order(&order).await?))
}
