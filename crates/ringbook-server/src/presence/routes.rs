//! HTTP handlers of the presence part.

use super::{info, may_see, update, visibility_of};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Session};
use crate::state::{now_ms, AppState};
use axum::extract::State;
use axum::Json;
use ringbook_proto::presence::{
    MyPresence, PresenceList, PresenceQuery, PresenceUpdate, PrivacyRequest,
};
use ringbook_proto::PhoneNumber;
use ringbook_store::presence::PresenceUpdate as StoreUpdate;

async fn mine(state: &AppState, session: &Session) -> ApiResult<MyPresence> {
    let row = state
        .core
        .store
        .presence_of(session.user_id)
        .await?
        .ok_or_else(|| {
            ApiError::not_found("no_user", "this account no longer exists; log in again")
        })?;
    Ok(MyPresence {
        info: info(&row),
        visibility: visibility_of(&row.visibility),
        chosen_status: Some(super::status_of(&row.chosen_status)),
    })
}

/// `GET /v1/presence/me`
pub async fn get_me(
    State(state): State<AppState>,
    session: Session,
) -> ApiResult<Json<MyPresence>> {
    Ok(Json(mine(&state, &session).await?))
}

fn text(
    field: &'static str,
    v: &Option<Option<String>>,
    max: usize,
) -> ApiResult<Option<Option<String>>> {
    let Some(v) = v else { return Ok(None) };
    let v = v
        .as_ref()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    if let Some(s) = &v {
        if s.chars().count() > max {
            return Err(ApiError::bad_request(
                "text_too_long",
                format!("{field} is limited to {max} characters"),
            ));
        }
        if s.chars().any(char::is_control) {
            return Err(ApiError::bad_request(
                "invalid_text",
                format!("{field} must be one line of text without control characters"),
            ));
        }
    }
    Ok(Some(v))
}

/// `PUT /v1/presence/me`
pub async fn put_me(
    State(state): State<AppState>,
    session: Session,
    ApiJson(req): ApiJson<PresenceUpdate>,
) -> ApiResult<Json<MyPresence>> {
    let max = state.config.presence.max_text_chars;
    let site = text("personal_site", &req.personal_site, 200)?;
    if let Some(Some(s)) = &site {
        let ok = url_ok(s);
        if !ok {
            return Err(ApiError::bad_request(
                "invalid_site",
                "personal_site must be an http:// or https:// address",
            ));
        }
    }
    let cfg = &state.config.presence;
    let ttl = req.activity_ttl_secs.unwrap_or(cfg.activity_ttl_secs);
    if ttl == 0 || ttl > cfg.max_activity_ttl_secs {
        return Err(ApiError::bad_request(
            "bad_activity_ttl",
            format!(
                "activity_ttl_secs must be between 1 and {}",
                cfg.max_activity_ttl_secs
            ),
        ));
    }
    let activity = text("activity_status", &req.activity_status, max)?;
    // Every activity status lapses unless sent again: the monitor refreshes it.
    let activity_expires_at = activity.as_ref().map(|a| {
        a.as_ref()
            .map(|_| now_ms().saturating_add(ttl.saturating_mul(1000) as i64))
    });
    // The chosen status shows only while a device is connected: without a connection the
    // user stays offline (and gets the chosen status at its next connection).
    let connected = req.im_status.is_some()
        && !state
            .core
            .store
            .connections_of(session.user_id)
            .await?
            .is_empty();
    let u = StoreUpdate {
        im_status: req
            .im_status
            .filter(|_| connected)
            .map(|s| s.as_str().to_string()),
        chosen_status: req.im_status.map(|s| s.as_str().to_string()),
        self_status: text("self_status", &req.self_status, max)?,
        activity_status: activity,
        activity_expires_at,
        signature: text("signature", &req.signature, max)?,
        nickname: text("nickname", &req.nickname, max)?,
        personal_site: site,
        visibility: None,
        last_seen_at: None,
    };
    update(&state, session.user_id, &u, true).await?;
    Ok(Json(mine(&state, &session).await?))
}

fn url_ok(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.contains(char::is_whitespace))
}

/// `PUT /v1/presence/privacy`
pub async fn put_privacy(
    State(state): State<AppState>,
    session: Session,
    ApiJson(req): ApiJson<PrivacyRequest>,
) -> ApiResult<Json<MyPresence>> {
    let u = StoreUpdate {
        visibility: Some(req.visibility.as_str().to_string()),
        ..Default::default()
    };
    update(&state, session.user_id, &u, true).await?;
    Ok(Json(mine(&state, &session).await?))
}

/// `GET /v1/presence/contacts`: presence of the caller's book entries that let it see them.
pub async fn contacts(
    State(state): State<AppState>,
    session: Session,
) -> ApiResult<Json<PresenceList>> {
    let rows = state.core.store.presence_of_book(session.user_id).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        if may_see(&state, session.user_id, session.phone.as_str(), &r).await? {
            out.push(info(&r));
        }
    }
    Ok(Json(PresenceList { presence: out }))
}

/// `POST /v1/presence/query`: presence of the given numbers the caller may see.
pub async fn query(
    State(state): State<AppState>,
    session: Session,
    ApiJson(req): ApiJson<PresenceQuery>,
) -> ApiResult<Json<PresenceList>> {
    let max = state.config.presence.max_query_numbers;
    if req.phones.len() > max {
        return Err(ApiError::bad_request(
            "too_many_numbers",
            format!("ask for at most {max} numbers per query"),
        ));
    }
    let mut phones = Vec::with_capacity(req.phones.len());
    for raw in &req.phones {
        let p = PhoneNumber::parse(raw, &state.config.default_region).map_err(|e| {
            ApiError::bad_request(
                "invalid_number",
                format!("{raw:?} is not a valid mobile number ({e})"),
            )
        })?;
        phones.push(p.as_str().to_string());
    }
    phones.sort();
    phones.dedup();
    let rows = state.core.store.presence_by_phones(&phones).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        if may_see(&state, session.user_id, session.phone.as_str(), &r).await? {
            out.push(info(&r));
        }
    }
    out.sort_by(|a, b| a.phone.cmp(&b.phone));
    Ok(Json(PresenceList { presence: out }))
}
