//! JSON bodies of the service-sharing API (SPEC SS-1 … SS-6): the carrier's catalogue, a user's
//! subscriptions and shares, matched friends and what they share, one-click orders, and the
//! operator's batch rematch. Times are Unix milliseconds; prices are in cents of `currency`.

use serde::{Deserialize, Serialize};

/// Who provides a service, which decides how it is ordered (SS-5).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ServiceKind {
    /// The carrier's own service: ordered at once.
    Carrier,
    /// A contracted service provider's: ordered after a confirmation SMS.
    Sp,
    /// Anything else (not contracted, discontinued): cannot be ordered through Ringbook.
    Other,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ServiceInfo {
    pub id: String,
    pub name: String,
    pub description: String,
    pub provider: String,
    pub kind: ServiceKind,
    pub price_cents: i64,
    pub currency: String,
    /// `month`, `once`, …
    pub period: String,
    /// Whether a friend can order it with one click.
    pub orderable: bool,
}

/// `GET /v1/services/catalog`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Catalogue {
    pub services: Vec<ServiceInfo>,
}

/// One of the caller's subscriptions as the service platform reports it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MyService {
    pub service: ServiceInfo,
    pub since: i64,
    /// Whether matched friends can see it (SS-3).
    pub shared: bool,
}

/// `GET /v1/services/mine`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MyServices {
    pub services: Vec<MyService>,
}

/// `PUT|DELETE /v1/services/shared/{id}`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ShareState {
    pub service_id: String,
    pub shared: bool,
    /// False when the request changed nothing (already in that state).
    pub changed: bool,
}

/// A matched friend (SS-2) and what they share (SS-4).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Friend {
    pub phone: String,
    /// The name under which the caller saved this number, if any.
    pub name: Option<String>,
    pub since: i64,
    pub shared: Vec<ServiceInfo>,
}

/// `GET /v1/services/friends`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Friends {
    pub friends: Vec<Friend>,
}

/// `POST /v1/services/orders`: order the service a friend shares.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OrderRequest {
    /// The friend's number (any common format).
    pub friend: String,
    pub service_id: String,
    /// Makes a retried request (a double click) return the same order; the CLI sends a fresh
    /// random one per command.
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    /// At the service platform.
    Processing,
    /// A confirmation SMS went out; the order completes on a correct reply before `expires_at`.
    AwaitingConfirmation,
    Ordered,
    Refused,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OrderView {
    pub id: i64,
    pub friend: String,
    pub service_id: String,
    pub state: OrderState,
    /// Why it was refused: `already_subscribed`, `not_orderable`, `wrong_reply`, `expired`,
    /// `declined`, `unavailable`, `sms_undelivered` (the confirmation SMS could not be delivered).
    pub reason: Option<String>,
    /// A sentence for people.
    pub message: String,
    pub expires_at: Option<i64>,
    pub created_at: i64,
    pub decided_at: Option<i64>,
}

/// `GET /v1/services/orders`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Orders {
    pub orders: Vec<OrderView>,
}

/// `POST|GET /v1/admin/services/rematch`: the batch rematch and its progress.
#[derive(Clone, Debug, Serialize, Deserialize, Default)]
pub struct RematchView {
    pub running: bool,
    pub total_users: i64,
    pub done_users: i64,
    /// Match rows added and removed (each match is two rows, one per direction).
    pub added: i64,
    pub removed: i64,
    pub started_at: i64,
    /// Absent while running (the OpenAPI document has no nulls here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<i64>,
    /// Absent unless the rematch failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `POST /v1/admin/services/subscriptions`: record a subscription made through another channel
/// on the reference platform.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GrantSubscription {
    pub phone: String,
    pub service_id: String,
}
