//! `ringbook status …` (PB-13, PB-14) and `ringbook monitor` (PB-15).

use super::monitor;
use crate::ctx::Global;
use ringbook_proto::presence::{ImStatus, PresenceInfo, PresenceUpdate, Visibility};
use ringbook_proto::ws::ServerFrame;
use std::collections::HashMap;

#[derive(clap::Subcommand)]
pub enum Cmd {
    /// Your presence and your contacts'.
    #[command(subcommand)]
    Status(StatusCmd),
    /// Activity monitor (PB-15): derives a phone-activity status from running programs and
    /// system/key events and sends it when it changes.
    Monitor(monitor::MonitorArgs),
}

#[derive(clap::Subcommand)]
pub enum StatusCmd {
    /// Set your IM status, optionally with a status text.
    Set {
        /// online, busy, away or offline.
        status: ImStatus,
        /// Self-set status text, e.g. "in a meeting".
        #[arg(long)]
        text: Option<String>,
        /// Remove the status text.
        #[arg(long, conflicts_with = "text")]
        clear_text: bool,
    },
    /// Show your presence and your contacts' (those who let you see it).
    Show {
        /// Keep running and print changes as they are pushed.
        #[arg(long)]
        follow: bool,
    },
    /// Who sees your presence: everyone, contacts (people in your phone book; the default) or nobody.
    Privacy { visibility: Visibility },
    /// Set nickname, signature or personal site ("" clears one).
    Profile {
        #[arg(long)]
        nickname: Option<String>,
        #[arg(long)]
        signature: Option<String>,
        #[arg(long)]
        site: Option<String>,
    },
}

fn clear_if_empty(v: Option<String>) -> Option<Option<String>> {
    v.map(|s| Some(s).filter(|s| !s.is_empty()))
}

fn describe(p: &PresenceInfo, names: &HashMap<String, String>) -> String {
    let mut line = p.phone.clone();
    if let Some(n) = names.get(&p.phone) {
        line.push_str(&format!(" ({n})"));
    }
    line.push_str(&format!(": {}", p.im_status));
    if let (ImStatus::Offline, Some(at)) = (p.im_status, p.last_seen_at) {
        line.push_str(&format!(
            " (last seen {})",
            crate::time::when_short(at, chrono::Local::now())
        ));
    }
    if let Some(t) = &p.self_status {
        line.push_str(&format!(" \"{t}\""));
    }
    if let Some(a) = &p.activity_status {
        line.push_str(&format!(" [{a}]"));
    }
    if let Some(n) = &p.nickname {
        line.push_str(&format!(" nickname {n}"));
    }
    if let Some(s) = &p.signature {
        line.push_str(&format!(" signature \"{s}\""));
    }
    if let Some(s) = &p.personal_site {
        line.push_str(&format!(" {s}"));
    }
    line
}

pub async fn run(global: &Global, cmd: Cmd) -> anyhow::Result<()> {
    let cmd = match cmd {
        Cmd::Monitor(args) => return monitor::run(global, args).await,
        Cmd::Status(cmd) => cmd,
    };
    let ctx = global.ctx().await?;
    let client = ctx.authed()?;
    match cmd {
        StatusCmd::Set {
            status,
            text,
            clear_text,
        } => {
            let self_status = if clear_text {
                Some(None)
            } else {
                clear_if_empty(text)
            };
            let me = client
                .update_presence(&PresenceUpdate {
                    im_status: Some(status),
                    self_status,
                    ..Default::default()
                })
                .await?;
            ctx.store
                .set_status(me.info.im_status.as_str(), me.info.self_status.as_deref())
                .await?;
            // The chosen status shows while a device is connected; say so when it does not yet.
            let shown = me.info.im_status;
            let mut info = me.info;
            info.im_status = me.chosen_status.unwrap_or(shown);
            info.last_seen_at = None;
            println!("status: {}", describe(&info, &HashMap::new()));
            if info.im_status != shown {
                println!(
                    "others see you {shown} until a device of yours connects (`ringbook chat`, `ringbook status show --follow`)"
                );
            }
        }
        StatusCmd::Privacy { visibility } => {
            let me = client.set_presence_privacy(visibility).await?;
            println!("presence visible to: {}", me.visibility.as_str());
        }
        StatusCmd::Profile {
            nickname,
            signature,
            site,
        } => {
            let me = client
                .update_presence(&PresenceUpdate {
                    nickname: clear_if_empty(nickname),
                    signature: clear_if_empty(signature),
                    personal_site: clear_if_empty(site),
                    ..Default::default()
                })
                .await?;
            println!("status: {}", describe(&me.info, &HashMap::new()));
        }
        StatusCmd::Show { follow } => {
            let names: HashMap<String, String> = ctx
                .store
                .local_contacts()
                .await?
                .into_iter()
                .map(|c| (c.contact.mobile, c.contact.display_name))
                .collect();
            let me = client.my_presence().await?;
            println!(
                "you {} (visible to {})",
                describe(&me.info, &HashMap::new()),
                me.visibility.as_str()
            );
            let list = client.contacts_presence().await?;
            ctx.store.record_presence(&list.presence).await?;
            if list.presence.is_empty() {
                println!("no contact presence to show (contacts must be Ringbook users, synced with `ringbook contacts sync`, and let you see them)");
            }
            for p in &list.presence {
                println!("{}", describe(p, &names));
            }
            if follow {
                let mut ws = client.connect().await?;
                println!("following presence changes; Ctrl-C to stop");
                loop {
                    tokio::select! {
                        f = ws.next() => match f? {
                            Some(ServerFrame::Presence(p)) => {
                                ctx.store.record_presence(std::slice::from_ref(&p)).await?;
                                println!("{}", describe(&p, &names));
                            }
                            Some(ServerFrame::Closing { reason }) => anyhow::bail!("the server closed the connection ({reason:?})"),
                            Some(_) => {}
                            None => anyhow::bail!("the connection closed"),
                        },
                        _ = tokio::signal::ctrl_c() => return Ok(()),
                    }
                }
            }
        }
    }
    Ok(())
}
