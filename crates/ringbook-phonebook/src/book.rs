//! A phone-book file kept whole (PB-8 … PB-10): every entry's exact bytes beside the parsed
//! view, so that writing the book back changes only what Ringbook owns.
//!
//! [`PhoneBook::parse`] splits a vCard or CSV file into its entries (cards or rows) and parses
//! each one as the importer does. Edits are made on the entry's own bytes:
//!
//! * [`PhoneBook::set_extensions`] replaces the entry's `X-RINGBOOK-*` properties (vCard: lines
//!   inserted before `END:VCARD`; CSV: trailing `X-RINGBOOK-*` columns), and touches nothing
//!   when they already hold those values;
//! * [`PhoneBook::update`] rewrites only the properties whose parsed value changed (a name
//!   edit rewrites `FN`, not the card), keeping groups (`item1.`), parameters and everything
//!   Ringbook does not read — fixed lines, addresses, photos, vendor `X-` properties;
//! * [`PhoneBook::add`] appends a card in the file's own vCard version and line ends (or a row
//!   filled column by column); [`PhoneBook::remove`] drops the entry.
//!
//! [`PhoneBook::to_bytes`] concatenates the entries again: a book nobody edited is returned
//! byte for byte (line folding, the vCard version, the card order, a BOM, UTF-16 included).
//!
//! Why not a vCard crate: see [`crate::vcard`]; none keeps unknown lines byte for byte while
//! reading 2.1 quoted-printable and GBK, which this needs.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::contact::{ImportReport, PhonebookContact, SkipReason, Skipped, EXT_PREFIX};
use crate::csv_import::{classify_headers, csv_entries, split_multi, Col};
use crate::import::{sniff, Format, ImportError};
use crate::number::{normalize_number_in, Region};
use crate::sync::Change;
use crate::vcard::{
    escape, header_end, is_keyword_line, is_property_name, logical_lines, parse_property,
    push_property, split_escaped, tel_line, vcard_entries, write_card, VcardVersion,
};

/// How the file was encoded on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileEncoding {
    /// UTF-8 (or legacy 8-bit text such as GBK, kept as bytes).
    Bytes,
    /// UTF-16 with a BOM (Outlook's "Unicode" export): parsed as UTF-8, written back as UTF-16.
    Utf16 { big_endian: bool },
}

/// One entry of a phone book: a vCard card or a CSV row.
#[derive(Debug, Clone)]
pub struct Entry {
    raw: Raw,
    /// What the importer made of the entry (a contact, or why it is not one).
    pub parsed: Result<PhonebookContact, SkipReason>,
    /// The entry's name, when one could be read.
    pub name: Option<String>,
}

#[derive(Debug, Clone)]
enum Raw {
    /// A card's bytes, from `BEGIN:VCARD` to the next card.
    Card(Vec<u8>),
    /// A row without its `X-RINGBOOK-*` cells, its line end, and those cells' values.
    Row {
        core: Vec<u8>,
        end: Vec<u8>,
        ext: BTreeMap<String, String>,
    },
}

#[derive(Debug, Clone)]
enum Layout {
    Vcard {
        /// Version of the cards Ringbook adds (the first card's).
        version: VcardVersion,
    },
    Csv {
        delimiter: u8,
        /// Column names of the header without its `X-RINGBOOK-*` columns.
        columns: Vec<String>,
        /// The header line without its `X-RINGBOOK-*` columns and line end.
        header_core: Vec<u8>,
        header_end: Vec<u8>,
        /// The `X-RINGBOOK-*` columns, in file order.
        ext_columns: Vec<String>,
        /// The text is not UTF-8 (Excel on Chinese Windows writes GBK): new cells are GB18030.
        legacy_8bit: bool,
    },
}

/// A phone book read from a file, kept whole. See the module documentation.
#[derive(Debug, Clone)]
pub struct PhoneBook {
    encoding: FileEncoding,
    /// Bytes before the first entry (a BOM, blank lines; not the CSV header).
    preamble: Vec<u8>,
    layout: Layout,
    entries: Vec<Entry>,
    /// Line end for lines Ringbook writes (the file's own).
    newline: &'static str,
    region: Region,
}

/// A single entry's bytes, to keep beside a contact (for an export that keeps the card whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntrySource {
    /// vCard or CSV.
    pub format: Format,
    /// vCard: the card; CSV: the header line and the row (a one-row CSV file).
    pub bytes: Vec<u8>,
}

fn newline_of(data: &[u8]) -> &'static str {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) if i > 0 && data[i - 1] == b'\r' => "\r\n",
        Some(_) => "\n",
        None => "\r\n",
    }
}

fn split_line_end(bytes: &[u8]) -> (&[u8], &[u8]) {
    let cut = bytes
        .iter()
        .rposition(|&b| b != b'\r' && b != b'\n')
        .map_or(0, |i| i + 1);
    bytes.split_at(cut)
}

/// Byte offsets where each field of one CSV record (without its line end) starts.
fn field_starts(record: &[u8], delimiter: u8) -> Vec<usize> {
    let mut starts = vec![0];
    let mut quoted = false;
    for (i, &b) in record.iter().enumerate() {
        if b == b'"' {
            quoted = !quoted;
        } else if b == delimiter && !quoted {
            starts.push(i + 1);
        }
    }
    starts
}

/// The cells of one CSV record, decoded.
fn cells_of(record: &[u8], delimiter: u8) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(record);
    let mut rec = csv::ByteRecord::new();
    match reader.read_byte_record(&mut rec) {
        Ok(true) => rec
            .iter()
            .map(|f| crate::vcard::decode_text(f, None))
            .collect(),
        _ => Vec::new(),
    }
}

/// One CSV cell as written: quoted when it must be (RFC 4180).
fn csv_cell(value: &str, delimiter: u8, legacy_8bit: bool) -> Vec<u8> {
    let needs_quotes = value
        .bytes()
        .any(|b| b == delimiter || b == b'"' || b == b'\r' || b == b'\n')
        || value.starts_with(' ')
        || value.ends_with(' ');
    let text = if needs_quotes {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    };
    if legacy_8bit {
        encoding_rs::GB18030.encode(&text).0.into_owned()
    } else {
        text.into_bytes()
    }
}

impl PhoneBook {
    /// Reads a phone-book file (vCard or CSV, sniffed from the content).
    pub fn parse(data: &[u8], default_region: &str) -> Result<PhoneBook, ImportError> {
        Self::parse_with_progress(data, default_region, &mut |_, _| {})
    }

    /// [`PhoneBook::parse`] with the progress callback of [`crate::import_file`].
    pub fn parse_with_progress(
        data: &[u8],
        default_region: &str,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<PhoneBook, ImportError> {
        Self::parse_in(data, Region::parse(default_region)?, progress)
    }

    fn parse_in(
        data: &[u8],
        region: Region,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<PhoneBook, ImportError> {
        let (encoding, bom, text): (FileEncoding, &[u8], std::borrow::Cow<'_, [u8]>) =
            if let Some(rest) = data.strip_prefix(b"\xEF\xBB\xBF") {
                (FileEncoding::Bytes, &data[..3], rest.into())
            } else if data.starts_with(b"\xFF\xFE") || data.starts_with(b"\xFE\xFF") {
                let big_endian = data.starts_with(b"\xFE\xFF");
                let (t, _, _) = encoding_rs::UTF_16LE.decode(data); // the BOM picks LE/BE
                (
                    FileEncoding::Utf16 { big_endian },
                    &[],
                    t.into_owned().into_bytes().into(),
                )
            } else {
                (FileEncoding::Bytes, &[], data.into())
            };
        if text.iter().all(u8::is_ascii_whitespace) {
            return Ok(PhoneBook {
                encoding,
                preamble: data.to_vec(),
                layout: Layout::Vcard {
                    version: VcardVersion::V3,
                },
                entries: Vec::new(),
                newline: "\r\n",
                region,
            });
        }
        let newline = newline_of(&text);
        let mut preamble = bom.to_vec();
        match sniff(&text).ok_or(ImportError::UnknownFormat)? {
            Format::Vcard => {
                let raw = vcard_entries(&text, region, progress);
                preamble.extend_from_slice(&text[..raw.preamble_end]);
                let entries: Vec<Entry> = raw
                    .entries
                    .into_iter()
                    .map(|e| Entry {
                        raw: Raw::Card(text[e.span].to_vec()),
                        parsed: e.parsed,
                        name: e.name,
                    })
                    .collect();
                let version = entries
                    .first()
                    .and_then(|e| match &e.raw {
                        Raw::Card(b) => card_version(b),
                        Raw::Row { .. } => None,
                    })
                    .unwrap_or(VcardVersion::V3);
                Ok(PhoneBook {
                    encoding,
                    preamble,
                    layout: Layout::Vcard { version },
                    entries,
                    newline,
                    region,
                })
            }
            Format::Csv => {
                let raw = csv_entries(&text, region, progress)?;
                let delimiter = raw.delimiter;
                let legacy_8bit = std::str::from_utf8(&text).is_err();
                let (header_line, header_end) = split_line_end(&text[raw.header_span.clone()]);
                // Trailing X-RINGBOOK-* columns are Ringbook's own (written by an earlier sync).
                let first_ext = (0..=raw.headers.len())
                    .find(|&k| {
                        raw.headers[k..]
                            .iter()
                            .all(|h| h.trim().to_ascii_uppercase().starts_with(EXT_PREFIX))
                    })
                    .unwrap_or(raw.headers.len());
                let starts = field_starts(header_line, delimiter);
                let core_len = |starts: &[usize], len: usize| match starts.get(first_ext) {
                    Some(&s) if first_ext > 0 => s - 1,
                    Some(_) => 0,
                    None => len,
                };
                let header_core = header_line[..core_len(&starts, header_line.len())].to_vec();
                let ext_columns: Vec<String> = raw.headers[first_ext..]
                    .iter()
                    .map(|h| h.trim().to_ascii_uppercase())
                    .collect();
                let entries = raw
                    .rows
                    .into_iter()
                    .map(|r| {
                        let (line, end) = split_line_end(&text[r.span]);
                        let starts = field_starts(line, delimiter);
                        let core = &line[..core_len(&starts, line.len())];
                        let mut ext = BTreeMap::new();
                        if !ext_columns.is_empty() && core.len() < line.len() {
                            let tail = &line[(core.len() + 1).min(line.len())..];
                            for (k, v) in ext_columns.iter().zip(cells_of(tail, delimiter)) {
                                if !v.is_empty() {
                                    ext.insert(k.clone(), v);
                                }
                            }
                        }
                        Entry {
                            raw: Raw::Row {
                                core: core.to_vec(),
                                end: end.to_vec(),
                                ext,
                            },
                            parsed: r.parsed,
                            name: r.name,
                        }
                    })
                    .collect();
                Ok(PhoneBook {
                    encoding,
                    preamble,
                    layout: Layout::Csv {
                        delimiter,
                        columns: raw.headers[..first_ext].to_vec(),
                        header_core,
                        header_end: header_end.to_vec(),
                        ext_columns,
                        legacy_8bit,
                    },
                    entries,
                    newline,
                    region,
                })
            }
        }
    }

    /// An empty vCard phone book whose new cards are of `version`.
    pub fn new_vcard(
        version: VcardVersion,
        default_region: &str,
    ) -> Result<PhoneBook, ImportError> {
        Ok(PhoneBook {
            encoding: FileEncoding::Bytes,
            preamble: Vec::new(),
            layout: Layout::Vcard { version },
            entries: Vec::new(),
            newline: "\r\n",
            region: Region::parse(default_region)?,
        })
    }

    /// An empty CSV phone book with the header of `source` (a CSV [`EntrySource`]).
    pub fn new_csv_like(
        source: &EntrySource,
        default_region: &str,
    ) -> Result<PhoneBook, ImportError> {
        let mut book = PhoneBook::parse(&source.bytes, default_region)?;
        book.entries.clear();
        book.preamble.clear();
        Ok(book)
    }

    /// vCard or CSV.
    pub fn format(&self) -> Format {
        match self.layout {
            Layout::Vcard { .. } => Format::Vcard,
            Layout::Csv { .. } => Format::Csv,
        }
    }

    /// The entries in file order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The imported contacts and the skipped entries, as [`crate::import_file`] reports them.
    pub fn report(&self) -> ImportReport {
        let mut report = ImportReport::default();
        for (index, e) in self.entries.iter().enumerate() {
            match &e.parsed {
                Ok(c) => report.contacts.push(c.clone()),
                Err(reason) => report.skipped.push(Skipped {
                    index,
                    name: e.name.clone(),
                    reason: reason.clone(),
                }),
            }
        }
        report
    }

    /// Index of the entry whose default mobile is `mobile` (searched from the end: an entry
    /// just pushed is found at once).
    pub fn position(&self, mobile: &str) -> Option<usize> {
        self.entries
            .iter()
            .rposition(|e| e.parsed.as_ref().is_ok_and(|c| c.mobile == mobile))
    }

    /// [`PhoneBook::set_extensions`] for many entries in one pass: `ext` by default mobile.
    pub fn set_all_extensions(&mut self, ext: &HashMap<String, BTreeMap<String, String>>) {
        for i in 0..self.entries.len() {
            let wanted = match &self.entries[i].parsed {
                Ok(c) => ext.get(&c.mobile),
                Err(_) => None,
            };
            if let Some(wanted) = wanted.cloned() {
                self.set_entry_extensions(i, &wanted);
            }
        }
    }

    /// The bytes of entry `index` on their own (for [`PhoneBook::push_source`] later).
    pub fn source(&self, index: usize) -> Option<EntrySource> {
        let e = self.entries.get(index)?;
        Some(match (&e.raw, &self.layout) {
            (Raw::Card(b), _) => EntrySource {
                format: Format::Vcard,
                bytes: b.clone(),
            },
            (
                Raw::Row { core, end, .. },
                Layout::Csv {
                    header_core,
                    header_end,
                    ..
                },
            ) => {
                let mut bytes = header_core.clone();
                bytes.extend_from_slice(header_end);
                bytes.extend_from_slice(core);
                bytes.extend_from_slice(end);
                EntrySource {
                    format: Format::Csv,
                    bytes,
                }
            }
            (Raw::Row { .. }, Layout::Vcard { .. }) => return None,
        })
    }

    /// Appends the entry kept in `source` when it fits this book (a card into a vCard book, a
    /// row with the same header into a CSV book); returns whether it did.
    pub fn push_source(&mut self, source: &EntrySource) -> bool {
        let Ok(one) = PhoneBook::parse_in(&source.bytes, self.region, &mut |_, _| {}) else {
            return false;
        };
        let fits = match (&self.layout, &one.layout) {
            (Layout::Vcard { .. }, Layout::Vcard { .. }) => true,
            (Layout::Csv { header_core: a, .. }, Layout::Csv { header_core: b, .. }) => a == b,
            _ => false,
        };
        if !fits {
            return false;
        }
        let mut pushed = false;
        for mut e in one.entries {
            if let Raw::Card(bytes) = &mut e.raw {
                // A card taken from the middle of a file may lack a final line end.
                if !bytes.ends_with(b"\n") {
                    bytes.extend_from_slice(self.newline.as_bytes());
                }
            }
            self.entries.push(e);
            pushed = true;
        }
        pushed
    }

    /// Applies sync changes (PB-9): updates in place, additions at the end, deletions.
    pub fn apply(&mut self, changes: &[Change]) {
        for change in changes {
            match change {
                Change::Add(c) | Change::Update(c) => {
                    if !self.update(&c.mobile, c) {
                        self.add(c);
                    }
                }
                Change::Delete(key) => while self.remove(key) {},
            }
        }
    }

    /// Appends a new entry for `c` (a card in the book's vCard version and line ends, or a row
    /// filled column by column).
    pub fn add(&mut self, c: &PhonebookContact) {
        let raw = match &self.layout {
            Layout::Vcard { version } => {
                let mut out = String::new();
                write_card(&mut out, c, *version, self.newline);
                Raw::Card(out.into_bytes())
            }
            Layout::Csv {
                delimiter,
                columns,
                legacy_8bit,
                ..
            } => {
                let cells = new_row(columns, c);
                let mut core = Vec::new();
                for (i, cell) in cells.iter().enumerate() {
                    if i > 0 {
                        core.push(*delimiter);
                    }
                    core.extend_from_slice(&csv_cell(cell, *delimiter, *legacy_8bit));
                }
                Raw::Row {
                    core,
                    end: self.newline.as_bytes().to_vec(),
                    ext: BTreeMap::new(),
                }
            }
        };
        self.entries.push(Entry {
            raw,
            parsed: Ok(c.clone()),
            name: Some(c.display_name.clone()),
        });
        // A file whose last line had no line end: the new entry must start on its own line.
        let n = self.entries.len();
        if n >= 2 {
            let newline = self.newline.as_bytes().to_vec();
            match &mut self.entries[n - 2].raw {
                Raw::Card(b) if !b.ends_with(b"\n") => b.extend_from_slice(&newline),
                Raw::Row { end, .. } if end.is_empty() => *end = newline,
                _ => {}
            }
        }
    }

    /// Removes the entry whose default mobile is `mobile`; returns whether there was one.
    pub fn remove(&mut self, mobile: &str) -> bool {
        match self.position(mobile) {
            Some(i) => {
                self.entries.remove(i);
                true
            }
            None => false,
        }
    }

    /// Rewrites the entry whose default mobile is `new.mobile` so that it reads as `new`,
    /// changing only the properties (cells) whose value changed. Returns false when there is
    /// no such entry. `X-RINGBOOK-*` extensions are set with [`PhoneBook::set_extensions`].
    pub fn update(&mut self, mobile: &str, new: &PhonebookContact) -> bool {
        let Some(i) = self.position(mobile) else {
            return false;
        };
        let region = self.region;
        let entry = &mut self.entries[i];
        let Ok(old) = entry.parsed.clone() else {
            return false;
        };
        if old.mobile != new.mobile {
            // A new key is a new contact: replace the entry.
            self.entries.remove(i);
            self.add(new);
            return true;
        }
        match (&mut entry.raw, &self.layout) {
            (Raw::Card(bytes), _) => {
                let mut card = CardEdit::new(bytes);
                card.apply(&old, new, region);
                *bytes = card.into_bytes();
            }
            (
                Raw::Row { core, .. },
                Layout::Csv {
                    delimiter,
                    columns,
                    legacy_8bit,
                    ..
                },
            ) => {
                *core = edit_row(core, *delimiter, columns, *legacy_8bit, &old, new, region);
            }
            (Raw::Row { .. }, Layout::Vcard { .. }) => {}
        }
        let mut parsed = new.clone();
        parsed.extensions = old.extensions;
        entry.parsed = Ok(parsed);
        entry.name = Some(new.display_name.clone());
        true
    }

    /// Sets the `X-RINGBOOK-*` properties (PB-10) of the entry whose default mobile is
    /// `mobile` to exactly `ext` (other keys are ignored). An entry that already holds them is
    /// left byte for byte as it is.
    pub fn set_extensions(&mut self, mobile: &str, ext: &BTreeMap<String, String>) {
        if let Some(i) = self.position(mobile) {
            self.set_entry_extensions(i, ext);
        }
    }

    fn set_entry_extensions(&mut self, i: usize, ext: &BTreeMap<String, String>) {
        let wanted: BTreeMap<String, String> = ext
            .iter()
            .map(|(k, v)| (k.to_ascii_uppercase(), v.clone()))
            .filter(|(k, v)| k.starts_with(EXT_PREFIX) && is_property_name(k) && !v.is_empty())
            .collect();
        let entry = &mut self.entries[i];
        let Ok(parsed) = entry.parsed.as_mut() else {
            return;
        };
        let current: BTreeMap<String, String> = parsed
            .extensions
            .iter()
            .filter(|(k, _)| k.starts_with(EXT_PREFIX))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if current == wanted {
            return;
        }
        parsed.extensions.retain(|k, _| !k.starts_with(EXT_PREFIX));
        parsed.extensions.extend(wanted.clone());
        match &mut entry.raw {
            Raw::Card(bytes) => {
                let mut card = CardEdit::new(bytes);
                card.lines
                    .retain(|l| !l.name.as_deref().is_some_and(|n| n.starts_with(EXT_PREFIX)));
                for (k, v) in &wanted {
                    card.insert_before_end(k, &escape(v));
                }
                *bytes = card.into_bytes();
            }
            Raw::Row { ext, .. } => *ext = wanted,
        }
    }

    /// The book as bytes: unchanged entries exactly as they were read.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.preamble.clone();
        match &self.layout {
            Layout::Vcard { .. } => {
                for e in &self.entries {
                    if let Raw::Card(b) = &e.raw {
                        out.extend_from_slice(b);
                    }
                }
            }
            Layout::Csv {
                delimiter,
                header_core,
                header_end,
                ext_columns,
                legacy_8bit,
                ..
            } => {
                // Columns: those the file had (kept even when empty now), then new keys.
                let mut columns = ext_columns.clone();
                let mut used: Vec<&String> = self
                    .entries
                    .iter()
                    .filter_map(|e| match &e.raw {
                        Raw::Row { ext, .. } => Some(ext.keys()),
                        Raw::Card(_) => None,
                    })
                    .flatten()
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect();
                used.retain(|k| !columns.contains(k));
                columns.extend(used.into_iter().cloned());
                out.extend_from_slice(header_core);
                for c in &columns {
                    out.push(*delimiter);
                    out.extend_from_slice(&csv_cell(c, *delimiter, *legacy_8bit));
                }
                out.extend_from_slice(header_end);
                for e in &self.entries {
                    if let Raw::Row { core, end, ext } = &e.raw {
                        out.extend_from_slice(core);
                        for c in &columns {
                            out.push(*delimiter);
                            let v = ext.get(c).map(String::as_str).unwrap_or_default();
                            out.extend_from_slice(&csv_cell(v, *delimiter, *legacy_8bit));
                        }
                        out.extend_from_slice(end);
                    }
                }
            }
        }
        match self.encoding {
            FileEncoding::Bytes => out,
            FileEncoding::Utf16 { big_endian } => {
                let text = String::from_utf8_lossy(&out);
                let mut bytes = Vec::with_capacity(out.len() * 2 + 2);
                let bom: u16 = 0xFEFF;
                for u in std::iter::once(bom).chain(text.encode_utf16()) {
                    if big_endian {
                        bytes.extend_from_slice(&u.to_be_bytes());
                    } else {
                        bytes.extend_from_slice(&u.to_le_bytes());
                    }
                }
                bytes
            }
        }
    }
}

/// The `VERSION` of a card.
fn card_version(card: &[u8]) -> Option<VcardVersion> {
    logical_lines(card).iter().find_map(|l| {
        let p = parse_property(&l.content)?;
        (p.name == "VERSION").then(|| p.value.as_deref().and_then(VcardVersion::parse))?
    })
}

// ---------------------------------------------------------------------------------------------
// Editing a card in place
// ---------------------------------------------------------------------------------------------

/// A card as a list of logical lines, each with its exact bytes (folds and line ends).
struct CardEdit {
    lines: Vec<CardLine>,
    version: VcardVersion,
    newline: &'static str,
}

struct CardLine {
    bytes: Vec<u8>,
    /// Upper-cased property name without its group; `None` for blank lines and junk.
    name: Option<String>,
}

impl CardEdit {
    fn new(card: &[u8]) -> CardEdit {
        let lines = logical_lines(card)
            .into_iter()
            .map(|l| CardLine {
                name: parse_property(&l.content).map(|p| p.name),
                bytes: card[l.span].to_vec(),
            })
            .collect();
        CardEdit {
            lines,
            version: card_version(card).unwrap_or(VcardVersion::V3),
            newline: newline_of(card),
        }
    }

    fn into_bytes(self) -> Vec<u8> {
        self.lines.into_iter().flat_map(|l| l.bytes).collect()
    }

    fn line(&self, head: &str, value: &str) -> CardLine {
        let mut out = String::new();
        push_property(&mut out, self.version, head, value, self.newline);
        let name = head.split(';').next().unwrap_or(head);
        let name = name.rsplit('.').next().unwrap_or(name).to_ascii_uppercase();
        CardLine {
            bytes: out.into_bytes(),
            name: Some(name),
        }
    }

    /// Index of the `END:VCARD` line (or the end).
    fn end_index(&self) -> usize {
        self.lines
            .iter()
            .position(|l| is_keyword_line(&l.bytes, b"END:VCARD"))
            .unwrap_or(self.lines.len())
    }

    fn insert_before_end(&mut self, head: &str, value: &str) {
        let at = self.end_index();
        let line = self.line(head, value);
        self.lines.insert(at, line);
    }

    /// The properties named `name`: (line index, parsed property).
    fn props(&self, name: &str) -> Vec<(usize, crate::vcard::Property)> {
        self.lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.name.as_deref() == Some(name))
            .filter_map(|(i, l)| {
                let content: Vec<u8> = logical_lines(&l.bytes)
                    .into_iter()
                    .next()
                    .map(|l| l.content)
                    .unwrap_or_default();
                parse_property(&content).map(|p| (i, p))
            })
            .collect()
    }

    /// The head (`group.NAME;params`, without encoding parameters) of line `i`.
    fn head_of(&self, i: usize) -> String {
        let content = logical_lines(&self.lines[i].bytes)
            .into_iter()
            .next()
            .map(|l| l.content)
            .unwrap_or_default();
        let head = &content[..header_end(&content).unwrap_or(content.len())];
        let head = String::from_utf8_lossy(head);
        let mut parts = head.split(';');
        let mut out = parts.next().unwrap_or_default().to_string();
        for p in parts {
            let upper = p.trim().to_ascii_uppercase();
            if upper.starts_with("ENCODING=")
                || upper.starts_with("CHARSET=")
                || upper == "QUOTED-PRINTABLE"
                || upper == "8BIT"
            {
                continue;
            }
            out.push(';');
            out.push_str(p);
        }
        out
    }

    /// Sets a single-valued property: rewrites the first line (keeping its group and
    /// parameters), inserts one before `END:VCARD`, or removes them all for `None`.
    fn set_single(&mut self, name: &str, value: Option<&str>) {
        let found = self.props(name);
        match (value, found.first()) {
            (Some(v), Some((i, _))) => {
                let head = self.head_of(*i);
                self.lines[*i] = self.line(&head, v);
            }
            (Some(v), None) => self.insert_before_end(name, v),
            (None, _) => {
                let drop: HashSet<usize> = found.iter().map(|(i, _)| *i).collect();
                let mut n = 0;
                self.lines.retain(|_| {
                    n += 1;
                    !drop.contains(&(n - 1))
                });
            }
        }
    }

    /// Edits a structured value's first components (`N`, `ORG`), keeping the others.
    fn set_components(&mut self, name: &str, comps: &[(usize, Option<&str>)]) {
        let found = self.props(name);
        let mut values: Vec<String> = found
            .first()
            .and_then(|(_, p)| p.value.as_deref().map(|v| split_escaped(v, ';')))
            .unwrap_or_default();
        for &(i, v) in comps {
            if values.len() <= i {
                values.resize(i + 1, String::new());
            }
            values[i] = v.unwrap_or_default().to_string();
        }
        if name == "N" && values.len() < 5 {
            values.resize(5, String::new());
        }
        let value: Vec<String> = values.iter().map(|v| escape(v)).collect();
        let value = value.join(";");
        if value.chars().all(|c| c == ';') && name != "N" {
            self.set_single(name, None);
        } else {
            self.set_single(name, Some(&value));
        }
    }

    fn apply(&mut self, old: &PhonebookContact, new: &PhonebookContact, region: Region) {
        if old.display_name != new.display_name {
            self.set_single("FN", Some(&escape(&new.display_name)));
        }
        if old.family_name != new.family_name || old.given_name != new.given_name {
            self.set_components(
                "N",
                &[
                    (0, new.family_name.as_deref()),
                    (1, new.given_name.as_deref()),
                ],
            );
        }
        if old.nickname != new.nickname {
            self.set_single("NICKNAME", new.nickname.as_deref().map(escape).as_deref());
        }
        if old.org != new.org {
            self.set_components("ORG", &[(0, new.org.as_deref())]);
        }
        for (name, a, b) in [
            ("TITLE", &old.title, &new.title),
            ("NOTE", &old.note, &new.note),
            ("UID", &old.uid, &new.uid),
        ] {
            if a != b {
                self.set_single(name, b.as_deref().map(escape).as_deref());
            }
        }
        if old.groups != new.groups {
            let list: Vec<String> = new.groups.iter().map(|g| escape(g)).collect();
            let value = (!list.is_empty()).then(|| list.join(","));
            self.set_single("CATEGORIES", value.as_deref());
        }
        if old.emails != new.emails {
            let version = self.version;
            self.set_list(
                "EMAIL",
                &old.emails,
                &new.emails,
                |v| v.trim().to_ascii_lowercase(),
                |e| {
                    let head = match version {
                        VcardVersion::V21 => "EMAIL;INTERNET",
                        VcardVersion::V3 => "EMAIL;TYPE=INTERNET",
                        VcardVersion::V4 => "EMAIL",
                    };
                    (head.to_string(), escape(e))
                },
            );
        }
        if old.other_mobiles != new.other_mobiles {
            let key = move |v: &str| {
                let v = v.trim();
                let v = v.strip_prefix("tel:").unwrap_or(v);
                normalize_number_in(v, region)
                    .map(|(e164, _)| e164)
                    .unwrap_or_else(|_| v.to_string())
            };
            let version = self.version;
            self.set_list("TEL", &old.other_mobiles, &new.other_mobiles, key, |t| {
                tel_line(version, false, t)
            });
        }
    }

    /// List properties (`EMAIL`, `TEL`): removes the lines of values gone from the list and
    /// adds lines for new values; the other lines stay as they are.
    fn set_list(
        &mut self,
        name: &str,
        old: &[String],
        new: &[String],
        key: impl Fn(&str) -> String,
        make: impl Fn(&str) -> (String, String),
    ) {
        let new_keys: HashSet<String> = new.iter().map(|v| key(v)).collect();
        let old_keys: HashSet<String> = old.iter().map(|v| key(v)).collect();
        let gone: HashSet<usize> = self
            .props(name)
            .into_iter()
            .filter(|(_, p)| {
                p.value.as_deref().is_some_and(|v| {
                    let k = key(&crate::vcard::unescape(v));
                    old_keys.contains(&k) && !new_keys.contains(&k)
                })
            })
            .map(|(i, _)| i)
            .collect();
        let mut n = 0;
        self.lines.retain(|_| {
            n += 1;
            !gone.contains(&(n - 1))
        });
        let present: HashSet<String> = self
            .props(name)
            .into_iter()
            .filter_map(|(_, p)| p.value.map(|v| key(&crate::vcard::unescape(&v))))
            .collect();
        for v in new {
            if !present.contains(&key(v)) {
                let (head, value) = make(v);
                self.insert_before_end(&head, &value);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// CSV rows
// ---------------------------------------------------------------------------------------------

/// The cells of a new row for `c`, column by column.
fn new_row(columns: &[String], c: &PhonebookContact) -> Vec<String> {
    let cols = classify_headers(columns);
    let has_name = cols.iter().any(|c| matches!(c, Some(Col::Name)));
    let mut phone_done = false;
    let mut email_done = false;
    cols.iter()
        .enumerate()
        .map(|(i, col)| {
            let header = columns[i].trim().to_lowercase();
            if header.ends_with(" - type") || header.ends_with(" - label") {
                // The label of the first phone column says it is a mobile.
                let value_col = header
                    .trim_end_matches(" - type")
                    .trim_end_matches(" - label")
                    .to_string()
                    + " - value";
                let first_phone = cols
                    .iter()
                    .enumerate()
                    .find_map(|(j, c)| matches!(c, Some(Col::Phone { .. })).then_some(j));
                return match first_phone {
                    Some(j) if columns[j].trim().to_lowercase() == value_col => "Mobile".into(),
                    _ => String::new(),
                };
            }
            match col {
                Some(Col::Name) => c.display_name.clone(),
                Some(Col::Given) if !has_name && c.given_name.is_none() => c.display_name.clone(),
                Some(Col::Given) => c.given_name.clone().unwrap_or_default(),
                Some(Col::Family) => c.family_name.clone().unwrap_or_default(),
                Some(Col::Nickname) => c.nickname.clone().unwrap_or_default(),
                Some(Col::Note) => c.note.clone().unwrap_or_default(),
                Some(Col::Org) => c.org.clone().unwrap_or_default(),
                Some(Col::Title) => c.title.clone().unwrap_or_default(),
                Some(Col::Groups) => c.groups.join(" ::: "),
                Some(Col::Categories) => c.groups.join(";"),
                Some(Col::Email) if !email_done => {
                    email_done = true;
                    c.emails.join(" ::: ")
                }
                Some(Col::Phone { .. }) if !phone_done => {
                    phone_done = true;
                    std::iter::once(c.mobile.as_str())
                        .chain(c.other_mobiles.iter().map(String::as_str))
                        .collect::<Vec<_>>()
                        .join(" ::: ")
                }
                _ => String::new(),
            }
        })
        .collect()
}

/// Rewrites the cells of a row whose parsed value changed from `old` to `new`; other cells
/// keep their bytes.
fn edit_row(
    core: &[u8],
    delimiter: u8,
    columns: &[String],
    legacy_8bit: bool,
    old: &PhonebookContact,
    new: &PhonebookContact,
    region: Region,
) -> Vec<u8> {
    let cols = classify_headers(columns);
    let cells = cells_of(core, delimiter);
    let cell = |i: usize| cells.get(i).cloned().unwrap_or_default();
    let has_name = cols.iter().any(|c| matches!(c, Some(Col::Name)));
    let mut set: BTreeMap<usize, String> = BTreeMap::new();
    let first = |want: fn(&Col) -> bool| cols.iter().position(|c| c.as_ref().is_some_and(want));
    let name_changed = old.display_name != new.display_name;
    if name_changed {
        if let Some(i) = first(|c| matches!(c, Col::Name)) {
            set.insert(i, new.display_name.clone());
        }
    }
    let given = if !has_name && name_changed && new.given_name == old.given_name {
        // The name is made of the name columns: the new name goes to the first of them.
        Some(new.display_name.clone())
    } else {
        (old.given_name != new.given_name).then(|| new.given_name.clone().unwrap_or_default())
    };
    if let (Some(v), Some(i)) = (given, first(|c| matches!(c, Col::Given))) {
        set.insert(i, v);
        if !has_name && name_changed && new.family_name == old.family_name {
            for (j, c) in cols.iter().enumerate() {
                if matches!(c, Some(Col::Family)) {
                    set.insert(j, String::new());
                }
            }
        }
    }
    if old.family_name != new.family_name {
        if let Some(i) = first(|c| matches!(c, Col::Family)) {
            set.insert(i, new.family_name.clone().unwrap_or_default());
        }
    }
    for (want, a, b) in [
        (Col::Nickname, &old.nickname, &new.nickname),
        (Col::Note, &old.note, &new.note),
        (Col::Org, &old.org, &new.org),
        (Col::Title, &old.title, &new.title),
    ] {
        if a != b {
            if let Some(i) = cols.iter().position(|c| c.as_ref() == Some(&want)) {
                set.insert(i, b.clone().unwrap_or_default());
            }
        }
    }
    if old.groups != new.groups {
        for (i, c) in cols.iter().enumerate() {
            match c {
                Some(Col::Groups) => {
                    // Google's system groups ("* myContacts") stay.
                    let mut list: Vec<String> = split_multi(&cell(i))
                        .filter(|g| g.starts_with('*'))
                        .map(str::to_string)
                        .collect();
                    list.extend(new.groups.iter().cloned());
                    set.insert(i, list.join(" ::: "));
                    break;
                }
                Some(Col::Categories) => {
                    set.insert(i, new.groups.join(";"));
                    break;
                }
                _ => {}
            }
        }
    }
    let mut edit_list =
        |want: fn(&Col) -> bool, old: &[String], new: &[String], key: &dyn Fn(&str) -> String| {
            let new_keys: HashSet<String> = new.iter().map(|v| key(v)).collect();
            let old_keys: HashSet<String> = old.iter().map(|v| key(v)).collect();
            let mut present = HashSet::new();
            let mut first_col = None;
            for (i, c) in cols.iter().enumerate() {
                if !c.as_ref().is_some_and(want) {
                    continue;
                }
                first_col.get_or_insert(i);
                let current = set.get(&i).cloned().unwrap_or_else(|| cell(i));
                let kept: Vec<&str> = split_multi(&current)
                    .filter(|v| {
                        let k = key(v);
                        !old_keys.contains(&k) || new_keys.contains(&k)
                    })
                    .collect();
                present.extend(kept.iter().map(|v| key(v)));
                if kept.len() != split_multi(&current).count() {
                    set.insert(i, kept.join(" ::: "));
                }
            }
            let added: Vec<&String> = new.iter().filter(|v| !present.contains(&key(v))).collect();
            if let (Some(i), false) = (first_col, added.is_empty()) {
                let current = set.get(&i).cloned().unwrap_or_else(|| cell(i));
                let mut list: Vec<String> = split_multi(&current).map(str::to_string).collect();
                list.extend(added.into_iter().cloned());
                set.insert(i, list.join(" ::: "));
            }
        };
    if old.emails != new.emails {
        edit_list(
            |c| matches!(c, Col::Email),
            &old.emails,
            &new.emails,
            &|v: &str| v.trim().to_ascii_lowercase(),
        );
    }
    if old.other_mobiles != new.other_mobiles {
        edit_list(
            |c| matches!(c, Col::Phone { .. }),
            &old.other_mobiles,
            &new.other_mobiles,
            &|v: &str| {
                normalize_number_in(v, region)
                    .map(|(e164, _)| e164)
                    .unwrap_or_else(|_| v.trim().to_string())
            },
        );
    }
    if set.is_empty() {
        return core.to_vec();
    }
    // Splice the changed cells into the row; the others keep their bytes and quoting.
    let mut starts = field_starts(core, delimiter);
    let mut row = core.to_vec();
    let max = set.keys().copied().max().unwrap_or(0);
    while starts.len() <= max {
        row.push(delimiter);
        starts.push(row.len());
    }
    for (&i, v) in set.iter().rev() {
        let start = starts[i];
        let end = starts.get(i + 1).map_or(row.len(), |&s| s - 1);
        row.splice(start..end, csv_cell(v, delimiter, legacy_8bit));
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(book: &PhoneBook, mobile: &str) -> PhonebookContact {
        let i = book.position(mobile).expect("entry");
        book.entries()[i].parsed.clone().expect("contact")
    }

    const IPHONE: &str = "BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//Apple Inc.//iPhone OS 17.4//EN\r\nN:Appleseed;John;;;\r\nFN:John Appleseed\r\nitem1.EMAIL;type=INTERNET;type=pref:john@example.com\r\nitem1.X-ABLabel:_$!<Other>!$_\r\nTEL;type=HOME;type=VOICE;type=pref:+1 (408) 555-0100\r\nitem2.TEL:+86 138 0013 8001\r\nitem2.X-ABLabel:_$!<Mobile>!$_\r\nitem3.ADR;type=HOME:;;1 Infinite Loop;Cupertino;CA;95014;USA\r\nPHOTO;ENCODING=b;TYPE=JPEG:yMnKy8zNzs/Q0dLT1NXW19jZ2tvc3d7f4OHi4+Tl5ufo6err\r\n 7O3u7/Dx8vP09fb3+Pn6+/z9/v8=\r\nX-SOCIALPROFILE;type=twitter:x-apple:johnny\r\nEND:VCARD\r\n";

    #[test]
    fn untouched_book_is_byte_for_byte() {
        for data in [
            IPHONE.as_bytes().to_vec(),
            b"\xEF\xBB\xBFBEGIN:VCARD\nVERSION:2.1\nFN:A\nTEL;CELL:13800138000\nEND:VCARD\n\n"
                .to_vec(),
            b"Name,Mobile,Home Phone\r\nA,13800138000,010 1234 5678\r\n\"B, Jr\",13900000000,\r\n"
                .to_vec(),
            b"Name,Mobile\nA,13800138000".to_vec(),
        ] {
            let book = PhoneBook::parse(&data, "CN").expect("parse");
            assert_eq!(book.to_bytes(), data);
        }
    }

    #[test]
    fn extensions_are_added_before_end_and_idempotent() {
        let mut book = PhoneBook::parse(IPHONE.as_bytes(), "CN").expect("parse");
        let mut ext = BTreeMap::new();
        ext.insert("X-RINGBOOK-USER".to_string(), "1".to_string());
        book.set_extensions("+8613800138001", &ext);
        let out = String::from_utf8(book.to_bytes()).expect("utf8");
        assert_eq!(
            out,
            IPHONE.replace("END:VCARD", "X-RINGBOOK-USER:1\r\nEND:VCARD")
        );
        let mut again = PhoneBook::parse(out.as_bytes(), "CN").expect("parse");
        again.set_extensions("+8613800138001", &ext);
        assert_eq!(again.to_bytes(), out.as_bytes());
        again.set_extensions("+8613800138001", &BTreeMap::new());
        assert_eq!(again.to_bytes(), IPHONE.as_bytes());
    }

    #[test]
    fn name_edit_rewrites_only_fn() {
        let mut book = PhoneBook::parse(IPHONE.as_bytes(), "CN").expect("parse");
        let mut c = contact(&book, "+8613800138001");
        c.display_name = "Johnny".into();
        c.emails.push("j2@example.com".into());
        assert!(book.update("+8613800138001", &c));
        let out = String::from_utf8(book.to_bytes()).expect("utf8");
        let expected = IPHONE.replace("FN:John Appleseed", "FN:Johnny").replace(
            "END:VCARD",
            "EMAIL;TYPE=INTERNET:j2@example.com\r\nEND:VCARD",
        );
        assert_eq!(out, expected);
        let reread = PhoneBook::parse(out.as_bytes(), "CN").expect("parse");
        assert_eq!(contact(&reread, "+8613800138001"), c);
    }

    #[test]
    fn android_21_edit_keeps_quoted_printable_style() {
        let data = "BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E5=BC=A0;=E4=B8=89;;;\r\nFN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E5=BC=A0=E4=B8=89\r\nTEL;HOME:010-12345678\r\nTEL;CELL:138 0013 8000\r\nEND:VCARD\r\n";
        let mut book = PhoneBook::parse(data.as_bytes(), "CN").expect("parse");
        let mut c = contact(&book, "+8613800138000");
        c.display_name = "张三丰".into();
        book.update("+8613800138000", &c);
        let mut ext = BTreeMap::new();
        ext.insert("X-RINGBOOK-NICKNAME".to_string(), "三丰".to_string());
        book.set_extensions("+8613800138000", &ext);
        let out = String::from_utf8(book.to_bytes()).expect("utf8");
        assert!(out.contains("TEL;HOME:010-12345678\r\n"), "{out}");
        assert!(
            out.contains(
                "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E5=BC=A0=E4=B8=89=E4=B8=B0\r\n"
            ),
            "{out}"
        );
        let reread = PhoneBook::parse(out.as_bytes(), "CN").expect("parse");
        let r = contact(&reread, "+8613800138000");
        assert_eq!(r.display_name, "张三丰");
        assert_eq!(
            r.extensions.get("X-RINGBOOK-NICKNAME").map(String::as_str),
            Some("三丰")
        );
    }

    #[test]
    fn add_and_remove_follow_the_file() {
        let data = "BEGIN:VCARD\nVERSION:2.1\nFN:A\nTEL;CELL:13800138000\nEND:VCARD\n";
        let mut book = PhoneBook::parse(data.as_bytes(), "CN").expect("parse");
        let new = PhonebookContact {
            display_name: "李雷".into(),
            mobile: "+8613900000000".into(),
            ..PhonebookContact::default()
        };
        book.apply(&[Change::Add(new.clone())]);
        let out = String::from_utf8(book.to_bytes()).expect("utf8");
        assert!(out.starts_with(data), "{out}");
        assert!(
            out.contains(
                "VERSION:2.1\nFN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E6=9D=8E=E9=9B=B7\n"
            ),
            "{out}"
        );
        let reread = PhoneBook::parse(out.as_bytes(), "CN").expect("parse");
        assert_eq!(contact(&reread, "+8613900000000").display_name, "李雷");
        book.apply(&[Change::Delete("+8613800138000".into())]);
        assert!(!String::from_utf8(book.to_bytes())
            .expect("utf8")
            .contains("FN:A"));
    }

    #[test]
    fn csv_keeps_every_column_and_adds_ringbook_columns() {
        let data = "First Name,Last Name,Notes,Phone 1 - Label,Phone 1 - Value,Phone 2 - Label,Phone 2 - Value,Address 1 - Formatted\r\n三,张,\"a, b\",Mobile,+86 138 0013 8000,Work,010 1234 5678,\"1 Road\nBeijing\"\r\nFix,Line,,Work,010 8888 6666,,,\r\n";
        let mut book = PhoneBook::parse(data.as_bytes(), "CN").expect("parse");
        let mut ext = BTreeMap::new();
        ext.insert("X-RINGBOOK-STATUS".to_string(), "busy".to_string());
        book.set_extensions("+8613800138000", &ext);
        let out = String::from_utf8(book.to_bytes()).expect("utf8");
        let expected = "First Name,Last Name,Notes,Phone 1 - Label,Phone 1 - Value,Phone 2 - Label,Phone 2 - Value,Address 1 - Formatted,X-RINGBOOK-STATUS\r\n三,张,\"a, b\",Mobile,+86 138 0013 8000,Work,010 1234 5678,\"1 Road\nBeijing\",busy\r\nFix,Line,,Work,010 8888 6666,,,,\r\n";
        assert_eq!(out, expected);
        // Read back: the column is recognised as Ringbook's; unchanged means byte for byte.
        let mut again = PhoneBook::parse(out.as_bytes(), "CN").expect("parse");
        assert_eq!(again.to_bytes(), out.as_bytes());
        again.set_extensions("+8613800138000", &ext);
        assert_eq!(again.to_bytes(), out.as_bytes());
        // A name edit rewrites the name cells only; an added contact fills the columns.
        let mut c = contact(&again, "+8613800138000");
        c.display_name = "张三丰".into();
        again.update("+8613800138000", &c);
        again.add(&PhonebookContact {
            display_name: "Li Lei".into(),
            mobile: "+8613900000000".into(),
            ..PhonebookContact::default()
        });
        let out = String::from_utf8(again.to_bytes()).expect("utf8");
        assert!(out.contains("张三丰,,\"a, b\",Mobile,+86 138 0013 8000,Work,010 1234 5678,\"1 Road\nBeijing\",busy\r\n"), "{out}");
        assert!(
            out.ends_with("Li Lei,,,Mobile,+8613900000000,,,,\r\n"),
            "{out}"
        );
        let reread = PhoneBook::parse(out.as_bytes(), "CN").expect("parse");
        assert_eq!(contact(&reread, "+8613800138000").display_name, "张三丰");
        assert_eq!(contact(&reread, "+8613900000000").display_name, "Li Lei");
    }

    #[test]
    fn sources_rebuild_an_entry() {
        let book = PhoneBook::parse(IPHONE.as_bytes(), "CN").expect("parse");
        let src = book.source(0).expect("source");
        let mut out = PhoneBook::new_vcard(VcardVersion::V4, "CN").expect("book");
        assert!(out.push_source(&src));
        assert_eq!(out.to_bytes(), IPHONE.as_bytes());
        let csv =
            PhoneBook::parse(b"Name,Mobile,Email\r\nA,13800138000,a@x\r\n", "CN").expect("csv");
        let src = csv.source(0).expect("source");
        let mut out = PhoneBook::new_csv_like(&src, "CN").expect("book");
        assert!(out.push_source(&src));
        assert_eq!(
            out.to_bytes(),
            b"Name,Mobile,Email\r\nA,13800138000,a@x\r\n"
        );
        assert!(!out.push_source(&book.source(0).expect("card")));
    }

    #[test]
    fn utf16_is_written_back_as_utf16() {
        let text = "Name,Mobile\r\n张三,13800138000\r\n";
        let mut data = b"\xFF\xFE".to_vec();
        for u in text.encode_utf16() {
            data.extend_from_slice(&u.to_le_bytes());
        }
        let book = PhoneBook::parse(&data, "CN").expect("parse");
        assert_eq!(book.to_bytes(), data);
    }
}
