//! Outgoing SMS and their delivery reports: one row per SMS handed to the gateway, keyed by the
//! random reference that rides in the gateway's delivery-report URL.

use crate::{opt, Result, Returning, Store, StoreError};
use sqlx::any::AnyRow;
use sqlx::Row;

/// How far an SMS got. `Delivered` and `Failed` are final; a failure of any part of a
/// concatenated SMS fails the whole, so `Failed` is never replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SmsState {
    /// The gateway accepted it; nothing more is known yet.
    Sent,
    /// The SMS centre took it.
    Accepted,
    /// The SMS centre queued it for later delivery.
    Buffered,
    /// It reached the phone.
    Delivered,
    /// It will not reach the phone (rejected by the SMS centre or undeliverable).
    Failed,
}

impl SmsState {
    pub fn as_str(self) -> &'static str {
        match self {
            SmsState::Sent => "sent",
            SmsState::Accepted => "accepted",
            SmsState::Buffered => "buffered",
            SmsState::Delivered => "delivered",
            SmsState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "sent" => SmsState::Sent,
            "accepted" => SmsState::Accepted,
            "buffered" => SmsState::Buffered,
            "delivered" => SmsState::Delivered,
            "failed" => SmsState::Failed,
            _ => return None,
        })
    }

    pub fn is_final(self) -> bool {
        matches!(self, SmsState::Delivered | SmsState::Failed)
    }
}

/// One outgoing SMS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmsDeliveryRow {
    pub id: String,
    /// Why it was sent ("verification_code", "service_confirmation", …).
    pub kind: String,
    pub recipient: String,
    /// What it was about, e.g. `order:42`.
    pub subject: Option<String>,
    pub parts: i64,
    pub state: SmsState,
    /// The gateway's last report text (e.g. `stat:UNDELIV err:001`).
    pub detail: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A delivery report applied to a row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmsReport {
    /// The row after the report.
    pub row: SmsDeliveryRow,
    /// False when the report changed nothing (a repeat, or older news than the stored state).
    pub changed: bool,
}

const COLUMNS: &str = "id, kind, recipient, subject, parts, state, detail, created_at, updated_at";

fn from_row(r: &AnyRow) -> Result<SmsDeliveryRow> {
    let state: String = r.try_get("state")?;
    Ok(SmsDeliveryRow {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        recipient: r.try_get("recipient")?,
        subject: opt(r, "subject")?,
        parts: r.try_get("parts")?,
        state: SmsState::parse(&state).ok_or_else(|| {
            StoreError::Backend(sqlx::Error::Decode(
                format!("unknown SMS state '{state}'").into(),
            ))
        })?,
        detail: opt(r, "detail")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

impl Store {
    /// Records an SMS the gateway accepted.
    pub async fn record_sms(&self, row: &SmsDeliveryRow) -> Result<()> {
        sqlx::query(&format!(
            "INSERT INTO sms_deliveries ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(&row.id)
        .bind(&row.kind)
        .bind(&row.recipient)
        .bind(row.subject.as_deref())
        .bind(row.parts)
        .bind(row.state.as_str())
        .bind(row.detail.as_deref())
        .bind(row.created_at)
        .bind(row.updated_at)
        .execute(self.pool())
        .await
        .map_err(StoreError::from_write)?;
        Ok(())
    }

    pub async fn sms_delivery(&self, id: &str) -> Result<Option<SmsDeliveryRow>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM sms_deliveries WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Applies a delivery report: a final state is never replaced by a passing one, and a failure
    /// is never replaced at all. `None` when no SMS has this reference.
    pub async fn report_sms_delivery(
        &self,
        id: &str,
        state: SmsState,
        detail: Option<&str>,
        now: i64,
    ) -> Result<Option<SmsReport>> {
        let updated = sqlx::query(&format!(
            "UPDATE sms_deliveries SET state = $2, detail = $3, updated_at = $4 \
             WHERE id = $1 AND state <> 'failed' AND (state <> 'delivered' OR $5 = 'failed') \
             RETURNING {COLUMNS}"
        ))
        .bind(id)
        .bind(state.as_str())
        .bind(detail)
        .bind(now)
        .bind(state.as_str())
        .returning_optional(self.pool())
        .await?;
        if let Some(r) = updated {
            return Ok(Some(SmsReport {
                row: from_row(&r)?,
                changed: true,
            }));
        }
        Ok(self.sms_delivery(id).await?.map(|row| SmsReport {
            row,
            changed: false,
        }))
    }

    /// The newest SMS of `kind` to `recipient`.
    pub async fn latest_sms_to(
        &self,
        recipient: &str,
        kind: &str,
    ) -> Result<Option<SmsDeliveryRow>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM sms_deliveries WHERE recipient = $1 AND kind = $2 \
             ORDER BY created_at DESC, id DESC LIMIT 1"
        ))
        .bind(recipient)
        .bind(kind)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Forgets SMS sent before `before`; returns how many.
    pub async fn purge_sms_deliveries(&self, before: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM sms_deliveries WHERE created_at < $1")
            .bind(before)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }
}
