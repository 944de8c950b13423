//! HTTP routes of messaging: send (same rules as the WebSocket frame), chat history by peer with
//! a before-cursor, and the block list.

use super::{check_rate, default_sent_at, submit, to_wire, Outgoing};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, Session};
use crate::identity::parse_phone;
use crate::state::{now_ms, AppState};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use ringbook_proto::messaging::{
    BlockRequest, BlockedNumber, HistoryMessage, HistoryPage, SendAck, SendRequest,
};
use serde::Deserialize;

pub async fn send(
    State(state): State<AppState>,
    session: Session,
    ApiJson(req): ApiJson<SendRequest>,
) -> ApiResult<Json<SendAck>> {
    let to = parse_phone(&state, &req.to)?;
    check_rate(&state, session.user_id)?;
    let d = submit(
        &state,
        Outgoing {
            sender_id: session.user_id,
            sender_phone: &session.phone,
            to: &to,
            client_msg_id: &req.client_msg_id,
            kind: req.kind.as_deref().unwrap_or("text"),
            body: &req.body,
            sent_at: default_sent_at(req.sent_at),
        },
    )
    .await?
    .wait()
    .await?;
    Ok(Json(SendAck {
        client_msg_id: req.client_msg_id,
        id: d.message.id,
        seq: d.message.seq,
        stored_at: d.message.stored_at,
        duplicate: !d.new,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// The other side's number.
    with: String,
    /// Only messages with a smaller ID (the `next_before` of the previous page).
    before: Option<i64>,
    limit: Option<i64>,
}

pub async fn history(
    State(state): State<AppState>,
    session: Session,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<HistoryPage>> {
    let peer = parse_phone(&state, &q.with)?;
    let max = state.config.messaging.history_max.max(1);
    let limit = q.limit.unwrap_or(50);
    if !(1..=max).contains(&limit) {
        return Err(ApiError::bad_request(
            "bad_limit",
            format!("limit must be between 1 and {max}"),
        ));
    }
    let rows = state
        .core
        .store
        .conversation(session.user_id, peer.as_str(), q.before, limit)
        .await?;
    let next_before = if rows.len() as i64 == limit {
        rows.last().map(|r| r.id)
    } else {
        None
    };
    let messages = rows
        .iter()
        .map(|r| HistoryMessage {
            message: to_wire(r),
            delivered_at: r.delivered_at,
            read_at: r.read_at,
        })
        .collect();
    Ok(Json(HistoryPage {
        messages,
        next_before,
    }))
}

pub async fn list_blocks(
    State(state): State<AppState>,
    session: Session,
) -> ApiResult<Json<Vec<BlockedNumber>>> {
    let rows = state.core.store.blocked_numbers(session.user_id).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| BlockedNumber {
                phone: r.phone,
                blocked_at: r.created_at,
            })
            .collect(),
    ))
}

/// Idempotent: blocking a blocked number answers 200 again.
pub async fn block(
    State(state): State<AppState>,
    session: Session,
    ApiJson(req): ApiJson<BlockRequest>,
) -> ApiResult<Json<BlockedNumber>> {
    let phone = parse_phone(&state, &req.phone)?;
    if phone.as_str() == session.phone.as_str() {
        return Err(ApiError::bad_request(
            "cannot_block_self",
            "you cannot block your own number",
        ));
    }
    state
        .core
        .store
        .block_number(session.user_id, phone.as_str(), now_ms())
        .await?;
    let at = state
        .core
        .store
        .blocked_numbers(session.user_id)
        .await?
        .into_iter()
        .find(|b| b.phone == phone.as_str())
        .map(|b| b.created_at)
        .unwrap_or_else(now_ms);
    Ok(Json(BlockedNumber {
        phone: phone.to_string(),
        blocked_at: at,
    }))
}

pub async fn unblock(
    State(state): State<AppState>,
    session: Session,
    Path(raw): Path<String>,
) -> ApiResult<StatusCode> {
    let phone = parse_phone(&state, &raw)?;
    if state
        .core
        .store
        .unblock_number(session.user_id, phone.as_str())
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(
            "not_blocked",
            format!("{phone} is not on your block list"),
        ))
    }
}
