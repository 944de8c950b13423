//! `ringbook admin …`: operator commands, through the server's admin API (admin token from
//! `RINGBOOK_ADMIN_TOKEN`, or none when run on the server's own host).

use crate::ctx::Global;

#[derive(clap::Subcommand)]
pub enum AdminCmd {
    /// Block a number: its sessions are refused and its connections closed.
    Block { number: String },
    /// Unblock a number.
    Unblock { number: String },
}

pub async fn run(global: &Global, cmd: AdminCmd) -> anyhow::Result<()> {
    let ctx = global.ctx().await?;
    let client = ctx.admin_client()?;
    let (number, blocked) = match cmd {
        AdminCmd::Block { number } => (number, true),
        AdminCmd::Unblock { number } => (number, false),
    };
    let answer = client.admin_set_blocked(&number, blocked).await?;
    let phone = answer
        .get("phone")
        .and_then(|p| p.as_str())
        .unwrap_or(&number);
    println!("{phone} {}", if blocked { "blocked" } else { "unblocked" });
    Ok(())
}
