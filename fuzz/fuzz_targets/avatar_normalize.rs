//! A picture a user uploads (`PUT /v1/me/avatar`) or sends by MMS: sniffing, header checks,
//! decoding under limits, EXIF rotation, resizing and JPEG encoding. The pixel cap is small so
//! each run stays fast; the limits' logic is the same at any size.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringbook_avatar::{normalize, AvatarStandard};

fuzz_target!(|data: &[u8]| {
    let standard = AvatarStandard {
        max_bytes: 4 * 1024,
        max_dimension: 48,
        min_dimension: 8,
        thumbnail_dimension: 16,
        square_crop: data.len() % 2 == 0,
        max_input_pixels: 128 * 128,
        max_input_bytes: 256 * 1024,
        // RGBA at the pixel cap: a 16-bit picture (8 bytes a pixel) meets the decoded-size check.
        max_decoded_bytes: 128 * 128 * 4,
        jpeg_quality: 85,
    };
    if let Ok(avatar) = normalize(data, &standard) {
        assert!(avatar.jpeg.len() <= standard.max_bytes);
        assert!(avatar.width <= standard.max_dimension && avatar.height <= standard.max_dimension);
    }
});
