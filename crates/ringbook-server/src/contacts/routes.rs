//! HTTP handlers of the contacts part.

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Session};
use crate::state::{now_ms, AppState};
use axum::extract::State;
use axum::Json;
use ringbook_proto::contacts::{
    ContactEntry, ContactList, ContactSyncRequest, ContactSyncResponse, ContactUser,
};
use ringbook_proto::PhoneNumber;
use ringbook_store::contacts::{ContactChangeRow, ContactWrite};
use std::collections::{HashMap, HashSet};

fn parse_phone(state: &AppState, raw: &str) -> ApiResult<String> {
    PhoneNumber::parse(raw, &state.config.default_region)
        .map(|p| p.as_str().to_string())
        .map_err(|e| {
            ApiError::bad_request(
                "invalid_contact_number",
                format!("contact number {raw:?} is not a valid mobile number ({e}); fix or remove it and sync again"),
            )
        })
}

fn entry(r: ContactChangeRow, users: &HashSet<String>) -> ContactEntry {
    let fields = serde_json::from_str(&r.fields).unwrap_or_else(|_| serde_json::json!({}));
    ContactEntry {
        is_user: users.contains(&r.contact_phone),
        phone: r.contact_phone,
        name: r.name,
        group: r.group_name,
        flag: r.flag,
        fields,
        deleted: r.deleted,
        updated_at: r.updated_at,
    }
}

/// `POST /v1/contacts/sync`
pub async fn sync(
    State(state): State<AppState>,
    session: Session,
    ApiJson(req): ApiJson<ContactSyncRequest>,
) -> ApiResult<Json<ContactSyncResponse>> {
    let cfg = &state.config.contacts;
    let total = req.upserts.len() + req.deletes.len();
    if total > cfg.max_sync_entries {
        return Err(ApiError::bad_request(
            "too_many_entries",
            format!(
                "send at most {} upserts and deletes per sync request, in several batches",
                cfg.max_sync_entries
            ),
        ));
    }
    if req.since < 0 {
        return Err(ApiError::bad_request(
            "invalid_cursor",
            "since must be 0 or a version this server returned",
        ));
    }
    // Validate everything before changing anything. A number given twice: the last one wins.
    let mut writes: HashMap<String, ContactWrite> = HashMap::with_capacity(req.upserts.len());
    let mut order: Vec<String> = Vec::with_capacity(req.upserts.len());
    for u in &req.upserts {
        let phone = parse_phone(&state, &u.phone)?;
        if phone == session.phone.as_str() {
            return Err(ApiError::bad_request(
                "own_number",
                "your own number cannot be one of your contacts; remove it and sync again",
            ));
        }
        let name = u.name.trim().to_string();
        if name.chars().count() > cfg.max_name_chars {
            return Err(ApiError::bad_request(
                "name_too_long",
                format!(
                    "contact names are limited to {} characters ({phone})",
                    cfg.max_name_chars
                ),
            ));
        }
        let group = u
            .group
            .as_ref()
            .map(|g| g.trim().to_string())
            .filter(|g| !g.is_empty());
        if group
            .as_ref()
            .is_some_and(|g| g.chars().count() > cfg.max_name_chars)
        {
            return Err(ApiError::bad_request(
                "group_too_long",
                format!(
                    "group names are limited to {} characters ({phone})",
                    cfg.max_name_chars
                ),
            ));
        }
        let fields = match &u.fields {
            None | Some(serde_json::Value::Null) => "{}".to_string(),
            Some(v @ serde_json::Value::Object(_)) => v.to_string(),
            Some(_) => {
                return Err(ApiError::bad_request(
                    "invalid_fields",
                    format!("fields must be a JSON object ({phone})"),
                ))
            }
        };
        if fields.len() > cfg.max_fields_bytes {
            return Err(ApiError::bad_request(
                "fields_too_large",
                format!(
                    "the fields of one contact are limited to {} bytes ({phone})",
                    cfg.max_fields_bytes
                ),
            ));
        }
        if !writes.contains_key(&phone) {
            order.push(phone.clone());
        }
        writes.insert(
            phone.clone(),
            ContactWrite {
                contact_phone: phone,
                name,
                group_name: group,
                fields,
            },
        );
    }
    let mut deletes = Vec::with_capacity(req.deletes.len());
    let mut sent: HashSet<String> = writes.keys().cloned().collect();
    for d in &req.deletes {
        let phone = parse_phone(&state, d)?;
        if writes.contains_key(&phone) {
            return Err(ApiError::bad_request(
                "conflicting_entries",
                format!("{phone} is both upserted and deleted in one request; send one of them"),
            ));
        }
        sent.insert(phone.clone());
        deletes.push(phone);
    }
    let upserts: Vec<ContactWrite> = order
        .into_iter()
        .filter_map(|p| writes.remove(&p))
        .collect();

    let now = now_ms();
    // The owner is always the session's user: a client can only write its own book.
    let outcome = state
        .core
        .store
        .sync_contacts(
            session.user_id,
            session.phone.as_str(),
            &upserts,
            &deletes,
            now,
        )
        .await?;
    let book_users = state.core.store.book_users(session.user_id).await?;
    let user_phones: HashSet<String> = book_users.iter().map(|u| u.contact_phone.clone()).collect();
    let changes = state
        .core
        .store
        .contact_changes_since(session.user_id, req.since)
        .await?
        .into_iter()
        // The request's own rows are as the client sent them; their flags come in `users`.
        .filter(|r| !(r.version == outcome.version && sent.contains(&r.contact_phone)))
        .map(|r| entry(r, &user_phones))
        .collect();
    if !upserts.is_empty() {
        let added: Vec<i64> = book_users
            .iter()
            .filter(|u| upserts.iter().any(|w| w.contact_phone == u.contact_phone))
            .map(|u| u.user_id)
            .collect();
        crate::presence::book_changed(&state, session.user_id, &added).await;
    }
    tracing::debug!(
        upserts = upserts.len(),
        deletes = deletes.len(),
        version = outcome.version,
        touched = outcome.touched_owners.len(),
        "contacts synced"
    );
    Ok(Json(ContactSyncResponse {
        version: outcome.version,
        changes,
        users: book_users
            .into_iter()
            .map(|u| ContactUser {
                phone: u.contact_phone,
                flag: u.flag,
            })
            .collect(),
        applied: total,
    }))
}

/// `GET /v1/contacts`
pub async fn list(State(state): State<AppState>, session: Session) -> ApiResult<Json<ContactList>> {
    let version = state
        .core
        .store
        .contact_book_version(session.user_id)
        .await?;
    let users: HashSet<String> = state
        .core
        .store
        .book_users(session.user_id)
        .await?
        .into_iter()
        .map(|u| u.contact_phone)
        .collect();
    let contacts = state
        .core
        .store
        .contact_changes_since(session.user_id, -1)
        .await?
        .into_iter()
        .filter(|r| !r.deleted)
        .map(|r| entry(r, &users))
        .collect::<Vec<_>>();
    let mut contacts = contacts;
    contacts.sort_by(|a, b| a.phone.cmp(&b.phone));
    Ok(Json(ContactList { version, contacts }))
}
