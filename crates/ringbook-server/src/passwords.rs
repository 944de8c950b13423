//! Password hashing (argon2id) through one bounded, fair pool for the whole server.
//!
//! argon2 costs ~19 MiB and tens of milliseconds per call by design. Unbounded, a few hundred
//! concurrent requests grow the process by gigabytes and starve everybody's blocking work, so:
//! at most `workers` hashes run at once (memory ≤ workers × 19 MiB), at most `queue` more
//! wait (fairly, in arrival order: tokio's semaphore is FIFO), one caller key (a user, an
//! account) has at most one hash running or waiting, and everything beyond that is refused at
//! once with "busy" instead of queueing without end.

use crate::error::ApiError;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use tokio::sync::Semaphore;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordConfig {
    /// Hashes computed at once (each takes ~19 MiB): default 2.
    pub workers: usize,
    /// Hashes allowed to wait for a worker; more are refused with `busy`.
    pub queue: usize,
}

impl Default for PasswordConfig {
    fn default() -> Self {
        PasswordConfig {
            workers: 2,
            queue: 32,
        }
    }
}

pub struct Passwords {
    permits: Semaphore,
    waiting: AtomicUsize,
    queue: usize,
    /// Keys with a hash running or waiting.
    busy: Mutex<HashSet<String>>,
}

/// Frees the caller's key and the queue place when the hash ends or the request is dropped.
struct Slot<'a> {
    pool: &'a Passwords,
    key: String,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.pool.waiting.fetch_sub(1, Ordering::SeqCst);
        if let Ok(mut busy) = self.pool.busy.lock() {
            busy.remove(&self.key);
        }
    }
}

fn busy(message: &str) -> ApiError {
    ApiError::rate_limited("busy", message.to_string(), 1)
}

impl Passwords {
    pub fn new(cfg: &PasswordConfig) -> Passwords {
        Passwords {
            permits: Semaphore::new(cfg.workers.max(1)),
            waiting: AtomicUsize::new(0),
            queue: cfg.workers.max(1) + cfg.queue,
            busy: Mutex::new(HashSet::new()),
        }
    }

    /// Takes the caller's place: refused at once when the key already has one or the queue
    /// is full, otherwise waits (in arrival order) for a worker. Callers that must count a try
    /// before checking it (the rescue password) reserve first, so a refusal costs no try.
    pub async fn reserve(&self, key: &str) -> Result<Reservation<'_>, ApiError> {
        {
            let mut keys = self
                .busy
                .lock()
                .map_err(|_| ApiError::Internal(anyhow::anyhow!("password pool poisoned")))?;
            if !keys.insert(key.to_string()) {
                return Err(busy(
                    "a password check for this account is already running; wait for it",
                ));
            }
        }
        let slot = Slot {
            pool: self,
            key: key.to_string(),
        };
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.queue {
            drop(slot);
            return Err(busy(
                "the server is busy checking passwords; try again in a moment",
            ));
        }
        let permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| ApiError::Internal(anyhow::anyhow!("password pool closed")))?;
        Ok(Reservation {
            _slot: slot,
            _permit: permit,
        })
    }

    /// Hashes a new password (argon2id, random salt, OWASP's default parameters).
    pub async fn hash(&self, key: &str, password: String) -> Result<String, ApiError> {
        self.reserve(key).await?.hash(password).await
    }

    /// Constant-time verification inside argon2.
    pub async fn verify(
        &self,
        key: &str,
        password: String,
        hash: String,
    ) -> Result<bool, ApiError> {
        self.reserve(key).await?.verify(password, hash).await
    }
}

/// A worker reserved for one caller; used up by one hash or verification.
pub struct Reservation<'a> {
    _slot: Slot<'a>,
    _permit: tokio::sync::SemaphorePermit<'a>,
}

impl Reservation<'_> {
    async fn run<T: Send + 'static>(
        self,
        work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let result = tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| ApiError::Internal(e.into()))?;
        drop(self);
        result
    }

    pub async fn hash(self, password: String) -> Result<String, ApiError> {
        self.run(move || {
            let salt = SaltString::generate(&mut rand::rngs::OsRng);
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| ApiError::Internal(anyhow::anyhow!("argon2: {e}")))
        })
        .await
    }

    pub async fn verify(self, password: String, hash: String) -> Result<bool, ApiError> {
        self.run(move || {
            let parsed = PasswordHash::new(&hash)
                .map_err(|e| ApiError::Internal(anyhow::anyhow!("stored hash unreadable: {e}")))?;
            Ok(Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn one_key_runs_one_hash_at_a_time_and_the_queue_is_bounded() {
        let pool = Arc::new(Passwords::new(&PasswordConfig {
            workers: 1,
            queue: 2,
        }));
        // Same key, at the same instant: one runs, the rest are refused.
        let same = futures_util::future::join_all(
            (0..20).map(|_| pool.hash("user-1", "a long secret".into())),
        )
        .await;
        assert_eq!(same.iter().filter(|r| r.is_ok()).count(), 1);
        // Different keys: workers + queue get a place, the rest are refused with busy.
        let many = futures_util::future::join_all((0..20).map(|i| {
            let pool = pool.clone();
            async move {
                pool.hash(&format!("user-{i}"), "a long secret".into())
                    .await
            }
        }))
        .await;
        let ok = many.iter().filter(|r| r.is_ok()).count();
        assert_eq!(ok, 3, "1 worker + 2 waiting");
        let hash = pool.hash("user-1", "pw-12345678".into()).await.unwrap();
        assert!(pool
            .verify("user-1", "pw-12345678".into(), hash.clone())
            .await
            .unwrap());
        assert!(!pool.verify("user-1", "wrong".into(), hash).await.unwrap());
    }
}
