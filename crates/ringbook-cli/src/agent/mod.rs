//! The visitor's local agent (`ringbook agent`, WV-1): a small HTTP server on loopback that the
//! pages of registered websites ask "who is this visitor?". It answers with a visitor token from
//! the Ringbook server, or `none`, after applying the visitor's standing choice for the site.
//!
//! - [`routes`]: the one route, `/v1/visitor`, with its Host and Origin checks (a page on a
//!   rebound DNS name is refused) and CORS answers.
//! - [`consent`]: what to answer a site, asking at this terminal when the choice is `ask`.
//!
//! See docs/open-platform.md.

mod consent;
mod routes;

pub use consent::WhenAsked;

use anyhow::Context;
use ringbook_client::Client;
use ringbook_proto::openplatform::FIELDS;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// How the agent is to run, checked before anything else is opened.
pub struct Settings {
    pub listen: SocketAddr,
    pub when_asked: WhenAsked,
    /// The fields a site is allowed when the visitor says yes.
    pub fields: Vec<String>,
}

impl Settings {
    pub fn new(
        listen: SocketAddr,
        when_asked: WhenAsked,
        fields: Vec<String>,
    ) -> anyhow::Result<Self> {
        // Any page the browser loads may call the agent: it must not be reachable from other
        // machines.
        if !listen.ip().is_loopback() {
            anyhow::bail!(
                "the agent listens on loopback only (127.0.0.1 or ::1), not {}",
                listen
            );
        }
        for f in &fields {
            if !FIELDS.contains(&f.as_str()) {
                anyhow::bail!("--fields: '{f}' is not one of {}", FIELDS.join(", "));
            }
        }
        Ok(Self {
            listen,
            when_asked,
            fields,
        })
    }
}

/// What the agent's handlers share.
struct Agent {
    /// The visitor's session at the Ringbook server.
    client: Client,
    /// The port the agent listens on: the only one a request's `Host` may name.
    port: u16,
    when_asked: WhenAsked,
    fields: Vec<String>,
    /// One terminal question at a time.
    asking: tokio::sync::Mutex<()>,
}

/// `ringbook agent`: checks the session, listens on `settings.listen` and answers until Ctrl-C.
pub async fn run(client: Client, settings: Settings) -> anyhow::Result<()> {
    client
        .me()
        .await
        .context("the agent needs a working session")?;
    let listener = TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    println!(
        "agent on http://{} (answer: websites ask here)",
        listener.local_addr()?
    );
    serve(listener, client, settings, async {
        // Ctrl-C that cannot be watched: then the agent runs until killed.
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}

/// Answers on `listener` until `shutdown` completes.
async fn serve(
    listener: TcpListener,
    client: Client,
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let agent = Arc::new(Agent {
        client,
        port: listener.local_addr()?.port(),
        when_asked: settings.when_asked,
        fields: settings.fields,
        asking: Default::default(),
    });
    axum::serve(listener, routes::router(agent))
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_agent_listens_on_loopback_only() {
        let fields = || vec!["name".to_string()];
        for listen in ["127.0.0.1:47800", "[::1]:47800"] {
            assert!(Settings::new(listen.parse().unwrap(), WhenAsked::Ask, fields()).is_ok());
        }
        for listen in ["0.0.0.0:47800", "[::]:47800", "192.168.1.2:47800"] {
            let e = Settings::new(listen.parse().unwrap(), WhenAsked::Ask, fields())
                .err()
                .unwrap();
            assert!(e.to_string().contains("loopback only"), "{e}");
        }
    }

    #[test]
    fn unknown_fields_are_refused() {
        let e = Settings::new(
            "127.0.0.1:0".parse().unwrap(),
            WhenAsked::Ask,
            vec!["name".into(), "password".into()],
        )
        .err()
        .unwrap();
        assert!(e.to_string().starts_with("--fields: 'password'"), "{e}");
    }
}
