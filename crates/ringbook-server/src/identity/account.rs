//! The logged-in user's own account: `/v1/me`, the rescue password, secure mode, sessions.

use super::secrets;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Session};
use crate::state::{now_ms, AppState};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use ringbook_proto::api::{Me, SessionInfo, SetRescuePassword, SetSecureMode};
use ringbook_proto::ws::CloseReason;
use ringbook_store::identity::UserRow;
use ringbook_store::StoreError;

async fn user_of(state: &AppState, session: &Session) -> ApiResult<UserRow> {
    state
        .core
        .store
        .user_by_id(session.user_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("invalid_token", "the account no longer exists"))
}

pub async fn me(State(state): State<AppState>, session: Session) -> ApiResult<Json<Me>> {
    let u = user_of(&state, &session).await?;
    Ok(Json(Me {
        phone: session.phone.clone(),
        device_id: u.device_id,
        imei: u.imei,
        iccid: u.iccid,
        created_at: u.created_at,
        last_login_at: u.last_login_at,
        login_count: u.login_count,
        secure_mode: u.secure_mode,
        rescue_password_set: u.rescue_hash.is_some(),
        session_id: session.session_id,
    }))
}

pub async fn set_rescue_password(
    State(state): State<AppState>,
    session: Session,
    ApiJson(req): ApiJson<SetRescuePassword>,
) -> ApiResult<StatusCode> {
    secrets::rescue_password_ok(&req.password)?;
    if let Err(wait) = state
        .limits
        .rescue_changes_per_user
        .check(&session.user_id.to_string())
    {
        return Err(ApiError::rate_limited(
            "too_many_changes",
            "the rescue password was changed too often; try again later",
            wait.as_secs().max(1),
        ));
    }
    let user = user_of(&state, &session).await?;
    if user.rescue_hash.is_some() {
        // Changing it needs the old one, so a stolen unlocked phone cannot take the account.
        super::login::check_rescue_password(&state, &user, req.current_password.as_deref()).await?;
    }
    let hash = state
        .core
        .passwords
        .hash(&super::login::password_key(user.id), req.password)
        .await?;
    state.core.store.set_rescue_hash(user.id, &hash).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn set_secure_mode(
    State(state): State<AppState>,
    session: Session,
    ApiJson(req): ApiJson<SetSecureMode>,
) -> ApiResult<StatusCode> {
    let user = user_of(&state, &session).await?;
    if req.enabled && user.rescue_hash.is_none() {
        return Err(ApiError::conflict(
            "no_rescue_password",
            "set a rescue password before turning on secure mode",
        ));
    }
    state
        .core
        .store
        .set_secure_mode(user.id, req.enabled)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_sessions(
    State(state): State<AppState>,
    session: Session,
) -> ApiResult<Json<Vec<SessionInfo>>> {
    let rows = state.core.store.list_sessions(session.user_id).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| SessionInfo {
                current: r.id == session.session_id,
                id: r.id,
                device_id: r.device_id,
                label: r.label,
                created_at: r.created_at,
                last_seen_at: r.last_seen_at,
            })
            .collect(),
    ))
}

pub async fn revoke_session(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    match state
        .core
        .store
        .revoke_session(session.user_id, &id, now_ms())
        .await
    {
        Ok(()) => {
            state.core.hub.close_session(&id, CloseReason::Revoked);
            Ok(StatusCode::NO_CONTENT)
        }
        Err(StoreError::NotFound) => Err(ApiError::not_found(
            "unknown_session",
            "no such session of yours",
        )),
        Err(e) => Err(e.into()),
    }
}

pub async fn logout(State(state): State<AppState>, session: Session) -> ApiResult<StatusCode> {
    state
        .core
        .store
        .revoke_session(session.user_id, &session.session_id, now_ms())
        .await?;
    state
        .core
        .hub
        .close_session(&session.session_id, CloseReason::Revoked);
    Ok(StatusCode::NO_CONTENT)
}
