//! Messaging by phone number (PB-16, PB-17, X-3): store durably, then acknowledge and push to
//! every connected device of the recipient; offline devices sync by sequence number.
//!
//! Data flow of a send: validate (size, kind, recipient, block list, rate) → queue to the single
//! writer task ([`writer`]) → the writer commits a whole batch in one transaction (group commit),
//! then pushes each new message to the recipient's connections in commit order and answers every
//! waiting sender → the sender gets its `ack`. Nothing is acknowledged before its batch committed.
//!
//! Other parts send messages through [`deliver`] (e.g. a website opening a chat with an account
//! manager, service-order outcomes).
//!
//! Files: [`writer`] (group commit), [`frames`] (WebSocket frames), [`http`] (history, blocks).

pub mod frames;
pub mod http;
pub mod writer;

use crate::error::{ApiError, ApiResult};
use crate::ratelimit::KeyedLimiter;
use crate::shared::Core;
use crate::state::{now_ms, AppState};
use axum::routing::{delete, get, post};
use axum::Router;
use ringbook_proto::ws::ChatMessage;
use ringbook_proto::PhoneNumber;
use ringbook_store::messaging::{Appended, MessageRow};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MessagingConfig {
    /// Largest message body, in bytes.
    pub max_body_bytes: usize,
    /// Sends one user may make per second (a burst of this many is allowed).
    pub sends_per_second: u32,
    /// Most messages the writer commits in one transaction.
    pub batch_max: usize,
    /// Sends waiting for the writer before senders wait (back-pressure).
    pub queue: usize,
    /// Messages per page of a sync (pages follow each other until the sync is complete).
    pub sync_page: i64,
    /// Largest page of `GET /v1/messages/history`.
    pub history_max: i64,
}

impl Default for MessagingConfig {
    fn default() -> Self {
        MessagingConfig {
            max_body_bytes: 16 * 1024,
            sends_per_second: 50,
            batch_max: 1024,
            queue: 16_384,
            sync_page: 200,
            history_max: 200,
        }
    }
}

/// The messaging part's run-time state: the writer queue and the per-user send limiter.
pub struct Runtime {
    writer: mpsc::Sender<writer::Job>,
    limiter: KeyedLimiter,
}

impl Runtime {
    /// Starts the writer under the core's supervisor: it lives as long as the server, and at
    /// shutdown it commits what is queued before it ends.
    pub fn start(core: &Arc<Core>, cfg: &MessagingConfig) -> Self {
        Runtime {
            writer: writer::start(core, cfg),
            limiter: KeyedLimiter::per_second(cfg.sends_per_second),
        }
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/messages", post(http::send))
        .route("/v1/messages/history", get(http::history))
        .route("/v1/blocks", get(http::list_blocks).post(http::block))
        .route("/v1/blocks/{phone}", delete(http::unblock))
}

/// A message one user sends another.
pub struct Outgoing<'a> {
    pub sender_id: i64,
    pub sender_phone: &'a PhoneNumber,
    pub to: &'a PhoneNumber,
    pub client_msg_id: &'a str,
    /// `text`, `sms`, `mms` or `notice`.
    pub kind: &'a str,
    pub body: &'a str,
    pub sent_at: i64,
}

/// The stored message and whether it was new (false: a retry of one already stored).
pub struct Delivered {
    pub message: ChatMessage,
    pub new: bool,
}

pub const KINDS: [&str; 4] = ["text", "sms", "mms", "notice"];
pub const MAX_CLIENT_MSG_ID: usize = 128;

pub fn to_wire(m: &MessageRow) -> ChatMessage {
    ChatMessage {
        id: m.id,
        seq: m.seq,
        from: m.sender_phone.clone(),
        to: m.recipient_phone.clone(),
        client_msg_id: m.client_msg_id.clone(),
        kind: m.kind.clone(),
        body: m.body.clone(),
        sent_at: m.sent_at,
        stored_at: m.stored_at,
    }
}

/// A send queued to the writer; [`Pending::wait`] resolves once its batch committed.
pub struct Pending {
    rx: oneshot::Receiver<writer::Outcome>,
}

impl Pending {
    pub async fn wait(self) -> ApiResult<Delivered> {
        match self.rx.await {
            Ok(Ok(Appended::New(row))) => Ok(Delivered {
                message: to_wire(&row),
                new: true,
            }),
            Ok(Ok(Appended::Duplicate(row))) => Ok(Delivered {
                message: to_wire(&row),
                new: false,
            }),
            Ok(Err(writer::Refused::NotAUser(to))) => Err(ApiError::not_found(
                "not_a_user",
                format!("{to} is not on Ringbook"),
            )),
            Ok(Err(writer::Refused::Blocked(to))) => Err(ApiError::forbidden(
                "blocked_by_recipient",
                format!("{to} does not accept messages from you"),
            )),
            Ok(Err(writer::Refused::Store(e))) => Err(e.into()),
            Ok(Err(writer::Refused::Unchecked(e))) => Err(ApiError::Internal(anyhow::anyhow!(
                "the message was not stored: {e}"
            ))),
            Err(_) => Err(ApiError::Internal(anyhow::anyhow!(
                "the message writer stopped"
            ))),
        }
    }
}

/// Checks a send and queues it to the writer, in call order (so one connection's sends keep
/// their order). Applies no rate limit (see [`check_rate`]).
pub async fn submit(state: &AppState, out: Outgoing<'_>) -> ApiResult<Pending> {
    let cfg = &state.config.messaging;
    if out.body.len() > cfg.max_body_bytes {
        return Err(ApiError::bad_request(
            "message_too_large",
            format!(
                "messages are limited to {} bytes; this one has {}",
                cfg.max_body_bytes,
                out.body.len()
            ),
        ));
    }
    if out.body.is_empty() {
        return Err(ApiError::bad_request(
            "empty_message",
            "the message body is empty; write something",
        ));
    }
    if out.client_msg_id.is_empty() || out.client_msg_id.len() > MAX_CLIENT_MSG_ID {
        return Err(ApiError::bad_request(
            "bad_client_msg_id",
            format!("client_msg_id must be 1 to {MAX_CLIENT_MSG_ID} bytes"),
        ));
    }
    if !KINDS.contains(&out.kind) {
        return Err(ApiError::bad_request(
            "bad_kind",
            format!("kind must be one of {}", KINDS.join(", ")),
        ));
    }
    // The recipient and the block list are checked by the writer, for a whole batch in two
    // queries, rather than by two reads per send here.
    let draft = writer::Draft {
        sender_id: out.sender_id,
        sender_phone: out.sender_phone.to_string(),
        recipient_phone: out.to.to_string(),
        client_msg_id: out.client_msg_id.to_string(),
        kind: out.kind.to_string(),
        body: out.body.to_string(),
        sent_at: out.sent_at,
    };
    let (tx, rx) = oneshot::channel();
    state
        .messaging
        .writer
        .send(writer::Job { draft, reply: tx })
        .await
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("the message writer stopped")))?;
    Ok(Pending { rx })
}

/// The per-user send limit: `Err` with a 429 when the user sends too fast.
pub fn check_rate(state: &AppState, sender_id: i64) -> ApiResult<()> {
    state
        .messaging
        .limiter
        .check(&sender_id.to_string())
        .map_err(|wait| {
            ApiError::rate_limited(
                "sending_too_fast",
                format!(
                    "at most {} messages per second; wait and send again",
                    state.config.messaging.sends_per_second
                ),
                wait.as_secs().max(1),
            )
        })
}

/// Stores the message (committed before this returns), then pushes it to the recipient's
/// connected devices. A repeat of the same client message ID is not stored or pushed again.
pub async fn deliver(state: &AppState, out: Outgoing<'_>) -> ApiResult<Delivered> {
    submit(state, out).await?.wait().await
}

/// Used by tests and the load tool: the current time as message `sent_at` default.
pub fn default_sent_at(sent_at: Option<i64>) -> i64 {
    sent_at.unwrap_or_else(now_ms)
}
