//! The full-screen chat loop: keys from crossterm, events from the link, a redraw after each.

use super::app::{Action, App, LinkState};
use super::link::{Link, LinkEvent};
use super::{names, normalize, view};
use crate::ctx::Ctx;
use chrono::Local;
use crossterm::event::{Event, EventStream};
use futures_util::StreamExt;
use ringbook_client::messaging::new_client_msg_id;
use std::time::Duration;
use tokio::time::Instant;

/// Rows of the open conversation kept on screen (scroll-back reaches this far).
const SHOWN: i64 = 1000;

pub async fn run(ctx: &Ctx, me: String, peer: Option<String>) -> anyhow::Result<()> {
    let mut app = App::new(me.clone(), names(&ctx.store).await?, None);
    let mut link = Link::start(ctx.client.clone(), ctx.store.clone(), me);
    let mut terminal = ratatui::try_init()?;
    let result = event_loop(ctx, &mut app, &mut link, &mut terminal, peer).await;
    ratatui::restore();
    if result.is_ok() {
        // Read receipts typed last go out before leaving.
        link.flush(Duration::from_secs(2)).await;
    }
    result
}

async fn event_loop(
    ctx: &Ctx,
    app: &mut App,
    link: &mut Link,
    terminal: &mut ratatui::DefaultTerminal,
    peer: Option<String>,
) -> anyhow::Result<()> {
    let mut keys = EventStream::new();
    if let Some(peer) = peer {
        open(ctx, app, link, peer).await?;
    } else {
        app.notice = Some("no conversation yet: /switch NUMBER to start one".into());
    }
    // Redraws the reconnect countdown.
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        terminal.draw(|f| view::draw(f, app, Local::now()))?;
        tokio::select! {
            ev = keys.next() => match ev {
                None => return Ok(()),
                Some(Err(e)) => return Err(e.into()),
                Some(Ok(Event::Key(k))) => match app.on_key(k) {
                    Action::Quit => return Ok(()),
                    Action::Nothing => {}
                    Action::Send(text) => send(ctx, app, link, &text).await?,
                    Action::Switch(raw) => match normalize(&raw) {
                        Ok(p) => open(ctx, app, link, p).await?,
                        Err(e) => app.notice = Some(format!("{e:#}")),
                    },
                },
                Some(Ok(_)) => {}
            },
            ev = link.events.recv() => {
                let Some(ev) = ev else { anyhow::bail!("the connection task stopped") };
                if let Some(end) = apply(ctx, app, link, ev).await? {
                    anyhow::bail!(end);
                }
            }
            _ = tick.tick() => {}
        }
    }
}

/// Reloads the open conversation from the store.
async fn reload(ctx: &Ctx, app: &mut App) -> anyhow::Result<()> {
    if let Some(peer) = app.peer.clone() {
        app.rows = ctx.store.chat_with(&app.me, &peer, SHOWN).await?;
    }
    Ok(())
}

/// Marks the open conversation read, here and (through the link) on the server.
async fn mark_read(ctx: &Ctx, app: &App, link: &Link) -> anyhow::Result<()> {
    if let Some(peer) = &app.peer {
        link.read(ctx.store.take_unread(&app.me, peer).await?);
    }
    Ok(())
}

async fn open(ctx: &Ctx, app: &mut App, link: &Link, peer: String) -> anyhow::Result<()> {
    let rows = ctx.store.chat_with(&app.me, &peer, SHOWN).await?;
    app.open(peer.clone(), rows);
    if peer != app.me {
        // Presence over HTTP; without an answer the header says it is not shared.
        if let Ok(Ok(list)) = tokio::time::timeout(
            Duration::from_secs(3),
            ctx.client.query_presence(std::slice::from_ref(&peer)),
        )
        .await
        {
            app.presence = list.presence.into_iter().find(|p| p.phone == peer);
        }
    }
    mark_read(ctx, app, link).await
}

async fn send(ctx: &Ctx, app: &mut App, link: &Link, text: &str) -> anyhow::Result<()> {
    let Some(peer) = app.peer.clone() else {
        return Ok(());
    };
    let cid = new_client_msg_id();
    // Stored first: if the link is down it goes out from the outbox after the next sync.
    ctx.store
        .record_outgoing(&cid, &app.me, &peer, text, "text")
        .await?;
    if let Some(row) = ctx.store.outgoing(&app.me, &cid).await? {
        link.send(row);
    }
    reload(ctx, app).await
}

/// Applies a link event; `Some(reason)` when the chat must end.
async fn apply(
    ctx: &Ctx,
    app: &mut App,
    link: &Link,
    ev: LinkEvent,
) -> anyhow::Result<Option<String>> {
    match ev {
        LinkEvent::Connecting { attempt } => {
            if attempt == 0 {
                app.link = LinkState::Connecting;
            }
        }
        LinkEvent::Online => {
            app.link = LinkState::Online;
            reload(ctx, app).await?;
            mark_read(ctx, app, link).await?;
        }
        LinkEvent::Offline { reason, retry_in } => {
            app.link = LinkState::Reconnecting {
                reason,
                at: Instant::now() + retry_in,
            };
        }
        LinkEvent::Synced { new } => {
            let elsewhere: Vec<_> = new
                .iter()
                .filter(|m| !app.is_open(&m.from, &m.to) && m.from != app.me)
                .collect();
            if let Some(last) = elsewhere.last() {
                if elsewhere.len() == 1 {
                    app.announce(&last.from, &last.body);
                } else {
                    let mut who: Vec<String> =
                        elsewhere.iter().map(|m| app.name(&m.from)).collect();
                    who.dedup();
                    app.notice = Some(format!(
                        "{} new messages from {} (`ringbook chats` lists them; /switch NUMBER)",
                        elsewhere.len(),
                        who.join(", ")
                    ));
                }
            }
            reload(ctx, app).await?;
            mark_read(ctx, app, link).await?;
        }
        LinkEvent::Incoming(m) => {
            if app.is_open(&m.from, &m.to) {
                reload(ctx, app).await?;
                mark_read(ctx, app, link).await?;
            } else if m.from != app.me {
                app.announce(&m.from, &m.body);
            }
        }
        LinkEvent::Acked { .. } | LinkEvent::Receipt(_) => reload(ctx, app).await?,
        LinkEvent::Refused {
            client_msg_id,
            error,
        } => {
            if let Some(row) = ctx.store.outgoing(&app.me, &client_msg_id).await? {
                app.notice = Some(format!(
                    "not sent to {}: {} ({})",
                    app.name_and_number(&row.receiver),
                    error.message,
                    error.code
                ));
            }
            reload(ctx, app).await?;
        }
        LinkEvent::Presence(p) => {
            if app.peer.as_deref() == Some(p.phone.as_str()) {
                app.presence = Some(p);
            }
        }
        LinkEvent::Ended(reason) => return Ok(Some(reason)),
    }
    Ok(None)
}
