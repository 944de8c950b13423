//! WebSocket frames (`GET /v1/ws`), JSON text frames tagged by `type`. See `docs/protocol.md`.

use crate::ErrorBody;
use serde::{Deserialize, Serialize};

/// Bumped on incompatible changes; sent in [`ServerFrame::Hello`].
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest text frame the server reads.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// What a client sends.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    Ping { nonce: u64 },
}

/// Why the server closes a connection.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// The same session connected again; this older connection is closed.
    Replaced,
    /// The session was revoked (logout, revoke from another device, account moved).
    Revoked,
    /// The account was blocked by an operator.
    Blocked,
    /// The server is shutting down; reconnect later.
    Shutdown,
}

/// A chat message as clients see it (PB-17's chat-history row).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChatMessage {
    /// Server-wide message ID.
    pub id: i64,
    /// The recipient's sequence number: sync resumes after the last one seen.
    pub seq: i64,
    pub from: String,
    pub to: String,
    /// The sender's own ID for the message, used to drop duplicates.
    pub client_msg_id: String,
    /// `text`, `sms`, `mms` or `notice`.
    pub kind: String,
    pub body: String,
    /// When the sender sent it (sender's clock) and when the server stored it.
    pub sent_at: i64,
    pub stored_at: i64,
}

/// What the server sends.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    Hello {
        protocol: u32,
        connection_id: String,
        node: String,
        phone: String,
    },
    Pong {
        nonce: u64,
    },
    /// A message for this user, live or from sync.
    Message(ChatMessage),
    /// A message from an official account this user follows (OA-1).
    OfficialMessage(crate::official::OfficialMessage),
    Error(ErrorBody),
    Closing {
        reason: CloseReason,
    },
}
