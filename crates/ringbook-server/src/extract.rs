//! Request extractors that turn malformed input into [`ApiError`]s with our JSON body:
//! JSON bodies, the client's address, and the session behind a bearer token.

use crate::error::ApiError;
use crate::state::{now_ms, AppState};
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use ipnet::IpNet;
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

/// The client's address, the one notion every decision about "who is calling" uses: rate
/// limits, allow-lists (admin, SMS gateway, operator header) and the connection record.
///
/// Behind trusted proxies it is the right-most `X-Forwarded-For` entry that is not itself a
/// trusted proxy: every proxy appends the address it received the request from, so entries to
/// the left of the last untrusted one were written by the client and prove nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr {
    pub ip: IpAddr,
    pub source: AddrSource,
}

/// Where [`ClientAddr::ip`] comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddrSource {
    /// The TCP peer, which is not a trusted proxy.
    Peer,
    /// `X-Forwarded-For`, as written by trusted proxies.
    Forwarded,
    /// A trusted proxy that did not say whom it forwards for: `ip` is the proxy's own address
    /// (good enough to share a rate limit), but the client is unknown, so it passes no
    /// allow-list — not even "loopback" when the proxy runs on the same host.
    UnknownBehindProxy,
}

impl ClientAddr {
    /// Derives the client address from the TCP peer and the request's `X-Forwarded-For`
    /// headers (all of them, in order).
    pub fn derive<'a>(
        peer: IpAddr,
        forwarded_for: impl Iterator<Item = &'a str>,
        trusted: &[IpNet],
    ) -> ClientAddr {
        let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
        if !is_trusted(&peer) {
            return ClientAddr {
                ip: peer,
                source: AddrSource::Peer,
            };
        }
        let entries: Vec<&str> = forwarded_for.flat_map(|v| v.split(',')).collect();
        // The last trusted hop seen, walking leftwards: when every entry is a trusted address,
        // the left-most is the client (an operator on the proxy's own host, say).
        let mut last_trusted = None;
        for entry in entries.iter().rev() {
            match parse_forwarded_entry(entry) {
                Some(ip) if is_trusted(&ip) => last_trusted = Some(ip),
                Some(ip) => {
                    return ClientAddr {
                        ip,
                        source: AddrSource::Forwarded,
                    }
                }
                // Garbage where an address should be: whoever wrote it is not a proxy of ours,
                // so the client is unknown.
                None => {
                    last_trusted = None;
                    break;
                }
            }
        }
        match last_trusted {
            Some(ip) => ClientAddr {
                ip,
                source: AddrSource::Forwarded,
            },
            None => ClientAddr {
                ip: peer,
                source: AddrSource::UnknownBehindProxy,
            },
        }
    }

    /// True when the client is known and inside one of `nets`.
    pub fn is_in(&self, nets: &[IpNet]) -> bool {
        self.source != AddrSource::UnknownBehindProxy && nets.iter().any(|n| n.contains(&self.ip))
    }

    /// True when the client is known to be on the server's own host.
    pub fn is_loopback(&self) -> bool {
        self.source != AddrSource::UnknownBehindProxy && self.ip.is_loopback()
    }
}

/// One `X-Forwarded-For` entry: an address, possibly `[v6]`, `v4:port` or `[v6]:port`.
fn parse_forwarded_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sock) = entry.parse::<SocketAddr>() {
        return Some(sock.ip());
    }
    entry
        .strip_prefix('[')
        .and_then(|e| e.strip_suffix(']'))
        .and_then(|e| e.parse().ok())
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
        let headers = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok());
        Ok(ClientAddr::derive(
            peer,
            headers,
            &state.config.trusted_proxies,
        ))
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
            .core
            .store
            .session_by_token_hash(&token_hash(token))
            .await?
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "invalid_token",
                    "the session token is unknown or revoked; log in again",
                )
            })?;
        let user = state
            .core
            .store
            .user_by_id(row.user_id)
            .await?
            .ok_or_else(|| {
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
            state.core.store.touch_session(&row.id, now_ms()).await?;
        }
        Ok(Session {
            session_id: row.id,
            user_id: row.user_id,
            phone: PhoneNumber::from_e164_unchecked(row.phone),
            device_id: row.device_id,
        })
    }
}

/// The token from `Authorization: Bearer …`.
pub fn bearer_token(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(|t| t.trim().to_string())
}

fn missing_token() -> ApiError {
    ApiError::unauthorized(
        "missing_token",
        "log in first: send Authorization: Bearer <token>",
    )
}

impl FromRequestParts<AppState> for Session {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts).ok_or_else(missing_token)?;
        Session::from_token(state, &token).await
    }
}

/// The session of a WebSocket upgrade: browsers cannot set headers on a WebSocket, so here
/// (and only here, where the URL is not logged by intermediaries as a page address) the token
/// may also come as the `access_token` query parameter.
pub struct UpgradeSession(pub Session);

impl FromRequestParts<AppState> for UpgradeSession {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts)
            .or_else(|| {
                let query = parts.uri.query()?;
                serde_urlencoded::from_str::<Vec<(String, String)>>(query)
                    .ok()?
                    .into_iter()
                    .find_map(|(k, v)| (k == "access_token").then_some(v))
            })
            .ok_or_else(missing_token)?;
        Session::from_token(state, &token).await.map(UpgradeSession)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted = nets(&["127.0.0.1/32", "10.0.0.0/8"]);
        // Direct client: its own header is ignored.
        let direct = ClientAddr::derive(ip("203.0.113.9"), ["127.0.0.1"].into_iter(), &trusted);
        assert_eq!(
            direct,
            ClientAddr {
                ip: ip("203.0.113.9"),
                source: AddrSource::Peer
            }
        );
        assert!(!direct.is_loopback());
        // Behind two proxies; the client forged a loopback entry on the left.
        let chained = ClientAddr::derive(
            ip("127.0.0.1"),
            ["127.0.0.1, 198.51.100.7", "10.1.2.3"].into_iter(),
            &trusted,
        );
        assert_eq!(chained.ip, ip("198.51.100.7"));
        assert!(!chained.is_loopback());
        // A same-host proxy that sent no header: the client is unknown, not loopback.
        let unknown = ClientAddr::derive(ip("127.0.0.1"), std::iter::empty(), &trusted);
        assert_eq!(unknown.source, AddrSource::UnknownBehindProxy);
        assert!(!unknown.is_loopback());
        assert!(!unknown.is_in(&nets(&["127.0.0.0/8"])));
        // Ports and brackets as some proxies write them.
        let v6 = ClientAddr::derive(ip("10.0.0.1"), ["[2001:db8::1]:4711"].into_iter(), &trusted);
        assert_eq!(v6.ip, ip("2001:db8::1"));
        let garbage =
            ClientAddr::derive(ip("10.0.0.1"), ["1.2.3.4, nonsense"].into_iter(), &trusted);
        assert_eq!(garbage.source, AddrSource::UnknownBehindProxy);
        // Only trusted hops: the left-most is the client (the proxy's own host here).
        let local = ClientAddr::derive(ip("127.0.0.1"), ["127.0.0.1"].into_iter(), &trusted);
        assert!(local.is_loopback());
    }
}
