//! Contact queries (PB-11): the server's copy of each user's address book. Other parts read it
//! to decide who may see whom (presence, profiles) and who matches whom (service sharing).

use crate::{Result, Store};
use sqlx::Row;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactRow {
    pub owner_id: i64,
    pub contact_phone: String,
    pub name: String,
    pub group_name: Option<String>,
    /// 1 = add notice not accepted yet, 2 = mutually added (PB-11).
    pub flag: i64,
    /// Other address-book fields as a JSON object.
    pub fields: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Store {
    /// Inserts or updates contacts of one owner in one transaction; mutual matches (SS-2) are
    /// updated in the same transaction, at the cost of index look-ups per changed contact.
    pub async fn upsert_contacts(&self, owner_id: i64, rows: &[ContactRow], now: i64) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        let owner_phone = crate::services::phone_of(&mut tx, owner_id).await?;
        for r in rows {
            sqlx::query(
                "INSERT INTO contacts (owner_id, contact_phone, name, group_name, flag, fields, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
                 ON CONFLICT (owner_id, contact_phone) DO UPDATE SET name = excluded.name, \
                 group_name = excluded.group_name, fields = excluded.fields, updated_at = excluded.updated_at",
            )
            .bind(owner_id)
            .bind(&r.contact_phone)
            .bind(&r.name)
            .bind(r.group_name.clone())
            .bind(r.flag)
            .bind(&r.fields)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if let Some(owner_phone) = &owner_phone {
                crate::services::link_if_mutual(&mut tx, owner_id, owner_phone, &r.contact_phone, now).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Removes contacts of one owner; returns how many were there. Mutual matches (SS-2) with
    /// the removed numbers end in the same transaction.
    pub async fn delete_contacts(&self, owner_id: i64, phones: &[String]) -> Result<u64> {
        let mut tx = self.pool().begin().await?;
        let mut n = 0;
        for p in phones {
            n += sqlx::query("DELETE FROM contacts WHERE owner_id = $1 AND contact_phone = $2")
                .bind(owner_id)
                .bind(p)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            crate::services::unlink(&mut tx, owner_id, p).await?;
        }
        tx.commit().await?;
        Ok(n)
    }

    pub async fn contacts_of(&self, owner_id: i64) -> Result<Vec<ContactRow>> {
        let rows = sqlx::query(
            "SELECT owner_id, contact_phone, name, group_name, flag, fields, created_at, updated_at \
             FROM contacts WHERE owner_id = $1 ORDER BY contact_phone",
        )
        .bind(owner_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ContactRow {
                    owner_id: r.try_get("owner_id")?,
                    contact_phone: r.try_get("contact_phone")?,
                    name: r.try_get("name")?,
                    group_name: crate::opt(r, "group_name")?,
                    flag: r.try_get("flag")?,
                    fields: r.try_get("fields")?,
                    created_at: r.try_get("created_at")?,
                    updated_at: r.try_get("updated_at")?,
                })
            })
            .collect()
    }

    /// The users who have `phone` in their address book ("who may see me" for in-book privacy).
    pub async fn owners_having(&self, phone: &str) -> Result<Vec<i64>> {
        let rows = sqlx::query("SELECT owner_id FROM contacts WHERE contact_phone = $1")
            .bind(phone)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| Ok(r.try_get("owner_id")?)).collect()
    }

    /// Whether `owner_id`'s book holds `phone`.
    pub async fn has_in_book(&self, owner_id: i64, phone: &str) -> Result<bool> {
        let row = sqlx::query("SELECT 1 AS one FROM contacts WHERE owner_id = $1 AND contact_phone = $2")
            .bind(owner_id)
            .bind(phone)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.is_some())
    }
}
