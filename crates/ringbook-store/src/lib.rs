//! Ringbook's storage: one domain-level interface over two backends chosen by URL scheme —
//! SQLite (the embedded default, `sqlite://…`) and PostgreSQL (`postgres://…`).
//!
//! Queries are written once in SQL that both engines accept (`$1` placeholders, `ON CONFLICT`,
//! `RETURNING`), run through sqlx's `Any` driver; where the engines differ, the migrations differ
//! (one tree per backend under `migrations/`, same versions in both, checked by a test).
//!
//! Modules, one per product part, each holding that part's queries:
//! - [`identity`]: users (PB-4), device sessions, verification codes, MO-SMS tokens, connections (PB-6).
//! - [`contacts`]: the server's contact table (PB-11).
//! - [`messaging`]: messages numbered per recipient (PB-16, PB-17, X-3).
//! - [`profiles`], [`openplatform`], [`official`], [`services`]: the other product parts.
//! - [`sms`]: outgoing SMS and their delivery reports.
// Library code must not panic on input; tests may unwrap.
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod contacts;
pub mod identity;
pub mod messaging;
pub mod official;
pub mod openplatform;
pub mod presence;
pub mod profiles;
pub mod services;
pub mod sms;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor};
use std::time::Duration;

/// Which engine a [`Store`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Errors the API layer matches on; everything else is `Backend` and becomes a 500 there.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("unsupported database URL '{0}': use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    #[error("database error: {0}")]
    Backend(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// Maps unique-constraint violations to `Conflict` so callers can tell "already there".
    fn from_write(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            if db.is_unique_violation() {
                return StoreError::Conflict(db.message().to_string());
            }
        }
        StoreError::Backend(e)
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// How SQLite makes a commit durable (`PRAGMA synchronous`); PostgreSQL ignores it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SqliteSync {
    /// WAL with `synchronous=NORMAL`: a commit survives the process being killed; an OS crash
    /// or power loss may lose the last commits. No fsync per commit.
    #[default]
    Normal,
    /// `synchronous=FULL`: every commit is fsynced before it returns, so it also survives power
    /// loss. With group commit the cost is one fsync per batch, not per message.
    Full,
}

impl SqliteSync {
    fn pragma(self) -> &'static str {
        match self {
            SqliteSync::Normal => "NORMAL",
            SqliteSync::Full => "FULL",
        }
    }
}

/// A handle to the database; cheap to clone (the pool is shared).
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Opens (creating it when it is a SQLite file) and migrates the database at `url`.
    pub async fn open(url: &str) -> Result<Self> {
        Self::open_with(url, SqliteSync::default()).await
    }

    /// [`Store::open`] with the SQLite durability level chosen.
    pub async fn open_with(url: &str, sync: SqliteSync) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(redact_url(url)));
        };
        let options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        let pool = match backend {
            Backend::Sqlite => {
                let url = if url.contains('?') {
                    url.to_string()
                } else {
                    format!("{url}?mode=rwc")
                };
                options
                    // One writer at a time is SQLite's model; a few readers run beside it in WAL.
                    // Statement journals (multi-row inserts inside a transaction) stay in memory
                    // rather than in temp files; each connection caches up to 16 MB of pages (the
                    // default 2 MB made the message writer re-read index pages); the WAL is
                    // checkpointed every 8,000 pages (32 MB) rather than 1,000, so hot pages are
                    // copied back once per many commits (measured: +15% message throughput).
                    .max_connections(8)
                    .after_connect(move |conn, _| {
                        Box::pin(async move {
                            conn.execute(
                                format!(
                                    "PRAGMA journal_mode=WAL; PRAGMA synchronous={}; \
                                     PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON; \
                                     PRAGMA temp_store=MEMORY; PRAGMA cache_size=-16384; PRAGMA wal_autocheckpoint=8000;",
                                    sync.pragma()
                                )
                                .as_str(),
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await?
            }
            Backend::Postgres => options.max_connections(16).connect(url).await?,
        };
        let store = Store { pool, backend };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => {
                sqlx::migrate!("./migrations/sqlite")
                    .run(&self.pool)
                    .await?
            }
            Backend::Postgres => {
                sqlx::migrate!("./migrations/postgres")
                    .run(&self.pool)
                    .await?
            }
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// For readiness probes: one round trip to the database.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Placeholders for a statement built at run time with many parameters.
    pub(crate) fn marks(&self) -> Marks {
        Marks {
            numbered: self.backend == Backend::Postgres,
            next: 0,
        }
    }
}

/// Bind placeholders for statements with many parameters (multi-row inserts, long `IN` lists),
/// each parameter used once, in bind order: `$1, $2, …` on PostgreSQL, anonymous `?` on SQLite.
///
/// Why not `$N` on SQLite too: sqlx asks SQLite for each parameter's name, and SQLite finds it
/// by walking the statement's parameter list, so binding N named parameters costs O(N²) — a fifth
/// of the message writer's CPU at 4,000 parameters. Anonymous parameters bind by position.
pub(crate) struct Marks {
    numbered: bool,
    next: usize,
}

impl Marks {
    /// The next placeholder.
    pub(crate) fn next_mark(&mut self) -> String {
        self.next += 1;
        if self.numbered {
            format!("${}", self.next)
        } else {
            "?".to_string()
        }
    }

    /// `n` placeholders separated by commas, for `IN (…)`.
    pub(crate) fn list(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| self.next_mark())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `rows` parenthesised groups of `width` placeholders, for `VALUES …`.
    pub(crate) fn tuples(&mut self, rows: usize, width: usize) -> String {
        (0..rows)
            .map(|_| format!("({})", self.list(width)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Hides the password of a database URL in logs and errors.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &creds[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Runs `INSERT/UPDATE/DELETE … RETURNING` to completion.
///
/// Why not `fetch_one` / `fetch_optional`: those stop after the first row and reset the
/// statement. On SQLite the write then commits inside the reset, which skips the WAL hook, so the
/// automatic checkpoint never runs and the WAL file grows without bound under a workload of such
/// writes (seen in the services benchmark: 1.3 GB of WAL after 100,000 sign-ups, with every
/// commit slowing down). Stepping the statement until SQLITE_DONE keeps checkpoints running.
pub(crate) trait Returning<'q> {
    /// The single row a `RETURNING` write produced; `RowNotFound` when it touched no row.
    async fn returning_one<'e, 'c: 'e, E>(self, executor: E) -> Result<AnyRow, sqlx::Error>
    where
        'q: 'e,
        E: 'e + Executor<'c, Database = sqlx::Any>;

    /// The row a `RETURNING` write produced, if it touched one.
    async fn returning_optional<'e, 'c: 'e, E>(
        self,
        executor: E,
    ) -> Result<Option<AnyRow>, sqlx::Error>
    where
        'q: 'e,
        E: 'e + Executor<'c, Database = sqlx::Any>;
}

impl<'q> Returning<'q> for sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    async fn returning_one<'e, 'c: 'e, E>(self, executor: E) -> Result<AnyRow, sqlx::Error>
    where
        'q: 'e,
        E: 'e + Executor<'c, Database = sqlx::Any>,
    {
        self.returning_optional(executor)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }

    async fn returning_optional<'e, 'c: 'e, E>(
        self,
        executor: E,
    ) -> Result<Option<AnyRow>, sqlx::Error>
    where
        'q: 'e,
        E: 'e + Executor<'c, Database = sqlx::Any>,
    {
        Ok(self.fetch_all(executor).await?.into_iter().next())
    }
}

/// Reads an optional column, treating SQL NULL as `None`.
pub(crate) fn opt<T>(row: &AnyRow, col: &str) -> Result<Option<T>>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    use sqlx::Row;
    Ok(row.try_get::<Option<T>, _>(col)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_have_the_same_migrations() {
        let list = |dir: &str| {
            let mut names: Vec<String> =
                std::fs::read_dir(format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR")))
                    .unwrap()
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect();
            names.sort();
            names
        };
        assert_eq!(list("sqlite"), list("postgres"));
        assert!(!list("sqlite").is_empty());
    }

    #[tokio::test]
    async fn sqlite_durability_level_reaches_every_connection() {
        use sqlx::Row;
        let dir = std::env::temp_dir().join(format!("rbstore-sync-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (sync, expected) in [(SqliteSync::Normal, 1), (SqliteSync::Full, 2)] {
            let url = format!("sqlite://{}/{expected}.db", dir.display());
            let store = Store::open_with(&url, sync).await.unwrap();
            let row = sqlx::query("PRAGMA synchronous")
                .fetch_one(store.pool())
                .await
                .unwrap();
            assert_eq!(row.try_get::<i64, _>(0).unwrap(), expected, "{sync:?}");
            store.close().await;
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://rb:secret@db/ringbook"),
            "postgres://rb:***@db/ringbook"
        );
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
    }
}
