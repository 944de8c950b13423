//! Request extractors that turn malformed input into [`ApiError`]s with our JSON body:
//! JSON bodies, the client's address, and the session behind a bearer token.

use crate::error::ApiError;
use crate::state::{now_ms, AppState};
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use ringbook_proto::PhoneNumber;
use sha2::{Digest, Sha256};
use std::net::{IpAddr, SocketAddr};

/// `axum::Json` whose rejections use our error format.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

pub fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::bad_request(
            "unsupported_media_type",
            "send the body as JSON with Content-Type: application/json",
        ),
        JsonRejection::JsonSyntaxError(e) => ApiError::bad_request(
            "malformed_json",
            format!("the body is not valid JSON: {}", e.body_text()),
        ),
        JsonRejection::JsonDataError(e) => ApiError::bad_request(
            "invalid_body",
            format!("the body does not fit this request: {}", e.body_text()),
        ),
        JsonRejection::BytesRejection(e)
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE =>
        {
            ApiError::TooLarge {
                message: "the body is larger than this server accepts".into(),
            }
        }
        other => ApiError::bad_request("bad_body", other.body_text()),
    }
}

/// The client's address: the TCP peer, or the `X-Forwarded-For` entry set by a trusted proxy.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr {
    pub ip: IpAddr,
    /// The TCP peer itself (the proxy when there is one).
    pub peer: IpAddr,
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no peer address on the request")))?;
        let trusted = state
            .config
            .trusted_proxies
            .iter()
            .any(|net| net.contains(&peer));
        let forwarded = trusted
            .then(|| parts.headers.get("x-forwarded-for"))
            .flatten()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse::<IpAddr>().ok());
        Ok(ClientAddr {
            ip: forwarded.unwrap_or(peer),
            peer,
        })
    }
}

/// An authenticated device session (bearer token).
#[derive(Clone, Debug)]
pub struct Session {
    pub session_id: String,
    pub user_id: i64,
    pub phone: PhoneNumber,
    pub device_id: String,
}

/// Session tokens are 256-bit random values, so a fast hash is enough to store them safely.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl Session {
    /// Resolves a token to its live session.
    pub async fn from_token(state: &AppState, token: &str) -> Result<Session, ApiError> {
        let row = state
            .store
            .session_by_token_hash(&token_hash(token))
            .await?
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "invalid_token",
                    "the session token is unknown or revoked; log in again",
                )
            })?;
        let user = state.store.user_by_id(row.user_id).await?.ok_or_else(|| {
            ApiError::unauthorized(
                "invalid_token",
                "the session's account no longer exists; log in again",
            )
        })?;
        if user.blocked {
            return Err(ApiError::forbidden(
                "blocked",
                "this number is blocked; contact the operator",
            ));
        }
        // Coarse last-seen: one write per minute at most.
        if now_ms() - row.last_seen_at > 60_000 {
            state.store.touch_session(&row.id, now_ms()).await?;
        }
        Ok(Session {
            session_id: row.id,
            user_id: row.user_id,
            phone: PhoneNumber::from_e164_unchecked(row.phone),
            device_id: row.device_id,
        })
    }
}

/// The token from `Authorization: Bearer …`, or (for browsers opening a WebSocket, which cannot
/// set headers) the `access_token` query parameter.
pub fn bearer_token(parts: &Parts) -> Option<String> {
    if let Some(v) = parts.headers.get(axum::http::header::AUTHORIZATION) {
        return v
            .to_str()
            .ok()?
            .strip_prefix("Bearer ")
            .map(|t| t.trim().to_string());
    }
    parts
        .uri
        .query()?
        .split('&')
        .find_map(|kv| kv.strip_prefix("access_token=").map(str::to_string))
}

impl FromRequestParts<AppState> for Session {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts).ok_or_else(|| {
            ApiError::unauthorized(
                "missing_token",
                "log in first: send Authorization: Bearer <token>",
            )
        })?;
        Session::from_token(state, &token).await
    }
}

/// `axum::extract::Query` whose rejections use our error format: a malformed query string
/// (`?limit=null`, a missing or mistyped parameter) gets `400 {code: "invalid_query"}` as JSON
/// rather than axum's plain-text answer. Every route with query parameters uses it.
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(rejection) => Err(ApiError::bad_request(
                "invalid_query",
                format!(
                    "the query string does not fit this request: {}",
                    rejection.body_text()
                ),
            )),
        }
    }
}
