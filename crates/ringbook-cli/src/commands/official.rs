//! Official accounts (OA-1 … OA-5): `ringbook oa …` for owners and followers, and
//! `ringbook thirdparty serve` for the reference third-party resolver.

use crate::ctx::Global;
use anyhow::Context;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(clap::Subcommand)]
pub enum Cmd {
    /// Official accounts: create, developer mode, follow, write, inbox.
    #[command(subcommand)]
    Oa(OaCmd),
    /// The reference third-party platform that resolves who sent each push.
    #[command(subcommand)]
    Thirdparty(ThirdpartyCmd),
}

#[derive(clap::Subcommand)]
pub enum OaCmd {
    /// Create an official account owned by the logged-in user.
    Create {
        name: String,
        /// Console password (at least 8 characters).
        #[arg(long)]
        password: String,
    },
    /// Set the developer-mode callback: runs the URL-verification handshake, then turns it on.
    Callback {
        name: String,
        url: String,
        #[arg(long)]
        token: String,
    },
    /// Follow an account.
    Follow { name: String },
    /// Stop following an account.
    Unfollow { name: String },
    /// Write to an account you follow.
    Send {
        name: String,
        text: String,
        /// text, image, voice or video (the last three take a media reference as TEXT).
        #[arg(long, default_value = "text")]
        kind: String,
    },
    /// Messages accounts sent you.
    Inbox,
    /// As the owner, send to every follower (or one, by FakeID).
    Broadcast {
        name: String,
        text: String,
        #[arg(long)]
        to_fake_id: Option<String>,
    },
    /// Which of your fields official accounts may see (no FIELDS: show them; `none`: nothing).
    Privacy { fields: Vec<String> },
}

#[derive(clap::Subcommand)]
pub enum ThirdpartyCmd {
    /// Receive pushes at /callback/{account} and resolve their senders.
    Serve {
        /// TOML config with the platform URL and each account's token and console password
        /// (must be chmod 600).
        #[arg(long)]
        config: PathBuf,
        /// Address to listen on (overrides the config's `listen`).
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
}

pub async fn run(global: &Global, cmd: Cmd) -> anyhow::Result<()> {
    match cmd {
        Cmd::Oa(cmd) => oa(global, cmd).await,
        Cmd::Thirdparty(ThirdpartyCmd::Serve { config, listen }) => {
            let filter = tracing_subscriber::EnvFilter::try_from_env("RINGBOOK_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
            // Ignored when a subscriber is already set (tests calling run twice).
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(std::io::stderr)
                .try_init();
            ringbook_thirdparty::run(&config, listen).await
        }
    }
}

async fn oa(global: &Global, cmd: OaCmd) -> anyhow::Result<()> {
    let ctx = global.ctx().await?;
    let c = ctx.authed()?;
    match cmd {
        OaCmd::Create { name, password } => {
            let a = c.oa_create(&name, &password).await?;
            println!("{}", a.name);
        }
        OaCmd::Callback { name, url, token } => {
            let a = c
                .oa_set_callback(&name, &url, &token)
                .await
                .context("the callback was not accepted")?;
            println!(
                "developer mode on for {}: pushes go to {}",
                a.name,
                a.callback_url.unwrap_or_default()
            );
        }
        OaCmd::Follow { name } => {
            let r = c.oa_follow(&name).await?;
            println!(
                "{} {}",
                if r.changed {
                    "now following"
                } else {
                    "already following"
                },
                r.account
            );
        }
        OaCmd::Unfollow { name } => {
            let r = c.oa_unfollow(&name).await?;
            println!(
                "{} {}",
                if r.changed {
                    "no longer following"
                } else {
                    "was not following"
                },
                r.account
            );
        }
        OaCmd::Send { name, text, kind } => {
            let s = c.oa_send(&name, &kind, &text).await?;
            println!(
                "sent to {name} (MsgId {}, CreateTime {})",
                s.msg_id, s.create_time
            );
        }
        OaCmd::Inbox => {
            let list = c.oa_inbox(0).await?;
            if list.is_empty() {
                println!("no messages from official accounts");
            }
            for m in list {
                let kind = if m.kind == "text" {
                    String::new()
                } else {
                    format!("[{}] ", m.kind)
                };
                println!(
                    "{}  {}: {kind}{}",
                    crate::time::local(m.sent_at),
                    m.account,
                    m.body
                );
            }
        }
        OaCmd::Broadcast {
            name,
            text,
            to_fake_id,
        } => {
            let req = ringbook_proto::official::AccountSendRequest {
                kind: "text".into(),
                body: text,
                to_fake_id,
            };
            let r = c.oa_owner_send(&name, &req).await?;
            println!("sent to {} of {} followers", r.sent, r.total);
        }
        OaCmd::Privacy { fields } => {
            let p = if fields.is_empty() {
                c.oa_privacy().await?
            } else {
                let f: Vec<&str> = fields
                    .iter()
                    .map(String::as_str)
                    .filter(|f| *f != "none")
                    .collect();
                c.oa_set_privacy(&f).await?
            };
            println!(
                "official accounts may see: {}",
                if p.fields.is_empty() {
                    "nothing".into()
                } else {
                    p.fields.join(", ")
                }
            );
        }
    }
    Ok(())
}
