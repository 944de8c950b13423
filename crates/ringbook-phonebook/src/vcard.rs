//! vCard 2.1 / 3.0 / 4.0 import and export (PB-8, PB-10).
//!
//! # Why a hand-written parser
//!
//! The vCard crates on crates.io were evaluated (from their documentation, feature lists and
//! manifests, not by running them) against what phones really export:
//!
//! * `ical` 0.11: its `LineReader` implements RFC 6350 folding (CRLF + space/tab) only, so a
//!   vCard 2.1 quoted-printable soft line break (`=` at the end of a line, which is how Android
//!   exports every long non-ASCII value) is not joined; no `ENCODING=QUOTED-PRINTABLE` or
//!   `CHARSET=` (GBK/GB2312) decoding was found.
//! * `vcard` 0.5 and `vcard4` describe themselves as RFC 6350 (4.0) implementations; `vcard4`
//!   documents that any `CHARSET` other than UTF-8 is an error. (`vcard_parser` was not
//!   examined in depth.)
//! * `calcard` 0.3: a full iCalendar/vCard stack whose default features pull in JMAP tooling,
//!   uuid and serde_json — too heavy for this crate's needs on a 2-core build machine.
//! * `vcard-rs` 0.5: advertises 2.1 quoted-printable and charset support, but is very young
//!   (five minor versions within months) and needs Rust 1.88 (workspace MSRV is 1.85).
//!
//! Ringbook needs a dozen properties, so a ~400-line tolerant reader over bytes is simpler to
//! audit than an adapter over any of them (unit tests below and `tests/fixtures` cover it).
//! It handles: CRLF/LF, BOM (stripped by the caller), folding with space or tab, 2.1
//! quoted-printable soft breaks, `CHARSET` via `encoding_rs` (undeclared non-UTF-8 text falls
//! back to GB18030, a superset of GBK/GB2312), bare 2.1 parameters, `TYPE=CELL,VOICE`,
//! `TYPE="cell,voice"`, `VALUE=uri:tel:…`, grouped properties (`item1.TEL` + `item1.X-ABLabel`), base64 `PHOTO`s (indented or, as some 2.1 exporters
//! write them, not indented) which are skipped, escaped `\,` `\;` `\n`, several cards per file.
//!
//! Reading is not the whole story: [`crate::PhoneBook`] keeps every card's bytes beside this
//! parsed view, so a write-back never loses what this reader skips.
//!
//! Lines without a `:` and unknown properties are ignored; a card is [`SkipReason::Malformed`]
//! only when it has no `END:VCARD`.
//!
//! `PREF` is parsed but does not change the default mobile: PB-8 makes the *first stored* mobile
//! the default; the exporter writes the default first (with `PREF`), so the two agree.

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;

use crate::contact::{
    non_empty, Draft, ImportReport, PhoneHint, PhonebookContact, RawPhone, SkipReason, Skipped,
};
use crate::number::Region;

/// vCard version written by [`export_vcard`] (and of a phone book's new cards).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum VcardVersion {
    /// vCard 2.1 (as Android exports it: quoted-printable UTF-8 for non-ASCII values).
    V21,
    /// vCard 3.0 (RFC 2426): widest support (iOS, Android, Outlook, Google).
    V3,
    /// vCard 4.0 (RFC 6350).
    V4,
}

/// Parses vCard data (any of 2.1, 3.0, 4.0; several cards) into an [`ImportReport`].
///
/// `data` must not start with a BOM (see [`crate::import_bytes`], which strips it). `progress`
/// is called with `(0, total)` first and then `(done, total)` after every card.
pub fn parse_vcards(
    data: &[u8],
    region: Region,
    progress: &mut dyn FnMut(usize, usize),
) -> ImportReport {
    let mut report = ImportReport::default();
    for (index, entry) in vcard_entries(data, region, progress)
        .entries
        .into_iter()
        .enumerate()
    {
        match entry.parsed {
            Ok(c) => report.contacts.push(c),
            Err(reason) => report.skipped.push(Skipped {
                index,
                name: entry.name,
                reason,
            }),
        }
    }
    report
}

/// One card of a vCard file: its exact bytes and what the importer made of it.
#[derive(Debug, Clone)]
pub(crate) struct RawEntry {
    /// Byte span in the data: from its `BEGIN:VCARD` line to the next card's (or the end),
    /// so that the spans of all entries plus the preamble cover the data exactly.
    pub span: Range<usize>,
    pub parsed: Result<PhonebookContact, SkipReason>,
    pub name: Option<String>,
}

/// The cards of a vCard file, with the bytes before the first one.
#[derive(Debug, Clone)]
pub(crate) struct RawEntries {
    pub preamble_end: usize,
    pub entries: Vec<RawEntry>,
}

/// Splits vCard data into cards (byte spans) and parses each one (PB-8 rules, duplicates by
/// default mobile across the file).
pub(crate) fn vcard_entries(
    data: &[u8],
    region: Region,
    progress: &mut dyn FnMut(usize, usize),
) -> RawEntries {
    let lines = logical_lines(data);
    let starts: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| is_keyword_line(&l.content, b"BEGIN:VCARD"))
        .map(|(i, _)| i)
        .collect();
    let total = starts.len();
    progress(0, total);
    let mut seen = HashSet::new();
    let mut entries = Vec::with_capacity(total);
    for (n, &first) in starts.iter().enumerate() {
        let last = starts.get(n + 1).copied().unwrap_or(lines.len());
        let card_lines = &lines[first..last];
        let span_end = card_lines
            .last()
            .map_or(lines[first].span.end, |l| l.span.end);
        let span = lines[first].span.start..span_end;
        let mut card = CardBuilder::default();
        let mut ended = false;
        for line in &card_lines[1..] {
            if is_keyword_line(&line.content, b"END:VCARD") {
                ended = true;
                break;
            }
            if let Some(prop) = parse_property(&line.content) {
                card.add(prop);
            }
        }
        let name = card.draft.name();
        let parsed = if ended {
            card.finish().finish(region, &mut seen)
        } else if n + 1 < total {
            Err(SkipReason::Malformed(
                "BEGIN:VCARD inside a card (missing END:VCARD)".into(),
            ))
        } else {
            Err(SkipReason::Malformed(
                "missing END:VCARD (truncated file?)".into(),
            ))
        };
        entries.push(RawEntry { span, parsed, name });
        progress(n + 1, total);
    }
    RawEntries {
        preamble_end: starts.first().map_or(data.len(), |&i| lines[i].span.start),
        entries,
    }
}

pub(crate) fn is_keyword_line(line: &[u8], kw: &[u8]) -> bool {
    let t = trim_ascii(line);
    t.len() == kw.len() && t.eq_ignore_ascii_case(kw)
}

pub(crate) fn trim_ascii(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &b[start..end.max(start)]
}

fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Index of the first `:` that is not inside a double-quoted parameter value.
pub(crate) fn header_end(line: &[u8]) -> Option<usize> {
    let mut quoted = false;
    for (i, &b) in line.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b':' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

fn is_base64_line(line: &[u8]) -> bool {
    !line.is_empty()
        && line
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b' ' | b'\t'))
}

/// One logical line: its unfolded content and the byte span of the physical lines it was
/// read from (line ends included). Blank lines are logical lines with empty content, so the
/// spans of all lines cover the data exactly.
#[derive(Debug, Clone)]
pub(crate) struct LogicalLine {
    pub content: Vec<u8>,
    pub span: Range<usize>,
}

/// Splits into physical lines (LF or CRLF) and joins continuations into logical lines.
pub(crate) fn logical_lines(data: &[u8]) -> Vec<LogicalLine> {
    let mut out: Vec<LogicalLine> = Vec::new();
    let mut cur: Option<LogicalLine> = None;
    let mut cur_qp = false;
    let mut cur_b64 = false;
    let mut pos = 0usize;
    while pos < data.len() {
        let end = data[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(data.len(), |i| pos + i + 1);
        let raw = &data[pos..end];
        let line = raw.strip_suffix(b"\n").unwrap_or(raw);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let span = pos..end;
        pos = end;
        if let Some(c) = cur.as_mut() {
            if cur_qp && c.content.last() == Some(&b'=') {
                // Quoted-printable soft line break: the next line continues the value verbatim.
                c.content.pop();
                c.content.extend_from_slice(line);
                c.span.end = span.end;
                continue;
            }
            if let Some((&first, rest)) = line.split_first() {
                if first == b' ' || first == b'\t' {
                    c.content.extend_from_slice(rest);
                    c.span.end = span.end;
                    continue;
                }
            }
            if cur_b64 && is_base64_line(line) {
                // Non-indented base64 continuation (seen in old 2.1 exports).
                c.content.extend_from_slice(line);
                c.span.end = span.end;
                continue;
            }
        }
        if let Some(done) = cur.take() {
            out.push(done);
        }
        if trim_ascii(line).is_empty() {
            out.push(LogicalLine {
                content: Vec::new(),
                span,
            });
            continue;
        }
        let header = &line[..header_end(line).unwrap_or(line.len())];
        cur_qp = contains_ci(header, b"QUOTED-PRINTABLE");
        cur_b64 = contains_ci(header, b"BASE64") || contains_ci(header, b"ENCODING=B");
        cur = Some(LogicalLine {
            content: line.to_vec(),
            span,
        });
    }
    if let Some(done) = cur.take() {
        out.push(done);
    }
    out
}

/// One content line: `[group.]NAME[;params]:value`.
#[derive(Debug)]
pub(crate) struct Property {
    pub group: Option<String>,
    pub name: String,
    /// Upper-cased parameter names with their (unquoted, comma-split) values.
    pub params: Vec<(String, Vec<String>)>,
    /// Decoded text value; `None` for binary (base64) values.
    pub value: Option<String>,
}

impl Property {
    pub(crate) fn param<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.params
            .iter()
            .filter(move |(k, _)| k == key)
            .flat_map(|(_, v)| v.iter().map(String::as_str))
    }
}

/// Splits on `sep` outside double quotes.
pub(crate) fn split_unquoted(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            out.push(&s[start..i]);
            start = i + sep.len_utf8();
        }
    }
    out.push(&s[start..]);
    out
}

pub(crate) fn parse_property(line: &[u8]) -> Option<Property> {
    let colon = header_end(line)?;
    let header = String::from_utf8_lossy(&line[..colon]);
    let raw_value = &line[colon + 1..];
    let mut parts = split_unquoted(&header, ';').into_iter();
    let full_name = parts.next()?.trim();
    let (group, name) = match full_name.rfind('.') {
        Some(i) => (Some(full_name[..i].to_string()), &full_name[i + 1..]),
        None => (None, full_name),
    };
    let name = name.to_ascii_uppercase();
    let mut params: Vec<(String, Vec<String>)> = Vec::new();
    for p in parts {
        let p = p.trim();
        if p.is_empty() {
            continue;
        }
        match p.split_once('=') {
            Some((k, v)) => {
                let values = split_unquoted(v, ',')
                    .into_iter()
                    .map(|x| x.trim().trim_matches('"').to_string())
                    .filter(|x| !x.is_empty())
                    .collect();
                params.push((k.trim().to_ascii_uppercase(), values));
            }
            None => {
                // vCard 2.1 bare parameter: `TEL;CELL;PREF:` or `NOTE;QUOTED-PRINTABLE:`.
                let upper = p.to_ascii_uppercase();
                let key = match upper.as_str() {
                    "QUOTED-PRINTABLE" | "BASE64" | "8BIT" | "7BIT" | "B" => "ENCODING",
                    _ => "TYPE",
                };
                params.push((key.to_string(), vec![p.trim_matches('"').to_string()]));
            }
        }
    }
    let mut prop = Property {
        group,
        name,
        params,
        value: None,
    };
    let encoding = prop.param("ENCODING").next().map(str::to_ascii_uppercase);
    let bytes: std::borrow::Cow<'_, [u8]> = match encoding.as_deref() {
        Some("QUOTED-PRINTABLE") => qp_decode(raw_value).into(),
        Some("B") | Some("BASE64") => return Some(prop),
        _ => raw_value.into(),
    };
    let charset = prop.param("CHARSET").next().map(str::to_string);
    prop.value = Some(decode_text(&bytes, charset.as_deref()));
    Some(prop)
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

/// Decodes quoted-printable (soft breaks were already removed by [`logical_lines`]).
pub(crate) fn qp_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b == b'=' {
            if let (Some(h), Some(l)) = (
                input.get(i + 1).copied().and_then(hex_val),
                input.get(i + 2).copied().and_then(hex_val),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

/// Decodes text with a declared charset, else UTF-8, else GB18030 (superset of GBK/GB2312).
pub(crate) fn decode_text(bytes: &[u8], charset: Option<&str>) -> String {
    if let Some(label) = charset {
        if let Some(enc) = encoding_rs::Encoding::for_label(label.trim().as_bytes()) {
            if enc != encoding_rs::UTF_8 {
                return enc.decode_without_bom_handling(bytes).0.into_owned();
            }
        }
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::GB18030
            .decode_without_bom_handling(bytes)
            .0
            .into_owned(),
    }
}

/// Removes vCard text escapes (`\n`, `\,`, `\;`, `\\`).
pub(crate) fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') | Some('N') => out.push('\n'),
            Some(',') => out.push(','),
            Some(';') => out.push(';'),
            Some(':') => out.push(':'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Splits a structured value on unescaped `sep`, then unescapes every component.
pub(crate) fn split_escaped(s: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            out.push(unescape(&s[start..i]));
            start = i + c.len_utf8();
        }
    }
    out.push(unescape(&s[start..]));
    out
}

#[derive(Default)]
struct CardBuilder {
    draft: Draft,
    /// Group of each phone in `draft.phones` (for `itemN.X-ABLabel`).
    phone_groups: Vec<Option<String>>,
    labels: BTreeMap<String, String>,
}

impl CardBuilder {
    fn add(&mut self, p: Property) {
        let Some(value) = p.value.as_deref() else {
            return; // PHOTO / LOGO / SOUND / KEY in base64: skipped.
        };
        let d = &mut self.draft;
        match p.name.as_str() {
            "FN" => d.display_name = non_empty(&unescape(value)),
            "N" => {
                let comps = split_escaped(value, ';');
                d.family_name = comps.first().and_then(|s| non_empty(s));
                d.given_name = comps.get(1).and_then(|s| non_empty(s));
            }
            "NICKNAME" if d.nickname.is_none() => {
                d.nickname = split_escaped(value, ',').iter().find_map(|s| non_empty(s));
            }
            "TEL" => {
                let hint = p
                    .param("TYPE")
                    .flat_map(|t| t.split(','))
                    .map(PhoneHint::from_label)
                    .fold(PhoneHint::Unknown, PhoneHint::combine);
                d.phones.push(RawPhone {
                    raw: unescape(value).trim().to_string(),
                    hint,
                });
                self.phone_groups.push(p.group.clone());
            }
            "EMAIL" => {
                if let Some(e) = non_empty(&unescape(value)) {
                    if !d.emails.contains(&e) {
                        d.emails.push(e);
                    }
                }
            }
            "ORG" if d.org.is_none() => {
                d.org = split_escaped(value, ';').first().and_then(|s| non_empty(s));
            }
            "TITLE" => d.title = non_empty(&unescape(value)),
            "NOTE" => d.note = non_empty(&unescape(value)),
            "UID" => d.uid = non_empty(&unescape(value)),
            "CATEGORIES" => {
                for g in split_escaped(value, ',') {
                    if let Some(g) = non_empty(&g) {
                        if !d.groups.contains(&g) {
                            d.groups.push(g);
                        }
                    }
                }
            }
            "X-ABLABEL" => {
                if let Some(group) = p.group {
                    self.labels
                        .insert(group.to_ascii_lowercase(), unescape(value));
                }
            }
            name if name.starts_with(crate::contact::EXT_PREFIX) => {
                d.extensions.insert(name.to_string(), unescape(value));
            }
            _ => {}
        }
    }

    fn finish(mut self) -> Draft {
        for (phone, group) in self.draft.phones.iter_mut().zip(&self.phone_groups) {
            if let Some(label) = group
                .as_ref()
                .and_then(|g| self.labels.get(&g.to_ascii_lowercase()))
            {
                phone.hint = phone.hint.combine(PhoneHint::from_label(label));
            }
        }
        self.draft
    }
}

// ---------------------------------------------------------------------------------------------
// Export
// ---------------------------------------------------------------------------------------------

/// Escapes a text value (`\`, newline, `,`, `;`).
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push_str("\\n");
                }
            }
            '\n' => out.push_str("\\n"),
            ',' => out.push_str("\\,"),
            ';' => out.push_str("\\;"),
            _ => out.push(c),
        }
    }
    out
}

/// Appends `line` + CRLF, folded so that no physical line exceeds 75 octets (RFC 6350 §3.2);
/// UTF-8 sequences are never split.
#[cfg(test)]
fn push_folded(out: &mut String, line: &str) {
    push_folded_nl(out, line, "\r\n");
}

/// Appends `line` + `nl`, folded at 75 octets with `nl` + space; UTF-8 sequences are never split.
pub(crate) fn push_folded_nl(out: &mut String, line: &str, nl: &str) {
    let mut start = 0;
    let mut limit = 75;
    while line.len() - start > limit {
        let mut end = start + limit;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        out.push_str(&line[start..end]);
        out.push_str(nl);
        out.push(' ');
        start = end;
        limit = 74; // the leading space counts
    }
    out.push_str(&line[start..]);
    out.push_str(nl);
}

/// Appends one content line `head:value` (`value` already escaped) in the style of `version`:
/// 3.0 and 4.0 fold at 75 octets; 2.1 writes a non-ASCII value as UTF-8 quoted-printable with
/// soft line breaks, as Android does (a 2.1 reader assumes ASCII otherwise).
pub(crate) fn push_property(
    out: &mut String,
    version: VcardVersion,
    head: &str,
    value: &str,
    nl: &str,
) {
    if version != VcardVersion::V21 || value.is_ascii() {
        push_folded_nl(out, &format!("{head}:{value}"), nl);
        return;
    }
    let mut line = format!("{head};CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:");
    for &b in value.as_bytes() {
        let piece = if b.is_ascii_graphic() && b != b'=' || b == b' ' {
            (b as char).to_string()
        } else {
            format!("={b:02X}")
        };
        // Soft break before a line would pass 76 characters (the `=` counts).
        let current = line.len() - line.rfind('\n').map_or(0, |i| i + 1);
        if current + piece.len() > 75 {
            line.push('=');
            line.push_str(nl);
        }
        line.push_str(&piece);
    }
    out.push_str(&line);
    out.push_str(nl);
}

pub(crate) fn is_property_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Writes contacts as vCard 2.1, 3.0 or 4.0 (CRLF, folded at 75 octets, escaped).
///
/// Written properties: `FN`, `N`, `NICKNAME`, `TEL` (the default mobile first, marked preferred,
/// then `other_mobiles`), `EMAIL`, `ORG`, `TITLE`, `NOTE`, `CATEGORIES`, `UID`, and every
/// `extensions` entry whose key is an `X-` property name (PB-10: `X-RINGBOOK-STATUS`,
/// `X-RINGBOOK-NICKNAME`, `X-RINGBOOK-SIGNATURE`, `X-RINGBOOK-DEVICE`, `X-RINGBOOK-USER:1`).
/// Importing the result gives back equal contacts (for values without leading/trailing blanks).
///
/// This writes only what [`PhonebookContact`] holds: to keep a phone book's own cards whole,
/// use [`crate::PhoneBook`], which edits the cards in place.
pub fn export_vcard(contacts: &[PhonebookContact], version: VcardVersion) -> String {
    let mut out = String::with_capacity(contacts.len() * 256);
    for c in contacts {
        write_card(&mut out, c, version, "\r\n");
    }
    out
}

/// Appends one generated card.
pub(crate) fn write_card(out: &mut String, c: &PhonebookContact, version: VcardVersion, nl: &str) {
    let mut prop = |head: &str, value: &str| push_property(out, version, head, value, nl);
    prop("BEGIN", "VCARD");
    prop("VERSION", version.as_str());
    prop("FN", &escape(&c.display_name));
    prop(
        "N",
        &format!(
            "{};{};;;",
            escape(c.family_name.as_deref().unwrap_or_default()),
            escape(c.given_name.as_deref().unwrap_or_default())
        ),
    );
    if let Some(n) = &c.nickname {
        prop("NICKNAME", &escape(n));
    }
    let tels = std::iter::once(&c.mobile).chain(c.other_mobiles.iter());
    for (i, tel) in tels.enumerate() {
        let (head, value) = tel_line(version, i == 0, tel);
        prop(&head, &value);
    }
    for e in &c.emails {
        let head = match version {
            VcardVersion::V21 => "EMAIL;INTERNET",
            VcardVersion::V3 => "EMAIL;TYPE=INTERNET",
            VcardVersion::V4 => "EMAIL",
        };
        prop(head, &escape(e));
    }
    if let Some(v) = &c.org {
        prop("ORG", &escape(v));
    }
    if let Some(v) = &c.title {
        prop("TITLE", &escape(v));
    }
    if let Some(v) = &c.note {
        prop("NOTE", &escape(v));
    }
    if !c.groups.is_empty() {
        let list: Vec<String> = c.groups.iter().map(|g| escape(g)).collect();
        prop("CATEGORIES", &list.join(","));
    }
    if let Some(v) = &c.uid {
        prop("UID", &escape(v));
    }
    for (k, v) in &c.extensions {
        let key = k.to_ascii_uppercase();
        if key.starts_with("X-") && is_property_name(&key) {
            prop(&key, &escape(v));
        }
    }
    prop("END", "VCARD");
}

/// The head and value of a mobile `TEL` line in the style of `version`.
pub(crate) fn tel_line(version: VcardVersion, preferred: bool, tel: &str) -> (String, String) {
    let head = match (version, preferred) {
        (VcardVersion::V21, true) => "TEL;CELL;PREF",
        (VcardVersion::V21, false) => "TEL;CELL",
        (VcardVersion::V3, true) => "TEL;TYPE=CELL,PREF",
        (VcardVersion::V3, false) => "TEL;TYPE=CELL",
        (VcardVersion::V4, true) => "TEL;VALUE=uri;TYPE=cell;PREF=1",
        (VcardVersion::V4, false) => "TEL;VALUE=uri;TYPE=cell",
    };
    let value = match version {
        VcardVersion::V4 => format!("tel:{tel}"),
        _ => tel.to_string(),
    };
    (head.to_string(), value)
}

impl VcardVersion {
    /// The `VERSION` value.
    pub fn as_str(self) -> &'static str {
        match self {
            VcardVersion::V21 => "2.1",
            VcardVersion::V3 => "3.0",
            VcardVersion::V4 => "4.0",
        }
    }

    /// Reads a `VERSION` value (`2.1`, `3.0`, `4.0`; also `3`, `4`).
    pub fn parse(s: &str) -> Option<VcardVersion> {
        match s.trim() {
            "2.1" | "2" => Some(VcardVersion::V21),
            "3.0" | "3" => Some(VcardVersion::V3),
            "4.0" | "4" => Some(VcardVersion::V4),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cn() -> Region {
        Region::parse("CN").expect("CN")
    }

    fn parse(s: &str) -> ImportReport {
        parse_vcards(s.as_bytes(), cn(), &mut |_, _| {})
    }

    #[test]
    fn qp_soft_breaks_and_utf8() {
        let v = "BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E5=BC=A0;=E4=\r\n=B8=89;;;\r\nFN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E5=BC=A0=E4=B8=89\r\nTEL;CELL;PREF:138-0013-8000\r\nEND:VCARD\r\n";
        let r = parse(v);
        assert_eq!(r.skipped, vec![]);
        let c = &r.contacts[0];
        assert_eq!(c.display_name, "张三");
        assert_eq!(c.family_name.as_deref(), Some("张"));
        assert_eq!(c.given_name.as_deref(), Some("三"));
        assert_eq!(c.mobile, "+8613800138000");
    }

    #[test]
    fn gbk_quoted_printable() {
        // "张三" in GBK is D5 C5 C8 FD.
        let v = "BEGIN:VCARD\nVERSION:2.1\nFN;CHARSET=GBK;QUOTED-PRINTABLE:=D5=C5=C8=FD\nTEL;CELL:13800138000\nEND:VCARD\n";
        assert_eq!(parse(v).contacts[0].display_name, "张三");
        let v = "BEGIN:VCARD\nVERSION:2.1\nFN;CHARSET=GB2312;ENCODING=QUOTED-PRINTABLE:=D5=C5=C8=FD\nTEL;CELL:13800138000\nEND:VCARD\n";
        assert_eq!(parse(v).contacts[0].display_name, "张三");
    }

    #[test]
    fn undeclared_gbk_bytes_fall_back_to_gb18030() {
        let mut v = b"BEGIN:VCARD\nVERSION:2.1\nFN:".to_vec();
        v.extend_from_slice(&[0xD5, 0xC5, 0xC8, 0xFD]);
        v.extend_from_slice(b"\nTEL:13800138000\nEND:VCARD\n");
        let r = parse_vcards(&v, cn(), &mut |_, _| {});
        assert_eq!(r.contacts[0].display_name, "张三");
    }

    #[test]
    fn folding_space_and_tab() {
        let v = "BEGIN:VCARD\nVERSION:3.0\nFN:Very Lo\n ng Name\nNOTE:a\n\tb\nTEL:1380013\n 8000\nEND:VCARD\n";
        let c = &parse(v).contacts[0];
        assert_eq!(c.display_name, "Very Long Name");
        assert_eq!(c.note.as_deref(), Some("ab"));
        assert_eq!(c.mobile, "+8613800138000");
    }

    #[test]
    fn v4_quoted_types_and_uri() {
        let v = "BEGIN:VCARD\nVERSION:4.0\nFN:A\nTEL;VALUE=uri;TYPE=\"work,voice\":tel:+86-10-1234-5678\nTEL;VALUE=uri;TYPE=\"cell,voice\";PREF=1:tel:+86-138-0013-8000;ext=1\nEND:VCARD\n";
        let c = &parse(v).contacts[0];
        assert_eq!(c.mobile, "+8613800138000");
        assert!(c.other_mobiles.is_empty());
    }

    #[test]
    fn grouped_label_and_photo() {
        let v = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann\r\nPHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQAAAQABAAD\r\n /2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0\r\n Hyc5PTgyPC4zNDL/\r\nitem1.TEL:+1 201 555 0123\r\nitem1.X-ABLabel:_$!<HomeFAX>!$_\r\nitem2.TEL:+1 201 555 0124\r\nitem2.X-ABLabel:_$!<Mobile>!$_\r\nEND:VCARD\r\n";
        let r = parse(v);
        let c = &r.contacts[0];
        assert_eq!(c.mobile, "+12015550124");
        assert!(c.other_mobiles.is_empty());
    }

    #[test]
    fn non_indented_base64_21_photo() {
        let v = "BEGIN:VCARD\nVERSION:2.1\nFN:B\nPHOTO;ENCODING=BASE64;JPEG:/9j/4AAQSkZJRgABAQAAAQABAAD\n/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0\nHyc5PTgyPC4zNDL/==\n\nTEL;CELL:13800138000\nEND:VCARD\n";
        let r = parse(v);
        assert_eq!(r.contacts.len(), 1);
        assert_eq!(r.contacts[0].display_name, "B");
    }

    #[test]
    fn escapes() {
        let v = "BEGIN:VCARD\nVERSION:3.0\nFN:Smith\\, John\nN:Smith\\;Jr;John;;;\nORG:ACME\\, Inc.;R&D\nNOTE:line1\\nline2\nCATEGORIES:Friends,Work\\,Old\nTEL;TYPE=CELL,VOICE:13800138000\nEND:VCARD\n";
        let c = &parse(v).contacts[0];
        assert_eq!(c.display_name, "Smith, John");
        assert_eq!(c.family_name.as_deref(), Some("Smith;Jr"));
        assert_eq!(c.org.as_deref(), Some("ACME, Inc."));
        assert_eq!(c.note.as_deref(), Some("line1\nline2"));
        assert_eq!(
            c.groups,
            vec!["Friends".to_string(), "Work,Old".to_string()]
        );
    }

    #[test]
    fn malformed_cards() {
        let v = "BEGIN:VCARD\nFN:A\nTEL:13800138000\nBEGIN:VCARD\nFN:B\nTEL:13900000000\nEND:VCARD\nBEGIN:VCARD\nFN:C\nTEL:13700000000\n";
        let r = parse(v);
        assert_eq!(r.contacts.len(), 1);
        assert_eq!(r.contacts[0].display_name, "B");
        assert_eq!(r.skipped.len(), 2);
        assert_eq!(r.skipped[0].index, 0);
        assert_eq!(r.skipped[0].name.as_deref(), Some("A"));
        assert!(matches!(r.skipped[0].reason, SkipReason::Malformed(_)));
        assert_eq!(r.skipped[1].index, 2);
        assert!(matches!(r.skipped[1].reason, SkipReason::Malformed(_)));
    }

    #[test]
    fn progress_is_reported() {
        let v = "BEGIN:VCARD\nFN:A\nTEL:13800138000\nEND:VCARD\nBEGIN:VCARD\nFN:B\nEND:VCARD\n";
        let mut calls = Vec::new();
        let r = parse_vcards(v.as_bytes(), cn(), &mut |d, t| calls.push((d, t)));
        assert_eq!(calls, vec![(0, 2), (1, 2), (2, 2)]);
        assert_eq!(r.skipped[0].reason, SkipReason::NoPhoneNumber);
    }

    #[test]
    fn qp_decoder() {
        assert_eq!(qp_decode(b"a=3Db=zz="), b"a=b=zz=".to_vec());
    }

    #[test]
    fn folding_respects_75_octets_and_utf8() {
        let mut out = String::new();
        let long = format!("NOTE:{}", "张".repeat(60));
        push_folded(&mut out, &long);
        for l in out.split("\r\n") {
            assert!(l.len() <= 75, "{} octets", l.len());
        }
        let unfolded = out.trim_end().replace("\r\n ", "");
        assert_eq!(unfolded, long);
    }

    #[test]
    fn escape_roundtrip() {
        let s = "a,b;c\\d\ne";
        assert_eq!(unescape(&escape(s)), s);
        assert_eq!(escape("x\r\ny"), "x\\ny");
    }
}
