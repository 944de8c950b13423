//! WebSocket frames of messaging: `send` → `ack` / `send_failed`, `sync` → `message`… then
//! `sync_complete`, `delivered` / `read` → `receipt` to the sender. See `docs/protocol.md`.

use super::{check_rate, default_sent_at, submit, Outgoing};
use crate::error::ApiError;
use crate::ws::{error_frame, ConnContext, Family};
use ringbook_proto::ws::{Receipt, ServerFrame};
use std::sync::Arc;

/// Most IDs one `delivered` / `read` frame may carry.
pub const MAX_RECEIPT_IDS: usize = 1000;

fn failed(client_msg_id: &str, e: &ApiError) -> ServerFrame {
    ServerFrame::SendFailed {
        client_msg_id: client_msg_id.to_string(),
        error: e.body(),
    }
}

/// Queues the send in frame order, then acknowledges from a separate task once its batch
/// committed, so one connection can have many sends in flight.
pub async fn send(
    ctx: &ConnContext,
    client_msg_id: String,
    to: String,
    body: String,
    kind: Option<String>,
    sent_at: Option<i64>,
) {
    let state = &ctx.state;
    let queued = async {
        let to = crate::identity::parse_phone(state, &to)?;
        check_rate(state, ctx.session.user_id)?;
        submit(
            state,
            Outgoing {
                sender_id: ctx.session.user_id,
                sender_phone: &ctx.session.phone,
                to: &to,
                client_msg_id: &client_msg_id,
                kind: kind.as_deref().unwrap_or("text"),
                body: &body,
                sent_at: default_sent_at(sent_at),
            },
        )
        .await
    }
    .await;
    match queued {
        Err(e) => ctx.reply(failed(&client_msg_id, &e)),
        Ok(pending) => {
            let handle = ctx.handle.clone();
            tokio::spawn(async move {
                let frame = match pending.wait().await {
                    Ok(d) => ServerFrame::Ack {
                        client_msg_id,
                        id: d.message.id,
                        seq: d.message.seq,
                        stored_at: d.message.stored_at,
                        duplicate: !d.new,
                    },
                    Err(e) => failed(&client_msg_id, &e),
                };
                // Waits for room: a sender with many sends in flight is not cut off for its acks.
                handle.push_wait(Arc::new(frame)).await;
            });
        }
    }
}

/// Sends the messages after `after_seq` in order, page by page, waiting for room in the
/// connection's queue, then `sync_complete`. One sync answers at most `websocket.sync_max_rows`
/// messages (`more: true` when there are further ones), and syncs have their own budget: a
/// client repeating `sync {after_seq: 0}` cannot make the server read the whole history again
/// and again.
pub async fn sync(ctx: &ConnContext, after_seq: i64) {
    if !ctx.charge(Family::Sync, 1) {
        return;
    }
    let state = &ctx.state;
    let max_rows = state.config.websocket.sync_max_rows.max(1);
    let page = state.config.messaging.sync_page.clamp(1, max_rows);
    let mut last = after_seq.max(0);
    let mut count: i64 = 0;
    let mut more = false;
    loop {
        let want = page.min(max_rows - count);
        let rows = match state
            .core
            .store
            .messages_after(ctx.session.user_id, last, want)
            .await
        {
            Ok(rows) => rows,
            Err(e) => {
                tracing::error!(error = %e, "sync failed");
                ctx.reply(error_frame(
                    "sync_failed",
                    "the sync failed on the server; send sync again",
                ));
                return;
            }
        };
        let n = rows.len() as i64;
        for row in rows {
            last = row.seq;
            count += 1;
            if !ctx
                .handle
                .push_wait(Arc::new(ServerFrame::Message(super::to_wire(&row))))
                .await
            {
                return;
            }
        }
        if n < want {
            break;
        }
        if count >= max_rows {
            // Cut here; whether more follow costs one cheap look-up.
            more = match state
                .core
                .store
                .messages_after(ctx.session.user_id, last, 1)
                .await
            {
                Ok(next) => !next.is_empty(),
                Err(_) => true,
            };
            break;
        }
    }
    ctx.handle
        .push_wait(Arc::new(ServerFrame::SyncComplete {
            last_seq: last,
            count: count as u64,
            more,
        }))
        .await;
}

/// Stores delivery or read times and pushes a receipt to each message's sender (once).
pub async fn receipts(ctx: &ConnContext, ids: Vec<i64>, read: bool) {
    if ids.len() > MAX_RECEIPT_IDS {
        ctx.reply(error_frame(
            "too_many_ids",
            &format!("at most {MAX_RECEIPT_IDS} message IDs per receipt frame; split them"),
        ));
        return;
    }
    // Charged by IDs, not frames: the cost is one row look-up per ID.
    if !ctx.charge(Family::ReceiptIds, ids.len() as u32) {
        return;
    }
    let state = &ctx.state;
    let now = crate::state::now_ms();
    let rows = match state
        .core
        .store
        .mark_received(ctx.session.user_id, &ids, read, now)
        .await
    {
        Ok(rows) => rows,
        Err(e) => {
            tracing::error!(error = %e, "receipt failed");
            ctx.reply(error_frame(
                "receipt_failed",
                "the receipt was not stored; send it again",
            ));
            return;
        }
    };
    let status = if read { "read" } else { "delivered" };
    for row in rows {
        state.core.hub.send_to_user(
            row.sender_id,
            ServerFrame::Receipt(Receipt {
                id: row.id,
                client_msg_id: row.client_msg_id.clone(),
                by: row.recipient_phone.clone(),
                status: status.to_string(),
                at: now,
            }),
        );
    }
}
