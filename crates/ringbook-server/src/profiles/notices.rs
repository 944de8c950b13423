//! Live profile-update notices (MM-3): `profile_updated {phone, version}` to the owner's devices
//! and to every online user who has the owner in their phone book and may see one of the
//! changed fields — under the old or the new visibility, so a user who just lost sight of a
//! field also refreshes and drops it.

use super::model::{Access, Parsed, Viewer};
use crate::state::AppState;
use ringbook_proto::profiles::ProfileField;
use ringbook_proto::ws::ServerFrame;
use std::collections::BTreeSet;

pub async fn profile_changed(
    state: &AppState,
    owner_id: i64,
    owner_phone: &str,
    version: i64,
    old: &Parsed,
    new: &Parsed,
    changed: &BTreeSet<ProfileField>,
) {
    let frame = || ServerFrame::ProfileUpdated {
        phone: owner_phone.to_string(),
        version,
    };
    state.core.hub.send_to_user(owner_id, frame());
    let candidates = match state.core.store.owners_having(owner_phone).await {
        Ok(c) => c,
        Err(e) => {
            // The change is stored; clients still get it when they next fetch profiles.
            tracing::warn!(error = %e, "cannot list who to notify of a profile change");
            return;
        }
    };
    for viewer_id in candidates {
        if viewer_id == owner_id || !state.core.hub.is_online(viewer_id) {
            continue;
        }
        match may_see_change(state, owner_id, viewer_id, old, new, changed).await {
            Ok(true) => {
                state.core.hub.send_to_user(viewer_id, frame());
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, viewer_id, "profile notice check failed"),
        }
    }
}

async fn may_see_change(
    state: &AppState,
    owner_id: i64,
    viewer_id: i64,
    old: &Parsed,
    new: &Parsed,
    changed: &BTreeSet<ProfileField>,
) -> anyhow::Result<bool> {
    let Some(user) = state.core.store.user_by_id(viewer_id).await? else {
        return Ok(false);
    };
    let viewer = Viewer {
        user_id: viewer_id,
        phone: user.phone,
    };
    let mut access = Access::new(state, owner_id, &viewer);
    for f in changed {
        if access
            .may_see(old.visibility_of(*f))
            .await
            .map_err(anyhow_of)?
            || access
                .may_see(new.visibility_of(*f))
                .await
                .map_err(anyhow_of)?
        {
            return Ok(true);
        }
    }
    Ok(false)
}

fn anyhow_of(e: crate::error::ApiError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}
