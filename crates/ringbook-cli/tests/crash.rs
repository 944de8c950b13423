//! The `ringbook` binary end to end: the messaging commands (`send`, `inbox`, `history`, `chat`,
//! `block`) against a real `ringbook serve` process, and the crash test of X-3 — SIGKILL the
//! server during a burst of sends, restart it on the same data folder, and check that every
//! acknowledged message is delivered exactly once, in order.

use ringbook_client::Client;
use ringbook_proto::api::{LoginRequest, Proof};
use ringbook_proto::ws::{ClientFrame, ServerFrame};
use ringbook_proto::DeviceIdentity;
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_ringbook");

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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `ringbook serve` on a free port with `data` as its data folder; waits for /healthz.
async fn serve(data: &Path) -> Server {
    let port = free_port();
    let child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(data)
        .env("RINGBOOK_LOG", "warn")
        .env("RINGBOOK_IDENTITY__CODES_PER_ADDR_PER_HOUR", "100000")
        .env("RINGBOOK_IDENTITY__LOGINS_PER_ADDR_PER_MINUTE", "100000")
        .env("RINGBOOK_MESSAGING__SENDS_PER_SECOND", "100000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let start = Instant::now();
    loop {
        if let Ok(r) = http.get(format!("{url}/healthz")).send().await {
            if r.status().is_success() {
                break;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "server did not come up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Server {
        child,
        url,
        data: data.to_path_buf(),
    }
}

fn last_code(data: &Path, e164: &str) -> String {
    let text = std::fs::read_to_string(data.join("sms-outbox.jsonl")).unwrap();
    let sms: serde_json::Value = text
        .lines()
        .rev()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|m| m["to"] == e164 && m["kind"] == "verification_code")
        .unwrap();
    sms["text"]
        .as_str()
        .unwrap()
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap()
        .to_string()
}

/// Runs the CLI with a home folder; returns (success, stdout, stderr).
fn cli(srv: &Server, home: &Path, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut child = Command::new(BIN)
        .arg("--server")
        .arg(&srv.url)
        .arg("--home")
        .arg(home)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn cli_ok(srv: &Server, home: &Path, args: &[&str]) -> String {
    let (ok, out, err) = cli(srv, home, args, None);
    assert!(ok, "ringbook {args:?} failed: {err}");
    out
}

/// Logs a home in through the CLI (asks for the code, reads it from the SMS outbox).
fn cli_login(srv: &Server, home: &Path, phone: &str) {
    cli(srv, home, &["login", "--phone", phone], None);
    let code = last_code(&srv.data, phone);
    cli_ok(srv, home, &["login", "--phone", phone, "--code", &code]);
}

async fn sdk_login(srv: &Server, phone: &str) -> Client {
    let c = Client::new(&srv.url).unwrap();
    c.request_code(phone).await.unwrap();
    let device = DeviceIdentity {
        device_id: format!("crash-{}", phone.trim_start_matches('+')),
        imei: None,
        iccid: None,
        imsi: None,
        label: None,
    };
    let resp = c
        .login(&LoginRequest {
            phone: Some(phone.into()),
            device,
            proof: Proof::SmsCode {
                code: last_code(&srv.data, phone),
            },
            rescue_password: None,
            move_account: false,
        })
        .await
        .unwrap();
    c.with_token(resp.token)
}

#[tokio::test]
async fn cli_send_inbox_history_chat_and_block() {
    let dir = tempfile::tempdir().unwrap();
    let srv = serve(&dir.path().join("data")).await;
    let (ha, hb) = (dir.path().join("alice"), dir.path().join("bob"));
    let (a, b) = ("+8613800000001", "+8613800000002");
    cli_login(&srv, &ha, a);
    cli_login(&srv, &hb, b);

    // Bob is offline: Alice's messages wait for him.
    let out = cli_ok(&srv, &ha, &["send", "138 0000 0002", "hello", "bob"]);
    assert!(out.contains("sent to +8613800000002"), "{out}");
    cli_ok(&srv, &ha, &["send", b, "second", "--id", "fixed-1"]);
    let again = cli_ok(&srv, &ha, &["send", b, "second", "--id", "fixed-1"]);
    assert!(again.contains("already sent"), "{again}");

    let inbox = cli_ok(&srv, &hb, &["inbox"]);
    assert!(inbox.contains("+8613800000001: hello bob"), "{inbox}");
    assert!(inbox.contains("2 new messages"), "{inbox}");
    assert!(inbox.find("hello bob").unwrap() < inbox.find("second").unwrap());
    // Marked delivered, remembered: nothing new the second time.
    assert!(cli_ok(&srv, &hb, &["inbox"]).contains("no new messages"));
    let hist = cli_ok(&srv, &ha, &["history", b]);
    assert!(hist.contains("me: hello bob [delivered]"), "{hist}");
    assert_eq!(hist.matches("second").count(), 1, "{hist}");

    // Chat with piped stdin: Bob answers, the lines are acknowledged, Alice gets them.
    let (ok, out, err) = cli(&srv, &hb, &["chat", a], Some("hi alice\nhow are you\n"));
    assert!(ok, "{err}");
    assert!(
        out.contains("me: hi alice [sent]") && out.contains("me: how are you [sent]"),
        "{out}"
    );
    let inbox = cli_ok(&srv, &ha, &["inbox"]);
    assert!(
        inbox.contains("+8613800000002: hi alice") && inbox.contains("2 new messages"),
        "{inbox}"
    );
    let local = cli_ok(&srv, &hb, &["history", a, "--local"]);
    let order: Vec<usize> = ["hello bob", "second", "hi alice", "how are you"]
        .iter()
        .map(|t| local.find(t).unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{local}");

    // Blocking: Alice gets a clear error and a non-zero exit.
    assert!(cli_ok(&srv, &hb, &["block", a]).contains("blocked +8613800000001"));
    assert!(cli_ok(&srv, &hb, &["blocked"]).contains(a));
    let (ok, _, err) = cli(&srv, &ha, &["send", b, "are you there?"], None);
    assert!(!ok);
    assert!(err.contains("blocked_by_recipient"), "{err}");
    cli_ok(&srv, &hb, &["unblock", a]);
    cli_ok(&srv, &ha, &["send", b, "back again"]);
    // Bad input: one clear line, non-zero exit.
    let (ok, _, err) = cli(&srv, &ha, &["send", "12", "x"], None);
    assert!(!ok && err.contains("not a valid mobile number"), "{err}");
    let (ok, _, err) = cli(&srv, &ha, &["send", "+8613800000099", "x"], None);
    assert!(!ok && err.contains("not_a_user"), "{err}");
}

#[tokio::test]
async fn sigkill_during_a_burst_loses_no_acked_message_and_duplicates_none() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut srv = serve(&data).await;
    let (a, b) = ("+8613800000011", "+8613800000012");
    let alice = sdk_login(&srv, a).await;
    let hb = dir.path().join("bob");
    cli_login(&srv, &hb, b);

    // Burst on one connection: send as fast as possible, record every ack that arrives.
    let mut ws = alice.connect().await.unwrap();
    assert!(matches!(
        ws.next().await.unwrap(),
        Some(ServerFrame::Hello { .. })
    ));
    let acked: Arc<Mutex<HashMap<String, i64>>> = Arc::default();
    const N: usize = 20_000;
    let acks = acked.clone();
    let burst = tokio::spawn(async move {
        let mut sent = 0;
        loop {
            // Sends go out in runs of 100, so many are in flight when the kill comes.
            for _ in 0..100 {
                if sent >= N {
                    break;
                }
                let f = ClientFrame::Send {
                    client_msg_id: format!("b{sent:06}"),
                    to: b.into(),
                    body: format!("burst {sent}"),
                    kind: None,
                    sent_at: None,
                };
                if ws.send(&f).await.is_err() {
                    return sent;
                }
                sent += 1;
            }
            // Take the acks that are ready without holding up the burst.
            loop {
                let wait = Duration::from_millis(if sent < N { 0 } else { 2000 });
                match tokio::time::timeout(wait, ws.next()).await {
                    Ok(Ok(Some(ServerFrame::Ack {
                        client_msg_id, id, ..
                    }))) => {
                        acks.lock().unwrap().insert(client_msg_id, id);
                    }
                    Ok(Ok(Some(other))) => panic!("unexpected frame during the burst: {other:?}"),
                    Ok(Ok(None)) | Ok(Err(_)) => return sent,
                    Err(_) => break,
                }
            }
        }
    });
    // Kill once a good part was acknowledged, while sends are still in flight.
    let start = Instant::now();
    while acked.lock().unwrap().len() < 1500 {
        assert!(
            start.elapsed() < Duration::from_secs(60) && !burst.is_finished(),
            "no acks came"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    srv.child.kill().unwrap(); // SIGKILL on Unix
    srv.child.wait().unwrap();
    let sent = burst.await.unwrap();
    let acked: HashMap<String, i64> = acked.lock().unwrap().clone();
    assert!(
        acked.len() < sent || sent < N,
        "the kill came after the burst: acked {} of {sent}",
        acked.len()
    );
    eprintln!("sent {sent}, acked {} before SIGKILL", acked.len());

    // Restart on the same data folder (sessions are durable, so the tokens still work).
    drop(srv);
    let srv = serve(&data).await;
    let alice = Client::new(&srv.url)
        .unwrap()
        .with_token(alice.token().unwrap().to_string());
    let inbox = cli_ok(&srv, &hb, &["inbox"]);
    let numbers: Vec<usize> = inbox
        .lines()
        .filter(|l| l.contains(": burst "))
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    let delivered: HashSet<usize> = numbers.iter().copied().collect();
    assert_eq!(
        delivered.len(),
        numbers.len(),
        "a message was delivered twice"
    );
    for cid in acked.keys() {
        let n: usize = cid[1..].parse().unwrap();
        assert!(delivered.contains(&n), "acked message {cid} was lost");
    }
    // In order, and a prefix of the burst: one connection's sends are stored in send order.
    assert_eq!(numbers, (0..numbers.len()).collect::<Vec<_>>());

    // The client retrying everything after the crash stores nothing twice.
    let mut ws = alice.connect().await.unwrap();
    ws.next().await.unwrap();
    for n in 0..numbers.len() + 10 {
        let cid = format!("b{n:06}");
        match ws
            .send_and_wait(&cid, b, &format!("burst {n}"), |_| {})
            .await
            .unwrap()
        {
            ringbook_client::messaging::SendOutcome::Acked { id, duplicate, .. } => {
                assert_eq!(duplicate, n < numbers.len(), "{cid}");
                if let Some(&first) = acked.get(&cid) {
                    assert_eq!(id, first, "{cid} acked with another ID");
                }
            }
            other => panic!("{other:?}"),
        }
    }
    let inbox = cli_ok(&srv, &hb, &["inbox"]);
    assert!(inbox.contains("10 new messages"), "{inbox}");
}
