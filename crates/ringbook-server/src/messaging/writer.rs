//! The single message writer (group commit): one task drains the bounded queue, commits up to
//! `batch_max` messages in ONE transaction, then — only after the commit — pushes each new
//! message to its recipient (in commit order, so per-recipient sequence order holds on the wire)
//! and answers every waiting sender. One fsync-bearing commit serves the whole batch.

use crate::state::{now_ms, App, AppState};
use ringbook_proto::ws::ServerFrame;
use ringbook_store::messaging::{Appended, NewMessage};
use ringbook_store::StoreError;
use std::sync::{Arc, Weak};
use tokio::sync::{mpsc, oneshot};

pub type Outcome = Result<Appended, StoreError>;

pub struct Job {
    pub message: NewMessage,
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

async fn commit(state: &AppState, jobs: &mut Vec<Job>) {
    let messages: Vec<NewMessage> = jobs.iter().map(|j| j.message.clone()).collect();
    let now = now_ms();
    let outcomes: Vec<Outcome> = match state.store.append_batch(&messages, now).await {
        Ok(results) => results.into_iter().map(Ok).collect(),
        Err(e) => {
            // Nothing of the batch was committed; one by one, so one bad message (or a race
            // with another node) does not fail the others.
            tracing::warn!(error = %e, n = messages.len(), "batch commit failed; storing one by one");
            let mut v = Vec::with_capacity(messages.len());
            for m in &messages {
                v.push(state.store.append_message(m, now_ms()).await);
            }
            v
        }
    };
    for (job, outcome) in jobs.drain(..).zip(outcomes) {
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
