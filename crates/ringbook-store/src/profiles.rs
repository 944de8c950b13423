//! Queries of the profiles part (MM-1 … MM-6): the profile row (text fields and visibilities as
//! JSON, a version bumped on every change), the standard avatar blobs, number bindings and the
//! SMS codes that confirm them.
//!
//! Changes are optimistic: [`Store::save_profile`] writes only if the version is still the one
//! the caller read, so two concurrent updates (an MMS and an app edit) never lose each other's
//! fields; the caller re-reads and retries.

use crate::identity::{CodeKey, CodeRow, CodeTry};
use crate::{Result, Returning, Store, StoreError};
use sqlx::any::AnyRow;
use sqlx::Row;

/// One profile row. `fields` and `visibility` are JSON objects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileRow {
    pub user_id: i64,
    pub fields: String,
    pub visibility: String,
    /// MMS from the account's own number update this profile (MM-4 default binding).
    pub own_binding: bool,
    pub version: i64,
    pub updated_at: i64,
}

impl ProfileRow {
    /// The row of a profile never written.
    pub fn empty(user_id: i64) -> Self {
        ProfileRow {
            user_id,
            fields: "{}".into(),
            visibility: "{}".into(),
            own_binding: true,
            version: 0,
            updated_at: 0,
        }
    }
}

/// A stored standard avatar (without the pictures).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvatarMeta {
    pub avatar_id: String,
    pub bytes: i64,
    pub width: i64,
    pub height: i64,
    pub thumb_width: i64,
    pub thumb_height: i64,
    pub updated_at: i64,
}

/// A new avatar to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAvatar {
    pub avatar_id: String,
    pub jpeg: Vec<u8>,
    pub thumb: Vec<u8>,
    pub width: i64,
    pub height: i64,
    pub thumb_width: i64,
    pub thumb_height: i64,
}

/// What [`Store::save_profile`] does to the avatar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AvatarChange {
    Keep,
    Set(NewAvatar),
    Remove,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindingRow {
    pub phone: String,
    pub user_id: i64,
    pub created_at: i64,
}

fn profile_from_row(r: &AnyRow) -> Result<ProfileRow> {
    Ok(ProfileRow {
        user_id: r.try_get("user_id")?,
        fields: r.try_get("fields")?,
        visibility: r.try_get("visibility")?,
        own_binding: r.try_get::<i64, _>("own_binding")? != 0,
        version: r.try_get("version")?,
        updated_at: r.try_get("updated_at")?,
    })
}

const PROFILE_COLUMNS: &str = "user_id, fields, visibility, own_binding, version, updated_at";

impl Store {
    /// The stored profile, or `None` if the user never had one written.
    pub async fn profile(&self, user_id: i64) -> Result<Option<ProfileRow>> {
        let row = sqlx::query(&format!(
            "SELECT {PROFILE_COLUMNS} FROM profiles WHERE user_id = $1"
        ))
        .bind(user_id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(profile_from_row).transpose()
    }

    /// Profiles of several users at once (missing ones are simply absent).
    pub async fn profiles_of(&self, user_ids: &[i64]) -> Result<Vec<ProfileRow>> {
        let mut out = Vec::with_capacity(user_ids.len());
        // One query per user keeps the SQL identical on both engines; batches are bounded
        // by the API (at most a few hundred numbers).
        for id in user_ids {
            if let Some(p) = self.profile(*id).await? {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// Writes `row` (fields, visibility, own_binding) and the avatar change if the stored version
    /// is still `row.version`; the stored version becomes `row.version + 1`.
    /// Returns the new version, or `Conflict` when someone else changed the profile first.
    pub async fn save_profile(
        &self,
        row: &ProfileRow,
        avatar: &AvatarChange,
        now: i64,
    ) -> Result<i64> {
        let mut tx = self.pool().begin().await?;
        let written = if row.version == 0 {
            sqlx::query(
                "INSERT INTO profiles (user_id, fields, visibility, own_binding, version, updated_at) \
                 VALUES ($1, $2, $3, $4, 1, $5) ON CONFLICT (user_id) DO NOTHING RETURNING version",
            )
            .bind(row.user_id)
            .bind(&row.fields)
            .bind(&row.visibility)
            .bind(i64::from(row.own_binding))
            .bind(now)
            .returning_optional(&mut *tx)
            .await?
        } else {
            sqlx::query(
                "UPDATE profiles SET fields = $2, visibility = $3, own_binding = $4, \
                 version = version + 1, updated_at = $5 WHERE user_id = $1 AND version = $6 \
                 RETURNING version",
            )
            .bind(row.user_id)
            .bind(&row.fields)
            .bind(&row.visibility)
            .bind(i64::from(row.own_binding))
            .bind(now)
            .bind(row.version)
            .returning_optional(&mut *tx)
            .await?
        };
        let Some(written) = written else {
            return Err(StoreError::Conflict("the profile changed meanwhile".into()));
        };
        let version: i64 = written.try_get("version")?;
        match avatar {
            AvatarChange::Keep => {}
            AvatarChange::Remove => {
                sqlx::query("DELETE FROM profile_avatars WHERE user_id = $1")
                    .bind(row.user_id)
                    .execute(&mut *tx)
                    .await?;
            }
            AvatarChange::Set(a) => {
                sqlx::query(
                    "INSERT INTO profile_avatars (user_id, avatar_id, jpeg, thumb, width, height, \
                     thumb_width, thumb_height, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                     ON CONFLICT (user_id) DO UPDATE SET avatar_id = excluded.avatar_id, \
                     jpeg = excluded.jpeg, thumb = excluded.thumb, width = excluded.width, \
                     height = excluded.height, thumb_width = excluded.thumb_width, \
                     thumb_height = excluded.thumb_height, updated_at = excluded.updated_at",
                )
                .bind(row.user_id)
                .bind(&a.avatar_id)
                .bind(a.jpeg.clone())
                .bind(a.thumb.clone())
                .bind(a.width)
                .bind(a.height)
                .bind(a.thumb_width)
                .bind(a.thumb_height)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(version)
    }

    /// The stored avatar's description.
    pub async fn avatar_meta(&self, user_id: i64) -> Result<Option<AvatarMeta>> {
        let row = sqlx::query(
            "SELECT avatar_id, CAST(LENGTH(jpeg) AS BIGINT) AS bytes, width, height, thumb_width, thumb_height, \
             updated_at FROM profile_avatars WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(AvatarMeta {
                avatar_id: r.try_get("avatar_id")?,
                bytes: r.try_get("bytes")?,
                width: r.try_get("width")?,
                height: r.try_get("height")?,
                thumb_width: r.try_get("thumb_width")?,
                thumb_height: r.try_get("thumb_height")?,
                updated_at: r.try_get("updated_at")?,
            })
        })
        .transpose()
    }

    /// The avatar JPEG (or its thumbnail) with its ID.
    pub async fn avatar_image(
        &self,
        user_id: i64,
        thumb: bool,
    ) -> Result<Option<(String, Vec<u8>)>> {
        let col = if thumb { "thumb" } else { "jpeg" };
        let row = sqlx::query(&format!(
            "SELECT avatar_id, {col} AS img FROM profile_avatars WHERE user_id = $1"
        ))
        .bind(user_id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| Ok((r.try_get("avatar_id")?, r.try_get::<Vec<u8>, _>("img")?)))
            .transpose()
    }

    /// The account an extra number is bound to.
    pub async fn binding_of(&self, phone: &str) -> Result<Option<BindingRow>> {
        let row =
            sqlx::query("SELECT phone, user_id, created_at FROM profile_bindings WHERE phone = $1")
                .bind(phone)
                .fetch_optional(self.pool())
                .await?;
        row.map(|r| {
            Ok(BindingRow {
                phone: r.try_get("phone")?,
                user_id: r.try_get("user_id")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .transpose()
    }

    /// Extra numbers bound to an account, oldest first.
    pub async fn bindings_of(&self, user_id: i64) -> Result<Vec<BindingRow>> {
        let rows = sqlx::query(
            "SELECT phone, user_id, created_at FROM profile_bindings WHERE user_id = $1 \
             ORDER BY created_at, phone",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(BindingRow {
                    phone: r.try_get("phone")?,
                    user_id: r.try_get("user_id")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Binds `phone` to `user_id`; `Conflict` if it is bound to another account.
    pub async fn add_binding(&self, phone: &str, user_id: i64, now: i64) -> Result<()> {
        let row = sqlx::query(
            "INSERT INTO profile_bindings (phone, user_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (phone) DO UPDATE SET phone = excluded.phone RETURNING user_id",
        )
        .bind(phone)
        .bind(user_id)
        .bind(now)
        .returning_one(self.pool())
        .await?;
        let owner: i64 = row.try_get("user_id")?;
        if owner != user_id {
            return Err(StoreError::Conflict(
                "the number is bound to another account".into(),
            ));
        }
        Ok(())
    }

    /// Removes an extra number's binding; false if it was not bound to this account.
    pub async fn remove_binding(&self, user_id: i64, phone: &str) -> Result<bool> {
        let n = sqlx::query("DELETE FROM profile_bindings WHERE user_id = $1 AND phone = $2")
            .bind(user_id)
            .bind(phone)
            .execute(self.pool())
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    /// Stores (replacing) the code that confirms binding `phone` to `user_id`.
    pub async fn put_binding_code(
        &self,
        user_id: i64,
        phone: &str,
        code_hash: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO profile_binding_codes (user_id, phone, code_hash, expires_at, attempts, sent_at) \
             VALUES ($1, $2, $3, $4, 0, $5) ON CONFLICT (user_id, phone) DO UPDATE SET \
             code_hash = excluded.code_hash, expires_at = excluded.expires_at, attempts = 0, \
             sent_at = excluded.sent_at",
        )
        .bind(user_id)
        .bind(phone)
        .bind(code_hash)
        .bind(expires_at)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn binding_code(&self, user_id: i64, phone: &str) -> Result<Option<CodeRow>> {
        self.one_time_code(CodeKey::Binding(user_id, phone)).await
    }

    /// Claims one try at a binding code (see [`CodeTry`]).
    pub async fn claim_binding_code_try(
        &self,
        user_id: i64,
        phone: &str,
        now: i64,
        max_tries: i64,
    ) -> Result<CodeTry> {
        self.claim_one_time_code_try(CodeKey::Binding(user_id, phone), now, max_tries)
            .await
    }

    /// Consumes the binding code if it is still the one checked; true for one caller only.
    pub async fn consume_binding_code(
        &self,
        user_id: i64,
        phone: &str,
        code_hash: &str,
    ) -> Result<bool> {
        self.consume_one_time_code(CodeKey::Binding(user_id, phone), code_hash)
            .await
    }

    pub async fn delete_binding_code(&self, user_id: i64, phone: &str) -> Result<()> {
        sqlx::query("DELETE FROM profile_binding_codes WHERE user_id = $1 AND phone = $2")
            .bind(user_id)
            .bind(phone)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
