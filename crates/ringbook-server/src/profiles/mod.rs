//! Profiles updated from the phone by MMS (spec part MM, MM-1 … MM-6).
//!
//! - [`model`]: reading, validating and changing a profile (optimistic versioning), and the
//!   per-field visibility rules (everyone / people in my phone book / nobody).
//! - [`notices`]: the live `profile_updated` frame (MM-3) to the owner's devices and to the
//!   users who have the owner in their book and may see a changed field.
//! - [`api`]: `GET/PATCH /v1/profile`, avatar upload/download, `GET /v1/profiles/{phone}`,
//!   `POST /v1/profiles/batch`.
//! - [`avatar`]: the avatar standard (MM-5) applied off the async threads.
//! - [`mm7`]: `POST /mm7`, the value-added-service side of 3GPP MM7 (MM-1, MM-2).
//! - [`content`]: what an MMS carries — picture, `Key: value` text, vCards — turned into a change.
//! - [`bindings`]: numbers bound to an account (MM-4) and the decision of MM-6.
//! - [`prompts`]: prompts back to the phone by MM7 SubmitReq or SMS (MM-6).

pub mod api;
pub mod avatar;
pub mod bindings;
pub mod content;
pub mod mm7;
pub mod model;
pub mod notices;
pub mod prompts;

use crate::state::AppState;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post, put};
use axum::Router;
use ipnet::IpNet;
use ringbook_avatar::AvatarStandard;
use serde::{Deserialize, Serialize};

/// `[profiles]` in the config file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProfilesConfig {
    /// The avatar standard (MM-5): every stored avatar meets it.
    pub avatar: AvatarStandard,
    /// The MM7 endpoint `POST /mm7`.
    pub mm7: Mm7Config,
    /// Prompts back to the phone (MM-6).
    pub prompts: PromptConfig,
    /// Most numbers in one `POST /v1/profiles/batch`.
    pub batch_max: usize,
    /// Avatar conversions running at once (each up to `avatar.max_decoded_bytes` of memory).
    pub avatar_conversions: usize,
    /// Seconds an upload waits for a conversion slot before 429 `avatar_busy`.
    pub avatar_queue_secs: u64,
}

impl Default for ProfilesConfig {
    fn default() -> Self {
        ProfilesConfig {
            avatar: AvatarStandard::default(),
            mm7: Mm7Config::default(),
            prompts: PromptConfig::default(),
            batch_max: 500,
            avatar_conversions: 2,
            avatar_queue_secs: 10,
        }
    }
}

/// Who may post to `/mm7` and how much. With neither credentials nor `allowed` set, only
/// loopback callers are accepted.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Mm7Config {
    /// HTTP basic credentials the MMSC must send (both or neither).
    pub username: Option<String>,
    pub password: Option<crate::secret::Secret>,
    /// Addresses the MMSC posts from; when set, others are refused (also with good credentials).
    pub allowed: Vec<IpNet>,
    /// Largest MM7 request body, in bytes (an MMS with a camera photo, base64-encoded).
    pub max_body_bytes: usize,
}

impl Default for Mm7Config {
    fn default() -> Self {
        Mm7Config {
            username: None,
            password: None,
            allowed: Vec::new(),
            max_body_bytes: 8 * 1024 * 1024,
        }
    }
}

/// How prompts reach the phone.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PromptVia {
    /// MM7 SubmitReq when `mmsc_url` is set, else SMS.
    Auto,
    Mm7,
    Sms,
    /// No prompts (the DeliverRsp still says why nothing was applied).
    Off,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PromptConfig {
    pub via: PromptVia,
    /// The MMSC's MM7 URL for SubmitReq.
    pub mmsc_url: Option<String>,
    pub mmsc_username: Option<String>,
    pub mmsc_password: Option<crate::secret::Secret>,
    /// `VASPID` / `VASID` of Ringbook at the MMSC.
    pub vasp_id: String,
    pub vas_id: String,
    /// Our short code, sent as `SenderAddress`.
    pub sender_address: Option<String>,
    /// `ServiceCode` for charging, if the operator wants one.
    pub service_code: Option<String>,
    pub timeout_secs: u64,
}

impl Default for PromptConfig {
    fn default() -> Self {
        PromptConfig {
            via: PromptVia::Auto,
            mmsc_url: None,
            mmsc_username: None,
            mmsc_password: None,
            vasp_id: "ringbook".into(),
            vas_id: "profile".into(),
            sender_address: None,
            service_code: None,
            timeout_secs: 10,
        }
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/profile", get(api::own).patch(api::update))
        .route(
            "/v1/profile/avatar",
            // The body limit is the avatar standard's `max_input_bytes`, checked in the handler.
            put(api::put_avatar)
                .layer(DefaultBodyLimit::disable())
                .delete(api::delete_avatar),
        )
        .route("/v1/profiles/batch", post(api::batch))
        .route("/v1/profiles/{phone}", get(api::show))
        .route("/v1/profiles/{phone}/avatar", get(api::avatar_image))
        .route(
            "/v1/profile/bindings",
            get(bindings::list).post(bindings::start),
        )
        .route("/v1/profile/bindings/confirm", post(bindings::confirm))
        .route("/v1/profile/bindings/{phone}", delete(bindings::remove))
        // Its own (larger) limit, `profiles.mm7.max_body_bytes`, checked in the handler.
        .route(
            "/mm7",
            post(mm7::endpoint).layer(DefaultBodyLimit::disable()),
        )
}
