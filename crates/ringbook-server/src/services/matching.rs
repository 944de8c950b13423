//! Mutual matching (SS-2): A and B match when A's number is in B's book and B's number is in
//! A's. The relation lives in `mutual_friends` (both directions).
//!
//! Incremental: `Store::upsert_contacts` / `delete_contacts` update it in the same transaction
//! as the book change, with index look-ups per changed number (`users.phone`, the contacts
//! primary key) — the cost follows the change, never the user base. [`on_book_changed`] is the
//! same check for a writer that changed `contacts` some other way.
//!
//! Batch: [`run_rematch`] walks all users in id ranges (one transaction per range), adding
//! missing matches and removing stale ones, recording progress readable from any node.

use crate::error::{ApiError, ApiResult};
use crate::extract::ClientAddr;
use crate::state::{now_ms, AppState};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use ringbook_proto::services::RematchView;
use ringbook_store::services::RematchStatus;
use ringbook_store::Store;

/// Re-checks the matches between `owner_id` and the numbers added to or removed from their book.
pub async fn on_book_changed(
    state: &AppState,
    owner_id: i64,
    added: &[String],
    removed: &[String],
) -> ApiResult<()> {
    let mut phones = added.to_vec();
    phones.extend_from_slice(removed);
    state.core.store.relink(owner_id, &phones, now_ms()).await?;
    Ok(())
}

/// Totals of one batch rematch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RematchTotals {
    pub users: i64,
    pub added: u64,
    pub removed: u64,
}

/// One step of the batch rematch: the next `batch` users after id `after`. Returns the last
/// id done and the step's totals, or `None` when every user was done.
pub async fn rematch_step(
    store: &Store,
    after: i64,
    batch: i64,
) -> ringbook_store::Result<Option<(i64, RematchTotals)>> {
    let ids = store.user_ids_after(after, batch.max(1)).await?;
    let (Some(&lo), Some(&hi)) = (ids.first(), ids.last()) else {
        return Ok(None);
    };
    let (added, removed) = store.rematch_range(lo, hi, now_ms()).await?;
    Ok(Some((
        hi,
        RematchTotals {
            users: ids.len() as i64,
            added,
            removed,
        },
    )))
}

/// Rebuilds the relation for every user, `batch` users per transaction, calling `progress`
/// after each batch with the totals so far.
pub async fn rematch_all(
    store: &Store,
    batch: i64,
    mut progress: impl FnMut(RematchTotals),
) -> ringbook_store::Result<RematchTotals> {
    let mut totals = RematchTotals::default();
    let mut after = 0;
    while let Some((last, t)) = rematch_step(store, after, batch).await? {
        after = last;
        totals.users += t.users;
        totals.added += t.added;
        totals.removed += t.removed;
        progress(totals);
    }
    Ok(totals)
}

/// The batch rematch as a background job with progress in the store.
async fn run_rematch(state: AppState) {
    let store = &state.core.store;
    let batch = state.config.services.rematch_batch_users;
    let mut totals = RematchTotals::default();
    let mut after = 0;
    let mut last_write = 0i64;
    let error = loop {
        match rematch_step(store, after, batch).await {
            Ok(Some((last, t))) => {
                after = last;
                totals.users += t.users;
                totals.added += t.added;
                totals.removed += t.removed;
                // Progress goes to the store at most every 200 ms.
                if now_ms() - last_write >= 200 {
                    last_write = now_ms();
                    if let Err(e) = store
                        .rematch_progress(totals.users, totals.added as i64, totals.removed as i64)
                        .await
                    {
                        tracing::warn!(error = %e, "recording rematch progress failed");
                    }
                }
            }
            Ok(None) => break None,
            Err(e) => {
                tracing::error!(error = %e, "batch rematch failed");
                break Some(e.to_string());
            }
        }
    };
    if let Err(e) = store
        .rematch_progress(totals.users, totals.added as i64, totals.removed as i64)
        .await
    {
        tracing::warn!(error = %e, "recording rematch totals failed");
    }
    tracing::info!(
        users = totals.users,
        added = totals.added,
        removed = totals.removed,
        "batch rematch ended"
    );
    if let Err(e) = store.rematch_finish(now_ms(), error.as_deref()).await {
        tracing::error!(error = %e, "recording the end of the rematch failed");
    }
}

fn view(s: RematchStatus) -> RematchView {
    RematchView {
        running: s.running,
        total_users: s.total_users,
        done_users: s.done_users,
        added: s.added,
        removed: s.removed,
        started_at: s.started_at,
        finished_at: s.finished_at,
        error: s.error,
    }
}

/// `POST /v1/admin/services/rematch`: starts the batch rematch (202 with its progress).
pub async fn start_rematch(
    State(state): State<AppState>,
    addr: ClientAddr,
    headers: HeaderMap,
) -> ApiResult<(axum::http::StatusCode, Json<RematchView>)> {
    super::require_admin(&state, &addr, &headers)?;
    let total = state.core.store.user_count().await?;
    if !state.core.store.rematch_begin(total, now_ms()).await? {
        return Err(ApiError::conflict(
            "rematch_running",
            "a batch rematch is already running; follow it with `ringbook services rematch --status`",
        ));
    }
    tracing::info!(total, "batch rematch started");
    state
        .core
        .workers
        .spawn_job("rematch", run_rematch(state.clone()));
    let status = state.core.store.rematch_status().await?.unwrap_or_default();
    Ok((axum::http::StatusCode::ACCEPTED, Json(view(status))))
}

/// `GET /v1/admin/services/rematch`: progress of the running or last batch rematch.
pub async fn rematch_status(
    State(state): State<AppState>,
    addr: ClientAddr,
    headers: HeaderMap,
) -> ApiResult<Json<RematchView>> {
    super::require_admin(&state, &addr, &headers)?;
    match state.core.store.rematch_status().await? {
        Some(s) => Ok(Json(view(s))),
        None => Err(ApiError::not_found(
            "no_rematch",
            "no batch rematch has run yet; start one with `ringbook services rematch`",
        )),
    }
}
