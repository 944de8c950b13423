//! The single message writer (group commit): one task drains the bounded queue and, for up to
//! `batch_max` sends at once, resolves the recipients and checks the block lists (two queries for
//! the whole batch), commits the accepted messages in ONE transaction, then — only after the
//! commit — pushes each new message to its recipient (in commit order, so per-recipient sequence
//! order holds on the wire) and answers every waiting sender. One fsync-bearing commit serves the
//! whole batch.

use super::MessagingConfig;
use crate::shared::Core;
use crate::state::now_ms;
use crate::workers::{Restart, StopSignal};
use ringbook_proto::ws::ServerFrame;
use ringbook_store::messaging::{Appended, NewMessage};
use ringbook_store::StoreError;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, Mutex};

/// A checked send whose recipient is still a number.
pub struct Draft {
    pub sender_id: i64,
    pub sender_phone: String,
    pub recipient_phone: String,
    pub client_msg_id: String,
    pub kind: String,
    pub body: String,
    pub sent_at: i64,
}

/// Why the writer did not store a send.
#[derive(Debug)]
pub enum Refused {
    /// The number is not registered.
    NotAUser(String),
    /// The recipient blocked the sender's number.
    Blocked(String),
    Store(StoreError),
    /// The batch could not be checked (a storage error shared by the whole batch).
    Unchecked(String),
}

pub type Outcome = Result<Appended, Refused>;

pub struct Job {
    pub draft: Draft,
    pub reply: oneshot::Sender<Outcome>,
}

/// Starts the writer under the core's supervisor and returns its queue. The queue's receiver
/// is shared with the supervisor so a writer that panicked is restarted on the same queue.
pub fn start(core: &Arc<Core>, cfg: &MessagingConfig) -> mpsc::Sender<Job> {
    let (tx, rx) = mpsc::channel(cfg.queue.max(1));
    let rx = Arc::new(Mutex::new(rx));
    let batch_max = cfg.batch_max.max(1);
    let worker_core = core.clone();
    core.workers
        .spawn("message writer", Restart::Always, move |stop| {
            run(worker_core.clone(), rx.clone(), batch_max, stop)
        });
    tx
}

/// Commits batches until the stop signal; then refuses new sends (their senders get an error,
/// so nothing unstored is acknowledged) and commits everything already queued before ending.
async fn run(
    core: Arc<Core>,
    rx: Arc<Mutex<mpsc::Receiver<Job>>>,
    batch_max: usize,
    mut stop: StopSignal,
) {
    let mut rx = rx.lock().await;
    let mut jobs: Vec<Job> = Vec::with_capacity(batch_max);
    loop {
        let first = tokio::select! {
            biased;
            job = rx.recv() => job,
            _ = stop.stopped() => {
                rx.close();
                rx.recv().await
            }
        };
        let Some(first) = first else { break };
        jobs.push(first);
        while jobs.len() < batch_max {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        commit(&core, &mut jobs).await;
    }
}

/// Turns drafts into messages: `Err` for a send that must be refused.
async fn resolve(
    core: &Core,
    jobs: &[Job],
) -> Result<Vec<Result<NewMessage, Refused>>, StoreError> {
    let phones: Vec<&str> = jobs
        .iter()
        .map(|j| j.draft.recipient_phone.as_str())
        .collect();
    let ids = core.store.user_ids_by_phones(&phones).await?;
    let pairs: Vec<(i64, &str)> = jobs
        .iter()
        .filter_map(|j| {
            ids.get(&j.draft.recipient_phone)
                .map(|&id| (id, j.draft.sender_phone.as_str()))
        })
        .collect();
    let blocked = core.store.blocked_pairs(&pairs).await?;
    Ok(jobs
        .iter()
        .map(|j| {
            let d = &j.draft;
            let Some(&recipient_id) = ids.get(&d.recipient_phone) else {
                return Err(Refused::NotAUser(d.recipient_phone.clone()));
            };
            if blocked.contains(&(recipient_id, d.sender_phone.clone())) {
                return Err(Refused::Blocked(d.recipient_phone.clone()));
            }
            Ok(NewMessage {
                sender_id: d.sender_id,
                sender_phone: d.sender_phone.clone(),
                recipient_id,
                recipient_phone: d.recipient_phone.clone(),
                client_msg_id: d.client_msg_id.clone(),
                kind: d.kind.clone(),
                body: d.body.clone(),
                sent_at: d.sent_at,
            })
        })
        .collect())
}

async fn commit(core: &Core, jobs: &mut Vec<Job>) {
    let resolved = match resolve(core, jobs).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, n = jobs.len(), "resolving recipients failed");
            let text = e.to_string();
            for job in jobs.drain(..) {
                let _ = job.reply.send(Err(Refused::Unchecked(text.clone())));
            }
            return;
        }
    };
    let messages: Vec<NewMessage> = resolved
        .iter()
        .filter_map(|r| r.as_ref().ok().cloned())
        .collect();
    let now = now_ms();
    let mut stored: std::vec::IntoIter<Result<Appended, StoreError>> = match core
        .store
        .append_batch(&messages, now)
        .await
    {
        Ok(results) => results.into_iter().map(Ok).collect::<Vec<_>>().into_iter(),
        Err(e) => {
            // Nothing of the batch was committed; one by one, so one bad message (or a race
            // with another node) does not fail the others.
            tracing::warn!(error = %e, n = messages.len(), "batch commit failed; storing one by one");
            let mut v = Vec::with_capacity(messages.len());
            for m in &messages {
                v.push(core.store.append_message(m, now_ms()).await);
            }
            v.into_iter()
        }
    };
    for (job, resolved) in jobs.drain(..).zip(resolved) {
        let outcome = match resolved {
            Err(refused) => Err(refused),
            Ok(_) => match stored.next() {
                Some(result) => result.map_err(Refused::Store),
                None => Err(Refused::Store(StoreError::NotFound)),
            },
        };
        if let Ok(Appended::New(row)) = &outcome {
            core.metrics.messages_stored.inc();
            core.hub
                .send_to_user(row.recipient_id, ServerFrame::Message(super::to_wire(row)));
        }
        // The sender may have gone; the message is stored either way.
        let _ = job.reply.send(outcome);
    }
}
