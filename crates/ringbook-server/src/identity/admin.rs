//! Operator actions: block and unblock a number (PB-4's valid flag).

use crate::error::{ApiError, ApiResult};
use crate::extract::ClientAddr;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use ringbook_proto::ws::CloseReason;
use ringbook_store::StoreError;
use subtle::ConstantTimeEq;

/// With `admin.token` set, callers present it as a bearer token; without, only loopback callers
/// (an operator on the server's own host) are admitted.
pub fn require_admin(state: &AppState, addr: &ClientAddr, headers: &HeaderMap) -> ApiResult<()> {
    match &state.config.admin.token {
        Some(expected) => {
            let given = headers
                .get(axum::http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or_default();
            if bool::from(given.as_bytes().ct_eq(expected.expose().as_bytes())) {
                Ok(())
            } else {
                Err(ApiError::unauthorized(
                    "admin_only",
                    "this needs the operator's admin token",
                ))
            }
        }
        None if addr.is_loopback() => Ok(()),
        None => Err(ApiError::forbidden(
            "admin_only",
            "admin actions are only accepted from the server's own host unless admin.token is set",
        )),
    }
}

#[derive(serde::Serialize)]
pub struct BlockState {
    phone: String,
    blocked: bool,
}

async fn set_blocked(
    state: AppState,
    addr: ClientAddr,
    headers: HeaderMap,
    raw: String,
    blocked: bool,
) -> ApiResult<Json<BlockState>> {
    require_admin(&state, &addr, &headers)?;
    let phone = super::parse_phone(&state, &raw)?;
    let user = match state.core.store.set_blocked(phone.as_str(), blocked).await {
        Ok(u) => u,
        Err(StoreError::NotFound) => {
            return Err(ApiError::not_found(
                "unknown_user",
                format!("{phone} is not a Ringbook user"),
            ))
        }
        Err(e) => return Err(e.into()),
    };
    if blocked {
        state.core.hub.close_user(user.id, CloseReason::Blocked);
    }
    tracing::info!(phone = %phone, blocked, "operator changed the block flag");
    Ok(Json(BlockState {
        phone: phone.to_string(),
        blocked,
    }))
}

pub async fn block(
    State(state): State<AppState>,
    addr: ClientAddr,
    headers: HeaderMap,
    Path(phone): Path<String>,
) -> ApiResult<Json<BlockState>> {
    set_blocked(state, addr, headers, phone, true).await
}

pub async fn unblock(
    State(state): State<AppState>,
    addr: ClientAddr,
    headers: HeaderMap,
    Path(phone): Path<String>,
) -> ApiResult<Json<BlockState>> {
    set_blocked(state, addr, headers, phone, false).await
}
