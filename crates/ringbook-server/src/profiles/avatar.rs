//! The avatar standard (MM-5) applied to an upload: decoding a camera photo takes tens of
//! milliseconds of CPU, so it runs on the blocking pool, never on the async threads.

use crate::error::ApiError;
use crate::state::AppState;
use ringbook_avatar::{normalize, AvatarError};
use ringbook_store::profiles::NewAvatar;
use sha2::{Digest, Sha256};

/// Why a picture was refused: a stable code and a sentence for the sender.
#[derive(Debug, Clone)]
pub struct Refused {
    pub code: &'static str,
    pub reason: String,
    /// The sender can fix it (as opposed to a server problem).
    pub sender_fault: bool,
}

impl Refused {
    pub fn into_api(self) -> ApiError {
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
}

impl From<AvatarError> for Refused {
    fn from(e: AvatarError) -> Self {
        Refused {
            code: e.code(),
            reason: e.to_string(),
            sender_fault: e.is_sender_fault(),
        }
    }
}

/// Turns an uploaded picture into the stored standard avatar, or says why not.
pub async fn standardise(state: &AppState, input: Vec<u8>) -> Result<NewAvatar, Refused> {
    let standard = state.config.profiles.avatar.clone();
    let result = tokio::task::spawn_blocking(move || normalize(&input, &standard))
        .await
        .map_err(|e| Refused {
            code: "avatar_internal",
            reason: format!("the picture could not be processed ({e})"),
            sender_fault: false,
        })?;
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
