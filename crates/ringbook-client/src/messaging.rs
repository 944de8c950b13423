//! Messaging for clients (PB-16, PB-17): typed HTTP calls (history, send, block list), the chat
//! table of the client store, and helpers over the WebSocket connection.

use crate::store::now_ms;
use crate::ws::Connection;
use crate::{Client, ClientError, ClientStore};
use ringbook_proto::messaging::{BlockRequest, BlockedNumber, HistoryPage, SendAck, SendRequest};
use ringbook_proto::ws::{ChatMessage, ClientFrame, ServerFrame};
use sqlx::Row;

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A new client message ID: random, so a resend after a crash reuses the stored one.
pub fn new_client_msg_id() -> String {
    hex::encode(rand::random::<[u8; 12]>())
}

impl Client {
    /// One page of the server's chat history with `peer`, newest first.
    pub async fn history(
        &self,
        peer: &str,
        before: Option<i64>,
        limit: Option<i64>,
    ) -> Result<HistoryPage, ClientError> {
        let mut path = format!("/v1/messages/history?with={}", enc(peer));
        if let Some(b) = before {
            path.push_str(&format!("&before={b}"));
        }
        if let Some(l) = limit {
            path.push_str(&format!("&limit={l}"));
        }
        self.call::<(), _>(reqwest::Method::GET, &path, None).await
    }

    /// Sends over HTTP (same rules and dedupe as the WebSocket `send` frame).
    pub async fn send_message(&self, req: &SendRequest) -> Result<SendAck, ClientError> {
        self.call(reqwest::Method::POST, "/v1/messages", Some(req))
            .await
    }

    pub async fn block(&self, phone: &str) -> Result<BlockedNumber, ClientError> {
        self.call(
            reqwest::Method::POST,
            "/v1/blocks",
            Some(&BlockRequest {
                phone: phone.into(),
            }),
        )
        .await
    }

    pub async fn unblock(&self, phone: &str) -> Result<(), ClientError> {
        self.call_empty::<()>(
            reqwest::Method::DELETE,
            &format!("/v1/blocks/{}", crate::api::path_segment(phone)),
            None,
        )
        .await
    }

    pub async fn blocked(&self) -> Result<Vec<BlockedNumber>, ClientError> {
        self.call::<(), _>(reqwest::Method::GET, "/v1/blocks", None)
            .await
    }
}

/// Whether the server refused a message for good (`not_a_user`, `blocked_by_recipient`, a bad
/// body …), as opposed to a failure worth retrying with the same client message ID later
/// (too fast, a server error, a session that must log in again).
pub fn is_refusal(code: &str) -> bool {
    !matches!(
        code,
        "sending_too_fast"
            | "internal"
            | "invalid_token"
            | "missing_token"
            | "blocked"
            | "unavailable"
            | "service_unavailable"
    )
}

/// [`is_refusal`] for an HTTP send: the refusal, or `None` for a failure worth retrying (no
/// answer, 401, 408, 429, 5xx).
pub fn http_refusal(e: &ClientError) -> Option<&ringbook_proto::ErrorBody> {
    match e {
        ClientError::Api { status, body }
            if (400..500).contains(status)
                && !matches!(status, 401 | 408 | 429)
                && is_refusal(&body.code) =>
        {
            Some(body)
        }
        _ => None,
    }
}

/// What one pass over the outbox did.
#[derive(Debug, Default)]
pub struct OutboxReport {
    /// Stored by the server now (or before: `duplicate`).
    pub sent: Vec<(ChatRow, SendAck)>,
    /// Refused for good; marked failed in the store.
    pub refused: Vec<(ChatRow, ringbook_proto::ErrorBody)>,
    /// Still waiting (the pass stopped at the first failure worth retrying).
    pub waiting: Vec<ChatRow>,
    /// Why the pass stopped early.
    pub stopped: Option<ClientError>,
}

impl Client {
    /// Sends every message of `me` still waiting in the outbox, oldest first, each with its own
    /// client message ID (so the server never stores one twice), over HTTP. Stops at the first
    /// failure worth retrying: the rest wait for the next pass.
    pub async fn flush_outbox(
        &self,
        store: &ClientStore,
        me: &str,
    ) -> Result<OutboxReport, ClientError> {
        let mut report = OutboxReport::default();
        let mut rows = store.pending_outgoing(me).await?.into_iter();
        for row in rows.by_ref() {
            let req = SendRequest {
                client_msg_id: row.client_msg_id.clone(),
                to: row.receiver.clone(),
                body: row.content.clone(),
                kind: Some(row.kind.clone()),
                sent_at: Some(row.sent_at),
            };
            match self.send_message(&req).await {
                Ok(ack) => {
                    store
                        .record_acked(me, &row.client_msg_id, ack.id, ack.seq)
                        .await?;
                    report.sent.push((row, ack));
                }
                Err(e) => match http_refusal(&e) {
                    Some(body) => {
                        store
                            .record_failed(me, &row.client_msg_id, &body.code, &body.message)
                            .await?;
                        report.refused.push((row, body.clone()));
                    }
                    None => {
                        report.waiting.push(row);
                        report.stopped = Some(e);
                        break;
                    }
                },
            }
        }
        report.waiting.extend(rows);
        Ok(report)
    }
}

/// The outcome of a send over the WebSocket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendOutcome {
    Acked {
        id: i64,
        seq: i64,
        stored_at: i64,
        duplicate: bool,
    },
    Failed(ringbook_proto::ErrorBody),
}

impl Connection {
    /// Sends and waits for this message's `ack` or `send_failed`; other frames that arrive
    /// meanwhile are handed to `other`.
    pub async fn send_and_wait(
        &mut self,
        client_msg_id: &str,
        to: &str,
        body: &str,
        mut other: impl FnMut(ServerFrame),
    ) -> Result<SendOutcome, ClientError> {
        self.send(&ClientFrame::Send {
            client_msg_id: client_msg_id.into(),
            to: to.into(),
            body: body.into(),
            kind: None,
            sent_at: Some(now_ms()),
        })
        .await?;
        loop {
            match self.next().await? {
                None => {
                    return Err(ClientError::WebSocket(
                        "the server closed the connection".into(),
                    ))
                }
                Some(ServerFrame::Ack {
                    client_msg_id: c,
                    id,
                    seq,
                    stored_at,
                    duplicate,
                }) if c == client_msg_id => {
                    return Ok(SendOutcome::Acked {
                        id,
                        seq,
                        stored_at,
                        duplicate,
                    })
                }
                Some(ServerFrame::SendFailed {
                    client_msg_id: c,
                    error,
                }) if c == client_msg_id => return Ok(SendOutcome::Failed(error)),
                Some(f) => other(f),
            }
        }
    }

    /// Syncs everything after `after_seq`: the messages in order and the `last_seq` of
    /// `sync_complete`. Other frames meanwhile go to `other`.
    pub async fn sync(
        &mut self,
        after_seq: i64,
        mut other: impl FnMut(ServerFrame),
    ) -> Result<(Vec<ChatMessage>, i64), ClientError> {
        self.send(&ClientFrame::Sync { after_seq }).await?;
        let mut got = Vec::new();
        let mut last = after_seq;
        loop {
            match self.next().await? {
                None => {
                    return Err(ClientError::WebSocket(
                        "the server closed the connection during sync".into(),
                    ))
                }
                Some(ServerFrame::Message(m)) if m.seq > last => got.push(m),
                // The server answers a sync in bounded pages: ask for the next one.
                Some(ServerFrame::SyncComplete {
                    last_seq,
                    more: true,
                    ..
                }) => {
                    last = last_seq.max(last);
                    self.send(&ClientFrame::Sync { after_seq: last }).await?;
                }
                Some(ServerFrame::SyncComplete { last_seq, .. }) => {
                    return Ok((got, last_seq.max(last)))
                }
                // Over the connection's sync budget: the sync was not handled; ask again.
                Some(ServerFrame::Error(e)) if e.code == "slow_down" => {
                    let wait = e.retry_after_secs.unwrap_or(1).min(60);
                    tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
                    self.send(&ClientFrame::Sync { after_seq: last }).await?;
                }
                Some(f) => other(f),
            }
        }
    }
}

/// A row of the client's chat table (PB-17).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatRow {
    pub id: i64,
    pub server_id: Option<i64>,
    pub client_msg_id: String,
    pub sender: String,
    pub receiver: String,
    pub content: String,
    pub sent_at: i64,
    pub received_at: Option<i64>,
    pub kind: String,
    pub offline: bool,
    pub seq: Option<i64>,
    pub delivered_at: Option<i64>,
    pub read_at: Option<i64>,
    /// The server refused it (code, reason): shown as failed, never retried.
    pub failed: Option<(String, String)>,
}

impl ChatRow {
    /// Sent by this client and neither stored by the server nor refused.
    pub fn is_waiting(&self) -> bool {
        self.server_id.is_none() && self.failed.is_none()
    }

    /// The other side of the conversation, seen from `me`.
    pub fn peer<'a>(&'a self, me: &str) -> &'a str {
        if self.sender == me {
            &self.receiver
        } else {
            &self.sender
        }
    }
}

/// One conversation of the list (`ringbook chats`): the latest message and how many of the
/// peer's messages are not read yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conversation {
    pub peer: String,
    pub last: ChatRow,
    pub unread: i64,
}

const CHAT_COLUMNS: &str =
    "id, server_id, client_msg_id, sender, receiver, content, sent_at, received_at, type, \
     offline, seq, delivered_at, read_at, failed_code, failed_reason";

fn chat_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<ChatRow, ClientError> {
    Ok(ChatRow {
        id: r.try_get("id")?,
        server_id: r.try_get("server_id")?,
        client_msg_id: r.try_get("client_msg_id")?,
        sender: r.try_get("sender")?,
        receiver: r.try_get("receiver")?,
        content: r.try_get("content")?,
        sent_at: r.try_get("sent_at")?,
        received_at: r.try_get("received_at")?,
        kind: r.try_get("type")?,
        offline: r.try_get::<i64, _>("offline")? != 0,
        seq: r.try_get("seq")?,
        delivered_at: r.try_get("delivered_at")?,
        read_at: r.try_get("read_at")?,
        failed: match (
            r.try_get::<Option<String>, _>("failed_code")?,
            r.try_get::<Option<String>, _>("failed_reason")?,
        ) {
            (Some(code), reason) => Some((code, reason.unwrap_or_default())),
            (None, _) => None,
        },
    })
}

impl ClientStore {
    /// Records a message this client is sending, before it is sent (so a crash can resend it
    /// with the same client ID).
    pub async fn record_outgoing(
        &self,
        client_msg_id: &str,
        from: &str,
        to: &str,
        body: &str,
        kind: &str,
    ) -> Result<(), ClientError> {
        sqlx::query(
            "INSERT INTO chat (client_msg_id, sender, receiver, content, sent_at, type) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (sender, client_msg_id) DO NOTHING",
        )
        .bind(client_msg_id)
        .bind(from)
        .bind(to)
        .bind(body)
        .bind(now_ms())
        .bind(kind)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// One own message by its client message ID.
    pub async fn outgoing(
        &self,
        from: &str,
        client_msg_id: &str,
    ) -> Result<Option<ChatRow>, ClientError> {
        let row = sqlx::query(&format!(
            "SELECT {CHAT_COLUMNS} FROM chat WHERE sender = $1 AND client_msg_id = $2"
        ))
        .bind(from)
        .bind(client_msg_id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(chat_from_row).transpose()
    }

    /// The outbox: own messages neither stored by the server nor refused, oldest first.
    pub async fn pending_outgoing(&self, from: &str) -> Result<Vec<ChatRow>, ClientError> {
        let rows = sqlx::query(&format!(
            "SELECT {CHAT_COLUMNS} FROM chat WHERE sender = $1 AND server_id IS NULL \
             AND failed_code IS NULL ORDER BY id"
        ))
        .bind(from)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(chat_from_row).collect()
    }

    /// Marks an own message refused by the server: shown as failed, never sent again.
    pub async fn record_failed(
        &self,
        from: &str,
        client_msg_id: &str,
        code: &str,
        reason: &str,
    ) -> Result<(), ClientError> {
        sqlx::query(
            "UPDATE chat SET failed_code = $1, failed_reason = $2 \
             WHERE sender = $3 AND client_msg_id = $4 AND server_id IS NULL",
        )
        .bind(code)
        .bind(reason)
        .bind(from)
        .bind(client_msg_id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Puts a refused message back in the outbox (sent again on purpose, same ID).
    pub async fn retry_failed(&self, from: &str, client_msg_id: &str) -> Result<(), ClientError> {
        sqlx::query(
            "UPDATE chat SET failed_code = NULL, failed_reason = NULL \
             WHERE sender = $1 AND client_msg_id = $2",
        )
        .bind(from)
        .bind(client_msg_id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Server IDs of `peer`'s messages to `me` not read here yet, and marks them read here
    /// (the caller tells the server with a `read` frame).
    pub async fn take_unread(&self, me: &str, peer: &str) -> Result<Vec<i64>, ClientError> {
        let rows = sqlx::query(
            "UPDATE chat SET read_at = $1 WHERE sender = $2 AND receiver = $3 AND sender <> receiver \
             AND read_at IS NULL AND server_id IS NOT NULL RETURNING server_id",
        )
        .bind(now_ms())
        .bind(peer)
        .bind(me)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| r.try_get("server_id").map_err(Into::into))
            .collect()
    }

    /// Every conversation of `me`, the most recent first.
    pub async fn conversations(&self, me: &str) -> Result<Vec<Conversation>, ClientError> {
        let rows = sqlx::query(&format!(
            "WITH mine AS (SELECT {CHAT_COLUMNS}, CASE WHEN sender = $1 THEN receiver ELSE sender END AS peer \
             FROM chat WHERE sender = $1 OR receiver = $1), \
             ranked AS (SELECT *, ROW_NUMBER() OVER (PARTITION BY peer ORDER BY sent_at DESC, id DESC) AS rn FROM mine) \
             SELECT ranked.*, (SELECT COUNT(*) FROM chat u WHERE u.sender = ranked.peer AND u.receiver = $1 \
             AND u.sender <> u.receiver AND u.read_at IS NULL) AS unread \
             FROM ranked WHERE rn = 1 ORDER BY sent_at DESC, id DESC"
        ))
        .bind(me)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Conversation {
                    peer: r.try_get("peer")?,
                    last: chat_from_row(r)?,
                    unread: r.try_get("unread")?,
                })
            })
            .collect()
    }

    /// Marks an outgoing message stored by the server.
    pub async fn record_acked(
        &self,
        from: &str,
        client_msg_id: &str,
        server_id: i64,
        seq: i64,
    ) -> Result<(), ClientError> {
        sqlx::query(
            "UPDATE chat SET server_id = $1, seq = $2 WHERE sender = $3 AND client_msg_id = $4",
        )
        .bind(server_id)
        .bind(seq)
        .bind(from)
        .bind(client_msg_id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Stores a message from the server (received, or sent from another device / fetched
    /// history); true when it was new here.
    pub async fn record_message(
        &self,
        m: &ChatMessage,
        offline: bool,
    ) -> Result<bool, ClientError> {
        let done = sqlx::query(
            "INSERT INTO chat (server_id, client_msg_id, sender, receiver, content, sent_at, received_at, type, offline, seq) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (sender, client_msg_id) DO UPDATE SET server_id = excluded.server_id, seq = excluded.seq \
             WHERE chat.server_id IS NULL",
        )
        .bind(m.id)
        .bind(&m.client_msg_id)
        .bind(&m.from)
        .bind(&m.to)
        .bind(&m.body)
        .bind(m.sent_at)
        .bind(now_ms())
        .bind(&m.kind)
        .bind(offline as i64)
        .bind(m.seq)
        .execute(self.pool())
        .await;
        match done {
            Ok(r) => Ok(r.rows_affected() > 0),
            // Same server ID already stored.
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Applies a receipt for a message this client sent.
    pub async fn record_receipt(
        &self,
        server_id: i64,
        status: &str,
        at: i64,
    ) -> Result<(), ClientError> {
        let sql = if status == "read" {
            "UPDATE chat SET read_at = $1, delivered_at = COALESCE(delivered_at, $1) WHERE server_id = $2"
        } else {
            "UPDATE chat SET delivered_at = COALESCE(delivered_at, $1) WHERE server_id = $2"
        };
        sqlx::query(sql)
            .bind(at)
            .bind(server_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The conversation of `me` with `peer`, oldest first (the last `limit` messages). With
    /// `peer == me` it is the conversation with oneself, not everything one sent.
    pub async fn chat_with(
        &self,
        me: &str,
        peer: &str,
        limit: i64,
    ) -> Result<Vec<ChatRow>, ClientError> {
        let rows = sqlx::query(&format!(
            "SELECT {CHAT_COLUMNS} FROM chat WHERE (sender = $1 AND receiver = $2) OR (sender = $2 AND receiver = $1) \
             ORDER BY COALESCE(server_id, 9223372036854775807) DESC, id DESC LIMIT $3"
        ))
        .bind(me)
        .bind(peer)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let mut v = rows
            .iter()
            .map(chat_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        v.reverse();
        Ok(v)
    }

    /// The sequence number the next sync starts after.
    pub async fn last_seq(&self) -> Result<i64, ClientError> {
        Ok(self
            .get("last_seq")
            .await?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0))
    }

    pub async fn set_last_seq(&self, seq: i64) -> Result<(), ClientError> {
        if seq > self.last_seq().await? {
            self.set("last_seq", &seq.to_string()).await?;
        }
        Ok(())
    }
}
