//! The server-configured avatar standard (MM-5).

use serde::{Deserialize, Serialize};

/// Avatar standard configured on the server (MM-5): output size in bytes, output and minimum
/// resolution, thumbnail size, input safety limits and JPEG quality.
///
/// Deserializable with every field optional (`#[serde(default)]`), so the server can embed it in
/// its TOML configuration, e.g.
///
/// ```toml
/// [avatar]
/// max_bytes = 51200
/// max_dimension = 480
/// ```
///
/// Unknown keys are rejected so that a typo in the configuration is not silently ignored.
/// Call [`AvatarStandard::validate`] after loading; [`crate::normalize`] also checks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AvatarStandard {
    /// Maximum size of the output avatar JPEG in bytes.
    pub max_bytes: usize,
    /// Output avatars are scaled down so that neither side exceeds this (never scaled up).
    pub max_dimension: u32,
    /// Pictures smaller than this on either side (after EXIF rotation) are refused.
    pub min_dimension: u32,
    /// Side of the square thumbnail JPEG.
    pub thumbnail_dimension: u32,
    /// Center-crop the avatar to a square.
    pub square_crop: bool,
    /// Refuse inputs whose header declares more pixels than this (decompression bombs).
    pub max_input_pixels: u64,
    /// Refuse inputs larger than this many bytes before looking at them.
    pub max_input_bytes: usize,
    /// Refuse inputs whose decoded pixels (width × height × bytes per pixel, e.g. 6 for 16-bit
    /// RGB) would take more than this many bytes, before decoding. Bounds the memory of one
    /// conversion: a 16-bit picture under the pixel limit would otherwise need hundreds of MB.
    pub max_decoded_bytes: u64,
    /// Starting JPEG quality (1–100); lowered stepwise when the output is too large.
    pub jpeg_quality: u8,
}

impl Default for AvatarStandard {
    fn default() -> Self {
        Self {
            max_bytes: 100 * 1024,
            max_dimension: 640,
            min_dimension: 64,
            thumbnail_dimension: 96,
            square_crop: true,
            max_input_pixels: 40_000_000,
            max_input_bytes: 10 * 1024 * 1024,
            // A 40-megapixel 8-bit RGB photo (the pixel limit) fits; 16-bit ones up to 22 MP.
            max_decoded_bytes: 128 * 1024 * 1024,
            jpeg_quality: 85,
        }
    }
}

/// Smallest `max_bytes` accepted by [`AvatarStandard::validate`]: below this not even a
/// `min_dimension` JPEG with its headers reliably fits.
pub const MIN_MAX_BYTES: usize = 2 * 1024;

/// Largest output side accepted by [`AvatarStandard::validate`] (guards against configurations
/// that would make the server allocate huge output buffers).
pub const MAX_OUTPUT_DIMENSION: u32 = 8192;

/// An impossible or unsafe [`AvatarStandard`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StandardError {
    #[error("min_dimension ({min}) must be at least 1 and at most max_dimension ({max})")]
    DimensionRange { min: u32, max: u32 },
    #[error("max_dimension ({0}) must be at most {MAX_OUTPUT_DIMENSION}")]
    MaxDimensionTooLarge(u32),
    #[error("thumbnail_dimension ({0}) must be between 1 and {MAX_OUTPUT_DIMENSION}")]
    ThumbnailDimension(u32),
    #[error("jpeg_quality ({0}) must be between 1 and 100")]
    JpegQuality(u8),
    #[error("max_bytes ({0}) must be at least {MIN_MAX_BYTES}")]
    MaxBytesTooSmall(usize),
    #[error("max_input_bytes ({0}) must be at least 1")]
    MaxInputBytesZero(usize),
    #[error(
        "max_decoded_bytes ({bytes}) must allow at least a min_dimension × min_dimension RGBA \
         picture ({needed} bytes)"
    )]
    MaxDecodedBytesTooSmall { bytes: u64, needed: u64 },
    #[error(
        "max_input_pixels ({pixels}) must allow at least a min_dimension × min_dimension picture \
         ({needed} pixels)"
    )]
    MaxInputPixelsTooSmall { pixels: u64, needed: u64 },
}

impl AvatarStandard {
    /// Checks that the standard can be met at all (e.g. `min_dimension <= max_dimension`).
    pub fn validate(&self) -> Result<(), StandardError> {
        if self.min_dimension == 0 || self.min_dimension > self.max_dimension {
            return Err(StandardError::DimensionRange {
                min: self.min_dimension,
                max: self.max_dimension,
            });
        }
        if self.max_dimension > MAX_OUTPUT_DIMENSION {
            return Err(StandardError::MaxDimensionTooLarge(self.max_dimension));
        }
        if self.thumbnail_dimension == 0 || self.thumbnail_dimension > MAX_OUTPUT_DIMENSION {
            return Err(StandardError::ThumbnailDimension(self.thumbnail_dimension));
        }
        if !(1..=100).contains(&self.jpeg_quality) {
            return Err(StandardError::JpegQuality(self.jpeg_quality));
        }
        if self.max_bytes < MIN_MAX_BYTES {
            return Err(StandardError::MaxBytesTooSmall(self.max_bytes));
        }
        if self.max_input_bytes == 0 {
            return Err(StandardError::MaxInputBytesZero(self.max_input_bytes));
        }
        let needed = u64::from(self.min_dimension) * u64::from(self.min_dimension);
        if self.max_decoded_bytes < needed * 4 {
            return Err(StandardError::MaxDecodedBytesTooSmall {
                bytes: self.max_decoded_bytes,
                needed: needed * 4,
            });
        }
        if self.max_input_pixels < needed {
            return Err(StandardError::MaxInputPixelsTooSmall {
                pixels: self.max_input_pixels,
                needed,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        assert_eq!(AvatarStandard::default().validate(), Ok(()));
    }

    #[test]
    fn impossible_settings_are_rejected() {
        let base = AvatarStandard::default();
        let cases = [
            AvatarStandard {
                min_dimension: 700,
                ..base.clone()
            },
            AvatarStandard {
                min_dimension: 0,
                ..base.clone()
            },
            AvatarStandard {
                max_dimension: 100_000,
                ..base.clone()
            },
            AvatarStandard {
                thumbnail_dimension: 0,
                ..base.clone()
            },
            AvatarStandard {
                jpeg_quality: 0,
                ..base.clone()
            },
            AvatarStandard {
                jpeg_quality: 101,
                ..base.clone()
            },
            AvatarStandard {
                max_bytes: 10,
                ..base.clone()
            },
            AvatarStandard {
                max_input_bytes: 0,
                ..base.clone()
            },
            AvatarStandard {
                max_input_pixels: 100,
                ..base.clone()
            },
        ];
        for case in cases {
            assert!(case.validate().is_err(), "{case:?} should be invalid");
        }
    }

    #[test]
    fn deserializes_partial_config_with_defaults() {
        let s: AvatarStandard =
            serde_json::from_str(r#"{"max_bytes": 51200, "square_crop": false}"#)
                .expect("valid config");
        assert_eq!(s.max_bytes, 51200);
        assert!(!s.square_crop);
        assert_eq!(s.max_dimension, 640);
        assert_eq!(s.jpeg_quality, 85);
    }

    #[test]
    fn rejects_unknown_keys() {
        assert!(serde_json::from_str::<AvatarStandard>(r#"{"max_byte": 1}"#).is_err());
    }
}
