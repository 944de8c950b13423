//! The contact model shared by the importers, the exporter and the sync diff.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::number::{normalize_number_in, NumberError, NumberKind, Region};

/// `extensions` key: IM status (`online`, `busy`, `away`, `offline`) (PB-10, PB-14).
pub const EXT_STATUS: &str = "X-RINGBOOK-STATUS";
/// `extensions` key: IM nickname (distinct from the phone book's own `NICKNAME`).
pub const EXT_NICKNAME: &str = "X-RINGBOOK-NICKNAME";
/// `extensions` key: IM signature.
pub const EXT_SIGNATURE: &str = "X-RINGBOOK-SIGNATURE";
/// `extensions` key: device identity (PB-2).
pub const EXT_DEVICE: &str = "X-RINGBOOK-DEVICE";
/// `extensions` key: `"1"` when the contact is a Ringbook user.
pub const EXT_USER: &str = "X-RINGBOOK-USER";
/// Prefix of every property kept in [`PhonebookContact::extensions`].
pub const EXT_PREFIX: &str = "X-RINGBOOK-";

/// One phone-book contact as Ringbook keeps it (PB-7, PB-8): only IM-relevant fields.
///
/// The sync key is [`PhonebookContact::mobile`], the default mobile number in E.164.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PhonebookContact {
    /// Display name (`FN`, or built from `N`, nickname, organisation, e-mail or number). Never empty.
    pub display_name: String,
    /// Given name (`N` component 2).
    #[serde(default)]
    pub given_name: Option<String>,
    /// Family name (`N` component 1).
    #[serde(default)]
    pub family_name: Option<String>,
    /// Phone-book nickname (`NICKNAME`).
    #[serde(default)]
    pub nickname: Option<String>,
    /// Default mobile number, E.164: the first mobile number stored in the entry (PB-8).
    pub mobile: String,
    /// Further mobile numbers, E.164, in stored order, without duplicates.
    #[serde(default)]
    pub other_mobiles: Vec<String>,
    /// E-mail addresses in stored order.
    #[serde(default)]
    pub emails: Vec<String>,
    /// Organisation / company (first `ORG` component).
    #[serde(default)]
    pub org: Option<String>,
    /// Job title (`TITLE`).
    #[serde(default)]
    pub title: Option<String>,
    /// Free-text note (`NOTE`).
    #[serde(default)]
    pub note: Option<String>,
    /// Groups / categories (`CATEGORIES`, Google "Group Membership"/"Labels", Outlook "Categories").
    #[serde(default)]
    pub groups: Vec<String>,
    /// vCard `UID`, when the source had one.
    #[serde(default)]
    pub uid: Option<String>,
    /// `X-RINGBOOK-*` properties (PB-10), keyed by the upper-cased property name, e.g.
    /// [`EXT_STATUS`] → `"online"`.
    #[serde(default)]
    pub extensions: BTreeMap<String, String>,
}

/// Result of one import: imported contacts in file order, plus every skipped entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ImportReport {
    /// Contacts with at least one valid mobile number, in file order.
    pub contacts: Vec<PhonebookContact>,
    /// Entries that were not imported, with the reason.
    pub skipped: Vec<Skipped>,
}

/// An entry of the source that was not imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// 0-based index of the entry in the source (vCard: card number; CSV: data row number).
    pub index: usize,
    /// The entry's name, when one could be read.
    pub name: Option<String>,
    /// Why it was skipped.
    pub reason: SkipReason,
}

/// Why an entry was skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SkipReason {
    /// The entry has no phone number at all.
    NoPhoneNumber,
    /// The entry only has valid non-mobile numbers (fixed lines, fax, service numbers).
    NoMobileNumber,
    /// The entry has no valid mobile number and at least one number that could not be parsed or
    /// is not valid; carries the first such raw value.
    InvalidNumber(String),
    /// The entry could not be parsed (e.g. a vCard without `END:VCARD`).
    Malformed(String),
    /// The entry's default mobile (E.164) was already imported from an earlier entry.
    DuplicateNumber(String),
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::NoPhoneNumber => f.write_str("no phone number"),
            SkipReason::NoMobileNumber => f.write_str("no mobile number (only fixed lines)"),
            SkipReason::InvalidNumber(raw) => write!(f, "invalid phone number {raw:?}"),
            SkipReason::Malformed(why) => write!(f, "malformed entry: {why}"),
            SkipReason::DuplicateNumber(e164) => {
                write!(
                    f,
                    "mobile number {e164} already imported from an earlier entry"
                )
            }
        }
    }
}

/// How the source labels a phone number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PhoneHint {
    /// Labelled mobile/cell/iPhone.
    Cell,
    /// Labelled home/work/main/… (a US-style `FixedLineOrMobile` number is then not a mobile).
    Landline,
    /// Labelled fax or pager: never a messaging number.
    Fax,
    /// No label, "voice", "other", a custom label.
    Unknown,
}

impl PhoneHint {
    /// Combines several labels (`TYPE=HOME,CELL` is a cell).
    pub(crate) fn combine(self, other: PhoneHint) -> PhoneHint {
        use PhoneHint::*;
        match (self, other) {
            (Cell, _) | (_, Cell) => Cell,
            (Fax, _) | (_, Fax) => Fax,
            (Landline, _) | (_, Landline) => Landline,
            _ => Unknown,
        }
    }

    /// Classifies one free-text label (vCard `TYPE` value, iOS `X-ABLabel`, CSV "Phone 1 - Type").
    pub(crate) fn from_label(label: &str) -> PhoneHint {
        let l = label
            .trim()
            .trim_start_matches('*')
            .trim()
            .to_ascii_lowercase();
        let l = l.trim_start_matches("_$!<").trim_end_matches(">!$_");
        match l {
            "cell" | "mobile" | "iphone" | "cellular" | "cell phone" | "mobile phone" | "car"
            | "car phone" => return PhoneHint::Cell,
            "fax" | "pager" | "home fax" | "work fax" | "homefax" | "workfax" | "other fax"
            | "business fax" | "otherfax" => return PhoneHint::Fax,
            "home" | "work" | "main" | "business" | "landline" | "company main" | "msg"
            | "isdn" | "bbs" | "modem" | "video" => return PhoneHint::Landline,
            _ => {}
        }
        if label.contains("手机") || label.contains("移动电话") {
            PhoneHint::Cell
        } else if label.contains("传真") || label.contains("寻呼") {
            PhoneHint::Fax
        } else if label.contains("住宅") || label.contains("工作") || label.contains("单位") {
            PhoneHint::Landline
        } else {
            PhoneHint::Unknown
        }
    }
}

/// A phone number as found in the source, before normalisation.
#[derive(Debug, Clone)]
pub(crate) struct RawPhone {
    pub raw: String,
    pub hint: PhoneHint,
}

/// Fields collected from one source entry, before the phone numbers are decided.
#[derive(Debug, Clone, Default)]
pub(crate) struct Draft {
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub nickname: Option<String>,
    pub phones: Vec<RawPhone>,
    pub emails: Vec<String>,
    pub org: Option<String>,
    pub title: Option<String>,
    pub note: Option<String>,
    pub groups: Vec<String>,
    pub uid: Option<String>,
    pub extensions: BTreeMap<String, String>,
}

/// Keeps a non-empty, trimmed string.
pub(crate) fn non_empty(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

fn has_cjk(s: &str) -> bool {
    s.chars().any(|c| {
        matches!(c as u32,
            0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
    })
}

/// Builds a display name from name parts: CJK names are written family-first without a space.
pub(crate) fn compose_name(given: Option<&str>, family: Option<&str>) -> Option<String> {
    match (given, family) {
        (Some(g), Some(f)) if has_cjk(g) || has_cjk(f) => Some(format!("{f}{g}")),
        (Some(g), Some(f)) => Some(format!("{g} {f}")),
        (Some(g), None) => Some(g.to_string()),
        (None, Some(f)) => Some(f.to_string()),
        (None, None) => None,
    }
}

impl Draft {
    /// The best name available for reports.
    pub(crate) fn name(&self) -> Option<String> {
        self.display_name
            .clone()
            .or_else(|| compose_name(self.given_name.as_deref(), self.family_name.as_deref()))
            .or_else(|| self.nickname.clone())
            .or_else(|| self.org.clone())
    }

    /// Decides the numbers (PB-8) and turns the draft into a contact or a skip reason.
    ///
    /// `seen` holds default mobiles of already imported entries (duplicate detection).
    pub(crate) fn finish(
        self,
        region: Region,
        seen: &mut HashSet<String>,
    ) -> Result<PhonebookContact, SkipReason> {
        if self.phones.iter().all(|p| p.raw.trim().is_empty()) {
            return Err(SkipReason::NoPhoneNumber);
        }
        let mut mobiles: Vec<String> = Vec::new();
        let mut first_invalid: Option<String> = None;
        let mut any_non_mobile = false;
        for phone in &self.phones {
            if phone.raw.trim().is_empty() {
                continue;
            }
            match normalize_number_in(&phone.raw, region) {
                Ok((e164, kind)) => {
                    let is_mobile = match (kind, phone.hint) {
                        (_, PhoneHint::Fax) => false,
                        (NumberKind::Mobile, _) => true,
                        // Where the plan cannot tell (US…), trust an explicit landline label.
                        (NumberKind::FixedLineOrMobile, PhoneHint::Landline) => false,
                        (NumberKind::FixedLineOrMobile, _) => true,
                        _ => false,
                    };
                    if is_mobile {
                        if !mobiles.contains(&e164) {
                            mobiles.push(e164);
                        }
                    } else {
                        any_non_mobile = true;
                    }
                }
                Err(NumberError::NotMobile { .. }) => any_non_mobile = true,
                Err(_) => {
                    if first_invalid.is_none() {
                        first_invalid = Some(phone.raw.trim().to_string());
                    }
                }
            }
        }
        if mobiles.is_empty() {
            return Err(match (any_non_mobile, first_invalid) {
                (true, _) => SkipReason::NoMobileNumber,
                (false, Some(raw)) => SkipReason::InvalidNumber(raw),
                (false, None) => SkipReason::NoPhoneNumber,
            });
        }
        let mobile = mobiles.remove(0);
        if !seen.insert(mobile.clone()) {
            return Err(SkipReason::DuplicateNumber(mobile));
        }
        let display_name = self
            .display_name
            .clone()
            .or_else(|| compose_name(self.given_name.as_deref(), self.family_name.as_deref()))
            .or_else(|| self.nickname.clone())
            .or_else(|| self.org.clone())
            .or_else(|| self.emails.first().cloned())
            .unwrap_or_else(|| mobile.clone());
        Ok(PhonebookContact {
            display_name,
            given_name: self.given_name,
            family_name: self.family_name,
            nickname: self.nickname,
            mobile,
            other_mobiles: mobiles,
            emails: self.emails,
            org: self.org,
            title: self.title,
            note: self.note,
            groups: self.groups,
            uid: self.uid,
            extensions: self.extensions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region() -> Region {
        Region::parse("CN").expect("CN")
    }

    fn draft(phones: &[(&str, PhoneHint)]) -> Draft {
        Draft {
            display_name: Some("X".into()),
            phones: phones
                .iter()
                .map(|(raw, hint)| RawPhone {
                    raw: raw.to_string(),
                    hint: *hint,
                })
                .collect(),
            ..Draft::default()
        }
    }

    #[test]
    fn first_stored_mobile_is_default() {
        let mut seen = HashSet::new();
        let c = draft(&[
            ("010 1234 5678", PhoneHint::Landline),
            ("139 0000 0000", PhoneHint::Unknown),
            ("13800138000", PhoneHint::Cell),
            ("+86 139 0000 0000", PhoneHint::Cell),
        ])
        .finish(region(), &mut seen)
        .expect("imported");
        assert_eq!(c.mobile, "+8613900000000");
        assert_eq!(c.other_mobiles, vec!["+8613800138000".to_string()]);
    }

    #[test]
    fn skip_reasons() {
        let mut seen = HashSet::new();
        assert_eq!(
            draft(&[]).finish(region(), &mut seen),
            Err(SkipReason::NoPhoneNumber)
        );
        assert_eq!(
            draft(&[("  ", PhoneHint::Cell)]).finish(region(), &mut seen),
            Err(SkipReason::NoPhoneNumber)
        );
        assert_eq!(
            draft(&[("010 1234 5678", PhoneHint::Cell), ("12", PhoneHint::Cell)])
                .finish(region(), &mut seen),
            Err(SkipReason::NoMobileNumber)
        );
        assert_eq!(
            draft(&[("12", PhoneHint::Cell)]).finish(region(), &mut seen),
            Err(SkipReason::InvalidNumber("12".into()))
        );
        assert_eq!(
            draft(&[("13800138000", PhoneHint::Fax)]).finish(region(), &mut seen),
            Err(SkipReason::NoMobileNumber)
        );
        assert!(draft(&[("13800138000", PhoneHint::Cell)])
            .finish(region(), &mut seen)
            .is_ok());
        assert_eq!(
            draft(&[("+8613800138000", PhoneHint::Cell)]).finish(region(), &mut seen),
            Err(SkipReason::DuplicateNumber("+8613800138000".into()))
        );
    }

    #[test]
    fn us_landline_label_is_respected() {
        let mut seen = HashSet::new();
        let us = Region::parse("US").expect("US");
        assert_eq!(
            draft(&[("(201) 555-0123", PhoneHint::Landline)]).finish(us, &mut seen),
            Err(SkipReason::NoMobileNumber)
        );
        assert!(draft(&[("(201) 555-0123", PhoneHint::Unknown)])
            .finish(us, &mut seen)
            .is_ok());
    }

    #[test]
    fn display_name_fallbacks() {
        assert_eq!(
            compose_name(Some("三"), Some("张")).as_deref(),
            Some("张三")
        );
        assert_eq!(
            compose_name(Some("John"), Some("Smith")).as_deref(),
            Some("John Smith")
        );
        let mut seen = HashSet::new();
        let mut d = draft(&[("13800138000", PhoneHint::Cell)]);
        d.display_name = None;
        let c = d.finish(region(), &mut seen).expect("ok");
        assert_eq!(c.display_name, "+8613800138000");
    }

    #[test]
    fn labels() {
        assert_eq!(PhoneHint::from_label("_$!<Mobile>!$_"), PhoneHint::Cell);
        assert_eq!(PhoneHint::from_label("* Mobile"), PhoneHint::Cell);
        assert_eq!(PhoneHint::from_label("手机"), PhoneHint::Cell);
        assert_eq!(PhoneHint::from_label("_$!<HomeFAX>!$_"), PhoneHint::Fax);
        assert_eq!(PhoneHint::from_label("Work"), PhoneHint::Landline);
        assert_eq!(PhoneHint::from_label("Best friend"), PhoneHint::Unknown);
        assert_eq!(
            PhoneHint::Landline.combine(PhoneHint::Cell),
            PhoneHint::Cell
        );
    }

    #[test]
    fn skip_reason_display() {
        assert_eq!(
            SkipReason::DuplicateNumber("+8613800138000".into()).to_string(),
            "mobile number +8613800138000 already imported from an earlier entry"
        );
        assert_eq!(
            SkipReason::InvalidNumber("12".into()).to_string(),
            "invalid phone number \"12\""
        );
    }
}
