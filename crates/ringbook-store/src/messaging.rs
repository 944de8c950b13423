//! Message queries (PB-16, PB-17, X-3): messages are numbered per recipient (`seq`), stored
//! before they are acknowledged, and deduplicated by (sender, client message ID).

use crate::{opt, Result, Store};
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMessage {
    pub sender_id: i64,
    pub sender_phone: String,
    pub recipient_id: i64,
    pub recipient_phone: String,
    pub client_msg_id: String,
    pub kind: String,
    pub body: String,
    pub sent_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageRow {
    pub id: i64,
    pub recipient_id: i64,
    pub seq: i64,
    pub sender_id: i64,
    pub sender_phone: String,
    pub recipient_phone: String,
    pub client_msg_id: String,
    pub kind: String,
    pub body: String,
    pub sent_at: i64,
    pub stored_at: i64,
    pub delivered_at: Option<i64>,
    pub read_at: Option<i64>,
}

/// Whether `append_message` stored a new message or found the same one from an earlier try.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Appended {
    New(MessageRow),
    Duplicate(MessageRow),
}

const MESSAGE_COLUMNS: &str = "id, recipient_id, seq, sender_id, sender_phone, recipient_phone, \
     client_msg_id, kind, body, sent_at, stored_at, delivered_at, read_at";

fn message_from_row(r: &AnyRow) -> Result<MessageRow> {
    Ok(MessageRow {
        id: r.try_get("id")?,
        recipient_id: r.try_get("recipient_id")?,
        seq: r.try_get("seq")?,
        sender_id: r.try_get("sender_id")?,
        sender_phone: r.try_get("sender_phone")?,
        recipient_phone: r.try_get("recipient_phone")?,
        client_msg_id: r.try_get("client_msg_id")?,
        kind: r.try_get("kind")?,
        body: r.try_get("body")?,
        sent_at: r.try_get("sent_at")?,
        stored_at: r.try_get("stored_at")?,
        delivered_at: opt(r, "delivered_at")?,
        read_at: opt(r, "read_at")?,
    })
}

impl Store {
    /// Stores a message durably (committed before returning) with the recipient's next sequence
    /// number; a repeat of (sender, client_msg_id) returns the stored one instead.
    pub async fn append_message(&self, m: &NewMessage, now: i64) -> Result<Appended> {
        if let Some(existing) = self.message_by_client_id(m.sender_id, &m.client_msg_id).await? {
            return Ok(Appended::Duplicate(existing));
        }
        let mut tx = self.pool().begin().await?;
        // Taking the recipient's counter row serialises writers to one recipient, which is what
        // keeps per-recipient order.
        let seq: i64 = sqlx::query(
            "INSERT INTO user_seq (user_id, last_seq) VALUES ($1, 1) \
             ON CONFLICT (user_id) DO UPDATE SET last_seq = user_seq.last_seq + 1 RETURNING last_seq",
        )
        .bind(m.recipient_id)
        .fetch_one(&mut *tx)
        .await?
        .try_get("last_seq")?;
        let inserted = sqlx::query(&format!(
            "INSERT INTO messages (recipient_id, seq, sender_id, sender_phone, recipient_phone, client_msg_id, \
             kind, body, sent_at, stored_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {MESSAGE_COLUMNS}"
        ))
        .bind(m.recipient_id)
        .bind(seq)
        .bind(m.sender_id)
        .bind(&m.sender_phone)
        .bind(&m.recipient_phone)
        .bind(&m.client_msg_id)
        .bind(&m.kind)
        .bind(&m.body)
        .bind(m.sent_at)
        .bind(now)
        .fetch_one(&mut *tx)
        .await;
        match inserted {
            Ok(row) => {
                let msg = message_from_row(&row)?;
                tx.commit().await?;
                Ok(Appended::New(msg))
            }
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                // The same message raced in from a retry on another connection.
                tx.rollback().await?;
                let existing = self
                    .message_by_client_id(m.sender_id, &m.client_msg_id)
                    .await?
                    .ok_or(crate::StoreError::NotFound)?;
                Ok(Appended::Duplicate(existing))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn message_by_client_id(&self, sender_id: i64, client_msg_id: &str) -> Result<Option<MessageRow>> {
        let row = sqlx::query(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE sender_id = $1 AND client_msg_id = $2"
        ))
        .bind(sender_id)
        .bind(client_msg_id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(message_from_row).transpose()
    }

    /// A recipient's messages after `after_seq`, oldest first.
    pub async fn messages_after(&self, recipient_id: i64, after_seq: i64, limit: i64) -> Result<Vec<MessageRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE recipient_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
        ))
        .bind(recipient_id)
        .bind(after_seq)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(message_from_row).collect()
    }
}
