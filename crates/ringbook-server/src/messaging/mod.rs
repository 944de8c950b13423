//! Messaging by phone number (PB-16, PB-17, X-3): store durably, then acknowledge and push to
//! every connected device of the recipient; offline devices sync by sequence number.
//!
//! Other parts send messages through [`deliver`] (e.g. a website opening a chat with an account
//! manager, service-order outcomes).

use crate::error::{ApiError, ApiResult};
use crate::state::{now_ms, AppState};
use axum::Router;
use ringbook_proto::ws::{ChatMessage, ServerFrame};
use ringbook_proto::PhoneNumber;
use ringbook_store::messaging::{Appended, MessageRow, NewMessage};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MessagingConfig {
    /// Largest message body, in bytes.
    pub max_body_bytes: usize,
}

impl Default for MessagingConfig {
    fn default() -> Self {
        MessagingConfig { max_body_bytes: 16 * 1024 }
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
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

/// Stores the message (committed before this returns), then pushes it to the recipient's
/// connected devices. A repeat of the same client message ID is not stored or pushed again.
pub async fn deliver(state: &AppState, out: Outgoing<'_>) -> ApiResult<Delivered> {
    if out.body.len() > state.config.messaging.max_body_bytes {
        return Err(ApiError::bad_request(
            "message_too_large",
            format!("messages are limited to {} bytes", state.config.messaging.max_body_bytes),
        ));
    }
    let recipient = state
        .store
        .user_by_phone(out.to.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found("not_a_user", format!("{} is not on Ringbook", out.to)))?;
    let new = NewMessage {
        sender_id: out.sender_id,
        sender_phone: out.sender_phone.to_string(),
        recipient_id: recipient.id,
        recipient_phone: recipient.phone.clone(),
        client_msg_id: out.client_msg_id.to_string(),
        kind: out.kind.to_string(),
        body: out.body.to_string(),
        sent_at: out.sent_at,
    };
    match state.store.append_message(&new, now_ms()).await? {
        Appended::New(row) => {
            state.metrics.messages_stored.inc();
            let message = to_wire(&row);
            state.hub.send_to_user(recipient.id, ServerFrame::Message(message.clone()));
            Ok(Delivered { message, new: true })
        }
        Appended::Duplicate(row) => Ok(Delivered { message: to_wire(&row), new: false }),
    }
}
