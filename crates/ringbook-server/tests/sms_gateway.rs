//! The SMS gateway providers against an HTTP peer that behaves like Kannel's `sendsms` and like a
//! JSON provider: what they send, and that a refused or failed send reaches the caller.

mod common;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use common::{phone, TestServer};
use ringbook_server::config::SmsProvider;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Peer {
    seen: Arc<Mutex<Vec<serde_json::Value>>>,
    /// Status to answer with: Kannel answers 202 "0: Accepted for delivery", 403 on bad auth.
    status: Arc<Mutex<u16>>,
}

async fn start_peer() -> (String, Peer) {
    let peer = Peer {
        status: Arc::new(Mutex::new(202)),
        ..Default::default()
    };
    let app =
        Router::new()
            .route(
                "/cgi-bin/sendsms",
                get(
                    |State(p): State<Peer>, Query(q): Query<HashMap<String, String>>| async move {
                        p.seen
                            .lock()
                            .unwrap()
                            .push(serde_json::to_value(&q).unwrap());
                        let status = *p.status.lock().unwrap();
                        let body = if status == 202 {
                            "0: Accepted for delivery"
                        } else {
                            "Authorization failed for sendsms"
                        };
                        (StatusCode::from_u16(status).unwrap(), body)
                    },
                ),
            )
            .route(
                // A gateway whose refusal repeats the request, password and text included.
                "/echo/cgi-bin/sendsms",
                get(
                    |State(p): State<Peer>,
                     axum::extract::RawQuery(raw): axum::extract::RawQuery,
                     Query(q): Query<HashMap<String, String>>| async move {
                        p.seen
                            .lock()
                            .unwrap()
                            .push(serde_json::to_value(&q).unwrap());
                        (
                            StatusCode::BAD_REQUEST,
                            format!("bad request: {}", raw.unwrap_or_default()),
                        )
                    },
                ),
            )
            .route(
                "/sms",
                post(
                    |State(p): State<Peer>,
                     headers: HeaderMap,
                     Json(v): Json<serde_json::Value>| async move {
                        let auth = headers
                            .get("authorization")
                            .and_then(|h| h.to_str().ok())
                            .unwrap_or("")
                            .to_string();
                        p.seen
                            .lock()
                            .unwrap()
                            .push(serde_json::json!({"auth": auth, "body": v}));
                        StatusCode::from_u16(*p.status.lock().unwrap()).unwrap()
                    },
                ),
            )
            .with_state(peer.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, peer)
}

#[tokio::test]
async fn kannel_sendsms_gets_the_code_and_failures_reach_the_caller() {
    let (url, peer) = start_peer().await;
    let srv = TestServer::start_with(|c| {
        c.sms.provider = SmsProvider::Kannel;
        c.sms.url = Some(format!("{url}/cgi-bin/sendsms").into());
        c.sms.username = Some("rb".into());
        c.sms.password = Some("pw".into());
        c.sms.retries = 0;
    })
    .await;
    let c = srv.client();
    c.request_code(&phone(1)).await.unwrap();
    let seen = peer.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0]["to"], phone(1));
    assert_eq!(seen[0]["username"], "rb");
    assert_eq!(seen[0]["from"], "10690000");
    assert!(seen[0]["text"].as_str().unwrap().contains("Ringbook code"));

    // Kannel refuses: the caller hears it, and no code waits (so no cool-down either).
    *peer.status.lock().unwrap() = 403;
    let e = c.request_code(&phone(2)).await.unwrap_err();
    assert_eq!(e.code(), Some("sms_failed"));
    assert!(e.to_string().contains("403"), "{e}");
    *peer.status.lock().unwrap() = 202;
    c.request_code(&phone(2)).await.unwrap();
}

#[tokio::test]
async fn http_provider_posts_json_with_the_api_key_and_retries_server_errors() {
    let (url, peer) = start_peer().await;
    let srv = TestServer::start_with(|c| {
        c.sms.provider = SmsProvider::Http;
        c.sms.url = Some(format!("{url}/sms").into());
        c.sms.api_key = Some("key-123".into());
        c.sms.retries = 2;
    })
    .await;
    srv.client().request_code(&phone(3)).await.unwrap();
    let seen = peer.seen.lock().unwrap().clone();
    assert_eq!(seen[0]["auth"], "Bearer key-123");
    assert_eq!(seen[0]["body"]["to"], phone(3));

    // A 503 is retried (three tries in all), then reported.
    *peer.status.lock().unwrap() = 503;
    let e = srv.client().request_code(&phone(4)).await.unwrap_err();
    assert_eq!(e.code(), Some("sms_failed"));
    assert_eq!(peer.seen.lock().unwrap().len(), 1 + 3);
}

#[tokio::test]
async fn unreachable_gateway_is_reported() {
    let srv = TestServer::start_with(|c| {
        c.sms.provider = SmsProvider::Http;
        c.sms.url = Some("http://127.0.0.1:9/sms".into());
        c.sms.retries = 0;
    })
    .await;
    let e = srv.client().request_code(&phone(5)).await.unwrap_err();
    assert_eq!(e.code(), Some("sms_failed"));
    assert!(e.to_string().contains("could not be reached"), "{e}");
}

// ---- coding, parts, delivery reports, callbacks, secrets (issue: real Kannel end to end) ----

use common::logs;
use ringbook_proto::api::{DeliveryState, LoginRequest, Proof};
use ringbook_proto::services::{OrderRequest, OrderState};

fn unused_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn secret(name: &str) -> String {
    format!("{name}-{}", hex::encode(rand::random::<[u8; 8]>()))
}

async fn fetch(url: &str, headers: &[(&str, &str)]) -> (u16, HeaderMap, String) {
    let mut req = reqwest::Client::new().get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.text().await.unwrap())
}

fn code_login(phone: &str, code: &str) -> LoginRequest {
    LoginRequest {
        phone: Some(phone.into()),
        device: common::new_device(),
        proof: Proof::SmsCode { code: code.into() },
        rescue_password: None,
        move_account: false,
    }
}

#[tokio::test]
async fn texts_go_in_the_coding_they_need_and_ask_kannel_for_delivery_reports() {
    let (url, peer) = start_peer().await;
    let srv = TestServer::start_with(|c| {
        c.sms.provider = SmsProvider::Kannel;
        c.sms.url = Some(format!("{url}/cgi-bin/sendsms").into());
        c.sms.username = Some("rb".into());
        c.sms.password = Some("pw".into());
        c.sms.dlr_url = Some("http://127.0.0.1:8080/v1/sms/dlr".into());
        c.sms.mo_key = Some("k1".into());
        c.sms.retries = 0;
    })
    .await;
    let sent = srv.client().request_code(&phone(20)).await.unwrap();
    let gsm = srv
        .state
        .sms
        .send(&phone(21), &"Long plain text. ".repeat(12), "test")
        .await
        .unwrap();
    let ucs2 = srv
        .state
        .sms
        .send(&phone(22), "Ringbook：你好", "test")
        .await
        .unwrap();
    let seen = peer.seen.lock().unwrap().clone();
    // The code fits one 7-bit SMS; the 204-character text is two 7-bit parts; Chinese is UCS-2.
    assert_eq!(
        (seen[0]["coding"].as_str(), seen[0]["charset"].as_str()),
        (Some("0"), Some("UTF-8"))
    );
    assert_eq!((seen[1]["coding"].as_str(), gsm.parts), (Some("0"), 2));
    assert_eq!((seen[2]["coding"].as_str(), ucs2.parts), (Some("2"), 1));
    assert_eq!(seen[2]["text"], "Ringbook：你好");
    // Delivery reports: every type, to Ringbook's callback, with the SMS's reference and the key.
    let id = sent.delivery_id.unwrap();
    assert_eq!(seen[0]["dlr-mask"], "31");
    assert_eq!(
        seen[0]["dlr-url"],
        format!("http://127.0.0.1:8080/v1/sms/dlr?id={id}&type=%d&reply=%A&key=k1")
    );

    // Longer than sms.max_parts (4): refused whole rather than cut, and counted.
    let e = srv
        .state
        .sms
        .send(&phone(23), &"x".repeat(4 * 153 + 1), "test")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("5 SMS parts"), "{e}");
    assert_eq!(peer.seen.lock().unwrap().len(), 3);
    let metrics = reqwest::get(format!("{}/metrics", srv.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        r#"ringbook_sms_parts_total{coding="gsm7"} 3"#,
        r#"ringbook_sms_parts_total{coding="ucs2"} 1"#,
        r#"ringbook_sms_failed_total{kind="test"} 1"#,
        r#"ringbook_sms_sent_total{kind="verification_code"} 1"#,
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
}

/// Every configured secret, the code and the sendsms URL stay out of what clients get and of
/// the logs: for Kannel down, Kannel refusing with an answer that echoes the request, the HTTP
/// provider down, the service platform down, and gateway callbacks carrying their key.
#[tokio::test]
async fn secrets_stay_out_of_answers_and_logs() {
    logs::capture();
    let (url, peer) = start_peer().await;
    let password = secret("kannel-pw");
    let key = secret("callback-key");
    let api_key = secret("api-key");
    let url_token = secret("url-token");
    let platform_secret = secret("platform-pw");
    let mut answers = Vec::new();
    let ask_code = |srv_url: String, phone: String| async move {
        let resp = reqwest::Client::new()
            .post(format!("{srv_url}/v1/auth/code"))
            .json(&serde_json::json!({ "phone": phone }))
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    };

    // Kannel down.
    let (pw, k) = (password.clone(), key.clone());
    let down = format!("http://127.0.0.1:{}/cgi-bin/sendsms", unused_port());
    let srv = TestServer::start_with(move |c| {
        c.sms.provider = SmsProvider::Kannel;
        c.sms.url = Some(down.into());
        c.sms.username = Some("rb".into());
        c.sms.password = Some(pw.into());
        c.sms.mo_key = Some(k.into());
        c.sms.retries = 1;
    })
    .await;
    let (status, body) = ask_code(srv.url.clone(), phone(30)).await;
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("could not be reached"), "{body}");
    answers.push(body);
    // The callback key in a query, logged at DEBUG by the request tracing.
    let (status, _, _) = fetch(
        &format!("{}/v1/sms/mo?from={}&text=hi&key={key}", srv.url, phone(31)),
        &[],
    )
    .await;
    assert_eq!(status, 200);

    // Kannel refusing, with an answer that repeats the request (password and text).
    let (pw, echo) = (password.clone(), format!("{url}/echo/cgi-bin/sendsms"));
    let srv2 = TestServer::start_with(move |c| {
        c.sms.provider = SmsProvider::Kannel;
        c.sms.url = Some(echo.into());
        c.sms.username = Some("rb".into());
        c.sms.password = Some(pw.into());
    })
    .await;
    let (status, body) = ask_code(srv2.url.clone(), phone(32)).await;
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("refused the message (HTTP 400)"), "{body}");
    answers.push(body);
    let echoed = peer.seen.lock().unwrap().last().unwrap()["text"]
        .as_str()
        .unwrap()
        .to_string();
    let code = echoed
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap()
        .to_string();

    // The HTTP provider down, with a token in its URL and an API key.
    let (ak, provider) = (
        api_key.clone(),
        format!("http://127.0.0.1:{}/sms?token={url_token}", unused_port()),
    );
    let srv3 = TestServer::start_with(move |c| {
        c.sms.provider = SmsProvider::Http;
        c.sms.url = Some(provider.into());
        c.sms.api_key = Some(ak.into());
        c.sms.retries = 0;
    })
    .await;
    let (status, body) = ask_code(srv3.url.clone(), phone(33)).await;
    assert_eq!(status, 502, "{body}");
    answers.push(body);

    // The service platform down, with credentials in its URL.
    let platform = format!(
        "http://ringbook:{platform_secret}@127.0.0.1:{}/v1/platform",
        unused_port()
    );
    let srv4 = TestServer::start_with(move |c| {
        c.services.platform = ringbook_server::services::PlatformKind::Http;
        c.services.platform_url = Some(platform);
    })
    .await;
    let (client, _, _) = srv4.login(&phone(34)).await;
    let e = client.services_catalog().await.unwrap_err();
    assert_eq!(e.code(), Some("platform_unavailable"));
    answers.push(e.to_string());

    let logs = logs::text();
    assert!(logs.contains("sms failed"), "the failures are logged");
    for (name, text) in answers
        .iter()
        .map(|a| ("an answer", a.as_str()))
        .chain(std::iter::once(("the logs", logs.as_str())))
    {
        for s in [&password, &key, &api_key, &url_token, &platform_secret] {
            assert!(!text.contains(s.as_str()), "{name} show {s}: {text}");
        }
        let (spaced, encoded) = (format!("is {code}"), format!("is+{code}"));
        for s in ["sendsms?", spaced.as_str(), encoded.as_str()] {
            assert!(!text.contains(s), "{name} show {s}: {text}");
        }
    }
}

#[tokio::test]
async fn the_gateway_key_comes_in_a_header_or_the_query() {
    let srv = TestServer::start_with(|c| c.sms.mo_key = Some("k-123".into())).await;
    let mo = format!("{}/v1/sms/mo?from={}&text=hello", srv.url, phone(40));
    assert_eq!(fetch(&format!("{mo}&key=k-123"), &[]).await.0, 200);
    assert_eq!(
        fetch(&mo, &[("authorization", "Bearer k-123")]).await.0,
        200
    );
    // Basic auth with the key as password: what Kannel sends for http://user:KEY@host/….
    assert_eq!(
        fetch(&mo, &[("authorization", "Basic a2FubmVsOmstMTIz")])
            .await
            .0,
        200
    );
    let (status, _, body) = fetch(&mo, &[]).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("bad_key"), "{body}");
    assert_eq!(fetch(&mo, &[("authorization", "Bearer k-12")]).await.0, 401);
    assert_eq!(fetch(&format!("{mo}&key=k-1234"), &[]).await.0, 401);

    // Many guesses at once, one carrying a login token: all refused, the token stays unbound.
    let c = srv.client();
    let device = common::new_device();
    let started = c.mo_start(&device).await.unwrap();
    let guesses = (0..60).map(|i| {
        let url = format!(
            "{}/v1/sms/mo?from={}&text={}&key=guess-{i}",
            srv.url,
            phone(41),
            started.token
        );
        async move {
            fetch(&url, &[("authorization", &format!("Bearer guess-{i}"))])
                .await
                .0
        }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(
        c.mo_state(&started.token, &device.device_id).await.unwrap(),
        ringbook_proto::api::MoState::Waiting
    );
}

#[tokio::test]
async fn the_callbacks_check_the_client_address_not_a_forged_header() {
    // Only 10.0.0.0/8 may call; the test's requests come from 127.0.0.1.
    let srv =
        TestServer::start_with(|c| c.sms.mo_allowed = vec!["10.0.0.0/8".parse().unwrap()]).await;
    let mo = format!("{}/v1/sms/mo?from={}&text=hi", srv.url, phone(42));
    let dlr = format!("{}/v1/sms/dlr?id=x&type=1", srv.url);
    for url in [&mo, &dlr] {
        let (status, _, body) = fetch(url, &[("x-forwarded-for", "10.0.0.5")]).await;
        assert_eq!(status, 403, "{body}");
        assert!(body.contains("not_sms_gateway"), "{body}");
    }
    // Behind a trusted proxy, the forwarded address is the client's.
    let srv = TestServer::start_with(|c| {
        c.sms.mo_allowed = vec!["10.0.0.0/8".parse().unwrap()];
        c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let mo = format!("{}/v1/sms/mo?from={}&text=hi", srv.url, phone(42));
    assert_eq!(fetch(&mo, &[("x-forwarded-for", "10.0.0.5")]).await.0, 200);
    assert_eq!(
        fetch(&mo, &[("x-forwarded-for", "192.168.1.5")]).await.0,
        403
    );
    assert_eq!(fetch(&mo, &[]).await.0, 403);
}

#[tokio::test]
async fn mo_answers_are_what_kannel_needs() {
    let help = "Ringbook：本号码只接收登录码。Open the app.";
    let srv = TestServer::start_with(|c| c.sms.mo_help_reply = help.into()).await;
    let base = format!("{}/v1/sms/mo", srv.url);
    // Nobody waits for it: the help reply, marked UCS-2 for Kannel, as UTF-8.
    let (status, headers, body) = fetch(
        &format!("{base}?from={}&text=%E4%BD%A0%E5%A5%BD", phone(43)),
        &[],
    )
    .await;
    assert_eq!((status, body.as_str()), (200, help));
    assert_eq!(headers["x-kannel-coding"], "2");
    assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
    // A login token texted in UCS-2 (Kannel without mo-recode: UTF-16BE bytes, coding=2).
    let c = srv.client();
    let started = c.mo_start(&common::new_device()).await.unwrap();
    let text: String = format!("登录 {} 谢谢", started.token)
        .encode_utf16()
        .flat_map(u16::to_be_bytes)
        .map(|b| format!("%{b:02X}"))
        .collect();
    let (status, headers, body) = fetch(
        &format!(
            "{base}?from={}&text={text}&coding=2&charset=UTF-16BE",
            phone(44)
        ),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.contains("your number is confirmed"), "{body}");
    assert_eq!(headers["x-kannel-coding"], "0");
    // A sender that is no phone number: nothing to answer, and no error for Kannel to text.
    let (status, _, body) = fetch(&format!("{base}?from=Vodafone&text=hello"), &[]).await;
    assert_eq!((status, body.as_str()), (200, ""));
    // A get-url without the sender is the operator's mistake.
    let (status, _, body) = fetch(&format!("{base}?text=hello"), &[]).await;
    assert_eq!(status, 400);
    assert!(body.contains("missing_sender"), "{body}");

    // No help reply configured (the default): an empty 200, which omit-empty turns into nothing.
    let srv = TestServer::start().await;
    let (status, _, body) = fetch(
        &format!("{}/v1/sms/mo?from={}&text=hello", srv.url, phone(45)),
        &[],
    )
    .await;
    assert_eq!((status, body.as_str()), (200, ""));
}

#[tokio::test]
async fn delivery_reports_show_on_codes() {
    let srv = TestServer::start_with(|c| c.sms.mo_key = Some("k".into())).await;
    let c = srv.client();
    let dlr = |id: &str, kind: &str| {
        format!(
            "{}/v1/sms/dlr?id={id}&type={kind}&reply=stat:X+err:000&key=k",
            srv.url
        )
    };
    let a = phone(50);
    let id = c.request_code(&a).await.unwrap().delivery_id.unwrap();
    assert_eq!(srv.outbox().last().unwrap()["reference"], id.as_str());
    assert_eq!(
        c.code_delivery(&id).await.unwrap().state,
        DeliveryState::Sent
    );
    assert_eq!(fetch(&dlr(&id, "8"), &[]).await.0, 200);
    assert_eq!(
        c.code_delivery(&id).await.unwrap().state,
        DeliveryState::Accepted
    );
    assert_eq!(fetch(&dlr(&id, "4"), &[]).await.0, 200);
    let d = c.code_delivery(&id).await.unwrap();
    assert_eq!(d.state, DeliveryState::Buffered);
    assert!(d.message.contains("holding"), "{d:?}");
    assert_eq!(fetch(&dlr(&id, "1"), &[]).await.0, 200);
    assert_eq!(
        c.code_delivery(&id).await.unwrap().state,
        DeliveryState::Delivered
    );
    // A late "accepted" does not undo "delivered".
    assert_eq!(fetch(&dlr(&id, "8"), &[]).await.0, 200);
    assert_eq!(
        c.code_delivery(&id).await.unwrap().state,
        DeliveryState::Delivered
    );
    let code = srv.last_code(&a);
    c.login(&code_login(&a, &code)).await.unwrap();

    // Malformed reports and strangers.
    assert_eq!(fetch(&dlr(&id, "3"), &[]).await.0, 400);
    assert_eq!(fetch(&dlr("nope", "1"), &[]).await.0, 404);
    assert_eq!(
        fetch(&dlr(&id, "1").replace("key=k", "key=x"), &[]).await.0,
        401
    );
    assert_eq!(
        c.code_delivery("nope").await.unwrap_err().code(),
        Some("unknown_delivery")
    );

    // Reports racing for one SMS, half of them failures: it ends failed, and the user hears it.
    let b = phone(51);
    let id = c.request_code(&b).await.unwrap().delivery_id.unwrap();
    let code = srv.last_code(&b);
    let reports = (0..60).map(|i| {
        let url = dlr(&id, if i % 2 == 0 { "1" } else { "16" });
        async move { fetch(&url, &[]).await.0 }
    });
    let statuses = futures_util::future::join_all(reports).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let d = c.code_delivery(&id).await.unwrap();
    assert_eq!(d.state, DeliveryState::Failed);
    let e = c.login(&code_login(&b, &code)).await.unwrap_err();
    assert_eq!(e.code(), Some("code_not_delivered"));
    // The failed code is gone: a new one at once, no cool-down.
    c.request_code(&b).await.unwrap();
    let code = srv.last_code(&b);
    c.login(&code_login(&b, &code)).await.unwrap();
    let metrics = reqwest::get(format!("{}/metrics", srv.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        r#"ringbook_sms_delivery_reports_total{kind="verification_code",state="failed"} 1"#,
        r#"ringbook_sms_delivery_reports_total{kind="verification_code",state="buffered"} 1"#,
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
}

#[tokio::test]
async fn an_undelivered_confirmation_refuses_its_order() {
    let srv = TestServer::start().await;
    let (a, b) = (phone(52), phone(53));
    let (ca, _, _) = srv.login(&a).await;
    let (cb, _, _) = srv.login(&b).await;
    common::upload_book(&ca, &[b.as_str()]).await.unwrap();
    common::upload_book(&cb, &[a.as_str()]).await.unwrap();
    srv.client()
        .admin_grant_subscription(&a, "news-daily")
        .await
        .unwrap();
    ca.services_set_shared("news-daily", true).await.unwrap();
    let o = cb
        .services_order(&OrderRequest {
            friend: a.clone(),
            service_id: "news-daily".into(),
            idempotency_key: None,
        })
        .await
        .unwrap();
    assert_eq!(o.state, OrderState::AwaitingConfirmation);
    let sms = srv
        .outbox()
        .into_iter()
        .rev()
        .find(|m| m["kind"] == "service_confirmation")
        .unwrap();
    let id = sms["reference"].as_str().unwrap().to_string();
    let (status, _, _) = fetch(&format!("{}/v1/sms/dlr?id={id}&type=2", srv.url), &[]).await;
    assert_eq!(status, 200);
    let o = cb.services_order_status(o.id).await.unwrap();
    assert_eq!(o.state, OrderState::Refused);
    assert_eq!(o.reason.as_deref(), Some("sms_undelivered"));
    assert!(o.message.contains("could not be delivered"), "{o:?}");
}
