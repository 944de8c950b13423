//! The client's own store (PB-7): a SQLite file in the home folder holding the own-user record,
//! the device identity generated once, and settings such as the session token.

use crate::ClientError;
use ringbook_proto::DeviceIdentity;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Row, SqlitePool};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct ClientStore {
    pool: SqlitePool,
    home: PathBuf,
}

/// PB-7's own user record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnUser {
    pub number: Option<String>,
    pub device: DeviceIdentity,
    pub created_at: i64,
    pub im_status: String,
    pub self_status: Option<String>,
    pub activity_status: Option<String>,
    pub last_login_at: Option<i64>,
    pub status_updated_at: Option<i64>,
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The home holds the session token, which must stay usable by the client and so cannot be
/// hashed: the folder is the owner's only (0700) and the database 0600 — SQLite gives its
/// `-wal` and `-shm` files the database file's mode.
fn make_private(home: &Path, db: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(home)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        std::fs::set_permissions(home, std::fs::Permissions::from_mode(0o700))?;
        // Create it 0600 before SQLite does, or tighten a file an older version left open.
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(db)?;
        for file in [
            db.to_path_buf(),
            db.with_extension("db-wal"),
            db.with_extension("db-shm"),
        ] {
            if file.exists() {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
            }
        }
    }
    Ok(())
}

impl ClientStore {
    /// Opens (creating) `<home>/client.db`; on first open generates the device identity
    /// (PB-2: random + timestamp).
    pub async fn open(home: &Path) -> Result<Self, ClientError> {
        let db = home.join("client.db");
        make_private(home, &db)?;
        let opts = SqliteConnectOptions::new()
            .filename(&db)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(std::time::Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        let store = ClientStore {
            pool,
            home: home.to_path_buf(),
        };
        let exists = sqlx::query("SELECT 1 FROM own_user WHERE id = 1")
            .fetch_optional(&store.pool)
            .await?;
        if exists.is_none() {
            let now = now_ms();
            let device_id = format!("{}-{:x}", hex::encode(rand::random::<[u8; 12]>()), now);
            sqlx::query("INSERT INTO own_user (id, device_id, created_at) VALUES (1, $1, $2)")
                .bind(device_id)
                .bind(now)
                .execute(&store.pool)
                .await?;
        }
        Ok(store)
    }

    pub fn home(&self) -> &Path {
        &self.home
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub async fn own_user(&self) -> Result<OwnUser, ClientError> {
        let r = sqlx::query(
            "SELECT number, device_id, imei, iccid, created_at, im_status, self_status, activity_status, \
             last_login_at, status_updated_at FROM own_user WHERE id = 1",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(OwnUser {
            number: r.try_get("number")?,
            device: DeviceIdentity {
                device_id: r.try_get("device_id")?,
                imei: r.try_get("imei")?,
                iccid: r.try_get("iccid")?,
                imsi: None,
                label: Some(format!("ringbook-cli {}", std::env::consts::OS)),
            },
            created_at: r.try_get("created_at")?,
            im_status: r.try_get("im_status")?,
            self_status: r.try_get("self_status")?,
            activity_status: r.try_get("activity_status")?,
            last_login_at: r.try_get("last_login_at")?,
            status_updated_at: r.try_get("status_updated_at")?,
        })
    }

    /// Remembers hardware identifiers given on the command line (`--imei`, `--iccid`).
    pub async fn set_hardware(
        &self,
        imei: Option<&str>,
        iccid: Option<&str>,
    ) -> Result<(), ClientError> {
        if let Some(imei) = imei {
            sqlx::query("UPDATE own_user SET imei = $1 WHERE id = 1")
                .bind(imei)
                .execute(&self.pool)
                .await?;
        }
        if let Some(iccid) = iccid {
            sqlx::query("UPDATE own_user SET iccid = $1 WHERE id = 1")
                .bind(iccid)
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    pub async fn record_login(
        &self,
        number: &str,
        token: &str,
        server: &str,
    ) -> Result<(), ClientError> {
        sqlx::query("UPDATE own_user SET number = $1, last_login_at = $2 WHERE id = 1")
            .bind(number)
            .bind(now_ms())
            .execute(&self.pool)
            .await?;
        self.set("token", token).await?;
        self.set("server", server).await
    }

    pub async fn set_status(
        &self,
        im_status: &str,
        self_status: Option<&str>,
    ) -> Result<(), ClientError> {
        sqlx::query("UPDATE own_user SET im_status = $1, self_status = $2, status_updated_at = $3 WHERE id = 1")
            .bind(im_status)
            .bind(self_status)
            .bind(now_ms())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn set_activity_status(&self, activity: Option<&str>) -> Result<(), ClientError> {
        sqlx::query(
            "UPDATE own_user SET activity_status = $1, status_updated_at = $2 WHERE id = 1",
        )
        .bind(activity)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn forget_login(&self) -> Result<(), ClientError> {
        sqlx::query("DELETE FROM settings WHERE key = 'token'")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn get(&self, key: &str) -> Result<Option<String>, ClientError> {
        let row = sqlx::query("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("value")).transpose()?)
    }

    pub async fn set(&self, key: &str, value: &str) -> Result<(), ClientError> {
        sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
