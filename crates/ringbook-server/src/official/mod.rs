//! Official accounts (OA-1 … OA-5).
//!
//! - [`accounts`]: creating accounts, developer mode (callback + token), follow/unfollow,
//!   follower → account messages, account → follower messages and the follower's inbox,
//!   the follower's privacy allow-list.
//! - [`push`]: developer-mode pushes: XML, signature, URL-verification handshake, server-side
//!   request forgery checks, durable retries (a worker started by [`crate::run`]), passive replies.
//! - [`console`]: the account owner's console (session cookie, CSRF, rate limit; HTML and JSON
//!   pages: followers, follower page openID ↔ FakeID, message page time ↔ FakeID, info by FakeID)
//!   and the direct API (info by openID, HTTP Basic).
//! - [`fields`]: what an account may see of a follower.

pub mod accounts;
pub mod console;
pub mod fields;
pub mod push;

use crate::state::AppState;
use std::sync::Arc;
use tokio::sync::{Notify, Semaphore};

/// The push worker's run-time state: a wake-up for new pushes and the bound on attempts in flight.
pub struct Runtime {
    pub new_push: Notify,
    pub in_flight: Arc<Semaphore>,
    pub clients: push::PushClients,
}

impl Runtime {
    pub fn new(cfg: &OfficialConfig) -> Self {
        Runtime {
            new_push: Notify::new(),
            in_flight: Arc::new(Semaphore::new(cfg.push_concurrency.max(1))),
            clients: push::PushClients::default(),
        }
    }
}
use axum::routing::{get, post, put};
use axum::Router;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OfficialConfig {
    /// Let callback URLs point at loopback, private or link-local addresses (tests, on-premises).
    pub allow_private_callbacks: bool,
    /// Seconds a push (and the handshake) may take.
    pub push_timeout_secs: u64,
    /// Retries after the first attempt fails.
    pub push_retries: u32,
    /// Delay before the first retry, in milliseconds; doubled for each further retry.
    pub retry_delay_ms: u64,
    /// How often the push worker looks for due pushes (retries), in milliseconds; a new push
    /// wakes it at once.
    pub poll_ms: u64,
    /// Push attempts in flight at once, over all accounts.
    pub push_concurrency: usize,
    /// Console session lifetime in seconds.
    pub console_session_secs: u64,
    /// Failed console/direct-API logins allowed per account name and per address per window.
    pub login_failures_per_window: i64,
    pub login_window_secs: u64,
}

impl Default for OfficialConfig {
    fn default() -> Self {
        OfficialConfig {
            allow_private_callbacks: false,
            push_timeout_secs: 5,
            push_retries: 3,
            retry_delay_ms: 2_000,
            poll_ms: 250,
            push_concurrency: 64,
            console_session_secs: 8 * 3600,
            login_failures_per_window: 10,
            login_window_secs: 300,
        }
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/official/accounts", post(accounts::create))
        .route("/v1/official/accounts/{name}", get(accounts::show))
        .route(
            "/v1/official/accounts/{name}/callback",
            put(accounts::set_callback).delete(accounts::clear_callback),
        )
        .route(
            "/v1/official/accounts/{name}/follow",
            post(accounts::follow).delete(accounts::unfollow),
        )
        .route(
            "/v1/official/accounts/{name}/messages",
            post(accounts::send_to_account),
        )
        .route(
            "/v1/official/accounts/{name}/send",
            post(accounts::owner_send),
        )
        .route("/v1/official/inbox", get(accounts::inbox))
        .route(
            "/v1/official/privacy",
            get(accounts::get_privacy).put(accounts::set_privacy),
        )
        .route(
            "/v1/official/api/{name}/followers/{open_id}",
            get(console::api_follower),
        )
        .route("/console", get(console::index))
        .route("/console/login", post(console::login))
        .route("/console/logout", post(console::logout))
        .route("/console/followers", get(console::followers))
        .route("/console/followers/{fake_id}", get(console::follower_page))
        .route("/console/messages", get(console::messages))
        .route("/console/users/{fake_id}", get(console::user_info))
        .route("/console/send", post(console::send))
}

/// A 256-bit random token, hex (console cookies, CSRF tokens).
pub fn push_token() -> String {
    let raw: [u8; 32] = rand::random();
    hex::encode(raw)
}
