//! The open platform (WV-1 … WV-6, X-1): websites that recognise a consenting visitor.
//!
//! - `sites`: an operator registers a website (name, origins, allowed server addresses, a shared
//!   secret shown once and kept encrypted, and/or an Ed25519 public key).
//! - `visitor`: the visitor's side, behind their session — a short-lived token for a site's page
//!   (asked for by the local agent, `ringbook agent`), standing choices per site and field, the
//!   fields they disclose to websites, and the disclosure log.
//! - `signed`: the website's server side — signed look-ups and messages to an account manager,
//!   each checked for signature, caller address, timestamp window, nonce replay, rate, audience
//!   and consent; every disclosure is logged.
//! - `crypto`: secret encryption, request signatures, visitor tokens and pseudonyms.
//!
//! Profile data: [`visitor_fields`] is the one place that reads what a visitor can disclose.

pub(crate) mod crypto;
mod signed;
mod sites;
mod visitor;

use crate::error::ApiResult;
use crate::state::AppState;
use axum::routing::{get, post, put};
use axum::Router;
use ringbook_proto::openplatform::SiteProfile;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OpenPlatformConfig {
    /// How long a visitor token lives, in seconds.
    pub token_ttl_secs: u64,
    /// How far a signed request's timestamp may be from the server's clock, in seconds.
    pub timestamp_window_secs: u64,
    /// Signed requests one site may make per minute.
    pub requests_per_minute_per_site: u32,
    /// The old name of the top-level `master_key`; still read.
    pub master_key: Option<crate::secret::Secret>,
}

impl Default for OpenPlatformConfig {
    fn default() -> Self {
        OpenPlatformConfig {
            token_ttl_secs: 120,
            timestamp_window_secs: 300,
            requests_per_minute_per_site: 600,
            master_key: None,
        }
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/admin/openplatform/sites",
            post(sites::register).get(sites::list),
        )
        .route(
            "/v1/admin/openplatform/sites/{id}",
            axum::routing::delete(sites::remove),
        )
        .route("/v1/openplatform/token", post(visitor::token))
        .route("/v1/openplatform/consents", get(visitor::consents))
        .route(
            "/v1/openplatform/consents/{site}",
            put(visitor::set_consent).delete(visitor::revoke),
        )
        .route(
            "/v1/openplatform/profile",
            get(visitor::profile).put(visitor::set_profile),
        )
        .route("/v1/openplatform/disclosures", get(visitor::disclosures))
        .route("/v1/openplatform/lookup", post(signed::lookup))
        .route("/v1/openplatform/message", post(signed::message))
}

/// Everything a visitor could disclose to a website, before consent filtering.
///
/// Today: the number from the user table and the fields the visitor set for websites
/// (`PUT /v1/openplatform/profile`, table `op_profiles`). When the profiles part lands, read
/// name/age/company/title/email from its store here instead (keeping `op_profiles` as the
/// fallback), and nothing else in this module changes.
pub async fn visitor_fields(state: &AppState, user_id: i64) -> ApiResult<SiteProfile> {
    let p = state.core.store.op_site_profile(user_id).await?;
    let phone = state.core.store.user_by_id(user_id).await?.map(|u| u.phone);
    // What the visitor set for websites wins; otherwise their Ringbook profile (part MM).
    let profile: std::collections::BTreeMap<String, serde_json::Value> =
        match state.core.store.profile(user_id).await? {
            Some(row) => serde_json::from_str(&row.fields).unwrap_or_default(),
            None => Default::default(),
        };
    let from_profile = |key: &str| {
        profile
            .get(key)
            .and_then(|v| v.as_str())
            .filter(|t| !t.is_empty())
            .map(str::to_string)
    };
    Ok(SiteProfile {
        name: p.name.or_else(|| from_profile("name")),
        age: p.age,
        company: p.company.or_else(|| from_profile("company")),
        title: p.title.or_else(|| from_profile("title")),
        email: p.email.or_else(|| from_profile("email")),
        phone,
    })
}

/// Keeps only the fields in `allowed`.
pub fn filter_fields(all: SiteProfile, allowed: &[String]) -> SiteProfile {
    let has = |f: &str| allowed.iter().any(|a| a == f);
    SiteProfile {
        name: all.name.filter(|_| has("name")),
        age: all.age.filter(|_| has("age")),
        company: all.company.filter(|_| has("company")),
        title: all.title.filter(|_| has("title")),
        email: all.email.filter(|_| has("email")),
        phone: all.phone.filter(|_| has("phone")),
    }
}

/// The names of the fields present in `p`.
pub fn present_fields(p: &SiteProfile) -> Vec<String> {
    let mut out = Vec::new();
    for (name, set) in [
        ("name", p.name.is_some()),
        ("age", p.age.is_some()),
        ("company", p.company.is_some()),
        ("title", p.title.is_some()),
        ("email", p.email.is_some()),
        ("phone", p.phone.is_some()),
    ] {
        if set {
            out.push(name.to_string());
        }
    }
    out
}
