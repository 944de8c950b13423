//! The body of every failed HTTP request and of WebSocket `error` frames.

use serde::{Deserialize, Serialize};

/// `code` is stable and machine-readable (snake_case); `message` is a sentence for people that
/// says what to do next.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    /// Seconds to wait before trying again, for rate limits and lock-outs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
}
