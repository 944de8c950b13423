//! Messaging commands: `send`, `history`, `inbox`, `chats`, `chat`, and the block list
//! (`block`, `unblock`, `blocked`). Every message is kept in the client store's chat table, which
//! is also the outbox: a send is stored first and retried by every later command until the
//! server stores or refuses it (`crate::ctx`). The chat itself lives in [`super::chat`].

use crate::ctx::{Ctx, Global};
use anyhow::{bail, Context};
use ringbook_client::messaging::{new_client_msg_id, ChatRow};
use ringbook_client::ws::Connection;
use ringbook_client::ClientStore;
use ringbook_proto::ws::{ChatMessage, ClientFrame, ServerFrame};
use ringbook_proto::PhoneNumber;
use std::time::Duration;

#[derive(clap::Subcommand)]
pub enum Cmd {
    /// Send a text message to a number (printed once the server stored it).
    Send {
        number: String,
        /// The text (several words are joined with spaces).
        #[arg(required = true)]
        text: Vec<String>,
        /// Your own ID for the message: sending again with the same ID never sends it twice.
        #[arg(long)]
        id: Option<String>,
    },
    /// Show the chat with a number (fetched from the server and kept in the client store).
    History {
        number: String,
        /// How many of the latest messages.
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// Only what is in the client store, without asking the server.
        #[arg(long)]
        local: bool,
    },
    /// Fetch what arrived while you were away, print it and mark it delivered.
    Inbox,
    /// Your conversations, the most recent first: names, last message, time, unread count and
    /// presence.
    Chats,
    /// Chat with a number: full screen at a terminal (/help lists the commands); with piped
    /// input each line is sent and it ends after the last line is stored. Without a number it
    /// opens the most recent conversation.
    Chat {
        number: Option<String>,
        /// Seconds to stay after stdin ends, to show replies and receipts.
        #[arg(long, default_value_t = 0)]
        linger: u64,
    },
    /// Refuse messages from a number.
    Block { number: String },
    /// Accept messages from a number again.
    Unblock { number: String },
    /// List the numbers you blocked.
    Blocked,
}

pub async fn run(global: &Global, cmd: Cmd) -> anyhow::Result<()> {
    let ctx = global.ctx().await?;
    ctx.authed()?;
    match cmd {
        Cmd::Send { number, text, id } => send(&ctx, &number, &text.join(" "), id).await,
        Cmd::History {
            number,
            limit,
            local,
        } => history(&ctx, &number, limit, local).await,
        Cmd::Inbox => inbox(&ctx).await,
        Cmd::Chats => super::chat::chats(&ctx).await,
        Cmd::Chat { number, linger } => super::chat::chat(&ctx, number.as_deref(), linger).await,
        Cmd::Block { number } => {
            let b = ctx.client.block(&number).await?;
            println!("blocked {}", b.phone);
            Ok(())
        }
        Cmd::Unblock { number } => {
            ctx.client.unblock(&number).await?;
            println!("unblocked {}", normalize(&number)?);
            Ok(())
        }
        Cmd::Blocked => {
            let list = ctx.client.blocked().await?;
            if list.is_empty() {
                println!("no blocked numbers");
            }
            for b in list {
                println!("{}  since {}", b.phone, crate::time::utc(b.blocked_at));
            }
            Ok(())
        }
    }
}

pub(crate) fn normalize(raw: &str) -> anyhow::Result<String> {
    let region = std::env::var("RINGBOOK_REGION").unwrap_or_else(|_| "CN".into());
    Ok(PhoneNumber::parse(raw, &region)
        .with_context(|| format!("'{raw}' is not a valid mobile number"))?
        .to_string())
}

pub(crate) async fn me(ctx: &Ctx) -> anyhow::Result<String> {
    ctx.store
        .own_user()
        .await?
        .number
        .context("this home has no number yet; run `ringbook login` first")
}

/// Who a message line is from: the sender, or `[notice about …]` for a system notice (kind
/// `notice`, e.g. an order through a shared service), which the peer did not write.
fn sender_label(m: &ringbook_proto::ws::ChatMessage) -> String {
    if m.kind == "notice" {
        format!("[notice about {}]", m.from)
    } else {
        m.from.clone()
    }
}

pub(crate) async fn connect(ctx: &Ctx) -> anyhow::Result<Connection> {
    let mut ws = ctx
        .client
        .connect()
        .await
        .context("cannot open the WebSocket")?;
    match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
        Ok(Ok(Some(ServerFrame::Hello { .. }))) => Ok(ws),
        Ok(Ok(other)) => bail!("unexpected first frame from the server: {other:?}"),
        Ok(Err(e)) => Err(e.into()),
        Err(_) => bail!("the server did not greet within 10 s"),
    }
}

/// Stores the message in the outbox, then sends the outbox (older waiting messages first, so
/// order is kept) over HTTP. An unreachable server is not an error: the message waits and goes
/// out with the next command.
async fn send(ctx: &Ctx, number: &str, text: &str, id: Option<String>) -> anyhow::Result<()> {
    let me = me(ctx).await?;
    let to = normalize(number)?;
    let cid = id.unwrap_or_else(new_client_msg_id);
    if let Some(old) = ctx.store.outgoing(&me, &cid).await? {
        if let Some(server_id) = old.server_id {
            println!(
                "already sent to {} (message {server_id}); not sent twice",
                old.receiver
            );
            return Ok(());
        }
        // Sent again on purpose with the same ID: a refused one gets another chance.
        ctx.store.retry_failed(&me, &cid).await?;
    } else {
        ctx.store
            .record_outgoing(&cid, &me, &to, text, "text")
            .await?;
    }
    let report = ctx.client.flush_outbox(&ctx.store, &me).await?;
    crate::ctx::report_outbox(&report, Some(&cid));
    if let Some((_, ack)) = report.sent.iter().find(|(r, _)| r.client_msg_id == cid) {
        if ack.duplicate {
            println!("already sent to {to} (message {}); not sent twice", ack.id);
        } else {
            println!("sent to {to} (message {})", ack.id);
        }
        return Ok(());
    }
    if let Some((_, e)) = report.refused.iter().find(|(r, _)| r.client_msg_id == cid) {
        bail!("not sent: {} ({})", e.message, e.code);
    }
    let why = report
        .stopped
        .map(|e| e.to_string())
        .unwrap_or_else(|| "the server did not answer".into());
    println!(
        "queued for {to}: {why}; it waits in the outbox and goes out with your next ringbook command"
    );
    Ok(())
}

fn print_row(me: &str, names: &std::collections::HashMap<String, String>, r: &ChatRow) {
    let state = if r.sender == me {
        match (&r.failed, r.read_at, r.delivered_at, r.server_id) {
            (Some((code, reason)), ..) => format!(" [failed: {reason} ({code})]"),
            (None, Some(_), ..) => " [read]".into(),
            (None, None, Some(_), _) => " [delivered]".into(),
            (None, None, None, Some(_)) => " [sent]".into(),
            (None, None, None, None) => " [waiting to be sent]".into(),
        }
    } else {
        String::new()
    };
    let who = if r.kind == "notice" {
        // A system notice (an order of a shared service): not written by the peer.
        format!(
            "[notice about {}]",
            if r.sender == me {
                &r.receiver
            } else {
                &r.sender
            }
        )
    } else if r.sender == me {
        "me".to_string()
    } else {
        names
            .get(&r.sender)
            .cloned()
            .unwrap_or_else(|| r.sender.clone())
    };
    println!(
        "{}  {who}: {}{state}",
        crate::time::utc(r.sent_at),
        crate::terminal::clean(&r.content)
    );
}

async fn history(ctx: &Ctx, number: &str, limit: i64, local: bool) -> anyhow::Result<()> {
    let me = me(ctx).await?;
    let peer = normalize(number)?;
    if limit < 1 {
        bail!("--limit must be at least 1");
    }
    if !local {
        if let Err(e) = fetch_history(ctx, &peer, limit).await {
            match e.downcast_ref::<ringbook_client::ClientError>() {
                Some(ringbook_client::ClientError::Unreachable { .. }) => {
                    eprintln!("(the server is unreachable; showing what is stored here)")
                }
                _ => return Err(e),
            }
        }
    }
    let rows = ctx.store.chat_with(&me, &peer, limit).await?;
    if rows.is_empty() {
        println!("no messages with {peer}");
    }
    let names = super::chat::names(&ctx.store).await?;
    for r in &rows {
        print_row(&me, &names, r);
    }
    Ok(())
}

/// Copies the last `limit` messages with `peer` from the server into the client store.
async fn fetch_history(ctx: &Ctx, peer: &str, limit: i64) -> anyhow::Result<()> {
    {
        let mut before = None;
        let mut fetched = 0;
        while fetched < limit {
            let page = ctx
                .client
                .history(peer, before, Some((limit - fetched).min(200)))
                .await?;
            for m in &page.messages {
                ctx.store.record_message(&m.message, false).await?;
                if let Some(at) = m.delivered_at {
                    ctx.store
                        .record_receipt(m.message.id, "delivered", at)
                        .await?;
                }
                if let Some(at) = m.read_at {
                    ctx.store.record_receipt(m.message.id, "read", at).await?;
                }
            }
            fetched += page.messages.len() as i64;
            match page.next_before {
                Some(b) => before = Some(b),
                None => break,
            }
        }
    }
    Ok(())
}

/// Stores synced messages, marks them delivered on the server, advances the last sequence
/// number; returns the new ones.
pub(crate) async fn sync_into_store(
    store: &ClientStore,
    ws: &mut Connection,
) -> anyhow::Result<Vec<ChatMessage>> {
    let after = store.last_seq().await?;
    let mut receipts = Vec::new();
    let (msgs, last) = ws
        .sync(after, |f| {
            if let ServerFrame::Receipt(r) = f {
                receipts.push(r);
            }
        })
        .await?;
    for r in receipts {
        store.record_receipt(r.id, &r.status, r.at).await?;
    }
    let mut new = Vec::new();
    for m in msgs {
        if store.record_message(&m, true).await? {
            new.push(m);
        }
    }
    let ids: Vec<i64> = new.iter().map(|m| m.id).collect();
    for chunk in ids.chunks(1000) {
        ws.send(&ClientFrame::Delivered {
            ids: chunk.to_vec(),
        })
        .await?;
    }
    store.set_last_seq(last).await?;
    Ok(new)
}

/// Waits until the server has handled every frame sent before (frames are handled in order).
async fn flush(ws: &mut Connection) -> anyhow::Result<()> {
    let nonce = rand::random::<u64>();
    ws.send(&ClientFrame::Ping { nonce }).await?;
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
            Ok(Ok(Some(ServerFrame::Pong { nonce: n }))) if n == nonce => return Ok(()),
            Ok(Ok(Some(_))) => continue,
            Ok(Ok(None)) => bail!("the server closed the connection"),
            Ok(Err(e)) => return Err(e.into()),
            Err(_) => bail!("the server did not answer within 10 s"),
        }
    }
}

async fn inbox(ctx: &Ctx) -> anyhow::Result<()> {
    let mut ws = connect(ctx).await?;
    let new = sync_into_store(&ctx.store, &mut ws).await?;
    flush(&mut ws).await?;
    let _ = ws.close().await;
    if new.is_empty() {
        println!("no new messages");
        return Ok(());
    }
    for m in &new {
        println!(
            "{}  {}: {}",
            crate::time::utc(m.sent_at),
            sender_label(m),
            m.body
        );
    }
    println!(
        "{} new message{}",
        new.len(),
        if new.len() == 1 { "" } else { "s" }
    );
    Ok(())
}
