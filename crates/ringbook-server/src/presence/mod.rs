//! The presence part (PB-12 … PB-14): each user's IM status (online, busy, away, offline),
//! self-set status text, phone-activity status (from the client's monitor, PB-15), nickname,
//! signature and personal site, and who may see them.
//!
//! * The IM status goes to the user's chosen status (default online) when a WebSocket connects
//!   and to offline, with the time as "last seen", when the user's last connection (on any node)
//!   closes. `PUT /v1/presence/me` sets the chosen status; it shows at once only while the user
//!   is connected, so a user with no device connected is never shown busy or online. At
//!   start-up a node sets offline the users it had shown present with no connection left.
//! * The activity status (set by the client's monitor, PB-15) lapses after a time to live the
//!   monitor refreshes ([`lapse_activities`]); the self-set text stays until changed.
//! * Who sees it is the user's privacy setting: `everyone`, `contacts` (numbers in the user's
//!   own book, the default) or `nobody`. The user always sees its own.
//! * Queries answer only for numbers the caller may see; numbers it may not see are absent, the
//!   same as numbers that are not users, so a query reveals nothing.
//! * Every change is pushed live (`presence` frame) to the users who have the number in their
//!   book and may see it, and to the user's own other devices. When a change of privacy hides a
//!   user from a watcher, that watcher gets one last frame showing it offline with no details.

mod routes;

use crate::state::{now_ms, AppState};
use crate::ws::ConnContext;
use axum::routing::{get, post, put};
use axum::Router;
use ringbook_proto::presence::{ImStatus, PresenceInfo, Visibility};
use ringbook_proto::ws::ServerFrame;
use ringbook_store::presence::{PresenceRow, PresenceUpdate};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PresenceConfig {
    /// Longest self-set status, nickname, activity status and signature, in characters.
    pub max_text_chars: usize,
    /// Most numbers in one `POST /v1/presence/query`.
    pub max_query_numbers: usize,
    /// How long an activity status lasts when the client gives no `activity_ttl_secs`.
    pub activity_ttl_secs: u64,
    /// Longest `activity_ttl_secs` a client may ask for.
    pub max_activity_ttl_secs: u64,
}

impl Default for PresenceConfig {
    fn default() -> Self {
        PresenceConfig {
            max_text_chars: 140,
            max_query_numbers: 1000,
            activity_ttl_secs: 180,
            max_activity_ttl_secs: 86_400,
        }
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/presence/me", get(routes::get_me).put(routes::put_me))
        .route("/v1/presence/privacy", put(routes::put_privacy))
        .route("/v1/presence/contacts", get(routes::contacts))
        .route("/v1/presence/query", post(routes::query))
}

pub(crate) fn status_of(s: &str) -> ImStatus {
    s.parse().unwrap_or(ImStatus::Offline)
}

pub(crate) fn visibility_of(s: &str) -> Visibility {
    s.parse().unwrap_or_default()
}

/// What others see: a lapsed activity status is not shown (even before the sweeper cleared
/// it), and "last seen" only with offline.
pub(crate) fn info(row: &PresenceRow) -> PresenceInfo {
    let now = now_ms();
    let im_status = status_of(&row.im_status);
    PresenceInfo {
        phone: row.phone.clone(),
        im_status,
        self_status: row.self_status.clone(),
        activity_status: row
            .activity_status
            .clone()
            .filter(|_| row.activity_expires_at.is_none_or(|at| at > now)),
        nickname: row.nickname.clone(),
        signature: row.signature.clone(),
        personal_site: row.personal_site.clone(),
        updated_at: row.updated_at,
        last_seen_at: row.last_seen_at.filter(|_| im_status == ImStatus::Offline),
    }
}

/// What a watcher who may no longer see the user is shown.
fn hidden(row: &PresenceRow) -> PresenceInfo {
    PresenceInfo {
        phone: row.phone.clone(),
        im_status: ImStatus::Offline,
        self_status: None,
        activity_status: None,
        nickname: None,
        signature: None,
        personal_site: None,
        updated_at: row.updated_at,
        last_seen_at: None,
    }
}

/// Whether `viewer` (user id and number) may see `target`'s presence.
pub async fn may_see(
    state: &AppState,
    viewer_id: i64,
    viewer_phone: &str,
    target: &PresenceRow,
) -> Result<bool, ringbook_store::StoreError> {
    if viewer_id == target.user_id {
        return Ok(true);
    }
    match visibility_of(&target.visibility) {
        Visibility::Everyone => Ok(true),
        Visibility::Nobody => Ok(false),
        Visibility::Contacts => {
            state
                .core
                .store
                .has_in_book(target.user_id, viewer_phone)
                .await
        }
    }
}

/// Pushes `row` to the user's own devices (when `to_self`) and to every watcher (a user with the number in
/// their book) allowed to see it; watchers in `also_hide_from` who may not see it get the hidden
/// form instead.
pub async fn broadcast(state: &AppState, row: &PresenceRow, hide_from_denied: bool, to_self: bool) {
    let frame = ServerFrame::Presence(info(row));
    if to_self {
        state.core.hub.send_to_user(row.user_id, frame.clone());
    }
    let watchers = match state.core.store.owners_having(&row.phone).await {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(error = %e, "could not list presence watchers");
            return;
        }
    };
    for w in watchers {
        if w == row.user_id || !state.core.hub.is_online(w) {
            continue;
        }
        let allowed = match visibility_of(&row.visibility) {
            Visibility::Everyone => true,
            Visibility::Nobody => false,
            Visibility::Contacts => match state.core.store.user_by_id(w).await {
                Ok(Some(u)) => state
                    .core
                    .store
                    .has_in_book(row.user_id, &u.phone)
                    .await
                    .unwrap_or(false),
                _ => false,
            },
        };
        if allowed {
            state.core.hub.send_to_user(w, frame.clone());
        } else if hide_from_denied {
            state
                .core
                .hub
                .send_to_user(w, ServerFrame::Presence(hidden(row)));
        }
    }
}

/// Applies an update and pushes the result when something others see changed; `to_self` also
/// tells the user's own devices (not done for the automatic connect/disconnect changes).
pub async fn update(
    state: &AppState,
    user_id: i64,
    u: &PresenceUpdate,
    to_self: bool,
) -> Result<PresenceRow, ringbook_store::StoreError> {
    let before = state.core.store.presence_of(user_id).await?;
    let after = state
        .core
        .store
        .update_presence(user_id, u, now_ms())
        .await?;
    let visible_change = before
        .as_ref()
        .is_none_or(|b| info(b) != info(&after) && !same_but_time(b, &after));
    let privacy_change = before
        .as_ref()
        .is_some_and(|b| b.visibility != after.visibility);
    if visible_change || privacy_change {
        broadcast(state, &after, privacy_change, to_self).await;
    }
    Ok(after)
}

fn same_but_time(a: &PresenceRow, b: &PresenceRow) -> bool {
    let mut a = info(a);
    a.updated_at = b.updated_at;
    a == info(b)
}

/// Called from `realtime::on_connect`: the user shows its chosen status.
pub async fn on_connect(ctx: &ConnContext) {
    let state = &ctx.state;
    let chosen = match state.core.store.presence_of(ctx.session.user_id).await {
        Ok(Some(row)) => row.chosen_status,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, "could not read presence at connect");
            return;
        }
    };
    let u = PresenceUpdate {
        im_status: Some(chosen),
        ..Default::default()
    };
    if let Err(e) = update(state, ctx.session.user_id, &u, false).await {
        tracing::warn!(error = %e, "could not set presence at connect");
    }
}

/// Called from `realtime::on_disconnect` (after the connection left the hub and its record
/// was removed): offline, last seen now, once the user has no connection left on any node.
pub async fn on_disconnect(ctx: &ConnContext) {
    let state = &ctx.state;
    let user_id = ctx.session.user_id;
    let went_offline = async {
        let before = state.core.store.presence_of(user_id).await?;
        if !state
            .core
            .store
            .go_offline_unless_connected(user_id, now_ms())
            .await?
        {
            return Ok(None);
        }
        let after = state.core.store.presence_of(user_id).await?;
        Ok::<_, ringbook_store::StoreError>(
            after.filter(|a| before.as_ref().is_none_or(|b| b.im_status != a.im_status)),
        )
    }
    .await;
    match went_offline {
        Ok(Some(row)) => broadcast(state, &row, false, false).await,
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "could not set presence at disconnect"),
    }
}

/// Background task: clears activity statuses whose time to live passed (the monitor stopped
/// refreshing them) and tells the watchers. Checks every second with one indexed query.
pub async fn lapse_activities(state: AppState, mut stop: crate::workers::StopSignal) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.stopped() => return,
        }
        let now = now_ms();
        let users = match state.core.store.lapsed_activities(now).await {
            Ok(users) => users,
            Err(e) => {
                tracing::warn!(error = %e, "could not look for lapsed activity statuses");
                continue;
            }
        };
        for user_id in users {
            let cleared = async {
                if !state.core.store.clear_lapsed_activity(user_id, now).await? {
                    return Ok(None);
                }
                state.core.store.presence_of(user_id).await
            }
            .await;
            match cleared {
                Ok(Some(row)) => broadcast(&state, &row, false, true).await,
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "could not clear a lapsed activity status"),
            }
        }
    }
}

/// Called by the contacts part after `owner_id` added numbers of the users `added` to its book:
/// with the default privacy they may now see the owner, so those watching it get its presence.
pub async fn book_changed(state: &AppState, owner_id: i64, added: &[i64]) {
    if added.is_empty() {
        return;
    }
    let row = match state.core.store.presence_of(owner_id).await {
        Ok(Some(r)) => r,
        _ => return,
    };
    if visibility_of(&row.visibility) != Visibility::Contacts {
        return;
    }
    for &w in added {
        if !state.core.hub.is_online(w) {
            continue;
        }
        if state
            .core
            .store
            .has_in_book(w, &row.phone)
            .await
            .unwrap_or(false)
        {
            state
                .core
                .hub
                .send_to_user(w, ServerFrame::Presence(info(&row)));
        }
    }
}
