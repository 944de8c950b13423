//! Contact sync DTOs (PB-11): `POST /v1/contacts/sync`, `GET /v1/contacts`.

use serde::{Deserialize, Serialize};

/// Largest number of upserts + deletes in one sync request; clients send bigger books in batches.
pub const MAX_SYNC_ENTRIES: usize = 2000;

/// One contact the client adds or edits.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ContactUpsert {
    /// The contact's mobile number (E.164, or a national spelling in the server's region).
    pub phone: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub group: Option<String>,
    /// Other address-book fields, a JSON object.
    #[serde(default)]
    pub fields: Option<serde_json::Value>,
}

/// An incremental sync: the client's changes since its last sync, and its cursor.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ContactSyncRequest {
    /// The `version` of the last sync response (0 for the first sync).
    #[serde(default)]
    pub since: i64,
    #[serde(default)]
    pub upserts: Vec<ContactUpsert>,
    /// Numbers removed from the client's book.
    #[serde(default)]
    pub deletes: Vec<String>,
}

/// A contact as the server holds it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ContactEntry {
    pub phone: String,
    pub name: String,
    pub group: Option<String>,
    /// 1 = the other side has not added this user back (or is not a user), 2 = mutually added.
    pub flag: i64,
    pub fields: serde_json::Value,
    /// Whether the number belongs to a Ringbook user.
    pub is_user: bool,
    /// A tombstone: the contact was deleted (only in sync responses).
    #[serde(default)]
    pub deleted: bool,
    pub updated_at: i64,
}

/// A book number that is a Ringbook user.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ContactUser {
    pub phone: String,
    pub flag: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ContactSyncResponse {
    /// The cursor to send as `since` next time.
    pub version: i64,
    /// Contacts changed on the server after `since` by other devices or by other users (flag
    /// changes), not counting the request's own entries; tombstones have `deleted: true`.
    pub changes: Vec<ContactEntry>,
    /// Every live book entry that is a Ringbook user, with its flag.
    pub users: Vec<ContactUser>,
    /// How many upserts and deletes the request applied.
    pub applied: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ContactList {
    pub version: i64,
    pub contacts: Vec<ContactEntry>,
}
