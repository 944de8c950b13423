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
use ringbook_store::contacts::ContactWrite;

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
    let mut upserts = Vec::with_capacity(req.upserts.len());
    for e in &req.upserts {
        match ringbook_proto::PhoneNumber::parse(&e.phone, &state.config.default_region) {
            Ok(p) => upserts.push(ContactWrite {
                contact_phone: p.to_string(),
                name: e.name.chars().take(200).collect(),
                group_name: None,
                fields: "{}".into(),
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
    // The same write path as the PB-11 contact sync, so versions, 1/2 flags and mutual matches
    // stay consistent whichever endpoint changed the book.
    state
        .store
        .sync_contacts(
            session.user_id,
            session.phone.as_str(),
            &upserts,
            &deletes,
            now,
        )
        .await?;
    let rows = upserts;
    let deleted = deletes.len() as u64;
    Ok(Json(BookUploaded {
        upserted: rows.len(),
        deleted,
        rejected,
    }))
}
