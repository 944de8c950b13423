//! Presence queries (PB-12 … PB-14): one status row per user, and who may see it.

use crate::{Result, Store};
use sqlx::Row;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresenceRow {
    pub user_id: i64,
    pub phone: String,
    pub im_status: String,
    pub chosen_status: String,
    pub self_status: Option<String>,
    pub activity_status: Option<String>,
    pub signature: Option<String>,
    pub nickname: Option<String>,
    pub personal_site: Option<String>,
    /// `everyone`, `contacts` or `nobody`.
    pub visibility: String,
    pub updated_at: i64,
    /// When the user's last connection closed.
    pub last_seen_at: Option<i64>,
    /// When `activity_status` lapses unless refreshed.
    pub activity_expires_at: Option<i64>,
}

/// A partial update: `None` leaves a field unchanged; `Some(None)` clears an optional one.
#[derive(Clone, Debug, Default)]
pub struct PresenceUpdate {
    pub im_status: Option<String>,
    pub chosen_status: Option<String>,
    pub self_status: Option<Option<String>>,
    pub activity_status: Option<Option<String>>,
    pub signature: Option<Option<String>>,
    pub nickname: Option<Option<String>>,
    pub personal_site: Option<Option<String>>,
    pub visibility: Option<String>,
    pub last_seen_at: Option<Option<i64>>,
    pub activity_expires_at: Option<Option<i64>>,
}

const COLUMNS: &str = "u.id AS user_id, u.phone, COALESCE(p.im_status, 'offline') AS im_status, \
    COALESCE(p.chosen_status, 'online') AS chosen_status, p.self_status, p.activity_status, p.signature, \
    p.nickname, p.personal_site, COALESCE(p.visibility, 'contacts') AS visibility, \
    COALESCE(p.updated_at, 0) AS updated_at, p.last_seen_at, p.activity_expires_at";

fn read(r: &sqlx::any::AnyRow) -> Result<PresenceRow> {
    Ok(PresenceRow {
        user_id: r.try_get("user_id")?,
        phone: r.try_get("phone")?,
        im_status: r.try_get("im_status")?,
        chosen_status: r.try_get("chosen_status")?,
        self_status: crate::opt(r, "self_status")?,
        activity_status: crate::opt(r, "activity_status")?,
        signature: crate::opt(r, "signature")?,
        nickname: crate::opt(r, "nickname")?,
        personal_site: crate::opt(r, "personal_site")?,
        visibility: r.try_get("visibility")?,
        updated_at: r.try_get("updated_at")?,
        last_seen_at: crate::opt(r, "last_seen_at")?,
        activity_expires_at: crate::opt(r, "activity_expires_at")?,
    })
}

impl Store {
    /// A user's presence (defaults when the user never set anything); `None` for unknown users.
    pub async fn presence_of(&self, user_id: i64) -> Result<Option<PresenceRow>> {
        let sql = format!("SELECT {COLUMNS} FROM users u LEFT JOIN presence p ON p.user_id = u.id WHERE u.id = $1");
        let row = sqlx::query(&sql)
            .bind(user_id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(read).transpose()
    }

    /// Presence of the registered users among `phones`.
    pub async fn presence_by_phones(&self, phones: &[String]) -> Result<Vec<PresenceRow>> {
        let mut out = Vec::new();
        for chunk in phones.chunks(200) {
            let sql = format!(
                "SELECT {COLUMNS} FROM users u LEFT JOIN presence p ON p.user_id = u.id WHERE u.phone IN ({})",
                self.marks().list(chunk.len())
            );
            let mut q = sqlx::query(&sql);
            for p in chunk {
                q = q.bind(p);
            }
            for r in q.fetch_all(self.pool()).await? {
                out.push(read(&r)?);
            }
        }
        Ok(out)
    }

    /// Presence of the registered users in `owner_id`'s live book.
    pub async fn presence_of_book(&self, owner_id: i64) -> Result<Vec<PresenceRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM contacts c JOIN users u ON u.phone = c.contact_phone \
             LEFT JOIN presence p ON p.user_id = u.id WHERE c.owner_id = $1 AND c.deleted = 0 ORDER BY u.phone"
        );
        let rows = sqlx::query(&sql)
            .bind(owner_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(read).collect()
    }

    /// Applies a partial update and returns the new row.
    pub async fn update_presence(
        &self,
        user_id: i64,
        u: &PresenceUpdate,
        now: i64,
    ) -> Result<PresenceRow> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO presence (user_id, updated_at) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING",
        )
        .bind(user_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        macro_rules! set {
            ($col:literal, $val:expr) => {
                sqlx::query(concat!(
                    "UPDATE presence SET ",
                    $col,
                    " = $2 WHERE user_id = $1"
                ))
                .bind(user_id)
                .bind($val)
                .execute(&mut *tx)
                .await?;
            };
        }
        if let Some(v) = &u.im_status {
            set!("im_status", v.clone());
        }
        if let Some(v) = &u.chosen_status {
            set!("chosen_status", v.clone());
        }
        if let Some(v) = &u.self_status {
            set!("self_status", v.clone());
        }
        if let Some(v) = &u.activity_status {
            set!("activity_status", v.clone());
        }
        if let Some(v) = &u.signature {
            set!("signature", v.clone());
        }
        if let Some(v) = &u.nickname {
            set!("nickname", v.clone());
        }
        if let Some(v) = &u.personal_site {
            set!("personal_site", v.clone());
        }
        if let Some(v) = &u.visibility {
            set!("visibility", v.clone());
        }
        if let Some(v) = &u.last_seen_at {
            set!("last_seen_at", *v);
        }
        if let Some(v) = &u.activity_expires_at {
            set!("activity_expires_at", *v);
        }
        set!("updated_at", now);
        tx.commit().await?;
        self.presence_of(user_id)
            .await?
            .ok_or(crate::StoreError::NotFound)
    }

    /// Users whose activity status lapsed at or before `now` (the monitor stopped refreshing it).
    pub async fn lapsed_activities(&self, now: i64) -> Result<Vec<i64>> {
        let rows = sqlx::query(
            "SELECT user_id FROM presence WHERE activity_expires_at IS NOT NULL AND activity_expires_at <= $1",
        )
        .bind(now)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| r.try_get::<i64, _>("user_id").map_err(Into::into))
            .collect()
    }

    /// At start-up, after this node forgot its connection records: users shown as present
    /// without any recorded connection (on any node) go offline, last seen `now`; returns them.
    pub async fn offline_without_connections(&self, now: i64) -> Result<Vec<i64>> {
        let rows = sqlx::query(
            "SELECT user_id FROM presence WHERE im_status <> 'offline' \
             AND user_id NOT IN (SELECT user_id FROM connections)",
        )
        .fetch_all(self.pool())
        .await?;
        let ids = rows
            .iter()
            .map(|r| r.try_get("user_id"))
            .collect::<std::result::Result<Vec<i64>, _>>()?;
        for chunk in ids.chunks(200) {
            let mut marks = self.marks();
            let (seen, updated) = (marks.next_mark(), marks.next_mark());
            let sql = format!(
                "UPDATE presence SET im_status = 'offline', last_seen_at = {seen}, updated_at = {updated} \
                 WHERE user_id IN ({})",
                marks.list(chunk.len())
            );
            let mut q = sqlx::query(&sql).bind(now).bind(now);
            for id in chunk {
                q = q.bind(*id);
            }
            q.execute(self.pool()).await?;
        }
        Ok(ids)
    }

    /// The user's last connection closed: offline, last seen `now`, unless a connection is
    /// recorded for the user (on any node) — checked in the same statement, so a connection
    /// opening at the same moment is never shown offline. True when the row changed.
    pub async fn go_offline_unless_connected(&self, user_id: i64, now: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE presence SET im_status = 'offline', last_seen_at = $2, updated_at = $2 \
             WHERE user_id = $1 AND NOT EXISTS (SELECT 1 FROM connections WHERE user_id = $1)",
        )
        .bind(user_id)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Clears the user's activity status if it lapsed at or before `now` (a refresh that came
    /// meanwhile wins). True when it was cleared.
    pub async fn clear_lapsed_activity(&self, user_id: i64, now: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE presence SET activity_status = NULL, activity_expires_at = NULL, updated_at = $2 \
             WHERE user_id = $1 AND activity_expires_at <= $2",
        )
        .bind(user_id)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }
}
