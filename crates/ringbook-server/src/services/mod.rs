//! Service sharing between mutual contacts (SPEC SS-1 … SS-6).
//!
//! - `matching`: the mutual-match relation (SS-2). Kept in the store's `mutual_friends` table by
//!   `Store::upsert_contacts` / `delete_contacts` in the book change's own transaction, so every
//!   writer keeps it consistent at a cost proportional to the change; [`matching::on_book_changed`]
//!   re-checks numbers for other writers; the operator's batch rematch rebuilds it for the whole
//!   user base with progress.
//! - `catalogue`: the carrier's catalogue and the caller's subscriptions, as the platform reports
//!   them (SS-3), and the operator's subscription grant on the reference platform.
//! - `sharing`: per-service sharing switched on and off (SS-3); matched friends and what they
//!   share (SS-4) — nobody else sees anything.
//! - `ordering`: one-click orders with the SS-5 branches, the confirmation SMS and its reply
//!   (through `sms_inbound`), outcome notices to both people, no double orders.
//! - `platform`: the service-platform adapter trait, the reference in-process platform, the HTTP
//!   adapter (SS-6).

pub mod catalogue;
pub mod matching;
pub mod ordering;
pub mod platform;
pub mod sharing;

use crate::state::AppState;
use axum::routing::{get, post, put};
use axum::Router;
use serde::{Deserialize, Serialize};

pub(crate) use ordering::confirmation_sms_failed;
pub use ordering::handle_mo_sms;

/// Which service platform orders go to.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PlatformKind {
    /// The reference platform in this process, over its own tables.
    #[default]
    Reference,
    /// An external platform over HTTP/JSON at `platform_url`.
    Http,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServicesConfig {
    pub platform: PlatformKind,
    /// Base URL of an external platform (`platform = "http"`), e.g. `https://sp.example/v1/platform`.
    pub platform_url: Option<String>,
    /// Bearer token for the external platform.
    pub platform_token: Option<crate::secret::Secret>,
    pub platform_timeout_secs: u64,
    /// How long a confirmation SMS for an SP service stays valid.
    pub confirm_ttl_secs: u64,
    /// Users per transaction in the batch rematch.
    pub rematch_batch_users: i64,
}

impl Default for ServicesConfig {
    fn default() -> Self {
        ServicesConfig {
            platform: PlatformKind::Reference,
            platform_url: None,
            platform_token: None,
            platform_timeout_secs: 10,
            confirm_ttl_secs: 600,
            rematch_batch_users: 1000,
        }
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/services/catalog", get(catalogue::catalog))
        .route("/v1/services/mine", get(catalogue::mine))
        .route(
            "/v1/services/shared/{id}",
            put(sharing::share).delete(sharing::unshare),
        )
        .route("/v1/services/friends", get(sharing::friends))
        .route("/v1/services/friends/{phone}", get(sharing::friend))
        .route(
            "/v1/services/orders",
            post(ordering::create).get(ordering::list),
        )
        .route("/v1/services/orders/{id}", get(ordering::show))
        .route(
            "/v1/admin/services/rematch",
            post(matching::start_rematch).get(matching::rematch_status),
        )
        .route("/v1/admin/services/subscriptions", post(catalogue::grant))
        .merge(platform::serve_routes())
}

/// Operator endpoints use identity's admin check (admin token, or loopback without one).
pub(crate) use crate::identity::admin::require_admin;

/// Periodic work: refuse (and announce) orders whose confirmation window closed.
pub async fn housekeeping(state: &AppState) {
    if let Err(e) = ordering::expire_overdue(state).await {
        tracing::warn!(error = %e, "expiring service orders failed");
    }
}
