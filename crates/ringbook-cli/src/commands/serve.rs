//! `ringbook serve`.

use anyhow::Context;
use ringbook_server::config::{Config, ConfigOverrides};
use ringbook_server::state::App;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Folder for the embedded database and the SMS outbox (default ./data).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// sqlite://PATH or postgres://USER:PASS@HOST/DB (default: SQLite in the data folder).
    #[arg(long, env = "RINGBOOK_DATABASE_URL")]
    database_url: Option<String>,
    /// TOML config file (see ringbook.example.toml).
    #[arg(long, env = "RINGBOOK_CONFIG")]
    config: Option<PathBuf>,
    /// Let official-account callback URLs reach loopback/private addresses
    /// (config key `official.allow_private_callbacks`; tests and on-premises set-ups).
    #[arg(long)]
    allow_private_callbacks: bool,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One line per event; coloured only when standard error is a terminal.
    Text,
    /// One JSON object per line.
    Json,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RINGBOOK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=warn,sqlx=warn"));
    // Colour codes only on a terminal: a log redirected to a file stays plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match args.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
    let overrides = ConfigOverrides {
        listen: args.listen,
        data_dir: args.data_dir,
        database_url: args.database_url,
        allow_private_callbacks: args.allow_private_callbacks.then_some(true),
    };
    raise_open_file_limit();
    let config =
        Config::load(args.config.as_deref(), &overrides).context("invalid configuration")?;
    config.validate()?;
    tracing::info!(
        listen = %config.listen,
        data_dir = %config.data_dir.display(),
        "starting"
    );
    // The whole configuration (secrets redacted by its Debug), one field per line, for
    // whoever turns debug logging on.
    for line in format!("{config:#?}").lines() {
        tracing::debug!(target: "ringbook::config", "{line}");
    }
    let listen = config.listen;
    let state = App::build(config).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    tracing::info!(addr = %listener.local_addr()?, "listening");
    ringbook_server::run(listener, state, ringbook_server::shutdown_signal()).await
}

/// Every client connection is a file descriptor: raise the soft limit to the hard one (the
/// server caps connections below it, see `connections.max_total`).
fn raise_open_file_limit() {
    #[cfg(unix)]
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::info!(limit, "open-file limit"),
        Err(e) => tracing::warn!(error = %e, "cannot raise the open-file limit"),
    }
}
