//! What every client command needs: the server URL, the home folder, the client store and an
//! API client carrying the session token.

use crate::terminal::clean;
use anyhow::Context;
use ringbook_client::{Client, ClientStore};
use std::path::PathBuf;

pub struct Global {
    pub server: Option<String>,
    pub home: Option<PathBuf>,
}

pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

pub struct Ctx {
    pub server: String,
    pub store: ClientStore,
    pub client: Client,
}

impl Global {
    pub fn home(&self) -> PathBuf {
        if let Some(h) = &self.home {
            return h.clone();
        }
        let base = std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
            .unwrap_or_else(|| PathBuf::from("."));
        base.join("ringbook")
    }

    /// Opens the store; the server is `--server`, else the one of the last login, else the default.
    pub async fn ctx(&self) -> anyhow::Result<Ctx> {
        let home = self.home();
        let store = ClientStore::open(&home)
            .await
            .with_context(|| format!("cannot open the client store in {}", home.display()))?;
        let server = match &self.server {
            Some(s) => s.clone(),
            None => store
                .get("server")
                .await?
                .unwrap_or_else(|| DEFAULT_SERVER.to_string()),
        };
        let mut client = Client::new(&server)?;
        if let Some(token) = store.get("token").await? {
            client = client.with_token(token);
        }
        let ctx = Ctx {
            server,
            store,
            client,
        };
        ctx.retry_outbox().await;
        Ok(ctx)
    }
}

/// Tells what a pass over the outbox did (on stderr, so a command's own output stays clean);
/// `skip` is the message the calling command reports itself.
pub fn report_outbox(report: &ringbook_client::messaging::OutboxReport, skip: Option<&str>) {
    for (row, ack) in &report.sent {
        if Some(row.client_msg_id.as_str()) != skip {
            eprintln!(
                "outbox: sent to {} (message {}): {}",
                row.receiver,
                ack.id,
                clean(&row.content)
            );
        }
    }
    for (row, e) in &report.refused {
        if Some(row.client_msg_id.as_str()) != skip {
            eprintln!(
                "outbox: not sent to {}: {} — refused: {} ({})",
                row.receiver,
                clean(&row.content),
                e.message,
                e.code
            );
        }
    }
}

impl Ctx {
    /// Every command retries the outbox (X-3 on the client): messages stored by an earlier
    /// `send` or `chat` that never reached the server go out now, with their own client message
    /// IDs, so the server stores each once. Never fails the command: what cannot go out waits.
    async fn retry_outbox(&self) {
        if self.client.token().is_none() {
            return;
        }
        let Ok(Some(me)) = self.store.own_user().await.map(|u| u.number) else {
            return;
        };
        match self.store.pending_outgoing(&me).await {
            Ok(rows) if rows.is_empty() => return,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the outbox");
                return;
            }
        }
        match self.client.flush_outbox(&self.store, &me).await {
            Ok(report) => {
                report_outbox(&report, None);
                if let Some(e) = &report.stopped {
                    tracing::info!(error = %e, waiting = report.waiting.len(), "outbox kept for later");
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot send the outbox"),
        }
    }

    /// The API client, or a clear error when this home has never logged in.
    pub fn authed(&self) -> anyhow::Result<&Client> {
        if self.client.token().is_none() {
            anyhow::bail!("not logged in; run `ringbook login --phone NUMBER` first");
        }
        Ok(&self.client)
    }

    /// The operator's API client: the admin token from `RINGBOOK_ADMIN_TOKEN`, or none (the
    /// server then accepts its own host), never this home's session.
    pub fn admin_client(&self) -> anyhow::Result<Client> {
        let client = Client::new(&self.server)?;
        Ok(match std::env::var("RINGBOOK_ADMIN_TOKEN") {
            Ok(token) => client.with_token(token),
            Err(_) => client,
        })
    }
}

pub fn init_client_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RINGBOOK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
