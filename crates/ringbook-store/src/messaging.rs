//! Message queries (PB-16, PB-17, X-3): messages are numbered per recipient (`seq`), stored
//! before they are acknowledged, and deduplicated by (sender, client message ID).

use crate::{opt, Result, Returning, Store};
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
        if let Some(existing) = self
            .message_by_client_id(m.sender_id, &m.client_msg_id)
            .await?
        {
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
        .returning_one(&mut *tx)
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
        .returning_one(&mut *tx)
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

    pub async fn message_by_client_id(
        &self,
        sender_id: i64,
        client_msg_id: &str,
    ) -> Result<Option<MessageRow>> {
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
    pub async fn messages_after(
        &self,
        recipient_id: i64,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<MessageRow>> {
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

/// A number a user blocked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockedRow {
    pub phone: String,
    pub created_at: i64,
}

impl Store {
    /// Stores many messages in ONE transaction (group commit): every result is durable once this
    /// returns `Ok`. Repeats of (sender, client_msg_id) — stored earlier or earlier in this batch
    /// — come back as `Duplicate`. On any error nothing of the batch is committed; the caller
    /// may retry the messages one by one with [`Store::append_message`].
    pub async fn append_batch(&self, batch: &[NewMessage], now: i64) -> Result<Vec<Appended>> {
        use std::collections::HashMap;
        // Rows per statement: 10 parameters per message stays far below both engines' limits.
        const CHUNK: usize = 400;
        // The first occurrence of each (sender, client ID) in the batch; later ones repeat it.
        let mut first: HashMap<(i64, &str), usize> = HashMap::new();
        let mut unique: Vec<usize> = Vec::new();
        for (i, m) in batch.iter().enumerate() {
            first
                .entry((m.sender_id, m.client_msg_id.as_str()))
                .or_insert_with(|| {
                    unique.push(i);
                    i
                });
        }
        let mut tx = self.pool().begin().await?;
        // Messages stored by an earlier try.
        let mut stored: HashMap<(i64, String), MessageRow> = HashMap::new();
        for chunk in unique.chunks(CHUNK) {
            let mut marks = self.marks();
            let cond = (0..chunk.len())
                .map(|_| {
                    let sender = marks.next_mark();
                    let client_id = marks.next_mark();
                    format!("(sender_id = {sender} AND client_msg_id = {client_id})")
                })
                .collect::<Vec<_>>()
                .join(" OR ");
            let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE {cond}");
            let mut q = sqlx::query(&sql);
            for &i in chunk {
                q = q.bind(batch[i].sender_id).bind(&batch[i].client_msg_id);
            }
            for row in q.fetch_all(&mut *tx).await? {
                let m = message_from_row(&row)?;
                stored.insert((m.sender_id, m.client_msg_id.clone()), m);
            }
        }
        let fresh: Vec<usize> = unique
            .iter()
            .copied()
            .filter(|&i| {
                !stored.contains_key(&(batch[i].sender_id, batch[i].client_msg_id.clone()))
            })
            .collect();
        // Sequence numbers: read each recipient's counter once, number in batch order, write back.
        let mut recipients: Vec<i64> = fresh.iter().map(|&i| batch[i].recipient_id).collect();
        recipients.sort_unstable();
        recipients.dedup();
        let mut last: HashMap<i64, i64> = recipients.iter().map(|&r| (r, 0)).collect();
        for chunk in recipients.chunks(CHUNK) {
            let list = self.marks().list(chunk.len());
            let sql = format!("SELECT user_id, last_seq FROM user_seq WHERE user_id IN ({list})");
            let mut q = sqlx::query(&sql);
            for r in chunk {
                q = q.bind(*r);
            }
            for row in q.fetch_all(&mut *tx).await? {
                last.insert(row.try_get("user_id")?, row.try_get("last_seq")?);
            }
        }
        let mut seqs: HashMap<usize, i64> = HashMap::new();
        for &i in &fresh {
            let s = last.entry(batch[i].recipient_id).or_insert(0);
            *s += 1;
            seqs.insert(i, *s);
        }
        for chunk in recipients.chunks(CHUNK) {
            let values = self.marks().tuples(chunk.len(), 2);
            let sql = format!(
                "INSERT INTO user_seq (user_id, last_seq) VALUES {values} \
                 ON CONFLICT (user_id) DO UPDATE SET last_seq = excluded.last_seq"
            );
            let mut q = sqlx::query(&sql);
            for r in chunk {
                q = q.bind(*r).bind(last.get(r).copied().unwrap_or(0));
            }
            q.execute(&mut *tx).await?;
        }
        let mut ids: HashMap<(i64, String), i64> = HashMap::new();
        for chunk in fresh.chunks(CHUNK) {
            let values = self.marks().tuples(chunk.len(), 10);
            let sql = format!(
                "INSERT INTO messages (recipient_id, seq, sender_id, sender_phone, recipient_phone, client_msg_id, \
                 kind, body, sent_at, stored_at) VALUES {values} RETURNING id, sender_id, client_msg_id"
            );
            let mut q = sqlx::query(&sql);
            for &i in chunk {
                let m = &batch[i];
                q = q
                    .bind(m.recipient_id)
                    .bind(seqs.get(&i).copied().unwrap_or(0))
                    .bind(m.sender_id)
                    .bind(&m.sender_phone)
                    .bind(&m.recipient_phone)
                    .bind(&m.client_msg_id)
                    .bind(&m.kind)
                    .bind(&m.body)
                    .bind(m.sent_at)
                    .bind(now);
            }
            for row in q.fetch_all(&mut *tx).await? {
                ids.insert(
                    (row.try_get("sender_id")?, row.try_get("client_msg_id")?),
                    row.try_get("id")?,
                );
            }
        }
        tx.commit().await?;
        let mut out: Vec<Appended> = Vec::with_capacity(batch.len());
        for (i, m) in batch.iter().enumerate() {
            let key = (m.sender_id, m.client_msg_id.clone());
            let owner = first
                .get(&(m.sender_id, m.client_msg_id.as_str()))
                .copied()
                .unwrap_or(i);
            if let Some(row) = stored.get(&key) {
                out.push(Appended::Duplicate(row.clone()));
                continue;
            }
            let id = ids.get(&key).copied().ok_or(crate::StoreError::NotFound)?;
            let row = MessageRow {
                id,
                recipient_id: m.recipient_id,
                seq: seqs.get(&owner).copied().unwrap_or(0),
                sender_id: m.sender_id,
                sender_phone: m.sender_phone.clone(),
                recipient_phone: m.recipient_phone.clone(),
                client_msg_id: m.client_msg_id.clone(),
                kind: m.kind.clone(),
                body: m.body.clone(),
                sent_at: m.sent_at,
                stored_at: now,
                delivered_at: None,
                read_at: None,
            };
            // The owner's row keeps the owner's content; a repeat later in the batch is a duplicate of it.
            if owner == i {
                out.push(Appended::New(row));
            } else {
                let o = &batch[owner];
                out.push(Appended::Duplicate(MessageRow {
                    kind: o.kind.clone(),
                    body: o.body.clone(),
                    sent_at: o.sent_at,
                    recipient_id: o.recipient_id,
                    recipient_phone: o.recipient_phone.clone(),
                    ..row
                }));
            }
        }
        Ok(out)
    }

    /// Marks the recipient's messages delivered (`read` also sets read time); returns the rows
    /// that changed, so receipts go out once.
    pub async fn mark_received(
        &self,
        recipient_id: i64,
        ids: &[i64],
        read: bool,
        now: i64,
    ) -> Result<Vec<MessageRow>> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // One statement for the whole batch (a receipt frame carries up to 1,000 IDs): the
        // write lock is held for one statement, not one per message, so receipts never keep
        // the message writer waiting for long. Placeholders from `marks()`, each bound once.
        const IDS_PER_STATEMENT: usize = 1000;
        let mut changed = Vec::new();
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            let mut marks = self.marks();
            let set = if read {
                let (a, b) = (marks.next_mark(), marks.next_mark());
                format!("read_at = {a}, delivered_at = COALESCE(delivered_at, {b})")
            } else {
                format!("delivered_at = {}", marks.next_mark())
            };
            let recipient = marks.next_mark();
            let list = marks.list(chunk.len());
            let unset = if read { "read_at" } else { "delivered_at" };
            let sql = format!(
                "UPDATE messages SET {set} WHERE recipient_id = {recipient} AND {unset} IS NULL \
                 AND id IN ({list}) RETURNING {MESSAGE_COLUMNS}"
            );
            let mut q = sqlx::query(&sql).bind(now);
            if read {
                q = q.bind(now);
            }
            q = q.bind(recipient_id);
            for id in chunk {
                q = q.bind(*id);
            }
            // Many rows: `fetch_all` reads the statement to its end (see `Returning`).
            for row in q.fetch_all(self.pool()).await? {
                changed.push(message_from_row(&row)?);
            }
        }
        changed.sort_by_key(|m| m.id);
        Ok(changed)
    }

    /// One conversation of `user_id` with `peer_phone`, newest first, ids below `before`.
    pub async fn conversation(
        &self,
        user_id: i64,
        peer_phone: &str,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<MessageRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE id < $3 AND \
             ((sender_id = $1 AND recipient_phone = $2) OR (recipient_id = $1 AND sender_phone = $2)) \
             ORDER BY id DESC LIMIT $4"
        ))
        .bind(user_id)
        .bind(peer_phone)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(message_from_row).collect()
    }

    /// The recipient's last sequence number (0 before the first message).
    pub async fn last_seq(&self, user_id: i64) -> Result<i64> {
        let row = sqlx::query("SELECT last_seq FROM user_seq WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.try_get("last_seq")).transpose()?.unwrap_or(0))
    }

    /// Adds `phone` to `user_id`'s block list; false when it was there already.
    pub async fn block_number(&self, user_id: i64, phone: &str, now: i64) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO blocked_numbers (user_id, blocked_phone, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, blocked_phone) DO NOTHING",
        )
        .bind(user_id)
        .bind(phone)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Removes `phone` from the block list; false when it was not there.
    pub async fn unblock_number(&self, user_id: i64, phone: &str) -> Result<bool> {
        let done =
            sqlx::query("DELETE FROM blocked_numbers WHERE user_id = $1 AND blocked_phone = $2")
                .bind(user_id)
                .bind(phone)
                .execute(self.pool())
                .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The user IDs of those of `phones` that are registered, for resolving a batch of sends with
    /// one query.
    pub async fn user_ids_by_phones(
        &self,
        phones: &[&str],
    ) -> Result<std::collections::HashMap<String, i64>> {
        let mut out = std::collections::HashMap::with_capacity(phones.len());
        for chunk in phones.chunks(500) {
            let sql = format!(
                "SELECT id, phone FROM users WHERE phone IN ({})",
                self.marks().list(chunk.len())
            );
            let mut q = sqlx::query(&sql);
            for p in chunk {
                q = q.bind(*p);
            }
            for row in q.fetch_all(self.pool()).await? {
                out.insert(row.try_get("phone")?, row.try_get("id")?);
            }
        }
        Ok(out)
    }

    /// Which of the (user, number) pairs are blocks — "user blocked number" — in one query per
    /// few hundred pairs.
    pub async fn blocked_pairs(
        &self,
        pairs: &[(i64, &str)],
    ) -> Result<std::collections::HashSet<(i64, String)>> {
        let mut out = std::collections::HashSet::new();
        for chunk in pairs.chunks(250) {
            let mut marks = self.marks();
            let users = marks.list(chunk.len());
            let phones = marks.list(chunk.len());
            let sql = format!(
                "SELECT user_id, blocked_phone FROM blocked_numbers \
                 WHERE user_id IN ({users}) AND blocked_phone IN ({phones})"
            );
            let mut q = sqlx::query(&sql);
            for (user, _) in chunk {
                q = q.bind(*user);
            }
            for (_, phone) in chunk {
                q = q.bind(*phone);
            }
            for row in q.fetch_all(self.pool()).await? {
                // The IN × IN filter may also match pairs nobody asked about; keep asked ones.
                let pair: (i64, String) = (row.try_get("user_id")?, row.try_get("blocked_phone")?);
                if chunk.iter().any(|(u, p)| *u == pair.0 && *p == pair.1) {
                    out.insert(pair);
                }
            }
        }
        Ok(out)
    }

    pub async fn is_blocked_by(&self, user_id: i64, phone: &str) -> Result<bool> {
        let row = sqlx::query(
            "SELECT 1 AS one FROM blocked_numbers WHERE user_id = $1 AND blocked_phone = $2",
        )
        .bind(user_id)
        .bind(phone)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.is_some())
    }

    pub async fn blocked_numbers(&self, user_id: i64) -> Result<Vec<BlockedRow>> {
        let rows = sqlx::query(
            "SELECT blocked_phone, created_at FROM blocked_numbers WHERE user_id = $1 ORDER BY created_at, blocked_phone",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(BlockedRow {
                    phone: r.try_get("blocked_phone")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }
}
