//! `ringbook-loadtest`: starts a real `ringbook serve` process on a fresh SQLite data folder,
//! logs in many users through the SMS-code flow, and measures over loopback:
//!
//! - `throughput`: N connected clients each keep W sends in flight to random other clients for
//!   D seconds; reports durable (acknowledged) messages/s, delivered messages/s, and p50/p99 of
//!   send→ack and send→delivery latency.
//! - `idle`: opens N idle WebSocket connections and reports the server's resident memory per
//!   connection (RSS after minus RSS before, divided by N).
//!
//! Example: `ringbook-loadtest --server-bin target/release/ringbook throughput --clients 1000`.

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use ringbook_client::ws::Connection;
use ringbook_client::Client;
use ringbook_proto::api::{LoginRequest, Proof};
use ringbook_proto::ws::{ClientFrame, ServerFrame};
use ringbook_proto::DeviceIdentity;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

#[derive(Parser)]
struct Args {
    /// The `ringbook` binary to start (build it with `cargo build --release -p ringbook-cli`).
    #[arg(long, default_value = "target/release/ringbook")]
    server_bin: PathBuf,
    /// Concurrent logins while setting up.
    #[arg(long, default_value_t = 32)]
    login_concurrency: usize,
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    Throughput {
        #[arg(long, default_value_t = 1000)]
        clients: usize,
        /// Sends each client keeps in flight.
        #[arg(long, default_value_t = 8)]
        window: usize,
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        #[arg(long, default_value_t = 5)]
        warmup_seconds: u64,
        /// Message body size in bytes.
        #[arg(long, default_value_t = 64)]
        body: usize,
    },
    Idle {
        #[arg(long, default_value_t = 10_000)]
        connections: usize,
    },
}

struct Server {
    child: Child,
    url: String,
    data: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_server(bin: &Path, data: &Path) -> anyhow::Result<Server> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let child = Command::new(bin)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(data)
        .env("RINGBOOK_LOG", "warn")
        .env("RINGBOOK_IDENTITY__CODES_PER_ADDR_PER_HOUR", "10000000")
        .env("RINGBOOK_IDENTITY__LOGINS_PER_ADDR_PER_MINUTE", "10000000")
        .env("RINGBOOK_MESSAGING__SENDS_PER_SECOND", "10000000")
        // Every simulated client connects from 127.0.0.1.
        .env("RINGBOOK_CONNECTIONS__MAX_PER_ADDR", "10000000")
        .env("RINGBOOK_WEBSOCKET__FRAMES_PER_SECOND", "10000000")
        .env("RINGBOOK_WEBSOCKET__FRAMES_BURST", "10000000")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let url = format!("http://127.0.0.1:{port}");
    let server = Server {
        child,
        url,
        data: data.to_path_buf(),
    };
    let http = reqwest::Client::new();
    let start = Instant::now();
    loop {
        if let Ok(r) = http.get(format!("{}/healthz", server.url)).send().await {
            if r.status().is_success() {
                return Ok(server);
            }
        }
        if start.elapsed() > Duration::from_secs(60) {
            bail!("the server did not come up");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn phone(i: usize) -> String {
    format!("+86139{:08}", i)
}

/// Reads the code SMS for `e164` from the server's outbox (the file grows; scan from the end).
fn code_for(data: &Path, e164: &str) -> anyhow::Result<String> {
    // The server may be mid-write: skip a partial last line and look again shortly.
    for _ in 0..100 {
        let text = std::fs::read_to_string(data.join("sms-outbox.jsonl"))?;
        for line in text.lines().rev() {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            if v["to"] == e164 && v["kind"] == "verification_code" {
                if let Some(code) = v["text"].as_str().and_then(|t| {
                    t.split(|c: char| !c.is_ascii_digit())
                        .find(|w| w.len() == 6)
                }) {
                    return Ok(code.to_string());
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!("no code for {e164}")
}

async fn login_all(srv: &Server, n: usize, concurrency: usize) -> anyhow::Result<Vec<Client>> {
    let started = Instant::now();
    let outbox_lock = Arc::new(Mutex::new(()));
    let mut out = Vec::with_capacity(n);
    for chunk_start in (0..n).step_by(concurrency.max(1)) {
        let mut tasks = Vec::new();
        for i in chunk_start..(chunk_start + concurrency).min(n) {
            let url = srv.url.clone();
            let data = srv.data.clone();
            let lock = outbox_lock.clone();
            tasks.push(tokio::spawn(async move {
                let c = Client::new(&url)?;
                let p = phone(i);
                c.request_code(&p).await?;
                let code = {
                    let _g = lock.lock().await;
                    code_for(&data, &p)?
                };
                let resp = c
                    .login(&LoginRequest {
                        phone: Some(p.clone()),
                        device: DeviceIdentity {
                            device_id: format!("load-{i:08}"),
                            imei: None,
                            iccid: None,
                            imsi: None,
                            label: None,
                        },
                        proof: Proof::SmsCode { code },
                        rescue_password: None,
                        move_account: false,
                    })
                    .await?;
                anyhow::Ok(c.with_token(resp.token))
            }));
        }
        for t in tasks {
            out.push(t.await??);
        }
        // The outbox is re-read per login; truncating it keeps set-up linear.
        std::fs::write(srv.data.join("sms-outbox.jsonl"), "")?;
    }
    eprintln!(
        "logged in {n} users in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(out)
}

async fn connect(c: &Client) -> anyhow::Result<Connection> {
    let mut ws = c.connect().await?;
    match ws.next().await? {
        Some(ServerFrame::Hello { .. }) => Ok(ws),
        other => bail!("unexpected first frame {other:?}"),
    }
}

fn rss_kb(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .context("no VmRSS")?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .context("bad VmRSS")?
        .parse()?)
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

#[derive(Default)]
struct Stats {
    acked: u64,
    delivered: u64,
    ack_us: Vec<u64>,
    deliver_us: Vec<u64>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let srv = start_server(&args.server_bin, &data).await?;
    match args.mode {
        Mode::Idle { connections } => {
            let clients = login_all(&srv, connections, args.login_concurrency).await?;
            tokio::time::sleep(Duration::from_secs(2)).await;
            let before = rss_kb(srv.child.id())?;
            let mut conns = Vec::with_capacity(connections);
            for c in &clients {
                conns.push(connect(c).await?);
            }
            tokio::time::sleep(Duration::from_secs(3)).await;
            let after = rss_kb(srv.child.id())?;
            let per = (after.saturating_sub(before)) as f64 * 1024.0 / connections as f64;
            println!(
                "idle connections: {connections}; server RSS {before} KiB before, {after} KiB after; {:.0} bytes ({:.2} KB) per idle connection",
                per,
                per / 1000.0
            );
            drop(conns);
        }
        Mode::Throughput {
            clients,
            window,
            seconds,
            warmup_seconds,
            body,
        } => {
            let users = login_all(&srv, clients, args.login_concurrency).await?;
            let mut conns = Vec::with_capacity(clients);
            for c in &users {
                conns.push(connect(c).await?);
            }
            eprintln!(
                "{clients} clients connected; warm-up {warmup_seconds} s, measuring {seconds} s"
            );
            let origin = Instant::now();
            let measure_from = origin + Duration::from_secs(warmup_seconds);
            let stop_at = measure_from + Duration::from_secs(seconds);
            let pad = "x".repeat(body.saturating_sub(24));
            let mut tasks = Vec::new();
            for (i, mut ws) in conns.into_iter().enumerate() {
                let pad = pad.clone();
                tasks.push(tokio::spawn(async move {
                    let mut st = Stats::default();
                    let mut inflight: std::collections::HashMap<u64, Instant> = Default::default();
                    let mut next_id: u64 = 0;
                    let mut rng = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                    loop {
                        let now = Instant::now();
                        if now >= stop_at {
                            break;
                        }
                        while inflight.len() < window {
                            rng ^= rng << 13;
                            rng ^= rng >> 7;
                            rng ^= rng << 17;
                            let mut to = (rng % clients as u64) as usize;
                            if to == i {
                                to = (to + 1) % clients;
                            }
                            let t = origin.elapsed().as_micros() as u64;
                            let f = ClientFrame::Send {
                                client_msg_id: format!("{i}-{next_id}"),
                                to: phone(to),
                                body: format!("{t:020}{pad}"),
                                kind: None,
                                sent_at: None,
                            };
                            ws.send(&f).await?;
                            inflight.insert(next_id, Instant::now());
                            next_id += 1;
                        }
                        let frame = match tokio::time::timeout(stop_at - now, ws.next()).await {
                            Ok(f) => f?,
                            Err(_) => break,
                        };
                        let measuring = Instant::now() >= measure_from;
                        match frame {
                            Some(ServerFrame::Ack { client_msg_id, .. }) => {
                                let id: u64 = client_msg_id
                                    .rsplit('-')
                                    .next()
                                    .and_then(|s| s.parse().ok())
                                    .unwrap_or(0);
                                if let Some(t0) = inflight.remove(&id) {
                                    if measuring {
                                        st.acked += 1;
                                        st.ack_us.push(t0.elapsed().as_micros() as u64);
                                    }
                                }
                            }
                            Some(ServerFrame::Message(m)) => {
                                if measuring {
                                    let sent: u64 =
                                        m.body.get(..20).and_then(|s| s.parse().ok()).unwrap_or(0);
                                    st.delivered += 1;
                                    st.deliver_us.push(
                                        (origin.elapsed().as_micros() as u64).saturating_sub(sent),
                                    );
                                }
                            }
                            Some(ServerFrame::SendFailed { error, .. }) => {
                                bail!("send failed: {}", error.code)
                            }
                            Some(_) => {}
                            None => bail!("connection closed"),
                        }
                    }
                    anyhow::Ok((st, ws))
                }));
            }
            let mut total = Stats::default();
            let mut keep = Vec::new();
            for t in tasks {
                let (st, ws) = t.await??;
                total.acked += st.acked;
                total.delivered += st.delivered;
                total.ack_us.extend(st.ack_us);
                total.deliver_us.extend(st.deliver_us);
                keep.push(ws);
            }
            total.ack_us.sort_unstable();
            total.deliver_us.sort_unstable();
            let secs = seconds as f64;
            println!(
                "clients {clients}, window {window}, body {body} B, {seconds} s measured: \
                 {:.0} durable msgs/s acked, {:.0} msgs/s delivered; \
                 send→ack p50 {:.1} ms p99 {:.1} ms; send→delivery p50 {:.1} ms p99 {:.1} ms",
                total.acked as f64 / secs,
                total.delivered as f64 / secs,
                pct(&total.ack_us, 0.5),
                pct(&total.ack_us, 0.99),
                pct(&total.deliver_us, 0.5),
                pct(&total.deliver_us, 0.99),
            );
        }
    }
    Ok(())
}
