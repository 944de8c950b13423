//! Abuse benchmark (issue 11): runs one attack against a real server in its own process and
//! measures what a normal user sees meanwhile — HTTP p50/p99 (`GET /v1/me`), WebSocket
//! send→ack p50/p99 — and the server's peak memory (VmHWM).
//!
//! Attacks (`--attack`):
//! - `none`: the baseline.
//! - `conns`: `--conns` (default 19,000) idle TCP connections from 127.0.0.2, reopened as the
//!   server closes them.
//! - `receipts`: `--clients` (default 8) users each flooding `read` frames of 1,000 IDs.
//! - `syncs`: `--clients` users with 2,000 messages each flooding `sync {after_seq: 0}`.
//! - `passwords`: `--clients` users each keeping 40 `PUT /v1/me/rescue-password` in flight (an
//!   argon2 hash at 19 MiB each, unless refused as busy or rate-limited first).
//! - `avatars`: `--clients` users uploading a 6300×6300 16-bit PNG (under the pixel limit) in
//!   a loop, plus one user uploading a 12 MP photo.
//!
//! The server is this example run with `--serve` (so a release build measures a release
//! server), on SQLite in a temporary folder, default limits except that logins by declared
//! number are on. Run:
//! `cargo run --release -p ringbook-server --example abuse_bench -- --attack receipts --secs 10`.

use futures_util::{SinkExt, StreamExt};
use ringbook_client::Client;
use ringbook_proto::api::{LoginRequest, Proof};
use ringbook_proto::messaging::SendRequest;
use ringbook_proto::ws::{ClientFrame, ServerFrame};
use ringbook_proto::DeviceIdentity;
use ringbook_server::config::Config;
use ringbook_server::state::App;
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, SocketAddr};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

#[path = "support/args.rs"]
mod args;
use args::arg;

fn main() -> anyhow::Result<()> {
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let rt = tokio::runtime::Runtime::new()?;
    if std::env::args().any(|a| a == "--serve") {
        rt.block_on(serve())
    } else {
        rt.block_on(drive())
    }
}

/// The server process: prints its address, serves until stdin closes.
async fn serve() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("ringbook-abuse-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut cfg = Config {
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.clone(),
        ..Config::default()
    };
    cfg.identity.declared_number = true;
    cfg.identity.logins_per_addr_per_minute = 1_000_000;
    cfg.messaging.sends_per_second = 100_000;
    let state = App::build(cfg).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("LISTENING {}", listener.local_addr()?);
    std::io::stdout().flush()?;
    let stop = async {
        // Ends when the driver closes our stdin (or dies).
        let _ = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
        })
        .await;
    };
    ringbook_server::run(listener, state, stop).await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn device(i: u32) -> DeviceIdentity {
    DeviceIdentity {
        device_id: format!("abuse-bench-{i}"),
        imei: None,
        iccid: None,
        imsi: None,
        label: None,
    }
}

fn number(i: u32) -> String {
    format!("+86137{i:08}")
}

async fn login(url: &str, i: u32) -> anyhow::Result<(Client, String)> {
    let c = Client::new(url)?;
    let resp = c
        .login(&LoginRequest {
            phone: Some(number(i)),
            device: device(i),
            proof: Proof::Declared,
            rescue_password: None,
            move_account: false,
        })
        .await?;
    Ok((c.with_token(resp.token.clone()), resp.token))
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn peak_rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

async fn drive() -> anyhow::Result<()> {
    let attack: String = arg("--attack", "none".to_string());
    let secs: u64 = arg("--secs", 10);
    let clients: u32 = arg("--clients", 8);
    let conns: usize = arg("--conns", 19_000);

    let mut child = Command::new(std::env::current_exe()?)
        .arg("--serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let pid = child.id();
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let addr: SocketAddr = line
        .trim()
        .strip_prefix("LISTENING ")
        .ok_or_else(|| anyhow::anyhow!("server said {line:?}"))?
        .parse()?;
    let url = format!("http://{addr}");

    // The normal user and a friend, logged in before the attack.
    let (user, _) = login(&url, 1).await?;
    let (_friend, _) = login(&url, 2).await?;
    let mut ws = user.connect().await?;

    let running = Arc::new(AtomicBool::new(true));
    let counter = Arc::new(AtomicU64::new(0));
    let attack_task = {
        let running = running.clone();
        let counter = counter.clone();
        let url = url.clone();
        let attack = attack.clone();
        tokio::spawn(async move {
            match attack.as_str() {
                "conns" => attack_conns(addr, conns, running, counter).await,
                "receipts" => attack_receipts(&url, addr, clients, running, counter).await,
                "syncs" => attack_syncs(&url, addr, clients, running, counter).await,
                "avatars" => attack_avatars(&url, clients, running, counter).await,
                "passwords" => attack_passwords(&url, clients, running, counter).await,
                _ => Ok(()),
            }
        })
    };
    // Wait until the attack is under way (its set-up — users, messages, pictures — is not
    // measured), then let it build up.
    let armed = Instant::now();
    while attack != "none"
        && counter.load(Ordering::Relaxed) == 0
        && armed.elapsed() < Duration::from_secs(600)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;

    let mut http = Vec::new();
    let mut acks = Vec::new();
    let mut http_errors = 0u64;
    let mut ack_errors = 0u64;
    let end = Instant::now() + Duration::from_secs(secs);
    let mut i = 0u64;
    while Instant::now() < end {
        let t = Instant::now();
        match tokio::time::timeout(Duration::from_secs(10), user.me()).await {
            Ok(Ok(_)) => http.push(t.elapsed()),
            _ => http_errors += 1,
        }
        i += 1;
        let t = Instant::now();
        let sent = ws
            .send(&ClientFrame::Send {
                client_msg_id: format!("bench-{i}"),
                to: number(2),
                body: "ping".into(),
                kind: None,
                sent_at: None,
            })
            .await;
        let acked = sent.is_ok()
            && tokio::time::timeout(Duration::from_secs(10), async {
                loop {
                    match ws.next().await {
                        Ok(Some(ServerFrame::Ack { .. })) => return true,
                        Ok(Some(_)) => continue,
                        _ => return false,
                    }
                }
            })
            .await
            .unwrap_or(false);
        if acked {
            acks.push(t.elapsed());
        } else {
            ack_errors += 1;
            ws = user.connect().await?;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    running.store(false, Ordering::Relaxed);
    let rss = peak_rss_mib(pid);
    http.sort();
    acks.sort();
    println!(
        "abuse bench: attack={attack} secs={secs} attack_ops={} | normal user: HTTP p50 {:.1} ms p99 {:.1} ms ({} ok, {} failed); send→ack p50 {:.1} ms p99 {:.1} ms ({} ok, {} failed) | server peak RSS {:.0} MiB",
        counter.load(Ordering::Relaxed),
        percentile(&http, 0.5),
        percentile(&http, 0.99),
        http.len(),
        http_errors,
        percentile(&acks, 0.5),
        percentile(&acks, 0.99),
        acks.len(),
        ack_errors,
        rss
    );
    attack_task.abort();
    drop(child.stdin.take());
    let _ = child.wait();
    Ok(())
}

/// Holds `n` idle connections from 127.0.0.2, reopening those the server closes.
async fn attack_conns(
    addr: SocketAddr,
    n: usize,
    running: Arc<AtomicBool>,
    opened: Arc<AtomicU64>,
) -> anyhow::Result<()> {
    let from: IpAddr = "127.0.0.2".parse()?;
    let workers = 200;
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let running = running.clone();
        let opened = opened.clone();
        tasks.push(tokio::spawn(async move {
            let mut held = Vec::new();
            while running.load(Ordering::Relaxed) {
                held.retain(|s: &tokio::net::TcpStream| {
                    // Still open and silent: reading would block.
                    let mut b = [0u8; 1];
                    matches!(s.try_read(&mut b), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
                });
                while held.len() < n / workers && running.load(Ordering::Relaxed) {
                    let Ok(socket) = tokio::net::TcpSocket::new_v4() else {
                        break;
                    };
                    if socket.bind(SocketAddr::new(from, 0)).is_err() {
                        break;
                    }
                    match socket.connect(addr).await {
                        Ok(s) => {
                            opened.fetch_add(1, Ordering::Relaxed);
                            held.push(s);
                        }
                        Err(_) => break,
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    Ok(())
}

async fn raw_ws(
    addr: SocketAddr,
    token: &str,
) -> anyhow::Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
> {
    let mut req = format!("ws://{addr}/v1/ws").into_client_request()?;
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse()?);
    Ok(tokio_tungstenite::connect_async(req).await?.0)
}

/// Floods `frame` on a connection as fast as the socket takes it, reconnecting when closed.
async fn flood(
    addr: SocketAddr,
    token: String,
    frame: ClientFrame,
    running: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
) {
    let text = serde_json::to_string(&frame).unwrap_or_default();
    while running.load(Ordering::Relaxed) {
        let Ok(ws) = raw_ws(addr, &token).await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let (mut tx, mut rx) = ws.split();
        let reader = tokio::spawn(async move { while let Some(Ok(_)) = rx.next().await {} });
        while running.load(Ordering::Relaxed) {
            if tx.send(Message::Text(text.clone().into())).await.is_err() {
                break;
            }
            sent.fetch_add(1, Ordering::Relaxed);
            if reader.is_finished() {
                break;
            }
        }
        reader.abort();
    }
}

async fn attack_passwords(
    url: &str,
    clients: u32,
    running: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let mut tasks = Vec::new();
    for i in 0..clients {
        let (_, token) = login(url, 300 + i).await?;
        for _ in 0..40 {
            let (http, token, running, sent) =
                (http.clone(), token.clone(), running.clone(), sent.clone());
            let endpoint = format!("{url}/v1/me/rescue-password");
            tasks.push(tokio::spawn(async move {
                while running.load(Ordering::Relaxed) {
                    let _ = http
                        .put(&endpoint)
                        .bearer_auth(&token)
                        .json(&serde_json::json!({
                            "password": "correct horse battery staple",
                            "current_password": "correct horse battery staple",
                        }))
                        .send()
                        .await;
                    sent.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
    }
    for t in tasks {
        let _ = t.await;
    }
    Ok(())
}

async fn attack_receipts(
    url: &str,
    addr: SocketAddr,
    clients: u32,
    running: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
) -> anyhow::Result<()> {
    let ids: Vec<i64> = (1..=1000).collect();
    let mut tasks = Vec::new();
    for i in 0..clients {
        let (_, token) = login(url, 100 + i).await?;
        tasks.push(tokio::spawn(flood(
            addr,
            token,
            ClientFrame::Read { ids: ids.clone() },
            running.clone(),
            sent.clone(),
        )));
    }
    for t in tasks {
        let _ = t.await;
    }
    Ok(())
}

async fn attack_syncs(
    url: &str,
    addr: SocketAddr,
    clients: u32,
    running: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
) -> anyhow::Result<()> {
    let (feeder, _) = login(url, 99).await?;
    let mut tasks = Vec::new();
    for i in 0..clients {
        let (_, token) = login(url, 200 + i).await?;
        for j in 0..2000 {
            feeder
                .send_message(&SendRequest {
                    client_msg_id: format!("feed-{i}-{j}"),
                    to: number(200 + i),
                    body: "history to sync again and again".into(),
                    kind: None,
                    sent_at: None,
                })
                .await?;
        }
        tasks.push(tokio::spawn(flood(
            addr,
            token,
            ClientFrame::Sync { after_seq: 0 },
            running.clone(),
            sent.clone(),
        )));
    }
    for t in tasks {
        let _ = t.await;
    }
    Ok(())
}

fn png16(w: u32, h: u32) -> Vec<u8> {
    let img = image::ImageBuffer::<image::Rgb<u16>, Vec<u16>>::from_fn(w, h, |x, y| {
        image::Rgb([(x * 13) as u16, (y * 7) as u16, 40_000])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    let _ = img.write_to(&mut out, image::ImageFormat::Png);
    out.into_inner()
}

fn photo_12mp() -> Vec<u8> {
    let img = image::RgbImage::from_fn(4000, 3000, |x, y| {
        image::Rgb([(x % 251) as u8, (y % 241) as u8, ((x ^ y) % 239) as u8])
    });
    let mut out = Vec::new();
    let _ = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90).encode_image(&img);
    out
}

async fn attack_avatars(
    url: &str,
    clients: u32,
    running: Arc<AtomicBool>,
    uploads: Arc<AtomicU64>,
) -> anyhow::Result<()> {
    let bomb = Arc::new(tokio::task::spawn_blocking(|| png16(6300, 6300)).await?);
    let photo = Arc::new(tokio::task::spawn_blocking(photo_12mp).await?);
    println!(
        "avatars: 16-bit PNG {} KB, 12 MP JPEG {} KB",
        bomb.len() / 1024,
        photo.len() / 1024
    );
    let mut tasks = Vec::new();
    for i in 0..=clients {
        let (c, _) = login(url, 300 + i).await?;
        let picture = if i == 0 { photo.clone() } else { bomb.clone() };
        let running = running.clone();
        let uploads = uploads.clone();
        tasks.push(tokio::spawn(async move {
            while running.load(Ordering::Relaxed) {
                uploads.fetch_add(1, Ordering::Relaxed);
                let _ = c.set_avatar(picture.to_vec()).await;
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    Ok(())
}
