//! Profiles (spec part MM): the JSON bodies of `/v1/profile*`, `/v1/profiles*` and the
//! bindings of MM-4. Field names and visibilities are closed enums so a typo is a 400, not a
//! silently ignored key.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A text field of a profile. The avatar is not text but has a visibility of its own
/// ([`ProfileField::Avatar`]); setting it goes through the avatar upload or an MMS picture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileField {
    Name,
    Nickname,
    Gender,
    Birthday,
    Region,
    Company,
    Title,
    Email,
    Website,
    Signature,
    Avatar,
}

impl ProfileField {
    /// Every field, in display order.
    pub const ALL: [ProfileField; 11] = [
        ProfileField::Name,
        ProfileField::Nickname,
        ProfileField::Gender,
        ProfileField::Birthday,
        ProfileField::Region,
        ProfileField::Company,
        ProfileField::Title,
        ProfileField::Email,
        ProfileField::Website,
        ProfileField::Signature,
        ProfileField::Avatar,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProfileField::Name => "name",
            ProfileField::Nickname => "nickname",
            ProfileField::Gender => "gender",
            ProfileField::Birthday => "birthday",
            ProfileField::Region => "region",
            ProfileField::Company => "company",
            ProfileField::Title => "title",
            ProfileField::Email => "email",
            ProfileField::Website => "website",
            ProfileField::Signature => "signature",
            ProfileField::Avatar => "avatar",
        }
    }

    /// Reads a field name as people write it: the API name, common English synonyms, and the
    /// Chinese labels phones put in an MMS text (`签名：…`). Case and `-`/`_`/spaces are ignored.
    pub fn parse_label(label: &str) -> Option<ProfileField> {
        let l: String = label
            .trim()
            .chars()
            .filter(|c| !matches!(c, '-' | '_' | ' ' | '\u{3000}'))
            .flat_map(char::to_lowercase)
            .collect();
        Some(match l.as_str() {
            "name" | "fullname" | "姓名" | "名字" => ProfileField::Name,
            "nickname" | "nick" | "昵称" => ProfileField::Nickname,
            "gender" | "sex" | "性别" => ProfileField::Gender,
            "birthday" | "birthdate" | "bday" | "生日" => ProfileField::Birthday,
            "region" | "location" | "city" | "地区" | "所在地" => ProfileField::Region,
            "company" | "org" | "organization" | "organisation" | "公司" | "单位" => {
                ProfileField::Company
            }
            "title" | "jobtitle" | "职位" | "职务" => ProfileField::Title,
            "email" | "mail" | "邮箱" | "电子邮件" => ProfileField::Email,
            "website" | "site" | "personalsite" | "url" | "homepage" | "个人网站" | "主页" => {
                ProfileField::Website
            }
            "signature" | "sig" | "status" | "签名" | "个性签名" => ProfileField::Signature,
            "avatar" | "photo" | "头像" => ProfileField::Avatar,
            _ => return None,
        })
    }

    /// Whether the field holds text (everything but the avatar).
    pub fn is_text(self) -> bool {
        self != ProfileField::Avatar
    }

    /// Largest value accepted, in characters.
    pub fn max_chars(self) -> usize {
        match self {
            ProfileField::Signature => 280,
            ProfileField::Website | ProfileField::Email => 254,
            _ => 100,
        }
    }

    /// Who sees the field when the owner has not chosen.
    pub fn default_visibility(self) -> Visibility {
        match self {
            ProfileField::Nickname | ProfileField::Signature | ProfileField::Avatar => {
                Visibility::Everyone
            }
            _ => Visibility::Contacts,
        }
    }
}

impl std::fmt::Display for ProfileField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ProfileField {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ProfileField::parse_label(s).ok_or_else(|| {
            let names: Vec<_> = ProfileField::ALL.iter().map(|f| f.as_str()).collect();
            format!(
                "unknown profile field '{s}'; use one of {}",
                names.join(", ")
            )
        })
    }
}

/// Who may see a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Every Ringbook user.
    Everyone,
    /// Users whose number is in the owner's phone book (server copy, PB-11).
    Contacts,
    /// Only the owner.
    Nobody,
}

impl std::str::FromStr for Visibility {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "everyone" | "public" | "all" => Ok(Visibility::Everyone),
            "contacts" | "phonebook" | "book" => Ok(Visibility::Contacts),
            "nobody" | "private" | "none" => Ok(Visibility::Nobody),
            _ => Err(format!(
                "unknown visibility '{s}'; use everyone, contacts or nobody"
            )),
        }
    }
}

/// The stored avatar's description; the pictures themselves are at
/// `GET /v1/profiles/{phone}/avatar` (`?size=thumb` for the thumbnail).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AvatarInfo {
    /// Hex SHA-256 of the avatar JPEG: changes with every new picture (use as a cache key).
    pub id: String,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    pub thumb_width: u32,
    pub thumb_height: u32,
    pub updated_at: i64,
}

/// A profile as the caller may see it: only the fields visible to the caller are present.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// The owner's number (E.164).
    pub phone: String,
    /// Bumped on every change; 0 for a profile never edited.
    pub version: i64,
    /// When it last changed (0 if never).
    pub updated_at: i64,
    /// Non-empty visible text fields.
    pub fields: BTreeMap<ProfileField, String>,
    /// Present when there is an avatar and the caller may see it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<AvatarInfo>,
    /// Every field's visibility; only in the owner's own view.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<BTreeMap<ProfileField, Visibility>>,
}

/// `PATCH /v1/profile`: change text fields (an empty string clears one) and visibilities.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileUpdate {
    #[serde(default)]
    pub fields: BTreeMap<ProfileField, String>,
    #[serde(default)]
    pub visibility: BTreeMap<ProfileField, Visibility>,
}

/// `POST /v1/profiles/batch`: the profiles a client needs (e.g. its contacts, on coming online).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfilesQuery {
    /// Numbers in any spelling.
    pub phones: Vec<String>,
    /// Versions the client already holds, by E.164 number: those not changed since are left out.
    #[serde(default)]
    pub known: BTreeMap<String, i64>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProfilesBatch {
    /// Profiles of Ringbook users (changed since `known`, if given).
    pub profiles: Vec<Profile>,
    /// Numbers asked for that are not Ringbook users or could not be read.
    pub unknown: Vec<String>,
}

/// A number bound to the caller's account (MM-4): MMS from it update the caller's profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    pub phone: String,
    /// True for the account's own number.
    pub own: bool,
    pub created_at: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bindings {
    pub bindings: Vec<Binding>,
}

/// `POST /v1/profile/bindings`: bind a number (a code is sent to it unless it is the caller's own).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindRequest {
    pub phone: String,
}

/// The answer to [`BindRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindStarted {
    pub phone: String,
    /// True when the binding is done already (own number); else confirm with the SMS code.
    pub bound: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_secs: Option<u64>,
}

/// `POST /v1/profile/bindings/confirm`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindConfirm {
    pub phone: String,
    pub code: String,
}
