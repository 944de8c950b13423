//! Phone numbers (PB-1): the user's identity is the mobile number in E.164.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A mobile number in E.164 form (`+8613800138000`). Only [`PhoneNumber::parse`] and
/// deserialisation of an already-E.164 string build one, so holding one means it was validated.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct PhoneNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("'{0}' is not a phone number; write it like +86 138 0013 8000 or 13800138000")]
    Unparseable(String),
    #[error("'{0}' is not a valid number in its numbering plan; check the digits and the country code")]
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
    pub fn parse(input: &str, default_region: &str) -> Result<Self, PhoneError> {
        let region = phonenumber::country::Id::from_str(&default_region.to_ascii_uppercase())
            .map_err(|_| PhoneError::UnknownRegion(default_region.to_string()))?;
        let trimmed = input.trim();
        // Gateways and phone books write the international prefix as `00`; the library only
        // understands it for some regions, so turn it into `+` first.
        let cleaned: String = trimmed
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.' | '\u{a0}'))
            .collect();
        let candidate = match cleaned.strip_prefix("00") {
            Some(rest) if !rest.is_empty() => format!("+{rest}"),
            _ => cleaned,
        };
        if candidate.is_empty()
            || candidate.len() > 20
            || !candidate
                .chars()
                .enumerate()
                .all(|(i, c)| c.is_ascii_digit() || (i == 0 && c == '+'))
        {
            return Err(PhoneError::Unparseable(trimmed.to_string()));
        }
        // With a `+` the region must not be passed: phonenumber 0.3 then strips the default
        // region's national prefix from the foreign number (+86 138… read in US loses its 1).
        let region_hint = (!candidate.starts_with('+')).then_some(region);
        let parsed = phonenumber::parse(region_hint, &candidate)
            .map_err(|_| PhoneError::Unparseable(trimmed.to_string()))?;
        if !phonenumber::is_valid(&parsed) {
            return Err(PhoneError::Invalid(trimmed.to_string()));
        }
        use phonenumber::metadata::DATABASE;
        use phonenumber::Type;
        let kind = parsed.number_type(&DATABASE);
        if !matches!(kind, Type::Mobile | Type::FixedLineOrMobile) {
            return Err(PhoneError::NotMobile(trimmed.to_string()));
        }
        Ok(PhoneNumber(
            parsed.format().mode(phonenumber::Mode::E164).to_string(),
        ))
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
            PhoneNumber::parse("+1 650 253 0000", "CN").unwrap().as_str(),
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
