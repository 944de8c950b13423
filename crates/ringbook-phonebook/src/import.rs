//! Format sniffing and the file/bytes entry points (PB-8).

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use crate::contact::ImportReport;
use crate::csv_import::parse_csv;
use crate::number::{NumberError, Region};
use crate::vcard::parse_vcards;

/// Why an import failed as a whole (per-entry problems are [`crate::Skipped`] entries instead).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The default region is unknown.
    #[error(transparent)]
    Region(#[from] NumberError),
    /// Neither a vCard (`BEGIN:VCARD`) nor a CSV with a header line.
    #[error("unrecognised phone-book format (expected vCard or CSV)")]
    UnknownFormat,
    /// The CSV cannot be used (no header, no phone column).
    #[error("unusable CSV: {0}")]
    Csv(String),
}

/// What [`import_file`] reads: a path on disk or bytes already in memory.
#[derive(Debug, Clone, Copy)]
pub enum ImportSource<'a> {
    /// A file to read.
    Path(&'a Path),
    /// The file content.
    Bytes(&'a [u8]),
}

impl<'a> From<&'a Path> for ImportSource<'a> {
    fn from(p: &'a Path) -> Self {
        ImportSource::Path(p)
    }
}

impl<'a> From<&'a PathBuf> for ImportSource<'a> {
    fn from(p: &'a PathBuf) -> Self {
        ImportSource::Path(p.as_path())
    }
}

impl<'a> From<&'a [u8]> for ImportSource<'a> {
    fn from(b: &'a [u8]) -> Self {
        ImportSource::Bytes(b)
    }
}

impl<'a> From<&'a Vec<u8>> for ImportSource<'a> {
    fn from(b: &'a Vec<u8>) -> Self {
        ImportSource::Bytes(b.as_slice())
    }
}

/// Detected input format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// vCard 2.1 / 3.0 / 4.0.
    Vcard,
    /// Comma/semicolon/tab separated values with a header line.
    Csv,
}

/// Imports a phone-book file (vCard or CSV, sniffed from the content).
///
/// `progress(done, total)` is called with `(0, total)` before the first entry and after every
/// entry (card or CSV row); a CLI can draw a progress bar from it.
///
/// ```
/// use ringbook_phonebook::{import_file, ImportSource};
/// let vcf = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Li Lei\r\nTEL;TYPE=CELL:138 0013 8000\r\nEND:VCARD\r\n";
/// let report = import_file(ImportSource::Bytes(vcf), "CN", &mut |_, _| {}).unwrap();
/// assert_eq!(report.contacts[0].mobile, "+8613800138000");
/// ```
pub fn import_file<'a>(
    source: impl Into<ImportSource<'a>>,
    default_region: &str,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ImportReport, ImportError> {
    match source.into() {
        ImportSource::Bytes(b) => import_bytes(b, default_region, progress),
        ImportSource::Path(p) => {
            let data = std::fs::read(p).map_err(|source| ImportError::Io {
                path: p.to_path_buf(),
                source,
            })?;
            import_bytes(&data, default_region, progress)
        }
    }
}

/// [`import_file`] for bytes in memory.
pub fn import_bytes(
    data: &[u8],
    default_region: &str,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ImportReport, ImportError> {
    let region = Region::parse(default_region)?;
    let data = strip_bom(data);
    match sniff(&data).ok_or(ImportError::UnknownFormat)? {
        Format::Vcard => Ok(parse_vcards(&data, region, progress)),
        Format::Csv => parse_csv(&data, region, progress),
    }
}

/// Removes a UTF-8 BOM; converts UTF-16 (with BOM, as Outlook's "Unicode" export) to UTF-8.
pub(crate) fn strip_bom(data: &[u8]) -> Cow<'_, [u8]> {
    if let Some(rest) = data.strip_prefix(b"\xEF\xBB\xBF") {
        return Cow::Borrowed(rest);
    }
    if data.starts_with(b"\xFF\xFE") || data.starts_with(b"\xFE\xFF") {
        let (text, _, _) = encoding_rs::UTF_16LE.decode(data); // BOM picks LE/BE
        return Cow::Owned(text.into_owned().into_bytes());
    }
    Cow::Borrowed(data)
}

/// Tells vCard from CSV by the first non-blank line (after any BOM).
pub fn sniff(data: &[u8]) -> Option<Format> {
    let start = data.iter().position(|b| !b.is_ascii_whitespace())?;
    let rest = &data[start..];
    if rest.len() >= 11 && rest[..11].eq_ignore_ascii_case(b"BEGIN:VCARD") {
        return Some(Format::Vcard);
    }
    let first = rest.split(|&b| b == b'\n').next().unwrap_or_default();
    if first.iter().any(|b| matches!(b, b',' | b';' | b'\t')) {
        Some(Format::Csv)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing() {
        assert_eq!(sniff(b"\r\n begin:vcard\r\n"), Some(Format::Vcard));
        assert_eq!(sniff(b"Name,Mobile\n"), Some(Format::Csv));
        assert_eq!(sniff(b"hello"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn bom_variants() {
        let vcf = "BEGIN:VCARD\nFN:A\nTEL:13800138000\nEND:VCARD\n";
        let mut utf8 = b"\xEF\xBB\xBF".to_vec();
        utf8.extend_from_slice(vcf.as_bytes());
        let r = import_bytes(&utf8, "CN", &mut |_, _| {}).expect("utf8 bom");
        assert_eq!(r.contacts.len(), 1);
        let mut utf16 = b"\xFF\xFE".to_vec();
        for u in vcf.encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        let r = import_bytes(&utf16, "CN", &mut |_, _| {}).expect("utf16 bom");
        assert_eq!(r.contacts.len(), 1);
    }

    #[test]
    fn errors() {
        assert!(matches!(
            import_bytes(b"hello", "CN", &mut |_, _| {}),
            Err(ImportError::UnknownFormat)
        ));
        assert!(matches!(
            import_bytes(b"BEGIN:VCARD\nEND:VCARD\n", "ZZ", &mut |_, _| {}),
            Err(ImportError::Region(NumberError::UnknownRegion(_)))
        ));
        let missing = Path::new("/nonexistent/ringbook.vcf");
        assert!(matches!(
            import_file(missing, "CN", &mut |_, _| {}),
            Err(ImportError::Io { .. })
        ));
    }
}
