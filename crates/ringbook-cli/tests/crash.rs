//! The `ringbook` binary end to end: the messaging commands (`send`, `inbox`, `history`, `chat`,
//! `block`) against a real `ringbook serve` process, and the crash test of X-3 — SIGKILL the
//! server during a burst of sends, restart it on the same data folder, and check that every
//! acknowledged message is delivered exactly once, in order.

mod support;

use ringbook_client::Client;
use ringbook_proto::ws::{ClientFrame, ServerFrame};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{login, ok, ringbook, ringbook_with_stdin, sdk_login, stderr, stdout, ServerProcess};

/// Starts `ringbook serve` with `data` as its data folder, with the rate limits out of the way.
fn serve(data: &Path) -> ServerProcess {
    ServerProcess::start_in(data, &BURST_ENV)
}

/// The rate limits out of the way: the burst is the point here.
const BURST_ENV: [(&str, &str); 5] = [
    ("RINGBOOK_IDENTITY__CODES_PER_ADDR_PER_HOUR", "100000"),
    ("RINGBOOK_IDENTITY__LOGINS_PER_ADDR_PER_MINUTE", "100000"),
    ("RINGBOOK_MESSAGING__SENDS_PER_SECOND", "100000"),
    ("RINGBOOK_WEBSOCKET__FRAMES_PER_SECOND", "1000000"),
    ("RINGBOOK_WEBSOCKET__FRAMES_BURST", "1000000"),
];

#[tokio::test]
async fn cli_send_inbox_history_chat_and_block() {
    let dir = tempfile::tempdir().unwrap();
    let srv = serve(&dir.path().join("data"));
    let (ha, hb) = (dir.path().join("alice"), dir.path().join("bob"));
    let (a, b) = ("+8613800000001", "+8613800000002");
    login(&srv, &ha, a, a);
    login(&srv, &hb, b, b);

    // Bob is offline: Alice's messages wait for him.
    let out = ok(&srv.url, &ha, &["send", "138 0000 0002", "hello", "bob"]);
    assert!(out.contains("sent to +8613800000002"), "{out}");
    ok(&srv.url, &ha, &["send", b, "second", "--id", "fixed-1"]);
    let again = ok(&srv.url, &ha, &["send", b, "second", "--id", "fixed-1"]);
    assert!(again.contains("already sent"), "{again}");

    let inbox = ok(&srv.url, &hb, &["inbox"]);
    assert!(inbox.contains("+8613800000001: hello bob"), "{inbox}");
    assert!(inbox.contains("2 new messages"), "{inbox}");
    assert!(inbox.find("hello bob").unwrap() < inbox.find("second").unwrap());
    // Marked delivered, remembered: nothing new the second time.
    assert!(ok(&srv.url, &hb, &["inbox"]).contains("no new messages"));
    let hist = ok(&srv.url, &ha, &["history", b]);
    assert!(hist.contains("me: hello bob [delivered]"), "{hist}");
    assert_eq!(hist.matches("second").count(), 1, "{hist}");

    // Chat with piped stdin: Bob answers, the lines are acknowledged, Alice gets them.
    let o = ringbook_with_stdin(&srv.url, &hb, &["chat", a], "hi alice\nhow are you\n");
    let (out, err) = (stdout(&o), stderr(&o));
    assert!(o.status.success(), "{err}");
    assert!(
        out.contains("me: hi alice [sent]") && out.contains("me: how are you [sent]"),
        "{out}"
    );
    let inbox = ok(&srv.url, &ha, &["inbox"]);
    assert!(
        inbox.contains("+8613800000002: hi alice") && inbox.contains("2 new messages"),
        "{inbox}"
    );
    let local = ok(&srv.url, &hb, &["history", a, "--local"]);
    let order: Vec<usize> = ["hello bob", "second", "hi alice", "how are you"]
        .iter()
        .map(|t| local.find(t).unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{local}");

    // Blocking: Alice gets a clear error and a non-zero exit.
    assert!(ok(&srv.url, &hb, &["block", a]).contains("blocked +8613800000001"));
    assert!(ok(&srv.url, &hb, &["blocked"]).contains(a));
    let o = ringbook(&srv.url, &ha, &["send", b, "are you there?"]);
    let err = stderr(&o);
    assert!(!o.status.success());
    assert!(err.contains("blocked_by_recipient"), "{err}");
    ok(&srv.url, &hb, &["unblock", a]);
    ok(&srv.url, &ha, &["send", b, "back again"]);
    // Bad input: one clear line, non-zero exit.
    let o = ringbook(&srv.url, &ha, &["send", "12", "x"]);
    let err = stderr(&o);
    assert!(
        !o.status.success() && err.contains("not a valid mobile number"),
        "{err}"
    );
    let o = ringbook(&srv.url, &ha, &["send", "+8613800000099", "x"]);
    let err = stderr(&o);
    assert!(!o.status.success() && err.contains("not_a_user"), "{err}");
}

#[tokio::test]
async fn sigkill_during_a_burst_loses_no_acked_message_and_duplicates_none() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut srv = serve(&data);
    let (a, b) = ("+8613800000011", "+8613800000012");
    let alice = sdk_login(&srv, a).await;
    let hb = dir.path().join("bob");
    login(&srv, &hb, b, b);

    let acked: Arc<Mutex<HashMap<String, i64>>> = Arc::default();
    let burst = start_burst(&alice, b, acked.clone()).await;
    // Kill once a good part was acknowledged, while sends are still in flight.
    wait_for_acks(&acked, 1500, &burst).await;
    srv.child.kill().unwrap(); // SIGKILL on Unix
    srv.child.wait().unwrap();
    let sent = burst.await.unwrap();
    let acked: HashMap<String, i64> = acked.lock().unwrap().clone();
    assert!(
        acked.len() < sent || sent < BURST,
        "the kill came after the burst: acked {} of {sent}",
        acked.len()
    );
    eprintln!("sent {sent}, acked {} before SIGKILL", acked.len());

    // Restart on the same data folder (sessions are durable, so the tokens still work).
    drop(srv);
    let srv = serve(&data);
    let alice = Client::new(&srv.url)
        .unwrap()
        .with_token(alice.token().unwrap().to_string());
    let numbers = delivered_once_in_order(&ok(&srv.url, &hb, &["inbox"]), &acked);

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
    let inbox = ok(&srv.url, &hb, &["inbox"]);
    assert!(inbox.contains("10 new messages"), "{inbox}");
}

/// Sends in a burst on one connection as fast as possible, recording every ack that arrives;
/// the task returns how many it sent before the connection ended (or all [`BURST`]).
async fn start_burst(
    alice: &Client,
    to: &'static str,
    acks: Arc<Mutex<HashMap<String, i64>>>,
) -> tokio::task::JoinHandle<usize> {
    let mut ws = alice.connect().await.unwrap();
    assert!(matches!(
        ws.next().await.unwrap(),
        Some(ServerFrame::Hello { .. })
    ));
    tokio::spawn(async move {
        let mut sent = 0;
        loop {
            // Sends go out in runs of 100, so many are in flight when the server goes.
            for _ in 0..100 {
                if sent >= BURST {
                    break;
                }
                let f = ClientFrame::Send {
                    client_msg_id: format!("b{sent:06}"),
                    to: to.into(),
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
                let wait = Duration::from_millis(if sent < BURST { 0 } else { 2000 });
                match tokio::time::timeout(wait, ws.next()).await {
                    Ok(Ok(Some(ServerFrame::Ack {
                        client_msg_id, id, ..
                    }))) => {
                        acks.lock().unwrap().insert(client_msg_id, id);
                    }
                    Ok(Ok(Some(ServerFrame::Closing { .. }))) => {}
                    Ok(Ok(Some(other))) => panic!("unexpected frame during the burst: {other:?}"),
                    Ok(Ok(None)) | Ok(Err(_)) => return sent,
                    Err(_) => break,
                }
            }
        }
    })
}

const BURST: usize = 20_000;

/// Waits (bounded) until `n` sends of the burst were acknowledged.
async fn wait_for_acks(
    acked: &Mutex<HashMap<String, i64>>,
    n: usize,
    burst: &tokio::task::JoinHandle<usize>,
) {
    let start = Instant::now();
    while acked.lock().unwrap().len() < n {
        assert!(
            start.elapsed() < Duration::from_secs(60) && !burst.is_finished(),
            "no acks came"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// The burst numbers in an inbox: each at most once, every acked one there, in send order
/// (a prefix of the burst, as one connection's sends are stored in order).
fn delivered_once_in_order(inbox: &str, acked: &HashMap<String, i64>) -> Vec<usize> {
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
    assert_eq!(numbers, (0..numbers.len()).collect::<Vec<_>>());
    numbers
}

#[tokio::test]
async fn sigterm_during_a_burst_stores_every_acked_message_and_every_worker_ends_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("server.log");
    let mut srv = ServerProcess::start_in_logging(&data, &BURST_ENV, &log);
    let (a, b) = ("+8613800000021", "+8613800000022");
    let alice = sdk_login(&srv, a).await;
    let hb = dir.path().join("bob");
    login(&srv, &hb, b, b);

    let acked: Arc<Mutex<HashMap<String, i64>>> = Arc::default();
    let burst = start_burst(&alice, b, acked.clone()).await;
    wait_for_acks(&acked, 1500, &burst).await;
    let term = std::process::Command::new("kill")
        .args(["-TERM", &srv.child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    // A clean stop, bounded: the drain and the workers' deadline are well inside this.
    let start = Instant::now();
    let status = loop {
        if let Some(status) = srv.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the server did not stop"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let sent = burst.await.unwrap();
    let acked: HashMap<String, i64> = acked.lock().unwrap().clone();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "exit {status:?}; log:\n{text}");
    assert!(text.contains("shutting down"), "{text}");
    assert!(
        !text.contains("did not stop in time") && !text.contains("aborting them"),
        "a worker was cut off:\n{text}"
    );
    assert!(
        acked.len() < sent || sent < BURST,
        "the stop came after the burst: acked {} of {sent}",
        acked.len()
    );

    drop(srv);
    let srv = serve(&data);
    let numbers = delivered_once_in_order(&ok(&srv.url, &hb, &["inbox"]), &acked);
    assert!(numbers.len() >= acked.len());
}
