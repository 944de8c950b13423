//! CSV import (PB-8): Google Contacts (old "Name,Given Name,…,Phone 1 - Type,Phone 1 - Value"
//! and new "First Name,Middle Name,Last Name,…,Phone 1 - Label,Phone 1 - Value" layouts),
//! Outlook ("Mobile Phone", "Home Phone", "Business Phone", …) and simple "Name,Phone" files.
//!
//! * Columns are recognised by header name (case-insensitive); unknown columns are ignored.
//! * A cell may hold several values separated by ` ::: ` (Google).
//! * The delimiter (`,`, `;` or tab) is taken from the header line.
//! * Fields that are not UTF-8 are decoded as GB18030 (Excel on Chinese Windows writes GBK).
//! * "First stored" mobile (PB-8): Google's `Phone N` columns count in N order. Outlook has
//!   fixed slots rather than a stored order, so its dedicated "Mobile Phone" slot counts first,
//!   then the other phone columns left to right.
//! * Google system groups (`* myContacts`, `* starred`) are dropped from the groups.

use std::collections::HashSet;
use std::ops::Range;

use crate::contact::{
    compose_name, non_empty, Draft, ImportReport, PhoneHint, PhonebookContact, RawPhone,
    SkipReason, Skipped,
};
use crate::number::Region;
use crate::vcard::decode_text;
use crate::ImportError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Col {
    Name,
    Given,
    Family,
    Nickname,
    Note,
    Groups,
    Categories,
    Email,
    Org,
    Title,
    /// An `X-RINGBOOK-*` column Ringbook added when it wrote the file back (PB-10).
    Ext,
    /// A phone value column; `type_col` is Google's "Phone N - Type/Label" column.
    Phone {
        hint: PhoneHint,
        type_col: Option<usize>,
        first: bool,
    },
}

fn phone_column_hint(h: &str) -> Option<(PhoneHint, bool)> {
    let cell = (PhoneHint::Cell, true);
    let h = h.trim();
    match h {
        "mobile phone" | "mobile" | "cell" | "cell phone" | "mobile number" | "手机"
        | "移动电话" | "手机号码" => return Some(cell),
        "phone" | "telephone" | "tel" | "phone number" | "primary phone" | "other phone"
        | "电话" | "电话号码" => return Some((PhoneHint::Unknown, false)),
        "pager" => return Some((PhoneHint::Fax, false)),
        _ => {}
    }
    if h.contains("fax") || h.contains("传真") {
        return Some((PhoneHint::Fax, false));
    }
    let base = h.trim_end_matches(|c: char| c.is_ascii_digit() || c == ' ');
    if let Some(kind) = base.strip_suffix(" phone") {
        let hint = match kind {
            "car" => PhoneHint::Cell,
            "home" | "business" | "company main" | "assistant's" | "tty/tdd" => PhoneHint::Landline,
            _ => PhoneHint::Unknown,
        };
        return Some((hint, false));
    }
    if h.ends_with("电话") {
        return Some((PhoneHint::Landline, false));
    }
    None
}

/// `"phone 3 - value"` → `Some("phone 3")` for a given `suffix`.
fn numbered(h: &str, prefix: &str, suffix: &str) -> bool {
    h.strip_prefix(prefix)
        .and_then(|r| r.strip_suffix(suffix))
        .is_some_and(|n| !n.trim().is_empty() && n.trim().bytes().all(|b| b.is_ascii_digit()))
}

pub(crate) fn classify_headers(headers: &[String]) -> Vec<Option<Col>> {
    let lower: Vec<String> = headers.iter().map(|h| h.trim().to_lowercase()).collect();
    lower
        .iter()
        .map(|h| {
            let h = h.as_str();
            Some(match h {
                "name" | "display name" | "full name" | "姓名" => Col::Name,
                "given name" | "first name" | "名" => Col::Given,
                "family name" | "last name" | "surname" | "姓" => Col::Family,
                "nickname" | "昵称" => Col::Nickname,
                "notes" | "note" | "备注" => Col::Note,
                "group membership" | "labels" | "group" | "groups" | "分组" => Col::Groups,
                "categories" => Col::Categories,
                "e-mail" | "email" | "e-mail address" | "email address" | "电子邮件" => {
                    Col::Email
                }
                "organization 1 - name" | "organization name" | "company" | "公司" => Col::Org,
                "organization 1 - title" | "organization title" | "job title" | "职位" => {
                    Col::Title
                }
                _ if numbered(h, "e-mail ", " - value") || numbered(h, "e-mail ", " address") => {
                    Col::Email
                }
                _ if numbered(h, "phone ", " - value") => {
                    let n = h.trim_end_matches(" - value");
                    let type_col = lower
                        .iter()
                        .position(|x| *x == format!("{n} - type") || *x == format!("{n} - label"));
                    Col::Phone {
                        hint: PhoneHint::Unknown,
                        type_col,
                        first: false,
                    }
                }
                _ if h.ends_with(" - type") || h.ends_with(" - label") => return None,
                _ if h.starts_with("x-ringbook-") => Col::Ext,
                _ => {
                    let (hint, first) = phone_column_hint(h)?;
                    Col::Phone {
                        hint,
                        type_col: None,
                        first,
                    }
                }
            })
        })
        .collect()
}

pub(crate) fn split_multi(cell: &str) -> impl Iterator<Item = &str> {
    cell.split(":::").map(str::trim).filter(|s| !s.is_empty())
}

fn sniff_delimiter(data: &[u8]) -> u8 {
    let first = data.split(|&b| b == b'\n').next().unwrap_or_default();
    let count = |d: u8| first.iter().filter(|&&b| b == d).count();
    [b',', b'\t', b';']
        .into_iter()
        .max_by_key(|&d| count(d))
        .unwrap_or(b',')
}

/// Parses a contacts CSV into an [`ImportReport`].
///
/// `data` must not start with a BOM (see [`crate::import_bytes`]). `progress` is called with
/// `(0, total)` first and then `(done, total)` after every data row. Fails with
/// [`ImportError::Csv`] when the header has no phone column.
pub fn parse_csv(
    data: &[u8],
    region: Region,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ImportReport, ImportError> {
    let rows = csv_entries(data, region, progress)?;
    let mut report = ImportReport::default();
    for (index, row) in rows.rows.into_iter().enumerate() {
        match row.parsed {
            Ok(c) => report.contacts.push(c),
            Err(reason) => report.skipped.push(Skipped {
                index,
                name: row.name,
                reason,
            }),
        }
    }
    Ok(report)
}

/// One data row of a CSV file: its exact bytes and what the importer made of it.
#[derive(Debug, Clone)]
pub(crate) struct RawRow {
    /// Byte span of the row in the data, line end included.
    pub span: Range<usize>,
    pub parsed: Result<PhonebookContact, SkipReason>,
    pub name: Option<String>,
}

/// A CSV file split into its header and rows.
#[derive(Debug, Clone)]
pub(crate) struct RawRows {
    pub delimiter: u8,
    /// The header's column names (decoded).
    pub headers: Vec<String>,
    /// Byte span of the header line, line end included.
    pub header_span: Range<usize>,
    pub rows: Vec<RawRow>,
}

/// Splits a CSV into header and rows (byte spans, from the reader's own positions so quoted
/// line breaks stay inside their row) and parses every row (PB-8 rules).
pub(crate) fn csv_entries(
    data: &[u8],
    region: Region,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<RawRows, ImportError> {
    let delimiter = sniff_delimiter(data);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(data);
    let headers: Vec<String> = reader
        .byte_headers()
        .map_err(|e| ImportError::Csv(e.to_string()))?
        .iter()
        .map(|f| decode_text(f, None))
        .collect();
    let cols = classify_headers(&headers);
    if !cols.iter().any(|c| matches!(c, Some(Col::Phone { .. }))) {
        return Err(ImportError::Csv(format!(
            "no phone column in the header ({} columns)",
            headers.len()
        )));
    }
    let phone_cols = phone_columns(&cols);
    let header_end = usize::try_from(reader.position().byte()).unwrap_or(data.len());
    let mut records: Vec<(Range<usize>, Result<csv::ByteRecord, csv::Error>)> = Vec::new();
    loop {
        let start = usize::try_from(reader.position().byte()).unwrap_or(data.len());
        let mut rec = csv::ByteRecord::new();
        match reader.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {
                let end = usize::try_from(reader.position().byte()).unwrap_or(data.len());
                records.push((start..end.max(start), Ok(rec)));
            }
            Err(e) => {
                let end = usize::try_from(reader.position().byte()).unwrap_or(data.len());
                let stuck = end <= start;
                records.push((start..end.max(start), Err(e)));
                if stuck {
                    break;
                }
            }
        }
    }
    // The last span runs to the end of the data (a final line without a line end).
    if let Some((span, _)) = records.last_mut() {
        span.end = data.len();
    }
    let total = records.len();
    progress(0, total);
    let mut rows = Vec::with_capacity(total);
    let mut seen = HashSet::new();
    for (index, (span, rec)) in records.into_iter().enumerate() {
        let (parsed, name) = match rec {
            Err(e) => (Err(SkipReason::Malformed(e.to_string())), None),
            Ok(rec) => {
                let draft = row_to_draft(&rec, &headers, &cols, &phone_cols);
                let name = draft.name();
                (draft.finish(region, &mut seen), name)
            }
        };
        rows.push(RawRow { span, parsed, name });
        progress(index + 1, total);
    }
    Ok(RawRows {
        delimiter,
        headers,
        header_span: 0..header_end.min(data.len()),
        rows,
    })
}

/// Phone columns in "first stored" order: dedicated mobile slots first, then left to right.
fn phone_columns(cols: &[Option<Col>]) -> Vec<(usize, PhoneHint, Option<usize>, bool)> {
    let mut phone_cols: Vec<(usize, PhoneHint, Option<usize>, bool)> = cols
        .iter()
        .enumerate()
        .filter_map(|(i, c)| match c {
            Some(Col::Phone {
                hint,
                type_col,
                first,
            }) => Some((i, *hint, *type_col, *first)),
            _ => None,
        })
        .collect();
    phone_cols.sort_by_key(|&(i, _, _, first)| (!first, i));
    phone_cols
}

fn row_to_draft(
    rec: &csv::ByteRecord,
    headers: &[String],
    cols: &[Option<Col>],
    phone_cols: &[(usize, PhoneHint, Option<usize>, bool)],
) -> Draft {
    let field = |i: usize| rec.get(i).map(|b| decode_text(b, None)).unwrap_or_default();
    let mut d = Draft::default();
    for (i, col) in cols.iter().enumerate() {
        let Some(col) = col else { continue };
        let v = field(i);
        match col {
            Col::Name => d.display_name = non_empty(&v),
            Col::Given => d.given_name = non_empty(&v),
            Col::Family => d.family_name = non_empty(&v),
            Col::Nickname => d.nickname = d.nickname.take().or_else(|| non_empty(&v)),
            Col::Note => d.note = d.note.take().or_else(|| non_empty(&v)),
            Col::Org => d.org = d.org.take().or_else(|| non_empty(&v)),
            Col::Title => d.title = d.title.take().or_else(|| non_empty(&v)),
            Col::Email => {
                for e in split_multi(&v) {
                    if !d.emails.iter().any(|x| x == e) {
                        d.emails.push(e.to_string());
                    }
                }
            }
            Col::Groups | Col::Categories => {
                let sep: &[&str] = if *col == Col::Categories {
                    &[";", ":::"]
                } else {
                    &[":::"]
                };
                let mut parts = vec![v.as_str()];
                for s in sep {
                    parts = parts.into_iter().flat_map(|p| p.split(s)).collect();
                }
                for g in parts.into_iter().map(str::trim) {
                    if g.is_empty() || g.starts_with('*') {
                        continue; // Google system groups: "* myContacts", "* starred"
                    }
                    if !d.groups.iter().any(|x| x == g) {
                        d.groups.push(g.to_string());
                    }
                }
            }
            Col::Ext => {
                if let Some(v) = non_empty(&v) {
                    d.extensions
                        .insert(headers[i].trim().to_ascii_uppercase(), v);
                }
            }
            Col::Phone { .. } => {}
        }
    }
    for &(i, hint, type_col, _) in phone_cols {
        let v = field(i);
        let hint = match type_col {
            Some(t) => hint.combine(PhoneHint::from_label(&field(t))),
            None => hint,
        };
        for raw in split_multi(&v) {
            d.phones.push(RawPhone {
                raw: raw.to_string(),
                hint,
            });
        }
    }
    if d.display_name.is_none() {
        d.display_name = compose_name(d.given_name.as_deref(), d.family_name.as_deref());
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cn() -> Region {
        Region::parse("CN").expect("CN")
    }

    fn parse(s: &str) -> ImportReport {
        parse_csv(s.as_bytes(), cn(), &mut |_, _| {}).expect("csv")
    }

    #[test]
    fn multi_value_cell_and_default() {
        let r = parse("Name,Phone 1 - Type,Phone 1 - Value\n张三,Mobile,+86 138 0013 8000 ::: 010 1234 5678 ::: 139 0000 0000\n");
        let c = &r.contacts[0];
        assert_eq!(c.mobile, "+8613800138000");
        assert_eq!(c.other_mobiles, vec!["+8613900000000".to_string()]);
    }

    #[test]
    fn outlook_mobile_slot_first() {
        let r = parse("First Name,Last Name,Home Phone,Mobile Phone,Business Fax\nJohn,Smith,139 0000 0000,138 0013 8000,137 0000 0000\n");
        let c = &r.contacts[0];
        assert_eq!(c.display_name, "John Smith");
        assert_eq!(c.mobile, "+8613800138000");
        assert_eq!(c.other_mobiles, vec!["+8613900000000".to_string()]);
    }

    #[test]
    fn semicolon_and_tab_delimiters() {
        let r = parse("Name;Mobile\nA;13800138000\n");
        assert_eq!(r.contacts[0].mobile, "+8613800138000");
        let r = parse("Name\tMobile\nA\t13800138000\n");
        assert_eq!(r.contacts[0].mobile, "+8613800138000");
    }

    #[test]
    fn no_phone_column_is_an_error() {
        let e = parse_csv(b"Name,E-mail\nA,a@example.com\n", cn(), &mut |_, _| {});
        assert!(matches!(e, Err(ImportError::Csv(_))));
    }

    #[test]
    fn gbk_fields() {
        let mut data = b"Name,Mobile\n".to_vec();
        data.extend_from_slice(&[0xD5, 0xC5, 0xC8, 0xFD]);
        data.extend_from_slice(b",13800138000\n");
        let r = parse_csv(&data, cn(), &mut |_, _| {}).expect("csv");
        assert_eq!(r.contacts[0].display_name, "张三");
    }

    #[test]
    fn groups_drop_system_labels() {
        let r = parse("Name,Group Membership,Phone 1 - Value\nA,* myContacts ::: Friends ::: Work,13800138000\n");
        assert_eq!(
            r.contacts[0].groups,
            vec!["Friends".to_string(), "Work".to_string()]
        );
        let r = parse("Name,Categories,Mobile Phone\nA,Friends;Golf,13800138000\n");
        assert_eq!(
            r.contacts[0].groups,
            vec!["Friends".to_string(), "Golf".to_string()]
        );
    }

    #[test]
    fn progress_counts_rows() {
        let mut calls = Vec::new();
        parse_csv(b"Name,Mobile\nA,13800138000\nB,\n", cn(), &mut |d, t| {
            calls.push((d, t))
        })
        .expect("csv");
        assert_eq!(calls, vec![(0, 2), (1, 2), (2, 2)]);
    }
}
