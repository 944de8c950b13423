//! Official accounts end to end (OA-3 … OA-5) with the platform (`ringbook serve`) and the
//! third-party resolver (`ringbook thirdparty serve`) as real processes, driven by the `ringbook`
//! CLI (owner and a follower) and the client SDK (more followers).
// Test helpers panic on purpose: a failed set-up step is a failed test.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::{free_port, login, ok, ringbook, sdk_login, ServerProcess, BIN};

const TOKEN: &str = "tok3n";

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn wait_http(url: &str) {
    let http = reqwest::Client::new();
    for _ in 0..400 {
        if let Ok(r) = http.get(url).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{url} never answered");
}

fn start_resolver(config: &Path, port: u16) -> Proc {
    Proc(
        Command::new(BIN)
            .args(["thirdparty", "serve", "--config"])
            .arg(config)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

async fn resolver_messages(base: &str) -> Vec<Value> {
    // Empty while the resolver is (re)starting.
    let Ok(resp) = reqwest::get(format!("{base}/messages.json")).await else {
        return Vec::new();
    };
    let v: Value = resp.json().await.unwrap();
    v.as_array().unwrap().clone()
}

/// Waits until the resolver shows a message matching `pred` in a final state.
async fn wait_resolved(base: &str, pred: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..600 {
        if let Some(m) = resolver_messages(base)
            .await
            .into_iter()
            .find(|m| pred(m) && m["status"] == "resolved")
        {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "no resolved message matched; resolver has {:#?}",
        resolver_messages(base).await
    );
}

fn phone(n: u32) -> String {
    format!("+86139{n:08}")
}

#[tokio::test]
async fn resolver_finds_senders_by_openid_create_time_and_store() {
    let dir = tempfile::tempdir().unwrap();
    let platform = ServerProcess::start_with(
        &["--allow-private-callbacks"],
        &[
            ("RINGBOOK_OFFICIAL__RETRY_DELAY_MS", "1000"),
            ("RINGBOOK_OFFICIAL__POLL_MS", "50"),
        ],
    );
    let server = platform.url.clone();

    // The owner creates the account with the CLI.
    let owner_home = dir.path().join("owner");
    login(&platform, &owner_home, &phone(1), &phone(1));
    assert_eq!(
        ok(
            &server,
            &owner_home,
            &["oa", "create", "news", "--password", "password1"]
        )
        .trim(),
        "news"
    );

    // Followers who follow before developer mode is on: the resolver never hears of them
    // until they write, so their first message needs the create-time method.
    let b = sdk_login(&platform, &phone(2)).await;
    b.oa_follow("news").await.unwrap();
    let mut pairs = Vec::new();
    for i in 0..6 {
        let c = sdk_login(&platform, &phone(10 + 2 * i)).await;
        let d = sdk_login(&platform, &phone(11 + 2 * i)).await;
        c.oa_follow("news").await.unwrap();
        d.oa_follow("news").await.unwrap();
        pairs.push((c, d));
    }

    // The resolver: its config holds the console password, so it must be 0600.
    let rport = free_port();
    let rbase = format!("http://127.0.0.1:{rport}");
    let cfg_path = dir.path().join("thirdparty.toml");
    std::fs::write(
        &cfg_path,
        format!(
            "platform = \"{server}\"\ndata_dir = \"{}\"\nretry_ms = 300\n\n[accounts.news]\ntoken = \"{TOKEN}\"\npassword = \"password1\"\n",
            dir.path().join("tp").display()
        ),
    )
    .unwrap();
    set_mode(&cfg_path, 0o644);
    let out = Command::new(BIN)
        .args(["thirdparty", "serve", "--config"])
        .arg(&cfg_path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("chmod 600"));
    set_mode(&cfg_path, 0o600);
    let mut resolver = start_resolver(&cfg_path, rport);
    wait_http(&format!("{rbase}/messages.json")).await;

    // Developer mode on, through the handshake.
    let url = format!("{rbase}/callback/news");
    let out = ok(
        &server,
        &owner_home,
        &["oa", "callback", "news", &url, "--token", TOKEN],
    );
    assert!(out.contains("developer mode on"), "{out}");
    // A wrong token fails the handshake (the resolver refuses the signature).
    let bad = ringbook(
        &server,
        &owner_home,
        &["oa", "callback", "news", &url, "--token", "wrongtoken"],
    );
    assert!(!bad.status.success());

    // 1. A first follow: the openID method.
    let a_home = dir.path().join("a");
    login(&platform, &a_home, &phone(3), &phone(3));
    ok(&server, &a_home, &["oa", "follow", "news"]);
    let followed = wait_resolved(&rbase, |m| m["event"] == "subscribe").await;
    assert_eq!(followed["method"], "openid");
    assert_eq!(followed["info"]["region"], "CN");
    let a_fake = followed["fake_id"].as_str().unwrap().to_string();
    // Later messages of A come from the store.
    ok(&server, &a_home, &["oa", "send", "news", "hello from A"]);
    let m = wait_resolved(&rbase, |m| m["content"] == "hello from A").await;
    assert_eq!(
        (m["method"].as_str(), m["fake_id"].as_str()),
        (Some("store"), Some(a_fake.as_str()))
    );

    // 2. B writes for the first time: the create-time method; then again: from the store.
    b.oa_send("news", "text", "hello from B").await.unwrap();
    let m = wait_resolved(&rbase, |m| m["content"] == "hello from B").await;
    assert_eq!(m["method"], "create_time");
    let b_fake = m["fake_id"].as_str().unwrap().to_string();
    assert_ne!(b_fake, a_fake);
    b.oa_send("news", "text", "B again").await.unwrap();
    let m = wait_resolved(&rbase, |m| m["content"] == "B again").await;
    assert_eq!(
        (m["method"].as_str(), m["fake_id"].as_str()),
        (Some("store"), Some(b_fake.as_str()))
    );

    // 3. A push with a bad signature is refused.
    let r = reqwest::Client::new()
        .post(format!("{url}?signature=deadbeef&timestamp=1&nonce=2"))
        .body("<xml><FromUserName>ox</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>forged</Content><MsgId>999999</MsgId></xml>")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(resolver_messages(&rbase)
        .await
        .iter()
        .all(|m| m["content"] != "forged"));

    // 4. The callback is down for a while, then back: retried, delivered once.
    drop(resolver);
    ok(
        &server,
        &a_home,
        &["oa", "send", "news", "while you were away"],
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    resolver = start_resolver(&cfg_path, rport);
    let m = wait_resolved(&rbase, |m| m["content"] == "while you were away").await;
    assert_eq!(m["fake_id"], a_fake.as_str());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let copies = resolver_messages(&rbase)
        .await
        .iter()
        .filter(|m| m["content"] == "while you were away")
        .count();
    assert_eq!(copies, 1);

    // 5. Two unknown followers write the same text in the same second: ambiguous, said so,
    //    retried later (the retry falls back to the openID method).
    let mut ambiguous_seen = false;
    for (i, (c, d)) in pairs.iter().enumerate() {
        let text = format!("same words {i}");
        let (rc, rd) = tokio::join!(
            c.oa_send("news", "text", &text),
            d.oa_send("news", "text", &text)
        );
        let (rc, rd) = (rc.unwrap(), rd.unwrap());
        let m1 = wait_resolved(&rbase, |m| m["msg_id"] == rc.msg_id).await;
        let m2 = wait_resolved(&rbase, |m| m["msg_id"] == rd.msg_id).await;
        assert_ne!(m1["fake_id"], m2["fake_id"]);
        if rc.create_time == rd.create_time {
            let log = std::fs::read_to_string(dir.path().join("tp/resolver.log")).unwrap();
            assert!(log.contains(&format!("\"{text}\": ambiguous")), "{log}");
            assert!(
                m1["method"] == "openid" || m2["method"] == "openid",
                "{m1} {m2}"
            );
            ambiguous_seen = true;
            break;
        }
    }
    assert!(
        ambiguous_seen,
        "no two sends landed in the same second in 6 tries"
    );

    // 6. A follower who allows nothing: the resolver learns no fields.
    let e = sdk_login(&platform, &phone(50)).await;
    e.oa_set_privacy(&[]).await.unwrap();
    let e_phone_fake_before = resolver_messages(&rbase).await.len();
    e.oa_follow("news").await.unwrap();
    let m = wait_resolved(&rbase, |m| {
        m["event"] == "subscribe" && m["fake_id"] != a_fake.as_str()
    })
    .await;
    assert_eq!(m["info"], serde_json::json!({}));
    assert!(resolver_messages(&rbase).await.len() > e_phone_fake_before);

    // The page and the log show who sent each message.
    let html = reqwest::get(format!("{rbase}/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("hello from B") && html.contains(&b_fake));
    let log = std::fs::read_to_string(dir.path().join("tp/resolver.log")).unwrap();
    assert!(log.contains(&format!("from fake_id={b_fake}")) && log.contains("bad signature"));

    // The follower's side of the CLI: an owner broadcast lands in `oa inbox`.
    ok(
        &server,
        &owner_home,
        &["oa", "broadcast", "news", "thanks for following"],
    );
    let inbox = ok(&server, &a_home, &["oa", "inbox"]);
    assert!(inbox.contains("news: thanks for following"), "{inbox}");
    assert!(ok(&server, &a_home, &["oa", "unfollow", "news"]).contains("no longer following"));
    drop(resolver);
}

#[cfg(unix)]
fn set_mode(p: &PathBuf, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(not(unix))]
fn set_mode(_p: &PathBuf, _mode: u32) {}
