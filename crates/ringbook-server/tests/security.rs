//! Attacks on identity and secrets, made the way an attacker makes them: from behind the
//! operator's own reverse proxy with forged headers, many requests at the same instant, and by
//! reading the files the server leaves on disk (SPEC; issue "Safe to run in public").

mod common;

use common::{new_device, phone, TestServer};
use futures_util::future::join_all;
use ringbook_client::ClientError;
use ringbook_proto::api::{LoginRequest, Proof};
use ringbook_proto::ws::{CloseReason, ServerFrame};
use std::collections::HashMap;

fn code_of(e: &ClientError) -> &str {
    e.code()
        .unwrap_or_else(|| panic!("expected an API error, got {e:?}"))
}

/// Tallies the outcome of many requests: "ok" or the error code.
fn tally<T>(results: &[Result<T, ClientError>]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for r in results {
        let key = match r {
            Ok(_) => "ok".to_string(),
            Err(e) => code_of(e).to_string(),
        };
        *counts.entry(key).or_insert(0) += 1;
    }
    counts
}

/// A request as the operator's reverse proxy on the same host forwards it: from 127.0.0.1,
/// with the `X-Forwarded-For` value the proxy sends (the client's header plus its peer).
async fn via_proxy(
    srv: &TestServer,
    method: reqwest::Method,
    path_and_query: &str,
    forwarded_for: Option<&str>,
) -> (u16, serde_json::Value) {
    let mut req = reqwest::Client::new().request(method, format!("{}{path_and_query}", srv.url));
    if let Some(xff) = forwarded_for {
        req = req.header("x-forwarded-for", xff);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body)),
    )
}

#[tokio::test]
async fn behind_a_same_host_proxy_remote_clients_get_no_admin_and_no_sms_callback() {
    let srv = TestServer::start_with(|c| {
        c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let victim = phone(1);
    srv.login(&victim).await;
    let block = format!("/v1/admin/users/{victim}/block");
    let mo = "/v1/sms/mo?from=8613800000002&to=10690000&text=RBAAAAAA";

    // A remote client, as the proxy reports it; and the same client forging a loopback entry
    // to the left of what the proxy appended.
    for xff in ["203.0.113.7", "127.0.0.1, 203.0.113.7", "::1,203.0.113.7"] {
        let (status, body) = via_proxy(&srv, reqwest::Method::POST, &block, Some(xff)).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("admin_only")),
            "{xff}"
        );
        let (status, body) = via_proxy(&srv, reqwest::Method::GET, mo, Some(xff)).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("not_sms_gateway")),
            "{xff}"
        );
    }
    // The proxy did not say whom it forwards for: the client is unknown, not loopback.
    let (status, _) = via_proxy(&srv, reqwest::Method::POST, &block, None).await;
    assert_eq!(status, 403);
    let (status, _) = via_proxy(&srv, reqwest::Method::GET, mo, None).await;
    assert_eq!(status, 403);
    assert!(
        !srv.state
            .core
            .store
            .user_by_phone(&victim)
            .await
            .unwrap()
            .unwrap()
            .blocked
    );

    // An operator on the server's own host, through the proxy, is still admitted.
    let (status, body) = via_proxy(&srv, reqwest::Method::POST, &block, Some("127.0.0.1")).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn header_enrichment_trusts_the_gateway_seen_through_the_proxy_not_the_proxy() {
    let srv = TestServer::start_with(|c| {
        c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        c.identity.header_enrichment = true;
        c.identity.header_trusted_proxies = vec!["10.20.0.0/16".parse().unwrap()];
    })
    .await;
    let body = serde_json::json!({"device": new_device()});
    let post = |xff: &'static str| {
        let url = format!("{}/v1/auth/header", srv.url);
        let body = body.clone();
        async move {
            reqwest::Client::new()
                .post(url)
                .header("x-msisdn", "8613800000003")
                .header("x-forwarded-for", xff)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        post("198.51.100.4").await,
        403,
        "a stranger with a forged MSISDN"
    );
    assert_eq!(
        post("10.20.0.9, 198.51.100.4").await,
        403,
        "a forged gateway entry"
    );
    assert_eq!(post("10.20.0.9").await, 200, "the operator's gateway");
}

#[tokio::test]
async fn concurrent_wrong_codes_get_no_more_checks_than_the_limit() {
    let srv = TestServer::start().await;
    let p = phone(4);
    let c = srv.client();
    c.request_code(&p).await.unwrap();
    let right = srv.last_code(&p);
    let wrong: Vec<String> = (0..60)
        .map(|i| format!("{:06}", (right.parse::<u32>().unwrap() + 1 + i) % 1_000_000))
        .collect();
    let dev = new_device();
    let requests: Vec<LoginRequest> = wrong
        .iter()
        .map(|code| LoginRequest {
            phone: Some(p.clone()),
            device: dev.clone(),
            proof: Proof::SmsCode { code: code.clone() },
            rescue_password: None,
            move_account: false,
        })
        .collect();
    let results = join_all(requests.iter().map(|r| c.login(r))).await;
    let counts = tally(&results);
    // Each `wrong_code` answer is one code actually compared; the limit is 5.
    assert_eq!(counts.get("wrong_code"), Some(&5), "{counts:?}");
    assert_eq!(counts.get("too_many_attempts"), Some(&55), "{counts:?}");
}

#[tokio::test]
async fn a_right_code_sent_thirty_times_at_once_opens_one_session() {
    let srv = TestServer::start().await;
    let p = phone(5);
    let c = srv.client();
    c.request_code(&p).await.unwrap();
    let code = srv.last_code(&p);
    let dev = new_device();
    let request = LoginRequest {
        phone: Some(p.clone()),
        device: dev.clone(),
        proof: Proof::SmsCode { code: code.clone() },
        rescue_password: None,
        move_account: false,
    };
    let results = join_all((0..30).map(|_| c.login(&request))).await;
    let counts = tally(&results);
    assert_eq!(counts.get("ok"), Some(&1), "{counts:?}");
    let user = srv
        .state
        .core
        .store
        .user_by_phone(&p)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        srv.state
            .core
            .store
            .list_sessions(user.id)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn concurrent_rescue_guesses_are_checked_no_more_than_the_limit() {
    let srv = TestServer::start_with(|c| {
        // No change limit in the way: the guard under test is the try count itself.
        c.identity.rescue_changes_per_hour = 10_000;
        c.identity.rescue_max_failures = 5;
        c.identity.rescue_lock_secs = 900;
    })
    .await;
    let p = phone(6);
    let (client, _, _) = srv.login(&p).await;
    client
        .set_rescue_password("the real rescue", None)
        .await
        .unwrap();
    // 60 guesses at the same instant through "change the rescue password".
    let guesses: Vec<String> = (0..60).map(|i| format!("guess {i}")).collect();
    let results = join_all(
        guesses
            .iter()
            .map(|g| client.set_rescue_password("a new password", Some(g))),
    )
    .await;
    let counts = tally(&results);
    let checked = counts.get("wrong_rescue_password").copied().unwrap_or(0);
    assert!(checked <= 5, "{checked} guesses were checked: {counts:?}");
    assert_eq!(counts.get("ok"), None, "{counts:?}");
    let user = srv
        .state
        .core
        .store
        .user_by_phone(&p)
        .await
        .unwrap()
        .unwrap();
    assert!(user.rescue_failures <= 5, "{}", user.rescue_failures);
    // Five tries were used up by now (however they were answered): locked.
    if user.rescue_failures == 5 {
        let e = client
            .set_rescue_password("a new password", Some("the real rescue"))
            .await
            .unwrap_err();
        assert_eq!(code_of(&e), "rescue_locked");
    }
}

#[tokio::test]
async fn one_sms_code_buys_at_most_one_rescue_guess_through_the_move_login() {
    let srv = TestServer::start().await;
    let p = phone(7);
    let (client, _, _) = srv.login(&p).await;
    client
        .set_rescue_password("the real rescue", None)
        .await
        .unwrap();
    let c = srv.client();
    c.request_code(&p).await.unwrap();
    let code = srv.last_code(&p);
    let thief = new_device();
    let requests: Vec<LoginRequest> = (0..30)
        .map(|i| LoginRequest {
            phone: Some(p.clone()),
            device: thief.clone(),
            proof: Proof::SmsCode { code: code.clone() },
            rescue_password: Some(format!("guess number {i}")),
            move_account: true,
        })
        .collect();
    let results = join_all(requests.iter().map(|r| c.login(r))).await;
    let counts = tally(&results);
    assert_eq!(counts.get("wrong_rescue_password"), Some(&1), "{counts:?}");
    let user = srv
        .state
        .core
        .store
        .user_by_phone(&p)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.rescue_failures, 1);
}

#[tokio::test]
async fn a_flood_of_password_changes_is_refused_at_once_and_others_go_on() {
    let srv = TestServer::start().await;
    let (flooder, _, _) = srv.login(&phone(8)).await;
    let (other, _, _) = srv.login(&phone(9)).await;
    let flood = join_all((0..300).map(|_| flooder.set_rescue_password("a long secret", None)));
    let normal = async {
        // The other user's own change completes while the flood is on.
        other.set_rescue_password("another secret", None).await
    };
    let (results, normal) = tokio::join!(flood, normal);
    normal.unwrap();
    let counts = tally(&results);
    let ok = counts.get("ok").copied().unwrap_or(0);
    // One hash per account at a time, ten changes an hour: the rest are refused, not queued.
    assert!((1..=10).contains(&ok), "{counts:?}");
    let refused = counts.get("busy").copied().unwrap_or(0)
        + counts.get("too_many_changes").copied().unwrap_or(0);
    assert_eq!(ok + refused, 300, "{counts:?}");
}

#[tokio::test]
async fn a_refused_device_mismatch_leaves_the_code_for_the_move_and_the_old_device_hears_it() {
    let srv = TestServer::start().await;
    let p = phone(10);
    let (old, _, _) = srv.login(&p).await;
    old.set_rescue_password("the real rescue", None)
        .await
        .unwrap();
    let mut old_ws = old.connect().await.unwrap();
    assert!(matches!(
        old_ws.next().await.unwrap(),
        Some(ServerFrame::Hello { .. })
    ));
    let c = srv.client();
    c.request_code(&p).await.unwrap();
    let code = srv.last_code(&p);
    let new_dev = new_device();
    let login = |move_account: bool| LoginRequest {
        phone: Some(p.clone()),
        device: new_dev.clone(),
        proof: Proof::SmsCode { code: code.clone() },
        rescue_password: move_account.then(|| "the real rescue".to_string()),
        move_account,
    };
    let e = c.login(&login(false)).await.unwrap_err();
    assert_eq!(code_of(&e), "device_mismatch");
    // The same code, now asking to move.
    let moved = c.login(&login(true)).await.unwrap();
    assert!(moved.moved);
    assert_eq!(
        old_ws.next().await.unwrap(),
        Some(ServerFrame::Closing {
            reason: CloseReason::Moved
        })
    );
}

#[tokio::test]
async fn the_session_token_is_taken_from_the_query_only_by_the_websocket_upgrade() {
    let srv = TestServer::start().await;
    let (_, login, _) = srv.login(&phone(11)).await;
    let (status, body) = via_proxy(
        &srv,
        reqwest::Method::GET,
        &format!("/v1/me?access_token={}", login.token),
        None,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("missing_token"))
    );
    // The upgrade still accepts it (browsers cannot set headers on a WebSocket).
    let url = format!("ws://{}/v1/ws?access_token={}", srv.addr, login.token);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    use futures_util::StreamExt;
    let first = ws.next().await.unwrap().unwrap();
    assert!(first.to_text().unwrap().contains("hello"), "{first:?}");
}

#[tokio::test]
async fn polling_an_mo_token_reveals_nothing_to_another_device_and_is_rate_limited() {
    let srv = TestServer::start_with(|c| c.identity.mo_polls_per_addr_per_minute = 20).await;
    let c = srv.client();
    let dev = new_device();
    let started = c.mo_start(&dev).await.unwrap();
    let (status, _) = via_proxy(
        &srv,
        reqwest::Method::GET,
        &format!(
            "/v1/sms/mo?from=8613800000012&to=10690000&text={}",
            started.token
        ),
        None,
    )
    .await;
    assert_eq!(status, 200);
    // Another device asking about the token learns nothing, not even that it exists.
    let e = c
        .mo_state(&started.token, "someone-else")
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "unknown_token");
    // A burst of polls from one address is cut off.
    let results = join_all((0..40).map(|_| c.mo_state("RBZZZZZZ", "someone-else"))).await;
    let counts = tally(&results);
    assert!(
        counts.get("too_many_polls").copied().unwrap_or(0) >= 19,
        "{counts:?}"
    );
    // The token is stored keyed-hashed: the plain token finds no row.
    assert!(srv
        .state
        .core
        .store
        .mo_token(&started.token)
        .await
        .unwrap()
        .is_none());
}

#[cfg(unix)]
#[tokio::test]
async fn secrets_at_rest_are_private_and_codes_are_not_recoverable_from_the_database() {
    use sha2::{Digest, Sha256};
    use std::os::unix::fs::PermissionsExt;
    let srv = TestServer::start().await;
    let p = phone(13);
    srv.login(&p).await;
    let mode = |name: &str| {
        std::fs::metadata(srv.state.config.data_dir.join(name))
            .map(|m| m.permissions().mode() & 0o777)
            .ok()
    };
    assert_eq!(mode(""), Some(0o700), "data folder");
    assert_eq!(mode("master.key"), Some(0o600));
    assert_eq!(mode("sms-outbox.jsonl"), Some(0o600));
    if srv.state.config.database_url.is_none() {
        assert_eq!(mode("ringbook.db"), Some(0o600));
        for side in ["ringbook.db-wal", "ringbook.db-shm"] {
            assert!(matches!(mode(side), None | Some(0o600)), "{side}");
        }
    }

    // A live code: its stored hash is not the unkeyed one of any six digits.
    let c = srv.client();
    let other = phone(14);
    c.request_code(&other).await.unwrap();
    let code = srv.last_code(&other);
    let row = srv
        .state
        .core
        .store
        .code_for(&other)
        .await
        .unwrap()
        .unwrap();
    let unkeyed = hex::encode(Sha256::digest(format!("{other}:{code}").as_bytes()));
    assert_ne!(row.code_hash, unkeyed);
    assert!(!row.code_hash.contains(&code));
}

#[cfg(unix)]
#[tokio::test]
async fn an_existing_data_folder_left_open_is_tightened_at_start() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let db = dir.path().join("ringbook.db");
    std::fs::write(&db, b"").unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut cfg = common::test_config(dir.path());
    cfg.database_url = None;
    let srv = TestServer::start_config(cfg, dir).await;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&srv.state.config.data_dir), 0o700);
    assert_eq!(mode(&srv.state.config.data_dir.join("ringbook.db")), 0o600);
}
