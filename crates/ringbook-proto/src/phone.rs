//! Phone numbers (PB-1): the user's identity is the mobile number in E.164.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A mobile number in E.164 form (`+8613800138000`). Only [`PhoneNumber::parse`] and
/// deserialisation of an already-E.164 string build one, so holding one means it was validated.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct PhoneNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("'{0}' is not a phone number; write it like +86 138 0013 8000 or 13800138000")]
    Unparseable(String),
    #[error(
        "'{0}' is not a valid number in its numbering plan; check the digits and the country code"
    )]
    Invalid(String),
    #[error("'{0}' is not a mobile number; Ringbook identifies people by their mobile number")]
    NotMobile(String),
    #[error("unknown default region '{0}'; use a two-letter country code such as CN or US")]
    UnknownRegion(String),
}

impl PhoneNumber {
    /// Normalises what a person typed, read from a phone book or got from an SMS gateway.
    /// National forms are read in `default_region` (ISO 3166 code such as `CN`); `+` and the
    /// international prefix `00` select another country. Fixed-line numbers are refused.
    ///
    /// The numbering-plan work is `ringbook_phonebook::normalize_mobile` (one implementation
    /// for logins, messages and imported books); this adds the stricter shape a typed identity
    /// needs: digits and separators only, at most 20 characters.
    pub fn parse(input: &str, default_region: &str) -> Result<Self, PhoneError> {
        use ringbook_phonebook::{normalize_mobile, NumberError};
        let trimmed = input.trim();
        let shape_ok = trimmed.chars().count() <= 32
            && trimmed
                .chars()
                .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.' | '\u{a0}'))
                .enumerate()
                .all(|(i, c)| c.is_ascii_digit() || (i == 0 && c == '+'))
            && trimmed.chars().filter(char::is_ascii_digit).count() <= 20;
        if !shape_ok {
            return Err(PhoneError::Unparseable(trimmed.to_string()));
        }
        normalize_mobile(trimmed, default_region)
            .map(PhoneNumber)
            .map_err(|e| match e {
                NumberError::UnknownRegion(_) => {
                    PhoneError::UnknownRegion(default_region.to_string())
                }
                NumberError::NotANumber { .. } => PhoneError::Unparseable(trimmed.to_string()),
                NumberError::Invalid { .. } => PhoneError::Invalid(trimmed.to_string()),
                NumberError::NotMobile { .. } => PhoneError::NotMobile(trimmed.to_string()),
            })
    }

    /// The number as `+<country><national>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Rebuilds a number read back from our own storage, which holds only normalised values.
    pub fn from_e164_unchecked(e164: String) -> Self {
        PhoneNumber(e164)
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PhoneNumber {
    /// Wire values must already be E.164; national forms are only accepted through `parse`.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if !s.starts_with('+') {
            return Err(serde::de::Error::custom(format!(
                "'{s}' is not in E.164 form (+<country><number>)"
            )));
        }
        // With a leading `+` the default region is never consulted.
        PhoneNumber::parse(&s, "US").map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_forms_are_one_number() {
        for raw in [
            "138 0013 8000",
            "+86 13800138000",
            "0086-138-0013-8000",
            "13800138000",
            "(138) 0013-8000",
        ] {
            assert_eq!(
                PhoneNumber::parse(raw, "CN").unwrap().as_str(),
                "+8613800138000",
                "{raw}"
            );
        }
    }

    #[test]
    fn rejects_garbage_invalid_and_fixed_lines() {
        assert!(matches!(
            PhoneNumber::parse("hello", "CN"),
            Err(PhoneError::Unparseable(_))
        ));
        assert!(PhoneNumber::parse("12345", "CN").is_err());
        assert!(matches!(
            PhoneNumber::parse("+86 12800138000", "CN"),
            Err(PhoneError::Invalid(_))
        ));
        // Beijing fixed line.
        assert!(matches!(
            PhoneNumber::parse("010 6552 9988", "CN"),
            Err(PhoneError::NotMobile(_))
        ));
        assert!(matches!(
            PhoneNumber::parse("13800138000", "XX"),
            Err(PhoneError::UnknownRegion(_))
        ));
    }

    #[test]
    fn other_regions() {
        assert_eq!(
            PhoneNumber::parse("+1 650 253 0000", "CN")
                .unwrap()
                .as_str(),
            "+16502530000"
        );
        assert_eq!(
            PhoneNumber::parse("07911 123456", "GB").unwrap().as_str(),
            "+447911123456"
        );
    }

    #[test]
    fn serde_requires_e164() {
        let ok: PhoneNumber = serde_json::from_str("\"+8613800138000\"").unwrap();
        assert_eq!(ok.as_str(), "+8613800138000");
        assert!(serde_json::from_str::<PhoneNumber>("\"13800138000\"").is_err());
    }
}
