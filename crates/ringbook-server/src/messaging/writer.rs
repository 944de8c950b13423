//! The single message writer (group commit): one task drains the bounded queue and, for up to
//! `batch_max` sends at once, resolves the recipients and checks the block lists (two queries for
//! the whole batch), commits the accepted messages in ONE transaction, then — only after the
//! commit — pushes each new message to its recipient (in commit order, so per-recipient sequence
//! order holds on the wire) and answers every waiting sender. One fsync-bearing commit serves the
//! whole batch.

use crate::state::{now_ms, App, AppState};
use ringbook_proto::ws::ServerFrame;
use ringbook_store::messaging::{Appended, NewMessage};
use ringbook_store::StoreError;
use std::sync::{Arc, Weak};
use tokio::sync::{mpsc, oneshot};

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

/// Starts the writer. It holds the app weakly, so it ends when the app is dropped (its queue
/// sender goes with it).
pub fn start(state: &AppState) -> mpsc::Sender<Job> {
    let (tx, rx) = mpsc::channel(state.config.messaging.queue.max(1));
    tokio::spawn(run(
        Arc::downgrade(state),
        rx,
        state.config.messaging.batch_max.max(1),
    ));
    tx
}

async fn run(app: Weak<App>, mut rx: mpsc::Receiver<Job>, batch_max: usize) {
    let mut jobs: Vec<Job> = Vec::with_capacity(batch_max);
    while let Some(first) = rx.recv().await {
        jobs.push(first);
        while jobs.len() < batch_max {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let Some(state) = app.upgrade() else { break };
        commit(&state, &mut jobs).await;
        drop(state);
    }
}

/// Turns drafts into messages: `Err` for a send that must be refused.
async fn resolve(
    state: &AppState,
    jobs: &[Job],
) -> Result<Vec<Result<NewMessage, Refused>>, StoreError> {
    let phones: Vec<&str> = jobs
        .iter()
        .map(|j| j.draft.recipient_phone.as_str())
        .collect();
    let ids = state.store.user_ids_by_phones(&phones).await?;
    let pairs: Vec<(i64, &str)> = jobs
        .iter()
        .filter_map(|j| {
            ids.get(&j.draft.recipient_phone)
                .map(|&id| (id, j.draft.sender_phone.as_str()))
        })
        .collect();
    let blocked = state.store.blocked_pairs(&pairs).await?;
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

async fn commit(state: &AppState, jobs: &mut Vec<Job>) {
    let resolved = match resolve(state, jobs).await {
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
    let mut stored: std::vec::IntoIter<Result<Appended, StoreError>> = match state
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
                v.push(state.store.append_message(m, now_ms()).await);
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
            state.metrics.messages_stored.inc();
            state
                .hub
                .send_to_user(row.recipient_id, ServerFrame::Message(super::to_wire(row)));
        }
        // The sender may have gone; the message is stored either way.
        let _ = job.reply.send(outcome);
    }
}
