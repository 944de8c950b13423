//! The chat's connection to the server, kept alive in a background task: it connects, syncs
//! what arrived meanwhile (`sync {after_seq}`), resends the outbox with the same client message
//! IDs, and reconnects with a growing delay (0.5 s … 10 s) when the server restarts, the
//! connection drops or is replaced. The screen (or the piped loop) only sees [`LinkEvent`]s;
//! everything that arrives is stored in the client store first.

use ringbook_client::messaging::{is_refusal, ChatRow};
use ringbook_client::{Client, ClientError, ClientStore};
use ringbook_proto::presence::PresenceInfo;
use ringbook_proto::ws::{ChatMessage, ClientFrame, CloseReason, Receipt, ServerFrame};
use ringbook_proto::ErrorBody;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// What the link tells the chat.
#[derive(Debug)]
pub enum LinkEvent {
    /// Trying to connect (attempt 0 is the first).
    Connecting {
        attempt: u32,
    },
    /// Connected and synced: what is shown is complete.
    Online,
    /// The connection is gone; the next attempt comes after `retry_in`.
    Offline {
        reason: String,
        retry_in: Duration,
    },
    /// The sync after a connection brought these (new here, stored).
    Synced {
        new: Vec<ChatMessage>,
    },
    /// A message that arrived live (new here, stored).
    Incoming(ChatMessage),
    Acked {
        client_msg_id: String,
        id: i64,
    },
    /// Refused for good (stored as failed).
    Refused {
        client_msg_id: String,
        error: ErrorBody,
    },
    Receipt(Receipt),
    Presence(PresenceInfo),
    /// The link stopped for good (logged out elsewhere, account moved or blocked).
    Ended(String),
}

/// What the chat asks of the link.
// A handful of commands a second at most (one per line typed): boxing the row would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum LinkCmd {
    /// Send an own message already recorded in the outbox.
    Send(ChatRow),
    /// Tell the server these messages were read (kept until connected).
    Read(Vec<i64>),
    /// Answer once the server handled everything sent before (or at once when offline).
    Flush(oneshot::Sender<()>),
}

pub struct Link {
    pub events: mpsc::Receiver<LinkEvent>,
    cmds: mpsc::UnboundedSender<LinkCmd>,
}

impl Link {
    /// Starts the link task; it ends when this `Link` is dropped.
    pub fn start(client: Client, store: ClientStore, me: String) -> Link {
        let (etx, erx) = mpsc::channel(1024);
        let (ctx, crx) = mpsc::unbounded_channel();
        tokio::spawn(run(client, store, me, etx, crx));
        Link {
            events: erx,
            cmds: ctx,
        }
    }

    pub fn send(&self, row: ChatRow) {
        // A closed channel means the task ended, which it reported with `Ended`.
        let _ = self.cmds.send(LinkCmd::Send(row));
    }

    pub fn read(&self, ids: Vec<i64>) {
        if !ids.is_empty() {
            // As in `send`: a gone task already said why.
            let _ = self.cmds.send(LinkCmd::Read(ids));
        }
    }

    /// Waits (at most `limit`) until the server handled everything sent before.
    pub async fn flush(&self, limit: Duration) {
        let (tx, rx) = oneshot::channel();
        if self.cmds.send(LinkCmd::Flush(tx)).is_ok() {
            // A timeout or a dropped answer both mean: nothing more to wait for.
            let _ = tokio::time::timeout(limit, rx).await;
        }
    }
}

/// The delay before reconnect attempt `attempt` (1, 2, …): 0.5 s doubling up to 10 s, with a
/// little jitter so many clients do not all come back in the same instant after a restart.
pub fn backoff(attempt: u32) -> Duration {
    let base = 500u64
        .saturating_mul(1 << attempt.saturating_sub(1).min(5))
        .min(10_000);
    let jitter = rand::random::<u64>() % (base / 5 + 1);
    Duration::from_millis(base - base / 10 + jitter)
}

/// Flush pings use the upper half of the nonce space, keep-alive pings the lower.
fn flush_nonce(n: u64) -> u64 {
    n | (1 << 63)
}

/// What a `closing` frame means for the link.
fn closing(reason: CloseReason) -> End {
    match reason {
        CloseReason::Revoked => End::Fatal(
            "this device was logged out by the server: the session was revoked (logged out \
             from another device, or the account moved to another device); log in again with \
             `ringbook login`"
                .into(),
        ),
        CloseReason::Moved => End::Fatal(
            "the account moved to another device, so this one is logged out; to use it here, \
             log in again with `ringbook login --move`"
                .into(),
        ),
        CloseReason::RateLimited => {
            End::Lost("the server closed the connection: this device sent too fast".into())
        }
        CloseReason::TooLarge => {
            End::Lost("the server closed the connection: a frame was too large".into())
        }
        CloseReason::Blocked => {
            End::Fatal("this number was blocked by the operator; contact the operator".into())
        }
        CloseReason::Replaced => End::Lost("replaced by a newer connection of this device".into()),
        CloseReason::Shutdown => End::Lost("the server is restarting".into()),
    }
}

/// A failure that reconnecting cannot fix.
fn fatal(e: &ClientError) -> Option<String> {
    match e {
        ClientError::NotLoggedIn => Some(e.to_string()),
        ClientError::Api { status: 401, body } => Some(format!(
            "this device is no longer logged in: {} ({}); log in again with `ringbook login`",
            body.message, body.code
        )),
        ClientError::Api { status: 403, body } => Some(format!(
            "the server refused this device: {} ({})",
            body.message, body.code
        )),
        _ => None,
    }
}

enum End {
    /// The chat went away.
    Quit,
    /// Reconnect.
    Lost(String),
    /// Stop for good.
    Fatal(String),
}

async fn run(
    client: Client,
    store: ClientStore,
    me: String,
    tx: mpsc::Sender<LinkEvent>,
    mut rx: mpsc::UnboundedReceiver<LinkCmd>,
) {
    let mut attempt = 0u32;
    let mut reads: Vec<i64> = Vec::new();
    loop {
        if tx.send(LinkEvent::Connecting { attempt }).await.is_err() {
            return;
        }
        let why = match client.connect().await {
            Ok(ws) => {
                let mut session = Session {
                    store: &store,
                    me: &me,
                    tx: &tx,
                    ws,
                    connected: &mut attempt,
                };
                match session.run(&mut rx, &mut reads).await {
                    End::Quit => return,
                    End::Fatal(msg) => {
                        let _ = tx.send(LinkEvent::Ended(msg)).await;
                        return;
                    }
                    End::Lost(why) => why,
                }
            }
            Err(e) => match fatal(&e) {
                Some(msg) => {
                    // The chat learns it is over; if it is gone already there is no one to tell.
                    let _ = tx.send(LinkEvent::Ended(msg)).await;
                    return;
                }
                None => e.to_string(),
            },
        };
        attempt += 1;
        let delay = backoff(attempt);
        if tx
            .send(LinkEvent::Offline {
                reason: why,
                retry_in: delay,
            })
            .await
            .is_err()
        {
            return;
        }
        let deadline = Instant::now() + delay;
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => break,
                cmd = rx.recv() => match cmd {
                    None => return,
                    Some(LinkCmd::Read(ids)) => reads.extend(ids),
                    // Already in the outbox: sent after the next sync.
                    Some(LinkCmd::Send(_)) => {}
                    Some(LinkCmd::Flush(done)) => {
                        let _ = done.send(());
                    }
                },
            }
        }
    }
}

struct Session<'a> {
    store: &'a ClientStore,
    me: &'a str,
    tx: &'a mpsc::Sender<LinkEvent>,
    ws: ringbook_client::ws::Connection,
    /// Reset to 0 once connected, so the next loss starts the back-off again.
    connected: &'a mut u32,
}

fn send_frame(row: &ChatRow) -> ClientFrame {
    ClientFrame::Send {
        client_msg_id: row.client_msg_id.clone(),
        to: row.receiver.clone(),
        body: row.content.clone(),
        kind: Some(row.kind.clone()),
        sent_at: Some(row.sent_at),
    }
}

impl Session<'_> {
    async fn emit(&self, e: LinkEvent) -> Result<(), End> {
        self.tx.send(e).await.map_err(|_| End::Quit)
    }

    async fn put(&mut self, f: &ClientFrame) -> Result<(), End> {
        self.ws
            .send(f)
            .await
            .map_err(|e| End::Lost(format!("the connection dropped ({e})")))
    }

    async fn run(
        &mut self,
        rx: &mut mpsc::UnboundedReceiver<LinkCmd>,
        reads: &mut Vec<i64>,
    ) -> End {
        match self.serve(rx, reads).await {
            Ok(()) => End::Quit,
            Err(end) => end,
        }
    }

    async fn serve(
        &mut self,
        rx: &mut mpsc::UnboundedReceiver<LinkCmd>,
        reads: &mut Vec<i64>,
    ) -> Result<(), End> {
        let store_err = |e: ClientError| End::Fatal(format!("the client store failed: {e}"));
        match tokio::time::timeout(Duration::from_secs(10), self.ws.next()).await {
            Ok(Ok(Some(ServerFrame::Hello { .. }))) => {}
            Ok(Ok(Some(ServerFrame::Closing { reason }))) => return Err(closing(reason)),
            Ok(Ok(other)) => return Err(End::Lost(format!("unexpected greeting {other:?}"))),
            Ok(Err(e)) => return Err(End::Lost(e.to_string())),
            Err(_) => return Err(End::Lost("the server did not greet within 10 s".into())),
        }
        *self.connected = 0;
        let mut last_seq = self.store.last_seq().await.map_err(store_err)?;
        self.put(&ClientFrame::Sync {
            after_seq: last_seq,
        })
        .await?;
        // The outbox goes out after the sync request, in the order it was written.
        for row in self
            .store
            .pending_outgoing(self.me)
            .await
            .map_err(store_err)?
        {
            self.put(&send_frame(&row)).await?;
        }
        for chunk in std::mem::take(reads).chunks(1000) {
            self.put(&ClientFrame::Read {
                ids: chunk.to_vec(),
            })
            .await?;
        }
        let mut syncing = true;
        let mut synced: Vec<ChatMessage> = Vec::new();
        let mut nonce: u64 = 0;
        let mut flushes: Vec<(u64, oneshot::Sender<()>)> = Vec::new();
        // Keep-alive: a ping every 20 s; no answer by the next one means the link is dead.
        let mut keepalive = tokio::time::interval(Duration::from_secs(20));
        keepalive.tick().await;
        let mut awaiting_pong: Option<u64> = None;
        // A send the server asked to slow down: the outbox goes again at this time.
        let mut retry_at: Option<Instant> = None;
        loop {
            let retry_due = retry_at;
            let retry_sleep = async move {
                match retry_due {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    None => {
                        // The chat ended: a polite close (the server may already be gone).
                        self.ws.shutdown().await;
                        return Ok(());
                    }
                    Some(LinkCmd::Send(row)) => self.put(&send_frame(&row)).await?,
                    Some(LinkCmd::Read(ids)) => {
                        for chunk in ids.chunks(1000) {
                            self.put(&ClientFrame::Read { ids: chunk.to_vec() }).await?;
                        }
                    }
                    Some(LinkCmd::Flush(done)) => {
                        nonce += 1;
                        self.put(&ClientFrame::Ping { nonce: flush_nonce(nonce) }).await?;
                        flushes.push((flush_nonce(nonce), done));
                    }
                },
                _ = keepalive.tick() => {
                    if awaiting_pong.is_some() {
                        return Err(End::Lost("the server stopped answering".into()));
                    }
                    nonce += 1;
                    awaiting_pong = Some(nonce);
                    self.put(&ClientFrame::Ping { nonce }).await?;
                }
                () = retry_sleep => {
                    retry_at = None;
                    for row in self.store.pending_outgoing(self.me).await.map_err(store_err)? {
                        self.put(&send_frame(&row)).await?;
                    }
                }
                frame = self.ws.next() => {
                    let frame = match frame {
                        Ok(Some(f)) => f,
                        Ok(None) => return Err(End::Lost("the server closed the connection".into())),
                        Err(e) => return Err(End::Lost(format!("the connection dropped ({e})"))),
                    };
                    match frame {
                        ServerFrame::Message(m) => {
                            let fresh = self.store.record_message(&m, syncing).await.map_err(store_err)?;
                            if m.seq == last_seq + 1 {
                                last_seq = m.seq;
                                self.store.set_last_seq(last_seq).await.map_err(store_err)?;
                            }
                            if !fresh {
                                continue;
                            }
                            if syncing {
                                synced.push(m);
                            } else {
                                self.put(&ClientFrame::Delivered { ids: vec![m.id] }).await?;
                                self.emit(LinkEvent::Incoming(m)).await?;
                            }
                        }
                        ServerFrame::SyncComplete { last_seq: upto, .. } => {
                            syncing = false;
                            last_seq = last_seq.max(upto);
                            self.store.set_last_seq(last_seq).await.map_err(store_err)?;
                            let ids: Vec<i64> = synced.iter().map(|m| m.id).collect();
                            for chunk in ids.chunks(1000) {
                                self.put(&ClientFrame::Delivered { ids: chunk.to_vec() }).await?;
                            }
                            self.emit(LinkEvent::Synced { new: std::mem::take(&mut synced) }).await?;
                            self.emit(LinkEvent::Online).await?;
                        }
                        ServerFrame::Ack { client_msg_id, id, seq, .. } => {
                            self.store
                                .record_acked(self.me, &client_msg_id, id, seq)
                                .await
                                .map_err(store_err)?;
                            self.emit(LinkEvent::Acked { client_msg_id, id }).await?;
                        }
                        ServerFrame::SendFailed { client_msg_id, error } => {
                            if is_refusal(&error.code) {
                                self.store
                                    .record_failed(self.me, &client_msg_id, &error.code, &error.message)
                                    .await
                                    .map_err(store_err)?;
                                self.emit(LinkEvent::Refused { client_msg_id, error }).await?;
                            } else {
                                let wait = error.retry_after_secs.unwrap_or(1).clamp(1, 60);
                                let at = Instant::now() + Duration::from_secs(wait);
                                retry_at = Some(retry_at.map_or(at, |r| r.min(at)));
                            }
                        }
                        ServerFrame::Receipt(r) => {
                            self.store.record_receipt(r.id, &r.status, r.at).await.map_err(store_err)?;
                            self.emit(LinkEvent::Receipt(r)).await?;
                        }
                        ServerFrame::Presence(p) => {
                            self.store
                                .record_presence(std::slice::from_ref(&p))
                                .await
                                .map_err(store_err)?;
                            self.emit(LinkEvent::Presence(p)).await?;
                        }
                        ServerFrame::Pong { nonce: n } => {
                            if awaiting_pong == Some(n) {
                                awaiting_pong = None;
                            }
                            if let Some(pos) = flushes.iter().position(|(want, _)| *want == n) {
                                let (_, done) = flushes.remove(pos);
                                // The asker may have stopped waiting.
                                let _ = done.send(());
                            }
                        }
                        ServerFrame::Closing { reason } => return Err(closing(reason)),
                        ServerFrame::Error(e) => {
                            tracing::warn!(code = %e.code, "server error frame: {}", e.message);
                        }
                        ServerFrame::Hello { .. } => {}
                        other => tracing::debug!("ignored frame {other:?}"),
                    }
                }
            }
        }
    }
}
