//! Presence that tells the truth (issue 12), with the real binary and a real server: the
//! monitor's activity status lasts while the monitor runs and lapses once it stops, and users
//! shown present when the server was killed are offline after its restart.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{free_port, login, ok, ServerProcess};

const ALICE: &str = "+8613800000001";
const BOB: &str = "+8613800000002";

fn book(url: &str, home: &Path, number: &str, name: &str) {
    let file = home.with_extension("vcf");
    std::fs::write(
        &file,
        format!(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:{name}\r\nTEL;TYPE=CELL:{number}\r\nEND:VCARD\r\n"
        ),
    )
    .unwrap();
    ok(url, home, &["contacts", "import", file.to_str().unwrap()]);
}

/// Runs `status show` until its output satisfies `want` (at most 30 s).
fn status_until(url: &str, home: &Path, what: &str, want: impl Fn(&str) -> bool) -> String {
    let t0 = Instant::now();
    loop {
        let out = ok(url, home, &["status", "show"]);
        if want(&out) {
            return out;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "never {what}: {out}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_monitors_activity_status_lasts_while_it_runs_and_lapses_when_it_stops() {
    let dir = tempfile::tempdir().unwrap();
    let srv = ServerProcess::start(&[]);
    let (ha, hb) = (dir.path().join("alice"), dir.path().join("bob"));
    login(&srv, &ha, ALICE, ALICE);
    login(&srv, &hb, BOB, BOB);
    book(&srv.url, &ha, BOB, "Li Lei");
    book(&srv.url, &hb, ALICE, "Han Meimei");
    ok(
        &srv.url,
        &hb,
        &["status", "set", "online", "--text", "back at 3"],
    );

    let events = dir.path().join("events.txt");
    std::fs::write(&events, "lock\n").unwrap();
    let mut monitor = Command::new(support::BIN)
        .args(["--server", &srv.url, "--home"])
        .arg(&hb)
        .args([
            "monitor",
            "--no-processes",
            "--activity-ttl",
            "3",
            "--events-from",
        ])
        .arg(&events)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    status_until(&srv.url, &ha, "shows Away", |s| s.contains("[Away]"));
    // Twice the time to live later it is still there: the running monitor refreshes it.
    std::thread::sleep(Duration::from_secs(6));
    let out = ok(&srv.url, &ha, &["status", "show"]);
    assert!(out.contains("[Away]"), "{out}");

    // The monitor dies without a word: the status lapses; the self-set text stays.
    monitor.kill().unwrap();
    monitor.wait().unwrap();
    let out = status_until(&srv.url, &ha, "lapses", |s| !s.contains("[Away]"));
    assert!(out.contains("Li Lei): offline \"back at 3\""), "{out}");
}

#[test]
fn users_shown_online_when_the_server_was_killed_are_offline_after_its_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let mut srv = ServerProcess::start_in_on(&data, port, &[]);
    let url = srv.url.clone();
    let (ha, hb) = (dir.path().join("alice"), dir.path().join("bob"));
    login(&srv, &ha, ALICE, ALICE);
    login(&srv, &hb, BOB, BOB);
    book(&url, &ha, BOB, "Li Lei");
    book(&url, &hb, ALICE, "Han Meimei");

    // Bob is connected (a WebSocket of his device): Alice sees him online.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let token = rt.block_on(async {
        let store = ringbook_client::ClientStore::open(&hb).await.unwrap();
        store.get("token").await.unwrap().unwrap()
    });
    let ws = rt.block_on(async {
        let client = ringbook_client::Client::new(&url)
            .unwrap()
            .with_token(token);
        let mut ws = client.connect().await.unwrap();
        ws.next().await.unwrap();
        ws
    });
    status_until(&url, &ha, "online", |s| s.contains("Li Lei): online"));

    // The server is killed with Bob still connected, and comes back; Bob does not.
    srv.child.kill().unwrap();
    srv.child.wait().unwrap();
    drop(srv);
    drop(ws);
    let _srv = ServerProcess::start_in_on(&data, port, &[]);
    let out = ok(&url, &ha, &["status", "show"]);
    assert!(out.contains("Li Lei): offline (last seen"), "{out}");
}
