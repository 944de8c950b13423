//! The resolver's own SQLite store: received messages (deduplicated by account + MsgId), the
//! users it has resolved (FakeID, openID, information) and each account's "obtained" list.

use serde::Serialize;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::Row;
use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
}

/// A push as received.
#[derive(Clone, Debug)]
pub struct Received {
    pub account: String,
    pub msg_id: i64,
    pub open_id: String,
    pub create_time: i64,
    pub msg_type: String,
    pub event: Option<String>,
    pub content: String,
}

impl Received {
    pub fn from_push(account: &str, f: &BTreeMap<String, String>) -> Option<Self> {
        Some(Received {
            account: account.to_string(),
            msg_id: f.get("MsgId")?.trim().parse().ok()?,
            open_id: f.get("FromUserName").filter(|s| !s.is_empty())?.clone(),
            create_time: f.get("CreateTime")?.trim().parse().ok()?,
            msg_type: f.get("MsgType").cloned().unwrap_or_else(|| "text".into()),
            event: f.get("Event").cloned().filter(|e| !e.is_empty()),
            content: f
                .get("Content")
                .or_else(|| f.get("MediaId"))
                .cloned()
                .unwrap_or_default(),
        })
    }
}

/// A stored message with what is known about its sender.
#[derive(Clone, Debug, Serialize)]
pub struct MessageRow {
    pub id: i64,
    pub account: String,
    pub msg_id: i64,
    pub open_id: String,
    pub create_time: i64,
    pub msg_type: String,
    pub event: Option<String>,
    pub content: String,
    /// `pending`, `resolved`, `ambiguous` or `unresolved`.
    pub status: String,
    pub attempts: i64,
    pub fake_id: Option<String>,
    pub info: Option<serde_json::Value>,
    /// `store`, `openid` or `create_time`.
    pub method: Option<String>,
    pub note: Option<String>,
}

/// A resolved follower.
#[derive(Clone, Debug)]
pub struct KnownUser {
    pub fake_id: String,
    pub info: serde_json::Value,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account TEXT NOT NULL, msg_id INTEGER NOT NULL, open_id TEXT NOT NULL, create_time INTEGER NOT NULL,
    msg_type TEXT NOT NULL, event TEXT, content TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0, fake_id TEXT, info TEXT, method TEXT, note TEXT,
    UNIQUE (account, msg_id));
CREATE TABLE IF NOT EXISTS users (
    account TEXT NOT NULL, open_id TEXT NOT NULL, fake_id TEXT NOT NULL, info TEXT NOT NULL,
    method TEXT NOT NULL, PRIMARY KEY (account, open_id));
CREATE TABLE IF NOT EXISTS obtained (
    account TEXT NOT NULL, fake_id TEXT NOT NULL, PRIMARY KEY (account, fake_id));
";

fn row_to_message(r: &sqlx::sqlite::SqliteRow) -> Result<MessageRow, sqlx::Error> {
    let info: Option<String> = r.try_get("info")?;
    Ok(MessageRow {
        id: r.try_get("id")?,
        account: r.try_get("account")?,
        msg_id: r.try_get("msg_id")?,
        open_id: r.try_get("open_id")?,
        create_time: r.try_get("create_time")?,
        msg_type: r.try_get("msg_type")?,
        event: r.try_get("event")?,
        content: r.try_get("content")?,
        status: r.try_get("status")?,
        attempts: r.try_get("attempts")?,
        fake_id: r.try_get("fake_id")?,
        info: info.and_then(|i| serde_json::from_str(&i).ok()),
        method: r.try_get("method")?,
        note: r.try_get("note")?,
    })
}

impl Store {
    pub async fn open(path: &Path) -> anyhow::Result<Self> {
        let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .busy_timeout(std::time::Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await?;
        sqlx::raw_sql(SCHEMA).execute(&pool).await?;
        Ok(Store { pool })
    }

    /// Stores a push; `None` when the same (account, MsgId) was already received.
    pub async fn insert_received(&self, m: &Received) -> Result<Option<i64>, sqlx::Error> {
        let row = sqlx::query(
            "INSERT INTO messages (account, msg_id, open_id, create_time, msg_type, event, content) \
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account, msg_id) DO NOTHING RETURNING id",
        )
        .bind(&m.account)
        .bind(m.msg_id)
        .bind(&m.open_id)
        .bind(m.create_time)
        .bind(&m.msg_type)
        .bind(&m.event)
        .bind(&m.content)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| r.try_get("id")).transpose()
    }

    pub async fn message(&self, id: i64) -> Result<Option<MessageRow>, sqlx::Error> {
        let row = sqlx::query("SELECT * FROM messages WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(row_to_message).transpose()
    }

    pub async fn unresolved(&self) -> Result<Vec<MessageRow>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT * FROM messages WHERE status IN ('pending', 'ambiguous') ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(row_to_message).collect()
    }

    pub async fn recent(&self, limit: i64) -> Result<Vec<MessageRow>, sqlx::Error> {
        let rows = sqlx::query("SELECT * FROM messages ORDER BY id DESC LIMIT ?")
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(row_to_message).collect()
    }

    pub async fn set_outcome(
        &self,
        id: i64,
        status: &str,
        fake_id: Option<&str>,
        info: Option<&serde_json::Value>,
        method: Option<&str>,
        note: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE messages SET status = ?, fake_id = ?, info = ?, method = ?, note = ?, attempts = attempts + 1 WHERE id = ?",
        )
        .bind(status)
        .bind(fake_id)
        .bind(info.map(|i| i.to_string()))
        .bind(method)
        .bind(note)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn known_user(
        &self,
        account: &str,
        open_id: &str,
    ) -> Result<Option<KnownUser>, sqlx::Error> {
        let row = sqlx::query("SELECT fake_id, info FROM users WHERE account = ? AND open_id = ?")
            .bind(account)
            .bind(open_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            let info: String = r.try_get("info")?;
            Ok(KnownUser {
                fake_id: r.try_get("fake_id")?,
                info: serde_json::from_str(&info).unwrap_or_default(),
            })
        })
        .transpose()
    }

    /// FakeIDs already known under another openID of this account (they cannot be this sender).
    pub async fn fake_ids_of_others(
        &self,
        account: &str,
        open_id: &str,
    ) -> Result<Vec<String>, sqlx::Error> {
        let rows = sqlx::query("SELECT fake_id FROM users WHERE account = ? AND open_id <> ?")
            .bind(account)
            .bind(open_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| r.try_get("fake_id")).collect()
    }

    /// Stores FakeID, openID and information together, and puts the FakeID on the obtained list.
    pub async fn remember(
        &self,
        account: &str,
        open_id: &str,
        fake_id: &str,
        info: &serde_json::Value,
        method: &str,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO users (account, open_id, fake_id, info, method) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (account, open_id) DO UPDATE SET fake_id = excluded.fake_id, info = excluded.info",
        )
        .bind(account)
        .bind(open_id)
        .bind(fake_id)
        .bind(info.to_string())
        .bind(method)
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO obtained (account, fake_id) VALUES (?, ?) ON CONFLICT DO NOTHING")
            .bind(account)
            .bind(fake_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    pub async fn obtained(&self, account: &str) -> Result<Vec<String>, sqlx::Error> {
        let rows = sqlx::query("SELECT fake_id FROM obtained WHERE account = ?")
            .bind(account)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| r.try_get("fake_id")).collect()
    }
}
