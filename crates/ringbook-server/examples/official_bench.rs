//! Benchmark of official-account pushes (OA-3): `--followers` followers each send `--messages`
//! messages to one developer-mode account as fast as the HTTP API takes them; a local developer
//! server receives the pushes. Prints the accepted-message rate, the push rate, the latency from
//! a follower's send to the push reaching the developer (p50/p99), and checks per-follower order.
//!
//! The server runs in this process on SQLite in a temporary folder, with its default push
//! settings except `allow_private_callbacks` (the developer server is on loopback).
//! Run: `cargo run --release -p ringbook-server --example official_bench -- --followers 1000 --messages 5`.

use axum::extract::{Query, State};
use axum::routing::any;
use ringbook_client::Client;
use ringbook_proto::api::{LoginRequest, Proof};
use ringbook_proto::DeviceIdentity;
use ringbook_server::config::Config;
use ringbook_server::state::App;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "support/args.rs"]
mod args;
use args::arg;

/// What the developer server saw: for each push, its content and when it arrived.
#[derive(Default)]
struct Developer {
    arrivals: Mutex<Vec<(String, Instant)>>,
}

async fn callback(
    State(dev): State<Arc<Developer>>,
    Query(q): Query<HashMap<String, String>>,
    body: String,
) -> String {
    if let Some(echo) = q.get("echostr") {
        return echo.clone();
    }
    let content = body
        .split("<Content><![CDATA[")
        .nth(1)
        .and_then(|rest| rest.split("]]>").next())
        .unwrap_or_default()
        .to_string();
    if let Ok(mut a) = dev.arrivals.lock() {
        a.push((content, Instant::now()));
    }
    "success".into()
}

fn device(i: usize) -> DeviceIdentity {
    DeviceIdentity {
        device_id: format!("oa-bench-device-{i}"),
        imei: None,
        iccid: None,
        imsi: None,
        label: None,
    }
}

async fn login(url: &str, i: usize) -> anyhow::Result<Client> {
    let c = Client::new(url)?;
    let resp = c
        .login(&LoginRequest {
            phone: Some(format!("+86139{i:08}")),
            device: device(i),
            proof: Proof::Declared,
            rescue_password: None,
            move_account: false,
        })
        .await?;
    Ok(c.with_token(resp.token))
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let followers = arg("--followers", 1000);
    let messages = arg("--messages", 5);
    let dir = std::env::temp_dir().join(format!("ringbook-oa-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut cfg = Config {
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.clone(),
        ..Config::default()
    };
    cfg.identity.declared_number = true;
    cfg.identity.logins_per_addr_per_minute = 1_000_000;
    cfg.official.allow_private_callbacks = true;
    let state = App::build(cfg).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(ringbook_server::run(listener, state.clone(), async move {
        let _ = stopped.await;
    }));

    let dev = Arc::new(Developer::default());
    let app = axum::Router::new()
        .route("/callback", any(callback))
        .with_state(dev.clone());
    let dev_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let dev_url = format!("http://{}/callback", dev_listener.local_addr()?);
    tokio::spawn(async move { axum::serve(dev_listener, app).await });

    let owner = login(&url, 0).await?;
    owner.oa_create("bench", "password1").await?;
    owner.oa_set_callback("bench", &dev_url, "tok3n").await?;

    let t = Instant::now();
    let mut fans = Vec::with_capacity(followers);
    for i in 1..=followers {
        let c = login(&url, i).await?;
        c.oa_follow("bench").await?;
        fans.push(c);
    }
    println!(
        "official bench: {followers} followers logged in and following in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    // Wait for the follow events to be pushed, then measure messages only.
    while dev.arrivals.lock().map(|a| a.len()).unwrap_or(0) < followers {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if let Ok(mut a) = dev.arrivals.lock() {
        a.clear();
    }

    let sent_at: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for (i, fan) in fans.into_iter().enumerate() {
        let sent_at = sent_at.clone();
        tasks.push(tokio::spawn(async move {
            for k in 0..messages {
                let content = format!("{i}:{k}");
                if let Ok(mut s) = sent_at.lock() {
                    s.insert(content.clone(), Instant::now());
                }
                fan.oa_send("bench", "text", &content).await?;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let accepted = t0.elapsed();
    let total = followers * messages;
    let deadline = Instant::now() + Duration::from_secs(600);
    while dev.arrivals.lock().map(|a| a.len()).unwrap_or(0) < total {
        anyhow::ensure!(Instant::now() < deadline, "pushes did not all arrive");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let drained = t0.elapsed();

    let arrivals = dev
        .arrivals
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .clone();
    let sent = sent_at
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .clone();
    let mut latencies: Vec<Duration> = arrivals
        .iter()
        .filter_map(|(c, at)| sent.get(c).map(|s| at.duration_since(*s)))
        .collect();
    latencies.sort();
    // Per-follower order: each follower's k must arrive increasing.
    let mut last: HashMap<&str, usize> = HashMap::new();
    let mut out_of_order = 0;
    for (c, _) in &arrivals {
        let Some((who, k)) = c.split_once(':') else {
            continue;
        };
        let k: usize = k.parse().unwrap_or(0);
        if let Some(prev) = last.insert(who, k) {
            if k < prev {
                out_of_order += 1;
            }
        }
    }
    println!(
        "{total} messages: accepted in {:.2} s ({:.0}/s); all pushed in {:.2} s ({:.0} pushes/s); \
         send→push p50 {:.1} ms, p99 {:.1} ms; out of order per follower: {out_of_order}",
        accepted.as_secs_f64(),
        total as f64 / accepted.as_secs_f64(),
        drained.as_secs_f64(),
        total as f64 / drained.as_secs_f64(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
    );
    let _ = stop.send(());
    let _ = server.await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
