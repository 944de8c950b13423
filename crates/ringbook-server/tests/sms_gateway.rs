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
        c.sms.url = Some(format!("{url}/cgi-bin/sendsms"));
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
        c.sms.url = Some(format!("{url}/sms"));
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
