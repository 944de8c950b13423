//! A reference third-party platform for Ringbook official accounts (SPEC OA-4, OA-5, after
//! CN103501265A): it receives developer-mode pushes at `/callback/{account}`, checks their
//! signature, and finds out who sent each message.
//!
//! Resolution of a push (openID, create time, content):
//! 1. the openID is in this resolver's store → the stored information (method `store`);
//! 2. otherwise the account is taken from the URL, the resolver logs in to the platform's console
//!    with that account's password from its own config file (permissions 0600, never in a URL),
//!    and finds the sender's FakeID:
//!    - **openID method** (a follow event, OA-5): open the information page of every follower
//!      not yet on the "obtained" list until one shows this openID; that follower moves to the
//!      obtained list;
//!    - **create-time method** (any later message): read the message page for the push's create
//!      time; several senders in that second are told apart by content (and senders whose FakeID
//!      is already known under another openID are ruled out); still ambiguous → the message is
//!      marked `ambiguous`, logged, and retried later (a retry falls back to the openID method);
//! 3. the follower's information is fetched by FakeID, and FakeID, openID and information are
//!    stored together.
//!
//! Who sent each message is shown on `/` (HTML), `/messages.json`, and in `resolver.log`.
//!
//! Modules: [`config`] (file + permission check), [`store`] (SQLite), [`console`] (the
//! platform's console over HTTP), [`resolve`] (the method), and the HTTP server in this file.

pub mod config;
pub mod console;
pub mod resolve;
pub mod store;

use anyhow::Context;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use ringbook_proto::official::push as xml;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path as FsPath;
use std::sync::Arc;
use std::time::Duration;

pub use config::ThirdPartyConfig;

pub struct Resolver {
    pub config: ThirdPartyConfig,
    pub store: store::Store,
    pub console: console::Consoles,
    /// One resolution at a time: the obtained list and console sessions are shared.
    pub lock: tokio::sync::Mutex<()>,
}

pub type Shared = Arc<Resolver>;

/// Loads the config (refusing a file others can read), opens the store and serves until
/// Ctrl-C. `listen` overrides the file's address. Prints `listening on ADDR` when ready.
pub async fn run(config_path: &FsPath, listen: Option<SocketAddr>) -> anyhow::Result<()> {
    let mut config = ThirdPartyConfig::load(config_path)?;
    if let Some(l) = listen {
        config.listen = l;
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let shared = build(config).await?;
    println!("listening on {}", listener.local_addr()?);
    serve(listener, shared, async {
        let _ = tokio::signal::ctrl_c().await; // an error here means no signal handling: run until killed
    })
    .await
}

pub async fn build(config: ThirdPartyConfig) -> anyhow::Result<Shared> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create {}", config.data_dir.display()))?;
    let store = store::Store::open(&config.data_dir.join("thirdparty.db")).await?;
    let console = console::Consoles::new(&config.platform)?;
    Ok(Arc::new(Resolver {
        config,
        store,
        console,
        lock: tokio::sync::Mutex::new(()),
    }))
}

pub async fn serve(
    listener: tokio::net::TcpListener,
    shared: Shared,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let retry = tokio::spawn(retry_loop(shared.clone()));
    let app = Router::new()
        .route("/callback/{account}", any(callback))
        .route("/", get(index))
        .route("/messages.json", get(messages_json))
        .with_state(shared);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    retry.abort();
    Ok(())
}

async fn retry_loop(shared: Shared) {
    let mut tick = tokio::time::interval(Duration::from_millis(shared.config.retry_ms.max(50)));
    loop {
        tick.tick().await;
        match shared.store.unresolved().await {
            Ok(list) => {
                for m in list {
                    resolve::resolve_and_record(&shared, m).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "reading unresolved messages failed"),
        }
    }
}

async fn callback(
    State(shared): State<Shared>,
    Path(account): Path<String>,
    method: Method,
    Query(q): Query<HashMap<String, String>>,
    body: String,
) -> Response {
    let Some(acct) = shared.config.accounts.get(&account) else {
        return (StatusCode::NOT_FOUND, "unknown account").into_response();
    };
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    if !xml::check_signature(
        &acct.token,
        get("timestamp"),
        get("nonce"),
        get("signature"),
    ) {
        tracing::warn!(%account, "refused a push with a bad signature");
        resolve::log_line(
            &shared,
            &format!("refused a request for {account}: bad signature"),
        );
        return (StatusCode::FORBIDDEN, "bad signature").into_response();
    }
    if method == Method::GET {
        return get("echostr").to_string().into_response();
    }
    let fields = match xml::parse(&body) {
        Ok(f) => f,
        Err(e) => {
            return (StatusCode::BAD_REQUEST, format!("not a push document: {e}")).into_response()
        }
    };
    let msg = match store::Received::from_push(&account, &fields) {
        Some(m) => m,
        None => {
            return (
                StatusCode::BAD_REQUEST,
                "the push lacks FromUserName, CreateTime or MsgId",
            )
                .into_response()
        }
    };
    match shared.store.insert_received(&msg).await {
        Ok(Some(id)) => {
            let s = shared.clone();
            tokio::spawn(async move {
                match s.store.message(id).await {
                    Ok(Some(m)) => resolve::resolve_and_record(&s, m).await,
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "reading a received message failed"),
                }
            });
            "success".into_response()
        }
        // The platform retried a push we already have: acknowledge, do nothing (dedupe by MsgId).
        Ok(None) => "success".into_response(),
        Err(e) => {
            tracing::error!(error = %e, "storing a push failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "store failed").into_response()
        }
    }
}

async fn messages_json(State(shared): State<Shared>) -> Response {
    match shared.store.recent(500).await {
        Ok(list) => Json(list).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn index(State(shared): State<Shared>) -> Response {
    let list = match shared.store.recent(200).await {
        Ok(l) => l,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    let rows: String = list
        .iter()
        .map(|m| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&m.account),
                m.create_time,
                esc(&m.msg_type),
                esc(&m.content),
                esc(&m.status),
                esc(m.fake_id.as_deref().unwrap_or("")),
                esc(&m.info.as_ref().map(|i| i.to_string()).unwrap_or_default()),
                esc(m.method.as_deref().unwrap_or(""))
            )
        })
        .collect();
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Who sent what</title></head><body>\
         <h1>Messages and their senders</h1><table><tr><th>Account</th><th>Create time</th><th>Type</th>\
         <th>Content</th><th>Status</th><th>FakeID</th><th>Sender information</th><th>Method</th></tr>{rows}</table></body></html>"
    ))
    .into_response()
}
