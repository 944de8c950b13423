//! Minimal, binary-safe MIME reading and writing for MM7.
//!
//! Why hand-written rather than `mail-parser`/`mime`: MM7 bodies are HTTP entities, not mail
//! messages — the top-level `Content-Type` arrives as an HTTP header, parts carry raw binary JPEG
//! data (`Content-Transfer-Encoding: binary`), and we must hand back the *exact* decoded bytes of
//! every part. Mail parsers transcode text parts to UTF-8 (losing the original GB2312 bytes), are
//! strict about parameter syntax that real MMSCs get wrong (unquoted boundaries containing `=`,
//! bare-LF line ends, missing close delimiters), and do not let us bound nesting and part counts
//! the way this crate promises. The splitter below is small, tolerant and never panics.

use std::borrow::Cow;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

use crate::error::Mm7Error;

/// Lenient base64 engine: padding optional, trailing bits allowed.
const B64_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Longest boundary we accept (RFC 2046 says 70; some MMSCs exceed it).
const MAX_BOUNDARY_LEN: usize = 200;

/// Parsed MIME part headers: lowercase names, unfolded values, in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Headers(Vec<(String, String)>);

impl Headers {
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn parse(raw: &[u8]) -> Headers {
        let mut out: Vec<(String, String)> = Vec::new();
        for line in raw.split(|b| *b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                continue;
            }
            let text = String::from_utf8_lossy(line);
            if line[0] == b' ' || line[0] == b'\t' {
                // Folded continuation of the previous header.
                if let Some(last) = out.last_mut() {
                    last.1.push(' ');
                    last.1.push_str(text.trim());
                }
                continue;
            }
            if let Some((name, value)) = text.split_once(':') {
                out.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
            }
        }
        Headers(out)
    }
}

/// A parsed `Content-Type` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ContentType {
    /// Lowercase `type/subtype`.
    pub(crate) essence: String,
    /// Parameters, names lowercase, values unquoted.
    pub(crate) params: Vec<(String, String)>,
}

impl ContentType {
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn is_multipart(&self) -> bool {
        self.essence.starts_with("multipart/")
    }

    /// Tolerant parser: `type/subtype; a=b; c="d;e"; name*=utf-8''%E4%B8%AD`.
    pub(crate) fn parse(value: &str) -> ContentType {
        let mut pieces = split_params(value).into_iter();
        let essence = pieces
            .next()
            .map(|s| s.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let mut params: Vec<(String, String)> = Vec::new();
        for p in pieces {
            let Some((name, val)) = p.split_once('=') else {
                continue;
            };
            let name = name.trim().to_ascii_lowercase();
            let val = unquote(val.trim());
            if let Some(base) = name.strip_suffix('*') {
                // RFC 2231 extended value: charset'lang'percent-encoded.
                let decoded = decode_rfc2231(&val);
                params.retain(|(n, _)| n != base);
                params.push((base.to_string(), decoded));
            } else if !params.iter().any(|(n, _)| *n == name) {
                params.push((name, val));
            }
        }
        ContentType { essence, params }
    }
}

/// Split on `;` outside double quotes.
fn split_params(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quotes = false;
    let mut escaped = false;
    for c in value.chars() {
        if escaped {
            cur.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' if in_quotes => {
                cur.push(c);
                escaped = true;
            }
            '"' => {
                in_quotes = !in_quotes;
                cur.push(c);
            }
            ';' if !in_quotes => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

fn unquote(v: &str) -> String {
    let Some(inner) = v.strip_prefix('"') else {
        return v.to_string();
    };
    let inner = inner.strip_suffix('"').unwrap_or(inner);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn decode_rfc2231(v: &str) -> String {
    let mut it = v.splitn(3, '\'');
    let (charset, _lang, data) = match (it.next(), it.next(), it.next()) {
        (Some(c), Some(l), Some(d)) => (c, l, d),
        _ => ("utf-8", "", v),
    };
    let bytes = percent_decode(data);
    decode_charset(&bytes, charset)
}

pub(crate) fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex_val(b[i + 1]), hex_val(b[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn decode_charset(bytes: &[u8], charset: &str) -> String {
    match encoding_rs::Encoding::for_label(charset.trim().as_bytes()) {
        // Header words are not documents: a leading U+FEFF is content, not a BOM.
        Some(enc) => enc.decode_without_bom_handling(bytes).0.into_owned(),
        None => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Decode RFC 2047 encoded words (`=?GB2312?B?...?=`) as Chinese phones put in file names.
pub(crate) fn decode_encoded_words(s: &str) -> String {
    if !s.contains("=?") {
        return s.to_string();
    }
    let mut out = String::new();
    let mut rest = s;
    let mut last_was_word = false;
    while let Some(start) = rest.find("=?") {
        let (before, from) = rest.split_at(start);
        let decoded = parse_encoded_word(from);
        match decoded {
            Some((text, used)) => {
                // Whitespace between two adjacent encoded words is dropped (RFC 2047 §6.2).
                if !(last_was_word && before.trim().is_empty()) {
                    out.push_str(before);
                }
                out.push_str(&text);
                rest = &from[used..];
                last_was_word = true;
            }
            None => {
                out.push_str(before);
                out.push_str("=?");
                rest = &from[2..];
                last_was_word = false;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Parse one `=?charset?enc?text?=` at the start of `s`; returns the text and bytes consumed.
fn parse_encoded_word(s: &str) -> Option<(String, usize)> {
    let body = s.strip_prefix("=?")?;
    let q1 = body.find('?')?;
    let charset = &body[..q1];
    let after_cs = &body[q1 + 1..];
    let q2 = after_cs.find('?')?;
    let enc = &after_cs[..q2];
    let after_enc = &after_cs[q2 + 1..];
    let end = after_enc.find("?=")?;
    let text = &after_enc[..end];
    if text.contains(char::is_whitespace) {
        return None;
    }
    let bytes = if enc.eq_ignore_ascii_case("b") {
        B64_LENIENT.decode(text.as_bytes()).ok()?
    } else if enc.eq_ignore_ascii_case("q") {
        let replaced = text.replace('_', " ");
        decode_qp(replaced.as_bytes())
    } else {
        return None;
    };
    // RFC 2231 language suffix: charset*lang.
    let charset = charset.split('*').next().unwrap_or(charset);
    let used = 2 + q1 + 1 + q2 + 1 + end + 2;
    Some((decode_charset(&bytes, charset), used))
}

/// Quoted-printable decoding (RFC 2045 §6.7), lenient about malformed `=` sequences.
pub(crate) fn decode_qp(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        let c = data[i];
        if c != b'=' {
            out.push(c);
            i += 1;
            continue;
        }
        // Soft line break: "=" [whitespace] CRLF|LF.
        let mut j = i + 1;
        while j < data.len() && (data[j] == b' ' || data[j] == b'\t') {
            j += 1;
        }
        if j < data.len() && data[j] == b'\n' {
            i = j + 1;
            continue;
        }
        if j + 1 < data.len() && data[j] == b'\r' && data[j + 1] == b'\n' {
            i = j + 2;
            continue;
        }
        if j >= data.len() {
            // "=" at the very end: soft break before EOF.
            break;
        }
        if i + 2 < data.len() {
            if let (Some(h), Some(l)) = (hex_val(data[i + 1]), hex_val(data[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

/// Decode a body according to its `Content-Transfer-Encoding`.
pub(crate) fn decode_transfer(cte: Option<&str>, data: &[u8]) -> Result<Vec<u8>, Mm7Error> {
    let cte = cte.map(|s| s.trim().to_ascii_lowercase());
    match cte.as_deref() {
        None | Some("") | Some("7bit") | Some("8bit") | Some("binary") => Ok(data.to_vec()),
        Some("base64") => {
            let cleaned: Vec<u8> = data
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            B64_LENIENT
                .decode(&cleaned)
                .map_err(|e| Mm7Error::TransferEncoding(format!("base64: {e}")))
        }
        Some("quoted-printable") => Ok(decode_qp(data)),
        Some(other) => Err(Mm7Error::TransferEncoding(format!(
            "unknown encoding {other:?}"
        ))),
    }
}

/// One raw part of a multipart body.
#[derive(Debug, Clone)]
pub(crate) struct RawPart<'a> {
    pub(crate) headers: Headers,
    pub(crate) body: &'a [u8],
}

impl RawPart<'_> {
    pub(crate) fn content_type(&self) -> ContentType {
        ContentType::parse(self.headers.get("content-type").unwrap_or("text/plain"))
    }

    pub(crate) fn content_id(&self) -> Option<String> {
        self.headers.get("content-id").map(strip_angle)
    }

    pub(crate) fn content_location(&self) -> Option<String> {
        self.headers
            .get("content-location")
            .map(|v| decode_encoded_words(v.trim()))
            .filter(|v| !v.is_empty())
    }

    pub(crate) fn decoded_body(&self) -> Result<Vec<u8>, Mm7Error> {
        decode_transfer(self.headers.get("content-transfer-encoding"), self.body)
    }

    /// File name from `Content-Disposition: ...; filename=` or `Content-Type: ...; name=`.
    pub(crate) fn filename(&self, ct: &ContentType) -> Option<String> {
        let from_disp = self
            .headers
            .get("content-disposition")
            .map(ContentType::parse)
            .and_then(|d| d.param("filename").map(str::to_string));
        from_disp
            .or_else(|| ct.param("name").map(str::to_string))
            .map(|n| decode_encoded_words(&n))
            .filter(|n| !n.trim().is_empty())
    }
}

/// `<abc@x>` → `abc@x`.
pub(crate) fn strip_angle(v: &str) -> String {
    let v = v.trim();
    let v = v.strip_prefix('<').unwrap_or(v);
    let v = v.strip_suffix('>').unwrap_or(v);
    v.trim().to_string()
}

/// Where a delimiter line at `pos` leads.
enum Delim {
    /// `--boundary--`: no more parts.
    Close,
    /// `--boundary` CRLF: the next part starts at this index.
    Next(usize),
}

/// Is there a valid delimiter line starting exactly at `pos`?
fn delimiter_at(body: &[u8], pos: usize, delim: &[u8]) -> Option<Delim> {
    if pos > 0 && body.get(pos - 1) != Some(&b'\n') {
        return None;
    }
    if !body.get(pos..)?.starts_with(delim) {
        return None;
    }
    let after = pos + delim.len();
    let rest = body.get(after..)?;
    if rest.starts_with(b"--") {
        return Some(Delim::Close);
    }
    for (i, b) in rest.iter().enumerate() {
        match b {
            b' ' | b'\t' | b'\r' => continue,
            b'\n' => return Some(Delim::Next(after + i + 1)),
            _ => return None,
        }
    }
    // Delimiter followed only by whitespace then EOF: nothing more.
    Some(Delim::Close)
}

/// Find the next valid delimiter line at or after `from`.
fn find_delimiter(
    finder: &memchr::memmem::Finder<'_>,
    body: &[u8],
    from: usize,
    delim: &[u8],
) -> Option<(usize, Delim)> {
    let mut search = from;
    while search <= body.len() {
        let hay = body.get(search..)?;
        let rel = finder.find(hay)?;
        let pos = search + rel;
        if let Some(d) = delimiter_at(body, pos, delim) {
            return Some((pos, d));
        }
        search = pos + 1;
    }
    None
}

/// Split a multipart body into parts. At most `max_parts` parts are accepted.
pub(crate) fn split_multipart<'a>(
    body: &'a [u8],
    boundary: &str,
    max_parts: usize,
) -> Result<Vec<RawPart<'a>>, Mm7Error> {
    if boundary.is_empty() || boundary.len() > MAX_BOUNDARY_LEN {
        return Err(Mm7Error::Multipart(format!(
            "invalid boundary length {}",
            boundary.len()
        )));
    }
    let mut delim = Vec::with_capacity(boundary.len() + 2);
    delim.extend_from_slice(b"--");
    delim.extend_from_slice(boundary.as_bytes());
    let finder = memchr::memmem::Finder::new(&delim);

    let Some((_, first)) = find_delimiter(&finder, body, 0, &delim) else {
        return Err(Mm7Error::Multipart("boundary not found in body".into()));
    };
    let mut parts = Vec::new();
    let mut next = first;
    loop {
        let start = match next {
            Delim::Close => break,
            Delim::Next(s) => s,
        };
        if parts.len() >= max_parts {
            return Err(Mm7Error::TooManyAttachments(crate::MAX_ATTACHMENTS));
        }
        let (end, following) = match find_delimiter(&finder, body, start, &delim) {
            Some((pos, d)) => (pos, d),
            // Missing close delimiter (truncated or sloppy sender): the part runs to EOF.
            None => (body.len(), Delim::Close),
        };
        let mut content = body.get(start..end).unwrap_or_default();
        if end < body.len() {
            // The CRLF (or LF) before a delimiter belongs to the delimiter.
            content = content.strip_suffix(b"\n").unwrap_or(content);
            content = content.strip_suffix(b"\r").unwrap_or(content);
        }
        parts.push(split_part(content));
        next = following;
    }
    if parts.is_empty() {
        return Err(Mm7Error::Multipart("multipart has no parts".into()));
    }
    Ok(parts)
}

/// Split a part into headers and body at the first empty line.
fn split_part(part: &[u8]) -> RawPart<'_> {
    let mut pos = 0;
    loop {
        let line_end = memchr::memchr(b'\n', &part[pos..]).map(|i| pos + i);
        let line = match line_end {
            Some(e) => &part[pos..e],
            None => &part[pos..],
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            let body_start = line_end.map_or(part.len(), |e| e + 1);
            return RawPart {
                headers: Headers::parse(&part[..pos]),
                body: &part[body_start..],
            };
        }
        match line_end {
            Some(e) => pos = e + 1,
            // No blank line: only headers, empty body.
            None => {
                return RawPart {
                    headers: Headers::parse(part),
                    body: &[],
                }
            }
        }
    }
}

// ---------------------------------------------------------------- writing

/// Base64 with 76-character lines and CRLF, as MMSCs send it.
pub(crate) fn base64_lines(data: &[u8]) -> String {
    let enc = base64::engine::general_purpose::STANDARD.encode(data);
    let mut out = String::with_capacity(enc.len() + enc.len() / 76 * 2 + 2);
    for chunk in enc.as_bytes().chunks(76) {
        // Base64 output is ASCII, so this never fails.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push_str("\r\n");
    }
    out
}

/// Make a header value safe: no CR/LF or other control characters.
pub(crate) fn header_safe(v: &str) -> Cow<'_, str> {
    if v.chars().any(|c| c.is_control()) {
        Cow::Owned(
            v.chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect(),
        )
    } else {
        Cow::Borrowed(v)
    }
}

/// A parameter value: quoted-string for ASCII, RFC 2047 B-encoded UTF-8 otherwise.
pub(crate) fn param_value(v: &str) -> String {
    let v = header_safe(v);
    if v.is_ascii() {
        let escaped = v.replace('\\', "\\\\").replace('"', "\\\"");
        format!("\"{escaped}\"")
    } else {
        format!("\"{}\"", encoded_word(&v))
    }
}

/// A free header value (Content-Location): raw if ASCII, else an RFC 2047 word.
pub(crate) fn header_text(v: &str) -> String {
    let v = header_safe(v);
    if v.is_ascii() {
        v.into_owned()
    } else {
        encoded_word(&v)
    }
}

fn encoded_word(v: &str) -> String {
    format!(
        "=?utf-8?B?{}?=",
        base64::engine::general_purpose::STANDARD.encode(v.as_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_params_tolerant() {
        let ct = ContentType::parse(
            r#"Multipart/Related; boundary=----=_Part_0_1.2; type="text/xml"; start="<soap@x>""#,
        );
        assert_eq!(ct.essence, "multipart/related");
        assert_eq!(ct.param("boundary"), Some("----=_Part_0_1.2"));
        assert_eq!(ct.param("type"), Some("text/xml"));
        assert_eq!(ct.param("start"), Some("<soap@x>"));
    }

    #[test]
    fn rfc2231_and_2047() {
        let ct = ContentType::parse("image/jpeg; name*=utf-8''%E5%A4%B4%E5%83%8F.jpg");
        assert_eq!(ct.param("name"), Some("头像.jpg"));
        assert_eq!(
            decode_encoded_words("=?GB2312?B?zbfP8Q==?=.jpg"),
            "头像.jpg"
        );
        assert_eq!(
            decode_encoded_words("=?utf-8?Q?a_b=3D?= =?utf-8?Q?c?="),
            "a b=c"
        );
        assert_eq!(decode_encoded_words("=?broken"), "=?broken");
    }

    #[test]
    fn qp() {
        assert_eq!(decode_qp(b"a=3Db=\r\nc=\nd=E4=BD=A0"), b"a=bcd\xe4\xbd\xa0");
        assert_eq!(decode_qp(b"x=zz="), b"x=zz");
    }

    #[test]
    fn split_lf_and_missing_close() {
        let body = b"preamble\n--b\nContent-Type: text/plain\n\nhello\n--b\n\nno headers";
        let parts = split_multipart(body, "b", 10).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].body, b"hello");
        assert_eq!(parts[1].body, b"no headers");
        assert!(parts[1].headers.get("content-type").is_none());
    }

    #[test]
    fn boundary_prefix_is_not_delimiter() {
        let body = b"--b\r\n\r\nx\r\n--bc\r\ny\r\n--b--\r\n";
        let parts = split_multipart(body, "b", 10).unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].body, b"x\r\n--bc\r\ny");
    }

    #[test]
    fn too_many_parts() {
        let mut body = Vec::new();
        for _ in 0..5 {
            body.extend_from_slice(b"--b\r\n\r\nx\r\n");
        }
        assert!(matches!(
            split_multipart(&body, "b", 3),
            Err(Mm7Error::TooManyAttachments(_))
        ));
    }
}
