//! Commands of the profiles part (to be built).

use crate::ctx::Global;

#[derive(clap::Subcommand)]
pub enum Cmd {}

pub async fn run(_global: &Global, cmd: Cmd) -> anyhow::Result<()> {
    match cmd {}
}
