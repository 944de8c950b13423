//! Queries of the open platform (WV-1 … WV-6, X-1): registered websites, visitors' consents per
//! site and field, the fields a visitor set for websites, request nonces and the disclosure log.
//!
//! JSON lists (origins, addresses, fields) are stored as TEXT; the server module owns their shape.

use crate::{opt, Result, Returning, Store, StoreError};
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteRow {
    pub id: i64,
    pub name: String,
    /// JSON array of origins, e.g. `["https://shop.example"]`.
    pub origins: String,
    /// JSON array of CIDR networks the site's server calls from.
    pub allowed_addrs: String,
    /// The shared secret, encrypted with the server's master key (never stored in clear).
    pub secret_enc: Option<String>,
    /// Base64 Ed25519 public key.
    pub public_key: Option<String>,
    pub created_at: i64,
}

pub struct NewSite<'a> {
    pub name: &'a str,
    pub origins: &'a str,
    pub allowed_addrs: &'a str,
    pub secret_enc: Option<&'a str>,
    pub public_key: Option<&'a str>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsentRow {
    pub user_id: i64,
    pub site_id: i64,
    pub site_name: String,
    /// `ask`, `allow` or `deny`.
    pub choice: String,
    /// JSON array of field names.
    pub fields: String,
    pub raw_id: bool,
    pub pseudonym: String,
    pub updated_at: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SiteProfileRow {
    pub name: Option<String>,
    pub age: Option<i64>,
    pub company: Option<String>,
    pub title: Option<String>,
    pub email: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisclosureRow {
    pub id: i64,
    pub user_id: i64,
    pub site_id: i64,
    pub site_name: String,
    pub purpose: String,
    pub fields: String,
    pub caller_addr: String,
    pub at: i64,
}

const SITE_COLUMNS: &str = "id, name, origins, allowed_addrs, secret_enc, public_key, created_at";
const CONSENT_COLUMNS: &str = "c.user_id, c.site_id, s.name AS site_name, c.choice, c.fields, \
                               c.raw_id, c.pseudonym, c.updated_at";

fn site_from_row(row: &AnyRow) -> Result<SiteRow> {
    Ok(SiteRow {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        origins: row.try_get("origins")?,
        allowed_addrs: row.try_get("allowed_addrs")?,
        secret_enc: opt(row, "secret_enc")?,
        public_key: opt(row, "public_key")?,
        created_at: row.try_get("created_at")?,
    })
}

fn consent_from_row(row: &AnyRow) -> Result<ConsentRow> {
    Ok(ConsentRow {
        user_id: row.try_get("user_id")?,
        site_id: row.try_get("site_id")?,
        site_name: row.try_get("site_name")?,
        choice: row.try_get("choice")?,
        fields: row.try_get("fields")?,
        raw_id: row.try_get::<i64, _>("raw_id")? != 0,
        pseudonym: row.try_get("pseudonym")?,
        updated_at: row.try_get("updated_at")?,
    })
}

impl Store {
    /// Registers a site; `Conflict` when the name is taken.
    pub async fn op_create_site(&self, s: &NewSite<'_>, now: i64) -> Result<SiteRow> {
        let row = sqlx::query(&format!(
            "INSERT INTO op_sites (name, origins, allowed_addrs, secret_enc, public_key, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {SITE_COLUMNS}"
        ))
        .bind(s.name)
        .bind(s.origins)
        .bind(s.allowed_addrs)
        .bind(s.secret_enc)
        .bind(s.public_key)
        .bind(now)
        .returning_one(self.pool())
        .await
        .map_err(StoreError::from_write)?;
        site_from_row(&row)
    }

    pub async fn op_site(&self, id: i64) -> Result<Option<SiteRow>> {
        let row = sqlx::query(&format!(
            "SELECT {SITE_COLUMNS} FROM op_sites WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(site_from_row).transpose()
    }

    pub async fn op_site_by_name(&self, name: &str) -> Result<Option<SiteRow>> {
        let row = sqlx::query(&format!(
            "SELECT {SITE_COLUMNS} FROM op_sites WHERE name = $1"
        ))
        .bind(name)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(site_from_row).transpose()
    }

    pub async fn op_sites(&self) -> Result<Vec<SiteRow>> {
        let rows = sqlx::query(&format!("SELECT {SITE_COLUMNS} FROM op_sites ORDER BY id"))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(site_from_row).collect()
    }

    pub async fn op_delete_site(&self, id: i64) -> Result<()> {
        let done = sqlx::query("DELETE FROM op_sites WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn op_consent(&self, user_id: i64, site_id: i64) -> Result<Option<ConsentRow>> {
        let row = sqlx::query(&format!(
            "SELECT {CONSENT_COLUMNS} FROM op_consents c JOIN op_sites s ON s.id = c.site_id \
             WHERE c.user_id = $1 AND c.site_id = $2"
        ))
        .bind(user_id)
        .bind(site_id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(consent_from_row).transpose()
    }

    pub async fn op_consent_by_pseudonym(
        &self,
        site_id: i64,
        pseudonym: &str,
    ) -> Result<Option<ConsentRow>> {
        let row = sqlx::query(&format!(
            "SELECT {CONSENT_COLUMNS} FROM op_consents c JOIN op_sites s ON s.id = c.site_id \
             WHERE c.site_id = $1 AND c.pseudonym = $2"
        ))
        .bind(site_id)
        .bind(pseudonym)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(consent_from_row).transpose()
    }

    pub async fn op_consents(&self, user_id: i64) -> Result<Vec<ConsentRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {CONSENT_COLUMNS} FROM op_consents c JOIN op_sites s ON s.id = c.site_id \
             WHERE c.user_id = $1 ORDER BY s.name"
        ))
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(consent_from_row).collect()
    }

    /// Creates or replaces a user's standing choice for a site.
    #[allow(clippy::too_many_arguments)]
    pub async fn op_put_consent(
        &self,
        user_id: i64,
        site_id: i64,
        choice: &str,
        fields: &str,
        raw_id: bool,
        pseudonym: &str,
        now: i64,
    ) -> Result<ConsentRow> {
        sqlx::query(
            "INSERT INTO op_consents (user_id, site_id, choice, fields, raw_id, pseudonym, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (user_id, site_id) DO UPDATE SET choice = $3, fields = $4, raw_id = $5, updated_at = $7",
        )
        .bind(user_id)
        .bind(site_id)
        .bind(choice)
        .bind(fields)
        .bind(raw_id as i64)
        .bind(pseudonym)
        .bind(now)
        .execute(self.pool())
        .await
        .map_err(StoreError::from_write)?;
        self.op_consent(user_id, site_id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    pub async fn op_site_profile(&self, user_id: i64) -> Result<SiteProfileRow> {
        let row = sqlx::query(
            "SELECT name, age, company, title, email FROM op_profiles WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(self.pool())
        .await?;
        match row {
            None => Ok(SiteProfileRow::default()),
            Some(row) => Ok(SiteProfileRow {
                name: opt(&row, "name")?,
                age: opt(&row, "age")?,
                company: opt(&row, "company")?,
                title: opt(&row, "title")?,
                email: opt(&row, "email")?,
            }),
        }
    }

    pub async fn op_put_site_profile(
        &self,
        user_id: i64,
        p: &SiteProfileRow,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO op_profiles (user_id, name, age, company, title, email, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (user_id) DO UPDATE SET \
             name = $2, age = $3, company = $4, title = $5, email = $6, updated_at = $7",
        )
        .bind(user_id)
        .bind(p.name.as_deref())
        .bind(p.age)
        .bind(p.company.as_deref())
        .bind(p.title.as_deref())
        .bind(p.email.as_deref())
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Records a request nonce; `false` when the site already used it (a replay).
    pub async fn op_use_nonce(&self, site_id: i64, nonce: &str, now: i64) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO op_nonces (site_id, nonce, seen_at) VALUES ($1, $2, $3) \
             ON CONFLICT (site_id, nonce) DO NOTHING",
        )
        .bind(site_id)
        .bind(nonce)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// How many signed requests the site made since `since` (its nonces are the request log).
    pub async fn op_requests_since(&self, site_id: i64, since: i64) -> Result<i64> {
        let row =
            sqlx::query("SELECT COUNT(*) AS n FROM op_nonces WHERE site_id = $1 AND seen_at >= $2")
                .bind(site_id)
                .bind(since)
                .fetch_one(self.pool())
                .await?;
        Ok(row.try_get("n")?)
    }

    /// Forgets nonces older than `before` (outside the timestamp window they cannot be replayed).
    pub async fn op_purge_nonces(&self, before: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM op_nonces WHERE seen_at < $1")
            .bind(before)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn op_log_disclosure(
        &self,
        user_id: i64,
        site_id: i64,
        site_name: &str,
        purpose: &str,
        fields: &str,
        caller_addr: &str,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO op_disclosures (user_id, site_id, site_name, purpose, fields, caller_addr, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(user_id)
        .bind(site_id)
        .bind(site_name)
        .bind(purpose)
        .bind(fields)
        .bind(caller_addr)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn op_disclosures(&self, user_id: i64, limit: i64) -> Result<Vec<DisclosureRow>> {
        let rows = sqlx::query(
            "SELECT id, user_id, site_id, site_name, purpose, fields, caller_addr, at FROM op_disclosures \
             WHERE user_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(user_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(DisclosureRow {
                    id: row.try_get("id")?,
                    user_id: row.try_get("user_id")?,
                    site_id: row.try_get("site_id")?,
                    site_name: row.try_get("site_name")?,
                    purpose: row.try_get("purpose")?,
                    fields: row.try_get("fields")?,
                    caller_addr: row.try_get("caller_addr")?,
                    at: row.try_get("at")?,
                })
            })
            .collect()
    }

    /// A server-wide key by name, created from `fresh` the first time (first writer wins).
    pub async fn op_key(&self, name: &str, fresh: &str) -> Result<String> {
        sqlx::query(
            "INSERT INTO op_keys (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(fresh)
        .execute(self.pool())
        .await?;
        let row = sqlx::query("SELECT value FROM op_keys WHERE name = $1")
            .bind(name)
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get("value")?)
    }

    /// Replaces a key's stored value if it is still `old` (upgrading it in place).
    pub async fn replace_op_key(&self, name: &str, old: &str, new: &str) -> Result<()> {
        sqlx::query("UPDATE op_keys SET value = $1 WHERE name = $2 AND value = $3")
            .bind(new)
            .bind(name)
            .bind(old)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
