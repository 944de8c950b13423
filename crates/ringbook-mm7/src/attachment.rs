//! Decoded MMS content parts and their classification (image / text / vCard / SMIL).

/// One decoded media part of an MMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Lowercase `type/subtype` as declared (`text/plain` when the part had no Content-Type).
    pub content_type: String,
    /// The `charset` parameter, if any (e.g. `gb2312`).
    pub charset: Option<String>,
    /// `Content-ID` without angle brackets.
    pub content_id: Option<String>,
    /// `Content-Location` (RFC 2047 words decoded).
    pub content_location: Option<String>,
    /// File name from `Content-Disposition: filename` or `Content-Type: name` (decoded).
    pub filename: Option<String>,
    /// The part's bytes after transfer decoding (base64 / quoted-printable undone).
    pub data: Vec<u8>,
}

/// Image formats accepted from phones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum ImageFormat {
    Jpeg,
    Png,
    Gif,
    Bmp,
    Webp,
}

impl ImageFormat {
    /// The canonical MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Png => "image/png",
            ImageFormat::Gif => "image/gif",
            ImageFormat::Bmp => "image/bmp",
            ImageFormat::Webp => "image/webp",
        }
    }

    /// Recognise a format from its magic bytes.
    pub fn sniff(data: &[u8]) -> Option<ImageFormat> {
        if data.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ImageFormat::Jpeg)
        } else if data.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(ImageFormat::Png)
        } else if data.starts_with(b"GIF87a") || data.starts_with(b"GIF89a") {
            Some(ImageFormat::Gif)
        } else if data.starts_with(b"BM") && data.len() >= 26 {
            Some(ImageFormat::Bmp)
        } else if data.len() >= 12 && &data[..4] == b"RIFF" && &data[8..12] == b"WEBP" {
            Some(ImageFormat::Webp)
        } else {
            None
        }
    }

    /// Recognise a declared MIME type (including common non-standard aliases).
    pub fn from_mime(mime: &str) -> Option<ImageFormat> {
        match mime.trim().to_ascii_lowercase().as_str() {
            "image/jpeg" | "image/jpg" | "image/pjpeg" => Some(ImageFormat::Jpeg),
            "image/png" | "image/x-png" => Some(ImageFormat::Png),
            "image/gif" => Some(ImageFormat::Gif),
            "image/bmp" | "image/x-bmp" | "image/x-ms-bmp" => Some(ImageFormat::Bmp),
            "image/webp" => Some(ImageFormat::Webp),
            _ => None,
        }
    }
}

/// What a part is, for the profile-update logic (spec MM-1/MM-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttachmentKind {
    /// A picture (avatar candidate). The format is the sniffed one when the magic bytes are
    /// recognised, else the declared one.
    Image(ImageFormat),
    /// `text/plain` (signature, personal data).
    Text,
    /// `text/x-vcard`, `text/vcard`, `text/directory` (address book / personal card).
    VCard,
    /// `application/smil` presentation; callers ignore it.
    Smil,
    /// Anything else (audio, video, unknown).
    Other,
}

/// Declared types that say nothing about the content, so the bytes decide.
fn is_generic(ct: &str) -> bool {
    matches!(
        ct,
        "application/octet-stream" | "application/binary" | "application/unknown" | "" | "*/*"
    ) || ct == "image/*"
}

fn extension(name: Option<&str>) -> Option<String> {
    let name = name?;
    let (_, ext) = name.rsplit_once('.')?;
    Some(ext.to_ascii_lowercase())
}

impl Attachment {
    /// Classify this part; see [`classify`].
    pub fn kind(&self) -> AttachmentKind {
        classify(self)
    }

    /// The part decoded as text using its charset (see [`decode_text`]).
    pub fn text(&self) -> String {
        decode_text(&self.data, self.charset.as_deref())
    }

    /// The part's file name, falling back to its Content-Location.
    pub fn name(&self) -> Option<&str> {
        self.filename
            .as_deref()
            .or(self.content_location.as_deref())
    }
}

/// Classify a part by declared type, sniffing magic bytes when the type is
/// `application/octet-stream` (or similar) and using the file extension as a last resort.
pub fn classify(att: &Attachment) -> AttachmentKind {
    let ct = att.content_type.as_str();
    if let Some(declared) = ImageFormat::from_mime(ct) {
        return AttachmentKind::Image(ImageFormat::sniff(&att.data).unwrap_or(declared));
    }
    match ct {
        "text/plain" => return AttachmentKind::Text,
        "text/x-vcard" | "text/vcard" | "text/directory" | "application/vcard" => {
            return AttachmentKind::VCard
        }
        "application/smil" | "application/smil+xml" => return AttachmentKind::Smil,
        _ => {}
    }
    if is_generic(ct) || ct.starts_with("image/") {
        if let Some(f) = ImageFormat::sniff(&att.data) {
            return AttachmentKind::Image(f);
        }
        if is_generic(ct) {
            match extension(att.name()).as_deref() {
                Some("txt") => return AttachmentKind::Text,
                Some("vcf") => return AttachmentKind::VCard,
                Some("smil" | "smi") => return AttachmentKind::Smil,
                _ => {}
            }
            if att.data.starts_with(b"BEGIN:VCARD") {
                return AttachmentKind::VCard;
            }
        }
    }
    AttachmentKind::Other
}

/// Decode text bytes with a MIME charset label.
///
/// Known labels go through `encoding_rs` (`gb2312`/`gbk` decode as GBK, `gb18030`, `utf-8`,
/// `us-ascii` and `iso-8859-1` as windows-1252, `utf-16` with BOM ...). With no label or an
/// unknown one: a BOM decides, else UTF-8 if the bytes are valid UTF-8, else GB18030 (what
/// Chinese handsets send without saying). Invalid sequences become U+FFFD; never fails.
pub fn decode_text(data: &[u8], charset: Option<&str>) -> String {
    let label = charset.map(str::trim).filter(|c| !c.is_empty());
    if let Some(enc) = label.and_then(|l| encoding_rs::Encoding::for_label(l.as_bytes())) {
        // `decode` also honours a BOM that contradicts the label.
        return enc.decode(data).0.into_owned();
    }
    if let Some((enc, bom_len)) = encoding_rs::Encoding::for_bom(data) {
        return enc
            .decode_without_bom_handling(&data[bom_len..])
            .0
            .into_owned();
    }
    match std::str::from_utf8(data) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::GB18030.decode(data).0.into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn att(ct: &str, data: &[u8]) -> Attachment {
        Attachment {
            content_type: ct.into(),
            charset: None,
            content_id: None,
            content_location: None,
            filename: None,
            data: data.to_vec(),
        }
    }

    #[test]
    fn sniffing() {
        let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0, 0];
        assert_eq!(
            classify(&att("application/octet-stream", &jpeg)),
            AttachmentKind::Image(ImageFormat::Jpeg)
        );
        assert_eq!(
            classify(&att("image/jpeg", b"\x89PNG\r\n\x1a\n...")),
            AttachmentKind::Image(ImageFormat::Png)
        );
        assert_eq!(
            classify(&att("image/gif", b"junk")),
            AttachmentKind::Image(ImageFormat::Gif)
        );
        assert_eq!(
            classify(&att("application/octet-stream", b"RIFF\0\0\0\0WEBPVP8 ")),
            AttachmentKind::Image(ImageFormat::Webp)
        );
        assert_eq!(
            classify(&att("application/octet-stream", b"??")),
            AttachmentKind::Other
        );
        assert_eq!(classify(&att("audio/amr", b"#!AMR")), AttachmentKind::Other);
        assert_eq!(classify(&att("text/x-vcard", b"")), AttachmentKind::VCard);
        assert_eq!(classify(&att("text/directory", b"")), AttachmentKind::VCard);
        assert_eq!(
            classify(&att("application/smil", b"")),
            AttachmentKind::Smil
        );
        let mut v = att("application/octet-stream", b"x");
        v.filename = Some("card.VCF".into());
        assert_eq!(classify(&v), AttachmentKind::VCard);
    }

    #[test]
    fn charsets() {
        let (gb, _, _) = encoding_rs::GBK.encode("签名：你好");
        assert_eq!(decode_text(&gb, Some("GB2312")), "签名：你好");
        assert_eq!(decode_text(&gb, Some("gbk")), "签名：你好");
        assert_eq!(decode_text(&gb, Some("GB18030")), "签名：你好");
        assert_eq!(decode_text(&gb, None), "签名：你好");
        assert_eq!(decode_text(&gb, Some("x-unknown")), "签名：你好");
        assert_eq!(decode_text("héllo".as_bytes(), Some("utf-8")), "héllo");
        assert_eq!(decode_text(b"h\xe9llo", Some("iso-8859-1")), "héllo");
        assert_eq!(decode_text(b"hello", Some("us-ascii")), "hello");
        assert_eq!(decode_text(b"\xef\xbb\xbfhi", None), "hi");
    }
}
