//! Official accounts against the real server (OA-1 … OA-4): accounts, FakeID/openID, developer
//! mode pushes (XML, signature, handshake, SSRF, retries, restart, passive replies), the console
//! (cookie, CSRF, rate limit, pages, privacy) and the direct API. One test checks a captured push
//! with an independent implementation (the `wechatpy` SDK from PyPI).
// Test helpers panic on purpose: a failed set-up step is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use axum::extract::{Query, State};
use axum::http::Method;
use axum::routing::any;
use common::{phone, TestServer};
use ringbook_client::Client;
use ringbook_proto::official::{push as xml, AccountSendRequest};
use ringbook_proto::ws::ServerFrame;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TOKEN: &str = "tok3n";

/// A developer server for tests: answers the handshake, records pushes, can fail on purpose
/// and can answer with a passive reply.
#[derive(Default)]
struct Receiver {
    pushes: Mutex<Vec<(HashMap<String, String>, String)>>,
    fail_next: AtomicU32,
    down: AtomicBool,
    no_echo: AtomicBool,
    reply: Mutex<Option<String>>,
    /// Pushes whose body contains this text always fail.
    fail_containing: Mutex<Option<String>>,
}

async fn receive(
    State(r): State<Arc<Receiver>>,
    method: Method,
    Query(q): Query<HashMap<String, String>>,
    body: String,
) -> (axum::http::StatusCode, String) {
    use axum::http::StatusCode;
    let signed = xml::check_signature(
        TOKEN,
        q.get("timestamp").map(String::as_str).unwrap_or(""),
        q.get("nonce").map(String::as_str).unwrap_or(""),
        q.get("signature").map(String::as_str).unwrap_or(""),
    );
    if !signed {
        return (StatusCode::FORBIDDEN, "bad signature".into());
    }
    if method == Method::GET {
        if r.no_echo.load(Ordering::SeqCst) {
            return (StatusCode::OK, "hello".into());
        }
        return (
            StatusCode::OK,
            q.get("echostr").cloned().unwrap_or_default(),
        );
    }
    if r.down.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "down".into());
    }
    let poisoned = r.fail_containing.lock().unwrap().clone();
    if poisoned.is_some_and(|p| body.contains(&p)) {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot handle this one".into(),
        );
    }
    if r.fail_next.load(Ordering::SeqCst) > 0 {
        r.fail_next.fetch_sub(1, Ordering::SeqCst);
        return (StatusCode::INTERNAL_SERVER_ERROR, "try later".into());
    }
    r.pushes.lock().unwrap().push((q, body.clone()));
    let reply = r.reply.lock().unwrap().clone();
    match reply {
        Some(text) => {
            let m = xml::parse(&body).unwrap();
            let doc = xml::encode(&[
                ("ToUserName", m["FromUserName"].clone()),
                ("FromUserName", m["ToUserName"].clone()),
                ("CreateTime", m["CreateTime"].clone()),
                ("MsgType", "text".into()),
                ("Content", text),
            ]);
            (StatusCode::OK, doc)
        }
        None => (StatusCode::OK, "success".into()),
    }
}

async fn start_receiver() -> (Arc<Receiver>, String) {
    let r = Arc::new(Receiver::default());
    let app = axum::Router::new()
        .route("/callback/{account}", any(receive))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (r, format!("http://{addr}"))
}

async fn private_ok_server() -> TestServer {
    TestServer::start_with(|c| {
        c.official.allow_private_callbacks = true;
        c.official.retry_delay_ms = 50;
        c.official.poll_ms = 20;
    })
    .await
}

/// The account "news" of phone(1) in developer mode, pushing to a fresh receiver; and a second
/// user, phone(2), who does not follow it yet. Returns (receiver, owner, that user).
async fn developer_account(srv: &TestServer) -> (Arc<Receiver>, Client, Client) {
    let (rx, base) = start_receiver().await;
    let (owner, _, _) = srv.login(&phone(1)).await;
    let (fan, _, _) = srv.login(&phone(2)).await;
    owner.oa_create("news", "password1").await.unwrap();
    owner
        .oa_set_callback("news", &format!("{base}/callback/news"), TOKEN)
        .await
        .unwrap();
    // The token signs pushes, so it is stored encrypted, never in plain.
    let stored = srv
        .state
        .core
        .store
        .oa_account_by_name("news")
        .await
        .unwrap();
    let stored = stored.unwrap().callback_token.unwrap();
    assert!(!stored.contains(TOKEN), "{stored}");
    (rx, owner, fan)
}

fn parsed(r: &Receiver) -> Vec<BTreeMap<String, String>> {
    r.pushes
        .lock()
        .unwrap()
        .iter()
        .map(|(_, b)| xml::parse(b).unwrap())
        .collect()
}

async fn wait_for(mut f: impl FnMut() -> bool) {
    for _ in 0..400 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("condition not reached within 10 s");
}

/// A console session over raw HTTP: the cookie and the CSRF token.
struct Console {
    http: reqwest::Client,
    base: String,
    cookie: String,
    csrf: String,
}

impl Console {
    async fn login(
        base: &str,
        account: &str,
        password: &str,
    ) -> Result<Console, (u16, serde_json::Value)> {
        let http = reqwest::Client::new();
        let resp = http
            .post(format!("{base}/console/login"))
            .json(&serde_json::json!({"account": account, "password": password}))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let cookie = resp
            .headers()
            .get("set-cookie")
            .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string());
        let body: serde_json::Value = resp.json().await.unwrap();
        match cookie {
            Some(cookie) if status == 200 => Ok(Console {
                http,
                base: base.into(),
                cookie,
                csrf: body["csrf_token"].as_str().unwrap().into(),
            }),
            _ => Err((status, body)),
        }
    }

    async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        (
            resp.status().as_u16(),
            resp.json().await.unwrap_or(serde_json::Value::Null),
        )
    }

    async fn get_html(&self, path: &str) -> (u16, String) {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }
}

#[tokio::test]
async fn oa1_oa2_accounts_follow_fakeid_and_openid() {
    let srv = TestServer::start().await;
    let (owner, _, _) = srv.login(&phone(1)).await;
    let (fan, fan_login, _) = srv.login(&phone(2)).await;

    let a = owner.oa_create("news", "password1").await.unwrap();
    assert_eq!(a.name, "news");
    assert!(!a.developer_mode);
    owner.oa_create("shop", "password2").await.unwrap();
    // Bad input: taken name, bad name, weak password — nothing created.
    assert_eq!(
        owner
            .oa_create("news", "password9")
            .await
            .unwrap_err()
            .code(),
        Some("account_name_taken")
    );
    assert_eq!(
        owner
            .oa_create("No Spaces", "password9")
            .await
            .unwrap_err()
            .code(),
        Some("invalid_account_name")
    );
    assert_eq!(
        owner.oa_create("weak", "short").await.unwrap_err().code(),
        Some("weak_password")
    );
    assert_eq!(
        fan.oa_account("weak").await.unwrap_err().code(),
        Some("no_such_account")
    );
    assert_eq!(
        fan.oa_follow("nope").await.unwrap_err().code(),
        Some("no_such_account")
    );
    // Writing before following is refused.
    assert_eq!(
        fan.oa_send("news", "text", "hi").await.unwrap_err().code(),
        Some("not_following")
    );

    assert!(fan.oa_follow("news").await.unwrap().changed);
    assert!(!fan.oa_follow("news").await.unwrap().changed);
    fan.oa_follow("shop").await.unwrap();

    let news = Console::login(&srv.url, "news", "password1").await.unwrap();
    let shop = Console::login(&srv.url, "shop", "password2").await.unwrap();
    let (_, nf) = news.get_json("/console/followers").await;
    let (_, sf) = shop.get_json("/console/followers").await;
    let fake = nf[0]["fake_id"].as_str().unwrap().to_string();
    // OA-2: the same FakeID platform-wide, never the phone number…
    assert_eq!(sf[0]["fake_id"], fake.as_str());
    assert!(!fake.contains(&fan_login.phone.as_str()[3..]));
    // …and a different openID under each account.
    let (_, np) = news.get_json(&format!("/console/followers/{fake}")).await;
    let (_, sp) = shop.get_json(&format!("/console/followers/{fake}")).await;
    assert_ne!(np["open_id"], sp["open_id"]);
    // Stable across unfollow and follow again.
    assert!(fan.oa_unfollow("news").await.unwrap().changed);
    let (_, nf) = news.get_json("/console/followers").await;
    assert_eq!(nf.as_array().unwrap().len(), 0);
    fan.oa_follow("news").await.unwrap();
    let (_, np2) = news.get_json(&format!("/console/followers/{fake}")).await;
    assert_eq!(np["open_id"], np2["open_id"]);

    // Text, image, voice, video from the follower reach the message page.
    fan.oa_send("news", "text", "hello news").await.unwrap();
    fan.oa_send("news", "image", "media-1").await.unwrap();
    assert_eq!(
        fan.oa_send("news", "sticker", "x")
            .await
            .unwrap_err()
            .code(),
        Some("invalid_kind")
    );
    assert_eq!(
        fan.oa_send("news", "text", "  ").await.unwrap_err().code(),
        Some("empty_message")
    );
    let (_, msgs) = news.get_json("/console/messages").await;
    let msgs = msgs.as_array().unwrap();
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[1]["content"], "hello news");
    assert_eq!(msgs[1]["fake_id"], fake.as_str());
    let t = msgs[1]["create_time"].as_i64().unwrap();
    let (_, at) = news
        .get_json(&format!("/console/messages?create_time={t}"))
        .await;
    assert!(at.as_array().unwrap().iter().all(|m| m["create_time"] == t));

    // The owner's mass send reaches the follower's inbox and live connection.
    let mut conn = fan.connect().await.unwrap();
    let _hello = conn.next().await.unwrap();
    let sent = owner
        .oa_owner_send(
            "news",
            &AccountSendRequest {
                kind: "text".into(),
                body: "weekly digest".into(),
                to_fake_id: None,
            },
        )
        .await
        .unwrap();
    assert_eq!((sent.total, sent.sent), (1, 1));
    let frame = tokio::time::timeout(Duration::from_secs(5), conn.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    match frame {
        ServerFrame::OfficialMessage(m) => assert_eq!(
            (m.account.as_str(), m.body.as_str()),
            ("news", "weekly digest")
        ),
        other => panic!("expected an official message, got {other:?}"),
    }
    let inbox = fan.oa_inbox(0).await.unwrap();
    assert_eq!(inbox.len(), 1);
    // Only the owner sends as the account.
    let e = fan
        .oa_owner_send(
            "news",
            &AccountSendRequest {
                kind: "text".into(),
                body: "spoof".into(),
                to_fake_id: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("not_account_owner"));
}

#[tokio::test]
async fn oa3_push_xml_signature_handshake_and_passive_reply() {
    let srv = private_ok_server().await;
    let (rx, base) = start_receiver().await;
    let (owner, _, _) = srv.login(&phone(1)).await;
    let (fan, _, _) = srv.login(&phone(2)).await;
    owner.oa_create("news", "password1").await.unwrap();
    // Only the owner sets the callback.
    let url = format!("{base}/callback/news");
    assert_eq!(
        fan.oa_set_callback("news", &url, TOKEN)
            .await
            .unwrap_err()
            .code(),
        Some("not_account_owner")
    );
    let a = owner.oa_set_callback("news", &url, TOKEN).await.unwrap();
    assert!(a.developer_mode);
    assert_eq!(a.callback_url.as_deref(), Some(url.as_str()));

    *rx.reply.lock().unwrap() = Some("thanks, we got it".into());
    fan.oa_follow("news").await.unwrap();
    let sent = fan
        .oa_send("news", "text", "hello <there> & ]]> bye")
        .await
        .unwrap();
    assert!(sent.pushed);
    wait_for(|| rx.pushes.lock().unwrap().len() == 2).await;
    // Pushes are delivered independently (each with its own retries), so their arrival order
    // is not part of the contract: put the event first.
    let mut p = parsed(&rx);
    p.sort_by_key(|m| m.get("MsgType").map(String::as_str) != Some("event"));
    assert_eq!(p[0]["MsgType"], "event");
    assert_eq!(p[0]["Event"], "subscribe");
    assert_eq!(p[1]["ToUserName"], "news");
    assert_eq!(p[1]["MsgType"], "text");
    assert_eq!(p[1]["Content"], "hello <there> & ]]> bye");
    assert_eq!(p[1]["MsgId"], sent.msg_id.to_string());
    assert_eq!(p[1]["CreateTime"], sent.create_time.to_string());
    assert_eq!(p[0]["FromUserName"], p[1]["FromUserName"]);
    assert!(p[1]["FromUserName"].starts_with('o'));

    // The passive replies reach the follower as the account's messages.
    let fan2 = fan.clone();
    let mut got = Vec::new();
    for _ in 0..200 {
        got = fan2.oa_inbox(0).await.unwrap();
        if got.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(got.len(), 2);
    assert!(got
        .iter()
        .all(|m| m.account == "news" && m.body == "thanks, we got it"));

    // A handshake that does not echo leaves developer mode as it was (off for a new account).
    owner.oa_create("shop", "password2").await.unwrap();
    rx.no_echo.store(true, Ordering::SeqCst);
    let e = owner
        .oa_set_callback("shop", &format!("{base}/callback/shop"), TOKEN)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("callback_verification_failed"));
    assert!(!owner.oa_account("shop").await.unwrap().developer_mode);
    // Nobody listening.
    let e = owner
        .oa_set_callback("shop", "http://127.0.0.1:9/callback/shop", TOKEN)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("callback_unreachable"));
    assert_eq!(
        owner
            .oa_set_callback("shop", &url, "bad token!")
            .await
            .unwrap_err()
            .code(),
        Some("invalid_token")
    );
}

#[tokio::test]
async fn oa3_callbacks_to_private_addresses_are_refused_by_default() {
    let srv = TestServer::start().await;
    let (rx, base) = start_receiver().await;
    let (owner, _, _) = srv.login(&phone(1)).await;
    owner.oa_create("news", "password1").await.unwrap();
    for url in [
        format!("{base}/callback/news"),
        "http://169.254.169.254/latest/meta-data".to_string(),
        "http://10.0.0.1/callback/news".to_string(),
        "http://[::1]:80/callback/news".to_string(),
        "http://localhost/callback/news".to_string(),
    ] {
        let e = owner
            .oa_set_callback("news", &url, TOKEN)
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some("callback_private_address"), "{url}");
    }
    for url in [
        "ftp://example.com/x",
        "not a url",
        "http://user:pw@example.com/x",
    ] {
        let e = owner.oa_set_callback("news", url, TOKEN).await.unwrap_err();
        assert_eq!(e.code(), Some("invalid_callback_url"), "{url}");
    }
    // Nothing changed, and the receiver never heard from the platform.
    assert!(!owner.oa_account("news").await.unwrap().developer_mode);
    assert!(rx.pushes.lock().unwrap().is_empty());
}

#[tokio::test]
async fn oa3_failed_pushes_are_retried_and_delivered_once_then_given_up() {
    let srv = private_ok_server().await;
    let (rx, _owner, fan) = developer_account(&srv).await;
    fan.oa_follow("news").await.unwrap();
    wait_for(|| rx.pushes.lock().unwrap().len() == 1).await;

    // Two failures, then success on the third attempt: delivered exactly once.
    rx.fail_next.store(2, Ordering::SeqCst);
    let sent = fan.oa_send("news", "text", "retry me").await.unwrap();
    wait_for(|| rx.pushes.lock().unwrap().len() == 2).await;
    assert_eq!(rx.fail_next.load(Ordering::SeqCst), 0);
    let account = srv
        .state
        .core
        .store
        .oa_account_by_name("news")
        .await
        .unwrap()
        .unwrap();
    let pushes = srv.state.core.store.oa_pushes_of(account.id).await.unwrap();
    let p = pushes.iter().find(|p| p.inbound_id == sent.msg_id).unwrap();
    assert_eq!((p.state.as_str(), p.attempts), ("delivered", 3));

    // Down for good: 1 attempt + 3 retries, then failed.
    rx.down.store(true, Ordering::SeqCst);
    let sent = fan.oa_send("news", "text", "lost").await.unwrap();
    let store = srv.state.core.store.clone();
    let mut state = String::new();
    for _ in 0..400 {
        let pushes = store.oa_pushes_of(account.id).await.unwrap();
        let p = pushes.iter().find(|p| p.inbound_id == sent.msg_id).unwrap();
        if p.state != "pending" {
            state = p.state.clone();
            assert_eq!(p.attempts, 4);
            assert!(p.last_error.as_deref().unwrap().contains("503"));
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(state, "failed");
    assert_eq!(rx.pushes.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn oa3_one_followers_pushes_arrive_in_order_across_retries() {
    let srv = TestServer::start_with(|c| {
        c.official.allow_private_callbacks = true;
        c.official.retry_delay_ms = 300;
        c.official.poll_ms = 20;
    })
    .await;
    let (rx, _owner, fan) = developer_account(&srv).await;
    let (other, _, _) = srv.login(&phone(3)).await;
    fan.oa_follow("news").await.unwrap();
    other.oa_follow("news").await.unwrap();
    wait_for(|| rx.pushes.lock().unwrap().len() == 2).await;

    // The first of three messages fails twice; the next two must wait for it, not overtake it.
    rx.fail_next.store(2, Ordering::SeqCst);
    for text in ["first", "second", "third"] {
        fan.oa_send("news", "text", text).await.unwrap();
    }
    wait_for(|| rx.pushes.lock().unwrap().len() == 5).await;
    let texts: Vec<String> = parsed(&rx)
        .iter()
        .skip(2)
        .map(|m| m["Content"].clone())
        .collect();
    assert_eq!(texts, ["first", "second", "third"]);

    // A push that fails for good holds up only its own follower's queue, and only until it is
    // given up: "free" (another follower) overtakes it, "after" (same follower) does not.
    *rx.fail_containing.lock().unwrap() = Some("stuck".into());
    let stuck = fan.oa_send("news", "text", "stuck").await.unwrap();
    let after = fan.oa_send("news", "text", "after").await.unwrap();
    other.oa_send("news", "text", "free").await.unwrap();
    let content = |m: &BTreeMap<String, String>| m.get("Content").cloned().unwrap_or_default();
    let delivered = || parsed(&rx).iter().skip(5).map(content).collect::<Vec<_>>();
    wait_for(|| delivered().contains(&"free".to_string())).await;
    // "stuck" backs off 300, 600 and 1,200 ms before it is given up; "after" waits for that.
    assert_eq!(delivered(), ["free"]);
    let account = srv
        .state
        .core
        .store
        .oa_account_by_name("news")
        .await
        .unwrap()
        .unwrap();
    let state_of = |id: i64| {
        let store = srv.state.core.store.clone();
        async move {
            let pushes = store.oa_pushes_of(account.id).await.unwrap();
            let p = pushes.iter().find(|p| p.inbound_id == id).unwrap();
            (p.state.clone(), p.attempts)
        }
    };
    assert_eq!(state_of(stuck.msg_id).await.0, "pending");
    wait_for(|| delivered().contains(&"after".to_string())).await;
    assert_eq!(delivered(), ["free", "after"]);
    assert_eq!(state_of(stuck.msg_id).await, ("failed".to_string(), 4));
    assert_eq!(state_of(after.msg_id).await.0, "delivered");
}

#[tokio::test]
async fn oa3_pending_pushes_survive_a_restart() {
    let keep = tempfile::tempdir().unwrap();
    let data = keep.path().to_path_buf();
    let mut db_url = None;
    let srv = TestServer::start_with(|c| {
        c.official.allow_private_callbacks = true;
        c.official.retry_delay_ms = 60_000; // the retry is due long after the first server stops
        c.official.poll_ms = 20;
        c.data_dir = data.clone();
        db_url = c.database_url.clone();
    })
    .await;
    let (rx, _owner, fan) = developer_account(&srv).await;
    rx.down.store(true, Ordering::SeqCst);
    fan.oa_follow("news").await.unwrap();
    let account = srv
        .state
        .core
        .store
        .oa_account_by_name("news")
        .await
        .unwrap()
        .unwrap();
    let store = srv.state.core.store.clone();
    for _ in 0..400 {
        if store.oa_pushes_of(account.id).await.unwrap()[0].attempts == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    srv.stop().await;
    rx.down.store(false, Ordering::SeqCst);

    // A new server over the same database, retrying sooner: the push goes out.
    let srv = TestServer::start_with(|c| {
        c.official.allow_private_callbacks = true;
        c.official.retry_delay_ms = 50;
        c.official.poll_ms = 20;
        c.data_dir = data.clone();
        c.database_url = db_url.clone();
    })
    .await;
    // The lease/next_at from the first run is honoured; move it forward for the test.
    let p = srv
        .state
        .core
        .store
        .oa_pushes_of(account.id)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(p.state, "pending");
    srv.state
        .core
        .store
        .oa_push_outcome(p.id, "pending", 0, p.last_error.as_deref(), 0)
        .await
        .unwrap();
    wait_for(|| rx.pushes.lock().unwrap().len() == 1).await;
    assert_eq!(parsed(&rx)[0]["Event"], "subscribe");
}

#[tokio::test]
async fn oa4_console_login_csrf_rate_limit_pages_privacy_and_direct_api() {
    let srv = TestServer::start_with(|c| c.official.login_failures_per_window = 3).await;
    let (owner, _, _) = srv.login(&phone(1)).await;
    let (fan, _, _) = srv.login(&phone(2)).await;
    let (shy, _, _) = srv.login(&phone(3)).await;
    owner.oa_create("news", "password1").await.unwrap();
    fan.oa_follow("news").await.unwrap();
    shy.oa_follow("news").await.unwrap();
    assert_eq!(
        shy.oa_privacy().await.unwrap().fields,
        ["nickname", "gender", "region", "avatar"]
    );
    assert_eq!(
        shy.oa_set_privacy(&["phone"]).await.unwrap_err().code(),
        Some("unknown_field")
    );
    assert!(shy.oa_set_privacy(&[]).await.unwrap().fields.is_empty());

    // Pages need a session.
    let anon = reqwest::Client::new();
    let r = anon
        .get(format!("{}/console/followers", srv.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);

    let (status, body) = Console::login(&srv.url, "news", "wrong-password")
        .await
        .err()
        .unwrap();
    assert_eq!(
        (status, body["code"].as_str().unwrap()),
        (401, "wrong_credentials")
    );
    let c = Console::login(&srv.url, "news", "password1").await.unwrap();

    let (_, followers) = c.get_json("/console/followers").await;
    let fakes: Vec<String> = followers
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fake_id"].as_str().unwrap().into())
        .collect();
    assert_eq!(fakes.len(), 2);
    let (_, fan_info) = c.get_json(&format!("/console/users/{}", fakes[0])).await;
    assert_eq!(fan_info["fields"]["region"], "CN");
    let (_, shy_info) = c.get_json(&format!("/console/users/{}", fakes[1])).await;
    assert_eq!(shy_info["fields"], serde_json::json!({}));
    let (status, _) = c.get_json("/console/users/fdeadbeef").await;
    assert_eq!(status, 404);
    let (status, html) = c.get_html("/console/followers").await;
    assert_eq!(status, 200);
    assert!(html.contains(&fakes[0]) && html.contains("<table>"));

    // CSRF: a POST without the token is refused and sends nothing.
    let send = |csrf: Option<&str>| {
        let mut req = c
            .http
            .post(format!("{}/console/send", srv.url))
            .header("cookie", &c.cookie)
            .json(&serde_json::json!({"body": "hello followers"}));
        if let Some(t) = csrf {
            req = req.header("x-csrf-token", t);
        }
        req.send()
    };
    assert_eq!(send(None).await.unwrap().status().as_u16(), 403);
    assert_eq!(send(Some("nope")).await.unwrap().status().as_u16(), 403);
    assert!(fan.oa_inbox(0).await.unwrap().is_empty());
    let r = send(Some(&c.csrf)).await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(fan.oa_inbox(0).await.unwrap().len(), 1);

    // Direct API: follower information by openID with the account's credentials.
    let (_, page) = c
        .get_json(&format!("/console/followers/{}", fakes[0]))
        .await;
    let open_id = page["open_id"].as_str().unwrap();
    let api = format!("{}/v1/official/api/news/followers/{open_id}", srv.url);
    let r = anon
        .get(&api)
        .basic_auth("news", Some("password1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let info: serde_json::Value = r.json().await.unwrap();
    assert_eq!(info["fake_id"], fakes[0].as_str());
    assert_eq!(anon.get(&api).send().await.unwrap().status().as_u16(), 401);

    // Rate limit: after 3 failures even the right password waits.
    for _ in 0..2 {
        assert_eq!(
            Console::login(&srv.url, "news", "bad-password")
                .await
                .err()
                .unwrap()
                .0,
            401
        );
    }
    let (status, body) = Console::login(&srv.url, "news", "password1")
        .await
        .err()
        .unwrap();
    assert_eq!(
        (status, body["code"].as_str().unwrap()),
        (429, "too_many_login_failures")
    );
}

/// Independent check: the push XML and its signature, verified by `wechatpy` (PyPI), a maintained
/// SDK of this push format, rather than by this project's own code.
#[tokio::test]
async fn oa3_push_verified_by_wechatpy() {
    let probe = std::process::Command::new("python3")
        .args(["-c", "import wechatpy"])
        .output();
    if !matches!(&probe, Ok(o) if o.status.success()) {
        println!("NOTICE: skipping the wechatpy check: python3 with wechatpy is not available (pip install wechatpy)");
        return;
    }
    let srv = private_ok_server().await;
    let (rx, _owner, fan) = developer_account(&srv).await;
    fan.oa_follow("news").await.unwrap();
    let sent = fan
        .oa_send("news", "text", "你好 <wechatpy> & co")
        .await
        .unwrap();
    wait_for(|| rx.pushes.lock().unwrap().len() == 2).await;
    let pushes = rx.pushes.lock().unwrap().clone();
    let script = r#"
import json, sys
from wechatpy import parse_message
from wechatpy.utils import check_signature
from wechatpy.exceptions import InvalidSignatureException
case = json.load(open(sys.argv[1], encoding="utf-8"))
q = case["query"]
check_signature(case["token"], q["signature"], q["timestamp"], q["nonce"])
try:
    check_signature("other-token", q["signature"], q["timestamp"], q["nonce"])
    raise SystemExit("a wrong token passed")
except InvalidSignatureException:
    pass
m = parse_message(case["body"])
out = {"type": m.type, "source": m.source, "target": m.target, "id": m.id, "time": m.time}
out["content"] = getattr(m, "content", None)
out["event"] = getattr(m, "event", None)
print(json.dumps(out))
"#;
    let dir = tempfile::tempdir().unwrap();
    let py = dir.path().join("check.py");
    std::fs::write(&py, script).unwrap();
    let mut results = Vec::new();
    for (q, body) in &pushes {
        let case = dir.path().join("case.json");
        std::fs::write(
            &case,
            serde_json::json!({"token": TOKEN, "query": q, "body": body}).to_string(),
        )
        .unwrap();
        let out = std::process::Command::new("python3")
            .arg(&py)
            .arg(&case)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "wechatpy refused the push: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        results.push(serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap());
    }
    // Pushes are delivered independently; arrival order is not part of the contract.
    results.sort_by_key(|r| r["type"] != "event");
    assert_eq!(results[0]["type"], "event");
    assert_eq!(results[0]["event"], "subscribe");
    assert_eq!(results[1]["type"], "text");
    assert_eq!(results[1]["content"], "你好 <wechatpy> & co");
    assert_eq!(results[1]["target"], "news");
    assert_eq!(results[1]["id"], sent.msg_id);
    assert_eq!(results[1]["time"], sent.create_time);
    assert_eq!(results[0]["source"], results[1]["source"]);
}
