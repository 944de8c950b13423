//! Identity benchmark: server cold start and login throughput, against the real `ringbook`
//! binary on loopback with its embedded SQLite. Prints figures; asserts nothing about speed.
//!
//! Run: `cargo bench -p ringbook-cli --bench identity` (optionally `-- CONCURRENCY TOTAL`).
#![allow(clippy::unwrap_used)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `ringbook serve` on a fresh data folder; returns once `/healthz` answers, with the time
/// that took.
async fn start(http: &reqwest::Client) -> (Server, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let t0 = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_ringbook"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir.path())
        .env("RINGBOOK_IDENTITY__DECLARED_NUMBER", "true")
        .env("RINGBOOK_IDENTITY__LOGINS_PER_ADDR_PER_MINUTE", "100000000")
        .env("RINGBOOK_IDENTITY__CODES_PER_ADDR_PER_HOUR", "100000000")
        .env("RINGBOOK_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    loop {
        if let Ok(r) = http.get(format!("{url}/healthz")).send().await {
            if r.status().is_success() {
                break;
            }
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    (
        Server {
            child,
            url,
            _dir: dir,
        },
        t0.elapsed(),
    )
}

fn login_body(n: u64, device: &str) -> serde_json::Value {
    serde_json::json!({
        "phone": format!("+86139{:08}", n),
        "device": {"device_id": device},
        "proof": {"method": "declared"}
    })
}

async fn run_logins(
    http: &reqwest::Client,
    url: &str,
    concurrency: u64,
    total: u64,
    offset: u64,
) -> (Duration, Vec<Duration>) {
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let http = http.clone();
        let url = format!("{url}/v1/auth/login");
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = w;
            while i < total {
                let t = Instant::now();
                let resp = http
                    .post(&url)
                    .json(&login_body(
                        offset + i,
                        &format!("bench-device-{}", offset + i),
                    ))
                    .send()
                    .await
                    .unwrap();
                assert!(
                    resp.status().is_success(),
                    "{}",
                    resp.text().await.unwrap_or_default()
                );
                lat.push(t.elapsed());
                i += concurrency;
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    (t0.elapsed(), all)
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p) as usize]
}

#[tokio::main]
async fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let concurrency = args.first().copied().unwrap_or(32);
    let total = args.get(1).copied().unwrap_or(5000);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency as usize)
        .build()
        .unwrap();

    let mut starts = Vec::new();
    for _ in 0..5 {
        let (server, took) = start(&http).await;
        starts.push(took);
        drop(server);
    }
    starts.sort();
    println!("cold start (spawn → /healthz answers, fresh SQLite, 5 runs): median {:?}, min {:?}, max {:?}", starts[2], starts[0], starts[4]);

    let (server, _) = start(&http).await;
    // Registrations: every login creates a user, a session and a login record.
    let (took, mut lat) = run_logins(&http, &server.url, concurrency, total, 0).await;
    lat.sort();
    println!(
        "registering logins: {total} in {took:?} = {:.0}/s, concurrency {concurrency}, p50 {:?}, p99 {:?}",
        total as f64 / took.as_secs_f64(), pct(&lat, 0.5), pct(&lat, 0.99)
    );
    // Returning users on the same device: the PB-5 same-device branch.
    let (took, mut lat) = run_logins(&http, &server.url, concurrency, total, 0).await;
    lat.sort();
    println!(
        "returning logins:   {total} in {took:?} = {:.0}/s, concurrency {concurrency}, p50 {:?}, p99 {:?}",
        total as f64 / took.as_secs_f64(), pct(&lat, 0.5), pct(&lat, 0.99)
    );
}
