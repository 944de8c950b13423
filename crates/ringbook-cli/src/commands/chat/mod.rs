//! The terminal chat: `ringbook chat [NUMBER]` and the conversation list `ringbook chats`.
//!
//! - [`link`]: the connection kept alive in the background (reconnect with back-off, sync,
//!   outbox resend), reporting [`link::LinkEvent`]s.
//! - [`app`]: the screen's state and what keys and typed lines mean (no terminal needed).
//! - [`view`]: drawing it with ratatui.
//! - [`tui`]: the full-screen loop at a terminal; [`piped`]: the line loop for piped input.

pub mod app;
pub mod link;
mod piped;
mod tui;
pub mod view;

use super::messaging::{connect, me, normalize, sync_into_store};
use crate::ctx::Ctx;
use crate::terminal::clean;
use crate::time::when_short;
use chrono::{DateTime, Local};
use ringbook_client::ClientStore;
use ringbook_proto::presence::{ImStatus, PresenceInfo};
use std::collections::HashMap;
use std::io::IsTerminal;

/// `ringbook chat [NUMBER]`: full screen at a terminal, line by line when piped.
pub async fn chat(ctx: &Ctx, number: Option<&str>, linger: u64) -> anyhow::Result<()> {
    let me = me(ctx).await?;
    let peer = number.map(normalize).transpose()?;
    if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        let peer = match peer {
            Some(p) => Some(p),
            None => ctx
                .store
                .conversations(&me)
                .await?
                .first()
                .map(|c| c.peer.clone()),
        };
        tui::run(ctx, me, peer).await
    } else {
        let Some(peer) = peer else {
            anyhow::bail!("give the number to chat with: ringbook chat NUMBER");
        };
        piped::run(ctx, me, peer, linger).await
    }
}

/// Contact names by number, from the contact list.
pub async fn names(store: &ClientStore) -> anyhow::Result<HashMap<String, String>> {
    Ok(store
        .local_contacts()
        .await?
        .into_iter()
        .filter(|c| !c.contact.display_name.trim().is_empty())
        .map(|c| (c.contact.mobile, c.contact.display_name))
        .collect())
}

/// A peer's presence in words: `online · "in a meeting" · [Zoom]`, `offline, last seen …`.
pub fn presence_text(p: &PresenceInfo, now: DateTime<Local>) -> String {
    let mut s = match (p.im_status, p.last_seen_at) {
        (ImStatus::Offline, Some(at)) => format!("offline, last seen {}", when_short(at, now)),
        (status, _) => status.to_string(),
    };
    if let Some(t) = &p.self_status {
        s.push_str(&format!(" · \"{}\"", clean(t)));
    }
    if let Some(a) = &p.activity_status {
        s.push_str(&format!(" · [{}]", clean(a)));
    }
    s
}

/// `ringbook chats`: every conversation, the most recent first, with names, the last message,
/// its time, the unread count and the peer's presence.
pub async fn chats(ctx: &Ctx) -> anyhow::Result<()> {
    let me = me(ctx).await?;
    // Fetch what arrived meanwhile so the list is current; without a server, show what is here.
    let reachable = match connect(ctx).await {
        Ok(mut ws) => {
            let synced = sync_into_store(&ctx.store, &mut ws).await;
            ws.shutdown().await;
            synced.map(|_| ()).map_err(|e| e.to_string())
        }
        Err(e) => Err(format!("{e:#}")),
    };
    if let Err(e) = &reachable {
        eprintln!("(showing what is stored here: {e})");
    }
    let list = ctx.store.conversations(&me).await?;
    if list.is_empty() {
        println!("no conversations yet; start one with `ringbook chat NUMBER`");
        return Ok(());
    }
    let names = names(&ctx.store).await?;
    let peers: Vec<String> = list.iter().map(|c| c.peer.clone()).collect();
    let presence: HashMap<String, PresenceInfo> = if reachable.is_ok() {
        let mut all = HashMap::new();
        for chunk in peers.chunks(500) {
            if let Ok(found) = ctx.client.query_presence(chunk).await {
                all.extend(found.presence.into_iter().map(|p| (p.phone.clone(), p)));
            }
        }
        all
    } else {
        HashMap::new()
    };
    let now = Local::now();
    let name = |n: &str| -> String {
        if n == me {
            "me".into()
        } else {
            names.get(n).cloned().unwrap_or_else(|| n.to_string())
        }
    };
    for c in &list {
        let mut head = match names.get(&c.peer) {
            Some(n) => format!("{n} ({})", c.peer),
            None if c.peer == me => format!("{} (you: notes to yourself)", c.peer),
            None => c.peer.clone(),
        };
        if let Some(p) = presence.get(&c.peer) {
            head.push_str(&format!(" · {}", presence_text(p, now)));
        }
        if c.unread > 0 {
            head.push_str(&format!(" · {} unread", c.unread));
        }
        head.push_str(&format!(" · {}", when_short(c.last.sent_at, now)));
        println!("{head}");
        let who = name(&c.last.sender);
        let mark = if c.last.sender == me {
            format!(" {}", view::tick(&c.last).0)
        } else {
            String::new()
        };
        println!("    {who}: {}{mark}", clean(&c.last.content));
    }
    Ok(())
}
