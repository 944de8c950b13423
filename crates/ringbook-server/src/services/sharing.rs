//! Per-service sharing (SS-3) and what matched friends share (SS-4). Visibility is decided by
//! the `mutual_friends` relation alone: a non-friend gets `not_a_friend`, whether or not the
//! number is a Ringbook user, so the answer reveals nothing.

use super::platform::platform;
use crate::error::{ApiError, ApiResult};
use crate::extract::Session;
use crate::state::{now_ms, AppState};
use axum::extract::{Path, State};
use axum::Json;
use ringbook_proto::services::{Friend, Friends, ServiceInfo, ShareState};
use ringbook_store::services::FriendRow;

/// `PUT /v1/services/shared/{id}`: share one of the caller's subscriptions with matched friends.
pub async fn share(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> ApiResult<Json<ShareState>> {
    let subscribed = platform(&state)
        .subscriptions(session.phone.as_str())
        .await?
        .iter()
        .any(|s| s.service_id == id);
    if !subscribed {
        return Err(ApiError::conflict(
            "not_subscribed",
            format!("you do not subscribe to '{id}'; only your own services can be shared (see `ringbook services mine`)"),
        ));
    }
    let changed = state
        .core
        .store
        .share_service(session.user_id, &id, now_ms())
        .await?;
    Ok(Json(ShareState {
        service_id: id,
        shared: true,
        changed,
    }))
}

/// `DELETE /v1/services/shared/{id}`: stop sharing it.
pub async fn unshare(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> ApiResult<Json<ShareState>> {
    let changed = state
        .core
        .store
        .unshare_service(session.user_id, &id)
        .await?;
    Ok(Json(ShareState {
        service_id: id,
        shared: false,
        changed,
    }))
}

fn friend_view(f: FriendRow, shared: Vec<ServiceInfo>) -> Friend {
    Friend {
        phone: f.phone,
        name: f.name,
        since: f.since,
        shared,
    }
}

/// `GET /v1/services/friends`: the caller's matched friends and what each shares.
pub async fn friends(State(state): State<AppState>, session: Session) -> ApiResult<Json<Friends>> {
    let rows = state.core.store.friends_of(session.user_id).await?;
    let shares = state.core.store.friends_shares(session.user_id).await?;
    let catalogue = if shares.is_empty() {
        Vec::new()
    } else {
        platform(&state).catalogue().await?
    };
    let info = |id: &str| {
        catalogue
            .iter()
            .find(|c| c.id == id)
            .cloned()
            .unwrap_or_else(|| super::catalogue::unknown(id))
    };
    let friends = rows
        .into_iter()
        .map(|f| {
            let shared = shares
                .iter()
                .filter(|s| s.friend_id == f.user_id)
                .map(|s| info(&s.service_id))
                .collect();
            friend_view(f, shared)
        })
        .collect();
    Ok(Json(Friends { friends }))
}

/// The matched friend with this number, or `not_a_friend`.
pub async fn require_friend(
    state: &AppState,
    user_id: i64,
    raw_phone: &str,
) -> ApiResult<FriendRow> {
    let phone = crate::identity::parse_phone(state, raw_phone)?;
    state.core.store.friend_by_phone(user_id, phone.as_str()).await?.ok_or_else(|| {
        ApiError::not_found(
            "not_a_friend",
            format!(
                "{phone} is not a matched friend: you each need the other's number in your address book \
                 (see `ringbook services friends`)"
            ),
        )
    })
}

/// `GET /v1/services/friends/{phone}`: one matched friend and what they share.
pub async fn friend(
    State(state): State<AppState>,
    session: Session,
    Path(phone): Path<String>,
) -> ApiResult<Json<Friend>> {
    let f = require_friend(&state, session.user_id, &phone).await?;
    let ids = state.core.store.shares_of(f.user_id).await?;
    let catalogue = if ids.is_empty() {
        Vec::new()
    } else {
        platform(&state).catalogue().await?
    };
    let shared = ids
        .iter()
        .map(|(id, _)| {
            catalogue
                .iter()
                .find(|c| &c.id == id)
                .cloned()
                .unwrap_or_else(|| super::catalogue::unknown(id))
        })
        .collect();
    Ok(Json(friend_view(f, shared)))
}
