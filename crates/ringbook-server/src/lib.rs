//! The Ringbook server as a library: [`App::build`] wires the state, [`router`] the HTTP and
//! WebSocket API, and [`run`] serves a listener until a shutdown future resolves — tests call it
//! on port 0.
//!
//! One module per product part, each owning its routes and logic (its queries live in the
//! matching module of `ringbook-store`):
//! - [`identity`]: proving a number, login, sessions, blocking (PB-1 … PB-5).
//! - [`contacts`]: phone book upload and sync (PB-8 … PB-11).
//! - [`presence`]: IM, self-set and activity status, pushed live (PB-12 … PB-14).
//! - [`messaging`]: durable messaging by number, receipts, history (PB-16, PB-17, X-3).
//! - [`profiles`]: profiles, avatars, the MM7 endpoint and bindings (MM-1 … MM-6).
//! - [`openplatform`]: websites that recognise a consenting visitor (WV-1 … WV-6, X-1).
//! - [`official`]: official accounts, developer-mode pushes, the console (OA-1 … OA-5).
//! - [`services`]: mutual matching and sharing/ordering carrier services (SS-1 … SS-6).
//! - [`hub`] + [`ws`] + [`realtime`]: live connections (PB-6) and frame dispatch.
//! - [`sms`] / [`sms_inbound`]: the SMS gateway out, and mobile-originated SMS in.
//! - [`ops`]: health, readiness, metrics, OpenAPI.
//!
//! Cross-cutting: [`config`], [`error`] (one `ApiError` for HTTP and WebSocket), [`extract`]
//! (JSON bodies, client address, sessions), [`ratelimit`], [`metrics`].
// Library code must not panic on input; tests may unwrap.
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod config;
pub mod contacts;
pub mod error;
pub mod extract;
pub mod files;
pub mod hub;
pub mod identity;
pub mod keys;
pub mod messaging;
pub mod metrics;
pub mod official;
pub mod openplatform;
pub mod ops;
pub mod passwords;
pub mod presence;
pub mod profiles;
pub mod ratelimit;
pub mod realtime;
pub mod secret;
pub mod services;
pub mod shared;
pub mod sms;
pub mod sms_inbound;
pub mod ssrf;
pub mod state;
pub mod transport;
pub mod workers;
pub mod ws;

use crate::config::Config;
use crate::state::{App, AppState, Limits};
use crate::workers::{Restart, StopSignal};
use anyhow::Context;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::Router;
use ringbook_proto::ws::CloseReason;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

impl App {
    /// Opens the store (running migrations) and builds every service from the config.
    pub async fn build(config: Config) -> anyhow::Result<AppState> {
        config.validate()?;
        files::private_dir(&config.data_dir).context("the data directory")?;
        let keys = keys::Keys::load(config.configured_master_key()?, &config.data_dir)
            .context("the master key")?;
        let database_url = config.database_url();
        files::prepare_sqlite_files(&database_url).context("the database file")?;
        let store = ringbook_store::Store::open_with(&database_url, config.sqlite_synchronous)
            .await
            .context("cannot open the database")?;
        let metrics = metrics::Metrics::default();
        let sms = sms::SmsGateway::from_config(
            &config.sms,
            &config.data_dir,
            store.clone(),
            metrics.sms.clone(),
        )
        .context("SMS gateway")?;
        let node = config.node_name();
        // Connections recorded by an earlier run of this node are gone.
        let stale = store.clear_node_connections(&node).await?;
        if stale > 0 {
            tracing::info!(stale, "cleared connection records of an earlier run");
        }
        let passwords = passwords::Passwords::new(&config.passwords);
        // Users this node showed present before it stopped are offline now (last seen now).
        let gone = store.offline_without_connections(state::now_ms()).await?;
        if !gone.is_empty() {
            tracing::info!(
                users = gone.len(),
                "set offline the users left without connections"
            );
        }
        let core = Arc::new(shared::Core {
            store,
            hub: hub::Hub::default(),
            metrics,
            node,
            phones: identity::PhoneCache::default(),
            keys,
            passwords,
            workers: workers::Workers::default(),
        });
        let platform = services::platform::from_config(&config.services, &core.store)
            .context("the service platform")?;
        let visitor_token_key = openplatform::crypto::load_token_key(&core)
            .await
            .context("the visitor-token key")?;
        Ok(Arc::new(App {
            platform,
            visitor_token_key,
            limits: Limits::from_config(&config),
            official: official::Runtime::new(&config.official),
            avatars: profiles::avatar::ConversionPool::new(
                config.profiles.avatar_conversions,
                config.profiles.avatar_queue_secs,
            ),
            messaging: messaging::Runtime::start(&core, &config.messaging),
            config,
            sms,
            core,
        }))
    }
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .merge(identity::routes())
        .merge(contacts::routes())
        .merge(presence::routes())
        .merge(messaging::routes())
        .merge(profiles::routes())
        .merge(openplatform::routes())
        .merge(official::routes())
        .merge(services::routes())
        .merge(sms_inbound::routes())
        .route("/v1/ws", get(ws::upgrade))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes));
    Router::new()
        .merge(api)
        .merge(ops::routes())
        .fallback(ops::no_route)
        .method_not_allowed_fallback(ops::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ops::track,
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            use axum::response::IntoResponse;
            error::ApiError::Internal(anyhow::anyhow!("a request handler panicked")).into_response()
        }))
        // Spans name the path, never the query: gateway callbacks carry a key and texts there.
        .layer(
            tower_http::trace::TraceLayer::new_for_http().make_span_with(
                |req: &axum::http::Request<axum::body::Body>| {
                    tracing::debug_span!(
                        "request",
                        method = %req.method(),
                        path = %req.uri().path(),
                        version = ?req.version(),
                    )
                },
            ),
        )
        .with_state(state)
}

/// Serves until `shutdown` resolves, then tells connected clients and drains in-flight requests.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = router(state.clone());
    let workers = &state.core.workers;
    let s = state.clone();
    workers.spawn("housekeeping", Restart::Always, move |stop| {
        housekeeping(s.clone(), stop)
    });
    // Developer-mode pushes waiting in the database (also those of an earlier run).
    let s = state.clone();
    workers.spawn("official pushes", Restart::Always, move |stop| {
        official::push::worker(s.clone(), stop)
    });
    // Activity statuses the monitor stopped refreshing.
    let s = state.clone();
    workers.spawn("lapsed activities", Restart::Always, move |stop| {
        presence::lapse_activities(s.clone(), stop)
    });
    let hub_state = state.clone();
    let limits = Arc::new(transport::ConnectionLimits::from_config(
        &state.config.connections,
        &state.config.trusted_proxies,
    ));
    tracing::info!(
        max_connections = limits.total_cap(),
        max_per_addr = state.config.connections.max_per_addr,
        "connection caps"
    );
    transport::serve(
        listener,
        app,
        limits,
        &state.config.connections,
        async move {
            shutdown.await;
            tracing::info!("shutting down");
            // WebSockets never end by themselves: close them so the drain can finish.
            hub_state.core.hub.close_all(CloseReason::Shutdown);
        },
    )
    .await;
    // Requests are drained: the writer commits what is queued, the workers finish what they
    // started, then the store closes.
    let late = state.core.workers.shutdown(WORKERS_DEADLINE).await;
    if late > 0 {
        tracing::error!(late, "workers did not stop in time");
    }
    state.core.store.close().await;
    Ok(())
}

/// How long shutdown waits for the workers (the writer's last batch, pushes in flight).
const WORKERS_DEADLINE: Duration = Duration::from_secs(15);

/// Periodic clean-up: expired codes and tokens, idle rate-limiter keys.
async fn housekeeping(state: AppState, mut stop: StopSignal) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.stopped() => return,
        }
        // Keep expired ones an hour so a late try hears "expired", not "no code".
        if let Err(e) = state
            .core
            .store
            .purge_expired_proofs(state::now_ms() - 3_600_000)
            .await
        {
            tracing::warn!(error = %e, "purging expired codes failed");
        }
        state.limits.codes_per_addr.retain_recent();
        state.limits.codes_per_number.retain_recent();
        state.limits.logins_per_addr.retain_recent();
        state.limits.rescue_changes_per_user.retain_recent();
        state.limits.mo_polls_per_addr.retain_recent();
        state.core.hub.retain_recent_budgets();
        services::housekeeping(&state).await;
        sms_inbound::housekeeping(&state).await;
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
