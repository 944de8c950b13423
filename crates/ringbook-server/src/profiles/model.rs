//! A profile's stored form, validation, visibility and the one way to change it ([`apply`]),
//! shared by the HTTP API and the MM7 endpoint.

use super::notices;
use crate::error::{ApiError, ApiResult};
use crate::state::{now_ms, AppState};
use ringbook_proto::profiles::{AvatarInfo, Profile, ProfileField, Visibility};
use ringbook_store::profiles::{AvatarChange, AvatarMeta, ProfileRow};
use ringbook_store::StoreError;
use std::collections::{BTreeMap, BTreeSet};

/// The parsed text fields and visibilities of a profile row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    pub fields: BTreeMap<ProfileField, String>,
    pub visibility: BTreeMap<ProfileField, Visibility>,
}

impl Parsed {
    pub fn from_row(row: &ProfileRow) -> ApiResult<Parsed> {
        let fields: BTreeMap<ProfileField, String> = serde_json::from_str(&row.fields)
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("stored profile fields: {e}")))?;
        let visibility: BTreeMap<ProfileField, Visibility> = serde_json::from_str(&row.visibility)
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("stored profile visibility: {e}")))?;
        Ok(Parsed { fields, visibility })
    }

    pub fn visibility_of(&self, f: ProfileField) -> Visibility {
        self.visibility
            .get(&f)
            .copied()
            .unwrap_or_else(|| f.default_visibility())
    }

    pub fn all_visibilities(&self) -> BTreeMap<ProfileField, Visibility> {
        ProfileField::ALL
            .iter()
            .map(|f| (*f, self.visibility_of(*f)))
            .collect()
    }
}

/// A change to one profile. Fields set to "" are cleared.
#[derive(Clone, Debug, Default)]
pub struct Change {
    pub fields: BTreeMap<ProfileField, String>,
    pub visibility: BTreeMap<ProfileField, Visibility>,
    pub avatar: Option<AvatarChange>,
    pub own_binding: Option<bool>,
}

impl Change {
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
            && self.visibility.is_empty()
            && self.avatar.is_none()
            && self.own_binding.is_none()
    }
}

fn invalid(field: ProfileField, why: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request("invalid_field", format!("{field}: {why}"))
}

/// Trims and checks a text value; returns what is stored ("" = cleared).
pub fn validate(field: ProfileField, value: &str) -> ApiResult<String> {
    if !field.is_text() {
        return Err(invalid(
            field,
            "the avatar is a picture: upload it with PUT /v1/profile/avatar or send it by MMS",
        ));
    }
    let v = value.trim();
    if v.chars().count() > field.max_chars() {
        return Err(invalid(
            field,
            format!("at most {} characters", field.max_chars()),
        ));
    }
    let newline_ok = field == ProfileField::Signature;
    if v.chars()
        .any(|c| c.is_control() && !(newline_ok && c == '\n'))
    {
        return Err(invalid(field, "control characters are not allowed"));
    }
    if v.is_empty() {
        return Ok(String::new());
    }
    match field {
        ProfileField::Email => {
            let ok = v.split_once('@').is_some_and(|(l, d)| {
                !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
            }) && !v.contains(char::is_whitespace);
            if !ok {
                return Err(invalid(field, format!("'{v}' is not an e-mail address")));
            }
        }
        ProfileField::Website if v.contains(char::is_whitespace) || !v.contains('.') => {
            return Err(invalid(field, format!("'{v}' is not a web address")));
        }
        ProfileField::Birthday if !valid_birthday(v) => {
            return Err(invalid(
                field,
                format!("'{v}' is not a date; write YYYY-MM-DD or MM-DD"),
            ));
        }
        _ => {}
    }
    Ok(v.to_string())
}

fn valid_birthday(v: &str) -> bool {
    let parts: Vec<&str> = v.split(['-', '/', '.']).collect();
    let num = |s: &str| s.parse::<u32>().ok();
    let (y, m, d) = match parts.as_slice() {
        [y, m, d] if y.len() == 4 => (num(y), num(m), num(d)),
        [m, d] => (Some(2000), num(m), num(d)),
        _ => return false,
    };
    let (Some(y), Some(m), Some(d)) = (y, m, d) else {
        return false;
    };
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        _ => return false,
    };
    (1900..=2200).contains(&y) && (1..=days).contains(&d)
}

/// Who is looking at a profile.
#[derive(Clone, Debug)]
pub struct Viewer {
    pub user_id: i64,
    pub phone: String,
}

/// Caches "is the viewer in the owner's book" for one view.
pub struct Access<'a> {
    state: &'a AppState,
    owner_id: i64,
    viewer: &'a Viewer,
    in_book: Option<bool>,
}

impl<'a> Access<'a> {
    pub fn new(state: &'a AppState, owner_id: i64, viewer: &'a Viewer) -> Self {
        Access {
            state,
            owner_id,
            viewer,
            in_book: None,
        }
    }

    pub fn is_owner(&self) -> bool {
        self.viewer.user_id == self.owner_id
    }

    pub async fn may_see(&mut self, vis: Visibility) -> ApiResult<bool> {
        if self.is_owner() {
            return Ok(true);
        }
        Ok(match vis {
            Visibility::Everyone => true,
            Visibility::Nobody => false,
            Visibility::Contacts => {
                if self.in_book.is_none() {
                    self.in_book = Some(
                        self.state
                            .core
                            .store
                            .has_in_book(self.owner_id, &self.viewer.phone)
                            .await?,
                    );
                }
                self.in_book.unwrap_or(false)
            }
        })
    }
}

pub fn avatar_info(m: &AvatarMeta) -> AvatarInfo {
    let u = |v: i64| u32::try_from(v).unwrap_or(0);
    AvatarInfo {
        id: m.avatar_id.clone(),
        width: u(m.width),
        height: u(m.height),
        bytes: u64::try_from(m.bytes).unwrap_or(0),
        thumb_width: u(m.thumb_width),
        thumb_height: u(m.thumb_height),
        updated_at: m.updated_at,
    }
}

/// The profile of `owner_id` (number `owner_phone`) as `viewer` may see it.
pub async fn view(
    state: &AppState,
    owner_id: i64,
    owner_phone: &str,
    viewer: &Viewer,
) -> ApiResult<Profile> {
    let row = state
        .core
        .store
        .profile(owner_id)
        .await?
        .unwrap_or_else(|| ProfileRow::empty(owner_id));
    let parsed = Parsed::from_row(&row)?;
    let mut access = Access::new(state, owner_id, viewer);
    let mut fields = BTreeMap::new();
    for (f, v) in &parsed.fields {
        if !v.is_empty() && access.may_see(parsed.visibility_of(*f)).await? {
            fields.insert(*f, v.clone());
        }
    }
    let avatar = if access
        .may_see(parsed.visibility_of(ProfileField::Avatar))
        .await?
    {
        state
            .core
            .store
            .avatar_meta(owner_id)
            .await?
            .as_ref()
            .map(avatar_info)
    } else {
        None
    };
    Ok(Profile {
        phone: owner_phone.to_string(),
        version: row.version,
        updated_at: row.updated_at,
        fields,
        avatar,
        visibility: access.is_owner().then(|| parsed.all_visibilities()),
    })
}

/// What [`apply`] did.
#[derive(Clone, Debug)]
pub struct Applied {
    pub version: i64,
    /// Fields whose value or visibility changed (`avatar` for a new or removed picture).
    pub changed: BTreeSet<ProfileField>,
}

/// Applies `change` to the profile of `owner_id` and tells those who may see it (MM-3).
/// Retries when a concurrent change won the race; a change that changes nothing writes nothing.
pub async fn apply(
    state: &AppState,
    owner_id: i64,
    owner_phone: &str,
    change: Change,
) -> ApiResult<Applied> {
    for _ in 0..8 {
        let row = state
            .core
            .store
            .profile(owner_id)
            .await?
            .unwrap_or_else(|| ProfileRow::empty(owner_id));
        let old = Parsed::from_row(&row)?;
        let mut new = old.clone();
        let mut changed = BTreeSet::new();
        for (f, v) in &change.fields {
            let current = old.fields.get(f).map(String::as_str).unwrap_or("");
            if current != v {
                changed.insert(*f);
                if v.is_empty() {
                    new.fields.remove(f);
                } else {
                    new.fields.insert(*f, v.clone());
                }
            }
        }
        for (f, vis) in &change.visibility {
            if old.visibility_of(*f) != *vis {
                changed.insert(*f);
            }
            new.visibility.insert(*f, *vis);
        }
        let avatar = match &change.avatar {
            None => AvatarChange::Keep,
            Some(AvatarChange::Remove) => {
                if state.core.store.avatar_meta(owner_id).await?.is_some() {
                    changed.insert(ProfileField::Avatar);
                    AvatarChange::Remove
                } else {
                    AvatarChange::Keep
                }
            }
            Some(a) => {
                changed.insert(ProfileField::Avatar);
                a.clone()
            }
        };
        let own_binding = change.own_binding.unwrap_or(row.own_binding);
        if changed.is_empty() && own_binding == row.own_binding {
            return Ok(Applied {
                version: row.version,
                changed,
            });
        }
        let next = ProfileRow {
            user_id: owner_id,
            fields: to_json(&new.fields)?,
            visibility: to_json(&new.visibility)?,
            own_binding,
            version: row.version,
            updated_at: row.updated_at,
        };
        match state
            .core
            .store
            .save_profile(&next, &avatar, now_ms())
            .await
        {
            Ok(version) => {
                if !changed.is_empty() {
                    notices::profile_changed(
                        state,
                        owner_id,
                        owner_phone,
                        version,
                        &old,
                        &new,
                        &changed,
                    )
                    .await;
                }
                return Ok(Applied { version, changed });
            }
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::conflict(
        "profile_busy",
        "the profile is being changed by several devices at once; try again",
    ))
}

fn to_json<T: serde::Serialize>(v: &T) -> ApiResult<String> {
    serde_json::to_string(v).map_err(|e| ApiError::Internal(e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn birthdays() {
        assert!(valid_birthday("1990-02-28"));
        assert!(valid_birthday("2000-02-29"));
        assert!(!valid_birthday("1900-02-29"));
        assert!(valid_birthday("12-31"));
        assert!(!valid_birthday("13-01"));
        assert!(!valid_birthday("yesterday"));
    }

    #[test]
    fn values_are_checked() {
        assert_eq!(
            validate(ProfileField::Nickname, "  Lei ").ok().as_deref(),
            Some("Lei")
        );
        assert!(validate(ProfileField::Email, "not-an-email").is_err());
        assert!(validate(ProfileField::Email, "a@b.cn").is_ok());
        assert!(validate(ProfileField::Avatar, "x").is_err());
        assert!(validate(ProfileField::Name, "a\u{7}b").is_err());
        assert!(validate(ProfileField::Signature, "line1\nline2").is_ok());
        assert!(validate(ProfileField::Name, &"x".repeat(101)).is_err());
    }
}
