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
    Ping {
        nonce: u64,
    },
    /// Send a message to a phone number. `client_msg_id` is the sender's own ID for it: a resend
    /// with the same ID is acknowledged again and never stored or delivered twice.
    Send {
        client_msg_id: String,
        to: String,
        body: String,
        /// `text` (default), `sms`, `mms` or `notice`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kind: Option<String>,
        /// The sender's clock, Unix milliseconds (default: the server's).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sent_at: Option<i64>,
    },
    /// Ask for the messages after `after_seq`: they come as `message` frames in order, then one
    /// `sync_complete` (with `more` when the reply was cut at the page limit).
    Sync {
        after_seq: i64,
    },
    /// Receipts for messages this user received (server message IDs).
    Delivered {
        ids: Vec<i64>,
    },
    Read {
        ids: Vec<i64>,
    },
}

/// Why the server closes a connection.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// The session opened more connections than the server keeps at once (8), or this
    /// connection fell too far behind; the oldest / slow one is closed. Reconnect and sync.
    Replaced,
    /// The session was revoked (logout, revoke from another device, account moved).
    Revoked,
    /// The account was moved to another device (PB-5): this device is logged out.
    Moved,
    /// The account was blocked by an operator.
    Blocked,
    /// The server is shutting down; reconnect later.
    Shutdown,
    /// The client kept sending after being told to slow down (WebSocket close code 1008).
    RateLimited,
    /// A frame was larger than [`MAX_FRAME_BYTES`] (WebSocket close code 1009).
    TooLarge,
}

impl CloseReason {
    /// The WebSocket close code sent with this reason (RFC 6455 §7.4.1).
    pub fn close_code(self) -> u16 {
        match self {
            CloseReason::Replaced
            | CloseReason::Revoked
            | CloseReason::Moved
            | CloseReason::Blocked
            | CloseReason::Shutdown => 1000,
            CloseReason::RateLimited => 1008,
            CloseReason::TooLarge => 1009,
        }
    }

    /// The snake_case name, as in `closing {reason}` and the close frame's reason.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::Replaced => "replaced",
            CloseReason::Revoked => "revoked",
            CloseReason::Moved => "moved",
            CloseReason::Blocked => "blocked",
            CloseReason::Shutdown => "shutdown",
            CloseReason::RateLimited => "rate_limited",
            CloseReason::TooLarge => "too_large",
        }
    }
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

/// A delivery or read receipt, pushed to the sender of the message.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Receipt {
    pub id: i64,
    pub client_msg_id: String,
    /// The recipient's number.
    pub by: String,
    /// `delivered` or `read`.
    pub status: String,
    pub at: i64,
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
    /// The message with this client ID is stored durably (sent only after commit).
    Ack {
        client_msg_id: String,
        id: i64,
        /// The recipient's sequence number of the message.
        seq: i64,
        stored_at: i64,
        /// False when this acknowledges a resend of a message stored earlier.
        duplicate: bool,
    },
    /// A send was refused; nothing was stored. `error.code` says why (see `docs/protocol.md`).
    SendFailed {
        client_msg_id: String,
        error: ErrorBody,
    },
    /// Every message up to `last_seq` has been sent by a sync. A sync answers at most
    /// `websocket.sync_max_rows` messages; `more` says there are further ones: send
    /// `sync {after_seq: last_seq}` again.
    SyncComplete {
        last_seq: i64,
        count: u64,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        more: bool,
    },
    /// A message this user sent was delivered to or read by its recipient.
    Receipt(Receipt),
    /// A contact's presence changed (PB-13), or this user's own (from another device).
    Presence(crate::presence::PresenceInfo),
    /// A message from an official account this user follows (OA-1).
    OfficialMessage(crate::official::OfficialMessage),
    Error(ErrorBody),
    /// A profile this user may see changed (MM-3); fetch it with `GET /v1/profiles/{phone}`.
    /// Also sent to the owner's own devices.
    ProfileUpdated {
        phone: String,
        version: i64,
    },
    /// The user's contact list changed on the server without a sync of this device (today: a
    /// vCard sent in an MMS added `count` contacts, `source: "mms"`); a `contacts sync` brings
    /// them (the book is now at `version`).
    ContactsChanged {
        version: i64,
        count: u64,
        source: String,
    },
    Closing {
        reason: CloseReason,
    },
}
