//! JSON bodies of the HTTP API (see the OpenAPI document the server serves at `/openapi.json`).
//! Times are Unix milliseconds.

use crate::{DeviceIdentity, PhoneNumber};
use serde::{Deserialize, Serialize};

/// `POST /v1/auth/code`: ask for an SMS verification code (PB-3 a).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CodeRequest {
    pub phone: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CodeSent {
    pub phone: PhoneNumber,
    pub expires_in_secs: u64,
    pub resend_after_secs: u64,
    /// Handle for `GET /v1/auth/code/{delivery_id}`: did the SMS reach the phone?
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_id: Option<String>,
}

/// How far the SMS with a code got, as the operator's delivery reports tell.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// The gateway took it; no report yet (or the gateway sends none).
    Sent,
    /// The operator's SMS centre took it.
    Accepted,
    /// The SMS centre is holding it (the phone is off or out of reach).
    Buffered,
    Delivered,
    /// It will not arrive: ask for a new code, check the number, or use another way in.
    Failed,
}

/// `GET /v1/auth/code/{delivery_id}`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CodeDelivery {
    pub state: DeliveryState,
    /// What to tell the user.
    pub message: String,
}

/// How the client proves it holds the number (PB-3).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Proof {
    /// (a) the code the server sent by SMS.
    SmsCode { code: String },
    /// (b) the number the client read from the device; trusted deployments only.
    Declared,
    /// (c) the token the user texted to the service number; the number comes from that SMS.
    MoToken { token: String },
}

/// `POST /v1/auth/login`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoginRequest {
    /// Required for `sms_code` and `declared`; ignored for `mo_token`.
    #[serde(default)]
    pub phone: Option<String>,
    pub device: DeviceIdentity,
    pub proof: Proof,
    /// Needed to move the account from another device and in secure mode (PB-5).
    #[serde(default)]
    pub rescue_password: Option<String>,
    /// The user agreed to move the account from its old device to this one (PB-5).
    #[serde(default)]
    pub move_account: bool,
}

/// `POST /v1/auth/header`: login by header enrichment (PB-3 d); the number comes from the
/// operator gateway's header.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HeaderLoginRequest {
    pub device: DeviceIdentity,
    #[serde(default)]
    pub rescue_password: Option<String>,
    #[serde(default)]
    pub move_account: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct LoginResponse {
    /// Bearer token for this device's session; shown once, stored hashed by the server.
    pub token: String,
    pub session_id: String,
    pub phone: PhoneNumber,
    /// True when this login created the account.
    pub registered: bool,
    /// True when the account was moved here from another device.
    pub moved: bool,
}

/// `POST /v1/auth/mo/start`: begin login by mobile-originated SMS (PB-3 c).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MoStartRequest {
    pub device: DeviceIdentity,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MoStarted {
    /// Short token the user texts to `service_number`.
    pub token: String,
    pub service_number: String,
    pub expires_in_secs: u64,
    /// A sentence to show the user.
    pub instructions: String,
}

/// `GET /v1/auth/mo/{token}`: whether the SMS carrying the token has arrived.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum MoState {
    Waiting,
    Received { phone: PhoneNumber },
}

/// `GET /v1/me`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Me {
    pub phone: PhoneNumber,
    pub device_id: String,
    pub imei: Option<String>,
    pub iccid: Option<String>,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
    pub login_count: i64,
    pub secure_mode: bool,
    pub rescue_password_set: bool,
    pub session_id: String,
}

/// `PUT /v1/me/rescue-password`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SetRescuePassword {
    pub password: String,
    /// Required when a rescue password is already set.
    #[serde(default)]
    pub current_password: Option<String>,
}

/// `PUT /v1/me/secure-mode`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SetSecureMode {
    pub enabled: bool,
}

/// One row of `GET /v1/sessions`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SessionInfo {
    pub id: String,
    pub device_id: String,
    pub label: Option<String>,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub current: bool,
}
