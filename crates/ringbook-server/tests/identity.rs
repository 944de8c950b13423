//! Identity against the real server: the four ways to prove a number (PB-3), every branch of the
//! login decision (PB-5), codes, limits, sessions, blocking and malformed input.

mod common;

use common::{new_device, phone, TestServer};
use ringbook_client::ClientError;
use ringbook_proto::api::{HeaderLoginRequest, LoginRequest, LoginResponse, MoState, Proof};
use ringbook_proto::ws::{CloseReason, ServerFrame};

fn code_of(e: &ClientError) -> &str {
    e.code()
        .unwrap_or_else(|| panic!("expected an API error, got {e:?}"))
}

#[tokio::test]
async fn sms_code_registers_then_same_device_logs_in() {
    let srv = TestServer::start().await;
    let dev = new_device();
    let first = srv.login_device("138 0013 8000", &dev).await.unwrap();
    assert!(first.registered && !first.moved);
    assert_eq!(first.phone.as_str(), "+8613800138000");

    // The same number written another way, same device: logged in, not registered again.
    let again = srv.login_device("0086-138-0013-8000", &dev).await.unwrap();
    assert!(!again.registered && !again.moved);

    let me = srv.client().with_token(again.token).me().await.unwrap();
    assert_eq!(me.phone.as_str(), "+8613800138000");
    assert_eq!(me.device_id, dev.device_id);
    assert_eq!(me.login_count, 2);
    // The SMS went through the outbox with the code in it.
    let sms = srv.outbox();
    assert_eq!(sms.len(), 2);
    assert!(sms[0]["text"].as_str().unwrap().contains("Ringbook code"));
}

#[tokio::test]
async fn wrong_and_expired_codes_are_refused() {
    let srv = TestServer::start_with(|c| c.identity.code_max_attempts = 3).await;
    let c = srv.client();
    let p = phone(1);
    c.request_code(&p).await.unwrap();
    let real = srv.last_code(&p);
    let wrong = if real == "000000" { "111111" } else { "000000" };
    let req = |code: &str| LoginRequest {
        phone: Some(p.clone()),
        device: new_device(),
        proof: Proof::SmsCode { code: code.into() },
        rescue_password: None,
        move_account: false,
    };
    let e = c.login(&req(wrong)).await.unwrap_err();
    assert_eq!(code_of(&e), "wrong_code");
    assert!(e.to_string().contains("2 tries left"), "{e}");
    c.login(&req(wrong)).await.unwrap_err();
    c.login(&req(wrong)).await.unwrap_err();
    // Now even the right code is refused: the cap was reached.
    let e = c.login(&req(&real)).await.unwrap_err();
    assert_eq!(code_of(&e), "too_many_attempts");

    // Expired: a server whose codes live 0 seconds.
    let srv = TestServer::start_with(|c| c.identity.code_ttl_secs = 0).await;
    let c = srv.client();
    c.request_code(&p).await.unwrap();
    let code = srv.last_code(&p);
    let e = c.login(&req(&code)).await.unwrap_err();
    assert_eq!(code_of(&e), "code_expired");

    // No code asked for at all.
    let e = c
        .login(&LoginRequest {
            phone: Some(phone(2)),
            ..req("123456")
        })
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "no_code");
}

#[tokio::test]
async fn a_code_logs_in_once() {
    let srv = TestServer::start().await;
    let c = srv.client();
    let p = phone(3);
    c.request_code(&p).await.unwrap();
    let code = srv.last_code(&p);
    let dev = new_device();
    let req = LoginRequest {
        phone: Some(p.clone()),
        device: dev,
        proof: Proof::SmsCode { code },
        rescue_password: None,
        move_account: false,
    };
    c.login(&req).await.unwrap();
    assert_eq!(code_of(&c.login(&req).await.unwrap_err()), "no_code");
}

#[tokio::test]
async fn resend_cool_down_and_per_number_limit() {
    let srv = TestServer::start_with(|c| {
        c.identity.code_resend_secs = 60;
    })
    .await;
    let c = srv.client();
    let sent = c.request_code(&phone(4)).await.unwrap();
    assert_eq!(sent.resend_after_secs, 60);
    let e = c.request_code(&phone(4)).await.unwrap_err();
    assert_eq!(code_of(&e), "resend_too_soon");
    match &e {
        ClientError::Api { status, body } => {
            assert_eq!(*status, 429);
            assert!(body.retry_after_secs.unwrap() > 0);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(srv.outbox().len(), 1, "nothing more was sent");

    // Without the cool-down, the hourly cap per number still holds.
    let srv = TestServer::start_with(|c| {
        c.identity.code_resend_secs = 0;
        c.identity.codes_per_number_per_hour = 2;
    })
    .await;
    let c = srv.client();
    c.request_code(&phone(5)).await.unwrap();
    c.request_code(&phone(5)).await.unwrap();
    assert_eq!(
        code_of(&c.request_code(&phone(5)).await.unwrap_err()),
        "too_many_codes"
    );
    // Another number is not affected.
    c.request_code(&phone(6)).await.unwrap();
}

#[tokio::test]
async fn per_address_code_limit() {
    let srv = TestServer::start_with(|c| c.identity.codes_per_addr_per_hour = 2).await;
    let c = srv.client();
    c.request_code(&phone(7)).await.unwrap();
    c.request_code(&phone(8)).await.unwrap();
    assert_eq!(
        code_of(&c.request_code(&phone(9)).await.unwrap_err()),
        "too_many_codes"
    );
}

#[tokio::test]
async fn invalid_numbers_are_refused_with_a_reason() {
    let srv = TestServer::start().await;
    let c = srv.client();
    for (raw, hint) in [
        ("hello", "not a phone number"),
        ("12345", ""),
        ("+86 12800138000", "not a valid number"),
        ("010 6552 9988", "not a mobile number"),
        ("", "not a phone number"),
        ("+86138001380001234567890", ""),
    ] {
        let e = c.request_code(raw).await.unwrap_err();
        assert_eq!(code_of(&e), "invalid_phone", "{raw}");
        assert!(e.to_string().contains(hint), "{raw}: {e}");
    }
    assert!(srv.outbox().is_empty());
}

#[tokio::test]
async fn other_device_is_refused_then_moved_with_the_rescue_password() {
    let srv = TestServer::start().await;
    let p = phone(10);
    let (old_client, _, _) = srv.login(&p).await;
    // Without a rescue password the account cannot be moved at all.
    let new_dev = new_device();
    let e = srv
        .login_with(&p, &new_dev, Some("whatever1"), true)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "no_rescue_password");

    old_client
        .set_rescue_password("correct horse", None)
        .await
        .unwrap();
    let mut old_ws = old_client.connect().await.unwrap();
    assert!(matches!(
        old_ws.next().await.unwrap(),
        Some(ServerFrame::Hello { .. })
    ));

    // Another device, no move asked: refused with a clear code.
    let e = srv.login_device(&p, &new_dev).await.unwrap_err();
    assert_eq!(code_of(&e), "device_mismatch");
    assert!(e.to_string().contains("another device"));
    // Move asked with the code the refusal left unused, wrong password.
    let e = srv
        .client()
        .login(&LoginRequest {
            phone: Some(p.clone()),
            device: new_dev.clone(),
            proof: Proof::SmsCode {
                code: srv.last_code(&p),
            },
            rescue_password: Some("wrong password".into()),
            move_account: true,
        })
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "wrong_rescue_password");
    // That code is used up now; the cool-down has to pass before the next one.
    srv.state.core.store.delete_code(&p).await.unwrap();
    // Move with the right password: new identity overwrites the old, old sessions end.
    let moved = srv
        .login_with(&p, &new_dev, Some("correct horse"), true)
        .await
        .unwrap();
    assert!(moved.moved && !moved.registered);
    assert_eq!(
        old_ws.next().await.unwrap(),
        Some(ServerFrame::Closing {
            reason: CloseReason::Moved
        })
    );
    assert_eq!(
        code_of(&old_client.me().await.unwrap_err()),
        "invalid_token"
    );
    let me = srv.client().with_token(moved.token).me().await.unwrap();
    assert_eq!(me.device_id, new_dev.device_id);
}

#[tokio::test]
async fn wrong_rescue_passwords_lock_the_account_for_a_while() {
    let srv = TestServer::start_with(|c| {
        c.identity.rescue_max_failures = 3;
        c.identity.rescue_lock_secs = 600;
    })
    .await;
    let p = phone(11);
    let (client, _, _) = srv.login(&p).await;
    client
        .set_rescue_password("the right one", None)
        .await
        .unwrap();
    let dev = new_device();
    for _ in 0..2 {
        let e = srv
            .login_with(&p, &dev, Some("nope nope"), true)
            .await
            .unwrap_err();
        assert_eq!(code_of(&e), "wrong_rescue_password");
    }
    let e = srv
        .login_with(&p, &dev, Some("nope nope"), true)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "rescue_locked");
    // Locked: even the right password waits.
    let e = srv
        .login_with(&p, &dev, Some("the right one"), true)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "rescue_locked");
    match e {
        ClientError::Api { status, body } => {
            assert_eq!(status, 429);
            assert!(body.retry_after_secs.unwrap() > 500);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn secure_mode_asks_for_the_rescue_password_every_time() {
    let srv = TestServer::start().await;
    let p = phone(12);
    let dev = new_device();
    let first = srv.login_device(&p, &dev).await.unwrap();
    let client = srv.client().with_token(first.token);
    let e = client.set_secure_mode(true).await.unwrap_err();
    assert_eq!(code_of(&e), "no_rescue_password");
    client
        .set_rescue_password("secure pass", None)
        .await
        .unwrap();
    client.set_secure_mode(true).await.unwrap();

    let e = srv.login_device(&p, &dev).await.unwrap_err();
    assert_eq!(code_of(&e), "rescue_password_required");
    let e = srv
        .login_with(&p, &dev, Some("not it at all"), false)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "wrong_rescue_password");
    srv.login_with(&p, &dev, Some("secure pass"), false)
        .await
        .unwrap();
    // Changing the password needs the current one.
    let e = client
        .set_rescue_password("another one", None)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "rescue_password_required");
    client
        .set_rescue_password("another one", Some("secure pass"))
        .await
        .unwrap();
}

#[tokio::test]
async fn blocked_numbers_are_refused_and_disconnected() {
    let srv = TestServer::start().await;
    let p = phone(13);
    let dev = new_device();
    let first = srv.login_device(&p, &dev).await.unwrap();
    let client = srv.client().with_token(first.token);
    let mut ws = client.connect().await.unwrap();
    assert!(matches!(
        ws.next().await.unwrap(),
        Some(ServerFrame::Hello { .. })
    ));

    // Admin from loopback (no admin token configured).
    srv.client()
        .admin_set_blocked("13800000013", true)
        .await
        .unwrap();
    assert_eq!(
        ws.next().await.unwrap(),
        Some(ServerFrame::Closing {
            reason: CloseReason::Blocked
        })
    );
    assert_eq!(code_of(&client.me().await.unwrap_err()), "blocked");
    assert_eq!(
        code_of(&srv.login_device(&p, &dev).await.unwrap_err()),
        "blocked"
    );

    srv.client().admin_set_blocked(&p, false).await.unwrap();
    srv.login_device(&p, &dev).await.unwrap();
    let e = srv
        .client()
        .admin_set_blocked(&phone(99), true)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "unknown_user");
}

#[tokio::test]
async fn admin_token_is_required_when_configured() {
    let srv = TestServer::start_with(|c| c.admin.token = Some("s3cret-admin".into())).await;
    let p = phone(14);
    srv.login(&p).await;
    let e = srv.client().admin_set_blocked(&p, true).await.unwrap_err();
    assert_eq!(code_of(&e), "admin_only");
    srv.client()
        .with_token("s3cret-admin")
        .admin_set_blocked(&p, true)
        .await
        .unwrap();
}

#[tokio::test]
async fn declared_number_only_when_switched_on() {
    let req = |dev| LoginRequest {
        phone: Some(phone(15)),
        device: dev,
        proof: Proof::Declared,
        rescue_password: None,
        move_account: false,
    };
    let srv = TestServer::start().await;
    let e = srv.client().login(&req(new_device())).await.unwrap_err();
    assert_eq!(code_of(&e), "method_disabled");

    let srv = TestServer::start_with(|c| c.identity.declared_number = true).await;
    let resp = srv.client().login(&req(new_device())).await.unwrap();
    assert!(resp.registered);
    assert_eq!(resp.phone.as_str(), &phone(15));
}

async fn mo_get(srv: &TestServer, from: &str, text: &str, key: Option<&str>) -> (u16, String) {
    let mut url = reqwest_url(srv, "/v1/sms/mo");
    url.query_pairs_mut()
        .append_pair("from", from)
        .append_pair("to", "10690000")
        .append_pair("text", text);
    if let Some(k) = key {
        url.query_pairs_mut().append_pair("key", k);
    }
    let resp = reqwest::get(url).await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

fn reqwest_url(srv: &TestServer, path: &str) -> reqwest::Url {
    reqwest::Url::parse(&format!("{}{path}", srv.url)).unwrap()
}

#[tokio::test]
async fn mobile_originated_sms_binds_the_sender_to_the_device() {
    let srv = TestServer::start_with(|c| c.sms.mo_key = Some("kannel-key".into())).await;
    let c = srv.client();
    let dev = new_device();
    let started = c.mo_start(&dev).await.unwrap();
    assert_eq!(started.service_number, "10690000");
    assert!(started.instructions.contains(&started.token));
    assert_eq!(
        c.mo_state(&started.token, &dev.device_id).await.unwrap(),
        MoState::Waiting
    );

    // Logging in before the SMS arrived says so.
    let login = |device| LoginRequest {
        phone: None,
        device,
        proof: Proof::MoToken {
            token: started.token.clone(),
        },
        rescue_password: None,
        move_account: false,
    };
    assert_eq!(
        code_of(&c.login(&login(dev.clone())).await.unwrap_err()),
        "sms_not_received"
    );

    // Kannel forwards the text; a wrong key is refused.
    let (status, _) = mo_get(&srv, "8613800000016", &started.token, Some("wrong")).await;
    assert_eq!(status, 401);
    let (status, reply) = mo_get(
        &srv,
        "8613800000016",
        &format!("login {}", started.token.to_lowercase()),
        Some("kannel-key"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(reply.contains("confirmed"), "{reply}");
    match c.mo_state(&started.token, &dev.device_id).await.unwrap() {
        MoState::Received { phone } => assert_eq!(phone.as_str(), "+8613800000016"),
        other => panic!("{other:?}"),
    }
    // Another device cannot use the token.
    assert_eq!(
        code_of(&c.login(&login(new_device())).await.unwrap_err()),
        "wrong_device"
    );
    let resp = c.login(&login(dev.clone())).await.unwrap();
    assert!(resp.registered);
    assert_eq!(resp.phone.as_str(), "+8613800000016");
    // Used once.
    assert_eq!(
        code_of(&c.login(&login(dev)).await.unwrap_err()),
        "unknown_token"
    );
}

#[tokio::test]
async fn header_enrichment_only_from_trusted_gateways() {
    let srv = TestServer::start().await;
    let req = HeaderLoginRequest {
        device: new_device(),
        rescue_password: None,
        move_account: false,
    };
    let post = |srv: &TestServer, msisdn: &str| {
        let url = format!("{}/v1/auth/header", srv.url);
        let body = serde_json::to_string(&req).unwrap();
        let msisdn = msisdn.to_string();
        async move {
            let resp = reqwest::Client::new()
                .post(url)
                .header("content-type", "application/json")
                .header("X-MSISDN", msisdn)
                .body(body)
                .send()
                .await
                .unwrap();
            (
                resp.status().as_u16(),
                resp.json::<serde_json::Value>().await.unwrap(),
            )
        }
    };
    let (status, body) = post(&srv, "8613800000017").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("method_disabled"))
    );

    // Switched on, but this test client (127.0.0.1) is not a trusted gateway.
    let srv = TestServer::start_with(|c| {
        c.identity.header_enrichment = true;
        c.identity.header_trusted_proxies = vec!["10.9.9.9/32".parse().unwrap()];
    })
    .await;
    let (status, body) = post(&srv, "8613800000017").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("untrusted_proxy"))
    );

    let srv = TestServer::start_with(|c| {
        c.identity.header_enrichment = true;
        c.identity.header_trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let (status, body) = post(&srv, "8613800000017").await;
    assert_eq!(status, 200, "{body}");
    let resp: LoginResponse = serde_json::from_value(body).unwrap();
    assert_eq!(resp.phone.as_str(), "+8613800000017");
    let (status, body) = post(&srv, "not-a-number").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_phone"))
    );
}

#[tokio::test]
async fn sessions_are_listed_and_revoked() {
    let srv = TestServer::start().await;
    let p = phone(18);
    let dev = new_device();
    let a = srv.login_device(&p, &dev).await.unwrap();
    let b = srv.login_device(&p, &dev).await.unwrap();
    let ca = srv.client().with_token(a.token);
    let cb = srv.client().with_token(b.token);
    let list = ca.sessions().await.unwrap();
    assert_eq!(list.len(), 2);
    assert!(list.iter().any(|s| s.id == a.session_id && s.current));
    let mut ws_b = cb.connect().await.unwrap();
    ws_b.next().await.unwrap();
    ca.revoke_session(&b.session_id).await.unwrap();
    assert_eq!(
        ws_b.next().await.unwrap(),
        Some(ServerFrame::Closing {
            reason: CloseReason::Revoked
        })
    );
    assert_eq!(code_of(&cb.me().await.unwrap_err()), "invalid_token");
    assert_eq!(
        code_of(&ca.revoke_session("nope").await.unwrap_err()),
        "unknown_session"
    );
    ca.logout().await.unwrap();
    assert_eq!(code_of(&ca.me().await.unwrap_err()), "invalid_token");
}

#[tokio::test]
async fn websocket_records_the_connection_and_keeps_several_per_session() {
    let srv = TestServer::start().await;
    let (client, login, _) = srv.login(&phone(19)).await;
    let mut first = client.connect().await.unwrap();
    match first.next().await.unwrap() {
        Some(ServerFrame::Hello { phone, node, .. }) => {
            assert_eq!(phone, login.phone.as_str());
            assert_eq!(node, srv.state.core.node);
        }
        other => panic!("{other:?}"),
    }
    let user = srv
        .state
        .core
        .store
        .user_by_phone(login.phone.as_str())
        .await
        .unwrap()
        .unwrap();
    let conns = srv.state.core.store.connections_of(user.id).await.unwrap();
    assert_eq!(conns.len(), 1);
    assert_eq!(conns[0].client_addr, "127.0.0.1");

    // A second connection of the same session (another command of the same device) leaves the
    // first one open: both answer.
    let mut second = client.connect().await.unwrap();
    assert!(matches!(
        second.next().await.unwrap(),
        Some(ServerFrame::Hello { .. })
    ));
    first
        .send(&ringbook_proto::ws::ClientFrame::Ping { nonce: 1 })
        .await
        .unwrap();
    assert_eq!(
        first.next().await.unwrap(),
        Some(ServerFrame::Pong { nonce: 1 })
    );
    // Beyond the cap, the oldest is replaced.
    let mut more = Vec::new();
    for _ in 2..ringbook_server::hub::MAX_CONNECTIONS_PER_SESSION + 1 {
        let mut c = client.connect().await.unwrap();
        assert!(matches!(
            c.next().await.unwrap(),
            Some(ServerFrame::Hello { .. })
        ));
        more.push(c);
    }
    assert_eq!(
        first.next().await.unwrap(),
        Some(ServerFrame::Closing {
            reason: CloseReason::Replaced
        })
    );
    for c in more {
        c.close().await.unwrap();
    }

    // Ping works, and garbage gets an error frame without closing.
    second
        .send(&ringbook_proto::ws::ClientFrame::Ping { nonce: 7 })
        .await
        .unwrap();
    assert_eq!(
        second.next().await.unwrap(),
        Some(ServerFrame::Pong { nonce: 7 })
    );
    second.send_raw("{not json").await.unwrap();
    assert!(
        matches!(second.next().await.unwrap(), Some(ServerFrame::Error(e)) if e.code == "bad_frame")
    );
    second.close().await.unwrap();
    // The record goes away once the server has seen the close.
    for _ in 0..100 {
        if srv
            .state
            .core
            .store
            .connections_of(user.id)
            .await
            .unwrap()
            .is_empty()
        {
            return;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("connection record not removed");
}

#[tokio::test]
async fn websocket_without_a_valid_token_is_refused() {
    let srv = TestServer::start().await;
    let e = srv
        .client()
        .with_token("bogus")
        .connect()
        .await
        .err()
        .unwrap();
    assert_eq!(code_of(&e), "invalid_token");
}

#[tokio::test]
async fn malformed_and_oversize_bodies_get_json_errors() {
    let srv = TestServer::start().await;
    let http = reqwest::Client::new();
    let post = |body: Vec<u8>, ct: &'static str| {
        http.post(format!("{}/v1/auth/code", srv.url))
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let cases: Vec<(Vec<u8>, &str, u16, &str)> = vec![
        (
            b"{not json".to_vec(),
            "application/json",
            400,
            "malformed_json",
        ),
        (
            b"{\"phone\": 5}".to_vec(),
            "application/json",
            400,
            "invalid_body",
        ),
        (b"{}".to_vec(), "application/json", 400, "invalid_body"),
        (
            b"phone=1".to_vec(),
            "text/plain",
            400,
            "unsupported_media_type",
        ),
        (
            vec![b' '; 200 * 1024],
            "application/json",
            413,
            "body_too_large",
        ),
        (
            vec![0xff, 0xfe, 0x00],
            "application/json",
            400,
            "malformed_json",
        ),
    ];
    for (body, ct, status, code) in cases {
        let resp = post(body, ct).await.unwrap();
        assert_eq!(resp.status().as_u16(), status, "{code}");
        let v: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(v["code"], code);
        assert!(v["message"].as_str().unwrap().len() > 10);
    }
    let resp = http
        .get(format!("{}/v1/nothing-here", srv.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    assert_eq!(
        resp.json::<serde_json::Value>().await.unwrap()["code"],
        "no_route"
    );
    let resp = http
        .delete(format!("{}/v1/auth/code", srv.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 405);
    assert_eq!(
        resp.json::<serde_json::Value>().await.unwrap()["code"],
        "method_not_allowed"
    );
    // A bad device identity is refused before anything is stored.
    let resp = http
        .post(format!("{}/v1/auth/login", srv.url))
        .json(&serde_json::json!({"phone": "13800138000", "device": {"device_id": "x"}, "proof": {"method": "declared"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert_eq!(
        resp.json::<serde_json::Value>().await.unwrap()["code"],
        "invalid_device"
    );
}

#[tokio::test]
async fn operations_endpoints_and_every_documented_path_answer() {
    let srv = TestServer::start().await;
    let http = reqwest::Client::new();
    assert_eq!(
        http.get(format!("{}/healthz", srv.url))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ok"
    );
    assert_eq!(
        http.get(format!("{}/readyz", srv.url))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    srv.login(&phone(20)).await;
    let metrics = http
        .get(format!("{}/metrics", srv.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("ringbook_logins_total{kind=\"registered\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("ringbook_http_requests_total"));

    let doc: serde_json::Value = http
        .get(format!("{}/openapi.json", srv.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 15);
    for (path, ops) in paths {
        let concrete = path
            .replace("{token}", "RBAAAAAA")
            .replace("{id}", "x")
            .replace("{phone}", "13800138000");
        for method in ops.as_object().unwrap().keys() {
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let resp = http
                .request(m, format!("{}{concrete}", srv.url))
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let body = resp.text().await.unwrap_or_default();
            assert!(
                status != 405 && !body.contains("\"no_route\""),
                "{method} {path} is documented but not served: {status} {body}"
            );
        }
    }
}

#[tokio::test]
async fn graceful_shutdown_closes_websockets() {
    let srv = TestServer::start().await;
    let (client, _, _) = srv.login(&phone(21)).await;
    let mut ws = client.connect().await.unwrap();
    ws.next().await.unwrap();
    let url = srv.url.clone();
    srv.stop().await;
    assert_eq!(
        ws.next().await.unwrap(),
        Some(ServerFrame::Closing {
            reason: CloseReason::Shutdown
        })
    );
    assert!(reqwest::get(format!("{url}/healthz")).await.is_err());
}
