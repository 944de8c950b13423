//! Accounts, developer mode, following, messages both ways, the inbox and privacy (OA-1 … OA-3).

use super::{fields, push};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, Session};
use crate::state::{now_ms, AppState};
use axum::extract::{Path, State};
use axum::Json;
use ringbook_proto::official::*;
use ringbook_store::official::{OaAccountRow, OaFollowerRow};
use ringbook_store::StoreError;
use serde::Deserialize;

pub fn valid_name(name: &str) -> bool {
    (3..=32).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

pub fn info(a: &OaAccountRow, owner_view: bool) -> AccountInfo {
    AccountInfo {
        name: a.name.clone(),
        developer_mode: a.developer_mode,
        callback_url: if owner_view {
            a.callback_url.clone()
        } else {
            None
        },
        created_at: a.created_at,
    }
}

pub async fn account(state: &AppState, name: &str) -> ApiResult<OaAccountRow> {
    state
        .core
        .store
        .oa_account_by_name(name)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(
                "no_such_account",
                format!("there is no official account named '{name}'"),
            )
        })
}

async fn owned(state: &AppState, session: &Session, name: &str) -> ApiResult<OaAccountRow> {
    let a = account(state, name).await?;
    if a.owner_id != session.user_id {
        return Err(ApiError::forbidden(
            "not_account_owner",
            "only the account's owner can do this",
        ));
    }
    Ok(a)
}

/// POST /v1/official/accounts — the caller owns the new account.
pub async fn create(
    State(state): State<AppState>,
    session: Session,
    ApiJson(req): ApiJson<CreateAccountRequest>,
) -> ApiResult<Json<AccountInfo>> {
    if !valid_name(&req.name) {
        return Err(ApiError::bad_request(
            "invalid_account_name",
            "account names are 3–32 characters: lowercase letters, digits, '-' and '_'",
        ));
    }
    if req.password.chars().count() < 8 || req.password.len() > 256 {
        return Err(ApiError::bad_request(
            "weak_password",
            "the console password needs at least 8 characters",
        ));
    }
    let hash = state
        .core
        .passwords
        .hash(&super::console::password_key(&req.name), req.password)
        .await?;
    match state
        .core
        .store
        .oa_create_account(&req.name, session.user_id, &hash, now_ms())
        .await
    {
        Ok(a) => {
            tracing::info!(account = %a.name, owner = session.user_id, "official account created");
            Ok(Json(info(&a, true)))
        }
        Err(StoreError::Conflict(_)) => Err(ApiError::conflict(
            "account_name_taken",
            format!("the name '{}' is taken; pick another", req.name),
        )),
        Err(e) => Err(e.into()),
    }
}

/// GET /v1/official/accounts/{name}
pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Path(name): Path<String>,
) -> ApiResult<Json<AccountInfo>> {
    let a = account(&state, &name).await?;
    Ok(Json(info(&a, a.owner_id == session.user_id)))
}

/// PUT /v1/official/accounts/{name}/callback — handshake first, then developer mode on.
pub async fn set_callback(
    State(state): State<AppState>,
    session: Session,
    Path(name): Path<String>,
    ApiJson(req): ApiJson<SetCallbackRequest>,
) -> ApiResult<Json<AccountInfo>> {
    let a = owned(&state, &session, &name).await?;
    if !(3..=32).contains(&req.token.len()) || !req.token.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return Err(ApiError::bad_request(
            "invalid_token",
            "the token is 3–32 letters or digits",
        ));
    }
    if req.url.len() > 2048 {
        return Err(ApiError::bad_request(
            "invalid_callback_url",
            "the callback URL is too long",
        ));
    }
    push::handshake(&state, &req.url, &req.token).await?;
    // The token signs every push, so it is kept encrypted, not hashed.
    let sealed = state.core.keys.encrypt(req.token.as_bytes());
    state
        .core
        .store
        .oa_set_callback(a.id, Some((&req.url, &sealed)))
        .await?;
    tracing::info!(account = %a.name, "developer mode on");
    let a = account(&state, &name).await?;
    Ok(Json(info(&a, true)))
}

/// DELETE /v1/official/accounts/{name}/callback — developer mode off.
pub async fn clear_callback(
    State(state): State<AppState>,
    session: Session,
    Path(name): Path<String>,
) -> ApiResult<Json<AccountInfo>> {
    let a = owned(&state, &session, &name).await?;
    state.core.store.oa_set_callback(a.id, None).await?;
    let a = account(&state, &name).await?;
    Ok(Json(info(&a, true)))
}

fn random_id(prefix: &str, bytes: usize) -> String {
    let raw: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    format!("{prefix}{}", hex::encode(raw))
}

/// The follower row, creating the user's FakeID and a fresh openID when needed.
async fn follow_row(
    state: &AppState,
    account_id: i64,
    user_id: i64,
) -> ApiResult<(OaFollowerRow, bool)> {
    state
        .core
        .store
        .oa_fake_id(user_id, &random_id("f", 8))
        .await?;
    Ok(state
        .core
        .store
        .oa_follow(account_id, user_id, &random_id("o", 12), now_ms())
        .await?)
}

/// Records an inbound message or event and, in developer mode, queues its push.
async fn record_inbound(
    state: &AppState,
    account: &OaAccountRow,
    follower: &OaFollowerRow,
    msg_type: &str,
    event: Option<&str>,
    content: &str,
) -> ApiResult<(i64, i64, bool)> {
    let now = now_ms();
    let create_time = now / 1000;
    let inbound = state
        .core
        .store
        .oa_add_inbound(
            account.id,
            follower.user_id,
            msg_type,
            event,
            content,
            create_time,
            now,
        )
        .await?;
    let pushed = account.developer_mode && account.callback_url.is_some();
    if pushed {
        let doc = push::push_xml(&account.name, &follower.open_id, &inbound);
        state
            .core
            .store
            .oa_add_push(account.id, inbound.id, follower.user_id, &doc, now)
            .await?;
        state.official.new_push.notify_one();
    }
    Ok((inbound.id, create_time, pushed))
}

/// POST /v1/official/accounts/{name}/follow
pub async fn follow(
    State(state): State<AppState>,
    session: Session,
    Path(name): Path<String>,
) -> ApiResult<Json<FollowResponse>> {
    let a = account(&state, &name).await?;
    let (f, changed) = follow_row(&state, a.id, session.user_id).await?;
    if changed {
        record_inbound(&state, &a, &f, "event", Some("subscribe"), "").await?;
    }
    Ok(Json(FollowResponse {
        account: a.name,
        following: true,
        changed,
    }))
}

/// DELETE /v1/official/accounts/{name}/follow
pub async fn unfollow(
    State(state): State<AppState>,
    session: Session,
    Path(name): Path<String>,
) -> ApiResult<Json<FollowResponse>> {
    let a = account(&state, &name).await?;
    let changed = state.core.store.oa_unfollow(a.id, session.user_id).await?;
    if changed {
        if let Some(f) = state.core.store.oa_follower(a.id, session.user_id).await? {
            record_inbound(&state, &a, &f, "event", Some("unsubscribe"), "").await?;
        }
    }
    Ok(Json(FollowResponse {
        account: a.name,
        following: false,
        changed,
    }))
}

const KINDS: &[&str] = &["text", "image", "voice", "video"];

fn check_body(kind: &str, body: &str) -> ApiResult<()> {
    if !KINDS.contains(&kind) {
        return Err(ApiError::bad_request(
            "invalid_kind",
            "kind is one of text, image, voice, video",
        ));
    }
    if body.trim().is_empty() {
        return Err(ApiError::bad_request(
            "empty_message",
            "write something to send",
        ));
    }
    if body.len() > 2048 {
        return Err(ApiError::bad_request(
            "message_too_large",
            "official-account messages are limited to 2048 bytes",
        ));
    }
    Ok(())
}

/// POST /v1/official/accounts/{name}/messages — a follower writes to the account.
pub async fn send_to_account(
    State(state): State<AppState>,
    session: Session,
    Path(name): Path<String>,
    ApiJson(req): ApiJson<SendToAccountRequest>,
) -> ApiResult<Json<SentToAccount>> {
    check_body(&req.kind, &req.body)?;
    let a = account(&state, &name).await?;
    let f = state
        .core
        .store
        .oa_follower(a.id, session.user_id)
        .await?
        .filter(|f| f.following)
        .ok_or_else(|| {
            ApiError::forbidden(
                "not_following",
                format!("follow '{name}' first: ringbook oa follow {name}"),
            )
        })?;
    let (msg_id, create_time, pushed) =
        record_inbound(&state, &a, &f, &req.kind, None, &req.body).await?;
    Ok(Json(SentToAccount {
        msg_id,
        create_time,
        pushed,
    }))
}

/// POST /v1/official/accounts/{name}/send — the owner messages one follower or all (mass send).
pub async fn owner_send(
    State(state): State<AppState>,
    session: Session,
    Path(name): Path<String>,
    ApiJson(req): ApiJson<AccountSendRequest>,
) -> ApiResult<Json<AccountSendResult>> {
    let a = owned(&state, &session, &name).await?;
    Ok(Json(account_send(&state, &a, &req).await?))
}

/// Sends to one follower (by FakeID) or every current follower, logging progress of mass sends.
pub async fn account_send(
    state: &AppState,
    a: &OaAccountRow,
    req: &AccountSendRequest,
) -> ApiResult<AccountSendResult> {
    check_body(&req.kind, &req.body)?;
    let targets: Vec<OaFollowerRow> = match &req.to_fake_id {
        Some(fake) => vec![state
            .core
            .store
            .oa_follower_by_fake_id(a.id, fake)
            .await?
            .filter(|f| f.following)
            .ok_or_else(|| {
                ApiError::not_found("no_such_follower", "no current follower has that FakeID")
            })?],
        None => state.core.store.oa_followers(a.id).await?,
    };
    let total = targets.len() as u64;
    let mut sent = 0u64;
    for f in &targets {
        push::send_to_follower(state, a, f.user_id, &req.kind, &req.body).await?;
        sent += 1;
        if total > 1 && (sent.is_multiple_of(100) || sent == total) {
            tracing::info!(account = %a.name, sent, total, "mass send progress");
        }
    }
    Ok(AccountSendResult { total, sent })
}

#[derive(Deserialize)]
pub struct InboxQuery {
    #[serde(default)]
    after: i64,
    #[serde(default)]
    limit: Option<i64>,
}

/// GET /v1/official/inbox — messages accounts sent the caller.
pub async fn inbox(
    State(state): State<AppState>,
    session: Session,
    ApiQuery(q): ApiQuery<InboxQuery>,
) -> ApiResult<Json<Vec<OfficialMessage>>> {
    let rows = state
        .core
        .store
        .oa_inbox(
            session.user_id,
            q.after,
            q.limit.unwrap_or(100).clamp(1, 500),
        )
        .await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| OfficialMessage {
                id: r.id,
                account: r.account_name,
                kind: r.kind,
                body: r.body,
                sent_at: r.sent_at,
            })
            .collect(),
    ))
}

/// GET /v1/official/privacy
pub async fn get_privacy(
    State(state): State<AppState>,
    session: Session,
) -> ApiResult<Json<OfficialPrivacy>> {
    Ok(Json(OfficialPrivacy {
        fields: fields::allowed_fields(&state, session.user_id).await?,
    }))
}

/// PUT /v1/official/privacy — which fields accounts may see (empty: nothing).
pub async fn set_privacy(
    State(state): State<AppState>,
    session: Session,
    ApiJson(req): ApiJson<OfficialPrivacy>,
) -> ApiResult<Json<OfficialPrivacy>> {
    let clean = fields::clean_fields(&req.fields).map_err(|f| {
        ApiError::bad_request(
            "unknown_field",
            format!(
                "'{f}' is not a field; use some of {}",
                KNOWN_FIELDS.join(", ")
            ),
        )
    })?;
    let json = serde_json::to_string(&clean).map_err(|e| ApiError::Internal(e.into()))?;
    state
        .core
        .store
        .oa_set_privacy(session.user_id, &json, now_ms())
        .await?;
    Ok(Json(OfficialPrivacy { fields: clean }))
}
