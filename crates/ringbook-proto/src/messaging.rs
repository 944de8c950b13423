//! HTTP bodies of the messaging part: chat history and the block list (PB-16, PB-17).

use crate::ws::ChatMessage;
use serde::{Deserialize, Serialize};

/// A chat-history row as the server keeps it (PB-17), with receipts.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct HistoryMessage {
    #[serde(flatten)]
    pub message: ChatMessage,
    pub delivered_at: Option<i64>,
    pub read_at: Option<i64>,
}

/// `GET /v1/messages/history?with=NUMBER&before=ID&limit=N`: newest first.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct HistoryPage {
    pub messages: Vec<HistoryMessage>,
    /// Pass as `before` to get the next (older) page; absent on the last page.
    pub next_before: Option<i64>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct BlockRequest {
    pub phone: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct BlockedNumber {
    pub phone: String,
    pub blocked_at: i64,
}

/// `POST /v1/messages`: the HTTP form of the WebSocket `send` frame (same rules, same dedupe).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SendRequest {
    pub client_msg_id: String,
    pub to: String,
    pub body: String,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub sent_at: Option<i64>,
}

/// The answer to a send: the message is stored durably.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SendAck {
    pub client_msg_id: String,
    pub id: i64,
    pub seq: i64,
    pub stored_at: i64,
    /// True when this acknowledges a resend of a message stored earlier.
    pub duplicate: bool,
}
