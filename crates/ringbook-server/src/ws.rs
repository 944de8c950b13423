//! The WebSocket endpoint `GET /v1/ws`: authenticates the session, records the connection
//! (PB-6), then runs one reader loop and one writer task fed by the hub's bounded queue.
//!
//! Every user has token buckets (`governor`) per frame family — all frames, receipt IDs, syncs;
//! sends have messaging's per-user limit — shared by the user's connections and kept across
//! reconnections, so one client cannot make the server work for it without bound. A frame over budget is not handled: the client gets `error
//! {code: "slow_down", retry_after_secs}`; a client that keeps going after being told is
//! closed with `closing {reason: "rate_limited"}` (close code 1008). A frame over
//! `MAX_FRAME_BYTES` closes with code 1009.

use crate::error::ApiError;
use crate::extract::{ClientAddr, Session, UpgradeSession};
use crate::hub::{ConnHandle, ConnReceivers};
use crate::state::{now_ms, AppState};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use governor::{DefaultKeyedRateLimiter, Quota};
use ringbook_proto::ws::{
    ClientFrame, CloseReason, ServerFrame, MAX_FRAME_BYTES, PROTOCOL_VERSION,
};
use ringbook_proto::ErrorBody;
use ringbook_store::identity::ConnectionRow;
use serde::{Deserialize, Serialize};
use std::num::NonZeroU32;
use std::sync::Arc;

/// Per-user frame budgets (config section `[websocket]`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebSocketConfig {
    /// Frames of any type one user may send per second, with bursts of `frames_burst`.
    pub frames_per_second: u32,
    pub frames_burst: u32,
    /// Message IDs in `delivered`/`read` frames per second (a frame carries up to 1,000), with
    /// bursts of `receipt_ids_burst`.
    pub receipt_ids_per_second: u32,
    pub receipt_ids_burst: u32,
    /// `sync` frames per second, with bursts of `syncs_burst`.
    pub syncs_per_second: u32,
    pub syncs_burst: u32,
    /// Most messages one `sync` answers; the rest come on the next `sync` (`more: true`).
    pub sync_max_rows: i64,
    /// Frames refused for the budget a user may send before the connection is closed, regained at one
    /// per second.
    pub refusals_before_close: u32,
}

impl Default for WebSocketConfig {
    fn default() -> Self {
        WebSocketConfig {
            frames_per_second: 100,
            frames_burst: 200,
            receipt_ids_per_second: 2000,
            receipt_ids_burst: 10_000,
            syncs_per_second: 2,
            syncs_burst: 20,
            sync_max_rows: 1000,
            refusals_before_close: 20,
        }
    }
}

fn quota(per_second: u32, burst: u32) -> Quota {
    let nz = |n: u32| NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_second(nz(per_second)).allow_burst(nz(burst.max(per_second)))
}

/// The frame families a budget is kept for.
#[derive(Clone, Copy, Debug)]
pub enum Family {
    Any,
    ReceiptIds,
    Sync,
}

impl Family {
    fn describe(self) -> &'static str {
        match self {
            Family::Any => "frames",
            Family::ReceiptIds => "receipt IDs",
            Family::Sync => "syncs",
        }
    }
}

/// The token buckets, kept per user (keyed `governor` limiters), so that reconnecting does not
/// refill them: a client closed for flooding comes back with its budget still spent.
pub struct FrameBudgets {
    any: DefaultKeyedRateLimiter<i64>,
    receipt_ids: DefaultKeyedRateLimiter<i64>,
    syncs: DefaultKeyedRateLimiter<i64>,
    refusals: DefaultKeyedRateLimiter<i64>,
}

/// Over budget: wait this long, or (`close`) the connection is closed.
#[derive(Debug)]
pub struct OverBudget {
    pub retry_after_secs: u64,
    pub close: bool,
}

impl FrameBudgets {
    pub fn new(cfg: &WebSocketConfig) -> Self {
        FrameBudgets {
            any: governor::RateLimiter::keyed(quota(cfg.frames_per_second, cfg.frames_burst)),
            receipt_ids: governor::RateLimiter::keyed(quota(
                cfg.receipt_ids_per_second,
                cfg.receipt_ids_burst,
            )),
            syncs: governor::RateLimiter::keyed(quota(cfg.syncs_per_second, cfg.syncs_burst)),
            refusals: governor::RateLimiter::keyed(quota(1, cfg.refusals_before_close)),
        }
    }

    /// Takes `cost` tokens of `family` from `user`'s budget, or says how long to wait (and
    /// whether to give up on the connection, once it has been refused too often).
    pub fn take(&self, user: i64, family: Family, cost: u32) -> Result<(), OverBudget> {
        use governor::clock::{Clock, DefaultClock};
        let limiter = match family {
            Family::Any => &self.any,
            Family::ReceiptIds => &self.receipt_ids,
            Family::Sync => &self.syncs,
        };
        let cost = NonZeroU32::new(cost.max(1)).unwrap_or(NonZeroU32::MIN);
        let wait = match limiter.check_key_n(&user, cost) {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(not_until)) => not_until.wait_time_from(DefaultClock::default().now()),
            // More than the burst at once can never pass: configuration smaller than a frame.
            Err(_) => std::time::Duration::from_secs(1),
        };
        Err(OverBudget {
            retry_after_secs: wait.as_secs().max(1),
            close: self.refusals.check_key(&user).is_err(),
        })
    }

    /// Forgets users whose buckets are full again.
    pub fn retain_recent(&self) {
        self.any.retain_recent();
        self.receipt_ids.retain_recent();
        self.syncs.retain_recent();
        self.refusals.retain_recent();
    }
}

pub async fn upgrade(
    State(state): State<AppState>,
    UpgradeSession(session): UpgradeSession,
    addr: ClientAddr,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    Ok(ws
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        // Small buffers: idle connections must stay cheap (tungstenite defaults to 128 KiB and
        // allocates it up front). Chat frames are a few hundred bytes; a larger frame grows the
        // buffer to its length as it arrives.
        .read_buffer_size(2 * 1024)
        .write_buffer_size(0)
        .on_upgrade(move |socket| run_connection(state, session, addr, socket)))
}

fn random_id() -> String {
    hex::encode(rand::random::<[u8; 12]>())
}

#[tracing::instrument(name = "ws", skip_all, fields(user = %session.phone, conn))]
async fn run_connection(state: AppState, session: Session, addr: ClientAddr, socket: WebSocket) {
    let conn_id = random_id();
    tracing::Span::current().record("conn", conn_id.as_str());
    let row = ConnectionRow {
        id: conn_id.clone(),
        user_id: session.user_id,
        session_id: session.session_id.clone(),
        node: state.core.node.clone(),
        client_addr: addr.ip.to_string(),
        connected_at: now_ms(),
    };
    if let Err(e) = state.core.store.add_connection(&row).await {
        tracing::error!(error = %e, "could not record the connection");
        return;
    }
    let (handle, receivers) =
        ConnHandle::new(conn_id.clone(), session.session_id.clone(), session.user_id);
    state.core.hub.register(handle.clone());
    state.core.metrics.ws_connections.inc();
    tracing::debug!("connected");

    let (sink, mut stream) = socket.split();
    let hello = ServerFrame::Hello {
        protocol: PROTOCOL_VERSION,
        connection_id: conn_id.clone(),
        node: state.core.node.clone(),
        phone: session.phone.to_string(),
    };
    handle.push(Arc::new(hello));
    let writer = tokio::spawn(write_loop(sink, receivers));
    let ctx = ConnContext {
        state: state.clone(),
        session: session.clone(),
        handle: handle.clone(),
    };
    // The frame handlers' futures are boxed: awaited inline they would make every connection's
    // task as large as the largest handler, idle or not (measured: 3.5 KB of 12 KB per idle
    // connection).
    Box::pin(crate::realtime::on_connect(&ctx)).await;

    // Whether the server closes (rather than the peer or the network).
    let mut closed_here = false;
    loop {
        // A closed connection (replaced, revoked, shut down) stops handling frames at once
        // rather than waiting for the peer to answer the close.
        let msg = tokio::select! {
            msg = stream.next() => msg,
            () = handle.closed() => {
                closed_here = true;
                break;
            }
        };
        let Some(msg) = msg else { break };
        let text = match msg {
            Ok(Message::Text(t)) => t,
            Ok(Message::Close(_)) => break,
            Err(e) => {
                if is_too_large(e) {
                    handle.close(CloseReason::TooLarge);
                    closed_here = true;
                }
                break;
            }
            Ok(Message::Binary(_)) if !ctx.charge(Family::Any, 1) => continue,
            Ok(Message::Binary(_)) => {
                handle.push(Arc::new(error_frame(
                    "binary_not_supported",
                    "send JSON text frames",
                )));
                continue;
            }
            // WebSocket pings are answered by the library: they cost a write, so they count.
            Ok(_) => {
                ctx.charge(Family::Any, 1);
                continue;
            }
        };
        if !ctx.charge(Family::Any, 1) {
            continue;
        }
        match serde_json::from_str::<ClientFrame>(&text) {
            Ok(frame) => Box::pin(crate::realtime::dispatch(&ctx, frame)).await,
            Err(e) => {
                handle.push(Arc::new(error_frame(
                    "bad_frame",
                    &format!("could not read the frame: {e}"),
                )));
            }
        }
    }

    // The writer ends once every sender is gone; close it now if the reader ended first.
    handle.close(CloseReason::Shutdown);
    state.core.hub.unregister(session.user_id, &conn_id);
    // The record goes before the disconnect hooks run: presence asks the store whether any
    // connection of the user is left (on any node).
    if let Err(e) = state.core.store.remove_connection(&conn_id).await {
        tracing::warn!(error = %e, "could not remove the connection record");
    }
    Box::pin(crate::realtime::on_disconnect(&ctx)).await;
    // Let the writer deliver the closing frame, but never wait on a peer that stopped reading:
    // then the writer is stopped, so the socket does not stay open for it.
    let mut writer = writer;
    if tokio::time::timeout(std::time::Duration::from_secs(2), &mut writer)
        .await
        .is_err()
    {
        writer.abort();
        tracing::debug!("writer did not finish in time");
    }
    if closed_here {
        // Read (and drop) what the peer still sends until it answers the close, for a short
        // while: a socket closed with unread data sends a reset, and the peer may then lose
        // the closing frame it has not read yet.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
        while let Ok(Some(Ok(msg))) = tokio::time::timeout_at(deadline, stream.next()).await {
            if matches!(msg, Message::Close(_)) {
                break;
            }
        }
    }
    state.core.metrics.ws_connections.dec();
    tracing::debug!("disconnected");
}

/// What a frame handler knows about the connection it came from.
pub struct ConnContext {
    pub state: AppState,
    pub session: Session,
    pub handle: ConnHandle,
}

impl ConnContext {
    pub fn reply(&self, frame: ServerFrame) {
        self.handle.push(Arc::new(frame));
    }

    /// Charges a frame to its family's budget. `false`: the frame must not be handled (the
    /// client was told to slow down, or the connection is being closed).
    pub fn charge(&self, family: Family, cost: u32) -> bool {
        let budgets = self
            .state
            .core
            .hub
            .frame_budgets(|| FrameBudgets::new(&self.state.config.websocket));
        match budgets.take(self.session.user_id, family, cost) {
            Ok(()) => true,
            Err(over) if over.close => {
                tracing::info!(?family, "closing a connection that ignored slow_down");
                self.handle.close(CloseReason::RateLimited);
                false
            }
            Err(over) => {
                // Offered, not pushed: a flooding client that does not read must not get itself
                // closed as a slow reader before it is closed for the flood.
                self.handle.offer(Arc::new(ServerFrame::Error(ErrorBody {
                    code: "slow_down".into(),
                    message: format!(
                        "too many {} on this connection; this frame was not handled: wait {} s \
                         and send it again",
                        family.describe(),
                        over.retry_after_secs
                    ),
                    retry_after_secs: Some(over.retry_after_secs),
                })));
                false
            }
        }
    }
}

/// Whether the reader failed because a frame or message was over the size limit.
fn is_too_large(e: axum::Error) -> bool {
    use tungstenite::error::{CapacityError, Error};
    matches!(
        e.into_inner().downcast_ref::<Error>(),
        Some(Error::Capacity(CapacityError::MessageTooLong { .. }))
    )
}

pub fn error_frame(code: &str, message: &str) -> ServerFrame {
    ServerFrame::Error(ErrorBody {
        code: code.into(),
        message: message.into(),
        retry_after_secs: None,
    })
}

async fn write_loop(
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    mut rx: ConnReceivers,
) {
    loop {
        tokio::select! {
            biased;
            changed = rx.close.changed() => {
                let reason = if changed.is_ok() { *rx.close.borrow() } else { None };
                if let Some(reason) = reason {
                    // What was queued before the close still goes out (e.g. the slow_down
                    // notices before a rate_limited close); the caller bounds how long this
                    // may take.
                    while let Ok(frame) = rx.frames.try_recv() {
                        let Ok(text) = serde_json::to_string(&*frame) else { continue };
                        if sink.send(Message::Text(text.into())).await.is_err() {
                            break;
                        }
                    }
                    if let Ok(text) = serde_json::to_string(&ServerFrame::Closing { reason }) {
                        // Best effort: the peer may already be gone.
                        let _ = sink.send(Message::Text(text.into())).await;
                    }
                    let _ = sink
                        .send(Message::Close(Some(CloseFrame {
                            code: reason.close_code(),
                            reason: Utf8Bytes::from_static(reason.as_str()),
                        })))
                        .await;
                }
                break;
            }
            frame = rx.frames.recv() => {
                let Some(frame) = frame else { break };
                let Ok(text) = serde_json::to_string(&*frame) else { continue };
                if sink.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
            }
        }
    }
}
