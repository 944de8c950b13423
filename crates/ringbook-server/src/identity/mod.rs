//! Identity: proving a number (PB-3), the login decision (PB-5), device sessions, the account's
//! own settings, and operator blocking (PB-4's valid flag).
//!
//! - `proofs`: the four ways to prove a number — SMS code, declared number, MO SMS, header
//!   enrichment — each switchable in config.
//! - `login`: the PB-5 decision and session issuing, shared by every proof.
//! - `account`: `/v1/me`, rescue password, secure mode, session list and revoke.
//! - `admin`: block and unblock a number.

mod account;
pub(crate) mod admin;
mod login;
mod proofs;
mod secrets;

use crate::state::AppState;
use axum::routing::{delete, get, post, put};
use axum::Router;

pub(crate) use proofs::code_sms_failed;
pub use proofs::handle_mo_sms;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/auth/code", post(proofs::request_code))
        .route("/v1/auth/code/{delivery_id}", get(proofs::code_delivery))
        .route("/v1/auth/login", post(login::login))
        .route("/v1/auth/mo/start", post(proofs::mo_start))
        .route("/v1/auth/mo/{token}", get(proofs::mo_state))
        .route("/v1/auth/header", post(proofs::header_login))
        .route("/v1/auth/logout", post(account::logout))
        .route("/v1/me", get(account::me))
        .route("/v1/me/rescue-password", put(account::set_rescue_password))
        .route("/v1/me/secure-mode", put(account::set_secure_mode))
        .route("/v1/sessions", get(account::list_sessions))
        .route("/v1/sessions/{id}", delete(account::revoke_session))
        .route("/v1/admin/users/{phone}/block", post(admin::block))
        .route("/v1/admin/users/{phone}/unblock", post(admin::unblock))
}

/// Parses a number in the configured default region, as a 400 with the reason when invalid.
/// Numbers already seen are answered from [`PhoneCache`].
pub fn parse_phone(
    state: &AppState,
    raw: &str,
) -> Result<ringbook_proto::PhoneNumber, crate::error::ApiError> {
    if let Some(hit) = state.core.phones.0.get(raw) {
        return Ok(hit);
    }
    let parsed = ringbook_proto::PhoneNumber::parse(raw, &state.config.default_region)
        .map_err(|e| crate::error::ApiError::bad_request("invalid_phone", e.to_string()))?;
    state.core.phones.0.insert(raw.to_string(), parsed.clone());
    Ok(parsed)
}

/// Numbers as written → their E.164 form. Why: a numbering-plan parse costs about 15 µs (the
/// `phonenumber` crate looks its regexes up by pattern text and runs them), which was 15% of the
/// server's CPU at 10,000 messages/s, while people write to the same few numbers again and again.
/// Only valid numbers are kept; the region is fixed for the server's lifetime.
pub struct PhoneCache(quick_cache::sync::Cache<String, ringbook_proto::PhoneNumber>);

impl Default for PhoneCache {
    fn default() -> Self {
        PhoneCache(quick_cache::sync::Cache::new(65_536))
    }
}
