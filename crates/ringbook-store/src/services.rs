//! Queries of the services part (SS-1 … SS-6):
//! - mutual matches (`mutual_friends`), kept up to date by [`Store::upsert_contacts`] and
//!   [`Store::delete_contacts`] in the book change's own transaction (index look-ups per changed
//!   contact, never a scan of the user base), and rebuilt in batch by [`Store::rematch_range`];
//! - per-service sharing (`service_shares`);
//! - one-click orders (`service_orders`), at most one open per orderer and service;
//! - the reference service platform's own tables (`platform_services`, `platform_subscriptions`).

use crate::{opt, Result, Returning, Store, StoreError};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

/// A matched friend as one user sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FriendRow {
    pub user_id: i64,
    pub phone: String,
    /// The name under which the viewer saved this friend, if any.
    pub name: Option<String>,
    pub since: i64,
}

/// A service a matched friend shares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FriendShare {
    pub friend_id: i64,
    pub service_id: String,
    pub shared_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderRow {
    pub id: i64,
    pub orderer_id: i64,
    pub friend_id: i64,
    pub service_id: String,
    pub idempotency_key: String,
    /// `pending`, `ordered` or `refused`.
    pub state: String,
    pub reason: Option<String>,
    pub message: String,
    pub code_hash: Option<String>,
    pub expires_at: Option<i64>,
    pub created_at: i64,
    pub decided_at: Option<i64>,
}

pub struct NewOrder<'a> {
    pub orderer_id: i64,
    pub friend_id: i64,
    pub service_id: &'a str,
    pub idempotency_key: &'a str,
    /// When housekeeping may refuse the order if it is still pending (a node died mid-order);
    /// replaced by the confirmation deadline when an SMS goes out.
    pub expires_at: i64,
}

/// Whether [`Store::create_order`] made a new order or found the one a retry refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CreatedOrder {
    New(OrderRow),
    Existing(OrderRow),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RematchStatus {
    pub running: bool,
    pub total_users: i64,
    pub done_users: i64,
    pub added: i64,
    pub removed: i64,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub error: Option<String>,
}

/// A service in the reference platform's catalogue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlatformServiceRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub provider: String,
    /// `carrier`, `sp` or `other`.
    pub kind: String,
    pub price_cents: i64,
    pub currency: String,
    pub period: String,
    pub active: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlatformSubscriptionRow {
    pub phone: String,
    pub service_id: String,
    pub since: i64,
    pub channel: String,
    /// The order reference the subscription was made under, if any.
    pub reference: Option<String>,
}

/// A stale "running" rematch (its node died) is taken over after this long.
const REMATCH_STALE_MS: i64 = 6 * 3_600_000;

// ---- incremental matching, called inside the contact write transaction ----

pub(crate) async fn phone_of(conn: &mut AnyConnection, user_id: i64) -> Result<Option<String>> {
    let row = sqlx::query("SELECT phone FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match row {
        Some(r) => Some(r.try_get("phone")?),
        None => None,
    })
}

/// `owner` now has `contact_phone` in their book: if that number is a user whose book holds
/// the owner's number, they match (both directions). Two primary-key/unique-index look-ups.
pub(crate) async fn link_if_mutual(
    conn: &mut AnyConnection,
    owner_id: i64,
    owner_phone: &str,
    contact_phone: &str,
    now: i64,
) -> Result<()> {
    let other = sqlx::query(
        "SELECT u.id FROM users u JOIN contacts c ON c.owner_id = u.id AND c.contact_phone = $2 AND c.deleted = 0 \
         WHERE u.phone = $1 AND u.id <> $3",
    )
    .bind(contact_phone)
    .bind(owner_phone)
    .bind(owner_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(other) = other else { return Ok(()) };
    let other_id: i64 = other.try_get("id")?;
    for (a, b) in [(owner_id, other_id), (other_id, owner_id)] {
        sqlx::query(
            "INSERT INTO mutual_friends (user_id, friend_id, since) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, friend_id) DO NOTHING",
        )
        .bind(a)
        .bind(b)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// `owner` no longer has `contact_phone` in their book: a match with that number ends.
pub(crate) async fn unlink(
    conn: &mut AnyConnection,
    owner_id: i64,
    contact_phone: &str,
) -> Result<()> {
    let other = sqlx::query("SELECT id FROM users WHERE phone = $1")
        .bind(contact_phone)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(other) = other else { return Ok(()) };
    let other_id: i64 = other.try_get("id")?;
    sqlx::query(
        "DELETE FROM mutual_friends WHERE (user_id = $1 AND friend_id = $2) OR (user_id = $2 AND friend_id = $1)",
    )
    .bind(owner_id)
    .bind(other_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn order_from_row(r: &AnyRow) -> Result<OrderRow> {
    Ok(OrderRow {
        id: r.try_get("id")?,
        orderer_id: r.try_get("orderer_id")?,
        friend_id: r.try_get("friend_id")?,
        service_id: r.try_get("service_id")?,
        idempotency_key: r.try_get("idempotency_key")?,
        state: r.try_get("state")?,
        reason: opt(r, "reason")?,
        message: r.try_get("message")?,
        code_hash: opt(r, "code_hash")?,
        expires_at: opt(r, "expires_at")?,
        created_at: r.try_get("created_at")?,
        decided_at: opt(r, "decided_at")?,
    })
}

const ORDER_COLUMNS: &str =
    "id, orderer_id, friend_id, service_id, idempotency_key, state, reason, message, \
     code_hash, expires_at, created_at, decided_at";

fn platform_service_from_row(r: &AnyRow) -> Result<PlatformServiceRow> {
    Ok(PlatformServiceRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        provider: r.try_get("provider")?,
        kind: r.try_get("kind")?,
        price_cents: r.try_get("price_cents")?,
        currency: r.try_get("currency")?,
        period: r.try_get("period")?,
        active: r.try_get::<i64, _>("active")? != 0,
    })
}

impl Store {
    // ---- matching ----

    /// Re-checks the match between `owner_id` and each of `phones` against the books as they
    /// are now (for writers that changed `contacts` without the two methods above).
    pub async fn relink(&self, owner_id: i64, phones: &[String], now: i64) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        let Some(owner_phone) = phone_of(&mut tx, owner_id).await? else {
            return Ok(());
        };
        for p in phones {
            let in_book = sqlx::query(
                "SELECT 1 AS one FROM contacts WHERE owner_id = $1 AND contact_phone = $2 AND deleted = 0",
            )
            .bind(owner_id)
            .bind(p)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
            if in_book {
                link_if_mutual(&mut tx, owner_id, &owner_phone, p, now).await?;
            } else {
                unlink(&mut tx, owner_id, p).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// The matched friends of `user_id`, by number.
    pub async fn friends_of(&self, user_id: i64) -> Result<Vec<FriendRow>> {
        let rows = sqlx::query(
            "SELECT f.friend_id, u.phone, c.name, f.since FROM mutual_friends f \
             JOIN users u ON u.id = f.friend_id \
             LEFT JOIN contacts c ON c.owner_id = f.user_id AND c.contact_phone = u.phone \
             WHERE f.user_id = $1 ORDER BY u.phone",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(FriendRow {
                    user_id: r.try_get("friend_id")?,
                    phone: r.try_get("phone")?,
                    name: opt::<String>(r, "name")?.filter(|n| !n.is_empty()),
                    since: r.try_get("since")?,
                })
            })
            .collect()
    }

    /// The friend with number `phone`, if `user_id` is matched with them.
    pub async fn friend_by_phone(&self, user_id: i64, phone: &str) -> Result<Option<FriendRow>> {
        let row = sqlx::query(
            "SELECT f.friend_id, u.phone, c.name, f.since FROM users u \
             JOIN mutual_friends f ON f.user_id = $1 AND f.friend_id = u.id \
             LEFT JOIN contacts c ON c.owner_id = f.user_id AND c.contact_phone = u.phone \
             WHERE u.phone = $2",
        )
        .bind(user_id)
        .bind(phone)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(FriendRow {
                user_id: r.try_get("friend_id")?,
                phone: r.try_get("phone")?,
                name: opt::<String>(&r, "name")?.filter(|n| !n.is_empty()),
                since: r.try_get("since")?,
            })
        })
        .transpose()
    }

    pub async fn are_friends(&self, a: i64, b: i64) -> Result<bool> {
        Ok(
            sqlx::query(
                "SELECT 1 AS one FROM mutual_friends WHERE user_id = $1 AND friend_id = $2",
            )
            .bind(a)
            .bind(b)
            .fetch_optional(self.pool())
            .await?
            .is_some(),
        )
    }

    pub async fn mutual_pair_count(&self) -> Result<i64> {
        let r = sqlx::query("SELECT COUNT(*) AS n FROM mutual_friends")
            .fetch_one(self.pool())
            .await?;
        Ok(r.try_get("n")?)
    }

    /// The ids of all users in ascending order, `limit` at a time after `after` (batch rematch).
    pub async fn user_ids_after(&self, after: i64, limit: i64) -> Result<Vec<i64>> {
        let rows = sqlx::query("SELECT id FROM users WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after)
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
    }

    pub async fn user_count(&self) -> Result<i64> {
        let r = sqlx::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(self.pool())
            .await?;
        Ok(r.try_get("n")?)
    }

    /// Batch rematch of the users with `lo <= id <= hi`, from the books alone: adds the matches
    /// that are missing, removes those that no longer hold, keeps `since` of the others.
    /// Returns (added, removed) rows (each match is two rows, one per direction).
    pub async fn rematch_range(&self, lo: i64, hi: i64, now: i64) -> Result<(u64, u64)> {
        let mut tx = self.pool().begin().await?;
        let removed = sqlx::query(
            "DELETE FROM mutual_friends WHERE user_id >= $1 AND user_id <= $2 AND NOT EXISTS ( \
               SELECT 1 FROM users ua, users ub, contacts a, contacts b \
               WHERE ua.id = mutual_friends.user_id AND ub.id = mutual_friends.friend_id \
                 AND a.owner_id = ua.id AND a.contact_phone = ub.phone \
                 AND b.owner_id = ub.id AND b.contact_phone = ua.phone \
                 AND a.deleted = 0 AND b.deleted = 0)",
        )
        .bind(lo)
        .bind(hi)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let added = sqlx::query(
            "INSERT INTO mutual_friends (user_id, friend_id, since) \
             SELECT a.owner_id, ub.id, $3 FROM contacts a \
             JOIN users ub ON ub.phone = a.contact_phone \
             JOIN users ua ON ua.id = a.owner_id \
             JOIN contacts b ON b.owner_id = ub.id AND b.contact_phone = ua.phone AND b.deleted = 0 \
             WHERE a.deleted = 0 AND a.owner_id >= $1 AND a.owner_id <= $2 AND ub.id <> a.owner_id \
             ON CONFLICT (user_id, friend_id) DO NOTHING",
        )
        .bind(lo)
        .bind(hi)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok((added, removed))
    }

    /// Claims the batch rematch; `false` when one is already running (and not stale).
    pub async fn rematch_begin(&self, total_users: i64, now: i64) -> Result<bool> {
        let n = sqlx::query(
            "INSERT INTO service_rematch (id, running, total_users, done_users, added, removed, started_at) \
             VALUES (1, 1, $1, 0, 0, 0, $2) \
             ON CONFLICT (id) DO UPDATE SET running = 1, total_users = $1, done_users = 0, added = 0, \
             removed = 0, started_at = $2, finished_at = NULL, error = NULL \
             WHERE service_rematch.running = 0 OR service_rematch.started_at < $3",
        )
        .bind(total_users)
        .bind(now)
        .bind(now - REMATCH_STALE_MS)
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    pub async fn rematch_progress(&self, done_users: i64, added: i64, removed: i64) -> Result<()> {
        sqlx::query(
            "UPDATE service_rematch SET done_users = $1, added = $2, removed = $3 WHERE id = 1",
        )
        .bind(done_users)
        .bind(added)
        .bind(removed)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn rematch_finish(&self, now: i64, error: Option<&str>) -> Result<()> {
        sqlx::query(
            "UPDATE service_rematch SET running = 0, finished_at = $1, error = $2 WHERE id = 1",
        )
        .bind(now)
        .bind(error.map(str::to_string))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn rematch_status(&self) -> Result<Option<RematchStatus>> {
        let row = sqlx::query(
            "SELECT running, total_users, done_users, added, removed, started_at, finished_at, error \
             FROM service_rematch WHERE id = 1",
        )
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(RematchStatus {
                running: r.try_get::<i64, _>("running")? != 0,
                total_users: r.try_get("total_users")?,
                done_users: r.try_get("done_users")?,
                added: r.try_get("added")?,
                removed: r.try_get("removed")?,
                started_at: r.try_get("started_at")?,
                finished_at: opt(&r, "finished_at")?,
                error: opt(&r, "error")?,
            })
        })
        .transpose()
    }

    /// Bulk import of address books for a whole user base (migration from another system,
    /// benchmarks): multi-row inserts in one transaction, WITHOUT incremental matching — run
    /// the batch rematch afterwards. Existing (owner, number) rows are left as they are.
    pub async fn import_contacts_unmatched(
        &self,
        rows: &[crate::contacts::ContactRow],
    ) -> Result<()> {
        const PER_STATEMENT: usize = 400;
        let mut tx = self.pool().begin().await?;
        for chunk in rows.chunks(PER_STATEMENT) {
            let mut sql = format!(
                "INSERT INTO contacts (owner_id, contact_phone, name, group_name, flag, fields, created_at, updated_at) VALUES {}",
                self.marks().tuples(chunk.len(), 8)
            );
            sql.push_str(" ON CONFLICT (owner_id, contact_phone) DO NOTHING");
            let mut q = sqlx::query(&sql);
            for r in chunk {
                q = q
                    .bind(r.owner_id)
                    .bind(&r.contact_phone)
                    .bind(&r.name)
                    .bind(r.group_name.clone())
                    .bind(r.flag)
                    .bind(&r.fields)
                    .bind(r.created_at)
                    .bind(r.updated_at);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    // ---- sharing ----

    /// Shares a service; `false` when it was already shared.
    pub async fn share_service(&self, user_id: i64, service_id: &str, now: i64) -> Result<bool> {
        let n = sqlx::query(
            "INSERT INTO service_shares (user_id, service_id, shared_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, service_id) DO NOTHING",
        )
        .bind(user_id)
        .bind(service_id)
        .bind(now)
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Stops sharing; `false` when it was not shared.
    pub async fn unshare_service(&self, user_id: i64, service_id: &str) -> Result<bool> {
        let n = sqlx::query("DELETE FROM service_shares WHERE user_id = $1 AND service_id = $2")
            .bind(user_id)
            .bind(service_id)
            .execute(self.pool())
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    /// The services `user_id` shares, with when.
    pub async fn shares_of(&self, user_id: i64) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT service_id, shared_at FROM service_shares WHERE user_id = $1 ORDER BY service_id",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("service_id")?, r.try_get("shared_at")?)))
            .collect()
    }

    /// Every service shared by a matched friend of `user_id` — nobody else's.
    pub async fn friends_shares(&self, user_id: i64) -> Result<Vec<FriendShare>> {
        let rows = sqlx::query(
            "SELECT s.user_id, s.service_id, s.shared_at FROM mutual_friends f \
             JOIN service_shares s ON s.user_id = f.friend_id \
             WHERE f.user_id = $1 ORDER BY s.user_id, s.service_id",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(FriendShare {
                    friend_id: r.try_get("user_id")?,
                    service_id: r.try_get("service_id")?,
                    shared_at: r.try_get("shared_at")?,
                })
            })
            .collect()
    }

    pub async fn is_shared(&self, user_id: i64, service_id: &str) -> Result<bool> {
        Ok(sqlx::query(
            "SELECT 1 AS one FROM service_shares WHERE user_id = $1 AND service_id = $2",
        )
        .bind(user_id)
        .bind(service_id)
        .fetch_optional(self.pool())
        .await?
        .is_some())
    }

    // ---- orders ----

    /// Opens an order, or returns the order this request repeats: the same idempotency key, or
    /// the open order for the same service (a double click).
    pub async fn create_order(&self, o: &NewOrder<'_>, now: i64) -> Result<CreatedOrder> {
        let row = sqlx::query(&format!(
            "INSERT INTO service_orders (orderer_id, friend_id, service_id, idempotency_key, state, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, 'pending', $6, $5) ON CONFLICT DO NOTHING RETURNING {ORDER_COLUMNS}"
        ))
        .bind(o.orderer_id)
        .bind(o.friend_id)
        .bind(o.service_id)
        .bind(o.idempotency_key)
        .bind(now)
        .bind(o.expires_at)
        .returning_optional(self.pool())
        .await?;
        if let Some(r) = row {
            return Ok(CreatedOrder::New(order_from_row(&r)?));
        }
        let existing = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM service_orders WHERE orderer_id = $1 AND \
             (idempotency_key = $2 OR (service_id = $3 AND state = 'pending')) ORDER BY id DESC LIMIT 1"
        ))
        .bind(o.orderer_id)
        .bind(o.idempotency_key)
        .bind(o.service_id)
        .fetch_optional(self.pool())
        .await?;
        match existing {
            Some(r) => Ok(CreatedOrder::Existing(order_from_row(&r)?)),
            // The conflicting order was decided between the two statements: a new try is fine.
            None => Err(StoreError::Conflict(
                "the order changed meanwhile; try again".into(),
            )),
        }
    }

    pub async fn order_by_id(&self, id: i64) -> Result<Option<OrderRow>> {
        let row = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM service_orders WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| order_from_row(&r)).transpose()
    }

    /// The newest orders `orderer_id` placed.
    pub async fn orders_of(&self, orderer_id: i64, limit: i64) -> Result<Vec<OrderRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM service_orders WHERE orderer_id = $1 ORDER BY id DESC LIMIT $2"
        ))
        .bind(orderer_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(order_from_row).collect()
    }

    /// Orders of `orderer_id` that wait for a confirmation SMS, or were decided after `since`
    /// (to recognise a repeated reply).
    pub async fn confirmable_orders_of(
        &self,
        orderer_id: i64,
        since: i64,
    ) -> Result<Vec<OrderRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM service_orders WHERE orderer_id = $1 AND code_hash IS NOT NULL \
             AND (state = 'pending' OR decided_at >= $2) ORDER BY id DESC LIMIT 50"
        ))
        .bind(orderer_id)
        .bind(since)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(order_from_row).collect()
    }

    /// Pending orders whose confirmation window closed before `now`.
    pub async fn expired_orders(&self, now: i64, limit: i64) -> Result<Vec<OrderRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM service_orders WHERE state = 'pending' AND expires_at IS NOT NULL \
             AND expires_at < $1 ORDER BY id LIMIT $2"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(order_from_row).collect()
    }

    /// Records that a confirmation SMS went out for a pending order.
    pub async fn set_order_awaiting(
        &self,
        id: i64,
        code_hash: &str,
        expires_at: i64,
        message: &str,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE service_orders SET code_hash = $2, expires_at = $3, message = $4 WHERE id = $1 AND state = 'pending'",
        )
        .bind(id)
        .bind(code_hash)
        .bind(expires_at)
        .bind(message)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Moves a pending order to `ordered` or `refused`; `None` when it was no longer pending
    /// (someone else decided it first), so each order is decided — and announced — once.
    pub async fn decide_order(
        &self,
        id: i64,
        state: &str,
        reason: Option<&str>,
        message: &str,
        now: i64,
    ) -> Result<Option<OrderRow>> {
        let row = sqlx::query(&format!(
            "UPDATE service_orders SET state = $2, reason = $3, message = $4, decided_at = $5 \
             WHERE id = $1 AND state = 'pending' RETURNING {ORDER_COLUMNS}"
        ))
        .bind(id)
        .bind(state)
        .bind(reason.map(str::to_string))
        .bind(message)
        .bind(now)
        .returning_optional(self.pool())
        .await?;
        row.map(|r| order_from_row(&r)).transpose()
    }

    // ---- the reference service platform's tables ----

    pub async fn platform_services(&self) -> Result<Vec<PlatformServiceRow>> {
        let rows = sqlx::query(
            "SELECT id, name, description, provider, kind, price_cents, currency, period, active \
             FROM platform_services ORDER BY kind, id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(platform_service_from_row).collect()
    }

    pub async fn platform_service(&self, id: &str) -> Result<Option<PlatformServiceRow>> {
        let row = sqlx::query(
            "SELECT id, name, description, provider, kind, price_cents, currency, period, active \
             FROM platform_services WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| platform_service_from_row(&r)).transpose()
    }

    pub async fn upsert_platform_service(&self, s: &PlatformServiceRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO platform_services (id, name, description, provider, kind, price_cents, currency, period, active) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
             description = excluded.description, provider = excluded.provider, kind = excluded.kind, \
             price_cents = excluded.price_cents, currency = excluded.currency, period = excluded.period, \
             active = excluded.active",
        )
        .bind(&s.id)
        .bind(&s.name)
        .bind(&s.description)
        .bind(&s.provider)
        .bind(&s.kind)
        .bind(s.price_cents)
        .bind(&s.currency)
        .bind(&s.period)
        .bind(i64::from(s.active))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn platform_subscriptions(
        &self,
        phone: &str,
    ) -> Result<Vec<PlatformSubscriptionRow>> {
        let rows = sqlx::query(
            "SELECT phone, service_id, since, channel, reference FROM platform_subscriptions WHERE phone = $1 \
             ORDER BY service_id",
        )
        .bind(phone)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PlatformSubscriptionRow {
                    phone: r.try_get("phone")?,
                    service_id: r.try_get("service_id")?,
                    since: r.try_get("since")?,
                    channel: r.try_get("channel")?,
                    reference: opt(r, "reference")?,
                })
            })
            .collect()
    }

    /// Subscribes `phone`; `false` when it already was (the unique key makes a retry harmless).
    pub async fn platform_subscribe(
        &self,
        phone: &str,
        service_id: &str,
        channel: &str,
        reference: Option<&str>,
        now: i64,
    ) -> Result<bool> {
        let n = sqlx::query(
            "INSERT INTO platform_subscriptions (phone, service_id, since, channel, reference) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (phone, service_id) DO NOTHING",
        )
        .bind(phone)
        .bind(service_id)
        .bind(now)
        .bind(channel)
        .bind(reference.map(str::to_string))
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    pub async fn platform_unsubscribe(&self, phone: &str, service_id: &str) -> Result<bool> {
        let n =
            sqlx::query("DELETE FROM platform_subscriptions WHERE phone = $1 AND service_id = $2")
                .bind(phone)
                .bind(service_id)
                .execute(self.pool())
                .await?
                .rows_affected();
        Ok(n == 1)
    }
}
