//! Contact queries (PB-11): the server's copy of each user's address book. Other parts read it
//! to decide who may see whom (presence, profiles) and who matches whom (service sharing).

use crate::{Result, Returning, Store};
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
    pub async fn upsert_contacts(
        &self,
        owner_id: i64,
        rows: &[ContactRow],
        now: i64,
    ) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        let owner_phone = crate::services::phone_of(&mut tx, owner_id).await?;
        for r in rows {
            sqlx::query(
                "INSERT INTO contacts (owner_id, contact_phone, name, group_name, flag, fields, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
                 ON CONFLICT (owner_id, contact_phone) DO UPDATE SET name = excluded.name, \
                 group_name = excluded.group_name, fields = excluded.fields, updated_at = excluded.updated_at, \
                 deleted = 0",
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
                crate::services::link_if_mutual(
                    &mut tx,
                    owner_id,
                    owner_phone,
                    &r.contact_phone,
                    now,
                )
                .await?;
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
             FROM contacts WHERE owner_id = $1 AND deleted = 0 ORDER BY contact_phone",
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
        let rows =
            sqlx::query("SELECT owner_id FROM contacts WHERE contact_phone = $1 AND deleted = 0")
                .bind(phone)
                .fetch_all(self.pool())
                .await?;
        rows.iter().map(|r| Ok(r.try_get("owner_id")?)).collect()
    }

    /// Whether `owner_id`'s book holds `phone`.
    pub async fn has_in_book(&self, owner_id: i64, phone: &str) -> Result<bool> {
        let row = sqlx::query("SELECT 1 AS one FROM contacts WHERE owner_id = $1 AND contact_phone = $2 AND deleted = 0")
            .bind(owner_id)
            .bind(phone)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.is_some())
    }
}

/// One contact written by an incremental sync (PB-11).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactWrite {
    pub contact_phone: String,
    pub name: String,
    pub group_name: Option<String>,
    pub fields: String,
}

/// A row of a book as the sync returns it: live or a tombstone, with the version that last
/// changed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactChangeRow {
    pub contact_phone: String,
    pub name: String,
    pub group_name: Option<String>,
    pub flag: i64,
    pub fields: String,
    pub deleted: bool,
    pub version: i64,
    pub updated_at: i64,
}

/// What one sync did to the owner's book.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncOutcome {
    /// The owner's book version after the sync (the client's next cursor).
    pub version: i64,
    /// Other users whose books changed (their flag for the owner went 1 ↔ 2).
    pub touched_owners: Vec<i64>,
}

/// Book numbers that belong to registered users, with the owner's flag for them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BookUser {
    pub contact_phone: String,
    pub user_id: i64,
    pub flag: i64,
}

async fn bump_version(tx: &mut sqlx::Transaction<'_, sqlx::Any>, owner_id: i64) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO contact_books (owner_id, version) VALUES ($1, 1) \
         ON CONFLICT (owner_id) DO UPDATE SET version = contact_books.version + 1 RETURNING version",
    )
    .bind(owner_id)
    .returning_one(&mut **tx)
    .await?;
    Ok(row.try_get("version")?)
}

async fn user_id_by_phone(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    phone: &str,
) -> Result<Option<i64>> {
    let row = sqlx::query("SELECT id FROM users WHERE phone = $1")
        .bind(phone)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.map(|r| r.try_get("id")).transpose()?)
}

async fn in_book(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    owner_id: i64,
    phone: &str,
) -> Result<bool> {
    let row = sqlx::query(
        "SELECT 1 AS one FROM contacts WHERE owner_id = $1 AND contact_phone = $2 AND deleted = 0",
    )
    .bind(owner_id)
    .bind(phone)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.is_some())
}

/// Sets the flag of `owner_id`'s row for `phone` (when live and different), bumping that
/// owner's version; returns whether it changed.
async fn set_flag(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    owner_id: i64,
    phone: &str,
    flag: i64,
    now: i64,
) -> Result<bool> {
    let row = sqlx::query(
        "SELECT flag FROM contacts WHERE owner_id = $1 AND contact_phone = $2 AND deleted = 0",
    )
    .bind(owner_id)
    .bind(phone)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else { return Ok(false) };
    let current: i64 = row.try_get("flag")?;
    if current == flag {
        return Ok(false);
    }
    let version = bump_version(tx, owner_id).await?;
    sqlx::query(
        "UPDATE contacts SET flag = $3, version = $4, updated_at = $5 WHERE owner_id = $1 AND contact_phone = $2",
    )
    .bind(owner_id)
    .bind(phone)
    .bind(flag)
    .bind(version)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(true)
}

impl Store {
    /// Applies one incremental sync of `owner_id`'s book in one transaction (PB-11): writes
    /// `upserts` (reviving tombstones), turns `deletes` into tombstones, and keeps the 1/2 flags
    /// of both sides right (2 when each has the other's number). Every changed row gets the
    /// owner's next version.
    pub async fn sync_contacts(
        &self,
        owner_id: i64,
        owner_phone: &str,
        upserts: &[ContactWrite],
        deletes: &[String],
        now: i64,
    ) -> Result<SyncOutcome> {
        let mut tx = self.pool().begin().await?;
        let mut outcome = SyncOutcome::default();
        if upserts.is_empty() && deletes.is_empty() {
            let row = sqlx::query("SELECT version FROM contact_books WHERE owner_id = $1")
                .bind(owner_id)
                .fetch_optional(&mut *tx)
                .await?;
            outcome.version = row.map(|r| r.try_get("version")).transpose()?.unwrap_or(0);
            tx.commit().await?;
            return Ok(outcome);
        }
        let version = bump_version(&mut tx, owner_id).await?;
        outcome.version = version;
        for w in upserts {
            // Mutual when the contact is a user whose live book holds the owner's number.
            let other = user_id_by_phone(&mut tx, &w.contact_phone).await?;
            let mut flag = 1;
            if let Some(other) = other.filter(|o| *o != owner_id) {
                if in_book(&mut tx, other, owner_phone).await? {
                    flag = 2;
                    if set_flag(&mut tx, other, owner_phone, 2, now).await? {
                        outcome.touched_owners.push(other);
                    }
                }
            }
            sqlx::query(
                "INSERT INTO contacts (owner_id, contact_phone, name, group_name, flag, fields, created_at, \
                 updated_at, deleted, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, 0, $8) \
                 ON CONFLICT (owner_id, contact_phone) DO UPDATE SET name = excluded.name, \
                 group_name = excluded.group_name, flag = excluded.flag, fields = excluded.fields, \
                 updated_at = excluded.updated_at, deleted = 0, version = excluded.version",
            )
            .bind(owner_id)
            .bind(&w.contact_phone)
            .bind(&w.name)
            .bind(w.group_name.clone())
            .bind(flag)
            .bind(&w.fields)
            .bind(now)
            .bind(version)
            .execute(&mut *tx)
            .await?;
            // Service sharing's mutual matches (SS-2) move with the book, in this transaction.
            crate::services::link_if_mutual(&mut tx, owner_id, owner_phone, &w.contact_phone, now)
                .await?;
        }
        for phone in deletes {
            let n = sqlx::query(
                "UPDATE contacts SET deleted = 1, flag = 1, version = $3, updated_at = $4 \
                 WHERE owner_id = $1 AND contact_phone = $2 AND deleted = 0",
            )
            .bind(owner_id)
            .bind(phone)
            .bind(version)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                continue;
            }
            crate::services::unlink(&mut tx, owner_id, phone).await?;
            if let Some(other) = user_id_by_phone(&mut tx, phone)
                .await?
                .filter(|o| *o != owner_id)
            {
                if set_flag(&mut tx, other, owner_phone, 1, now).await? {
                    outcome.touched_owners.push(other);
                }
            }
        }
        tx.commit().await?;
        outcome.touched_owners.sort_unstable();
        outcome.touched_owners.dedup();
        Ok(outcome)
    }

    /// The owner's rows (live and tombstones) changed after `since`, oldest change first.
    pub async fn contact_changes_since(
        &self,
        owner_id: i64,
        since: i64,
    ) -> Result<Vec<ContactChangeRow>> {
        let rows = sqlx::query(
            "SELECT contact_phone, name, group_name, flag, fields, deleted, version, updated_at \
             FROM contacts WHERE owner_id = $1 AND version > $2 ORDER BY version, contact_phone",
        )
        .bind(owner_id)
        .bind(since)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ContactChangeRow {
                    contact_phone: r.try_get("contact_phone")?,
                    name: r.try_get("name")?,
                    group_name: crate::opt(r, "group_name")?,
                    flag: r.try_get("flag")?,
                    fields: r.try_get("fields")?,
                    deleted: r.try_get::<i64, _>("deleted")? != 0,
                    version: r.try_get("version")?,
                    updated_at: r.try_get("updated_at")?,
                })
            })
            .collect()
    }

    /// The owner's book version (0 before the first sync).
    pub async fn contact_book_version(&self, owner_id: i64) -> Result<i64> {
        let row = sqlx::query("SELECT version FROM contact_books WHERE owner_id = $1")
            .bind(owner_id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.try_get("version")).transpose()?.unwrap_or(0))
    }

    /// The live book entries of `owner_id` that are registered users.
    pub async fn book_users(&self, owner_id: i64) -> Result<Vec<BookUser>> {
        let rows = sqlx::query(
            "SELECT c.contact_phone, u.id, c.flag FROM contacts c JOIN users u ON u.phone = c.contact_phone \
             WHERE c.owner_id = $1 AND c.deleted = 0 ORDER BY c.contact_phone",
        )
        .bind(owner_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(BookUser {
                    contact_phone: r.try_get("contact_phone")?,
                    user_id: r.try_get("id")?,
                    flag: r.try_get("flag")?,
                })
            })
            .collect()
    }
}
