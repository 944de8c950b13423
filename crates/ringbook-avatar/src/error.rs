//! Errors with messages meant to be sent back to the phone user (MM-6 prompts).

use crate::standard::StandardError;

/// Why an uploaded picture could not be turned into an avatar.
///
/// `Display` gives a short message suitable to send back to the phone (by MM7 SubmitReq or SMS);
/// [`AvatarError::code`] gives a stable machine-readable code for APIs, logs and metrics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AvatarError {
    /// The upload is larger than `max_input_bytes`; it was not looked at.
    #[error("the picture is {}; the limit is {}", human_bytes(*.bytes), human_bytes(*.limit))]
    InputTooLarge { bytes: usize, limit: usize },

    /// Not one of the accepted formats. `kind` is what the bytes look like ("HEIC", "PDF",
    /// "unknown", …) or the format whose variant the decoder does not support.
    #[error(
        "{kind} pictures are not supported; please send a JPEG, PNG, GIF, BMP or WebP picture"
    )]
    Unsupported { kind: String },

    /// The header declares more pixels than `max_input_pixels` (or decoding would need more
    /// memory than the limits allow): a possible decompression bomb. Refused before decoding.
    #[error("{}", bomb_message(*.dimensions, *.limit_pixels))]
    Bomb {
        dimensions: Option<(u32, u32)>,
        limit_pixels: u64,
    },

    /// Decoding would take more than `max_decoded_bytes` of memory (pixels × bytes per pixel,
    /// e.g. a 16-bit picture under the pixel limit): refused before decoding, code `avatar_bomb`.
    #[error(
        "the picture is {width}×{height} pixels at {bytes_per_pixel} bytes per pixel and would \
         need {} to open; the limit is {} (send a smaller or 8-bit picture)",
        human_bytes(usize::try_from(*.bytes).unwrap_or(usize::MAX)),
        human_bytes(usize::try_from(*.limit).unwrap_or(usize::MAX))
    )]
    DecodedTooLarge {
        width: u32,
        height: u32,
        bytes_per_pixel: u64,
        bytes: u64,
        limit: u64,
    },

    /// The data is damaged, truncated or otherwise undecodable. `reason` is a short
    /// explanation (for logs; it is also appended to the message).
    #[error("the picture is damaged or incomplete ({reason})")]
    Corrupt { reason: String },

    /// Smaller than `min_dimension` on at least one side (after EXIF rotation).
    #[error("the picture is {width}×{height} pixels; it must be at least {min}×{min}")]
    TooSmall { width: u32, height: u32, min: u32 },

    /// Even at the lowest quality and the minimum size the JPEG exceeds `max_bytes`.
    #[error(
        "the picture could not be compressed below {} (the smallest attempt was {}); \
         please send a simpler picture",
        human_bytes(*.max_bytes),
        human_bytes(*.smallest_bytes)
    )]
    TooLargeAfterCompression {
        max_bytes: usize,
        smallest_bytes: usize,
    },

    /// The server's [`crate::AvatarStandard`] is impossible to meet (configuration error).
    #[error("the server's avatar settings are invalid: {0}")]
    InvalidStandard(#[from] StandardError),

    /// Resizing or encoding failed for a reason that is not the sender's fault.
    #[error("the picture could not be processed because of a server error ({reason})")]
    Internal { reason: String },
}

impl AvatarError {
    /// Stable code for APIs, logs and metrics. Never changes for a given variant.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InputTooLarge { .. } => "avatar_too_large",
            Self::Unsupported { .. } => "avatar_unsupported_type",
            Self::Bomb { .. } | Self::DecodedTooLarge { .. } => "avatar_bomb",
            Self::Corrupt { .. } => "avatar_corrupt",
            Self::TooSmall { .. } => "avatar_too_small",
            Self::TooLargeAfterCompression { .. } => "avatar_too_large_after_compression",
            Self::InvalidStandard(_) => "avatar_config_invalid",
            Self::Internal { .. } => "avatar_internal",
        }
    }

    /// Whether the sender can fix this by sending another picture (as opposed to a server
    /// configuration or internal problem).
    pub fn is_sender_fault(&self) -> bool {
        !matches!(self, Self::InvalidStandard(_) | Self::Internal { .. })
    }
}

fn bomb_message(dimensions: Option<(u32, u32)>, limit_pixels: u64) -> String {
    match dimensions {
        Some((w, h)) => format!(
            "the picture is {w}×{h} pixels; the limit is {}",
            megapixels(limit_pixels)
        ),
        None => format!(
            "the picture is too large to process; the limit is {}",
            megapixels(limit_pixels)
        ),
    }
}

/// "40 megapixels", "2.5 megapixels", "500000 pixels".
pub(crate) fn megapixels(pixels: u64) -> String {
    if pixels < 1_000_000 {
        return format!("{pixels} pixels");
    }
    let tenths = pixels / 100_000;
    if tenths % 10 == 0 {
        format!("{} megapixels", tenths / 10)
    } else {
        format!("{}.{} megapixels", tenths / 10, tenths % 10)
    }
}

/// "512 bytes", "100 KB", "12.3 MB" (binary units, one decimal when useful).
pub(crate) fn human_bytes(n: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * 1024;
    let (unit, name) = if n >= MIB {
        (MIB, "MB")
    } else if n >= KIB {
        (KIB, "KB")
    } else {
        return format!("{n} bytes");
    };
    let tenths = n * 10 / unit;
    if tenths % 10 == 0 || tenths >= 1000 {
        format!("{} {name}", tenths / 10)
    } else {
        format!("{}.{} {name}", tenths / 10, tenths % 10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_human() {
        let e = AvatarError::Bomb {
            dimensions: Some((12000, 12000)),
            limit_pixels: 40_000_000,
        };
        assert_eq!(
            e.to_string(),
            "the picture is 12000×12000 pixels; the limit is 40 megapixels"
        );
        assert_eq!(e.code(), "avatar_bomb");

        let e = AvatarError::InputTooLarge {
            bytes: 12 * 1024 * 1024 + 300 * 1024,
            limit: 10 * 1024 * 1024,
        };
        assert_eq!(e.to_string(), "the picture is 12.2 MB; the limit is 10 MB");
        assert_eq!(e.code(), "avatar_too_large");

        let e = AvatarError::TooSmall {
            width: 10,
            height: 10,
            min: 64,
        };
        assert_eq!(
            e.to_string(),
            "the picture is 10×10 pixels; it must be at least 64×64"
        );

        let e = AvatarError::Unsupported {
            kind: "HEIC".into(),
        };
        assert!(e.to_string().starts_with("HEIC pictures are not supported"));
        assert_eq!(e.code(), "avatar_unsupported_type");
    }

    #[test]
    fn unit_formatting() {
        assert_eq!(megapixels(2_500_000), "2.5 megapixels");
        assert_eq!(megapixels(999), "999 pixels");
        assert_eq!(human_bytes(100 * 1024), "100 KB");
        assert_eq!(human_bytes(1536), "1.5 KB");
        assert_eq!(human_bytes(12), "12 bytes");
    }
}
