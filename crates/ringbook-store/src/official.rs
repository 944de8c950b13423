//! Queries of the official part (OA-1 … OA-5): accounts, followers with their FakeID and openID,
//! follower → account messages, account → follower messages, developer-mode pushes (durable, so
//! retries survive a restart), follower privacy allow-lists, console sessions and login failures.

use crate::{opt, Result, Returning, Store, StoreError};
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OaAccountRow {
    pub id: i64,
    pub name: String,
    pub owner_id: i64,
    pub password_hash: String,
    pub callback_url: Option<String>,
    pub callback_token: Option<String>,
    pub developer_mode: bool,
    pub created_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OaFollowerRow {
    pub account_id: i64,
    pub user_id: i64,
    pub open_id: String,
    pub fake_id: String,
    pub following: bool,
    pub followed_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OaInboundRow {
    pub id: i64,
    pub account_id: i64,
    pub user_id: i64,
    pub msg_type: String,
    pub event: Option<String>,
    pub content: String,
    pub create_time: i64,
    pub created_at: i64,
}

/// A message-page row: the inbound message with its sender's FakeID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OaMessagePageRow {
    pub inbound: OaInboundRow,
    pub fake_id: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OaOutboundRow {
    pub id: i64,
    pub account_id: i64,
    pub account_name: String,
    pub user_id: i64,
    pub kind: String,
    pub body: String,
    pub sent_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OaPushRow {
    pub id: i64,
    pub account_id: i64,
    pub inbound_id: i64,
    pub user_id: i64,
    pub xml: String,
    pub state: String,
    pub attempts: i64,
    pub next_at: i64,
    pub last_error: Option<String>,
}

const ACCOUNT_COLUMNS: &str =
    "id, name, owner_id, password_hash, callback_url, callback_token, developer_mode, created_at";

fn account_from_row(r: &AnyRow) -> Result<OaAccountRow> {
    Ok(OaAccountRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        owner_id: r.try_get("owner_id")?,
        password_hash: r.try_get("password_hash")?,
        callback_url: opt(r, "callback_url")?,
        callback_token: opt(r, "callback_token")?,
        developer_mode: r.try_get::<i64, _>("developer_mode")? != 0,
        created_at: r.try_get("created_at")?,
    })
}

const FOLLOWER_COLUMNS: &str =
    "f.account_id, f.user_id, f.open_id, k.fake_id, f.following, f.followed_at";

fn follower_from_row(r: &AnyRow) -> Result<OaFollowerRow> {
    Ok(OaFollowerRow {
        account_id: r.try_get("account_id")?,
        user_id: r.try_get("user_id")?,
        open_id: r.try_get("open_id")?,
        fake_id: r.try_get("fake_id")?,
        following: r.try_get::<i64, _>("following")? != 0,
        followed_at: r.try_get("followed_at")?,
    })
}

const INBOUND_COLUMNS: &str =
    "i.id, i.account_id, i.user_id, i.msg_type, i.event, i.content, i.create_time, i.created_at";

fn inbound_from_row(r: &AnyRow) -> Result<OaInboundRow> {
    Ok(OaInboundRow {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        user_id: r.try_get("user_id")?,
        msg_type: r.try_get("msg_type")?,
        event: opt(r, "event")?,
        content: r.try_get("content")?,
        create_time: r.try_get("create_time")?,
        created_at: r.try_get("created_at")?,
    })
}

const PUSH_COLUMNS: &str =
    "id, account_id, inbound_id, user_id, xml, state, attempts, next_at, last_error";

fn push_from_row(r: &AnyRow) -> Result<OaPushRow> {
    Ok(OaPushRow {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        inbound_id: r.try_get("inbound_id")?,
        user_id: r.try_get("user_id")?,
        xml: r.try_get("xml")?,
        state: r.try_get("state")?,
        attempts: r.try_get("attempts")?,
        next_at: r.try_get("next_at")?,
        last_error: opt(r, "last_error")?,
    })
}

impl Store {
    // ---- accounts ----

    /// Creates an account; `Conflict` when the name is taken.
    pub async fn oa_create_account(
        &self,
        name: &str,
        owner_id: i64,
        password_hash: &str,
        now: i64,
    ) -> Result<OaAccountRow> {
        let row = sqlx::query(&format!(
            "INSERT INTO oa_accounts (name, owner_id, password_hash, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING {ACCOUNT_COLUMNS}"
        ))
        .bind(name)
        .bind(owner_id)
        .bind(password_hash)
        .bind(now)
        .returning_one(self.pool())
        .await
        .map_err(StoreError::from_write)?;
        account_from_row(&row)
    }

    pub async fn oa_account_by_name(&self, name: &str) -> Result<Option<OaAccountRow>> {
        let row = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM oa_accounts WHERE name = $1"
        ))
        .bind(name)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(account_from_row).transpose()
    }

    pub async fn oa_account_by_id(&self, id: i64) -> Result<Option<OaAccountRow>> {
        let row = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM oa_accounts WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(account_from_row).transpose()
    }

    /// Sets (or clears, with `None`) the callback; developer mode is on exactly when one is set.
    pub async fn oa_set_callback(
        &self,
        account_id: i64,
        callback: Option<(&str, &str)>,
    ) -> Result<()> {
        let (url, token) = callback.map_or((None, None), |(u, t)| (Some(u), Some(t)));
        sqlx::query(
            "UPDATE oa_accounts SET callback_url = $1, callback_token = $2, developer_mode = $3 WHERE id = $4",
        )
        .bind(url)
        .bind(token)
        .bind(i64::from(url.is_some()))
        .bind(account_id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    // ---- FakeIDs, followers ----

    /// The user's platform-wide FakeID, created with `candidate` on first use.
    pub async fn oa_fake_id(&self, user_id: i64, candidate: &str) -> Result<String> {
        sqlx::query("INSERT INTO oa_fake_ids (user_id, fake_id) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING")
            .bind(user_id)
            .bind(candidate)
            .execute(self.pool())
            .await
            .map_err(StoreError::from_write)?;
        let row = sqlx::query("SELECT fake_id FROM oa_fake_ids WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get("fake_id")?)
    }

    /// Follows (or re-follows, keeping the openID). Returns the row and whether it was a change.
    pub async fn oa_follow(
        &self,
        account_id: i64,
        user_id: i64,
        open_id_candidate: &str,
        now: i64,
    ) -> Result<(OaFollowerRow, bool)> {
        let before = self.oa_follower(account_id, user_id).await?;
        match &before {
            Some(f) if f.following => return Ok((f.clone(), false)),
            Some(_) => {
                sqlx::query("UPDATE oa_followers SET following = 1, followed_at = $1 WHERE account_id = $2 AND user_id = $3")
                    .bind(now)
                    .bind(account_id)
                    .bind(user_id)
                    .execute(self.pool())
                    .await?;
            }
            None => {
                sqlx::query(
                    "INSERT INTO oa_followers (account_id, user_id, open_id, following, followed_at) VALUES ($1, $2, $3, 1, $4) \
                     ON CONFLICT (account_id, user_id) DO UPDATE SET following = 1",
                )
                .bind(account_id)
                .bind(user_id)
                .bind(open_id_candidate)
                .bind(now)
                .execute(self.pool())
                .await
                .map_err(StoreError::from_write)?;
            }
        }
        let row = self
            .oa_follower(account_id, user_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok((row, true))
    }

    /// Unfollows; returns whether the user was following.
    pub async fn oa_unfollow(&self, account_id: i64, user_id: i64) -> Result<bool> {
        let done = sqlx::query("UPDATE oa_followers SET following = 0 WHERE account_id = $1 AND user_id = $2 AND following = 1")
            .bind(account_id)
            .bind(user_id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn oa_follower(
        &self,
        account_id: i64,
        user_id: i64,
    ) -> Result<Option<OaFollowerRow>> {
        let row = sqlx::query(&format!(
            "SELECT {FOLLOWER_COLUMNS} FROM oa_followers f JOIN oa_fake_ids k ON k.user_id = f.user_id \
             WHERE f.account_id = $1 AND f.user_id = $2"
        ))
        .bind(account_id)
        .bind(user_id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(follower_from_row).transpose()
    }

    pub async fn oa_follower_by_fake_id(
        &self,
        account_id: i64,
        fake_id: &str,
    ) -> Result<Option<OaFollowerRow>> {
        let row = sqlx::query(&format!(
            "SELECT {FOLLOWER_COLUMNS} FROM oa_followers f JOIN oa_fake_ids k ON k.user_id = f.user_id \
             WHERE f.account_id = $1 AND k.fake_id = $2"
        ))
        .bind(account_id)
        .bind(fake_id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(follower_from_row).transpose()
    }

    pub async fn oa_follower_by_open_id(
        &self,
        account_id: i64,
        open_id: &str,
    ) -> Result<Option<OaFollowerRow>> {
        let row = sqlx::query(&format!(
            "SELECT {FOLLOWER_COLUMNS} FROM oa_followers f JOIN oa_fake_ids k ON k.user_id = f.user_id \
             WHERE f.account_id = $1 AND f.open_id = $2"
        ))
        .bind(account_id)
        .bind(open_id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(follower_from_row).transpose()
    }

    /// Current followers, oldest follow first.
    pub async fn oa_followers(&self, account_id: i64) -> Result<Vec<OaFollowerRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {FOLLOWER_COLUMNS} FROM oa_followers f JOIN oa_fake_ids k ON k.user_id = f.user_id \
             WHERE f.account_id = $1 AND f.following = 1 ORDER BY f.followed_at, f.user_id"
        ))
        .bind(account_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(follower_from_row).collect()
    }

    // ---- follower → account ----

    // One argument per column; a struct would only rename them.
    #[allow(clippy::too_many_arguments)]
    pub async fn oa_add_inbound(
        &self,
        account_id: i64,
        user_id: i64,
        msg_type: &str,
        event: Option<&str>,
        content: &str,
        create_time: i64,
        now: i64,
    ) -> Result<OaInboundRow> {
        let row = sqlx::query(
            "INSERT INTO oa_inbound (account_id, user_id, msg_type, event, content, create_time, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, account_id, user_id, msg_type, event, content, create_time, created_at",
        )
        .bind(account_id)
        .bind(user_id)
        .bind(msg_type)
        .bind(event)
        .bind(content)
        .bind(create_time)
        .bind(now)
        .returning_one(self.pool())
        .await?;
        inbound_from_row(&row)
    }

    /// The message page: messages (not events) with the sender's FakeID, newest first,
    /// optionally only those sent in the second `create_time`.
    pub async fn oa_message_page(
        &self,
        account_id: i64,
        create_time: Option<i64>,
        limit: i64,
    ) -> Result<Vec<OaMessagePageRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {INBOUND_COLUMNS}, k.fake_id FROM oa_inbound i JOIN oa_fake_ids k ON k.user_id = i.user_id \
             WHERE i.account_id = $1 AND i.event IS NULL AND ($2 = 0 OR i.create_time = $2) ORDER BY i.id DESC LIMIT $3"
        ))
        .bind(account_id)
        .bind(create_time.unwrap_or(0))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OaMessagePageRow {
                    inbound: inbound_from_row(r)?,
                    fake_id: r.try_get("fake_id")?,
                })
            })
            .collect()
    }

    // ---- account → follower ----

    pub async fn oa_add_outbound(
        &self,
        account_id: i64,
        user_id: i64,
        kind: &str,
        body: &str,
        now: i64,
    ) -> Result<OaOutboundRow> {
        let row = sqlx::query(
            "INSERT INTO oa_outbound (account_id, user_id, kind, body, sent_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(account_id)
        .bind(user_id)
        .bind(kind)
        .bind(body)
        .bind(now)
        .returning_one(self.pool())
        .await?;
        let id: i64 = row.try_get("id")?;
        let name = self
            .oa_account_by_id(account_id)
            .await?
            .map(|a| a.name)
            .unwrap_or_default();
        Ok(OaOutboundRow {
            id,
            account_id,
            account_name: name,
            user_id,
            kind: kind.into(),
            body: body.into(),
            sent_at: now,
        })
    }

    /// A follower's inbox: messages from accounts after `after_id`, oldest first.
    pub async fn oa_inbox(
        &self,
        user_id: i64,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<OaOutboundRow>> {
        let rows = sqlx::query(
            "SELECT o.id, o.account_id, a.name, o.user_id, o.kind, o.body, o.sent_at FROM oa_outbound o \
             JOIN oa_accounts a ON a.id = o.account_id WHERE o.user_id = $1 AND o.id > $2 ORDER BY o.id LIMIT $3",
        )
        .bind(user_id)
        .bind(after_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OaOutboundRow {
                    id: r.try_get("id")?,
                    account_id: r.try_get("account_id")?,
                    account_name: r.try_get("name")?,
                    user_id: r.try_get("user_id")?,
                    kind: r.try_get("kind")?,
                    body: r.try_get("body")?,
                    sent_at: r.try_get("sent_at")?,
                })
            })
            .collect()
    }

    // ---- pushes ----

    pub async fn oa_add_push(
        &self,
        account_id: i64,
        inbound_id: i64,
        user_id: i64,
        xml: &str,
        now: i64,
    ) -> Result<i64> {
        let row = sqlx::query(
            "INSERT INTO oa_pushes (account_id, inbound_id, user_id, xml, state, attempts, next_at, created_at) \
             VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5) RETURNING id",
        )
        .bind(account_id)
        .bind(inbound_id)
        .bind(user_id)
        .bind(xml)
        .bind(now)
        .returning_one(self.pool())
        .await?;
        Ok(row.try_get("id")?)
    }

    /// Claims up to `limit` due pushes for one delivery attempt each: moves their `next_at` to
    /// `lease_until` (so no other worker or node takes them meanwhile) and counts the attempt.
    /// Returned oldest first, with `attempts` including this one.
    ///
    /// Only the head of each (account, follower) queue is due, so one follower's messages and
    /// events reach the developer in order even when an attempt fails and is retried later;
    /// other followers are not held up.
    pub async fn oa_claim_due_pushes(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<OaPushRow>> {
        let mut tx = self.pool().begin().await?;
        let due: Vec<i64> = sqlx::query(
            "SELECT id FROM oa_pushes WHERE state = 'pending' AND next_at <= $1 \
             AND NOT EXISTS (SELECT 1 FROM oa_pushes earlier \
               WHERE earlier.account_id = oa_pushes.account_id AND earlier.user_id = oa_pushes.user_id \
                 AND earlier.state = 'pending' AND earlier.id < oa_pushes.id) \
             ORDER BY id LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<std::result::Result<_, _>>()?;
        if due.is_empty() {
            tx.commit().await?;
            return Ok(Vec::new());
        }
        let mut marks = self.marks();
        let (lease, seen) = (marks.next_mark(), marks.next_mark());
        let ids = marks.list(due.len());
        // `next_at <= now` again: a row another node claimed in between is skipped.
        let sql = format!(
            "UPDATE oa_pushes SET next_at = {lease}, attempts = attempts + 1 \
             WHERE state = 'pending' AND next_at <= {seen} AND id IN ({ids}) RETURNING {PUSH_COLUMNS}"
        );
        let mut q = sqlx::query(&sql).bind(lease_until).bind(now);
        for id in &due {
            q = q.bind(*id);
        }
        let mut claimed = q
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(push_from_row)
            .collect::<Result<Vec<_>>>()?;
        tx.commit().await?;
        claimed.sort_by_key(|p| p.id);
        Ok(claimed)
    }

    /// Records an attempt's outcome: `state` is `pending` (retry at `next_at`), `delivered` or `failed`.
    pub async fn oa_push_outcome(
        &self,
        id: i64,
        state: &str,
        next_at: i64,
        error: Option<&str>,
        now: i64,
    ) -> Result<()> {
        let done_at = (state != "pending").then_some(now);
        sqlx::query("UPDATE oa_pushes SET state = $1, next_at = $2, last_error = $3, done_at = $4 WHERE id = $5")
            .bind(state)
            .bind(next_at)
            .bind(error)
            .bind(done_at)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn oa_pushes_of(&self, account_id: i64) -> Result<Vec<OaPushRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {PUSH_COLUMNS} FROM oa_pushes WHERE account_id = $1 ORDER BY id"
        ))
        .bind(account_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(push_from_row).collect()
    }

    // ---- privacy ----

    /// The follower's allow-list (JSON array), `None` when never set.
    pub async fn oa_privacy(&self, user_id: i64) -> Result<Option<String>> {
        let row = sqlx::query("SELECT fields FROM oa_privacy WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| r.try_get("fields"))
            .transpose()
            .map_err(Into::into)
    }

    pub async fn oa_set_privacy(&self, user_id: i64, fields_json: &str, now: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO oa_privacy (user_id, fields, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO UPDATE SET fields = excluded.fields, updated_at = excluded.updated_at",
        )
        .bind(user_id)
        .bind(fields_json)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    // ---- console sessions and login failures ----

    pub async fn oa_create_console_session(
        &self,
        token_hash: &str,
        account_id: i64,
        csrf: &str,
        expires_at: i64,
    ) -> Result<()> {
        sqlx::query("INSERT INTO oa_console_sessions (token_hash, account_id, csrf, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash)
            .bind(account_id)
            .bind(csrf)
            .bind(expires_at)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// (account ID, CSRF token) of a live console session.
    pub async fn oa_console_session(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<(i64, String)>> {
        let row = sqlx::query("SELECT account_id, csrf FROM oa_console_sessions WHERE token_hash = $1 AND expires_at > $2")
            .bind(token_hash)
            .bind(now)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| Ok((r.try_get("account_id")?, r.try_get("csrf")?)))
            .transpose()
    }

    pub async fn oa_delete_console_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM oa_console_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Failures recorded for `key` in the window starting at or after `window_start`.
    pub async fn oa_login_failures(&self, key: &str, window_start: i64) -> Result<i64> {
        let row = sqlx::query(
            "SELECT failures FROM oa_login_failures WHERE key = $1 AND window_start >= $2",
        )
        .bind(key)
        .bind(window_start)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| r.try_get("failures")).transpose()?.unwrap_or(0))
    }

    /// Counts one failure; a window older than `window_start` starts over at `now`.
    pub async fn oa_record_login_failure(
        &self,
        key: &str,
        window_start: i64,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO oa_login_failures (key, window_start, failures) VALUES ($1, $2, 1) \
             ON CONFLICT (key) DO UPDATE SET \
             failures = CASE WHEN oa_login_failures.window_start >= $3 THEN oa_login_failures.failures + 1 ELSE 1 END, \
             window_start = CASE WHEN oa_login_failures.window_start >= $3 THEN oa_login_failures.window_start ELSE $2 END",
        )
        .bind(key)
        .bind(now)
        .bind(window_start)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
