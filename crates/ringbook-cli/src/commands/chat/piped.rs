//! `ringbook chat NUMBER` with piped input: each line is sent (commands are not), outcomes,
//! replies and receipts are printed one per line. It ends once stdin ended and every line was
//! stored or refused (then after `--linger` seconds), and exits non-zero when a line was
//! refused or could not reach the server.

use super::app::{parse_line, Line, HELP};
use super::link::{Link, LinkEvent};
use super::{names, presence_text, view};
use crate::ctx::Ctx;
use crate::terminal::clean;
use chrono::Local;
use ringbook_client::messaging::new_client_msg_id;
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use tokio::time::Instant;

/// After stdin ended, how long lines may wait for an unreachable server before giving up
/// (they stay in the outbox for the next command).
const GIVE_UP: Duration = Duration::from_secs(30);

pub async fn run(ctx: &Ctx, me: String, peer: String, linger: u64) -> anyhow::Result<()> {
    let names = names(&ctx.store).await?;
    let name = |n: &str| -> String {
        if n == me {
            "me".into()
        } else {
            names.get(n).cloned().unwrap_or_else(|| n.to_string())
        }
    };
    for r in ctx.store.chat_with(&me, &peer, 20).await? {
        let mark = if r.sender == me {
            format!(" [{}]", view::tick(&r).0)
        } else {
            String::new()
        };
        println!(
            "{}  {}: {}{mark}",
            crate::time::local(r.sent_at),
            name(&r.sender),
            clean(&r.content)
        );
    }
    // Lines left in the outbox by earlier commands go out too; their outcome is reported.
    let earlier: HashMap<String, (String, String)> = ctx
        .store
        .pending_outgoing(&me)
        .await?
        .into_iter()
        .map(|r| (r.client_msg_id, (r.receiver, r.content)))
        .collect();
    let mut link = Link::start(ctx.client.clone(), ctx.store.clone(), me.clone());
    eprintln!(
        "chatting with {}; type a line and Enter to send, /help for commands",
        if name(&peer) == peer {
            peer.clone()
        } else {
            format!("{} ({peer})", name(&peer))
        }
    );

    let mut stdin = stdin_lines();
    let mut stdin_open = true;
    // client_msg_id → text, for lines not stored or refused yet.
    let mut pending: HashMap<String, String> = HashMap::new();
    let mut done: HashSet<String> = HashSet::new();
    // server ID → text, for receipts.
    let mut sent: HashMap<i64, String> = HashMap::new();
    let mut refused: Vec<String> = Vec::new();
    let mut offline_since: Option<Instant> = None;
    let mut was_offline = false;
    // The first sync finished: what was waiting has been printed and marked read.
    let mut synced_once = false;
    let mut deadline: Option<Instant> = None;
    let far = || Instant::now() + Duration::from_secs(86_400);
    loop {
        if !stdin_open && pending.is_empty() && synced_once && deadline.is_none() {
            deadline = Some(Instant::now() + Duration::from_secs(linger));
        }
        let give_up = match offline_since {
            Some(t) if !stdin_open && (!pending.is_empty() || !synced_once) => t + GIVE_UP,
            _ => far(),
        };
        tokio::select! {
            line = stdin.recv(), if stdin_open => match line.transpose()? {
                None => stdin_open = false,
                Some(l) => match parse_line(&l) {
                    Line::Empty => {}
                    Line::Quit => stdin_open = false,
                    Line::Help => HELP.iter().for_each(|h| eprintln!("{h}")),
                    Line::Switch(_) => eprintln!(
                        "/switch works in the full-screen chat; run `ringbook chat NUMBER` for another number"
                    ),
                    Line::Unknown(msg) => eprintln!("{msg}"),
                    Line::Text(text) => {
                        let cid = new_client_msg_id();
                        ctx.store.record_outgoing(&cid, &me, &peer, &text, "text").await?;
                        if let Some(row) = ctx.store.outgoing(&me, &cid).await? {
                            link.send(row);
                        }
                        pending.insert(cid, text);
                    }
                },
            },
            ev = link.events.recv() => {
                let Some(ev) = ev else { anyhow::bail!("the connection task stopped") };
                match ev {
                    LinkEvent::Connecting { .. } => {}
                    LinkEvent::Online => {
                        offline_since = None;
                        if !synced_once {
                            synced_once = true;
                            // Also what an earlier command fetched: this chat shows it now.
                            link.read(ctx.store.take_unread(&me, &peer).await?);
                        }
                        if was_offline {
                            eprintln!("connected again");
                            was_offline = false;
                        }
                    }
                    LinkEvent::Offline { reason, retry_in } => {
                        offline_since.get_or_insert_with(Instant::now);
                        was_offline = true;
                        eprintln!("reconnecting… in {:.0} s ({reason})", retry_in.as_secs_f32().ceil());
                    }
                    LinkEvent::Synced { new } => {
                        for m in new {
                            show_incoming(ctx, &link, &me, &peer, &m, &name).await?;
                        }
                    }
                    LinkEvent::Incoming(m) => show_incoming(ctx, &link, &me, &peer, &m, &name).await?,
                    LinkEvent::Acked { client_msg_id, id } => {
                        if !done.insert(client_msg_id.clone()) {
                            continue;
                        }
                        if let Some(text) = pending.remove(&client_msg_id) {
                            println!("{}  me: {} [sent]", crate::time::local(ringbook_client::store::now_ms()), clean(&text));
                            sent.insert(id, text);
                        } else if let Some((to, text)) = earlier.get(&client_msg_id) {
                            eprintln!("outbox: sent to {}: {}", name(to), clean(text));
                        }
                    }
                    LinkEvent::Refused { client_msg_id, error } => {
                        if !done.insert(client_msg_id.clone()) {
                            continue;
                        }
                        if let Some(text) = pending.remove(&client_msg_id) {
                            println!("not sent: {} — {} ({})", clean(&text), error.message, error.code);
                            refused.push(text);
                        } else if let Some((to, text)) = earlier.get(&client_msg_id) {
                            eprintln!("outbox: not sent to {}: {} — {} ({})", name(to), clean(text), error.message, error.code);
                        }
                    }
                    LinkEvent::Receipt(r) => {
                        let what = sent
                            .get(&r.id)
                            .map(|t| format!(": {}", clean(t)))
                            .unwrap_or_else(|| format!(" (message {})", r.id));
                        let tick = if r.status == "read" { "✓✓ read" } else { "✓✓ delivered" };
                        println!("  {tick} by {}{what}", name(&r.by));
                    }
                    LinkEvent::Presence(p) => {
                        if p.phone == peer {
                            eprintln!("{} is {}", name(&peer), presence_text(&p, Local::now()));
                        }
                    }
                    LinkEvent::Ended(reason) => anyhow::bail!(reason),
                }
            }
            () = tokio::time::sleep_until(deadline.unwrap_or_else(far)) => break,
            () = tokio::time::sleep_until(give_up) => {
                if pending.is_empty() {
                    anyhow::bail!("cannot reach the server at {}", ctx.server);
                }
                anyhow::bail!(
                    "{} line(s) could not reach the server; they wait in the outbox and go out with your next ringbook command",
                    pending.len()
                );
            }
        }
    }
    link.flush(Duration::from_secs(5)).await;
    if !refused.is_empty() {
        anyhow::bail!(
            "{} line(s) were refused by the server and not sent: {}",
            refused.len(),
            refused
                .iter()
                .map(|t| format!("{:?}", clean(t)))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}

/// Lines of stdin, read on a thread of their own: tokio's stdin reads on its blocking pool,
/// whose pending read would keep the process alive after the chat ended (a revoked session
/// with stdin still open) until the next line came.
fn stdin_lines() -> tokio::sync::mpsc::Receiver<std::io::Result<String>> {
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::stdin().lock().lines() {
            let failed = line.is_err();
            if tx.blocking_send(line).is_err() || failed {
                return;
            }
        }
    });
    rx
}

async fn show_incoming(
    ctx: &Ctx,
    link: &Link,
    me: &str,
    peer: &str,
    m: &ringbook_proto::ws::ChatMessage,
    name: &impl Fn(&str) -> String,
) -> anyhow::Result<()> {
    let in_this_chat = (m.from == peer && m.to == me) || (m.from == me && m.to == peer);
    if in_this_chat {
        // Own lines were printed when stored (a chat with oneself gets each one back).
        if m.from != me {
            println!(
                "{}  {}: {}",
                crate::time::local(m.sent_at),
                name(&m.from),
                clean(&m.body)
            );
        }
        link.read(ctx.store.take_unread(me, peer).await?);
    } else if m.from != me {
        println!(
            "new message from {} ({}): {}",
            name(&m.from),
            m.from,
            clean(&m.body)
        );
    }
    Ok(())
}
