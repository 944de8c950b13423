//! What an official account may see of a follower (OA-4's "user information", limited by X-1).
//!
//! Two inputs: the follower's allow-list (`oa_privacy`, default [`DEFAULT_VISIBLE_FIELDS`]) and
//! the follower's profile fields from [`profile_fields`]. The profiles part owns the profile;
//! `profile_fields` is the one place that reads it, so wiring a richer profile in is a change
//! to that function only.

use crate::error::ApiResult;
use crate::state::AppState;
use ringbook_proto::official::{DEFAULT_VISIBLE_FIELDS, KNOWN_FIELDS};
use std::collections::BTreeMap;

/// The follower's allow-list.
pub async fn allowed_fields(state: &AppState, user_id: i64) -> ApiResult<Vec<String>> {
    Ok(match state.core.store.oa_privacy(user_id).await? {
        Some(json) => serde_json::from_str::<Vec<String>>(&json).unwrap_or_default(),
        None => DEFAULT_VISIBLE_FIELDS
            .iter()
            .map(|s| s.to_string())
            .collect(),
    })
}

/// Keeps only names an account could ever be shown, without duplicates.
pub fn clean_fields(fields: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for f in fields {
        let f = f.trim().to_ascii_lowercase();
        if !KNOWN_FIELDS.contains(&f.as_str()) {
            return Err(f);
        }
        if !out.contains(&f) {
            out.push(f);
        }
    }
    Ok(out)
}

/// The follower's profile as `field → value`, from the profiles part (MM); the region falls back to
/// the number's country calling code. The caller filters by what the follower allows accounts.
pub async fn profile_fields(state: &AppState, user_id: i64) -> ApiResult<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    if let Some(user) = state.core.store.user_by_id(user_id).await? {
        if let Some(region) = region_of(&user.phone) {
            out.insert("region".to_string(), region.to_string());
        }
    }
    if let Some(row) = state.core.store.profile(user_id).await? {
        let stored: BTreeMap<String, serde_json::Value> =
            serde_json::from_str(&row.fields).unwrap_or_default();
        for (field, value) in stored {
            if let Some(text) = value.as_str().filter(|t| !t.is_empty()) {
                out.insert(field, text.to_string());
            }
        }
    }
    Ok(out)
}

fn region_of(e164: &str) -> Option<&'static str> {
    const CODES: &[(&str, &str)] = &[
        ("+852", "HK"),
        ("+853", "MO"),
        ("+886", "TW"),
        ("+86", "CN"),
        ("+1", "US/CA"),
        ("+44", "GB"),
        ("+49", "DE"),
        ("+33", "FR"),
        ("+81", "JP"),
        ("+82", "KR"),
        ("+65", "SG"),
        ("+61", "AU"),
        ("+91", "IN"),
    ];
    CODES
        .iter()
        .find(|(p, _)| e164.starts_with(p))
        .map(|(_, r)| *r)
}

/// What the account sees: the profile fields the follower allows.
pub async fn visible_fields(state: &AppState, user_id: i64) -> ApiResult<BTreeMap<String, String>> {
    let allowed = allowed_fields(state, user_id).await?;
    let mut all = profile_fields(state, user_id).await?;
    all.retain(|k, _| allowed.iter().any(|a| a == k));
    Ok(all)
}
