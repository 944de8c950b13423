//! Format sniffing from magic bytes and header-only dimension parsing.
//!
//! Nothing here decodes pixel data or allocates in proportion to the declared image size: it only
//! looks at a few fixed header bytes (for JPEG, it walks marker segments up to the first frame
//! header). That is what makes it safe to run on untrusted input before the bomb check.

use serde::Serialize;

/// Picture format detected from the uploaded bytes' magic numbers (never from the declared MIME
/// type or file name, which the sender controls).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceFormat {
    Jpeg,
    Png,
    Gif,
    Bmp,
    WebP,
}

impl SourceFormat {
    /// Short human name ("JPEG", "PNG", …).
    pub fn name(self) -> &'static str {
        match self {
            Self::Jpeg => "JPEG",
            Self::Png => "PNG",
            Self::Gif => "GIF",
            Self::Bmp => "BMP",
            Self::WebP => "WebP",
        }
    }

    /// MIME type of the source format.
    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Gif => "image/gif",
            Self::Bmp => "image/bmp",
            Self::WebP => "image/webp",
        }
    }

    pub(crate) fn image_format(self) -> image::ImageFormat {
        match self {
            Self::Jpeg => image::ImageFormat::Jpeg,
            Self::Png => image::ImageFormat::Png,
            Self::Gif => image::ImageFormat::Gif,
            Self::Bmp => image::ImageFormat::Bmp,
            Self::WebP => image::ImageFormat::WebP,
        }
    }
}

impl std::fmt::Display for SourceFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Detects the format from magic bytes. On failure returns a short human name of what the bytes
/// look like (e.g. "HEIC", "3GP/MP4 video", "unknown"), for the error message.
pub fn sniff(data: &[u8]) -> Result<SourceFormat, &'static str> {
    if data.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(SourceFormat::Jpeg);
    }
    if data.starts_with(PNG_MAGIC) {
        return Ok(SourceFormat::Png);
    }
    if data.starts_with(b"GIF87a") || data.starts_with(b"GIF89a") {
        return Ok(SourceFormat::Gif);
    }
    if data.starts_with(b"BM") && data.len() >= 26 {
        return Ok(SourceFormat::Bmp);
    }
    if data.len() >= 12 && data.starts_with(b"RIFF") {
        return match &data[8..12] {
            b"WEBP" => Ok(SourceFormat::WebP),
            b"WAVE" => Err("WAV audio"),
            b"AVI " => Err("AVI video"),
            _ => Err("RIFF container"),
        };
    }
    Err(describe_unsupported(data))
}

fn describe_unsupported(data: &[u8]) -> &'static str {
    if data.is_empty() {
        return "empty file";
    }
    if data.len() >= 12 && &data[4..8] == b"ftyp" {
        return match &data[8..12] {
            b"heic" | b"heix" | b"hevc" | b"hevx" | b"heim" | b"heis" | b"mif1" | b"msf1" => "HEIC",
            b"avif" | b"avis" => "AVIF",
            b"qt  " => "QuickTime video",
            _ => "3GP/MP4 video",
        };
    }
    let prefixes: &[(&[u8], &str)] = &[
        (b"II*\0", "TIFF"),
        (b"MM\0*", "TIFF"),
        (b"%PDF", "PDF"),
        (b"#!AMR", "AMR audio"),
        (b"\0\0\x01\0", "ICO"),
        (b"\0\0\0\x0cjP  ", "JPEG 2000"),
        (b"\xff\x4f\xff\x51", "JPEG 2000"),
        (b"8BPS", "Photoshop"),
        (b"<svg", "SVG"),
        (b"<?xml", "XML/SVG"),
        (b"PK\x03\x04", "ZIP archive"),
        (b"ID3", "MP3 audio"),
        (b"OggS", "Ogg audio"),
    ];
    for (prefix, name) in prefixes {
        if data.starts_with(prefix) {
            return name;
        }
    }
    let head = &data[..data.len().min(512)];
    if head
        .iter()
        .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace())
    {
        return "text";
    }
    "unknown"
}

fn be16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(d.get(at..at + 2)?.try_into().ok()?))
}
fn le16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(d.get(at..at + 2)?.try_into().ok()?))
}
fn be32(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(d.get(at..at + 4)?.try_into().ok()?))
}
fn le32(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(d.get(at..at + 4)?.try_into().ok()?))
}
fn le24(d: &[u8], at: usize) -> Option<u32> {
    let b = d.get(at..at + 3)?;
    Some(u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16)
}

/// Reads (width, height) from the header only. `None` when the header is too short or
/// malformed; the caller then falls back to the decoder's own header parsing (which runs with
/// [`image::Limits`]).
pub fn header_dimensions(format: SourceFormat, d: &[u8]) -> Option<(u32, u32)> {
    match format {
        SourceFormat::Png => {
            // Signature, then the IHDR chunk must come first: len(4) "IHDR" width height.
            if d.get(12..16)? != b"IHDR" {
                return None;
            }
            Some((be32(d, 16)?, be32(d, 20)?))
        }
        SourceFormat::Gif => Some((u32::from(le16(d, 6)?), u32::from(le16(d, 8)?))),
        SourceFormat::Bmp => {
            let dib_size = le32(d, 14)?;
            if dib_size == 12 {
                // OS/2 BITMAPCOREHEADER: 16-bit unsigned sizes.
                Some((u32::from(le16(d, 18)?), u32::from(le16(d, 20)?)))
            } else {
                // Height is negative for top-down bitmaps.
                let w = le32(d, 18)? as i32;
                let h = le32(d, 22)? as i32;
                Some((w.unsigned_abs(), h.unsigned_abs()))
            }
        }
        SourceFormat::WebP => match d.get(12..16)? {
            b"VP8 " => {
                // Lossy: 3-byte frame tag, start code 9d 01 2a, 14-bit sizes.
                if d.get(23..26)? != [0x9d, 0x01, 0x2a] {
                    return None;
                }
                Some((
                    u32::from(le16(d, 26)? & 0x3fff),
                    u32::from(le16(d, 28)? & 0x3fff),
                ))
            }
            b"VP8L" => {
                if *d.get(20)? != 0x2f {
                    return None;
                }
                let bits = le32(d, 21)?;
                Some(((bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1))
            }
            b"VP8X" => Some((le24(d, 24)? + 1, le24(d, 27)? + 1)),
            _ => None,
        },
        SourceFormat::Jpeg => jpeg_dimensions(d),
    }
}

/// Walks JPEG marker segments to the first SOFn frame header.
fn jpeg_dimensions(d: &[u8]) -> Option<(u32, u32)> {
    let mut pos = 2; // after SOI
    loop {
        if *d.get(pos)? != 0xFF {
            return None;
        }
        // Skip fill bytes.
        while *d.get(pos)? == 0xFF {
            pos += 1;
        }
        let marker = *d.get(pos)?;
        pos += 1;
        match marker {
            // Standalone markers without a length.
            0x01 | 0xD0..=0xD7 => continue,
            // End of image or start of scan before any frame header: no dimensions.
            0xD9 | 0xDA => return None,
            // SOF0..SOF15 except DHT (C4), JPG (C8), DAC (CC).
            0xC0..=0xCF if marker != 0xC4 && marker != 0xC8 && marker != 0xCC => {
                // length(2) precision(1) height(2) width(2)
                let h = be16(d, pos + 3)?;
                let w = be16(d, pos + 5)?;
                return Some((u32::from(w), u32::from(h)));
            }
            _ => {
                let len = usize::from(be16(d, pos)?);
                if len < 2 {
                    return None;
                }
                pos += len;
            }
        }
    }
}

/// Whether a JPEG's compressed data is followed by an End Of Image marker, i.e. the file was
/// not cut off. Trailing bytes after EOI (some cameras append data) are allowed; an EOI inside
/// an APPn segment (e.g. the EXIF thumbnail) does not count because the search starts at the
/// first Start Of Scan. `0xFF 0xD9` cannot occur inside entropy-coded data (0xFF is stuffed).
pub(crate) fn jpeg_has_eoi(d: &[u8]) -> bool {
    let Some(sos) = jpeg_first_sos(d) else {
        return false;
    };
    d[sos..].windows(2).any(|w| w == [0xFF, 0xD9])
}

/// Offset just after the first SOS marker.
fn jpeg_first_sos(d: &[u8]) -> Option<usize> {
    let mut pos = 2;
    loop {
        if *d.get(pos)? != 0xFF {
            return None;
        }
        while *d.get(pos)? == 0xFF {
            pos += 1;
        }
        let marker = *d.get(pos)?;
        pos += 1;
        match marker {
            0x01 | 0xD0..=0xD7 => continue,
            0xD9 => return None,
            0xDA => return Some(pos),
            _ => {
                let len = usize::from(be16(d, pos)?);
                if len < 2 {
                    return None;
                }
                pos += len;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_magic_numbers() {
        assert_eq!(sniff(b"\xff\xd8\xff\xe0rest"), Ok(SourceFormat::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Ok(SourceFormat::Png));
        assert_eq!(sniff(b"GIF89a......"), Ok(SourceFormat::Gif));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Ok(SourceFormat::WebP));
        assert_eq!(sniff(b"\0\0\0\x18ftypheic\0\0\0\0"), Err("HEIC"));
        assert_eq!(sniff(b"\0\0\0\x18ftyp3gp4\0\0\0\0"), Err("3GP/MP4 video"));
        assert_eq!(sniff(b"%PDF-1.4"), Err("PDF"));
        assert_eq!(sniff(b"hello world"), Err("text"));
        assert_eq!(sniff(b""), Err("empty file"));
        assert_eq!(sniff(&[0x00, 0x9f, 0x13, 0x80]), Err("unknown"));
    }

    #[test]
    fn png_header_dimensions() {
        let mut d = PNG_MAGIC.to_vec();
        d.extend_from_slice(&13u32.to_be_bytes());
        d.extend_from_slice(b"IHDR");
        d.extend_from_slice(&100_000u32.to_be_bytes());
        d.extend_from_slice(&7u32.to_be_bytes());
        assert_eq!(header_dimensions(SourceFormat::Png, &d), Some((100_000, 7)));
        assert_eq!(header_dimensions(SourceFormat::Png, &d[..20]), None);
    }

    #[test]
    fn gif_and_bmp_header_dimensions() {
        let gif = b"GIF89a\xff\xff\x10\x00";
        assert_eq!(header_dimensions(SourceFormat::Gif, gif), Some((65535, 16)));
        let mut bmp = vec![0u8; 26];
        bmp[..2].copy_from_slice(b"BM");
        bmp[14..18].copy_from_slice(&40u32.to_le_bytes());
        bmp[18..22].copy_from_slice(&300i32.to_le_bytes());
        bmp[22..26].copy_from_slice(&(-200i32).to_le_bytes());
        assert_eq!(header_dimensions(SourceFormat::Bmp, &bmp), Some((300, 200)));
    }

    #[test]
    fn jpeg_walk_handles_truncation() {
        // SOI, APP0 claiming a length past the end.
        assert_eq!(jpeg_dimensions(b"\xff\xd8\xff\xe0\x40\x00"), None);
        // SOI, SOF0 len=17 precision=8 h=0x0102 w=0x0304
        let d = b"\xff\xd8\xff\xc0\x00\x11\x08\x01\x02\x03\x04";
        assert_eq!(jpeg_dimensions(d), Some((0x0304, 0x0102)));
    }

    #[test]
    fn eoi_must_follow_the_scan() {
        // APP1 containing an embedded EOI (like an EXIF thumbnail), then SOS and data.
        let cut = b"\xff\xd8\xff\xe1\x00\x06\xff\xd9\x00\x00\xff\xda\x00\x02\x12\x34";
        assert!(!jpeg_has_eoi(cut));
        let mut full = cut.to_vec();
        full.extend_from_slice(b"\xff\x00\x56\xff\xd9trailing");
        assert!(jpeg_has_eoi(&full));
        assert!(!jpeg_has_eoi(b"\xff\xd8"));
    }
}
