//! Presence DTOs (PB-12 … PB-14): `GET/PUT /v1/presence/me`, `PUT /v1/presence/privacy`,
//! `GET /v1/presence/contacts`, `POST /v1/presence/query`, and the live `presence` frame.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;
use std::str::FromStr;

/// IM status (PB-14).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum ImStatus {
    Online,
    Busy,
    Away,
    Offline,
}

impl ImStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ImStatus::Online => "online",
            ImStatus::Busy => "busy",
            ImStatus::Away => "away",
            ImStatus::Offline => "offline",
        }
    }
}

impl fmt::Display for ImStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ImStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "online" => Ok(ImStatus::Online),
            "busy" => Ok(ImStatus::Busy),
            "away" => Ok(ImStatus::Away),
            "offline" => Ok(ImStatus::Offline),
            other => Err(format!(
                "unknown status {other:?}; use online, busy, away or offline"
            )),
        }
    }
}

/// Who sees a user's presence.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Hash, Default)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    Everyone,
    /// People whose number is in my phone book (the default).
    #[default]
    Contacts,
    Nobody,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Everyone => "everyone",
            Visibility::Contacts => "contacts",
            Visibility::Nobody => "nobody",
        }
    }
}

impl FromStr for Visibility {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "everyone" => Ok(Visibility::Everyone),
            "contacts" => Ok(Visibility::Contacts),
            "nobody" => Ok(Visibility::Nobody),
            other => Err(format!(
                "unknown visibility {other:?}; use everyone, contacts or nobody"
            )),
        }
    }
}

/// One user's presence as others see it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PresenceInfo {
    pub phone: String,
    pub im_status: ImStatus,
    pub self_status: Option<String>,
    pub activity_status: Option<String>,
    pub nickname: Option<String>,
    pub signature: Option<String>,
    pub personal_site: Option<String>,
    pub updated_at: i64,
    /// With `offline`: when the user's last device disconnected (Unix ms); `None` when it never
    /// connected or is connected now.
    #[serde(default)]
    pub last_seen_at: Option<i64>,
}

/// The caller's own presence and privacy setting.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct MyPresence {
    #[serde(flatten)]
    pub info: PresenceInfo,
    pub visibility: Visibility,
    /// The status the user picked: shown as `im_status` while a device is connected.
    #[serde(default)]
    pub chosen_status: Option<ImStatus>,
}

/// Distinguishes an absent field (leave unchanged) from `null` (clear it).
fn some_or_null<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Ok(Some(Option::<T>::deserialize(d)?))
}

/// `PUT /v1/presence/me`: only the fields present change; `null` or `""` clears a text field.
/// `im_status` is the status shown while a device is connected (offline otherwise).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PresenceUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub im_status: Option<ImStatus>,
    #[serde(
        default,
        deserialize_with = "some_or_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub self_status: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "some_or_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub activity_status: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "some_or_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub nickname: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "some_or_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub signature: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "some_or_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub personal_site: Option<Option<String>>,
    /// How long a new `activity_status` lasts unless sent again (seconds; the server bounds
    /// it and has a default): the monitor refreshes it, so it lapses when the monitor stops.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_ttl_secs: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PrivacyRequest {
    pub visibility: Visibility,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PresenceQuery {
    pub phones: Vec<String>,
}

/// Presence of the numbers the caller may see; numbers it may not see (or that are not users)
/// are simply absent.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PresenceList {
    pub presence: Vec<PresenceInfo>,
}
