//! `ringbook`: one binary for the server (`ringbook serve`), the client commands and the tools.
//! Each command family lives in `commands/`; this file parses arguments and dispatches.

mod agent;
mod commands;
mod ctx;
mod terminal;
mod time;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "ringbook",
    version,
    about = "Ringbook: phone-number messaging",
    propagate_version = true
)]
pub struct Cli {
    /// Server URL for client commands (give it before the command: `ringbook --server URL
    /// chat`). `serve` does not use it.
    #[arg(long, env = "RINGBOOK_SERVER")]
    server: Option<String>,
    /// Client home folder (its store, session token, device identity); before the command.
    #[arg(long, env = "RINGBOOK_HOME")]
    home: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(commands::serve::ServeArgs),
    /// Log in (registering a new number) with an SMS code, a text to the service number,
    /// the operator's header or a declared number.
    Login(commands::auth::LoginArgs),
    /// Show the logged-in number and device.
    Whoami,
    /// End this device's session.
    Logout,
    /// List or revoke this account's device sessions.
    #[command(subcommand)]
    Sessions(commands::auth::SessionsCmd),
    /// Set or change the rescue password (needed to move the account to another device).
    #[command(name = "rescue-password", subcommand)]
    RescuePassword(commands::auth::RescueCmd),
    /// Ask for the rescue password at every login (on|off).
    #[command(name = "secure-mode")]
    SecureMode { state: commands::auth::OnOff },
    /// Operator commands.
    #[command(subcommand)]
    Admin(commands::admin::AdminCmd),
    #[command(flatten)]
    Contacts(commands::contacts::Cmd),
    #[command(flatten)]
    Presence(commands::presence::Cmd),
    #[command(flatten)]
    Messaging(commands::messaging::Cmd),
    #[command(flatten)]
    Profiles(commands::profiles::Cmd),
    #[command(flatten)]
    OpenPlatform(commands::openplatform::Cmd),
    #[command(flatten)]
    Official(commands::official::Cmd),
    #[command(flatten)]
    Services(commands::services::Cmd),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Serve(_)) {
        // A client command whose output goes into a closed pipe (`ringbook contacts list |
        // head -3`) ends quietly, as Unix tools do, instead of panicking in `println!`. The
        // server keeps Rust's default (SIGPIPE ignored), so a peer closing a socket is an
        // error to handle, never a kill.
        sigpipe::reset();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One clear line; causes appended for context.
            eprintln!("error: {}", format_error(&e));
            ExitCode::FAILURE
        }
    }
}

fn format_error(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let s = cause.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ")
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let global = ctx::Global {
        server: cli.server,
        home: cli.home,
    };
    match cli.command {
        Command::Serve(args) => commands::serve::run(args).await,
        command => {
            ctx::init_client_logging();
            match command {
                Command::Login(args) => commands::auth::login(&global, args).await,
                Command::Whoami => commands::auth::whoami(&global).await,
                Command::Logout => commands::auth::logout(&global).await,
                Command::Sessions(cmd) => commands::auth::sessions(&global, cmd).await,
                Command::RescuePassword(cmd) => commands::auth::rescue(&global, cmd).await,
                Command::SecureMode { state } => commands::auth::secure_mode(&global, state).await,
                Command::Admin(cmd) => commands::admin::run(&global, cmd).await,
                Command::Contacts(cmd) => commands::contacts::run(&global, cmd).await,
                Command::Presence(cmd) => commands::presence::run(&global, cmd).await,
                Command::Messaging(cmd) => commands::messaging::run(&global, cmd).await,
                Command::Profiles(cmd) => commands::profiles::run(&global, cmd).await,
                Command::OpenPlatform(cmd) => commands::openplatform::run(&global, cmd).await,
                Command::Official(cmd) => commands::official::run(&global, cmd).await,
                Command::Services(cmd) => commands::services::run(&global, cmd).await,
                Command::Serve(_) => unreachable!("handled above"),
            }
        }
    }
}
