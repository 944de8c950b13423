//! The contacts part (PB-11): the server's copy of each user's address book, synced
//! incrementally with the user's devices.
//!
//! * `POST /v1/contacts/sync` — the client sends its adds/edits/deletes since its last sync and
//!   its cursor (`since`); the server applies them to the caller's own book only, and answers
//!   with its new cursor, the rows other devices or other users changed since `since`, and which
//!   book numbers are Ringbook users (with the 1/2 flag).
//! * `GET /v1/contacts` — the whole live book.
//!
//! Every change to a book takes the owner's next version number (`contact_books`); deletions are
//! tombstones so every device learns of them. Flag 2 is kept on both rows when each side has
//! the other's number.

mod routes;

use crate::state::AppState;
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ContactsConfig {
    /// Most upserts + deletes accepted in one sync request (clients batch bigger books).
    pub max_sync_entries: usize,
    /// Longest contact name, in characters.
    pub max_name_chars: usize,
    /// Largest `fields` object of one contact, in bytes of JSON.
    pub max_fields_bytes: usize,
}

impl Default for ContactsConfig {
    fn default() -> Self {
        ContactsConfig {
            max_sync_entries: ringbook_proto::contacts::MAX_SYNC_ENTRIES,
            max_name_chars: 200,
            max_fields_bytes: 4096,
        }
    }
}

/// Sync bodies carry up to a few thousand contacts: more than the global body limit.
pub const SYNC_BODY_LIMIT: usize = 8 * 1024 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/contacts/sync",
            post(routes::sync).layer(axum::extract::DefaultBodyLimit::max(SYNC_BODY_LIMIT)),
        )
        .route("/v1/contacts", get(routes::list))
}
