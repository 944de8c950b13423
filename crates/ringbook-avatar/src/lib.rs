//! Turns an untrusted uploaded picture (from an MMS or an HTTP upload) into a Ringbook standard
//! avatar: a metadata-free JPEG within the server's [`AvatarStandard`] (MM-5), plus a square
//! thumbnail.
//!
//! Pure library: no I/O, no async. Call [`normalize`] from a blocking context
//! (e.g. `spawn_blocking`) since decoding a large photo takes tens of milliseconds.
//!
//! # Pipeline and why each step exists
//!
//! 1. **Input byte limit** (`max_input_bytes`) — refuse oversized uploads before touching them,
//!    so a sender cannot make the server parse hundreds of megabytes.
//! 2. **Format sniffing from magic bytes** — JPEG, PNG, GIF, BMP or WebP. The declared MIME type
//!    and file name are sender-controlled and ignored; anything else (HEIC, 3GP video, PDF, …)
//!    is refused as [`AvatarError::Unsupported`] with what it looks like, so the prompt can tell
//!    the user what went wrong.
//! 3. **Decompression-bomb check** (safety) — the dimensions are read from the header *without
//!    decoding* and the picture is refused when `width × height > max_input_pixels`, or when
//!    its decoded size in bytes (pixels × bytes per pixel, from the decoder's header) exceeds
//!    `max_decoded_bytes`: a 6300×6300 16-bit PNG is under the pixel limit but needs 238 MB. A 50 KB
//!    PNG can declare 100000×100000 pixels (40 GB of RGBA). The decoder additionally runs under
//!    [`image::Limits`] (maximum width/height and a maximum allocation), and its own view of
//!    the dimensions is checked again, as defence in depth against header parsing mismatches.
//! 4. **Decode** — damaged or truncated data becomes [`AvatarError::Corrupt`] with a reason.
//!    Only the first frame of an animated GIF/WebP is used.
//! 5. **EXIF orientation** — phone cameras store pixels sideways and record the rotation in
//!    EXIF; since the output carries no EXIF, the rotation is applied to the pixels (JPEG, and
//!    PNG/WebP when they carry EXIF).
//! 6. **Minimum size** — pictures smaller than `min_dimension` on either side are refused: they
//!    would look like noise when displayed.
//! 7. **Alpha flattening** onto white and conversion to 8-bit RGB — JPEG has no alpha and a
//!    transparent logo would otherwise turn black.
//! 8. **Center square crop** (if `square_crop`) and **resize** with `fast_image_resize`
//!    (Lanczos3, SIMD) to fit `max_dimension`. Never upscaled.
//! 9. **JPEG encoding from pixels** at `jpeg_quality`. If the result exceeds `max_bytes`, the
//!    quality is lowered stepwise (85, 75, 65, 55, 45), then the picture is scaled down by 0.8
//!    steps (not below `min_dimension`) until it fits, else
//!    [`AvatarError::TooLargeAfterCompression`].
//!
//!    **Privacy:** because the output is re-encoded from raw pixels, it carries no metadata at
//!    all — no EXIF, no GPS position of where the photo was taken, no camera serial number, no
//!    XMP/IPTC, no ICC profile, no trailing data appended to the original file.
//! 10. **Thumbnail** — a square `thumbnail_dimension` JPEG center-cropped from the avatar.
//!
//! ```no_run
//! use ringbook_avatar::{normalize, AvatarStandard};
//! # let upload: Vec<u8> = vec![];
//! match normalize(&upload, &AvatarStandard::default()) {
//!     Ok(avatar) => { /* store avatar.jpeg and avatar.thumbnail_jpeg */ }
//!     Err(e) => eprintln!("{}: {e}", e.code()), // send `e` back to the phone
//! }
//! ```
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod error;
mod sniff;
mod standard;

use std::io::Cursor;

use fast_image_resize::images::{Image as FirImage, ImageRef as FirImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::codecs::jpeg::JpegEncoder;
use image::error::LimitErrorKind;
use image::{DynamicImage, ExtendedColorType, ImageDecoder, ImageError, ImageReader, Limits};

pub use error::AvatarError;
pub use sniff::{header_dimensions, sniff, SourceFormat};
pub use standard::{AvatarStandard, StandardError, MAX_OUTPUT_DIMENSION, MIN_MAX_BYTES};

/// A standard avatar: baseline JPEG without any metadata, plus a square thumbnail.
#[derive(Clone, PartialEq, Eq)]
pub struct Avatar {
    /// The avatar JPEG, at most `max_bytes` long.
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
    /// Square thumbnail JPEG, `thumbnail_dimension` on each side.
    pub thumbnail_jpeg: Vec<u8>,
    pub thumb_width: u32,
    pub thumb_height: u32,
    /// Format of the uploaded picture, as detected from its bytes.
    pub source_format: SourceFormat,
}

impl std::fmt::Debug for Avatar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Avatar")
            .field("jpeg_len", &self.jpeg.len())
            .field("width", &self.width)
            .field("height", &self.height)
            .field("thumbnail_jpeg_len", &self.thumbnail_jpeg.len())
            .field("thumb_width", &self.thumb_width)
            .field("thumb_height", &self.thumb_height)
            .field("source_format", &self.source_format)
            .finish()
    }
}

/// Quality steps tried (after the configured quality) when the JPEG is too large.
const QUALITY_STEPS: [u8; 5] = [85, 75, 65, 55, 45];
/// Scale factor applied per step once the lowest quality is still too large.
const SCALE_STEP: f64 = 0.8;
/// Upper bound on decoded bytes per pixel (16-bit RGBA PNG), for the decoder's allocation limit.
const MAX_DECODED_BYTES_PER_PIXEL: u64 = 8;
/// Allowance for decoder bookkeeping on top of the pixel buffer.
const DECODER_ALLOC_SLACK: u64 = 16 * 1024 * 1024;

/// Turns an untrusted uploaded picture into a standard avatar. See the crate documentation for
/// the steps.
pub fn normalize(input: &[u8], std: &AvatarStandard) -> Result<Avatar, AvatarError> {
    std.validate()?;
    if input.len() > std.max_input_bytes {
        return Err(AvatarError::InputTooLarge {
            bytes: input.len(),
            limit: std.max_input_bytes,
        });
    }
    let format = sniff(input).map_err(|kind| AvatarError::Unsupported { kind: kind.into() })?;

    let image = decode_checked(input, format, std)?;
    let (width, height) = (image.width(), image.height());
    check_min_size(width, height, std)?;

    let rgb = flatten_to_rgb(image);
    let source = RgbImage {
        width,
        height,
        pixels: rgb,
    };
    let mut resizer = Resizer::new();

    // Crop box (full picture or centered square) and output size fitting max_dimension.
    let crop = if std.square_crop {
        square_crop_box(width, height)
    } else {
        CropBox {
            left: 0,
            top: 0,
            width,
            height,
        }
    };
    let (out_w, out_h) = fit_within(crop.width, crop.height, std.max_dimension);
    let base = resize(&mut resizer, &source, crop, out_w, out_h)?;
    drop(source);

    let (jpeg, base_or_scaled) = encode_within_budget(&mut resizer, base, std)?;

    // Thumbnail: centered square of the (already small) avatar, resized to the thumbnail size.
    let thumb_crop = square_crop_box(base_or_scaled.width, base_or_scaled.height);
    let td = std.thumbnail_dimension;
    let thumb = resize(&mut resizer, &base_or_scaled, thumb_crop, td, td)?;
    let thumbnail_jpeg = encode_jpeg(&thumb, std.jpeg_quality)?;

    Ok(Avatar {
        jpeg,
        width: base_or_scaled.width,
        height: base_or_scaled.height,
        thumbnail_jpeg,
        thumb_width: td,
        thumb_height: td,
        source_format: format,
    })
}

/// Header bomb check, then decode under [`Limits`], then apply EXIF orientation.
fn decode_checked(
    input: &[u8],
    format: SourceFormat,
    std: &AvatarStandard,
) -> Result<DynamicImage, AvatarError> {
    let header_dims = sniff::header_dimensions(format, input);
    if let Some((w, h)) = header_dims {
        check_pixels(w, h, std)?;
        // Rotation does not matter for the minimum (it applies to both sides): refuse tiny or
        // sliver-shaped pictures before spending time decoding them.
        check_min_size(w, h, std)?;
    }
    // The JPEG decoder conceals missing data (the rest of the picture turns gray); a cut-off
    // MMS must be refused rather than become a half-gray avatar.
    if format == SourceFormat::Jpeg && !sniff::jpeg_has_eoi(input) {
        return Err(AvatarError::Corrupt {
            reason: "the file ends too early".into(),
        });
    }

    // Any side longer than max_input_pixels / min_dimension is either a bomb or too small on
    // the other side, so the decoder never needs to accept more.
    let max_side = u32::try_from(std.max_input_pixels / u64::from(std.min_dimension.max(1)))
        .unwrap_or(u32::MAX);
    // The decoder may allocate the pixel buffer plus a little bookkeeping, never more.
    let max_alloc = std
        .max_input_pixels
        .saturating_mul(MAX_DECODED_BYTES_PER_PIXEL)
        .min(std.max_decoded_bytes)
        .saturating_add(DECODER_ALLOC_SLACK);
    let mut limits = Limits::default();
    limits.max_image_width = Some(max_side);
    limits.max_image_height = Some(max_side);
    limits.max_alloc = Some(max_alloc);

    let mut reader = ImageReader::with_format(Cursor::new(input), format.image_format());
    reader.limits(limits);
    let bomb = |dims| AvatarError::Bomb {
        dimensions: dims,
        limit_pixels: std.max_input_pixels,
    };
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| map_image_error(e, format, || bomb(header_dims)))?;

    // The decoder's own idea of the size is what it will allocate for: check it too.
    let (w, h) = decoder.dimensions();
    check_pixels(w, h, std)?;
    // Bytes, not pixels, are what decoding costs: 16-bit RGBA takes 8 per pixel.
    let bytes = decoder.total_bytes();
    if bytes > std.max_decoded_bytes {
        return Err(AvatarError::DecodedTooLarge {
            width: w,
            height: h,
            bytes_per_pixel: u64::from(decoder.color_type().bytes_per_pixel()),
            bytes,
            limit: std.max_decoded_bytes,
        });
    }

    // Orientation is best effort: broken EXIF must not make an otherwise fine picture fail.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder)
        .map_err(|e| map_image_error(e, format, || bomb(Some((w, h)))))?;
    image.apply_orientation(orientation);
    Ok(image)
}

fn check_pixels(width: u32, height: u32, std: &AvatarStandard) -> Result<(), AvatarError> {
    let pixels = u64::from(width) * u64::from(height);
    if pixels > std.max_input_pixels {
        return Err(AvatarError::Bomb {
            dimensions: Some((width, height)),
            limit_pixels: std.max_input_pixels,
        });
    }
    if width == 0 || height == 0 {
        return Err(AvatarError::Corrupt {
            reason: format!("the header says the picture is {width}×{height} pixels"),
        });
    }
    Ok(())
}

fn check_min_size(width: u32, height: u32, std: &AvatarStandard) -> Result<(), AvatarError> {
    if width < std.min_dimension || height < std.min_dimension {
        return Err(AvatarError::TooSmall {
            width,
            height,
            min: std.min_dimension,
        });
    }
    Ok(())
}

fn map_image_error(
    e: ImageError,
    format: SourceFormat,
    bomb: impl FnOnce() -> AvatarError,
) -> AvatarError {
    match e {
        ImageError::Limits(l) => match l.kind() {
            LimitErrorKind::DimensionError | LimitErrorKind::InsufficientMemory => bomb(),
            _ => AvatarError::Unsupported {
                kind: format!("this kind of {format}"),
            },
        },
        ImageError::Unsupported(_) => AvatarError::Unsupported {
            kind: format!("this kind of {format}"),
        },
        ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            AvatarError::Corrupt {
                reason: "the file ends too early".into(),
            }
        }
        ImageError::IoError(io) => AvatarError::Corrupt {
            reason: io.to_string(),
        },
        ImageError::Decoding(d) => {
            let detail = d.to_string();
            let reason = if detail.to_ascii_lowercase().contains("eof")
                || detail.to_ascii_lowercase().contains("end of file")
                || detail.to_ascii_lowercase().contains("truncated")
            {
                "the file ends too early".to_string()
            } else {
                format!("{format} data is invalid: {detail}")
            };
            AvatarError::Corrupt { reason }
        }
        other => AvatarError::Corrupt {
            reason: other.to_string(),
        },
    }
}

/// Converts to packed 8-bit RGB, compositing any alpha onto white.
fn flatten_to_rgb(image: DynamicImage) -> Vec<u8> {
    if !image.color().has_alpha() {
        return image.into_rgb8().into_raw();
    }
    let rgba = image.into_rgba8().into_raw();
    let mut rgb = Vec::with_capacity(rgba.len() / 4 * 3);
    for px in rgba.chunks_exact(4) {
        let a = u32::from(px[3]);
        for &c in &px[..3] {
            // c*a + 255*(1-a), rounded.
            let v = (u32::from(c) * a + 255 * (255 - a) + 127) / 255;
            rgb.push(v as u8);
        }
    }
    rgb
}

struct RgbImage {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CropBox {
    left: u32,
    top: u32,
    width: u32,
    height: u32,
}

fn square_crop_box(width: u32, height: u32) -> CropBox {
    let side = width.min(height);
    CropBox {
        left: (width - side) / 2,
        top: (height - side) / 2,
        width: side,
        height: side,
    }
}

/// Largest size with the same aspect ratio fitting in `max`×`max`, never upscaled.
fn fit_within(width: u32, height: u32, max: u32) -> (u32, u32) {
    if width <= max && height <= max {
        return (width, height);
    }
    scale_dims(width, height, f64::from(max) / f64::from(width.max(height)))
}

fn scale_dims(width: u32, height: u32, factor: f64) -> (u32, u32) {
    let s = |v: u32| ((f64::from(v) * factor).round() as u32).max(1);
    (s(width), s(height))
}

fn resize(
    resizer: &mut Resizer,
    src: &RgbImage,
    crop: CropBox,
    width: u32,
    height: u32,
) -> Result<RgbImage, AvatarError> {
    let internal = |what: &str, e: &dyn std::fmt::Display| AvatarError::Internal {
        reason: format!("{what}: {e}"),
    };
    let src_view = FirImageRef::new(src.width, src.height, &src.pixels, PixelType::U8x3)
        .map_err(|e| internal("resize source", &e))?;
    let mut dst = FirImage::new(width, height, PixelType::U8x3);
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
        .crop(
            f64::from(crop.left),
            f64::from(crop.top),
            f64::from(crop.width),
            f64::from(crop.height),
        );
    resizer
        .resize(&src_view, &mut dst, &options)
        .map_err(|e| internal("resize", &e))?;
    Ok(RgbImage {
        width,
        height,
        pixels: dst.into_vec(),
    })
}

fn encode_jpeg(img: &RgbImage, quality: u8) -> Result<Vec<u8>, AvatarError> {
    let mut out = Vec::with_capacity(64 * 1024);
    JpegEncoder::new_with_quality(&mut out, quality)
        .encode(&img.pixels, img.width, img.height, ExtendedColorType::Rgb8)
        .map_err(|e| AvatarError::Internal {
            reason: format!("JPEG encoding: {e}"),
        })?;
    Ok(out)
}

/// Encodes `base`, lowering quality then size until the JPEG fits `max_bytes`. Returns the JPEG
/// and the image it was encoded from.
fn encode_within_budget(
    resizer: &mut Resizer,
    base: RgbImage,
    std: &AvatarStandard,
) -> Result<(Vec<u8>, RgbImage), AvatarError> {
    let first = std.jpeg_quality;
    let qualities = std::iter::once(first).chain(QUALITY_STEPS.into_iter().filter(|&q| q < first));
    let mut lowest = first;
    let mut smallest = usize::MAX;
    for q in qualities {
        let jpeg = encode_jpeg(&base, q)?;
        if jpeg.len() <= std.max_bytes {
            return Ok((jpeg, base));
        }
        smallest = smallest.min(jpeg.len());
        lowest = q;
    }

    // Scale down from `base` (already at most max_dimension, so this is cheap) at the lowest
    // quality, never below min_dimension on the shorter side.
    let short = f64::from(base.width.min(base.height));
    let min_factor = (f64::from(std.min_dimension) / short).min(1.0);
    let full = CropBox {
        left: 0,
        top: 0,
        width: base.width,
        height: base.height,
    };
    let mut factor = 1.0;
    while factor > min_factor {
        factor = (factor * SCALE_STEP).max(min_factor);
        let (w, h) = scale_dims(base.width, base.height, factor);
        // Rounding must not take the short side under the minimum.
        let (w, h) = if w.min(h) < std.min_dimension {
            scale_dims(base.width, base.height, factor * 1.0001)
        } else {
            (w, h)
        };
        let scaled = resize(resizer, &base, full, w, h)?;
        let jpeg = encode_jpeg(&scaled, lowest)?;
        if jpeg.len() <= std.max_bytes {
            return Ok((jpeg, scaled));
        }
        smallest = smallest.min(jpeg.len());
    }
    Err(AvatarError::TooLargeAfterCompression {
        max_bytes: std.max_bytes,
        smallest_bytes: smallest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_within_never_upscales() {
        assert_eq!(fit_within(100, 50, 640), (100, 50));
        assert_eq!(fit_within(4000, 3000, 640), (640, 480));
        assert_eq!(fit_within(3000, 4000, 640), (480, 640));
        assert_eq!(fit_within(10_000, 1, 640), (640, 1));
    }

    #[test]
    fn square_crop_is_centered() {
        assert_eq!(
            square_crop_box(400, 300),
            CropBox {
                left: 50,
                top: 0,
                width: 300,
                height: 300
            }
        );
        assert_eq!(
            square_crop_box(300, 401),
            CropBox {
                left: 0,
                top: 50,
                width: 300,
                height: 300
            }
        );
    }

    #[test]
    fn flatten_composites_onto_white() {
        let mut img = image::RgbaImage::new(2, 1);
        img.put_pixel(0, 0, image::Rgba([0, 0, 0, 0]));
        img.put_pixel(1, 0, image::Rgba([0, 0, 0, 255]));
        let rgb = flatten_to_rgb(DynamicImage::ImageRgba8(img));
        assert_eq!(rgb, vec![255, 255, 255, 0, 0, 0]);
    }
}
