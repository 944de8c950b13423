//! The avatar standard (MM-5) applied to an upload: decoding a camera photo takes tens of
//! milliseconds of CPU, so it runs on the blocking pool, never on the async threads.
//!
//! Conversions are expensive (up to `max_decoded_bytes` of memory and a second of CPU each), so
//! they go through a small fair pool ([`ConversionPool`]): at most `profiles.avatar_conversions`
//! at once, first come first served, a caller waits at most `profiles.avatar_queue_secs` for
//! its turn, and one user has at most one conversion running or waiting (the next one gets 429
//! with `retry_after_secs`).

use crate::error::ApiError;
use crate::state::AppState;
use ringbook_avatar::{normalize, AvatarError};
use ringbook_store::profiles::NewAvatar;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;

/// Why a picture was refused: a stable code and a sentence for the sender.
#[derive(Debug, Clone)]
pub struct Refused {
    pub code: &'static str,
    pub reason: String,
    /// The sender can fix it (as opposed to a server problem).
    pub sender_fault: bool,
    /// Not refused for the picture but for the load: try again after this many seconds.
    pub retry_after_secs: Option<u64>,
}

impl Refused {
    pub fn into_api(self) -> ApiError {
        if let Some(secs) = self.retry_after_secs {
            return ApiError::rate_limited(self.code, self.reason, secs);
        }
        if !self.sender_fault {
            return ApiError::Internal(anyhow::anyhow!("avatar: {}", self.reason));
        }
        if self.code == "avatar_too_large" {
            return ApiError::TooLarge {
                message: format!("{}; send a smaller picture", self.reason),
            };
        }
        ApiError::bad_request(self.code, format!("{}; send another picture", self.reason))
    }

    fn busy(reason: &str, retry_after_secs: u64) -> Self {
        Refused {
            code: "avatar_busy",
            reason: reason.into(),
            sender_fault: false,
            retry_after_secs: Some(retry_after_secs),
        }
    }
}

impl From<AvatarError> for Refused {
    fn from(e: AvatarError) -> Self {
        Refused {
            code: e.code(),
            reason: e.to_string(),
            sender_fault: e.is_sender_fault(),
            retry_after_secs: None,
        }
    }
}

/// Bounds avatar conversions: a fair (FIFO) semaphore, and one conversion per user.
pub struct ConversionPool {
    permits: Arc<Semaphore>,
    queue_wait: Duration,
    users: Arc<Mutex<HashSet<i64>>>,
}

fn lock(users: &Mutex<HashSet<i64>>) -> std::sync::MutexGuard<'_, HashSet<i64>> {
    // Single insert/remove per critical section: a poisoned set is still consistent.
    users.lock().unwrap_or_else(|p| p.into_inner())
}

/// A user's place in the pool; frees it when dropped.
struct UserSlot {
    users: Arc<Mutex<HashSet<i64>>>,
    user: i64,
}

impl Drop for UserSlot {
    fn drop(&mut self) {
        lock(&self.users).remove(&self.user);
    }
}

impl ConversionPool {
    pub fn new(conversions: usize, queue_secs: u64) -> Self {
        ConversionPool {
            permits: Arc::new(Semaphore::new(conversions.max(1))),
            queue_wait: Duration::from_secs(queue_secs.max(1)),
            users: Arc::new(Mutex::new(HashSet::new())),
        }
    }

    /// Runs `work` on the blocking pool when the pool has room; `user` (when given) may have
    /// only one conversion running or waiting.
    async fn run<T: Send + 'static>(
        &self,
        user: Option<i64>,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Refused> {
        let slot = match user {
            Some(user) => {
                if !lock(&self.users).insert(user) {
                    return Err(Refused::busy(
                        "your previous picture is still being processed; wait for it",
                        1,
                    ));
                }
                Some(UserSlot {
                    users: self.users.clone(),
                    user,
                })
            }
            None => None,
        };
        let acquire = self.permits.clone().acquire_owned();
        let permit = match tokio::time::timeout(self.queue_wait, acquire).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) | Err(_) => {
                return Err(Refused::busy(
                    "the server is processing many pictures; try again shortly",
                    self.queue_wait.as_secs().max(1),
                ))
            }
        };
        // The permit and the user's slot go with the work: a caller that gives up (a dropped
        // request) does not stop `spawn_blocking`, and must not free the place before it ends.
        tokio::task::spawn_blocking(move || {
            let out = work();
            drop((permit, slot));
            out
        })
        .await
        .map_err(|e| Refused {
            code: "avatar_internal",
            reason: format!("the picture could not be processed ({e})"),
            sender_fault: false,
            retry_after_secs: None,
        })
    }
}

/// Turns an uploaded picture into the stored standard avatar, or says why not. `user` is the
/// uploader when one user may wait for only one conversion at a time (the HTTP upload; MMS come
/// from the operator's MMSC, which paces itself).
pub async fn standardise(
    state: &AppState,
    user: Option<i64>,
    input: Vec<u8>,
) -> Result<NewAvatar, Refused> {
    let standard = state.config.profiles.avatar.clone();
    let result = state
        .avatars
        .run(user, move || normalize(&input, &standard))
        .await?;
    let a = result?;
    Ok(NewAvatar {
        avatar_id: hex::encode(Sha256::digest(&a.jpeg)),
        width: i64::from(a.width),
        height: i64::from(a.height),
        thumb_width: i64::from(a.thumb_width),
        thumb_height: i64::from(a.thumb_height),
        jpeg: a.jpeg,
        thumb: a.thumbnail_jpeg,
    })
}
