//! Identity queries: the user table of PB-4, device sessions, verification codes, MO-SMS login
//! tokens and the live-connection table of PB-6.

use crate::{opt, Result, Returning, Store, StoreError};
use sqlx::any::AnyRow;
use sqlx::Row;

/// One row of the user table (PB-4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRow {
    pub id: i64,
    pub phone: String,
    pub device_id: String,
    pub imei: Option<String>,
    pub iccid: Option<String>,
    pub imsi: Option<String>,
    pub created_at: i64,
    pub blocked: bool,
    pub last_login_at: Option<i64>,
    pub login_count: i64,
    pub rescue_hash: Option<String>,
    pub secure_mode: bool,
    pub rescue_failures: i64,
    pub rescue_locked_until: i64,
}

/// The device identity stored with a user (PB-2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceRow {
    pub device_id: String,
    pub imei: Option<String>,
    pub iccid: Option<String>,
    pub imsi: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRow {
    pub id: String,
    pub user_id: i64,
    pub phone: String,
    pub device_id: String,
    pub label: Option<String>,
    pub created_at: i64,
    pub last_seen_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeRow {
    pub code_hash: String,
    pub expires_at: i64,
    pub attempts: i64,
    pub sent_at: i64,
}

/// Reads `code_hash, expires_at, attempts, sent_at`: the columns of every one-time-code table
/// (login codes here, profile binding codes in `profiles`).
pub(crate) fn code_from_row(r: &AnyRow) -> Result<CodeRow> {
    Ok(CodeRow {
        code_hash: r.try_get("code_hash")?,
        expires_at: r.try_get("expires_at")?,
        attempts: r.try_get("attempts")?,
        sent_at: r.try_get("sent_at")?,
    })
}

/// The outcome of claiming one try at a one-time code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodeTry {
    /// The try is counted (`attempts` includes it); compare the code now.
    Claimed(CodeRow),
    /// No code is waiting.
    Missing,
    /// The code has expired.
    Expired,
    /// Every try has been used.
    Exhausted(CodeRow),
}

/// The outcome of claiming one rescue-password check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RescueTry {
    /// This check may go ahead; `tries` counts it. `locked_until` is set when it was the last
    /// one allowed before the lock.
    Claimed { tries: i64, locked_until: i64 },
    /// Locked until this time (Unix ms): no check may be made.
    Locked { until: i64 },
}

/// Which one-time code: a login code (by number) or a profile binding code (by user and number).
#[derive(Clone, Copy, Debug)]
pub(crate) enum CodeKey<'a> {
    Login(&'a str),
    Binding(i64, &'a str),
}

impl<'a> CodeKey<'a> {
    fn table(&self) -> &'static str {
        match self {
            CodeKey::Login(_) => "verification_codes",
            CodeKey::Binding(..) => "profile_binding_codes",
        }
    }

    /// The key's `WHERE` condition, its placeholders numbered from `first`.
    fn condition(&self, first: usize) -> String {
        match self {
            CodeKey::Login(_) => format!("phone = ${first}"),
            CodeKey::Binding(..) => format!("user_id = ${first} AND phone = ${}", first + 1),
        }
    }

    fn bind<'q>(
        &self,
        q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>
    where
        'a: 'q,
    {
        match *self {
            CodeKey::Login(phone) => q.bind(phone),
            CodeKey::Binding(user_id, phone) => q.bind(user_id).bind(phone),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MoTokenRow {
    pub token: String,
    pub device_id: String,
    pub expires_at: i64,
    pub phone: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionRow {
    pub id: String,
    pub user_id: i64,
    pub session_id: String,
    pub node: String,
    pub client_addr: String,
    pub connected_at: i64,
}

const USER_COLUMNS: &str = "id, phone, device_id, imei, iccid, imsi, created_at, blocked, \
     last_login_at, login_count, rescue_hash, secure_mode, rescue_failures, rescue_locked_until";

fn user_from_row(row: &AnyRow) -> Result<UserRow> {
    Ok(UserRow {
        id: row.try_get("id")?,
        phone: row.try_get("phone")?,
        device_id: row.try_get("device_id")?,
        imei: opt(row, "imei")?,
        iccid: opt(row, "iccid")?,
        imsi: opt(row, "imsi")?,
        created_at: row.try_get("created_at")?,
        blocked: row.try_get::<i64, _>("blocked")? != 0,
        last_login_at: opt(row, "last_login_at")?,
        login_count: row.try_get("login_count")?,
        rescue_hash: opt(row, "rescue_hash")?,
        secure_mode: row.try_get::<i64, _>("secure_mode")? != 0,
        rescue_failures: row.try_get("rescue_failures")?,
        rescue_locked_until: row.try_get("rescue_locked_until")?,
    })
}

impl Store {
    pub async fn user_by_phone(&self, phone: &str) -> Result<Option<UserRow>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE phone = $1"
        ))
        .bind(phone)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub async fn user_by_id(&self, id: i64) -> Result<Option<UserRow>> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// Creates a user; `Conflict` when the number registered concurrently.
    pub async fn create_user(&self, phone: &str, device: &DeviceRow, now: i64) -> Result<UserRow> {
        let row = sqlx::query(&format!(
            "INSERT INTO users (phone, device_id, imei, iccid, imsi, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {USER_COLUMNS}"
        ))
        .bind(phone)
        .bind(&device.device_id)
        .bind(device.imei.clone())
        .bind(device.iccid.clone())
        .bind(device.imsi.clone())
        .bind(now)
        .returning_one(self.pool())
        .await
        .map_err(StoreError::from_write)?;
        user_from_row(&row)
    }

    /// Counts a successful login and clears failed rescue attempts.
    pub async fn record_login(&self, user_id: i64, now: i64) -> Result<()> {
        sqlx::query(
            "UPDATE users SET last_login_at = $1, login_count = login_count + 1, \
             rescue_failures = 0, rescue_locked_until = 0 WHERE id = $2",
        )
        .bind(now)
        .bind(user_id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Moves the account to a new device (PB-5): the new identity overwrites the old one.
    pub async fn set_user_device(&self, user_id: i64, device: &DeviceRow) -> Result<()> {
        sqlx::query(
            "UPDATE users SET device_id = $1, imei = $2, iccid = $3, imsi = $4 WHERE id = $5",
        )
        .bind(&device.device_id)
        .bind(device.imei.clone())
        .bind(device.iccid.clone())
        .bind(device.imsi.clone())
        .bind(user_id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Sets the valid flag of PB-4; `NotFound` for an unknown number.
    pub async fn set_blocked(&self, phone: &str, blocked: bool) -> Result<UserRow> {
        let row = sqlx::query(&format!(
            "UPDATE users SET blocked = $1 WHERE phone = $2 RETURNING {USER_COLUMNS}"
        ))
        .bind(i64::from(blocked))
        .bind(phone)
        .returning_optional(self.pool())
        .await?;
        row.as_ref()
            .map(user_from_row)
            .transpose()?
            .ok_or(StoreError::NotFound)
    }

    pub async fn set_rescue_hash(&self, user_id: i64, hash: &str) -> Result<()> {
        sqlx::query("UPDATE users SET rescue_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(user_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn set_secure_mode(&self, user_id: i64, enabled: bool) -> Result<()> {
        sqlx::query("UPDATE users SET secure_mode = $1 WHERE id = $2")
            .bind(i64::from(enabled))
            .bind(user_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Claims one rescue-password check before it is made, so that concurrent guesses cannot
    /// all be checked while the failure count lags behind: the try is counted first (and the
    /// lock set on the `max_tries`-th), and a right password clears the count afterwards with
    /// [`Store::clear_rescue_tries`]. A lock that has run out starts the count again.
    pub async fn claim_rescue_try(
        &self,
        user_id: i64,
        now: i64,
        max_tries: i64,
        lock_ms: i64,
    ) -> Result<RescueTry> {
        // `expired` = a lock was set and has run out: the count restarts at this try.
        let row = sqlx::query(
            "UPDATE users SET \
             rescue_failures = CASE WHEN rescue_locked_until <> 0 THEN 1 ELSE rescue_failures + 1 END, \
             rescue_locked_until = CASE \
               WHEN (CASE WHEN rescue_locked_until <> 0 THEN 1 ELSE rescue_failures + 1 END) >= $1 THEN $2 \
               ELSE 0 END \
             WHERE id = $3 AND rescue_locked_until <= $4 \
             RETURNING rescue_failures, rescue_locked_until",
        )
        .bind(max_tries)
        .bind(now + lock_ms)
        .bind(user_id)
        .bind(now)
        .returning_optional(self.pool())
        .await?;
        if let Some(row) = row {
            return Ok(RescueTry::Claimed {
                tries: row.try_get("rescue_failures")?,
                locked_until: row.try_get("rescue_locked_until")?,
            });
        }
        let user = self
            .user_by_id(user_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(RescueTry::Locked {
            until: user.rescue_locked_until,
        })
    }

    /// A right rescue password: the tries claimed so far are forgiven and any lock lifted.
    pub async fn clear_rescue_tries(&self, user_id: i64) -> Result<()> {
        sqlx::query("UPDATE users SET rescue_failures = 0, rescue_locked_until = 0 WHERE id = $1")
            .bind(user_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    // ---- sessions ----

    pub async fn create_session(
        &self,
        id: &str,
        user_id: i64,
        token_hash: &str,
        device_id: &str,
        label: Option<&str>,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (id, user_id, token_hash, device_id, label, created_at, last_seen_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(id)
        .bind(user_id)
        .bind(token_hash)
        .bind(device_id)
        .bind(label.map(str::to_string))
        .bind(now)
        .execute(self.pool())
        .await
        .map_err(StoreError::from_write)?;
        Ok(())
    }

    /// The live (not revoked) session a token hash belongs to, with its user's number.
    pub async fn session_by_token_hash(&self, token_hash: &str) -> Result<Option<SessionRow>> {
        let row = sqlx::query(
            "SELECT s.id, s.user_id, u.phone, s.device_id, s.label, s.created_at, s.last_seen_at \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.revoked_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(session_from_row).transpose()
    }

    pub async fn touch_session(&self, session_id: &str, now: i64) -> Result<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
            .bind(now)
            .bind(session_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn list_sessions(&self, user_id: i64) -> Result<Vec<SessionRow>> {
        let rows = sqlx::query(
            "SELECT s.id, s.user_id, u.phone, s.device_id, s.label, s.created_at, s.last_seen_at \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.user_id = $1 AND s.revoked_at IS NULL ORDER BY s.created_at",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(session_from_row).collect()
    }

    /// Revokes one of the user's sessions; `NotFound` if it is not theirs or already gone.
    pub async fn revoke_session(&self, user_id: i64, session_id: &str, now: i64) -> Result<()> {
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(session_id)
        .bind(user_id)
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Revokes every live session of a user; returns their IDs so connections can be closed.
    pub async fn revoke_all_sessions(&self, user_id: i64, now: i64) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL RETURNING id",
        )
        .bind(now)
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| r.try_get::<String, _>("id").map_err(StoreError::from))
            .collect()
    }

    // ---- verification codes (PB-3 a) ----

    /// Stores a new code for a number, replacing any earlier one.
    pub async fn put_code(
        &self,
        phone: &str,
        code_hash: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO verification_codes (phone, code_hash, expires_at, attempts, sent_at) \
             VALUES ($1, $2, $3, 0, $4) \
             ON CONFLICT (phone) DO UPDATE SET code_hash = excluded.code_hash, \
             expires_at = excluded.expires_at, attempts = 0, sent_at = excluded.sent_at",
        )
        .bind(phone)
        .bind(code_hash)
        .bind(expires_at)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn code_for(&self, phone: &str) -> Result<Option<CodeRow>> {
        self.one_time_code(CodeKey::Login(phone)).await
    }

    /// Claims one try at the login code of `phone` (see [`CodeTry`]).
    pub async fn claim_code_try(&self, phone: &str, now: i64, max_tries: i64) -> Result<CodeTry> {
        self.claim_one_time_code_try(CodeKey::Login(phone), now, max_tries)
            .await
    }

    /// Consumes the code if it is still the one that was checked: true for exactly one of any
    /// number of concurrent logins with the right code.
    pub async fn consume_code(&self, phone: &str, code_hash: &str) -> Result<bool> {
        self.consume_one_time_code(CodeKey::Login(phone), code_hash)
            .await
    }

    /// Forgets the code, whatever it is (a failed SMS send, an expired code).
    pub async fn delete_code(&self, phone: &str) -> Result<()> {
        sqlx::query("DELETE FROM verification_codes WHERE phone = $1")
            .bind(phone)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub(crate) async fn one_time_code(&self, key: CodeKey<'_>) -> Result<Option<CodeRow>> {
        let sql = format!(
            "SELECT code_hash, expires_at, attempts, sent_at FROM {} WHERE {}",
            key.table(),
            key.condition(1)
        );
        let row = key
            .bind(sqlx::query(&sql))
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(code_from_row).transpose()
    }

    /// The try is counted in the same statement that checks the limit, so N concurrent
    /// guesses claim at most `max_tries` checks between them.
    pub(crate) async fn claim_one_time_code_try(
        &self,
        key: CodeKey<'_>,
        now: i64,
        max_tries: i64,
    ) -> Result<CodeTry> {
        let sql = format!(
            "UPDATE {} SET attempts = attempts + 1 WHERE {} AND attempts < $1 AND expires_at > $2 \
             RETURNING code_hash, expires_at, attempts, sent_at",
            key.table(),
            key.condition(3)
        );
        let row = key
            .bind(sqlx::query(&sql).bind(max_tries).bind(now))
            .returning_optional(self.pool())
            .await?;
        if let Some(row) = row {
            return Ok(CodeTry::Claimed(code_from_row(&row)?));
        }
        Ok(match self.one_time_code(key).await? {
            None => CodeTry::Missing,
            Some(c) if c.expires_at <= now => CodeTry::Expired,
            Some(c) => CodeTry::Exhausted(c),
        })
    }

    pub(crate) async fn consume_one_time_code(
        &self,
        key: CodeKey<'_>,
        code_hash: &str,
    ) -> Result<bool> {
        let sql = format!(
            "DELETE FROM {} WHERE code_hash = $1 AND {}",
            key.table(),
            key.condition(2)
        );
        let done = key
            .bind(sqlx::query(&sql).bind(code_hash))
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    // ---- MO-SMS tokens (PB-3 c) ----

    pub async fn create_mo_token(
        &self,
        token: &str,
        device_id: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO mo_tokens (token, device_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(token)
        .bind(device_id)
        .bind(now)
        .bind(expires_at)
        .execute(self.pool())
        .await
        .map_err(StoreError::from_write)?;
        Ok(())
    }

    /// Binds the sender of an MO SMS to a waiting, unexpired token. False when there is no
    /// such token (unknown, expired or already bound).
    pub async fn bind_mo_token(&self, token: &str, phone: &str, now: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE mo_tokens SET phone = $1 WHERE token = $2 AND phone IS NULL AND expires_at > $3",
        )
        .bind(phone)
        .bind(token)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn mo_token(&self, token: &str) -> Result<Option<MoTokenRow>> {
        let row = sqlx::query(
            "SELECT token, device_id, expires_at, phone FROM mo_tokens WHERE token = $1",
        )
        .bind(token)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(MoTokenRow {
                token: r.try_get("token")?,
                device_id: r.try_get("device_id")?,
                expires_at: r.try_get("expires_at")?,
                phone: opt(&r, "phone")?,
            })
        })
        .transpose()
    }

    pub async fn delete_mo_token(&self, token: &str) -> Result<()> {
        sqlx::query("DELETE FROM mo_tokens WHERE token = $1")
            .bind(token)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Drops codes and tokens that expired before `now`.
    pub async fn purge_expired_proofs(&self, now: i64) -> Result<()> {
        sqlx::query("DELETE FROM verification_codes WHERE expires_at < $1")
            .bind(now)
            .execute(self.pool())
            .await?;
        sqlx::query("DELETE FROM mo_tokens WHERE expires_at < $1")
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    // ---- connections (PB-6) ----

    pub async fn add_connection(&self, c: &ConnectionRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO connections (id, user_id, session_id, node, client_addr, connected_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&c.id)
        .bind(c.user_id)
        .bind(&c.session_id)
        .bind(&c.node)
        .bind(&c.client_addr)
        .bind(c.connected_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn remove_connection(&self, id: &str) -> Result<()> {
        sqlx::query("DELETE FROM connections WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn connections_of(&self, user_id: i64) -> Result<Vec<ConnectionRow>> {
        let rows = sqlx::query(
            "SELECT id, user_id, session_id, node, client_addr, connected_at FROM connections \
             WHERE user_id = $1 ORDER BY connected_at",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ConnectionRow {
                    id: r.try_get("id")?,
                    user_id: r.try_get("user_id")?,
                    session_id: r.try_get("session_id")?,
                    node: r.try_get("node")?,
                    client_addr: r.try_get("client_addr")?,
                    connected_at: r.try_get("connected_at")?,
                })
            })
            .collect()
    }

    /// At start-up a node forgets the connections it had before it stopped.
    pub async fn clear_node_connections(&self, node: &str) -> Result<u64> {
        let done = sqlx::query("DELETE FROM connections WHERE node = $1")
            .bind(node)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }
}

fn session_from_row(row: &AnyRow) -> Result<SessionRow> {
    Ok(SessionRow {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        phone: row.try_get("phone")?,
        device_id: row.try_get("device_id")?,
        label: opt(row, "label")?,
        created_at: row.try_get("created_at")?,
        last_seen_at: row.try_get("last_seen_at")?,
    })
}
