//! The live-connection registry of this node (PB-6): which WebSocket connections each user has,
//! and a bounded outbound queue per connection. Routing to a user means pushing a frame into the
//! queues of that user's connections here; the durable record (client address, node) is in the
//! store's connection table.

use ringbook_proto::ws::{CloseReason, ServerFrame};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, watch};

/// Frames waiting for a slow client beyond this are not queued: the connection is closed and
/// the client resyncs from its last sequence number when it reconnects.
pub const OUTBOUND_QUEUE: usize = 256;

/// Connections one session may hold at once. Several commands of one device run side by side
/// (a chat, `status show --follow`, an `inbox`), so a new connection must not close the others;
/// the cap still bounds what a client that reconnects without closing (a half-open TCP
/// connection the server has not noticed yet) can pile up: beyond it the oldest is replaced.
pub const MAX_CONNECTIONS_PER_SESSION: usize = 8;

#[derive(Clone)]
pub struct ConnHandle {
    pub id: String,
    pub session_id: String,
    pub user_id: i64,
    frames: mpsc::Sender<Arc<ServerFrame>>,
    close: watch::Sender<Option<CloseReason>>,
}

/// The receiving ends a connection's writer task owns.
pub struct ConnReceivers {
    pub frames: mpsc::Receiver<Arc<ServerFrame>>,
    pub close: watch::Receiver<Option<CloseReason>>,
}

#[derive(Default)]
pub struct Hub {
    by_user: Mutex<HashMap<i64, Vec<ConnHandle>>>,
    /// Per-user WebSocket frame budgets (made from the config at first use).
    budgets: std::sync::OnceLock<crate::ws::FrameBudgets>,
}

impl ConnHandle {
    pub fn new(id: String, session_id: String, user_id: i64) -> (Self, ConnReceivers) {
        let (ftx, frx) = mpsc::channel(OUTBOUND_QUEUE);
        let (ctx, crx) = watch::channel(None);
        (
            ConnHandle {
                id,
                session_id,
                user_id,
                frames: ftx,
                close: ctx,
            },
            ConnReceivers {
                frames: frx,
                close: crx,
            },
        )
    }

    /// Queues a frame; a full queue closes the connection instead of blocking the sender.
    pub fn push(&self, frame: Arc<ServerFrame>) -> bool {
        match self.frames.try_send(frame) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(conn = %self.id, "outbound queue full; closing slow connection");
                self.close(CloseReason::Replaced);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Queues a frame if there is room, else drops it (for notices a client that does not
    /// read can do without); false when dropped or the connection is gone.
    pub fn offer(&self, frame: Arc<ServerFrame>) -> bool {
        self.frames.try_send(frame).is_ok()
    }

    /// Queues a frame, waiting for room (used by sync, which sends many frames in a row);
    /// false when the connection is gone.
    pub async fn push_wait(&self, frame: Arc<ServerFrame>) -> bool {
        self.frames.send(frame).await.is_ok()
    }

    /// Resolves once the connection has been told to close.
    pub async fn closed(&self) {
        let mut rx = self.close.subscribe();
        // Errors only when the sender is gone, which means closed as well.
        let _ = rx.wait_for(Option::is_some).await;
    }

    /// Asks the connection to close; the first reason given is the one the client is told.
    pub fn close(&self, reason: CloseReason) {
        self.close.send_if_modified(|current| {
            if current.is_some() {
                return false;
            }
            *current = Some(reason);
            true
        });
    }
}

fn lock(
    m: &Mutex<HashMap<i64, Vec<ConnHandle>>>,
) -> std::sync::MutexGuard<'_, HashMap<i64, Vec<ConnHandle>>> {
    // A panic while holding this lock cannot leave the map half-updated (every critical section
    // is a single push/retain), so a poisoned lock is still safe to use.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Hub {
    /// The per-user frame budgets, made by `init` the first time.
    pub fn frame_budgets(
        &self,
        init: impl FnOnce() -> crate::ws::FrameBudgets,
    ) -> &crate::ws::FrameBudgets {
        self.budgets.get_or_init(init)
    }

    /// Forgets idle users' budgets (housekeeping).
    pub fn retain_recent_budgets(&self) {
        if let Some(b) = self.budgets.get() {
            b.retain_recent();
        }
    }

    /// Adds a connection; when its session already holds [`MAX_CONNECTIONS_PER_SESSION`], the
    /// oldest of them is told it was replaced.
    pub fn register(&self, handle: ConnHandle) {
        let mut map = lock(&self.by_user);
        let conns = map.entry(handle.user_id).or_default();
        let same_session = conns
            .iter()
            .filter(|c| c.session_id == handle.session_id)
            .count();
        if same_session >= MAX_CONNECTIONS_PER_SESSION {
            // Connections are pushed in arrival order, so the first one found is the oldest.
            if let Some(pos) = conns.iter().position(|c| c.session_id == handle.session_id) {
                conns.remove(pos).close(CloseReason::Replaced);
            }
        }
        conns.push(handle);
    }

    pub fn unregister(&self, user_id: i64, conn_id: &str) {
        let mut map = lock(&self.by_user);
        if let Some(conns) = map.get_mut(&user_id) {
            conns.retain(|c| c.id != conn_id);
            if conns.is_empty() {
                map.remove(&user_id);
            }
        }
    }

    /// Pushes a frame to every connection of a user on this node; returns how many got it.
    pub fn send_to_user(&self, user_id: i64, frame: ServerFrame) -> usize {
        let targets: Vec<ConnHandle> = lock(&self.by_user)
            .get(&user_id)
            .cloned()
            .unwrap_or_default();
        let frame = Arc::new(frame);
        targets.iter().filter(|c| c.push(frame.clone())).count()
    }

    pub fn is_online(&self, user_id: i64) -> bool {
        lock(&self.by_user)
            .get(&user_id)
            .is_some_and(|c| !c.is_empty())
    }

    pub fn close_session(&self, session_id: &str, reason: CloseReason) {
        for conns in lock(&self.by_user).values() {
            conns
                .iter()
                .filter(|c| c.session_id == session_id)
                .for_each(|c| c.close(reason));
        }
    }

    pub fn close_user(&self, user_id: i64, reason: CloseReason) {
        if let Some(conns) = lock(&self.by_user).get(&user_id) {
            conns.iter().for_each(|c| c.close(reason));
        }
    }

    /// Used at shutdown.
    pub fn close_all(&self, reason: CloseReason) {
        for conns in lock(&self.by_user).values() {
            conns.iter().for_each(|c| c.close(reason));
        }
    }

    pub fn connection_count(&self) -> usize {
        lock(&self.by_user).values().map(Vec::len).sum()
    }
}
