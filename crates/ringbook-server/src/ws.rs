//! The WebSocket endpoint `GET /v1/ws`: authenticates the session, records the connection
//! (PB-6), then runs one reader loop and one writer task fed by the hub's bounded queue.

use crate::error::ApiError;
use crate::extract::{ClientAddr, Session};
use crate::hub::{ConnHandle, ConnReceivers};
use crate::state::{now_ms, AppState};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use ringbook_proto::ws::{
    ClientFrame, CloseReason, ServerFrame, MAX_FRAME_BYTES, PROTOCOL_VERSION,
};
use ringbook_proto::ErrorBody;
use ringbook_store::identity::ConnectionRow;
use std::sync::Arc;

pub async fn upgrade(
    State(state): State<AppState>,
    session: Session,
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
        node: state.node.clone(),
        client_addr: addr.ip.to_string(),
        connected_at: now_ms(),
    };
    if let Err(e) = state.store.add_connection(&row).await {
        tracing::error!(error = %e, "could not record the connection");
        return;
    }
    let (handle, receivers) =
        ConnHandle::new(conn_id.clone(), session.session_id.clone(), session.user_id);
    state.hub.register(handle.clone());
    state.metrics.ws_connections.inc();
    tracing::debug!("connected");

    let (sink, mut stream) = socket.split();
    let hello = ServerFrame::Hello {
        protocol: PROTOCOL_VERSION,
        connection_id: conn_id.clone(),
        node: state.node.clone(),
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

    loop {
        // A closed connection (replaced, revoked, shut down) stops reading at once rather than
        // waiting for the peer to answer the close.
        let msg = tokio::select! {
            msg = stream.next() => msg,
            () = handle.closed() => break,
        };
        let Some(msg) = msg else { break };
        let text = match msg {
            Ok(Message::Text(t)) => t,
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(Message::Binary(_)) => {
                handle.push(Arc::new(error_frame(
                    "binary_not_supported",
                    "send JSON text frames",
                )));
                continue;
            }
            Ok(_) => continue,
        };
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
    state.hub.unregister(session.user_id, &conn_id);
    // The record goes before the disconnect hooks run: presence asks the store whether any
    // connection of the user is left (on any node).
    if let Err(e) = state.store.remove_connection(&conn_id).await {
        tracing::warn!(error = %e, "could not remove the connection record");
    }
    Box::pin(crate::realtime::on_disconnect(&ctx)).await;
    // Let the writer deliver the closing frame, but never wait on a peer that stopped reading.
    if tokio::time::timeout(std::time::Duration::from_secs(2), writer)
        .await
        .is_err()
    {
        tracing::debug!("writer did not finish in time");
    }
    state.metrics.ws_connections.dec();
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
                    if let Ok(text) = serde_json::to_string(&ServerFrame::Closing { reason }) {
                        // Best effort: the peer may already be gone.
                        let _ = sink.send(Message::Text(text.into())).await;
                    }
                    let _ = sink
                        .send(Message::Close(Some(CloseFrame {
                            code: 1000,
                            reason: Utf8Bytes::from(format!("{reason:?}").to_lowercase()),
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
