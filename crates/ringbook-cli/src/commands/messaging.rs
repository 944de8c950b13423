//! Messaging commands: `send`, `history`, `inbox`, `chat`, and the block list (`block`,
//! `unblock`, `blocked`). Every received message is kept in the client store's chat table.

use crate::ctx::{Ctx, Global};
use anyhow::{bail, Context};
use ringbook_client::messaging::{new_client_msg_id, ChatRow, SendOutcome};
use ringbook_client::ws::Connection;
use ringbook_client::ClientStore;
use ringbook_proto::ws::{ChatMessage, ClientFrame, ServerFrame};
use ringbook_proto::PhoneNumber;
use std::collections::HashMap;
use std::time::Duration;
use tokio::io::AsyncBufReadExt;

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
    /// Chat with a number: type lines to send; incoming messages and receipts show live.
    /// Reads stdin, so it also works with piped input (it ends after the last line is stored).
    Chat {
        number: String,
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
        Cmd::Chat { number, linger } => chat(&ctx, &number, linger).await,
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
                println!("{}  since {}", b.phone, when(b.blocked_at));
            }
            Ok(())
        }
    }
}

fn normalize(raw: &str) -> anyhow::Result<String> {
    let region = std::env::var("RINGBOOK_REGION").unwrap_or_else(|_| "CN".into());
    Ok(PhoneNumber::parse(raw, &region)
        .with_context(|| format!("'{raw}' is not a valid mobile number"))?
        .to_string())
}

async fn me(ctx: &Ctx) -> anyhow::Result<String> {
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

fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| ms.to_string())
}

async fn connect(ctx: &Ctx) -> anyhow::Result<Connection> {
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

async fn send(ctx: &Ctx, number: &str, text: &str, id: Option<String>) -> anyhow::Result<()> {
    let me = me(ctx).await?;
    let to = normalize(number)?;
    let cid = id.unwrap_or_else(new_client_msg_id);
    ctx.store
        .record_outgoing(&cid, &me, &to, text, "text")
        .await?;
    // A dropped connection is retried with the same ID: the server never stores it twice.
    let mut last_err = None;
    for attempt in 0..3 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(500 * attempt)).await;
        }
        let mut ws = match connect(ctx).await {
            Ok(ws) => ws,
            Err(e) => {
                last_err = Some(e);
                continue;
            }
        };
        let mut incoming = Vec::new();
        let outcome = ws
            .send_and_wait(&cid, &to, text, |f| {
                if let ServerFrame::Message(m) = f {
                    incoming.push(m);
                }
            })
            .await;
        for m in &incoming {
            ctx.store.record_message(m, false).await?;
        }
        match outcome {
            Ok(SendOutcome::Acked {
                id, seq, duplicate, ..
            }) => {
                ctx.store.record_acked(&me, &cid, id, seq).await?;
                let _ = ws.close().await;
                if duplicate {
                    println!("already sent to {to} (message {id}); not sent twice");
                } else {
                    println!("sent to {to} (message {id})");
                }
                return Ok(());
            }
            Ok(SendOutcome::Failed(e)) => bail!("{} ({})", e.message, e.code),
            Err(e) => last_err = Some(e.into()),
        }
    }
    Err(last_err.unwrap_or_else(|| anyhow::anyhow!("could not send")))
}

fn print_row(me: &str, r: &ChatRow) {
    let state = if r.sender == me {
        if r.read_at.is_some() {
            " [read]"
        } else if r.delivered_at.is_some() {
            " [delivered]"
        } else if r.server_id.is_some() {
            " [sent]"
        } else {
            " [not sent]"
        }
    } else {
        ""
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
        r.sender.clone()
    };
    println!("{}  {who}: {}{state}", when(r.sent_at), r.content);
}

async fn history(ctx: &Ctx, number: &str, limit: i64, local: bool) -> anyhow::Result<()> {
    let me = me(ctx).await?;
    let peer = normalize(number)?;
    if limit < 1 {
        bail!("--limit must be at least 1");
    }
    if !local {
        let mut before = None;
        let mut fetched = 0;
        while fetched < limit {
            let page = ctx
                .client
                .history(&peer, before, Some((limit - fetched).min(200)))
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
    let rows = ctx.store.chat_with(&peer, limit).await?;
    if rows.is_empty() {
        println!("no messages with {peer}");
    }
    for r in &rows {
        print_row(&me, r);
    }
    Ok(())
}

/// Stores synced messages, marks them delivered on the server, advances the last sequence
/// number; returns the new ones.
async fn sync_into_store(
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
    let nonce = rand_nonce();
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

fn rand_nonce() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
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
        println!("{}  {}: {}", when(m.sent_at), sender_label(m), m.body);
    }
    println!(
        "{} new message{}",
        new.len(),
        if new.len() == 1 { "" } else { "s" }
    );
    Ok(())
}

async fn chat(ctx: &Ctx, number: &str, linger: u64) -> anyhow::Result<()> {
    let me = me(ctx).await?;
    let peer = normalize(number)?;
    let mut ws = connect(ctx).await?;
    let new = sync_into_store(&ctx.store, &mut ws).await?;
    let others = new.iter().filter(|m| m.from != peer).count();
    if others > 0 {
        println!(
            "({others} new message(s) from others; see `ringbook inbox` or `ringbook history`)"
        );
    }
    for r in ctx.store.chat_with(&peer, 20).await? {
        print_row(&me, &r);
    }
    let unread: Vec<i64> = new
        .iter()
        .filter(|m| m.from == peer)
        .map(|m| m.id)
        .collect();
    if !unread.is_empty() {
        ws.send(&ClientFrame::Read { ids: unread }).await?;
    }
    eprintln!("chatting with {peer}; type a line and Enter to send, /quit to leave");

    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = true;
    // client_msg_id → text, for sends not acknowledged yet.
    let mut pending: HashMap<String, String> = HashMap::new();
    let mut last_seq = ctx.store.last_seq().await?;
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        if !stdin_open && pending.is_empty() && deadline.is_none() {
            deadline = Some(tokio::time::Instant::now() + Duration::from_secs(linger));
        }
        let sleep_until =
            deadline.unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(86_400));
        tokio::select! {
            line = stdin.next_line(), if stdin_open => {
                match line? {
                    None => stdin_open = false,
                    Some(l) if l.trim() == "/quit" => stdin_open = false,
                    Some(l) if l.trim().is_empty() => {}
                    Some(l) => {
                        let cid = new_client_msg_id();
                        ctx.store.record_outgoing(&cid, &me, &peer, &l, "text").await?;
                        ws.send(&ClientFrame::Send {
                            client_msg_id: cid.clone(),
                            to: peer.clone(),
                            body: l.clone(),
                            kind: None,
                            sent_at: Some(ringbook_client::store::now_ms()),
                        }).await?;
                        pending.insert(cid, l);
                    }
                }
            }
            frame = ws.next() => {
                let Some(frame) = frame? else { bail!("the server closed the connection") };
                match frame {
                    ServerFrame::Ack { client_msg_id, id, seq, .. } => {
                        ctx.store.record_acked(&me, &client_msg_id, id, seq).await?;
                        if let Some(text) = pending.remove(&client_msg_id) {
                            println!("{}  me: {text} [sent]", when(ringbook_client::store::now_ms()));
                        }
                    }
                    ServerFrame::SendFailed { client_msg_id, error } => {
                        let text = pending.remove(&client_msg_id).unwrap_or_default();
                        println!("not sent: {text} — {} ({})", error.message, error.code);
                    }
                    ServerFrame::Message(m) => {
                        let fresh = ctx.store.record_message(&m, false).await?;
                        if m.seq == last_seq + 1 {
                            last_seq = m.seq;
                            ctx.store.set_last_seq(last_seq).await?;
                        }
                        if fresh {
                            if m.from == peer {
                                println!("{}  {}: {}", when(m.sent_at), sender_label(&m), m.body);
                                ws.send(&ClientFrame::Read { ids: vec![m.id] }).await?;
                            } else {
                                println!("(new message from {})", m.from);
                                ws.send(&ClientFrame::Delivered { ids: vec![m.id] }).await?;
                            }
                        }
                    }
                    ServerFrame::Receipt(r) => {
                        ctx.store.record_receipt(r.id, &r.status, r.at).await?;
                        println!("  message {} {} by {}", r.id, r.status, r.by);
                    }
                    ServerFrame::Closing { reason } => bail!("the server closed the chat ({reason:?})"),
                    ServerFrame::Error(e) => println!("error: {} ({})", e.message, e.code),
                    _ => {}
                }
            }
            () = tokio::time::sleep_until(sleep_until) => break,
        }
    }
    if !pending.is_empty() {
        bail!(
            "{} message(s) were not acknowledged by the server",
            pending.len()
        );
    }
    flush(&mut ws).await?;
    let _ = ws.close().await;
    Ok(())
}
