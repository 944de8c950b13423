//! Phone-number normalisation (PB-1).
//!
//! Every number that enters Ringbook is normalised to E.164 (`+8613800138000`) with the
//! numbering-plan metadata of the [`phonenumber`] crate (a port of libphonenumber) and a
//! configurable default region. The server uses [`normalize_mobile`] for login numbers, the
//! importers use it for every `TEL` / phone cell.
//!
//! Accepted spellings (region `CN`): `138 0013 8000`, `13800138000`, `+86 13800138000`,
//! `0086-138-0013-8000`, `(138)00138000`, `tel:+86-138-0013-8000`, full-width digits
//! (`１３８００１３８０００`, as typed with some Chinese input methods).
//!
//! Only numbers whose type is `Mobile` or `FixedLineOrMobile` are mobiles: for `CN` the metadata
//! classifies `138…` as `Mobile`; for `US`/`CA` every geographic number is `FixedLineOrMobile`.

use std::str::FromStr;

use phonenumber::country;
use phonenumber::Mode;
use phonenumber::Type;

/// Why a number was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    /// The default region is not an ISO 3166-1 alpha-2 code known to the numbering plan.
    #[error("unknown default region {0:?} (expected an ISO 3166-1 alpha-2 code such as \"CN\")")]
    UnknownRegion(String),
    /// Nothing that looks like a phone number (empty, letters, too short…).
    #[error("{raw:?} is not a phone number")]
    NotANumber {
        /// The input as given.
        raw: String,
    },
    /// Parsed, but not a valid number of its country's numbering plan.
    #[error("{raw:?} is not a valid phone number")]
    Invalid {
        /// The input as given.
        raw: String,
    },
    /// A valid number that is not a mobile number (fixed line, toll-free, premium rate…).
    #[error("{raw:?} ({e164}) is a {kind} number, not a mobile number")]
    NotMobile {
        /// The input as given.
        raw: String,
        /// The number in E.164.
        e164: String,
        /// What the numbering plan says it is.
        kind: NumberKind,
    },
}

/// Coarse number type from the numbering plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NumberKind {
    /// A mobile number.
    Mobile,
    /// Fixed line or mobile cannot be told apart (US, CA, …); treated as mobile.
    FixedLineOrMobile,
    /// A fixed (land) line.
    FixedLine,
    /// Anything else: toll-free, premium rate, VoIP, pager, UAN, voicemail, unknown.
    Other,
}

impl NumberKind {
    /// `true` for [`NumberKind::Mobile`] and [`NumberKind::FixedLineOrMobile`].
    pub fn is_mobile(self) -> bool {
        matches!(self, NumberKind::Mobile | NumberKind::FixedLineOrMobile)
    }
}

impl std::fmt::Display for NumberKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NumberKind::Mobile => "mobile",
            NumberKind::FixedLineOrMobile => "fixed-line-or-mobile",
            NumberKind::FixedLine => "fixed-line",
            NumberKind::Other => "non-mobile",
        })
    }
}

/// A parsed default region (ISO 3166-1 alpha-2), so that bulk imports parse it once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region(country::Id);

impl Region {
    /// Parses `"CN"`, `"cn"`, `"US"`, … .
    pub fn parse(code: &str) -> Result<Self, NumberError> {
        let upper = code.trim().to_ascii_uppercase();
        country::Id::from_str(&upper)
            .map(Region)
            .map_err(|_| NumberError::UnknownRegion(code.to_string()))
    }
}

impl FromStr for Region {
    type Err = NumberError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Region::parse(s)
    }
}

/// Normalises a mobile number to E.164.
///
/// `default_region` (ISO 3166-1 alpha-2, e.g. `"CN"`) is used for numbers written without an
/// international prefix. A leading `+`, the `00` international prefix, `tel:` URIs, spaces,
/// dashes, dots, parentheses and full-width characters are accepted.
///
/// Errors: [`NumberError::UnknownRegion`], [`NumberError::NotANumber`],
/// [`NumberError::Invalid`] and [`NumberError::NotMobile`] (fixed lines and service numbers).
///
/// ```
/// use ringbook_phonebook::normalize_mobile;
/// assert_eq!(normalize_mobile("138 0013 8000", "CN").unwrap(), "+8613800138000");
/// assert_eq!(normalize_mobile("0086-138-0013-8000", "CN").unwrap(), "+8613800138000");
/// assert!(normalize_mobile("010 1234 5678", "CN").is_err()); // Beijing fixed line
/// ```
pub fn normalize_mobile(raw: &str, default_region: &str) -> Result<String, NumberError> {
    let region = Region::parse(default_region)?;
    normalize_mobile_in(raw, region)
}

/// [`normalize_mobile`] with a pre-parsed [`Region`].
pub fn normalize_mobile_in(raw: &str, region: Region) -> Result<String, NumberError> {
    let (e164, kind) = normalize_number_in(raw, region)?;
    if kind.is_mobile() {
        Ok(e164)
    } else {
        Err(NumberError::NotMobile {
            raw: raw.to_string(),
            e164,
            kind,
        })
    }
}

/// Normalises any valid number (mobile or not) to E.164 and reports its [`NumberKind`].
pub fn normalize_number(
    raw: &str,
    default_region: &str,
) -> Result<(String, NumberKind), NumberError> {
    let region = Region::parse(default_region)?;
    normalize_number_in(raw, region)
}

/// [`normalize_number`] with a pre-parsed [`Region`].
pub fn normalize_number_in(raw: &str, region: Region) -> Result<(String, NumberKind), NumberError> {
    let cleaned = clean(raw);
    if cleaned.is_empty() || !cleaned.bytes().any(|b| b.is_ascii_digit()) {
        return Err(NumberError::NotANumber {
            raw: raw.to_string(),
        });
    }
    // With a `+` the region must not be passed: phonenumber 0.3 then strips the default
    // region's national prefix from the foreign number (+86 138… read in US loses its 1).
    let region_hint = (!cleaned.starts_with('+')).then_some(region.0);
    let parsed =
        phonenumber::parse(region_hint, &cleaned).map_err(|_| NumberError::NotANumber {
            raw: raw.to_string(),
        })?;
    if !phonenumber::is_valid(&parsed) {
        return Err(NumberError::Invalid {
            raw: raw.to_string(),
        });
    }
    let kind = match parsed.number_type(&phonenumber::metadata::DATABASE) {
        Type::Mobile => NumberKind::Mobile,
        Type::FixedLineOrMobile => NumberKind::FixedLineOrMobile,
        Type::FixedLine => NumberKind::FixedLine,
        _ => NumberKind::Other,
    };
    let e164 = parsed.format().mode(Mode::E164).to_string();
    Ok((e164, kind))
}

/// Maps full-width characters to ASCII, strips a `tel:` scheme and URI parameters, drops
/// visual separators and turns the `00` international prefix into `+`.
fn clean(raw: &str) -> String {
    let mut s = raw.trim();
    if s.len() >= 4 && s.as_bytes()[..4].eq_ignore_ascii_case(b"tel:") {
        s = &s[4..];
        // RFC 3966 parameters (";ext=", ";phone-context=") are not part of the number.
        if let Some(i) = s.find(';') {
            s = &s[..i];
        }
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = match c {
            // Full-width forms U+FF01..U+FF5E map to ASCII U+0021..U+007E.
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFF01 + 0x21).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        };
        match c {
            '0'..='9' | '+' => out.push(c),
            ' ' | '\t' | '-' | '.' | '(' | ')' | '/' | '\u{00A0}' | '\u{2010}'..='\u{2015}' => {}
            // Keep anything else (letters, "ext", "#") so that the library can decide.
            _ => out.push(c),
        }
    }
    if let Some(rest) = out.strip_prefix("00") {
        out = format!("+{rest}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn international_numbers_ignore_the_default_region() {
        // phonenumber 0.3 would strip the US national prefix "1" from +86 1… when given US.
        assert_eq!(
            normalize_mobile("+86 138 0013 8000", "US").unwrap(),
            "+8613800138000"
        );
        assert_eq!(
            normalize_mobile("0086 138 0013 8000", "GB").unwrap(),
            "+8613800138000"
        );
    }

    #[test]
    fn cn_spellings_are_one_number() {
        for raw in [
            "138 0013 8000",
            "13800138000",
            "+86 13800138000",
            "+86 138 0013 8000",
            "0086-138-0013-8000",
            "0086 13800138000",
            "(138)00138000",
            "138-0013-8000",
            "tel:+86-138-0013-8000",
            "１３８００１３８０００",
            "＋８６ １３８ ００１３ ８０００",
        ] {
            assert_eq!(
                normalize_mobile(raw, "CN").as_deref(),
                Ok("+8613800138000"),
                "{raw}"
            );
        }
    }

    #[test]
    fn region_is_case_insensitive() {
        assert_eq!(
            normalize_mobile("13800138000", "cn").as_deref(),
            Ok("+8613800138000")
        );
    }

    #[test]
    fn international_numbers_with_cn_default() {
        assert_eq!(
            normalize_mobile("+1 (201) 555-0123", "CN").as_deref(),
            Ok("+12015550123")
        );
        assert_eq!(
            normalize_mobile("001 201 555 0123", "CN").as_deref(),
            Ok("+12015550123")
        );
        assert_eq!(
            normalize_mobile("+44 7400 123456", "CN").as_deref(),
            Ok("+447400123456")
        );
    }

    #[test]
    fn us_numbers_are_fixed_line_or_mobile() {
        assert_eq!(
            normalize_number("(201) 555-0123", "US").map(|(_, k)| k),
            Ok(NumberKind::FixedLineOrMobile)
        );
        assert_eq!(
            normalize_mobile("(201) 555-0123", "US").as_deref(),
            Ok("+12015550123")
        );
    }

    #[test]
    fn fixed_line_is_rejected() {
        match normalize_mobile("010 1234 5678", "CN") {
            Err(NumberError::NotMobile { e164, kind, .. }) => {
                assert_eq!(e164, "+861012345678");
                assert_eq!(kind, NumberKind::FixedLine);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn invalid_and_garbage_are_rejected() {
        assert!(matches!(
            normalize_mobile("", "CN"),
            Err(NumberError::NotANumber { .. })
        ));
        assert!(matches!(
            normalize_mobile("abc", "CN"),
            Err(NumberError::NotANumber { .. })
        ));
        assert!(matches!(
            normalize_mobile("123", "CN"),
            Err(NumberError::Invalid { .. } | NumberError::NotANumber { .. })
        ));
        assert!(matches!(
            normalize_mobile("138001380001234", "CN"),
            Err(NumberError::Invalid { .. } | NumberError::NotANumber { .. })
        ));
    }

    #[test]
    fn unknown_region() {
        assert_eq!(
            normalize_mobile("13800138000", "XX"),
            Err(NumberError::UnknownRegion("XX".into()))
        );
    }

    #[test]
    fn error_messages_are_clear() {
        let e = normalize_mobile("010 1234 5678", "CN")
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("\"010 1234 5678\" (+861012345678) is a fixed-line number, not a mobile number")
        );
    }
}
