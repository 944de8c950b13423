//! The accept loop: TCP connections in, HTTP/1.1 (and WebSocket upgrades) served by hyper, with
//! the guards that keep one client from holding every connection the process can open.
//!
//! - **Header-read timeout** (`connections.header_read_timeout_secs`): a connection must send a
//!   complete request head within this time from the moment the server waits for one — right
//!   after connecting, and again after each response on a kept-alive connection. An idle or
//!   trickling (slowloris) connection is closed then, authenticated or not. Upgraded WebSockets
//!   are past this point: they are authenticated and counted below.
//! - **Per-address cap** (`connections.max_per_addr`): open connections (HTTP and WebSocket) from
//!   one TCP peer; IPv6 peers count per /64, the smallest block a home or mobile user gets. A
//!   trusted proxy (`trusted_proxies`) carries many users, so it gets `connections.max_per_proxy`
//!   instead (0: only the total cap); the proxy should limit its own clients.
//! - **Total cap** (`connections.max_total`, 0: the process's open-file limit less
//!   `connections.reserve_fds`, kept for the database, logs and outbound requests), so accepting
//!   never runs the process out of file descriptors.
//!
//! A connection over a cap is accepted, answered with a short JSON 503 if the socket takes it
//! without waiting, and closed at once: it costs a file descriptor for microseconds, and the
//! listen queue never fills with connections that will never be served.
//!
//! Hand-written rather than `axum::serve` because that has neither timeouts nor caps; the
//! connection is served by hyper's HTTP/1 server exactly as `axum::serve` does (axum is built
//! without HTTP/2 here), with `ConnectInfo<SocketAddr>` put on every request for the extractors.

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower::ServiceExt;

/// The connection guards (config section `[connections]`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConnectionsConfig {
    /// Seconds a connection has to send a complete request head, counted from connecting or
    /// from the end of the previous response (so also the idle time of a kept-alive connection).
    pub header_read_timeout_secs: u64,
    /// Open connections (HTTP and WebSocket) from one client address (IPv6: one /64).
    pub max_per_addr: usize,
    /// Open connections from one of `trusted_proxies`, which carry many users; 0: only
    /// `max_total` applies.
    pub max_per_proxy: usize,
    /// All open connections; 0: the open-file limit less `reserve_fds`.
    pub max_total: usize,
    /// File descriptors kept for everything but client connections when `max_total` is 0.
    pub reserve_fds: usize,
}

impl Default for ConnectionsConfig {
    fn default() -> Self {
        ConnectionsConfig {
            header_read_timeout_secs: 10,
            max_per_addr: 256,
            max_per_proxy: 0,
            max_total: 0,
            reserve_fds: 1024,
        }
    }
}

/// What one address may hold, and how many connections are open.
pub struct ConnectionLimits {
    per_addr: usize,
    per_proxy: usize,
    total: usize,
    trusted_proxies: Vec<IpNet>,
    open: Mutex<Open>,
}

#[derive(Default)]
struct Open {
    total: usize,
    by_addr: HashMap<IpAddr, usize>,
}

/// Why a connection was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    PerAddress,
    Total,
}

/// One open connection's place under the caps; given back when dropped (with the socket).
pub struct ConnectionPermit {
    limits: Arc<ConnectionLimits>,
    key: IpAddr,
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        let mut open = lock(&self.limits.open);
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.by_addr.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                open.by_addr.remove(&self.key);
            }
        }
    }
}

fn lock(m: &Mutex<Open>) -> std::sync::MutexGuard<'_, Open> {
    // Every critical section is a few integer updates: a poisoned lock is still consistent.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The key a peer is counted under: IPv4 as is, IPv6 by its /64 (IPv4-mapped as IPv4).
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

impl ConnectionLimits {
    /// The caps from the config; `max_total = 0` takes the open-file limit into account.
    pub fn from_config(cfg: &ConnectionsConfig, trusted_proxies: &[IpNet]) -> Self {
        let total = if cfg.max_total > 0 {
            cfg.max_total
        } else {
            auto_total(open_file_limit(), cfg.reserve_fds)
        };
        ConnectionLimits {
            per_addr: cfg.max_per_addr.max(1),
            per_proxy: cfg.max_per_proxy,
            total,
            trusted_proxies: trusted_proxies.to_vec(),
            open: Mutex::new(Open::default()),
        }
    }

    pub fn total_cap(&self) -> usize {
        self.total
    }

    pub fn open_connections(&self) -> usize {
        lock(&self.open).total
    }

    /// Takes a place for a connection from `peer`, or says which cap is reached.
    pub fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<ConnectionPermit, Refusal> {
        let key = address_key(peer);
        let proxy = self.trusted_proxies.iter().any(|n| n.contains(&peer));
        let cap = if proxy {
            if self.per_proxy == 0 {
                self.total
            } else {
                self.per_proxy
            }
        } else {
            self.per_addr
        };
        let mut open = lock(&self.open);
        if open.total >= self.total {
            return Err(Refusal::Total);
        }
        let n = open.by_addr.entry(key).or_insert(0);
        if *n >= cap {
            return Err(Refusal::PerAddress);
        }
        *n += 1;
        open.total += 1;
        Ok(ConnectionPermit {
            limits: self.clone(),
            key,
        })
    }
}

/// The soft limit on open files (what `accept` runs into), or a conservative guess.
fn open_file_limit() -> u64 {
    #[cfg(unix)]
    {
        rlimit::getrlimit(rlimit::Resource::NOFILE)
            .map(|(soft, _)| soft)
            .unwrap_or(1024)
    }
    #[cfg(not(unix))]
    {
        8192
    }
}

fn auto_total(limit: u64, reserve: usize) -> usize {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if limit > reserve.saturating_mul(2) {
        limit - reserve
    } else {
        (limit / 2).max(1)
    }
}

/// A socket that holds its place under the caps until it is dropped — also after a WebSocket
/// upgrade, when hyper hands the socket to the WebSocket task.
struct Counted {
    stream: TcpStream,
    _permit: ConnectionPermit,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

const REFUSED_RESPONSE: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
Content-Type: application/json\r\nRetry-After: 5\r\nConnection: close\r\nContent-Length: 88\r\n\r\n\
{\"code\":\"too_many_connections\",\"message\":\"too many open connections; try again shortly\"}";

/// Serves `app` on `listener` until `shutdown` resolves; then stops accepting, lets every
/// connection finish its request in flight and waits for them. WebSockets are not waited for
/// (the caller closes them).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Arc<ConnectionLimits>,
    cfg: &ConnectionsConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(cfg.header_read_timeout_secs.max(1)))
        .keep_alive(true);
    let http = Arc::new(http);

    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    // Every connection task holds a clone of `done_rx`; `done_tx.closed()` resolves when all
    // are gone.
    let (done_tx, done_rx) = watch::channel(());
    let mut refused_since_log: u64 = 0;
    let mut last_log: Option<std::time::Instant> = None;

    let mut stop = stop_rx.clone();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    accept_error(&e).await;
                    continue;
                }
            },
            () = stopped(&mut stop) => break,
        };
        let permit = match limits.admit(peer.ip()) {
            Ok(p) => p,
            Err(why) => {
                // Best effort, never waiting: the socket is closed right after.
                let _ = stream.try_write(REFUSED_RESPONSE);
                drop(stream);
                refused_since_log += 1;
                if last_log.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                    tracing::warn!(
                        refused = refused_since_log,
                        last_peer = %peer.ip(),
                        reason = ?why,
                        open = limits.open_connections(),
                        "refusing connections over the caps"
                    );
                    refused_since_log = 0;
                    last_log = Some(std::time::Instant::now());
                }
                continue;
            }
        };
        // Chat frames are small: do not let Nagle hold them back.
        let _ = stream.set_nodelay(true);
        let io = TokioIo::new(Counted {
            stream,
            _permit: permit,
        });
        let router = app.clone();
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let mut req = req.map(axum::body::Body::new);
            req.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(req)
        });
        let http = http.clone();
        let mut stop = stop_rx.clone();
        let done = done_rx.clone();
        tokio::spawn(async move {
            let conn = http.serve_connection(io, service).with_upgrades();
            tokio::pin!(conn);
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::trace!(error = %e, "connection ended with an error");
                    }
                }
                () = stopped(&mut stop) => {
                    conn.as_mut().graceful_shutdown();
                    if let Err(e) = conn.await {
                        tracing::trace!(error = %e, "connection ended with an error");
                    }
                }
            }
            drop(done);
        });
    }
    drop(listener);
    drop(done_rx);
    done_tx.closed().await;
}

/// Resolves once the shutdown signal was given (or its sender is gone).
async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

/// Out of file descriptors (or another resource): wait a little instead of spinning.
async fn accept_error(e: &io::Error) {
    use io::ErrorKind::*;
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted
    ) {
        return;
    }
    tracing::warn!(error = %e, "accept failed");
    tokio::time::sleep(Duration::from_millis(50)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_addr: usize, per_proxy: usize, total: usize) -> Arc<ConnectionLimits> {
        Arc::new(ConnectionLimits {
            per_addr,
            per_proxy,
            total,
            trusted_proxies: vec!["10.0.0.1/32".parse().unwrap()],
            open: Mutex::new(Open::default()),
        })
    }

    #[test]
    fn caps_per_address_per_proxy_and_in_total() {
        let l = limits(2, 5, 8);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let held: Vec<_> = (0..2).map(|_| l.admit(a).unwrap()).collect();
        assert_eq!(l.admit(a).err(), Some(Refusal::PerAddress));
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let via_proxy: Vec<_> = (0..5).map(|_| l.admit(proxy).unwrap()).collect();
        assert_eq!(l.admit(proxy).err(), Some(Refusal::PerAddress));
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let _b1 = l.admit(b).unwrap();
        assert_eq!(l.admit(b).err(), Some(Refusal::Total));
        drop(held);
        assert_eq!(l.open_connections(), 6);
        assert!(l.admit(a).is_ok());
        drop(via_proxy);
    }

    #[test]
    fn ipv6_peers_count_per_slash_64() {
        let l = limits(2, 0, 100);
        let _x = l.admit("2001:db8:1:2::1".parse().unwrap()).unwrap();
        let _y = l.admit("2001:db8:1:2::ffff".parse().unwrap()).unwrap();
        assert!(l.admit("2001:db8:1:2:abcd::9".parse().unwrap()).is_err());
        assert!(l.admit("2001:db8:1:3::1".parse().unwrap()).is_ok());
        assert_eq!(
            address_key("::ffff:192.0.2.9".parse().unwrap()),
            "192.0.2.9".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn automatic_total_leaves_room() {
        assert_eq!(auto_total(1_048_576, 1024), 1_047_552);
        assert_eq!(auto_total(20_000, 1024), 18_976);
        assert_eq!(auto_total(1024, 1024), 512);
    }
}
