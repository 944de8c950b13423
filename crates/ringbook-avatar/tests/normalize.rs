//! End-to-end tests of `normalize` on pictures generated with the `image` crate.
#![allow(clippy::unwrap_used)]

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::{ImageEncoder, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use ringbook_avatar::{normalize, AvatarError, AvatarStandard, SourceFormat};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn byte(&mut self) -> u8 {
        (self.next() >> 32) as u8
    }
}

fn noisy_rgb(w: u32, h: u32, seed: u64) -> RgbImage {
    let mut rng = XorShift(seed);
    RgbImage::from_fn(w, h, |x, y| {
        let g = ((x + y) * 255 / (w + h)) as u8;
        Rgb([
            g.wrapping_add(rng.byte() / 2),
            rng.byte(),
            (255 - g).wrapping_add(rng.byte() / 3),
        ])
    })
}

/// Photo-like content: smooth gradients, a few soft shapes and mild sensor noise.
fn photo_rgb(w: u32, h: u32, seed: u64) -> RgbImage {
    let mut rng = XorShift(seed);
    RgbImage::from_fn(w, h, |x, y| {
        let fx = x as f32 / w as f32;
        let fy = y as f32 / h as f32;
        let blob = (((fx - 0.5).powi(2) + (fy - 0.4).powi(2)) * 8.0).min(1.0);
        let n = |r: &mut XorShift| (r.byte() % 17) as f32 - 8.0;
        let c = |v: f32| v.clamp(0.0, 255.0) as u8;
        Rgb([
            c(200.0 * (1.0 - blob) + 40.0 * fx + n(&mut rng)),
            c(120.0 + 80.0 * fy + n(&mut rng)),
            c(90.0 + 120.0 * blob + n(&mut rng)),
        ])
    })
}

fn jpeg_bytes(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(img)
        .unwrap();
    out
}

fn encode(img: &image::DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// Big-endian TIFF/EXIF block with Orientation and a GPS IFD (latitude N 48°51'30").
fn exif_tiff(orientation: u16) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(b"MM\0\x2a");
    t.extend_from_slice(&8u32.to_be_bytes());
    // IFD0 at 8: 2 entries.
    t.extend_from_slice(&2u16.to_be_bytes());
    // Orientation, SHORT, 1
    t.extend_from_slice(&0x0112u16.to_be_bytes());
    t.extend_from_slice(&3u16.to_be_bytes());
    t.extend_from_slice(&1u32.to_be_bytes());
    t.extend_from_slice(&orientation.to_be_bytes());
    t.extend_from_slice(&[0, 0]);
    // GPSInfo pointer, LONG, 1 -> 38
    t.extend_from_slice(&0x8825u16.to_be_bytes());
    t.extend_from_slice(&4u16.to_be_bytes());
    t.extend_from_slice(&1u32.to_be_bytes());
    t.extend_from_slice(&38u32.to_be_bytes());
    t.extend_from_slice(&0u32.to_be_bytes());
    assert_eq!(t.len(), 38);
    // GPS IFD: GPSLatitudeRef "N", GPSLatitude 3 RATIONAL at 68.
    t.extend_from_slice(&2u16.to_be_bytes());
    t.extend_from_slice(&0x0001u16.to_be_bytes());
    t.extend_from_slice(&2u16.to_be_bytes());
    t.extend_from_slice(&2u32.to_be_bytes());
    t.extend_from_slice(b"N\0\0\0");
    t.extend_from_slice(&0x0002u16.to_be_bytes());
    t.extend_from_slice(&5u16.to_be_bytes());
    t.extend_from_slice(&3u32.to_be_bytes());
    t.extend_from_slice(&68u32.to_be_bytes());
    t.extend_from_slice(&0u32.to_be_bytes());
    assert_eq!(t.len(), 68);
    for (n, d) in [(48u32, 1u32), (51, 1), (3000, 100)] {
        t.extend_from_slice(&n.to_be_bytes());
        t.extend_from_slice(&d.to_be_bytes());
    }
    t
}

/// Inserts an APP1 "Exif" segment right after SOI.
fn with_exif_app1(jpeg: &[u8], tiff: &[u8]) -> Vec<u8> {
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
    let len = u16::try_from(2 + 6 + tiff.len()).unwrap();
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(b"Exif\0\0");
    out.extend_from_slice(tiff);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// JPEG marker segments before the first SOS: (marker, payload).
fn jpeg_segments(jpeg: &[u8]) -> Vec<(u8, Vec<u8>)> {
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8], "output must be a JPEG");
    let mut segs = Vec::new();
    let mut pos = 2;
    loop {
        assert_eq!(jpeg[pos], 0xFF, "marker expected at {pos}");
        let marker = jpeg[pos + 1];
        let len = usize::from(u16::from_be_bytes([jpeg[pos + 2], jpeg[pos + 3]]));
        segs.push((marker, jpeg[pos + 4..pos + 2 + len].to_vec()));
        if marker == 0xDA {
            return segs;
        }
        pos += 2 + len;
    }
}

fn has_exif(jpeg: &[u8]) -> bool {
    jpeg_segments(jpeg)
        .iter()
        .any(|(m, p)| *m == 0xE1 && p.starts_with(b"Exif"))
}

fn assert_no_metadata(jpeg: &[u8]) {
    for (marker, payload) in jpeg_segments(jpeg) {
        assert!(!(0xE1..=0xEF).contains(&marker), "APPn {marker:#x} present");
        assert_ne!(marker, 0xFE, "COM segment present");
        if marker == 0xE0 {
            assert!(payload.starts_with(b"JFIF\0"), "unexpected APP0");
        }
    }
    assert!(!has_exif(jpeg));
    assert!(
        !jpeg.windows(4).any(|w| w == b"Exif"),
        "Exif bytes anywhere"
    );
}

fn decode_dims(jpeg: &[u8]) -> (u32, u32) {
    let img = image::load_from_memory_with_format(jpeg, ImageFormat::Jpeg).unwrap();
    (img.width(), img.height())
}

fn no_crop() -> AvatarStandard {
    AvatarStandard {
        square_crop: false,
        ..AvatarStandard::default()
    }
}

fn is_red(p: Rgb<u8>) -> bool {
    p[0] > 200 && p[1] < 60 && p[2] < 60
}

/// 300×200 gray picture with a red 60×60 block in the stored top-left corner.
fn marker_image() -> RgbImage {
    RgbImage::from_fn(300, 200, |x, y| {
        if x < 60 && y < 60 {
            Rgb([255, 0, 0])
        } else {
            Rgb([128, 128, 128])
        }
    })
}

fn assert_rotated_cw(avatar: &ringbook_avatar::Avatar) {
    // Orientation 6: the stored top-left corner is displayed at the top-right.
    assert_eq!((avatar.width, avatar.height), (200, 300));
    let out = image::load_from_memory(&avatar.jpeg).unwrap().to_rgb8();
    assert!(is_red(*out.get_pixel(185, 15)), "top-right should be red");
    assert!(
        !is_red(*out.get_pixel(15, 15)),
        "top-left should not be red"
    );
    assert!(!is_red(*out.get_pixel(185, 285)));
}

// ---------------------------------------------------------------------------------------------
// Formats, orientation, privacy
// ---------------------------------------------------------------------------------------------

#[test]
fn jpeg_exif_orientation_is_applied_and_gps_stripped() {
    let plain = jpeg_bytes(&marker_image(), 90);
    let input = with_exif_app1(&plain, &exif_tiff(6));
    assert!(has_exif(&input), "fixture must carry EXIF");
    assert!(input.windows(4).any(|w| w == [0x88, 0x25, 0, 4]), "GPS ptr");

    let avatar = normalize(&input, &no_crop()).unwrap();
    assert_eq!(avatar.source_format, SourceFormat::Jpeg);
    assert_rotated_cw(&avatar);
    assert_no_metadata(&avatar.jpeg);
    assert_no_metadata(&avatar.thumbnail_jpeg);
}

#[test]
fn png_exif_orientation_is_applied() {
    let mut png = Vec::new();
    let mut enc = image::codecs::png::PngEncoder::new(&mut png);
    enc.set_exif_metadata(exif_tiff(6)).unwrap();
    let img = marker_image();
    enc.write_image(img.as_raw(), 300, 200, image::ExtendedColorType::Rgb8)
        .unwrap();
    let avatar = normalize(&png, &no_crop()).unwrap();
    assert_eq!(avatar.source_format, SourceFormat::Png);
    assert_rotated_cw(&avatar);
    assert_no_metadata(&avatar.jpeg);
}

#[test]
fn png_alpha_is_flattened_onto_white() {
    let img = RgbaImage::from_fn(200, 200, |x, y| {
        if (70..130).contains(&x) && (70..130).contains(&y) {
            Rgba([0, 0, 0, 255])
        } else {
            Rgba([0, 0, 0, 0])
        }
    });
    let input = encode(&image::DynamicImage::ImageRgba8(img), ImageFormat::Png);
    let avatar = normalize(&input, &AvatarStandard::default()).unwrap();
    assert_eq!(avatar.source_format, SourceFormat::Png);
    assert_eq!((avatar.width, avatar.height), (200, 200));
    let out = image::load_from_memory(&avatar.jpeg).unwrap().to_rgb8();
    let corner = out.get_pixel(5, 5);
    assert!(corner.0.iter().all(|&c| c > 240), "corner {corner:?}");
    let center = out.get_pixel(100, 100);
    assert!(center.0.iter().all(|&c| c < 20), "center {center:?}");
}

#[test]
fn gif_bmp_webp_are_accepted() {
    let img = image::DynamicImage::ImageRgb8(noisy_rgb(160, 120, 7));
    for (format, expected) in [
        (ImageFormat::Gif, SourceFormat::Gif),
        (ImageFormat::Bmp, SourceFormat::Bmp),
        (ImageFormat::WebP, SourceFormat::WebP),
    ] {
        let input = encode(&img, format);
        let avatar = normalize(&input, &AvatarStandard::default())
            .unwrap_or_else(|e| panic!("{format:?}: {e}"));
        assert_eq!(avatar.source_format, expected);
        assert_eq!((avatar.width, avatar.height), (120, 120), "{format:?}");
        assert_eq!(decode_dims(&avatar.jpeg), (120, 120));
        assert_no_metadata(&avatar.jpeg);
    }
}

#[test]
fn large_photo_is_resized_and_cropped_square_with_thumbnail() {
    let input = jpeg_bytes(&photo_rgb(1600, 1200, 1), 90);
    let avatar = normalize(&input, &AvatarStandard::default()).unwrap();
    assert_eq!((avatar.width, avatar.height), (640, 640));
    assert_eq!(decode_dims(&avatar.jpeg), (640, 640));
    assert!(avatar.jpeg.len() <= 100 * 1024, "{}", avatar.jpeg.len());
    assert_eq!((avatar.thumb_width, avatar.thumb_height), (96, 96));
    assert_eq!(decode_dims(&avatar.thumbnail_jpeg), (96, 96));
    assert_no_metadata(&avatar.thumbnail_jpeg);
}

#[test]
fn without_square_crop_aspect_ratio_is_kept() {
    let input = jpeg_bytes(&noisy_rgb(1600, 1200, 2), 80);
    let std = AvatarStandard {
        max_bytes: 1024 * 1024,
        ..no_crop()
    };
    let avatar = normalize(&input, &std).unwrap();
    assert_eq!((avatar.width, avatar.height), (640, 480));
    assert_eq!(decode_dims(&avatar.thumbnail_jpeg), (96, 96));
}

#[test]
fn small_picture_is_not_upscaled() {
    let input = jpeg_bytes(&noisy_rgb(100, 80, 3), 90);
    let avatar = normalize(&input, &no_crop()).unwrap();
    assert_eq!((avatar.width, avatar.height), (100, 80));
}

#[test]
fn noisy_picture_is_compressed_under_a_tight_budget() {
    let input = jpeg_bytes(&noisy_rgb(3000, 2000, 4), 90);
    let std = AvatarStandard {
        max_bytes: 20 * 1024,
        max_input_bytes: 32 * 1024 * 1024,
        ..AvatarStandard::default()
    };
    let avatar = normalize(&input, &std).unwrap();
    assert!(
        avatar.jpeg.len() <= 20 * 1024,
        "{} bytes",
        avatar.jpeg.len()
    );
    assert_eq!(avatar.width, avatar.height);
    assert!(avatar.width >= 64 && avatar.width < 640, "{}", avatar.width);
    assert_eq!(decode_dims(&avatar.jpeg), (avatar.width, avatar.height));
}

#[test]
fn incompressible_budget_fails() {
    let input = jpeg_bytes(&noisy_rgb(1000, 1000, 5), 90);
    let std = AvatarStandard {
        max_bytes: 2048,
        min_dimension: 600,
        ..AvatarStandard::default()
    };
    let err = normalize(&input, &std).unwrap_err();
    assert!(
        matches!(err, AvatarError::TooLargeAfterCompression { max_bytes: 2048, smallest_bytes } if smallest_bytes > 2048),
        "{err:?}"
    );
    assert_eq!(err.code(), "avatar_too_large_after_compression");
}

// ---------------------------------------------------------------------------------------------
// Refusals
// ---------------------------------------------------------------------------------------------

fn png_header_only(w: u32, h: u32) -> Vec<u8> {
    let mut d = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]); // 8-bit RGBA
    d.extend_from_slice(&13u32.to_be_bytes());
    d.extend_from_slice(&ihdr);
    d.extend_from_slice(&crc32(&ihdr).to_be_bytes());
    // Start of an IDAT chunk that is cut off.
    d.extend_from_slice(&1_000_000u32.to_be_bytes());
    d.extend_from_slice(b"IDAT\x78\x9c");
    d
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn png_bomb_is_refused_from_the_header() {
    let input = png_header_only(100_000, 100_000);
    let started = std::time::Instant::now();
    let err = normalize(&input, &AvatarStandard::default()).unwrap_err();
    assert_eq!(
        err,
        AvatarError::Bomb {
            dimensions: Some((100_000, 100_000)),
            limit_pixels: 40_000_000
        }
    );
    assert_eq!(err.code(), "avatar_bomb");
    assert_eq!(
        err.to_string(),
        "the picture is 100000×100000 pixels; the limit is 40 megapixels"
    );
    assert!(started.elapsed().as_millis() < 100);
}

#[test]
fn gif_bmp_jpeg_webp_bombs_are_refused() {
    // GIF logical screen 65535×65535.
    let gif = b"GIF89a\xff\xff\xff\xff\x00\x00\x00".to_vec();
    // BMP 30000×30000 with nothing after the header.
    let mut bmp = vec![0u8; 54];
    bmp[..2].copy_from_slice(b"BM");
    bmp[14..18].copy_from_slice(&40u32.to_le_bytes());
    bmp[18..22].copy_from_slice(&30_000i32.to_le_bytes());
    bmp[22..26].copy_from_slice(&30_000i32.to_le_bytes());
    bmp[26..28].copy_from_slice(&1u16.to_le_bytes());
    bmp[28..30].copy_from_slice(&24u16.to_le_bytes());
    // JPEG with a SOF0 claiming 65000×65000.
    let jpeg =
        b"\xff\xd8\xff\xc0\x00\x11\x08\xfd\xe8\xfd\xe8\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01"
            .to_vec();
    // WebP VP8X canvas 16384×16384.
    let mut webp = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\0\0\0\0".to_vec();
    webp.extend_from_slice(&[0xff, 0x3f, 0x00, 0xff, 0x3f, 0x00]);
    for input in [gif, bmp, jpeg, webp] {
        let err = normalize(&input, &AvatarStandard::default()).unwrap_err();
        assert!(matches!(err, AvatarError::Bomb { .. }), "{err:?}");
    }
}

#[test]
fn configured_pixel_limit_applies_to_real_pictures() {
    let input = jpeg_bytes(&noisy_rgb(300, 300, 6), 80);
    let std = AvatarStandard {
        max_input_pixels: 200 * 200,
        ..AvatarStandard::default()
    };
    let err = normalize(&input, &std).unwrap_err();
    assert_eq!(
        err,
        AvatarError::Bomb {
            dimensions: Some((300, 300)),
            limit_pixels: 40_000
        }
    );
}

#[test]
fn oversized_input_is_refused_before_parsing() {
    let std = AvatarStandard {
        max_input_bytes: 1000,
        ..AvatarStandard::default()
    };
    let err = normalize(&[0u8; 2000], &std).unwrap_err();
    assert_eq!(
        err,
        AvatarError::InputTooLarge {
            bytes: 2000,
            limit: 1000
        }
    );
    assert_eq!(err.code(), "avatar_too_large");
}

#[test]
fn random_bytes_are_unsupported() {
    let mut rng = XorShift(0x1234_5678_9abc_def1);
    let mut input: Vec<u8> = (0..4096).map(|_| rng.byte()).collect();
    input[0] = 0x00; // make sure it does not start with a supported magic number
    let err = normalize(&input, &AvatarStandard::default()).unwrap_err();
    assert_eq!(
        err,
        AvatarError::Unsupported {
            kind: "unknown".into()
        }
    );
    assert_eq!(err.code(), "avatar_unsupported_type");
}

#[test]
fn heic_is_unsupported_with_its_name() {
    let mut input = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec();
    input.resize(1000, 0);
    let err = normalize(&input, &AvatarStandard::default()).unwrap_err();
    assert!(err
        .to_string()
        .starts_with("HEIC pictures are not supported"));
}

#[test]
fn truncated_jpeg_is_corrupt() {
    let full = jpeg_bytes(&noisy_rgb(300, 300, 8), 90);
    for cut in [full.len() / 2, 400, 200] {
        let err = normalize(&full[..cut], &AvatarStandard::default()).err();
        let err = err.unwrap_or_else(|| panic!("cut at {cut} accepted"));
        assert!(
            matches!(err, AvatarError::Corrupt { .. }),
            "cut {cut}: {err:?}"
        );
        assert_eq!(err.code(), "avatar_corrupt");
    }
}

#[test]
fn truncated_png_is_corrupt() {
    let full = encode(
        &image::DynamicImage::ImageRgb8(noisy_rgb(300, 300, 9)),
        ImageFormat::Png,
    );
    let err = normalize(&full[..full.len() / 2], &AvatarStandard::default()).unwrap_err();
    assert!(matches!(err, AvatarError::Corrupt { .. }), "{err:?}");
}

#[test]
fn tiny_picture_is_too_small() {
    let input = encode(
        &image::DynamicImage::ImageRgb8(noisy_rgb(10, 10, 10)),
        ImageFormat::Png,
    );
    let err = normalize(&input, &AvatarStandard::default()).unwrap_err();
    assert_eq!(
        err,
        AvatarError::TooSmall {
            width: 10,
            height: 10,
            min: 64
        }
    );
    assert_eq!(err.code(), "avatar_too_small");
}

#[test]
fn thin_picture_is_too_small() {
    let input = jpeg_bytes(&noisy_rgb(2000, 40, 11), 90);
    let err = normalize(&input, &AvatarStandard::default()).unwrap_err();
    assert!(matches!(err, AvatarError::TooSmall { .. }), "{err:?}");
}

#[test]
fn invalid_standard_is_reported() {
    let std = AvatarStandard {
        min_dimension: 1000,
        ..AvatarStandard::default()
    };
    let err = normalize(&[], &std).unwrap_err();
    assert_eq!(err.code(), "avatar_config_invalid");
    assert!(!err.is_sender_fault());
}
