//! A minimal address-book upload (SS-1): `POST /v1/contacts/upload` with entries to add or change
//! and numbers to delete. The contacts part owns the full phone-book sync; this endpoint exists so
//! clients and tests can feed the books that matching reads, through the same Store write path
//! (which keeps `mutual_friends` up to date in the same transaction).

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Session};
use crate::state::{now_ms, AppState};
use axum::extract::State;
use axum::Json;
use ringbook_proto::services::{BookUpload, BookUploaded};
use ringbook_store::contacts::ContactRow;

/// Entries per request; larger books are sent in several requests.
pub const MAX_ENTRIES: usize = 5000;

pub async fn upload(
    State(state): State<AppState>,
    session: Session,
    ApiJson(req): ApiJson<BookUpload>,
) -> ApiResult<Json<BookUploaded>> {
    if req.upserts.len() + req.deletes.len() > MAX_ENTRIES {
        return Err(ApiError::bad_request(
            "too_many_entries",
            format!("send at most {MAX_ENTRIES} entries per upload; split the book into several requests"),
        ));
    }
    let now = now_ms();
    let mut rejected = Vec::new();
    let mut rows = Vec::with_capacity(req.upserts.len());
    for e in &req.upserts {
        match ringbook_proto::PhoneNumber::parse(&e.phone, &state.config.default_region) {
            Ok(p) => rows.push(ContactRow {
                owner_id: session.user_id,
                contact_phone: p.to_string(),
                name: e.name.chars().take(200).collect(),
                group_name: None,
                flag: 1,
                fields: "{}".into(),
                created_at: now,
                updated_at: now,
            }),
            Err(_) => rejected.push(e.phone.clone()),
        }
    }
    let mut deletes = Vec::with_capacity(req.deletes.len());
    for d in &req.deletes {
        match ringbook_proto::PhoneNumber::parse(d, &state.config.default_region) {
            Ok(p) => deletes.push(p.to_string()),
            Err(_) => rejected.push(d.clone()),
        }
    }
    if !rows.is_empty() {
        state
            .store
            .upsert_contacts(session.user_id, &rows, now)
            .await?;
    }
    let deleted = if deletes.is_empty() {
        0
    } else {
        state
            .store
            .delete_contacts(session.user_id, &deletes)
            .await?
    };
    Ok(Json(BookUploaded {
        upserted: rows.len(),
        deleted,
        rejected,
    }))
}
